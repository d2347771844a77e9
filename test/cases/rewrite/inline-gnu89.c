// cflags: -O2 -std=gnu89
/* gnu89 `inline`: a plain inline definition is also the out-of-line one; `extern inline` never is. */
#include <stdio.h>

struct pair { int a; int b; };

inline int sum(struct pair *p) { return p->a + p->b; }
extern inline int diff(struct pair *p) { return p->a - p->b; }
int diff(struct pair *p);

int main(void) {
    struct pair p = { 7, 2 };
    printf("%d %d\n", sum(&p), diff(&p));
    return 0;
}
