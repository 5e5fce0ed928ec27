/* spawn: run a command and report its wall time and peak resident set, for
 * run.py. The peak must be measured from a small parent: Linux carries the
 * resident high-water mark of the image a process had before execve into its
 * ru_maxrss, so a child forked by the (large) Python runner would report at
 * least the runner's size. spawn forks, execs the command, reaps it with
 * wait4 and writes "status=S maxrss_kib=K wall_s=T cpu_s=C" to the result
 * file (cpu_s: user + system time of the command and its waited-for children).
 *   usage: spawn RESULT_FILE COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s RESULT_FILE COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("spawn: fork");
        return 125;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "spawn: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("spawn: wait4");
            return 125;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    FILE *f = fopen(argv[1], "w");
    if (f == NULL) {
        perror("spawn: result file");
        return 125;
    }
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    fprintf(f, "status=%d maxrss_kib=%ld wall_s=%.6f cpu_s=%.6f\n", status, ru.ru_maxrss, wall, cpu);
    fclose(f);
    /* Exit like the child did, so a plain caller sees its status too. */
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
