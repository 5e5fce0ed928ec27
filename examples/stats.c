/* stats.c: what the allocator's statistics say about a program's memory.
 * Allocates a mix of small and large blocks, prints the statistics as text
 * and as JSON, frees everything, gives the free memory back with
 * mapalloc_trim and prints them again: in use falls to zero, committed to
 * the metadata.
 *
 *   build/examples/stats
 */
#include <mapalloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SMALL = 20000, LARGE = 8 };

int main(void) {
    /* Options can be set from code before the first allocation: keep freed
     * pages resident for a second, so that only the trim below returns them. */
    if (mapalloc_option_set("purge_delay_ms", "1000") != 0) perror("mapalloc_option_set");

    static void *small[SMALL];
    void *large[LARGE];
    for (int i = 0; i < SMALL; i++) {
        size_t n = 16 + (size_t)(i % 7) * 40;        /* 16..256 bytes: seven size classes */
        small[i] = mapalloc_malloc(n);
        if (!small[i]) return 1;
        memset(small[i], 1, n);
    }
    for (int i = 0; i < LARGE; i++) {
        large[i] = mapalloc_malloc((size_t)(i + 1) << 18); /* 256 KiB .. 2 MiB: own mappings */
        if (!large[i]) return 1;
        memset(large[i], 2, (size_t)(i + 1) << 18);
    }

    puts("== after allocating ==");
    mapalloc_stats_print(stdout);

    /* JSON: ask for the length first, as with snprintf. */
    size_t need = mapalloc_stats_json(NULL, 0);
    char *json = malloc(need + 1);
    if (!json) return 1;
    mapalloc_stats_json(json, need + 1);
    printf("== as JSON (%zu bytes) ==\n%s", need, json);
    free(json);

    struct mapalloc_stats before;
    mapalloc_stats_get(&before);
    for (int i = 0; i < SMALL; i++) mapalloc_free(small[i]);
    for (int i = 0; i < LARGE; i++) mapalloc_free(large[i]);
    int released = mapalloc_trim(0);

    puts("== after freeing everything and mapalloc_trim ==");
    mapalloc_stats_print(stdout);

    struct mapalloc_stats after;
    mapalloc_stats_get(&after);
    printf("in use %zu -> %zu bytes, committed %zu -> %zu bytes, trim released memory: %s\n", before.in_use,
           after.in_use, before.committed, after.committed, released ? "yes" : "no");
    /* The example is also a test: the figures must move the way they say. */
    return after.in_use == 0 && after.committed < before.committed / 4 && released ? 0 : 1;
}
