"""The small CPU softmax task the end-to-end tests optimise, and the pieces of their scripted
models' replies (tests/e2e/scripted_model.py, a fake model, named as such)."""

import os
import re
import shutil

SUM_LINE = "    float sum = 0.0f;\n"
# The naive program's two passes over exp(x - m) ...
TWO_EXPS = ("    for (int64_t c = 0; c < cols; c++) sum += expf(x[r * cols + c] - m);\n"
            "    for (int64_t c = 0; c < cols; c++) y[r * cols + c] = expf(x[r * cols + c] - m)"
            " / sum;\n")
# ... become one: about twice as fast.
ONE_EXP = ("    for (int64_t c = 0; c < cols; c++) {\n"
           "      y[r * cols + c] = expf(x[r * cols + c] - m);\n"
           "      sum += y[r * cols + c];\n"
           "    }\n"
           "    const float inv = 1.0f / sum;\n"
           "    for (int64_t c = 0; c < cols; c++) y[r * cols + c] *= inv;\n")


def small_softmax_task(repo, tmp):
    """tasks/cpu/softmax_rows copied under tmp with a bench size that times quickly."""
    task = os.path.join(tmp, "softmax_small")
    shutil.copytree(os.path.join(repo, "tasks", "cpu", "softmax_rows"), task)
    yaml_path = os.path.join(task, "task.yaml")
    text = open(yaml_path).read()
    text = re.sub(r"bench: \{rows: \d+, cols: \d+\}", "bench: {rows: 256, cols: 1000}", text)
    open(yaml_path, "w").write(text)
    return task


def evolvable_start(repo, path):
    """The naive program with its function in an EVOLVE-BLOCK, written to path."""
    initial = open(os.path.join(repo, "tasks", "cpu", "softmax_rows", "initial.c")).read()
    start = initial.replace("void softmax_rows(", "// EVOLVE-BLOCK-START\nvoid softmax_rows(", 1)
    open(path, "w").write(start + "// EVOLVE-BLOCK-END\n")
    return path


def fenced_edit(search, replace, words=""):
    """A reply with one SEARCH/REPLACE edit, after the model's words."""
    words = words + "\n" if words else ""
    return f"{words}<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def write_replies(directory, replies):
    """The scripted model's replies, in order: directory/01.md, 02.md, ..."""
    os.makedirs(directory, exist_ok=True)
    for i, r in enumerate(replies):
        open(os.path.join(directory, f"{i + 1:02d}.md"), "w").write(r)
    return directory
