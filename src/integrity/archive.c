/*
** archive.c: writing and reading retention archives, and pruning.
**
** Order matters for safety: entries are written to a temporary file that is
** fsynced and published under the archive's name (never replacing a file,
** see fsutil.h) with its folder fsynced before the DELETE runs, and the
** DELETE, the anchor and the commit happen in one transaction.  A crash at
** any point leaves either the full log, or the whole archive plus the
** shortened log with its anchor; no reader ever sees half an archive.
*/
#include "archive.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/fsutil.h"
#include "../util/ts.h"
#include "checkpoint.h"

struct archive_writer {
    fs_newfile nf;
    FILE *f;    /* nf.f */
    char *path; /* for messages: nf's own copy goes when it is published */
    int failed;
    int64_t count;
};

static void say_exists(const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot create archive %s: it already exists", path);
}

archive_writer *archive_create(const char *path, char *err, size_t errlen)
{
    struct stat st;
    /* Refuse at once what publishing would refuse at the end. */
    if (lstat(path, &st) == 0) {
        say_exists(path, err, errlen);
        return NULL;
    }
    archive_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        free(w);
        return NULL;
    }
    if (fs_newfile_open(&w->nf, path, err, errlen) != 0) {
        free(w->path);
        free(w);
        return NULL;
    }
    w->f = w->nf.f;
    return w;
}

static void add_text(cJSON *o, const char *k, const char *v)
{
    if (v) cJSON_AddStringToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

cJSON *archive_entry_json(const store_raw_entry *e)
{
    char prev[CHAIN_HEX_LEN], hash[CHAIN_HEX_LEN];
    chain_hex(e->prev_hash, prev);
    chain_hex(e->hash, hash);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    /* Every field of ENTRY_FIELDS (entry.h) as text, but the hashes, which
    ** end the line; encoding v2's fields only when set, so archives of v1
    ** entries keep the shape they always had. */
    cJSON_AddNumberToObject(o, "seq", (double)e->f.seq);
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const entry_field *d = &entry_fields[c];
        if (d->chain_off == ENTRY_NO_MEMBER) continue;
        const char *v = *(const char *const *)((const char *)&e->f + d->chain_off);
        if (v || d->since == 1) add_text(o, d->name, v);
    }
    cJSON_AddStringToObject(o, "prev_hash", prev);
    cJSON_AddStringToObject(o, "hash", hash);
    return o;
}

int archive_write(archive_writer *w, const store_raw_entry *e)
{
    if (w->failed) return -1;
    cJSON *o = archive_entry_json(e);
    char *line = o ? cJSON_PrintUnformatted(o) : NULL;
    if (!line || fputs(line, w->f) == EOF || fputc('\n', w->f) == EOF) w->failed = 1;
    else w->count++;
    cJSON_free(line);
    cJSON_Delete(o);
    return w->failed ? -1 : 0;
}

int archive_finish(archive_writer *w, char *err, size_t errlen)
{
    char why[512];
    int rc = -1;
    if (w->failed || ferror(w->f)) {
        snprintf(err, errlen, "cannot write archive %s: %s", w->path,
                 strerror(errno ? errno : EIO));
        fs_newfile_discard(&w->nf);
    } else if ((rc = fs_newfile_publish(&w->nf, 0, why, sizeof why)) == FS_EXISTS) {
        say_exists(w->path, err, errlen);
        rc = -1;
    } else if (rc != 0) {
        snprintf(err, errlen, "archive: %s", why);
    }
    free(w->path);
    free(w);
    return rc;
}

void archive_discard(archive_writer *w)
{
    if (!w) return;
    fs_newfile_discard(&w->nf);
    free(w->path);
    free(w);
}

/* A string member or NULL for JSON null; *bad is set when it is neither. */
static const char *opt_str(const cJSON *o, const char *k, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsString(v)) return v->valuestring;
    if (!cJSON_IsNull(v)) *bad = 1;
    return NULL;
}

/* An encoding v2 field, which archives of v1 entries do not hold. */
static const char *v2_str(const cJSON *o, const char *k, int *bad)
{
    return cJSON_GetObjectItemCaseSensitive(o, k) ? opt_str(o, k, bad) : NULL;
}

static int hex32(const cJSON *o, const char *k, uint8_t out[CHAIN_HASH_BYTES])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    size_t got = 0;
    return cJSON_IsString(v) &&
                   sodium_hex2bin(out, CHAIN_HASH_BYTES, v->valuestring,
                                  strlen(v->valuestring), NULL, &got, NULL) == 0 &&
                   got == CHAIN_HASH_BYTES
               ? 0 : -1;
}

/* Whether v is an entry's seq: a whole number from 1 to 2^53, which a
** JSON number read as a double holds exactly.  Archives and proof bundles
** come from anyone: converting 4e58 to int64_t is undefined, and 2.5 must
** not read as entry 2. */
static int seq_ok(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 9007199254740992.0 &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

int archive_entry_read(const cJSON *o, store_raw_entry *e)
{
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
    int bad = !cJSON_IsObject(o) || !seq_ok(seq);
    memset(e, 0, sizeof *e);
    e->hashes_ok = 1;
    if (bad) return -1;
    e->f.seq = (int64_t)seq->valuedouble;
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const entry_field *d = &entry_fields[c];
        if (d->chain_off == ENTRY_NO_MEMBER) continue;
        /* Archives of v1 entries do not hold encoding v2's fields. */
        *(const char **)((char *)&e->f + d->chain_off) =
            d->since == 1 ? opt_str(o, d->name, &bad) : v2_str(o, d->name, &bad);
    }
    bad = bad || hex32(o, "prev_hash", e->prev_hash) || hex32(o, "hash", e->hash);
    return bad ? -1 : 0;
}

int archive_each(const char *path, store_entry_fn fn, void *ctx, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read archive %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        cJSON *o = cJSON_ParseWithLength(line, (size_t)n);
        store_raw_entry e;
        if (archive_entry_read(o, &e) != 0) {
            snprintf(err, errlen, "archive %s line %ld is not an archived entry", path, lineno);
            rc = -1;
        } else if (fn(ctx, &e) != 0) {
            cJSON_Delete(o);
            break;
        }
        cJSON_Delete(o);
        if (rc) break;
    }
    free(line);
    fclose(f);
    return rc;
}

static int keep_entry(void *ctx, const store_raw_entry *e)
{
    archive_writer *w = ctx;
    return e ? archive_write(w, e) : 0;
}

int archive_prune(store *st, const signer *sg, const char *before,
                  const char *archive_path, int64_t *removed, char *err)
{
    int64_t cutoff_us, last_seq = 0;
    char cutoff[TS_BUFLEN], last_hash[CHAIN_HEX_LEN];
    *removed = 0;
    if (ts_parse(before, 0, &cutoff_us, err, STORE_ERRLEN) != 0) return STORE_EINVAL;
    ts_format(cutoff_us, cutoff);
    archive_writer *w = archive_create(archive_path, err, STORE_ERRLEN);
    if (!w) return STORE_EIO;
    int rc = store_begin(st, err);
    int64_t first_seq = 0;
    if (rc == STORE_OK) {
        rc = store_prune(st, cutoff, keep_entry, w, &last_seq, last_hash, err);
        first_seq = last_seq - w->count + 1;
    }
    if (rc == STORE_OK && last_seq > 0) {
        /* The archive must be durable before the DELETE commits. */
        if (archive_finish(w, err, STORE_ERRLEN) != 0) {
            w = NULL;
            rc = STORE_EIO;
        } else {
            w = NULL;
            store_checkpoint anchor;
            rc = checkpoint_append(st, sg, "anchor", last_seq, last_hash, &anchor, err);
        }
    }
    if (rc == STORE_OK && last_seq > 0) rc = store_commit(st, err);
    else store_rollback(st);
    if (w) archive_discard(w); /* nothing was old enough, or a failure */
    if (rc == STORE_OK) *removed = last_seq > 0 ? last_seq - first_seq + 1 : 0;
    return rc;
}
