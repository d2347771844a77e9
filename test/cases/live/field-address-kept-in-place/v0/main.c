/* A metrics library's habit: register_counter() keeps the counter's address; a field added before it would move it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "graft.h"

static long *counters[4];
static int ncounters;
static void register_counter(long *c) { counters[ncounters++] = c; }
static void bump_all(void) { for (int i = 0; i < ncounters; i++) (*counters[i])++; }

struct stats { long hits; long bytes; };
static struct stats st;

static void show(void) { printf("v0 hits=%ld bytes=%ld\n", st.hits, st.bytes); }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    register_counter(&st.hits);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == '\n') continue;
        bump_all();
        st.bytes += atol(line);
        show();
    }
}
