/* util.c: string buffer and clock helpers. Calls only libc. */
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void mw_buf_grow(struct mw_buf *b, size_t extra)
{
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->s = realloc(b->s, cap);
    b->cap = cap;
}

static void reserve(struct mw_buf *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap)
        mw_buf_grow(b, extra);
}

void mw_buf_putu(struct mw_buf *b, unsigned long long v)
{
    size_t n = 1;
    for (unsigned long long t = v; t >= 10; t /= 10)
        n++;
    if (b->len + n + 1 > b->cap)
        mw_buf_grow(b, n);
    char *p = b->s + b->len + n;
    *p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    b->len += n;
}

void mw_buf_putd(struct mw_buf *b, long long v)
{
    if (v < 0)
        mw_buf_putc(b, '-');
    mw_buf_putu(b, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
}

void mw_buf_putx(struct mw_buf *b, unsigned long long v)
{
    if (!v) {
        mw_buf_putc(b, '0');
        return;
    }
    size_t n = 2 + (size_t)(64 - __builtin_clzll(v) + 3) / 4;
    if (b->len + n + 1 > b->cap)
        mw_buf_grow(b, n);
    char *p = b->s + b->len + n;
    *p = '\0';
    for (; v; v >>= 4)
        *--p = "0123456789abcdef"[v & 15];
    *--p = 'x';
    *--p = '0';
    b->len += n;
}

/* The conversions the tracer's messages use: %s %c %d %u %zu %lld %llu
 * %#llx %%. printf's machinery costs about a thousand instructions a call,
 * and these texts are made several times per event. */
enum conv { CONV_NONE, CONV_S, CONV_C, CONV_D, CONV_U, CONV_ZU, CONV_LLD, CONV_LLU, CONV_LLX, CONV_PCT };

static enum conv conversion(const char **fmt)
{
    const char *f = *fmt;
    enum conv conv = CONV_NONE;
    size_t n = 1;
    switch (f[0]) {
    case 's': conv = CONV_S; break;
    case 'c': conv = CONV_C; break;
    case 'd': conv = CONV_D; break;
    case 'u': conv = CONV_U; break;
    case '%': conv = CONV_PCT; break;
    case 'z':
        if (f[1] == 'u')
            conv = CONV_ZU, n = 2;
        break;
    case 'l':
        if (f[1] == 'l' && (f[2] == 'd' || f[2] == 'u'))
            conv = f[2] == 'd' ? CONV_LLD : CONV_LLU, n = 3;
        break;
    case '#':
        if (f[1] == 'l' && f[2] == 'l' && f[3] == 'x')
            conv = CONV_LLX, n = 4;
        break;
    default:
        break;
    }
    if (conv != CONV_NONE)
        *fmt += n;
    return conv;
}

/* The rest of a format, from a conversion done here no longer on, by
 * vsnprintf with the arguments not used yet. */
static void format_rest(struct mw_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n > 0) {
        reserve(b, (size_t)n);
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void mw_buf_printf(struct mw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (;;) {
        const char *pct = strchr(fmt, '%');
        if (!pct) {
            mw_buf_puts(b, fmt);
            break;
        }
        mw_buf_put(b, fmt, (size_t)(pct - fmt));
        const char *spec = pct + 1;
        enum conv conv = conversion(&spec);
        if (conv == CONV_NONE) {
            format_rest(b, pct, ap);
            break;
        }
        fmt = spec;
        switch (conv) {
        case CONV_S: mw_buf_puts(b, va_arg(ap, const char *)); break;
        case CONV_C: mw_buf_putc(b, (char)va_arg(ap, int)); break;
        case CONV_D: mw_buf_putd(b, va_arg(ap, int)); break;
        case CONV_U: mw_buf_putu(b, va_arg(ap, unsigned)); break;
        case CONV_ZU: mw_buf_putu(b, va_arg(ap, size_t)); break;
        case CONV_LLD: mw_buf_putd(b, va_arg(ap, long long)); break;
        case CONV_LLU: mw_buf_putu(b, va_arg(ap, unsigned long long)); break;
        case CONV_LLX: mw_buf_putx(b, va_arg(ap, unsigned long long)); break;
        case CONV_PCT: mw_buf_putc(b, '%'); break;
        case CONV_NONE: break;
        }
    }
    va_end(ap);
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

/* FNV-1a over 8 bytes at a time (the texts are around 100 bytes). */
static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 1099511628211ull;
    }
    for (; n; s++, n--)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ^ (h >> 29);
}

const char *mw_strset_add(struct mw_strset *set, const char *s)
{
    if (2 * (set->count + 1) > set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 256;
        struct mw_strset_slot *slots = calloc(cap, sizeof *slots);
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->slots[i].s)
                continue;
            size_t j = set->slots[i].hash & (cap - 1);
            while (slots[j].s)
                j = (j + 1) & (cap - 1);
            slots[j] = set->slots[i];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t n = strlen(s);
    uint64_t hash = str_hash(s, n);
    size_t j = hash & (set->cap - 1);
    for (; set->slots[j].s; j = (j + 1) & (set->cap - 1)) {
        const struct mw_strset_slot *slot = &set->slots[j];
        if (slot->hash == hash && slot->len == n && memcmp(slot->s, s, n) == 0)
            return slot->s;
    }
    set->count++;
    char *copy = malloc(n + 1);
    memcpy(copy, s, n + 1);
    set->slots[j] = (struct mw_strset_slot){ copy, n, hash };
    return copy;
}

void mw_strset_free(struct mw_strset *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->slots[i].s);
    free(set->slots);
    *set = (struct mw_strset){ 0 };
}

double mw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
