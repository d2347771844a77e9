/*
 * thread_gate.h - the threads that run the program's code (thread_gate.c).
 *
 * THREAD SAFETY: all of these may be called from any thread.
 */
#ifndef GRT_THREAD_GATE_H
#define GRT_THREAD_GATE_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

/* The real pthread_create, for the runtime's own threads (not counted). */
int grt_real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);

/* One thread of the program. The fields after `tid` describe where it was
 * during the update in flight (transition.c writes them under its lock; the
 * control thread reads them there for a timeout's message). */
typedef struct grt_thread {
    struct grt_thread *next;
    pthread_t self;
    pid_t tid;
    void *entry; /* its start routine; NULL for the main thread */
    int parked;  /* waiting at an update point for the others (atomic) */
    unsigned long round; /* the update round the fields below belong to */
    struct {
        unsigned point;
        int why;             /* transition.c's WHY_* */
        const char *fn;      /* for a blocked thread: the function it waits in */
        unsigned long count; /* how many times */
    } seen[4];               /* the distinct points it reached in that round */
    int nseen;
    unsigned long more;      /* reached points that did not fit */
} grt_thread;

/* The calling thread's record; NULL for a thread the program did not start
 * through pthread_create (e.g. the runtime's control thread). */
grt_thread *grt_thread_self(void);

/* How many threads of the program are alive, the main thread included. */
int grt_threads_live(void);

/* Calls fn for every live thread of the program, under the registry's lock
 * (fn must not create or end threads, nor take a lock the registry's owner
 * may hold while creating one). */
void grt_threads_each(void (*fn)(grt_thread *t, void *arg), void *arg);

/* A thread of the program ended: transition.c re-checks its barrier. */
void grt_transition_thread_gone(void);

/* Names a thread's start routine in buf: its symbol if the loader knows one
 * at exactly that address, else its offset in the file that holds it. */
void grt_thread_describe(const grt_thread *t, char *buf, size_t size);

/* In the constructor, before any other thread. */
void grt_threads_init(void);

#endif /* GRT_THREAD_GATE_H */
