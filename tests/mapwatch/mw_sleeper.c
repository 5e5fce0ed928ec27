/* mw_sleeper.c: a long-running process for the attach and stop tests. It
 * writes its pid to argv[1], starts a thread that maps and unmaps 41 pages
 * every 20 ms, then itself every 20 ms maps and unmaps 29 pages and writes a
 * counter to argv[2], until killed. Its calls must keep succeeding while
 * traced and after mapwatch detaches. */
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        char *p = mmap(NULL, 41 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || munmap(p, 41 * 4096) != 0)
            _exit(5);
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 2;
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0)
        return 2;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    for (unsigned long n = 1;; n++) {
        char *p = mmap(NULL, 29 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 3;
        p[0] = 1;
        if (munmap(p, 29 * 4096) != 0)
            return 4;
        f = fopen(argv[2], "w");
        if (f) {
            fprintf(f, "%lu\n", n);
            fclose(f);
        }
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}
