/*
** jbuf.h: JSON text built by appending to a growing buffer.
**
** Replies to read calls are hundreds of kilobytes of JSON, and printing
** them through cJSON costs more than reading the rows: cJSON's printer
** handles one character at a time and a tree must be built first.  A jbuf
** lets a caller write JSON text directly (stored JSON spliced in as it is,
** strings escaped by runs) and prints a cJSON tree with the same text that
** cJSON_PrintUnformatted() gives, only faster.
**
** Appending never reports errors one by one: the first failed allocation
** marks the buffer failed, later appends do nothing, and jbuf_take() then
** returns NULL.  Builders check once, at the end.
**
** It is the program's one growable byte buffer, for any text or bytes
** (a scrubbed copy, a file read whole, lines gathered): only the JSON
** helpers below are about JSON.
*/
#ifndef DSS_JBUF_H
#define DSS_JBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

/* Zero-initialize ({0}) before use; release with jbuf_take() or jbuf_free().
** A failed buffer holds nothing (p is NULL, len and cap are 0). */
typedef struct jbuf {
    char *p;
    size_t len, cap; /* cap > len while p is set: room for the final NUL */
    int failed;      /* an allocation failed: the text is lost */
} jbuf;

/* The out-of-line half of jbuf_put() and jbuf_putc(): grows the buffer. */
void jbuf_put_grow(jbuf *b, const char *s, size_t n);

/* Raw bytes, copied as they are: structural characters, numbers, and JSON
** text already known to be valid.  The common case, where the bytes fit,
** is inline: entries are written a few bytes at a time. */
static inline void jbuf_put(jbuf *b, const char *s, size_t n)
{
    if (n < b->cap - b->len) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    } else {
        jbuf_put_grow(b, s, n);
    }
}

static inline void jbuf_putc(jbuf *b, char c)
{
    if (b->cap - b->len > 1) b->p[b->len++] = c;
    else jbuf_put_grow(b, &c, 1);
}

void jbuf_puts(jbuf *b, const char *s);

/* Room for extra more bytes (and the final NUL) without another
** allocation, for a caller that knows the size it will build or writes
** into p + len itself: 0, or -1 when the buffer is (now) failed. */
int jbuf_reserve(jbuf *b, size_t extra);

/* Append what is left in f, up to max bytes: 0 at its end; -1 when
** reading failed (errno says why) or memory ran out (b->failed); -2 when
** f holds more than max (the buffer keeps the first max bytes or more). */
int jbuf_read(jbuf *b, FILE *f, size_t max);

/* Mark the buffer failed and drop its text: for a builder whose source of
** text ran out of memory. */
void jbuf_fail(jbuf *b);

/* s[0..n) as a quoted JSON string.  Escapes exactly what JSON requires
** (the quote, the backslash and control characters below 0x20, as cJSON
** writes them) and copies every other byte, so UTF-8 passes unchanged. */
void jbuf_string(jbuf *b, const char *s, size_t n);

/* s[0..n) escaped as jbuf_string() escapes it, without the quotes: the
** inside of a JSON string whose value is s. */
void jbuf_escaped(jbuf *b, const char *s, size_t n);

/* s[0..n) as a quoted JSON string into raw (as jbuf_string()) and, into
** esc, the text just written to raw escaped once more (as jbuf_escaped()):
** for a page printed at once as JSON and as the JSON string holding that
** JSON (MCP's text block).  One scan of s serves both when s needs no
** escape, the common case.  When raw fails, esc is marked failed too. */
void jbuf_string_twice(jbuf *raw, jbuf *esc, const char *s, size_t n);

/* raw's text from byte `from` to its end, escaped into esc as
** jbuf_escaped(): what a builder writing both forms appends to esc after
** writing anything to raw that it cannot write to esc more cheaply. */
void jbuf_escape_since(jbuf *esc, const jbuf *raw, size_t from);

/* For tests: with on 0, the escaper takes its portable path even where
** the CPU offers the wider one (jbuf.c); 1 restores it.  Returns whether
** the CPU offers it. */
int jbuf_testing_wide(int on);

/* A signed integer in decimal. */
void jbuf_int(jbuf *b, int64_t v);

/* The unformatted JSON text of item (and its children), byte for byte what
** cJSON_PrintUnformatted() writes.  An invalid item (one cJSON would refuse
** to print, e.g. a raw item without text) marks the buffer failed. */
void jbuf_tree(jbuf *b, const cJSON *item);

/* The text as a NUL-terminated string the caller frees with free(), or NULL
** when an append failed.  Either way the buffer is left empty. */
char *jbuf_take(jbuf *b);

/* The text as a cJSON raw item that owns it, for splicing a large text into
** a tree without copying it: a new item the caller frees with cJSON_Delete()
** (or hands to a tree that does), or NULL when an append failed or memory
** runs out.  Either way the buffer is left empty. */
cJSON *jbuf_take_raw(jbuf *b);

/* Drop the text, leaving the buffer empty. */
void jbuf_free(jbuf *b);

/* cJSON_PrintUnformatted() through a jbuf: a new string the caller frees
** with free(), or NULL when memory runs out or item is invalid. */
char *jbuf_print(const cJSON *item);

#endif
