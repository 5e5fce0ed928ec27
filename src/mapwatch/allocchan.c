/* allocchan.c: reading the allocator's side channel. It is a memfd, not a pipe:
 * the program must never block writing to it while we wait for it to stop.
 * Lines are read with pread from our own offset. */
#include "allocchan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_PENDING 4096
#define JOIN_WINDOW 100000 /* how far back an event may be joined */

struct pending {
    char syscall[16], reason[16];
    uint64_t addr, len;
};

struct mw_allocchan {
    int fd;
    off_t offset;
    char partial[256];
    size_t partial_len;
    struct pending pending[MAX_PENDING];
    size_t npending;
    size_t lines, unmatched;
};

struct mw_allocchan *mw_allocchan_open(void)
{
    /* No MFD_CLOEXEC: the program must inherit it across exec. */
    int fd = memfd_create("mapalloc-events", 0);
    if (fd < 0)
        return NULL;
    char value[16];
    snprintf(value, sizeof value, "%d", fd);
    setenv("MAPALLOC_EVENT_FD", value, 1);
    struct mw_allocchan *c = calloc(1, sizeof *c);
    c->fd = fd;
    return c;
}

void mw_allocchan_close(struct mw_allocchan *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c);
}

bool mw_allocchan_parse(const char *line, char syscall[16], uint64_t *addr, uint64_t *len, char reason[16])
{
    unsigned long long a, l;
    if (sscanf(line, "mapalloc %15s %llx %llu %15s", syscall, &a, &l, reason) != 4)
        return false;
    *addr = a;
    *len = l;
    return true;
}

static bool joinable(const struct mw_event *ev, const struct pending *p)
{
    return ev->type == MW_EV_SYSCALL && !ev->reason[0] && strcmp(ev->syscall, p->syscall) == 0;
}

static void join(struct mw_event *ev, const struct pending *p, void (*joined)(struct mw_event *, void *), void *arg)
{
    snprintf(ev->reason, sizeof ev->reason, "%s", p->reason);
    if (joined)
        joined(ev, arg);
}

/* Join by call, address and length; failing that, an mmap whose range
 * contains the announced one (an allocator maps more than it needs to align a
 * region, trims the excess and announces the aligned part). */
static bool try_join(const struct pending *p, struct mw_event *events, size_t count,
                     void (*joined)(struct mw_event *, void *), void *arg)
{
    size_t stop = count > JOIN_WINDOW ? count - JOIN_WINDOW : 0;
    for (size_t i = count; i-- > stop;) {
        struct mw_event *ev = &events[i];
        if (!joinable(ev, p))
            continue;
        bool addr_ok = ev->addr == p->addr || ((ev->have & MW_HAVE_NEW) && ev->new_addr == p->addr);
        bool len_ok = ev->length == p->len || ((ev->have & MW_HAVE_NEW) && ev->new_length == p->len);
        if (addr_ok && len_ok) {
            join(ev, p, joined, arg);
            return true;
        }
    }
    if (strcmp(p->syscall, "mmap") != 0)
        return false;
    for (size_t i = count; i-- > stop;) {
        struct mw_event *ev = &events[i];
        if (joinable(ev, p) && !ev->err && ev->addr <= p->addr && p->addr + p->len <= ev->addr + ev->length) {
            join(ev, p, joined, arg);
            return true;
        }
    }
    return false;
}

static void take_line(struct mw_allocchan *c, const char *line)
{
    struct pending p;
    if (!mw_allocchan_parse(line, p.syscall, &p.addr, &p.len, p.reason))
        return;
    c->lines++;
    if (c->npending < MAX_PENDING)
        c->pending[c->npending++] = p;
    else
        c->unmatched++;
}

void mw_allocchan_poll(struct mw_allocchan *c, struct mw_event *events, size_t count,
                       void (*joined)(struct mw_event *ev, void *arg), void *arg)
{
    if (!c)
        return;
    char buf[8192];
    ssize_t n;
    while ((n = pread(c->fd, buf, sizeof buf, c->offset)) > 0) {
        c->offset += n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || c->partial_len + 1 >= sizeof c->partial) {
                c->partial[c->partial_len] = '\0';
                take_line(c, c->partial);
                c->partial_len = 0;
            } else {
                c->partial[c->partial_len++] = buf[i];
            }
        }
    }
    /* A line may name a call not yet seen (written before the call); keep it. */
    size_t kept = 0;
    for (size_t i = 0; i < c->npending; i++)
        if (!try_join(&c->pending[i], events, count, joined, arg))
            c->pending[kept++] = c->pending[i];
    c->npending = kept;
}

size_t mw_allocchan_unmatched(const struct mw_allocchan *c)
{
    return c ? c->unmatched + c->npending : 0;
}

size_t mw_allocchan_lines(const struct mw_allocchan *c)
{
    return c ? c->lines : 0;
}
