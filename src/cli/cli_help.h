/*
** cli_help.h: the one source of every help text of dss-audit-mcp.
**
** `dss-audit-mcp --help`, `dss-audit-mcp COMMAND --help` and the manual page
** dss-audit-mcp.1 are all rendered from the tables in cli_help.c, so what a
** person reads on the terminal and in man(1) cannot drift apart: change the
** text there and both follow.  The manual page is printed at build time by
** the small program cli_man.c.
**
** Text conventions in the tables: paragraphs are separated by a blank line
** and are re-wrapped when rendered; a line starting with two spaces is
** shown verbatim (examples).
*/
#ifndef DSS_CLI_HELP_H
#define DSS_CLI_HELP_H

#include <stdio.h>

/* One row of a two-column list: an option and what it does, or a command
** and its summary. */
typedef struct cli_help_item {
    const char *term; /* "-n, --lines N" */
    const char *text;
} cli_help_item;

/* A titled part of a page: paragraphs, a list, or both (text first). */
typedef struct cli_help_section {
    const char *title;          /* "Options"; NULL for the page's opening text */
    const char *text;           /* paragraphs, or NULL */
    const cli_help_item *items; /* rows ending with {NULL, NULL}, or NULL */
    int list_commands;          /* rows are the commands, from cli_help_pages */
} cli_help_section;

/* The help of the program (name NULL) or of one command. */
typedef struct cli_help_page {
    const char *name;                  /* "tail", or NULL for the program */
    const char *usage;                 /* what follows "dss-audit-mcp " */
    const char *summary;               /* one line, lower case, no period */
    const cli_help_section *sections;  /* ending with an all-NULL section */
} cli_help_page;

/* The program's page first, then one page per command in the order the
** usage lists them; cli_help_page_count pages in all. */
extern const cli_help_page cli_help_pages[];
extern const unsigned cli_help_page_count;

/* The page of a command, the program's for NULL, or NULL when unknown. */
const cli_help_page *cli_help_find(const char *command);

/* Print a command's help (the program's for NULL) as plain text wrapped
** to 79 columns.  Returns 0, or -1 when the command is unknown or the
** stream failed. */
int cli_help_print(FILE *out, const char *command);

/* Print the whole manual page, every page above, as roff (man macros).
** version goes into the page footer.  Returns 0, or -1 when out failed. */
int cli_help_roff(FILE *out, const char *version);

#endif
