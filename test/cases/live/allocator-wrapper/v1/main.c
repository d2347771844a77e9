/* Entries allocated through the program's own wrapper (git's xmalloc), in heap blocks that malloc recycles. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

struct entry { struct entry *next; long hits; char key[16]; long value; };
static struct entry *table;

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) abort();
    return p;
}

static void put(const char *k, long v) {
    struct entry *e = xmalloc(sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", k);
    e->value = v;
    e->next = table;
    table = e;
}
static struct entry *find(const char *k) {
    for (struct entry *e = table; e; e = e->next) if (strcmp(e->key, k) == 0) return e;
    return NULL;
}
static void del(const char *k) {
    for (struct entry **pp = &table; *pp; pp = &(*pp)->next) if (strcmp((*pp)->key, k) == 0) { struct entry *e = *pp; *pp = e->next; free(e); return; }
}
static void get(const char *k) {
    struct entry *e = find(k);
    if (e) { e->hits++; printf("v1 %s=%ld hits=%ld\n", k, e->value, e->hits); } else printf("v1 %s missing\n", k);
}

int main(void) {
    char line[128], k[16];
    long v;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (sscanf(line, "put %15s %ld", k, &v) == 2) { put(k, v); printf("stored %s\n", k); }
        else if (sscanf(line, "del %15s", k) == 1) { del(k); printf("deleted %s\n", k); }
        else if (sscanf(line, "get %15s", k) == 1) get(k);
    }
}
