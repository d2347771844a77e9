/* A counter whose typedef widens behind a struct's field (int -> long long): the values are carried, and grow past 2^31. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

typedef int count_t;
struct stats { count_t hits; int id; };
static struct stats st = { 0, 7 };

static void add(long long n) { st.hits += (count_t)n; }
static void show(void) { printf("v0 hits=%lld id=%d\n", (long long)st.hits, st.id); }

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
        add(atoll(line));
        show();
    }
}
