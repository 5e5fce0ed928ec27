/* calloc_populate: calloc of a fresh large block up to the calloc_populate
 * option (16 MiB by default) has every page resident when it returns, so a
 * program that reads before it writes faults once per page, not twice; a
 * larger block stays lazy (a sparse array costs only what it touches), and
 * so does a block from malloc (also in secure mode, which zeroes every large
 * block it makes). Run with the library preloaded; with CALLOC_POPULATE_OFF
 * set in the environment (and MAPALLOC_CALLOC_POPULATE=0), nothing is
 * populated.
 */
#define _DEFAULT_SOURCE
#include "../testutil.h"

#include <stdbool.h>
#include <sys/mman.h>


/* Pages of [p, p+len) in memory now. */
static size_t resident_pages(const void *p, size_t len) {
    size_t page = 4096, n = len / page;
    unsigned char *vec = malloc(n);
    REQUIRE(vec);
    REQUIRE(mincore((void *)p, len, vec) == 0);
    size_t in = 0;
    for (size_t i = 0; i < n; i++) in += vec[i] & 1;
    free(vec);
    return in;
}

int main(void) {
    bool off = getenv("CALLOC_POPULATE_OFF") != NULL;
    /* Fresh mappings: nothing freed yet, the large cache is empty. */
    size_t small = 8 * MiB, big = 64 * MiB;
    unsigned char *a = calloc(1, small), *b = calloc(1, big), *c = malloc(small);
    REQUIRE(a && b && c);
    size_t in_a = resident_pages(a, small), in_b = resident_pages(b, big), in_c = resident_pages(c, small);
    printf("calloc: %zu of %zu pages of the 8 MiB block resident, %zu of %zu of the 64 MiB one; "
           "malloc: %zu of the 8 MiB one\n", in_a, small / 4096, in_b, big / 4096, in_c);
    CHECKF(in_c < 16, "malloc of 8 MiB made %zu pages resident", in_c);
    free(c);
    if (off)
        CHECKF(in_a < 16, "populated %zu pages with calloc_populate=0", in_a);
    else
        CHECKF(in_a == small / 4096, "only %zu of %zu pages resident", in_a, small / 4096);
    CHECKF(in_b < 16, "a 64 MiB calloc made %zu pages resident", in_b);
    for (size_t i = 0; i < small; i += 4096) CHECK(a[i] == 0 && a[i + 4095] == 0);
    CHECK(b[0] == 0 && b[big - 1] == 0);
    free(a);
    free(b);
    if (check_failures) return 1;
    puts(off ? "calloc_populate=0 leaves fresh calloc blocks lazy" : "fresh calloc blocks up to 16 MiB are populated");
    return 0;
}
