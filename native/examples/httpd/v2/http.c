/*
 * httpd HTTP layer: finds complete requests in a connection's input,
 * parses the request line and the headers we care about, hands the request
 * to the dispatcher and formats responses.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpd.h"

const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static enum http_method parse_method(const char *s)
{
    if (strcmp(s, "GET") == 0)
        return METHOD_GET;
    if (strcmp(s, "HEAD") == 0)
        return METHOD_HEAD;
    if (strcmp(s, "POST") == 0)
        return METHOD_POST;
    if (strcmp(s, "PUT") == 0)
        return METHOD_PUT;
    if (strcmp(s, "DELETE") == 0)
        return METHOD_DELETE;
    return METHOD_UNKNOWN;
}

const char *method_name(enum http_method m)
{
    switch (m) {
    case METHOD_GET: return "GET";
    case METHOD_HEAD: return "HEAD";
    case METHOD_POST: return "POST";
    case METHOD_PUT: return "PUT";
    case METHOD_DELETE: return "DELETE";
    default: return "?";
    }
}

static void count_status(int status)
{
    if (status < 300)
        stats.responses_2xx++;
    else if (status < 400)
        stats.responses_3xx++;
    else if (status < 500)
        stats.responses_4xx++;
    else
        stats.responses_5xx++;
}

/* The Date header value, formatted at most once per second. */
static const char *http_date(time_t now)
{
    static char cached[64];
    static time_t cached_at = -1;

    if (now != cached_at) {
        struct tm tm;

        gmtime_r(&now, &tm);
        strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_at = now;
    }
    return cached;
}

void send_response(struct conn *c, int status, const char *content_type, const char *body,
                   size_t len, const char *extra_headers)
{
    char head[1024];
    int n;

    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\n"
                 "Server: " HTTPD_SERVER_NAME "\r\n"
                 "Date: %s\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %zu\r\n"
                 "Connection: %s\r\n"
                 "%s"
                 "\r\n",
                 status, status_text(status), http_date(time(NULL)), content_type, len,
                 c->keep_alive ? "keep-alive" : "close", extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof(head)) {
        c->state = CONN_CLOSING;    /* extra_headers far too long: a bug, not a request */
        return;
    }
    conn_out(c, head, (size_t)n);
    if (c->method != METHOD_HEAD && len > 0)
        conn_out(c, body, len);
    c->status = (unsigned int)status;
    count_status(status);
}

void send_error(struct conn *c, int status)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, status_text(status));

    send_response(c, status, "text/plain", body, (size_t)n, NULL);
}

static const char *find_header_end(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i + 3 < n; i++) {
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return p + i;
    }
    return NULL;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode src into dst (size cap). Returns 0, or -1 if invalid/too long. */
static int url_decode(const char *src, size_t srclen, char *dst, size_t cap)
{
    size_t i;
    size_t o = 0;

    for (i = 0; i < srclen; i++) {
        int ch = (unsigned char)src[i];

        if (ch == '%') {
            int hi;
            int lo;

            if (i + 2 >= srclen)
                return -1;
            hi = hexval((unsigned char)src[i + 1]);
            lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        dst[o++] = (char)ch;
    }
    dst[o] = '\0';
    return 0;
}

/* Reject the request and drop the connection (the input can't be trusted). */
static void fail(struct conn *c, int status)
{
    c->keep_alive = 0;
    send_error(c, status);
    c->close_after_write = 1;
    c->rpos = c->rlen;
}

/*
 * Parse and answer one request at the start of the unconsumed input.
 * Returns 1 if one was handled, 0 if more input is needed.
 */
static int handle_one(struct conn *c)
{
    char head[MAX_HEADER_BYTES + 1];
    const char *start = c->rbuf + c->rpos;
    size_t avail = c->rlen - c->rpos;
    const char *end = find_header_end(start, avail);
    struct request req;
    size_t headlen;
    size_t clen = 0;
    int have_clen = 0;
    int conn_close = 0;
    int conn_keep = 0;
    char *line;
    char *next;
    char *sp1;
    char *sp2;
    char *q;

    if (end == NULL) {
        if (avail > MAX_HEADER_BYTES)
            fail(c, 431);
        return 0;
    }
    headlen = (size_t)(end - start) + 4;
    if (headlen > MAX_HEADER_BYTES) {
        fail(c, 431);
        return 0;
    }
    memcpy(head, start, headlen - 2);
    head[headlen - 2] = '\0';
    c->method = METHOD_GET;
    c->keep_alive = 1;
    c->user_agent[0] = '\0';

    /* request line: METHOD SP target SP HTTP/1.x */
    line = head;
    next = strstr(line, "\r\n");
    *next = '\0';
    next += 2;
    sp1 = strchr(line, ' ');
    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == line || sp1[1] != '/') {
        fail(c, 400);
        return 0;
    }
    *sp1 = '\0';
    *sp2 = '\0';
    if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)sp2[8]) || sp2[9] != '\0') {
        fail(c, strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400);
        return 0;
    }
    c->method = parse_method(line);
    if (c->method == METHOD_UNKNOWN) {
        c->method = METHOD_GET;
        fail(c, 501);
        return 0;
    }
    memset(&req, 0, sizeof(req));
    req.method = c->method;
    req.http_minor = sp2[8] - '0';
    q = strchr(sp1 + 1, '?');
    req.query = "";
    if (q != NULL) {
        *q = '\0';
        req.query = q + 1;
    }
    if (strlen(sp1 + 1) > MAX_PATH_LENGTH) {
        fail(c, 414);
        return 0;
    }
    if (url_decode(sp1 + 1, strlen(sp1 + 1), c->path, sizeof(c->path)) < 0) {
        fail(c, 400);
        return 0;
    }
    req.path = c->path;

    /* headers */
    for (line = next; line != NULL && *line != '\0'; line = next) {
        char *colon;
        char *value;

        next = strstr(line, "\r\n");
        if (next != NULL) {
            *next = '\0';
            next += 2;
        }
        colon = strchr(line, ':');
        if (colon == NULL) {
            fail(c, 400);
            return 0;
        }
        *colon = '\0';
        value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        if (strcasecmp(line, "Content-Length") == 0) {
            char *e;
            unsigned long long v;

            if (!isdigit((unsigned char)*value)) {
                fail(c, 400);
                return 0;
            }
            v = strtoull(value, &e, 10);
            if (*e != '\0' && *e != ' ') {
                fail(c, 400);
                return 0;
            }
            if (v > MAX_BODY_BYTES) {
                fail(c, 413);
                return 0;
            }
            clen = (size_t)v;
            have_clen = 1;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            fail(c, 501);
            return 0;
        } else if (strcasecmp(line, "User-Agent") == 0) {
            snprintf(c->user_agent, sizeof(c->user_agent), "%s", value);
        } else if (strcasecmp(line, "Connection") == 0) {
            if (strcasecmp(value, "close") == 0)
                conn_close = 1;
            else if (strcasecmp(value, "keep-alive") == 0)
                conn_keep = 1;
        }
    }
    if ((c->method == METHOD_POST || c->method == METHOD_PUT) && !have_clen) {
        fail(c, 411);
        return 0;
    }
    if (avail - headlen < clen)
        return 0;   /* body still arriving */

    req.keep_alive = req.http_minor >= 1 ? !conn_close : conn_keep;
    req.body = start + headlen;
    req.body_len = clen;
    c->keep_alive = req.keep_alive;
    stats.requests++;
    if (c->user_agent[0] != '\0')
        memcpy(stats.last_user_agent, c->user_agent, sizeof(stats.last_user_agent));

    dispatch(c, &req);

    c->rpos += headlen + clen;
    c->nrequests++;
    if (!c->keep_alive) {
        c->close_after_write = 1;
        c->rpos = c->rlen;
    }
    return 1;
}

void http_process(struct conn *c)
{
    while (c->state == CONN_ACTIVE && c->rpos < c->rlen) {
        if (c->wlen - c->wpos >= WBUF_HIGH_WATER)
            break;
        if (!handle_one(c))
            break;
        if (!c->keep_alive)
            break;
    }
    if (c->rpos == c->rlen) {
        c->rpos = c->rlen = 0;
    } else if (c->rpos > 0 && c->rcap - c->rlen < 1024) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
}
