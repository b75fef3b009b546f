#!/usr/bin/env python3
"""kforge's resident memory and the run store's size over a long `kforge optimize` run.

Requirement: a run of 10,000 candidates keeps kforge's resident memory under 500 MB, with the
store's size per candidate.

The bench copies tasks/cpu/softmax_rows into a temporary directory with the bench size cut to
8 x 64 and three small check sizes, so one evaluation costs as little as the evaluator allows,
and runs

    kforge optimize TASK --llm "command:sh model.sh DIR" --budget-evals N --out RUN_DIR
                         --timing-seconds 0.01

(agent strategy, the default). model.sh is a scripted stand-in for a model (a fake, named as
such): it reads the prompt, bumps a counter in DIR/calls and prints the task's initial.c in a
fenced block followed by `/* variant K */`, so every reply is a distinct, correct program (a
program judged before would not be judged again). Its cost per call is measured first.

While kforge runs, the bench reads VmRSS and VmHWM from /proc/PID/status of the kforge process
itself (not its children) every second, and takes progress from kforge's plain status lines
(`[k/N] ...`, one per judged candidate). The evaluator's worker processes (kforge's
descendants named kforge-*-worker) are sampled too, for information only.

Printed: candidates judged, wall time, candidates per second (overall, first and last 10% of
the run), peak RSS (VmHWM), RSS at 10%, 50% and 100% of the run, run.sqlite (+ -wal) size and
bytes per candidate, where those bytes are, and the worker's RSS and mappings. The same figures
go to a JSON file: --json PATH, else $OUT/optimize_memory.json when $OUT is set. The bench does
not assert; its last line says PASS or FAIL against the 500 MB target.

usage: bench/optimize_memory.py [KFORGE_BIN] [N] [--json PATH] [--keep]
"""
import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_MB = 500.0
MB = 1024.0 * 1024.0

MODEL_SH = r"""# A scripted stand-in for a model (a fake): a distinct copy of DIR/program.c on every call.
cat > /dev/null
n=$(( $(cat "$1/calls" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$1/calls"
printf 'Variant %d.\n\n```c\n' "$n"
cat "$1/program.c"
printf '/* variant %d */\n```\n' "$n"
"""

PROGRESS = re.compile(r"^\[(\d+)/(\d+)\]")


def make_task(tmp):
    task = os.path.join(tmp, "softmax_tiny")
    shutil.copytree(os.path.join(ROOT, "tasks", "cpu", "softmax_rows"), task)
    path = os.path.join(task, "task.yaml")
    text = open(path).read()
    text, n1 = re.subn(r"bench: \{rows: \d+, cols: \d+\}", "bench: {rows: 8, cols: 64}", text)
    text, n2 = re.subn(r"  check:\n(    - .*\n)+",
                       "  check:\n    - {rows: 1, cols: 1}\n    - {rows: 3, cols: 8}\n"
                       "    - {rows: 7, cols: 33}\n", text)
    if n1 != 1 or n2 != 1:
        sys.exit("tasks/cpu/softmax_rows/task.yaml changed shape: update make_task")
    open(path, "w").write(text)
    return task


def make_model(tmp, task):
    d = os.path.join(tmp, "model")
    os.makedirs(d)
    shutil.copy(os.path.join(task, "initial.c"), os.path.join(d, "program.c"))
    with open(os.path.join(d, "model.sh"), "w") as f:
        f.write(MODEL_SH)
    return d, f"command:sh {d}/model.sh {d}"


def model_overhead_ms(d, calls=50):
    """Median wall time of one call as kforge makes it (/bin/sh -c, a 10 KB prompt on stdin)."""
    prompt = ("### user\n" + "x" * 100 + "\n") * 100
    times = []
    for _ in range(calls):
        t = time.monotonic()
        subprocess.run(["/bin/sh", "-c", f"sh {d}/model.sh {d}"], input=prompt, text=True,
                       capture_output=True, check=True)
        times.append(time.monotonic() - t)
    os.remove(os.path.join(d, "calls"))
    times.sort()
    return 1e3 * times[len(times) // 2]


def status_kb(pid, keys=("VmRSS", "VmHWM")):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out if len(out) == len(keys) else None


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = open(f"/proc/{p}/task/{t}/children").read().split()
            except OSError:
                continue
            for k in kids:
                out.append(int(k))
                todo.append(int(k))
    return out


def workers(pid):
    found = []
    for c in descendants(pid):
        try:
            comm = open(f"/proc/{c}/comm").read().strip()
        except OSError:
            continue
        if comm.startswith("kforge-") and "work" in comm:  # comm is cut at 15 characters
            found.append(c)
    return found


def map_count(pid):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def tree_size(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            total += file_size(os.path.join(dirpath, name))
    return total


def at_fraction(samples, n_done, frac):
    """The first sample taken once frac of the candidates were judged."""
    want = max(1, int(round(frac * n_done)))
    for s in samples:
        if s["done"] >= want:
            return s
    return samples[-1] if samples else None


def rate(progress, lo, hi):
    """Candidates per second between the lo-th and hi-th judged candidates (1-based)."""
    t = dict(progress)
    if lo not in t or hi not in t or t[hi] <= t[lo]:
        return None
    return (hi - lo) / (t[hi] - t[lo])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kforge", nargs="?", default=os.path.join(ROOT, "build", "kforge"))
    ap.add_argument("n", nargs="?", type=int, default=10000, help="candidates (--budget-evals)")
    ap.add_argument("--json", help="write the figures here (default $OUT/optimize_memory.json)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    args = ap.parse_args()
    kforge = os.path.abspath(args.kforge)

    tmp = tempfile.mkdtemp(prefix="kforge_optimize_memory_")
    try:
        return run(args, kforge, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, kforge, tmp):
    task = make_task(tmp)
    model_dir, spec = make_model(tmp, task)
    model_ms = model_overhead_ms(model_dir)
    run_dir = os.path.join(tmp, "run")
    env = dict(os.environ, KFORGE_CACHE=os.path.join(tmp, "cache"))
    cmd = [kforge, "optimize", task, "--llm", spec, "--budget-evals", str(args.n),
           "--out", run_dir, "--timing-seconds", "0.01"]
    print(f"kforge optimize on softmax_rows (bench 8 x 64), agent strategy, scripted model "
          f"(a fake: a distinct copy of initial.c per reply, {model_ms:.1f} ms a call), "
          f"--budget-evals {args.n} --timing-seconds 0.01", flush=True)
    load0 = os.getloadavg()

    progress = []  # (k, monotonic time the k-th candidate's line was read)
    tail = []
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env, start_new_session=True)

    def reader():
        for line in p.stdout:
            m = PROGRESS.match(line)
            if m:
                progress.append((int(m.group(1)), time.monotonic() - start))
            tail.append(line)
            del tail[:-40]

    th = threading.Thread(target=reader, daemon=True)
    th.start()

    samples = []
    worker_peak_kb, worker_hwm_kb, worker_maps_peak, worker_pids = 0, 0, 0, set()
    next_report = 60.0
    try:
        while p.poll() is None:
            st = status_kb(p.pid)
            now = time.monotonic() - start
            if st:
                s = {"t": round(now, 2), "done": progress[-1][0] if progress else 0,
                     "rss_kb": st["VmRSS"], "hwm_kb": st["VmHWM"],
                     "load1": os.getloadavg()[0]}
                ws = workers(p.pid)
                worker_pids.update(ws)
                wst = [x for x in (status_kb(w) for w in ws) if x]
                s["worker_rss_kb"] = sum(x["VmRSS"] for x in wst)  # all workers together
                worker_peak_kb = max(worker_peak_kb, s["worker_rss_kb"])
                worker_hwm_kb = max([worker_hwm_kb] + [x["VmHWM"] for x in wst])
                if len(samples) % 10 == 0:
                    counts = [c for c in (map_count(w) for w in ws) if c]
                    if counts:
                        s["worker_maps"] = max(counts)
                        worker_maps_peak = max(worker_maps_peak, s["worker_maps"])
                s["wal_bytes"] = file_size(os.path.join(run_dir, "run.sqlite-wal"))
                samples.append(s)
                if now >= next_report:
                    next_report += 60.0
                    print(f"  {now:7.0f} s  {s['done']:6d}/{args.n} judged  RSS "
                          f"{s['rss_kb'] / 1024:.1f} MB  (peak {s['hwm_kb'] / 1024:.1f} MB)  "
                          f"worker {s['worker_rss_kb'] / 1024:.1f} MB", flush=True)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        os.kill(p.pid, signal.SIGINT)
        p.wait()
    wall = time.monotonic() - start
    th.join(timeout=5)
    rc = p.returncode
    load1 = os.getloadavg()

    db_path = os.path.join(run_dir, "run.sqlite")
    db_bytes = file_size(db_path)
    wal_bytes = file_size(db_path + "-wal")
    wal_peak = max([s["wal_bytes"] for s in samples] + [wal_bytes])
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    judged = db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
    distinct = db.execute("SELECT COUNT(DISTINCT code_hash) FROM candidates").fetchone()[0]
    verdicts = dict(db.execute("SELECT verdict, COUNT(*) FROM candidates GROUP BY verdict"))
    calls = db.execute("SELECT COUNT(*), COALESCE(SUM(cached), 0) FROM llm_calls").fetchone()
    content = {
        "candidates.code": "SELECT SUM(LENGTH(code)) FROM candidates",
        "candidates.result": "SELECT SUM(LENGTH(result)) FROM candidates",
        "candidates.feedback": "SELECT SUM(LENGTH(feedback)) FROM candidates",
        "llm_calls.request": "SELECT SUM(LENGTH(request)) FROM llm_calls",
        "llm_calls.reply": "SELECT SUM(LENGTH(reply)) FROM llm_calls",
    }
    content = {k: db.execute(q).fetchone()[0] or 0 for k, q in content.items()}
    eval_s = db.execute("SELECT AVG(eval_seconds) FROM candidates WHERE id > 1").fetchone()[0]
    # Where each candidate's time went, by tenth of the run: the evaluator's own seconds, and the
    # rest of the gap since the previous candidate's status line (the model call, prompt, store).
    # (candidates.at holds whole seconds; the status lines are timed here.)
    evals = [e or 0 for (e,) in db.execute("SELECT eval_seconds FROM candidates ORDER BY id")]
    db.close()
    seen = dict(progress)
    deciles = []
    for i in range(10):
        part = [(seen[k] - seen[k - 1], evals[k - 1])
                for k in range(max(2, i * len(evals) // 10 + 1), (i + 1) * len(evals) // 10 + 1)
                if k in seen and k - 1 in seen]
        if part:
            gap = sum(g for g, _ in part) / len(part)
            ev = sum(e for _, e in part) / len(part)
            deciles.append({"tenth": i + 1, "s_per_candidate": round(gap, 4),
                            "eval_s": round(ev, 4), "outside_eval_s": round(gap - ev, 4)})
    store = db_bytes + wal_bytes
    per_cand = store / judged if judged else 0
    cand_dir = tree_size(os.path.join(run_dir, "candidates"))
    cache_dir = tree_size(os.path.join(tmp, "cache"))

    peak_kb = max([s["hwm_kb"] for s in samples] or [0])
    marks = {f"{int(100 * f)}%": at_fraction(samples, judged, f) for f in (0.1, 0.5, 1.0)}
    tenth = max(1, judged // 10)
    rate_first = rate(progress, 1, tenth + 1)
    rate_last = rate(progress, judged - tenth, judged)

    def mb(kb):
        return round(kb / 1024, 1)

    print()
    print(f"kforge exit status {rc}; {judged} candidates judged ({distinct} distinct programs), "
          f"verdicts {verdicts}; {calls[0]} model calls ({calls[1]} from the cache)")
    print(f"wall {wall:.1f} s, {judged / wall:.2f} candidates/s ({wall / max(judged, 1):.3f} s "
          f"each; the evaluator's own mean {eval_s or 0:.3f} s); load average "
          f"{load0[0]:.2f} before, {load1[0]:.2f} after")
    if rate_first and rate_last:
        print(f"candidates/s over the first 10% {rate_first:.2f}, over the last 10% "
              f"{rate_last:.2f} (ratio last/first {rate_last / rate_first:.2f})")
    if deciles:
        print("seconds per candidate by tenth of the run (evaluator + outside it: model, prompt, "
              "store): " + ", ".join(f"{d['s_per_candidate']:.3f} ({d['eval_s']:.3f} + "
                                     f"{d['outside_eval_s']:.3f})" for d in deciles))
    print()
    print("| point of the run | candidates judged | VmRSS MB | VmHWM MB | workers' RSS MB |")
    print("|---|---|---|---|---|")
    for name, s in marks.items():
        if s:
            print(f"| {name} | {s['done']} | {mb(s['rss_kb'])} | {mb(s['hwm_kb'])} | "
                  f"{mb(s['worker_rss_kb'])} |")
    if marks["10%"] and marks["100%"]:
        growth = (marks["100%"]["rss_kb"] - marks["10%"]["rss_kb"]) / 1024
        span = marks["100%"]["done"] - marks["10%"]["done"]
        print(f"\nRSS from 10% to 100%: {growth:+.1f} MB over {span} candidates "
              f"({1024 * growth / max(span, 1):+.2f} KB per candidate); ratio 100%/10% "
              f"{marks['100%']['rss_kb'] / marks['10%']['rss_kb']:.2f}")
    print(f"peak RSS (VmHWM) {mb(peak_kb)} MB")
    print(f"workers (for information): {len(worker_pids)} process(es), RSS of all together up to "
          f"{mb(worker_peak_kb)} MB, one worker's VmHWM up to {mb(worker_hwm_kb)} MB, up to "
          f"{worker_maps_peak} mappings in one")
    print(f"run.sqlite {db_bytes / MB:.2f} MB + -wal {wal_bytes / MB:.2f} MB at the end (wal peak "
          f"{wal_peak / MB:.2f} MB) = {per_cand / 1024:.1f} KB per candidate")
    print("  content: " + ", ".join(f"{k} {v / max(judged, 1) / 1024:.1f} KB" for k, v in
                                   content.items()) + " per candidate")
    print(f"RUN_DIR/candidates/ {cand_dir / MB:.2f} MB, compile cache {cache_dir / MB:.2f} MB "
          f"({cache_dir / max(judged, 1) / 1024:.1f} KB per candidate)")
    if rc != 0:
        print("kforge's last lines:\n" + "".join(tail[-15:]))

    figures = {
        "kforge": kforge, "n": args.n, "exit_status": rc, "candidates": judged,
        "distinct_programs": distinct, "verdicts": verdicts, "model_calls": calls[0],
        "model_calls_cached": calls[1], "model_ms_per_call": round(model_ms, 2),
        "wall_s": round(wall, 1), "candidates_per_s": round(judged / wall, 3),
        "s_per_candidate": round(wall / max(judged, 1), 4),
        "eval_s_mean": round(eval_s or 0, 4), "by_tenth": deciles,
        "candidates_per_s_first_10pct": rate_first and round(rate_first, 3),
        "candidates_per_s_last_10pct": rate_last and round(rate_last, 3),
        "peak_rss_mb": mb(peak_kb),
        "rss_mb": {k: s and {"done": s["done"], "rss": mb(s["rss_kb"]), "hwm": mb(s["hwm_kb"])}
                   for k, s in marks.items()},
        "worker_peak_rss_mb": mb(worker_peak_kb), "worker_hwm_mb": mb(worker_hwm_kb),
        "worker_maps_peak": worker_maps_peak, "worker_processes": len(worker_pids),
        "store_bytes": {"sqlite": db_bytes, "wal": wal_bytes, "wal_peak": wal_peak,
                        "total": store, "per_candidate": round(per_cand)},
        "store_content_bytes": content,
        "candidates_dir_bytes": cand_dir, "compile_cache_bytes": cache_dir,
        "load_average": [load0[0], load1[0]], "target_mb": TARGET_MB,
        "pass": peak_kb / 1024 < TARGET_MB and rc == 0 and judged == args.n,
        "samples": samples,
    }
    out = args.json or (os.path.join(os.environ["OUT"], "optimize_memory.json")
                        if os.environ.get("OUT") else None)
    if out:
        with open(out, "w") as f:
            json.dump(figures, f, indent=1)
        print(f"figures written to {out}")
    print()
    if figures["pass"]:
        print(f"PASS: peak RSS {mb(peak_kb)} MB < {TARGET_MB:.0f} MB over {judged} candidates")
    else:
        print(f"FAIL: peak RSS {mb(peak_kb)} MB (target < {TARGET_MB:.0f} MB), "
              f"{judged}/{args.n} candidates judged, kforge exit status {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
