/*
** wipe.h: freeing memory that held a secret (a token, a password in a
** connection string, an HTTP header's value) so the secret does not linger
** in freed heap.  A memset before free is a dead store the compiler may
** drop; sodium_memzero is not.
*/
#ifndef DSS_WIPE_H
#define DSS_WIPE_H

/* Overwrite the string s (up to its NUL) and free it.  NULL is ignored. */
void wipe_free_str(char *s);

#endif
