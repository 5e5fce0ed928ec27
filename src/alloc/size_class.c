/* size_class.c: the size-class table and the page size of each class.
 * Classes: multiples of 16 up to 128 bytes, then four classes per doubling
 * (x1.25, x1.5, x1.75, x2) up to 128 KiB. Worst-case internal waste: 15 bytes
 * for requests up to 128 bytes, below 20% above (a request one byte over a
 * class boundary: 129 -> 160 wastes 31/160 = 19.4%).
 * May call: nothing.
 */
#include "internal.h"

#define Q(k) ((uint32_t)1 << (k))
#define FOUR(k) Q(k) + Q(k - 2), Q(k) + 2 * Q(k - 2), Q(k) + 3 * Q(k - 2), Q(k + 1)

const uint32_t class_size[CLASS_COUNT] = {
    0, 16, 32, 48, 64, 80, 96, 112, 128,
    FOUR(7), FOUR(8), FOUR(9), FOUR(10), FOUR(11),
    FOUR(12), FOUR(13), FOUR(14), FOUR(15), FOUR(16),
};
static_assert(sizeof(class_size) / sizeof(class_size[0]) == CLASS_COUNT, "class table is complete");

/* foreign_max[c]: how many other heaps' blocks of class c a heap's foreign
 * cache holds (FOREIGN_MAX_BLOCKS, fewer when that would pass FOREIGN_MAX_BYTES). */
#define FMAX(s) ((uint8_t)(FOREIGN_MAX_BYTES / (s) < FOREIGN_MAX_BLOCKS ? FOREIGN_MAX_BYTES / (s) : FOREIGN_MAX_BLOCKS))
#define FMAX4(k) FMAX(Q(k) + Q(k - 2)), FMAX(Q(k) + 2 * Q(k - 2)), FMAX(Q(k) + 3 * Q(k - 2)), FMAX(Q(k + 1))
const uint8_t foreign_max[CLASS_COUNT] = {
    0, FMAX(16), FMAX(32), FMAX(48), FMAX(64), FMAX(80), FMAX(96), FMAX(112), FMAX(128),
    FMAX4(7), FMAX4(8), FMAX4(9), FMAX4(10), FMAX4(11),
    FMAX4(12), FMAX4(13), FMAX4(14), FMAX4(15), FMAX4(16),
};

#define D4(a) a, a, a, a
/* direct_class[i] = size_class_of(16 * i): the class serving sizes up to 16*i. */
const uint8_t direct_class[DIRECT_COUNT] = {
    1, 1, 2, 3, 4, 5, 6, 7, 8,       /* 0..128 */
    9, 9, 10, 10, 11, 11, 12, 12,    /* ..256 */
    D4(13), D4(14), D4(15), D4(16),  /* ..512 */
    D4(17), D4(17), D4(18), D4(18), D4(19), D4(19), D4(20), D4(20), /* ..1024 */
};

unsigned page_slices_for_class(unsigned cls) {
    uint32_t bs = class_size[cls];
    if ((size_t)bs * PAGE_MIN_BLOCKS <= SLICE_SIZE) return 1;
    /* Smallest page holding PAGE_MIN_BLOCKS blocks; then take up to three more
     * slices if that cuts the unusable tail below 1/16 of the page. */
    unsigned s = (unsigned)(((size_t)bs * PAGE_MIN_BLOCKS + SLICE_SIZE - 1) / SLICE_SIZE);
    for (unsigned t = s; t < s + 4 && t <= USABLE_SLICES / 2; t++) {
        size_t bytes = (size_t)t * SLICE_SIZE;
        if ((bytes % bs) * 16 <= bytes) return t;
    }
    return s;
}
