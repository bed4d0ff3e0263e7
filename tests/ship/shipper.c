/*
** shipper.c: a test-only front end to the ship module, standing in for
** the `ship` command until the command table carries its options.
**
**   shipper --db FILE --to URL [--to URL ...] [--follow] [--format F]
**           [--from-start | --from-now] [--batch N] [--poll-ms N]
**           [--ca FILE] [--client-cert FILE --client-key FILE] [--cursor-dir DIR]
**           [--timeout-ms N] [--backoff-max-ms N] [--hostname NAME]
**           [--token-file FILE] [--secret-file FILE]
**
** Like the command will, it takes the sink secrets from
** DSS_AUDIT_SINK_TOKEN and DSS_AUDIT_SINK_SECRET (or the files named),
** never from argv; stops cleanly on SIGTERM or SIGINT; prints the run's
** summary as one JSON line on stdout and exits 0 (done), 1 (a sink failed)
** or 2 (a usage error).
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ship/ship.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The first line of a file, without its newline: a secret given by file.
** Freed by the caller. */
static char *read_secret(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    if (!f) return NULL;
    char *line = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!line) return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

int main(int argc, char **argv)
{
    const char *to[SHIP_MAX_SINKS];
    ship_options o = {0};
    char *token = NULL, *secret = NULL;
    int nto = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (OPT("--db")) o.from = v;
        else if (OPT("--to")) {
            if (nto == SHIP_MAX_SINKS) {
                fprintf(stderr, "shipper: too many --to\n");
                return 2;
            }
            to[nto++] = v;
        } else if (strcmp(a, "--follow") == 0) o.follow = 1;
        else if (strcmp(a, "--from-start") == 0) o.start = SHIP_FROM_START;
        else if (strcmp(a, "--from-now") == 0) o.start = SHIP_FROM_NOW;
        else if (OPT("--format")) {
            if ((o.format = sink_format_parse(v)) == SINK_FORMAT_DEFAULT) {
                fprintf(stderr, "shipper: --format is jsonl, ocsf or otlp\n");
                return 2;
            }
        } else if (OPT("--batch")) o.batch = atoi(v);
        else if (OPT("--poll-ms")) o.poll_ms = atoi(v);
        else if (OPT("--timeout-ms")) o.timeout_ms = atoi(v);
        else if (OPT("--backoff-max-ms")) o.backoff_max_ms = atoi(v);
        else if (OPT("--ca")) o.ca_file = v;
        else if (OPT("--client-cert")) o.cert_file = v;
        else if (OPT("--client-key")) o.key_file = v;
        else if (OPT("--cursor-dir")) o.cursor_dir = v;
        else if (OPT("--hostname")) o.hostname = v;
        else if (OPT("--log")) o.log_name = v;
        else if (OPT("--token-file")) {
            free(token);
            if (!(token = read_secret(v))) {
                fprintf(stderr, "shipper: cannot read %s\n", v);
                return 2;
            }
        } else if (OPT("--secret-file")) {
            free(secret);
            if (!(secret = read_secret(v))) {
                fprintf(stderr, "shipper: cannot read %s\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "shipper: unknown option %s\n", a);
            return 2;
        }
#undef OPT
    }
    /* Secrets from the environment are copied, then wiped where they lie:
    ** /proc/PID/environ (`ps e`) shows the first environment whatever
    ** unsetenv() does to the list. */
    const char *const vars[] = {"DSS_AUDIT_SINK_TOKEN", "DSS_AUDIT_SINK_SECRET"};
    char **dest[] = {&token, &secret};
    for (int i = 0; i < 2; i++) {
        char *v = getenv(vars[i]);
        if (!v) continue;
        if (!*dest[i]) *dest[i] = strdup(v);
        memset(v, 'x', strlen(v));
        unsetenv(vars[i]);
    }
    o.token = token;
    o.secret = secret;
    o.to_list = to;
    o.nto = nto;
    o.map_file = 1; /* as the command: a process that serves no one */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    o.stop = &stop;

    static ship_result r;
    char err[1024];
    int rc = ship_run(&o, &r, err, sizeof err);
    free(token);
    free(secret);
    if (rc != SHIP_OK) fprintf(stderr, "shipper: %s\n", err);
    cJSON *j = cJSON_CreateObject(), *sinks = cJSON_AddArrayToObject(j, "sinks");
    cJSON_AddStringToObject(j, "log_id", r.log_id);
    cJSON_AddNumberToObject(j, "shipped", (double)r.shipped);
    cJSON_AddNumberToObject(j, "head_seq", (double)r.head_seq);
    for (int i = 0; i < r.nsinks; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddItemToArray(sinks, s);
        cJSON_AddStringToObject(s, "sink", r.sink[i].sink);
        cJSON_AddNumberToObject(s, "shipped", (double)r.sink[i].shipped);
        cJSON_AddNumberToObject(s, "rejected", (double)r.sink[i].rejected);
        cJSON_AddNumberToObject(s, "cursor", (double)r.sink[i].cursor);
        if (r.sink[i].failed) cJSON_AddStringToObject(s, "error", r.sink[i].error);
    }
    char *text = cJSON_PrintUnformatted(j);
    if (text) puts(text);
    cJSON_free(text);
    cJSON_Delete(j);
    return rc == SHIP_OK ? 0 : rc == SHIP_EUSAGE ? 2 : 1;
}
