/*
** test_conformance.c: one behaviour suite for every backend of store.h.
**
** The same source is built once and registered twice in ctest: as
** store_sqlite.* (a SQLite file in a fresh temporary folder) and as
** store_pg.* (a fresh PostgreSQL database per case, tests/pg/pgtest.h, on
** the ctest fixture `pg`).  DSS_CONFORMANCE_BACKEND (sqlite or pg), set by
** each registration, picks the backend.  The cases reach storage through
** store.h alone; only the hooks that break a store on purpose (tampering as
** a database owner, a full disk, a lost connection, a slow query) speak to
** the backend directly, each in one small function per backend below.
**
** Cases named pg_only_* need several logs in one database, which only
** PostgreSQL holds: tests/CMakeLists.txt registers them for pg alone, by
** name, so the SQLite run never sees them (no skip at run time).
**
** The program is linked with -Wl,--wrap=ts_now_us: the stores' clock goes
** through __wrap_ts_now_us() below, which moves on by one second per call
** from a fixed instant, so created_at values are known, distinct and in
** seq order, and cases can place entries on chosen days.
*/
#include "test.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "integrity/checkpoint.h"
#include "raw_copy.h"
#include "integrity/signer.h"
#include "integrity/verify.h"
#include "store/chain.h"
#include "store/store.h"
#include "tlog/merkle.h"
#include "util/jbuf.h"
#include "util/ts.h"
#include "pgtest.h"

/* ---- the clock ---------------------------------------------------------- */

/* 2026-03-02T00:00:00Z, a Monday; each reading moves on by clock_step. */
#define T0 1772409600000000LL
#define DAY_US 86400000000LL
#define HOUR_US 3600000000LL
static int64_t clock_now = T0;
static int64_t clock_step = 1000000;

int64_t __real_ts_now_us(void);
int64_t __wrap_ts_now_us(void);
int64_t __wrap_ts_now_us(void)
{
    int64_t t = clock_now;
    clock_now += clock_step;
    return t;
}

/* ---- the backend under test --------------------------------------------- */

static int is_pg(void)
{
    const char *b = getenv("DSS_CONFORMANCE_BACKEND");
    return b && strcmp(b, "pg") == 0;
}

static char tmp_dir[64];
static char target[1024]; /* the SQLite file or the PostgreSQL conninfo */

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
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

/* Drop the case's database (conninfo ends with "dbname=NAME", as
** pgtest_new_db() writes it), so that a run of many cases leaves the
** cluster small and quick to stop.  Its connections must be closed. */
static void drop_db(const char *conninfo)
{
    const char *at = strstr(conninfo, "dbname=");
    if (!at) return;
    char admin[1024], sql[256];
    snprintf(admin, sizeof admin, "%.*sdbname=postgres", (int)(at - conninfo), conninfo);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", at + 7);
    pgtest_exec(admin, sql);
}

static void cleanup(void)
{
    if (tmp_dir[0]) rm_rf(tmp_dir);
    tmp_dir[0] = '\0';
    if (is_pg() && target[0]) drop_db(target);
    target[0] = '\0';
}

/* A fresh database for the case (and a fresh folder for keys and files):
** 0, or -1 with a sentence on stderr. */
static int fresh_db(void)
{
    static int registered;
    cleanup();
    clock_now = T0;
    clock_step = 1000000;
    strcpy(tmp_dir, "/tmp/dss-conf-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        tmp_dir[0] = '\0';
        return -1;
    }
    if (!registered) atexit(cleanup);
    registered = 1;
    if (!is_pg()) {
        snprintf(target, sizeof target, "%s/audit.db", tmp_dir);
        return 0;
    }
    pgtest_new_db(target, sizeof target); /* aborts when it cannot */
    return 0;
}

/* A store on the case's database whose own log is log_name.  NULL (with the
** reason on stderr) on failure. */
static store *open_log_opt(const char *log_name, int64_t max_bytes)
{
    store_options o;
    memset(&o, 0, sizeof o);
    o.path = target;
    o.log_name = log_name;
    o.max_bytes = max_bytes;
    store *s = NULL;
    char err[STORE_ERRLEN];
    int rc = store_open(&o, &s, err);
    if (rc != STORE_OK) {
        fprintf(stderr, "store_open(%s): %d %s\n", log_name, rc, err);
        return NULL;
    }
    return s;
}

static store *open_log(const char *log_name) { return open_log_opt(log_name, 0); }

/* A fresh database and a store on its log "alpha". */
static store *fresh(void)
{
    return fresh_db() == 0 ? open_log("alpha") : NULL;
}

/* Run SQL as the database's owner (PostgreSQL: the superuser) or through
** the sqlite3 library on the file: what someone who can edit the database
** does.  0 or -1 (reason on stderr). */
static int owner_exec(const char *sql)
{
    char err[512];
    if (is_pg()) {
        return pgtest_exec_err(target, sql, err, sizeof err) == 0 ? 0 : -1;
    }
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(target, &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "sqlite3: %s\n", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Tampering as the owner: change the args of the entry at seq of the
** selected log, or delete it, past the append-only guards (PostgreSQL: a
** superuser's session with triggers off, session_replication_role). */
static int tamper_args(store *s, int64_t seq)
{
    char sql[1024];
    if (is_pg())
        snprintf(sql, sizeof sql,
                 "SET session_replication_role = replica;"
                 "UPDATE dss_audit.entries SET args = '{\"tampered\":true}'"
                 " WHERE log_id = '%s' AND seq = %lld;",
                 store_log_id(s), (long long)seq);
    else
        snprintf(sql, sizeof sql,
                 "DROP TRIGGER audit_log_no_update;"
                 "UPDATE audit_log SET args = '{\"tampered\":true}' WHERE seq = %lld;",
                 (long long)seq);
    return owner_exec(sql);
}

static int tamper_delete(store *s, int64_t seq)
{
    char sql[1024];
    if (is_pg())
        snprintf(sql, sizeof sql,
                 "SET session_replication_role = replica;"
                 "DELETE FROM dss_audit.entries WHERE log_id = '%s' AND seq = %lld;",
                 store_log_id(s), (long long)seq);
    else
        snprintf(sql, sizeof sql,
                 "DROP TRIGGER audit_log_no_delete;"
                 "DELETE FROM audit_log WHERE seq = %lld;",
                 (long long)seq);
    return owner_exec(sql);
}

/* One column of the entries' table as the database describes it. */
typedef struct column {
    char name[64];
    char type[32];  /* as declared (SQLite) or information_schema's data_type */
    int nullable;
} column;

/* The columns of the table that holds entries, in their order, into
** cols (at most max); returns how many, or -1 (reason on stderr). */
static int table_columns(column *cols, int max)
{
    int n = 0;
    if (is_pg()) {
        PGconn *c = PQconnectdb(target);
        PGresult *r = PQexec(c, "SELECT column_name, data_type, is_nullable"
                                " FROM information_schema.columns"
                                " WHERE table_schema = 'dss_audit' AND table_name = 'entries'"
                                " ORDER BY ordinal_position");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "information_schema: %s\n", PQerrorMessage(c));
            n = -1;
        }
        for (int i = 0; n >= 0 && i < PQntuples(r) && n < max; i++, n++) {
            snprintf(cols[n].name, sizeof cols[n].name, "%s", PQgetvalue(r, i, 0));
            snprintf(cols[n].type, sizeof cols[n].type, "%s", PQgetvalue(r, i, 1));
            cols[n].nullable = strcmp(PQgetvalue(r, i, 2), "YES") == 0;
        }
        PQclear(r);
        PQfinish(c);
        return n;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(target, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA table_info(audit_log)", -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "table_info: %s\n", sqlite3_errmsg(db));
        n = -1;
    }
    while (n >= 0 && n < max && sqlite3_step(st) == SQLITE_ROW) {
        /* cid, name, type, notnull, dflt_value, pk: the INTEGER PRIMARY
        ** KEY (seq) is the rowid, never NULL whatever notnull says. */
        snprintf(cols[n].name, sizeof cols[n].name, "%s", sqlite3_column_text(st, 1));
        snprintf(cols[n].type, sizeof cols[n].type, "%s", sqlite3_column_text(st, 2));
        cols[n].nullable = !sqlite3_column_int(st, 3) && !sqlite3_column_int(st, 5);
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* The column type each kind of field is stored in, per backend. */
static const char *column_type(entry_type t)
{
    switch (t) {
    case ENTRY_SEQ:
    case ENTRY_INT: return is_pg() ? "bigint" : "INTEGER";
    case ENTRY_HASH: return is_pg() ? "bytea" : "BLOB";
    default: return is_pg() ? "text" : "TEXT";
    }
}

/* ---- helpers ------------------------------------------------------------ */

static store_record rec(const char *type, const char *op, const char *label)
{
    store_record r;
    memset(&r, 0, sizeof r);
    r.event_type = type;
    r.operation_name = op;
    r.operation_id = label; /* every case names its entries by operation_id */
    r.args = "{}";
    return r;
}

/* Append r in a transaction of its own; STORE_OK or the code. */
static int put(store *s, const store_record *r, store_receipt *out)
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

/* Append n entries labelled prefix1..prefixN (operation "op"). */
static int put_n(store *s, const char *prefix, int n)
{
    for (int i = 1; i <= n; i++) {
        char label[64];
        snprintf(label, sizeof label, "%s%d", prefix, i);
        store_record r = rec("tool_call", "op", label);
        if (put(s, &r, NULL) != STORE_OK) return -1;
    }
    return 0;
}

static store_query all(void)
{
    store_query q;
    memset(&q, 0, sizeof q);
    q.limit = 1000;
    return q;
}

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

static const char *str_of(const cJSON *e, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long int_of(const cJSON *e, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

/* The labels (operation_id) of entries in order, as "a3,a2,a1". */
static void labels(const cJSON *arr, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        const char *l = str_of(e, "operation_id");
        n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "," : "", l ? l : "?");
        if (n >= len) break;
    }
}

/* Run q and compare the labels with want; 1 on a match. */
static int finds(store *s, const store_query *q, const char *want)
{
    char got[4096];
    cJSON *arr = find(s, q, NULL);
    if (!arr) return 0;
    labels(arr, got, sizeof got);
    cJSON_Delete(arr);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "query gave [%s], want [%s]\n", got, want);
        return 0;
    }
    return 1;
}

typedef struct rows_of_logs {
    char text[1024];
    size_t n;
} rows_of_logs;

/* Hex to 32 bytes: 0, or -1 when hex is not 64 hex digits. */
static int hex_to_hash(const char *hex, uint8_t out[CHAIN_HASH_BYTES])
{
    if (strlen(hex) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* ---- append and get --------------------------------------------------- */

TEST(append_then_get_reads_every_field)
{
    store *s = fresh();
    ASSERT(s);
    store_record r = rec("tool_call", "deploy_app", "op-1");
    r.user_id = "alice";
    r.project_id = "shop";
    r.args = "{\"env\":\"prod\",\"n\":12345678901234567}";
    r.result = "[1,2,3]";
    r.error = "it broke";
    r.before_state = "{\"v\":1}";
    r.after_state = "{\"v\":2}";
    r.client = "{\"name\":\"claude\",\"version\":\"1.0\"}";
    store_receipt rc;
    ASSERT_EQ_INT(put(s, &r, &rc), STORE_OK);
    ASSERT_EQ_INT(rc.seq, 1);
    ASSERT_EQ_INT(strlen(rc.hash), 64);
    cJSON *e = NULL;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_get(s, rc.id, &e, err), STORE_OK);
    ASSERT_EQ_INT(int_of(e, "seq"), 1);
    ASSERT_EQ_STR(str_of(e, "id"), rc.id);
    ASSERT_EQ_STR(str_of(e, "event_type"), "tool_call");
    ASSERT_EQ_STR(str_of(e, "operation_name"), "deploy_app");
    ASSERT_EQ_STR(str_of(e, "operation_id"), "op-1");
    ASSERT_EQ_STR(str_of(e, "user_id"), "alice");
    ASSERT_EQ_STR(str_of(e, "project_id"), "shop");
    ASSERT_EQ_STR(str_of(e, "error"), "it broke");
    ASSERT_EQ_STR(str_of(e, "created_at"), rc.created_at);
    ASSERT_EQ_STR(str_of(e, "hash"), rc.hash);
    char *text = cJSON_PrintUnformatted(e);
    /* JSON columns are spliced as stored: the big number stays exact. */
    ASSERT_CONTAINS(text, "\"args\":{\"env\":\"prod\",\"n\":12345678901234567}");
    ASSERT_CONTAINS(text, "\"result\":[1,2,3]");
    ASSERT_CONTAINS(text, "\"before_state\":{\"v\":1},\"after_state\":{\"v\":2}");
    ASSERT_CONTAINS(text, "\"client\":{\"name\":\"claude\",\"version\":\"1.0\"}");
    free(text);
    cJSON_Delete(e);
    store_close(s);
}

TEST(get_unknown_id_is_not_found)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 1), 0);
    cJSON *e = NULL;
    char err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(store_get(s, "01890000-0000-7000-8000-000000000000", &e, err),
                  STORE_ENOTFOUND);
    ASSERT(err[0]);
    store_close(s);
}

/* The keys of an entry, in order, as "seq,id,...". */
static void keys_of(const cJSON *e, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (const cJSON *c = e->child; c; c = c->next)
        n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "," : "", c->string);
}

TEST(entry_keys_in_order_v2_omitted_when_null_log_last)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 1), 0);
    store_query q = all();
    cJSON *arr = find(s, &q, NULL);
    ASSERT(arr && cJSON_GetArraySize(arr) == 1);
    char keys[1024];
    keys_of(cJSON_GetArrayItem(arr, 0), keys, sizeof keys);
    ASSERT_EQ_STR(keys, "seq,id,event_type,operation_name,operation_id,user_id,project_id,"
                        "args,result,error,before_state,after_state,created_at,client,"
                        "prev_hash,hash,log_id,log");
    char *text = cJSON_PrintUnformatted(arr);
    ASSERT_CONTAINS(text, "\"user_id\":null,\"project_id\":null,\"args\":{},\"result\":null");
    free(text);
    cJSON_Delete(arr);
    store_close(s);
}

TEST(entry_v2_fields_present_when_set)
{
    store *s = fresh();
    ASSERT(s);
    store_record r = rec("tool_call", "read_file", "w1");
    r.server = "{\"name\":\"github\",\"version\":\"2\"}";
    r.session_id = "sess-1";
    r.completes = "req-9";
    r.cwd = "/home/a";
    r.has_duration = 1;
    r.duration_ms = 42;
    ASSERT_EQ_INT(put(s, &r, NULL), STORE_OK);
    store_query q = all();
    cJSON *arr = find(s, &q, NULL);
    ASSERT(arr && cJSON_GetArraySize(arr) == 1);
    const cJSON *e = cJSON_GetArrayItem(arr, 0);
    char keys[1024];
    keys_of(e, keys, sizeof keys);
    ASSERT_EQ_STR(keys, "seq,id,event_type,operation_name,operation_id,user_id,project_id,"
                        "args,result,error,before_state,after_state,created_at,client,"
                        "prev_hash,hash,server,session_id,duration_ms,completes,cwd,"
                        "log_id,log");
    ASSERT_EQ_INT(int_of(e, "duration_ms"), 42);
    ASSERT_EQ_STR(str_of(e, "session_id"), "sess-1");
    ASSERT_EQ_STR(str_of(e, "completes"), "req-9");
    ASSERT_EQ_STR(str_of(e, "cwd"), "/home/a");
    char *text = cJSON_PrintUnformatted(e);
    ASSERT_CONTAINS(text, "\"server\":{\"name\":\"github\",\"version\":\"2\"}");
    free(text);
    cJSON_Delete(arr);
    store_close(s);
}

TEST(json_column_not_json_reads_as_string)
{
    store *s = fresh();
    ASSERT(s);
    store_record r = rec("tool_call", "op", "a1");
    r.args = "not {json";
    r.result = "\"a string\"";
    ASSERT_EQ_INT(put(s, &r, NULL), STORE_OK);
    store_query q = all();
    cJSON *arr = find(s, &q, NULL);
    ASSERT(arr && cJSON_GetArraySize(arr) == 1);
    const cJSON *e = cJSON_GetArrayItem(arr, 0);
    ASSERT_EQ_STR(str_of(e, "args"), "not {json");
    char *text = cJSON_PrintUnformatted(e);
    ASSERT_CONTAINS(text, "\"args\":\"not {json\",\"result\":\"a string\"");
    free(text);
    cJSON_Delete(arr);
    store_close(s);
}

TEST(hashes_print_as_hex_and_link)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 2), 0);
    store_query q = all();
    cJSON *arr = find(s, &q, NULL);
    ASSERT(arr && cJSON_GetArraySize(arr) == 2);
    const cJSON *second = cJSON_GetArrayItem(arr, 0), *first = cJSON_GetArrayItem(arr, 1);
    ASSERT_EQ_STR(str_of(first, "prev_hash"),
                  "0000000000000000000000000000000000000000000000000000000000000000");
    ASSERT_EQ_STR(str_of(second, "prev_hash"), str_of(first, "hash"));
    const char *h = str_of(second, "hash");
    ASSERT(h && strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64);
    cJSON_Delete(arr);
    store_close(s);
}

TEST(entries_carry_log_id_and_name)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_STR(store_log_name(s), "alpha");
    ASSERT_EQ_INT(strlen(store_log_id(s)), 36);
    ASSERT_EQ_INT(put_n(s, "a", 1), 0);
    store_query q = all();
    cJSON *arr = find(s, &q, NULL);
    ASSERT(arr && cJSON_GetArraySize(arr) == 1);
    ASSERT_EQ_STR(str_of(cJSON_GetArrayItem(arr, 0), "log_id"), store_log_id(s));
    ASSERT_EQ_STR(str_of(cJSON_GetArrayItem(arr, 0), "log"), "alpha");
    cJSON_Delete(arr);
    store_close(s);
}

static int collect_log(void *ctx, const store_log *l)
{
    rows_of_logs *r = ctx;
    r->n += (size_t)snprintf(r->text + r->n, sizeof r->text - r->n, "%s%s=%s[%s]",
                             r->n ? " " : "", l->name, l->log_id, l->public_key);
    return 0;
}

TEST(each_log_lists_own_log_and_its_key)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN], want[256];
    rows_of_logs r = {.n = 0};
    ASSERT_EQ_INT(store_each_log(s, collect_log, &r, err), STORE_OK);
    snprintf(want, sizeof want, "alpha=%s[]", store_log_id(s));
    ASSERT_EQ_STR(r.text, want);
    char pk[65], other[65];
    memset(pk, 'a', 64);
    pk[64] = '\0';
    memset(other, 'b', 64);
    other[64] = '\0';
    ASSERT_EQ_INT(store_record_log_key(s, pk, err), STORE_OK);
    ASSERT_EQ_INT(store_record_log_key(s, pk, err), STORE_OK);
    ASSERT_EQ_INT(store_record_log_key(s, other, err), STORE_EINVAL);
    r.n = 0;
    ASSERT_EQ_INT(store_each_log(s, collect_log, &r, err), STORE_OK);
    snprintf(want, sizeof want, "alpha=%s[%s]", store_log_id(s), pk);
    ASSERT_EQ_STR(r.text, want);
    store_close(s);
}

/* ---- find_json ------------------------------------------------------- */

/* Whether find_json prints exactly what find builds for q. */
/* The entries q finds as the text of a JSON array, as the query tools
** print them (store_find_rows() with the entry printer), into out. */
static int find_json(store *s, const store_query *q, jbuf *out, store_page *page, char *err)
{
    entry_array rows = {.out = out};
    jbuf_putc(out, '[');
    int rc = store_find_rows(s, q, entry_array_add, &rows, page, err);
    jbuf_putc(out, ']');
    return rc;
}

static int same_text(store *s, const store_query *q)
{
    char err[STORE_ERRLEN];
    cJSON *arr = find(s, q, NULL);
    if (!arr) return 0;
    char *tree = cJSON_PrintUnformatted(arr);
    jbuf out;
    memset(&out, 0, sizeof out);
    store_page page;
    int rc = find_json(s, q, &out, &page, err);
    int ok = rc == STORE_OK && tree && out.len == strlen(tree) &&
             memcmp(out.p, tree, out.len) == 0 &&
             page.count == cJSON_GetArraySize(arr);
    if (!ok)
        fprintf(stderr, "find_json: %d %s\n  text: %.*s\n  tree: %s\n", rc, err,
                (int)out.len, out.p ? out.p : "", tree ? tree : "");
    jbuf_free(&out);
    free(tree);
    cJSON_Delete(arr);
    return ok;
}

TEST(find_json_prints_what_find_builds)
{
    store *s = fresh();
    ASSERT(s);
    store_record r = rec("tool_call", "deploy \"x\" \\ \x01 é", "a1");
    r.user_id = "alice";
    r.args = "{\"k\": [1, 2.5e3, \"\\u00e9\"]}";
    r.result = "oops not json";
    r.error = "line\nbreak\ttab";
    r.client = "{\"name\":\"c\"}";
    ASSERT_EQ_INT(put(s, &r, NULL), STORE_OK);
    store_record w = rec("tool_result", "call", "a2");
    w.server = "{\"name\":\"github\"}";
    w.session_id = "s1";
    w.has_duration = 1;
    w.duration_ms = 7;
    w.completes = "a1";
    w.cwd = "/tmp";
    ASSERT_EQ_INT(put(s, &w, NULL), STORE_OK);
    ASSERT_EQ_INT(put_n(s, "b", 3), 0);
    store_query q = all();
    ASSERT(same_text(s, &q));
    q.user_id = "alice";
    ASSERT(same_text(s, &q));
    q = all();
    q.server = "github";
    ASSERT(same_text(s, &q));
    q = all();
    q.limit = 2;
    ASSERT(same_text(s, &q));
    q = all();
    q.text = "DEPLOY";
    ASSERT(same_text(s, &q));
    q = all();
    q.user_id = "nobody";
    ASSERT(same_text(s, &q));
    store_close(s);
}

TEST(find_json_page_reports_count_more_and_last)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 5), 0);
    store_query q = all();
    q.limit = 3;
    jbuf out;
    memset(&out, 0, sizeof out);
    store_page page;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(find_json(s, &q, &out, &page, err), STORE_OK);
    ASSERT_EQ_INT(page.count, 3);
    ASSERT_EQ_INT(page.more, 1);
    ASSERT_EQ_INT(page.last_seq, 3);
    ASSERT_EQ_STR(page.last_log_id, store_log_id(s));
    cJSON *arr = cJSON_ParseWithLength(out.p, out.len);
    ASSERT(arr && cJSON_GetArraySize(arr) == 3);
    ASSERT_EQ_STR(page.last_created_at, str_of(cJSON_GetArrayItem(arr, 2), "created_at"));
    cJSON_Delete(arr);
    jbuf_free(&out);
    store_close(s);
}

/* ---- filters ----------------------------------------------------------- */

/* Five entries that differ in every filtered column:
**   f1 alice/shop  tool_call   deploy   server github session s1
**   f2 bob/shop    tool_result deploy   completes f1
**   f3 alice/blog  error       build    server gitlab session s2, error
**   f4 carol/blog  tool_call   build    server github session s1
**   f5 alice/shop  tool_call   deploy
*/
static int put_filter_set(store *s)
{
    static const struct {
        const char *label, *type, *op, *user, *project, *server, *session, *completes,
            *error;
    } rows[] = {
        {"f1", "tool_call", "deploy", "alice", "shop", "{\"name\":\"github\"}", "s1", NULL, NULL},
        {"f2", "tool_result", "deploy", "bob", "shop", NULL, NULL, "f1", NULL},
        {"f3", "error", "build", "alice", "blog", "{\"name\":\"gitlab\"}", "s2", NULL, "failed"},
        {"f4", "tool_call", "build", "carol", "blog", "{\"name\":\"github\",\"version\":\"1\"}", "s1",
         NULL, NULL},
        {"f5", "tool_call", "deploy", "alice", "shop", NULL, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        store_record r = rec(rows[i].type, rows[i].op, rows[i].label);
        r.user_id = rows[i].user;
        r.project_id = rows[i].project;
        r.server = rows[i].server;
        r.session_id = rows[i].session;
        r.completes = rows[i].completes;
        r.error = rows[i].error;
        if (put(s, &r, NULL) != STORE_OK) return -1;
    }
    return 0;
}

TEST(find_all_newest_first)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    ASSERT(finds(s, &q, "f5,f4,f3,f2,f1"));
    store_close(s);
}

TEST(filter_project_id)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.project_id = "blog";
    ASSERT(finds(s, &q, "f4,f3"));
    store_close(s);
}

TEST(filter_user_id)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.user_id = "alice";
    ASSERT(finds(s, &q, "f5,f3,f1"));
    q.user_id = "ALICE"; /* exact, not folded */
    ASSERT(finds(s, &q, ""));
    store_close(s);
}

TEST(filter_operation_name)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.operation_name = "build";
    ASSERT(finds(s, &q, "f4,f3"));
    q.operation_name = "buil"; /* exact, not a prefix */
    ASSERT(finds(s, &q, ""));
    store_close(s);
}

TEST(filter_event_type)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.event_type = "tool_call";
    ASSERT(finds(s, &q, "f5,f4,f1"));
    store_close(s);
}

TEST(filter_server_by_name)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.server = "github";
    ASSERT(finds(s, &q, "f4,f1"));
    q.server = "gitlab";
    ASSERT(finds(s, &q, "f3"));
    store_close(s);
}

TEST(filter_session_id)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.session_id = "s1";
    ASSERT(finds(s, &q, "f4,f1"));
    store_close(s);
}

TEST(filter_completes)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.completes = "f1";
    ASSERT(finds(s, &q, "f2"));
    store_close(s);
}

TEST(filters_combine_with_and)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.user_id = "alice";
    q.project_id = "shop";
    ASSERT(finds(s, &q, "f5,f1"));
    q.event_type = "tool_call";
    q.operation_name = "deploy";
    q.server = "github";
    q.session_id = "s1";
    ASSERT(finds(s, &q, "f1"));
    q.session_id = "s2";
    ASSERT(finds(s, &q, ""));
    q = all();
    q.server = "github";
    q.project_id = "blog";
    ASSERT(finds(s, &q, "f4"));
    store_close(s);
}

TEST(filter_matching_nothing_is_empty)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.project_id = "none";
    int more = 7;
    cJSON *arr = find(s, &q, &more);
    ASSERT(arr && cJSON_GetArraySize(arr) == 0);
    ASSERT_EQ_INT(more, 0);
    cJSON_Delete(arr);
    store_close(s);
}

/* ---- limit, offset, more ----------------------------------------------- */

TEST(limit_sets_more)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 5), 0);
    store_query q = all();
    q.limit = 3;
    int more = 0;
    cJSON *arr = find(s, &q, &more);
    ASSERT(arr);
    char got[256];
    labels(arr, got, sizeof got);
    ASSERT_EQ_STR(got, "a5,a4,a3");
    ASSERT_EQ_INT(more, 1);
    cJSON_Delete(arr);
    q.limit = 5;
    arr = find(s, &q, &more);
    ASSERT(arr && cJSON_GetArraySize(arr) == 5);
    ASSERT_EQ_INT(more, 0);
    cJSON_Delete(arr);
    store_close(s);
}

TEST(offset_skips_newest)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 5), 0);
    store_query q = all();
    q.limit = 2;
    q.offset = 2;
    int more = 0;
    cJSON *arr = find(s, &q, &more);
    ASSERT(arr);
    char got[256];
    labels(arr, got, sizeof got);
    ASSERT_EQ_STR(got, "a3,a2");
    ASSERT_EQ_INT(more, 1);
    cJSON_Delete(arr);
    q.offset = 4;
    arr = find(s, &q, &more);
    labels(arr, got, sizeof got);
    ASSERT_EQ_STR(got, "a1");
    ASSERT_EQ_INT(more, 0);
    cJSON_Delete(arr);
    q.offset = 9;
    ASSERT(finds(s, &q, ""));
    store_close(s);
}

/* ---- time ranges ---------------------------------------------------- */

/* Entries t1..t5 one second apart; their created_at into at[0..4]. */
static int put_timed(store *s, char at[5][TS_BUFLEN])
{
    for (int i = 0; i < 5; i++) {
        char label[8];
        snprintf(label, sizeof label, "t%d", i + 1);
        store_record r = rec(i % 2 ? "tool_result" : "tool_call", "op", label);
        store_receipt rc;
        if (put(s, &r, &rc) != STORE_OK) return -1;
        memcpy(at[i], rc.created_at, TS_BUFLEN);
    }
    return 0;
}

TEST(since_is_inclusive)
{
    store *s = fresh();
    ASSERT(s);
    char at[5][TS_BUFLEN];
    ASSERT_EQ_INT(put_timed(s, at), 0);
    store_query q = all();
    q.since = at[2];
    ASSERT(finds(s, &q, "t5,t4,t3"));
    store_close(s);
}

TEST(until_is_inclusive)
{
    store *s = fresh();
    ASSERT(s);
    char at[5][TS_BUFLEN];
    ASSERT_EQ_INT(put_timed(s, at), 0);
    store_query q = all();
    q.until = at[1];
    ASSERT(finds(s, &q, "t2,t1"));
    store_close(s);
}

TEST(since_until_range)
{
    store *s = fresh();
    ASSERT(s);
    char at[5][TS_BUFLEN];
    ASSERT_EQ_INT(put_timed(s, at), 0);
    store_query q = all();
    q.since = at[1];
    q.until = at[3];
    ASSERT(finds(s, &q, "t4,t3,t2"));
    q.since = q.until = at[2];
    ASSERT(finds(s, &q, "t3"));
    q.since = "2030-01-01T00:00:00.000000Z";
    q.until = NULL;
    ASSERT(finds(s, &q, ""));
    store_close(s);
}

TEST(time_range_combines_with_filter_and_limit)
{
    store *s = fresh();
    ASSERT(s);
    char at[5][TS_BUFLEN];
    ASSERT_EQ_INT(put_timed(s, at), 0);
    store_query q = all();
    q.since = at[0];
    q.until = at[3];
    q.event_type = "tool_call";
    ASSERT(finds(s, &q, "t3,t1"));
    q.event_type = NULL;
    q.limit = 2;
    int more = 0;
    cJSON *arr = find(s, &q, &more);
    char got[128];
    labels(arr, got, sizeof got);
    ASSERT_EQ_STR(got, "t4,t3");
    ASSERT_EQ_INT(more, 1);
    cJSON_Delete(arr);
    store_close(s);
}

/* ---- text search -------------------------------------------------------- */

static int put_texts(store *s, const char *const *ops, const char *const *errors, int n)
{
    for (int i = 0; i < n; i++) {
        char label[8];
        snprintf(label, sizeof label, "x%d", i + 1);
        store_record r = rec("tool_call", ops[i], label);
        r.error = errors ? errors[i] : NULL;
        if (put(s, &r, NULL) != STORE_OK) return -1;
    }
    return 0;
}

TEST(text_matches_substring_of_operation_name)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"deploy_app", "redeploy", "build", "deplo"};
    ASSERT_EQ_INT(put_texts(s, ops, NULL, 4), 0);
    store_query q = all();
    q.text = "deploy";
    ASSERT(finds(s, &q, "x2,x1"));
    store_close(s);
}

TEST(text_matches_substring_of_error)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"a", "b", "c"};
    const char *errs[] = {NULL, "connection timeout", "disk full"};
    ASSERT_EQ_INT(put_texts(s, ops, errs, 3), 0);
    store_query q = all();
    q.text = "timeout";
    ASSERT(finds(s, &q, "x2"));
    store_close(s);
}

TEST(text_folds_ascii_case)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"Deploy_App", "DEPLOYMENT", "build"};
    const char *errs[] = {NULL, NULL, "DePlOy failed"};
    ASSERT_EQ_INT(put_texts(s, ops, errs, 3), 0);
    store_query q = all();
    q.text = "dEpLoY";
    ASSERT(finds(s, &q, "x3,x2,x1"));
    store_close(s);
}

/* ASCII letters fold, other characters match only themselves, byte for
** byte: as SQLite's LIKE does. */
TEST(text_non_ascii_matches_exactly)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"café_order", "CAFÉ_ORDER", "cafe_order", "straße"};
    ASSERT_EQ_INT(put_texts(s, ops, NULL, 4), 0);
    store_query q = all();
    q.text = "CAFé";
    ASSERT(finds(s, &q, "x1"));
    q.text = "cafÉ";
    ASSERT(finds(s, &q, "x2"));
    q.text = "é";
    ASSERT(finds(s, &q, "x1"));
    q.text = "STRASSE";
    ASSERT(finds(s, &q, ""));
    q.text = "STRAßE";
    ASSERT(finds(s, &q, "x4"));
    store_close(s);
}

TEST(text_percent_is_literal)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"cpu 100% busy", "cpu 100 busy", "100%"};
    ASSERT_EQ_INT(put_texts(s, ops, NULL, 3), 0);
    store_query q = all();
    q.text = "100%";
    ASSERT(finds(s, &q, "x3,x1"));
    q.text = "%";
    ASSERT(finds(s, &q, "x3,x1"));
    q.text = "0% b";
    ASSERT(finds(s, &q, "x1"));
    store_close(s);
}

TEST(text_underscore_is_literal)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"read_file", "readXfile", "read file"};
    ASSERT_EQ_INT(put_texts(s, ops, NULL, 3), 0);
    store_query q = all();
    q.text = "read_file";
    ASSERT(finds(s, &q, "x1"));
    q.text = "_";
    ASSERT(finds(s, &q, "x1"));
    store_close(s);
}

TEST(text_backslash_is_literal)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"C:\\temp\\x", "C:temp", "C:\\%temp"};
    ASSERT_EQ_INT(put_texts(s, ops, NULL, 3), 0);
    store_query q = all();
    q.text = "C:\\temp";
    ASSERT(finds(s, &q, "x1"));
    q.text = "\\";
    ASSERT(finds(s, &q, "x3,x1"));
    q.text = "\\%";
    ASSERT(finds(s, &q, "x3"));
    store_close(s);
}

TEST(text_short_terms_match)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"ab", "xAbx", "ba", "b"};
    ASSERT_EQ_INT(put_texts(s, ops, NULL, 4), 0);
    store_query q = all();
    q.text = "ab";
    ASSERT(finds(s, &q, "x2,x1"));
    q.text = "B";
    ASSERT(finds(s, &q, "x4,x3,x2,x1"));
    store_close(s);
}

TEST(text_combines_with_filters_and_time)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    q.text = "deploy";
    q.user_id = "alice";
    ASSERT(finds(s, &q, "f5,f1"));
    q.text = "FAIL";
    q.user_id = NULL;
    ASSERT(finds(s, &q, "f3"));
    q.text = "uil";
    q.project_id = "blog";
    q.event_type = "tool_call";
    ASSERT(finds(s, &q, "f4"));
    store_close(s);
}

static int walk_pages(store *s, store_query q, char *out, size_t len,
                      int (*between)(store *s, int page));

/* An entry of operation op, labelled label, at instant us. */
static int put_text_at(store *s, int64_t us, const char *op, const char *label)
{
    int64_t step = clock_step;
    clock_now = us;
    clock_step = 0;
    store_record r = rec("tool_call", op, label);
    int rc = put(s, &r, NULL);
    clock_step = step;
    return rc;
}

/* Matches spread from minutes to months before the newest (a backend may
** search back in time a window at a time): every page, offset and cursor
** still gives them newest first, none twice, none missed. */
TEST(text_matches_spread_over_months_come_newest_first)
{
    store *s = fresh();
    ASSERT(s);
    static const struct { int64_t at; const char *op, *label; } e[] = {
        {0, "deploy", "m1"},
        {100 * DAY_US, "build", "m2"},
        {120 * DAY_US, "deploy", "m3"},
        {125 * DAY_US, "redeploy", "m4"},
        {125 * DAY_US + 20 * HOUR_US, "deploy", "m5"},
        {125 * DAY_US + 23 * HOUR_US, "build", "m6"},
        {125 * DAY_US + 23 * HOUR_US + 50 * 60000000LL, "DEPLOY", "m7"},
    };
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        ASSERT_EQ_INT(put_text_at(s, T0 + e[i].at, e[i].op, e[i].label), 0);
    /* PostgreSQL walks windows of time only on a large log (the planner's
    ** estimate of its entries, read at a connection's first search): make
    ** the estimate say so, so that these few entries take the windows. */
    if (is_pg())
        ASSERT_EQ_INT(owner_exec("UPDATE pg_class SET reltuples = 2000000 WHERE oid IN"
                                 " (SELECT inhrelid FROM pg_inherits"
                                 "  WHERE inhparent = 'dss_audit.entries'::regclass)"),
                      0);
    store_query q = all();
    q.text = "deploy";
    ASSERT(finds(s, &q, "m7,m5,m4,m3,m1"));
    q.limit = 2;
    q.offset = 2;
    ASSERT(finds(s, &q, "m4,m3"));
    q.offset = 4;
    ASSERT(finds(s, &q, "m1"));
    q.offset = 0;
    char got[1024];
    ASSERT_EQ_INT(walk_pages(s, q, got, sizeof got, NULL), 3);
    ASSERT_EQ_STR(got, "m7,m5,m4,m3,m1");
    store_close(s);
}

/* ---- cursors ---------------------------------------------------------- */

/* Walk q page by page with the cursor of each page's last entry, appending
** the labels to out; between pages, call between(s) when not NULL.
** Returns the number of pages, or -1. */
static int walk_pages(store *s, store_query q, char *out, size_t len,
                      int (*between)(store *s, int page))
{
    char err[STORE_ERRLEN];
    char at[TS_BUFLEN], log_id[37];
    size_t n = 0;
    int pages = 0;
    out[0] = '\0';
    for (;;) {
        jbuf text;
        memset(&text, 0, sizeof text);
        store_page page;
        if (find_json(s, &q, &text, &page, err) != STORE_OK) {
            fprintf(stderr, "find_json: %s\n", err);
            jbuf_free(&text);
            return -1;
        }
        cJSON *arr = cJSON_ParseWithLength(text.p, text.len);
        jbuf_free(&text);
        if (!arr) return -1;
        char got[1024];
        labels(arr, got, sizeof got);
        cJSON_Delete(arr);
        if (got[0]) n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "," : "", got);
        pages++;
        if (!page.more) break;
        memcpy(at, page.last_created_at, sizeof at);
        memcpy(log_id, page.last_log_id, sizeof log_id);
        q.after_seq = page.last_seq;
        q.after_created_at = at;
        q.after_log_id = log_id;
        if (between && between(s, pages) != 0) return -1;
        if (pages > 100) return -1;
    }
    return pages;
}

TEST(cursor_pages_cover_everything_once)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 10), 0);
    store_query q = all();
    q.limit = 3;
    char got[1024];
    ASSERT_EQ_INT(walk_pages(s, q, got, sizeof got, NULL), 4);
    ASSERT_EQ_STR(got, "a10,a9,a8,a7,a6,a5,a4,a3,a2,a1");
    store_close(s);
}

static int append_two(store *s, int page)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "new%d_", page);
    return put_n(s, prefix, 2);
}

TEST(cursor_stable_while_appending)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 10), 0);
    store_query q = all();
    q.limit = 4;
    char got[1024];
    ASSERT_EQ_INT(walk_pages(s, q, got, sizeof got, append_two), 3);
    ASSERT_EQ_STR(got, "a10,a9,a8,a7,a6,a5,a4,a3,a2,a1");
    store_close(s);
}

TEST(cursor_with_filter)
{
    store *s = fresh();
    ASSERT(s);
    for (int i = 1; i <= 9; i++) {
        char label[8];
        snprintf(label, sizeof label, "a%d", i);
        store_record r = rec("tool_call", "op", label);
        r.user_id = i % 3 ? "alice" : "bob";
        ASSERT_EQ_INT(put(s, &r, NULL), STORE_OK);
    }
    store_query q = all();
    q.user_id = "alice";
    q.limit = 2;
    char got[1024];
    ASSERT_EQ_INT(walk_pages(s, q, got, sizeof got, append_two), 3);
    ASSERT_EQ_STR(got, "a8,a7,a5,a4,a2,a1");
    store_close(s);
}

TEST(cursor_with_time_range)
{
    store *s = fresh();
    ASSERT(s);
    char at[5][TS_BUFLEN];
    ASSERT_EQ_INT(put_timed(s, at), 0);
    ASSERT_EQ_INT(put_n(s, "late", 2), 0);
    store_query q = all();
    q.since = at[0];
    q.until = at[4];
    q.limit = 2;
    char got[1024];
    ASSERT_EQ_INT(walk_pages(s, q, got, sizeof got, append_two), 3);
    ASSERT_EQ_STR(got, "t5,t4,t3,t2,t1");
    store_close(s);
}

TEST(cursor_with_text)
{
    store *s = fresh();
    ASSERT(s);
    const char *ops[] = {"deploy", "build", "redeploy", "deploy2", "x", "DEPLOY"};
    ASSERT_EQ_INT(put_texts(s, ops, NULL, 6), 0);
    store_query q = all();
    q.text = "deploy";
    q.limit = 1;
    char got[1024];
    ASSERT_EQ_INT(walk_pages(s, q, got, sizeof got, append_two), 4);
    ASSERT_EQ_STR(got, "x6,x4,x3,x1");
    store_close(s);
}

/* ---- the log filter ---------------------------------------------------- */

TEST(log_filter_by_id_or_name_matches_own_log)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 3), 0);
    store_query q = all();
    q.log = "alpha";
    ASSERT(finds(s, &q, "a3,a2,a1"));
    char id[37];
    memcpy(id, store_log_id(s), sizeof id);
    q.log = id;
    ASSERT(finds(s, &q, "a3,a2,a1"));
    store_close(s);
}

TEST(log_filter_other_log_matches_nothing)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 3), 0);
    store_query q = all();
    q.log = "beta";
    ASSERT(finds(s, &q, ""));
    q.log = "01890000-0000-7000-8000-000000000000";
    ASSERT(finds(s, &q, ""));
    store_close(s);
}

/* ---- user activity --------------------------------------------------- */

/* Put an entry at a given instant (microseconds). */
static int put_at(store *s, int64_t us, const char *type, const char *user,
                  const char *project, const char *error)
{
    int64_t step = clock_step;
    clock_now = us;
    clock_step = 0; /* every reading during this append is `us` */
    store_record r = rec(type, "op", "act");
    r.user_id = user;
    r.project_id = project;
    r.error = error;
    int rc = put(s, &r, NULL);
    clock_step = step;
    return rc;
}

/* alice on day 0: 08:00 call/shop, 10:00 error/shop (an error), 14:00 call/blog;
** day 1: 09:00 result/wiki; bob day 0 11:00 call/shop; nobody's day 1 12:00. */
static int put_activity(store *s)
{
    return put_at(s, T0 + 8 * HOUR_US, "tool_call", "alice", "shop", NULL) ||
           put_at(s, T0 + 10 * HOUR_US, "error", "alice", "shop", "boom") ||
           put_at(s, T0 + 11 * HOUR_US, "tool_call", "bob", "shop", NULL) ||
           put_at(s, T0 + 14 * HOUR_US, "tool_call", "alice", "blog", NULL) ||
           put_at(s, T0 + DAY_US + 9 * HOUR_US, "tool_result", "alice", "wiki", NULL) ||
           put_at(s, T0 + DAY_US + 12 * HOUR_US, "tool_call", NULL, NULL, "anon error");
}

static void ts_of(int64_t us, char out[TS_BUFLEN]) { ts_format(us, out); }

TEST(user_activity_counts_whole_window)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    store_activity a;
    char err[STORE_ERRLEN], since[TS_BUFLEN];
    ts_of(T0 - DAY_US, since);
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, NULL, &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 4);
    ASSERT_EQ_INT(a.errors, 1);
    ASSERT_EQ_INT(a.projects, 3);
    char *by = cJSON_PrintUnformatted(a.by_type);
    /* most frequent first, ties by name */
    ASSERT_EQ_STR(by, "{\"tool_call\":2,\"error\":1,\"tool_result\":1}");
    free(by);
    cJSON_Delete(a.by_type);
    store_close(s);
}

TEST(user_activity_since_before_noon_counts_exactly)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    store_activity a;
    char err[STORE_ERRLEN], since[TS_BUFLEN];
    ts_of(T0 + 9 * HOUR_US, since); /* after the 08:00 entry */
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, NULL, &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 3);
    ASSERT_EQ_INT(a.errors, 1);
    ASSERT_EQ_INT(a.projects, 3);
    char *by = cJSON_PrintUnformatted(a.by_type);
    ASSERT_EQ_STR(by, "{\"error\":1,\"tool_call\":1,\"tool_result\":1}");
    free(by);
    cJSON_Delete(a.by_type);
    store_close(s);
}

TEST(user_activity_since_after_noon_counts_exactly)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    store_activity a;
    char err[STORE_ERRLEN], since[TS_BUFLEN];
    ts_of(T0 + 13 * HOUR_US, since);
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, NULL, &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 2);
    ASSERT_EQ_INT(a.errors, 0);
    /* shop was last touched at 10:00, before the window */
    ASSERT_EQ_INT(a.projects, 2);
    char *by = cJSON_PrintUnformatted(a.by_type);
    ASSERT_EQ_STR(by, "{\"tool_call\":1,\"tool_result\":1}");
    free(by);
    cJSON_Delete(a.by_type);
    store_close(s);
}

TEST(user_activity_since_is_inclusive)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    store_activity a;
    char err[STORE_ERRLEN], since[TS_BUFLEN];
    ts_of(T0 + 14 * HOUR_US, since); /* exactly the 14:00 entry */
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, NULL, &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 2);
    cJSON_Delete(a.by_type);
    ts_of(T0 + 10 * HOUR_US, since); /* exactly the 10:00 error */
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, NULL, &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 3);
    ASSERT_EQ_INT(a.errors, 1);
    cJSON_Delete(a.by_type);
    store_close(s);
}

TEST(user_activity_unknown_user_is_zero)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    store_activity a;
    char err[STORE_ERRLEN], since[TS_BUFLEN];
    ts_of(T0 - DAY_US, since);
    ASSERT_EQ_INT(store_user_activity(s, "zed", since, NULL, &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 0);
    ASSERT_EQ_INT(a.errors, 0);
    ASSERT_EQ_INT(a.projects, 0);
    ASSERT(cJSON_IsObject(a.by_type) && !a.by_type->child);
    cJSON_Delete(a.by_type);
    store_close(s);
}

/* ---- activity for the viewer ------------------------------------------ */

typedef struct rows {
    char text[2048];
    size_t n;
} rows;

static int add_row(void *ctx, const char *a, const char *b, int64_t entries, int64_t errors)
{
    rows *r = ctx;
    r->n += (size_t)snprintf(r->text + r->n, sizeof r->text - r->n, "%s%s/%s/%lld/%lld",
                             r->n ? " " : "", a, b, (long long)entries, (long long)errors);
    return 0;
}

TEST(activity_days_every_entry_by_day_and_type)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    rows r = {.n = 0};
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_activity_days(s, NULL, "2026-03-02", "2026-03-03", add_row, &r, err),
                  STORE_OK);
    ASSERT_EQ_STR(r.text, "2026-03-02/error/1/1 2026-03-02/tool_call/3/0 "
                          "2026-03-03/tool_call/1/1 2026-03-03/tool_result/1/0");
    store_close(s);
}

TEST(activity_days_bounds_are_inclusive_days)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    rows r = {.n = 0};
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_activity_days(s, NULL, "2026-03-03", "2026-03-03", add_row, &r, err),
                  STORE_OK);
    ASSERT_EQ_STR(r.text, "2026-03-03/tool_call/1/1 2026-03-03/tool_result/1/0");
    store_close(s);
}

TEST(activity_days_of_one_user)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    rows r = {.n = 0};
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_activity_days(s, "alice", "2026-03-01", "2026-03-09", add_row, &r,
                                      err),
                  STORE_OK);
    ASSERT_EQ_STR(r.text, "2026-03-02/error/1/1 2026-03-02/tool_call/2/0 "
                          "2026-03-03/tool_result/1/0");
    store_close(s);
}

TEST(activity_users_per_user_without_anonymous)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    rows r = {.n = 0};
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_activity_users(s, "2026-03-01", "2026-03-09", add_row, &r, err),
                  STORE_OK);
    ASSERT_EQ_STR(r.text, "alice//4/1 bob//1/0");
    r.n = 0;
    r.text[0] = '\0';
    ASSERT_EQ_INT(store_activity_users(s, "2026-03-03", "2026-03-03", add_row, &r, err),
                  STORE_OK);
    ASSERT_EQ_STR(r.text, "alice//1/0");
    store_close(s);
}

static int stop_after_one(void *ctx, const char *a, const char *b, int64_t n, int64_t e)
{
    (*(int *)ctx)++;
    return 1;
}

TEST(activity_walk_stops_when_asked)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    int calls = 0;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_activity_days(s, NULL, "2026-03-01", "2026-03-09", stop_after_one,
                                      &calls, err),
                  STORE_OK);
    ASSERT_EQ_INT(calls, 1);
    calls = 0;
    ASSERT_EQ_INT(store_activity_users(s, "2026-03-01", "2026-03-09", stop_after_one, &calls,
                                       err),
                  STORE_OK);
    ASSERT_EQ_INT(calls, 1);
    store_close(s);
}

/* ---- the entry's definition against the table ---------------------------- */

/* Every field of ENTRY_FIELDS (entry.h) is a column, in the list's order,
** of the type its kind is stored in and nullable as the list says; the
** table holds nothing else but what the backend adds beside the entry (the
** log, and PostgreSQL's server name derived from the server field). */
TEST(entry_definition_matches_the_table)
{
    store *s = fresh();
    ASSERT(s);
    store_close(s);
    column cols[64];
    int n = table_columns(cols, 64), prev = -1;
    ASSERT(n > 0);
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const entry_field *f = &entry_fields[c];
        int at = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(cols[i].name, f->name) == 0) at = i;
        if (at < 0) TEST_FAIL_("field %s is no column of the table", f->name);
        if (at < prev) TEST_FAIL_("column %s is out of the list's order", f->name);
        prev = at;
        ASSERT_EQ_STR(cols[at].type, column_type(f->type));
        if (cols[at].nullable != f->nullable)
            TEST_FAIL_("column %s: nullable %d, the list says %d", f->name, cols[at].nullable,
                       f->nullable);
    }
    static const char *const extra_pg[] = {"log_id", "server_name"};
    for (int i = 0; i < n; i++) {
        int known = entry_field_index(cols[i].name) >= 0;
        for (size_t k = 0; is_pg() && k < sizeof extra_pg / sizeof *extra_pg; k++)
            known |= strcmp(cols[i].name, extra_pg[k]) == 0;
        if (!known) TEST_FAIL_("column %s is not in the entry's definition", cols[i].name);
    }
}

/* ---- stats ------------------------------------------------------------ */

static int checkpoint_here(store *s);

static void progress_count(void *ctx, int64_t done, int64_t total) { (*(int *)ctx)++; }

TEST(stats_count_entries_types_users_and_size)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    store_stats st;
    char err[STORE_ERRLEN];
    int calls = 0;
    ASSERT_EQ_INT(store_get_stats(s, NULL, 10, progress_count, &calls, &st, err), STORE_OK);
    ASSERT_EQ_INT(st.entries, 6);
    ASSERT_EQ_INT(st.logs[0].first_seq, 1);
    ASSERT_EQ_INT(st.logs[0].last_seq, 6);
    char first[TS_BUFLEN], last[TS_BUFLEN];
    ts_of(T0 + 8 * HOUR_US, first);
    ts_of(T0 + DAY_US + 12 * HOUR_US, last);
    ASSERT_EQ_STR(st.first_created_at, first);
    ASSERT_EQ_STR(st.last_created_at, last);
    ASSERT_EQ_INT(st.errors, 2);
    ASSERT_EQ_INT(st.checkpoints, 0);
    ASSERT_EQ_INT(st.anchors, 0);
    ASSERT(st.db_bytes > 0);
    ASSERT(calls >= 1);
    char *by = cJSON_PrintUnformatted(st.by_event_type);
    ASSERT_EQ_STR(by, "{\"tool_call\":4,\"error\":1,\"tool_result\":1}");
    free(by);
    char *users = cJSON_PrintUnformatted(st.top_users);
    ASSERT_EQ_STR(users, "[{\"user_id\":\"alice\",\"entries\":4,\"errors\":1},"
                         "{\"user_id\":\"bob\",\"entries\":1,\"errors\":0}]");
    free(users);
    store_stats_free(&st);
    ASSERT_EQ_INT(store_get_stats(s, NULL, 1, NULL, NULL, &st, err), STORE_OK);
    ASSERT_EQ_INT(cJSON_GetArraySize(st.top_users), 1);
    store_stats_free(&st);
    store_close(s);
}

TEST(stats_of_empty_log)
{
    store *s = fresh();
    ASSERT(s);
    store_stats st;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_get_stats(s, NULL, 10, NULL, NULL, &st, err), STORE_OK);
    ASSERT_EQ_INT(st.entries, 0);
    ASSERT_EQ_INT(st.logs[0].first_seq, 0);
    ASSERT_EQ_INT(st.logs[0].last_seq, 0);
    ASSERT_EQ_STR(st.first_created_at, "");
    ASSERT_EQ_INT(st.errors, 0);
    ASSERT(cJSON_IsObject(st.by_event_type) && !st.by_event_type->child);
    ASSERT(cJSON_IsArray(st.top_users) && !st.top_users->child);
    store_stats_free(&st);
    store_close(s);
}

/* `stats --log X` on any backend: the own log, by its name or its id,
** is the whole store; a log the store does not hold is not found. */
TEST(stats_of_one_log_by_name_or_id)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    store_stats st;
    char err[STORE_ERRLEN];
    const char *names[] = {"alpha", store_log_id(s)};
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ_INT(store_get_stats(s, names[i], 10, NULL, NULL, &st, err), STORE_OK);
        ASSERT_EQ_INT(st.entries, 6);
        ASSERT_EQ_INT(st.errors, 2);
        ASSERT_EQ_INT(st.n_logs, 1);
        ASSERT_EQ_STR(st.logs[0].name, "alpha");
        ASSERT_EQ_STR(st.logs[0].log_id, store_log_id(s));
        ASSERT_EQ_INT(st.logs[0].entries, 6);
        ASSERT_EQ_INT(st.logs[0].errors, 2);
        store_stats_free(&st);
    }
    ASSERT_EQ_INT(store_get_stats(s, "no-such-log", 10, NULL, NULL, &st, err), STORE_ENOTFOUND);
    ASSERT(st.logs == NULL && st.by_event_type == NULL);
    store_close(s);
}

TEST(stats_count_checkpoints_per_log)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 3), 0);
    ASSERT_EQ_INT(checkpoint_here(s), STORE_OK);
    ASSERT_EQ_INT(checkpoint_here(s), STORE_OK);
    store_stats st;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_get_stats(s, NULL, 10, NULL, NULL, &st, err), STORE_OK);
    ASSERT_EQ_INT(st.checkpoints, 2);
    ASSERT_EQ_INT(st.logs[0].checkpoints, 2);
    ASSERT_EQ_INT(st.logs[0].anchors, 0);
    store_stats_free(&st);
    store_close(s);
}

/* get_user_activity's log argument: the own log counts what every log
** does; a log the store does not hold counts nothing. */
TEST(user_activity_of_one_log)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_activity(s), 0);
    store_activity a;
    char err[STORE_ERRLEN], since[TS_BUFLEN];
    ts_of(T0 - DAY_US, since);
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, "alpha", &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 4);
    ASSERT_EQ_INT(a.projects, 3);
    cJSON_Delete(a.by_type);
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, store_log_id(s), &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 4);
    cJSON_Delete(a.by_type);
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, "no-such-log", &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 0);
    ASSERT_EQ_INT(a.errors, 0);
    ASSERT_EQ_INT(a.projects, 0);
    ASSERT(cJSON_IsObject(a.by_type) && !a.by_type->child);
    cJSON_Delete(a.by_type);
    store_close(s);
}

TEST(seq_range_and_nth_newest)
{
    store *s = fresh();
    ASSERT(s);
    int64_t first = -1, last = -1, nth = -1;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_seq_range(s, &first, &last, err), STORE_OK);
    ASSERT_EQ_INT(first, 0);
    ASSERT_EQ_INT(last, 0);
    ASSERT_EQ_INT(store_nth_newest_seq(s, 3, &nth, err), STORE_OK);
    ASSERT_EQ_INT(nth, 0);
    ASSERT_EQ_INT(put_n(s, "a", 5), 0);
    ASSERT_EQ_INT(store_seq_range(s, &first, &last, err), STORE_OK);
    ASSERT_EQ_INT(first, 1);
    ASSERT_EQ_INT(last, 5);
    ASSERT_EQ_INT(store_nth_newest_seq(s, 2, &nth, err), STORE_OK);
    ASSERT_EQ_INT(nth, 4);
    ASSERT_EQ_INT(store_nth_newest_seq(s, 9, &nth, err), STORE_OK);
    ASSERT_EQ_INT(nth, 1);
    store_close(s);
}

/* ---- checkpoints ------------------------------------------------------ */

static void fill_cp(store_checkpoint *cp, const char *kind, int64_t seq, const char *log_id)
{
    memset(cp, 0, sizeof *cp);
    snprintf(cp->kind, sizeof cp->kind, "%s", kind);
    snprintf(cp->log_id, sizeof cp->log_id, "%s", log_id);
    cp->seq = seq;
    memset(cp->head_hash, 'a', 64);
    snprintf(cp->created_at, sizeof cp->created_at, "2026-03-02T00:00:0%lldZ", (long long)seq);
    memset(cp->prev_checkpoint_hash, '0', 64);
    memset(cp->public_key, 'b', 64);
    memset(cp->signature, 'c', 128);
}

static int collect_cp(void *ctx, const store_checkpoint *cp)
{
    rows *r = ctx;
    r->n += (size_t)snprintf(r->text + r->n, sizeof r->text - r->n, "%s%lld:%s:%lld",
                             r->n ? " " : "", (long long)cp->number, cp->kind,
                             (long long)cp->seq);
    return 0;
}

TEST(checkpoints_add_last_each)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_checkpoint cp, got;
    ASSERT_EQ_INT(store_last_checkpoint(s, &got, err), STORE_ENOTFOUND);
    ASSERT_EQ_INT(put_n(s, "a", 3), 0);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    fill_cp(&cp, "checkpoint", 2, store_log_id(s));
    ASSERT_EQ_INT(store_add_checkpoint(s, &cp, err), STORE_OK);
    ASSERT_EQ_INT(cp.number, 1);
    fill_cp(&cp, "checkpoint", 3, store_log_id(s));
    ASSERT_EQ_INT(store_add_checkpoint(s, &cp, err), STORE_OK);
    ASSERT_EQ_INT(cp.number, 2);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(store_last_checkpoint(s, &got, err), STORE_OK);
    ASSERT_EQ_INT(got.number, 2);
    ASSERT_EQ_INT(got.seq, 3);
    ASSERT_EQ_STR(got.kind, "checkpoint");
    ASSERT_EQ_STR(got.log_id, store_log_id(s));
    ASSERT_EQ_STR(got.head_hash, cp.head_hash);
    ASSERT_EQ_STR(got.created_at, cp.created_at);
    ASSERT_EQ_STR(got.public_key, cp.public_key);
    ASSERT_EQ_STR(got.signature, cp.signature);
    ASSERT_EQ_INT(store_last_anchor(s, &got, err), STORE_ENOTFOUND);
    rows r = {.n = 0};
    ASSERT_EQ_INT(store_each_checkpoint(s, collect_cp, &r, err), STORE_OK);
    ASSERT_EQ_STR(r.text, "1:checkpoint:2 2:checkpoint:3");
    store_close(s);
}

TEST(checkpoint_rolled_back_is_gone)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_checkpoint cp, got;
    ASSERT_EQ_INT(put_n(s, "a", 1), 0);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    fill_cp(&cp, "checkpoint", 1, store_log_id(s));
    ASSERT_EQ_INT(store_add_checkpoint(s, &cp, err), STORE_OK);
    store_rollback(s);
    ASSERT_EQ_INT(store_last_checkpoint(s, &got, err), STORE_ENOTFOUND);
    store_close(s);
}

/* ---- each_entry ------------------------------------------------------- */

typedef struct chain_walk {
    int64_t n, next_seq;
    uint8_t prev[CHAIN_HASH_BYTES];
    int bad;
    int64_t stop_at;
} chain_walk;

static int check_link(void *ctx, const store_raw_entry *e)
{
    chain_walk *w = ctx;
    if (!e->hashes_ok || e->f.seq != w->next_seq ||
        memcmp(e->prev_hash, w->prev, CHAIN_HASH_BYTES) != 0 ||
        !chain_entry_matches(&e->f, e->f.seq, e->prev_hash, e->hash))
        w->bad++;
    memcpy(w->prev, e->hash, CHAIN_HASH_BYTES);
    w->next_seq = e->f.seq + 1;
    w->n++;
    return w->stop_at && w->n >= w->stop_at;
}

TEST(each_entry_in_seq_order_hashes_verify)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0); /* v1 and v2 encodings, NULLs */
    store_record r = rec("tool_call", "op", "d");
    r.has_duration = 1;
    r.duration_ms = 1234567;
    ASSERT_EQ_INT(put(s, &r, NULL), STORE_OK);
    chain_walk w = {.next_seq = 1};
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_each_entry(s, 1, check_link, &w, err), STORE_OK);
    ASSERT_EQ_INT(w.n, 6);
    ASSERT_EQ_INT(w.bad, 0);
    store_close(s);
}

TEST(each_entry_from_seq_and_stop)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 6), 0);
    char err[STORE_ERRLEN], hex[CHAIN_HEX_LEN];
    chain_walk w = {.next_seq = 4};
    ASSERT_EQ_INT(store_hash_at(s, 3, hex, err), STORE_OK);
    ASSERT_EQ_INT(hex_to_hash(hex, w.prev), 0);
    ASSERT_EQ_INT(store_each_entry(s, 4, check_link, &w, err), STORE_OK);
    ASSERT_EQ_INT(w.n, 3);
    ASSERT_EQ_INT(w.bad, 0);
    chain_walk w2 = {.next_seq = 1, .stop_at = 2};
    ASSERT_EQ_INT(store_each_entry(s, 1, check_link, &w2, err), STORE_OK);
    ASSERT_EQ_INT(w2.n, 2);
    store_close(s);
}

TEST(head_and_hash_at)
{
    store *s = fresh();
    ASSERT(s);
    int64_t seq = -1;
    char err[STORE_ERRLEN], hash[CHAIN_HEX_LEN], at[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 0);
    ASSERT_EQ_STR(hash, "0000000000000000000000000000000000000000000000000000000000000000");
    store_receipt rc;
    store_record r = rec("tool_call", "op", "a");
    ASSERT_EQ_INT(put(s, &r, &rc), STORE_OK);
    ASSERT_EQ_INT(put(s, &r, &rc), STORE_OK);
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 2);
    ASSERT_EQ_STR(hash, rc.hash);
    ASSERT_EQ_INT(store_hash_at(s, 2, at, err), STORE_OK);
    ASSERT_EQ_STR(at, rc.hash);
    ASSERT_EQ_INT(store_hash_at(s, 3, at, err), STORE_ENOTFOUND);
    uint8_t bin[CHAIN_HASH_BYTES];
    ASSERT_EQ_INT(hex_to_hash(rc.hash, bin), 0);
    int64_t found = 0;
    ASSERT_EQ_INT(store_find_hash(s, bin, &found, err), STORE_OK);
    ASSERT_EQ_INT(found, 2);
    store_close(s);
}

/* ---- each_match ---------------------------------------------------------- */

typedef struct match_walk {
    char text[2048];
    size_t n;
    int limit; /* stop after this many (0: never) */
    int count;
    int shaped; /* every entry printed as find prints it */
    store *s;
} match_walk;

static int collect_match(void *ctx, const cJSON *e)
{
    match_walk *m = ctx;
    const char *l = str_of(e, "operation_id");
    m->n += (size_t)snprintf(m->text + m->n, sizeof m->text - m->n, "%s%s", m->n ? "," : "",
                             l ? l : "?");
    m->count++;
    return m->limit && m->count >= m->limit;
}

static int match_labels(store *s, const store_scan *sc, match_walk *m)
{
    char err[STORE_ERRLEN];
    m->n = 0;
    m->count = 0;
    m->text[0] = '\0';
    int rc = store_each_match(s, sc, collect_match, m, err);
    if (rc != STORE_OK) fprintf(stderr, "each_match: %d %s\n", rc, err);
    return rc;
}

TEST(each_match_ascending_and_descending)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_scan sc = {0};
    match_walk m = {.limit = 0};
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "f1,f2,f3,f4,f5");
    sc.newest_first = 1;
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "f5,f4,f3,f2,f1");
    store_close(s);
}

TEST(each_match_filters)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query f = all();
    f.user_id = "alice";
    store_scan sc = {.filter = &f};
    match_walk m = {.limit = 0};
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "f1,f3,f5");
    f = all();
    f.server = "github";
    f.event_type = "tool_call";
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "f1,f4");
    f = all();
    f.text = "PLO";
    sc.newest_first = 1;
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "f5,f2,f1");
    f = all();
    f.completes = "f1";
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "f2");
    f = all();
    f.session_id = "s1";
    f.project_id = "blog";
    f.operation_name = "build";
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "f4");
    f = all();
    f.log = "alpha";
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "f5,f4,f3,f2,f1");
    f.log = "beta";
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "");
    store_close(s);
}

TEST(each_match_time_range)
{
    store *s = fresh();
    ASSERT(s);
    char at[5][TS_BUFLEN];
    ASSERT_EQ_INT(put_timed(s, at), 0);
    store_query f = all();
    f.since = at[1];
    f.until = at[3];
    store_scan sc = {.filter = &f};
    match_walk m = {.limit = 0};
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "t2,t3,t4");
    store_close(s);
}

TEST(each_match_limit_and_after_cursor)
{
    store *s = fresh();
    ASSERT(s);
    store_receipt rc[6];
    for (int i = 0; i < 6; i++) {
        char label[8];
        snprintf(label, sizeof label, "a%d", i + 1);
        store_record r = rec("tool_call", "op", label);
        ASSERT_EQ_INT(put(s, &r, &rc[i]), STORE_OK);
    }
    store_scan sc = {.limit = 2};
    match_walk m = {.limit = 0};
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "a1,a2");
    /* after a2 ascending */
    sc.after_seq = rc[1].seq;
    sc.after_created_at = rc[1].created_at;
    sc.after_log_id = store_log_id(s);
    sc.limit = 0;
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "a3,a4,a5,a6");
    store_close(s);
}

TEST(each_match_callback_stops_walk)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 5), 0);
    store_scan sc = {0};
    match_walk m = {.limit = 2};
    ASSERT_EQ_INT(match_labels(s, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "a1,a2");
    store_close(s);
}

typedef struct same_shape {
    cJSON *want; /* find's entries, oldest first */
    int i, bad;
} same_shape;

static int compare_entry(void *ctx, const cJSON *e)
{
    same_shape *c = ctx;
    const cJSON *w = cJSON_GetArrayItem(c->want, cJSON_GetArraySize(c->want) - 1 - c->i++);
    char *a = cJSON_PrintUnformatted(e), *b = cJSON_PrintUnformatted(w);
    if (!a || !b || strcmp(a, b) != 0) {
        fprintf(stderr, "each_match: %s\nfind:       %s\n", a ? a : "", b ? b : "");
        c->bad++;
    }
    free(a);
    free(b);
    return 0;
}

TEST(each_match_entries_shaped_as_find)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    store_query q = all();
    same_shape c = {.want = find(s, &q, NULL)};
    ASSERT(c.want);
    store_scan sc = {0};
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_each_match(s, &sc, compare_entry, &c, err), STORE_OK);
    ASSERT_EQ_INT(c.i, 5);
    ASSERT_EQ_INT(c.bad, 0);
    cJSON_Delete(c.want);
    store_close(s);
}

/* The callback may use the store while the walk runs (store.h). */
static int query_inside(void *ctx, const cJSON *e)
{
    match_walk *m = ctx;
    store_query q = all();
    q.limit = 1;
    char err[STORE_ERRLEN];
    cJSON *arr = NULL;
    if (store_find(m->s, &q, &arr, NULL, err) != STORE_OK) {
        fprintf(stderr, "find inside each_match: %s\n", err);
        return 1;
    }
    cJSON_Delete(arr);
    m->count++;
    return 0;
}

TEST(each_match_callback_may_use_store)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 3), 0);
    store_scan sc = {0};
    match_walk m = {.s = s};
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_each_match(s, &sc, query_inside, &m, err), STORE_OK);
    ASSERT_EQ_INT(m.count, 3);
    store_close(s);
}

/* ---- transactions -------------------------------------------------------- */

TEST(savepoint_rollback_undoes_one_request)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt rc;
    store_record a = rec("tool_call", "op", "kept1"), b = rec("tool_call", "op", "gone"),
                 c = rec("tool_call", "op", "kept2");
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &a, &rc, err), STORE_OK);
    store_savepoint_release(s);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &b, &rc, err), STORE_OK);
    store_savepoint_rollback(s);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &c, &rc, err), STORE_OK);
    store_savepoint_release(s);
    ASSERT_EQ_INT(rc.seq, 2); /* the rolled-back seq is reused: no gap */
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    store_query q = all();
    ASSERT(finds(s, &q, "kept2,kept1"));
    chain_walk w = {.next_seq = 1};
    ASSERT_EQ_INT(store_each_entry(s, 1, check_link, &w, err), STORE_OK);
    ASSERT_EQ_INT(w.bad, 0);
    store_close(s);
}

TEST(rollback_undoes_transaction)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(put_n(s, "a", 2), 0);
    store_receipt rc;
    store_record r = rec("tool_call", "op", "gone");
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_in_transaction(s), 1);
    ASSERT(store_tx(s) > 0);
    ASSERT_EQ_INT(store_tx_has_writes(s), 0);
    ASSERT_EQ_INT(store_append(s, &r, &rc, err), STORE_OK);
    ASSERT_EQ_INT(store_tx_has_writes(s), 1);
    store_rollback(s);
    ASSERT_EQ_INT(store_in_transaction(s), 0);
    ASSERT_EQ_INT(store_tx(s), 0);
    int64_t seq;
    char hash[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 2);
    store_query q = all();
    ASSERT(finds(s, &q, "a2,a1"));
    ASSERT_EQ_INT(put_n(s, "b", 1), 0);
    ASSERT(finds(s, &q, "b1,a2,a1"));
    store_close(s);
}

TEST(append_outside_transaction_is_refused)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN] = "";
    store_receipt rc;
    store_record r = rec("tool_call", "op", "x");
    ASSERT_EQ_INT(store_append(s, &r, &rc, err), STORE_EINVAL);
    ASSERT(err[0]);
    store_close(s);
}

TEST(head_after_reopen)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN], id[37];
    ASSERT_EQ_INT(put_n(s, "a", 3), 0);
    int64_t seq;
    char hash[CHAIN_HEX_LEN], hash2[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    memcpy(id, store_log_id(s), sizeof id);
    store_close(s);
    s = open_log("alpha");
    ASSERT(s);
    ASSERT_EQ_STR(store_log_id(s), id);
    int64_t seq2;
    ASSERT_EQ_INT(store_head(s, &seq2, hash2, err), STORE_OK);
    ASSERT_EQ_INT(seq2, 3);
    ASSERT_EQ_STR(hash2, hash);
    store_receipt rc;
    store_record r = rec("tool_call", "op", "a4");
    ASSERT_EQ_INT(put(s, &r, &rc), STORE_OK);
    ASSERT_EQ_INT(rc.seq, 4);
    store_close(s);
}

/* ---- prune -------------------------------------------------------------- */

static int keep_count(void *ctx, const store_raw_entry *e)
{
    if (e) (*(int *)ctx)++;
    return 0;
}

static int keep_refuse(void *ctx, const store_raw_entry *e) { return e ? 0 : 1; }

static int load_signer(signer *sg)
{
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/key", tmp_dir);
    if (signer_load(path, 1, sg, err, sizeof err) != 0) {
        fprintf(stderr, "signer: %s\n", err);
        return -1;
    }
    return 0;
}

/* A prune (and any statement) that changes more than a megabyte of the
** database's pages inside its transaction: SQLite journals those pages for
** the statement, and with a statement-journal spill above 128 KiB, SQLite
** 3.40's in-memory journal failed such statements as "disk full" once it
** spilled to a file (issue 23, bench/RESULTS-issue23-local.md). */
TEST(prune_of_thousands_of_entries_removes_them_all)
{
    store *s = fresh();
    ASSERT(s);
    enum { OLD = 3000 };
    char err[STORE_ERRLEN], cut[TS_BUFLEN], last_hash[CHAIN_HEX_LEN];
    int64_t step = clock_step;
    clock_step = 0;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    int rc = STORE_OK;
    for (int i = 0; i < OLD && rc == STORE_OK; i++) {
        char label[32];
        snprintf(label, sizeof label, "old%d", i);
        clock_now = T0 - 70 * DAY_US + i;
        store_record r = rec("tool_call", "operation_of_some_length", label);
        r.user_id = "alice";
        r.project_id = "p";
        store_receipt got;
        rc = store_append(s, &r, &got, err);
    }
    clock_step = step;
    ASSERT_EQ_INT(rc, STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(put_at(s, T0, "tool_call", "alice", "p", NULL), STORE_OK);
    ts_of(T0 - 20 * DAY_US, cut);
    int kept = 0;
    int64_t last_seq = -1;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    rc = store_prune(s, cut, keep_count, &kept, &last_seq, last_hash, err);
    if (rc != STORE_OK) fprintf(stderr, "prune: %s\n", err);
    ASSERT_EQ_INT(rc, STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(kept, OLD);
    ASSERT_EQ_INT(last_seq, OLD);
    int64_t first, last;
    int ranged = store_seq_range(s, &first, &last, err);
    store_close(s);
    ASSERT_EQ_INT(ranged, STORE_OK);
    ASSERT_EQ_INT(first, OLD + 1);
    ASSERT_EQ_INT(last, OLD + 1);
}

TEST(prune_removes_old_prefix_and_anchors_it)
{
    store *s = fresh();
    ASSERT(s);
    /* PostgreSQL removes whole months: the old entries are a month and
    ** more before the cut, the new one after it, so both backends remove
    ** exactly the first two. */
    ASSERT_EQ_INT(put_at(s, T0 - 70 * DAY_US, "tool_call", "alice", "p", NULL), STORE_OK);
    ASSERT_EQ_INT(put_at(s, T0 - 70 * DAY_US + HOUR_US, "tool_call", "alice", "p", NULL),
                  STORE_OK);
    ASSERT_EQ_INT(put_at(s, T0, "tool_call", "alice", "p", NULL), STORE_OK);
    signer sg;
    ASSERT_EQ_INT(load_signer(&sg), 0);
    char err[STORE_ERRLEN], cut[TS_BUFLEN], last_hash[CHAIN_HEX_LEN], want[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_hash_at(s, 2, want, err), STORE_OK);
    ts_of(T0 - 20 * DAY_US, cut);
    int kept = 0;
    int64_t last_seq = -1;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    int rc = store_prune(s, cut, keep_count, &kept, &last_seq, last_hash, err);
    if (rc != STORE_OK) fprintf(stderr, "prune: %s\n", err);
    ASSERT_EQ_INT(rc, STORE_OK);
    ASSERT_EQ_INT(kept, 2);
    ASSERT_EQ_INT(last_seq, 2);
    ASSERT_EQ_STR(last_hash, want);
    store_checkpoint anchor;
    ASSERT_EQ_INT(checkpoint_append(s, &sg, "anchor", last_seq, last_hash, &anchor, err),
                  STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    int64_t first, last;
    ASSERT_EQ_INT(store_seq_range(s, &first, &last, err), STORE_OK);
    ASSERT_EQ_INT(first, 3);
    ASSERT_EQ_INT(last, 3);
    store_checkpoint got;
    ASSERT_EQ_INT(store_last_anchor(s, &got, err), STORE_OK);
    ASSERT_EQ_INT(got.seq, 2);
    /* counters follow: only the remaining entry is counted */
    store_activity a;
    char since[TS_BUFLEN];
    ts_of(T0 - DAY_US, since);
    ASSERT_EQ_INT(store_user_activity(s, "alice", since, NULL, &a, err), STORE_OK);
    ASSERT_EQ_INT(a.total, 1);
    cJSON_Delete(a.by_type);
    /* the chain goes on from the last entry, and verifies from the anchor */
    ASSERT_EQ_INT(put_n(s, "b", 1), 0);
    cJSON *report = verify_log(s, &(verify_options){0}, err, sizeof err);
    ASSERT(report);
    char *text = cJSON_PrintUnformatted(report);
    if (!cJSON_IsTrue(cJSON_GetObjectItem(report, "ok"))) fprintf(stderr, "%s\n", text);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(report, "ok")));
    free(text);
    cJSON_Delete(report);
    signer_wipe(&sg);
    store_close(s);
}

TEST(prune_keeps_everything_when_archive_fails)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_at(s, T0 - 70 * DAY_US, "tool_call", "alice", "p", NULL), STORE_OK);
    ASSERT_EQ_INT(put_at(s, T0, "tool_call", "alice", "p", NULL), STORE_OK);
    char err[STORE_ERRLEN] = "", cut[TS_BUFLEN], last_hash[CHAIN_HEX_LEN];
    ts_of(T0 - 20 * DAY_US, cut);
    int64_t last_seq;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT(store_prune(s, cut, keep_refuse, NULL, &last_seq, last_hash, err) != STORE_OK);
    ASSERT(err[0]);
    store_rollback(s);
    int64_t first, last;
    ASSERT_EQ_INT(store_seq_range(s, &first, &last, err), STORE_OK);
    ASSERT_EQ_INT(first, 1);
    ASSERT_EQ_INT(last, 2);
    store_close(s);
}

/* ---- the Merkle tree ---------------------------------------------------- */

/* The selected log's entry hashes in seq order (from seq 1: a pruned log
** gives fewer), into a merkle_mem of their leaves. */
static int gather_leaf(void *ctx, const store_raw_entry *e)
{
    merkle_hash leaf;
    merkle_leaf_hash(e->hash, CHAIN_HASH_BYTES, leaf);
    return merkle_mem_append(ctx, leaf) != MERKLE_OK;
}

static int entries_tree(store *s, merkle_mem *m)
{
    char err[STORE_ERRLEN];
    int rc = store_each_entry(s, 1, gather_leaf, m, err);
    if (rc != STORE_OK) fprintf(stderr, "each_entry: %s\n", err);
    return rc == STORE_OK ? 0 : -1;
}

/* Whether the selected log's stored tree is m, leaf for leaf: the same
** size, the same root at every size, every inclusion proof at the full
** size and every consistency proof into it verifying against m's roots.
** 1 or 0 (what differs on stderr). */
static int tree_is(store *s, merkle_mem *m)
{
    char err[STORE_ERRLEN], merr[256];
    int64_t size, n = m->f.size;
    merkle_reader r = merkle_mem_reader(m);
    merkle_hash want, got, full, path[MERKLE_MAX_PROOF];
    size_t len;
    if (store_tree_size(s, &size, err) != STORE_OK || size != n) {
        fprintf(stderr, "tree size %lld, want %lld (%s)\n", (long long)size, (long long)n, err);
        return 0;
    }
    merkle_frontier_root(&m->f, full);
    for (int64_t k = 0; k <= n; k++) {
        if (merkle_tree_hash(k, &r, want, merr, sizeof merr) != MERKLE_OK ||
            store_tree_root(s, k, got, err) != STORE_OK || memcmp(want, got, MERKLE_HASH)) {
            fprintf(stderr, "root at %lld differs (%s)\n", (long long)k, err);
            return 0;
        }
        if (store_tree_consistency(s, k, n, path, &len, err) != STORE_OK ||
            merkle_verify_consistency(k, n, want, full, path[0], len) != MERKLE_OK) {
            fprintf(stderr, "consistency %lld..%lld fails (%s)\n", (long long)k, (long long)n,
                    err);
            return 0;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        if (store_tree_prove(s, i, n, path, &len, err) != STORE_OK ||
            merkle_verify_inclusion(i, n, m->h[merkle_stored_index(0, i)], path[0], len,
                                    full) != MERKLE_OK) {
            fprintf(stderr, "inclusion of %lld in %lld fails (%s)\n", (long long)i,
                    (long long)n, err);
            return 0;
        }
    }
    return 1;
}

/* The stored tree is the entries' tree, read back from the entries. */
static int tree_of_entries(store *s)
{
    merkle_mem m = {0};
    int ok = entries_tree(s, &m) == 0 && tree_is(s, &m);
    merkle_mem_free(&m);
    return ok;
}

/* Append n entries in transactions of `group` entries each. */
static int put_groups(store *s, int n, int group)
{
    char err[STORE_ERRLEN];
    for (int i = 0; i < n;) {
        if (store_begin(s, err) != STORE_OK) return -1;
        for (int k = 0; k < group && i < n; k++, i++) {
            store_record r = rec("tool_call", "op", "g");
            store_receipt out;
            if (store_append(s, &r, &out, err) != STORE_OK) {
                store_rollback(s);
                return -1;
            }
        }
        if (store_commit(s, err) != STORE_OK) return -1;
    }
    return 0;
}

TEST(tree_is_the_merkle_tree_of_the_entry_hashes)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN];
    int64_t size = -1;
    merkle_hash root, empty;
    ASSERT_EQ_INT(store_tree_size(s, &size, err), STORE_OK);
    ASSERT_EQ_INT(size, 0);
    ASSERT_EQ_INT(store_tree_root(s, 0, root, err), STORE_OK);
    merkle_empty_root(empty);
    ASSERT(memcmp(root, empty, MERKLE_HASH) == 0);
    /* One by one, then group commits of several sizes. */
    ASSERT_EQ_INT(put_n(s, "a", 5), 0);
    ASSERT_EQ_INT(put_groups(s, 11, 4), 0);
    ASSERT_EQ_INT(put_groups(s, 17, 17), 0);
    ASSERT(tree_of_entries(s));
    /* Another store on the file reads the same tree. */
    store *r = open_log("alpha");
    ASSERT(r);
    ASSERT(tree_of_entries(r));
    store_close(r);
    store_close(s);
}

TEST(tree_bounds_are_refused_by_name)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 3), 0);
    char err[STORE_ERRLEN] = "";
    merkle_hash root, path[MERKLE_MAX_PROOF];
    size_t len;
    ASSERT_EQ_INT(store_tree_root(s, 4, root, err), STORE_EINVAL);
    ASSERT_CONTAINS(err, "holds 3 leaves");
    ASSERT_EQ_INT(store_tree_prove(s, 3, 3, path, &len, err), STORE_EINVAL);
    ASSERT_EQ_INT(store_tree_consistency(s, 3, 2, path, &len, err), STORE_EINVAL);
    store_close(s);
}

/* Savepoints rolled back, a transaction rolled back and one that failed
** leave the tree exactly the entries' tree, and the next appends extend
** it. */
TEST(tree_follows_savepoints_and_rollbacks)
{
    store *s = fresh();
    ASSERT(s);
    char err[STORE_ERRLEN];
    store_receipt out;
    store_record r = rec("tool_call", "op", "x");
    ASSERT_EQ_INT(put_n(s, "a", 2), 0);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &r, &out, err), STORE_OK);
    store_savepoint_release(s);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &r, &out, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &r, &out, err), STORE_OK);
    store_savepoint_rollback(s);
    ASSERT_EQ_INT(store_append(s, &r, &out, err), STORE_OK);
    /* Inside the transaction the tree already holds its appends. */
    int64_t size;
    ASSERT_EQ_INT(store_tree_size(s, &size, err), STORE_OK);
    ASSERT_EQ_INT(size, 4);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT(tree_of_entries(s));
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &r, &out, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &r, &out, err), STORE_OK);
    store_rollback(s);
    ASSERT(tree_of_entries(s));
    ASSERT_EQ_INT(put_n(s, "b", 3), 0);
    ASSERT(tree_of_entries(s));
    size = 0;
    ASSERT_EQ_INT(store_tree_size(s, &size, err), STORE_OK);
    ASSERT_EQ_INT(size, 7);
    store_close(s);
}

/* Retention removes entries but none of their leaves: the tree still
** proves the pruned entries (as their archive holds them) and goes on. */
TEST(tree_keeps_the_leaves_of_pruned_entries)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_at(s, T0 - 70 * DAY_US, "tool_call", "alice", "p", NULL), STORE_OK);
    ASSERT_EQ_INT(put_at(s, T0 - 70 * DAY_US + HOUR_US, "tool_call", "alice", "p", NULL),
                  STORE_OK);
    ASSERT_EQ_INT(put_at(s, T0, "tool_call", "alice", "p", NULL), STORE_OK);
    merkle_mem m = {0};
    ASSERT_EQ_INT(entries_tree(s, &m), 0);
    signer sg;
    ASSERT_EQ_INT(load_signer(&sg), 0);
    char err[STORE_ERRLEN], cut[TS_BUFLEN], last_hash[CHAIN_HEX_LEN];
    ts_of(T0 - 20 * DAY_US, cut);
    int kept = 0;
    int64_t last_seq = -1;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_prune(s, cut, keep_count, &kept, &last_seq, last_hash, err), STORE_OK);
    store_checkpoint anchor;
    ASSERT_EQ_INT(checkpoint_append(s, &sg, "anchor", last_seq, last_hash, &anchor, err),
                  STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    signer_wipe(&sg);
    ASSERT_EQ_INT(last_seq, 2);
    ASSERT(tree_is(s, &m));
    /* The chain and the tree go on from the remaining entry. */
    ASSERT_EQ_INT(put_n(s, "b", 2), 0);
    store_raw_entry e;
    memset(&e, 0, sizeof e);
    char hex[CHAIN_HEX_LEN];
    for (int64_t seq = 4; seq <= 5; seq++) {
        ASSERT_EQ_INT(store_hash_at(s, seq, hex, err), STORE_OK);
        ASSERT_EQ_INT(hex_to_hash(hex, e.hash), 0);
        ASSERT_EQ_INT(gather_leaf(&m, &e), 0);
    }
    ASSERT(tree_is(s, &m));
    merkle_mem_free(&m);
    store_close(s);
}

/* The owner's way to make a database from before trees: no stored hash. */
static int drop_tree(store *s)
{
    char sql[512];
    if (is_pg())
        snprintf(sql, sizeof sql,
                 "SET session_replication_role = replica;"
                 "DELETE FROM dss_audit.tree WHERE log_id = '%s';", store_log_id(s));
    else
        snprintf(sql, sizeof sql, "DROP TRIGGER tree_no_delete; DELETE FROM tree;"
                                  "CREATE TRIGGER tree_no_delete BEFORE DELETE ON tree BEGIN"
                                  "  SELECT RAISE(ABORT, 'the Merkle tree is append-only');"
                                  " END;");
    return owner_exec(sql);
}

/* A log whose tree is missing (a database from before trees) gains it when
** a writable store opens; a read-only one finds none and builds nothing. */
TEST(tree_missing_is_built_when_a_writable_store_opens)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 9), 0);
    ASSERT_EQ_INT(drop_tree(s), 0);
    store_close(s);
    store_options o;
    memset(&o, 0, sizeof o);
    o.path = target;
    o.log_name = "alpha";
    o.readonly = 1;
    char err[STORE_ERRLEN];
    int64_t size = -1;
    ASSERT_EQ_INT(store_open(&o, &s, err), STORE_OK);
    ASSERT_EQ_INT(store_tree_size(s, &size, err), STORE_OK);
    ASSERT_EQ_INT(size, 0);
    store_close(s);
    s = open_log("alpha");
    ASSERT(s);
    ASSERT(tree_of_entries(s));
    ASSERT_EQ_INT(put_n(s, "c", 3), 0);
    ASSERT(tree_of_entries(s));
    ASSERT_EQ_INT(store_tree_size(s, &size, err), STORE_OK);
    ASSERT_EQ_INT(size, 12);
    store_close(s);
}

/* A tree that cannot be built (its first entries were pruned before the
** log kept one) stays as it is: appends go on without it, and a proof is
** refused by name. */
TEST(tree_that_cannot_be_built_does_not_stop_appends)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_at(s, T0 - 70 * DAY_US, "tool_call", "alice", "p", NULL), STORE_OK);
    ASSERT_EQ_INT(put_at(s, T0, "tool_call", "alice", "p", NULL), STORE_OK);
    char err[STORE_ERRLEN] = "", cut[TS_BUFLEN], last_hash[CHAIN_HEX_LEN];
    ts_of(T0 - 20 * DAY_US, cut);
    int kept = 0;
    int64_t last_seq = -1, size = -1;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_prune(s, cut, keep_count, &kept, &last_seq, last_hash, err), STORE_OK);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(drop_tree(s), 0);
    store_close(s);
    s = open_log("alpha");
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "b", 2), 0);
    ASSERT_EQ_INT(store_tree_size(s, &size, err), STORE_OK);
    ASSERT_EQ_INT(size, 0);
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t len;
    ASSERT_EQ_INT(store_tree_prove(s, 2, 4, path, &len, err), STORE_EINVAL);
    ASSERT_CONTAINS(err, "holds 0 leaves");
    int64_t first, last;
    ASSERT_EQ_INT(store_seq_range(s, &first, &last, err), STORE_OK);
    ASSERT_EQ_INT(last, 4);
    store_close(s);
}

/* Two stores appending to one log (two servers): each sees the other's
** appends and reloads its edge, and the tree stays the entries'. */
TEST(pg_only_tree_of_a_log_two_stores_append_to)
{
    ASSERT_EQ_INT(fresh_db(), 0);
    store *a = open_log("alpha"), *b = open_log("alpha");
    ASSERT(a && b);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ_INT(put_groups(a, 1 + i, 2), 0);
        ASSERT_EQ_INT(put_groups(b, 3, 3), 0);
    }
    ASSERT(tree_of_entries(a));
    ASSERT(tree_of_entries(b));
    store_close(a);
    store_close(b);
}

/* Deep copies of a log's entries, to import elsewhere. */
typedef struct copies {
    store_raw_entry e[64];
    size_t n;
} copies;

static int copy_entry(void *ctx, const store_raw_entry *e)
{
    copies *c = ctx;
    if (c->n == 64) return 1;
    raw_copy(&c->e[c->n++], e);
    return 0;
}

static void free_copies(copies *c)
{
    for (size_t k = 0; k < c->n; k++) raw_copy_free(&c->e[k]);
    c->n = 0;
}

static int import_batch(store *s, const store_raw_entry *e, size_t n)
{
    char err[STORE_ERRLEN];
    int64_t stored, skipped;
    int rc = store_begin(s, err);
    if (rc == STORE_OK) rc = store_import(s, e, n, &stored, &skipped, err);
    if (rc == STORE_OK) rc = store_commit(s, err);
    else store_rollback(s);
    if (rc != STORE_OK) fprintf(stderr, "import: %s\n", err);
    return rc;
}

/* A log shipped into another log of the store gets the same tree: the
** same root at every size, so a checkpoint signed over the original
** verifies against the copy. */
TEST(pg_only_tree_of_an_imported_log_is_the_original_s)
{
    ASSERT_EQ_INT(fresh_db(), 0);
    store *a = open_log("alpha"), *c = open_log("central");
    ASSERT(a && c);
    ASSERT_EQ_INT(put_groups(a, 13, 5), 0);
    static copies cp;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_each_entry(a, 1, copy_entry, &cp, err), STORE_OK);
    ASSERT_EQ_INT(cp.n, 13);
    store_log l;
    memset(&l, 0, sizeof l);
    snprintf(l.log_id, sizeof l.log_id, "c0b1e5a2-0000-4000-8000-00000000c0b1");
    snprintf(l.name, sizeof l.name, "copy");
    ASSERT_EQ_INT(store_ensure_log(c, &l, err), STORE_OK);
    ASSERT_EQ_INT(import_batch(c, cp.e, 6), STORE_OK);
    ASSERT_EQ_INT(import_batch(c, cp.e, 13), STORE_OK); /* re-sent, then the rest */
    merkle_mem m = {0};
    ASSERT_EQ_INT(entries_tree(a, &m), 0);
    ASSERT(tree_is(c, &m));
    /* The central store's own log is untouched, and appends on. */
    ASSERT_EQ_INT(store_use_log(c, NULL, err), STORE_OK);
    ASSERT_EQ_INT(put_n(c, "x", 2), 0);
    ASSERT(tree_of_entries(c));
    merkle_mem_free(&m);
    free_copies(&cp);
    store_close(a);
    store_close(c);
}

/* ---- verify ------------------------------------------------------------- */

/* verify_log's report on s: ok (1/0) and the problems as "seq:kind ..." */
static int verify_report(store *s, char *problems, size_t len)
{
    char err[STORE_ERRLEN];
    cJSON *report = verify_log(s, &(verify_options){0}, err, sizeof err);
    if (!report) {
        fprintf(stderr, "verify_log: %s\n", err);
        return -1;
    }
    int ok = cJSON_IsTrue(cJSON_GetObjectItem(report, "ok"));
    size_t n = 0;
    problems[0] = '\0';
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(report, "problems"))
        n += (size_t)snprintf(problems + n, len - n, "%s%lld:%s", n ? " " : "",
                              int_of(p, "seq"), str_of(p, "kind"));
    cJSON_Delete(report);
    return ok;
}

static int checkpoint_here(store *s)
{
    signer sg;
    store_checkpoint cp;
    char err[STORE_ERRLEN];
    if (load_signer(&sg) != 0) return -1;
    int rc = checkpoint_now(s, &sg, &cp, err);
    signer_wipe(&sg);
    if (rc != STORE_OK) fprintf(stderr, "checkpoint_now: %s\n", err);
    return rc;
}

TEST(verify_clean_log)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_filter_set(s), 0);
    ASSERT_EQ_INT(checkpoint_here(s), STORE_OK);
    ASSERT_EQ_INT(put_n(s, "a", 2), 0);
    char problems[512];
    ASSERT_EQ_INT(verify_report(s, problems, sizeof problems), 1);
    ASSERT_EQ_STR(problems, "");
    store_close(s);
}

/* verify_audit_log's log argument: the store's log by name verifies it
** alone; a log the store does not hold is refused. */
TEST(verify_one_log_by_name)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 4), 0);
    char err[STORE_ERRLEN];
    verify_options o = {.log = "alpha"};
    cJSON *report = verify_store(s, &o, err, sizeof err);
    ASSERT(report);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "ok")));
    ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(report, "entries_checked")->valuedouble, 4);
    ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "logs")), 1);
    cJSON_Delete(report);
    o.log = "no-such-log";
    ASSERT(verify_store(s, &o, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "no-such-log");
    store_close(s);
}

TEST(verify_finds_modified_entry)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 5), 0);
    ASSERT_EQ_INT(tamper_args(s, 3), 0);
    char problems[512];
    ASSERT_EQ_INT(verify_report(s, problems, sizeof problems), 0);
    ASSERT_EQ_STR(problems, "3:modified");
    store_close(s);
}

TEST(verify_finds_deleted_entry)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 5), 0);
    ASSERT_EQ_INT(tamper_delete(s, 2), 0);
    char problems[512];
    ASSERT_EQ_INT(verify_report(s, problems, sizeof problems), 0);
    ASSERT_CONTAINS(problems, ":missing");
    store_close(s);
}

TEST(verify_finds_truncation_below_checkpoint)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 4), 0);
    ASSERT_EQ_INT(checkpoint_here(s), STORE_OK);
    ASSERT_EQ_INT(tamper_delete(s, 4), 0);
    char problems[512];
    ASSERT_EQ_INT(verify_report(s, problems, sizeof problems), 0);
    ASSERT_CONTAINS(problems, "truncated");
    store_close(s);
}

/* ---- cancellation ------------------------------------------------------- */

/* Make the next query on the store take long: SQLite needs only enough
** rows (its progress handler runs every 50,000 steps); PostgreSQL's query
** waits behind a lock held by another session, released by done_slow(). */
static PGconn *slow_holder;

static int make_slow(store *s)
{
    if (!is_pg()) {
        char err[STORE_ERRLEN];
        store_record r = rec("tool_call", "op", "bulk");
        if (store_begin(s, err) != STORE_OK) return -1;
        for (int i = 0; i < 20000; i++) {
            store_receipt rc;
            if (store_append(s, &r, &rc, err) != STORE_OK) return -1;
        }
        return store_commit(s, err) == STORE_OK ? 0 : -1;
    }
    slow_holder = PQconnectdb(target);
    if (PQstatus(slow_holder) != CONNECTION_OK) return -1;
    PGresult *res = PQexec(slow_holder, "BEGIN; LOCK TABLE dss_audit.entries IN ACCESS EXCLUSIVE MODE");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : -1;
}

static void done_slow(void)
{
    if (slow_holder) PQfinish(slow_holder);
    slow_holder = NULL;
}

static int interrupt_now(void *ctx)
{
    (*(int *)ctx)++;
    return 1;
}

TEST(interrupt_stops_long_query_then_queries_work)
{
    store *s = fresh();
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 2), 0);
    ASSERT_EQ_INT(make_slow(s), 0);
    int calls = 0;
    store_set_interrupt(s, interrupt_now, &calls);
    store_query q = all();
    q.text = "zz"; /* matches nothing: every row is read */
    cJSON *arr = NULL;
    char err[STORE_ERRLEN] = "";
    int rc = store_find(s, &q, &arr, NULL, err);
    store_set_interrupt(s, NULL, NULL);
    done_slow();
    ASSERT_EQ_INT(rc, STORE_EINTERRUPTED);
    ASSERT(calls >= 1);
    ASSERT(err[0]);
    q = all();
    q.limit = 1;
    ASSERT(finds(s, &q, is_pg() ? "a2" : "bulk"));
    ASSERT_EQ_INT(put_n(s, "b", 1), 0);
    store_close(s);
}

/* ---- a failing write: full disk or lost connection ------------------- */

/* Make the next commit fail as the backend's worst day does: SQLite's file
** reaches its size cap (a huge entry), PostgreSQL's connection is killed. */
static int break_write(store *s, const char *huge)
{
    char err[STORE_ERRLEN];
    if (!is_pg()) {
        store_record r = rec("tool_call", "op", "huge");
        r.args = huge;
        store_receipt rc;
        return store_append(s, &r, &rc, err);
    }
    store_record r = rec("tool_call", "op", "lost");
    store_receipt rc;
    if (store_append(s, &r, &rc, err) != STORE_OK) return -1;
    char sql[512], why[256];
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
             " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    return pgtest_exec_err(target, sql, why, sizeof why) == 0 ? STORE_OK : -1;
}

TEST(failed_write_loses_nothing_acknowledged_and_next_transaction_works)
{
    ASSERT_EQ_INT(fresh_db(), 0);
    store *s = open_log_opt("alpha", is_pg() ? 0 : 256 * 1024);
    ASSERT(s);
    ASSERT_EQ_INT(put_n(s, "a", 3), 0);
    size_t n = 2 * 1024 * 1024;
    char *huge = malloc(n + 1);
    ASSERT(huge);
    huge[0] = '"';
    memset(huge + 1, 'x', n - 2);
    huge[n - 1] = '"';
    huge[n] = '\0';
    char err[STORE_ERRLEN] = "";
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    int64_t tx = store_tx(s);
    int rc = break_write(s, huge);
    if (rc == STORE_OK) rc = store_commit(s, err);
    else if (store_in_transaction(s)) store_rollback(s);
    free(huge);
    ASSERT(rc != STORE_OK);
    if (!is_pg()) ASSERT_EQ_INT(rc, STORE_EFULL);
    ASSERT_EQ_INT(store_in_transaction(s), 0);
    int64_t lost = store_take_lost_tx(s);
    ASSERT(lost == 0 || lost == tx);
    store_query q = all();
    /* the next transaction works (PostgreSQL: on a new connection) */
    int tries = 0;
    while (put_n(s, "b", 1) != 0 && ++tries < 3) {}
    ASSERT(tries < 3);
    ASSERT(finds(s, &q, "b1,a3,a2,a1"));
    char problems[256];
    ASSERT_EQ_INT(verify_report(s, problems, sizeof problems), 1);
    store_close(s);
}

/* ---- many logs in one database (PostgreSQL only) --------------------- */

/* Two stores on logs "alpha" and "beta" of one database. */
static int two_logs(store **a, store **b)
{
    *a = *b = NULL;
    if (fresh_db() != 0) return -1;
    *a = open_log("alpha");
    *b = open_log("beta");
    return *a && *b ? 0 : -1;
}

static int put_label(store *s, const char *label)
{
    store_record r = rec("tool_call", "op", label);
    r.user_id = strchr(label, '1') ? "alice" : "bob";
    return put(s, &r, NULL);
}

TEST(pg_only_logs_interleave_newest_first_by_time)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    ASSERT_EQ_INT(put_label(a, "a1"), 0);
    ASSERT_EQ_INT(put_label(b, "b1"), 0);
    ASSERT_EQ_INT(put_label(b, "b2"), 0);
    ASSERT_EQ_INT(put_label(a, "a2"), 0);
    store_query q = all();
    ASSERT(finds(a, &q, "a2,b2,b1,a1"));
    ASSERT(finds(b, &q, "a2,b2,b1,a1"));
    q.user_id = "alice";
    ASSERT(finds(a, &q, "b1,a1"));
    store_close(a);
    store_close(b);
}

TEST(pg_only_same_instant_ties_by_log_then_seq)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    clock_step = 0; /* every entry at one instant */
    ASSERT_EQ_INT(put_label(a, "a1"), 0);
    ASSERT_EQ_INT(put_label(b, "b1"), 0);
    ASSERT_EQ_INT(put_label(a, "a2"), 0);
    ASSERT_EQ_INT(put_label(b, "b2"), 0);
    int a_first = strcmp(store_log_id(a), store_log_id(b)) < 0;
    store_query q = all();
    ASSERT(finds(a, &q, a_first ? "b2,b1,a2,a1" : "a2,a1,b2,b1"));
    store_close(a);
    store_close(b);
}

TEST(pg_only_entries_name_their_log)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    ASSERT_EQ_INT(put_label(a, "a1"), 0);
    ASSERT_EQ_INT(put_label(b, "b1"), 0);
    store_query q = all();
    cJSON *arr = find(a, &q, NULL);
    ASSERT(arr && cJSON_GetArraySize(arr) == 2);
    ASSERT_EQ_STR(str_of(cJSON_GetArrayItem(arr, 0), "log"), "beta");
    ASSERT_EQ_STR(str_of(cJSON_GetArrayItem(arr, 0), "log_id"), store_log_id(b));
    ASSERT_EQ_STR(str_of(cJSON_GetArrayItem(arr, 1), "log"), "alpha");
    ASSERT_EQ_STR(str_of(cJSON_GetArrayItem(arr, 1), "log_id"), store_log_id(a));
    ASSERT_EQ_INT(int_of(cJSON_GetArrayItem(arr, 0), "seq"), 1);
    cJSON_Delete(arr);
    store_close(a);
    store_close(b);
}

TEST(pg_only_log_filter_selects_one_log)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    ASSERT_EQ_INT(put_label(a, "a1"), 0);
    ASSERT_EQ_INT(put_label(b, "b1"), 0);
    ASSERT_EQ_INT(put_label(a, "a2"), 0);
    store_query q = all();
    q.log = "beta";
    ASSERT(finds(a, &q, "b1"));
    q.log = store_log_id(a);
    ASSERT(finds(b, &q, "a2,a1"));
    q.user_id = "alice";
    ASSERT(finds(b, &q, "a1"));
    q = all();
    q.log = "gamma";
    ASSERT(finds(a, &q, ""));
    store_close(a);
    store_close(b);
}

static int append_both(store *s, int page)
{
    static store *other;
    if (page == 0) {
        other = s;
        return 0;
    }
    char l1[16], l2[16];
    snprintf(l1, sizeof l1, "n%da", page);
    snprintf(l2, sizeof l2, "n%db", page);
    return put_label(s, l1) || put_label(other, l2);
}

TEST(pg_only_cursor_across_logs_covers_once_while_appending)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    /* pairs at one instant, so pages end between logs of one created_at */
    clock_step = 0;
    for (int i = 1; i <= 5; i++) {
        char la[8], lb[8];
        snprintf(la, sizeof la, "a%d", i);
        snprintf(lb, sizeof lb, "b%d", i);
        ASSERT_EQ_INT(put_label(a, la), 0);
        ASSERT_EQ_INT(put_label(b, lb), 0);
        clock_now += 1000000;
    }
    clock_step = 1000000;
    append_both(b, 0);
    store_query q = all();
    q.limit = 3;
    char got[1024];
    ASSERT_EQ_INT(walk_pages(a, q, got, sizeof got, append_both), 4);
    int a_first = strcmp(store_log_id(a), store_log_id(b)) < 0;
    ASSERT_EQ_STR(got, a_first ? "b5,a5,b4,a4,b3,a3,b2,a2,b1,a1"
                               : "a5,b5,a4,b4,a3,b3,a2,b2,a1,b1");
    store_close(a);
    store_close(b);
}

TEST(pg_only_cursor_across_logs_with_log_filter)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    for (int i = 1; i <= 4; i++) {
        char la[8], lb[8];
        snprintf(la, sizeof la, "a%d", i);
        snprintf(lb, sizeof lb, "b%d", i);
        ASSERT_EQ_INT(put_label(a, la), 0);
        ASSERT_EQ_INT(put_label(b, lb), 0);
    }
    store_query q = all();
    q.limit = 3;
    q.log = "alpha";
    char got[1024];
    ASSERT_EQ_INT(walk_pages(b, q, got, sizeof got, NULL), 2);
    ASSERT_EQ_STR(got, "a4,a3,a2,a1");
    store_close(a);
    store_close(b);
}

TEST(pg_only_each_match_across_logs_in_order)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    ASSERT_EQ_INT(put_label(a, "a1"), 0);
    ASSERT_EQ_INT(put_label(b, "b1"), 0);
    ASSERT_EQ_INT(put_label(a, "a2"), 0);
    ASSERT_EQ_INT(put_label(b, "b2"), 0);
    store_scan sc = {0};
    match_walk m = {.limit = 0};
    ASSERT_EQ_INT(match_labels(a, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "a1,b1,a2,b2");
    sc.newest_first = 1;
    ASSERT_EQ_INT(match_labels(a, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "b2,a2,b1,a1");
    store_query f = all();
    f.log = "beta";
    sc.filter = &f;
    ASSERT_EQ_INT(match_labels(a, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, "b2,b1");
    store_close(a);
    store_close(b);
}

TEST(pg_only_each_match_after_cursor_across_logs)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    clock_step = 0;
    store_record r = rec("tool_call", "op", "a1");
    store_receipt ra1;
    ASSERT_EQ_INT(put(a, &r, &ra1), STORE_OK);
    ASSERT_EQ_INT(put_label(b, "b1"), 0);
    clock_now += 1000000;
    ASSERT_EQ_INT(put_label(a, "a2"), 0);
    ASSERT_EQ_INT(put_label(b, "b2"), 0);
    int a_first = strcmp(store_log_id(a), store_log_id(b)) < 0;
    store_scan sc = {.after_seq = ra1.seq, .after_created_at = ra1.created_at,
                     .after_log_id = store_log_id(a)};
    match_walk m = {.limit = 0};
    ASSERT_EQ_INT(match_labels(a, &sc, &m), STORE_OK);
    ASSERT_EQ_STR(m.text, a_first ? "b1,a2,b2" : "b2,a2");
    store_close(a);
    store_close(b);
}

TEST(pg_only_integrity_functions_follow_selected_log)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    ASSERT_EQ_INT(put_n(a, "a", 3), 0);
    ASSERT_EQ_INT(put_n(b, "b", 1), 0);
    char err[STORE_ERRLEN], hash[CHAIN_HEX_LEN];
    int64_t seq;
    ASSERT_EQ_INT(store_head(a, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 3);
    ASSERT_EQ_INT(store_use_log(a, "beta", err), STORE_OK);
    ASSERT_EQ_INT(store_head(a, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 1);
    ASSERT_EQ_STR(store_log_name(a), "beta");
    ASSERT_EQ_INT(store_use_log(a, "nope", err), STORE_ENOTFOUND);
    ASSERT_EQ_INT(store_use_log(a, NULL, err), STORE_OK);
    ASSERT_EQ_STR(store_log_name(a), "alpha");
    store_close(a);
    store_close(b);
}

TEST(pg_only_activity_and_stats_across_logs)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    ASSERT_EQ_INT(put_at(a, T0 + HOUR_US, "tool_call", "alice", "p1", NULL), 0);
    ASSERT_EQ_INT(put_at(b, T0 + 2 * HOUR_US, "error", "alice", "p2", "x"), 0);
    ASSERT_EQ_INT(put_at(b, T0 + 3 * HOUR_US, "tool_call", NULL, NULL, NULL), 0);
    store_activity act;
    char err[STORE_ERRLEN], since[TS_BUFLEN];
    ts_of(T0, since);
    ASSERT_EQ_INT(store_user_activity(a, "alice", since, NULL, &act, err), STORE_OK);
    ASSERT_EQ_INT(act.total, 2);
    ASSERT_EQ_INT(act.errors, 1);
    ASSERT_EQ_INT(act.projects, 2);
    cJSON_Delete(act.by_type);
    rows r = {.n = 0};
    ASSERT_EQ_INT(store_activity_days(a, NULL, "2026-03-02", "2026-03-02", add_row, &r, err),
                  STORE_OK);
    ASSERT_EQ_STR(r.text, "2026-03-02/error/1/1 2026-03-02/tool_call/2/0");
    store_close(a);
    store_close(b);
}

/* Two logs of one database, 6 and 4 entries (the first log's with 2
** errors and 2 users, the second's with 1 error), a checkpoint on the
** first. */
static int two_busy_logs(store **a, store **b)
{
    if (two_logs(a, b) != 0) return -1;
    for (int i = 0; i < 6; i++)
        if (put_at(*a, T0 + (2 * i) * HOUR_US, i < 2 ? "error" : "tool_call",
                   i % 2 ? "bob" : "alice", "p", i < 2 ? "boom" : NULL))
            return -1;
    for (int i = 0; i < 4; i++)
        if (put_at(*b, T0 + (2 * i + 1) * HOUR_US, "tool_result", "carol", "q",
                   i == 0 ? "bad" : NULL))
            return -1;
    return checkpoint_here(*a) == STORE_OK ? 0 : -1;
}

/* The reported bug: `stats --log A` counted every log's entries as A's. */
TEST(pg_only_stats_of_one_log_counts_only_it)
{
    store *a, *b;
    ASSERT_EQ_INT(two_busy_logs(&a, &b), 0);
    store_stats st;
    char err[STORE_ERRLEN], first[TS_BUFLEN], last[TS_BUFLEN];
    ASSERT_EQ_INT(store_get_stats(a, "beta", 10, NULL, NULL, &st, err), STORE_OK);
    ASSERT_EQ_INT(st.entries, 4);
    ASSERT_EQ_INT(st.errors, 1);
    ASSERT_EQ_INT(st.checkpoints, 0);
    ASSERT_EQ_INT(st.n_logs, 1);
    ASSERT_EQ_STR(st.logs[0].name, "beta");
    ASSERT_EQ_INT(st.logs[0].first_seq, 1);
    ASSERT_EQ_INT(st.logs[0].last_seq, 4);
    ts_of(T0 + HOUR_US, first);
    ts_of(T0 + 7 * HOUR_US, last);
    ASSERT_EQ_STR(st.first_created_at, first);
    ASSERT_EQ_STR(st.last_created_at, last);
    char *by = cJSON_PrintUnformatted(st.by_event_type);
    ASSERT_EQ_STR(by, "{\"tool_result\":4}");
    free(by);
    char *users = cJSON_PrintUnformatted(st.top_users);
    ASSERT_EQ_STR(users, "[{\"user_id\":\"carol\",\"entries\":4,\"errors\":1}]");
    free(users);
    store_stats_free(&st);
    ASSERT_EQ_INT(store_get_stats(b, "alpha", 10, NULL, NULL, &st, err), STORE_OK);
    ASSERT_EQ_INT(st.entries, 6);
    ASSERT_EQ_INT(st.errors, 2);
    ASSERT_EQ_INT(st.checkpoints, 1);
    ASSERT_EQ_INT(st.logs[0].last_seq, 6);
    store_stats_free(&st);
    store_close(a);
    store_close(b);
}

/* Without a log named, stats total every log, with each log's part. */
TEST(pg_only_stats_across_logs_total_every_log)
{
    store *a, *b;
    ASSERT_EQ_INT(two_busy_logs(&a, &b), 0);
    store_stats st;
    char err[STORE_ERRLEN], first[TS_BUFLEN], last[TS_BUFLEN];
    int calls = 0;
    ASSERT_EQ_INT(store_get_stats(a, NULL, 10, progress_count, &calls, &st, err), STORE_OK);
    ASSERT_EQ_INT(st.entries, 10);
    ASSERT_EQ_INT(st.errors, 3);
    ASSERT_EQ_INT(st.checkpoints, 1);
    ASSERT_EQ_INT(calls, 2);
    ts_of(T0, first);
    ts_of(T0 + 10 * HOUR_US, last);
    ASSERT_EQ_STR(st.first_created_at, first);
    ASSERT_EQ_STR(st.last_created_at, last);
    ASSERT_EQ_INT(st.n_logs, 2);
    int ia = strcmp(st.logs[0].name, "alpha") == 0 ? 0 : 1;
    ASSERT_EQ_STR(st.logs[ia].name, "alpha");
    ASSERT_EQ_STR(st.logs[1 - ia].name, "beta");
    ASSERT(strcmp(st.logs[0].log_id, st.logs[1].log_id) < 0);
    ASSERT_EQ_INT(st.logs[ia].entries, 6);
    ASSERT_EQ_INT(st.logs[ia].errors, 2);
    ASSERT_EQ_INT(st.logs[ia].checkpoints, 1);
    ASSERT_EQ_INT(st.logs[1 - ia].entries, 4);
    ASSERT_EQ_INT(st.logs[1 - ia].errors, 1);
    ASSERT_EQ_INT(st.logs[1 - ia].last_seq, 4);
    char *by = cJSON_PrintUnformatted(st.by_event_type);
    ASSERT_EQ_STR(by, "{\"tool_call\":4,\"tool_result\":4,\"error\":2}");
    free(by);
    ASSERT_EQ_INT(cJSON_GetArraySize(st.top_users), 3);
    store_stats_free(&st);
    store_close(a);
    store_close(b);
}

/* A read-only store of a database of several logs selects none; stats
** still total them all (it refused before: "no log is selected"). */
TEST(pg_only_stats_read_only_without_a_log)
{
    store *a, *b;
    ASSERT_EQ_INT(two_busy_logs(&a, &b), 0);
    store_options o = {.path = target, .readonly = 1};
    store *r = NULL;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_open(&o, &r, err), STORE_OK);
    ASSERT_EQ_STR(store_log_id(r), "");
    store_stats st;
    ASSERT_EQ_INT(store_get_stats(r, NULL, 10, NULL, NULL, &st, err), STORE_OK);
    ASSERT_EQ_INT(st.entries, 10);
    ASSERT_EQ_INT(st.n_logs, 2);
    store_stats_free(&st);
    store_close(r);
    store_close(a);
    store_close(b);
}

TEST(pg_only_user_activity_of_one_log)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    ASSERT_EQ_INT(put_at(a, T0 + HOUR_US, "tool_call", "alice", "p1", NULL), 0);
    ASSERT_EQ_INT(put_at(b, T0 + 2 * HOUR_US, "error", "alice", "p2", "x"), 0);
    ASSERT_EQ_INT(put_at(b, T0 + 3 * HOUR_US, "tool_call", "alice", "p2", NULL), 0);
    store_activity act;
    char err[STORE_ERRLEN], since[TS_BUFLEN];
    ts_of(T0, since);
    ASSERT_EQ_INT(store_user_activity(a, "alice", since, "beta", &act, err), STORE_OK);
    ASSERT_EQ_INT(act.total, 2);
    ASSERT_EQ_INT(act.errors, 1);
    ASSERT_EQ_INT(act.projects, 1);
    char *by = cJSON_PrintUnformatted(act.by_type);
    ASSERT_EQ_STR(by, "{\"error\":1,\"tool_call\":1}");
    free(by);
    cJSON_Delete(act.by_type);
    ASSERT_EQ_INT(store_user_activity(b, "alice", since, "alpha", &act, err), STORE_OK);
    ASSERT_EQ_INT(act.total, 1);
    ASSERT_EQ_INT(act.projects, 1);
    cJSON_Delete(act.by_type);
    ASSERT_EQ_INT(store_user_activity(a, "alice", since, NULL, &act, err), STORE_OK);
    ASSERT_EQ_INT(act.total, 3);
    ASSERT_EQ_INT(act.projects, 2);
    cJSON_Delete(act.by_type);
    store_close(a);
    store_close(b);
}

TEST(pg_only_verify_one_log_of_several)
{
    store *a, *b;
    ASSERT_EQ_INT(two_logs(&a, &b), 0);
    ASSERT_EQ_INT(put_n(a, "a", 3), 0);
    ASSERT_EQ_INT(put_n(b, "b", 5), 0);
    char err[STORE_ERRLEN];
    verify_options o = {.log = "beta"};
    cJSON *report = verify_store(a, &o, err, sizeof err);
    ASSERT(report);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "ok")));
    ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(report, "entries_checked")->valuedouble, 5);
    const cJSON *logs = cJSON_GetObjectItemCaseSensitive(report, "logs");
    ASSERT_EQ_INT(cJSON_GetArraySize(logs), 1);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(logs->child, "log")),
                  "beta");
    cJSON_Delete(report);
    /* The store's own log is selected again afterwards. */
    ASSERT_EQ_STR(store_log_name(a), "alpha");
    store_close(a);
    store_close(b);
}

TEST_MAIN(
    TEST_ENTRY(append_then_get_reads_every_field)
    TEST_ENTRY(get_unknown_id_is_not_found)
    TEST_ENTRY(entry_keys_in_order_v2_omitted_when_null_log_last)
    TEST_ENTRY(entry_v2_fields_present_when_set)
    TEST_ENTRY(json_column_not_json_reads_as_string)
    TEST_ENTRY(hashes_print_as_hex_and_link)
    TEST_ENTRY(entries_carry_log_id_and_name)
    TEST_ENTRY(each_log_lists_own_log_and_its_key)
    TEST_ENTRY(find_json_prints_what_find_builds)
    TEST_ENTRY(find_json_page_reports_count_more_and_last)
    TEST_ENTRY(find_all_newest_first)
    TEST_ENTRY(filter_project_id)
    TEST_ENTRY(filter_user_id)
    TEST_ENTRY(filter_operation_name)
    TEST_ENTRY(filter_event_type)
    TEST_ENTRY(filter_server_by_name)
    TEST_ENTRY(filter_session_id)
    TEST_ENTRY(filter_completes)
    TEST_ENTRY(filters_combine_with_and)
    TEST_ENTRY(filter_matching_nothing_is_empty)
    TEST_ENTRY(limit_sets_more)
    TEST_ENTRY(offset_skips_newest)
    TEST_ENTRY(since_is_inclusive)
    TEST_ENTRY(until_is_inclusive)
    TEST_ENTRY(since_until_range)
    TEST_ENTRY(time_range_combines_with_filter_and_limit)
    TEST_ENTRY(text_matches_substring_of_operation_name)
    TEST_ENTRY(text_matches_substring_of_error)
    TEST_ENTRY(text_folds_ascii_case)
    TEST_ENTRY(text_non_ascii_matches_exactly)
    TEST_ENTRY(text_percent_is_literal)
    TEST_ENTRY(text_underscore_is_literal)
    TEST_ENTRY(text_backslash_is_literal)
    TEST_ENTRY(text_short_terms_match)
    TEST_ENTRY(text_combines_with_filters_and_time)
    TEST_ENTRY(text_matches_spread_over_months_come_newest_first)
    TEST_ENTRY(cursor_pages_cover_everything_once)
    TEST_ENTRY(cursor_stable_while_appending)
    TEST_ENTRY(cursor_with_filter)
    TEST_ENTRY(cursor_with_time_range)
    TEST_ENTRY(cursor_with_text)
    TEST_ENTRY(log_filter_by_id_or_name_matches_own_log)
    TEST_ENTRY(log_filter_other_log_matches_nothing)
    TEST_ENTRY(user_activity_counts_whole_window)
    TEST_ENTRY(user_activity_since_before_noon_counts_exactly)
    TEST_ENTRY(user_activity_since_after_noon_counts_exactly)
    TEST_ENTRY(user_activity_since_is_inclusive)
    TEST_ENTRY(user_activity_unknown_user_is_zero)
    TEST_ENTRY(activity_days_every_entry_by_day_and_type)
    TEST_ENTRY(activity_days_bounds_are_inclusive_days)
    TEST_ENTRY(activity_days_of_one_user)
    TEST_ENTRY(activity_users_per_user_without_anonymous)
    TEST_ENTRY(activity_walk_stops_when_asked)
    TEST_ENTRY(entry_definition_matches_the_table)
    TEST_ENTRY(stats_count_entries_types_users_and_size)
    TEST_ENTRY(stats_of_empty_log)
    TEST_ENTRY(stats_of_one_log_by_name_or_id)
    TEST_ENTRY(stats_count_checkpoints_per_log)
    TEST_ENTRY(user_activity_of_one_log)
    TEST_ENTRY(seq_range_and_nth_newest)
    TEST_ENTRY(checkpoints_add_last_each)
    TEST_ENTRY(checkpoint_rolled_back_is_gone)
    TEST_ENTRY(each_entry_in_seq_order_hashes_verify)
    TEST_ENTRY(each_entry_from_seq_and_stop)
    TEST_ENTRY(head_and_hash_at)
    TEST_ENTRY(each_match_ascending_and_descending)
    TEST_ENTRY(each_match_filters)
    TEST_ENTRY(each_match_time_range)
    TEST_ENTRY(each_match_limit_and_after_cursor)
    TEST_ENTRY(each_match_callback_stops_walk)
    TEST_ENTRY(each_match_entries_shaped_as_find)
    TEST_ENTRY(each_match_callback_may_use_store)
    TEST_ENTRY(savepoint_rollback_undoes_one_request)
    TEST_ENTRY(rollback_undoes_transaction)
    TEST_ENTRY(append_outside_transaction_is_refused)
    TEST_ENTRY(head_after_reopen)
    TEST_ENTRY(prune_of_thousands_of_entries_removes_them_all)
    TEST_ENTRY(prune_removes_old_prefix_and_anchors_it)
    TEST_ENTRY(prune_keeps_everything_when_archive_fails)
    TEST_ENTRY(tree_is_the_merkle_tree_of_the_entry_hashes)
    TEST_ENTRY(tree_bounds_are_refused_by_name)
    TEST_ENTRY(tree_follows_savepoints_and_rollbacks)
    TEST_ENTRY(tree_keeps_the_leaves_of_pruned_entries)
    TEST_ENTRY(tree_missing_is_built_when_a_writable_store_opens)
    TEST_ENTRY(tree_that_cannot_be_built_does_not_stop_appends)
    TEST_ENTRY(pg_only_tree_of_a_log_two_stores_append_to)
    TEST_ENTRY(pg_only_tree_of_an_imported_log_is_the_original_s)
    TEST_ENTRY(verify_clean_log)
    TEST_ENTRY(verify_one_log_by_name)
    TEST_ENTRY(verify_finds_modified_entry)
    TEST_ENTRY(verify_finds_deleted_entry)
    TEST_ENTRY(verify_finds_truncation_below_checkpoint)
    TEST_ENTRY(interrupt_stops_long_query_then_queries_work)
    TEST_ENTRY(failed_write_loses_nothing_acknowledged_and_next_transaction_works)
    TEST_ENTRY(pg_only_logs_interleave_newest_first_by_time)
    TEST_ENTRY(pg_only_same_instant_ties_by_log_then_seq)
    TEST_ENTRY(pg_only_entries_name_their_log)
    TEST_ENTRY(pg_only_log_filter_selects_one_log)
    TEST_ENTRY(pg_only_cursor_across_logs_covers_once_while_appending)
    TEST_ENTRY(pg_only_cursor_across_logs_with_log_filter)
    TEST_ENTRY(pg_only_each_match_across_logs_in_order)
    TEST_ENTRY(pg_only_each_match_after_cursor_across_logs)
    TEST_ENTRY(pg_only_integrity_functions_follow_selected_log)
    TEST_ENTRY(pg_only_activity_and_stats_across_logs)
    TEST_ENTRY(pg_only_stats_of_one_log_counts_only_it)
    TEST_ENTRY(pg_only_stats_across_logs_total_every_log)
    TEST_ENTRY(pg_only_stats_read_only_without_a_log)
    TEST_ENTRY(pg_only_user_activity_of_one_log)
    TEST_ENTRY(pg_only_verify_one_log_of_several))
