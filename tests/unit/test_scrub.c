/*
** test_scrub.c: secret redaction over cJSON trees (src/scrub/scrub.h).
*/
#include "test.h"

#include <cjson/cJSON.h>

#include "scrub/scrub.h"

/* Parse in, scrub it, print it unformatted and compare with want.  Returns
** 1 on a match; prints both texts otherwise.  Frees everything either way. */
static int scrubs_to(const char *in, const char *want)
{
    cJSON *tree = cJSON_Parse(in);
    if (!tree) {
        fprintf(stderr, "test input does not parse: %s\n", in);
        return 0;
    }
    int rc = scrub_tree(tree);
    char *out = cJSON_PrintUnformatted(tree);
    cJSON_Delete(tree);
    int ok = rc == 0 && out && strcmp(out, want) == 0;
    if (!ok)
        fprintf(stderr, "scrub(%s)\n  gave %s (rc %d)\n  want %s\n", in,
                out ? out : "(null)", rc, want);
    free(out);
    return ok;
}

/* {"<key>":"v","keep":1} must scrub to {"<key>":"***REDACTED***","keep":1}. */
static int key_redacted(const char *key)
{
    char in[256], want[256];
    snprintf(in, sizeof in, "{\"%s\":\"v\",\"keep\":1}", key);
    snprintf(want, sizeof want, "{\"%s\":\"" SCRUB_REDACTED "\",\"keep\":1}", key);
    return scrub_key_is_sensitive(key) && scrubs_to(in, want);
}

TEST(redacted_text_is_exact)
{
    ASSERT_EQ_STR(SCRUB_REDACTED, "***REDACTED***");
    cJSON *o = cJSON_Parse("{\"password\":\"hunter2\"}");
    ASSERT(o);
    int rc = scrub_tree(o);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "password");
    int ok = rc == 0 && cJSON_IsString(v) &&
             strcmp(v->valuestring, "***REDACTED***") == 0;
    cJSON_Delete(o);
    ASSERT(ok);
}

TEST(seed_word_token)
{
    ASSERT(key_redacted("token"));
}

TEST(seed_word_api_key)
{
    ASSERT(key_redacted("api_key"));
}

TEST(seed_word_secret)
{
    ASSERT(key_redacted("secret"));
}

TEST(seed_word_password)
{
    ASSERT(key_redacted("password"));
}

TEST(seed_word_credential)
{
    ASSERT(key_redacted("credential"));
    ASSERT(key_redacted("credentials"));
}

TEST(seed_word_auth)
{
    ASSERT(key_redacted("auth"));
}

TEST(seed_word_figma_token)
{
    ASSERT(key_redacted("figma_token"));
}

TEST(seed_word_encrypted_data)
{
    ASSERT(key_redacted("encrypted_data"));
}

TEST(case_insensitive_keys)
{
    ASSERT(key_redacted("API_KEY"));
    ASSERT(key_redacted("Authorization"));
    ASSERT(key_redacted("x-Auth-Token"));
    ASSERT(key_redacted("PassWord"));
    ASSERT(key_redacted("SECRET"));
}

TEST(substring_match)
{
    ASSERT(key_redacted("github_token"));
    ASSERT(key_redacted("client_secret_value"));
    ASSERT(key_redacted("db_password_hash"));
    ASSERT(key_redacted("oauth"));
    ASSERT(key_redacted("refreshToken"));
}

TEST(non_sensitive_keys_kept)
{
    static const char *const keys[] = {
        "name", "id", "user_id", "project", "api", "key", "pass", "cred",
        "tok", "secre", "encrypted", "data", "au_th", ""};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (scrub_key_is_sensitive(keys[i]))
            TEST_FAIL_("'%s' was called sensitive", keys[i]);
    ASSERT(scrubs_to("{\"name\":\"n\",\"key\":\"k\",\"count\":3,\"ok\":true}",
                     "{\"name\":\"n\",\"key\":\"k\",\"count\":3,\"ok\":true}"));
}

/* The seed's rule, written as plainly as it reads: lower-case the key,
** then look for each word.  The scrubber's one-walk matcher must agree
** with it on every key. */
static int seed_rule(const char *key)
{
    static const char *const words[] = {"token", "api_key", "secret", "password",
                                        "credential", "auth", "figma_token", "encrypted_data"};
    char low[512];
    size_t n = strlen(key);
    for (size_t i = 0; i <= n; i++)
        low[i] = key[i] >= 'A' && key[i] <= 'Z' ? (char)(key[i] + 32) : key[i];
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(low, words[i])) return 1;
    return 0;
}

TEST(key_words_match_the_seed_rule_on_generated_keys)
{
    /* Keys built from pieces of the words, near misses, case changes,
    ** separators and bytes outside ASCII, short and past 128 bytes. */
    static const char *const pieces[] = {
        "tok", "en", "token", "TOKEN", "api", "_", "key", "api_key", "Api_Key", "sec", "ret",
        "SeCrEt", "pass", "word", "PASSWORD", "cred", "ential", "au", "th", "AUTH", "figma",
        "encrypted", "_data", "encrypted_data", "-", ".", " ", "x", "\xc3\xa9", "\xe2\x80\x8b",
        "0123456789abcdef0123456789abcdef", "t", "o", "k", "e", "n", "a", "p", "s", "c", "d"};
    size_t np = sizeof pieces / sizeof *pieces, agreed = 0, sensitive = 0;
    unsigned long long r = 88172645463325252ull;
    for (int k = 0; k < 20000; k++) {
        char key[400] = "";
        int parts = 1 + (int)(test_random(&r) % 12);
        for (int j = 0; j < parts; j++) {
            const char *pc = pieces[test_random(&r) % np];
            if (strlen(key) + strlen(pc) < sizeof key) strcat(key, pc);
        }
        if (scrub_key_is_sensitive(key) != seed_rule(key))
            TEST_FAIL_("'%s': scrubber says %d, the seed's rule %d", key,
                       scrub_key_is_sensitive(key), seed_rule(key));
        agreed++;
        sensitive += (size_t)seed_rule(key);
    }
    /* Both answers were well represented. */
    ASSERT(agreed == 20000 && sensitive > 2000 && sensitive < 18000);
}

TEST(null_key_not_sensitive)
{
    ASSERT(!scrub_key_is_sensitive(NULL));
}

TEST(object_value_replaced_whole)
{
    ASSERT(scrubs_to("{\"auth\":{\"user\":\"u\",\"pw\":\"p\"},\"a\":1}",
                     "{\"auth\":\"***REDACTED***\",\"a\":1}"));
}

TEST(array_value_replaced_whole)
{
    ASSERT(scrubs_to("{\"tokens\":[\"t1\",\"t2\"],\"a\":1}",
                     "{\"tokens\":\"***REDACTED***\",\"a\":1}"));
}

TEST(scalar_values_of_any_type_replaced)
{
    ASSERT(scrubs_to("{\"token\":42,\"secret\":null,\"password\":false,\"api_key\":\"\"}",
                     "{\"token\":\"***REDACTED***\",\"secret\":\"***REDACTED***\","
                     "\"password\":\"***REDACTED***\",\"api_key\":\"***REDACTED***\"}"));
}

TEST(nested_objects)
{
    ASSERT(scrubs_to("{\"a\":{\"b\":{\"c\":{\"password\":\"p\",\"d\":1}}}}",
                     "{\"a\":{\"b\":{\"c\":{\"password\":\"***REDACTED***\",\"d\":1}}}}"));
}

TEST(arrays_of_objects)
{
    ASSERT(scrubs_to("{\"users\":[{\"name\":\"a\",\"token\":\"t\"},{\"name\":\"b\",\"secret\":\"s\"}]}",
                     "{\"users\":[{\"name\":\"a\",\"token\":\"***REDACTED***\"},"
                     "{\"name\":\"b\",\"secret\":\"***REDACTED***\"}]}"));
}

TEST(arrays_inside_arrays_inside_objects)
{
    /* The seed only looked into arrays directly under an object key. */
    ASSERT(scrubs_to("{\"m\":[[{\"api_key\":\"k\"}],[[{\"x\":{\"auth\":1}}]]]}",
                     "{\"m\":[[{\"api_key\":\"***REDACTED***\"}],"
                     "[[{\"x\":{\"auth\":\"***REDACTED***\"}}]]]}"));
}

TEST(top_level_array)
{
    ASSERT(scrubs_to("[{\"password\":\"p\"},[{\"token\":\"t\"}],\"token\"]",
                     "[{\"password\":\"***REDACTED***\"},[{\"token\":\"***REDACTED***\"}],\"token\"]"));
}

TEST(string_values_naming_secrets_kept)
{
    /* Only keys are examined; a value that says "password" is data. */
    ASSERT(scrubs_to("{\"field\":\"password\",\"list\":[\"token\",\"secret\"]}",
                     "{\"field\":\"password\",\"list\":[\"token\",\"secret\"]}"));
}

TEST(key_order_and_members_preserved)
{
    ASSERT(scrubs_to("{\"z\":1,\"token\":\"t\",\"a\":[1,2],\"secret\":{},\"m\":null,\"password\":\"p\"}",
                     "{\"z\":1,\"token\":\"***REDACTED***\",\"a\":[1,2],"
                     "\"secret\":\"***REDACTED***\",\"m\":null,\"password\":\"***REDACTED***\"}"));
}

TEST(first_and_last_and_only_members)
{
    ASSERT(scrubs_to("{\"token\":1}", "{\"token\":\"***REDACTED***\"}"));
    ASSERT(scrubs_to("{\"token\":1,\"a\":2}", "{\"token\":\"***REDACTED***\",\"a\":2}"));
    ASSERT(scrubs_to("{\"a\":2,\"token\":1}", "{\"a\":2,\"token\":\"***REDACTED***\"}"));
    ASSERT(scrubs_to("{\"token\":1,\"secret\":2}",
                     "{\"token\":\"***REDACTED***\",\"secret\":\"***REDACTED***\"}"));
}

TEST(tree_links_intact_after_redaction)
{
    /* Appending after a redacted last member must still work: the
    ** replacement has to be linked as the list's tail. */
    cJSON *o = cJSON_Parse("{\"a\":1,\"token\":\"t\"}");
    ASSERT(o);
    int rc = scrub_tree(o);
    cJSON_AddNumberToObject(o, "b", 2);
    char *out = cJSON_PrintUnformatted(o);
    int n = cJSON_GetArraySize(o);
    cJSON_Delete(o);
    int ok = rc == 0 && out &&
             strcmp(out, "{\"a\":1,\"token\":\"***REDACTED***\",\"b\":2}") == 0 &&
             n == 3;
    if (!ok) fprintf(stderr, "got %s\n", out ? out : "(null)");
    free(out);
    ASSERT(ok);
}

TEST(scalars_untouched)
{
    ASSERT(scrubs_to("\"password\"", "\"password\""));
    ASSERT(scrubs_to("42", "42"));
    ASSERT(scrubs_to("null", "null"));
    ASSERT(scrubs_to("true", "true"));
    ASSERT(scrubs_to("{}", "{}"));
    ASSERT(scrubs_to("[]", "[]"));
}

TEST(null_input_untouched)
{
    ASSERT_EQ_INT(scrub_tree(NULL), 0);
}

TEST(scrub_is_idempotent)
{
    const char *in = "{\"auth\":{\"x\":1},\"l\":[{\"token\":[1]}]}";
    const char *want = "{\"auth\":\"***REDACTED***\",\"l\":[{\"token\":\"***REDACTED***\"}]}";
    cJSON *t = cJSON_Parse(in);
    ASSERT(t);
    int rc1 = scrub_tree(t), rc2 = scrub_tree(t);
    char *out = cJSON_PrintUnformatted(t);
    cJSON_Delete(t);
    int ok = rc1 == 0 && rc2 == 0 && out && strcmp(out, want) == 0;
    free(out);
    ASSERT(ok);
}

TEST(const_key_member_redacted)
{
    /* A tree built in code may use constant keys (cJSON_AddItemToObjectCS);
    ** the replacement takes the key over and must not free a literal. */
    cJSON *o = cJSON_CreateObject();
    ASSERT(o);
    cJSON_AddItemToObjectCS(o, "password", cJSON_CreateString("hunter2"));
    cJSON_AddItemToObjectCS(o, "name", cJSON_CreateString("n"));
    int rc = scrub_tree(o);
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o); /* frees the replacement's key: must not be a literal */
    int ok = rc == 0 && out &&
             strcmp(out, "{\"password\":\"***REDACTED***\",\"name\":\"n\"}") == 0;
    free(out);
    ASSERT(ok);
}

TEST(deep_tree)
{
    /* 200 levels of {"a":...} with a secret at the bottom. */
    enum { DEPTH = 200 };
    char *in = malloc(DEPTH * 6 + 64), *want = malloc(DEPTH * 6 + 64);
    ASSERT(in && want);
    char *p = in, *q = want;
    for (int i = 0; i < DEPTH; i++) { p += sprintf(p, "{\"a\":"); q += sprintf(q, "{\"a\":"); }
    p += sprintf(p, "{\"secret\":\"s\"}");
    q += sprintf(q, "{\"secret\":\"" SCRUB_REDACTED "\"}");
    for (int i = 0; i < DEPTH; i++) { *p++ = '}'; *q++ = '}'; }
    *p = *q = '\0';
    int ok = scrubs_to(in, want);
    free(in);
    free(want);
    ASSERT(ok);
}

TEST_MAIN(
    TEST_ENTRY(redacted_text_is_exact)
    TEST_ENTRY(key_words_match_the_seed_rule_on_generated_keys)
    TEST_ENTRY(seed_word_token)
    TEST_ENTRY(seed_word_api_key)
    TEST_ENTRY(seed_word_secret)
    TEST_ENTRY(seed_word_password)
    TEST_ENTRY(seed_word_credential)
    TEST_ENTRY(seed_word_auth)
    TEST_ENTRY(seed_word_figma_token)
    TEST_ENTRY(seed_word_encrypted_data)
    TEST_ENTRY(case_insensitive_keys)
    TEST_ENTRY(substring_match)
    TEST_ENTRY(non_sensitive_keys_kept)
    TEST_ENTRY(null_key_not_sensitive)
    TEST_ENTRY(object_value_replaced_whole)
    TEST_ENTRY(array_value_replaced_whole)
    TEST_ENTRY(scalar_values_of_any_type_replaced)
    TEST_ENTRY(nested_objects)
    TEST_ENTRY(arrays_of_objects)
    TEST_ENTRY(arrays_inside_arrays_inside_objects)
    TEST_ENTRY(top_level_array)
    TEST_ENTRY(string_values_naming_secrets_kept)
    TEST_ENTRY(key_order_and_members_preserved)
    TEST_ENTRY(first_and_last_and_only_members)
    TEST_ENTRY(tree_links_intact_after_redaction)
    TEST_ENTRY(scalars_untouched)
    TEST_ENTRY(null_input_untouched)
    TEST_ENTRY(scrub_is_idempotent)
    TEST_ENTRY(const_key_member_redacted)
    TEST_ENTRY(deep_tree)
)
