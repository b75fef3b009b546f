# expect: ok
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# timing_note: wall clock
# trick: reaches torch.cuda's stream class through getattr with a name built at run time (the
# static check's `streams` rule cannot see it), runs the real ReLU on that stream and returns
# without waiting. The bridge's events on the harness's stream then bracket almost nothing.
# What stops it (rule 13): the bridge synchronises the whole device before its end mark and
# kforge cross-checks the events against the host clock around that synchronisation: the wall
# clock wins, with a timing note. GPU only (tests/pytorch/adversarial_gpu, ctest label gpu).
import torch
import torch.nn as nn

KIND = "Str" + "eam"
SWITCH = "str" + "eam"


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.side = getattr(torch.cuda, KIND)()
        self.enter = getattr(torch.cuda, SWITCH)

    def forward(self, x):
        # Enough work on the side stream that the host clock must notice it.
        with self.enter(self.side):
            y = x.relu()
            for _ in range(20):
                y = (y * 1.0).relu()
        return y
