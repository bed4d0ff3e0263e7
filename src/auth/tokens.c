/*
** tokens.c: the per-server OAuth record on disk (see tokens.h).
*/
#define _GNU_SOURCE
#include "tokens.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "../remote/httpc.h"
#include "../util/fsutil.h"

/* The string members, in file order: one list for load, save and free. */
#define TOK_FIELDS(X)                                                        \
    X(server_url) X(issuer) X(token_endpoint) X(client_id) X(client_secret) \
    X(auth_method) X(redirect_uri) X(access_token) X(refresh_token)        \
    X(scope) X(resource)

void tok_record_free(tok_record *t)
{
#define FREE_ONE(f)                                                          \
    if (t->f) sodium_memzero(t->f, strlen(t->f));                           \
    free(t->f);
    TOK_FIELDS(FREE_ONE)
#undef FREE_ONE
    memset(t, 0, sizeof *t);
}

static char *url_without(const char *url, int drop_query)
{
    CURLU *u = curl_url();
    char *s = NULL, *out = NULL;
    if (!u) return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
        if (drop_query) curl_url_set(u, CURLUPART_QUERY, NULL, 0);
        if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) out = strdup(s);
    }
    curl_free(s);
    curl_url_cleanup(u);
    return out;
}

char *tok_key_url(const char *url) { return url_without(url, 0); }

char *tok_display_url(const char *url) { return url_without(url, 1); }

/* DIR/oauth/<sha256 of the key, 32 hex digits><suffix> into buf. */
static int path_for(const char *dir, const char *url, const char *suffix, char *buf,
                    size_t n, char *err, size_t errlen)
{
    char *key = tok_key_url(url);
    if (!key) {
        snprintf(err, errlen, "not a URL");
        return -1;
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * 16 + 1];
    crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
    free(key);
    sodium_bin2hex(hex, sizeof hex, h, 16);
    if ((size_t)snprintf(buf, n, "%s/oauth/%s%s", dir, hex, suffix) >= n) {
        snprintf(err, errlen, "the configuration folder's path is too long");
        return -1;
    }
    return 0;
}

int tok_is_token(const char *s)
{
    return httpc_visible_ascii(s) && strlen(s) <= TOK_MAX;
}

int tok_is_url(const char *s)
{
    return httpc_visible_ascii(s) &&
           (strncasecmp(s, "https://", 8) == 0 ||
            (strncasecmp(s, "http://", 7) == 0 && httpc_is_loopback(s)));
}

/* The largest expiry taken from a file: 2^53 seconds, past any real time,
** exact in a double and far from int64_t's end, so that the expiry
** arithmetic cannot overflow. */
#define TOK_EXPIRES_MAX 9007199254740992.0

int tok_parse(const char *text, tok_record *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    cJSON *j = cJSON_Parse(text);
    const cJSON *v;
    const char *why = "not a JSON object";
    if (!cJSON_IsObject(j)) goto bad;
#define LOAD_ONE(f)                                                          \
    v = cJSON_GetObjectItemCaseSensitive(j, #f);                            \
    if (cJSON_IsString(v) && !(t->f = strdup(v->valuestring))) goto oom;
    TOK_FIELDS(LOAD_ONE)
#undef LOAD_ONE
    why = "no server_url";
    if (!t->server_url) goto bad;
    /* A corrupted or hand-edited file must not put a line break into the
    ** Authorization header or send the refresh token anywhere but over
    ** TLS.  (The refresh token and client secret only ever go out
    ** URL-encoded or in Base64.) */
    why = "an access token that cannot be sent";
    if (t->access_token && !tok_is_token(t->access_token)) goto bad;
    why = "a token endpoint that is not https";
    if (t->token_endpoint && !tok_is_url(t->token_endpoint)) goto bad;
    v = cJSON_GetObjectItemCaseSensitive(j, "expires_at");
    why = "an expires_at that is not a time";
    if (v) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= TOK_EXPIRES_MAX))
            goto bad;
        t->expires_at = (int64_t)v->valuedouble;
    }
    cJSON_Delete(j);
    return 0;
bad:
    snprintf(err, errlen, "%s", why);
    goto fail;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    tok_record_free(t);
    cJSON_Delete(j);
    return -1;
}

static int load_file(const char *path, tok_record *t, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[65536], why[128];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int rc = tok_parse(buf, t, why, sizeof why) == 0 ? 1 : -1;
    sodium_memzero(buf, n);
    if (rc < 0) snprintf(err, errlen, "%s is not a token record: %s", path, why);
    return rc;
}

int tok_load(const char *dir, const char *url, tok_record *t, char *err, size_t errlen)
{
    char path[PATH_MAX];
    memset(t, 0, sizeof *t);
    if (path_for(dir, url, ".json", path, sizeof path, err, errlen) != 0) return -1;
    return load_file(path, t, err, errlen);
}

int tok_save(const char *dir, const tok_record *t, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (path_for(dir, t->server_url, ".json", path, sizeof path, err, errlen) != 0)
        return -1;
    if (fs_make_parents(path, err, errlen) != 0) return -1;
    cJSON *j = cJSON_CreateObject();
    if (!j) goto oom;
#define SAVE_ONE(f)                                                          \
    if (t->f && !cJSON_AddStringToObject(j, #f, t->f)) goto oom;
    TOK_FIELDS(SAVE_ONE)
#undef SAVE_ONE
    if (t->expires_at && !cJSON_AddNumberToObject(j, "expires_at", (double)t->expires_at))
        goto oom;
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) goto oom;
    int rc = fs_write_new(path, text, strlen(text), 1, err, errlen);
    sodium_memzero(text, strlen(text));
    free(text);
    return rc == 0 ? 0 : -1;
oom:
    cJSON_Delete(j);
    snprintf(err, errlen, "out of memory");
    return -1;
}

int tok_delete(const char *dir, const char *url, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (path_for(dir, url, ".json", path, sizeof path, err, errlen) != 0) return -1;
    if (unlink(path) == 0) return 1;
    if (errno == ENOENT) return 0;
    snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
    return -1;
}

int tok_list(const char *dir, tok_record **out, char *err, size_t errlen)
{
    char folder[PATH_MAX];
    *out = NULL;
    snprintf(folder, sizeof folder, "%s/oauth", dir);
    DIR *d = opendir(folder);
    if (!d) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot read %s: %s", folder, strerror(errno));
        return -1;
    }
    tok_record *list = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char path[2 * PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
        tok_record t;
        char ignore[256];
        if (load_file(path, &t, ignore, sizeof ignore) != 1) continue;
        tok_record *nl = realloc(list, (size_t)(n + 1) * sizeof *nl);
        if (!nl) {
            tok_record_free(&t);
            break;
        }
        list = nl;
        list[n++] = t;
    }
    closedir(d);
    *out = list;
    return n;
}

int tok_lock(const char *dir, const char *url, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (path_for(dir, url, ".lock", path, sizeof path, err, errlen) != 0) return -1;
    if (fs_make_parents(path, err, errlen) != 0) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void tok_unlock(int fd)
{
    if (fd >= 0) close(fd);
}
