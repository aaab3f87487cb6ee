/* odmd: wiring and flags only. */
#include <stdio.h>

int main(void)
{
    puts("odmd " ODMD_VERSION);
    return 0;
}
