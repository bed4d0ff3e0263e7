/*
** test_wrapconfig.c: wrap-config's remote entries (src/cli/cli_wrapconfig.c):
** each client's shapes of "url", "type" and "headers" become stdio entries
** running `wrap --url`, with the headers (and a URL holding credentials or
** a query) moved to the environment, never to args; --undo gives back the
** file's original bytes, and the original members in order when the file
** changed since.
*/
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "test.h"

#define SELF "/usr/bin/dss-audit-mcp"

typedef struct cfg {
    char dir[64], file[128];
} cfg;

static int cfg_new(cfg *c, const char *text)
{
    snprintf(c->dir, sizeof c->dir, "/tmp/dss-wrapcfg-XXXXXX");
    if (!mkdtemp(c->dir)) return -1;
    snprintf(c->file, sizeof c->file, "%s/mcp.json", c->dir);
    FILE *f = fopen(c->file, "w");
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    return 0;
}

static char *cfg_text(const cfg *c)
{
    FILE *f = fopen(c->file, "r");
    if (!f) return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void cfg_free(cfg *c)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", c->dir);
}

/* Run wrap-config; its printed lines into *out (caller frees). */
static int run(const cfg *c, const char *client, int undo, char **out)
{
    char err[512] = "";
    size_t n;
    FILE *o = open_memstream(out, &n);
    cli_wrap_where where = {.home = c->dir, .xdg_config_home = NULL};
    int rc = cli_wrap_config(client, c->file, undo, SELF, &where, o, err, sizeof err);
    fclose(o);
    if (rc != CLI_OK) fprintf(stderr, "wrap-config: %s\n", err);
    return rc;
}

static const cJSON *entry(const cJSON *root, const char *servers, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, servers), name);
}

static char *args_of(const cJSON *e)
{
    return cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(e, "args"));
}

/* Claude Code writes two-space JSON; VS Code tabs; Cursor by hand. */
static const char CLAUDE_CODE[] =
    "{\n  \"mcpServers\": {\n    \"linear\": {\n      \"type\": \"http\",\n"
    "      \"url\": \"https://mcp.linear.app/mcp\",\n      \"headers\": {\n"
    "        \"Authorization\": \"Bearer lin_api_S3CR3T\",\n        \"X-Team\": \"core\"\n"
    "      }\n    },\n    \"local\": {\n      \"command\": \"npx\",\n      \"args\": [\"srv\"]\n"
    "    }\n  },\n  \"projects\": {\n    \"/home/u/p\": {\n      \"mcpServers\": {\n"
    "        \"legacy\": {\n          \"type\": \"sse\",\n          \"url\": \"https://old.example.com/sse\"\n"
    "        }\n      }\n    }\n  },\n  \"numStartups\": 3\n}\n";

TEST(claude_code_remote_entries_become_wrap_url)
{
    cfg c;
    ASSERT_EQ_INT(cfg_new(&c, CLAUDE_CODE), 0);
    char *out;
    ASSERT_EQ_INT(run(&c, "claude-code", 0, &out), 0);
    ASSERT_CONTAINS(out, "wrapped linear");
    ASSERT_CONTAINS(out, "wrapped /home/u/p: legacy");
    free(out);
    char *text = cfg_text(&c);
    cJSON *j = cJSON_Parse(text);
    const cJSON *lin = entry(j, "mcpServers", "linear");
    char *a = args_of(lin);
    ASSERT_EQ_STR(a, "[\"wrap\",\"--name\",\"linear\",\"--url\",\"https://mcp.linear.app/mcp\","
                     "\"--transport\",\"http\"]");
    ASSERT(!strstr(a, "S3CR3T"));
    free(a);
    ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(lin, "type")->valuestring, "stdio");
    ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(lin, "command")->valuestring, SELF);
    ASSERT(!cJSON_GetObjectItemCaseSensitive(lin, "headers"));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(lin, "env"), "DSS_AUDIT_HEADERS");
    ASSERT_EQ_STR(h->valuestring, "{\"Authorization\":\"Bearer lin_api_S3CR3T\",\"X-Team\":\"core\"}");
    /* Member order: type, command, args, env (where url and headers were). */
    const char *order[] = {"type", "command", "args", "env"};
    int i = 0;
    for (const cJSON *m = lin->child; m; m = m->next, i++) ASSERT_EQ_STR(m->string, order[i]);
    const cJSON *legacy = entry(cJSON_GetObjectItemCaseSensitive(
                                    cJSON_GetObjectItemCaseSensitive(j, "projects"), "/home/u/p"),
                                "mcpServers", "legacy");
    a = args_of(legacy);
    ASSERT_EQ_STR(a, "[\"wrap\",\"--name\",\"legacy\",\"--url\",\"https://old.example.com/sse\","
                     "\"--transport\",\"sse\"]");
    free(a);
    ASSERT(!cJSON_GetObjectItemCaseSensitive(legacy, "env"));
    cJSON_Delete(j);
    free(text);
    /* --undo: the original bytes, two-space indentation and all. */
    ASSERT_EQ_INT(run(&c, "claude-code", 1, &out), 0);
    ASSERT_CONTAINS(out, "back to its bytes");
    free(out);
    text = cfg_text(&c);
    ASSERT_EQ_STR(text, CLAUDE_CODE);
    free(text);
    cfg_free(&c);
}

TEST(vscode_and_cursor_shapes_and_streamable_http)
{
    static const char VSCODE[] =
        "{\"servers\": {\"gh\": {\"type\": \"http\", \"url\": \"https://api.githubcopilot.com/mcp/\","
        " \"headers\": {\"Authorization\": \"Bearer ghp_T0K3N\"}}}}";
    cfg c;
    ASSERT_EQ_INT(cfg_new(&c, VSCODE), 0);
    char *out;
    ASSERT_EQ_INT(run(&c, "vscode", 0, &out), 0);
    free(out);
    char *text = cfg_text(&c);
    cJSON *j = cJSON_Parse(text);
    char *a = args_of(entry(j, "servers", "gh"));
    ASSERT_CONTAINS(a, "\"--url\",\"https://api.githubcopilot.com/mcp/\"");
    ASSERT(!strstr(a, "ghp_T0K3N"));
    free(a);
    cJSON_Delete(j);
    free(text);
    cfg_free(&c);

    static const char CURSOR[] =
        "{\"mcpServers\": {\"n\": {\"url\": \"https://mcp.notion.com/mcp\"},"
        " \"s\": {\"type\": \"streamable-http\", \"url\": \"https://mcp.sentry.dev/mcp\"},"
        " \"w\": {\"type\": \"websocket\", \"url\": \"wss://x\"}}}";
    ASSERT_EQ_INT(cfg_new(&c, CURSOR), 0);
    ASSERT_EQ_INT(run(&c, "cursor", 0, &out), 0);
    ASSERT_CONTAINS(out, "skipped w (a remote server of a type wrap does not relay");
    free(out);
    text = cfg_text(&c);
    j = cJSON_Parse(text);
    a = args_of(entry(j, "mcpServers", "n"));
    /* No type: no --transport (auto), and no type added. */
    ASSERT_EQ_STR(a, "[\"wrap\",\"--name\",\"n\",\"--url\",\"https://mcp.notion.com/mcp\"]");
    ASSERT(!cJSON_GetObjectItemCaseSensitive(entry(j, "mcpServers", "n"), "type"));
    free(a);
    a = args_of(entry(j, "mcpServers", "s"));
    ASSERT_CONTAINS(a, "\"--transport\",\"streamable-http\"");
    free(a);
    cJSON_Delete(j);
    free(text);
    cfg_free(&c);
}

TEST(url_with_credentials_or_query_goes_to_the_environment)
{
    static const char TEXT[] =
        "{\"mcpServers\": {\"k\": {\"url\": \"https://user:pw@h.example/mcp\"},"
        " \"q\": {\"url\": \"https://h.example/mcp?api_key=QK3Y\", \"env\": {\"A\": \"1\"},"
        " \"headers\": {\"X-K\": \"v\"}}}}";
    cfg c;
    ASSERT_EQ_INT(cfg_new(&c, TEXT), 0);
    char *out;
    ASSERT_EQ_INT(run(&c, "cursor", 0, &out), 0);
    free(out);
    char *text = cfg_text(&c);
    cJSON *j = cJSON_Parse(text);
    const cJSON *k = entry(j, "mcpServers", "k"), *q = entry(j, "mcpServers", "q");
    char *a = args_of(k);
    ASSERT_EQ_STR(a, "[\"wrap\",\"--name\",\"k\"]");
    free(a);
    a = args_of(q);
    ASSERT(!strstr(a, "QK3Y"));
    free(a);
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(q, "env");
    ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(env, "A")->valuestring, "1");
    ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(env, "DSS_AUDIT_URL")->valuestring,
                  "https://h.example/mcp?api_key=QK3Y");
    ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(env, "DSS_AUDIT_HEADERS")->valuestring,
                  "{\"X-K\":\"v\"}");
    ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(k, "env"),
                                                   "DSS_AUDIT_URL")->valuestring,
                  "https://user:pw@h.example/mcp");
    cJSON_Delete(j);
    free(text);
    /* Edited since: no backup matches, and the entries come back as they
    ** were (env kept with its own member, headers restored). */
    text = cfg_text(&c);
    char *edited = malloc(strlen(text) + 32);
    sprintf(edited, "{\"added\": true, %s", text + 1);
    FILE *f = fopen(c.file, "w");
    fputs(edited, f);
    fclose(f);
    ASSERT_EQ_INT(run(&c, "cursor", 1, &out), 0);
    ASSERT_CONTAINS(out, "unwrapped q");
    free(out);
    free(text);
    text = cfg_text(&c);
    j = cJSON_Parse(text);
    cJSON *want = cJSON_Parse(TEXT);
    cJSON_AddTrueToObject(want, "added");
    ASSERT(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(j, "mcpServers"),
                         cJSON_GetObjectItemCaseSensitive(want, "mcpServers"), 1));
    const char *korder[] = {"url"};
    int i = 0;
    for (const cJSON *m = entry(j, "mcpServers", "k")->child; m; m = m->next, i++)
        ASSERT_EQ_STR(m->string, korder[i]);
    cJSON_Delete(want);
    cJSON_Delete(j);
    free(text);
    free(edited);
    cfg_free(&c);
}

/* A remote entry whose url is not its last member: wrap puts args right
** after the command that takes url's place, and undo puts url back in its
** place (cJSON_InsertItemInArray() of Debian 12 refuses a middle index;
** found by tests/fuzz/fuzz_wrapconfig.c). */
TEST(members_keep_their_place_through_wrap_and_undo)
{
    static const char TEXT[] =
        "{\"mcpServers\": {\"l\": {\"type\": \"http\", \"url\": \"https://x.example/mcp\","
        " \"note\": 1}}}";
    cfg c;
    ASSERT_EQ_INT(cfg_new(&c, TEXT), 0);
    char *out;
    ASSERT_EQ_INT(run(&c, "cursor", 0, &out), 0);
    free(out);
    char *text = cfg_text(&c);
    cJSON *j = cJSON_Parse(text);
    const char *wrapped[] = {"type", "command", "args", "note"};
    int i = 0;
    for (const cJSON *m = entry(j, "mcpServers", "l")->child; m; m = m->next, i++) {
        ASSERT(i < 4);
        ASSERT_EQ_STR(m->string, wrapped[i]);
    }
    ASSERT_EQ_INT(i, 4);
    cJSON_Delete(j);
    free(text);
    /* No backup: undo itself must give the members back in order. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.bak", c.dir);
    ASSERT_EQ_INT(system(cmd), 0);
    ASSERT_EQ_INT(run(&c, "cursor", 1, &out), 0);
    free(out);
    text = cfg_text(&c);
    j = cJSON_Parse(text);
    const char *undone[] = {"type", "url", "note"};
    i = 0;
    for (const cJSON *m = entry(j, "mcpServers", "l")->child; m; m = m->next, i++) {
        ASSERT(i < 3);
        ASSERT_EQ_STR(m->string, undone[i]);
    }
    ASSERT_EQ_INT(i, 3);
    cJSON_Delete(j);
    free(text);
    cfg_free(&c);
}

/* Entries the rewrite could only make worse are skipped, the file left as
** it was: a remote one with a command or args of its own (they would be
** doubled) or an env that is no object (its headers would be lost), a
** stdio one whose args are no array (found by tests/fuzz/fuzz_wrapconfig.c). */
/* Wrap text for cursor: 0 when the file is left as it was; what the
** command printed in *out (caller frees). */
static int wrap_leaves_untouched(const char *text, char **out)
{
    cfg c;
    *out = NULL;
    if (cfg_new(&c, text) != 0) return -1;
    int rc = run(&c, "cursor", 0, out);
    char *after = rc == 0 ? cfg_text(&c) : NULL;
    rc = after && strcmp(after, text) == 0 ? 0 : -1;
    free(after);
    cfg_free(&c);
    return rc;
}

TEST(entries_that_would_lose_or_double_a_member_are_skipped)
{
    static const char TEXT[] =
        "{\"mcpServers\": {\"a\": {\"url\": \"https://x.example/mcp\", \"command\": \"uvx\"},"
        " \"b\": {\"url\": \"https://x.example/mcp\", \"env\": \"E\", \"headers\": {\"K\": \"v\"}},"
        " \"c\": {\"command\": \"node\", \"args\": \"s.js\"}}}";
    char *out;
    ASSERT_EQ_INT(wrap_leaves_untouched(TEXT, &out), 0);
    ASSERT_CONTAINS(out, "skipped a");
    ASSERT_CONTAINS(out, "skipped b");
    ASSERT_CONTAINS(out, "skipped c");
    ASSERT_CONTAINS(out, "nothing to change");
    free(out);
}

/* Each skipped entry says what about it stops the rewrite, so the user
** knows what to change (a remote entry once read "neither a stdio nor a
** remote server"). */
TEST(each_skipped_entry_says_why)
{
    static const char TEXT[] =
        "{\"mcpServers\": {"
        "\"a\": {\"url\": \"https://x.example/mcp\", \"args\": []},"
        " \"b\": {\"url\": \"https://x.example/mcp\", \"env\": []},"
        " \"c\": {\"url\": \"https://x.example/mcp\", \"env\": {\"DSS_AUDIT_HEADERS\": \"{}\"}},"
        " \"d\": {\"url\": \"https://x.example/mcp\", \"env\": {\"DSS_AUDIT_URL\": \"u\"}},"
        " \"e\": {\"url\": \"https://x.example/mcp\", \"headers\": {}, \"env\": {}},"
        " \"f\": {\"type\": \"websocket\", \"url\": \"wss://x\"},"
        " \"g\": {\"url\": 7},"
        " \"h\": {\"command\": \"node\", \"args\": \"s.js\"},"
        " \"i\": {\"type\": \"http\", \"command\": \"node\"},"
        " \"j\": {\"cwd\": \"/\"},"
        " \"k\": {\"command\": \"" SELF "\", \"args\": [\"wrap\", \"--name\", \"k\", \"--\", \"x\"]}}}";
    char *out;
    ASSERT_EQ_INT(wrap_leaves_untouched(TEXT, &out), 0);
    ASSERT_CONTAINS(out, "skipped a (a remote server that also has a command or args)");
    ASSERT_CONTAINS(out, "skipped b (a remote server whose env is not an object)");
    ASSERT_CONTAINS(out, "skipped c (a remote server whose env already sets DSS_AUDIT_HEADERS)");
    ASSERT_CONTAINS(out, "skipped d (a remote server whose env already sets DSS_AUDIT_URL)");
    ASSERT_CONTAINS(out, "skipped e (a remote server with an env of its own and members after "
                         "its headers: undo could not put them back in place)");
    ASSERT_CONTAINS(out, "skipped f (a remote server of a type wrap does not relay");
    ASSERT_CONTAINS(out, "skipped g (its url is not a string)");
    ASSERT_CONTAINS(out, "skipped h (its args are not an array)");
    ASSERT_CONTAINS(out, "skipped i (not a stdio server, and no url to relay)");
    ASSERT_CONTAINS(out, "skipped j (neither a command nor a url)");
    ASSERT_CONTAINS(out, "skipped k (already wrapped)");
    free(out);
}

/* What cJSON reads but JSON is not (text after the object, a raw control
** character in a string) is malformed: written back it would have lost
** that text or cut that string. */
TEST(file_that_is_not_strict_json_is_left_untouched)
{
    static const char *const TEXTS[] = {
        "{\"mcpServers\": {\"a\": {\"command\": \"x\"}}} trailing",
        "{\"mcpServers\": {\"a\": {\"command\": \"x\ty\"}}}",
    };
    for (int i = 0; i < 2; i++) {
        cfg c;
        ASSERT_EQ_INT(cfg_new(&c, TEXTS[i]), 0);
        char *out;
        ASSERT(run(&c, "cursor", 0, &out) != CLI_OK);
        free(out);
        char *text = cfg_text(&c);
        ASSERT_EQ_STR(text, TEXTS[i]);
        free(text);
        cfg_free(&c);
    }
}

/* Wrap, remove the backups, undo: the file's members as they were.  Undo
** without a backup must invert the rewrite itself. */
static int round_trip(const char *text, char **wrapped)
{
    cfg c;
    char *out, cmd[256];
    if (cfg_new(&c, text) != 0 || run(&c, "cursor", 0, &out) != 0) return -1;
    free(out);
    *wrapped = cfg_text(&c);
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.bak", c.dir);
    if (system(cmd) != 0 || run(&c, "cursor", 1, &out) != 0) return -1;
    free(out);
    char *back = cfg_text(&c);
    cJSON *a = cJSON_Parse(text), *b = cJSON_Parse(back);
    char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);
    int same = pa && pb && strcmp(pa, pb) == 0;
    if (!same) fprintf(stderr, "undo gave %s\n  for %s\n", pb ? pb : "?", pa ? pa : "?");
    cJSON_free(pa);
    cJSON_free(pb);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(back);
    cfg_free(&c);
    return same ? 0 : -1;
}

/* "args": [] and no args at all are one command line; wrapped, the empty
** one spells its name --name=KEY, so undo gives each back as it was (found
** by tests/fuzz/fuzz_wrapconfig.c: [] came back as no args). */
TEST(empty_args_and_no_args_each_come_back_from_undo)
{
    static const char *const TEXTS[] = {
        "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"args\": []}}}",
        "{\"mcpServers\": {\"a\": {\"args\": [], \"command\": \"x\", \"env\": {}}}}",
        "{\"mcpServers\": {\"a\": {\"command\": \"x\"}}}",
    };
    static const char *const ARGS[] = {
        "[\"wrap\",\"--name=a\",\"--\",\"x\"]",
        "[\"wrap\",\"--name=a\",\"--\",\"x\"]",
        "[\"wrap\",\"--name\",\"a\",\"--\",\"x\"]",
    };
    for (int i = 0; i < 3; i++) {
        char *wrapped;
        ASSERT_EQ_INT(round_trip(TEXTS[i], &wrapped), 0);
        cJSON *j = cJSON_Parse(wrapped);
        char *args = args_of(entry(j, "mcpServers", "a"));
        ASSERT_EQ_STR(args, ARGS[i]);
        cJSON_free(args);
        cJSON_Delete(j);
        free(wrapped);
    }
}

/* A remote entry with an env of its own keeps it through wrap and undo,
** even when nothing else is in it (found by tests/fuzz/fuzz_wrapconfig.c:
** an empty env was taken for the one wrap makes, and dropped); with its
** own env, headers that are not its last member are skipped, since undo
** puts them back last. */
TEST(remote_entry_with_its_own_env_comes_back_from_undo)
{
    static const char *const TEXTS[] = {
        "{\"mcpServers\": {\"a\": {\"url\": \"https://x.example/mcp\", \"env\": {}}}}",
        "{\"mcpServers\": {\"a\": {\"env\": {}, \"url\": \"https://x.example/mcp\","
        " \"headers\": {\"K\": \"v\"}}}}",
        "{\"mcpServers\": {\"a\": {\"url\": \"https://x.example/mcp?k=1\", \"env\": {\"A\": \"1\"}}}}",
        "{\"mcpServers\": {\"a\": {\"url\": \"https://x.example/mcp\", \"headers\": {\"K\": \"v\"}}}}",
    };
    static const char *const NAMED[] = {"--name=a", "--name=a", "--name=a", "--name"};
    for (int i = 0; i < 4; i++) {
        char *wrapped;
        ASSERT_EQ_INT(round_trip(TEXTS[i], &wrapped), 0);
        cJSON *j = cJSON_Parse(wrapped);
        const cJSON *a1 =
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(entry(j, "mcpServers", "a"), "args"), 1);
        ASSERT_EQ_STR(cJSON_GetStringValue(a1), NAMED[i]);
        cJSON_Delete(j);
        free(wrapped);
    }
    static const char SKIPPED[] =
        "{\"mcpServers\": {\"a\": {\"url\": \"https://x.example/mcp\", \"headers\": {\"K\": \"v\"},"
        " \"env\": {}}}}";
    char *out;
    ASSERT_EQ_INT(wrap_leaves_untouched(SKIPPED, &out), 0);
    ASSERT_CONTAINS(out, "skipped a");
    free(out);
}

/* A server named "--": the name is --name's value, not the end of wrap's
** options, and undo finds the command after the real "--". */
TEST(server_named_double_dash_comes_back_from_undo)
{
    char *wrapped;
    ASSERT_EQ_INT(round_trip("{\"mcpServers\": {\"--\": {\"command\": \"x\", \"args\": [\"y\"]}}}",
                             &wrapped),
                  0);
    cJSON *j = cJSON_Parse(wrapped);
    char *args = args_of(entry(j, "mcpServers", "--"));
    ASSERT_EQ_STR(args, "[\"wrap\",\"--name\",\"--\",\"--\",\"x\",\"y\"]");
    cJSON_free(args);
    cJSON_Delete(j);
    free(wrapped);
}

TEST_MAIN(TEST_ENTRY(claude_code_remote_entries_become_wrap_url)
          TEST_ENTRY(vscode_and_cursor_shapes_and_streamable_http)
          TEST_ENTRY(empty_args_and_no_args_each_come_back_from_undo)
          TEST_ENTRY(server_named_double_dash_comes_back_from_undo)
          TEST_ENTRY(remote_entry_with_its_own_env_comes_back_from_undo)
          TEST_ENTRY(url_with_credentials_or_query_goes_to_the_environment)
          TEST_ENTRY(members_keep_their_place_through_wrap_and_undo)
          TEST_ENTRY(entries_that_would_lose_or_double_a_member_are_skipped)
          TEST_ENTRY(each_skipped_entry_says_why)
          TEST_ENTRY(file_that_is_not_strict_json_is_left_untouched))
