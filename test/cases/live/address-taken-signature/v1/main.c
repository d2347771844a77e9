/* A handler table holds score()'s address; v1 gives score() a second parameter. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "graft.h"

static long score(long x, long bonus) { return 2 * x + bonus; }
static long (*handlers[1])(long, long) = { 0 };

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    handlers[0] = score;
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == '\n') continue;
        printf("v1 %ld\n", handlers[0](atol(line), 1000));
    }
}
