/*
** jsonnum.h: numbers that survive a trip through the audit log exactly.
**
** cJSON keeps numbers as doubles and prints them with 15 significant digits
** when it judges that close enough, so 12345678901234567 or 0.1 + 0.2 would
** be stored as something slightly different from what the agent sent.  An
** audit trail must store what it was given, so before a tree is serialized
** for storage every number that cJSON would print inexactly is turned into a
** raw token holding the shortest text that reads back as the same double.
*/
#ifndef DSS_JSONNUM_H
#define DSS_JSONNUM_H

#include <cjson/cJSON.h>

/* Rewrite, in place and at any depth, each number of `item` that cJSON
** would print inexactly as a raw token with its exact shortest form.
** Returns 0, or -1 when memory ran out (the tree stays valid). */
int jsonnum_exact(cJSON *item);

#endif
