/*
** relay_testing.h: wrap's message handling without its poll loop, for
** tests and fuzz targets (tests/fuzz/fuzz_relay.c).
**
** relay_run() reads both sides, hands each line to the functions below
** and flushes once per poll iteration; here the caller takes each of
** those steps itself, so that what a hostile server or client sends can
** be driven in-process, with a transport of its own for the server side
** and a store of its own (an in-memory one, say).  Nothing else differs:
** the same classification, records, outbox and refusals.
*/
#ifndef DSS_RELAY_TESTING_H
#define DSS_RELAY_TESTING_H

#include <stddef.h>

#include "../store/store.h"
#include "relay.h"
#include "transport.h"

typedef struct relay relay;

/* A relay over st (borrowed; NULL: no trail, as when it cannot be opened)
** and srv (borrowed: only its send() is used, by the flush).  Of o it
** uses argv[0] or url (the server's fallback name), name, actor, results,
** fail_open, max_message_bytes, max_depth, out_fd (the client's side,
** where the flush writes) and watch.  NULL when memory runs out. */
relay *relay_testing_new(const relay_options *o, store *st, transport *srv);

/* A line from the client as frame_next() gave it (FRAME_LINE, or
** FRAME_TOO_LONG with any bytes). */
void relay_testing_client(relay *r, int frame_kind, const char *line, size_t len);

/* A message from the server as a transport's next() gave it
** (TRANSPORT_MSG, or TRANSPORT_TOO_LONG). */
void relay_testing_server(relay *r, int transport_kind, const char *msg, size_t len);

/* The end of a poll iteration: commit the records, then write the
** outbox in order (refusing what was not recorded). */
void relay_testing_flush(relay *r);

/* The server has ended with status: every request in flight is answered
** and recorded as having none, as relay_run() does; flushed. */
void relay_testing_server_ended(relay *r, int status);

/* Bound the in-flight table to max requests and max_bytes of what they
** hold (each at least 1) instead of RELAY_MAX_FLIGHTS and
** RELAY_MAX_FLIGHT_BYTES, so that a case reaches the bounds with a few
** requests. */
void relay_testing_bound_flights(relay *r, size_t max, size_t max_bytes);

/* How many requests the in-flight table holds; *bytes (may be NULL)
** receives what they count for against the bound. */
size_t relay_testing_flights(const relay *r, size_t *bytes);

/* Free the relay (not st, not srv).  NULL is fine. */
void relay_testing_free(relay *r);

#endif
