/*
** store_sqlite.c: the audit trail in a local SQLite database, one log to a
** file: opening it, the connection's settings, the log's name and key,
** and the methods table (store_methods.h) the backend's files fill.
**
** The database runs in WAL mode with synchronous=FULL, so a commit returns
** only after its frames are fsynced and readers never block the writer.
** The schema and its migrations are in store_sqlite_schema.c, writes in
** store_sqlite_write.c, queries in store_sqlite_query.c, retention and
** the chain's reads in store_sqlite_scan.c.
*/
#include "sqlite_int.h"
#include "../store_testing.h"
#include "../../util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKPOINT_COLUMNS                                                  \
    "number, kind, log_id, seq, head_hash, created_at, prev_checkpoint_hash," \
    " public_key, signature, note"

/* The INSERT's column list and its parameters, from ENTRY_FIELDS. */
#define X_INSERT_COLUMN(name, type, nullable, hash_at, since, by) ENTRY_SEP_##type #name
#define X_INSERT_VALUE(name, type, nullable, hash_at, since, by) ENTRY_SEP_##type "?"

const char *const sq_fixed_sql[ST_COUNT] = {
    [ST_HEAD] = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    /* Every column of ENTRY_FIELDS, bound in that order (?1 is seq). */
    [ST_INSERT] = "INSERT INTO audit_log (" ENTRY_FIELDS(X_INSERT_COLUMN) ") VALUES ("
                  ENTRY_FIELDS(X_INSERT_VALUE) ")",
    [ST_GET] = "SELECT " SQ_ENTRY_COLUMNS " FROM audit_log a WHERE id = ?",
    /* Whole days come from activity_daily; the first, partial day of the
    ** window is counted exactly from audit_log: its entries from the
    ** window's start on when the window starts after noon, else the day's
    ** counter less its entries before the start (ST_ACT_TYPES_BEFORE), so
    ** at most half a day is read.  The rows are added up per event type in
    ** sq_user_activity(): grouping them here would sort every row, which
    ** costs more than reading them. */
    [ST_ACT_TYPES] =
        "SELECT event_type, n, errors FROM activity_daily"
        " WHERE user_id = ?1 AND day > ?2"
        " UNION ALL"
        " SELECT event_type, 1, error IS NOT NULL FROM audit_log"
        " WHERE user_id = ?1 AND created_at >= ?3 AND created_at < ?4",
    [ST_ACT_TYPES_BEFORE] =
        "SELECT event_type, n, errors FROM activity_daily"
        " WHERE user_id = ?1 AND day >= ?2"
        " UNION ALL"
        " SELECT event_type, -1, -(error IS NOT NULL) FROM audit_log"
        " WHERE user_id = ?1 AND created_at >= ?2 AND created_at < ?3",
    /* The user's rows by the primary key, one per project ever touched,
    ** last_seen checked row by row (the unary + keeps any index on it out,
    ** see migration 6): exact, and bounded by the user's project count. */
    [ST_ACT_TOTALS] =
        "SELECT count(*) FROM activity_projects WHERE user_id = ? AND +last_seen >= ?",
    [ST_HASH_AT] = "SELECT hash FROM audit_log WHERE seq = ?",
    /* Every writing request takes a savepoint: prepared once, not parsed
    ** again by sqlite3_exec() for each request. */
    [ST_SAVEPOINT] = "SAVEPOINT request",
    [ST_RELEASE] = "RELEASE request",
    [ST_ROLLBACK_TO] = "ROLLBACK TO request",
    [ST_LAST_CP] = "SELECT " CHECKPOINT_COLUMNS " FROM checkpoints ORDER BY number DESC LIMIT 1",
    [ST_LAST_ANCHOR] = "SELECT " CHECKPOINT_COLUMNS " FROM checkpoints WHERE kind = 'anchor'"
                       " ORDER BY number DESC LIMIT 1",
    [ST_EACH_ENTRY] = "SELECT " SQ_ENTRY_COLUMNS " FROM audit_log a WHERE seq >= ? ORDER BY seq",
    [ST_EACH_CP] = "SELECT " CHECKPOINT_COLUMNS " FROM checkpoints WHERE number > ? ORDER BY number",
    [ST_ADD_CP] =
        "INSERT INTO checkpoints (kind, log_id, seq, head_hash, created_at,"
        " prev_checkpoint_hash, public_key, signature, note)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
    [ST_FIND_HASH] = "SELECT seq FROM audit_log WHERE hash = ? LIMIT 1",
};

int sq_fail(sqlite_store *s, int rc, const char *doing, char *err)
{
    int saved_errno = errno; /* what the failed write set, before anything else */
    int code;
    /* Some errors (a full disk among them) make SQLite roll the whole
    ** transaction back on its own.  Notice, so that nothing later in the
    ** group runs outside a transaction and the writes acknowledged so far
    ** in it are reported as lost. */
    if (s && s->db && s->base.in_tx && sqlite3_get_autocommit(s->db)) {
        s->base.lost_tx = s->base.tx_id;
        s->base.in_tx = 0;
        s->savepoint_depth = 0;
    }
    const char *why = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    /* SQLite reports a short write as SQLITE_FULL, but a write refused
    ** outright by a file-size limit or a quota as an I/O error, and does
    ** not always keep the system error (then errno still holds it). */
    int sys = s && s->db ? sqlite3_system_errno(s->db) : 0;
    if (!sys) sys = saved_errno;
    if ((rc & 0xff) == SQLITE_IOERR && (sys == EFBIG || sys == ENOSPC || sys == EDQUOT))
        rc = SQLITE_FULL;
    switch (rc & 0xff) {
    case SQLITE_FULL:
        code = STORE_EFULL;
        why = "the disk or the database's size limit is full";
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = STORE_EBUSY;
        why = "another process kept the database locked";
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        code = STORE_EREADONLY;
        why = "the database is read-only";
        break;
    case SQLITE_NOMEM: code = STORE_ENOMEM; break;
    case SQLITE_INTERRUPT:
        code = STORE_EINTERRUPTED;
        why = "interrupted";
        break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: code = STORE_ESCHEMA; break;
    default: code = STORE_EIO; break;
    }
    snprintf(err, STORE_ERRLEN, "%s: %s", doing, why);
    return code;
}

int sq_exec(sqlite_store *s, const char *sql, const char *doing, char *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : sq_fail(s, rc, doing, err);
}

int sq_prepare(sqlite_store *s, const char *sql, sqlite3_stmt **out, char *err)
{
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out,
                                NULL);
    return rc == SQLITE_OK ? STORE_OK : sq_fail(s, rc, "preparing a query", err);
}

/* Create the file with mode 0600 (and its folders with 0700) before SQLite
** does, so it never exists with wider permissions, and refuse a file that
** other users may write: they could rewrite the trail beneath us. */
static int prepare_file(const char *path, int *readonly, char *err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, STORE_ERRLEN, "%s is not a regular file", path);
            return STORE_EIO;
        }
        /* A file nobody may write is served read-only, even to root, who
        ** would otherwise ignore the permission bits. */
        if (!(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) *readonly = 1;
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
            snprintf(err, STORE_ERRLEN,
                     "%s is writable by other users; refusing to use it "
                     "(run chmod 600 on it)", path);
            return STORE_EIO;
        }
        return STORE_OK;
    }
    if (*readonly) {
        snprintf(err, STORE_ERRLEN, "%s does not exist", path);
        return STORE_EIO;
    }
    if (fs_make_parents(path, err, STORE_ERRLEN) != 0) return STORE_EIO;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
        snprintf(err, STORE_ERRLEN, "cannot create %s: %s", path,
                 strerror(errno));
        return STORE_EIO;
    }
    if (fd >= 0) close(fd);
    return STORE_OK;
}


/* The log's readable name and recorded key, kept in meta.  A log created
** before names existed is given one at its first writable open: the name
** asked for, else the host name.  Read-only, it is called by its id. */
static int load_log_name(sqlite_store *s, const char *asked, char *err)
{
    int rc = sq_meta_get(s, "log_name", s->log_name, sizeof s->log_name, err);
    if (rc == STORE_OK && !s->log_name[0] && !s->readonly) {
        char host[STORE_LOG_NAME_MAX] = "";
        if (!asked || !*asked) {
            if (gethostname(host, sizeof host - 1) != 0 || !host[0])
                snprintf(host, sizeof host, "%s", s->log_id);
            asked = host;
        }
        if ((rc = sq_meta_put(s, "log_name", asked, err)) == STORE_OK)
            rc = sq_meta_get(s, "log_name", s->log_name, sizeof s->log_name, err);
    }
    if (rc == STORE_OK && !s->log_name[0])
        snprintf(s->log_name, sizeof s->log_name, "%s", s->log_id);
    if (rc == STORE_OK)
        rc = sq_meta_get(s, "public_key", s->public_key, sizeof s->public_key, err);
    return rc;
}

sqlite3_stmt *sq_stmt(sqlite_store *s, int which, int *rc, char *err)
{
    *rc = s->st[which] ? STORE_OK : sq_prepare(s, sq_fixed_sql[which], &s->st[which], err);
    return *rc == STORE_OK ? s->st[which] : NULL;
}

/* Cap the file at max_bytes (rounded down to whole pages, at least the
** pages already in use): past it, writes fail with STORE_EFULL. */
static int cap_size(sqlite_store *s, int64_t max_bytes, char *err)
{
    sqlite3_stmt *st = NULL;
    int64_t page = 4096;
    if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        page = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
             (long long)(max_bytes / (page > 0 ? page : 4096)));
    return sq_exec(s, sql, "capping the database size", err);
}

int sq_readonly(const store *s) { return sq_const(s)->readonly; }

/* Read the durability settings back from a writing connection: a commit is
** acknowledged as durable only if SQLite fsyncs the WAL at every commit
** (synchronous FULL or EXTRA) and the journal is the WAL.  A build or a
** connection where either did not take effect refuses to write at all. */
static int check_durability(sqlite_store *s, char *err)
{
    sqlite3_stmt *st = NULL;
    int sync = -1;
    char mode[16] = "";
    if (sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        sync = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (sync >= 2 && strcmp(mode, "wal") == 0) return STORE_OK;
    snprintf(err, STORE_ERRLEN,
             "the database connection is not durable (synchronous=%d, journal_mode=%s;"
             " FULL and wal are required)", sync, mode[0] ? mode : "?");
    return STORE_EIO;
}

/* Switch to WAL.  The switch needs a moment with no other connection, and
** SQLite does not wait for one through the busy handler, so a server
** starting beside another retries for up to the busy timeout. */
static int enable_wal(sqlite_store *s, char *err)
{
    for (int attempt = 0;; attempt++) {
        int rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK) return STORE_OK;
        if ((rc & 0xff) != SQLITE_BUSY || attempt >= 1000)
            return sq_fail(s, rc, "enabling WAL", err);
        sqlite3_sleep(10);
    }
}

/*
** When the write-ahead log is copied back into the database (a checkpoint).
**
** A commit appends every page it changed to the WAL and fsyncs it: that is
** what makes it durable.  A checkpoint later copies each page back to its
** place in the database file and fsyncs that.  Group commits rewrite the
** same hot pages again and again (the right edge of the table and of the
** id and date indexes, the interior pages of every index, the activity
** counters, the newest FTS segments), and every page in the WAL is copied
** back once per checkpoint, however many commits wrote it.  SQLite's default
** checkpoints every 1,000 WAL pages, after every commit or two of 64 rows,
** so the hot pages were copied back after nearly every commit.  Measured
** with bench_floor (64 rows per transaction, ~400 WAL pages each) on a
** 200,000-entry database (schema 6): pages copied back per transaction
** (counting the last copy, at close) 256 at 1,000, 126 at 4,000, 79 at
** 10,000, 60 at 20,000, 38 if never; fsyncs per transaction 2.0, 1.3, 1.1,
** 1.1, 1.0.  10,000 takes most of the gain; 20,000 would double the WAL
** for little more.
**
** The cost: the WAL grows to about 40 MiB before it is reused, readers find
** recent pages through a larger WAL index, and recovery after a crash reads
** up to 40 MiB.  Durability does not change: a commit is durable once its
** own WAL frames are fsynced (synchronous=FULL), whatever the checkpoint
** does later.  journal_size_limit truncates the WAL file back to 64 MiB
** whenever it restarts after an outsized transaction (a retention prune, a
** migration); the normal cycle stays under the limit, so the file is reused
** in place instead of being regrown each time.
**
** The copy is also moved off the reply path where that costs nothing: the
** server calls sq_idle() once its input has been quiet for a moment
** (QUIET_MS in server.c), which checkpoints when the WAL holds at least
** WAL_IDLE_FRAMES, so a client that pauses between calls, as agents do,
** never waits for a checkpoint.  Under sustained load there is no such
** moment, and the checkpoint inside the commit that reaches
** WAL_CHECKPOINT_FRAMES (after the commit's own fsync) is the bound; it is
** the only one for the other programs that write through the store (prune,
** the benchmarks).
*/
#define WAL_CHECKPOINT_FRAMES 10000
#define WAL_IDLE_FRAMES 1000
#define WAL_SIZE_LIMIT "67108864"

/*
** A brief process (store_options.brief: `hook`, one event and exit) is the
** only connection to the file most of the time, and SQLite's last
** connection copies the WAL back and deletes it at close: with the commit
** and the WAL's re-creation that made four syncs for one entry.  A brief
** store instead keeps the WAL at close (SQLITE_FCNTL_PERSIST_WAL, and no
** checkpoint on close), so the next process appends to it and an event
** costs the one sync of its commit.  The price is at open: a first
** connection rebuilds the WAL index by reading the whole WAL, so the WAL
** is copied back once it holds BRIEF_WAL_FRAMES pages, by the process
** whose commit got it there, at close, after its answer has gone out.
*/
#define BRIEF_WAL_FRAMES 512

/* Copy the WAL back into the database without waiting for, or blocking,
** any other connection (a PASSIVE checkpoint).  Returns an SQLite code;
** SQLITE_BUSY means another connection is checkpointing, doing the same
** work. */
static int checkpoint_wal(sqlite_store *s)
{
    int frames = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                       &frames, &copied);
    /* A reader still using old pages can hold some back; then the next
    ** quiet moment tries again. */
    if (rc == SQLITE_OK && copied >= frames) s->wal_frames = 0;
    return rc;
}

/* Called by SQLite after every commit of this connection, with the number
** of pages in the WAL; it replaces the automatic checkpoint, which is a
** hook like this one with a threshold of 1,000. */
static int after_commit(void *ctx, sqlite3 *db, const char *name, int frames)
{
    sqlite_store *s = ctx;
    (void)db;
    (void)name;
    s->wal_frames = frames;
    /* A failure only leaves the pages in the WAL, as SQLite's own hook
    ** does; the commit has happened either way.  A brief store copies it
    ** back at close instead (BRIEF_WAL_FRAMES). */
    if (frames >= WAL_CHECKPOINT_FRAMES && !s->brief) checkpoint_wal(s);
    return SQLITE_OK;
}

int sq_idle(store *st, char *err)
{
    sqlite_store *s = sq(st);
    if (s->readonly || s->base.in_tx || s->wal_frames < WAL_IDLE_FRAMES) return STORE_OK;
    int rc = checkpoint_wal(s);
    if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY) return STORE_OK;
    return sq_fail(s, rc, "copying the write-ahead log into the database", err);
}

int sq_moved(store *st)
{
    int moved = 0;
    return sqlite3_file_control(sq(st)->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) ==
               SQLITE_OK && moved;
}

void sq_set_interrupt(store *s, int (*fn)(void *ctx), void *ctx)
{
    /* Every 50,000 virtual machine steps: a few times per millisecond of
    ** work, so a cancel takes effect quickly at a negligible cost. */
    sqlite3_progress_handler(sq(s)->db, fn ? 50000 : 0, fn, ctx);
}

/*
** SQLite's unix VFS fsyncs the folder at the first sync of any WAL it
** opened with SQLITE_OPEN_CREATE, and the pager always asks for it, so
** every process paid a folder sync even when the WAL was there already.
** The brief VFS opens an existing WAL without the flag, which skips it:
** the WAL's name was made durable by the process that created it (which
** opened it with the flag, and synced the folder with its first commit),
** and a sync of the file itself commits the file system's journal up to
** the name's creation on ext4 and XFS.  When the file is gone by the time
** it is opened (a server deleted it at its close), it is opened as SQLite
** asked, folder sync included.  Everything else is the unix VFS's own.
*/
static sqlite3_vfs brief_vfs;
static pthread_once_t brief_vfs_once = PTHREAD_ONCE_INIT;

static int brief_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                      int *out_flags)
{
    sqlite3_vfs *unix_vfs = vfs->pAppData;
    if ((flags & SQLITE_OPEN_WAL) && (flags & SQLITE_OPEN_CREATE) && name &&
        access(name, F_OK) == 0) {
        int rc = unix_vfs->xOpen(unix_vfs, name, f, flags & ~SQLITE_OPEN_CREATE, out_flags);
        if (rc == SQLITE_OK) return rc;
    }
    return unix_vfs->xOpen(unix_vfs, name, f, flags, out_flags);
}

static void brief_vfs_register(void)
{
    sqlite3_vfs *unix_vfs = sqlite3_vfs_find(NULL);
    if (!unix_vfs) return;
    brief_vfs = *unix_vfs;
    brief_vfs.pNext = NULL;
    brief_vfs.zName = "dss-brief";
    brief_vfs.pAppData = unix_vfs;
    brief_vfs.xOpen = brief_open;
    if (sqlite3_vfs_register(&brief_vfs, 0) != SQLITE_OK) brief_vfs.zName = NULL;
}

/* The VFS a brief store opens its file with: "dss-brief", or NULL (the
** default) when it could not be registered. */
static const char *brief_vfs_name(void)
{
    pthread_once(&brief_vfs_once, brief_vfs_register);
    return brief_vfs.zName;
}

/* A brief store's WAL outlives the connection (BRIEF_WAL_FRAMES). */
static int keep_wal(sqlite_store *s, char *err)
{
    int on = 1;
    int rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
    if (rc == SQLITE_OK) rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    if (rc != SQLITE_OK) return sq_fail(s, rc, "keeping the write-ahead log", err);
    s->brief = 1;
    return STORE_OK;
}

/* A savepoint's journal stays in memory, one piece, up to this size
** (SQLite's default is 64 KiB).  A call's savepoint journals each page it
** changes once, and a call with a large entry changes more than 64 KiB of
** pages; past the limit SQLite moves the journal to a temporary file,
** which then stays a file for the rest of the transaction: a pwrite per
** journaled page of every later call of the group (three times the pwrite
** calls of a write when measured, issue 23).  It cannot be larger: the
** move writes the piece in one call of the unix VFS, which writes at most
** 0x1ffff bytes at once (seekAndWriteFd: nBuf &= 0x1ffff), and a larger
** piece lost its tail and failed the statement as "disk full" (a 1 MiB
** spill broke prune and migrations, issue 23;
** store_sqlite.prune_of_thousands_of_entries_removes_them_all). */
#define STMT_JOURNAL_SPILL 0x1ffff
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/* Process-wide, and only possible before SQLite initializes: when
** something initialized it first, the default stays (correct, slower). */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STMT_JOURNAL_SPILL);
    /* No allocation statistics: with them on, every allocation SQLite makes
    ** takes a process-wide mutex to count itself, and nothing here reads
    ** the counts (sqlite3_memory_used(), a soft heap limit). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void store_testing_sqlite_configure(void)
{
    pthread_once(&config_once, configure_sqlite);
}

/* store_options.mmap_bytes: a read-only connection reads through a map of
** the file (SQLite falls back to reads where it cannot map). */
static int map_file(sqlite_store *s, int64_t bytes, char *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA mmap_size=%lld", (long long)bytes);
    return sq_exec(s, sql, "mapping the file", err);
}

int sq_open(const store_options *opt, store **out, char *err)
{
    int rc;
    pthread_once(&config_once, configure_sqlite);
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    s->base.m = &sqlite_store_methods;
    s->readonly = opt->readonly;
    int memory = strcmp(opt->path, ":memory:") == 0;
    if (!memory && (rc = prepare_file(opt->path, &s->readonly, err)) != STORE_OK)
        goto fail;
    int flags = (s->readonly ? SQLITE_OPEN_READONLY
                               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
                | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    const char *vfs = opt->brief && !s->readonly && !memory ? brief_vfs_name() : NULL;
    int src = sqlite3_open_v2(opt->path, &s->db, flags, vfs);
    if (src != SQLITE_OK) {
        rc = sq_fail(s, src, "opening the database", err);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms
                                                         : 10000);
    int version = 0;
    if ((rc = sq_schema_check(s, opt->path, &version, err)) != STORE_OK) goto fail;
    if (!s->readonly && (rc = enable_wal(s, err)) != STORE_OK) goto fail;
    if (opt->max_bytes > 0 && (rc = cap_size(s, opt->max_bytes, err)) != STORE_OK)
        goto fail;
    sqlite3_wal_hook(s->db, after_commit, s); /* see WAL_CHECKPOINT_FRAMES */
    if (opt->brief && !s->readonly && !memory && (rc = keep_wal(s, err)) != STORE_OK)
        goto fail;
    /* A group commit touches a few thousand pages; a cache that holds them
    ** keeps SQLite from spilling (and rewriting) pages mid-transaction. */
    if ((rc = sq_exec(s, "PRAGMA synchronous=FULL", "setting durability", err)) ||
        (rc = sq_exec(s, "PRAGMA journal_size_limit=" WAL_SIZE_LIMIT,
                   "limiting the write-ahead log", err)) ||
        (rc = sq_exec(s, "PRAGMA cache_size=-16384", "sizing the cache", err)) ||
        /* Each call's savepoint journals the pages it changes.  With
        ** temp_store=FILE that journal is one piece in memory up to
        ** STMT_JOURNAL_SPILL (a file only past it) instead of a malloc per
        ** 1 KiB (~47 K fewer instructions a logged call).  It was reverted
        ** once because the commit's grouped statements then sent their
        ** transient b-trees to temporary files (three times the pwrite
        ** calls); the commit no longer groups in SQL
        ** (store_sqlite_derived.c), so nothing of a write sorts (issue 23,
        ** bench/RESULTS-issue23-local.md). */
        (rc = sq_exec(s, "PRAGMA temp_store=FILE", "placing temporary journals", err)) ||
        (!s->readonly && !memory && (rc = check_durability(s, err))) ||
        (rc = sq_schema_migrate(s, opt->path, version, err)) ||
        (rc = load_log_name(s, opt->log_name, err)) ||
        (s->readonly && opt->mmap_bytes > 0 && (rc = map_file(s, opt->mmap_bytes, err))))
        goto fail;
    s->log_id_len = strlen(s->log_id);
    s->log_name_len = strlen(s->log_name);
    *out = &s->base;
    return STORE_OK;
fail:
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    if (rc == STORE_ESCHEMA && strstr(err, "file is not a database"))
        snprintf(err, STORE_ERRLEN, "%s is not an SQLite database", opt->path);
    sq_close(&s->base);
    return rc;
}

void sq_close(store *st)
{
    sqlite_store *s = sq(st);
    if (!s) return;
    if (s->base.in_tx) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    /* Nothing depends on it: the commits are durable in the WAL. */
    if (s->brief && s->wal_frames >= BRIEF_WAL_FRAMES) {
        checkpoint_wal(s);
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
    }
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
    sq_pending_free(&s->pending);
    sq_tree_close(s);
    for (int i = 0; i < SQ_SHAPES; i++) sqlite3_finalize(s->find[i]);
    sqlite3_close(s->db);
    free(s);
}

/* Any path is a local file (or ":memory:"): this backend is asked last. */
int sq_claims(const char *path)
{
    (void)path;
    return 1;
}

const char *sq_log_id(const store *s) { return sq_const(s)->log_id; }

const char *sq_log_name(const store *s) { return sq_const(s)->log_name; }

int sq_each_log(store *st, store_log_fn fn, void *ctx, char *err)
{
    const sqlite_store *s = sq(st);
    store_log l;
    memset(&l, 0, sizeof l);
    memcpy(l.log_id, s->log_id, sizeof l.log_id);
    memcpy(l.name, s->log_name, sizeof l.name);
    memcpy(l.public_key, s->public_key, sizeof l.public_key);
    fn(ctx, &l);
    return STORE_OK;
}

int sq_record_log_key(store *st, const char *pk, char *err)
{
    sqlite_store *s = sq(st);
    if (s->public_key[0] && strcmp(s->public_key, pk) != 0) {
        snprintf(err, STORE_ERRLEN,
                 "the log %s records %.16s... as its signing key, not %.16s...",
                 s->log_name, s->public_key, pk);
        return STORE_EINVAL;
    }
    if (s->public_key[0]) return STORE_OK;
    if (s->readonly) return STORE_OK; /* a reader records nothing */
    int rc = sq_meta_put(s, "public_key", pk, err);
    if (rc == STORE_OK)
        rc = sq_meta_get(s, "public_key", s->public_key, sizeof s->public_key, err);
    return rc;
}

int sq_set_cache_size(store *s, int kib, char *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", kib > 0 ? kib : 1);
    return sq_exec(sq(s), sql, "sizing the cache", err);
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

int sq_row(const sqlite_store *s, sqlite3_stmt *st, entry_row *r)
{
    r->seq = sqlite3_column_int64(st, ENTRY_F_seq);
    r->v[ENTRY_F_seq].p = NULL;
    r->v[ENTRY_F_seq].len = 0;
    /* Each column is taken once as a value and read with sqlite3_value_*,
    ** which, unlike each sqlite3_column_* call, do not enter the statement
    ** again (a fifth of reading a row, for a shipper's million rows).  The
    ** connection is opened with SQLITE_OPEN_NOMUTEX, where SQLite makes no
    ** difference between the protected and unprotected values
    ** sqlite3_column_value() returns. */
    for (int c = 1; c < ENTRY_NFIELDS; c++) {
        entry_value *v = &r->v[c];
        entry_type type = entry_fields[c].type;
        sqlite3_value *cv = sqlite3_column_value(st, c);
        v->len = 0;
        if (sqlite3_value_type(cv) == SQLITE_NULL) {
            v->p = NULL;
            continue;
        }
        if (type == ENTRY_HASH) {
            /* Anything but 32 bytes is no hash (entry.h): said with len 0. */
            v->p = sqlite3_value_blob(cv);
            if (sqlite3_value_bytes(cv) == CHAIN_HASH_BYTES) v->len = CHAIN_HASH_BYTES;
            continue;
        }
        v->p = (const char *)sqlite3_value_text(cv);
        /* Not NULL: no text is no memory to convert the value. */
        if (!v->p) return STORE_ENOMEM;
        /* Text ends at its first NUL; JSON is checked whole (entry.h). */
        v->len = type == ENTRY_JSON ? (size_t)sqlite3_value_bytes(cv) : strlen(v->p);
    }
    r->log_id.p = s->log_id;
    r->log_id.len = s->log_id_len;
    r->log.p = s->log_name;
    r->log.len = s->log_name_len;
    return STORE_OK;
}

#define SQ_X_INIT(type, name, params) .name = sq_##name,
const store_methods sqlite_store_methods = {
    .name = "sqlite",
    .caps = STORE_CAP_TEXT_INDEX,
    .remote = 0,
    STORE_REQUIRED_METHODS(SQ_X_INIT)
    .idle = sq_idle,
    .moved = sq_moved,
    .set_cache_size = sq_set_cache_size,
    .explain_find = sq_explain_find,
    .explain_each_match = sq_explain_each_match,
    .explain_user_activity = sq_explain_user_activity,
};
