/* A state kept in a global and in a struct field, as an enum whose constants are renumbered by v1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

enum state { IDLE, WAITING, BUSY };
struct job { int id; enum state st; };
static struct job job = { 1, IDLE };
static enum state last = IDLE;

static const char *name(enum state s) { return s == IDLE ? "idle" : s == BUSY ? "busy" : s == WAITING ? "waiting" : "other"; }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (strncmp(line, "busy", 4) == 0) { job.st = BUSY; last = BUSY; }
        else if (strncmp(line, "show", 4) == 0) printf("v1 job=%s last=%s\n", name(job.st), name(last));
    }
}
