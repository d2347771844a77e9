/* struct conn values are copied by value into a global array when their connection closes, while the struct outgrows its room. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
/* Connections are saved by value (a parameter of struct type, stored in an array) and freed. */
struct conn { int id; long bytes; char peer[128]; };
static struct conn *live[8];
static struct conn saved[8];
static int nlive, nsaved;

static void open_conn(int id) { struct conn *c = calloc(1, sizeof *c); c->id = id; live[nlive++] = c; }
static void feed(int id, long n) { for (int i = 0; i < nlive; i++) if (live[i]->id == id) live[i]->bytes += n; }
static void save(struct conn c) { saved[nsaved++] = c; }
static void close_all(void) { while (nlive > 0) { struct conn *c = live[--nlive]; save(*c); free(c); } }
static void show(void) {
    for (int i = 0; i < nsaved; i++) printf("v1 saved %d bytes=%ld peer=[%s]\n", saved[i].id, saved[i].bytes, saved[i].peer);
    for (int i = 0; i < nlive; i++) printf("v1 live %d bytes=%ld\n", live[i]->id, live[i]->bytes);
}

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
        if (sscanf(line, "open %d", &id) == 1) { open_conn(id); printf("opened %d\n", id); }
        else if (sscanf(line, "feed %d %ld", &id, &n) == 2) { feed(id, n); printf("fed %d\n", id); }
        else if (strcmp(line, "close\n") == 0) { close_all(); printf("closed\n"); }
        else if (strcmp(line, "churn\n") == 0) { for (int k = 0; k < 50; k++) { char *p = malloc(160); memset(p, 0x5a, 160); free(p); } printf("churned\n"); }
        else if (strcmp(line, "show\n") == 0) show();
    }
}
