/* idle_purge: with background_purge=1, memory freed by a thread that then
 * stops calling the allocator is given back within a few purge delays; in a
 * fork child (the purger thread does not survive fork) a new purger starts
 * and does the same. Run with the library preloaded and
 * MAPALLOC_BACKGROUND_PURGE=1 MAPALLOC_PURGE_DELAY_MS=50.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f || fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
    if (f) fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Allocate ~40 MiB of small blocks, free them all, then idle: RSS must fall
 * to under a quarter of the peak without any further allocator call. */
static int round_trip(const char *who) {
    enum { N = 200000 };
    static void *p[N];
    long base = rss_kib();
    for (int i = 0; i < N; i++) {
        p[i] = malloc(200);
        if (!p[i]) return 1;
        memset(p[i], 1, 200);
    }
    long peak = rss_kib();
    for (int i = 0; i < N; i++) free(p[i]);
    long idle = peak;
    for (int waited = 0; waited < 3000 && idle - base > (peak - base) / 4; waited += 100) {
        usleep(100 * 1000);
        idle = rss_kib();
    }
    printf("%s: base %ld KiB, peak %ld KiB, idle %ld KiB\n", who, base, peak, idle);
    return idle - base <= (peak - base) / 4 ? 0 : 1;
}

int main(void) {
    if (round_trip("parent") != 0) { puts("parent kept its memory"); return 1; }
    pid_t pid = fork();
    if (pid == 0) _exit(round_trip("child"));
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { puts("child kept its memory"); return 1; }
    puts("idle memory given back in parent and fork child");
    return 0;
}
