/* secure.c: secure mode (MAPALLOC_SECURE=1). In secure mode no allocation or
 * free takes the inline fast paths (direct[] never points at a page and every
 * page's check_start is SLOW_FREE_OFFSET below it, so both fall through to here); the
 * default mode pays nothing for its existence. What it adds:
 *   - a canary from the end of the request to the end of the block, with the
 *     request's length stored (encoded) in the block's last 4 bytes: an
 *     overflow of even one byte is caught when the block is freed;
 *   - zero on free, and a check on reuse (and when leaving quarantine) that
 *     the block is still zero: a write after free is caught; every block
 *     handed out is zeroed, so no read sees old data;
 *   - a quarantine of QUARANTINE_SLOTS freed blocks per thread, a random one
 *     leaving as each new one enters: freed memory is not reused at once, and
 *     when it is, not predictably;
 *   - the last 4 KiB of every page is a PROT_NONE guard (page.c), and freed
 *     large blocks are made PROT_NONE for a while before they are unmapped
 *     (large.c);
 *   - free_sized / free_aligned_sized with a size other than the request abort.
 * May call: page.c, free.c, large.c, error.c.
 */
#include "internal.h"
#include "mapalloc.h"
#include "options.h"

#include <errno.h>
#include <string.h>

#define TAIL 4u                  /* encoded request length at the block's end */
#define LINK_BYTES (2 * sizeof(uintptr_t))

static uint8_t canary_byte(uintptr_t block, size_t i) {
    uint64_t c = process_secret[3] ^ (block >> 4);
    return (uint8_t)(c >> ((i & 7) * 8)) | 1; /* never 0: a zeroed tail is not a valid canary */
}

static uint32_t length_key(uintptr_t block) { return (uint32_t)(process_secret[3] >> 32) ^ (uint32_t)(block >> 4); }

/* The request length stored in a secure block, or SIZE_MAX if the tail is
 * not a length this block could hold (overwritten). */
static size_t stored_length(const page_t *pg, uintptr_t b) {
    uint32_t enc;
    memcpy(&enc, (const void *)(b + pg->block_size - TAIL), sizeof enc);
    size_t n = enc ^ length_key(b);
    return n + TAIL < pg->block_size ? n : SIZE_MAX;
}

static void check_canary(const page_t *pg, uintptr_t b) {
    size_t n = stored_length(pg, b);
    if (n == SIZE_MAX) fatal_bug(BUG_CANARY, (void *)b, pg->size_class, pg->block_size);
    const uint8_t *q = (const uint8_t *)b;
    for (size_t i = n; i < pg->block_size - TAIL; i++)
        if (q[i] != canary_byte(b, i)) fatal_bug(BUG_CANARY, (void *)(b + i), pg->size_class, pg->block_size);
}

/* A block leaving the free lists or the quarantine must still be all zero
 * past its two link words. */
static void check_zero(const page_t *pg, uintptr_t b) {
    const uint64_t *w = (const uint64_t *)(b + LINK_BYTES);
    size_t words = (pg->block_size - LINK_BYTES) / 8;
    for (size_t i = 0; i < words; i++)
        if (w[i] != 0) fatal_bug(BUG_WRITE_AFTER_FREE, (void *)(b + LINK_BYTES + i * 8), pg->size_class, pg->block_size);
}

static page_t *page_of_block(uintptr_t p) {
    uint16_t tag;
    return small_page_of(p, &tag);
}

/* Hand out a block of at least n + 1 + TAIL bytes (aligned to align), zeroed,
 * with its canary and stored length. */
void *secure_malloc(heap_t *h, size_t n, size_t align) {
    size_t need = n + 1 + TAIL;
    if (need < n) { errno = ENOMEM; return NULL; }
    size_t bs = align > MIN_ALIGN ? aligned_small_size(need, align) : (need <= opt_large_threshold ? need : 0);
    if (bs == 0 || need > opt_large_threshold) return large_alloc(n, align > MIN_ALIGN ? align : 0, LARGE_ZERO);
    uintptr_t b = (uintptr_t)page_alloc_block(h, size_class_of(bs));
    if (!b) return NULL;
    page_t *pg = page_of_block(b);
    check_zero(pg, b);
    memset((void *)b, 0, LINK_BYTES);
    uint8_t *q = (uint8_t *)b;
    for (size_t i = n; i < pg->block_size - TAIL; i++) q[i] = canary_byte(b, i);
    uint32_t enc = (uint32_t)n ^ length_key(b);
    memcpy(q + pg->block_size - TAIL, &enc, sizeof enc);
    return (void *)b;
}

size_t secure_usable_size(const page_t *pg, uintptr_t b) {
    size_t n = stored_length(pg, b);
    if (n == SIZE_MAX) fatal_bug(BUG_CANARY, (void *)b, pg->size_class, pg->block_size);
    return n;
}

bool secure_in_quarantine(const heap_t *h, const void *p) {
    for (uint32_t i = 0; i < h->quarantine_count; i++)
        if (h->quarantine[i] == p) return true;
    return false;
}

/* A block leaves quarantine: check nothing wrote to it, then really free it. */
static void quarantine_release(void *p) {
    uintptr_t b = (uintptr_t)p;
    page_t *pg = page_of_block(b);
    if (!pg) fatal_bug(BUG_FREELIST_CORRUPT, p, -1, 0);
    check_zero(pg, b);
    if (((block_t *)b)->next_enc != 0) fatal_bug(BUG_WRITE_AFTER_FREE, p, pg->size_class, pg->block_size);
    ((block_t *)b)->free_mark = 0; /* the real free below marks it again */
    free_block_now(p);
}

/* Free in secure mode (small block p of page pg, already validated as a
 * block start by free_slow): check the canary, zero it, quarantine it. */
void secure_free(heap_t *h, page_t *pg, void *p) {
    uintptr_t b = (uintptr_t)p;
    if (((block_t *)b)->free_mark == free_key &&
        ((h != &empty_heap && secure_in_quarantine(h, p)) || small_block_is_free(pg, b)))
        fatal_bug(BUG_DOUBLE_FREE, p, pg->size_class, pg->block_size);
    check_canary(pg, b);
    memset(p, 0, pg->block_size);
    /* A thread past its heap's end, or a first-class heap's block (it may be
     * destroyed while the block waits): no quarantine. */
    if (h == &empty_heap || atomic_load(&pg->region->heap->state) == HEAP_USER) { free_block_now(p); return; }
    ((block_t *)b)->free_mark = free_key;
    if (h->quarantine_count < QUARANTINE_SLOTS) {
        h->quarantine[h->quarantine_count++] = p;
        return;
    }
    uint32_t i = (uint32_t)(heap_random(h) % QUARANTINE_SLOTS);
    void *out = h->quarantine[i];
    h->quarantine[i] = p;
    quarantine_release(out);
}

/* Empty the quarantine (thread exit, malloc_trim). */
void secure_quarantine_flush(heap_t *h) {
    while (h->quarantine_count) quarantine_release(h->quarantine[--h->quarantine_count]);
}

/* free_sized in secure mode: the size must be the request's. */
void secure_check_size(const void *p, size_t n) {
    uintptr_t b = (uintptr_t)p;
    page_t *pg = page_of_block(b);
    size_t want = pg ? secure_usable_size(pg, b) : large_requested_size(p);
    if (want != n) fatal_bug(BUG_WRONG_SIZE, p, -1, n);
}
