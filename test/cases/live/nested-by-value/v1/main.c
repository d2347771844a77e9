/* A struct held by value inside another: v1 grows the inner one; both are brought forward. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

struct stats { long hits; long misses; long evictions; };
struct cache { char name[8]; struct stats st; int size; };
static struct cache *c;

static void hit(int h) { if (h) c->st.hits++; else c->st.misses++; }
static void show(void) { printf("v1 %s hits=%ld misses=%ld evictions=%ld size=%d\n", c->name, c->st.hits, c->st.misses, c->st.evictions, c->size); }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    c = malloc(sizeof *c);
    strcpy(c->name, "main");
    c->st.hits = 0; c->st.misses = 0; c->size = 64;
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == '\n') continue;
        hit(atoi(line));
        show();
    }
}
