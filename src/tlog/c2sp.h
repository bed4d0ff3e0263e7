/*
** c2sp.h: the text conventions the C2SP transparency-log formats share.
**
** Signed notes, checkpoints, proofs and the witness protocol are all lines
** ending in a newline holding standard base64 (RFC 4648 section 4, with
** padding) and ASCII decimals without leading zeroes.  Parsing them in one
** place keeps one strictness everywhere: base64 must be canonical (libsodium
** rejects stray bits and missing padding), decimals fit int64_t.
*/
#ifndef DSS_C2SP_H
#define DSS_C2SP_H

#include <stddef.h>
#include <stdint.h>

/* Base64 text length of n bytes, without the NUL. */
#define C2SP_B64_LEN(n) ((((n) + 2) / 3) * 4)

/* Encode in[0..n) as standard padded base64 into out (room for
** C2SP_B64_LEN(n) + 1 bytes), NUL-terminated.  Returns the length. */
size_t c2sp_b64_encode(const uint8_t *in, size_t n, char *out);

/* Decode s[0..len), which must be canonical padded base64 and nothing
** else, into out (cap bytes).  Returns 0 with *outlen set, or -1. */
int c2sp_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* Decode exactly one 32-byte hash (44 base64 characters).  0 or -1. */
int c2sp_b64_hash(const char *s, size_t len, uint8_t out[32]);

/* Parse s[0..len) as an ASCII decimal with no leading zeroes (unless it is
** "0") and no sign, at most INT64_MAX.  0 with *out set, or -1. */
int c2sp_decimal(const char *s, size_t len, int64_t *out);

/* The line starting at *pos in buf[0..len): sets *line and *line_len (the
** newline excluded) and moves *pos past the newline.  Returns 0, or -1
** when no newline ends the line (or *pos is at the end). */
int c2sp_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *line_len);

/* Whether s[0..len) is valid UTF-8 without control characters (below
** U+0020) other than newline, as signed notes require.  1 or 0. */
int c2sp_text_ok(const char *s, size_t len);

#endif
