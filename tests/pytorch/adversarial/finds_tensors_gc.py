# expect: static_violation
# rule: escape
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: walks the garbage collector's objects for a tensor shaped like the answer (the
# reference's output or memory) instead of computing it.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        for o in gc.get_objects():
            if isinstance(o, torch.Tensor) and o.shape == x.shape and o is not x:
                return o
        return x.relu()
