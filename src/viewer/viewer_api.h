/*
** viewer_api.h: the JSON API behind the trail viewer (`dss-audit-mcp ui`).
**
** One function answers one GET request: a path under /api/ and its query
** parameters in, an HTTP status and a JSON body out.  It knows nothing of
** HTTP (viewer_http.c carries requests to it) and reads the trail only
** through store.h, with the queries the MCP tools use: store_find_rows()
** with keyset cursors for the timeline, store_get() for one entry, the
** per-day activity counters for the charts, store_each_checkpoint() and
** the background verification of viewer_verify.h.  Nothing here writes.
**
**   /api/info         log id, chain head, seq span, the filters understood
**   /api/entries      the timeline page: filters user, project, event_type,
**                     operation, server, session, since, until, q
**                     (substring), limit,
**                     before_seq / before_at (the cursor of the page before)
**   /api/entry        one entry: id, or seq
**   /api/activity     entries per day by event type, and per user: since,
**                     until (days; default the 30 days to the newest entry),
**                     user
**   /api/checkpoints  the newest checkpoints and anchors, newest first
**   /api/verify       the verification's progress, then its report
**
** Errors come back as {"error": "sentence"} with status 400 (a bad
** parameter), 404 (no such path or entry) or 500 (the database failed).
*/
#ifndef DSS_VIEWER_API_H
#define DSS_VIEWER_API_H

#include "../store/store.h"
#include "../util/jbuf.h"
#include "viewer_verify.h"

/* The value of query parameter name, or NULL when absent; borrowed. */
typedef const char *(*viewer_param_fn)(void *ctx, const char *name);

typedef struct viewer_api {
    store *st;              /* open (read-only); used by one thread */
    viewer_verify *verify;  /* the background verification, or NULL */
} viewer_api;

enum { VIEWER_PAGE_DEFAULT = 50, VIEWER_PAGE_MAX = 500, VIEWER_CHECKPOINTS_MAX = 100 };

/* Answer GET path with the parameters param gives: appends the body to out
** and returns the HTTP status.  When out has failed (memory ran out) the
** caller answers 500 itself. */
int viewer_api_get(viewer_api *api, const char *path, viewer_param_fn param,
                   void *ctx, jbuf *out);

#endif
