/*
** test_store.c: the SQLite audit store (src/store/store.h).
**
** File-backed cases work in a fresh folder made with mkdtemp under /tmp;
** an atexit handler removes it even when an assertion ends a case early.
*/
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "store/chain.h"
#include "store/store.h"
#include "store/store_testing.h"
#include "util/jbuf.h"

/* ---- temporary folders ------------------------------------------------ */

static char tmp_dir[64];

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char sub[512];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void cleanup_tmp(void)
{
    if (tmp_dir[0]) rm_rf(tmp_dir);
    tmp_dir[0] = '\0';
}

/* Give the case a fresh, empty folder (removing the previous case's when
** every case runs in one process).  Returns 0, or -1 if mkdtemp fails. */
static int fresh_tmp(void)
{
    static int registered;
    cleanup_tmp();
    strcpy(tmp_dir, "/tmp/dss-test-store-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        tmp_dir[0] = '\0';
        return -1;
    }
    if (!registered) atexit(cleanup_tmp);
    registered = 1;
    return 0;
}

/* Write "<case folder>/<name>" into out. */
static int tmp_path(const char *name, char *out, size_t len)
{
    if (!tmp_dir[0] && fresh_tmp() != 0) return -1;
    snprintf(out, len, "%s/%s", tmp_dir, name);
    return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static store *open_path(const char *path, int readonly, int *rc_out, char *err)
{
    store_options o;
    memset(&o, 0, sizeof o);
    o.path = path;
    o.readonly = readonly;
    store *s = NULL;
    int rc = store_open(&o, &s, err);
    if (rc_out) *rc_out = rc;
    if (rc != STORE_OK) {
        if (!rc_out) fprintf(stderr, "store_open(%s): %d %s\n", path, rc, err);
        return NULL;
    }
    return s;
}

static store *open_memory(void)
{
    char err[STORE_ERRLEN];
    return open_path(":memory:", 0, NULL, err);
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static store_record rec_of(const char *type, const char *op, const char *user,
                           const char *project, const char *error)
{
    store_record r;
    memset(&r, 0, sizeof r);
    r.event_type = type;
    r.operation_name = op;
    r.user_id = user;
    r.project_id = project;
    r.args = "{}";
    r.error = error;
    return r;
}

/* Append one record in its own transaction. Returns STORE_OK or the code. */
static int append_one(store *s, const store_record *r, store_receipt *out)
{
    char err[STORE_ERRLEN];
    store_receipt tmp;
    int rc = store_begin(s, err);
    if (rc == STORE_OK) rc = store_append(s, r, out ? out : &tmp, err);
    if (rc == STORE_OK) rc = store_commit(s, err);
    else store_rollback(s);
    if (rc != STORE_OK) fprintf(stderr, "append: %d %s\n", rc, err);
    return rc;
}

static int append_simple(store *s, const char *type, const char *op,
                         const char *user, const char *project,
                         const char *error, store_receipt *out)
{
    store_record r = rec_of(type, op, user, project, error);
    return append_one(s, &r, out);
}

/* Run a query; returns the array (caller frees) or NULL. */
static cJSON *find(store *s, const store_query *q, int *more)
{
    char err[STORE_ERRLEN];
    cJSON *arr = NULL;
    int rc = store_find(s, q, &arr, more, err);
    if (rc != STORE_OK) {
        fprintf(stderr, "store_find: %d %s\n", rc, err);
        return NULL;
    }
    return arr;
}

static store_query query_all(void)
{
    store_query q;
    memset(&q, 0, sizeof q);
    q.limit = 100;
    return q;
}

/* The seq numbers of entries, newest first as returned, as "5,4,3". */
static void seqs(const cJSON *arr, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        const cJSON *sq = cJSON_GetObjectItemCaseSensitive(e, "seq");
        n += (size_t)snprintf(out + n, len - n, "%s%lld", n ? "," : "",
                              cJSON_IsNumber(sq) ? (long long)sq->valuedouble : -1LL);
        if (n >= len) break;
    }
}

/* Run q and compare the seq list with want; 1 on a match. */
static int finds_seqs(store *s, const store_query *q, const char *want)
{
    char got[256];
    cJSON *arr = find(s, q, NULL);
    if (!arr) return 0;
    seqs(arr, got, sizeof got);
    cJSON_Delete(arr);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "query gave seqs [%s], want [%s]\n", got, want);
        return 0;
    }
    return 1;
}

static const char *str_field(const cJSON *e, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_null_field(const cJSON *e, const char *name)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, name));
}

static int is_hex64(const char *s)
{
    if (!s || strlen(s) != 64) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
    return 1;
}

/* Read a whole file into a new buffer; *len receives its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* 1 when path holds exactly want[0..len). */
static int same_bytes(const char *path, const char *want, size_t len)
{
    size_t n = 0;
    char *got = slurp(path, &n);
    int same = got && n == len && memcmp(got, want, len) == 0;
    if (got && !same) {
        size_t i = 0;
        while (i < n && i < len && got[i] == want[i]) i++;
        fprintf(stderr, "%s changed: %zu bytes, was %zu; first difference at %zu\n",
                path, n, len, i);
    }
    free(got);
    return same;
}

static int sql_exec(const char *path, const char *sql, char *msg, size_t len)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    char *e = NULL;
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, &e);
    if (msg) snprintf(msg, len, "%s", e ? e : sqlite3_errmsg(db));
    sqlite3_free(e);
    sqlite3_close(db);
    return rc;
}

static long long sql_count(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_log", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* The first column of the first row of sql on the file, or -1. */
static long long sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* ---- opening ---------------------------------------------------------- */

/* The store splices stored JSON into entries as raw text; a client sees it
** parsed.  Print and parse again to look inside.  Takes tree over. */
static cJSON *reparsed(cJSON *tree)
{
    char *text = tree ? cJSON_PrintUnformatted(tree) : NULL;
    cJSON *again = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON_Delete(tree);
    return again;
}

TEST(open_memory)
{
    store *s = open_memory();
    ASSERT(s);
    size_t n = strlen(store_log_id(s));
    int in_tx = store_in_transaction(s);
    store_close(s);
    ASSERT_EQ_INT(n, 36);
    ASSERT_EQ_INT(in_tx, 0);
}

TEST(close_null_is_fine)
{
    store_close(NULL);
}

TEST(open_creates_file_0600_and_parent_dirs)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], dir[256], err[STORE_ERRLEN];
    ASSERT_EQ_INT(tmp_path("a/b/audit.db", path, sizeof path), 0);
    store *s = open_path(path, 0, NULL, err);
    ASSERT(s);
    store_close(s);
    struct stat st;
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT(S_ISREG(st.st_mode));
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    snprintf(dir, sizeof dir, "%s/a/b", tmp_dir);
    ASSERT_EQ_INT(stat(dir, &st), 0);
    ASSERT(S_ISDIR(st.st_mode));
    ASSERT_EQ_INT(st.st_mode & 0077, 0);
    snprintf(dir, sizeof dir, "%s/a", tmp_dir);
    ASSERT_EQ_INT(stat(dir, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0077, 0);
}

TEST(open_file_mode_0600_despite_permissive_umask)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN];
    ASSERT_EQ_INT(tmp_path("audit.db", path, sizeof path), 0);
    mode_t old = umask(0);
    store *s = open_path(path, 0, NULL, err);
    umask(old);
    ASSERT(s);
    store_close(s);
    struct stat st;
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
}

TEST(readonly_open_of_missing_file_fails)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(tmp_path("missing.db", path, sizeof path), 0);
    int rc = 0;
    store *s = open_path(path, 1, &rc, err);
    ASSERT(s == NULL);
    ASSERT(rc != STORE_OK);
    ASSERT_CONTAINS(err, "does not exist");
    struct stat st;
    ASSERT(stat(path, &st) != 0);
}

TEST(open_directory_refused)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(tmp_path("adir", path, sizeof path), 0);
    ASSERT_EQ_INT(mkdir(path, 0700), 0);
    int rc = 0;
    store *s = open_path(path, 0, &rc, err);
    ASSERT(s == NULL);
    ASSERT(rc != STORE_OK);
    ASSERT_CONTAINS(err, "not a regular file");
}

/* ---- transactions ----------------------------------------------------- */

TEST(append_outside_transaction_fails)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN] = "";
    store_record r = rec_of("tool_call", "op", "u", "p", NULL);
    store_receipt rc_out;
    int rc = store_append(s, &r, &rc_out, err);
    store_query q = query_all();
    cJSON *arr = find(s, &q, NULL);
    int n = cJSON_GetArraySize(arr);
    cJSON_Delete(arr);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_EINVAL);
    ASSERT(err[0] != '\0');
    ASSERT_EQ_INT(n, 0);
}

TEST(begin_twice_fails)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    int a = store_begin(s, err);
    int b = store_begin(s, err);
    int in_tx = store_in_transaction(s);
    store_rollback(s);
    int after = store_in_transaction(s);
    store_close(s);
    ASSERT_EQ_INT(a, STORE_OK);
    ASSERT_EQ_INT(b, STORE_EINVAL);
    ASSERT_EQ_INT(in_tx, 1);
    ASSERT_EQ_INT(after, 0);
}

TEST(commit_and_savepoint_without_transaction_fail)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    int c = store_commit(s, err);
    int sp = store_savepoint(s, err);
    store_rollback(s);              /* harmless */
    store_savepoint_release(s);     /* harmless */
    store_savepoint_rollback(s);    /* harmless */
    store_close(s);
    ASSERT_EQ_INT(c, STORE_EINVAL);
    ASSERT_EQ_INT(sp, STORE_EINVAL);
}

TEST(append_commit_find_returns_all_fields)
{
    store *s = open_memory();
    ASSERT(s);
    store_record r;
    memset(&r, 0, sizeof r);
    r.event_type = "tool_call";
    r.operation_name = "create_component";
    r.operation_id = "op-1";
    r.user_id = "alice";
    r.project_id = "proj-1";
    r.args = "{\"name\":\"Button\",\"n\":2}";
    r.client = "{\"name\":\"claude\",\"version\":\"1.2\"}";
    store_receipt rcpt;
    ASSERT_EQ_INT(append_one(s, &r, &rcpt), STORE_OK);
    store_query q = query_all();
    cJSON *arr = reparsed(find(s, &q, NULL));
    store_close(s);
    ASSERT(arr);
    cJSON *e = cJSON_GetArrayItem(arr, 0);
    int n = cJSON_GetArraySize(arr);
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
    const cJSON *client = cJSON_GetObjectItemCaseSensitive(e, "client");
    char *printed_args = cJSON_PrintUnformatted(args);
    char *printed_client = cJSON_PrintUnformatted(client);
    char *whole = cJSON_PrintUnformatted(e);
    int ok =
        n == 1 && cJSON_IsNumber(seq) && seq->valuedouble == 1 && rcpt.seq == 1 &&
        str_field(e, "id") && strcmp(str_field(e, "id"), rcpt.id) == 0 &&
        strlen(rcpt.id) == 36 &&
        strcmp(str_field(e, "event_type"), "tool_call") == 0 &&
        strcmp(str_field(e, "operation_name"), "create_component") == 0 &&
        strcmp(str_field(e, "operation_id"), "op-1") == 0 &&
        strcmp(str_field(e, "user_id"), "alice") == 0 &&
        strcmp(str_field(e, "project_id"), "proj-1") == 0 &&
        cJSON_IsObject(args) && printed_args &&
        strcmp(printed_args, "{\"name\":\"Button\",\"n\":2}") == 0 &&
        is_null_field(e, "result") && is_null_field(e, "error") &&
        is_null_field(e, "before_state") && is_null_field(e, "after_state") &&
        str_field(e, "created_at") &&
        strcmp(str_field(e, "created_at"), rcpt.created_at) == 0 &&
        strlen(rcpt.created_at) == TS_BUFLEN - 1 &&
        cJSON_IsObject(client) && printed_client &&
        strcmp(printed_client, "{\"name\":\"claude\",\"version\":\"1.2\"}") == 0 &&
        is_hex64(str_field(e, "hash")) &&
        strcmp(str_field(e, "hash"), rcpt.hash) == 0 &&
        str_field(e, "prev_hash") &&
        strcmp(str_field(e, "prev_hash"),
               "0000000000000000000000000000000000000000000000000000000000000000") == 0;
    if (!ok) fprintf(stderr, "entry: %s\n", whole ? whole : "(null)");
    free(printed_args);
    free(printed_client);
    free(whole);
    cJSON_Delete(arr);
    ASSERT(ok);
}

TEST(optional_json_fields_round_trip)
{
    store *s = open_memory();
    ASSERT(s);
    store_record r = rec_of("tool_call", "update", "u", "p", "boom");
    r.args = "[1,2]";
    r.result = "{\"ok\":false}";
    r.before_state = "{\"v\":1}";
    r.after_state = "\"text\"";
    store_receipt rcpt;
    ASSERT_EQ_INT(append_one(s, &r, &rcpt), STORE_OK);
    char err[STORE_ERRLEN];
    cJSON *e = NULL;
    int rc = store_get(s, rcpt.id, &e, err);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_OK);
    e = reparsed(e);
    char *w = cJSON_PrintUnformatted(e);
    int ok = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(e, "args")) &&
             cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "result")) &&
             cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "before_state")) &&
             str_field(e, "after_state") && !strcmp(str_field(e, "after_state"), "text") &&
             str_field(e, "error") && !strcmp(str_field(e, "error"), "boom") &&
             is_null_field(e, "client") && is_null_field(e, "operation_id");
    if (!ok) fprintf(stderr, "entry: %s\n", w ? w : "(null)");
    free(w);
    cJSON_Delete(e);
    ASSERT(ok);
}

TEST(second_entry_prev_hash_is_first_hash)
{
    store *s = open_memory();
    ASSERT(s);
    store_receipt a, b;
    ASSERT_EQ_INT(append_simple(s, "t", "one", "u", "p", NULL, &a), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "t", "two", "u", "p", NULL, &b), STORE_OK);
    char err[STORE_ERRLEN];
    cJSON *e = NULL;
    int rc = store_get(s, b.id, &e, err);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_OK);
    int ok = str_field(e, "prev_hash") && strcmp(str_field(e, "prev_hash"), a.hash) == 0 &&
             strcmp(a.hash, b.hash) != 0 && is_hex64(b.hash);
    cJSON_Delete(e);
    ASSERT(ok);
}

TEST(seq_increments)
{
    store *s = open_memory();
    ASSERT(s);
    store_receipt r[4];
    for (int i = 0; i < 4; i++)
        ASSERT_EQ_INT(append_simple(s, "t", "op", "u", "p", NULL, &r[i]), STORE_OK);
    store_query q = query_all();
    int ok = finds_seqs(s, &q, "4,3,2,1");
    store_close(s);
    for (int i = 0; i < 4; i++) ASSERT_EQ_INT(r[i].seq, i + 1);
    ASSERT(strcmp(r[0].id, r[1].id) != 0);
    ASSERT(ok);
}

TEST(several_appends_in_one_transaction)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_record r = rec_of("t", "op", "u", "p", NULL);
    store_receipt a, b;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    int ra = store_append(s, &r, &a, err);
    int rb = store_append(s, &r, &b, err);
    int rc = store_commit(s, err);
    store_close(s);
    ASSERT_EQ_INT(ra, STORE_OK);
    ASSERT_EQ_INT(rb, STORE_OK);
    ASSERT_EQ_INT(rc, STORE_OK);
    ASSERT_EQ_INT(a.seq, 1);
    ASSERT_EQ_INT(b.seq, 2);
}

/* Entry ids are version 7 UUIDs that sort in seq order (so the id index is
** appended to), and none names a time before its entry's created_at. */
TEST(entry_ids_are_uuid7_growing_with_seq)
{
    enum { N = 300 };
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_record r = rec_of("t", "op", "u", "p", NULL);
    static store_receipt rc[N];
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    for (int i = 0; i < N; i++) ASSERT_EQ_INT(store_append(s, &r, &rc[i], err), STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    store_close(s);
    for (int i = 0; i < N; i++) {
        const char *id = rc[i].id;
        ASSERT_EQ_INT(strlen(id), 36);
        ASSERT(id[14] == '7');
        ASSERT(strchr("89ab", id[19]));
        if (i > 0 && strcmp(rc[i - 1].id, id) >= 0)
            TEST_FAIL_("seq %lld id %s does not sort after %s", (long long)rc[i].seq,
                       id, rc[i - 1].id);
        char hex[13];
        memcpy(hex, id, 8);
        memcpy(hex + 8, id + 9, 4);
        hex[12] = '\0';
        int64_t created_us = 0;
        ASSERT_EQ_INT(ts_parse(rc[i].created_at, 0, &created_us, err, sizeof err), 0);
        ASSERT(strtoll(hex, NULL, 16) >= created_us / 1000);
    }
}

/* ---- queries ---------------------------------------------------------- */

/* Six entries:
**   seq type   op      user  project
**   1   call   create  alice p1
**   2   call   delete  bob   p1
**   3   error  create  alice p2
**   4   call   create  alice p1
**   5   login  auth    bob   (null)
**   6   call   create  bob   p2
*/
static store *six_entries(void)
{
    store *s = open_memory();
    if (!s) return NULL;
    static const char *const rows[6][4] = {
        {"call", "create", "alice", "p1"}, {"call", "delete", "bob", "p1"},
        {"error", "create", "alice", "p2"}, {"call", "create", "alice", "p1"},
        {"login", "auth", "bob", NULL},     {"call", "create", "bob", "p2"}};
    for (int i = 0; i < 6; i++) {
        if (append_simple(s, rows[i][0], rows[i][1], rows[i][2], rows[i][3],
                          NULL, NULL) != STORE_OK) {
            store_close(s);
            return NULL;
        }
    }
    return s;
}

TEST(find_newest_first)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    int ok = finds_seqs(s, &q, "6,5,4,3,2,1");
    store_close(s);
    ASSERT(ok);
}

TEST(find_filter_project)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.project_id = "p1";
    int ok = finds_seqs(s, &q, "4,2,1");
    store_close(s);
    ASSERT(ok);
}

TEST(find_filter_user)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.user_id = "bob";
    int ok = finds_seqs(s, &q, "6,5,2");
    store_close(s);
    ASSERT(ok);
}

TEST(find_filter_operation_name)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.operation_name = "create";
    int ok = finds_seqs(s, &q, "6,4,3,1");
    store_close(s);
    ASSERT(ok);
}

TEST(find_filter_event_type)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.event_type = "call";
    int ok = finds_seqs(s, &q, "6,4,2,1");
    store_close(s);
    ASSERT(ok);
}

TEST(find_filters_combine_with_and)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.user_id = "alice";
    q.project_id = "p1";
    int ok1 = finds_seqs(s, &q, "4,1");
    q.event_type = "error";
    int ok2 = finds_seqs(s, &q, "");
    q = query_all();
    q.user_id = "bob";
    q.operation_name = "create";
    q.event_type = "call";
    q.project_id = "p2";
    int ok3 = finds_seqs(s, &q, "6");
    q = query_all();
    q.event_type = "call";
    q.operation_name = "create";
    int ok4 = finds_seqs(s, &q, "6,4,1");
    store_close(s);
    ASSERT(ok1);
    ASSERT(ok2);
    ASSERT(ok3);
    ASSERT(ok4);
}

TEST(find_filter_no_match)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.user_id = "carol";
    int more = -1;
    cJSON *arr = find(s, &q, &more);
    store_close(s);
    ASSERT(arr);
    int n = cJSON_GetArraySize(arr);
    cJSON_Delete(arr);
    ASSERT_EQ_INT(n, 0);
    ASSERT_EQ_INT(more, 0);
}

TEST(find_filter_is_exact_not_prefix)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.project_id = "p";
    int ok1 = finds_seqs(s, &q, "");
    q = query_all();
    q.user_id = "ALICE";
    int ok2 = finds_seqs(s, &q, "");
    store_close(s);
    ASSERT(ok1);
    ASSERT(ok2);
}

TEST(find_limit_offset)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.limit = 2;
    int ok1 = finds_seqs(s, &q, "6,5");
    q.offset = 2;
    int ok2 = finds_seqs(s, &q, "4,3");
    q.offset = 4;
    int ok3 = finds_seqs(s, &q, "2,1");
    q.offset = 6;
    int ok4 = finds_seqs(s, &q, "");
    q.offset = 5;
    q.limit = 10;
    int ok5 = finds_seqs(s, &q, "1");
    q = query_all();
    q.user_id = "alice";
    q.limit = 1;
    q.offset = 1;
    int ok6 = finds_seqs(s, &q, "3");
    store_close(s);
    ASSERT(ok1);
    ASSERT(ok2);
    ASSERT(ok3);
    ASSERT(ok4);
    ASSERT(ok5);
    ASSERT(ok6);
}

TEST(find_more_flag)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    int m1 = -1, m2 = -1, m3 = -1, m4 = -1;
    q.limit = 5;
    cJSON *a = find(s, &q, &m1);
    q.limit = 6;
    cJSON *b = find(s, &q, &m2);
    q.limit = 2;
    q.offset = 3;
    cJSON *c = find(s, &q, &m3);
    q.offset = 4;
    cJSON *d = find(s, &q, &m4);
    int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b),
        nc = cJSON_GetArraySize(c), nd = cJSON_GetArraySize(d);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(d);
    store_close(s);
    ASSERT_EQ_INT(na, 5);
    ASSERT_EQ_INT(m1, 1);
    ASSERT_EQ_INT(nb, 6);
    ASSERT_EQ_INT(m2, 0);
    ASSERT_EQ_INT(nc, 2);
    ASSERT_EQ_INT(m3, 1);
    ASSERT_EQ_INT(nd, 2);
    ASSERT_EQ_INT(m4, 0);
}

TEST(find_more_out_may_be_null)
{
    store *s = six_entries();
    ASSERT(s);
    store_query q = query_all();
    q.limit = 1;
    cJSON *a = find(s, &q, NULL);
    int n = cJSON_GetArraySize(a);
    cJSON_Delete(a);
    store_close(s);
    ASSERT_EQ_INT(n, 1);
}

/* Five entries a few milliseconds apart; receipts in r[0..4]. */
static store *timed_entries(store_receipt r[5])
{
    store *s = open_memory();
    if (!s) return NULL;
    for (int i = 0; i < 5; i++) {
        if (i) sleep_ms(3);
        if (append_simple(s, "t", "op", "u", "p", NULL, &r[i]) != STORE_OK) {
            store_close(s);
            return NULL;
        }
    }
    return s;
}

TEST(find_since_until_inclusive)
{
    store_receipt r[5];
    store *s = timed_entries(r);
    ASSERT(s);
    store_query q = query_all();
    q.since = r[1].created_at;
    q.until = r[3].created_at;
    int ok = finds_seqs(s, &q, "4,3,2");
    store_close(s);
    ASSERT(strcmp(r[0].created_at, r[1].created_at) < 0);
    ASSERT(ok);
}

TEST(find_since_only)
{
    store_receipt r[5];
    store *s = timed_entries(r);
    ASSERT(s);
    store_query q = query_all();
    q.since = r[3].created_at;
    int ok = finds_seqs(s, &q, "5,4");
    store_close(s);
    ASSERT(ok);
}

TEST(find_until_only)
{
    store_receipt r[5];
    store *s = timed_entries(r);
    ASSERT(s);
    store_query q = query_all();
    q.until = r[1].created_at;
    int ok = finds_seqs(s, &q, "2,1");
    store_close(s);
    ASSERT(ok);
}

TEST(find_range_single_instant)
{
    store_receipt r[5];
    store *s = timed_entries(r);
    ASSERT(s);
    store_query q = query_all();
    q.since = r[2].created_at;
    q.until = r[2].created_at;
    int ok = finds_seqs(s, &q, "3");
    store_close(s);
    ASSERT(ok);
}

TEST(find_range_outside_is_empty)
{
    store_receipt r[5];
    store *s = timed_entries(r);
    ASSERT(s);
    store_query q = query_all();
    q.until = "1970-01-01T00:00:00.000000Z";
    int ok1 = finds_seqs(s, &q, "");
    q = query_all();
    q.since = "9999-12-31T23:59:59.999999Z";
    int ok2 = finds_seqs(s, &q, "");
    q = query_all();
    q.since = "1970-01-01T00:00:00.000000Z";
    q.until = "9999-12-31T23:59:59.999999Z";
    q.limit = 2;
    int ok3 = finds_seqs(s, &q, "5,4");
    store_close(s);
    ASSERT(ok1);
    ASSERT(ok2);
    ASSERT(ok3);
}

/* Entries whose names and errors exercise LIKE's metacharacters. */
static store *text_entries(void)
{
    store *s = open_memory();
    if (!s) return NULL;
    static const char *const rows[][2] = {
        {"deploy_100%", NULL},      /* 1 */
        {"deploy_100x", NULL},      /* 2 */
        {"deployX100", NULL},       /* 3 */
        {"sync", "Disk FULL on /var"}, /* 4 */
        {"path\\to", NULL},         /* 5 */
        {"other", "100 items"},     /* 6 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (append_simple(s, "t", rows[i][0], "u", "p", rows[i][1], NULL) != STORE_OK) {
            store_close(s);
            return NULL;
        }
    }
    return s;
}

/* The trigram index is filled at commit, one statement per transaction. */
TEST(text_search_finds_entries_of_committed_transactions)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt r;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    store_record a = rec_of("error", "rotate-keys", NULL, NULL, "quota exceeded");
    store_record b = rec_of("tool_call", "deploy", NULL, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_INT(store_append(s, &a, &r, err), STORE_OK);
        ASSERT_EQ_INT(store_append(s, &b, &r, err), STORE_OK);
    }
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "error", "later", NULL, NULL, "quota again", NULL), STORE_OK);
    store_query q = query_all();
    q.text = "quota";
    int ok = finds_seqs(s, &q, "7,5,3,1");
    q.text = "eploy";
    ok = ok && finds_seqs(s, &q, "6,4,2");
    store_close(s);
    ASSERT(ok);
}

/* A search inside the open transaction sees the entries written before it
** in that transaction, exactly as a scan would. */
TEST(text_search_inside_a_transaction_sees_its_own_entries)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt r;
    ASSERT_EQ_INT(append_simple(s, "error", "old-zebra", NULL, NULL, NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    store_record a = rec_of("tool_call", "new-zebra", NULL, NULL, NULL);
    ASSERT_EQ_INT(store_append(s, &a, &r, err), STORE_OK);
    store_query q = query_all();
    q.text = "zebra";
    int first = finds_seqs(s, &q, "2,1");
    ASSERT_EQ_INT(store_append(s, &a, &r, err), STORE_OK);
    int second = finds_seqs(s, &q, "3,2,1");
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    int after = finds_seqs(s, &q, "3,2,1");
    store_close(s);
    ASSERT(first);
    ASSERT(second);
    ASSERT(after);
}

/* Entries rolled back, with their savepoint or their transaction, are not
** in the index afterwards, and the index stays in step with the table. */
TEST(text_search_forgets_rolled_back_entries)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt r;
    store_record keep = rec_of("tool_call", "kept-yak", NULL, NULL, NULL);
    store_record drop = rec_of("tool_call", "dropped-yak", NULL, NULL, NULL);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &drop, &r, err), STORE_OK);
    store_rollback(s);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &keep, &r, err), STORE_OK);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &drop, &r, err), STORE_OK);
    store_savepoint_rollback(s);
    ASSERT_EQ_INT(store_append(s, &keep, &r, err), STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    store_query q = query_all();
    q.text = "yak";
    int ok = finds_seqs(s, &q, "2,1");
    q.text = "dropped";
    ok = ok && finds_seqs(s, &q, "");
    store_close(s);
    ASSERT(ok);
}

TEST(tx_has_writes_only_after_an_append)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt r;
    store_record a = rec_of("tool_call", "x", NULL, NULL, NULL);
    int outside = store_tx_has_writes(s);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    int fresh = store_tx_has_writes(s);
    ASSERT_EQ_INT(store_append(s, &a, &r, err), STORE_OK);
    int written = store_tx_has_writes(s);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    int committed = store_tx_has_writes(s);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    int next = store_tx_has_writes(s);
    store_rollback(s);
    store_close(s);
    ASSERT_EQ_INT(outside, 0);
    ASSERT_EQ_INT(fresh, 0);
    ASSERT_EQ_INT(written, 1);
    ASSERT_EQ_INT(committed, 0);
    ASSERT_EQ_INT(next, 0);
}

TEST(text_search_percent_is_literal)
{
    store *s = text_entries();
    ASSERT(s);
    store_query q = query_all();
    q.text = "100%";
    int ok1 = finds_seqs(s, &q, "1");
    q.text = "%";
    int ok2 = finds_seqs(s, &q, "1");
    store_close(s);
    ASSERT(ok1);
    ASSERT(ok2);
}

TEST(text_search_underscore_is_literal)
{
    store *s = text_entries();
    ASSERT(s);
    store_query q = query_all();
    q.text = "y_1";
    int ok1 = finds_seqs(s, &q, "2,1");
    q.text = "_";
    int ok2 = finds_seqs(s, &q, "2,1");
    store_close(s);
    ASSERT(ok1);
    ASSERT(ok2);
}

TEST(text_search_backslash_is_literal)
{
    store *s = text_entries();
    ASSERT(s);
    store_query q = query_all();
    q.text = "h\\t";
    int ok = finds_seqs(s, &q, "5");
    store_close(s);
    ASSERT(ok);
}

TEST(text_search_case_insensitive_ascii)
{
    store *s = text_entries();
    ASSERT(s);
    store_query q = query_all();
    q.text = "DEPLOY";
    int ok1 = finds_seqs(s, &q, "3,2,1");
    q.text = "disk full";
    int ok2 = finds_seqs(s, &q, "4");
    q.text = "Deployx";
    int ok3 = finds_seqs(s, &q, "3");
    store_close(s);
    ASSERT(ok1);
    ASSERT(ok2);
    ASSERT(ok3);
}

TEST(text_search_matches_error_or_operation_name)
{
    store *s = text_entries();
    ASSERT(s);
    store_query q = query_all();
    q.text = "100";
    int ok1 = finds_seqs(s, &q, "6,3,2,1");
    q.text = "nothing like this";
    int ok2 = finds_seqs(s, &q, "");
    store_close(s);
    ASSERT(ok1);
    ASSERT(ok2);
}

TEST(text_search_combines_with_filters)
{
    store *s = text_entries();
    ASSERT(s);
    store_query q = query_all();
    q.text = "deploy";
    q.operation_name = "deployX100";
    int ok1 = finds_seqs(s, &q, "3");
    q = query_all();
    q.text = "deploy";
    q.limit = 1;
    q.offset = 1;
    int more = -1;
    cJSON *arr = find(s, &q, &more);
    char got[64] = "";
    seqs(arr, got, sizeof got);
    cJSON_Delete(arr);
    store_close(s);
    ASSERT(ok1);
    ASSERT_EQ_STR(got, "2");
    ASSERT_EQ_INT(more, 1);
}

TEST(get_found)
{
    store *s = six_entries();
    ASSERT(s);
    store_receipt r;
    ASSERT_EQ_INT(append_simple(s, "call", "target", "zed", "p9", NULL, &r), STORE_OK);
    char err[STORE_ERRLEN];
    cJSON *e = NULL;
    int rc = store_get(s, r.id, &e, err);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_OK);
    int ok = e && str_field(e, "id") && !strcmp(str_field(e, "id"), r.id) &&
             !strcmp(str_field(e, "operation_name"), "target") &&
             cJSON_GetObjectItemCaseSensitive(e, "seq")->valuedouble == 7 &&
             !strcmp(str_field(e, "hash"), r.hash);
    cJSON_Delete(e);
    ASSERT(ok);
}

TEST(get_not_found)
{
    store *s = six_entries();
    ASSERT(s);
    char err[STORE_ERRLEN] = "";
    cJSON *e = NULL;
    int rc = store_get(s, "00000000-0000-4000-8000-000000000000", &e, err);
    int rc2 = store_get(s, "", &e, err);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_ENOTFOUND);
    ASSERT_EQ_INT(rc2, STORE_ENOTFOUND);
    ASSERT(e == NULL);
    ASSERT(err[0] != '\0');
}

/* ---- user activity ---------------------------------------------------- */

TEST(user_activity_counts)
{
    store *s = open_memory();
    ASSERT(s);
    /* alice: 6 entries, 2 with errors, projects p1 p2 and NULL. */
    ASSERT_EQ_INT(append_simple(s, "call", "a", "alice", "p1", NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "login", "b", "alice", NULL, NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "call", "c", "alice", "p2", "failed", NULL), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "error", "d", "alice", "p1", "bad", NULL), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "call", "e", "alice", "p1", NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "login", "f", "alice", NULL, "", NULL), STORE_OK);
    /* someone else */
    ASSERT_EQ_INT(append_simple(s, "call", "g", "bob", "p3", "x", NULL), STORE_OK);
    char err[STORE_ERRLEN];
    store_activity a;
    int rc = store_user_activity(s, "alice", "1970-01-01T00:00:00.000000Z", NULL, &a, err);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_OK);
    char *bt = cJSON_PrintUnformatted(a.by_type);
    int ok_bt = bt && strcmp(bt, "{\"call\":3,\"login\":2,\"error\":1}") == 0;
    if (!ok_bt) fprintf(stderr, "by_type %s\n", bt ? bt : "(null)");
    free(bt);
    cJSON_Delete(a.by_type);
    ASSERT_EQ_INT(a.total, 6);
    ASSERT_EQ_INT(a.errors, 3); /* "" is a non-null error */
    ASSERT_EQ_INT(a.projects, 2);
    ASSERT(ok_bt);
}

/* The counters take a transaction's entries at its commit, in one grouped
** statement: a count made inside the transaction sees the entries so far,
** a savepoint rolled back takes its entry with it, and the commit counts
** nothing twice. */
static int alice(store *s, int64_t *total, int64_t *errors, int64_t *projects)
{
    char err[STORE_ERRLEN];
    store_activity a;
    int rc = store_user_activity(s, "alice", "1970-01-01T00:00:00.000000Z", NULL, &a, err);
    if (rc != STORE_OK) fprintf(stderr, "store_user_activity: %s\n", err);
    cJSON_Delete(a.by_type);
    *total = a.total;
    *errors = a.errors;
    *projects = a.projects;
    return rc;
}

TEST(user_activity_counts_a_transaction_once_inside_and_after_it)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt rcpt;
    int64_t total, errors, projects;
    store_record call = rec_of("call", "a", "alice", "p1", NULL);
    store_record failed = rec_of("call", "b", "alice", "p2", "failed");
    store_record dropped = rec_of("login", "c", "alice", "p3", NULL);
    store_record bob = rec_of("call", "d", "bob", "p1", NULL);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &call, &rcpt, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &failed, &rcpt, err), STORE_OK);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &dropped, &rcpt, err), STORE_OK);
    store_savepoint_rollback(s);
    ASSERT_EQ_INT(alice(s, &total, &errors, &projects), STORE_OK);
    ASSERT_EQ_INT(total, 2);
    ASSERT_EQ_INT(errors, 1);
    ASSERT_EQ_INT(projects, 2);
    ASSERT_EQ_INT(store_append(s, &bob, &rcpt, err), STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(alice(s, &total, &errors, &projects), STORE_OK);
    ASSERT_EQ_INT(total, 2);
    ASSERT_EQ_INT(projects, 2);
    ASSERT_EQ_INT(append_simple(s, "login", "e", "alice", "p3", NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(alice(s, &total, &errors, &projects), STORE_OK);
    store_close(s);
    ASSERT_EQ_INT(total, 3);
    ASSERT_EQ_INT(errors, 1);
    ASSERT_EQ_INT(projects, 3);
}

/* A count or a search inside a savepoint feeds the counters and the index
** the rows so far; when the savepoint is then rolled back, those rows leave
** both with it, and so do the rows noted after the count, while the rows
** from before the savepoint and after it stay. */
TEST(rows_counted_inside_a_savepoint_leave_with_it)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt rcpt;
    int64_t total = -1, errors = -1, projects = -1, inside = -1;
    store_record before = rec_of("call", "kept-yak", "alice", "p1", NULL);
    store_record dropped = rec_of("login", "dropped-yak", "alice", "p3", "failed");
    store_record later = rec_of("call", "late-yak", "alice", "p2", NULL);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &before, &rcpt, err), STORE_OK);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &dropped, &rcpt, err), STORE_OK);
    ASSERT_EQ_INT(alice(s, &inside, &errors, &projects), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &dropped, &rcpt, err), STORE_OK);
    store_savepoint_rollback(s);
    ASSERT_EQ_INT(store_append(s, &later, &rcpt, err), STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(alice(s, &total, &errors, &projects), STORE_OK);
    store_query q = query_all();
    q.text = "yak";
    int found = finds_seqs(s, &q, "2,1");
    q.text = "dropped";
    found = found && finds_seqs(s, &q, "");
    store_close(s);
    ASSERT_EQ_INT(inside, 2);
    ASSERT_EQ_INT(total, 2);
    ASSERT_EQ_INT(errors, 0);
    ASSERT_EQ_INT(projects, 2);
    ASSERT(found);
}

/* An entry whose INSERT fails (here, an id already taken) is neither
** searched for nor counted; the transaction's other entries are. */
TEST(an_entry_that_fails_to_insert_is_neither_searched_nor_counted)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt rcpt;
    int64_t total = -1, errors = -1, projects = -1;
    static const char id[] = "0190f3c4-5a6b-7c8d-9e0f-112233445566";
    store_record first = rec_of("call", "first-yak", "alice", "p1", NULL);
    store_record clash = rec_of("login", "clashing-yak", "alice", "p2", "failed");
    store_record next = rec_of("call", "next-yak", "alice", "p1", NULL);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append_as(s, &first, id, &rcpt, err), STORE_OK);
    int refused = store_append_as(s, &clash, id, &rcpt, err);
    int in_tx = store_in_transaction(s);
    if (in_tx) ASSERT_EQ_INT(store_append(s, &next, &rcpt, err), STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(alice(s, &total, &errors, &projects), STORE_OK);
    store_query q = query_all();
    q.text = "clashing";
    int found = finds_seqs(s, &q, "");
    q.text = "yak";
    found = found && finds_seqs(s, &q, "2,1");
    store_close(s);
    ASSERT(refused != STORE_OK);
    ASSERT(in_tx);
    ASSERT_EQ_INT(total, 2);
    ASSERT_EQ_INT(errors, 0);
    ASSERT_EQ_INT(projects, 1);
    ASSERT(found);
}

TEST(user_activity_ties_ordered_by_name)
{
    store *s = open_memory();
    ASSERT(s);
    ASSERT_EQ_INT(append_simple(s, "zeta", "a", "u", "p", NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "alpha", "a", "u", "p", NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "mid", "a", "u", "p", NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(append_simple(s, "mid", "a", "u", "p", NULL, NULL), STORE_OK);
    char err[STORE_ERRLEN];
    store_activity a;
    int rc = store_user_activity(s, "u", "1970-01-01T00:00:00.000000Z", NULL, &a, err);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_OK);
    char *bt = cJSON_PrintUnformatted(a.by_type);
    int ok = bt && strcmp(bt, "{\"mid\":2,\"alpha\":1,\"zeta\":1}") == 0;
    if (!ok) fprintf(stderr, "by_type %s\n", bt ? bt : "(null)");
    free(bt);
    cJSON_Delete(a.by_type);
    ASSERT(ok);
}

TEST(user_activity_respects_since)
{
    store *s = open_memory();
    ASSERT(s);
    store_receipt r1, r2;
    ASSERT_EQ_INT(append_simple(s, "call", "a", "u", "p1", "e", &r1), STORE_OK);
    sleep_ms(3);
    ASSERT_EQ_INT(append_simple(s, "login", "b", "u", "p2", NULL, &r2), STORE_OK);
    char err[STORE_ERRLEN];
    store_activity a, b;
    int rc1 = store_user_activity(s, "u", r2.created_at, NULL, &a, err);
    int rc2 = store_user_activity(s, "u", "9999-01-01T00:00:00.000000Z", NULL, &b, err);
    store_close(s);
    char *bt = cJSON_PrintUnformatted(a.by_type);
    char *bt2 = cJSON_PrintUnformatted(b.by_type);
    int ok = rc1 == STORE_OK && rc2 == STORE_OK && a.total == 1 && a.errors == 0 &&
             a.projects == 1 && bt && !strcmp(bt, "{\"login\":1}") && b.total == 0 &&
             b.errors == 0 && b.projects == 0 && bt2 && !strcmp(bt2, "{}");
    if (!ok) fprintf(stderr, "a %lld/%lld/%lld %s b %lld %s\n", (long long)a.total,
                     (long long)a.errors, (long long)a.projects, bt ? bt : "-",
                     (long long)b.total, bt2 ? bt2 : "-");
    free(bt);
    free(bt2);
    cJSON_Delete(a.by_type);
    cJSON_Delete(b.by_type);
    ASSERT(ok);
}

/* The first, partial day of the window is read from whichever side of the
** window's start is shorter (before noon: the day's counter less the
** entries before the start).  Both must match a plain count, for windows
** starting at every hour, with entries of several types and errors spread
** over three days. */
TEST(user_activity_partial_day_matches_a_plain_count)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(tmp_path("partial.db", path, sizeof path), 0);
    store *s = open_path(path, 0, NULL, err);
    ASSERT(s);
    store_close(s);
    /* Entries with chosen times go in through SQL: the store stamps its
    ** own.  Their hashes are dummies, which activity never reads. */
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *ins = NULL;
    ASSERT_EQ_INT(sqlite3_prepare_v2(db,
                      "INSERT INTO audit_log (id, event_type, operation_name, user_id,"
                      " project_id, args, error, created_at, prev_hash, hash)"
                      " VALUES (?1, ?2, 'op', ?3, 'p', '{}', ?4, ?5, x'00', x'00')",
                      -1, &ins, NULL), SQLITE_OK);
    static const char *const types[] = {"call", "login", "error", "sync"};
    unsigned rnd = 12345;
    store_testing_derived *fed = store_testing_sqlite_derived_new();
    ASSERT(fed);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < 600; i++) {
        rnd = rnd * 1103515245u + 12345u;
        char id[32], at[40];
        snprintf(id, sizeof id, "id-%d", i);
        snprintf(at, sizeof at, "2026-03-%02uT%02u:%02u:%02u.%06uZ", 10 + (rnd >> 8) % 3,
                 (rnd >> 12) % 24, (rnd >> 17) % 60, (rnd >> 23) % 60, (rnd >> 3) % 1000000);
        sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, types[(rnd >> 5) % 4], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, (rnd >> 9) % 5 ? "u" : "other", -1, SQLITE_STATIC);
        if ((rnd >> 14) % 4 == 0) sqlite3_bind_text(ins, 4, "failed", -1, SQLITE_STATIC);
        else sqlite3_bind_null(ins, 4);
        sqlite3_bind_text(ins, 5, at, -1, SQLITE_TRANSIENT);
        ASSERT_EQ_INT(sqlite3_step(ins), SQLITE_DONE);
        ASSERT_EQ_INT(store_testing_sqlite_derived_add(
                          fed, sqlite3_last_insert_rowid(db), "op",
                          (rnd >> 14) % 4 == 0 ? "failed" : NULL,
                          (rnd >> 9) % 5 ? "u" : "other", "p", at, types[(rnd >> 5) % 4]),
                      STORE_OK);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
    }
    /* A type seen once, early on the last day: windows starting later that
    ** day must not list it, not even with a count of zero. */
    sqlite3_bind_text(ins, 1, "id-rare", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, "rare", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, "u", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, "failed", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, "2026-03-12T01:00:00.000000Z", -1, SQLITE_STATIC);
    ASSERT_EQ_INT(sqlite3_step(ins), SQLITE_DONE);
    ASSERT_EQ_INT(store_testing_sqlite_derived_add(fed, sqlite3_last_insert_rowid(db), "op",
                                                   "failed", "u", "p",
                                                   "2026-03-12T01:00:00.000000Z", "rare"),
                  STORE_OK);
    /* Counted as the store counts a transaction's entries at its commit:
    ** each row noted as inserted, all of them fed before COMMIT. */
    ASSERT_EQ_INT(store_testing_sqlite_derived_flush(fed, db), SQLITE_OK);
    store_testing_sqlite_derived_free(fed);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);
    sqlite3_stmt *plain = NULL;
    ASSERT_EQ_INT(sqlite3_prepare_v2(db,
                      "SELECT coalesce(json_group_object(t, n), '{}'), coalesce(sum(n), 0),"
                      " coalesce(sum(e), 0) FROM (SELECT event_type AS t, count(*) AS n,"
                      " count(error) AS e FROM audit_log WHERE user_id = 'u'"
                      " AND created_at >= ?1 GROUP BY 1 ORDER BY 2 DESC, 1)",
                      -1, &plain, NULL), SQLITE_OK);
    s = open_path(path, 0, NULL, err);
    int bad = 0;
    for (int day = 10; s && day <= 12 && !bad; day++)
        for (int hour = 0; hour < 24 && !bad; hour++) {
            char since[40];
            snprintf(since, sizeof since, "2026-03-%02dT%02d:%02d:00.000000Z", day, hour,
                     (hour * 7) % 60);
            store_activity a;
            if (store_user_activity(s, "u", since, NULL, &a, err) != STORE_OK) {
                fprintf(stderr, "store_user_activity(%s): %s\n", since, err);
                bad = 1;
                break;
            }
            sqlite3_bind_text(plain, 1, since, -1, SQLITE_TRANSIENT);
            sqlite3_step(plain);
            char *got = cJSON_PrintUnformatted(a.by_type);
            const char *want = (const char *)sqlite3_column_text(plain, 0);
            if (!got || !want || strcmp(got, want) != 0 ||
                a.total != sqlite3_column_int64(plain, 1) ||
                a.errors != sqlite3_column_int64(plain, 2)) {
                fprintf(stderr, "since %s: got %s total %lld errors %lld, want %s %lld %lld\n",
                        since, got ? got : "-", (long long)a.total, (long long)a.errors,
                        want ? want : "-", (long long)sqlite3_column_int64(plain, 1),
                        (long long)sqlite3_column_int64(plain, 2));
                bad = 1;
            }
            free(got);
            cJSON_Delete(a.by_type);
            sqlite3_reset(plain);
        }
    sqlite3_finalize(plain);
    sqlite3_close(db);
    ASSERT(s);
    store_close(s);
    ASSERT(!bad);
}

TEST(user_activity_unknown_user)
{
    store *s = six_entries();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_activity a;
    int rc = store_user_activity(s, "nobody", "1970-01-01T00:00:00.000000Z", NULL, &a, err);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_OK);
    int empty = cJSON_IsObject(a.by_type) && a.by_type->child == NULL;
    cJSON_Delete(a.by_type);
    ASSERT_EQ_INT(a.total, 0);
    ASSERT_EQ_INT(a.errors, 0);
    ASSERT_EQ_INT(a.projects, 0);
    ASSERT(empty);
}

/* projects_touched, read through activity_projects' primary key with
** last_seen filtered row by row, against a count over the entries
** themselves, for every user and many windows. */
TEST(projects_touched_equals_a_count_over_entries)
{
    enum { N = 600, USERS = 4, PROJECTS = 15 };
    static store_receipt rc[N];
    static int user_of[N], project_of[N]; /* -1: NULL */
    static const char *const users[USERS] = {"u0", "u1", "u2", "u3"};
    char projects[PROJECTS][8], err[STORE_ERRLEN];
    for (int p = 0; p < PROJECTS; p++) snprintf(projects[p], sizeof projects[p], "p%d", p);
    unsigned x = 4242u;
    store *s = open_memory();
    ASSERT(s);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        user_of[i] = (int)((x >> 16) % (USERS + 1)) - 1;
        x = x * 1103515245u + 12345u;
        project_of[i] = (int)((x >> 16) % (PROJECTS + 1)) - 1;
        store_record r = rec_of("call", "op", user_of[i] < 0 ? NULL : users[user_of[i]],
                                project_of[i] < 0 ? NULL : projects[project_of[i]], NULL);
        ASSERT_EQ_INT(store_append(s, &r, &rc[i], err), STORE_OK);
    }
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    int checked = 0, mismatches = 0;
    for (int from = 0; from < N; from += 23) {
        const char *since = rc[from].created_at;
        for (int u = 0; u < USERS; u++) {
            int seen[PROJECTS] = {0}, want = 0;
            for (int i = 0; i < N; i++)
                if (user_of[i] == u && project_of[i] >= 0 &&
                    strcmp(rc[i].created_at, since) >= 0 && !seen[project_of[i]]++)
                    want++;
            store_activity a;
            if (store_user_activity(s, users[u], since, NULL, &a, err) != STORE_OK) {
                store_close(s);
                TEST_FAIL_("store_user_activity: %s", err);
            }
            cJSON_Delete(a.by_type);
            if (a.projects != want) {
                fprintf(stderr, "%s since %s: %lld projects, want %d\n", users[u], since,
                        (long long)a.projects, want);
                mismatches++;
            }
            checked++;
        }
    }
    store_close(s);
    ASSERT_EQ_INT(mismatches, 0);
    ASSERT(checked > 100);
}

/* ---- savepoints and rollback ------------------------------------------ */

/* A cursor of seq alone (no created_at) asks for the entries before that
** seq, newest first, with or without filters: the viewer finds one entry
** by its seq so, and so did older callers of the store. */
TEST(cursor_of_seq_alone_finds_the_entries_before_it)
{
    store *s = open_memory();
    ASSERT(s);
    for (int i = 0; i < 5; i++) ASSERT_EQ_INT(append_simple(s, "t", "op", "u", "p", NULL, NULL), 0);
    store_query plain = {.limit = 2, .after_seq = 4};
    store_query by_user = {.limit = 2, .after_seq = 4, .user_id = "u"};
    store_query past_head = {.limit = 1, .after_seq = 6};
    cJSON *a = find(s, &plain, NULL), *b = find(s, &by_user, NULL), *c = find(s, &past_head, NULL);
    store_close(s);
    char got[3][64] = {"", "", ""};
    if (a) seqs(a, got[0], sizeof got[0]);
    if (b) seqs(b, got[1], sizeof got[1]);
    if (c) seqs(c, got[2], sizeof got[2]);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    ASSERT_EQ_STR(got[0], "3,2");
    ASSERT_EQ_STR(got[1], "3,2");
    ASSERT_EQ_STR(got[2], "5");
}

TEST(savepoint_rollback_discards_only_that_request)
{
    store *s = open_memory();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_record ra = rec_of("t", "A", "u", "p", NULL);
    store_record rb = rec_of("t", "B", "u", "p", NULL);
    store_record rc_ = rec_of("t", "C", "u", "p", NULL);
    store_receipt a, b, c;
    int ok = store_begin(s, err) == STORE_OK &&
             store_savepoint(s, err) == STORE_OK &&
             store_append(s, &ra, &a, err) == STORE_OK;
    store_savepoint_release(s);
    ok = ok && store_savepoint(s, err) == STORE_OK &&
         store_append(s, &rb, &b, err) == STORE_OK;
    store_savepoint_rollback(s);
    ok = ok && store_in_transaction(s) && store_savepoint(s, err) == STORE_OK &&
         store_append(s, &rc_, &c, err) == STORE_OK;
    store_savepoint_release(s);
    ok = ok && store_commit(s, err) == STORE_OK;
    if (!ok) fprintf(stderr, "%s\n", err);
    store_query q = query_all();
    cJSON *arr = find(s, &q, NULL);
    store_close(s);
    ASSERT(ok);
    ASSERT(arr);
    char got[64];
    seqs(arr, got, sizeof got);
    const cJSON *first = cJSON_GetArrayItem(arr, 0), *second = cJSON_GetArrayItem(arr, 1);
    int names = cJSON_GetArraySize(arr) == 2 &&
                !strcmp(str_field(first, "operation_name"), "C") &&
                !strcmp(str_field(second, "operation_name"), "A") &&
                !strcmp(str_field(first, "prev_hash"), a.hash) &&
                !strcmp(str_field(first, "hash"), c.hash);
    cJSON_Delete(arr);
    ASSERT_EQ_STR(got, "2,1");
    ASSERT_EQ_INT(c.seq, 2);
    ASSERT(names);
}

TEST(rollback_discards_all)
{
    store *s = open_memory();
    ASSERT(s);
    ASSERT_EQ_INT(append_simple(s, "t", "kept", "u", "p", NULL, NULL), STORE_OK);
    char err[STORE_ERRLEN];
    store_record r = rec_of("t", "gone", "u", "p", NULL);
    store_receipt x;
    int ok = store_begin(s, err) == STORE_OK &&
             store_savepoint(s, err) == STORE_OK &&
             store_append(s, &r, &x, err) == STORE_OK;
    store_savepoint_release(s);
    ok = ok && store_append(s, &r, &x, err) == STORE_OK;
    store_rollback(s);
    int in_tx = store_in_transaction(s);
    store_query q = query_all();
    int ok2 = finds_seqs(s, &q, "1");
    store_receipt next;
    int ok3 = append_simple(s, "t", "after", "u", "p", NULL, &next) == STORE_OK;
    store_close(s);
    ASSERT(ok);
    ASSERT_EQ_INT(in_tx, 0);
    ASSERT(ok2);
    ASSERT(ok3);
    ASSERT_EQ_INT(next.seq, 2);
}

TEST(close_with_open_transaction_rolls_back)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN];
    ASSERT_EQ_INT(tmp_path("audit.db", path, sizeof path), 0);
    store *s = open_path(path, 0, NULL, err);
    ASSERT(s);
    ASSERT_EQ_INT(append_simple(s, "t", "kept", "u", "p", NULL, NULL), STORE_OK);
    store_record r = rec_of("t", "gone", "u", "p", NULL);
    store_receipt x;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &r, &x, err), STORE_OK);
    store_close(s);
    ASSERT_EQ_INT(sql_count(path), 1);
}

/* ---- immutability ----------------------------------------------------- */

/* A file database holding one committed entry. */
static int file_with_entry(const char *name, char *path, size_t len)
{
    char err[STORE_ERRLEN];
    if (tmp_path(name, path, len) != 0) return -1;
    store *s = open_path(path, 0, NULL, err);
    if (!s) return -1;
    int rc = append_simple(s, "t", "op", "u", "p", NULL, NULL);
    store_close(s);
    return rc == STORE_OK ? 0 : -1;
}

TEST(update_blocked_by_trigger)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], msg[256] = "";
    ASSERT_EQ_INT(file_with_entry("audit.db", path, sizeof path), 0);
    int rc = sql_exec(path, "UPDATE audit_log SET operation_name = 'forged'", msg, sizeof msg);
    ASSERT(rc != SQLITE_OK);
    ASSERT_CONTAINS(msg, "append-only");
    char err[STORE_ERRLEN];
    store *s = open_path(path, 1, NULL, err);
    ASSERT(s);
    store_query q = query_all();
    cJSON *arr = find(s, &q, NULL);
    store_close(s);
    const char *op = str_field(cJSON_GetArrayItem(arr, 0), "operation_name");
    int same = op && !strcmp(op, "op");
    cJSON_Delete(arr);
    ASSERT(same);
}

TEST(delete_blocked_by_trigger)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], msg[256] = "";
    ASSERT_EQ_INT(file_with_entry("audit.db", path, sizeof path), 0);
    int rc = sql_exec(path, "DELETE FROM audit_log", msg, sizeof msg);
    ASSERT(rc != SQLITE_OK);
    ASSERT_CONTAINS(msg, "append-only");
    ASSERT_EQ_INT(sql_count(path), 1);
}

/* ---- reopening -------------------------------------------------------- */

/* ---- paths: which backend, and the password they may hold ------------- */

/* A PostgreSQL database is a URI or a string of libpq's own keywords (any
** of them, even one libpq then refuses for a later mistake, which is then
** reported as such instead of becoming a file); anything else is a file. */
TEST(remote_paths_by_libpq_keywords)
{
    ASSERT_EQ_INT(store_is_remote("postgres://u@h/d"), 1);
    ASSERT_EQ_INT(store_is_remote("postgresql://h"), 1);
    ASSERT_EQ_INT(store_is_remote("host=/tmp dbname=audit"), 1);
    ASSERT_EQ_INT(store_is_remote("  sslmode = require dbname=a"), 1);
    ASSERT_EQ_INT(store_is_remote("target_session_attrs=any"), 1);
    ASSERT_EQ_INT(store_is_remote("host=x password=p junk"), 1);
    ASSERT_EQ_INT(store_is_remote("audit.db"), 0);
    ASSERT_EQ_INT(store_is_remote("./name=1.db"), 0);
    ASSERT_EQ_INT(store_is_remote("name=1.db"), 0);
    ASSERT_EQ_INT(store_is_remote("/var/lib/a=b/audit.db"), 0);
    ASSERT_EQ_INT(store_is_remote(":memory:"), 0);
    ASSERT_EQ_INT(store_is_remote(""), 0);
    ASSERT_EQ_INT(store_is_remote(NULL), 0);
}

TEST(redact_masks_every_password)
{
    char out[256];
    store_redact_path("host=x password=secret dbname=d", out, sizeof out);
    ASSERT_EQ_STR(out, "host=x password=*** dbname=d");
    store_redact_path("password='a b' host=x password=c", out, sizeof out);
    ASSERT_EQ_STR(out, "password=*** host=x password=***");
    store_redact_path("postgresql://u:pw@h/d?password=q&sslmode=require", out, sizeof out);
    ASSERT_EQ_STR(out, "postgresql://u:***@h/d?password=***&sslmode=require");
    store_redact_path("postgres://u@h/d", out, sizeof out);
    ASSERT_EQ_STR(out, "postgres://u@h/d");
    /* A '/' typed unencoded in the password: masked whole, not from it on. */
    store_redact_path("postgresql://u:pw/123@h/d", out, sizeof out);
    ASSERT_EQ_STR(out, "postgresql://u:***@h/d");
    store_redact_path("/tmp/password=x.db", out, sizeof out);
    ASSERT_EQ_STR(out, "/tmp/password=x.db");
    store_redact_path(NULL, out, sizeof out);
    ASSERT_EQ_STR(out, "");
}

TEST(wipe_overwrites_passwords_in_place)
{
    char a[] = "host=x password=secret dbname=d password=two";
    store_wipe_password(a);
    ASSERT_EQ_STR(a, "host=x password=xxxxxx dbname=d password=xxx");
    char b[] = "postgresql://u:pw@h/d";
    store_wipe_password(b);
    ASSERT_EQ_STR(b, "postgresql://u:xx@h/d");
    char slash[] = "postgresql://u:pw/123@h/d";
    store_wipe_password(slash);
    ASSERT_EQ_STR(slash, "postgresql://u:xxxxxx@h/d");
    char c[] = "audit.db";
    store_wipe_password(c);
    ASSERT_EQ_STR(c, "audit.db");
}

TEST(reopen_keeps_log_id_and_chain)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN], log_id[37];
    ASSERT_EQ_INT(tmp_path("audit.db", path, sizeof path), 0);
    store *s = open_path(path, 0, NULL, err);
    ASSERT(s);
    snprintf(log_id, sizeof log_id, "%s", store_log_id(s));
    store_receipt a, b;
    int ra = append_simple(s, "t", "one", "u", "p", NULL, &a);
    store_close(s);
    ASSERT_EQ_INT(ra, STORE_OK);

    s = open_path(path, 0, NULL, err);
    ASSERT(s);
    int same_id = strcmp(store_log_id(s), log_id) == 0;
    int rb = append_simple(s, "t", "two", "u", "p", NULL, &b);
    cJSON *e = NULL;
    int rg = store_get(s, b.id, &e, err);
    store_close(s);
    ASSERT(same_id);
    ASSERT_EQ_INT(rb, STORE_OK);
    ASSERT_EQ_INT(rg, STORE_OK);
    int linked = str_field(e, "prev_hash") && !strcmp(str_field(e, "prev_hash"), a.hash);
    cJSON_Delete(e);
    ASSERT_EQ_INT(b.seq, 2);
    ASSERT(linked);
}

#define HAS_RECENCY_INDEX                                                   \
    "SELECT count(*) FROM sqlite_master WHERE name = 'idx_activity_projects_seen'"
#define HAS_FTS_DOCSIZE                                                     \
    "SELECT count(*) FROM sqlite_master WHERE name = 'audit_fts_docsize'"

TEST(new_database_has_no_project_recency_index)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256];
    ASSERT_EQ_INT(file_with_entry("audit.db", path, sizeof path), 0);
    ASSERT_EQ_INT(sql_int(path, "PRAGMA user_version"), 12);
    ASSERT_EQ_INT(sql_int(path, HAS_RECENCY_INDEX), 0);
    ASSERT_EQ_INT(sql_int(path, HAS_FTS_DOCSIZE), 0);
}

/* Turn a database this store made back into an older version's shape. */
#define RECENCY_INDEX_OF_VERSION_3                                          \
    "CREATE INDEX idx_activity_projects_seen ON activity_projects(user_id, last_seen);"
#define FTS_TRIGGER_OF_VERSION_3                                            \
    "CREATE TRIGGER audit_fts_insert AFTER INSERT ON audit_log BEGIN"       \
    "  INSERT INTO audit_fts(rowid, operation_name, error)"                 \
    "    VALUES (NEW.seq, NEW.operation_name, NEW.error);"                  \
    "END;"

/* Versions 3 to 9 counted activity with a trigger per row, which version 10
** replaces by one grouped statement per transaction. */
#define ACTIVITY_TRIGGER_OF_VERSION_3                                       \
    "CREATE TRIGGER activity_insert AFTER INSERT ON audit_log"              \
    "  WHEN NEW.user_id IS NOT NULL BEGIN"                                  \
    "  INSERT INTO activity_daily VALUES (NEW.user_id,"                     \
    "    substr(NEW.created_at, 1, 10), NEW.event_type, 1,"                 \
    "    NEW.error IS NOT NULL)"                                            \
    "    ON CONFLICT DO UPDATE SET n = n + 1, errors = errors + excluded.errors;" \
    "  INSERT INTO activity_projects SELECT NEW.user_id, NEW.project_id,"   \
    "    NEW.created_at WHERE NEW.project_id IS NOT NULL"                   \
    "    ON CONFLICT DO UPDATE SET last_seen = max(last_seen, excluded.last_seen);" \
    "END;"
/* Versions 3 to 11 kept each entry's column sizes in the search index
** (audit_fts_docsize); version 12 builds it again without them. */
#define SHAPE_OF_VERSION_11                                                 \
    "DROP TRIGGER audit_fts_delete; DROP TABLE audit_fts;"                  \
    "CREATE VIRTUAL TABLE audit_fts USING fts5(operation_name, error,"      \
    "  content='audit_log', content_rowid='seq', tokenize='trigram');"      \
    "INSERT INTO audit_fts(audit_fts) VALUES ('rebuild');"                  \
    "CREATE TRIGGER audit_fts_delete AFTER DELETE ON audit_log BEGIN"       \
    "  INSERT INTO audit_fts(audit_fts, rowid, operation_name, error)"      \
    "    VALUES ('delete', OLD.seq, OLD.operation_name, OLD.error);"        \
    "END;"
/* FTS5's own check of the search index against audit_log's rows. */
#define FTS_MATCHES_ITS_CONTENT                                             \
    "INSERT INTO audit_fts(audit_fts, rank) VALUES ('integrity-check', 1);"

/* Versions 1 to 10 had four single-column indexes that a wider one on the
** same column and created_at repeats; version 11 drops them. */
#define SHAPE_OF_VERSION_10                                                 \
    SHAPE_OF_VERSION_11                                                     \
    "CREATE INDEX idx_audit_user ON audit_log(user_id);"                    \
    "CREATE INDEX idx_audit_type ON audit_log(event_type);"                 \
    "CREATE INDEX idx_audit_server ON audit_log(json_extract(server, '$.name'))" \
    "  WHERE server IS NOT NULL;"                                           \
    "CREATE INDEX idx_audit_session ON audit_log(session_id)"               \
    "  WHERE session_id IS NOT NULL;"
#define SINGLE_COLUMN_INDEXES_OF_VERSION_10                                 \
    "SELECT count(*) FROM sqlite_master WHERE name IN ('idx_audit_user',"   \
    " 'idx_audit_type', 'idx_audit_server', 'idx_audit_session')"
#define SHAPE_OF_VERSION_9 SHAPE_OF_VERSION_10 ACTIVITY_TRIGGER_OF_VERSION_3

/* Version 8 had no Merkle tree, checkpoint notes, cosignatures or
** witnesses. */
#define SHAPE_OF_VERSION_8                                                  \
    SHAPE_OF_VERSION_9                                                      \
    "DROP TABLE tree; DROP TABLE cosignatures; DROP TABLE witnesses;"       \
    "ALTER TABLE checkpoints DROP COLUMN note;"

/* Version 7 had none of the columns of relayed and hooked calls. */
#define SHAPE_OF_VERSION_7                                                  \
    SHAPE_OF_VERSION_8                                                      \
    "DROP INDEX idx_audit_server; DROP INDEX idx_audit_session;"            \
    "DROP INDEX idx_audit_completes; DROP INDEX idx_audit_server_date;"    \
    "DROP INDEX idx_audit_session_date;"                                    \
    "ALTER TABLE audit_log DROP COLUMN server;"                             \
    "ALTER TABLE audit_log DROP COLUMN session_id;"                         \
    "ALTER TABLE audit_log DROP COLUMN duration_ms;"                        \
    "ALTER TABLE audit_log DROP COLUMN completes;"                          \
    "ALTER TABLE audit_log DROP COLUMN cwd;"

/* Open an older database, append to it and count its user's activity; the
** schema must come out at version 10 with every entry kept and counted
** once (a trigger left in place would count the new one twice), and a
** Merkle tree of both entries (three stored hashes). */
#define USER_DATE_INDEX_COLUMNS \
    "SELECT count(*) FROM pragma_index_info('idx_audit_user_date')"

static int migrated_ok(const char *path)
{
    char err[STORE_ERRLEN];
    store *s = open_path(path, 0, NULL, err);
    if (!s) return 0;
    int ra = append_simple(s, "t", "op", "u", "q", NULL, NULL);
    store_activity a = {0};
    int rq = store_user_activity(s, "u", "1970-01-01T00:00:00.000000Z", NULL, &a, err);
    cJSON_Delete(a.by_type);
    store_close(s);
    if (ra != STORE_OK || rq != STORE_OK || a.total != 2 || a.projects != 2) {
        fprintf(stderr, "append %d, activity %d: %lld entries, %lld projects\n", ra, rq,
                (long long)a.total, (long long)a.projects);
        return 0;
    }
    return sql_int(path, "PRAGMA user_version") == 12 && sql_int(path, HAS_FTS_DOCSIZE) == 0 &&
           sql_exec(path, FTS_MATCHES_ITS_CONTENT, NULL, 0) == SQLITE_OK &&
           sql_int(path, SINGLE_COLUMN_INDEXES_OF_VERSION_10) == 0 && sql_int(path, HAS_RECENCY_INDEX) == 0 &&
           sql_int(path, "SELECT count(*) FROM tree") == 3 &&
           sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'activity_insert'") == 0 &&
           sql_int(path, "SELECT count(*) FROM pragma_table_info('audit_log')"
                         " WHERE name IN ('server', 'session_id', 'duration_ms',"
                         " 'completes', 'cwd')") == 5 &&
           sql_int(path, USER_DATE_INDEX_COLUMNS) == 5 && sql_count(path) == 2;
}

/* A database this store made, holding one entry, turned back into an
** older version's shape by sql (which also sets its user_version). */
static int older_database(const char *sql, char *path, size_t len)
{
    if (fresh_tmp() != 0 || file_with_entry("audit.db", path, len) != 0) return -1;
    return sql_exec(path, sql, NULL, 0) == SQLITE_OK ? 0 : -1;
}

/* Version 5 had the recency index that version 6 drops. */
TEST(version_5_database_migrates_to_current)
{
    char path[256];
    ASSERT_EQ_INT(older_database(SHAPE_OF_VERSION_7 RECENCY_INDEX_OF_VERSION_3
                                 "PRAGMA user_version = 5;",
                                 path, sizeof path), 0);
    ASSERT_EQ_INT(sql_int(path, HAS_RECENCY_INDEX), 1);
    ASSERT(migrated_ok(path));
}

/* Version 6 had the two-column user/time index that version 7 widens so
** that activity's partial day reads the index alone. */
TEST(version_6_database_migrates_to_current)
{
    char path[256];
    ASSERT_EQ_INT(older_database(SHAPE_OF_VERSION_7 "DROP INDEX idx_audit_user_date;"
                                 "CREATE INDEX idx_audit_user_date ON audit_log(user_id, created_at);"
                                 "PRAGMA user_version = 6;",
                                 path, sizeof path), 0);
    ASSERT_EQ_INT(sql_int(path, USER_DATE_INDEX_COLUMNS), 2);
    ASSERT(migrated_ok(path));
}

/* Version 4 also filled the search index by a trigger, which version 5
** drops: both steps run, in order. */
TEST(version_4_database_migrates_to_current)
{
    char path[256];
    ASSERT_EQ_INT(older_database(SHAPE_OF_VERSION_7 RECENCY_INDEX_OF_VERSION_3 FTS_TRIGGER_OF_VERSION_3
                                 "PRAGMA user_version = 4;",
                                 path, sizeof path), 0);
    ASSERT(migrated_ok(path));
    ASSERT_EQ_INT(sql_int(path, "SELECT count(*) FROM sqlite_master"
                                " WHERE name = 'audit_fts_insert'"), 0);
}

/* Version 11 kept column sizes in the search index, which version 12
** builds again without them: the entries stay findable, the index agrees
** with them, and later appends and deletions keep it so. */
TEST(version_11_database_migrates_to_current)
{
    char path[256];
    ASSERT_EQ_INT(older_database(SHAPE_OF_VERSION_11 "PRAGMA user_version = 11;", path, sizeof path), 0);
    ASSERT_EQ_INT(sql_int(path, HAS_FTS_DOCSIZE), 1);
    ASSERT(migrated_ok(path));
    char err[STORE_ERRLEN];
    store *s = open_path(path, 0, NULL, err);
    ASSERT(s);
    int rc = append_simple(s, "t", "searchable_op", "u", "p", "disk quota", NULL);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_OK);
    ASSERT_EQ_INT(sql_int(path, "SELECT count(*) FROM audit_fts WHERE audit_fts MATCH 'chabl'"), 1);
    ASSERT_EQ_INT(sql_int(path, "SELECT count(*) FROM audit_fts WHERE audit_fts MATCH 'quot'"), 1);
    ASSERT_EQ_INT(sql_exec(path, FTS_MATCHES_ITS_CONTENT, NULL, 0), SQLITE_OK);
}

/* Version 10 had the four single-column indexes that version 11 drops;
** its entries stay, and history by user still finds them. */
TEST(version_10_database_migrates_to_current)
{
    char path[256];
    ASSERT_EQ_INT(older_database(SHAPE_OF_VERSION_10 "PRAGMA user_version = 10;", path, sizeof path), 0);
    ASSERT_EQ_INT(sql_int(path, SINGLE_COLUMN_INDEXES_OF_VERSION_10), 4);
    ASSERT(migrated_ok(path));
}

/* Version 9 counted activity with a trigger per row; version 10 counts
** each transaction's entries at its commit, once. */
TEST(version_9_database_migrates_to_current)
{
    char path[256];
    ASSERT_EQ_INT(older_database(SHAPE_OF_VERSION_9 "PRAGMA user_version = 9;", path, sizeof path), 0);
    ASSERT(migrated_ok(path));
}

/* Version 8 had neither the Merkle tree nor the counting at commit: both
** steps run, in order. */
TEST(version_8_database_migrates_to_current)
{
    char path[256];
    ASSERT_EQ_INT(older_database(SHAPE_OF_VERSION_8 "PRAGMA user_version = 8;", path, sizeof path), 0);
    ASSERT(migrated_ok(path));
}

/* Whether every entry's stored hash is its recomputed hash, chained. */
typedef struct chain_walk {
    uint8_t prev[CHAIN_HASH_BYTES];
    int ok, n;
} chain_walk;

static int walk_link(void *ctx, const store_raw_entry *e)
{
    chain_walk *w = ctx;
    if (!chain_entry_matches(&e->f, e->f.seq, w->prev, e->hash) ||
        memcmp(e->prev_hash, w->prev, CHAIN_HASH_BYTES) != 0)
        w->ok = 0;
    memcpy(w->prev, e->hash, CHAIN_HASH_BYTES);
    w->n++;
    return 0;
}

static int chain_intact(const char *path)
{
    char err[STORE_ERRLEN];
    store *s = open_path(path, 1, NULL, err);
    chain_walk w = {.ok = 1};
    int rc = s ? store_each_entry(s, 1, walk_link, &w, err) : STORE_EIO;
    store_close(s);
    return rc == STORE_OK && w.ok && w.n > 0;
}

/* Version 7's entries keep their v1 hashes, and entries appended after
** the upgrade chain on from them. */
TEST(version_7_database_migrates_to_current_and_its_entries_verify)
{
    char path[256];
    ASSERT_EQ_INT(older_database(SHAPE_OF_VERSION_7 "PRAGMA user_version = 7;", path, sizeof path), 0);
    ASSERT(migrated_ok(path));
    ASSERT_EQ_INT(chain_intact(path), 1);
}

/* A read-only open cannot migrate, and says so instead of serving a
** database whose schema it does not expect. */
TEST(version_5_database_refused_readonly)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(file_with_entry("audit.db", path, sizeof path), 0);
    ASSERT_EQ_INT(sql_exec(path, RECENCY_INDEX_OF_VERSION_3 "PRAGMA user_version = 5;",
                           NULL, 0), SQLITE_OK);
    int rc = 0;
    store *s = open_path(path, 1, &rc, err);
    store_close(s);
    ASSERT(s == NULL);
    ASSERT_EQ_INT(rc, STORE_EREADONLY);
    ASSERT_CONTAINS(err, "schema upgrade");
    ASSERT_EQ_INT(sql_int(path, "PRAGMA user_version"), 5);
}

TEST(log_ids_differ_between_databases)
{
    store *a = open_memory(), *b = open_memory();
    int differ = a && b && strcmp(store_log_id(a), store_log_id(b)) != 0;
    store_close(a);
    store_close(b);
    ASSERT(differ);
}

/* ---- refusing foreign files ------------------------------------------- */

TEST(not_a_database_refused_unchanged)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(tmp_path("notes.txt", path, sizeof path), 0);
    char content[4096];
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = "These are my notes, not a database.\n"[i % 36];
    FILE *f = fopen(path, "wb");
    ASSERT(f);
    fwrite(content, 1, sizeof content, f);
    fclose(f);
    chmod(path, 0600);
    int rc = 0;
    store *s = open_path(path, 0, &rc, err);
    store_close(s);
    ASSERT(s == NULL);
    ASSERT_EQ_INT(rc, STORE_ESCHEMA);
    ASSERT_CONTAINS(err, path);
    ASSERT_CONTAINS(err, "not an SQLite database");
    ASSERT(same_bytes(path, content, sizeof content));
}

/* Make a database of some other program at path; returns 0 on success. */
static int make_foreign_db(const char *path, const char *extra_sql)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE foo (x INTEGER, y TEXT);"
             "INSERT INTO foo VALUES (1, 'one'), (2, 'two');%s",
             extra_sql ? extra_sql : "");
    if (sql_exec(path, sql, NULL, 0) != SQLITE_OK) return -1;
    return chmod(path, 0600);
}

TEST(foreign_database_refused)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(tmp_path("other.db", path, sizeof path), 0);
    ASSERT_EQ_INT(make_foreign_db(path, NULL), 0);
    int rc = 0;
    store *s = open_path(path, 0, &rc, err);
    store_close(s);
    ASSERT(s == NULL);
    ASSERT_EQ_INT(rc, STORE_ESCHEMA);
    ASSERT_CONTAINS(err, "other program");
}

TEST(foreign_database_unchanged)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(tmp_path("other.db", path, sizeof path), 0);
    ASSERT_EQ_INT(make_foreign_db(path, NULL), 0);
    size_t len = 0;
    char *before = slurp(path, &len);
    ASSERT(before);
    int rc = 0;
    store *s = open_path(path, 0, &rc, err);
    store_close(s);
    int same = same_bytes(path, before, len);
    free(before);
    ASSERT_EQ_INT(rc, STORE_ESCHEMA);
    ASSERT(same);
}

TEST(newer_schema_refused)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(tmp_path("future.db", path, sizeof path), 0);
    ASSERT_EQ_INT(make_foreign_db(path, "PRAGMA user_version = 99;"), 0);
    int rc = 0;
    store *s = open_path(path, 0, &rc, err);
    store_close(s);
    ASSERT(s == NULL);
    ASSERT_EQ_INT(rc, STORE_ESCHEMA);
    ASSERT_CONTAINS(err, "newer");
    ASSERT_CONTAINS(err, "99");
}

TEST(newer_schema_refused_readonly)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(tmp_path("future.db", path, sizeof path), 0);
    ASSERT_EQ_INT(make_foreign_db(path, "PRAGMA user_version = 99;"), 0);
    int rc = 0;
    store *s = open_path(path, 1, &rc, err);
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_ESCHEMA);
    ASSERT_CONTAINS(err, "newer");
}

TEST(group_writable_file_refused)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(file_with_entry("audit.db", path, sizeof path), 0);
    ASSERT_EQ_INT(chmod(path, 0620), 0);
    int rc = 0;
    store *s = open_path(path, 0, &rc, err);
    store_close(s);
    ASSERT(s == NULL);
    ASSERT(rc != STORE_OK);
    ASSERT_CONTAINS(err, "writable by other users");
}

TEST(other_writable_file_refused)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(file_with_entry("audit.db", path, sizeof path), 0);
    ASSERT_EQ_INT(chmod(path, 0602), 0);
    int rc = 0;
    store *s = open_path(path, 1, &rc, err);
    store_close(s);
    ASSERT(s == NULL);
    ASSERT(rc != STORE_OK);
    ASSERT_CONTAINS(err, "writable by other users");
}

/* ---- read-only -------------------------------------------------------- */

TEST(readonly_refuses_begin)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(file_with_entry("audit.db", path, sizeof path), 0);
    store *s = open_path(path, 1, NULL, err);
    ASSERT(s);
    int rc = store_begin(s, err);
    int in_tx = store_in_transaction(s);
    store_query q = query_all();
    int ok = finds_seqs(s, &q, "1");
    store_close(s);
    ASSERT_EQ_INT(rc, STORE_EREADONLY);
    ASSERT_EQ_INT(in_tx, 0);
    ASSERT(ok);
}

TEST(readonly_and_writer_share_log_id)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], err[STORE_ERRLEN];
    ASSERT_EQ_INT(file_with_entry("audit.db", path, sizeof path), 0);
    store *w = open_path(path, 0, NULL, err);
    ASSERT(w);
    store *r = open_path(path, 1, NULL, err);
    int same = r && strcmp(store_log_id(w), store_log_id(r)) == 0;
    /* The reader sees what the writer commits. */
    int appended = append_simple(w, "t", "later", "u", "p", NULL, NULL) == STORE_OK;
    store_query q = query_all();
    int sees = r && finds_seqs(r, &q, "2,1");
    store_close(r);
    store_close(w);
    ASSERT(same);
    ASSERT(appended);
    ASSERT(sees);
}

/* ---- when the write-ahead log is copied back ---------------------------- */

/* The size of a file in bytes, -1 when it does not exist. */
static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* One WAL page on disk: the page and its 24-byte frame header. */
#define WAL_FRAME_BYTES (4096 + 24)

/* Append n entries, each with about `kib` KiB of args, in one transaction. */
static int append_big(store *s, int n, int kib)
{
    char err[STORE_ERRLEN];
    size_t len = (size_t)kib * 1024;
    char *args = malloc(len + 3);
    if (!args) return STORE_ENOMEM;
    args[0] = '"';
    memset(args + 1, 'x', len);
    args[len + 1] = '"';
    args[len + 2] = '\0';
    store_record r = rec_of("t", "big", "u", "p", NULL);
    r.args = args;
    store_receipt rc;
    int code = store_begin(s, err);
    for (int i = 0; i < n && code == STORE_OK; i++) code = store_append(s, &r, &rc, err);
    if (code == STORE_OK) code = store_commit(s, err);
    else store_rollback(s);
    if (code != STORE_OK) fprintf(stderr, "append_big: %d %s\n", code, err);
    free(args);
    return code;
}

/* Commits leave their pages in the WAL well past SQLite's default of 1,000
** (which copied them back after nearly every group commit); store_idle()
** copies them back, and only once the WAL has grown. */
TEST(commits_leave_pages_in_the_wal_until_store_idle)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], wal[300], err[STORE_ERRLEN];
    ASSERT_EQ_INT(tmp_path("audit.db", path, sizeof path), 0);
    snprintf(wal, sizeof wal, "%s-wal", path);
    store *s = open_path(path, 0, NULL, err);
    ASSERT(s);
    long long db0 = file_size(path);
    /* A few pages only: nothing to do yet. */
    ASSERT_EQ_INT(append_simple(s, "t", "op", "u", "p", NULL, NULL), STORE_OK);
    ASSERT_EQ_INT(store_idle(s, err), STORE_OK);
    ASSERT_EQ_INT(file_size(path), db0);
    /* 30 commits of 10 entries of 12 KiB: about 1,500 WAL pages. */
    for (int i = 0; i < 30; i++) ASSERT_EQ_INT(append_big(s, 10, 12), STORE_OK);
    long long wal_bytes = file_size(wal);
    ASSERT(wal_bytes > 1200LL * WAL_FRAME_BYTES);
    ASSERT_EQ_INT(file_size(path), db0);
    /* The quiet moment copies everything back. */
    ASSERT_EQ_INT(store_idle(s, err), STORE_OK);
    long long db1 = file_size(path);
    store_stats st;
    int rs = store_get_stats(s, NULL, 0, NULL, NULL, &st, err);
    store_close(s);
    ASSERT_EQ_INT(rs, STORE_OK);
    store_stats_free(&st);
    ASSERT_EQ_INT(st.entries, 301);
    /* The file holds every page: SQLite sizes it exactly once all of the
    ** WAL is copied back. */
    ASSERT(db1 > db0);
    ASSERT_EQ_INT(db1, st.db_bytes);
}

/* Under sustained load there is no quiet moment: the commit that brings the
** WAL to 10,000 pages copies it back itself, and none before it does. */
TEST(the_commit_that_reaches_10000_wal_pages_copies_them_back)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], wal[300], err[STORE_ERRLEN];
    ASSERT_EQ_INT(tmp_path("audit.db", path, sizeof path), 0);
    snprintf(wal, sizeof wal, "%s-wal", path);
    store *s = open_path(path, 0, NULL, err);
    ASSERT(s);
    long long db0 = file_size(path), wal_at_copy = -1;
    /* Commits of about 500 pages each: 20 reach 10,000, 40 go well past. */
    for (int i = 0; i < 40 && wal_at_copy < 0; i++) {
        if (append_big(s, 10, 200) != STORE_OK) {
            store_close(s);
            TEST_FAIL_("append failed");
        }
        /* The copy leaves the WAL file as it is; the next commit reuses it. */
        if (file_size(path) != db0) wal_at_copy = file_size(wal);
    }
    store_close(s);
    if (wal_at_copy < 0) TEST_FAIL_("no commit copied the WAL back");
    ASSERT(wal_at_copy >= 10000LL * WAL_FRAME_BYTES);
    ASSERT(wal_at_copy < 11000LL * WAL_FRAME_BYTES);
}

/* After an outsized transaction (a prune, a migration) the WAL file is cut
** back to 64 MiB when it restarts, instead of keeping its largest size. */
TEST(the_wal_file_shrinks_back_after_an_outsized_transaction)
{
    ASSERT_EQ_INT(fresh_tmp(), 0);
    char path[256], wal[300], err[STORE_ERRLEN];
    ASSERT_EQ_INT(tmp_path("audit.db", path, sizeof path), 0);
    snprintf(wal, sizeof wal, "%s-wal", path);
    store *s = open_path(path, 0, NULL, err);
    ASSERT(s);
    /* 80 MiB in one transaction; its commit copies it back. */
    int big = append_big(s, 80, 1024);
    long long outsized = file_size(wal);
    int small = append_simple(s, "t", "op", "u", "p", NULL, NULL);
    long long after = file_size(wal);
    store_close(s);
    ASSERT_EQ_INT(big, STORE_OK);
    ASSERT_EQ_INT(small, STORE_OK);
    ASSERT(outsized > 64LL << 20);
    ASSERT(after <= 64LL << 20);
}

TEST_MAIN(
    TEST_ENTRY(remote_paths_by_libpq_keywords)
    TEST_ENTRY(redact_masks_every_password)
    TEST_ENTRY(wipe_overwrites_passwords_in_place)
    TEST_ENTRY(open_memory)
    TEST_ENTRY(close_null_is_fine)
    TEST_ENTRY(open_creates_file_0600_and_parent_dirs)
    TEST_ENTRY(open_file_mode_0600_despite_permissive_umask)
    TEST_ENTRY(readonly_open_of_missing_file_fails)
    TEST_ENTRY(open_directory_refused)
    TEST_ENTRY(append_outside_transaction_fails)
    TEST_ENTRY(begin_twice_fails)
    TEST_ENTRY(commit_and_savepoint_without_transaction_fail)
    TEST_ENTRY(append_commit_find_returns_all_fields)
    TEST_ENTRY(optional_json_fields_round_trip)
    TEST_ENTRY(second_entry_prev_hash_is_first_hash)
    TEST_ENTRY(seq_increments)
    TEST_ENTRY(several_appends_in_one_transaction)
    TEST_ENTRY(entry_ids_are_uuid7_growing_with_seq)
    TEST_ENTRY(find_newest_first)
    TEST_ENTRY(find_filter_project)
    TEST_ENTRY(find_filter_user)
    TEST_ENTRY(find_filter_operation_name)
    TEST_ENTRY(find_filter_event_type)
    TEST_ENTRY(find_filters_combine_with_and)
    TEST_ENTRY(find_filter_no_match)
    TEST_ENTRY(find_filter_is_exact_not_prefix)
    TEST_ENTRY(find_limit_offset)
    TEST_ENTRY(find_more_flag)
    TEST_ENTRY(find_more_out_may_be_null)
    TEST_ENTRY(find_since_until_inclusive)
    TEST_ENTRY(find_since_only)
    TEST_ENTRY(find_until_only)
    TEST_ENTRY(find_range_single_instant)
    TEST_ENTRY(find_range_outside_is_empty)
    TEST_ENTRY(text_search_finds_entries_of_committed_transactions)
    TEST_ENTRY(text_search_inside_a_transaction_sees_its_own_entries)
    TEST_ENTRY(text_search_forgets_rolled_back_entries)
    TEST_ENTRY(tx_has_writes_only_after_an_append)
    TEST_ENTRY(text_search_percent_is_literal)
    TEST_ENTRY(text_search_underscore_is_literal)
    TEST_ENTRY(text_search_backslash_is_literal)
    TEST_ENTRY(text_search_case_insensitive_ascii)
    TEST_ENTRY(text_search_matches_error_or_operation_name)
    TEST_ENTRY(text_search_combines_with_filters)
    TEST_ENTRY(get_found)
    TEST_ENTRY(get_not_found)
    TEST_ENTRY(user_activity_counts)
    TEST_ENTRY(user_activity_counts_a_transaction_once_inside_and_after_it)
    TEST_ENTRY(rows_counted_inside_a_savepoint_leave_with_it)
    TEST_ENTRY(an_entry_that_fails_to_insert_is_neither_searched_nor_counted)
    TEST_ENTRY(user_activity_ties_ordered_by_name)
    TEST_ENTRY(user_activity_respects_since)
    TEST_ENTRY(user_activity_partial_day_matches_a_plain_count)
    TEST_ENTRY(user_activity_unknown_user)
    TEST_ENTRY(projects_touched_equals_a_count_over_entries)
    TEST_ENTRY(cursor_of_seq_alone_finds_the_entries_before_it)
    TEST_ENTRY(savepoint_rollback_discards_only_that_request)
    TEST_ENTRY(rollback_discards_all)
    TEST_ENTRY(close_with_open_transaction_rolls_back)
    TEST_ENTRY(update_blocked_by_trigger)
    TEST_ENTRY(delete_blocked_by_trigger)
    TEST_ENTRY(reopen_keeps_log_id_and_chain)
    TEST_ENTRY(new_database_has_no_project_recency_index)
    TEST_ENTRY(version_5_database_migrates_to_current)
    TEST_ENTRY(version_4_database_migrates_to_current)
    TEST_ENTRY(version_11_database_migrates_to_current)
    TEST_ENTRY(version_10_database_migrates_to_current)
    TEST_ENTRY(version_9_database_migrates_to_current)
    TEST_ENTRY(version_8_database_migrates_to_current)
    TEST_ENTRY(version_6_database_migrates_to_current)
    TEST_ENTRY(version_7_database_migrates_to_current_and_its_entries_verify)
    TEST_ENTRY(version_5_database_refused_readonly)
    TEST_ENTRY(log_ids_differ_between_databases)
    TEST_ENTRY(not_a_database_refused_unchanged)
    TEST_ENTRY(foreign_database_refused)
    TEST_ENTRY(foreign_database_unchanged)
    TEST_ENTRY(newer_schema_refused)
    TEST_ENTRY(newer_schema_refused_readonly)
    TEST_ENTRY(group_writable_file_refused)
    TEST_ENTRY(other_writable_file_refused)
    TEST_ENTRY(readonly_refuses_begin)
    TEST_ENTRY(readonly_and_writer_share_log_id)
    TEST_ENTRY(commits_leave_pages_in_the_wal_until_store_idle)
    TEST_ENTRY(the_commit_that_reaches_10000_wal_pages_copies_them_back)
    TEST_ENTRY(the_wal_file_shrinks_back_after_an_outsized_transaction)
)
