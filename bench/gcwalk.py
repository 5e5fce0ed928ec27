"""gcwalk: how fast python3's garbage collector walks a heap built by the
allocator under test (analysis.md §0000). Not part of the suite's table: a
probe for one effect, block placement in allocation order.

Run with PYTHONMALLOC=malloc and the allocator preloaded:
  PYTHONMALLOC=malloc LD_PRELOAD=$PWD/build/libmapalloc.so python3 bench/gcwalk.py
Prints the seconds of 20 full collections of a freshly built heap, then of
the same heap after half of it was rebuilt at random three times.
"""
import gc
import random
import time

gc.disable()
objs = [(i, [i], {"a": i}, str(i)) for i in range(300000)]


def collect_time():
    t = time.perf_counter()
    for _ in range(20):
        gc.collect()
    return time.perf_counter() - t


fresh = collect_time()
random.seed(1)
for k in range(3):
    for j in random.sample(range(len(objs)), len(objs) // 2):
        objs[j] = (j, [j, k], {"b": j}, str(j))
print("gcwalk fresh_s=%.3f churned_s=%.3f" % (fresh, collect_time()))
