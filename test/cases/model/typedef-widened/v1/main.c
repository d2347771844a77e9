#include <stdio.h>
#include "graft.h"

typedef long long count_t;
struct stats { count_t hits; int misses; };

static struct stats st;

static void hit(struct stats *s) { s->hits++; }
static int misses(const struct stats *s) { return s->misses; }

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); hit(&st); printf("%d\n", misses(&st)); }
}
