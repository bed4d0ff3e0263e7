/*
** cli.h: the commands for people: tail, query, stats and export.
**
** cmd_read.c parses the command line into a cli_args and checks it with
** cli_check() before anything is opened; main.c opens the database
** read-only, and cmd_read.c calls one of the cli_* commands.  They read the log only through
** store.h, print results to the stream given (an aligned table when it is a
** terminal, JSON Lines otherwise; export always writes its format), show
** progress on stderr when that is a terminal, and never print diagnostics:
** a failure comes back as a negative code with a sentence in `err`, which
** the command prints.  The lower half of this header is for the commands'
** building blocks (tables, progress, CSV and OCSF shaping), exposed so that
** tests can check each one on its own.
*/
#ifndef DSS_CLI_H
#define DSS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "../store/store.h"
#include "../util/fsutil.h"
#include "../util/ts.h"

/* Return codes.  The commands map CLI_EUSAGE to exit status 2, CLI_EFAIL
** to 1. */
enum {
    CLI_OK = 0,
    CLI_EFAIL = -1,  /* the work failed: database or output error */
    CLI_EUSAGE = -2  /* a bad option or value */
};

#define CLI_ERRLEN 512

typedef enum cli_format {
    CLI_FORMAT_NONE, CLI_FORMAT_JSONL, CLI_FORMAT_CSV, CLI_FORMAT_OCSF, CLI_FORMAT_OTLP
} cli_format;

/* The options of tail, query, stats, export and report.  cmd_read.c fills
** the first part with the strings given (borrowed from argv; NULL when absent);
** cli_check() validates them and fills the second part. */
typedef struct cli_args {
    const char *lines;          /* tail -n */
    int follow;                 /* tail -f */
    const char *user, *project, *event_type, *operation_name;
    const char *server, *session;  /* relayed calls' server name, session */
    const char *log;            /* one log, by name or id (--log) */
    const char *since, *until, *search, *limit;
    const char *format, *output;
    int json;                   /* --json: JSON Lines even on a terminal */

    int64_t count;              /* tail -n, or query --limit */
    char since_ts[TS_BUFLEN];   /* normalized bounds, "" when absent */
    char until_ts[TS_BUFLEN];
    cli_format fmt;
} cli_args;

/* Check that every option given applies to `command` and has a usable
** value, and fill the second part of *a.  Returns CLI_OK or CLI_EUSAGE
** with a sentence in err. */
int cli_check(const char *command, cli_args *a, char *err, size_t errlen);

/* The store query of a's filters, borrowing a's strings (valid while a
** is): user, project, event type, operation, server, session, the
** normalized since/until and --search; limit and cursor left at 0. */
store_query cli_filter(const cli_args *a);

/* The commands.  st is open (read-only is enough); results go to out.
** Each returns CLI_OK, or CLI_EFAIL / CLI_EUSAGE with a sentence in err. */
int cli_tail(store *st, const cli_args *a, FILE *out, char *err, size_t errlen);
int cli_query(store *st, const cli_args *a, FILE *out, char *err, size_t errlen);
/* stats: sinks is the trail's ship cursors (an array of {sink, log_id,
** log, cursor, saved_at, lag}, borrowed; NULL or empty: nothing is said
** about sinks). */
int cli_stats(store *st, const char *db_path, const cli_args *a, const cJSON *sinks,
              FILE *out, char *err, size_t errlen);
/* export writes to a->output when given (a new file, mode 0600, fsynced),
** else to out. */
int cli_export(store *st, const cli_args *a, FILE *out, char *err, size_t errlen);

/* Where the clients' own configuration files are: the values of HOME and
** XDG_CONFIG_HOME, NULL when unset (main.c reads the environment). */
typedef struct cli_wrap_where {
    const char *home, *xdg_config_home;
} cli_wrap_where;

/* wrap-config (cli_wrapconfig.c): rewrite the MCP configuration of client
** (claude-desktop, claude-code, vscode or cursor; file NULL for its default
** place under dirs) so that every stdio server runs through `self wrap`
** and every remote one through `self wrap --url` (docs/remote.md), or with
** undo restore the entries; a backup is written beside the file first and
** each change is printed to out.  A malformed file is left untouched. */
int cli_wrap_config(const char *client, const char *file, int undo, const char *self,
                    const cli_wrap_where *dirs, FILE *out, char *err, size_t errlen);

/* ---- building blocks (cli_table.c, cli_export.c) ---------------------- */

/* A new output file for what a command writes (export, report), through
** fs_newfile: mode 0600, published under path only when complete.  An
** existing path is refused at once (`command` never overwrites).  Returns
** CLI_OK with nf->f open for writing (buffered), or CLI_EUSAGE with a
** sentence in err.  The caller ends with cli_output_publish(), or
** fs_newfile_discard() on failure (harmless after publishing). */
int cli_output_open(fs_newfile *nf, const char *path, const char *command, char *err,
                    size_t errlen);

/* Flush, fsync and publish the file under its name.  CLI_OK, or CLI_EFAIL
** with a sentence in err (nothing is left at the path then). */
int cli_output_publish(fs_newfile *nf, const char *command, char *err, size_t errlen);

/* Whether tables (rather than JSON Lines) should go to out: out is a
** terminal and --json was not given. */
int cli_use_table(FILE *out, const cli_args *a);

/* The width of the terminal behind out, or 0 when it is none. */
int cli_term_width(FILE *out);

/* A column of a terminal table.  Widths are in characters (code points). */
typedef struct cli_col {
    const char *title;
    int min, max;  /* width bounds; max 0 = the rest of the line */
    int right;     /* right-aligned (numbers) */
} cli_col;

typedef struct cli_table cli_table;

/*
** A table printed to out.  Rows are buffered (up to a fixed number, so
** memory stays bounded) to size the columns to their contents; the first
** flush prints the header and fixes the widths for the rest.  Cells are
** shown with control characters replaced by '?' and cut to the column's
** width with "~" at the end.  Returns NULL when memory runs out; the caller
** frees with cli_table_free().  width is the line width (0: unbounded).
*/
cli_table *cli_table_new(FILE *out, const cli_col *cols, int ncols, int width);
/* Add a row of ncols cells (NULL shows as "-").  0, or -1 on a write or
** memory failure. */
int cli_table_add(cli_table *t, const char *const *cells);
/* Print what is buffered (and the header, the first time).  0 or -1. */
int cli_table_flush(cli_table *t);
void cli_table_free(cli_table *t);

/* Copy s into out (len bytes, NUL-terminated) with control characters
** (C0, DEL, C1) replaced by '?', so that data cannot drive the terminal;
** invalid UTF-8 bytes also become '?'. */
void cli_sanitize(const char *s, char *out, size_t len);

/* A progress bar on a stream, drawn only when the stream is a terminal,
** once the work has taken 200 ms, and then at most every 100 ms. */
typedef struct cli_progress {
    FILE *f;
    int on;            /* f is a terminal */
    const char *label;
    int64_t start_ms;  /* nothing is drawn for work shorter than 200 ms */
    int64_t last_ms;
    int drawn;
} cli_progress;

void cli_progress_start(cli_progress *p, FILE *f, const char *label);
void cli_progress_update(cli_progress *p, int64_t done, int64_t total);
/* Erase the bar. */
void cli_progress_end(cli_progress *p);

/* Write one CSV field per RFC 4180: enclosed in double quotes, with its
** quotes doubled, when it holds a comma, a double quote, CR or LF; as it
** is otherwise.  NULL writes an empty field.  0, or -1 on a write error. */
int cli_csv_field(FILE *out, const char *s);

/* The CSV columns in order, and the header row (with CRLF). */
extern const char *const cli_csv_columns[];
extern const int cli_csv_ncolumns;
int cli_csv_header(FILE *out);
/* One entry (as the store returns it) as one CSV row ending in CRLF. */
int cli_csv_row(FILE *out, const cJSON *entry);

/* The OCSF activity_id of an entry: 1 Create, 2 Read, 3 Update, 4 Delete
** or 99 Other (see the export help for the mapping). */
int cli_ocsf_activity(const char *event_type, const char *operation_name);

/* The OCSF 1.1.0 API Activity event of an entry.  Returns a new object
** (caller frees with cJSON_Delete), or NULL with a sentence in err. */
cJSON *cli_ocsf_event(const cJSON *entry, char *err, size_t errlen);

/* The JSON Lines text of one entry (a row, as the store gives it) in fmt,
** appended to out: CLI_FORMAT_JSONL the entry as `query` prints it,
** CLI_FORMAT_OTLP its OTLP/JSON log record, any other its OCSF event.  The
** one mapping `export` and ship's sinks (sink_entry_json) share.  0, or -1
** with a sentence in err ("out of memory" when memory ran out). */
struct jbuf;
int cli_entry_json(cli_format fmt, const entry_row *row, struct jbuf *out, char *err,
                   size_t errlen);

/* OpenTelemetry logs (cli_otlp.c): one mapping of an entry to a log
** record, two encodings: OTLP/JSON here (export --format otlp) and
** OTLP/protobuf in ship's OTLP sink (src/ship/sink_otlp.c).
**
** An export is lines of cli_otlp_open(), up to CLI_OTLP_BATCH records
** separated by commas, and cli_otlp_close(); log_id names the log in the
** resource.  Both return 0, or -1 when the write fails. */
enum { CLI_OTLP_BATCH = 512 };
#define CLI_OTLP_SCOPE "dss-audit-mcp" /* service.name and the scope's name */
#define CLI_OTLP_REQUEST_TAIL "]}]}]}"  /* closes cli_otlp_request_head() */
int cli_otlp_open(FILE *out, const char *log_id);
int cli_otlp_close(FILE *out);
/* The OTLP/JSON text of an ExportLogsServiceRequest up to its first
** record (records follow, separated by commas, then
** CLI_OTLP_REQUEST_TAIL): a new string the caller frees with free(), or
** NULL when memory runs out. */
char *cli_otlp_request_head(const char *log_id);
/* The OTLP LogRecord of one entry (a row, as the store gives it): a new
** tree the caller frees with cJSON_Delete(), or NULL with a message in
** err. */
cJSON *cli_otlp_record(const entry_row *row, char *err, size_t errlen);

/* The mapping itself, for any encoder.  An attribute is a key and either a
** string or an integer; both are borrowed for the call. */
typedef struct cli_otlp_attr {
    const char *key;
    const char *str; /* the value, unless is_int */
    int64_t num;
    int is_int;
    size_t key_len, str_len; /* strlen() of key and str, known to the mapping */
} cli_otlp_attr;
/* Called once per attribute, in order; a non-zero return stops the walk
** and is returned by it. */
typedef int (*cli_otlp_attr_fn)(void *ctx, const cli_otlp_attr *a);
/* Call fn with each attribute of the entry's record (docs/export.md has
** the table), read straight from its row: no tree is built.  0, or the
** first non-zero return of fn (-1 also when memory runs out). */
int cli_otlp_attributes(const entry_row *row, cli_otlp_attr_fn fn, void *ctx);
/* Call fn with each attribute of the resource (the log and this
** program). */
int cli_otlp_resource(const char *log_id, cli_otlp_attr_fn fn, void *ctx);
/* The rest of a record: its time (both timeUnixNano and
** observedTimeUnixNano; microseconds) and severity.  The body is the
** entry's JSON text (entry_json()), encoded by the caller.
** 0, or -1 with a message in err for an entry without a usable time. */
typedef struct cli_otlp_fields {
    int64_t time_us;
    int severity_number;
    const char *severity_text; /* static */
} cli_otlp_fields;
int cli_otlp_head(const entry_row *row, cli_otlp_fields *f, char *err, size_t errlen);
/* The version the resource and the scope carry (static). */
const char *cli_otlp_version(void);

#endif
