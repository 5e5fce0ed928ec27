/* util.h: a growable string buffer with printf-free appends, a set of unique
 * strings, and monotonic time; used by every part. */
#ifndef MAPWATCH_UTIL_H
#define MAPWATCH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct mw_buf {
    char *s;
    size_t len, cap;
};

void mw_buf_printf(struct mw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Room for extra more bytes and the terminator (the slow path of the puts). */
void mw_buf_grow(struct mw_buf *b, size_t extra);

/* Appends without printf: n bytes of s, a string, a literal, a character,
 * "%llu", "%lld", "%#llx". The timeline line and the change texts are made
 * of these, several times per traced call. */
static inline void mw_buf_put(struct mw_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap)
        mw_buf_grow(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static inline void mw_buf_puts(struct mw_buf *b, const char *s)
{
    mw_buf_put(b, s, strlen(s));
}

#define mw_buf_lit(b, literal) mw_buf_put((b), "" literal, sizeof(literal) - 1)

static inline void mw_buf_putc(struct mw_buf *b, char c)
{
    if (b->len + 2 > b->cap)
        mw_buf_grow(b, 1);
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
}

void mw_buf_putu(struct mw_buf *b, unsigned long long v);
void mw_buf_putd(struct mw_buf *b, long long v);
void mw_buf_putx(struct mw_buf *b, unsigned long long v);
/* Hand the contents over (caller frees) and reset the buffer. NULL if empty. */
char *mw_buf_take(struct mw_buf *b);
void mw_buf_free(struct mw_buf *b);

/* A set of strings, each kept once (open addressing; cap a power of two). */
struct mw_strset_slot {
    char *s;          /* NULL: free */
    size_t len;
    uint64_t hash;
};

struct mw_strset {
    struct mw_strset_slot *slots;
    size_t count, cap;
};

/* The set's copy of s, made on first sight; valid until mw_strset_free. */
const char *mw_strset_add(struct mw_strset *set, const char *s);
void mw_strset_free(struct mw_strset *set);

/* Seconds on CLOCK_MONOTONIC. */
double mw_now(void);

#endif
