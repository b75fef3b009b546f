#!/usr/bin/env python3
"""A scripted stand-in for a model (a fake, named as such), for tests that need exact replies:
served through kforge's `command` provider, it prints recorded replies in order.

usage (as an LLM spec): command:python3 scripted_model.py DIR

DIR holds the replies as 01.md, 02.md, ... When DIR has subdirectories instead, each call
answers from the first one whose name occurs in the prompt (a suite's tasks, each with its own
replies), else from DIR itself. Each call reads the prompt from stdin, appends it to
DIR/prompts.log, and prints the next reply (the last one again once they run out). DIR/calls
counts the calls. SCRIPTED_MODEL_DELAY (seconds) makes each call slower.
"""

import fcntl
import os
import sys
import time


def main():
    d = sys.argv[1]
    prompt = sys.stdin.read()
    for sub in sorted(os.listdir(d)):
        if os.path.isdir(os.path.join(d, sub)) and sub in prompt:
            d = os.path.join(d, sub)
            break
    replies = sorted(f for f in os.listdir(d) if f.endswith(".md") and f[:2].isdigit())
    counter = os.path.join(d, "calls")
    with open(os.path.join(d, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent calls each take the next reply
        n = int(open(counter).read()) if os.path.exists(counter) else 0
        with open(os.path.join(d, "prompts.log"), "a") as log:
            log.write(f"=== call {n + 1}\n{prompt}\n")
        with open(counter + ".tmp", "w") as f:
            f.write(str(n + 1))
        os.replace(counter + ".tmp", counter)
    time.sleep(float(os.environ.get("SCRIPTED_MODEL_DELAY", "0")))
    with open(os.path.join(d, replies[min(n, len(replies) - 1)])) as f:
        sys.stdout.write(f.read())


if __name__ == "__main__":
    main()
