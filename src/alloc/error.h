/* error.h: how the allocator reports a heap bug or an impossible OS error.
 * Every message is one line on stderr, "mapalloc: <bug> at <address> (...)",
 * written without allocating; then the process aborts.
 */
#ifndef MAPALLOC_ERROR_H
#define MAPALLOC_ERROR_H
#include <stddef.h>
#include <stdint.h>

/* The bug classes the allocator names. */
enum heap_bug {
    BUG_DOUBLE_FREE,        /* "double free" */
    BUG_INVALID_FREE,       /* "invalid free" : pointer never returned by mapalloc */
    BUG_INTERIOR_FREE,      /* "interior pointer freed" : inside a block, not its start */
    BUG_FREELIST_CORRUPT,   /* "free list corrupted" : a forged or overwritten free-list pointer */
    BUG_CANARY,             /* "buffer overflow" : canary after the block overwritten */
    BUG_WRITE_AFTER_FREE,   /* "write after free" : freed block modified */
    BUG_WRONG_SIZE,         /* "wrong size passed to free_sized" */
    BUG_INVALID_REALLOC,    /* "realloc of invalid pointer" */
    BUG_INVALID_USABLE,     /* "malloc_usable_size of invalid pointer" */
    BUG_COUNT
};

/* Abort naming the bug, the address and, when known (size_class >= 0), the
 * size class and block size. */
_Noreturn void fatal_bug(enum heap_bug bug, const void *addr, int size_class, size_t block_size);
/* Abort after an OS call failed in a way our bookkeeping rules out. */
_Noreturn void fatal_os(const char *call, const void *addr, int err);
/* Abort with a free-form message (internal invariant broken). */
_Noreturn void fatal_msg(const char *what, const void *addr);
#endif
