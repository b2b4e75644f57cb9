/* tally_ingest.c — one batch, one transaction (see tally_ingest.h). */
#include "sync/tally/tally_ingest.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_pg.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_UNDO, ST_INSERT, ST_BODY, ST_UPDATE, ST_ROLLUP,
    ST_MONTHLY, ST_SAT_DAY, ST_SAT_MONTH, ST_SAT_DAY_EMPTY, ST_SAT_MONTH_EMPTY, ST_REASON_DAY, ST_REASON_MONTH,
    ST_HOUR_DAY, ST_HOUR_MONTH, ST_RECEIPT, ST_DEVICE, ST_SINCE, ST_COUNT
};

static const char *const SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT batch",
    [ST_RELEASE] = "RELEASE batch",
    [ST_UNDO] = "ROLLBACK TO batch",
    [ST_INSERT] = "INSERT INTO ratings(id, device, unit, area, scale, score, flagged, day, body, batch, received_at,"
                  " quarantine) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT(id) DO NOTHING",
    [ST_BODY] = "SELECT body, device, quarantine FROM ratings WHERE id = ?1",
    /* A stored rating gaining its answers after the tap (proto_rating_revision); received_at stays the first. */
    [ST_UPDATE] = "UPDATE ratings SET body = ?2, batch = ?3 WHERE id = ?1",
    [ST_ROLLUP] = "INSERT INTO daily(unit, day, area, scale, score, flagged, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                  " ON CONFLICT(unit, day, area, scale, score, flagged) DO UPDATE SET n = n + excluded.n",
    [ST_MONTHLY] = "INSERT INTO monthly(unit, month, area, scale, score, flagged, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                   " ON CONFLICT(unit, month, area, scale, score, flagged) DO UPDATE SET n = n + excluded.n",
    /* ?5..?14: the TallyCounts fields in order. */
    [ST_SAT_DAY] = "INSERT INTO daily_sat(unit, day, area, respondent, n, satisfied, flagged, svc_n, svc_satisfied, svc_flagged, wait_n, wait_within, svc_wait_n, svc_wait_within)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                   " ON CONFLICT(unit, day, area, respondent) DO UPDATE SET n = n + excluded.n, satisfied = satisfied + excluded.satisfied,"
                    " flagged = flagged + excluded.flagged, svc_n = svc_n + excluded.svc_n,"
                    " svc_satisfied = svc_satisfied + excluded.svc_satisfied, svc_flagged = svc_flagged + excluded.svc_flagged,"
                    " wait_n = wait_n + excluded.wait_n, wait_within = wait_within + excluded.wait_within,"
                    " svc_wait_n = svc_wait_n + excluded.svc_wait_n, svc_wait_within = svc_wait_within + excluded.svc_wait_within",
    [ST_SAT_MONTH] = "INSERT INTO monthly_sat(unit, month, area, respondent, n, satisfied, flagged, svc_n, svc_satisfied, svc_flagged, wait_n, wait_within, svc_wait_n, svc_wait_within)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                     " ON CONFLICT(unit, month, area, respondent) DO UPDATE SET n = n + excluded.n, satisfied = satisfied + excluded.satisfied,"
                    " flagged = flagged + excluded.flagged, svc_n = svc_n + excluded.svc_n,"
                    " svc_satisfied = svc_satisfied + excluded.svc_satisfied, svc_flagged = svc_flagged + excluded.svc_flagged,"
                    " wait_n = wait_n + excluded.wait_n, wait_within = wait_within + excluded.wait_within,"
                    " svc_wait_n = svc_wait_n + excluded.svc_wait_n, svc_wait_within = svc_wait_within + excluded.svc_wait_within",
    /* A cell a moved rating left empty goes (n and flagged 0: every other count is part of one of them). */
    [ST_SAT_DAY_EMPTY] = "DELETE FROM daily_sat WHERE unit = ?1 AND day = ?2 AND area = ?3 AND respondent = ?4"
                         " AND n = 0 AND flagged = 0",
    [ST_SAT_MONTH_EMPTY] = "DELETE FROM monthly_sat WHERE unit = ?1 AND month = ?2 AND area = ?3 AND respondent = ?4"
                           " AND n = 0 AND flagged = 0",
    [ST_REASON_DAY] = "INSERT INTO reasons_daily(unit, day, area, reason, n) VALUES (?1, ?2, ?3, ?4, ?5)"
                      " ON CONFLICT(unit, day, area, reason) DO UPDATE SET n = n + excluded.n",
    [ST_REASON_MONTH] = "INSERT INTO reasons_monthly(unit, month, area, reason, n) VALUES (?1, ?2, ?3, ?4, ?5)"
                        " ON CONFLICT(unit, month, area, reason) DO UPDATE SET n = n + excluded.n",
    [ST_HOUR_DAY] = "INSERT INTO hours_daily(unit, day, area, hour, n, unsatisfied) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                    " ON CONFLICT(unit, day, area, hour) DO UPDATE SET n = n + excluded.n,"
                    " unsatisfied = unsatisfied + excluded.unsatisfied",
    [ST_HOUR_MONTH] = "INSERT INTO hours_monthly(unit, month, area, weekday, hour, n, unsatisfied)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                      " ON CONFLICT(unit, month, area, weekday, hour) DO UPDATE SET n = n + excluded.n,"
                      " unsatisfied = unsatisfied + excluded.unsatisfied",
    [ST_RECEIPT] = "INSERT INTO receipts(batch_id, device, received_at, sent_at, skew_s, accepted, duplicate, rejected)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_DEVICE] = "UPDATE devices SET last_seen = ?2, last_skew_s = ?3, received = received + ?4,"
                  " max_seq = max(max_seq, ?5), quarantined = quarantined + ?6 WHERE id = ?1",
    [ST_SINCE] = "SELECT coalesce(since, created_at - " TALLY_SINCE_DEFAULT_SQL ") FROM devices WHERE id = ?1",
};

struct TallyIngest {
    TallyDb *db;
    sqlite3_stmt *st[ST_COUNT];
};

/* One roll-up cell touched by this batch (the unit is the device's, the same for every item). */
typedef struct {
    int64_t day;
    int area, scale, score, flagged;
    int64_t n;
} Cell;

/* One daily_sat / monthly_sat cell touched by this batch: the counts of its ratings (tally_counts_rating). */
typedef struct {
    int64_t day;
    int area, respondent;
    TallyCounts c;
} SatCell;

/* One hour of one day in one area touched by this batch (misuse-flagged ratings are not counted). */
typedef struct {
    int64_t day;
    int area;
    int hour;
    int64_t n, unsatisfied;
} HourCell;

TallyErr tally_ingest_new(TallyDb *db, TallyIngest **out, char msg[TALLY_MSG_MAX])
{
    *out = NULL;
    TallyErr pg_e = tally_db_sqlite_only(db, "tally_ingest_new", msg);
    if(pg_e)
        return pg_e;
    *out = NULL;
    TallyIngest *in = calloc(1, sizeof *in);
    if(!in) {
        snprintf(msg, TALLY_MSG_MAX, "out of memory");
        return TALLY_E_NOMEM;
    }
    in->db = db;
    for(int i = 0; i < ST_COUNT; i++)
        if(sqlite3_prepare_v3(tally_db_sqlite(db), SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &in->st[i], NULL)) {
            TallyErr e = tally_db_fail(db, "prepare ingest", msg);
            tally_ingest_free(in);
            return e;
        }
    *out = in;
    return TALLY_OK;
}

void tally_ingest_free(TallyIngest *in)
{
    if(!in)
        return;
    for(int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(in->st[i]);
    free(in);
}

static int run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
}

static void add_reject(ProtoReply *reply, const char *id, const char *code)
{
    ProtoReject *r = &reply->rejected[reply->n_rejected++];
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->error, sizeof r->error, "%s", code);
}

static void add_cell(Cell *cells, size_t *n_cells, const Cell *c)
{
    for(size_t i = 0; i < *n_cells; i++)
        if(cells[i].day == c->day && cells[i].area == c->area && cells[i].scale == c->scale &&
           cells[i].score == c->score && cells[i].flagged == c->flagged) {
            cells[i].n++;
            return;
        }
    cells[*n_cells] = *c;
    cells[*n_cells].n = 1;
    (*n_cells)++;
}

/* Adds one cell's count to a roll-up row (daily: period = day number; monthly: year * 12 + month - 1). */
static int bump_rollup(sqlite3_stmt *st, const char *unit, int64_t period, const Cell *c)
{
    sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, period);
    sqlite3_bind_text(st, 3, proto_area_code((ProtoArea)c->area), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, proto_scale_code((ProtoScale)c->scale), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, c->score);
    sqlite3_bind_int(st, 6, c->flagged);
    sqlite3_bind_int64(st, 7, c->n);
    return run(st);
}

static int64_t month_of(int64_t day)
{
    int y, m, d;
    ptime_civil_from_days(day, &y, &m, &d);
    return (int64_t)y * 12 + m - 1;
}

/* Adds delta (+1, or -1 when update_item moves a rating's reasons) to every reason in the mask, daily and
 * monthly. The one place the reasons roll-up changes: a stored rating that gains its follow-up answers
 * calls it with the old mask and -1, then the new mask and +1. Misuse-flagged ratings are never counted. */
static TallyErr bump_reasons(TallyIngest *in, const char *unit, int64_t day, int area, uint32_t reasons,
                             int64_t delta, char msg[TALLY_MSG_MAX])
{
    for(int k = 0; k < REASON_COUNT; k++) {
        if(!(reasons & (1u << k)))
            continue;
        for(int monthly = 0; monthly < 2; monthly++) {
            sqlite3_stmt *st = in->st[monthly ? ST_REASON_MONTH : ST_REASON_DAY];
            sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, monthly ? month_of(day) : day);
            sqlite3_bind_text(st, 3, proto_area_code((ProtoArea)area), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, proto_reason_code((ProtoReason)k), -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, delta);
            if(run(st) != SQLITE_DONE)
                return tally_db_fail(in->db, "update reasons roll-up", msg);
        }
    }
    return TALLY_OK;
}

static void add_hour(HourCell *cells, size_t *n_cells, int64_t day, int area, int hour, bool unsatisfied)
{
    size_t i = 0;
    while(i < *n_cells && !(cells[i].day == day && cells[i].area == area && cells[i].hour == hour))
        i++;
    if(i == *n_cells)
        cells[(*n_cells)++] = (HourCell){.day = day, .area = area, .hour = hour};
    cells[i].n++;
    cells[i].unsatisfied += unsatisfied;
}

/* The batch's hour cells into hours_daily and hours_monthly (weekday 0 = Monday: day 0 was a Thursday). */
static TallyErr bump_hours(TallyIngest *in, const char *unit, const HourCell *cells, size_t n_cells,
                           char msg[TALLY_MSG_MAX])
{
    for(size_t i = 0; i < n_cells; i++) {
        sqlite3_stmt *d = in->st[ST_HOUR_DAY], *m = in->st[ST_HOUR_MONTH];
        const char *area = proto_area_code((ProtoArea)cells[i].area);
        sqlite3_bind_text(d, 1, unit, -1, SQLITE_STATIC);
        sqlite3_bind_int64(d, 2, cells[i].day);
        sqlite3_bind_text(d, 3, area, -1, SQLITE_STATIC);
        sqlite3_bind_int(d, 4, cells[i].hour);
        sqlite3_bind_int64(d, 5, cells[i].n);
        sqlite3_bind_int64(d, 6, cells[i].unsatisfied);
        sqlite3_bind_text(m, 1, unit, -1, SQLITE_STATIC);
        sqlite3_bind_int64(m, 2, month_of(cells[i].day));
        sqlite3_bind_text(m, 3, area, -1, SQLITE_STATIC);
        sqlite3_bind_int(m, 4, (int)(((cells[i].day + 3) % 7 + 7) % 7));
        sqlite3_bind_int(m, 5, cells[i].hour);
        sqlite3_bind_int64(m, 6, cells[i].n);
        sqlite3_bind_int64(m, 7, cells[i].unsatisfied);
        if(run(d) != SQLITE_DONE || run(m) != SQLITE_DONE)
            return tally_db_fail(in->db, "update hours roll-up", msg);
    }
    return TALLY_OK;
}

static const char *respondent_key(int respondent)
{
    const char *code = proto_respondent_code((ProtoRespondent)respondent);
    return code ? code : ""; /* not answered */
}

/* Adds counts (negative when a copy is replaced) into daily_sat and monthly_sat, and drops a cell left empty. */
static TallyErr bump_sat(TallyIngest *in, const char *unit, const SatCell *cell, char msg[TALLY_MSG_MAX])
{
    const int64_t v[] = {cell->c.n, cell->c.satisfied, cell->c.flagged, cell->c.svc_n, cell->c.svc_satisfied,
                         cell->c.svc_flagged, cell->c.wait_n, cell->c.wait_within, cell->c.svc_wait_n,
                         cell->c.svc_wait_within};
    for(int monthly = 0; monthly < 2; monthly++) {
        sqlite3_stmt *up = in->st[monthly ? ST_SAT_MONTH : ST_SAT_DAY];
        sqlite3_stmt *del = in->st[monthly ? ST_SAT_MONTH_EMPTY : ST_SAT_DAY_EMPTY];
        for(int k = 0; k < 2; k++) {
            sqlite3_stmt *st = k ? del : up;
            sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, monthly ? month_of(cell->day) : cell->day);
            sqlite3_bind_text(st, 3, proto_area_code((ProtoArea)cell->area), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, respondent_key(cell->respondent), -1, SQLITE_STATIC);
        }
        for(int k = 0; k < (int)(sizeof v / sizeof v[0]); k++)
            sqlite3_bind_int64(up, 5 + k, v[k]);
        if(run(up) != SQLITE_DONE || run(del) != SQLITE_DONE)
            return tally_db_fail(in->db, "update daily_sat/monthly_sat roll-up", msg);
    }
    return TALLY_OK;
}

/* Adds one rating's counts (sign -1: takes them away) to the batch's cells (room for one more is there). */
static void add_sat(SatCell *cells, size_t *n_cells, const ProtoRating *r, int64_t day, int sign)
{
    size_t i = 0;
    while(i < *n_cells && !(cells[i].day == day && cells[i].area == (int)r->area &&
                            cells[i].respondent == (int)r->respondent))
        i++;
    if(i == *n_cells)
        cells[(*n_cells)++] = (SatCell){.day = day, .area = r->area, .respondent = r->respondent};
    tally_counts_rating(r, sign, &cells[i].c);
}

/* What store_item did with one valid item. */
typedef enum { ITEM_ACCEPTED, ITEM_DUPLICATE, ITEM_CONFLICT, ITEM_UPDATED } ItemOutcome;

/* The stored copy `stored` gained answers in `r` (proto_rating_revision): store the newer content. None of
 * the keys of daily, monthly or hours can differ (only answers may change); the roll-ups keyed by an answer
 * given after the tap move here, in this transaction, from the old copy's answers to the new one's, so every
 * figure counts the rating once with its latest answers: the reasons roll-up (bump_reasons: unflagged ratings
 * only; flags never change between copies) and daily_sat / monthly_sat (service face, respondent, wait: the
 * old copy's counts go into `sat` with sign -1, the new one's with +1, written with the batch's cells).
 * Migrations 3 and 6 fill the same roll-ups from the stored bodies, which hold the newest copy. A quarantined
 * row (wrong device clock) was never counted in any of them, so its new answers move nothing. */
static TallyErr update_item(TallyIngest *in, const ProtoRating *stored, const ProtoRating *r, const char *body,
                            const ProtoBatch *b, int64_t day, bool quarantined, SatCell *sat, size_t *n_sat,
                            char msg[TALLY_MSG_MAX])
{
    sqlite3_stmt *st = in->st[ST_UPDATE];
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, b->batch_id, -1, SQLITE_STATIC);
    int rc = run(st);
    sqlite3_clear_bindings(st);
    if(rc != SQLITE_DONE)
        return tally_db_fail(in->db, "update rating", msg);
    if(quarantined)
        return TALLY_OK;
    add_sat(sat, n_sat, stored, day, -1);
    add_sat(sat, n_sat, r, day, +1);
    if((r->flags & PROTO_FLAG_RAPID_REPEAT) || stored->reasons == r->reasons)
        return TALLY_OK;
    TallyErr e = bump_reasons(in, r->unit, day, r->area, stored->reasons, -1, msg);
    return e ? e : bump_reasons(in, r->unit, day, r->area, r->reasons, +1, msg);
}

/* An id already stored: duplicate when byte-equal; the newer copy when it only gains answers and comes from
 * the device that stored it (updated); the older copy of one already updated (duplicate); else conflict. */
static TallyErr compare_item(TallyIngest *in, const ProtoRating *r, const char *body, const ProtoBatch *b,
                             int64_t day, SatCell *sat, size_t *n_sat, ItemOutcome *outcome,
                             char msg[TALLY_MSG_MAX])
{
    sqlite3_stmt *q = in->st[ST_BODY];
    sqlite3_bind_text(q, 1, r->id, -1, SQLITE_STATIC);
    if(sqlite3_step(q) != SQLITE_ROW) {
        TallyErr e = tally_db_fail(in->db, "compare rating", msg);
        sqlite3_reset(q);
        return e;
    }
    const char *old = (const char *)sqlite3_column_text(q, 0), *device = (const char *)sqlite3_column_text(q, 1);
    ProtoRating stored;
    ProtoRevision rev = PROTO_REV_CONFLICT;
    bool quarantined = sqlite3_column_int(q, 2) != 0;
    if(old && strcmp(old, body) == 0)
        rev = PROTO_REV_SAME;
    else if(old && device && strcmp(device, b->device_id) == 0 &&
            proto_rating_parse(old, strlen(old), &stored, NULL) == PROTO_OK)
        rev = proto_rating_revision(&stored, r);
    sqlite3_reset(q);
    switch(rev) {
    case PROTO_REV_SAME:
    case PROTO_REV_OLDER: *outcome = ITEM_DUPLICATE; return TALLY_OK;
    case PROTO_REV_GAINS: *outcome = ITEM_UPDATED; return update_item(in, &stored, r, body, b, day, quarantined, sat, n_sat, msg);
    case PROTO_REV_CONFLICT: break;
    }
    *outcome = ITEM_CONFLICT;
    return TALLY_OK;
}

/* Stores one valid item (quarantine: 0 filed, else the TallyQuarantine reason) and says what became of it. */
static TallyErr store_item(TallyIngest *in, const ProtoRating *r, const ProtoBatch *b, int64_t day, int64_t now_s,
                           int quarantine, SatCell *sat, size_t *n_sat, ItemOutcome *outcome,
                           char msg[TALLY_MSG_MAX])
{
    char body[PROTO_RATING_TEXT_MAX];
    if(proto_rating_canonical(r, body, sizeof body) >= sizeof body) {
        snprintf(msg, TALLY_MSG_MAX, "rating %s does not encode in %d bytes", r->id, PROTO_RATING_TEXT_MAX);
        return TALLY_E_INVALID;
    }
    sqlite3_stmt *st = in->st[ST_INSERT];
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, proto_area_code(r->area), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, proto_scale_code(r->scale), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, r->score);
    sqlite3_bind_int(st, 7, (r->flags & PROTO_FLAG_RAPID_REPEAT) != 0);
    sqlite3_bind_int64(st, 8, day);
    sqlite3_bind_text(st, 9, body, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, b->batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, now_s);
    sqlite3_bind_int(st, 12, quarantine);
    TallyErr e = TALLY_OK;
    if(run(st) != SQLITE_DONE)
        e = tally_db_fail(in->db, "store rating", msg);
    else if(sqlite3_changes(tally_db_sqlite(in->db)) == 1)
        *outcome = ITEM_ACCEPTED;
    else
        e = compare_item(in, r, body, b, day, sat, n_sat, outcome, msg);
    sqlite3_clear_bindings(st);
    return e;
}

/* One batch inside the open transaction, in a savepoint of its own: on error only this batch is undone. */
static TallyErr ingest_one(TallyIngest *in, const ProtoBatch *b, const char *device_unit, int64_t now_s,
                           ProtoReply *reply, int64_t *quarantined_out, char msg[TALLY_MSG_MAX])
{
    *quarantined_out = 0;
    memset(reply, 0, sizeof *reply);
    snprintf(reply->batch_id, sizeof reply->batch_id, "%s", b->batch_id);
    Cell *cells = NULL;
    HourCell *hours = NULL;
    SatCell *sat = NULL; /* an updated rating touches two: its old copy's and its new one's */
    if(b->n) {
        reply->rejected = calloc(b->n, sizeof *reply->rejected);
        cells = calloc(b->n, sizeof *cells);
        hours = calloc(b->n, sizeof *hours);
        sat = calloc(2 * b->n, sizeof *sat);
        if(!reply->rejected || !cells || !hours || !sat) {
            free(cells);
            free(hours);
            free(sat);
            proto_reply_free(reply);
            snprintf(msg, TALLY_MSG_MAX, "out of memory");
            return TALLY_E_NOMEM;
        }
    }
    size_t n_cells = 0, n_hours = 0, n_sat = 0;
    /* inserted: new rows, quarantined or not (an updated rating is accepted but not new) */
    int64_t max_seq = 0, inserted = 0, quarantined = 0, since = INT64_MIN;
    if(run(in->st[ST_SAVEPOINT]) != SQLITE_DONE) {
        TallyErr e = tally_db_fail(in->db, "begin batch", msg);
        free(cells);
        free(hours);
        free(sat);
        proto_reply_free(reply);
        return e;
    }
    TallyErr e = TALLY_OK;
    sqlite3_stmt *q = in->st[ST_SINCE];
    sqlite3_bind_text(q, 1, b->device_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if(rc == SQLITE_ROW)
        since = sqlite3_column_int64(q, 0);
    else if(rc != SQLITE_DONE)
        e = tally_db_fail(in->db, "read device", msg);
    sqlite3_reset(q);
    for(size_t i = 0; i < b->n && !e; i++) {
        const ProtoBatchItem *it = &b->items[i];
        const ProtoRating *r = &it->rating;
        if(it->error.code != PROTO_OK) {
            add_reject(reply, it->raw_id, proto_err_code(it->error.code));
            continue;
        }
        if(strcmp(r->unit, device_unit) != 0) {
            add_reject(reply, r->id, "unit_mismatch");
            continue;
        }
        int64_t t;
        int off;
        if(!ptime_parse(r->at, &t, &off)) { /* the codec checked it; keep the store safe regardless */
            add_reject(reply, r->id, proto_err_code(PROTO_E_TIME));
            continue;
        }
        int64_t day = ptime_vn_day(t);
        /* A wrong device clock: stored, so the kiosk stops resending it, but filed on no day. */
        int quarantine = t > now_s + TALLY_CLOCK_AHEAD_S ? TALLY_QUARANTINE_AFTER_RECEIPT
                       : t < since                       ? TALLY_QUARANTINE_BEFORE_SINCE
                                                         : 0;
        ItemOutcome outcome = ITEM_CONFLICT;
        if((e = store_item(in, r, b, day, now_s, quarantine, sat, &n_sat, &outcome, msg)))
            break;
        if(outcome == ITEM_ACCEPTED) {
            reply->accepted++;
            inserted++; /* received and max_seq count a quarantined rating too: it arrived, it is no gap */
            if(r->seq > max_seq)
                max_seq = r->seq;
        }
        if(outcome == ITEM_ACCEPTED && quarantine) {
            quarantined++; /* in no roll-up: neither the tally's nor the dashboard's */
        } else if(outcome == ITEM_ACCEPTED) {
            Cell c = {.day = day, .area = r->area, .scale = r->scale, .score = r->score,
                      .flagged = (r->flags & PROTO_FLAG_RAPID_REPEAT) != 0};
            add_cell(cells, &n_cells, &c);
            add_sat(sat, &n_sat, r, day, +1);
            if(!c.flagged) {
                bool unsat = !proto_is_satisfied(r->scale, r->score);
                add_hour(hours, &n_hours, day, r->area,
                         (int)(((t + PTIME_VN_OFFSET_MIN * 60) % 86400 + 86400) % 86400 / 3600), unsat);
                if(r->reasons)
                    e = bump_reasons(in, device_unit, day, r->area, r->reasons, +1, msg);
            }
        } else if(outcome == ITEM_UPDATED) {
            reply->accepted++; /* the newer content is now stored; it was counted once, when first accepted */
        } else if(outcome == ITEM_DUPLICATE) {
            reply->duplicate++;
        } else {
            add_reject(reply, r->id, "conflict");
        }
    }
    for(size_t i = 0; i < n_cells && !e; i++) {
        int y, m, d;
        ptime_civil_from_days(cells[i].day, &y, &m, &d);
        if(bump_rollup(in->st[ST_ROLLUP], device_unit, cells[i].day, &cells[i]) != SQLITE_DONE)
            e = tally_db_fail(in->db, "update roll-up", msg);
        else if(bump_rollup(in->st[ST_MONTHLY], device_unit, (int64_t)y * 12 + m - 1, &cells[i]) != SQLITE_DONE)
            e = tally_db_fail(in->db, "update monthly roll-up", msg);
    }
    for(size_t i = 0; i < n_sat && !e; i++)
        e = bump_sat(in, device_unit, &sat[i], msg);
    if(!e)
        e = bump_hours(in, device_unit, hours, n_hours, msg);
    free(cells);
    free(hours);
    free(sat);

    /* The device's clock against ours: sent_at was validated by the codec. */
    int64_t sent = now_s;
    int off;
    ptime_parse(b->sent_at, &sent, &off);
    int64_t skew = sent - now_s;
    if(!e) {
        sqlite3_stmt *st = in->st[ST_RECEIPT];
        sqlite3_bind_text(st, 1, b->batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, b->device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_s);
        sqlite3_bind_text(st, 4, b->sent_at, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, skew);
        sqlite3_bind_int64(st, 6, reply->accepted);
        sqlite3_bind_int64(st, 7, reply->duplicate);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)reply->n_rejected);
        if(run(st) != SQLITE_DONE)
            e = tally_db_fail(in->db, "record receipt", msg);
    }
    if(!e) {
        sqlite3_stmt *st = in->st[ST_DEVICE];
        sqlite3_bind_text(st, 1, b->device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_s);
        sqlite3_bind_int64(st, 3, skew);
        sqlite3_bind_int64(st, 4, inserted);
        sqlite3_bind_int64(st, 5, max_seq);
        sqlite3_bind_int64(st, 6, quarantined);
        if(run(st) != SQLITE_DONE)
            e = tally_db_fail(in->db, "update device", msg);
    }
    if(e)
        run(in->st[ST_UNDO]);
    if(run(in->st[ST_RELEASE]) != SQLITE_DONE && !e)
        e = tally_db_fail(in->db, "release batch", msg);
    if(e) {
        proto_reply_free(reply);
        reply->accepted = reply->duplicate = 0;
    } else {
        *quarantined_out = quarantined;
    }
    return e;
}

TallyErr tally_ingest_group(TallyIngest *in, TallyIngestItem *items, size_t n, int64_t now_s, char msg[TALLY_MSG_MAX])
{
    for(size_t i = 0; i < n; i++) {
        memset(&items[i].reply, 0, sizeof items[i].reply);
        items[i].err = TALLY_OK;
        items[i].quarantined = 0;
        items[i].msg[0] = '\0';
    }
    TallyErr e = TALLY_OK;
    if(run(in->st[ST_BEGIN]) != SQLITE_DONE)
        e = tally_db_fail(in->db, "begin batches", msg);
    for(size_t i = 0; i < n && !e; i++) {
        items[i].err = ingest_one(in, items[i].batch, items[i].unit, now_s, &items[i].reply, &items[i].quarantined,
                                  items[i].msg);
        /* A batch that failed is undone alone and the others go on, unless SQLite has rolled the whole
         * transaction back itself (it does on SQLITE_NOMEM, SQLITE_FULL, I/O errors): then none is stored, and
         * every batch gets this first cause (503 for out of memory, not a 500 from the COMMIT after it). */
        if(items[i].err && sqlite3_get_autocommit(tally_db_sqlite(in->db)))
            e = items[i].err, memcpy(msg, items[i].msg, TALLY_MSG_MAX); /* both TALLY_MSG_MAX, terminated */
    }
    if(!e && run(in->st[ST_COMMIT]) != SQLITE_DONE)
        e = tally_db_fail(in->db, "commit batches", msg);
    if(e) { /* nothing of any batch is stored */
        if(!sqlite3_get_autocommit(tally_db_sqlite(in->db)))
            run(in->st[ST_ROLLBACK]);
        for(size_t i = 0; i < n; i++) {
            proto_reply_free(&items[i].reply);
            items[i].reply.accepted = items[i].reply.duplicate = 0;
            items[i].quarantined = 0;
            if(!items[i].err) {
                items[i].err = e;
                snprintf(items[i].msg, sizeof items[i].msg, "%s", msg);
            }
        }
    }
    return e;
}

TallyErr tally_ingest_batch(TallyIngest *in, const ProtoBatch *b, const char *device_unit, int64_t now_s,
                            ProtoReply *reply, char msg[TALLY_MSG_MAX])
{
    TallyIngestItem it = {.batch = b, .unit = device_unit};
    tally_ingest_group(in, &it, 1, now_s, msg);
    *reply = it.reply;
    if(it.err)
        snprintf(msg, TALLY_MSG_MAX, "%s", it.msg);
    return it.err;
}
