/* malloc counter for DecodeBench (LD_PRELOAD): counts calls, forwards to glibc. */
#include <stddef.h>
extern void *__libc_malloc(size_t);
static unsigned long count;
void *malloc(size_t n) { count++; return __libc_malloc(n); }
unsigned long wire_malloc_count(void) { return count; }
