/* check.c: mapalloc_check_heap walks every heap and checks the invariants
 * stated in types.h, region.c, page.c, large.c and large_cache.c, aborting
 * with a message on the first violation. Free lists are walked only for
 * heaps the caller may read (its own and abandoned ones); other threads'
 * pages are checked for their counters and layout.
 * May call: heap.c, error.c.
 */
#include "internal.h"
#include "mapalloc.h"

#include <string.h>

#define CHECK(cond, what, addr) do { if (!(cond)) fatal_msg("heap check failed: " what, (const void *)(addr)); } while (0)

static uint32_t walk_list(const page_t *pg, block_t *list, uint8_t *seen) {
    uint32_t n = 0;
    for (block_t *b = list; b; b = block_next(b)) {
        uint64_t i = page_block_index(pg, (uintptr_t)b, pg->start);
        CHECK(i <= pg->div_last && i < pg->capacity, "free-list entry outside its page", b);
        CHECK(!(seen[i / 8] & (1u << (i % 8))), "block twice on free lists", b);
        seen[i / 8] |= (uint8_t)(1u << (i % 8));
        n++;
    }
    return n;
}

static size_t check_page(const heap_t *h, const region_t *r, const page_t *pg, bool lists) {
    CHECK(pg->region == r, "page region pointer", pg);
    CHECK(pg->start == r->base + (uintptr_t)pg->slice_index * SLICE_SIZE, "page start", pg);
    for (unsigned s = 0; s < pg->slice_count; s++)
        CHECK(r->slice_page[pg->slice_index + s] == pg, "slice map", pg);
    (void)h;
    if (page_is_medium(pg)) {
        CHECK(pg->slice_count == MEDIUM_SLICES && pg->capacity == 0 && pg->check_start == pg->start - SLOW_FREE_OFFSET, "medium page shape", pg);
        return medium_count(pg, NULL, lists); /* checks its bitmaps and counters (medium.c) */
    }
    CHECK(pg->used <= pg->capacity && pg->capacity <= pg->reserved, "page counters", pg);
    CHECK((size_t)pg->reserved * pg->block_size <= (size_t)pg->slice_count * SLICE_SIZE, "page overflows its slices", pg);
    CHECK(pg->block_size == class_size[pg->size_class], "page block size", pg);
    CHECK(((pg->flags & PAGE_IN_FULL) != 0 || opt_secure) == (pg->check_start != pg->start), "full flag and check_start", pg);
    if (lists) {
        uint8_t seen[(SLICE_SIZE * USABLE_SLICES / MIN_ALIGN) / 8 / 16];
        static_assert(sizeof seen * 8 >= SLICE_SIZE / MIN_ALIGN, "bitmap covers a 1-slice page of 16-byte blocks");
        CHECK(pg->capacity <= sizeof seen * 8, "page capacity", pg);
        memset(seen, 0, (pg->capacity + 7) / 8);
        uint32_t n = walk_list(pg, pg->free, seen) +
                     walk_list(pg, (block_t *)atomic_load(&pg->thread_free), seen);
        uint32_t pending = walk_list(pg, NULL, seen);
        (void)pending;
        CHECK(n + pg->used >= pg->capacity, "blocks lost from free lists", pg);
    }
    (void)h;
    return pg->used;
}

static size_t check_heap(heap_t *h, bool lists) {
    size_t live = 0;
    for (region_t *r = h->regions; r; r = r->next) {
        CHECK((r->base & REGION_MASK) == 0, "region alignment", r);
        CHECK(region_of(r->base) == r, "region metadata place", r);
        CHECK(r->heap == h, "region owner", r);
        CHECK(region_tag_of(r->base) == h->tag, "region map tag", r);
        CHECK((r->used_slices & r->dirty_slices) == 0, "slice both used and dirty", r);
        CHECK((r->used_slices >> USABLE_SLICES) == 0, "metadata slice in use", r);
        unsigned pages = 0;
        for (unsigned i = 0; i < SLICES_PER_REGION; i++) {
            page_t *pg = r->slice_page[i];
            bool used = (r->used_slices >> i) & 1;
            CHECK(used == (pg != &invalid_page), "slice bitmap and slice map", r->base + i * SLICE_SIZE);
            if (used && pg == &r->pages[i]) {
                pages++;
                live += check_page(h, r, pg, lists);
            }
        }
        CHECK(pages == r->page_count, "region page count", r);
    }
    return live;
}

MAPALLOC_EXPORT size_t mapalloc_check_heap(void) {
    heap_t *me = tls_heap;
    size_t live = 0;
    heaps_lock();
    for (heap_t *h = heaps_first(); h; h = h->next_all) {
        /* In a fork child, a heap its thread may have left halfway through
         * an update (heap.c heaps_fork_child): neither checked nor counted. */
        if (atomic_load(&h->state) == HEAP_FORKED) continue;
        bool locked = false;
        if (h != me && h->state == HEAP_ABANDONED && pthread_mutex_trylock(&h->adopt_lock) == 0) {
            locked = h->state == HEAP_ABANDONED;
            if (!locked) pthread_mutex_unlock(&h->adopt_lock);
        }
        regions_lock();
        live += check_heap(h, h == me || locked);
        regions_unlock();
        size_t held[CLASS_COUNT] = {0};
        foreign_held(h, held);
        for (unsigned c = 1; c < CLASS_COUNT; c++)
            live -= held[c]; /* held by this heap, free: counted as used by their owners */
        if (locked) pthread_mutex_unlock(&h->adopt_lock);
    }
    heaps_unlock();
    large_check();
    size_t lb, lbytes, lcached;
    large_stats(&lb, &lbytes, &lcached);
    return live + lb;
}
