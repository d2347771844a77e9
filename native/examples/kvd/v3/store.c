/*
 * kvd store: a chained hash table of items, an LRU list for eviction and a
 * byte budget (settings.maxbytes). Expired items are reclaimed lazily when
 * they are looked up, or evicted from the LRU tail.
 */
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <stdio.h>

#include "kvd.h"

#define HASH_INITIAL_POWER 12
#define REALTIME_MAXDELTA (60 * 60 * 24 * 30)  /* larger exptimes are absolute */

static struct item **buckets;
static unsigned int hash_power;
static unsigned long item_count;
static size_t mem_used;
static size_t mem_limit;
static struct item *lru_head;   /* most recently used */
static struct item *lru_tail;   /* least recently used */
static uint64_t next_cas = 1;
static time_t oldest_live;      /* flush_all: items accessed at or before this are gone */
uint64_t items_reclaimed;
static size_t sweep_cursor;     /* next bucket the expiry sweep looks at */

static uint32_t hash_key(const char *key, size_t nkey)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    size_t i;

    for (i = 0; i < nkey; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

static size_t item_total(const struct item *it)
{
    return sizeof(*it) + it->nkey + 1 + it->nbytes;
}

static long long realtime(int exptime, time_t now)
{
    if (exptime == 0)
        return 0;
    if (exptime < 0)
        return (long long)now - 1;  /* already expired */
    if (exptime > REALTIME_MAXDELTA)
        return exptime;
    return (long long)now + exptime;
}

void store_init(size_t maxbytes)
{
    hash_power = HASH_INITIAL_POWER;
    buckets = calloc((size_t)1 << hash_power, sizeof(*buckets));
    if (buckets == NULL) {
        fprintf(stderr, "kvd: out of memory\n");
        exit(1);
    }
    mem_limit = maxbytes;
}

static void lru_unlink(struct item *it)
{
    if (it->prev != NULL)
        it->prev->next = it->next;
    else
        lru_head = it->next;
    if (it->next != NULL)
        it->next->prev = it->prev;
    else
        lru_tail = it->prev;
    it->prev = it->next = NULL;
}

static void lru_push(struct item *it)
{
    it->prev = NULL;
    it->next = lru_head;
    if (lru_head != NULL)
        lru_head->prev = it;
    lru_head = it;
    if (lru_tail == NULL)
        lru_tail = it;
}

static void hash_grow(void)
{
    unsigned int npower = hash_power + 1;
    size_t nb = (size_t)1 << npower;
    struct item **nbuckets = calloc(nb, sizeof(*nbuckets));
    size_t i;

    if (nbuckets == NULL)
        return;     /* keep the longer chains */
    for (i = 0; i < ((size_t)1 << hash_power); i++) {
        struct item *it = buckets[i];

        while (it != NULL) {
            struct item *next = it->h_next;
            uint32_t h = hash_key(it->key, it->nkey) & (uint32_t)(nb - 1);

            it->h_next = nbuckets[h];
            nbuckets[h] = it;
            it = next;
        }
    }
    free(buckets);
    buckets = nbuckets;
    hash_power = npower;
}

static struct item **hash_slot(const char *key, size_t nkey)
{
    uint32_t h = hash_key(key, nkey) & (uint32_t)(((size_t)1 << hash_power) - 1);
    struct item **pp = &buckets[h];

    while (*pp != NULL) {
        if ((*pp)->nkey == nkey && memcmp((*pp)->key, key, nkey) == 0)
            break;
        pp = &(*pp)->h_next;
    }
    return pp;
}

static void item_free(struct item *it)
{
    free(it->key);
    free(it->data);
    free(it);
}

static void item_unlink(struct item *it)
{
    struct item **pp = hash_slot(it->key, it->nkey);

    if (*pp == it)
        *pp = it->h_next;
    lru_unlink(it);
    item_count--;
    mem_used -= item_total(it);
    item_free(it);
}

static void item_link(struct item *it)
{
    struct item **pp;

    if (item_count >= ((unsigned long)3 << hash_power) / 2)
        hash_grow();
    pp = hash_slot(it->key, it->nkey);
    it->h_next = NULL;
    *pp = it;
    lru_push(it);
    item_count++;
    mem_used += item_total(it);
    stats.total_items++;
}

static int item_is_dead(const struct item *it, time_t now)
{
    if (it->exptime != 0 && it->exptime <= now)
        return 1;
    if (oldest_live != 0 && oldest_live <= now && it->time <= oldest_live)
        return 1;
    return 0;
}

/* Evict from the LRU tail until `need` more bytes fit. */
static int make_room(size_t need)
{
    if (need > mem_limit)
        return 0;
    while (mem_used + need > mem_limit && lru_tail != NULL) {
        item_unlink(lru_tail);
        stats.evictions++;
    }
    return 1;
}

static struct item *item_alloc(const char *key, size_t nkey, unsigned int flags, long long exptime,
                               const char *data, size_t nbytes, time_t now)
{
    struct item *it = calloc(1, sizeof(*it));

    if (it == NULL)
        return NULL;
    it->key = malloc(nkey + 1);
    it->data = malloc(nbytes > 0 ? nbytes : 1);
    if (it->key == NULL || it->data == NULL) {
        item_free(it);
        return NULL;
    }
    memcpy(it->key, key, nkey);
    it->key[nkey] = '\0';
    it->nkey = (unsigned int)nkey;
    if (nbytes > 0)
        memcpy(it->data, data, nbytes);
    it->nbytes = nbytes;
    it->flags = flags;
    it->exptime = exptime;
    it->time = now;
    it->cas = next_cas++;
    return it;
}

/* Find a live item; drops it if it has expired. */
static struct item *do_item_get(const char *key, size_t nkey, time_t now)
{
    struct item *it = *hash_slot(key, nkey);

    if (it == NULL)
        return NULL;
    if (item_is_dead(it, now)) {
        item_unlink(it);
        items_reclaimed++;
        return NULL;
    }
    return it;
}

struct item *item_get(const char *key, size_t nkey, time_t now)
{
    struct item *it = do_item_get(key, nkey, now);

    if (it != NULL) {
        it->time = now;
        lru_unlink(it);
        lru_push(it);
    }
    return it;
}

enum store_result store_item(enum store_cmd cmd, const char *key, size_t nkey, unsigned int flags,
                             int exptime, const char *data, size_t nbytes, uint64_t cas)
{
    time_t now = time(NULL);
    struct item *old = do_item_get(key, nkey, now);
    struct item *it;
    size_t need;

    switch (cmd) {
    case CMD_ADD:
        if (old != NULL) {
            /* add on an existing key still counts as an access */
            old->time = now;
            lru_unlink(old);
            lru_push(old);
            return STORE_NOT_STORED;
        }
        break;
    case CMD_REPLACE:
    case CMD_APPEND:
    case CMD_PREPEND:
        if (old == NULL)
            return STORE_NOT_STORED;
        break;
    case CMD_CAS:
        if (old == NULL)
            return STORE_NOT_FOUND;
        if (old->cas != cas)
            return STORE_EXISTS;
        break;
    case CMD_SET:
        break;
    }

    if (cmd == CMD_APPEND || cmd == CMD_PREPEND) {
        size_t total = old->nbytes + nbytes;
        char *buf;

        if (total > ITEM_SIZE_MAX)
            return STORE_NOT_STORED;
        buf = malloc(total > 0 ? total : 1);
        if (buf == NULL)
            return STORE_NO_MEMORY;
        if (cmd == CMD_APPEND) {
            memcpy(buf, old->data, old->nbytes);
            memcpy(buf + old->nbytes, data, nbytes);
        } else {
            memcpy(buf, data, nbytes);
            memcpy(buf + nbytes, old->data, old->nbytes);
        }
        it = item_alloc(key, nkey, old->flags, old->exptime, buf, total, now);
        free(buf);
    } else {
        it = item_alloc(key, nkey, flags, realtime(exptime, now), data, nbytes, now);
    }
    if (it == NULL)
        return STORE_NO_MEMORY;
    if (old != NULL)
        item_unlink(old);
    need = item_total(it);
    if (!make_room(need)) {
        item_free(it);
        return STORE_NO_MEMORY;
    }
    item_link(it);
    return STORE_STORED;
}

int item_delete(const char *key, size_t nkey)
{
    struct item *it = do_item_get(key, nkey, time(NULL));

    if (it == NULL)
        return 0;
    item_unlink(it);
    return 1;
}

int item_touch(const char *key, size_t nkey, int exptime)
{
    time_t now = time(NULL);
    struct item *it = do_item_get(key, nkey, now);

    if (it == NULL)
        return 0;
    it->exptime = realtime(exptime, now);
    it->time = now;
    lru_unlink(it);
    lru_push(it);
    return 1;
}

enum delta_result item_delta(const char *key, size_t nkey, int incr, uint64_t delta,
                             uint64_t *result)
{
    time_t now = time(NULL);
    struct item *it = do_item_get(key, nkey, now);
    char buf[24];
    char *nd;
    uint64_t value = 0;
    size_t i;
    int len;

    if (it == NULL)
        return DELTA_NOT_FOUND;
    if (it->nbytes == 0 || it->nbytes > 20)
        return DELTA_NON_NUMERIC;
    for (i = 0; i < it->nbytes; i++) {
        unsigned d;

        if (it->data[i] < '0' || it->data[i] > '9')
            return DELTA_NON_NUMERIC;
        d = (unsigned)(it->data[i] - '0');
        if (value > (UINT64_MAX - d) / 10)
            return DELTA_NON_NUMERIC;
        value = value * 10 + d;
    }
    if (incr)
        value += delta;     /* wraps at 2^64 like memcached */
    else
        value = delta > value ? 0 : value - delta;
    len = snprintf(buf, sizeof(buf), "%" PRIu64, value);
    nd = malloc((size_t)len);
    if (nd == NULL)
        return DELTA_NO_MEMORY;
    memcpy(nd, buf, (size_t)len);
    mem_used -= item_total(it);
    free(it->data);
    it->data = nd;
    it->nbytes = (size_t)len;
    mem_used += item_total(it);
    it->cas = next_cas++;
    it->time = now;
    lru_unlink(it);
    lru_push(it);
    *result = value;
    return DELTA_OK;
}

void store_flush(int delay)
{
    time_t now = time(NULL);

    if (delay > 0) {
        oldest_live = (time_t)(realtime(delay, now) - 1);
        return;
    }
    oldest_live = 0;
    while (lru_tail != NULL)
        item_unlink(lru_tail);
}

/*
 * Free expired items in the next max_buckets hash buckets, continuing where
 * the previous sweep stopped. Returns the number of items freed.
 */
unsigned long store_sweep(time_t now, size_t max_buckets)
{
    size_t nb = (size_t)1 << hash_power;
    unsigned long freed = 0;
    size_t i;

    for (i = 0; i < max_buckets && i < nb; i++) {
        struct item *it;

        if (sweep_cursor >= nb)
            sweep_cursor = 0;
        it = buckets[sweep_cursor];
        while (it != NULL) {
            struct item *next = it->h_next;

            if (item_is_dead(it, now)) {
                item_unlink(it);
                freed++;
            }
            it = next;
        }
        sweep_cursor++;
    }
    return freed;
}

unsigned long store_count(void)
{
    return item_count;
}

size_t store_bytes(void)
{
    return mem_used;
}

void store_shutdown(void)
{
    while (lru_tail != NULL)
        item_unlink(lru_tail);
    free(buckets);
    buckets = NULL;
}
