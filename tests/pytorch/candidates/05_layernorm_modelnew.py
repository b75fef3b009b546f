import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.ln = nn.LayerNorm(normalized_shape=(dim,))

    def forward(self, x):
        var, mean = torch.var_mean(x, dim=-1, unbiased=False, keepdim=True)
        xn = (x - mean) * torch.rsqrt(var + self.ln.eps)
        return torch.addcmul(self.ln.bias, xn, self.ln.weight)
