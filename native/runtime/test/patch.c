/*
 * patch.c - a hand-written patch, as `graft patch` would generate it.
 * Built by runtime_test with gcc -shared -fPIC and these macros:
 *
 *   PATCH_PROGRAM, PATCH_BASE, PATCH_TARGET   strings
 *   PATCH_ANSWER       the new answer() returns this
 *   PATCH_TYPE_FROM    0: struct point 0 -> 1 (describe for v1)
 *                      1: struct point 1 -> 2 (describe for v2); absent: none
 *   PATCH_INIT_FAIL    init fails with -EAGAIN and a message
 *   PATCH_UNSAFE       one update point id where the patch must not apply
 *   PATCH_ABI          override GRT_ABI_VERSION
 *   PATCH_NO_SYMBOL    export the patch under another name
 *   PATCH_IMPORT_INDEX bind __graft_fp_answer as an import (a weak reference)
 *                      with this index in the program's __graft_symtab
 */
#include <errno.h>
#include <stdio.h>

#include "graft_abi.h"
#include "prog.h"

#ifdef PATCH_IMPORT_INDEX
#pragma weak __graft_fp_answer
static const grt_import imports[] = { { "__graft_fp_answer", PATCH_IMPORT_INDEX } };
#define IMPORTS imports
#define NIMPORTS 1
#else
#define IMPORTS NULL
#define NIMPORTS 0
#endif

#ifndef PATCH_ABI
#define PATCH_ABI GRT_ABI_VERSION
#endif

static int answer_new(void)
{
    return PATCH_ANSWER;
}

#if defined(PATCH_TYPE_FROM) && PATCH_TYPE_FROM == 0
static struct point_d1 *con_point_v1(struct point *p)
{
    if (p->__graft_ver != 1)
        grt_con_slow(&__graft_type_point, &p->__graft_ver, 1);
    return (struct point_d1 *)(void *)&p->__graft_u;
}

static void describe_new(struct point *p, char *buf, size_t n)
{
    struct point_d1 *d = con_point_v1(p);

    snprintf(buf, n, "v1 x=%d y=%d", d->x, d->y);
}

/* 0 -> 1: y appears, twice x. */
static int xform_point(void *wrapper)
{
    struct point *p = wrapper;
    struct point_d1 *d = (struct point_d1 *)(void *)&p->__graft_u;
    int x = p->__graft_u.__graft_d.x;

    d->x = x;
    d->y = 2 * x;
    return 0;
}
#elif defined(PATCH_TYPE_FROM) && PATCH_TYPE_FROM == 1
static struct point_d2 *con_point_v2(struct point *p)
{
    if (p->__graft_ver != 2)
        grt_con_slow(&__graft_type_point, &p->__graft_ver, 2);
    return (struct point_d2 *)(void *)&p->__graft_u;
}

static void describe_new(struct point *p, char *buf, size_t n)
{
    struct point_d2 *d = con_point_v2(p);

    snprintf(buf, n, "v2 x=%d y=%d z=%d", d->x, d->y, d->z);
}

/* 1 -> 2: z = x + y. */
static int xform_point(void *wrapper)
{
    struct point *p = wrapper;
    struct point_d2 *d = (struct point_d2 *)(void *)&p->__graft_u;

    d->z = d->x + d->y;
    return 0;
}
#endif

#ifdef PATCH_INIT_FAIL
static int init(const char **message)
{
    *message = "the new cache could not be allocated";
    return -EAGAIN;
}
#else
static int init(const char **message)
{
    (void)message;
    return 0;
}
#endif

static const grt_func_switch funcs[] = {
    { "answer", (void **)&__graft_fp_answer, (void *)answer_new },
#ifdef PATCH_TYPE_FROM
    { "describe", (void **)&__graft_fp_describe, (void *)describe_new },
#endif
};

#ifdef PATCH_TYPE_FROM
static const grt_type_step steps[] = { { &__graft_type_point, PATCH_TYPE_FROM, xform_point } };
#define STEPS steps
#define NSTEPS 1
#else
#define STEPS NULL
#define NSTEPS 0
#endif

#ifdef PATCH_UNSAFE
static const unsigned unsafe[] = { PATCH_UNSAFE };
#define UNSAFE unsafe
#define NUNSAFE 1
#else
#define UNSAFE NULL
#define NUNSAFE 0
#endif

#ifdef PATCH_NO_SYMBOL
#define __graft_patch graft_patch_misnamed
#endif

/* Protected: the patch's own references to __graft_patch (ASan's globals
 * table, for one) stay inside this object although it is loaded
 * RTLD_GLOBAL after other patches that export the same name. */
__attribute__((visibility("protected"))) const grt_patch __graft_patch = {
    .abi = PATCH_ABI,
    .program = PATCH_PROGRAM,
    .base_digest = PATCH_BASE,
    .target_digest = PATCH_TARGET,
    .init = init,
    .nfuncs = sizeof(funcs) / sizeof(funcs[0]),
    .funcs = funcs,
    .nsteps = NSTEPS,
    .steps = STEPS,
    .nunsafe = NUNSAFE,
    .unsafe_points = UNSAFE,
    .nimports = NIMPORTS,
    .imports = IMPORTS,
};
