/* server: the shape of a threaded server (larson, xmalloc-test): every thread
 * keeps replacing blocks of random sizes in one shared working set, so most
 * blocks are freed by a different thread than the one that allocated them.
 * Each slot is swapped atomically; a block's header records its tag and size
 * and its first and last bytes are checked when it is freed. At the end the
 * tags allocated must equal the tags freed: no block was lost or doubled.
 */
#include "bench.h"

#include <stdatomic.h>

struct block {
    uint64_t tag;
    uint32_t size;
    uint32_t owner;
};

struct worker {
    struct bench_opts opts;
    int id;
    size_t ops;
    _Atomic(struct block *) *slots;
    size_t nslots;
    uint64_t allocated_sum, freed_sum;
    size_t remote_frees;
};

static struct block *block_new(struct bench_rng *r, int owner)
{
    size_t size = sizeof(struct block) + bench_small_size(r, 4096);
    struct block *b = bench_check_alloc(malloc(size), size);
    b->tag = bench_next(r);
    b->size = (uint32_t)size;
    b->owner = (uint32_t)owner;
    bench_fill_ends(b + 1, size - sizeof(*b), b->tag);
    return b;
}

static uint64_t block_free(struct block *b)
{
    if (!bench_check_ends(b + 1, b->size - sizeof(*b), b->tag))
        bench_fail("server: block of %u bytes corrupted", b->size);
    uint64_t tag = b->tag;
    free(b);
    return tag;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct bench_rng r = { w->opts.seed * 7919u + (uint64_t)w->id };
    for (size_t i = 0; i < w->ops; i++) {
        struct block *b = block_new(&r, w->id);
        w->allocated_sum += b->tag;
        size_t slot = (size_t)bench_below(&r, w->nslots);
        struct block *old = atomic_exchange_explicit(&w->slots[slot], b, memory_order_acq_rel);
        if (old) {
            w->remote_frees += old->owner != (uint32_t)w->id;
            w->freed_sum += block_free(old);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_opts o = bench_parse(argc, argv, "server: shared working set, cross-thread frees");
    size_t nslots = o.tiny ? 2000 : 20000 * (size_t)o.threads;
    _Atomic(struct block *) *slots = bench_check_alloc(calloc(nslots, sizeof(*slots)), 1);
    struct worker *ws = bench_check_alloc(calloc((size_t)o.threads, sizeof(*ws)), 1);
    double t0 = bench_now();
    for (int i = 0; i < o.threads; i++) {
        ws[i].opts = o;
        ws[i].id = i;
        ws[i].ops = bench_scaled(&o, 2e6, 1000);
        ws[i].slots = slots;
        ws[i].nslots = nslots;
    }
    bench_run_threads(o.threads, worker_main, ws, sizeof(*ws));
    uint64_t allocated = 0, freed = 0;
    size_t remote = 0;
    for (int i = 0; i < o.threads; i++) {
        allocated += ws[i].allocated_sum;
        freed += ws[i].freed_sum;
        remote += ws[i].remote_frees;
    }
    for (size_t i = 0; i < nslots; i++) {
        struct block *b = atomic_load(&slots[i]);
        if (b)
            freed += block_free(b);
    }
    if (allocated != freed)
        bench_fail("server: tags allocated %016llx != tags freed %016llx",
                   (unsigned long long)allocated, (unsigned long long)freed);
    if (o.threads > 1 && remote == 0)
        bench_fail("server: no block was freed by another thread");
    double t = bench_now() - t0;
    free(ws);
    free(slots);
    bench_report("server", t, allocated);
    return 0;
}
