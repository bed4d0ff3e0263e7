/*
** ship.h: copying a local log into the central database.
**
** A machine keeps writing its own SQLite file (the agent's server never
** waits for the network); `dss-audit-mcp ship` copies that log into a
** PostgreSQL store as a log of its own, with the local log's id, and every
** entry and checkpoint as it is: ids, seq, timestamps and hashes.  The
** central head of that log says where to resume, so a killed shipper loses
** and duplicates nothing, and the central store checks every batch
** (continuity and recomputed hashes) before it keeps any of it.
*/
#ifndef DSS_SHIP_H
#define DSS_SHIP_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>

typedef struct ship_options {
    const char *from;     /* the local database file (read only) */
    const char *to;       /* the central database (a PostgreSQL string) */
    const char *log_name; /* name for the central log; NULL: the local name */
    int follow;           /* keep shipping new entries until *stop is set */
    int batch;            /* entries per transaction; 0 = 1000 */
    int poll_ms;          /* --follow: how often to look for entries; 0 = 250 */
    volatile sig_atomic_t *stop; /* set by a signal handler; may be NULL */
} ship_options;

/* What a run did. */
typedef struct ship_result {
    char log_id[37];
    char log_name[128];
    int64_t shipped;      /* entries stored centrally by this run */
    int64_t skipped;      /* entries found already there */
    int64_t checkpoints;  /* checkpoints and anchors stored by this run */
    int64_t head_seq;     /* the central head of the log at the end */
} ship_result;

/*
** Ship once (catching up to the local head), or with follow until *stop.
** Returns 0; or -1 with a sentence in err (len bytes) when the local file
** cannot be read or the central store refuses a batch (a chain break,
** which is never stored).  With follow, a central store that goes away is
** waited for and reconnected (with backoff, reported on stderr), not an
** error.
*/
int ship_run(const ship_options *opt, ship_result *out, char *err, size_t len);

#endif
