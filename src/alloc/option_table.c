/* option_table.c: the option table built from MAPALLOC_OPTION_TABLE, and the
 * parsing and printing of option values. Linked into the library and into the
 * `mapalloc` command; allocates nothing and calls no libc function that may
 * (it runs inside the first malloc of the process).
 * May call: nothing but its own helpers.
 */
#include "options.h"

#define OPTION_DESC(ID, nm, ty, df, mn, mx, wh, dc) \
    [OPTION_##ID] = {.name = #nm, .env = "MAPALLOC_" #ID, .type = ty, .def = df, .min = mn, .max = mx, .when = wh, .doc = dc},
const struct option_desc option_table[OPTION_COUNT] = {MAPALLOC_OPTION_TABLE(OPTION_DESC)};
#undef OPTION_DESC

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* s[0..len) equals word (lower case), ignoring case. */
static bool word_is(const char *s, size_t len, const char *word) {
    size_t i = 0;
    for (; i < len && word[i]; i++)
        if (lower(s[i]) != word[i]) return false;
    return i == len && word[i] == 0;
}

int option_find(const char *name, size_t len) {
    for (int i = 0; i < OPTION_COUNT; i++)
        if (word_is(name, len, option_table[i].name)) return i;
    return -1;
}

/* Append src to buf[len] at *at, keeping it terminated. */
static void put(char *buf, size_t len, size_t *at, const char *src) {
    for (; *src; src++, (*at)++)
        if (*at + 1 < len) buf[*at] = *src;
    if (len) buf[*at < len ? *at : len - 1] = 0;
}

size_t option_format(const struct option_desc *d, int64_t v, bool human, char *buf, size_t len) {
    char tmp[32];
    size_t t = 0, at = 0;
    const char *suffix = "";
    if (human && d->type == OPTION_SIZE && v > 0) {
        static const char *const units[] = {"k", "m", "g", "t"};
        for (int u = 0; u < 4 && v % 1024 == 0; u++) {
            v /= 1024;
            suffix = units[u];
        }
    }
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do { tmp[t++] = (char)('0' + m % 10); m /= 10; } while (m);
    if (v < 0) tmp[t++] = '-';
    char out[34];
    size_t o = 0;
    while (t) out[o++] = tmp[--t];
    out[o] = 0;
    put(buf, len, &at, out);
    put(buf, len, &at, suffix);
    return at;
}

/* Decimal digits at s[*i..len) into *v; false if none or on overflow. */
static bool parse_digits(const char *s, size_t len, size_t *i, uint64_t *v) {
    size_t start = *i;
    uint64_t x = 0;
    for (; *i < len && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
        if (x > (UINT64_MAX - 9) / 10) return false;
        x = x * 10 + (uint64_t)(s[*i] - '0');
    }
    *v = x;
    return *i > start;
}

static bool parse_bad(char *why, size_t whylen, const char *what) {
    size_t at = 0;
    put(why, whylen, &at, what);
    return false;
}

bool option_parse(const struct option_desc *d, const char *s, size_t len, int64_t *out, char *why, size_t whylen) {
    while (len && (*s == ' ' || *s == '\t')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    if (len == 0) return parse_bad(why, whylen, "empty value");
    size_t i = 0;
    uint64_t u = 0;
    int64_t v = 0;
    switch (d->type) {
    case OPTION_BOOL:
        if (word_is(s, len, "1") || word_is(s, len, "true") || word_is(s, len, "yes") || word_is(s, len, "on")) v = 1;
        else if (word_is(s, len, "0") || word_is(s, len, "false") || word_is(s, len, "no") || word_is(s, len, "off")) v = 0;
        else return parse_bad(why, whylen, "not a boolean (use 1/0, true/false, yes/no or on/off)");
        break;
    case OPTION_SIZE: {
        if (!parse_digits(s, len, &i, &u)) return parse_bad(why, whylen, "not a size (use a number of bytes with an optional k, m, g or t suffix)");
        unsigned shift = 0;
        if (i < len) {
            char c = lower(s[i]);
            shift = c == 'k' ? 10 : c == 'm' ? 20 : c == 'g' ? 30 : c == 't' ? 40 : 0;
            if (shift) i++;
        }
        /* an optional "b", "ib" after a unit ("64MiB", "4kb"), or "b" alone */
        if (shift && i < len && lower(s[i]) == 'i') i++;
        if (i < len && lower(s[i]) == 'b') i++;
        if (i != len) return parse_bad(why, whylen, "not a size (use a number of bytes with an optional k, m, g or t suffix)");
        if (u > (UINT64_MAX >> 1) >> shift) return parse_bad(why, whylen, "too large");
        v = (int64_t)(u << shift);
        break;
    }
    case OPTION_MS:
        if (!parse_digits(s, len, &i, &u) || !(i == len || (len - i == 2 && word_is(s + i, 2, "ms"))))
            return parse_bad(why, whylen, "not a number of milliseconds");
        if (u > (uint64_t)INT64_MAX) return parse_bad(why, whylen, "too large");
        v = (int64_t)u;
        break;
    case OPTION_INT: {
        bool neg = s[0] == '-';
        if (s[0] == '-' || s[0] == '+') i++;
        if (!parse_digits(s, len, &i, &u) || i != len) return parse_bad(why, whylen, "not an integer");
        if (u > (uint64_t)INT64_MAX) return parse_bad(why, whylen, "too large");
        v = neg ? -(int64_t)u : (int64_t)u;
        break;
    }
    }
    if (v < d->min || v > d->max) {
        char lo[24], hi[24];
        option_format(d, d->min, true, lo, sizeof lo);
        option_format(d, d->max, true, hi, sizeof hi);
        size_t at = 0;
        put(why, whylen, &at, "out of range ");
        put(why, whylen, &at, lo);
        put(why, whylen, &at, "..");
        put(why, whylen, &at, hi);
        return false;
    }
    *out = v;
    return true;
}
