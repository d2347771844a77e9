/*
 * prog.c - a small program linked with libgraft, written the way
 * `graft compile` would leave it: calls go through __graft_fp_* pointers,
 * struct point is wrapped and reached through its con function.
 *
 *   prog idle   blocks in poll() on stdin with no timeout; update point 1
 *               after each wake-up (input or EINTR)
 *   prog loop   polls stdin every millisecond; update points 7 and 8
 *               ("mode only7" leaves only point 7)
 *   prog read   blocks in read() on stdin (EINTR needs a handler installed
 *               without SA_RESTART); update point 1 after each return
 *   prog events an event library's loop: epoll_wait on stdin, waiting again
 *               at once after EINTR (as libevent does); update point 1 only
 *               in the handler, after a command
 *
 * Commands on stdin, one line each, one reply line on stdout:
 *   answer | describe N | garbage N | stats | eintr | mode only7|both | quit
 *   threads: the number of threads (entries of /proc/self/task)
 *   pending: the value of grt_pending
 *   mapped NAME: mapped=1 when a file whose name contains NAME is mapped
 *           (/proc/self/maps), else mapped=0 (libsodium is loaded lazily)
 *   spin N: after the next update point, busy for N ms before blocking again
 *           (a signal then arrives between the point and the blocking call)
 *   fork: forks a child that loops over update point 1 every 10 ms until
 *         answer() changes, then exits shortly after; replies child=<pid>
 * The meta symbols (grt_program_name, ...) come from a generated meta.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GRAFT_UPDATEABLE
#include "graft.h"
#include "prog.h"
#include "threads.h"

/* An update point with an id, as `graft compile` rewrites GRAFT_UPDATE_POINT(). */
#define POINT(id)                                                              \
    do {                                                                       \
        if (__builtin_expect(__atomic_load_n(&grt_pending, __ATOMIC_RELAXED), 0)) \
            grt_update_point(id);                                              \
    } while (0)

grt_type __graft_type_point = { "struct point", 0, { 0 }, 0, 0 };

static struct __graft_d_point *con_point(struct point *p)
{
    if (p->__graft_ver != 0)
        grt_con_slow(&__graft_type_point, &p->__graft_ver, 0);
    return &p->__graft_u.__graft_d;
}

static int answer(void)
{
    return 42;
}
int (*__graft_fp_answer)(void) = answer;

/* What graft compile emits for patches that bind by index (imports.c). The
 * program also exports the names (-rdynamic): a patch's weak reference is
 * then bound by name, which the runtime refuses. */
void *const __graft_symtab[] = { &__graft_fp_answer };
const size_t __graft_symtab_len = 1;

static void describe(struct point *p, char *buf, size_t n)
{
    snprintf(buf, n, "v0 x=%d", con_point(p)->x);
}
void (*__graft_fp_describe)(struct point *p, char *buf, size_t n) = describe;

#define NOBJS 4
static struct point objs[NOBJS]; /* zero-filled: version 0 */
static unsigned long eintr_count;
static int only7 = 1;
static int spin_ms;

static void spin(int ms)
{
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static int is_mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;

    if (!f)
        return -1;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

static void command(char *line)
{
    char out[256];
    int i;

    if (strcmp(line, "answer") == 0) {
        snprintf(out, sizeof(out), "answer=%d", __graft_fp_answer());
    } else if (sscanf(line, "describe %d", &i) == 1 && i >= 0 && i < NOBJS) {
        __graft_fp_describe(&objs[i], out, sizeof(out));
    } else if (sscanf(line, "garbage %d", &i) == 1 && i >= 0 && i < NOBJS) {
        objs[i].__graft_ver = 0xdeadbeefu; /* as if malloc handed out old bytes */
        snprintf(out, sizeof(out), "ok");
    } else if (strcmp(line, "stats") == 0) {
        snprintf(out, sizeof(out), "current=%u transformed=%lu unknown=%lu", __graft_type_point.current,
                 __graft_type_point.transformed, __graft_type_point.unknown);
    } else if (strcmp(line, "eintr") == 0) {
        snprintf(out, sizeof(out), "eintr=%lu", eintr_count);
    } else if (strcmp(line, "threads") == 0) {
        snprintf(out, sizeof(out), "threads=%d", count_threads());
    } else if (strcmp(line, "pending") == 0) {
        snprintf(out, sizeof(out), "pending=%d", __atomic_load_n(&grt_pending, __ATOMIC_SEQ_CST));
    } else if (strncmp(line, "mapped ", 7) == 0) {
        snprintf(out, sizeof(out), "mapped=%d", is_mapped(line + 7));
    } else if (sscanf(line, "spin %d", &i) == 1) {
        spin_ms = i;
        snprintf(out, sizeof(out), "ok");
    } else if (strcmp(line, "mode only7") == 0 || strcmp(line, "mode both") == 0) {
        only7 = line[5] == 'o';
        snprintf(out, sizeof(out), "ok");
    } else if (strcmp(line, "fork") == 0) {
        pid_t pid;

        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_RDWR);

            dup2(null, 0);
            dup2(null, 1);
            while (__graft_fp_answer() == 42) {
                poll(NULL, 0, 10);
                POINT(1);
            }
            poll(NULL, 0, 1000); /* let the control thread send its reply */
            exit(0);
        }
        snprintf(out, sizeof(out), "child=%ld", (long)pid);
    } else if (strcmp(line, "quit") == 0) {
        exit(0);
    } else {
        snprintf(out, sizeof(out), "unknown command");
    }
    printf("%s\n", out);
    fflush(stdout);
}

/* Runs every whole line of buf (len bytes, NUL-terminated) as a command and
 * keeps the partial rest; with point > 0, reaches that update point after
 * each command (the "events" mode's handler). */
static void run_commands(char *buf, size_t *len, unsigned point)
{
    char *nl;

    while ((nl = strchr(buf, '\n')) != NULL) {
        *nl = '\0';
        command(buf);
        *len -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, *len + 1);
        if (point)
            POINT(point);
    }
}

/* The "events" mode: no update point outside the handler. */
static int event_loop(void)
{
    struct epoll_event ev = { .events = EPOLLIN };
    char buf[4096];
    size_t len = 0;
    int ep = epoll_create1(EPOLL_CLOEXEC);

    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0) {
        perror("epoll");
        return 1;
    }
    for (;;) {
        ssize_t n;

        if (epoll_wait(ep, &ev, 1, -1) < 0) {
            if (errno == EINTR) {
                eintr_count++;
                continue;
            }
            perror("epoll_wait");
            return 1;
        }
        n = read(0, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        run_commands(buf, &len, 1);
    }
}

int main(int argc, char **argv)
{
    int idle = argc > 1 && strcmp(argv[1], "idle") == 0;
    int blocking_read = argc > 1 && strcmp(argv[1], "read") == 0;
    char buf[4096];
    size_t len = 0;
    int i;

    for (i = 0; i < NOBJS; i++)
        con_point(&objs[i])->x = 10 * (i + 1);
    if (argc > 1 && strcmp(argv[1], "events") == 0)
        return event_loop();

    for (;;) {
        struct pollfd pfd = { .fd = 0, .events = POLLIN };
        int r = blocking_read ? 1 : poll(&pfd, 1, idle ? -1 : 1);

        if (r < 0 && errno == EINTR) {
            eintr_count++;
        } else if (r < 0) {
            perror("poll");
            return 1;
        } else if (r > 0) {
            ssize_t n = read(0, buf + len, sizeof(buf) - 1 - len);

            if (n < 0 && errno == EINTR) {
                eintr_count++;
                n = 0;
            } else if (n <= 0) {
                return 0;
            }
            len += (size_t)n;
            buf[len] = '\0';
            run_commands(buf, &len, 0);
        }
        if (idle || blocking_read) {
            POINT(1);
            if (spin_ms) {
                spin(spin_ms);
                spin_ms = 0;
            }
        } else {
            POINT(7);
            if (!only7)
                POINT(8);
        }
    }
}
