/* A global whose type widens (long -> long long) gets new storage: add(), unchanged, must write the new one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "graft.h"

static long long total;

static void add(long x) { total += x; }
static void show(void) { printf("v1 total=%lld\n", total); }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == '\n') continue;
        add(atol(line));
        show();
    }
}
