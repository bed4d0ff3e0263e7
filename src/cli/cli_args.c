/*
** cli_args.c: checking the options of tail, query, stats, export and
** report.
**
** cmd_read.c collects option strings; here each is checked against the
** commands it applies to and turned into a value before the database is
** opened, so that a mistake is reported (exit status 2) without touching
** anything.  Dates are parsed with ts_parse() exactly as the MCP tools
** parse them, and event types are checked against the enum of the
** embedded log_operation schema, the same list the tools enforce.
*/
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/schemas.h"
#include "../util/diag.h"

enum { TAIL = 1, QUERY = 2, STATS = 4, EXPORT = 8, REPORT = 16 };

static const struct {
    const char *name;
    int mask;
} commands[] = {
    {"tail", TAIL}, {"query", QUERY}, {"stats", STATS}, {"export", EXPORT},
    {"report", REPORT},
};

/* Each string option: its name for messages, where it lives, and the
** commands it applies to. */
static const struct {
    const char *name;
    size_t offset;
    int mask;
} string_opts[] = {
    {"-n/--lines", offsetof(cli_args, lines), TAIL},
    {"--user", offsetof(cli_args, user), QUERY | EXPORT | REPORT},
    {"--project", offsetof(cli_args, project), QUERY | EXPORT | REPORT},
    {"--event-type", offsetof(cli_args, event_type), QUERY | EXPORT | REPORT},
    {"--operation-name", offsetof(cli_args, operation_name), QUERY | EXPORT | REPORT},
    {"--server", offsetof(cli_args, server), QUERY | EXPORT | REPORT},
    {"--session", offsetof(cli_args, session), QUERY | EXPORT | REPORT},
    {"--since", offsetof(cli_args, since), QUERY | EXPORT | REPORT},
    {"--until", offsetof(cli_args, until), QUERY | EXPORT | REPORT},
    {"--search", offsetof(cli_args, search), QUERY},
    {"--limit", offsetof(cli_args, limit), QUERY},
    {"--format", offsetof(cli_args, format), EXPORT},
    {"-o/--output", offsetof(cli_args, output), EXPORT | REPORT},
};

static const char *string_at(const cli_args *a, size_t offset)
{
    return *(const char *const *)((const char *)a + offset);
}

static int command_mask(const char *command)
{
    for (size_t i = 0; command && i < sizeof commands / sizeof *commands; i++)
        if (strcmp(command, commands[i].name) == 0) return commands[i].mask;
    return 0;
}

/* Write the sentence into err and return CLI_EUSAGE. */
#define usage(err, errlen, ...) diag_err(err, errlen, CLI_EUSAGE, __VA_ARGS__)

/* An integer from lo to hi, or -1. */
static int parse_count(const char *s, long long lo, long long hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Whether t is one of the event types of the log_operation schema.  When
** the schema cannot be read (it always can: it is embedded), anything
** goes, and the query simply finds nothing. */
static int known_event_type(const char *t, char *list, size_t listlen)
{
    const schema_file *f = NULL;
    int known = 1;
    list[0] = '\0';
    for (size_t i = 0; i < schema_file_count; i++)
        if (strcmp(schema_files[i].name, "log_operation.input.json") == 0) f = &schema_files[i];
    cJSON *schema = f ? cJSON_ParseWithLength(f->text, f->len) : NULL;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    const cJSON *et = cJSON_GetObjectItemCaseSensitive(props, "event_type");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(et, "enum");
    if (cJSON_IsArray(values)) {
        size_t at = 0;
        const cJSON *v;
        known = 0;
        cJSON_ArrayForEach(v, values) {
            if (!cJSON_IsString(v)) continue;
            if (strcmp(v->valuestring, t) == 0) known = 1;
            int n = snprintf(list + at, listlen - at, "%s%s", at ? ", " : "", v->valuestring);
            if (n > 0 && (size_t)n < listlen - at) at += (size_t)n;
        }
    }
    cJSON_Delete(schema);
    return known;
}

/* Parse one end of a date range into a normalized bound. */
static int parse_bound(const char *opt, const char *s, int end_of_day, int64_t *us,
                       char out[TS_BUFLEN], char *err, size_t errlen)
{
    char why[200];
    if (ts_parse(s, end_of_day, us, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", opt, why);
        return CLI_EUSAGE;
    }
    ts_format(*us, out);
    return CLI_OK;
}

int cli_check(const char *command, cli_args *a, char *err, size_t errlen)
{
    int mask = command_mask(command);
    if (!mask) return usage(err, errlen, "'%s' is not a command of this kind", command ? command : "");
    for (size_t i = 0; i < sizeof string_opts / sizeof *string_opts; i++) {
        const char *v = string_at(a, string_opts[i].offset);
        if (!v) continue;
        if (!(string_opts[i].mask & mask))
            return usage(err, errlen, "option %s does not apply to '%s'", string_opts[i].name, command);
        if (!*v) return usage(err, errlen, "option %s needs a non-empty value", string_opts[i].name);
    }
    if (a->follow && !(mask & TAIL))
        return usage(err, errlen, "option -f/--follow does not apply to '%s'", command);
    if (a->json && (mask & EXPORT))
        return usage(err, errlen, "option --json does not apply to '%s' (use --format)", command);
    if (a->json && (mask & REPORT))
        return usage(err, errlen, "option --json does not apply to '%s'", command);

    a->count = mask & TAIL ? 10 : 100;
    if (a->lines && parse_count(a->lines, 0, 1000000000, &a->count) != 0)
        return usage(err, errlen, "-n/--lines must be an integer from 0 to 1000000000, not '%s'", a->lines);
    if (a->limit && parse_count(a->limit, 1, 1000000000, &a->count) != 0)
        return usage(err, errlen, "--limit must be an integer from 1 to 1000000000, not '%s'", a->limit);

    int64_t from = 0, to = 0;
    a->since_ts[0] = a->until_ts[0] = '\0';
    if (a->since && parse_bound("--since", a->since, 0, &from, a->since_ts, err, errlen))
        return CLI_EUSAGE;
    if (a->until && parse_bound("--until", a->until, 1, &to, a->until_ts, err, errlen))
        return CLI_EUSAGE;
    if (a->since && a->until && from > to)
        return usage(err, errlen, "--since (%s) is after --until (%s)", a->since_ts, a->until_ts);

    if (a->event_type) {
        char list[512];
        if (!known_event_type(a->event_type, list, sizeof list))
            return usage(err, errlen, "--event-type '%s' is not an event type; use one of: %s",
                         a->event_type, list);
    }

    if ((mask & REPORT) && (!a->since || !a->until || !a->output))
        return usage(err, errlen, "--since DATE, --until DATE and --output FILE are required");

    a->fmt = CLI_FORMAT_NONE;
    if (mask & EXPORT) {
        if (!a->format) return usage(err, errlen, "--format jsonl, csv, ocsf or otlp is required");
        if (strcmp(a->format, "jsonl") == 0) a->fmt = CLI_FORMAT_JSONL;
        else if (strcmp(a->format, "csv") == 0) a->fmt = CLI_FORMAT_CSV;
        else if (strcmp(a->format, "ocsf") == 0) a->fmt = CLI_FORMAT_OCSF;
        else if (strcmp(a->format, "otlp") == 0) a->fmt = CLI_FORMAT_OTLP;
        else return usage(err, errlen, "--format must be jsonl, csv, ocsf or otlp, not '%s'",
                          a->format);
    }
    return CLI_OK;
}

store_query cli_filter(const cli_args *a)
{
    return (store_query){
        .project_id = a->project, .user_id = a->user,
        .operation_name = a->operation_name, .event_type = a->event_type,
        .server = a->server, .session_id = a->session, .log = a->log,
        .since = a->since_ts[0] ? a->since_ts : NULL,
        .until = a->until_ts[0] ? a->until_ts : NULL,
        .text = a->search,
    };
}
