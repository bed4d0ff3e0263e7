/*
** checkpoint.c: building, signing and (de)serializing checkpoints.
**
** The signed message is a fixed, line-oriented text with a versioned domain
** tag, so that a signature over a checkpoint can never be mistaken for a
** signature over anything else, and no field can bleed into another (the
** fields are hex, decimal, a UUID and a timestamp: none holds a newline).
*/
#include "checkpoint.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tlog/ckpt.h"
#include "../tlog/note.h"
#include "../util/jbuf.h"
#include "../util/ts.h"
#include "../util/utf8.h"

_Static_assert(STORE_ORIGIN_MAX == CKPT_ORIGIN_MAX, "an origin fits the store");

static int message(const store_checkpoint *cp, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "dss-audit/%s/v1\nlog_id:%s\nseq:%lld\nhead_hash:%s\n"
                     "created_at:%s\nprev_checkpoint_hash:%s\n",
                     strcmp(cp->kind, "anchor") == 0 ? "anchor" : "checkpoint",
                     cp->log_id, (long long)cp->seq, cp->head_hash, cp->created_at,
                     cp->prev_checkpoint_hash);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

void checkpoint_digest(const store_checkpoint *cp, char hex[CHAIN_HEX_LEN])
{
    char msg[512];
    uint8_t h[CHAIN_HASH_BYTES];
    int n = message(cp, msg, sizeof msg);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)msg, n > 0 ? (size_t)n : 0);
    crypto_hash_sha256_update(&st, (const uint8_t *)cp->signature, strlen(cp->signature));
    crypto_hash_sha256_final(&st, h);
    chain_hex(h, hex);
}

int checkpoint_check_signature(const store_checkpoint *cp)
{
    char msg[512];
    int n = message(cp, msg, sizeof msg);
    if (n < 0) return -1;
    return signer_verify(cp->public_key, (const uint8_t *)msg, (size_t)n, cp->signature);
}

/* ---- the C2SP note ---- */

int checkpoint_origin(store *st, char *out, char *err)
{
    char want[STORE_ORIGIN_MAX + 1];
    int rc = store_log_origin(st, NULL, out, err);
    if (rc != STORE_OK || out[0]) return rc;
    if (ckpt_default_origin(store_log_id(st), want, sizeof want) != 0) {
        snprintf(err, STORE_ERRLEN, "the log id %.*s makes no valid origin",
                 utf8_cut(store_log_id(st), 64), store_log_id(st));
        return STORE_EINVAL;
    }
    return store_log_origin(st, want, out, err);
}

int checkpoint_note_origin(const char *text, char *out)
{
    size_t nl = strcspn(text, "\n");
    if (nl > STORE_ORIGIN_MAX) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, text, nl);
    out[nl] = '\0';
    return 0;
}

int checkpoint_vkey(const char *origin, const char *pk_hex, char *out, char *err, size_t errlen)
{
    uint8_t pk[32];
    note_key k;
    if (chain_unhex(pk_hex, strlen(pk_hex), pk) != 0) {
        snprintf(err, errlen, "the public key is not 64 hex digits");
        return -1;
    }
    if (note_key_make(&k, origin, NOTE_ED25519, pk, err, errlen) != NOTE_OK) return -1;
    note_key_format(&k, out);
    return 0;
}

/* cp's extension lines (its head hash and previous digest) into ext;
** their length, as snprintf gives it. */
static int ext_lines(const store_checkpoint *cp, char ext[256])
{
    return snprintf(ext, 256, CHECKPOINT_EXT_HEAD "%s\n" CHECKPOINT_EXT_PREV "%s\n",
                    cp->head_hash, cp->prev_checkpoint_hash);
}

/* The note text of cp (origin, size, root, extension lines) into a new
** string (caller frees), or NULL with err. */
static char *note_text(const store_checkpoint *cp, const char *origin, const uint8_t root[32],
                       size_t *len, char *err)
{
    ckpt c;
    char ext[256];
    memset(&c, 0, sizeof c);
    snprintf(c.origin, sizeof c.origin, "%s", origin);
    c.size = cp->seq;
    memcpy(c.root, root, 32);
    int n = ext_lines(cp, ext);
    c.ext = ext;
    c.ext_len = (size_t)n;
    return ckpt_format(&c, len, err, STORE_ERRLEN);
}

/* cp->note: the same head as a signed checkpoint note, "" when the tree
** cannot give the root at cp->seq. */
static int sign_note(store *st, const signer *sg, store_checkpoint *cp, char *err)
{
    char origin[STORE_ORIGIN_MAX + 1], why[STORE_ERRLEN];
    merkle_hash root;
    cp->note[0] = '\0';
    int rc = store_tree_root(st, cp->seq, root, why);
    if (rc == STORE_EINVAL || rc == STORE_ENOTFOUND) return STORE_OK; /* verify says why */
    if (rc != STORE_OK) {
        snprintf(err, STORE_ERRLEN, "%s", why);
        return rc;
    }
    if ((rc = checkpoint_origin(st, origin, err)) != STORE_OK) return rc;
    size_t len = 0, slen = 0;
    char *text = note_text(cp, origin, root, &len, err), *signed_note = NULL;
    note_signer ns;
    if (!text) return STORE_EINVAL;
    if (note_signer_make(&ns, origin, NOTE_ED25519, sg->sk, err, STORE_ERRLEN) == NOTE_OK)
        signed_note = note_sign(text, len, &ns, 1, 0, &slen, err, STORE_ERRLEN);
    note_signer_wipe(&ns);
    free(text);
    if (!signed_note) return STORE_EINVAL;
    if (slen >= sizeof cp->note) {
        free(signed_note);
        snprintf(err, STORE_ERRLEN, "the checkpoint note is longer than %zu bytes",
                 sizeof cp->note - 1);
        return STORE_EINVAL;
    }
    memcpy(cp->note, signed_note, slen + 1);
    free(signed_note);
    return STORE_OK;
}

/* Whether the extension lines are exactly cp's head and previous digest. */
static int ext_matches(const ckpt *c, const store_checkpoint *cp)
{
    char want[256];
    int n = ext_lines(cp, want);
    return n > 0 && c->ext_len == (size_t)n && memcmp(c->ext, want, (size_t)n) == 0;
}

int checkpoint_check_note(const store_checkpoint *cp, const char *origin, uint8_t root[32],
                          char *why, size_t whylen)
{
    note n;
    ckpt c;
    ckpt_log log;
    char err[256];
    size_t len = strlen(cp->note);
    memset(&log, 0, sizeof log);
    /* The origin the note claims names the key; the key is cp's own. */
    if (note_parse(cp->note, len, &n, err, sizeof err) != NOTE_OK ||
        ckpt_parse(n.text, n.text_len, &c, err, sizeof err) != CKPT_OK) {
        snprintf(why, whylen, "its note is not a signed checkpoint: %s", err);
        return -1;
    }
    if (origin && strcmp(c.origin, origin) != 0) {
        snprintf(why, whylen, "its note names the origin %.*s, not the log's %.*s",
                 utf8_cut(c.origin, 80), c.origin,
                 utf8_cut(origin, 80), origin);
        return -1;
    }
    uint8_t pk[32];
    snprintf(log.origin, sizeof log.origin, "%s", c.origin);
    if (chain_unhex(cp->public_key, strlen(cp->public_key), pk) != 0 ||
        note_key_make(&log.key, c.origin, NOTE_ED25519, pk, err, sizeof err) != NOTE_OK ||
        ckpt_open(cp->note, len, &log, 1, &n, &c, err, sizeof err) != CKPT_OK) {
        snprintf(why, whylen, "its note's signature is not valid: %s", err);
        return -1;
    }
    if (c.size != cp->seq) {
        snprintf(why, whylen, "its note is of tree size %lld, not %lld", (long long)c.size,
                 (long long)cp->seq);
        return -1;
    }
    if (!ext_matches(&c, cp)) {
        snprintf(why, whylen, "its note's extension lines do not name its head hash and "
                              "previous checkpoint");
        return -1;
    }
    memcpy(root, c.root, 32);
    return 0;
}

static int add_cosig_line(void *ctx, const store_cosignature *c)
{
    jbuf *t = ctx;
    jbuf_puts(t, c->line);
    return t->failed;
}

char *checkpoint_cosigned_note(store *st, const store_checkpoint *cp, char *err)
{
    if (!cp->note[0]) {
        snprintf(err, STORE_ERRLEN, "checkpoint %lld has no signed note (it was made before "
                 "notes existed, or the log's tree was incomplete)", (long long)cp->number);
        return NULL;
    }
    jbuf t = {0};
    jbuf_puts(&t, cp->note);
    int rc = t.failed ? STORE_OK : store_each_cosignature(st, cp->number, add_cosig_line, &t, err);
    if (rc != STORE_OK) {
        jbuf_free(&t);
        return NULL;
    }
    char *text = jbuf_take(&t);
    if (!text) snprintf(err, STORE_ERRLEN, "out of memory");
    return text;
}

static int keep_noted(void *ctx, const store_checkpoint *cp)
{
    store_checkpoint *out = ctx;
    if (cp->note[0]) *out = *cp;
    return 0;
}

int checkpoint_last_noted(store *st, store_checkpoint *out, char *err)
{
    int rc = store_last_checkpoint(st, out, err);
    if (rc != STORE_OK || out->note[0]) return rc;
    /* The newest has none (made before notes): the newest that has. */
    out->note[0] = '\0';
    out->number = 0;
    rc = store_each_checkpoint(st, keep_noted, out, err);
    if (rc == STORE_OK && !out->number) {
        snprintf(err, STORE_ERRLEN, "no checkpoint of log %s carries a signed note yet",
                 store_log_id(st));
        rc = STORE_ENOTFOUND;
    }
    return rc;
}

typedef struct states {
    cJSON *arr;
    int64_t newest; /* the newest signed checkpoint's size */
} states;

static int add_state(void *ctx, const store_witness *x)
{
    states *st = ctx;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(st->arr, o)) {
        cJSON_Delete(o);
        return 1;
    }
    cJSON_AddStringToObject(o, "witness", x->witness);
    cJSON_AddStringToObject(o, "url", x->url);
    cJSON_AddNumberToObject(o, "size", (double)x->size);
    cJSON_AddBoolToObject(o, "behind", x->size < st->newest);
    cJSON_AddStringToObject(o, "last_attempt", x->last_attempt);
    cJSON_AddStringToObject(o, "last_ok", x->last_ok);
    cJSON_AddStringToObject(o, "last_error", x->last_error);
    return 0;
}

cJSON *checkpoint_witnesses_json(store *st)
{
    store_checkpoint cp;
    char serr[STORE_ERRLEN];
    states x = {cJSON_CreateArray(), 0};
    if (!x.arr) return NULL;
    if (checkpoint_last_noted(st, &cp, serr) == STORE_OK) x.newest = cp.seq;
    if (store_each_witness(st, add_state, &x, serr) != STORE_OK ||
        cJSON_GetArraySize(x.arr) == 0) {
        cJSON_Delete(x.arr);
        return NULL;
    }
    return x.arr;
}

int checkpoint_append(store *st, const signer *sg, const char *kind, int64_t seq,
                      const char *head_hash, store_checkpoint *out, char *err)
{
    store_checkpoint prev;
    memset(out, 0, sizeof *out);
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    snprintf(out->log_id, sizeof out->log_id, "%s", store_log_id(st));
    out->seq = seq;
    snprintf(out->head_hash, sizeof out->head_hash, "%s", head_hash);
    ts_format(ts_now_us(), out->created_at);
    int rc = store_last_checkpoint(st, &prev, err);
    if (rc == STORE_OK) checkpoint_digest(&prev, out->prev_checkpoint_hash);
    else if (rc == STORE_ENOTFOUND) memset(out->prev_checkpoint_hash, '0', 64);
    else return rc;
    snprintf(out->public_key, sizeof out->public_key, "%s", sg->pk_hex);
    char msg[512];
    int n = message(out, msg, sizeof msg);
    if (n < 0) {
        snprintf(err, STORE_ERRLEN, "checkpoint fields too long");
        return STORE_EINVAL;
    }
    signer_sign(sg, (const uint8_t *)msg, (size_t)n, out->signature);
    if ((rc = sign_note(st, sg, out, err)) != STORE_OK) return rc;
    return store_add_checkpoint(st, out, err);
}

int checkpoint_now(store *st, const signer *sg, store_checkpoint *out, char *err)
{
    int own = !store_in_transaction(st), rc;
    if (own && (rc = store_begin(st, err)) != STORE_OK) return rc;
    int64_t seq;
    char head[CHAIN_HEX_LEN];
    rc = store_head(st, &seq, head, err);
    if (rc == STORE_OK) rc = checkpoint_append(st, sg, "checkpoint", seq, head, out, err);
    if (own) {
        if (rc == STORE_OK) rc = store_commit(st, err);
        else store_rollback(st);
    }
    return rc;
}

cJSON *checkpoint_to_json(const store_checkpoint *cp)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "log_id", cp->log_id);
    cJSON_AddNumberToObject(j, "seq", (double)cp->seq);
    cJSON_AddStringToObject(j, "head_hash", cp->head_hash);
    cJSON_AddStringToObject(j, "created_at", cp->created_at);
    cJSON_AddStringToObject(j, "prev_checkpoint_hash", cp->prev_checkpoint_hash);
    cJSON_AddStringToObject(j, "kind", cp->kind);
    cJSON_AddStringToObject(j, "signature", cp->signature);
    cJSON_AddStringToObject(j, "public_key", cp->public_key);
    if (cp->note[0]) cJSON_AddStringToObject(j, "note", cp->note);
    return j;
}

static int field(const cJSON *j, const char *name, char *dst, size_t len,
                 char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= len ||
        strpbrk(v->valuestring, "\r\n")) {
        snprintf(err, errlen, "checkpoint field '%s' is missing or malformed", name);
        return -1;
    }
    snprintf(dst, len, "%s", v->valuestring);
    return 0;
}

int checkpoint_from_json(const cJSON *j, store_checkpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "a checkpoint must be a JSON object");
        return -1;
    }
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
    if (!cJSON_IsNumber(seq) || seq->valuedouble < 0 || seq->valuedouble > 9e15) {
        snprintf(err, errlen, "checkpoint field 'seq' is missing or malformed");
        return -1;
    }
    out->seq = (int64_t)seq->valuedouble;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    snprintf(out->kind, sizeof out->kind, "%s",
             cJSON_IsString(kind) && strcmp(kind->valuestring, "anchor") == 0
                 ? "anchor" : "checkpoint");
    if (field(j, "log_id", out->log_id, sizeof out->log_id, err, errlen) ||
        field(j, "head_hash", out->head_hash, sizeof out->head_hash, err, errlen) ||
        field(j, "created_at", out->created_at, sizeof out->created_at, err, errlen) ||
        field(j, "prev_checkpoint_hash", out->prev_checkpoint_hash,
              sizeof out->prev_checkpoint_hash, err, errlen) ||
        field(j, "signature", out->signature, sizeof out->signature, err, errlen) ||
        field(j, "public_key", out->public_key, sizeof out->public_key, err, errlen))
        return -1;
    /* The note is text of many lines: present, a string that fits. */
    const cJSON *jnote = cJSON_GetObjectItemCaseSensitive(j, "note");
    if (jnote) {
        if (!cJSON_IsString(jnote) || strlen(jnote->valuestring) >= sizeof out->note) {
            snprintf(err, errlen, "checkpoint field 'note' is malformed");
            return -1;
        }
        snprintf(out->note, sizeof out->note, "%s", jnote->valuestring);
    }
    return 0;
}

int checkpoint_head_noted(store *st, store_checkpoint *out, int64_t *head, char *err)
{
    char hash[CHAIN_HEX_LEN];
    int rc = store_head(st, head, hash, err);
    if (rc != STORE_OK) return rc;
    rc = checkpoint_last_noted(st, out, err);
    if (rc == STORE_ENOTFOUND) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    if (rc != STORE_OK) return rc;
    return out->seq == *head && strcmp(out->head_hash, hash) == 0;
}

int checkpoint_noted_head(store *st, const signer *sg, store_checkpoint *out, char *err)
{
    int64_t head;
    int rc = checkpoint_head_noted(st, out, &head, err);
    if (rc < 0) return rc;
    return rc == 1 ? STORE_OK : checkpoint_now(st, sg, out, err);
}
