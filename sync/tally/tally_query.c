/* tally_query.c — tallies from the roll-ups (see tally_query.h).
 *
 * Plan: load the unit tree (small: thousands of units) and map every unit of the asked subtree to the row
 * it counts for; split the days into whole months (monthly roll-up) and ragged ends (daily roll-up); read
 * each subtree unit's cells for each stretch (the primary keys start with unit, then day or month, so each is
 * one index range: per unit on SQLite, all units in one statement per stretch on PostgreSQL, where each
 * statement is a round trip; see read_range); add the cells into buckets keyed by up to three small integers
 * (area index, unit index, period number, group index); turn the buckets into rows. */
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_pg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/tally/tally_form.h"
#include "sync/tally/tally_text.h"

#define TREE_DEPTH_MAX 64
#define WILSON_Z 1.959963984540054 /* the 97.5th percentile of the standard normal */

static const char *const BY_CODES[TALLY_BY_COUNT] = {
    [TALLY_BY_AREA] = "area", [TALLY_BY_UNIT] = "unit", [TALLY_BY_DAY] = "day", [TALLY_BY_MONTH] = "month",
    [TALLY_BY_QUARTER] = "quarter", [TALLY_BY_HALF] = "half", [TALLY_BY_YEAR] = "year", [TALLY_BY_GROUP] = "group",
    [TALLY_BY_RESPONDENT] = "respondent",
};

const char *tally_by_code(TallyBy b)
{
    return (unsigned)b < TALLY_BY_COUNT ? BY_CODES[b] : NULL;
}

int tally_by_from_code(const char *code)
{
    for(int i = 0; i < TALLY_BY_COUNT; i++)
        if(strcmp(BY_CODES[i], code) == 0)
            return i;
    return -1;
}

const char *tally_status_code(TallyStatus s)
{
    switch(s) {
    case TALLY_STATUS_DAT: return "dat";
    case TALLY_STATUS_KHONG_DAT: return "khong_dat";
    case TALLY_STATUS_CHUA_DU_MAU: return "chua_du_mau";
    default: return NULL;
    }
}

const char *tally_status_label(TallyStatus s)
{
    switch(s) {
    case TALLY_STATUS_DAT: return "Đạt / met";
    case TALLY_STATUS_KHONG_DAT: return "Không đạt / not met";
    case TALLY_STATUS_CHUA_DU_MAU: return "Chưa đủ mẫu / too few";
    default: return "-";
    }
}

bool tally_parse_by(const char *text, TallySpec *spec)
{
    spec->n_by = 0;
    for(const char *item = text;;) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        char code[16];
        if(len == 0 || len >= sizeof code || spec->n_by == TALLY_BY_MAX)
            return false;
        memcpy(code, item, len);
        code[len] = '\0';
        int b = tally_by_from_code(code);
        if(b < 0)
            return false;
        for(int i = 0; i < spec->n_by; i++)
            if((int)spec->by[i] == b)
                return false;
        spec->by[spec->n_by++] = (TallyBy)b;
        if(!comma)
            return true;
        item = comma + 1;
    }
}

static TallyErr query_fail(TallyQueryError *err, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static TallyErr query_fail(TallyQueryError *err, const char *code, const char *param, const char *fmt, ...)
{
    err->code = code;
    tally_utf8_clean(param, strlen(param), err->param, sizeof err->param);
    va_list ap;
    char raw[TALLY_MSG_MAX];
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    tally_utf8_clean(raw, strlen(raw), err->msg, sizeof err->msg); /* a name cut short may end mid-character */
    return TALLY_E_INVALID;
}

/* 1..1000000 written with digits only. */
static bool parse_min_n(const char *v, int *out)
{
    size_t n = strlen(v);
    if(n == 0 || n > 7 || strspn(v, "0123456789") != n)
        return false;
    long x = strtol(v, NULL, 10);
    if(x < 1 || x > 1000000)
        return false;
    *out = (int)x;
    return true;
}

TallyErr tally_query_parse(const char *query, size_t len, TallySpec *spec, TallyQueryError *err)
{
    static const char *const NAMES[] = {"from", "to", "unit", "area", "respondent", "by", "min_n"};
    memset(spec, 0, sizeof *spec);
    spec->area = -1;
    spec->min_n = TALLY_MIN_N_DEFAULT;
    err->code = NULL;
    err->param[0] = err->msg[0] = '\0';
    TallyForm *form = malloc(sizeof *form);
    if(!form) {
        snprintf(err->msg, sizeof err->msg, "out of memory / hết bộ nhớ");
        return TALLY_E_NOMEM;
    }
    char bad[TALLY_FORM_NAME_SHOWN + 4];
    TallyErr e = TALLY_OK;
    switch(tally_form_parse(query, len, form, bad)) {
    case TALLY_FORM_OK: break;
    case TALLY_FORM_E_REPEATED:
        e = query_fail(err, "bad_value", bad, "%s is given more than once / tham số %s bị lặp lại", bad, bad);
        break;
    case TALLY_FORM_E_TOO_MANY:
        e = query_fail(err, "bad_value", "", "too many query parameters / quá nhiều tham số");
        break;
    case TALLY_FORM_E_SYNTAX:
        e = query_fail(err, "bad_value", bad, "parameter \"%s\" is malformed (empty, a bad %%-escape, a NUL byte or "
                       "not UTF-8) / tham số không hợp lệ", bad);
        break;
    }
    for(size_t i = 0; !e && i < form->n; i++) {
        bool known = false;
        for(size_t k = 0; k < sizeof NAMES / sizeof NAMES[0]; k++)
            known |= strcmp(form->pair[i].name, NAMES[k]) == 0;
        if(!known)
            e = query_fail(err, "unknown_field", form->pair[i].name, "unknown parameter \"%.64s\" (known: from, to, "
                           "unit, area, respondent, by, min_n) / tham số không được hỗ trợ", form->pair[i].name);
        else if(!form->pair[i].value[0])
            e = query_fail(err, "bad_value", form->pair[i].name, "%s is empty / tham số %s để trống",
                           form->pair[i].name, form->pair[i].name);
    }
    const char *from = tally_form_get(form, "from"), *to = tally_form_get(form, "to");
    const char *unit = tally_form_get(form, "unit"), *area = tally_form_get(form, "area");
    const char *by = tally_form_get(form, "by"), *min_n = tally_form_get(form, "min_n");
    const char *respondent = tally_form_get(form, "respondent");
    if(e) {
    } else if(!from || !ptime_parse_date(from, &spec->from_day)) {
        e = query_fail(err, "bad_value", "from", "from must be a date YYYY-MM-DD / from phải là ngày YYYY-MM-DD");
    } else if(!to || !ptime_parse_date(to, &spec->to_day)) {
        e = query_fail(err, "bad_value", "to", "to must be a date YYYY-MM-DD / to phải là ngày YYYY-MM-DD");
    } else if(spec->from_day > spec->to_day) {
        e = query_fail(err, "bad_value", "from", "from is after to / ngày bắt đầu sau ngày kết thúc");
    } else if(unit && !proto_code_valid(unit)) {
        e = query_fail(err, "bad_value", "unit", "unit is not a unit code / mã đơn vị không hợp lệ");
    } else if(area && (spec->area = proto_area_from_code(area)) < 0) {
        e = query_fail(err, "unknown_area", "area", "unknown area / lĩnh vực không tồn tại");
    } else if(respondent && (spec->respondent = proto_respondent_from_code(respondent)) <= 0) {
        e = query_fail(err, "unknown_respondent", "respondent", "respondent must be nguoi_dan, doanh_nghiep or "
                       "to_chuc / đối tượng đánh giá không hợp lệ");
    } else if(by && !tally_parse_by(by, spec)) {
        e = query_fail(err, "bad_value", "by", "by must be up to %d of area, unit, day, month, quarter, half, year, "
                       "group, respondent, each once, without empty items / by không hợp lệ", TALLY_BY_MAX);
    } else if(min_n && !parse_min_n(min_n, &spec->min_n)) {
        e = query_fail(err, "bad_value", "min_n", "min_n must be a whole number 1-1000000 / min_n không hợp lệ");
    }
    if(!e && unit)
        snprintf(spec->unit, sizeof spec->unit, "%s", unit);
    free(form);
    return e;
}

void tally_wilson(int64_t s, int64_t n, double *low, double *high)
{
    if(n <= 0) {
        *low = *high = 0;
        return;
    }
    double p = (double)s / (double)n, z2 = WILSON_Z * WILSON_Z, nn = (double)n;
    double denom = 1 + z2 / nn;
    double centre = (p + z2 / (2 * nn)) / denom;
    double half = WILSON_Z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
    *low = fmax(0, centre - half) * 100;
    *high = fmin(1, centre + half) * 100;
}

/* ---- Counts ----------------------------------------------------------------------------------------- */

void tally_counts_rating(const ProtoRating *r, int sign, TallyCounts *c)
{
    bool flagged = (r->flags & PROTO_FLAG_RAPID_REPEAT) != 0, svc = r->service_score > 0;
    bool wait = r->wait != WAIT_NONE, within = proto_wait_within_30(r->wait);
    if(flagged) {
        c->flagged += sign;
        c->svc_flagged += svc ? sign : 0;
        return; /* misuse: in no n, no wait share */
    }
    c->n += sign;
    c->satisfied += proto_is_satisfied(r->scale, r->score) ? sign : 0;
    if(svc) {
        c->svc_n += sign;
        c->svc_satisfied += proto_is_satisfied(r->scale, r->service_score) ? sign : 0;
    }
    c->wait_n += wait ? sign : 0;
    c->wait_within += within ? sign : 0;
    c->svc_wait_n += svc && wait ? sign : 0;
    c->svc_wait_within += svc && within ? sign : 0;
}

void tally_counts_add(TallyCounts *to, const TallyCounts *c)
{
    to->n += c->n, to->satisfied += c->satisfied, to->flagged += c->flagged;
    to->svc_n += c->svc_n, to->svc_satisfied += c->svc_satisfied, to->svc_flagged += c->svc_flagged;
    to->wait_n += c->wait_n, to->wait_within += c->wait_within;
    to->svc_wait_n += c->svc_wait_n, to->svc_wait_within += c->svc_wait_within;
}

bool tally_area_counts_in(int area, int group)
{
    return group == GROUP_PHUC_VU || proto_area_in_group((ProtoArea)area, (ProtoGroup)group);
}

/* ---- The unit tree in memory ------------------------------------------------------------------------ */

typedef struct {
    char code[PROTO_ID_MAX + 1];
    int  parent;  /* index, -1 for a root */
    int  bucket;  /* index of the unit this one counts for in by=unit; -1 when outside the subtree */
} Unit;

typedef struct {
    Unit  *u;
    size_t n;
} Tree;

static int unit_cmp(const void *a, const void *b)
{
    return strcmp(((const Unit *)a)->code, ((const Unit *)b)->code);
}

static int tree_find(const Tree *t, const char *code)
{
    Unit key;
    snprintf(key.code, sizeof key.code, "%s", code);
    const Unit *u = bsearch(&key, t->u, t->n, sizeof *t->u, unit_cmp);
    return u ? (int)(u - t->u) : -1;
}

/* The units as (code, parent or ""), ordered by code byte-wise (bsearch relies on it): the rows of *res on
 * PostgreSQL (PQclear it), of *st on SQLite (finalize it). */
static TallyErr units_read(TallyDb *db, sqlite3_stmt **st, PGresult **res, char msg[TALLY_MSG_MAX])
{
    *st = NULL;
    *res = NULL;
    if(tally_db_pg(db))
        return tally_pg_exec(tally_db_pg(db), "read units", msg, res,
                             "SELECT code, coalesce(parent, '') FROM units ORDER BY code COLLATE \"C\"", 0, NULL);
    if(sqlite3_prepare_v2(tally_db_sqlite(db), "SELECT code, coalesce(parent, '') FROM units ORDER BY code", -1, st,
                          NULL))
        return tally_db_fail(db, "read units", msg);
    return TALLY_OK;
}

static TallyErr tree_load(TallyDb *db, Tree *t, char msg[TALLY_MSG_MAX])
{
    sqlite3_stmt *st;
    PGresult *res;
    memset(t, 0, sizeof *t);
    TallyErr e = units_read(db, &st, &res, msg);
    if(e)
        return e;
    size_t cap = 0;
    char (*parents)[PROTO_ID_MAX + 1] = NULL;
    int rc;
    TallyRows row = {st, res, -1};
    while(tally_rows_next(&row, &rc)) {
        if(t->n == cap) {
            cap = cap ? cap * 2 : 256;
            Unit *nu = realloc(t->u, cap * sizeof *nu);
            char(*np)[PROTO_ID_MAX + 1] = realloc(parents, cap * sizeof *np);
            if(nu)
                t->u = nu;
            if(np)
                parents = np;
            if(!nu || !np) {
                e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
                break;
            }
        }
        snprintf(t->u[t->n].code, sizeof t->u[t->n].code, "%s", tally_rows_text(&row, 0));
        snprintf(parents[t->n], sizeof parents[t->n], "%s", tally_rows_text(&row, 1));
        t->n++;
    }
    if(!e && rc != SQLITE_DONE)
        e = tally_db_fail(db, "read units", msg);
    sqlite3_finalize(st);
    PQclear(res);
    /* SQLite's ORDER BY on TEXT is memcmp order, the same as strcmp: bsearch works on it. */
    for(size_t i = 0; !e && i < t->n; i++)
        t->u[i].parent = parents[i][0] ? tree_find(t, parents[i]) : -1;
    free(parents);
    if(e) {
        free(t->u);
        t->u = NULL;
    }
    return e;
}

/* Marks each unit with the row it counts for: the child of `top` on its path up (or `top` itself), or the
 * root of its tree when top is -1; -1 when outside the subtree. */
static void tree_assign(Tree *t, int top)
{
    for(size_t i = 0; i < t->n; i++) {
        int cur = (int)i, below = -1, depth = 0;
        t->u[i].bucket = -1;
        while(cur >= 0 && depth++ < TREE_DEPTH_MAX) {
            if(cur == top) {
                t->u[i].bucket = below >= 0 ? below : top;
                break;
            }
            if(t->u[cur].parent < 0 && top < 0) {
                t->u[i].bucket = cur;
                break;
            }
            below = cur;
            cur = t->u[cur].parent;
        }
    }
}

/* ---- Buckets ---------------------------------------------------------------------------------------- */

typedef struct {
    int64_t     k[TALLY_BY_MAX];
    TallyCounts c;
    uint32_t    areas; /* bit per area with any rating, to find the row's group */
    bool        used;
} Bucket;

typedef struct {
    Bucket *b;
    size_t  cap, used;
} Map;

static uint64_t key_hash(const int64_t k[TALLY_BY_MAX])
{
    uint64_t h = 1469598103934665603ull;
    for(int i = 0; i < TALLY_BY_MAX; i++)
        h = (h ^ (uint64_t)k[i]) * 1099511628211ull, h ^= h >> 29;
    return h;
}

static Bucket *map_get(Map *m, const int64_t k[TALLY_BY_MAX])
{
    if((m->used + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        Bucket *nb = calloc(ncap, sizeof *nb);
        if(!nb)
            return NULL;
        for(size_t i = 0; i < m->cap; i++)
            if(m->b[i].used) {
                size_t j = key_hash(m->b[i].k) & (ncap - 1);
                while(nb[j].used)
                    j = (j + 1) & (ncap - 1);
                nb[j] = m->b[i];
            }
        free(m->b);
        m->b = nb;
        m->cap = ncap;
    }
    size_t j = key_hash(k) & (m->cap - 1);
    while(m->b[j].used) {
        if(memcmp(m->b[j].k, k, sizeof m->b[j].k) == 0)
            return &m->b[j];
        j = (j + 1) & (m->cap - 1);
    }
    memcpy(m->b[j].k, k, sizeof m->b[j].k);
    m->b[j].used = true;
    m->used++;
    return &m->b[j];
}

static int bucket_cmp(const void *a, const void *b)
{
    const Bucket *x = a, *y = b;
    for(int i = 0; i < TALLY_BY_MAX; i++)
        if(x->k[i] != y->k[i])
            return x->k[i] < y->k[i] ? -1 : 1;
    return 0;
}

/* The value of one dimension for a cell (GROUP is handled by the caller: a cell may count in several). */
static int64_t dim_value(TallyBy by, int area, int respondent, int unit_bucket, int64_t day, int y, int m)
{
    switch(by) {
    case TALLY_BY_AREA: return area;
    case TALLY_BY_RESPONDENT: return respondent;
    case TALLY_BY_UNIT: return unit_bucket;
    case TALLY_BY_DAY: return day;
    case TALLY_BY_MONTH: return (int64_t)y * 12 + (m - 1);
    case TALLY_BY_QUARTER: return (int64_t)y * 4 + (m - 1) / 3;
    case TALLY_BY_HALF: return (int64_t)y * 2 + (m - 1) / 6;
    case TALLY_BY_YEAR: return y;
    default: return 0;
    }
}

static void format_dim(TallyBy by, int64_t v, const Tree *t, char *out, size_t len)
{
    char date[PTIME_DATE_LEN];
    switch(by) {
    case TALLY_BY_AREA: snprintf(out, len, "%s", proto_area_code((ProtoArea)v)); break;
    case TALLY_BY_UNIT: snprintf(out, len, "%s", t->u[v].code); break;
    case TALLY_BY_DAY: ptime_format_date(v, date); snprintf(out, len, "%s", date); break;
    case TALLY_BY_MONTH: snprintf(out, len, "%04lld-%02lld", (long long)(v / 12), (long long)(v % 12 + 1)); break;
    case TALLY_BY_QUARTER: snprintf(out, len, "%04lld-Q%lld", (long long)(v / 4), (long long)(v % 4 + 1)); break;
    case TALLY_BY_HALF: snprintf(out, len, "%04lld-H%lld", (long long)(v / 2), (long long)(v % 2 + 1)); break;
    case TALLY_BY_YEAR: snprintf(out, len, "%04lld", (long long)v); break;
    case TALLY_BY_GROUP: snprintf(out, len, "%s", proto_group_code((ProtoGroup)v)); break;
    case TALLY_BY_RESPONDENT:
        snprintf(out, len, "%s", v ? proto_respondent_code((ProtoRespondent)v) : TALLY_RESPONDENT_NONE_CODE);
        break;
    default: snprintf(out, len, "?"); break;
    }
}

/* The most specific target group holding every area in the mask; -1 when none does (or the mask is empty). */
static int group_of_areas(uint32_t mask)
{
    static const ProtoGroup ORDER[] = {GROUP_DAT_DAI_XAY_DUNG_DAU_TU, GROUP_Y_TE, GROUP_GIAO_DUC, GROUP_TTHC};
    if(!mask)
        return -1;
    for(size_t i = 0; i < sizeof ORDER / sizeof ORDER[0]; i++) {
        bool all = true;
        for(int a = 0; a < AREA_COUNT && all; a++)
            if(mask & (1u << a))
                all = proto_area_in_group((ProtoArea)a, ORDER[i]);
        if(all)
            return ORDER[i];
    }
    return -1;
}

void tally_finish_counts(const TallyCounts *c, int group, const TallyTarget targets[GROUP_COUNT], int min_n,
                         TallyRow *row)
{
    /* phuc_vu counts the service rating, and the waits of the ratings that have one. */
    bool svc = group == GROUP_PHUC_VU;
    int64_t n = svc ? c->svc_n : c->n, satisfied = svc ? c->svc_satisfied : c->satisfied;
    row->n = n;
    row->satisfied = satisfied;
    row->flagged = svc ? c->svc_flagged : c->flagged;
    row->pct = n ? 100.0 * (double)satisfied / (double)n : 0;
    tally_wilson(satisfied, n, &row->wilson_low, &row->wilson_high);
    row->group = group;
    for(int m = 0; m < 2; m++) {
        row->target[m] = group >= 0 ? targets[group].pct[m] : -1;
        if(group < 0 || row->target[m] < 0)
            row->status[m] = TALLY_STATUS_NONE;
        else if(n < min_n)
            row->status[m] = TALLY_STATUS_CHUA_DU_MAU;
        else /* from counts: satisfied / n >= target / 100 */
            row->status[m] = (double)satisfied * 100.0 >= row->target[m] * (double)n ? TALLY_STATUS_DAT
                                                                                      : TALLY_STATUS_KHONG_DAT;
    }
    TallyWait *w = &row->wait;
    w->n = svc ? c->svc_wait_n : c->wait_n;
    w->within = svc ? c->svc_wait_within : c->wait_within;
    w->pct = w->n ? 100.0 * (double)w->within / (double)w->n : 0;
    tally_wilson(w->within, w->n, &w->wilson_low, &w->wilson_high);
}

/* Adds one roll-up cell into every bucket it counts for: with by=group, each group holding its area, and
 * phuc_vu (any area: its figure is the service counts). */
static bool add_cell(Map *m, const TallySpec *spec, int area, int respondent, int unit_bucket, int64_t day, int y,
                     int mo, const TallyCounts *c)
{
    int gdim = -1;
    int64_t k[TALLY_BY_MAX] = {0};
    for(int i = 0; i < spec->n_by; i++) {
        if(spec->by[i] == TALLY_BY_GROUP)
            gdim = i;
        else
            k[i] = dim_value(spec->by[i], area, respondent, unit_bucket, day, y, mo);
    }
    for(int g = 0; g < (gdim >= 0 ? GROUP_COUNT : 1); g++) {
        if(gdim >= 0) {
            if(!tally_area_counts_in(area, g))
                continue;
            k[gdim] = g;
        }
        Bucket *b = map_get(m, k);
        if(!b)
            return false;
        b->areas |= 1u << area;
        tally_counts_add(&b->c, c);
    }
    return true;
}

/* A stretch of the asked days, read from one roll-up: days lo..hi, or months lo..hi when monthly. */
typedef struct {
    bool    monthly;
    int64_t lo, hi;
} Range;

static int64_t month_of_day(int64_t day)
{
    int y, m, d;
    ptime_civil_from_days(day, &y, &m, &d);
    return (int64_t)y * 12 + m - 1;
}

static int64_t month_start(int64_t month)
{
    return ptime_days_from_civil((int)(month / 12), (int)(month % 12) + 1, 1);
}

/* Splits days [from, to] into at most: leading days, whole months, trailing days (only days when by_day). */
static int split_days(int64_t from, int64_t to, bool by_day, Range rg[3])
{
    int64_t m_lo = month_of_day(from), m_hi = month_of_day(to);
    if(month_start(m_lo) != from)
        m_lo++;                                /* from is mid-month: that month is ragged */
    if(month_start(m_hi + 1) - 1 != to)
        m_hi--;                                /* to is mid-month */
    if(by_day || m_lo > m_hi) {
        rg[0] = (Range){false, from, to};
        return 1;
    }
    int n = 0;
    if(from < month_start(m_lo))
        rg[n++] = (Range){false, from, month_start(m_lo) - 1};
    rg[n++] = (Range){true, m_lo, m_hi};
    if(month_start(m_hi + 1) <= to)
        rg[n++] = (Range){false, month_start(m_hi + 1), to};
    return n;
}

static int plan_ranges(const TallySpec *spec, Range rg[3])
{
    bool by_day = false;
    for(int i = 0; i < spec->n_by; i++)
        by_day |= spec->by[i] == TALLY_BY_DAY;
    return split_days(spec->from_day, spec->to_day, by_day, rg);
}

/* The columns every read of daily_sat / monthly_sat selects after its first `col` ones. */
#define SAT_COLS "area, respondent, n, satisfied, flagged, svc_n, svc_satisfied, svc_flagged, wait_n, wait_within," \
                 " svc_wait_n, svc_wait_within"

/* Reads SAT_COLS from column col on; false for an area or respondent code this program does not know. */
static bool sat_row(const TallyRows *st, int col, int *area, int *respondent, TallyCounts *c)
{
    const char *resp = tally_rows_text(st, col + 1);
    *area = proto_area_from_code(tally_rows_text(st, col));
    *respondent = resp && resp[0] ? proto_respondent_from_code(resp) : RESPONDENT_NONE;
    int64_t *v[] = {&c->n, &c->satisfied, &c->flagged, &c->svc_n, &c->svc_satisfied, &c->svc_flagged,
                    &c->wait_n, &c->wait_within, &c->svc_wait_n, &c->svc_wait_within};
    for(int k = 0; k < (int)(sizeof v / sizeof v[0]); k++)
        *v[k] = tally_rows_i64(st, col + 2 + k);
    return *area >= 0 && *respondent >= 0;
}

/* ---- Reading the roll-ups ------------------------------------------------------------------------------ */

/* One roll-up read: what it selects, from which table, and its period column (day or month). On SQLite it
 * runs once per unit and range ("unit = ?1": one primary-key range each, microseconds apart). On PostgreSQL it
 * runs once per range for every unit at once ("unit = ANY($1)", the unit added as the last column): a round
 * trip there costs ~0.2-0.3 ms, so a province of ninety units read one by one spent ~30 ms waiting. */
typedef struct {
    const char *cols, *table, *period;
} RollupRead;

/* A read made ready: the prepared SQLite statement, or the SQL text PostgreSQL runs. */
typedef struct {
    sqlite3_stmt *st;
    char          pg_sql[512];
} Read;

static TallyErr read_prepare(TallyDb *db, const RollupRead *r, Read *out, char msg[TALLY_MSG_MAX])
{
    out->st = NULL;
    if(tally_db_pg(db)) {
        int n = snprintf(out->pg_sql, sizeof out->pg_sql,
                         "SELECT %s, unit FROM %s WHERE unit = ANY($1::text[]) AND %s BETWEEN $2 AND $3", r->cols,
                         r->table, r->period);
        return n > 0 && (size_t)n < sizeof out->pg_sql ? TALLY_OK
                                                       : tally_set_msg(msg, TALLY_E_DB, "roll-up read too long");
    }
    char sql[512];
    int n = snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE unit = ?1 AND %s BETWEEN ?2 AND ?3", r->cols, r->table,
                     r->period);
    if(n < 0 || (size_t)n >= sizeof sql)
        return tally_set_msg(msg, TALLY_E_DB, "roll-up read too long");
    if(sqlite3_prepare_v2(tally_db_sqlite(db), sql, -1, &out->st, NULL))
        return tally_db_fail(db, "prepare roll-up read", msg);
    return TALLY_OK;
}

static void read_finalize(Read *r)
{
    sqlite3_finalize(r->st);
    r->st = NULL;
}

/* A unit list as it is read: on PostgreSQL also an array literal of it and an index sorted by code, to match
 * each row back to its unit(s). */
typedef struct {
    const char *code;
    size_t      i; /* position in the list */
} UnitRef;

typedef struct {
    TallyDb           *db;
    const char *const *units;
    size_t             n;
    char              *pg_array; /* {"code",...} */
    UnitRef           *refs;
} UnitSet;

static int unitref_cmp(const void *a, const void *b)
{
    const UnitRef *x = a, *y = b;
    int c = strcmp(x->code, y->code);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static void unitset_free(UnitSet *s)
{
    free(s->pg_array);
    free(s->refs);
    s->pg_array = NULL;
    s->refs = NULL;
}

static TallyErr unitset_init(UnitSet *s, TallyDb *db, const char *const *units, size_t n, char msg[TALLY_MSG_MAX])
{
    *s = (UnitSet){db, units, n, NULL, NULL};
    if(!tally_db_pg(db))
        return TALLY_OK;
    size_t cap = 3;
    for(size_t i = 0; i < n; i++)
        cap += 2 * strlen(units[i]) + 3;
    char *p = s->pg_array = malloc(cap);
    s->refs = malloc((n ? n : 1) * sizeof *s->refs);
    if(!s->pg_array || !s->refs) {
        unitset_free(s);
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    }
    *p++ = '{';
    for(size_t i = 0; i < n; i++) {
        if(i)
            *p++ = ',';
        *p++ = '"';
        for(const char *c = units[i]; *c; c++) { /* codes are [A-Za-z0-9._-]; quoted as any text would be */
            if(*c == '"' || *c == '\\')
                *p++ = '\\';
            *p++ = *c;
        }
        *p++ = '"';
        s->refs[i] = (UnitRef){units[i], i};
    }
    *p++ = '}';
    *p = '\0';
    qsort(s->refs, n, sizeof *s->refs, unitref_cmp);
    return TALLY_OK;
}

/* The first entry of s->refs for code and how many there are (a list naming a unit twice reads it twice on
 * SQLite; so each copy gets the rows here too). */
static size_t unitset_find(const UnitSet *s, const char *code, size_t *count)
{
    size_t lo = 0, hi = s->n;
    while(lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if(strcmp(s->refs[mid].code, code) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while(end < s->n && strcmp(s->refs[end].code, code) == 0)
        end++;
    *count = end - lo;
    return lo;
}

/* Called for each row with the position in the list of the unit it belongs to; false stops the read (out of
 * memory: the callback keeps the flag). */
typedef bool (*RowFn)(const TallyRows *row, size_t unit, void *ud);

/* Reads r over [lo, hi] for every unit of s, handing each row to fn. */
static TallyErr read_range(const UnitSet *s, Read *r, int64_t lo, int64_t hi, RowFn fn, void *ud, const char *what,
                           char msg[TALLY_MSG_MAX])
{
    int rc = SQLITE_DONE;
    bool go = true;
    if(!tally_db_pg(s->db)) {
        for(size_t u = 0; u < s->n && go; u++) {
            sqlite3_bind_text(r->st, 1, s->units[u], -1, SQLITE_STATIC);
            sqlite3_bind_int64(r->st, 2, lo);
            sqlite3_bind_int64(r->st, 3, hi);
            TallyRows row = {r->st, NULL, -1};
            while(go && tally_rows_next(&row, &rc))
                go = fn(&row, u, ud);
            TallyErr e = go && rc != SQLITE_DONE ? tally_db_fail(s->db, what, msg) : TALLY_OK;
            sqlite3_reset(r->st);
            if(e)
                return e;
        }
        return TALLY_OK;
    }
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)lo);
    snprintf(b, sizeof b, "%lld", (long long)hi);
    const char *p[] = {s->pg_array, a, b};
    PGresult *res;
    if(!s->n)
        return TALLY_OK;
    TallyErr e = tally_pg_exec(tally_db_pg(s->db), what, msg, &res, r->pg_sql, 3, p);
    if(e)
        return e;
    int unit_col = PQnfields(res) - 1;
    TallyRows row = {NULL, res, -1};
    while(go && tally_rows_next(&row, &rc)) {
        size_t count, first = unitset_find(s, tally_rows_text(&row, unit_col), &count);
        for(size_t k = 0; k < count && go; k++)
            go = fn(&row, s->refs[first + k].i, ud);
    }
    PQclear(res);
    return TALLY_OK;
}

/* What query_run's rows go into: the buckets, and the bucket of each unit read. */
typedef struct {
    Map             *m;
    const TallySpec *spec;
    const int       *bucket;  /* per unit of the list */
    bool             monthly; /* the range read: months, else days */
    int64_t          last;    /* the period of the previous row, whose y, mo, d are below */
    int              y, mo, d;
    bool             oom;
} ScanTo;

/* Adds one roll-up row into every bucket it counts for. */
static bool scan_row(const TallyRows *row, size_t unit, void *ud)
{
    ScanTo *to = ud;
    int64_t when = tally_rows_i64(row, 0);
    TallyCounts c;
    int area, respondent;
    if(!sat_row(row, 1, &area, &respondent, &c)) /* written by a newer vocabulary: not ours to count */
        return true;
    if((to->spec->area >= 0 && area != to->spec->area) ||
       (to->spec->respondent && respondent != to->spec->respondent))
        return true;
    if(when != to->last) {
        if(to->monthly)
            to->y = (int)(when / 12), to->mo = (int)(when % 12) + 1;
        else
            ptime_civil_from_days(when, &to->y, &to->mo, &to->d);
        to->last = when;
    }
    if(!add_cell(to->m, to->spec, area, respondent, to->bucket[unit], to->monthly ? 0 : when, to->y, to->mo, &c)) {
        to->oom = true;
        return false;
    }
    return true;
}

/* The counts roll-ups as query_run and read_counts read them: [0] daily, [1] monthly. */
static const RollupRead SAT_READ[2] = {
    {"day, " SAT_COLS, "daily_sat", "day"},
    {"month, " SAT_COLS, "monthly_sat", "month"},
};

static TallyErr query_run(TallyDb *db, const TallySpec *spec, TallyRow **rows_out, size_t *n_out,
                          char msg[TALLY_MSG_MAX])
{
    *rows_out = NULL;
    *n_out = 0;
    if(spec->from_day > spec->to_day)
        return tally_set_msg(msg, TALLY_E_INVALID, "from is after to / ngày bắt đầu sau ngày kết thúc");
    if(spec->n_by < 0 || spec->n_by > TALLY_BY_MAX || spec->min_n < 1 || spec->area >= AREA_COUNT ||
       spec->respondent < 0 || spec->respondent >= RESPONDENT_COUNT)
        return tally_set_msg(msg, TALLY_E_INVALID, "malformed tally request / yêu cầu không hợp lệ");
    TallyTarget targets[GROUP_COUNT];
    TallyErr e = tally_targets_get(db, targets, msg);
    if(e)
        return e;
    Tree t;
    if((e = tree_load(db, &t, msg)))
        return e;
    int top = -1;
    if(spec->unit[0] && (top = tree_find(&t, spec->unit)) < 0) {
        free(t.u);
        return tally_set_msg(msg, TALLY_E_NOT_FOUND, "unit %s does not exist / đơn vị %s không tồn tại", spec->unit,
                    spec->unit);
    }
    tree_assign(&t, top);

    Map m = {0};
    bool oom = false;
    int64_t zero[TALLY_BY_MAX] = {0};
    /* Rows that exist even without data: the whole slice, each target group, each direct child unit. */
    if(spec->n_by == 0)
        oom |= !map_get(&m, zero);
    if(spec->n_by == 1 && spec->by[0] == TALLY_BY_GROUP)
        for(int g = 0; g < GROUP_COUNT && !oom; g++) {
            int64_t k[TALLY_BY_MAX] = {g};
            oom |= !map_get(&m, k);
        }
    if(spec->n_by == 1 && spec->by[0] == TALLY_BY_UNIT)
        for(size_t i = 0; i < t.n && !oom; i++)
            if(t.u[i].bucket == (int)i && (int)i != top) {
                int64_t k[TALLY_BY_MAX] = {(int64_t)i};
                oom |= !map_get(&m, k);
            }

    /* Whole months inside [from, to] come from the monthly roll-up, the ragged ends from the daily one
     * (everything from the daily one when rows are per day). */
    Range rg[3];
    int n_rg = plan_ranges(spec, rg);
    const char **codes = malloc((t.n ? t.n : 1) * sizeof *codes);
    int *bucket = malloc((t.n ? t.n : 1) * sizeof *bucket);
    size_t n_read = 0;
    oom |= !codes || !bucket;
    for(size_t i = 0; i < t.n && !oom; i++)
        if(t.u[i].bucket >= 0) {
            codes[n_read] = t.u[i].code;
            bucket[n_read++] = t.u[i].bucket;
        }
    UnitSet us = {0};
    Read rd[2] = {{0}, {0}};
    if(!oom && !(e = unitset_init(&us, db, codes, n_read, msg)) && !(e = read_prepare(db, &SAT_READ[0], &rd[0], msg)))
        e = read_prepare(db, &SAT_READ[1], &rd[1], msg);
    ScanTo to = {.m = &m, .spec = spec, .bucket = bucket};
    for(int k = 0; k < n_rg && !e && !oom; k++) {
        to.monthly = rg[k].monthly;
        to.last = INT64_MIN;
        e = read_range(&us, &rd[rg[k].monthly], rg[k].lo, rg[k].hi, scan_row, &to, "read roll-up", msg);
        oom |= to.oom;
    }
    read_finalize(&rd[0]);
    read_finalize(&rd[1]);
    unitset_free(&us);
    free(codes);
    free(bucket);

    TallyRow *rows = NULL;
    size_t n = 0;
    if(!e && !oom) {
        Bucket *list = malloc((m.used ? m.used : 1) * sizeof *list);
        rows = calloc(m.used ? m.used : 1, sizeof *rows);
        if(!list || !rows) {
            oom = true;
        } else {
            for(size_t i = 0; i < m.cap; i++)
                if(m.b[i].used)
                    list[n++] = m.b[i];
            qsort(list, n, sizeof *list, bucket_cmp);
            for(size_t i = 0; i < n; i++) {
                TallyRow *r = &rows[i];
                int group = -1;
                size_t len = 0;
                if(spec->n_by == 0)
                    snprintf(r->key, sizeof r->key, "%s", spec->unit[0] ? spec->unit : "all");
                for(int d = 0; d < spec->n_by; d++) {
                    char part[TALLY_KEY_MAX];
                    format_dim(spec->by[d], list[i].k[d], &t, part, sizeof part);
                    len += (size_t)snprintf(r->key + len, sizeof r->key - len, "%s%s", d ? "/" : "", part);
                    if(len >= sizeof r->key)
                        len = sizeof r->key - 1;
                    if(spec->by[d] == TALLY_BY_GROUP)
                        group = (int)list[i].k[d];
                }
                if(group < 0)
                    group = group_of_areas(spec->area >= 0 ? 1u << spec->area : list[i].areas);
                tally_finish_counts(&list[i].c, group, targets, spec->min_n, r);
            }
        }
        free(list);
    }
    free(m.b);
    free(t.u);
    if(oom && !e)
        e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    if(e) {
        free(rows);
        return e;
    }
    *rows_out = rows;
    *n_out = n;
    return TALLY_OK;
}

TallyErr tally_query_run(TallyDb *db, const TallySpec *spec, TallyRow **rows_out, size_t *n_out,
                         char msg[TALLY_MSG_MAX])
{
    /* Targets, units, monthly and daily cells from one snapshot: a batch committed between two of these
     * statements must not be half in the tally. */
    *rows_out = NULL;
    *n_out = 0;
    TallyErr e = tally_db_read_begin(db, msg);
    if(e)
        return e;
    e = query_run(db, spec, rows_out, n_out, msg);
    tally_db_read_end(db);
    return e;
}

/* ---- Roll-up readers for the report model ----------------------------------------------------------- */

/* Where read_counts puts what it reads: out[((unit * n_seg + seg) * AREA_COUNT + area) * n_resp + r]; with
 * split (n_resp = RESPONDENT_COUNT) r is the row's respondent, else (n_resp = 1) r = 0 and only rows of the
 * respondent filter (RESPONDENT_NONE: all) count. */
typedef struct {
    TallyCounts *out;
    size_t       n_seg;
    const int   *month_seg;   /* monthly rows: month - m_lo -> segment, -1 when not whole; NULL: daily rows */
    int64_t      m_lo;
    int          seg;         /* daily rows: their segment */
    int          respondent;
    bool         split;
} CountsTo;

/* One row of daily_sat or monthly_sat into the cells of its unit. */
static bool counts_row(const TallyRows *q, size_t unit, void *ud)
{
    const CountsTo *to = ud;
    size_t n_resp = to->split ? RESPONDENT_COUNT : 1;
    int s = to->month_seg ? to->month_seg[tally_rows_i64(q, 0) - to->m_lo] : to->seg, area, resp;
    TallyCounts c;
    if(s < 0 || !sat_row(q, 1, &area, &resp, &c) || (!to->split && to->respondent && resp != to->respondent))
        return true;
    TallyCounts *base = to->out + unit * to->n_seg * AREA_COUNT * n_resp;
    tally_counts_add(&base[((size_t)s * AREA_COUNT + (size_t)area) * n_resp + (to->split ? (size_t)resp : 0)], &c);
    return true;
}

static TallyErr read_counts(TallyDb *db, const char *const *units, size_t n_units, const TallyDayRange *seg,
                            size_t n_seg, int respondent, bool split, TallyCounts *out, char msg[TALLY_MSG_MAX])
{
    if(!n_units || !n_seg)
        return TALLY_OK;
    if(respondent < 0 || respondent >= RESPONDENT_COUNT)
        return tally_set_msg(msg, TALLY_E_INVALID, "unknown respondent");
    /* Months wholly inside one segment come from monthly_sat in one range read per unit; every other day from
     * daily_sat. month_seg maps month - m_lo to its segment (-1: not whole). */
    int64_t m_lo = INT64_MAX, m_hi = INT64_MIN;
    for(size_t s = 0; s < n_seg; s++) {
        if(seg[s].from_day > seg[s].to_day)
            return tally_set_msg(msg, TALLY_E_INVALID, "empty segment");
        m_lo = month_of_day(seg[s].from_day) < m_lo ? month_of_day(seg[s].from_day) : m_lo;
        m_hi = month_of_day(seg[s].to_day) > m_hi ? month_of_day(seg[s].to_day) : m_hi;
    }
    size_t n_months = (size_t)(m_hi - m_lo + 1);
    int *month_seg = malloc(n_months * sizeof *month_seg);
    Range (*rg)[3] = malloc(n_seg * sizeof *rg);
    int *n_rg = malloc(n_seg * sizeof *n_rg);
    if(!month_seg || !rg || !n_rg) {
        free(month_seg), free(rg), free(n_rg);
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    }
    for(size_t i = 0; i < n_months; i++)
        month_seg[i] = -1;
    for(size_t s = 0; s < n_seg; s++) {
        n_rg[s] = split_days(seg[s].from_day, seg[s].to_day, false, rg[s]);
        for(int k = 0; k < n_rg[s]; k++)
            if(rg[s][k].monthly)
                for(int64_t m = rg[s][k].lo; m <= rg[s][k].hi; m++)
                    month_seg[m - m_lo] = (int)s;
    }
    UnitSet us;
    Read mr = {0}, dr = {0};
    TallyErr e = unitset_init(&us, db, units, n_units, msg);
    if(!e)
        e = read_prepare(db, &SAT_READ[1], &mr, msg);
    if(!e)
        e = read_prepare(db, &SAT_READ[0], &dr, msg);
    CountsTo to = {.out = out, .n_seg = n_seg, .month_seg = month_seg, .m_lo = m_lo, .respondent = respondent,
                   .split = split};
    if(!e)
        e = read_range(&us, &mr, m_lo, m_hi, counts_row, &to, "read counts roll-up", msg);
    to.month_seg = NULL;
    for(size_t s = 0; s < n_seg && !e; s++)
        for(int k = 0; k < n_rg[s] && !e; k++) {
            if(rg[s][k].monthly)
                continue;
            to.seg = (int)s;
            e = read_range(&us, &dr, rg[s][k].lo, rg[s][k].hi, counts_row, &to, "read counts roll-up", msg);
        }
    read_finalize(&mr);
    read_finalize(&dr);
    unitset_free(&us);
    free(month_seg), free(rg), free(n_rg);
    return e;
}

TallyErr tally_query_counts(TallyDb *db, const char *const *units, size_t n_units, const TallyDayRange *seg,
                            size_t n_seg, int respondent, TallyCounts *out, char msg[TALLY_MSG_MAX])
{
    return read_counts(db, units, n_units, seg, n_seg, respondent, false, out, msg);
}

TallyErr tally_query_counts_by_respondent(TallyDb *db, const char *const *units, size_t n_units, int64_t from_day,
                                          int64_t to_day, TallyCounts out[RESPONDENT_COUNT * AREA_COUNT],
                                          char msg[TALLY_MSG_MAX])
{
    /* One segment; read_counts lays its cells out area-major, so they are summed over units here. */
    TallyCounts *per_unit = calloc((n_units ? n_units : 1) * AREA_COUNT * RESPONDENT_COUNT, sizeof *per_unit);
    if(!per_unit)
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    TallyDayRange seg = {from_day, to_day};
    TallyErr e = read_counts(db, units, n_units, &seg, 1, RESPONDENT_NONE, true, per_unit, msg);
    for(size_t u = 0; u < n_units && !e; u++)
        for(int a = 0; a < AREA_COUNT; a++)
            for(int r = 0; r < RESPONDENT_COUNT; r++)
                tally_counts_add(&out[r * AREA_COUNT + a], &per_unit[(u * AREA_COUNT + (size_t)a) * RESPONDENT_COUNT + (size_t)r]);
    free(per_unit);
    return e;
}

/* scan_units' callback, which needs no unit. */
typedef struct {
    void (*fn)(const TallyRows *row, void *ud);
    void *ud;
} UnitsFn;

static bool units_row(const TallyRows *row, size_t unit, void *ud)
{
    (void)unit;
    const UnitsFn *f = ud;
    f->fn(row, f->ud);
    return true;
}

/* Reads one roll-up for the listed units over [from, to]: whole months with read[1] (monthly), ragged days
 * with read[0] (daily), handing every row to fn. */
static TallyErr scan_units(TallyDb *db, const char *const *units, size_t n_units, int64_t from_day, int64_t to_day,
                           const RollupRead read[2], void (*fn)(const TallyRows *row, void *ud), void *ud,
                           const char *what, char msg[TALLY_MSG_MAX])
{
    Range rg[3];
    int n_rg = split_days(from_day, to_day, false, rg);
    UnitSet us;
    Read rd[2] = {{0}, {0}};
    TallyErr e = unitset_init(&us, db, units, n_units, msg);
    if(!e)
        e = read_prepare(db, &read[0], &rd[0], msg);
    if(!e)
        e = read_prepare(db, &read[1], &rd[1], msg);
    UnitsFn f = {fn, ud};
    for(int k = 0; k < n_rg && !e; k++)
        e = read_range(&us, &rd[rg[k].monthly], rg[k].lo, rg[k].hi, units_row, &f, what, msg);
    read_finalize(&rd[0]);
    read_finalize(&rd[1]);
    unitset_free(&us);
    return e;
}

typedef struct {
    int      area;
    int64_t *out;
} ReasonScan;

static void reason_row(const TallyRows *q, void *ud)
{
    ReasonScan *rs = ud;
    int a = proto_area_from_code(tally_rows_text(q, 0));
    int r = proto_reason_from_code(tally_rows_text(q, 1));
    if(a >= 0 && r >= 0 && (rs->area < 0 || a == rs->area))
        rs->out[r] += tally_rows_i64(q, 2);
}

TallyErr tally_query_reasons(TallyDb *db, const char *const *units, size_t n_units, int64_t from_day,
                             int64_t to_day, int area, int64_t out[REASON_COUNT], char msg[TALLY_MSG_MAX])
{
    ReasonScan rs = {area, out};
    static const RollupRead READ[2] = {{"area, reason, n", "reasons_daily", "day"},
                                       {"area, reason, n", "reasons_monthly", "month"}};
    return scan_units(db, units, n_units, from_day, to_day, READ, reason_row, &rs, "read reasons roll-up", msg);
}

typedef struct {
    int     area;
    int64_t (*n)[24], (*unsat)[24];
} HeatScan;

static void heat_row(const TallyRows *q, void *ud)
{
    HeatScan *hs = ud;
    int64_t wd = tally_rows_i64(q, 0), h = tally_rows_i64(q, 1);
    int a = proto_area_from_code(tally_rows_text(q, 4));
    if(wd < 0 || wd > 6 || h < 0 || h > 23 || a < 0 || (hs->area >= 0 && a != hs->area))
        return;
    hs->n[wd][h] += tally_rows_i64(q, 2);
    hs->unsat[wd][h] += tally_rows_i64(q, 3);
}

TallyErr tally_query_heat(TallyDb *db, const char *const *units, size_t n_units, int64_t from_day, int64_t to_day,
                          int area, int64_t n[7][24], int64_t unsat[7][24], char msg[TALLY_MSG_MAX])
{
    HeatScan hs = {area, n, unsat};
    /* Both reads give (weekday, hour, n, unsatisfied, area); the daily one derives the weekday (day 0 was a
     * Thursday). */
    static const RollupRead READ[2] = {{"(day + 3) % 7, hour, n, unsatisfied, area", "hours_daily", "day"},
                                       {"weekday, hour, n, unsatisfied, area", "hours_monthly", "month"}};
    return scan_units(db, units, n_units, from_day, to_day, READ, heat_row, &hs, "read hours roll-up", msg);
}
