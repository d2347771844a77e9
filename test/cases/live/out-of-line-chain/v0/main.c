/* A struct that outgrows its room moves out of line (v1); the next patch (v2, from v1's patch) must access it out of line too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

struct conn { int id; long bytes; };
static struct conn *conns[8];
static int nconns;

static void open_conn(int id) { struct conn *c = malloc(sizeof *c); c->id = id; c->bytes = 0; conns[nconns++] = c; }
static void feed(int id, long n) { for (int i = 0; i < nconns; i++) if (conns[i]->id == id) conns[i]->bytes += n; }
static void show(int id) { for (int i = 0; i < nconns; i++) if (conns[i]->id == id) printf("v0 conn %d bytes=%ld\n", id, conns[i]->bytes); }

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
    }
}
