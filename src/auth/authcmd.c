/*
** authcmd.c: the `auth` command's work (see authcmd.h).
*/
#include "authcmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokens.h"

int authcmd_login(const oauth_options *o, FILE *out, char *err, size_t errlen)
{
    oauth *a = oauth_new(o, err, errlen);
    if (!a) return -1;
    int rc = oauth_login(a, err, errlen);
    if (rc == 0) {
        char *shown = tok_display_url(o->server_url);
        fprintf(out, "authorized: %s\n", shown ? shown : "(the server)");
        free(shown);
    }
    oauth_free(a);
    return rc;
}

static int by_url(const void *a, const void *b)
{
    const tok_record *x = a, *y = b;
    return strcmp(x->server_url, y->server_url);
}

int authcmd_list(const char *config_dir, FILE *out, char *err, size_t errlen)
{
    tok_record *list;
    int n = tok_list(config_dir, &list, err, errlen);
    if (n < 0) return -1;
    if (n == 0) fprintf(out, "no server has stored authorization\n");
    if (n > 1) qsort(list, (size_t)n, sizeof *list, by_url);
    time_t now = time(NULL);
    for (int i = 0; i < n; i++) {
        tok_record *t = &list[i];
        char *shown = tok_display_url(t->server_url);
        char when[64] = "no access token";
        if (t->access_token && t->expires_at) {
            time_t e = (time_t)t->expires_at;
            struct tm tm;
            /* tok_parse() bounds expires_at, but gmtime_r() is the one to say
            ** what it can show. */
            if (gmtime_r(&e, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            else snprintf(when, sizeof when, "at an unrepresentable time");
            if (e <= now) strcat(when, " (expired)");
        } else if (t->access_token) {
            snprintf(when, sizeof when, "no expiry given");
        }
        fprintf(out, "%s\texpires %s\t%s\n", shown ? shown : "(unreadable URL)", when,
                t->refresh_token ? "refresh token held" : "no refresh token");
        free(shown);
        tok_record_free(t);
    }
    free(list);
    return 0;
}

int authcmd_logout(const char *config_dir, const char *url, FILE *out, char *err,
                   size_t errlen)
{
    int lk = tok_lock(config_dir, url, err, errlen);
    if (lk < 0) return -1;
    int rc = tok_delete(config_dir, url, err, errlen);
    tok_unlock(lk);
    if (rc < 0) return -1;
    char *shown = tok_display_url(url);
    fprintf(out, rc ? "forgot the authorization of %s\n" : "nothing stored for %s\n",
            shown ? shown : url);
    free(shown);
    return 0;
}
