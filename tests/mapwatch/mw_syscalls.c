/* mw_syscalls.c: the overhead benchmark's workload. ROUNDS rounds of: OTHER
 * non-memory system calls (getppid, which libc does not cache) and one
 * mmap/touch/munmap pair. Defaults: 20000 rounds of 50 other calls, i.e.
 * 1,000,000 other calls and 40,000 memory calls. A third argument "wx" first
 * maps a page writable and executable (a finding, for the long-run tests). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 20000;
    long other = argc > 2 ? atol(argv[2]) : 50;
    long sum = 0;
    if (argc > 3 && argv[3][0] == 'w' &&
        mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
        return 1;
    for (long r = 0; r < rounds; r++) {
        for (long i = 0; i < other; i++)
            sum += syscall(SYS_getppid);
        char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        p[0] = (char)r;
        munmap(p, 65536);
    }
    return sum == 0; /* getppid is never 0 here: keeps the loop from being elided */
}
