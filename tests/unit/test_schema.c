/* Unit tests for src/schema: placeholder replaced below. */
#include "check.h"
int main(void)
{
    return check_done("test_schema");
}
