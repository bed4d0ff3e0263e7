/*
** patterns.c: finds secrets inside free text, in one pass, in linear time.
**
** No regular expressions: each kind of secret has a hand-written matcher,
** tried only at the bytes that can start it (or, for key=value pairs and
** URL credentials, at the ':' or '=' they hinge on).  Every matcher obeys
** one rule that keeps the whole scan linear: an attempt that fails has
** examined a bounded number of bytes, or bytes that no other attempt of the
** same matcher will examine again; an attempt that succeeds moves the scan
** past everything it examined.  The cases that need care are noted at each
** matcher.  Every byte examined is counted, and patterns_work() reports the
** total, so tests can check the bound itself rather than a wall clock.
**
** Matches start and end only at ASCII bytes or at the ends of the string,
** so a redaction never cuts a UTF-8 sequence in two.
*/
#define _GNU_SOURCE /* memmem */
#include "patterns.h"

#include "scrub.h"
#include "../util/jbuf.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- character classes ------------------------------------------------ */

enum {
    C_ALNUM = 1 << 0,  /* [A-Za-z0-9] */
    C_UPDIG = 1 << 1,  /* [A-Z0-9] */
    C_B64URL = 1 << 2, /* [A-Za-z0-9_-] */
    C_WORD = 1 << 3,   /* [A-Za-z0-9_] */
    C_SLACK = 1 << 4,  /* [A-Za-z0-9-] */
    C_HOOK = 1 << 5,   /* [A-Za-z0-9_/-] */
    C_BEARER = 1 << 6, /* [A-Za-z0-9._~+/=-] */
    C_IDENT = 1 << 7,  /* [A-Za-z0-9_.-]: the key of a key=value pair */
    C_PEMLBL = 1 << 8, /* [A-Z0-9 ]: the label of a PEM boundary line */
};

static unsigned cmask(unsigned char ch)
{
    enum { LETTER = C_ALNUM | C_B64URL | C_WORD | C_SLACK | C_HOOK | C_BEARER | C_IDENT };
    if (ch >= 'a' && ch <= 'z') return LETTER;
    if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return LETTER | C_UPDIG | C_PEMLBL;
    switch (ch) {
    case '_': return C_B64URL | C_WORD | C_HOOK | C_BEARER | C_IDENT;
    case '-': return C_B64URL | C_SLACK | C_HOOK | C_BEARER | C_IDENT;
    case '.': return C_BEARER | C_IDENT;
    case '/': return C_HOOK | C_BEARER;
    case '~': case '+': case '=': return C_BEARER;
    case ' ': return C_PEMLBL;
    default: return 0;
    }
}

static int is_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static int is_quote(unsigned char ch) { return ch == '"' || ch == '\''; }

static unsigned char lower(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + 32) : ch;
}

/* ---- key-word trie ------------------------------------------------------ */

/*
** The words that make the key of a free-text key=value pair secret live in
** a trie over the 39 symbols of C_IDENT (letters folded to lower case), so
** "does this key contain one of the words" costs at most the key's length
** times the longest word, however many words a config file adds.
*/
#define NSYM 39
#define F_FREE 1u /* built-in free-text key word */
#define F_CONF 2u /* word from the config file: JSON keys and free text */
#define F_KEY 4u  /* built-in JSON key word */

typedef struct {
    uint16_t (*next)[NSYM];
    unsigned char *flag;
    size_t n, cap;
} trie;

/* Every byte of every key scanned comes through here: letters, most of
** them, cost one test (setting bit 5 folds 'A'-'Z' onto 'a'-'z' and maps
** no other byte there). */
static int sym(unsigned char ch)
{
    unsigned folded = ch | 0x20u;
    if (folded - 'a' < 26u) return (int)(folded - 'a');
    if ((unsigned)ch - '0' < 10u) return 26 + (ch - '0');
    if (ch == '_') return 36;
    if (ch == '.') return 37;
    if (ch == '-') return 38;
    return -1;
}

static void trie_init(trie *t)
{
    memset(t->next[0], 0, sizeof t->next[0]);
    t->flag[0] = 0;
    t->n = 1;
}

static int trie_add(trie *t, const char *w, unsigned f)
{
    size_t node = 0;
    for (; *w; w++) {
        int y = sym((unsigned char)*w);
        if (y < 0) return -1;
        if (!t->next[node][y]) {
            if (t->n >= t->cap || t->n > UINT16_MAX) return -1;
            memset(t->next[t->n], 0, sizeof t->next[0]);
            t->flag[t->n] = 0;
            t->next[node][y] = (uint16_t)t->n++;
        }
        node = t->next[node][y];
    }
    t->flag[node] |= (unsigned char)f;
    return 0;
}

/* True when s[0..len) contains a word whose flags meet mask. */
static int trie_contains(const trie *t, const unsigned char *s, size_t len,
                         unsigned mask, size_t *work)
{
    for (size_t p = 0; p < len; p++) {
        size_t node = 0, q = p;
        for (; q < len; q++) {
            int y = sym(s[q]);
            if (y < 0 || !(node = t->next[node][y])) break;
            if (t->flag[node] & mask) {
                *work += q - p + 1;
                return 1;
            }
        }
        *work += q - p + 1;
    }
    return 0;
}

/* Free-text keys that mark the value after '=' or ':' as secret when the
** key contains them (any case).  "auth" and "pwd" count only as the whole
** key (see key_is_secret): as substrings they would catch "author". */
static const char *const free_words[] = {
    "password", "passwd", "passphrase", "secret", "token", "api_key", "apikey",
    "api-key", "access_key", "accesskey", "private_key", "privatekey",
    "credential", "authorization", "encrypted_data",
};

/* JSON keys that name a secret when they contain one of these (any case):
** the seed's list, matched as its key.lower() matched it. */
static const char *const key_words[] = {
    "token", "api_key", "secret", "password", "credential",
    "auth", "figma_token", "encrypted_data",
};

#define DEFAULT_NODES 192
static uint16_t default_next[DEFAULT_NODES][NSYM];
static unsigned char default_flag[DEFAULT_NODES];
static trie default_trie = {default_next, default_flag, 0, DEFAULT_NODES};

/* The built-in words: free-text keys and JSON keys share one trie. */
static int add_builtin_words(trie *t)
{
    for (size_t i = 0; i < sizeof free_words / sizeof *free_words; i++)
        if (trie_add(t, free_words[i], F_FREE) != 0) return -1;
    for (size_t i = 0; i < sizeof key_words / sizeof *key_words; i++)
        if (trie_add(t, key_words[i], F_KEY) != 0) return -1;
    return 0;
}

static size_t builtin_words_len(void)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof free_words / sizeof *free_words; i++)
        n += strlen(free_words[i]);
    for (size_t i = 0; i < sizeof key_words / sizeof *key_words; i++)
        n += strlen(key_words[i]);
    return n;
}

/* ---- configured state --------------------------------------------------- */

static struct {
    trie words;      /* the built-in words plus the config's; n == 0 when unset */
    size_t nkeys;
    char **prefixes; /* literal prefixes, each followed by >= 8 [A-Za-z0-9_-] */
    size_t *plen;
    size_t nprefixes;
    unsigned char first[256]; /* first bytes of the prefixes */
} cfg;

static const trie *active_words(void)
{
    if (cfg.words.n) return &cfg.words;
    if (!default_trie.n) {
        trie_init(&default_trie);
        add_builtin_words(&default_trie); /* fits DEFAULT_NODES by construction */
    }
    return &default_trie;
}

static void free_words_trie(trie *t)
{
    free(t->next);
    free(t->flag);
    memset(t, 0, sizeof *t);
}

static void free_prefixes(char **p, size_t *len, size_t n)
{
    for (size_t i = 0; i < n; i++) free(p[i]);
    free(p);
    free(len);
}

void patterns_reset(void)
{
    free_words_trie(&cfg.words);
    free_prefixes(cfg.prefixes, cfg.plen, cfg.nprefixes);
    memset(&cfg, 0, sizeof cfg);
}

int patterns_configure(const char *const *keys, size_t nkeys,
                       const char *const *prefixes, size_t nprefixes)
{
    trie t = {0};
    char **p = NULL;
    size_t *plen = NULL, made = 0;

    size_t cap = 1 + builtin_words_len();
    for (size_t i = 0; i < nkeys; i++) cap += strlen(keys[i]);
    if (nkeys) {
        t.next = malloc(cap * sizeof *t.next);
        t.flag = malloc(cap);
        t.cap = cap;
        if (!t.next || !t.flag) goto fail;
        trie_init(&t);
        if (add_builtin_words(&t) != 0) goto fail;
        for (size_t i = 0; i < nkeys; i++)
            if (trie_add(&t, keys[i], F_CONF) != 0) goto fail;
    }
    if (nprefixes) {
        p = calloc(nprefixes, sizeof *p);
        plen = calloc(nprefixes, sizeof *plen);
        if (!p || !plen) goto fail;
        for (; made < nprefixes; made++) {
            plen[made] = strlen(prefixes[made]);
            if (!plen[made] || !(p[made] = malloc(plen[made] + 1))) goto fail;
            memcpy(p[made], prefixes[made], plen[made] + 1);
        }
    }
    patterns_reset();
    cfg.words = t;
    cfg.nkeys = nkeys;
    cfg.prefixes = p;
    cfg.plen = plen;
    cfg.nprefixes = nprefixes;
    for (size_t i = 0; i < nprefixes; i++) cfg.first[(unsigned char)p[i][0]] = 1;
    return 0;
fail:
    free_words_trie(&t);
    free_prefixes(p, plen, made);
    return -1;
}

int patterns_key_sensitive(const char *key)
{
    if (!key) return 0;
    size_t work = 0;
    return trie_contains(active_words(), (const unsigned char *)key, strlen(key),
                         F_KEY | F_CONF, &work);
}

/* ---- the scanner ---------------------------------------------------------- */

typedef struct {
    const unsigned char *s;
    size_t n;
    size_t work; /* bytes examined */
} scan;

/* The bytes [a, b) to replace; the scan resumes at b. */
typedef struct {
    size_t a, b;
} span;

static _Atomic unsigned long long total_work;

unsigned long long patterns_work(void)
{
    return atomic_load_explicit(&total_work, memory_order_relaxed);
}

/* End of the run of class cls that starts at j. */
static size_t run(scan *c, size_t j, unsigned cls)
{
    size_t k = j;
    while (k < c->n && (cmask(c->s[k]) & cls)) k++;
    c->work += k - j + 1;
    return k;
}

/* True when the literal t (len bytes) starts at j. */
static int lit(scan *c, size_t j, const char *t, size_t len)
{
    c->work += len;
    return j <= c->n && len <= c->n - j && memcmp(c->s + j, t, len) == 0;
}

/* Same, ignoring the case of ASCII letters; t is lower case. */
static int lit_nocase(scan *c, size_t j, const char *t, size_t len)
{
    c->work += len;
    if (j > c->n || len > c->n - j) return 0;
    for (size_t k = 0; k < len; k++)
        if (lower(c->s[j + k]) != (unsigned char)t[k]) return 0;
    return 1;
}

/* Token patterns must not continue a longer word: "xAKIA..." is not a key. */
static int alnum_before(const scan *c, size_t i)
{
    return i > 0 && (cmask(c->s[i - 1]) & C_ALNUM);
}

/*
** A literal prefix and then a run of at least min bytes of one class; the
** whole run is the secret.  A failed attempt examined fewer than min bytes
** of run; a successful one consumes all it examined.
**
** The prefixes are grouped by their first byte, and an attempt walks only
** its byte's group: 's', 'p', 'r' and 'n' are common letters in any text,
** and each used to walk all 27.
*/
typedef struct tokpat {
    const char *pfx;
    unsigned char len;
    unsigned char min;
    unsigned short cls;
} tokpat;

static const tokpat tok_g[] = {
    {"ghp_", 4, 36, C_ALNUM},          /* GitHub personal access token */
    {"gho_", 4, 36, C_ALNUM},          /* GitHub OAuth token */
    {"ghu_", 4, 36, C_ALNUM},          /* GitHub user-to-server token */
    {"ghs_", 4, 36, C_ALNUM},          /* GitHub server-to-server token */
    {"ghr_", 4, 36, C_ALNUM},          /* GitHub refresh token */
    {"github_pat_", 11, 22, C_WORD},   /* GitHub fine-grained token */
    {"glpat-", 6, 20, C_B64URL},       /* GitLab personal access token */
    {"glptt-", 6, 20, C_B64URL},       /* GitLab pipeline trigger token */
    {"gldt-", 5, 20, C_B64URL},        /* GitLab deploy token */
    {"glrt-", 5, 20, C_B64URL},        /* GitLab runner token */
};
static const tokpat tok_x[] = {
    {"xoxb-", 5, 10, C_SLACK},         /* Slack bot token */
    {"xoxp-", 5, 10, C_SLACK},         /* Slack user token */
    {"xoxa-", 5, 10, C_SLACK},         /* Slack app token */
    {"xoxr-", 5, 10, C_SLACK},         /* Slack refresh token */
    {"xoxs-", 5, 10, C_SLACK},         /* Slack session token */
    {"xoxe-", 5, 10, C_SLACK},         /* Slack rotating token */
    {"xapp-", 5, 10, C_SLACK},         /* Slack app-level token */
};
static const tokpat tok_s[] = {
    {"sk_live_", 8, 16, C_ALNUM},      /* Stripe secret key */
    {"sk_test_", 8, 16, C_ALNUM},
    {"sk-", 3, 20, C_B64URL},          /* OpenAI sk-, sk-proj-; Anthropic sk-ant- */
};
static const tokpat tok_r[] = {
    {"rk_live_", 8, 16, C_ALNUM},      /* Stripe restricted key */
    {"rk_test_", 8, 16, C_ALNUM},
};
static const tokpat tok_p[] = {
    {"pk_live_", 8, 16, C_ALNUM},      /* Stripe publishable key */
    {"pk_test_", 8, 16, C_ALNUM},
};
static const tokpat tok_w[] = {
    {"whsec_", 6, 24, C_ALNUM},        /* Stripe webhook signing secret */
};
static const tokpat tok_n[] = {
    {"npm_", 4, 36, C_ALNUM},          /* npm access token */
};
static const tokpat tok_a[] = {
    {"AIza", 4, 35, C_B64URL},         /* Google API key */
};

#define GROUP(g) (*n = sizeof g / sizeof *g, g)
/* The prefixes starting with ch, *n of them (none: NULL). */
static const tokpat *tok_group(unsigned char ch, size_t *n)
{
    switch (ch) {
    case 'g': return GROUP(tok_g);
    case 'x': return GROUP(tok_x);
    case 's': return GROUP(tok_s);
    case 'r': return GROUP(tok_r);
    case 'p': return GROUP(tok_p);
    case 'w': return GROUP(tok_w);
    case 'n': return GROUP(tok_n);
    case 'A': return GROUP(tok_a);
    default: *n = 0; return NULL;
    }
}
#undef GROUP

static int m_tokens(scan *c, size_t i, span *m)
{
    size_t n;
    const tokpat *g = tok_group(c->s[i], &n);
    if (!n || alnum_before(c, i)) return 0;
    for (size_t t = 0; t < n; t++) {
        const tokpat *p = &g[t];
        if (!lit(c, i, p->pfx, p->len)) continue;
        size_t k = i + p->len, e = run(c, k, p->cls);
        if (e - k >= p->min) {
            m->a = i;
            m->b = e;
            return 1;
        }
    }
    return 0;
}

/* AWS access key id: AKIA or ASIA and exactly 16 [A-Z0-9], then no letter
** or digit.  At most 21 bytes examined. */
static int m_aws(scan *c, size_t i, span *m)
{
    if (alnum_before(c, i) || !(lit(c, i, "AKIA", 4) || lit(c, i, "ASIA", 4))) return 0;
    size_t k = i + 4;
    while (k < c->n && k - (i + 4) < 16 && (cmask(c->s[k]) & C_UPDIG)) k++;
    c->work += k - i + 1;
    if (k - (i + 4) != 16 || (k < c->n && (cmask(c->s[k]) & C_ALNUM))) return 0;
    m->a = i;
    m->b = k;
    return 1;
}

/*
** JWT (and JWE): "eyJ" header of >= 10 bytes, '.', payload of >= 2 bytes,
** '.', signature (may be empty), and up to two more ".segment"s; all
** base64url.  A failed attempt may have read a whole header run, but an
** attempt starts only where a base64url run starts, so each run is read as
** a header by one attempt, and as a payload by at most one more.
*/
static int m_jwt(scan *c, size_t i, span *m)
{
    const unsigned char *s = c->s;
    size_t n = c->n;
    if ((i > 0 && (cmask(s[i - 1]) & C_B64URL)) || !lit(c, i, "eyJ", 3)) return 0;
    size_t e1 = run(c, i, C_B64URL);
    if (e1 - i < 10 || e1 >= n || s[e1] != '.') return 0;
    size_t e2 = run(c, e1 + 1, C_B64URL);
    if (e2 - (e1 + 1) < 2 || e2 >= n || s[e2] != '.') return 0;
    size_t e = run(c, e2 + 1, C_B64URL);
    for (int extra = 0; extra < 2 && e + 1 < n && s[e] == '.' && (cmask(s[e + 1]) & C_B64URL);
         extra++)
        e = run(c, e + 1, C_B64URL);
    m->a = i;
    m->b = e;
    return 1;
}

/* A boundary line label: up to 64 [A-Z0-9 ], returns its end. */
static size_t pem_label(scan *c, size_t j)
{
    size_t k = j;
    while (k < c->n && k - j < 64 && (cmask(c->s[k]) & C_PEMLBL)) k++;
    c->work += k - j + 1;
    return k;
}

static int has_private_key(const unsigned char *s, size_t len)
{
    static const char w[] = "PRIVATE KEY";
    for (size_t i = 0; i + sizeof w - 1 <= len; i++)
        if (memcmp(s + i, w, sizeof w - 1) == 0) return 1;
    return 0;
}

/*
** PEM private key: "-----BEGIN <label with PRIVATE KEY>-----", the body, and
** "-----END <label>-----"; the whole block goes.  The body is everything up
** to the next "-----" or '"' (a quote ends a key truncated inside quoted
** text), so a header without an END line takes its body with it.  The
** header is bounded (64-byte label); the body is consumed.
*/
static int m_pem(scan *c, size_t i, span *m)
{
    const unsigned char *s = c->s;
    size_t n = c->n;
    if (!lit(c, i, "-----BEGIN ", 11)) return 0;
    size_t l = pem_label(c, i + 11);
    if (!has_private_key(s + i + 11, l - (i + 11)) || !lit(c, l, "-----", 5)) return 0;
    size_t body = l + 5, k = body;
    while (k < n && s[k] != '"' &&
           !(s[k] == '-' && n - k >= 5 && memcmp(s + k, "-----", 5) == 0))
        k++;
    c->work += k - body + 1;
    size_t e = k;
    if (lit(c, k, "-----END ", 9)) {
        size_t t = pem_label(c, k + 9);
        if (lit(c, t, "-----", 5)) e = t + 5;
    } else if (k < n && s[k] == '"' && k > body && s[k - 1] == '\\') {
        e = k - 1; /* keep an escaped quote whole */
    }
    m->a = i;
    m->b = e;
    return 1;
}

/* Where the run of letters and digits that ends at b begins, looking back
** no further than a and than 7 bytes: a scheme word (6 bytes at most) is
** whole when the run is one. */
static size_t word_before(scan *c, size_t a, size_t b)
{
    size_t t = b;
    while (t > a && b - t < 7 && (cmask(c->s[t - 1]) & C_ALNUM)) t--;
    c->work += b - t + 1;
    return t;
}

/* "Bearer" at i, blanks and a token of >= 8 bytes: 1 with the token in m. */
static int bearer_at(scan *c, size_t i, span *m)
{
    if (alnum_before(c, i) || !lit_nocase(c, i, "bearer", 6)) return 0;
    size_t k = i + 6, sp = 0;
    while (k < c->n && sp < 4 && (c->s[k] == ' ' || c->s[k] == '\t')) k++, sp++;
    c->work += sp;
    if (!sp) return 0;
    size_t e = run(c, k, C_BEARER);
    if (e - k < 8) return 0;
    m->a = k;
    m->b = e;
    return 1;
}

/* "Bearer <token>": keeps "Bearer ", redacts a token of >= 8 bytes.  A
** token that ends in the word Bearer ("x=Bearer tok") goes with the token
** after it, which a match of its own would have taken; each round takes
** a token, so this stays linear. */
static int m_bearer(scan *c, size_t i, span *m)
{
    span more;
    if (!bearer_at(c, i, m)) return 0;
    for (;;) {
        size_t t = word_before(c, m->a, m->b);
        if (m->b - t != 6 || !bearer_at(c, t, &more)) return 1;
        m->b = more.b;
    }
}

/* Slack webhook: keeps "hooks.slack.com/services/", redacts the path. */
static int m_hook(scan *c, size_t i, span *m)
{
    if (alnum_before(c, i) || !lit(c, i, "hooks.slack.com/", 16)) return 0;
    size_t k = i + 16;
    if (lit(c, k, "services/", 9)) k += 9;
    else if (lit(c, k, "workflows/", 10)) k += 10;
    else if (lit(c, k, "triggers/", 9)) k += 9;
    else return 0;
    size_t e = run(c, k, C_HOOK);
    if (e - k < 10) return 0;
    m->a = k;
    m->b = e;
    return 1;
}

static int url_stop(unsigned char ch)
{
    return ch == '/' || ch == '?' || ch == '#' || ch == '<' || ch == '>' || ch == '\\' ||
           ch == '`' || is_space(ch) || is_quote(ch);
}

/*
** Credentials in a URL, tried at the ':' of "://": in the authority (up to
** the first '/', '?', '#', space or quote), the userinfo ends at the last
** '@', and the password runs from its first ':' to that '@'.  A failed
** attempt reads up to the authority's end, which is at or before the next
** "://" can start, so attempts read disjoint stretches.
*/
static int m_url(scan *c, size_t i, span *m)
{
    const unsigned char *s = c->s;
    size_t n = c->n;
    if (!(n - i > 2 && s[i + 1] == '/' && s[i + 2] == '/')) return 0;
    size_t k = i + 3, colon = SIZE_MAX, at = SIZE_MAX;
    for (; k < n && !url_stop(s[k]); k++) {
        if (s[k] == '@') at = k;
        else if (s[k] == ':' && colon == SIZE_MAX) colon = k;
    }
    c->work += k - i + 1;
    if (at == SIZE_MAX || colon == SIZE_MAX || colon > at || colon + 1 == at) return 0;
    m->a = colon + 1;
    m->b = at;
    return 1;
}

/* The key bytes looked at before a ':' or '='. */
#define KEY_LOOKBACK 64

static int eq_nocase(const unsigned char *s, size_t len, const char *w)
{
    if (strlen(w) != len) return 0;
    for (size_t k = 0; k < len; k++)
        if (lower(s[k]) != (unsigned char)w[k]) return 0;
    return 1;
}

static int key_is_secret(scan *c, size_t a, size_t b)
{
    const unsigned char *k = c->s + a;
    size_t len = b - a;
    if (eq_nocase(k, len, "pwd") || eq_nocase(k, len, "auth")) return 1;
    return trie_contains(active_words(), k, len, F_FREE | F_CONF, &c->work);
}

/* Delimiters of an unquoted value. */
static int value_stop(unsigned char ch)
{
    return is_space(ch) || ch == '&' || ch == ';' || ch == ',' || is_quote(ch);
}

/* The end of an unquoted value from k.  A private key met in it is taken
** whole, spaces and lines included, and the value goes on after it: the
** redaction must not stop at the space of its BEGIN line and leave the
** key's body, and what it leaves must read the same when scrubbed again. */
static size_t value_end(scan *c, size_t k)
{
    size_t j = k;
    span pem;
    while (j < c->n && !value_stop(c->s[j]))
        j = c->s[j] == '-' && m_pem(c, j, &pem) ? pem.b : j + 1;
    c->work += j - k + 1;
    return j;
}

/* An HTTP authorization scheme that precedes the credential. */
static int is_scheme(const unsigned char *s, size_t len)
{
    return eq_nocase(s, len, "bearer") || eq_nocase(s, len, "basic") ||
           eq_nocase(s, len, "token");
}

/*
** key=value and key: value in free text, tried at the '=' or ':'.  The key
** is the run of [A-Za-z0-9_.-] just before (past up to 4 blanks and one
** closing quote, maybe backslash-escaped), of which the last 64 bytes are
** looked at; the value runs to whitespace, '&', ';', ',' or a quote, or,
** when it opens with a quote, to the matching quote (or the line's end).
** "Authorization: Bearer x" keeps the scheme word.  The look back is
** bounded; the value is consumed.
*/
static int m_kv(scan *c, size_t i, span *m)
{
    const unsigned char *s = c->s;
    size_t n = c->n, j = i, sp = 0;
    while (j > 0 && sp < 4 && (s[j - 1] == ' ' || s[j - 1] == '\t')) j--, sp++;
    if (j > 0 && is_quote(s[j - 1])) {
        j--;
        if (j > 0 && s[j - 1] == '\\') j--;
    }
    size_t kend = j;
    while (j > 0 && kend - j < KEY_LOOKBACK && (cmask(s[j - 1]) & C_IDENT)) j--;
    c->work += i - j + 1;
    if (j == kend || !key_is_secret(c, j, kend)) return 0;

    size_t k = i + 1;
    sp = 0;
    while (k < n && sp < 4 && (s[k] == ' ' || s[k] == '\t')) k++, sp++;
    unsigned char q = 0;
    int escaped = 0;
    if (n - k > 1 && s[k] == '\\' && is_quote(s[k + 1])) {
        q = s[k + 1];
        k += 2;
        escaped = 1;
    } else if (k < n && is_quote(s[k])) {
        q = s[k++];
    }
    size_t v0 = k, v1;
    if (q) {
        span pem;
        while (k < n && s[k] != q && s[k] != '\n') {
            if (s[k] == '-' && m_pem(c, k, &pem)) { /* a key across lines: whole */
                k = pem.b;
                continue;
            }
            if (!escaped && s[k] == '\\' && k + 1 < n) k++;
            k++;
        }
        c->work += k - v0 + 1;
        v1 = k;
        if (escaped && v1 > v0 && s[v1 - 1] == '\\') v1--;
        /* "Bearer x" inside the quotes keeps "Bearer ". */
        size_t w = v0;
        while (w < v1 && w - v0 < 8 && (cmask(s[w]) & C_ALNUM)) w++;
        if (w < v1 && s[w] == ' ' && is_scheme(s + v0, w - v0)) {
            while (w < v1 && s[w] == ' ') w++;
            if (w < v1) v0 = w;
        }
    } else {
        v1 = value_end(c, k);
        if (v1 > v0 && s[v1 - 1] == '\\' && v1 < n && is_quote(s[v1])) v1--;
        /* The scheme word stays and the word after it goes; "Bearer
        ** Bearer x" (a token that already held its scheme) loses x.  A
        ** value that only ends in a scheme word ("x<Bearer tok") goes
        ** with the word after it.  Each round takes a word: linear. */
        for (;;) {
            size_t t = word_before(c, v0, v1);
            if (!(v1 < n && (s[v1] == ' ' || s[v1] == '\t') && is_scheme(s + t, v1 - t)))
                break;
            size_t w = v1, wsp = 0;
            while (w < n && wsp < 4 && (s[w] == ' ' || s[w] == '\t')) w++, wsp++;
            size_t e = value_end(c, w);
            if (e > w && s[e - 1] == '\\' && e < n && is_quote(s[e])) e--;
            if (e <= w) break;
            if (t == v0) v0 = w;
            v1 = e;
        }
    }
    if (v1 <= v0) return 0;
    m->a = v0;
    m->b = v1;
    return 1;
}

/* A configured literal prefix followed by >= 8 [A-Za-z0-9_-]. */
static int m_prefix(scan *c, size_t i, span *m)
{
    if (alnum_before(c, i)) return 0;
    for (size_t p = 0; p < cfg.nprefixes; p++) {
        if ((unsigned char)cfg.prefixes[p][0] != c->s[i] ||
            !lit(c, i, cfg.prefixes[p], cfg.plen[p]))
            continue;
        size_t k = i + cfg.plen[p], e = run(c, k, C_B64URL);
        if (e - k >= 8) {
            m->a = i;
            m->b = e;
            return 1;
        }
    }
    return 0;
}

static int try_at(scan *c, size_t i, span *m)
{
    unsigned char ch = c->s[i];
    switch (ch) {
    case '-':
        if (m_pem(c, i, m)) return 1;
        break;
    case ':':
        if (m_url(c, i, m) || m_kv(c, i, m)) return 1;
        break;
    case '=':
        if (m_kv(c, i, m)) return 1;
        break;
    case 'A':
        if (m_aws(c, i, m) || m_tokens(c, i, m)) return 1;
        break;
    case 'e':
        if (m_jwt(c, i, m)) return 1;
        break;
    case 'B': case 'b':
        if (m_bearer(c, i, m)) return 1;
        break;
    case 'h':
        if (m_hook(c, i, m)) return 1;
        break;
    case 'g': case 'x': case 's': case 'r': case 'p': case 'w': case 'n':
        if (m_tokens(c, i, m)) return 1;
        break;
    default:
        break;
    }
    return cfg.first[ch] && m_prefix(c, i, m);
}

/* ---- output --------------------------------------------------------------- */

/* A match that takes a private key's BEGIN line (or its start) takes the
** whole block: "private_key: -----BEGIN RSA PRIVATE KEY-----" is met by the
** key=value rule first, whose value ends at the space, and the key's body
** on the lines after would be left.  Each block found here is one m_pem()
** would take; its body holds no other BEGIN line, so the look goes on
** from the next byte.  Linear: spans do not overlap. */
static void take_whole_pems(scan *c, span *m)
{
    static const char begin[] = "-----BEGIN ";
    const size_t bl = sizeof begin - 1;
    size_t p = m->a;
    while (p < m->b) {
        size_t lim = m->b + bl < c->n ? m->b + bl : c->n;
        const unsigned char *h = memmem(c->s + p, lim - p, begin, bl);
        c->work += (h ? (size_t)(h - c->s) : lim) - p + 1;
        if (!h || (size_t)(h - c->s) >= m->b) return;
        p = (size_t)(h - c->s);
        span pem;
        if (m_pem(c, p, &pem) && pem.b > m->b) m->b = pem.b;
        p++;
    }
}

int patterns_scan(const char *in, size_t n, char **out, size_t *outlen)
{
    scan c = {(const unsigned char *)in, n, 0};
    jbuf b = {0};
    size_t i = 0, last = 0;
    int found = 0, deferred = 0;
    span pend = {0, 0};
    *out = NULL;
    if (outlen) *outlen = 0;
    while (i < n || deferred) {
        span m;
        if (deferred && i >= pend.a) {
            m = pend;
            deferred = 0;
        } else {
            c.work++;
            if (!try_at(&c, i, &m)) {
                i++;
                continue;
            }
            if (m.b - m.a == sizeof SCRUB_REDACTED - 1 &&
                memcmp(in + m.a, SCRUB_REDACTED, m.b - m.a) == 0) {
                /* already redacted: scrubbing twice changes nothing (what
                ** lies before it is still looked at) */
                i = m.a > i ? i + 1 : m.b;
                continue;
            }
            if (deferred && m.a >= pend.a) { /* from within the one waiting: joined */
                if (m.b > pend.b) pend.b = m.b;
                i++;
                continue;
            }
            /* A match found at i that begins further on (a URL's password
            ** after its user, a key's value, a Bearer token) waits while the
            ** bytes before it are looked at: "https://ghp_x:pw@host" holds a
            ** token as the user.  One that meets it takes it in. */
            if (!deferred && m.a > i) {
                pend = m;
                deferred = 1;
                i++;
                continue;
            }
        }
        take_whole_pems(&c, &m);
        if (deferred && m.b > pend.a) {
            m.b = m.b > pend.b ? m.b : pend.b;
            deferred = 0;
        }
        if (!found) {
            found = 1;
            jbuf_reserve(&b, n < SIZE_MAX - 64 ? n + 64 : n); /* a failure shows at the end */
        }
        jbuf_put(&b, in + last, m.a - last);
        jbuf_put(&b, SCRUB_REDACTED, sizeof SCRUB_REDACTED - 1);
        last = m.b;
        i = m.b > i ? m.b : i + 1;
    }
    atomic_fetch_add_explicit(&total_work, c.work, memory_order_relaxed);
    if (!found) return 0;
    jbuf_put(&b, in + last, n - last);
    size_t len = b.len;
    if (!(*out = jbuf_take(&b))) return -1;
    if (outlen) *outlen = len;
    return 1;
}
