/* A second thread blocked in read() for ever, in code that touches struct stats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
#include <pthread.h>
#include <unistd.h>

/* A reader thread waits on a pipe nobody writes to; when a byte comes it would update the stats. */
struct stats { long total; long events; long peak; };
static struct stats st;
static int pipefd[2];

static void *reader(void *arg) {
    char c;
    (void)arg;
    for (;;) {
        ssize_t n = read(pipefd[0], &c, 1);
        if (n == 1) st.events++;
        else if (n < 0 && errno == EINTR) continue;   /* as a well-written program does */
        else break;
    }
    return NULL;
}

int main(void) {
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t;
    if (pipe(pipefd) != 0) return 1;
    pthread_create(&t, NULL, reader, NULL);
    for (;;) {
        GRAFT_UPDATE_POINT();
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); continue; }
            return 0;
        }
        if (line[0] == '\n') continue;
        st.total += atol(line);
        printf("v1 total=%ld events=%ld peak=%ld\n", st.total, st.events, st.peak);
    }
}
