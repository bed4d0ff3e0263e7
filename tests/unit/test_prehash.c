/*
** test_prehash.c: the parallel hashing pipeline behind verify.
**
** Entries are made in memory with real hashes (some deliberately wrong),
** pushed through pipelines with no worker, one and several, and the judge
** records what it was handed: every entry, once, in push order, with its
** own-hash verdict and its strings intact.
*/
#include <stdint.h>

#include "integrity/prehash.h"
#include "test.h"

#define N_ENTRIES 3000

typedef struct fixture {
    store_raw_entry e[N_ENTRIES];
    char args[N_ENTRIES][48];
    char *big; /* one entry's args, larger than a whole batch */
} fixture;

typedef struct seen {
    const fixture *fx;
    int n, out_of_order, wrong_verdict, wrong_text, stop_at;
} seen;

static int expected_ok(int i) { return i % 7 != 3 && i % 11 != 5; }

/* Entries 0..n-1 chained by real hashes; those expected_ok() rejects get
** a corrupted hash, and every 11th of those a malformed hash column. */
static fixture *make_fixture(int with_big)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return NULL;
    uint8_t prev[CHAIN_HASH_BYTES] = {0};
    for (int i = 0; i < N_ENTRIES; i++) {
        store_raw_entry *e = &fx->e[i];
        snprintf(fx->args[i], sizeof fx->args[i], "{\"n\":%d}", i);
        e->f = (chain_fields){.seq = i + 1, .id = "id", .event_type = "tool_call",
                              .operation_name = "op", .args = fx->args[i],
                              .created_at = "2026-01-01T00:00:00.000000Z",
                              .user_id = i % 2 ? "u" : NULL};
        if (with_big && i == N_ENTRIES / 2) {
            size_t n = 3 * 1024 * 1024;
            fx->big = malloc(n + 1);
            if (!fx->big) return fx;
            memset(fx->big, 'x', n);
            fx->big[n] = '\0';
            e->f.args = fx->big;
        }
        memcpy(e->prev_hash, prev, CHAIN_HASH_BYTES);
        chain_entry_hash(&e->f, e->prev_hash, e->hash);
        e->hashes_ok = 1;
        memcpy(prev, e->hash, CHAIN_HASH_BYTES);
        if (!expected_ok(i)) {
            e->hash[5] ^= 0x40;
            if (i % 11 == 5) e->hashes_ok = 0;
        }
    }
    return fx;
}

static void free_fixture(fixture *fx)
{
    if (fx) free(fx->big);
    free(fx);
}

static int judge(void *ctx, const store_raw_entry *e, int own_ok)
{
    seen *s = ctx;
    int i = s->n++;
    const store_raw_entry *want = &s->fx->e[i];
    if (e->f.seq != want->f.seq) s->out_of_order++;
    if (own_ok != expected_ok(i)) s->wrong_verdict++;
    if (strcmp(e->f.args, want->f.args) != 0 || strcmp(e->f.id, "id") != 0 ||
        (e->f.user_id == NULL) != (want->f.user_id == NULL) || e->f.result != NULL)
        s->wrong_text++;
    return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

static int run(const fixture *fx, int workers, seen *s)
{
    prehash *p = prehash_new(workers, judge, s);
    if (!p) return -100;
    int rc = 0;
    for (int i = 0; i < N_ENTRIES && rc == 0; i++) rc = prehash_push(p, &fx->e[i]);
    if (rc == 0) rc = prehash_drain(p);
    prehash_free(p);
    return rc;
}

static void check_all_judged(int *test_failed_, int workers, int with_big)
{
    fixture *fx = make_fixture(with_big);
    ASSERT(fx);
    seen s = {.fx = fx};
    int rc = run(fx, workers, &s);
    int n = s.n, order = s.out_of_order, verdict = s.wrong_verdict, text = s.wrong_text;
    free_fixture(fx);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_INT(n, N_ENTRIES);
    ASSERT_EQ_INT(order, 0);
    ASSERT_EQ_INT(verdict, 0);
    ASSERT_EQ_INT(text, 0);
}

TEST(inline_judges_every_entry_in_order_with_its_verdict)
{
    check_all_judged(test_failed_, 0, 0);
}

TEST(one_worker_judges_every_entry_in_order_with_its_verdict)
{
    check_all_judged(test_failed_, 1, 0);
}

TEST(four_workers_judge_every_entry_in_order_with_its_verdict)
{
    check_all_judged(test_failed_, 4, 0);
}

TEST(workers_per_cpu_judge_every_entry_in_order_with_its_verdict)
{
    check_all_judged(test_failed_, -1, 0);
}

TEST(entry_larger_than_a_batch_is_copied_whole)
{
    check_all_judged(test_failed_, 2, 1);
}

TEST(judge_stop_ends_the_walk_and_is_returned)
{
    fixture *fx = make_fixture(0);
    ASSERT(fx);
    seen s = {.fx = fx, .stop_at = 1000};
    int rc = run(fx, 2, &s);
    int n = s.n;
    free_fixture(fx);
    ASSERT_EQ_INT(rc, 7);
    ASSERT_EQ_INT(n, 1000);
}

TEST(drain_then_push_more_keeps_order)
{
    fixture *fx = make_fixture(0);
    ASSERT(fx);
    seen s = {.fx = fx};
    prehash *p = prehash_new(2, judge, &s);
    ASSERT(p);
    int rc = 0;
    for (int i = 0; i < N_ENTRIES && rc == 0; i++) {
        rc = prehash_push(p, &fx->e[i]);
        if (i == 100 && rc == 0) {
            rc = prehash_drain(p);
            if (s.n != 101) rc = -50;
        }
    }
    if (rc == 0) rc = prehash_drain(p);
    prehash_free(p);
    int n = s.n, order = s.out_of_order;
    free_fixture(fx);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_INT(n, N_ENTRIES);
    ASSERT_EQ_INT(order, 0);
}

TEST(free_without_drain_drops_the_rest_cleanly)
{
    fixture *fx = make_fixture(0);
    ASSERT(fx);
    seen s = {.fx = fx};
    prehash *p = prehash_new(2, judge, &s);
    ASSERT(p);
    for (int i = 0; i < N_ENTRIES; i++) prehash_push(p, &fx->e[i]);
    prehash_free(p);
    int n = s.n, order = s.out_of_order;
    free_fixture(fx);
    ASSERT(n < N_ENTRIES);
    ASSERT_EQ_INT(order, 0);
}

TEST_MAIN(
    TEST_ENTRY(inline_judges_every_entry_in_order_with_its_verdict)
    TEST_ENTRY(one_worker_judges_every_entry_in_order_with_its_verdict)
    TEST_ENTRY(four_workers_judge_every_entry_in_order_with_its_verdict)
    TEST_ENTRY(workers_per_cpu_judge_every_entry_in_order_with_its_verdict)
    TEST_ENTRY(entry_larger_than_a_batch_is_copied_whole)
    TEST_ENTRY(judge_stop_ends_the_walk_and_is_returned)
    TEST_ENTRY(drain_then_push_more_keeps_order)
    TEST_ENTRY(free_without_drain_drops_the_rest_cleanly)
)
