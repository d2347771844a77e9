/* v1: stats gains a peak. A second thread waits in read() for ever, in code that does not touch the type the patch changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graft.h"
#include <pthread.h>
#include <unistd.h>

/* The reader counts its own events; main's stats change in v1. It never reaches an update point. */
struct stats { long total; long count; long peak; };
struct reader_stats { long events; };
static struct stats st;
static struct reader_stats rs;
static int pipefd[2];

static void *reader(void *arg) {
    char c;
    (void)arg;
    for (;;) {
        ssize_t n = read(pipefd[0], &c, 1);
        if (n == 1) rs.events++;
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
        if (line[0] == 'w') { if (write(pipefd[1], "x", 1) != 1) return 1; usleep(100000); printf("v1 events=%ld\n", rs.events); continue; }
        st.total += atol(line);
        st.count++;
        if (atol(line) > st.peak) st.peak = atol(line);
        printf("v1 total=%ld count=%ld peak=%ld\n", st.total, st.count, st.peak);
    }
}
