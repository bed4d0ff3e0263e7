/*
** viewer_report.h: `dss-audit-mcp report`, the evidence report.
**
** One self-contained HTML file a reviewer can archive or e-mail: the
** viewer's own front end (src/viewer/web/, the same files `ui` serves)
** with the script and style inlined and the data embedded, so it opens
** anywhere without a server and makes no request at all (its Content
** Security Policy allows only its own inline script and style, by hash).
** It holds the period and filters, totals by event type and by user, the
** activity per day, every matching entry, and the verification of the
** whole chain with its head, the checkpoints covering the entries and the
** public key, so that a reader can check the proof later with
** `dss-audit-mcp verify --checkpoint`.
**
** Entries are streamed from the store one at a time into the file, so
** memory does not grow with the period (the totals grow only with the
** number of distinct users and days).
*/
#ifndef DSS_VIEWER_REPORT_H
#define DSS_VIEWER_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "../store/store.h"

typedef struct viewer_report_options {
    const store_query *filter;      /* user, project, event type, operation,
                                       since, until (normalized); or NULL */
    const char *since_arg, *until_arg; /* as the person wrote them, for the title */
    const char *output;             /* a new file (mode 0600, fsynced) */
    const char *trusted_public_key; /* hex, or NULL: each checkpoint's own */
    FILE *progress;                 /* progress bar here when a terminal;
                                       NULL: stderr */
} viewer_report_options;

/* Write the report.  Returns 0, or -1 with a sentence in err; -2 when
** opt->output cannot be created (it exists, or its folder does not).  On
** failure nothing is left at opt->output. */
int viewer_report_write(store *st, const viewer_report_options *opt, char *err,
                        size_t errlen);

/* Copy JSON text s[0..n) to f with '<', '>' and '&' written as \u003c,
** \u003e and \u0026 (they only occur inside strings), so that the text can
** sit inside an HTML <script> element without ending it.  0, or -1 on a
** write error. */
int viewer_report_put_json(FILE *f, const char *s, size_t n);

#endif
