/*
 * kvd - a small memcached-compatible key/value daemon (text protocol).
 *
 * Single threaded: one poll() loop in main.c drives every connection.
 * proto.c parses and executes commands, store.c owns the items (hash table,
 * LRU list, memory limit).
 */
#ifndef KVD_H
#define KVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define KVD_VERSION "1.0.3"

#define KEY_MAX_LENGTH 250
#define ITEM_SIZE_MAX (1024 * 1024)      /* largest value accepted */
#define LINE_MAX_LENGTH 2048             /* longest command line */
#define GET_LINE_MAX_LENGTH (256 * 1024)  /* get/gets lines may name many keys */
#define MAX_TOKENS 24
#define MAX_FDS 4096                     /* connections are indexed by fd */
#define RBUF_INITIAL 4096
#define RBUF_MAX (ITEM_SIZE_MAX + LINE_MAX_LENGTH + 8192)
#define WBUF_HIGH_WATER (4 * 1024 * 1024) /* stop reading while this much output is queued */
#define SWEEP_INTERVAL 1                 /* seconds between expiry sweeps */
#define SWEEP_BUCKETS 4096               /* hash buckets examined per sweep */
#define PEER_NAME_MAX 48

/* Per-connection command counters ("stats conns"). */
enum cmd_kind {
    KIND_GET, KIND_SET, KIND_DELETE, KIND_ARITH, KIND_TOUCH, KIND_FLUSH, KIND_OTHER,
    KIND_COUNT
};

/* One stored key/value pair. Key and value live in their own allocations. */
struct item {
    struct item *h_next;        /* hash bucket chain */
    struct item *prev;          /* LRU list: towards the head (most recent) */
    struct item *next;          /* LRU list: towards the tail (least recent) */
    char *key;                  /* nkey bytes + NUL */
    char *data;                 /* nbytes bytes (no trailing CRLF) */
    size_t nbytes;
    unsigned int nkey;
    unsigned int flags;         /* opaque client flags */
    long long exptime;          /* absolute unix time, 0 = never (64-bit: safe past 2038) */
    time_t time;                /* last access */
    uint64_t cas;
};

enum conn_state {
    CONN_READ,                  /* reading and executing commands */
    CONN_CLOSING                /* flush nothing more, close */
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
    size_t swallow;             /* bytes of a refused value still to discard */
    bool close_after_write;     /* quit / fatal protocol error */
    uint64_t ncmds;             /* commands executed on this connection */
    time_t last_active;
    uint64_t bytes_in;          /* read from the client on this connection */
    uint64_t bytes_out;         /* written to the client on this connection */
    time_t connected_at;
    char peer[PEER_NAME_MAX];   /* "address:port" of the client */
    unsigned long cmd_counts[KIND_COUNT];
};

struct kvd_stats {
    unsigned int curr_conns;
    unsigned long total_conns;
    uint64_t cmd_get;
    uint64_t cmd_set;
    unsigned long cmd_flush;
    unsigned long cmd_touch;
    uint64_t get_hits;
    uint64_t get_misses;
    unsigned long delete_hits;
    unsigned long delete_misses;
    unsigned long incr_hits;
    unsigned long incr_misses;
    unsigned long decr_hits;
    unsigned long decr_misses;
    unsigned long cas_hits;
    unsigned long cas_misses;
    unsigned long cas_badval;
    unsigned long touch_hits;
    unsigned long touch_misses;
    unsigned long evictions;
    uint64_t expired_swept;     /* expired items freed by the periodic sweep */
    unsigned long total_items;
    uint64_t bytes_read;
    uint64_t bytes_written;
};

struct settings {
    int port;
    const char *bind_addr;
    size_t maxbytes;
    int verbose;
};

/* Storage command kinds. */
enum store_cmd { CMD_SET, CMD_ADD, CMD_REPLACE, CMD_APPEND, CMD_PREPEND, CMD_CAS };

enum store_result { STORE_STORED, STORE_NOT_STORED, STORE_EXISTS, STORE_NOT_FOUND, STORE_NO_MEMORY };

enum delta_result { DELTA_OK, DELTA_NOT_FOUND, DELTA_NON_NUMERIC, DELTA_NO_MEMORY };

/* main.c */
extern struct settings settings;
extern struct kvd_stats stats;
extern time_t process_started;
extern time_t current_time;     /* refreshed once per event loop turn */
void conn_out(struct conn *c, const char *s, size_t n);
void conn_outs(struct conn *c, const char *s);
void kvd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conn_report(struct conn *out, const struct conn *c);   /* "stats conns" */
extern struct conn *conn_table[MAX_FDS];

/* proto.c */
void proto_process(struct conn *c);

/* store.c */
extern uint64_t items_reclaimed;    /* expired items found and freed on lookup */
void store_init(size_t maxbytes);
void store_shutdown(void);
struct item *item_get(const char *key, size_t nkey, time_t now);
enum store_result store_item(enum store_cmd cmd, const char *key, size_t nkey, unsigned int flags,
                             int exptime, const char *data, size_t nbytes, uint64_t cas);
int item_delete(const char *key, size_t nkey);
int item_touch(const char *key, size_t nkey, int exptime);
enum delta_result item_delta(const char *key, size_t nkey, int incr, uint64_t delta,
                             uint64_t *result);
void store_flush(int delay);
unsigned long store_count(void);
size_t store_bytes(void);
unsigned long store_sweep(time_t now, size_t max_buckets);

#endif /* KVD_H */
