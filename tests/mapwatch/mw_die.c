/* mw_die.c: maps 23 pages and then aborts: mapwatch must report the signal,
 * keep what it recorded, write its outputs and exit with 128+SIGABRT. */
#include <stdlib.h>
#include <sys/mman.h>

int main(void)
{
    char *p = mmap(NULL, 23 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    p[0] = 1;
    abort();
}
