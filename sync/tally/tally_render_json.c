/* tally_render_json.c — JSON renderers (see tally_render.h): the rows of GET /api/v1/tally. Also home of
 * TallyBuf, the text buffer every renderer writes into. */
#include "sync/tally/tally_render.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- TallyBuf ----------------------------------------------------------------------------------------- */

void tally_buf_put(TallyBuf *b, const char *s, size_t n)
{
    if(b->oom)
        return;
    if(b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while(ncap < b->len + n + 1)
            ncap *= 2;
        char *nd = realloc(b->data, ncap);
        if(!nd) {
            b->oom = true;
            return;
        }
        b->data = nd;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tally_buf_puts(TallyBuf *b, const char *s)
{
    tally_buf_put(b, s, strlen(s));
}

void tally_buf_printf(TallyBuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if(n < 0)
        return;
    if((size_t)n < sizeof small) {
        tally_buf_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if(!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tally_buf_put(b, big, (size_t)n);
    free(big);
}

char *tally_buf_take(TallyBuf *b, size_t *len)
{
    char *out = NULL;
    if(!b->oom) {
        if(!b->data)
            tally_buf_put(b, "", 0);
        out = b->oom ? NULL : b->data;
        if(out) {
            if(len)
                *len = b->len;
            b->data = NULL;
        }
    }
    tally_buf_free(b);
    return out;
}

void tally_buf_free(TallyBuf *b)
{
    free(b->data);
    *b = (TallyBuf){0};
}

/* ---- API rows ----------------------------------------------------------------------------------------- */

static json_t *round2(double v)
{
    return json_real(round(v * 100) / 100);
}

char *tally_rows_json(const TallyRow *rows, size_t n_rows)
{
    json_t *root = json_object(), *arr = json_array();
    char *out = NULL;
    if(!root || !arr || json_object_set(root, "rows", arr))
        goto done;
    for(size_t i = 0; i < n_rows; i++) {
        const TallyRow *r = &rows[i];
        json_t *o = json_object();
        if(!o || json_array_append_new(arr, o))
            goto done;
        bool has = r->n > 0, g = r->group >= 0;
        const char *s25 = tally_status_code(r->status[0]), *s30 = tally_status_code(r->status[1]);
        if(json_object_set_new(o, "key", json_string(r->key)) || json_object_set_new(o, "n", json_integer(r->n)) ||
           json_object_set_new(o, "satisfied", json_integer(r->satisfied)) ||
           json_object_set_new(o, "pct", has ? round2(r->pct) : json_null()) ||
           json_object_set_new(o, "wilson_low", has ? round2(r->wilson_low) : json_null()) ||
           json_object_set_new(o, "wilson_high", has ? round2(r->wilson_high) : json_null()) ||
           json_object_set_new(o, "flagged", json_integer(r->flagged)) ||
           json_object_set_new(o, "group", g ? json_string(proto_group_code((ProtoGroup)r->group)) : json_null()) ||
           json_object_set_new(o, "target_2025", g && r->target[0] >= 0 ? json_real(r->target[0]) : json_null()) ||
           json_object_set_new(o, "target_2030", g && r->target[1] >= 0 ? json_real(r->target[1]) : json_null()) ||
           json_object_set_new(o, "status_2025", s25 ? json_string(s25) : json_null()) ||
           json_object_set_new(o, "status_2030", s30 ? json_string(s30) : json_null()))
            goto done;
    }
    out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
done:
    json_decref(arr);
    json_decref(root);
    return out;
}
