/* A static local counter in a function that v1 changes: its value is the same storage after the update. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

static long next_id(void) { static long seq = 100; seq += 10; return seq; }
static void show(const char *what) { printf("v1 %s id=%ld\n", what, next_id()); }

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
        line[strcspn(line, "\n")] = 0;
        show(line);
    }
}
