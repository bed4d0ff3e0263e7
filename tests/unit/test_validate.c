/*
** test_validate.c: one case per behaviour of the schema validator, plus one
** case per real schema in schemas/ showing that it accepts a valid instance
** and rejects an invalid one with the expected message.
**
** The real schemas are read from the directory named by DSS_SCHEMA_DIR,
** which CTest sets; a relative fallback would depend on where the binary
** happens to be run from, so a missing variable fails the case instead.
** Helpers parse, validate and free before any ASSERT runs, so a passing
** run leaks nothing and valgrind stays quiet.
*/
#include "test.h"

#include <math.h>

#include "tools/validate.h"

#define ERRLEN 512

/* Validate instance text against schema text.  Returns what
** validate_instance returns, or -99 (with a note in err) when either text
** is not JSON, which would be a mistake in the test itself. */
static int check(const char *schema_text, const char *instance_text,
                 char *err, size_t errlen)
{
    cJSON *schema = cJSON_Parse(schema_text);
    cJSON *instance = cJSON_Parse(instance_text);
    int rc;

    if (!schema || !instance) {
        snprintf(err, errlen, "bad test JSON");
        rc = -99;
    } else {
        rc = validate_instance(schema, instance, err, errlen);
    }
    cJSON_Delete(schema);
    cJSON_Delete(instance);
    return rc;
}

/* Read $DSS_SCHEMA_DIR/name into a malloc'd string, or return NULL with a
** note in err. */
static char *read_schema_file(const char *name, char *err, size_t errlen)
{
    const char *dir = getenv("DSS_SCHEMA_DIR");
    char path[4096];
    FILE *f;
    char *buf = NULL;
    long size;

    if (!dir) {
        snprintf(err, errlen, "DSS_SCHEMA_DIR is not set");
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s in DSS_SCHEMA_DIR", name);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
        if (fread(buf, 1, (size_t)size, f) == (size_t)size) {
            buf[size] = '\0';
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf) snprintf(err, errlen, "cannot read %s in DSS_SCHEMA_DIR", name);
    return buf;
}

/* Validate instance text against a schema file from schemas/. */
static int check_file(const char *name, const char *instance_text, char *err,
                      size_t errlen)
{
    char *schema_text = read_schema_file(name, err, errlen);
    if (!schema_text) return -99;
    int rc = check(schema_text, instance_text, err, errlen);
    free(schema_text);
    return rc;
}

/* An audit entry as the output schemas describe it, with seq and hash left
** open so one text can be made valid or invalid in either place. */
#define ENTRY(seq, hash)                                                     \
    "{\"id\":\"6f1c2f0e-6a43-4c55-9d1e-0a8f2b9f3c11\",\"seq\":" seq          \
    ",\"event_type\":\"project_delete\",\"operation_name\":\"delete_project\"," \
    "\"operation_id\":null,\"user_id\":\"alice\",\"project_id\":\"p-1\","     \
    "\"args\":{\"project_id\":\"p-1\"},\"result\":{\"ok\":true},"            \
    "\"error\":null,\"before_state\":{\"status\":\"active\"},"               \
    "\"after_state\":null,\"created_at\":\"2026-11-27T21:58:05.123456Z\","   \
    "\"client\":{\"name\":\"claude-code\",\"version\":\"1.0.0\"},"           \
    "\"prev_hash\":\"0000\",\"hash\":" hash ",\"log_id\":\"0193a4f2-5b6c-7d8e-9f00-112233445566\"," \
    "\"log\":\"laptop-7\"}"

#define GOOD_ENTRY ENTRY("1", "\"9f86d081884c7d65\"")

/* A schema whose "n" definition nests itself under "c" without end. */
#define RECURSIVE_SCHEMA                                                     \
    "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":"                 \
    "{\"c\":{\"$ref\":\"#/$defs/n\"}}}},\"$ref\":\"#/$defs/n\"}"

/* ---- Keyword behaviour ------------------------------------------------- */

TEST(type_integer_rejects_fraction)
{
    char err[ERRLEN];
    const char *schema = "{\"properties\":{\"n\":{\"type\":\"integer\"}}}";
    int ok = check(schema, "{\"n\":3.0}", err, sizeof err);
    int bad = check(schema, "{\"n\":3.5}", err, sizeof err);
    ASSERT_EQ_INT(ok, 0);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'n' must be an integer");
}

TEST(type_integer_rejects_non_finite)
{
    char err[ERRLEN];
    cJSON *schema = cJSON_Parse("{\"type\":\"integer\"}");
    cJSON *inf = cJSON_CreateNumber(INFINITY);
    int rc = validate_instance(schema, inf, err, sizeof err);
    cJSON_Delete(schema);
    cJSON_Delete(inf);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_EQ_STR(err, "arguments must be an integer");
}

TEST(type_union_accepts_null)
{
    char err[ERRLEN];
    const char *schema =
        "{\"properties\":{\"e\":{\"type\":[\"string\",\"null\"]}}}";
    int null_rc = check(schema, "{\"e\":null}", err, sizeof err);
    int str_rc = check(schema, "{\"e\":\"x\"}", err, sizeof err);
    int bad = check(schema, "{\"e\":1}", err, sizeof err);
    ASSERT_EQ_INT(null_rc, 0);
    ASSERT_EQ_INT(str_rc, 0);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'e' must be a string or null");
}

TEST(root_must_be_object)
{
    char err[ERRLEN];
    int rc = check("{\"type\":\"object\"}", "[1,2]", err, sizeof err);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_EQ_STR(err, "arguments must be an object");
}

TEST(required_missing_names_argument)
{
    char err[ERRLEN];
    int rc = check("{\"type\":\"object\",\"required\":[\"event_type\"]}",
                   "{\"other\":1}", err, sizeof err);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_EQ_STR(err, "missing required argument 'event_type'");
}

TEST(additional_properties_false_names_unknown)
{
    char err[ERRLEN];
    int rc = check("{\"properties\":{\"color\":{}},"
                   "\"additionalProperties\":false,\"required\":[\"color\"]}",
                   "{\"colour\":\"red\"}", err, sizeof err);
    /* The misspelt name is reported, not the missing one it caused. */
    ASSERT_EQ_INT(rc, -1);
    ASSERT_EQ_STR(err, "unknown argument 'colour'");
}

TEST(additional_properties_schema_checks_values)
{
    char err[ERRLEN];
    const char *schema = "{\"additionalProperties\":{\"type\":\"integer\"}}";
    int ok = check(schema, "{\"a\":1,\"b\":2}", err, sizeof err);
    int bad = check(schema, "{\"a\":1,\"b\":\"2\"}", err, sizeof err);
    ASSERT_EQ_INT(ok, 0);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'b' must be an integer");
}

TEST(max_length_counts_code_points)
{
    char err[ERRLEN];
    const char *schema = "{\"properties\":{\"s\":{\"maxLength\":3}}}";
    /* Three code points in six bytes fit; four do not. */
    int ok = check(schema, "{\"s\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}", err,
                   sizeof err);
    int bad = check(schema, "{\"s\":\"\xc3\xa9\xc3\xa9\xc3\xa9x\"}", err,
                    sizeof err);
    ASSERT_EQ_INT(ok, 0);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 's' must be at most 3 characters long");
}

TEST(min_length_rejects_empty)
{
    char err[ERRLEN];
    int rc = check("{\"properties\":{\"user_id\":{\"minLength\":1}}}",
                   "{\"user_id\":\"\"}", err, sizeof err);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_EQ_STR(err, "argument 'user_id' must not be empty");
}

TEST(utf8_length_counts_code_points)
{
    ASSERT_EQ_INT(validate_utf8_length(""), 0);
    ASSERT_EQ_INT(validate_utf8_length("abc"), 3);
    ASSERT_EQ_INT(validate_utf8_length("\xc3\xa9"), 1);                 /* é */
    ASSERT_EQ_INT(validate_utf8_length("\xe6\x97\xa5\xe6\x9c\xac"), 2); /* 日本 */
    ASSERT_EQ_INT(validate_utf8_length("a\xf0\x9f\x98\x80z"), 3);       /* emoji */
}

TEST(maximum_message_names_limit)
{
    char err[ERRLEN];
    const char *schema =
        "{\"properties\":{\"limit\":{\"minimum\":1,\"maximum\":1000}}}";
    int at_max = check(schema, "{\"limit\":1000}", err, sizeof err);
    int over = check(schema, "{\"limit\":1001}", err, sizeof err);
    ASSERT_EQ_INT(at_max, 0);
    ASSERT_EQ_INT(over, -1);
    ASSERT_EQ_STR(err, "argument 'limit' must be at most 1000");
}

TEST(exclusive_minimum_rejects_equal)
{
    char err[ERRLEN];
    const char *schema =
        "{\"properties\":{\"x\":{\"exclusiveMinimum\":0.5,"
        "\"exclusiveMaximum\":2}}}";
    int ok = check(schema, "{\"x\":0.75}", err, sizeof err);
    int high = check(schema, "{\"x\":2}", err, sizeof err);
    ASSERT_EQ_INT(ok, 0);
    ASSERT_EQ_INT(high, -1);
    ASSERT_EQ_STR(err, "argument 'x' must be less than 2");
    int low = check(schema, "{\"x\":0.5}", err, sizeof err);
    ASSERT_EQ_INT(low, -1);
    ASSERT_EQ_STR(err, "argument 'x' must be greater than 0.5");
}

TEST(enum_rejects_other)
{
    char err[ERRLEN];
    const char *schema =
        "{\"properties\":{\"k\":{\"enum\":[\"tool_call\",\"error\",3]}}}";
    int ok = check(schema, "{\"k\":\"error\"}", err, sizeof err);
    int num = check(schema, "{\"k\":3.0}", err, sizeof err);
    int bad = check(schema, "{\"k\":\"Error\"}", err, sizeof err);
    ASSERT_EQ_INT(ok, 0);
    ASSERT_EQ_INT(num, 0);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'k' must be one of tool_call, error, 3");
}

TEST(const_rejects_other)
{
    char err[ERRLEN];
    const char *schema = "{\"properties\":{\"v\":{\"const\":{\"a\":[1,2]}}}}";
    int ok = check(schema, "{\"v\":{\"a\":[1,2]}}", err, sizeof err);
    int bad = check(schema, "{\"v\":{\"a\":[2,1]}}", err, sizeof err);
    ASSERT_EQ_INT(ok, 0);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'v' must be {\"a\":[1,2]}");
}

TEST(max_items_rejects_long_array)
{
    char err[ERRLEN];
    const char *schema =
        "{\"properties\":{\"ids\":{\"minItems\":1,\"maxItems\":2}}}";
    int ok = check(schema, "{\"ids\":[1,2]}", err, sizeof err);
    int bad = check(schema, "{\"ids\":[1,2,3]}", err, sizeof err);
    ASSERT_EQ_INT(ok, 0);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'ids' must have at most 2 items");
    int empty = check(schema, "{\"ids\":[]}", err, sizeof err);
    ASSERT_EQ_INT(empty, -1);
    ASSERT_EQ_STR(err, "argument 'ids' must have at least 1 item");
}

TEST(nested_path_in_message)
{
    char err[ERRLEN];
    const char *schema =
        "{\"properties\":{\"args\":{\"properties\":{\"items\":"
        "{\"items\":{\"type\":\"object\"}}}}}}";
    int rc = check(schema, "{\"args\":{\"items\":[{},{},7]}}", err,
                   sizeof err);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_EQ_STR(err, "argument 'args.items[2]' must be an object");
}

TEST(ref_to_defs_resolves)
{
    char err[ERRLEN];
    const char *schema =
        "{\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":1}},"
        "\"properties\":{\"seq\":{\"$ref\":\"#/$defs/pos\"}}}";
    int ok = check(schema, "{\"seq\":4}", err, sizeof err);
    int bad = check(schema, "{\"seq\":0}", err, sizeof err);
    ASSERT_EQ_INT(ok, 0);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'seq' must be at least 1");
}

TEST(ref_to_missing_def_is_schema_error)
{
    char err[ERRLEN];
    int rc = check("{\"properties\":{\"x\":{\"$ref\":\"#/$defs/nope\"}}}",
                   "{}", err, sizeof err);
    ASSERT_EQ_INT(rc, -2);
    ASSERT_CONTAINS(err, "$ref");
    ASSERT_CONTAINS(err, "#/properties/x");
}

TEST(ref_cycle_is_schema_error)
{
    char err[ERRLEN];
    int rc = check("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
                   "\"b\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}",
                   "{}", err, sizeof err);
    ASSERT_EQ_INT(rc, -2);
    ASSERT_CONTAINS(err, "refers back to itself");
}

TEST(unsupported_keyword_is_reported)
{
    char err[ERRLEN];
    /* Reported although the instance never reaches that property. */
    int rc = check("{\"properties\":{\"mode\":{\"oneOf\":[{},{}]}}}", "{}",
                   err, sizeof err);
    ASSERT_EQ_INT(rc, -2);
    ASSERT_EQ_STR(err, "unsupported schema keyword 'oneOf' at "
                       "#/properties/mode");
}

TEST(malformed_keyword_is_reported)
{
    char err[ERRLEN];
    int rc = check("{\"properties\":{\"n\":{\"minimum\":\"1\"}}}", "{\"n\":2}",
                   err, sizeof err);
    ASSERT_EQ_INT(rc, -2);
    ASSERT_EQ_STR(err, "schema keyword 'minimum' at #/properties/n must be "
                       "a number");
}

TEST(annotations_are_ignored)
{
    char err[ERRLEN];
    int rc = check("{\"$schema\":\"x\",\"$id\":\"y\",\"title\":\"t\","
                   "\"description\":\"d\",\"properties\":{\"a\":"
                   "{\"default\":1,\"examples\":[2],\"format\":\"date\"}}}",
                   "{\"a\":\"not a date\"}", err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(rc, 0);
}

TEST(deep_nesting_is_bounded)
{
    char err[ERRLEN];
    char shallow[512], deep[512];
    size_t n = 0;

    /* 40 levels of objects pass through a recursive $ref. */
    for (int i = 0; i < 40; i++) {
        memcpy(shallow + n, "{\"c\":", 5);
        n += 5;
    }
    memcpy(shallow + n, "{}", 2);
    n += 2;
    for (int i = 0; i < 40; i++) shallow[n++] = '}';
    shallow[n] = '\0';
    int ok = check(RECURSIVE_SCHEMA, shallow, err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);

    /* 200 levels of arrays stop at the limit instead of recursing on. */
    n = 0;
    for (int i = 0; i < 200; i++) deep[n++] = '[';
    for (int i = 0; i < 200; i++) deep[n++] = ']';
    deep[n] = '\0';
    int rc = check("{\"$defs\":{\"a\":{\"type\":\"array\",\"items\":"
                   "{\"$ref\":\"#/$defs/a\"}}},\"$ref\":\"#/$defs/a\"}",
                   deep, err, sizeof err);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_CONTAINS(err, "nested too deeply");
}

TEST(error_truncated_on_char_boundary)
{
    char err[20];
    /* "unknown argument '" is 18 bytes; with 19 usable, the two-byte e
    ** acute that follows does not fit and must not be half written. */
    int rc = check("{\"additionalProperties\":false}",
                   "{\"\xc3\xa9\xc3\xa9\":1}", err, sizeof err);
    ASSERT_EQ_INT(rc, -1);
    ASSERT_EQ_STR(err, "unknown argument '");

    /* No buffer at all is allowed too. */
    cJSON *schema = cJSON_Parse("{\"type\":\"string\"}");
    cJSON *num = cJSON_CreateNumber(1);
    rc = validate_instance(schema, num, NULL, 0);
    cJSON_Delete(schema);
    cJSON_Delete(num);
    ASSERT_EQ_INT(rc, -1);
}

/* ---- The real schemas --------------------------------------------------- */

TEST(schema_audit_entry)
{
    char err[ERRLEN];
    int ok = check_file("audit_entry.json", GOOD_ENTRY, err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file("audit_entry.json", ENTRY("0", "\"ab\""), err,
                         sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'seq' must be at least 1");
}

TEST(schema_get_audit_trail_input)
{
    char err[ERRLEN];
    const char *f = "get_audit_trail.input.json";
    int ok = check_file(f, "{\"start_date\":\"2026-11-01\",\"end_date\":"
                           "\"2026-11-27T09:00:00Z\",\"event_type\":\"error\","
                           "\"limit\":10000}", err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"start_date\":\"2026-11-01\"}", err, sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "missing required argument 'end_date'");
}

TEST(schema_get_audit_trail_output)
{
    char err[ERRLEN];
    const char *f = "get_audit_trail.output.json";
    int ok = check_file(f, "{\"entries\":[" GOOD_ENTRY "],\"truncated\":false}",
                        err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"entries\":[" GOOD_ENTRY "," ENTRY("2", "7")
                            "],\"truncated\":true}", err, sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'entries[1].hash' must be a string");
}

TEST(schema_get_operation_history_input)
{
    char err[ERRLEN];
    const char *f = "get_operation_history.input.json";
    int ok = check_file(f, "{\"project_id\":\"p-1\",\"limit\":1000,"
                           "\"offset\":0}", err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"offset\":-1}", err, sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'offset' must be at least 0");
}

TEST(schema_get_operation_history_output)
{
    char err[ERRLEN];
    const char *f = "get_operation_history.output.json";
    int ok = check_file(f, "{\"entries\":[]}", err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"entries\":[{\"id\":\"x\"}]}", err, sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "missing required argument 'entries[0].seq'");
}

TEST(schema_get_user_activity_input)
{
    char err[ERRLEN];
    const char *f = "get_user_activity.input.json";
    int ok = check_file(f, "{\"user_id\":\"alice\",\"days\":7}", err,
                        sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"user_id\":\"alice\",\"days\":3651}", err,
                         sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'days' must be at most 3650");
}

TEST(schema_get_user_activity_output)
{
    char err[ERRLEN];
    const char *f = "get_user_activity.output.json";
    int ok = check_file(f, "{\"user_id\":\"alice\",\"days\":30,"
                           "\"total_operations\":3,\"operations_by_type\":"
                           "{\"tool_call\":2,\"error\":1},\"errors\":1,"
                           "\"projects_touched\":1,\"average_ops_per_day\":0.1}",
                        err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"user_id\":\"alice\",\"days\":30,"
                            "\"total_operations\":3,\"operations_by_type\":"
                            "{\"tool_call\":1.5},\"errors\":1,"
                            "\"projects_touched\":1,\"average_ops_per_day\":0.1}",
                         err, sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'operations_by_type.tool_call' must be an "
                       "integer");
}

TEST(schema_log_operation_input)
{
    char err[ERRLEN];
    const char *f = "log_operation.input.json";
    int ok = check_file(f, "{\"event_type\":\"project_delete\","
                           "\"operation_name\":\"delete_project\","
                           "\"args\":{\"id\":\"p-1\"},\"before_state\":{},"
                           "\"error\":\"boom\"}", err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"event_type\":\"project_nuke\","
                            "\"operation_name\":\"x\"}", err, sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_CONTAINS(err, "argument 'event_type' must be one of tool_call, ");
}

TEST(schema_log_operation_output)
{
    char err[ERRLEN];
    const char *f = "log_operation.output.json";
    int ok = check_file(f, "{\"audit_id\":\"6f1c\",\"seq\":12,\"created_at\":"
                           "\"2026-11-27T21:58:05.123456Z\",\"hash\":\"ab\"}",
                        err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"audit_id\":\"6f1c\",\"seq\":\"12\","
                            "\"created_at\":\"2026-11-27T21:58:05Z\"}",
                         err, sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'seq' must be an integer");
}

TEST(schema_search_audit_log_input)
{
    char err[ERRLEN];
    const char *f = "search_audit_log.input.json";
    int ok = check_file(f, "{\"search_term\":\"timeout\",\"limit\":500}", err,
                        sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"search_term\":\"timeout\",\"colour\":1}", err,
                         sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "unknown argument 'colour'");
}

TEST(schema_search_audit_log_output)
{
    char err[ERRLEN];
    const char *f = "search_audit_log.output.json";
    int ok = check_file(f, "{\"entries\":[" GOOD_ENTRY "]}", err, sizeof err);
    ASSERT_EQ_STR(err, "");
    ASSERT_EQ_INT(ok, 0);
    int bad = check_file(f, "{\"entries\":{}}", err, sizeof err);
    ASSERT_EQ_INT(bad, -1);
    ASSERT_EQ_STR(err, "argument 'entries' must be an array");
}

TEST_MAIN(
    TEST_ENTRY(type_integer_rejects_fraction)
    TEST_ENTRY(type_integer_rejects_non_finite)
    TEST_ENTRY(type_union_accepts_null)
    TEST_ENTRY(root_must_be_object)
    TEST_ENTRY(required_missing_names_argument)
    TEST_ENTRY(additional_properties_false_names_unknown)
    TEST_ENTRY(additional_properties_schema_checks_values)
    TEST_ENTRY(max_length_counts_code_points)
    TEST_ENTRY(min_length_rejects_empty)
    TEST_ENTRY(utf8_length_counts_code_points)
    TEST_ENTRY(maximum_message_names_limit)
    TEST_ENTRY(exclusive_minimum_rejects_equal)
    TEST_ENTRY(enum_rejects_other)
    TEST_ENTRY(const_rejects_other)
    TEST_ENTRY(max_items_rejects_long_array)
    TEST_ENTRY(nested_path_in_message)
    TEST_ENTRY(ref_to_defs_resolves)
    TEST_ENTRY(ref_to_missing_def_is_schema_error)
    TEST_ENTRY(ref_cycle_is_schema_error)
    TEST_ENTRY(unsupported_keyword_is_reported)
    TEST_ENTRY(malformed_keyword_is_reported)
    TEST_ENTRY(annotations_are_ignored)
    TEST_ENTRY(deep_nesting_is_bounded)
    TEST_ENTRY(error_truncated_on_char_boundary)
    TEST_ENTRY(schema_audit_entry)
    TEST_ENTRY(schema_get_audit_trail_input)
    TEST_ENTRY(schema_get_audit_trail_output)
    TEST_ENTRY(schema_get_operation_history_input)
    TEST_ENTRY(schema_get_operation_history_output)
    TEST_ENTRY(schema_get_user_activity_input)
    TEST_ENTRY(schema_get_user_activity_output)
    TEST_ENTRY(schema_log_operation_input)
    TEST_ENTRY(schema_log_operation_output)
    TEST_ENTRY(schema_search_audit_log_input)
    TEST_ENTRY(schema_search_audit_log_output)
)
