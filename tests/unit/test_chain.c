/*
** test_chain.c: the entry hash (src/store/chain.h) and checkpoint signing
** (src/integrity/checkpoint.h) against known answers.
**
** The answers in tests/kat/vectors.json were computed by
** tests/kat/vectors.mjs with Node's crypto from the encodings written down
** in docs/hash-encoding.md, never by this code; the ctest case kat.vectors
** checks that the file is what the script computes.  Dropping a field from
** the hash, reordering fields, changing a domain tag or a length prefix
** changes a hash here.
*/
#include "test.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "integrity/checkpoint.h"
#include "integrity/signer.h"
#include "store/chain.h"

/* The vectors file, parsed; NULL (with a message) when it cannot be read. */
static cJSON *load_vectors(void)
{
    const char *src = getenv("DSS_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/kat/vectors.json", src ? src : ".");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot read %s (is DSS_SOURCE_DIR set?)\n", path);
        return NULL;
    }
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

/* Where each hashed field of a vector goes in chain_fields.  A field the
** vectors name that this table lacks fails the test: the C code must learn
** every field the documented encodings hash. */
static const struct { const char *name; size_t off; } field_map[] = {
    {"id", offsetof(chain_fields, id)},
    {"event_type", offsetof(chain_fields, event_type)},
    {"operation_name", offsetof(chain_fields, operation_name)},
    {"operation_id", offsetof(chain_fields, operation_id)},
    {"user_id", offsetof(chain_fields, user_id)},
    {"project_id", offsetof(chain_fields, project_id)},
    {"args", offsetof(chain_fields, args)},
    {"result", offsetof(chain_fields, result)},
    {"error", offsetof(chain_fields, error)},
    {"before_state", offsetof(chain_fields, before_state)},
    {"after_state", offsetof(chain_fields, after_state)},
    {"created_at", offsetof(chain_fields, created_at)},
    {"client", offsetof(chain_fields, client)},
    {"server", offsetof(chain_fields, server)},
    {"session_id", offsetof(chain_fields, session_id)},
    {"duration_ms", offsetof(chain_fields, duration_ms)},
    {"completes", offsetof(chain_fields, completes)},
    {"cwd", offsetof(chain_fields, cwd)},
};

/* Fill f from a vector's "fields"; returns the name of a field it cannot
** place, or NULL. */
static const char *fields_of(const cJSON *v, chain_fields *f)
{
    memset(f, 0, sizeof *f);
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(v, "seq");
    f->seq = (int64_t)seq->valuedouble;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(v, "fields")) {
        size_t i = 0;
        while (i < sizeof field_map / sizeof *field_map && strcmp(field_map[i].name, m->string))
            i++;
        if (i == sizeof field_map / sizeof *field_map) return m->string;
        *(const char **)((char *)f + field_map[i].off) =
            cJSON_IsString(m) ? m->valuestring : NULL;
    }
    return NULL;
}

static const char *str(const cJSON *v, const char *k)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, k);
    return cJSON_IsString(m) ? m->valuestring : "";
}

static void hex2bin32(const char *hex, uint8_t out[32])
{
    sodium_hex2bin(out, 32, hex, strlen(hex), NULL, NULL, NULL);
}

/* A checkpoint from a vector, signature and public key included. */
static void checkpoint_of(const cJSON *v, store_checkpoint *cp)
{
    memset(cp, 0, sizeof *cp);
    snprintf(cp->kind, sizeof cp->kind, "%s", str(v, "kind"));
    snprintf(cp->log_id, sizeof cp->log_id, "%s", str(v, "log_id"));
    cp->seq = (int64_t)cJSON_GetObjectItemCaseSensitive(v, "seq")->valuedouble;
    snprintf(cp->head_hash, sizeof cp->head_hash, "%s", str(v, "head_hash"));
    snprintf(cp->created_at, sizeof cp->created_at, "%s", str(v, "created_at"));
    snprintf(cp->prev_checkpoint_hash, sizeof cp->prev_checkpoint_hash, "%s",
             str(v, "prev_checkpoint_hash"));
    snprintf(cp->public_key, sizeof cp->public_key, "%s", str(v, "public_key"));
    snprintf(cp->signature, sizeof cp->signature, "%s", str(v, "signature"));
}

#define VECTORS(kind, arr)                                                  \
    ASSERT(chain_init() == 0);                                              \
    cJSON *all_ = load_vectors();                                           \
    ASSERT(all_);                                                           \
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(all_, kind);        \
    ASSERT(cJSON_GetArraySize(arr) >= 3)

TEST(entry_hash_matches_every_known_answer)
{
    VECTORS("entry", vs);
    const cJSON *v;
    cJSON_ArrayForEach(v, vs) {
        chain_fields f;
        const char *stray = fields_of(v, &f);
        if (stray) TEST_FAIL_("vector %s: no chain_fields member for '%s'", str(v, "name"), stray);
        uint8_t prev[32], got[32];
        char hex[CHAIN_HEX_LEN];
        hex2bin32(str(v, "prev"), prev);
        int want = !strcmp(str(v, "encoding"), "v2") ? 2 : 1;
        if (chain_encoding(&f) != want)
            TEST_FAIL_("vector %s: chosen encoding v%d, expected v%d", str(v, "name"),
                       chain_encoding(&f), want);
        chain_entry_hash(&f, prev, got);
        chain_hex(got, hex);
        if (strcmp(hex, str(v, "hash")) != 0)
            TEST_FAIL_("vector %s: hash %s, expected %s", str(v, "name"), hex, str(v, "hash"));
    }
    cJSON_Delete(all_);
}

TEST(entry_matches_its_known_hash_only_at_its_seq)
{
    VECTORS("entry", vs);
    const cJSON *v;
    cJSON_ArrayForEach(v, vs) {
        chain_fields f;
        ASSERT(fields_of(v, &f) == NULL);
        uint8_t prev[32], want[32];
        hex2bin32(str(v, "prev"), prev);
        hex2bin32(str(v, "hash"), want);
        ASSERT_EQ_INT(chain_entry_matches(&f, f.seq, prev, want), 1);
        ASSERT_EQ_INT(chain_entry_matches(&f, f.seq + 1, prev, want), 0);
        prev[31] ^= 1;
        ASSERT_EQ_INT(chain_entry_matches(&f, f.seq, prev, want), 0);
    }
    cJSON_Delete(all_);
}

TEST(every_checkpoint_known_answer_verifies)
{
    /* A valid signature means the C code signs exactly the documented
    ** message: Ed25519 over any other bytes fails. */
    VECTORS("checkpoint", vs);
    const cJSON *v;
    cJSON_ArrayForEach(v, vs) {
        store_checkpoint cp;
        checkpoint_of(v, &cp);
        if (checkpoint_check_signature(&cp) != 0)
            TEST_FAIL_("vector %s: its signature does not verify over the C message",
                       str(v, "name"));
        cp.seq++;
        ASSERT(checkpoint_check_signature(&cp) != 0);
    }
    cJSON_Delete(all_);
}

TEST(checkpoint_digest_matches_every_known_answer)
{
    VECTORS("checkpoint", vs);
    const cJSON *v;
    cJSON_ArrayForEach(v, vs) {
        store_checkpoint cp;
        char hex[CHAIN_HEX_LEN];
        checkpoint_of(v, &cp);
        checkpoint_digest(&cp, hex);
        if (strcmp(hex, str(v, "digest")) != 0)
            TEST_FAIL_("vector %s: digest %s, expected %s", str(v, "name"), hex,
                       str(v, "digest"));
    }
    cJSON_Delete(all_);
}

TEST(signer_from_a_known_seed_signs_the_known_answers)
{
    VECTORS("checkpoint", vs);
    char path[] = "/tmp/dss-kat-key-XXXXXX", err[256];
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    const char *seed = str(cJSON_GetArrayItem(vs, 0), "seed");
    ASSERT(write(fd, seed, strlen(seed)) == (ssize_t)strlen(seed));
    close(fd);
    signer sg;
    int rc = signer_load(path, 0, &sg, err, sizeof err);
    unlink(path);
    if (rc != 0) TEST_FAIL_("signer_load: %s", err);
    const cJSON *v;
    cJSON_ArrayForEach(v, vs) {
        ASSERT_EQ_STR(sg.pk_hex, str(v, "public_key"));
        char sig[SIGNER_SIG_HEX];
        const char *msg = str(v, "message");
        signer_sign(&sg, (const uint8_t *)msg, strlen(msg), sig);
        ASSERT_EQ_STR(sig, str(v, "signature"));
    }
    signer_wipe(&sg);
    cJSON_Delete(all_);
}

TEST_MAIN(
    TEST_ENTRY(entry_hash_matches_every_known_answer)
    TEST_ENTRY(entry_matches_its_known_hash_only_at_its_seq)
    TEST_ENTRY(every_checkpoint_known_answer_verifies)
    TEST_ENTRY(checkpoint_digest_matches_every_known_answer)
    TEST_ENTRY(signer_from_a_known_seed_signs_the_known_answers)
)
