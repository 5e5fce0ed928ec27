"""pywork: an allocation-heavy Python script for the benchmark suite.

run.py runs it with PYTHONMALLOC=malloc, so every Python object comes from
the allocator under test. It builds and tears down dicts, lists, tuples,
strings, sets and small class instances, the way interpreters of real
programs churn memory, and checks its own results: exit status 0 and a last
line "pywork ok ..." mean the work was done correctly.
"""
import argparse
import json
import sys


class Record:
    __slots__ = ("key", "tags", "score")

    def __init__(self, key, tags, score):
        self.key = key
        self.tags = tags
        self.score = score


class Node:
    def __init__(self, value, children):
        self.value = value
        self.children = children


def lcg(seed):
    """A small deterministic generator (independent of the random module)."""
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        yield x >> 33


def words_phase(n, gen):
    """Word counting: many short strings, a dict that grows and shrinks."""
    syllables = ["ka", "lo", "mi", "ne", "su", "ra", "te", "vo", "zi", "pa", "qu", "ex"]
    counts = {}
    text = []
    for _ in range(n):
        w = "".join(syllables[next(gen) % len(syllables)] for _ in range(1 + next(gen) % 4))
        text.append(w)
        counts[w] = counts.get(w, 0) + 1
    assert sum(counts.values()) == n
    joined = " ".join(text)
    assert len(joined.split()) == n
    upper = {k.upper(): v for k, v in counts.items() if v > 1}
    for k in list(counts):
        if counts[k] == 1:
            del counts[k]
    assert len(upper) == len(counts)
    return sum(len(k) * v for k, v in counts.items())


def records_phase(n, gen):
    """Objects with lists and tuples inside, sorted and grouped."""
    recs = [Record("r%07d" % (next(gen) % 1000000), [next(gen) % 100 for _ in range(next(gen) % 8)],
                   (next(gen) % 1000, next(gen) % 7)) for _ in range(n)]
    recs.sort(key=lambda r: (r.score, r.key))
    groups = {}
    for r in recs:
        groups.setdefault(r.score[1], []).append(r)
    total = 0
    for g, rs in groups.items():
        assert all(r.score[1] == g for r in rs)
        total += sum(len(r.tags) for r in rs)
    assert total == sum(len(r.tags) for r in recs)
    tagset = set()
    for r in recs:
        tagset.update(r.tags)
    return total + len(tagset)


def tree_phase(depth, fanout, gen):
    """A tree of instances with __dict__, built and walked, then dropped."""
    def build(d):
        if d == 0:
            return Node(next(gen) % 1000, [])
        return Node(next(gen) % 1000, [build(d - 1) for _ in range(fanout)])

    def walk(node):
        return node.value + sum(walk(c) for c in node.children)

    def count(node):
        return 1 + sum(count(c) for c in node.children)

    root = build(depth)
    expect = sum(fanout ** i for i in range(depth + 1))
    assert count(root) == expect
    return walk(root)


def json_phase(n, gen):
    """Serialise and parse nested documents: many short-lived containers."""
    docs = []
    for i in range(n):
        docs.append({"id": i, "name": "item-%d" % (next(gen) % 10000),
                     "values": [next(gen) % 1000 for _ in range(10)],
                     "meta": {"a": i % 3, "b": [str(i), str(i * 2)]}})
    text = json.dumps(docs)
    back = json.loads(text)
    assert back == docs
    return len(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    s = args.scale
    gen = lcg(12345)
    checksum = 0
    # Scales above 1/2 add rounds; below, each round gets smaller.
    rounds = max(1, round(2 * s))
    f = min(1.0, 2 * s)
    for _ in range(rounds):
        checksum += words_phase(max(200, int(60000 * f)), gen)
        checksum += records_phase(max(100, int(30000 * f)), gen)
        checksum += tree_phase(8 if f >= 0.5 else 4, 4, gen)
        checksum += json_phase(max(50, int(8000 * f)), gen)
    print("pywork ok rounds=%d checksum=%d" % (rounds, checksum))
    return 0


if __name__ == "__main__":
    sys.exit(main())
