/*
** wipe.c: see wipe.h.  One place for the secret-wiping free the commands
** and main.c use, so that none of them goes back to a memset the
** optimizer removes.
*/
#include "wipe.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void wipe_free_str(char *s)
{
    if (!s) return;
    sodium_memzero(s, strlen(s));
    free(s);
}
