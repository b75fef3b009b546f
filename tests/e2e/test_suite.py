#!/usr/bin/env python3
"""End-to-end test of a suite: `kforge optimize DIR --strategy agent|swarm` over small CPU tasks
and a broken one, with replies scripted per task by tests/e2e/scripted_model.py (a fake model,
named as such) through the `command` provider.

usage: test_suite.py KFORGE_BIN REPO_ROOT

Checks the suite's report against the runs' stores (winners, attempts, correct within k, fast_p,
geometric means), that the broken problem is recorded and the others go on, that running the
same command again skips finished problems, a LIST file with a start program, `kforge report
SUITE_DIR` in both forms, and the dashboard's suite endpoints.
"""

import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

from fixtures import get_json, start_serve

KFORGE = ""
REPO = ""


def fenced(code, words="Here is a faster version."):
    return f"{words}\n\n```c\n{code}\n```\n"


def small_task(repo, tasks_dir, name, bench):
    task = os.path.join(tasks_dir, name)
    shutil.copytree(os.path.join(repo, "tasks", "cpu", name), task)
    path = os.path.join(task, "task.yaml")
    text = re.sub(r"bench: \{rows: \d+, cols: \d+\}", bench, open(path).read())
    open(path, "w").write(text)
    return task


class SuiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kforge_suite_e2e_")
        cls.tasks = os.path.join(cls.tmp, "tasks")
        os.makedirs(cls.tasks)
        for name in ("softmax_rows", "layer_norm"):
            small_task(REPO, cls.tasks, name, "bench: {rows: 256, cols: 1000}")
        broken = os.path.join(cls.tasks, "broken")
        os.makedirs(broken)
        open(os.path.join(broken, "task.yaml"), "w").write("name: broken\nbackend: cpu\n")
        cls.fast = {n: open(os.path.join(REPO, "tasks", "cpu", n, "examples", "fast.c")).read()
                    for n in ("softmax_rows", "layer_norm")}
        cls.env = dict(os.environ, KFORGE_CACHE=os.path.join(cls.tmp, "cache"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def replies(self, name, per_task):
        """A scripted model's replies, a subdirectory per task (named after its entry point)."""
        d = os.path.join(self.tmp, name)
        for task, replies in per_task.items():
            os.makedirs(os.path.join(d, task))
            for i, r in enumerate(replies):
                open(os.path.join(d, task, f"{i + 1:02d}.md"), "w").write(r)
        return d

    def optimize(self, *args):
        p = subprocess.run([KFORGE, "optimize", *args], capture_output=True, text=True,
                           env=self.env, cwd=self.tmp, timeout=900)
        return p

    def test_agent_suite(self):
        replies = self.replies("agent-replies", {
            # softmax: a refusal first, then the fast program (correct at attempt 2).
            "softmax_rows": ["I would rather not write this kernel.", fenced(self.fast["softmax_rows"])],
            # layer_norm: a compile error, then the fast program (correct at attempt 2)...
            "layer_norm": [fenced("void layer_norm( {"), fenced(self.fast["layer_norm"])],
        })
        suite = os.path.join(self.tmp, "agent-suite")
        args = [self.tasks, "--strategy", "agent", "--attempts", "3", "--budget-evals", "4",
                "--llm", f"command:python3 {REPO}/tests/e2e/scripted_model.py {replies}",
                "--out", suite, "--timing-seconds", "0.3", "--jobs", "2"]
        p = self.optimize(*args)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertIn("broken: failed", p.stderr)
        report = json.load(open(os.path.join(suite, "report.json")))
        rows = {r["name"]: r for r in report["problems"]}
        self.assertEqual(set(rows), {"softmax_rows", "layer_norm", "broken"})
        self.assertEqual(rows["broken"]["state"], "failed")
        self.assertIn("entry", rows["broken"]["message"])
        for name in ("softmax_rows", "layer_norm"):
            r = rows[name]
            self.assertEqual(r["state"], "finished", r)
            self.assertEqual(r["verdict"], "faster", r)
            self.assertEqual(r["first_correct"], 2, r)
            # The winner and its speedup are the run's own, as its store and report.json say.
            run = json.load(open(os.path.join(suite, name, "report.json")))
            self.assertEqual(r["winner"]["id"], run["best"]["id"])
            db = sqlite3.connect(os.path.join(suite, name, "run.sqlite"))
            (verdict, time_ms), = db.execute(
                "SELECT verdict, time_ms FROM candidates WHERE id = ?", (run["best"]["id"],))
            self.assertEqual(verdict, "ok")
            # Its time is the report's: from the final comparison, side by side with the baselines.
            self.assertAlmostEqual(r["winner"]["time_ms"], run["best"]["time_ms"], places=6)
            self.assertGreater(time_ms, 0)
            self.assertEqual(r["baselines"][0]["name"], "initial program")
            self.assertGreater(r["baselines"][0]["speedup"], 1.5)
        self.assertEqual(report["baselines"], ["initial program"])
        fast = report["fast_p"]["initial program"]
        self.assertAlmostEqual(fast["0"], 2 / 3)
        self.assertAlmostEqual(fast["1"], 2 / 3)
        speedups = [rows[n]["baselines"][0]["speedup"] for n in ("softmax_rows", "layer_norm")]
        geo = report["geomean"]["initial program"]
        self.assertAlmostEqual(geo["failures_as_1x"], math.exp(sum(map(math.log, speedups)) / 3),
                               places=6)
        (model,) = report["models"]
        self.assertEqual(model["problems"], 2)
        self.assertEqual(model["correct_within"], [0.0, 1.0, 1.0])
        self.assertEqual(model["fastest"], 2)
        self.assertGreaterEqual(model["calls"], 4)
        md = open(os.path.join(suite, "report.md")).read()
        self.assertIn("| softmax\\_rows | faster | ", md)
        self.assertIn("broken failed", md)

        # The same command again: finished problems are skipped, the broken one is tried again.
        calls = {n: open(os.path.join(replies, n, "calls")).read() for n in ("softmax_rows", "layer_norm")}
        p = self.optimize(*args)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertNotIn("softmax_rows: started", p.stderr)
        self.assertIn("broken: started", p.stderr)
        for n in calls:
            self.assertEqual(open(os.path.join(replies, n, "calls")).read(), calls[n])
        # Other flags into the same suite directory are refused, naming the recorded ones.
        p = self.optimize(*args[:-2], "--jobs", "1", "--budget-evals", "9")
        self.assertEqual(p.returncode, 2)
        self.assertIn("other flags", p.stderr)

        # kforge report SUITE_DIR: HTML with each run's own report linked, and markdown.
        p = subprocess.run([KFORGE, "report", suite], capture_output=True, text=True, env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        html = open(os.path.join(suite, "report.html")).read()
        self.assertIn('href="softmax_rows/report.html"', html)
        self.assertIn("Content-Security-Policy", html)
        self.assertNotIn("<script", html)
        self.assertTrue(os.path.exists(os.path.join(suite, "layer_norm", "report.html")))
        p = subprocess.run([KFORGE, "report", suite, "--md"], capture_output=True, text=True,
                           env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("fast_p", open(os.path.join(suite, "report", "report.md")).read())

        # The dashboard lists the suite and serves its summary.
        server, url = start_serve(KFORGE, [self.tmp])
        try:
            status, body = get_json(url + "api/suites")
            self.assertEqual(status, 200, body)
            ids = [s["id"] for s in body["suites"]]
            self.assertIn("agent-suite", ids)
            status, body = get_json(url + "api/suites/agent-suite")
            self.assertEqual(status, 200, body)
            self.assertEqual(len(body["problems"]), 3)
            status, body = get_json(url + "api/suites/nope")
            self.assertEqual(status, 404)
        finally:
            server.terminate()
            server.wait(timeout=10)

    def test_swarm_suite_from_a_list_with_a_start(self):
        replies = self.replies("swarm-replies", {
            "softmax_rows": [fenced(self.fast["softmax_rows"])],
            "layer_norm": [fenced(self.fast["layer_norm"])],
        })
        # A LIST: one problem a line, relative to the list, and one with its own start program.
        start = os.path.join(self.tmp, "ln_start.c")
        shutil.copy(os.path.join(REPO, "tasks", "cpu", "layer_norm", "initial.c"), start)
        listing = os.path.join(self.tmp, "problems.txt")
        open(listing, "w").write("# two problems\ntasks/softmax_rows\ntasks/layer_norm ln_start.c\n")
        suite = os.path.join(self.tmp, "swarm-suite")
        p = self.optimize(listing, "--strategy", "swarm", "--samples", "2", "--budget-evals", "3",
                          "--llm", f"command:python3 {REPO}/tests/e2e/scripted_model.py {replies}",
                          "--out", suite, "--timing-seconds", "0.3")
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        report = json.load(open(os.path.join(suite, "report.json")))
        self.assertEqual([r["name"] for r in report["problems"]], ["softmax_rows", "layer_norm"])
        for r in report["problems"]:
            self.assertEqual(r["verdict"], "faster", r)
            self.assertEqual(r["first_correct"], 1, r)
        recorded = json.load(open(os.path.join(suite, "suite.json")))
        self.assertEqual(recorded["problems"][1]["start"], start)
        self.assertEqual(report["models"][0]["correct_within"][0], 1.0)


if __name__ == "__main__":
    KFORGE, REPO = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    unittest.main(argv=[sys.argv[0]], verbosity=2)
