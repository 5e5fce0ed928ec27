/* codemem.c: W^X code memory for JITs (mapalloc_code_*). Small functions are
 * packed into chunks of a few pages; no page is ever writable and executable
 * at once: either flipped RW<->R-X around writes (flip mode) or mapped twice
 * from one memfd, an RW view and an R-X view (dual mode).
 * May call: os.h (every mapping and protection change), error.h, process_init
 * (internal.h), pthreads.
 */
#define _GNU_SOURCE
#include "mapalloc.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

/* Every block starts on a granule: 16 is the function alignment x86-64
 * compilers use, and a multiple of aarch64's 4-byte instructions. */
#define CODE_GRANULE 16u
/* A chunk is the unit mapped from the kernel: 16 pages hold hundreds of small
 * functions. Bigger requests get a chunk of their own, rounded to pages. */
#define CODE_CHUNK (64u * 1024u)

_Static_assert((CODE_CHUNK & (CODE_CHUNK - 1)) == 0, "chunk size is a power of two");
_Static_assert(CODE_CHUNK % 4096u == 0 && CODE_CHUNK / CODE_GRANULE <= 65536u, "chunk layout");

/* What unused code memory holds, so a call into freed or never-written code
 * traps at once: int3 on x86, and zero (UDF #0) on aarch64. */
#if defined(__x86_64__) || defined(__i386__)
#define CODE_TRAP_BYTE 0xCC
#else
#define CODE_TRAP_BYTE 0x00
#endif

/* State of each granule, kept outside the code pages. A block is one granule
 * in state NEW, OPEN or SEALED followed by CONT granules. */
enum granule_state {
    G_FREE = 0,
    G_CONT,     /* continuation of the block that starts before it */
    G_NEW,      /* allocated, never opened for writing: still holds traps */
    G_OPEN,     /* between write_begin and seal */
    G_SEALED,   /* executable, not writable through any view that is open */
};

struct code_chunk {
    struct code_chunk *next;
    uint8_t *exec;          /* the R-X view: what callers run */
    uint8_t *rw;            /* dual mode: the RW view of the same pages; flip mode: NULL */
    size_t len;             /* bytes of code (a multiple of the page size) */
    size_t meta_len;        /* bytes mapped for this structure and its arrays */
    size_t granules;
    size_t free_granules;
    uint16_t *page_open;    /* flip mode: blocks open for writing on each page */
    uint8_t *state;         /* one enum granule_state per granule */
};

struct mapalloc_code_arena {
    pthread_mutex_t lock;
    enum mapalloc_code_mode mode;
    struct code_chunk *chunks;
    struct mapalloc_code_stats stats;
};

static size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

static size_t block_granules(const struct code_chunk *c, size_t first) {
    size_t g = first + 1;
    while (g < c->granules && c->state[g] == G_CONT) g++;
    return g - first;
}

static void unmap_chunk(struct mapalloc_code_arena *a, struct code_chunk *c) {
    os_unmap(c->exec, c->len, OS_REASON_CODE);
    if (c->rw) os_unmap(c->rw, c->len, OS_REASON_CODE);
    a->stats.chunks--;
    a->stats.bytes_mapped -= c->len;
    os_unmap(c, c->meta_len, OS_REASON_META);
}

/* Map a chunk of at least len bytes, filled with traps and already R-X.
 * NULL with errno when the kernel or a policy refuses. */
static struct code_chunk *new_chunk(struct mapalloc_code_arena *a, size_t len) {
    size_t page = os_page_size();
    len = round_up(len < CODE_CHUNK ? CODE_CHUNK : len, page);
    size_t granules = len / CODE_GRANULE, pages = len / page;
    size_t meta_len = round_up(sizeof(struct code_chunk) + pages * sizeof(uint16_t) + granules, page);
    struct code_chunk *c = os_map(NULL, meta_len, OS_REASON_META);
    if (!c) return NULL;
    c->len = len;
    c->meta_len = meta_len;
    c->granules = c->free_granules = granules;
    c->page_open = (uint16_t *)(c + 1);
    c->state = (uint8_t *)(c->page_open + pages);   /* os_map gives zeroes: all G_FREE */
    int err;
    if (a->mode == MAPALLOC_CODE_FLIP) {
        /* Written while RW, then R-X before anyone can run it. */
        c->exec = os_map(NULL, len, OS_REASON_CODE);
        if (!c->exec) goto fail;
        memset(c->exec, CODE_TRAP_BYTE, len);
        if (!os_protect_try(c->exec, len, OS_PROT_READ | OS_PROT_EXEC, OS_REASON_CODE)) {
            err = errno;
            os_unmap(c->exec, len, OS_REASON_CODE);
            errno = err;
            goto fail;
        }
        a->stats.mprotect_calls++;
    } else {
        int fd = os_memfd("mapalloc-code", len);
        if (fd < 0) goto fail;
        c->rw = os_map_fd(NULL, len, OS_PROT_READ | OS_PROT_WRITE, fd, 0, OS_REASON_CODE);
        c->exec = c->rw ? os_map_fd(NULL, len, OS_PROT_READ | OS_PROT_EXEC, fd, 0, OS_REASON_CODE) : NULL;
        err = errno;
        os_close(fd);   /* the two mappings keep the file alive */
        if (!c->exec) {
            if (c->rw) os_unmap(c->rw, len, OS_REASON_CODE);
            errno = err;
            goto fail;
        }
        memset(c->rw, CODE_TRAP_BYTE, len);
    }
    c->next = a->chunks;
    a->chunks = c;
    a->stats.chunks++;
    a->stats.bytes_mapped += len;
    return c;
fail:
    err = errno;
    os_unmap(c, meta_len, OS_REASON_META);
    errno = err;
    return NULL;
}

/* First fit: the lowest run of n free granules, or SIZE_MAX. */
static size_t find_run(const struct code_chunk *c, size_t n) {
    size_t run = 0;
    for (size_t g = 0; g < c->granules; g++) {
        run = c->state[g] == G_FREE ? run + 1 : 0;
        if (run == n) return g + 1 - n;
    }
    return SIZE_MAX;
}

/* The chunk holding code and the first granule of its block; NULL (EINVAL)
 * when code is not the start of a live block of this arena. */
static struct code_chunk *find_block(struct mapalloc_code_arena *a, const void *code, size_t *first) {
    uintptr_t p = (uintptr_t)code;
    for (struct code_chunk *c = a->chunks; c; c = c->next) {
        uintptr_t base = (uintptr_t)c->exec;
        if (p < base || p >= base + c->len) continue;
        size_t g = (p - base) / CODE_GRANULE;
        if ((p - base) % CODE_GRANULE || c->state[g] < G_NEW) break;
        *first = g;
        return c;
    }
    errno = EINVAL;
    return NULL;
}

static uint8_t *writable(const struct code_chunk *c, size_t first) {
    return (c->rw ? c->rw : c->exec) + first * CODE_GRANULE;
}

/* Flip mode: pages [p0, p1) gain (open = true) or lose an open block; a page
 * is RW while it has one or more, R-X otherwise. On failure every page is
 * put back as it was and errno tells why. */
static bool flip_pages(struct mapalloc_code_arena *a, struct code_chunk *c, size_t p0, size_t p1, bool open) {
    size_t page = os_page_size();
    int prot = open ? OS_PROT_READ | OS_PROT_WRITE : OS_PROT_READ | OS_PROT_EXEC;
    int undo = open ? OS_PROT_READ | OS_PROT_EXEC : OS_PROT_READ | OS_PROT_WRITE;
    for (size_t p = p0; p < p1; p++) {
        bool flips = open ? c->page_open[p] == 0 : c->page_open[p] == 1;
        if (flips && !os_protect_try(c->exec + p * page, page, prot, OS_REASON_CODE)) {
            int err = errno;
            for (size_t q = p0; q < p; q++) {
                bool flipped = open ? c->page_open[q] == 1 : c->page_open[q] == 0;
                if (flipped && !os_protect_try(c->exec + q * page, page, undo, OS_REASON_CODE))
                    fatal_os("mprotect", c->exec + q * page, errno);
                c->page_open[q] = (uint16_t)(open ? c->page_open[q] - 1 : c->page_open[q] + 1);
            }
            errno = err;
            return false;
        }
        if (flips) a->stats.mprotect_calls++;
        c->page_open[p] = (uint16_t)(open ? c->page_open[p] + 1 : c->page_open[p] - 1);
    }
    return true;
}

static void block_pages(const struct code_chunk *c, size_t first, size_t n, size_t *p0, size_t *p1) {
    size_t page = os_page_size();
    *p0 = first * CODE_GRANULE / page;
    *p1 = ((first + n) * CODE_GRANULE + page - 1) / page;
    (void)c;
}

/* Close an open block: its pages may become R-X again (flip mode), and the
 * instruction cache forgets what it held for the range. */
static bool close_block(struct mapalloc_code_arena *a, struct code_chunk *c, size_t first, size_t n) {
    if (a->mode == MAPALLOC_CODE_FLIP) {
        size_t p0, p1;
        block_pages(c, first, n, &p0, &p1);
        if (!flip_pages(a, c, p0, p1, false)) return false;
    }
    char *x = (char *)c->exec + first * CODE_GRANULE;
    __builtin___clear_cache(x, x + n * CODE_GRANULE);
    c->state[first] = G_SEALED;
    a->stats.open_blocks--;
    return true;
}

mapalloc_code_arena *mapalloc_code_create(enum mapalloc_code_mode mode) {
    if (mode != MAPALLOC_CODE_FLIP && mode != MAPALLOC_CODE_DUAL) { errno = EINVAL; return NULL; }
    process_init();   /* opens mapwatch's event channel, if any */
    size_t len = round_up(sizeof(struct mapalloc_code_arena), os_page_size());
    struct mapalloc_code_arena *a = os_map(NULL, len, OS_REASON_META);
    if (!a) return NULL;
    pthread_mutex_init(&a->lock, NULL);
    a->mode = mode;
    /* Map the first chunk now: a policy that refuses executable memory is
     * reported here, by create, rather than by some later alloc. */
    if (!new_chunk(a, CODE_CHUNK)) {
        int err = errno;
        pthread_mutex_destroy(&a->lock);
        os_unmap(a, len, OS_REASON_META);
        errno = err;
        return NULL;
    }
    return a;
}

void *mapalloc_code_alloc(mapalloc_code_arena *a, size_t size) {
    if (!a) { errno = EINVAL; return NULL; }
    if (size > SIZE_MAX / 2) { errno = ENOMEM; return NULL; }
    size_t n = size ? (size + CODE_GRANULE - 1) / CODE_GRANULE : 1;
    pthread_mutex_lock(&a->lock);
    struct code_chunk *c;
    size_t first = SIZE_MAX;
    for (c = a->chunks; c; c = c->next)
        if (c->free_granules >= n && (first = find_run(c, n)) != SIZE_MAX) break;
    if (!c) {
        c = new_chunk(a, n * CODE_GRANULE);
        if (!c) { pthread_mutex_unlock(&a->lock); return NULL; }
        first = 0;
    }
    c->state[first] = G_NEW;
    memset(c->state + first + 1, G_CONT, n - 1);
    c->free_granules -= n;
    a->stats.blocks++;
    a->stats.bytes_in_use += n * CODE_GRANULE;
    void *code = c->exec + first * CODE_GRANULE;
    pthread_mutex_unlock(&a->lock);
    return code;
}

void *mapalloc_code_write_begin(mapalloc_code_arena *a, void *code) {
    if (!a) { errno = EINVAL; return NULL; }
    pthread_mutex_lock(&a->lock);
    size_t first;
    struct code_chunk *c = find_block(a, code, &first);
    void *w = NULL;
    if (c && c->state[first] == G_OPEN) {
        errno = EBUSY;
    } else if (c) {
        size_t n = block_granules(c, first);
        bool ok = true;
        if (a->mode == MAPALLOC_CODE_FLIP) {
            size_t p0, p1;
            block_pages(c, first, n, &p0, &p1);
            ok = flip_pages(a, c, p0, p1, true);
        }
        if (ok) {
            w = writable(c, first);
            if (c->state[first] == G_NEW) memset(w, CODE_TRAP_BYTE, n * CODE_GRANULE);
            c->state[first] = G_OPEN;
            a->stats.open_blocks++;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return w;
}

int mapalloc_code_seal(mapalloc_code_arena *a, void *code) {
    if (!a) { errno = EINVAL; return -1; }
    pthread_mutex_lock(&a->lock);
    size_t first;
    struct code_chunk *c = find_block(a, code, &first);
    int r = -1;
    if (c && c->state[first] != G_OPEN) errno = EINVAL;
    else if (c && close_block(a, c, first, block_granules(c, first))) r = 0;
    pthread_mutex_unlock(&a->lock);
    return r;
}

void *mapalloc_code_add(mapalloc_code_arena *a, const void *bytes, size_t len) {
    void *code = mapalloc_code_alloc(a, len);
    if (!code) return NULL;
    void *w = mapalloc_code_write_begin(a, code);
    if (w) {
        memcpy(w, bytes, len);
        if (mapalloc_code_seal(a, code) == 0) return code;
    }
    int err = errno;
    mapalloc_code_free(a, code);
    errno = err;
    return NULL;
}

int mapalloc_code_free(mapalloc_code_arena *a, void *code) {
    if (!a) { errno = EINVAL; return -1; }
    pthread_mutex_lock(&a->lock);
    size_t first;
    struct code_chunk *c = find_block(a, code, &first);
    if (!c) { pthread_mutex_unlock(&a->lock); return -1; }
    size_t n = block_granules(c, first);
    if (c->state[first] == G_OPEN && !close_block(a, c, first, n)) {
        pthread_mutex_unlock(&a->lock);
        return -1;
    }
    if (c->rw) {
        /* Dual mode makes stale calls trap for free. Flip mode leaves the old
         * code in place: overwriting it would cost two mprotects and make the
         * page's other functions unrunnable meanwhile. */
        memset(c->rw + first * CODE_GRANULE, CODE_TRAP_BYTE, n * CODE_GRANULE);
        char *x = (char *)c->exec + first * CODE_GRANULE;
        __builtin___clear_cache(x, x + n * CODE_GRANULE);
    }
    memset(c->state + first, G_FREE, n);
    c->free_granules += n;
    a->stats.blocks--;
    a->stats.bytes_in_use -= n * CODE_GRANULE;
    if (c->free_granules == c->granules && a->chunks->next) {
        /* Keep one chunk; give back any other that became empty. */
        struct code_chunk **link = &a->chunks;
        while (*link != c) link = &(*link)->next;
        *link = c->next;
        unmap_chunk(a, c);
    }
    pthread_mutex_unlock(&a->lock);
    return 0;
}

int mapalloc_code_stats_get(mapalloc_code_arena *a, struct mapalloc_code_stats *out) {
    if (!a || !out) { errno = EINVAL; return -1; }
    pthread_mutex_lock(&a->lock);
    *out = a->stats;
    pthread_mutex_unlock(&a->lock);
    return 0;
}

void mapalloc_code_destroy(mapalloc_code_arena *a) {
    if (!a) return;
    while (a->chunks) {
        struct code_chunk *c = a->chunks;
        a->chunks = c->next;
        unmap_chunk(a, c);
    }
    pthread_mutex_destroy(&a->lock);
    os_unmap(a, round_up(sizeof *a, os_page_size()), OS_REASON_META);
}
