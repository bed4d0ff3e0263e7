/*
** fuzz_witness.c: a libFuzzer target for both sides of the witness
** protocol (c2sp.org/tlog-witness): what the witness reads from any log's
** POST (src/witness/witness_check.c) and what a log reads from a witness's
** answer (src/witness/witness_client.c) or its configuration (wsync.c).
**
** An input's first byte picks what the rest is (its value modulo 4):
**   0  one byte saying what the witness holds, then an add-checkpoint
**      body: witness_check_submission against the logs fuzz.example/log
**      and fuzz.example/product (tlog_fuzz.h), then witness_judge against
**      tree A's or tree B's root at a size (the body's old size when the
**      byte's bit 1 is set, else the byte / 4 modulo 41; tree B when bit 0
**      is set);
**   1  two bytes of length, a signed checkpoint of that length, then a
**      witness's 200 answer: witness_reply_parse with the key
**      fuzz.example/w1, and with /w2;
**   2  one byte of length, a Content-Type of that length, then a 409's
**      body: witness_size_parse;
**   3  a witness as configured, URL=VKEY: wsync_parse.
**
** Besides the sanitizers, it aborts when a promise is broken:
**   - a submission is cosigned (200) only when its checkpoint is signed
**     (genuinely: tlog_fuzz.h) by the log of its origin and extends the
**     tree the witness holds: same old size, a size no smaller, the same
**     root at equal sizes, and, for fuzz.example/log, a tree that agrees
**     with the held one on every leaf the witness cosigned (a fork is
**     never cosigned); a 409 carries the held size;
**   - the cosignatures taken from an answer are lines by the witness's key
**     only, each the genuine cosignature at the time it states, the time
**     returned the newest of them;
**   - a size taken from a 409 prints back as it was sent; a configured
**     witness's key prints back as it was given.
**
** Seeds: tests/fuzz/corpus/witness/, written by this target when run as
** FUZZ_WRITE_SEEDS=DIR build-fuzz/fuzz_witness, plus what a real witness
** (dss-audit-mcp witness, key seed 0x22..., --name fuzz.example/w1)
** answered to the product's own checkpoint and consistency body.
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=8192
** fuzz sources: src/witness/witness_check.c src/witness/witness_client.c src/witness/wsync.c
** fuzz packages: libcurl
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlog_fuzz.h"
#include "witness/witness_check.h"
#include "witness/witness_client.h"
#include "witness/wsync.h"

#define NAME "fuzz_witness"

static witness_submission *sub;
static note *nt, *joined;

static void die(const char *what, const char *why)
{
    tf_die(NAME, what, why);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tf_init();
    if (!(sub = malloc(sizeof *sub)) || !(nt = malloc(sizeof *nt)) ||
        !(joined = malloc(sizeof *joined)))
        die("init", "out of memory");
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

static void mode_server(uint8_t held, const char *body, size_t len)
{
    char msg[512];
    msg[0] = '\0';
    unsigned st = witness_check_submission(tf_k.logs, 2, body, len, sub, msg, sizeof msg);
    if (st != 0) {
        if ((st != 400 && st != 403 && st != 404 && st != 500) || !msg[0])
            die("witness_check_submission", "a refusal without its status or sentence");
        return;
    }
    const ckpt *cp = &sub->cp;
    const proof_consistency *pc = &sub->pc;
    int ours = strcmp(cp->origin, TF_LOG) == 0;
    if (!ours && strcmp(cp->origin, TF_PRODUCT) != 0)
        die("witness_check_submission", "took a checkpoint of an origin not watched");
    if (!tf_genuine(&sub->n, ours ? &tf_k.log.key : &tf_k.product.key, 1))
        die("witness_check_submission", "took a signature that is not genuine");
    if (pc->old_size > cp->size) die("witness_check_submission", "took an old size above the size");
    const tf_tree *t = ours ? tf_tree_of(cp) : NULL;
    if (ours && !t) die("witness_check_submission", "a checkpoint of neither tree A nor B");

    /* What the witness holds: a size and that size's root in tree A or B. */
    const tf_tree *y = held & 1 ? &tf_b : &tf_a;
    int64_t latest = held & 2 ? pc->old_size : (held >> 2) % (TF_N + 1);
    if (latest > TF_N) latest = (held >> 2) % (TF_N + 1);
    st = witness_judge(sub, latest, y->root[latest], msg, sizeof msg);
    if (st == 409) {
        char want[32];
        snprintf(want, sizeof want, "%lld\n", (long long)latest);
        if (pc->old_size == latest || strcmp(msg, want) != 0)
            die("witness_judge", "a 409 without the held size, or for the held size");
        return;
    }
    if (st == 422) {
        if (!msg[0]) die("witness_judge", "a 422 without a sentence");
        return;
    }
    if (st != 200) die("witness_judge", "a status it does not give");
    if (pc->old_size != latest || cp->size < latest)
        die("witness_judge", "cosigned from another size than the one held");
    if (cp->size == latest && memcmp(cp->root, y->root[latest], 32) != 0)
        die("witness_judge", "cosigned another root at the size held");
    if (latest == 0 && pc->path_len != 0) die("witness_judge", "cosigned a proof from size 0");
    if (t && memcmp(t->root[latest], y->root[latest], 32) != 0)
        die("witness_judge", "cosigned a fork of the tree held");
}

static void mode_reply(const char *p, size_t len)
{
    char err[256];
    if (len < 2) return;
    size_t cl = (size_t)(uint8_t)p[0] << 8 | (uint8_t)p[1];
    if (cl > len - 2) return;
    const char *cp = p + 2, *reply = cp + cl;
    size_t rl = len - 2 - cl;
    if (note_parse(cp, cl, nt, err, sizeof err) != NOTE_OK) return;
    for (int k = 0; k < 2; k++) {
        const note_key *key = &tf_k.wkeys[k];
        witness_reply out;
        memset(&out, 0, sizeof out);
        err[0] = '\0';
        int rc = witness_reply_parse(nt, key, reply, rl, &out, err, sizeof err);
        if (rc != WITNESS_OK) {
            if ((rc != WITNESS_EREPLY && rc != WITNESS_ENOMEM) || !err[0] || out.cosignatures)
                die("witness_reply_parse", "a refusal without its code or sentence");
            continue;
        }
        if (!out.cosignatures || out.len == 0 || strlen(out.cosignatures) != out.len ||
            out.cosignatures[out.len - 1] != '\n')
            die("witness_reply_parse", "cosignatures that are not lines");
        /* The lines kept, after the checkpoint's text, make a note whose
        ** every line is the key's genuine cosignature. */
        size_t tl = nt->text_len, jl = tl + 1 + out.len;
        char *j = malloc(jl);
        if (!j) die("reply", "out of memory");
        memcpy(j, nt->text, tl);
        j[tl] = '\n';
        memcpy(j + tl + 1, out.cosignatures, out.len);
        if (note_parse(j, jl, joined, err, sizeof err) != NOTE_OK || joined->text_len != tl)
            die("witness_reply_parse", "the lines kept do not make a note with the text");
        uint64_t newest = 0;
        for (size_t i = 0; i < joined->nsigs; i++) {
            const note_sig *s = &joined->sigs[i];
            if (s->id != key->id || s->name_len != strlen(key->name) ||
                memcmp(s->name, key->name, s->name_len) != 0)
                die("witness_reply_parse", "kept a line by another key");
            uint8_t raw[128];
            size_t n = 0;
            if (c2sp_b64_decode(s->b64, s->b64_len, raw, sizeof raw, &n) != 0 || n != 76)
                die("witness_reply_parse", "kept a line that is no cosignature");
            uint64_t t = 0;
            for (int b = 4; b < 12; b++) t = t << 8 | raw[b];
            if (t > newest) newest = t;
        }
        if (!tf_genuine(joined, key, 1))
            die("witness_reply_parse", "kept a cosignature that is not genuine");
        if (out.timestamp != newest) die("witness_reply_parse", "the time is not the newest");
        free(j);
        witness_reply_free(&out);
    }
}

static void mode_size(const char *p, size_t len)
{
    if (len < 1) return;
    size_t tl = (uint8_t)p[0];
    if (tl > len - 1) return;
    char type[256];
    memcpy(type, p + 1, tl);
    type[tl] = '\0';
    const char *body = p + 1 + tl;
    size_t bl = len - 1 - tl;
    int64_t size = -1;
    if (witness_size_parse(type, body, bl, &size) != 0) return;
    char back[32];
    int n = snprintf(back, sizeof back, "%lld\n", (long long)size);
    if (size < 0 || (size_t)n != bl || memcmp(back, body, bl) != 0 ||
        strncmp(type, "text/x.tlog.size", 16) != 0)
        die("witness_size_parse", "took a size that is not the one sent");
}

static void mode_config(const char *p, size_t len)
{
    char *spec = malloc(len + 1), err[256];
    if (!spec) die("config", "out of memory");
    memcpy(spec, p, len);
    spec[len] = '\0';
    wsync_witness w;
    err[0] = '\0';
    if (wsync_parse(spec, &w, err, sizeof err) != 0) {
        if (!err[0]) die("wsync_parse", "refused without a sentence");
        free(spec);
        return;
    }
    size_t ul = strlen(w.url);
    if ((strncmp(w.url, "http://", 7) != 0 && strncmp(w.url, "https://", 8) != 0) ||
        strncmp(spec, w.url, ul) != 0 || spec[ul] != '=' || strcmp(spec + ul + 1, w.vkey) != 0 ||
        w.key.type != NOTE_COSIGNATURE)
        die("wsync_parse", "took a witness that is not the one configured");
    free(spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0:
        if (len > 0) mode_server((uint8_t)p[0], p + 1, len - 1);
        break;
    case 1: mode_reply(p, len); break;
    case 2: mode_size(p, len); break;
    default: mode_config(p, len); break;
    }
    return 0;
}

/* ---- the seed corpus ---- */

static void put(const char *dir, const char *name, const char *data, size_t len)
{
    tf_write(dir, name, data, len);
}

/* Mode 0: the held byte, then the body old -> size of tree t. */
static void put_body(const char *dir, const char *name, const tf_tree *t, int64_t old,
                     int64_t size, uint8_t held)
{
    char err[256];
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t pl = 0, bl;
    merkle_reader r = merkle_mem_reader((merkle_mem *)&t->m);
    if (merkle_prove_consistency(old, size, &r, path, &pl, err, sizeof err) != MERKLE_OK)
        die("seeds", err);
    char *cp = tf_checkpoint(t, size, &tf_k.log, 0, 0, NULL);
    char *b = proof_consistency_format(old, path[0], pl, cp, strlen(cp), &bl, err, sizeof err);
    if (!b) die("seeds", err);
    char *buf = malloc(bl + 2);
    buf[0] = 0;
    buf[1] = (char)held;
    memcpy(buf + 2, b, bl);
    put(dir, name, buf, bl + 2);
    free(buf);
    free(b);
    free(cp);
}

/* Mode 1: a checkpoint of tree A and the cosignature lines of the
** witnesses in wmask (and a line by the log, which a witness never sends). */
static void put_reply(const char *dir, const char *name, int64_t size, unsigned wmask,
                      int with_log_line)
{
    char err[256], line[NOTE_LINE_MAX];
    char *cp = tf_checkpoint(&tf_a, size, &tf_k.log, 0, 0, NULL);
    size_t cl = strlen(cp);
    char *buf = malloc(3 + cl + 4 * NOTE_LINE_MAX), *at;
    buf[0] = 1;
    buf[1] = (char)(cl >> 8);
    buf[2] = (char)cl;
    memcpy(buf + 3, cp, cl);
    at = buf + 3 + cl;
    size_t tl = (size_t)(strstr(cp, "\n\n") - cp) + 1; /* the text, its newline */
    for (int i = 0; i < 2; i++)
        if (wmask & (1u << i)) {
            note_sign_line(&tf_k.w[i], cp, tl, 1767225600 + (uint64_t)i, line, err, sizeof err);
            at += sprintf(at, "%s", line);
        }
    if (with_log_line) {
        note_sign_line(&tf_k.log, cp, tl, 0, line, err, sizeof err);
        at += sprintf(at, "%s", line);
    }
    put(dir, name, buf, (size_t)(at - buf));
    free(buf);
    free(cp);
}

static void write_seeds(const char *dir)
{
    put_body(dir, "body_a_0_10", &tf_a, 0, 10, 2);
    put_body(dir, "body_a_10_40", &tf_a, 10, 40, 2);
    put_body(dir, "body_a_40_40", &tf_a, 40, 40, 2);
    put_body(dir, "body_b_24_31_held_a", &tf_b, 24, 31, 2);
    put_body(dir, "body_b_30_39_held_a_30", &tf_b, 30, 39, 30 << 2);
    put_body(dir, "body_a_17_33_held_b", &tf_a, 17, 33, 3);
    put_reply(dir, "reply_w1", 12, 1, 0);
    put_reply(dir, "reply_w1_w2_log", 12, 3, 1);
    static const char size409[] = "\x02\x10text/x.tlog.size26\n";
    put(dir, "size_409", size409, sizeof size409 - 1);
    char vkey[NOTE_VKEY_MAX], spec[1024];
    note_key_format(&tf_k.wkeys[0], vkey);
    int n = snprintf(spec, sizeof spec, "%chttp://127.0.0.1:7380/=%s", 3, vkey);
    put(dir, "config", spec, (size_t)n);
    n = snprintf(spec, sizeof spec, "%chttps://w.example/sub?a=b=%s", 3, vkey);
    put(dir, "config_query", spec, (size_t)n);
}
