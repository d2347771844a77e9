/*
 * types.c - type versions and lazy transformation (the con check's slow path).
 *
 * Generated code reaches a wrapped value through __graft_con_T(p), which
 * compares the value's version field with the version the code was compiled
 * for; on a difference it calls grt_con_slow(). Values are brought forward
 * one step at a time, in place, when first touched after an update.
 *
 * THREAD SAFETY: a value is transformed by the thread that touches it; two
 * threads touching the same old value at once would both transform it (see
 * README, Limitations). type->current and type->steps[] are published by the
 * commit with release stores (patch.c) and read here with acquire loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static const char *type_name(const grt_type *t)
{
    return t->name ? t->name : "(unnamed type)";
}

__attribute__((noreturn)) static void die(const char *what, const grt_type *t, unsigned ver, unsigned want)
{
    /* Unconditionally on stderr: the process is about to abort. */
    fprintf(stderr, "graft[%ld]: fatal: %s: %s value at version %u, code wants version %u\n",
            (long)getpid(), what, type_name(t), ver, want);
    abort();
}

void grt_con_slow(grt_type *t, unsigned *ver, unsigned want)
{
    /* Acquire: pairs with the release store of current in grt_patch_commit(). */
    unsigned current = __atomic_load_n(&t->current, __ATOMIC_ACQUIRE);
    unsigned v = *ver;

    if (v == want)
        return;
    if (want > current)
        die("code compiled for a version that was never registered", t, v, want);
    if (v > current) {
        /* Never initialised as a T (malloc garbage): take it as fresh. */
        *ver = want;
        __atomic_fetch_add(&t->unknown, 1, __ATOMIC_RELAXED);
        return;
    }
    if (v > want)
        die("old code met newer data (safety analysis bug)", t, v, want);
    while (v < want) {
        grt_xform_fn step = __atomic_load_n(&t->steps[v], __ATOMIC_ACQUIRE);
        int err;

        if (!step)
            die("no transformer registered for the next step", t, v, want);
        /* The wrapper starts with the version field. */
        err = step((void *)ver);
        if (err != 0) {
            fprintf(stderr, "graft[%ld]: fatal: transformer %u -> %u of %s failed: %s\n", (long)getpid(), v,
                    v + 1, type_name(t), err < 0 ? strerror(-err) : "non-zero return");
            abort();
        }
        *ver = ++v;
    }
    __atomic_fetch_add(&t->transformed, 1, __ATOMIC_RELAXED);
}

void *grt_stamp(void *block, size_t bytes, size_t elem_size, unsigned want)
{
    unsigned char *p = block;
    size_t i, n;

    if (!block || elem_size < sizeof(unsigned))
        return block;
    n = bytes / elem_size;
    for (i = 0; i < n; i++)
        memcpy(p + i * elem_size, &want, sizeof(want));
    return block;
}
