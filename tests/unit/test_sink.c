/*
** test_sink.c: the parts of ship's sinks that need no receiver: URLs (parsed
** and masked), the choice of sink by scheme and of format by sink, the RFC
** 5424 message, the cursors beside a local file, and the shipper's own
** refusals.  The sinks against real receivers are tests/ship/test_ship.c.
*/
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "ship/cursor.h"
#include "ship/cursor_testing.h"
#include "ship/ship.h"
#include "ship/sink.h"
#include "ship/sink_int.h"
#include "cli/cli.h"
#include "util/jsoncheck.h"

static char dir[64];

static void rm_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (dir[0] && system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

static const char *fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/dss-sink-XXXXXX");
    if (!mkdtemp(dir)) return NULL;
    atexit(rm_dir);
    return dir;
}

TEST(describe_masks_passwords_and_query_values)
{
    char out[SINK_DESC_LEN];
    sink_describe("https://hooks.example.org/in?token=abc123&team=sec#frag", out, sizeof out);
    ASSERT_EQ_STR(out, "https://hooks.example.org/in?token=***&team=***");
    sink_describe("https://user:s3cret@hooks.example.org:8443/x", out, sizeof out);
    ASSERT_EQ_STR(out, "https://user:***@hooks.example.org:8443/x");
    sink_describe("relp://logs.internal:2514", out, sizeof out);
    ASSERT_EQ_STR(out, "relp://logs.internal:2514");
    sink_describe("postgresql://writer:pw123@db.internal/audit", out, sizeof out);
    ASSERT(!strstr(out, "pw123"));
    /* A '/' typed unencoded in the password did not end the masking. */
    sink_describe("https://user:pa/ss@hooks.example.org/x", out, sizeof out);
    ASSERT_EQ_STR(out, "https://user:***@hooks.example.org/x");
    sink_describe("postgresql://writer:pw/123@db.internal/audit", out, sizeof out);
    ASSERT(!strstr(out, "pw/123") && !strstr(out, "123@"));
    /* A buffer too small cuts, never overflows. */
    char small[12];
    sink_describe("https://user:s3cret@hooks.example.org/", small, sizeof small);
    ASSERT_EQ_INT(strlen(small), sizeof small - 1);
    ASSERT(!strstr(small, "s3cret"));
}

TEST(url_parse_takes_hosts_ports_ipv6_and_paths)
{
    sink_url u;
    char err[256];
    ASSERT_EQ_INT(sink_url_parse("otlp+https://collector.example:4318/custom/logs?x=1", 4318, &u,
                                 err, sizeof err), SINK_OK);
    ASSERT_EQ_STR(u.scheme, "otlp+https");
    ASSERT_EQ_STR(u.host, "collector.example");
    ASSERT_EQ_INT(u.port, 4318);
    ASSERT_EQ_STR(u.path, "/custom/logs?x=1");
    ASSERT_EQ_INT(sink_url_parse("RELP://[::1]:2514", 0, &u, err, sizeof err), SINK_OK);
    ASSERT_EQ_STR(u.scheme, "relp");
    ASSERT_EQ_STR(u.host, "::1");
    ASSERT_EQ_INT(u.port, 2514);
    ASSERT_EQ_STR(u.path, "");
    ASSERT_EQ_INT(sink_url_parse("splunk-hec+https://splunk", 8088, &u, err, sizeof err), SINK_OK);
    ASSERT_EQ_INT(u.port, 8088);
}

TEST(url_parse_refuses_credentials_bad_ports_and_non_urls)
{
    sink_url u;
    char err[256];
    ASSERT_EQ_INT(sink_url_parse("https://bob:pw@host/x", 443, &u, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "credentials do not belong in the URL");
    ASSERT(!strstr(err, ":pw@"));
    /* Each refusal names what is wrong with the URL. */
    static const char *const bad[][2] = {
        {"relp://host:0", "its port is not from 1 to 65535"},
        {"relp://host:65536", "its port is not from 1 to 65535"},
        {"relp://host:99999999999999999999", "its port is not from 1 to 65535"},
        {"relp://host:12x", "its port is not a number"},
        {"relp://host:-1", "its port is not a number"},
        {"relp://host:", "its port is not a number"},
        {"relp://:514", "it names no host"},
        {"no-scheme-here", "is not a URL"},
        {"relp://[::1", "its IPv6 address has no closing ']'"},
        {"relp://[::1]x", "only :port may follow its IPv6 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (sink_url_parse(bad[i][0], 514, &u, err, sizeof err) != SINK_EUSAGE)
            TEST_FAIL_("%s was accepted", bad[i][0]);
        if (!strstr(err, bad[i][1])) TEST_FAIL_("%s: '%s' does not say '%s'", bad[i][0], err, bad[i][1]);
    }
    ASSERT_EQ_INT(sink_url_parse("relp://host", 0, &u, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "needs a port");
}

/* Printable as utf8_printable() promises: no control character, C1
** included, and valid UTF-8. */
static int printable_utf8(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) return 0;
        if (*c == 0xC2 && c[1] >= 0x80 && c[1] < 0xA0) return 0;
    }
    size_t at;
    return jsoncheck_utf8(s, strlen(s), &at) == NULL;
}

/* ExportLogsServiceResponse { partial_success = 1 { rejected_log_records = 1;
** error_message = 2 } }, by hand. */
static size_t put_varint(unsigned char *out, size_t v)
{
    size_t n = 0;
    for (; v > 0x7f; v >>= 7) out[n++] = (unsigned char)(v | 0x80);
    out[n++] = (unsigned char)v;
    return n;
}

static size_t partial_answer(unsigned char *out, const unsigned char *count, size_t count_n,
                             const char *msg, size_t msg_n)
{
    unsigned char inner[300];
    size_t i = 0, n = 0;
    inner[i++] = 0x08;
    memcpy(inner + i, count, count_n);
    i += count_n;
    if (msg) {
        inner[i++] = 0x12;
        i += put_varint(inner + i, msg_n);
        memcpy(inner + i, msg, msg_n);
        i += msg_n;
    }
    out[n++] = 0x0a;
    n += put_varint(out + n, i);
    memcpy(out + n, inner, i);
    return n + i;
}

TEST(otlp_partial_success_counts_stay_within_the_batch)
{
    unsigned char b[300];
    char msg[151];
    /* 1000 rejected of a batch of 5: at most the 5 sent (the shipper's
    ** stored count, n - rejected, went negative). */
    static const unsigned char thousand[] = {0xe8, 0x07};
    size_t n = partial_answer(b, thousand, 2, NULL, 0);
    ASSERT_EQ_INT(sink_otlp_partial_success((char *)b, n, 5, msg, sizeof msg), 5);
    /* An int64 of -1 (ten bytes on the wire) is no count, not "malformed". */
    static const unsigned char minus1[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0x01};
    n = partial_answer(b, minus1, 10, "dropped", 7);
    ASSERT_EQ_INT(sink_otlp_partial_success((char *)b, n, 5, msg, sizeof msg), 0);
    ASSERT_EQ_STR(msg, "dropped");
    static const unsigned char three[] = {3};
    n = partial_answer(b, three, 1, "three bad", 9);
    ASSERT_EQ_INT(sink_otlp_partial_success((char *)b, n, 100, msg, sizeof msg), 3);
    /* A field number of 0 is not protobuf, and neither is a cut message:
    ** no count and no half-read message. */
    n = partial_answer(b, three, 1, "three bad", 9);
    ASSERT_EQ_INT(sink_otlp_partial_success((char *)b, n - 1, 100, msg, sizeof msg), -1);
    ASSERT_EQ_STR(msg, "");
    ASSERT_EQ_INT(sink_otlp_partial_success("\x00\x01", 2, 100, msg, sizeof msg), -1);
    ASSERT_EQ_INT(sink_otlp_partial_success("", 0, 100, msg, sizeof msg), 0);
    /* The usual answer, an empty 200, has no buffer at all: NULL + 0 was
    ** computed (undefined; UBSan in tests/fuzz/fuzz_sinkreply.c). */
    ASSERT_EQ_INT(sink_otlp_partial_success(NULL, 0, 100, msg, sizeof msg), 0);
    ASSERT_EQ_STR(msg, "");
    sink_http h;
    memset(&h, 0, sizeof h);
    sink_otlp_status_message(&h, msg, sizeof msg);
    ASSERT_EQ_STR(msg, "");
}

TEST(receiver_messages_are_printable_utf8_and_bounded)
{
    unsigned char b[320];
    char msg[151];
    static const unsigned char one[] = {1};
    /* An escape sequence (clear the screen, set the title), a C1 CSI, a
    ** NUL and a cut character, as a receiver may send them. */
    static const char evil[] = "bad \x1b[2J\x1b]0;owned\x07 \xc2\x9b" "31m \0 nul \xe2\x82";
    size_t n = partial_answer(b, one, 1, evil, sizeof evil - 1);
    ASSERT_EQ_INT(sink_otlp_partial_success((char *)b, n, 10, msg, sizeof msg), 1);
    ASSERT(printable_utf8(msg));
    ASSERT_CONTAINS(msg, "bad ?[2J?]0;owned? ?31m ? nul ?");
    /* 100 two-byte characters: cut between characters, at most 150 bytes. */
    char wide[200];
    for (int i = 0; i < 100; i++) wide[2 * i] = (char)0xc3, wide[2 * i + 1] = (char)0xa9;
    n = partial_answer(b, one, 1, wide, 200);
    ASSERT_EQ_INT(sink_otlp_partial_success((char *)b, n, 10, msg, sizeof msg), 1);
    ASSERT_EQ_INT(strlen(msg), 150);
    ASSERT(printable_utf8(msg));
    /* google.rpc.Status { code = 3; message = 2 } of an error answer. */
    sink_http h;
    memset(&h, 0, sizeof h);
    snprintf(h.ctype, sizeof h.ctype, "application/x-protobuf");
    jbuf_put(&h.body, "\x08\x03\x12\x09" "a\x1b[31mbad", 13);
    char line[153];
    sink_otlp_status_message(&h, line, sizeof line);
    ASSERT_EQ_STR(line, ": a?[31mbad");
    /* A text answer: its first line, with DEL and invalid UTF-8 replaced. */
    h.ctype[0] = '\0';
    jbuf_free(&h.body);
    jbuf_puts(&h.body, "oops \x7f\xff\xfe here\nsecond line");
    sink_otlp_status_message(&h, line, sizeof line);
    ASSERT_EQ_STR(line, ": oops ??? here");
    jbuf_free(&h.body);
}

TEST(hec_codes_and_ack_ids_that_hec_never_sends_are_refused)
{
    char text[201];
    int has_ack;
    int64_t id;
    const char *ok = "{\"text\":\"Success\",\"code\":0,\"ackId\":7}";
    ASSERT_EQ_INT(sink_hec_answer(ok, strlen(ok), text, sizeof text, &has_ack, &id), 0);
    ASSERT_EQ_INT(has_ack, 1);
    ASSERT_EQ_INT(id, 7);
    ASSERT_EQ_STR(text, "Success");
    /* A code or ackId past what a double converts to an integer exactly
    ** was converted regardless (undefined behaviour: 1e300 to int); an
    ** ackId that is not a whole non-negative number was waited for. */
    const char *bad[] = {"{\"code\":1e300}", "{\"code\":-1e300}", "{\"code\":0.5}",
                         "{\"code\":-1}", "{\"code\":0,\"ackId\":1e30}",
                         "{\"code\":0,\"ackId\":-3}", "{\"code\":0,\"ackId\":1.5}",
                         "{\"code\":0,\"ackId\":\"7\"}", "{\"ackId\":null}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int code = sink_hec_answer(bad[i], strlen(bad[i]), text, sizeof text, &has_ack, &id);
        if (code != -2 || has_ack) TEST_FAIL_("%s gave code %d, has_ack %d", bad[i], code, has_ack);
    }
    const char *none = "<html>not json</html>";
    ASSERT_EQ_INT(sink_hec_answer(none, strlen(none), text, sizeof text, &has_ack, &id), -1);
    ASSERT_EQ_INT(has_ack, 0);
    const char *esc = "{\"text\":\"Invalid \\u001b[2J\\u009b token\\u007f\",\"code\":4}";
    ASSERT_EQ_INT(sink_hec_answer(esc, strlen(esc), text, sizeof text, NULL, NULL), 4);
    ASSERT_EQ_STR(text, "Invalid ?[2J? token?");
}

TEST(url_parse_refuses_spaces_control_characters_and_signed_ports)
{
    sink_url u;
    char err[256];
    /* They went into the request line, syslog's HOSTNAME and messages. */
    const char *bad[] = {"otlp+http://collector\r\nX-Evil: 1:4318/", "https://hooks.example.org/a b",
                         "relp://logs\x1b[2J:2514", "syslog+tcp://host:514/\x7f",
                         "splunk-hec+https://splunk\t:8088"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (sink_url_parse(bad[i], 443, &u, err, sizeof err) != SINK_EUSAGE)
            TEST_FAIL_("'%s' was accepted", bad[i]);
    ASSERT_CONTAINS(err, "a space or a control character");
    /* A port is digits alone: strtol() took a sign. */
    const char *signed_port[] = {"relp://h:+2514", "relp://h:-0", "otlp+http://[::1]:+4318/"};
    for (size_t i = 0; i < sizeof signed_port / sizeof *signed_port; i++)
        if (sink_url_parse(signed_port[i], 0, &u, err, sizeof err) != SINK_EUSAGE)
            TEST_FAIL_("'%s' was accepted", signed_port[i]);
    ASSERT_EQ_INT(sink_url_parse("relp://h:02514", 0, &u, err, sizeof err), SINK_OK);
    ASSERT_EQ_INT(u.port, 2514);
    /* A query without a path: the path still begins with '/' (sink.h). */
    ASSERT_EQ_INT(sink_url_parse("otlp+http://h:4318?x=1", 0, &u, err, sizeof err), SINK_OK);
    ASSERT_EQ_STR(u.path, "/?x=1");
}

TEST(each_scheme_picks_its_sink)
{
    char err[512];
    static const struct { const char *url; const sink_type *t; } cases[] = {
        {"relp://h:2514", &sink_relp_type},
        {"relp+tls://h:2514", &sink_relp_type},
        {"syslog+tcp://h:514", &sink_syslog_type},
        {"syslog+tls://h:6514", &sink_syslog_type},
        {"otlp+http://h:4318", &sink_otlp_type},
        {"otlp+https://h", &sink_otlp_type},
        {"splunk-hec+https://h:8088", &sink_hec_type},
        {"https://h/hook", &sink_webhook_type},
        {"postgres://h/db", &sink_pg_type},
        {"postgresql://h/db", &sink_pg_type},
        {"host=h dbname=audit", &sink_pg_type},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (sink_type_of(cases[i].url, err, sizeof err) != cases[i].t)
            TEST_FAIL_("%s does not pick the %s sink", cases[i].url, cases[i].t->name);
    ASSERT(sink_type_of("http://h/hook", err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "names no known sink");
    ASSERT_CONTAINS(err, "relp://");
    ASSERT(sink_type_of("syslog://h", err, sizeof err) == NULL);
}

TEST(formats_are_checked_against_the_sink)
{
    char err[512];
    sink *s = NULL;
    sink_config c = {.url = "otlp+http://127.0.0.1:4318", .format = SINK_FORMAT_JSONL};
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "does not take --format jsonl (it takes otlp)");
    c.url = "syslog+tcp://127.0.0.1:514";
    c.format = SINK_FORMAT_OTLP;
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "(it takes jsonl, ocsf)");
    c.url = "postgres://127.0.0.1/audit";
    c.format = SINK_FORMAT_OCSF;
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "--format does not apply");
    /* The default is each sink's own. */
    c.url = "syslog+tcp://127.0.0.1:514";
    c.format = SINK_FORMAT_DEFAULT;
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_OK);
    ASSERT_EQ_INT(s->format, SINK_FORMAT_JSONL);
    ASSERT_EQ_STR(s->desc, "syslog+tcp://127.0.0.1:514");
    sink_close(s);
    ASSERT_EQ_INT(sink_format_parse("ocsf"), SINK_FORMAT_OCSF);
    ASSERT_EQ_INT(sink_format_parse("csv"), SINK_FORMAT_DEFAULT);
}

TEST(secrets_are_required_where_a_sink_needs_one)
{
    char err[512];
    sink *s = NULL;
    sink_config c = {.url = "splunk-hec+https://127.0.0.1:8088"};
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "DSS_AUDIT_SINK_TOKEN");
    c.token = "line one\nline two";
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_EUSAGE);
    ASSERT(!strstr(err, "line one"));
    c.url = "https://127.0.0.1/hook";
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "DSS_AUDIT_SINK_SECRET");
    c.url = "relp+tls://127.0.0.1:2514";
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "--client-cert FILE --client-key FILE");
    c.url = "syslog+tls://127.0.0.1:6514";
    c.ca_file = "/nonexistent/ca.pem";
    ASSERT_EQ_INT(sink_open(&c, &s, err, sizeof err), SINK_EUSAGE);
    ASSERT_CONTAINS(err, "--ca /nonexistent/ca.pem cannot be read");
}

static void set_value(entry_value *v, const char *text)
{
    v->p = text;
    v->len = text ? strlen(text) : 0;
}

/* A stored entry as the store hands it to a sink: a row (entry.h). */
static entry_row entry(const char *event_type, const char *error, const char *log_id)
{
    static const char hash[] = "1f01a87e0ba6568b5f4839fb569b578756bd463f265db08d802298ef75bd8bfc";
    entry_row r;
    memset(&r, 0, sizeof r);
    r.seq = 42;
#define SET(f, text) set_value(&r.v[ENTRY_F_##f], (text))
    SET(id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    SET(event_type, event_type);
    SET(operation_name, "op");
    SET(args, "{\"n\":1}");
    SET(error, error);
    SET(created_at, "2026-11-27T21:58:05.123456Z");
    SET(prev_hash, hash);
    SET(hash, hash);
#undef SET
    r.log_id.p = log_id;
    r.log_id.len = strlen(log_id);
    r.log.p = "vm";
    r.log.len = 2;
    return r;
}

TEST(syslog_message_is_rfc5424_with_escaped_structured_data)
{
    entry_row e = entry("tool_call", NULL, "lo\"g]\\1");
    jbuf out = {0}, body = {0};
    char err[256];
    ASSERT_EQ_INT(sink_syslog_message(SINK_FORMAT_JSONL, "laptop 7", &e, &out, err, sizeof err),
                  SINK_OK);
    jbuf_putc(&out, '\0');
    /* facility 13 (log audit) * 8 + severity 6; the host's space is not
    ** PRINTUSASCII; '"', '\' and ']' escaped in a PARAM-VALUE; then the
    ** BOM and the entry as the printer prints it. */
    static const char head[] =
        "<110>1 2026-11-27T21:58:05.123456Z laptop_7 dss-audit-mcp - tool_call "
        "[dss-audit@32473 seq=\"42\" id=\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\" "
        "log=\"lo\\\"g\\]\\\\1\" "
        "hash=\"1f01a87e0ba6568b5f4839fb569b578756bd463f265db08d802298ef75bd8bfc\"] \xEF\xBB\xBF";
    ASSERT(strncmp(out.p, head, strlen(head)) == 0);
    entry_json(&e, &body);
    jbuf_putc(&body, '\0');
    ASSERT_EQ_STR(out.p + strlen(head), body.p);
    ASSERT_CONTAINS(body.p, "\"log_id\":\"lo\\\"g]\\\\1\",\"log\":\"vm\"");
    jbuf_free(&out);
    jbuf_free(&body);
    /* No host: the NILVALUE; an over-long MSGID is cut to 32 characters. */
    e = entry("a_very_long_event_type_name_beyond_32", NULL, "l");
    ASSERT_EQ_INT(sink_syslog_message(SINK_FORMAT_JSONL, "", &e, &out, err, sizeof err), SINK_OK);
    jbuf_putc(&out, '\0');
    ASSERT_CONTAINS(out.p, "Z - dss-audit-mcp - a_very_long_event_type_name_beyo [");
    jbuf_free(&out);
}

TEST(syslog_severity_rises_for_errors_and_security_events)
{
    entry_row a = entry("tool_call", NULL, "l"), b = entry("security_event", NULL, "l"),
              c = entry("tool_call", "timed out", "l"), d = entry("error", NULL, "l"),
              f = entry("security_event", "denied", "l");
    ASSERT_EQ_INT(sink_syslog_severity(&a), 6);
    ASSERT_EQ_INT(sink_syslog_severity(&b), 4);
    ASSERT_EQ_INT(sink_syslog_severity(&c), 3);
    ASSERT_EQ_INT(sink_syslog_severity(&d), 3);
    ASSERT_EQ_INT(sink_syslog_severity(&f), 3);
}

/* ---- the OTLP encoding, against a plain nested encoder -------------------
** The sink writes each LogRecord and the request around a batch in one
** pass, without building the nested messages one inside the other; this
** reference builds them the obvious way (each message whole, then copied
** into its parent as a length-delimited field), from the same mapping
** (cli_otlp_head, cli_otlp_attributes, cli_otlp_resource), so the two must
** agree byte for byte. */

static void ref_varint(jbuf *b, uint64_t v)
{
    do {
        jbuf_putc(b, (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}

static void ref_tag(jbuf *b, int field, int wire)
{
    ref_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

static void ref_bytes(jbuf *b, int field, const char *p, size_t n)
{
    ref_tag(b, field, 2);
    ref_varint(b, n);
    jbuf_put(b, p ? p : "", n);
}

static void ref_fixed64(jbuf *b, int field, uint64_t v)
{
    ref_tag(b, field, 1);
    for (int i = 0; i < 8; i++) jbuf_putc(b, (char)(v >> (8 * i)));
}

typedef struct ref_kv {
    jbuf *out;
    int field;
} ref_kv;

static int ref_attr(void *ctx, const cli_otlp_attr *a)
{
    ref_kv *k = ctx;
    jbuf kv = {0}, any = {0};
    if (a->is_int) {
        ref_tag(&any, 3, 0);
        ref_varint(&any, (uint64_t)a->num);
    } else {
        ref_bytes(&any, 1, a->str, strlen(a->str));
    }
    ref_bytes(&kv, 1, a->key, strlen(a->key));
    ref_bytes(&kv, 2, any.p, any.len);
    ref_bytes(k->out, k->field, kv.p, kv.len);
    jbuf_free(&kv);
    jbuf_free(&any);
    return 0;
}

/* LogRecord, as the field log_records (2) of ScopeLogs, appended to out. */
static int ref_record(const entry_row *row, jbuf *out)
{
    cli_otlp_fields f;
    char err[256];
    jbuf rec = {0}, body = {0}, any = {0};
    if (cli_otlp_head(row, &f, err, sizeof err) != 0) return -1;
    uint64_t nanos = (uint64_t)f.time_us * 1000u;
    ref_fixed64(&rec, 1, nanos);
    ref_tag(&rec, 2, 0);
    ref_varint(&rec, (uint64_t)f.severity_number);
    ref_bytes(&rec, 3, f.severity_text, strlen(f.severity_text));
    entry_json(row, &body);
    ref_bytes(&any, 1, body.p, body.len);
    ref_bytes(&rec, 5, any.p, any.len);
    ref_kv k = {&rec, 6};
    int rc = cli_otlp_attributes(row, ref_attr, &k);
    ref_fixed64(&rec, 11, nanos);
    ref_bytes(out, 2, rec.p, rec.len);
    jbuf_free(&rec);
    jbuf_free(&body);
    jbuf_free(&any);
    return rc;
}

static void ref_request(const char *log_id, const jbuf *records, jbuf *out)
{
    jbuf resource = {0}, scope = {0}, scope_logs = {0}, resource_logs = {0};
    ref_kv k = {&resource, 1};
    cli_otlp_resource(log_id, ref_attr, &k);
    ref_bytes(&scope, 1, CLI_OTLP_SCOPE, strlen(CLI_OTLP_SCOPE));
    ref_bytes(&scope, 2, cli_otlp_version(), strlen(cli_otlp_version()));
    ref_bytes(&scope_logs, 1, scope.p, scope.len);
    jbuf_put(&scope_logs, records->p ? records->p : "", records->len);
    ref_bytes(&resource_logs, 1, resource.p, resource.len);
    ref_bytes(&resource_logs, 2, scope_logs.p, scope_logs.len);
    ref_bytes(out, 1, resource_logs.p, resource_logs.len);
    jbuf_free(&resource);
    jbuf_free(&scope);
    jbuf_free(&scope_logs);
    jbuf_free(&resource_logs);
}

/* Each entry's record, and the request of them all, as the reference
** writes them; args of sizes that put the body's, the record's and the
** request's lengths on each side of a varint's 1-, 2- and 3-byte limits.
** Each record is also written after the ones before it in one buffer, as
** the shipper does (the encoder fills in lengths where the record began). */
TEST(otlp_encoding_is_byte_identical_to_the_nested_encoding)
{
    static const size_t sizes[] = {0, 1, 30, 60, 100, 110, 16200, 16300, 16384, 2097000,
                                   2097152};
    enum { N = sizeof sizes / sizeof sizes[0] };
    char *args[N], err[256];
    entry_row rows[N];
    jbuf got = {0}, want = {0}, batch = {0}, req = {0}, ref = {0}, direct = {0};
    for (size_t i = 0; i < N; i++) {
        args[i] = malloc(sizes[i] + 16);
        ASSERT(args[i]);
        memcpy(args[i], "{\"s\":\"", 6);
        memset(args[i] + 6, 'x', sizes[i]);
        memcpy(args[i] + 6 + sizes[i], "\"}", 3);
        rows[i] = entry(i % 3 ? "tool_call" : "security_event", i % 4 ? NULL : "boom", "L1");
        rows[i].seq = (int64_t)(i + 1) << (i * 5);
        set_value(&rows[i].v[ENTRY_F_args], args[i]);
    }
    for (size_t i = 0; i < N; i++) {
        got.len = want.len = 0;
        ASSERT_EQ_INT(sink_otlp_record(&rows[i], &got, err, sizeof err), SINK_OK);
        ASSERT_EQ_INT(ref_record(&rows[i], &want), 0);
        ASSERT_EQ_INT(got.len, want.len);
        ASSERT(memcmp(got.p, want.p, got.len) == 0);
        jbuf_put(&batch, got.p, got.len);
        ASSERT_EQ_INT(sink_otlp_record(&rows[i], &direct, err, sizeof err), SINK_OK);
    }
    ASSERT_EQ_INT(direct.len, batch.len);
    ASSERT(memcmp(direct.p, batch.p, batch.len) == 0);
    for (size_t n = 0; n <= batch.len; n += batch.len) {
        jbuf part = {.p = batch.p, .len = n};
        ref.len = 0;
        ref_request("L1", &part, &ref);
        ASSERT_EQ_INT(sink_otlp_request("L1", batch.p, n, &req, err, sizeof err), SINK_OK);
        ASSERT_EQ_INT(req.len, ref.len);
        ASSERT(memcmp(req.p, ref.p, req.len) == 0);
        if (!batch.len) break;
    }
    for (size_t i = 0; i < N; i++) free(args[i]);
    jbuf_free(&got);
    jbuf_free(&want);
    jbuf_free(&batch);
    jbuf_free(&req);
    jbuf_free(&ref);
    jbuf_free(&direct);
}

/* The client and server attributes, read from the identity columns: the
** shipper keeps the last one parsed, which must never answer for another
** (a change, a column missing a member, one too long to keep). */
typedef struct attrs_seen {
    char text[4096];
} attrs_seen;

static int see_attr(void *ctx, const cli_otlp_attr *a)
{
    attrs_seen *s = ctx;
    size_t n = strlen(s->text);
    if (!a->is_int && strncmp(a->key, "dss_audit.client", 16) == 0)
        snprintf(s->text + n, sizeof s->text - n, "%s=%.40s;", a->key, a->str);
    return 0;
}

static const char *client_attrs(const char *client, attrs_seen *s)
{
    entry_row r = entry("tool_call", NULL, "l");
    set_value(&r.v[ENTRY_F_client], client);
    s->text[0] = '\0';
    return cli_otlp_attributes(&r, see_attr, s) == 0 ? s->text : "failed";
}

TEST(otlp_identity_attributes_follow_each_row)
{
    attrs_seen s;
    char big[2048];
    snprintf(big, sizeof big, "{\"name\":\"%0*d\",\"version\":\"9\"}", 1500, 7);
    ASSERT_EQ_STR(client_attrs("{\"name\":\"a\",\"version\":\"1\"}", &s),
                  "dss_audit.client.name=a;dss_audit.client.version=1;");
    ASSERT_EQ_STR(client_attrs("{\"name\":\"a\",\"version\":\"1\"}", &s),
                  "dss_audit.client.name=a;dss_audit.client.version=1;");
    ASSERT_EQ_STR(client_attrs("{\"name\":\"a\",\"version\":\"2\"}", &s),
                  "dss_audit.client.name=a;dss_audit.client.version=2;");
    ASSERT_EQ_STR(client_attrs("{\"name\":\"b\"}", &s), "dss_audit.client.name=b;");
    ASSERT_EQ_STR(client_attrs("[1]", &s), "");
    ASSERT_EQ_STR(client_attrs(NULL, &s), "");
    ASSERT_EQ_STR(client_attrs(big, &s),
                  "dss_audit.client.name=0000000000000000000000000000000000000000;"
                  "dss_audit.client.version=9;");
    ASSERT_EQ_STR(client_attrs("{\"name\":\"b\"}", &s), "dss_audit.client.name=b;");
}

/* The one message for a receiver's certificate that fails verification:
** the sink, the host, which problem, the TLS library's words, and what to
** do about it (--ca where it can help). */
TEST(tls_failure_message_names_host_problem_and_ca)
{
    char m[1024];
    sink_tls_explain("syslog+tls://logs.example:6514", "logs.example", SINK_TLS_UNKNOWN_CA,
                     NULL, "SSL certificate problem: unable to get local issuer certificate",
                     m, sizeof m);
    ASSERT_CONTAINS(m, "syslog+tls://logs.example:6514: ");
    ASSERT_CONTAINS(m, "the certificate of logs.example comes from an unknown CA");
    ASSERT_CONTAINS(m, "(SSL certificate problem: unable to get local issuer certificate)");
    ASSERT_CONTAINS(m, "no CA in the system's store signed it");
    ASSERT_CONTAINS(m, "--ca FILE");
    sink_tls_explain("https://h:1/x", "h", SINK_TLS_UNKNOWN_CA, "/etc/team-ca.pem", NULL, m,
                     sizeof m);
    ASSERT_CONTAINS(m, "the certificate of h comes from an unknown CA");
    ASSERT_CONTAINS(m, "the CA in --ca /etc/team-ca.pem did not sign it");
    sink_tls_explain("https://h:1/x", "h", SINK_TLS_NAME_MISMATCH, NULL, "no alternative name",
                     m, sizeof m);
    ASSERT_CONTAINS(m, "the certificate of h does not name it (a name mismatch)");
    ASSERT_CONTAINS(m, "--ca cannot change names");
    sink_tls_explain("https://h:1/x", "h", SINK_TLS_EXPIRED, "ca.pem", "certificate has expired",
                     m, sizeof m);
    ASSERT_CONTAINS(m, "the certificate of h has expired");
    ASSERT_CONTAINS(m, "(certificate has expired)");
    ASSERT_CONTAINS(m, "--ca cannot help");
    /* A message cut short by a small buffer is still a string. */
    char small[16];
    sink_tls_explain("https://h:1/x", "h", SINK_TLS_OTHER, NULL, NULL, small, sizeof small);
    ASSERT_EQ_INT(strlen(small), sizeof small - 1);
}

TEST(cursor_saves_loads_and_survives_reopening)
{
    char err[512], db[128], key[65], other[65];
    cursor *c = NULL;
    ASSERT(fresh_dir());
    snprintf(db, sizeof db, "%s/audit.db", dir);
    cursor_key("relp://h:2514", "log-a", key);
    cursor_key("relp://h:2515", "log-a", other);
    ASSERT(strcmp(key, other) != 0);
    cursor_key("relp://h:2514", "log-b", other);
    ASSERT(strcmp(key, other) != 0);
    /* Nothing kept yet: nothing is created to read. */
    ASSERT_EQ_INT(cursor_open_local(db, NULL, 0, &c, err, sizeof err), CURSOR_OK);
    ASSERT(c == NULL);
    ASSERT_EQ_INT(cursor_open_local(db, NULL, 1, &c, err, sizeof err), CURSOR_OK);
    ship_mark m = {.seq = 7}, got;
    snprintf(m.id, sizeof m.id, "id-7");
    snprintf(m.hash, sizeof m.hash, "%064d", 7);
    int found = 1;
    ASSERT_EQ_INT(cursor_load(c, "log-a", key, &got, &found, err, sizeof err), CURSOR_OK);
    ASSERT_EQ_INT(found, 0);
    ASSERT_EQ_INT(cursor_save(c, key, "relp://h:2514", "log-a", &m, err, sizeof err), CURSOR_OK);
    m.seq = 9;
    ASSERT_EQ_INT(cursor_save(c, key, "relp://h:2514", "log-a", &m, err, sizeof err), CURSOR_OK);
    cursor_close(c);
    ASSERT_EQ_INT(cursor_open_local(db, NULL, 0, &c, err, sizeof err), CURSOR_OK);
    ASSERT(c != NULL);
    ASSERT_EQ_INT(cursor_load(c, "log-a", key, &got, &found, err, sizeof err), CURSOR_OK);
    ASSERT_EQ_INT(found, 1);
    ASSERT_EQ_INT(got.seq, 9);
    ASSERT_EQ_STR(got.id, "id-7");
    ASSERT_EQ_STR(got.hash, m.hash);
    ASSERT_EQ_INT(strlen(got.saved_at), 27);
    cursor_close(c);
    struct stat st;
    char p[160];
    snprintf(p, sizeof p, "%s/audit.db.ship", dir);
    ASSERT(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);
}

static int count_rows(void *ctx, const ship_cursor_row *r)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

/* A shipper saves after every batch: each statement is prepared once per
** connection and run again, not prepared on every call; and what each call
** gives is still the newest (no read held open between calls). */
TEST(cursor_statements_prepared_once_per_connection)
{
    char err[512], db[128], key[65];
    cursor *c = NULL;
    ASSERT(fresh_dir());
    snprintf(db, sizeof db, "%s/audit.db", dir);
    cursor_key("relp://h:2514", "log-a", key);
    ASSERT_EQ_INT(cursor_open_local(db, NULL, 1, &c, err, sizeof err), CURSOR_OK);
    ASSERT_EQ_INT(cursor_testing_runs(c, "save"), 0);
    ship_mark m = {.seq = 0}, got;
    int found, rows;
    for (int i = 1; i <= 5; i++) {
        m.seq = i;
        snprintf(m.id, sizeof m.id, "id-%d", i);
        snprintf(m.hash, sizeof m.hash, "%064d", i);
        ASSERT_EQ_INT(cursor_save(c, key, "relp://h:2514", "log-a", &m, err, sizeof err),
                      CURSOR_OK);
        ASSERT_EQ_INT(cursor_load(c, "log-a", key, &got, &found, err, sizeof err), CURSOR_OK);
        ASSERT_EQ_INT(got.seq, i);
        rows = 0;
        ASSERT_EQ_INT(cursor_each(c, count_rows, &rows, err, sizeof err), CURSOR_OK);
        ASSERT_EQ_INT(rows, 1);
    }
    ASSERT_EQ_INT(cursor_testing_runs(c, "save"), 5);
    ASSERT_EQ_INT(cursor_testing_runs(c, "load"), 5);
    ASSERT_EQ_INT(cursor_testing_runs(c, "each"), 5);
    /* Another connection sees every save: none waits in an open read. */
    cursor *d = NULL;
    ASSERT_EQ_INT(cursor_open_local(db, NULL, 0, &d, err, sizeof err), CURSOR_OK);
    ASSERT_EQ_INT(cursor_load(d, "log-a", key, &got, &found, err, sizeof err), CURSOR_OK);
    ASSERT_EQ_INT(got.seq, 5);
    m.seq = 6;
    ASSERT_EQ_INT(cursor_save(c, key, "relp://h:2514", "log-a", &m, err, sizeof err), CURSOR_OK);
    ASSERT_EQ_INT(cursor_load(d, "log-a", key, &got, &found, err, sizeof err), CURSOR_OK);
    ASSERT_EQ_INT(got.seq, 6);
    cursor_close(d);
    cursor_close(c);
}

TEST(cursor_lock_is_exclusive_across_processes)
{
    char err[512], db[128], key[65];
    cursor *c = NULL;
    ASSERT(fresh_dir());
    snprintf(db, sizeof db, "%s/audit.db", dir);
    cursor_key("https://h/x", "log-a", key);
    ASSERT_EQ_INT(cursor_open_local(db, NULL, 1, &c, err, sizeof err), CURSOR_OK);
    ASSERT_EQ_INT(cursor_lock(c, key, err, sizeof err), CURSOR_OK);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        cursor *d = NULL;
        char e2[512];
        int rc = cursor_open_local(db, NULL, 1, &d, e2, sizeof e2) == CURSOR_OK &&
                 cursor_lock(d, key, e2, sizeof e2) == CURSOR_EBUSY &&
                 strstr(e2, "another ship process");
        _exit(rc ? 0 : 1);
    }
    int st;
    ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 0);
    cursor_close(c);
    /* Released with the cursor: another process can take it now. */
    pid = fork();
    if (pid == 0) {
        cursor *d = NULL;
        char e2[512];
        _exit(cursor_open_local(db, NULL, 1, &d, e2, sizeof e2) == CURSOR_OK &&
                      cursor_lock(d, key, e2, sizeof e2) == CURSOR_OK
                  ? 0
                  : 1);
    }
    ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 0);
}

/* A local trail of n entries through the store API; its log id into
** log_id. */
static int make_trail(const char *db, int n, char log_id[37])
{
    store *s = NULL;
    char err[STORE_ERRLEN];
    store_options o = {.path = db};
    if (store_open(&o, &s, err) != STORE_OK || store_begin(s, err) != STORE_OK) return -1;
    for (int i = 0; i < n; i++) {
        store_record r = {.event_type = "tool_call", .operation_name = "op", .args = "{}"};
        store_receipt rc;
        if (store_append(s, &r, &rc, err) != STORE_OK) return -1;
    }
    snprintf(log_id, 37, "%s", store_log_id(s));
    int rc = store_commit(s, err);
    store_close(s);
    return rc == STORE_OK ? 0 : -1;
}

static int count_cursor(void *ctx, const ship_cursor_info *c)
{
    ship_cursor_info *got = ctx;
    *got = *c;
    return 0;
}

TEST(ship_cursors_report_each_sink_and_its_lag)
{
    char err[512], db[128], log_id[37], key[65];
    cursor *c = NULL;
    ASSERT(fresh_dir());
    snprintf(db, sizeof db, "%s/audit.db", dir);
    ASSERT_EQ_INT(make_trail(db, 5, log_id), 0);
    ship_cursor_info got;
    memset(&got, 0, sizeof got);
    store *st = NULL;
    char serr[STORE_ERRLEN];
    store_options so = {.path = db, .readonly = 1};
    ASSERT_EQ_INT(store_open(&so, &st, serr), STORE_OK);
    ASSERT_EQ_INT(ship_cursors(st, db, NULL, count_cursor, &got, err, sizeof err), SHIP_OK);
    ASSERT_EQ_STR(got.sink, "");
    cursor_key("otlp+http://h:4318", log_id, key);
    ASSERT_EQ_INT(cursor_open_local(db, NULL, 1, &c, err, sizeof err), CURSOR_OK);
    ship_mark m = {.seq = 2};
    ASSERT_EQ_INT(cursor_save(c, key, "otlp+http://h:4318", log_id, &m, err, sizeof err),
                  CURSOR_OK);
    /* A cursor of another file in the same folder is not this log's. */
    m.seq = 1;
    ASSERT_EQ_INT(cursor_save(c, "other", "relp://h:1", "another-log", &m, err, sizeof err),
                  CURSOR_OK);
    cursor_close(c);
    ASSERT_EQ_INT(ship_cursors(st, db, NULL, count_cursor, &got, err, sizeof err), SHIP_OK);
    ASSERT_EQ_STR(got.sink, "otlp+http://h:4318");
    ASSERT_EQ_STR(got.log, store_log_name(st));
    ASSERT_EQ_INT(got.seq, 2);
    ASSERT_EQ_INT(got.lag, 3);
    store_close(st);
}

TEST(ship_refuses_what_it_cannot_do_before_sending)
{
    char err[512], db[128], log_id[37];
    ship_result r;
    ASSERT(fresh_dir());
    snprintf(db, sizeof db, "%s/audit.db", dir);
    ASSERT_EQ_INT(make_trail(db, 2, log_id), 0);
    ship_options o = {.from = db};
    ASSERT_EQ_INT(ship_run(&o, &r, err, sizeof err), SHIP_EUSAGE);
    ASSERT_CONTAINS(err, "needs a sink");
    const char *twice[] = {"otlp+http://127.0.0.1:9", "otlp+http://127.0.0.1:9"};
    o.to_list = twice;
    o.nto = 2;
    ASSERT_EQ_INT(ship_run(&o, &r, err, sizeof err), SHIP_EUSAGE);
    ASSERT_CONTAINS(err, "is named twice");
    o.nto = 0;
    o.to = "postgres://h2/db";
    o.from = "postgres://h/db";
    ASSERT_EQ_INT(ship_run(&o, &r, err, sizeof err), SHIP_EUSAGE);
    ASSERT_CONTAINS(err, "already in PostgreSQL");
    o.to = "otlp+http://127.0.0.1:9";
    /* Nothing listens on port 9 (discard) on loopback: without --follow,
    ** an unreachable sink fails the run, and its cursor stays put. */
    o.from = db;
    ASSERT_EQ_INT(ship_run(&o, &r, err, sizeof err), SHIP_EFAIL);
    ASSERT_CONTAINS(err, "otlp+http://127.0.0.1:9");
    ASSERT_EQ_INT(r.nsinks, 1);
    ASSERT_EQ_INT(r.sink[0].failed, 1);
    ASSERT_EQ_INT(r.sink[0].cursor, 0);
}

TEST(background_shipping_stops_when_asked)
{
    char err[512], db[128], log_id[37];
    ship_handle *h = NULL;
    ship_result r;
    ASSERT(fresh_dir());
    snprintf(db, sizeof db, "%s/audit.db", dir);
    ASSERT_EQ_INT(make_trail(db, 3, log_id), 0);
    /* A sink that never answers: the worker waits with backoff until
    ** ship_finish() stops it, which must be prompt. */
    ship_options o = {.from = db, .to = "otlp+http://127.0.0.1:9", .backoff_max_ms = 60000};
    ASSERT_EQ_INT(ship_start(&o, &h, err, sizeof err), SHIP_OK);
    ship_wake(h);
    usleep(300 * 1000);
    ASSERT_EQ_INT(ship_finish(h, 0, &r, err, sizeof err), SHIP_OK);
    ASSERT_EQ_INT(r.sink[0].failed, 0);
    ASSERT_EQ_INT(r.sink[0].cursor, 0);
}

/* ---- the read-ahead against a receiver that fails part-way -------------
** An OTLP receiver in this process answering each POST as told by
** answers[] (200, 400, or 503 with Retry-After: 1), 200 past the end; it
** keeps the first dss_audit.seq of each request. */

typedef struct otlp_recv {
    pthread_mutex_t mu;
    const int *answers;
    int nanswers;
    int requests;
    int64_t first_seq[64];
} otlp_recv;

typedef struct upload {
    char *p;
    size_t n;
} upload;

/* The value of the first dss_audit.seq attribute in an encoded request:
** KeyValue { key = "dss_audit.seq"; value = AnyValue { int_value = 3 } }. */
static int64_t first_seq_in(const char *p, size_t n)
{
    static const char key[] = "dss_audit.seq";
    for (size_t i = 0; i + sizeof key + 3 <= n; i++) {
        if (memcmp(p + i, key, sizeof key - 1) != 0) continue;
        const unsigned char *q = (const unsigned char *)p + i + sizeof key - 1;
        if (q[0] != 0x12 || q[2] != 0x18) return -1;
        uint64_t v = 0;
        q += 3;
        for (int shift = 0; (const char *)q < p + n; shift += 7, q++) {
            v |= (uint64_t)(*q & 0x7f) << shift;
            if (!(*q & 0x80)) return (int64_t)v;
        }
    }
    return -1;
}

static enum MHD_Result on_post(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **state)
{
    otlp_recv *r = cls;
    upload *u = *state;
    if (!u) {
        *state = calloc(1, sizeof *u);
        return *state ? MHD_YES : MHD_NO;
    }
    if (*size) {
        char *p = realloc(u->p, u->n + *size);
        if (!p) return MHD_NO;
        memcpy(p + u->n, data, *size);
        u->p = p;
        u->n += *size;
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&r->mu);
    int i = r->requests++, status = i < r->nanswers ? r->answers[i] : 200;
    if (i < 64) r->first_seq[i] = first_seq_in(u->p, u->n);
    pthread_mutex_unlock(&r->mu);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"",
                                                                MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/x-protobuf");
    if (status == 503) MHD_add_response_header(resp, "Retry-After", "1");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode code)
{
    upload *u = *state;
    if (u) free(u->p);
    free(u);
    *state = NULL;
}

/* The shipper reads batch k + 1 while k is sent; when k is refused, or
** must wait (503), what was read ahead is not what comes next: the cursor
** stays at the last acknowledged batch and the next run, or the retry,
** sends from there, in order. */
TEST(otlp_read_ahead_keeps_the_cursor_at_what_was_acknowledged)
{
    char err[512], db[128], log_id[37], url[64];
    ASSERT(fresh_dir());
    snprintf(db, sizeof db, "%s/audit.db", dir);
    ASSERT_EQ_INT(make_trail(db, 50, log_id), 0);
    static const int refuse_third[] = {200, 200, 400}, wait_once[] = {503};
    otlp_recv r = {.mu = PTHREAD_MUTEX_INITIALIZER, .answers = refuse_third, .nanswers = 3};
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_post, &r,
                         MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    ASSERT(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%u", info->port);
    ship_options o = {.from = db, .to = url, .batch = 10};
    ship_result res;
    int rc = ship_run(&o, &res, err, sizeof err);
    ASSERT_EQ_INT(rc, SHIP_EFAIL);
    ASSERT_CONTAINS(err, "HTTP 400");
    ASSERT_EQ_INT(res.sink[0].cursor, 20);
    ASSERT_EQ_INT(res.shipped, 20);
    pthread_mutex_lock(&r.mu);
    ASSERT_EQ_INT(r.requests, 3);
    ASSERT_EQ_INT(r.first_seq[0], 1);
    ASSERT_EQ_INT(r.first_seq[1], 11);
    ASSERT_EQ_INT(r.first_seq[2], 21);
    r.requests = 0;
    r.answers = wait_once;
    r.nanswers = 1;
    pthread_mutex_unlock(&r.mu);
    rc = ship_run(&o, &res, err, sizeof err);
    ASSERT_EQ_INT(rc, SHIP_OK);
    ASSERT_EQ_INT(res.sink[0].cursor, 50);
    ASSERT_EQ_INT(res.shipped, 30);
    pthread_mutex_lock(&r.mu);
    ASSERT_EQ_INT(r.requests, 4);
    ASSERT_EQ_INT(r.first_seq[0], 21); /* 503: read ahead 31..40 is dropped */
    ASSERT_EQ_INT(r.first_seq[1], 21);
    ASSERT_EQ_INT(r.first_seq[2], 31);
    ASSERT_EQ_INT(r.first_seq[3], 41);
    pthread_mutex_unlock(&r.mu);
    MHD_stop_daemon(d);
}

TEST_MAIN(
    TEST_ENTRY(describe_masks_passwords_and_query_values)
    TEST_ENTRY(url_parse_takes_hosts_ports_ipv6_and_paths)
    TEST_ENTRY(url_parse_refuses_credentials_bad_ports_and_non_urls)
    TEST_ENTRY(otlp_partial_success_counts_stay_within_the_batch)
    TEST_ENTRY(receiver_messages_are_printable_utf8_and_bounded)
    TEST_ENTRY(hec_codes_and_ack_ids_that_hec_never_sends_are_refused)
    TEST_ENTRY(url_parse_refuses_spaces_control_characters_and_signed_ports)
    TEST_ENTRY(each_scheme_picks_its_sink)
    TEST_ENTRY(formats_are_checked_against_the_sink)
    TEST_ENTRY(secrets_are_required_where_a_sink_needs_one)
    TEST_ENTRY(syslog_message_is_rfc5424_with_escaped_structured_data)
    TEST_ENTRY(syslog_severity_rises_for_errors_and_security_events)
    TEST_ENTRY(otlp_encoding_is_byte_identical_to_the_nested_encoding)
    TEST_ENTRY(otlp_identity_attributes_follow_each_row)
    TEST_ENTRY(tls_failure_message_names_host_problem_and_ca)
    TEST_ENTRY(cursor_saves_loads_and_survives_reopening)
    TEST_ENTRY(cursor_statements_prepared_once_per_connection)
    TEST_ENTRY(cursor_lock_is_exclusive_across_processes)
    TEST_ENTRY(ship_cursors_report_each_sink_and_its_lag)
    TEST_ENTRY(ship_refuses_what_it_cannot_do_before_sending)
    TEST_ENTRY(background_shipping_stops_when_asked)
    TEST_ENTRY(otlp_read_ahead_keeps_the_cursor_at_what_was_acknowledged)
)
