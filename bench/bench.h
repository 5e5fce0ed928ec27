/* bench.h: what every benchmark workload shares: the command line, a fast
 * deterministic random generator, block filling and checking, and the exit
 * convention (0 = ran and verified, 1 = verification failed, 2 = bad usage).
 * Workloads call only the standard malloc API so that every allocator runs the
 * same binary under LD_PRELOAD. Include this header first: it sets _GNU_SOURCE.
 */
#ifndef MAPALLOC_BENCH_H
#define MAPALLOC_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The options every workload accepts. `scale` multiplies the amount of work
 * (iterations, object counts); --tiny replaces it with a value small enough
 * for a test run of a few milliseconds. */
struct bench_opts {
    int threads;
    double scale;
    int tiny;
    uint64_t seed;
};

static inline void bench_usage(const char *name, const char *what)
{
    fprintf(stderr,
            "usage: %s [--threads N] [--scale F] [--tiny] [--seed S]\n"
            "  %s\n"
            "  --threads N  worker threads (default 2)\n"
            "  --scale F    multiply the amount of work by F (default 1.0)\n"
            "  --tiny       a few milliseconds of work, for tests\n"
            "  --seed S     random seed (default 42)\n"
            "exit status: 0 ran and verified, 1 verification failed, 2 usage\n",
            name, what);
}

static inline struct bench_opts bench_parse(int argc, char **argv, const char *what)
{
    struct bench_opts o = { .threads = 2, .scale = 1.0, .tiny = 0, .seed = 42 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(a, "--tiny") == 0) {
            o.tiny = 1;
        } else if (strcmp(a, "--threads") == 0 && v) {
            o.threads = atoi(v);
            i++;
        } else if (strcmp(a, "--scale") == 0 && v) {
            o.scale = strtod(v, NULL);
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            o.seed = strtoull(v, NULL, 0);
            i++;
        } else {
            bench_usage(argv[0], what);
            exit(strcmp(a, "--help") == 0 ? 0 : 2);
        }
    }
    if (o.threads < 1 || o.threads > 256 || !(o.scale > 0)) {
        bench_usage(argv[0], what);
        exit(2);
    }
    if (o.tiny)
        o.scale = 0.005;
    return o;
}

/* n scaled by the options, at least `min`. */
static inline size_t bench_scaled(const struct bench_opts *o, double n, size_t min)
{
    double v = n * o->scale;
    return v < (double)min ? min : (size_t)v;
}

/* Verification failures are reported and end the process with status 1. */
static inline void bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("VERIFY FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Out of memory is not a verification failure of the workload's logic but
 * is still fatal: the allocator could not serve a reasonable request. */
static inline void *bench_check_alloc(void *p, size_t n)
{
    if (p == NULL && n != 0) {
        fprintf(stderr, "ALLOC FAILED: %zu bytes (errno %d)\n", n, errno);
        exit(1);
    }
    return p;
}

/* splitmix64: one multiply-xorshift chain per draw; each thread owns one. */
struct bench_rng {
    uint64_t s;
};

static inline uint64_t bench_next(struct bench_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias is negligible here). */
static inline uint64_t bench_below(struct bench_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)bench_next(r) * n) >> 64);
}

/* A size from a few small size ranges weighted like typical C programs:
 * 70% 8..128 bytes, 25% 128 B..1 KiB, 5% from 1 KiB up to `max_size`
 * (exactly 1 KiB when max_size is 1 KiB or less). */
static inline size_t bench_small_size(struct bench_rng *r, size_t max_size)
{
    uint64_t x = bench_below(r, 100);
    size_t s;
    if (x < 70)
        s = 8 + (size_t)bench_below(r, 121);
    else if (x < 95)
        s = 128 + (size_t)bench_below(r, 897);
    else
        s = 1024 + (size_t)bench_below(r, max_size > 1024 ? max_size - 1023 : 1);
    return s;
}

/* Block contents: every 8-byte word (and the tail bytes) derive from a tag, so
 * a block can be verified without remembering anything but its tag and size. */
static inline uint64_t bench_word(uint64_t tag, size_t i)
{
    return (tag * 0x9e3779b97f4a7c15ULL) ^ (i * 0xd6e8feb86659fd93ULL);
}

static inline void bench_fill(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = bench_word(tag, i);
        memcpy(b + 8 * i, &w, 8);
    }
    for (size_t i = words * 8; i < n; i++)
        b[i] = (unsigned char)(tag + i);
}

/* Returns 1 when the block holds what bench_fill(p, n, tag) wrote. */
static inline int bench_check(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, b + 8 * i, 8);
        if (w != bench_word(tag, i))
            return 0;
    }
    for (size_t i = words * 8; i < n; i++)
        if (b[i] != (unsigned char)(tag + i))
            return 0;
    return 1;
}

/* Medium blocks: only the first and last 16 bytes are written and checked
 * (bytewise below 32 bytes). That catches overlapping or misplaced blocks
 * while keeping the workload about the allocator rather than about filling
 * memory. */
static inline unsigned char bench_byte(uint64_t tag, size_t i)
{
    return (unsigned char)((tag >> (i & 56)) + i);
}

static inline void bench_fill_ends(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    if (n < 32) {
        for (size_t i = 0; i < n; i++)
            b[i] = bench_byte(tag, i);
        return;
    }
    uint64_t w[4] = { bench_word(tag, 0), bench_word(tag, 1), bench_word(tag, 2), bench_word(tag, n) };
    memcpy(b, w, 16);
    memcpy(b + n - 16, w + 2, 16);
}

static inline int bench_check_ends(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    if (n < 32) {
        unsigned char diff = 0;
        for (size_t i = 0; i < n; i++)
            diff |= (unsigned char)(b[i] ^ bench_byte(tag, i));
        return diff == 0;
    }
    uint64_t w[4] = { bench_word(tag, 0), bench_word(tag, 1), bench_word(tag, 2), bench_word(tag, n) };
    return memcmp(b, w, 16) == 0 && memcmp(b + n - 16, w + 2, 16) == 0;
}

/* Large blocks are filled and checked one word per 4 KiB page (plus the last
 * word), which touches every page without making the workload a memset test. */
static inline void bench_fill_sparse(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    for (size_t off = 0; off + 8 <= n; off += 4096) {
        uint64_t w = bench_word(tag, off);
        memcpy(b + off, &w, 8);
    }
    if (n >= 8) {
        uint64_t w = bench_word(tag, n);
        memcpy(b + n - 8, &w, 8);
    }
}

static inline int bench_check_sparse(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    uint64_t w;
    /* A page word that the last word overlapped was overwritten: skip it. */
    for (size_t off = 0; off + 16 <= n; off += 4096) {
        memcpy(&w, b + off, 8);
        if (w != bench_word(tag, off))
            return 0;
    }
    if (n >= 8) {
        memcpy(&w, b + n - 8, 8);
        if (w != bench_word(tag, n))
            return 0;
    }
    return 1;
}

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Resident set size now, in KiB, from /proc/self/statm (0 if unreadable). */
static inline long bench_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Start `n` threads running fn(arg + i * arg_size) and join them all. */
static inline void bench_run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size)
{
    pthread_t *tids = bench_check_alloc(malloc(sizeof(pthread_t) * (size_t)n),
                                        sizeof(pthread_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        int rc = pthread_create(&tids[i], NULL, fn, (char *)args + (size_t)i * arg_size);
        if (rc != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(rc));
            exit(1);
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
    free(tids);
}

/* The last line every workload prints: run.py reads the key=value pairs.
 * end_rss_kib is the resident set when the work ended (for memshape, before
 * the final teardown), as opposed to the peak that run.py gets from wait4. */
static inline void bench_report_rss(const char *name, double seconds, uint64_t checksum, long rss_kib)
{
    printf("%s ok time_s=%.3f end_rss_kib=%ld checksum=%016llx\n", name, seconds, rss_kib,
           (unsigned long long)checksum);
}

static inline void bench_report(const char *name, double seconds, uint64_t checksum)
{
    bench_report_rss(name, seconds, checksum, bench_rss_kib());
}

#endif /* MAPALLOC_BENCH_H */
