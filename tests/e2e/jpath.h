/*
** jpath.h: reading replies in tests by dotted path ("result.content.0.text";
** numbers index arrays).  Header-only, shared by the tests that drive the
** binary; every function borrows from the tree it is given.
*/
#ifndef DSS_JPATH_H
#define DSS_JPATH_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

static inline const cJSON *jget(const cJSON *v, const char *path)
{
    char seg[128];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        snprintf(seg, sizeof seg, "%.*s", (int)n, path);
        if (cJSON_IsArray(v)) v = cJSON_GetArrayItem(v, atoi(seg));
        else v = cJSON_GetObjectItemCaseSensitive(v, seg);
        path += n;
        if (*path == '.') path++;
    }
    return v;
}

static inline const char *jstr(const cJSON *v, const char *path)
{
    const cJSON *x = jget(v, path);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static inline double jnum(const cJSON *v, const char *path)
{
    const cJSON *x = jget(v, path);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static inline int jnull(const cJSON *v, const char *path)
{
    return cJSON_IsNull(jget(v, path));
}

/* The error code of a JSON-RPC error reply, or 0 for a result. */
static inline int jcode(const cJSON *reply)
{
    if (cJSON_GetObjectItemCaseSensitive(reply, "result")) return 0;
    double c = jnum(reply, "error.code");
    return isnan(c) ? 0 : (int)c;
}

#endif
