/*
 * patch.h - redirecting functions and registering type steps (private).
 *
 * THREAD SAFETY: grt_patch_verify() runs in the control thread while the
 * main thread runs old code; grt_patch_commit() runs in the main thread at
 * an update point. Only one patch is ever between the two.
 */
#ifndef GRT_PATCH_H
#define GRT_PATCH_H

#include "core.h"

/* Checks everything the commit relies on (slots and targets non-NULL, each
 * type step starts at the type's current version, indexes in range).
 * Returns 0 or -EINVAL with the reason in r (code "abi"). */
int grt_patch_verify(const grt_patch *p, grt_refusal *r) GRT_WARN_UNUSED;

/* Registers the type steps, then switches every function. Cannot fail: the
 * patch was verified. */
void grt_patch_commit(const grt_patch *p);

#endif /* GRT_PATCH_H */
