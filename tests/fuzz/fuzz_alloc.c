/* fuzz_alloc: drive the prefixed API with random sequences of malloc, free,
 * realloc, calloc, aligned_alloc, posix_memalign and free_sized, every
 * block's content verified before it is freed or resized, and the heap
 * checker run at the end of each input. Built as a libFuzzer target with
 * clang (-fsanitize=fuzzer); with any compiler, FUZZ_STANDALONE gives a
 * main() that feeds it random inputs for a given number of seconds.
 */
#include "mapalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 64

struct slot {
    unsigned char *p;
    size_t n;
    unsigned char fill;
};

static void verify(const struct slot *s) {
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i] != (unsigned char)(s->fill + i)) {
            fprintf(stderr, "fuzz_alloc: block %p of %zu bytes corrupted at byte %zu\n", (void *)s->p, s->n, i);
            abort();
        }
}

static void fill(struct slot *s, unsigned char f) {
    s->fill = f;
    for (size_t i = 0; i < s->n; i++) s->p[i] = (unsigned char)(f + i);
}

static size_t size_from(const uint8_t *d) {
    /* Mostly small, sometimes medium, rarely large (up to 4 MiB). */
    unsigned kind = d[0] % 16;
    size_t v = (size_t)d[1] | (size_t)d[2] << 8 | (size_t)d[3] << 16;
    if (kind < 11) return v % 1024;
    if (kind < 15) return v % (256 * 1024);
    return v % (4u << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct slot slots[SLOTS];
    memset(slots, 0, sizeof slots);
    for (size_t at = 0; at + 5 <= size; at += 5) {
        const uint8_t *d = data + at;
        struct slot *s = &slots[d[4] % SLOTS];
        size_t n = size_from(d);
        unsigned op = d[0] >> 4;
        if (s->p) verify(s);
        switch (op % 8) {
        case 0: case 1: /* malloc */
            mapalloc_free(s->p);
            s->p = mapalloc_malloc(n);
            if (!s->p) abort();
            s->n = n;
            fill(s, d[1]);
            break;
        case 2: /* free */
            if (d[2] & 1) mapalloc_free_sized(s->p, s->n); else mapalloc_free(s->p);
            s->p = NULL;
            s->n = 0;
            break;
        case 3: { /* realloc keeps the common prefix */
            unsigned char *q = mapalloc_realloc(s->p, n);
            if (n == 0) { if (q) mapalloc_free(q); s->p = NULL; s->n = 0; break; }
            if (!q) abort();
            size_t keep = s->n < n ? s->n : n;
            for (size_t i = 0; i < keep; i++)
                if (q[i] != (unsigned char)(s->fill + i)) { fprintf(stderr, "fuzz_alloc: realloc lost byte %zu\n", i); abort(); }
            s->p = q;
            s->n = n;
            fill(s, d[2]);
            break;
        }
        case 4: { /* calloc is zero */
            mapalloc_free(s->p);
            s->p = mapalloc_calloc(1, n);
            if (!s->p) abort();
            for (size_t i = 0; i < n; i++) if (s->p[i]) { fprintf(stderr, "fuzz_alloc: calloc byte %zu not zero\n", i); abort(); }
            s->n = n;
            fill(s, d[3]);
            break;
        }
        case 5: case 6: { /* aligned forms */
            size_t align = (size_t)1 << (d[3] % 21); /* 1 .. 1 MiB */
            mapalloc_free(s->p);
            void *q = NULL;
            if (op % 8 == 5) {
                q = mapalloc_aligned_alloc(align, n);
            } else if (mapalloc_posix_memalign(&q, align < sizeof(void *) ? sizeof(void *) : align, n) != 0) {
                q = NULL;
            }
            if (!q || ((uintptr_t)q & (align - 1)) != 0) { fprintf(stderr, "fuzz_alloc: bad aligned block %p (%zu)\n", q, align); abort(); }
            s->p = q;
            s->n = n;
            fill(s, d[1]);
            break;
        }
        default: /* usable size covers the request */
            if (s->p && mapalloc_usable_size(s->p) < s->n) { fprintf(stderr, "fuzz_alloc: usable size too small\n"); abort(); }
            break;
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p) verify(&slots[i]);
        mapalloc_free(slots[i].p);
    }
    mapalloc_check_heap();
    return 0;
}

#ifdef FUZZ_STANDALONE
/* fuzz_alloc SECONDS [SEED]: random inputs until the time is up. */
int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 5;
    uint64_t x = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
    fprintf(stderr, "fuzz_alloc: seed %llu\n", (unsigned long long)x);
    time_t end = time(NULL) + (time_t)seconds;
    uint8_t buf[4096];
    unsigned long inputs = 0;
    while (time(NULL) < end) {
        size_t len = 0;
        for (; len < sizeof buf; len++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[len] = (uint8_t)(x >> 32);
        }
        LLVMFuzzerTestOneInput(buf, (size_t)(x % sizeof buf));
        inputs++;
    }
    printf("fuzz_alloc: %lu inputs, no failure\n", inputs);
    return 0;
}
#endif
