/*
** validate.h: checks a tool's arguments against its input schema.
**
** The schemas in schemas/ are the single source of truth for what a tool
** accepts, so argument checking is driven by them rather than written again
** by hand in every handler.  This module implements the subset of JSON Schema
** 2020-12 that those files use (see validate.c for the exact list); a keyword
** outside that subset makes validation fail loudly instead of being ignored,
** so a schema can never silently promise more than the server enforces.
*/
#ifndef DSS_VALIDATE_H
#define DSS_VALIDATE_H

#include <stddef.h>
#include <cjson/cJSON.h>

/*
** Validate `instance` against `schema` (both borrowed).  Returns 0 when the
** instance conforms.  Otherwise returns -1 and writes one sentence into
** err (at most errlen bytes, always NUL-terminated) that names the offending
** argument by its path and says what is wrong, for example
**   "argument 'limit' must be at most 1000"
**   "missing required argument 'event_type'"
**   "unknown argument 'colour'"
**   "argument 'args.items[2]' must be an object".
** Returns -2 with a message when the schema itself uses an unsupported
** keyword or is malformed.
*/
int validate_instance(const cJSON *schema, const cJSON *instance,
                      char *err, size_t errlen);

/* The two halves of validate_instance(), for callers that check a schema
** once (at start-up) and then validate many instances against it:
** validate_schema() returns 0 or -2 with a message; validate_arguments()
** assumes a schema that passed validate_schema() and returns 0 or -1. */
int validate_schema(const cJSON *schema, char *err, size_t errlen);
int validate_arguments(const cJSON *schema, const cJSON *instance,
                       char *err, size_t errlen);

/*
** Count the Unicode code points in a NUL-terminated UTF-8 string (the unit
** minLength and maxLength count in).  The string is assumed valid UTF-8.
*/
size_t validate_utf8_length(const char *s);

#endif
