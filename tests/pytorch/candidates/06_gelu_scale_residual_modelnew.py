import math

import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, dim, scaling_factor):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.scaling_factor = scaling_factor

    def forward(self, x):
        h = torch.addmm(self.linear.bias, x, self.linear.weight.t())
        g = 0.5 * h * (1.0 + torch.erf(h * (1.0 / math.sqrt(2.0))))
        return g * self.scaling_factor + x
