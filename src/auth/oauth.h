/*
** oauth.h: the OAuth 2.1 client of `wrap --url` and `auth`, as the MCP
** authorization specification describes it
** (shared/mcp-spec/2025-11-25/basic/authorization.mdx and
** 2026-07-28/basic/authorization/).
**
** On a 401 from the MCP server: the protected resource metadata (RFC 9728,
** from WWW-Authenticate's resource_metadata, else the two well-known URIs),
** the authorization server's metadata (RFC 8414, else OpenID discovery, in
** the spec's order, issuer checked, PKCE S256 required), a client identity
** (a Client ID Metadata Document URL when one is configured and the server
** supports it, else one registered before with this server, else dynamic
** registration, RFC 7591), then the authorization code flow with PKCE and
** the resource indicator (RFC 8707): a one-shot listener on a loopback port
** is the redirect URI (RFC 8252), the browser is opened on the
** authorization URL, and the answer's state (and iss, RFC 9207) are checked
** before the code is exchanged.  Tokens are kept by tokens.h, refreshed
** ahead of expiry, refreshed or re-authorized on invalid_token; a 403
** insufficient_scope asks for the union of the scopes held and challenged.
**
** Secrets (tokens, codes, verifiers, client secrets) are never printed,
** never put in a URL or a command line: only the authorization URL (with
** its public PKCE challenge and state) is shown and given to the browser.
**
** An oauth object is used by one thread at a time.
*/
#ifndef DSS_OAUTH_H
#define DSS_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tokens.h"

typedef struct oauth oauth;

typedef struct oauth_options {
    const char *server_url;     /* the MCP endpoint */
    const char *config_dir;     /* $XDG_CONFIG_HOME/dss-audit (given by main) */
    const char *open_with;      /* command for the URL (run by /bin/sh with the
                                ** URL as its last argument), or NULL */
    int no_browser;             /* only print the URL (no desktop session) */
    long timeout_s;             /* wait for the browser's answer; 0: 300 */
    const char *client_id_url;  /* a Client ID Metadata Document URL, or NULL */
    const char *client_name;    /* for registration; NULL: "dss-audit-mcp" */
    int port;                   /* preferred loopback port; 0: any */
    const volatile int *cancel; /* nonzero abandons a wait (may be NULL) */
} oauth_options;

/* A client for one server (caller frees with oauth_free), or NULL with a
** sentence in err. */
oauth *oauth_new(const oauth_options *o, char *err, size_t errlen);
void oauth_free(oauth *a);

/* The Authorization header line to send ("Authorization: Bearer ..."), or
** NULL when no token is held.  A token that expires within a minute is
** refreshed first when it can be.  Owned by a; valid until the next call. */
const char *oauth_header(oauth *a);

/* Handle a 401 or 403 answer of the MCP server with its WWW-Authenticate
** value (may be NULL): refresh, step up or run the flow.  Returns 0 when a
** new token is held (retry the request), or -1 with a sentence in err. */
int oauth_challenge(oauth *a, long status, const char *www_authenticate,
                    char *err, size_t errlen);

/* Run the flow now, without a challenge (`auth --url`): discovery from the
** well-known URIs or a first unauthenticated request.  0 or -1 with err. */
int oauth_login(oauth *a, char *err, size_t errlen);

/* A number that changes whenever the held access token does: a request
** refused with an older token is sent again with the new one rather than
** starting another refresh (many requests in flight meet one expiry). */
unsigned oauth_token_gen(oauth *a);

/* Abandon a flow waiting for the browser (from any thread): the waiting
** call returns -1 soon after. */
void oauth_cancel(oauth *a);

/* How many times the flow ran the browser step and how many refreshes were
** made, for tests and messages. */
void oauth_counts(const oauth *a, int *flows, int *refreshes);

/* The parameters of the Bearer challenge of a WWW-Authenticate value that
** the flow uses (RFC 6750 section 3), each NULL when absent. */
typedef struct oauth_bearer_params {
    char *resource_metadata, *scope, *error;
} oauth_bearer_params;

/* Parse h (may be NULL) into *out (what oauth_challenge() does first),
** for the fuzzer (tests/fuzz/fuzz_remotehdr.c).  Free with
** oauth_bearer_params_free(). */
void oauth_parse_www_authenticate(const char *h, oauth_bearer_params *out);
void oauth_bearer_params_free(oauth_bearer_params *p);

/* What the flow takes from the servers' documents, each 0 or -1 with a
** sentence in err (no control character of the server's in it); for the
** tests and tests/fuzz/fuzz_oauth.c.
** oauth_check_prm(): protected resource metadata (RFC 9728) for the
** resource key (tok_key_url of the server URL): its resource matches, and
** *issuer (borrowed from prm) is its first authorization server, a URL
** tok_is_url() takes.
** oauth_check_asm(): authorization server metadata (RFC 8414, OpenID
** discovery) of issuer: the same issuer, PKCE S256, and authorization and
** token endpoints that tok_is_url() takes.
** oauth_take_tokens(): a token endpoint's answer (HTTP status, body of n
** bytes) at Unix time now, into t: a Bearer access token tok_is_token()
** takes, the refresh token and scope when given, expires_at 0 (unknown)
** or within ten years of now.  t is unchanged on -1.
** oauth_take_registration(): a dynamic client registration answer (RFC
** 7591) into t: client id (without control characters), secret, method,
** and redirect as the redirect URI.  t is unchanged on -1. */
int oauth_check_prm(const cJSON *prm, const char *key, const char **issuer, char *err,
                    size_t errlen);
int oauth_check_asm(const cJSON *as, const char *issuer, char *err, size_t errlen);
int oauth_take_tokens(tok_record *t, long status, const char *body, size_t n, int64_t now,
                      char *err, size_t errlen);
int oauth_take_registration(tok_record *t, long status, const char *body, size_t n,
                            const char *redirect, char *err, size_t errlen);

#endif
