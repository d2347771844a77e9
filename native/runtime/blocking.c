/*
 * blocking.c - the calls a program waits in, seen by the runtime.
 *
 * The control thread is lazy (control.c): it starts at the first update
 * point after a client's SIGURG. An event-driven program whose update point
 * is in a handler never gets there while it is idle: its main thread sits in
 * epoll_wait inside a library (libevent), and the signal's EINTR only makes
 * the library wait again. So the runtime defines the calls programs and
 * their libraries block in; each calls the C library's and, when a client's
 * request is waiting for the control thread, starts it on the way out, in
 * an ordinary context (not in a signal handler, where pthread_create is not
 * allowed). The call's result and errno are the C library's, unchanged.
 *
 * Like pthread_create (thread_gate.c), these bind to the runtime's
 * definitions because libgraft comes before libc in the link order (with a
 * static runtime, the executable exports them: lib/compile/index.ts).
 *
 * THREAD SAFETY: any thread; the real functions are looked up once each,
 * with an atomic pointer.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>

#include "control.h"

extern int grt_pending;

/* The C library's definition of name, looked up at the first call. */
#define REAL(type, name)                                                     \
    static type real_;                                                       \
    type f_ = __atomic_load_n(&real_, __ATOMIC_ACQUIRE);                     \
    if (!f_) {                                                               \
        *(void **)&f_ = dlsym(RTLD_NEXT, name);                              \
        if (!f_) {                                                           \
            errno = ENOSYS;                                                  \
            return -1;                                                       \
        }                                                                    \
        __atomic_store_n(&real_, f_, __ATOMIC_RELEASE);                      \
    }

static void after_wait(void)
{
    /* grt_pending is 1 only while something is to do: one load otherwise.
     * The next update point settles grt_pending. */
    if (__atomic_load_n(&grt_pending, __ATOMIC_RELAXED) && grt_control_wanted()) {
        int saved = errno;

        grt_control_poke();
        errno = saved;
    }
}

typedef int (*epoll_wait_fn)(int, struct epoll_event *, int, int);
typedef int (*epoll_pwait_fn)(int, struct epoll_event *, int, int, const sigset_t *);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);
typedef int (*ppoll_fn)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
typedef int (*select_fn)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
typedef int (*pselect_fn)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    int r;
    REAL(epoll_wait_fn, "epoll_wait")
    r = f_(epfd, events, maxevents, timeout);
    after_wait();
    return r;
}

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout, const sigset_t *sigmask)
{
    int r;
    REAL(epoll_pwait_fn, "epoll_pwait")
    r = f_(epfd, events, maxevents, timeout, sigmask);
    after_wait();
    return r;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    int r;
    REAL(poll_fn, "poll")
    r = f_(fds, nfds, timeout);
    after_wait();
    return r;
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *sigmask)
{
    int r;
    REAL(ppoll_fn, "ppoll")
    r = f_(fds, nfds, tmo, sigmask);
    after_wait();
    return r;
}

int select(int nfds, fd_set *r_fds, fd_set *w_fds, fd_set *e_fds, struct timeval *tmo)
{
    int r;
    REAL(select_fn, "select")
    r = f_(nfds, r_fds, w_fds, e_fds, tmo);
    after_wait();
    return r;
}

int pselect(int nfds, fd_set *r_fds, fd_set *w_fds, fd_set *e_fds, const struct timespec *tmo, const sigset_t *sigmask)
{
    int r;
    REAL(pselect_fn, "pselect")
    r = f_(nfds, r_fds, w_fds, e_fds, tmo, sigmask);
    after_wait();
    return r;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    int r;
    REAL(accept_fn, "accept")
    r = f_(fd, addr, len);
    after_wait();
    return r;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int r;
    REAL(accept4_fn, "accept4")
    r = f_(fd, addr, len, flags);
    after_wait();
    return r;
}
