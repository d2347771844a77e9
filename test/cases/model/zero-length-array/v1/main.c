#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"

typedef struct _stritem { struct _stritem *next; int nkey; void *end[]; } item;

static item *make(const char *key) {
    item *it = malloc(sizeof(item) + strlen(key) + 1);
    it->next = 0; it->nkey = (int)strlen(key);
    strcpy((char *)it->end, key);
    return it;
}
static int show(item *it) { return printf("v1 %s\n", (char *)it->end); }

int main(void) {
    item *it = make("k");
    for (;;) { GRAFT_UPDATE_POINT(); show(it); }
}
