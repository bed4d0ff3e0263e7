/*
** store_pg_rows.c: entries as the PostgreSQL backend sends them, in
** PostgreSQL's binary formats, so that no value is escaped on this side nor
** parsed as SQL on the server's.
**
** Appends (store_pg_write.c) keep the rows of the open transaction in a
** pg_rows, each field's bytes once, and send them as one prepared INSERT
** whose parameters are a column array per field (unnest() turns them back
** into rows): one statement and one parse per connection, whatever the
** number of rows, and the head's UPDATE folded into the same statement at
** commit.  Imports (ship) send whole batches with COPY ... FROM STDIN
** (FORMAT binary): the same fields, a tuple per entry.
**
** The field list, the column list and each column's type all come from
** ENTRY_FIELDS (entry.h): SEQ and INT are bigint (int8, 8 bytes big-endian),
** TEXT and JSON text (their bytes as stored: what the hash covers), HASH
** bytea (32 bytes).
*/
#include "store_pg_int.h"

#include <stdlib.h>
#include <string.h>

/* Element type OIDs of the arrays, built into every PostgreSQL (pg_type.h). */
#define OID_INT8 20
#define OID_TEXT 25
#define OID_BYTEA 17

/* Each field's SQL type, element OID and cast, by ENTRY_FIELDS type. */
#define PGR_OID_SEQ OID_INT8
#define PGR_OID_TEXT OID_TEXT
#define PGR_OID_JSON OID_TEXT
#define PGR_OID_INT OID_INT8
#define PGR_OID_HASH OID_BYTEA
#define PGR_X_OID(name, type, nullable, hash_at, since, by) PGR_OID_##type,
static const int field_oid[ENTRY_NFIELDS] = {ENTRY_FIELDS(PGR_X_OID)};

/* Each field's array type, by ENTRY_FIELDS type. */
#define PGR_CAST_SEQ "bigint[]"
#define PGR_CAST_TEXT "text[]"
#define PGR_CAST_JSON "text[]"
#define PGR_CAST_INT "bigint[]"
#define PGR_CAST_HASH "bytea[]"
#define PGR_X_CAST(name, type, nullable, hash_at, since, by) PGR_CAST_##type,
static const char *const field_cast[ENTRY_NFIELDS] = {ENTRY_FIELDS(PGR_X_CAST)};

#define PGR_X_COLUMN(name, type, nullable, hash_at, since, by) ENTRY_SEP_##type #name
#define PGR_COLUMNS ENTRY_FIELDS(PGR_X_COLUMN) ", log_id"

void pgs_rows_insert_sql(char *out, size_t len, int with_head)
{
    /* INSERT ... SELECT u.*, $L FROM unnest($1::bigint[], $2::text[], ...):
    ** parameter c + 1 is field c's array, then the log's id. */
    int n = snprintf(out, len, "%sINSERT INTO dss_audit.entries (" PGR_COLUMNS ")"
                     " SELECT u.*, $%d::text FROM unnest(",
                     with_head ? "WITH i AS (" : "", PG_ROWS_LOG_PARAM);
    for (int c = 0; c < ENTRY_NFIELDS && n > 0 && (size_t)n < len; c++)
        n += snprintf(out + n, len - (size_t)n, "%s$%d::%s", c ? ", " : "", c + 1,
                      field_cast[c]);
    if (n > 0 && (size_t)n < len) n += snprintf(out + n, len - (size_t)n, ") u");
    /* The head moves in the same statement as the rows: a commit is this
    ** statement and COMMIT. */
    if (with_head && n > 0 && (size_t)n < len)
        snprintf(out + n, len - (size_t)n,
                 ") UPDATE dss_audit.logs SET head_seq = $%d::bigint, head_hash = $%d::bytea,"
                 " head_created_at = $%d::text WHERE log_id = $%d::text",
                 PG_ROWS_LOG_PARAM + 1, PG_ROWS_LOG_PARAM + 2, PG_ROWS_LOG_PARAM + 3,
                 PG_ROWS_LOG_PARAM);
}

const char pgs_copy_sql[] =
    "COPY dss_audit.entries (" PGR_COLUMNS ") FROM STDIN (FORMAT binary)";

/* ---- one entry's fields ---- */

/* Field c of e as bytes: *p and its length, -1 for NULL; integers into
** num (8 bytes, big-endian). */
static int32_t field_of(const store_raw_entry *e, int c, const char **p, unsigned char num[8])
{
    const entry_field *d = &entry_fields[c];
    int64_t v;
    switch (d->type) {
    case ENTRY_SEQ:
        v = e->f.seq;
        break;
    case ENTRY_HASH:
        *p = (const char *)(c == ENTRY_F_prev_hash ? e->prev_hash : e->hash);
        return CHAIN_HASH_BYTES;
    default: {
        const char *t = *(const char *const *)((const char *)&e->f + d->chain_off);
        if (!t) return -1;
        if (d->type != ENTRY_INT) {
            *p = t;
            return (int32_t)strlen(t);
        }
        v = strtoll(t, NULL, 10); /* decimal digits: store.c made or checked them */
        break;
    }
    }
    uint64_t u = (uint64_t)v;
    for (int k = 7; k >= 0; k--, u >>= 8) num[k] = (unsigned char)(u & 0xff);
    *p = (const char *)num;
    return 8;
}

static void put_i32(jbuf *b, int32_t v)
{
    unsigned char x[4] = {(unsigned char)((uint32_t)v >> 24), (unsigned char)((uint32_t)v >> 16),
                          (unsigned char)((uint32_t)v >> 8), (unsigned char)v};
    jbuf_put(b, (const char *)x, 4);
}

static void put_i16(jbuf *b, int16_t v)
{
    unsigned char x[2] = {(unsigned char)((uint16_t)v >> 8), (unsigned char)v};
    jbuf_put(b, (const char *)x, 2);
}

/* ---- rows kept for the INSERT ---- */

int pgs_rows_add(pg_rows *r, const store_raw_entry *e)
{
    if (r->n == r->rows_cap) {
        size_t cap = r->rows_cap ? r->rows_cap * 2 : 64;
        size_t *start = realloc(r->start, cap * sizeof *start);
        if (start) r->start = start;
        int32_t *flen = start ? realloc(r->flen, cap * ENTRY_NFIELDS * sizeof *flen) : NULL;
        if (!flen) return -1;
        r->flen = flen;
        r->rows_cap = cap;
    }
    jbuf b = {.p = r->data, .len = r->len, .cap = r->cap};
    size_t start = b.len;
    int32_t *len = &r->flen[r->n * ENTRY_NFIELDS];
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const char *p = NULL;
        unsigned char num[8];
        len[c] = field_of(e, c, &p, num);
        if (len[c] > 0) jbuf_put(&b, p, (size_t)len[c]);
    }
    if (b.failed) {
        /* jbuf dropped the text: every row kept so far is gone with it. */
        r->data = NULL;
        r->len = r->cap = 0;
        r->n = 0;
        return -1;
    }
    r->data = b.p;
    r->len = b.len;
    r->cap = b.cap;
    r->start[r->n++] = start;
    return 0;
}

void pgs_rows_trim(pg_rows *r, size_t n)
{
    if (n >= r->n) return;
    r->len = r->start[n];
    r->n = n;
}

void pgs_rows_free(pg_rows *r)
{
    free(r->data);
    free(r->start);
    free(r->flen);
    memset(r, 0, sizeof *r);
}

int pgs_rows_params(const pg_rows *r, size_t a, size_t z, const char *log_id, jbuf *buf,
                    const char *values[PG_ROWS_PARAMS], int lengths[PG_ROWS_PARAMS],
                    int formats[PG_ROWS_PARAMS])
{
    size_t at[ENTRY_NFIELDS + 1];
    buf->len = 0;
    /* Each array: ndim 1, a NULL flag, the element type, one dimension
    ** (its size and lower bound 1), then each element's length (-1: NULL)
    ** and bytes (array_recv's format). */
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        at[c] = buf->len;
        int nulls = 0;
        for (size_t i = a; i < z; i++) nulls |= r->flen[i * ENTRY_NFIELDS + c] < 0;
        put_i32(buf, 1);
        put_i32(buf, nulls);
        put_i32(buf, field_oid[c]);
        put_i32(buf, (int32_t)(z - a));
        put_i32(buf, 1);
        for (size_t i = a; i < z; i++) {
            const int32_t *len = &r->flen[i * ENTRY_NFIELDS];
            size_t off = r->start[i];
            for (int k = 0; k < c; k++) off += len[k] > 0 ? (size_t)len[k] : 0;
            put_i32(buf, len[c]);
            if (len[c] > 0) jbuf_put(buf, r->data + off, (size_t)len[c]);
        }
    }
    at[ENTRY_NFIELDS] = buf->len;
    if (buf->failed) return -1;
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        values[c] = buf->p + at[c];
        lengths[c] = (int)(at[c + 1] - at[c]);
        formats[c] = 1;
    }
    values[ENTRY_NFIELDS] = log_id;
    lengths[ENTRY_NFIELDS] = 0;
    formats[ENTRY_NFIELDS] = 0;
    return 0;
}

/* ---- COPY ---- */

void pgs_copy_header(jbuf *b)
{
    /* The signature, flags 0 (no OIDs), no header extension. */
    jbuf_put(b, "PGCOPY\n\377\r\n\0", 11);
    put_i32(b, 0);
    put_i32(b, 0);
}

void pgs_copy_row(jbuf *b, const store_raw_entry *e, const char *log_id)
{
    put_i16(b, ENTRY_NFIELDS + 1);
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const char *p = NULL;
        unsigned char num[8];
        int32_t n = field_of(e, c, &p, num);
        put_i32(b, n);
        if (n > 0) jbuf_put(b, p, (size_t)n);
    }
    int32_t n = (int32_t)strlen(log_id);
    put_i32(b, n);
    jbuf_put(b, log_id, (size_t)n);
}

void pgs_copy_trailer(jbuf *b) { put_i16(b, -1); }
