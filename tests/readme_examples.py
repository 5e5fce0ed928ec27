#!/usr/bin/env python3
"""readme_examples.py: README's examples compile, run and cover the whole API.

  readme_examples.py --readme README.md --header include/mapalloc.h --lib LIB
                     --workdir DIR -- CC FLAGS...

Every ```c block of README.md is a complete program: each is compiled with CC
FLAGS against the header's folder, linked with LIB (libmapalloc.so) and run;
it must exit 0 (77: skipped on this machine). Every function mapalloc.h
declares must be named in README's prose and used in some example; every
option of the Options table must have a default and an example line
(`MAPALLOC_<NAME>=value ...` in a ```sh block), and each example line, run on
a probe program, must set the option to that value without a warning.
Exit status 0 when all of that holds, 1 otherwise (with every reason).
"""
import argparse
import os
import re
import subprocess
import sys

PROBE = r"""
#include <mapalloc.h>
#include <stdio.h>
int main(void) {
    void *p = mapalloc_malloc(100);   /* the allocator has started: options are read */
    char value[64];
    for (size_t i = 0; mapalloc_option_name(i); i++)
        if (mapalloc_option_get(mapalloc_option_name(i), value, sizeof value) >= 0)
            printf("%s=%s\n", mapalloc_option_name(i), value);
    mapalloc_free(p);
    return p ? 0 : 1;
}
"""


def fenced_blocks(text, lang):
    """(first line number, body) of every ```lang block."""
    blocks, body, start = [], None, 0
    for n, line in enumerate(text.splitlines(), 1):
        if body is None and line.strip() == "```" + lang:
            body, start = [], n + 1
        elif body is not None and line.strip() == "```":
            blocks.append((start, "\n".join(body) + "\n"))
            body = None
        elif body is not None:
            body.append(line)
    return blocks


def without_fences(text):
    return re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.M | re.S)


def without_comments(c):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", c, flags=re.S)


def api_functions(header):
    """Names of the functions the header declares (MAPALLOC_EXPORT ... name(...);)."""
    decls = without_comments(header)
    return sorted(set(re.findall(r"MAPALLOC_EXPORT\b[^;{]*?\b(mapalloc_\w+)\s*\(", decls)))


def option_rows(readme):
    """(name, variable, default) of each row of the generated Options table."""
    m = re.search(r"<!-- options:begin -->(.*?)<!-- options:end -->", readme, re.S)
    if not m:
        return None
    rows = []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1].strip("`"), cells[2].strip("`")))
    return rows


def option_examples(readme):
    """(line text, {variable or option name: value}) of each MAPALLOC_*=... line in ```sh blocks."""
    out = []
    for _, body in fenced_blocks(readme, "sh"):
        for line in body.splitlines():
            m = re.match(r"(MAPALLOC_[A-Z0-9_]+)=(\S+)", line)
            if m:
                out.append((line.strip(), m.group(1), m.group(2)))
    return out


def expected_values(variable, value):
    """{option name: the decimal text mapalloc_option_get gives} for one example."""
    def decimal(v):
        m = re.fullmatch(r"(-?[0-9]+)([kmgt]?)", v.lower())
        if not m:
            return v
        return str(int(m.group(1)) << (10 * " kmgt".index(m.group(2) or " ")))
    if variable == "MAPALLOC_OPTIONS":
        pairs = [e.partition("=") for e in value.split(",") if e]
        return {k: decimal(v) if sep else "1" for k, sep, v in pairs}
    return {variable[len("MAPALLOC_"):].lower(): decimal(value)}


def run(cmd, env, cwd, timeout=120):
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return None, "", f"still running after {timeout} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--readme", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("cc", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cc = a.cc[1:] if a.cc and a.cc[0] == "--" else a.cc
    if not cc:
        ap.error("no compiler given")
    with open(a.readme, encoding="utf-8") as f:
        readme = f.read()
    with open(a.header, encoding="utf-8") as f:
        header = f.read()
    os.makedirs(a.workdir, exist_ok=True)
    lib = os.path.abspath(a.lib)
    link = [lib, "-Wl,-rpath," + os.path.dirname(lib)]
    include = "-I" + os.path.dirname(os.path.abspath(a.header))
    # Only the settings an example line gives reach the allocator.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAPALLOC_") and k != "LD_PRELOAD"}
    problems = []

    # 1. Every block compiles warning-free (with the flags given) and runs.
    blocks = fenced_blocks(readme, "c")
    if not blocks:
        problems.append("README has no ```c block")
    ran = skipped = 0
    for line, body in blocks:
        src = os.path.join(a.workdir, f"readme_line{line}.c")
        exe = src[:-2]
        with open(src, "w", encoding="utf-8") as f:
            f.write(body)
        rc, out, err = run(cc + [include, "-o", exe, src] + link, env, a.workdir)
        if rc != 0:
            problems.append(f"README.md:{line}: the example does not compile:\n{out}{err}")
            continue
        rc, out, err = run([exe], env, a.workdir)
        if rc == 77:
            skipped += 1
            print(f"README.md:{line}: skipped on this machine (exit 77)")
        elif rc != 0:
            how = "a hang" if rc is None else (f"signal {-rc}" if rc < 0 else f"exit status {rc}")
            problems.append(f"README.md:{line}: the example failed ({how}):\n{out[-2000:]}{err[-2000:]}")
        else:
            ran += 1

    # 2. Every function of the header is described and shown.
    functions = api_functions(header)
    if len(functions) < 10:
        problems.append(f"only {len(functions)} functions found in {a.header}: the declaration pattern changed?")
    code = without_comments("".join(body for _, body in blocks))
    prose = without_fences(readme)
    for name in functions:
        if not re.search(r"\b%s\b" % name, code):
            problems.append(f"{name} (mapalloc.h) is used in no ```c example of README")
        if not re.search(r"`%s\b" % name, prose):
            problems.append(f"{name} (mapalloc.h) has no description line in README (`{name}(...)`: ...)")

    # 3. Every option has a default and an example line that really sets it.
    rows = option_rows(readme)
    examples = option_examples(readme)
    if not rows:
        problems.append("README has no Options table between <!-- options:begin --> and <!-- options:end -->")
        rows = []
    for name, variable, default in rows:
        if not default:
            problems.append(f"option {name}: no default in the Options table")
        if not any(var == variable for _, var, _ in examples):
            problems.append(f"option {name}: no example line `{variable}=value ./prog` in a ```sh block")
    probe_src = os.path.join(a.workdir, "option_probe.c")
    with open(probe_src, "w", encoding="utf-8") as f:
        f.write(PROBE)
    probe = probe_src[:-2]
    rc, out, err = run(cc + [include, "-o", probe, probe_src] + link, env, a.workdir)
    if rc != 0:
        problems.append(f"the option probe does not compile:\n{out}{err}")
        examples = []
    for text, variable, value in examples:
        rc, out, err = run([probe], dict(env, **{variable: value}), a.workdir)
        effective = dict(l.partition("=")[::2] for l in out.splitlines())
        if rc != 0 or "mapalloc: warning" in err:
            problems.append(f"example `{text}`: a warning or a failure (probe exit status {rc}):\n{err}")
            continue
        for option, want in expected_values(variable, value).items():
            if effective.get(option) != want:
                problems.append(f"example `{text}`: {option} is {effective.get(option)!r}, not {want!r}")

    for p in problems:
        print("FAIL:", p)
    print(f"{len(blocks)} C examples ({ran} ran, {skipped} skipped), {len(functions)} API functions, "
          f"{len(rows)} options with {len(examples)} example lines: "
          + ("ok" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
