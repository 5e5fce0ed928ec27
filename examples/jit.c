/* jit.c: generate x86-64 machine code at run time and run it, in both code
 * memory modes, then patch it and run it again. At no moment is any page of
 * the process writable and executable at once (check with mapwatch).
 *
 *   build/examples/jit
 *
 * On other architectures it exits with 77 ("skipped"): the W^X machinery
 * works there too, but this example's machine code is x86-64.
 */
#include <mapalloc.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef int (*int_fn)(void);

/* mov eax, imm32 ; ret */
static size_t emit_return_constant(unsigned char *out, int value) {
    out[0] = 0xB8;
    memcpy(out + 1, &value, 4);
    out[5] = 0xC3;
    return 6;
}

static int_fn as_function(void *code) {
    int_fn fn;
    memcpy(&fn, &code, sizeof fn);   /* object to function pointer, without a cast ISO C lacks */
    return fn;
}

static int run_mode(enum mapalloc_code_mode mode, const char *name) {
    mapalloc_code_arena *arena = mapalloc_code_create(mode);
    if (!arena) {
        fprintf(stderr, "jit: %s: no executable memory here: %s\n", name, strerror(errno));
        return 1;
    }
    /* Generate: alloc gives the address to run; write_begin the address to
     * write (the same in flip mode, an RW alias in dual mode). */
    void *code = mapalloc_code_alloc(arena, 16);
    unsigned char *w = code ? mapalloc_code_write_begin(arena, code) : NULL;
    if (!w) { perror("jit: alloc/write_begin"); return 1; }
    emit_return_constant(w, 42);
    if (mapalloc_code_seal(arena, code) != 0) { perror("jit: seal"); return 1; }
    int first = as_function(code)();

    /* Patch the constant in place and run again. */
    w = mapalloc_code_write_begin(arena, code);
    if (!w) { perror("jit: write_begin (patch)"); return 1; }
    int patched_value = 1234567;
    memcpy(w + 1, &patched_value, 4);
    if (mapalloc_code_seal(arena, code) != 0) { perror("jit: seal (patch)"); return 1; }
    int second = as_function(code)();

    /* A second function, packed into the same page as the first. */
    unsigned char bytes[16];
    size_t len = emit_return_constant(bytes, -7);
    void *other = mapalloc_code_add(arena, bytes, len);
    if (!other) { perror("jit: add"); return 1; }
    int third = as_function(other)();

    struct mapalloc_code_stats st;
    mapalloc_code_stats_get(arena, &st);
    printf("%s: generated code returned %d, after patching %d; a neighbour at +%td returned %d "
           "(%zu blocks in %zu chunk(s), %llu mprotect calls)\n",
           name, first, second, (char *)other - (char *)code, third, st.blocks, st.chunks,
           (unsigned long long)st.mprotect_calls);
    mapalloc_code_free(arena, other);
    mapalloc_code_free(arena, code);
    mapalloc_code_destroy(arena);
    return first == 42 && second == patched_value && third == -7 ? 0 : 1;
}

int main(void) {
#if defined(__x86_64__)
    int failures = run_mode(MAPALLOC_CODE_FLIP, "flip mode (RW <-> R-X)");
    failures += run_mode(MAPALLOC_CODE_DUAL, "dual mode (RW view + R-X view)");
    return failures ? 1 : 0;
#else
    puts("jit: this example emits x86-64 code; skipped");
    return 77;
#endif
}
