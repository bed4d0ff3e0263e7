/*
** test_jsonsuite.c: hostile and malformed input (issue 5).
**
** The JSONTestSuite corpus, then one case per kind of hostile input: invalid
** UTF-8, messages over the size limit, deep nesting, NUL bytes raw and
** escaped, lone surrogates, huge numbers, duplicate keys and very long
** arrays.  Every case checks the server's answer, that it stays up (a ping
** right after), that nothing it refused reaches the database, and that
** nothing invalid is echoed on stdout.
**
** Environment (set by ctest): DSS_BIN, the binary; DSS_SHARED_DIR, the
** folder holding JSONTestSuite/ (default $DSS_SOURCE_DIR/../shared).
*/
#include "fault_util.h"

#include <dirent.h>

#define PING_AFTER "{\"jsonrpc\":\"2.0\",\"id\":\"after-%d\",\"method\":\"ping\"}\n"

/* Start a server in its own temp dir with its key there too. */
static srv *start_plain(const char *const *args)
{
    static const char *const env[] = {"DSS_AUDIT_KEY=@DIR@/signing.key", NULL};
    srv_opts o = {.args = args, .env = env};
    return srv_start(&o);
}

/* A tools/call line for log_operation around the given arguments text. */
static char *log_line(srv *s, const char *id_json, const char *arguments)
{
    return srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\","
                      "\"params\":{\"name\":\"log_operation\",\"arguments\":%s}}",
                   id_json, arguments);
}

/*
** Send one raw message (bytes exactly as given, then "\n") followed by a
** ping with id "after-<n>", and return the reply to the message: NULL when
** it got none (*silent is then 1) or on failure (*silent 0, see h_error).
** Fails too when the ping is not answered, when more than one reply came,
** or when any reply line is not valid UTF-8.
*/
static cJSON *send_then_ping(srv *s, const char *msg, size_t len, int n, int *silent)
{
    static char why[512];
    *silent = 0;
    char ping[96];
    snprintf(ping, sizeof ping, PING_AFTER, n);
    char want_id[32];
    snprintf(want_id, sizeof want_id, "after-%d", n);
    if (srv_send_raw(s, msg, len) != 0 || srv_send_raw(s, "\n", 1) != 0 ||
        srv_send_raw(s, ping, strlen(ping)) != 0)
        return NULL;
    cJSON *first = NULL;
    for (int k = 0; k < 3; k++) {
        const char *line = srv_recv_line(s);
        if (!line) return NULL;
        if (!h_valid_utf8(line, strlen(line))) {
            snprintf(why, sizeof why, "reply is not valid UTF-8: %.300s", line);
            fprintf(stderr, "%s\n", why);
            return NULL;
        }
        cJSON *r = srv_keep(s, cJSON_Parse(line));
        if (!r) return NULL;
        const char *id = jstr(r, "id");
        if (id && strcmp(id, want_id) == 0) {
            if (!cJSON_IsObject(jget(r, "result"))) {
                fprintf(stderr, "the ping after the message failed: %.300s\n", line);
                return NULL;
            }
            if (!first) *silent = 1;
            return first;
        }
        if (first) {
            fprintf(stderr, "two replies to one message: %.300s\n", line);
            return NULL;
        }
        first = r;
    }
    fprintf(stderr, "the ping after the message was not answered\n");
    return NULL;
}

/* Expect exactly one error reply with this code to msg, the server alive
** after it, and return the reply. */
static cJSON *expect_error(srv *s, const char *msg, size_t len, int code, int n)
{
    int silent;
    cJSON *r = send_then_ping(s, msg, len, n, &silent);
    if (!r) {
        fprintf(stderr, "message %d: %s (%s)\n", n,
                silent ? "no reply at all" : "no proper reply", h_error());
        return NULL;
    }
    if (jcode(r) != code) {
        char *t = cJSON_PrintUnformatted(r);
        fprintf(stderr, "message %d: expected error %d, got %.400s\n", n, code, t);
        free(t);
        return NULL;
    }
    return r;
}

/* ==== the JSONTestSuite corpus ============================================ */

static const char *suite_dir(char *buf, size_t len)
{
    const char *shared = getenv("DSS_SHARED_DIR");
    const char *src = getenv("DSS_SOURCE_DIR");
    if (shared && *shared) snprintf(buf, len, "%s/JSONTestSuite/test_parsing", shared);
    else if (src && *src) snprintf(buf, len, "%s/../shared/JSONTestSuite/test_parsing", src);
    else snprintf(buf, len, "../shared/JSONTestSuite/test_parsing");
    return buf;
}

static int json_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0 &&
           (d->d_name[0] == 'y' || d->d_name[0] == 'n' || d->d_name[0] == 'i') &&
           d->d_name[1] == '_';
}

/*
** The file as one line: CR and LF become spaces, which is what they are
** between tokens.  Inside a string literal a raw CR or LF is a control
** character that makes the text invalid (n_string_unescaped_newline); a
** space there would make it valid, so there it becomes another raw control
** character (U+001F), which keeps the file's meaning.
*/
static void one_line(unsigned char *p, size_t n, int *changed_in_string)
{
    int in_str = 0;
    *changed_in_string = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_str) {
            if (p[i] == '\\' && i + 1 < n && p[i + 1] != '\n' && p[i + 1] != '\r') {
                i++;
                continue;
            }
            if (p[i] == '"') in_str = 0;
            else if (p[i] == '\n' || p[i] == '\r') {
                p[i] = 0x1f;
                *changed_in_string = 1;
            }
        } else if (p[i] == '"') {
            in_str = 1;
        } else if (p[i] == '\n' || p[i] == '\r') {
            p[i] = ' ';
        }
    }
}

static int blank_line(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t') return 0;
    return 1;
}

typedef struct tally {
    int files, y, n, i, i_parse, i_invalid, silent_blank, restarts;
    char *mismatches;
    size_t mlen, mcap;
} tally;

static void mismatch(tally *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(tally *t, const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t k = strlen(line);
    if (t->mlen + k + 2 > t->mcap) {
        size_t cap = t->mcap ? t->mcap * 2 : 8192;
        while (cap < t->mlen + k + 2) cap *= 2;
        char *p = realloc(t->mismatches, cap);
        if (!p) return;
        t->mismatches = p;
        t->mcap = cap;
    }
    memcpy(t->mismatches + t->mlen, line, k);
    t->mlen += k;
    t->mismatches[t->mlen++] = '\n';
    t->mismatches[t->mlen] = '\0';
}

TEST(jsontestsuite_every_file)
{
    char dir[PATH_MAX];
    suite_dir(dir, sizeof dir);
    struct dirent **names = NULL;
    int nfiles = scandir(dir, &names, json_file, alphasort);
    /* The whole corpus or nothing: a partial copy would pass on what it
    ** happens to hold. */
    enum { SUITE_FILES = 318 };
    if (nfiles != SUITE_FILES) {
        for (int f = 0; f < nfiles; f++) free(names[f]);
        free(names);
        TEST_FAIL_("%d JSONTestSuite files in %s, expected all %d (set DSS_SHARED_DIR)",
                   nfiles < 0 ? 0 : nfiles, dir, SUITE_FILES);
    }
    tally t = {0};
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    for (int f = 0; f < nfiles; f++) {
        const char *name = names[f]->d_name;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t len;
        unsigned char *text = (unsigned char *)slurp(path, &len);
        if (!text) {
            mismatch(&t, "%s: cannot read the file", name);
            continue;
        }
        int in_string;
        one_line(text, len, &in_string);
        t.files++;
        char kind = name[0];
        if (kind == 'y') t.y++;
        else if (kind == 'n') t.n++;
        else t.i++;
        int silent = 0;
        cJSON *r = send_then_ping(s, (const char *)text, len, f, &silent);
        int blank = blank_line(text, len);
        free(text);
        if (!r && silent && blank) {
            /* An empty line is not a message: the framing skips blank lines
            ** (n_structure_no_data is the empty file). */
            t.silent_blank++;
            continue;
        }
        if (!r && silent) {
            mismatch(&t, "%s: no reply at all (the ping after it was answered)", name);
            continue;
        }
        if (!r) {
            /* Crashed, hung or wrote garbage: say so, then carry on with a
            ** fresh server so the rest of the corpus is still checked. */
            srv_kill(s);
            mismatch(&t, "%s: no usable reply, server %s (%s); stderr: %.300s", name,
                     srv_stdout_is_json_lines(s) ? "gone or hung" : "wrote a non-JSON line",
                     h_error(), srv_stderr(s));
            srv_free(s);
            t.restarts++;
            s = start_plain(NULL);
            CHECK(s);
            continue;
        }
        int code = jcode(r);
        char *reply = cJSON_PrintUnformatted(r);
        if (kind == 'n') {
            if (code != -32700 || !id_is_null(r))
                mismatch(&t, "%s: expected -32700 with id null, got %.300s", name, reply);
        } else if (kind == 'y') {
            if (code != -32600)
                mismatch(&t, "%s: expected -32600 (valid JSON, not a request), got %.300s",
                         name, reply);
        } else {
            if (code == -32700 && id_is_null(r)) t.i_parse++;
            else if (code == -32600) t.i_invalid++;
            else mismatch(&t, "%s: expected -32700 or -32600, got %.300s", name, reply);
        }
        free(reply);
    }
    for (int f = 0; f < nfiles; f++) free(names[f]);
    free(names);
    fprintf(stderr,
            "JSONTestSuite: %d files (y_ %d, n_ %d, i_ %d); i_ answered -32700: %d, "
            "-32600: %d; blank lines skipped: %d; server restarts: %d; mismatches: %s\n",
            t.files, t.y, t.n, t.i, t.i_parse, t.i_invalid, t.silent_blank, t.restarts,
            t.mismatches ? "\n" : "none");
    if (t.mismatches) fputs(t.mismatches, stderr);
    int bad = t.mismatches != NULL;
    free(t.mismatches);
    /* The server survived it all and exits 0 at EOF. */
    CHECK(srv_alive(s));
    FINISH(s);
    if (bad) TEST_FAIL_("some JSONTestSuite files were not answered as expected (above)");
    if (t.restarts) TEST_FAIL_("the server had to be restarted %d times", t.restarts);
}

/* ==== invalid UTF-8 ======================================================= */

TEST(invalid_utf8_is_a_parse_error_never_stored_or_echoed)
{
    static const char *const bad[] = {
        "\xff", "\xfe", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80", "\x80", "\xbf", "\xe2\x82", "\xf0\x9f\x98", "\xc3",
    };
    /* Where the bytes go: %s is the bad sequence, %d a marker number. */
    static const char *const where[] = {
        /* a string value inside the tool's args */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":"
        "\"UTF8MARK%d\",\"args\":{\"v\":\"a%sb\"}}}}",
        /* a key */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":"
        "\"UTF8MARK%d\",\"args\":{\"k%s\":1}}}}",
        /* the operation name, which is stored and searchable */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":"
        "\"UTF8MARK%d%s\"}}}",
        /* the error text */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":"
        "\"UTF8MARK%d\",\"error\":\"boom %s\"}}}",
        /* the method name (would be echoed in method not found) */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"UTF8MARK%d%s\"}",
        /* a string id (would be echoed) */
        "{\"jsonrpc\":\"2.0\",\"id\":\"UTF8MARK%d%s\",\"method\":\"ping\"}",
        /* between tokens, outside any string */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"m\":\"UTF8MARK%d\"}%s}",
        /* after the message */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"m\":\"UTF8MARK%d\"}}%s",
    };
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    int n = 0;
    for (size_t w = 0; w < sizeof where / sizeof *where; w++) {
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++, n++) {
            char *msg = srv_fmt(s, where[w], n, bad[b]);
            cJSON *r = expect_error(s, msg, strlen(msg), -32700, n);
            CHECKF(r, "invalid UTF-8 sequence %zu in position %zu was not a parse error", b, w);
            CHECK(id_is_null(r));
            char *text = cJSON_PrintUnformatted(r);
            int echoed = text && strstr(text, "UTF8MARK") != NULL;
            free(text);
            CHECKF(!echoed, "the reply to message %d echoes its content", n);
        }
    }
    /* Well-formed multi-byte text is accepted and comes back unchanged. */
    cJSON *ok = srv_call_ok(s, "log_operation",
                            "{\"event_type\":\"error\",\"operation_name\":\"UTF8OK "
                            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}");
    CHECK(ok);
    const char *id = jstr(ok, "audit_id");
    CHECK(id);
    cJSON *e = srv_call_ok(s, "get_audit_entry", srv_fmt(s, "{\"audit_id\":\"%s\"}", id));
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "entry.operation_name"),
                  "UTF8OK \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    CHECK(srv_stdout_is_json_lines(s));
    const char *all = srv_stdout(s);
    CHECKF(h_valid_utf8(all, strlen(all)), "stdout holds invalid UTF-8");
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s", srv_db(s));
    /* Nothing of a refused message was stored, in the database or its WAL. */
    CHECK(!db_files_contain(db, "UTF8MARK"));
    FINISH(s);
    (void)db;
}

/* ==== size limit ========================================================== */

/* A log_operation line of exactly `size` bytes, padded inside args. */
static char *padded_line(size_t size, const char *id)
{
    char head[256];
    snprintf(head, sizeof head,
             "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"tools/call\",\"params\":"
             "{\"name\":\"log_operation\",\"arguments\":{\"event_type\":\"error\","
             "\"operation_name\":\"BIGMARK\",\"args\":{\"pad\":\"", id);
    const char *tail = "\"}}}}";
    size_t h = strlen(head), t = strlen(tail);
    if (size < h + t) return NULL;
    char *p = malloc(size + 1);
    if (!p) return NULL;
    memcpy(p, head, h);
    memset(p + h, 'x', size - h - t);
    memcpy(p + size - t, tail, t);
    p[size] = '\0';
    return p;
}

TEST(message_over_the_limit_is_refused_without_buffering_it_whole)
{
    srv *s = start_plain(NULL); /* default limit: 4 MiB */
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    /* The database opens after the initialize reply: a ping waits for it,
    ** so that the baseline includes what the open allocates. */
    CHECK(srv_request(s, "ping", NULL));
    long h0 = vm_hwm_kb(srv_pid(s));
    static const size_t sizes[] = {10u << 20, 30u << 20};
    long hwm[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        char *big = padded_line(sizes[i], i ? "big30" : "big10");
        CHECK(big);
        int sent = srv_send_line(s, big);
        free(big);
        CHECK(sent == 0);
        cJSON *r = srv_recv(s);
        CHECK(r);
        ASSERT_EQ_INT(jcode(r), -32600);
        CHECK(id_is_null(r));
        ASSERT_CONTAINS(jstr(r, "error.message"), "limit");
        /* The next message is served. */
        CHECK(srv_alive(s));
        hwm[i] = vm_hwm_kb(srv_pid(s));
    }
    /* Exactly at the limit is still one message (and is recorded). */
    char *fits = padded_line(4u << 20, "fits");
    CHECK(fits);
    int sent = srv_send_line(s, fits);
    free(fits);
    CHECK(sent == 0);
    cJSON *r = srv_recv(s);
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "fits");
    CHECK(cJSON_IsFalse(jget(r, "result.isError")));
    fprintf(stderr, "VmHWM: %ld KiB after initialize and a ping, %ld KiB after a 10 MiB line, "
                    "%ld KiB after a 30 MiB line\n", h0, hwm[0], hwm[1]);
    if (!wrapped_run() && h0 > 0) {
        /* Holding a line whole would need at least its size (10 MiB).  The
        ** reader's buffer is the limit plus one read chunk (4.06 MiB); allow
        ** 2 MiB more.  Growth is measured, not the total, which sanitizer
        ** builds inflate. */
        long limit_kb = 6 * 1024;
        CHECKF(hwm[0] - h0 < limit_kb,
               "peak memory grew by %ld KiB on a 10 MiB line (limit 4 MiB)", hwm[0] - h0);
        CHECKF(hwm[1] - hwm[0] < 1024,
               "memory grew by %ld KiB more on a 30 MiB line: it scales with the line",
               hwm[1] - hwm[0]);
    }
    /* Only the message that fit was stored. */
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"BIGMARK\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    FINISH(s);
}

TEST(message_over_a_small_limit_then_next_served)
{
    static const char *const args[] = {"--max-message-bytes", "4096", NULL};
    srv *s = start_plain(args);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    int n = 0;
    /* Over by one; far over; and two in a row, one ending the input. */
    static const size_t sizes[] = {4097, 100000, 5000};
    for (int i = 0; i < 3; i++, n++) {
        char *big = padded_line(sizes[i], "small");
        CHECK(big);
        cJSON *r = expect_error(s, big, sizes[i], -32600, n);
        free(big);
        CHECK(r);
        ASSERT_CONTAINS(jstr(r, "error.message"), "4096");
    }
    char *last = padded_line(9000, "last");
    CHECK(last);
    int sent = srv_send_raw(s, last, strlen(last)); /* no newline: EOF ends it */
    free(last);
    CHECK(sent == 0);
    srv_close_stdin(s);
    cJSON *r = srv_recv(s);
    CHECK(r);
    ASSERT_EQ_INT(jcode(r), -32600);
    FINISH(s);
}

/* ==== nesting ============================================================= */

static char *repeat(const char *unit, size_t times, const char *tail_unit)
{
    size_t u = strlen(unit), t = tail_unit ? strlen(tail_unit) : 0;
    char *p = malloc((u + t) * times + 1);
    if (!p) return NULL;
    for (size_t i = 0; i < times; i++) memcpy(p + i * u, unit, u);
    for (size_t i = 0; i < times && t; i++) memcpy(p + u * times + i * t, tail_unit, t);
    p[(u + t) * times] = '\0';
    return p;
}

/* A log_operation whose args nest `levels` deep in all (the envelope,
** params, arguments and args make four). */
static char *deep_log(srv *s, int levels, const char *name)
{
    char *open = repeat("[", (size_t)(levels - 4), "]");
    if (!open) return NULL;
    char *line = srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"log_operation\",\"arguments\":{"
                            "\"event_type\":\"error\",\"operation_name\":\"%s\","
                            "\"args\":{\"deep\":%s}}}}", levels, name, open);
    free(open);
    return line;
}

TEST(nesting_deeper_than_the_limit_is_an_error)
{
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    /* 64 levels: accepted, stored, and read back whole. */
    cJSON *r = srv_rpc(s, deep_log(s, 64, "DEEP64"));
    CHECK(r);
    CHECK(cJSON_IsFalse(jget(r, "result.isError")));
    const char *id = jstr(r, "result.structuredContent.audit_id");
    CHECK(id);
    cJSON *e = srv_call_ok(s, "get_audit_entry", srv_fmt(s, "{\"audit_id\":\"%s\"}", id));
    CHECK(e);
    const cJSON *d = jget(e, "entry.args.deep");
    int depth = 0;
    while (cJSON_IsArray(d)) {
        depth++;
        d = d->child;
    }
    ASSERT_EQ_INT(depth, 60);
    /* 65 and more: an invalid request naming the problem, nothing stored. */
    static const int levels[] = {65, 66, 100, 1000, 100000};
    for (int i = 0; i < 5; i++) {
        char *line = deep_log(s, levels[i], "DEEPMARK");
        CHECK(line);
        r = expect_error(s, line, strlen(line), -32600, i);
        CHECKF(r, "%d levels", levels[i]);
        ASSERT_CONTAINS(jstr(r, "error.message"), "nesting");
    }
    /* Deep objects, not only arrays: {"a":{"a":...{"a":1}...}}. */
    char *opens = repeat("{\"a\":", 70, NULL), *closes = repeat("}", 70, NULL);
    CHECK(opens && closes);
    char *line = srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"params\":%s1%s}",
                         opens, closes);
    free(opens);
    free(closes);
    r = expect_error(s, line, strlen(line), -32600, 10);
    CHECK(r);
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"DEEPMARK\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    FINISH(s);
}

TEST(max_depth_flag_sets_the_limit)
{
    static const char *const args[] = {"--max-depth", "8", NULL};
    srv *s = start_plain(args);
    CHECK(s);
    cJSON *r = srv_rpc(s, deep_log(s, 8, "D8"));
    CHECK(r);
    CHECK(cJSON_IsFalse(jget(r, "result.isError")));
    char *line = deep_log(s, 9, "D9");
    r = expect_error(s, line, strlen(line), -32600, 1);
    CHECK(r);
    FINISH(s);
}

TEST(a_million_open_brackets_are_an_error_not_a_crash)
{
    srv *s = start_plain(NULL);
    CHECK(s);
    char *open = repeat("[", 1000000, NULL);
    CHECK(open);
    /* Not JSON at all (never closed), and far too deep: either error code is
    ** a defensible answer (the corpus test holds n_ files to -32700). */
    int silent;
    cJSON *r = send_then_ping(s, open, strlen(open), 1, &silent);
    free(open);
    CHECK(r);
    CHECKF(jcode(r) == -32600 || jcode(r) == -32700, "got code %d", jcode(r));
    /* Balanced: valid JSON, 1,000,000 deep. */
    char *both = repeat("[", 1000000, "]");
    CHECK(both);
    r = expect_error(s, both, strlen(both), -32600, 2);
    free(both);
    CHECK(r);
    ASSERT_CONTAINS(jstr(r, "error.message"), "nesting");
    /* The same inside a request's params. */
    char *inner = repeat("[", 500000, "]");
    CHECK(inner);
    char *line = srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":{\"a\":%s}}",
                         inner);
    free(inner);
    r = expect_error(s, line, strlen(line), -32600, 3);
    CHECK(r);
    /* And a million '{"a":' never closed. */
    char *objs = repeat("{\"a\":", 1000000, NULL);
    CHECK(objs);
    r = send_then_ping(s, objs, strlen(objs), 4, &silent);
    free(objs);
    CHECK(r);
    CHECK(jcode(r) == -32600 || jcode(r) == -32700);
    FINISH(s);
}

/* ==== NUL bytes =========================================================== */

/* One raw-NUL case: expect -32700 with a null id and nothing echoed.
** Returns 1 when the server answered so; says what it did otherwise. */
static int nul_case(srv *s, const char *msg, size_t len, int n, const char *what)
{
    int silent;
    cJSON *r = send_then_ping(s, msg, len, n, &silent);
    if (!r) {
        fprintf(stderr, "NUL case %d (%s, %zu bytes): %s\n", n, what, len,
                silent ? "NO REPLY AT ALL (the line was ignored as if blank)"
                       : "no proper reply");
        return 0;
    }
    char *t = cJSON_PrintUnformatted(r);
    int ok = jcode(r) == -32700 && id_is_null(r) && t && !strstr(t, "NULMARK");
    if (!ok) fprintf(stderr, "NUL case %d (%s): expected -32700, id null, got %.300s\n",
                     n, what, t ? t : "?");
    free(t);
    return ok;
}

TEST(raw_nul_bytes_are_parse_errors)
{
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    static const char logop[] =
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":"
        "\"NULMARK@\",\"args\":{\"k@\":\"v@\"}}}}";
    char msg[512];
    int n = 0, failed = 0;
    /* Lines of nothing but NULs (and blanks). */
    failed += !nul_case(s, "\0", 1, n++, "a lone NUL");
    failed += !nul_case(s, "\0\0\0", 3, n++, "three NULs");
    failed += !nul_case(s, " \0 ", 3, n++, "space NUL space");
    /* The message with a NUL after, before, and between its tokens. */
    memcpy(msg, ping, sizeof ping);
    failed += !nul_case(s, msg, sizeof ping, n++, "a NUL after a valid request");
    msg[0] = '\0';
    memcpy(msg + 1, ping, sizeof ping - 1);
    failed += !nul_case(s, msg, sizeof ping, n++, "a NUL before a valid request");
    size_t k = (size_t)(strchr(ping, ':') - ping) + 1;
    memcpy(msg, ping, k);
    msg[k] = '\0';
    memcpy(msg + k + 1, ping + k, sizeof ping - 1 - k);
    failed += !nul_case(s, msg, sizeof ping, n++, "a NUL between tokens");
    /* Inside the operation name, a key and a value of a tool call. */
    for (const char *at = strchr(logop, '@'); at; at = strchr(at + 1, '@')) {
        memcpy(msg, logop, sizeof logop);
        msg[at - logop] = '\0';
        failed += !nul_case(s, msg, sizeof logop - 1, n++, "a NUL inside a string");
    }
    CHECK(srv_alive(s));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"event_type\":\"error\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s", srv_db(s));
    CHECK(!db_files_contain(db, "NULMARK"));
    FINISH(s);
    if (failed) TEST_FAIL_("%d of %d raw-NUL messages were not answered -32700 (above)", failed, n);
}

TEST(escaped_nul_in_a_string_argument_is_refused)
{
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    static const char *const args[] = {
        "{\"event_type\":\"error\",\"operation_name\":\"NULESC\",\"args\":{\"v\":\"a\\u0000b\"}}",
        "{\"event_type\":\"error\",\"operation_name\":\"NULESC\",\"args\":{\"\\u0000k\":1}}",
        "{\"event_type\":\"error\",\"operation_name\":\"NULESC\\u0000tail\"}",
        "{\"event_type\":\"error\",\"operation_name\":\"NULESC\",\"error\":\"\\u0000\"}",
        "{\"event_type\":\"error\",\"operation_name\":\"NULESC\",\"args\":{\"l\":[\"\\u0000\"]}}",
    };
    for (int i = 0; i < 5; i++) {
        char *line = log_line(s, "7", args[i]);
        cJSON *r = expect_error(s, line, strlen(line), -32600, i);
        CHECKF(r, "case %d: %s", i, args[i]);
        ASSERT_CONTAINS(jstr(r, "error.message"), "U+0000");
    }
    /* In an id and in a method name: refused the same way. */
    const char *id_nul = "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":\"ping\"}";
    CHECK(expect_error(s, id_nul, strlen(id_nul), -32600, 10));
    const char *m_nul = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\\u0000x\"}";
    CHECK(expect_error(s, m_nul, strlen(m_nul), -32600, 11));
    /* A backslash followed by the text u0000 is six ordinary characters. */
    cJSON *ok = srv_call_ok(s, "log_operation",
                            "{\"event_type\":\"error\",\"operation_name\":\"NULTEXT\","
                            "\"args\":{\"v\":\"a\\\\u0000b\"}}");
    CHECK(ok);
    cJSON *e = srv_call_ok(s, "get_audit_entry",
                           srv_fmt(s, "{\"audit_id\":\"%s\"}", jstr(ok, "audit_id")));
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "entry.args.v"), "a\\u0000b");
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"NULESC\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    FINISH(s);
}

/* ==== surrogates ========================================================== */

TEST(lone_surrogates_are_parse_errors)
{
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    static const char *const strs[] = {
        "\\ud800", "\\uDBFF", "\\udc00", "\\uDFFF", "x\\ud800y", "\\ud800\\u0041",
        "\\ud800\\ud800", "\\udc00\\ud800", "\\ud800\\", "\\ud800\\n", "\\ud83d",
        "\\ude00\\ud83d",
    };
    int n = 0;
    for (int i = 0; i < 12; i++) {
        /* In a value, a key and the operation name. */
        const char *forms[3] = {
            srv_fmt(s, "{\"event_type\":\"error\",\"operation_name\":\"SURR\",\"args\":{\"v\":\"%s\"}}", strs[i]),
            srv_fmt(s, "{\"event_type\":\"error\",\"operation_name\":\"SURR\",\"args\":{\"%s\":1}}", strs[i]),
            srv_fmt(s, "{\"event_type\":\"error\",\"operation_name\":\"SURR%s\"}", strs[i]),
        };
        for (int f = 0; f < 3; f++, n++) {
            char *line = log_line(s, "5", forms[f]);
            cJSON *r = expect_error(s, line, strlen(line), -32700, n);
            CHECKF(r, "the string \"%s\" (form %d) was not a parse error", strs[i], f);
            CHECK(id_is_null(r));
        }
    }
    /* A proper pair is one character, stored as UTF-8. */
    cJSON *ok = srv_call_ok(s, "log_operation",
                            "{\"event_type\":\"error\",\"operation_name\":\"SURR-pair\","
                            "\"args\":{\"v\":\"\\ud83d\\ude00\",\"w\":\"\\uDBFF\\uDFFF\"}}");
    CHECK(ok);
    cJSON *e = srv_call_ok(s, "get_audit_entry",
                           srv_fmt(s, "{\"audit_id\":\"%s\"}", jstr(ok, "audit_id")));
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "entry.args.v"), "\xf0\x9f\x98\x80");
    ASSERT_EQ_STR(jstr(e, "entry.args.w"), "\xf4\x8f\xbf\xbf");
    cJSON *h = srv_call_ok(s, "search_audit_log", "{\"search_term\":\"SURR\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h) >= 1, 1);
    const cJSON *it;
    cJSON_ArrayForEach(it, jget(h, "entries")) {
        const char *op = jstr(it, "operation_name");
        CHECK(op);
        /* Only the good entry (and tool_call records named after tools). */
        CHECK(strcmp(op, "SURR-pair") == 0 || strncmp(op, "SURR", 4) != 0);
    }
    FINISH(s);
}

/* ==== numbers ============================================================= */

TEST(huge_numbers_have_a_defined_answer)
{
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    /* Beyond a double: an invalid request saying so, with the id echoed. */
    static const char *const huge[] = {"1e400", "-1e400", "1E+999", "123e307",
        "100000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000"};
    int n = 0;
    for (int i = 0; i < 5; i++, n++) {
        char *line = srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\","
                                "\"params\":{\"x\":%s}}", 100 + i, huge[i]);
        cJSON *r = expect_error(s, line, strlen(line), -32600, n);
        CHECKF(r, "number %s", huge[i]);
        ASSERT_EQ_INT(jnum(r, "id"), 100 + i);
        ASSERT_CONTAINS(jstr(r, "error.message"), "too large");
        /* In a tool's args: refused, not stored as something else. */
        char *args = srv_fmt(s, "{\"event_type\":\"error\",\"operation_name\":\"HUGE\","
                                "\"args\":{\"x\":%s}}", huge[i]);
        line = log_line(s, "\"h\"", args);
        r = expect_error(s, line, strlen(line), -32600, ++n);
        CHECK(r);
        ASSERT_EQ_STR(jstr(r, "id"), "h");
    }
    /* As an id: not an integer MCP can use. */
    const char *id_huge = "{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"ping\"}";
    cJSON *r = expect_error(s, id_huge, strlen(id_huge), -32600, ++n);
    CHECK(r);
    CHECK(id_is_null(r));
    /* A big integer id within a double's range is echoed byte for byte. */
    r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":123456789012345678901234567890,\"method\":\"ping\"}");
    CHECK(r);
    CHECK(strstr(h_last_line(), "\"id\":123456789012345678901234567890,") != NULL);
    /* The largest doubles are kept. */
    cJSON *ok = srv_call_ok(s, "log_operation",
                            "{\"event_type\":\"error\",\"operation_name\":\"BIGNUM\","
                            "\"args\":{\"max\":1.7976931348623157e308,\"neg\":-1e308,"
                            "\"big\":9007199254740993e10}}");
    CHECK(ok);
    cJSON *e = srv_call_ok(s, "get_audit_entry",
                           srv_fmt(s, "{\"audit_id\":\"%s\"}", jstr(ok, "audit_id")));
    CHECK(e);
    CHECK(jnum(e, "entry.args.max") == 1.7976931348623157e308);
    CHECK(jnum(e, "entry.args.neg") == -1e308);
    CHECK(jnum(e, "entry.args.big") == 9007199254740993e10);
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"HUGE\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    FINISH(s);
}

/* ==== duplicate keys ====================================================== */

TEST(duplicate_keys_are_refused_naming_the_key)
{
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    static const struct { const char *line, *key; } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"method\":\"tools/list\"}", "method"},
        {"{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", "jsonrpc"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}", "id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"p\":1,\"p\":1}}", "p"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"log_operation\",\"name\":\"get_audit_entry\",\"arguments\":{}}}", "name"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":\"DUPMARK\","
         "\"event_type\":\"security_event\"}}}", "event_type"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":\"DUPMARK\","
         "\"args\":{\"dupkey\":1,\"other\":2,\"dupkey\":3}}}}", "dupkey"},
        /* Deep inside an array of objects. */
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":\"DUPMARK\","
         "\"args\":{\"l\":[{\"ok\":1},{\"deepdup\":1,\"deepdup\":1}]}}}}", "deepdup"},
        /* The same key spelled with an escape. */
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"log_operation\",\"arguments\":{\"event_type\":\"error\",\"operation_name\":\"DUPMARK\","
         "\"args\":{\"esc\":1,\"\\u0065sc\":2}}}}", "esc"},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++, n++) {
        cJSON *r = expect_error(s, cases[i].line, strlen(cases[i].line), -32600, n);
        CHECKF(r, "case %zu: %s", i, cases[i].line);
        char want[96];
        snprintf(want, sizeof want, "duplicate key '%s'", cases[i].key);
        ASSERT_CONTAINS(jstr(r, "error.message"), want);
    }
    /* Keys differing only in case are different keys. */
    CHECK(srv_call_ok(s, "log_operation",
                      "{\"event_type\":\"error\",\"operation_name\":\"CASEKEYS\","
                      "\"args\":{\"k\":1,\"K\":2}}"));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"DUPMARK\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    FINISH(s);
}

/* ==== long arrays ========================================================= */

TEST(ten_thousand_element_array_round_trips)
{
    srv *s = start_plain(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    cJSON *args = srv_keep(s, cJSON_CreateObject());
    CHECK(args);
    cJSON_AddStringToObject(args, "event_type", "component_sync");
    cJSON_AddStringToObject(args, "operation_name", "ARRAY10K");
    cJSON *inner = cJSON_AddObjectToObject(args, "args");
    cJSON *nums = cJSON_AddArrayToObject(inner, "numbers");
    cJSON *strs = cJSON_AddArrayToObject(inner, "strings");
    cJSON *objs = cJSON_AddArrayToObject(inner, "objects");
    for (int i = 0; i < 10000; i++) {
        cJSON_AddItemToArray(nums, cJSON_CreateNumber(i * 3 - 5000));
        char b[32];
        snprintf(b, sizeof b, "item-%05d", i);
        cJSON_AddItemToArray(strs, cJSON_CreateString(b));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "i", i);
        cJSON_AddItemToArray(objs, o);
    }
    char *text = cJSON_PrintUnformatted(args);
    CHECK(text);
    char *kept = srv_fmt(s, "%s", text);
    free(text);
    fprintf(stderr, "log_operation arguments: %zu bytes\n", strlen(kept));
    cJSON *ok = srv_call_ok(s, "log_operation", kept);
    CHECK(ok);
    cJSON *e = srv_call_ok(s, "get_audit_entry",
                           srv_fmt(s, "{\"audit_id\":\"%s\"}", jstr(ok, "audit_id")));
    CHECK(e);
    const cJSON *back = jget(e, "entry.args");
    CHECK(cJSON_IsObject(back));
    ASSERT_EQ_INT(cJSON_GetArraySize(jget(back, "numbers")), 10000);
    ASSERT_EQ_INT(cJSON_GetArraySize(jget(back, "strings")), 10000);
    ASSERT_EQ_INT(cJSON_GetArraySize(jget(back, "objects")), 10000);
    CHECKF(cJSON_Compare(back, inner, 1), "the args came back different");
    /* The history query carries it too. */
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"ARRAY10K\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    CHECK(cJSON_Compare(jget(h, "entries.0.args"), inner, 1));
    /* A 10,000-element array as a whole params member is fine for ping. */
    char *arr = repeat("1,", 9999, NULL);
    CHECK(arr);
    char *line = srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":\"arr\",\"method\":\"ping\","
                            "\"params\":{\"a\":[%s1]}}", arr);
    free(arr);
    cJSON *r = srv_rpc(s, line);
    CHECK(r);
    CHECK(cJSON_IsObject(jget(r, "result")));
    FINISH(s);
}

TEST_MAIN(TEST_ENTRY(jsontestsuite_every_file)
          TEST_ENTRY(invalid_utf8_is_a_parse_error_never_stored_or_echoed)
          TEST_ENTRY(message_over_the_limit_is_refused_without_buffering_it_whole)
          TEST_ENTRY(message_over_a_small_limit_then_next_served)
          TEST_ENTRY(nesting_deeper_than_the_limit_is_an_error)
          TEST_ENTRY(max_depth_flag_sets_the_limit)
          TEST_ENTRY(a_million_open_brackets_are_an_error_not_a_crash)
          TEST_ENTRY(raw_nul_bytes_are_parse_errors)
          TEST_ENTRY(escaped_nul_in_a_string_argument_is_refused)
          TEST_ENTRY(lone_surrogates_are_parse_errors)
          TEST_ENTRY(huge_numbers_have_a_defined_answer)
          TEST_ENTRY(duplicate_keys_are_refused_naming_the_key)
          TEST_ENTRY(ten_thousand_element_array_round_trips))
