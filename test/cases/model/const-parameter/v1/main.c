#include <stdio.h>
#include "graft.h"

static int delta(const int incr, char *const buf) { return sprintf(buf, "%d", incr + 1); }
static int greet(void) { char b[16]; delta(1, b); return printf("v1 %s\n", b); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); greet(); }
}
