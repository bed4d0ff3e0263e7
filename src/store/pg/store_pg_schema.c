/*
** store_pg_schema.c: the central PostgreSQL schema (namespace dss_audit)
** and its migrations.
**
** The schema is versioned by dss_audit.schema_version (one row, no key).
** Migrations run in order inside one transaction holding a fixed advisory
** lock (PG_LOCK_MIGRATE), so servers starting together migrate once: the
** others wait, then find the schema current.  A database whose version is
** newer than this code is refused with STORE_ESCHEMA.
**
** Decisions written down here, with the tables:
** - Every primary and unique key leads with log_id, so the tables can be
**   distributed by log_id on Citus.  Names of logs are not keys: creating
**   a log by name is serialized by an advisory lock on the name instead.
** - entries holds the exact bytes the hash covers: text columns (COLLATE
**   "C", so created_at orders byte-wise like ts_format() text), duration_ms
**   bigint (hashed as its decimal text), hashes bytea.
** - entries is range-partitioned by created_at, one partition a month
**   ('2026-12' to '2027-01' in text order), created on demand by
**   dss_audit.ensure_partition(), a SECURITY DEFINER function: partitions
**   belong to the schema's owner, never to a writer, so a writer (INSERT
**   and SELECT only) can neither truncate nor drop them.  Retention drops
**   whole partitions as the owner (store_pg_scan.c).
** - Uniqueness of (log_id, seq) comes from the head lock: every append
**   locks its log's row in dss_audit.logs (SELECT ... FOR UPDATE) and
**   numbers from it.  The primary key must hold the partition key, so it
**   is (log_id, seq, created_at).
** - Append-only in layers: row triggers refuse UPDATE and DELETE of
**   entries and checkpoints, statement triggers refuse TRUNCATE (also on
**   every partition), a logs row may only move its head forward and set its
**   public key once.  Roles are the other layer (docs/postgres.md).
** - The per-user activity counters are kept by a statement-level trigger
**   over the inserted rows (a transition table), in the same transaction
**   as the insert, whichever path inserts (append's COPY, import).
*/
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Version 1: the whole central schema, in parts (C99 string limits). */
static const char m1_logs[] =
    "CREATE SCHEMA IF NOT EXISTS dss_audit;"
    "CREATE TABLE dss_audit.schema_version (version integer NOT NULL);"
    "INSERT INTO dss_audit.schema_version VALUES (0);"

    /* Refuses any change: the body of every append-only trigger. */
    "CREATE FUNCTION dss_audit.refuse_change() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$ BEGIN"
    "  RAISE EXCEPTION 'dss_audit.% is append-only: % refused', TG_TABLE_NAME, TG_OP"
    "    USING ERRCODE = 'insufficient_privilege';"
    " END $f$;"

    /* One row per log: its identity and its chain head, the row every
    ** append locks. */
    "CREATE TABLE dss_audit.logs ("
    "  log_id text COLLATE \"C\" PRIMARY KEY,"
    "  name text COLLATE \"C\" NOT NULL,"
    "  public_key text COLLATE \"C\","
    "  created_at text COLLATE \"C\" NOT NULL,"
    "  head_seq bigint NOT NULL DEFAULT 0,"
    "  head_hash bytea NOT NULL DEFAULT '\\x0000000000000000000000000000000000000000000000000000000000000000',"
    "  head_created_at text COLLATE \"C\");"
    "CREATE INDEX logs_name ON dss_audit.logs (name);"
    "CREATE FUNCTION dss_audit.logs_guard() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$ BEGIN"
    "  IF TG_OP = 'DELETE' THEN"
    "    RAISE EXCEPTION 'dss_audit.logs is append-only: a log cannot be deleted'"
    "      USING ERRCODE = 'insufficient_privilege';"
    "  END IF;"
    "  IF NEW.log_id IS DISTINCT FROM OLD.log_id OR NEW.name IS DISTINCT FROM OLD.name"
    "     OR NEW.created_at IS DISTINCT FROM OLD.created_at"
    "     OR (OLD.public_key IS NOT NULL AND NEW.public_key IS DISTINCT FROM OLD.public_key)"
    "     OR NEW.head_seq < OLD.head_seq THEN"
    "    RAISE EXCEPTION 'dss_audit.logs: only the head may move forward and the key be set once'"
    "      USING ERRCODE = 'insufficient_privilege';"
    "  END IF;"
    "  RETURN NEW;"
    " END $f$;"
    "CREATE TRIGGER logs_guard BEFORE UPDATE OR DELETE ON dss_audit.logs"
    "  FOR EACH ROW EXECUTE FUNCTION dss_audit.logs_guard();"
    "CREATE TRIGGER logs_no_truncate BEFORE TRUNCATE ON dss_audit.logs"
    "  FOR EACH STATEMENT EXECUTE FUNCTION dss_audit.refuse_change();"

    ;
static const char m1_entries[] =
    /* The entries: every column of SQLite's audit_log, plus log_id and
    ** the server's name for the server filter (derived from hashed bytes,
    ** so it can never disagree with them). */
    "CREATE TABLE dss_audit.entries ("
    "  log_id text COLLATE \"C\" NOT NULL,"
    "  seq bigint NOT NULL,"
    "  id text COLLATE \"C\" NOT NULL,"
    "  event_type text COLLATE \"C\" NOT NULL,"
    "  operation_name text COLLATE \"C\" NOT NULL,"
    "  operation_id text COLLATE \"C\","
    "  user_id text COLLATE \"C\","
    "  project_id text COLLATE \"C\","
    "  args text COLLATE \"C\" NOT NULL,"
    "  result text COLLATE \"C\","
    "  error text COLLATE \"C\","
    "  before_state text COLLATE \"C\","
    "  after_state text COLLATE \"C\","
    "  created_at text COLLATE \"C\" NOT NULL,"
    "  client text COLLATE \"C\","
    "  prev_hash bytea NOT NULL,"
    "  hash bytea NOT NULL,"
    "  server text COLLATE \"C\","
    "  session_id text COLLATE \"C\","
    "  duration_ms bigint,"
    "  completes text COLLATE \"C\","
    "  cwd text COLLATE \"C\","
    "  server_name text COLLATE \"C\""
    "    GENERATED ALWAYS AS ((server::jsonb) ->> 'name') STORED,"
    "  PRIMARY KEY (log_id, seq, created_at)"
    ") PARTITION BY RANGE (created_at);"
    /* Across logs, newest first: (created_at, log_id, seq) descending. */
    "CREATE INDEX entries_time ON dss_audit.entries (created_at, log_id, seq);"
    "CREATE INDEX entries_log_time ON dss_audit.entries (log_id, created_at, seq);"
    "CREATE INDEX entries_id ON dss_audit.entries (id);"
    "CREATE INDEX entries_user ON dss_audit.entries (user_id, created_at, log_id, seq)"
    "  WHERE user_id IS NOT NULL;"
    "CREATE INDEX entries_project ON dss_audit.entries (project_id, created_at, log_id, seq)"
    "  WHERE project_id IS NOT NULL;"
    "CREATE INDEX entries_opname ON dss_audit.entries (operation_name, created_at, log_id, seq);"
    "CREATE INDEX entries_type ON dss_audit.entries (event_type, created_at, log_id, seq);"
    "CREATE INDEX entries_server ON dss_audit.entries (server_name, created_at, log_id, seq)"
    "  WHERE server_name IS NOT NULL;"
    "CREATE INDEX entries_session ON dss_audit.entries (session_id, created_at, log_id, seq)"
    "  WHERE session_id IS NOT NULL;"
    "CREATE INDEX entries_completes ON dss_audit.entries (completes, created_at, log_id, seq)"
    "  WHERE completes IS NOT NULL;"
    /* The trigram indexes are made by pgs_migrate(): their operator class
    ** lives in whichever schema holds pg_trgm. */
    "CREATE TRIGGER entries_no_change BEFORE UPDATE OR DELETE ON dss_audit.entries"
    "  FOR EACH ROW EXECUTE FUNCTION dss_audit.refuse_change();"
    "CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON dss_audit.entries"
    "  FOR EACH STATEMENT EXECUTE FUNCTION dss_audit.refuse_change();"

    ;
static const char m1_partition[] =
    /* Creates the partition of one month when missing.  SECURITY DEFINER:
    ** it runs as the schema's owner, so the partition is the owner's and a
    ** writer gets no right over it but INSERT and SELECT through the parent.
    ** A TRUNCATE of the partition itself is refused like one of the parent
    ** (statement triggers are not inherited). */
    "CREATE FUNCTION dss_audit.ensure_partition(month text) RETURNS void"
    " LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$"
    " DECLARE part text; y int; m int; upper text;"
    " BEGIN"
    "  IF month !~ '^[0-9]{4}-[0-9]{2}$' THEN"
    "    RAISE EXCEPTION 'not a month: %', month USING ERRCODE = 'invalid_parameter_value';"
    "  END IF;"
    "  part := 'entries_' || replace(month, '-', '_');"
    /* pg_class, not to_regclass(): after waiting for the lock, the
    ** cache may still say "missing" for a table another server made. */
    "  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    "    WHERE n.nspname = 'dss_audit' AND c.relname = part) THEN RETURN; END IF;"
    "  PERFORM pg_advisory_xact_lock(" PG_LOCK_PARTITION ");"
    "  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    "    WHERE n.nspname = 'dss_audit' AND c.relname = part) THEN RETURN; END IF;"
    "  y := substr(month, 1, 4)::int; m := substr(month, 6, 2)::int + 1;"
    "  IF m > 12 THEN y := y + 1; m := 1; END IF;"
    "  upper := lpad(y::text, 4, '0') || '-' || lpad(m::text, 2, '0');"
    "  EXECUTE format('CREATE TABLE dss_audit.%I PARTITION OF dss_audit.entries"
    "    FOR VALUES FROM (%L) TO (%L)', part, month, upper);"
    "  EXECUTE format('CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON dss_audit.%I"
    "    FOR EACH STATEMENT EXECUTE FUNCTION dss_audit.refuse_change()', part);"
    " END $f$;"
    "REVOKE ALL ON FUNCTION dss_audit.ensure_partition(text) FROM PUBLIC;"

    ;
static const char m1_checkpoints[] =
    /* Signed checkpoints and retention anchors, numbered per log from 1. */
    "CREATE TABLE dss_audit.checkpoints ("
    "  log_id text COLLATE \"C\" NOT NULL,"
    "  number bigint NOT NULL,"
    "  kind text COLLATE \"C\" NOT NULL CHECK (kind IN ('checkpoint', 'anchor')),"
    "  seq bigint NOT NULL,"
    "  head_hash text COLLATE \"C\" NOT NULL,"
    "  created_at text COLLATE \"C\" NOT NULL,"
    "  prev_checkpoint_hash text COLLATE \"C\" NOT NULL,"
    "  public_key text COLLATE \"C\" NOT NULL,"
    "  signature text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (log_id, number));"
    "CREATE INDEX checkpoints_kind ON dss_audit.checkpoints (log_id, kind, number);"
    "CREATE TRIGGER checkpoints_no_change BEFORE UPDATE OR DELETE ON dss_audit.checkpoints"
    "  FOR EACH ROW EXECUTE FUNCTION dss_audit.refuse_change();"
    "CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON dss_audit.checkpoints"
    "  FOR EACH STATEMENT EXECUTE FUNCTION dss_audit.refuse_change();"

    ;
/* The end of the activity trigger's function, the same in every version:
** the projects each user touched, with when last. */
#define COUNT_PROJECTS_AND_END                                                    \
    "  INSERT INTO dss_audit.activity_projects AS p"                              \
    "    SELECT log_id, user_id, project_id, max(created_at) FROM new_rows"       \
    "    WHERE user_id IS NOT NULL AND project_id IS NOT NULL GROUP BY 1, 2, 3"   \
    "    ON CONFLICT (log_id, user_id, project_id) DO UPDATE"                     \
    "    SET last_seen = greatest(p.last_seen, excluded.last_seen);"              \
    "  RETURN NULL;"                                                              \
    " END $f$;"

static const char m1_activity[] =
    /* Per-user activity counters, as SQLite's activity_daily and
    ** activity_projects, per log.  Derived data: retention rebuilds them. */
    "CREATE TABLE dss_audit.activity_daily ("
    "  log_id text COLLATE \"C\" NOT NULL,"
    "  user_id text COLLATE \"C\" NOT NULL,"
    "  day text COLLATE \"C\" NOT NULL,"
    "  event_type text COLLATE \"C\" NOT NULL,"
    "  n bigint NOT NULL,"
    "  errors bigint NOT NULL,"
    "  PRIMARY KEY (log_id, user_id, day, event_type));"
    "CREATE INDEX activity_daily_user ON dss_audit.activity_daily (user_id, day);"
    "CREATE INDEX activity_daily_day ON dss_audit.activity_daily (day);"
    "CREATE TABLE dss_audit.activity_projects ("
    "  log_id text COLLATE \"C\" NOT NULL,"
    "  user_id text COLLATE \"C\" NOT NULL,"
    "  project_id text COLLATE \"C\" NOT NULL,"
    "  last_seen text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (log_id, user_id, project_id));"
    "CREATE INDEX activity_projects_user ON dss_audit.activity_projects (user_id);"
    "CREATE FUNCTION dss_audit.count_activity() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$ BEGIN"
    "  INSERT INTO dss_audit.activity_daily AS a"
    "    SELECT log_id, user_id, substr(created_at, 1, 10), event_type,"
    "      count(*), count(error) FROM new_rows WHERE user_id IS NOT NULL"
    "    GROUP BY 1, 2, 3, 4"
    "    ON CONFLICT (log_id, user_id, day, event_type) DO UPDATE"
    "    SET n = a.n + excluded.n, errors = a.errors + excluded.errors;"
    COUNT_PROJECTS_AND_END
    "CREATE TRIGGER entries_activity AFTER INSERT ON dss_audit.entries"
    "  REFERENCING NEW TABLE AS new_rows"
    "  FOR EACH STATEMENT EXECUTE FUNCTION dss_audit.count_activity();";

/* Version 2: the transparency log (docs/transparency.md): each log's
** origin (set once, like its key), its Merkle tree's stored hashes by index
** (Go's sumdb/tlog layout), each checkpoint's C2SP signed note, witnesses'
** cosignatures and each witness's state.  The trees start empty and are
** built from the entries by the server that migrates (store_tree.c). */
static const char m2_tree[] =
    "ALTER TABLE dss_audit.logs ADD COLUMN origin text COLLATE \"C\";"
    "CREATE OR REPLACE FUNCTION dss_audit.logs_guard() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$ BEGIN"
    "  IF TG_OP = 'DELETE' THEN"
    "    RAISE EXCEPTION 'dss_audit.logs is append-only: a log cannot be deleted'"
    "      USING ERRCODE = 'insufficient_privilege';"
    "  END IF;"
    "  IF NEW.log_id IS DISTINCT FROM OLD.log_id OR NEW.name IS DISTINCT FROM OLD.name"
    "     OR NEW.created_at IS DISTINCT FROM OLD.created_at"
    "     OR (OLD.public_key IS NOT NULL AND NEW.public_key IS DISTINCT FROM OLD.public_key)"
    "     OR (OLD.origin IS NOT NULL AND NEW.origin IS DISTINCT FROM OLD.origin)"
    "     OR NEW.head_seq < OLD.head_seq THEN"
    "    RAISE EXCEPTION 'dss_audit.logs: only the head may move forward and the key"
    " and origin be set once'"
    "      USING ERRCODE = 'insufficient_privilege';"
    "  END IF;"
    "  RETURN NEW;"
    " END $f$;"
    /* The stored hashes: one row per index, about two per entry.  Not
    ** partitioned: retention keeps them all (a pruned entry stays a leaf). */
    "CREATE TABLE dss_audit.tree ("
    "  log_id text COLLATE \"C\" NOT NULL,"
    "  idx bigint NOT NULL,"
    "  hash bytea NOT NULL,"
    "  PRIMARY KEY (log_id, idx));"
    "CREATE TRIGGER tree_no_change BEFORE UPDATE OR DELETE ON dss_audit.tree"
    "  FOR EACH ROW EXECUTE FUNCTION dss_audit.refuse_change();"
    "CREATE TRIGGER tree_no_truncate BEFORE TRUNCATE ON dss_audit.tree"
    "  FOR EACH STATEMENT EXECUTE FUNCTION dss_audit.refuse_change();"
    "ALTER TABLE dss_audit.checkpoints ADD COLUMN note text COLLATE \"C\";"
    "CREATE TABLE dss_audit.cosignatures ("
    "  log_id text COLLATE \"C\" NOT NULL,"
    "  number bigint NOT NULL,"
    "  witness text COLLATE \"C\" NOT NULL,"
    "  time bigint NOT NULL,"
    "  line text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (log_id, number, witness));"
    "CREATE TRIGGER cosignatures_no_change BEFORE UPDATE OR DELETE ON dss_audit.cosignatures"
    "  FOR EACH ROW EXECUTE FUNCTION dss_audit.refuse_change();"
    "CREATE TRIGGER cosignatures_no_truncate BEFORE TRUNCATE ON dss_audit.cosignatures"
    "  FOR EACH STATEMENT EXECUTE FUNCTION dss_audit.refuse_change();"
    /* Bookkeeping, replaced at each attempt: not evidence. */
    "CREATE TABLE dss_audit.witnesses ("
    "  log_id text COLLATE \"C\" NOT NULL,"
    "  witness text COLLATE \"C\" NOT NULL,"
    "  url text COLLATE \"C\" NOT NULL,"
    "  size bigint NOT NULL,"
    "  last_attempt text COLLATE \"C\" NOT NULL,"
    "  last_ok text COLLATE \"C\" NOT NULL,"
    "  last_error text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (log_id, witness));";

/* Version 3: where each sink is in each log, for `ship` reading the
** shared trail (store_pg_cursor.c).  Bookkeeping, updated in place: no
** append-only trigger, and no foreign key to logs, whose rows appends
** lock FOR UPDATE (a key check would wait on them). */
static const char m3_sink_cursors[] =
    "CREATE TABLE dss_audit.sink_cursors ("
    "  log_id text COLLATE \"C\" NOT NULL,"
    "  sink_key text COLLATE \"C\" NOT NULL,"   /* the shipper's key: sink URL and log */
    "  sink text NOT NULL,"                     /* the sink as messages show it */
    "  seq bigint NOT NULL,"                    /* the last entry acknowledged */
    "  entry_id text COLLATE \"C\" NOT NULL,"
    "  hash text COLLATE \"C\" NOT NULL,"
    "  saved_at timestamptz NOT NULL,"
    "  PRIMARY KEY (log_id, sink_key));";

/* Version 4: a BRIN index on created_at.  A substring search reads one
** window of time at a time (store_pg_query.c); the planner ANDs this index
** with the trigram bitmaps, so a window fetches its own matches rather
** than every match in its partitions (the btree on created_at is not
** ANDed).  Entries arrive in time order, so the index is tiny and cheap to
** keep up.  Building it reads each partition once. */
static const char m4_time_brin[] =
    "CREATE INDEX IF NOT EXISTS entries_time_brin ON dss_audit.entries USING brin (created_at);";

/* Version 5: get_user_activity counts the part of its first day after
** `since` exactly from the user's entries (whole days come from the
** counters).  At 10,000,000 entries that part is about a thousand rows,
** each on a heap page of its own (a user's entries are spread among
** everyone's), 3 ms a call.  The user's index now carries event_type, and
** a partial index the user's errors, so both counts are index-only scans
** (tens of pages).  History by user reads the same index as before: its
** key is unchanged. */
static const char m5_activity_index[] =
    "DROP INDEX IF EXISTS dss_audit.entries_user;"
    "CREATE INDEX entries_user ON dss_audit.entries (user_id, created_at, log_id, seq)"
    "  INCLUDE (event_type) WHERE user_id IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS entries_user_errors ON dss_audit.entries"
    "  (user_id, created_at, log_id) INCLUDE (event_type)"
    "  WHERE user_id IS NOT NULL AND error IS NOT NULL;";

/* Version 6: no BRIN index on created_at (version 4's).  Entries arrive
** in time order, but a page left with room is filled later by a smaller
** row (the free space map), so in the month being written every block
** range soon spans up to now, and the index matches the whole partition:
** ANDed with the trigram bitmaps it only made their pages lossy, every row
** on them rechecked (10,000,000 entries, a search window of a day: 9.9 ms
** with it, 2.5 ms from the trigram bitmaps alone, EXPLAIN ANALYZE in
** bench/RESULTS-pg.md). */
static const char m6_no_time_brin[] = "DROP INDEX IF EXISTS dss_audit.entries_time_brin;";

/* Version 7: the counters' user index carries what get_user_activity sums
** (event_type, n, errors), so its whole days are an index-only scan.  A
** user's counter rows are made one a day per log and event type, each on
** whatever page had room: at 10,000,000 entries a 30-day window was 186
** rows on 122 heap pages, 0.44 ms of the statement, and 0.05 ms read from
** this index (6 pages; EXPLAIN ANALYZE in bench/RESULTS-pg.md).  The price
** is on writes: an update of n now changes an indexed column, so it is no
** longer a heap-only (HOT) update; the counters are a few rows a commit.
** The table is small (27,301 rows at 10,000,000 entries): the rebuild is
** quick at any size. */
static const char m7_activity_cover[] =
    "DROP INDEX IF EXISTS dss_audit.activity_daily_user;"
    "CREATE INDEX activity_daily_user ON dss_audit.activity_daily (user_id, day)"
    "  INCLUDE (event_type, n, errors);";

/* Version 8: per-hour counters beside the per-day ones, so
** get_user_activity reads at most half an hour of a user's entries, not
** half a day: since's day is its hours' counters after since's hour, and
** since's hour is counted from its nearer end.  At 10,000,000 entries that
** half day was up to 3,300 index tuples, most of the statement's time.
** The trigger now aggregates the inserted rows once by hour and adds them
** to both tables in one statement.  The table is filled from the entries
** when it is created (a GROUP BY over all of them: tens of seconds at
** 10,000,000, inside the migration's transaction) and takes the privileges
** the daily counters have, so the writers an administrator granted those
** to keep writing; both only when the table is new, so the version
** re-runs cleanly (bench/run-pg's fit_schema relies on it). */
static const char m8_activity_hourly[] =
    "DO $m$ BEGIN"
    " IF to_regclass('dss_audit.activity_hourly') IS NULL THEN"
    "  CREATE TABLE dss_audit.activity_hourly ("
    "    log_id text COLLATE \"C\" NOT NULL,"
    "    user_id text COLLATE \"C\" NOT NULL,"
    "    hour text COLLATE \"C\" NOT NULL," /* YYYY-MM-DDTHH */
    "    event_type text COLLATE \"C\" NOT NULL,"
    "    n bigint NOT NULL,"
    "    errors bigint NOT NULL,"
    "    PRIMARY KEY (log_id, user_id, hour, event_type));"
    "  CREATE INDEX activity_hourly_user ON dss_audit.activity_hourly (user_id, hour)"
    "    INCLUDE (event_type, n, errors);"
    "  INSERT INTO dss_audit.activity_hourly"
    "    SELECT log_id, user_id, substr(created_at, 1, 13), event_type, count(*), count(error)"
    "    FROM dss_audit.entries WHERE user_id IS NOT NULL GROUP BY 1, 2, 3, 4;"
    "  ANALYZE dss_audit.activity_hourly;"
    "  DECLARE g record; BEGIN"
    "   FOR g IN SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'"
    "       ELSE quote_ident(r.rolname) END AS who, a.privilege_type"
    "     FROM pg_class c CROSS JOIN aclexplode(c.relacl) a"
    "     LEFT JOIN pg_roles r ON r.oid = a.grantee"
    "     WHERE c.oid = 'dss_audit.activity_daily'::regclass AND a.grantee <> c.relowner LOOP"
    "    EXECUTE format('GRANT %s ON dss_audit.activity_hourly TO %s',"
    "                   g.privilege_type, g.who);"
    "   END LOOP;"
    "  END;"
    " END IF;"
    "END $m$;"
    "CREATE OR REPLACE FUNCTION dss_audit.count_activity() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$ BEGIN"
    "  WITH h AS ("
    "    SELECT log_id, user_id, substr(created_at, 1, 13) AS hour, event_type,"
    "      count(*) AS n, count(error) AS errors FROM new_rows WHERE user_id IS NOT NULL"
    "    GROUP BY 1, 2, 3, 4),"
    "  hourly AS ("
    "    INSERT INTO dss_audit.activity_hourly AS a SELECT * FROM h"
    "    ON CONFLICT (log_id, user_id, hour, event_type) DO UPDATE"
    "    SET n = a.n + excluded.n, errors = a.errors + excluded.errors)"
    "  INSERT INTO dss_audit.activity_daily AS a"
    "    SELECT log_id, user_id, substr(hour, 1, 10), event_type, sum(n), sum(errors)"
    "    FROM h GROUP BY 1, 2, 3, 4"
    "    ON CONFLICT (log_id, user_id, day, event_type) DO UPDATE"
    "    SET n = a.n + excluded.n, errors = a.errors + excluded.errors;"
    COUNT_PROJECTS_AND_END;

/* Each version's statements, NULL-terminated. */
static const char *const m1[] = { m1_logs, m1_entries, m1_partition, m1_checkpoints,
                                  m1_activity, NULL };
static const char *const m2[] = { m2_tree, NULL };
static const char *const m3[] = { m3_sink_cursors, NULL };
static const char *const m4[] = { m4_time_brin, NULL };
static const char *const m5[] = { m5_activity_index, NULL };
static const char *const m6[] = { m6_no_time_brin, NULL };
static const char *const m7[] = { m7_activity_cover, NULL };
static const char *const m8[] = { m8_activity_hourly, NULL };
static const char *const *const migrations[PG_SCHEMA_VERSION] = { m1, m2, m3, m4, m5, m6, m7,
                                                                  m8 };

/* The schema holding pg_trgm, for its operator class's qualified name. */
static int trgm_schema(pg_store *s, char *out, size_t len, char *err)
{
    PGresult *r = NULL;
    int rc = pgs_query(s,
                       "SELECT quote_ident(n.nspname) FROM pg_extension e"
                       " JOIN pg_namespace n ON n.oid = e.extnamespace"
                       " WHERE e.extname = 'pg_trgm'",
                       0, NULL, &r, "finding pg_trgm", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, STORE_ERRLEN, "the extension pg_trgm is not installed in %s",
                 s->where);
        return STORE_ESCHEMA;
    }
    snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return STORE_OK;
}

/* The version stored, 0 when the schema does not exist yet. */
static int read_version(pg_store *s, int *version, char *err)
{
    PGresult *r = NULL;
    int rc = pgs_query(s,
                       /* pg_class read afresh, not to_regclass(): the
                       ** session's cache may predate another server's
                       ** migration it just waited for. */
                       "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_class c"
                       " JOIN pg_namespace n ON n.oid = c.relnamespace"
                       " WHERE n.nspname = 'dss_audit' AND c.relname = 'schema_version')"
                       " THEN -1 END",
                       0, NULL, &r, "reading the schema version", err);
    if (rc != STORE_OK) return rc;
    int missing = !PQgetisnull(r, 0, 0);
    PQclear(r);
    if (missing) {
        *version = 0;
        return STORE_OK;
    }
    rc = pgs_query(s, "SELECT max(version) FROM dss_audit.schema_version", 0, NULL, &r,
                   "reading the schema version", err);
    if (rc != STORE_OK) return rc;
    *version = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return STORE_OK;
}

static int too_new(pg_store *s, int version, char *err)
{
    snprintf(err, STORE_ERRLEN,
             "the audit schema in %s is version %d, newer than this server's %d:"
             " upgrade dss-audit-mcp", s->where, version, PG_SCHEMA_VERSION);
    return STORE_ESCHEMA;
}

/* Apply every migration after `from`, inside the caller's transaction. */
static int apply(pg_store *s, int from, char *err)
{
    int rc = STORE_OK;
    char sql[512], nsp[80];
    if (from == 0) {
        rc = pgs_exec(s, "CREATE EXTENSION IF NOT EXISTS pg_trgm", "creating pg_trgm", err);
        if (rc != STORE_OK) return rc;
    }
    for (int v = from; v < PG_SCHEMA_VERSION; v++) {
        for (const char *const *part = migrations[v]; *part; part++) {
            rc = pgs_exec(s, *part, "migrating the audit schema", err);
            if (rc != STORE_OK) return rc;
        }
        if (v == 0) {
            /* Substring search through trigrams on both searched columns. */
            rc = trgm_schema(s, nsp, sizeof nsp, err);
            if (rc != STORE_OK) return rc;
            snprintf(sql, sizeof sql,
                     "CREATE INDEX entries_opname_trgm ON dss_audit.entries"
                     "  USING gin (operation_name %s.gin_trgm_ops);"
                     "CREATE INDEX entries_error_trgm ON dss_audit.entries"
                     "  USING gin (error %s.gin_trgm_ops) WHERE error IS NOT NULL;",
                     nsp, nsp);
            rc = pgs_exec(s, sql, "creating the search indexes", err);
            if (rc != STORE_OK) return rc;
        }
    }
    /* A database that had a schema had entries without trees: store_open()
    ** builds them (store_tree.c). */
    if (from >= 1 && from < 2) s->base.tree_new = 1;
    snprintf(sql, sizeof sql, "UPDATE dss_audit.schema_version SET version = %d",
             PG_SCHEMA_VERSION);
    return pgs_exec(s, sql, "recording the schema version", err);
}

int pgs_migrate(pg_store *s, char *err)
{
    int version = 0;
    int rc = read_version(s, &version, err);
    if (rc != STORE_OK) return rc;
    if (version > PG_SCHEMA_VERSION) return too_new(s, version, err);
    if (version == PG_SCHEMA_VERSION) return STORE_OK;
    if (s->readonly) {
        snprintf(err, STORE_ERRLEN,
                 version == 0 ? "%s holds no audit log (no dss_audit schema): open it"
                                " writable once to create it"
                              : "the audit schema in %s is older than this server's:"
                                " open it writable once to migrate it",
                 s->where);
        return STORE_ESCHEMA;
    }
    /* Under the lock, look again: another server may have migrated while
    ** this one waited. */
    rc = pgs_exec(s, "BEGIN; SELECT pg_advisory_xact_lock(" PG_LOCK_MIGRATE ")",
                  "locking the schema for migration", err);
    if (rc != STORE_OK) return rc;
    rc = read_version(s, &version, err);
    if (rc == STORE_OK && version > PG_SCHEMA_VERSION) rc = too_new(s, version, err);
    if (rc == STORE_OK && version < PG_SCHEMA_VERSION) rc = apply(s, version, err);
    if (rc == STORE_OK) rc = pgs_exec(s, "COMMIT", "committing the migration", err);
    if (rc != STORE_OK && !s->broken) {
        char ignored[STORE_ERRLEN];
        pgs_exec(s, "ROLLBACK", "rolling back the migration", ignored);
    }
    return rc;
}
