/*
** trail.c: reading back the trail a case's program wrote (see trail.h).
*/
#define _GNU_SOURCE
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Everything in the trail, oldest first, as an array owned by s; NULL with
** a sentence in why when `query` fails or prints anything but entries, so
** that a failed query never reads as "nothing was recorded". */
cJSON *trail_of(srv *s, char *why, size_t cap)
{
    char *cmd = srv_fmt(s, "'%s' query --db '%s/audit.db' --json --limit 100000",
                        getenv("DSS_BIN"), srv_dir(s));
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(why, cap, "cannot run %s", cmd);
        return NULL;
    }
    cJSON *all = srv_keep(s, cJSON_CreateArray());
    char *line = NULL;
    size_t cap_line = 0;
    int bad = 0;
    while (getline(&line, &cap_line, p) > 0) {
        cJSON *e = cJSON_Parse(line);
        if (!cJSON_IsObject(e) && !bad++) snprintf(why, cap, "query printed %.200s", line);
        if (e) cJSON_AddItemToArray(all, e); /* newest first */
    }
    free(line);
    int st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(why, cap, "%s exited with status %d", cmd, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return NULL;
    }
    if (bad) return NULL;
    cJSON *rev = srv_keep(s, cJSON_CreateArray());
    for (int i = cJSON_GetArraySize(all) - 1; i >= 0; i--)
        cJSON_AddItemReferenceToArray(rev, cJSON_GetArrayItem(all, i));
    return rev;
}

int count_type(const cJSON *t, const char *type)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, t) {
        const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(e, "event_type"));
        n += et && strcmp(et, type) == 0;
    }
    return n;
}

/* The first entry of type with operation_name op (NULL: any). */
const cJSON *find(const cJSON *t, const char *type, const char *op)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, t) {
        const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(e, "event_type"));
        const char *on = cJSON_GetStringValue(cJSON_GetObjectItem(e, "operation_name"));
        if (et && strcmp(et, type) == 0 && (!op || (on && strcmp(on, op) == 0)))
            return e;
    }
    return NULL;
}

/* The outcome entry completing entry e. */
const cJSON *outcome_of(const cJSON *t, const cJSON *e)
{
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "id"));
    const cJSON *o;
    cJSON_ArrayForEach(o, t) {
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(o, "completes"));
        if (id && c && strcmp(c, id) == 0) return o;
    }
    return NULL;
}

int verify_ok(srv *s)
{
    char *cmd = srv_fmt(s, "'%s' verify --db '%s/audit.db' >/dev/null 2>&1",
                        getenv("DSS_BIN"), srv_dir(s));
    int rc = system(cmd);
    return WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

