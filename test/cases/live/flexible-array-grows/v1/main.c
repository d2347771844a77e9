/* memcached's item in miniature: the key is stored after a flexible array member; v1 adds a field before it (cas). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

typedef struct _stritem { struct _stritem *next; unsigned short nkey; unsigned char flags; unsigned long long cas; void *end[]; } item;
#define ITEM_key(it) ((char *)&((it)->end[0]))

static item *head;

static void set(const char *k) {
    size_t n = strlen(k) + 1;
    item *it = malloc(sizeof(item) + n);
    it->nkey = (unsigned short)n;
    it->flags = 0;
    it->cas = 7;
    memcpy(ITEM_key(it), k, n);
    it->next = head;
    head = it;
}
static void get(const char *k) {
    for (item *it = head; it; it = it->next) if (strcmp(ITEM_key(it), k) == 0) { printf("v1 %s nkey=%d cas=%llu\n", k, it->nkey, it->cas); return; }
    printf("v1 %s missing\n", k);
}

int main(void) {
    char line[128], k[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (sscanf(line, "set %63s", k) == 1) { set(k); printf("stored %s\n", k); }
        else if (sscanf(line, "get %63s", k) == 1) get(k);
    }
}
