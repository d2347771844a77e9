/* Handlers reached through a static table of function pointers: a changed handler runs its new body through the stored address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

static long total;
static void add(long n) { total += 10 * n; }
static void sub(long n) { total -= n; }
static const struct { const char *name; void (*fn)(long); } handlers[] = { { "add", add }, { "sub", sub } };

int main(void) {
    char line[128], cmd[16];
    long n;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (sscanf(line, "%15s %ld", cmd, &n) != 2) continue;
        for (unsigned i = 0; i < sizeof handlers / sizeof handlers[0]; i++) if (strcmp(handlers[i].name, cmd) == 0) handlers[i].fn(n);
        printf("total=%ld\n", total);
    }
}
