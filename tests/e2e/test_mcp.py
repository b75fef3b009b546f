#!/usr/bin/env python3
"""End-to-end test of `kforge mcp` driven by a real Model Context Protocol client: the Python
SDK's ClientSession over its stdio transport (the `mcp` package from PyPI, in build/mcp-venv:
scripts/mcp_env).

usage: test_mcp.py KFORGE_BIN REPO_ROOT

The handshake, the tool list, list_tasks and describe_task over a small CPU task, eval of a
fast, a wrong and a broken program (verdicts and feedback as kforge's evaluator gives them),
profile, history, an unknown task and tool, and the session's run store read by kforge report.
"""

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

KFORGE = ""
REPO = ""
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def structured(result):
    return getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)


def is_error(result):
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def text_of(result):
    return "".join(getattr(c, "text", "") for c in result.content)


async def session_checks(tmp, tasks, runs):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = dict(os.environ, KFORGE_CACHE=os.path.join(tmp, "cache"))
    params = StdioServerParameters(
        command=KFORGE, args=["mcp", "--tasks", tasks, "--runs", runs, "--timing-seconds", "0.3"],
        env=env)
    fast = open(os.path.join(REPO, "tasks", "cpu", "softmax_rows", "examples", "fast.c")).read()
    wrong = ("#include <stdint.h>\nvoid softmax_rows(const float* x, float* y, int64_t rows, "
             "int64_t cols) {\n  for (int64_t i = 0; i < rows * cols; i++) y[i] = 0.0f;\n}\n")
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            info = getattr(init, "server_info", None) or getattr(init, "serverInfo", None)
            check(info.name == "kforge", f"initialize: server {info.name}")
            tools = {t.name for t in (await session.list_tools()).tools}
            check(tools == {"list_tasks", "describe_task", "eval", "profile", "history"},
                  f"tools/list: {sorted(tools)}")

            r = await session.call_tool("list_tasks", {})
            names = [t["name"] for t in structured(r)["tasks"]]
            check(names == ["softmax_small"], f"list_tasks: {names}")

            r = await session.call_tool("describe_task", {"task": "softmax_small"})
            check(not is_error(r) and "softmax_rows(" in text_of(r) and "reference" in text_of(r),
                  "describe_task gives the signature and the reference")

            r = await session.call_tool("eval", {"task": "softmax_small", "code": fast})
            s = structured(r)
            check(not is_error(r) and s["verdict"] == "ok" and s["speedup"] > 1.5,
                  f"eval of the fast program: {s['verdict']} {s['speedup']:.2f}x")
            fast_id = s["id"]
            r = await session.call_tool("eval", {"task": "softmax_small", "code": wrong})
            s = structured(r)
            check(s["verdict"] == "wrong_answer" and "Verdict: wrong_answer" in s["feedback"]
                  and len(s["feedback"]) > 40,
                  f"eval of a program that writes zeros: {s['verdict']}: {s['feedback'][:200]!r}")
            r = await session.call_tool("eval", {"task": "softmax_small",
                                                 "code": "void softmax_rows( {", "language": "c"})
            s = structured(r)
            check(s["verdict"] == "compile_error" and "error" in s["feedback"],
                  f"eval of a broken program: {s['verdict']} with the compiler's log")

            r = await session.call_tool("profile", {"task": "softmax_small", "code": fast})
            s = structured(r)
            check(s["verdict"] == "ok" and "roofline" in s and "time" in s,
                  f"profile: keys {sorted(s)}")

            r = await session.call_tool("history", {"task": "softmax_small"})
            rows = structured(r)["candidates"]
            check(len(rows) == 4 and rows[0]["verdict"] == "ok",
                  f"history: {len(rows)} programs, correct ones first")
            r = await session.call_tool("history", {"task": "softmax_small", "id": fast_id})
            check(structured(r)["code"] == fast, "history of one candidate gives its code")

            r = await session.call_tool("eval", {"task": "nope", "code": fast})
            check(is_error(r) and "no task" in text_of(r), "an unknown task is a tool error")
            try:
                await session.call_tool("nope", {})
                check(False, "an unknown tool is refused")
            except Exception as e:  # the SDK raises the JSON-RPC error
                check("unknown tool" in str(e), f"an unknown tool is refused: {e}")


def main(argv):
    global KFORGE, REPO
    KFORGE, REPO = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    try:
        import mcp  # noqa: F401
    except ImportError:
        venv = os.path.join(os.path.dirname(KFORGE), "mcp-venv", "bin", "python3")
        in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.dirname(os.path.dirname(venv)))
        if os.path.exists(venv) and not in_venv:
            os.execv(venv, [venv, os.path.abspath(__file__), *argv[1:]])
        print(f"FAIL: the mcp package is missing ({venv}): run scripts/mcp_env")
        return 1
    tmp = tempfile.mkdtemp(prefix="kforge-mcp-")
    try:
        tasks = os.path.join(tmp, "tasks")
        task = os.path.join(tasks, "softmax_small")
        shutil.copytree(os.path.join(REPO, "tasks", "cpu", "softmax_rows"), task)
        path = os.path.join(task, "task.yaml")
        text = re.sub(r"bench: \{rows: \d+, cols: \d+\}", "bench: {rows: 256, cols: 1000}",
                      open(path).read())
        open(path, "w").write(text)
        runs = os.path.join(tmp, "runs")
        asyncio.run(session_checks(tmp, tasks, runs))
        # The session's programs are a run like any other: its store, and kforge report on it.
        run = os.path.join(runs, "mcp-softmax_small")
        db = sqlite3.connect(os.path.join(run, "run.sqlite"))
        verdicts = [v for (v,) in db.execute("SELECT verdict FROM candidates ORDER BY id")]
        check(verdicts == ["ok", "wrong_answer", "compile_error", "ok"],
              f"the run store holds the session's programs: {verdicts}")
        p = subprocess.run([KFORGE, "report", run, "--md"], capture_output=True, text=True)
        check(p.returncode == 0, f"kforge report on the session's run: {p.stderr.strip()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{0 if FAILURES else 1} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
