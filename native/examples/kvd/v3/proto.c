/*
 * kvd protocol: the memcached text protocol. Parses complete command lines
 * from a connection's input buffer, executes them against the store and
 * queues the replies.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvd.h"

static size_t tokenize(char *line, char **tokens, size_t max)
{
    size_t n = 0;
    char *p = line;

    while (*p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (n == max)
            return max + 1;
        tokens[n++] = p;
        while (*p != '\0' && *p != ' ')
            p++;
        if (*p == ' ')
            *p++ = '\0';
    }
    return n;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static int parse_u32(const char *s, unsigned int *out)
{
    uint64_t v;

    if (!parse_u64(s, &v) || v > 0xffffffffu)
        return 0;
    *out = (unsigned int)v;
    return 1;
}

static int parse_int(const char *s, int *out)
{
    char *end;
    long v;

    if (*s == '\0')
        return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < -2147483647L || v > 2147483647L)
        return 0;
    *out = (int)v;
    return 1;
}

static int key_ok(const char *key, size_t *nkey)
{
    *nkey = strlen(key);
    return *nkey > 0 && *nkey <= KEY_MAX_LENGTH;
}

static void reply(struct conn *c, int noreply, const char *msg)
{
    if (!noreply)
        conn_outs(c, msg);
}

/*
 * get|gets <key>*: `keys` is the rest of the command line. A get may name
 * any number of keys, so it is walked here rather than tokenized.
 */
static void process_get_command(struct conn *c, char *keys, int return_cas)
{
    char line[KEY_MAX_LENGTH + 96];
    char *p = keys;
    int nkeys = 0;

    for (;;) {
        struct item *it;
        char *key;
        size_t nkey;
        int len;

        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        key = p;
        while (*p != '\0' && *p != ' ')
            p++;
        if (*p == ' ')
            *p++ = '\0';
        nkeys++;
        if (!key_ok(key, &nkey)) {
            conn_outs(c, "CLIENT_ERROR bad command line format\r\n");
            return;
        }
        stats.cmd_get++;
        it = item_get(key, nkey, current_time);
        if (it == NULL) {
            stats.get_misses++;
            continue;
        }
        stats.get_hits++;
        if (return_cas)
            len = snprintf(line, sizeof(line), "VALUE %s %u %zu %" PRIu64 "\r\n", it->key,
                           it->flags, it->nbytes, it->cas);
        else
            len = snprintf(line, sizeof(line), "VALUE %s %u %zu\r\n", it->key, it->flags,
                           it->nbytes);
        conn_out(c, line, (size_t)len);
        conn_out(c, it->data, it->nbytes);
        conn_out(c, "\r\n", 2);
    }
    if (nkeys == 0) {
        conn_outs(c, "ERROR\r\n");
        return;
    }
    conn_outs(c, "END\r\n");
}

/*
 * set/add/replace/append/prepend <key> <flags> <exptime> <bytes> [noreply]
 * cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
 * Returns the number of input bytes consumed, 0 when the value is not all here.
 */
static size_t process_update_command(struct conn *c, char **tokens, size_t ntok,
                                     enum store_cmd cmd, size_t linelen, const char *data,
                                     size_t avail)
{
    size_t nargs = cmd == CMD_CAS ? 6 : 5;
    size_t nkey;
    unsigned int flags;
    int exptime;
    int vlen;
    uint64_t cas = 0;
    int noreply = 0;
    enum store_result r;

    if (ntok == nargs + 1 && strcmp(tokens[nargs], "noreply") == 0)
        noreply = 1;
    else if (ntok != nargs) {
        conn_outs(c, "ERROR\r\n");
        return linelen;
    }
    if (!parse_int(tokens[4], &vlen) || vlen < 0) {
        conn_outs(c, "CLIENT_ERROR bad command line format\r\n");
        return linelen;
    }
    if (!key_ok(tokens[1], &nkey) || !parse_u32(tokens[2], &flags) ||
        !parse_int(tokens[3], &exptime) || (cmd == CMD_CAS && !parse_u64(tokens[5], &cas))) {
        conn_outs(c, "CLIENT_ERROR bad command line format\r\n");
        c->swallow = (size_t)vlen + 2;
        return linelen;
    }
    if (vlen > ITEM_SIZE_MAX) {
        conn_outs(c, "SERVER_ERROR object too large for cache\r\n");
        c->swallow = (size_t)vlen + 2;
        return linelen;
    }
    if (avail < (size_t)vlen + 2)
        return 0;
    if (data[vlen] != '\r' || data[vlen + 1] != '\n') {
        conn_outs(c, "CLIENT_ERROR bad data chunk\r\n");
        return linelen + (size_t)vlen + 2;
    }

    stats.cmd_set++;
    r = store_item(cmd, tokens[1], nkey, flags, exptime, data, (size_t)vlen, cas);
    switch (r) {
    case STORE_STORED:
        if (cmd == CMD_CAS)
            stats.cas_hits++;
        reply(c, noreply, "STORED\r\n");
        break;
    case STORE_NOT_STORED:
        reply(c, noreply, "NOT_STORED\r\n");
        break;
    case STORE_EXISTS:
        stats.cas_badval++;
        reply(c, noreply, "EXISTS\r\n");
        break;
    case STORE_NOT_FOUND:
        stats.cas_misses++;
        reply(c, noreply, "NOT_FOUND\r\n");
        break;
    case STORE_NO_MEMORY:
        reply(c, noreply, "SERVER_ERROR out of memory storing object\r\n");
        break;
    }
    return linelen + (size_t)vlen + 2;
}

static void process_delete_command(struct conn *c, char **tokens, size_t ntok)
{
    size_t nkey;
    int noreply = 0;

    if (ntok > 2 && strcmp(tokens[ntok - 1], "noreply") == 0) {
        noreply = 1;
        ntok--;
    }
    /* "delete <key> 0" is accepted for old clients. */
    if (ntok < 2 || ntok > 3 || (ntok == 3 && strcmp(tokens[2], "0") != 0)) {
        conn_outs(c, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
        return;
    }
    if (!key_ok(tokens[1], &nkey)) {
        conn_outs(c, "CLIENT_ERROR bad command line format\r\n");
        return;
    }
    if (item_delete(tokens[1], nkey)) {
        stats.delete_hits++;
        reply(c, noreply, "DELETED\r\n");
    } else {
        stats.delete_misses++;
        reply(c, noreply, "NOT_FOUND\r\n");
    }
}

static void process_arithmetic_command(struct conn *c, char **tokens, size_t ntok, int incr)
{
    char buf[32];
    size_t nkey;
    uint64_t delta;
    uint64_t result;
    int noreply = 0;

    if (ntok == 4 && strcmp(tokens[3], "noreply") == 0)
        noreply = 1;
    else if (ntok != 3) {
        conn_outs(c, "ERROR\r\n");
        return;
    }
    if (!key_ok(tokens[1], &nkey)) {
        conn_outs(c, "CLIENT_ERROR bad command line format\r\n");
        return;
    }
    if (!parse_u64(tokens[2], &delta)) {
        conn_outs(c, "CLIENT_ERROR invalid numeric delta argument\r\n");
        return;
    }
    switch (item_delta(tokens[1], nkey, incr, delta, &result)) {
    case DELTA_OK:
        if (incr)
            stats.incr_hits++;
        else
            stats.decr_hits++;
        if (!noreply) {
            int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\r\n", result);

            conn_out(c, buf, (size_t)len);
        }
        break;
    case DELTA_NOT_FOUND:
        if (incr)
            stats.incr_misses++;
        else
            stats.decr_misses++;
        reply(c, noreply, "NOT_FOUND\r\n");
        break;
    case DELTA_NON_NUMERIC:
        conn_outs(c, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
        break;
    case DELTA_NO_MEMORY:
        conn_outs(c, "SERVER_ERROR out of memory\r\n");
        break;
    }
}

static void process_touch_command(struct conn *c, char **tokens, size_t ntok)
{
    size_t nkey;
    int exptime;
    int noreply = 0;

    if (ntok == 4 && strcmp(tokens[3], "noreply") == 0)
        noreply = 1;
    else if (ntok != 3) {
        conn_outs(c, "ERROR\r\n");
        return;
    }
    if (!key_ok(tokens[1], &nkey) || !parse_int(tokens[2], &exptime)) {
        conn_outs(c, "CLIENT_ERROR bad command line format\r\n");
        return;
    }
    stats.cmd_touch++;
    if (item_touch(tokens[1], nkey, exptime)) {
        stats.touch_hits++;
        reply(c, noreply, "TOUCHED\r\n");
    } else {
        stats.touch_misses++;
        reply(c, noreply, "NOT_FOUND\r\n");
    }
}

static void process_flush_command(struct conn *c, char **tokens, size_t ntok)
{
    int delay = 0;
    int noreply = 0;

    if (ntok > 1 && strcmp(tokens[ntok - 1], "noreply") == 0) {
        noreply = 1;
        ntok--;
    }
    if (ntok > 2 || (ntok == 2 && (!parse_int(tokens[1], &delay) || delay < 0))) {
        conn_outs(c, "CLIENT_ERROR bad command line format\r\n");
        return;
    }
    stats.cmd_flush++;
    store_flush(delay);
    reply(c, noreply, "OK\r\n");
}

static void process_verbosity_command(struct conn *c, char **tokens, size_t ntok)
{
    int level;
    int noreply = 0;

    if (ntok > 1 && strcmp(tokens[ntok - 1], "noreply") == 0) {
        noreply = 1;
        ntok--;
    }
    if (ntok == 1 && noreply)
        return;     /* "verbosity noreply": nothing to do, nothing to say */
    if (ntok != 2 || !parse_int(tokens[1], &level)) {
        conn_outs(c, "ERROR\r\n");
        return;
    }
    settings.verbose = level < 0 ? 0 : level;
    reply(c, noreply, "OK\r\n");
}

static void stat_u64(struct conn *c, const char *name, uint64_t v)
{
    char buf[128];
    int len = snprintf(buf, sizeof(buf), "STAT %s %" PRIu64 "\r\n", name, v);

    conn_out(c, buf, (size_t)len);
}

static void process_stats_command(struct conn *c, char **tokens, size_t ntok)
{
    static unsigned long calls;     /* "stats" requests served since start */
    time_t now = current_time;
    char buf[128];
    int len;

    if (ntok == 2 && strcmp(tokens[1], "conns") == 0) {
        int fd;

        for (fd = 0; fd < MAX_FDS; fd++) {
            if (conn_table[fd] != NULL)
                conn_report(c, conn_table[fd]);
        }
        conn_outs(c, "END\r\n");
        return;
    }
    if (ntok == 2 && strcmp(tokens[1], "reset") == 0) {
        unsigned int curr = stats.curr_conns;
        unsigned long total = stats.total_conns;

        memset(&stats, 0, sizeof(stats));
        stats.curr_conns = curr;
        stats.total_conns = total;
        conn_outs(c, "RESET\r\n");
        return;
    }
    if (ntok != 1) {
        conn_outs(c, "ERROR\r\n");
        return;
    }
    calls++;
    stat_u64(c, "pid", (uint64_t)getpid());
    stat_u64(c, "uptime", (uint64_t)(now - process_started));
    stat_u64(c, "time", (uint64_t)now);
    len = snprintf(buf, sizeof(buf), "STAT version %s-kvd\r\n", KVD_VERSION);
    conn_out(c, buf, (size_t)len);
    stat_u64(c, "pointer_size", (uint64_t)(8 * sizeof(void *)));
    stat_u64(c, "curr_connections", stats.curr_conns);
    stat_u64(c, "total_connections", stats.total_conns);
    stat_u64(c, "cmd_get", stats.cmd_get);
    stat_u64(c, "cmd_set", stats.cmd_set);
    stat_u64(c, "cmd_flush", stats.cmd_flush);
    stat_u64(c, "cmd_touch", stats.cmd_touch);
    stat_u64(c, "get_hits", stats.get_hits);
    stat_u64(c, "get_misses", stats.get_misses);
    stat_u64(c, "delete_misses", stats.delete_misses);
    stat_u64(c, "delete_hits", stats.delete_hits);
    stat_u64(c, "incr_misses", stats.incr_misses);
    stat_u64(c, "incr_hits", stats.incr_hits);
    stat_u64(c, "decr_misses", stats.decr_misses);
    stat_u64(c, "decr_hits", stats.decr_hits);
    stat_u64(c, "cas_misses", stats.cas_misses);
    stat_u64(c, "cas_hits", stats.cas_hits);
    stat_u64(c, "cas_badval", stats.cas_badval);
    stat_u64(c, "touch_hits", stats.touch_hits);
    stat_u64(c, "touch_misses", stats.touch_misses);
    stat_u64(c, "bytes_read", stats.bytes_read);
    stat_u64(c, "bytes_written", stats.bytes_written);
    stat_u64(c, "limit_maxbytes", settings.maxbytes);
    stat_u64(c, "bytes", store_bytes());
    stat_u64(c, "curr_items", store_count());
    stat_u64(c, "total_items", stats.total_items);
    stat_u64(c, "evictions", stats.evictions);
    stat_u64(c, "expired_swept", stats.expired_swept);
    stat_u64(c, "reclaimed", items_reclaimed);
    stat_u64(c, "stats_calls", calls);
    conn_outs(c, "END\r\n");
}

static enum cmd_kind cmd_kind_of(const char *cmd)
{
    if (strcmp(cmd, "get") == 0 || strcmp(cmd, "gets") == 0)
        return KIND_GET;
    if (strcmp(cmd, "set") == 0 || strcmp(cmd, "add") == 0 || strcmp(cmd, "replace") == 0 ||
        strcmp(cmd, "append") == 0 || strcmp(cmd, "prepend") == 0 || strcmp(cmd, "cas") == 0)
        return KIND_SET;
    if (strcmp(cmd, "delete") == 0)
        return KIND_DELETE;
    if (strcmp(cmd, "incr") == 0 || strcmp(cmd, "decr") == 0)
        return KIND_ARITH;
    if (strcmp(cmd, "touch") == 0)
        return KIND_TOUCH;
    if (strcmp(cmd, "flush_all") == 0)
        return KIND_FLUSH;
    return KIND_OTHER;
}

/*
 * Execute the command line at the start of the unconsumed input.
 * Returns the number of bytes consumed, 0 if more input is needed.
 */
static size_t process_command(struct conn *c, char *line, size_t linelen, const char *after,
                              size_t avail_after)
{
    char *tokens[MAX_TOKENS];
    size_t ntok;
    const char *cmd;

    if (strncmp(line, "get ", 4) == 0 || strcmp(line, "get") == 0 || strncmp(line, "gets ", 5) == 0 ||
        strcmp(line, "gets") == 0) {
        int return_cas = line[3] == 's';

        c->ncmds++;
        c->cmd_counts[KIND_GET]++;
        process_get_command(c, line + (return_cas ? 4 : 3), return_cas);
        return linelen;
    }
    ntok = tokenize(line, tokens, MAX_TOKENS);

    if (ntok == 0) {
        conn_outs(c, "ERROR\r\n");
        return linelen;
    }
    if (ntok > MAX_TOKENS) {
        conn_outs(c, "CLIENT_ERROR too many tokens\r\n");
        return linelen;
    }
    c->ncmds++;
    cmd = tokens[0];
    c->cmd_counts[cmd_kind_of(cmd)]++;
    if (strcmp(cmd, "set") == 0) {
        return process_update_command(c, tokens, ntok, CMD_SET, linelen, after, avail_after);
    } else if (strcmp(cmd, "add") == 0) {
        return process_update_command(c, tokens, ntok, CMD_ADD, linelen, after, avail_after);
    } else if (strcmp(cmd, "replace") == 0) {
        return process_update_command(c, tokens, ntok, CMD_REPLACE, linelen, after, avail_after);
    } else if (strcmp(cmd, "append") == 0) {
        return process_update_command(c, tokens, ntok, CMD_APPEND, linelen, after, avail_after);
    } else if (strcmp(cmd, "prepend") == 0) {
        return process_update_command(c, tokens, ntok, CMD_PREPEND, linelen, after, avail_after);
    } else if (strcmp(cmd, "cas") == 0) {
        return process_update_command(c, tokens, ntok, CMD_CAS, linelen, after, avail_after);
    } else if (strcmp(cmd, "delete") == 0) {
        process_delete_command(c, tokens, ntok);
    } else if (strcmp(cmd, "incr") == 0) {
        process_arithmetic_command(c, tokens, ntok, 1);
    } else if (strcmp(cmd, "decr") == 0) {
        process_arithmetic_command(c, tokens, ntok, 0);
    } else if (strcmp(cmd, "touch") == 0) {
        process_touch_command(c, tokens, ntok);
    } else if (strcmp(cmd, "flush_all") == 0) {
        process_flush_command(c, tokens, ntok);
    } else if (strcmp(cmd, "version") == 0) {
        if (ntok != 1)
            conn_outs(c, "ERROR\r\n");
        else
            conn_outs(c, "VERSION " KVD_VERSION "-kvd\r\n");
    } else if (strcmp(cmd, "verbosity") == 0) {
        process_verbosity_command(c, tokens, ntok);
    } else if (strcmp(cmd, "stats") == 0) {
        process_stats_command(c, tokens, ntok);
    } else if (strcmp(cmd, "quit") == 0) {
        if (ntok != 1) {
            conn_outs(c, "ERROR\r\n");
        } else {
            c->close_after_write = true;
            return linelen + avail_after;   /* ignore anything pipelined after quit */
        }
    } else {
        conn_outs(c, "ERROR\r\n");
    }
    return linelen;
}

static int is_get_line(const char *p, size_t n)
{
    return (n >= 4 && memcmp(p, "get ", 4) == 0) || (n >= 5 && memcmp(p, "gets ", 5) == 0);
}

void proto_process(struct conn *c)
{
    char line[LINE_MAX_LENGTH + 1];

    while (c->state == CONN_READ && c->rpos < c->rlen) {
        const char *start = c->rbuf + c->rpos;
        size_t avail = c->rlen - c->rpos;
        const char *nl;
        size_t linelen;
        size_t textlen;
        size_t limit;
        size_t used;
        char *text;

        if (c->swallow > 0) {
            size_t n = avail < c->swallow ? avail : c->swallow;

            c->swallow -= n;
            c->rpos += n;
            continue;
        }
        if (c->wlen - c->wpos >= WBUF_HIGH_WATER)
            break;
        if ((unsigned char)start[0] == 0x80) {
            /* binary protocol request magic: not spoken here */
            kvd_log(1, "fd %d: binary protocol request, closing", c->fd);
            c->state = CONN_CLOSING;
            break;
        }
        nl = memchr(start, '\n', avail);
        limit = is_get_line(start, avail) ? GET_LINE_MAX_LENGTH : LINE_MAX_LENGTH;
        if (nl == NULL) {
            if (avail > limit) {
                conn_outs(c, "CLIENT_ERROR line is too long\r\n");
                c->close_after_write = true;
                c->rpos = c->rlen;
            }
            break;
        }
        linelen = (size_t)(nl - start) + 1;
        if (linelen > limit) {
            conn_outs(c, "CLIENT_ERROR line is too long\r\n");
            c->rpos += linelen;
            continue;
        }
        textlen = linelen - 1;
        if (textlen > 0 && start[textlen - 1] == '\r')
            textlen--;
        text = line;
        if (textlen > LINE_MAX_LENGTH) {
            text = malloc(textlen + 1);     /* a get naming many keys */
            if (text == NULL) {
                c->state = CONN_CLOSING;
                break;
            }
        }
        memcpy(text, start, textlen);
        text[textlen] = '\0';
        used = process_command(c, text, linelen, start + linelen, avail - linelen);
        if (text != line)
            free(text);
        if (used == 0)
            break;      /* a value that has not fully arrived */
        c->rpos += used;
    }
    if (c->rpos == c->rlen) {
        c->rpos = c->rlen = 0;
    } else if (c->rpos > 0 && c->rcap - c->rlen < 1024) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
}
