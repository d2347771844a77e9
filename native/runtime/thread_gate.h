/*
 * thread_gate.h - the threads that run the program's code (thread_gate.c).
 *
 * THREAD SAFETY: all of these may be called from any thread.
 */
#ifndef GRT_THREAD_GATE_H
#define GRT_THREAD_GATE_H

#include <pthread.h>

/* The real pthread_create, for the runtime's own threads (not counted). */
int grt_real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);

/* Stops the program from starting threads and returns how many it has
 * running besides the main thread. Pair with grt_threads_release(). */
int grt_threads_hold(void);
void grt_threads_release(void);

#endif /* GRT_THREAD_GATE_H */
