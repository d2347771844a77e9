/*
 * types_test.c - in-process tests of types.c (grt_con_slow, grt_stamp),
 * patch.c (verify/commit) and the trusted key parser.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GRAFT_UPDATEABLE
#include "graft.h"
#include "graft_abi.h"
#include "harness.h"

#include "bundle.h"
#include "patch.h"

/* The meta unit a generated program would have. */
const char grt_program_name[] = "types_test";
const char grt_version_digest[] = "0000000000000000000000000000000000000000000000000000000000000000";
const char grt_trusted_keys[] = "";
const int grt_insecure_unsigned = 0;

struct val {
    unsigned ver;
    int a, b, c;
};

static int ran01, ran12;

static int step01(void *w)
{
    struct val *v = w;
    ran01++;
    v->b = v->a + 1;
    return 0;
}

static int step12(void *w)
{
    struct val *v = w;
    ran12++;
    v->c = v->b + 1;
    return 0;
}

static int step_fails(void *w)
{
    (void)w;
    return -EIO;
}

/* Runs fn in a child; returns 1 if it died of SIGABRT with `expect` on stderr. */
static int aborts_with(void (*fn)(void), const char *expect)
{
    char buf[1024];
    size_t len = 0;
    int fds[2], status;
    ssize_t n;
    pid_t pid;

    if (pipe(fds) < 0)
        return 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        signal(SIGABRT, SIG_DFL);
        fn();
        _exit(0);
    }
    close(fds[1]);
    while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fds[0]);
    if (waitpid(pid, &status, 0) < 0)
        return 0;
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
        printf("    child status %d, stderr: %s\n", status, buf);
        return 0;
    }
    if (!strstr(buf, expect)) {
        printf("    stderr: %s\n", buf);
        return 0;
    }
    return 1;
}

static grt_type ty;

static void reset_type(unsigned current)
{
    memset(&ty, 0, sizeof(ty));
    ty.name = "struct val";
    ty.current = current;
    ty.steps[0] = step01;
    ty.steps[1] = step12;
}

static void missing_step(void)
{
    struct val v = { 0, 1, 0, 0 };
    reset_type(2);
    ty.steps[1] = NULL;
    grt_con_slow(&ty, &v.ver, 2);
}

static void failing_step(void)
{
    struct val v = { 0, 1, 0, 0 };
    reset_type(1);
    ty.steps[0] = step_fails;
    grt_con_slow(&ty, &v.ver, 1);
}

static void newer_data(void)
{
    struct val v = { 2, 1, 0, 0 };
    reset_type(2);
    grt_con_slow(&ty, &v.ver, 1);
}

static void unregistered_want(void)
{
    struct val v = { 0, 1, 0, 0 };
    reset_type(1);
    grt_con_slow(&ty, &v.ver, 3);
}

/* Threads racing to bring the same values forward: each value's steps must
 * run once, and no thread may see a half-transformed value. */
#define RACE_VALUES 2000
#define RACE_THREADS 4

struct counted {
    unsigned ver;
    int runs01, runs12;
    int a, b, c;
};

static struct counted race[RACE_VALUES];
static grt_type race_ty;
static int race_go, race_bad;

static int race01(void *w)
{
    struct counted *v = w;
    volatile int spin;

    __atomic_fetch_add(&v->runs01, 1, __ATOMIC_RELAXED);
    for (spin = 0; spin < 200; spin++) /* widen the window */
        ;
    v->b = v->a + 1;
    return 0;
}

static int race12(void *w)
{
    struct counted *v = w;

    __atomic_fetch_add(&v->runs12, 1, __ATOMIC_RELAXED);
    v->c = v->b + 1;
    return 0;
}

static void *racer(void *arg)
{
    int i;

    (void)arg;
    while (!__atomic_load_n(&race_go, __ATOMIC_ACQUIRE))
        ;
    for (i = 0; i < RACE_VALUES; i++) {
        if (__atomic_load_n(&race[i].ver, __ATOMIC_ACQUIRE) != 2)
            grt_con_slow(&race_ty, &race[i].ver, 2);
        if (race[i].c != race[i].a + 2)
            __atomic_fetch_add(&race_bad, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_race(void)
{
    pthread_t t[RACE_THREADS];
    int i, once = 1;

    memset(&race_ty, 0, sizeof(race_ty));
    race_ty.name = "struct counted";
    race_ty.current = 2;
    race_ty.steps[0] = race01;
    race_ty.steps[1] = race12;
    for (i = 0; i < RACE_VALUES; i++)
        race[i] = (struct counted){ 0, 0, 0, i, 0, 0 };
    for (i = 0; i < RACE_THREADS; i++)
        pthread_create(&t[i], NULL, racer, NULL);
    __atomic_store_n(&race_go, 1, __ATOMIC_RELEASE);
    for (i = 0; i < RACE_THREADS; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < RACE_VALUES; i++)
        once &= race[i].runs01 == 1 && race[i].runs12 == 1 && race[i].ver == 2;
    test_check("4 threads touching the same 2000 old values: each value transformed once",
               once && race_ty.transformed == RACE_VALUES, "transformed=%lu", race_ty.transformed);
    test_check("  ... and no thread saw a half-transformed value", race_bad == 0, "%d bad reads", race_bad);
}

/* A step that touches the value it is transforming would wait for itself. */
static struct val reentered;
static int step_reenters(void *w)
{
    (void)w;
    grt_con_slow(&ty, &reentered.ver, 1);
    return 0;
}

static void reentering_step(void)
{
    reset_type(1);
    ty.steps[0] = step_reenters;
    reentered = (struct val){ 0, 1, 0, 0 };
    grt_con_slow(&ty, &reentered.ver, 1);
}

static int (*fp_target)(void);
static int old_impl(void) { return 1; }
static int new_impl(void) { return 2; }

static void test_patch(void)
{
    grt_func_switch funcs[1] = { { "target", (void **)&fp_target, (void *)new_impl } };
    grt_type_step steps[2] = { { &ty, 0, step01 }, { &ty, 1, step12 } };
    grt_patch p = { GRT_ABI_VERSION, "types_test", grt_version_digest, grt_version_digest, NULL, 1, funcs,
                    2, steps, 0, NULL, 0, NULL, 0, NULL, NULL };
    grt_refusal r;

    memset(&ty, 0, sizeof(ty));
    fp_target = old_impl;
    test_check("patch verify: two chained steps and a switch", grt_patch_verify(&p, &r) == 0, "%s", r.msg);

    steps[1].from = 2;
    test_cond("patch verify: a step that skips a version is refused (abi)",
              grt_patch_verify(&p, &r) == -EINVAL && strcmp(r.code, "abi") == 0 && strstr(r.msg, "expected 1"));
    steps[1].from = 1;
    funcs[0].slot = NULL;
    test_cond("patch verify: a switch without slot is refused", grt_patch_verify(&p, &r) == -EINVAL);
    funcs[0].slot = (void **)&fp_target;
    ty.current = GRT_MAX_TYPE_VERSIONS - 1;
    steps[0].from = GRT_MAX_TYPE_VERSIONS - 1;
    steps[1].from = GRT_MAX_TYPE_VERSIONS;
    test_cond("patch verify: too many versions is refused", grt_patch_verify(&p, &r) == -EINVAL);
    ty.current = 0;
    steps[0].from = 0;
    steps[1].from = 1;

    grt_patch_commit(&p);
    test_cond("patch commit: function pointer switched", fp_target() == 2);
    test_cond("patch commit: steps registered, current advanced",
              ty.current == 2 && ty.steps[0] == step01 && ty.steps[1] == step12);
}

int main(void)
{
    unsigned char keys[4][GRT_KEY_BYTES];
    struct val v;
    struct val arr[3];

    test_suite_name = "types_test";

    test_cond("grt_stamp(NULL) returns NULL", grt_stamp(NULL, 64, 16, 1) == NULL);
    memset(arr, 0xab, sizeof(arr));
    test_cond("grt_stamp returns the block", grt_stamp(arr, sizeof(arr), sizeof(arr[0]), 3) == arr);
    test_cond("grt_stamp stamps every element",
              arr[0].ver == 3 && arr[1].ver == 3 && arr[2].ver == 3 && arr[1].a == (int)0xabababab);
    memset(arr, 0, sizeof(arr));
    grt_stamp(arr, sizeof(arr) - 1, sizeof(arr[0]), 5);
    test_cond("grt_stamp stamps only whole elements", arr[0].ver == 5 && arr[1].ver == 5 && arr[2].ver == 0);

    reset_type(0);
    test_cond("grt_first_block(NULL) returns NULL", grt_first_block(NULL, &ty) == NULL);
    v = (struct val){ 0x5a5a5a5au, 1, 2, 3 };
    test_cond("grt_first_block returns the block", grt_first_block(&v, &ty) == &v);
    test_cond("grt_first_block: at version 0 a block's earlier bytes become version 0", v.ver == 0 && v.a == 1 && v.c == 3);
    reset_type(2);
    v = (struct val){ 1, 1, 2, 3 };
    grt_first_block(&v, &ty);
    test_cond("grt_first_block writes nothing once the type has changed", v.ver == 1);

    reset_type(2);
    v = (struct val){ 2, 1, 2, 3 };
    grt_con_slow(&ty, &v.ver, 2);
    test_cond("con_slow with the wanted version changes nothing",
              v.ver == 2 && ran01 == 0 && ran12 == 0 && ty.transformed == 0);

    v = (struct val){ 0, 10, 0, 0 };
    grt_con_slow(&ty, &v.ver, 2);
    test_cond("con_slow runs the chain v0 -> v1 -> v2",
              v.ver == 2 && v.b == 11 && v.c == 12 && ran01 == 1 && ran12 == 1);
    test_cond("con_slow counts one transformed value", ty.transformed == 1 && ty.unknown == 0);

    v = (struct val){ 1, 10, 20, 0 };
    grt_con_slow(&ty, &v.ver, 2);
    test_cond("con_slow starts the chain at the value's version", v.ver == 2 && v.c == 21 && ran01 == 1);

    v = (struct val){ 0xdeadbeefu, 7, 7, 7 };
    grt_con_slow(&ty, &v.ver, 1);
    test_cond("garbage version: stamped `want`, no transformer", v.ver == 1 && v.a == 7 && ran01 == 1);
    test_cond("garbage version: counted in unknown", ty.unknown == 1 && ty.transformed == 2);

    test_cond("missing step: message on stderr and abort()", aborts_with(missing_step, "no transformer"));
    test_cond("failing step: message on stderr and abort()", aborts_with(failing_step, "failed"));
    test_cond("old code meeting newer data: abort()", aborts_with(newer_data, "old code met newer data"));
    test_cond("code for an unregistered version: abort()", aborts_with(unregistered_want, "never registered"));
    test_cond("a step touching its own value: abort() with the reason",
              aborts_with(reentering_step, "touched the value it is transforming"));
    test_race();

    test_patch();

    test_cond("trusted keys: empty text has no key", grt_parse_trusted_keys("", keys, 4) == 0);
    test_cond("trusted keys: two lines",
              grt_parse_trusted_keys("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
                                     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\n",
                                     keys, 4) == 2 &&
                  keys[0][31] == 0x1f && keys[1][0] == 0xff);
    test_cond("trusted keys: a short line is malformed", grt_parse_trusted_keys("abcd\n", keys, 4) == -EINVAL);
    test_cond("trusted keys: non-hex is malformed",
              grt_parse_trusted_keys("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", keys, 4) ==
                  -EINVAL);

    /* The update point's fast path compiles and does nothing when idle. */
    GRAFT_UPDATE_POINT();
    test_cond("GRAFT_UPDATE_POINT with nothing pending is a no-op", grt_pending == 0);

    test_report();
    return 0;
}
