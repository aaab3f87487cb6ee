/* Unit tests for tests/check.h itself: a binary that ran no check must not pass. */
#include "check.h"

int main(void)
{
    /* Nothing checked yet: check_done must report failure. */
    int empty = check_done("no checks yet");
    CHECK(empty == 1);
    /* One passing check so far: success. */
    int one = check_done("one check");
    CHECK_INT(one, 0);
    return check_done("test_check");
}
