#include <stdio.h>
#include <stdlib.h>
#include "graft.h"

/* memcached 1.2.4: main() now calls suffix_init(), new, which the running main never will. */
static char **freelist;
static void suffix_init(void) { freelist = malloc(8 * sizeof *freelist); }
static int step(void) { return printf("v1 %s\n", freelist[0] ? "x" : "-"); }

int main(void) {
    suffix_init();
    for (;;) { GRAFT_UPDATE_POINT(); step(); }
}
