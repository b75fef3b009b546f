#!/usr/bin/env python3
"""End-to-end test of `kforge report`: a small real evolve run on the CPU backend, then its
report as HTML and as markdown with SVG charts, and the bad inputs the command must refuse.

usage: test_report.py KFORGE_BIN REPO_ROOT

Prints a PASS or FAIL line per check; exits 0 when all pass, 1 otherwise.

Replies come from tests/e2e/scripted_model.py (a fake model, named as such) through the
`command` provider. One of them puts `<script>alert(1)</script>` in a code comment of the
program that wins, so the report shows that code and must escape it. The task is the built-in
softmax_rows with a smaller bench size, judged with short timing: nothing here asserts on speed.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

from fixtures import fenced_edit, small_softmax_task

KFORGE = ""
REPO = ""
FAILURES = []


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + detail))
    if not ok:
        FAILURES.append(name)
    return ok


def make_run(tmp):
    task = small_softmax_task(REPO, tmp)

    initial = open(os.path.join(REPO, "tasks", "cpu", "softmax_rows", "initial.c")).read()
    function = initial[initial.index("void softmax_rows("):]
    block = "// EVOLVE-BLOCK-START\n" + function + "// EVOLVE-BLOCK-END\n"
    start = initial.replace(function, block)
    start_file = os.path.join(tmp, "evolvable.c")
    open(start_file, "w").write(start)
    fast = open(os.path.join(REPO, "tasks", "cpu", "softmax_rows", "examples", "fast.c")).read()
    fast = fast[fast.index("#include"):]
    slow = ("    for (int64_t c = 0; c < cols; c++) "
            "y[r * cols + c] = expf(x[r * cols + c] - m) / sum;\n")
    assert slow in start

    replies = [
        fenced_edit(function, "/* <script>alert(1)</script> */\n" + fast, "A vectorised rewrite."),
        fenced_edit(slow, slow.replace("/ sum", "* sum"),
                    "Multiply by the sum (wrong on purpose)."),
        fenced_edit("    float sum = 0.0f;\n", "    float sum = 0.0f\n", "Drop a semicolon."),
        fenced_edit(slow, slow.replace("/ sum", "* (1.0f / sum)"), "Divide once per row."),
        "I suggest vectorising, no edits.",
    ]
    script = os.path.join(tmp, "script")
    os.makedirs(script)
    for i, r in enumerate(replies):
        open(os.path.join(script, f"{i + 1:02d}.md"), "w").write(r)
    config = os.path.join(tmp, "evolve.yaml")
    open(config, "w").write("optimize:\n  evolve: {islands: 2, migration_interval: 2}\n")
    run = os.path.join(tmp, "run")
    env = dict(os.environ, KFORGE_CACHE=os.path.join(tmp, "cache"))
    r = subprocess.run([KFORGE, "optimize", task, "--strategy", "evolve", "--llm",
                        f"command:python3 {REPO}/tests/e2e/scripted_model.py {script}",
                        "--start", start_file, "--config", config, "--budget-evals", "6",
                        "--timing-seconds", "0.2", "--out", run],
                       capture_output=True, text=True, env=env, timeout=300)
    if not check("optimize run for the report", r.returncode == 0, r.stdout + r.stderr):
        sys.exit(1)
    return run


def report(*args):
    return subprocess.run([KFORGE, "report", *args], capture_output=True, text=True, timeout=120)


def check_html(run, best):
    r = report(run)
    path = os.path.join(run, "report.html")
    if not check("html: exit 0, prints the path", r.returncode == 0 and r.stdout.strip() == path,
                 r.stdout + r.stderr):
        return
    html = open(path, encoding="utf-8").read()
    check("html: five SVG charts (progress twice, roofline, lineage, grid)",
          html.count("<svg") == 5,
          str(html.count("<svg")))
    speedup = f"{best['speedup']:.2f}x"
    check("html: the best speedup of report.json", f'id="best-speedup">{speedup}<' in html,
          speedup)
    check("html: the winner is the best of report.json",
          f"The winner: candidate #{best['id']}" in html)
    check("html: no unescaped script from the run", "<script" not in html.lower())
    check("html: the code comment, escaped", "&lt;script&gt;alert(1)&lt;/script&gt;" in html)
    check("html: nothing loaded from outside",
          not re.search(r"(src|href)\s*=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)", html))
    ids = [i for (i,) in sqlite3.connect(os.path.join(run, "run.sqlite")).execute(
        "SELECT id FROM candidates")]
    lineage = html[html.index('id="lineage"'):html.index('id="winner"')]
    dots = lineage.count('class="dot"')
    check("html: a lineage dot per candidate", dots == len(ids),
          f"{dots} dots, {len(ids)} candidates")
    check("html: the state", "finished" in html)
    for name in ["Status", "Best speedup over evaluations", "Lineage", "MAP-Elites grid",
                 "fastest correct candidates", "95% CI", "Verdict detail"]:
        check(f"html: has '{name}'", name in html)

    out = os.path.join(os.path.dirname(run), "elsewhere", "r.html")
    r = report(run, "--html", "--out", out)
    check("html: --out writes there", r.returncode == 0 and os.path.isfile(out), r.stderr)


def check_markdown(run, best):
    r = report(run, "--md")
    path = os.path.join(run, "report", "report.md")
    if not check("md: exit 0, prints the path", r.returncode == 0 and r.stdout.strip() == path,
                 r.stdout + r.stderr):
        return
    md = open(path, encoding="utf-8").read()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    check("md: links five SVG charts", sorted(images) ==
          ["grid.svg", "lineage.svg", "progress.svg", "progress_time.svg", "roofline.svg"],
          str(images))
    for image in images:
        file = os.path.join(run, "report", image)
        ok = os.path.isfile(file) and open(file).read().lstrip().startswith("<svg")
        check(f"md: {image} exists beside it and is an SVG", ok)
    check("md: the best speedup of report.json", f"{best['speedup']:.2f}x" in md)
    check("md: no unescaped script outside code", "<script" not in strip_fences(md))
    check("md: the winner's code in a fence", "<script>alert(1)</script>" in md and
          re.search(r"^```+c$", md, re.M) is not None)
    out = os.path.join(os.path.dirname(run), "mdout", "x.md")
    r = report(run, "--md", "--out", out)
    check("md: --out puts the SVGs beside it", r.returncode == 0 and
          os.path.isfile(os.path.join(os.path.dirname(out), "lineage.svg")), r.stderr)


def strip_fences(md):
    out, fence = [], None
    for line in md.split("\n"):
        m = re.match(r"^(`{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            out.append(line)
    return "\n".join(out)


def check_snapshot(tmp, run):
    # A run still being written has no report.json: the report says so.
    copy = os.path.join(tmp, "unfinished")
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("report*"))
    db = sqlite3.connect(os.path.join(copy, "run.sqlite"))
    db.execute("UPDATE candidates SET at = strftime('%s', 'now')")
    db.commit()
    db.close()
    r = report(copy)
    html = open(os.path.join(copy, "report.html")).read() if r.returncode == 0 else ""
    check("snapshot: a run without report.json is reported as running",
          r.returncode == 0 and "running: the run has not written its final report.json" in html,
          r.stderr)


def check_bad_inputs(tmp, run):
    def refused(name, args, needle):
        r = report(*args)
        check(f"bad input: {name}: exit 2 naming the cause",
              r.returncode == 2 and needle in r.stderr, f"rc {r.returncode}: {r.stderr.strip()}")

    a_file = os.path.join(tmp, "file.txt")
    open(a_file, "w").write("x")
    refused("not a directory", [a_file], "is not a directory")
    refused("missing directory", [os.path.join(tmp, "nope")], "is not a directory")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    refused("no run.sqlite", [empty], "no run.sqlite")
    other = os.path.join(tmp, "other_version")
    os.makedirs(other)
    shutil.copy(os.path.join(run, "run.sqlite"), other)
    db = sqlite3.connect(os.path.join(other, "run.sqlite"))
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    refused("another schema version", [other], "schema version 99")
    refused("unknown option", [run, "--pdf"], "unknown option '--pdf'")
    refused("no RUN_DIR", [], "no RUN_DIR")
    refused("both formats", [run, "--html", "--md"], "one of --html and --md")
    refused("an output path that cannot be written", [run, "--out",
                                                      os.path.join(a_file, "r.html")],
            "cannot write")


def main():
    global KFORGE, REPO
    KFORGE, REPO = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="kforge_report_e2e_")
    try:
        run = make_run(tmp)
        best = json.load(open(os.path.join(run, "report.json")))["best"]
        check_html(run, best)
        check_markdown(run, best)
        check_snapshot(tmp, run)
        check_bad_inputs(tmp, run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'FAIL' if FAILURES else 'PASS'}: {len(FAILURES)} failed check(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
