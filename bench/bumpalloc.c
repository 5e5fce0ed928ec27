/* bumpalloc: the least an allocator can do, as the baseline of run.py
 * --callgrind. malloc bumps a pointer in one large reserved mapping and free
 * does nothing, so a fastpath loop run on it counts the loop's own
 * instructions plus a handful. Not for real programs: memory is never reused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_SIZE ((size_t)2 << 30) /* reserved, touched only as used (valgrind refuses much more) */
#define HEADER 16                     /* the block's size, for realloc */

#define EXPORT __attribute__((visibility("default")))

static char *arena;
static _Atomic size_t used;

static void *bump(size_t n, size_t align)
{
    if (arena == NULL) {
        void *p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        arena = p;
    }
    if (n > ARENA_SIZE / 2 || align > 4096) {
        errno = ENOMEM;
        return NULL;
    }
    size_t step = (n + HEADER + align - 1) & ~(align - 1);
    size_t off = atomic_fetch_add_explicit(&used, step + align, memory_order_relaxed);
    if (off + step + align > ARENA_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t base = (uintptr_t)arena + off + HEADER;
    base = (base + align - 1) & ~(uintptr_t)(align - 1);
    ((size_t *)base)[-1] = n;
    return (void *)base;
}

EXPORT void *malloc(size_t n);
EXPORT void free(void *p);
EXPORT void *calloc(size_t n, size_t size);
EXPORT void *realloc(void *p, size_t n);
EXPORT int posix_memalign(void **out, size_t align, size_t n);
EXPORT void *aligned_alloc(size_t align, size_t n);
EXPORT void *memalign(size_t align, size_t n);
EXPORT size_t malloc_usable_size(void *p);

void *malloc(size_t n)
{
    return bump(n, 16);
}

void free(void *p)
{
    (void)p;
}

void *calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return bump(n * size, 16); /* fresh mapping memory is zero */
}

void *realloc(void *p, size_t n)
{
    void *q = bump(n, 16);
    if (p && q) {
        size_t old = ((size_t *)p)[-1];
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = bump(n, align < 16 ? 16 : align);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    return bump(n, align < 16 ? 16 : align);
}

void *memalign(size_t align, size_t n)
{
    return bump(n, align < 16 ? 16 : align);
}

size_t malloc_usable_size(void *p)
{
    return p ? ((size_t *)p)[-1] : 0;
}
