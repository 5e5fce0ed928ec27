/* dlopen_lib.h: the plugin's functions, looked up with dlsym. */
#ifndef DLOPEN_LIB_H
#define DLOPEN_LIB_H
#include <stddef.h>
#include <stdint.h>
/* The blocks the constructor allocated, each filled with pattern seed_base+i. */
size_t plugin_blocks(unsigned char ***blocks, size_t **sizes, uint64_t *seed_base);
/* Verify (pattern with seed) and free a block allocated by the main program; 1 if corrupt. */
int plugin_free(void *p, size_t n, uint64_t seed);
/* A block of n bytes filled with the pattern of seed, for the main program to free. */
void *plugin_alloc(size_t n, uint64_t seed);
#endif
