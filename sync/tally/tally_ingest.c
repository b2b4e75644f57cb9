/* tally_ingest.c — one batch, one transaction (see tally_ingest.h). */
#include "sync/tally/tally_ingest.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_INSERT, ST_BODY, ST_UPDATE, ST_ROLLUP, ST_MONTHLY, ST_RECEIPT, ST_DEVICE,
    ST_COUNT
};

static const char *const SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT] = "INSERT INTO ratings(id, device, unit, area, scale, score, flagged, day, body, batch, received_at)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT(id) DO NOTHING",
    [ST_BODY] = "SELECT body, device FROM ratings WHERE id = ?1",
    /* A stored rating gaining its answers after the tap (proto_rating_revision); received_at stays the first. */
    [ST_UPDATE] = "UPDATE ratings SET body = ?2, batch = ?3 WHERE id = ?1",
    [ST_ROLLUP] = "INSERT INTO daily(unit, day, area, scale, score, flagged, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                  " ON CONFLICT(unit, day, area, scale, score, flagged) DO UPDATE SET n = n + excluded.n",
    [ST_MONTHLY] = "INSERT INTO monthly(unit, month, area, scale, score, flagged, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                   " ON CONFLICT(unit, month, area, scale, score, flagged) DO UPDATE SET n = n + excluded.n",
    [ST_RECEIPT] = "INSERT INTO receipts(batch_id, device, received_at, sent_at, skew_s, accepted, duplicate, rejected)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_DEVICE] = "UPDATE devices SET last_seen = ?2, last_skew_s = ?3 WHERE id = ?1",
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

TallyErr tally_ingest_new(TallyDb *db, TallyIngest **out, char msg[TALLY_MSG_MAX])
{
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

/* What store_item did with one valid item. */
typedef enum { ITEM_ACCEPTED, ITEM_DUPLICATE, ITEM_CONFLICT, ITEM_UPDATED } ItemOutcome;

/* The stored copy `old` (its canonical text) gained answers in `r`: store the newer content. None of the
 * daily/monthly roll-up's keys can differ (proto_rating_revision allows only answers to change). */
static TallyErr update_item(TallyIngest *in, const ProtoRating *r, const char *body, const ProtoBatch *b,
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
    /* Roll-ups keyed by an answer given after the tap (follow-up reasons, service face, respondent, wait) move
     * here, in this transaction: subtract the old copy's cells, add the new one's. None exists yet. */
    return TALLY_OK;
}

/* An id already stored: duplicate when byte-equal; the newer copy when it only gains answers and comes from
 * the device that stored it (updated); the older copy of one already updated (duplicate); else conflict. */
static TallyErr compare_item(TallyIngest *in, const ProtoRating *r, const char *body, const ProtoBatch *b,
                             ItemOutcome *outcome, char msg[TALLY_MSG_MAX])
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
    if(old && strcmp(old, body) == 0)
        rev = PROTO_REV_SAME;
    else if(old && device && strcmp(device, b->device_id) == 0 &&
            proto_rating_parse(old, strlen(old), &stored, NULL) == PROTO_OK)
        rev = proto_rating_revision(&stored, r);
    sqlite3_reset(q);
    switch(rev) {
    case PROTO_REV_SAME:
    case PROTO_REV_OLDER: *outcome = ITEM_DUPLICATE; return TALLY_OK;
    case PROTO_REV_GAINS: *outcome = ITEM_UPDATED; return update_item(in, r, body, b, msg);
    case PROTO_REV_CONFLICT: break;
    }
    *outcome = ITEM_CONFLICT;
    return TALLY_OK;
}

/* Stores one valid item and says what became of it. */
static TallyErr store_item(TallyIngest *in, const ProtoRating *r, const ProtoBatch *b, int64_t day, int64_t now_s,
                           ItemOutcome *outcome, char msg[TALLY_MSG_MAX])
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
    TallyErr e = TALLY_OK;
    if(run(st) != SQLITE_DONE)
        e = tally_db_fail(in->db, "store rating", msg);
    else if(sqlite3_changes(tally_db_sqlite(in->db)) == 1)
        *outcome = ITEM_ACCEPTED;
    else
        e = compare_item(in, r, body, b, outcome, msg);
    sqlite3_clear_bindings(st);
    return e;
}

TallyErr tally_ingest_batch(TallyIngest *in, const ProtoBatch *b, const char *device_unit, int64_t now_s,
                            ProtoReply *reply, char msg[TALLY_MSG_MAX])
{
    memset(reply, 0, sizeof *reply);
    snprintf(reply->batch_id, sizeof reply->batch_id, "%s", b->batch_id);
    Cell *cells = NULL;
    if(b->n) {
        reply->rejected = calloc(b->n, sizeof *reply->rejected);
        cells = calloc(b->n, sizeof *cells);
        if(!reply->rejected || !cells) {
            free(cells);
            proto_reply_free(reply);
            snprintf(msg, TALLY_MSG_MAX, "out of memory");
            return TALLY_E_NOMEM;
        }
    }
    size_t n_cells = 0;
    if(run(in->st[ST_BEGIN]) != SQLITE_DONE) {
        TallyErr e = tally_db_fail(in->db, "begin batch", msg);
        free(cells);
        proto_reply_free(reply);
        return e;
    }
    TallyErr e = TALLY_OK;
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
        ItemOutcome outcome = ITEM_CONFLICT;
        if((e = store_item(in, r, b, day, now_s, &outcome, msg)))
            break;
        if(outcome == ITEM_ACCEPTED) {
            reply->accepted++;
            Cell c = {.day = day, .area = r->area, .scale = r->scale, .score = r->score,
                      .flagged = (r->flags & PROTO_FLAG_RAPID_REPEAT) != 0};
            add_cell(cells, &n_cells, &c);
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
    free(cells);

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
        if(run(st) != SQLITE_DONE)
            e = tally_db_fail(in->db, "update device", msg);
    }
    if(!e && run(in->st[ST_COMMIT]) != SQLITE_DONE)
        e = tally_db_fail(in->db, "commit batch", msg);
    if(e) {
        if(!sqlite3_get_autocommit(tally_db_sqlite(in->db)))
            run(in->st[ST_ROLLBACK]);
        proto_reply_free(reply);
        reply->accepted = reply->duplicate = 0;
    }
    return e;
}
