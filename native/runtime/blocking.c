/*
 * blocking.c - the calls a program waits in, seen by the runtime.
 *
 * Two jobs, both only while grt_pending is set (otherwise one load):
 *
 * - The control thread is lazy (control.c): it starts at the first update
 *   point after a client's SIGURG. An event-driven program whose update
 *   point is in a handler never gets there while it is idle: its main
 *   thread sits in epoll_wait inside a library (libevent), and the signal's
 *   EINTR only makes the library wait again. So these calls start it on the
 *   way in or out, in an ordinary context (not in a signal handler, where
 *   pthread_create is not allowed).
 * - During an update, a thread of the program in one of these calls counts
 *   as arrived when the function of the program it waits in is safe for the
 *   patch (transition.c, blocked.c): an idle worker need not be woken by a
 *   request. It parks on the way in, or on the way out (the SIGURG that
 *   wakes it every 50 ms makes the call return EINTR, which its caller
 *   already handles). The call's result and errno are the C library's,
 *   unchanged.
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
#include <unistd.h>

#include "transition.h"

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

static void at_wait(void)
{
    if (__atomic_load_n(&grt_pending, __ATOMIC_RELAXED)) {
        int saved = errno;

        grt_blocked_call();
        errno = saved;
    }
}

/* Around the C library's call: at_wait() on the way in and out. */
#define WAIT(call)                                                           \
    do {                                                                     \
        at_wait();                                                           \
        r = (call);                                                          \
        at_wait();                                                           \
    } while (0)

typedef int (*epoll_wait_fn)(int, struct epoll_event *, int, int);
typedef int (*epoll_pwait_fn)(int, struct epoll_event *, int, int, const sigset_t *);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);
typedef int (*ppoll_fn)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
typedef int (*select_fn)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
typedef int (*pselect_fn)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    int r;
    REAL(epoll_wait_fn, "epoll_wait")
    WAIT(f_(epfd, events, maxevents, timeout));
    return r;
}

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout, const sigset_t *sigmask)
{
    int r;
    REAL(epoll_pwait_fn, "epoll_pwait")
    WAIT(f_(epfd, events, maxevents, timeout, sigmask));
    return r;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    int r;
    REAL(poll_fn, "poll")
    WAIT(f_(fds, nfds, timeout));
    return r;
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *sigmask)
{
    int r;
    REAL(ppoll_fn, "ppoll")
    WAIT(f_(fds, nfds, tmo, sigmask));
    return r;
}

int select(int nfds, fd_set *r_fds, fd_set *w_fds, fd_set *e_fds, struct timeval *tmo)
{
    int r;
    REAL(select_fn, "select")
    WAIT(f_(nfds, r_fds, w_fds, e_fds, tmo));
    return r;
}

int pselect(int nfds, fd_set *r_fds, fd_set *w_fds, fd_set *e_fds, const struct timespec *tmo, const sigset_t *sigmask)
{
    int r;
    REAL(pselect_fn, "pselect")
    WAIT(f_(nfds, r_fds, w_fds, e_fds, tmo, sigmask));
    return r;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    int r;
    REAL(accept_fn, "accept")
    WAIT(f_(fd, addr, len));
    return r;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int r;
    REAL(accept4_fn, "accept4")
    WAIT(f_(fd, addr, len, flags));
    return r;
}

ssize_t read(int fd, void *buf, size_t n)
{
    ssize_t r;
    REAL(read_fn, "read")
    WAIT(f_(fd, buf, n));
    return r;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    ssize_t r;
    REAL(recv_fn, "recv")
    WAIT(f_(fd, buf, n, flags));
    return r;
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    ssize_t r;
    REAL(recvfrom_fn, "recvfrom")
    WAIT(f_(fd, buf, n, flags, addr, len));
    return r;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    ssize_t r;
    REAL(recvmsg_fn, "recvmsg")
    WAIT(f_(fd, msg, flags));
    return r;
}
