/*
** cli_help.c: every help text of dss-audit-mcp, and its two renderings.
**
** The tables below are the single source of the text people read: the
** program's --help, each command's --help, and the manual page, which the
** build prints with cli_man.c.  The plain rendering wraps paragraphs to 79
** columns and lines options up in a second column; the roff rendering
** leaves filling to man(1) and only escapes what roff would misread.
*/
#include "cli_help.h"

#include <string.h>

/* ---- the texts ---------------------------------------------------------- */

#define OPT_DB                                                              \
    {"--db PATH", "audit database: a file, or a PostgreSQL database as "    \
                  "postgres://... or a libpq keyword string (env "          \
                  "DSS_AUDIT_DB; default $XDG_DATA_HOME/dss-audit/audit.db)"}
#define OPT_LOG                                                             \
    {"--log NAME", "the log written in a PostgreSQL database, created "     \
                   "when missing, or the name a new local file is given "   \
                   "(env DSS_AUDIT_LOG; default the host name)"}
#define OPT_DB_RO                                                           \
    {"--db PATH", "audit database, opened read-only and never created "     \
                  "(env DSS_AUDIT_DB; default $XDG_DATA_HOME/dss-audit/audit.db)"}
#define OPT_KEY                                                             \
    {"--key PATH", "Ed25519 checkpoint signing key, created on first use "  \
                   "(env DSS_AUDIT_KEY; default "                           \
                   "$XDG_CONFIG_HOME/dss-audit/signing.key)"}
#define OPT_HELP {"-h, --help", "show this help and exit"}
#define OPT_JSON                                                            \
    {"--json", "print JSON Lines even when stdout is a terminal"}
#define OPT_USER {"--user U", "only entries whose user_id is U"}
#define OPT_PROJECT {"--project P", "only entries whose project_id is P"}
#define OPT_EVENT_TYPE                                                      \
    {"--event-type T", "only entries of event type T (tool_call, "          \
                       "credential_access, credential_create, "             \
                       "credential_delete, project_create, project_update, " \
                       "project_delete, component_sync, token_sync, "       \
                       "state_transition, error, security_event)"}
#define OPT_OPERATION                                                       \
    {"--operation-name O", "only entries whose operation_name is exactly O"}
#define OPT_SERVER                                                          \
    {"--server NAME", "only calls relayed by wrap to the MCP server NAME"}
#define OPT_SESSION                                                         \
    {"--session ID", "only entries of session ID (a wrap process, or the "  \
                     "agent client's session for hook entries)"}
#define OPT_SINCE                                                           \
    {"--since DATE", "only entries created at or after DATE: RFC 3339 "     \
                     "(2026-11-27T09:30:00Z, or with an offset) or "        \
                     "YYYY-MM-DD (from the start of that UTC day)"}
#define OPT_UNTIL                                                           \
    {"--until DATE", "only entries created at or before DATE; a bare "      \
                     "YYYY-MM-DD includes that whole UTC day"}
#define END_ITEMS {NULL, NULL}
#define END_SECTIONS {NULL, NULL, NULL, 0}

static const cli_help_item common_opts[] = {
    OPT_DB,
    {"--key PATH", "Ed25519 checkpoint signing key of serve, verify, "
                   "checkpoint, public-key and prune, created on first use "
                   "(env DSS_AUDIT_KEY; default "
                   "$XDG_CONFIG_HOME/dss-audit/signing.key)"},
    END_ITEMS,
};

#define SERVE_OPTS                                                          \
    {"--actor NAME", "who the session acts for, the default user_id (env "  \
                     "DSS_AUDIT_ACTOR; default: your login name)"},         \
    {"--checkpoint-interval N", "entries between automatic checkpoints "    \
                                "(env DSS_AUDIT_CHECKPOINT_INTERVAL; "      \
                                "default 1000)"},                           \
    {"--max-message-bytes N", "longest accepted message (env "              \
                              "DSS_AUDIT_MAX_MESSAGE_BYTES; default "       \
                              "4194304)"},                                  \
    {"--max-depth N", "deepest accepted JSON nesting (env "                 \
                      "DSS_AUDIT_MAX_DEPTH; default 64)"},                  \
    {"--read-only", "serve queries only; every write is refused with a "    \
                    "message saying so (env DSS_AUDIT_READ_ONLY=1; also "   \
                    "when the database file is not writable)"},             \
    {"--max-db-size BYTES", "cap the database's size; writes beyond it "    \
                            "fail cleanly (env DSS_AUDIT_MAX_DB_SIZE)"},    \
    {"--config PATH", "extra redaction rules, as JSON: {\"redact_keys\": "  \
                      "[\"ssn\"], \"redact_prefixes\": [\"acme_\"]}; a file " \
                      "other users can write is refused (env "              \
                      "DSS_AUDIT_CONFIG; default "                          \
                      "$XDG_CONFIG_HOME/dss-audit/config.json when it "     \
                      "exists)"}

static const cli_help_item program_serve_opts[] = {
    SERVE_OPTS,
    OPT_HELP,
    {"-V, --version", "show the version and exit"},
    END_ITEMS,
};

static const cli_help_item files[] = {
    {"$XDG_DATA_HOME/dss-audit/audit.db",
     "the audit database (else ~/.local/share/dss-audit/audit.db), with "
     "audit.db-wal and audit.db-shm while a server runs; created with mode "
     "0600 in folders of mode 0700"},
    {"$XDG_CONFIG_HOME/dss-audit/signing.key",
     "the Ed25519 checkpoint key (else ~/.config/dss-audit/signing.key), "
     "mode 0600, with its public half beside it as signing.key.pub"},
    END_ITEMS,
};

static const cli_help_section program_sections[] = {
    {NULL,
     "An MCP server (JSON-RPC over stdio) that keeps a tamper-evident, "
     "append-only audit trail of what AI agents do, in SQLite. Without a "
     "command it serves MCP on stdin and stdout, which is how MCP clients "
     "start it; the other commands are for people who read, export and "
     "check the trail.",
     NULL, 0},
    {"Commands", NULL, NULL, 1},
    {"Options (every command)", NULL, common_opts, 0},
    {"Options (serve)", NULL, program_serve_opts, 0},
    {"Output",
     "stdout carries only protocol messages (serve) or results; "
     "diagnostics go to stderr. tail, query and stats print aligned tables "
     "when stdout is a terminal and JSON Lines (one JSON object per line) "
     "otherwise. Long work shows a progress bar on stderr when stderr is a "
     "terminal.",
     NULL, 0},
    {"Exit status",
     "0 on success; 1 when the work failed (for verify: the log was "
     "tampered with); 2 for a usage error, or a database or file that "
     "cannot be used.",
     NULL, 0},
    {"Files", NULL, files, 0},
    {NULL,
     "Run 'dss-audit-mcp COMMAND --help' for the options of one command, "
     "and 'man dss-audit-mcp' for all of them.",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item serve_opts[] = {
    OPT_DB, OPT_LOG, OPT_KEY, SERVE_OPTS, OPT_HELP, END_ITEMS,
};

static const cli_help_section serve_sections[] = {
    {NULL,
     "Serve the Model Context Protocol (JSON-RPC 2.0, one message per line) "
     "on stdin and stdout; this is the default command and what MCP clients "
     "start. Every tool call is itself recorded. The server exits 0 when "
     "stdin closes, and on SIGTERM or SIGINT after finishing the request in "
     "hand. When stdin is a terminal it first prints one line on stderr: "
     "that it waits for an MCP client, the database, and how to try it "
     "(type a ping request) or quit (Ctrl-D).",
     NULL, 0},
    {"Options", NULL, serve_opts, 0},
    END_SECTIONS,
};

static const cli_help_item verify_opts[] = {
    {"--checkpoint FILE", "also prove the log still contains this exported "
                          "checkpoint (catches truncation and rewriting)"},
    {"--public-key FILE", "trust only checkpoints signed by this key "
                          "(default: the key file's .pub, when present)"},
    {"--trusted-keys FILE", "refuse checkpoints signed by a key not in FILE "
                            "(one hex key a line, or NAME KEY for one log; "
                            "# comments)"},
    {"--archive FILE", "verify pruned entries in FILE and the database as "
                       "one chain (repeatable, oldest first; of one log)"},
    {"--log NAME|ID", "verify only this log (default: every log of the store)"},
    OPT_DB_RO,
    {"--key PATH", "signing key whose .pub file is trusted by default "
                   "(env DSS_AUDIT_KEY)"},
    OPT_HELP,
    END_ITEMS,
};

static const cli_help_section verify_sections[] = {
    {NULL,
     "For every log of the store (or the one --log names), recompute the "
     "hash chain from genesis (or from the newest retention anchor), check "
     "every checkpoint's signature, that it is signed by the log's recorded "
     "key, and that its head is still in the chain, and print the JSON "
     "report on stdout: {ok, entries_checked, checkpoints_checked, head, "
     "problems, logs}. Each problem names its log (log, log_id), the seq it "
     "concerns and its kind: modified, missing, inserted, reordered, "
     "bad_signature, truncated, or unprotected (PostgreSQL's append-only "
     "triggers are gone); each is also one line on stderr.",
     NULL, 0},
    {"Options", NULL, verify_opts, 0},
    {"Exit status", "0 intact, 1 tampered, 2 usage or I/O error.", NULL, 0},
    END_SECTIONS,
};

static const cli_help_item key_db_opts[] = {
    OPT_DB, OPT_KEY, OPT_HELP, END_ITEMS,
};

static const cli_help_section checkpoint_sections[] = {
    {NULL,
     "Sign the current head of the log with the Ed25519 key and print the "
     "checkpoint as JSON. Keep it off the machine: 'verify --checkpoint "
     "FILE' later proves that the log still contains it.",
     NULL, 0},
    {"Options", NULL, key_db_opts, 0},
    {"Example", "  dss-audit-mcp checkpoint > ~/safe/audit-cp.json", NULL, 0},
    END_SECTIONS,
};

static const cli_help_item public_key_opts[] = {
    OPT_KEY, OPT_HELP, END_ITEMS,
};

static const cli_help_section public_key_sections[] = {
    {NULL, "Print the public half of the checkpoint signing key, in hex.",
     NULL, 0},
    {"Options", NULL, public_key_opts, 0},
    END_SECTIONS,
};

static const cli_help_item prune_opts[] = {
    {"--before DATE", "remove the entries created before DATE (RFC 3339 or "
                      "YYYY-MM-DD)"},
    {"--archive FILE", "the new JSON Lines file that receives them; it must "
                       "not exist yet"},
    OPT_DB, OPT_KEY, OPT_HELP, END_ITEMS,
};

static const cli_help_section prune_sections[] = {
    {NULL,
     "Retention: write the entries created before DATE, with their exact "
     "stored bytes and hashes, to a new JSON Lines archive and fsync it; "
     "then, in one transaction, remove them and record a signed retention "
     "anchor. The remaining log verifies from the anchor, and 'verify "
     "--archive FILE' checks archive and database as one chain. An archive "
     "that cannot be written removes nothing.",
     NULL, 0},
    {"Options", NULL, prune_opts, 0},
    END_SECTIONS,
};

static const cli_help_item ship_opts[] = {
    {"--db PATH", "the local SQLite file to ship, opened read-only (env "
                  "DSS_AUDIT_DB; default $XDG_DATA_HOME/dss-audit/audit.db)"},
    {"--to DB", "the central PostgreSQL database: postgres://... or a libpq "
                "keyword string; every libpq environment variable, "
                "PGPASSFILE and sslmode apply"},
    {"--log NAME", "the central log's name (default the local log's name)"},
    {"-f, --follow", "keep shipping new entries as they are committed, "
                     "waiting out a database that goes away, until SIGTERM "
                     "or SIGINT"},
    OPT_HELP, END_ITEMS,
};

static const cli_help_section ship_sections[] = {
    {NULL,
     "Copy a local log into a central PostgreSQL database as a log of its "
     "own: entries and checkpoints keep their ids, seq, timestamps and "
     "hashes, and the log keeps its log_id. Shipping resumes from the "
     "central head of that log, so sending again stores nothing twice; the "
     "database checks every batch (seq and prev_hash continuity, each hash "
     "recomputed) and refuses a break whole. The server writing the local "
     "file never waits for the network. Prints a JSON summary: log_id, "
     "log, shipped, already_there, checkpoints, head_seq.\n\n"
     "  dss-audit-mcp ship --db ~/.local/share/dss-audit/audit.db \\\n"
     "      --to 'postgresql://audit@db.internal/audit?sslmode=verify-full' --follow",
     NULL, 0},
    {"Options", NULL, ship_opts, 0},
    END_SECTIONS,
};

static const cli_help_item migrate_opts[] = {
    OPT_DB, OPT_HELP, END_ITEMS,
};

static const cli_help_section migrate_sections[] = {
    {NULL,
     "Create the audit schema in the database, or bring it forward to this "
     "version's, and exit; no log is created. Servers do this by themselves "
     "on first start; run it once as the role that should own the schema "
     "(for PostgreSQL, e.g. with options=-c role=dss_audit_owner in the "
     "connection string) so that the writers' role owns nothing. A database "
     "of a newer version is refused with a message.",
     NULL, 0},
    {"Options", NULL, migrate_opts, 0},
    END_SECTIONS,
};

static const cli_help_item tail_opts[] = {
    {"-n, --lines N", "how many of the newest entries to print (default 10; "
                      "0 prints none, which suits -f)"},
    {"-f, --follow", "then keep printing new entries as they are committed "
                     "(checks every 250 ms), until SIGINT (Ctrl-C) or "
                     "SIGTERM, which end it with status 0"},
    OPT_JSON, OPT_DB_RO, OPT_HELP, END_ITEMS,
};

#define ENTRY_OUTPUT                                                        \
    "On a terminal: a table with the columns SEQ, TIME (UTC), EVENT, USER, " \
    "PROJECT, OPERATION and RESULT (ok, or the error); control characters "  \
    "in the data are shown as '?'. Otherwise: one entry per line as JSON, "  \
    "exactly as the MCP tools return entries."

static const cli_help_section tail_sections[] = {
    {NULL,
     "Print the newest N entries, oldest of them first. With -f, keep "
     "watching the database and print each new entry once it is committed, "
     "whichever process wrote it.",
     NULL, 0},
    {"Options", NULL, tail_opts, 0},
    {"Output", ENTRY_OUTPUT, NULL, 0},
    {"Examples",
     "  dss-audit-mcp tail -n 20\n"
     "  dss-audit-mcp tail -n 0 -f | jq -r .operation_name",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item query_opts[] = {
    OPT_USER, OPT_PROJECT, OPT_EVENT_TYPE, OPT_OPERATION, OPT_SERVER, OPT_SESSION, OPT_SINCE,
    OPT_UNTIL,
    {"--search TEXT", "only entries whose operation_name or error contains "
                      "TEXT, literally, ignoring ASCII case"},
    {"--limit N", "print at most N entries (default 100)"},
    OPT_JSON, OPT_DB_RO, OPT_HELP, END_ITEMS,
};

static const cli_help_section query_sections[] = {
    {NULL,
     "Print the entries that match every filter given, newest first: by "
     "time when --since or --until is given, by seq otherwise. The filters "
     "are those of the MCP tools get_operation_history, get_audit_trail and "
     "search_audit_log, with the same meaning.",
     NULL, 0},
    {"Options", NULL, query_opts, 0},
    {"Output", ENTRY_OUTPUT, NULL, 0},
    {"Examples",
     "  dss-audit-mcp query --user alice --since 2026-11-01\n"
     "  dss-audit-mcp query --event-type security_event --limit 20\n"
     "  dss-audit-mcp query --search rename --json",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item stats_opts[] = {
    OPT_JSON, OPT_DB_RO, OPT_HELP, END_ITEMS,
};

static const cli_help_section stats_sections[] = {
    {NULL,
     "Summarize the log: the number of entries with their seq and time "
     "span, entries with an error, the chain head (seq and hash), "
     "checkpoints and retention anchors with the newest checkpoint, the size "
     "of the database and its write-ahead log, counts by event type, and "
     "the ten most active users. Entries are counted row by row, with a "
     "progress bar on stderr when it is a terminal.",
     NULL, 0},
    {"Options", NULL, stats_opts, 0},
    {"Output",
     "On a terminal: an aligned summary and two small tables. Otherwise: "
     "one JSON object on one line, with the members database, log_id, "
     "entries, first_seq, last_seq, first_created_at, last_created_at, "
     "errors, head {seq, hash}, checkpoints, anchors, last_checkpoint, "
     "db_bytes, wal_bytes, by_event_type and top_users.",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item export_opts[] = {
    {"--format F", "jsonl, csv, ocsf or otlp (required)"},
    {"-o, --output FILE", "write to FILE, which must not exist yet: it is "
                          "created with mode 0600 and fsynced before the "
                          "command succeeds, and removed if the export fails "
                          "(default: stdout)"},
    OPT_SINCE, OPT_UNTIL, OPT_USER, OPT_PROJECT, OPT_EVENT_TYPE,
    OPT_OPERATION, OPT_SERVER, OPT_SESSION, OPT_DB_RO, OPT_HELP, END_ITEMS,
};

static const cli_help_item export_formats[] = {
    {"jsonl", "one entry per line, exactly as the MCP tools return "
              "entries (JSON fields as JSON)"},
    {"csv", "RFC 4180: a header row, then one row per entry with the "
            "columns seq, id, event_type, operation_name, operation_id, "
            "user_id, project_id, args, result, error, before_state, "
            "after_state, created_at, client, prev_hash, hash, server, "
            "session_id, duration_ms, completes and cwd. Lines "
            "end with CRLF; a field holding a comma, a double quote, CR "
            "or LF is enclosed in double quotes, its double quotes "
            "doubled. JSON fields hold their JSON text; null is an "
            "empty field. Values are written as stored: a spreadsheet "
            "may treat a cell starting with = + - or @ as a formula"},
    {"ocsf", "one OCSF 1.1.0 API Activity event per line (class_uid "
             "6003, category_uid 6, severity_id 1): time (epoch "
             "milliseconds of created_at), actor.user.name (user_id), "
             "actor.app_name and src_endpoint.name (the client's name, "
             "else \"unknown\"), api.operation (operation_name), "
             "api.request.uid (operation_id), status_id 1 Success or 2 "
             "Failure (the entry has an error), status_detail (the "
             "error), metadata {version 1.1.0, product {name "
             "dss-audit-mcp, vendor_name DSS}, uid (the entry's id)}, "
             "and every other field under unmapped"},
    {"otlp", "OpenTelemetry logs in OTLP/JSON, as the OTLP file exporter "
             "writes them: one ExportLogsServiceRequest per line, each "
             "with up to 512 log records. The resource carries "
             "service.name dss-audit-mcp, service.version and "
             "dss_audit.log_id. Each record has timeUnixNano (created_at), "
             "severity ERROR when the entry has an error and INFO "
             "otherwise, the entry's jsonl line as its body, and its "
             "fields as attributes: user.id, error.message, "
             "mcp.session.id (session_id), and for tool_call entries "
             "mcp.method.name tools/call, gen_ai.operation.name "
             "execute_tool, gen_ai.tool.name (operation_name) and "
             "jsonrpc.request.id (operation_id); every field under "
             "dss_audit.* (dss_audit.seq, dss_audit.client.name, "
             "dss_audit.server.name, dss_audit.duration_ms, ...)"},
    END_ITEMS,
};

static const cli_help_section export_sections[] = {
    {NULL,
     "Write every entry that matches the filters, oldest first (in seq "
     "order), to stdout or to a new file. Entries are read and written one "
     "at a time, so memory use does not grow with the size of the log. A "
     "progress bar is shown on stderr when it is a terminal.",
     NULL, 0},
    {"Options", NULL, export_opts, 0},
    {"Formats", NULL,
     export_formats, 0},
    {"OCSF activity",
     "activity_id 1 Create: credential_create, project_create, and the tool "
     "calls log_operation and create_checkpoint. 2 Read: credential_access, "
     "and the tool calls get_operation_history, get_audit_trail, "
     "get_user_activity, search_audit_log, get_audit_entry and "
     "verify_audit_log. 3 Update: project_update, component_sync, "
     "token_sync and state_transition. 4 Delete: credential_delete and "
     "project_delete. 99 Other: error, security_event and anything else. "
     "type_uid is 600300 + activity_id.",
     NULL, 0},
    {"Examples",
     "  dss-audit-mcp export --format csv --since 2026-01-01 -o 2026.csv\n"
     "  dss-audit-mcp export --format ocsf --until 2026-06-30 > h1.ocsf\n"
     "  dss-audit-mcp export --format jsonl --user alice > alice.jsonl\n"
     "  dss-audit-mcp export --format otlp --since 2026-06-01 > june.otlp.jsonl",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item ui_opts[] = {
    {"--listen ADDR:PORT", "where to listen (default 127.0.0.1 on a free "
                           "port); an IPv4 or [IPv6] literal or localhost. "
                           "An address beyond loopback is accepted only when "
                           "given here, with a warning that the trail is "
                           "then visible to that network"},
    {"--open", "open the URL in the desktop's browser (xdg-open)"},
    OPT_DB_RO,
    {"--key PATH", "signing key whose .pub file the verification trusts "
                   "(env DSS_AUDIT_KEY)"},
    {"--public-key FILE", "trust this public key instead"},
    OPT_HELP, END_ITEMS,
};

static const cli_help_section ui_sections[] = {
    {NULL,
     "Serve a read-only web viewer of the trail on this machine and print "
     "its URL on stdout. The URL carries a random access token: a request "
     "without it gets 401, so other users of the machine cannot read the "
     "trail. The page shows the entries newest first, paged with keyset "
     "cursors through any number of entries; filters for user, project, "
     "event type, operation, server, session, time range and a substring "
     "search, all kept "
     "in the URL so that a view can be shared; each entry's fields, its "
     "JSON pretty-printed, its hash and previous hash, and links to its "
     "session's other calls; activity per day by "
     "event type and per user; the checkpoints; and a banner with the "
     "result of verifying the whole chain, run in the background. The "
     "database is opened read-only and only GET requests are served. Runs "
     "until SIGINT (Ctrl-C) or SIGTERM.",
     NULL, 0},
    {"Options", NULL, ui_opts, 0},
    {"Examples",
     "  dss-audit-mcp ui\n"
     "  dss-audit-mcp ui --listen 127.0.0.1:8765 --open",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item report_opts[] = {
    {"--since DATE", "the period's first day or instant (required; RFC 3339 "
                     "or YYYY-MM-DD)"},
    {"--until DATE", "its last day or instant (required; a bare YYYY-MM-DD "
                     "includes that whole UTC day)"},
    {"-o, --output FILE", "the report to write (required); it must not "
                          "exist yet: created with mode 0600, fsynced, and "
                          "removed if the report fails"},
    OPT_USER, OPT_PROJECT, OPT_EVENT_TYPE, OPT_OPERATION, OPT_SERVER,
    OPT_SESSION, OPT_DB_RO,
    {"--key PATH", "signing key whose .pub file the verification trusts "
                   "and the report names (env DSS_AUDIT_KEY)"},
    {"--public-key FILE", "trust and name this public key instead"},
    OPT_HELP, END_ITEMS,
};

static const cli_help_section report_sections[] = {
    {NULL,
     "Write one self-contained HTML file, for archiving or e-mail: the "
     "viewer's page with its script, style and data inlined, so that it "
     "opens in any browser without a server and makes no network request. "
     "It holds the period and filters, totals by event type and by user, "
     "the activity per day, every matching entry (newest first), and the "
     "verification of the whole chain with its head, the checkpoint that "
     "covers the newest reported entry and the public key, so that a "
     "reader can check the proof later with 'verify --checkpoint'. Entries "
     "are streamed one at a time, so memory does not grow with the period; "
     "a progress bar is shown on stderr when it is a terminal.",
     NULL, 0},
    {"Options", NULL, report_opts, 0},
    {"Example",
     "  dss-audit-mcp report --since 2026-11-01 --until 2026-11-30 \\\n"
     "      --user alice -o alice-november.html",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item wrap_opts[] = {
    {"--name NAME", "the wrapped server's name in the trail (default: the "
                    "serverInfo.name it reports, else the command's base name)"},
    {"--record-results MODE", "what of a successful tools/call result is kept: "
                              "summary (default: content types and sizes, "
                              "structuredContent keys, isError), full (the "
                              "scrubbed result, cut past 64 KiB with "
                              "\"truncated\": true) or none"},
    {"--fail-open", "forward calls even when the trail cannot be written, "
                    "with a warning on stderr (default: refuse them with "
                    "the JSON-RPC error -32001 audit trail unavailable)"},
    {"--kill-after SECONDS", "after the client closes stdin (or on SIGTERM "
                             "or SIGINT), wait this long for the server to "
                             "exit before SIGTERM, then as long again "
                             "before SIGKILL (default 5)"},
    OPT_DB, OPT_LOG,
    {"--actor NAME", "the user_id of the entries (env DSS_AUDIT_ACTOR; default: your login name)"},
    OPT_HELP, END_ITEMS,
};

static const cli_help_section wrap_sections[] = {
    {NULL,
     "Run COMMAND with ARGS (no shell) as a stdio MCP server and relay "
     "every JSON-RPC line between it and the client unchanged, recording "
     "tools/call, initialize, resources/read, prompts/get and every request "
     "the server sends the client, each with its outcome. Records are "
     "write-ahead: a request reaches the server only after its entry is "
     "durable, a response reaches the client only after its outcome is. "
     "Lines from the server that are not JSON-RPC go to stderr. The exit "
     "status is the server's (128 + N when signal N killed it), or 127 when "
     "it could not be started. See docs/wrap.md.",
     NULL, 0},
    {"Options", NULL, wrap_opts, 0},
    {"Examples",
     "  dss-audit-mcp wrap --name fs -- npx -y some-mcp-server --root /tmp\n"
     "  dss-audit-mcp query --server fs --json",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item wrap_config_opts[] = {
    {"--client C", "claude-desktop, claude-code, vscode or cursor (required)"},
    {"--file PATH", "the configuration file (default: the client's own: "
                    "$XDG_CONFIG_HOME/Claude/claude_desktop_config.json, "
                    "~/.claude.json, .vscode/mcp.json, ~/.cursor/mcp.json)"},
    {"--undo", "restore the entries wrap-config wrapped"},
    OPT_HELP, END_ITEMS,
};

static const cli_help_section wrap_config_sections[] = {
    {NULL,
     "Rewrite a client's MCP configuration so that every stdio server entry "
     "runs through 'dss-audit-mcp wrap --name KEY -- COMMAND ARGS...', "
     "keeping its env; entries already wrapped and remote servers are "
     "skipped. A backup FILE.<time>.bak is written beside the file first, "
     "and each change is printed. A malformed file is left untouched, with "
     "the line and column where it is malformed.",
     NULL, 0},
    {"Options", NULL, wrap_config_opts, 0},
    END_SECTIONS,
};

static const cli_help_item hook_opts[] = {
    {"--client C", "auto (default: recognized from the event's fields), "
                   "claude-code, cursor, gemini, copilot or vscode"},
    {"--actor NAME", "the user_id of every entry (env DSS_AUDIT_ACTOR); "
                     "without it, Cursor's user_email, else the login name"},
    {"--fail-closed", "block a pre event (a tool about to run) that cannot "
                      "be recorded instead of letting it run"},
    {"--record-prompts", "keep the scrubbed text of submitted prompts; by "
                         "default only their length is recorded"},
    {"--record-results MODE", "what of a tool's output is kept: summary "
                              "(default: types and sizes), full (scrubbed, "
                              "cut past 64 KiB) or none"},
    OPT_DB,
    OPT_LOG,
    OPT_HELP,
    {NULL, NULL},
};

static const cli_help_section hook_sections[] = {
    {NULL,
     "Run by an agent client before and after each of its built-in tools: "
     "reads one hook event (a JSON object of at most 8 MiB) from stdin, "
     "appends it durably to the audit trail and answers as the client "
     "expects. Tool events become tool_call entries (operation_name the "
     "tool's name, operation_id the tool-use id, args.input the scrubbed "
     "tool input, args.unmapped every field not mapped); a post event's "
     "completes names its pre event. Session, stop and prompt events "
     "become state_transition entries. See docs/hooks.md.",
     NULL, 0},
    {"Options", NULL, hook_opts, 0},
    {"Answers",
     "Claude Code, Gemini CLI, VS Code and Copilot: nothing on stdout, exit "
     "0. Cursor's before* events: {\"permission\":\"allow\"} on stdout.",
     NULL, 0},
    {"Exit status",
     "0, also when the event cannot be recorded (bad JSON, unknown event, "
     "locked or full database): a one-line warning goes to stderr and the "
     "agent goes on. With --fail-closed a pre event that cannot be recorded "
     "is blocked: exit 2 with the reason on stderr (Claude Code, Gemini CLI, "
     "VS Code), {\"permission\":\"deny\",...} (Cursor) or "
     "{\"permissionDecision\":\"deny\",...} (Copilot) on stdout with exit 0.",
     NULL, 0},
    {"Example",
     "  dss-audit-mcp hook --client claude-code < event.json\n"
     "  dss-audit-mcp hook --fail-closed --record-results none",
     NULL, 0},
    END_SECTIONS,
};

static const cli_help_item hooks_opts[] = {
    {"--client C", "claude-code, cursor, gemini, copilot or vscode (required)"},
    {"--scope S", "user (default; the file in your home folder) or project "
                  "(the one under the current folder); Copilot and VS Code "
                  "have project files only"},
    {"--fail-closed", "install `hook --fail-closed`: pre events that cannot be "
                      "recorded are blocked"},
    {"--file PATH", "this settings file instead of the client's own"},
    OPT_HELP,
    {NULL, NULL},
};

static const cli_help_section hooks_sections[] = {
    {NULL,
     "install adds one entry running `dss-audit-mcp hook --client C` for each "
     "event mapped for the client to its settings file (Claude Code "
     "~/.claude/settings.json or .claude/settings.json, Cursor "
     "~/.cursor/hooks.json or .cursor/hooks.json, Gemini CLI "
     "~/.gemini/settings.json or .gemini/settings.json, Copilot "
     ".github/hooks/dss-audit-mcp-copilot.json, VS Code "
     ".github/hooks/dss-audit-mcp-vscode.json), keeping the hooks already "
     "there, after copying the file to PATH.dss-audit-mcp.bak, and prints each "
     "change. uninstall removes exactly those entries; when nothing else "
     "changed since, it puts the backup's bytes back. A file that is not "
     "JSON, or whose hooks are shaped otherwise, is left untouched and "
     "named in the message.",
     NULL, 0},
    {"Options", NULL, hooks_opts, 0},
    {"Exit status", "0 done (also when there was nothing to change), 1 the "
     "file could not be changed (it is left as it was), 2 usage.", NULL, 0},
    {"Examples",
     "  dss-audit-mcp hooks install --client claude-code\n"
     "  dss-audit-mcp hooks uninstall --client cursor --scope project",
     NULL, 0},
    END_SECTIONS,
};

const cli_help_page cli_help_pages[] = {
    {NULL, "[COMMAND] [OPTIONS]",
     "a tamper-evident audit trail of what AI agents do, served over MCP",
     program_sections},
    {"serve", "[serve] [OPTIONS]",
     "serve MCP on stdin/stdout (the default)", serve_sections},
    {"wrap",
     "wrap [--name NAME] [--db PATH] [--actor NAME] "
     "[--record-results summary|full|none] [--fail-open] "
     "[--kill-after SECONDS] -- COMMAND [ARGS...]",
     "run a stdio MCP server and record every call relayed to it",
     wrap_sections},
    {"wrap-config", "wrap-config --client claude-desktop|claude-code|vscode|cursor "
                    "[--file PATH] [--undo]",
     "make a client's stdio MCP servers run through wrap", wrap_config_sections},
    {"hook",
     "hook [--client auto|claude-code|cursor|gemini|copilot|vscode] [--db PATH] "
     "[--actor NAME] [--fail-closed] [--record-prompts] "
     "[--record-results summary|full|none]",
     "record one agent-client hook event read from stdin", hook_sections},
    {"hooks",
     "hooks install|uninstall --client claude-code|cursor|gemini|copilot|vscode "
     "[--scope user|project] [--fail-closed] [--file PATH]",
     "add `hook` to an agent client's settings file, or take it out",
     hooks_sections},
    {"tail", "tail [-n N] [-f] [--json] [--db PATH]",
     "print the newest entries, oldest first; -f follows new ones",
     tail_sections},
    {"query",
     "query [--user U] [--project P] [--event-type T] [--operation-name O] "
     "[--server NAME] [--session ID] [--since DATE] [--until DATE] [--search TEXT] [--limit N] [--json] "
     "[--db PATH]",
     "print the entries matching the filters, newest first", query_sections},
    {"stats", "stats [--json] [--db PATH]",
     "totals: entries, time span, chain head, checkpoints, size, event "
     "types, top users",
     stats_sections},
    {"export",
     "export --format jsonl|csv|ocsf|otlp [--since DATE] [--until DATE] "
     "[--user U] [--project P] [--event-type T] [--operation-name O] "
     "[--server NAME] [--session ID] [--output FILE] [--db PATH]",
     "write matching entries as JSON Lines, CSV, OCSF or OTLP, oldest first",
     export_sections},
    {"ui", "ui [--listen ADDR:PORT] [--open] [--db PATH]",
     "a read-only web viewer of the trail on loopback, behind a token",
     ui_sections},
    {"report",
     "report --since DATE --until DATE [--user U] [--project P] "
     "[--event-type T] [--operation-name O] [--server NAME] [--session ID] "
     "--output FILE.html [--db PATH]",
     "write a self-contained HTML evidence report of a period",
     report_sections},
    {"verify",
     "verify [--log NAME|ID] [--checkpoint FILE] [--public-key FILE] [--trusted-keys FILE] [--archive FILE]... "
     "[--db PATH] [--key PATH]",
     "check the hash chain and every signed checkpoint; exit 0 intact, 1 "
     "tampered, 2 usage or I/O error",
     verify_sections},
    {"checkpoint", "checkpoint [--db PATH] [--key PATH]",
     "sign the current head and print the checkpoint", checkpoint_sections},
    {"public-key", "public-key [--key PATH]",
     "print the signing key's public half (hex)", public_key_sections},
    {"prune", "prune --before DATE --archive FILE.jsonl [--db PATH] [--key PATH]",
     "move entries created before DATE to a new JSON Lines archive, leaving "
     "a signed retention anchor",
     prune_sections},
    {"ship", "ship --to DB [--follow] [--log NAME] [--db PATH]",
     "copy the local log into a central PostgreSQL database, once or "
     "continuously",
     ship_sections},
    {"migrate", "migrate [--db PATH]",
     "create or upgrade the audit schema, and nothing else",
     migrate_sections},
};

const unsigned cli_help_page_count = sizeof cli_help_pages / sizeof *cli_help_pages;

const cli_help_page *cli_help_find(const char *command)
{
    for (unsigned i = 0; i < cli_help_page_count; i++) {
        const char *n = cli_help_pages[i].name;
        if (!command ? !n : n && strcmp(n, command) == 0) return &cli_help_pages[i];
    }
    return NULL;
}

/* ---- walking paragraphs ------------------------------------------------- */

/* Call para with each paragraph (a span whose newlines count as spaces)
** and verb with each run of verbatim lines (a span of lines that each
** start with two spaces, newline-separated), in order; blank lines
** separate paragraphs. */
typedef struct text_sink {
    void (*para)(void *ctx, const char *s, size_t n);
    void (*verb)(void *ctx, const char *s, size_t n);
    void *ctx;
} text_sink;

static void walk_text(const char *text, const text_sink *k)
{
    const char *p = text, *run = NULL, *run_end = NULL;
    int run_verbatim = 0;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        int verbatim = n >= 2 && p[0] == ' ' && p[1] == ' ';
        if (run && (n == 0 || verbatim != run_verbatim)) {
            (run_verbatim ? k->verb : k->para)(k->ctx, run, (size_t)(run_end - run));
            run = NULL;
        }
        if (n > 0) {
            if (!run) run = p;
            run_end = p + n;
            run_verbatim = verbatim;
        }
        p += n + (eol ? 1 : 0);
    }
    if (run) (run_verbatim ? k->verb : k->para)(k->ctx, run, (size_t)(run_end - run));
}

/* ---- plain text --------------------------------------------------------- */

enum { WIDTH = 79, TERM_COL = 26 };

typedef struct plain {
    FILE *out;
    int indent; /* column where the text's lines start */
    int at_col; /* column of the cursor before the first output */
    int fresh;  /* nothing printed yet */
} plain;

static void spaces(FILE *out, int n)
{
    while (n-- > 0) fputc(' ', out);
}

/* Move to column `col` of a new line, or of the current one before the
** first output; a paragraph after earlier output gets a blank line. */
static void plain_start(plain *pl, int col, int blank)
{
    if (pl->fresh) spaces(pl->out, col - pl->at_col);
    else {
        if (blank) fputc('\n', pl->out);
        spaces(pl->out, col);
    }
    pl->fresh = 0;
}

/* Print the words of s[0..n) filled to WIDTH at pl->indent. */
static void plain_para(void *ctx, const char *s, size_t n)
{
    plain *pl = ctx;
    int col = pl->indent, line_empty = 1;
    plain_start(pl, pl->indent, 1);
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\n')) i++;
        size_t w = i;
        while (w < n && s[w] != ' ' && s[w] != '\n') w++;
        if (w == i) break;
        int len = (int)(w - i);
        if (!line_empty && col + 1 + len > WIDTH) {
            fputc('\n', pl->out);
            spaces(pl->out, pl->indent);
            col = pl->indent;
            line_empty = 1;
        }
        if (!line_empty) {
            fputc(' ', pl->out);
            col++;
        }
        fwrite(s + i, 1, (size_t)len, pl->out);
        col += len;
        line_empty = 0;
        i = w;
    }
    fputc('\n', pl->out);
}

/* Verbatim lines, two columns in from the text. */
static void plain_verb(void *ctx, const char *s, size_t n)
{
    plain *pl = ctx;
    const char *end = s + n;
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        size_t len = eol ? (size_t)(eol - s) : (size_t)(end - s);
        plain_start(pl, pl->indent, 0);
        fwrite(s, 1, len, pl->out);
        fputc('\n', pl->out);
        s += len + 1;
    }
}

static void plain_text(FILE *out, const char *text, int indent, int at_col)
{
    plain pl = {out, indent, at_col, 1};
    text_sink k = {plain_para, plain_verb, &pl};
    walk_text(text, &k);
}

/* "  term" and the text in the second column (below, for a long term). */
static void plain_item(FILE *out, const char *term, const char *text)
{
    int n = fprintf(out, "  %s", term);
    if (n > TERM_COL - 2) {
        fputc('\n', out);
        n = 0;
    }
    plain_text(out, text, TERM_COL, n);
}

/* "Usage: dss-audit-mcp USAGE" filled to WIDTH, breaking only between
** bracketed groups, continuation lines under the command's arguments. */
static void plain_usage(FILE *out, const char *usage)
{
    static const char lead[] = "Usage: dss-audit-mcp ";
    int col = fprintf(out, "%s", lead), indent = col + 2, depth = 0, line_empty = 1;
    const char *p = usage;
    while (*p) {
        while (*p == ' ') p++;
        const char *w = p;
        /* A token ends at a space outside brackets. */
        for (depth = 0; *w && (depth > 0 || *w != ' '); w++) {
            if (*w == '[') depth++;
            else if (*w == ']' && depth > 0) depth--;
        }
        int len = (int)(w - p);
        if (len == 0) break;
        if (!line_empty && col + 1 + len > WIDTH) {
            fputc('\n', out);
            spaces(out, indent);
            col = indent;
            line_empty = 1;
        }
        if (!line_empty) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, (size_t)len, out);
        col += len;
        line_empty = 0;
        p = w;
    }
    fputc('\n', out);
}

int cli_help_print(FILE *out, const char *command)
{
    const cli_help_page *pg = cli_help_find(command);
    if (!pg) return -1;
    plain_usage(out, pg->usage);
    for (const cli_help_section *sec = pg->sections; sec->title || sec->text || sec->items ||
                                                     sec->list_commands; sec++) {
        fputc('\n', out);
        int indent = sec->title ? 2 : 0;
        if (sec->title) fprintf(out, "%s:\n", sec->title);
        if (sec->text) plain_text(out, sec->text, indent, 0);
        for (const cli_help_item *it = sec->items; it && it->term; it++)
            plain_item(out, it->term, it->text);
        if (sec->list_commands)
            for (unsigned i = 1; i < cli_help_page_count; i++)
                plain_item(out, cli_help_pages[i].name, cli_help_pages[i].summary);
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* ---- roff --------------------------------------------------------------- */

/* Write s[0..n) escaped for roff: backslashes, a leading dot or quote,
** and every hyphen as \- (an ASCII minus), so that options, paths and
** dates can be copied from the rendered page.  Newlines become spaces. */
static void roff_escape(FILE *out, const char *s, size_t n, int line_start)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (line_start && (c == '.' || c == '\'')) fputs("\\&", out);
        line_start = 0;
        if (c == '\\') fputs("\\e", out);
        else if (c == '-') fputs("\\-", out);
        else if (c == '\n') fputc(' ', out);
        else fputc(c, out);
    }
}

static void roff_para(void *ctx, const char *s, size_t n)
{
    FILE *out = ctx;
    fputs(".PP\n", out);
    roff_escape(out, s, n, 1);
    fputc('\n', out);
}

static void roff_verb(void *ctx, const char *s, size_t n)
{
    FILE *out = ctx;
    const char *end = s + n;
    fputs(".PP\n.RS 4\n.nf\n", out);
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        size_t len = eol ? (size_t)(eol - s) : (size_t)(end - s);
        roff_escape(out, s + 2, len - 2, 1);
        fputc('\n', out);
        s += len + 1;
    }
    fputs(".fi\n.RE\n", out);
}

static void roff_items(FILE *out, const cli_help_item *it)
{
    for (; it && it->term; it++) {
        fputs(".TP\n.B ", out);
        roff_escape(out, it->term, strlen(it->term), 0);
        fputc('\n', out);
        roff_escape(out, it->text, strlen(it->text), 1);
        fputc('\n', out);
    }
}

static void roff_upper(FILE *out, const char *s)
{
    for (; *s; s++) fputc(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s, out);
}

/* A command's page as a subsection of COMMANDS. */
static void roff_command(FILE *out, const cli_help_page *pg)
{
    text_sink k = {roff_para, roff_verb, out};
    fprintf(out, ".SS %s\n.PP\n.B dss\\-audit\\-mcp\n", pg->name);
    roff_escape(out, pg->usage, strlen(pg->usage), 1);
    fputc('\n', out);
    for (const cli_help_section *sec = pg->sections; sec->title || sec->text || sec->items;
         sec++) {
        if (sec->title) {
            fputs(".PP\n.I ", out);
            roff_escape(out, sec->title, strlen(sec->title), 0);
            fputc('\n', out);
        }
        if (sec->text) walk_text(sec->text, &k);
        roff_items(out, sec->items);
    }
}

int cli_help_roff(FILE *out, const char *version)
{
    const cli_help_page *top = &cli_help_pages[0];
    text_sink k = {roff_para, roff_verb, out};
    fputs(".\\\" Generated from src/cli/cli_help.c by cli_man; edit that file.\n", out);
    fprintf(out, ".TH DSS\\-AUDIT\\-MCP 1 \"\" \"dss\\-audit\\-mcp %s\" \"User Commands\"\n",
            version);
    fputs(".nh\n.ad l\n.SH NAME\ndss\\-audit\\-mcp \\- ", out);
    roff_escape(out, top->summary, strlen(top->summary), 0);
    fputs("\n.SH SYNOPSIS\n", out);
    for (unsigned i = 0; i < cli_help_page_count; i++) {
        fputs(i ? ".br\n.B dss\\-audit\\-mcp\n" : ".B dss\\-audit\\-mcp\n", out);
        roff_escape(out, cli_help_pages[i].usage, strlen(cli_help_pages[i].usage), 1);
        fputc('\n', out);
    }
    for (const cli_help_section *sec = top->sections;
         sec->title || sec->text || sec->items || sec->list_commands; sec++) {
        if (sec->title) {
            fputs(".SH \"", out);
            roff_upper(out, sec->title);
            fputs("\"\n", out);
        } else if (sec == top->sections) {
            fputs(".SH DESCRIPTION\n", out);
        }
        if (sec->text) walk_text(sec->text, &k);
        roff_items(out, sec->items);
        if (sec->list_commands)
            for (unsigned i = 1; i < cli_help_page_count; i++)
                roff_command(out, &cli_help_pages[i]);
    }
    fputs(".SH \"SEE ALSO\"\n.BR sqlite3 (1)\n", out);
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
