/*
** patterns.h: value-pattern redaction of free text (internal to src/scrub).
**
** scrub.h is the public face; this header joins scrub.c, which walks cJSON
** trees and reads the config file, to patterns.c, which scans one string
** and holds the pattern set (built-in patterns, plus the key words and
** literal prefixes a config file added).
*/
#ifndef DSS_SCRUB_PATTERNS_H
#define DSS_SCRUB_PATTERNS_H

#include <stddef.h>

/*
** Scan s[0..n) once and write a copy in which every secret found is
** replaced by SCRUB_REDACTED.  Returns 1 with *out (malloc'd, NUL-ended,
** *outlen bytes) when something was redacted, 0 with *out = NULL when
** nothing was, -1 when memory ran out.
*/
int patterns_scan(const char *s, size_t n, char **out, size_t *outlen);

/*
** Replace the configured key words (ASCII [A-Za-z0-9_.-], compared without
** regard to case) and literal prefixes.  The arrays are copied.  Returns 0,
** or -1 when memory ran out (the previous set is then kept).
*/
int patterns_configure(const char *const *keys, size_t nkeys,
                       const char *const *prefixes, size_t nprefixes);

/* Drop the configured key words and prefixes: built-in patterns only. */
void patterns_reset(void);

/* True when key contains, ignoring case, one of the built-in JSON key
** words or a configured key word: one walk of the words' trie from each
** byte of the key. */
int patterns_key_sensitive(const char *key);

/* Total bytes examined by every scan so far (see scrub_work_units). */
unsigned long long patterns_work(void);

#endif
