#!/usr/bin/env python3
"""The dashboard's API while a real `kforge optimize` writes the run (docs/dashboard.md).

usage: test_serve_live.py KFORGE_BIN REPO_ROOT

`kforge serve` starts on an empty runs directory; an evolve run on the CPU backend (its model is
tests/e2e/scripted_model.py, a fake, named as such, slowed so the run lasts a while) is then
started into it. While the run writes, every query the page makes is asked again and again.
Checks: the run appears without a restart; every answer is a 200 with JSON; the counts never go
back; the run is seen `running` part-way; the last answers match the finished store (state
`finished`, the candidate count, one lineage node per candidate, the best); the server is still up.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from fixtures import (ONE_EXP, SUM_LINE, TWO_EXPS, evolvable_start, fenced_edit, get_json,
                       small_softmax_task, start_serve, write_replies)

PAGE_QUERIES = ["summary", "progress", "lineage", "grid", "roofline",
                "candidates?sort=speedup&limit=50"]


def prepare(repo, tmp):
    """A small softmax task, a start program with an EVOLVE-BLOCK and a scripted model."""
    task = small_softmax_task(repo, tmp)
    start_file = evolvable_start(repo, os.path.join(tmp, "start.c"))
    model = write_replies(os.path.join(tmp, "model"), [
        fenced_edit(TWO_EXPS, ONE_EXP, "Compute each exp once."),
        fenced_edit(SUM_LINE, "    float sum = 1.0f;\n", "Start the sum at one."),
        fenced_edit(SUM_LINE, "    float sum = 0.0f\n", "Tidy the declaration."),
        fenced_edit("    this line is not in the program\n", "\n", "Remove dead code."),
    ])
    config = os.path.join(tmp, "evolve.yaml")
    open(config, "w").write("optimize:\n  evolve: {islands: 2, migration_interval: 2}\n")
    return task, start_file, model, config


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    kforge, repo = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    tmp = tempfile.mkdtemp(prefix="kforge-serve-live-")
    task, start, model, config = prepare(repo, tmp)
    runs = os.path.join(tmp, "runs")
    os.makedirs(runs)
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    server, url = start_serve(kforge, [runs])
    api = url + "api/"
    run_proc = None
    try:
        status, body = get_json(api + "runs")
        check(status == 200 and all("error" in r for r in body["runs"]),
              "before the run, the runs directory is listed with no run")

        env = dict(os.environ, KFORGE_CACHE=os.path.join(tmp, "cache"),
                   SCRIPTED_MODEL_DELAY="0.4")
        run_dir = os.path.join(runs, "live")
        run_proc = subprocess.Popen(
            [kforge, "optimize", task, "--strategy", "evolve", "--start", start, "--config",
             config, "--llm", f"command:python3 {repo}/tests/e2e/scripted_model.py {model}",
             "--budget-evals", "10", "--timing-seconds", "0.2", "--out", run_dir],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

        bad, seen_counts, running_midway, rounds = [], [], False, 0
        deadline = time.time() + 600
        while time.time() < deadline:
            finished = run_proc.poll() is not None
            status, body = get_json(api + "runs")
            listed = [r for r in body.get("runs", []) if r.get("id") == "live"]
            if status != 200:
                bad.append(f"runs: {status} {body}")
            if listed and "error" not in listed[0]:
                rounds += 1
                answers = {q: get_json(api + "runs/live/" + q) for q in PAGE_QUERIES}
                for q, (st, b) in answers.items():
                    if st != 200:
                        bad.append(f"{q}: {st} {b.get('error')}")
                summary = answers["summary"][1]
                if answers["summary"][0] == 200:
                    seen_counts.append(summary["candidates"])
                    if summary["state"] == "running" and summary["candidates"] > 0:
                        running_midway = True
                    newest = summary["candidates"]
                    if newest:
                        st, b = get_json(api + f"runs/live/candidates/{newest}")
                        if st != 200:
                            bad.append(f"candidates/{newest}: {st} {b.get('error')}")
            if finished:
                break
            time.sleep(0.1)
        rc = run_proc.wait(timeout=60)
        err = run_proc.stderr.read()
        check(rc == 0, f"kforge optimize finished ({err.strip()[-500:]})")
        check(rounds >= 5, f"the page's queries were asked while the run wrote ({rounds} rounds)")
        check(not bad, f"every answer during the run was a 200 ({bad[:5]})")
        check(seen_counts == sorted(seen_counts), f"the candidate count never went back "
              f"({seen_counts})")
        check(running_midway, "the run was seen running with candidates part-way")

        db = sqlite3.connect(os.path.join(run_dir, "run.sqlite"))
        total = db.execute("SELECT count(*) FROM candidates").fetchone()[0]
        db.close()
        report = json.load(open(os.path.join(run_dir, "report.json")))
        status, summary = get_json(api + "runs/live/summary")
        check(status == 200 and summary["state"] == "finished",
              f"the finished run reads as finished ({summary.get('state')})")
        check(summary.get("candidates") == total, f"the summary counts the store's {total} "
              f"candidates ({summary.get('candidates')})")
        check(summary.get("best", {}).get("id") == report["best"]["id"],
              f"the best is the report's #{report['best']['id']}")
        status, lineage = get_json(api + "runs/live/lineage")
        check(status == 200 and len(lineage["nodes"]) == total,
              f"the lineage has one node per candidate ({len(lineage.get('nodes', []))})")
        check(server.poll() is None, "the server is still up")
    finally:
        if run_proc and run_proc.poll() is None:
            run_proc.kill()
        server.terminate()
        server.wait(timeout=10)
    print("PASS" if not failures else f"{len(failures)} failures")
    if not failures:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
