/* SPDX-License-Identifier: BSD-3-Clause */
/* exitstage command-line front end (placeholder while commands land). */
#include <stdio.h>
#include "exitstage.h"
int main(void)
{
    printf("exitstage %s\n", exst_version());
    return 0;
}
