import torch
import torch.nn as nn


class Model(nn.Module):
    """Sum reduction over dimension 1 of a 3-D tensor, keeping the dimension."""

    def __init__(self, reduce_dim):
        super().__init__()
        self.reduce_dim = reduce_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sum(x, dim=self.reduce_dim, keepdim=True)


batch_size = 64
dim1 = 256
dim2 = 64
reduce_dim = 1


def get_inputs():
    x = torch.randn(batch_size, dim1, dim2)
    return [x]


def get_init_inputs():
    return [reduce_dim]
