/*
** test_secrets.c: secrets by value never reach the disk.
**
** A corpus with each kind of secret the scrubber knows is written into
** every stored field (args, result, before_state, after_state, error,
** operation_name, and the request's id and the actor, which no argument
** carries) through the real binary; then the raw bytes of the
** database and its WAL are searched for every secret.  The secrets are
** assembled at run time from pieces, so this file holds none verbatim.
** Each text holds one secret that exactly one value pattern catches (no
** '=' or ':' beside a key word, no prefix of another pattern), so every
** pattern is tested end to end on its own: switching one off fails here.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            TEST_FAIL_("check failed: %s\n    harness: %s", #cond, h_error()); \
    } while (0)

#include "corpus.h"

static int raw_bytes_clean(srv *s, const corpus *c, const char *marker, int *marker_seen)
{
    const char *files[] = {"", "-wal"};
    for (int f = 0; f < 2; f++) {
        size_t len;
        char *bytes = srv_read_file(s, srv_fmt(s, "%s%s", srv_db(s), files[f]), &len);
        if (!bytes) continue;
        for (int i = 0; i < NSECRETS; i++) {
            if (h_memmem(bytes, len, c->secret[i])) {
                fprintf(stderr, "secret %d (%s) found in audit.db%s\n", i, c->secret[i], files[f]);
                return 0;
            }
        }
        if (h_memmem(bytes, len, marker)) *marker_seen = 1;
    }
    return 1;
}

TEST(value_secrets_in_every_field_never_reach_the_disk)
{
    static corpus c;
    build(&c);
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    const char *marker = "visible-marker-7d1f";
    for (int i = 0; i < NSECRETS; i++) {
        char q[900], line[8192];
        quote(q, sizeof q, c.text[i]);
        snprintf(line, sizeof line,
                 "{\"event_type\":\"security_event\",\"operation_name\":%s,"
                 "\"args\":{\"command\":%s,\"nested\":[[{\"note\":%s}]],\"m\":\"%s\"},"
                 "\"result\":{\"output\":%s},\"before_state\":{\"env\":%s},"
                 "\"after_state\":{\"log\":[%s]},\"error\":%s}",
                 q, q, q, marker, q, q, q, q);
        CHECK(srv_call_ok(s, "log_operation", line));
    }
    int seen = 0;
    CHECK(raw_bytes_clean(s, &c, marker, &seen));
    CHECK(srv_stdout_is_json_lines(s));
    ASSERT_EQ_INT(srv_wait(s), 0);
    seen = 0;
    CHECK(raw_bytes_clean(s, &c, marker, &seen));
    CHECK(seen);
    srv_free(s);
}

/* The texts the server stores that no argument carries: the request's id
** (the tool_call record's operation_id) and the actor (its user_id). */
TEST(value_secrets_in_request_ids_and_the_actor_never_reach_the_disk)
{
    static corpus c;
    build(&c);
    const char *args[] = {"--actor", c.text[0], NULL};
    srv_opts o = {.args = args, .no_actor = 1};
    srv *s = srv_start(&o);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    const char *marker = "visible-marker-3c9a";
    for (int i = 0; i < NSECRETS; i++) {
        char q[900];
        quote(q, sizeof q, c.text[i]);
        CHECK(srv_send_line(s, srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":"
                                          "\"tools/call\",\"params\":{\"name\":"
                                          "\"log_operation\",\"arguments\":{\"event_type\":"
                                          "\"security_event\",\"operation_name\":\"%s\"}}}",
                                       q, marker)) == 0);
        const cJSON *r = srv_recv(s);
        CHECK(r && cJSON_GetObjectItemCaseSensitive(r, "result"));
    }
    ASSERT_EQ_INT(srv_wait(s), 0);
    int seen = 0;
    CHECK(raw_bytes_clean(s, &c, marker, &seen));
    CHECK(seen);
    srv_free(s);
}

TEST(config_file_adds_keys_and_prefixes)
{
    char dir[] = "/tmp/dss-config-XXXXXX", path[64];
    CHECK(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs("{\"redact_keys\":[\"ssn\"],\"redact_prefixes\":[\"acme_\"]}", f);
    fclose(f);
    const char *args[] = {"--config", path, NULL};
    srv_opts o = {.args = args};
    srv *s = srv_start(&o);
    CHECK(s);
    cJSON *r = srv_call_ok(s, "log_operation",
                           "{\"event_type\":\"credential_access\",\"operation_name\":\"lookup\","
                           "\"args\":{\"customer_ssn\":\"123-45-6789\","
                           "\"note\":\"used acme_ABCDEFGH1234 today\"}}");
    CHECK(r);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "audit_id");
    CHECK(cJSON_IsString(id));
    cJSON *e = srv_call_ok(s, "get_audit_entry",
                           srv_fmt(s, "{\"audit_id\":\"%s\"}", id->valuestring));
    CHECK(e);
    char *text = cJSON_PrintUnformatted(e);
    CHECK(text);
    int leaked = strstr(text, "123-45-6789") || strstr(text, "ABCDEFGH1234");
    int kept = strstr(text, "used ") && strstr(text, " today");
    free(text);
    CHECK(!leaked);
    CHECK(kept);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
    unlink(path);
    rmdir(dir);
}

TEST(missing_named_config_file_is_a_usage_error)
{
    static const char *const args[] = {"--config", "/nonexistent/dss/config.json", NULL};
    srv_opts o = {.args = args};
    srv *s = srv_start(&o);
    CHECK(s);
    ASSERT_EQ_INT(srv_wait(s), 2);
    ASSERT_CONTAINS(srv_stderr(s), "config");
    srv_free(s);
}

TEST_MAIN(
    TEST_ENTRY(value_secrets_in_every_field_never_reach_the_disk)
    TEST_ENTRY(value_secrets_in_request_ids_and_the_actor_never_reach_the_disk)
    TEST_ENTRY(config_file_adds_keys_and_prefixes)
    TEST_ENTRY(missing_named_config_file_is_a_usage_error)
)
