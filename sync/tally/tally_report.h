/* tally_report.h — the report model: one period + one scope, computed once into plain structs.
 *
 * Every page of the dashboard (tally_html), every report file (JSON, CSV, XLSX, PDF: tally_render_*) and
 * `tally-admin report|alerts` format a TallyReport; none of them computes a figure or runs SQL. A figure on the
 * screen and the same figure in a file come from the same field. This module runs no SQL either: it reads the
 * roll-ups through tally_query and the device/unit tables through tally_db, so another database underneath
 * (issue 14) changes only those two modules.
 *
 * The rules behind the figures are ../shared/reference/metric.md and docs/protocol.md: n excludes ratings
 * flagged as misuse (counted in `flagged`), pct = satisfied / n, the Wilson 95% interval, "Chưa đủ mẫu" when
 * n < min_n, each milestone met when satisfied * 100 >= target * n. Every TallyFigure here equals the row of
 * GET /api/v1/tally for the same slice (tests hold them equal).
 *
 * Ownership: tally_report_build() allocates one TallyReport; tally_report_free() releases all of it. Indexes
 * (unit, device) point into the report's own arrays; -1 means none. */
#ifndef SYNC_TALLY_REPORT_H
#define SYNC_TALLY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/tally/tally_db.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_strings.h"

#define TALLY_SILENT_AFTER_S (2 * 86400) /* a kiosk that has not uploaded for longer is "silent" */
#define TALLY_SKEW_ALERT_S (5 * 60)      /* a device clock off by more is highlighted */
#define TALLY_DROP_ALERT_PTS 5.0         /* a fall of more than this many points from the previous period */
#define TALLY_PERIOD_CODE_MAX 40
#define TALLY_PERIOD_LABEL_MAX 80

/* ---- Periods ------------------------------------------------------------------------------------------ */

/* The cadence of reports to Sở Nội vụ (seed 000:1294-1298) plus "9 tháng" and custom dates. */
typedef enum {
    TALLY_PERIOD_MONTH,   /* tháng:  "thang:2026-11" */
    TALLY_PERIOD_QUARTER, /* quý:    "quy:2026-4" */
    TALLY_PERIOD_HALF,    /* 6 tháng: "6thang:2026-1" (H1) or "6thang:2026-2" (H2) */
    TALLY_PERIOD_9MONTH,  /* 9 tháng: "9thang:2026" = January..September */
    TALLY_PERIOD_YEAR,    /* năm:    "nam:2026" */
    TALLY_PERIOD_CUSTOM,  /* tùy chọn: "2026-01-05..2026-02-10" */
    TALLY_PERIOD_COUNT
} TallyPeriodKind;

typedef struct {
    TallyPeriodKind kind;
    int     year;                          /* the calendar year of the period's last day */
    int     index;                         /* month 1-12, quarter 1-4, half 1-2; 0 otherwise */
    int64_t from_day, to_day;              /* inclusive ptime day numbers (Asia/Ho_Chi_Minh) */
    /* The previous period of the same length, for the "change" figures and the drop alert: the previous
     * month / quarter / half / year; for 9 tháng the same nine months a year earlier; for custom dates the
     * same number of days just before. */
    int64_t prev_from_day, prev_to_day;
    char    code[TALLY_PERIOD_CODE_MAX];    /* the canonical code above; round-trips through tally_period_parse */
    char    label_vi[TALLY_PERIOD_LABEL_MAX];      /* "Quý IV năm 2026", "Tháng 11 năm 2026", "05/01/2026 – 10/02/2026" */
    char    prev_label_vi[TALLY_PERIOD_LABEL_MAX]; /* the previous period, same style */
} TallyPeriod;

/* The period of `kind` that contains `day` (custom: that one day). */
void tally_period_containing(TallyPeriodKind kind, int64_t day, TallyPeriod *out);
/* kind + year + index (month 1-12, quarter 1-4, half 1-2; ignored for 9 tháng and năm). False when out of range. */
bool tally_period_make(TallyPeriodKind kind, int year, int index, TallyPeriod *out);
/* Custom dates; false when from > to or the span exceeds 3 years. */
bool tally_period_custom(int64_t from_day, int64_t to_day, TallyPeriod *out);
/* Parses a period code (see TallyPeriodKind); false when malformed. */
bool tally_period_parse(const char *code, TallyPeriod *out);
/* "thang", "quy", "6thang", "9thang", "nam", "tuychon" — the kind's code (also the form field value). */
const char *tally_period_kind_code(TallyPeriodKind k);
int         tally_period_kind_from_code(const char *code); /* -1 when unknown */

/* ---- Figures ------------------------------------------------------------------------------------------ */

/* One slice's figure, as one row of /api/v1/tally. pct and the interval are meaningful only when n > 0. For
 * the phuc_vu group n counts the ratings with a service answer and satisfied the satisfied service answers. */
typedef struct {
    int64_t     n, satisfied, flagged;
    double      pct, wilson_low, wilson_high; /* percent */
    TallyStatus status[2];                    /* [0] 2025 milestone, [1] 2030; NONE when no group applies */
    TallyWait   wait;                         /* "Chờ không quá 30 phút" of the same ratings (no milestone) */
} TallyFigure;

/* One target group's card on the overview. */
typedef struct {
    int         group;               /* ProtoGroup */
    double      target[2];           /* 2025, 2030 in percent (the targets table) */
    TallyFigure cur;                 /* the period */
    TallyFigure prev;                /* the previous period of the same length */
    bool        has_change;          /* both periods have n > 0 */
    double      change_pts;          /* cur.pct - prev.pct, in percentage points */
    TallyFigure month[12];           /* trend: January..December of `trend_year` (n == 0 where no data) */
} TallyReportGroup;

/* ---- Units -------------------------------------------------------------------------------------------- */

/* The unit tree below the report's unit, flattened in pre-order (children by code): units[0] is the report's
 * unit itself (depth 0), or with the whole province as scope each root of the tree at depth 0. */
typedef struct {
    char        code[PROTO_ID_MAX + 1];
    char        name[TALLY_NAME_MAX + 1];
    int         parent;              /* index in units, -1 at depth 0 */
    int         depth;
    int         n_children;
    int         n_devices;           /* kiosks enrolled at this unit itself */
    TallyFigure fig[GROUP_COUNT];    /* the unit's whole subtree, per target group, the period */
    TallyFigure prev[GROUP_COUNT];   /* the same, previous period */
    TallyFigure all;                 /* every area together (no group: status NONE), the period */
} TallyReportUnit;

/* How the ranking orders units (named on every page that shows it). */
typedef enum {
    /* By the Wilson 95% upper bound against the group's 2025 target (target - upper bound, largest first;
     * within one group that is the upper bound ascending): a unit is listed as far below only when even the
     * optimistic end of its interval is, so a unit with a handful of ratings (a wide interval) can neither top
     * nor bottom the list. */
    TALLY_RANK_WILSON_HIGH_ASC
} TallyRankMethod;

/* One line of "units furthest below target": counters (units without children) with n > 0 in the group. */
typedef struct {
    int    unit;                     /* index in units */
    int    group;                    /* ProtoGroup */
    double score;                    /* the ranking key: the Wilson upper bound, percent */
    double gap_pts;                  /* target 2025 minus score; > 0 means below the target even optimistically */
} TallyRankItem;

/* The unit chain from the scope's root down to the report unit's parent, for "links back up the tree". */
typedef struct {
    char code[PROTO_ID_MAX + 1];
    char name[TALLY_NAME_MAX + 1];
} TallyReportCrumb;

/* ---- Areas, reasons, heat map --------------------------------------------------------------------------- */

typedef struct {
    int         area;                /* ProtoArea */
    int         group;               /* its most specific ProtoGroup: the verdict in `fig` is against it */
    TallyFigure fig;
} TallyReportArea;

/* Reasons citizens chose after a not-satisfied rating (misuse-flagged ratings left out), most frequent first. */
typedef struct {
    int     reason;                  /* ProtoReason */
    int64_t n;
} TallyReportReason;

/* One respondent type's figures (index = ProtoRespondent; RESPONDENT_NONE: not asked or not answered), so
 * each target can be read the way it is worded (TTHC: người dân, doanh nghiệp; phuc_vu: người dân, tổ chức). */
typedef struct {
    int         respondent;          /* ProtoRespondent */
    TallyFigure fig[GROUP_COUNT];    /* the report unit's subtree, per target group, the period */
    TallyFigure all;                 /* every area together (status NONE) */
} TallyReportRespondent;

/* Ratings by local hour and weekday (0 = Monday .. 6 = Sunday), misuse-flagged left out. */
typedef struct {
    int64_t n[7][24];
    int64_t unsatisfied[7][24];
    int64_t max_n;                   /* the largest n[][] (for colour scales) */
} TallyReportHeat;

/* ---- Devices and alerts ------------------------------------------------------------------------------- */

enum {
    TALLY_DEV_SILENT = 1u << 0,      /* no upload for more than TALLY_SILENT_AFTER_S (or never, once enrolled that long) */
    TALLY_DEV_SKEW = 1u << 1,        /* |last clock skew| > TALLY_SKEW_ALERT_S */
    TALLY_DEV_GAP = 1u << 2,         /* ratings made on the kiosk that never arrived (missing > 0) */
    TALLY_DEV_REVOKED = 1u << 3,     /* revoked: shown, never alerted */
    TALLY_DEV_NEVER = 1u << 4,       /* has never uploaded */
    TALLY_DEV_QUARANTINE = 1u << 5,  /* some of its ratings are quarantined for a wrong clock (quarantined > 0) */
};

typedef struct {
    char     id[PROTO_ID_MAX + 1];
    int      unit;                   /* index in units */
    int64_t  created_at, revoked_at, last_seen; /* Unix seconds; 0 = not revoked / never */
    int64_t  last_skew_s;            /* device clock minus the server's at its last batch */
    int64_t  received;               /* ratings stored from this kiosk, all time */
    int64_t  max_seq;                /* the highest sequence number received */
    int64_t  missing;                /* max_seq - received: numbers never seen (kiosk seq starts at 1) */
    int64_t  quarantined;            /* of received, kept out of the figures for a wrong clock (docs/protocol.md) */
    unsigned flags;                  /* TALLY_DEV_* */
} TallyReportDevice;

typedef enum {
    TALLY_ALERT_BELOW_TARGET,        /* a unit's group below the 2025 milestone with n >= min_n */
    TALLY_ALERT_DROP,                /* a unit's group fell > TALLY_DROP_ALERT_PTS from the previous period (both n >= min_n) */
    TALLY_ALERT_SILENT,              /* a kiosk silent for more than 2 days */
    TALLY_ALERT_SEQ_GAP,             /* a kiosk with ratings that never arrived */
    TALLY_ALERT_COUNT
} TallyAlertKind;

typedef struct {
    TallyAlertKind kind;
    int            unit;             /* index in units (the device's unit for device alerts) */
    int            device;           /* index in devices, -1 for unit alerts */
    int            group;            /* ProtoGroup for unit alerts, -1 otherwise */
    double         value;            /* pct (below), change in points (drop, negative), days silent, missing count */
    double         threshold;        /* the target, -TALLY_DROP_ALERT_PTS, 2 days, 0 */
} TallyReportAlert;

const char *tally_alert_code(TallyAlertKind k); /* "below_target", "drop", "silent", "seq_gap" */

/* ---- The report ---------------------------------------------------------------------------------------- */

/* What to build (each part costs roll-up reads; pages ask only for what they show). */
enum {
    TALLY_PART_GROUPS = 1u << 0,     /* groups[].cur/prev/change */
    TALLY_PART_TREND = 1u << 1,      /* groups[].month[] */
    TALLY_PART_UNITS = 1u << 2,      /* units[] with figures, ranking[] */
    TALLY_PART_AREAS = 1u << 3,
    TALLY_PART_REASONS = 1u << 4,
    TALLY_PART_DEVICES = 1u << 5,
    TALLY_PART_ALERTS = 1u << 6,     /* implies UNITS and DEVICES */
    TALLY_PART_HEAT = 1u << 7,
    TALLY_PART_RESPONDENTS = 1u << 8, /* respondents[] */
    TALLY_PART_ALL = 0x1ffu,
};

typedef struct {
    TallyPeriod period;
    char        scope[PROTO_ID_MAX + 1]; /* the viewer's scope unit; "" = the whole province */
    char        unit[PROTO_ID_MAX + 1];  /* the unit reported on, inside the scope; "" = the scope itself */
    int         area;                    /* a ProtoArea filter, -1 for all */
    int         respondent;              /* a ProtoRespondent filter; RESPONDENT_NONE (0) = everyone */
    int         min_n;                   /* 0 = TALLY_MIN_N_DEFAULT */
    unsigned    parts;                   /* TALLY_PART_*; 0 = ALL */
    int64_t     now_s;                   /* the clock: generated_at and "silent" are measured from it */
} TallyReportSpec;

typedef struct {
    /* Meta: what every page and file states. */
    TallyPeriod      period;
    char             scope_code[PROTO_ID_MAX + 1];  /* "" = the whole province */
    char             scope_name[TALLY_NAME_MAX + 1];/* the unit's name, or tally_str(TS_SCOPE_PROVINCE) */
    char             unit_code[PROTO_ID_MAX + 1];   /* the unit reported on ("" = the whole scope) */
    char             unit_name[TALLY_NAME_MAX + 1];
    int              area;                          /* -1 = all areas */
    int              respondent;                    /* RESPONDENT_NONE = everyone, else only that type */
    int              min_n;
    int64_t          generated_at;                  /* Unix seconds (spec.now_s) */
    int64_t          data_last_received;            /* newest upload from a kiosk in the unit's subtree; 0 = none */
    TallyStr         note_key;                      /* the "indicative figures" note (TS_NOTE_INDICATIVE) */
    TallyStr         note_supplementary_key;        /* y tế / giáo dục are supplementary (TS_NOTE_SUPPLEMENTARY) */
    unsigned         parts;                         /* what was built */

    TallyFigure      total;                         /* every area, the period (status NONE) */
    TallyReportGroup groups[GROUP_COUNT];           /* index = ProtoGroup */
    int              trend_year;                    /* the year of groups[].month[] */

    TallyReportCrumb *path;                         /* scope root .. the unit's parent */
    size_t            n_path;
    TallyReportUnit  *units;                        /* pre-order, units[0] = the report's unit */
    size_t            n_units;
    TallyRankMethod   rank_method;
    TallyRankItem    *ranking;                      /* worst first (gap_pts descending), every group */
    size_t            n_ranking;

    TallyReportArea   areas[AREA_COUNT];            /* index = ProtoArea; n == 0 where none */
    TallyReportRespondent respondents[RESPONDENT_COUNT]; /* index = ProtoRespondent, the period */
    TallyReportReason reasons[REASON_COUNT];        /* most frequent first */
    int64_t           reasons_total;                /* sum of reasons[].n (a rating may give two) */
    int64_t           unsatisfied;                  /* not-satisfied ratings in the period (the reasons' base) */

    TallyReportDevice *devices;                     /* the subtree's kiosks, by id */
    size_t             n_devices;
    TallyReportAlert  *alerts;                      /* unit alerts (worst first), then device alerts */
    size_t             n_alerts;

    TallyReportHeat   heat;                         /* the unit's subtree */
} TallyReport;

/* Builds the report. TALLY_E_NOT_FOUND: spec->unit or spec->scope does not exist; TALLY_E_SCOPE: spec->unit is
 * outside spec->scope; TALLY_E_INVALID: a malformed spec (msg says which part). On error *out is NULL. */
TallyErr tally_report_build(TallyDb *db, const TallyReportSpec *spec, TallyReport **out, char msg[TALLY_MSG_MAX]);
void     tally_report_free(TallyReport *r);

/* The unit's index in r->units, or -1. */
int      tally_report_find_unit(const TallyReport *r, const char *code);

#endif
