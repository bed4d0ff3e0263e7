/*
** test_frame.c: the bounded line reader (src/protocol/frame.h): lines as
** they arrive in pieces, lines over the limit, and how a requested stop
** ends a blocking wait.
**
** Each case that could block forever if the reader were wrong arms an
** alarm first: SIGALRM's default action ends the case's process, which
** ctest reports as a failure.
*/
#include "test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/frame.h"

static volatile int stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* A frame reading a pipe's end, and the last line it returned. */
typedef struct piped {
    int in, out; /* out is -1 once closed */
    frame *f;
    const char *line;
    size_t len;
} piped;

static int piped_open(piped *p, size_t max)
{
    int fd[2];
    memset(p, 0, sizeof *p);
    if (pipe(fd) != 0) return -1;
    p->in = fd[0];
    p->out = fd[1];
    p->f = frame_new(fd[0], max);
    return p->f ? 0 : -1;
}

static void piped_end_input(piped *p)
{
    close(p->out);
    p->out = -1;
}

static void piped_close(piped *p)
{
    frame_free(p->f);
    close(p->in);
    if (p->out >= 0) close(p->out);
}

static int next(piped *p, int block, volatile int *stop_flag)
{
    return frame_next(p->f, block, stop_flag, &p->line, &p->len);
}

static int line_is(const piped *p, const char *want)
{
    return p->len == strlen(want) && memcmp(p->line, want, p->len) == 0;
}

TEST(a_line_written_in_pieces_is_read_whole)
{
    piped p;
    ASSERT(piped_open(&p, 1024) == 0);
    ASSERT(write(p.out, "{\"a\":", 5) == 5);
    ASSERT_EQ_INT(next(&p, 0, NULL), FRAME_AGAIN);
    ASSERT(write(p.out, "1}\r\n{\"b\":2}\n", 12) == 12);
    ASSERT_EQ_INT(next(&p, 0, NULL), FRAME_LINE);
    ASSERT(line_is(&p, "{\"a\":1}"));
    ASSERT_EQ_INT(next(&p, 0, NULL), FRAME_LINE);
    ASSERT(line_is(&p, "{\"b\":2}"));
    piped_end_input(&p);
    ASSERT_EQ_INT(next(&p, 1, NULL), FRAME_EOF);
    piped_close(&p);
}

TEST(a_line_over_the_limit_is_skipped_and_the_next_one_read)
{
    piped p;
    ASSERT(piped_open(&p, 8) == 0);
    const char in[] = "0123456789abcdef\nshort\n";
    ASSERT(write(p.out, in, sizeof in - 1) == (ssize_t)(sizeof in - 1));
    piped_end_input(&p);
    ASSERT_EQ_INT(next(&p, 1, NULL), FRAME_TOO_LONG);
    ASSERT_EQ_INT(next(&p, 1, NULL), FRAME_LINE);
    ASSERT(line_is(&p, "short"));
    ASSERT_EQ_INT(next(&p, 1, NULL), FRAME_EOF);
    piped_close(&p);
}

/* The window a signal could once fall into: the stop is already requested
** when the reader is about to wait, and no input will ever come. */
TEST(a_stop_requested_before_a_blocking_wait_ends_it)
{
    piped p;
    ASSERT(piped_open(&p, 1024) == 0);
    stop = 1;
    alarm(10);
    int r = next(&p, 1, &stop);
    alarm(0);
    stop = 0;
    ASSERT_EQ_INT(r, FRAME_EOF);
    piped_close(&p);
}

TEST(sigterm_during_a_blocking_wait_ends_it)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term; /* no SA_RESTART, as the server installs it */
    sigemptyset(&sa.sa_mask);
    ASSERT(sigaction(SIGTERM, &sa, NULL) == 0);
    piped p;
    ASSERT(piped_open(&p, 1024) == 0);
    pid_t parent = getpid(), child = fork();
    ASSERT(child >= 0);
    if (child == 0) {
        usleep(100 * 1000);
        kill(parent, SIGTERM);
        _exit(0);
    }
    stop = 0;
    alarm(10);
    int r = next(&p, 1, &stop);
    alarm(0);
    waitpid(child, NULL, 0);
    ASSERT_EQ_INT(r, FRAME_EOF);
    ASSERT(stop == 1);
    /* The wait leaves neither signal blocked. */
    sigset_t now;
    ASSERT(sigprocmask(SIG_BLOCK, NULL, &now) == 0);
    ASSERT(!sigismember(&now, SIGTERM) && !sigismember(&now, SIGINT));
    piped_close(&p);
}

TEST_MAIN(TEST_ENTRY(a_line_written_in_pieces_is_read_whole)
          TEST_ENTRY(a_line_over_the_limit_is_skipped_and_the_next_one_read)
          TEST_ENTRY(a_stop_requested_before_a_blocking_wait_ends_it)
          TEST_ENTRY(sigterm_during_a_blocking_wait_ends_it))
