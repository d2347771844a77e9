// cflags: -O2 -std=c99
/* A non-static C99 inline definition, with an extern declaration in the same unit (memcached's process_stats_detail). */
#include <stdio.h>

struct counter { int hits; int misses; };

inline int ratio(const struct counter *c) { return c->hits * 100 / (c->hits + c->misses); }
extern int ratio(const struct counter *c);

static inline int twice(int x) { return 2 * x; }

int main(void) {
    struct counter c = { 3, 1 };
    int (*f)(const struct counter *) = ratio;
    printf("%d %d %d\n", ratio(&c), f(&c), twice(21));
    return 0;
}
