/*
** entry.h: what an audit entry is, written down once.
**
** ENTRY_FIELDS below is the list of an entry's stored fields, an X-macro
** in the spirit of PostgreSQL's kwlist.h: each user defines X to take what
** it needs from a line and expands the list.  Everything else that names
** the fields derives from it: chain_fields and the order in which the hash
** chain encodes them (chain.h, chain.c), each backend's INSERT and SELECT
** column lists, the printer below, the archive's lines (archive.c) and the
** CSV export's columns (cli_export.c).  The backends' CREATE TABLE
** statements are migrations, history that must not follow the list; the
** entry tests (tests/unit/test_entry.c, and the conformance suite for each
** backend's real columns) check that they agree with it.
**
** A backend reads an entry into an entry_row: per column a pointer, a
** length and SQL NULL as a NULL pointer, borrowed from the backend's result
** (an SQLite statement's row, a libpq result).  The printer turns a row
** into the entry's JSON, as a cJSON tree or appended as text to a jbuf;
** both give the same text, and so every backend prints entries alike.
*/
#ifndef DSS_ENTRY_H
#define DSS_ENTRY_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "../util/jbuf.h"

/*
** X(name, type, nullable, hash_at, since, by), one line per field, in the
** order of the columns and of an entry's JSON keys:
**   name      the column, the JSON key and the chain_fields member
**   type      SEQ   the entry's number in its log (an integer, never NULL)
**             TEXT  text, printed as a JSON string
**             JSON  JSON text, printed as it is (as a string when the
**                   stored text is not JSON)
**             INT   an integer, hashed as its decimal text
**             HASH  32 bytes, printed as lower-case hex
**   nullable  1 when the column may be NULL
**   hash_at   where the chain hash encodes the field (chain.c): 0 the
**             previous entry's hash, 1 seq, 2 and up the other fields;
**             ENTRY_UNHASHED for the entry's own hash
**   since     the hash encoding that introduced the field.  Fields of
**             encoding 2 (what `wrap` and `hook` record) are left out of an
**             entry's JSON where NULL, and an entry holding none of them is
**             hashed with encoding 1, so entries older than them read and
**             verify as they always did.
**   by        who gives the field its value: CALLER (a member of
**             store_record of the same name; duration_ms as has_duration
**             and an integer) or STORE (store_append() computes it).
*/
#define ENTRY_UNHASHED (-1)
#define ENTRY_FIELDS(X)                                     \
    X(seq,            SEQ,  0, 1,              1, STORE)    \
    X(id,             TEXT, 0, 2,              1, STORE)    \
    X(event_type,     TEXT, 0, 3,              1, CALLER)   \
    X(operation_name, TEXT, 0, 4,              1, CALLER)   \
    X(operation_id,   TEXT, 1, 5,              1, CALLER)   \
    X(user_id,        TEXT, 1, 6,              1, CALLER)   \
    X(project_id,     TEXT, 1, 7,              1, CALLER)   \
    X(args,           JSON, 0, 8,              1, CALLER)   \
    X(result,         JSON, 1, 9,              1, CALLER)   \
    X(error,          TEXT, 1, 12,             1, CALLER)   \
    X(before_state,   JSON, 1, 10,             1, CALLER)   \
    X(after_state,    JSON, 1, 11,             1, CALLER)   \
    X(created_at,     TEXT, 0, 13,             1, STORE)    \
    X(client,         JSON, 1, 14,             1, CALLER)   \
    X(prev_hash,      HASH, 0, 0,              1, STORE)    \
    X(hash,           HASH, 0, ENTRY_UNHASHED, 1, STORE)    \
    X(server,         JSON, 1, 15,             2, CALLER)   \
    X(session_id,     TEXT, 1, 16,             2, CALLER)   \
    X(duration_ms,    INT,  1, 17,             2, CALLER)   \
    X(completes,      TEXT, 1, 18,             2, CALLER)   \
    X(cwd,            TEXT, 1, 19,             2, CALLER)

/* For SQL lists made from ENTRY_FIELDS (X(...) ENTRY_SEP_##type "col"):
** ", " before every field but the first, seq. */
#define ENTRY_SEP_SEQ ""
#define ENTRY_SEP_TEXT ", "
#define ENTRY_SEP_JSON ", "
#define ENTRY_SEP_INT ", "
#define ENTRY_SEP_HASH ", "

typedef enum entry_type { ENTRY_SEQ, ENTRY_TEXT, ENTRY_JSON, ENTRY_INT, ENTRY_HASH } entry_type;

/* ENTRY_F_<name>: a field's index in ENTRY_FIELDS. */
enum {
#define ENTRY_X_INDEX(name, type, nullable, hash_at, since, by) ENTRY_F_##name,
    ENTRY_FIELDS(ENTRY_X_INDEX)
#undef ENTRY_X_INDEX
    ENTRY_NFIELDS
};

/* The list as data, for code that walks it at run time.  key is the
** field's `,"name":` as entry text holds it, key_esc the same escaped as
** the inside of a JSON string (`,\"name\":`); chain_off is the field's
** place in chain_fields (a const char * there), or ENTRY_NO_MEMBER for seq
** and the two hashes, which chain_fields keeps otherwise. */
#define ENTRY_NO_MEMBER ((size_t)-1)
typedef struct entry_field {
    const char *name;
    entry_type type;
    int nullable;
    int hash_at;
    int since;
    const char *key;
    size_t key_len;
    const char *key_esc;
    size_t key_esc_len;
    size_t chain_off;
} entry_field;

extern const entry_field entry_fields[ENTRY_NFIELDS];

/* A field's index by its name, or -1. */
int entry_field_index(const char *name);

/* ---- rows ----------------------------------------------------------------
** One column as a backend holds it: p points at its bytes and p == NULL is
** SQL NULL.  Text is NUL-terminated (both libraries give it so) and ends,
** as C and cJSON strings do, at its first NUL: len is strlen(p), except for
** a JSON column, whose len is its whole stored length (so that stored text
** that is not JSON, a NUL inside included, is printed as a string).  A HASH
** column is its 32 bytes (len 32) or their 64 lower-case hex digits (len
** 64), as the backend finds cheaper; any other length, or 64 bytes of
** which one would need an escape in JSON or is not ASCII, is a damaged
** hash, printed as "". */
typedef struct entry_value {
    const char *p;
    size_t len;
} entry_value;

/* One stored entry.  v[ENTRY_F_seq] is not read: seq is the integer above.
** log_id and log (the log's readable name) are text, like the columns. */
typedef struct entry_row {
    int64_t seq;
    entry_value v[ENTRY_NFIELDS];
    entry_value log_id;
    entry_value log;
} entry_row;

/* ---- the printer ---------------------------------------------------------
** An entry's JSON: the fields in ENTRY_FIELDS order (encoding 2's left out
** where NULL), stored JSON spliced in raw where it is JSON (numbers exact),
** hashes as hex, then "log_id" and "log". */

/* Append the entry's JSON object to out.  A failed allocation marks out
** failed (jbuf's convention). */
void entry_json(const entry_row *r, jbuf *out);

/* The same text with the JSON columns spliced in as they are stored,
** unchecked: for a caller that carries the text as an opaque string (an
** OTLP record's body), which stored text that is not JSON (only possible
** in a database edited by hand, which verify reports) cannot break, and
** that prints entries by the hundred thousand, where checking is a fifth
** of the cost. */
void entry_json_stored(const entry_row *r, jbuf *out);

/* A HASH column as 64 lower-case hex digits into out (CHAIN_HEX_LEN
** bytes), "" when it holds no valid hash: as the printer shows it. */
void entry_hash_hex(const entry_value *v, char out[65]);

/* The same entry as a new cJSON object the caller frees, whose
** cJSON_PrintUnformatted() text is entry_json()'s; NULL when memory runs
** out. */
cJSON *entry_cjson(const entry_row *r);

/* Rows printed as the elements of a JSON array: the caller writes '[' and
** ']' around the rows and hands each row to entry_array_add() with a
** zero-initialized entry_array naming out (it is a row callback of
** store.h).  When text is set too, each row also goes there, in the same
** pass, as its JSON escaped as the inside of a JSON string (jbuf_escaped()
** of what out got, byte for byte): a reply carries a page of entries
** twice, as structuredContent and as the JSON string of its text block,
** and the keys, hashes, numbers and plain strings need no second scan
** (the caller escapes its own brackets there as well).  With expect set (the rows the caller expects at most),
** the buffers are sized for that many rows like the first once it is
** printed.  Returns 0, or ENTRY_ENOMEM once out or text failed. */
#define ENTRY_ENOMEM (-7) /* STORE_ENOMEM, as a row callback fails (store.c checks) */
typedef struct entry_array {
    jbuf *out;
    jbuf *text;     /* optional */
    int64_t expect; /* optional */
    int64_t n;
} entry_array;
int entry_array_add(void *array, const entry_row *row);

/* ---- the hashed view -----------------------------------------------------
** The row's fields as the hash chain reads them (strings borrowed from the
** row) and its two hashes decoded into prev and hash.  Returns 1 when both
** hash columns held a valid hash (32 bytes, or 64 hex digits), else 0 with
** the invalid ones zeroed. */
struct chain_fields;
int entry_row_fields(const entry_row *r, struct chain_fields *f, uint8_t prev[32],
                     uint8_t hash[32]);

#endif
