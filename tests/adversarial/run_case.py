#!/usr/bin/env python3
"""Runs one adversarial candidate through `kforge eval` and checks the verdict it declares.

Usage: run_case.py KFORGE_BIN REPO_ROOT CASE_FILE

The case file starts with `// key: value` header lines (see README.md):
  expect  (required) the verdict of the adversarial candidate
  task    task directory relative to REPO_ROOT (default tasks/cpu/softmax_rows)
  detail  substring that detail.message must contain (case-insensitive)
  signal  exact value of detail.signal (e.g. SIGSEGV)
  rule    exact value of detail.static.rule (e.g. exit)
  args    extra `kforge eval` arguments, split like a shell would (e.g. --run-timeout 2)
  timing_note  substring that detail.timing_note_candidate must contain (case-insensitive)
  max_speedup  the case's reported speedup must not exceed this number (a trick that inflates
          its time or the baseline's must read no more than the honest kernel's speedup)
  good_speedup_within  F in (0, 1]: the good follow-up is first judged alone, in a `kforge eval`
          call of its own; its speedup judged after the case must then lie within a factor
          of F of that (F * alone <= after <= alone / F)
  cache   `private`: kforge runs with a cache directory of its own (KFORGE_CACHE), for cases
          that could poison what the machine's cache holds (its ceilings)
  today   free text: what the code before the trust-boundary change gave (documentation)
  trick   free text: what the candidate tries

Cases may be C (.c), C++ (.cc) or CUDA (.cu, under tests/adversarial/cuda/, for a task with
`backend: cuda`); kforge picks the compiler by the extension. PyTorch ModelNew cases (.py, under
tests/pytorch/adversarial/) write the header as `# key: value` lines and name their task and
`good` follow-up candidate (a path relative to REPO_ROOT).

The case is evaluated together with a known-good candidate in one `kforge eval` call; the good
one must still come out `ok`, which proves that kforge and its worker pool survived the trick.
The script also fails when /tmp/kforge_pwned exists afterwards (a candidate escaped the file
system sandbox) or when a secret planted in kforge's environment shows up in its output (a
candidate read the environment and got it echoed back). Prints one PASS/FAIL line; exits 1 on
failure, 2 on a malformed case. Python 3.11 standard library only.
"""

import fcntl
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

VERDICTS = {
    "ok", "compile_error", "wrong_answer", "runtime_error", "timeout", "crash",
    "sandbox_violation", "static_violation", "suspicious",
}
HEADER_KEYS = {"expect", "task", "detail", "signal", "rule", "args", "timing_note", "trick",
               "good", "max_speedup", "good_speedup_within", "cache", "today"}
DEFAULT_TASK = "tasks/cpu/softmax_rows"
GOOD_CANDIDATE = "tests/adversarial/good/softmax_good.c"
PWNED = "/tmp/kforge_pwned"
# Cases that may create PWNED take this lock exclusively, all others shared, so that parallel
# ctest runs never see (or delete) each other's proof file.
LOCK_FILE = "/tmp/kforge_adversarial.lock"
TOTAL_BUDGET_S = 280.0
ALONE_BUDGET_S = 100.0  # of TOTAL_BUDGET_S, for judging the good candidate alone
CANARY_VAR = "KFORGE_CANARY_SECRET"


class CaseError(Exception):
    """The case file itself is malformed."""


def parse_header(path: str) -> dict:
    header = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    mark = "#" if path.endswith(".py") else "//"
    if not lines or not re.match(mark + r"\s*expect:", lines[0]):
        raise CaseError(f"the first line must be `{mark} expect: <verdict>`")
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith(mark):
            break
        m = re.match(mark + r"\s*([a-z_]+):\s*(.*)$", stripped)
        if not m:
            continue  # free text (a continued description)
        key, value = m.group(1), m.group(2).strip()
        if key not in HEADER_KEYS:
            raise CaseError(f"unknown header key {key!r}")
        if key in header:
            raise CaseError(f"header key {key!r} given twice")
        header[key] = value
    if header["expect"] not in VERDICTS:
        raise CaseError(f"unknown verdict {header['expect']!r}")
    for key in ("max_speedup", "good_speedup_within"):
        if key in header:
            try:
                value = float(header[key])
            except ValueError:
                raise CaseError(f"{key} must be a number, got {header[key]!r}") from None
            if not value > 0 or (key == "good_speedup_within" and value > 1):
                raise CaseError(f"{key} out of range: {header[key]!r}")
    if header.get("cache", "private") != "private":
        raise CaseError(f"cache must be `private`, got {header['cache']!r}")
    return header


def initial_program(task_dir: str) -> str:
    """The task's `initial:` program, the good follow-up for tasks other than the default."""
    name = "initial.c"
    try:
        with open(os.path.join(task_dir, "task.yaml"), encoding="utf-8") as f:
            for line in f:
                m = re.match(r"initial:\s*['\"]?([^'\"#\s]+)", line)
                if m:
                    name = m.group(1)
                    break
    except OSError:
        pass
    return os.path.join(task_dir, name)


def run_kforge(cmd: list, env: dict, cwd: str, timeout_s: float):
    """Runs kforge in its own process group; on timeout the whole group is killed."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cwd, text=True,
                            errors="replace", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            # A process outside the group (a worker in a session of its own) still holds the
            # pipes: give up on the output rather than hang.
            for pipe in (proc.stdout, proc.stderr):
                pipe.close()
            proc.wait()
            out, err = "", "(output lost: a descendant outside kforge's process group kept it)"
        return proc.returncode, out, err, True


def parse_json_lines(stdout: str):
    objects = []
    for n, line in enumerate(stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            return None, f"stdout line {n} is not JSON ({e.msg}): {line[:200]!r}"
        if not isinstance(obj, dict):
            return None, f"stdout line {n} is not a JSON object"
        objects.append(obj)
    return objects, None


def detail_of(obj: dict) -> dict:
    detail = obj.get("detail")
    return detail if isinstance(detail, dict) else {}


def speedup_of(obj) -> float | None:
    """The result's speedup over the task's baseline, or None when it has none."""
    value = obj.get("speedup") if isinstance(obj, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def fmt_speedup(value) -> str:
    return f"{value:.3g}x" if value is not None else "no speedup"


def check_result(obj: dict, header: dict, candidate: str, label: str) -> list:
    problems = []
    reported = obj.get("candidate")
    if isinstance(reported, str) and os.path.basename(reported) != os.path.basename(candidate):
        problems.append(f"{label}: object is for {reported!r}, expected {candidate!r}")
    verdict = obj.get("verdict")
    expect = header["expect"]
    if verdict != expect:
        message = detail_of(obj).get("message", "")
        problems.append(f"{label}: verdict {verdict!r}, expected {expect!r} ({message!r})")
    if "detail" in header:
        message = detail_of(obj).get("message")
        if not isinstance(message, str) or header["detail"].lower() not in message.lower():
            problems.append(f"{label}: detail.message {message!r} lacks {header['detail']!r}")
    if "signal" in header:
        sig = detail_of(obj).get("signal")
        if sig != header["signal"]:
            problems.append(f"{label}: detail.signal {sig!r}, expected {header['signal']!r}")
    if "rule" in header:
        static = detail_of(obj).get("static")
        rule = static.get("rule") if isinstance(static, dict) else None
        if rule != header["rule"]:
            problems.append(f"{label}: detail.static.rule {rule!r}, expected {header['rule']!r}")
    if "max_speedup" in header:
        limit = float(header["max_speedup"])
        speedup = speedup_of(obj)
        if speedup is not None and speedup > limit:
            problems.append(f"{label}: speedup {speedup:.3g}x exceeds max_speedup {limit:g}x "
                            "(the trick inflated its time or the baseline's)")
    if "timing_note" in header:
        note = detail_of(obj).get("timing_note_candidate")
        if not isinstance(note, str) or header["timing_note"].lower() not in note.lower():
            problems.append(f"{label}: detail.timing_note_candidate {note!r} lacks "
                            f"{header['timing_note']!r}")
    return problems


def main(argv: list) -> int:
    if len(argv) != 4:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    start = time.monotonic()
    alone_speedup = None
    alone_problem = None
    alone_output = ""  # stdout and stderr of the alone run, for the canary check
    kforge, repo = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    case = os.path.abspath(argv[3])
    # The ctest name: adversarial/<name>, or adversarial_cuda/<name> for tests/adversarial/cuda/.
    parent = os.path.basename(os.path.dirname(case))
    suite = {"cuda": "adversarial_cuda", "adversarial": "adversarial"}.get(parent, "adversarial")
    if case.endswith(".py"):
        suite = "adversarial_pytorch"
    name = suite + "/" + os.path.splitext(os.path.basename(case))[0]
    try:
        header = parse_header(case)
    except (CaseError, OSError) as e:
        print(f"FAIL {name}: bad case file: {e}")
        return 2

    task_rel = header.get("task", DEFAULT_TASK)
    task_dir = os.path.join(repo, task_rel)
    if "good" in header:
        good = os.path.join(repo, header["good"])
    elif task_rel == DEFAULT_TASK:
        good = os.path.join(repo, GOOD_CANDIDATE)
    else:
        good = initial_program(task_dir)
    good_header = {"expect": "ok"}
    extra_args = shlex.split(header.get("args", ""))
    cmd = [kforge, "eval", task_dir, case, good, "--json"] + extra_args
    alone_cmd = [kforge, "eval", task_dir, good, "--json"] + extra_args

    with open(case, encoding="utf-8") as f:
        may_pwn = "kforge_pwned" in f.read()
    lock = open(LOCK_FILE, "a")
    fcntl.flock(lock, fcntl.LOCK_EX if may_pwn else fcntl.LOCK_SH)
    workdir = tempfile.mkdtemp(prefix=f"kforge-adv-{os.path.basename(name)}-")
    try:
        try:
            os.remove(PWNED)
        except FileNotFoundError:
            pass
        except OSError as e:
            print(f"FAIL {name}: cannot remove a stale {PWNED}: {e}")
            return 1
        canary = "kforge-canary-" + secrets.token_hex(12)
        env = dict(os.environ)
        env[CANARY_VAR] = canary
        if header.get("cache") == "private":
            env["KFORGE_CACHE"] = os.path.join(workdir, "cache")
        if "good_speedup_within" in header:
            # The good candidate judged alone first, in an evaluator of its own: its usual speedup.
            alone_budget = max(10.0, ALONE_BUDGET_S - (time.monotonic() - start))
            a_rc, a_out, a_err, a_timed_out = run_kforge(alone_cmd, env, workdir, alone_budget)
            alone_output = a_out + a_err
            a_objects, a_error = parse_json_lines(a_out)
            if a_timed_out or a_rc != 0 or a_error or len(a_objects or []) != 1 or \
                    a_objects[0].get("verdict") != "ok" or speedup_of(a_objects[0]) is None:
                alone_problem = (f"the good candidate judged alone did not give one `ok` with a "
                                 f"speedup (status {a_rc}, timed out {a_timed_out}, "
                                 f"{a_error or a_out.strip()[-600:]!r}, stderr "
                                 f"{a_err.strip()[-600:]!r})")
            else:
                alone_speedup = speedup_of(a_objects[0])
        budget = max(10.0, TOTAL_BUDGET_S - (time.monotonic() - start))
        rc, out, err, timed_out = run_kforge(cmd, env, workdir, budget)
        pwned = os.path.exists(PWNED)
        try:
            os.remove(PWNED)
        except OSError:
            pass
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        lock.close()

    problems = []
    first = second = None
    if timed_out:
        problems.append(f"kforge did not finish within {budget:.0f} s (killed)")
    elif rc != 0:
        problems.append(f"kforge exited with status {rc}, expected 0")
    objects, parse_error = parse_json_lines(out)
    if parse_error:
        problems.append(parse_error)
    elif not timed_out:
        if len(objects) != 2:
            problems.append(f"expected 2 JSON objects on stdout, got {len(objects)}")
        if len(objects) >= 1:
            first = objects[0]
            problems += check_result(first, header, case, "case")
        if len(objects) >= 2:
            second = objects[1]
            problems += check_result(second, good_header, good, "good follow-up")
    good_speedup = speedup_of(second)
    if "good_speedup_within" in header:
        within = float(header["good_speedup_within"])
        if alone_problem:
            problems.append(alone_problem)
        elif second is not None and second.get("verdict") == "ok":
            if good_speedup is None:
                problems.append("good follow-up: no speedup reported")
            elif not within * alone_speedup <= good_speedup <= alone_speedup / within:
                problems.append(f"good follow-up: speedup {good_speedup:.3g}x after the case, "
                                f"{alone_speedup:.3g}x judged alone: not within a factor of "
                                f"{within:g} (the case changed what the next candidate reads)")
    if pwned:
        problems.append(f"{PWNED} exists: a candidate wrote outside its sandbox")
    if canary in out or canary in err or canary in alone_output:
        problems.append(f"the secret in ${CANARY_VAR} leaked into kforge's output")

    verdict = first.get("verdict") if first else None
    follow = second.get("verdict") if second else None
    speeds = (f"case {fmt_speedup(speedup_of(first))}, good follow-up {follow} "
              f"{fmt_speedup(good_speedup)}")
    if alone_speedup is not None:
        speeds += f" (alone {fmt_speedup(alone_speedup)})"
    if not problems:
        print(f"PASS {name}: {verdict} (expected {header['expect']}); {speeds}")
        return 0
    print(f"FAIL {name}: {'; '.join(problems)}")
    print(f"  got: {verdict}; {speeds}")
    print(f"  command: {shlex.join(cmd)}")
    print("  stdout (JSON lines):")
    for obj in objects or []:
        print(json.dumps(obj, indent=2, sort_keys=True))
    if parse_error:
        print(out[-8000:])
    if err.strip():
        print("  stderr (tail):")
        print(err[-4000:])
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
