/* mw_int80.c: a 32-bit system call (int $0x80, i386 getpid = 20) from a
 * 64-bit program. mapwatch does not follow such calls, but it must not change
 * what they do: the program must get its pid and go on.
 * Exit 0 and "int80 ok" when it does; 77 when the kernel has no 32-bit
 * emulation (int $0x80 then faults, checked in a child first). */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static long int80_getpid(void) {
    long r = 20;
    __asm__ volatile("int $0x80" : "+a"(r) : : "memory");
    return r;
}

int main(void) {
    pid_t c = fork();
    if (c == 0) _exit(int80_getpid() == (long)getpid() ? 0 : 1);
    int st = 0;
    if (c < 0 || waitpid(c, &st, 0) != c) return 2;
    if (!WIFEXITED(st)) { puts("no 32-bit emulation"); return 77; }
    if (int80_getpid() != (long)getpid()) { puts("int80 wrong result"); return 1; }
    puts("int80 ok");
    return 0;
}
