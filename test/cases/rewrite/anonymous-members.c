// cflags: -O2 -std=c11
/* Anonymous unions and structs, typedefs of anonymous records, enums, bitfields and a flexible array member. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { RED = 1, GREEN = 4 } colour;
typedef unsigned int count_t;

struct sockaddr_ish {
    int family;
    union { unsigned int v4; unsigned char v6[16]; } u;
    struct { count_t refs : 4; count_t flags : 4; };
};

typedef struct { int len; char *text; } mystr;

struct item { int nkey; colour c; void *end[]; };

static struct sockaddr_ish addr = { 2, { 0x7f000001u }, { 3, 1 } };

int main(void) {
    mystr s = { 5, "hello" };
    struct item *it = malloc(sizeof *it + 16);
    it->nkey = 5;
    it->c = GREEN;
    memcpy((char *)it->end, "abcd", 5);
    addr.refs++;
    printf("%d %x %u %u %d %s %d %d %s\n", addr.family, addr.u.v4, addr.refs, addr.flags, s.len, s.text, it->nkey, it->c, (char *)it->end);
    free(it);
    return 0;
}
