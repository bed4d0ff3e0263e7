/*
** viewer_web.h: the viewer's front end (src/viewer/web/: index.html,
** app.css, app.js), embedded in the binary at build time by
** cmake/embed_files.cmake, as the tool schemas are.  `ui` serves these
** files; `report` inlines the same files into one HTML document.
*/
#ifndef DSS_VIEWER_WEB_H
#define DSS_VIEWER_WEB_H

#include <stddef.h>

typedef struct viewer_web_file {
    const char *name; /* file name within src/viewer/web/ */
    const char *text; /* its bytes, NUL-terminated */
    size_t len;
} viewer_web_file;

extern const viewer_web_file viewer_web_files[];
extern const size_t viewer_web_file_count;

/* The embedded file called name, or NULL. */
const viewer_web_file *viewer_web_find(const char *name);

#endif
