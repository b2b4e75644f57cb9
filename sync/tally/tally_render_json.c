/* tally_render_json.c — JSON renderers (see tally_render.h): the rows of GET /api/v1/tally. Also home of
 * TallyBuf, the text buffer every renderer writes into. */
#include "sync/tally/tally_render.h"

#include "sync/tally/tally_export.h"
#include "sync/tally/tally_text.h"

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

/* The wait indicator: n, within, and pct with its interval (null when n == 0). */
static json_t *wait_json(const TallyWait *w)
{
    json_t *o = json_object();
    if(!o)
        return NULL;
    bool has = w->n > 0;
    json_object_set_new(o, "n", json_integer(w->n));
    json_object_set_new(o, "within_30", json_integer(w->within));
    json_object_set_new(o, "pct", has ? round2(w->pct) : json_null());
    json_object_set_new(o, "wilson_low", has ? round2(w->wilson_low) : json_null());
    json_object_set_new(o, "wilson_high", has ? round2(w->wilson_high) : json_null());
    return o;
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
           json_object_set_new(o, "status_2030", s30 ? json_string(s30) : json_null()) ||
           json_object_set_new(o, "wait", wait_json(&r->wait)))
            goto done;
    }
    out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
done:
    json_decref(arr);
    json_decref(root);
    return out;
}

/* ---- The report model ---------------------------------------------------------------------------------- */

static json_t *pct_or_null(const TallyFigure *f, double v)
{
    return f->n ? round2(v) : json_null();
}

static json_t *status_json(TallyStatus s)
{
    const char *c = tally_status_code(s);
    return c ? json_string(c) : json_null();
}

/* A name from the data: bytes that are not UTF-8 become U+FFFD (json_string would refuse the whole string). */
static json_t *name_json(const char *s)
{
    char clean[4 * TALLY_NAME_MAX + 8];
    size_t n = tally_utf8_clean(s, strlen(s), clean, sizeof clean);
    return json_stringn(clean, n);
}

static json_t *figure_json(const TallyFigure *f)
{
    json_t *o = json_object();
    if(!o)
        return NULL;
    json_object_set_new(o, "n", json_integer(f->n));
    json_object_set_new(o, "satisfied", json_integer(f->satisfied));
    json_object_set_new(o, "flagged", json_integer(f->flagged));
    json_object_set_new(o, "pct", pct_or_null(f, f->pct));
    json_object_set_new(o, "wilson_low", pct_or_null(f, f->wilson_low));
    json_object_set_new(o, "wilson_high", pct_or_null(f, f->wilson_high));
    json_object_set_new(o, "status_2025", status_json(f->status[0]));
    json_object_set_new(o, "status_2030", status_json(f->status[1]));
    json_object_set_new(o, "wait", wait_json(&f->wait));
    return o;
}

static json_t *date_json(int64_t day)
{
    char d[PTIME_DATE_LEN];
    ptime_format_date(day, d);
    return json_string(d);
}

static json_t *time_json(int64_t t)
{
    if(!t)
        return json_null();
    char s[PTIME_TEXT_MAX];
    ptime_format(t, PTIME_VN_OFFSET_MIN, s);
    return json_string(s);
}

static json_t *alert_json(const TallyReport *r, const TallyReportAlert *a)
{
    json_t *o = json_object();
    if(!o)
        return NULL;
    json_object_set_new(o, "kind", json_string(tally_alert_code(a->kind)));
    json_object_set_new(o, "unit", json_string(r->units[a->unit].code));
    json_object_set_new(o, "unit_name", name_json(r->units[a->unit].name));
    json_object_set_new(o, "group", a->group >= 0 ? json_string(proto_group_code((ProtoGroup)a->group)) : json_null());
    json_object_set_new(o, "device", a->device >= 0 ? json_string(r->devices[a->device].id) : json_null());
    json_object_set_new(o, "value", round2(a->value));
    json_object_set_new(o, "threshold", round2(a->threshold));
    return o;
}

char *tally_report_json(const TallyReport *r)
{
    json_t *root = json_object();
    if(!root)
        return NULL;
    json_t *meta = json_object();
    json_object_set_new(root, "meta", meta);
    json_object_set_new(meta, "period", json_string(r->period.code));
    json_object_set_new(meta, "period_label", json_string(r->period.label_vi));
    json_object_set_new(meta, "from", date_json(r->period.from_day));
    json_object_set_new(meta, "to", date_json(r->period.to_day));
    json_object_set_new(meta, "prev_from", date_json(r->period.prev_from_day));
    json_object_set_new(meta, "prev_to", date_json(r->period.prev_to_day));
    json_object_set_new(meta, "scope", r->scope_code[0] ? json_string(r->scope_code) : json_null());
    json_object_set_new(meta, "scope_name", name_json(r->scope_name));
    json_object_set_new(meta, "unit", r->unit_code[0] ? json_string(r->unit_code) : json_null());
    json_object_set_new(meta, "unit_name", name_json(r->unit_name));
    json_object_set_new(meta, "area", r->area >= 0 ? json_string(proto_area_code((ProtoArea)r->area)) : json_null());
    json_object_set_new(meta, "respondent", r->respondent ? json_string(proto_respondent_code(
                                                                  (ProtoRespondent)r->respondent))
                                                            : json_null());
    json_object_set_new(meta, "min_n", json_integer(r->min_n));
    json_object_set_new(meta, "generated_at", time_json(r->generated_at));
    json_object_set_new(meta, "data_last_received", time_json(r->data_last_received));
    json_object_set_new(meta, "note", json_string(tally_str(r->note_key)));
    json_object_set_new(meta, "note_supplementary", json_string(tally_str(r->note_supplementary_key)));
    json_object_set_new(meta, "rank_method", json_string("wilson_high_vs_target_2025"));
    json_object_set_new(root, "total", figure_json(&r->total));

    json_t *groups = json_array();
    json_object_set_new(root, "groups", groups);
    for(int g = 0; g < GROUP_COUNT; g++) {
        const TallyReportGroup *rg = &r->groups[g];
        json_t *o = json_object(), *months = json_array();
        json_array_append_new(groups, o);
        json_object_set_new(o, "group", json_string(proto_group_code((ProtoGroup)g)));
        json_object_set_new(o, "name_vi", json_string(proto_group_name_vi((ProtoGroup)g)));
        json_object_set_new(o, "target_2025", json_real(rg->target[0]));
        json_object_set_new(o, "target_2030", json_real(rg->target[1]));
        json_object_set_new(o, "current", figure_json(&rg->cur));
        json_object_set_new(o, "previous", figure_json(&rg->prev));
        json_object_set_new(o, "change_pts", rg->has_change ? round2(rg->change_pts) : json_null());
        json_object_set_new(o, "trend_year", json_integer(r->trend_year));
        json_object_set_new(o, "months", months);
        for(int m = 0; m < 12; m++)
            json_array_append_new(months, figure_json(&rg->month[m]));
    }
    json_t *units = json_array();
    json_object_set_new(root, "units", units);
    for(size_t i = 0; i < r->n_units; i++) {
        const TallyReportUnit *u = &r->units[i];
        json_t *o = json_object(), *figs = json_object();
        json_array_append_new(units, o);
        json_object_set_new(o, "code", json_string(u->code));
        json_object_set_new(o, "name", name_json(u->name));
        json_object_set_new(o, "parent", u->parent >= 0 ? json_string(r->units[u->parent].code) : json_null());
        json_object_set_new(o, "depth", json_integer(u->depth));
        json_object_set_new(o, "devices", json_integer(u->n_devices));
        json_object_set_new(o, "all", figure_json(&u->all));
        json_object_set_new(o, "groups", figs);
        for(int g = 0; g < GROUP_COUNT; g++)
            json_object_set_new(figs, proto_group_code((ProtoGroup)g), figure_json(&u->fig[g]));
    }
    json_t *ranking = json_array();
    json_object_set_new(root, "ranking", ranking);
    for(size_t i = 0; i < r->n_ranking; i++) {
        json_t *o = json_object();
        json_array_append_new(ranking, o);
        json_object_set_new(o, "unit", json_string(r->units[r->ranking[i].unit].code));
        json_object_set_new(o, "group", json_string(proto_group_code((ProtoGroup)r->ranking[i].group)));
        json_object_set_new(o, "wilson_high", round2(r->ranking[i].score));
        json_object_set_new(o, "gap_pts", round2(r->ranking[i].gap_pts));
    }
    json_t *areas = json_array();
    json_object_set_new(root, "areas", areas);
    for(int a = 0; a < AREA_COUNT; a++) {
        json_t *o = figure_json(&r->areas[a].fig);
        json_object_set_new(o, "area", json_string(proto_area_code((ProtoArea)a)));
        json_object_set_new(o, "group", json_string(proto_group_code((ProtoGroup)r->areas[a].group)));
        json_array_append_new(areas, o);
    }
    json_t *respondents = json_array();
    json_object_set_new(root, "respondents", respondents);
    for(int p = 0; p < RESPONDENT_COUNT && (r->parts & TALLY_PART_RESPONDENTS); p++) {
        const TallyReportRespondent *rr = &r->respondents[p];
        const char *code = proto_respondent_code((ProtoRespondent)rr->respondent);
        json_t *o = json_object(), *figs = json_object();
        json_array_append_new(respondents, o);
        json_object_set_new(o, "respondent", json_string(code ? code : TALLY_RESPONDENT_NONE_CODE));
        json_object_set_new(o, "name_vi", json_string(tally_respondent_vi(rr->respondent)));
        json_object_set_new(o, "all", figure_json(&rr->all));
        json_object_set_new(o, "groups", figs);
        for(int g = 0; g < GROUP_COUNT; g++)
            json_object_set_new(figs, proto_group_code((ProtoGroup)g), figure_json(&rr->fig[g]));
    }
    json_t *reasons = json_array();
    json_object_set_new(root, "reasons", reasons);
    for(int k = 0; k < REASON_COUNT; k++) {
        json_t *o = json_object();
        json_array_append_new(reasons, o);
        json_object_set_new(o, "reason", json_string(proto_reason_code((ProtoReason)r->reasons[k].reason)));
        json_object_set_new(o, "name_vi", json_string(proto_reason_name_vi((ProtoReason)r->reasons[k].reason)));
        json_object_set_new(o, "n", json_integer(r->reasons[k].n));
    }
    json_object_set_new(root, "unsatisfied", json_integer(r->unsatisfied));
    json_t *devices = json_array();
    json_object_set_new(root, "devices", devices);
    for(size_t i = 0; i < r->n_devices; i++) {
        const TallyReportDevice *d = &r->devices[i];
        json_t *o = json_object();
        json_array_append_new(devices, o);
        json_object_set_new(o, "id", json_string(d->id));
        json_object_set_new(o, "unit", json_string(r->units[d->unit].code));
        json_object_set_new(o, "last_seen", time_json(d->last_seen));
        json_object_set_new(o, "revoked_at", time_json(d->revoked_at));
        json_object_set_new(o, "clock_skew_s", json_integer(d->last_skew_s));
        json_object_set_new(o, "received", json_integer(d->received));
        json_object_set_new(o, "max_seq", json_integer(d->max_seq));
        json_object_set_new(o, "missing", json_integer(d->missing));
        json_object_set_new(o, "quarantined", json_integer(d->quarantined));
        json_object_set_new(o, "silent", json_boolean(d->flags & TALLY_DEV_SILENT));
        json_object_set_new(o, "skewed", json_boolean(d->flags & TALLY_DEV_SKEW));
        json_object_set_new(o, "gap", json_boolean(d->flags & TALLY_DEV_GAP));
        json_object_set_new(o, "revoked", json_boolean(d->flags & TALLY_DEV_REVOKED));
    }
    json_t *alerts = json_array();
    json_object_set_new(root, "alerts", alerts);
    for(size_t i = 0; i < r->n_alerts; i++)
        json_array_append_new(alerts, alert_json(r, &r->alerts[i]));
    if(r->parts & TALLY_PART_HEAT) {
        json_t *heat = json_object(), *n = json_array(), *u = json_array();
        json_object_set_new(root, "heat", heat);
        json_object_set_new(heat, "n", n);
        json_object_set_new(heat, "unsatisfied", u);
        for(int d = 0; d < 7; d++) {
            json_t *rn = json_array(), *ru = json_array();
            json_array_append_new(n, rn);
            json_array_append_new(u, ru);
            for(int h = 0; h < 24; h++) {
                json_array_append_new(rn, json_integer(r->heat.n[d][h]));
                json_array_append_new(ru, json_integer(r->heat.unsatisfied[d][h]));
            }
        }
    }
    char *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    return out;
}

char *tally_alerts_json(const TallyReport *r)
{
    json_t *root = json_object(), *alerts = json_array();
    if(!root || !alerts) {
        json_decref(root);
        json_decref(alerts);
        return NULL;
    }
    json_object_set_new(root, "period", json_string(r->period.code));
    json_object_set_new(root, "from", date_json(r->period.from_day));
    json_object_set_new(root, "to", date_json(r->period.to_day));
    json_object_set_new(root, "prev_from", date_json(r->period.prev_from_day));
    json_object_set_new(root, "prev_to", date_json(r->period.prev_to_day));
    json_object_set_new(root, "unit", r->unit_code[0] ? json_string(r->unit_code) : json_null());
    json_object_set_new(root, "alerts", alerts);
    for(size_t i = 0; i < r->n_alerts; i++)
        json_array_append_new(alerts, alert_json(r, &r->alerts[i]));
    char *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    return out;
}
