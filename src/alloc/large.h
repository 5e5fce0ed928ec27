/* large.h: what large.c (the table of live large blocks; malloc, free and
 * realloc of them) and large_cache.c (where their pages come from and go:
 * the cache of freed mappings, gathering, cut lists, moves) share. Private
 * to those two files.
 */
#ifndef MAPALLOC_LARGE_H
#define MAPALLOC_LARGE_H

#include "internal.h"

/* Where a block's data passes from one kernel mapping to the next. Pages
 * moved in by cache_gather stay mappings of their own: the kernel merges no
 * two anonymous mappings that were faulted in separately, and mremap moves
 * or resizes within one mapping only (before Linux 6.17 it cannot move two
 * even without resizing). Offsets are in pages from the data start,
 * ascending, each inside the data; no cut means one mapping, which mremap
 * can grow in one call. */
#define MAX_CUTS 31
typedef struct cuts_s {
    uint8_t n;
    uint32_t at[MAX_CUTS];
} cuts_t;

typedef struct large_s {
    uintptr_t ptr;      /* user pointer; 0 = empty slot, 1 = deleted */
    uintptr_t map;      /* mapping start */
    size_t map_len;     /* whole mapping, guard included */
    size_t data_len;    /* usable bytes from ptr (page multiple) */
    size_t req;         /* bytes requested (free_sized checks it in secure mode) */
    uint16_t owner;     /* tag of the first-class heap it belongs to, 0 for none */
    bool hugetlb;       /* data on MAP_HUGETLB pages: never cached, split or mremapped */
    cuts_t cuts;        /* data of several mappings (gathered): where they meet */
} large_t;

/* A freed mapping: in the cache, or (secure mode) in large.c's fence. */
typedef struct cached_s {
    uintptr_t map;
    size_t map_len, data_len;
    uint64_t since_ms;
    cuts_t cuts;
} cached_t;

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_LARGE_MIN ((size_t)4 << 20) /* large_thp: blocks this big and more */

/* Every large mapping is its data and this one guard page. */
static inline size_t guard_len(void) { return OS_PAGE; }

/* ---- large_cache.c ---- */
/* Unmap a freed mapping (cached or fenced), with its statistics. */
void unmap_kept(const cached_t *c) INTERNAL;
/* Keep a freed block's mapping in the cache, or unmap it. */
void cache_or_unmap(const large_t *e) INTERNAL;
/* Take out of the cache into *out the smallest mapping of at least data_len
 * bytes whose start is align-aligned, expiring old ones first when expire
 * (false: none). *out gets map, ptr, map_len, data_len and cuts. */
bool cache_take(size_t data_len, size_t align, bool expire, large_t *out) INTERNAL;
/* Fit a mapping taken from the cache to data_len bytes (it holds them): a
 * tail of more than a quarter goes back to the cache. */
void cached_fit(large_t *e, size_t data_len) INTERNAL;
/* Fill [dst, dst + len), the fresh part of a block's data from byte offset
 * base, from its start with cached mappings' resident pages; returns the
 * bytes filled and adds the cuts. */
size_t cache_gather(uint8_t *dst, size_t len, cuts_t *cuts, size_t base) INTERNAL;
/* Grow e's data (at e->ptr, e->data_len bytes) to a mapping of new_len
 * bytes somewhere else or in place; e->cuts follow. NULL: nothing changed. */
uint8_t *data_grow(large_t *e, size_t new_len) INTERNAL;
/* Cuts at or beyond data_len go (the data was cut short there). */
void cuts_truncate(cuts_t *c, size_t data_len) INTERNAL;
/* A mapping's shape: data + guard, cuts ascending inside the data. */
void check_mapping(const cuts_t *c, size_t map_len, size_t data_len, uintptr_t at) INTERNAL;
/* The cache as a whole: for large_expire_cache, large_trim (returns the
 * bytes it held), large_stats, large_check and fork. */
void cache_expire_old(void) INTERNAL;
size_t cache_trim(void) INTERNAL;
size_t cache_held(void) INTERNAL;
void cache_check(void) INTERNAL;
void cache_fork_prepare(void) INTERNAL;
void cache_fork_parent(void) INTERNAL;
void cache_fork_child(void) INTERNAL;

#endif
