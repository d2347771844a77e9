/*
 * transition_test.c - the hand-over between the control thread and the
 * program's threads, in-process: grt_transition_run() runs in a helper thread
 * (playing the control thread) while this program's threads reach update
 * points: the barrier, its timeout, threads that end while others wait, and
 * signals held while a thread waits.
 * First, before any thread exists: spurious wake-ups and the lazy start of
 * the real control thread (the constructor opened a socket in
 * $GRAFT_RUNTIME_DIR).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GRAFT_UPDATEABLE
#include "graft.h"
#include "graft_abi.h"
#include "harness.h"
#include "threads.h"
#include "thread_gate.h"

#include "transition.h"

const char grt_program_name[] = "transition_test";
const char grt_version_digest[] = "1111111111111111111111111111111111111111111111111111111111111111";
const char grt_trusted_keys[] = "";
const int grt_insecure_unsigned = 0;

static const char target[] = "2222222222222222222222222222222222222222222222222222222222222222";

static int (*fp)(void);
static int f_old(void) { return 1; }
static int f_new(void) { return 2; }

static int init_calls;
static int init_ok(const char **msg)
{
    (void)msg;
    init_calls++;
    return 0;
}

static const grt_func_switch funcs[] = { { "f", (void **)&fp, (void *)f_new } };
static const unsigned unsafe_pts[] = { 9 };
static const grt_patch patch = { GRT_ABI_VERSION, "transition_test", grt_version_digest, target, init_ok, 1, funcs,
                                 0, NULL, 1, unsafe_pts, 0, NULL, 0, NULL, NULL };

struct run {
    unsigned timeout_ms;
    grt_result res;
    int done;
};

static void *control(void *arg)
{
    struct run *r = arg;
    grt_loaded l = { NULL, &patch };

    grt_transition_run(&l, 1, r->timeout_ms, 0, NULL, NULL, &r->res);
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *other_thread_point(void *arg)
{
    (void)arg;
    grt_update_point(4);
    return NULL;
}

static int busy_go;

/* A thread of the program with an event loop: point 12 (safe) each turn,
 * until told to stop; it records the version of f it saw after its first
 * point that applied something. */
struct looper {
    pthread_t t;
    int stop;
    int saw_new;
    int turns_after;
};

static void sleep_ms(int ms);

static void *looper_main(void *arg)
{
    struct looper *lp = arg;

    while (!__atomic_load_n(&lp->stop, __ATOMIC_ACQUIRE)) {
        grt_update_point(12);
        if (fp() == 2) {
            __atomic_store_n(&lp->saw_new, 1, __ATOMIC_RELEASE);
            lp->turns_after++;
        }
        sleep_ms(1);
    }
    return NULL;
}

/* Where a signal handler ran: it must never run while its thread waits at
 * a point, i.e. see the old f after the update was ready to go. */
static volatile sig_atomic_t handler_saw = 0;
static void on_usr1(int sig)
{
    (void)sig;
    handler_saw = fp();
}

static void *park_then_exit(void *arg)
{
    (void)arg;
    grt_update_point(4); /* parks; the round ends at the timeout or the apply */
    return NULL;
}

static void sleep_ms(int ms);

/* A thread of the program that runs until told to stop. */
static void *busy_thread(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&busy_go, __ATOMIC_ACQUIRE))
        sleep_ms(1);
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

static void wait_pending(void)
{
    int i;

    for (i = 0; i < 2000 && !__atomic_load_n(&grt_pending, __ATOMIC_ACQUIRE); i++)
        sleep_ms(1);
}

int main(void)
{
    struct run r;
    pthread_t ct, ot;

    test_suite_name = "transition_test";
    fp = f_old;

    /* 0. Wake-ups without a patch, and the lazy control thread. */
    test_cond("at start: one thread (the control thread is lazy), nothing pending",
              count_threads() == 1 && grt_pending == 0);
    __atomic_store_n(&grt_pending, 1, __ATOMIC_SEQ_CST);
    grt_update_point(1);
    test_cond("a spurious grt_pending is cleared by the main thread's next point", grt_pending == 0 && fp() == 1);
    __atomic_store_n(&grt_pending, 1, __ATOMIC_SEQ_CST);
    pthread_create(&ot, NULL, other_thread_point, NULL);
    pthread_join(ot, NULL);
    test_cond("  ... and by another thread's point", grt_pending == 0 && fp() == 1);
    raise(SIGURG);
    test_cond("SIGURG (a client's request): grt_pending set, no thread started in the handler",
              grt_pending == 1 && count_threads() == 1);
    grt_update_point(1);
    test_check("the next point starts the control thread and clears grt_pending, applying nothing",
               count_threads() == 2 && grt_pending == 0 && fp() == 1, "threads=%d pending=%d", count_threads(),
               grt_pending);
    raise(SIGURG);
    test_cond("a SIGURG once the thread runs leaves grt_pending alone", grt_pending == 0);

    /* 1. Another thread waits at a safe point, the main thread reaches only
     * an unsafe one: timeout, and the reply says where each was. */
    memset(&r, 0, sizeof(r));
    r.timeout_ms = 300;
    grt_real_pthread_create(&ct, NULL, control, &r);
    wait_pending();
    test_cond("grt_pending is set while a patch waits", grt_pending == 1);
    pthread_create(&ot, NULL, park_then_exit, NULL);
    while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
        grt_update_point(9);
        sleep_ms(1);
    }
    pthread_join(ct, NULL);
    pthread_join(ot, NULL);
    test_check("timeout: refused, naming the waiting thread's point and the main thread's unsafe one",
               !r.res.applied && strcmp(r.res.refusal.code, "timeout") == 0 &&
                   strstr(r.res.refusal.msg, "(1 of 2 waiting)") &&
                   strstr(r.res.refusal.msg, "): waiting at point 4") &&
                   strstr(r.res.refusal.msg, "main thread") &&
                   strstr(r.res.refusal.msg, ": point 9 (unsafe for this patch"),
               "%s %s", r.res.refusal.code ? r.res.refusal.code : "(none)", r.res.refusal.msg);
    test_cond("timeout: nothing switched, init not run, the waiting thread went on", fp() == 1 && init_calls == 0);
    test_cond("timeout: grt_pending cleared", grt_pending == 0);
    grt_update_point(1);
    GRAFT_UPDATE_POINT();
    test_cond("update points with nothing pending do nothing", fp() == 1);

    /* 2. The main thread, alone, reaches a safe point: applied there. */
    memset(&r, 0, sizeof(r));
    r.timeout_ms = 5000;
    grt_real_pthread_create(&ct, NULL, control, &r);
    wait_pending();
    grt_update_point(9);
    test_cond("unsafe point: not applied", fp() == 1 && grt_pending == 1);
    grt_update_point(12);
    test_cond("safe point: switched at once, in the main thread", fp() == 2 && init_calls == 1 && grt_pending == 0);
    pthread_join(ct, NULL);
    test_check("result handed back: applied at point 12, one thread", r.res.applied && r.res.point == 12 && r.res.threads == 1,
               "applied=%d point=%u threads=%u", r.res.applied, r.res.point, r.res.threads);
    {
        grt_version v;

        grt_version_get(&v);
        test_check("running version is the patch's target, sequence 1, 1 patch",
                   strcmp(v.digest, target) == 0 && v.sequence == 1 && v.patches == 1, "%s %lu %lu", v.digest,
                   (unsigned long)v.sequence, v.patches);
    }

    /* 3. A program that replaced the SIGURG handler is told why it was not woken. */
    {
        struct sigaction ign, saved;

        memset(&ign, 0, sizeof(ign));
        ign.sa_handler = SIG_IGN;
        sigaction(SIGURG, &ign, &saved);
        memset(&r, 0, sizeof(r));
        r.timeout_ms = 100;
        grt_real_pthread_create(&ct, NULL, control, &r);
        pthread_join(ct, NULL);
        sigaction(SIGURG, &saved, NULL);
        test_check("no point reached, SIGURG replaced: the timeout says so",
                   !r.res.applied && strcmp(r.res.refusal.code, "timeout") == 0 &&
                       strstr(r.res.refusal.msg, "main thread") && strstr(r.res.refusal.msg, "reached no update point") &&
                       strstr(r.res.refusal.msg, "replaced the SIGURG handler"),
                   "%s", r.res.refusal.msg);
    }
    /* 4. A thread of the program that never reaches a point: the main thread
     * waits at its safe point until the timeout, then goes on unchanged. */
    {
        pthread_t busy;

        fp = f_old;
        __atomic_store_n(&busy_go, 0, __ATOMIC_RELEASE);
        pthread_create(&busy, NULL, busy_thread, NULL);
        memset(&r, 0, sizeof(r));
        r.timeout_ms = 200;
        grt_real_pthread_create(&ct, NULL, control, &r);
        wait_pending();
        while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
            grt_update_point(12);
            sleep_ms(1);
        }
        pthread_join(ct, NULL);
        test_check("a thread that never arrives: refused at the timeout, naming it, nothing switched",
                   !r.res.applied && strcmp(r.res.refusal.code, "timeout") == 0 &&
                       strstr(r.res.refusal.msg, "): reached no update point") &&
                       strstr(r.res.refusal.msg, "waiting at point 12") && fp() == 1,
                   "%s %s", r.res.refusal.code ? r.res.refusal.code : "(none)", r.res.refusal.msg);
        /* It ends while the main thread waits: the barrier completes without it. */
        memset(&r, 0, sizeof(r));
        r.timeout_ms = 5000;
        grt_real_pthread_create(&ct, NULL, control, &r);
        wait_pending();
        __atomic_store_n(&busy_go, 1, __ATOMIC_RELEASE);
        grt_update_point(12);
        pthread_join(ct, NULL);
        pthread_join(busy, NULL);
        test_check("a thread that ends while the others wait: applied without it", r.res.applied && fp() == 2,
                   "applied=%d %s", r.res.applied, r.res.refusal.msg);
    }
    /* 5. The barrier: three looping threads and the main thread. The patch
     * applies once all four wait at safe points; each then runs the new code;
     * a signal sent to a waiting thread runs its handler only after. */
    {
        struct looper lp[3];
        struct sigaction sa, saved;
        int i, all_new = 1, turns = 0;

        fp = f_old;
        memset(lp, 0, sizeof(lp));
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, &saved);
        for (i = 0; i < 3; i++)
            pthread_create(&lp[i].t, NULL, looper_main, &lp[i]);
        memset(&r, 0, sizeof(r));
        r.timeout_ms = 5000;
        grt_real_pthread_create(&ct, NULL, control, &r);
        wait_pending();
        sleep_ms(50); /* the loopers are waiting at point 12 by now */
        test_cond("while the main thread has not arrived, nothing switches", fp() == 1 && !r.done);
        pthread_kill(lp[0].t, SIGUSR1);
        sleep_ms(20);
        test_cond("a signal to a waiting thread is held", handler_saw == 0);
        grt_update_point(12);
        pthread_join(ct, NULL);
        sleep_ms(30);
        for (i = 0; i < 3; i++) {
            __atomic_store_n(&lp[i].stop, 1, __ATOMIC_RELEASE);
            pthread_join(lp[i].t, NULL);
            all_new &= lp[i].saw_new;
            turns += lp[i].turns_after;
        }
        sigaction(SIGUSR1, &saved, NULL);
        test_check("all four threads parked, then applied", r.res.applied && r.res.threads == 4,
                   "applied=%d threads=%u %s", r.res.applied, r.res.threads, r.res.refusal.msg);
        test_check("every thread runs the new code after it", all_new && turns > 3 && fp() == 2, "all_new=%d turns=%d",
                   all_new, turns);
        test_check("the held signal's handler ran after the switch", handler_saw == 2, "handler saw f() == %d",
                   (int)handler_saw);
    }
    test_report();
    return 0;
}
