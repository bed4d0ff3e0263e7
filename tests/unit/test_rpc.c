/*
** test_rpc.c: JSON-RPC 2.0 envelopes (src/protocol/rpc.h).
*/
#include "test.h"

#include <cjson/cJSON.h>

#include "protocol/rpc.h"

/* The outcome of parsing one line: its kind, the message (freed by
** done()), and the error reply for invalid lines. */
typedef struct parsed {
    rpc_kind kind;
    rpc_message msg;
    char *reply;
} parsed;

static parsed parse_line(const char *line)
{
    parsed p;
    memset(&p, 0, sizeof p);
    p.kind = rpc_parse(line, strlen(line), NULL, &p.msg, &p.reply);
    return p;
}

static void done(parsed *p)
{
    if (p->kind != RPC_KIND_INVALID) rpc_message_free(&p->msg);
    free(p->reply);
    memset(p, 0, sizeof *p);
}

/* The error code in a reply line, or 0 when it has none. */
static int reply_code(const char *reply)
{
    cJSON *r = reply ? cJSON_Parse(reply) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    int code = cJSON_IsNumber(c) ? c->valueint : 0;
    cJSON_Delete(r);
    return code;
}

/* 1 when line is INVALID with an error reply of `code` whose text contains
** every non-NULL needle. */
static int invalid_with(const char *line, int code, const char *n1,
                        const char *n2)
{
    parsed p = parse_line(line);
    int ok = p.kind == RPC_KIND_INVALID && p.reply &&
             reply_code(p.reply) == code && !strchr(p.reply, '\n') &&
             (!n1 || strstr(p.reply, n1)) && (!n2 || strstr(p.reply, n2));
    if (!ok)
        fprintf(stderr, "rpc_parse(%s): kind %d, reply %s; want %d with %s %s\n",
                line, (int)p.kind, p.reply ? p.reply : "(null)", code,
                n1 ? n1 : "", n2 ? n2 : "");
    done(&p);
    return ok;
}

/* 1 when the request with raw id text `raw` parses, keeps the id byte for
** byte, and a result reply for it holds exactly "id":<raw>. */
static int id_echoed(const char *raw)
{
    char line[256], want[128];
    snprintf(line, sizeof line,
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", raw);
    snprintf(want, sizeof want, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", raw);
    parsed p = parse_line(line);
    char *reply = NULL;
    int ok = p.kind == RPC_KIND_REQUEST && p.msg.id && strcmp(p.msg.id, raw) == 0;
    if (ok) {
        reply = rpc_reply_result(p.msg.id, cJSON_CreateObject());
        ok = reply && strcmp(reply, want) == 0;
    }
    if (!ok)
        fprintf(stderr, "id %s: kind %d, msg.id %s, reply %s\n", raw, (int)p.kind,
                p.msg.id ? p.msg.id : "(null)", reply ? reply : "(null)");
    free(reply);
    done(&p);
    return ok;
}

TEST(request_parses)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"log_event\"}}");
    int kind = p.kind;
    int ok = kind == RPC_KIND_REQUEST && p.msg.method &&
             strcmp(p.msg.method, "tools/call") == 0 && cJSON_IsObject(p.msg.params) &&
             cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p.msg.params, "name")) &&
             p.msg.id && strcmp(p.msg.id, "7") == 0 && p.msg.id_text &&
             strcmp(p.msg.id_text, "7") == 0 && p.reply == NULL;
    done(&p);
    ASSERT_EQ_INT(kind, RPC_KIND_REQUEST);
    ASSERT(ok);
}

TEST(request_without_params)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    int ok = p.kind == RPC_KIND_REQUEST && p.msg.params == NULL &&
             strcmp(p.msg.method, "ping") == 0;
    done(&p);
    ASSERT(ok);
}

TEST(request_with_array_params)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":[1,2]}");
    int ok = p.kind == RPC_KIND_REQUEST && cJSON_IsArray(p.msg.params);
    done(&p);
    ASSERT(ok);
}

TEST(id_echo_one_point_zero)
{
    ASSERT(id_echoed("1.0"));
}

TEST(id_echo_big_integer)
{
    ASSERT(id_echoed("12345678901234567890"));
}

TEST(id_echo_negative_zero)
{
    ASSERT(id_echoed("-0"));
}

TEST(id_echo_exponent)
{
    ASSERT(id_echoed("1e3"));
    ASSERT(id_echoed("1E+2"));
}

TEST(id_echo_plain_integers)
{
    ASSERT(id_echoed("0"));
    ASSERT(id_echoed("-17"));
    ASSERT(id_echoed("9007199254740993"));
}

TEST(id_echo_with_whitespace_around)
{
    parsed p = parse_line("{ \"jsonrpc\" : \"2.0\" , \"id\" :\t 1.0 \n, \"method\":\"m\"}");
    int ok = p.kind == RPC_KIND_REQUEST && p.msg.id && strcmp(p.msg.id, "1.0") == 0;
    if (!ok) fprintf(stderr, "id %s\n", p.msg.id ? p.msg.id : "(null)");
    done(&p);
    ASSERT(ok);
}

TEST(id_found_after_tricky_strings)
{
    /* "id" appearing inside strings and nested objects before the real
    ** member must not be mistaken for it. */
    parsed p = parse_line(
        "{\"jsonrpc\":\"2.0\",\"method\":\"\\\"id\\\":5,{\","
        "\"params\":{\"id\":6,\"x\":[{\"id\":7}],\"s\":\"}\"},\"id\":8.0}");
    int ok = p.kind == RPC_KIND_REQUEST && p.msg.id && strcmp(p.msg.id, "8.0") == 0;
    if (!ok) fprintf(stderr, "kind %d id %s\n", (int)p.kind, p.msg.id ? p.msg.id : "(null)");
    done(&p);
    ASSERT(ok);
}

TEST(string_id)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":\"abc-1\",\"method\":\"m\"}");
    char *reply = NULL;
    int ok = p.kind == RPC_KIND_REQUEST && p.msg.id &&
             strcmp(p.msg.id, "\"abc-1\"") == 0 && p.msg.id_text &&
             strcmp(p.msg.id_text, "abc-1") == 0;
    if (ok) {
        reply = rpc_reply_result(p.msg.id, cJSON_CreateTrue());
        ok = reply && strcmp(reply, "{\"jsonrpc\":\"2.0\",\"id\":\"abc-1\",\"result\":true}") == 0;
    }
    free(reply);
    done(&p);
    ASSERT(ok);
}

TEST(string_id_with_escapes_stays_json)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":\"a\\nb\\\"c\",\"method\":\"m\"}");
    char *reply = NULL;
    int ok = p.kind == RPC_KIND_REQUEST && p.msg.id_text &&
             strcmp(p.msg.id_text, "a\nb\"c") == 0;
    if (ok) {
        reply = rpc_reply_result(p.msg.id, cJSON_CreateNull());
        ok = reply && !strchr(reply, '\n') &&
             strstr(reply, "\"id\":\"a\\nb\\\"c\"") != NULL;
    }
    free(reply);
    done(&p);
    ASSERT(ok);
}

TEST(notification_has_no_id)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    int ok = p.kind == RPC_KIND_NOTIFICATION && p.msg.id == NULL &&
             p.msg.id_text == NULL && p.msg.method &&
             strcmp(p.msg.method, "notifications/initialized") == 0 && p.reply == NULL;
    done(&p);
    ASSERT(ok);
}

TEST(response_result_is_response)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}");
    rpc_kind k = p.kind;
    done(&p);
    ASSERT_EQ_INT(k, RPC_KIND_RESPONSE);
}

TEST(response_error_is_response)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":{\"code\":-1,\"message\":\"m\"}}");
    rpc_kind k = p.kind;
    done(&p);
    ASSERT_EQ_INT(k, RPC_KIND_RESPONSE);
}

/* JSON-RPC 2.0 answers a request whose id it could not read with "id":
** null, and MCP's schema lets an error response leave its id out: both are
** responses naming no request, never answered, not invalid input. */
TEST(error_response_naming_no_request_is_a_response_without_id)
{
    static const char *const lines[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}",
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"no id\"}}",
    };
    for (int i = 0; i < 2; i++) {
        parsed p = parse_line(lines[i]);
        int ok = p.kind == RPC_KIND_RESPONSE && p.msg.id == NULL && p.reply == NULL;
        done(&p);
        if (!ok) TEST_FAIL_("%s was not taken for a response without an id", lines[i]);
    }
    /* Not for a result, an error that is no object, or a request. */
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}", RPC_INVALID_REQUEST,
                        "id", NULL));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"error\":\"x\"}", RPC_INVALID_REQUEST, "method",
                        NULL));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\",\"error\":{}}",
                        RPC_INVALID_REQUEST, "id", NULL));
    /* It is held to the other rules all the same. */
    ASSERT(invalid_with("{\"jsonrpc\":\"1.0\",\"error\":{\"code\":1,\"message\":\"m\"}}",
                        RPC_INVALID_REQUEST, "jsonrpc", NULL));
}

TEST(bad_json_parse_error)
{
    ASSERT(invalid_with("{", RPC_PARSE_ERROR, "\"id\":null", "byte"));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,", RPC_PARSE_ERROR, "\"id\":null", NULL));
    ASSERT(invalid_with("", RPC_PARSE_ERROR, "\"id\":null", NULL));
    ASSERT(invalid_with("not json", RPC_PARSE_ERROR, "\"id\":null", NULL));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"m\"}",
                        RPC_PARSE_ERROR, "\"id\":null", NULL));
}

TEST(missing_jsonrpc_invalid)
{
    ASSERT(invalid_with("{\"id\":1,\"method\":\"m\"}", RPC_INVALID_REQUEST, "\"id\":1", "jsonrpc"));
}

TEST(jsonrpc_1_0_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}",
                        RPC_INVALID_REQUEST, "jsonrpc", NULL));
    ASSERT(invalid_with("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"m\"}",
                        RPC_INVALID_REQUEST, "jsonrpc", NULL));
}

TEST(missing_method_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_INVALID_REQUEST, "method", NULL));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\"}", RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(method_not_string_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
                        RPC_INVALID_REQUEST, "method", "\"id\":1"));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}",
                        RPC_INVALID_REQUEST, "method", NULL));
}

TEST(params_string_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"x\"}",
                        RPC_INVALID_REQUEST, "params", NULL));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":3}",
                        RPC_INVALID_REQUEST, "params", NULL));
}

TEST(id_null_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}",
                        RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(id_true_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"m\"}",
                        RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(id_fraction_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"m\"}",
                        RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(id_object_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"m\"}",
                        RPC_INVALID_REQUEST, "\"id\":null", NULL));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}",
                        RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(non_object_message_invalid)
{
    ASSERT(invalid_with("5", RPC_INVALID_REQUEST, "\"id\":null", NULL));
    ASSERT(invalid_with("\"hello\"", RPC_INVALID_REQUEST, "\"id\":null", NULL));
    ASSERT(invalid_with("null", RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(empty_batch_invalid)
{
    ASSERT(invalid_with("[]", RPC_INVALID_REQUEST, "\"id\":null", NULL));
    ASSERT(invalid_with(" [ ] ", RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(non_empty_array_is_batch)
{
    parsed p = parse_line("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},"
                          "{\"jsonrpc\":\"2.0\",\"method\":\"b\"}]");
    int ok = p.kind == RPC_KIND_BATCH && cJSON_IsArray(p.msg.root) &&
             cJSON_GetArraySize(p.msg.root) == 2 && p.reply == NULL;
    done(&p);
    ASSERT(ok);
}

TEST(batch_element_checked_with_rpc_check)
{
    cJSON *item = cJSON_Parse("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"a\"}");
    ASSERT(item);
    rpc_message msg;
    char *reply = NULL;
    rpc_kind k = rpc_check(item, &msg, &reply);
    int ok = k == RPC_KIND_REQUEST && msg.id && strcmp(msg.id, "4") == 0 &&
             msg.method && strcmp(msg.method, "a") == 0 && !reply;
    if (k != RPC_KIND_INVALID) rpc_message_free(&msg);
    free(reply);
    ASSERT(ok);

    item = cJSON_Parse("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":7}");
    ASSERT(item);
    k = rpc_check(item, &msg, &reply);
    ok = k == RPC_KIND_INVALID && reply && reply_code(reply) == RPC_INVALID_REQUEST;
    free(reply);
    ASSERT(ok);
}

TEST(duplicate_top_level_key_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"method\":\"b\"}",
                        RPC_INVALID_REQUEST, "duplicate", "'method'"));
}

TEST(duplicate_nested_key_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
                        "\"params\":{\"arguments\":{\"zeta\":1,\"q\":0,\"zeta\":2}}}",
                        RPC_INVALID_REQUEST, "duplicate", "'zeta'"));
}

TEST(duplicate_key_inside_array_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
                        "\"params\":{\"list\":[1,[{\"k\":1,\"z\":2,\"k\":3}]]}}",
                        RPC_INVALID_REQUEST, "duplicate", "'k'"));
}

/* Objects of up to 16 keys are checked pair by pair, larger ones sorted:
** a duplicate is found either way, and distinct keys pass either way. */
TEST(duplicate_key_in_small_and_large_objects)
{
    char small[512], large[512];
    int n = snprintf(small, sizeof small, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
                                          "\"params\":{");
    int m = snprintf(large, sizeof large, "%s", small);
    for (int i = 0; i < 16; i++) n += snprintf(small + n, sizeof small - n, "\"k%d\":%d,", i, i);
    for (int i = 0; i < 20; i++) m += snprintf(large + m, sizeof large - m, "\"k%d\":%d,", i, i);
    /* Each ends in a key that repeats one in the middle. */
    snprintf(small + n, sizeof small - n, "\"k7\":0}}");
    snprintf(large + m, sizeof large - m, "\"k13\":0}}");
    ASSERT(invalid_with(small, RPC_INVALID_REQUEST, "duplicate", "'k7'"));
    ASSERT(invalid_with(large, RPC_INVALID_REQUEST, "duplicate", "'k13'"));
    /* The same objects without the repeated key are valid requests. */
    small[n - 1] = '}', small[n] = '}', small[n + 1] = '\0';
    large[m - 1] = '}', large[m] = '}', large[m + 1] = '\0';
    const char *clean[2] = {small, large};
    for (int i = 0; i < 2; i++) {
        parsed p = parse_line(clean[i]);
        int ok = p.kind == RPC_KIND_REQUEST && p.reply == NULL;
        done(&p);
        ASSERT(ok);
    }
}

TEST(duplicate_escaped_key_invalid)
{
    /* "\u0061" and "a" are the same key once decoded. */
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
                        "\"params\":{\"a\":1,\"\\u0061\":2}}",
                        RPC_INVALID_REQUEST, "duplicate", "'a'"));
}

TEST(same_key_in_sibling_objects_ok)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
                          "\"params\":{\"a\":{\"k\":1},\"b\":{\"k\":2},\"c\":[{\"k\":3},{\"k\":4}]}}");
    rpc_kind k = p.kind;
    done(&p);
    ASSERT_EQ_INT(k, RPC_KIND_REQUEST);
}

TEST(huge_number_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"x\":1e400}}",
                        RPC_INVALID_REQUEST, "too large", NULL));
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":[-1e400]}",
                        RPC_INVALID_REQUEST, "too large", NULL));
}

TEST(huge_id_invalid)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"m\"}",
                        RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(escaped_id_key_found)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"\\u0069d\":1.0,\"method\":\"m\"}");
    char *reply = NULL;
    int ok = p.kind == RPC_KIND_REQUEST && p.msg.id && strcmp(p.msg.id, "1.0") == 0;
    if (ok) {
        reply = rpc_reply_result(p.msg.id, cJSON_CreateObject());
        ok = reply && strstr(reply, "\"id\":1.0,") != NULL;
    }
    if (!ok) fprintf(stderr, "kind %d id %s\n", (int)p.kind, p.msg.id ? p.msg.id : "(null)");
    free(reply);
    done(&p);
    ASSERT(ok);
}

TEST(escaped_string_id_key_found)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"i\\u0064\":\"s\",\"method\":\"m\"}");
    int ok = p.kind == RPC_KIND_REQUEST && p.msg.id && strcmp(p.msg.id, "\"s\"") == 0;
    done(&p);
    ASSERT(ok);
}

/* 1 when ids a and b (JSON texts) get the same key exactly when want
** says they should. */
static int same_key(const char *a, const char *b, int want)
{
    char *ka = rpc_id_key(a, strlen(a)), *kb = rpc_id_key(b, strlen(b));
    int ok = ka && kb && (strcmp(ka, kb) == 0) == want;
    if (!ok)
        fprintf(stderr, "ids %s and %s: keys %s and %s, want them %s\n", a, b,
                ka ? ka : "(null)", kb ? kb : "(null)", want ? "equal" : "different");
    free(ka);
    free(kb);
    return ok;
}

TEST(id_keys_of_numbers_equal_by_exact_value)
{
    ASSERT(same_key("1", "1.0", 1));
    ASSERT(same_key("1", "1e0", 1));
    ASSERT(same_key("1", "10e-1", 1));
    ASSERT(same_key("1", "0.1E+1", 1));
    ASSERT(same_key("100", "1e2", 1));
    ASSERT(same_key("100", "1.00e2", 1));
    ASSERT(same_key("-17", "-1.7e1", 1));
    ASSERT(same_key("0", "-0", 1));
    ASSERT(same_key("0", "0.000e99", 1));
    ASSERT(same_key(" 1.0\t", "1", 1));
    ASSERT(same_key("9007199254740993", "9007199254740992", 0));
    ASSERT(same_key("12345678901234567890", "12345678901234567891", 0));
    ASSERT(same_key("1e-400", "0", 0));
    ASSERT(same_key("1", "-1", 0));
    ASSERT(same_key("1", "10", 0));
    ASSERT(same_key("15e-1", "1.5", 1));
}

/* Exponents past what an int64 holds are added to exactly, as digits. */
TEST(id_keys_of_numbers_with_huge_exponents_exact)
{
    ASSERT(same_key("1e1000000000000000000", "10e999999999999999999", 1));
    ASSERT(same_key("1e-1000000000000000000", "0.1e-999999999999999999", 1));
    ASSERT(same_key("1e100000000000000000000", "100e99999999999999999998", 1));
    ASSERT(same_key("1e99999999999999999997", "0.001e100000000000000000000", 1));
    ASSERT(same_key("1e-99999999999999999997", "1000e-100000000000000000000", 1));
    ASSERT(same_key("1e99999999999999999999", "1e99999999999999999998", 0));
    ASSERT(same_key("1e0000000000000000000000001", "10", 1));
}

TEST(id_keys_of_strings_equal_by_decoded_characters)
{
    ASSERT(same_key("\"a\"", "\"\\u0061\"", 1));
    ASSERT(same_key("\"a/b\"", "\"a\\/b\"", 1));
    ASSERT(same_key("\"\u00e9\"", "\"\\u00e9\"", 1));
    ASSERT(same_key("\"a\"", "\"A\"", 0));
    ASSERT(same_key("\"1\"", "1", 0));
    ASSERT(same_key("\"null\"", "null", 0));
}

/* A batch's elements as they were written, and the members of each. */
TEST(raw_elements_and_members_as_written)
{
    const char *text = " [ {\"id\":1.0,\"x\":[1,{\"id\":2}]} ,\"s,]\", 7e0 ,{\"\\u0069d\":\"q\"}]";
    const char *want[] = {"{\"id\":1.0,\"x\":[1,{\"id\":2}]}", "\"s,]\"", "7e0",
                          "{\"\\u0069d\":\"q\"}"};
    const char *at = NULL, *el;
    size_t n, k = 0;
    while ((el = rpc_raw_element(text, strlen(text), &at, &n))) {
        ASSERT(k < 4);
        ASSERT_EQ_INT(n, strlen(want[k]));
        ASSERT(memcmp(el, want[k], n) == 0);
        k++;
    }
    ASSERT_EQ_INT(k, 4);
    size_t vn;
    const char *v = rpc_raw_member(want[0], strlen(want[0]), "id", &vn);
    ASSERT(v && vn == 3 && memcmp(v, "1.0", 3) == 0);
    v = rpc_raw_member(want[3], strlen(want[3]), "id", &vn);
    ASSERT(v && vn == 3 && memcmp(v, "\"q\"", 3) == 0);
    ASSERT(!rpc_raw_member(want[0], strlen(want[0]), "y", &vn));
    at = NULL;
    ASSERT(!rpc_raw_element("[ ]", 3, &at, &n));
}

TEST(nul_escape_invalid_request)
{
    ASSERT(invalid_with("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\\u0000x\"}",
                        RPC_INVALID_REQUEST, "U+0000", NULL));
}

TEST(depth_limit_invalid_request)
{
    const char *line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"a\":[[1]]}}";
    rpc_limits lim = {.max_depth = 3};
    rpc_message msg;
    char *reply = NULL;
    rpc_kind k = rpc_parse(line, strlen(line), &lim, &msg, &reply);
    int ok = k == RPC_KIND_INVALID && reply && reply_code(reply) == RPC_INVALID_REQUEST;
    free(reply);
    ASSERT(ok);
    lim.max_depth = 4;
    reply = NULL;
    k = rpc_parse(line, strlen(line), &lim, &msg, &reply);
    if (k != RPC_KIND_INVALID) rpc_message_free(&msg);
    free(reply);
    ASSERT_EQ_INT(k, RPC_KIND_REQUEST);
}

TEST(default_depth_limit_applies)
{
    /* 100 nested arrays exceed the default of 64. */
    char line[512];
    int n = snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":");
    for (int i = 0; i < 100; i++) line[n++] = '[';
    for (int i = 0; i < 100; i++) line[n++] = ']';
    line[n++] = '}';
    line[n] = '\0';
    ASSERT(invalid_with(line, RPC_INVALID_REQUEST, "\"id\":null", NULL));
}

TEST(replies_are_single_lines)
{
    /* Whitespace newlines between tokens, and escaped newlines inside
    ** strings, keys and values never reach the reply as raw newlines. */
    ASSERT(invalid_with("{\n\"jsonrpc\":\"2.0\",\n\"id\":1,\n\"method\":\"m\",\n"
                        "\"params\":{\"a\\nb\":1,\"a\\nb\":2}\n}",
                        RPC_INVALID_REQUEST, "duplicate", "\\n"));
    ASSERT(invalid_with("{\n\"id\":\n2\n}\n", RPC_INVALID_REQUEST, "\"id\":2", NULL));
    char *r = rpc_reply_result("1", cJSON_CreateString("line1\nline2\r\n"));
    int ok = r && !strchr(r, '\n') && !strchr(r, '\r');
    free(r);
    ASSERT(ok);
    r = rpc_reply_error("1", RPC_INTERNAL_ERROR, "two\nlines", NULL);
    ok = r && !strchr(r, '\n') && strstr(r, "two\\nlines");
    free(r);
    ASSERT(ok);
}

TEST(reply_result_exact)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "k", "v");
    char *r = rpc_reply_result("42", res);
    int ok = r && strcmp(r, "{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{\"k\":\"v\"}}") == 0;
    if (!ok) fprintf(stderr, "got %s\n", r ? r : "(null)");
    free(r);
    ASSERT(ok);
}

TEST(reply_result_null_id)
{
    char *r = rpc_reply_result(NULL, cJSON_CreateObject());
    int ok = r && strcmp(r, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}") == 0;
    free(r);
    ASSERT(ok);
}

TEST(reply_error_with_data)
{
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "field", "user_id");
    char *r = rpc_reply_error("\"req-1\"", RPC_INVALID_PARAMS, "bad params", data);
    int ok = r && strcmp(r, "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"error\":"
                            "{\"code\":-32602,\"message\":\"bad params\","
                            "\"data\":{\"field\":\"user_id\"}}}") == 0;
    if (!ok) fprintf(stderr, "got %s\n", r ? r : "(null)");
    free(r);
    ASSERT(ok);
}

TEST(reply_error_without_data)
{
    char *r = rpc_reply_error(NULL, RPC_METHOD_NOT_FOUND, "no such method", NULL);
    int ok = r && strcmp(r, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
                            "{\"code\":-32601,\"message\":\"no such method\"}}") == 0;
    if (!ok) fprintf(stderr, "got %s\n", r ? r : "(null)");
    free(r);
    ASSERT(ok);
}

TEST(message_free_twice_is_safe)
{
    parsed p = parse_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}");
    ASSERT_EQ_INT(p.kind, RPC_KIND_REQUEST);
    rpc_message_free(&p.msg);
    rpc_message_free(&p.msg);
    rpc_message_free(NULL);
    ASSERT(p.msg.root == NULL && p.msg.id == NULL);
}

TEST_MAIN(
    TEST_ENTRY(request_parses)
    TEST_ENTRY(request_without_params)
    TEST_ENTRY(request_with_array_params)
    TEST_ENTRY(id_echo_one_point_zero)
    TEST_ENTRY(id_echo_big_integer)
    TEST_ENTRY(id_echo_negative_zero)
    TEST_ENTRY(id_echo_exponent)
    TEST_ENTRY(id_echo_plain_integers)
    TEST_ENTRY(id_echo_with_whitespace_around)
    TEST_ENTRY(id_found_after_tricky_strings)
    TEST_ENTRY(string_id)
    TEST_ENTRY(string_id_with_escapes_stays_json)
    TEST_ENTRY(notification_has_no_id)
    TEST_ENTRY(response_result_is_response)
    TEST_ENTRY(response_error_is_response)
    TEST_ENTRY(error_response_naming_no_request_is_a_response_without_id)
    TEST_ENTRY(bad_json_parse_error)
    TEST_ENTRY(missing_jsonrpc_invalid)
    TEST_ENTRY(jsonrpc_1_0_invalid)
    TEST_ENTRY(missing_method_invalid)
    TEST_ENTRY(method_not_string_invalid)
    TEST_ENTRY(params_string_invalid)
    TEST_ENTRY(id_null_invalid)
    TEST_ENTRY(id_true_invalid)
    TEST_ENTRY(id_fraction_invalid)
    TEST_ENTRY(id_object_invalid)
    TEST_ENTRY(non_object_message_invalid)
    TEST_ENTRY(empty_batch_invalid)
    TEST_ENTRY(non_empty_array_is_batch)
    TEST_ENTRY(batch_element_checked_with_rpc_check)
    TEST_ENTRY(duplicate_top_level_key_invalid)
    TEST_ENTRY(duplicate_key_in_small_and_large_objects)
    TEST_ENTRY(duplicate_nested_key_invalid)
    TEST_ENTRY(duplicate_key_inside_array_invalid)
    TEST_ENTRY(duplicate_escaped_key_invalid)
    TEST_ENTRY(same_key_in_sibling_objects_ok)
    TEST_ENTRY(huge_number_invalid)
    TEST_ENTRY(huge_id_invalid)
    TEST_ENTRY(escaped_id_key_found)
    TEST_ENTRY(escaped_string_id_key_found)
    TEST_ENTRY(id_keys_of_numbers_equal_by_exact_value)
    TEST_ENTRY(id_keys_of_numbers_with_huge_exponents_exact)
    TEST_ENTRY(id_keys_of_strings_equal_by_decoded_characters)
    TEST_ENTRY(raw_elements_and_members_as_written)
    TEST_ENTRY(nul_escape_invalid_request)
    TEST_ENTRY(depth_limit_invalid_request)
    TEST_ENTRY(default_depth_limit_applies)
    TEST_ENTRY(replies_are_single_lines)
    TEST_ENTRY(reply_result_exact)
    TEST_ENTRY(reply_result_null_id)
    TEST_ENTRY(reply_error_with_data)
    TEST_ENTRY(reply_error_without_data)
    TEST_ENTRY(message_free_twice_is_safe)
)
