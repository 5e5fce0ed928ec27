/* attrib.h: who made a call. A short stack walk of a ptrace-stopped thread with
 * elfutils libdwfl, naming the first frame outside libc, the dynamic loader and
 * the allocator, and the library entry it called ("malloc in main at tour.c:54
 * [tour]"). */
#ifndef MAPWATCH_ATTRIB_H
#define MAPWATCH_ATTRIB_H

#include <stdint.h>
#include <sys/types.h>

struct mw_attrib;

struct mw_attrib *mw_attrib_new(int depth);
/* A description of the caller of the call tid is stopped in, or NULL; owned
 * by a and kept until mw_attrib_free (the same text is the same pointer).
 * ip and sp are its instruction and stack pointers (the exit stop has
 * them); fp its rbp if known, else NULL and it is read only if a frame needs
 * it. */
const char *mw_attrib_caller(struct mw_attrib *a, pid_t tgid, pid_t tid, uint64_t ip, uint64_t sp,
                             const uint64_t *fp);
/* The process's modules changed wholesale (exec) or it is gone. */
void mw_attrib_forget(struct mw_attrib *a, pid_t tgid);
void mw_attrib_free(struct mw_attrib *a);

#endif
