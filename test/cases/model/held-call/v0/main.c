#include <stdio.h>
#include "graft.h"

/* memcached's shape: a timer callback holds the point; main primes it with a direct call before its loop. */
struct settings { int verbose; int port; };
static struct settings settings = { 1, 11211 };
static int ticks;

static void (*timer)(int);
static void clock_handler(int fd) {
    ticks += fd + 1;
    GRAFT_UPDATE_POINT();
}
static void run_timers(void) { timer(0); }

int main(void) {
    timer = clock_handler;
    clock_handler(0);
    printf("%d %d\n", settings.verbose, settings.port);
    for (;;) run_timers();
}
