/*
** note.h: C2SP signed notes (c2sp.org/signed-note) and Ed25519
** cosignatures (c2sp.org/tlog-cosignature, cosignature/v1).
**
** A signed note is a text ending in a newline, a blank line, and one or
** more lines "— <key name> base64(key ID || signature)".  A key is named
** and identified by the tuple (name, key ID), where the key ID is the first
** four bytes of SHA-256(name || 0x0A || type || public key).  Two types are
** spoken here, both Ed25519:
**
**   0x01  a log's signature over the note text (signed-note);
**   0x04  a witness's timestamped cosignature (tlog-cosignature): the
**         signature, over "cosignature/v1\ntime <T>\n" and the note text,
**         is 8 bytes of big-endian timestamp T followed by 64 bytes.
**
** Verification follows the spec: signatures by unknown keys (a different
** name or ID) are ignored, a signature whose name and ID match a known key
** must verify, and a note needs at least one verified known signature.
** A key counts once however many lines it signed (duplicate lines are each
** checked, never counted twice toward a quorum).  Limits: a note of at most
** NOTE_MAX_SIZE bytes and NOTE_MAX_SIGS signature lines (the spec asks for
** at least 16), key names of at most NOTE_NAME_MAX bytes.
**
** All cryptography is libsodium's.  Nothing here allocates except
** note_sign(), which says who frees.
*/
#ifndef DSS_NOTE_H
#define DSS_NOTE_H

#include <stddef.h>
#include <stdint.h>

#define NOTE_MAX_SIZE (256 * 1024)
#define NOTE_MAX_SIGS 100
#define NOTE_NAME_MAX 255
/* A verifier key's text: name '+' 8 hex '+' base64 of 33 bytes, NUL. */
#define NOTE_VKEY_MAX (NOTE_NAME_MAX + 1 + 8 + 1 + 44 + 1)
/* One signature line we write: "— " name ' ' base64(4 + 72 bytes) '\n' NUL. */
#define NOTE_LINE_MAX (4 + NOTE_NAME_MAX + 1 + 104 + 2)

enum { NOTE_ED25519 = 0x01, NOTE_COSIGNATURE = 0x04 };

enum {
    NOTE_OK = 0,
    NOTE_EFORMAT = -1, /* malformed note, key, name or text */
    NOTE_EBADSIG = -2, /* a signature by a known key does not verify */
    NOTE_ENOSIG = -3,  /* no known key signed */
    NOTE_ENOMEM = -4
};

/* A verifier key: who signs (name, ID), how (type) and with what. */
typedef struct note_key {
    char name[NOTE_NAME_MAX + 1];
    uint32_t id;
    uint8_t type; /* NOTE_ED25519 or NOTE_COSIGNATURE */
    uint8_t pk[32];
} note_key;

/* A signing key: its verifier key and the Ed25519 secret key (libsodium's
** 64-byte form, as src/integrity/signer.h holds it). */
typedef struct note_signer {
    note_key key;
    uint8_t sk[64];
} note_signer;

/* SHA-256(name || 0x0A || type || pk)[:4] as a big-endian number. */
uint32_t note_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t pk[32]);

/* Whether name[0..len) is a valid key name: non-empty, at most
** NOTE_NAME_MAX bytes of UTF-8 without control characters, Unicode spaces
** or '+'.  1 or 0. */
int note_name_ok(const char *name, size_t len);

/* Fill *k for the Ed25519 public key pk of the given type and name.
** Returns NOTE_OK, or NOTE_EFORMAT with err (bad name or type). */
int note_key_make(note_key *k, const char *name, uint8_t type, const uint8_t pk[32],
                  char *err, size_t errlen);

/* Fill *s from an Ed25519 secret key (64 bytes, public key in its second
** half).  Returns NOTE_OK, or NOTE_EFORMAT with err.  Wipe it with
** note_signer_wipe(). */
int note_signer_make(note_signer *s, const char *name, uint8_t type, const uint8_t sk[64],
                     char *err, size_t errlen);
void note_signer_wipe(note_signer *s);

/* Parse a verifier key "<name>+<key ID hex>+<base64(type || key)>" of type
** 0x01 or 0x04 with a 32-byte key; the key ID must be the one computed.
** Returns NOTE_OK, or NOTE_EFORMAT with err naming the problem. */
int note_key_parse(const char *vkey, note_key *out, char *err, size_t errlen);

/* Write k's verifier key text into out.  Returns its length. */
size_t note_key_format(const note_key *k, char out[NOTE_VKEY_MAX]);

/*
** One signature line "— <name> <base64>\n" by s over the note text
** text[0..len) (which must end in a newline).  A NOTE_COSIGNATURE signer
** signs the cosignature/v1 message with timestamp (1 .. 2^63-1, seconds
** since the epoch); a NOTE_ED25519 signer ignores it.  Writes a NUL-ended
** line into line (NOTE_LINE_MAX bytes).  Returns NOTE_OK, or NOTE_EFORMAT
** with err (bad text, bad timestamp).
*/
int note_sign_line(const note_signer *s, const char *text, size_t len, uint64_t timestamp,
                   char line[NOTE_LINE_MAX], char *err, size_t errlen);

/*
** The signed note: text[0..len), a blank line, and one line per signer
** (each as note_sign_line() writes it).  Returns a NUL-terminated string
** the caller frees with free() (its length in *out_len when not NULL), or
** NULL with a sentence in err.
*/
char *note_sign(const char *text, size_t len, const note_signer *signers, size_t nsigners,
                uint64_t timestamp, size_t *out_len, char *err, size_t errlen);

/* One signature line of a parsed note; every pointer is into the note. */
typedef struct note_sig {
    const char *name;
    size_t name_len;
    uint32_t id;
    const char *b64; /* the base64 after the name */
    size_t b64_len;
    const char *line; /* the whole line, from "—" to its newline included */
    size_t line_len;
} note_sig;

/* A parsed note.  It points into the message it was parsed from, which
** must outlive it. */
typedef struct note {
    const char *text; /* the signed text, its final newline included */
    size_t text_len;
    note_sig sigs[NOTE_MAX_SIGS];
    size_t nsigs;
} note;

/*
** Parse msg[0..len) as a signed note, checking every format rule: the
** size limit, valid UTF-8 without control characters but newline, the
** text separated from the signatures by the last blank line, at least one
** and at most NOTE_MAX_SIGS signature lines each "— name base64\n" with a
** valid key name and at least 5 bytes of canonical base64.  Verifies
** nothing.  Returns NOTE_OK, or NOTE_EFORMAT with err.
*/
int note_parse(const char *msg, size_t len, note *out, char *err, size_t errlen);

/* What note_check found for one known key. */
typedef struct note_verdict {
    int valid;          /* a line by this key verified */
    int invalid;        /* a line matching this key's name and ID did not */
    uint64_t timestamp; /* cosignature: the newest verified time */
    size_t newest;      /* the index in the note's sigs of the line of that
                           time (of the first valid line for other types) */
} note_verdict;

/* Whether the signature line s names key k (its name and ID). */
int note_sig_by(const note_sig *s, const note_key *k);

/*
** Check n's signatures against keys[0..nkeys): each line whose name and ID
** match a key is verified with it (lines matching no key are ignored), and
** out[i] says what key i's lines gave.  Returns the number of keys with a
** valid signature and no invalid one (>= 0), or NOTE_EFORMAT with err when
** two keys share a name and an ID (no line could be told apart).
*/
int note_check(const note *n, const note_key *keys, size_t nkeys, note_verdict *out,
               char *err, size_t errlen);

/*
** Parse and verify as the spec's clients do: NOTE_OK when at least one
** known key's signature verifies and none fails; NOTE_EBADSIG naming the
** key whose signature fails; NOTE_ENOSIG when no known key signed;
** NOTE_EFORMAT for a malformed note.  Fills *out either way it parsed.
*/
int note_open(const char *msg, size_t len, const note_key *keys, size_t nkeys, note *out,
              char *err, size_t errlen);

#endif
