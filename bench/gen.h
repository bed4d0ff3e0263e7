/*
** gen.h: the synthetic audit entries every benchmark program shares.
**
** prefill, floor and loadgen draw their entries from the same generator so
** that the rows the prefill writes, the rows the floor inserts and the
** log_operation calls the load generator sends look alike: ~50 users, ~200
** projects, all 12 event types with a skewed mix, operation names from a
** vocabulary tied to the event type, ~600-byte nested args with secrets in
** them (api_key, password, an authorization header, a figma token), 10% of
** entries carrying an error message, and GEN_TERM planted in about 0.1% of
** entries (in operation_name or in error) for the search workload.
**
** Everything is deterministic for a given seed.
*/
#ifndef DSS_BENCH_GEN_H
#define DSS_BENCH_GEN_H

#include <stdint.h>
#include <cjson/cJSON.h>

#define GEN_USERS 50
#define GEN_PROJECTS 200
#define GEN_EVENT_TYPES 12
/* Planted in ~0.1% of entries, in varying case; search looks for it in
** lower case, which must match case-insensitively. */
#define GEN_TERM "zebraquota"
/* One entry in GEN_TERM_EVERY carries GEN_TERM. */
#define GEN_TERM_EVERY 1000

typedef struct gen_rng {
    uint64_t s;
} gen_rng;

void gen_seed(gen_rng *r, uint64_t seed);
uint64_t gen_next(gen_rng *r);
/* Uniform in [0, n). */
uint32_t gen_below(gen_rng *r, uint32_t n);

extern const char *const gen_event_types[GEN_EVENT_TYPES];

/* One generated entry.  The string fields live inside the struct; args,
** result, before and after are cJSON trees the entry owns (result, before
** and after may be NULL).  The trees are NOT scrubbed: they carry secrets,
** as a client's call would. */
typedef struct gen_entry {
    const char *event_type;
    char operation_name[64];
    char operation_id[48];
    char user_id[16];
    char project_id[16];
    char error[192]; /* "" when the entry has no error */
    cJSON *args;
    cJSON *result;
    cJSON *before;
    cJSON *after;
} gen_entry;

/* Fill e with the next entry; returns 0, or -1 when memory ran out. */
int gen_entry_make(gen_rng *r, gen_entry *e);
void gen_entry_free(gen_entry *e);

/* "user-07" for user i (0-based). */
void gen_user_id(int i, char out[16]);

/* The serialized {name, version} client identity the prefill records. */
#define GEN_CLIENT "{\"name\":\"dss-bench\",\"version\":\"1.0.0\"}"
/* The actor the load generator starts the server with, by default. */
#define GEN_ACTOR "bench"

/* Helpers the three programs share. */
/* Seconds on the monotonic clock. */
double gen_now_s(void);
/* A non-negative integer option value; calls usage() (which exits) on
** anything else. */
long long gen_num_arg(const char *s, void (*usage)(void));
/* Scrub tree in place as the server does and serialize it; NULL for NULL.
** Caller frees with cJSON_free(). */
char *gen_scrubbed(cJSON *tree);

/* The median of v[0..n) (n >= 1), sorting v in place. */
double gen_median(double *v, int n);

/* A "kB" field of /proc/PID/status (VmRSS, VmHWM), or -1. */
long gen_proc_kb(int pid, const char *field);

/* Catch the connections SQLite opens from now on (an auto-extension), so
** that a program can reach the connection store_open() opened and apply
** exactly the store's settings.  gen_captured() returns the last one
** caught, or NULL, and the number caught in *count; the connection stays
** the store's (closed by store_close()). */
/* What the server records as a successful log_operation call's arguments
** (its tool_call entry's args): the call's arguments without the payloads
** its entry holds.  A new string freed with cJSON_free(), or NULL. */
char *gen_record_args(const gen_entry *e);

struct sqlite3;
void gen_capture_connections(void);
struct sqlite3 *gen_captured(int *count);

#endif
