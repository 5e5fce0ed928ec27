/* init.c: process-wide setup, done once on the first allocation of any
 * thread: the secret, the options from the environment, the thread-exit key,
 * the fork handlers and the mapwatch event channel. Must work before main,
 * from a constructor, and when called by libc during its own start-up: it
 * allocates nothing and calls only async-signal-safe or malloc-free functions.
 * May call: os.h, heap.c, large.c.
 */
#include "internal.h"
#include "mapalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

uintptr_t free_key;
uint64_t process_secret[4];

size_t opt_large_threshold = SMALL_MAX;
uint32_t opt_purge_delay_ms = 100;
size_t opt_large_cache_bytes = (size_t)64 << 20;
uint32_t opt_large_cache_ms = 1000;
bool opt_stats_at_exit;

void heap_key_create(void) INTERNAL;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void warn(const char *name, const char *why) {
    char buf[200];
    size_t n = 0;
    const char *parts[] = {"mapalloc: warning: ", name, ": ", why, "; keeping the default\n"};
    for (size_t i = 0; i < 5; i++)
        for (const char *s = parts[i]; *s && n < sizeof buf; s++) buf[n++] = *s;
    os_write_stderr(buf, n);
}

/* Parse a non-negative decimal with an optional k/m/g suffix. */
static bool parse_size(const char *s, size_t *out) {
    if (!s || !*s) return false;
    size_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (SIZE_MAX - 9) / 10) return false;
        v = v * 10 + (size_t)(*s - '0');
    }
    size_t mul = 1;
    if (*s == 'k' || *s == 'K') mul = 1024, s++;
    else if (*s == 'm' || *s == 'M') mul = 1024 * 1024, s++;
    else if (*s == 'g' || *s == 'G') mul = 1024 * 1024 * 1024, s++;
    if (*s == 'i' || *s == 'b' || *s == 'B') s++;
    if (*s) return false;
    if (__builtin_mul_overflow(v, mul, &v)) return false;
    *out = v;
    return true;
}

static void option_size(const char *env, size_t *dst, size_t lo, size_t hi) {
    const char *s = getenv(env);
    if (!s) return;
    size_t v;
    if (!parse_size(s, &v) || v < lo || v > hi) { warn(env, "bad value"); return; }
    *dst = v;
}

static void stats_at_exit(void) { mapalloc_stats_print(stderr); }

static void fork_prepare(void) {
    heaps_lock();
    large_fork_prepare();
}
static void fork_parent(void) {
    large_fork_parent();
    heaps_unlock();
}
static void fork_child(void) {
    large_fork_child();
    heaps_fork_child();
}

static void init_once(void) {
    os_random(process_secret, sizeof process_secret);
    free_key = (uintptr_t)process_secret[0] | 1; /* never 0: NULL must not encode as 0 */
    size_t v = opt_large_threshold;
    option_size("MAPALLOC_LARGE_THRESHOLD", &v, 1024, SMALL_MAX);
    opt_large_threshold = v;
    v = opt_purge_delay_ms;
    option_size("MAPALLOC_PURGE_DELAY_MS", &v, 0, 3600u * 1000u);
    opt_purge_delay_ms = (uint32_t)v;
    option_size("MAPALLOC_LARGE_CACHE", &opt_large_cache_bytes, 0, (size_t)1 << 40);
    v = opt_large_cache_ms;
    option_size("MAPALLOC_LARGE_CACHE_MS", &v, 0, 3600u * 1000u);
    opt_large_cache_ms = (uint32_t)v;
    const char *fd = getenv("MAPALLOC_EVENT_FD");
    if (fd) {
        size_t n;
        if (parse_size(fd, &n) && n < 65536) os_event_channel_open((int)n);
        else warn("MAPALLOC_EVENT_FD", "not a file descriptor");
    }
    const char *st = getenv("MAPALLOC_STATS");
    if (st && *st && strcmp(st, "0") != 0) opt_stats_at_exit = true;
    heap_key_create();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    if (opt_stats_at_exit) atexit(stats_at_exit);
}

void process_init(void) { pthread_once(&once, init_once); }
