#include <stdio.h>
#include "graft.h"

static double a, b;

static int step(void) { a += 1; b = a * 2; return printf("v0 %.0f %.0f\n", a, b); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); step(); }
}
