/* A second thread runs the program's code (a ticker): until updates are a barrier for every thread, no update may apply. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "graft.h"

struct stats { long ticks; long total; };
static struct stats st;

static void *ticker(void *arg) {
    (void)arg;
    for (;;) { __atomic_fetch_add(&st.ticks, 1, __ATOMIC_RELAXED); usleep(1000); }
    return NULL;
}

int main(void) {
    char line[128];
    pthread_t t;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_create(&t, NULL, ticker, NULL);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == '\n') continue;
        st.total += atol(line);
        printf("v0 total=%ld ticking=%d\n", st.total, st.ticks > 0);
    }
}
