/*
** witness_cmd.h: the `dss-audit-mcp witness` command, options and all.
**
**   dss-audit-mcp witness --listen ADDR:PORT --db FILE --key FILE
**                         --log VKEY [VKEY...] [--log VKEY...] [--name NAME]
**
** It parses its own options next to its implementation and calls
** witness_run(); main.c's command table only has to route "witness" here.
** (Until that table exists, it is reached from tests/witness/witness_main.c.)
*/
#ifndef DSS_WITNESS_CMD_H
#define DSS_WITNESS_CMD_H

#include <stdio.h>

/* The command's usage text. */
void witness_cmd_usage(FILE *out);

/* Run the command; argv[0] is the command's name ("witness").  Returns the
** exit status: 0 stopped by SIGINT/SIGTERM (or --help), 1 could not start,
** 2 bad usage (said on stderr). */
int witness_cmd(int argc, char **argv);

#endif
