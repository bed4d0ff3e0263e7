/*
** uuid7.h: time-ordered entry ids (UUID version 7, RFC 9562).
**
** An entry's id is indexed (UNIQUE), so where a new id falls in that index
** decides how many pages an insert dirties.  Random (version 4) ids land on
** a random leaf page each, so a group commit of 64 rows rewrites about 64
** leaf pages of the id index; ids that grow with time are all appended at
** the right edge, a page or two per group.  A version 7 UUID starts with
** the Unix time in milliseconds, so later ids sort after earlier ones, as
** binary and as lower-case text alike.
*/
#ifndef DSS_UUID7_H
#define DSS_UUID7_H

#include <stdint.h>

/* Size of the buffer uuid7_next() writes: 36 characters and a NUL. */
#define UUID7_BUFLEN 37

/*
** Write a new version 7 UUID as lower-case 8-4-4-4-12 text into out.
** unix_ms is the time to embed, milliseconds since the Unix epoch (clamped
** to 0 .. 2^48 - 1).  Ids are strictly increasing within the process, even
** when the clock stands still or steps back: the 12 bits after the version
** are a counter (RFC 9562 method 1), started at a random value below 2048
** in each new millisecond and incremented within one; when it overflows it
** carries into the time field, so the 60 bits of time and counter together
** only ever grow.  The 62 bits after the variant are fresh random bytes
** from libsodium.  Safe to call from several threads.
*/
void uuid7_next(int64_t unix_ms, char out[UUID7_BUFLEN]);

#endif
