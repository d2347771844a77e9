/*
 * httpd main: argument parsing, the listening socket, connection buffers and
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
#include "httpd.h"

struct settings settings;
struct http_stats stats;
time_t process_started;

/* Connections indexed by their file descriptor. */
static struct conn *conn_table[MAX_FDS];
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t report_requested;

void httpd_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (level > settings.verbose)
        return;
    va_start(ap, fmt);
    fputs("httpd: ", stderr);
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
        fprintf(stderr, "httpd: bad listen address %s\n", addr);
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

static struct conn *conn_new(int fd)
{
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
    c->state = CONN_ACTIVE;
    c->last_active = time(NULL);
    conn_table[fd] = c;
    stats.connections_current++;
    stats.connections_total++;
    return c;
}

static void conn_free(struct conn *c)
{
    conn_table[c->fd] = NULL;
    close(c->fd);
    free(c->rbuf);
    free(c->wbuf);
    free(c);
    stats.connections_current--;
}

void conn_out(struct conn *c, const char *s, size_t n)
{
    if (c->state == CONN_CLOSING)
        return;
    if (c->wpos == c->wlen)
        c->wpos = c->wlen = 0;
    if (c->wlen + n > c->wcap) {
        size_t ncap = c->wcap ? c->wcap : 8192;
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

/* Send queued output. Returns 0, or -1 when the connection must close. */
static int conn_flush(struct conn *c)
{
    while (c->wpos < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + c->wpos, c->wlen - c->wpos);

        if (n > 0) {
            c->wpos += (size_t)n;
            stats.bytes_out += (long)n;
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
                break;      /* full of complete requests: answer them first */
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
            stats.bytes_in += (long)n;
            rounds++;
            continue;
        }
        if (n == 0) {
            c->last_active = time(NULL);
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        return -1;
    }
    c->last_active = time(NULL);
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
            c->close_after_write = 1;   /* answer what was sent, then close */
    }
    for (;;) {
        size_t before = c->rpos;

        http_process(c);
        if (conn_flush(c) < 0) {
            conn_free(c);
            return;
        }
        if (c->rpos == before || c->wpos < c->wlen || c->state == CONN_CLOSING)
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
                httpd_log(0, "accept: %s", strerror(errno));
            return;
        }
        if (fd >= MAX_FDS || set_nonblocking(fd) < 0) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (conn_new(fd) == NULL)
            close(fd);
    }
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-p PORT] [-l ADDR] [-d DIR] [-v]\n"
            "  -p PORT   TCP port (default 8080)\n"
            "  -l ADDR   listen address (default 127.0.0.1)\n"
            "  -d DIR    directory served under /static/ (default .)\n"
            "  -v        verbose logging to stderr\n",
            prog);
}

int main(int argc, char **argv)
{
    static struct pollfd pfds[MAX_FDS + 1];
    struct sigaction sa;
    int opt;
    int lfd;

    settings.port = 8080;
    settings.bind_addr = "127.0.0.1";
    settings.docroot = ".";
    while ((opt = getopt(argc, argv, "p:l:d:vh")) != -1) {
        switch (opt) {
        case 'p':
            settings.port = atoi(optarg);
            break;
        case 'l':
            settings.bind_addr = optarg;
            break;
        case 'd':
            settings.docroot = optarg;
            break;
        case 'v':
            settings.verbose++;
            break;
        default:
            usage(argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (settings.port <= 0 || settings.port > 65535) {
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

    kv_init();
    process_started = time(NULL);
    lfd = listen_on(settings.bind_addr, settings.port);
    if (lfd < 0)
        return 1;
    fprintf(stderr, "httpd listening on %s:%d, serving %s\n", settings.bind_addr, settings.port,
            settings.docroot);

    while (!stop_requested) {
        nfds_t n = 0;
        nfds_t i;
        int rc;
        int fd;

        GRAFT_UPDATE_POINT();

        if (report_requested) {
            report_requested = 0;
            httpd_log(0, "%d connections, %llu requests, %lu keys", stats.connections_current, stats.requests,
                      kv_count());
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
    kv_free_all();
    return 0;
}
