/* tally_table.c — the report's views as typed tables (see tally_table.h). One function per view fills a row;
 * tally_table_columns() lists the same columns in the same order. */
#include "sync/tally/tally_table.h"

#include <stdio.h>
#include <string.h>

int tally_table_trend_months(const TallyReport *r)
{
    int y, m, d;
    ptime_civil_from_days(r->period.to_day, &y, &m, &d);
    return y == r->trend_year ? m : 12;
}

/* ---- Columns ------------------------------------------------------------------------------------------ */

typedef struct {
    TallyColumn *cols;
    int          n;
} Cols;

static void col(Cols *c, const char *band, const char *sub, TallyCellType type, int width, bool brief)
{
    if(c->n >= TALLY_TABLE_COLS_MAX)
        return;
    TallyColumn *k = &c->cols[c->n++];
    memset(k, 0, sizeof *k);
    k->band = band;
    k->sub = sub;
    k->type = type;
    k->width = width;
    k->brief = brief;
    if(band)
        snprintf(k->head, sizeof k->head, "%s – %s", band, sub);
    else
        snprintf(k->head, sizeof k->head, "%s", sub);
}

/* The wait indicator of a figure: share within 30 minutes, its n, its interval. */
static void wait_cols(Cols *c, const char *band)
{
    col(c, band, tally_str(TS_COL_WAIT_PCT), TC_PCT, 11, true);
    col(c, band, tally_str(TS_FIG_WAIT_N), TC_INT, 12, false);
    col(c, band, tally_str(TS_COL_WAIT_LOW), TC_PCT, 12, false);
    col(c, band, tally_str(TS_COL_WAIT_HIGH), TC_PCT, 12, false);
}

/* A figure per target group, then every area together (the units and respondents views). */
static void group_band_cols(Cols *c)
{
    for(int g = 0; g < GROUP_COUNT; g++) {
        const char *band = proto_group_name_vi((ProtoGroup)g);
        col(c, band, tally_str(TS_FIG_PCT), TC_PCT, 10, true);
        col(c, band, tally_str(TS_FIG_N), TC_INT, 10, true);
        col(c, band, tally_str(TS_COL_VERDICT_2025), TC_STATUS, 11, false);
        col(c, band, tally_str(TS_COL_VERDICT_2030), TC_STATUS, 11, false);
    }
    col(c, tally_str(TS_FIG_TOTAL), tally_str(TS_FIG_N), TC_INT, 10, false);
    col(c, tally_str(TS_FIG_TOTAL), tally_str(TS_FIG_PCT), TC_PCT, 10, false);
    col(c, tally_str(TS_FIG_TOTAL), tally_str(TS_FIG_FLAGGED), TC_INT, 12, false);
    wait_cols(c, tally_str(TS_FIG_TOTAL));
}

/* The columns of a figure: n, satisfied, pct, interval, flagged, wait (the groups and areas views). */
static void figure_cols(Cols *c)
{
    col(c, NULL, tally_str(TS_FIG_N), TC_INT, 12, true);
    col(c, NULL, tally_str(TS_FIG_SATISFIED), TC_INT, 11, false);
    col(c, NULL, tally_str(TS_FIG_PCT), TC_PCT, 11, true);
    col(c, NULL, tally_str(TS_COL_LOW), TC_PCT, 11, false);
    col(c, NULL, tally_str(TS_COL_HIGH), TC_PCT, 11, false);
    col(c, NULL, tally_str(TS_FIG_FLAGGED), TC_INT, 13, false);
    wait_cols(c, NULL);
}

int tally_table_columns(const TallyReport *r, TallyView v, TallyColumn *cols)
{
    (void)r;
    Cols c = {cols, 0};
    switch(v) {
    case TALLY_VIEW_GROUPS:
        col(&c, NULL, tally_str(TS_OV_GROUP), TC_TEXT, 44, true);
        col(&c, NULL, tally_str(TS_COL_GROUP_CODE), TC_CODE, 25, false);
        figure_cols(&c);
        col(&c, NULL, tally_str(TS_FIG_TARGET_2025), TC_PCT, 10, true);
        col(&c, NULL, tally_str(TS_COL_VERDICT_2025), TC_STATUS, 12, true);
        col(&c, NULL, tally_str(TS_FIG_TARGET_2030), TC_PCT, 10, true);
        col(&c, NULL, tally_str(TS_COL_VERDICT_2030), TC_STATUS, 12, true);
        col(&c, NULL, tally_str(TS_COL_PREV_PCT), TC_PCT, 11, false);
        col(&c, NULL, tally_str(TS_COL_CHANGE_PTS), TC_PTS, 11, true);
        break;
    case TALLY_VIEW_UNITS:
        col(&c, NULL, tally_str(TS_UNIT_CODE), TC_CODE, 20, true);
        col(&c, NULL, tally_str(TS_UNIT_NAME), TC_NAME, 44, true);
        col(&c, NULL, tally_str(TS_COL_LEVEL), TC_INT, 5, false);
        col(&c, NULL, tally_str(TS_COL_PARENT), TC_CODE, 18, false);
        group_band_cols(&c);
        col(&c, NULL, tally_str(TS_COL_DEVICES), TC_INT, 7, false);
        break;
    case TALLY_VIEW_RESPONDENTS:
        col(&c, NULL, tally_str(TS_FIG_RESPONDENT), TC_TEXT, 24, true);
        col(&c, NULL, tally_str(TS_COL_RESPONDENT_CODE), TC_CODE, 16, false);
        group_band_cols(&c);
        break;
    case TALLY_VIEW_RANKING:
        col(&c, NULL, tally_str(TS_COL_RANK), TC_INT, 6, true);
        col(&c, NULL, tally_str(TS_UNIT_CODE), TC_CODE, 20, true);
        col(&c, NULL, tally_str(TS_UNIT_NAME), TC_TEXT, 44, true);
        col(&c, NULL, tally_str(TS_OV_GROUP), TC_TEXT, 28, true);
        col(&c, NULL, tally_str(TS_FIG_N), TC_INT, 11, true);
        col(&c, NULL, tally_str(TS_FIG_PCT), TC_PCT, 11, true);
        col(&c, NULL, tally_str(TS_COL_HIGH), TC_PCT, 11, true);
        col(&c, NULL, tally_str(TS_FIG_TARGET_2025), TC_PCT, 10, false);
        col(&c, NULL, tally_str(TS_COL_GAP_PTS), TC_PTS, 12, true);
        col(&c, NULL, tally_str(TS_COL_VERDICT_2025), TC_STATUS, 12, true);
        break;
    case TALLY_VIEW_AREAS:
        col(&c, NULL, tally_str(TS_UNIT_AREA), TC_TEXT, 30, true);
        col(&c, NULL, tally_str(TS_COL_AREA_CODE), TC_CODE, 16, false);
        col(&c, NULL, tally_str(TS_OV_GROUP), TC_TEXT, 28, false);
        figure_cols(&c);
        col(&c, NULL, tally_str(TS_COL_VERDICT_2025), TC_STATUS, 12, true);
        col(&c, NULL, tally_str(TS_COL_VERDICT_2030), TC_STATUS, 12, true);
        break;
    case TALLY_VIEW_TREND:
        col(&c, NULL, tally_str(TS_COL_MONTH), TC_TEXT, 9, true);
        for(int g = 0; g < GROUP_COUNT; g++) {
            const char *band = proto_group_name_vi((ProtoGroup)g);
            col(&c, band, tally_str(TS_FIG_N), TC_INT, 10, true);
            col(&c, band, tally_str(TS_FIG_PCT), TC_PCT, 10, true);
            col(&c, band, tally_str(TS_COL_VERDICT_2025), TC_STATUS, 11, false);
        }
        break;
    case TALLY_VIEW_REASONS:
        col(&c, NULL, tally_str(TS_COL_REASON), TC_TEXT, 34, true);
        col(&c, NULL, tally_str(TS_COL_REASON_CODE), TC_CODE, 16, false);
        col(&c, NULL, tally_str(TS_COL_TIMES), TC_INT, 12, true);
        break;
    case TALLY_VIEW_DEVICES:
        col(&c, NULL, tally_str(TS_DEV_ID), TC_CODE, 20, true);
        col(&c, NULL, tally_str(TS_UNIT_CODE), TC_CODE, 20, true);
        col(&c, NULL, tally_str(TS_DEV_UNIT), TC_TEXT, 40, false);
        col(&c, NULL, tally_str(TS_DEV_LAST), TC_DATETIME, 17, true);
        col(&c, NULL, tally_str(TS_DEV_RECEIVED), TC_INT, 12, true);
        col(&c, NULL, tally_str(TS_COL_MAX_SEQ), TC_INT, 12, false);
        col(&c, NULL, tally_str(TS_DEV_MISSING), TC_INT, 11, true);
        col(&c, NULL, tally_str(TS_DEV_QUARANTINED), TC_INT, 13, false);
        col(&c, NULL, tally_str(TS_COL_SKEW_S), TC_INT, 11, true);
        col(&c, NULL, tally_str(TS_DEV_STATE), TC_TEXT, 36, true);
        col(&c, NULL, tally_str(TS_COL_REGISTERED), TC_DATETIME, 17, false);
        col(&c, NULL, tally_str(TS_COL_REVOKED_AT), TC_DATETIME, 17, false);
        break;
    case TALLY_VIEW_ALERTS:
        col(&c, NULL, tally_str(TS_AL_KIND), TC_TEXT, 30, true);
        col(&c, NULL, tally_str(TS_UNIT_CODE), TC_CODE, 20, true);
        col(&c, NULL, tally_str(TS_UNIT_NAME), TC_TEXT, 40, false);
        col(&c, NULL, tally_str(TS_DEV_ID), TC_CODE, 18, true);
        col(&c, NULL, tally_str(TS_OV_GROUP), TC_TEXT, 28, true);
        col(&c, NULL, tally_str(TS_COL_VALUE), TC_NUM1, 10, true);
        col(&c, NULL, tally_str(TS_COL_THRESHOLD), TC_NUM1, 10, true);
        col(&c, NULL, tally_str(TS_COL_MEASURE), TC_TEXT, 10, true);
        break;
    default: break;
    }
    return c.n;
}

size_t tally_table_rows(const TallyReport *r, TallyView v)
{
    switch(v) {
    case TALLY_VIEW_GROUPS: return GROUP_COUNT;
    case TALLY_VIEW_UNITS: return r->n_units;
    case TALLY_VIEW_RANKING: return r->n_ranking;
    case TALLY_VIEW_AREAS: return AREA_COUNT;
    case TALLY_VIEW_TREND: return (size_t)tally_table_trend_months(r);
    case TALLY_VIEW_REASONS: return REASON_COUNT;
    case TALLY_VIEW_DEVICES: return r->n_devices;
    case TALLY_VIEW_ALERTS: return r->n_alerts;
    case TALLY_VIEW_RESPONDENTS: return RESPONDENT_COUNT;
    default: return 0;
    }
}

/* ---- Cells -------------------------------------------------------------------------------------------- */

static TallyCell text(TallyCellType t, const char *s)
{
    return (TallyCell){.type = t, .text = s ? s : "", .empty = !s || !*s};
}

static TallyCell num(TallyCellType t, int64_t i)
{
    return (TallyCell){.type = t, .i = i};
}

static TallyCell real(TallyCellType t, double d, bool empty)
{
    return (TallyCell){.type = t, .d = d, .empty = empty};
}

static TallyCell when(TallyCellType t, int64_t v)
{
    return (TallyCell){.type = t, .i = v, .empty = v == 0};
}

static TallyCell status(TallyStatus s)
{
    return (TallyCell){.type = TC_STATUS, .status = s, .text = tally_status_vi(s), .empty = s == TALLY_STATUS_NONE};
}

/* A target is -1 when the targets table has none. */
static TallyCell target(double t)
{
    return real(TC_PCT, t, t < 0);
}

static TallyCell *wait_cells(TallyCell *c, const TallyWait *w)
{
    *c++ = real(TC_PCT, w->pct, w->n == 0);
    *c++ = num(TC_INT, w->n);
    *c++ = real(TC_PCT, w->wilson_low, w->n == 0);
    *c++ = real(TC_PCT, w->wilson_high, w->n == 0);
    return c;
}

static TallyCell *figure_cells(TallyCell *c, const TallyFigure *f)
{
    *c++ = num(TC_INT, f->n);
    *c++ = num(TC_INT, f->satisfied);
    *c++ = real(TC_PCT, f->pct, f->n == 0);
    *c++ = real(TC_PCT, f->wilson_low, f->n == 0);
    *c++ = real(TC_PCT, f->wilson_high, f->n == 0);
    *c++ = num(TC_INT, f->flagged);
    return wait_cells(c, &f->wait);
}

/* Per group, then every area together: the cells of group_band_cols. */
static TallyCell *group_band_cells(TallyCell *c, const TallyFigure fig[GROUP_COUNT], const TallyFigure *all)
{
    for(int g = 0; g < GROUP_COUNT; g++) {
        *c++ = real(TC_PCT, fig[g].pct, fig[g].n == 0);
        *c++ = num(TC_INT, fig[g].n);
        *c++ = status(fig[g].status[0]);
        *c++ = status(fig[g].status[1]);
    }
    *c++ = num(TC_INT, all->n);
    *c++ = real(TC_PCT, all->pct, all->n == 0);
    *c++ = num(TC_INT, all->flagged);
    return wait_cells(c, &all->wait);
}

static void device_state(const TallyReportDevice *d, char *out, size_t len)
{
    static const struct { unsigned flag; TallyStr label; } FLAGS[] = {
        {TALLY_DEV_REVOKED, TS_DEV_REVOKED}, {TALLY_DEV_NEVER, TS_DEV_NEVER}, {TALLY_DEV_SILENT, TS_DEV_SILENT},
        {TALLY_DEV_SKEW, TS_DEV_SKEWED},     {TALLY_DEV_GAP, TS_DEV_GAP},       {TALLY_DEV_QUARANTINE, TS_DEV_QUARANTINE},
    };
    size_t n = 0;
    out[0] = '\0';
    for(size_t k = 0; k < sizeof FLAGS / sizeof FLAGS[0]; k++)
        if(d->flags & FLAGS[k].flag) {
            int w = snprintf(out + n, len - n, "%s%s", n ? "; " : "", tally_str(FLAGS[k].label));
            if(w < 0 || (size_t)w >= len - n)
                break;
            n += (size_t)w;
        }
    if(!n)
        snprintf(out, len, "%s", tally_str(TS_DEV_OK));
}

void tally_table_row(const TallyReport *r, TallyView v, size_t i, TallyTableRow *row)
{
    TallyCell *c = row->cell;
    switch(v) {
    case TALLY_VIEW_GROUPS: {
        const TallyReportGroup *g = &r->groups[i];
        *c++ = text(TC_TEXT, proto_group_name_vi((ProtoGroup)g->group));
        *c++ = text(TC_CODE, proto_group_code((ProtoGroup)g->group));
        c = figure_cells(c, &g->cur);
        *c++ = target(g->target[0]);
        *c++ = status(g->cur.status[0]);
        *c++ = target(g->target[1]);
        *c++ = status(g->cur.status[1]);
        *c++ = real(TC_PCT, g->prev.pct, g->prev.n == 0);
        *c++ = real(TC_PTS, g->change_pts, !g->has_change);
        break;
    }
    case TALLY_VIEW_UNITS: {
        const TallyReportUnit *u = &r->units[i];
        *c++ = text(TC_CODE, u->code);
        TallyCell name = text(TC_NAME, u->name);
        name.depth = u->depth;
        *c++ = name;
        *c++ = num(TC_INT, u->depth + 1);
        *c++ = text(TC_CODE, u->parent >= 0 ? r->units[u->parent].code : "");
        c = group_band_cells(c, u->fig, &u->all);
        *c++ = num(TC_INT, u->n_devices);
        break;
    }
    case TALLY_VIEW_RESPONDENTS: {
        const TallyReportRespondent *p = &r->respondents[i];
        const char *code = proto_respondent_code((ProtoRespondent)p->respondent);
        *c++ = text(TC_TEXT, tally_respondent_vi(p->respondent));
        *c++ = text(TC_CODE, code ? code : TALLY_RESPONDENT_NONE_CODE);
        c = group_band_cells(c, p->fig, &p->all);
        break;
    }
    case TALLY_VIEW_RANKING: {
        const TallyRankItem *k = &r->ranking[i];
        const TallyReportUnit *u = &r->units[k->unit];
        const TallyFigure *f = &u->fig[k->group];
        *c++ = num(TC_INT, (int64_t)i + 1);
        *c++ = text(TC_CODE, u->code);
        *c++ = text(TC_TEXT, u->name);
        *c++ = text(TC_TEXT, proto_group_name_vi((ProtoGroup)k->group));
        *c++ = num(TC_INT, f->n);
        *c++ = real(TC_PCT, f->pct, f->n == 0);
        *c++ = real(TC_PCT, k->score, f->n == 0);
        *c++ = target(r->groups[k->group].target[0]);
        *c++ = real(TC_PTS, -k->gap_pts, false); /* negative: even the upper bound is below the target */
        *c++ = status(f->status[0]);
        break;
    }
    case TALLY_VIEW_AREAS: {
        const TallyReportArea *a = &r->areas[i];
        *c++ = text(TC_TEXT, proto_area_name_vi((ProtoArea)a->area));
        *c++ = text(TC_CODE, proto_area_code((ProtoArea)a->area));
        *c++ = text(TC_TEXT, proto_group_name_vi((ProtoGroup)a->group));
        c = figure_cells(c, &a->fig);
        *c++ = status(a->fig.status[0]);
        *c++ = status(a->fig.status[1]);
        break;
    }
    case TALLY_VIEW_TREND: {
        snprintf(row->scratch, sizeof row->scratch, "%02zu/%04d", i + 1, r->trend_year);
        *c++ = text(TC_TEXT, row->scratch);
        for(int g = 0; g < GROUP_COUNT; g++) {
            const TallyFigure *f = &r->groups[g].month[i];
            *c++ = num(TC_INT, f->n);
            *c++ = real(TC_PCT, f->pct, f->n == 0);
            *c++ = status(f->n ? f->status[0] : TALLY_STATUS_NONE);
        }
        break;
    }
    case TALLY_VIEW_REASONS: {
        const TallyReportReason *k = &r->reasons[i];
        *c++ = text(TC_TEXT, proto_reason_name_vi((ProtoReason)k->reason));
        *c++ = text(TC_CODE, proto_reason_code((ProtoReason)k->reason));
        *c++ = num(TC_INT, k->n);
        break;
    }
    case TALLY_VIEW_DEVICES: {
        const TallyReportDevice *d = &r->devices[i];
        const TallyReportUnit *u = &r->units[d->unit];
        device_state(d, row->scratch, sizeof row->scratch);
        *c++ = text(TC_CODE, d->id);
        *c++ = text(TC_CODE, u->code);
        *c++ = text(TC_TEXT, u->name);
        *c++ = when(TC_DATETIME, d->last_seen);
        *c++ = num(TC_INT, d->received);
        *c++ = num(TC_INT, d->max_seq);
        *c++ = num(TC_INT, d->missing);
        *c++ = num(TC_INT, d->quarantined);
        TallyCell skew = num(TC_INT, d->last_skew_s);
        skew.empty = d->last_seen == 0;
        *c++ = skew;
        *c++ = text(TC_TEXT, row->scratch);
        *c++ = when(TC_DATETIME, d->created_at);
        *c++ = when(TC_DATETIME, d->revoked_at);
        break;
    }
    case TALLY_VIEW_ALERTS: {
        static const TallyStr KIND[TALLY_ALERT_COUNT] = {TS_AL_BELOW, TS_AL_DROP, TS_AL_SILENT, TS_AL_GAP};
        static const TallyStr MEASURE[TALLY_ALERT_COUNT] = {TS_MEASURE_PCT, TS_MEASURE_PTS, TS_MEASURE_DAYS,
                                                            TS_MEASURE_RATINGS};
        static const TallyCellType TYPE[TALLY_ALERT_COUNT] = {TC_PCT, TC_PTS, TC_NUM1, TC_INT};
        const TallyReportAlert *a = &r->alerts[i];
        const TallyReportUnit *u = &r->units[a->unit];
        TallyCellType t = TYPE[a->kind];
        *c++ = text(TC_TEXT, tally_str(KIND[a->kind]));
        *c++ = text(TC_CODE, u->code);
        *c++ = text(TC_TEXT, u->name);
        *c++ = text(TC_CODE, a->device >= 0 ? r->devices[a->device].id : "");
        *c++ = text(TC_TEXT, a->group >= 0 ? proto_group_name_vi((ProtoGroup)a->group) : "");
        *c++ = t == TC_INT ? num(t, (int64_t)a->value) : real(t, a->value, false);
        *c++ = t == TC_INT ? num(t, (int64_t)a->threshold) : real(t, a->threshold, false);
        *c++ = text(TC_TEXT, tally_str(MEASURE[a->kind]));
        break;
    }
    default: break;
    }
}
