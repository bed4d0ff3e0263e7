/*
** test_viewer.c: the viewer's server and API in C (the browser tests in
** viewer.mjs drive the same server through chromium).
**
** Each case builds a small audit database through the store API, starts
** the viewer in-process on a free loopback port and talks HTTP to it over
** a plain socket, or calls viewer_api_get() directly: the access token,
** the refusal of non-loopback peers and addresses, read-only operation,
** keyset paging, the activity counts, and the report's escaping.
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record/record.h"
#include "store/store.h"
#include "test.h"
#include "util/jbuf.h"
#include "util/jsoncheck.h"
#include "viewer/viewer_api.h"
#include "viewer/viewer_http.h"
#include "viewer/viewer_report.h"

static char tmp_dir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void cleanup(void)
{
    if (tmp_dir[0]) nftw(tmp_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A new database of n entries (users u0..u3, types alternating) in a
** fresh temp dir; its path in path.  0 or -1. */
static int make_db(int n, char path[128])
{
    static int registered;
    char err[STORE_ERRLEN];
    store *s = NULL;
    strcpy(tmp_dir, "/tmp/dss-test-viewer-XXXXXX");
    if (!mkdtemp(tmp_dir)) return -1;
    if (!registered++) atexit(cleanup);
    snprintf(path, 128, "%s/audit.db", tmp_dir);
    store_options o = {.path = path};
    if (store_open(&o, &s, err) != STORE_OK || store_begin(s, err) != STORE_OK) goto fail;
    for (int i = 1; i <= n; i++) {
        char op[32], user[8];
        snprintf(op, sizeof op, "op_%d", i);
        snprintf(user, sizeof user, "u%d", i % 4);
        store_record r = {.event_type = i % 2 ? "tool_call" : "project_update",
                          .operation_name = op, .user_id = user, .project_id = "p",
                          .args = "{\"html\":\"<script>x</script>\"}"};
        store_receipt rc;
        if (store_append(s, &r, &rc, err) != STORE_OK) goto fail;
    }
    if (store_commit(s, err) != STORE_OK) goto fail;
    store_close(s);
    return 0;
fail:
    fprintf(stderr, "make_db: %s\n", err);
    store_close(s);
    return -1;
}

/* GET (or another method) path from the viewer; the status code, and the
** body into body (len bytes) when not NULL.  -1 when no reply came. */
static int http(int port, const char *method, const char *path, const char *header,
                char *body, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[1024], *buf = calloc(1, 1 << 20);
    size_t got = 0;
    if (fd < 0 || !buf || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) goto done;
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s"
                     "Connection: close\r\nContent-Length: 0\r\n\r\n",
                     method, path, header ? header : "", header ? "\r\n" : "");
    if (write(fd, req, (size_t)n) != n) goto done;
    ssize_t r;
    while (got < (1 << 20) - 1 && (r = read(fd, buf + got, (1 << 20) - 1 - got)) > 0)
        got += (size_t)r;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
    char *start = strstr(buf, "\r\n\r\n");
    if (body) snprintf(body, len, "%s", start ? start + 4 : "");
done:
    if (fd >= 0) close(fd);
    free(buf);
    return status;
}

static viewer_http *start(const char *db, const char *listen)
{
    char err[256];
    viewer_http_options o = {.db_path = db, .listen = listen};
    viewer_http *h = viewer_http_start(&o, err, sizeof err);
    if (!h) fprintf(stderr, "viewer_http_start: %s\n", err);
    return h;
}

TEST(request_without_token_is_401)
{
    char db[128], body[4096];
    ASSERT(make_db(10, db) == 0);
    viewer_http *h = start(db, NULL);
    ASSERT(h);
    int port = viewer_http_port(h);
    ASSERT_EQ_INT(http(port, "GET", "/api/entries", NULL, body, sizeof body), 401);
    ASSERT_EQ_INT(http(port, "GET", "/", NULL, body, sizeof body), 401);
    ASSERT_EQ_INT(http(port, "GET", "/api/verify", NULL, body, sizeof body), 401);
    viewer_http_stop(h);
}

TEST(wrong_token_is_401_right_token_is_200)
{
    char db[128], body[65536], path[256], hdr[256];
    ASSERT(make_db(10, db) == 0);
    viewer_http *h = start(db, NULL);
    ASSERT(h);
    int port = viewer_http_port(h);
    char wrong[128];
    snprintf(wrong, sizeof wrong, "%s", viewer_http_token(h));
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a'; /* same length, one digit off */
    snprintf(path, sizeof path, "/api/entries?token=%s", wrong);
    ASSERT_EQ_INT(http(port, "GET", path, NULL, body, sizeof body), 401);
    snprintf(path, sizeof path, "/api/entries?token=%.10s", viewer_http_token(h));
    ASSERT_EQ_INT(http(port, "GET", path, NULL, body, sizeof body), 401);
    snprintf(path, sizeof path, "/api/entries?token=%s", viewer_http_token(h));
    ASSERT_EQ_INT(http(port, "GET", path, NULL, body, sizeof body), 200);
    ASSERT_CONTAINS(body, "\"operation_name\":\"op_10\"");
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", viewer_http_token(h));
    ASSERT_EQ_INT(http(port, "GET", "/api/info", hdr, body, sizeof body), 200);
    ASSERT_CONTAINS(body, "\"readonly\":true");
    ASSERT_CONTAINS(viewer_http_url(h), viewer_http_token(h));
    viewer_http_stop(h);
}

TEST(tokens_differ_between_runs)
{
    char db[128], first[128];
    ASSERT(make_db(1, db) == 0);
    viewer_http *h = start(db, NULL);
    ASSERT(h);
    snprintf(first, sizeof first, "%s", viewer_http_token(h));
    ASSERT_EQ_INT(strlen(first), 48);
    viewer_http_stop(h);
    h = start(db, NULL);
    ASSERT(h);
    ASSERT(strcmp(first, viewer_http_token(h)) != 0);
    viewer_http_stop(h);
}

TEST(static_script_served_without_token_carries_no_data)
{
    char db[128], body[65536];
    ASSERT(make_db(3, db) == 0);
    viewer_http *h = start(db, NULL);
    ASSERT(h);
    ASSERT_EQ_INT(http(viewer_http_port(h), "GET", "/app.js", NULL, body, sizeof body), 200);
    ASSERT_CONTAINS(body, "textContent");
    ASSERT(!strstr(body, "op_1"));
    viewer_http_stop(h);
}

TEST(listens_on_loopback_by_default)
{
    char db[128];
    ASSERT(make_db(1, db) == 0);
    viewer_http *h = start(db, NULL);
    ASSERT(h);
    ASSERT_EQ_INT(viewer_http_remote(h), 0);
    ASSERT_CONTAINS(viewer_http_url(h), "http://127.0.0.1:");
    viewer_http_stop(h);
}

TEST(explicit_non_loopback_listen_is_flagged_remote)
{
    char db[128];
    ASSERT(make_db(1, db) == 0);
    viewer_http *h = start(db, "0.0.0.0:0");
    ASSERT(h);
    ASSERT_EQ_INT(viewer_http_remote(h), 1);
    viewer_http_stop(h);
}

TEST(listen_parse)
{
    viewer_addr a;
    char err[256];
    ASSERT_EQ_INT(viewer_parse_listen("127.0.0.1:8080", &a, err, sizeof err), 0);
    ASSERT_EQ_INT(a.loopback, 1);
    ASSERT_EQ_INT(a.port, 8080);
    ASSERT_EQ_INT(viewer_parse_listen("[::1]:9", &a, err, sizeof err), 0);
    ASSERT_EQ_INT(a.loopback, 1);
    ASSERT_EQ_INT(viewer_parse_listen("localhost", &a, err, sizeof err), 0);
    ASSERT_EQ_INT(a.loopback, 1);
    ASSERT_EQ_INT(a.port, 0);
    ASSERT_EQ_INT(viewer_parse_listen(":7000", &a, err, sizeof err), 0);
    ASSERT_EQ_INT(a.loopback, 1);
    ASSERT_EQ_INT(viewer_parse_listen("192.168.1.5:80", &a, err, sizeof err), 0);
    ASSERT_EQ_INT(a.loopback, 0);
    ASSERT_EQ_INT(viewer_parse_listen("example.com:80", &a, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "not an IP address");
    ASSERT_EQ_INT(viewer_parse_listen("127.0.0.1:70000", &a, err, sizeof err), -1);
    ASSERT_EQ_INT(viewer_parse_listen("::1:80", &a, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "brackets");
    ASSERT_EQ_INT(viewer_parse_listen("", &a, err, sizeof err), -1);
}

TEST(non_loopback_peer_refused_unless_listening_beyond)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET, "10.1.2.3", &v4.sin_addr);
    ASSERT_EQ_INT(viewer_peer_allowed((struct sockaddr *)&v4, 0), 0);
    ASSERT_EQ_INT(viewer_peer_allowed((struct sockaddr *)&v4, 1), 1);
    inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
    ASSERT_EQ_INT(viewer_peer_allowed((struct sockaddr *)&v4, 0), 1);
    inet_pton(AF_INET6, "::1", &v6.sin6_addr);
    ASSERT_EQ_INT(viewer_peer_allowed((struct sockaddr *)&v6, 0), 1);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr);
    ASSERT_EQ_INT(viewer_peer_allowed((struct sockaddr *)&v6, 0), 1);
    inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
    ASSERT_EQ_INT(viewer_peer_allowed((struct sockaddr *)&v6, 0), 0);
    ASSERT_EQ_INT(viewer_peer_allowed(NULL, 1), 0);
}

/* The whole database file, for comparing before and after. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 22);
    *len = buf ? fread(buf, 1, 1 << 22, f) : 0;
    fclose(f);
    return buf;
}

TEST(read_only_store_and_methods)
{
    char db[128], body[4096], path[256];
    ASSERT(make_db(20, db) == 0);
    size_t n0, n1;
    char *before = slurp(db, &n0);
    ASSERT(before);
    viewer_http *h = start(db, NULL);
    ASSERT(h);
    ASSERT_EQ_INT(viewer_http_readonly(h), 1);
    int port = viewer_http_port(h);
    const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/api/entries?token=%s", viewer_http_token(h));
        ASSERT_EQ_INT(http(port, methods[i], path, NULL, body, sizeof body), 405);
        ASSERT_CONTAINS(body, "read-only");
    }
    const char *const reads[] = {"info", "entries", "activity", "checkpoints", "verify"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/api/%s?token=%s", reads[i], viewer_http_token(h));
        ASSERT_EQ_INT(http(port, "GET", path, NULL, body, sizeof body), 200);
    }
    viewer_http_stop(h);
    char *after = slurp(db, &n1);
    ASSERT(after);
    ASSERT_EQ_INT(n0, n1);
    ASSERT(memcmp(before, after, n0) == 0);
    free(before);
    free(after);
}

/* ---- the API without HTTP ----------------------------------------------- */

typedef struct params {
    const char *k[8], *v[8];
    int n;
} params;

static const char *get(void *ctx, const char *name)
{
    params *p = ctx;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->k[i], name) == 0) return p->v[i];
    return NULL;
}

static cJSON *call(viewer_api *api, const char *path, params *p, int *status)
{
    jbuf out = {0};
    *status = viewer_api_get(api, path, get, p, &out);
    char *text = jbuf_take(&out);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

static store *open_ro(const char *db)
{
    char err[STORE_ERRLEN];
    store *s = NULL;
    store_options o = {.path = db, .readonly = 1};
    return store_open(&o, &s, err) == STORE_OK ? s : NULL;
}

/* A database of n entries and an API on it, read-only.  0 or -1. */
static int api_on(int n, viewer_api *api)
{
    char db[128];
    memset(api, 0, sizeof *api);
    return make_db(n, db) == 0 && (api->st = open_ro(db)) ? 0 : -1;
}

TEST(api_pages_through_every_entry_once)
{
    char seq[32], at[40];
    viewer_api api;
    ASSERT(api_on(137, &api) == 0);
    int64_t seen = 0, last = 138;
    int status;
    params p = {{"limit", "before_seq", "before_at"}, {"20", NULL, NULL}, 3};
    for (;;) {
        cJSON *j = call(&api, "/api/entries", &p, &status);
        ASSERT_EQ_INT(status, 200);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entries")) {
            int64_t s = (int64_t)cJSON_GetObjectItem(e, "seq")->valuedouble;
            ASSERT_EQ_INT(s, last - 1); /* newest first, none skipped */
            last = s;
            seen++;
        }
        const cJSON *next = cJSON_GetObjectItem(j, "next");
        if (!cJSON_IsObject(next)) {
            ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(j, "more")));
            cJSON_Delete(j);
            break;
        }
        snprintf(seq, sizeof seq, "%lld",
                 (long long)cJSON_GetObjectItem(next, "before_seq")->valuedouble);
        snprintf(at, sizeof at, "%s", cJSON_GetObjectItem(next, "before_at")->valuestring);
        p.v[1] = seq;
        p.v[2] = at;
        cJSON_Delete(j);
    }
    ASSERT_EQ_INT(seen, 137);
    ASSERT_EQ_INT(last, 1);
    store_close(api.st);
}

TEST(api_filters_and_search)
{
    viewer_api api;
    ASSERT(api_on(40, &api) == 0);
    int status;
    params p = {{"user", "q", "event_type"}, {"u1", "op_1", "tool_call"}, 3};
    cJSON *j = call(&api, "/api/entries", &p, &status);
    ASSERT_EQ_INT(status, 200);
    /* u1 holds i % 4 == 1: 1, 5, 9, ..., 37; of those op_1 and op_13, op_17 */
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entries")) {
        ASSERT_EQ_STR(cJSON_GetObjectItem(e, "user_id")->valuestring, "u1");
        ASSERT_CONTAINS(cJSON_GetObjectItem(e, "operation_name")->valuestring, "op_1");
        n++;
    }
    ASSERT_EQ_INT(n, 3);
    cJSON_Delete(j);
    store_close(api.st);
}

TEST(api_entry_by_id_and_seq)
{
    viewer_api api;
    ASSERT(api_on(5, &api) == 0);
    int status;
    params p = {{"seq"}, {"3"}, 1};
    cJSON *j = call(&api, "/api/entry", &p, &status);
    ASSERT_EQ_INT(status, 200);
    const cJSON *e = cJSON_GetObjectItem(j, "entry");
    ASSERT_EQ_STR(cJSON_GetObjectItem(e, "operation_name")->valuestring, "op_3");
    ASSERT_EQ_INT(strlen(cJSON_GetObjectItem(e, "hash")->valuestring), 64);
    params byid = {{"id"}, {cJSON_GetObjectItem(e, "id")->valuestring}, 1};
    cJSON *k = call(&api, "/api/entry", &byid, &status);
    ASSERT_EQ_INT(status, 200);
    ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(k, "entry"), "seq")->valuedouble, 3);
    cJSON_Delete(j);
    cJSON_Delete(k);
    params missing = {{"seq"}, {"99"}, 1};
    j = call(&api, "/api/entry", &missing, &status);
    ASSERT_EQ_INT(status, 404);
    cJSON_Delete(j);
    store_close(api.st);
}

TEST(api_session_and_server_filters)
{
    char db[128], err[STORE_ERRLEN];
    ASSERT(make_db(6, db) == 0);
    store *s = NULL;
    store_options o = {.path = db};
    ASSERT(store_open(&o, &s, err) == STORE_OK);
    recorder *rec = recorder_open(s, NULL);
    ASSERT(rec);
    for (int i = 0; i < 5; i++) {
        record_event ev = {.event_type = "tool_call", .operation_name = "relayed",
                           .session_id = i < 3 ? "sess-a" : "sess-b",
                           .server = i % 2 ? "{\"name\":\"figma\",\"version\":\"1\"}"
                                           : "{\"name\":\"git\",\"version\":\"2\"}"};
        ASSERT(recorder_append(rec, &ev, NULL, err) == STORE_OK);
    }
    ASSERT(recorder_commit(rec, err) == STORE_OK);
    recorder_close(rec);
    store_close(s);
    viewer_api api = {.st = open_ro(db)};
    ASSERT(api.st);
    int status;
    params p = {{"session"}, {"sess-a"}, 1};
    cJSON *j = call(&api, "/api/entries", &p, &status);
    ASSERT_EQ_INT(status, 200);
    ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "entries")), 3);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entries"))
        ASSERT_EQ_STR(cJSON_GetObjectItem(e, "session_id")->valuestring, "sess-a");
    cJSON_Delete(j);
    params q = {{"server", "session"}, {"figma", "sess-a"}, 2};
    j = call(&api, "/api/entries", &q, &status);
    ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "entries")), 1);
    cJSON_Delete(j);
    store_close(api.st);
}

TEST(api_bad_parameters_are_400)
{
    viewer_api api;
    ASSERT(api_on(2, &api) == 0);
    int status;
    params p1 = {{"limit"}, {"0"}, 1};
    cJSON *j = call(&api, "/api/entries", &p1, &status);
    ASSERT_EQ_INT(status, 400);
    ASSERT_CONTAINS(cJSON_GetObjectItem(j, "error")->valuestring, "limit");
    cJSON_Delete(j);
    params p2 = {{"since"}, {"yesterday"}, 1};
    j = call(&api, "/api/entries", &p2, &status);
    ASSERT_EQ_INT(status, 400);
    cJSON_Delete(j);
    params none = {{NULL}, {NULL}, 0};
    j = call(&api, "/api/nothing", &none, &status);
    ASSERT_EQ_INT(status, 404);
    cJSON_Delete(j);
    store_close(api.st);
}

/* The body of a reply, which must be JSON and so UTF-8 (fuzz_viewer). */
static int body_is_utf8_json(viewer_api *api, const char *path, params *p, int *status)
{
    jbuf out = {0};
    size_t at;
    *status = viewer_api_get(api, path, get, p, &out);
    int ok = !out.failed && out.p && !jsoncheck_utf8(out.p, out.len, &at) &&
             jsoncheck(out.p, out.len, 64, NULL, 0) == JSONCHECK_OK;
    jbuf_free(&out);
    return ok;
}

/* A query's %-escapes carry any byte: a value that is not UTF-8 is a bad
** parameter (it was echoed into the body, even of a 200), and a message
** that quotes a parameter cut inside a character stays UTF-8. */
TEST(api_parameters_not_utf8_are_400_and_bodies_stay_utf8)
{
    viewer_api api;
    ASSERT(api_on(3, &api) == 0);
    int status;
    params id = {{"id"}, {"019af4b2-1c2d-7e3f\x8a" "4b-5c6d7e8f9a0b"}, 1};
    ASSERT(body_is_utf8_json(&api, "/api/entry", &id, &status));
    ASSERT_EQ_INT(status, 400);
    params user = {{"user"}, {"\xff"}, 1};
    ASSERT(body_is_utf8_json(&api, "/api/activity", &user, &status));
    ASSERT_EQ_INT(status, 400);
    char cut[80];
    memset(cut, 'a', 63);
    strcpy(cut + 63, "\xc3\xa9"); /* U+00E9 across ts_parse()'s 64-byte quote */
    params since = {{"since"}, {cut}, 1};
    ASSERT(body_is_utf8_json(&api, "/api/entries", &since, &status));
    ASSERT_EQ_INT(status, 400);
    store_close(api.st);
}

TEST(api_activity_counts_per_day_and_user)
{
    viewer_api api;
    ASSERT(api_on(30, &api) == 0);
    int status;
    params none = {{NULL}, {NULL}, 0};
    cJSON *j = call(&api, "/api/activity", &none, &status);
    ASSERT_EQ_INT(status, 200);
    double total = 0, users = 0;
    const cJSON *d, *t, *u;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(j, "days"))
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(d, "by_type")) total += t->valuedouble;
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(j, "users"))
        users += cJSON_GetObjectItem(u, "entries")->valuedouble;
    ASSERT_EQ_INT(total, 30);
    ASSERT_EQ_INT(users, 30);
    ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "users")), 4);
    cJSON_Delete(j);
    params one = {{"user"}, {"u2"}, 1};
    j = call(&api, "/api/activity", &one, &status);
    total = 0;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(j, "days"))
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(d, "by_type")) total += t->valuedouble;
    ASSERT_EQ_INT(total, 8); /* i % 4 == 2: 2, 6, ..., 26, 30 */
    cJSON_Delete(j);
    store_close(api.st);
}

TEST(report_json_cannot_close_its_script_element)
{
    char path[160], buf[256];
    snprintf(path, sizeof path, "/tmp/dss-test-viewer-esc-%d", (int)getpid());
    FILE *f = fopen(path, "w+");
    ASSERT(f);
    const char *s = "{\"a\":\"</script><script>x & y > z</script>\"}";
    ASSERT_EQ_INT(viewer_report_put_json(f, s, strlen(s)), 0);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    ASSERT(!strchr(buf, '<'));
    ASSERT(!strchr(buf, '>'));
    ASSERT(!strchr(buf, '&'));
    cJSON *j = cJSON_Parse(buf);
    ASSERT(j);
    ASSERT_EQ_STR(cJSON_GetObjectItem(j, "a")->valuestring, "</script><script>x & y > z</script>");
    cJSON_Delete(j);
}

/* Run the binary through /bin/sh; its exit status, or -1. */
static int run(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    const char *bin = getenv("DSS_BIN");
    if (!bin) return -1;
    snprintf(cmd, sizeof cmd, "DSS_AUDIT_KEY=%s/none.key '%s' ", tmp_dir, bin);
    size_t n = strlen(cmd);
    snprintf(cmd + n, sizeof cmd - n, fmt, a, b);
    int st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

TEST(report_command_writes_a_new_private_file)
{
    char db[128], out[160];
    ASSERT(make_db(12, db) == 0);
    snprintf(out, sizeof out, "%s/r.html", tmp_dir);
    ASSERT_EQ_INT(run("report --db '%s' -o '%s' 2>/dev/null", db, out), 2); /* no period */
    ASSERT(access(out, F_OK) != 0);
    ASSERT_EQ_INT(run("report --db '%s' --since 2000-01-01 --until 2999-12-31 -o '%s'"
                      " 2>/dev/null", db, out), 0);
    struct stat st;
    ASSERT(stat(out, &st) == 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    size_t len;
    char *html = slurp(out, &len);
    ASSERT(html);
    html[len < (1 << 22) ? len : (1 << 22) - 1] = '\0';
    ASSERT_CONTAINS(html, "id=\"dss-report\"");
    ASSERT_CONTAINS(html, "Content-Security-Policy");
    ASSERT_CONTAINS(html, "\"operation_name\":\"op_12\"");
    ASSERT(!strstr(html, "<script src"));
    ASSERT(!strstr(html, "<script>x</script>")); /* the args' markup, escaped */
    ASSERT_CONTAINS(html, "\\u003cscript\\u003ex\\u003c/script\\u003e");
    free(html);
    /* An existing file is never overwritten: usage error, file unchanged. */
    ASSERT_EQ_INT(run("report --db '%s' --since 2000-01-01 --until 2999-12-31 -o '%s'"
                      " 2>/dev/null", db, out), 2);
    struct stat st2;
    ASSERT(stat(out, &st2) == 0);
    ASSERT_EQ_INT(st2.st_size, st.st_size);
}

TEST_MAIN(
    TEST_ENTRY(request_without_token_is_401)
    TEST_ENTRY(wrong_token_is_401_right_token_is_200)
    TEST_ENTRY(tokens_differ_between_runs)
    TEST_ENTRY(static_script_served_without_token_carries_no_data)
    TEST_ENTRY(listens_on_loopback_by_default)
    TEST_ENTRY(explicit_non_loopback_listen_is_flagged_remote)
    TEST_ENTRY(listen_parse)
    TEST_ENTRY(non_loopback_peer_refused_unless_listening_beyond)
    TEST_ENTRY(read_only_store_and_methods)
    TEST_ENTRY(api_pages_through_every_entry_once)
    TEST_ENTRY(api_filters_and_search)
    TEST_ENTRY(api_entry_by_id_and_seq)
    TEST_ENTRY(api_session_and_server_filters)
    TEST_ENTRY(api_bad_parameters_are_400)
    TEST_ENTRY(api_parameters_not_utf8_are_400_and_bodies_stay_utf8)
    TEST_ENTRY(api_activity_counts_per_day_and_user)
    TEST_ENTRY(report_json_cannot_close_its_script_element)
    TEST_ENTRY(report_command_writes_a_new_private_file)
)
