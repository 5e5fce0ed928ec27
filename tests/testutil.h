/* testutil.h: what the allocator's test programs share: the CHECK macro, a
 * seeded RNG, block patterns that make every byte verifiable, and readings of
 * the process (/proc/self/statm). Header-only; includes nothing of mapalloc,
 * so the same helpers serve the prefixed-API tests and the LD_PRELOAD ones.
 */
#ifndef MAPALLOC_TESTUTIL_H
#define MAPALLOC_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- CHECK: record a broken promise and go on. ---------------------------- */

/* One count a program. A program of several files defines
 * TESTUTIL_SHARED_FAILURES in each and check_failures in one. */
#ifdef TESTUTIL_SHARED_FAILURES
extern int check_failures;
#else
static int check_failures __attribute__((unused));
#endif

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

/* CHECK with a printf-style explanation of the values involved. */
#define CHECKF(cond, ...)                                                             \
    do {                                                                              \
        if (!(cond)) {                                                                \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

/* Stop the whole program: for states after which checking more is pointless. */
#define REQUIRE(cond)                                                                 \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* --- Random numbers: splitmix64, reproducible from a seed. ---------------- */

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

typedef struct rng { uint64_t state; } rng_t;

static inline uint64_t rng_next(rng_t *r) {
    r->state += 0x9e3779b97f4a7c15ull;
    return mix64(r->state);
}
/* Uniform in [0, n); 0 when n == 0. */
static inline size_t rng_below(rng_t *r, size_t n) { return n ? (size_t)(rng_next(r) % n) : 0; }
/* Uniform in [lo, hi]. */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi) { return lo + rng_below(r, hi - lo + 1); }

/* --- Block patterns: every byte of a block is a function of a seed. --------
 * pattern_fill writes the pattern and returns its checksum; pattern_check
 * returns the offset of the first byte that differs from the pattern, or
 * (size_t)-1 when all n bytes match. */

static inline uint64_t pattern_word(uint64_t seed, size_t j) {
    return (seed + j * 0x9e3779b97f4a7c15ull) ^ (uint64_t)j << 56;
}

static inline uint64_t pattern_fill(void *p, size_t n, uint64_t seed) {
    unsigned char *b = p;
    uint64_t sum = seed;
    size_t words = n / 8;
    for (size_t j = 0; j < words; j++) {
        uint64_t w = pattern_word(seed, j);
        memcpy(b + 8 * j, &w, 8);
        sum = (sum << 7 | sum >> 57) ^ w;
    }
    if (n % 8) {
        uint64_t w = pattern_word(seed, words);
        memcpy(b + 8 * words, &w, n % 8);
        sum = (sum << 7 | sum >> 57) ^ (w & ((1ull << (8 * (n % 8))) - 1));
    }
    return sum;
}

static inline size_t pattern_check(const void *p, size_t n, uint64_t seed) {
    const unsigned char *b = p;
    size_t words = n / 8;
    for (size_t j = 0; j < words; j++) {
        uint64_t w = pattern_word(seed, j), got;
        memcpy(&got, b + 8 * j, 8);
        if (got != w) {
            for (size_t k = 0; k < 8; k++)
                if (((got >> (8 * k)) & 0xff) != ((w >> (8 * k)) & 0xff)) return 8 * j + k;
        }
    }
    uint64_t w = pattern_word(seed, words);
    for (size_t k = 0; k < n % 8; k++)
        if (b[8 * words + k] != ((w >> (8 * k)) & 0xff)) return 8 * words + k;
    return (size_t)-1;
}

/* Checksum of what the memory holds now, computed as pattern_fill does. */
static inline uint64_t contents_checksum(const void *p, size_t n, uint64_t seed) {
    const unsigned char *b = p;
    uint64_t sum = seed;
    size_t words = n / 8;
    for (size_t j = 0; j < words; j++) {
        uint64_t w;
        memcpy(&w, b + 8 * j, 8);
        sum = (sum << 7 | sum >> 57) ^ w;
    }
    if (n % 8) {
        uint64_t w = 0;
        memcpy(&w, b + 8 * words, n % 8);
        sum = (sum << 7 | sum >> 57) ^ w;
    }
    return sum;
}

/* The seed of a block's pattern in the stress tests: its address and size. */
static inline uint64_t block_seed(const void *p, size_t n) {
    return mix64((uint64_t)(uintptr_t)p ^ ((uint64_t)n << 40) ^ n);
}

/* --- Process readings. ----------------------------------------------------- */

/* Resident set size in bytes (/proc/self/statm), 0 if unreadable. Reads
 * with open/read, so that measuring does not itself call malloc. */
static inline size_t rss_bytes(void) {
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0) return 0;
    ssize_t got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    unsigned long size = 0, resident = 0;
    if (got <= 0) return 0;
    buf[got] = 0;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

#endif
