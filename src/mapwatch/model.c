/* model.c: the interval map of one address space, updated by each memory call
 * and explaining what the call did to the regions (new, merged, split, hole
 * punched, moved). Also region classification, the per-call security findings
 * and the model-versus-kernel comparison. Calls decode.c and procmaps.c. */
#include "model.h"

#include "decode.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096ull
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define MW_MAP_STACKISH (0x20000u | 0x100u) /* MAP_STACK | MAP_GROWSDOWN */
#define MW_RF_DONTFORK (1u << 31)           /* MADV_DONTFORK seen (model-only flag) */

/* ---- interval map primitives ------------------------------------------ */

static void band_close(struct mw_space *sp, const struct mw_region *r, uint64_t seq)
{
    if (!sp->log || seq <= r->born_seq)
        return;
    struct mw_bandlog *log = sp->log;
    if (log->count == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 256;
        log->bands = realloc(log->bands, log->cap * sizeof *log->bands);
    }
    log->bands[log->count++] = (struct mw_band){
        .space_id = sp->id, .pid = sp->pid, .start = r->start, .end = r->end, .prot = r->prot,
        .shared = r->shared, .kind = r->kind, .path = r->path ? strdup(r->path) : NULL,
        .from_seq = r->born_seq, .to_seq = seq,
    };
}

void mw_bandlog_free(struct mw_bandlog *log)
{
    for (size_t i = 0; i < log->count; i++)
        free(log->bands[i].path);
    free(log->bands);
    log->bands = NULL;
    log->count = log->cap = 0;
}

/* Index of the first region whose end is above addr. */
static size_t first_above(const struct mw_space *sp, uint64_t addr)
{
    size_t lo = 0, hi = sp->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sp->regions[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void insert_at(struct mw_space *sp, size_t i, const struct mw_region *r)
{
    if (sp->count == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 64;
        sp->regions = realloc(sp->regions, sp->cap * sizeof *sp->regions);
    }
    memmove(&sp->regions[i + 1], &sp->regions[i], (sp->count - i) * sizeof *sp->regions);
    sp->regions[i] = *r;
    sp->count++;
}

static void remove_at(struct mw_space *sp, size_t i, uint64_t seq)
{
    band_close(sp, &sp->regions[i], seq);
    free(sp->regions[i].path);
    memmove(&sp->regions[i], &sp->regions[i + 1], (sp->count - i - 1) * sizeof *sp->regions);
    sp->count--;
}

/* Split the region containing addr so that addr becomes a boundary. Splitting
 * changes nothing visible, so both halves keep their band's birth. */
static bool split_at(struct mw_space *sp, uint64_t addr)
{
    size_t i = first_above(sp, addr);
    if (i >= sp->count || sp->regions[i].start >= addr)
        return false;
    struct mw_region right = sp->regions[i];
    right.path = right.path ? strdup(right.path) : NULL;
    if (right.path)
        right.offset += addr - right.start;
    right.start = addr;
    sp->regions[i].end = addr;
    insert_at(sp, i + 1, &right);
    return true;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Would the kernel merge a and b (a directly below b)? Approximately: same
 * attributes and, for files, contiguous offsets. */
static bool mergeable(const struct mw_region *a, const struct mw_region *b)
{
    if (a->end != b->start || a->prot != b->prot || a->shared != b->shared ||
        a->map_flags != b->map_flags || !same_str(a->path, b->path))
        return false;
    if (a->path && a->path[0] == '[')
        return strcmp(a->path, "[heap]") == 0;
    return !a->path || a->offset + (a->end - a->start) == b->offset;
}

/* Merge region i+1 into region i if the kernel would. */
static bool merge_pair(struct mw_space *sp, size_t i, uint64_t seq)
{
    if (i + 1 >= sp->count || !mergeable(&sp->regions[i], &sp->regions[i + 1]))
        return false;
    band_close(sp, &sp->regions[i], seq);
    sp->regions[i].end = sp->regions[i + 1].end;
    sp->regions[i].was_written |= sp->regions[i + 1].was_written;
    sp->regions[i].born_seq = seq;
    remove_at(sp, i + 1, seq);
    return true;
}

/* Merge region i with its neighbours where possible; below and above report
 * which merges happened. Returns the index of the merged region. */
static size_t merge_around(struct mw_space *sp, size_t i, uint64_t seq, bool *below, bool *above)
{
    *above = merge_pair(sp, i, seq);
    *below = i > 0 && merge_pair(sp, i - 1, seq);
    return *below ? i - 1 : i;
}

/* ---- classification ---------------------------------------------------- */

static bool is_image(const struct mw_region *regions, size_t count, const char *path)
{
    for (size_t i = 0; i < count; i++)
        if (regions[i].path && (regions[i].prot & PROT_EXEC) && strcmp(regions[i].path, path) == 0)
            return true;
    return false;
}

static enum mw_kind classify(const struct mw_region *regions, size_t count, size_t i)
{
    const struct mw_region *r = &regions[i];
    const char *p = r->path;
    if (p && (strncmp(p, "[vdso]", 6) == 0 || strncmp(p, "[vvar", 5) == 0 || strcmp(p, "[vsyscall]") == 0))
        return MW_KIND_VDSO;
    if (p && strcmp(p, "[heap]") == 0)
        return MW_KIND_HEAP;
    if (p && strcmp(p, "[stack]") == 0)
        return MW_KIND_STACK;
    if (r->prot == 0)
        return MW_KIND_GUARD;
    if (r->shared)
        return MW_KIND_SHARED;
    if (r->map_flags & MW_MAP_STACKISH)
        return MW_KIND_THREAD_STACK;
    if (p && p[0] != '[') {
        if (r->prot & PROT_EXEC)
            return MW_KIND_TEXT;
        if ((r->prot & PROT_WRITE) || is_image(regions, count, p))
            return MW_KIND_DATA;
        return MW_KIND_FILE;
    }
    if (i > 0) {
        const struct mw_region *prev = &regions[i - 1];
        if (prev->end == r->start && prev->path && prev->path[0] == '/' && (prev->prot & PROT_WRITE) &&
            !prev->shared && (r->prot & PROT_WRITE))
            return MW_KIND_BSS;
    }
    return MW_KIND_ANON;
}

void mw_classify_list(struct mw_region *regions, size_t count)
{
    for (size_t i = 0; i < count; i++)
        regions[i].kind = classify(regions, count, i);
}

void mw_space_classify(struct mw_space *sp)
{
    mw_classify_list(sp->regions, sp->count);
}

static bool is_file(const char *path)
{
    return path && path[0] != '[';
}

/* Whether a file mapping overlaps [a, b): its kind may depend on mappings of
 * the same file elsewhere (is_image), so a change to it reclassifies all. */
static bool touches_file(const struct mw_space *sp, uint64_t a, uint64_t b)
{
    for (size_t i = first_above(sp, a); i < sp->count && sp->regions[i].start < b; i++)
        if (is_file(sp->regions[i].path))
            return true;
    return false;
}

/* Classify after a change to [a, b). A region's kind depends on the region
 * itself, on the one below it (bss follows an image's data) and, for file
 * mappings, on the executable mappings of the same file anywhere. So when no
 * file mapping was added, removed or changed (`file` false), only the regions
 * from the one containing a to the first one at or above b can have a new
 * kind: classifying all of them at every call was most of the model's cost. */
static void reclassify(struct mw_space *sp, uint64_t a, uint64_t b, bool file)
{
    if (file) {
        mw_space_classify(sp);
        return;
    }
    for (size_t i = first_above(sp, a); i < sp->count; i++) {
        sp->regions[i].kind = classify(sp->regions, sp->count, i);
        if (sp->regions[i].start >= b)
            break;
    }
}

/* ---- spaces ------------------------------------------------------------ */

struct mw_space *mw_space_new(unsigned id, pid_t pid, struct mw_bandlog *log)
{
    struct mw_space *sp = calloc(1, sizeof *sp);
    sp->id = id;
    sp->pid = pid;
    sp->log = log;
    return sp;
}

struct mw_space *mw_space_fork(const struct mw_space *parent, unsigned id, pid_t pid, uint64_t seq)
{
    struct mw_space *sp = mw_space_new(id, pid, parent->log);
    for (size_t i = 0; i < parent->count; i++) {
        if (parent->regions[i].map_flags & MW_RF_DONTFORK)
            continue;
        struct mw_region r = parent->regions[i];
        r.path = r.path ? strdup(r.path) : NULL;
        r.born_seq = seq;
        insert_at(sp, sp->count, &r);
    }
    sp->brk_start = parent->brk_start;
    sp->brk_cur = parent->brk_cur;
    mw_space_classify(sp); /* regions left out change who is below whom */
    return sp;
}

static void clear_regions(struct mw_space *sp, uint64_t seq)
{
    while (sp->count)
        remove_at(sp, sp->count - 1, seq);
}

void mw_space_free(struct mw_space *sp, uint64_t seq)
{
    if (!sp)
        return;
    clear_regions(sp, seq);
    free(sp->regions);
    free(sp);
}

void mw_space_load(struct mw_space *sp, const struct mw_maps *kernel, uint64_t seq)
{
    clear_regions(sp, seq);
    sp->brk_start = sp->brk_cur = 0;
    for (size_t i = 0; i < kernel->count; i++) {
        struct mw_region r = kernel->regions[i];
        r.path = r.path ? strdup(r.path) : NULL;
        r.born_seq = seq;
        r.was_written = (r.prot & PROT_WRITE) != 0;
        if (r.path && strcmp(r.path, "[heap]") == 0) {
            sp->brk_start = r.start;
            sp->brk_cur = r.end;
        }
        insert_at(sp, sp->count, &r);
    }
    mw_space_classify(sp);
}

const struct mw_region *mw_space_find(const struct mw_space *sp, uint64_t addr)
{
    size_t i = first_above(sp, addr);
    if (i < sp->count && sp->regions[i].start <= addr)
        return &sp->regions[i];
    return NULL;
}

void mw_space_grow_stack(struct mw_space *sp, uint64_t new_start, uint64_t seq)
{
    for (size_t i = 0; i < sp->count; i++) {
        struct mw_region *r = &sp->regions[i];
        if (r->path && strcmp(r->path, "[stack]") == 0 && new_start < r->start) {
            band_close(sp, r, seq);
            r->start = new_start;
            r->born_seq = seq;
            return;
        }
    }
}

/* ---- applying calls ---------------------------------------------------- */

struct effect {
    unsigned removed, trimmed, holed;
    uint64_t bytes;
    bool any;
    enum mw_kind kind;
    uint64_t kind_size;
};

static void unmap_range(struct mw_space *sp, uint64_t a, uint64_t b, uint64_t seq, struct effect *e)
{
    memset(e, 0, sizeof *e);
    for (size_t i = first_above(sp, a); i < sp->count && sp->regions[i].start < b; i++) {
        const struct mw_region *r = &sp->regions[i];
        if (r->start >= a && r->end <= b)
            e->removed++;
        else if (r->start < a && r->end > b)
            e->holed++;
        else
            e->trimmed++;
        uint64_t lo = r->start > a ? r->start : a, hi = r->end < b ? r->end : b;
        e->bytes += hi - lo;
        if (!e->any) {
            e->kind = r->kind;
            e->kind_size = r->end - r->start;
        }
        e->any = true;
    }
    split_at(sp, a);
    split_at(sp, b);
    size_t i = first_above(sp, a);
    while (i < sp->count && sp->regions[i].start < b)
        remove_at(sp, i, seq);
}

static void add_finding(struct mw_event *ev, const char *text)
{
    struct mw_buf b = { 0 };
    if (ev->findings) {
        if (strstr(ev->findings, text))
            return;
        mw_buf_printf(&b, "%s\n", ev->findings);
        free(ev->findings);
    }
    mw_buf_printf(&b, "%s", text);
    ev->findings = mw_buf_take(&b);
}

/* W+X and executable-anonymous checks over [a, b) after a call. */
static void check_range(struct mw_space *sp, struct mw_event *ev, uint64_t a, uint64_t b)
{
    for (size_t i = first_above(sp, a); i < sp->count && sp->regions[i].start < b; i++) {
        const struct mw_region *r = &sp->regions[i];
        if ((r->prot & PROT_WRITE) && (r->prot & PROT_EXEC)) {
            ev->wx = true;
            add_finding(ev, "writable and executable memory (W+X)");
        }
        if ((r->prot & PROT_EXEC) && r->kind == MW_KIND_STACK)
            add_finding(ev, "executable stack");
        else if ((r->prot & PROT_EXEC) && !r->path)
            add_finding(ev, "executable anonymous memory");
    }
}

static void set_kind_at(struct mw_space *sp, struct mw_event *ev, uint64_t addr)
{
    const struct mw_region *r = mw_space_find(sp, addr);
    if (r) {
        ev->kind = r->kind;
        ev->have |= MW_HAVE_KIND;
    }
}

static void describe_merge(struct mw_buf *b, const struct mw_region *r, bool below, bool above)
{
    char size[32];
    if (below && above)
        mw_buf_lit(b, ", merged with the regions below and above");
    else if (below)
        mw_buf_lit(b, ", merged with the region below");
    else if (above)
        mw_buf_lit(b, ", merged with the region above");
    else
        return;
    /* " (now %#llx-%#llx, %s)" */
    mw_buf_lit(b, " (now ");
    mw_buf_putx(b, r->start);
    mw_buf_putc(b, '-');
    mw_buf_putx(b, r->end);
    mw_buf_lit(b, ", ");
    mw_buf_puts(b, mw_size_str(r->end - r->start, size));
    mw_buf_putc(b, ')');
}

static void apply_map(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b, struct mw_region *nr)
{
    char size[32], perm[4];
    uint64_t seq = ev->seq;
    struct effect e;
    bool file = is_file(nr->path) || touches_file(sp, nr->start, nr->end);
    unmap_range(sp, nr->start, nr->end, seq, &e);
    size_t i = first_above(sp, nr->start);
    insert_at(sp, i, nr);
    reclassify(sp, nr->start, nr->end, file);
    /* "+%s %s%c %s", without the format: this runs for every mapping */
    mw_buf_putc(b, '+');
    mw_buf_puts(b, mw_size_str(nr->end - nr->start, size));
    mw_buf_putc(b, ' ');
    mw_buf_puts(b, mw_prot_str(nr->prot, perm));
    mw_buf_putc(b, nr->shared ? 's' : 'p');
    mw_buf_putc(b, ' ');
    mw_buf_puts(b, mw_kind_name(sp->regions[i].kind));
    if (e.any)
        mw_buf_printf(b, ", replacing %s of %s", mw_size_str(e.bytes, size), mw_kind_name(e.kind));
    else
        mw_buf_lit(b, ", new region");
    bool below, above;
    i = merge_around(sp, i, seq, &below, &above);
    describe_merge(b, &sp->regions[i], below, above);
    if (below || above)
        reclassify(sp, nr->start, nr->end, file);
}

static void apply_mmap(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b)
{
    bool anon = (ev->flags & MAP_ANONYMOUS) != 0;
    struct mw_region r = {
        .start = ev->addr, .end = ev->addr + PAGE_UP(ev->length), .prot = ev->prot,
        .shared = (ev->flags & 0x0f) != MAP_PRIVATE, .offset = anon ? 0 : ev->offset,
        .map_flags = (unsigned)(ev->flags & MW_MAP_STACKISH), .was_written = (ev->prot & PROT_WRITE) != 0,
        .born_seq = ev->seq,
    };
    if (!anon && ev->path)
        r.path = strdup(ev->path);
    else if (anon && r.shared)
        r.path = strdup("/dev/zero (deleted)"); /* how the kernel names shared anonymous memory */
    apply_map(sp, ev, b, &r);
    set_kind_at(sp, ev, ev->addr);
    check_range(sp, ev, r.start, r.end);
}

static void apply_munmap(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b)
{
    char size[32], whole[32];
    struct effect e;
    uint64_t a = ev->addr, z = ev->addr + PAGE_UP(ev->length);
    set_kind_at(sp, ev, a);
    bool file = touches_file(sp, a, z);
    unmap_range(sp, a, z, ev->seq, &e);
    if (!e.any) {
        mw_buf_lit(b, "nothing was mapped there");
        return;
    }
    mw_buf_putc(b, '-');
    mw_buf_puts(b, mw_size_str(e.bytes, size));
    if (e.holed)
        mw_buf_printf(b, ", hole punched in a %s %s region", mw_size_str(e.kind_size, whole), mw_kind_name(e.kind));
    if (e.removed)
        mw_buf_printf(b, ", %u %s region%s removed", e.removed, mw_kind_name(e.kind), e.removed > 1 ? "s" : "");
    if (e.trimmed)
        mw_buf_printf(b, ", %u region%s trimmed", e.trimmed, e.trimmed > 1 ? "s" : "");
    reclassify(sp, a, z, file);
}

static void apply_mprotect(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b)
{
    char size[32], perm[4];
    uint64_t a = ev->addr, z = ev->addr + PAGE_UP(ev->length);
    bool file = touches_file(sp, a, z);
    bool split_lo = split_at(sp, a), split_hi = split_at(sp, z);
    unsigned touched = 0;
    size_t first = first_above(sp, a), last = first;
    for (size_t i = first; i < sp->count && sp->regions[i].start < z; i++, last = i) {
        struct mw_region *r = &sp->regions[i];
        touched++;
        if ((ev->prot & PROT_EXEC) && !(r->prot & PROT_EXEC) && r->was_written)
            add_finding(ev, "mprotect makes written memory executable");
        if (r->prot == ev->prot)
            continue;
        band_close(sp, r, ev->seq);
        r->prot = ev->prot;
        r->born_seq = ev->seq;
        if (ev->prot & PROT_WRITE)
            r->was_written = true;
    }
    if (!touched) {
        mw_buf_lit(b, "nothing was mapped there");
        return;
    }
    reclassify(sp, a, z, file);
    set_kind_at(sp, ev, a);
    mw_buf_printf(b, "%s now %s", mw_size_str(z - a, size), mw_prot_str(ev->prot, perm));
    if (split_lo || split_hi)
        mw_buf_printf(b, ", split a region into %d parts", 1 + split_lo + split_hi);
    else
        mw_buf_printf(b, ", %u whole region%s", touched, touched > 1 ? "s" : "");
    /* Merge from the top down so the indexes below stay valid. */
    size_t merged = 0, lo = first ? first - 1 : 0;
    for (size_t i = last < sp->count ? last + 1 : sp->count; i-- > lo;)
        merged += merge_pair(sp, i, ev->seq);
    if (merged)
        mw_buf_printf(b, ", merged with %zu neighbour%s", merged, merged > 1 ? "s" : "");
    reclassify(sp, a, z, file);
    check_range(sp, ev, a, z);
}

static void apply_mremap(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b)
{
    char size[32];
    uint64_t old = ev->addr, old_len = PAGE_UP(ev->length), nlen = PAGE_UP(ev->new_length);
    const struct mw_region *src = mw_space_find(sp, old);
    if (!src) {
        mw_buf_lit(b, "source not in the model");
        return;
    }
    bool file = touches_file(sp, old, old + old_len);
    struct mw_region r = *src;
    r.path = r.path ? strdup(r.path) : NULL;
    uint64_t src_start = src->start;
    if (r.path)
        r.offset += old - src_start;
    r.born_seq = ev->seq;
    bool moved = ev->new_addr != old;
    if (!moved) {
        struct effect e;
        if (nlen < old_len) {
            unmap_range(sp, old + nlen, old + old_len, ev->seq, &e);
            mw_buf_printf(b, "shrunk in place to %s", mw_size_str(nlen, size));
            free(r.path);
        } else {
            r.start = old + old_len;
            r.end = old + nlen;
            if (r.path)
                r.offset += old_len;
            struct mw_buf ignore = { 0 };
            apply_map(sp, ev, &ignore, &r);
            mw_buf_free(&ignore);
            mw_buf_printf(b, "grown in place to %s", mw_size_str(nlen, size));
        }
    } else {
        bool keep_old = old_len == 0 || (ev->flags & 0x4); /* duplicate, MREMAP_DONTUNMAP */
        struct effect e;
        if (!keep_old)
            unmap_range(sp, old, old + old_len, ev->seq, &e);
        r.start = ev->new_addr;
        r.end = ev->new_addr + nlen;
        struct mw_buf ignore = { 0 };
        apply_map(sp, ev, &ignore, &r);
        mw_buf_free(&ignore);
        mw_buf_printf(b, "moved from %#llx to %#llx, now %s%s", (unsigned long long)old,
                      (unsigned long long)ev->new_addr, mw_size_str(nlen, size),
                      keep_old ? " (old range kept)" : "");
    }
    /* apply_map classified around what it mapped; the old range changed too. */
    reclassify(sp, old, old + (old_len > nlen ? old_len : nlen), file);
    set_kind_at(sp, ev, ev->new_addr);
    check_range(sp, ev, ev->new_addr, ev->new_addr + nlen);
}

static void apply_brk(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b)
{
    char size[32];
    uint64_t req = ev->args[0], now = (uint64_t)ev->result;
    ev->addr = req;
    if (!sp->brk_start) {
        const struct mw_region *heap = NULL;
        for (size_t i = 0; i < sp->count && !heap; i++)
            if (sp->regions[i].path && strcmp(sp->regions[i].path, "[heap]") == 0)
                heap = &sp->regions[i];
        sp->brk_start = heap ? heap->start : now;
        sp->brk_cur = heap ? sp->brk_cur : now;
    }
    uint64_t old = sp->brk_cur ? sp->brk_cur : now;
    if (req == 0 || req == now) {
        ev->err = 0;
    } else {
        ev->err = ENOMEM;
    }
    ev->delta = (int64_t)(now - old);
    ev->length = now > old ? now - old : old - now;
    sp->brk_cur = now;
    if (req == 0) {
        mw_buf_printf(b, "query: break at %#llx", (unsigned long long)now);
        return;
    }
    if (ev->err) {
        mw_buf_printf(b, "refused: break stays at %#llx", (unsigned long long)now);
        return;
    }
    uint64_t old_end = PAGE_UP(old), new_end = PAGE_UP(now);
    if (old_end == new_end) {
        mw_buf_lit(b, "break moved within the last page");
    } else if (new_end > old_end) {
        struct mw_region r = { .start = old_end > sp->brk_start ? old_end : sp->brk_start, .end = new_end,
                               .prot = PROT_READ | PROT_WRITE, .path = strdup("[heap]"), .was_written = true,
                               .born_seq = ev->seq };
        struct mw_buf ignore = { 0 };
        apply_map(sp, ev, &ignore, &r);
        mw_buf_free(&ignore);
        char total[32];
        mw_buf_printf(b, "heap grows by %s to %s", mw_size_str(new_end - old_end, size),
                      mw_size_str(new_end - sp->brk_start, total));
    } else {
        struct effect e;
        bool file = touches_file(sp, new_end, old_end);
        unmap_range(sp, new_end, old_end, ev->seq, &e);
        reclassify(sp, new_end, old_end, file);
        mw_buf_printf(b, "heap shrinks by %s", mw_size_str(old_end - new_end, size));
    }
    set_kind_at(sp, ev, sp->brk_start);
}

static void apply_madvise(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b)
{
    set_kind_at(sp, ev, ev->addr);
    switch (ev->advice) {
    case 4: case 8: case 9: case 21: case 24: /* DONTNEED FREE REMOVE PAGEOUT DONTNEED_LOCKED */
        mw_buf_lit(b, "pages released, mapping kept");
        break;
    case 10: case 18: { /* DONTFORK, WIPEONFORK */
        uint64_t a = ev->addr, z = ev->addr + PAGE_UP(ev->length);
        split_at(sp, a);
        split_at(sp, z);
        for (size_t i = first_above(sp, a); i < sp->count && sp->regions[i].start < z; i++)
            if (ev->advice == 10)
                sp->regions[i].map_flags |= MW_RF_DONTFORK;
        reclassify(sp, a, z, touches_file(sp, a, z)); /* a split changes who is below whom */
        mw_buf_printf(b, ev->advice == 10 ? "not inherited by fork" : "zeroed in fork children");
        break;
    }
    case 22: case 23:
        mw_buf_lit(b, "pages populated");
        break;
    default:
        mw_buf_lit(b, "advice only, no layout change");
        break;
    }
}

static void apply_shmat(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b)
{
    struct mw_region r = { .start = ev->addr, .end = ev->addr + PAGE_UP(ev->length), .prot = ev->prot,
                           .shared = true, .path = ev->path ? strdup(ev->path) : NULL,
                           .was_written = (ev->prot & PROT_WRITE) != 0, .born_seq = ev->seq };
    apply_map(sp, ev, b, &r);
    set_kind_at(sp, ev, ev->addr);
    check_range(sp, ev, r.start, r.end);
}

static void apply_shmdt(struct mw_space *sp, struct mw_event *ev, struct mw_buf *b)
{
    char size[32];
    const struct mw_region *r = mw_space_find(sp, ev->addr);
    if (!r || !r->shared) {
        mw_buf_lit(b, "no shared segment there in the model");
        return;
    }
    /* The segment may span several regions after mprotect: follow its path. */
    uint64_t end = r->end;
    const char *path = r->path;
    size_t i = first_above(sp, ev->addr) + 1;
    while (i < sp->count && sp->regions[i].start == end && same_str(sp->regions[i].path, path))
        end = sp->regions[i++].end;
    ev->length = end - ev->addr;
    ev->kind = r->kind;
    ev->have |= MW_HAVE_KIND;
    struct effect e;
    unmap_range(sp, ev->addr, end, ev->seq, &e);
    mw_buf_printf(b, "-%s shared segment detached", mw_size_str(e.bytes, size));
    mw_space_classify(sp);
}

void mw_space_apply(struct mw_space *sp, struct mw_event *ev)
{
    struct mw_buf b = { 0 };
    const struct mw_syscall_desc *d = mw_syscall_by_nr(ev->nr);
    enum mw_call call = d ? d->call : MW_CALL_NONE;
    if (call == MW_CALL_BRK) {
        apply_brk(sp, ev, &b);
    } else if (ev->err) {
        mw_buf_lit(&b, "failed, no change");
        set_kind_at(sp, ev, ev->addr);
    } else {
        switch (call) {
        case MW_CALL_MMAP: apply_mmap(sp, ev, &b); break;
        case MW_CALL_MUNMAP: apply_munmap(sp, ev, &b); break;
        case MW_CALL_MPROTECT:
        case MW_CALL_PKEY_MPROTECT: apply_mprotect(sp, ev, &b); break;
        case MW_CALL_MREMAP: apply_mremap(sp, ev, &b); break;
        case MW_CALL_MADVISE: apply_madvise(sp, ev, &b); break;
        case MW_CALL_SHMAT: apply_shmat(sp, ev, &b); break;
        case MW_CALL_SHMDT: apply_shmdt(sp, ev, &b); break;
        default: break;
        }
    }
    free(ev->change);
    ev->change = mw_buf_take(&b);
}

/* ---- model versus kernel ----------------------------------------------- */

struct norm {
    uint64_t start, end;
    unsigned prot;
    bool shared;
    const char *key;                 /* path, with anonymous names folded to "" */
    const struct mw_region *src;
};

static const char *path_key(const char *p)
{
    if (!p || !*p || strcmp(p, "[heap]") == 0 || strncmp(p, "[anon:", 6) == 0)
        return "";
    return p;
}

static size_t normalize(const struct mw_region *regions, size_t count, struct norm *out)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const struct mw_region *r = &regions[i];
        const char *key = path_key(r->path);
        if (n && out[n - 1].end == r->start && out[n - 1].prot == r->prot &&
            out[n - 1].shared == r->shared && strcmp(out[n - 1].key, key) == 0) {
            out[n - 1].end = r->end;
            continue;
        }
        out[n++] = (struct norm){ r->start, r->end, r->prot, r->shared, key, r };
    }
    return n;
}

static const struct norm *covering(const struct norm *list, size_t n, size_t *cursor, uint64_t addr)
{
    while (*cursor < n && list[*cursor].end <= addr)
        (*cursor)++;
    if (*cursor < n && list[*cursor].start <= addr)
        return &list[*cursor];
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

size_t mw_space_compare(const struct mw_space *sp, const struct mw_maps *kernel,
                        void (*fn)(const struct mw_diff *d, void *arg), void *arg)
{
    struct norm *m = malloc((sp->count + 1) * sizeof *m), *k = malloc((kernel->count + 1) * sizeof *k);
    size_t nm = normalize(sp->regions, sp->count, m), nk = normalize(kernel->regions, kernel->count, k);
    size_t nb = 0;
    uint64_t *bounds = malloc((2 * (nm + nk) + 1) * sizeof *bounds);
    for (size_t i = 0; i < nm; i++) {
        bounds[nb++] = m[i].start;
        bounds[nb++] = m[i].end;
    }
    for (size_t i = 0; i < nk; i++) {
        bounds[nb++] = k[i].start;
        bounds[nb++] = k[i].end;
    }
    qsort(bounds, nb, sizeof *bounds, cmp_u64);
    size_t cm = 0, ck = 0, diffs = 0;
    struct mw_diff cur = { 0 };
    bool open = false;
    for (size_t i = 0; i + 1 < nb; i++) {
        uint64_t lo = bounds[i], hi = bounds[i + 1];
        if (lo == hi)
            continue;
        const struct norm *a = covering(m, nm, &cm, lo), *b = covering(k, nk, &ck, lo);
        bool same = (!a && !b) || (a && b && a->prot == b->prot && a->shared == b->shared && strcmp(a->key, b->key) == 0);
        const struct mw_region *ma = a ? a->src : NULL, *kb = b ? b->src : NULL;
        if (open && (same || cur.end != lo || (cur.model == NULL) != (ma == NULL) || (cur.kernel == NULL) != (kb == NULL))) {
            fn(&cur, arg);
            diffs++;
            open = false;
        }
        if (same)
            continue;
        if (!open)
            cur = (struct mw_diff){ lo, hi, ma, kb };
        cur.end = hi;
        open = true;
    }
    if (open) {
        fn(&cur, arg);
        diffs++;
    }
    free(bounds);
    free(m);
    free(k);
    return diffs;
}
