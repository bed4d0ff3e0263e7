/*
** jsonnum.c: exact number printing for cJSON trees (see jsonnum.h).
*/
#include "jsonnum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest "%.*g" text of v that reads back as exactly v. */
static void shortest(double v, char out[32])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

static int fix_number(cJSON *item)
{
    double v = item->valuedouble;
    if (!isfinite(v)) return 0; /* refused earlier by the protocol layer */
    if (v == (double)item->valueint && fabs(v) < 2147483647.0) return 0;
    char cjson_way[32], exact[32];
    snprintf(cjson_way, sizeof cjson_way, "%1.15g", v);
    if (strtod(cjson_way, NULL) == v) return 0;
    shortest(v, exact);
    char *raw = malloc(strlen(exact) + 1);
    if (!raw) return -1;
    memcpy(raw, exact, strlen(exact) + 1);
    item->type = cJSON_Raw | (item->type & cJSON_StringIsConst);
    item->valuestring = raw;
    return 0;
}

int jsonnum_exact(cJSON *item)
{
    int rc = 0;
    for (; item; item = item->next) {
        if (cJSON_IsNumber(item)) {
            if (fix_number(item) != 0) rc = -1;
        } else if ((cJSON_IsObject(item) || cJSON_IsArray(item)) &&
                   jsonnum_exact(item->child) != 0) {
            rc = -1;
        }
    }
    return rc;
}
