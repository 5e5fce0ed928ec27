/* secure_bugs: one heap bug per mode, for secure mode (MAPALLOC_SECURE=1).
 * tests/secure/expect.py runs each mode and states the exact outcome: an
 * abort with mapalloc's one-line message, or SIGSEGV on a guard.
 * Uses the prefixed API (the core without the malloc override).
 */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned char sink;

/* Hide the block's size from the compiler: the overflows are deliberate. */
static unsigned char *launder(void *p) {
    __asm__("" : "+r"(p));
    return p;
}

static void churn(size_t size, int times) {
    for (int i = 0; i < times; i++) mapalloc_free(mapalloc_malloc(size));
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    const char *m = argv[1];
    if (!strcmp(m, "overflow1_small")) {
        unsigned char *p = launder(mapalloc_malloc(24));
        p[24] = (unsigned char)~p[24]; /* a fixed value would equal the canary byte 1 time in 128 */
        mapalloc_free(p);
    } else if (!strcmp(m, "overflow8_small")) {
        unsigned char *p = launder(mapalloc_malloc(40));
        memset(p + 40, 0x41, 8);
        mapalloc_free(p);
    } else if (!strcmp(m, "overflow1_large")) {
        unsigned char *p = launder(mapalloc_malloc(300000));
        p[300000] = (unsigned char)~p[300000]; /* never the canary byte it replaces */
        mapalloc_free(p);
    } else if (!strcmp(m, "overflow8_large_page_end")) {
        unsigned char *p = launder(mapalloc_malloc(256 * 1024)); /* ends on a page: the guard page */
        memset(p + 256 * 1024, 0x41, 8);
    } else if (!strcmp(m, "write_after_free_small")) {
        unsigned char *p = mapalloc_malloc(40);
        mapalloc_free(p);
        p[20] = 1;
        churn(40, 20000); /* the block leaves the quarantine and is checked */
    } else if (!strcmp(m, "read_after_free_large")) {
        unsigned char *p = mapalloc_malloc(1 << 20);
        mapalloc_free(p);
        sink = p[100];
    } else if (!strcmp(m, "write_after_free_large")) {
        unsigned char *p = mapalloc_malloc(1 << 20);
        mapalloc_free(p);
        p[100] = 1;
    } else if (!strcmp(m, "double_free_small_delayed")) {
        void *p = mapalloc_malloc(64);
        mapalloc_free(p);
        churn(64, 100); /* p is still in quarantine */
        mapalloc_free(p);
    } else if (!strcmp(m, "double_free_large")) {
        void *p = mapalloc_malloc(1 << 20);
        mapalloc_free(p);
        mapalloc_free(p);
    } else if (!strcmp(m, "wrong_free_sized_small")) {
        void *p = mapalloc_malloc(100);
        mapalloc_free_sized(p, 90);
    } else if (!strcmp(m, "wrong_free_sized_large")) {
        void *p = mapalloc_malloc(500000);
        mapalloc_free_sized(p, 400000);
    } else if (!strcmp(m, "uninitialised_read_sees_zero")) {
        /* Fill and free many blocks, then every new block must read as zero. */
        for (int round = 0; round < 3; round++) {
            void *ps[2000];
            for (int i = 0; i < 2000; i++) {
                size_t n = (size_t)(16 + i * 7 % 2000);
                ps[i] = mapalloc_malloc(n);
                for (size_t k = 0; k < n; k++)
                    if (((unsigned char *)ps[i])[k] != 0) { printf("old data at byte %zu of a %zu-byte block\n", k, n); return 1; }
                memset(ps[i], 0xAB, n);
            }
            for (int i = 0; i < 2000; i++) mapalloc_free(ps[i]);
        }
        puts("every block read as zero");
        return 0;
    } else if (!strcmp(m, "correct_use_passes")) {
        /* The same operations done right: nothing may abort. */
        for (int i = 0; i < 5000; i++) {
            size_t n = (size_t)(1 + i * 37 % 5000);
            unsigned char *p = mapalloc_malloc(n);
            memset(p, 1, n);
            p = mapalloc_realloc(p, n * 2);
            memset(p, 2, n * 2);
            mapalloc_free_sized(p, n * 2);
        }
        void *big = mapalloc_malloc(3 << 20);
        memset(big, 3, 3 << 20);
        mapalloc_free(big);
        puts("correct use passes");
        return 0;
    } else {
        return 2;
    }
    puts("not caught");
    return 0;
}
