/*
** cursor.c: the cost of a local ship cursor's save and load, as a shipper
** pays them after every batch (src/ship/cursor.c).
**
**   bench_cursor DB [N]
**
** Opens the cursors beside DB (DB.ship/cursors.db, created) and does N
** (default 2000) saves, each followed by a load that must give it back.
** Meant for callgrind, where instruction counts compare two builds of
** cursor.c on a busy machine (docs/performance.md, "Ship cursors").
*/
#include <stdio.h>
#include <stdlib.h>

#include "ship/cursor.h"

int main(int argc, char **argv)
{
    char err[512], key[65];
    cursor *c = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_cursor DB [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    cursor_key("relp://h:2514", "log-a", key);
    if (cursor_open_local(argv[1], NULL, 1, &c, err, sizeof err) != CURSOR_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ship_mark m = {0}, got;
    int found, rc = 0;
    for (int i = 1; i <= n && rc == 0; i++) {
        m.seq = i;
        snprintf(m.id, sizeof m.id, "id-%d", i);
        snprintf(m.hash, sizeof m.hash, "%064d", i);
        if (cursor_save(c, key, "relp://h:2514", "log-a", &m, err, sizeof err) != CURSOR_OK ||
            cursor_load(c, "log-a", key, &got, &found, err, sizeof err) != CURSOR_OK ||
            !found || got.seq != i) {
            fprintf(stderr, "save/load %d: %s\n", i, err);
            rc = 1;
        }
    }
    cursor_close(c);
    return rc;
}
