/* fastpath: the allocator's fast path in isolation, for instruction counting
 * under callgrind (run.py --callgrind). Two loops, chosen by the first
 * argument, each run N times (second argument):
 *   same   malloc(32) and free it again: the same block every time;
 *   mixed  1000 live blocks of 8..512 bytes, one replaced at random per step.
 * run.py runs each loop with N and 2N and divides the difference by N, so
 * start-up and set-up cancel; a bump allocator's count is the loop's own cost.
 */
#include "bench.h"

#define LIVE 1000

/* Every block is stored here, so the compiler cannot elide a malloc/free pair. */
static void *volatile sink;

static void loop_same(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *p = malloc(32);
        p[0] = (char)i;
        sink = p;
        free(p);
    }
}

static void loop_mixed(size_t n)
{
    static void *live[LIVE];
    uint64_t x = 0x2545f4914f6cdd1dULL;
    for (size_t i = 0; i < LIVE; i++)
        live[i] = bench_check_alloc(malloc(8 + i % 505), 8);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; /* xorshift64: a few instructions, counted in the baseline */
        x ^= x >> 7;
        x ^= x << 17;
        size_t slot = (size_t)(x % LIVE);
        size_t size = 8 + (size_t)((x >> 32) % 505);
        free(live[slot]);
        char *p = malloc(size);
        p[0] = (char)i;
        live[slot] = p;
        sink = p;
    }
    for (size_t i = 0; i < LIVE; i++)
        free(live[i]);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "same") != 0 && strcmp(argv[1], "mixed") != 0)) {
        fprintf(stderr, "usage: %s same|mixed N\n", argv[0]);
        return 2;
    }
    size_t n = strtoull(argv[2], NULL, 10);
    if (strcmp(argv[1], "same") == 0)
        loop_same(n);
    else
        loop_mixed(n);
    return 0;
}
