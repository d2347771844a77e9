/*
 * mcprobe: a latency probe for a memcached-text-protocol server.
 *
 * memcslap (libmemcached's memslap) reports only the time a whole test took,
 * not per-request latency. bench/run.ts runs this probe alongside memcslap:
 * one connection, closed loop, alternating `set` and `get` on a few keys,
 * timing every request with CLOCK_MONOTONIC until SIGTERM/SIGINT (or the
 * optional time limit, or after OPS requests), then printing one line:
 *
 *   ops=<n> errors=<n> p50_us=<x> p90_us=<x> p99_us=<x> max_us=<x>
 *
 * Usage: mcprobe HOST PORT [SECONDS [OPS [DEPTH]]]   (0 = no limit)
 *
 * With DEPTH > 1 the requests go DEPTH to a write (pipelined: half set, half
 * get) and a latency is that of the whole batch; bench/run.ts uses this under
 * cachegrind, so that the server handles many requests per turn of its event
 * loop, as it does under load.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Read until the buffer ends with `end` (a complete reply). 0 ok, -1 error. */
static int read_reply(int fd, char *buf, size_t cap, const char *end1, const char *end2)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) {
            if (stop)
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        size_t l1 = strlen(end1), l2 = end2 ? strlen(end2) : 0;
        if (len >= l1 && strcmp(buf + len - l1, end1) == 0)
            return 0;
        if (end2 && len >= l2 && strcmp(buf + len - l2, end2) == 0)
            return 0;
        if (len + 1 >= cap)
            return -1;
    }
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mcprobe HOST PORT [SECONDS [OPS [DEPTH]]]\n");
        return 2;
    }
    double limit = argc > 3 ? atof(argv[3]) : 0;
    unsigned long max_ops = argc > 4 ? strtoul(argv[4], NULL, 10) : 0;
    unsigned long depth = argc > 5 ? strtoul(argv[5], NULL, 10) : 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("mcprobe: connect");
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    size_t cap = 1 << 20, n = 0;
    uint64_t *lat = malloc(cap * sizeof(*lat));
    unsigned long errors = 0;
    char req[256], buf[4096];
    uint64_t start = now_ns();
    if (depth > 1) {
        /* Pipelined: DEPTH requests to a write; count replies by their last line. */
        static char batch[1 << 16], in[1 << 17];
        unsigned long i = 0;
        while (!stop && (max_ops == 0 || i < max_ops)) {
            if (limit > 0 && (double)(now_ns() - start) / 1e9 >= limit)
                break;
            size_t blen = 0;
            unsigned long k;
            for (k = 0; k < depth && blen + 128 < sizeof(batch); k++, i++) {
                unsigned key = (unsigned)(i / 2) % 64;
                if (i % 2 == 0)
                    blen += (size_t)snprintf(batch + blen, sizeof(batch) - blen, "set mcprobe:%u 0 0 32\r\n%032u\r\n", key, key);
                else
                    blen += (size_t)snprintf(batch + blen, sizeof(batch) - blen, "get mcprobe:%u\r\n", key);
            }
            uint64_t t0 = now_ns();
            if (send_all(fd, batch, blen) < 0)
                break;
            unsigned long replies = 0;
            size_t ilen = 0;
            int failed = 0;
            while (replies < k) {
                ssize_t r = read(fd, in + ilen, sizeof(in) - 1 - ilen);
                if (r < 0 && errno == EINTR && !stop)
                    continue;
                if (r <= 0) {
                    failed = 1;
                    break;
                }
                ilen += (size_t)r;
                in[ilen] = '\0';
                char *line = in, *eol;
                while ((eol = strstr(line, "\r\n")) != NULL) {
                    *eol = '\0';
                    if (strcmp(line, "STORED") == 0 || strcmp(line, "END") == 0)
                        replies++;
                    else if (strncmp(line, "VALUE ", 6) != 0 && strspn(line, "0123456789") != strlen(line)) {
                        errors++;
                        replies++;
                    }
                    line = eol + 2;
                }
                ilen = (size_t)(in + ilen - line);
                memmove(in, line, ilen);
            }
            if (failed) {
                if (!stop)
                    errors++;
                break;
            }
            if (n == cap) {
                cap *= 2;
                lat = realloc(lat, cap * sizeof(*lat));
            }
            lat[n++] = now_ns() - t0;
        }
        if (n == 0) {
            printf("ops=0 errors=%lu\n", errors);
            return 1;
        }
        qsort(lat, n, sizeof(*lat), cmp_u64);
        printf("ops=%lu errors=%lu batches=%zu p50_us=%.1f p99_us=%.1f max_us=%.1f\n", i, errors, n,
               (double)lat[(size_t)((double)(n - 1) * 0.5)] / 1000.0, (double)lat[(size_t)((double)(n - 1) * 0.99)] / 1000.0,
               (double)lat[n - 1] / 1000.0);
        return 0;
    }
    for (unsigned long i = 0; !stop; i++) {
        if (limit > 0 && (double)(now_ns() - start) / 1e9 >= limit)
            break;
        if (max_ops > 0 && i >= max_ops)
            break;
        unsigned key = (unsigned)(i / 2) % 64;
        int len, rc;
        uint64_t t0 = now_ns();
        if (i % 2 == 0) {
            len = snprintf(req, sizeof(req), "set mcprobe:%u 0 0 32\r\n%032u\r\n", key, key);
            if (send_all(fd, req, (size_t)len) < 0)
                break;
            rc = read_reply(fd, buf, sizeof(buf), "\r\n", NULL);
            if (rc == 0 && strcmp(buf, "STORED\r\n") != 0)
                errors++;
        } else {
            len = snprintf(req, sizeof(req), "get mcprobe:%u\r\n", key);
            if (send_all(fd, req, (size_t)len) < 0)
                break;
            rc = read_reply(fd, buf, sizeof(buf), "END\r\n", "ERROR\r\n");
            if (rc == 0 && strncmp(buf, "VALUE ", 6) != 0)
                errors++;
        }
        if (rc < 0) {
            if (!stop)
                errors++;
            break;
        }
        if (n == cap) {
            cap *= 2;
            lat = realloc(lat, cap * sizeof(*lat));
        }
        lat[n++] = now_ns() - t0;
    }
    if (n == 0) {
        printf("ops=0 errors=%lu\n", errors);
        return 1;
    }
    qsort(lat, n, sizeof(*lat), cmp_u64);
#define PCT(p) ((double)lat[(size_t)((double)(n - 1) * (p))] / 1000.0)
    printf("ops=%zu errors=%lu p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n", n, errors, PCT(0.50), PCT(0.90),
           PCT(0.99), (double)lat[n - 1] / 1000.0);
    return 0;
}
