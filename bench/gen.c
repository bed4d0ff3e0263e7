/*
** gen.c: deterministic synthetic audit entries (see gen.h).
*/
#include "gen.h"

#include "scrub/scrub.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

void gen_seed(gen_rng *r, uint64_t seed)
{
    r->s = seed ^ 0x9e3779b97f4a7c15ull;
}

/* splitmix64 */
uint64_t gen_next(gen_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t gen_below(gen_rng *r, uint32_t n)
{
    return (uint32_t)(((gen_next(r) >> 32) * (uint64_t)n) >> 32);
}

const char *const gen_event_types[GEN_EVENT_TYPES] = {
    "tool_call",      "credential_access", "credential_create",
    "credential_delete", "project_create", "project_update",
    "project_delete", "component_sync",    "token_sync",
    "state_transition", "error",           "security_event",
};

/* Percent weights of the event types above; they sum to 100. */
static const int type_weight[GEN_EVENT_TYPES] = {30, 10, 3, 2, 3, 12,
                                                 1,  15, 10, 8, 4, 2};

/* Operation names by event type. */
static const char *const op_names[GEN_EVENT_TYPES][5] = {
    {"read_file", "run_command", "edit_file", "list_directory", "web_fetch"},
    {"get_credential", "read_secret", "fetch_api_key", NULL, NULL},
    {"create_credential", "store_api_key", NULL, NULL, NULL},
    {"delete_credential", "revoke_api_key", NULL, NULL, NULL},
    {"create_project", "clone_project", NULL, NULL, NULL},
    {"update_project", "rename_project", "update_settings", "add_member", NULL},
    {"delete_project", "archive_project", NULL, NULL, NULL},
    {"sync_components", "import_figma_file", "publish_library", "pull_components", NULL},
    {"sync_tokens", "export_tokens", "import_tokens", NULL, NULL},
    {"transition_state", "approve_review", "request_changes", "merge_branch", NULL},
    {"handle_error", "retry_operation", NULL, NULL, NULL},
    {"detect_anomaly", "block_request", "rotate_keys", NULL, NULL},
};

static const char *const error_messages[] = {
    "upstream returned 502 Bad Gateway after 3 retries",
    "permission denied: user lacks write access to the project",
    "rate limit exceeded: 429 Too Many Requests, retry after 30s",
    "validation failed: component name must be unique within the library",
    "timeout after 30000 ms waiting for the figma API",
    "conflict: the project was modified by another user",
    "credential expired; re-authentication required",
    "file not found: tokens/colors.json",
};

static const char *const components[] = {"Button", "Card", "Modal", "Tooltip",
                                         "Avatar", "Badge", "Tabs", "DatePicker"};
static const char *const variants[] = {"primary", "secondary", "ghost", "danger"};
static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
static const char *const states[] = {"draft", "review", "approved", "published",
                                     "archived"};

void gen_user_id(int i, char out[16])
{
    snprintf(out, 16, "user-%02d", i);
}

static void rand_hex(gen_rng *r, char *out, int n)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) out[i] = hex[gen_below(r, 16)];
    out[n] = '\0';
}

static void rand_alnum(gen_rng *r, char *out, int n)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < n; i++) out[i] = al[gen_below(r, sizeof al - 1)];
    out[n] = '\0';
}

/* The nested arguments of an operation, about 600 bytes serialized, with
** secrets at several depths for the scrubber to find. */
static cJSON *make_args(gen_rng *r, const gen_entry *e)
{
    char buf[160], key[48], pw[24], hex[40];
    cJSON *a = cJSON_CreateObject();
    if (!a) return NULL;

    cJSON *req = cJSON_AddObjectToObject(a, "request");
    cJSON_AddStringToObject(req, "method", methods[gen_below(r, 5)]);
    snprintf(buf, sizeof buf, "/v1/projects/%s/components/%u", e->project_id,
             gen_below(r, 100000));
    cJSON_AddStringToObject(req, "path", buf);
    cJSON *hdr = cJSON_AddObjectToObject(req, "headers");
    rand_alnum(r, key, 40);
    snprintf(buf, sizeof buf, "Bearer %s", key);
    cJSON_AddStringToObject(hdr, "authorization", buf);
    cJSON_AddStringToObject(hdr, "content_type", "application/json");

    cJSON *params = cJSON_AddObjectToObject(a, "params");
    cJSON *comp = cJSON_AddObjectToObject(params, "component");
    cJSON_AddStringToObject(comp, "name", components[gen_below(r, 8)]);
    cJSON_AddStringToObject(comp, "variant", variants[gen_below(r, 4)]);
    cJSON *props = cJSON_AddObjectToObject(comp, "props");
    cJSON_AddStringToObject(props, "size", gen_below(r, 2) ? "md" : "lg");
    cJSON_AddBoolToObject(props, "disabled", gen_below(r, 5) == 0);
    snprintf(buf, sizeof buf, "#%06x", gen_below(r, 0x1000000));
    cJSON_AddStringToObject(props, "color", buf);
    cJSON *spacing = cJSON_AddArrayToObject(props, "spacing");
    for (int i = 0; i < 4; i++)
        cJSON_AddItemToArray(spacing, cJSON_CreateNumber(4 * (i + 1)));
    rand_alnum(r, key, 32);
    snprintf(buf, sizeof buf, "sk_live_%s", key);
    cJSON_AddStringToObject(params, "api_key", buf);
    cJSON *opts = cJSON_AddObjectToObject(params, "options");
    cJSON_AddBoolToObject(opts, "dry_run", gen_below(r, 10) == 0);
    cJSON_AddNumberToObject(opts, "retries", gen_below(r, 5));
    cJSON_AddNumberToObject(opts, "timeout_ms", 30000);
    rand_alnum(r, pw, 16);
    cJSON_AddStringToObject(opts, "password", pw);

    cJSON *ctx = cJSON_AddObjectToObject(a, "context");
    cJSON_AddStringToObject(ctx, "agent", "claude-code");
    rand_hex(r, hex, 32);
    cJSON_AddStringToObject(ctx, "session_id", hex);
    cJSON *trace = cJSON_AddArrayToObject(ctx, "trace");
    static const char *const steps[] = {"plan", "fetch", "diff", "apply", "verify"};
    int nsteps = 2 + (int)gen_below(r, 4);
    for (int i = 0; i < nsteps; i++)
        cJSON_AddItemToArray(trace, cJSON_CreateString(steps[i]));
    cJSON *fig = cJSON_AddObjectToObject(ctx, "figma");
    rand_alnum(r, key, 24);
    snprintf(buf, sizeof buf, "figd_%s", key);
    cJSON_AddStringToObject(fig, "figma_token", buf);
    rand_alnum(r, key, 22);
    cJSON_AddStringToObject(fig, "file_key", key);
    cJSON_AddNumberToObject(ctx, "elapsed_ms", gen_below(r, 100000) / 10.0);
    return a;
}

int gen_entry_make(gen_rng *r, gen_entry *e)
{
    memset(e, 0, sizeof *e);
    int w = (int)gen_below(r, 100), t = 0;
    while (w >= type_weight[t]) w -= type_weight[t++];
    e->event_type = gen_event_types[t];
    int nops = 0;
    while (nops < 5 && op_names[t][nops]) nops++;
    snprintf(e->operation_name, sizeof e->operation_name, "%s",
             op_names[t][gen_below(r, (uint32_t)nops)]);
    gen_user_id((int)gen_below(r, GEN_USERS), e->user_id);
    snprintf(e->project_id, sizeof e->project_id, "proj-%03u",
             gen_below(r, GEN_PROJECTS));
    char hex[40];
    rand_hex(r, hex, 16);
    snprintf(e->operation_id, sizeof e->operation_id, "op-%s", hex);
    if (gen_below(r, 10) == 0)
        snprintf(e->error, sizeof e->error, "%s",
                 error_messages[gen_below(r, 8)]);
    if (gen_below(r, GEN_TERM_EVERY) == 0) {
        /* Plant the search term, in mixed case, half in the name and half
        ** in the error message. */
        if (gen_below(r, 2))
            snprintf(e->operation_name, sizeof e->operation_name,
                     "sync_ZebraQuota_%u", gen_below(r, 100));
        else
            snprintf(e->error, sizeof e->error,
                     "quota check failed: ZEBRAQUOTA limit reached for %s",
                     e->project_id);
    }
    if (!(e->args = make_args(r, e))) return -1;
    if (!e->error[0] && gen_below(r, 2)) {
        e->result = cJSON_CreateObject();
        if (!e->result) return -1;
        cJSON_AddStringToObject(e->result, "status", "ok");
        cJSON_AddNumberToObject(e->result, "changed", gen_below(r, 50));
    }
    if (t == 5 || t == 9) { /* project_update, state_transition */
        uint32_t s = gen_below(r, 4);
        e->before = cJSON_CreateObject();
        e->after = cJSON_CreateObject();
        if (!e->before || !e->after) return -1;
        cJSON_AddStringToObject(e->before, "state", states[s]);
        cJSON_AddStringToObject(e->after, "state", states[s + 1]);
    }
    return 0;
}

void gen_entry_free(gen_entry *e)
{
    cJSON_Delete(e->args);
    cJSON_Delete(e->result);
    cJSON_Delete(e->before);
    cJSON_Delete(e->after);
    e->args = e->result = e->before = e->after = NULL;
}

double gen_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

long long gen_num_arg(const char *s, void (*usage)(void))
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) usage();
    return v;
}

char *gen_scrubbed(cJSON *tree)
{
    if (!tree || scrub_tree(tree) != 0) return NULL;
    return cJSON_PrintUnformatted(tree);
}

static sqlite3 *captured;
static int n_captured;

static int capture(sqlite3 *db, const char **errmsg, const struct sqlite3_api_routines *api)
{
    (void)errmsg;
    (void)api;
    captured = db;
    n_captured++;
    return SQLITE_OK;
}

void gen_capture_connections(void)
{
    sqlite3_auto_extension((void (*)(void))capture);
}

sqlite3 *gen_captured(int *count)
{
    *count = n_captured;
    return captured;
}

long gen_proc_kb(int pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

char *gen_record_args(const gen_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "event_type", e->event_type);
    cJSON_AddStringToObject(o, "operation_name", e->operation_name);
    cJSON_AddStringToObject(o, "operation_id", e->operation_id);
    cJSON_AddStringToObject(o, "user_id", e->user_id);
    cJSON_AddStringToObject(o, "project_id", e->project_id);
    if (e->error[0]) cJSON_AddStringToObject(o, "error", e->error);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double gen_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
