/*
** uuid7.c: version 7 UUIDs that only ever grow within the process.
**
** The last 60-bit (time << 12 | counter) value handed out is kept in one
** atomic word; each id takes the next value with a compare-and-swap, so two
** threads can never hand out the same value or step it backwards.  The
** random parts come from libsodium, whose generator needs no system call
** per id; libuuid only formats the bytes.
*/
#include "uuid7.h"

#include <sodium.h>
#include <stdatomic.h>
#include <uuid/uuid.h>

#define MAX_MS ((INT64_C(1) << 48) - 1)

/* The (time << 12 | counter) of the newest id, 0 before the first. */
static _Atomic uint64_t last_clock;

void uuid7_next(int64_t unix_ms, char out[UUID7_BUFLEN])
{
    unsigned char r[10];
    randombytes_buf(r, sizeof r);
    if (unix_ms < 0) unix_ms = 0;
    if (unix_ms > MAX_MS) unix_ms = MAX_MS;
    /* A new millisecond starts its counter at a random value below 2048,
    ** which leaves at least 2048 ids for that millisecond before the
    ** counter carries into the time field. */
    uint64_t fresh = (uint64_t)unix_ms << 12 | (((unsigned)r[8] << 8 | r[9]) & 0x7ff);
    uint64_t old = atomic_load(&last_clock), next;
    do {
        next = (uint64_t)unix_ms > old >> 12 ? fresh : old + 1;
    } while (!atomic_compare_exchange_weak(&last_clock, &old, next));
    /* The time is clamped to 48 bits above; only a clock set to the year
    ** 10889 could make the counter carry out of them. */
    uint64_t ms = next >> 12;
    unsigned counter = (unsigned)(next & 0xfff);
    uuid_t u;
    for (int i = 0; i < 6; i++) u[i] = (unsigned char)(ms >> (40 - 8 * i));
    u[6] = (unsigned char)(0x70 | counter >> 8); /* version 7 */
    u[7] = (unsigned char)(counter & 0xff);
    u[8] = (unsigned char)(0x80 | (r[0] & 0x3f)); /* RFC 9562 variant 10 */
    for (int i = 9; i < 16; i++) u[i] = r[i - 8];
    uuid_unparse_lower(u, out);
}
