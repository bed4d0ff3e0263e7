/*
** validate.c: a JSON Schema 2020-12 validator for the subset of the
** language that the files in schemas/ use.
**
** Supported keywords: type (a name or an array of names), enum, const,
** minLength and maxLength (counted in Unicode code points), minimum,
** maximum, exclusiveMinimum, exclusiveMaximum, required, properties,
** additionalProperties (a boolean or a schema), items (a single schema),
** minItems, maxItems, and $ref of the form "#/$defs/NAME", which is
** resolved against the root schema.  The annotations $schema, $id, $defs,
** title, description, default, examples and format are accepted and do not
** constrain anything; format is deliberately only an annotation, as 2020-12
** makes it by default.  Any other keyword is an error.
**
** Validation runs in two passes.  The first walks the whole schema, checks
** that every keyword is supported and well formed and that every $ref
** resolves and does not loop back on itself without consuming input.
** Doing this before looking at the instance means an unsupported keyword is
** reported on every call, not only when an argument happens to reach it, so
** a schema cannot quietly promise a check the server does not make.  The
** second pass then checks the instance and stops at the first problem,
** since a tool caller fixes one message at a time and the first one is
** usually the cause of the rest.
**
** Both passes recurse, so both are bounded: a schema deeper than
** VALIDATE_MAX_DEPTH is rejected as malformed, and an instance is never
** followed deeper than VALIDATE_MAX_DEPTH levels, which matters because a
** recursive $ref would otherwise let the instance alone decide how deep the
** stack grows.  No state outlives a call; everything lives in a context on
** the caller's stack.
*/
#include "validate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many levels of nesting either pass will follow. */
#define VALIDATE_MAX_DEPTH 64

/* How many $ref hops may be taken without descending into the instance.
** Only a cycle of references can need more, and the schema pass rejects
** those, so reaching this bound in the instance pass is a defence only. */
#define VALIDATE_MAX_REF_HOPS 32

/* Room for a path in a message; longer paths are shortened with "...". */
#define VALIDATE_PATH_CAP 256

/* The seven type names of the data model, as bits, so that "type" with an
** array of names is a mask and matching an instance is one AND. */
enum {
    T_NULL = 1u << 0,
    T_BOOLEAN = 1u << 1,
    T_OBJECT = 1u << 2,
    T_ARRAY = 1u << 3,
    T_NUMBER = 1u << 4,
    T_INTEGER = 1u << 5,
    T_STRING = 1u << 6
};

static const struct {
    const char *name;    /* as spelled in a schema */
    const char *phrase;  /* as used in "must be ..." */
    unsigned bit;
} type_names[] = {
    {"string", "a string", T_STRING},     {"number", "a number", T_NUMBER},
    {"integer", "an integer", T_INTEGER}, {"boolean", "a boolean", T_BOOLEAN},
    {"object", "an object", T_OBJECT},    {"array", "an array", T_ARRAY},
    {"null", "null", T_NULL},
};

#define NTYPES (sizeof type_names / sizeof type_names[0])

/* A path being built as the walk descends: an argument path such as
** "args.items[2]" in the instance pass, a JSON Pointer such as
** "#/properties/limit" in the schema pass.  `cut` records that something
** did not fit, so the message can show the path was shortened. */
typedef struct {
    char buf[VALIDATE_PATH_CAP];
    size_t len;
    int cut;
} vpath;

typedef struct {
    size_t len;
    int cut;
} vmark;

/* A message under construction in the caller's buffer.  Once anything has
** failed to fit, `full` stops further text, so a message is cut once, at
** the end, rather than losing pieces from its middle. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    int full;
} vmsg;

typedef struct {
    const cJSON *root;  /* the schema $ref is resolved against */
    char *err;
    size_t errlen;
    vpath path;
} vctx;

size_t validate_utf8_length(const char *s)
{
    size_t n = 0;
    if (!s) return 0;
    /* Every code point has exactly one byte that is not a continuation
    ** byte (10xxxxxx), so counting those counts code points. */
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* The largest prefix of s no longer than n bytes that does not end inside
** a UTF-8 sequence.  s must have at least n+1 readable bytes, which holds
** whenever n is less than strlen(s). */
static size_t utf8_clip(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

/* ---- Messages ---------------------------------------------------------- */

static vmsg msg_start(vctx *c)
{
    vmsg m = {c->err, c->err ? c->errlen : 0, 0, 0};
    if (m.cap) m.buf[0] = '\0';
    return m;
}

static void msg_put(vmsg *m, const char *s)
{
    if (m->full || m->cap == 0) return;
    size_t room = m->cap - 1 - m->len;
    size_t n = strlen(s);
    if (n > room) {
        n = utf8_clip(s, room);
        m->full = 1;
    }
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = '\0';
}

/* Formatted text, for numbers only: strings go through msg_put so that
** they are cut on a character boundary. */
static void msg_printf(vmsg *m, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    msg_put(m, tmp);
}

static void msg_path(vmsg *m, const vpath *p)
{
    msg_put(m, p->buf);
    if (p->cut) msg_put(m, "...");
}

/* "arguments" for the instance itself, "argument 'a.b'" below it. */
static void msg_subject(vmsg *m, const vpath *p)
{
    if (p->len == 0 && !p->cut) {
        msg_put(m, "arguments");
        return;
    }
    msg_put(m, "argument '");
    msg_path(m, p);
    msg_put(m, "'");
}

/* A number as a schema author would write it: integers without a
** fraction, anything else in the shortest form that reads back exactly. */
static void msg_number(vmsg *m, double v)
{
    if (!isfinite(v)) {
        msg_put(m, v != v ? "NaN" : v < 0 ? "-Infinity" : "Infinity");
    } else if (v == (double)(long long)v && v > -1e15 && v < 1e15) {
        msg_printf(m, "%lld", (long long)v);
    } else {
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v) snprintf(tmp, sizeof tmp, "%.17g", v);
        msg_put(m, tmp);
    }
}

/* A value from enum or const.  Strings appear bare, because the message
** usually travels inside a JSON string where quotes would be escaped;
** other values appear as compact JSON. */
static void msg_value(vmsg *m, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        msg_put(m, v->valuestring ? v->valuestring : "");
    } else if (cJSON_IsNumber(v)) {
        msg_number(m, v->valuedouble);
    } else {
        char *s = cJSON_PrintUnformatted(v);
        msg_put(m, s ? s : "(unprintable value)");
        cJSON_free(s);
    }
}

/* "n thing" or "n things". */
static void msg_count(vmsg *m, double n, const char *noun)
{
    msg_number(m, n);
    msg_put(m, " ");
    msg_put(m, noun);
    if (n != 1) msg_put(m, "s");
}

/* ---- Paths ------------------------------------------------------------- */

static vmark path_mark(const vpath *p)
{
    vmark k = {p->len, p->cut};
    return k;
}

static void path_reset(vpath *p, vmark k)
{
    p->len = k.len;
    p->cut = k.cut;
    p->buf[p->len] = '\0';
}

static void path_put(vpath *p, const char *s)
{
    if (p->cut) return;
    size_t room = sizeof p->buf - 1 - p->len;
    size_t n = strlen(s);
    if (n > room) {
        n = utf8_clip(s, room);
        p->cut = 1;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

/* Descend into an object member: "name" at the top, "a.name" below. */
static void path_key(vpath *p, const char *key)
{
    if (p->len > 0 || p->cut) path_put(p, ".");
    path_put(p, key ? key : "");
}

static void path_index(vpath *p, int i)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "[%d]", i);
    path_put(p, tmp);
}

/* Descend in the schema pass, where the path is a JSON Pointer. */
static void path_ptr(vpath *p, const char *a, const char *b)
{
    path_put(p, "/");
    path_put(p, a);
    if (b) {
        path_put(p, "/");
        path_put(p, b);
    }
}

/* ---- Schema pass ------------------------------------------------------- */

static int schema_fail(vctx *c, const char *keyword, const char *problem)
{
    vmsg m = msg_start(c);
    msg_put(&m, "schema keyword '");
    msg_put(&m, keyword);
    msg_put(&m, "' at ");
    msg_path(&m, &c->path);
    msg_put(&m, " ");
    msg_put(&m, problem);
    return -2;
}

static int is_schema(const cJSON *s)
{
    return cJSON_IsObject(s) || cJSON_IsBool(s);
}

/* True for a finite double with no fractional part.  Every double of
** magnitude 2^53 or more is integral; below that the value fits a long long
** exactly, so the round trip through one detects a fraction.  This avoids
** floor(), which would need libm for one comparison. */
static int is_integral(double v)
{
    if (!isfinite(v)) return 0;
    if ((v < 0 ? -v : v) >= 9007199254740992.0) return 1;
    return v == (double)(long long)v;
}

static int is_count(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 &&
           is_integral(v->valuedouble);
}

/* The type bit for a name, or 0 for a name that is not a type. */
static unsigned type_bit(const char *name)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (name && strcmp(name, type_names[i].name) == 0)
            return type_names[i].bit;
    return 0;
}

/* Resolve "#/$defs/NAME" against the root schema, decoding the JSON
** Pointer escapes ~0 and ~1.  Returns NULL for anything else. */
static const cJSON *resolve_ref(const cJSON *root, const char *ref)
{
    static const char prefix[] = "#/$defs/";
    char name[VALIDATE_PATH_CAP];
    size_t n = 0;

    if (!ref || strncmp(ref, prefix, sizeof prefix - 1) != 0) return NULL;
    for (const char *s = ref + sizeof prefix - 1; *s; s++) {
        char ch = *s;
        if (ch == '/') return NULL;  /* only direct members of $defs */
        if (ch == '~') {
            if (s[1] == '0') ch = '~';
            else if (s[1] == '1') ch = '/';
            else return NULL;
            s++;
        }
        if (n + 1 >= sizeof name) return NULL;
        name[n++] = ch;
    }
    name[n] = '\0';
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(root, "$defs");
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(defs, name);
    return is_schema(target) ? target : NULL;
}

static int check_schema(vctx *c, const cJSON *s, int depth);

/* Check every member of an object whose values are schemas, extending the
** pointer with "/<what>/<member>" for each. */
static int check_schema_map(vctx *c, const cJSON *map, const char *what,
                            int depth)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, map) {
        vmark k = path_mark(&c->path);
        path_ptr(&c->path, what, v->string ? v->string : "");
        int rc = check_schema(c, v, depth + 1);
        if (rc) return rc;
        path_reset(&c->path, k);
    }
    return 0;
}

static int check_subschema(vctx *c, const cJSON *v, const char *what,
                           int depth)
{
    vmark k = path_mark(&c->path);
    path_ptr(&c->path, what, NULL);
    int rc = check_schema(c, v, depth + 1);
    if (rc) return rc;
    path_reset(&c->path, k);
    return 0;
}

/* A $ref must resolve, and following the chain of $refs that apply to the
** same instance (a target that is itself a $ref, and so on) must end: a
** cycle there would recurse forever without consuming any input. */
static int check_ref(vctx *c, const cJSON *v)
{
    const cJSON *target = NULL;
    int hops = 0;

    if (!cJSON_IsString(v))
        return schema_fail(c, "$ref", "must be a string");
    for (const cJSON *r = v; cJSON_IsString(r); hops++) {
        if (hops > VALIDATE_MAX_REF_HOPS)
            return schema_fail(c, "$ref", "refers back to itself");
        target = resolve_ref(c->root, r->valuestring);
        if (!target)
            return schema_fail(c, "$ref",
                               "must name an existing schema in the root "
                               "schema's $defs as #/$defs/NAME");
        r = cJSON_GetObjectItemCaseSensitive(target, "$ref");
    }
    return 0;
}

static int check_keyword(vctx *c, const cJSON *v, const char *kw, int depth)
{
    static const char *const annotations[] = {
        "$schema", "$id", "title", "description", "default", "examples",
        "format",
    };
    static const char *const counts[] = {
        "minLength", "maxLength", "minItems", "maxItems",
    };
    static const char *const bounds[] = {
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    };

    for (size_t i = 0; i < sizeof annotations / sizeof *annotations; i++)
        if (strcmp(kw, annotations[i]) == 0) return 0;
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        if (strcmp(kw, counts[i]) == 0)
            return is_count(v) ? 0
                               : schema_fail(c, kw, "must be a non-negative "
                                                    "integer");
    for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++)
        if (strcmp(kw, bounds[i]) == 0)
            return cJSON_IsNumber(v) && isfinite(v->valuedouble)
                       ? 0
                       : schema_fail(c, kw, "must be a number");

    if (strcmp(kw, "$defs") == 0) {
        if (!cJSON_IsObject(v)) return schema_fail(c, kw, "must be an object");
        return check_schema_map(c, v, "$defs", depth);
    }
    if (strcmp(kw, "type") == 0) {
        if (cJSON_IsString(v)) {
            return type_bit(v->valuestring)
                       ? 0
                       : schema_fail(c, kw, "names an unknown type");
        } else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
            const cJSON *t;
            cJSON_ArrayForEach(t, v) {
                if (!cJSON_IsString(t) || !type_bit(t->valuestring))
                    return schema_fail(c, kw, "names an unknown type");
            }
            return 0;
        }
        return schema_fail(c, kw, "must be a type name or a non-empty array "
                                  "of type names");
    }
    if (strcmp(kw, "enum") == 0)
        return cJSON_IsArray(v) ? 0 : schema_fail(c, kw, "must be an array");
    if (strcmp(kw, "const") == 0) return 0;
    if (strcmp(kw, "required") == 0) {
        const cJSON *r;
        if (!cJSON_IsArray(v))
            return schema_fail(c, kw, "must be an array of strings");
        cJSON_ArrayForEach(r, v) {
            if (!cJSON_IsString(r))
                return schema_fail(c, kw, "must be an array of strings");
        }
        return 0;
    }
    if (strcmp(kw, "properties") == 0) {
        if (!cJSON_IsObject(v)) return schema_fail(c, kw, "must be an object");
        return check_schema_map(c, v, "properties", depth);
    }
    if (strcmp(kw, "additionalProperties") == 0 || strcmp(kw, "items") == 0) {
        if (!is_schema(v))
            return schema_fail(c, kw, "must be a schema (an object or a "
                                      "boolean)");
        return check_subschema(c, v, kw, depth);
    }
    if (strcmp(kw, "$ref") == 0) return check_ref(c, v);

    vmsg m = msg_start(c);
    msg_put(&m, "unsupported schema keyword '");
    msg_put(&m, kw);
    msg_put(&m, "' at ");
    msg_path(&m, &c->path);
    return -2;
}

static int check_schema(vctx *c, const cJSON *s, int depth)
{
    if (depth > VALIDATE_MAX_DEPTH) {
        vmsg m = msg_start(c);
        msg_put(&m, "schema is nested too deeply at ");
        msg_path(&m, &c->path);
        return -2;
    }
    if (cJSON_IsBool(s)) return 0;
    if (!cJSON_IsObject(s)) {
        vmsg m = msg_start(c);
        msg_put(&m, "schema at ");
        msg_path(&m, &c->path);
        msg_put(&m, " must be an object or a boolean");
        return -2;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, s) {
        int rc = check_keyword(c, v, v->string ? v->string : "", depth);
        if (rc) return rc;
    }
    return 0;
}

/* ---- Instance pass ----------------------------------------------------- */

/* The type bits an instance satisfies.  JSON has no infinities or NaN, so
** a non-finite number can only come from a tree built by hand; it is
** treated as no number at all rather than let it slip past every bound. */
static unsigned instance_types(const cJSON *v)
{
    if (cJSON_IsString(v)) return T_STRING;
    if (cJSON_IsBool(v)) return T_BOOLEAN;
    if (cJSON_IsNull(v)) return T_NULL;
    if (cJSON_IsObject(v)) return T_OBJECT;
    if (cJSON_IsArray(v)) return T_ARRAY;
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
        return is_integral(v->valuedouble) ? T_NUMBER | T_INTEGER : T_NUMBER;
    return 0;
}

static const char *type_phrase(const char *name)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (name && strcmp(name, type_names[i].name) == 0)
            return type_names[i].phrase;
    return name ? name : "";
}

static int check_type(vctx *c, const cJSON *type, const cJSON *inst)
{
    unsigned want = 0, have = instance_types(inst);
    int n = 0;
    const cJSON *t;

    if (cJSON_IsString(type)) {
        want = type_bit(type->valuestring);
    } else {
        cJSON_ArrayForEach(t, type) want |= type_bit(t->valuestring);
    }
    if (have & want) return 0;

    /* "must be a string", "must be a string or null",
    ** "must be a string, an integer or null". */
    vmsg m = msg_start(c);
    msg_subject(&m, &c->path);
    msg_put(&m, " must be ");
    if (cJSON_IsString(type)) {
        msg_put(&m, type_phrase(type->valuestring));
        return -1;
    }
    int total = cJSON_GetArraySize(type);
    cJSON_ArrayForEach(t, type) {
        if (n > 0) msg_put(&m, n == total - 1 ? " or " : ", ");
        msg_put(&m, type_phrase(t->valuestring));
        n++;
    }
    return -1;
}

static int check_enum(vctx *c, const cJSON *en, const cJSON *inst)
{
    const cJSON *e;
    int n = 0;

    cJSON_ArrayForEach(e, en) {
        if (cJSON_Compare(e, inst, 1)) return 0;
    }
    vmsg m = msg_start(c);
    if (cJSON_GetArraySize(en) == 0) {
        msg_put(&m, "no value is allowed for ");
        msg_subject(&m, &c->path);
        msg_put(&m, " because its enum is empty");
        return -1;
    }
    msg_subject(&m, &c->path);
    msg_put(&m, " must be one of ");
    cJSON_ArrayForEach(e, en) {
        if (n++ > 0) msg_put(&m, ", ");
        msg_value(&m, e);
    }
    return -1;
}

static int check_string(vctx *c, const cJSON *s, const cJSON *inst)
{
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(s, "minLength");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(s, "maxLength");
    if (!min && !max) return 0;

    double len = (double)validate_utf8_length(inst->valuestring);
    vmsg m;
    if (min && len < min->valuedouble) {
        m = msg_start(c);
        msg_subject(&m, &c->path);
        if (len == 0 && min->valuedouble == 1) {
            msg_put(&m, " must not be empty");
        } else {
            msg_put(&m, " must be at least ");
            msg_count(&m, min->valuedouble, "character");
            msg_put(&m, " long");
        }
        return -1;
    }
    if (max && len > max->valuedouble) {
        m = msg_start(c);
        msg_subject(&m, &c->path);
        msg_put(&m, " must be at most ");
        msg_count(&m, max->valuedouble, "character");
        msg_put(&m, " long");
        return -1;
    }
    return 0;
}

static int check_number(vctx *c, const cJSON *s, const cJSON *inst)
{
    static const struct {
        const char *kw;
        const char *phrase;
        int exclusive;
        int upper;
    } rules[] = {
        {"minimum", " must be at least ", 0, 0},
        {"maximum", " must be at most ", 0, 1},
        {"exclusiveMinimum", " must be greater than ", 1, 0},
        {"exclusiveMaximum", " must be less than ", 1, 1},
    };
    double v = inst->valuedouble;

    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(s, rules[i].kw);
        if (!b) continue;
        double lim = b->valuedouble;
        int bad = rules[i].upper ? (rules[i].exclusive ? v >= lim : v > lim)
                                 : (rules[i].exclusive ? v <= lim : v < lim);
        if (bad) {
            vmsg m = msg_start(c);
            msg_subject(&m, &c->path);
            msg_put(&m, rules[i].phrase);
            msg_number(&m, lim);
            return -1;
        }
    }
    return 0;
}

static int validate_node(vctx *c, const cJSON *s, const cJSON *inst,
                         int depth, int hops);

static int check_array(vctx *c, const cJSON *s, const cJSON *inst, int depth)
{
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(s, "minItems");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(s, "maxItems");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    double n = (double)cJSON_GetArraySize(inst);

    if ((min && n < min->valuedouble) || (max && n > max->valuedouble)) {
        int low = min && n < min->valuedouble;
        vmsg m = msg_start(c);
        msg_subject(&m, &c->path);
        msg_put(&m, low ? " must have at least " : " must have at most ");
        msg_count(&m, low ? min->valuedouble : max->valuedouble, "item");
        return -1;
    }
    if (!items) return 0;

    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, inst) {
        vmark k = path_mark(&c->path);
        path_index(&c->path, i++);
        int rc = validate_node(c, items, e, depth + 1, 0);
        if (rc) return rc;
        path_reset(&c->path, k);
    }
    return 0;
}

/* Report a member by name with a fixed prefix: "unknown argument 'a.b'",
** "missing required argument 'a.b'". */
static int member_fail(vctx *c, const char *prefix, const char *key)
{
    vmark k = path_mark(&c->path);
    path_key(&c->path, key);
    vmsg m = msg_start(c);
    msg_put(&m, prefix);
    msg_put(&m, " '");
    msg_path(&m, &c->path);
    msg_put(&m, "'");
    path_reset(&c->path, k);
    return -1;
}

/* Unknown members are reported before missing ones, because a misspelt
** name causes both and the unknown one is what the caller must fix. */
static int check_object(vctx *c, const cJSON *s, const cJSON *inst, int depth)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(s,
                                                          "additionalProperties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *v;

    if (cJSON_IsFalse(extra)) {
        cJSON_ArrayForEach(v, inst) {
            const char *key = v->string ? v->string : "";
            if (!cJSON_GetObjectItemCaseSensitive(props, key))
                return member_fail(c, "unknown argument", key);
        }
    }
    cJSON_ArrayForEach(v, req) {
        if (!cJSON_GetObjectItemCaseSensitive(inst, v->valuestring))
            return member_fail(c, "missing required argument", v->valuestring);
    }
    cJSON_ArrayForEach(v, inst) {
        const char *key = v->string ? v->string : "";
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(props, key);
        if (!sub) sub = extra;
        if (!sub || cJSON_IsTrue(sub)) continue;
        vmark k = path_mark(&c->path);
        path_key(&c->path, key);
        int rc = validate_node(c, sub, v, depth + 1, 0);
        if (rc) return rc;
        path_reset(&c->path, k);
    }
    return 0;
}

/* Check one instance against one (already checked) schema.  depth counts
** levels of instance; hops counts $refs followed at this level. */
static int validate_node(vctx *c, const cJSON *s, const cJSON *inst,
                         int depth, int hops)
{
    vmsg m;

    if (depth > VALIDATE_MAX_DEPTH) {
        m = msg_start(c);
        msg_put(&m, "arguments are nested too deeply (the limit is ");
        msg_printf(&m, "%d", VALIDATE_MAX_DEPTH);
        msg_put(&m, " levels)");
        return -1;
    }
    if (cJSON_IsTrue(s)) return 0;
    if (cJSON_IsFalse(s)) {
        m = msg_start(c);
        msg_subject(&m, &c->path);
        msg_put(&m, c->path.len || c->path.cut ? " is not allowed"
                                               : " are not allowed");
        return -1;
    }

    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (ref) {
        const cJSON *target = resolve_ref(c->root, ref->valuestring);
        if (!target || hops >= VALIDATE_MAX_REF_HOPS) {
            m = msg_start(c);
            msg_put(&m, "schema $ref '");
            msg_put(&m, ref->valuestring ? ref->valuestring : "");
            msg_put(&m, "' cannot be followed");
            return -2;
        }
        int rc = validate_node(c, target, inst, depth, hops + 1);
        if (rc) return rc;
    }

    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (type && check_type(c, type, inst)) return -1;

    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (en && check_enum(c, en, inst)) return -1;

    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(s, "const");
    if (cn && !cJSON_Compare(cn, inst, 1)) {
        m = msg_start(c);
        msg_subject(&m, &c->path);
        msg_put(&m, " must be ");
        msg_value(&m, cn);
        return -1;
    }

    unsigned have = instance_types(inst);
    if (have & T_STRING) return check_string(c, s, inst);
    if (have & T_NUMBER) return check_number(c, s, inst);
    if (have & T_ARRAY) return check_array(c, s, inst, depth);
    if (have & T_OBJECT) return check_object(c, s, inst, depth);
    return 0;
}

/* Set up a context whose message buffer is empty on success. */
static void ctx_init(vctx *c, const cJSON *schema, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->root = schema;
    c->err = err;
    c->errlen = err ? errlen : 0;
    (void)msg_start(c);
}

int validate_schema(const cJSON *schema, char *err, size_t errlen)
{
    vctx c;
    ctx_init(&c, schema, err, errlen);
    if (!schema) {
        vmsg m = msg_start(&c);
        msg_put(&m, "schema is missing");
        return -2;
    }
    path_put(&c.path, "#");
    return check_schema(&c, schema, 0);
}

int validate_arguments(const cJSON *schema, const cJSON *instance,
                       char *err, size_t errlen)
{
    vctx c;
    ctx_init(&c, schema, err, errlen);
    if (!instance) {
        vmsg m = msg_start(&c);
        msg_put(&m, "arguments are missing");
        return -1;
    }
    return validate_node(&c, schema, instance, 0, 0);
}

int validate_instance(const cJSON *schema, const cJSON *instance,
                      char *err, size_t errlen)
{
    int rc = validate_schema(schema, err, errlen);
    return rc ? rc : validate_arguments(schema, instance, err, errlen);
}
