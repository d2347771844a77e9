/*
 * patch.c - redirecting functions and registering type transformer steps.
 *
 * grt_patch_verify() checks, in the control thread, everything the commit
 * relies on; grt_patch_commit() then runs in the main thread at an update
 * point and cannot fail halfway: it only stores pointers.
 *
 * Order inside the commit: type steps are registered first, so that new
 * code reached through a switched pointer always finds the transformers for
 * the versions it was compiled for.
 *
 * THREAD SAFETY: see patch.h. Stores are release stores; a reader on another
 * thread that loads a slot (generated code uses plain loads) sees the new
 * code, and with an acquire load, everything registered before it.
 */
#include <errno.h>
#include <string.h>

#include "core.h"
#include "patch.h"

int grt_patch_verify(const grt_patch *p, grt_refusal *r)
{
    size_t i, j;

    if (p->nfuncs && !p->funcs)
        return grt_refuse(r, -EINVAL, "abi", "patch lists %zu functions but no table", p->nfuncs);
    if (p->nsteps && !p->steps)
        return grt_refuse(r, -EINVAL, "abi", "patch lists %zu type steps but no table", p->nsteps);
    if (p->nunsafe && !p->unsafe_points)
        return grt_refuse(r, -EINVAL, "abi", "patch lists %zu unsafe points but no table", p->nunsafe);
    for (i = 0; i < p->nfuncs; i++) {
        const grt_func_switch *f = &p->funcs[i];

        if (!f->slot || !f->target)
            return grt_refuse(r, -EINVAL, "abi", "function switch %s has no %s",
                              f->name ? f->name : "(unnamed)", f->slot ? "target" : "slot");
    }
    for (i = 0; i < p->nsteps; i++) {
        const grt_type_step *s = &p->steps[i];
        unsigned expect;

        if (!s->type || !s->xform)
            return grt_refuse(r, -EINVAL, "abi", "type step %zu has no %s", i, s->type ? "transformer" : "type");
        /* Steps of one type must continue its chain: current, current+1, ... */
        expect = __atomic_load_n(&s->type->current, __ATOMIC_ACQUIRE);
        for (j = 0; j < i; j++)
            if (p->steps[j].type == s->type)
                expect++;
        if (s->from != expect)
            return grt_refuse(r, -EINVAL, "abi", "type step for %s starts at version %u, expected %u",
                              s->type->name ? s->type->name : "(unnamed)", s->from, expect);
        if (s->from >= GRT_MAX_TYPE_VERSIONS - 1)
            return grt_refuse(r, -EINVAL, "abi", "%s would exceed %u versions",
                              s->type->name ? s->type->name : "(unnamed)", GRT_MAX_TYPE_VERSIONS);
    }
    return 0;
}

void grt_patch_commit(const grt_patch *p)
{
    size_t i;

    for (i = 0; i < p->nsteps; i++) {
        const grt_type_step *s = &p->steps[i];

        /* Release: the step is visible before the version that needs it
         * (pairs with the acquire load of current in grt_con_slow). */
        __atomic_store_n(&s->type->steps[s->from], s->xform, __ATOMIC_RELAXED);
        __atomic_store_n(&s->type->current, s->from + 1, __ATOMIC_RELEASE);
    }
    for (i = 0; i < p->nfuncs; i++) {
        /* Release: pairs with the load of the slot by callers. */
        __atomic_store_n(p->funcs[i].slot, p->funcs[i].target, __ATOMIC_RELEASE);
    }
}
