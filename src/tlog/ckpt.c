/*
** ckpt.c: building, parsing and opening C2SP checkpoints (ckpt.h).
*/
#include "ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/utf8.h"
#include "c2sp.h"

int ckpt_default_origin(const char *log_id, char *out, size_t cap)
{
    int n = snprintf(out, cap, "dss-audit/%s", log_id);
    if (n < 0 || (size_t)n >= cap || n > CKPT_ORIGIN_MAX || !note_name_ok(out, (size_t)n))
        return -1;
    return 0;
}

int ckpt_parse(const char *text, size_t len, ckpt *out, char *err, size_t errlen)
{
    static const char *const what[] = {"origin", "tree size", "root hash"};
    memset(out, 0, sizeof *out);
    if (!c2sp_text_ok(text, len)) {
        snprintf(err, errlen, "the checkpoint is not UTF-8 text without control characters");
        return CKPT_EFORMAT;
    }
    size_t pos = 0;
    for (int i = 0; i < 3; i++) {
        const char *line;
        size_t n;
        if (c2sp_line(text, len, &pos, &line, &n) != 0) {
            snprintf(err, errlen, "the checkpoint has no %s line", what[i]);
            return CKPT_EFORMAT;
        }
        if (n == 0) {
            snprintf(err, errlen, "the checkpoint's %s line is empty", what[i]);
            return CKPT_EFORMAT;
        }
        if (i == 0) {
            if (n > CKPT_ORIGIN_MAX) {
                snprintf(err, errlen, "the checkpoint's origin is longer than %d bytes",
                         CKPT_ORIGIN_MAX);
                return CKPT_EFORMAT;
            }
            memcpy(out->origin, line, n);
            out->origin[n] = '\0';
        } else if (i == 1 && c2sp_decimal(line, n, &out->size) != 0) {
            snprintf(err, errlen,
                     "the checkpoint's tree size is not a decimal without leading zeroes");
            return CKPT_EFORMAT;
        } else if (i == 2 && c2sp_b64_hash(line, n, out->root) != 0) {
            snprintf(err, errlen, "the checkpoint's root hash is not the base64 of 32 bytes");
            return CKPT_EFORMAT;
        }
    }
    if (pos < len) {
        out->ext = text + pos;
        out->ext_len = len - pos;
        for (int i = 4; pos < len; i++) {
            const char *line;
            size_t n = 0;
            /* c2sp_line sets no length for a line without a newline. */
            int unended = c2sp_line(text, len, &pos, &line, &n) != 0;
            if (unended || n == 0) {
                snprintf(err, errlen, "the checkpoint's line %d is %s", i,
                         unended ? "not ended by a newline" : "empty");
                return CKPT_EFORMAT;
            }
        }
    }
    return CKPT_OK;
}

/* Whether ext[0..len) is extension lines: each non-empty, newline-ended. */
static int ext_ok(const char *ext, size_t len)
{
    if (!c2sp_text_ok(ext, len)) return 0;
    size_t pos = 0;
    while (pos < len) {
        const char *line;
        size_t n;
        if (c2sp_line(ext, len, &pos, &line, &n) != 0 || n == 0) return 0;
    }
    return 1;
}

char *ckpt_format(const ckpt *c, size_t *out_len, char *err, size_t errlen)
{
    size_t olen = strlen(c->origin);
    if (!note_name_ok(c->origin, olen)) {
        snprintf(err, errlen,
                 "the origin \"%.*s\" is not a valid key name (1 to %d bytes, no spaces, "
                 "no '+')",
                 utf8_cut(c->origin, 80), c->origin, CKPT_ORIGIN_MAX);
        return NULL;
    }
    if (c->size < 0) {
        snprintf(err, errlen, "a tree size cannot be negative");
        return NULL;
    }
    if (c->ext_len && (!c->ext || !ext_ok(c->ext, c->ext_len))) {
        snprintf(err, errlen, "extension lines must each be non-empty text ended by a newline");
        return NULL;
    }
    char root[C2SP_B64_LEN(32) + 1];
    c2sp_b64_encode(c->root, 32, root);
    size_t cap = olen + 1 + 20 + 1 + sizeof root + 1 + c->ext_len + 1;
    char *out = malloc(cap);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int n = snprintf(out, cap, "%s\n%lld\n%s\n", c->origin, (long long)c->size, root);
    if (c->ext_len) memcpy(out + n, c->ext, c->ext_len);
    n += (int)c->ext_len;
    out[n] = '\0';
    if (out_len) *out_len = (size_t)n;
    return out;
}

int ckpt_log_from_vkey(const char *vkey, ckpt_log *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (note_key_parse(vkey, &out->key, err, errlen) != NOTE_OK) return CKPT_EFORMAT;
    if (out->key.type != NOTE_ED25519) {
        snprintf(err, errlen, "%s is a cosignature key (type 0x04), not a log's key",
                 out->key.name);
        return CKPT_EFORMAT;
    }
    memcpy(out->origin, out->key.name, sizeof out->origin);
    return CKPT_OK;
}

int ckpt_open(const char *msg, size_t len, const ckpt_log *logs, size_t nlogs, note *n,
              ckpt *out, char *err, size_t errlen)
{
    int rc = note_parse(msg, len, n, err, errlen);
    if (rc != NOTE_OK) return rc == NOTE_ENOMEM ? CKPT_ENOMEM : CKPT_EFORMAT;
    if (ckpt_parse(n->text, n->text_len, out, err, errlen) != CKPT_OK) return CKPT_EFORMAT;
    /* The keys of the logs with this origin, and what each signed. */
    note_key *keys = calloc(nlogs ? nlogs : 1, sizeof *keys);
    note_verdict *v = calloc(nlogs ? nlogs : 1, sizeof *v);
    size_t nkeys = 0;
    if (!keys || !v) {
        snprintf(err, errlen, "out of memory");
        rc = CKPT_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nlogs; i++)
        if (strcmp(logs[i].origin, out->origin) == 0) keys[nkeys++] = logs[i].key;
    if (nkeys == 0) {
        snprintf(err, errlen, "no trusted log has the origin \"%.*s\"", utf8_cut(out->origin, 80),
                 out->origin);
        rc = CKPT_EORIGIN;
        goto done;
    }
    int count = note_check(n, keys, nkeys, v, err, errlen);
    if (count < 0) {
        rc = count == NOTE_ENOMEM ? CKPT_ENOMEM : CKPT_EFORMAT;
        goto done;
    }
    rc = CKPT_OK;
    for (size_t i = 0; i < nkeys && rc == CKPT_OK; i++)
        if (v[i].invalid) {
            snprintf(err, errlen, "the checkpoint's signature by %s+%08x does not verify",
                     keys[i].name, keys[i].id);
            rc = CKPT_ESIG;
        }
    if (rc == CKPT_OK && count == 0) {
        snprintf(err, errlen,
                 "the checkpoint of %.*s is not signed by a trusted key of that log",
                 utf8_cut(out->origin, 80), out->origin);
        rc = CKPT_ESIG;
    }
done:
    free(keys);
    free(v);
    return rc;
}
