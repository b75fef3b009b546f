# expect: compile_error
# detail: ModelNew
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: defines the wrong class name.
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return x.relu()
