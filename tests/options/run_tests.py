#!/usr/bin/env python3
"""run_tests.py: the promises of options, statistics and the `mapalloc`
command that need a fresh process with a given environment. One test per
name (CTest runs each: options_<name>):

  env_forms          every option set through MAPALLOC_<NAME> and through
                     MAPALLOC_OPTIONS takes effect, silently
  precedence         MAPALLOC_<NAME> wins over MAPALLOC_OPTIONS; later
                     entries of MAPALLOC_OPTIONS win over earlier ones
  bad_values         each bad value prints the one warning line and keeps the
                     default (both forms)
  unknown_names      unknown names warn (both forms, and a lower-case
                     MAPALLOC_ variable) and change nothing
  large_first        a program whose only allocation is a large block gets
                     its options (the event channel sees the mapping)
  api                test_options api, and its stats=yes prints at exit
  json_matches       the statistics JSON parses and its classes equal the
                     known allocation pattern
  command_runs       `mapalloc -- python3 -c pass` runs, prepends LD_PRELOAD
  command_stats      `mapalloc --stats` prints the statistics at exit
  command_options    --option reaches the program and wins over the
                     environment; a bad or unknown --option is refused
  command_bad_program  a program that does not exist: message, exit 127
  malloc_info_xml    malloc_info prints glibc's XML shape, figures agree
  readme_table       README's Options table is the one the table generates
Exit 0: kept; 1: broken (a message says which promise).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

WARNING = re.compile(r"^mapalloc: warning: (?P<name>[^:]+): (?P<why>.+); keeping the (default|value from MAPALLOC_OPTIONS)$")

# A valid, non-default value of each option, and the effective value it gives.
GOOD = {
    "large_threshold": ("64k", "65536"),
    "purge_delay_ms": ("250", "250"),
    "large_cache": ("32MiB", "33554432"),
    "large_cache_ms": ("5ms", "5"),
    "secure": ("yes", "1"),
    "stats": ("on", "1"),
    "verbose": ("true", "1"),
    "huge_pages": ("1", "1"),
    "large_thp": ("on", "1"),
    "calloc_populate": ("0", "0"),
    "hugetlb": ("on", "1"),
    "memory_limit": ("1g", "1073741824"),
    "background_purge": ("1", "1"),
    "event_fd": ("7", "7"),
    "medium": ("off", "0"),
}
DEFAULTS = {
    "large_threshold": "131072", "purge_delay_ms": "100", "large_cache": "268435456", "large_cache_ms": "1000",
    "secure": "0", "stats": "0", "verbose": "0", "huge_pages": "0", "large_thp": "0", "calloc_populate": "16777216", "hugetlb": "0", "memory_limit": "0", "background_purge": "0", "event_fd": "-1", "medium": "1",
}
# Bad values of each option (the warning's reason is checked loosely: the name and the format exactly).
BAD = {
    "large_threshold": ["512", "12q", "", "130k"],
    "purge_delay_ms": ["-5", "soon", "3600001"],
    "large_cache": ["2t", "lots"],
    "large_cache_ms": ["1s", "x"],
    "secure": ["maybe", "2"],
    "stats": ["yes please"],
    "verbose": ["-1"],
    "huge_pages": ["always"],
    "large_thp": ["sometimes"],
    "calloc_populate": ["-1", "2t", "much"],
    "hugetlb": ["2m"],
    "memory_limit": ["-1", "1p"],
    "background_purge": ["yes please"],
    "event_fd": ["x", "70000", "-2"],
    "medium": ["2", "exact"],
}

failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg, file=sys.stderr)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAPALLOC_") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def run(argv, env, timeout=120):
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)


def effective(args, env):
    """name -> value as test_options get prints them, and the stderr lines."""
    r = run([args.bin, "get"], env)
    if r.returncode != 0:
        fail("test_options get exited %d: %s" % (r.returncode, r.stderr))
    values = dict(line.split("=", 1) for line in r.stdout.splitlines())
    return values, [l for l in r.stderr.splitlines() if l]


def t_env_forms(args):
    if set(GOOD) != set(DEFAULTS) or set(BAD) != set(DEFAULTS):
        fail("the test's tables do not cover the same options")
    values, err = effective(args, clean_env())
    if values != DEFAULTS or err:
        fail("defaults: %r, stderr %r" % (values, err))
    if set(values) != set(DEFAULTS):
        fail("option list changed: %r (update this test and README)" % sorted(values))
    for name, (text, want) in GOOD.items():
        for form, env in (("MAPALLOC_" + name.upper(), clean_env(**{"MAPALLOC_" + name.upper(): text})),
                          ("MAPALLOC_OPTIONS", clean_env(MAPALLOC_OPTIONS="%s=%s" % (name, text)))):
            values, err = effective(args, env)
            if values.get(name) != want:
                fail("%s via %s: got %r, expected %r" % (name, form, values.get(name), want))
            others = {k: v for k, v in values.items() if k != name}
            if others != {k: v for k, v in DEFAULTS.items() if k != name}:
                fail("%s via %s changed other options: %r" % (name, form, others))
            if err:
                fail("%s via %s: unexpected stderr %r" % (name, form, err))
    # Several at once, spaces around items, and a boolean named alone.
    values, err = effective(args, clean_env(MAPALLOC_OPTIONS=" purge_delay_ms = 5 , secure,large_cache=1k,"))
    if (values["purge_delay_ms"], values["secure"], values["large_cache"]) != ("5", "1", "1024") or err:
        fail("list form: %r %r" % (values, err))


def t_precedence(args):
    values, err = effective(args, clean_env(MAPALLOC_OPTIONS="purge_delay_ms=5", MAPALLOC_PURGE_DELAY_MS="9"))
    if values["purge_delay_ms"] != "9" or err:
        fail("MAPALLOC_PURGE_DELAY_MS should win over MAPALLOC_OPTIONS: %r %r" % (values["purge_delay_ms"], err))
    values, err = effective(args, clean_env(MAPALLOC_OPTIONS="purge_delay_ms=5,purge_delay_ms=6"))
    if values["purge_delay_ms"] != "6" or err:
        fail("the later MAPALLOC_OPTIONS entry should win: %r" % values["purge_delay_ms"])
    # A bad individual variable keeps the MAPALLOC_OPTIONS value, and says so.
    values, err = effective(args, clean_env(MAPALLOC_OPTIONS="purge_delay_ms=5", MAPALLOC_PURGE_DELAY_MS="x"))
    if values["purge_delay_ms"] != "5" or len(err) != 1 or not err[0].endswith("keeping the value from MAPALLOC_OPTIONS"):
        fail("bad variable over a good MAPALLOC_OPTIONS: %r %r" % (values["purge_delay_ms"], err))


def check_one_warning(err, name, what):
    if len(err) != 1:
        fail("%s: expected one warning line, got %r" % (what, err))
        return
    m = WARNING.match(err[0])
    if not m or m.group("name") != name or not m.group(2 + 1) == "default":
        fail("%s: warning line %r does not name %s or does not keep the default" % (what, err[0], name))


def t_bad_values(args):
    for name, bads in BAD.items():
        for text in bads:
            var = "MAPALLOC_" + name.upper()
            for form, env, shown in ((var, clean_env(**{var: text}), var),
                                     ("MAPALLOC_OPTIONS", clean_env(MAPALLOC_OPTIONS="%s=%s" % (name, text)), name)):
                if form == "MAPALLOC_OPTIONS" and "," in text:
                    continue
                values, err = effective(args, env)
                what = "%s=%r via %s" % (name, text, form)
                if values.get(name) != DEFAULTS[name]:
                    fail("%s: value %r, expected the default %r" % (what, values.get(name), DEFAULTS[name]))
                check_one_warning(err, shown, what)
    # A missing value in the list form.
    values, err = effective(args, clean_env(MAPALLOC_OPTIONS="purge_delay_ms"))
    check_one_warning(err, "purge_delay_ms", "purge_delay_ms without =value")


def t_unknown_names(args):
    for env, shown in ((clean_env(MAPALLOC_OPTIONS="purge_delay=5"), "purge_delay"),
                       (clean_env(MAPALLOC_PURGE_DELAY="5"), "MAPALLOC_PURGE_DELAY"),
                       (clean_env(MAPALLOC_stats="1"), "MAPALLOC_stats")):
        values, err = effective(args, env)
        if values != DEFAULTS:
            fail("unknown name %s changed options: %r" % (shown, values))
        check_one_warning(err, shown, "unknown name " + shown)
        if err and "unknown option" not in err[0]:
            fail("unknown name %s: reason should say unknown option: %r" % (shown, err[0]))


def t_large_first(args):
    import tempfile
    with tempfile.TemporaryFile(mode="w+") as events:
        fd = events.fileno()
        env = clean_env(MAPALLOC_EVENT_FD=str(fd))
        r = subprocess.run([args.bin, "large"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60, pass_fds=(fd,))
        events.seek(0)
        lines = events.read().splitlines()
    if r.returncode != 0 or r.stderr:
        fail("test_options large: exit %d, stderr %r" % (r.returncode, r.stderr))
    if not any(l.startswith("mapalloc mmap ") and l.endswith(" large") for l in lines):
        fail("the event channel saw no large mapping: %r" % lines[:10])


def t_api(args):
    r = run([args.bin, "api"], clean_env())
    if r.returncode != 0 or "api: ok" not in r.stdout:
        fail("test_options api: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    if "mapalloc statistics" not in r.stderr:
        fail("stats set with mapalloc_option_set after the first allocation did not print at exit: %r" % r.stderr)


def t_json_matches(args):
    r = run([args.bin, "classes"], clean_env())
    if r.returncode != 0:
        fail("test_options classes: exit %d\n%s" % (r.returncode, r.stderr))
    expect = doc = None
    for line in r.stdout.splitlines():
        if line.startswith("EXPECT "):
            expect = {int(k): v for k, v in json.loads(line[7:]).items()}
        elif line.startswith("JSON "):
            doc = json.loads(line[5:])
    if expect is None or doc is None:
        fail("no EXPECT/JSON lines in: %r" % r.stdout[:500])
        return
    # Blocks above 4 KiB are medium (exact fit): the test's groups of 5000
    # and 100000 bytes.
    small = {k: v for k, v in expect.items() if k <= 4096}
    medium = {k: v for k, v in expect.items() if 4096 < k <= 131072}
    got = {c["block_size"]: c["blocks"] for c in doc["classes"] if c["blocks"]}
    if got != small:
        fail("JSON classes %r, expected %r" % (got, small))
    m = doc["medium"]
    if m["blocks"] != sum(medium.values()) or m["bytes"] != sum(k * v for k, v in medium.items()) or \
            m["waste"] != m["page_bytes"] - m["bytes"] or m["pages"] < 1:
        fail("JSON medium %r, expected %r" % (m, medium))
    for c in doc["classes"]:
        if c["bytes"] != c["blocks"] * c["block_size"] or c["waste"] != c["page_bytes"] - c["bytes"]:
            fail("inconsistent class entry %r" % c)
    t = doc["totals"]
    if t["in_use_blocks"] != sum(small.values()) + m["blocks"] + t["large_blocks"]:
        fail("totals %r disagree with classes %r" % (t, small))
    if not (t["reserved"] >= t["committed"] >= sum(c["page_bytes"] for c in doc["classes"])):
        fail("reserved >= committed >= page bytes does not hold: %r" % t)
    for key in ("mmap", "munmap", "mremap", "madvise", "mprotect"):
        if not isinstance(doc["os_calls"].get(key), int):
            fail("os_calls.%s missing" % key)
    if doc["os_calls"]["mmap"] < 1 or len(doc["heaps"]) < 1 or doc["options"] != {k: int(v) for k, v in DEFAULTS.items()}:
        fail("os_calls, heaps or options wrong: %r %r %r" % (doc["os_calls"], doc["heaps"], doc["options"]))


def command(args, *argv, env=None):
    return run([args.cmd] + list(argv), env if env is not None else clean_env())


def t_command_runs(args):
    r = command(args, "--", sys.executable, "-c", "import os; print(os.environ['LD_PRELOAD'])",
                env=clean_env(LD_PRELOAD="libfoo-not-there.so"))
    # The dynamic loader complains about the missing libfoo, but runs the program.
    first = r.stdout.strip().split(":")
    if r.returncode != 0 or len(first) != 2 or "/libmapalloc.so" not in first[0] or first[1] != "libfoo-not-there.so":
        fail("mapalloc -- python3: exit %d, LD_PRELOAD %r, stderr %r" % (r.returncode, r.stdout, r.stderr))
    r = command(args, "python3", "-c", "pass")
    if r.returncode != 0 or r.stderr:
        fail("mapalloc python3 -c pass: exit %d, stderr %r" % (r.returncode, r.stderr))
    # The program really runs on mapalloc: its mappings include the library.
    r = command(args, "--", "sh", "-c", "grep -c libmapalloc /proc/$$/maps")
    if r.returncode != 0 or int(r.stdout.strip() or 0) < 1:
        fail("libmapalloc not mapped in the program: %r %r" % (r.stdout, r.stderr))


def t_command_stats(args):
    r = command(args, "--stats", "--", "python3", "-c", "x = [str(i) for i in range(100000)]")
    if r.returncode != 0 or "mapalloc statistics" not in r.stderr or "size classes" not in r.stderr:
        fail("--stats: exit %d, stderr %r" % (r.returncode, r.stderr[:400]))
    m = re.search(r"in use +(\d+) bytes in (\d+) blocks", r.stderr)
    if not m or int(m.group(2)) == 0:
        fail("--stats printed no live blocks: %r" % r.stderr[:400])


def t_command_options(args):
    # The option reaches the program (verbose prints where each value came from),
    # and wins over the same option in the environment.
    r = command(args, "--option", "purge_delay_ms=42", "-o", "verbose=1", "--", "python3", "-c", "pass",
                env=clean_env(MAPALLOC_PURGE_DELAY_MS="9", MAPALLOC_OPTIONS="large_cache=1m"))
    if r.returncode != 0 or "mapalloc: option purge_delay_ms = 42 (MAPALLOC_OPTIONS)" not in r.stderr \
            or "mapalloc: option large_cache = 1m (MAPALLOC_OPTIONS)" not in r.stderr:
        fail("--option: exit %d, stderr %r" % (r.returncode, r.stderr))
    for bad, why in (("purge_delay_ms=soon", "not a number"), ("nope=1", "unknown option"), ("stats", "name=value")):
        r = command(args, "--option", bad, "--", "true")
        if r.returncode != 2 or why not in r.stderr:
            fail("--option %s: exit %d, stderr %r" % (bad, r.returncode, r.stderr))
    r = command(args, "--help")
    if r.returncode != 0 or any(name not in r.stdout for name in DEFAULTS):
        fail("--help does not list every option: %r" % r.stdout)


def t_command_bad_program(args):
    r = command(args, "--", "/nonexistent/program")
    if r.returncode != 127 or "cannot run /nonexistent/program" not in r.stderr:
        fail("bad program: exit %d, stderr %r" % (r.returncode, r.stderr))
    r = command(args, "--lib", "/nonexistent/lib.so", "--", "true")
    if r.returncode != 127 or "/nonexistent/lib.so" not in r.stderr:
        fail("bad --lib: exit %d, stderr %r" % (r.returncode, r.stderr))


def t_malloc_info_xml(args):
    r = command(args, "--", args.malloc_info)
    if r.returncode != 0:
        fail("t_malloc_info: exit %d, %r" % (r.returncode, r.stderr))
        return
    root = ET.fromstring(r.stdout)
    if root.tag != "malloc" or root.get("version") != "1" or not root.findall("heap"):
        fail("not glibc's shape: %r" % r.stdout[:300])
        return
    for heap in root.findall("heap"):
        sizes = heap.find("sizes")
        if sizes is None or heap.find("total[@type='rest']") is None or heap.find("system[@type='current']") is None:
            fail("heap element incomplete: %s" % ET.tostring(heap)[:300])
    mmap = root.find("total[@type='mmap']")
    if mmap is None or int(mmap.get("count")) < 1:
        fail("the 1 MiB block is not counted as mmap: %r" % (None if mmap is None else mmap.attrib))
    # 500 of the 1000 32-byte blocks were freed: the 17..32 size lists at least them.
    free32 = sum(int(s.get("count")) for s in root.iter("size") if s.get("to") == "32")
    if free32 < 500:
        fail("free 32-byte blocks %d, expected at least 500" % free32)
    cur = root.find("system[@type='current']")
    if cur is None or int(cur.get("size")) <= 0:
        fail("no current system size")


def t_readme_table(args):
    r = command(args, "--list-options=markdown")
    text = open(args.readme).read()
    m = re.search(r"<!-- options:begin -->\n(.*?)<!-- options:end -->", text, re.S)
    if not m:
        fail("README has no <!-- options:begin --> ... <!-- options:end --> section")
    elif m.group(1).strip() != r.stdout.strip():
        fail("README's Options table differs from `mapalloc --list-options=markdown`:\n" + r.stdout)


TESTS = {name[2:]: fn for name, fn in globals().items() if name.startswith("t_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="test_options")
    ap.add_argument("--cmd", required=True, help="the mapalloc command")
    ap.add_argument("--malloc-info", required=True, help="t_malloc_info")
    ap.add_argument("--readme", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    args = ap.parse_args()
    TESTS[args.test](args)
    if failures:
        print("%s: %d failure(s)" % (args.test, failures), file=sys.stderr)
        return 1
    print("%s: ok" % args.test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
