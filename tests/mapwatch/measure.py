#!/usr/bin/env python3
"""Overhead of mapwatch against strace on the same workload (mw_syscalls:
1,000,000 getppid calls and 40,000 mmap/munmap calls by default). Runs every
mode in turn, REPS times (alternating, so drift hits all modes alike), and
prints the median wall and CPU time of each as a Markdown table. CPU is user +
system time of tracer and program together (getrusage of the children).

    python3 tests/mapwatch/measure.py --build build [--reps 5] [--rounds 20000 --other 50]
        [--modes plain,mapwatch,strace-seccomp] [--cpu N] [--with-strace-k] [--baseline OTHER/mapwatch]

--baseline times another mapwatch binary (an older build, say) with callers,
in the same alternation.

--cpu N runs everything on CPU N only: tracer and program then never wake
each other across CPUs, which on a virtual machine costs more than the
tracing itself and varies with the scheduler's placement from run to run.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

MODES = ["plain", "mapwatch", "mapwatch-no-caller", "mapwatch-no-seccomp", "strace", "strace-seccomp", "strace-k"]


def mode_table(a):
    """(key, label, command) for each mode, in running order."""
    mw = os.path.join(a.build, "mapwatch")
    prog = [os.path.join(a.build, "tests", "mapwatch", "mw_syscalls"), str(a.rounds), str(a.other)]
    strace = shutil.which("strace")
    table = [
        ("plain", "plain", prog),
        ("mapwatch", "mapwatch (seccomp, callers, timeline to /dev/null)", [mw, "-o", "/dev/null", "--"] + prog),
        ("mapwatch-no-caller", "mapwatch --no-caller (seccomp)", [mw, "--no-caller", "-o", "/dev/null", "--"] + prog),
        ("mapwatch-no-seccomp", "mapwatch --no-seccomp --no-caller",
         [mw, "--no-seccomp", "--no-caller", "-o", "/dev/null", "--"] + prog),
    ]
    if strace:
        table += [
            ("strace", "strace -f -e trace=%memory", [strace, "-f", "-e", "trace=%memory", "-o", "/dev/null"] + prog),
            ("strace-seccomp", "strace --seccomp-bpf -f -e trace=%memory",
             [strace, "--seccomp-bpf", "-f", "-e", "trace=%memory", "-o", "/dev/null"] + prog),
            ("strace-k", "strace -k --seccomp-bpf -f -e trace=%memory",
             [strace, "-k", "--seccomp-bpf", "-f", "-e", "trace=%memory", "-o", "/dev/null"] + prog),
        ]
    return table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=20000)
    ap.add_argument("--other", type=int, default=50)
    ap.add_argument("--modes", default=",".join(m for m in MODES if m != "strace-k"),
                    help="comma-separated, from: " + ", ".join(MODES) + " (plain is always run)")
    ap.add_argument("--with-strace-k", action="store_true",
                    help="also time strace -k (a stack trace per call, like mapwatch's callers; slow)")
    ap.add_argument("--cpu", type=int, default=None, help="run tracers and programs on this CPU only")
    ap.add_argument("--baseline", help="another mapwatch binary to time like the default mode")
    a = ap.parse_args()
    wanted = set(a.modes.split(",")) | {"plain"} | ({"strace-k"} if a.with_strace_k else set())
    unknown = wanted - set(MODES)
    if unknown:
        print(f"unknown modes: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    modes = [m for m in mode_table(a) if m[0] in wanted]
    if a.baseline:
        prog = modes[0][2]
        modes.insert(2, ("baseline", f"baseline {a.baseline} (callers)", [a.baseline, "-o", "/dev/null", "--"] + prog))
    pin = (lambda: os.sched_setaffinity(0, {a.cpu})) if a.cpu is not None else None
    times = {key: [] for key, _, _ in modes}
    cpu = {key: [] for key, _, _ in modes}
    for rep in range(a.reps):
        for key, label, cmd in modes:
            u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pin)
            dt = time.monotonic() - t0
            u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            # tracer and tracee together (the tracer reaps the tracee)
            cpu[key].append(u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime)
            if r.returncode != 0:
                print(f"{label} failed with {r.returncode}: {' '.join(cmd)}", file=sys.stderr)
                return 1
            times[key].append(dt)
    base = statistics.median(times["plain"])
    cbase = statistics.median(cpu["plain"])
    mem_calls = 2 * a.rounds
    load = os.getloadavg()[0]
    where = f"all on CPU {a.cpu}" if a.cpu is not None else f"{os.cpu_count()} cores, unpinned"
    print(f"Workload: {a.rounds * a.other:,} getppid + {mem_calls:,} mmap/munmap calls; "
          f"median of {a.reps} alternating runs; {where}; load average {load:.1f} at the end.\n")
    print("| mode | wall (s) | vs plain | wall per memory call (us) | CPU, tracer + program (s) | CPU per memory call (us) |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, label, _ in modes:
        m = statistics.median(times[key])
        c = statistics.median(cpu[key])
        print(f"| {label} | {m:.3f} | {m / base:.2f}x | {(m - base) / mem_calls * 1e6:.1f} | {c:.3f} | "
              f"{(c - cbase) / mem_calls * 1e6:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
