/*
 * graft.h - the one header a program includes to be updateable by Graft.
 *
 * Mark update points with GRAFT_UPDATE_POINT(), typically once per turn of
 * the event loop, outside request handlers. A stock build (plain gcc, no
 * GRAFT_UPDATEABLE) compiles the macro to nothing, so the same source builds
 * both ways.
 *
 * THREAD SAFETY: update points may be reached from one thread (the thread that
 * ran main()); see native/runtime/README.md, Limitations.
 */
#ifndef GRAFT_H
#define GRAFT_H

#ifdef GRAFT_UPDATEABLE
/* Set by the runtime's control thread when a patch is waiting. The fast path
 * of an update point is this one relaxed load and one branch. */
extern int grt_pending;
/* Slow path. The argument is the point's id: `graft compile` rewrites the 0u
 * below into the id it recorded in the version data. */
void grt_update_point(unsigned point_id);
#define GRAFT_UPDATE_POINT()                                                   \
    do {                                                                       \
        if (__builtin_expect(__atomic_load_n(&grt_pending, __ATOMIC_RELAXED), 0)) \
            grt_update_point(0u);                                              \
    } while (0)
#else
#define GRAFT_UPDATE_POINT() ((void)0)
#endif

#endif /* GRAFT_H */
