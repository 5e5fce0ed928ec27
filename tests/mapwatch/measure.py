#!/usr/bin/env python3
"""Overhead of mapwatch against strace on the same workload (mw_syscalls:
1,000,000 getppid calls and 40,000 mmap/munmap calls by default). Runs every
mode in turn, REPS times (alternating, so drift hits all modes alike), and
prints the median wall time of each as a Markdown table.

    python3 tests/mapwatch/measure.py --build build [--reps 5] [--rounds 20000 --other 50]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=20000)
    ap.add_argument("--other", type=int, default=50)
    ap.add_argument("--with-strace-k", action="store_true",
                    help="also time strace -k (a stack trace per call, like mapwatch's callers; slow)")
    a = ap.parse_args()
    mw = os.path.join(a.build, "mapwatch")
    prog = [os.path.join(a.build, "tests", "mapwatch", "mw_syscalls"), str(a.rounds), str(a.other)]
    strace = shutil.which("strace")
    modes = [("plain", prog)]
    modes.append(("mapwatch (seccomp, callers, timeline to /dev/null)", [mw, "-o", "/dev/null", "--"] + prog))
    modes.append(("mapwatch --no-caller (seccomp)", [mw, "--no-caller", "-o", "/dev/null", "--"] + prog))
    modes.append(("mapwatch --no-seccomp --no-caller", [mw, "--no-seccomp", "--no-caller", "-o", "/dev/null", "--"] + prog))
    if strace:
        modes.append(("strace -f -e trace=%memory", [strace, "-f", "-e", "trace=%memory", "-o", "/dev/null"] + prog))
        modes.append(("strace --seccomp-bpf -f -e trace=%memory",
                      [strace, "--seccomp-bpf", "-f", "-e", "trace=%memory", "-o", "/dev/null"] + prog))
        if a.with_strace_k:
            modes.append(("strace -k --seccomp-bpf -f -e trace=%memory",
                          [strace, "-k", "--seccomp-bpf", "-f", "-e", "trace=%memory", "-o", "/dev/null"] + prog))
    times = {name: [] for name, _ in modes}
    cpu = {name: [] for name, _ in modes}
    for rep in range(a.reps):
        for name, cmd in modes:
            u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            dt = time.monotonic() - t0
            u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            # tracer and tracee together (the tracer reaps the tracee)
            cpu[name].append(u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime)
            if r.returncode != 0:
                print(f"{name} failed with {r.returncode}: {' '.join(cmd)}", file=sys.stderr)
                return 1
            times[name].append(dt)
    base = statistics.median(times["plain"])
    cbase = statistics.median(cpu["plain"])
    mem_calls = 2 * a.rounds
    load = os.getloadavg()[0]
    print(f"Workload: {a.rounds * a.other:,} getppid + {mem_calls:,} mmap/munmap calls; "
          f"median of {a.reps} alternating runs; {os.cpu_count()} cores; load average {load:.1f} at the end.\n")
    print("| mode | wall (s) | vs plain | wall per memory call (us) | CPU, tracer + program (s) | CPU per memory call (us) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, _ in modes:
        m = statistics.median(times[name])
        c = statistics.median(cpu[name])
        print(f"| {name} | {m:.3f} | {m / base:.2f}x | {(m - base) / mem_calls * 1e6:.1f} | {c:.3f} | "
              f"{(c - cbase) / mem_calls * 1e6:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
