# expect: timeout
# args: --run-timeout 3
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: never returns from forward.
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        while True:
            pass
