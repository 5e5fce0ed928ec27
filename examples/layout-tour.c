/* layout-tour.c: the classic walk through dynamic memory, to watch with
 *     mapwatch --html tour.html -- build/examples/layout-tour
 * A small malloc (glibc: grows the brk heap; mapalloc: carved from an mmap'd
 * region), a large malloc (its own mmap), an anonymous mmap, the W^X way to
 * run generated code (write it into RW memory, then mprotect to R-X and call
 * it), then munmap and free. Each step prints what to look for. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define STEP(...) (printf(__VA_ARGS__), fflush(stdout))

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);

    /* Before any printf, so that this malloc is the one that creates the heap. */
    char *small = malloc(64);
    if (!small)
        return 1;
    strcpy(small, "hello");
    STEP("1. small malloc(64) at %p: glibc extends the brk heap; mapalloc uses an mmap'd region\n", (void *)small);

    STEP("2. large malloc(1 MiB): a mapping of its own\n");
    char *large = malloc(1 << 20);
    if (!large)
        return 1;
    memset(large, 1, 1 << 20);
    STEP("   large block at %p\n", (void *)large); /* printing the address keeps the compiler from eliding it */

    STEP("3. anonymous mmap of 4 pages\n");
    char *anon = mmap(NULL, 4 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED)
        return 1;
    anon[0] = 1;

    STEP("4. W^X: write x86-64 code into a RW page, mprotect it to R-X, call it\n");
    unsigned char *code = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED)
        return 1;
    static const unsigned char answer[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 }; /* mov eax, 42; ret */
    memcpy(code, answer, sizeof answer);
    if (mprotect(code, (size_t)page, PROT_READ | PROT_EXEC) != 0)
        return 1;
    int (*fn)(void) = (int (*)(void))(uintptr_t)code;
    STEP("   generated code returned %d\n", fn());

    STEP("5. munmap the code page and the anonymous pages\n");
    munmap(code, (size_t)page);
    munmap(anon, 4 * (size_t)page);

    STEP("6. free both blocks: the large one goes back to the system\n");
    free(large);
    free(small);
    return 0;
}
