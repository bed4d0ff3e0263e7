/*
** trail.h: the trail a case's program wrote, read back for its checks:
** `dss-audit-mcp query --json` ($DSS_BIN) on srv_dir(s)/audit.db, oldest
** entry first, and `verify`.  A query that fails fails the case (TRAIL),
** so that "nothing was recorded" is never read off a trail that could not
** be read.
*/
#ifndef DSS_TEST_TRAIL_H
#define DSS_TEST_TRAIL_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "harness.h"

/* Every entry of s's trail, oldest first, as an array owned by s; NULL
** with a sentence in why when `query` fails or prints anything else. */
cJSON *trail_of(srv *s, char *why, size_t cap);

/* cJSON *t = the trail of s, or the case fails saying why. */
#define TRAIL(t, s)                                                          \
    cJSON *t;                                                                \
    do {                                                                     \
        char why_[600] = "";                                                 \
        if (!(t = trail_of((s), why_, sizeof why_)))                         \
            TEST_FAIL_("cannot read the trail: %s", why_);                  \
    } while (0)

/* How many entries of event type type the trail t holds. */
int count_type(const cJSON *t, const char *type);
/* The first entry of type with operation_name op (NULL: any), or NULL. */
const cJSON *find(const cJSON *t, const char *type, const char *op);
/* The entry whose completes is e's id, or NULL. */
const cJSON *outcome_of(const cJSON *t, const cJSON *e);
/* Whether `verify` passes on s's trail. */
int verify_ok(srv *s);

#endif
