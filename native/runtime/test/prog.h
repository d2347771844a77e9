/*
 * prog.h - what the test program and its hand-written patches share: the
 * wrapped type `struct point` laid out as graft_abi.h describes, and the
 * function pointers `graft compile` would have generated.
 */
#ifndef GRT_TEST_PROG_H
#define GRT_TEST_PROG_H

#include <stddef.h>

#include "graft_abi.h"

/* Version 0 of the data, as the program was built. */
struct __graft_d_point {
    int x;
};

struct point {
    unsigned __graft_ver;
    union {
        struct __graft_d_point __graft_d;
        unsigned char __graft_room[GRT_ROOM(sizeof(struct __graft_d_point))];
        void *__graft_ool;
    } __graft_u;
};

/* Versions 1 and 2, as later patches define them (they fit in the room). */
struct point_d1 {
    int x, y;
};
struct point_d2 {
    int x, y, z;
};

extern grt_type __graft_type_point;
extern int (*__graft_fp_answer)(void);
extern void (*__graft_fp_describe)(struct point *p, char *buf, size_t n);

#endif /* GRT_TEST_PROG_H */
