/*
** scrub.h: removes secrets from JSON before it is stored.
**
** The audit trail must never hold a credential: an audit database is copied,
** backed up and read by people who must not learn the secrets agents used.
** Scrubbing runs on the parsed cJSON tree of every JSON field an entry stores
** (args, result, before_state, after_state), before serialization, so no
** secret value caught here reaches SQLite's pages, its WAL or a log line.
** Every plain-text field (event_type, operation_name, operation_id,
** user_id, project_id, session_id, cwd, error) goes through scrub_text when
** the recorder appends it (record.c), whichever door made the entry.
**
** Two kinds of redaction:
**
**  - By key name: a member whose key names a secret (scrub_key_is_sensitive)
**    has its whole value, whatever its type, replaced by SCRUB_REDACTED.
**
**  - By value: in every other string, at any depth (object members, array
**    elements, a string at the root, and object keys too), each secret found
**    by pattern is replaced by SCRUB_REDACTED and the text around it is kept.
**    The patterns (all ASCII; a "boundary" means the byte before is not an
**    ASCII letter or digit):
**      AWS access key id      AKIA|ASIA + exactly 16 [A-Z0-9], boundaries
**                             both sides
**      GitHub tokens          ghp_ gho_ ghu_ ghs_ ghr_ + >= 36 [A-Za-z0-9];
**                             github_pat_ + >= 22 [A-Za-z0-9_]
**      GitLab tokens          glpat- glptt- gldt- glrt- + >= 20 [A-Za-z0-9_-]
**      Slack tokens           xoxb- xoxp- xoxa- xoxr- xoxs- xoxe- xapp-
**                             + >= 10 [A-Za-z0-9-]
**      Slack webhooks         hooks.slack.com/{services,workflows,triggers}/
**                             + >= 10 [A-Za-z0-9_/-]: only the path after
**                             that prefix is redacted
**      Stripe keys            sk_ rk_ pk_ + live_|test_ + >= 16 [A-Za-z0-9];
**                             whsec_ + >= 24 [A-Za-z0-9]
**      Google API keys        AIza + >= 35 [A-Za-z0-9_-]
**      OpenAI, Anthropic      sk- + >= 20 [A-Za-z0-9_-] (sk-proj-, sk-ant-...)
**      npm tokens             npm_ + >= 36 [A-Za-z0-9]
**      JWT / JWE              eyJ + >= 7 more, '.', >= 2, '.', any number
**                             (up to two more segments), base64url, not
**                             glued to a longer base64url run
**      PEM private keys       from "-----BEGIN <label>-----" (the label
**                             contains PRIVATE KEY) through the matching
**                             "-----END <label>-----"; without an END line,
**                             through the body (up to the next "-----" or
**                             '"')
**      Bearer tokens          "Bearer" (any case) + 1-4 blanks + >= 8
**                             [A-Za-z0-9._~+/=-]: the token only
**      URL credentials        scheme://user:pass@host: the password only
**                             (up to the last '@' of the authority; a
**                             password holding '/', '?' or '#' is missed)
**      key=value pairs        in free text, key=value, key: value,
**                             "key":"value", where the key (the run of
**                             [A-Za-z0-9_.-] before the separator, its last
**                             64 bytes) contains password, passwd,
**                             passphrase, secret, token, api_key, apikey,
**                             api-key, access_key, accesskey, private_key,
**                             privatekey, credential, authorization or
**                             encrypted_data, is exactly pwd or auth (any
**                             case), or contains a configured key: the value
**                             up to whitespace, '&', ';', ',' or a quote, or
**                             within its quotes; an HTTP scheme word
**                             (Bearer, Basic, Token) in front of it is kept
**      configured prefixes    prefix + >= 8 [A-Za-z0-9_-] (see below)
**    Token patterns need a boundary before them, and take the whole run of
**    their class after the prefix.  Scanning is linear in the string's
**    length: hand-written matchers, no backtracking (see patterns.c).
**    Redactions begin and end at ASCII bytes or at the ends of the string,
**    so UTF-8 is never cut.  Where rules meet, the secret goes whole: a
**    private key met inside another rule's match (as the value of
**    "private_key: ...") is taken whole with it; a token after a scheme
**    word that ends a value or a Bearer token ("Bearer Bearer x",
**    "x<Bearer tok") goes too; and the bytes before a match that begins
**    further on (a URL's user before its password) are still scanned.  A
**    marker is not taken again by the rule that left it, but it can give
**    another rule new context (a URL's authority that a redacted '/' no
**    longer ends, say), so scrubbing scrubbed text may take more.
**
** Configuration is module state, set once at startup, before scrubbing
** begins; none of these functions may run concurrently with a change to it.
*/
#ifndef DSS_SCRUB_H
#define DSS_SCRUB_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The text that replaces every redacted value. */
#define SCRUB_REDACTED "***REDACTED***"

/* Limits on a config file (see scrub_load_config). */
#define SCRUB_CONFIG_MAX_BYTES (1024 * 1024)
#define SCRUB_CONFIG_MAX_ENTRIES 64   /* per list */
#define SCRUB_CONFIG_MAX_ENTRY_LEN 64 /* bytes per key or prefix */
#define SCRUB_CONFIG_MIN_PREFIX_LEN 3

/*
** True when a key names a secret: its lower-cased form contains one of the
** seed's words (token, api_key, secret, password, credential, auth,
** figma_token, encrypted_data), or one of the config file's redact_keys.
*/
int scrub_key_is_sensitive(const char *key);

/*
** Redact `item` in place, at any depth, through objects and arrays alike
** (arrays inside arrays included): every member whose key is sensitive gets
** the string SCRUB_REDACTED, whatever its value was; every other string,
** and every key, has the secrets the patterns above find replaced.  `item`
** may itself be a string.  cJSON_Raw items are left alone.  Returns 0, or -1
** when memory for a replacement could not be allocated (the tree is then
** left with that one member or element removed rather than kept, or a root
** string emptied, so failure never leaks).
*/
int scrub_tree(cJSON *item);

/*
** Value-pattern redaction of one text of len bytes (NULs included).
** Returns 1 and sets *out to a malloc'd, NUL-terminated copy with the
** secrets replaced (its length in *outlen when outlen is not NULL; free it
** with free()); returns 0 and sets *out to NULL when there was nothing to
** redact; returns -1 (*out NULL) when memory ran out.
*/
int scrub_text(const char *in, size_t len, char **out, size_t *outlen);

/*
** Read extra redaction rules from the JSON file at path:
**     {"redact_keys": ["ssn", "pin_code"], "redact_prefixes": ["myco_"]}
** Both members are optional; other members are ignored (the file may hold
** other settings).  redact_keys entries (1 to 64 bytes of [A-Za-z0-9_.-],
** matched without regard to case, as substrings) add to the sensitive key
** names of scrub_key_is_sensitive and to the keys of free-text key=value
** pairs.  redact_prefixes entries (3 to 64 bytes of printable ASCII, no
** space, matched case-sensitively) each add the pattern: that prefix, after
** a boundary, followed by at least 8 [A-Za-z0-9_-]; the prefix and run are
** redacted.  At most 64 entries per list.  The built-in rules always stay.
** A successful load replaces whatever an earlier load set.  Returns 0, or
** -1 with a message in err (errlen bytes, may be 0) when the file cannot be
** read, is not valid JSON, or breaks the rules above; the rules in force
** are then unchanged.
*/
int scrub_load_config(const char *path, char *err, size_t errlen);

/* Forget what scrub_load_config set: the built-in rules only.  For tests. */
void scrub_reset_config(void);

/*
** Bytes examined by all value-pattern scans so far, a count that grows
** linearly with the text scanned.  Tests compare it across input sizes.
*/
unsigned long long scrub_work_units(void);

#endif
