/*
** witness_main.c: `witness` as its own program, for the tests.
**
** The witness command lives in src/witness/witness_cmd.c, ready for main.c's
** command table; until that table routes "witness" to it, the tests run it
** as a real process (so that it can be killed with -9) through this file,
** called as `witness_main witness OPTIONS...` the way the binary will be.
*/
#include <stdio.h>
#include <string.h>

#include "witness/witness_cmd.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "witness") != 0) {
        fprintf(stderr, "usage: %s witness OPTIONS...\n", argv[0]);
        return 2;
    }
    return witness_cmd(argc - 1, argv + 1);
}
