// cflags: -O2 -std=gnu99
/* Static initialisers that take the address of a wrapped struct's field, and a variadic function's address in a table. */
#include <stdarg.h>
#include <stdio.h>

struct stats { int gets; int sets; char name[8]; };
struct stats st = { 1, 2, "st" };
int *sets = &st.sets;
char *name = st.name;
static int *gets_of[] = { &st.gets, &st.sets };

static int logf_(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

struct symbol { const char *name; unsigned long addr; };
static const struct symbol table[] = { { "log", (unsigned long)logf_ }, { "main", 0 } };

int main(void) {
    *sets += 40;
    *gets_of[0] += 1;
    int (*f)(const char *, ...) = (int (*)(const char *, ...))table[0].addr;
    f("%s %d %d %s\n", table[0].name, st.gets, st.sets, name);
    return 0;
}
