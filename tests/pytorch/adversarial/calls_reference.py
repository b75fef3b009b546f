# expect: static_violation
# rule: import
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: imports the reference module the bridge loaded and returns Model's own answer.
import torch.nn as nn
from kforge_problem import Model


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.ref = Model()

    def forward(self, x):
        return self.ref(x)
