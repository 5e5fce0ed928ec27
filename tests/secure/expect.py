#!/usr/bin/env python3
"""Run a secure-mode bug program and check its exact outcome.

expect.py PROGRAM MODE abort "WORDS"   -> killed by SIGABRT, stderr has "mapalloc: " + WORDS + " at 0x"
expect.py PROGRAM MODE segv            -> killed by SIGSEGV (a guard page)
expect.py PROGRAM MODE exit0 "LINE"    -> exit status 0 and LINE on stdout

With EXPECT_SECURE_ENV=unset in the environment the program runs without
MAPALLOC_SECURE (a library built with secure mode as its default).
"""
import os
import signal
import subprocess
import sys


def main():
    prog, mode, want = sys.argv[1], sys.argv[2], sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else ""
    env = dict(os.environ, MAPALLOC_SECURE="1")
    if os.environ.get("EXPECT_SECURE_ENV") == "unset":
        env.pop("MAPALLOC_SECURE")
    r = subprocess.run([prog, mode], env=env, capture_output=True, text=True, timeout=120)
    got = f"status {r.returncode}, stdout {r.stdout.strip()!r}, stderr {r.stderr.strip()!r}"
    if want == "abort":
        ok = r.returncode == -signal.SIGABRT and any(
            line.startswith("mapalloc: " + arg + " at 0x") for line in r.stderr.splitlines())
    elif want == "segv":
        ok = r.returncode == -signal.SIGSEGV
    elif want == "exit0":
        ok = r.returncode == 0 and arg in r.stdout
    else:
        print("unknown expectation", want)
        return 2
    print(("PASS" if ok else "FAIL") + f": {mode}: expected {want} {arg!r}; got {got}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
