/*
** httpc.h: what every HTTP request of the remote side has in common, on
** libcurl: the options each easy handle gets, and a blocking request for
** the short exchanges of OAuth (metadata, registration, tokens) and the
** session's DELETE.
**
** Policy set once here: http and https only; TLS verified against the
** system's CA store (libcurl's default bundle); proxies from the usual
** environment variables, which libcurl reads itself; HTTP/2 over TLS where
** the server offers it; a connect timeout; TCP keep-alive; no redirect
** followed unless the caller asks (OAuth metadata), and then only a few,
** never to another scheme than https (http stays allowed only between
** loopback hosts, for local servers and tests).  Header values given by the
** user and tokens are never written anywhere by this module.
*/
#ifndef DSS_HTTPC_H
#define DSS_HTTPC_H

#include <stddef.h>
#include <curl/curl.h>

enum { HTTPC_CONNECT_TIMEOUT_MS = 15000 };

/* curl_global_init() once per process (thread-safe); 0 or -1. */
int httpc_global_init(void);

/* Set url and the common options on an easy handle.  follow: how many
** redirects to follow (0: none). */
void httpc_setup(CURL *h, const char *url, int follow);

/* Whether url's host is a loopback name or address (localhost,
** 127.0.0.0/8, [::1]). */
int httpc_is_loopback(const char *url);

/* A response to a blocking request.  Free with httpc_response_free(). */
typedef struct httpc_response {
    long status;            /* 0 when no response came */
    char *body;             /* NUL-terminated, len bytes (may be empty) */
    size_t len;
    char *content_type;     /* or NULL */
    char *www_authenticate; /* the first WWW-Authenticate value, or NULL */
    char *location;         /* or NULL */
} httpc_response;

void httpc_response_free(httpc_response *r);

/* A blocking request: method ("GET", "POST", "DELETE"), headers (a curl
** list, may be NULL), body (may be NULL), at most max_body bytes of
** response body kept, timeout_ms for the whole exchange, follow redirects.
** Returns 0 when a response arrived (any status), or -1 with a sentence in
** err (never naming header values). */
int httpc_request(const char *method, const char *url, struct curl_slist *headers,
                  const char *body, size_t body_len, long timeout_ms, int follow,
                  size_t max_body, httpc_response *out, char *err, size_t errlen);

/* url without its userinfo, query and fragment, for messages and the
** trail: a new string the caller frees, or NULL (out of memory, or not a
** URL curl can parse). */
char *httpc_redact_url(const char *url);

/* The value of a response header line (n bytes, as libcurl's header
** callback gives it) when its name is name, case-insensitively: a new
** string without surrounding white space (caller frees), or NULL. */
char *httpc_header_value(const char *line, size_t n, const char *name);

/* Whether a header value may be sent as it is: visible ASCII, space and
** tab, no leading or trailing white space. */
int httpc_header_safe(const char *v, size_t n);

/* Whether s is one or more bytes of visible ASCII (0x21 to 0x7E): what a
** token, a session id or a URL a server names must be before it is sent
** back in a header, a request line or a shell command. */
int httpc_visible_ascii(const char *s);

/* Whether s[0..n) is an RFC 9110 token (a field name): one or more
** tchars. */
int httpc_token_ok(const char *s, size_t n);

#endif
