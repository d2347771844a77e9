#include <stdio.h>
#include "graft.h"
#include "delta.h"

/* memcached 1.2.3: the header adds `const` to one parameter, the definition to another; clang spells the definition's type with the header's. */
char *add_delta(int *value, int incr, unsigned int delta, char *buf) {
    *value += incr ? (int)delta : -(int)delta;
    sprintf(buf, "%d", *value);
    return buf;
}
static int greet(void) { static int v; char b[16]; return printf("v0 %s\n", add_delta(&v, 1, 2, b)); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); greet(); }
}
