/*
 * transition.c - the update point: moving every thread of the program to a
 * loaded patch, as a barrier.
 *
 * The control thread has loaded and verified the patch. It publishes it
 * (state PENDING, a new round, then grt_pending = 1) and wakes every thread of
 * the program that is not yet waiting with SIGURG every 50 ms. A thread that
 * reaches an update point the patch lists as unsafe (or, on the main thread,
 * a point under a held call) records where it was and goes on. At a safe
 * point it parks: it blocks its signals, counts itself and waits. The thread
 * that finds every live thread of the program parked claims the patch
 * (PENDING -> APPLYING), runs the patch's init and, if that succeeds, commits
 * (patch.c) and updates the running version, with every other thread parked
 * and signals blocked in all of them: no handler sees half-switched slots.
 * Then it ends the round (DONE) and all go on, in the new code. On timeout the
 * control thread cancels (PENDING -> CANCELLED), which it can only do before
 * a thread claimed the patch; the parked threads go on in the old code, and
 * the reply says where each thread was. Only the control thread dlcloses, and
 * only after CANCELLED or DONE, so no thread runs code or reads data of a
 * closed patch.
 *
 * An update point is safe on any thread when it is safe at all: the analysis
 * of a point (lib/analysis/safety.ts) takes every possible caller of its
 * function into account, whichever thread it runs on.
 *
 * grt_pending is also set without a patch: by a forked child (to open its
 * socket) and by the SIGURG handler (to start the lazy control thread). The
 * slow path does that work and then settles grt_pending back to 0 unless
 * something is still to do (grt_settle_pending), so that update points do
 * not take the slow path forever.
 *
 * THREAD SAFETY: tr.state is written under tr.lock and also read without it
 * (atomically) on the slow path's first look; everything else in tr, and the
 * round fields of the thread records (thread_gate.h), is guarded by tr.lock.
 * Lock order: tr.lock, then thread_gate.c's registry lock. The publish
 * (state PENDING, then grt_pending = 1) and the settle (grt_pending = 0, then
 * a look at the state) are seq_cst: see grt_settle_pending().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GRAFT_UPDATEABLE
#include "graft.h"

#include "blocked.h"
#include "control.h"
#include "core.h"
#include "loader.h"
#include "patch.h"
#include "thread_gate.h"
#include "transition.h"

int grt_pending;
int grt_hold;

enum { T_IDLE, T_PENDING, T_APPLYING, T_DONE, T_CANCELLED };
enum { WHY_NONE, WHY_UNSAFE, WHY_HELD, WHY_PARKED, WHY_BLOCKED_UNSAFE, WHY_BLOCKED_UNKNOWN };

/* The point id a thread blocked in a call arrives at (no update point is 0). */
#define BLOCKED_POINT 0u

#define GRT_TICK_MS 50

static struct {
    int state;
    const grt_patch *patch;
    uint64_t sequence;
    unsigned long round; /* one per published patch */
    int parked;          /* threads waiting at a safe point in this round */
    uint64_t first_parked_us;
    pthread_mutex_t lock;
    pthread_cond_t done;     /* the control thread waits on it */
    pthread_cond_t released; /* parked threads wait on it */
    grt_result result;
} tr = {
    .state = T_IDLE,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .released = PTHREAD_COND_INITIALIZER,
};

static int point_is_unsafe(const grt_patch *p, unsigned id)
{
    size_t i;

    for (i = 0; i < p->nunsafe; i++)
        if (p->unsafe_points[i] == id)
            return 1;
    return 0;
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
    __atomic_store_n(&grt_pending, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&tr.state, __ATOMIC_SEQ_CST) == T_PENDING || grt_control_wanted())
        __atomic_store_n(&grt_pending, 1, __ATOMIC_SEQ_CST);
}

/* Under tr.lock: where self has been in this round (fn: the function a
 * blocked thread waits in, else NULL). */
static void note(grt_thread *self, unsigned point, int why, const char *fn)
{
    int i;

    if (self->round != tr.round) {
        self->round = tr.round;
        self->nseen = 0;
        self->more = 0;
    }
    for (i = 0; i < self->nseen; i++)
        if (self->seen[i].point == point && self->seen[i].why == why && self->seen[i].fn == fn)
            break;
    if (i == self->nseen) {
        if (i == (int)(sizeof(self->seen) / sizeof(self->seen[0]))) {
            self->more++;
            return;
        }
        if (why == WHY_BLOCKED_UNSAFE || why == WHY_BLOCKED_UNKNOWN)
            grt_log("blocked in %s, %s: waiting for an update point", fn ? fn : "a call",
                    why == WHY_BLOCKED_UNSAFE ? "unsafe for the pending patch" : "not known to be safe");
        else if (why != WHY_PARKED)
            grt_log("point %u %s: waiting for the next one", point,
                    why == WHY_HELD ? "reached under a held call of main" : "unsafe for the pending patch");
        self->seen[i].point = point;
        self->seen[i].fn = fn;
        self->seen[i].why = why;
        self->seen[i].count = 0;
        self->nseen++;
    }
    self->seen[i].count++;
}

/* Signals a parked thread keeps blocked: all but those a fault raises, which
 * cannot wait (a blocked SIGSEGV from a fault kills the process anyway). */
static void park_mask(sigset_t *set)
{
    sigfillset(set);
    sigdelset(set, SIGSEGV);
    sigdelset(set, SIGBUS);
    sigdelset(set, SIGILL);
    sigdelset(set, SIGFPE);
    sigdelset(set, SIGTRAP);
    sigdelset(set, SIGABRT);
}

/* The last thread to park: with every other thread of the program parked,
 * the patch's init, then the commit. Called and returns with tr.lock held. */
static void apply_patch(const grt_patch *p, unsigned point_id)
{
    grt_result res;
    const char *msg = NULL;
    uint64_t t0 = grt_now_us();
    int err;

    memset(&res, 0, sizeof(res));
    res.point = point_id;
    res.threads = (unsigned)tr.parked;
    pthread_mutex_unlock(&tr.lock);

    /* Phase 1: the patch's own preparation. Nothing has switched yet. */
    err = p->init ? p->init(&msg) : 0;
    if (err != 0) {
        /* The message lives in the patch, which is about to be closed:
         * grt_refuse copies it. */
        grt_refuse(&res.refusal, err, "init-failed", "patch init returned %d (%s): %s", err,
                   err < 0 ? strerror(-err) : "?", msg ? msg : "no message");
    } else {
        /* Phase 2: the commit. Everything was verified: it only stores. */
        grt_patch_commit(p);
        grt_blocked_commit(p);
        grt_version_commit(p->target_digest, tr.sequence);
        res.applied = 1;
    }
    __atomic_store_n(&grt_pending, 0, __ATOMIC_RELEASE);
    res.pause_us = grt_now_us() - t0;

    pthread_mutex_lock(&tr.lock);
    res.waited_us = grt_now_us() - tr.first_parked_us;
    if (res.applied)
        grt_log("applied at point %u in %" PRIu64 " us, %u thread%s parked", point_id, res.pause_us, res.threads,
                res.threads == 1 ? "" : "s");
    tr.result = res;
    __atomic_store_n(&tr.state, T_DONE, __ATOMIC_RELEASE);
    pthread_cond_signal(&tr.done);
    /* The parked threads go on now, not when the control thread wakes. */
    pthread_cond_broadcast(&tr.released);
}

/* For messages: the innermost function of a waiting thread that has a name
 * (main, thread entries), else a description; NULL when none was found. */
static const char *blocked_name(int where, const grt_blocked_frames *w)
{
    int i;

    if (where != GRT_BLOCKED_AT)
        return NULL;
    for (i = 0; i < w->n; i++)
        if (grt_blocked_name(w->fn[i]))
            return grt_blocked_name(w->fn[i]);
    return "a function of the program";
}

/*
 * The slow path: a patch may be pending. `blocked` is nonzero for a thread
 * in a blocking call rather than at an update point (blocking.c): it parks
 * when the innermost function of the program on its stack is one the patch
 * lists as safe to be blocked in (blocked.c).
 */
static void arrive(unsigned point_id, int blocked)
{
    const grt_patch *p;
    grt_thread *self;
    grt_blocked_frames frames;
    sigset_t block, old;
    unsigned long round;
    int why, where = GRT_BLOCKED_UNKNOWN;

    /* The rest of a wake-up is an update point's to settle: a blocking call
     * only starts a wanted control thread, or parks for a pending patch. A
     * forked child opens its socket at an update point, never in a call: the
     * child of a server that dropped its privileges (vsftpd's) would report
     * the failure on whatever its stderr is, a client's socket. */
    if (blocked) {
        if (grt_control_wanted()) {
            grt_control_poke();
            return;
        }
        if (__atomic_load_n(&tr.state, __ATOMIC_ACQUIRE) != T_PENDING || !(self = grt_thread_self()))
            return;
    } else {
        /* A forked child opens its socket here. */
        if (grt_core_fork_poke()) {
            grt_settle_pending();
            return;
        }
        /* A client asked (SIGURG): start the control thread, apply nothing.
         * The thread accepts the waiting request; an apply publishes a
         * patch, which a later point takes. */
        if (grt_control_poke()) {
            grt_settle_pending();
            return;
        }
        self = grt_thread_self();
        /* Not PENDING: nothing published (a spurious wake-up), the round is
         * ending, or the patch's own init reached a point (APPLYING). */
        if (!self || __atomic_load_n(&tr.state, __ATOMIC_ACQUIRE) != T_PENDING) {
            grt_settle_pending();
            return;
        }
    }
    /* Outside the lock: the unwinder takes its own. */
    if (blocked)
        where = grt_blocked_where(&frames, !self->entry);
    pthread_mutex_lock(&tr.lock);
    if (tr.state != T_PENDING) {
        pthread_mutex_unlock(&tr.lock);
        if (!blocked)
            grt_settle_pending();
        return;
    }
    p = tr.patch;
    if (!self->entry && grt_hold)
        why = WHY_HELD;
    else if (!blocked)
        why = point_is_unsafe(p, point_id) ? WHY_UNSAFE : WHY_PARKED;
    else if (where == GRT_BLOCKED_AT)
        why = grt_blocked_all_safe(p, &frames) ? WHY_PARKED : WHY_BLOCKED_UNSAFE;
    else
        why = WHY_BLOCKED_UNKNOWN;
    note(self, point_id, why, blocked ? blocked_name(where, &frames) : NULL);
    if (why != WHY_PARKED) {
        pthread_mutex_unlock(&tr.lock);
        return;
    }
    /* Park. Signals first: by the time the last thread arrives, no thread of
     * the program can run a handler (old code) across the switch. */
    park_mask(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    if (tr.parked++ == 0)
        tr.first_parked_us = grt_now_us();
    __atomic_store_n(&self->parked, 1, __ATOMIC_RELAXED);
    round = tr.round;
    for (;;) {
        if (tr.round != round)
            break;
        if (tr.state == T_PENDING && tr.parked >= grt_threads_live()) {
            __atomic_store_n(&tr.state, T_APPLYING, __ATOMIC_RELAXED);
            apply_patch(p, point_id);
            break;
        }
        if (tr.state != T_PENDING && tr.state != T_APPLYING)
            break; /* DONE or CANCELLED */
        pthread_cond_wait(&tr.released, &tr.lock);
    }
    __atomic_store_n(&self->parked, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&tr.lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void grt_update_point(unsigned point_id)
{
    /* Acquire: pairs with the (seq_cst, so also release) store of
     * grt_pending in grt_transition_run(). */
    if (!__atomic_load_n(&grt_pending, __ATOMIC_ACQUIRE))
        return;
    arrive(point_id, 0);
}

void grt_blocked_call(void)
{
    if (!__atomic_load_n(&grt_pending, __ATOMIC_ACQUIRE))
        return;
    arrive(BLOCKED_POINT, 1);
}

void grt_transition_thread_gone(void)
{
    /* The barrier may be complete without it: let a parked thread see. */
    pthread_mutex_lock(&tr.lock);
    if (tr.state == T_PENDING)
        pthread_cond_broadcast(&tr.released);
    pthread_mutex_unlock(&tr.lock);
}

/* Ends the round: parked threads go on (in the new code if it applied). */
static void end_round(void)
{
    tr.round++;
    tr.parked = 0;
    pthread_cond_broadcast(&tr.released);
}

static void wake(grt_thread *t, void *arg)
{
    (void)arg;
    /* tid is 0 until the thread runs (the creator links its record first). */
    if (!__atomic_load_n(&t->parked, __ATOMIC_RELAXED) && __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE) != 0)
        pthread_kill(t->self, SIGURG);
}

struct where {
    char *buf;
    size_t size, off;
    unsigned long round;
    int n;
};

static void put(struct where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct where *w, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->off >= w->size)
        return;
    va_start(ap, fmt);
    n = vsnprintf(w->buf + w->off, w->size - w->off, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->off += (size_t)n;
}

/* "; thread 12 (started at worker): waiting at point 4", or the points it
 * reached and why each was not enough, or that it reached none. */
static void describe(grt_thread *t, void *arg)
{
    struct where *w = arg;
    char who[160];
    int i, parked = 0;

    grt_thread_describe(t, who, sizeof(who));
    put(w, "%s %s:", w->n++ ? ";" : "", who);
    if (t->round != w->round || t->nseen == 0) {
        put(w, " reached no update point");
        return;
    }
    for (i = 0; i < t->nseen; i++)
        if (t->seen[i].why == WHY_PARKED && __atomic_load_n(&t->parked, __ATOMIC_RELAXED)) {
            if (t->seen[i].point == BLOCKED_POINT)
                put(w, " waiting blocked in %s", t->seen[i].fn ? t->seen[i].fn : "a call");
            else
                put(w, " waiting at point %u", t->seen[i].point);
            parked = 1;
        }
    for (i = 0; i < t->nseen; i++) {
        const char *sep = parked || i ? "," : "";

        if (t->seen[i].why == WHY_BLOCKED_UNSAFE || t->seen[i].why == WHY_BLOCKED_UNKNOWN)
            put(w, "%s blocked in %s (%s)", sep, t->seen[i].fn ? t->seen[i].fn : "a call",
                t->seen[i].why == WHY_BLOCKED_UNSAFE ? "unsafe for this patch"
                                                     : "not known to be safe: a replaced body, a signal handler or no function of the program");
        else if (t->seen[i].why != WHY_PARKED)
            put(w, "%s point %u (%s, %lu time%s)", sep, t->seen[i].point,
                t->seen[i].why == WHY_HELD ? "under a held call of main" : "unsafe for this patch", t->seen[i].count,
                t->seen[i].count == 1 ? "" : "s");
    }
    if (t->more)
        put(w, ", and %lu more", t->more);
}

/* Under tr.lock, after the cancel: where each thread was. */
static void timeout_message(unsigned timeout_ms, grt_refusal *r)
{
    char buf[sizeof(r->msg)];
    struct where w = { buf, sizeof(buf), 0, tr.round, 0 };
    int n, live = grt_threads_live();

    n = snprintf(buf, sizeof(buf), "not every thread reached a safe update point within %u ms (%d of %d waiting);",
                 timeout_ms, tr.parked, live);
    w.off = n > 0 ? (size_t)n : 0;
    grt_threads_each(describe, &w);
    if (w.off >= sizeof(buf))
        memcpy(buf + sizeof(buf) - 4, "...", 4);
    if (!grt_sigurg_ours() && w.off < sizeof(buf))
        snprintf(buf + w.off, sizeof(buf) - w.off, "; the program replaced the SIGURG handler, so a blocked thread is not woken");
    grt_refuse(r, -ETIMEDOUT, "timeout", "%s", buf);
}

void grt_transition_run(grt_loaded *l, uint64_t sequence, unsigned timeout_ms, uint64_t deadline_us,
                        grt_idle_fn idle, void *idle_arg, grt_result *res)
{
    uint64_t deadline = grt_now_us() + (uint64_t)timeout_ms * 1000u;
    int cancelled = 0, abandoned = 0;

    if (deadline_us && deadline_us < deadline)
        deadline = deadline_us;
    memset(res, 0, sizeof(*res));
    pthread_mutex_lock(&tr.lock);
    tr.patch = l->patch;
    tr.sequence = sequence;
    tr.round++;
    tr.parked = 0;
    memset(&tr.result, 0, sizeof(tr.result));
    /* Release: a thread that sees PENDING sees patch and sequence. Seq_cst
     * (which includes release) and in this order: pairs with the
     * store-then-load of grt_settle_pending(), which must not clear this
     * wake-up unseen. */
    __atomic_store_n(&tr.state, T_PENDING, __ATOMIC_SEQ_CST);
    __atomic_store_n(&grt_pending, 1, __ATOMIC_SEQ_CST);

    for (;;) {
        struct timespec ts;
        uint64_t now;
        long wait_ns;

        if (tr.state == T_DONE)
            break;
        now = grt_now_us();
        if (tr.state == T_PENDING && (now >= deadline || abandoned)) {
            __atomic_store_n(&tr.state, T_CANCELLED, __ATOMIC_RELEASE);
            cancelled = 1;
            break;
        }
        pthread_mutex_unlock(&tr.lock);
        if (idle && idle(idle_arg) != 0)
            abandoned = 1;
        /* Wake the threads out of poll/accept/read (EINTR). Not while the
         * patch's init runs: that may do I/O of its own. */
        if (__atomic_load_n(&tr.state, __ATOMIC_ACQUIRE) == T_PENDING)
            grt_threads_each(wake, NULL);
        pthread_mutex_lock(&tr.lock);
        if (tr.state == T_DONE)
            break;
        if (abandoned && tr.state == T_PENDING)
            continue; /* cancel at the top */
        clock_gettime(CLOCK_REALTIME, &ts);
        /* One tick, or less if the deadline comes first; past the deadline a
         * thread is applying: wait for it. */
        now = grt_now_us();
        wait_ns = GRT_TICK_MS * 1000000L;
        if (now < deadline && (deadline - now) * 1000u < (uint64_t)wait_ns)
            wait_ns = (long)((deadline - now) * 1000u);
        else if (now >= deadline)
            wait_ns = 1000000L;
        ts.tv_nsec += wait_ns;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&tr.done, &tr.lock, &ts);
    }
    if (cancelled) {
        __atomic_store_n(&grt_pending, 0, __ATOMIC_RELEASE);
        if (abandoned)
            grt_refuse(&res->refusal, -ECANCELED, "abandoned", "the requester closed its connection before an update point: nothing applied");
        else
            timeout_message(timeout_ms, &res->refusal);
    } else {
        *res = tr.result;
    }
    end_round();
    tr.patch = NULL;
    __atomic_store_n(&tr.state, T_IDLE, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&tr.lock);

    if (!res->applied)
        grt_loader_close(l); /* cancelled or init failed: nothing refers to it */
}

void grt_transition_forget(void)
{
    pthread_mutex_init(&tr.lock, NULL);
    pthread_cond_init(&tr.done, NULL);
    pthread_cond_init(&tr.released, NULL);
    tr.patch = NULL;
    tr.parked = 0;
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
