/* prodcons: producer/consumer pairs (the cross-thread free path): one thread
 * of each pair only allocates and fills messages, the other only checks and
 * frees them, passed through a bounded single-producer single-consumer ring.
 * --threads N runs N/2 pairs (at least one). The sums of the tags produced and
 * consumed must agree.
 */
#include "bench.h"

#include <sched.h>
#include <stdatomic.h>

#define RING_SIZE 4096 /* a power of two */

struct message {
    uint64_t tag;
    size_t size;
};

/* Head and tail on their own cache lines; each side caches the other's index
 * so that it touches the shared line only when the ring looks full or empty. */
struct ring {
    _Alignas(64) _Atomic size_t tail; /* written by the producer */
    _Alignas(64) _Atomic size_t head; /* written by the consumer */
    _Alignas(64) struct message *slots[RING_SIZE];
};

struct pair {
    struct bench_opts opts;
    int id;
    size_t count;
    struct ring *ring;
    uint64_t produced_sum, consumed_sum;
};

static void pause_spin(unsigned *spins)
{
    if (++*spins > 64) {
        sched_yield();
        *spins = 0;
    }
}

static void *producer_main(void *arg)
{
    struct pair *p = arg;
    struct ring *ring = p->ring;
    struct bench_rng r = { p->opts.seed * 31337u + (uint64_t)p->id };
    size_t tail = 0, head_seen = 0;
    for (size_t i = 0; i < p->count; i++) {
        size_t size = sizeof(struct message) + bench_small_size(&r, 2048);
        struct message *m = bench_check_alloc(malloc(size), size);
        m->tag = bench_next(&r);
        m->size = size;
        bench_fill_ends(m + 1, size - sizeof(*m), m->tag);
        p->produced_sum += m->tag;
        unsigned spins = 0;
        while (tail - head_seen == RING_SIZE) {
            head_seen = atomic_load_explicit(&ring->head, memory_order_acquire);
            if (tail - head_seen == RING_SIZE)
                pause_spin(&spins);
        }
        ring->slots[tail % RING_SIZE] = m;
        atomic_store_explicit(&ring->tail, ++tail, memory_order_release);
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    struct pair *p = arg;
    struct ring *ring = p->ring;
    size_t head = 0, tail_seen = 0;
    for (size_t i = 0; i < p->count; i++) {
        unsigned spins = 0;
        while (head == tail_seen) {
            tail_seen = atomic_load_explicit(&ring->tail, memory_order_acquire);
            if (head == tail_seen)
                pause_spin(&spins);
        }
        struct message *m = ring->slots[head % RING_SIZE];
        atomic_store_explicit(&ring->head, ++head, memory_order_release);
        if (!bench_check_ends(m + 1, m->size - sizeof(*m), m->tag))
            bench_fail("prodcons: message of %zu bytes corrupted", m->size);
        p->consumed_sum += m->tag;
        free(m);
    }
    return NULL;
}

/* Thread 2k produces into ring k, thread 2k+1 consumes from it. */
struct role {
    struct pair *pair;
    int consumer;
};

static void *thread_main(void *arg)
{
    struct role *role = arg;
    return role->consumer ? consumer_main(role->pair) : producer_main(role->pair);
}

int main(int argc, char **argv)
{
    struct bench_opts o = bench_parse(argc, argv, "prodcons: one thread allocates, another frees");
    int pairs = o.threads / 2 > 0 ? o.threads / 2 : 1;
    struct pair *ps = bench_check_alloc(calloc((size_t)pairs, sizeof(*ps)), 1);
    struct role *roles = bench_check_alloc(calloc((size_t)pairs * 2, sizeof(*roles)), 1);
    double t0 = bench_now();
    for (int i = 0; i < pairs; i++) {
        ps[i].opts = o;
        ps[i].id = i;
        ps[i].count = bench_scaled(&o, 2.5e6 / pairs, 1000);
        /* The ring comes from the allocator under test too (aligned_alloc). */
        ps[i].ring = bench_check_alloc(aligned_alloc(64, sizeof(struct ring)), sizeof(struct ring));
        memset(ps[i].ring, 0, sizeof(struct ring));
        roles[2 * i] = (struct role){ &ps[i], 0 };
        roles[2 * i + 1] = (struct role){ &ps[i], 1 };
    }
    bench_run_threads(2 * pairs, thread_main, roles, sizeof(*roles));
    uint64_t sum = 0;
    for (int i = 0; i < pairs; i++) {
        if (ps[i].produced_sum != ps[i].consumed_sum)
            bench_fail("prodcons: pair %d produced %016llx, consumed %016llx", i,
                       (unsigned long long)ps[i].produced_sum,
                       (unsigned long long)ps[i].consumed_sum);
        sum += ps[i].produced_sum;
        free(ps[i].ring);
    }
    double t = bench_now() - t0;
    free(roles);
    free(ps);
    bench_report("prodcons", t, sum);
    return 0;
}
