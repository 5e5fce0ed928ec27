/* memshape: how much memory an allocator gives back. The workers build a large
 * peak of small and medium blocks, then free 90% of them in a random global
 * order (so most frees cross threads), then keep working with a small working
 * set. The resident set after that work (end_rss_kib) against the peak
 * (ru_maxrss, measured by run.py) shows how much of the peak was returned to
 * the system or reused. Survivors are checked at the end.
 */
#include "bench.h"

struct slot {
    unsigned char *p;
    size_t size;
    uint64_t tag;
};

struct shared {
    struct bench_opts opts;
    pthread_barrier_t phase;
    struct slot *peak;      /* the peak's blocks, filled by all workers */
    size_t npeak;
    size_t *order;          /* a permutation of [0, npeak): the free order */
    size_t nfree;           /* how many of `order` get freed */
    size_t work_slots, work_ops;
};

struct worker {
    struct shared *sh;
    int id;
    uint64_t sum;
};

static void slot_fill(struct slot *s, struct bench_rng *r, size_t size)
{
    s->size = size;
    s->tag = bench_next(r);
    s->p = bench_check_alloc(malloc(size), size);
    bench_fill_ends(s->p, size, s->tag);
}

static uint64_t slot_free(struct slot *s)
{
    if (!bench_check_ends(s->p, s->size, s->tag))
        bench_fail("memshape: block of %zu bytes corrupted", s->size);
    free(s->p);
    s->p = NULL;
    return s->tag;
}

/* The peak mixes small objects with some of a few KiB to 64 KiB. */
static size_t peak_size(struct bench_rng *r)
{
    return bench_below(r, 50) == 0 ? 4096 + (size_t)bench_below(r, 60 << 10) : bench_small_size(r, 4096);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    size_t nthreads = (size_t)sh->opts.threads, id = (size_t)w->id;
    struct bench_rng r = { sh->opts.seed * 65537u + id };

    /* 1: build the peak, each worker a contiguous share. */
    for (size_t i = sh->npeak * id / nthreads; i < sh->npeak * (id + 1) / nthreads; i++)
        slot_fill(&sh->peak[i], &r, peak_size(&r));
    pthread_barrier_wait(&sh->phase);

    /* 2: free most of it, in the shared random order, interleaved by worker. */
    for (size_t k = id; k < sh->nfree; k += nthreads)
        w->sum += slot_free(&sh->peak[sh->order[k]]);
    pthread_barrier_wait(&sh->phase);

    /* 3: keep working: replace blocks of a small private working set. */
    struct slot *work = bench_check_alloc(calloc(sh->work_slots, sizeof(*work)), 1);
    for (size_t i = 0; i < sh->work_slots; i++)
        slot_fill(&work[i], &r, bench_small_size(&r, 2048));
    for (size_t op = 0; op < sh->work_ops; op++) {
        struct slot *s = &work[bench_below(&r, sh->work_slots)];
        w->sum += slot_free(s);
        slot_fill(s, &r, bench_small_size(&r, 2048));
    }
    pthread_barrier_wait(&sh->phase);
    /* main measures the resident set here */
    pthread_barrier_wait(&sh->phase);
    for (size_t i = 0; i < sh->work_slots; i++)
        w->sum += slot_free(&work[i]);
    free(work);
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_opts o = bench_parse(argc, argv, "memshape: large peak, free 90% at random, keep working");
    struct shared sh = {
        .opts = o,
        .npeak = bench_scaled(&o, 0.6e6, 1000),
        .work_slots = o.tiny ? 500 : 10000,
        .work_ops = bench_scaled(&o, 3e6 / o.threads, 1000),
    };
    sh.nfree = sh.npeak / 10 * 9;
    sh.peak = bench_check_alloc(calloc(sh.npeak, sizeof(*sh.peak)), 1);
    sh.order = bench_check_alloc(malloc(sh.npeak * sizeof(*sh.order)), sh.npeak * sizeof(*sh.order));
    struct bench_rng r = { o.seed };
    for (size_t i = 0; i < sh.npeak; i++)
        sh.order[i] = i;
    for (size_t i = sh.npeak - 1; i > 0; i--) {
        size_t j = (size_t)bench_below(&r, i + 1), t = sh.order[i];
        sh.order[i] = sh.order[j];
        sh.order[j] = t;
    }
    pthread_barrier_init(&sh.phase, NULL, (unsigned)o.threads + 1);
    struct worker *ws = bench_check_alloc(calloc((size_t)o.threads, sizeof(*ws)), 1);
    pthread_t *tids = bench_check_alloc(calloc((size_t)o.threads, sizeof(*tids)), 1);

    double t0 = bench_now();
    for (int i = 0; i < o.threads; i++) {
        ws[i].sh = &sh;
        ws[i].id = i;
        if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0)
            bench_fail("memshape: pthread_create failed");
    }
    pthread_barrier_wait(&sh.phase);
    long peak_rss = bench_rss_kib();
    pthread_barrier_wait(&sh.phase);
    long freed_rss = bench_rss_kib();
    pthread_barrier_wait(&sh.phase);
    long end_rss = bench_rss_kib();
    double t = bench_now() - t0;
    pthread_barrier_wait(&sh.phase);

    uint64_t sum = 0;
    for (int i = 0; i < o.threads; i++) {
        pthread_join(tids[i], NULL);
        sum += ws[i].sum;
    }
    for (size_t k = sh.nfree; k < sh.npeak; k++)
        sum += slot_free(&sh.peak[sh.order[k]]);
    for (size_t i = 0; i < sh.npeak; i++)
        if (sh.peak[i].p != NULL)
            bench_fail("memshape: peak block %zu was never freed", i);
    pthread_barrier_destroy(&sh.phase);
    free(tids);
    free(ws);
    free(sh.order);
    free(sh.peak);
    fprintf(stderr, "memshape: rss after peak %ld KiB, after frees %ld KiB, after work %ld KiB\n",
            peak_rss, freed_rss, end_rss);
    bench_report_rss("memshape", t, sum, end_rss);
    return 0;
}
