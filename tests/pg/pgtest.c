/*
** pgtest.c: fresh databases in the test cluster, and superuser SQL.
** See pgtest.h.
*/
#include "pgtest.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "pgtest: %s\n", what);
    exit(1);
}

/* PGHOST and PGPORT from the fixture's env file. */
static void cluster(char *host, size_t hlen, char *port, size_t plen)
{
    const char *state = getenv("DSS_PG_STATE");
    if (!state || !*state) die("DSS_PG_STATE is not set: run through ctest (fixture pg)");
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/env", state);
    FILE *f = fopen(path, "r");
    if (!f) die("the test cluster is not running (no DSS_PG_STATE/env): "
                "tests/pg/cluster.sh start failed or was not run");
    host[0] = port[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(line + 7);
        if (!strncmp(line, "PGHOST=", 7) && n < hlen) memcpy(host, line + 7, n + 1);
        if (!strncmp(line, "PGPORT=", 7) && n < plen) memcpy(port, line + 7, n + 1);
    }
    fclose(f);
    if (!host[0] || !port[0]) die("the cluster's env file has no PGHOST or PGPORT");
}

int pgtest_exec_err(const char *conninfo, const char *sql, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(conninfo);
    int rc = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        if (err) snprintf(err, errlen, "%s", PQerrorMessage(c));
        fprintf(stderr, "pgtest: connecting: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        if (err) snprintf(err, errlen, "%s", PQerrorMessage(c));
        rc = -1;
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

int pgtest_exec(const char *conninfo, const char *sql)
{
    char err[512];
    int rc = pgtest_exec_err(conninfo, sql, err, sizeof err);
    if (rc != 0) fprintf(stderr, "pgtest: %s: %s", sql, err);
    return rc;
}

long long pgtest_value(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    long long v = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            v = atoll(PQgetvalue(r, 0, 0));
        else if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

void pgtest_new_db(char *conninfo, size_t len)
{
    static unsigned counter;
    char host[512], port[16], admin[700], name[64], sql[128];
    cluster(host, sizeof host, port, sizeof port);
    snprintf(admin, sizeof admin, "host=%s port=%s user=postgres dbname=postgres", host, port);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof name, "t_%ld_%ld_%u", (long)getpid(), (long)ts.tv_nsec, counter++);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (pgtest_exec(admin, sql) != 0) die("cannot create a test database");
    snprintf(conninfo, len, "host=%s port=%s user=postgres dbname=%s", host, port, name);
}
