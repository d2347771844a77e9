#include <stdio.h>
#include "graft.h"
#include "str.h"

static struct mystr s;

static int greet(void) { return printf("v1 %d\n", str_len(&s)); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); greet(); }
}
