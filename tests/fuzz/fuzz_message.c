/*
** fuzz_message.c: a libFuzzer target for the whole message path.
**
** Each input is what a client might write on the server's stdin.  It goes
** through the same steps as in src/server.c: the bounded line reader
** (frame.h, reading a memfd holding the input), then mcp_handle() for every
** line (rpc_parse, dispatch, argument validation, scrubbing, the tools and
** the store), with an in-memory SQLite store and a fixed signing key that
** are created once.  Where the server would commit, the target rolls back,
** so every input starts from the same empty log and memory stays flat.
**
** Besides the sanitizers, the target checks what the server promises about
** its output and aborts when a promise is broken: every reply is one line
** of valid UTF-8 holding one JSON-RPC 2.0 object, a reply is never sent to
** a notification, and the store is never left inside a transaction.
**
** Build and run with tests/fuzz/run.sh.
*/
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "integrity/signer.h"
#include "protocol/frame.h"
#include "protocol/mcp.h"
#include "protocol/rpc.h"
#include "store/chain.h"
#include "store/store.h"
#include "util/diag.h"
#include "fuzz_util.h"

/* Small limits so that short inputs reach the limit paths too. */
#define FUZZ_MAX_MESSAGE 4096
#define FUZZ_MAX_DEPTH 16
#define FUZZ_MAX_GROUP 64

static store *st;
static mcp *m;
static signer sg;
static int in_fd = -1;
static frame *cur_frame;   /* the input being read, for cancellation look-ahead */
static int saw_cancel;     /* a request of this line was found cancelled */

static void die(const char *what, const char *why);
static void check_line(const char *line, int notification);

/* mcp_io: notifications are checked like replies. */
static void fuzz_emit(void *ctx, const char *line)
{
    (void)ctx;
    check_line(line, 1);
}

/* Is this buffered line a notifications/cancelled naming the id?  The same
** test the server uses, on the fuzzer's frame. */
static int cancels(void *ctx, const char *line, size_t len)
{
    return rpc_is_cancellation(line, len, ctx);
}

static int fuzz_cancelled(void *ctx, const cJSON *request_id)
{
    (void)ctx;
    int hit = cur_frame && frame_peek(cur_frame, cancels, (void *)request_id);
    if (hit) saw_cancel = 1;
    return hit;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_message: %s: %s\n", what, why ? why : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[512];
    if (chain_init() != 0) die("chain_init", "libsodium");
    /* A fixed key, never written to disk. */
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, 0x5a, sizeof seed);
    crypto_sign_seed_keypair(sg.pk, sg.sk, seed);
    sodium_bin2hex(sg.pk_hex, sizeof sg.pk_hex, sg.pk, sizeof sg.pk);
    store_options so = {.path = ":memory:"};
    if (store_open(&so, &st, err) != STORE_OK) die("store_open", err);
    mcp_options mo = {.st = st, .actor = "fuzzer", .limits = {.max_depth = FUZZ_MAX_DEPTH},
                      .sg = &sg, .checkpoint_interval = 1000,
                      .io = {.emit = fuzz_emit, .cancelled = fuzz_cancelled}};
    if (!(m = mcp_new(&mo, err, sizeof err))) die("mcp_new", err);
    in_fd = memfd_create("fuzz-input", MFD_CLOEXEC);
    if (in_fd < 0) die("memfd_create", "failed");
    return 0;
}

/* One reply object (or, for a notification, one notification object). */
static void check_object(const cJSON *r, const char *line, int notification)
{
    if (!cJSON_IsObject(r)) die("not a JSON object", line);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "jsonrpc");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0)
        die("message lacks jsonrpc 2.0", line);
    if (notification) {
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "method")) ||
            cJSON_GetObjectItemCaseSensitive(r, "id"))
            die("a notification needs a method and no id", line);
        return;
    }
    if (!cJSON_GetObjectItemCaseSensitive(r, "id")) die("reply lacks an id", line);
    int has_result = cJSON_GetObjectItemCaseSensitive(r, "result") != NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
    if (has_result == (e != NULL)) die("reply needs exactly one of result and error", line);
    if (e && !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, "code")))
        die("error without a numeric code", line);
}

/* What the server promises about every line it writes: one line of valid
** UTF-8 holding one JSON-RPC object, or a non-empty array of them (a batch
** reply). */
static void check_line(const char *line, int notification)
{
    size_t n = strlen(line);
    if (n == 0 || memchr(line, '\n', n) || memchr(line, '\r', n))
        die("output is not one line", line);
    if (!fz_valid_utf8((const unsigned char *)line, n)) die("output is not valid UTF-8", line);
    const char *end = NULL;
    cJSON *r = cJSON_ParseWithLengthOpts(line, n, &end, 0);
    if (!r || end != line + n) die("output is not one JSON value", line);
    if (cJSON_IsArray(r) && !notification) {
        if (!r->child) die("an empty batch reply", line);
        for (const cJSON *c = r->child; c; c = c->next) check_object(c, line, 0);
    } else {
        check_object(r, line, notification);
    }
    cJSON_Delete(r);
}

/* Only spaces, tabs and CRs: a blank line, which is no message and gets
** no reply.  (A NUL is not blank: a line of NULs gets -32700.) */
static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

typedef struct group {
    mcp_reply r[FUZZ_MAX_GROUP];
    int n;
} group;

/* End a group as server.c does, but roll back where it would commit.  An
** odd first input byte exercises the commit-failed reply rewrite. */
static void finish_group(group *g, int simulate_commit_failure)
{
    recorder_abandon(mcp_recorder(m));
    for (int i = 0; i < g->n; i++) {
        if (simulate_commit_failure && g->r[i].acks_write)
            mcp_reply_write_failed(&g->r[i], "fuzz: the commit failed");
        const char *line = mcp_reply_line(&g->r[i]);
        if (line) check_line(line, 0);
        mcp_reply_free(&g->r[i]);
    }
    g->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(in_fd, 0) != 0 || lseek(in_fd, 0, SEEK_SET) != 0) die("memfd", "reset");
    for (size_t at = 0; at < size;) {
        ssize_t w = write(in_fd, data + at, size - at);
        if (w <= 0) die("memfd", "write");
        at += (size_t)w;
    }
    if (lseek(in_fd, 0, SEEK_SET) != 0) die("memfd", "seek");
    frame *f = frame_new(in_fd, FUZZ_MAX_MESSAGE);
    if (!f) die("frame_new", "out of memory");
    cur_frame = f;
    int fail_commits = size > 0 && (data[0] & 1);
    static group g;
    for (;;) {
        const char *line;
        size_t len;
        int r = frame_next(f, 1, NULL, &line, &len);
        if (r == FRAME_EOF || r == FRAME_ERROR || r == FRAME_AGAIN) break;
        mcp_reply *reply = &g.r[g.n++];
        memset(reply, 0, sizeof *reply);
        if (r == FRAME_TOO_LONG) {
            reply->line = mcp_too_long_reply(FUZZ_MAX_MESSAGE);
        } else {
            if (len > FUZZ_MAX_MESSAGE) die("frame", "a line over the limit was returned");
            /* Check the notification promise with the parser itself. */
            rpc_message msg;
            char *error_reply = NULL;
            rpc_limits lim = {.max_depth = FUZZ_MAX_DEPTH};
            rpc_kind kind = rpc_parse(line, len, &lim, &msg, &error_reply);
            if (kind == RPC_KIND_INVALID) free(error_reply);
            else rpc_message_free(&msg);
            saw_cancel = 0;
            mcp_handle(m, line, len, reply);
            if ((kind == RPC_KIND_NOTIFICATION || kind == RPC_KIND_RESPONSE) && reply->line)
                die("a notification or response was answered", reply->line);
            if (kind == RPC_KIND_REQUEST && !reply->line && !saw_cancel)
                die("a request got no reply (and was not cancelled)", "");
            if (kind == RPC_KIND_INVALID && !reply->line && !blank(line, len))
                die("an invalid message got no reply (a line of NULs is not blank)", "");
        }
        if (g.n == FUZZ_MAX_GROUP) finish_group(&g, fail_commits);
    }
    finish_group(&g, fail_commits);
    cur_frame = NULL;
    frame_free(f);
    if (store_in_transaction(st)) die("store", "left inside a transaction");
    /* Everything was rolled back: the log is still empty. */
    int64_t head = -1;
    char hash[CHAIN_HEX_LEN], err[STORE_ERRLEN];
    if (store_head(st, &head, hash, err) != STORE_OK || head != 0)
        die("store", "an input left entries behind");
    return 0;
}
