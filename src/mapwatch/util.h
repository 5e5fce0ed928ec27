/* util.h: a growable string buffer and monotonic time, used by every part. */
#ifndef MAPWATCH_UTIL_H
#define MAPWATCH_UTIL_H

#include <stdarg.h>
#include <stddef.h>

struct mw_buf {
    char *s;
    size_t len, cap;
};

void mw_buf_printf(struct mw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mw_buf_putc(struct mw_buf *b, char c);
/* Hand the contents over (caller frees) and reset the buffer. NULL if empty. */
char *mw_buf_take(struct mw_buf *b);
void mw_buf_free(struct mw_buf *b);

/* Seconds on CLOCK_MONOTONIC. */
double mw_now(void);

#endif
