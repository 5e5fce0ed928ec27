#!/usr/bin/env python3
"""bench/run.py: run mapalloc's benchmark suite against glibc, jemalloc,
tcmalloc and mimalloc, and write bench/results/{results.md,results.csv,results.svg}.

Every workload is one process started with the allocator under test in
LD_PRELOAD (glibc: none). Allocators take turns in a rotated round-robin
order, several repetitions; each run's wall time is taken around the child
and its peak RSS is the child's ru_maxrss from os.wait4 (children included,
so gcc's cc1 counts). Every run's output is verified; a failed run is
reported with the exact command to reproduce it.

  python3 bench/run.py --build build            full run (about 10 minutes)
  python3 bench/run.py --build build --quick    about 2 minutes
  python3 bench/run.py --smoke --workload sqlite --alloc glibc   one tiny checked run

Standard library only, no network.
"""
import argparse
import csv
import datetime
import hashlib
import math
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LIBDIR = "/usr/lib/x86_64-linux-gnu"

# name -> (preload library or None, Debian package providing it)
PEERS = {
    "glibc": (None, "libc6"),
    "jemalloc": (LIBDIR + "/libjemalloc.so.2", "libjemalloc2"),
    "tcmalloc": (LIBDIR + "/libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
    "mimalloc": (LIBDIR + "/libmimalloc.so.2", "libmimalloc2.0"),
}
ALLOC_ORDER = ["glibc", "jemalloc", "tcmalloc", "mimalloc", "mapalloc"]
# Variants of mapalloc, only when named with --alloc (they are not peers):
# secure mode (same library, MAPALLOC_SECURE=1), transparent huge pages
# (MAPALLOC_HUGE_PAGES=1), MAP_HUGETLB pages (MAPALLOC_HUGETLB=1: normal pages
# where the pool, vm.nr_hugepages, has none free), and a build without the
# always-on checks (cmake -DMAPALLOC_HARDENING=OFF, --mapalloc-unhardened-lib).
VARIANT_ENV = {"mapalloc-secure": {"MAPALLOC_SECURE": "1"}, "mapalloc-thp": {"MAPALLOC_HUGE_PAGES": "1", "MAPALLOC_LARGE_THP": "1"},
               "mapalloc-hugetlb": {"MAPALLOC_HUGETLB": "1"}, "mapalloc-unhardened": {}}
COLORS = {"glibc": "#4e79a7", "jemalloc": "#f28e2b", "tcmalloc": "#59a14f",
          "mimalloc": "#b07aa1", "mapalloc": "#e15759", "mapalloc-secure": "#9c755f",
          "mapalloc-thp": "#edc948", "mapalloc-hugetlb": "#76b7b2", "mapalloc-unhardened": "#bab0ac"}
SMOKE_SKIP = 77  # ctest SKIP_RETURN_CODE: the program is not installed


# --------------------------------------------------------------------------
# Workloads


class Workload:
    """One benchmark: how to prepare its input, start it, and check its output."""

    name = ""
    models = ""
    real = False

    def available(self, ctx):
        return True

    def prepare(self, ctx):
        """Generate inputs (once per invocation, untimed)."""

    def command(self, ctx):
        """-> (argv, extra environment, stdin path or None, stdout path)."""
        raise NotImplementedError

    def verify(self, ctx, run):
        """-> None when the run's output is right, else the reason."""
        return None


class Synthetic(Workload):
    def __init__(self, name, models):
        self.name = name
        self.models = models

    def exe(self, ctx):
        return os.path.join(ctx.build, "bench", self.name)

    def available(self, ctx):
        return os.access(self.exe(ctx), os.X_OK)

    def command(self, ctx):
        argv = [self.exe(ctx), "--threads", str(ctx.threads)]
        argv += ["--tiny"] if ctx.tiny else ["--scale", "%g" % ctx.scale]
        return argv, {}, None, None

    def verify(self, ctx, run):
        m = re.search(r"^%s ok .*end_rss_kib=(\d+)" % self.name, run["stdout"], re.M)
        if not m:
            return "no '%s ok' line in its output" % self.name
        run["end_rss_kib"] = int(m.group(1))
        return None


class Python(Workload):
    name = "python"
    models = "python3 (PYTHONMALLOC=malloc) running bench/pywork.py: dicts, lists, strings, objects, json"
    real = True

    def interpreter(self):
        # Debian's interpreter, not a version-manager shim (a shell script).
        return "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

    def command(self, ctx):
        scale = 0.005 if ctx.tiny else ctx.scale
        argv = [self.interpreter(), os.path.join(HERE, "pywork.py"), "--scale", "%g" % scale]
        return argv, {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0",
                      "PYTHONDONTWRITEBYTECODE": "1"}, None, None

    def verify(self, ctx, run):
        return None if re.search(r"^pywork ok ", run["stdout"], re.M) else "no 'pywork ok' line"


class Sqlite(Workload):
    name = "sqlite"
    models = "sqlite3 CLI on an in-memory database: inserts, indexes, joins, group-by, updates, deletes"
    real = True

    def available(self, ctx):
        return shutil.which("sqlite3") is not None

    def prepare(self, ctx):
        rows = 200 if ctx.tiny else max(1000, int(120000 * ctx.scale))
        rng = random.Random(7)
        lines = ["PRAGMA cache_size=-200000;",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, payload TEXT);",
                 "BEGIN;"]
        data = []
        for i in range(1, rows + 1):
            name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 14)))
            grp = rng.randint(0, 99)
            payload = "p%d-" % i + "x" * rng.randint(0, 120)
            data.append((i, name, grp, payload))
            lines.append("INSERT INTO t VALUES(%d,'%s',%d,'%s');" % (i, name, grp, payload))
        lines += ["COMMIT;",
                  "CREATE INDEX t_name ON t(name);",
                  "CREATE INDEX t_grp ON t(grp);",
                  "CREATE TABLE g AS SELECT grp, count(*) AS n, sum(length(payload)) AS bytes FROM t GROUP BY grp;",
                  "SELECT count(*), sum(grp), sum(length(payload)) FROM t;",
                  "SELECT sum(g.n * t.grp) FROM t JOIN g ON g.grp = t.grp;",
                  "UPDATE t SET payload = payload || name WHERE id % 3 = 0;",
                  "DELETE FROM t WHERE grp % 10 = 7;",
                  "SELECT count(*), sum(length(payload)) FROM t;",
                  "SELECT count(DISTINCT name) FROM t;",
                  "SELECT name FROM t ORDER BY name, id LIMIT 3;",
                  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) "
                  "SELECT count(*), sum(length(s)) FROM (SELECT printf('%%08d-%%s', x * 7919 %% %d, hex(x)) AS s "
                  "FROM c ORDER BY s);" % (rows, rows + 13)]
        self.script = os.path.join(ctx.tmp, "sqlite.sql")
        with open(self.script, "w") as f:
            f.write("\n".join(lines) + "\n")
        # The expected output, computed here independently of sqlite.
        out = []
        out.append("%d|%d|%d" % (len(data), sum(d[2] for d in data), sum(len(d[3]) for d in data)))
        per_grp = {}
        for d in data:
            per_grp[d[2]] = per_grp.get(d[2], 0) + 1
        out.append("%d" % sum(per_grp[d[2]] * d[2] for d in data))
        kept = [(i, n, g, p + n if i % 3 == 0 else p) for i, n, g, p in data if g % 10 != 7]
        out.append("%d|%d" % (len(kept), sum(len(d[3]) for d in kept)))
        out.append("%d" % len(set(d[1] for d in kept)))
        out += [d[1] for d in sorted(kept, key=lambda d: (d[1], d[0]))[:3]]
        # sqlite's hex() encodes the integer's text, two digits per character.
        s_len = sum(len("%08d-" % (x * 7919 % (rows + 13))) + 2 * len(str(x)) for x in range(1, rows + 1))
        out.append("%d|%d" % (rows, s_len))
        self.expected = "\n".join(out) + "\n"

    def command(self, ctx):
        return ["sqlite3", "-batch", ":memory:"], {}, self.script, None

    def verify(self, ctx, run):
        if run["stdout"] != self.expected:
            return "output differs from the expected result:\n%s\nexpected:\n%s" % (
                run["stdout"][:2000], self.expected)
        return None


class Gcc(Workload):
    name = "gcc"
    models = "gcc -O2 compiling a generated C file (many functions, loops, switches, structs)"
    real = True

    def available(self, ctx):
        return shutil.which("gcc") is not None

    def prepare(self, ctx):
        nfuncs = 12 if ctx.tiny else max(20, int(100 * ctx.scale))
        rng = random.Random(3)
        src = ["/* generated by bench/run.py */", "#include <string.h>", ""]
        for i in range(nfuncs):
            k = [rng.randint(1, 97) for _ in range(8)]
            src.append("""
struct s%(i)d { int a[16]; long l; double d; const char *name; };
static int helper%(i)d(int x) { return (x * %(k0)d) ^ (x >> %(k1s)d) ^ %(k2)d; }
static void fill%(i)d(struct s%(i)d *s, int seed)
{
    for (int j = 0; j < 16; j++)
        s->a[j] = helper%(i)d(seed + j) %% %(k3)d;
    s->l = seed * %(k4)dL;
    s->d = seed / (double)%(k5)d;
    s->name = "s%(i)d";
}
int f%(i)d(const int *v, int n, char *out, int outlen)
{
    struct s%(i)d s;
    int acc = %(i)d;
    fill%(i)d(&s, n);
    for (int i = 0; i < n; i++) {
        switch ((v[i] + %(k6)d) %% 8) {
        case 0: acc += v[i] * 3; break;
        case 1: acc -= v[i] >> 1; break;
        case 2: acc ^= helper%(i)d(v[i]); break;
        case 3: acc += s.a[v[i] & 15]; break;
        case 4: s.a[i & 15] += acc; break;
        case 5: acc = acc * %(k7)d + 1; break;
        case 6: if (i + 1 < n) acc += v[i + 1] - v[i]; break;
        default: acc += (int)s.d; break;
        }
        for (int j = 0; j < 4; j++)
            if (acc > 100000 + j)
                acc = helper%(i)d(acc) %% 1000;
    }
    if (out && outlen > 0) {
        strncpy(out, s.name, (size_t)outlen - 1);
        out[outlen - 1] = 0;
    }
    return acc + (int)s.l + s.a[3];
}""" % dict(i=i, k0=k[0], k1s=k[1] % 13, k2=k[2], k3=k[3] + 1, k4=k[4], k5=k[5],
                k6=k[6], k7=k[7]))
        src.append("\nint (*const table[])(const int *, int, char *, int) = {")
        src.append(",\n".join("    f%d" % i for i in range(nfuncs)))
        src.append("};")
        self.source = os.path.join(ctx.tmp, "gcc_input.c")
        with open(self.source, "w") as f:
            f.write("\n".join(src) + "\n")
        self.output = os.path.join(ctx.tmp, "gcc_output.o")
        # The reference object, compiled without any preload: gcc's output is
        # deterministic, so every allocator must produce the same bytes.
        ref = os.path.join(ctx.tmp, "gcc_reference.o")
        subprocess.run(["gcc", "-O2", "-c", self.source, "-o", ref], check=True, env=ctx.base_env)
        self.reference = sha256(ref)

    def command(self, ctx):
        if os.path.exists(self.output):
            os.unlink(self.output)
        return ["gcc", "-O2", "-c", self.source, "-o", self.output], {}, None, None

    def verify(self, ctx, run):
        if not os.path.exists(self.output):
            return "no object file"
        if sha256(self.output) != self.reference:
            return "object file differs from the reference compiled without preload"
        return None


class Xz(Workload):
    name = "xz"
    models = "xz -T<threads> -3 (1 MiB blocks) compressing generated text-like data"
    real = True

    def available(self, ctx):
        return shutil.which("xz") is not None

    def prepare(self, ctx):
        size = (256 << 10) if ctx.tiny else max(1 << 20, int((5 << 20) * ctx.scale))
        rng = random.Random(11)
        words = ["".join(rng.choice("etaoinshrdlcumwfgypbvkjxqz") for _ in range(rng.randint(2, 9)))
                 for _ in range(5000)]
        weights = [1.0 / (r + 1) for r in range(len(words))]  # Zipf-like, as in text
        self.input = os.path.join(ctx.tmp, "xz_input.txt")
        with open(self.input, "w") as f:
            written = 0
            while written < size:
                line = " ".join(rng.choices(words, weights, k=4000)) + "\n"
                f.write(line)
                written += len(line)
        self.reference = sha256(self.input)
        self.output = os.path.join(ctx.tmp, "xz_output.xz")

    def command(self, ctx):
        # Blocks of 1 MiB so that every thread has work even on small inputs.
        return ["xz", "-T%d" % ctx.threads, "-3", "--block-size=1MiB", "-c", self.input], {}, None, \
            self.output

    def verify(self, ctx, run):
        p = subprocess.run(["xz", "-dc", self.output], stdout=subprocess.PIPE, env=ctx.base_env)
        if p.returncode != 0:
            return "xz -d failed on the output"
        if hashlib.sha256(p.stdout).hexdigest() != self.reference:
            return "decompressed output differs from the input"
        return None


WORKLOADS = [
    Synthetic("churn", "single-threaded churn: lists and search trees of small mixed objects, "
                       "built, thinned, verified and torn down (one independent worker per thread)"),
    Synthetic("server", "threads replacing blocks at random in a shared working set; most blocks "
                        "are freed by another thread than the one that allocated them (larson-like)"),
    Synthetic("prodcons", "producer/consumer pairs: one thread allocates messages, the other frees them"),
    Synthetic("falseshare", "objects allocated by one thread and written by another, then reused "
                            "(cache-scratch): cache-line sharing between threads"),
    Synthetic("bigrealloc", "large blocks 64 KiB..64 MiB, a realloc string builder, a doubling array"),
    Synthetic("memshape", "a large peak, 90% freed in random order across threads, then more work: "
                          "how much memory is given back (end RSS)"),
    Python(), Sqlite(), Gcc(), Xz(),
]


# --------------------------------------------------------------------------
# Running one process


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Context:
    pass


def run_once(ctx, workload, alloc):
    """Start the workload under `alloc` through spawn, wait for it, verify it.

    spawn (bench/spawn.c) forks and execs the command and reaps it with wait4:
    the peak RSS must come from a small parent, because Linux folds the
    high-water mark of the image a process replaced with execve into its
    ru_maxrss, and this Python runner is ~100 MiB. Without spawn, os.wait4 on
    a direct child is used and the peak includes the runner's size."""
    argv, extra_env, stdin_path, stdout_path = workload.command(ctx)
    env = dict(ctx.base_env)
    env.update(extra_env)
    env.update(VARIANT_ENV.get(alloc, {}))
    lib = ctx.libs[alloc]
    if lib:
        env["LD_PRELOAD"] = lib
    out_path = stdout_path or os.path.join(ctx.tmp, "stdout.txt")
    err_path = os.path.join(ctx.tmp, "stderr.txt")
    res_path = os.path.join(ctx.tmp, "spawn.txt")
    if os.path.exists(res_path):
        os.unlink(res_path)
    full = [ctx.spawn, res_path] + argv if ctx.spawn else argv
    with open(out_path, "wb") as out, open(err_path, "wb") as err, \
            open(stdin_path or os.devnull, "rb") as inp:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdin=inp, stdout=out, stderr=err, env=env,
                                start_new_session=True)
        timer = threading.Timer(ctx.timeout, kill_group, (proc.pid,))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped already; keep Popen quiet
    maxrss = usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    if ctx.spawn:
        try:
            fields = dict(kv.split("=") for kv in read_text(res_path).split())
            status = int(fields["status"])
            maxrss = int(fields["maxrss_kib"])
            wall = float(fields["wall_s"])
            cpu = float(fields["cpu_s"])
        except (OSError, KeyError, ValueError):
            pass  # spawn itself was killed (timeout): keep what wait4 said
    code = os.waitstatus_to_exitcode(status)
    run = {"wall_s": wall, "cpu_s": cpu, "maxrss_kib": maxrss, "exit": code,
           "end_rss_kib": "", "status": "ok", "reason": ""}
    run["stdout"] = "" if stdout_path else read_text(out_path)
    stderr = read_text(err_path)
    if code != 0:
        timed_out = wall >= ctx.timeout * 0.99
        run["status"] = "timeout" if timed_out else "fail"
        what = ("killed by signal %s" % signal.Signals(-code).name if code < 0
                else "exit status %d" % code)
        run["reason"] = "%s%s; stderr: %s" % (what, " after %.1f s" % wall if timed_out else "",
                                             stderr.strip()[-1500:])
    else:
        reason = workload.verify(ctx, run)
        if reason:
            run["status"], run["reason"] = "fail", reason + "; stderr: " + stderr.strip()[-500:]
    if run["status"] != "ok":
        envs = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(extra_env.items()))
        pre = "LD_PRELOAD=%s " % lib if lib else ""
        redirect = (" < " + stdin_path if stdin_path else "") + (" > " + stdout_path if stdout_path else "")
        run["repro"] = "%s%s%s%s" % (pre, envs + " " if envs else "", " ".join(map(shlex.quote, argv)),
                                     redirect)
    return run


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


# --------------------------------------------------------------------------
# Allocators


def ensure_peers(wanted):
    """Install the Debian packages of missing peers; drop the ones still missing."""
    missing = [a for a in wanted if a in PEERS and PEERS[a][0] and not os.path.exists(PEERS[a][0])]
    if missing:
        pkgs = [PEERS[a][1] for a in missing]
        print("installing peers: %s" % " ".join(pkgs), flush=True)
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        install = sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + pkgs
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.run(install, env=env).returncode != 0:
            # A fresh machine may have no package lists yet.
            subprocess.run(sudo + ["apt-get", "update", "-qq"], env=env)
            subprocess.run(install, env=env)
    kept = []
    for a in wanted:
        if a in PEERS and PEERS[a][0] and not os.path.exists(PEERS[a][0]):
            print("warning: %s is not installed (%s); skipping it" % (a, PEERS[a][1]), file=sys.stderr)
        else:
            kept.append(a)
    return kept


def package_version(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "not installed"


def mapalloc_version():
    p = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return "git " + p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "unknown"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def huge_pages_state():
    """THP mode and the hugetlb pool, as the huge-page variants depend on them."""
    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return "?"
    pool = {}
    for line in read("/proc/meminfo").splitlines():
        k, _, v = line.partition(":")
        if k in ("HugePages_Total", "HugePages_Free"):
            pool[k] = v.strip()
    thp = re.search(r"\[(\w+)\]", read("/sys/kernel/mm/transparent_hugepage/enabled"))
    return "THP %s; hugetlb pool %s pages of 2 MiB, %s free" % (
        thp.group(1) if thp else "?", pool.get("HugePages_Total", "?"), pool.get("HugePages_Free", "?"))


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d CPUs, %s, Linux %s" % (os.cpu_count() or 0, cpu, os.uname().release)


# --------------------------------------------------------------------------
# Callgrind: instructions per malloc+free pair


def callgrind(ctx, allocs):
    """-> {alloc: {loop: instructions per pair}} with the bump baseline as 'loop'."""
    probe = os.path.join(ctx.build, "bench", "fastpath")
    bump = os.path.join(ctx.build, "bench", "libbumpalloc.so")
    if not shutil.which("valgrind") or not os.access(probe, os.X_OK) or not os.path.exists(bump):
        print("callgrind: needs valgrind, %s and %s; skipped" % (probe, bump), file=sys.stderr)
        return None
    n = ctx.callgrind_n
    counts = {}
    for alloc in ["bump"] + allocs:
        lib = bump if alloc == "bump" else ctx.libs[alloc]
        counts[alloc] = {}
        for loop in ("same", "mixed"):
            ir = []
            for iters in (n, 2 * n):
                env = dict(ctx.base_env)
                env.update(VARIANT_ENV.get(alloc, {}))
                if lib:
                    env["LD_PRELOAD"] = lib
                p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                                    probe, loop, str(iters)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
                m = re.search(r"Collected : (\d+)", p.stderr)
                ir.append(int(m.group(1)) if m and p.returncode == 0 else None)
            per = (ir[1] - ir[0]) / n if None not in ir else None
            counts[alloc][loop] = per
            print("callgrind %-9s %-5s %s" % (alloc, loop, "%.1f Ir/pair" % per if per is not None
                                              else "failed"), flush=True)
    return counts


# --------------------------------------------------------------------------
# Statistics and reports


def median(xs):
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summarize(runs, workloads, allocs):
    """-> {(workload, alloc): {time, rss, end_rss, n, failed}}"""
    table = {}
    for w in workloads:
        for a in allocs:
            ok = [r for r in runs if r["workload"] == w and r["alloc"] == a and r["status"] == "ok"]
            bad = [r for r in runs if r["workload"] == w and r["alloc"] == a and r["status"] != "ok"]
            ends = [r["end_rss_kib"] for r in ok if r["end_rss_kib"] != ""]
            table[(w, a)] = {"time": median([r["wall_s"] for r in ok]),
                             "cpu": median([r["cpu_s"] for r in ok]),
                             "rss": median([r["maxrss_kib"] / 1024.0 for r in ok]),
                             "end_rss": median([e / 1024.0 for e in ends]) if ends else None,
                             "n": len(ok), "failed": len(bad)}
    return table


def ratio(x, ref):
    return x / ref if x is not None and ref else None


RUN_KEYS = {"time": lambda r: r["wall_s"], "cpu": lambda r: r["cpu_s"],
            "rss": lambda r: r["maxrss_kib"] / 1024.0}


def samples(runs, workloads, allocs, key):
    """-> {(workload, alloc): [the key's value of each successful repetition]}"""
    get = RUN_KEYS[key]
    out = {(w, a): [] for w in workloads for a in allocs}
    for r in runs:
        if r["status"] == "ok" and (r["workload"], r["alloc"]) in out:
            out[(r["workload"], r["alloc"])].append(get(r))
    return out


def bootstrap_geomeans(runs, workloads, peers, ref, key, rounds=2000, seed=1):
    """How sure a run is of each peer's geomean ratio to ref: the 5th and
    95th percentiles of the ratio over `rounds` resamplings. Each resampling
    draws every workload's repetitions again with replacement, the same
    repetitions for every allocator (the allocators of one repetition ran
    back to back, so a slow spell of the host hits them together), and takes
    the medians, as the report does. -> {peer: (low, high)}. Deterministic
    (fixed seed)."""
    get = RUN_KEYS[key]
    allocs = list(peers) + [ref]
    by_rep = {w: {} for w in workloads}  # workload -> rep -> alloc -> value
    for r in runs:
        if r["status"] == "ok" and r["workload"] in by_rep and r["alloc"] in allocs:
            by_rep[r["workload"]].setdefault(int(r["rep"]), {})[r["alloc"]] = get(r)
    reps = {w: sorted(d) for w, d in by_rep.items()}
    rng = random.Random(seed)
    got = {a: [] for a in peers}
    for _ in range(rounds):
        med = {}
        for w in workloads:
            if not reps[w]:
                continue
            drawn = [reps[w][rng.randrange(len(reps[w]))] for _ in reps[w]]
            for a in allocs:
                xs = [by_rep[w][i][a] for i in drawn if a in by_rep[w][i]]
                if xs:
                    med[(w, a)] = statistics.median(xs)
        for a in peers:
            g = geomean([ratio(med.get((w, a)), med.get((w, ref))) for w in workloads])
            if g is not None:
                got[a].append(g)
    out = {}
    for a, gs in got.items():
        if gs:
            gs.sort()
            out[a] = (gs[int(0.05 * (len(gs) - 1))], gs[int(0.95 * (len(gs) - 1))])
    return out


def spread(xs):
    """Largest over smallest repetition (1.00: all the same), or None."""
    return max(xs) / min(xs) if xs and min(xs) > 0 else None


def fmt(x, spec):
    return "—" if x is None else spec % x


def markdown(ctx, runs, table, workloads, allocs, ref, cg, failures):
    peers = [a for a in allocs if not a.startswith("mapalloc")]
    L = []
    L.append("# Benchmark results")
    L.append("")
    L.append("- Date: %s" % ctx.started.strftime("%Y-%m-%d %H:%M UTC"))
    L.append("- Machine: %s; load average %s at the start, %s at the end (other load "
             "distorts times)" % (machine(), ctx.load_start, loadavg()))
    L.append("- Run: `%s`; %s mode, %d repetitions, %d threads, scale %g, allocators in rotated "
             "round-robin order" % (ctx.cmdline, "quick" if ctx.quick else "full", ctx.reps,
                                    ctx.threads, ctx.scale))
    vers = []
    for a in allocs:
        if a.startswith("mapalloc"):
            lib = ctx.libs[a]
            built = datetime.datetime.fromtimestamp(os.path.getmtime(lib), datetime.timezone.utc)
            vers.append("%s %s built %s (repo at report time: %s)"
                        % (a, lib, built.strftime("%H:%M UTC"), mapalloc_version()))
        else:
            vers.append("%s %s (%s)" % (a, package_version(PEERS[a][1]), PEERS[a][1]))
    L.append("- Versions: " + "; ".join(vers))
    if any(a in ("mapalloc-thp", "mapalloc-hugetlb") for a in allocs):
        L.append("- Huge pages at the start: %s; at the end: %s (hugetlb pages are not in peak RSS)"
                 % (ctx.huge_start, huge_pages_state()))
    progs = ["python3.11", "sqlite3", "gcc-12", "xz-utils"]
    L.append("- Programs: " + "; ".join("%s %s" % (p, package_version(p)) for p in progs))
    L.append("")
    refname = ref
    L.append("Ratios are allocator / %s: above 1 means %s is faster (time) or leaner (RSS). "
             "`vs best peer` is %s / the best peer on that workload: below 1 means %s wins."
             % (refname, refname, refname, refname))
    L.append("")
    if os.path.exists(os.path.join(ctx.out, "results.svg")):
        L.append("![time and peak RSS ratios](results.svg)")
        L.append("")

    def section(title, key, spec):
        L.append("## " + title)
        L.append("")
        head = "| workload | " + " | ".join(allocs) + (" | %s vs best peer |" % ref if ref in allocs and peers else " |")
        L.append(head)
        L.append("|" + "---|" * (len(allocs) + 1 + (1 if ref in allocs and peers else 0)))
        for w in workloads:
            refv = table[(w, ref)][key] if ref in allocs else None
            cells = []
            for a in allocs:
                v = table[(w, a)][key]
                if v is None:
                    cells.append("FAIL" if table[(w, a)]["failed"] else "—")
                elif a == ref:
                    cells.append(spec % v)
                else:
                    cells.append("%s (%s)" % (spec % v, fmt(ratio(v, refv), "%.2f")))
            row = "| %s | %s |" % (w, " | ".join(cells))
            if ref in allocs and peers:
                best = [table[(w, a)][key] for a in peers if table[(w, a)][key] is not None]
                row += " %s |" % fmt(ratio(refv, min(best)) if best else None, "%.2f")
            L.append(row)
        cells = []
        for a in allocs:
            g = geomean([ratio(table[(w, a)][key], table[(w, ref)][key]) for w in workloads])
            cells.append("1.00" if a == ref else fmt(g, "%.2f"))
        row = "| **geomean ratio** | %s |" % " | ".join(cells)
        if ref in allocs and peers:
            row += " |"
        L.append(row)
        L.append("")

    if ref == "mapalloc" and peers:
        verdict(L, table, workloads, peers, runs)
    section("Wall time (median seconds, ratio to %s)" % ref, "time", "%.3f")
    section("Peak RSS (median MiB, ratio to %s)" % ref, "rss", "%.1f")
    L.append("CPU time (user + system) is less disturbed than wall time by other load on the "
             "machine; for the multi-threaded workloads it also counts spinning and lock waits.")
    L.append("")
    section("CPU time (median seconds, ratio to %s)" % ref, "cpu", "%.3f")
    L.append("## How much the repetitions vary (largest / smallest: wall time, peak RSS)")
    L.append("")
    L.append("One repetition can differ from another of the same cell by this much; a "
             "median of several moves less. How sure the geomeans are: the verdict's "
             "intervals.")
    L.append("")
    L.append("| workload | " + " | ".join(allocs) + " |")
    L.append("|" + "---|" * (len(allocs) + 1))
    by_key = {k: samples(runs, workloads, allocs, k) for k in ("time", "rss")}
    for w in workloads:
        L.append("| %s | %s |" % (w, " | ".join(
            "%s / %s" % (fmt(spread(by_key["time"][(w, a)]), "%.2f"), fmt(spread(by_key["rss"][(w, a)]), "%.2f"))
            for a in allocs)))
    L.append("")
    mem = [w for w in workloads if any(table[(w, a)]["end_rss"] is not None for a in allocs)]
    if "memshape" in mem:
        L.append("## Memory given back (memshape: RSS after the work, median MiB)")
        L.append("")
        L.append("| allocator | peak RSS | end RSS | end / peak |")
        L.append("|---|---|---|---|")
        for a in allocs:
            t = table[("memshape", a)]
            L.append("| %s | %s | %s | %s |" % (a, fmt(t["rss"], "%.1f"), fmt(t["end_rss"], "%.1f"),
                                               fmt(ratio(t["end_rss"], t["rss"]), "%.2f")))
        L.append("")
    if cg:
        L.append("## Fast path (callgrind, instructions per malloc+free pair)")
        L.append("")
        L.append("Difference between runs of bench/fastpath.c with N=%d and 2N iterations, divided by N; "
                 "the loop's own instructions (measured with a bump allocator preloaded) are subtracted "
                 "and shown in the first row. `same`: one 32-byte block malloc'd and freed; `mixed`: "
                 "1000 live blocks of 8..512 bytes, one replaced at random per step." % ctx.callgrind_n)
        L.append("")
        L.append("| allocator | same | mixed |")
        L.append("|---|---|---|")
        base = cg.get("bump", {})
        L.append("| (loop + bump baseline) | %s | %s |" % (fmt(base.get("same"), "%.1f"),
                                                         fmt(base.get("mixed"), "%.1f")))
        for a in allocs:
            if a not in cg:
                continue
            cells = []
            for loop in ("same", "mixed"):
                v, b = cg[a].get(loop), base.get(loop)
                cells.append(fmt(v - b if v is not None and b is not None else None, "%.1f"))
            L.append("| %s | %s |" % (a, " | ".join(cells)))
        L.append("")
    if failures:
        L.append("## Failures")
        L.append("")
        for f in failures:
            L.append("- **%s on %s** (%s): %s  " % (f["alloc"], f["workload"], f["status"],
                                                   f["reason"].replace("\n", " ")[:600]))
            L.append("  reproduce: `%s`" % f["repro"])
        L.append("")
    L.append("Raw runs: results.csv. What each workload models: docs/benchmarks.md.%s"
             % (" Profiles of the workloads mapalloc loses: analysis.md."
                if os.path.exists(os.path.join(ctx.out, "analysis.md")) else ""))
    L.append("")
    return "\n".join(L)


def verdict(L, table, workloads, peers, runs):
    """The targets of issue 3, checked on this run's medians, each with how
    sure the run is of the best peer's ratio (bootstrap_geomeans)."""
    L.append("## Verdict")
    L.append("")
    L.append("In brackets: the 90% interval of the best peer's geomean ratio when each "
             "workload's repetitions are drawn again at random, the same ones for every "
             "allocator (bootstrap, 2000 rounds). An interval that straddles 1.00 means "
             "this run cannot tell the two apart.")
    L.append("")
    for key, what, goal in (("time", "wall time", "ahead of every peer"),
                            ("cpu", "CPU time", "ahead of every peer"),
                            ("rss", "peak RSS", "at most the leanest peer")):
        g = {a: geomean([ratio(table[(w, a)][key], table[(w, "mapalloc")][key]) for w in workloads])
             for a in peers}
        g = {a: v for a, v in g.items() if v is not None}
        if not g:
            continue
        best = min(g, key=g.get)
        ok = g[best] >= 1.0
        lo, hi = bootstrap_geomeans(runs, workloads, [best], "mapalloc", key).get(best, (None, None))
        L.append("- %s: geomean %s (target: %s): best peer %s at %.2f of mapalloc [%s-%s]: **%s**"
                 % (what, "ratios " + ", ".join("%s %.2f" % (a, v) for a, v in g.items()), goal,
                    best, g[best], fmt(lo, "%.2f"), fmt(hi, "%.2f"), "met" if ok else "not met"))
    for key, what in (("time", "wall"), ("cpu", "CPU")):
        slow = []
        for w in workloads:
            m = table[(w, "mapalloc")][key]
            best = [(table[(w, a)][key], a) for a in peers if table[(w, a)][key] is not None]
            if m is not None and best and m > 1.25 * min(best)[0]:
                slow.append("%s (%.2fx %s)" % (w, m / min(best)[0], min(best)[1]))
            elif m is None:
                slow.append("%s (mapalloc failed)" % w)
        L.append("- workloads more than 1.25x slower (%s time) than their best peer: %s"
                 % (what, ", ".join(slow) if slow else "none"))
    L.append("")


def svg_chart(table, workloads, allocs, ref, title, runs=None):
    """Grouped bars of wall-time, CPU-time and peak-RSS ratios (allocator / ref), log scale;
    with runs, each bar has a whisker over its 90% bootstrap interval (bootstrap_geomeans
    on the one workload)."""
    others = [a for a in allocs if a != ref]
    whisker = {}
    if runs:
        for key in ("time", "cpu", "rss"):
            for w in workloads:
                for a, iv in bootstrap_geomeans(runs, [w], others, ref, key).items():
                    whisker[(w, a, key)] = iv
    panels = [("Wall time / %s (above 1: %s faster)" % (ref, ref), "time"),
              ("CPU time (user + system) / %s (above 1: %s cheaper)" % (ref, ref), "cpu"),
              ("Peak RSS / %s (above 1: %s leaner)" % (ref, ref), "rss")]
    vals = []
    for _, key in panels:
        for w in workloads:
            for a in others:
                r = ratio(table[(w, a)][key], table[(w, ref)][key])
                if r:
                    vals.append(r)
    lo = min(vals + [0.5])
    hi = max(vals + [2.0])
    lo_e, hi_e = math.floor(math.log2(lo)), math.ceil(math.log2(hi))
    W, left, right, top = 1000, 70, 20, 50
    ph, gap = 220, 60
    H = top + len(panels) * (ph + gap) + 30
    n = max(1, len(workloads))
    gw = (W - left - right) / n
    bw = gw * 0.8 / max(1, len(others))

    def y_of(v, y0):
        return y0 + ph * (hi_e - math.log2(v)) / (hi_e - lo_e)

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (W, H, W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="16" font-weight="bold">%s</text>' % (left, esc(title))]
    if whisker:
        out.append('<text x="%d" y="40" font-size="11" fill="#444">whiskers: 90%% bootstrap interval '
                   'of the ratio over the repetitions</text>' % left)
    lx = left + 430
    for i, a in enumerate(others):
        out.append('<rect x="%d" y="10" width="12" height="12" fill="%s"/>' % (lx + i * 110, COLORS.get(a, "#999")))
        out.append('<text x="%d" y="21">%s</text>' % (lx + i * 110 + 16, esc(a)))
    for p, (ptitle, key) in enumerate(panels):
        y0 = top + p * (ph + gap) + 20
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (left, y0 - 8, esc(ptitle)))
        for e in range(lo_e, hi_e + 1):
            y = y_of(2.0 ** e, y0)
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="%s"/>'
                       % (left, y, W - right, y, "#333" if e == 0 else "#ddd", "1.5" if e == 0 else "1"))
            label = ("%g" % 2.0 ** e) if e >= 0 else "1/%d" % 2 ** -e
            out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, y + 4, label))
        y1 = y_of(1.0, y0)
        for wi, w in enumerate(workloads):
            gx = left + wi * gw + gw * 0.1
            for ai, a in enumerate(others):
                r = ratio(table[(w, a)][key], table[(w, ref)][key])
                if not r:
                    continue
                y = y_of(min(max(r, 2.0 ** lo_e), 2.0 ** hi_e), y0)
                iv = whisker.get((w, a, key))
                out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.2f%s'
                           '</title></rect>' % (gx + ai * bw, min(y, y1), bw - 1, max(abs(y1 - y), 1),
                                                COLORS.get(a, "#999"), esc(w), esc(a), r,
                                                " (90%%: %.2f-%.2f)" % iv if iv else ""))
                if iv:
                    ya, yb = (y_of(min(max(v, 2.0 ** lo_e), 2.0 ** hi_e), y0) for v in iv)
                    xc = gx + ai * bw + (bw - 1) / 2
                    out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222" stroke-width="1"/>'
                               % (xc, ya, xc, yb))
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                       % (left + wi * gw + gw / 2, y0 + ph + 16, esc(w)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def update_readme(md):
    """Put the table into README.md between the bench markers, if it has them."""
    path = os.path.join(REPO, "README.md")
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return
    if begin not in text or end not in text:
        return
    body = md.replace("](results.svg)", "](bench/results/results.svg)").replace(
        "# Benchmark results\n", "")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + body + end + tail)


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=os.path.join(REPO, "build"), help="CMake build directory")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, smaller inputs (about 2 min)")
    ap.add_argument("--alloc", help="comma-separated subset of " + ",".join(ALLOC_ORDER) +
                    ", or the variants " + ",".join(VARIANT_ENV))
    ap.add_argument("--workload", help="comma-separated subset of " + ",".join(w.name for w in WORKLOADS))
    ap.add_argument("--reps", type=int, help="repetitions (default 7, --quick 3)")
    ap.add_argument("--threads", type=int, default=2, help="threads per workload (default 2)")
    ap.add_argument("--scale", type=float, help="work multiplier (default 1, --quick 0.5)")
    ap.add_argument("--callgrind", action="store_true", default=None,
                    help="measure fast-path instructions with callgrind (default in a full run)")
    ap.add_argument("--no-callgrind", dest="callgrind", action="store_false")
    ap.add_argument("--callgrind-n", type=int, default=200000, help="callgrind loop iterations N")
    ap.add_argument("--mapalloc-lib", help="libmapalloc.so to test (default BUILD/libmapalloc.so)")
    ap.add_argument("--mapalloc-unhardened-lib",
                    help="libmapalloc.so built with -DMAPALLOC_HARDENING=OFF, for --alloc ...,mapalloc-unhardened")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="output directory")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a run is killed")
    ap.add_argument("--smoke", action="store_true",
                    help="one tiny checked run per workload and allocator; no timing, no report")
    args = ap.parse_args()

    ctx = Context()
    ctx.build = os.path.abspath(args.build)
    ctx.quick = args.quick
    ctx.tiny = args.smoke
    ctx.threads = args.threads
    ctx.scale = args.scale if args.scale else (0.5 if args.quick else 1.0)
    ctx.reps = 1 if args.smoke else (args.reps or (3 if args.quick else 7))
    ctx.timeout = min(args.timeout, 60.0) if args.smoke else args.timeout
    ctx.out = os.path.abspath(args.out)
    ctx.tmp = os.path.join(ctx.out, "tmp")
    ctx.callgrind_n = args.callgrind_n
    ctx.spawn = os.path.join(ctx.build, "bench", "spawn")
    if not os.access(ctx.spawn, os.X_OK):
        print("warning: %s not built: peak RSS will include the runner's own" % ctx.spawn,
              file=sys.stderr)
        ctx.spawn = None
    ctx.started = datetime.datetime.now(datetime.timezone.utc)
    ctx.load_start = loadavg()
    ctx.huge_start = huge_pages_state()
    ctx.cmdline = "python3 bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    os.makedirs(ctx.tmp, exist_ok=True)
    # A clean environment for the children: no inherited preload or malloc tuning.
    ctx.base_env = {k: v for k, v in os.environ.items()
                    if k != "LD_PRELOAD" and not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "MIMALLOC_",
                                                                "JE_", "TCMALLOC_", "MAPALLOC_"))}

    allocs = args.alloc.split(",") if args.alloc else list(ALLOC_ORDER)
    for a in allocs:
        if a not in ALLOC_ORDER and a not in VARIANT_ENV:
            ap.error("unknown allocator %r" % a)
    names = args.workload.split(",") if args.workload else [w.name for w in WORKLOADS]
    workloads = []
    for n in names:
        match = [w for w in WORKLOADS if w.name == n]
        if not match:
            ap.error("unknown workload %r" % n)
        workloads.append(match[0])

    ctx.libs = {a: PEERS[a][0] for a in PEERS}
    mlib = args.mapalloc_lib or os.path.join(ctx.build, "libmapalloc.so")
    ctx.libs["mapalloc"] = os.path.abspath(mlib) if mlib != "none" else None
    for variant in ("mapalloc-secure", "mapalloc-thp", "mapalloc-hugetlb"):
        ctx.libs[variant] = ctx.libs["mapalloc"]
    ctx.libs["mapalloc-unhardened"] = os.path.abspath(args.mapalloc_unhardened_lib) if args.mapalloc_unhardened_lib else None
    if "mapalloc-unhardened" in allocs and not (ctx.libs["mapalloc-unhardened"] and os.path.exists(ctx.libs["mapalloc-unhardened"])):
        ap.error("mapalloc-unhardened needs --mapalloc-unhardened-lib (a -DMAPALLOC_HARDENING=OFF build)")
    if "mapalloc" in allocs and (not ctx.libs["mapalloc"] or not os.path.exists(ctx.libs["mapalloc"])):
        if args.smoke:
            print("mapalloc library %s not built; skipped" % mlib)
            return SMOKE_SKIP
        print("warning: %s not found; running without mapalloc" % mlib, file=sys.stderr)
        allocs.remove("mapalloc")
    allocs = ensure_peers(allocs)

    present = [w for w in workloads if w.available(ctx)]
    for w in workloads:
        if w not in present:
            print("warning: %s is not available (not built or not installed); skipped" % w.name,
                  file=sys.stderr)
    workloads = present
    if not workloads:
        return SMOKE_SKIP if args.smoke else 1

    for w in workloads:
        w.prepare(ctx)

    runs, failures = [], []
    broken = set()
    total = ctx.reps * len(workloads) * len(allocs)
    done = 0
    t_start = time.time()
    for rep in range(ctx.reps):
        for wi, w in enumerate(workloads):
            k = (rep + wi) % len(allocs)
            for order, a in enumerate(allocs[k:] + allocs[:k]):
                done += 1
                if (w.name, a) in broken:
                    continue
                r = run_once(ctx, w, a)
                r.update(rep=rep, workload=w.name, alloc=a, order=order)
                runs.append(r)
                line = "[%3d/%d] rep %d %-10s %-9s %7.3f s (cpu %7.3f s) %8.1f MiB" % (
                    done, total, rep, w.name, a, r["wall_s"], r["cpu_s"], r["maxrss_kib"] / 1024.0)
                if r["status"] != "ok":
                    line += "  %s: %s" % (r["status"].upper(), r["reason"][:300])
                    line += "\n    reproduce: " + r["repro"]
                    failures.append(r)
                    broken.add((w.name, a))
                print(line, flush=True)
    print("runs took %.0f s" % (time.time() - t_start))

    if args.smoke:
        return 1 if failures else 0

    do_cg = args.callgrind if args.callgrind is not None else not args.quick
    cg = callgrind(ctx, allocs) if do_cg else None

    names = [w.name for w in workloads]
    table = summarize(runs, names, allocs)
    ref = "mapalloc" if "mapalloc" in allocs else allocs[0]
    with open(os.path.join(ctx.out, "results.csv"), "w", newline="") as f:
        cols = ["rep", "order", "workload", "alloc", "wall_s", "cpu_s", "maxrss_kib", "end_rss_kib", "exit",
                "status", "reason"]
        wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        wr.writeheader()
        for r in runs:
            row = dict(r)
            row["wall_s"] = "%.4f" % r["wall_s"]
            row["cpu_s"] = "%.4f" % r["cpu_s"]
            row["reason"] = r["reason"].replace("\n", " ")[:300]
            wr.writerow(row)
    with open(os.path.join(ctx.out, "results.svg"), "w") as f:
        f.write(svg_chart(table, names, allocs, ref,
                          "mapalloc benchmarks, %s (%s)" % (ctx.started.strftime("%Y-%m-%d"),
                                                           "quick" if ctx.quick else "full"), runs))
    md = markdown(ctx, runs, table, names, allocs, ref, cg, failures)
    with open(os.path.join(ctx.out, "results.md"), "w") as f:
        f.write(md)
    if not any(a in VARIANT_ENV for a in allocs) and os.path.abspath(ctx.out) == os.path.join(HERE, "results"):
        update_readme(md)
    print()
    print(md)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
