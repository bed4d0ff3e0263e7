/*
** fuzz_hook.c: a libFuzzer target for what agent clients write on the
** hook's stdin (src/hook/hook.c), as far as the entry it becomes.
**
** The first byte chooses the client (--client: auto, claude-code, cursor,
** gemini, copilot, vscode), the second the options (what of results is
** kept, whether prompts are, --actor, a small nesting limit); the rest is
** the event.  hook_map() checks, parses, recognizes and maps it without a
** database; then the target does to the event what the recorder does
** before it stores it (record.c's append: scrub_tree() and jbuf_print() of
** each tree, record_text() of each text field) and checks what would be
** stored:
**   - a refused event has a reason, in valid UTF-8 (it is shown to the
**     agent, inside JSON for Cursor and Copilot CLI);
**   - an entry has an event type and an operation name, and every text
**     field is valid UTF-8;
**   - the client column and the JSON trees print as JSON that jsoncheck
**     accepts;
**   - scrubbing is done: scrubbing the stored trees again (parsed back) and
**     the stored texts again changes nothing, so no secret the patterns
**     know is left (scrub.h: scrubbing scrubbed text changes nothing),
**     and a search of its own finds no AWS key id nor GitHub token.
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=8192
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hook/hook.h"
#include "record/record.h"
#include "scrub/scrub.h"
#include "util/jbuf.h"
#include "util/jsoncheck.h"
#include "fuzz_util.h"

static void die(const char *what, const char *detail)
{
    fz_die("fuzz_hook", what, detail);
}

static void utf8_text(const char *what, const char *s)
{
    size_t at;
    if (s && jsoncheck_utf8(s, strlen(s), &at)) die(what, "is not valid UTF-8");
}

static int alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A secret of two patterns scrub.h describes, found apart from the
** scrubber: an AWS access key id (AKIA or ASIA and exactly 16 [A-Z0-9],
** boundaries both sides) and a GitHub token (ghp_, gho_, ghu_, ghs_ or
** ghr_ and at least 36 [A-Za-z0-9], a boundary before).  In printed JSON a
** string's text is as it is but for escapes, which only hide a secret
** (their letters are no boundary), never make one. */
static void no_secret(const char *what, const char *t)
{
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && alnum((unsigned char)t[i - 1])) continue;
        if (n - i >= 20 && (!strncmp(t + i, "AKIA", 4) || !strncmp(t + i, "ASIA", 4))) {
            size_t k = 4;
            while (k < 20 && ((t[i + k] >= 'A' && t[i + k] <= 'Z') || (t[i + k] >= '0' && t[i + k] <= '9')))
                k++;
            if (k == 20 && !alnum((unsigned char)t[i + 20])) die(what, "holds an AWS key id");
        }
        if (n - i >= 40 && t[i] == 'g' && t[i + 1] == 'h' && strchr("pousr", t[i + 2]) &&
            t[i + 3] == '_') {
            size_t k = 4;
            while (k < 40 && alnum((unsigned char)t[i + k])) k++;
            if (k == 40) die(what, "holds a GitHub token");
        }
    }
}

/* What the recorder stores of a tree: scrubbed, printed.  Checked to be
** JSON, and to be left unchanged by a second scrub. */
static void stored_tree(const char *what, cJSON *tree)
{
    if (!tree) return;
    if (scrub_tree(tree) != 0) die(what, "scrub_tree failed");
    char *text = jbuf_print(tree);
    if (!text) die(what, "jbuf_print failed");
    char err[160];
    if (jsoncheck(text, strlen(text), 1000, err, sizeof err) != JSONCHECK_OK) die(what, err);
    no_secret(what, text);
    cJSON *again = cJSON_Parse(text);
    if (!again || scrub_tree(again) != 0) die(what, "does not parse back");
    char *text2 = jbuf_print(again);
    if (!text2 || strcmp(text, text2) != 0) {
        fprintf(stderr, "fuzz_hook: stored:   %.400s\nfuzz_hook: rescrubbed: %.400s\n", text,
                text2 ? text2 : "(null)");
        die(what, "a second scrub changes it: a secret was left");
    }
    free(text2);
    cJSON_Delete(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    hook_options o = {
        .client = (hook_client)(data[0] % 6),
        .results = (record_results)((data[1] & 3) == 3 ? 0 : data[1] & 3),
        .record_prompts = (data[1] >> 2) & 1,
        .actor = (data[1] >> 3) & 1 ? "fuzz-actor" : NULL,
        .fallback_user = "fallback",
        .max_depth = (data[1] >> 4) & 1 ? 8 : 0,
    };
    const char *text = (const char *)data + 2;
    size_t n = size - 2;
    char why[1024] = "";
    hook_mapped *m = hook_map(&o, text, n, why, sizeof why);
    if (!m) {
        if (!why[0]) die("an event refused without a reason", NULL);
        utf8_text("the reason an event was refused", why);
        return 0;
    }
    record_event *ev = hook_mapped_event(m);
    if (!ev->event_type || !ev->operation_name) die("an entry without type or name", why);
    const char *const texts[][2] = {
        {"operation_name", ev->operation_name}, {"operation_id", ev->operation_id},
        {"user_id", ev->user_id}, {"session_id", ev->session_id}, {"cwd", ev->cwd},
        {"error", ev->error}, {"client", ev->client},
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) utf8_text(texts[i][0], texts[i][1]);
    if (ev->client) {
        char err[160];
        if (jsoncheck(ev->client, strlen(ev->client), 8, err, sizeof err) != JSONCHECK_OK)
            die("the client column is not JSON", err);
    }
    if (ev->completes) die("linked to a pre event without a store", ev->completes);
    stored_tree("args", ev->args);
    stored_tree("result", ev->result);
    /* Each text as append() stores it (record_text). */
    const char *const plain[][2] = {
        {"event_type", ev->event_type}, {"operation_name", ev->operation_name},
        {"operation_id", ev->operation_id}, {"user_id", ev->user_id},
        {"project_id", ev->project_id}, {"session_id", ev->session_id}, {"cwd", ev->cwd},
        {"error", ev->error},
    };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        const char *stored;
        char *own = NULL, *again = NULL;
        if (record_text(plain[i][1], &stored, &own) != 0) die(plain[i][0], "record_text failed");
        if (!stored) continue;
        utf8_text(plain[i][0], stored);
        no_secret(plain[i][0], stored);
        if (scrub_text(stored, strlen(stored), &again, NULL) != 0)
            die(plain[i][0], "a second scrub changes it: a secret was left");
        free(own);
    }
    hook_mapped_free(m);
    return 0;
}
