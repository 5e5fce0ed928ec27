/* api.c: the promises of the prefixed API (include/mapalloc.h), one function
 * each. `api NAME` checks one promise, `api` checks them all, `api --list`
 * prints their names (tests/CMakeLists.txt registers one CTest case per name
 * and checks that its list matches this one).
 * Links the allocator core only (mapalloc_core, or a sanitizer build of it):
 * the process's own malloc stays glibc's, so the core's statistics count
 * exactly the blocks this program holds. Built with API_STANDARD_NAMES and
 * linked to libmapalloc.so, it checks the same promises of the standard
 * names (the override layer); libc's own few blocks are then counted too,
 * which the promises allow for by comparing counts before and after.
 */
#define _GNU_SOURCE
#include "mapalloc.h"
#ifdef API_STANDARD_NAMES
#include "std_names.h"
#endif
#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

/* Sizes the compiler cannot see through, so that it neither warns about
 * impossible constant requests nor folds the calls away. */
static volatile size_t size_max_v = SIZE_MAX;
static volatile size_t ptrdiff_max_v = PTRDIFF_MAX;

static size_t live_blocks(void) {
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    return s.in_use_blocks;
}

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* Representative sizes of each range: small (size classes up to 1 KiB),
 * medium (classes up to 128 KiB) and large (own mapping), with the
 * boundaries and their neighbours. */
static const size_t range_sizes[] = {
    0, 1, 7, 8, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257,
    500, 1000, 1023, 1024, 1025, 2000, 4095, 4096, 4097, 8192, 10000, 32767, 32768, 65535,
    65536, 65537, 100000, 131071, 131072, 131073, 200000, 262144, 500000, 1048575, 1048576,
    1048577, 3 * MiB + 17, 4 * MiB, 8 * MiB + 1, 16 * MiB, 64 * MiB,
};
#define RANGE_SIZES_COUNT (sizeof(range_sizes) / sizeof(range_sizes[0]))

/* ------------------------------------------------------------------------- */

static void malloc_zero_returns_unique_pointers(void) {
    enum { N = 1000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = mapalloc_malloc(0);
        CHECK(p[i] != NULL);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) CHECKF(p[i] != p[j], "malloc(0) returned %p twice", p[i]);
    for (int i = 0; i < N; i++) mapalloc_free(p[i]);
}

static void malloc_is_16_byte_aligned(void) {
    for (size_t n = 1; n <= 5000; n++) {
        void *p = mapalloc_malloc(n);
        CHECKF(p && (uintptr_t)p % 16 == 0, "malloc(%zu) = %p", n, p);
        mapalloc_free(p);
    }
    for (size_t i = 0; i < RANGE_SIZES_COUNT; i++) {
        void *p = mapalloc_malloc(range_sizes[i]);
        CHECKF(p && (uintptr_t)p % 16 == 0, "malloc(%zu) = %p", range_sizes[i], p);
        mapalloc_free(p);
    }
}

static void free_null_is_a_noop(void) {
    size_t before = live_blocks();
    errno = 4321;
    mapalloc_free(NULL);
    CHECK(errno == 4321);
    CHECK(live_blocks() == before);
}

static void free_preserves_errno(void) {
    /* Every range, and frees that give memory back to the kernel (a large
     * block's munmap, a page emptied, a trim) included. */
    for (size_t i = 0; i < RANGE_SIZES_COUNT; i++) {
        void *p = mapalloc_malloc(range_sizes[i]);
        REQUIRE(p);
        errno = EBADF;
        mapalloc_free(p);
        CHECKF(errno == EBADF, "free of a %zu-byte block changed errno to %d", range_sizes[i], errno);
    }
    enum { N = 20000 };
    static void *p[N];
    for (int i = 0; i < N; i++) REQUIRE((p[i] = mapalloc_malloc(48)));
    for (int i = 0; i < N; i++) {
        errno = ENOTTY;
        mapalloc_free(p[i]);
        if (errno != ENOTTY) {
            CHECKF(errno == ENOTTY, "free #%d changed errno to %d", i, errno);
            break;
        }
    }
    errno = ENOTTY;
    mapalloc_free_sized(mapalloc_malloc(100), 100);
    CHECK(errno == ENOTTY);
}

static void blocks_are_distinct_and_keep_their_contents(void) {
    enum { N = 5000 };
    static unsigned char *p[N];
    static size_t n[N];
    rng_t r = {1};
    for (int i = 0; i < N; i++) {
        size_t k = rng_below(&r, 100);
        n[i] = k < 80 ? rng_range(&r, 0, 1024) : k < 98 ? rng_range(&r, 1025, 128 * KiB) : rng_range(&r, 128 * KiB, 2 * MiB);
        p[i] = mapalloc_malloc(n[i]);
        REQUIRE(p[i]);
        pattern_fill(p[i], n[i], (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        size_t bad = pattern_check(p[i], n[i], (uint64_t)i);
        CHECKF(bad == (size_t)-1, "block %d (%zu bytes at %p) changed at offset %zu", i, n[i], (void *)p[i], bad);
        mapalloc_free(p[i]);
    }
}

static void calloc_zeroes_even_reused_memory(void) {
    for (size_t i = 0; i < RANGE_SIZES_COUNT; i++) {
        size_t n = range_sizes[i];
        /* Dirty some blocks of this size, free them, then calloc: the
         * allocator is likely to hand back the same memory. */
        void *dirty[4];
        for (int k = 0; k < 4; k++) {
            dirty[k] = mapalloc_malloc(n);
            REQUIRE(dirty[k]);
            memset(dirty[k], 0xa5, n);
        }
        for (int k = 0; k < 4; k++) mapalloc_free(dirty[k]);
        for (int k = 0; k < 4; k++) {
            unsigned char *p = mapalloc_calloc(1, n);
            REQUIRE(p);
            size_t bad = (size_t)-1;
            for (size_t j = 0; j < n; j++)
                if (p[j]) { bad = j; break; }
            CHECKF(bad == (size_t)-1, "calloc(1, %zu) byte %zu is 0x%02x", n, bad, bad == (size_t)-1 ? 0 : p[bad]);
            dirty[k] = p;
        }
        for (int k = 0; k < 4; k++) mapalloc_free(dirty[k]);
    }
    unsigned *q = mapalloc_calloc(1000, sizeof(unsigned));
    REQUIRE(q);
    for (int j = 0; j < 1000; j++) CHECK(q[j] == 0);
    mapalloc_free(q);
}

static void calloc_of_zero_returns_a_unique_pointer(void) {
    void *a = mapalloc_calloc(0, 16), *b = mapalloc_calloc(16, 0), *c = mapalloc_calloc(0, 0);
    CHECK(a && b && c && a != b && b != c && a != c);
    mapalloc_free(a);
    mapalloc_free(b);
    mapalloc_free(c);
}

static void calloc_overflow_gives_null_enomem(void) {
    const size_t pairs[][2] = {
        {size_max_v, 2}, {2, size_max_v}, {(size_t)1 << 32, (size_t)1 << 32},
        {size_max_v / 16 + 1, 16}, {16, size_max_v / 16 + 1}, {size_max_v, size_max_v},
        {(size_t)1 << 33, (size_t)1 << 31}, {ptrdiff_max_v, 3},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        errno = 0;
        void *p = mapalloc_calloc(pairs[i][0], pairs[i][1]);
        CHECKF(p == NULL && errno == ENOMEM, "calloc(%zu, %zu) = %p, errno %d", pairs[i][0], pairs[i][1], p, errno);
    }
}

static void reallocarray_overflow_gives_null_enomem_and_keeps_the_block(void) {
    errno = 0;
    size_t two32 = size_max_v / ((size_t)1 << 32) + 1; /* 2^32, unknown to the compiler */
    void *q = mapalloc_reallocarray(NULL, two32, two32);
    CHECKF(q == NULL && errno == ENOMEM, "reallocarray(NULL, 2^32, 2^32) = %p, errno %d", q, errno);
    unsigned char *p = mapalloc_malloc(100);
    REQUIRE(p);
    pattern_fill(p, 100, 7);
    errno = 0;
    q = mapalloc_reallocarray(p, size_max_v / 8 + 1, 8);
    CHECKF(q == NULL && errno == ENOMEM, "reallocarray(p, SIZE_MAX/8+1, 8) = %p, errno %d", q, errno);
    CHECK(pattern_check(p, 100, 7) == (size_t)-1);
    /* Without overflow it is realloc. */
    q = mapalloc_reallocarray(p, 300, 4);
    REQUIRE(q);
    CHECK(pattern_check(q, 100, 7) == (size_t)-1);
    CHECK(mapalloc_usable_size(q) >= 1200);
    mapalloc_free(q);
}

static void impossible_sizes_give_null_enomem(void) {
    const size_t sizes[] = {
        size_max_v, size_max_v - 1, size_max_v - 4095, size_max_v - 65536, size_max_v / 2,
        ptrdiff_max_v, ptrdiff_max_v + 1, ptrdiff_max_v - 4096, (size_t)1 << 48, (size_t)1 << 62,
    };
    unsigned char *keep = mapalloc_malloc(200);
    REQUIRE(keep);
    pattern_fill(keep, 200, 3);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        void *p;
        int rc;
#define EXPECT_ENOMEM(call)                                                                          \
    do {                                                                                             \
        errno = 0;                                                                                   \
        p = (call);                                                                                  \
        CHECKF(p == NULL && errno == ENOMEM, "%s with n=%zu: %p, errno %d", #call, n, p, errno);     \
        if (p) mapalloc_free(p);                                                                     \
    } while (0)
        EXPECT_ENOMEM(mapalloc_malloc(n));
        EXPECT_ENOMEM(mapalloc_calloc(1, n));
        EXPECT_ENOMEM(mapalloc_realloc(NULL, n));
        EXPECT_ENOMEM(mapalloc_realloc(keep, n));
        EXPECT_ENOMEM(mapalloc_reallocarray(keep, 1, n));
        EXPECT_ENOMEM(mapalloc_aligned_alloc(64, n));
        EXPECT_ENOMEM(mapalloc_aligned_alloc(MiB, n));
        EXPECT_ENOMEM(mapalloc_memalign(4096, n));
        EXPECT_ENOMEM(mapalloc_valloc(n));
        EXPECT_ENOMEM(mapalloc_pvalloc(n));
#undef EXPECT_ENOMEM
        void *out = NULL;
        errno = 1234;
        rc = mapalloc_posix_memalign(&out, 64, n);
        CHECKF(rc == ENOMEM && errno == 1234, "posix_memalign(64, %zu) = %d, errno %d", n, rc, errno);
        if (rc == 0) mapalloc_free(out);
    }
    /* A failed realloc leaves the block alone. */
    CHECK(pattern_check(keep, 200, 3) == (size_t)-1);
    mapalloc_free(keep);
}

static void impossible_alignments_give_null_enomem(void) {
    const size_t aligns[] = {(size_t)1 << 47, (size_t)1 << 62, (size_t)1 << 63};
    for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
        size_t a = aligns[i];
        errno = 0;
        void *p = mapalloc_aligned_alloc(a, 16);
        CHECKF(p == NULL && errno == ENOMEM, "aligned_alloc(%zu, 16) = %p, errno %d", a, p, errno);
        errno = 0;
        p = mapalloc_memalign(a, 16);
        CHECKF(p == NULL && errno == ENOMEM, "memalign(%zu, 16) = %p, errno %d", a, p, errno);
        void *out = NULL;
        int rc = mapalloc_posix_memalign(&out, a, 16);
        CHECKF(rc == ENOMEM, "posix_memalign(%zu, 16) = %d", a, rc);
    }
}

static void realloc_of_null_is_malloc(void) {
    for (size_t i = 0; i < RANGE_SIZES_COUNT; i++) {
        size_t n = range_sizes[i];
        size_t before = live_blocks();
        unsigned char *p = mapalloc_realloc(NULL, n);
        CHECKF(p != NULL, "realloc(NULL, %zu) = NULL", n);
        if (!p) continue;
        CHECK(live_blocks() == before + 1);
        CHECK(mapalloc_usable_size(p) >= n);
        pattern_fill(p, n, n);
        CHECK(pattern_check(p, n, n) == (size_t)-1);
        mapalloc_free(p);
        CHECK(live_blocks() == before);
    }
}

static void realloc_to_zero_frees_and_returns_null(void) {
    for (size_t i = 0; i < RANGE_SIZES_COUNT; i++) {
        size_t n = range_sizes[i];
        void *p = mapalloc_malloc(n);
        REQUIRE(p);
        size_t before = live_blocks();
        void *q = mapalloc_realloc(p, 0);
        CHECKF(q == NULL, "realloc(%zu-byte block, 0) = %p", n, q);
        CHECKF(live_blocks() == before - 1, "realloc(%zu-byte block, 0) left %zu live blocks, expected %zu",
               n, live_blocks(), before - 1);
        if (q) mapalloc_free(q);
    }
}

/* Grow one block step by step from 1 byte to 64 MiB, then shrink it back,
 * checking after every step that the common prefix survived. */
static void realloc_keeps_contents_growing_and_shrinking(void) {
    size_t n = 1;
    unsigned char *p = mapalloc_malloc(n);
    REQUIRE(p);
    pattern_fill(p, n, 11);
    uint64_t seed = 11;
    for (int dir = 0; dir < 2; dir++) {
        for (;;) {
            size_t next = dir == 0 ? n + n / 3 + 13 : n - n / 4 - 5;
            if (dir == 0 && next > 64 * MiB) next = 64 * MiB;
            if (dir == 1 && (n < 40 || next < 1)) break;
            unsigned char *q = mapalloc_realloc(p, next);
            CHECKF(q != NULL, "realloc(%zu -> %zu) = NULL", n, next);
            if (!q) break;
            size_t keep = n < next ? n : next;
            size_t bad = pattern_check(q, keep, seed);
            CHECKF(bad == (size_t)-1, "realloc %zu -> %zu (%p -> %p) lost byte %zu", n, next, (void *)p, (void *)q, bad);
            CHECK(mapalloc_usable_size(q) >= next);
            p = q;
            n = next;
            seed = mix64(seed);
            pattern_fill(p, n, seed);
            if (dir == 0 && n == 64 * MiB) break;
        }
    }
    mapalloc_free(p);
}

/* Every pair of sizes from lo to hi (of range_sizes), both directions, with
 * another block allocated next so that growing in place is not always
 * possible. */
static void realloc_between(size_t lo, size_t hi) {
    for (size_t i = 0; i < RANGE_SIZES_COUNT; i++) {
        for (size_t j = 0; j < RANGE_SIZES_COUNT; j++) {
            size_t a = range_sizes[i], b = range_sizes[j];
            if (a < lo || a > hi || b < lo || b > hi || b == 0) continue;
            if (hi <= 4 * MiB && j % 3 != 0) continue; /* a third of the pairs is plenty */
            unsigned char *p = mapalloc_malloc(a);
            REQUIRE(p);
            pattern_fill(p, a, a ^ b);
            void *neighbour = mapalloc_malloc(a);
            unsigned char *q = mapalloc_realloc(p, b);
            CHECKF(q != NULL, "realloc %zu -> %zu = NULL", a, b);
            if (q) {
                size_t keep = a < b ? a : b;
                size_t bad = pattern_check(q, keep, a ^ b);
                CHECKF(bad == (size_t)-1, "realloc %zu -> %zu lost byte %zu", a, b, bad);
                CHECK(mapalloc_usable_size(q) >= b);
                mapalloc_free(q);
            }
            mapalloc_free(neighbour);
        }
    }
}

/* Small, medium and large up to 4 MiB, in every combination. */
static void realloc_keeps_contents_across_every_range(void) { realloc_between(0, 4 * MiB); }

/* Large blocks from 4 to 64 MiB growing and shrinking next to a neighbour. */
static void realloc_keeps_contents_of_blocks_of_4_to_64_mib(void) { realloc_between(4 * MiB, 64 * MiB); }

/* Large blocks grow in place (or by mremap) without copying: the address is
 * kept, or the allocator used mremap. */
static void realloc_grows_large_blocks_without_copying(void) {
    size_t n = 2 * MiB;
    unsigned char *p = mapalloc_malloc(n);
    REQUIRE(p);
    pattern_fill(p, n, 99);
    while (n < 64 * MiB) {
        struct mapalloc_stats before, after;
        mapalloc_stats_get(&before);
        size_t next = 2 * n + 4096 * 3 + 5;
        if (next > 64 * MiB) next = 64 * MiB;
        unsigned char *q = mapalloc_realloc(p, next);
        mapalloc_stats_get(&after);
        REQUIRE(q);
        CHECKF(q == p || after.mremap_calls > before.mremap_calls,
               "realloc %zu -> %zu moved %p -> %p without mremap", n, next, (void *)p, (void *)q);
        CHECK(pattern_check(q, n, 99) == (size_t)-1);
        CHECK(mapalloc_usable_size(q) >= next);
        pattern_fill(q, next, 99); /* the new tail is writable too */
        p = q;
        n = next;
    }
    /* Shrinking a large block keeps it in place. */
    unsigned char *q = mapalloc_realloc(p, 3 * MiB);
    REQUIRE(q);
    CHECK(pattern_check(q, 3 * MiB, 99) == (size_t)-1);
    mapalloc_free(q);
}

static void usable_size_is_at_least_the_request(void) {
    CHECK(mapalloc_usable_size(NULL) == 0);
    for (size_t n = 0; n <= 70000; n++) {
        unsigned char *p = mapalloc_malloc(n);
        REQUIRE(p);
        size_t u = mapalloc_usable_size(p);
        if (u < n) {
            CHECKF(u >= n, "usable_size(malloc(%zu)) = %zu", n, u);
            mapalloc_free(p);
            continue;
        }
        /* The whole usable size is ours to write. */
        if (u) {
            p[0] = 1;
            p[u - 1] = 2;
        }
        if (n % 997 == 0) memset(p, 0x77, u);
        mapalloc_free(p);
    }
    for (size_t k = 17; k <= 26; k++) {
        for (int d = -2; d <= 2; d++) {
            size_t n = ((size_t)1 << k) + (size_t)(d * 4095);
            unsigned char *p = mapalloc_malloc(n);
            REQUIRE(p);
            size_t u = mapalloc_usable_size(p);
            CHECKF(u >= n, "usable_size(malloc(%zu)) = %zu", n, u);
            if (u >= n) memset(p, 0x33, u);
            mapalloc_free(p);
        }
    }
    /* And for the other ways of allocating. */
    for (size_t i = 0; i < RANGE_SIZES_COUNT; i++) {
        size_t n = range_sizes[i];
        void *c = mapalloc_calloc(1, n), *a = mapalloc_aligned_alloc(256, n), *r = mapalloc_realloc(mapalloc_malloc(1), n + 1);
        REQUIRE(c && a && r);
        CHECK(mapalloc_usable_size(c) >= n);
        CHECK(mapalloc_usable_size(a) >= n);
        CHECK(mapalloc_usable_size(r) >= n + 1);
        mapalloc_free(c);
        mapalloc_free(a);
        mapalloc_free(r);
    }
}

/* aligned_alloc, memalign and posix_memalign: every power of two from 1 to
 * 4 MiB, several sizes each, several blocks live at once. */
enum aligned_fn { FN_ALIGNED_ALLOC, FN_MEMALIGN, FN_POSIX_MEMALIGN };

static void *aligned_by(enum aligned_fn fn, size_t align, size_t n) {
    void *p = NULL;
    switch (fn) {
    case FN_ALIGNED_ALLOC: return mapalloc_aligned_alloc(align, n);
    case FN_MEMALIGN: return mapalloc_memalign(align, n);
    case FN_POSIX_MEMALIGN: return mapalloc_posix_memalign(&p, align, n) == 0 ? p : NULL;
    }
    return NULL;
}

static void aligned_blocks_are_aligned_and_writable(enum aligned_fn fn, const char *name) {
    enum { LIVE = 6 };
    for (size_t align = 1; align <= 4 * MiB; align *= 2) {
        if (fn == FN_POSIX_MEMALIGN && align < sizeof(void *)) continue;
        const size_t sizes[] = {1, 8, 16, align / 2 + 1, align - 1, align, align + 1, 100, 1000, 5000, 70000, 300000};
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t n = sizes[s] ? sizes[s] : 1;
            unsigned char *p[LIVE];
            for (int k = 0; k < LIVE; k++) {
                p[k] = aligned_by(fn, align, n);
                CHECKF(p[k] != NULL, "%s(%zu, %zu) = NULL", name, align, n);
                if (!p[k]) continue;
                CHECKF((uintptr_t)p[k] % align == 0, "%s(%zu, %zu) = %p", name, align, n, (void *)p[k]);
                CHECKF(mapalloc_usable_size(p[k]) >= n, "%s(%zu, %zu): usable %zu", name, align, n,
                       mapalloc_usable_size(p[k]));
                pattern_fill(p[k], n, align ^ n ^ (uint64_t)k);
            }
            for (int k = 0; k < LIVE; k++) {
                if (!p[k]) continue;
                size_t bad = pattern_check(p[k], n, align ^ n ^ (uint64_t)k);
                CHECKF(bad == (size_t)-1, "%s(%zu, %zu) block %d changed at %zu", name, align, n, k, bad);
                mapalloc_free(p[k]);
            }
        }
    }
}

static void aligned_alloc_aligns_every_power_of_two(void) { aligned_blocks_are_aligned_and_writable(FN_ALIGNED_ALLOC, "aligned_alloc"); }
static void memalign_aligns_every_power_of_two(void) { aligned_blocks_are_aligned_and_writable(FN_MEMALIGN, "memalign"); }
static void posix_memalign_aligns_every_power_of_two(void) { aligned_blocks_are_aligned_and_writable(FN_POSIX_MEMALIGN, "posix_memalign"); }

static void aligned_alloc_of_zero_bytes_gives_a_valid_block(void) {
    for (size_t align = 1; align <= 4 * MiB; align *= 2) {
        void *p = mapalloc_aligned_alloc(align, 0), *q = mapalloc_memalign(align, 0);
        CHECKF(p && (uintptr_t)p % align == 0, "aligned_alloc(%zu, 0) = %p", align, p);
        CHECKF(q && (uintptr_t)q % align == 0, "memalign(%zu, 0) = %p", align, q);
        if (!p || !q) continue;
        CHECK(p != q);
        (void)mapalloc_usable_size(p); /* any size, but a valid block */
        (void)mapalloc_usable_size(q);
        mapalloc_free_aligned_sized(p, align, 0);
        mapalloc_free(q);
    }
}

static void aligned_blocks_can_be_reallocated(void) {
    for (size_t align = 16; align <= 4 * MiB; align *= 4) {
        unsigned char *p = mapalloc_aligned_alloc(align, 1000);
        REQUIRE(p);
        pattern_fill(p, 1000, align);
        unsigned char *q = mapalloc_realloc(p, 300000);
        REQUIRE(q);
        CHECK(pattern_check(q, 1000, align) == (size_t)-1);
        mapalloc_free(q);
    }
}

static const size_t bad_aligns[] = {0, 3, 5, 6, 12, 24, 48, 100, 3 * 4096, 3 * MiB, (size_t)-1, ((size_t)1 << 63) + 1};
#define BAD_ALIGNS_COUNT (sizeof(bad_aligns) / sizeof(bad_aligns[0]))

static void aligned_alloc_rejects_bad_alignments_with_einval(void) {
    for (size_t i = 0; i < BAD_ALIGNS_COUNT; i++) {
        errno = 0;
        void *p = mapalloc_aligned_alloc(bad_aligns[i], 64);
        CHECKF(p == NULL && errno == EINVAL, "aligned_alloc(%zu, 64) = %p, errno %d", bad_aligns[i], p, errno);
        if (p) mapalloc_free(p);
    }
}

static void memalign_rejects_bad_alignments_with_einval(void) {
    for (size_t i = 0; i < BAD_ALIGNS_COUNT; i++) {
        errno = 0;
        void *p = mapalloc_memalign(bad_aligns[i], 64);
        CHECKF(p == NULL && errno == EINVAL, "memalign(%zu, 64) = %p, errno %d", bad_aligns[i], p, errno);
        if (p) mapalloc_free(p);
    }
}

static void posix_memalign_rejects_bad_alignments_with_einval(void) {
    const size_t small_aligns[] = {1, 2, 4}; /* powers of two below sizeof(void *) */
    for (size_t i = 0; i < BAD_ALIGNS_COUNT + 3; i++) {
        size_t a = i < BAD_ALIGNS_COUNT ? bad_aligns[i] : small_aligns[i - BAD_ALIGNS_COUNT];
        void *out = (void *)0x1;
        errno = 777;
        int rc = mapalloc_posix_memalign(&out, a, 64);
        CHECKF(rc == EINVAL && errno == 777, "posix_memalign(%zu, 64) = %d, errno %d", a, rc, errno);
        if (rc == 0) mapalloc_free(out);
    }
}

static void valloc_and_pvalloc_are_page_aligned_and_pvalloc_rounds_up(void) {
    size_t pg = page_size();
    const size_t sizes[] = {1, 100, 4095, 4096, 4097, 10000, 200000, 3 * MiB + 1};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        unsigned char *v = mapalloc_valloc(n), *pv = mapalloc_pvalloc(n);
        REQUIRE(v && pv);
        CHECKF((uintptr_t)v % pg == 0, "valloc(%zu) = %p", n, (void *)v);
        CHECKF((uintptr_t)pv % pg == 0, "pvalloc(%zu) = %p", n, (void *)pv);
        CHECK(mapalloc_usable_size(v) >= n);
        size_t rounded = (n + pg - 1) / pg * pg;
        CHECKF(mapalloc_usable_size(pv) >= rounded, "pvalloc(%zu): usable %zu < %zu", n, mapalloc_usable_size(pv), rounded);
        memset(v, 1, n);
        memset(pv, 2, rounded); /* the whole rounded size is the caller's */
        mapalloc_free(v);
        mapalloc_free(pv);
    }
    void *z = mapalloc_pvalloc(0);
    CHECK(z != NULL && (uintptr_t)z % pg == 0);
    mapalloc_free(z);
}

static void free_sized_and_free_aligned_sized_free_the_block(void) {
    size_t base = live_blocks();
    for (size_t i = 0; i < RANGE_SIZES_COUNT; i++) {
        size_t n = range_sizes[i];
        void *p = mapalloc_malloc(n);
        REQUIRE(p);
        mapalloc_free_sized(p, n);
        CHECKF(live_blocks() == base, "free_sized(%zu) left %zu blocks", n, live_blocks() - base);
        void *c = mapalloc_calloc(1, n);
        REQUIRE(c);
        mapalloc_free_sized(c, n);
        for (size_t a = 16; a <= MiB && n > 0; a *= 8) { /* n == 0: aligned_alloc_of_zero_bytes_... */
            void *q = mapalloc_aligned_alloc(a, n);
            REQUIRE(q);
            mapalloc_free_aligned_sized(q, a, n);
            CHECKF(live_blocks() == base, "free_aligned_sized(%zu, %zu) left %zu blocks", a, n, live_blocks() - base);
        }
    }
    mapalloc_free_sized(NULL, 0);
    mapalloc_free_aligned_sized(NULL, 64, 0);
    CHECK(live_blocks() == base);
}

static void statistics_count_live_blocks(void) {
    struct mapalloc_stats before, during, after;
    mapalloc_stats_get(&before);
    enum { N = 100 };
    void *p[N];
    for (int i = 0; i < N; i++) REQUIRE((p[i] = mapalloc_malloc(100 + (size_t)i)));
    void *big = mapalloc_malloc(4 * MiB);
    REQUIRE(big);
    mapalloc_stats_get(&during);
    CHECK(during.in_use_blocks == before.in_use_blocks + N + 1);
    CHECK(during.in_use >= before.in_use + 4 * MiB + N * 100);
    CHECK(during.large_blocks == before.large_blocks + 1);
    CHECK(during.large_bytes >= before.large_bytes + 4 * MiB);
    CHECK(during.committed >= during.in_use);
    CHECK(during.reserved >= during.committed);
    CHECK(during.mmap_calls > 0);
    for (int i = 0; i < N; i++) mapalloc_free(p[i]);
    mapalloc_free(big);
    mapalloc_stats_get(&after);
    CHECK(after.in_use_blocks == before.in_use_blocks);
    CHECK(after.in_use == before.in_use);
    CHECK(after.large_blocks == before.large_blocks);
}

static void check_heap_counts_live_blocks(void) {
    size_t base = mapalloc_check_heap();
    enum { N = 300 };
    void *p[N];
    rng_t r = {5};
    for (int i = 0; i < N; i++) REQUIRE((p[i] = mapalloc_malloc(rng_range(&r, 1, 64 * KiB))));
    size_t seen = mapalloc_check_heap();
    CHECKF(seen == base + N, "check_heap saw %zu blocks, expected %zu", seen, base + N);
    for (int i = 0; i < N; i += 2) mapalloc_free(p[i]);
    seen = mapalloc_check_heap();
    CHECKF(seen == base + N / 2, "check_heap saw %zu blocks, expected %zu", seen, base + N / 2);
    for (int i = 1; i < N; i += 2) mapalloc_free(p[i]);
    CHECK(mapalloc_check_heap() == base);
}

static void trim_returns_free_memory_to_the_kernel(void) {
    enum { N = 40000 };
    static void *p[N];
    mapalloc_trim(0);
    size_t rss0 = rss_bytes();
    for (int i = 0; i < N; i++) {
        p[i] = mapalloc_malloc(1000 + (size_t)(i % 7) * 300); /* about 64 MiB */
        REQUIRE(p[i]);
        memset(p[i], 0x42, 1000);
    }
    void *big = mapalloc_malloc(32 * MiB);
    REQUIRE(big);
    memset(big, 0x42, 32 * MiB);
    size_t rss_full = rss_bytes();
    CHECKF(rss_full > rss0 + 64 * MiB, "RSS did not grow: %zu -> %zu", rss0, rss_full);
    for (int i = 0; i < N; i++) mapalloc_free(p[i]);
    mapalloc_free(big);
    struct mapalloc_stats before, after;
    mapalloc_stats_get(&before);
    int released = mapalloc_trim(0);
    int released_again = mapalloc_trim(0); /* before anything else allocates */
    mapalloc_stats_get(&after);
    size_t rss_after = rss_bytes();
    /* Whatever the purge delay did already, nothing free is resident now. */
    CHECKF(rss_after < rss0 + (rss_full - rss0) / 8, "RSS %zu -> %zu -> %zu after trim", rss0, rss_full, rss_after);
    CHECKF(after.committed < 8 * MiB, "committed %zu -> %zu after trim", before.committed, after.committed);
    CHECK(released == 0 || released == 1);
    if (before.committed > after.committed)
        CHECKF(released == 1, "trim released %zu committed bytes (%zu munmap, %zu madvise calls) but returned %d",
               before.committed - after.committed, (size_t)(after.munmap_calls - before.munmap_calls),
               (size_t)(after.madvise_calls - before.madvise_calls), released);
    /* Nothing was left to release a second time. */
    CHECK(released_again == 0);
}

/* A fresh heap hands out a class's blocks side by side in address order, so
 * that objects built one after another are walked as one stream (page.c).
 * Secure mode hands them out in an order not predictable from the previous
 * block: not address order. */
static void fresh_blocks_of(size_t size, bool secure) {
    enum { N = 200 };
    mapalloc_heap *h = mapalloc_heap_create();
    REQUIRE(h);
    char *p[N];
    for (int i = 0; i < N; i++) REQUIRE(p[i] = mapalloc_heap_malloc(h, size));
    /* The next block up: one block size on (secure mode's usable size is
     * the request, and its class at most a quarter more). */
    size_t step = mapalloc_usable_size(p[0]);
    int in_order = 0;
    for (int i = 1; i < N; i++) in_order += p[i] > p[i - 1] && (size_t)(p[i] - p[i - 1]) <= step + step / 4 + 16;
    if (secure)
        CHECKF(in_order < N / 4, "secure mode, %zu bytes: %d of %d blocks follow the previous one", size, in_order, N - 1);
    else
        /* Only a new 64 KiB page breaks the run (every 21 blocks of 3000 bytes). */
        CHECKF(in_order >= (size <= 64 ? N - 1 : N * 9 / 10), "%zu bytes: %d of %d blocks follow the previous one", size,
               in_order, N - 1);
    for (int i = 0; i < N; i++) mapalloc_heap_free(h, p[i]);
    mapalloc_heap_destroy(h);
}

static void fresh_heap_blocks_come_in_address_order(void) {
    bool secure = getenv("MAPALLOC_SECURE") && strcmp(getenv("MAPALLOC_SECURE"), "1") == 0;
    fresh_blocks_of(48, secure);
    fresh_blocks_of(1500, secure); /* classes with few blocks to an OS page */
    fresh_blocks_of(3000, secure);
}

/* Every heap's first region lies in one 8 GiB window between 32 and 96 TiB
 * (region.c region_hint), so that the heaps' entries of the region map share
 * one page: a window per heap cost each thread 8 KiB more resident memory.
 * The window is drawn from the process's secret: three runs of this test
 * binary must not all use the same one (a false alarm needs two repeats of
 * 1 in 8192). A slot another heap took already sends a region elsewhere, so
 * the test asks for the window of all but two of eight heaps. Nor may the
 * heaps' slots relative to each other repeat: they are keyed by the secret
 * too, so one heap's address does not tell the others'. Sanitizer
 * builds let the kernel place every region. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define API_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define API_UNDER_SANITIZER 1
#endif
/* The 8 GiB window most of eight fresh heaps' first blocks lie in; *count:
 * how many do; *pattern: the heaps' 4 MiB slots relative to the first one's. */
static uintptr_t placement_window(int *count, uint64_t *pattern) {
    enum { N = 8 };
    mapalloc_heap *h[N];
    uintptr_t p[N];
    for (int i = 0; i < N; i++) {
        REQUIRE(h[i] = mapalloc_heap_create());
        void *b = mapalloc_heap_malloc(h[i], 64);
        REQUIRE(b);
        p[i] = (uintptr_t)b;
    }
    uintptr_t window = 0;
    *count = 0;
    for (int i = 0; i < N; i++) {
        int same = 0;
        for (int j = 0; j < N; j++) same += p[j] >> 33 == p[i] >> 33;
        if (same > *count) { *count = same; window = p[i] >> 33 << 33; }
    }
    *pattern = 0;
    for (int i = 1; i < N; i++) *pattern = *pattern * 2048 + (((p[i] ^ p[0]) >> 22) & 2047);
    for (int i = 0; i < N; i++) {
        mapalloc_heap_free(h[i], (void *)p[i]);
        mapalloc_heap_destroy(h[i]);
    }
    return window;
}

static void heaps_share_one_placement_window(void) {
    int count;
    uint64_t pattern;
    uintptr_t window = placement_window(&count, &pattern);
    if (getenv("API_PRINT_WINDOW")) { /* a child run, below */
        printf("window %#lx %#llx\n", (unsigned long)window, (unsigned long long)pattern);
        return;
    }
#ifdef API_UNDER_SANITIZER
    (void)window;
    printf("(sanitizer build: regions are placed by the kernel; nothing to check)\n");
#else
    CHECKF(count >= 6, "only %d of 8 heaps in one 8 GiB window", count);
    CHECKF(window >= (uintptr_t)32 << 40 && window < (uintptr_t)96 << 40, "window at %#lx, not in 32..96 TiB",
           (unsigned long)window);
    char exe[PATH_MAX], cmd[PATH_MAX + 128];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    REQUIRE(len > 0);
    exe[len] = '\0';
    snprintf(cmd, sizeof cmd, "API_PRINT_WINDOW=1 '%s' heaps_share_one_placement_window", exe);
    unsigned long seen[3];
    unsigned long long layout[3];
    for (int run = 0; run < 3; run++) {
        FILE *f = popen(cmd, "r");
        REQUIRE(f);
        char line[256];
        seen[run] = 0;
        layout[run] = 0;
        while (fgets(line, sizeof line, f)) sscanf(line, "window %lx %llx", &seen[run], &layout[run]);
        CHECKF(pclose(f) == 0, "child run %d failed", run);
        CHECKF(seen[run] != 0, "child run %d printed no window", run);
    }
    CHECKF(seen[0] != seen[1] || seen[1] != seen[2], "three processes all placed their heaps at %#lx", seen[0]);
    /* Nor the heaps' places relative to each other: one heap's address
     * must not tell where the others are. */
    CHECKF(layout[0] != layout[1] || layout[1] != layout[2], "three processes laid their heaps out alike (%#llx)",
           layout[0]);
#endif
}

/* A page taken up again after frees hands its free blocks out in address
 * order, not in the order they were freed (page.c page_sort_free). In a
 * fresh thread (a fresh heap): fill three pages of 48-byte blocks, free all
 * but one block of the first in a shuffled order, then allocate them again:
 * once the class cache (which keeps the last frees, newest first) is used
 * up, each block from the first page follows the previous one upwards. */
enum { REUSE_SIZE = 48, REUSE_PER_PAGE = 65536 / REUSE_SIZE, REUSE_N = 3 * REUSE_PER_PAGE };
static char *reuse_p[REUSE_N];

static void *reuse_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < REUSE_N; i++) REQUIRE(reuse_p[i] = mapalloc_malloc(REUSE_SIZE));
    char *lo = reuse_p[0], *hi = reuse_p[0] + 65536;
    static int order[REUSE_PER_PAGE];
    int n = 0;
    for (int i = 1; i < REUSE_N; i++)
        if (reuse_p[i] >= lo && reuse_p[i] < hi) order[n++] = i;
    rng_t r = {99};
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_range(&r, 0, (uint64_t)i), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < n; i++) mapalloc_free(reuse_p[order[i]]);
    int up = 0, pairs = 0;
    char *prev = NULL;
    for (int i = 0; i < n; i++) {
        char *q = mapalloc_malloc(REUSE_SIZE);
        REQUIRE(q);
        reuse_p[order[i]] = q;
        if (q >= lo && q < hi) {
            if (prev) { pairs++; up += q > prev; }
            prev = q;
        }
    }
    CHECKF(pairs > n / 2, "only %d of %d blocks came back from the first page", pairs + 1, n);
    CHECKF(up >= pairs * 9 / 10, "%d of %d blocks followed the previous one upwards", up, pairs);
    for (int i = 0; i < REUSE_N; i++) mapalloc_free(reuse_p[i]);
    return NULL;
}

static void reused_page_hands_out_blocks_in_address_order(void) {
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, reuse_thread, NULL) == 0);
    REQUIRE(pthread_join(t, NULL) == 0);
}

/* ---- Medium blocks (above 4 KiB up to the large threshold, medium.c) ---- */

static bool secure_mode(void) {
    char v[8];
    return mapalloc_option_get("secure", v, sizeof v) > 0 && v[0] == '1';
}

static size_t round_granule(size_t n) { return (n + 255) & ~(size_t)255; }

/* Run fn in a new thread: a heap of its own, fresh. */
static void in_new_thread(void *(*fn)(void *)) {
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, fn, NULL) == 0);
    REQUIRE(pthread_join(t, NULL) == 0);
}

/* A fresh heap places medium blocks exact fit (256-byte granules), side by
 * side: each starts where the one before ends, so their ends share OS pages
 * with their neighbours' starts. (Secure mode: size classes.) */
static void *medium_packed_thread(void *arg) {
    (void)arg;
    enum { N = 200 };
    static char *p[N];
    uint64_t x = 0x9E3779B97F4A7C15u;
    int adjacent = 0;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = 4097 + (size_t)(x % 60000);
        p[i] = mapalloc_malloc(n);
        REQUIRE(p[i]);
        memset(p[i], i, n);
        size_t u = mapalloc_usable_size(p[i]);
        CHECKF(u == round_granule(n), "malloc(%zu): usable size %zu, want %zu", n, u, round_granule(n));
        CHECKF(((uintptr_t)p[i] & 255) == 0, "medium block %p not granule-aligned", (void *)p[i]);
        if (i && p[i] == p[i - 1] + mapalloc_usable_size(p[i - 1])) adjacent++;
    }
    /* Only a new 1 MiB page breaks the run: about 1 in 30 here. */
    CHECKF(adjacent >= N * 8 / 10, "only %d of %d medium blocks followed the previous one", adjacent, N - 1);
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < mapalloc_usable_size(p[i]) && k < 4096; k += 512)
            CHECKF(p[i][k] == (char)i, "medium block %d overwritten", i);
    for (int i = 0; i < N; i++) mapalloc_free(p[i]);
    return NULL;
}

static void medium_blocks_are_exact_fit_and_packed(void) {
    if (!secure_mode()) in_new_thread(medium_packed_thread);
}

/* realloc of a medium block grows into the free granules after it without
 * moving, and a shrink gives its tail back for the next block. */
static void *medium_resize_thread(void *arg) {
    (void)arg;
    char *p = mapalloc_malloc(10000);
    REQUIRE(p);
    memset(p, 0x5a, 10000);
    char *q = mapalloc_realloc(p, 60000);
    CHECKF(q == p, "realloc 10000 -> 60000 moved the block (%p -> %p)", (void *)p, (void *)q);
    REQUIRE(q);
    CHECK(mapalloc_usable_size(q) == round_granule(60000));
    for (int i = 0; i < 10000; i++) CHECKF(q[i] == 0x5a, "byte %d lost growing", i);
    memset(q + 10000, 0x6b, 50000);
    char *r = mapalloc_realloc(q, 5000);
    CHECKF(r == q && mapalloc_usable_size(r) == round_granule(5000), "shrink to 5000: %p (%zu bytes)", (void *)r,
           r ? mapalloc_usable_size(r) : 0);
    for (int i = 0; i < 5000; i++) CHECKF(r[i] == 0x5a, "byte %d lost shrinking", i);
    char *s = mapalloc_malloc(20000);
    CHECKF(s == r + round_granule(5000), "the next block %p did not take the freed tail at %p", (void *)s,
           (void *)(r + round_granule(5000)));
    /* Growth blocked by s: realloc moves, keeping the contents. */
    char *t = mapalloc_realloc(r, 30000);
    REQUIRE(t);
    CHECK(t != r);
    for (int i = 0; i < 5000; i++) CHECKF(t[i] == 0x5a, "byte %d lost moving", i);
    mapalloc_free(s);
    mapalloc_free(t);
    return NULL;
}

static void medium_realloc_resizes_in_place(void) {
    if (!secure_mode()) in_new_thread(medium_resize_thread);
}

/* Medium blocks freed by another thread go back to their owner's pages,
 * which reuses them: no new page for the same blocks again. */
enum { MED_N = 48 };
static void *med_blocks[MED_N];
static void *medium_free_all(void *arg) {
    (void)arg;
    for (int i = 0; i < MED_N; i++) mapalloc_free(med_blocks[i]);
    return NULL;
}

static void *medium_owner_thread(void *arg) {
    (void)arg;
    struct mapalloc_class_stats m0, m1, m2;
    mapalloc_stats_medium(&m0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MED_N; i++) {
            med_blocks[i] = mapalloc_malloc(20000 + (size_t)i * 100);
            REQUIRE(med_blocks[i]);
            memset(med_blocks[i], i, 20000);
        }
        if (round == 0) mapalloc_stats_medium(&m1);
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, medium_free_all, NULL) == 0);
        REQUIRE(pthread_join(t, NULL) == 0);
    }
    mapalloc_stats_medium(&m2);
    CHECKF(m2.pages <= m1.pages, "medium pages %zu -> %zu -> %zu: the other thread's frees were not reused",
           m0.pages, m1.pages, m2.pages);
    CHECKF(m1.blocks >= m0.blocks + MED_N, "medium blocks %zu -> %zu", m0.blocks, m1.blocks);
    return NULL;
}

static void medium_blocks_freed_by_other_threads_are_reused(void) {
    if (!secure_mode()) in_new_thread(medium_owner_thread);
}

/* The whole OS pages of free runs between live medium blocks go back to
 * the kernel (after the purge delay, or at once with trim). */
static void *medium_purge_thread(void *arg) {
    (void)arg;
    enum { N = 64, SIZE = 60000 };
    static char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = mapalloc_malloc(SIZE);
        REQUIRE(p[i]);
        memset(p[i], 1, SIZE);
    }
    struct mapalloc_stats before, after;
    for (int i = 0; i < N; i++)
        if (i % 8) mapalloc_free(p[i]); /* every page keeps live blocks */
    mapalloc_stats_get(&before);
    mapalloc_trim(0);
    mapalloc_stats_get(&after);
    size_t freed = (size_t)N / 8 * 7 * SIZE;
    CHECKF(before.committed - after.committed >= freed * 3 / 4 && after.purged - before.purged >= freed * 3 / 4,
           "freed %zu bytes of medium blocks between live ones; trim: committed %zu -> %zu, purged +%zu", freed,
           before.committed, after.committed, after.purged - before.purged);
    for (int i = 0; i < N; i += 8)
        for (int k = 0; k < SIZE; k += 4096) CHECKF(p[i][k] == 1, "live medium block %d lost its contents", i);
    for (int i = 0; i < N; i += 8) mapalloc_free(p[i]);
    return NULL;
}

static void medium_free_runs_go_back_to_the_kernel(void) {
    if (!secure_mode()) in_new_thread(medium_purge_thread);
}

/* A loop that allocates and frees one medium block keeps its page, even
 * when it is not the heap's first: no page set up and given back (and, with
 * purge delay 0, advised away) each turn. */
static void *medium_loop_thread(void *arg) {
    (void)arg;
    enum { FILL = 8, TURNS = 1000 };
    char delay[32];
    REQUIRE(mapalloc_option_get("purge_delay_ms", delay, sizeof delay) > 0);
    REQUIRE(mapalloc_option_set("purge_delay_ms", "0") == 0);
    /* The first 1 MiB page left with a 50 KiB run: it stays first, and
     * the loop's 100 000 bytes go to a second page. */
    void *fill[FILL];
    for (int i = 0; i < FILL; i++) REQUIRE(fill[i] = mapalloc_malloc(i < FILL - 1 ? 128 << 10 : 78 << 10));
    struct mapalloc_stats before, after;
    mapalloc_stats_get(&before);
    for (int i = 0; i < TURNS; i++) {
        char *p = mapalloc_malloc(100000);
        REQUIRE(p);
        p[0] = p[99999] = 1;
        mapalloc_free(p);
    }
    mapalloc_stats_get(&after);
    size_t calls = (size_t)(after.madvise_calls - before.madvise_calls + after.mmap_calls - before.mmap_calls);
    /* A page given back each turn makes TURNS calls; maintenance (each
     * millisecond with purge delay 0) may purge the freed run a few times. */
    CHECKF(calls < TURNS / 10, "%d malloc/free turns of one medium block made %zu mmap and madvise calls", TURNS, calls);
    for (int i = 0; i < FILL; i++) mapalloc_free(fill[i]);
    REQUIRE(mapalloc_option_set("purge_delay_ms", delay) == 0);
    return NULL;
}

static void medium_malloc_free_loop_keeps_its_page(void) {
    if (!secure_mode()) in_new_thread(medium_loop_thread);
}

/* Destroying a first-class heap takes its pages off the committed count
 * exactly, medium pages whose free runs were purged before included. */
static size_t committed_now(void) {
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    return s.committed;
}

static void destroying_a_first_class_heap_returns_its_committed_bytes(void) {
    enum { N = 40, SIZE = 24 << 10 };
    char delay[32];
    REQUIRE(mapalloc_option_get("purge_delay_ms", delay, sizeof delay) > 0);
    REQUIRE(mapalloc_option_set("purge_delay_ms", "0") == 0); /* maintenance purges at once */
    mapalloc_free(mapalloc_malloc(16));
    size_t before = committed_now();
    mapalloc_heap *h = mapalloc_heap_create();
    REQUIRE(h);
    static char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = mapalloc_heap_malloc(h, SIZE);
        REQUIRE(p[i]);
        memset(p[i], 1, SIZE);
    }
    for (int i = 0; i < N - 1; i++) mapalloc_free(p[i]); /* the last keeps the page */
    /* Enough slow calls for the heap's maintenance to purge the free runs. */
    for (int i = 0; i < 300; i++) mapalloc_heap_free(h, mapalloc_heap_malloc(h, 5000));
    mapalloc_heap_destroy(h);
    size_t after = committed_now();
    REQUIRE(mapalloc_option_set("purge_delay_ms", delay) == 0);
    CHECKF(after == before, "committed %zu before the heap, %zu after destroying it", before, after);
}

/* ------------------------------------------------------------------------- */

#define PROMISES(X)                                               \
    X(malloc_zero_returns_unique_pointers)                        \
    X(malloc_is_16_byte_aligned)                                  \
    X(free_null_is_a_noop)                                        \
    X(free_preserves_errno)                                       \
    X(blocks_are_distinct_and_keep_their_contents)                \
    X(calloc_zeroes_even_reused_memory)                           \
    X(calloc_of_zero_returns_a_unique_pointer)                    \
    X(calloc_overflow_gives_null_enomem)                          \
    X(reallocarray_overflow_gives_null_enomem_and_keeps_the_block) \
    X(impossible_sizes_give_null_enomem)                          \
    X(impossible_alignments_give_null_enomem)                     \
    X(realloc_of_null_is_malloc)                                  \
    X(realloc_to_zero_frees_and_returns_null)                     \
    X(realloc_keeps_contents_growing_and_shrinking)               \
    X(realloc_keeps_contents_across_every_range)                  \
    X(realloc_keeps_contents_of_blocks_of_4_to_64_mib)            \
    X(realloc_grows_large_blocks_without_copying)                 \
    X(usable_size_is_at_least_the_request)                        \
    X(aligned_alloc_aligns_every_power_of_two)                    \
    X(memalign_aligns_every_power_of_two)                         \
    X(posix_memalign_aligns_every_power_of_two)                   \
    X(aligned_alloc_of_zero_bytes_gives_a_valid_block)            \
    X(aligned_blocks_can_be_reallocated)                          \
    X(aligned_alloc_rejects_bad_alignments_with_einval)           \
    X(memalign_rejects_bad_alignments_with_einval)                \
    X(posix_memalign_rejects_bad_alignments_with_einval)          \
    X(valloc_and_pvalloc_are_page_aligned_and_pvalloc_rounds_up)  \
    X(free_sized_and_free_aligned_sized_free_the_block)           \
    X(statistics_count_live_blocks)                               \
    X(check_heap_counts_live_blocks)                              \
    X(trim_returns_free_memory_to_the_kernel)                      \
    X(fresh_heap_blocks_come_in_address_order)                     \
    X(reused_page_hands_out_blocks_in_address_order)              \
    X(heaps_share_one_placement_window)                           \
    X(medium_blocks_are_exact_fit_and_packed)                     \
    X(medium_realloc_resizes_in_place)                            \
    X(medium_blocks_freed_by_other_threads_are_reused)            \
    X(medium_free_runs_go_back_to_the_kernel)                     \
    X(destroying_a_first_class_heap_returns_its_committed_bytes)   \
    X(medium_malloc_free_loop_keeps_its_page)

struct promise { const char *name; void (*fn)(void); };
#define ENTRY(name) {#name, name},
static const struct promise promises[] = {PROMISES(ENTRY)};
#define PROMISE_COUNT (sizeof(promises) / sizeof(promises[0]))

static bool run(const struct promise *p) {
    int before = check_failures;
    p->fn();
    bool ok = check_failures == before;
    printf("%-64s %s\n", p->name, ok ? "ok" : "FAILED");
    fflush(stdout);
    return ok;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < PROMISE_COUNT; i++) puts(promises[i].name);
        return 0;
    }
    /* --expect NAME...: the caller's list of promises must be exactly ours. */
    if (argc >= 2 && strcmp(argv[1], "--expect") == 0) {
        int bad = 0;
        for (size_t i = 0; i < PROMISE_COUNT; i++) {
            bool found = false;
            for (int a = 2; a < argc; a++) found |= strcmp(argv[a], promises[i].name) == 0;
            if (!found) { fprintf(stderr, "promise %s is not registered\n", promises[i].name); bad = 1; }
        }
        for (int a = 2; a < argc; a++) {
            bool found = false;
            for (size_t i = 0; i < PROMISE_COUNT; i++) found |= strcmp(argv[a], promises[i].name) == 0;
            if (!found) { fprintf(stderr, "no promise named %s\n", argv[a]); bad = 1; }
        }
        return bad;
    }
    int failed = 0, ran = 0;
    for (size_t i = 0; i < PROMISE_COUNT; i++) {
        bool selected = argc < 2;
        for (int a = 1; a < argc; a++) selected |= strcmp(argv[a], promises[i].name) == 0;
        if (!selected) continue;
        ran++;
        failed += !run(&promises[i]);
    }
    if (ran == 0 || ran < argc - 1) {
        fprintf(stderr, "no such promise among the arguments\n");
        return 2;
    }
    printf("%d promises kept, %d broken\n", ran - failed, failed);
    return failed ? 1 : 0;
}
