/*
** test_tlog_interop.c: our tree, notes and proofs against an implementation
** nobody here wrote, Go's golang.org/x/mod/sumdb/tlog and sumdb/note (the
** gotlog program beside this file, built by CMake, path in DSS_GOTLOG).
**
** Both directions: Go checks what we make (verifier keys, signed and
** cosigned checkpoints, the stored hashes and roots, inclusion proofs with
** tlog.CheckRecord, consistency proofs with tlog.CheckTree), and we check
** what Go makes (its notes, its proofs, a tlog-proof text built from them,
** cosignatures written in Go from the spec).
*/
#include "test.h"

#include <sodium.h>
#include <stdint.h>
#include <unistd.h>

#include "tlog/c2sp.h"
#include "tlog/proof.h"
#include "tlog_fixture.h"

/* Run "gotlog ARGS" with input on stdin; *out gets its stdout (caller
** frees).  Returns its exit status, or -1 when it could not run. */
static int go(const char *args, const char *input, char **out)
{
    const char *bin = getenv("DSS_GOTLOG");
    char cmd[4096];
    *out = NULL;
    if (!bin) {
        fprintf(stderr, "DSS_GOTLOG is not set\n");
        return -1;
    }
    snprintf(cmd, sizeof cmd, "%s %s", bin, args);
    return tf_run(cmd, input, out);
}

/* The leaf datum both sides use for leaf i: SHA-256 of i in decimal (as an
** entry's 32-byte chain hash). */
static void datum(int i, uint8_t out[32])
{
    char s[24];
    snprintf(s, sizeof s, "%d", i);
    crypto_hash_sha256(out, (const uint8_t *)s, strlen(s));
}

static void tree_of(merkle_mem *m, int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t d[32];
        merkle_hash leaf;
        datum(i, d);
        merkle_leaf_hash(d, 32, leaf);
        merkle_mem_append(m, leaf);
    }
}

static void b64(const uint8_t *h, char out[45])
{
    c2sp_b64_encode(h, 32, out);
}

TEST(go_computes_the_same_verifier_key)
{
    for (int i = 0; i < 5; i++) {
        note_signer s = tf_signer(i % 2 ? "dss-audit/0192f0c4-7a1b" : "example.com/log42",
                                   NOTE_ED25519);
        char vkey[NOTE_VKEY_MAX], pkhex[65], args[512], *out;
        note_key_format(&s.key, vkey);
        sodium_bin2hex(pkhex, sizeof pkhex, s.key.pk, 32);
        snprintf(args, sizeof args, "vkey '%s' %s", s.key.name, pkhex);
        ASSERT_EQ_INT(go(args, NULL, &out), 0);
        out[strcspn(out, "\n")] = '\0';
        ASSERT_EQ_STR(out, vkey);
        free(out);
    }
}

TEST(go_opens_our_signed_checkpoint_with_our_vkey)
{
    merkle_mem m = {0};
    tree_of(&m, 100);
    note_signer s = tf_signer("dss-audit/interop", NOTE_ED25519);
    char *cp = tf_checkpoint(&m, 100, &s), vkey[NOTE_VKEY_MAX], args[512], *out;
    note_key_format(&s.key, vkey);
    snprintf(args, sizeof args, "open '%s'", vkey);
    ASSERT_EQ_INT(go(args, cp, &out), 0);
    ASSERT(strncmp(out, "verified 1\ndss-audit/interop\n100\n", 33) == 0);
    ASSERT(strncmp(out + 11, cp, strlen(out + 11)) == 0);
    free(out);
    /* An edited tree size is refused by Go as well. */
    strstr(cp, "\n100\n")[1] = '2';
    ASSERT_EQ_INT(go(args, cp, &out), 1);
    free(out);
    free(cp);
    merkle_mem_free(&m);
}

TEST(go_opens_our_cosigned_checkpoint)
{
    merkle_mem m = {0};
    tree_of(&m, 10);
    char err[256], line[NOTE_LINE_MAX], args[1024], *out;
    note_signer s = tf_signer("dss-audit/interop", NOTE_ED25519);
    note_signer w[2] = {tf_signer("w1.example", NOTE_COSIGNATURE),
                        tf_signer("w2.example", NOTE_COSIGNATURE)};
    char *cp = tf_checkpoint(&m, 10, &s);
    char *all = malloc(strlen(cp) + 2 * NOTE_LINE_MAX);
    strcpy(all, cp);
    const char *text_end = strstr(cp, "\n\n") + 1;
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ_INT(note_sign_line(&w[i], cp, (size_t)(text_end - cp), 1700000000, line, err,
                                     sizeof err),
                      NOTE_OK);
        strcat(all, line);
    }
    char v0[NOTE_VKEY_MAX], v1[NOTE_VKEY_MAX], v2[NOTE_VKEY_MAX];
    note_key_format(&s.key, v0);
    note_key_format(&w[0].key, v1);
    note_key_format(&w[1].key, v2);
    snprintf(args, sizeof args, "open '%s' '%s' '%s'", v0, v1, v2);
    ASSERT_EQ_INT(go(args, all, &out), 0);
    ASSERT(strncmp(out, "verified 3\n", 11) == 0);
    free(out);
    free(all);
    free(cp);
    merkle_mem_free(&m);
}

TEST(go_stores_the_same_hashes_and_computes_the_same_roots)
{
    enum { N = 300 };
    merkle_mem m = {0};
    tree_of(&m, N);
    char *in = malloc(N * 65 + 1), *out;
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        uint8_t d[32];
        datum(i, d);
        sodium_bin2hex(in + n, 65, d, 32);
        n += 64;
        in[n++] = '\n';
    }
    in[n] = '\0';
    ASSERT_EQ_INT(go("tree", in, &out), 0);
    /* First every stored hash, in storage order... */
    char *p = out, want[45];
    for (int64_t i = 0; i < m.count; i++) {
        b64(m.h[i], want);
        ASSERT(strncmp(p, want, 44) == 0 && p[44] == '\n');
        p += 45;
    }
    /* ...then tlog.TreeHash of every size. */
    merkle_reader r = merkle_mem_reader(&m);
    char err[256], line[128];
    for (int s = 1; s <= N; s++) {
        merkle_hash root;
        ASSERT_EQ_INT(merkle_tree_hash(s, &r, root, err, sizeof err), MERKLE_OK);
        b64(root, want);
        snprintf(line, sizeof line, "root %d %s\n", s, want);
        ASSERT(strncmp(p, line, strlen(line)) == 0);
        p += strlen(line);
    }
    ASSERT(*p == '\0');
    free(out);
    free(in);
    merkle_mem_free(&m);
}

/* Append "good|bad" + fields + proof hashes as one line to buf. */
static void put_line(char **buf, size_t *len, size_t *cap, const char *head,
                     merkle_hash *proof, size_t plen)
{
    size_t need = strlen(head) + plen * 45 + 2;
    if (*cap - *len < need) *buf = realloc(*buf, *cap = (*cap + need) * 2);
    *len += (size_t)sprintf(*buf + *len, "%s", head);
    for (size_t i = 0; i < plen; i++) {
        (*buf)[(*len)++] = ' ';
        c2sp_b64_encode(proof[i], 32, *buf + *len);
        *len += 44;
    }
    (*buf)[(*len)++] = '\n';
    (*buf)[*len] = '\0';
}

TEST(go_check_record_accepts_our_inclusion_proofs_and_refuses_tampered_ones)
{
    enum { N = 48 };
    merkle_mem m = {0};
    tree_of(&m, N);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256], head[256], th[45], h[45], *buf = NULL, *out;
    size_t len = 0, cap = 0;
    int lines = 0;
    for (int t = 1; t <= N; t++) {
        merkle_hash root;
        merkle_tree_hash(t, &r, root, err, sizeof err);
        b64(root, th);
        for (int i = 0; i < t; i++) {
            merkle_hash p[MERKLE_MAX_PROOF];
            size_t plen;
            ASSERT_EQ_INT(merkle_prove_inclusion(i, t, &r, p, &plen, err, sizeof err), MERKLE_OK);
            b64(m.h[merkle_stored_index(0, i)], h);
            snprintf(head, sizeof head, "good %d %d %s %s", t, i, th, h);
            put_line(&buf, &len, &cap, head, p, plen);
            lines++;
            if (plen == 0) continue;
            /* A changed hash, and a truncated path. */
            snprintf(head, sizeof head, "bad %d %d %s %s", t, i, th, h);
            p[plen - 1][3] ^= 0x10;
            put_line(&buf, &len, &cap, head, p, plen);
            p[plen - 1][3] ^= 0x10;
            put_line(&buf, &len, &cap, head, p, plen - 1);
            lines += 2;
        }
    }
    ASSERT_EQ_INT(go("checkrecord", buf, &out), 0);
    char want[64];
    snprintf(want, sizeof want, "checked %d\n", lines);
    ASSERT_EQ_STR(out, want);
    free(out);
    free(buf);
    merkle_mem_free(&m);
}

TEST(go_check_tree_accepts_our_consistency_proofs_and_refuses_tampered_ones)
{
    enum { N = 48 };
    merkle_mem m = {0};
    tree_of(&m, N);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256], head[256], roots[N + 1][45], *buf = NULL, *out;
    size_t len = 0, cap = 0;
    int lines = 0;
    for (int t = 1; t <= N; t++) {
        merkle_hash root;
        merkle_tree_hash(t, &r, root, err, sizeof err);
        b64(root, roots[t]);
    }
    for (int t = 1; t <= N; t++)
        for (int o = 1; o <= t; o++) {
            merkle_hash p[MERKLE_MAX_PROOF];
            size_t plen;
            ASSERT_EQ_INT(merkle_prove_consistency(o, t, &r, p, &plen, err, sizeof err),
                          MERKLE_OK);
            snprintf(head, sizeof head, "good %d %s %d %s", t, roots[t], o, roots[o]);
            put_line(&buf, &len, &cap, head, p, plen);
            lines++;
            if (plen == 0) continue;
            snprintf(head, sizeof head, "bad %d %s %d %s", t, roots[t], o, roots[o]);
            p[0][0] ^= 0x01;
            put_line(&buf, &len, &cap, head, p, plen);
            p[0][0] ^= 0x01;
            put_line(&buf, &len, &cap, head, p, plen - 1);
            lines += 2;
        }
    ASSERT_EQ_INT(go("checktree", buf, &out), 0);
    char want[64];
    snprintf(want, sizeof want, "checked %d\n", lines);
    ASSERT_EQ_STR(out, want);
    free(out);
    free(buf);
    merkle_mem_free(&m);
}

/* Decode the space-separated base64 hashes of s into out; returns count. */
static size_t parse_hashes(char *s, merkle_hash *out, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, " ", &save); tok && n < max; tok = strtok_r(NULL, " ", &save))
        if (c2sp_b64_hash(tok, strlen(tok), out[n]) == 0) n++;
    return n;
}

TEST(we_verify_gos_proofs_and_they_equal_ours)
{
    enum { N = 40 };
    merkle_mem m = {0};
    tree_of(&m, N);
    merkle_reader r = merkle_mem_reader(&m);
    char *out, err[256];
    ASSERT_EQ_INT(go("prove 40", NULL, &out), 0);
    int records = 0, trees = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char kind[8], a[45], b[45];
        long t, i;
        int used = 0;
        merkle_hash th, h, p[MERKLE_MAX_PROOF + 1], mine[MERKLE_MAX_PROOF];
        size_t plen, mlen;
        char rest[MERKLE_MAX_PROOF * 46 + 1];
        if (sscanf(line, "%7s %ld", kind, &t) != 2) continue;
        if (strcmp(kind, "record") == 0) {
            ASSERT(sscanf(line, "record %ld %ld %44s %44s%n", &t, &i, a, b, &used) == 4);
            snprintf(rest, sizeof rest, "%s", line + used);
            plen = parse_hashes(rest, p, MERKLE_MAX_PROOF + 1);
            c2sp_b64_hash(a, 44, th);
            c2sp_b64_hash(b, 44, h);
            ASSERT_EQ_INT(merkle_verify_inclusion(i, t, h, p[0], plen, th), MERKLE_OK);
            ASSERT_EQ_INT(merkle_prove_inclusion(i, t, &r, mine, &mlen, err, sizeof err), MERKLE_OK);
            ASSERT_EQ_INT(mlen, plen);
            ASSERT(memcmp(mine, p, plen * 32) == 0);
            records++;
        } else {
            ASSERT(sscanf(line, "tree %ld %44s %ld %44s%n", &t, a, &i, b, &used) == 4);
            snprintf(rest, sizeof rest, "%s", line + used);
            plen = parse_hashes(rest, p, MERKLE_MAX_PROOF + 1);
            c2sp_b64_hash(a, 44, th);
            c2sp_b64_hash(b, 44, h);
            ASSERT_EQ_INT(merkle_verify_consistency(i, t, h, th, p[0], plen), MERKLE_OK);
            ASSERT_EQ_INT(merkle_prove_consistency(i, t, &r, mine, &mlen, err, sizeof err),
                          MERKLE_OK);
            ASSERT_EQ_INT(mlen, plen);
            ASSERT(memcmp(mine, p, plen * 32) == 0);
            trees++;
        }
    }
    ASSERT_EQ_INT(records, N * (N + 1) / 2);
    ASSERT_EQ_INT(trees, N * (N + 1) / 2);
    free(out);
    merkle_mem_free(&m);
}

TEST(we_open_notes_go_signed)
{
    char *out, err[256];
    ASSERT_EQ_INT(go("sign example.com/go-signer", "hello from Go\nsecond line\n", &out), 0);
    char *nl = strchr(out, '\n');
    ASSERT(nl);
    *nl = '\0';
    note_key k;
    ASSERT_EQ_INT(note_key_parse(out, &k, err, sizeof err), NOTE_OK);
    static note n;
    const char *msg = nl + 1;
    ASSERT_EQ_INT(note_open(msg, strlen(msg), &k, 1, &n, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(n.text_len, strlen("hello from Go\nsecond line\n"));
    /* With a wrong key of the same name it has no known signature. */
    note_signer other = tf_signer("example.com/go-signer", NOTE_ED25519);
    ASSERT_EQ_INT(note_open(msg, strlen(msg), &other.key, 1, &n, err, sizeof err), NOTE_ENOSIG);
    free(out);
}

TEST(we_verify_a_tlog_proof_made_from_gos_tree_and_note)
{
    char *out, err[256];
    ASSERT_EQ_INT(go("proof dss-audit/go-log 1000 777", NULL, &out), 0);
    char *nl = strchr(out, '\n');
    ASSERT(nl);
    *nl = '\0';
    ckpt_log log;
    ASSERT_EQ_INT(ckpt_log_from_vkey(out, &log, err, sizeof err), CKPT_OK);
    const char *text = nl + 1;
    static tlog_proof p;
    ASSERT_EQ_INT(proof_parse(text, strlen(text), &p, err, sizeof err), 0);
    ASSERT_EQ_INT(p.index, 777);
    proof_policy pol = {&log, 1, NULL, 0, 0};
    proof_result res;
    uint8_t entry[32];
    datum(777, entry);
    ASSERT_EQ_INT(proof_verify(&p, &pol, entry, &res), 0);
    ASSERT_EQ_INT(res.checkpoint.size, 1000);
    datum(778, entry);
    ASSERT_EQ_INT(proof_verify(&p, &pol, entry, &res), -1);
    ASSERT_EQ_INT(res.failed, PROOF_ENTRY);
    free(out);
}

TEST(we_verify_cosignatures_go_made)
{
    merkle_mem m = {0};
    tree_of(&m, 33);
    note_signer s = tf_signer("dss-audit/interop", NOTE_ED25519);
    char *cp = tf_checkpoint(&m, 33, &s), *out, err[256];
    ASSERT_EQ_INT(go("cosign witness.example/go", cp, &out), 0);
    char *nl = strchr(out, '\n');
    ASSERT(nl);
    *nl = '\0';
    note_key w;
    ASSERT_EQ_INT(note_key_parse(out, &w, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(w.type, NOTE_COSIGNATURE);
    const char *cosigned = nl + 1;
    /* The log's signature survived, and the witness's verifies. */
    char vkey[NOTE_VKEY_MAX];
    ckpt_log log;
    note_key_format(&s.key, vkey);
    ckpt_log_from_vkey(vkey, &log, err, sizeof err);
    merkle_reader r = merkle_mem_reader(&m);
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t plen;
    merkle_prove_inclusion(5, 33, &r, path, &plen, err, sizeof err);
    uint8_t entry[32];
    datum(5, entry);
    char *text = proof_format(entry, 32, 5, path[0], plen, cosigned, strlen(cosigned), NULL, err,
                              sizeof err);
    ASSERT(text);
    static tlog_proof p;
    ASSERT_EQ_INT(proof_parse(text, strlen(text), &p, err, sizeof err), 0);
    proof_policy pol = {&log, 1, &w, 1, 1};
    proof_result res;
    ASSERT_EQ_INT(proof_verify(&p, &pol, NULL, &res), 0);
    ASSERT_EQ_INT(res.cosigned, 1);
    free(text);
    free(out);
    free(cp);
    merkle_mem_free(&m);
}

/* Run the reviewer's checker (tlog/verifyproof.go) on proof text with the
** log's vkey (and an entry hash in hex, or NULL); its exit status, and its
** stdout and stderr in out (caller frees). */
static int verifyproof(const char *proof, const char *vkey, const char *entry_hex, char **out)
{
    const char *bin = getenv("DSS_VERIFYPROOF");
    char path[] = "/tmp/dss-proof-XXXXXX", cmd[2048];
    *out = NULL;
    if (!bin) return -1;
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    size_t len = strlen(proof);
    int ok = write(fd, proof, len) == (ssize_t)len;
    close(fd);
    snprintf(cmd, sizeof cmd, "%s %s '%s' %s 2>&1", bin, path, vkey, entry_hex ? entry_hex : "");
    FILE *p = ok ? popen(cmd, "r") : NULL;
    if (!p) {
        unlink(path);
        return -1;
    }
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, p);
    buf[n] = '\0';
    int st = pclose(p);
    unlink(path);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(the_reviewers_go_checker_accepts_our_proofs_and_names_each_tampered_part)
{
    merkle_mem m = {0};
    tree_of(&m, 30);
    note_signer s = tf_signer("dss-audit/review", NOTE_ED25519);
    note_signer w = tf_signer("w.example", NOTE_COSIGNATURE);
    char *cp = tf_checkpoint(&m, 30, &s), err[256], line[NOTE_LINE_MAX], vkey[NOTE_VKEY_MAX];
    note_key_format(&s.key, vkey);
    /* Cosigned: the checker ignores the cosignature it does not know. */
    note_sign_line(&w, cp, (size_t)(strstr(cp, "\n\n") + 1 - cp), 1700000000, line, err,
                   sizeof err);
    char *cos = malloc(strlen(cp) + strlen(line) + 1);
    strcpy(cos, cp);
    strcat(cos, line);
    merkle_reader r = merkle_mem_reader(&m);
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t plen;
    uint8_t entry[32];
    char hex[65], *out;
    datum(17, entry);
    sodium_bin2hex(hex, sizeof hex, entry, 32);
    merkle_prove_inclusion(17, 30, &r, path, &plen, err, sizeof err);
    char *good = proof_format(entry, 32, 17, path[0], plen, cos, strlen(cos), NULL, err,
                              sizeof err);
    ASSERT(good);
    ASSERT_EQ_INT(verifyproof(good, vkey, NULL, &out), 0);
    ASSERT_CONTAINS(out, "valid: entry");
    ASSERT_CONTAINS(out, "(seq 18)");
    free(out);
    ASSERT_EQ_INT(verifyproof(good, vkey, hex, &out), 0);
    free(out);
    /* An edited entry. */
    datum(16, entry);
    sodium_bin2hex(hex, sizeof hex, entry, 32);
    ASSERT_EQ_INT(verifyproof(good, vkey, hex, &out), 1);
    ASSERT_CONTAINS(out, "entry hash");
    free(out);
    /* A changed proof hash. */
    char *bad = strdup(good), *at = strstr(bad, "index 17\n") + 9;
    at[0] = at[0] == 'A' ? 'B' : 'A';
    ASSERT_EQ_INT(verifyproof(bad, vkey, NULL, &out), 1);
    ASSERT_CONTAINS(out, "audit path");
    free(out);
    free(bad);
    /* Another key's signature. */
    note_signer other = tf_signer("dss-audit/review", NOTE_ED25519);
    char *forged = tf_checkpoint(&m, 30, &other);
    bad = proof_format(entry, 32, 17, path[0], plen, forged, strlen(forged), NULL, err,
                       sizeof err);
    ASSERT_EQ_INT(verifyproof(bad, vkey, NULL, &out), 1);
    ASSERT_CONTAINS(out, "signature");
    free(out);
    free(bad);
    free(forged);
    free(good);
    free(cos);
    free(cp);
    merkle_mem_free(&m);
}

TEST_MAIN(TEST_ENTRY(go_computes_the_same_verifier_key)
          TEST_ENTRY(go_opens_our_signed_checkpoint_with_our_vkey)
          TEST_ENTRY(go_opens_our_cosigned_checkpoint)
          TEST_ENTRY(go_stores_the_same_hashes_and_computes_the_same_roots)
          TEST_ENTRY(go_check_record_accepts_our_inclusion_proofs_and_refuses_tampered_ones)
          TEST_ENTRY(go_check_tree_accepts_our_consistency_proofs_and_refuses_tampered_ones)
          TEST_ENTRY(we_verify_gos_proofs_and_they_equal_ours)
          TEST_ENTRY(we_open_notes_go_signed)
          TEST_ENTRY(we_verify_a_tlog_proof_made_from_gos_tree_and_note)
          TEST_ENTRY(we_verify_cosignatures_go_made)
          TEST_ENTRY(the_reviewers_go_checker_accepts_our_proofs_and_names_each_tampered_part))
