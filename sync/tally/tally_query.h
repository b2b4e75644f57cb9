/* tally_query.h — "how satisfied are people, where, in which area, against which target".
 *
 * Answers only from the roll-ups (never the raw rows): whole months from the monthly one, the ragged ends
 * of the range from the daily one, so a tally costs the same however many ratings it covers. A unit means its whole subtree. Flagged (misuse) ratings are left out of n and counted
 * in `flagged`; pct = satisfied / n; the Wilson 95% interval goes with it; a slice with n < min_n is
 * "chua_du_mau", otherwise each milestone is "dat" when satisfied * 100 >= target * n (from counts, never
 * from a rounded percentage), else "khong_dat" (../shared/reference/metric.md). */
#ifndef SYNC_TALLY_QUERY_H
#define SYNC_TALLY_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "sync/tally/tally_db.h"

#define TALLY_MIN_N_DEFAULT 30
#define TALLY_BY_MAX 3   /* dimensions in one query, e.g. by=unit,area */
#define TALLY_KEY_MAX 160

typedef enum {
    TALLY_BY_AREA, TALLY_BY_UNIT, TALLY_BY_DAY, TALLY_BY_MONTH, TALLY_BY_QUARTER, TALLY_BY_HALF, TALLY_BY_YEAR,
    TALLY_BY_GROUP, TALLY_BY_RESPONDENT, TALLY_BY_COUNT
} TallyBy;

/* The key of by=respondent for a rating whose respondent was not asked or not answered. */
#define TALLY_RESPONDENT_NONE_CODE "khong_tra_loi"

typedef enum { TALLY_STATUS_NONE, TALLY_STATUS_DAT, TALLY_STATUS_KHONG_DAT, TALLY_STATUS_CHUA_DU_MAU } TallyStatus;

typedef struct {
    int64_t from_day, to_day;          /* inclusive, ptime day numbers (Asia/Ho_Chi_Minh) */
    char    unit[PROTO_ID_MAX + 1];    /* "" = the whole tree */
    int     area;                      /* a ProtoArea, or -1 for all */
    int     respondent;                /* a ProtoRespondent filter; RESPONDENT_NONE (0) = everyone, answered or not */
    TallyBy by[TALLY_BY_MAX];
    int     n_by;                      /* 0 = one row for the whole slice */
    int     min_n;
} TallySpec;

/* "Chờ không quá 30 phút" (metric.md): among the slice's ratings that answered the wait question (misuse
 * left out), those that waited duoi_15 or 15_30. An indicator without a milestone. */
typedef struct {
    int64_t n, within;
    double  pct, wilson_low, wilson_high; /* percent; meaningless when n == 0 */
} TallyWait;

typedef struct {
    char        key[TALLY_KEY_MAX];    /* dimension values joined by "/", e.g. "000.00.31.H21/dat_dai" */
    int64_t     n, satisfied, flagged;
    double      pct, wilson_low, wilson_high; /* percent; meaningless when n == 0 */
    int         group;                 /* a ProtoGroup, or -1 when the row mixes areas of no single group */
    double      target[2];             /* 2025, 2030 in percent; -1 when group is -1 */
    TallyStatus status[2];
    TallyWait   wait;                  /* the waits of the same ratings as n */
} TallyRow;

const char *tally_by_code(TallyBy b);
int         tally_by_from_code(const char *code);   /* -1 when unknown */
const char *tally_status_code(TallyStatus s);       /* "dat", "khong_dat", "chua_du_mau"; NULL for none */
const char *tally_status_label(TallyStatus s);      /* "Đạt / met", ... */
/* Parses "area", "unit,area", ... into spec->by; false when a code is unknown, repeated, empty ("area,,unit",
 * a trailing comma) or more than TALLY_BY_MAX. */
bool        tally_parse_by(const char *text, TallySpec *spec);

/* Why a tally query string was refused: a wire error code, the parameter it is about, and a message. */
typedef struct {
    const char *code;          /* "bad_value", "unknown_area", "unknown_respondent", "unknown_field" */
    char        param[72];     /* the parameter's name as sent, made valid UTF-8 ("" for an empty pair) */
    char        msg[TALLY_MSG_MAX]; /* English / Vietnamese */
} TallyQueryError;

/* The query string of GET /api/v1/tally (raw, as on the wire, without the '?') into a spec with the
 * defaults filled in (whole tree, every area, no dimension, min_n 30). Strict: from and to are required
 * dates YYYY-MM-DD with from <= to; unit a unit code; area a known area; respondent one of nguoi_dan,
 * doanh_nghiep, to_chuc ("unknown_respondent" otherwise); by as tally_parse_by; min_n only the digits of
 * 1..1000000 (no sign, no space); any other name, a name given twice, an empty value, a bad escape or NUL,
 * or text that is not UTF-8 is refused. TALLY_E_INVALID with err filled, or TALLY_OK. */
TallyErr    tally_query_parse(const char *query, size_t len, TallySpec *spec, TallyQueryError *err);
/* The Wilson score interval at 95% for s successes in n trials, in percent. */
void        tally_wilson(int64_t s, int64_t n, double *low, double *high);

/* Runs a tally, reading everything from one snapshot of the file (one read transaction, nested inside the
 * caller's if there is one). Rows are sorted by key; *rows is malloc'd (free with free()). TALLY_E_NOT_FOUND when the
 * unit does not exist, TALLY_E_INVALID when the spec is malformed (msg says which part). */
TallyErr tally_query_run(TallyDb *db, const TallySpec *spec, TallyRow **rows, size_t *n_rows,
                         char msg[TALLY_MSG_MAX]);

/* ---- Counts: what the roll-ups daily_sat and monthly_sat hold per unit x day|month x area x respondent ---- */

/* n and satisfied leave misuse-flagged ratings out (counted in flagged); svc_* are the same for the service
 * rating (service_score: the phuc_vu group), over the ratings that have one; wait_* count answered waits and
 * those within 30 minutes, of unflagged ratings; svc_wait_* the same among ratings with a service answer (the
 * waits of phuc_vu's ratings). */
typedef struct {
    int64_t n, satisfied, flagged;
    int64_t svc_n, svc_satisfied, svc_flagged;
    int64_t wait_n, wait_within;
    int64_t svc_wait_n, svc_wait_within;
} TallyCounts;

/* What one rating adds to the counts (sign +1), or takes away (-1: a copy replaced by a newer one). The one
 * place the counting rules live; ingest and the migration's SQL follow it (tests hold them equal). */
void        tally_counts_rating(const ProtoRating *r, int sign, TallyCounts *c);
void        tally_counts_add(TallyCounts *to, const TallyCounts *c);
/* Whether an area's counts go into a group's figure: the groups holding the area, and phuc_vu for every area
 * (its figure is the service counts, whatever the procedure's area). */
bool        tally_area_counts_in(int area, int group);

/* Fills a figure's pct, Wilson interval, milestone status and wait indicator from its counts, against a
 * group's targets (group -1: no status; GROUP_PHUC_VU: the service counts), exactly as tally_query_run does
 * for its rows. Shared so that the report model never computes a figure another way. */
void        tally_finish_counts(const TallyCounts *c, int group, const TallyTarget targets[GROUP_COUNT], int min_n,
                                TallyRow *row);

/* ---- Roll-up readers for the report model (tally_report) ---------------------------------------------- */

typedef struct {
    int64_t from_day, to_day;      /* inclusive */
} TallyDayRange;

/* Counts of each listed unit's OWN ratings (not its subtree) per segment and area, of one respondent type
 * (RESPONDENT_NONE: everyone), added into out[(unit * n_seg + seg) * AREA_COUNT + area] (the caller zeroes
 * it). Segments must not overlap. Whole months are read from monthly_sat, ragged days from daily_sat: never
 * the rating rows. */
TallyErr tally_query_counts(TallyDb *db, const char *const *units, size_t n_units, const TallyDayRange *seg,
                            size_t n_seg, int respondent, TallyCounts *out, char msg[TALLY_MSG_MAX]);
/* The listed units' counts over [from, to] per respondent type (RESPONDENT_NONE: not answered) and area,
 * added into out[respondent * AREA_COUNT + area]. */
TallyErr tally_query_counts_by_respondent(TallyDb *db, const char *const *units, size_t n_units, int64_t from_day,
                                          int64_t to_day, TallyCounts out[RESPONDENT_COUNT * AREA_COUNT],
                                          char msg[TALLY_MSG_MAX]);
/* Reasons chosen after not-satisfied ratings (misuse left out) at the listed units over [from, to], for one
 * area or all (-1), added into out[reason]. */
TallyErr tally_query_reasons(TallyDb *db, const char *const *units, size_t n_units, int64_t from_day,
                             int64_t to_day, int area, int64_t out[REASON_COUNT], char msg[TALLY_MSG_MAX]);
/* Ratings and not-satisfied ratings (misuse left out) by weekday (0 = Monday) and local hour at the listed
 * units over [from, to], in one area (a ProtoArea; -1 for all), added into n and unsat. */
TallyErr tally_query_heat(TallyDb *db, const char *const *units, size_t n_units, int64_t from_day, int64_t to_day,
                          int area, int64_t n[7][24], int64_t unsat[7][24], char msg[TALLY_MSG_MAX]);

#endif
