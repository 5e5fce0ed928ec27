/* error.c: one-line fatal messages, formatted without allocating (the heap
 * may be corrupt), then abort().
 * May call: os_write_stderr.
 */
#include "internal.h"

#include <stdlib.h>

static const char *const bug_names[BUG_COUNT] = {
    [BUG_DOUBLE_FREE] = "double free",
    [BUG_INVALID_FREE] = "invalid free",
    [BUG_INTERIOR_FREE] = "interior pointer freed",
    [BUG_FREELIST_CORRUPT] = "free list corrupted",
    [BUG_CANARY] = "buffer overflow",
    [BUG_WRITE_AFTER_FREE] = "write after free",
    [BUG_WRONG_SIZE] = "wrong size passed to free_sized",
    [BUG_INVALID_REALLOC] = "realloc of invalid pointer",
    [BUG_INVALID_USABLE] = "malloc_usable_size of invalid pointer",
};

struct line { char buf[256]; size_t n; };

static void put(struct line *l, const char *s) {
    while (*s && l->n < sizeof(l->buf) - 2) l->buf[l->n++] = *s++;
}
static void put_hex(struct line *l, uintptr_t v) {
    char tmp[20]; size_t t = 0;
    do { tmp[t++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    put(l, "0x");
    while (t && l->n < sizeof(l->buf) - 2) l->buf[l->n++] = tmp[--t];
}
static void put_dec(struct line *l, size_t v) {
    char tmp[24]; size_t t = 0;
    do { tmp[t++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (t && l->n < sizeof(l->buf) - 2) l->buf[l->n++] = tmp[--t];
}
static _Noreturn void finish(struct line *l) {
    l->buf[l->n++] = '\n';
    os_write_stderr(l->buf, l->n);
    abort();
}

void fatal_bug(enum heap_bug bug, const void *addr, int size_class, size_t block_size) {
    struct line l = {.n = 0};
    put(&l, "mapalloc: ");
    put(&l, bug_names[bug]);
    put(&l, " at ");
    put_hex(&l, (uintptr_t)addr);
    if (bug == BUG_WRONG_SIZE) {
        put(&l, " (");
        put_dec(&l, block_size);
        put(&l, " bytes given)");
    } else if (size_class >= 0) {
        put(&l, " (size class ");
        put_dec(&l, (size_t)size_class);
        put(&l, ", ");
        put_dec(&l, block_size);
        put(&l, "-byte blocks)");
    } else if (block_size) {
        put(&l, " (large block of ");
        put_dec(&l, block_size);
        put(&l, " bytes)");
    }
    finish(&l);
}

void fatal_os(const char *call, const void *addr, int err) {
    struct line l = {.n = 0};
    put(&l, "mapalloc: internal error: ");
    put(&l, call);
    put(&l, " failed at ");
    put_hex(&l, (uintptr_t)addr);
    put(&l, " with errno ");
    put_dec(&l, (size_t)err);
    finish(&l);
}

void fatal_msg(const char *what, const void *addr) {
    struct line l = {.n = 0};
    put(&l, "mapalloc: ");
    put(&l, what);
    put(&l, " at ");
    put_hex(&l, (uintptr_t)addr);
    finish(&l);
}
