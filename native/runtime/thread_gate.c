/*
 * thread_gate.c - the threads that run the program's code.
 *
 * An update is a barrier for every thread of the program (transition.c): it
 * happens only when each of them waits at an update point that is safe for
 * the patch. The runtime knows them by defining pthread_create: the
 * executable and the libraries it loads resolve the name to this definition
 * (libgraft comes before libc in the link order), which links a record of the
 * new thread into the registry before the thread exists and starts it
 * through a trampoline that unlinks it when its start routine returns, exits
 * or is cancelled. The creator links the record, so a thread that is being
 * created is already counted: the barrier cannot complete without it. The
 * runtime's own control thread is started with the real pthread_create and is
 * not counted.
 *
 * THREAD SAFETY: the list is guarded by reg_lock; `live` (its length) is also
 * read without it, atomically. A record's `parked` is atomic; its round
 * fields are transition.c's, guarded by that file's lock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thread_gate.h"

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static grt_thread main_rec;
static grt_thread *threads;
static int live;

/* Initial-exec: libgraft is loaded with the program, never by dlopen. */
static __thread grt_thread *me __attribute__((tls_model("initial-exec")));

struct start {
    void *(*fn)(void *);
    void *arg;
    grt_thread *rec;
};

static void link_rec(grt_thread *t)
{
    pthread_mutex_lock(&reg_lock);
    t->next = threads;
    threads = t;
    __atomic_store_n(&live, live + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&reg_lock);
}

static void unlink_rec(grt_thread *t)
{
    grt_thread **pp;

    pthread_mutex_lock(&reg_lock);
    for (pp = &threads; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            __atomic_store_n(&live, live - 1, __ATOMIC_RELEASE);
            break;
        }
    pthread_mutex_unlock(&reg_lock);
}

static void before_fork(void)
{
    pthread_mutex_lock(&reg_lock);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&reg_lock);
}

/* A forked child has only the thread that forked. The others' records are
 * left to leak: their memory may be in any state. */
static void after_fork_child(void)
{
    grt_thread *t = me ? me : &main_rec;

    pthread_mutex_init(&reg_lock, NULL);
    t->next = NULL;
    t->self = pthread_self();
    t->tid = gettid();
    __atomic_store_n(&t->parked, 0, __ATOMIC_RELAXED);
    threads = t;
    me = t;
    __atomic_store_n(&live, 1, __ATOMIC_RELAXED);
}

void grt_threads_init(void)
{
    main_rec.self = pthread_self();
    main_rec.tid = gettid();
    me = &main_rec;
    link_rec(&main_rec);
    if (pthread_atfork(before_fork, after_fork_parent, after_fork_child) != 0) {
        /* Without the handler a child would count its parent's threads and
         * never complete an update: nothing worse. */
    }
}

static void gone(void *p)
{
    grt_thread *t = p;

    unlink_rec(t);
    me = NULL;
    free(t);
    grt_transition_thread_gone();
}

/* In a section of its own: blocked.c knows a thread's stack is walked to
 * its start when it meets a return address in here. */
__attribute__((noinline, section("grt_trampoline_text"))) static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    void *ret;

    free(p);
    s.rec->self = pthread_self();
    /* Release: whoever sees the tid (transition.c's wake-up) sees self. */
    __atomic_store_n(&s.rec->tid, gettid(), __ATOMIC_RELEASE);
    me = s.rec;
    pthread_cleanup_push(gone, s.rec);
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
    grt_thread *rec = calloc(1, sizeof(*rec));
    int err;

    if (!s || !rec) {
        free(s);
        free(rec);
        return EAGAIN;
    }
    s->fn = fn;
    s->arg = arg;
    s->rec = rec;
    *(void **)&rec->entry = *(void **)&fn;
    link_rec(rec);
    err = grt_real_pthread_create(t, a, trampoline, s);
    if (err != 0) {
        unlink_rec(rec);
        free(rec);
        free(s);
        grt_transition_thread_gone();
    }
    return err;
}

grt_thread *grt_thread_self(void)
{
    return me;
}

int grt_threads_live(void)
{
    return __atomic_load_n(&live, __ATOMIC_ACQUIRE);
}

void grt_threads_each(void (*fn)(grt_thread *t, void *arg), void *arg)
{
    grt_thread *t;

    pthread_mutex_lock(&reg_lock);
    for (t = threads; t; t = t->next)
        fn(t, arg);
    pthread_mutex_unlock(&reg_lock);
}

void grt_thread_describe(const grt_thread *t, char *buf, size_t size)
{
    Dl_info info;

    if (!t->entry) {
        snprintf(buf, size, "main thread (tid %ld)", (long)t->tid);
        return;
    }
    /* Only an exact match: the nearest symbol below an address of a program
     * that exports few names would be some other function's. */
    if (!dladdr(t->entry, &info))
        snprintf(buf, size, "thread %ld (started at %p)", (long)t->tid, t->entry);
    else if (info.dli_sname && info.dli_saddr == t->entry)
        snprintf(buf, size, "thread %ld (started at %s)", (long)t->tid, info.dli_sname);
    else {
        const char *file = info.dli_fname ? info.dli_fname : "?";

        if (strrchr(file, '/'))
            file = strrchr(file, '/') + 1;
        snprintf(buf, size, "thread %ld (started at %s+0x%lx)", (long)t->tid, file,
                 (unsigned long)((uintptr_t)t->entry - (uintptr_t)info.dli_fbase));
    }
}
