/*
 * httpd - a small HTTP/1.1 server: an index page, static files, counters and
 * an in-memory key/value table, with keep-alive and request pipelining.
 *
 * Single threaded: one poll() loop in main.c drives every connection.
 * http.c parses requests and formats responses, handlers.c holds the route
 * table and the handlers, kv.c the key/value table.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTPD_RELEASE 2
#define HTTPD_SERVER_NAME "httpd/2"

#define MAX_FDS 4096                    /* connections are indexed by fd */
#define RBUF_INITIAL 4096
#define MAX_HEADER_BYTES 8192           /* request line + headers */
#define MAX_BODY_BYTES (1024 * 1024)    /* largest POST body */
#define RBUF_MAX (MAX_HEADER_BYTES + MAX_BODY_BYTES + 4096)
#define MAX_PATH_LENGTH 255
#define MAX_FILE_BYTES (16 * 1024 * 1024)
#define KV_KEY_MAX 250
#define WBUF_HIGH_WATER (4 * 1024 * 1024)
#define USER_AGENT_MAX 200
#define IDLE_TIMEOUT_DEFAULT 30         /* seconds a keep-alive connection may sit idle */

enum http_method {
    METHOD_UNKNOWN,
    METHOD_GET,
    METHOD_HEAD,
    METHOD_POST,
    METHOD_PUT,
    METHOD_DELETE
};

enum conn_state {
    CONN_ACTIVE,        /* reading requests, writing responses */
    CONN_CLOSING        /* drop it */
};

struct conn {
    int fd;
    enum conn_state state;
    char *rbuf;                 /* input; rbuf[rpos..rlen) not yet consumed */
    size_t rpos;
    size_t rlen;
    size_t rcap;
    char *wbuf;                 /* output; wbuf[wpos..wlen) not yet sent */
    size_t wpos;
    size_t wlen;
    size_t wcap;
    enum http_method method;    /* of the request being answered */
    char path[MAX_PATH_LENGTH + 1];
    int keep_alive;             /* keep the connection after this response */
    int close_after_write;      /* close once the output is sent */
    unsigned int status;        /* status of the last response */
    int nrequests;              /* requests answered on this connection */
    time_t last_active;
    char user_agent[USER_AGENT_MAX];    /* from the last request, truncated */
};

/* One parsed request; lives only while it is being handled. */
struct request {
    enum http_method method;
    const char *path;           /* without the query string */
    const char *query;          /* after '?', or "" */
    int http_minor;             /* HTTP/1.x */
    int keep_alive;
    const char *body;
    size_t body_len;
};

struct http_stats {
    unsigned long long connections_total;
    int connections_current;
    unsigned long long requests;
    int responses_2xx;
    int responses_3xx;
    int responses_4xx;
    int responses_5xx;
    long bytes_in;
    long bytes_out;
    unsigned long long kv_puts;
    unsigned long long kv_deletes;
    char last_user_agent[USER_AGENT_MAX];
};

struct settings {
    int port;
    const char *bind_addr;
    const char *docroot;
    int idle_timeout;           /* seconds; 0 = never close idle connections */
    int verbose;
};

/* main.c */
extern struct settings settings;
extern struct http_stats stats;
extern time_t process_started;
extern unsigned long long idle_closed;  /* connections closed for idling */
void conn_out(struct conn *c, const char *s, size_t n);
void httpd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* http.c */
void http_process(struct conn *c);
void send_response(struct conn *c, int status, const char *content_type, const char *body,
                   size_t len, const char *extra_headers);
void send_error(struct conn *c, int status);
const char *status_text(int status);
const char *method_name(enum http_method m);

/* handlers.c */
void dispatch(struct conn *c, const struct request *req);

/* kv.c */
void kv_init(void);
int kv_put(const char *key, const char *value, size_t len);  /* 1 new, 0 replaced, -1 no memory */
const char *kv_get(const char *key, size_t *len);
int kv_delete(const char *key);     /* 1 deleted, 0 not found */
unsigned long kv_count(void);
size_t kv_bytes_stored(void);
void kv_free_all(void);

#endif /* HTTPD_H */
