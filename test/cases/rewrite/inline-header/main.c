// cflags: -O0 -std=c99
#include <stdio.h>
#include "shared.h"

int main(void) {
    struct acc a = { 4, 10 };
    int (*m)(const struct acc *) = mean;
    printf("%d %d %d\n", mean(&a), m(&a), report(&a));
    return 0;
}
