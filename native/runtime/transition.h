/*
 * transition.h - handing a loaded patch to the main thread (private).
 *
 * THREAD SAFETY: grt_transition_run() runs in the control thread, which
 * owns the patch until the main thread claims it at an update point (CAS
 * PENDING -> CHECKING). The state machine is
 *
 *   IDLE -> PENDING -> CHECKING -> PENDING        (point unsafe for the patch)
 *                      CHECKING -> APPLYING -> DONE
 *           PENDING -> CANCELLED                  (timeout, control thread)
 *
 * and only the control thread leaves DONE/CANCELLED (back to IDLE).
 */
#ifndef GRT_TRANSITION_H
#define GRT_TRANSITION_H

#include <stdint.h>

#include "core.h"
#include "loader.h"

typedef struct grt_result {
    int applied;             /* 1: committed; 0: refused (see refusal) */
    uint64_t pause_us;
    unsigned point;
    grt_refusal refusal;
} grt_result;

/* Called by the control thread between waits, to serve other clients. */
typedef void (*grt_idle_fn)(void *arg);

/* Makes the patch pending, wakes the main thread with SIGURG every 50 ms and
 * waits at most timeout_ms for a safe update point. On return the result says
 * what happened; a patch that was not applied has been dlclose'd. */
void grt_transition_run(grt_loaded *l, uint64_t sequence, unsigned timeout_ms,
                        grt_idle_fn idle, void *idle_arg, grt_result *res);

/* After fork(), in the child: drop any transition inherited from the parent. */
void grt_transition_forget(void);

#endif /* GRT_TRANSITION_H */
