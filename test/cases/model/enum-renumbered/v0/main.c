#include <stdio.h>
#include "graft.h"

enum state { IDLE, BUSY };

static enum state now = IDLE;

static int busy(void) { return now == BUSY; }
static void flip(void) { now = now == IDLE ? BUSY : IDLE; }
static int length(const char *s) { int n = 0; while (s[n]) n++; return n; }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); flip(); printf("%d %d\n", busy(), length("ab")); }
}
