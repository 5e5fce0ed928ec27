/* region_map.c: the two-level map from an address to the tag of the heap that
 * owns the small-object region containing it (TAG_NONE for everything else).
 * Leaves are mapped on demand (16 KiB each, covering 32 GiB of address space)
 * and never freed. Writers are the region's owner (create/release); readers
 * are any thread freeing a pointer (lock-free: the leaf pointer is read with
 * acquire, pairing with the CAS that published it; the tag relaxed, as a
 * block's hand-off between threads orders the tag write before the read).
 * May call: os.h.
 */
#include "internal.h"

_Atomic(uint16_t *) region_map_l1[MAP_L1_COUNT];

bool region_map_set(uintptr_t base, uint16_t tag) {
    size_t i1 = base >> MAP_L1_SHIFT;
    if (i1 >= MAP_L1_COUNT) return false;
    uint16_t *leaf = atomic_load_explicit(&region_map_l1[i1], memory_order_acquire);
    if (!leaf) {
        uint16_t *fresh = os_map(NULL, MAP_L2_COUNT * sizeof(uint16_t), OS_REASON_META);
        if (!fresh) return false;
        uint16_t *expected = NULL;
        if (atomic_compare_exchange_strong(&region_map_l1[i1], &expected, fresh)) {
            leaf = fresh;
        } else {
            os_unmap(fresh, MAP_L2_COUNT * sizeof(uint16_t), OS_REASON_META);
            leaf = expected;
        }
    }
    __atomic_store_n(&leaf[(base >> REGION_SHIFT) & (MAP_L2_COUNT - 1)], tag, __ATOMIC_RELEASE);
    return true;
}
