#include <stdio.h>
#include "graft.h"

static int ready;
static int answer(void) { return ready ? 42 : 0; }

__attribute__((constructor)) static void warm_up(void) { ready = 2; }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); printf("%d\n", answer()); }
}
