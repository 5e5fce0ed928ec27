/* test_codemem.c: the promises of code memory (mapalloc_code_*), one test
 * per command-line name (CTest runs each):
 *   flip, dual   generated x86-64 code runs, is packed, patched, freed and
 *                reused; /proc/self/maps shows no page writable and
 *                executable at once after any step
 *   threads      concurrent alloc/write/seal/free from several threads
 *   denied       with executable memory forbidden (a seccomp filter), create
 *                fails with errno EPERM in both modes, without crashing
 * Exit 0: kept; 1: broken (a message says which promise); 77: skipped.
 */
#define _GNU_SOURCE
#include <mapalloc.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

static _Atomic int failures;
static unsigned wx_checks;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

/* No mapping of the process may be writable and executable: the W^X promise,
 * checked from the kernel's own view after every step. */
static void check_no_wx(const char *step) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) { perror("/proc/self/maps"); failures++; return; }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') {
            fprintf(stderr, "after %s: writable and executable: %s", step, line);
            failures++;
        }
    }
    fclose(f);
    wx_checks++;
}

/* The permissions /proc/self/maps gives the page holding addr ("r-xp"...). */
static void perms_of(const void *addr, char out[5]) {
    strcpy(out, "????");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return;
    char line[512];
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && a >= lo && a < hi) {
            memcpy(out, perms, 4);
            out[4] = 0;
            break;
        }
    }
    fclose(f);
}

typedef int (*int_fn)(void);
static int call(void *code) {
    int_fn fn;
    memcpy(&fn, &code, sizeof fn);
    return fn();
}

/* A function of exactly len bytes (len >= 6) returning value: nops, then
 * mov eax, imm32; ret. */
static void emit(unsigned char *w, size_t len, int value) {
    memset(w, 0x90, len - 6);
    w += len - 6;
    w[0] = 0xB8;
    memcpy(w + 1, &value, 4);
    w[5] = 0xC3;
}

static void *make_function(mapalloc_code_arena *a, size_t len, int value, const char *mode) {
    void *code = mapalloc_code_alloc(a, len);
    CHECK(code != NULL);
    if (!code) return NULL;
    check_no_wx("alloc");
    unsigned char *w = mapalloc_code_write_begin(a, code);
    CHECK(w != NULL);
    if (!w) return NULL;
    check_no_wx("write_begin");
    if (strcmp(mode, "flip") == 0) {
        char p[5];
        perms_of(code, p);
        CHECK(w == code && strcmp(p, "rw-p") == 0);   /* flipped: writable, not executable */
    } else {
        char p[5], q[5];
        perms_of(code, p);
        perms_of(w, q);
        CHECK(w != code && strcmp(p, "r-xs") == 0 && strcmp(q, "rw-s") == 0);
    }
    CHECK(w[0] == 0xCC);    /* a fresh block holds traps, not stale code */
    emit(w, len, value);
    CHECK(mapalloc_code_seal(a, code) == 0);
    check_no_wx("seal");
    char p[5];
    perms_of(code, p);
    CHECK(p[2] == 'x' && p[1] == '-');
    return code;
}

#define NFUN 300

static void test_mode(enum mapalloc_code_mode mode, const char *name) {
    mapalloc_code_arena *a = mapalloc_code_create(mode);
    CHECK(a != NULL);
    if (!a) return;
    check_no_wx("create");
    static void *fun[NFUN];
    static size_t len[NFUN];
    for (int i = 0; i < NFUN; i++) {
        len[i] = 6 + (size_t)(i * 7) % 90;
        fun[i] = make_function(a, len[i], i, name);
        if (!fun[i]) return;
    }
    for (int i = 0; i < NFUN; i++) CHECK(call(fun[i]) == i);

    /* Packed: 300 small functions share a handful of pages. */
    size_t pages = 0;
    for (int i = 0; i < NFUN; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) seen = ((uintptr_t)fun[j] >> 12) == ((uintptr_t)fun[i] >> 12);
        if (!seen) pages++;
    }
    CHECK(pages <= NFUN * 112 / 4096 + 2);
    for (int i = 0; i < NFUN; i++) CHECK((uintptr_t)fun[i] % 16 == 0);

    /* Patch every third function while the others keep running. */
    for (int i = 0; i < NFUN; i += 3) {
        unsigned char *w = mapalloc_code_write_begin(a, fun[i]);
        CHECK(w != NULL);
        if (!w) return;
        check_no_wx("write_begin (patch)");
        CHECK(w[len[i] - 6] == 0xB8);      /* reopening keeps the code */
        int v = -i - 1;
        memcpy(w + len[i] - 5, &v, 4);
        CHECK(mapalloc_code_seal(a, fun[i]) == 0);
        check_no_wx("seal (patch)");
    }
    for (int i = 0; i < NFUN; i++) CHECK(call(fun[i]) == (i % 3 == 0 ? -i - 1 : i));

    /* Misuse is refused with errno, not crashes. */
    void *w = mapalloc_code_write_begin(a, fun[1]);
    CHECK(w != NULL);
    errno = 0;
    CHECK(mapalloc_code_write_begin(a, fun[1]) == NULL && errno == EBUSY);
    CHECK(mapalloc_code_seal(a, fun[1]) == 0);
    errno = 0;
    CHECK(mapalloc_code_seal(a, fun[1]) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(len[2] > 16 && mapalloc_code_free(a, (char *)fun[2] + 16) == -1 && errno == EINVAL);
    int local;
    errno = 0;
    CHECK(mapalloc_code_free(a, &local) == -1 && errno == EINVAL);
    CHECK(call(fun[1]) == 1 && call(fun[2]) == 2);

    struct mapalloc_code_stats st;
    CHECK(mapalloc_code_stats_get(a, &st) == 0 && st.blocks == NFUN && st.open_blocks == 0 && st.chunks == 1);

    /* Freed code is reused: free the even ones, allocate the same sizes again. */
    for (int i = 0; i < NFUN; i += 2) {
        CHECK(mapalloc_code_free(a, fun[i]) == 0);
        check_no_wx("free");
        if (mode == MAPALLOC_CODE_DUAL) CHECK(*(unsigned char *)fun[i] == 0xCC);   /* stale calls trap */
    }
    errno = 0;
    CHECK(mapalloc_code_free(a, fun[0]) == -1 && errno == EINVAL);   /* double free */
    size_t reused = 0;
    for (int i = 0; i < NFUN; i += 2) {
        void *again = make_function(a, len[i], 1000 + i, name);
        if (!again) return;
        for (int j = 0; j < NFUN; j += 2) reused += again == fun[j];
        fun[i] = again;
    }
    CHECK(reused == NFUN / 2);
    for (int i = 0; i < NFUN; i++) CHECK(call(fun[i]) == (i % 2 == 0 ? 1000 + i : i % 3 == 0 ? -i - 1 : i));

    /* A function bigger than a chunk gets its own, given back when freed. */
    void *big = make_function(a, 200000, 77, name);
    CHECK(big && call(big) == 77);
    CHECK(mapalloc_code_stats_get(a, &st) == 0 && st.chunks == 2);
    CHECK(mapalloc_code_free(a, big) == 0);
    CHECK(mapalloc_code_stats_get(a, &st) == 0 && st.chunks == 1);
    check_no_wx("free (big)");

    /* The one-call form. */
    unsigned char bytes[6];
    emit(bytes, sizeof bytes, 5);
    void *quick = mapalloc_code_add(a, bytes, sizeof bytes);
    CHECK(quick && call(quick) == 5);
    check_no_wx("add");

    mapalloc_code_destroy(a);
    check_no_wx("destroy");
}

struct worker { mapalloc_code_arena *a; int id; bool run; };

/* Each thread makes, checks, patches and frees its own functions; in flip
 * mode it checks them by reading (running code on a page another thread has
 * flipped to RW would fault: the documented limit of flip mode). */
static void *worker_main(void *arg) {
    struct worker *wk = arg;
    for (int round = 0; round < 2000; round++) {
        int value = wk->id * 100000 + round;
        size_t len = 6 + (size_t)(round % 40);
        void *code = mapalloc_code_alloc(wk->a, len);
        unsigned char *w = code ? mapalloc_code_write_begin(wk->a, code) : NULL;
        if (!w) { failures++; return NULL; }
        emit(w, len, value);
        if (mapalloc_code_seal(wk->a, code) != 0) { failures++; return NULL; }
        int got;
        memcpy(&got, (unsigned char *)code + len - 5, 4);
        if (got != value || (wk->run && call(code) != value)) {
            fprintf(stderr, "thread %d: function %d holds %d\n", wk->id, value, got);
            failures++;
        }
        if (mapalloc_code_free(wk->a, code) != 0) { failures++; return NULL; }
    }
    return NULL;
}

static void test_threads(void) {
    for (int mode = MAPALLOC_CODE_FLIP; mode <= MAPALLOC_CODE_DUAL; mode++) {
        mapalloc_code_arena *a = mapalloc_code_create((enum mapalloc_code_mode)mode);
        CHECK(a != NULL);
        if (!a) return;
        pthread_t t[4];
        struct worker wk[4];
        for (int i = 0; i < 4; i++) {
            wk[i] = (struct worker){a, i + 1, mode == MAPALLOC_CODE_DUAL};
            CHECK(pthread_create(&t[i], NULL, worker_main, &wk[i]) == 0);
        }
        for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
        struct mapalloc_code_stats st;
        CHECK(mapalloc_code_stats_get(a, &st) == 0 && st.blocks == 0 && st.bytes_in_use == 0 && st.open_blocks == 0);
        check_no_wx("threads");
        mapalloc_code_destroy(a);
    }
}

#if defined(__x86_64__)
/* In a child: forbid every PROT_EXEC mapping or protection, and memfd_create,
 * with EPERM; then both modes must fail cleanly with that errno. */
static int denied_child(void) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        perror("seccomp (not available here: skipped)");
        return 77;
    }
    errno = 0;
    mapalloc_code_arena *flip = mapalloc_code_create(MAPALLOC_CODE_FLIP);
    int flip_errno = errno;
    errno = 0;
    mapalloc_code_arena *dual = mapalloc_code_create(MAPALLOC_CODE_DUAL);
    int dual_errno = errno;
    printf("denied: flip -> %p errno %d, dual -> %p errno %d\n", (void *)flip, flip_errno, (void *)dual, dual_errno);
    check_no_wx("denied create");
    fflush(stdout);
    return flip == NULL && flip_errno == EPERM && dual == NULL && dual_errno == EPERM && failures == 0 ? 0 : 1;
}

static void test_denied(void) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(denied_child());
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) exit(77);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* And the parent, unfiltered, still gets code memory. */
    mapalloc_code_arena *a = mapalloc_code_create(MAPALLOC_CODE_DUAL);
    CHECK(a != NULL);
    mapalloc_code_destroy(a);
}
#endif

int main(int argc, char **argv) {
#if !defined(__x86_64__)
    (void)argc; (void)argv;
    puts("test_codemem: generates x86-64 code; skipped");
    return 77;
#else
    const char *name = argc > 1 ? argv[1] : "";
    if (strcmp(name, "flip") == 0) test_mode(MAPALLOC_CODE_FLIP, "flip");
    else if (strcmp(name, "dual") == 0) test_mode(MAPALLOC_CODE_DUAL, "dual");
    else if (strcmp(name, "threads") == 0) test_threads();
    else if (strcmp(name, "denied") == 0) test_denied();
    else { fprintf(stderr, "usage: %s flip|dual|threads|denied\n", argv[0]); return 2; }
    printf("codemem %s: %s (%u W^X checks of /proc/self/maps)\n", name, failures ? "FAILED" : "ok", wx_checks);
    return failures ? 1 : 0;
#endif
}
