/* Struct values copied (`struct conn tmp = *c;`), the original freed, the copy stored again: after the data moves out of line, the copy must own its data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

struct conn { int id; long bytes; char peer[64]; };
static struct conn *conns[8];
static int nconns;

static void open_conn(int id) { struct conn *c = malloc(sizeof *c); c->id = id; c->bytes = 0; strcpy(c->peer, "new"); conns[nconns++] = c; }
static void feed(int id, long n) { for (int i = 0; i < nconns; i++) if (conns[i]->id == id) conns[i]->bytes += n; }
static void move(int id) {
    for (int i = 0; i < nconns; i++) if (conns[i]->id == id) {
        struct conn tmp = *conns[i];
        free(conns[i]);
        conns[i] = malloc(sizeof tmp);
        *conns[i] = tmp;
    }
}
static void show(int id) { for (int i = 0; i < nconns; i++) if (conns[i]->id == id) printf("v1 conn %d bytes=%ld peer=%s\n", id, conns[i]->bytes, conns[i]->peer); }

int main(void) {
    char line[128];
    int id;
    long n;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (sscanf(line, "open %d", &id) == 1) { open_conn(id); printf("opened %d\n", id); }
        else if (sscanf(line, "feed %d %ld", &id, &n) == 2) { feed(id, n); show(id); }
        else if (sscanf(line, "move %d", &id) == 1) { move(id); show(id); }
        else if (sscanf(line, "churn %d", &n) == 1) { for (long k = 0; k < n; k++) { char *p = malloc(96); memset(p, 0x5a, 96); free(p); } printf("churned\n"); }
    }
}
