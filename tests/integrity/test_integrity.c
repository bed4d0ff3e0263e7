/*
** test_integrity.c: the tamper-evidence promise, tested against the real
** binary and a real database file.
**
** Each case fills a log through the MCP server ($DSS_BIN), tampers with the
** database the way an attacker holding the file would (the sqlite3 command
** line, dropping the append-only triggers first), then runs `verify` and
** checks that the right kind of problem is reported at the right seq and
** that the exit code says so (0 intact, 1 tampered, 2 usage or I/O).
**
** Every log_operation call writes the entry asked for and the server's own
** record of the call, so N calls make 2N entries; the cases below read
** seqs and counts from the database rather than relying on that.
*/
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "store/chain.h"
#include "test.h"

/* ---- helpers ---- */

#define NEW_FX(f)                                                           \
    fx *f = fx_new();                                                       \
    if (!f) TEST_FAIL_("cannot make a fixture")

#define FILL(f, calls, interval)                                            \
    do {                                                                    \
        if (fx_fill((f), (calls), (interval)) != 0)                         \
            TEST_FAIL_("filling the log failed: %s", (f)->last_err);        \
    } while (0)

#define SQL_OK(f, sql)                                                      \
    do {                                                                    \
        if (fx_sql((f), (sql), NULL, NULL) != 0)                            \
            TEST_FAIL_("sqlite3 failed: %s", (f)->last_err);                \
    } while (0)

#define EXPECT_PROBLEM(f, r, seq, kind)                                     \
    do {                                                                    \
        if (!fx_has_problem((r), (seq), (kind)))                            \
            TEST_FAIL_("expected a '%s' problem at seq %lld; problems: %s", \
                       (kind), (long long)(seq), fx_problems((f), (r)));    \
    } while (0)

#define EXPECT_ONLY(f, r, kind)                                             \
    do {                                                                    \
        if (!fx_all_problems((r), (kind)))                                  \
            TEST_FAIL_("expected only '%s' problems; problems: %s", (kind), \
                       fx_problems((f), (r)));                              \
    } while (0)

/* verify must say "tampered": exit 1, ok false. */
#define EXPECT_TAMPERED(f, rc, r)                                           \
    do {                                                                    \
        if ((rc) != 1 || !(r) || fx_report_ok(r))                           \
            TEST_FAIL_("verify should report tampering (exit 1), got exit " \
                       "%d; problems: %s", (rc), fx_problems((f), (r)));    \
    } while (0)

#define EXPECT_INTACT(f, rc, r)                                             \
    do {                                                                    \
        if ((rc) != 0 || !(r) || !fx_report_ok(r) || fx_n_problems(r) != 0) \
            TEST_FAIL_("verify should pass (exit 0), got exit %d; "         \
                       "problems: %s", (rc), fx_problems((f), (r)));        \
    } while (0)

static long long count_entries(fx *f)
{
    return fx_sql_int(f, "SELECT count(*) FROM audit_log;");
}

static long long head_seq(fx *f)
{
    return fx_sql_int(f, "SELECT coalesce(max(seq), 0) FROM audit_log;");
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Every column of audit_log except seq, for the swap. */
static const char *const entry_columns =
    "id, event_type, operation_name, operation_id, user_id, project_id, args,"
    " result, error, before_state, after_state, created_at, client, prev_hash, hash";

/* SQL that swaps the whole content (all but seq) of entries a and b. */
static const char *swap_sql(fx *f, long long a, long long b)
{
    return fx_fmt(f,
                  "DROP TRIGGER audit_log_no_update;\n"
                  "CREATE TEMP TABLE saved AS SELECT * FROM audit_log WHERE seq IN (%lld, %lld);\n"
                  /* ids are UNIQUE: move them aside first */
                  "UPDATE audit_log SET id = 'swap-' || id WHERE seq IN (%lld, %lld);\n"
                  "UPDATE audit_log SET (%s) = (SELECT %s FROM saved WHERE saved.seq ="
                  " CASE audit_log.seq WHEN %lld THEN %lld ELSE %lld END)"
                  " WHERE seq IN (%lld, %lld);\n",
                  a, b, a, b, entry_columns, entry_columns, a, b, a, a, b);
}

/*
** The attacker who knows the hash algorithm: after editing entry `from`,
** recompute prev_hash and hash of it and every later entry so the chain is
** self-consistent again.  Uses the server's own chain_entry_hash, so the
** only thing that can still give the edit away is a signed checkpoint.
*/
static int recompute_chain(const char *db, long long from, char *err, size_t errlen)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    long long *seqs = NULL;
    uint8_t (*prevs)[CHAIN_HASH_BYTES] = NULL, (*hashes)[CHAIN_HASH_BYTES] = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    if (chain_init() != 0) {
        snprintf(err, errlen, "libsodium did not start");
        return -1;
    }
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) goto db_fail;
    if (sqlite3_exec(h, "DROP TRIGGER IF EXISTS audit_log_no_update", NULL, NULL, NULL)
        != SQLITE_OK)
        goto db_fail;
    if (sqlite3_prepare_v2(h,
                           "SELECT seq, id, event_type, operation_name, operation_id,"
                           " user_id, project_id, args, result, error, before_state,"
                           " after_state, created_at, client, prev_hash"
                           " FROM audit_log WHERE seq >= ? ORDER BY seq",
                           -1, &sel, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_int64(sel, 1, from);
    int s;
    while ((s = sqlite3_step(sel)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            long long *ns = realloc(seqs, cap * sizeof *ns);
            if (ns) seqs = ns;
            void *np = realloc(prevs, cap * sizeof *prevs);
            if (np) prevs = np;
            void *nh = realloc(hashes, cap * sizeof *hashes);
            if (nh) hashes = nh;
            if (!ns || !np || !nh) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
        }
#define TXT(i) ((const char *)sqlite3_column_text(sel, (i)))
        chain_fields f = {
            .seq = sqlite3_column_int64(sel, 0), .id = TXT(1), .event_type = TXT(2),
            .operation_name = TXT(3), .operation_id = TXT(4), .user_id = TXT(5),
            .project_id = TXT(6), .args = TXT(7), .result = TXT(8), .error = TXT(9),
            .before_state = TXT(10), .after_state = TXT(11), .created_at = TXT(12),
            .client = TXT(13),
        };
#undef TXT
        seqs[n] = f.seq;
        if (n == 0) {
            /* The first rewritten entry keeps its (untouched) link. */
            if (sqlite3_column_bytes(sel, 14) != CHAIN_HASH_BYTES) {
                snprintf(err, errlen, "entry %lld has no 32-byte prev_hash", (long long)f.seq);
                goto done;
            }
            memcpy(prevs[0], sqlite3_column_blob(sel, 14), CHAIN_HASH_BYTES);
        } else {
            memcpy(prevs[n], hashes[n - 1], CHAIN_HASH_BYTES);
        }
        chain_entry_hash(&f, prevs[n], hashes[n]);
        n++;
    }
    if (s != SQLITE_DONE) goto db_fail;
    if (sqlite3_prepare_v2(h, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?",
                           -1, &upd, NULL) != SQLITE_OK ||
        sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto db_fail;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_blob(upd, 1, prevs[i], CHAIN_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(upd, 2, hashes[i], CHAIN_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(upd, 3, seqs[i]);
        if (sqlite3_step(upd) != SQLITE_DONE) goto db_fail;
        sqlite3_reset(upd);
    }
    if (sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto db_fail;
    rc = 0;
    goto done;
db_fail:
    snprintf(err, errlen, "sqlite: %s", h ? sqlite3_errmsg(h) : "cannot open");
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    sqlite3_close(h);
    free(seqs);
    free(prevs);
    free(hashes);
    return rc;
}

/* `$DSS_BIN checkpoint` into <dir>/<name>; the exit code. */
static int export_checkpoint(fx *f, const char *db, const char *name)
{
    return fx_run(f, fx_fmt(f, "%s checkpoint --db %s >%s", fx_q(f, f->bin),
                            fx_q(f, db ? db : f->db), fx_q(f, fx_path(f, name))),
                  NULL, NULL);
}

/* ---- an untouched log ---- */

TEST(untouched_100k_entries_verify_clean)
{
    NEW_FX(f);
    const long long target = 100000;
    double t0 = now_s();
    /* 50,000 calls make 100,000 entries; top up should that ratio change. */
    long calls = 50000;
    long long n = 0;
    for (int round = 0; round < 4 && n < target; round++) {
        FILL(f, calls, 0);
        long long before = n;
        n = count_entries(f);
        ASSERT(n > before);
        long per_call = (long)((n - before) / calls);
        if (per_call < 1) per_call = 1;
        calls = (long)((target - n + per_call - 1) / per_call);
    }
    double t1 = now_s();
    ASSERT(n >= target);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    double t2 = now_s();
    fprintf(stderr, "filled %lld entries in %.2f s; verified in %.2f s\n", n, t1 - t0,
            t2 - t1);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n);
    ASSERT_EQ_INT(fx_report_num(r, "checkpoints_checked"),
                  fx_sql_int(f, "SELECT count(*) FROM checkpoints;"));
    ASSERT(fx_report_num(r, "checkpoints_checked") >= 1);
    const cJSON *head = cJSON_GetObjectItemCaseSensitive(r, "head");
    ASSERT_EQ_INT(fx_report_num(head, "seq"), head_seq(f));
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(head, "hash");
    ASSERT(cJSON_IsString(hash));
    ASSERT_EQ_STR(hash->valuestring,
                  fx_sql_text(f, "SELECT lower(hex(hash)) FROM audit_log"
                                 " ORDER BY seq DESC LIMIT 1;"));
    fx_free(f);
}

/* ---- entries changed ---- */

TEST(one_byte_of_args_changed_is_modified)
{
    NEW_FX(f);
    FILL(f, 30, 10);
    const char *before = fx_sql_text(f, "SELECT args FROM audit_log WHERE seq = 17;");
    ASSERT(before && strstr(before, "abcdefgh"));
    ASSERT_EQ_INT(fx_sql_int(f, "DROP TRIGGER audit_log_no_update;"
                                "UPDATE audit_log SET args = replace(args, 'abcdefgh',"
                                " 'abcdefgX') WHERE seq = 17; SELECT changes();"),
                  1);
    const char *after = fx_sql_text(f, "SELECT args FROM audit_log WHERE seq = 17;");
    ASSERT(after && strlen(after) == strlen(before) && strcmp(after, before) != 0);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 17, "modified");
    ASSERT_EQ_INT(fx_n_problems(r), 1);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), count_entries(f));
    fx_free(f);
}

TEST(created_at_changed_is_modified)
{
    NEW_FX(f);
    FILL(f, 30, 10);
    SQL_OK(f, "DROP TRIGGER audit_log_no_update;"
              "UPDATE audit_log SET created_at = '2020-01-01T00:00:00.000000Z'"
              " WHERE seq = 23;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 23, "modified");
    ASSERT_EQ_INT(fx_n_problems(r), 1);
    fx_free(f);
}

TEST(other_stored_fields_changed_are_modified)
{
    /* Fields the hash must cover besides args and created_at: a NULL made
    ** "", a user renamed, the client identity changed, the hash itself. */
    static const char *const edits[][2] = {
        {"5", "UPDATE audit_log SET error = '' WHERE seq = 5;"},
        {"8", "UPDATE audit_log SET user_id = 'someone-else' WHERE seq = 8;"},
        {"11", "UPDATE audit_log SET client = NULL WHERE seq = 11;"},
        {"14", "UPDATE audit_log SET result = '{\"ok\":false}' WHERE seq = 14;"},
        {"20", "UPDATE audit_log SET hash = randomblob(32) WHERE seq = 20;"},
    };
    NEW_FX(f);
    FILL(f, 15, 100);
    SQL_OK(f, "DROP TRIGGER audit_log_no_update;");
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) SQL_OK(f, edits[i][1]);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++)
        EXPECT_PROBLEM(f, r, atoll(edits[i][0]), "modified");
    EXPECT_ONLY(f, r, "modified");
    fx_free(f);
}

/* ---- every hashed field, one by one ---- */

/* Change one stored field of the entry at seq 7 (a NULL becomes "", any
** text gains a byte) and expect exactly one problem: `modified` at seq 7.
** Dropping the field from the entry hash makes its case fail. */
/* Set column of entry 7 to the SQL expression value and expect verify to
** report exactly that entry as modified. */
static void tamper_field_to(const char *column, const char *value, int *test_failed_)
{
    NEW_FX(f);
    FILL(f, 10, 100);
    SQL_OK(f, fx_fmt(f, "DROP TRIGGER audit_log_no_update;"
                        "UPDATE audit_log SET %s = %s WHERE seq = 7;", column, value));
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 7, "modified");
    if (fx_n_problems(r) != 1)
        TEST_FAIL_("%s changed: expected one problem, got %s", column, fx_problems(f, r));
    fx_free(f);
}

/* One byte more in a field, or "" where it was NULL. */
static void tamper_one_field(const char *column, int *test_failed_)
{
    char value[160];
    snprintf(value, sizeof value, "CASE WHEN %s IS NULL THEN '' ELSE %s || ' ' END",
             column, column);
    tamper_field_to(column, value, test_failed_);
}

TEST(field_id_changed_is_modified) { tamper_one_field("id", test_failed_); }
TEST(field_event_type_changed_is_modified) { tamper_one_field("event_type", test_failed_); }
TEST(field_operation_name_changed_is_modified) { tamper_one_field("operation_name", test_failed_); }
TEST(field_operation_id_changed_is_modified) { tamper_one_field("operation_id", test_failed_); }
TEST(field_user_id_changed_is_modified) { tamper_one_field("user_id", test_failed_); }
TEST(field_project_id_changed_is_modified) { tamper_one_field("project_id", test_failed_); }
TEST(field_args_changed_is_modified) { tamper_one_field("args", test_failed_); }
TEST(field_result_changed_is_modified) { tamper_one_field("result", test_failed_); }
TEST(field_error_changed_is_modified) { tamper_one_field("error", test_failed_); }
TEST(field_before_state_changed_is_modified) { tamper_one_field("before_state", test_failed_); }
TEST(field_after_state_changed_is_modified) { tamper_one_field("after_state", test_failed_); }
TEST(field_created_at_changed_is_modified) { tamper_one_field("created_at", test_failed_); }
TEST(field_client_changed_is_modified) { tamper_one_field("client", test_failed_); }
/* Encoding v2's columns: set on an entry written without them, each turns
** the entry into a v2 entry whose stored v1 hash no longer matches. */
TEST(field_server_set_is_modified)
{
    /* JSON, as the server-name index requires of the column. */
    tamper_field_to("server", "'{\"name\":\"forged\"}'", test_failed_);
}
TEST(field_session_id_set_is_modified) { tamper_one_field("session_id", test_failed_); }
TEST(field_duration_ms_set_is_modified) { tamper_one_field("duration_ms", test_failed_); }
TEST(field_completes_set_is_modified) { tamper_one_field("completes", test_failed_); }
TEST(field_cwd_set_is_modified) { tamper_one_field("cwd", test_failed_); }

/* ---- entries removed ---- */

TEST(middle_entry_deleted_is_missing)
{
    NEW_FX(f);
    FILL(f, 30, 10);
    long long n = count_entries(f);
    SQL_OK(f, "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 25;");
    ASSERT_EQ_INT(count_entries(f), n - 1);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 25, "missing");
    EXPECT_ONLY(f, r, "missing");
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n - 1);
    fx_free(f);
}

TEST(middle_range_deleted_is_missing)
{
    NEW_FX(f);
    FILL(f, 30, 10);
    SQL_OK(f, "DROP TRIGGER audit_log_no_delete;"
              "DELETE FROM audit_log WHERE seq BETWEEN 30 AND 34;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 30, "missing");
    EXPECT_ONLY(f, r, "missing");
    ASSERT_EQ_INT(fx_n_problems(r), 1);
    fx_free(f);
}

/* Two tamperings side by side: a gap, then an edited entry.  Both must be
** reported, not only the edit. */
TEST(gap_then_modified_entry_reports_both)
{
    NEW_FX(f);
    FILL(f, 15, 1000);
    SQL_OK(f, "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_no_update;"
              "DELETE FROM audit_log WHERE seq IN (11, 12);"
              "UPDATE audit_log SET args = replace(args, 'abcdefgh', 'abcdefgX')"
              " WHERE seq = 13;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 13, "modified");
    EXPECT_PROBLEM(f, r, 11, "missing");
    fx_free(f);
}

TEST(newest_entries_deleted_caught_by_exported_checkpoint)
{
    NEW_FX(f);
    FILL(f, 20, 1000);
    long long head = head_seq(f);
    ASSERT(head > 10);
    ASSERT_EQ_INT(export_checkpoint(f, NULL, "cp.json"), 0);
    cJSON *cp = fx_load_json(f, fx_path(f, "cp.json"));
    ASSERT(cp);
    ASSERT_EQ_INT(fx_report_num(cp, "seq"), head);

    /* The attacker removes the newest four entries. */
    SQL_OK(f, fx_fmt(f, "DROP TRIGGER audit_log_no_delete;"
                        "DELETE FROM audit_log WHERE seq > %lld;", head - 4));
    const char *extra = fx_fmt(f, "--checkpoint %s", fx_q(f, fx_path(f, "cp.json")));
    cJSON *r;
    int rc = fx_verify(f, extra, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, head, "truncated");
    EXPECT_ONLY(f, r, "truncated");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "head");
    ASSERT_EQ_INT(fx_report_num(h, "seq"), head - 4);

    /* The internal checkpoints (the shutdown one, and the one `checkpoint`
    ** stored while exporting) vouch for the old head too. */
    rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, head, "truncated");

    /* A thorough attacker also removes the checkpoints past the new end:
    ** then only the checkpoint kept elsewhere can tell. */
    SQL_OK(f, fx_fmt(f, "DROP TRIGGER checkpoints_no_delete;"
                        "DELETE FROM checkpoints WHERE seq > %lld;", head - 4));
    rc = fx_verify(f, NULL, &r);
    fprintf(stderr, "note: with the newest checkpoints also deleted, verify without "
                    "--checkpoint exits %d (ok=%d): internal checkpoints %s\n",
            rc, r ? fx_report_ok(r) : -1,
            rc == 0 ? "cannot catch it" : "still catch it");
    rc = fx_verify(f, extra, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, head, "truncated");
    fx_free(f);
}

/* ---- entries added or moved ---- */

TEST(forged_entry_inserted_is_inserted)
{
    NEW_FX(f);
    FILL(f, 20, 1000);
    long long head = head_seq(f);
    SQL_OK(f, fx_fmt(f,
                     "INSERT INTO audit_log (seq, id, event_type, operation_name,"
                     " user_id, project_id, args, created_at, prev_hash, hash)"
                     " VALUES (%lld, '00000000-0000-4000-8000-000000000001', 'tool_call',"
                     " 'forged_op', 't', 'proj', '{}', '2026-01-01T00:00:00.000000Z',"
                     " randomblob(32), randomblob(32));",
                     head + 1));
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, head + 1, "inserted");
    ASSERT_EQ_INT(fx_n_problems(r), 1);
    fx_free(f);
}

/* A forged row with a fresh seq beyond a gap: the gap is missing entries,
** and the row (whose hash and link are both made up) was inserted. */
TEST(forged_entry_after_a_gap_is_inserted)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    long long head = head_seq(f);
    SQL_OK(f, fx_fmt(f,
                     "INSERT INTO audit_log (seq, id, event_type, operation_name,"
                     " user_id, project_id, args, created_at, prev_hash, hash)"
                     " VALUES (%lld, '00000000-0000-4000-8000-000000000005', 'tool_call',"
                     " 'forged_op', 't', 'proj', '{}', '2026-01-01T00:00:00.000000Z',"
                     " randomblob(32), randomblob(32));",
                     head + 5));
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, head + 5, "inserted");
    EXPECT_PROBLEM(f, r, head + 1, "missing");
    fx_free(f);
}

/* A forged row verify never walks: seq 0 lies before genesis, yet queries
** and get_audit_entry serve it like any other entry. */
TEST(forged_entry_before_genesis_is_inserted)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    SQL_OK(f, "INSERT INTO audit_log (seq, id, event_type, operation_name, user_id,"
              " project_id, args, created_at, prev_hash, hash) VALUES (0,"
              " '00000000-0000-4000-8000-000000000000', 'credential_delete',"
              " 'forged_op', 'alice', 'proj', '{}', '2026-01-01T00:00:00.000000Z',"
              " randomblob(32), randomblob(32));");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 0, "inserted");
    fx_free(f);
}

/* The same below a retention anchor: seqs that were pruned must stay empty. */
TEST(forged_entry_below_retention_anchor_is_inserted)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    const char *a = fx_path(f, "a.jsonl");
    ASSERT_EQ_INT(fx_run(f, fx_fmt(f, "%s prune --db %s --before 2999-01-01 --archive %s",
                                   fx_q(f, f->bin), fx_q(f, f->db), fx_q(f, a)),
                         NULL, NULL),
                  0);
    FILL(f, 5, 1000);
    SQL_OK(f, "INSERT INTO audit_log (seq, id, event_type, operation_name, user_id,"
              " project_id, args, created_at, prev_hash, hash) VALUES (3,"
              " '00000000-0000-4000-8000-000000000003', 'credential_delete',"
              " 'forged_op', 'alice', 'proj', '{}', '2026-01-01T00:00:00.000000Z',"
              " randomblob(32), randomblob(32));");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 3, "inserted");
    rc = fx_verify(f, fx_fmt(f, "--archive %s", fx_q(f, a)), &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 3, "inserted");
    fx_free(f);
}

TEST(oldest_entries_deleted_is_missing)
{
    NEW_FX(f);
    FILL(f, 10, 1000);
    /* Even with every checkpoint gone too: the chain starts at seq 1. */
    SQL_OK(f, "DROP TRIGGER audit_log_no_delete; DROP TRIGGER checkpoints_no_delete;"
              "DELETE FROM audit_log WHERE seq <= 4; DELETE FROM checkpoints;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 1, "missing");
    fx_free(f);
}

TEST(adjacent_entries_swapped_is_reordered)
{
    NEW_FX(f);
    FILL(f, 30, 1000);
    const char *id20 = fx_sql_text(f, "SELECT id FROM audit_log WHERE seq = 20;");
    SQL_OK(f, swap_sql(f, 20, 21));
    ASSERT_EQ_STR(fx_sql_text(f, "SELECT id FROM audit_log WHERE seq = 21;"), id20);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 20, "reordered");
    EXPECT_ONLY(f, r, "reordered");
    fx_free(f);
}

TEST(distant_entries_swapped_is_reordered)
{
    NEW_FX(f);
    FILL(f, 30, 1000);
    const char *id10 = fx_sql_text(f, "SELECT id FROM audit_log WHERE seq = 10;");
    SQL_OK(f, swap_sql(f, 10, 50));
    ASSERT_EQ_STR(fx_sql_text(f, "SELECT id FROM audit_log WHERE seq = 50;"), id10);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 10, "reordered");
    EXPECT_PROBLEM(f, r, 50, "reordered");
    EXPECT_ONLY(f, r, "reordered");
    fx_free(f);
}

/* ---- the chain rewritten ---- */

/* Whether every problem of the report is of kind a or b. */
static int only_kinds(const cJSON *r, const char *a, const char *b)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r, "problems")) {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "kind"));
        if (!k || (strcmp(k, a) != 0 && strcmp(k, b) != 0)) return 0;
    }
    return 1;
}

TEST(recomputed_chain_caught_by_signed_checkpoints)
{
    NEW_FX(f);
    /* Three server runs: each leaves a shutdown checkpoint at its head. */
    FILL(f, 10, 1000);
    FILL(f, 10, 1000);
    ASSERT_EQ_INT(export_checkpoint(f, NULL, "cp.json"), 0);
    FILL(f, 10, 1000);
    cJSON *cp = fx_load_json(f, fx_path(f, "cp.json"));
    ASSERT(cp);
    long long cp_seq = fx_report_num(cp, "seq");
    long long edited = 15;
    ASSERT(cp_seq > edited);
    long long later_cps =
        fx_sql_int(f, fx_fmt(f, "SELECT count(*) FROM checkpoints WHERE seq >= %lld;", edited));
    ASSERT(later_cps >= 2);

    SQL_OK(f, fx_fmt(f, "DROP TRIGGER audit_log_no_update;"
                        "UPDATE audit_log SET args = replace(args, 'abcdefgh', 'ABCDEFGH')"
                        " WHERE seq = %lld;", edited));
    char err[256];
    if (recompute_chain(f->db, edited, err, sizeof err) != 0)
        TEST_FAIL_("recompute: %s", err);

    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    /* The chain itself is consistent again: the signed heads object, and
    ** the Merkle tree kept beside the chain names the first leaf changed. */
    ASSERT(!fx_has_problem(r, edited, "modified"));
    EXPECT_PROBLEM(f, r, edited, "tree");
    ASSERT(only_kinds(r, "modified", "tree"));
    const char *seqs = fx_sql_text(
        f, fx_fmt(f, "SELECT group_concat(seq) FROM (SELECT DISTINCT seq FROM checkpoints"
                     " WHERE seq >= %lld ORDER BY seq);", edited));
    ASSERT(seqs);
    for (const char *p = seqs; *p;) {
        long long s = strtoll(p, (char **)&p, 10);
        EXPECT_PROBLEM(f, r, s, "modified");
        if (*p == ',') p++;
    }

    /* The attacker also drops every checkpoint from the edit on: the tree
    ** and the exported checkpoint still catch the rewrite. */
    SQL_OK(f, fx_fmt(f, "DROP TRIGGER checkpoints_no_delete;"
                        "DELETE FROM checkpoints WHERE seq >= %lld;", edited));
    rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, edited, "tree");
    rc = fx_verify(f, fx_fmt(f, "--checkpoint %s", fx_q(f, fx_path(f, "cp.json"))), &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, cp_seq, "modified");
    ASSERT(only_kinds(r, "modified", "tree"));
    fx_free(f);
}

/* ---- checkpoints tampered with ---- */

TEST(checkpoint_signature_altered_is_bad_signature)
{
    NEW_FX(f);
    FILL(f, 10, 1000);
    FILL(f, 10, 1000);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT count(*) FROM checkpoints;"), 2);
    long long s1 = fx_sql_int(f, "SELECT seq FROM checkpoints WHERE number = 1;");
    SQL_OK(f, "DROP TRIGGER checkpoints_no_update;"
              "UPDATE checkpoints SET signature = CASE substr(signature, 1, 1)"
              " WHEN '0' THEN '1' ELSE '0' END || substr(signature, 2) WHERE number = 1;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, s1, "bad_signature");
    EXPECT_ONLY(f, r, "bad_signature");
    ASSERT_EQ_INT(fx_n_problems(r), 1);
    fx_free(f);
}

TEST(checkpoint_head_altered_is_bad_signature)
{
    /* Pointing a checkpoint at a rewritten head breaks its signature. */
    NEW_FX(f);
    FILL(f, 10, 1000);
    long long s1 = fx_sql_int(f, "SELECT seq FROM checkpoints WHERE number = 1;");
    SQL_OK(f, "DROP TRIGGER checkpoints_no_update;"
              "UPDATE checkpoints SET head_hash = lower(hex(randomblob(32)))"
              " WHERE number = 1;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, s1, "bad_signature");
    fx_free(f);
}

TEST(external_checkpoint_edited_is_bad_signature)
{
    NEW_FX(f);
    FILL(f, 10, 1000);
    ASSERT_EQ_INT(export_checkpoint(f, NULL, "cp.json"), 0);
    cJSON *cp = fx_load_json(f, fx_path(f, "cp.json"));
    ASSERT(cp);
    /* Claim an earlier head: what someone covering a truncation would do. */
    long long seq = fx_report_num(cp, "seq");
    cJSON_ReplaceItemInObjectCaseSensitive(cp, "seq", cJSON_CreateNumber((double)(seq - 2)));
    char *text = cJSON_Print(cp);
    ASSERT(text);
    FILE *fp = fopen(fx_path(f, "cp-edited.json"), "w");
    ASSERT(fp);
    fputs(text, fp);
    fclose(fp);
    cJSON_free(text);
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--checkpoint %s", fx_q(f, fx_path(f, "cp-edited.json"))),
                       &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, seq - 2, "bad_signature");
    fx_free(f);
}

TEST(checkpoint_deleted_is_detected)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    FILL(f, 5, 1000);
    FILL(f, 5, 1000);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT count(*) FROM checkpoints;"), 3);
    SQL_OK(f, "DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints WHERE number = 2;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, -1, "missing");
    EXPECT_ONLY(f, r, "missing");
    ASSERT_EQ_INT(fx_report_num(r, "checkpoints_checked"), 2);
    fx_free(f);
}

TEST(first_checkpoint_deleted_is_detected)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    FILL(f, 5, 1000);
    SQL_OK(f, "DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints WHERE number = 1;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, -1, "missing");
    fx_free(f);
}

/* ---- the Merkle tree and the checkpoint notes ---- */

/* One stored hash of the tree changed (a proof made from it would be
** forged): named by index and the entry whose append stored it. */
TEST(merkle_tree_hash_changed_is_a_tree_problem)
{
    NEW_FX(f);
    FILL(f, 20, 1000);
    /* Index 36: the subtree entry 20 completes (level 2: entries 17..20). */
    SQL_OK(f, "DROP TRIGGER tree_no_update; UPDATE tree SET hash = randomblob(32)"
              " WHERE idx = 36;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 20, "tree");
    EXPECT_ONLY(f, r, "tree");
    fx_free(f);
}

/* Stored hashes removed from the tree's end: the tree no longer holds the
** newest entries' leaves. */
TEST(merkle_tree_rows_deleted_are_a_tree_problem)
{
    NEW_FX(f);
    FILL(f, 12, 1000);
    SQL_OK(f, "DROP TRIGGER tree_no_delete; DELETE FROM tree WHERE idx >= 17;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    ASSERT(fx_has_problem(r, -1, "tree"));
    EXPECT_ONLY(f, r, "tree");
    fx_free(f);
}

/* Every checkpoint carries its note; one whose text was changed (another
** root) no longer verifies under the log's key. */
TEST(checkpoint_note_changed_is_a_bad_signature)
{
    NEW_FX(f);
    FILL(f, 6, 1000);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT count(*) FROM checkpoints WHERE note IS NULL;"), 0);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT instr(note, char(10) || 'chain-head ') > 0"
                                " FROM checkpoints ORDER BY number LIMIT 1;"), 1);
    long long seq = fx_sql_int(f, "SELECT seq FROM checkpoints WHERE number = 1;");
    /* Its chain-head line names another hash. */
    SQL_OK(f, "DROP TRIGGER checkpoints_no_update; UPDATE checkpoints"
              " SET note = replace(note, 'chain-head ', 'chain-head 0') WHERE number = 1;");
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, seq, "bad_signature");
    EXPECT_ONLY(f, r, "bad_signature");
    fx_free(f);
}

/* ---- the triggers ---- */

TEST(update_and_delete_fail_while_triggers_stand)
{
    static const char *const stmts[] = {
        "UPDATE audit_log SET args = '{}' WHERE seq = 3;",
        "DELETE FROM audit_log WHERE seq = 3;",
        "DELETE FROM audit_log;",
        "UPDATE checkpoints SET seq = 1;",
        "DELETE FROM checkpoints;",
    };
    NEW_FX(f);
    FILL(f, 5, 1000);
    long long n = count_entries(f);
    long long ncp = fx_sql_int(f, "SELECT count(*) FROM checkpoints;");
    ASSERT(n > 0 && ncp > 0);
    for (size_t i = 0; i < sizeof stmts / sizeof *stmts; i++) {
        const char *err;
        int rc = fx_sql(f, stmts[i], NULL, &err);
        if (rc == 0) TEST_FAIL_("'%s' succeeded with the triggers in place", stmts[i]);
        ASSERT_CONTAINS(err, "append-only");
    }
    ASSERT_EQ_INT(count_entries(f), n);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT count(*) FROM checkpoints;"), ncp);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    fx_free(f);
}

/* The delete trigger lets retention through while meta holds a
** 'retention' row, and any SQL user can write that row. */
TEST(delete_fails_even_with_retention_flag_in_meta)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    long long n = count_entries(f);
    const char *err;
    int rc = fx_sql(f, "INSERT INTO meta (key, value) VALUES ('retention', '1');"
                       "DELETE FROM audit_log WHERE seq = 3;"
                       "DELETE FROM meta WHERE key = 'retention';",
                    NULL, &err);
    if (rc == 0 || count_entries(f) != n)
        TEST_FAIL_("a DELETE went through the standing triggers after inserting "
                   "meta.retention (sqlite3 exit %d, %lld of %lld entries left)",
                   rc, count_entries(f), n);
    ASSERT_CONTAINS(err, "append-only");
    fx_free(f);
}

/* ---- keys ---- */

TEST(verify_with_another_public_key_is_bad_signature)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    const char *other = fx_path(f, "other.key");
    ASSERT_EQ_INT(fx_run(f, fx_fmt(f, "%s public-key --key %s", fx_q(f, f->bin),
                                   fx_q(f, other)), NULL, NULL),
                  0);
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--public-key %s", fx_q(f, fx_fmt(f, "%s.pub", other))),
                       &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, -1, "bad_signature");
    EXPECT_ONLY(f, r, "bad_signature");
    /* The right key passes. */
    rc = fx_verify(f, fx_fmt(f, "--public-key %s", fx_q(f, fx_fmt(f, "%s.pub", f->key))), &r);
    EXPECT_INTACT(f, rc, r);
    fx_free(f);
}

/* ---- logs: --log, recorded keys, --trusted-keys ---- */

static const char *meta(fx *f, const char *key)
{
    return fx_sql_text(f, fx_fmt(f, "SELECT value FROM meta WHERE key = '%s';", key));
}

/* The hex public key of the key file at path (made when missing). */
static const char *public_key_of(fx *f, const char *path)
{
    const char *out;
    if (fx_run(f, fx_fmt(f, "%s public-key --key %s", fx_q(f, f->bin), fx_q(f, path)), &out,
               NULL) != 0 || strlen(out) < 64)
        return NULL;
    return fx_fmt(f, "%.64s", out);
}

/* Write text to <dir>/<name>; its path, or NULL. */
static const char *write_file(fx *f, const char *name, const char *text)
{
    const char *path = fx_path(f, name);
    FILE *o = fopen(path, "w");
    if (!o) return NULL;
    fputs(text, o);
    return fclose(o) == 0 ? path : NULL;
}

/* Whether a problem of kind names the log (its name and id fields) and
** its detail contains `words` (NULL: any detail). */
static int problem_names_log(const cJSON *r, const char *kind, const char *name,
                             const char *id, const char *words)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r, "problems")) {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "kind"));
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "log"));
        const char *i = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "log_id"));
        const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail"));
        if (k && n && i && d && strcmp(k, kind) == 0 && strcmp(n, name) == 0 &&
            strcmp(i, id) == 0 && (!words || strstr(d, words)))
            return 1;
    }
    return 0;
}

TEST(verify_log_option_selects_the_log_by_name_or_id)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    const char *name = meta(f, "log_name"), *id = meta(f, "log_id");
    ASSERT(name && *name && id && strlen(id) == 36);
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--log %s", fx_q(f, name)), &r);
    EXPECT_INTACT(f, rc, r);
    const cJSON *logs = cJSON_GetObjectItemCaseSensitive(r, "logs");
    ASSERT_EQ_INT(cJSON_GetArraySize(logs), 1);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                      cJSON_GetArrayItem(logs, 0), "log_id")), id);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), count_entries(f));
    rc = fx_verify(f, fx_fmt(f, "--log %s", id), &r);
    EXPECT_INTACT(f, rc, r);
    /* A log the store does not hold is a usage error, not tampering. */
    ASSERT_EQ_INT(fx_verify(f, "--log no-such-log", NULL), 2);
    /* A problem names its log, in the JSON and in the line on stderr. */
    SQL_OK(f, "DROP TRIGGER audit_log_no_update;"
              "UPDATE audit_log SET args = replace(args, 'abcdefgh', 'abcdefgX')"
              " WHERE seq = 3;");
    rc = fx_verify(f, fx_fmt(f, "--log %s", fx_q(f, name)), &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 3, "modified");
    if (!problem_names_log(r, "modified", name, id, NULL))
        TEST_FAIL_("the problem does not name log %s (%s): %s", name, id, fx_problems(f, r));
    if (!strstr(f->last_stderr, fx_fmt(f, "log %s (%s) seq 3: modified", name, id)))
        TEST_FAIL_("stderr does not name the log and seq: %s", f->last_stderr);
    fx_free(f);
}

TEST(server_records_its_signing_key_with_the_log)
{
    NEW_FX(f);
    FILL(f, 3, 1000);
    const char *pk = public_key_of(f, f->key);
    ASSERT(pk);
    ASSERT_EQ_STR(meta(f, "public_key"), pk);
    /* A server started with another key warns and keeps working; the
    ** recorded key stays the first one. */
    const char *other = fx_path(f, "other.key");
    ASSERT(public_key_of(f, other));
    const char *in = fx_calls_file(f, "calls.jsonl", 2);
    ASSERT(in);
    const char *out, *err;
    ASSERT_EQ_INT(fx_run(f, fx_fmt(f, "%s --db %s --key %s --actor t <%s", fx_q(f, f->bin),
                                   fx_q(f, f->db), fx_q(f, other), fx_q(f, in)),
                         &out, &err),
                  0);
    if (!strstr(err, "not recorded with the log"))
        TEST_FAIL_("no warning about the other key: %s", err);
    if (strstr(out, "\"isError\":true")) TEST_FAIL_("a write failed: %s", out);
    ASSERT_EQ_STR(meta(f, "public_key"), pk);
    /* Its checkpoint is signed by a key the log does not record. */
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--public-key %s", fx_q(f, fx_fmt(f, "%s.pub", other))),
                       &r);
    EXPECT_TAMPERED(f, rc, r);
    if (!problem_names_log(r, "bad_signature", meta(f, "log_name"), meta(f, "log_id"),
                           "recorded key"))
        TEST_FAIL_("no problem names the recorded key: %s", fx_problems(f, r));
    fx_free(f);
}

TEST(replaced_recorded_key_is_caught)
{
    NEW_FX(f);
    FILL(f, 3, 1000);
    const char *other = public_key_of(f, fx_path(f, "other.key"));
    ASSERT(other);
    SQL_OK(f, fx_fmt(f, "UPDATE meta SET value = '%s' WHERE key = 'public_key';", other));
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_ONLY(f, r, "bad_signature");
    if (!problem_names_log(r, "bad_signature", meta(f, "log_name"), meta(f, "log_id"),
                           "recorded key"))
        TEST_FAIL_("no problem names the recorded key: %s", fx_problems(f, r));
    fx_free(f);
}

TEST(trusted_keys_file_trusts_and_refuses)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    const char *pk = public_key_of(f, f->key);
    const char *other = public_key_of(f, fx_path(f, "other.key"));
    const char *name = meta(f, "log_name"), *id = meta(f, "log_id");
    ASSERT(pk && other && name && id);
    ASSERT(fx_sql_int(f, "SELECT count(*) FROM checkpoints;") >= 1);
    cJSON *r;
    /* The log's key, among comments and another key: intact. */
    const char *good = write_file(f, "good.keys",
                                  fx_fmt(f, "# team keys\n\n%s  # laptop\n%s\n", other, pk));
    ASSERT(good);
    int rc = fx_verify(f, fx_fmt(f, "--trusted-keys %s", fx_q(f, good)), &r);
    EXPECT_INTACT(f, rc, r);
    /* Only another key: every checkpoint refused, naming the log. */
    const char *bad = write_file(f, "bad.keys", fx_fmt(f, "%s\n", other));
    ASSERT(bad);
    rc = fx_verify(f, fx_fmt(f, "--trusted-keys %s", fx_q(f, bad)), &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_ONLY(f, r, "bad_signature");
    if (!problem_names_log(r, "bad_signature", name, id, "not a trusted one"))
        TEST_FAIL_("no refused checkpoint names log %s: %s", name, fx_problems(f, r));
    /* NAME KEY: trusted for that log, by name or by id... */
    const char *named = write_file(f, "named.keys", fx_fmt(f, "%s %s\n", name, pk));
    ASSERT(named);
    rc = fx_verify(f, fx_fmt(f, "--trusted-keys %s", fx_q(f, named)), &r);
    EXPECT_INTACT(f, rc, r);
    const char *by_id = write_file(f, "id.keys", fx_fmt(f, "%s %s\n", id, pk));
    ASSERT(by_id);
    rc = fx_verify(f, fx_fmt(f, "--trusted-keys %s", fx_q(f, by_id)), &r);
    EXPECT_INTACT(f, rc, r);
    /* ...and not for another log's name. */
    const char *elsewhere = write_file(f, "elsewhere.keys", fx_fmt(f, "ci-runner %s\n", pk));
    ASSERT(elsewhere);
    rc = fx_verify(f, fx_fmt(f, "--trusted-keys %s", fx_q(f, elsewhere)), &r);
    EXPECT_TAMPERED(f, rc, r);
    if (!problem_names_log(r, "bad_signature", name, id, "not a trusted one"))
        TEST_FAIL_("no refused checkpoint names log %s: %s", name, fx_problems(f, r));
    /* A malformed file is a usage error naming the line. */
    const char *broken = write_file(f, "broken.keys", fx_fmt(f, "%s\nnot-a-key\n", pk));
    ASSERT(broken);
    ASSERT_EQ_INT(fx_verify(f, fx_fmt(f, "--trusted-keys %s", fx_q(f, broken)), NULL), 2);
    if (!strstr(f->last_stderr, "line 2")) TEST_FAIL_("stderr: %s", f->last_stderr);
    fx_free(f);
}

TEST(checkpoint_json_fields_and_public_key)
{
    NEW_FX(f);
    FILL(f, 3, 1000);
    ASSERT_EQ_INT(export_checkpoint(f, NULL, "cp.json"), 0);
    cJSON *cp = fx_load_json(f, fx_path(f, "cp.json"));
    ASSERT(cp);
    static const char *const strings[] = {"log_id", "head_hash", "created_at",
                                          "prev_checkpoint_hash", "signature",
                                          "public_key"};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cp, strings[i]);
        if (!cJSON_IsString(v) || !*v->valuestring)
            TEST_FAIL_("checkpoint field %s is missing or not a string", strings[i]);
    }
    ASSERT(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cp, "seq")));
#define S(k) (cJSON_GetObjectItemCaseSensitive(cp, k)->valuestring)
    ASSERT_EQ_INT(fx_report_num(cp, "seq"), head_seq(f));
    ASSERT_EQ_STR(S("head_hash"), fx_sql_text(f, "SELECT lower(hex(hash)) FROM audit_log"
                                                 " ORDER BY seq DESC LIMIT 1;"));
    ASSERT_EQ_STR(S("log_id"), fx_sql_text(f, "SELECT value FROM meta WHERE key = 'log_id';"));
    ASSERT_EQ_INT(strlen(S("head_hash")), 64);
    ASSERT_EQ_INT(strlen(S("prev_checkpoint_hash")), 64);
    ASSERT_EQ_INT(strlen(S("signature")), 128);
    ASSERT_EQ_INT(strlen(S("public_key")), 64);
    ASSERT_EQ_INT(strlen(S("created_at")), 27);
    /* Chained to the shutdown checkpoint before it. */
    ASSERT(strspn(S("prev_checkpoint_hash"), "0") != 64);

    const char *out;
    ASSERT_EQ_INT(fx_run(f, fx_fmt(f, "%s public-key", fx_q(f, f->bin)), &out, NULL), 0);
    char *pk = fx_fmt(f, "%s", out);
    pk[strcspn(pk, "\r\n")] = '\0';
    ASSERT_EQ_STR(pk, S("public_key"));
    const char *pub = NULL;
    ASSERT_EQ_INT(fx_run(f, fx_fmt(f, "cat %s", fx_q(f, fx_fmt(f, "%s.pub", f->key))), &pub,
                         NULL),
                  0);
    ASSERT_CONTAINS(pub, S("public_key"));
    /* And the stored copy of it is the same row. */
    ASSERT_EQ_STR(fx_sql_text(f, "SELECT signature FROM checkpoints ORDER BY number DESC"
                                 " LIMIT 1;"),
                  S("signature"));
#undef S
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--checkpoint %s", fx_q(f, fx_path(f, "cp.json"))), &r);
    EXPECT_INTACT(f, rc, r);
    fx_free(f);
}

TEST(key_file_is_mode_0600)
{
    NEW_FX(f);
    FILL(f, 1, 1000);
    struct stat st;
    ASSERT_EQ_INT(stat(f->key, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    ASSERT_EQ_INT(st.st_size > 0, 1);
    ASSERT_EQ_INT(stat(fx_fmt(f, "%s.pub", f->key), &st), 0);
    ASSERT_EQ_INT(stat(f->db, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0077, 0);
    fx_free(f);
}

TEST(checkpoint_from_another_log_is_rejected)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    const char *other = fx_path(f, "other.db");
    if (fx_fill_db(f, other, 5, 1000) != 0) TEST_FAIL_("fill other: %s", f->last_err);
    ASSERT_EQ_INT(export_checkpoint(f, other, "other-cp.json"), 0);
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--checkpoint %s", fx_q(f, fx_path(f, "other-cp.json"))),
                       &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, -1, "bad_signature");
    EXPECT_ONLY(f, r, "bad_signature");
    ASSERT_CONTAINS(fx_problems(f, r), "another log");
    fx_free(f);
}

TEST(checkpoint_rows_copied_from_another_log_are_rejected)
{
    /* An attacker copies another log's valid signed checkpoints in. */
    NEW_FX(f);
    FILL(f, 5, 1000);
    const char *other = fx_path(f, "other.db");
    if (fx_fill_db(f, other, 5, 1000) != 0) TEST_FAIL_("fill other: %s", f->last_err);
    SQL_OK(f, fx_fmt(f, "ATTACH %s AS o; DROP TRIGGER checkpoints_no_delete;"
                        "DELETE FROM checkpoints;"
                        "INSERT INTO checkpoints SELECT * FROM o.checkpoints;",
                     fx_q(f, other)));
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, -1, "bad_signature");
    fx_free(f);
}

/* ---- usage and I/O ---- */

TEST(verify_missing_db_exits_2)
{
    NEW_FX(f);
    const char *missing = fx_path(f, "nope.db");
    cJSON *r;
    ASSERT_EQ_INT(fx_verify_db(f, missing, NULL, &r), 2);
    struct stat st;
    ASSERT(stat(missing, &st) != 0); /* verify never creates a database */
    /* Other usage and I/O errors. */
    FILL(f, 1, 1000);
    ASSERT_EQ_INT(fx_verify(f, fx_fmt(f, "--checkpoint %s",
                                      fx_q(f, fx_path(f, "no-such-cp.json"))), NULL),
                  2);
    ASSERT_EQ_INT(fx_verify(f, fx_fmt(f, "--archive %s",
                                      fx_q(f, fx_path(f, "no-such-archive.jsonl"))), NULL),
                  2);
    ASSERT_EQ_INT(fx_verify(f, "--no-such-option", NULL), 2);
    fx_free(f);
}

TEST(verify_unusable_db_exits_2)
{
    NEW_FX(f);
    const char *garbage = fx_path(f, "garbage.db");
    FILE *fp = fopen(garbage, "w");
    ASSERT(fp);
    fputs("this is not a database\n", fp);
    fclose(fp);
    ASSERT_EQ_INT(fx_verify_db(f, garbage, NULL, NULL), 2);
    const char *foreign = fx_path(f, "foreign.db");
    ASSERT_EQ_INT(fx_run(f, fx_fmt(f, "sqlite3 %s 'CREATE TABLE t (x)'", fx_q(f, foreign)),
                         NULL, NULL),
                  0);
    ASSERT_EQ_INT(fx_verify_db(f, foreign, NULL, NULL), 2);
    fx_free(f);
}

/* Two servers appending to one database at once still form one chain. */
TEST(concurrent_writers_form_one_chain)
{
    NEW_FX(f);
    const char *in1 = fx_calls_file(f, "in1.jsonl", 2000);
    const char *in2 = fx_calls_file(f, "in2.jsonl", 2000);
    ASSERT(in1 && in2);
    /* Each writer acts for its own user, to see whether they interleaved. */
    const char *srv = fx_fmt(f, "%s --db %s --checkpoint-interval 100 --actor",
                             fx_q(f, f->bin), fx_q(f, f->db));
    /* Create the database (and key) first, so the two do not race on that. */
    FILL(f, 1, 1000);
    long long n0 = count_entries(f);
    int rc = fx_run(f, fx_fmt(f, "%s w1 <%s >%s & p1=$!; %s w2 <%s >%s & p2=$!; wait $p1; a=$?;"
                                 " wait $p2; b=$?; exit $((a | b))",
                              srv, fx_q(f, in1), fx_q(f, fx_path(f, "out1")), srv,
                              fx_q(f, in2), fx_q(f, fx_path(f, "out2"))),
                    NULL, NULL);
    if (rc != 0) TEST_FAIL_("a server failed (%d): %s", rc, f->last_stderr);
    long long n = count_entries(f);
    ASSERT(n >= n0 + 4000);
    ASSERT_EQ_INT(head_seq(f), n);
    cJSON *r;
    rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n);
    ASSERT(fx_report_num(r, "checkpoints_checked") >= 2);
    /* (Whether the two really overlapped depends on the scheduler.) */
    fprintf(stderr, "note: the writers' commit groups interleaved %lld times\n",
            fx_sql_int(f, "SELECT count(*) FROM (SELECT user_id AS u,"
                          " lag(user_id) OVER (ORDER BY seq) AS p FROM audit_log)"
                          " WHERE p IN ('w1', 'w2') AND u != p;"));
    fx_free(f);
}

/* Two servers started at once on a database that does not exist yet: both
** must come up on one log (a lost race must not be a failed start). */
TEST(two_servers_starting_on_a_new_db_both_succeed)
{
    NEW_FX(f);
    for (int round = 0; round < 5; round++) {
        const char *db = fx_path(f, fx_fmt(f, "race%d.db", round));
        const char *srv = fx_fmt(f, "%s --db %s --actor t", fx_q(f, f->bin), fx_q(f, db));
        int rc = fx_run(f, fx_fmt(f, "%s & p1=$!; %s & p2=$!; wait $p1; a=$?; wait $p2;"
                                     " b=$?; exit $((a | b))", srv, srv),
                        NULL, NULL);
        if (rc != 0)
            TEST_FAIL_("round %d: a server failed to start (exit %d): %s", round, rc,
                       f->last_stderr);
        cJSON *r;
        rc = fx_verify_db(f, db, NULL, &r);
        EXPECT_INTACT(f, rc, r);
    }
    fx_free(f);
}

/* ---- the signing key created by many processes at once ---- */

enum { RACE_PROCS = 16, RACE_ROUNDS = 50 };

/* Start RACE_PROCS servers on one key path that does not exist yet, each
** with a database of its own, held at a barrier (a pipe none of them can
** read until it is closed) so that they start as nearly together as fork
** allows.  Each serves initialize and create_checkpoint from in_path and
** writes its replies to <dir>/out<i>.  Returns how many exited 0. */
static int start_racers(fx *f, const char *dir, const char *key, const char *in_path)
{
    int gate[2];
    pid_t pids[RACE_PROCS];
    if (pipe(gate) != 0) return -1;
    for (int i = 0; i < RACE_PROCS; i++) {
        const char *db = fx_fmt(f, "%s/db%d.db", dir, i);
        const char *out = fx_fmt(f, "%s/out%d", dir, i);
        pids[i] = fork();
        if (pids[i] == 0) {
            char c;
            close(gate[1]);
            while (read(gate[0], &c, 1) > 0) {}
            int in = open(in_path, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (in < 0 || o < 0) _exit(126);
            dup2(in, 0);
            dup2(o, 1);
            execl(f->bin, f->bin, "--db", db, "--key", key, "--actor", "t", (char *)NULL);
            _exit(127);
        }
    }
    close(gate[0]);
    close(gate[1]); /* every racer is released at once */
    int ok = 0;
    for (int i = 0; i < RACE_PROCS; i++) {
        int status = 0;
        if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            ok++;
    }
    return ok;
}

/* The public key in racer i's create_checkpoint reply (owned by f). */
static const char *racer_public_key(fx *f, const char *dir, int i)
{
    FILE *o = fopen(fx_fmt(f, "%s/out%d", dir, i), "r");
    char line[8192];
    const char *pk = NULL;
    while (o && !pk && fgets(line, sizeof line, o)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "result"), "structuredContent");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(sc, "public_key");
        if (cJSON_IsString(k)) pk = fx_fmt(f, "%s", k->valuestring);
        cJSON_Delete(j);
    }
    if (o) fclose(o);
    return pk;
}

/* Hooks start dozens of servers at once on first use.  Every one must start
** and sign with the one key that was published: none may see a partial key
** file, and none may sign with a key of its own. */
TEST(sixteen_servers_creating_one_signing_key_agree_on_it)
{
    NEW_FX(f);
    const char *in = fx_path(f, "cp.jsonl");
    FILE *w = fopen(in, "w");
    ASSERT(w);
    fprintf(w, "%s\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
               "{\"name\":\"create_checkpoint\",\"arguments\":{}}}\n",
            fx_initialize_line());
    fclose(w);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        const char *dir = fx_path(f, fx_fmt(f, "r%d", round));
        ASSERT_EQ_INT(mkdir(dir, 0700), 0);
        /* Odd rounds: the key's folder exists and is empty; even rounds:
        ** the racers create the folder too. */
        const char *keydir = fx_fmt(f, "%s/keys", dir);
        if (round % 2) ASSERT_EQ_INT(mkdir(keydir, 0700), 0);
        const char *key = fx_fmt(f, "%s/signing.key", keydir);
        int ok = start_racers(f, dir, key, in);
        if (ok != RACE_PROCS)
            TEST_FAIL_("round %d: only %d of %d servers exited 0", round, ok, RACE_PROCS);
        const char *pub = NULL;
        FILE *p = fopen(fx_fmt(f, "%s.pub", key), "r");
        char buf[128] = "";
        if (p && fgets(buf, sizeof buf, p)) pub = strtok(buf, "\n");
        if (p) fclose(p);
        ASSERT(pub && strlen(pub) == 64);
        for (int i = 0; i < RACE_PROCS; i++) {
            const char *pk = racer_public_key(f, dir, i);
            if (!pk || strcmp(pk, pub) != 0)
                TEST_FAIL_("round %d: server %d signed with %s, the key file's public"
                           " key is %s", round, i, pk ? pk : "(no checkpoint)", pub);
        }
        /* Nothing but the key and its public half is left in the folder. */
        DIR *d = opendir(keydir);
        ASSERT(d);
        int names = 0;
        for (struct dirent *e; (e = readdir(d));)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names++;
        closedir(d);
        ASSERT_EQ_INT(names, 2);
    }
    fx_free(f);
}

/* Two live servers taking turns, one call each: neither may extend the
** chain (or the checkpoint chain) from a head it remembers. */
TEST(alternating_writers_form_one_chain)
{
    NEW_FX(f);
    const char *const a1[] = {"--checkpoint-interval", "3", NULL};
    fx_session *s1 = fx_session_start(f, a1);
    ASSERT(s1);
    ASSERT(fx_session_rpc(s1, fx_initialize_line()));
    fx_session *s2 = fx_session_start(f, a1);
    ASSERT(s2);
    ASSERT(fx_session_rpc(s2, fx_initialize_line()));
    for (long i = 1; i <= 20; i++) {
        cJSON *r1 = fx_session_rpc(s1, fx_call_line(f, i));
        ASSERT(r1 && cJSON_GetObjectItemCaseSensitive(r1, "result"));
        cJSON *r2 = fx_session_rpc(s2, fx_call_line(f, 100 + i));
        ASSERT(r2 && cJSON_GetObjectItemCaseSensitive(r2, "result"));
    }
    ASSERT_EQ_INT(fx_session_end(s1), 0);
    ASSERT_EQ_INT(fx_session_end(s2), 0);
    /* The calls really alternated in the log. */
    ASSERT(fx_sql_int(f, "SELECT count(*) FROM (SELECT operation_name AS o, lag(operation_name)"
                         " OVER (ORDER BY seq) AS p FROM audit_log WHERE operation_name"
                         " LIKE 'op!_%' ESCAPE '!') WHERE length(o) != length(p);") >= 30);
    long long n = count_entries(f);
    ASSERT_EQ_INT(head_seq(f), n);
    ASSERT(fx_sql_int(f, "SELECT count(*) FROM checkpoints;") >= 4);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n);
    fx_free(f);
}

/* The MCP tool sees what the command line sees. */
TEST(verify_audit_log_tool_reports_tampering)
{
    NEW_FX(f);
    FILL(f, 10, 1000);
    SQL_OK(f, "DROP TRIGGER audit_log_no_update;"
              "UPDATE audit_log SET args = replace(args, 'abcdefgh', 'abcdefgX')"
              " WHERE seq = 7;");
    fx_session *s = fx_session_start(f, NULL);
    ASSERT(s);
    ASSERT(fx_session_rpc(s, fx_initialize_line()));
    cJSON *reply = fx_session_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                                     "\"tools/call\",\"params\":{\"name\":"
                                     "\"verify_audit_log\",\"arguments\":{}}}");
    ASSERT(reply);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(reply, "result");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(res, "structuredContent");
    if (!cJSON_IsObject(sc)) TEST_FAIL_("no structuredContent in the reply");
    ASSERT(!fx_report_ok(sc));
    EXPECT_PROBLEM(f, sc, 7, "modified");
    if (!problem_names_log(sc, "modified", meta(f, "log_name"), meta(f, "log_id"), NULL))
        TEST_FAIL_("the tool's problem does not name the log: %s", fx_problems(f, sc));
    ASSERT_EQ_INT(fx_session_end(s), 0);
    fx_free(f);
}

/* ---- automatic checkpoints ---- */

TEST(automatic_checkpoints_every_interval_and_at_shutdown)
{
    NEW_FX(f);
    const long interval = 4, calls = 5;
    const char *const args[] = {"--checkpoint-interval", "4", NULL};
    fx_session *s = fx_session_start(f, args);
    ASSERT(s);
    ASSERT(fx_session_rpc(s, fx_initialize_line()));
    ASSERT_EQ_INT(fx_session_send(s, "{\"jsonrpc\":\"2.0\",\"method\":"
                                     "\"notifications/initialized\"}"), 0);
    /* One call at a time, so each is a commit group of its own. */
    for (long i = 1; i <= calls; i++) {
        cJSON *reply = fx_session_rpc(s, fx_call_line(f, i));
        ASSERT(reply);
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(reply, "result");
        ASSERT(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(res, "isError")));
    }
    ASSERT_EQ_INT(fx_session_end(s), 0);
    long long n = count_entries(f);
    ASSERT(n >= calls && n % calls == 0);
    long long per = n / calls, last = 0, head = 0;
    /* What the rule says: a checkpoint when a group takes the head at least
    ** `interval` past the last one, and one at shutdown for the rest. */
    char want[256] = "", got_buf[256];
    for (long i = 1; i <= calls; i++) {
        head += per;
        if (head - last >= interval) {
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld",
                     *want ? "," : "", head);
            last = head;
        }
    }
    if (head > last)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", *want ? "," : "",
                 head);
    const char *got = fx_sql_text(f, "SELECT group_concat(seq) FROM"
                                     " (SELECT seq FROM checkpoints ORDER BY number);");
    ASSERT(got);
    snprintf(got_buf, sizeof got_buf, "%s", got);
    ASSERT_EQ_STR(got_buf, want);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    fx_free(f);
}

TEST(checkpoint_at_sigterm_shutdown)
{
    NEW_FX(f);
    fx_session *s = fx_session_start(f, NULL);
    ASSERT(s);
    ASSERT(fx_session_rpc(s, fx_initialize_line()));
    ASSERT(fx_session_rpc(s, fx_call_line(f, 1)));
    fx_session_signal(s, SIGTERM);
    ASSERT_EQ_INT(fx_session_end(s), 0);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT count(*) FROM checkpoints;"), 1);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT seq FROM checkpoints;"), head_seq(f));
    fx_free(f);
}

/* ---- retention ---- */

static int prune(fx *f, const char *before, const char *archive)
{
    return fx_run(f, fx_fmt(f, "%s prune --db %s --before %s --archive %s", fx_q(f, f->bin),
                            fx_q(f, f->db), fx_q(f, before), fx_q(f, archive)),
                  NULL, NULL);
}

static long count_lines(fx *f, const char *path)
{
    const char *out;
    if (fx_run(f, fx_fmt(f, "wc -l <%s", fx_q(f, path)), &out, NULL) != 0) return -1;
    return atol(out);
}

TEST(prune_then_verify_with_and_without_archive)
{
    NEW_FX(f);
    FILL(f, 10, 1000);
    long long n = count_entries(f), head = head_seq(f);
    const char *a = fx_path(f, "a.jsonl");
    ASSERT_EQ_INT(prune(f, "2999-01-01", a), 0);
    ASSERT_EQ_INT(count_entries(f), 0);
    ASSERT_EQ_INT(count_lines(f, a), n);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT count(*) FROM checkpoints WHERE kind = 'anchor';"), 1);

    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), 0);
    ASSERT_EQ_INT(fx_report_num(cJSON_GetObjectItemCaseSensitive(r, "head"), "seq"), head);
    rc = fx_verify(f, fx_fmt(f, "--archive %s", fx_q(f, a)), &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n);

    /* Entries written after the prune continue the chain. */
    FILL(f, 5, 1000);
    long long m = count_entries(f);
    ASSERT(m > 0);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT min(seq) FROM audit_log;"), head + 1);
    rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), m);
    rc = fx_verify(f, fx_fmt(f, "--archive %s", fx_q(f, a)), &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n + m);
    ASSERT_EQ_INT(fx_report_num(cJSON_GetObjectItemCaseSensitive(r, "head"), "seq"),
                  head_seq(f));
    fx_free(f);
}

TEST(prune_partial_keeps_newer_entries)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    long long first = count_entries(f);
    FILL(f, 5, 1000);
    long long n = count_entries(f);
    /* Cut at the first entry of the second batch. */
    const char *cut = fx_sql_text(
        f, fx_fmt(f, "SELECT created_at FROM audit_log WHERE seq = %lld;", first + 1));
    ASSERT(cut && *cut);
    const char *a = fx_path(f, "a.jsonl");
    ASSERT_EQ_INT(prune(f, cut, a), 0);
    ASSERT_EQ_INT(count_lines(f, a), first);
    ASSERT_EQ_INT(count_entries(f), n - first);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT min(seq) FROM audit_log;"), first + 1);
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n - first);
    rc = fx_verify(f, fx_fmt(f, "--archive %s", fx_q(f, a)), &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n);
    fx_free(f);
}

TEST(tampered_archive_is_detected)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    const char *a = fx_path(f, "a.jsonl");
    ASSERT_EQ_INT(prune(f, "2999-01-01", a), 0);
    ASSERT_EQ_INT(fx_run(f, fx_fmt(f, "sed -i 's/abcdefgh/abcdefgX/' %s", fx_q(f, a)), NULL,
                         NULL),
                  0);
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--archive %s", fx_q(f, a)), &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 1, "modified");
    fx_free(f);
}

TEST(prune_with_unwritable_archive_removes_nothing)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    long long n = count_entries(f);
    long long ncp = fx_sql_int(f, "SELECT count(*) FROM checkpoints;");
    /* Tests may run as root, so a read-only folder would not stop us:
    ** use a folder that does not exist, and /proc. */
    static const char *const bad[] = {"/nonexistent-dss-integrity-dir/a.jsonl",
                                      "/proc/dss-integrity-a.jsonl"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = prune(f, "2999-01-01", bad[i]);
        if (rc != 2) TEST_FAIL_("prune into %s exited %d, not 2", bad[i], rc);
        ASSERT_EQ_INT(count_entries(f), n);
        ASSERT_EQ_INT(fx_sql_int(f, "SELECT count(*) FROM checkpoints;"), ncp);
    }
    cJSON *r;
    int rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n);
    fx_free(f);
}

TEST(prune_twice_into_same_archive_refuses)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    long long n1 = count_entries(f);
    const char *a = fx_path(f, "a.jsonl");
    ASSERT_EQ_INT(prune(f, "2999-01-01", a), 0);
    FILL(f, 5, 1000);
    long long n2 = count_entries(f);
    ASSERT(n2 > 0);
    long lines = count_lines(f, a);
    ASSERT_EQ_INT(prune(f, "2999-01-01", a), 2);
    ASSERT_EQ_INT(count_entries(f), n2);
    ASSERT_EQ_INT(count_lines(f, a), lines);
    /* A fresh archive works, and both verify as one chain with the db. */
    const char *b = fx_path(f, "b.jsonl");
    ASSERT_EQ_INT(prune(f, "2999-01-01", b), 0);
    ASSERT_EQ_INT(count_entries(f), 0);
    FILL(f, 2, 1000);
    long long n3 = count_entries(f);
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--archive %s --archive %s", fx_q(f, a), fx_q(f, b)), &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), n1 + n2 + n3);
    fx_free(f);
}

TEST(prune_archive_write_failure_midway_removes_nothing)
{
    NEW_FX(f);
    /* ~2,000 entries make an archive of about a megabyte; a file size limit
    ** of 256 KiB lets SQLite work but makes the archive fail part way. */
    FILL(f, 1000, 1000);
    long long n = count_entries(f);
    long long ncp = fx_sql_int(f, "SELECT count(*) FROM checkpoints;");
    const char *a = fx_path(f, "a.jsonl");
    int rc = fx_run(f, fx_fmt(f, "trap '' XFSZ; ulimit -f 512; exec %s prune --db %s"
                                 " --before 2999-01-01 --archive %s",
                              fx_q(f, f->bin), fx_q(f, f->db), fx_q(f, a)),
                    NULL, NULL);
    if (rc != 2) TEST_FAIL_("prune exited %d, not 2: %s", rc, f->last_stderr);
    ASSERT_EQ_INT(count_entries(f), n);
    ASSERT_EQ_INT(fx_sql_int(f, "SELECT count(*) FROM checkpoints;"), ncp);
    struct stat st;
    ASSERT(stat(a, &st) != 0); /* the partial archive was removed */
    cJSON *r;
    rc = fx_verify(f, NULL, &r);
    EXPECT_INTACT(f, rc, r);
    fx_free(f);
}

/* The oldest archive with its first lines cut off must not verify. */
TEST(archive_with_first_lines_removed_is_missing)
{
    NEW_FX(f);
    FILL(f, 10, 1000);
    const char *a = fx_path(f, "a.jsonl");
    ASSERT_EQ_INT(prune(f, "2999-01-01", a), 0);
    ASSERT_EQ_INT(fx_run(f, fx_fmt(f, "sed -i 1,3d %s", fx_q(f, a)), NULL, NULL), 0);
    FILL(f, 2, 1000);
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--archive %s", fx_q(f, a)), &r);
    EXPECT_TAMPERED(f, rc, r);
    EXPECT_PROBLEM(f, r, 1, "missing");
    fx_free(f);
}

/* After two prunes, the older archive may be gone for good (that is what
** retention is for): the newer one still links to the first anchor. */
TEST(verify_with_only_newest_archive_passes)
{
    NEW_FX(f);
    FILL(f, 5, 1000);
    ASSERT_EQ_INT(prune(f, "2999-01-01", fx_path(f, "a.jsonl")), 0);
    FILL(f, 5, 1000);
    const char *b = fx_path(f, "b.jsonl");
    ASSERT_EQ_INT(prune(f, "2999-01-01", b), 0);
    FILL(f, 2, 1000);
    long long in_b = count_lines(f, b), in_db = count_entries(f);
    cJSON *r;
    int rc = fx_verify(f, fx_fmt(f, "--archive %s", fx_q(f, b)), &r);
    EXPECT_INTACT(f, rc, r);
    ASSERT_EQ_INT(fx_report_num(r, "entries_checked"), in_b + in_db);
    fx_free(f);
}

TEST_MAIN(
    TEST_ENTRY(untouched_100k_entries_verify_clean)
    TEST_ENTRY(one_byte_of_args_changed_is_modified)
    TEST_ENTRY(created_at_changed_is_modified)
    TEST_ENTRY(other_stored_fields_changed_are_modified)
    TEST_ENTRY(field_id_changed_is_modified)
    TEST_ENTRY(field_event_type_changed_is_modified)
    TEST_ENTRY(field_operation_name_changed_is_modified)
    TEST_ENTRY(field_operation_id_changed_is_modified)
    TEST_ENTRY(field_user_id_changed_is_modified)
    TEST_ENTRY(field_project_id_changed_is_modified)
    TEST_ENTRY(field_args_changed_is_modified)
    TEST_ENTRY(field_result_changed_is_modified)
    TEST_ENTRY(field_error_changed_is_modified)
    TEST_ENTRY(field_before_state_changed_is_modified)
    TEST_ENTRY(field_after_state_changed_is_modified)
    TEST_ENTRY(field_created_at_changed_is_modified)
    TEST_ENTRY(field_client_changed_is_modified)
    TEST_ENTRY(field_server_set_is_modified)
    TEST_ENTRY(field_session_id_set_is_modified)
    TEST_ENTRY(field_duration_ms_set_is_modified)
    TEST_ENTRY(field_completes_set_is_modified)
    TEST_ENTRY(field_cwd_set_is_modified)
    TEST_ENTRY(middle_entry_deleted_is_missing)
    TEST_ENTRY(middle_range_deleted_is_missing)
    TEST_ENTRY(gap_then_modified_entry_reports_both)
    TEST_ENTRY(newest_entries_deleted_caught_by_exported_checkpoint)
    TEST_ENTRY(forged_entry_inserted_is_inserted)
    TEST_ENTRY(forged_entry_after_a_gap_is_inserted)
    TEST_ENTRY(forged_entry_before_genesis_is_inserted)
    TEST_ENTRY(forged_entry_below_retention_anchor_is_inserted)
    TEST_ENTRY(oldest_entries_deleted_is_missing)
    TEST_ENTRY(adjacent_entries_swapped_is_reordered)
    TEST_ENTRY(distant_entries_swapped_is_reordered)
    TEST_ENTRY(recomputed_chain_caught_by_signed_checkpoints)
    TEST_ENTRY(checkpoint_signature_altered_is_bad_signature)
    TEST_ENTRY(checkpoint_head_altered_is_bad_signature)
    TEST_ENTRY(external_checkpoint_edited_is_bad_signature)
    TEST_ENTRY(checkpoint_deleted_is_detected)
    TEST_ENTRY(merkle_tree_hash_changed_is_a_tree_problem)
    TEST_ENTRY(merkle_tree_rows_deleted_are_a_tree_problem)
    TEST_ENTRY(checkpoint_note_changed_is_a_bad_signature)
    TEST_ENTRY(first_checkpoint_deleted_is_detected)
    TEST_ENTRY(update_and_delete_fail_while_triggers_stand)
    TEST_ENTRY(delete_fails_even_with_retention_flag_in_meta)
    TEST_ENTRY(verify_with_another_public_key_is_bad_signature)
    TEST_ENTRY(verify_log_option_selects_the_log_by_name_or_id)
    TEST_ENTRY(server_records_its_signing_key_with_the_log)
    TEST_ENTRY(replaced_recorded_key_is_caught)
    TEST_ENTRY(trusted_keys_file_trusts_and_refuses)
    TEST_ENTRY(checkpoint_json_fields_and_public_key)
    TEST_ENTRY(key_file_is_mode_0600)
    TEST_ENTRY(checkpoint_from_another_log_is_rejected)
    TEST_ENTRY(checkpoint_rows_copied_from_another_log_are_rejected)
    TEST_ENTRY(verify_missing_db_exits_2)
    TEST_ENTRY(verify_unusable_db_exits_2)
    TEST_ENTRY(concurrent_writers_form_one_chain)
    TEST_ENTRY(two_servers_starting_on_a_new_db_both_succeed)
    TEST_ENTRY(sixteen_servers_creating_one_signing_key_agree_on_it)
    TEST_ENTRY(alternating_writers_form_one_chain)
    TEST_ENTRY(verify_audit_log_tool_reports_tampering)
    TEST_ENTRY(automatic_checkpoints_every_interval_and_at_shutdown)
    TEST_ENTRY(checkpoint_at_sigterm_shutdown)
    TEST_ENTRY(prune_then_verify_with_and_without_archive)
    TEST_ENTRY(prune_partial_keeps_newer_entries)
    TEST_ENTRY(tampered_archive_is_detected)
    TEST_ENTRY(prune_with_unwritable_archive_removes_nothing)
    TEST_ENTRY(prune_twice_into_same_archive_refuses)
    TEST_ENTRY(prune_archive_write_failure_midway_removes_nothing)
    TEST_ENTRY(archive_with_first_lines_removed_is_missing)
    TEST_ENTRY(verify_with_only_newest_archive_passes)
)
