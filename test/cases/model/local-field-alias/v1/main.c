#include <stdio.h>
#include "graft.h"

struct stats { int misses; int hits; char name[8]; };
static struct stats st = { 0, 0, "st" };

static void bump(struct stats *s) { int *p = &s->hits; *p += 1; }
static int show(void) { return printf("%d %s\n", st.hits, st.name); }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); bump(&st); show(); }
}
