/* long *hitp = &st.hits in a static initialiser; v1 inserts a field before hits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
/* hits' address is taken in a static initialiser; a field is inserted before it. */
struct stats { long misses; long hits; long bytes; };
static struct stats st;
static long *hitp = &st.hits;

static void hit(long n) { (*hitp)++; st.bytes += n; }
static void show(void) { printf("v1 hits=%ld bytes=%ld misses=%ld\n", st.hits, st.bytes, st.misses); }

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
        hit(atol(line));
        show();
    }
}
