#!/usr/bin/env python3
"""Load test of the dashboard's API (kforge serve) on a synthetic run store of 10,000 candidates.

usage: serve_load.py KFORGE_BIN [--candidates N] [--rounds R] [--json FILE]

The store is synthetic (written here, schema version 1 as src/search/run_store.cc and
src/llm/call_log.cc create it): an evolve run over 4 islands, programs of ~3 KB with results as
the evaluator writes them (timings, roofline, baselines), a model call per candidate, migrations
every 50 candidates, verdicts in realistic shares. kforge serve opens it read-only.

Each round first adds one candidate to the store, as a live run does, which invalidates every
cached answer, then requests each query the page makes once: these are cold (uncached) times.
Then the same queries again without a change: warm (cached) times. Prints the median, p90 and
max per query over the rounds, and writes them as JSON. Target: median under 50 ms.
"""

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE candidates (
  id INTEGER PRIMARY KEY, at REAL NOT NULL, parent_id INTEGER, origin TEXT NOT NULL,
  strategy TEXT, round INTEGER, island INTEGER, code TEXT NOT NULL, code_hash TEXT NOT NULL,
  verdict TEXT NOT NULL, speedup REAL, time_ms REAL, feedback TEXT, result TEXT, params TEXT,
  llm_call INTEGER, eval_seconds REAL);
CREATE INDEX candidates_by_hash ON candidates (code_hash);
CREATE TABLE migrations (step INTEGER, candidate_id INTEGER, from_island INTEGER,
  to_island INTEGER, UNIQUE (step, candidate_id, from_island, to_island));
CREATE TABLE llm_calls (
  id INTEGER PRIMARY KEY, at REAL NOT NULL, request_key TEXT NOT NULL, provider TEXT NOT NULL,
  model TEXT, request TEXT NOT NULL, reply TEXT, finish_reason TEXT, prompt_tokens INTEGER,
  completion_tokens INTEGER, tokens_estimated INTEGER, latency_s REAL, first_token_s REAL,
  attempts INTEGER, cost_usd REAL NOT NULL DEFAULT 0, cached INTEGER NOT NULL DEFAULT 0,
  error_kind TEXT, error TEXT);
CREATE INDEX llm_calls_by_key ON llm_calls (request_key);
"""
VERDICTS = (["ok"] * 55 + ["wrong_answer"] * 15 + ["compile_error"] * 15 + ["bad_edit"] * 8 +
            ["runtime_error"] * 4 + ["timeout"] * 2 + ["static_violation"])
ISLANDS = 4


def program(rng, i):
    body = "\n".join(f"    acc{k} = fmaf(x[i + {k}], w[{k}], acc{k});  // step {rng.random():.6f}"
                     for k in range(rng.randint(40, 90)))
    return (f"// candidate {i}\n#include <stdint.h>\n// EVOLVE-BLOCK-START\n"
            f"void kernel(const float* x, const float* w, float* y, int64_t n) {{\n{body}\n}}\n"
            "// EVOLVE-BLOCK-END\n")


def result(rng, verdict, time_ms, base_ms):
    timing = lambda m: {"median": m, "p10": m * 0.97, "p90": m * 1.05, "min": m * 0.95,
                        "runs": rng.randint(30, 400), "ci95_rel": rng.random() * 0.01}
    r = {"verdict": verdict, "task": "synthetic", "seed": rng.getrandbits(63),
         "detail": {"message": "correct" if verdict == "ok" else f"{verdict}: synthetic detail " * 8},
         "profile": {"total_s": 1.2, "compile_s": 0.3, "candidate_s": 0.2}}
    if verdict == "ok":
        flops, bytes_ = 2.0e9, 4.0e8
        r.update({"time_ms": timing(time_ms), "baseline": timing(base_ms),
                  "baseline_name": "initial program", "baseline_time_ms": base_ms,
                  "speedup": base_ms / time_ms,
                  "baselines": [{"name": "cuBLAS", "speedup": base_ms * 0.2 / time_ms,
                                 "time_ms": timing(base_ms * 0.2)}],
                  "roofline": {"flops": flops, "bytes": bytes_, "peak_gflops": 60000.0,
                               "peak_gbps": 3000.0, "floor_ms": 0.133,
                               "achieved_gflops": flops / time_ms / 1e6,
                               "achieved_gbps": bytes_ / time_ms / 1e6,
                               "fraction": min(1.0, 0.133 / time_ms)}})
    return json.dumps(r)


def make_store(run_dir, n, seed=7):
    os.makedirs(run_dir, exist_ok=True)
    rng = random.Random(seed)
    db = sqlite3.connect(os.path.join(run_dir, "run.sqlite"))
    db.executescript(SCHEMA)
    options = {"strategy": "evolve", "task_dir": "/tasks/synthetic", "budget_evals": n + 1000,
               "budget_cost_usd": 50.0, "budget_time_s": 0, "llm": ["openai:gpt-x", "anthropic:y"],
               "evolve": {"islands": ISLANDS}}
    db.executemany("INSERT INTO meta VALUES (?, ?)",
                   [("schema_version", "1"), ("options", json.dumps(options)),
                    ("time_used_s", "36000")])
    t0, base = time.time() - 36000, 4.0
    best = [1.0] * ISLANDS
    ok_ids = [[] for _ in range(ISLANDS)]
    prompt = "You are an expert performance engineer.\n" + "Rules and context. " * 400
    for i in range(1, n + 1):
        island = (i - 1) % ISLANDS
        verdict = "ok" if i == 1 else rng.choice(VERDICTS)
        speed = 1.0 if i == 1 else max(0.2, best[island] * rng.uniform(0.6, 1.08))
        if verdict == "ok":
            best[island] = max(best[island], speed)
        parent = 0 if i == 1 else rng.choice(ok_ids[island][-30:] or [1])
        code = program(rng, i)
        db.execute("INSERT INTO llm_calls (id, at, request_key, provider, model, request, reply, "
                   "finish_reason, prompt_tokens, completion_tokens, latency_s, cost_usd) VALUES "
                   "(?, ?, ?, 'openai:gpt-x', 'gpt-x', ?, ?, 'stop', 3000, 800, 12.0, 0.004)",
                   (i, t0 + i * 3.6, f"k{i}", json.dumps({"messages": [
                       {"role": "system", "content": prompt}, {"role": "user", "content": code}]}),
                    "Here is a faster version.\n```c\n" + code + "```\n"))
        db.execute("INSERT INTO candidates (id, at, parent_id, origin, strategy, round, island, "
                   "code, code_hash, verdict, speedup, time_ms, feedback, result, params, llm_call,"
                   " eval_seconds) VALUES (?, ?, ?, ?, 'evolve', ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, "
                   "?)",
                   (i, t0 + i * 3.6, parent, "initial" if i == 1 else "llm", i // ISLANDS, island,
                    code, f"h{i}", verdict, speed if verdict == "ok" else 0,
                    base / speed if verdict == "ok" else 0, "Verdict: synthetic feedback " * 10,
                    result(rng, verdict, base / speed, base), i if i > 1 else None,
                    rng.uniform(0.5, 3)))
        if verdict == "ok":
            ok_ids[island].append(i)
        if i % 50 == 0 and ok_ids[island]:
            db.execute("INSERT OR IGNORE INTO migrations VALUES (?, ?, ?, ?)",
                       (i, ok_ids[island][-1], island, (island + 1) % ISLANDS))
    db.commit()
    db.close()


def fetch_ms(url):
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
    return (time.perf_counter() - t) * 1e3, len(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kforge")
    ap.add_argument("--candidates", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kforge-serve-load-")
    run = os.path.join(tmp, "synthetic-10k")
    t = time.time()
    make_store(run, args.candidates)
    print(f"synthetic store: {args.candidates} candidates, "
          f"{os.path.getsize(os.path.join(run, 'run.sqlite')) / 1e6:.0f} MB, "
          f"written in {time.time() - t:.0f} s")
    server = subprocess.Popen([args.kforge, "serve", run, "--port", "0"], stdout=subprocess.PIPE,
                              text=True)
    try:
        url = re.search(r"(http://\S+/)", server.stdout.readline()).group(1)
        api = url + "api/runs/synthetic-10k/"
        queries = {
            "summary": api + "summary",
            "progress": api + "progress",
            "lineage (last 1500)": api + "lineage?limit=1500",
            "grid": api + "grid",
            "roofline": api + "roofline",
            "candidates (fastest 50)": api + "candidates?sort=speedup&limit=50",
            "candidates (page 100)": api + "candidates?offset=5000&limit=50",
            "candidate page": api + f"candidates/{args.candidates // 2}",
            "run list": url + "api/runs",
        }
        first_ms = fetch_ms(url + "api/runs")[0]  # opens the store and reads it once
        print(f"first request (opens the store, reads every candidate once): {first_ms:.0f} ms")
        cold = {k: [] for k in queries}
        warm = {k: [] for k in queries}
        sizes = {}
        db = sqlite3.connect(os.path.join(run, "run.sqlite"))
        for r in range(args.rounds):
            # A new candidate, as a live run writes one: every cached answer is stale.
            db.execute("INSERT INTO candidates (at, parent_id, origin, strategy, round, island, "
                       "code, code_hash, verdict, result, params) VALUES (?, 1, 'llm', 'evolve', "
                       "0, 0, 'int x;', ?, 'compile_error', '{}', '{}')", (time.time(), f"n{r}"))
            db.commit()
            for k, u in queries.items():
                ms, size = fetch_ms(u)
                cold[k].append(ms)
                sizes[k] = size
            for k, u in queries.items():
                warm[k].append(fetch_ms(u)[0])
        db.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    rows = []
    print(f"\n{'query':26} {'cold median':>12} {'cold p90':>9} {'cold max':>9} "
          f"{'warm median':>12} {'bytes':>9}")
    for k in queries:
        c, w = sorted(cold[k]), sorted(warm[k])
        row = {"query": k, "cold_median_ms": statistics.median(c),
               "cold_p90_ms": c[int(0.9 * (len(c) - 1))], "cold_max_ms": c[-1],
               "warm_median_ms": statistics.median(w), "bytes": sizes[k]}
        rows.append(row)
        print(f"{k:26} {row['cold_median_ms']:12.1f} {row['cold_p90_ms']:9.1f} "
              f"{row['cold_max_ms']:9.1f} {row['warm_median_ms']:12.1f} {sizes[k]:9d}")
    worst = max(r["cold_median_ms"] for r in rows)
    print(f"\nworst cold median {worst:.1f} ms (target: under 50 ms)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"candidates": args.candidates, "rounds": args.rounds,
                       "first_request_ms": first_ms, "queries": rows,
                       "worst_cold_median_ms": worst}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
