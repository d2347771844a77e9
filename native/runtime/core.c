/*
 * core.c - process lifecycle of libgraft.
 *
 * A constructor runs before main(): it records the main thread, installs the
 * SIGURG handler without SA_RESTART, and opens the control socket. The
 * handler has two jobs: being installed without SA_RESTART makes a blocking
 * poll/accept/read of the main thread return EINTR, so that an idle program
 * reaches its update point; and the first SIGURG a client sends after its
 * request asks for the control thread, which the next update point starts
 * (the thread is lazy: see control.c). If the program already has its own
 * SIGURG handler, the control thread starts at once instead. Nothing here
 * ever touches stdout or stdin; diagnostics go to stderr only when
 * GRAFT_LOG=stderr.
 *
 * THREAD SAFETY: the constructor runs single-threaded. The running version is
 * guarded by version_lock (written by the main thread at commit, read by the
 * control thread). log_stderr is written once before any thread starts. The
 * SIGURG handler runs in any thread that takes the signal; it only does
 * lock-free atomics on int, errno-preserving, plus pthread_kill (all
 * async-signal-safe). main_thread is written before the handler is installed
 * (and in a forked child, before it has other threads).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "blocked.h"
#include "core.h"
#include "grt_alloc.h"
#include "thread_gate.h"
#include "transition.h"

extern int grt_pending;

static int log_stderr;
static pthread_t main_thread;
static pid_t main_tid;
static pthread_mutex_t version_lock = PTHREAD_MUTEX_INITIALIZER;
static grt_version running;
static int fork_restart; /* set in a forked child, read by its main thread */

void grt_log(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n, m;

    if (!log_stderr)
        return;
    n = snprintf(buf, sizeof(buf), "graft[%ld]: ", (long)getpid());
    if (n < 0)
        return;
    va_start(ap, fmt);
    m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if (n > (int)sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    /* One write, so that lines of concurrent threads do not interleave. */
    if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
        /* nothing sensible to do */
    }
}

int grt_log_enabled(void)
{
    return log_stderr;
}

int grt_refuse(grt_refusal *r, int err, const char *code, const char *fmt, ...)
{
    va_list ap;
    char *c;

    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    /* The reply is one line: no control characters in the message. */
    for (c = r->msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    return err;
}

uint64_t grt_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

pthread_t grt_main_thread(void)
{
    return main_thread;
}

pid_t grt_main_tid(void)
{
    return main_tid;
}

void grt_version_get(grt_version *out)
{
    pthread_mutex_lock(&version_lock);
    *out = running;
    pthread_mutex_unlock(&version_lock);
}

void grt_version_commit(const char *digest, uint64_t sequence)
{
    pthread_mutex_lock(&version_lock);
    snprintf(running.digest, sizeof(running.digest), "%s", digest);
    running.sequence = sequence;
    running.patches++;
    pthread_mutex_unlock(&version_lock);
}

int grt_is_hex_digest(const char *s, size_t len)
{
    size_t i;

    if (len != GRT_DIGEST_HEX)
        return 0;
    for (i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int grt_read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
    struct stat st;
    unsigned char *buf = NULL;
    size_t got = 0;
    int fd, err;

    /* O_NONBLOCK: a FIFO given as a bundle path must not hang the control
     * thread in open(); the S_ISREG check below refuses it. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto err_close;
    }
    if (!S_ISREG(st.st_mode)) {
        err = -EINVAL;
        goto err_close;
    }
    if ((uint64_t)st.st_size > max) {
        err = -EFBIG;
        goto err_close;
    }
    buf = grt_malloc((size_t)st.st_size + 1);
    if (!buf) {
        err = -ENOMEM;
        goto err_close;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            goto err_free;
        }
        if (n == 0)
            break; /* file shrank: the caller sees the short length */
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *len = got;
    return 0;

err_free:
    grt_free(buf);
err_close:
    close(fd);
    return err;
}

int grt_write_private_file(const void *data, size_t len, char *path, size_t pathsz)
{
    const unsigned char *p = data;
    const char *dir = grt_control_dir();
    int fd, err, n;

    if (!dir[0])
        return -ENOENT;
    n = snprintf(path, pathsz, "%s/patch-%ld-XXXXXX.so", dir, (long)getpid());
    if (n < 0 || (size_t)n >= pathsz)
        return -ENAMETOOLONG;
    fd = mkstemps(path, 3);
    if (fd < 0)
        return -errno;
    if (fchmod(fd, 0700) < 0) {
        err = -errno;
        goto err;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            err = -errno;
            goto err;
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) < 0) {
        err = -errno;
        unlink(path);
        return err;
    }
    return 0;

err:
    close(fd);
    unlink(path);
    return err;
}

/* The SIGURG handler. Being installed without SA_RESTART is what makes a
 * blocking call of the main thread return EINTR. While the control socket
 * listens without a thread, it also asks for the thread (grt_control_signal
 * sets grt_pending); a client's kill() may land in any thread that does not
 * block SIGURG, so the main thread, which may be the one blocked in poll(),
 * is then woken too. */
static void grt_sigurg(int sig)
{
    int saved = errno;

    (void)sig;
    if (grt_control_signal() && !pthread_equal(pthread_self(), main_thread))
        pthread_kill(main_thread, SIGURG);
    errno = saved;
}

int grt_sigurg_ours(void)
{
    struct sigaction cur;

    return sigaction(SIGURG, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == grt_sigurg &&
           !(cur.sa_flags & SA_RESTART);
}

static void install_sigurg(void)
{
    struct sigaction sa, old;

    if (sigaction(SIGURG, NULL, &old) == 0 &&
        (old.sa_flags & SA_SIGINFO ? old.sa_sigaction != NULL
                                   : (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN))) {
        grt_log("SIGURG already has a handler: keeping it (idle wake-up relies on it not using SA_RESTART)");
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = grt_sigurg;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    if (sigaction(SIGURG, &sa, NULL) < 0)
        grt_log("cannot install the SIGURG handler: %s", strerror(errno));
}

static void grt_atfork_child(void)
{
    /* The child is single-threaded: the control thread did not survive.
     * Locks the control thread may have held are re-created. */
    pthread_mutex_init(&version_lock, NULL);
    main_thread = pthread_self();
    main_tid = gettid();
    grt_transition_forget();
    grt_control_forget();
    /* Open the socket lazily at the child's first update point: a child that
     * execs another program at once never creates a socket. */
    __atomic_store_n(&fork_restart, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&grt_pending, 1, __ATOMIC_RELEASE);
}

int grt_core_fork_poke(void)
{
    int expect = 1;

    /* Only the first caller restarts (a CAS, should the child have threads). */
    if (!__atomic_load_n(&fork_restart, __ATOMIC_RELAXED) ||
        !__atomic_compare_exchange_n(&fork_restart, &expect, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return 0;
    /* main_thread stays the thread that called fork() (the child's first).
     * The caller settles grt_pending. The child follows the same rule as its
     * parent: a lazy thread unless the program has its own SIGURG handler. */
    if (grt_control_start(grt_sigurg_ours()) < 0)
        grt_log("no control socket in the forked child: updates are off");
    return 1;
}

static void grt_exit(void)
{
    grt_control_stop();
}

__attribute__((constructor)) static void grt_init(void)
{
    const char *l = getenv("GRAFT_LOG");

    log_stderr = l && strcmp(l, "stderr") == 0;
    main_thread = pthread_self();
    main_tid = gettid();
    grt_threads_init();
    grt_blocked_init();
    /* No stdio here (see control.c, put_str). */
    {
        size_t len = strnlen(grt_version_digest, GRT_DIGEST_HEX);

        memcpy(running.digest, grt_version_digest, len);
        running.digest[len] = '\0';
    }
    running.sequence = 0;
    running.patches = 0;
    if (!grt_is_hex_digest(grt_version_digest, strlen(grt_version_digest)))
        grt_log("grt_version_digest is not 64 lowercase hex characters: no patch will match");

    install_sigurg();
    if (pthread_atfork(NULL, NULL, grt_atfork_child) != 0)
        grt_log("pthread_atfork failed: a forked child will not be updateable");
    if (atexit(grt_exit) != 0)
        grt_log("atexit failed: the socket file will outlive the process");
    /* Lazy control thread, unless SIGURG is not ours: then a client's signal
     * goes to the program's handler, and the thread must already serve. */
    if (grt_control_start(grt_sigurg_ours()) < 0)
        grt_log("no control socket: the program runs without updates");
}
