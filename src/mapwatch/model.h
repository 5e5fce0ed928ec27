/* model.h: the address-space model. One mw_space per address space (threads
 * and vfork children share it, fork copies it, exec replaces it): a sorted
 * interval map of regions that each event updates and explains, compared with
 * the kernel's /proc/PID/maps at snapshots. Calls decode.c and procmaps.c only. */
#ifndef MAPWATCH_MODEL_H
#define MAPWATCH_MODEL_H

#include "mapwatch.h"
#include "procmaps.h"

/* Every band any space ever showed, for the HTML picture. */
struct mw_bandlog {
    struct mw_band *bands;
    size_t count, cap;
};

struct mw_space {
    unsigned id;
    pid_t pid;               /* the process that owns it (for bands and reports) */
    int users;               /* live threads using it */
    struct mw_region *regions; /* sorted by start, non-overlapping */
    size_t count, cap;
    uint64_t brk_start, brk_cur; /* 0 while unknown */
    struct mw_bandlog *log;
};

/* A difference between model and kernel over [start, end). */
struct mw_diff {
    uint64_t start, end;
    const struct mw_region *model;   /* NULL: the kernel has memory the model lacks */
    const struct mw_region *kernel;  /* NULL: the model has memory the kernel lacks */
};

struct mw_space *mw_space_new(unsigned id, pid_t pid, struct mw_bandlog *log);
/* fork: a copy of parent without MADV_DONTFORK regions. */
struct mw_space *mw_space_fork(const struct mw_space *parent, unsigned id, pid_t pid, uint64_t seq);
/* Close all bands at seq and free. */
void mw_space_free(struct mw_space *sp, uint64_t seq);
/* Replace the whole model by the kernel's view (start, attach, exec). */
void mw_space_load(struct mw_space *sp, const struct mw_maps *kernel, uint64_t seq);

/* Apply a decoded, completed system call: update the regions and fill
 * ev->change, ev->kind, ev->wx, ev->findings, ev->delta (brk). */
void mw_space_apply(struct mw_space *sp, struct mw_event *ev);

/* Compare with the kernel; calls fn for each maximal differing range. Returns
 * the number of differences. Adjacent compatible regions are coalesced on both
 * sides first, since the kernel merges some of them and not others. */
size_t mw_space_compare(const struct mw_space *sp, const struct mw_maps *kernel,
                        void (*fn)(const struct mw_diff *d, void *arg), void *arg);

/* Grow the model's [stack] down to new_start (an implicit event). */
void mw_space_grow_stack(struct mw_space *sp, uint64_t new_start, uint64_t seq);

const struct mw_region *mw_space_find(const struct mw_space *sp, uint64_t addr);
/* Classify every region (kinds depend on neighbours: bss follows data). */
void mw_space_classify(struct mw_space *sp);
/* Classify a standalone list (snapshots). */
void mw_classify_list(struct mw_region *regions, size_t count);

void mw_bandlog_free(struct mw_bandlog *log);

#endif
