#!/usr/bin/env python3
"""End-to-end tests of `kforge optimize` on the CPU backend: each strategy, bad replies fed
back, budgets, a resume after SIGKILL, and a real local model driving the agent loop.

usage: test_optimize.py KFORGE_BIN REPO_ROOT

Exact replies come from tests/e2e/scripted_model.py (a fake model, named as such) through the
`command` provider. The task is the built-in softmax_rows with a smaller bench size.
"""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from fixtures import small_softmax_task

KFORGE = ""
REPO = ""

TUNABLE = """// kforge-tune: UNROLL = 1, 2, 4
// kforge-tune: FAST_EXP = 0, 1
#include <math.h>
#include <stdint.h>
#ifndef UNROLL
#define UNROLL 1
#endif
#ifndef FAST_EXP
#define FAST_EXP 0
#endif
#if FAST_EXP
#define EXP(v) __builtin_expf(v)
#else
#define EXP(v) expf(v)
#endif

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t c = 1; c < cols; c++) m = xr[c] > m ? xr[c] : m;
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; c++) {
      yr[c] = EXP(xr[c] - m);
      sum += yr[c];
    }
    const float inv = 1.0f / sum;
    int64_t c = 0;
    for (; c + UNROLL <= cols; c += UNROLL)
      for (int u = 0; u < UNROLL; u++) yr[c + u] *= inv;
    for (; c < cols; c++) yr[c] *= inv;
  }
}
"""


def fenced(lang, code, words="Here is a faster version."):
    return f"{words}\n\n```{lang}\n{code}\n```\n"


class OptimizeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kforge_optimize_e2e_")
        cls.task = small_softmax_task(REPO, cls.tmp)
        cls.fast = open(os.path.join(REPO, "tasks", "cpu", "softmax_rows", "examples", "fast.c")).read()
        cls.env = dict(os.environ, KFORGE_CACHE=os.path.join(cls.tmp, "cache"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def script(self, name, replies):
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        for i, r in enumerate(replies):
            with open(os.path.join(d, f"{i + 1:02d}.md"), "w") as f:
                f.write(r)
        return d, f"command:python3 {REPO}/tests/e2e/scripted_model.py {d}"

    def optimize(self, *args, timeout=600, check=True):
        r = subprocess.run([KFORGE, "optimize", *args, "--timing-seconds", "0.2"],
                           capture_output=True, text=True, env=self.env, timeout=timeout)
        if check:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def rows(self, run, sql):
        db = sqlite3.connect(os.path.join(run, "run.sqlite"))
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def test_agent_feeds_every_bad_reply_back_and_keeps_the_fastest(self):
        d, spec = self.script("agent_script", [
            "I would vectorise the loops, but I will not write code today.",
            fenced("python", "def softmax_rows(x):\n    return x"),
            fenced("c", "void softmax_rows(const float* x, float* y, long r, long c) { y[0] = }"),
            fenced("c", "#include <stdint.h>\nvoid softmax_rows(const float* x, float* y, int64_t r, int64_t c) {\n"
                        "  for (int64_t i = 0; i < r * c; i++) y[i] = 1.0f / c;\n}"),
            fenced("c", self.fast),
            "```c\nvoid softmax_rows(const float* x, float* y, long r, long c) {\n  for (",
        ])
        run = os.path.join(self.tmp, "agent_run")
        r = self.optimize(self.task, "--llm", spec, "--budget-evals", "7", "--attempts", "6",
                          "--out", run)
        verdicts = [v for (v,) in self.rows(run, "SELECT verdict FROM candidates ORDER BY id")]
        self.assertEqual(verdicts, ["ok", "no_code", "wrong_language", "compile_error",
                                    "wrong_answer", "ok", "no_code"])
        report = json.load(open(os.path.join(run, "report.json")))
        self.assertGreater(report["best"]["speedup"], 1.5)
        self.assertEqual(report["best"]["id"], 6)
        # Each attempt revises the conversation's last program: #4 revises #1, #5
        # revises #4 (replies without a program leave the parent as it was), #6 revises #5.
        self.assertEqual([l["id"] for l in report["lineage"]], [1, 4, 5, 6])
        self.assertEqual(open(os.path.join(run, "best.c")).read(), self.fast)
        self.assertIn("Best: candidate #6", open(os.path.join(run, "report.md")).read())
        self.assertIn("best      #6", r.stdout)
        # Every failure went back to the model: the prompts name each verdict in turn.
        prompts = open(os.path.join(d, "prompts.log")).read()
        for needle in ["no code block", "tagged ```python", "compile_error", "expected expression",
                       "wrong_answer",
                       "exceed the tolerance", "It is the fastest so far"]:
            self.assertTrue(needle in prompts, needle)
        last = self.rows(run, "SELECT feedback FROM candidates WHERE id = 7")[0][0]
        self.assertIn("never closes", last)
        # The first prompt carries the task, the interface, the reference and the machine.
        first = prompts.split("=== call 2")[0]
        for needle in ["## Task: softmax_rows", "void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols)",
                       "## Reference", "Measured limits", "candidate #1"]:
            self.assertTrue(needle in first, needle)

    def test_evolve_applies_edits_inside_evolve_blocks_and_migrates(self):
        initial = open(os.path.join(REPO, "tasks", "cpu", "softmax_rows", "initial.c")).read()
        start = initial.replace("void softmax_rows(", "// EVOLVE-BLOCK-START\nvoid softmax_rows(", 1) + \
            "// EVOLVE-BLOCK-END\n"
        start_file = os.path.join(self.tmp, "evolvable.c")
        with open(start_file, "w") as f:
            f.write(start)
        slow = "    for (int64_t c = 0; c < cols; c++) y[r * cols + c] = expf(x[r * cols + c] - m) / sum;\n"
        fast = ("    const float inv = 1.0f / sum;\n"
                "    for (int64_t c = 0; c < cols; c++) y[r * cols + c] = expf(x[r * cols + c] - m) * inv;\n")
        self.assertIn(slow, start)
        edit = "<<<<<<< SEARCH\n{}=======\n{}>>>>>>> REPLACE\n"
        _, spec = self.script("evolve_script", [
            "Divide once per row.\n" + edit.format(slow.replace("/ sum", "/  sum"), fast),
            "Drop math.h.\n" + edit.format("#include <math.h>\n", ""),
            "I suggest vectorising, no edits.",
            "Divide once per row.\n" + edit.format(slow, fast),
        ])
        config = os.path.join(self.tmp, "evolve.yaml")
        with open(config, "w") as f:
            f.write("optimize:\n  evolve: {islands: 2, migration_interval: 2}\n")
        run = os.path.join(self.tmp, "evolve_run")
        self.optimize(self.task, "--strategy", "evolve", "--llm", spec, "--start", start_file,
                      "--config", config, "--budget-evals", "5", "--out", run)
        # The islands' requests of one generation go out together, so the scripted replies (served
        # in the order the requests reach the fake) may land on either island.
        rows = self.rows(run, "SELECT verdict, island, parent_id FROM candidates ORDER BY id")
        self.assertEqual(sorted(r[0] for r in rows), ["bad_edit", "bad_edit",
                                                      "edit_outside_evolve_block", "ok", "ok"])
        self.assertEqual(sorted(r[1] for r in rows[1:]), [0, 0, 1, 1])
        code = self.rows(run, "SELECT code FROM candidates WHERE verdict = 'ok' AND id > 1")[0][0]
        self.assertIn("* inv;", code)
        self.assertIn("// EVOLVE-BLOCK-END", code)
        self.assertGreater(len(self.rows(run, "SELECT * FROM migrations")), 0)
        feedback = " ".join(f for (f,) in self.rows(run, "SELECT feedback FROM candidates"))
        self.assertIn("does not appear in the program exactly", feedback)
        self.assertIn("outside the EVOLVE-BLOCK regions", feedback)

    def test_tune_searches_declared_parameters_without_a_model(self):
        start = os.path.join(self.tmp, "tunable.c")
        open(start, "w").write(TUNABLE)
        run = os.path.join(self.tmp, "tune_run")
        self.optimize(self.task, "--strategy", "tune", "--start", start, "--budget-evals", "10",
                      "--out", run)
        rows = self.rows(run, "SELECT origin, verdict, params FROM candidates ORDER BY id")
        self.assertEqual(len(rows), 7)  # the start program and all 6 points of the space
        self.assertEqual(rows[0][0], "initial")
        points = sorted(json.dumps(json.loads(p), sort_keys=True) for (_, _, p) in rows[1:])
        self.assertEqual(len(set(points)), 6)
        self.assertTrue(all(v == "ok" for (_, v, _) in rows))
        report = json.load(open(os.path.join(run, "report.json")))
        self.assertGreater(report["best"]["speedup"], 1.0)
        # A sampled space: a budget smaller than the space judges that many distinct points.
        run2 = os.path.join(self.tmp, "tune_sampled")
        self.optimize(self.task, "--strategy", "tune", "--start", start, "--budget-evals", "4",
                      "--out", run2, "--seed", "7")
        rows = self.rows(run2, "SELECT params FROM candidates WHERE origin = 'tune'")
        self.assertEqual(len(set(p for (p,) in rows)), 3)

    def test_swarm_asks_every_model_each_round(self):
        _, spec_a = self.script("swarm_a", [fenced("c", self.fast),
                                            fenced("c", self.fast + "\n/* second */\n")])
        _, spec_b = self.script("swarm_b", ["no code from me"])
        run = os.path.join(self.tmp, "swarm_run")
        self.optimize(self.task, "--strategy", "swarm", "--llm", spec_a, "--llm", spec_b,
                      "--budget-evals", "5", "--out", run)
        rows = self.rows(run, "SELECT round, verdict FROM candidates WHERE origin = 'llm' ORDER BY id")
        self.assertEqual(rows, [(1, "ok"), (1, "no_code"), (2, "ok"), (2, "no_code")])
        calls = self.rows(run, "SELECT provider FROM llm_calls ORDER BY id")
        self.assertEqual({p for (p,) in calls}, {spec_a, spec_b})

    def test_resume_after_sigkill_loses_and_repeats_nothing(self):
        replies = [fenced("c", self.fast.replace("softmax_rows(", "softmax_rows(", 1) + f"\n/* variant {i} */\n")
                   for i in range(12)]
        d, spec = self.script("resume_script", replies)
        run = os.path.join(self.tmp, "resume_run")
        env = dict(self.env, SCRIPTED_MODEL_DELAY="0.3")
        p = subprocess.Popen([KFORGE, "optimize", self.task, "--llm", spec, "--budget-evals", "8",
                              "--out", run, "--timing-seconds", "0.2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if self.rows(run, "SELECT COUNT(*) FROM candidates")[0][0] >= 4:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.1)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        before = self.rows(run, "SELECT id, code_hash FROM candidates ORDER BY id")
        paid_before = int(open(os.path.join(d, "calls")).read())
        self.assertGreaterEqual(len(before), 4)
        self.assertLess(len(before), 8)

        r = subprocess.run([KFORGE, "optimize", "--resume", run], capture_output=True, text=True,
                           env=self.env, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        after = self.rows(run, "SELECT id, code_hash FROM candidates ORDER BY id")
        self.assertEqual(after[:len(before)], before)  # nothing lost
        self.assertEqual(len(after), 8)  # the budget, no more
        self.assertEqual(len({h for (_, h) in after}), 8)  # nothing judged twice
        # Replies recorded before the kill were not asked for again: the fake model was called
        # once per recorded reply, plus at most the one in flight when the kill came.
        with open(os.path.join(d, "calls")) as f:
            calls = int(f.read())
        paid = self.rows(run, "SELECT COUNT(*) FROM llm_calls WHERE cached = 0")[0][0]
        replayed = self.rows(run, "SELECT COUNT(*) FROM llm_calls WHERE cached = 1")[0][0]
        self.assertIn(calls - paid, (0, 1))
        self.assertGreaterEqual(replayed, len(before) - 2)

    def test_ctrl_c_stops_cleanly_with_a_report_and_a_resumable_store(self):
        replies = [fenced("c", self.fast + f"\n/* take {i} */\n") for i in range(8)]
        _, spec = self.script("interrupt_script", replies)
        run = os.path.join(self.tmp, "interrupt_run")
        env = dict(self.env, SCRIPTED_MODEL_DELAY="0.5")
        p = subprocess.Popen([KFORGE, "optimize", self.task, "--llm", spec, "--budget-evals", "6",
                              "--out", run, "--timing-seconds", "0.2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if self.rows(run, "SELECT COUNT(*) FROM candidates")[0][0] >= 2:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("stopping after the current step", err)
        self.assertIn("interrupted", out)
        with open(os.path.join(run, "report.md")) as f:
            self.assertIn("stopped: interrupted", f.read())
        done = self.rows(run, "SELECT COUNT(*) FROM candidates")[0][0]
        self.assertLess(done, 6)
        r = subprocess.run([KFORGE, "optimize", "--resume", run], capture_output=True, text=True,
                           env=self.env, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.rows(run, "SELECT COUNT(*) FROM candidates")[0][0], 6)

    def test_the_best_program_is_handed_to_tune_at_the_end(self):
        _, spec = self.script("tune_after_script", [fenced("c", TUNABLE)])
        run = os.path.join(self.tmp, "tune_after_run")
        self.optimize(self.task, "--llm", spec, "--budget-evals", "2", "--tune-after", "3",
                      "--out", run)
        rows = self.rows(run, "SELECT id, origin, parent_id, verdict FROM candidates ORDER BY id")
        self.assertEqual([r[1] for r in rows], ["initial", "llm", "tune", "tune", "tune"])
        self.assertTrue(all(r[2] == 2 for r in rows[2:]))

    def test_a_fixed_seed_makes_the_same_choices(self):
        wrong = "#include <stdint.h>\nvoid softmax_rows(const float* x, float* y, int64_t r, int64_t c) {\n" \
                "  for (int64_t i = 0; i < r * c; i++) y[i] = %d.0f;\n}\n"
        replies = [fenced("c", self.fast)] + [fenced("c", wrong % i) for i in range(6)]
        config = os.path.join(self.tmp, "one_island.yaml")
        with open(config, "w") as f:
            f.write("optimize:\n  evolve: {islands: 1, edits: rewrite, exploration_ratio: 0.5, "
                    "exploitation_ratio: 0.2}\n")
        parents = []
        for name in ("seeded_a", "seeded_b"):
            _, spec = self.script(name, replies)
            run = os.path.join(self.tmp, name + "_run")
            self.optimize(self.task, "--strategy", "evolve", "--llm", spec, "--config", config,
                          "--seed", "5", "--budget-evals", "8", "--out", run)
            parents.append(self.rows(run, "SELECT parent_id, verdict FROM candidates ORDER BY id"))
        self.assertEqual(parents[0], parents[1])
        self.assertEqual(len(parents[0]), 8)

    def test_without_a_model_the_user_is_told_how_to_configure_one(self):
        r = self.optimize(self.task, "--out", os.path.join(self.tmp, "no_model"), check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--llm SPEC", r.stderr)
        self.assertIn("--strategy tune needs no model", r.stderr)

    def test_config_mistakes_name_the_key(self):
        config = os.path.join(self.tmp, "bad.yaml")
        open(config, "w").write("optimize:\n  budget_evalz: 3\n")
        r = self.optimize(self.task, "--config", config, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("optimize.budget_evalz: unknown key", r.stderr)
        open(config, "w").write("llm:\n  models: [{spec: 'openai:gpt-4.1', wieght: 2}]\n")
        r = self.optimize(self.task, "--config", config, "--out", os.path.join(self.tmp, "bad_cfg"),
                          check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("llm.models[0].wieght: unknown key", r.stderr)

    def test_a_real_local_model_drives_the_agent_loop(self):
        script = os.path.join(REPO, "scripts", "llm_server")
        if subprocess.run([script, "paths"], capture_output=True).returncode != 0:
            self.fail("the local model server is not built: run scripts/llm_server build")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([script, "run", str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.time() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except Exception:
                    pass
                self.assertLess(time.time(), deadline, "llama-server did not start")
                time.sleep(0.25)
            config = os.path.join(self.tmp, "local.yaml")
            open(config, "w").write("llm:\n  max_tokens: 400\n  temperature: 0.2\n")
            run = os.path.join(self.tmp, "local_run")
            self.optimize(self.task, "--llm", f"openai-compatible:http://127.0.0.1:{port}/v1#smollm2",
                          "--config", config, "--budget-evals", "3", "--out", run)
            rows = self.rows(run, "SELECT origin, verdict, llm_call FROM candidates ORDER BY id")
            self.assertEqual(len(rows), 3)
            self.assertTrue(all(o == "llm" and c > 0 for (o, _, c) in rows[1:]))
            calls = self.rows(run, "SELECT completion_tokens, reply FROM llm_calls WHERE error_kind IS NULL")
            self.assertGreaterEqual(len(calls), 2)
            self.assertTrue(all(t > 0 and reply for (t, reply) in calls))
            self.assertTrue(os.path.exists(os.path.join(run, "report.md")))
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


if __name__ == "__main__":
    KFORGE, REPO = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
