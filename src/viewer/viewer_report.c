/*
** viewer_report.c: the evidence report (see viewer_report.h).
**
** The file is index.html with two of its lines replaced: the style sheet
** link by a Content-Security-Policy meta element and the inlined style,
** and the script element by the embedded data and the inlined script.
** The data is two JSON texts in <script type="application/json"> elements,
** which browsers never run: the entries, streamed as they are read, then
** the summary (totals, days, verification, checkpoints), which is known
** only once every entry has been seen.  Every '<' in them is escaped, so
** nothing in the trail can close the element.
**
** Proofs that travel (docs/transparency.md): each entry is embedded as its
** log stores it (the archive's form: every field's stored text and both
** hashes), with its Merkle audit path in the tree of its log's newest
** signed checkpoint; the summary holds that checkpoint's signed note and
** the log's verifier key, and the order in which the chain hashes the
** fields (from entry.h).  The page recomputes each entry's hash from the
** fields it shows, folds the path to the note's root and checks the note's
** Ed25519 signature, with WebCrypto and nothing else: an entry edited in
** the file no longer verifies.  An entry newer than the newest signed
** checkpoint has no proof yet ('checkpoint' before 'report' covers all).
*/
#include "viewer_report.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli.h"
#include "../integrity/prove.h"
#include "../integrity/checkpoint.h"
#include "../integrity/verify.h"
#include "../tlog/c2sp.h"
#include "../util/jbuf.h"
#include "../util/ts.h"
#include "viewer_web.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

static const char css_marker[] = "<link rel=\"stylesheet\" href=\"app.css\">";
static const char js_marker[] = "<script src=\"app.js\"></script>";

int viewer_report_put_json(FILE *f, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '<' ? "\\u003c" : s[i] == '>' ? "\\u003e"
                          : s[i] == '&' ? "\\u0026" : NULL;
        if (!esc) continue;
        if (fwrite(s + from, 1, i - from, f) != i - from || fputs(esc, f) == EOF) return -1;
        from = i + 1;
    }
    return fwrite(s + from, 1, n - from, f) == n - from ? 0 : -1;
}

/* "'sha256-<base64>'" of text, for the policy. */
static void csp_hash(const char *text, size_t len, char out[64])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                        sodium_base64_VARIANT_ORIGINAL)];
    crypto_hash_sha256(h, (const unsigned char *)text, len);
    sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, 64, "'sha256-%s'", b64);
}

/* What proves the entries of one log: the tree size of its newest signed
** checkpoint (0: none), that note with its cosignatures, its vkey. */
typedef struct proving {
    char log_id[37];
    int64_t size;
    cJSON *info; /* {checkpoint, vkey, size} for the summary, or NULL */
} proving;

#define MAX_PROVED_LOGS 256

typedef struct writer {
    FILE *f;
    store *st;
    const char *trusted_public_key;
    proving logs[MAX_PROVED_LOGS];
    size_t nlogs;
    int64_t proved; /* entries embedded with a proof */
    int failed;         /* a write or an allocation failed */
    int64_t count, errors, newest_seq;
    cJSON *by_type;     /* event_type -> count */
    cJSON *by_user;     /* user_id -> [entries, errors] */
    cJSON *days;        /* day -> {event_type -> count} */
    int64_t first, span;
    int64_t expected;   /* entries the progress bar expects (see below) */
    const char *event_type;
    cli_progress progress;
} writer;

/* store_activity_fn: add up the counters of the period's days. */
static int add_expected(void *ctx, const char *day, const char *type, int64_t n,
                        int64_t errors)
{
    writer *w = ctx;
    if (!w->event_type || strcmp(type, w->event_type) == 0) w->expected += n;
    return 0;
}

/* How many entries the report will hold, for its progress bar, from the
** per-day counters: exact for the user, event type and whole-day filters,
** an upper bound otherwise.  Without a period, the log's seq span. */
static void expect_entries(store *st, const store_query *q, writer *w)
{
    char err[STORE_ERRLEN];
    w->expected = w->span;
    if (!q || !q->since || !q->until) return;
    char since[11], until[11];
    snprintf(since, sizeof since, "%.10s", q->since);
    snprintf(until, sizeof until, "%.10s", q->until);
    w->expected = 0;
    w->event_type = q->event_type;
    if (store_activity_days(st, q->user_id, since, until, add_expected, w, err) != STORE_OK)
        w->expected = w->span;
}

/* Add 1 to o[k] (a number), creating it at 0. */
static int bump(cJSON *o, const char *k, int64_t by)
{
    cJSON *n = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!n) return cJSON_AddNumberToObject(o, k, (double)by) ? 0 : -1;
    cJSON_SetNumberValue(n, n->valuedouble + (double)by);
    return 0;
}

static const char *member(const cJSON *e, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int count_entry(writer *w, const cJSON *e)
{
    const char *type = member(e, "event_type"), *user = member(e, "user_id");
    const char *at = member(e, "created_at");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(e, "error");
    int is_error = error && !cJSON_IsNull(error);
    char day[11];
    snprintf(day, sizeof day, "%.10s", at ? at : "");
    if (!type) type = "";
    cJSON *d = cJSON_GetObjectItemCaseSensitive(w->days, day);
    if (!d && !(d = cJSON_AddObjectToObject(w->days, day))) return -1;
    cJSON *u = cJSON_GetObjectItemCaseSensitive(w->by_user, user ? user : "");
    if (!u) {
        if (!(u = cJSON_AddArrayToObject(w->by_user, user ? user : "")) ||
            !cJSON_AddItemToArray(u, cJSON_CreateNumber(0)) ||
            !cJSON_AddItemToArray(u, cJSON_CreateNumber(0)))
            return -1;
    }
    cJSON_SetNumberValue(u->child, u->child->valuedouble + 1);
    cJSON_SetNumberValue(u->child->next, u->child->next->valuedouble + is_error);
    w->errors += is_error;
    return bump(w->by_type, type, 1) || bump(d, type, 1) ? -1 : 0;
}

/* The proving state of log_id: its newest signed checkpoint, read once. */
static proving *proving_of(writer *w, const char *log_id)
{
    for (size_t i = 0; i < w->nlogs; i++)
        if (strcmp(w->logs[i].log_id, log_id) == 0) return &w->logs[i];
    if (w->nlogs == MAX_PROVED_LOGS) return NULL;
    proving *p = &w->logs[w->nlogs++];
    memset(p, 0, sizeof *p);
    snprintf(p->log_id, sizeof p->log_id, "%s", log_id);
    store_checkpoint cp;
    char err[STORE_ERRLEN], vkey[NOTE_VKEY_MAX], why[256];
    if (checkpoint_last_noted(w->st, &cp, err) != STORE_OK) return p;
    char *cosigned = checkpoint_cosigned_note(w->st, &cp, err), origin[STORE_ORIGIN_MAX + 1];
    checkpoint_note_origin(cp.note, origin);
    /* The key the reader trusts, else the one the checkpoint names. */
    const char *pk = w->trusted_public_key ? w->trusted_public_key : cp.public_key;
    if (cosigned && checkpoint_vkey(origin, pk, vkey, why, sizeof why) == 0 &&
        (p->info = cJSON_CreateObject())) {
        cJSON_AddStringToObject(p->info, "checkpoint", cosigned);
        cJSON_AddStringToObject(p->info, "vkey", vkey);
        cJSON_AddNumberToObject(p->info, "size", (double)cp.seq);
        p->size = cp.seq;
    }
    free(cosigned);
    return p;
}

/* The entry e as embedded: as its log stores it, its log named, and its
** audit path when a signed checkpoint holds it.  A new object, or NULL. */
static cJSON *embedded(writer *w, const cJSON *e)
{
    const char *log_id = member(e, "log_id"), *log = member(e, "log");
    const cJSON *seqv = cJSON_GetObjectItemCaseSensitive(e, "seq");
    char err[STORE_ERRLEN];
    if (!log_id || !cJSON_IsNumber(seqv)) return NULL;
    int64_t seq = (int64_t)seqv->valuedouble;
    cJSON *out = NULL;
    if (store_use_log(w->st, log_id, err) != STORE_OK ||
        prove_stored_entry(w->st, seq, &out, err) != STORE_OK)
        return NULL;
    cJSON_AddStringToObject(out, "log_id", log_id);
    cJSON_AddStringToObject(out, "log", log ? log : "");
    proving *p = proving_of(w, log_id);
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t len = 0;
    if (p && p->size >= seq &&
        store_tree_prove(w->st, seq - 1, p->size, path, &len, err) == STORE_OK) {
        cJSON *proof = cJSON_AddObjectToObject(out, "proof");
        cJSON *arr = cJSON_AddArrayToObject(proof, "path");
        cJSON_AddNumberToObject(proof, "index", (double)(seq - 1));
        for (size_t i = 0; i < len; i++) {
            char b64[C2SP_B64_LEN(MERKLE_HASH) + 1];
            c2sp_b64_encode(path[i], MERKLE_HASH, b64);
            cJSON_AddItemToArray(arr, cJSON_CreateString(b64));
        }
        w->proved++;
    }
    return out;
}

/* store_match_fn: one entry into the file and the totals. */
static int write_entry(void *ctx, const cJSON *e)
{
    writer *w = ctx;
    jbuf b = {0};
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    if (w->count == 0 && cJSON_IsNumber(seq)) w->newest_seq = (int64_t)seq->valuedouble;
    cJSON *x = embedded(w, e);
    if (!x) w->failed = 1;
    else jbuf_tree(&b, x);
    cJSON_Delete(x);
    if (b.failed || count_entry(w, e) != 0 ||
        (w->count && fputs(",\n", w->f) == EOF) ||
        viewer_report_put_json(w->f, b.p, b.len) != 0)
        w->failed = 1;
    jbuf_free(&b);
    w->count++;
    cli_progress_update(&w->progress, w->count, w->expected > w->count ? w->expected : w->count);
    return w->failed;
}

typedef struct cover {
    int64_t seq;                  /* the newest reported entry */
    store_checkpoint covering;    /* the first checkpoint at or after it */
    store_checkpoint newest;
    int have_covering, have_newest;
} cover;

static int find_cover(void *ctx, const store_checkpoint *cp)
{
    cover *c = ctx;
    if (strcmp(cp->kind, "checkpoint") != 0) return 0;
    if (!c->have_covering && cp->seq >= c->seq) {
        c->covering = *cp;
        c->have_covering = 1;
    }
    c->newest = *cp;
    c->have_newest = 1;
    return 0;
}

static void on_verify_progress(void *ctx, int64_t done)
{
    writer *w = ctx;
    cli_progress_update(&w->progress, done, w->span);
}

/* The summary object: period, filters, totals, days, verification,
** checkpoints and key.  Takes report (the verification).  Caller frees. */
static cJSON *summary(writer *w, const viewer_report_options *opt, store *st,
                      cJSON *report, const cover *cv)
{
    const store_query *q = opt->filter;
    char now[TS_BUFLEN];
    ts_format(ts_now_us(), now);
    cJSON *s = cJSON_CreateObject(), *filters, *totals, *users, *days, *cps;
    if (!s) {
        cJSON_Delete(report);
        return NULL;
    }
    cJSON_AddItemToObject(s, "verification", report);
    cJSON_AddStringToObject(s, "generated_at", now);
    cJSON_AddStringToObject(s, "version", DSS_VERSION);
    cJSON_AddStringToObject(s, "log_id", store_log_id(st));
    filters = cJSON_AddObjectToObject(s, "filters");
    if (q && q->since) cJSON_AddStringToObject(filters, "since", q->since);
    if (q && q->until) cJSON_AddStringToObject(filters, "until", q->until);
    if (q && q->user_id) cJSON_AddStringToObject(filters, "user", q->user_id);
    if (q && q->project_id) cJSON_AddStringToObject(filters, "project", q->project_id);
    if (q && q->event_type) cJSON_AddStringToObject(filters, "event_type", q->event_type);
    if (q && q->operation_name) cJSON_AddStringToObject(filters, "operation", q->operation_name);
    if (q && q->server) cJSON_AddStringToObject(filters, "server", q->server);
    if (q && q->session_id) cJSON_AddStringToObject(filters, "session", q->session_id);
    totals = cJSON_AddObjectToObject(s, "totals");
    cJSON_AddNumberToObject(totals, "entries", (double)w->count);
    cJSON_AddNumberToObject(totals, "errors", (double)w->errors);
    cJSON_AddItemReferenceToObject(totals, "by_type", w->by_type);
    users = cJSON_AddArrayToObject(s, "users");
    for (const cJSON *u = w->by_user ? w->by_user->child : NULL; u; u = u->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(users, o);
        cJSON_AddStringToObject(o, "user_id", u->string);
        cJSON_AddNumberToObject(o, "entries", u->child->valuedouble);
        cJSON_AddNumberToObject(o, "errors", u->child->next->valuedouble);
    }
    days = cJSON_AddArrayToObject(s, "days");
    for (const cJSON *d = w->days ? w->days->child : NULL; d; d = d->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(days, o);
        cJSON_AddStringToObject(o, "day", d->string);
        cJSON_AddItemReferenceToObject(o, "by_type", (cJSON *)d);
    }
    cps = cJSON_AddArrayToObject(s, "checkpoints");
    if (cv->have_covering) {
        cJSON *j = checkpoint_to_json(&cv->covering);
        cJSON_AddNumberToObject(j, "number", (double)cv->covering.number);
        cJSON_AddStringToObject(j, "role", "covering");
        cJSON_AddItemToArray(cps, j);
    }
    if (cv->have_newest && (!cv->have_covering || cv->newest.number != cv->covering.number)) {
        cJSON *j = checkpoint_to_json(&cv->newest);
        cJSON_AddNumberToObject(j, "number", (double)cv->newest.number);
        cJSON_AddStringToObject(j, "role", "newest");
        cJSON_AddItemToArray(cps, j);
    }
    const char *pk = opt->trusted_public_key ? opt->trusted_public_key
                     : cv->have_covering ? cv->covering.public_key
                     : cv->have_newest ? cv->newest.public_key : NULL;
    if (pk) cJSON_AddStringToObject(s, "public_key", pk);
    else cJSON_AddNullToObject(s, "public_key");
    cJSON_AddBoolToObject(s, "public_key_trusted", opt->trusted_public_key != NULL);
    /* What the page checks the entries' proofs with. */
    cJSON *t = cJSON_AddObjectToObject(s, "transparency");
    cJSON *logs = cJSON_AddObjectToObject(t, "logs");
    for (size_t i = 0; i < w->nlogs; i++) {
        if (!w->logs[i].info) continue;
        cJSON_AddItemToObject(logs, w->logs[i].log_id, w->logs[i].info);
        w->logs[i].info = NULL;
    }
    cJSON_AddNumberToObject(t, "proved", (double)w->proved);
    cJSON *fields = cJSON_AddArrayToObject(t, "hash_fields");
    for (int h = 2; h < ENTRY_NFIELDS + 2; h++) {
        for (int c = 0; c < ENTRY_NFIELDS; c++) {
            if (entry_fields[c].hash_at != h) continue;
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "name", entry_fields[c].name);
            cJSON_AddNumberToObject(f, "since", entry_fields[c].since);
            cJSON_AddItemToArray(fields, f);
        }
    }
    return s;
}

/* The parts of index.html around the two markers. */
typedef struct page_parts {
    const viewer_web_file *html, *css, *js;
    size_t css_at, js_at; /* offsets of the markers in html */
} page_parts;

static int find_parts(page_parts *p, char *err, size_t errlen)
{
    p->html = viewer_web_find("index.html");
    p->css = viewer_web_find("app.css");
    p->js = viewer_web_find("app.js");
    const char *c = p->html ? strstr(p->html->text, css_marker) : NULL;
    const char *j = c ? strstr(c, js_marker) : NULL;
    if (!p->css || !p->js || !j || strstr(p->js->text, "</script") ||
        strstr(p->css->text, "</style")) {
        snprintf(err, errlen, "the embedded front end cannot be inlined (a build error)");
        return -1;
    }
    p->css_at = (size_t)(c - p->html->text);
    p->js_at = (size_t)(j - p->html->text);
    return 0;
}

static int put(FILE *f, const char *s, size_t n)
{
    return fwrite(s, 1, n, f) == n ? 0 : -1;
}

static int write_head(FILE *f, const page_parts *p)
{
    char hs[64], hc[64];
    csp_hash(p->js->text, p->js->len, hs);
    csp_hash(p->css->text, p->css->len, hc);
    const char *html = p->html->text;
    size_t after_css = p->css_at + sizeof css_marker - 1;
    return put(f, html, p->css_at) ||
           fprintf(f, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                      "'none'; script-src %s; style-src %s; img-src data:; base-uri 'none'; "
                      "form-action 'none'\">\n<style>", hs, hc) < 0 ||
           put(f, p->css->text, p->css->len) || fputs("</style>", f) == EOF ||
           put(f, html + after_css, p->js_at - after_css) ||
           fputs("<script type=\"application/json\" id=\"dss-report-entries\">[\n", f) == EOF
               ? -1 : 0;
}

static int write_tail(FILE *f, const page_parts *p, const cJSON *sum)
{
    char *text = cJSON_PrintUnformatted(sum);
    size_t after_js = p->js_at + sizeof js_marker - 1;
    int rc = !text ||
             fputs("\n]</script>\n<script type=\"application/json\" id=\"dss-report\">", f) == EOF ||
             viewer_report_put_json(f, text, strlen(text)) || fputs("</script>\n<script>", f) == EOF ||
             put(f, p->js->text, p->js->len) || fputs("</script>", f) == EOF ||
             put(f, p->html->text + after_js, p->html->len - after_js)
                 ? -1 : 0;
    cJSON_free(text);
    return rc;
}

int viewer_report_write(store *st, const viewer_report_options *opt, char *err,
                        size_t errlen)
{
    page_parts parts;
    writer w = {0};
    cover cv = {0};
    cJSON *sum = NULL;
    char serr[STORE_ERRLEN + 64];
    int64_t last = 0;
    int ok = 0;
    if (find_parts(&parts, err, errlen) != 0) return -1;
    fs_newfile nf;
    if (cli_output_open(&nf, opt->output, "report", err, errlen) != CLI_OK) return -2;
    w.f = nf.f;
    w.st = st;
    w.trusted_public_key = opt->trusted_public_key;
    if (!(w.by_type = cJSON_CreateObject()) || !(w.by_user = cJSON_CreateObject()) ||
        !(w.days = cJSON_CreateObject())) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (store_set_cache_size(st, 2048, serr) != STORE_OK ||
        store_seq_range(st, &w.first, &last, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    w.span = last > 0 ? last - w.first + 1 : 0;
    expect_entries(st, opt->filter, &w);
    if (write_head(w.f, &parts) != 0) {
        w.failed = 1;
        goto written;
    }
    store_scan scan = {.filter = opt->filter, .newest_first = 1};
    FILE *bar = opt->progress ? opt->progress : stderr;
    cli_progress_start(&w.progress, bar, "report: entries");
    int rc = store_each_match(st, &scan, write_entry, &w, serr);
    cli_progress_end(&w.progress);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    if (w.failed) goto written;
    cli_progress_start(&w.progress, bar, "report: verifying");
    verify_options vo = {.trusted_public_key = opt->trusted_public_key,
                         .progress = on_verify_progress, .progress_ctx = &w};
    cJSON *report = verify_store(st, &vo, serr, sizeof serr);
    cli_progress_end(&w.progress);
    if (!report) {
        snprintf(err, errlen, "cannot verify the log: %s", serr);
        goto done;
    }
    cv.seq = w.newest_seq;
    if (store_each_checkpoint(st, find_cover, &cv, serr) != STORE_OK) {
        cJSON_Delete(report);
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    if (!(sum = summary(&w, opt, st, report, &cv)) || write_tail(w.f, &parts, sum) != 0)
        w.failed = 1;
written:
    if (w.failed) snprintf(err, errlen, "cannot write %s (disk full, or out of memory)",
                           opt->output);
    ok = !w.failed && fflush(w.f) == 0 && !ferror(w.f);
    if (!ok && !w.failed)
        snprintf(err, errlen, "cannot write %s (disk full?)", opt->output);
    if (ok && cli_output_publish(&nf, "report", err, errlen) != CLI_OK) ok = 0;
done:
    fs_newfile_discard(&nf); /* unless published: then it is empty */
    store_use_log(st, NULL, serr);
    for (size_t i = 0; i < w.nlogs; i++) cJSON_Delete(w.logs[i].info);
    cJSON_Delete(sum);
    cJSON_Delete(w.by_type);
    cJSON_Delete(w.by_user);
    cJSON_Delete(w.days);
    return ok ? 0 : -1;
}
