/* mw_unit.c: promises of the address-space model and the decoding tables,
 * checked without tracing anything: each CHECK names one property. */
#include "decode.h"
#include "model.h"

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

    mw_space_free(sp, ++seq);
    CHECK("bands recorded for the picture", log.count > 5);
    mw_bandlog_free(&log);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
