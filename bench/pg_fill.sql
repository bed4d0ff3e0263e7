-- pg_fill.sql: fill dss_audit (made by the store beforehand) with :n
-- synthetic entries across :logs logs spread evenly over the last :days
-- days, fast, with SQL alone: the database the PostgreSQL query benchmark
-- (bench/run --pg) reads.
--
--   psql -v n=1000000 -v logs=100 -v days=90 -v chunk=250000 -f pg_fill.sql
--
-- What the rows look like, next to bench/gen.c's entries: 50 users
-- (user-00..user-49, uniform), 200 projects, the 12 event types (uniform),
-- 51 operation names, args of about 650 bytes, a result of about 600 bytes
-- on every other entry (rows average about 1.4 KB), an error on 10%, and
-- the search term 'zebraquota' in mixed case in 0.2% of entries (0.1% in
-- the operation name, 0.1% in the error), a seq per log, created_at
-- growing with seq.  The hashes are bytes made from md5, not a chain:
-- queries do not verify (`verify` on this database fails, as it should).
--
-- Rows are stored in the order of k, which is created_at's order, as a
-- live log's arrive: the logs and event types are looked up in arrays
-- rather than joined, since a hash join hands the rows over grouped by
-- log, and a trail's consecutive entries then sat on a page each (101
-- pages for 101 rows, where a live table holds them on about 25).
--
-- Partitions: the months of the span are created with the schema's own
-- dss_audit.ensure_partition().  The activity counters are filled by the
-- schema's own statement trigger on the inserts.  The inserts go in
-- chunks of :chunk rows, one transaction each, with synchronous_commit
-- off (only the fill; the benchmarks that follow run with it on).
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET TIME ZONE 'UTC';

SELECT dss_audit.ensure_partition(to_char(m, 'YYYY-MM'))
FROM generate_series(date_trunc('month', now() - make_interval(days => :days)),
                     now(), interval '1 month') m;
SELECT dss_audit.ensure_partition(to_char(now(), 'YYYY-MM'));

-- The logs, with their heads where the fill leaves them.
CREATE TEMP TABLE fill_span AS
SELECT now() - make_interval(days => :days) AS t0,
       make_interval(days => :days) AS span;
CREATE TEMP TABLE fill_logs AS
SELECT i, gen_random_uuid()::text AS log_id, 'fill-' || lpad(i::text, 3, '0') AS name
FROM generate_series(0, :logs - 1) i;
INSERT INTO dss_audit.logs (log_id, name, created_at, head_seq, head_hash, head_created_at)
SELECT log_id, name, to_char(t0, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       (:n - i + :logs - 1) / :logs, decode(md5(log_id) || md5(name), 'hex'),
       to_char(now(), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM fill_logs, fill_span;

-- One INSERT .. SELECT per chunk of k (0-based entry number across all
-- logs): log k % logs, seq k / logs + 1.
CREATE TEMP TABLE fill_types AS
SELECT row_number() OVER () - 1 AS i, t FROM unnest(ARRAY[
  'tool_call', 'component_sync', 'project_update', 'project_create',
  'component_create', 'component_update', 'state_transition', 'token_update',
  'asset_upload', 'user_action', 'component_delete', 'project_delete']) t;

SELECT format($q$
INSERT INTO dss_audit.entries (log_id, seq, id, event_type, operation_name,
  operation_id, user_id, project_id, args, result, error, created_at, client,
  prev_hash, hash)
SELECT a.ids[k %% %2$s + 1], k / %2$s + 1, gen_random_uuid()::text, a.ts[k %% 12 + 1],
  CASE WHEN k %% 1000 = 7 THEN 'sync_ZebraQuota_' || (k %% 51)
       ELSE a.ts[k %% 12 + 1] || '_op_' || (k %% 51) END,
  'op-' || k, 'user-' || lpad(((k * 7) %% 50)::text, 2, '0'),
  'proj-' || lpad((k %% 200)::text, 3, '0'),
  '{"request":{"path":"/v1/files/' || k || '","headers":{"accept":"application/json",'
    || '"authorization":"[REDACTED]"}},"props":{"pad":"' || repeat(md5(k::text), 18)
    || '"},"options":{"depth":' || (k %% 7) || '}}',
  CASE WHEN k %% 2 = 0 THEN '{"ok":true,"data":"' || repeat(md5((k + 1)::text), 18) || '"}' END,
  CASE WHEN k %% 1000 = 507 THEN 'upstream said zebraQUOTA exceeded for ' || k
       WHEN k %% 10 = 3 THEN 'timeout after ' || (k %% 997) || ' ms talking to the design API' END,
  to_char(s.t0 + s.span * (k::float8 / %3$s), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  '{"name":"dss-fill","version":"1.0.0"}',
  decode(md5(k::text) || md5((k - 1)::text), 'hex'),
  decode(md5((k + 7)::text) || md5(k::text), 'hex')
FROM (SELECT (SELECT array_agg(log_id ORDER BY i) FROM fill_logs) AS ids,
             (SELECT array_agg(t ORDER BY i) FROM fill_types) AS ts) a
CROSS JOIN fill_span s
CROSS JOIN generate_series(%1$s::bigint, least(%1$s::bigint + %4$s, %3$s) - 1) k
$q$, c, :logs, :n, :chunk)
FROM generate_series(0, :n - 1, :chunk) c
\gexec

VACUUM ANALYZE dss_audit.entries;
VACUUM ANALYZE dss_audit.activity_daily;
VACUUM ANALYZE dss_audit.activity_projects;
VACUUM ANALYZE dss_audit.logs;
SELECT count(*) AS entries, count(DISTINCT log_id) AS logs,
       min(created_at) AS first, max(created_at) AS last
FROM dss_audit.entries WHERE log_id IN (SELECT log_id FROM fill_logs);
