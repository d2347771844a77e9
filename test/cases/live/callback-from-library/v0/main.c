/* The only update point is in a comparison function that qsort calls: when
   it returns, qsort returns into main, whose old code reads the records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "graft.h"

struct rec { long key; long val; };
static struct rec *recs[16];
static int n;

static int by_key(const void *a, const void *b) {
    const struct rec *x = *(struct rec *const *)a, *y = *(struct rec *const *)b;
    int r = (x->key > y->key) - (x->key < y->key);
    /* After the point nothing here touches a record; qsort then calls by_key again, and returns into main. */
    GRAFT_UPDATE_POINT();
    return r;
}

int main(void) {
    char line[128];
    long sum = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == 'a' && n < 16) {
            struct rec *r = malloc(sizeof *r);
            if (!r || sscanf(line + 1, "%ld %ld", &r->key, &r->val) != 2) return 1;
            recs[n++] = r;
            printf("v0 added %ld\n", r->key);
            continue;
        }
        /* Every other line sorts (the point is reached in by_key), then sums through v0's layout. */
        qsort(recs, (size_t)n, sizeof recs[0], by_key);
        sum = 0;
        for (int i = 0; i < n; i++) sum += recs[i]->val;
        if (line[0] == 'p') {
            for (int i = 0; i < n; i++) printf("v0 %ld=%ld\n", recs[i]->key, recs[i]->val);
            printf("v0 sum=%ld\n", sum);
        }
    }
}
