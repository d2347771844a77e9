/* memcached 1.2.4's suffix_init() in miniature: v1's main sets up a new freelist before its loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

static long served;
static char **freelist;
static int freetotal;

static void freelist_init(void) {
    freetotal = 4;
    freelist = calloc(freetotal, sizeof *freelist);
    if (!freelist) abort();
}

static void serve(const char *what) { served++; freelist[served % freetotal] = "used"; printf("v1 %s served=%ld total=%d\n", what, served, freetotal); }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    freelist_init();
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == '\n') continue;
        line[strcspn(line, "\n")] = 0;
        serve(line);
    }
}
