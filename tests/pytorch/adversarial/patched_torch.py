# expect: static_violation
# rule: patch
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: makes the device synchronisation the harness relies on a no-op.
import torch
import torch.nn as nn

torch.cuda.synchronize = lambda *a, **k: None


class ModelNew(nn.Module):
    def forward(self, x):
        return x.relu()
