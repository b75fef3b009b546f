import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        m = torch.amax(x, dim=-1, keepdim=True)
        e = torch.exp(x - m)
        return e / torch.sum(e, dim=-1, keepdim=True)
