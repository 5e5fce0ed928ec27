/* init.c: process-wide setup, done once on the first allocation of any
 * thread: the secret, the options (options.c), the thread-exit key, the fork
 * handlers and the mapwatch event channel. Must work before main, from a
 * constructor, and when called by libc during its own start-up: it allocates
 * nothing and calls only async-signal-safe or malloc-free functions.
 * The four options below are defined here because the allocator's fast and
 * slow paths read them (internal.h); options.c sets them.
 * May call: os.h, options.c, heap.c, large.c.
 */
#include "internal.h"
#include "mapalloc.h"
#include "options.h"

#include <pthread.h>

uintptr_t free_key;
uint64_t process_secret[4];

size_t opt_large_threshold = SMALL_MAX;
uint32_t opt_purge_delay_ms = 100;
size_t opt_large_cache_bytes = (size_t)256 << 20;
uint32_t opt_large_cache_ms = 1000;

void heap_key_create(void) INTERNAL;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fork_prepare(void) {
    heaps_fork_prepare();
    regions_lock();
    large_fork_prepare();
}
static void fork_parent(void) {
    large_fork_parent();
    regions_unlock();
    heaps_fork_parent();
}
static void fork_child(void) {
    purger_fork_child();
    regions_fork_child();
    large_fork_child();
    heaps_fork_child();
}

static void init_once(void) {
    os_random(process_secret, sizeof process_secret);
    free_key = (uintptr_t)process_secret[0] | 1; /* never 0: NULL must not encode as 0 */
    options_load();
    if (opt_event_fd >= 0) os_event_channel_open(opt_event_fd);
    options_print_verbose();
    heap_key_create();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    options_freeze(); /* also registers the statistics at exit */
}

void process_init(void) { pthread_once(&once, init_once); }

/* The options and the event channel as soon as the library is loaded: a
 * program whose first allocations are large blocks (which do not start the
 * allocator) must get its options, and mapwatch must see those mappings too.
 * Options fixed at start-up stay settable until the first small allocation. */
__attribute__((constructor)) static void init_at_load(void) {
    options_load();
    if (opt_event_fd >= 0) os_event_channel_open(opt_event_fd);
}
