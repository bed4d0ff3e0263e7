/*
** test_inbox.c: serve's input read and parsed ahead on a thread
** (src/inbox.h): order, what "nothing waiting" means, the bounds, the
** cancellation lookahead, signals and stopping with messages unread.
*/
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "inbox.h"

/* An mcp with no store: mcp_parse() needs only its limits. */
static mcp *new_mcp(void)
{
    mcp_options o;
    char err[256];
    memset(&o, 0, sizeof o);
    return mcp_new(&o, err, sizeof err);
}

/* An inbox reading a pipe the test writes to (fx.p[1]). */
typedef struct fx {
    mcp *m;
    int p[2];
    inbox *ib;
} fx;

static int fx_open(fx *f, size_t max_message)
{
    char err[256];
    memset(f, 0, sizeof *f);
    f->p[0] = f->p[1] = -1;
    if (!(f->m = new_mcp()) || pipe(f->p) != 0) return -1;
    f->ib = inbox_start(f->p[0], max_message, f->m, err, sizeof err);
    return f->ib ? 0 : -1;
}

/* Close the writing end (when still open) first, so the reader sees EOF. */
static void fx_close(fx *f)
{
    if (f->p[1] >= 0) close(f->p[1]);
    inbox_stop(f->ib);
    if (f->p[0] >= 0) close(f->p[0]);
    mcp_free(f->m);
}

static void fx_end_input(fx *f)
{
    close(f->p[1]);
    f->p[1] = -1;
}

static int write_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Take messages until one that is not a message; the method of each
** message goes into methods (joined by ','), and that last code returns. */
static int take_all(inbox *ib, int block, char *methods, size_t cap)
{
    mcp_input in;
    int r;
    methods[0] = '\0';
    while ((r = inbox_next(ib, block, NULL, &in)) == INBOX_MESSAGE) {
        const char *m = in.blank ? "(blank)"
                        : in.kind == RPC_KIND_INVALID ? "(invalid)"
                                                      : in.msg.method;
        size_t used = strlen(methods);
        snprintf(methods + used, cap - used, "%s%s", used ? "," : "", m ? m : "(none)");
        mcp_input_free(&in);
    }
    return r;
}

TEST(messages_come_in_order_then_eof)
{
    fx f;
    ASSERT(fx_open(&f, 4096) == 0);
    inbox *ib = f.ib;
    char got[512];
    ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}\n"
                           "\n"
                           "not json\n"
                           "{\"jsonrpc\":\"2.0\",\"method\":\"b\"}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"c\"}") == 0);
    fx_end_input(&f);
    ASSERT_EQ_INT(take_all(ib, 1, got, sizeof got), INBOX_EOF);
    ASSERT_EQ_STR(got, "a,(blank),(invalid),b,c");
    mcp_input in;
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_EOF); /* and stays so */
    ASSERT_EQ_INT(inbox_next(ib, 0, NULL, &in), INBOX_EOF);
    fx_close(&f);
}

TEST(again_only_once_nothing_more_is_waiting)
{
    fx f;
    ASSERT(fx_open(&f, 4096) == 0);
    inbox *ib = f.ib;
    char got[512];
    /* Three complete lines and the start of a fourth: the three make one
    ** group, then nothing more is waiting, as a single thread saw it. */
    ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"b\"}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"c\"}\n"
                           "{\"jsonrpc\":\"2.0\",") == 0);
    mcp_input in;
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_MESSAGE);
    mcp_input_free(&in);
    ASSERT_EQ_INT(take_all(ib, 0, got, sizeof got), INBOX_AGAIN);
    ASSERT_EQ_STR(got, "b,c");
    ASSERT(write_all(f.p[1], "\"id\":4,\"method\":\"d\"}\n") == 0);
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_MESSAGE);
    ASSERT_EQ_STR(in.msg.method, "d");
    mcp_input_free(&in);
    fx_end_input(&f);
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_EOF);
    fx_close(&f);
}

TEST(a_line_over_the_limit_is_reported_and_the_next_one_served)
{
    fx f;
    ASSERT(fx_open(&f, 64) == 0);
    inbox *ib = f.ib;
    char got[512];
    char long_line[200];
    memset(long_line, 'x', sizeof long_line - 2);
    long_line[sizeof long_line - 2] = '\n';
    long_line[sizeof long_line - 1] = '\0';
    ASSERT(write_all(f.p[1], long_line) == 0);
    ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}\n") == 0);
    fx_end_input(&f);
    mcp_input in;
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_TOO_LONG);
    ASSERT_EQ_INT(take_all(ib, 1, got, sizeof got), INBOX_EOF);
    ASSERT_EQ_STR(got, "a");
    fx_close(&f);
}

/* A writer thread: more lines than the inbox holds, for the bound. */
typedef struct feeder {
    int fd, lines;
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    char line[128];
    for (int i = 0; i < f->lines; i++) {
        snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"m%d\"}\n", i, i);
        if (write_all(f->fd, line) != 0) break;
    }
    close(f->fd);
    return NULL;
}

TEST(more_lines_than_it_holds_all_arrive_in_order)
{
    fx f;
    ASSERT(fx_open(&f, 4096) == 0);
    inbox *ib = f.ib;
    feeder fd = {f.p[1], INBOX_MAX_ITEMS * 4};
    f.p[1] = -1; /* the feeder closes it */
    pthread_t t;
    ASSERT(pthread_create(&t, NULL, feed, &fd) == 0);
    usleep(100000); /* let the reader fill the inbox and wait for room */
    mcp_input in;
    int n = 0, r, in_order = 1;
    while ((r = inbox_next(ib, 1, NULL, &in)) == INBOX_MESSAGE) {
        char want[32];
        snprintf(want, sizeof want, "m%d", n++);
        in_order &= strcmp(in.msg.method, want) == 0;
        mcp_input_free(&in);
    }
    pthread_join(t, NULL);
    ASSERT_EQ_INT(r, INBOX_EOF);
    ASSERT_EQ_INT(n, INBOX_MAX_ITEMS * 4);
    ASSERT(in_order);
    fx_close(&f);
}

TEST(a_cancellation_behind_the_request_is_seen)
{
    fx f;
    ASSERT(fx_open(&f, 4096) == 0);
    inbox *ib = f.ib;
    ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\"}\n") == 0);
    mcp_input in;
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_MESSAGE);
    cJSON *id = cJSON_CreateNumber(7), *other = cJSON_CreateNumber(8);
    ASSERT(!inbox_cancelled(ib, id));
    ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                           "\"params\":{\"requestId\":7}}\n") == 0);
    int seen = 0;
    for (int i = 0; i < 500 && !seen; i++) {
        seen = inbox_cancelled(ib, id);
        if (!seen) usleep(2000);
    }
    ASSERT(seen);
    ASSERT(!inbox_cancelled(ib, other));
    mcp_input_free(&in);
    cJSON_Delete(id);
    cJSON_Delete(other);
    fx_close(&f);
}

TEST(call_arguments_arrive_scrubbed)
{
    fx f;
    ASSERT(fx_open(&f, 4096) == 0);
    inbox *ib = f.ib;
    ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                           "{\"name\":\"log_operation\",\"arguments\":{\"password\":\"hunter2\"}}}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":"
                           "{\"arguments\":{\"password\":\"hunter2\"}}}\n") == 0);
    mcp_input in;
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_MESSAGE);
    ASSERT(in.args_scrubbed);
    char *text = cJSON_PrintUnformatted(in.msg.root);
    ASSERT(text && !strstr(text, "hunter2"));
    free(text);
    mcp_input_free(&in);
    /* Only a call's arguments are the recorder's to scrub. */
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_MESSAGE);
    ASSERT(!in.args_scrubbed);
    mcp_input_free(&in);
    fx_close(&f);
}

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Signal the waiting thread a little later, as a SIGTERM would reach serve's
** main thread (the reader thread blocks SIGTERM; SIGUSR1 is aimed). */
static void *signal_later(void *arg)
{
    usleep(200000);
    pthread_kill(*(pthread_t *)arg, SIGUSR1);
    return NULL;
}

TEST(a_signal_ends_a_blocking_wait)
{
    fx f;
    ASSERT(fx_open(&f, 4096) == 0);
    inbox *ib = f.ib;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART, as serve installs its own */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    stop_flag = 0;
    pthread_t self = pthread_self(), t;
    ASSERT(pthread_create(&t, NULL, signal_later, &self) == 0);
    mcp_input in;
    int r = inbox_next(ib, 1, &stop_flag, &in);
    pthread_join(t, NULL);
    sigaction(SIGUSR1, &old, NULL);
    ASSERT_EQ_INT(r, INBOX_STOPPED);
    ASSERT(stop_flag);
    fx_close(&f);
}

TEST(quiet_until_a_line_arrives)
{
    fx f;
    ASSERT(fx_open(&f, 4096) == 0);
    inbox *ib = f.ib;
    ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}\n") == 0);
    mcp_input in;
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_MESSAGE);
    mcp_input_free(&in);
    ASSERT_EQ_INT(inbox_next(ib, 0, NULL, &in), INBOX_AGAIN);
    ASSERT(inbox_quiet(ib, 20));
    ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"b\"}\n") == 0);
    ASSERT(!inbox_quiet(ib, 5000)); /* ends as soon as the line is in */
    ASSERT_EQ_INT(inbox_next(ib, 0, NULL, &in), INBOX_MESSAGE);
    mcp_input_free(&in);
    fx_close(&f);
}

TEST(stopping_drops_what_was_not_taken)
{
    fx f;
    ASSERT(fx_open(&f, 4096) == 0);
    inbox *ib = f.ib;
    for (int i = 0; i < 20; i++)
        ASSERT(write_all(f.p[1], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                               "\"params\":{\"arguments\":{\"a\":[1,2,3]}}}\n") == 0);
    mcp_input in;
    ASSERT_EQ_INT(inbox_next(ib, 1, NULL, &in), INBOX_MESSAGE);
    mcp_input_free(&in);
    fx_close(&f); /* the rest, parsed or not, is freed (ASan, valgrind) */
}

TEST_MAIN(TEST_ENTRY(messages_come_in_order_then_eof)
          TEST_ENTRY(again_only_once_nothing_more_is_waiting)
          TEST_ENTRY(a_line_over_the_limit_is_reported_and_the_next_one_served)
          TEST_ENTRY(more_lines_than_it_holds_all_arrive_in_order)
          TEST_ENTRY(a_cancellation_behind_the_request_is_seen)
          TEST_ENTRY(call_arguments_arrive_scrubbed)
          TEST_ENTRY(a_signal_ends_a_blocking_wait)
          TEST_ENTRY(quiet_until_a_line_arrives)
          TEST_ENTRY(stopping_drops_what_was_not_taken))
