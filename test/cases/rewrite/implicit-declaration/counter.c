// cflags: -O2 -std=gnu89 -Wno-implicit-function-declaration
/* Defined here, called from main.c without a declaration (C89). */
static int n;

void bump(void) { n++; }

int count(void) { return n; }
