/*
** jsonnum.h: numbers that survive a trip through the audit log exactly.
**
** cJSON keeps numbers as doubles and prints them with 15 significant digits
** when it judges that close enough, so 12345678901234567 or 0.1 + 0.2 would
** be stored as something slightly different from what the agent sent.  An
** audit trail must store what it was given, so before a tree is serialized
** for storage every number that cJSON would print inexactly is turned into a
** raw token holding the shortest text that reads back as the same double.
**
** And where two numbers must be told equal or apart exactly (a JSON-RPC id
** answered in another spelling), jsonnum_canonical() compares their text
** as decimal values, never through a double.
*/
#ifndef DSS_JSONNUM_H
#define DSS_JSONNUM_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Rewrite, in place and at any depth, each number of `item` that cJSON
** would print inexactly as a raw token with its exact shortest form.
** Returns 0, or -1 when memory ran out (the tree stays valid). */
int jsonnum_exact(cJSON *item);

/* The canonical text of the JSON number token text (len bytes, nothing
** around it): two tokens get the same text exactly when they denote the
** same number, at any length and exponent: 1, 1.0, 1e0 and 10e-1 alike,
** 9007199254740993 apart from 9007199254740992.  It is "0" for any zero,
** else an optional "-", the significant digits, "e" and the exponent of
** the last of them ("15e-1" for 1.5).  Caller frees; NULL when text is
** not a number token or memory ran out. */
char *jsonnum_canonical(const char *text, size_t len);

#endif
