/* oom.c: when the address space runs out (run under ulimit -v), malloc,
 * calloc, realloc and aligned_alloc return NULL with errno ENOMEM (never a
 * crash or an abort), and once memory is freed, allocation works again.
 *   oom same SIZE    blocks of SIZE until ENOMEM, free them, again: about
 *                    as many fit the second time;
 *   oom large SIZE   blocks of SIZE until ENOMEM, free them: a 32 MiB block
 *                    fits now (freed small-block memory serves large blocks).
 * Run with LD_PRELOAD=libmapalloc.so under an address-space limit.
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"

enum { MAX_BLOCKS = 400000 };
static void *blocks[MAX_BLOCKS];

/* Allocate blocks of n bytes until one fails; the number obtained. */
static size_t exhaust(size_t n, int kind) {
    size_t count = 0;
    while (count < MAX_BLOCKS) {
        errno = 0;
        void *p = kind == 0 ? malloc(n) : kind == 1 ? calloc(1, n) : aligned_alloc(4096, n);
        if (!p) {
            CHECKF(errno == ENOMEM, "allocation of %zu bytes (kind %d) failed with errno %d", n, kind, errno);
            break;
        }
        memset(p, 0x6b, n < 8192 ? n : 8192);
        blocks[count++] = p;
    }
    CHECKF(count < MAX_BLOCKS, "%zu-byte blocks never ran out: is the address-space limit set?", n);
    return count;
}

static void free_all(size_t count) {
    for (size_t i = 0; i < count; i++) free(blocks[i]);
}

int main(int argc, char **argv) {
    REQUIRE(argc == 3 && (strcmp(argv[1], "same") == 0 || strcmp(argv[1], "large") == 0));
    require_mapalloc();
    size_t n = (size_t)atoll(argv[2]);
    int kind = (int)(n % 3); /* malloc, calloc or aligned_alloc, by size */
    size_t got = exhaust(n, kind);
    CHECKF(got > 0, "not one %zu-byte block", n);
    /* A realloc that cannot grow leaves its block alone. */
    if (got) {
        pattern_fill(blocks[0], 64, 5);
        errno = 0;
        void *q = realloc(blocks[0], 512 * MiB);
        CHECKF(q == NULL && errno == ENOMEM, "realloc to 512 MiB = %p, errno %d", q, errno);
        if (q) blocks[0] = q;
        else CHECK(pattern_check(blocks[0], 64, 5) == (size_t)-1);
    }
    free_all(got);
    if (strcmp(argv[1], "same") == 0) {
        size_t again = exhaust(n, kind);
        CHECKF(again + again / 4 + 8 >= got, "%zu-byte blocks: %zu fit at first, only %zu after freeing", n, got,
               again);
        free_all(again);
        printf("%zu-byte blocks: %zu until ENOMEM, then %zu after freeing them\n", n, got, again);
    } else {
        errno = 0;
        void *big = malloc(32 * MiB);
        CHECKF(big != NULL, "after %zu blocks of %zu bytes were freed, malloc(32 MiB) failed with errno %d", got, n, errno);
        if (big) printf("%zu-byte blocks: %zu until ENOMEM; freed, they made room for a 32 MiB block\n", n, got);
        free(big);
    }
    return check_failures ? 1 : 0;
}
