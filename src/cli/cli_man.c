/*
** cli_man.c: prints the manual page dss-audit-mcp.1 at build time.
**
** The page is rendered from the same files as every --help output
** (src/cli/help/, through cli_help.c), so the manual cannot say something
** the program does not.
** Usage: cli_man [OUTPUT]; without OUTPUT the page goes to stdout.
*/
#include <stdio.h>

#include "cli_help.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

int main(int argc, char **argv)
{
    FILE *out = stdout;
    int status = 1;
    if (argc > 2) {
        fputs("usage: cli_man [OUTPUT]\n", stderr);
        return 2;
    }
    if (argc == 2 && !(out = fopen(argv[1], "w"))) {
        perror(argv[1]);
        return 1;
    }
    if (cli_help_roff(out, DSS_VERSION) == 0) status = 0;
    if (out != stdout && fclose(out) != 0) status = 1;
    if (status) fputs("cli_man: cannot write the manual page\n", stderr);
    return status;
}
