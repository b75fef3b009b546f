# expect: static_violation
# rule: import
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: replaces the clock the harness reads so that every call seems to take no time.
import time
import torch.nn as nn

time.perf_counter_ns = lambda: 0


class ModelNew(nn.Module):
    def forward(self, x):
        return x.relu()
