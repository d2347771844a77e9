// cflags: -O0 -std=c99
#include "shared.h"

extern int mean(const struct acc *a);

int report(struct acc *a) { a->total += 10; return mean(a); }
