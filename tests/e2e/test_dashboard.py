#!/usr/bin/env python3
"""Browser test of the dashboard (docs/dashboard.md): a real evolve run on the CPU backend (its
model is tests/e2e/scripted_model.py, a fake, named as such), served by `kforge serve`, opened in
headless Chromium (Debian's chromium and chromedriver) driven by Selenium (build/browser-venv,
scripts/browser_env).

usage: test_dashboard.py KFORGE_BIN REPO_ROOT [SCREENSHOT_DIR]

Checks that the run list, the status cards, the progress chart, the lineage (one dot per
candidate, the best's ancestry marked), the MAP-Elites grid, the roofline and a candidate page
(code, diff against its parent, prompt and reply, timings) render with the store's numbers; that
candidate code carrying HTML is shown as text and never runs; that a candidate written to the
store while the page is open appears without a reload; and that a directory that is not a run, a
store of another schema version and an unknown candidate id give clear errors, in the API and
on the page; and that `kforge report` of the run renders in the browser. Screenshots, and the
run's report as HTML and markdown, go to SCREENSHOT_DIR (default: a temporary directory).
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

KFORGE = REPO = ""
INJECTION = '</script><img src=x onerror="window.__pwned=1">'


def make_run(tmp):
    """An evolve run with two islands: faster programs, failures of several kinds, migrations."""
    task = small_softmax_task(REPO, tmp)
    start_file = evolvable_start(REPO, os.path.join(tmp, "start.c"))
    replies = [
        fenced_edit(TWO_EXPS, ONE_EXP, "Compute each exp once."),
        fenced_edit(SUM_LINE, f"    /* {INJECTION} */\n" + SUM_LINE, "A note for readers."),
        fenced_edit(SUM_LINE, "    float sum = 1.0f;\n", "Start the sum at one."),
        fenced_edit(SUM_LINE, "    float sum = 0.0f\n", "Tidy the declaration."),
        fenced_edit("    this line is not in the program\n", "\n", "Remove dead code."),
        fenced_edit(TWO_EXPS, ONE_EXP, "Compute each exp once."),
        fenced_edit(SUM_LINE, f"    /* {INJECTION} */\n" + SUM_LINE, "A note for readers."),
        fenced_edit(TWO_EXPS, ONE_EXP, "Compute each exp once."),
    ]
    model = write_replies(os.path.join(tmp, "model"), replies)
    config = os.path.join(tmp, "evolve.yaml")
    open(config, "w").write("optimize:\n  evolve: {islands: 2, migration_interval: 2}\n")
    run = os.path.join(tmp, "runs", "softmax-evolve")
    env = dict(os.environ, KFORGE_CACHE=os.path.join(tmp, "cache"))
    proc = subprocess.run(
        [KFORGE, "optimize", task, "--strategy", "evolve", "--start", start_file, "--config",
         config, "--llm", f"command:python3 {REPO}/tests/e2e/scripted_model.py {model}",
         "--budget-evals", "9", "--timing-seconds", "0.2", "--out", run],
        capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"kforge optimize failed: {proc.stderr[-2000:]}")
    return run


def broken_runs(tmp):
    """A directory that is not a run and a store of another schema version, served beside."""
    not_run = os.path.join(tmp, "runs", "notes")
    os.makedirs(not_run)
    open(os.path.join(not_run, "README"), "w").write("not a run\n")
    future = os.path.join(tmp, "runs", "future-run")
    os.makedirs(future)
    db = sqlite3.connect(os.path.join(future, "run.sqlite"))
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("CREATE TABLE candidates (id INTEGER PRIMARY KEY)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    db.commit()
    db.close()
    return not_run, future


class Checks:
    def __init__(self):
        self.failures = []

    def __call__(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            self.failures.append(what)


def main(argv):
    global KFORGE, REPO
    if len(argv) not in (3, 4):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    KFORGE, REPO = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        venv = os.path.join(os.path.dirname(KFORGE), "browser-venv", "bin", "python3")
        in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.dirname(os.path.dirname(venv)))
        if os.path.exists(venv) and not in_venv:
            os.execv(venv, [venv, os.path.abspath(__file__), *argv[1:]])
        print(f"FAIL: selenium is missing ({venv}): run scripts/browser_env")
        return 1
    tmp = tempfile.mkdtemp(prefix="kforge-dashboard-")
    shots = argv[3] if len(argv) == 4 else os.path.join(tmp, "screenshots")
    os.makedirs(shots, exist_ok=True)
    check = Checks()
    run = make_run(tmp)
    broken_runs(tmp)
    db = sqlite3.connect(os.path.join(run, "run.sqlite"))
    cands = db.execute("SELECT id, parent_id, verdict, speedup, island, code FROM candidates "
                       "ORDER BY id").fetchall()
    report = json.load(open(os.path.join(run, "report.json")))
    best_id, best_speedup = report["best"]["id"], report["best"]["speedup"]
    ok_count = sum(1 for c in cands if c[2] == "ok")
    migrations = db.execute("SELECT count(*) FROM migrations").fetchone()[0]
    db.close()
    print(f"run: {len(cands)} candidates, {ok_count} ok, best #{best_id} {best_speedup:.2f}x, "
          f"{migrations} migrations")

    runs_dir = os.path.join(tmp, "runs")
    server, url = start_serve(KFORGE, [runs_dir, os.path.join(runs_dir, "notes")])
    driver = None
    try:
        # The API's answers and errors.
        status, runs = get_json(url + "api/runs")
        by_id = {r["id"]: r for r in runs["runs"]}
        check(status == 200 and "softmax-evolve" in by_id, "/api/runs lists the run")
        check("not a kforge run" in by_id.get("notes", {}).get("error", ""),
              "a directory that is not a run is listed with the reason")
        check("schema version 99" in by_id.get("future-run", {}).get("error", ""),
              "a store of another schema version is listed with the reason")
        status, body = get_json(url + "api/runs/softmax-evolve/candidates/9999")
        check(status == 404 and "no candidate 9999" in body.get("error", ""),
              "an unknown candidate id is a 404 with a JSON error")
        status, body = get_json(url + "api/runs/future-run/summary")
        check(status == 409 and "schema version 99" in body.get("error", ""),
              "the other-schema run's API answers 409 naming the version")
        status, body = get_json(url + "api/runs/softmax-evolve/lineage?limit=x")
        check(status == 400 and "limit" in body.get("error", ""), "a bad parameter is a 400")

        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                  "--window-size=1400,1000"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or
                                                  "/usr/bin/chromedriver"), options=opts)
        driver.set_page_load_timeout(30)

        def load(hash_):
            driver.get(url + hash_)
            WebDriverWait(driver, 20).until(
                lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
            time.sleep(0.3)

        def shot(name, height=None):
            if height:
                driver.set_window_size(1400, height)
            driver.save_screenshot(os.path.join(shots, name))

        load("#/")
        rows = driver.find_elements(By.CSS_SELECTOR, "#runs tr")
        check(len(rows) == 4, f"the run list shows 3 entries ({len(rows) - 1})")
        check("schema version 99" in driver.find_element(By.ID, "runs").text,
              "the run list shows why a store cannot be read")
        shot("runs.png")

        load("#/run/softmax-evolve")
        evals = driver.find_element(By.ID, "stat-evals").text
        check(evals.splitlines()[1].startswith(str(len(cands))),
              f"the evaluations card shows {len(cands)} ({evals!r})")
        best_card = driver.find_element(By.ID, "stat-best-initial-program").text
        check(f"{best_speedup:.2f}x" in best_card and f"#{best_id}" in best_card,
              f"the best card shows #{best_id} at {best_speedup:.2f}x ({best_card!r})")
        dots = driver.find_elements(By.CSS_SELECTOR, "#chart-lineage circle.node")
        check(len(dots) == len(cands), f"the lineage has one dot per candidate ({len(dots)})")
        verdicts = sorted(d.get_attribute("data-verdict") for d in dots)
        check(verdicts == sorted(c[2] for c in cands), "the lineage's dots carry the verdicts")
        bold = driver.find_elements(By.CSS_SELECTOR, "#chart-lineage .best-edge")
        chain, parent = [], {c[0]: c[1] for c in cands}
        node = best_id
        while node:
            chain.append(node)
            node = parent.get(node) or 0
        check(len(bold) == len(chain) - 1, f"the best's ancestry is marked ({len(bold)} edges)")
        migr = driver.find_elements(By.CSS_SELECTOR, "#chart-lineage .migration")
        check(migrations == 0 or len(migr) > 0, f"migrations are drawn ({len(migr)})")
        steps = driver.find_elements(By.CSS_SELECTOR, "#chart-progress circle.node")
        check(steps and steps[-1].get_attribute("data-id") == str(best_id),
              "the progress chart ends at the best candidate")
        roof = driver.find_elements(By.CSS_SELECTOR, "#chart-roofline circle.node")
        check(len(roof) == ok_count, f"the roofline has every correct candidate ({len(roof)})")
        elites = driver.find_elements(By.CSS_SELECTOR, "#chart-grid rect.elite")
        check(len(elites) >= 1, f"the MAP-Elites grid shows elites ({len(elites)})")
        table = driver.find_elements(By.CSS_SELECTOR, "#candidates table tr")
        check(len(table) == len(cands) + 1, f"the candidate table lists them ({len(table) - 1})")
        shot("dashboard.png", 2200)
        driver.set_window_size(1400, 1000)

        # A candidate page: the fastest the model made (the best, unless timing noise on a busy
        # machine put the start program ahead), with its parent diff, prompt and reply.
        page_id, _, _, page_speedup, _, page_code = max(
            (c for c in cands if c[1] and c[2] == "ok"), key=lambda c: c[3])
        load(f"#/run/softmax-evolve/c/{page_id}")
        text = driver.find_element(By.ID, "main").text
        check(driver.find_element(By.ID, "cand-speedup").text == f"{page_speedup:.2f}x",
              f"the candidate page shows #{page_id}'s speedup")
        code_text = driver.find_element(By.CSS_SELECTOR, "pre.code").text
        check(code_text.strip() == page_code.strip(), "the code is shown exactly")
        added = driver.find_elements(By.CSS_SELECTOR, "pre.diff .diff-add")
        check("Diff against parent" in text and added, "the diff against the parent is shown")
        check("REPLACE" in driver.find_element(By.ID, "llm").text,
              "the prompt and the model's reply are shown")
        check(driver.find_elements(By.CSS_SELECTOR, "#timings tr"), "the timings are shown")
        shot("candidate.png", 2000)
        driver.set_window_size(1400, 1000)

        # Code that carries HTML is text: it shows, and nothing of it runs.
        injected = [c[0] for c in cands if INJECTION in c[5]]
        if injected:
            load(f"#/run/softmax-evolve/c/{injected[0]}")
            shown = INJECTION in driver.find_element(By.CSS_SELECTOR, "pre.code").text
            ran = driver.execute_script("return window.__pwned === 1")
            imgs = driver.find_elements(By.CSS_SELECTOR, "#main img")
            check(shown and not ran and not imgs, "HTML in candidate code is shown as text only")
        else:
            check(False, "no candidate carries the HTML injection (the run changed?)")

        load("#/run/softmax-evolve/c/9999")
        check("no candidate 9999" in driver.find_element(By.ID, "error").text,
              "an unknown candidate id shows an error page")
        load("#/run/future-run")
        check("schema version 99" in driver.find_element(By.ID, "error").text,
              "a store of another schema version shows an error page")

        # The shareable report of the same run renders in the browser, with no script.
        report_html = os.path.join(shots, "example_report.html")
        r = subprocess.run([KFORGE, "report", run, "--out", report_html], capture_output=True,
                           text=True, timeout=120)
        check(r.returncode == 0, f"kforge report writes the HTML report ({r.stderr.strip()})")
        driver.set_window_size(1400, 1000)
        driver.get("file://" + os.path.abspath(report_html))
        svgs = driver.find_elements(By.TAG_NAME, "svg")
        check(len(svgs) == 5 and all(s.size["width"] > 100 for s in svgs),
              f"the report's five charts render ({len(svgs)})")
        check(driver.find_element(By.ID, "best-speedup").text == f"{best_speedup:.2f}x",
              "the report shows the best speedup")
        check("finished" in driver.find_element(By.TAG_NAME, "body").text,
              "the report says the run finished")
        shot("report.png", 2400)
        r = subprocess.run([KFORGE, "report", run, "--md", "--out",
                            os.path.join(shots, "example_report", "report.md")],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"kforge report --md writes the markdown report ({r.stderr})")

        # Live: a candidate written while the page is open appears without a reload.
        load("#/run/softmax-evolve")
        db = sqlite3.connect(os.path.join(run, "run.sqlite"))
        db.execute("INSERT INTO candidates (at, parent_id, origin, strategy, round, island, code, "
                   "code_hash, verdict, feedback, result, params) VALUES (?, ?, 'llm', 'evolve', "
                   "99, 0, 'int x = ;', 'live-test', 'compile_error', '', '{}', '{}')",
                   (time.time(), best_id))
        db.commit()
        db.close()
        deadline = time.time() + 15
        seen = False
        while time.time() < deadline and not seen:
            time.sleep(0.5)
            try:
                seen = driver.find_element(By.ID, "stat-evals").text.splitlines()[1].startswith(
                    str(len(cands) + 1))
            except Exception:  # noqa: BLE001 (the page may be redrawing)
                pass
        check(seen, "a candidate added to the store shows up while the page is open")
    finally:
        if driver:
            driver.quit()
        server.terminate()
        server.wait(timeout=10)
    print(f"screenshots: {shots}")
    print("PASS" if not check.failures else f"{len(check.failures)} failures")
    return 0 if not check.failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
