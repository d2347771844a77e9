#include <assert.h>
#include <stdio.h>
#include "graft.h"

static int half(int x) {
    assert(x % 2 == 0);
    return x / 2;
}
static int greet(int x) { return printf("v1 %d\n", half(x)); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); greet(4); }
}
