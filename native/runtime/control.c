/*
 * control.c - the control socket: docs/control-protocol.md.
 *
 * The socket is <dir>/<pid>.sock, dir being $GRAFT_RUNTIME_DIR or
 * /tmp/graft-<uid> (mode 0700, owned by us). Connections from another uid are
 * closed after an SO_PEERCRED check. One request per connection, one line
 * each way. Requests are served one at a time by the control thread; while an
 * apply waits for the main thread, the thread still answers `status` and
 * refuses a second `apply` with `busy`.
 *
 * The control thread is started lazily. A thread of its own makes glibc take
 * its multi-threaded paths (malloc arena locks, a second arena, a stack) for
 * the whole life of the process, so the socket listens from the start but no
 * thread serves it until a client asks: the client writes its request and
 * sends the process SIGURG; the handler (grt_control_signal) marks the
 * control thread as wanted and sets grt_pending; the next update point
 * (grt_control_poke, from grt_update_point) starts the thread, which accepts
 * the waiting connection. Until then a timer sends the main thread SIGURG
 * every 50 ms, so that a signal lost in a race with a blocking call does not
 * lose the request. The life of the thread is ctl_phase:
 *
 *   NONE -> LISTENING -> WANTED -> SERVING     (lazy: SIGURG, then an update point)
 *   NONE -> SERVING                            (eager: the program has its own SIGURG handler)
 *           WANTED -> LISTENING                (the thread could not be created: next request retries)
 *
 * Stale sockets of dead processes are swept by the control thread when it
 * starts, not by the constructor: a process that is never asked never reads
 * the directory.
 *
 * THREAD SAFETY: ctl and ctl_fd are written by grt_control_start() before the
 * control thread exists (constructor, or a forked child's update point), then
 * read by the control thread (which sweeps ctl.dir when it starts);
 * grt_control_stop() runs at exit. ctl_phase is
 * atomic: the SIGURG handler moves it LISTENING -> WANTED (a CAS, in any
 * thread), and exactly one update point moves it WANTED -> SERVING (a CAS).
 * Its stores are seq_cst: they pair with grt_settle_pending() in transition.c
 * (see there).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "control.h"
#include "core.h"
#include "loader.h"
#include "thread_gate.h"
#include "transition.h"

extern int grt_pending;

#define GRT_REQUEST_MAX (PATH_MAX + 64)
#define GRT_DEFAULT_TIMEOUT_MS 10000u
#define GRT_MAX_TIMEOUT_MS (24u * 3600u * 1000u)

enum { CTL_NONE, CTL_LISTENING, CTL_WANTED, CTL_SERVING };

/* The descriptor lives apart: with its -1 initialiser inside, the path
 * buffers below would be initialised data in every program's file. */
static int ctl_fd = -1;
static int ctl_phase; /* CTL_*, see the top of the file */

/* While the thread is WANTED: SIGURG to the main thread every 50 ms. A
 * client's one signal can arrive after the main thread's last update point
 * but before it blocks in poll/read: the EINTR is lost then, and so would be
 * the request. (Once the thread runs, it re-sends SIGURG itself while a patch
 * waits.) A POSIX timer costs no thread; timer_settime is async-signal-safe.
 * Timers do not survive fork(): a child creates its own. */
#define GRT_WAKE_NS (50 * 1000000L)
static timer_t ctl_timer;
static int ctl_timer_ok;

/* The socket's path must fit sun_path (108 bytes), and so must the directory:
 * both buffers are that size, not PATH_MAX, so that the constructor touches
 * one page of them, not three. */
#define GRT_SUN_PATH sizeof(((struct sockaddr_un *)0)->sun_path)
static struct {
    pid_t owner;
    char dir[GRT_SUN_PATH];
    char path[GRT_SUN_PATH];
} ctl;

/* The constructor's string building, without stdio: vsnprintf would touch
 * pages of libc that many programs never use. Appends s (or the decimal v) at
 * *off; returns -ENAMETOOLONG when buf (size bytes) is full. */
static int put_str(char *buf, size_t size, size_t *off, const char *s)
{
    size_t n = strlen(s);

    if (n >= size - *off)
        return -ENAMETOOLONG;
    memcpy(buf + *off, s, n + 1);
    *off += n;
    return 0;
}

static int put_ulong(char *buf, size_t size, size_t *off, unsigned long v)
{
    char digits[24], *p = digits + sizeof(digits) - 1;

    *p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return put_str(buf, size, off, p);
}

const char *grt_control_dir(void)
{
    return ctl.dir;
}

static int make_private_dir(const char *dir, int strict)
{
    struct stat st;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (lstat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return -EPERM;
    /* The default directory in /tmp must be ours alone; one given in the
     * environment must at least not be writable by others. */
    if ((st.st_mode & (strict ? 077 : 022)) != 0)
        return -EPERM;
    return 0;
}

static int reply(int c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reply(int c, const char *fmt, ...)
{
    char buf[1280];
    va_list ap;
    size_t off = 0;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    grt_log("reply: %.*s", n - 1, buf);
    while (off < (size_t)n) {
        /* MSG_NOSIGNAL: a client that went away must not SIGPIPE the program. */
        ssize_t w = send(c, buf + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        off += (size_t)w;
    }
    return 0;
}

static void reply_refused(int c, const grt_refusal *r)
{
    if (reply(c, "refused %s %s", r->code, r->msg) < 0)
        grt_log("could not send the reply: %s", strerror(errno));
}

static void reply_status(int c)
{
    grt_version v;

    grt_version_get(&v);
    if (reply(c, "ok program=%s version=%s sequence=%" PRIu64 " patches=%lu pid=%ld",
              grt_program_name, v.digest, v.sequence, v.patches, (long)getpid()) < 0)
        grt_log("could not send the status reply");
}

/* Reads one '\n'-terminated line into buf (without the newline).
 * Returns its length or -errno. */
static int read_line(int c, char *buf, size_t size, int timeout_ms)
{
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    size_t len = 0;

    if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        return -errno;
    for (;;) {
        ssize_t n = recv(c, buf + len, size - 1 - len, 0);
        char *nl;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
        if (nl) {
            *nl = '\0';
            len = (size_t)(nl - buf);
            if (len > 0 && buf[len - 1] == '\r')
                buf[--len] = '\0';
            return (int)len;
        }
        if (len == size - 1)
            return -EMSGSIZE;
    }
}

static int peer_allowed(int c)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return 0;
    if (cred.uid != geteuid()) {
        grt_log("closing a connection from uid %ld (pid %ld)", (long)cred.uid, (long)cred.pid);
        return 0;
    }
    return 1;
}

/* "apply <absolute path> <timeout_ms> [until=<ms>]": the path may contain
 * spaces, so the optional words are taken from the end. `until` is the
 * requester's deadline on the monotonic clock (CLOCK_MONOTONIC, in ms): a
 * request read after it (it waited in the listen queue for the control
 * thread to start) is refused unread. */
static int parse_apply(char *args, const char **path, unsigned *timeout_ms, uint64_t *until_us, grt_refusal *r)
{
    char *sp = strrchr(args, ' ');
    unsigned long long t = 0;

    *until_us = 0;
    if (sp && strncmp(sp + 1, "until=", 6) == 0) {
        const char *v = sp + 7;

        if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 15)
            return grt_refuse(r, -EINVAL, "bad-request", "until= must be a time in ms on the monotonic clock");
        *until_us = (uint64_t)strtoull(v, NULL, 10) * 1000u;
        *sp = '\0';
        sp = strrchr(args, ' ');
    }
    if (sp && sp[1] && strspn(sp + 1, "0123456789") == strlen(sp + 1)) {
        if (strlen(sp + 1) > 12)
            return grt_refuse(r, -EINVAL, "bad-request", "timeout_ms out of range");
        t = strtoull(sp + 1, NULL, 10);
        *sp = '\0';
    } else if (sp) {
        return grt_refuse(r, -EINVAL, "bad-request", "usage: apply <absolute path> <timeout_ms> [until=<ms>]");
    }
    if (args[0] != '/')
        return grt_refuse(r, -EINVAL, "bad-request", "the path must be absolute");
    if (t == 0)
        t = GRT_DEFAULT_TIMEOUT_MS;
    if (t > GRT_MAX_TIMEOUT_MS)
        t = GRT_MAX_TIMEOUT_MS;
    *path = args;
    *timeout_ms = (unsigned)t;
    return 0;
}

static void serve(int c, int busy);

/* 1 when the peer of c has closed the connection (or it failed). A peer that
 * only shut down its writing side (a client that half-closes after its
 * request) still waits for the reply: on a unix socket only a full close sets
 * POLLHUP. */
static int peer_gone(int c)
{
    struct pollfd pfd = { .fd = c, .events = 0 };

    if (poll(&pfd, 1, 0) <= 0)
        return 0;
    return (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* While an apply waits for the program's threads: serve whoever else
 * connects, and say whether the requester (arg: its connection) has gone. */
static int serve_while_busy(void *arg)
{
    struct pollfd pfd = { .fd = ctl_fd, .events = POLLIN };
    int i;

    for (i = 0; i < 8 && poll(&pfd, 1, 0) > 0; i++) {
        int c = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0)
            break;
        serve(c, 1);
        close(c);
    }
    return peer_gone((int)(intptr_t)arg);
}

static void do_apply(int c, char *args)
{
    grt_bundle b;
    grt_loaded l;
    grt_result res;
    grt_refusal r;
    const char *path;
    unsigned timeout_ms = 0;
    uint64_t until_us = 0;
    struct stat st;
    uint64_t t0 = grt_now_us();
    int err;

    memset(&b, 0, sizeof(b));
    memset(&res, 0, sizeof(res));
    err = parse_apply(args, &path, &timeout_ms, &until_us, &r);
    if (err < 0)
        goto refuse;
    grt_log("apply %s (timeout %u ms)", path, timeout_ms);
    if (until_us && t0 >= until_us) {
        grt_refuse(&r, -ETIMEDOUT, "timeout", "the request reached the runtime %" PRIu64 " ms after its deadline: not loaded",
                   (t0 - until_us) / 1000u);
        goto refuse;
    }
    if (stat(path, &st) < 0) {
        grt_refuse(&r, -errno, "bad-request", "cannot read %s: %s", path, strerror(errno));
        goto refuse;
    }
    if (S_ISDIR(st.st_mode))
        err = grt_bundle_open_dir(path, &b, &r);
    else
        err = grt_bundle_open(path, &b, &r);
    if (err < 0)
        goto refuse;
    err = grt_loader_open(&b, &l, &r);
    /* dlopen mapped it (or failed): the private copy is not needed anymore. */
    grt_bundle_close(&b);
    if (err < 0)
        goto refuse;
    grt_log("verified and loaded in %" PRIu64 " us; waiting for an update point",
            grt_now_us() - t0);

    grt_transition_run(&l, b.sequence, timeout_ms, until_us, serve_while_busy, (void *)(intptr_t)c, &res);
    if (!res.applied) {
        r = res.refusal;
        goto refuse;
    }
    {
        grt_version v;

        grt_version_get(&v);
        if (reply(c, "applied pause_us=%" PRIu64 " point=%u sequence=%" PRIu64 " version=%s threads=%u waited_us=%" PRIu64,
                  res.pause_us, res.point, v.sequence, v.digest, res.threads, res.waited_us) < 0)
            grt_log("could not send the reply (the patch is applied)");
    }
    return;

refuse:
    grt_log("refused %s: %s", r.code, r.msg);
    reply_refused(c, &r);
}

static void serve(int c, int busy)
{
    char line[GRT_REQUEST_MAX];
    grt_refusal r;
    int n;

    if (!peer_allowed(c))
        return;
    n = read_line(c, line, sizeof(line), busy ? 500 : 5000);
    if (n < 0) {
        if (n == -EMSGSIZE) {
            grt_refuse(&r, n, "bad-request", "request line too long");
            reply_refused(c, &r);
        }
        return;
    }
    if (strcmp(line, "status") == 0) {
        reply_status(c);
    } else if (strncmp(line, "apply ", 6) == 0) {
        if (busy) {
            grt_refuse(&r, -EBUSY, "busy", "another update is in progress");
            reply_refused(c, &r);
        } else {
            do_apply(c, line + 6);
        }
    } else {
        grt_refuse(&r, -EINVAL, "bad-request", "unknown request (expected status or apply)");
        reply_refused(c, &r);
    }
}

static void sweep_stale_sockets(const char *dir);

static void *control_main(void *arg)
{
    struct pollfd pfd;
    int fd = (int)(intptr_t)arg;

    /* Housekeeping that no program needs before its first request: done here
     * rather than in the constructor, so that a process that is never asked
     * does not pay for opendir's buffer and the rest of it. */
    sweep_stale_sockets(ctl.dir);
    pfd.fd = fd;
    pfd.events = POLLIN;
    for (;;) {
        int c;

        if (poll(&pfd, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            grt_log("control poll: %s", strerror(errno));
            return NULL;
        }
        if (pfd.revents & (POLLNVAL | POLLERR))
            return NULL;
        c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                grt_log("accept: %s", strerror(errno));
                usleep(100000);
            }
            continue;
        }
        serve(c, 0);
        close(c);
    }
}

/*
 * A process killed by a signal leaves its <pid>.sock behind. The directory is
 * private to this user, so sockets of pids that no longer exist are ours to
 * remove; a pid that exists again (reused) is left alone. Runs in the control
 * thread when it starts (ctl.dir was written before the thread was created).
 */
static void sweep_stale_sockets(const char *dir)
{
    char path[PATH_MAX];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);

        if (end == e->d_name || pid <= 0 || pid == (long)getpid())
            continue;
        if (strcmp(end, ".sock") != 0 && strcmp(end, ".sock.tmp") != 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
            unlink(path);
    }
    closedir(d);
}

/* Starts the control thread on ctl_fd, with every signal blocked. */
static int start_thread(void)
{
    sigset_t all, old;
    pthread_attr_t attr;
    pthread_t th;
    int err;

    if (ctl_fd < 0)
        return -EBADF;
    /* The control thread takes no signals: those of the program go to its
     * own threads, and our SIGURG is aimed at the main thread only. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Not counted among the program's threads (thread_gate.c). */
    err = -grt_real_pthread_create(&th, &attr, control_main, (void *)(intptr_t)ctl_fd);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err < 0)
        grt_log("cannot start the control thread: %s", strerror(-err));
    return err;
}

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static int create_wake_timer(void)
{
    struct sigevent sev;

    if (ctl_timer_ok)
        return 0;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID; /* a signal to one thread: no helper thread */
    sev.sigev_signo = SIGURG;
    sev.sigev_notify_thread_id = grt_main_tid();
    if (timer_create(CLOCK_MONOTONIC, &sev, &ctl_timer) < 0)
        return -errno;
    ctl_timer_ok = 1;
    return 0;
}

/* Async-signal-safe. */
static void arm_wake_timer(int on)
{
    struct itimerspec its;

    if (!ctl_timer_ok)
        return;
    memset(&its, 0, sizeof(its));
    if (on) {
        its.it_value.tv_nsec = GRT_WAKE_NS;
        its.it_interval.tv_nsec = GRT_WAKE_NS;
    }
    timer_settime(ctl_timer, 0, &its, NULL);
}

int grt_control_start(int lazy)
{
    struct sockaddr_un sa;
    const char *env = getenv("GRAFT_RUNTIME_DIR");
    char tmp[sizeof(sa.sun_path)];
    size_t n = 0;
    int fd = -1, err;

    if (env && env[0])
        err = put_str(ctl.dir, sizeof(ctl.dir), &n, env);
    else if ((err = put_str(ctl.dir, sizeof(ctl.dir), &n, "/tmp/graft-")) == 0)
        err = put_ulong(ctl.dir, sizeof(ctl.dir), &n, (unsigned long)geteuid());
    if (err < 0) {
        grt_log("runtime directory name too long for a socket path: %s", env ? env : "");
        goto err;
    }
    err = make_private_dir(ctl.dir, !(env && env[0]));
    if (err < 0) {
        grt_log("runtime directory %s: %s", ctl.dir, strerror(-err));
        goto err;
    }
    /* Stale sockets of dead processes are swept when the control thread
     * starts (control_main), not here. */
    if (lazy && (err = create_wake_timer()) < 0) {
        grt_log("no wake-up timer (%s): the control thread starts now", strerror(-err));
        lazy = 0;
    }
    /* Bound under a temporary name, made to listen, then renamed: a client
     * that sees <pid>.sock can connect at once. */
    n = 0;
    if (put_str(ctl.path, sizeof(ctl.path), &n, ctl.dir) < 0 || put_str(ctl.path, sizeof(ctl.path), &n, "/") < 0 ||
        put_ulong(ctl.path, sizeof(ctl.path), &n, (unsigned long)getpid()) < 0 ||
        put_str(ctl.path, sizeof(ctl.path), &n, ".sock") < 0 || n >= sizeof(sa.sun_path) - 5) {
        err = -ENAMETOOLONG;
        grt_log("socket path too long: %s/%ld.sock", ctl.dir, (long)getpid());
        goto err;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(tmp, ctl.path, n);
    memcpy(tmp + n, ".tmp", 5);
    memcpy(sa.sun_path, tmp, n + 5);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        err = -errno;
        grt_log("socket: %s", strerror(errno));
        goto err;
    }
    unlink(tmp); /* left by an earlier process with our pid */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err = -errno;
        grt_log("bind %s: %s", tmp, strerror(errno));
        goto err_close;
    }
    if (chmod(tmp, 0600) < 0 || listen(fd, 16) < 0) {
        err = -errno;
        grt_log("socket %s: %s", tmp, strerror(errno));
        goto err_unlink_tmp;
    }
    ctl_fd = fd; /* read by the control thread (created after this store) */
    ctl.owner = getpid();
    /* Lazy: LISTENING before the file has its name. A client may connect,
     * write and signal as soon as it sees <pid>.sock; its SIGURG must find
     * the handler ready to want the thread. */
    if (lazy)
        __atomic_store_n(&ctl_phase, CTL_LISTENING, __ATOMIC_SEQ_CST);
    if (rename(tmp, ctl.path) < 0) {
        err = -errno;
        grt_log("socket %s: %s", ctl.path, strerror(errno));
        goto err_forget;
    }
    if (!lazy) {
        __atomic_store_n(&ctl_phase, CTL_SERVING, __ATOMIC_SEQ_CST);
        err = start_thread();
        if (err < 0) {
            unlink(ctl.path);
            goto err_forget;
        }
    }
    grt_log("listening on %s%s", ctl.path, lazy ? " (control thread starts at the first request)" : "");
    return 0;

err_forget:
    __atomic_store_n(&ctl_phase, CTL_NONE, __ATOMIC_SEQ_CST);
    ctl_fd = -1;
    ctl.owner = 0;
err_unlink_tmp:
    unlink(tmp);
err_close:
    close(fd);
err:
    ctl.dir[0] = '\0';
    ctl.path[0] = '\0';
    return err;
}

/*
 * The SIGURG handler's part: async-signal-safe (lock-free atomics on int).
 * The order of the two stores matters: grt_settle_pending() clears
 * grt_pending and then looks at ctl_phase, so a want is never left with
 * grt_pending at 0 (seq_cst on both sides; see transition.c).
 */
int grt_control_signal(void)
{
    int expect = CTL_LISTENING;

    if (!__atomic_compare_exchange_n(&ctl_phase, &expect, CTL_WANTED, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return 0;
    __atomic_store_n(&grt_pending, 1, __ATOMIC_SEQ_CST);
    arm_wake_timer(1);
    /* An update point may have started the thread (and disarmed the timer)
     * between our CAS and our arming, from another thread: then disarm. If
     * this load still sees WANTED, the poke's CAS, and its disarm, come after. */
    if (__atomic_load_n(&ctl_phase, __ATOMIC_SEQ_CST) != CTL_WANTED)
        arm_wake_timer(0);
    return 1;
}

int grt_control_wanted(void)
{
    return __atomic_load_n(&ctl_phase, __ATOMIC_SEQ_CST) == CTL_WANTED;
}

int grt_control_poke(void)
{
    int expect = CTL_WANTED;

    /* One caller wins the CAS and starts the thread, in whatever thread
     * reached the point (the new thread blocks every signal either way). */
    if (__atomic_load_n(&ctl_phase, __ATOMIC_RELAXED) != CTL_WANTED ||
        !__atomic_compare_exchange_n(&ctl_phase, &expect, CTL_SERVING, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return 0;
    arm_wake_timer(0);
    if (start_thread() < 0) {
        /* The client that asked gets no reply (its own timeout); the next
         * request's SIGURG tries again (and re-arms the timer). */
        __atomic_store_n(&ctl_phase, CTL_LISTENING, __ATOMIC_SEQ_CST);
        return 1;
    }
    grt_log("control thread started");
    return 1;
}

void grt_control_stop(void)
{
    /* Only the process that created the socket removes it. The control
     * thread may still be inside accept(): the descriptor stays open. */
    if (ctl_fd >= 0 && ctl.owner == getpid() && ctl.path[0])
        unlink(ctl.path);
}

void grt_control_forget(void)
{
    if (ctl_fd >= 0)
        close(ctl_fd);
    ctl_fd = -1;
    __atomic_store_n(&ctl_phase, CTL_NONE, __ATOMIC_RELAXED);
    ctl_timer_ok = 0; /* the parent's timer is not the child's */
    ctl.owner = 0;
    ctl.path[0] = '\0';
}
