/* tally_report.c — builds the report model (see tally_report.h). Start reading at tally_report_build().
 *
 * Plan: load the unit tree and cut out the report unit's subtree (pre-order); split the days that matter
 * (the period, the previous period, the twelve months of the trend year) into disjoint segments; read every
 * subtree unit's own counts per segment and area in one pass (tally_query_counts: roll-ups only); add them up
 * the tree; turn counts into figures with tally_finish_counts (the same arithmetic as /api/v1/tally); then
 * reasons, heat map, devices and alerts. */
#include "sync/tally/tally_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YEAR_MIN 2000
#define YEAR_MAX 2199
#define CUSTOM_MAX_DAYS (3 * 366)
#define TREE_DEPTH_MAX 64

/* ---- Periods ------------------------------------------------------------------------------------------ */

static const char *const KIND_CODES[TALLY_PERIOD_COUNT] = {"thang", "quy", "6thang", "9thang", "nam", "tuychon"};

const char *tally_period_kind_code(TallyPeriodKind k)
{
    return (unsigned)k < TALLY_PERIOD_COUNT ? KIND_CODES[k] : NULL;
}

int tally_period_kind_from_code(const char *code)
{
    for(int i = 0; i < TALLY_PERIOD_COUNT; i++)
        if(strcmp(code, KIND_CODES[i]) == 0)
            return i;
    return -1;
}

static int64_t day_of(int y, int m, int d)
{
    return ptime_days_from_civil(y, m, d);
}

/* The last day of month m (1-12) of year y. */
static int64_t month_end(int y, int m)
{
    return m == 12 ? day_of(y + 1, 1, 1) - 1 : day_of(y, m + 1, 1) - 1;
}

static void label(TallyPeriodKind kind, int year, int index, int64_t from, int64_t to, char out[TALLY_PERIOD_LABEL_MAX])
{
    static const char *const ROMAN[] = {"I", "II", "III", "IV"};
    int y1, m1, d1, y2, m2, d2;
    switch(kind) {
    case TALLY_PERIOD_MONTH: snprintf(out, TALLY_PERIOD_LABEL_MAX, tally_str(TS_PERIOD_LABEL_MONTH), index, year); break;
    case TALLY_PERIOD_QUARTER:
        snprintf(out, TALLY_PERIOD_LABEL_MAX, tally_str(TS_PERIOD_LABEL_QUARTER), ROMAN[(index - 1) & 3], year);
        break;
    case TALLY_PERIOD_HALF:
        snprintf(out, TALLY_PERIOD_LABEL_MAX, tally_str(index == 1 ? TS_PERIOD_LABEL_H1 : TS_PERIOD_LABEL_H2), year);
        break;
    case TALLY_PERIOD_9MONTH: snprintf(out, TALLY_PERIOD_LABEL_MAX, tally_str(TS_PERIOD_LABEL_9MONTH), year); break;
    case TALLY_PERIOD_YEAR: snprintf(out, TALLY_PERIOD_LABEL_MAX, tally_str(TS_PERIOD_LABEL_YEAR), year); break;
    default:
        ptime_civil_from_days(from, &y1, &m1, &d1);
        ptime_civil_from_days(to, &y2, &m2, &d2);
        snprintf(out, TALLY_PERIOD_LABEL_MAX, "%02d/%02d/%04d – %02d/%02d/%04d", d1, m1, y1, d2, m2, y2);
        break;
    }
}

/* from/to of kind+year+index, without the previous period. */
static bool span(TallyPeriodKind kind, int year, int index, int64_t *from, int64_t *to)
{
    if(year < YEAR_MIN || year > YEAR_MAX)
        return false;
    switch(kind) {
    case TALLY_PERIOD_MONTH:
        if(index < 1 || index > 12)
            return false;
        *from = day_of(year, index, 1), *to = month_end(year, index);
        return true;
    case TALLY_PERIOD_QUARTER:
        if(index < 1 || index > 4)
            return false;
        *from = day_of(year, 3 * index - 2, 1), *to = month_end(year, 3 * index);
        return true;
    case TALLY_PERIOD_HALF:
        if(index < 1 || index > 2)
            return false;
        *from = day_of(year, 6 * index - 5, 1), *to = month_end(year, 6 * index);
        return true;
    case TALLY_PERIOD_9MONTH: *from = day_of(year, 1, 1), *to = month_end(year, 9); return true;
    case TALLY_PERIOD_YEAR: *from = day_of(year, 1, 1), *to = month_end(year, 12); return true;
    default: return false;
    }
}

bool tally_period_make(TallyPeriodKind kind, int year, int index, TallyPeriod *out)
{
    memset(out, 0, sizeof *out);
    if(kind == TALLY_PERIOD_9MONTH || kind == TALLY_PERIOD_YEAR)
        index = 0;
    if(!span(kind, year, index, &out->from_day, &out->to_day))
        return false;
    out->kind = kind;
    out->year = year;
    out->index = index;
    /* The previous period of the same kind. */
    int py = year, pi = index;
    switch(kind) {
    case TALLY_PERIOD_MONTH: pi = index == 1 ? (py--, 12) : index - 1; break;
    case TALLY_PERIOD_QUARTER: pi = index == 1 ? (py--, 4) : index - 1; break;
    case TALLY_PERIOD_HALF: pi = index == 1 ? (py--, 2) : index - 1; break;
    default: py--; break;
    }
    if(!span(kind, py, pi, &out->prev_from_day, &out->prev_to_day))
        return false;
    switch(kind) {
    case TALLY_PERIOD_MONTH: snprintf(out->code, sizeof out->code, "thang:%04d-%02d", year, index); break;
    case TALLY_PERIOD_QUARTER: snprintf(out->code, sizeof out->code, "quy:%04d-%d", year, index); break;
    case TALLY_PERIOD_HALF: snprintf(out->code, sizeof out->code, "6thang:%04d-%d", year, index); break;
    case TALLY_PERIOD_9MONTH: snprintf(out->code, sizeof out->code, "9thang:%04d", year); break;
    default: snprintf(out->code, sizeof out->code, "nam:%04d", year); break;
    }
    label(kind, year, index, out->from_day, out->to_day, out->label_vi);
    label(kind, py, pi, out->prev_from_day, out->prev_to_day, out->prev_label_vi);
    return true;
}

bool tally_period_custom(int64_t from_day, int64_t to_day, TallyPeriod *out)
{
    memset(out, 0, sizeof *out);
    int y, m, d;
    ptime_civil_from_days(to_day, &y, &m, &d);
    if(from_day > to_day || to_day - from_day + 1 > CUSTOM_MAX_DAYS || y < YEAR_MIN || y > YEAR_MAX)
        return false;
    int64_t len = to_day - from_day + 1;
    out->kind = TALLY_PERIOD_CUSTOM;
    out->year = y;
    out->from_day = from_day;
    out->to_day = to_day;
    out->prev_from_day = from_day - len;
    out->prev_to_day = from_day - 1;
    char a[PTIME_DATE_LEN], b[PTIME_DATE_LEN];
    ptime_format_date(from_day, a);
    ptime_format_date(to_day, b);
    snprintf(out->code, sizeof out->code, "%s..%s", a, b);
    label(TALLY_PERIOD_CUSTOM, y, 0, from_day, to_day, out->label_vi);
    label(TALLY_PERIOD_CUSTOM, y, 0, out->prev_from_day, out->prev_to_day, out->prev_label_vi);
    return true;
}

void tally_period_containing(TallyPeriodKind kind, int64_t day, TallyPeriod *out)
{
    int y, m, d;
    ptime_civil_from_days(day, &y, &m, &d);
    switch(kind) {
    case TALLY_PERIOD_MONTH: tally_period_make(kind, y, m, out); break;
    case TALLY_PERIOD_QUARTER: tally_period_make(kind, y, (m - 1) / 3 + 1, out); break;
    case TALLY_PERIOD_HALF: tally_period_make(kind, y, (m - 1) / 6 + 1, out); break;
    case TALLY_PERIOD_9MONTH:
    case TALLY_PERIOD_YEAR: tally_period_make(kind, y, 0, out); break;
    default: tally_period_custom(day, day, out); break;
    }
}

/* Reads exactly `digits` decimal digits. */
static bool num(const char **p, int digits, int *out)
{
    int v = 0;
    for(int i = 0; i < digits; i++) {
        if((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += digits;
    *out = v;
    return true;
}

bool tally_period_parse(const char *code, TallyPeriod *out)
{
    const char *dots = strstr(code, "..");
    if(dots) {
        char a[PTIME_DATE_LEN + 1];
        int64_t f, t;
        if((size_t)(dots - code) >= sizeof a)
            return false;
        memcpy(a, code, (size_t)(dots - code));
        a[dots - code] = '\0';
        return ptime_parse_date(a, &f) && ptime_parse_date(dots + 2, &t) && tally_period_custom(f, t, out);
    }
    const char *colon = strchr(code, ':');
    if(!colon || colon - code > 8)
        return false;
    char kind_code[9];
    memcpy(kind_code, code, (size_t)(colon - code));
    kind_code[colon - code] = '\0';
    int kind = tally_period_kind_from_code(kind_code), year, index = 0;
    const char *p = colon + 1;
    if(kind < 0 || kind == TALLY_PERIOD_CUSTOM || !num(&p, 4, &year))
        return false;
    if(kind == TALLY_PERIOD_MONTH || kind == TALLY_PERIOD_QUARTER || kind == TALLY_PERIOD_HALF) {
        if(*p++ != '-' || !num(&p, kind == TALLY_PERIOD_MONTH ? 2 : 1, &index))
            return false;
    }
    return *p == '\0' && tally_period_make((TallyPeriodKind)kind, year, index, out);
}

/* ---- The tree ----------------------------------------------------------------------------------------- */

typedef struct {
    TallyUnit *all;       /* every unit, by code */
    size_t     n_all;
    int       *parent;    /* index in all, -1 for a root */
    int       *first, *next; /* children lists (by code) */
} Tree;

static int find_code(const Tree *t, const char *code)
{
    size_t lo = 0, hi = t->n_all;
    while(lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->all[mid].code, code);
        if(c == 0)
            return (int)mid;
        if(c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void tree_free(Tree *t)
{
    free(t->all), free(t->parent), free(t->first), free(t->next);
}

static TallyErr tree_load(TallyDb *db, Tree *t, char msg[TALLY_MSG_MAX])
{
    memset(t, 0, sizeof *t);
    TallyErr e = tally_unit_list(db, &t->all, &t->n_all, msg);
    if(e)
        return e;
    size_t n = t->n_all ? t->n_all : 1;
    t->parent = malloc(n * sizeof *t->parent);
    t->first = malloc(n * sizeof *t->first);
    t->next = malloc(n * sizeof *t->next);
    if(!t->parent || !t->first || !t->next) {
        tree_free(t);
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    }
    for(size_t i = 0; i < t->n_all; i++) {
        t->parent[i] = t->all[i].parent[0] ? find_code(t, t->all[i].parent) : -1;
        t->first[i] = t->next[i] = -1;
    }
    /* Children lists in code order: walk backwards, pushing to the front. */
    for(size_t i = t->n_all; i-- > 0;)
        if(t->parent[i] >= 0) {
            t->next[i] = t->first[t->parent[i]];
            t->first[t->parent[i]] = (int)i;
        }
    return TALLY_OK;
}

/* True when unit u is `top` or below it. */
static bool within(const Tree *t, int u, int top)
{
    for(int depth = 0; u >= 0 && depth < TREE_DEPTH_MAX; depth++, u = t->parent[u])
        if(u == top)
            return true;
    return false;
}

/* Appends the subtree of `root` in pre-order to r->units (children by code); map[tree index] = report index. */
static bool flatten(const Tree *t, int root, int parent_idx, int depth, TallyReport *r, size_t *cap, int *map)
{
    if(depth >= TREE_DEPTH_MAX)
        return true;
    if(r->n_units == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        TallyReportUnit *nu = realloc(r->units, ncap * sizeof *nu);
        if(!nu)
            return false;
        r->units = nu;
        *cap = ncap;
    }
    int me = (int)r->n_units++;
    TallyReportUnit *u = &r->units[me];
    memset(u, 0, sizeof *u);
    snprintf(u->code, sizeof u->code, "%s", t->all[root].code);
    snprintf(u->name, sizeof u->name, "%s", t->all[root].name);
    u->parent = parent_idx;
    u->depth = depth;
    map[root] = me;
    for(int c = t->first[root]; c >= 0; c = t->next[c]) {
        r->units[me].n_children++;
        if(!flatten(t, c, me, depth + 1, r, cap, map))
            return false;
    }
    return true;
}

/* ---- Segments ----------------------------------------------------------------------------------------- */

typedef struct {
    TallyDayRange range;
    bool          cur, prev;
    int           month; /* 0-11 in the trend year, -1 outside it */
} Segment;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Disjoint segments covering the period, the previous period and (with the trend) the twelve months of
 * trend_year, each tagged with what it belongs to. Returns the count (at most 32). */
static size_t make_segments(const TallyPeriod *p, bool trend, int trend_year, Segment seg[32])
{
    int64_t b[20];
    size_t nb = 0;
    b[nb++] = p->from_day, b[nb++] = p->to_day + 1, b[nb++] = p->prev_from_day, b[nb++] = p->prev_to_day + 1;
    if(trend)
        for(int m = 1; m <= 13; m++)
            b[nb++] = m <= 12 ? day_of(trend_year, m, 1) : day_of(trend_year + 1, 1, 1);
    qsort(b, nb, sizeof *b, cmp_i64);
    size_t n = 0;
    for(size_t i = 0; i + 1 < nb; i++) {
        if(b[i] == b[i + 1])
            continue;
        Segment s = {.range = {b[i], b[i + 1] - 1}, .month = -1};
        s.cur = s.range.from_day >= p->from_day && s.range.to_day <= p->to_day;
        s.prev = s.range.from_day >= p->prev_from_day && s.range.to_day <= p->prev_to_day;
        if(trend) {
            int y, m, d;
            ptime_civil_from_days(s.range.from_day, &y, &m, &d);
            if(y == trend_year)
                s.month = m - 1;
        }
        if((s.cur || s.prev || s.month >= 0) && n < 32)
            seg[n++] = s;
    }
    return n;
}

/* ---- Figures ------------------------------------------------------------------------------------------ */


static TallyFigure figure(const TallyCounts *c, int group, const TallyTarget targets[GROUP_COUNT], int min_n)
{
    TallyRow row;
    tally_finish_counts(c, group, targets, min_n, &row);
    TallyFigure f = {.n = row.n, .satisfied = row.satisfied, .flagged = row.flagged, .pct = row.pct,
                     .wilson_low = row.wilson_low, .wilson_high = row.wilson_high, .wait = row.wait};
    f.status[0] = row.status[0];
    f.status[1] = row.status[1];
    return f;
}

/* Per report unit: its subtree's counts per group for the period and the previous one, and all areas. */
typedef struct {
    TallyCounts cur[GROUP_COUNT], prev[GROUP_COUNT], all;
} UnitCounts;

/* Furthest below the target first: by target minus the Wilson upper bound, which within one group is the
 * upper bound ascending. */
static int rank_cmp(const void *a, const void *b)
{
    const TallyRankItem *x = a, *y = b;
    if(x->gap_pts != y->gap_pts)
        return x->gap_pts > y->gap_pts ? -1 : 1;
    if(x->unit != y->unit)
        return x->unit - y->unit;
    return x->group - y->group;
}

static int reason_cmp(const void *a, const void *b)
{
    const TallyReportReason *x = a, *y = b;
    if(x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return x->reason - y->reason;
}

static int alert_cmp(const void *a, const void *b)
{
    const TallyReportAlert *x = a, *y = b;
    if(x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    /* Units: furthest below the threshold first. Kiosks: longest silence / most ratings missing first. */
    double dx = x->value - x->threshold, dy = y->value - y->threshold;
    if(x->device >= 0)
        dx = -dx, dy = -dy;
    if(dx != dy)
        return dx < dy ? -1 : 1;
    return x->unit - y->unit;
}

const char *tally_alert_code(TallyAlertKind k)
{
    static const char *const CODES[TALLY_ALERT_COUNT] = {"below_target", "drop", "silent", "seq_gap"};
    return (unsigned)k < TALLY_ALERT_COUNT ? CODES[k] : "unknown";
}

int tally_report_find_unit(const TallyReport *r, const char *code)
{
    for(size_t i = 0; i < r->n_units; i++)
        if(strcmp(r->units[i].code, code) == 0)
            return (int)i;
    return -1;
}

void tally_report_free(TallyReport *r)
{
    if(!r)
        return;
    free(r->path);
    free(r->units);
    free(r->ranking);
    free(r->devices);
    free(r->alerts);
    free(r);
}

/* Devices of the subtree, with their flags; also the report's data_last_received and units' n_devices. */
typedef struct {
    TallyReport *r;
    const Tree  *t;
    const int   *map;   /* tree index -> report unit index, -1 outside */
    size_t       cap;
    int64_t      now_s;
    bool         oom;
} DevCtx;

static bool collect_device(const TallyDevice *d, void *ud)
{
    DevCtx *c = ud;
    int ti = find_code(c->t, d->unit);
    int ui = ti >= 0 ? c->map[ti] : -1;
    if(ui < 0)
        return true;
    TallyReport *r = c->r;
    if(r->n_devices == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        TallyReportDevice *nd = realloc(r->devices, ncap * sizeof *nd);
        if(!nd) {
            c->oom = true;
            return false;
        }
        r->devices = nd;
        c->cap = ncap;
    }
    TallyReportDevice *o = &r->devices[r->n_devices++];
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", d->id);
    o->unit = ui;
    o->created_at = d->created_at, o->revoked_at = d->revoked_at, o->last_seen = d->last_seen;
    o->last_skew_s = d->last_skew_s;
    o->received = d->received;
    o->max_seq = d->max_seq;
    o->missing = d->max_seq > d->received ? d->max_seq - d->received : 0;
    o->quarantined = d->quarantined;
    if(d->revoked_at) {
        o->flags |= TALLY_DEV_REVOKED;
    } else {
        int64_t since = d->last_seen ? d->last_seen : d->created_at;
        if(!d->last_seen)
            o->flags |= TALLY_DEV_NEVER;
        if(c->now_s - since > TALLY_SILENT_AFTER_S)
            o->flags |= TALLY_DEV_SILENT;
        if(d->last_seen && (d->last_skew_s > TALLY_SKEW_ALERT_S || d->last_skew_s < -TALLY_SKEW_ALERT_S))
            o->flags |= TALLY_DEV_SKEW;
        if(o->missing > 0)
            o->flags |= TALLY_DEV_GAP;
        if(o->quarantined > 0)
            o->flags |= TALLY_DEV_QUARANTINE;
    }
    r->units[ui].n_devices++;
    if(d->last_seen > r->data_last_received)
        r->data_last_received = d->last_seen;
    return true;
}

static bool push_alert(TallyReport *r, size_t *cap, TallyReportAlert a)
{
    if(r->n_alerts == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        TallyReportAlert *na = realloc(r->alerts, ncap * sizeof *na);
        if(!na)
            return false;
        r->alerts = na;
        *cap = ncap;
    }
    r->alerts[r->n_alerts++] = a;
    return true;
}

/* ---- Build -------------------------------------------------------------------------------------------- */

TallyErr tally_report_build(TallyDb *db, const TallyReportSpec *spec, TallyReport **out, char msg[TALLY_MSG_MAX])
{
    *out = NULL;
    if(spec->period.from_day > spec->period.to_day || spec->period.prev_from_day > spec->period.prev_to_day)
        return tally_set_msg(msg, TALLY_E_INVALID, "malformed period / kỳ báo cáo không hợp lệ");
    if(spec->area >= AREA_COUNT || spec->area < -1 || spec->min_n < 0 || spec->respondent < 0 ||
       spec->respondent >= RESPONDENT_COUNT)
        return tally_set_msg(msg, TALLY_E_INVALID, "malformed report request / yêu cầu báo cáo không hợp lệ");
    unsigned parts = spec->parts ? spec->parts : TALLY_PART_ALL;
    if(parts & TALLY_PART_ALERTS)
        parts |= TALLY_PART_UNITS | TALLY_PART_DEVICES;
    int min_n = spec->min_n ? spec->min_n : TALLY_MIN_N_DEFAULT;

    /* One snapshot for every read: the parts of a report agree with each other. */
    TallyErr e = tally_db_read_begin(db, msg);
    if(e)
        return e;
    TallyTarget targets[GROUP_COUNT];
    Tree t;
    if((e = tally_targets_get(db, targets, msg)) || (e = tree_load(db, &t, msg))) {
        tally_db_read_end(db);
        return e;
    }
    TallyReport *r = calloc(1, sizeof *r);
    int *map = malloc((t.n_all ? t.n_all : 1) * sizeof *map);
    TallyCounts *counts = NULL;
    UnitCounts *uc = NULL;
    const char **codes = NULL;
    if(!r || !map) {
        e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
        goto done;
    }
    for(size_t i = 0; i < t.n_all; i++)
        map[i] = -1;

    /* Scope and unit. */
    int scope = -1, unit = -1;
    if(spec->scope[0] && (scope = find_code(&t, spec->scope)) < 0) {
        e = tally_set_msg(msg, TALLY_E_NOT_FOUND, "unit %s does not exist / đơn vị %s không tồn tại", spec->scope, spec->scope);
        goto done;
    }
    if(spec->unit[0]) {
        if((unit = find_code(&t, spec->unit)) < 0) {
            e = tally_set_msg(msg, TALLY_E_NOT_FOUND, "unit %s does not exist / đơn vị %s không tồn tại", spec->unit,
                     spec->unit);
            goto done;
        }
        if(scope >= 0 && !within(&t, unit, scope)) {
            e = tally_set_msg(msg, TALLY_E_SCOPE, "unit %s is outside your scope / đơn vị %s nằm ngoài phạm vi được xem",
                     spec->unit, spec->unit);
            goto done;
        }
    } else {
        unit = scope;
    }
    r->period = spec->period;
    r->area = spec->area;
    r->respondent = spec->respondent;
    r->min_n = min_n;
    r->generated_at = spec->now_s;
    r->note_key = TS_NOTE_INDICATIVE;
    r->note_supplementary_key = TS_NOTE_SUPPLEMENTARY;
    r->parts = parts;
    r->rank_method = TALLY_RANK_WILSON_HIGH_ASC;
    if(scope >= 0) {
        snprintf(r->scope_code, sizeof r->scope_code, "%s", t.all[scope].code);
        snprintf(r->scope_name, sizeof r->scope_name, "%s", t.all[scope].name);
    } else {
        snprintf(r->scope_name, sizeof r->scope_name, "%s", tally_str(TS_SCOPE_PROVINCE));
    }
    if(unit >= 0) {
        snprintf(r->unit_code, sizeof r->unit_code, "%s", t.all[unit].code);
        snprintf(r->unit_name, sizeof r->unit_name, "%s", t.all[unit].name);
    } else {
        snprintf(r->unit_name, sizeof r->unit_name, "%s", r->scope_name);
    }

    /* Links back up: from the scope's root (or the tree's root) down to the unit's parent. */
    if(unit >= 0 && unit != scope) {
        int chain[TREE_DEPTH_MAX], n = 0;
        for(int u = t.parent[unit]; u >= 0 && n < TREE_DEPTH_MAX; u = t.parent[u]) {
            chain[n++] = u;
            if(u == scope)
                break;
        }
        if(n && !(r->path = calloc((size_t)n, sizeof *r->path))) {
            e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
            goto done;
        }
        for(int i = 0; i < n; i++) {
            snprintf(r->path[i].code, sizeof r->path[i].code, "%s", t.all[chain[n - 1 - i]].code);
            snprintf(r->path[i].name, sizeof r->path[i].name, "%s", t.all[chain[n - 1 - i]].name);
        }
        r->n_path = (size_t)n;
    }

    /* The subtree, pre-order. */
    size_t cap = 0;
    bool ok = true;
    if(unit >= 0)
        ok = flatten(&t, unit, -1, 0, r, &cap, map);
    else
        for(size_t i = 0; i < t.n_all && ok; i++)
            if(t.parent[i] < 0)
                ok = flatten(&t, (int)i, -1, 0, r, &cap, map);
    if(!ok || !(codes = malloc((r->n_units ? r->n_units : 1) * sizeof *codes)) ||
       !(uc = calloc(r->n_units ? r->n_units : 1, sizeof *uc))) {
        e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
        goto done;
    }
    for(size_t i = 0; i < r->n_units; i++)
        codes[i] = r->units[i].code;

    /* One read of every subtree unit's own counts per segment and area. */
    int ty, tm, td;
    ptime_civil_from_days(spec->period.to_day, &ty, &tm, &td);
    r->trend_year = ty;
    Segment seg[32];
    size_t n_seg = make_segments(&spec->period, (parts & TALLY_PART_TREND) != 0, ty, seg);
    TallyDayRange ranges[32];
    for(size_t s = 0; s < n_seg; s++)
        ranges[s] = seg[s].range;
    if(!(counts = calloc(r->n_units * n_seg * AREA_COUNT + 1, sizeof *counts))) {
        e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
        goto done;
    }
    if(parts & (TALLY_PART_GROUPS | TALLY_PART_TREND | TALLY_PART_UNITS | TALLY_PART_AREAS) &&
       (e = tally_query_counts(db, codes, r->n_units, ranges, n_seg, spec->respondent, counts, msg)))
        goto done;

    TallyCounts month[GROUP_COUNT][12] = {{{0}}}, area_cur[AREA_COUNT] = {{0}};
    for(size_t u = 0; u < r->n_units; u++)
        for(size_t s = 0; s < n_seg; s++)
            for(int a = 0; a < AREA_COUNT; a++) {
                if(spec->area >= 0 && a != spec->area)
                    continue;
                const TallyCounts *c = &counts[(u * n_seg + s) * AREA_COUNT + (size_t)a];
                if(!c->n && !c->flagged) /* a service answer or a wait is part of one of these */
                    continue;
                if(seg[s].cur) {
                    tally_counts_add(&uc[u].all, c);
                    tally_counts_add(&area_cur[a], c);
                }
                for(int g = 0; g < GROUP_COUNT; g++) {
                    if(!tally_area_counts_in(a, g))
                        continue;
                    if(seg[s].cur)
                        tally_counts_add(&uc[u].cur[g], c);
                    if(seg[s].prev)
                        tally_counts_add(&uc[u].prev[g], c);
                    if(seg[s].month >= 0)
                        tally_counts_add(&month[g][seg[s].month], c);
                }
            }
    /* Up the tree: children come after their parent in pre-order, so a reverse walk adds each complete
     * subtree into its parent. */
    for(size_t u = r->n_units; u-- > 0;) {
        int p = r->units[u].parent;
        if(p < 0)
            continue;
        tally_counts_add(&uc[p].all, &uc[u].all);
        for(int g = 0; g < GROUP_COUNT; g++) {
            tally_counts_add(&uc[p].cur[g], &uc[u].cur[g]);
            tally_counts_add(&uc[p].prev[g], &uc[u].prev[g]);
        }
    }
    TallyCounts total = {0}, gcur[GROUP_COUNT] = {{0}}, gprev[GROUP_COUNT] = {{0}};
    for(size_t u = 0; u < r->n_units; u++) {
        TallyReportUnit *ru = &r->units[u];
        for(int g = 0; g < GROUP_COUNT; g++) {
            ru->fig[g] = figure(&uc[u].cur[g], g, targets, min_n);
            ru->prev[g] = figure(&uc[u].prev[g], g, targets, min_n);
            if(ru->depth == 0) {
                tally_counts_add(&gcur[g], &uc[u].cur[g]);
                tally_counts_add(&gprev[g], &uc[u].prev[g]);
            }
        }
        ru->all = figure(&uc[u].all, -1, targets, min_n);
        if(ru->depth == 0)
            tally_counts_add(&total, &uc[u].all);
    }
    r->total = figure(&total, -1, targets, min_n);
    for(int g = 0; g < GROUP_COUNT; g++) {
        TallyReportGroup *rg = &r->groups[g];
        rg->group = g;
        rg->target[0] = targets[g].pct[0];
        rg->target[1] = targets[g].pct[1];
        rg->cur = figure(&gcur[g], g, targets, min_n);
        rg->prev = figure(&gprev[g], g, targets, min_n);
        rg->has_change = rg->cur.n > 0 && rg->prev.n > 0;
        rg->change_pts = rg->has_change ? rg->cur.pct - rg->prev.pct : 0;
        for(int m = 0; m < 12; m++)
            rg->month[m] = figure(&month[g][m], g, targets, min_n);
    }
    for(int a = 0; a < AREA_COUNT; a++) {
        r->areas[a].area = a;
        r->areas[a].group = proto_area_group((ProtoArea)a);
        r->areas[a].fig = figure(&area_cur[a], r->areas[a].group, targets, min_n);
    }

    /* The same figures per respondent type, over the report unit's subtree. */
    if(parts & TALLY_PART_RESPONDENTS) {
        TallyCounts rc[RESPONDENT_COUNT * AREA_COUNT] = {{0}};
        if((e = tally_query_counts_by_respondent(db, codes, r->n_units, spec->period.from_day, spec->period.to_day,
                                                 rc, msg)))
            goto done;
        for(int p = 0; p < RESPONDENT_COUNT; p++) {
            TallyCounts all = {0}, grp[GROUP_COUNT] = {{0}};
            for(int a = 0; a < AREA_COUNT; a++) {
                if((spec->area >= 0 && a != spec->area) || (spec->respondent && p != spec->respondent))
                    continue;
                tally_counts_add(&all, &rc[p * AREA_COUNT + a]);
                for(int g = 0; g < GROUP_COUNT; g++)
                    if(tally_area_counts_in(a, g))
                        tally_counts_add(&grp[g], &rc[p * AREA_COUNT + a]);
            }
            TallyReportRespondent *rr = &r->respondents[p];
            rr->respondent = p;
            rr->all = figure(&all, -1, targets, min_n);
            for(int g = 0; g < GROUP_COUNT; g++)
                rr->fig[g] = figure(&grp[g], g, targets, min_n);
        }
    }

    /* Fair ranking of counters (units without children) per group. */
    if(parts & TALLY_PART_UNITS) {
        size_t n = 0;
        for(size_t u = 0; u < r->n_units; u++)
            for(int g = 0; g < GROUP_COUNT; g++)
                n += r->units[u].n_children == 0 && r->units[u].fig[g].n > 0;
        if(n && !(r->ranking = malloc(n * sizeof *r->ranking))) {
            e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
            goto done;
        }
        for(size_t u = 0; u < r->n_units; u++)
            for(int g = 0; g < GROUP_COUNT; g++)
                if(r->units[u].n_children == 0 && r->units[u].fig[g].n > 0)
                    r->ranking[r->n_ranking++] = (TallyRankItem){
                        .unit = (int)u, .group = g, .score = r->units[u].fig[g].wilson_high,
                        .gap_pts = targets[g].pct[0] - r->units[u].fig[g].wilson_high};
        if(r->n_ranking) /* qsort must not see the NULL of an empty list */
            qsort(r->ranking, r->n_ranking, sizeof *r->ranking, rank_cmp);
    }

    /* Reasons and heat map over the subtree. */
    if(parts & TALLY_PART_REASONS) {
        int64_t rn[REASON_COUNT] = {0};
        if((e = tally_query_reasons(db, codes, r->n_units, spec->period.from_day, spec->period.to_day, spec->area, rn,
                                    msg)))
            goto done;
        for(int k = 0; k < REASON_COUNT; k++) {
            r->reasons[k] = (TallyReportReason){.reason = k, .n = rn[k]};
            r->reasons_total += rn[k];
        }
        qsort(r->reasons, REASON_COUNT, sizeof r->reasons[0], reason_cmp);
    }
    r->unsatisfied = r->total.n - r->total.satisfied;
    if(parts & TALLY_PART_HEAT) {
        if((e = tally_query_heat(db, codes, r->n_units, spec->period.from_day, spec->period.to_day, spec->area,
                                 r->heat.n, r->heat.unsatisfied, msg)))
            goto done;
        for(int d = 0; d < 7; d++)
            for(int h = 0; h < 24; h++)
                if(r->heat.n[d][h] > r->heat.max_n)
                    r->heat.max_n = r->heat.n[d][h];
    }

    /* Devices (always read: they also give "data last received"). */
    DevCtx dc = {.r = r, .t = &t, .map = map, .now_s = spec->now_s};
    if((e = tally_device_list(db, collect_device, &dc, msg)))
        goto done;
    if(dc.oom) {
        e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
        goto done;
    }

    /* Alerts: unit verdicts first (worst first), then kiosks. */
    if(parts & TALLY_PART_ALERTS) {
        size_t acap = 0;
        ok = true;
        for(size_t u = 0; u < r->n_units && ok; u++)
            for(int g = 0; g < GROUP_COUNT && ok; g++) {
                const TallyFigure *c = &r->units[u].fig[g], *p = &r->units[u].prev[g];
                if(c->status[0] == TALLY_STATUS_KHONG_DAT)
                    ok = push_alert(r, &acap, (TallyReportAlert){TALLY_ALERT_BELOW_TARGET, (int)u, -1, g, c->pct,
                                                                 targets[g].pct[0]});
                if(ok && c->n >= min_n && p->n >= min_n && c->pct - p->pct < -TALLY_DROP_ALERT_PTS)
                    ok = push_alert(r, &acap, (TallyReportAlert){TALLY_ALERT_DROP, (int)u, -1, g, c->pct - p->pct,
                                                                 -TALLY_DROP_ALERT_PTS});
            }
        for(size_t d = 0; d < r->n_devices && ok; d++) {
            const TallyReportDevice *dv = &r->devices[d];
            if(dv->flags & TALLY_DEV_SILENT) {
                int64_t since = dv->last_seen ? dv->last_seen : dv->created_at;
                ok = push_alert(r, &acap, (TallyReportAlert){TALLY_ALERT_SILENT, dv->unit, (int)d, -1,
                                                             (double)(spec->now_s - since) / 86400.0, 2});
            }
            if(ok && (dv->flags & TALLY_DEV_GAP))
                ok = push_alert(r, &acap, (TallyReportAlert){TALLY_ALERT_SEQ_GAP, dv->unit, (int)d, -1,
                                                             (double)dv->missing, 0});
        }
        if(!ok) {
            e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
            goto done;
        }
        if(r->n_alerts)
            qsort(r->alerts, r->n_alerts, sizeof *r->alerts, alert_cmp);
    }

done:
    tally_db_read_end(db);
    free(counts);
    free(uc);
    free(codes);
    free(map);
    tree_free(&t);
    if(e) {
        tally_report_free(r);
        return e;
    }
    *out = r;
    return TALLY_OK;
}
