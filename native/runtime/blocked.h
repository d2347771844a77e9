/*
 * blocked.h - where in the program a thread waits (blocked.c).
 *
 * THREAD SAFETY: grt_blocked_commit() runs with every thread of the program
 * parked (the commit); grt_blocked_where() from any thread of the program,
 * during an update, under the transition's lock.
 */
#ifndef GRT_BLOCKED_H
#define GRT_BLOCKED_H

#include "graft_abi.h"

enum { GRT_BLOCKED_UNKNOWN = 0, GRT_BLOCKED_AT = 1, GRT_BLOCKED_STALE = 2, GRT_BLOCKED_SIGNAL = 3 };

#define GRT_BLOCKED_MAX 16

/* The functions of the program on a waiting thread's stack, innermost first. */
typedef struct grt_blocked_frames {
    int n;
    const grt_fn_range *fn[GRT_BLOCKED_MAX];
} grt_blocked_frames;

/* The functions of the program on the calling thread's stack, to its start.
 * Returns GRT_BLOCKED_AT with w filled; GRT_BLOCKED_STALE when that code is
 * a body a later patch replaced (the version data no longer describes it);
 * GRT_BLOCKED_SIGNAL when the wait is in a signal handler (the code it
 * interrupted could be anywhere); GRT_BLOCKED_UNKNOWN when no function of
 * the program is on the stack, or the walk does not reach the thread's start
 * (main's frame, or thread_gate.c's trampoline). */
int grt_blocked_where(grt_blocked_frames *w, int main_thread);

/* Whether patch p lists every function in w as safe to be blocked in. */
int grt_blocked_all_safe(const grt_patch *p, const grt_blocked_frames *w);

/* fn's uname, when its entry carries one (main and thread entries), else NULL. */
const char *grt_blocked_name(const grt_fn_range *fn);

/* Whether patch p lists fn as safe to be blocked in. */
int grt_blocked_safe(const grt_patch *p, const grt_fn_range *fn);

/* At the commit of p: its functions become the current code of their ids. */
void grt_blocked_commit(const grt_patch *p);

/* In the constructor: learns the address signal handlers return to. */
void grt_blocked_init(void);

#endif /* GRT_BLOCKED_H */
