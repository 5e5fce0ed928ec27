#!/usr/bin/env python3
"""nobrk.py: under LD_PRELOAD=libmapalloc.so no program ever moves the program
break. Each program runs under `strace -f -e trace=brk`; the only brk call
allowed is brk(NULL), the dynamic loader's query of the initial break (one per
exec). The programs: heap_growth (which also checks that the [heap] mapping
does not grow), and real ones: python3 (PYTHONMALLOC=malloc), perl, sqlite3.

The detector is checked too: heap_growth on glibc's malloc must show brk calls
that move the break, and must fail its own [heap] check.

  nobrk.py --lib build/libmapalloc.so --heap-growth PATH
Exit status 0 on success, 1 on a failure, 77 when strace is missing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

BRK = re.compile(r"\bbrk\((.*?)\)")

PY_SCRIPT = "d={}\nfor i in range(200000): d[str(i)*3]=[i]*(i%7)\nprint(len(d))\n"
PERL_SCRIPT = 'my %h; for my $i (1..200000) { $h{"k$i"} = [($i) x ($i % 7)]; } print scalar(keys %h), "\\n";'
SQL = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<100000) "
       "SELECT count(*), sum(length(printf('%.*c', x % 300, 'y'))) FROM c;")


def traced(cmd, env_extra, preload):
    """Run cmd under strace; return (returncode, stdout, [brk arguments])."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "trace")
        st = ["strace", "-f", "-qq", "-e", "trace=brk", "-o", out]
        if preload:
            st += ["-E", "LD_PRELOAD=" + preload]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAPALLOC_")}
        env.pop("LD_PRELOAD", None)
        env.update(env_extra)
        p = subprocess.run(st + cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        with open(out) as f:
            calls = [m.group(1) for m in map(BRK.search, f) if m]
    return p.returncode, p.stdout.decode(errors="replace"), calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--heap-growth", required=True)
    a = ap.parse_args()
    if not shutil.which("strace"):
        print("SKIP: strace is not installed")
        return 77
    lib = os.path.abspath(a.lib)
    failures = []

    # The detector sees brk on glibc: heap_growth fails there, strace shows the break moving.
    rc, out, calls = traced([a.heap_growth], {"TEST_ALLOW_OTHER_MALLOC": "1"}, None)
    moved = [c for c in calls if c != "NULL"]
    if rc == 0 or not moved:
        failures.append(f"control run on glibc: heap_growth exit {rc}, brk calls {calls}: "
                        "the checks would not see a brk heap")

    programs = [("heap_growth", [a.heap_growth], {})]
    py = shutil.which("python3")
    if py:
        programs.append(("python3", [os.path.realpath(py), "-c", PY_SCRIPT], {"PYTHONMALLOC": "malloc"}))
    if shutil.which("perl"):
        programs.append(("perl", ["perl", "-e", PERL_SCRIPT], {}))
    if shutil.which("sqlite3"):
        programs.append(("sqlite3", ["sqlite3", ":memory:", SQL], {}))
    for name, cmd, env in programs:
        rc, out, calls = traced(cmd, env, lib)
        moved = [c for c in calls if c != "NULL"]
        print(f"{name}: exit {rc}, brk calls: {calls}")
        if rc != 0:
            failures.append(f"{name} under mapalloc exited {rc}: {out}")
        if moved:
            failures.append(f"{name} under mapalloc called brk to move the break: {moved}")
        if not calls:
            failures.append(f"{name}: strace recorded no brk at all (not even the loader's brk(NULL))")
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else "")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
