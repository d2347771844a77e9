#include <stdarg.h>
#include <stdio.h>
#include "graft.h"

static int say(const char *fmt, ...) {
    va_list ap; va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
struct symbol { const char *name; unsigned long addr; };
static const struct symbol table[] = { { "say", (unsigned long)say } };

int main(void) {
    for (;;) { GRAFT_UPDATE_POINT(); say("v0 %s\n", table[0].name); }
}
