/*
** test.h: the smallest test harness that gives each behaviour its own
** ctest case, in the manner of libuv's test runner.
**
** A test file defines cases with TEST(name) and lists them once in
** TEST_MAIN(TEST_ENTRY(a) TEST_ENTRY(b) ...).  Run with no argument, the
** binary runs every case; run with a case name, it runs that case alone,
** which is how CMake registers one ctest test per case.  A failed ASSERT
** prints the file, line and expression to stderr and fails only that case.
*/
#ifndef DSS_TEST_H
#define DSS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(int *failed);
typedef struct { const char *name; test_fn fn; } test_case;

#define TEST(name) static void test_##name(int *test_failed_)
#define TEST_ENTRY(name) {#name, test_##name},

#define TEST_FAIL_(...)                                                     \
    do {                                                                    \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                     \
        fprintf(stderr, __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                \
        *test_failed_ = 1;                                                  \
        return;                                                             \
    } while (0)

#define ASSERT(cond)                                                        \
    do { if (!(cond)) TEST_FAIL_("assertion failed: %s", #cond); } while (0)

#define ASSERT_EQ_INT(a, b)                                                 \
    do {                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                 \
        if (a_ != b_)                                                       \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);           \
    } while (0)

#define ASSERT_EQ_STR(a, b)                                                 \
    do {                                                                    \
        const char *a_ = (a), *b_ = (b);                                    \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                              \
            TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,                \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");             \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                        \
    do {                                                                    \
        const char *h_ = (hay), *n_ = (needle);                             \
        if (!h_ || !strstr(h_, n_))                                         \
            TEST_FAIL_("\"%s\" does not contain \"%s\"",                    \
                       h_ ? h_ : "(null)", n_);                             \
    } while (0)

/* The next value of a repeatable pseudo-random sequence (xorshift64), for
** cases that generate their inputs; *state starts at any non-zero value. */
static inline unsigned long long test_random(unsigned long long *state)
{
    unsigned long long x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Delete a SQLite database file with its -wal and -shm, as an `rm` of the
** trail would: the cases of a file deleted under a running process. */
static inline void test_unlink_db(const char *db)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char path[4096];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", db, suffix[i]);
        remove(path);
    }
}

#define TEST_MAIN(...)                                                      \
    static const test_case test_cases_[] = {__VA_ARGS__};                   \
    int main(int argc, char **argv) {                                       \
        size_t n = sizeof test_cases_ / sizeof test_cases_[0];              \
        int failures = 0, ran = 0;                                          \
        for (size_t i = 0; i < n; i++) {                                    \
            if (argc > 1 && strcmp(argv[1], test_cases_[i].name) != 0)      \
                continue;                                                   \
            int failed = 0;                                                 \
            test_cases_[i].fn(&failed);                                     \
            ran++;                                                          \
            failures += failed;                                             \
            fprintf(stderr, "%s %s\n", failed ? "FAIL" : "ok  ",            \
                    test_cases_[i].name);                                   \
        }                                                                   \
        if (ran == 0) {                                                     \
            fprintf(stderr, "no test case named %s\n",                      \
                    argc > 1 ? argv[1] : "(none)");                         \
            return 2;                                                       \
        }                                                                   \
        return failures ? 1 : 0;                                            \
    }

#endif
