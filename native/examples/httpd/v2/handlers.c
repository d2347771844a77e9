/*
 * httpd handlers: the route table and what each route does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"

typedef void (*handler_fn)(struct conn *c, const struct request *req);

struct route {
    enum http_method method;
    const char *path;       /* exact path, or a prefix when it ends in '/' */
    handler_fn handler;
};

static const char index_html[] =
    "<!DOCTYPE html>\n"
    "<html><head><title>httpd</title></head>\n"
    "<body><h1>httpd</h1>\n"
    "<ul><li><a href=\"/stats\">/stats</a></li>\n"
    "<li>/static/&lt;file&gt;</li>\n"
    "<li>GET, POST and DELETE /kv/&lt;key&gt;</li>\n"
    "<li><a href=\"/version\">/version</a></li></ul>\n"
    "</body></html>\n";

static void handle_index(struct conn *c, const struct request *req)
{
    (void)req;
    send_response(c, 200, "text/html; charset=utf-8", index_html, sizeof(index_html) - 1, NULL);
}

static void handle_version(struct conn *c, const struct request *req)
{
    (void)req;
    send_response(c, 200, "text/plain; charset=utf-8", HTTPD_SERVER_NAME "\n",
                  sizeof(HTTPD_SERVER_NAME), NULL);
}

static unsigned long static_served;    /* files sent from the docroot */

static void handle_stats(struct conn *c, const struct request *req)
{
    char body[1024];
    int n;

    (void)req;
    n = snprintf(body, sizeof(body),
                 "version: " HTTPD_SERVER_NAME "\n"
                 "uptime: %ld\n"
                 "connections_total: %llu\n"
                 "connections_current: %d\n"
                 "requests: %llu\n"
                 "responses_2xx: %d\n"
                 "responses_3xx: %d\n"
                 "responses_4xx: %d\n"
                 "responses_5xx: %d\n"
                 "bytes_in: %ld\n"
                 "bytes_out: %ld\n"
                 "kv_keys: %lu\n"
                 "kv_bytes: %zu\n"
                 "kv_puts: %llu\n"
                 "kv_deletes: %llu\n"
                 "idle_closed: %llu\n"
                 "static_served: %lu\n"
                 "last_user_agent: %s\n",
                 (long)(time(NULL) - process_started), stats.connections_total,
                 stats.connections_current, stats.requests, stats.responses_2xx,
                 stats.responses_3xx, stats.responses_4xx, stats.responses_5xx, stats.bytes_in,
                 stats.bytes_out, kv_count(), kv_bytes_stored(), stats.kv_puts, stats.kv_deletes,
                 idle_closed, static_served,
                 stats.last_user_agent);
    send_response(c, 200, "text/plain; charset=utf-8", body, (size_t)n,
                  "Cache-Control: no-store\r\n");
}

struct mime_type {
    const char *ext;
    const char *type;
};

static const char *content_type_for(const char *name)
{
    static const struct mime_type types[] = {
        {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"}, {".css", "text/css"},
        {".js", "application/javascript"},     {".json", "application/json"},
        {".png", "image/png"},                 {".jpg", "image/jpeg"},
        {".svg", "image/svg+xml"},
    };
    const char *dot = strrchr(name, '.');
    size_t i;

    if (dot != NULL) {
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}

static void handle_static(struct conn *c, const struct request *req)
{
    const char *name = req->path + strlen("/static/");
    char fpath[4096];
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd;

    if (*name == '\0' || strstr(name, "..") != NULL || name[0] == '/') {
        send_error(c, 404);
        return;
    }
    if ((size_t)snprintf(fpath, sizeof(fpath), "%s/%s", settings.docroot, name) >= sizeof(fpath)) {
        send_error(c, 414);
        return;
    }
    do {
        fd = open(fpath, O_RDONLY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        send_error(c, errno == EACCES ? 403 : 404);
        return;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        send_error(c, 404);
        return;
    }
    if (st.st_size > MAX_FILE_BYTES) {
        close(fd);
        send_error(c, 403);
        return;
    }
    buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (buf == NULL) {
        close(fd);
        send_error(c, 500);
        return;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        send_error(c, 500);
        return;
    }
    send_response(c, 200, content_type_for(name), buf, got, NULL);
    free(buf);
    static_served++;
}

static int kv_key_ok(const char *key)
{
    size_t n = strlen(key);

    return n > 0 && n <= KV_KEY_MAX && strchr(key, '/') == NULL;
}

static void handle_kv_get(struct conn *c, const struct request *req)
{
    const char *key = req->path + strlen("/kv/");
    const char *value;
    size_t len;

    if (!kv_key_ok(key)) {
        send_error(c, 400);
        return;
    }
    value = kv_get(key, &len);
    if (value == NULL) {
        send_error(c, 404);
        return;
    }
    send_response(c, 200, "application/octet-stream", value, len, "Cache-Control: no-store\r\n");
}

static void handle_kv_put(struct conn *c, const struct request *req)
{
    const char *key = req->path + strlen("/kv/");
    int r;

    if (!kv_key_ok(key)) {
        send_error(c, 400);
        return;
    }
    r = kv_put(key, req->body, req->body_len);
    if (r < 0) {
        send_error(c, 500);
        return;
    }
    stats.kv_puts++;
    if (r > 0)
        send_response(c, 201, "text/plain; charset=utf-8", "created\n", 8, NULL);
    else
        send_response(c, 200, "text/plain; charset=utf-8", "updated\n", 8, NULL);
}

static void handle_kv_delete(struct conn *c, const struct request *req)
{
    const char *key = req->path + strlen("/kv/");

    if (!kv_key_ok(key)) {
        send_error(c, 400);
        return;
    }
    if (!kv_delete(key)) {
        send_error(c, 404);
        return;
    }
    stats.kv_deletes++;
    send_response(c, 200, "text/plain; charset=utf-8", "deleted\n", 8, NULL);
}

static const struct route routes[] = {
    {METHOD_GET, "/", handle_index},
    {METHOD_GET, "/stats", handle_stats},
    {METHOD_GET, "/version", handle_version},
    {METHOD_GET, "/static/", handle_static},
    {METHOD_GET, "/kv/", handle_kv_get},
    {METHOD_POST, "/kv/", handle_kv_put},
    {METHOD_PUT, "/kv/", handle_kv_put},
    {METHOD_DELETE, "/kv/", handle_kv_delete},
};

static int route_matches(const struct route *r, const char *path)
{
    size_t n = strlen(r->path);

    if (n > 1 && r->path[n - 1] == '/')
        return strncmp(path, r->path, n) == 0;
    return strcmp(path, r->path) == 0;
}

void dispatch(struct conn *c, const struct request *req)
{
    enum http_method method = req->method == METHOD_HEAD ? METHOD_GET : req->method;
    char allow[64] = "";
    size_t i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!route_matches(&routes[i], req->path))
            continue;
        if (routes[i].method == method) {
            routes[i].handler(c, req);
            return;
        }
        if (strlen(allow) + strlen(method_name(routes[i].method)) + 3 < sizeof(allow)) {
            if (allow[0] != '\0')
                strcat(allow, ", ");
            strcat(allow, method_name(routes[i].method));
        }
    }
    if (allow[0] != '\0') {
        char hdr[96];
        char body[64];
        int n = snprintf(body, sizeof(body), "405 %s\n", status_text(405));

        snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
        send_response(c, 405, "text/plain", body, (size_t)n, hdr);
        return;
    }
    send_error(c, 404);
}
