/* mw_exec.c: maps 17 pages, then execs itself with "again", which maps 19
 * pages: exec must replace the address space in mapwatch's model. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int again = argc > 1 && strcmp(argv[1], "again") == 0;
    char *p = mmap(NULL, (again ? 19 : 17) * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    p[0] = 1;
    if (!again) {
        char *args[] = { argv[0], "again", NULL };
        execv("/proc/self/exe", args);
        return 2;
    }
    return 0;
}
