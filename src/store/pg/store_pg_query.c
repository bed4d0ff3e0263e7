/*
** store_pg_query.c: the PostgreSQL backend's queries (find, get, activity,
** walks, statistics).  Placeholder stubs until the query helper's file
** replaces this one: each refuses with STORE_EINVAL and a sentence.
*/
#include "store_pg_int.h"

#include <stdio.h>

static int not_yet(char *err)
{
    snprintf(err, STORE_ERRLEN, "queries are not implemented yet for PostgreSQL");
    return STORE_EINVAL;
}

int pg_store_find(pg_store *s, const store_query *q, cJSON **entries, int *more_out, char *err)
{
    (void)s; (void)q; (void)more_out;
    *entries = NULL;
    return not_yet(err);
}

int pg_store_find_json(pg_store *s, const store_query *q, jbuf *out, store_page *page, char *err)
{
    (void)s; (void)q; (void)out; (void)page;
    return not_yet(err);
}

int pg_store_get(pg_store *s, const char *id, cJSON **entry, char *err)
{
    (void)s; (void)id;
    *entry = NULL;
    return not_yet(err);
}

int pg_store_user_activity(pg_store *s, const char *user_id, const char *since,
                           store_activity *out, char *err)
{
    (void)s; (void)user_id; (void)since;
    out->by_type = NULL;
    return not_yet(err);
}

int pg_store_each_match(pg_store *s, const store_scan *scan, store_match_fn fn, void *ctx,
                        char *err)
{
    (void)s; (void)scan; (void)fn; (void)ctx;
    return not_yet(err);
}

int pg_store_get_stats(pg_store *s, int top_users, store_progress_fn progress, void *ctx,
                       store_stats *out, char *err)
{
    (void)s; (void)top_users; (void)progress; (void)ctx;
    out->by_event_type = NULL;
    out->top_users = NULL;
    return not_yet(err);
}

int pg_store_activity_days(pg_store *s, const char *user_id, const char *since_day,
                           const char *until_day, store_activity_fn fn, void *ctx, char *err)
{
    (void)s; (void)user_id; (void)since_day; (void)until_day; (void)fn; (void)ctx;
    return not_yet(err);
}

int pg_store_activity_users(pg_store *s, const char *since_day, const char *until_day,
                            store_activity_fn fn, void *ctx, char *err)
{
    (void)s; (void)since_day; (void)until_day; (void)fn; (void)ctx;
    return not_yet(err);
}

int pg_store_set_cache_size(pg_store *s, int kib, char *err)
{
    (void)s; (void)kib; (void)err;
    return STORE_OK;
}
