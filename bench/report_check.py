#!/usr/bin/env python3
"""report_check.py: checks the statistics bench/run.py puts in its report
(the bootstrap interval of a geomean ratio, the repetitions' spread) on
made-up runs whose answers are known. No allocator is run.
Exit status: 0 when every check holds, 1 otherwise.
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("run", os.path.join(HERE, "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what)


def runs_of(table):
    """{(workload, alloc): [wall seconds by repetition]} -> run records (RSS = 100 MiB)."""
    out = []
    for (w, a), xs in table.items():
        for rep, x in enumerate(xs):
            out.append({"workload": w, "alloc": a, "rep": rep, "status": "ok",
                        "wall_s": x, "cpu_s": x, "maxrss_kib": 102400})
    return out


def interval(table, workloads, peer="peer"):
    return run.bootstrap_geomeans(runs_of(table), workloads, [peer], "mapalloc", "time")[peer]


# Identical repetitions: the interval is the point value itself.
lo, hi = interval({("a", "mapalloc"): [1.0] * 5, ("a", "peer"): [2.0] * 5,
                   ("b", "mapalloc"): [4.0] * 5, ("b", "peer"): [2.0] * 5}, ["a", "b"])
check(abs(lo - 1.0) < 1e-12 and abs(hi - 1.0) < 1e-12, "constant runs: geomean of 2 and 0.5 is 1, got %r-%r" % (lo, hi))

# Noise in the peer only: the interval holds the point estimate and stays
# within what its repetitions allow.
lo, hi = interval({("a", "mapalloc"): [1.0] * 7, ("a", "peer"): [1.5, 1.7, 1.9, 2.0, 2.1, 2.3, 2.5]}, ["a"])
check(1.5 <= lo <= 2.0 <= hi <= 2.5 and lo < hi, "noisy peer: interval %r-%r should hold 2.0 within 1.5-2.5" % (lo, hi))

# A slow spell that hits every allocator in the same repetition does not
# widen the interval: repetitions are drawn together for all allocators.
slow = [1.0, 1.0, 3.0, 1.0, 1.0, 3.0, 1.0]
lo, hi = interval({("a", "mapalloc"): slow, ("a", "peer"): [1.2 * x for x in slow]}, ["a"])
check(abs(lo - 1.2) < 1e-12 and abs(hi - 1.2) < 1e-12, "common slow spells: ratio 1.2 in every draw, got %r-%r" % (lo, hi))

# Deterministic: the report does not change from one rendering to the next.
t = {("a", "mapalloc"): [1.0, 1.1, 0.9], ("a", "peer"): [1.3, 1.0, 1.6]}
check(interval(t, ["a"]) == interval(t, ["a"]), "bootstrap is not deterministic")

# A failed repetition is left out, not counted as zero.
r = runs_of({("a", "mapalloc"): [1.0] * 3, ("a", "peer"): [2.0] * 3})
r.append({"workload": "a", "alloc": "peer", "rep": 3, "status": "timeout", "wall_s": 0.0, "cpu_s": 0.0,
          "maxrss_kib": 0})
lo, hi = run.bootstrap_geomeans(r, ["a"], ["peer"], "mapalloc", "time")["peer"]
check(abs(lo - 2.0) < 1e-12 and abs(hi - 2.0) < 1e-12, "failed run counted: %r-%r" % (lo, hi))

# The chart's whisker for a bar is the same interval, on that workload alone.
t = {("a", "mapalloc"): [1.0] * 3, ("a", "peer"): [2.0] * 3,
     ("b", "mapalloc"): [1.0, 1.0, 1.0], ("b", "peer"): [1.5, 2.0, 2.5]}
r = runs_of(t)
for x in r:
    x["end_rss_kib"] = ""
svg = run.svg_chart(run.summarize(r, ["a", "b"], ["peer", "mapalloc"]), ["a", "b"], ["peer", "mapalloc"],
                    "mapalloc", "check", r)
lo, hi = interval(t, ["b"])
check("a peer: 2.00 (90%: 2.00-2.00)" in svg, "chart: constant bar's whisker")
check("b peer: 2.00 (90%%: %.2f-%.2f)" % (lo, hi) in svg, "chart: noisy bar's whisker is its interval")

check(run.spread([2.0, 1.0, 4.0]) == 4.0, "spread of 1..4 is 4")
check(run.spread([]) is None, "spread of nothing is unknown")

if failures:
    sys.exit(1)
print("report statistics: all checks hold")
