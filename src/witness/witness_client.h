/*
** witness_client.h: asking a witness to cosign a checkpoint (the log's side
** of c2sp.org/tlog-witness), over HTTP with libcurl.
**
** The log POSTs "old <size>", the consistency proof from that size (made
** here from the log's tree through a merkle_reader), a blank line and its
** signed checkpoint to URL/add-checkpoint.  A 409 says the witness holds
** another size: the request is made again from that size, once or twice,
** on the same connection.  A 200 carries cosignature lines, which are
** checked against the witness's key before they are returned; lines by
** other keys are dropped, as the spec says.
**
** Nothing here waits without a limit: every request has a connect and a
** total timeout, so a witness that is down or stalls costs at most the
** timeout (the caller decides when to try again; phase 2's `serve` never
** calls this on an agent's path).  libcurl must have been initialized
** (curl_global_init) before threads start; curl_easy_init does it
** otherwise, which is safe in libcurl builds with CURL_VERSION_THREADSAFE.
*/
#ifndef DSS_WITNESS_CLIENT_H
#define DSS_WITNESS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "../tlog/merkle.h"
#include "../tlog/note.h"

enum {
    WITNESS_OK = 0,
    WITNESS_EUNREACHABLE = -1, /* no answer: connection refused, timeout, DNS */
    WITNESS_EREFUSED = -2,     /* the witness said no (4xx/5xx other than a 409 followed) */
    WITNESS_EAHEAD = -3,       /* the witness holds a larger tree than the checkpoint's */
    WITNESS_EREPLY = -4,       /* a 200 without a valid cosignature by the witness's key */
    WITNESS_ETREE = -5,        /* the log's own tree could not give a proof */
    WITNESS_EINVAL = -6,       /* a bad URL, key or checkpoint */
    WITNESS_ENOMEM = -7
};

/* What one submission gave. */
typedef struct witness_reply {
    char *cosignatures; /* the witness's valid cosignature lines ("— ...\n"), the
                           newest (the one of timestamp) first, which the caller
                           frees with free(); NULL unless WITNESS_OK */
    size_t len;
    uint64_t timestamp; /* the newest cosignature's time */
    int64_t witness_size; /* the size the witness holds after the exchange (its 409
                             answer when refused or ahead), -1 when unknown */
    long http_status;     /* the last answer's status, 0 when none came */
} witness_reply;

/*
** Submit the signed checkpoint[0..len) to the witness at url (the
** submission prefix; the request goes to url/add-checkpoint), whose
** cosignature key is key (type 0x04).  old_size is the size this witness
** last cosigned, as far as the caller knows (0 when unknown); tree must
** serve the log's stored hashes up to the checkpoint's size.  timeout_ms
** bounds each request (connect included).  Returns WITNESS_OK with *out
** filled, or a negative WITNESS_ code with a sentence in err (and out's
** http_status and witness_size saying what is known).
*/
int witness_submit(const char *url, const note_key *key, const char *checkpoint, size_t len,
                   int64_t old_size, const merkle_reader *tree, long timeout_ms,
                   witness_reply *out, char *err, size_t errlen);

/*
** The two answers witness_submit() reads, parsed (public for the tests and
** the fuzzer, tests/fuzz/fuzz_witness.c).  witness_reply_parse: a 200's
** body reply[0..len), the cosignature lines over the submitted
** checkpoint's note n; the lines by key are kept when every one of them
** verifies (lines by other keys are dropped).  Returns WITNESS_OK with
** out's cosignatures, len and timestamp set, or WITNESS_EREPLY /
** WITNESS_ENOMEM with err.
*/
int witness_reply_parse(const note *n, const note_key *key, const char *reply, size_t len,
                        witness_reply *out, char *err, size_t errlen);

/* A 409's answer: its Content-Type type and body text[0..len), the size the
** witness holds (text/x.tlog.size, a decimal and a newline).  0 with *size
** set, or -1. */
int witness_size_parse(const char *type, const char *text, size_t len, int64_t *size);

/* Free out's cosignatures and zero it.  Fine on a zeroed reply. */
void witness_reply_free(witness_reply *out);

#endif
