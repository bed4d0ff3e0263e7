/*
** scrub.c: key-name and value-pattern redaction over cJSON trees, and the
** config file that extends both.
**
** The walk is iterative over siblings and recursive only in depth; the
** depth of any tree reaching here is bounded by the protocol layer's nesting
** limit, so the recursion cannot exhaust the stack.  The value patterns
** themselves live in patterns.c.
*/
#include "scrub.h"

#include "patterns.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int scrub_key_is_sensitive(const char *key)
{
    return patterns_key_sensitive(key);
}

int scrub_text(const char *in, size_t len, char **out, size_t *outlen)
{
    if (outlen) *outlen = 0;
    if (!out) return -1;
    *out = NULL;
    if (!in) return 0;
    return patterns_scan(in, len, out, outlen);
}

unsigned long long scrub_work_units(void)
{
    return patterns_work();
}

/* The scrubbed copy of text in cJSON's allocator: 0 with *copy NULL when
** nothing changed, -1 when memory ran out. */
static int scrubbed_copy(const char *text, char **copy)
{
    char *out;
    size_t len;
    *copy = NULL;
    int r = scrub_text(text, strlen(text), &out, &len);
    if (r <= 0) return r;
    *copy = cJSON_malloc(len + 1);
    if (*copy) memcpy(*copy, out, len + 1);
    free(out);
    return *copy ? 0 : -1;
}

/* Value patterns over a string item's value.  0, or -1 (item unchanged). */
static int scrub_value(cJSON *item)
{
    char *copy;
    if (!item->valuestring) return 0;
    if (scrubbed_copy(item->valuestring, &copy) != 0) return -1;
    if (copy) {
        if (!(item->type & cJSON_IsReference)) cJSON_free(item->valuestring);
        item->type &= ~cJSON_IsReference;
        item->valuestring = copy;
    }
    return 0;
}

/* Value patterns over a member's key.  0, or -1 (member unchanged). */
static int scrub_key(cJSON *item)
{
    char *copy;
    if (!item->string) return 0;
    if (scrubbed_copy(item->string, &copy) != 0) return -1;
    if (copy) {
        if (!(item->type & cJSON_StringIsConst)) cJSON_free(item->string);
        item->type &= ~cJSON_StringIsConst;
        item->string = copy;
    }
    return 0;
}

int scrub_tree(cJSON *item)
{
    if (!item) return 0;
    if (cJSON_IsString(item)) {
        if (scrub_value(item) == 0) return 0;
        /* No room for the scrubbed copy: keep nothing rather than leak. */
        if (!(item->type & cJSON_IsReference)) cJSON_free(item->valuestring);
        item->type &= ~cJSON_IsReference;
        item->valuestring = NULL;
        return -1;
    }
    if (!(cJSON_IsObject(item) || cJSON_IsArray(item))) return 0;
    int rc = 0;
    int in_object = cJSON_IsObject(item);
    cJSON *child = item->child;
    while (child) {
        cJSON *next = child->next;
        int ok = 1;
        if (in_object && scrub_key_is_sensitive(child->string)) {
            cJSON *red = cJSON_CreateString(SCRUB_REDACTED);
            if (red) {
                /* The replacement takes over the member's key, and whether
                ** that key is a literal cJSON must not free. */
                red->string = child->string;
                red->type |= child->type & cJSON_StringIsConst;
                child->string = NULL;
                cJSON_ReplaceItemViaPointer(item, child, red);
                child = red;
            } else {
                ok = 0;
            }
        } else if (cJSON_IsString(child)) {
            ok = scrub_value(child) == 0;
        } else if (scrub_tree(child) != 0) {
            rc = -1; /* the subtree dropped what it could not scrub */
        }
        if (ok && in_object) ok = scrub_key(child) == 0;
        if (!ok) {
            cJSON_Delete(cJSON_DetachItemViaPointer(item, child));
            rc = -1;
        }
        child = next;
    }
    return rc;
}

/* ---- config file ---------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int key_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

/* Check the list `name` of root and point out[] at its strings. */
static int read_list(const cJSON *root, const char *name, int prefixes,
                     const char **out, size_t *n, const char *path,
                     char *err, size_t errlen)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, name);
    *n = 0;
    if (!a || cJSON_IsNull(a)) return 0;
    if (!cJSON_IsArray(a)) {
        set_err(err, errlen, "%s: %s must be an array of strings", path, name);
        return -1;
    }
    size_t min = prefixes ? SCRUB_CONFIG_MIN_PREFIX_LEN : 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (*n == SCRUB_CONFIG_MAX_ENTRIES) {
            set_err(err, errlen, "%s: %s has more than %d entries", path, name,
                    SCRUB_CONFIG_MAX_ENTRIES);
            return -1;
        }
        if (!cJSON_IsString(e) || !e->valuestring) {
            set_err(err, errlen, "%s: %s[%zu] is not a string", path, name, *n);
            return -1;
        }
        const char *s = e->valuestring;
        size_t len = strlen(s);
        if (len < min || len > SCRUB_CONFIG_MAX_ENTRY_LEN) {
            set_err(err, errlen, "%s: %s[%zu] must be %zu to %d bytes long", path,
                    name, *n, min, SCRUB_CONFIG_MAX_ENTRY_LEN);
            return -1;
        }
        for (size_t k = 0; k < len; k++) {
            unsigned char ch = (unsigned char)s[k];
            if (prefixes ? (ch < 0x21 || ch > 0x7e) : !key_char(ch)) {
                set_err(err, errlen,
                        prefixes ? "%s: %s[%zu] may hold only printable ASCII, no spaces"
                                 : "%s: %s[%zu] may hold only letters, digits, '_', '.' and '-'",
                        path, name, *n);
                return -1;
            }
        }
        out[(*n)++] = s;
    }
    return 0;
}

int scrub_load_config(const char *path, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!path || !*path) {
        set_err(err, errlen, "no config file named");
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(SCRUB_CONFIG_MAX_BYTES + 2);
    if (!text) {
        fclose(f);
        set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t len = fread(text, 1, SCRUB_CONFIG_MAX_BYTES + 1, f);
    int read_failed = ferror(f), saved = errno;
    fclose(f);
    int rc = -1;
    cJSON *root = NULL;
    if (read_failed) {
        set_err(err, errlen, "cannot read %s: %s", path, strerror(saved));
        goto done;
    }
    if (len > SCRUB_CONFIG_MAX_BYTES) {
        set_err(err, errlen, "%s: larger than %d bytes", path, SCRUB_CONFIG_MAX_BYTES);
        goto done;
    }
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        set_err(err, errlen, "%s: invalid JSON (a NUL byte)", path);
        goto done;
    }
    const char *end = NULL;
    root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        set_err(err, errlen, "%s: invalid JSON near byte %zu", path, at);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        set_err(err, errlen, "%s: the top level must be a JSON object", path);
        goto done;
    }
    const char *keys[SCRUB_CONFIG_MAX_ENTRIES], *prefixes[SCRUB_CONFIG_MAX_ENTRIES];
    size_t nkeys, nprefixes;
    if (read_list(root, "redact_keys", 0, keys, &nkeys, path, err, errlen) != 0 ||
        read_list(root, "redact_prefixes", 1, prefixes, &nprefixes, path, err, errlen) != 0)
        goto done;
    if (patterns_configure(keys, nkeys, prefixes, nprefixes) != 0) {
        set_err(err, errlen, "%s: out of memory", path);
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    free(text);
    return rc;
}

void scrub_reset_config(void)
{
    patterns_reset();
}
