/* An array of structs on the heap (calloc, then realloc as it fills); v1 grows the struct: every element, old and new, is right. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

struct slot { int key; int flags; long val; long stamp; };
static struct slot *slots;
static int nslots, cap;

static void put(int k, long v) {
    if (nslots == cap) { cap = cap ? 2 * cap : 2; slots = realloc(slots, cap * sizeof *slots); }
    slots[nslots].key = k;
    slots[nslots].val = v;
    slots[nslots].stamp = 1;
    nslots++;
}
static void sum(void) { long s = 0; for (int i = 0; i < nslots; i++) s += slots[i].key * slots[i].val + slots[i].stamp; printf("v1 n=%d sum=%ld\n", nslots, s); }

int main(void) {
    char line[128];
    int k; long v;
    setvbuf(stdout, NULL, _IOLBF, 0);
    slots = calloc(1, sizeof *slots);
    cap = 1;
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (sscanf(line, "%d %ld", &k, &v) == 2) { put(k, v); sum(); }
    }
}
