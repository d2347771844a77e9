/* A hash table whose slots are found by hashing and comparing struct key's bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
/* Keys hashed and compared as bytes (as hash tables keyed by small structs do). */
struct key { int a; int b; };
struct slot { struct key k; long value; int used; };
static struct slot slots[64];

static unsigned hash(const void *p, size_t n) {
    const unsigned char *s = p;
    unsigned h = 5381;
    while (n--) h = h * 33 + *s++;
    return h;
}
static struct slot *find(const struct key *k, int make) {
    for (unsigned i = hash(k, sizeof *k) % 64, tries = 0; tries < 64; i = (i + 1) % 64, tries++) {
        if (slots[i].used && memcmp(&slots[i].k, k, sizeof *k) == 0) return &slots[i];
        if (!slots[i].used) {
            if (!make) return NULL;
            slots[i].used = 1;
            slots[i].k = *k;
            return &slots[i];
        }
    }
    return NULL;
}
static void put(int a, int b, long v) { struct key k; memset(&k, 0, sizeof k); k.a = a; k.b = b; find(&k, 1)->value = v; }
static void get(int a, int b) {
    struct key k;
    memset(&k, 0, sizeof k);
    k.a = a; k.b = b;
    struct slot *s = find(&k, 0);
    if (s) printf("v0 %d,%d=%ld\n", a, b, s->value);
    else printf("v0 %d,%d missing\n", a, b);
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
        int a, b;
        long n;
        if (sscanf(line, "put %d %d %ld", &a, &b, &n) == 3) { put(a, b, n); printf("stored %d,%d\n", a, b); }
        else if (sscanf(line, "get %d %d", &a, &b) == 2) get(a, b);
    }
}
