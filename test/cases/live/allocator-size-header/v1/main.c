/* Entries allocated through a wrapper that puts a size header in front (redis's zmalloc), in blocks malloc recycles. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
struct entry { struct entry *next; long hits; char key[16]; long value; };
static struct entry *table;
static size_t used;

static void *zmalloc(size_t n) {
    size_t *p = malloc(n + sizeof(size_t));
    if (!p) abort();
    *p = n;
    used += n;
    return p + 1;
}
static void zfree(void *q) {
    size_t *p = (size_t *)q - 1;
    used -= *p;
    free(p);
}

static void put(const char *k, long v) {
    struct entry *e = zmalloc(sizeof *e);
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", k);
    e->value = v;
    e->next = table;
    table = e;
}
static void del(const char *k) {
    for (struct entry **pp = &table; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, k) == 0) { struct entry *e = *pp; *pp = e->next; zfree(e); return; }
}
static void get(const char *k) {
    for (struct entry *e = table; e; e = e->next)
        if (strcmp(e->key, k) == 0) { e->hits++; printf("v1 %s=%ld hits=%ld\n", k, e->value, e->hits); return; }
    printf("v1 %s missing\n", k);
}

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        char k[16];
        long n;
        if (sscanf(line, "put %15s %ld", k, &n) == 2) { put(k, n); printf("stored %s\n", k); }
        else if (sscanf(line, "del %15s", k) == 1) { del(k); printf("deleted %s\n", k); }
        else if (sscanf(line, "get %15s", k) == 1) get(k);
        else if (sscanf(line, "churn %ld", &n) == 1) { for (long i = 0; i < n; i++) { char *p = malloc(48); memset(p, 0xa5, 48); free(p); } printf("churned\n"); }
    }
}
