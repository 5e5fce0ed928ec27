/* ctor_lib.h: what the ctor test calls in its library. */
#ifndef CTOR_LIB_H
#define CTOR_LIB_H
/* Verify and free the first half of the constructor's blocks; the number of
 * corrupt ones. The destructor frees the rest. */
int ctor_lib_check_and_free_half(void);
#endif
