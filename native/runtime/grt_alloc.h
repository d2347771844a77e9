/*
 * grt_alloc.h - allocator hook (sdsalloc.h style).
 *
 * libgraft lives inside someone else's process. Every allocation of the
 * runtime goes through these three macros, so a program with its own
 * allocator can rebuild the runtime with -DGRT_ALLOC_HEADER='"myalloc.h"'
 * (a header defining grt_malloc, grt_realloc and grt_free).
 */
#ifndef GRT_ALLOC_H
#define GRT_ALLOC_H

#ifdef GRT_ALLOC_HEADER
#include GRT_ALLOC_HEADER
#else
#include <stdlib.h>
#define grt_malloc(n) malloc(n)
#define grt_realloc(p, n) realloc((p), (n))
#define grt_free(p) free(p)
#endif

#endif /* GRT_ALLOC_H */
