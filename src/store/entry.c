/*
** entry.c: the entry's fields as data, and the one printer of entries.
**
** Every query of every backend ends here: the backend fills an entry_row
** from its result and the row becomes JSON, as text appended to a jbuf (the
** replies of the query tools and the viewer, hundreds of entries at a
** time) or as a cJSON tree (one entry, the command line's walks).  The two
** give the same text; tests/unit/test_entry.c holds them to it.
*/
#include "entry.h"
#include "chain.h"

#include <stdlib.h>
#include <string.h>

#include "../util/jsoncheck.h"
#include "../util/jsonword.h"

#define X_FIELD(name, type, nullable, hash_at, since, by)                                       \
    {#name, ENTRY_##type, nullable, hash_at, since, ",\"" #name "\":", sizeof #name + 3, \
     ",\\\"" #name "\\\":", sizeof #name + 5, MEMBER_##type(name)},
#define MEMBER_SEQ(name) ENTRY_NO_MEMBER
#define MEMBER_HASH(name) ENTRY_NO_MEMBER
#define MEMBER_TEXT(name) offsetof(chain_fields, name)
#define MEMBER_JSON MEMBER_TEXT
#define MEMBER_INT MEMBER_TEXT
const entry_field entry_fields[ENTRY_NFIELDS] = {ENTRY_FIELDS(X_FIELD)};

/* The printer writes "{" then the first key without its comma: seq, never
** NULL, must come first. */
_Static_assert(ENTRY_F_seq == 0, "seq is the first field");

int entry_field_index(const char *name)
{
    for (int i = 0; name && i < ENTRY_NFIELDS; i++)
        if (strcmp(entry_fields[i].name, name) == 0) return i;
    return -1;
}

/* Whether the stored text of a JSON column may be spliced into a reply as
** it is.  It is checked, linearly, because text that is not JSON (only
** possible if the database was edited) would break the reply; such text is
** shown as a string instead, so the reader sees what is stored. */
static int splices(const char *text, size_t len)
{
    char why[128];
    int rc = jsoncheck(text, len, 1024, why, sizeof why);
    return rc == JSONCHECK_OK || rc == JSONCHECK_NUL;
}

/* Whether the 64 bytes at p may be printed as they are inside a JSON
** string: a hash a backend hands as hex text is, so a damaged one (a
** hand-edited row) must not put a quote, a backslash, a control character
** or a byte of broken UTF-8 into the reply.  Tested sixteen bytes at a
** time: every entry has two. */
static int printable_hex(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned m = 0;
    for (int i = 0; i < 2 * CHAIN_HASH_BYTES; i += JSONWORD_BLOCK) m |= jsonword_mask(u + i, 1);
    return m == 0;
}

void entry_hash_hex(const entry_value *v, char out[CHAIN_HEX_LEN])
{
    if (v->p && v->len == CHAIN_HASH_BYTES) {
        chain_hex((const uint8_t *)v->p, out);
    } else if (v->p && v->len == 2 * CHAIN_HASH_BYTES && printable_hex(v->p)) {
        memcpy(out, v->p, 2 * CHAIN_HASH_BYTES);
        out[2 * CHAIN_HASH_BYTES] = '\0';
    } else {
        out[0] = '\0';
    }
}

static int64_t int_of(const entry_value *v)
{
    return strtoll(v->p, NULL, 10);
}

/* What out got since byte `from`, which needed no escape (digits, hex,
** "null"), copied to esc as it is. */
static void copy_since(jbuf *esc, const jbuf *out, size_t from)
{
    if (out->failed) jbuf_fail(esc);
    else jbuf_put(esc, out->p + from, out->len - from);
}

static void put_int(jbuf *out, jbuf *esc, int64_t v)
{
    size_t from = out->len;
    jbuf_int(out, v);
    if (esc) copy_since(esc, out, from);
}

static void put_null(jbuf *out, jbuf *esc)
{
    jbuf_put(out, "null", 4);
    if (esc) jbuf_put(esc, "null", 4);
}

static void put_string(jbuf *out, jbuf *esc, const char *s, size_t n)
{
    if (esc) jbuf_string_twice(out, esc, s, n);
    else jbuf_string(out, s, n);
}

/* check: whether JSON columns are checked before they are spliced in.
** esc, when set, gets the same text escaped (entry_array.text). */
static void print_entry(const entry_row *r, int check, jbuf *out, jbuf *esc)
{
    jbuf_put(out, "{\"seq\":", 7);
    if (esc) jbuf_put(esc, "{\\\"seq\\\":", 9);
    put_int(out, esc, r->seq);
    for (int c = 1; c < ENTRY_NFIELDS; c++) {
        const entry_field *f = &entry_fields[c];
        const entry_value *v = &r->v[c];
        if (f->since > 1 && !v->p) continue;
        jbuf_put(out, f->key, f->key_len);
        if (esc) jbuf_put(esc, f->key_esc, f->key_esc_len);
        if (f->type == ENTRY_HASH) {
            /* Hex needs no escaping: quote it in place. */
            char quoted[CHAIN_HEX_LEN + 1];
            entry_hash_hex(v, quoted + 1);
            size_t n = strlen(quoted + 1);
            quoted[0] = '"';
            quoted[n + 1] = '"';
            jbuf_put(out, quoted, n + 2);
            if (esc) {
                jbuf_put(esc, "\\\"", 2);
                jbuf_put(esc, quoted + 1, n);
                jbuf_put(esc, "\\\"", 2);
            }
        } else if (!v->p) {
            put_null(out, esc);
        } else if (f->type == ENTRY_INT) {
            put_int(out, esc, int_of(v));
        } else if (f->type == ENTRY_JSON) {
            if (!check || splices(v->p, v->len)) {
                jbuf_put(out, v->p, v->len);
                if (esc) jbuf_escaped(esc, v->p, v->len);
            } else {
                put_string(out, esc, v->p, strlen(v->p));
            }
        } else {
            put_string(out, esc, v->p, v->len);
        }
    }
    jbuf_put(out, ",\"log_id\":", 10);
    if (esc) jbuf_put(esc, ",\\\"log_id\\\":", 12);
    if (r->log_id.p) put_string(out, esc, r->log_id.p, r->log_id.len);
    else put_null(out, esc);
    jbuf_put(out, ",\"log\":", 7);
    if (esc) jbuf_put(esc, ",\\\"log\\\":", 9);
    if (r->log.p) put_string(out, esc, r->log.p, r->log.len);
    else put_null(out, esc);
    jbuf_putc(out, '}');
    if (esc) jbuf_putc(esc, '}');
}

void entry_json(const entry_row *r, jbuf *out)
{
    print_entry(r, 1, out, NULL);
}

void entry_json_stored(const entry_row *r, jbuf *out)
{
    print_entry(r, 0, out, NULL);
}

/* One field of r as a new cJSON item, NULL when memory runs out. */
static cJSON *field_item(const entry_row *r, int c)
{
    const entry_field *f = &entry_fields[c];
    const entry_value *v = &r->v[c];
    if (f->type == ENTRY_SEQ) return cJSON_CreateNumber((double)r->seq);
    if (f->type == ENTRY_HASH) {
        char hex[CHAIN_HEX_LEN];
        entry_hash_hex(v, hex);
        return cJSON_CreateString(hex);
    }
    if (!v->p) return cJSON_CreateNull();
    if (f->type == ENTRY_INT) return cJSON_CreateNumber((double)int_of(v));
    if (f->type == ENTRY_JSON && splices(v->p, v->len)) return cJSON_CreateRaw(v->p);
    return cJSON_CreateString(v->p);
}

static cJSON *text_item(const entry_value *v)
{
    return v->p ? cJSON_CreateString(v->p) : cJSON_CreateNull();
}

cJSON *entry_cjson(const entry_row *r)
{
    cJSON *e = cJSON_CreateObject();
    if (!e) return NULL;
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        if (entry_fields[c].since > 1 && !r->v[c].p) continue;
        cJSON *v = field_item(r, c);
        if (!v || !cJSON_AddItemToObject(e, entry_fields[c].name, v)) {
            cJSON_Delete(v);
            goto oom;
        }
    }
    cJSON *id = text_item(&r->log_id), *log = NULL;
    if (!id || !cJSON_AddItemToObject(e, "log_id", id)) {
        cJSON_Delete(id);
        goto oom;
    }
    if (!(log = text_item(&r->log)) || !cJSON_AddItemToObject(e, "log", log)) {
        cJSON_Delete(log);
        goto oom;
    }
    return e;
oom:
    cJSON_Delete(e);
    return NULL;
}

int entry_array_add(void *array, const entry_row *row)
{
    entry_array *a = array;
    if (a->n++) {
        jbuf_putc(a->out, ',');
        if (a->text) jbuf_putc(a->text, ',');
    }
    size_t out_from = a->out->len, text_from = a->text ? a->text->len : 0;
    print_entry(row, 1, a->out, a->text);
    if (a->n == 1 && a->expect > 1) {
        /* Room for the rest of the page, by the first row's size with an
        ** eighth to spare, so that the page is not copied each time its
        ** buffer would double. */
        size_t rest = (size_t)(a->expect - 1);
        jbuf_reserve(a->out, (a->out->len - out_from) * rest / 8 * 9);
        if (a->text) jbuf_reserve(a->text, (a->text->len - text_from) * rest / 8 * 9);
    }
    return a->out->failed || (a->text && a->text->failed) ? ENTRY_ENOMEM : 0;
}

/* A HASH column's bytes into out: 1, or 0 (out zeroed) when invalid. */
static int hash_bytes(const entry_value *v, uint8_t out[CHAIN_HASH_BYTES])
{
    if (v->p && v->len == CHAIN_HASH_BYTES) {
        memcpy(out, v->p, CHAIN_HASH_BYTES);
        return 1;
    }
    if (v->p && chain_unhex(v->p, v->len, out) == 0) return 1;
    memset(out, 0, CHAIN_HASH_BYTES);
    return 0;
}

int entry_row_fields(const entry_row *r, chain_fields *f, uint8_t prev[32], uint8_t hash[32])
{
    memset(f, 0, sizeof *f);
    f->seq = r->seq;
    for (int c = 0; c < ENTRY_NFIELDS; c++)
        if (entry_fields[c].chain_off != ENTRY_NO_MEMBER)
            *(const char **)((char *)f + entry_fields[c].chain_off) = r->v[c].p;
    int a = hash_bytes(&r->v[ENTRY_F_prev_hash], prev);
    int b = hash_bytes(&r->v[ENTRY_F_hash], hash);
    return a && b;
}
