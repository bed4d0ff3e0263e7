/*
** cli_help.c: every help text of dss-audit-mcp, and its two renderings.
**
** The texts are the files of src/cli/help/ (their format is in
** cli_help.h), embedded at build time: the program's --help, each
** command's --help, and the manual page, which the build prints with
** cli_man.c.  A page is walked line by line, snippets included, into
** sections, text and rows; the plain rendering wraps paragraphs to 79
** columns and lines rows up in a second column; the roff rendering leaves
** filling to man(1) and only escapes what roff would misread.  Nothing is
** parsed until a help text is asked for.
*/
#include "cli_help.h"

#include <stdlib.h>
#include <string.h>

/* ---- the files ---------------------------------------------------------- */

#define PROGRAM_FILE "dss-audit-mcp.txt"
#define SHARED_FILE "_shared.txt"

static const cli_help_file *find_file(const char *name, size_t n)
{
    for (size_t i = 0; i < cli_help_file_count; i++) {
        const char *f = cli_help_files[i].name;
        if (strncmp(f, name, n) == 0 && strcmp(f + n, ".txt") == 0) return &cli_help_files[i];
    }
    return NULL;
}

/* A page: its usage and summary lines, and the rest. */
typedef struct page {
    const char *usage, *summary, *body;
    size_t usage_len, summary_len, body_len;
} page;

static size_t line_len(const char *s, const char *end)
{
    const char *eol = memchr(s, '\n', (size_t)(end - s));
    return eol ? (size_t)(eol - s) : (size_t)(end - s);
}

/* The page of command (the program's for NULL).  0, or -1 when none. */
static int load_page(const char *command, page *pg)
{
    const cli_help_file *f = command ? find_file(command, strlen(command))
                                     : find_file("dss-audit-mcp", 13);
    if (!f || (command && (*command == '_' || strcmp(command, "dss-audit-mcp") == 0)))
        return -1;
    const char *p = f->text, *end = f->text + f->len;
    pg->usage = p;
    pg->usage_len = line_len(p, end);
    p += pg->usage_len + (p + pg->usage_len < end);
    pg->summary = p;
    pg->summary_len = line_len(p, end);
    p += pg->summary_len + (p + pg->summary_len < end);
    pg->body = p;
    pg->body_len = (size_t)(end - p);
    return 0;
}

int cli_help_has(const char *command)
{
    page pg;
    return load_page(command, &pg) == 0;
}

const char *cli_help_command(size_t i)
{
    static char name[64];
    for (size_t k = 0; k < cli_help_file_count; k++) {
        const char *f = cli_help_files[k].name;
        size_t n = strlen(f);
        if (f[0] == '_' || strcmp(f, PROGRAM_FILE) == 0 || n < 5 || n - 4 >= sizeof name ||
            strcmp(f + n - 4, ".txt") != 0)
            continue;
        if (i-- == 0) {
            memcpy(name, f, n - 4);
            name[n - 4] = '\0';
            return name;
        }
    }
    return NULL;
}

/* The lines of snippet `name` of the shared file, or NULL. */
static const char *find_snippet(const char *name, size_t n, size_t *len)
{
    const cli_help_file *f = find_file("_shared", 7);
    const char *p = f ? f->text : NULL, *end = f ? f->text + f->len : NULL, *body = NULL;
    for (; p && p < end; p += line_len(p, end) + 1) {
        size_t ln = line_len(p, end);
        if (ln < 2 || p[0] != '@' || p[1] != '@') continue;
        if (body) break;
        if (ln - 2 == n && memcmp(p + 2, name, n) == 0) body = p + ln + (p + ln < end);
    }
    if (!body) return NULL;
    *len = (size_t)((p && p < end ? p : end) - body);
    return body;
}

/* ---- walking a page ----------------------------------------------------- */

/* What a page is made of, in order.  Any callback may be NULL. */
typedef struct page_sink {
    /* A section starts: title (NULL for an untitled one); first is set
    ** for the opening text before any "==" line. */
    void (*section)(void *ctx, const char *title, size_t n, int first);
    /* A run of text lines: paragraphs and verbatim lines. */
    void (*text)(void *ctx, const char *s, size_t n);
    /* A row: its term, and its text on one line (NUL-terminated). */
    void (*item)(void *ctx, const char *term, size_t n, const char *text);
    void (*commands)(void *ctx);
    void *ctx;
} page_sink;

typedef struct walker {
    const page_sink *k;
    int started; /* a section is open */
    int failed;  /* out of memory, or a snippet that does not exist */
} walker;

static int blank(const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    return n == 0;
}

static void open_section(walker *w)
{
    if (!w->started && w->k->section) w->k->section(w->k->ctx, NULL, 0, 1);
    w->started = 1;
}

/* Hand over the text run [run, run_end), without its trailing empty lines. */
static void flush_text(walker *w, const char *run, const char *run_end)
{
    if (!run) return;
    open_section(w);
    if (w->k->text) w->k->text(w->k->ctx, run, (size_t)(run_end - run));
}

/* The text of a row: the indented lines from p, joined by single spaces.
** Returns a new string (caller frees) or NULL; *next is the line after. */
static char *item_text(const char *p, const char *end, const char **next)
{
    size_t cap = (size_t)(end - p) + 1, at = 0;
    char *t = malloc(cap);
    while (p < end) {
        size_t n = line_len(p, end);
        if (n < 4 || memcmp(p, "    ", 4) != 0) break;
        const char *s = p + 4, *e = p + n;
        while (s < e && *s == ' ') s++;
        while (e > s && e[-1] == ' ') e--;
        if (t && e > s) {
            if (at) t[at++] = ' ';
            memcpy(t + at, s, (size_t)(e - s));
            at += (size_t)(e - s);
        }
        p += n + (p + n < end);
    }
    if (t) t[at] = '\0';
    *next = p;
    return t;
}

static void walk_body(walker *w, const char *p, size_t len, int depth)
{
    const char *end = p + len, *run = NULL, *run_end = NULL;
    while (p < end) {
        size_t n = line_len(p, end);
        const char *next = p + n + (p + n < end);
        if (n >= 2 && p[0] == '=' && p[1] == '=' && (n == 2 || p[2] == ' ')) {
            flush_text(w, run, run_end);
            run = NULL;
            w->started = 1;
            const char *t = p + 2 + (n > 2);
            size_t tn = n - (size_t)(t - p);
            if (w->k->section) w->k->section(w->k->ctx, tn ? t : NULL, tn, 0);
        } else if (n >= 2 && p[0] == '*' && p[1] == ' ') {
            flush_text(w, run, run_end);
            run = NULL;
            open_section(w);
            char *text = item_text(next, end, &next);
            if (!text) w->failed = 1;
            else if (w->k->item) w->k->item(w->k->ctx, p + 2, n - 2, text);
            free(text);
        } else if (n >= 2 && p[0] == '@' && p[1] != '@') {
            flush_text(w, run, run_end);
            run = NULL;
            size_t sn;
            const char *snip;
            if (n == 9 && memcmp(p, "@commands", 9) == 0) {
                open_section(w);
                if (w->k->commands) w->k->commands(w->k->ctx);
            } else if (depth < 4 && (snip = find_snippet(p + 1, n - 1, &sn))) {
                walk_body(w, snip, sn, depth + 1);
            } else {
                w->failed = 1;
            }
        } else if (!blank(p, n)) {
            if (!run) run = p;
            run_end = p + n;
        }
        p = next;
    }
    flush_text(w, run, run_end);
}

/* Walk the body of pg; 0, or -1 when something in it was missing. */
static int walk_page(const page *pg, const page_sink *k)
{
    walker w = {k, 0, 0};
    walk_body(&w, pg->body, pg->body_len, 0);
    return w.failed ? -1 : 0;
}

typedef struct terms_ctx {
    void (*fn)(void *ctx, const char *term, size_t len);
    void *ctx;
} terms_ctx;

static void term_item(void *ctx, const char *term, size_t n, const char *text)
{
    terms_ctx *t = ctx;
    (void)text;
    t->fn(t->ctx, term, n);
}

int cli_help_terms(const char *command, void (*fn)(void *ctx, const char *term, size_t len),
                   void *ctx)
{
    page pg;
    terms_ctx t = {fn, ctx};
    page_sink k = {.item = term_item, .ctx = &t};
    if (load_page(command, &pg) != 0) return -1;
    return walk_page(&pg, &k);
}

/* ---- walking paragraphs ------------------------------------------------- */

/* Call para with each paragraph (a span whose newlines count as spaces)
** and verb with each run of verbatim lines (a span of lines that each
** start with two spaces, newline-separated), in order; blank lines
** separate paragraphs. */
typedef struct text_sink {
    void (*para)(void *ctx, const char *s, size_t n);
    void (*verb)(void *ctx, const char *s, size_t n);
    void *ctx;
} text_sink;

static void walk_text(const char *text, size_t len, const text_sink *k)
{
    const char *p = text, *end = text + len, *run = NULL, *run_end = NULL;
    int run_verbatim = 0;
    while (p < end) {
        size_t n = line_len(p, end);
        int verbatim = n >= 2 && p[0] == ' ' && p[1] == ' ';
        if (run && (n == 0 || verbatim != run_verbatim)) {
            (run_verbatim ? k->verb : k->para)(k->ctx, run, (size_t)(run_end - run));
            run = NULL;
        }
        if (n > 0) {
            if (!run) run = p;
            run_end = p + n;
            run_verbatim = verbatim;
        }
        p += n + 1;
    }
    if (run) (run_verbatim ? k->verb : k->para)(k->ctx, run, (size_t)(run_end - run));
}

/* ---- plain text --------------------------------------------------------- */

enum { WIDTH = 79, TERM_COL = 26 };

typedef struct plain {
    FILE *out;
    int indent; /* column where the text's lines start */
    int at_col; /* column of the cursor before the first output */
    int fresh;  /* nothing printed yet */
} plain;

static void spaces(FILE *out, int n)
{
    while (n-- > 0) fputc(' ', out);
}

/* Move to column `col` of a new line, or of the current one before the
** first output; a paragraph after earlier output gets a blank line. */
static void plain_start(plain *pl, int col, int blank)
{
    if (pl->fresh) spaces(pl->out, col - pl->at_col);
    else {
        if (blank) fputc('\n', pl->out);
        spaces(pl->out, col);
    }
    pl->fresh = 0;
}

/* Print the words of s[0..n) filled to WIDTH at pl->indent. */
static void plain_para(void *ctx, const char *s, size_t n)
{
    plain *pl = ctx;
    int col = pl->indent, line_empty = 1;
    plain_start(pl, pl->indent, 1);
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\n')) i++;
        size_t w = i;
        while (w < n && s[w] != ' ' && s[w] != '\n') w++;
        if (w == i) break;
        int len = (int)(w - i);
        if (!line_empty && col + 1 + len > WIDTH) {
            fputc('\n', pl->out);
            spaces(pl->out, pl->indent);
            col = pl->indent;
            line_empty = 1;
        }
        if (!line_empty) {
            fputc(' ', pl->out);
            col++;
        }
        fwrite(s + i, 1, (size_t)len, pl->out);
        col += len;
        line_empty = 0;
        i = w;
    }
    fputc('\n', pl->out);
}

/* Verbatim lines, two columns in from the text. */
static void plain_verb(void *ctx, const char *s, size_t n)
{
    plain *pl = ctx;
    const char *end = s + n;
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        size_t len = eol ? (size_t)(eol - s) : (size_t)(end - s);
        plain_start(pl, pl->indent, 0);
        fwrite(s, 1, len, pl->out);
        fputc('\n', pl->out);
        s += len + 1;
    }
}

static void plain_text(FILE *out, const char *text, size_t len, int indent, int at_col)
{
    plain pl = {out, indent, at_col, 1};
    text_sink k = {plain_para, plain_verb, &pl};
    walk_text(text, len, &k);
}

/* "  term" and the text in the second column (below, for a long term). */
static void plain_item(FILE *out, const char *term, size_t tn, const char *text, size_t n)
{
    int col = fprintf(out, "  %.*s", (int)tn, term);
    if (col > TERM_COL - 2) {
        fputc('\n', out);
        col = 0;
    }
    plain_text(out, text, n, TERM_COL, col);
}

/* "Usage: dss-audit-mcp USAGE" filled to WIDTH, breaking only between
** bracketed groups, continuation lines under the command's arguments. */
static void plain_usage(FILE *out, const char *usage, size_t ulen)
{
    static const char lead[] = "Usage: dss-audit-mcp ";
    int col = fprintf(out, "%s", lead), indent = col + 2, depth = 0, line_empty = 1;
    const char *p = usage, *end = usage + ulen;
    while (p < end) {
        while (p < end && *p == ' ') p++;
        const char *w = p;
        /* A token ends at a space outside brackets. */
        for (depth = 0; w < end && (depth > 0 || *w != ' '); w++) {
            if (*w == '[') depth++;
            else if (*w == ']' && depth > 0) depth--;
        }
        int len = (int)(w - p);
        if (len == 0) break;
        if (!line_empty && col + 1 + len > WIDTH) {
            fputc('\n', out);
            spaces(out, indent);
            col = indent;
            line_empty = 1;
        }
        if (!line_empty) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, (size_t)len, out);
        col += len;
        line_empty = 0;
        p = w;
    }
    fputc('\n', out);
}

typedef struct plain_page {
    FILE *out;
    int indent;
    const char *const *commands;
} plain_page;

static void plain_section(void *ctx, const char *title, size_t n, int first)
{
    plain_page *pp = ctx;
    (void)first;
    fputc('\n', pp->out);
    pp->indent = title ? 2 : 0;
    if (title) fprintf(pp->out, "%.*s:\n", (int)n, title);
}

static void plain_section_text(void *ctx, const char *s, size_t n)
{
    plain_page *pp = ctx;
    plain_text(pp->out, s, n, pp->indent, 0);
}

static void plain_row(void *ctx, const char *term, size_t n, const char *text)
{
    plain_page *pp = ctx;
    plain_item(pp->out, term, n, text, strlen(text));
}

static void plain_commands(void *ctx)
{
    plain_page *pp = ctx;
    for (size_t i = 0;; i++) {
        const char *name = pp->commands ? pp->commands[i] : cli_help_command(i);
        page pg = {0};
        if (!name) break;
        load_page(name, &pg);
        plain_item(pp->out, name, strlen(name), pg.summary ? pg.summary : "",
                   pg.summary_len);
    }
}

int cli_help_print(FILE *out, const char *command, const char *const *commands)
{
    page pg;
    plain_page pp = {out, 0, commands};
    page_sink k = {plain_section, plain_section_text, plain_row, plain_commands, &pp};
    if (load_page(command, &pg) != 0) return -1;
    plain_usage(out, pg.usage, pg.usage_len);
    int rc = walk_page(&pg, &k);
    return rc == 0 && fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* ---- roff --------------------------------------------------------------- */

/* Write s[0..n) escaped for roff: backslashes, a leading dot or quote,
** and every hyphen as \- (an ASCII minus), so that options, paths and
** dates can be copied from the rendered page.  Newlines become spaces. */
static void roff_escape(FILE *out, const char *s, size_t n, int line_start)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (line_start && (c == '.' || c == '\'')) fputs("\\&", out);
        line_start = 0;
        if (c == '\\') fputs("\\e", out);
        else if (c == '-') fputs("\\-", out);
        else if (c == '\n') fputc(' ', out);
        else fputc(c, out);
    }
}

static void roff_para(void *ctx, const char *s, size_t n)
{
    FILE *out = ctx;
    fputs(".PP\n", out);
    roff_escape(out, s, n, 1);
    fputc('\n', out);
}

static void roff_verb(void *ctx, const char *s, size_t n)
{
    FILE *out = ctx;
    const char *end = s + n;
    fputs(".PP\n.RS 4\n.nf\n", out);
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        size_t len = eol ? (size_t)(eol - s) : (size_t)(end - s);
        roff_escape(out, s + 2, len - 2, 1);
        fputc('\n', out);
        s += len + 1;
    }
    fputs(".fi\n.RE\n", out);
}

static void roff_row(void *ctx, const char *term, size_t n, const char *text)
{
    FILE *out = ctx;
    fputs(".TP\n.B ", out);
    roff_escape(out, term, n, 0);
    fputc('\n', out);
    roff_escape(out, text, strlen(text), 1);
    fputc('\n', out);
}

static void roff_text(void *ctx, const char *s, size_t n)
{
    text_sink k = {roff_para, roff_verb, ctx};
    walk_text(s, n, &k);
}

static void roff_upper(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i], out);
}

/* A command's section title within its subsection. */
static void roff_subtitle(void *ctx, const char *title, size_t n, int first)
{
    FILE *out = ctx;
    (void)first;
    if (!title) return;
    fputs(".PP\n.I ", out);
    roff_escape(out, title, n, 0);
    fputc('\n', out);
}

/* A command's page as a subsection of COMMANDS. */
static int roff_command(FILE *out, const char *name)
{
    page pg;
    page_sink k = {roff_subtitle, roff_text, roff_row, NULL, out};
    if (load_page(name, &pg) != 0) return -1;
    fprintf(out, ".SS %s\n.PP\n.B dss\\-audit\\-mcp\n", name);
    roff_escape(out, pg.usage, pg.usage_len, 1);
    fputc('\n', out);
    return walk_page(&pg, &k);
}

typedef struct roff_top {
    FILE *out;
    int failed;
} roff_top;

static void roff_top_section(void *ctx, const char *title, size_t n, int first)
{
    roff_top *t = ctx;
    if (title) {
        fputs(".SH \"", t->out);
        roff_upper(t->out, title, n);
        fputs("\"\n", t->out);
    } else if (first) {
        fputs(".SH DESCRIPTION\n", t->out);
    }
}

static void roff_top_text(void *ctx, const char *s, size_t n)
{
    roff_text(((roff_top *)ctx)->out, s, n);
}

static void roff_top_row(void *ctx, const char *term, size_t n, const char *text)
{
    roff_row(((roff_top *)ctx)->out, term, n, text);
}

static void roff_top_commands(void *ctx)
{
    roff_top *t = ctx;
    for (size_t i = 0; cli_help_command(i); i++)
        if (roff_command(t->out, cli_help_command(i)) != 0) t->failed = 1;
}

int cli_help_roff(FILE *out, const char *version)
{
    page top, pg;
    roff_top t = {out, 0};
    page_sink k = {roff_top_section, roff_top_text, roff_top_row, roff_top_commands, &t};
    if (load_page(NULL, &top) != 0) return -1;
    fputs(".\\\" Generated from src/cli/help/ by cli_man; edit those files.\n", out);
    fprintf(out, ".TH DSS\\-AUDIT\\-MCP 1 \"\" \"dss\\-audit\\-mcp %s\" \"User Commands\"\n",
            version);
    fputs(".nh\n.ad l\n.SH NAME\ndss\\-audit\\-mcp \\- ", out);
    roff_escape(out, top.summary, top.summary_len, 0);
    fputs("\n.SH SYNOPSIS\n.B dss\\-audit\\-mcp\n", out);
    roff_escape(out, top.usage, top.usage_len, 1);
    fputc('\n', out);
    for (size_t i = 0; cli_help_command(i); i++) {
        if (load_page(cli_help_command(i), &pg) != 0) return -1;
        fputs(".br\n.B dss\\-audit\\-mcp\n", out);
        roff_escape(out, pg.usage, pg.usage_len, 1);
        fputc('\n', out);
    }
    if (walk_page(&top, &k) != 0 || t.failed) return -1;
    fputs(".SH \"SEE ALSO\"\n.BR sqlite3 (1)\n", out);
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
