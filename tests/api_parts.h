/* api_parts.h: the promises kept in api.c's companion files, which api.c
 * runs by name. */
#ifndef MAPALLOC_TESTS_API_PARTS_H
#define MAPALLOC_TESTS_API_PARTS_H

/* api_medium.c */
void medium_blocks_are_exact_fit_and_packed(void);
void medium_realloc_resizes_in_place(void);
void medium_blocks_freed_by_other_threads_are_reused(void);
void medium_free_runs_go_back_to_the_kernel(void);
void medium_malloc_free_loop_keeps_its_page(void);
void destroying_a_first_class_heap_returns_its_committed_bytes(void);

/* api_placement.c */
void fresh_heap_blocks_come_in_address_order(void);
void heaps_share_one_placement_window(void);
void reused_page_hands_out_blocks_in_address_order(void);

#endif
