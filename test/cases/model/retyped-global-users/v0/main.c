#include <stdio.h>
#include "graft.h"

static long total;

static void add(long x) { total += x; }
static int show(void) { return printf("v0 total=%ld\n", total); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); add(1); show(); }
}
