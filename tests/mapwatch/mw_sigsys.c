/* mw_sigsys.c: a program with a seccomp filter of its own that traps getppid
 * and execve into its SIGSYS handler (as sandboxes do). Under mapwatch, whose
 * filter traps execve too, each trap must reach the handler exactly once, with
 * the registers the program had. Exits 0 when they did, 4 when not. */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define R9 0x0123456789abcdefL

static volatile int getppid_traps, execve_traps, r9_in_handler_ok;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    const ucontext_t *uc = ctx;
    if (si->si_syscall == SYS_getppid)
        getppid_traps++;
    if (si->si_syscall == SYS_execve) {
        execve_traps++;
        r9_in_handler_ok = uc->uc_mcontext.gregs[REG_R9] == R9;
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return 1;
    syscall(SYS_getppid);
    register long r9 __asm__("r9") = R9;
    long ret = SYS_execve;
    static const char path[] = "/bin/true";
    __asm__ volatile("syscall" : "+a"(ret), "+r"(r9) : "D"(path), "S"(0L), "d"(0L) : "rcx", "r11", "memory");
    return getppid_traps == 1 && execve_traps == 1 && r9_in_handler_ok && r9 == R9 ? 0 : 4;
}
