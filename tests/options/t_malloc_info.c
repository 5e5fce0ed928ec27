/* t_malloc_info.c: a program that knows nothing of mapalloc: it allocates
 * with the standard names, then calls malloc_info(0, stdout) and
 * malloc_info(1, stdout) (EINVAL, as glibc). run_tests.py runs it through the
 * `mapalloc` command and parses the XML.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    static void *volatile p[1000]; /* volatile: the compiler may not drop the pairs */
    for (int i = 0; i < 1000; i++) p[i] = malloc(32);
    char *volatile big = malloc(1 << 20);
    memset(big, 1, 1 << 20);
    for (int i = 0; i < 1000; i += 2) free(p[i]);
    fflush(stdout);
    int rc = malloc_info(0, stdout);
    int bad = malloc_info(1, stdout);
    fflush(stdout);
    fprintf(stderr, "malloc_info returned %d, with options 1: %d\n", rc, bad);
    free(big);
    return rc == 0 && bad == EINVAL ? 0 : 1;
}
