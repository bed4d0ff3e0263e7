/*
** authcmd.h: what `dss-audit-mcp auth` does, without argv (the command
** parses its options and calls these).
**
**   auth --url URL      authorize now, for clients that start servers
**                       headless (the browser step needs a person)
**   auth --list         every server with stored authorization: its URL
**                       (without credentials or query), the expiry of its
**                       access token, whether a refresh token is held;
**                       never a token
**   auth --logout URL   forget the tokens and registration of URL
**
** Each returns 0, or -1 with a sentence in err; output for people goes to
** out.
*/
#ifndef DSS_AUTHCMD_H
#define DSS_AUTHCMD_H

#include <stddef.h>
#include <stdio.h>

#include "oauth.h"

int authcmd_login(const oauth_options *o, FILE *out, char *err, size_t errlen);
int authcmd_list(const char *config_dir, FILE *out, char *err, size_t errlen);
int authcmd_logout(const char *config_dir, const char *url, FILE *out, char *err,
                   size_t errlen);

#endif
