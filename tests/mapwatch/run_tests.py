#!/usr/bin/env python3
"""mapwatch's end-to-end tests: each function is one promise, run by name from
CTest (`run_tests.py NAME`). Exit 0 = pass, 1 = fail, 77 = a facility the test
needs is missing (skipped)."""
import argparse
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PG = 4096
SKIP = 77


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def run_mw(args, json_out=None, timeout=240, **kw):
    cmd = [A.mapwatch] + (["--json", json_out] if json_out else []) + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    return p


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def calls(events, syscall=None, length=None, pid=None):
    out = [e for e in events if e["type"] == "syscall"]
    if syscall:
        out = [e for e in out if e["syscall"] == syscall]
    if length is not None:
        out = [e for e in out if e["length"] == length]
    if pid is not None:
        out = [e for e in out if e["pid"] == pid]
    return out


def one(events, what, **kw):
    found = calls(events, **kw)
    check(len(found) == 1, f"expected exactly one {what} ({kw}), found {len(found)}")
    return found[0]


def no_mismatch(events):
    bad = [e for e in events if e["type"] == "mismatch"]
    check(not bad, "model and kernel disagree: " + "; ".join(str(e["note"]) for e in bad[:5]))


def work(name):
    d = os.path.join(A.work, A.test, name)  # per test: CTest runs tests in parallel
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def layout_run(extra=()):
    d = work("layout" + "".join(extra).replace("-", "_"))
    j = os.path.join(d, "events.json")
    p = run_mw(list(extra) + ["--", os.path.join(A.bin, "mw_layout"), os.path.join(d, "file.dat")], j)
    check(p.returncode == 0, f"mw_layout under mapwatch exited {p.returncode}: {p.stderr[-2000:]}")
    return load(j), p


REQUIRED_KEYS = ["seq", "time", "pid", "tid", "syscall", "addr", "length", "prot", "flags", "path",
                 "new_length", "new_addr", "advice", "result", "errno", "wx", "caller", "kind"]


def t_layout_events():
    ev, p = layout_run()
    for e in ev:
        for k in REQUIRED_KEYS:
            check(k in e, f"event {e['seq']} lacks key {k}")
    check([e["seq"] for e in ev] == list(range(len(ev))), "seq is not 0,1,2,...")
    check(all(ev[i]["time"] <= ev[i + 1]["time"] for i in range(len(ev) - 1)), "time goes backwards")
    root = ev[0]["pid"]
    check(ev[0]["syscall"] == "exec", "the first event is not the exec")
    a = one(ev, "7-page mmap", syscall="mmap", length=7 * PG, pid=root)
    check(a["prot"] == "rw-" and a["flags"] == ["MAP_PRIVATE", "MAP_ANONYMOUS"], f"mmap decoded wrong: {a}")
    check(a["kind"] == "anon" and "new region" in a["change"] or "merged" in a["change"], f"mmap change: {a['change']}")
    check(a["caller"] and "main" in a["caller"] and "mw_layout.c" in a["caller"], f"caller: {a['caller']}")
    base = int(a["addr"], 16)
    mp = [e for e in calls(ev, "mprotect", pid=root) if int(e["addr"], 16) == base + 2 * PG]
    check(len(mp) == 1 and mp[0]["prot"] == "r--" and "split a region into 3" in mp[0]["change"], f"split: {mp}")
    mu = [e for e in calls(ev, "munmap", PG, root) if int(e["addr"], 16) == base + 5 * PG]
    check(mu and "hole punched" in mu[0]["change"], f"hole: {mu[:1]}")
    mr = one(ev, "mremap", syscall="mremap", length=3 * PG, pid=root)
    check(mr["new_length"] == 9 * PG and mr["new_addr"] and mr["flags"] == ["MREMAP_MAYMOVE"], f"mremap: {mr}")
    ma = [e for e in calls(ev, "madvise", 9 * PG, root)]
    check(len(ma) == 1 and ma[0]["advice"] == "MADV_DONTNEED" and ma[0]["addr"] == mr["new_addr"], f"madvise: {ma}")
    grow = [e for e in calls(ev, "brk", 64 * 1024, root) if e.get("delta") == 64 * 1024]
    shrink = [e for e in calls(ev, "brk", 64 * 1024, root) if e.get("delta") == -64 * 1024]
    check(len(grow) == 1 and grow[0]["kind"] == "heap" and "heap grows" in grow[0]["change"], f"brk grow: {grow}")
    check(len(shrink) == 1 and "heap shrinks" in shrink[0]["change"], f"brk shrink: {shrink}")
    f = [e for e in calls(ev, "mmap", 3 * PG, root) if e["path"]]
    check(len(f) == 1 and f[0]["path"].endswith("file.dat") and f[0]["flags"] == ["MAP_SHARED"], f"file mmap: {f}")
    sa = one(ev, "shmat", syscall="shmat", pid=root)
    check(sa["length"] == 5 * PG and sa["kind"] == "shared" and sa["path"].startswith("/SYSV"), f"shmat: {sa}")
    sd = one(ev, "shmdt", syscall="shmdt", pid=root)
    check(sd["addr"] == sa["addr"] and sd["length"] == 5 * PG, f"shmdt: {sd}")
    pk = one(ev, "pkey_mprotect", syscall="pkey_mprotect", pid=root)
    check(pk["addr"] == a["addr"] and pk["prot"] == "r--" and pk["result"] == 0, f"pkey_mprotect: {pk}")
    wx = [e for e in calls(ev, "mprotect", PG, root) if e["prot"] == "rwx"]
    check(len(wx) == 1 and wx[0]["wx"] is True, f"W+X mprotect: {wx}")
    check("mprotect makes written memory executable" in wx[0]["findings"], f"findings: {wx[0]['findings']}")
    rx = [e for e in calls(ev, "mprotect", PG, root) if e["prot"] == "r-x" and e["addr"] == wx[0]["addr"]]
    check(len(rx) == 1 and rx[0]["wx"] is False, f"r-x mprotect: {rx}")
    check([e for e in ev if e["syscall"] == "exit" and e["pid"] == root and e["result"] == 0], "no exit event")
    no_mismatch(ev)
    check("agree at every snapshot" in p.stderr and "W+X" in p.stderr, "summary lacks agreement or findings")


def t_thread_fork():
    ev, _ = layout_run()
    root = ev[0]["pid"]
    th = [e for e in ev if e["syscall"] == "thread"]
    check(len(th) == 1, f"thread events: {th}")
    t = one(ev, "thread mmap", syscall="mmap", length=11 * PG)
    check(t["pid"] == root and t["tid"] != root and t["space"] == ev[0]["space"], f"thread mmap: {t}")
    check("thread_main" in (t["caller"] or ""), f"thread caller: {t['caller']}")
    fk = [e for e in ev if e["syscall"] == "fork"]
    check(len(fk) == 1, f"fork events: {fk}")
    c = one(ev, "child mmap", syscall="mmap", length=13 * PG)
    check(c["pid"] != root and c["pid"] == c["tid"] and c["space"] != t["space"], f"child mmap: {c}")
    check([e for e in ev if e["syscall"] == "exit" and e["pid"] == c["pid"]], "child exit not recorded")


def t_exec():
    d = work("exec")
    j = os.path.join(d, "e.json")
    p = run_mw(["--", os.path.join(A.bin, "mw_exec")], j)
    check(p.returncode != 3, "a failed execve under mapwatch changed the program's r9")
    check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-1500:]}")
    ev = load(j)
    grown = [e for e in ev if e["syscall"] == "stack-growth" and "seen at exec" in (e["note"] or e.get("change") or "")]
    check(grown, "the old address space was not compared with the kernel's at the execve")
    ex = [e for e in ev if e["syscall"] == "exec"]
    check(len(ex) == 2 and ex[0]["pid"] == ex[1]["pid"] and ex[0]["space"] != ex[1]["space"], f"exec events: {ex}")
    a = one(ev, "17-page mmap", syscall="mmap", length=17 * PG)
    b = one(ev, "19-page mmap", syscall="mmap", length=19 * PG)
    check(a["seq"] < ex[1]["seq"] < b["seq"], "events out of order around exec")
    check(a["space"] == ex[0]["space"] and b["space"] == ex[1]["space"], "calls not in the right address space")
    no_mismatch(ev)


def t_killed():
    d = work("killed")
    j = os.path.join(d, "k.json")
    p = run_mw(["--", os.path.join(A.bin, "mw_die")], j)
    check(p.returncode == 128 + signal.SIGABRT, f"exit status {p.returncode}, expected {128 + signal.SIGABRT}")
    check("killed by SIGABRT" in p.stderr, "no report of the signal")
    ev = load(j)
    one(ev, "23-page mmap", syscall="mmap", length=23 * PG)
    check([e for e in ev if e["syscall"] == "exit" and "SIGABRT" in (e["note"] or "")], "no exit event")


def wait_file(path, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path) and open(path).read().strip():
            return open(path).read().strip()
        time.sleep(0.02)
    raise Fail(f"{path} never appeared")


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def t_attach_detach():
    d = work("attach")
    pidf, count = os.path.join(d, "pid"), os.path.join(d, "count")
    sleeper = subprocess.Popen([os.path.join(A.bin, "mw_sleeper"), pidf, count])
    try:
        pid = int(wait_file(pidf))
        j = os.path.join(d, "a.json")
        mw = subprocess.Popen([A.mapwatch, "--json", j, "-p", str(pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        # A second tracer is refused: a clear error, nothing traced.
        p2 = run_mw(["-p", str(pid)], timeout=30)
        check(p2.returncode != 0 and "not allowed" in p2.stderr, f"second attach: {p2.returncode} {p2.stderr}")
        mw.send_signal(signal.SIGINT)
        err = mw.communicate(timeout=30)[1]
        check(mw.returncode == 0, f"mapwatch exited {mw.returncode}: {err[-1500:]}")
        check("seccomp" in err and "detaching" in err, "no notice about seccomp or detaching")
        ev = load(j)
        maps = calls(ev, "mmap", 29 * PG, pid)
        check(len(maps) >= 5, f"only {len(maps)} of the sleeper's mmaps recorded in 1 s")
        check(all(e["errno"] is None for e in maps), "a traced call failed")
        th = [e for e in calls(ev, "mmap", 41 * PG, pid) if e["tid"] != pid]
        check(len(th) >= 5, f"only {len(th)} mmaps of the second thread recorded: not all threads attached")
        check(ev[0]["syscall"] == "attach" and ev[-1]["syscall"] == "detach", "no attach/detach events")
        no_mismatch(ev)
        n1 = int(wait_file(count))
        time.sleep(0.5)
        n2 = int(wait_file(count))
        check(sleeper.poll() is None, "the program died after detach")
        check(n2 > n1, "the program stopped making progress after detach")
        check(proc_state(pid) not in ("t", "T"), "the program was left stopped")
        status = open(f"/proc/{pid}/status").read()
        check("TracerPid:\t0" in status, "still traced after detach")
    finally:
        sleeper.kill()
        sleeper.wait()


def t_stop_cont():
    """Job control passes through: SIGSTOP stops the traced program (all its
    threads), SIGCONT resumes it; a SIGTERM kills it and mapwatch reports
    128+15 and still writes its outputs."""
    d = work("stopcont")
    pidf, count = os.path.join(d, "pid"), os.path.join(d, "count")
    j = os.path.join(d, "s.json")
    mw = subprocess.Popen([A.mapwatch, "-q", "--json", j, "--", os.path.join(A.bin, "mw_sleeper"), pidf, count],
                          stderr=subprocess.PIPE, text=True)
    try:
        pid = int(wait_file(pidf))
        wait_file(count)
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.3)
        n1 = int(wait_file(count))
        time.sleep(0.4)
        n2 = int(wait_file(count))
        check(n1 == n2, f"the program kept running after SIGSTOP ({n1} -> {n2})")
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.4)
        n3 = int(wait_file(count))
        check(n3 > n2, "the program did not resume after SIGCONT")
        os.kill(pid, signal.SIGTERM)
        err = mw.communicate(timeout=30)[1]
    finally:
        if mw.poll() is None:
            mw.kill()
    check(mw.returncode == 128 + signal.SIGTERM, f"exit status {mw.returncode}, expected 143")
    check("killed by SIGTERM" in err, "the signal was not reported")
    ev = load(j)
    check(len(calls(ev, "mmap", 29 * PG)) >= 5 and len(calls(ev, "mmap", 41 * PG)) >= 5, "events missing")
    no_mismatch(ev)


def t_no_aslr():
    """--no-aslr gives the same addresses on every run."""
    def first_map(extra):
        ev, _ = layout_run(extra)
        return one(ev, "7-page mmap", syscall="mmap", length=7 * PG)["addr"]
    a, b = first_map(["--no-aslr"]), first_map(["--no-aslr"])
    check(a == b, f"addresses differ with --no-aslr: {a} {b}")
    if open("/proc/sys/kernel/randomize_va_space").read().strip() != "0":
        c = first_map([])
        check(c != a, "the address is the same with randomisation on: --no-aslr proves nothing")


def t_bad_input():
    d = work("bad")
    j = os.path.join(d, "x.json")
    p = run_mw(["--", "/nonexistent/program"], j)
    check(p.returncode != 0 and "cannot run" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
          f"missing program: {p.returncode} {p.stderr!r}")
    check(not os.path.exists(j), "an output was left for a program that never ran")
    p = run_mw(["--", "no-such-program-mapwatch"])
    check(p.returncode != 0 and "cannot run" in p.stderr, f"not on PATH: {p.stderr!r}")
    p = run_mw(["-p", "4194303"])
    check(p.returncode != 0 and "no process" in p.stderr, f"bad pid: {p.stderr!r}")
    p = run_mw(["-p", "abc"])
    check(p.returncode != 0 and "not a process id" in p.stderr, f"bad pid text: {p.stderr!r}")
    marker = os.path.join(d, "ran")
    p = run_mw(["--", "/bin/sh", "-c", f"touch {marker}"], "/nonexistent-dir/x.json")
    check(p.returncode != 0 and "cannot write" in p.stderr, f"unwritable output: {p.stderr!r}")
    check(not os.path.exists(marker), "the program ran although the output was unwritable")
    p = run_mw([])
    check(p.returncode != 0, "no program accepted")


def t_model_python():
    py = shutil.which("python3")
    if not py:
        return SKIP
    d = work("python")
    j = os.path.join(d, "p.json")
    code = "import json,mmap;x=[bytearray(200000) for _ in range(50)];m=mmap.mmap(-1,1<<20);m[0]=1;del x;print(json.dumps(1))"
    p = run_mw(["-q", "--", py, "-c", code], j)
    check(p.returncode == 0, f"python exited {p.returncode}: {p.stderr[-1500:]}")
    ev = load(j)
    check(len(calls(ev)) > 50, "too few calls recorded for python")
    no_mismatch(ev)
    check("agree at every snapshot" in p.stderr, "summary does not report agreement")


def t_model_gcc():
    cc = shutil.which("gcc")
    if not cc:
        return SKIP
    d = work("gcc")
    src = os.path.join(d, "hello.c")
    with open(src, "w") as f:
        f.write('#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n')
    j = os.path.join(d, "g.json")
    p = run_mw(["-q", "--no-caller", "--", cc, "-O1", "-o", os.path.join(d, "hello"), src], j)
    check(p.returncode == 0, f"gcc exited {p.returncode}: {p.stderr[-1500:]}")
    ev = load(j)
    pids = {e["pid"] for e in ev if e["syscall"] == "exec"}
    check(len(pids) >= 3, f"expected gcc, cc1, as, ld... got {len(pids)} exec'ing processes")
    no_mismatch(ev)
    check(subprocess.run([os.path.join(d, "hello")], capture_output=True, text=True).stdout == "hi\n",
          "the compiled program does not work")


def t_allocator_channel():
    d = work("alloc")
    j = os.path.join(d, "f.json")
    p = run_mw(["--", os.path.join(A.bin, "mw_fakealloc")], j)
    check(p.returncode == 0, f"fake allocator exited {p.returncode} (3 = MAPALLOC_EVENT_FD not set)")
    ev = load(j)
    m = one(ev, "large mmap", syscall="mmap", length=31 * PG)
    check(m["allocator_reason"] == "large", f"mmap reason: {m['allocator_reason']}")
    a = one(ev, "purge", syscall="madvise", length=31 * PG)
    check(a["allocator_reason"] == "purge", f"madvise reason: {a['allocator_reason']}")
    g = [e for e in calls(ev, "mprotect", PG) if e["addr"] == m["addr"]]
    check(len(g) == 1 and g[0]["allocator_reason"] == "guard", f"guard: {g}")
    u = one(ev, "munmap", syscall="munmap", length=31 * PG)
    check(u["allocator_reason"] == "large", f"munmap reason: {u['allocator_reason']}")
    r = one(ev, "over-sized region mmap", syscall="mmap", length=74 * PG)
    check(r["allocator_reason"] == "region", f"trimmed region reason: {r['allocator_reason']}")
    others = [e for e in calls(ev) if e["allocator_reason"] and e["length"] not in (31 * PG, 74 * PG) and e not in g]
    check(not others, f"reasons given to calls the allocator did not make: {others[:3]}")
    p = run_mw(["--no-allocator-channel", "--", os.path.join(A.bin, "mw_fakealloc")])
    check(p.returncode == 3, "--no-allocator-channel still set the variable")


def t_fast_walks():
    """Callers come from a stack walk on unwind rules cached per PC; with
    MAPWATCH_CHECK_WALK=1 each such walk is also made by libdwfl, and the two
    must agree frame for frame, on programs with threads, forks, execs,
    libraries loaded at run time, and on mapalloc."""
    env = dict(os.environ, MAPWATCH_CHECK_WALK="1")
    d = work("walks")
    runs = [[os.path.join(A.bin, "mw_layout"), os.path.join(d, "file.dat")], [os.path.join(A.bin, "mw_exec")]]
    py = shutil.which("python3")
    if py:
        runs.append([py, "-c", "import json, decimal, ctypes; x = [bytearray(300000) for _ in range(20)]"])
    if A.mapalloc and os.path.exists(A.mapalloc):
        tour = os.path.normpath(os.path.join(A.bin, "..", "..", "examples", "layout-tour"))
        runs.append(["env", "LD_PRELOAD=" + A.mapalloc, tour])
    for prog in runs:
        p = run_mw(["-q", "--"] + prog, env=env)
        check(p.returncode == 0, f"{prog[0]} exited {p.returncode}: {p.stderr[-800:]}")
        m = re.search(r"walks: (\d+) fast, (\d+) by libdwfl, (\d+) fast walks differing", p.stderr)
        check(m, f"no walk statistics for {prog[0]}")
        check(int(m.group(3)) == 0, f"{prog[0]}: fast walks differ from libdwfl's: " +
              "; ".join(l for l in p.stderr.splitlines() if "differs" in l)[:800])
        check(int(m.group(1)) > int(m.group(2)), f"{prog[0]}: most walks were not fast: {m.group(0)}")


def t_own_sigsys():
    """A program's own seccomp traps (SIGSYS), execve's included, reach its
    handler once each with its registers, although mapwatch traps execve too."""
    prog = os.path.join(A.bin, "mw_sigsys")
    plain = subprocess.run([prog])
    check(plain.returncode == 0, f"mw_sigsys fails even without mapwatch: {plain.returncode}")
    p = run_mw(["-q", "--", prog], timeout=60)
    check(p.returncode == 0, f"under mapwatch the program's traps went wrong (exit {p.returncode}): {p.stderr[-800:]}")


def t_int80():
    """A 32-bit system call (int $0x80) from a 64-bit program is not followed
    but runs as without mapwatch (libseccomp's filter would kill it)."""
    prog = os.path.join(A.bin, "mw_int80")
    plain = subprocess.run([prog], capture_output=True, text=True)
    if plain.returncode == 77:
        print("skipped: the kernel has no 32-bit emulation")
        return SKIP
    check(plain.returncode == 0, f"mw_int80 fails even without mapwatch: {plain.returncode}")
    p = run_mw(["-q", "--", prog], timeout=60)
    check(p.returncode == 0, f"under mapwatch the int $0x80 call went wrong (exit {p.returncode}): {p.stderr[-800:]}")


def summary(text):
    """The summary section of a timeline, without what differs between runs."""
    part = text[text.index("== mapwatch summary =="):]
    return re.sub(r"over [0-9.]+ s", "over T s", re.sub(r"\[\d+\]|process \d+", "P", part))


def t_long_timeline():
    """A run with only a timeline keeps a bounded window of events, yet its
    summary (counts, findings) and the allocator's reasons are what a run
    that keeps every event gives."""
    d = work("long")
    prog = [os.path.join(A.bin, "mw_syscalls"), "6000", "1", "wx"]
    short = run_mw(["--no-aslr", "-o", os.path.join(d, "t.txt"), "--"] + prog)
    full = run_mw(["--no-aslr", "-o", os.path.join(d, "f.txt"), "--"] + prog, os.path.join(d, "f.json"))
    check(short.returncode == 0 and full.returncode == 0, f"mw_syscalls exited {short.returncode}/{full.returncode}")
    t, f = (open(os.path.join(d, n)).read() for n in ("t.txt", "f.txt"))
    counted = re.search(r"(\d+) memory calls in (\d+) events", t)
    check(counted and int(counted.group(1)) > 12000, "summary does not count the 12000 calls: " + summary(t)[:200])
    check(re.search(r"#\d+ P mmap 0x[0-9a-f]+\+4096: writable and executable", summary(t)),
          "the W+X finding from the run's start is not in the summary")
    check(summary(t) == summary(f), "summaries differ with and without --json:\n" + summary(t) + "\n" + summary(f))
    p = run_mw(["-o", os.path.join(d, "a.txt"), "--", os.path.join(A.bin, "mw_fakealloc"), "6000"])
    a = open(os.path.join(d, "a.txt")).read()
    check(p.returncode == 0, f"mw_fakealloc exited {p.returncode}")
    for reason in ("'large'", "'purge'", "'guard'", "'region'"):
        check(f"was mapalloc's {reason}" in a, f"reason {reason} not joined after 12000 events")
    check("5 lines, 0 not matched" in a, "side-channel lines left unmatched: " + a[a.index("== mapwatch summary"):])


def t_snapshot_diff():
    d = work("snap")
    pidf, count = os.path.join(d, "pid"), os.path.join(d, "count")
    sleeper = subprocess.Popen([os.path.join(A.bin, "mw_sleeper"), pidf, count])
    try:
        pid = int(wait_file(pidf))
        a, b = os.path.join(d, "a.txt"), os.path.join(d, "b.txt")
        p = subprocess.run([A.mapwatch, "snapshot", str(pid), "-o", a], capture_output=True, text=True)
        check(p.returncode == 0, f"snapshot failed: {p.stderr}")
        text = open(a).read()
        for kind in ("text", "stack", "vdso"):
            check(f" {kind} " in text, f"snapshot lacks a {kind} region")
        check("mw_sleeper" in text and "RSS" in text, "snapshot lacks the program or RSS")
        p = subprocess.run([A.mapwatch, "diff", a, a], capture_output=True, text=True)
        check(p.returncode == 0 and "0 regions changed" in p.stdout, f"diff of a snapshot with itself: {p.stdout}")
        subprocess.run([A.mapwatch, "snapshot", str(os.getpid()), "-o", b], check=True)
        p = subprocess.run([A.mapwatch, "diff", a, b], capture_output=True, text=True)
        check(p.returncode == 1 and "\n+ " in "\n" + p.stdout and "\n- " in "\n" + p.stdout, "diff shows no change")
        p = subprocess.run([A.mapwatch, "snapshot", "4194303"], capture_output=True, text=True)
        check(p.returncode != 0 and "no such process" in p.stderr, f"bad pid: {p.stderr}")
    finally:
        sleeper.kill()
        sleeper.wait()


def t_no_seccomp():
    ev1, _ = layout_run()
    ev2, p = layout_run(["--no-seccomp"])
    check("every system call" in p.stderr, "summary does not say every call stopped")

    def sig(ev):
        root = ev[0]["pid"]
        return [(e["syscall"], e["length"], e["prot"]) for e in calls(ev, pid=root) if e["caller"] and "mw_layout.c" in e["caller"]]
    check(sig(ev1) == sig(ev2) and len(sig(ev1)) > 15, "seccomp and plain tracing recorded different calls")


def render(h):
    """The page as headless chromium leaves it after its scripts ran."""
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    profile = tempfile.mkdtemp(prefix="mw-chrome-")
    try:
        r = subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync", "--no-first-run",
                            f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", "file://" + h],
                           capture_output=True, text=True, timeout=240)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    check(r.returncode == 0 and "<svg" in r.stdout, f"chromium did not render: {r.returncode} {r.stderr[-800:]}")
    check('data-ready="1"' in r.stdout, "the page's script did not run to the end")
    return r.stdout


def t_html_chromium():
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        print("chromium not installed")
        return SKIP
    d = work("html")
    h = os.path.join(d, "report.html")
    p = run_mw(["-q", "--html", h, "--", os.path.join(A.bin, "mw_layout"), os.path.join(d, "f.dat")])
    check(p.returncode == 0, f"mapwatch failed: {p.stderr[-1000:]}")
    html = open(h).read()
    check("http://" not in html.replace("http://www.w3.org", "") and "https://" not in html, "the page refers to the network")
    check("<link" not in html and "src=" not in html, "the page loads other files")
    dom = render(h)
    bands = dom.count('class="band ')
    check(bands > 20, f"only {bands} bands drawn")
    rows = len(re.findall(r'<tr class="ev[ "]', dom))
    nev = html.count('"seq":')
    check(rows == nev and rows > 40, f"{rows} event rows for {nev} events")
    check('class="fold"' in dom, "no folded address gap drawn")
    check('class="ev finding' in dom and 'm-finding' in dom, "findings not marked")
    check(dom.count('<svg id="space-') == 2, "expected one picture for the program and one for its fork child")
    check("events, " in dom and "bands drawn" in dom, "the script's status line is missing")


def t_html_thousands():
    """A page for a program with thousands of events still renders whole."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return SKIP
    d = work("html_big")
    h = os.path.join(d, "big.html")
    p = run_mw(["-q", "--no-caller", "--html", h, "--", os.path.join(A.bin, "mw_syscalls"), "2500", "1"])
    check(p.returncode == 0, f"mapwatch failed: {p.stderr[-1000:]}")
    html = open(h).read()
    nev = html.count('"seq":')
    check(nev > 5000, f"only {nev} events")
    dom = render(h)
    rows = len(re.findall(r'<tr class="ev[ "]', dom))
    check(rows == nev, f"{rows} event rows for {nev} events")
    check(dom.count('class="band ') > 2500, "bands missing")


def t_tour():
    tour = os.path.join(os.path.dirname(A.bin.rstrip("/")), "..", "examples", "layout-tour")
    tour = os.path.normpath(os.path.join(A.bin, "..", "..", "examples", "layout-tour"))
    if not os.path.exists(tour):
        return SKIP
    d = work("tour")
    j = os.path.join(d, "t.json")
    p = run_mw(["--", tour], j)
    check(p.returncode == 0, f"tour exited {p.returncode}: {p.stderr[-1500:]}")
    ev = load(j)
    big = [e for e in calls(ev, "mmap") if e["length"] >= 1 << 20 and e["caller"] and "malloc in main" in e["caller"]]
    check(big and "layout-tour.c:" in big[0]["caller"], "the large malloc is not attributed to main")
    check([e for e in ev if "mprotect makes written memory executable" in e["findings"]], "no W^X finding")
    no_mismatch(ev)


def t_tour_mapalloc():
    """The tour on mapalloc: everything is mmap, and each call carries the
    allocator's reason from the side channel."""
    if not A.mapalloc or not os.path.exists(A.mapalloc):
        return SKIP
    tour = os.path.normpath(os.path.join(A.bin, "..", "..", "examples", "layout-tour"))
    d = work("tour_mapalloc")
    j = os.path.join(d, "t.json")
    env = dict(os.environ, LD_PRELOAD=A.mapalloc)
    p = run_mw(["--", tour], j, env=env)
    check(p.returncode == 0, f"tour on mapalloc exited {p.returncode}: {p.stderr[-1500:]}")
    ev = load(j)
    check(not calls(ev, "brk", 128 * 1024), "mapalloc grew the brk heap")
    large = [e for e in calls(ev, "mmap") if e["allocator_reason"] == "large"]
    check(large and large[0]["length"] >= 1 << 20, f"no 'large' mapping for the 1 MiB malloc: {large[:1]}")
    # malloc may tail-call its slow path and leave no frame: the call site names it.
    check((large[0]["caller"] or "").startswith("malloc in main at layout-tour.c:"),
          f"large block not attributed to malloc in main: {large[0]['caller']}")
    check("unmatched" not in p.stderr and "0 not matched" in p.stderr, "side-channel lines left unmatched")
    no_mismatch(ev)


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--mapwatch", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--mapalloc", default="")
    ap.add_argument("test")
    A = ap.parse_args()
    fn = globals().get("t_" + A.test)
    if not fn:
        print(f"no test {A.test}")
        return 2
    try:
        r = fn()
    except Fail as e:
        print(f"FAIL {A.test}: {e}")
        return 1
    if r == SKIP:
        print(f"SKIP {A.test}")
        return SKIP
    print(f"PASS {A.test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
