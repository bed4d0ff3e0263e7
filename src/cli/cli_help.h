/*
** cli_help.h: every help text of dss-audit-mcp, rendered from text files.
**
** `dss-audit-mcp --help`, `dss-audit-mcp COMMAND --help` and the manual
** page dss-audit-mcp.1 are all rendered from the files of src/cli/help/,
** embedded in the binary at build time (cmake/embed_files.cmake), so what
** a person reads on the terminal and in man(1) cannot drift apart: change
** the file and both follow.  The manual page is printed at build time by
** the small program cli_man.c.
**
** A page is help/NAME.txt for the command NAME, or help/dss-audit-mcp.txt
** for the program:
**
**   line 1     the usage, what follows "dss-audit-mcp "
**   line 2     the summary: one line, lower case, no period
**   line 3     empty
**   the rest   the opening text, then sections
**
** In the rest, a line "== Title" starts a titled section ("==" alone an
** untitled one); "* TERM" is a row of a two-column list (an option and
** what it does), its text on the lines after it indented by four spaces;
** "@NAME" stands for the lines of the snippet NAME of help/_shared.txt
** (where "@@NAME" starts each snippet); "@commands" lists the commands
** with their summaries.  Other lines are text: paragraphs separated by an
** empty line, re-wrapped when rendered; a line starting with two spaces is
** shown verbatim (examples).
*/
#ifndef DSS_CLI_HELP_H
#define DSS_CLI_HELP_H

#include <stddef.h>
#include <stdio.h>

/* An embedded file of src/cli/help/ (the generated cli_help_data.c). */
typedef struct cli_help_file {
    const char *name; /* "tail.txt" */
    const char *text; /* its bytes, NUL-terminated */
    size_t len;
} cli_help_file;

extern const cli_help_file cli_help_files[];
extern const size_t cli_help_file_count;

/* Whether command has a help page (NULL: the program's). */
int cli_help_has(const char *command);

/* The commands that have a page, in the order of their files: the i-th
** (from 0), or NULL past the last. */
const char *cli_help_command(size_t i);

/* Print a command's help (the program's for NULL) as plain text wrapped
** to 79 columns.  The program's page lists `commands` (NULL-ended; NULL
** for every command with a page).  Returns 0, or -1 when the command has
** no page or the stream failed. */
int cli_help_print(FILE *out, const char *command, const char *const *commands);

/* Call fn with the term of every row of a command's page (the program's
** for NULL), snippets included: "-n, --lines N", "$XDG_DATA_HOME/...".
** Returns 0, or -1 when the command has no page. */
int cli_help_terms(const char *command, void (*fn)(void *ctx, const char *term, size_t len),
                   void *ctx);

/* Print the whole manual page, every page above, as roff (man macros).
** version goes into the page footer.  Returns 0, or -1 when out failed. */
int cli_help_roff(FILE *out, const char *version);

#endif
