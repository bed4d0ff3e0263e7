/*
** scrub.c: key-name redaction over cJSON trees.
**
** The walk is iterative over siblings and recursive only in depth; the
** depth of any tree reaching here is bounded by the protocol layer's nesting
** limit, so the recursion cannot exhaust the stack.
*/
#include "scrub.h"

#include <ctype.h>
#include <string.h>

static const char *const sensitive_words[] = {
    "token", "api_key", "secret", "password", "credential",
    "auth", "figma_token", "encrypted_data",
};

/* Case-insensitive substring search over ASCII; secrets' key names are
** matched the way the seed's key.lower() matched them. */
static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == needle[i])
            i++;
        if (i == n) return 1;
    }
    return 0;
}

int scrub_key_is_sensitive(const char *key)
{
    if (!key) return 0;
    for (size_t i = 0; i < sizeof sensitive_words / sizeof *sensitive_words; i++)
        if (contains_nocase(key, sensitive_words[i])) return 1;
    return 0;
}

int scrub_tree(cJSON *item)
{
    if (!item || !(cJSON_IsObject(item) || cJSON_IsArray(item))) return 0;
    int rc = 0;
    int in_object = cJSON_IsObject(item);
    cJSON *child = item->child;
    while (child) {
        cJSON *next = child->next;
        if (in_object && scrub_key_is_sensitive(child->string)) {
            cJSON *red = cJSON_CreateString(SCRUB_REDACTED);
            if (red) {
                /* The replacement takes over the member's key. */
                red->string = child->string;
                child->string = NULL;
                cJSON_ReplaceItemViaPointer(item, child, red);
            } else {
                cJSON_Delete(cJSON_DetachItemViaPointer(item, child));
                rc = -1;
            }
        } else if (scrub_tree(child) != 0) {
            rc = -1;
        }
        child = next;
    }
    return rc;
}
