/* A chain of two patches on one struct: a field added, then another removed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
/* Accounts in a linked list; v1 adds a field, v2 removes another. */
struct acct { struct acct *next; int id; long balance; long payments; };
static struct acct *accts;

static struct acct *find(int id) {
    for (struct acct *a = accts; a; a = a->next) if (a->id == id) return a;
    struct acct *a = calloc(1, sizeof *a);
    a->id = id;
    a->next = accts;
    accts = a;
    return a;
}
static void pay(int id, long n) { struct acct *a = find(id); a->balance += n; a->payments++; }
static void show(int id) { struct acct *a = find(id); printf("v2 %d balance=%ld payments=%ld\n", id, a->balance, a->payments); }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        int id;
        long n;
        if (sscanf(line, "pay %d %ld", &id, &n) == 2) { pay(id, n); printf("paid %d\n", id); }
        else if (sscanf(line, "show %d", &id) == 1) show(id);
    }
}
