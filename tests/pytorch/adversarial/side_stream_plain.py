# expect: static_violation
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# rule: streams
# trick: runs the ReLU on a CUDA stream of its own and returns without waiting for it, so that
# events on the harness's stream bracket nothing. Rule 18 refuses creating streams
# (`streams`); the GPU case adversarial_gpu/side_stream_evasion.py shows the runtime defence.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.side = torch.cuda.Stream() if torch.cuda.is_available() else None

    def forward(self, x):
        if self.side is None:
            return x.relu()
        with torch.cuda.stream(self.side):
            return x.relu()
