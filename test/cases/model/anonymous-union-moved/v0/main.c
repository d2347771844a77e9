#include <stdio.h>
#include "graft.h"

struct sockaddr_ish {
    int family;
    union { unsigned int v4; unsigned char v6[16]; } u;
};

static struct sockaddr_ish addr;

static int family(const struct sockaddr_ish *a) { return a->family + (int)a->u.v4; }
static int greet(void) { return printf("v0 %d\n", family(&addr)); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); greet(); }
}
