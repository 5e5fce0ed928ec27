/* mw_fakealloc.c: a stand-in for libmapalloc's side channel. When
 * MAPALLOC_EVENT_FD is set it writes "mapalloc <call> <addr> <len> <reason>"
 * after each OS call, as the allocator does: a 31-page "large" block, a
 * "purge" madvise on it, a "guard" page, then unmaps it; then a 37-page "region"
 * mapped as 74 pages and trimmed, announced as the kept half. Exits 3 without the
 * variable, so the test also proves mapwatch sets it. An argument N first
 * makes N unannounced mmap/munmap pairs (a long run before the allocator's). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;

static void report(const char *call, void *addr, size_t len, const char *reason)
{
    dprintf(fd, "mapalloc %s %p %zu %s\n", call, addr, len, reason);
}

int main(int argc, char **argv)
{
    const char *env = getenv("MAPALLOC_EVENT_FD");
    if (!env)
        return 3;
    fd = atoi(env);
    for (long i = argc > 1 ? atol(argv[1]) : 0; i > 0; i--) {
        void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (w == MAP_FAILED)
            return 1;
        munmap(w, 4096);
    }
    size_t len = 31 * 4096;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    report("mmap", p, len, "large");
    madvise(p, len, MADV_DONTNEED);
    report("madvise", p, len, "purge");
    mprotect(p, 4096, PROT_NONE);
    report("mprotect", p, 4096, "guard");
    munmap(p, len);
    report("munmap", p, len, "large");
    /* An aligned region: map twice the size, trim, announce the kept half. */
    size_t region = 37 * 4096;
    char *q = mmap(NULL, 2 * region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        return 1;
    munmap(q, region);
    report("mmap", q + region, region, "region");
    return 0;
}
