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

TEST(a_line_written_in_pieces_is_read_whole)
{
    int fd[2];
    ASSERT(pipe(fd) == 0);
    frame *f = frame_new(fd[0], 1024);
    ASSERT(f);
    const char *line;
    size_t len;
    ASSERT(write(fd[1], "{\"a\":", 5) == 5);
    ASSERT_EQ_INT(frame_next(f, 0, NULL, &line, &len), FRAME_AGAIN);
    ASSERT(write(fd[1], "1}\r\n{\"b\":2}\n", 12) == 12);
    ASSERT_EQ_INT(frame_next(f, 0, NULL, &line, &len), FRAME_LINE);
    ASSERT(len == 7 && memcmp(line, "{\"a\":1}", 7) == 0);
    ASSERT_EQ_INT(frame_next(f, 0, NULL, &line, &len), FRAME_LINE);
    ASSERT(len == 7 && memcmp(line, "{\"b\":2}", 7) == 0);
    close(fd[1]);
    ASSERT_EQ_INT(frame_next(f, 1, NULL, &line, &len), FRAME_EOF);
    frame_free(f);
    close(fd[0]);
}

TEST(a_line_over_the_limit_is_skipped_and_the_next_one_read)
{
    int fd[2];
    ASSERT(pipe(fd) == 0);
    frame *f = frame_new(fd[0], 8);
    ASSERT(f);
    const char *line;
    size_t len;
    const char in[] = "0123456789abcdef\nshort\n";
    ASSERT(write(fd[1], in, sizeof in - 1) == (ssize_t)(sizeof in - 1));
    close(fd[1]);
    ASSERT_EQ_INT(frame_next(f, 1, NULL, &line, &len), FRAME_TOO_LONG);
    ASSERT_EQ_INT(frame_next(f, 1, NULL, &line, &len), FRAME_LINE);
    ASSERT(len == 5 && memcmp(line, "short", 5) == 0);
    ASSERT_EQ_INT(frame_next(f, 1, NULL, &line, &len), FRAME_EOF);
    frame_free(f);
    close(fd[0]);
}

/* The window a signal could once fall into: the stop is already requested
** when the reader is about to wait, and no input will ever come. */
TEST(a_stop_requested_before_a_blocking_wait_ends_it)
{
    int fd[2];
    ASSERT(pipe(fd) == 0);
    frame *f = frame_new(fd[0], 1024);
    ASSERT(f);
    const char *line;
    size_t len;
    stop = 1;
    alarm(10);
    int r = frame_next(f, 1, &stop, &line, &len);
    alarm(0);
    stop = 0;
    ASSERT_EQ_INT(r, FRAME_EOF);
    frame_free(f);
    close(fd[0]);
    close(fd[1]);
}

TEST(sigterm_during_a_blocking_wait_ends_it)
{
    int fd[2];
    ASSERT(pipe(fd) == 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term; /* no SA_RESTART, as the server installs it */
    sigemptyset(&sa.sa_mask);
    ASSERT(sigaction(SIGTERM, &sa, NULL) == 0);
    frame *f = frame_new(fd[0], 1024);
    ASSERT(f);
    pid_t parent = getpid(), child = fork();
    ASSERT(child >= 0);
    if (child == 0) {
        usleep(100 * 1000);
        kill(parent, SIGTERM);
        _exit(0);
    }
    const char *line;
    size_t len;
    stop = 0;
    alarm(10);
    int r = frame_next(f, 1, &stop, &line, &len);
    alarm(0);
    waitpid(child, NULL, 0);
    ASSERT_EQ_INT(r, FRAME_EOF);
    ASSERT(stop == 1);
    /* The signals the wait unblocked are blocked no longer, nor more. */
    sigset_t now;
    ASSERT(sigprocmask(SIG_BLOCK, NULL, &now) == 0);
    ASSERT(!sigismember(&now, SIGTERM) && !sigismember(&now, SIGINT));
    frame_free(f);
    close(fd[0]);
    close(fd[1]);
}

TEST_MAIN(TEST_ENTRY(a_line_written_in_pieces_is_read_whole)
          TEST_ENTRY(a_line_over_the_limit_is_skipped_and_the_next_one_read)
          TEST_ENTRY(a_stop_requested_before_a_blocking_wait_ends_it)
          TEST_ENTRY(sigterm_during_a_blocking_wait_ends_it))
