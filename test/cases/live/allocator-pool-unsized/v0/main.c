/* A pool of fixed 64-byte blocks for every small object, asked for none of their sizes: the program knows its types fit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
/* One pool for every small object: a freed block is handed out again for whatever type asks next. */
union block { union block *next; char bytes[64]; };
static union block *freelist;
static void *pool_alloc(void) {
    union block *b = freelist;
    if (b) { freelist = b->next; return b; }
    b = malloc(sizeof *b);
    if (!b) abort();
    return b;
}
static void pool_free(void *p) { union block *b = p; b->next = freelist; freelist = b; }

struct note { char text[48]; };
static struct note *notes[16];
static int nnotes;
static void note(const char *t) {
    struct note *n = pool_alloc();
    memset(n->text, '~', sizeof n->text - 1);
    n->text[sizeof n->text - 1] = 0;
    memcpy(n->text, t, strlen(t));
    notes[nnotes++] = n;
}
static void drop(void) { while (nnotes > 0) pool_free(notes[--nnotes]); }

struct entry { struct entry *next; char key[16]; long value; };
static struct entry *table;
static void put(const char *k, long v) {
    struct entry *e = pool_alloc();
    e->next = table;
    snprintf(e->key, sizeof e->key, "%s", k);
    e->value = v;
    
    table = e;
}
static void del(const char *k) {
    for (struct entry **pp = &table; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, k) == 0) { struct entry *e = *pp; *pp = e->next; pool_free(e); return; }
}
static void get(const char *k) {
    for (struct entry *e = table; e; e = e->next)
        if (strcmp(e->key, k) == 0) { printf("v0 %s=%ld\n", k, e->value); return; }
    printf("v0 %s missing\n", k);
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
        else if (sscanf(line, "note %15s", k) == 1) { note(k); printf("noted %s\n", k); }
        else if (strcmp(line, "drop\n") == 0) { drop(); printf("dropped\n"); }
    }
}
