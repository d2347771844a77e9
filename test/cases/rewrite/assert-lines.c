// cflags: -O2 -std=c11
/* glibc's assert() expands over several lines when __LINE__ is pinned; the functions after it must still be found. */
#include <assert.h>
#include <stdio.h>

struct buf { int len; int cap; };

static int room(struct buf *b) {
    assert(b->len <= b->cap);
    return b->cap - b->len;
}

static double a, b;

int grow(struct buf *b_) {
    b_->cap *= 2;
    a += 1.5;
    b = a * 2;
    return room(b_);
}

int main(void) {
    struct buf x = { 3, 4 };
    printf("%d %d %.1f %.1f\n", room(&x), grow(&x), a, b);
    return 0;
}
