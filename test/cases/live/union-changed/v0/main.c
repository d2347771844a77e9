/* A union (never wrapped: its members share the storage a version word would need) that v1 changes: refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

union value { long i; double d; };
static union value v = { .i = 0 };

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
        v.i += atol(line);
        printf("v0 %ld\n", v.i);
    }
}
