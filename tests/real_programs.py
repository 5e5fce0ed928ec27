#!/usr/bin/env python3
"""real_programs.py: real programs give byte-for-byte the same output on
mapalloc (LD_PRELOAD=libmapalloc.so) as on glibc's malloc.

  real_programs.py --lib build/libmapalloc.so PROGRAM

PROGRAM is one of: python, sqlite3, gcc, perl, git, xz, sort. Each case is a list
of commands run in a fresh directory with generated input; the transcript
(every command's stdout, stderr and exit status, and the checksums of the
files it produced) of the glibc run and of the mapalloc run must be
identical. The mapalloc run must really have used mapalloc (checked through
/proc/self/maps of a process started the same way).
Exit status: 0 identical, 1 different, 77 the program is not installed.
"""
import argparse
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

# --- Generated inputs --------------------------------------------------------

PY_SCRIPT = r'''
import collections, hashlib, json, re
# Dicts, lists, strings, tuples and big integers, built and torn down.
d = {}
for i in range(120000):
    d["key%d" % i] = [i, str(i) * (i % 13), (i, i * i)]
for i in range(0, 120000, 3):
    del d["key%d" % i]
blob = json.dumps(d, sort_keys=True)
back = json.loads(blob)
print(len(d), len(blob), json.dumps(back, sort_keys=True) == blob, hashlib.sha256(blob.encode()).hexdigest())
words = re.findall(r"[a-z]+\d*", blob)
c = collections.Counter(w[:4] for w in words)
print(sorted(c.items())[:20])
f = 1
for i in range(1, 3000):
    f *= i
print(f.bit_length(), f % 1000000007, len(str(f % 10**4000)))
s = sorted((str(x)[::-1] for x in range(200000)), key=lambda x: (len(x), x))
print(s[:5], s[-5:], hashlib.md5("".join(s).encode()).hexdigest())
chunks = [bytes(range(i % 256)) * (i % 50) for i in range(20000)]
print(sum(map(len, chunks)), hashlib.sha1(b"".join(chunks)).hexdigest())
class Node:
    __slots__ = ("v", "next")
    def __init__(self, v, nxt): self.v, self.next = v, nxt
head = None
for i in range(200000):
    head = Node(i, head)
total = 0
while head:
    total += head.v
    head = head.next
print(total)
# Threads: dicts built in four threads, handed to the main thread, freed there.
import queue, threading
q = queue.Queue()
sizes = [0] * 4
def work(k):
    d = {i: (str(i * (k + 1)) * 3, [i] * (i % 5)) for i in range(60000)}
    sizes[k] = sum(len(v[0]) for v in d.values())
    q.put(d)
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
got = [q.get() for _ in range(4)]
print(sizes, sorted(len(g) for g in got))
del got
'''

PERL_SCRIPT = r'''
use strict; use warnings;
my %h; my @a;
for my $i (1..150000) {
    $h{"k$i"} = join(",", map { $_ * $i } 1 .. ($i % 11));
    push @a, sprintf("%07d-%s", ($i * 7919) % 1000003, "x" x ($i % 17));
}
delete $h{"k$_"} for grep { $_ % 3 == 0 } 1 .. 150000;
my @sorted = sort @a;
print scalar(keys %h), " ", $sorted[0], " ", $sorted[-1], "\n";
my $text = join(" ", map { $h{$_} } sort keys %h);
my %count;
$count{$1}++ while $text =~ /(\d\d)/g;
print join(" ", map { "$_=$count{$_}" } (sort keys %count)[0..9]), "\n";
my @nested = map { [ map { { n => $_, s => "v$_" } } 1 .. ($_ % 20) ] } 1 .. 20000;
my $sum = 0;
for my $row (@nested) { $sum += $_->{n} for @$row; }
print "$sum ", length($text), "\n";
(my $copy = $text) =~ s/(\d+)/<$1>/g;
print length($copy), " ", substr($copy, 1000, 60), "\n";
'''


def sqlite_script():
    s = ["PRAGMA journal_mode=DELETE;",
         "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, payload BLOB);",
         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<60000) "
         "INSERT INTO t SELECT x, (x*7919)%1009, printf('name-%d-%s', x, substr('abcdefghijklmnopqrstuvwxyz', 1+x%26)), "
         "zeroblob(x%700) FROM c;",
         "CREATE INDEX t_k ON t(k);",
         "CREATE TABLE u AS SELECT k, count(*) AS n, sum(length(payload)) AS bytes, group_concat(id) AS ids "
         "FROM t GROUP BY k;",
         "SELECT count(*), sum(n), sum(bytes), sum(length(ids)) FROM u;",
         "SELECT k, n, substr(ids, 1, 40) FROM u ORDER BY n DESC, k LIMIT 15;",
         "SELECT t.k, count(*), max(length(t.name)) FROM t JOIN u ON u.k = t.k WHERE t.id % 7 = 0 "
         "GROUP BY t.k ORDER BY 2 DESC, 1 LIMIT 10;",
         "SELECT id, name, sum(length(payload)) OVER (ORDER BY id ROWS BETWEEN 50 PRECEDING AND CURRENT ROW) "
         "FROM t WHERE id % 1000 = 1;",
         "UPDATE t SET name = name || '-updated' WHERE k < 300;",
         "DELETE FROM t WHERE id % 5 = 0;",
         "VACUUM;",
         "SELECT count(*), sum(length(name)), total(k) FROM t;",
         "SELECT name FROM t ORDER BY name DESC LIMIT 5;"]
    for i in range(200):
        s.append(f"INSERT INTO t(k, name, payload) VALUES ({i}, '{'row' * (i % 40)}', randomblob(0));")
    s.append("SELECT count(*), max(id) FROM t;")
    return "\n".join(s) + "\n"


def c_program():
    """A C file with many functions for gcc -O2 to chew on."""
    out = ["#include <stdio.h>", "#include <string.h>"]
    n = 400
    for i in range(n):
        out.append(f"""
static unsigned long f{i}(unsigned long x) {{
    unsigned long acc = {i * 2654435761 % 4294967291}ul;
    char buf[{16 + i % 64}];
    for (int j = 0; j < {3 + i % 17}; j++) {{
        switch ((x + j) % {2 + i % 7}) {{
        case 0: acc = acc * 31 + x; break;
        case 1: acc ^= acc >> {1 + i % 13}; break;
        default: acc += (x << {i % 11}) | j; break;
        }}
        buf[j % sizeof(buf)] = (char)acc;
    }}
    return acc + (unsigned long)buf[0] + {"f%d(x / 3)" % (i - 1) if i else "0"};
}}""")
    out.append("int main(void) {\n    unsigned long s = 0;")
    for i in range(0, n, 7):
        out.append(f"    s += f{i}({i}ul); printf(\"%lu\\n\", s);")
    out.append("    return 0;\n}")
    return "\n".join(out) + "\n"


def xz_input(path):
    """8 MiB, part text-like, part noisy: compresses, but not trivially."""
    with open(path, "wb") as f:
        x = 12345
        for block in range(128):
            words = []
            for i in range(6000):
                x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
                words.append(("w%x" % (x >> 52)) if block % 3 else ("%016x" % x))
            data = (" ".join(words) + "\n").encode()
            f.write(data[:65536].ljust(65536, b"."))


# --- Cases: name -> (required programs, setup(dir), commands) ----------------

def case_python(d, py):
    with open(os.path.join(d, "work.py"), "w") as f:
        f.write(PY_SCRIPT)
    return [[py, "work.py"]], {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"}, []


def case_sqlite3(d, _):
    with open(os.path.join(d, "script.sql"), "w") as f:
        f.write(sqlite_script())
    return [["sqlite3", "-batch", "-init", "/dev/null", "db.sqlite", ".read script.sql"],
            ["sqlite3", "-batch", "-init", "/dev/null", "db.sqlite", "PRAGMA integrity_check;"]], {}, []


def case_gcc(d, _):
    with open(os.path.join(d, "gen.c"), "w") as f:
        f.write(c_program())
    return [["gcc", "-O2", "-c", "gen.c", "-o", "gen.o"],
            ["gcc", "-O2", "gen.o", "-o", "gen"],
            ["./gen"]], {}, ["gen.o"]


def case_perl(d, _):
    with open(os.path.join(d, "work.pl"), "w") as f:
        f.write(PERL_SCRIPT)
    return [["perl", "work.pl"]], {"PERL_HASH_SEED": "0", "PERL_PERTURB_KEYS": "0"}, []


def case_git(d, _):
    os.makedirs(os.path.join(d, "repo", "src"))
    script = r'''
set -e
cd repo
git init -q -b main .
for c in 1 2 3 4 5 6; do
  for i in $(seq 1 120); do
    seq $((i * c)) $((i * c + 200 + i)) | sed "s/^/line $c $i /" > src/file$i.txt
  done
  if [ $c -gt 3 ]; then git rm -q -f src/file$((c * 7)).txt; fi
  git add -A
  git commit -q -m "commit $c: regenerate files"
done
git log --stat --format='%H %an %ad %s' | head -400
git diff HEAD~3 HEAD | head -3000
git diff --stat HEAD~5 HEAD
git gc -q
git fsck --no-progress --strict 2>&1
git rev-list --all --objects | sort
git show HEAD:src/file50.txt | tail -5
git log --format=%H | wc -l
'''
    env = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
           "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
           "HOME": d, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "TZ": "UTC"}
    with open(os.path.join(d, "run.sh"), "w") as f:
        f.write(script)
    return [["sh", "run.sh"]], env, []


def case_xz(d, _):
    xz_input(os.path.join(d, "data"))
    # Compress with two threads, decompress with two threads, compare.
    return [["sh", "-c", "xz -T2 -3 --block-size=1MiB -c data > data.xz && xz -T2 -d -c data.xz > back && "
                         "cmp data back && xz -l data.xz"]], {}, ["data.xz", "back"]


def case_sort(d, _):
    with open(os.path.join(d, "lines"), "w") as f:
        x = 1
        for i in range(400000):
            x = (x * 48271) % 2147483647
            f.write("%x %d %s\n" % (x, i, "z" * (x % 23)))
    return [["sh", "-c", "sort --parallel=2 -S 16M lines | sha256sum && sort -n -k2 -r --parallel=2 lines | head -3"]], {}, []


CASES = {
    "python": (["python3"], case_python),
    "sqlite3": (["sqlite3"], case_sqlite3),
    "gcc": (["gcc", "as", "ld"], case_gcc),
    "perl": (["perl"], case_perl),
    "git": (["git", "sed", "seq"], case_git),
    "xz": (["xz"], case_xz),
    "sort": (["sort", "sha256sum"], case_sort),
}


def find_python():
    # The real interpreter, not a version manager's shell shim.
    for cand in ("/usr/bin/python3", shutil.which("python3")):
        if cand and os.path.exists(cand):
            return os.path.realpath(cand)
    return None


def run_case(name, lib, py):
    """Run the case in a fresh directory; return the transcript (bytes)."""
    with tempfile.TemporaryDirectory(prefix=f"real-{name}-") as d:
        commands, env_extra, files = CASES[name][1](d, py)
        # The allocator's own settings (MAPALLOC_*, e.g. CI's MAPALLOC_WERROR,
        # which mapalloc warns about as an unknown option) stay out of both runs.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("MAPALLOC_")}
        env.update(env_extra)
        env["LC_ALL"] = "C"
        if lib:
            env["LD_PRELOAD"] = lib
        transcript = []
        for cmd in commands:
            p = subprocess.run(cmd, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
            transcript.append(b"$ " + " ".join(cmd).encode() + b"\n")
            transcript.append(p.stdout)
            transcript.append(b"[stderr]\n" + p.stderr)
            transcript.append(f"[exit {p.returncode}]\n".encode())
        for fn in files:
            with open(os.path.join(d, fn), "rb") as f:
                transcript.append(f"[sha256 {fn}] {hashlib.sha256(f.read()).hexdigest()}\n".encode())
        return b"".join(transcript)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("program", choices=sorted(CASES))
    a = ap.parse_args()
    lib = os.path.abspath(a.lib)
    needs, _ = CASES[a.program]
    py = find_python()
    missing = [n for n in needs if not shutil.which(n)]
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}")
        return 77

    # The preload takes: a process started the same way maps libmapalloc.
    maps = subprocess.run(["cat", "/proc/self/maps"], env=dict(os.environ, LD_PRELOAD=lib),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    if os.path.basename(lib).split(".")[0] not in maps:
        print(f"FAIL: LD_PRELOAD={lib} does not load the library:\n{maps}")
        return 1

    base = run_case(a.program, None, py)
    ours = run_case(a.program, lib, py)
    if re.search(rb"\[exit (?!0\])", base):
        print("FAIL: the glibc run itself failed:\n" + base.decode(errors="replace")[-3000:])
        return 1
    if base != ours:
        diff = difflib.unified_diff(base.decode(errors="replace").splitlines(),
                                    ours.decode(errors="replace").splitlines(),
                                    "glibc", "mapalloc", lineterm="", n=2)
        print("FAIL: output differs from the glibc run:")
        for i, line in enumerate(diff):
            if i > 200:
                print("...")
                break
            print(line)
        return 1
    print(f"PASS: {a.program}: {len(base)} bytes of transcript identical on glibc and mapalloc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
