/*
** cli_table.c: what people see on a terminal: aligned tables and a
** progress bar.
**
** Audit data is untrusted text, written by agents: before any of it reaches
** a terminal, control characters (which could move the cursor, retitle the
** window or hide lines) and bidirectional overrides (which could reorder
** what is shown) are replaced by '?'.  Tables buffer a bounded number of
** rows to size their columns, then stream with the widths fixed, so a long
** listing never holds more than that many rows.
*/
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum { TABLE_BUFFER_ROWS = 1000, COL_GAP = 2 };

int cli_use_table(FILE *out, const cli_args *a)
{
    return !(a && a->json) && isatty(fileno(out));
}

int cli_term_width(FILE *out)
{
    struct winsize ws;
    if (!isatty(fileno(out))) return 0;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

/* Decode one UTF-8 sequence at s; returns its length (0 when invalid) and
** the code point in *cp. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t c = s[0], min;
    if (c < 0x80) { *cp = c; return 1; }
    if ((c & 0xE0) == 0xC0) { n = 2; c &= 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 3; c &= 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 4; c &= 0x07; min = 0x10000; }
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return n;
}

/* Code points a terminal must not be handed from untrusted data. */
static int unsafe_cp(uint32_t c)
{
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
           c == 0x200E || c == 0x200F || c == 0x061C;
}

void cli_sanitize(const char *s, char *out, size_t len)
{
    size_t w = 0;
    if (len == 0) return;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        uint32_t cp;
        size_t n = utf8_decode(p, &cp);
        if (n == 0 || unsafe_cp(cp)) {
            if (w + 1 >= len) break;
            out[w++] = '?';
            p += n ? n : 1;
            continue;
        }
        if (w + n >= len) break;
        memcpy(out + w, p, n);
        w += n;
        p += n;
    }
    out[w] = '\0';
}

/* Code points in a valid UTF-8 string. */
static int cp_count(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* Byte length of the first `chars` code points of s. */
static size_t cp_prefix(const char *s, int chars)
{
    size_t i = 0;
    while (s[i] && chars > 0) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80) i++;
        chars--;
    }
    return i;
}

struct cli_table {
    FILE *out;
    const cli_col *cols;
    int ncols;
    int width;
    int *w;       /* the columns' widths once fixed */
    char **buf;   /* buffered, sanitized cells: nbuf rows of ncols */
    int nbuf;
    int fixed;
    int failed;
};

cli_table *cli_table_new(FILE *out, const cli_col *cols, int ncols, int width)
{
    cli_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->out = out;
    t->cols = cols;
    t->ncols = ncols;
    t->width = width;
    t->w = calloc((size_t)ncols, sizeof *t->w);
    t->buf = calloc((size_t)ncols * TABLE_BUFFER_ROWS, sizeof *t->buf);
    if (!t->w || !t->buf) {
        cli_table_free(t);
        return NULL;
    }
    return t;
}

void cli_table_free(cli_table *t)
{
    if (!t) return;
    if (t->buf)
        for (int i = 0; i < t->nbuf * t->ncols; i++) free(t->buf[i]);
    free(t->buf);
    free(t->w);
    free(t);
}

/* Fix the widths from the titles and the buffered rows. */
static void fix_widths(cli_table *t)
{
    int used = 0;
    for (int c = 0; c < t->ncols; c++) {
        const cli_col *col = &t->cols[c];
        int w = cp_count(col->title);
        if (w < col->min) w = col->min;
        for (int r = 0; r < t->nbuf; r++) {
            int n = cp_count(t->buf[r * t->ncols + c]);
            if (n > w) w = n;
        }
        if (col->max > 0 && w > col->max) w = col->max;
        t->w[c] = w;
        if (c < t->ncols - 1) used += w + COL_GAP;
    }
    /* The last column takes what is left of the line. */
    const cli_col *last = &t->cols[t->ncols - 1];
    if (last->max == 0) {
        int rest = t->width > 0 ? t->width - used - 1 : 0;
        if (t->width > 0) t->w[t->ncols - 1] = rest > last->min ? rest : last->min;
        else t->w[t->ncols - 1] = 0; /* unbounded */
    }
    t->fixed = 1;
}

/* Print one cell padded (or cut) to column c's width. */
static void put_cell(cli_table *t, int c, const char *s)
{
    int w = t->w[c], n = cp_count(s), last = c == t->ncols - 1;
    if (c > 0) fprintf(t->out, "%*s", COL_GAP, "");
    if (w > 0 && n > w) {
        fwrite(s, 1, cp_prefix(s, w - 1), t->out);
        fputc('~', t->out);
        n = w;
    } else if (t->cols[c].right) {
        fprintf(t->out, "%*s%s", w - n, "", s);
        n = w;
    } else {
        fputs(s, t->out);
    }
    if (!last && n < w) fprintf(t->out, "%*s", w - n, "");
}

static void put_row(cli_table *t, char *const *cells)
{
    for (int c = 0; c < t->ncols; c++) put_cell(t, c, cells[c]);
    fputc('\n', t->out);
}

int cli_table_flush(cli_table *t)
{
    if (!t->fixed) {
        fix_widths(t);
        char *titles[32];
        int n = t->ncols < 32 ? t->ncols : 32;
        for (int c = 0; c < n; c++) titles[c] = (char *)t->cols[c].title;
        put_row(t, titles);
    }
    for (int r = 0; r < t->nbuf; r++) {
        put_row(t, &t->buf[r * t->ncols]);
        for (int c = 0; c < t->ncols; c++) {
            free(t->buf[r * t->ncols + c]);
            t->buf[r * t->ncols + c] = NULL;
        }
    }
    t->nbuf = 0;
    if (fflush(t->out) != 0 || ferror(t->out)) t->failed = 1;
    return t->failed ? -1 : 0;
}

int cli_table_add(cli_table *t, const char *const *cells)
{
    if (t->failed) return -1;
    if (t->nbuf == TABLE_BUFFER_ROWS && cli_table_flush(t) != 0) return -1;
    for (int c = 0; c < t->ncols; c++) {
        const char *s = cells[c] ? cells[c] : "-";
        size_t cap = strlen(s) + 1;
        char *copy = malloc(cap);
        if (!copy) {
            t->failed = 1;
            return -1;
        }
        cli_sanitize(s, copy, cap);
        t->buf[t->nbuf * t->ncols + c] = copy;
    }
    t->nbuf++;
    if (t->fixed) return cli_table_flush(t);
    return 0;
}

/* ---- progress ----------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_progress_start(cli_progress *p, FILE *f, const char *label)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    p->label = label;
    p->on = isatty(fileno(f));
    p->start_ms = now_ms();
}

void cli_progress_update(cli_progress *p, int64_t done, int64_t total)
{
    enum { BAR = 30 };
    if (!p->on) return;
    int64_t t = now_ms();
    if (t - p->start_ms < 200) return;
    if (p->drawn && t - p->last_ms < 100 && done < total) return;
    p->last_ms = t;
    p->drawn = 1;
    if (total <= 0) {
        fprintf(p->f, "\r%s %lld", p->label, (long long)done);
    } else {
        if (done > total) done = total;
        int fill = (int)(done * BAR / total);
        char bar[BAR + 1];
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(BAR - fill));
        bar[BAR] = '\0';
        fprintf(p->f, "\r%s [%s] %3d%%  %lld/%lld", p->label, bar,
                (int)(done * 100 / total), (long long)done, (long long)total);
    }
    fflush(p->f);
}

void cli_progress_end(cli_progress *p)
{
    if (!p->on || !p->drawn) return;
    fputs("\r\033[K", p->f);
    fflush(p->f);
    p->drawn = 0;
}
