# expect: wrong_answer
# task: tests/pytorch/adversarial/task
# good: tests/pytorch/candidates/01_relu_modelnew.py
# trick: computes once, then replays the first answer for every later call of the same shape.
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.answer = None

    def forward(self, x):
        if self.answer is None or self.answer.shape != x.shape:
            self.answer = x.relu().clone()
        return self.answer
