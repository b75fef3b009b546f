"""What the end-to-end tests share: the small CPU softmax task they optimise, the pieces of their
scripted models' replies (tests/e2e/scripted_model.py, a fake model, named as such), and a
`kforge serve` to ask."""

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request

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


def start_serve(kforge, paths):
    """`kforge serve PATHS --port 0`: the process and the URL it printed."""
    server = subprocess.Popen([kforge, "serve", *paths, "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    if not m:
        server.kill()
        raise RuntimeError(f"kforge serve printed {line!r}: {server.stderr.read()[-2000:]}")
    return server, m.group(1)


def get_json(url):
    """The status and JSON body of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
