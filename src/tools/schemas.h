/*
** schemas.h: the JSON files of schemas/, embedded in the binary at build
** time by cmake/embed_schemas.cmake.  Each tool is described by three files:
** NAME.tool.json (name, title, description, annotations), NAME.input.json
** and NAME.output.json.  tools.c builds tools/list from them and validates
** arguments against them, so what clients are told is what is enforced.
*/
#ifndef DSS_SCHEMAS_H
#define DSS_SCHEMAS_H

#include <stddef.h>

typedef struct schema_file {
    const char *name; /* file name within schemas/ */
    const char *text; /* its bytes, NUL-terminated */
    size_t len;
} schema_file;

extern const schema_file schema_files[];
extern const size_t schema_file_count;

#endif
