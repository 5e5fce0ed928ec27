/* bigrealloc: mixed sizes with large blocks and realloc growth. Each worker
 * interleaves three things programs do with big memory: large buffers of
 * 64 KiB to 64 MiB (log-uniform) kept in a small window and replaced at
 * random; a string builder that appends short pieces with realloc to the exact
 * new length; and a growing array that doubles its capacity. Large blocks are
 * checked one word per page; strings and arrays are checked completely.
 */
#include "bench.h"

#include <math.h>

#define WINDOW 4

struct big {
    unsigned char *p;
    size_t size;
    uint64_t tag;
};

struct worker {
    struct bench_opts opts;
    int id;
    size_t ops;
    uint64_t sum;
};

/* FNV-1a over bytes: the string builder's content check. */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t string_builder(struct bench_rng *r, size_t target)
{
    char *s = NULL;
    size_t len = 0;
    uint64_t h = 0xcbf29ce484222325ULL;
    unsigned char piece[256];
    while (len < target) {
        size_t n = 1 + (size_t)bench_below(r, 160);
        uint64_t seed = bench_next(r);
        for (size_t i = 0; i < n; i++)
            piece[i] = (unsigned char)('!' + (seed + i * 7) % 90);
        s = bench_check_alloc(realloc(s, len + n + 1), len + n + 1);
        memcpy(s + len, piece, n);
        len += n;
        s[len] = '\0';
        h = fnv1a(h, piece, n);
    }
    if (strlen(s) != len || fnv1a(0xcbf29ce484222325ULL, (unsigned char *)s, len) != h)
        bench_fail("bigrealloc: string builder of %zu bytes corrupted", len);
    free(s);
    return h;
}

static uint64_t growing_array(struct bench_rng *r, size_t target)
{
    size_t cap = 16, n = 0;
    uint64_t mul = bench_next(r) | 1;
    uint64_t *a = bench_check_alloc(malloc(cap * sizeof(*a)), cap * sizeof(*a));
    while (n < target) {
        if (n == cap) {
            cap *= 2;
            a = bench_check_alloc(realloc(a, cap * sizeof(*a)), cap * sizeof(*a));
        }
        a[n] = n * mul;
        n++;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != i * mul)
            bench_fail("bigrealloc: growing array element %zu of %zu corrupted", i, n);
        sum += a[i];
    }
    free(a);
    return sum;
}

/* 64 KiB .. 64 MiB, log-uniform, not page-aligned. */
static size_t large_size(struct bench_rng *r)
{
    double lg = 16.0 + 10.0 * (double)bench_below(r, 1u << 20) / (double)(1u << 20);
    return (size_t)exp2(lg) + (size_t)bench_below(r, 4096);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct bench_rng r = { w->opts.seed * 104729u + (uint64_t)w->id };
    struct big window[WINDOW] = { { 0 } };
    size_t max_string = w->opts.tiny ? 64 << 10 : 1 << 20;
    size_t max_array = w->opts.tiny ? 1 << 16 : 1 << 22;
    for (size_t op = 0; op < w->ops; op++) {
        uint64_t kind = bench_below(&r, 10);
        if (kind < 5) {
            struct big *b = &window[bench_below(&r, WINDOW)];
            if (b->p) {
                if (!bench_check_sparse(b->p, b->size, b->tag))
                    bench_fail("bigrealloc: large block of %zu bytes corrupted", b->size);
                w->sum += b->tag;
                free(b->p);
            }
            b->size = w->opts.tiny ? (size_t)(64 << 10) + (size_t)bench_below(&r, 1 << 20) : large_size(&r);
            b->tag = bench_next(&r);
            b->p = bench_check_alloc(malloc(b->size), b->size);
            bench_fill_sparse(b->p, b->size, b->tag);
        } else if (kind < 8) {
            w->sum += string_builder(&r, 4096 + (size_t)bench_below(&r, max_string));
        } else {
            w->sum += growing_array(&r, 1024 + (size_t)bench_below(&r, max_array));
        }
    }
    for (int i = 0; i < WINDOW; i++) {
        if (window[i].p && !bench_check_sparse(window[i].p, window[i].size, window[i].tag))
            bench_fail("bigrealloc: large block of %zu bytes corrupted", window[i].size);
        free(window[i].p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_opts o = bench_parse(argc, argv, "bigrealloc: large blocks, string builder, growing array");
    struct worker *ws = bench_check_alloc(calloc((size_t)o.threads, sizeof(*ws)), 1);
    double t0 = bench_now();
    for (int i = 0; i < o.threads; i++) {
        ws[i].opts = o;
        ws[i].id = i;
        ws[i].ops = bench_scaled(&o, 300, 20);
    }
    bench_run_threads(o.threads, worker_main, ws, sizeof(*ws));
    uint64_t sum = 0;
    for (int i = 0; i < o.threads; i++)
        sum ^= ws[i].sum;
    double t = bench_now() - t0;
    free(ws);
    bench_report("bigrealloc", t, sum);
    return 0;
}
