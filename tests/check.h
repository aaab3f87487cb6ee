/* A minimal test harness: CHECK records a failure and goes on; check_done prints the summary
 * line "N passed, N failed" and returns the exit status. A binary that ran no check at all has
 * tested nothing and fails. */
#ifndef ODMD_TESTS_CHECK_H
#define ODMD_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Each operand is evaluated once (it may be a call with effects). */
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        CHECK_MSG(check_a_ != NULL && strcmp(check_a_, check_b_) == 0, "got '%s', want '%s'",      \
                  check_a_ ? check_a_ : "(null)", check_b_);                                       \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        CHECK_MSG(check_a_ == check_b_, "got %lld, want %lld", check_a_, check_b_);                \
    } while (0)

/* Prints the summary; returns 0 when at least one check ran and none failed, 1 otherwise. */
static inline int check_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    if (check_passed + check_failed == 0) {
        fprintf(stderr, "%s: no check ran: nothing was tested\n", name);
        return 1;
    }
    return check_failed == 0 ? 0 : 1;
}

#endif
