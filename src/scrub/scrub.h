/*
** scrub.h: removes secrets from JSON before it is stored.
**
** The audit trail must never hold a credential: an audit database is copied,
** backed up and read by people who must not learn the secrets agents used.
** Scrubbing runs on the parsed cJSON tree of every JSON field an entry stores
** (args, result, before_state, after_state), before serialization, so no
** secret value caught here reaches SQLite's pages, its WAL or a log line.
*/
#ifndef DSS_SCRUB_H
#define DSS_SCRUB_H

#include <cjson/cJSON.h>

/* The text that replaces every redacted value. */
#define SCRUB_REDACTED "***REDACTED***"

/*
** True when a key names a secret: its lower-cased form contains one of the
** seed's words (token, api_key, secret, password, credential, auth,
** figma_token, encrypted_data).
*/
int scrub_key_is_sensitive(const char *key);

/*
** Redact `item` in place, at any depth, through objects and arrays alike
** (arrays inside arrays included): every member whose key is sensitive gets
** the string SCRUB_REDACTED, whatever its value was.  Returns 0, or -1 when
** memory for a replacement could not be allocated (the tree is then left
** with that one value removed rather than kept, so failure never leaks).
*/
int scrub_tree(cJSON *item);

#endif
