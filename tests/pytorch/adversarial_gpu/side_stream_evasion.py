# expect: ok
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# max_speedup: 1.5
# trick: reaches torch.cuda's stream class through getattr with a name built at run time (the
# static check's `streams` rule cannot see it) and computes the ReLU on that stream, through a
# matmul with the identity (exact in fp32 with TF32 off, and heavy: ~9 GFLOP), returning without
# waiting. Python enqueues it in microseconds; events on the harness's stream bracket only that.
# What stops it (rules 13, 19): kforge times a batch of calls by its own clock around a request
# that ends with a device-wide synchronisation, so the side stream's work is counted.
# GPU only (tests/pytorch/adversarial_gpu, ctest label gpu).
import torch
import torch.nn as nn

KIND = "Str" + "eam"
SWITCH = "str" + "eam"


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.side = getattr(torch.cuda, KIND)()
        self.enter = getattr(torch.cuda, SWITCH)
        self.eye = None

    def forward(self, x):
        if self.eye is None or self.eye.shape[0] != x.shape[-1]:
            self.eye = torch.eye(x.shape[-1], device=x.device, dtype=x.dtype)
        self.side.wait_stream(torch.cuda.current_stream())  # x is ready before it is read
        with self.enter(self.side):
            return (x @ self.eye).relu()
