/*
 * kvd main: argument parsing, the listening socket, connection buffers and
 * the poll() event loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "graft.h"
#include "kvd.h"

struct settings settings;
struct kvd_stats stats;
time_t process_started;
time_t current_time;

/* Connections indexed by their file descriptor. */
struct conn *conn_table[MAX_FDS];
static time_t last_sweep;
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t report_requested;

void kvd_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (level > settings.verbose)
        return;
    va_start(ap, fmt);
    fputs("kvd: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_report_signal(int sig)
{
    (void)sig;
    report_requested = 1;
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);

    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int listen_on(const char *addr, int port)
{
    struct sockaddr_in sin;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        perror("socket");
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        fprintf(stderr, "kvd: bad listen address %s\n", addr);
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0 ||
        set_nonblocking(fd) < 0) {
        perror("bind/listen");
        close(fd);
        return -1;
    }
    return fd;
}

static struct conn *conn_new(int fd, const struct sockaddr_in *peer)
{
    char addr[INET_ADDRSTRLEN];
    struct conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->rbuf = malloc(RBUF_INITIAL);
    if (c->rbuf == NULL) {
        free(c);
        return NULL;
    }
    c->rcap = RBUF_INITIAL;
    c->fd = fd;
    c->state = CONN_READ;
    c->last_active = current_time;
    c->connected_at = current_time;
    if (inet_ntop(AF_INET, &peer->sin_addr, addr, sizeof(addr)) == NULL)
        strcpy(addr, "?");
    snprintf(c->peer, sizeof(c->peer), "%s:%u", addr, (unsigned)ntohs(peer->sin_port));
    conn_table[fd] = c;
    stats.curr_conns++;
    stats.total_conns++;
    return c;
}

static void conn_free(struct conn *c)
{
    conn_table[c->fd] = NULL;
    close(c->fd);
    free(c->rbuf);
    free(c->wbuf);
    free(c);
    stats.curr_conns--;
}

void conn_out(struct conn *c, const char *s, size_t n)
{
    if (c->state == CONN_CLOSING)
        return;
    if (c->wpos == c->wlen)
        c->wpos = c->wlen = 0;
    if (c->wlen + n > c->wcap) {
        size_t ncap = c->wcap ? c->wcap : 4096;
        char *nb;

        while (ncap < c->wlen + n)
            ncap *= 2;
        nb = realloc(c->wbuf, ncap);
        if (nb == NULL) {
            c->state = CONN_CLOSING;
            return;
        }
        c->wbuf = nb;
        c->wcap = ncap;
    }
    memcpy(c->wbuf + c->wlen, s, n);
    c->wlen += n;
}

void conn_outs(struct conn *c, const char *s)
{
    conn_out(c, s, strlen(s));
}

/* Send queued output. Returns 0, or -1 when the connection must close. */
static int conn_flush(struct conn *c)
{
    while (c->wpos < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + c->wpos, c->wlen - c->wpos);

        if (n > 0) {
            c->wpos += (size_t)n;
            c->bytes_out += (uint64_t)n;
            stats.bytes_written += (uint64_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return -1;
        }
    }
    c->wpos = c->wlen = 0;
    if (c->wcap > 1024 * 1024) {    /* do not keep a huge buffer around */
        free(c->wbuf);
        c->wbuf = NULL;
        c->wcap = 0;
    }
    return 0;
}

/* Read what the socket has. Returns 0, 1 on end of input, -1 on error. */
static int conn_read(struct conn *c)
{
    int rounds = 0;

    while (rounds < 8) {
        ssize_t n;

        if (c->rcap - c->rlen < 1024 && c->rpos > 0) {
            memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
            c->rlen -= c->rpos;
            c->rpos = 0;
        }
        if (c->rcap - c->rlen < 1024) {
            size_t ncap = c->rcap * 2;
            char *nb;

            if (c->rcap >= RBUF_MAX)
                break;      /* full of complete commands: execute them first */
            if (ncap > RBUF_MAX)
                ncap = RBUF_MAX;
            nb = realloc(c->rbuf, ncap);
            if (nb == NULL)
                return -1;
            c->rbuf = nb;
            c->rcap = ncap;
        }
        n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (n > 0) {
            c->rlen += (size_t)n;
            c->bytes_in += (uint64_t)n;
            stats.bytes_read += (uint64_t)n;
            rounds++;
            continue;
        }
        if (n == 0) {
            c->last_active = current_time;
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        return -1;
    }
    c->last_active = current_time;
    return 0;
}

static void conn_handle(struct conn *c, short revents)
{
    if (revents & (POLLERR | POLLNVAL)) {
        conn_free(c);
        return;
    }
    if (revents & (POLLIN | POLLHUP)) {
        int rc = conn_read(c);

        if (rc < 0)
            c->state = CONN_CLOSING;
        else if (rc > 0)
            c->close_after_write = true;   /* answer what was sent, then close */
    }
    /* Execute what we have even when the peer has half-closed. */
    for (;;) {
        size_t before = c->rpos;
        size_t queued;

        proto_process(c);
        if (conn_flush(c) < 0) {
            conn_free(c);
            return;
        }
        queued = c->wlen - c->wpos;
        if (c->rpos == before || queued > 0 || c->state == CONN_CLOSING)
            break;
    }
    if (c->close_after_write && c->wpos == c->wlen)
        c->state = CONN_CLOSING;
    if (c->state == CONN_CLOSING)
        conn_free(c);
}

static void accept_new(int lfd)
{
    for (;;) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int one = 1;
        int fd = accept(lfd, (struct sockaddr *)&peer, &plen);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                kvd_log(0, "accept: %s", strerror(errno));
            return;
        }
        if (fd >= MAX_FDS || set_nonblocking(fd) < 0) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (conn_new(fd, &peer) == NULL)
            close(fd);
    }
}

void conn_report(struct conn *out, const struct conn *c)
{
    static const char *const kind_names[KIND_COUNT] = {
        "get", "set", "delete", "arith", "touch", "flush", "other"
    };
    char buf[160];
    int len;
    int k;

    len = snprintf(buf, sizeof(buf), "STAT %d:addr %s\r\n", c->fd, c->peer);
    conn_out(out, buf, (size_t)len);
    len = snprintf(buf, sizeof(buf), "STAT %d:age %ld\r\n", c->fd,
                   (long)(current_time - c->connected_at));
    conn_out(out, buf, (size_t)len);
    len = snprintf(buf, sizeof(buf), "STAT %d:cmds %llu\r\n", c->fd, (unsigned long long)c->ncmds);
    conn_out(out, buf, (size_t)len);
    len = snprintf(buf, sizeof(buf), "STAT %d:bytes_in %llu\r\n", c->fd, (unsigned long long)c->bytes_in);
    conn_out(out, buf, (size_t)len);
    len = snprintf(buf, sizeof(buf), "STAT %d:bytes_out %llu\r\n", c->fd, (unsigned long long)c->bytes_out);
    conn_out(out, buf, (size_t)len);
    for (k = 0; k < KIND_COUNT; k++) {
        len = snprintf(buf, sizeof(buf), "STAT %d:cmd_%s %lu\r\n", c->fd, kind_names[k],
                       c->cmd_counts[k]);
        conn_out(out, buf, (size_t)len);
    }
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-p PORT] [-l ADDR] [-m MEGABYTES] [-v]\n"
            "  -p PORT   TCP port (default 11211)\n"
            "  -l ADDR   listen address (default 127.0.0.1)\n"
            "  -m MB     memory limit for items (default 64)\n"
            "  -v        verbose logging to stderr\n",
            prog);
}

int main(int argc, char **argv)
{
    static struct pollfd pfds[MAX_FDS + 1];
    struct sigaction sa;
    int opt;
    int lfd;

    settings.port = 11211;
    settings.bind_addr = "127.0.0.1";
    settings.maxbytes = (size_t)64 * 1024 * 1024;
    while ((opt = getopt(argc, argv, "p:l:m:vh")) != -1) {
        switch (opt) {
        case 'p':
            settings.port = atoi(optarg);
            break;
        case 'l':
            settings.bind_addr = optarg;
            break;
        case 'm':
            settings.maxbytes = (size_t)strtoul(optarg, NULL, 10) * 1024 * 1024;
            break;
        case 'v':
            settings.verbose++;
            break;
        default:
            usage(argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (settings.port <= 0 || settings.port > 65535 || settings.maxbytes == 0) {
        usage(argv[0]);
        return 2;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_report_signal;     /* SIGHUP: one status line on stderr */
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    store_init(settings.maxbytes);
    process_started = current_time = last_sweep = time(NULL);
    lfd = listen_on(settings.bind_addr, settings.port);
    if (lfd < 0)
        return 1;
    fprintf(stderr, "kvd %s listening on %s:%d\n", KVD_VERSION, settings.bind_addr, settings.port);

    while (!stop_requested) {
        nfds_t n = 0;
        nfds_t i;
        int rc;
        int fd;

        GRAFT_UPDATE_POINT();

        if (report_requested) {
            report_requested = 0;
            kvd_log(0, "%u connections, %lu items, %zu bytes, %lu evictions", stats.curr_conns,
                    store_count(), store_bytes(), stats.evictions);
        }

        current_time = time(NULL);
        if (current_time - last_sweep >= SWEEP_INTERVAL) {
            unsigned long freed = store_sweep(current_time, SWEEP_BUCKETS);

            stats.expired_swept += freed;
            if (freed > 0)
                kvd_log(2, "sweep freed %lu expired items", freed);
            last_sweep = current_time;
        }

        pfds[n].fd = lfd;
        pfds[n].events = POLLIN;
        pfds[n].revents = 0;
        n++;
        for (fd = 0; fd < MAX_FDS; fd++) {
            struct conn *c = conn_table[fd];

            if (c == NULL)
                continue;
            pfds[n].fd = fd;
            pfds[n].events = 0;
            if (!c->close_after_write && c->wlen - c->wpos < WBUF_HIGH_WATER)
                pfds[n].events |= POLLIN;
            if (c->wpos < c->wlen)
                pfds[n].events |= POLLOUT;
            pfds[n].revents = 0;
            n++;
        }

        rc = poll(pfds, n, 1000);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            break;
        }
        if (rc == 0)
            continue;
        for (i = 1; i < n; i++) {
            struct conn *c = conn_table[pfds[i].fd];

            if (c != NULL && pfds[i].revents != 0)
                conn_handle(c, pfds[i].revents);
        }
        if (pfds[0].revents & POLLIN)
            accept_new(lfd);
    }

    for (opt = 0; opt < MAX_FDS; opt++) {
        if (conn_table[opt] != NULL)
            conn_free(conn_table[opt]);
    }
    close(lfd);
    store_shutdown();
    return 0;
}
