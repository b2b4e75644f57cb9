/* tally_query.c — tallies from the roll-ups (see tally_query.h).
 *
 * Plan: load the unit tree (small: thousands of units) and map every unit of the asked subtree to the row
 * it counts for; split the days into whole months (monthly roll-up) and ragged ends (daily roll-up); read
 * each subtree unit's cells for each stretch (the primary keys start with unit, then day or month, so each is
 * one index range); add the cells into buckets keyed by up to three small integers (area index, unit index,
 * period number, group index); turn the buckets into rows. */
#include "sync/tally/tally_query.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define TREE_DEPTH_MAX 64
#define WILSON_Z 1.959963984540054 /* the 97.5th percentile of the standard normal */

static const char *const BY_CODES[TALLY_BY_COUNT] = {
    [TALLY_BY_AREA] = "area", [TALLY_BY_UNIT] = "unit", [TALLY_BY_DAY] = "day", [TALLY_BY_MONTH] = "month",
    [TALLY_BY_QUARTER] = "quarter", [TALLY_BY_HALF] = "half", [TALLY_BY_YEAR] = "year", [TALLY_BY_GROUP] = "group",
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
    char buf[64];
    if(strlen(text) >= sizeof buf)
        return false;
    strcpy(buf, text);
    spec->n_by = 0;
    char *save = NULL;
    for(char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int b = tally_by_from_code(tok);
        if(b < 0 || spec->n_by == TALLY_BY_MAX)
            return false;
        for(int i = 0; i < spec->n_by; i++)
            if((int)spec->by[i] == b)
                return false;
        spec->by[spec->n_by++] = (TallyBy)b;
    }
    return spec->n_by > 0;
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

static TallyErr fail(char msg[TALLY_MSG_MAX], TallyErr e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static TallyErr fail(char msg[TALLY_MSG_MAX], TallyErr e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, TALLY_MSG_MAX, fmt, ap);
    va_end(ap);
    return e;
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

static TallyErr tree_load(TallyDb *db, Tree *t, char msg[TALLY_MSG_MAX])
{
    sqlite3 *s = tally_db_sqlite(db);
    sqlite3_stmt *st;
    memset(t, 0, sizeof *t);
    if(sqlite3_prepare_v2(s, "SELECT code, coalesce(parent, '') FROM units ORDER BY code", -1, &st, NULL))
        return tally_db_fail(db, "read units", msg);
    size_t cap = 0;
    char (*parents)[PROTO_ID_MAX + 1] = NULL;
    TallyErr e = TALLY_OK;
    int rc;
    while((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if(t->n == cap) {
            cap = cap ? cap * 2 : 256;
            Unit *nu = realloc(t->u, cap * sizeof *nu);
            char(*np)[PROTO_ID_MAX + 1] = realloc(parents, cap * sizeof *np);
            if(nu)
                t->u = nu;
            if(np)
                parents = np;
            if(!nu || !np) {
                e = fail(msg, TALLY_E_NOMEM, "out of memory");
                break;
            }
        }
        snprintf(t->u[t->n].code, sizeof t->u[t->n].code, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(parents[t->n], sizeof parents[t->n], "%s", (const char *)sqlite3_column_text(st, 1));
        t->n++;
    }
    if(!e && rc != SQLITE_DONE)
        e = tally_db_fail(db, "read units", msg);
    sqlite3_finalize(st);
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
    int64_t  k[TALLY_BY_MAX];
    int64_t  n, satisfied, flagged;
    uint32_t areas; /* bit per area with any rating, to find the row's group */
    bool     used;
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
static int64_t dim_value(TallyBy by, int area, int unit_bucket, int64_t day, int y, int m)
{
    switch(by) {
    case TALLY_BY_AREA: return area;
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

static void finish_row(TallyRow *row, const Bucket *b, int group, const TallyTarget targets[GROUP_COUNT], int min_n)
{
    row->n = b->n;
    row->satisfied = b->satisfied;
    row->flagged = b->flagged;
    row->pct = b->n ? 100.0 * (double)b->satisfied / (double)b->n : 0;
    tally_wilson(b->satisfied, b->n, &row->wilson_low, &row->wilson_high);
    row->group = group;
    for(int m = 0; m < 2; m++) {
        row->target[m] = group >= 0 ? targets[group].pct[m] : -1;
        if(group < 0 || row->target[m] < 0)
            row->status[m] = TALLY_STATUS_NONE;
        else if(b->n < min_n)
            row->status[m] = TALLY_STATUS_CHUA_DU_MAU;
        else /* from counts: satisfied / n >= target / 100 */
            row->status[m] = (double)b->satisfied * 100.0 >= row->target[m] * (double)b->n ? TALLY_STATUS_DAT
                                                                                              : TALLY_STATUS_KHONG_DAT;
    }
}

/* Adds one roll-up cell into every bucket it counts for. */
static bool add_cell(Map *m, const TallySpec *spec, int area, int unit_bucket, int64_t day, int y, int mo,
                     bool satisfied, bool flagged, int64_t n)
{
    int gdim = -1;
    int64_t k[TALLY_BY_MAX] = {0};
    for(int i = 0; i < spec->n_by; i++) {
        if(spec->by[i] == TALLY_BY_GROUP)
            gdim = i;
        else
            k[i] = dim_value(spec->by[i], area, unit_bucket, day, y, mo);
    }
    /* phuc_vu counts service_score, which the area roll-ups do not hold. */
    for(int g = 0; g < (gdim >= 0 ? GROUP_AREA_COUNT : 1); g++) {
        if(gdim >= 0) {
            if(!proto_area_in_group((ProtoArea)area, (ProtoGroup)g))
                continue;
            k[gdim] = g;
        }
        Bucket *b = map_get(m, k);
        if(!b)
            return false;
        b->areas |= 1u << area;
        if(flagged) {
            b->flagged += n;
        } else {
            b->n += n;
            if(satisfied)
                b->satisfied += n;
        }
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

/* Splits [from, to] into at most: leading days, whole months, trailing days. */
static int plan_ranges(const TallySpec *spec, Range rg[3])
{
    bool by_day = false;
    for(int i = 0; i < spec->n_by; i++)
        by_day |= spec->by[i] == TALLY_BY_DAY;
    int64_t m_lo = month_of_day(spec->from_day), m_hi = month_of_day(spec->to_day);
    if(month_start(m_lo) != spec->from_day)
        m_lo++;                                /* from is mid-month: that month is ragged */
    if(month_start(m_hi + 1) - 1 != spec->to_day)
        m_hi--;                                /* to is mid-month */
    if(by_day || m_lo > m_hi) {
        rg[0] = (Range){false, spec->from_day, spec->to_day};
        return 1;
    }
    int n = 0;
    if(spec->from_day < month_start(m_lo))
        rg[n++] = (Range){false, spec->from_day, month_start(m_lo) - 1};
    rg[n++] = (Range){true, m_lo, m_hi};
    if(month_start(m_hi + 1) <= spec->to_day)
        rg[n++] = (Range){false, month_start(m_hi + 1), spec->to_day};
    return n;
}

/* Adds one unit's roll-up cells for one range into the buckets. */
static TallyErr scan(TallyDb *db, sqlite3_stmt *st, bool monthly, const char *unit, int64_t lo, int64_t hi,
                     int bucket, Map *m, const TallySpec *spec, bool *oom, char msg[TALLY_MSG_MAX])
{
    sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, lo);
    sqlite3_bind_int64(st, 3, hi);
    int64_t last = INT64_MIN;
    int y = 0, mo = 0, d = 0, rc;
    TallyErr e = TALLY_OK;
    while((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t when = sqlite3_column_int64(st, 0);
        int area = proto_area_from_code((const char *)sqlite3_column_text(st, 1));
        int scale = proto_scale_from_code((const char *)sqlite3_column_text(st, 2));
        int score = sqlite3_column_int(st, 3);
        if(area < 0 || scale < 0) /* written by a newer vocabulary: not ours to count */
            continue;
        if(spec->area >= 0 && area != spec->area)
            continue;
        if(when != last) {
            if(monthly)
                y = (int)(when / 12), mo = (int)(when % 12) + 1;
            else
                ptime_civil_from_days(when, &y, &mo, &d);
            last = when;
        }
        if(!add_cell(m, spec, area, bucket, monthly ? 0 : when, y, mo, proto_is_satisfied((ProtoScale)scale, score),
                     sqlite3_column_int(st, 4) != 0, sqlite3_column_int64(st, 5))) {
            *oom = true;
            break;
        }
    }
    if(!*oom && rc != SQLITE_DONE)
        e = tally_db_fail(db, "read roll-up", msg);
    sqlite3_reset(st);
    return e;
}

TallyErr tally_query_run(TallyDb *db, const TallySpec *spec, TallyRow **rows_out, size_t *n_out,
                         char msg[TALLY_MSG_MAX])
{
    *rows_out = NULL;
    *n_out = 0;
    if(spec->from_day > spec->to_day)
        return fail(msg, TALLY_E_INVALID, "from is after to / ngày bắt đầu sau ngày kết thúc");
    if(spec->n_by < 0 || spec->n_by > TALLY_BY_MAX || spec->min_n < 1 || spec->area >= AREA_COUNT)
        return fail(msg, TALLY_E_INVALID, "malformed tally request / yêu cầu không hợp lệ");
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
        return fail(msg, TALLY_E_NOT_FOUND, "unit %s does not exist / đơn vị %s không tồn tại", spec->unit,
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
        for(int g = 0; g < GROUP_AREA_COUNT && !oom; g++) {
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
    sqlite3_stmt *st[2] = {NULL, NULL};
    if(!oom && (sqlite3_prepare_v2(tally_db_sqlite(db),
                                   "SELECT day, area, scale, score, flagged, n FROM daily"
                                   " WHERE unit = ?1 AND day BETWEEN ?2 AND ?3", -1, &st[0], NULL) ||
                sqlite3_prepare_v2(tally_db_sqlite(db),
                                   "SELECT month, area, scale, score, flagged, n FROM monthly"
                                   " WHERE unit = ?1 AND month BETWEEN ?2 AND ?3", -1, &st[1], NULL)))
        e = tally_db_fail(db, "prepare tally", msg);
    for(size_t i = 0; i < t.n && !e && !oom; i++) {
        if(t.u[i].bucket < 0)
            continue;
        for(int k = 0; k < n_rg && !e && !oom; k++)
            e = scan(db, st[rg[k].monthly], rg[k].monthly, t.u[i].code, rg[k].lo, rg[k].hi, t.u[i].bucket, &m, spec,
                     &oom, msg);
    }
    sqlite3_finalize(st[0]);
    sqlite3_finalize(st[1]);

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
                finish_row(r, &list[i], group, targets, spec->min_n);
            }
        }
        free(list);
    }
    free(m.b);
    free(t.u);
    if(oom && !e)
        e = fail(msg, TALLY_E_NOMEM, "out of memory");
    if(e) {
        free(rows);
        return e;
    }
    *rows_out = rows;
    *n_out = n;
    return TALLY_OK;
}

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
