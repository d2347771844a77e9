/*
 * transition.h - handing a loaded patch to the program's threads (private).
 *
 * THREAD SAFETY: grt_transition_run() runs in the control thread, which
 * owns the patch until the last thread of the program to park at a safe
 * update point claims it (PENDING -> APPLYING). The state machine is
 *
 *   IDLE -> PENDING -> APPLYING -> DONE      (the last thread to park)
 *           PENDING -> CANCELLED             (timeout or abandoned; control thread)
 *
 * every change under the transition's lock, and only the control thread
 * leaves DONE/CANCELLED (back to IDLE).
 */
#ifndef GRT_TRANSITION_H
#define GRT_TRANSITION_H

#include <stdint.h>

#include "core.h"
#include "loader.h"

typedef struct grt_result {
    int applied;             /* 1: committed; 0: refused (see refusal) */
    uint64_t pause_us;       /* init and commit, every thread of the program parked */
    uint64_t waited_us;      /* from the first thread parking to the end of the commit */
    unsigned threads;        /* threads of the program parked for it */
    unsigned point;          /* the point of the thread that applied it */
    grt_refusal refusal;
} grt_result;

/* Called by the control thread between waits, to serve other clients.
 * Returns nonzero when the requester has gone: the update is then cancelled
 * if no thread has claimed it. */
typedef int (*grt_idle_fn)(void *arg);

/* Makes the patch pending, wakes the program's threads with SIGURG every
 * 50 ms and waits at most timeout_ms (and not past deadline_us on the
 * monotonic clock, when nonzero) for all of them to park at safe update
 * points. On return the result says what happened; a patch that was not
 * applied has been dlclose'd. */
void grt_transition_run(grt_loaded *l, uint64_t sequence, unsigned timeout_ms, uint64_t deadline_us,
                        grt_idle_fn idle, void *idle_arg, grt_result *res);

/* A thread of the program in (or back from) a blocking call: when a patch
 * is pending, it parks there if the patch lists the function it waits in as
 * safe (blocked.c). errno is the caller's to keep. */
void grt_blocked_call(void);

/* After fork(), in the child: drop any transition inherited from the parent. */
void grt_transition_forget(void);

#endif /* GRT_TRANSITION_H */
