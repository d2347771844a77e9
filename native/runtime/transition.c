/*
 * transition.c - the update point: moving the program to a loaded patch.
 *
 * The control thread has loaded and verified the patch. It publishes it
 * (state PENDING, then grt_pending = 1) and wakes the main thread with SIGURG
 * every 50 ms. The main thread claims it at its next update point with a CAS
 * PENDING -> CHECKING; at a point the patch lists as unsafe it puts it back
 * (CHECKING -> PENDING) and goes on; otherwise it runs the patch's init and,
 * if that succeeds, commits (patch.c), updates the running version and hands
 * the result to the control thread. On timeout the control thread cancels
 * with a CAS PENDING -> CANCELLED, which fails while the main thread holds
 * the patch (CHECKING/APPLYING): it then waits for DONE or PENDING.
 * Only the control thread dlcloses, and only after PENDING -> CANCELLED or
 * DONE, so the main thread never runs code or reads data of a closed patch.
 *
 * grt_pending is also set without a patch: by a forked child (to open its
 * socket) and by the SIGURG handler (to start the lazy control thread). The
 * slow path does that work and then settles grt_pending back to 0 unless
 * something is still to do (grt_settle_pending), so that update points do
 * not take the slow path forever.
 *
 * THREAD SAFETY: update points are taken by the main thread only (the one
 * that ran the constructor); a point reached by another thread is recorded
 * and skipped. tr.state is accessed atomically; tr.reached and tr.result are
 * guarded by tr.lock; tr.patch and tr.sequence are written by the control
 * thread before the release store of PENDING and read after the acquire CAS.
 * The publish (state PENDING, then grt_pending = 1) and the settle
 * (grt_pending = 0, then a look at the state) are seq_cst: see
 * grt_settle_pending(). Any thread may settle; only the main thread claims.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GRAFT_UPDATEABLE
#include "graft.h"

#include "control.h"
#include "core.h"
#include "loader.h"
#include "patch.h"
#include "thread_gate.h"
#include "transition.h"

int grt_pending;
int grt_hold;

enum { T_IDLE, T_PENDING, T_CHECKING, T_APPLYING, T_DONE, T_CANCELLED };
enum { WHY_UNSAFE, WHY_THREAD, WHY_HELD, WHY_THREADS };

#define GRT_MAX_REACHED 16
#define GRT_TICK_MS 50

static struct {
    int state;
    const grt_patch *patch;
    uint64_t sequence;
    pthread_mutex_t lock;
    pthread_cond_t done;
    struct {
        unsigned id;
        int why;
        unsigned long count;
    } reached[GRT_MAX_REACHED];
    int nreached;
    unsigned long others; /* reached points that did not fit */
    grt_result result;
} tr = {
    .state = T_IDLE,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

/* Returns 1 the first time this point is recorded for the current patch. */
static int record_reached(unsigned id, int why)
{
    int i, first = 0;

    pthread_mutex_lock(&tr.lock);
    for (i = 0; i < tr.nreached; i++)
        if (tr.reached[i].id == id && tr.reached[i].why == why)
            break;
    if (i < tr.nreached) {
        tr.reached[i].count++;
    } else if (tr.nreached < GRT_MAX_REACHED) {
        tr.reached[i].id = id;
        tr.reached[i].why = why;
        tr.reached[i].count = 1;
        tr.nreached++;
        first = 1;
    } else {
        tr.others++;
    }
    pthread_mutex_unlock(&tr.lock);
    return first;
}

static int point_is_unsafe(const grt_patch *p, unsigned id)
{
    size_t i;

    for (i = 0; i < p->nunsafe; i++)
        if (p->unsafe_points[i] == id)
            return 1;
    return 0;
}

/* Main thread: publish the result and let the control thread go on. */
static void finish(const grt_result *res)
{
    pthread_mutex_lock(&tr.lock);
    tr.result = *res;
    __atomic_store_n(&tr.state, T_DONE, __ATOMIC_RELEASE);
    pthread_cond_signal(&tr.done);
    pthread_mutex_unlock(&tr.lock);
}

/*
 * grt_pending is 1 but this point has nothing (more) to do: clear it, unless
 * a patch is published or the control thread is wanted meanwhile.
 *
 * The race to get right is a wake-up stored between our load and our store:
 * the control thread publishes with  W(tr.state = PENDING); W(grt_pending = 1)
 * and the SIGURG handler wants with  W(ctl_phase = WANTED); W(grt_pending = 1),
 * while we do                        W(grt_pending = 0); R(tr.state), R(ctl_phase).
 * That is the store-buffering (Dekker) shape: with release/acquire our loads
 * could still see the old state after our 0 overwrote their 1 (nothing
 * synchronises a store with a store). With all of these seq_cst there is one
 * total order S consistent with each variable's modification order: if our 0
 * comes after their 1 in grt_pending's order, their state/phase store
 * precedes our load in S, so the load sees it and we store 1 again; if our 0
 * comes first, their 1 is the last value. Either way a wake-up survives.
 * The stores of 0 at commit and after a cancel need none of this: no new
 * patch can be published until the control thread has seen DONE/CANCELLED.
 * (x86: the stores are xchg, the loads plain moves; this is the slow path.)
 */
static void grt_settle_pending(void)
{
    int st;

    __atomic_store_n(&grt_pending, 0, __ATOMIC_SEQ_CST);
    st = __atomic_load_n(&tr.state, __ATOMIC_SEQ_CST);
    /* CHECKING too: a thread that settles while the main thread checks an
     * unsafe point must leave grt_pending set for when the main thread puts
     * the patch back (CHECKING -> PENDING does not store grt_pending). */
    if (st == T_PENDING || st == T_CHECKING || grt_control_wanted())
        __atomic_store_n(&grt_pending, 1, __ATOMIC_SEQ_CST);
}

/* A patch is between PENDING and DONE: points of other threads are recorded. */
static int patch_in_flight(void)
{
    int st = __atomic_load_n(&tr.state, __ATOMIC_ACQUIRE);

    return st == T_PENDING || st == T_CHECKING || st == T_APPLYING;
}

void grt_update_point(unsigned point_id)
{
    const grt_patch *p;
    const char *msg = NULL;
    grt_result res;
    uint64_t t0;
    int expect = T_PENDING;
    int others;
    int err;

    /* A forked child opens its socket here. */
    if (grt_core_fork_poke()) {
        grt_settle_pending();
        return;
    }
    /* Acquire: pairs with the (seq_cst, so also release) store of
     * grt_pending in grt_transition_run(). */
    if (!__atomic_load_n(&grt_pending, __ATOMIC_ACQUIRE))
        return;
    /* A client asked (SIGURG): start the control thread, apply nothing. The
     * thread accepts the waiting request; an apply publishes a patch, which
     * a later point takes. */
    if (grt_control_poke()) {
        grt_settle_pending();
        return;
    }
    if (!pthread_equal(pthread_self(), grt_main_thread())) {
        if (!patch_in_flight())
            grt_settle_pending();
        else if (record_reached(point_id, WHY_THREAD))
            grt_log("point %u reached by a thread other than the main thread: skipped", point_id);
        return;
    }
    /* Claim the patch: the control thread cannot cancel it from now on.
     * Fails when nothing is published (IDLE: a spurious wake-up, e.g. a
     * SIGURG racing the start of the control thread; DONE or CANCELLED: the
     * control thread is finishing) or when the patch's init reaches a point. */
    if (!__atomic_compare_exchange_n(&tr.state, &expect, T_CHECKING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        grt_settle_pending();
        return;
    }
    p = tr.patch;
    if (grt_hold || point_is_unsafe(p, point_id)) {
        if (record_reached(point_id, grt_hold ? WHY_HELD : WHY_UNSAFE))
            grt_log("point %u %s: waiting for the next one", point_id,
                    grt_hold ? "reached under a held call of main" : "unsafe for the pending patch");
        /* Release: pairs with the CAS of the cancel in grt_transition_run(). */
        __atomic_store_n(&tr.state, T_PENDING, __ATOMIC_RELEASE);
        return;
    }
    /* Other threads of the program would run old code across the switch:
     * wait (until the timeout) for a moment when none runs, and keep any from
     * starting until the commit is done. */
    others = grt_threads_hold();
    if (others > 0) {
        grt_threads_release();
        if (record_reached(point_id, WHY_THREADS))
            grt_log("point %u: %d other thread%s of the program running: waiting", point_id, others, others == 1 ? "" : "s");
        __atomic_store_n(&tr.state, T_PENDING, __ATOMIC_RELEASE);
        return;
    }
    __atomic_store_n(&tr.state, T_APPLYING, __ATOMIC_RELAXED);
    t0 = grt_now_us();
    memset(&res, 0, sizeof(res));
    res.point = point_id;

    /* Phase 1: the patch's own preparation. Nothing has switched yet. */
    err = p->init ? p->init(&msg) : 0;
    if (err != 0) {
        /* The message lives in the patch, which is about to be closed:
         * grt_refuse copies it. */
        grt_refuse(&res.refusal, err, "init-failed", "patch init returned %d (%s): %s", err,
                   err < 0 ? strerror(-err) : "?", msg ? msg : "no message");
        __atomic_store_n(&grt_pending, 0, __ATOMIC_RELEASE);
        grt_threads_release();
        res.pause_us = grt_now_us() - t0;
        finish(&res);
        return;
    }

    /* Phase 2: the commit. Everything was verified: it only stores. */
    grt_patch_commit(p);
    grt_version_commit(p->target_digest, tr.sequence);
    grt_threads_release();
    __atomic_store_n(&grt_pending, 0, __ATOMIC_RELEASE);
    res.applied = 1;
    res.pause_us = grt_now_us() - t0;
    grt_log("applied at point %u in %" PRIu64 " us", point_id, res.pause_us);
    finish(&res);
}

static void timeout_message(unsigned timeout_ms, grt_refusal *r)
{
    char buf[sizeof(r->msg)];
    size_t off;
    int i, n;

    if (tr.nreached == 0) {
        grt_refuse(r, -ETIMEDOUT, "timeout", "no update point was reached within %u ms (the main thread never got to one%s)",
                   timeout_ms,
                   grt_sigurg_ours() ? "" : "; the program replaced the SIGURG handler, so a blocked main thread is not woken");
        return;
    }
    n = snprintf(buf, sizeof(buf), "no safe update point within %u ms; reached:", timeout_ms);
    off = n > 0 ? (size_t)n : 0;
    for (i = 0; i < tr.nreached && off < sizeof(buf); i++) {
        n = snprintf(buf + off, sizeof(buf) - off, "%s point %u (%s, %lu time%s)", i ? "," : "",
                     tr.reached[i].id,
                     tr.reached[i].why == WHY_UNSAFE ? "unsafe for this patch"
                     : tr.reached[i].why == WHY_HELD ? "under a held call of main"
                     : tr.reached[i].why == WHY_THREADS ? "other threads of the program running"
                     : "not the main thread",
                     tr.reached[i].count, tr.reached[i].count == 1 ? "" : "s");
        if (n < 0)
            break;
        off += (size_t)n;
    }
    if (tr.others && off < sizeof(buf))
        snprintf(buf + off, sizeof(buf) - off, ", and %lu more", tr.others);
    grt_refuse(r, -ETIMEDOUT, "timeout", "%s", buf);
}

void grt_transition_run(grt_loaded *l, uint64_t sequence, unsigned timeout_ms,
                        grt_idle_fn idle, void *idle_arg, grt_result *res)
{
    uint64_t deadline = grt_now_us() + (uint64_t)timeout_ms * 1000u;
    int cancelled = 0;

    memset(res, 0, sizeof(*res));
    pthread_mutex_lock(&tr.lock);
    tr.patch = l->patch;
    tr.sequence = sequence;
    tr.nreached = 0;
    tr.others = 0;
    memset(&tr.result, 0, sizeof(tr.result));
    pthread_mutex_unlock(&tr.lock);
    /* Release: the main thread that sees PENDING sees patch and sequence.
     * Pairs with the acquire CAS in grt_update_point(). Seq_cst (which
     * includes release) and in this order: pairs with the store-then-load of
     * grt_settle_pending(), which must not clear this wake-up unseen. */
    __atomic_store_n(&tr.state, T_PENDING, __ATOMIC_SEQ_CST);
    __atomic_store_n(&grt_pending, 1, __ATOMIC_SEQ_CST);

    pthread_mutex_lock(&tr.lock);
    for (;;) {
        struct timespec ts;
        int st = __atomic_load_n(&tr.state, __ATOMIC_ACQUIRE);

        if (st == T_DONE)
            break;
        if (st == T_PENDING && grt_now_us() >= deadline) {
            int expect = T_PENDING;

            if (__atomic_compare_exchange_n(&tr.state, &expect, T_CANCELLED, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                cancelled = 1;
                break;
            }
            continue; /* the main thread claimed it meanwhile */
        }
        pthread_mutex_unlock(&tr.lock);
        if (idle)
            idle(idle_arg);
        /* Wake the main thread out of poll/accept/read (EINTR). Not while it
         * runs the patch's init: that may do I/O of its own. */
        if (__atomic_load_n(&tr.state, __ATOMIC_ACQUIRE) == T_PENDING)
            pthread_kill(grt_main_thread(), SIGURG);
        pthread_mutex_lock(&tr.lock);
        if (__atomic_load_n(&tr.state, __ATOMIC_ACQUIRE) == T_DONE)
            break;
        clock_gettime(CLOCK_REALTIME, &ts);
        {
            /* One tick, or less if the deadline comes first. */
            uint64_t now = grt_now_us();
            long wait_ns = GRT_TICK_MS * 1000000L;

            if (now < deadline && (deadline - now) * 1000u < (uint64_t)wait_ns)
                wait_ns = (long)((deadline - now) * 1000u);
            else if (now >= deadline)
                wait_ns = 1000000L; /* past the deadline: the main thread holds the patch */
            ts.tv_nsec += wait_ns;
        }
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&tr.done, &tr.lock, &ts);
    }
    if (cancelled) {
        __atomic_store_n(&grt_pending, 0, __ATOMIC_RELEASE);
        timeout_message(timeout_ms, &res->refusal);
    } else {
        *res = tr.result;
    }
    tr.patch = NULL;
    pthread_mutex_unlock(&tr.lock);
    __atomic_store_n(&tr.state, T_IDLE, __ATOMIC_RELEASE);

    if (!res->applied)
        grt_loader_close(l); /* cancelled or init failed: nothing refers to it */
}

void grt_transition_forget(void)
{
    pthread_mutex_init(&tr.lock, NULL);
    pthread_cond_init(&tr.done, NULL);
    tr.patch = NULL;
    tr.nreached = 0;
    tr.others = 0;
    __atomic_store_n(&tr.state, T_IDLE, __ATOMIC_RELAXED);
    __atomic_store_n(&grt_pending, 0, __ATOMIC_RELAXED);
}

/*
 * The update point at the head of an extracted loop body (see
 * lib/compile/rewrite-unit.ts, loop extraction): returns 1 when a patch was
 * applied here, and the caller then restarts the iteration, so that nothing
 * of the old body runs after the update.
 */
int grt_update_point_restart(unsigned point_id)
{
    grt_version before, after;

    grt_version_get(&before);
    grt_update_point(point_id);
    grt_version_get(&after);
    return after.sequence != before.sequence;
}
