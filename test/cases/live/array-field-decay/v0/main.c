/* An array field's address kept in a global (char *last_name = u->name) while struct user outgrows its room. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
/* The last user's name is kept as a char * into the user's own record (an array field decayed to a pointer). */
struct user { char name[16]; long logins; };
static struct user *users[8];
static int nusers;
static char *last_name = "";

static void login(const char *n) {
    struct user *u = NULL;
    for (int i = 0; i < nusers; i++) if (strcmp(users[i]->name, n) == 0) u = users[i];
    if (!u) { u = calloc(1, sizeof *u); snprintf(u->name, sizeof u->name, "%s", n); users[nusers++] = u; }
    u->logins++;
    last_name = u->name;
    printf("v0 %s logins=%ld\n", u->name, u->logins);
}
static void who(void) { printf("v0 last=%s\n", last_name); }

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        char n[16];
        if (sscanf(line, "login %15s", n) == 1) login(n);
        else if (strcmp(line, "who\n") == 0) who();
    }
}
