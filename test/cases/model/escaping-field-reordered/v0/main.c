#include <stdio.h>
#include "graft.h"

/* A metrics library's habit: it keeps the counters' addresses. */
static int *counters[4];
static int ncounters;
static void register_counter(int *c) { counters[ncounters++] = c; }

struct stats { int hits; char name[8]; };
static struct stats st = { 0, "st" };
static const char *label;

static void count(void) { for (int i = 0; i < ncounters; i++) (*counters[i])++; }
static int show(void) { return printf("%d %s\n", st.hits, label); }

int main(void) {
    register_counter(&st.hits);
    label = st.name;
    for (;;) { GRAFT_UPDATE_POINT(); count(); show(); }
}
