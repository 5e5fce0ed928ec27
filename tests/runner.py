#!/usr/bin/env python3
"""runner.py: run one test program and state exactly what must come out.

  runner.py [options] -- PROGRAM ARGS...

  --env K=V            set an environment variable for the program (repeatable)
  --preload LIB        LD_PRELOAD=LIB for the program (not for this script)
  --timeout S          kill the program after S seconds (a hang is a failure)
  --limit-as MIB       run the program under an address-space limit (ulimit -v)
  --stdout-line RE     some line of stdout must match RE (repeatable, in any order)
  --expect-abort WORDS the program must die of SIGABRT, and stderr must hold a
                       line that starts with "mapalloc: " and contains WORDS
                       (several alternatives separated by "|"), "0x", and the
                       address the program announced on stdout as
                       "address: 0x..." just before the bad call.

Without --expect-abort the program must exit 0. Exit status: 0 when every
expectation holds, 1 otherwise (with the reason and the program's output).
"""
import argparse
import os
import re
import resource
import signal
import subprocess
import sys


def limits(address_space_mib):
    def apply():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if address_space_mib:
            n = address_space_mib << 20
            resource.setrlimit(resource.RLIMIT_AS, (n, n))
    return apply


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--preload")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--limit-as", type=int, default=0)
    ap.add_argument("--stdout-line", action="append", default=[])
    ap.add_argument("--expect-abort")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no program given")

    # Only the settings given here reach the allocator: none of the caller's
    # MAPALLOC_* variables (CI exports MAPALLOC_WERROR for the build).
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAPALLOC_")}
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    if a.preload:
        env["LD_PRELOAD"] = a.preload

    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=a.timeout, preexec_fn=limits(a.limit_as))
    except subprocess.TimeoutExpired as e:
        print(f"FAIL: {cmd[0]} still running after {a.timeout} s (hang or deadlock)")
        sys.stdout.write((e.stdout or b"").decode(errors="replace"))
        sys.stdout.write((e.stderr or b"").decode(errors="replace"))
        return 1
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    problems = []

    if a.expect_abort:
        if p.returncode != -signal.SIGABRT:
            how = (f"signal {signal.Signals(-p.returncode).name}" if p.returncode < 0
                   else f"exit status {p.returncode}")
            problems.append(f"expected death by SIGABRT, got {how}")
        m = re.search(r"^address: (0x[0-9a-f]+)$", out, re.M)
        if not m:
            problems.append('the program did not announce "address: 0x..." before the bad call')
        addr = m.group(1) if m else None
        words = a.expect_abort.split("|")
        lines = [l for l in err.splitlines() if l.startswith("mapalloc: ")]
        good = [l for l in lines
                if any(w in l for w in words) and "0x" in l
                and (addr is None or re.search(re.escape(addr) + r"\b", l))]
        if not good:
            problems.append(f'no stderr line "mapalloc: ..." naming {" or ".join(map(repr, words))} '
                            f"and the address {addr}; mapalloc lines: {lines}")
    elif p.returncode != 0:
        how = (f"signal {signal.Signals(-p.returncode).name}" if p.returncode < 0
               else f"exit status {p.returncode}")
        problems.append(f"{cmd[0]} ended with {how}")

    for rx in a.stdout_line:
        if not re.search(rx, out, re.M):
            problems.append(f"no line of stdout matches {rx!r}")

    sys.stdout.write(out)
    sys.stdout.write(err)
    if problems:
        for pr in problems:
            print("FAIL:", pr)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
