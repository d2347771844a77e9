/*
 * loader.h - dlopen a patch and check it against the running program (private).
 *
 * THREAD SAFETY: runs in the control thread only, before the main thread is
 * involved in an update.
 */
#ifndef GRT_LOADER_H
#define GRT_LOADER_H

#include "bundle.h"
#include "core.h"

typedef struct grt_loaded {
    void *handle;
    const grt_patch *patch;
} grt_loaded;

/* dlopen(RTLD_NOW|RTLD_GLOBAL) b->so_path, find __graft_patch, check ABI,
 * program, base digest and (for bundles) the signed target digest, and
 * validate the patch so that its commit cannot fail. On refusal the object
 * is closed again. */
int grt_loader_open(const grt_bundle *b, grt_loaded *out, grt_refusal *r) GRT_WARN_UNUSED;

/* dlclose a patch that was not applied (refused, failed init, cancelled). */
void grt_loader_close(grt_loaded *l);

#endif /* GRT_LOADER_H */
