/*
 * harness.h - a tiny test harness in the style of sds's testhelp.h.
 *
 *   test_cond("what is checked", expression);
 *   test_check("what is checked", expression, "got %s", detail);
 *   test_report();   prints the summary line and exits 1 on any failure
 */
#ifndef GRT_TEST_HARNESS_H
#define GRT_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

static int test_failed_count, test_count;
static const char *test_suite_name = "test";

#define test_cond(descr, _c)                                                   \
    do {                                                                       \
        test_count++;                                                          \
        printf("%d - %s: ", test_count, (descr));                              \
        if (_c) {                                                              \
            printf("PASSED\n");                                                \
        } else {                                                               \
            printf("FAILED (%s:%d)\n", __FILE__, __LINE__);                    \
            test_failed_count++;                                               \
        }                                                                      \
        fflush(stdout);                                                        \
    } while (0)

/* Like test_cond, and on failure prints the printf-style detail below it. */
#define test_check(descr, _c, ...)                                             \
    do {                                                                       \
        int test_ok_ = !!(_c);                                                 \
        test_cond(descr, test_ok_);                                            \
        if (!test_ok_) {                                                       \
            printf("    ");                                                    \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

#define test_report()                                                          \
    do {                                                                       \
        printf("%s: %d tests, %d passed, %d failed\n", test_suite_name,        \
               test_count, test_count - test_failed_count, test_failed_count); \
        if (test_failed_count) {                                               \
            printf("=== WARNING === We have failed tests here...\n");          \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#endif /* GRT_TEST_HARNESS_H */
