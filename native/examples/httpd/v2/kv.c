/*
 * httpd key/value table: keys and values are copied into their own
 * allocations; a chained hash table that doubles when it gets crowded.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

struct kv_entry {
    struct kv_entry *next;
    char *key;
    char *value;
    size_t len;
};

static struct kv_entry **table;
static size_t nbuckets;
static unsigned long nentries;
static size_t kv_bytes;         /* value bytes held */

static size_t hash_str(const char *s)
{
    size_t h = 5381;

    while (*s != '\0')
        h = h * 33 + (unsigned char)*s++;
    return h;
}

void kv_init(void)
{
    nbuckets = 1024;
    table = calloc(nbuckets, sizeof(*table));
    if (table == NULL)
        abort();
}

static void kv_grow(void)
{
    size_t nn = nbuckets * 2;
    struct kv_entry **nt = calloc(nn, sizeof(*nt));
    size_t i;

    if (nt == NULL)
        return;
    for (i = 0; i < nbuckets; i++) {
        struct kv_entry *e = table[i];

        while (e != NULL) {
            struct kv_entry *next = e->next;
            size_t h = hash_str(e->key) & (nn - 1);

            e->next = nt[h];
            nt[h] = e;
            e = next;
        }
    }
    free(table);
    table = nt;
    nbuckets = nn;
}

static struct kv_entry *kv_find(const char *key)
{
    struct kv_entry *e = table[hash_str(key) & (nbuckets - 1)];

    while (e != NULL && strcmp(e->key, key) != 0)
        e = e->next;
    return e;
}

int kv_put(const char *key, const char *value, size_t len)
{
    struct kv_entry *e = kv_find(key);
    char *copy = malloc(len > 0 ? len : 1);
    size_t h;

    if (copy == NULL)
        return -1;
    if (len > 0)
        memcpy(copy, value, len);
    if (e != NULL) {
        kv_bytes -= e->len;
        free(e->value);
        e->value = copy;
        e->len = len;
        kv_bytes += len;
        return 0;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(key)) == NULL) {
        free(e);
        free(copy);
        return -1;
    }
    e->value = copy;
    e->len = len;
    if (nentries >= nbuckets)
        kv_grow();
    h = hash_str(key) & (nbuckets - 1);
    e->next = table[h];
    table[h] = e;
    nentries++;
    kv_bytes += len;
    return 1;
}

const char *kv_get(const char *key, size_t *len)
{
    struct kv_entry *e = kv_find(key);

    if (e == NULL)
        return NULL;
    *len = e->len;
    return e->value;
}

size_t kv_bytes_stored(void)
{
    return kv_bytes;
}

int kv_delete(const char *key)
{
    struct kv_entry **pp = &table[hash_str(key) & (nbuckets - 1)];

    while (*pp != NULL && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    if (*pp == NULL)
        return 0;
    {
        struct kv_entry *e = *pp;

        *pp = e->next;
        kv_bytes -= e->len;
        nentries--;
        free(e->key);
        free(e->value);
        free(e);
    }
    return 1;
}

unsigned long kv_count(void)
{
    return nentries;
}

void kv_free_all(void)
{
    size_t i;

    for (i = 0; i < nbuckets; i++) {
        struct kv_entry *e = table[i];

        while (e != NULL) {
            struct kv_entry *next = e->next;

            free(e->key);
            free(e->value);
            free(e);
            e = next;
        }
        table[i] = NULL;
    }
    nentries = 0;
    kv_bytes = 0;
}
