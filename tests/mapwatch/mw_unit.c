/* mw_unit.c: promises of the address-space model and the decoding tables,
 * checked without tracing anything: each CHECK names one property. */
#include "decode.h"
#include "model.h"
#include "output.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static int failures, checks;

#define CHECK(name, cond)                                                     \
    do {                                                                      \
        checks++;                                                             \
        if (!(cond)) {                                                        \
            failures++;                                                       \
            fprintf(stderr, "FAIL %s (%s:%d): %s\n", name, __FILE__, __LINE__, #cond); \
        }                                                                     \
    } while (0)

#define PG 4096ull
#define BASE 0x10000000ull

static uint64_t seq;

static struct mw_event call(struct mw_space *sp, int nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                            int64_t result)
{
    struct mw_event ev = { .seq = ++seq, .nr = nr, .args = { a0, a1, a2, a3, (uint64_t)-1, 0 }, .result = result };
    mw_decode_event(&ev);
    mw_space_apply(sp, &ev);
    return ev;
}

static void free_event(struct mw_event *ev)
{
    free(ev->change);
    free(ev->findings);
    free(ev->path);
}

static void count_diff(const struct mw_diff *d, void *arg)
{
    (void)d;
    (void)arg;
}

static bool has(const char *s, const char *sub)
{
    return s && strstr(s, sub);
}

/* Whether every region's kind is what classifying the whole map from
 * scratch gives: the model reclassifies only around each change. */
static bool kinds_fresh(const struct mw_space *sp)
{
    struct mw_region *copy = malloc((sp->count + 1) * sizeof *copy);
    memcpy(copy, sp->regions, sp->count * sizeof *copy);
    mw_classify_list(copy, sp->count);
    bool same = true;
    for (size_t i = 0; i < sp->count; i++)
        same &= copy[i].kind == sp->regions[i].kind;
    free(copy);
    return same;
}

static uint64_t rnd(uint64_t *state, uint64_t n)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (*state >> 33) % n;
}

/* Random calls over a 64-page window holding an image (text, read-only and
 * writable data, bss), anonymous memory, guards, a heap and thread stacks. */
static void random_calls_keep_kinds_fresh(void)
{
    struct mw_space *sp = mw_space_new(9, 900, NULL);
    const uint64_t win = 0x40000000ull, heap = win + 64 * PG;
    uint64_t state = 42, bad_at = 0;
    const unsigned prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_NONE };
    const char *const files[] = { "/lib/a.so", "/lib/b.so" };
    struct mw_event q = { .seq = ++seq, .nr = SYS_brk, .result = (int64_t)heap }; /* the break starts at heap */
    mw_decode_event(&q);
    mw_space_apply(sp, &q);
    free_event(&q);
    for (uint64_t step = 1; step <= 20000 && !bad_at; step++) {
        uint64_t a = win + rnd(&state, 64) * PG, len = (1 + rnd(&state, 8)) * PG;
        unsigned prot = prots[rnd(&state, 4)];
        struct mw_event ev = { .seq = ++seq };
        switch (rnd(&state, 8)) {
        case 0: case 1: { /* anonymous, sometimes a thread stack */
            unsigned flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (rnd(&state, 4) ? 0 : MAP_STACK);
            ev = (struct mw_event){ .seq = seq, .nr = SYS_mmap, .args = { a, len, prot, flags, (uint64_t)-1, 0 },
                                    .result = (int64_t)a };
            break;
        }
        case 2: /* a file, at an offset that may continue the mapping below */
            ev = (struct mw_event){ .seq = seq, .nr = SYS_mmap,
                                    .args = { a, len, prot, MAP_PRIVATE | MAP_FIXED, 3, (a - win) % (8 * PG) },
                                    .result = (int64_t)a, .path = strdup(files[rnd(&state, 2)]) };
            break;
        case 3:
            ev = (struct mw_event){ .seq = seq, .nr = SYS_munmap, .args = { a, len } };
            break;
        case 4:
            ev = (struct mw_event){ .seq = seq, .nr = SYS_mprotect, .args = { a, len, prot } };
            break;
        case 5: { /* move, grow or shrink */
            uint64_t to = rnd(&state, 2) ? win + rnd(&state, 64) * PG : a, nlen = (1 + rnd(&state, 8)) * PG;
            ev = (struct mw_event){ .seq = seq, .nr = SYS_mremap,
                                    .args = { a, len, nlen, to != a ? 3u : 1u, to },
                                    .result = (int64_t)to };
            if (!mw_space_find(sp, a))
                ev.result = -1, ev.args[0] = 0; /* keep the model's "source not in the model" out */
            break;
        }
        case 6:
            ev = (struct mw_event){ .seq = seq, .nr = SYS_madvise, .args = { a, len, MADV_DONTFORK } };
            break;
        default: { /* the heap grows and shrinks above the window */
            uint64_t brk = heap + rnd(&state, 16) * PG;
            ev = (struct mw_event){ .seq = seq, .nr = SYS_brk, .args = { brk }, .result = (int64_t)brk };
            break;
        }
        }
        if (ev.result == -1) {
            free(ev.path);
            continue;
        }
        mw_decode_event(&ev);
        mw_space_apply(sp, &ev);
        if (!kinds_fresh(sp))
            bad_at = step;
        free_event(&ev);
    }
    CHECK("after each of 20000 random calls every kind is as a full classification gives", bad_at == 0);
    if (bad_at)
        fprintf(stderr, "  first stale kind after call %llu\n", (unsigned long long)bad_at);
    mw_space_free(sp, ++seq);
}

/* mw_size_str as it was written first, with printf's "%.1f". */
static void size_str_reference(uint64_t bytes, char buf[32])
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, 32, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, 32, "%.1f %s", v, units[u]);
}

static void sizes_print_as_printf_does(void)
{
    uint64_t state = 7, bad = 0;
    bool differs = false;
    for (unsigned i = 0; i < 400000 && !differs; i++) {
        unsigned shift = (unsigned)rnd(&state, 64);
        uint64_t v = i < 4096 ? i * 1024 / 5 + i % 7 : (rnd(&state, 1ull << 62) << 2 | rnd(&state, 4)) >> shift;
        char got[32], want[32];
        mw_size_str(v, got);
        size_str_reference(v, want);
        if (strcmp(got, want) != 0)
            differs = true, bad = v;
    }
    for (uint64_t v = 0; v < 3000000 && !differs; v += 1 + v / 4096) {
        char got[32], want[32];
        mw_size_str(v, got);
        size_str_reference(v, want);
        if (strcmp(got, want) != 0)
            differs = true, bad = v;
    }
    CHECK("sizes print as printf's %.1f does, ties to even included", !differs);
    if (differs)
        fprintf(stderr, "  first difference at %llu\n", (unsigned long long)bad);
}

/* mw_buf_printf does the common conversions itself: the text must be what
 * snprintf makes, for each of them and for the ones it hands to vsnprintf. */
static void messages_format_as_printf_does(void)
{
    uint64_t state = 3;
    bool differs = false;
    const char *const words[] = { "", "anon", "a longer piece of text with 100% in it", "/lib/x.so" };
    for (int i = 0; i < 20000 && !differs; i++) {
        unsigned long long x = rnd(&state, 1ull << 48) >> rnd(&state, 48);
        long long d = (long long)rnd(&state, 1ull << 40) - (1ll << 39);
        int n = (int)d;
        unsigned u = (unsigned)x;
        size_t z = (size_t)x;
        const char *w = words[rnd(&state, 4)];
        char c = (char)('a' + rnd(&state, 26));
        char want[512];
        struct mw_buf b = { 0 };
        mw_buf_printf(&b, "pre ");
        switch (rnd(&state, 4)) {
        case 0:
            mw_buf_printf(&b, "+%s %s%c %s, %u parts %%", w, w, c, w, u);
            snprintf(want, sizeof want, "pre +%s %s%c %s, %u parts %%", w, w, c, w, u);
            break;
        case 1:
            mw_buf_printf(&b, " (now %#llx-%#llx, %s)", x, x >> 3, w);
            snprintf(want, sizeof want, "pre  (now %#llx-%#llx, %s)", x, x >> 3, w);
            break;
        case 2:
            mw_buf_printf(&b, "%d %zu %lld %llu|", n, z, d, x);
            snprintf(want, sizeof want, "pre %d %zu %lld %llu|", n, z, d, x);
            break;
        default: /* not done by mw_buf_printf itself */
            mw_buf_printf(&b, "%5d %.2s %lx", n, w, (unsigned long)x);
            snprintf(want, sizeof want, "pre %5d %.2s %lx", n, w, (unsigned long)x);
            break;
        }
        differs = strcmp(b.s, want) != 0;
        if (differs)
            fprintf(stderr, "  got  %s\n  want %s\n", b.s, want);
        mw_buf_free(&b);
    }
    CHECK("messages format as snprintf does", !differs);
}

/* The timeline line of one event, as a string. */
static bool line_is(const struct mw_event *ev, const char *want)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mw_text_event(f, ev);
    fclose(f);
    bool same = strcmp(text, want) == 0;
    if (!same)
        fprintf(stderr, "  got:  %s  want: %s", text, want);
    free(text);
    return same;
}

static void timeline_lines_are_exact(void)
{
    struct mw_event mm = { .time = 0.0078125, .pid = 7, .tid = 7, .type = MW_EV_SYSCALL, .nr = SYS_mmap,
                           .syscall = "mmap", .args = { 0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                                        (uint64_t)-1, 0 },
                           .result = 0x7f0000001000, .change = "+64.0 KiB rw-p anon, new region",
                           .caller = "mmap in main at t.c:3 [t]" };
    CHECK("an mmap line, its time rounded as %10.6f rounds a tie (to even)",
          line_is(&mm, "  0.007812 [7] mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
                       "0x7f0000001000  : +64.0 KiB rw-p anon, new region  <- mmap in main at t.c:3 [t]\n"));
    struct mw_event bad = { .time = 1234.0234375, .pid = 7, .tid = 9, .type = MW_EV_SYSCALL, .nr = SYS_munmap,
                            .syscall = "munmap", .args = { 0x1001, 0 }, .result = -1, .err = 22,
                            .findings = "one\ntwo" };
    CHECK("a failed call of another thread, past 1000 s, with findings",
          line_is(&bad, "1234.023438 [7/9] munmap(0x1001, 0) = -1 EINVAL\n           !! finding: one\n"
                        "           !! finding: two\n"));
    struct mw_event ex = { .time = 0.5, .pid = 3, .tid = 3, .type = MW_EV_EXEC, .syscall = "exec", .path = "/bin/x",
                           .change = "new address space" };
    CHECK("an exec line", line_is(&ex, "  0.500000 [3] -- exec /bin/x  : new address space\n"));
    struct mw_event mr = { .time = 2.0000005, .pid = 3, .tid = 3, .type = MW_EV_SYSCALL, .nr = SYS_mremap,
                           .syscall = "mremap", .args = { 0x5000, 4096, 8192, 3, 0 }, .result = 0 };
    CHECK("an mremap to address 0 prints it as %#llx does",
          line_is(&mr, "  2.000001 [3] mremap(0x5000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0) = 0\n"));
}

int main(void)
{
    struct mw_bandlog log = { 0 };
    struct mw_space *sp = mw_space_new(1, 100, &log);
    const int anon = MAP_PRIVATE | MAP_ANONYMOUS;

    struct mw_event e = call(sp, SYS_mmap, 0, 4 * PG, PROT_READ | PROT_WRITE, anon, (int64_t)BASE);
    CHECK("mmap creates one region", sp->count == 1 && sp->regions[0].end == BASE + 4 * PG);
    CHECK("mmap explained as new region", has(e.change, "new region"));
    CHECK("anonymous rw is kind anon", e.kind == MW_KIND_ANON);
    free_event(&e);

    e = call(sp, SYS_mmap, BASE + 4 * PG, 2 * PG, PROT_READ | PROT_WRITE, anon | MAP_FIXED, (int64_t)(BASE + 4 * PG));
    CHECK("adjacent compatible mmap merges", sp->count == 1 && sp->regions[0].end == BASE + 6 * PG);
    CHECK("merge explained", has(e.change, "merged with the region below"));
    free_event(&e);

    e = call(sp, SYS_mprotect, BASE + PG, PG, PROT_READ, 0, 0);
    CHECK("mprotect in the middle splits in three", sp->count == 3 && sp->regions[1].prot == PROT_READ);
    CHECK("split explained", has(e.change, "split a region into 3 parts"));
    free_event(&e);

    e = call(sp, SYS_mprotect, BASE + PG, PG, PROT_READ | PROT_WRITE, 0, 0);
    CHECK("mprotect back merges again", sp->count == 1);
    free_event(&e);

    e = call(sp, SYS_munmap, BASE + 2 * PG, PG, 0, 0, 0);
    CHECK("munmap in the middle punches a hole", sp->count == 2 && sp->regions[0].end == BASE + 2 * PG &&
                                                     sp->regions[1].start == BASE + 3 * PG);
    CHECK("hole explained", has(e.change, "hole punched"));
    free_event(&e);

    e = call(sp, SYS_mremap, BASE + 3 * PG, 3 * PG, 5 * PG, 1, (int64_t)(BASE + 100 * PG));
    CHECK("mremap moves the region", mw_space_find(sp, BASE + 3 * PG) == NULL &&
                                         mw_space_find(sp, BASE + 104 * PG) != NULL);
    CHECK("move explained", has(e.change, "moved from"));
    CHECK("mremap new_length decoded", e.new_length == 5 * PG && e.new_addr == BASE + 100 * PG);
    free_event(&e);

    e = call(sp, SYS_mprotect, BASE, PG, PROT_READ | PROT_EXEC, 0, 0);
    CHECK("written memory made executable is a finding", has(e.findings, "written memory executable"));
    CHECK("executable anonymous memory is a finding", has(e.findings, "executable anonymous"));
    CHECK("r-x is not W+X", !e.wx);
    free_event(&e);

    e = call(sp, SYS_mmap, 0, PG, PROT_READ | PROT_WRITE | PROT_EXEC, anon, (int64_t)(BASE + 200 * PG));
    CHECK("rwx mmap is W+X", e.wx && has(e.findings, "W+X"));
    free_event(&e);

    e = call(sp, SYS_mmap, 0, PG, PROT_NONE, anon, (int64_t)(BASE + 300 * PG));
    CHECK("PROT_NONE is a guard", e.kind == MW_KIND_GUARD);
    free_event(&e);

    e = call(sp, SYS_mmap, 0, 8 * PG, PROT_READ | PROT_WRITE, anon | MAP_STACK, (int64_t)(BASE + 400 * PG));
    CHECK("MAP_STACK is a thread stack", e.kind == MW_KIND_THREAD_STACK);
    free_event(&e);

    e = call(sp, SYS_munmap, BASE + 500 * PG, PG, 0, 0, -1);
    e.err = 22;
    CHECK("a failed call changes nothing visible", mw_space_find(sp, BASE + 500 * PG) == NULL);
    free_event(&e);

    /* mremap in place, both ways */
    e = call(sp, SYS_mmap, 0, 2 * PG, PROT_READ | PROT_WRITE, anon, (int64_t)(BASE + 600 * PG));
    free_event(&e);
    e = call(sp, SYS_mremap, BASE + 600 * PG, 2 * PG, 6 * PG, 0, (int64_t)(BASE + 600 * PG));
    const struct mw_region *g = mw_space_find(sp, BASE + 600 * PG);
    CHECK("mremap grows in place", g && g->end == BASE + 606 * PG && has(e.change, "grown in place"));
    free_event(&e);
    e = call(sp, SYS_mremap, BASE + 600 * PG, 6 * PG, PG, 0, (int64_t)(BASE + 600 * PG));
    g = mw_space_find(sp, BASE + 600 * PG);
    CHECK("mremap shrinks in place", g && g->end == BASE + 601 * PG && !mw_space_find(sp, BASE + 601 * PG));
    free_event(&e);

    /* MAP_FIXED over existing memory replaces it */
    e = call(sp, SYS_mmap, BASE + 600 * PG, PG, PROT_READ, anon | MAP_FIXED, (int64_t)(BASE + 600 * PG));
    g = mw_space_find(sp, BASE + 600 * PG);
    CHECK("MAP_FIXED replaces", g && g->prot == PROT_READ && has(e.change, "replacing 4.0 KiB of anon"));
    free_event(&e);

    /* file mappings merge only with contiguous offsets */
    struct mw_event f1 = { .seq = ++seq, .nr = SYS_mmap, .args = { 0, PG, PROT_READ, MAP_PRIVATE, 3, 0 },
                           .result = (int64_t)(BASE + 700 * PG), .path = strdup("/lib/x.so") };
    mw_decode_event(&f1);
    mw_space_apply(sp, &f1);
    struct mw_event f2 = { .seq = ++seq, .nr = SYS_mmap,
                           .args = { BASE + 701 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, 3, PG },
                           .result = (int64_t)(BASE + 701 * PG), .path = strdup("/lib/x.so") };
    mw_decode_event(&f2);
    mw_space_apply(sp, &f2);
    g = mw_space_find(sp, BASE + 700 * PG);
    CHECK("file pages with contiguous offsets merge", g && g->end == BASE + 702 * PG);
    CHECK("read-only file memory is kind file", g && g->kind == MW_KIND_FILE);
    free_event(&f1);
    free_event(&f2);

    /* fork copies all but MADV_DONTFORK regions */
    e = call(sp, SYS_madvise, BASE + 400 * PG, 8 * PG, MADV_DONTFORK, 0, 0);
    CHECK("DONTFORK explained", has(e.change, "not inherited by fork"));
    free_event(&e);
    struct mw_space *child = mw_space_fork(sp, 2, 101, ++seq);
    CHECK("fork copy leaves out DONTFORK memory",
          !mw_space_find(child, BASE + 400 * PG) && mw_space_find(child, BASE + 700 * PG));
    mw_space_free(child, ++seq);

    /* brk: query, grow, shrink */
    e = call(sp, SYS_brk, 0, 0, 0, 0, (int64_t)(BASE + 1000 * PG));
    CHECK("brk(0) is a query", has(e.change, "query"));
    free_event(&e);
    e = call(sp, SYS_brk, BASE + 1016 * PG, 0, 0, 0, (int64_t)(BASE + 1016 * PG));
    const struct mw_region *heap = mw_space_find(sp, BASE + 1000 * PG);
    CHECK("brk grows the heap", heap && heap->kind == MW_KIND_HEAP && heap->end == BASE + 1016 * PG);
    CHECK("brk delta", e.delta == (int64_t)(16 * PG));
    free_event(&e);
    e = call(sp, SYS_brk, BASE + 1008 * PG, 0, 0, 0, (int64_t)(BASE + 1008 * PG));
    heap = mw_space_find(sp, BASE + 1000 * PG);
    CHECK("brk shrinks the heap", heap && heap->end == BASE + 1008 * PG);
    free_event(&e);
    e = call(sp, SYS_brk, BASE + 9000000 * PG, 0, 0, 0, (int64_t)(BASE + 1008 * PG));
    CHECK("refused brk reports ENOMEM", e.err == 12);
    free_event(&e);

    /* comparison with a kernel view */
    struct mw_maps kernel = { 0 };
    for (size_t i = 0; i < sp->count; i++)
        mw_maps_push(&kernel, &sp->regions[i]);
    size_t ndiff = mw_space_compare(sp, &kernel, count_diff, NULL);
    CHECK("a model agrees with its own copy", ndiff == 0);
    /* split one kernel region in two: still the same memory */
    struct mw_region half = kernel.regions[0];
    half.path = NULL;
    kernel.regions[0].end = half.start + PG;
    half.start += PG;
    if (half.start < half.end) {
        mw_maps_push(&kernel, &half);
    }
    struct mw_maps sorted = { 0 };
    mw_maps_parse("10000000-10001000 r-xp 00000000 00:00 0\n", &sorted);
    CHECK("maps parse", sorted.count == 1 && sorted.regions[0].prot == (PROT_READ | PROT_EXEC) && !sorted.regions[0].path);
    mw_maps_free(&sorted);
    mw_maps_free(&kernel);

    /* decoding tables */
    const char *names[8];
    char rest[32];
    size_t n = mw_flag_names(MW_CALL_MMAP, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, names, 8, rest, sizeof rest);
    CHECK("MAP_ flags decode", n == 3 && !strcmp(names[0], "MAP_PRIVATE") && !strcmp(names[1], "MAP_FIXED") &&
                                   !strcmp(names[2], "MAP_ANONYMOUS") && !rest[0]);
    n = mw_flag_names(MW_CALL_MMAP, MAP_SHARED | 0x80000000u, names, 8, rest, sizeof rest);
    CHECK("unknown flag bits shown in hex", n == 1 && !strcmp(rest, "0x80000000"));
    CHECK("madvise names", !strcmp(mw_advice_name(MADV_DONTNEED), "MADV_DONTNEED"));
    char perm[4];
    CHECK("prot string", !strcmp(mw_prot_str(PROT_READ | PROT_EXEC, perm), "r-x"));
    CHECK("errno name", !strcmp(mw_errno_name(12), "ENOMEM"));

    random_calls_keep_kinds_fresh();
    sizes_print_as_printf_does();
    timeline_lines_are_exact();
    messages_format_as_printf_does();

    mw_space_free(sp, ++seq);
    CHECK("bands recorded for the picture", log.count > 5);
    mw_bandlog_free(&log);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
