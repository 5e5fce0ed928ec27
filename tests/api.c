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
 * The promises of medium blocks are in api_medium.c, those of placement in
 * api_placement.c, linked into the same programs (api_parts.h).
 */
#define _GNU_SOURCE
#define TESTUTIL_SHARED_FAILURES
#include "mapalloc.h"
#ifdef API_STANDARD_NAMES
#include "std_names.h"
#endif
#include "api_parts.h"
#include "testutil.h"

int check_failures; /* shared with api_medium.c and api_placement.c */

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
