# expect: wrong_answer
# detail: modified its input
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: computes in place on its input (saves an allocation; corrupts the caller's tensor).
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return x.relu_()
