/* C89 calls a function no header declares (memcached 1.2.2's mt_assoc_move_next_bucket): the call must still go through the function's slot, not jump into it. And a call before the definition in the same unit. */
#include <stdio.h>

static int later(int x);

int main(void) {
    bump();
    bump();
    printf("count=%d later=%d twice=%d\n", count(), later(2), twice(21));
    return 0;
}

int twice(int x) { return 2 * x; }

static int later(int x) { return x + 1; }
