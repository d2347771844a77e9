// cflags: -O2 -std=gnu99
/* stdbool.h's `bool` expands to `_Bool` from a system header: the functions are still the program's. */
#include <stdbool.h>
#include <stdio.h>

struct item { int exptime; bool linked; };

static bool expired(const struct item *it, int now) { return it->exptime != 0 && it->exptime <= now; }

bool touch(struct item *it, int now) {
    static bool warned = false;
    if (expired(it, now)) {
        if (!warned) { warned = true; printf("warned once\n"); }
        return false;
    }
    it->exptime = now + 10;
    return true;
}

int main(void) {
    struct item a = { 5, true };
    printf("%d %d %d\n", touch(&a, 1), touch(&a, 20), touch(&a, 30));
    printf("%d %d\n", a.exptime, a.linked);
    return 0;
}
