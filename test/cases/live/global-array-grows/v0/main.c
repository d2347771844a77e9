/* A histogram global that grows from 4 buckets to 8: the counts so far are carried. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

static long hist[4];

static void count(int b) { if (b >= 0 && b < 4) hist[b]++; }
static void show(void) { printf("v0"); for (int i = 0; i < 4; i++) printf(" %ld", hist[i]); printf("\n"); }

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
        count(atoi(line));
        show();
    }
}
