import torch
import torch.nn as nn


class Model(nn.Module):
    """Layer normalization over the last dimension."""

    def __init__(self, dim):
        super().__init__()
        self.ln = nn.LayerNorm(normalized_shape=(dim,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(x)


batch_size = 256
dim = 1024


def get_inputs():
    x = torch.randn(batch_size, dim)
    return [x]


def get_init_inputs():
    return [dim]
