# expect: static_violation
# rule: escape
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: writes the input to a file outside the sandbox.
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        with open("/tmp/kforge_pwned", "w") as f:
            f.write("pwned")
        return x.relu()
