/* A minimal test harness: CHECK records a failure and goes on; check_done prints the summary
 * line "N passed, N failed" and returns the exit status. */
#ifndef ODMD_TESTS_CHECK_H
#define ODMD_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (cond) {                                                                            \
            check_passed++;                                                                    \
        } else {                                                                               \
            check_failed++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                   \
    do {                                                                                       \
        if (cond) {                                                                            \
            check_passed++;                                                                    \
        } else {                                                                               \
            check_failed++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    CHECK_MSG((a) != NULL && strcmp((a), (b)) == 0, "got '%s', want '%s'", (a) ? (a) : "(null)", (b))

#define CHECK_INT(a, b)                                                                        \
    CHECK_MSG((long long)(a) == (long long)(b), "got %lld, want %lld", (long long)(a),          \
              (long long)(b))

static inline int check_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif
