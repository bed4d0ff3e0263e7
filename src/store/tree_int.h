/*
** tree_int.h: how store.c keeps each log's Merkle tree (store_tree.c), and
** nothing else includes it.
**
** The tree is derived data computed in the common layer: store.c hands
** every entry it appends or imports to these hooks, which extend the log's
** right edge (a merkle_frontier per log, so an append reads nothing) and
** hand the stored hashes to the backend's tree_put in the same
** transaction.  An append's hashes wait in memory until the commit (so a
** savepoint rolled back takes them back without asking the backend); an
** import's go to the backend at once.  A transaction that does not commit
** forgets every frontier it moved; the next append reloads its log's from
** the stored hashes (one read of at most 63), as it does whenever another
** writer moved the head (PostgreSQL: several servers on one log).
*/
#ifndef DSS_TREE_INT_H
#define DSS_TREE_INT_H

#include "store_methods.h"

/* After the backend opened s: the tree's state, then (writable stores)
** the building of any tree that lags behind its entries: the own log's,
** and every log's after the migration that made the table (s->tree_new).
** A tree that cannot be built (entries pruned before trees existed) is
** left as it is; only a failing database fails. */
int tree_open(store *s, const store_options *opt, char *err);
void tree_close(store *s);

/* Transactions: after the backend's begin succeeded; before the backend's
** commit (the pending hashes go to the backend: a failure must roll the
** transaction back); after it (ok 1: committed); after a rollback. */
void tree_begin(store *s);
int tree_precommit(store *s, char *err);
void tree_end(store *s, int committed);

/* Savepoints, after the backend's succeeded (tree_savepoint: 0, or -1
** when out of memory: store.c then releases the backend's). */
int tree_savepoint(store *s);
void tree_savepoint_release(store *s);
void tree_savepoint_rollback(store *s);

/* The leaf of the entry with hash `hash` appended after head to the own
** log: its stored hashes join the pending ones.  Called before the
** backend's append_row; tree_append_failed() takes it back when that
** fails.  A tree that lags (or that the bench turned off) is skipped. */
int tree_append(store *s, const store_tip *head, const uint8_t hash[CHAIN_HASH_BYTES],
                char *err);
void tree_append_failed(store *s);

/* The n entries import_rows stored after head h in the selected log. */
int tree_import(store *s, const store_tip *h, const store_raw_entry *e, size_t n, char *err);

#endif
