/* mw_exec.c: maps 17 pages, grows its stack by page faults, tries to exec a
 * file that does not exist (a raw execve with a known value in r9, which the
 * kernel keeps: it must still be there after the failure), then execs itself
 * with "again", which maps 19 pages: exec must replace the address space in
 * mapwatch's model, and the old one be compared with the kernel's first. */
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A failing execve whose r9 (an argument execve does not read) must survive. */
static int failed_exec_keeps_r9(void)
{
#if defined(__x86_64__)
    register long r9 __asm__("r9") = 0x1234567890abcdefL;
    long ret = SYS_execve;
    static const char path[] = "/nonexistent/mw_exec";
    __asm__ volatile("syscall" : "+a"(ret), "+r"(r9) : "D"(path), "S"(0L), "d"(0L) : "rcx", "r11", "memory");
    return ret < 0 && r9 == 0x1234567890abcdefL;
#else
    return 1;
#endif
}

static int grow_stack(void)
{
    volatile char big[256 * 1024];
    for (size_t i = 0; i < sizeof big; i += 4096)
        big[i] = (char)i;
    return big[4096];
}

int main(int argc, char **argv)
{
    int again = argc > 1 && strcmp(argv[1], "again") == 0;
    char *p = mmap(NULL, (again ? 19 : 17) * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    p[0] = 1;
    if (!again) {
        if (!failed_exec_keeps_r9())
            return 3;
        grow_stack();
        char *args[] = { argv[0], "again", NULL };
        execv("/proc/self/exe", args);
        return 2;
    }
    return 0;
}
