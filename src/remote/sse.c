/*
** sse.c: the text/event-stream parser (see sse.h).
**
** Bytes accumulate in a line buffer until a line ends; each complete line
** is interpreted at once into the event being built (type, data, id), and
** an empty line dispatches it.  A CR ends a line by itself, so a CRLF split
** between two chunks is recognized by remembering that the last byte was a
** CR and skipping an LF that comes first in the next chunk.
*/
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#include "../util/jbuf.h"

struct sse_parser {
    size_t max;
    jbuf line;        /* the current line, without its end */
    jbuf data;        /* the event's data lines, each followed by "\n" */
    char *type;       /* the event's type, or NULL for "message" */
    char *id_buf;     /* the last event id buffer: the id lines set it */
    char *last_id;    /* the last event id: the buffer as of the last
                      ** dispatch (blank line), what a resumption names */
    long retry;
    int after_cr;     /* the previous byte was a CR */
    int bom_checked;  /* the first bytes were looked at for a BOM */
    int has_data;     /* a data field was seen since the last dispatch */
};

sse_parser *sse_new(size_t max_bytes)
{
    sse_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->max = max_bytes;
    p->retry = -1;
    p->last_id = strdup("");
    p->id_buf = strdup("");
    if (!p->last_id || !p->id_buf) {
        free(p->last_id);
        free(p->id_buf);
        free(p);
        return NULL;
    }
    return p;
}

void sse_free(sse_parser *p)
{
    if (!p) return;
    jbuf_free(&p->line);
    jbuf_free(&p->data);
    free(p->type);
    free(p->id_buf);
    free(p->last_id);
    free(p);
}

const char *sse_last_id(const sse_parser *p) { return p->last_id; }

long sse_retry_ms(const sse_parser *p) { return p->retry; }

static int dispatch(sse_parser *p, sse_cb cb, void *ud)
{
    int rc = 0;
    /* The id takes effect here, not at its line: a stream that drops
    ** inside an event must be resumed from the event before it, or the
    ** server would replay only what follows the lost one. */
    if (strcmp(p->last_id, p->id_buf) != 0) {
        char *id = strdup(p->id_buf);
        if (!id) return SSE_ENOMEM;
        free(p->last_id);
        p->last_id = id;
    }
    if (p->has_data) {
        /* The data buffer ends with the "\n" of its last line. */
        size_t n = p->data.len ? p->data.len - 1 : 0;
        sse_event ev = {
            .type = p->type && *p->type ? p->type : "message",
            .data = p->data.p ? p->data.p : "",
            .len = n,
            .id = p->last_id,
        };
        if (p->data.p) p->data.p[n] = '\0';
        rc = cb(ud, &ev);
    }
    p->data.len = 0;
    p->has_data = 0;
    free(p->type);
    p->type = NULL;
    return rc;
}

/* Interpret one complete line (NUL-terminated in p->line). */
static int process_line(sse_parser *p, sse_cb cb, void *ud)
{
    const char *s = p->line.p ? p->line.p : "";
    size_t n = p->line.len;
    if (n == 0) return dispatch(p, cb, ud);
    if (s[0] == ':') return 0; /* a comment, e.g. a keep-alive */
    const char *colon = memchr(s, ':', n);
    size_t nlen = colon ? (size_t)(colon - s) : n;
    const char *val = colon ? colon + 1 : s + n;
    size_t vlen = (size_t)(s + n - val);
    if (vlen && *val == ' ') {
        val++;
        vlen--;
    }
    if (nlen == 4 && memcmp(s, "data", 4) == 0) {
        if (p->data.len + vlen + 1 > p->max) return SSE_ETOOBIG;
        jbuf_put(&p->data, val, vlen);
        jbuf_putc(&p->data, '\n');
        if (p->data.failed) return SSE_ENOMEM;
        p->has_data = 1;
    } else if (nlen == 5 && memcmp(s, "event", 5) == 0) {
        char *t = strndup(val, vlen);
        if (!t) return SSE_ENOMEM;
        free(p->type);
        p->type = t;
    } else if (nlen == 2 && memcmp(s, "id", 2) == 0) {
        if (memchr(val, '\0', vlen)) return 0;
        char *id = strndup(val, vlen);
        if (!id) return SSE_ENOMEM;
        free(p->id_buf);
        p->id_buf = id;
    } else if (nlen == 5 && memcmp(s, "retry", 5) == 0) {
        long ms = 0;
        if (vlen == 0) return 0;
        for (size_t i = 0; i < vlen; i++) {
            if (val[i] < '0' || val[i] > '9') return 0;
            if (ms < 100000000) ms = ms * 10 + (val[i] - '0');
        }
        p->retry = ms;
    }
    /* Any other field name is ignored, as the standard says. */
    return 0;
}

int sse_feed(sse_parser *p, const char *buf, size_t n, sse_cb cb, void *ud)
{
    size_t i = 0;
    if (!p->bom_checked) {
        /* The BOM may itself arrive split: wait for three bytes or a
        ** mismatch before deciding. */
        static const char bom[3] = {(char)0xEF, (char)0xBB, (char)0xBF};
        size_t have = p->line.len;
        while (i < n && have < 3 && buf[i] == bom[have]) {
            jbuf_putc(&p->line, buf[i++]);
            have++;
        }
        if (p->line.failed) return SSE_ENOMEM;
        if (have == 3) {
            p->line.len = 0;
            p->bom_checked = 1;
        } else if (i < n) {
            /* Not a BOM: what was held is line text, under the limit like
            ** the rest (it matters only for a limit under three bytes). */
            p->bom_checked = 1;
            if (p->line.len > p->max) return SSE_ETOOBIG;
        } else {
            return 0;
        }
    }
    while (i < n) {
        char c = buf[i];
        if (p->after_cr && c == '\n') {
            p->after_cr = 0;
            i++;
            continue;
        }
        p->after_cr = 0;
        if (c == '\r' || c == '\n') {
            p->after_cr = c == '\r';
            jbuf_putc(&p->line, '\0');
            if (p->line.failed) return SSE_ENOMEM;
            p->line.len--;
            int rc = process_line(p, cb, ud);
            p->line.len = 0;
            i++;
            if (rc) return rc;
            continue;
        }
        /* Copy the run up to the next line end at once. */
        size_t j = i;
        while (j < n && buf[j] != '\r' && buf[j] != '\n') j++;
        if (p->line.len + (j - i) > p->max) return SSE_ETOOBIG;
        jbuf_put(&p->line, buf + i, j - i);
        if (p->line.failed) return SSE_ENOMEM;
        i = j;
    }
    return 0;
}
