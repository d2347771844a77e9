/* Flags kept in bit-fields; v1 adds a field before them and widens one: the values are carried by name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

struct conn { int fd; unsigned readable : 1; unsigned writable : 1; unsigned state : 3; };
static struct conn conns[2] = { { 3, 1, 0, 2 }, { 4, 0, 1, 5 } };

static void show(int i) { printf("v0 fd=%d r=%u w=%u state=%u\n", conns[i].fd, conns[i].readable, conns[i].writable, conns[i].state); }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == '\n') continue;
        int i = atoi(line) & 1;
        conns[i].state = (conns[i].state + 1) & 7;
        show(i);
    }
}
