/*
 * threads.h - how many threads this process has, from /proc/self/task: the
 * tests check that no control thread exists until a client asks for one.
 * Shared by the in-process tests and the test program (prog.c).
 */
#ifndef GRT_TEST_THREADS_H
#define GRT_TEST_THREADS_H

#include <dirent.h>

/* -1 when /proc cannot be read. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

#endif /* GRT_TEST_THREADS_H */
