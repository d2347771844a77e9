/* int total becomes long long; its address is kept in static int *sink = &total. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
/* A global's address kept in a pointer initialised statically; add() writes through the pointer only. */
static int total;
static int *sink = &total;
static long calls;

static void add(long n) { *sink += n; calls++; }
static void show(void) { printf("v0 total=%d calls=%ld\n", total, calls); }

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
        if (strcmp(line, "show\n") == 0) { show(); continue; }
        add(atol(line));
        show();
    }
}
