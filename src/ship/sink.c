/*
** sink.c: what every sink shares (see sink.h): the table of sink types and
** the URL schemes that pick one, URLs parsed and masked for messages, and
** the entry printed in each format (the same mappings as `export`, from
** src/cli: one mapping, whatever carries it).
*/
#include "sink.h"
#include "sink_int.h"
#include "../cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sink_type *const types[] = {
    &sink_relp_type, &sink_syslog_type, &sink_otlp_type, &sink_hec_type, &sink_webhook_type,
};

const char *sink_format_name(sink_format f)
{
    switch (f) {
    case SINK_FORMAT_JSONL: return "jsonl";
    case SINK_FORMAT_OCSF: return "ocsf";
    case SINK_FORMAT_OTLP: return "otlp";
    default: return "default";
    }
}

sink_format sink_format_parse(const char *name)
{
    if (!name) return SINK_FORMAT_DEFAULT;
    if (strcmp(name, "jsonl") == 0) return SINK_FORMAT_JSONL;
    if (strcmp(name, "ocsf") == 0) return SINK_FORMAT_OCSF;
    if (strcmp(name, "otlp") == 0) return SINK_FORMAT_OTLP;
    return SINK_FORMAT_DEFAULT;
}

/* The scheme of url (before "://"), lower-cased into out; 0, or -1 when
** url has none. */
static int scheme_of(const char *url, char *out, size_t len)
{
    const char *sep = strstr(url, "://");
    size_t n = sep ? (size_t)(sep - url) : 0;
    if (!sep || n == 0 || n >= len) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (!isalnum(c) && c != '+' && c != '-' && c != '.') return -1;
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    return 0;
}

const sink_type *sink_type_of(const char *url, char *err, size_t len)
{
    char scheme[32];
    if (url && store_is_remote(url)) return &sink_pg_type;
    if (url && scheme_of(url, scheme, sizeof scheme) == 0) {
        for (size_t i = 0; i < sizeof types / sizeof *types; i++)
            for (const char *const *s = types[i]->schemes; *s; s++)
                if (strcmp(scheme, *s) == 0) return types[i];
    }
    char shown[SINK_DESC_LEN];
    sink_describe(url ? url : "", shown, sizeof shown);
    snprintf(err, len,
             "'%s' names no known sink: use postgres://..., relp://, relp+tls://, "
             "syslog+tcp://, syslog+tls://, otlp+http://, otlp+https://, "
             "splunk-hec+https:// or https:// (a webhook)",
             shown);
    return NULL;
}

/* "jsonl, ocsf" for a set of formats, into out. */
static const char *formats_list(unsigned formats, char *out, size_t len)
{
    size_t w = 0;
    out[0] = '\0';
    for (int f = SINK_FORMAT_JSONL; f <= SINK_FORMAT_OTLP; f++)
        if (formats & (1u << f))
            w += (size_t)snprintf(out + w, w < len ? len - w : 0, "%s%s", w ? ", " : "",
                                  sink_format_name((sink_format)f));
    return out;
}

int sink_open(const sink_config *cfg, sink **out, char *err, size_t len)
{
    *out = NULL;
    const sink_type *t = sink_type_of(cfg->url, err, len);
    if (!t) return SINK_EUSAGE;
    sink_format f = cfg->format == SINK_FORMAT_DEFAULT ? t->default_format : cfg->format;
    if (t->formats ? !(t->formats & (1u << f)) : cfg->format != SINK_FORMAT_DEFAULT) {
        char shown[SINK_DESC_LEN], list[32];
        sink_describe(cfg->url, shown, sizeof shown);
        if (t->formats == 0)
            snprintf(err, len, "%s: a %s sink copies the entries as they are stored; "
                               "--format does not apply", shown, t->name);
        else
            snprintf(err, len, "%s: a %s sink does not take --format %s (it takes %s)", shown,
                     t->name, sink_format_name(f), formats_list(t->formats, list, sizeof list));
        return SINK_EUSAGE;
    }
    sink_config c = *cfg;
    c.format = f;
    int rc = t->open(&c, out, err, len);
    if (rc != SINK_OK) return rc;
    (*out)->type = t;
    (*out)->format = f;
    (*out)->stop = cfg->stop;
    sink_describe(cfg->url, (*out)->desc, sizeof (*out)->desc);
    return SINK_OK;
}

int sink_encode(sink *s, const entry_row *row, jbuf *out, char *err, size_t len)
{
    return s->type->encode(s, row, out, err, len);
}

int sink_send(sink *s, const sink_batch *b, sink_ack *ack, char *err, size_t len)
{
    return s->type->send(s, b, ack, err, len);
}

void sink_close(sink *s)
{
    if (s) s->type->close(s);
}

int sink_stopped(const sink *s)
{
    return s->stop && *s->stop;
}

void sink_describe(const char *url, char *out, size_t len)
{
    if (store_is_remote(url)) {
        store_redact_path(url, out, len);
        return;
    }
    /* scheme://[user[:password]@]host[:port][/path][?query][#fragment] */
    size_t w = 0;
    const char *p = url, *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    /* The password ends at the last '@' before the query, not the first
    ** '/': one typed with a '/' unencoded ("user:pa/ss@host") is still
    ** masked whole.  A path holding '@' masks more than it needs to. */
    const char *host_end = auth + strcspn(auth, "?#");
    const char *at = NULL;
    for (const char *q = auth; q < host_end; q++)
        if (*q == '@') at = q;
#define PUT(c) do { char c_ = (c); if (w + 1 < len) out[w++] = c_; } while (0)
#define PUTS(s) do { for (const char *s_ = (s); *s_; s_++) PUT(*s_); } while (0)
    while (p < auth) PUT(*p++);
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        for (p = auth; p < (colon ? colon : at); p++) PUT(*p);
        if (colon) {
            PUT(':');
            PUTS("***");
        }
        PUT('@');
        p = at + 1;
    }
    while (*p && *p != '?' && *p != '#') PUT(*p++);
    if (*p == '?') {
        /* Query values may be credentials (?token=...): names only. */
        PUT(*p++);
        while (*p && *p != '#') {
            size_t n = strcspn(p, "=&#");
            for (size_t i = 0; i < n; i++) PUT(p[i]);
            p += n;
            if (*p == '=') {
                PUTS("=***");
                p += 1 + strcspn(p + 1, "&#");
            }
            if (*p == '&') PUT(*p++);
        }
    }
#undef PUT
#undef PUTS
    if (len) out[w < len ? w : len - 1] = '\0';
}

int sink_url_parse(const char *url, int default_port, sink_url *out, char *err, size_t len)
{
    char shown[SINK_DESC_LEN];
    memset(out, 0, sizeof *out);
    sink_describe(url, shown, sizeof shown);
    if (scheme_of(url, out->scheme, sizeof out->scheme) != 0) {
        snprintf(err, len, "'%s' is not a URL (scheme://host:port)", shown);
        return SINK_EUSAGE;
    }
    /* RFC 3986 has no place for spaces or control characters, and what
    ** follows would carry them into requests, syslog's HOSTNAME and the
    ** messages. */
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= 0x20 || *c == 0x7f) {
            snprintf(err, len, "'%s' is not a URL: it holds a space or a control character",
                     shown);
            return SINK_EUSAGE;
        }
    const char *h = strstr(url, "://") + 3;
    const char *end = h + strcspn(h, "/?#");
    if (memchr(h, '@', (size_t)(end - h))) {
        snprintf(err, len, "%s: credentials do not belong in the URL, where ps shows them; "
                           "use DSS_AUDIT_SINK_TOKEN or DSS_AUDIT_SINK_SECRET (or a file)", shown);
        return SINK_EUSAGE;
    }
    const char *port = NULL, *hend = end, *why;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        why = "its IPv6 address has no closing ']'";
        if (!rb) goto bad;
        h++;
        hend = rb;
        if (rb + 1 < end) {
            why = "only :port may follow its IPv6 address";
            if (rb[1] != ':') goto bad;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(h, ':', (size_t)(end - h));
        if (colon) {
            hend = colon;
            port = colon + 1;
        }
    }
    why = "it names no host";
    if (hend == h) goto bad;
    why = "its host name is too long";
    if ((size_t)(hend - h) >= sizeof out->host) goto bad;
    memcpy(out->host, h, (size_t)(hend - h));
    out->port = default_port;
    if (port) {
        /* Digits alone: strtol() would also take "+80", "-0" or " 80". */
        char *stop;
        errno = 0;
        long v = *port >= '0' && *port <= '9' ? strtol(port, &stop, 10) : -1;
        why = "its port is not a number";
        if (v < 0 || stop != end) goto bad;
        why = "its port is not from 1 to 65535";
        if (errno || v < 1 || v > 65535) goto bad;
        out->port = (int)v;
    }
    if (out->port <= 0) {
        snprintf(err, len, "%s: the URL needs a port", shown);
        return SINK_EUSAGE;
    }
    /* The path begins with '/' (sink.h): a bare "?query" gets one. */
    why = "its path is too long";
    if (strlen(end) + 1 >= sizeof out->path) goto bad;
    snprintf(out->path, sizeof out->path, "%s%s", *end == '?' ? "/" : "",
             *end == '#' ? "" : end);
    return SINK_OK;
bad:
    snprintf(err, len, "'%s' is not a usable URL (scheme://host:port/path): %s", shown, why);
    return SINK_EUSAGE;
}

/* ---- entries ------------------------------------------------------------ */

const char *sink_row_text(const entry_row *row, int field)
{
    return row->v[field].p;
}

int sink_entry_json(sink_format f, const entry_row *row, jbuf *out, char *err, size_t len)
{
    cli_format cf = f == SINK_FORMAT_JSONL  ? CLI_FORMAT_JSONL
                    : f == SINK_FORMAT_OTLP ? CLI_FORMAT_OTLP
                                            : CLI_FORMAT_OCSF;
    if (cli_entry_json(cf, row, out, err, len) == 0) return SINK_OK;
    /* It fails only for an entry without a time or without memory. */
    return strstr(err, "memory") ? SINK_ENOMEM : SINK_EREFUSED;
}
