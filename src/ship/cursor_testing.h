/*
** cursor_testing.h: what the tests may ask of a local cursor beyond
** cursor.h, and nothing else may: how often one of its statements ran on
** the one prepared copy it keeps, so that a test sees the statements
** prepared once per connection rather than once per call.
*/
#ifndef DSS_CURSOR_TESTING_H
#define DSS_CURSOR_TESTING_H

#include <stdint.h>

#include "cursor.h"

/* The runs of the prepared statement which ("load", "save" or "each") of
** the local cursor c since it was prepared (0 when it was not yet), or -1
** for a cursor that is not local or an unknown name. */
int64_t cursor_testing_runs(cursor *c, const char *which);

#endif
