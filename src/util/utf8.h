/*
** utf8.h: cutting and mending text that is shown or sent as UTF-8.
**
** Messages quote what they were given (a tool name, an entry id, a log's
** origin) cut to a length, and a cut made by "%.64s" may fall inside a
** character: the JSON-RPC error, the viewer's body or the terminal line
** that carries it is then not UTF-8.  Sources cut with utf8_cut(); the
** places that send text to a client mend whatever reaches them with
** utf8_mend(), so one missed cut cannot make a reply invalid.
*/
#ifndef DSS_UTF8_H
#define DSS_UTF8_H

#include <stddef.h>

/*
** How many bytes of s to print ("%.*s") to show at most max of them: the
** cut moves back to a character boundary when it would split one.  s is a
** NUL-terminated string; the result is at most max (and fits an int for any
** max a message uses).
*/
int utf8_cut(const char *s, size_t max);

/*
** Drop an incomplete UTF-8 sequence left at the end of buf by snprintf()
** cutting what it printed (what went in was valid UTF-8).
*/
void utf8_trim_end(char *buf);

/*
** s[0..len) as valid UTF-8: each sequence that is not (RFC 3629, the rule
** of jsoncheck_utf8()) becomes U+FFFD.  A NUL-terminated copy the caller
** frees, or NULL when memory runs out.
*/
char *utf8_mend(const char *s, size_t len);

/*
** p[0..n), a remote party's words (a receiver's answer, an authorization
** server's error), made fit for a terminal or a log: control characters
** (C0, DEL and C1, CSI among them) and bytes that are not UTF-8 become
** '?', and the text is cut between characters at max bytes (at most
** len - 1).  Into out (len > 0), always NUL-terminated.
*/
void utf8_printable(const char *p, size_t n, size_t max, char *out, size_t len);

#endif
