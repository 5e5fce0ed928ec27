/* stats.c: counters kept on slow paths, and the figures computed from them
 * and from a walk of the heaps: per size class, per heap, totals. The walk
 * takes heaps_lock and reads other threads' page counters as relaxed
 * snapshots; printing happens after the lock is released (printing may
 * allocate). Nothing here is on a fast path.
 * May call: os.h (counters), heap.c (walk), large.c, options.c (values).
 */
#include "internal.h"
#include "mapalloc.h"
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Atomic size_t stat_committed, stat_reserved, stat_purged, stat_peak_committed, stat_regions;

size_t heaps_count(void) INTERNAL;

static _Atomic bool memory_limit_warned;

static COLD void memory_limit_crossed(size_t now) {
    if (atomic_exchange(&memory_limit_warned, true)) return;
    char msg[160];
    char num[24];
    size_t n = 0, t = 0;
    do { num[t++] = (char)('0' + now % 10); now /= 10; } while (now);
    const char *head = "mapalloc: warning: memory_limit: committed memory is now ";
    for (const char *s = head; *s; s++) msg[n++] = *s;
    while (t) msg[n++] = num[--t];
    const char *tail = " bytes, above the limit (not enforced yet)\n";
    for (const char *s = tail; *s; s++) msg[n++] = *s;
    os_write_stderr(msg, n);
}

void stat_commit(ptrdiff_t delta) {
    size_t now = atomic_fetch_add(&stat_committed, (size_t)delta) + (size_t)delta;
    size_t peak = atomic_load_explicit(&stat_peak_committed, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak(&stat_peak_committed, &peak, now)) {}
    if (delta > 0) cache_commit_grew(now);
    size_t limit = LOAD_RELAXED(opt_memory_limit);
    if (unlikely(limit != 0 && now > limit && delta > 0)) memory_limit_crossed(now);
}

bool stat_commit_allowed(size_t bytes) {
    size_t limit = LOAD_RELAXED(opt_memory_limit);
    return limit == 0 || atomic_load_explicit(&stat_committed, memory_order_relaxed) + bytes <= limit;
}

/* ---- The walk ---- */

#define HEAPS_SHOWN 64

struct heap_figures {
    unsigned tag;
    const char *state;           /* "active", "abandoned" or "forked" */
    size_t regions, pages, page_bytes, dirty_bytes;
    size_t blocks, bytes;        /* live blocks of this heap's pages */
    size_t foreign_cached;       /* other heaps' free blocks held in its foreign cache */
};

struct snapshot {
    struct mapalloc_stats totals;
    struct mapalloc_class_stats cls[CLASS_COUNT]; /* by class; [0] unused */
    struct heap_figures heaps[HEAPS_SHOWN];
    size_t heaps_shown, heaps_total;
};

/* Blocks freed into pg by other threads and not yet taken in. Only for pages
 * whose collector cannot run meanwhile (the caller's heap, or an abandoned
 * heap whose adopt_lock the caller holds): pushes only prepend, so the list
 * below the head read here does not change. */
static uint32_t pending_frees(const page_t *pg) {
    uint32_t n = 0;
    block_t *b = (block_t *)atomic_load_explicit(&((page_t *)pg)->thread_free, memory_order_acquire);
    uint32_t bound = page_is_medium(pg) ? pg->reserved : pg->capacity;
    for (; b && n <= bound; b = block_next(b)) n++;
    return n;
}

/* Count a page of `span` bytes holding `blocks` live blocks of `bytes` in
 * its class's figures and its heap's (k->bytes is filled in later for the
 * classes, from their block size). */
static void add_page(struct mapalloc_class_stats *k, struct heap_figures *hf, size_t blocks, size_t bytes, size_t span) {
    k->blocks += blocks;
    k->bytes += bytes;
    k->pages++;
    k->page_bytes += span;
    hf->pages++;
    hf->page_bytes += span;
    hf->blocks += blocks;
    hf->bytes += bytes;
}

/* Add h's pages to cls[] and foreign[] (by class), fill *hf, and, when
 * cls_free is not NULL, add the free blocks of each class's pages to it. */
static void walk_heap(heap_t *h, bool exact, struct mapalloc_class_stats *cls, size_t *foreign,
                      struct heap_figures *hf, size_t *cls_free) {
    memset(hf, 0, sizeof *hf);
    hf->tag = h->tag;
    uint8_t st = atomic_load_explicit(&h->state, memory_order_relaxed);
    hf->state = st == HEAP_ABANDONED ? "abandoned" : st == HEAP_FORKED ? "forked" : "active";
    for (region_t *r = h->regions; r; r = r->next) {
        hf->regions++;
        hf->dirty_bytes += (size_t)__builtin_popcountll(LOAD_RELAXED(r->dirty_slices)) * SLICE_SIZE;
        for (unsigned i = 0; i < USABLE_SLICES; i++) {
            page_t *pg = &r->pages[i];
            if (!LOAD_RELAXED(pg->slice_count) || LOAD_RELAXED(r->slice_page[i]) != pg) continue;
            if (page_is_medium(pg)) {
                /* cls[0]: the medium pages (exact fit, bytes in granules). */
                size_t granules;
                size_t blocks = medium_count(pg, &granules, false);
                uint32_t pending = exact ? pending_frees(pg)
                                         : atomic_load_explicit(&pg->thread_freed, memory_order_acquire);
                /* Blocks other threads freed, not yet taken in: a count kept
                 * for this (exact once their pushes are done). */
                uint32_t gone = atomic_load_explicit(&pg->pending_granules, memory_order_relaxed);
                add_page(&cls[0], hf, blocks > pending ? blocks - pending : 0,
                         (granules > gone ? granules - gone : 0) * MEDIUM_GRANULE, (size_t)pg->slice_count * SLICE_SIZE);
                continue;
            }
            unsigned c = LOAD_RELAXED(pg->size_class);
            if (c == 0 || c >= CLASS_COUNT) continue; /* being set up by its owner */
            size_t used = LOAD_RELAXED(pg->used);
            size_t span = (size_t)LOAD_RELAXED(pg->slice_count) * SLICE_SIZE;
            /* Frees of other threads not yet taken in by the owner: walked
             * when that is safe, else their counter, read after used (a
             * collect in between leaves the figure high, never low). */
            uint32_t pending = exact ? pending_frees(pg)
                                     : atomic_load_explicit(&pg->thread_freed, memory_order_acquire);
            used = used > pending ? used - pending : 0;
            if (cls_free) {
                size_t reserved = span / class_size[c];
                cls_free[c] += reserved > used ? reserved - used : 0;
            }
            add_page(&cls[c], hf, used, used * class_size[c], span);
        }
    }
    /* Blocks h holds that are free, though their owners' pages count them. */
    size_t held[CLASS_COUNT] = {0};
    foreign_held(h, held);
    for (unsigned c = 1; c < CLASS_COUNT; c++) {
        foreign[c] += held[c];
        hf->foreign_cached += held[c];
    }
}

/* The heap to walk while holding its lock if it is abandoned: *locked says
 * whether the caller must unlock h->adopt_lock, and the result whether the
 * walk may count pending cross-thread frees exactly. */
static bool walk_lock(heap_t *h, heap_t *me, bool *locked) {
    *locked = false;
    if (h != me && atomic_load_explicit(&h->state, memory_order_relaxed) == HEAP_ABANDONED && pthread_mutex_trylock(&h->adopt_lock) == 0) {
        *locked = atomic_load_explicit(&h->state, memory_order_relaxed) == HEAP_ABANDONED;
        if (!*locked) pthread_mutex_unlock(&h->adopt_lock);
    }
    return h == me || *locked;
}

/* Fill s: classes and heaps (with_heaps) under heaps_lock, then the counters. */
static void snapshot_take(struct snapshot *s, bool with_heaps) {
    memset(s->cls, 0, sizeof s->cls);
    size_t foreign[CLASS_COUNT] = {0};
    s->heaps_shown = s->heaps_total = 0;
    heap_t *me = tls_heap;
    heaps_lock();
    for (heap_t *h = heaps_first(); h; h = h->next_all) {
        bool locked;
        bool exact = walk_lock(h, me, &locked);
        struct heap_figures hf;
        regions_lock();
        walk_heap(h, exact, s->cls, foreign, &hf, NULL);
        regions_unlock();
        if (locked) pthread_mutex_unlock(&h->adopt_lock);
        if (with_heaps && s->heaps_shown < HEAPS_SHOWN) s->heaps[s->heaps_shown++] = hf;
        s->heaps_total++;
    }
    heaps_unlock();

    struct mapalloc_stats *t = &s->totals;
    memset(t, 0, sizeof *t);
    struct mapalloc_class_stats *m = &s->cls[0];
    m->block_size = MEDIUM_GRANULE;
    m->waste = m->page_bytes > m->bytes ? m->page_bytes - m->bytes : 0;
    t->in_use += m->bytes;
    t->in_use_blocks += m->blocks;
    for (unsigned c = 1; c < CLASS_COUNT; c++) {
        struct mapalloc_class_stats *k = &s->cls[c];
        k->block_size = class_size[c];
        k->blocks -= foreign[c] < k->blocks ? foreign[c] : k->blocks;
        k->bytes = k->blocks * k->block_size;
        k->waste = k->page_bytes > k->bytes ? k->page_bytes - k->bytes : 0;
        t->in_use += k->bytes;
        t->in_use_blocks += k->blocks;
    }
    size_t lb, lbytes, lcached;
    large_stats(&lb, &lbytes, &lcached);
    t->in_use += lbytes;
    t->in_use_blocks += lb;
    t->committed = atomic_load(&stat_committed);
    t->reserved = atomic_load(&stat_reserved);
    t->purged = atomic_load(&stat_purged);
    t->peak_committed = atomic_load(&stat_peak_committed);
    t->regions = atomic_load(&stat_regions);
    t->large_blocks = lb;
    t->large_bytes = lbytes;
    t->large_cached = lcached;
    t->heaps = heaps_count();
    struct os_counters c;
    os_counters_get(&c);
    t->mmap_calls = c.mmap;
    t->munmap_calls = c.munmap;
    t->mremap_calls = c.mremap;
    t->madvise_calls = c.madvise;
    t->mprotect_calls = c.mprotect;
}

MAPALLOC_EXPORT void mapalloc_stats_get(struct mapalloc_stats *out) {
    struct snapshot s;
    snapshot_take(&s, false);
    *out = s.totals;
}

MAPALLOC_EXPORT size_t mapalloc_stats_classes(struct mapalloc_class_stats *out, size_t count) {
    struct snapshot s;
    snapshot_take(&s, false);
    for (size_t i = 0; i < count && i + 1 < CLASS_COUNT; i++) out[i] = s.cls[i + 1];
    return CLASS_COUNT - 1;
}

MAPALLOC_EXPORT size_t mapalloc_stats_medium(struct mapalloc_class_stats *out) {
    struct snapshot s;
    snapshot_take(&s, false);
    if (out) *out = s.cls[0];
    return s.cls[0].blocks;
}

/* ---- Huge pages ---- */

/* The name of a hugetlb refusal's errno (the ones the kernel gives for it). */
static const char *errno_name(int e) {
    switch (e) {
    case 0: return "none";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

/* ---- Text ---- */

static unsigned percent_tenths(size_t part, size_t whole) {
    return whole ? (unsigned)((part * 1000.0) / (double)whole + 0.5) : 0;
}

/* One row of the size-class table (none for an unused class); adds the row
 * to *sum when given. */
static void print_class_row(FILE *out, const char *label, const char *block, const struct mapalloc_class_stats *k,
                            struct mapalloc_class_stats *sum) {
    if (!k->pages && !k->blocks && sum) return;
    unsigned w = percent_tenths(k->waste, k->page_bytes);
    fprintf(out, "    %5s %7s %10zu %13zu %6zu %13zu %13zu %4u.%u\n", label, block, k->blocks, k->bytes, k->pages,
            k->page_bytes, k->waste, w / 10, w % 10);
    if (sum) {
        sum->blocks += k->blocks;
        sum->bytes += k->bytes;
        sum->pages += k->pages;
        sum->page_bytes += k->page_bytes;
    }
}

MAPALLOC_EXPORT void mapalloc_stats_print(FILE *out) {
    struct snapshot s;
    snapshot_take(&s, true);
    const struct mapalloc_stats *t = &s.totals;
    fprintf(out,
        "mapalloc statistics\n"
        "  in use          %zu bytes in %zu blocks\n"
        "  committed       %zu bytes (peak %zu)\n"
        "  reserved        %zu bytes in %zu regions\n"
        "  large blocks    %zu (%zu bytes), cached %zu bytes\n"
        "  purged          %zu bytes (cumulative)\n"
        "  heaps           %zu\n"
        "  system calls    mmap %llu, munmap %llu, mremap %llu, madvise %llu, mprotect %llu\n",
        t->in_use, t->in_use_blocks, t->committed, t->peak_committed, t->reserved, t->regions,
        t->large_blocks, t->large_bytes, t->large_cached, t->purged, t->heaps,
        (unsigned long long)t->mmap_calls, (unsigned long long)t->munmap_calls,
        (unsigned long long)t->mremap_calls, (unsigned long long)t->madvise_calls,
        (unsigned long long)t->mprotect_calls);
    struct os_hugetlb_counters hc;
    os_hugetlb_counters_get(&hc);
    if (opt_hugetlb && opt_secure)
        fprintf(out, "  hugetlb         off in secure mode (its guard pages would split huge pages)\n");
    else if (opt_hugetlb || hc.regions || hc.large || hc.fallbacks)
        fprintf(out, "  hugetlb         %llu regions and %llu large blocks on 2 MiB pages, %llu on normal pages"
                     " instead (%llu refused by the kernel, last error %s)\n",
                (unsigned long long)hc.regions, (unsigned long long)hc.large, (unsigned long long)hc.fallbacks,
                (unsigned long long)hc.refusals, errno_name(hc.last_error));
    fprintf(out, "  size classes (those with pages or live blocks)\n"
                 "    %5s %7s %10s %13s %6s %13s %13s %6s\n",
            "class", "block", "blocks", "bytes", "pages", "page bytes", "waste", "waste%");
    struct mapalloc_class_stats all = {0};
    for (unsigned c = 1; c < CLASS_COUNT; c++) {
        char label[12], block[12];
        snprintf(label, sizeof label, "%u", c);
        snprintf(block, sizeof block, "%zu", s.cls[c].block_size);
        print_class_row(out, label, block, &s.cls[c], &all);
    }
    print_class_row(out, "med", "exact", &s.cls[0], &all);
    all.waste = all.page_bytes > all.bytes ? all.page_bytes - all.bytes : 0;
    print_class_row(out, "all", "", &all, NULL);
    fprintf(out, "  heaps (blocks: live blocks of the heap's pages; foreign: other heaps' free blocks it caches)\n"
                 "    %5s %9s %7s %6s %13s %13s %10s %13s %7s\n",
            "heap", "state", "regions", "pages", "page bytes", "dirty bytes", "blocks", "bytes", "foreign");
    for (size_t i = 0; i < s.heaps_shown; i++) {
        const struct heap_figures *h = &s.heaps[i];
        fprintf(out, "    %5u %9s %7zu %6zu %13zu %13zu %10zu %13zu %7zu\n", h->tag,
                h->state, h->regions, h->pages, h->page_bytes, h->dirty_bytes,
                h->blocks, h->bytes, h->foreign_cached);
    }
    if (s.heaps_total > s.heaps_shown) fprintf(out, "    ... and %zu more heaps\n", s.heaps_total - s.heaps_shown);
    fflush(out);
}

/* ---- JSON ---- */

struct sink {
    char *buf;
    size_t len, at;
};

static void emit(struct sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct sink *k, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *dst = k->at < k->len ? k->buf + k->at : NULL;
    size_t room = k->at < k->len ? k->len - k->at : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0) k->at += (size_t)n;
}

MAPALLOC_EXPORT size_t mapalloc_stats_json(char *buf, size_t len) {
    struct snapshot s;
    snapshot_take(&s, true);
    const struct mapalloc_stats *t = &s.totals;
    struct sink k = {buf, buf ? len : 0, 0};
    if (k.len) buf[0] = 0;
    emit(&k, "{\"totals\":{\"in_use\":%zu,\"in_use_blocks\":%zu,\"committed\":%zu,\"reserved\":%zu,"
             "\"purged\":%zu,\"peak_committed\":%zu,\"regions\":%zu,\"large_blocks\":%zu,"
             "\"large_bytes\":%zu,\"large_cached\":%zu,\"heaps\":%zu},",
         t->in_use, t->in_use_blocks, t->committed, t->reserved, t->purged, t->peak_committed, t->regions,
         t->large_blocks, t->large_bytes, t->large_cached, t->heaps);
    emit(&k, "\"os_calls\":{\"mmap\":%llu,\"munmap\":%llu,\"mremap\":%llu,\"madvise\":%llu,\"mprotect\":%llu},",
         (unsigned long long)t->mmap_calls, (unsigned long long)t->munmap_calls,
         (unsigned long long)t->mremap_calls, (unsigned long long)t->madvise_calls,
         (unsigned long long)t->mprotect_calls);
    struct os_hugetlb_counters hc;
    os_hugetlb_counters_get(&hc);
    emit(&k, "\"hugetlb\":{\"regions\":%llu,\"large_blocks\":%llu,\"fallbacks\":%llu,\"refusals\":%llu,"
             "\"last_error\":\"%s\"},",
         (unsigned long long)hc.regions, (unsigned long long)hc.large, (unsigned long long)hc.fallbacks,
         (unsigned long long)hc.refusals, errno_name(hc.last_error));
    emit(&k, "\"classes\":[");
    const char *sep = "";
    for (unsigned c = 1; c < CLASS_COUNT; c++) {
        const struct mapalloc_class_stats *cs = &s.cls[c];
        if (!cs->pages && !cs->blocks) continue;
        emit(&k, "%s{\"class\":%u,\"block_size\":%zu,\"blocks\":%zu,\"bytes\":%zu,\"pages\":%zu,"
                 "\"page_bytes\":%zu,\"waste\":%zu}",
             sep, c, cs->block_size, cs->blocks, cs->bytes, cs->pages, cs->page_bytes, cs->waste);
        sep = ",";
    }
    const struct mapalloc_class_stats *m = &s.cls[0];
    emit(&k, "],\"medium\":{\"blocks\":%zu,\"bytes\":%zu,\"pages\":%zu,\"page_bytes\":%zu,\"waste\":%zu}",
         m->blocks, m->bytes, m->pages, m->page_bytes, m->waste);
    emit(&k, ",\"heaps\":[");
    sep = "";
    for (size_t i = 0; i < s.heaps_shown; i++) {
        const struct heap_figures *h = &s.heaps[i];
        emit(&k, "%s{\"tag\":%u,\"state\":\"%s\",\"regions\":%zu,\"pages\":%zu,\"page_bytes\":%zu,"
                 "\"dirty_bytes\":%zu,\"blocks\":%zu,\"bytes\":%zu,\"foreign_cached\":%zu}",
             sep, h->tag, h->state, h->regions, h->pages, h->page_bytes,
             h->dirty_bytes, h->blocks, h->bytes, h->foreign_cached);
        sep = ",";
    }
    emit(&k, "],\"heaps_omitted\":%zu,\"options\":{", s.heaps_total - s.heaps_shown);
    sep = "";
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        char v[32];
        int n = mapalloc_option_get(option_table[i].name, v, sizeof v);
        emit(&k, "%s\"%s\":%s", sep, option_table[i].name, n > 0 ? v : "null");
        sep = ",";
    }
    emit(&k, "}}\n");
    return k.at;
}

/* ---- malloc_info (override.c): glibc's XML shape ---- */

void stats_malloc_info(FILE *fp) INTERNAL;

/* One <heap> per thread heap: <sizes> lists the free blocks of each size
 * class's pages (glibc lists free chunks by size), "rest" their total,
 * "system current" the bytes of the heap's pages and unpurged free slices,
 * "aspace" its regions. The closing totals are process-wide; "mmap" counts
 * large blocks. Each heap is read under heaps_lock and printed without it
 * (printing may allocate). */
void stats_malloc_info(FILE *fp) {
    heap_t *me = tls_heap;
    fputs("<malloc version=\"1\">\n", fp);
    size_t free_blocks = 0, free_bytes = 0, nr = 0;
    heaps_lock();
    heap_t *h = heaps_first();
    heaps_unlock();
    while (h) {
        struct mapalloc_class_stats cls[CLASS_COUNT];
        size_t foreign[CLASS_COUNT] = {0}, cls_free[CLASS_COUNT] = {0};
        struct heap_figures hf;
        memset(cls, 0, sizeof cls);
        heaps_lock();
        bool locked;
        bool exact = walk_lock(h, me, &locked);
        regions_lock();
        walk_heap(h, exact, cls, foreign, &hf, cls_free);
        regions_unlock();
        if (locked) pthread_mutex_unlock(&h->adopt_lock);
        heap_t *next = h->next_all; /* the heap list only ever grows at its head */
        heaps_unlock();
        fprintf(fp, "<heap nr=\"%zu\">\n<sizes>\n", nr++);
        size_t hb = 0, hbytes = 0;
        for (unsigned c = 1; c < CLASS_COUNT; c++) {
            if (!cls_free[c]) continue;
            size_t from = c > 1 ? class_size[c - 1] + 1 : 1;
            fprintf(fp, "<size from=\"%zu\" to=\"%u\" total=\"%zu\" count=\"%zu\"/>\n", from, class_size[c],
                    cls_free[c] * class_size[c], cls_free[c]);
            hb += cls_free[c];
            hbytes += cls_free[c] * class_size[c];
        }
        size_t current = hf.page_bytes + hf.dirty_bytes, aspace = hf.regions * REGION_SIZE;
        fprintf(fp, "</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                    "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                    "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
                    "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</heap>\n",
                hb, hbytes, current, current, aspace, aspace);
        free_blocks += hb;
        free_bytes += hbytes;
        h = next;
    }
    struct mapalloc_stats t;
    mapalloc_stats_get(&t);
    fprintf(fp, "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
                "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
                "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</malloc>\n",
            free_blocks, free_bytes, t.large_blocks, t.large_bytes, t.committed, t.peak_committed, t.reserved,
            t.reserved);
}
