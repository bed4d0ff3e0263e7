/*
** pgtest.h: what every test needing PostgreSQL shares: a fresh database of
** its own in the cluster the ctest fixture `pg` started (tests/pg/cluster.sh),
** and running SQL in it as the superuser (for setup and tamper cases).
**
** The fixture's state folder is given by DSS_PG_STATE; its file `env`
** holds PGHOST, PGPORT and PGUSER.  A missing cluster is a failure, never a
** skip: these functions abort the test binary with a message.
*/
#ifndef DSS_PGTEST_H
#define DSS_PGTEST_H

#include <stddef.h>

/* Create a new database with a unique name and write a libpq keyword
** string reaching it ("host=... port=... user=postgres dbname=...") into
** conninfo (len bytes).  Aborts on failure. */
void pgtest_new_db(char *conninfo, size_t len);

/* Run sql (one or several statements) on conninfo's database.  Returns 0,
** or -1 with PostgreSQL's message on stderr (and into err when not NULL,
** errlen bytes). */
int pgtest_exec(const char *conninfo, const char *sql);
int pgtest_exec_err(const char *conninfo, const char *sql, char *err, size_t errlen);

/* The first column of the first row of sql's result as a number (-1 on
** failure or no row). */
long long pgtest_value(const char *conninfo, const char *sql);

#endif
