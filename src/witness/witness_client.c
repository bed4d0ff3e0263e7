/*
** witness_client.c: submitting checkpoints to a witness (witness_client.h).
*/
#include "witness_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tlog/c2sp.h"
#include "../tlog/ckpt.h"
#include "../tlog/proof.h"
#include "../util/utf8.h"

/* A witness answers with a few lines; more is not a witness. */
#define REPLY_MAX (64 * 1024)
/* The first request, and at most two more after a 409. */
#define ATTEMPTS 3

typedef struct body {
    char *p;
    size_t len;
    int overflow;
} body;

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    body *b = ctx;
    size_t len = size * n;
    if (len > REPLY_MAX - b->len) {
        b->overflow = 1;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return len;
}

int witness_reply_parse(const note *n, const note_key *key, const char *reply, size_t len,
                        witness_reply *out, char *err, size_t errlen)
{
    /* The reply is signature lines: joined to the note's text it is a note,
    ** which the note parser checks line by line. */
    size_t tl = n->text_len, total = tl + 1 + len;
    char *msg = malloc(total + 1), *keep = malloc(len + 1);
    note *all = malloc(sizeof *all);
    int rc = WITNESS_EREPLY;
    char why[256];
    if (!msg || !keep || !all) {
        snprintf(err, errlen, "out of memory");
        rc = WITNESS_ENOMEM;
        goto done;
    }
    memcpy(msg, n->text, tl);
    msg[tl] = '\n';
    memcpy(msg + tl + 1, reply, len);
    msg[total] = '\0';
    if (len == 0 || note_parse(msg, total, all, why, sizeof why) != NOTE_OK ||
        all->text_len != tl) {
        snprintf(err, errlen, "the witness's answer is not cosignature lines");
        goto done;
    }
    note_verdict v;
    int count = note_check(all, key, 1, &v, why, sizeof why);
    if (count != 1) {
        snprintf(err, errlen, "the witness's answer has no valid cosignature by %s+%08x%s",
                 key->name, key->id, v.invalid ? " (one fails to verify)" : "");
        goto done;
    }
    /* The key's lines, the newest first (note_check() says which): a
    ** witness may send several, and whoever keeps one line keeps the one
    ** whose time is out->timestamp. */
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < all->nsigs; i++) {
            const note_sig *s = &all->sigs[i];
            if (!note_sig_by(s, key) || (pass == 0) != (i == v.newest)) continue;
            memcpy(keep + k, s->line, s->line_len);
            k += s->line_len;
        }
    keep[k] = '\0';
    out->cosignatures = keep;
    out->len = k;
    out->timestamp = v.timestamp;
    keep = NULL;
    rc = WITNESS_OK;
done:
    free(msg);
    free(keep);
    free(all);
    return rc;
}

int witness_size_parse(const char *type, const char *text, size_t len, int64_t *size)
{
    if (strncmp(type, "text/x.tlog.size", 16) != 0 || len < 2 || text[len - 1] != '\n' ||
        c2sp_decimal(text, len - 1, size) != 0)
        return -1;
    return 0;
}

/* One POST of body to url.  Returns 0 with the status and answer, or
** WITNESS_EUNREACHABLE with err. */
static int post(CURL *h, const char *url, const char *req, size_t len, long timeout_ms,
                long *status, body *ans, char *type, size_t type_cap, char *err, size_t errlen)
{
    ans->len = 0;
    ans->overflow = 0;
    ans->p[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, ans);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "no answer from the witness at %s: %s", url,
                 ans->overflow ? "its answer is larger than 64 KiB" : curl_easy_strerror(rc));
        return WITNESS_EUNREACHABLE;
    }
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(type, type_cap, "%s", ct ? ct : "");
    return 0;
}

/* The body for old -> cp's size.  NULL with rc and err on failure. */
static char *make_body(int64_t old, const ckpt *cp, const char *checkpoint, size_t len,
                       const merkle_reader *tree, size_t *blen, int *rc, char *err,
                       size_t errlen)
{
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t plen = 0;
    if (merkle_prove_consistency(old, cp->size, tree, path, &plen, err, errlen) != MERKLE_OK) {
        *rc = WITNESS_ETREE;
        return NULL;
    }
    char *b = proof_consistency_format(old, path[0], plen, checkpoint, len, blen, err, errlen);
    if (!b) *rc = WITNESS_EINVAL;
    return b;
}

int witness_submit(const char *url, const note_key *key, const char *checkpoint, size_t len,
                   int64_t old_size, const merkle_reader *tree, long timeout_ms,
                   witness_reply *out, char *err, size_t errlen)
{
    char target[2048], type[128], why[256];
    memset(out, 0, sizeof *out);
    out->witness_size = -1;
    note *n = malloc(sizeof *n);
    body ans = {malloc(REPLY_MAX + 1), 0, 0};
    CURL *h = NULL;
    struct curl_slist *hdr = NULL;
    char *req = NULL;
    ckpt cp;
    int rc = WITNESS_EINVAL;
    if (!n || !ans.p) {
        snprintf(err, errlen, "out of memory");
        rc = WITNESS_ENOMEM;
        goto done;
    }
    size_t ul = strlen(url);
    while (ul > 0 && url[ul - 1] == '/') ul--;
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        ul + sizeof "/add-checkpoint" > sizeof target) {
        snprintf(err, errlen, "the witness URL must start with http:// or https://");
        goto done;
    }
    snprintf(target, sizeof target, "%.*s/add-checkpoint", (int)ul, url);
    if (key->type != NOTE_COSIGNATURE) {
        snprintf(err, errlen, "%s is not a witness's cosignature key (type 0x04)", key->name);
        goto done;
    }
    if (note_parse(checkpoint, len, n, why, sizeof why) != NOTE_OK ||
        ckpt_parse(n->text, n->text_len, &cp, why, sizeof why) != CKPT_OK) {
        snprintf(err, errlen, "not a signed checkpoint: %s", why);
        goto done;
    }
    if (old_size < 0 || old_size > cp.size) old_size = 0;
    if (!(h = curl_easy_init()) ||
        !(hdr = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8"))) {
        snprintf(err, errlen, "cannot start an HTTP client");
        rc = WITNESS_ENOMEM;
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "dss-audit-mcp/" DSS_VERSION);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        size_t blen;
        free(req);
        if (!(req = make_body(old_size, &cp, checkpoint, len, tree, &blen, &rc, err, errlen)))
            goto done;
        if ((rc = post(h, target, req, blen, timeout_ms, &out->http_status, &ans, type,
                       sizeof type, err, errlen)) != 0)
            goto done;
        if (out->http_status == 200) {
            rc = witness_reply_parse(n, key, ans.p, ans.len, out, err, errlen);
            if (rc == WITNESS_OK) out->witness_size = cp.size;
            goto done;
        }
        if (out->http_status != 409) break;
        int64_t theirs;
        if (witness_size_parse(type, ans.p, ans.len, &theirs) != 0) {
            snprintf(err, errlen, "the witness answered 409 without its size (text/x.tlog.size)");
            rc = WITNESS_EREFUSED;
            goto done;
        }
        out->witness_size = theirs;
        if (theirs > cp.size) {
            snprintf(err, errlen,
                     "the witness holds a tree of size %lld, larger than this checkpoint's %lld",
                     (long long)theirs, (long long)cp.size);
            rc = WITNESS_EAHEAD;
            goto done;
        }
        if (theirs == old_size) break; /* it contradicts itself: give up */
        old_size = theirs;
    }
    /* Refused: show the witness's own sentence, on one line, without the
    ** escape sequences or invalid bytes a hostile witness could send. */
    char said[301];
    utf8_printable(ans.len ? ans.p : "(no text)", ans.len ? ans.len : 9, 300, said, sizeof said);
    snprintf(err, errlen, "the witness at %s answered %ld: %s", target, out->http_status, said);
    rc = WITNESS_EREFUSED;
done:
    curl_slist_free_all(hdr);
    if (h) curl_easy_cleanup(h);
    free(req);
    free(ans.p);
    free(n);
    return rc;
}

void witness_reply_free(witness_reply *out)
{
    free(out->cosignatures);
    memset(out, 0, sizeof *out);
    out->witness_size = -1;
}
