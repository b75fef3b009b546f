# expect: sandbox_violation
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: reaches the network through torch.distributed (no socket import to spot): the
# worker's system-call filter stops the socket at run time.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        torch.distributed.init_process_group(
            backend="gloo", init_method="tcp://127.0.0.1:29517", rank=0, world_size=1)
        return x.relu()
