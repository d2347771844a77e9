/* v1 drops a field in the middle of a struct held in a table: the other fields are carried by name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

struct rec { int id; char tag[8]; long legacy; long total; };
static struct rec table[3] = { { 1, "a", 5, 0 }, { 2, "b", 6, 0 }, { 3, "c", 7, 0 } };

static void add(int id, long n) { for (int i = 0; i < 3; i++) if (table[i].id == id) { table[i].total += n; table[i].legacy++; } }
static void show(int id) { for (int i = 0; i < 3; i++) if (table[i].id == id) printf("v0 %d %s total=%ld legacy=%ld\n", id, table[i].tag, table[i].total, table[i].legacy); }

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
        int id; long n;
        if (sscanf(line, "%d %ld", &id, &n) == 2) { add(id, n); show(id); }
    }
}
