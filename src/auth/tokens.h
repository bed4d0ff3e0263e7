/*
** tokens.h: what the OAuth client keeps per MCP server URL, on disk.
**
** One JSON file per server under CONFIG_DIR/oauth/ (CONFIG_DIR is
** $XDG_CONFIG_HOME/dss-audit, chosen by main.c), named by the SHA-256 of
** the server URL, mode 0600 in a folder of mode 0700: the client
** registration (issuer, client id and secret, redirect URI, token endpoint)
** and the tokens (access, refresh, expiry, scope, resource).  A file is
** replaced whole through a rename, so a reader sees the old or the new
** record; tok_lock() serializes the processes that refresh or authorize
** one server at a time (flock on a lock file beside it).
**
** The key is the URL without credentials and fragment (userinfo never
** reaches the file); tok_display_url() also drops the query for `auth
** --list` and messages.
*/
#ifndef DSS_TOKENS_H
#define DSS_TOKENS_H

#include <stddef.h>
#include <stdint.h>

typedef struct tok_record {
    char *server_url;     /* the key (no userinfo, no fragment) */
    char *issuer;         /* the authorization server the rest belongs to */
    char *token_endpoint;
    char *client_id;
    char *client_secret;  /* or NULL (a public client) */
    char *auth_method;    /* token_endpoint_auth_method: none, client_secret_post,
                          ** client_secret_basic */
    char *redirect_uri;
    char *access_token;
    char *refresh_token;
    char *scope;          /* the scopes granted (or asked for) */
    char *resource;       /* the RFC 8707 resource the tokens are for */
    int64_t expires_at;   /* Unix seconds; 0 when unknown */
} tok_record;

/* Whether s may be sent as an access token: 1 to TOK_MAX bytes of
** visible ASCII, since it goes into the Authorization header as it is
** (RFC 6750's b64token is narrower still). */
enum { TOK_MAX = 16384 };
int tok_is_token(const char *s);

/* Whether s is a URL the client may send requests to and print: https,
** or http on a loopback host, and nothing but visible ASCII (no space,
** CR, LF, escape or other control character). */
int tok_is_url(const char *s);

/* Read a record from the text of its file (NUL-terminated): 0 (t filled;
** free with tok_record_free), or -1 with a sentence in err (not JSON, no
** server_url, a token or URL that cannot be used, an expiry that is not a
** time).  What tok_load() does with a file's bytes; for
** tests/fuzz/fuzz_oauth.c. */
int tok_parse(const char *text, tok_record *t, char *err, size_t errlen);

/* Free a record's strings and zero it. */
void tok_record_free(tok_record *t);

/* The key URL for url: a new string the caller frees, or NULL. */
char *tok_key_url(const char *url);

/* url without userinfo, query and fragment, for people: caller frees. */
char *tok_display_url(const char *url);

/* Load the record of url: 1 found (t filled; free with tok_record_free),
** 0 none, -1 with a sentence in err (unreadable, malformed). */
int tok_load(const char *dir, const char *url, tok_record *t, char *err, size_t errlen);

/* Save t (t->server_url is the key).  0 or -1 with err. */
int tok_save(const char *dir, const tok_record *t, char *err, size_t errlen);

/* Remove the record of url: 1 removed, 0 there was none, -1 with err. */
int tok_delete(const char *dir, const char *url, char *err, size_t errlen);

/* Every record (caller frees each with tok_record_free, then the array).
** Returns the count, or -1 with err.  Malformed files are skipped. */
int tok_list(const char *dir, tok_record **out, char *err, size_t errlen);

/* Hold the lock of url's record (blocking): a descriptor for tok_unlock,
** or -1 with err. */
int tok_lock(const char *dir, const char *url, char *err, size_t errlen);
void tok_unlock(int fd);

#endif
