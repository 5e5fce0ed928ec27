/* util.c: string buffer and clock helpers. Calls only libc. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void reserve(struct mw_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->s = realloc(b->s, cap);
    b->cap = cap;
}

void mw_buf_printf(struct mw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mw_buf_putc(struct mw_buf *b, char c)
{
    reserve(b, 1);
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
}

char *mw_buf_take(struct mw_buf *b)
{
    char *s = b->len ? b->s : NULL;
    if (!s)
        free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void mw_buf_free(struct mw_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

double mw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
