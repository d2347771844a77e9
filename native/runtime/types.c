/*
 * types.c - type versions and lazy transformation (the con check's slow path).
 *
 * Generated code reaches a wrapped value through __graft_con_T(p), which
 * compares the value's version field with the version the code was compiled
 * for; on a difference it calls grt_con_slow(). Values are brought forward
 * one step at a time, in place, when first touched after an update.
 *
 * THREAD SAFETY: a value is transformed once, by the first thread that
 * touches it; others wait for it (see grt_con_slow). type->current and
 * type->steps[] are published by the commit with release stores (patch.c)
 * and read here with acquire loads.
 */
#include <sched.h>
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

/*
 * A value is transformed exactly once, by one thread. The thread that wins a
 * CAS of the version field from v to GRT_BUSY runs the steps; any other
 * thread that touches it meanwhile waits until the field holds the new
 * version. A value whose field holds GRT_BUSY while no transformation is in
 * progress anywhere (busy == 0, read after the field: the owner stores the
 * version before it decrements) is malloc garbage like any other unknown
 * version. The same thread meeting its own value again (a transformer, or a
 * signal handler, touching the value it is transforming) would wait forever:
 * it aborts with the reason instead.
 */
#define GRT_BUSY 0xfffffff7u

static unsigned long busy;
/* The values this thread is transforming, innermost first (a step may touch
 * a nested value of another wrapped type). */
struct transforming {
    const unsigned *ver;
    const struct transforming *up;
};
static __thread const struct transforming *transforming __attribute__((tls_model("initial-exec")));

static int mine(const unsigned *ver)
{
    const struct transforming *f;

    for (f = transforming; f; f = f->up)
        if (f->ver == ver)
            return 1;
    return 0;
}

void grt_con_slow(grt_type *t, unsigned *ver, unsigned want)
{
    /* Acquire: pairs with the release store of current in grt_patch_commit(). */
    unsigned current = __atomic_load_n(&t->current, __ATOMIC_ACQUIRE);
    struct transforming frame = { ver, transforming };
    unsigned v;

    for (;;) {
        v = __atomic_load_n(ver, __ATOMIC_ACQUIRE);
        if (v == want)
            return;
        if (v == GRT_BUSY) {
            if (mine(ver))
                die("a transformer (or a signal handler) touched the value it is transforming", t, v, want);
            if (__atomic_load_n(&busy, __ATOMIC_SEQ_CST) != 0 || __atomic_load_n(ver, __ATOMIC_SEQ_CST) != GRT_BUSY) {
                sched_yield();
                continue;
            }
            /* No transformation anywhere: garbage that happens to look busy. */
        }
        if (want > current)
            die("code compiled for a version that was never registered", t, v, want);
        if (v > current) {
            /* Never initialised as a T (malloc garbage): take it as fresh. */
            if (!__atomic_compare_exchange_n(ver, &v, want, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                continue;
            __atomic_fetch_add(&t->unknown, 1, __ATOMIC_RELAXED);
            return;
        }
        if (v > want)
            die("old code met newer data (safety analysis bug)", t, v, want);
        __atomic_fetch_add(&busy, 1, __ATOMIC_SEQ_CST);
        if (__atomic_compare_exchange_n(ver, &v, GRT_BUSY, 0, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
            break;
        __atomic_fetch_sub(&busy, 1, __ATOMIC_SEQ_CST);
    }
    transforming = &frame;
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
        v++;
    }
    transforming = frame.up;
    /* Release: another thread that sees the version sees the new layout. */
    __atomic_store_n(ver, want, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(&busy, 1, __ATOMIC_SEQ_CST);
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

/*
 * A block that a function of the program hands out (its own pool, a slab)
 * becomes a T in code compiled for T's first version, which has no con
 * check. While T is at version 0 every live value of T is, so a nonzero
 * version field is the block's earlier bytes (a free list's pointer, another
 * type's data): it is set to 0 here, before the code fills the value in,
 * rather than taken later for garbage and stamped without a transformer.
 * Once a patch changed T, that code no longer runs on T's values (a patch
 * replaces every function that uses a type it changes), and patch code's con
 * checks see to the rest: nothing is written then.
 */
void *grt_first_block(void *block, grt_type *t)
{
    unsigned *ver = block;

    if (ver && __atomic_load_n(&t->current, __ATOMIC_ACQUIRE) == 0 && *ver != 0)
        *ver = 0;
    return block;
}
