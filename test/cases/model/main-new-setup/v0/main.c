#include <stdio.h>
#include <stdlib.h>
#include "graft.h"

/* memcached 1.2.4: main() now calls suffix_init(), new, which the running main never will. */
static char **freelist;
static int step(void) { return printf("v0 %d\n", freelist != 0); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); step(); }
}
