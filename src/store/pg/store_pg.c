/*
** store_pg.c: the PostgreSQL backend (being written: until it lands, opening
** a PostgreSQL store fails with a message, so no other function here is
** ever reached).
*/
#include "store_pg.h"

#include <stdio.h>

struct pg_store { int unused; };

int pg_store_open(const store_options *opt, pg_store **out, char *err)
{
    (void)opt;
    *out = NULL;
    snprintf(err, STORE_ERRLEN, "this build has no PostgreSQL backend yet");
    return STORE_EINVAL;
}

void pg_store_close(pg_store *s) { (void)s; }

void pg_store_set_interrupt(pg_store *s, int (*fn)(void *ctx), void *ctx)
{

}

int pg_store_readonly(const pg_store *s)
{
    return STORE_EINVAL;
}

const char *pg_store_log_id(const pg_store *s)
{
    return "";
}

const char *pg_store_log_name(const pg_store *s)
{
    return "";
}

int pg_store_each_log(pg_store *s, store_log_fn fn, void *ctx, char *err)
{
    return STORE_EINVAL;
}

int pg_store_use_log(pg_store *s, const char *log, char *err)
{
    return STORE_EINVAL;
}

int pg_store_record_log_key(pg_store *s, const char *pk, char *err)
{
    return STORE_EINVAL;
}

int pg_store_begin(pg_store *s, char *err)
{
    return STORE_EINVAL;
}

int pg_store_commit(pg_store *s, char *err)
{
    return STORE_EINVAL;
}

void pg_store_rollback(pg_store *s)
{

}

int pg_store_in_transaction(const pg_store *s)
{
    return STORE_EINVAL;
}

int64_t pg_store_tx(const pg_store *s)
{
    return STORE_EINVAL;
}

int pg_store_tx_has_writes(const pg_store *s)
{
    return STORE_EINVAL;
}

int64_t pg_store_take_lost_tx(pg_store *s)
{
    return STORE_EINVAL;
}

int pg_store_idle(pg_store *s, char *err)
{
    return STORE_EINVAL;
}

int pg_store_savepoint(pg_store *s, char *err)
{
    return STORE_EINVAL;
}

void pg_store_savepoint_release(pg_store *s)
{

}

void pg_store_savepoint_rollback(pg_store *s)
{

}

int pg_store_append(pg_store *s, const store_record *rec, store_receipt *out, char *err)
{
    return STORE_EINVAL;
}





int pg_store_head(pg_store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err)
{
    return STORE_EINVAL;
}

int pg_store_hash_at(pg_store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err)
{
    return STORE_EINVAL;
}

int pg_store_find_hash(pg_store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq, char *err)
{
    return STORE_EINVAL;
}

int pg_store_last_checkpoint(pg_store *s, store_checkpoint *out, char *err)
{
    return STORE_EINVAL;
}

int pg_store_last_anchor(pg_store *s, store_checkpoint *out, char *err)
{
    return STORE_EINVAL;
}

int pg_store_add_checkpoint(pg_store *s, store_checkpoint *cp, char *err)
{
    return STORE_EINVAL;
}

int pg_store_each_checkpoint(pg_store *s, store_checkpoint_fn fn, void *ctx, char *err)
{
    return STORE_EINVAL;
}

int pg_store_each_entry(pg_store *s, int64_t from, store_entry_fn fn, void *ctx, char *err)
{
    return STORE_EINVAL;
}


int pg_store_ensure_log(pg_store *s, const store_log *log, char *err)
{
    return STORE_EINVAL;
}

int pg_store_import(pg_store *s, const store_raw_entry *e, size_t n, int64_t *stored, int64_t *skipped, char *err)
{
    return STORE_EINVAL;
}

int pg_store_import_checkpoint(pg_store *s, const store_checkpoint *cp, int *stored, char *err)
{
    return STORE_EINVAL;
}


int pg_store_seq_range(pg_store *s, int64_t *first, int64_t *last, char *err)
{
    return STORE_EINVAL;
}

int pg_store_nth_newest_seq(pg_store *s, int64_t n, int64_t *seq, char *err)
{
    return STORE_EINVAL;
}




