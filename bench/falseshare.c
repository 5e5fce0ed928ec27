/* falseshare: objects allocated by one thread and written by another
 * (Hoard's cache-scratch). Each round the main thread allocates one small
 * object per worker, back to back; every worker writes its object many times,
 * frees it, then repeatedly allocates, writes and frees small objects of its
 * own. An allocator that hands a worker memory sharing a cache line with
 * another worker's (for instance the object just freed across threads) makes
 * the writes slow. Every write pass is read back and summed.
 */
#include "bench.h"

struct shared {
    pthread_barrier_t start, done;
    size_t rounds, inner, writes, object_size;
    int threads;
    void **objects;     /* one per worker, refilled by main each round */
};

struct worker {
    struct shared *sh;
    int id;
    uint64_t sum;
};

/* Writes the object `writes` times byte by byte (volatile: every store goes to
 * memory, as in the original benchmark), then reads it back into a sum. */
static uint64_t scribble(unsigned char *obj, size_t size, size_t writes, uint64_t seed)
{
    volatile unsigned char *p = obj;
    for (size_t w = 0; w < writes; w++)
        for (size_t i = 0; i < size; i++)
            p[i] = (unsigned char)(seed + w + i);
    uint64_t sum = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char expect = (unsigned char)(seed + writes - 1 + i);
        if (p[i] != expect)
            bench_fail("falseshare: object byte %zu is %u, expected %u", i, p[i], expect);
        sum += p[i];
    }
    return sum;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    for (size_t round = 0; round < sh->rounds; round++) {
        pthread_barrier_wait(&sh->start);
        unsigned char *obj = sh->objects[w->id];
        w->sum += scribble(obj, sh->object_size, sh->writes, round);
        free(obj);
        for (size_t k = 0; k < sh->inner; k++) {
            unsigned char *own = bench_check_alloc(malloc(sh->object_size), sh->object_size);
            w->sum += scribble(own, sh->object_size, sh->writes, round + k);
            free(own);
        }
        pthread_barrier_wait(&sh->done);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_opts o = bench_parse(argc, argv, "falseshare: objects allocated by one thread, written by another");
    struct shared sh = {
        .rounds = bench_scaled(&o, 1000, 2),
        .inner = 200,
        .writes = 200,
        .object_size = 24,
        .threads = o.threads,
    };
    sh.objects = bench_check_alloc(calloc((size_t)o.threads, sizeof(void *)), 1);
    pthread_barrier_init(&sh.start, NULL, (unsigned)o.threads + 1);
    pthread_barrier_init(&sh.done, NULL, (unsigned)o.threads + 1);
    struct worker *ws = bench_check_alloc(calloc((size_t)o.threads, sizeof(*ws)), 1);
    pthread_t *tids = bench_check_alloc(calloc((size_t)o.threads, sizeof(*tids)), 1);
    double t0 = bench_now();
    for (int i = 0; i < o.threads; i++) {
        ws[i].sh = &sh;
        ws[i].id = i;
        if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0)
            bench_fail("falseshare: pthread_create failed");
    }
    for (size_t round = 0; round < sh.rounds; round++) {
        for (int i = 0; i < o.threads; i++)
            sh.objects[i] = bench_check_alloc(malloc(sh.object_size), sh.object_size);
        pthread_barrier_wait(&sh.start);
        pthread_barrier_wait(&sh.done);
    }
    uint64_t sum = 0;
    for (int i = 0; i < o.threads; i++) {
        pthread_join(tids[i], NULL);
        sum += ws[i].sum;
    }
    /* Every worker sees the same byte values, so the sums must agree. */
    for (int i = 1; i < o.threads; i++)
        if (ws[i].sum != ws[0].sum)
            bench_fail("falseshare: worker %d sum %llu != worker 0 sum %llu", i,
                       (unsigned long long)ws[i].sum, (unsigned long long)ws[0].sum);
    double t = bench_now() - t0;
    pthread_barrier_destroy(&sh.start);
    pthread_barrier_destroy(&sh.done);
    free(tids);
    free(ws);
    free(sh.objects);
    bench_report("falseshare", t, sum);
    return 0;
}
