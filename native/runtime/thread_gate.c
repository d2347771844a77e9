/*
 * thread_gate.c - the threads that run the program's code.
 *
 * Updates are taken on the main thread only (transition.c); another thread
 * running the program's code while the slots switch would run old code on
 * data of the new layout. Until updates act as a barrier for every thread,
 * an update is refused while any thread the program started is alive.
 *
 * The runtime sees them by defining pthread_create: the executable and the
 * libraries it loads resolve the name to this definition (libgraft comes
 * before libc in the link order), which counts the thread and starts it
 * through a trampoline that uncounts it when its start routine returns, exits
 * or is cancelled. The runtime's own control thread is started with the real
 * pthread_create and is not counted.
 *
 * THREAD SAFETY: the count is atomic. A read-write lock gates creation: the
 * applying thread holds it for writing from its check to the commit, so no
 * thread of the program starts in between (it starts after, in the new code).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "thread_gate.h"

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static int live;
static pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

struct start {
    void *(*fn)(void *);
    void *arg;
};

/* A forked child has only the thread that forked. */
static void after_fork_child(void)
{
    __atomic_store_n(&live, 0, __ATOMIC_RELAXED);
}

static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static void uncount(void *unused)
{
    (void)unused;
    __atomic_fetch_sub(&live, 1, __ATOMIC_RELEASE);
}

static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    void *ret;

    free(p);
    pthread_cleanup_push(uncount, NULL);
    ret = s.fn(s.arg);
    pthread_cleanup_pop(1);
    return ret;
}

int grt_real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    static create_fn real;
    create_fn f = __atomic_load_n(&real, __ATOMIC_ACQUIRE);

    if (!f) {
        *(void **)&f = dlsym(RTLD_NEXT, "pthread_create");
        if (!f)
            return EAGAIN;
        __atomic_store_n(&real, f, __ATOMIC_RELEASE);
    }
    return f(t, a, fn, arg);
}

int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    struct start *s = malloc(sizeof(*s));
    int err;

    if (!s)
        return EAGAIN;
    pthread_once(&fork_once, install_fork_handler);
    s->fn = fn;
    s->arg = arg;
    pthread_rwlock_rdlock(&gate);
    __atomic_fetch_add(&live, 1, __ATOMIC_ACQ_REL);
    err = grt_real_pthread_create(t, a, trampoline, s);
    if (err != 0) {
        __atomic_fetch_sub(&live, 1, __ATOMIC_RELEASE);
        free(s);
    }
    pthread_rwlock_unlock(&gate);
    return err;
}

int grt_threads_hold(void)
{
    pthread_rwlock_wrlock(&gate);
    return __atomic_load_n(&live, __ATOMIC_ACQUIRE);
}

void grt_threads_release(void)
{
    pthread_rwlock_unlock(&gate);
}
