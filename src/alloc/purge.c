/* purge.c: the optional background purger (background_purge=1). Time-based
 * purging otherwise runs only on a thread's own slow paths, so a thread that
 * stops calling the allocator keeps the free pages it had (jemalloc's users
 * meet the same). The purger wakes every purge_delay_ms and gives back the
 * expired free slices of every heap's regions and the expired cached large
 * mappings. It never unmaps a region (owners do) and never allocates.
 * Concurrency: with the option on, every change of a region's slice bitmaps
 * is made under regions_lock (region.c), which the purger holds while it
 * reads them and madvises; the fast paths take no lock. Started lazily by the
 * first slice that becomes free (not from inside initialisation), restarted
 * in a fork child, and the library is linked -z nodelete so a dlclose cannot
 * unmap the code it runs.
 * May call: region.c, large.c, heap.c, os.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"
#include "options.h"

#include <pthread.h>
#include <time.h>

static _Atomic int purger_state; /* 0 not started, 1 starting or running */

static void *purger_main(void *arg) {
    (void)arg;
    for (;;) {
        uint32_t delay = LOAD_RELAXED(opt_purge_delay_ms);
        if (delay < 10) delay = 10;
        struct timespec ts = {.tv_sec = delay / 1000, .tv_nsec = (long)(delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        heaps_lock();
        for (heap_t *h = heaps_first(); h; h = h->next_all) {
            if (atomic_load(&h->state) == HEAP_DESTROYED) continue;
            region_purge_idle(h);
        }
        heaps_unlock();
        large_expire_cache();
    }
    return NULL;
}

void purger_start_if_needed(void) {
    if (!opt_background_purge || atomic_load_explicit(&purger_state, memory_order_relaxed)) return;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&purger_state, &expected, 1)) return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (pthread_create(&t, &attr, purger_main, NULL) != 0) atomic_store(&purger_state, 0);
    pthread_attr_destroy(&attr);
}

void purger_fork_child(void) { atomic_store(&purger_state, 0); }
