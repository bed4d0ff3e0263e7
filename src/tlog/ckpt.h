/*
** ckpt.h: C2SP tlog-checkpoint bodies (c2sp.org/tlog-checkpoint), the text
** a log signs as a signed note to say "my tree of N leaves has root R".
**
**     dss-audit/0192f0c4-...        origin: who issued it
**     1234                          tree size, decimal, no leading zeroes
**     6ySKxOEcXKrK3CuO7L+FJS+Q...=  root hash, base64
**     [extension lines]             optional, opaque, each non-empty
**
** Not to be confused with src/integrity/checkpoint.h, the JSON checkpoints
** stored beside the entries; this module only builds and reads the text,
** and opens a signed checkpoint against the logs a reader trusts.  A log's
** default origin is "dss-audit/<log_id>", and its key name is the origin.
*/
#ifndef DSS_CKPT_H
#define DSS_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "note.h"

/* Our limit on an origin line: the ML-DSA cosignature format caps origins
** at 255 bytes, and a log's key name (at most NOTE_NAME_MAX) is its origin. */
#define CKPT_ORIGIN_MAX 255

enum {
    CKPT_OK = 0,
    CKPT_EFORMAT = -1, /* malformed checkpoint or note */
    CKPT_EORIGIN = -2, /* no trusted log has this origin */
    CKPT_ESIG = -3,    /* not validly signed by a trusted key of that log */
    CKPT_ENOMEM = -4
};

typedef struct ckpt {
    char origin[CKPT_ORIGIN_MAX + 1];
    int64_t size;
    uint8_t root[32];
    /* Extension lines, each ending in a newline, or NULL/0: borrowed from
    ** the parsed text (ckpt_parse) or from the caller (ckpt_format). */
    const char *ext;
    size_t ext_len;
} ckpt;

/* A log a reader trusts: the origin its checkpoints carry and a key that
** signs them (usually named like the origin; a log may have several). */
typedef struct ckpt_log {
    char origin[CKPT_ORIGIN_MAX + 1];
    note_key key;
} ckpt_log;

/* "dss-audit/<log_id>" into out (cap bytes).  Returns 0, or -1 when it
** does not fit or is not a valid key name. */
int ckpt_default_origin(const char *log_id, char *out, size_t cap);

/*
** Parse a note text as a checkpoint, with every rule of the spec: at least
** three lines, each ended by a newline and none empty; a non-empty origin
** (at most CKPT_ORIGIN_MAX bytes); the size in decimal without leading
** zeroes; the root as the base64 of exactly 32 bytes.  out->ext points into
** text.  Returns CKPT_OK, or CKPT_EFORMAT with err naming the line.
*/
int ckpt_parse(const char *text, size_t len, ckpt *out, char *err, size_t errlen);

/* The note text of c.  The origin must be a valid key name (we sign with
** the origin as the key name); extension lines, if any, each non-empty and
** newline-ended text.  Returns a string the caller frees with free() (its
** length in *out_len when not NULL), or NULL with err. */
char *ckpt_format(const ckpt *c, size_t *out_len, char *err, size_t errlen);

/* A trusted log from a verifier key: the origin is the key's name.
** Returns CKPT_OK, or CKPT_EFORMAT with err. */
int ckpt_log_from_vkey(const char *vkey, ckpt_log *out, char *err, size_t errlen);

/*
** Open a signed checkpoint msg[0..len): parse the note and its text, find
** the trusted logs with its origin, and require a valid signature by one
** of their keys and no failing one.  Fills *n (the note, pointing into msg)
** and *out.  Returns CKPT_OK, CKPT_EFORMAT, CKPT_EORIGIN, CKPT_ESIG or
** CKPT_ENOMEM, with err.
*/
int ckpt_open(const char *msg, size_t len, const ckpt_log *logs, size_t nlogs, note *n,
              ckpt *out, char *err, size_t errlen);

#endif
