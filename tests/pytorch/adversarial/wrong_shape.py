# expect: runtime_error
# detail: shape
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: returns only the first half of the rows.
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return x[: x.shape[0] // 2].relu()
