/* Records copied with memcpy(new, old, sizeof *old) and the old block freed, while struct rec outgrows its room. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
/* A record is moved to a new block with memcpy and the old block freed (a compaction), while the struct outgrows its room. */
struct rec { int id; long total; char label[128]; };
static struct rec *recs[8];
static int nrecs;

static void add(int id, long n) {
    for (int i = 0; i < nrecs; i++) if (recs[i]->id == id) { recs[i]->total += n; return; }
    struct rec *r = calloc(1, sizeof *r);
    r->id = id;
    r->total = n;
    recs[nrecs++] = r;
}
static void compact(void) {
    for (int i = 0; i < nrecs; i++) {
        struct rec *r = malloc(sizeof *r);
        memcpy(r, recs[i], sizeof *r);
        free(recs[i]);
        recs[i] = r;
    }
}
static void show(void) { for (int i = 0; i < nrecs; i++) printf("v1 %d total=%ld label=[%s]\n", recs[i]->id, recs[i]->total, recs[i]->label); }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        int id;
        long n;
        if (sscanf(line, "add %d %ld", &id, &n) == 2) { add(id, n); printf("added %d\n", id); }
        else if (strcmp(line, "compact\n") == 0) { compact(); printf("compacted\n"); }
        else if (strcmp(line, "churn\n") == 0) { for (int k = 0; k < 50; k++) { char *p = malloc(160); memset(p, 0x5a, 160); free(p); } printf("churned\n"); }
        else if (strcmp(line, "show\n") == 0) show();
    }
}
