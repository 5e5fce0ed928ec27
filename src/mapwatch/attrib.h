/* attrib.h: who made a call. A short stack walk of a ptrace-stopped thread with
 * elfutils libdwfl, naming the first frame outside libc, the dynamic loader and
 * the allocator, and the library entry it called ("malloc in main at tour.c:54
 * [tour]"). */
#ifndef MAPWATCH_ATTRIB_H
#define MAPWATCH_ATTRIB_H

#include <sys/types.h>

struct mw_attrib;

struct mw_attrib *mw_attrib_new(int depth);
/* A malloc'd description of the caller of the call tid is stopped in, or NULL. */
char *mw_attrib_caller(struct mw_attrib *a, pid_t tgid, pid_t tid);
/* The process's modules changed wholesale (exec) or it is gone. */
void mw_attrib_forget(struct mw_attrib *a, pid_t tgid);
void mw_attrib_free(struct mw_attrib *a);

#endif
