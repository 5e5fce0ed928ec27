/* mw_layout.c: a program with known layout changes, each with a distinctive
 * length (in pages) so that run_tests.py can find them in mapwatch's JSON:
 * mmap 7, mprotect split, munmap hole, mremap 3->9, madvise, brk +64 KiB,
 * file mapping 3, shmat 5, pkey_mprotect, W+X page, a thread mapping 11,
 * a fork child mapping 13. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

static void *thread_main(void *arg)
{
    (void)arg;
    char *p = mmap(NULL, 11 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return (void *)1;
    p[0] = 1;
    munmap(p, 11 * PG);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "/tmp/mw_layout.dat";
    /* 1-3: anonymous mapping, split by mprotect, hole punched by munmap */
    char *a = mmap(NULL, 7 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return 1;
    memset(a, 1, 7 * PG);
    if (mprotect(a + 2 * PG, PG, PROT_READ) != 0)
        return 2;
    if (munmap(a + 5 * PG, PG) != 0)
        return 3;
    /* 4-5: mremap grows and may move; madvise drops pages */
    char *b = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    b = mremap(b, 3 * PG, 9 * PG, MREMAP_MAYMOVE);
    if (b == MAP_FAILED)
        return 4;
    madvise(b, 9 * PG, MADV_DONTNEED);
    /* 6: the brk heap */
    void *brk0 = sbrk(0);
    if (sbrk(64 * 1024) == (void *)-1)
        return 6;
    ((char *)brk0)[100] = 1;
    sbrk(-64 * 1024);
    /* 7: a file mapping */
    int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 3 * PG) != 0)
        return 7;
    char *f = mmap(NULL, 3 * PG, PROT_READ, MAP_SHARED, fd, 0);
    if (f == MAP_FAILED)
        return 7;
    close(fd);
    munmap(f, 3 * PG);
    unlink(file);
    /* 8: SysV shared memory */
    int id = shmget(IPC_PRIVATE, 5 * PG, IPC_CREAT | 0600);
    if (id >= 0) {
        void *s = shmat(id, NULL, 0);
        if (s != (void *)-1)
            shmdt(s);
        shmctl(id, IPC_RMID, NULL);
    }
    /* 9: pkey_mprotect with the default key behaves as mprotect */
    syscall(SYS_pkey_mprotect, a, PG, PROT_READ, -1);
    /* 10: W+X, then the W^X way round */
    unsigned char *code = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    code[0] = 0xc3; /* ret */
    mprotect(code, PG, PROT_READ | PROT_WRITE | PROT_EXEC);
    mprotect(code, PG, PROT_READ | PROT_EXEC);
    ((void (*)(void))(uintptr_t)code)();
    munmap(code, PG);
    /* 11: a thread */
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, &ret) != 0 || ret)
        return 11;
    /* 12: a fork child */
    pid_t child = fork();
    if (child == 0) {
        char *c = mmap(NULL, 13 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        _exit(c == MAP_FAILED ? 1 : 0);
    }
    int status;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        return 12;
    munmap(a, 7 * PG);
    munmap(b, 9 * PG);
    return 0;
}
