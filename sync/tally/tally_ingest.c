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

/* One SQL text for both backends (docs/internals/storage.md): ?N parameters (PostgreSQL's $N are made from them
 * when it prepares), and each upsert names its target t, because PostgreSQL reads a bare `n` in DO UPDATE as
 * ambiguous between the row and excluded. PG_SQL below replaces the few that differ. */
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
    [ST_ROLLUP] = "INSERT INTO daily AS t(unit, day, area, scale, score, flagged, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                  " ON CONFLICT(unit, day, area, scale, score, flagged) DO UPDATE SET n = t.n + excluded.n",
    [ST_MONTHLY] = "INSERT INTO monthly AS t(unit, month, area, scale, score, flagged, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                   " ON CONFLICT(unit, month, area, scale, score, flagged) DO UPDATE SET n = t.n + excluded.n",
    /* ?5..?14: the TallyCounts fields in order. */
    [ST_SAT_DAY] = "INSERT INTO daily_sat AS t(unit, day, area, respondent, n, satisfied, flagged, svc_n, svc_satisfied, svc_flagged, wait_n, wait_within, svc_wait_n, svc_wait_within)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                   " ON CONFLICT(unit, day, area, respondent) DO UPDATE SET n = t.n + excluded.n, satisfied = t.satisfied + excluded.satisfied,"
                    " flagged = t.flagged + excluded.flagged, svc_n = t.svc_n + excluded.svc_n,"
                    " svc_satisfied = t.svc_satisfied + excluded.svc_satisfied, svc_flagged = t.svc_flagged + excluded.svc_flagged,"
                    " wait_n = t.wait_n + excluded.wait_n, wait_within = t.wait_within + excluded.wait_within,"
                    " svc_wait_n = t.svc_wait_n + excluded.svc_wait_n, svc_wait_within = t.svc_wait_within + excluded.svc_wait_within",
    [ST_SAT_MONTH] = "INSERT INTO monthly_sat AS t(unit, month, area, respondent, n, satisfied, flagged, svc_n, svc_satisfied, svc_flagged, wait_n, wait_within, svc_wait_n, svc_wait_within)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                     " ON CONFLICT(unit, month, area, respondent) DO UPDATE SET n = t.n + excluded.n, satisfied = t.satisfied + excluded.satisfied,"
                    " flagged = t.flagged + excluded.flagged, svc_n = t.svc_n + excluded.svc_n,"
                    " svc_satisfied = t.svc_satisfied + excluded.svc_satisfied, svc_flagged = t.svc_flagged + excluded.svc_flagged,"
                    " wait_n = t.wait_n + excluded.wait_n, wait_within = t.wait_within + excluded.wait_within,"
                    " svc_wait_n = t.svc_wait_n + excluded.svc_wait_n, svc_wait_within = t.svc_wait_within + excluded.svc_wait_within",
    /* A cell a moved rating left empty goes (n and flagged 0: every other count is part of one of them). */
    [ST_SAT_DAY_EMPTY] = "DELETE FROM daily_sat WHERE unit = ?1 AND day = ?2 AND area = ?3 AND respondent = ?4"
                         " AND n = 0 AND flagged = 0",
    [ST_SAT_MONTH_EMPTY] = "DELETE FROM monthly_sat WHERE unit = ?1 AND month = ?2 AND area = ?3 AND respondent = ?4"
                           " AND n = 0 AND flagged = 0",
    [ST_REASON_DAY] = "INSERT INTO reasons_daily AS t(unit, day, area, reason, n) VALUES (?1, ?2, ?3, ?4, ?5)"
                      " ON CONFLICT(unit, day, area, reason) DO UPDATE SET n = t.n + excluded.n",
    [ST_REASON_MONTH] = "INSERT INTO reasons_monthly AS t(unit, month, area, reason, n) VALUES (?1, ?2, ?3, ?4, ?5)"
                        " ON CONFLICT(unit, month, area, reason) DO UPDATE SET n = t.n + excluded.n",
    [ST_HOUR_DAY] = "INSERT INTO hours_daily AS t(unit, day, area, hour, n, unsatisfied) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                    " ON CONFLICT(unit, day, area, hour) DO UPDATE SET n = t.n + excluded.n,"
                    " unsatisfied = t.unsatisfied + excluded.unsatisfied",
    [ST_HOUR_MONTH] = "INSERT INTO hours_monthly AS t(unit, month, area, weekday, hour, n, unsatisfied)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                      " ON CONFLICT(unit, month, area, weekday, hour) DO UPDATE SET n = t.n + excluded.n,"
                      " unsatisfied = t.unsatisfied + excluded.unsatisfied",
    [ST_RECEIPT] = "INSERT INTO receipts(batch_id, device, received_at, sent_at, skew_s, accepted, duplicate, rejected)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_DEVICE] = "UPDATE devices SET last_seen = ?2, last_skew_s = ?3, received = received + ?4,"
                  " max_seq = max(max_seq, ?5), quarantined = quarantined + ?6 WHERE id = ?1",
    [ST_SINCE] = "SELECT coalesce(since, created_at - " TALLY_SINCE_DEFAULT_SQL ") FROM devices WHERE id = ?1",
};

/* PostgreSQL's own text where it differs. Its writers run at READ COMMITTED and may run at once (several
 * tally-server processes): BEGIN needs no IMMEDIATE, because the unique key and the row locks decide; the
 * stored copy is read FOR UPDATE, so two newer copies of one rating are compared one after the other. */
static const char *const PG_SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BODY] = "SELECT body, device, quarantine FROM ratings WHERE id = ?1 FOR UPDATE",
    [ST_DEVICE] = "UPDATE devices SET last_seen = ?2, last_skew_s = ?3, received = received + ?4,"
                  " max_seq = greatest(max_seq, ?5), quarantined = quarantined + ?6 WHERE id = ?1",
};

struct TallyIngest {
    TallyDb *db;
    TallyPg *pg;                /* NULL on SQLite */
    sqlite3_stmt *st[ST_COUNT]; /* SQLite */
    bool pg_prepared[ST_COUNT]; /* PostgreSQL: prepared on this connection as "tally_ingest_<i>" */
};

/* A statement's parameters, typed as SQLite binds them (PostgreSQL gets them as text). */
#define ARGS_MAX 14
typedef struct {
    int n;
    char type[ARGS_MAX]; /* 't' text, 'i' integer */
    const char *t[ARGS_MAX];
    int64_t i[ARGS_MAX];
} Args;

static void arg_t(Args *a, const char *v)
{
    a->type[a->n] = 't';
    a->t[a->n++] = v;
}

static void arg_i(Args *a, int64_t v)
{
    a->type[a->n] = 'i';
    a->i[a->n++] = v;
}

/* The first row of a query statement, read through row_text / row_i64 until row_done. */
typedef struct {
    bool          found;
    sqlite3_stmt *st;  /* SQLite: the statement standing on its row */
    PGresult     *res; /* PostgreSQL */
} Row;

static void bind_sqlite(sqlite3_stmt *st, const Args *a)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for(int k = 0; a && k < a->n; k++) {
        if(a->type[k] == 't')
            sqlite3_bind_text(st, k + 1, a->t[k], -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, k + 1, a->i[k]);
    }
}

/* Runs statement i with a's parameters. On success *changes (when not NULL) is the rows it wrote and, for a
 * query (row not NULL), row holds its first row (row_done it); on failure msg says what failed. */
static TallyErr exec_st(TallyIngest *in, int i, const Args *a, int64_t *changes, Row *row, const char *what,
                        char msg[TALLY_MSG_MAX])
{
    if(row)
        *row = (Row){0};
    if(!in->pg) {
        sqlite3_stmt *st = in->st[i];
        bind_sqlite(st, a);
        int rc = sqlite3_step(st);
        if(rc == SQLITE_ROW && row) {
            row->found = true;
            row->st = st; /* reset by row_done */
            return TALLY_OK;
        }
        if(rc == SQLITE_ROW || rc == SQLITE_DONE) {
            if(changes)
                *changes = sqlite3_changes(tally_db_sqlite(in->db));
            sqlite3_reset(st);
            return TALLY_OK;
        }
        TallyErr e = tally_db_fail(in->db, what, msg);
        sqlite3_reset(st);
        return e;
    }
    PGconn *c = tally_pg_conn(in->pg);
    if(!a || a->n == 0) { /* BEGIN, SAVEPOINT, ROLLBACK TO …: simple queries (allowed in a failed transaction) */
        PGresult *r = PQexec(c, PG_SQL[i] ? PG_SQL[i] : SQL[i]);
        TallyErr e = r && PQresultStatus(r) == PGRES_COMMAND_OK ? TALLY_OK : tally_pg_fail(in->pg, r, what, msg);
        PQclear(r);
        return e;
    }
    char name[32];
    snprintf(name, sizeof name, "tally_ingest_%d", i);
    if(!in->pg_prepared[i]) {
        char sql[2048];
        if(!tally_pg_sql(PG_SQL[i] ? PG_SQL[i] : SQL[i], sql, sizeof sql))
            return tally_set_msg(msg, TALLY_E_DB, "%s: statement too long", what);
        PGresult *p = PQprepare(c, name, sql, 0, NULL);
        const char *state = p ? PQresultErrorField(p, PG_DIAG_SQLSTATE) : NULL;
        /* 42P05: another TallyIngest on this connection prepared the same text under the same name. */
        if(!p || (PQresultStatus(p) != PGRES_COMMAND_OK && !(state && strcmp(state, "42P05") == 0))) {
            TallyErr e = tally_pg_fail(in->pg, p, what, msg);
            PQclear(p);
            return e;
        }
        PQclear(p);
        in->pg_prepared[i] = true;
    }
    char num[ARGS_MAX][24];
    const char *v[ARGS_MAX];
    for(int k = 0; a && k < a->n; k++) {
        if(a->type[k] == 't') {
            v[k] = a->t[k];
        } else {
            snprintf(num[k], sizeof num[k], "%lld", (long long)a->i[k]);
            v[k] = num[k];
        }
    }
    PGresult *r = PQexecPrepared(c, name, a ? a->n : 0, v, NULL, NULL, 0);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if(s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        TallyErr e = tally_pg_fail(in->pg, r, what, msg);
        PQclear(r);
        return e;
    }
    if(changes)
        *changes = strtoll(PQcmdTuples(r), NULL, 10);
    if(row && PQntuples(r) > 0) {
        row->found = true;
        row->res = r;
    } else {
        PQclear(r);
    }
    return TALLY_OK;
}

static const char *row_text(const Row *row, int col)
{
    if(row->st)
        return (const char *)sqlite3_column_text(row->st, col);
    return PQgetisnull(row->res, 0, col) ? NULL : PQgetvalue(row->res, 0, col);
}

static int64_t row_i64(const Row *row, int col)
{
    if(row->st)
        return sqlite3_column_int64(row->st, col);
    const char *v = row_text(row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void row_done(Row *row)
{
    if(row->st)
        sqlite3_reset(row->st);
    PQclear(row->res);
    *row = (Row){0};
}

/* Statement i without parameters or rows (BEGIN, SAVEPOINT, …). */
static TallyErr exec0(TallyIngest *in, int i, const char *what, char msg[TALLY_MSG_MAX])
{
    return exec_st(in, i, NULL, NULL, NULL, what, msg);
}

/* Whether a transaction is open (SQLite closes it itself on some errors; PostgreSQL's may have failed). */
static bool in_transaction(TallyIngest *in)
{
    if(in->pg)
        return PQtransactionStatus(tally_pg_conn(in->pg)) != PQTRANS_IDLE;
    return !sqlite3_get_autocommit(tally_db_sqlite(in->db));
}

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
    TallyIngest *in = calloc(1, sizeof *in);
    if(!in) {
        snprintf(msg, TALLY_MSG_MAX, "out of memory");
        return TALLY_E_NOMEM;
    }
    in->db = db;
    in->pg = tally_db_pg(db);
    for(int i = 0; i < ST_COUNT && !in->pg; i++) /* PostgreSQL prepares each on first use */
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

/* Adds one cell's count to a roll-up row (ST_ROLLUP: period = day number; ST_MONTHLY: year * 12 + month - 1). */
static TallyErr bump_rollup(TallyIngest *in, int which, const char *unit, int64_t period, const Cell *c,
                            char msg[TALLY_MSG_MAX])
{
    Args a = {0};
    arg_t(&a, unit);
    arg_i(&a, period);
    arg_t(&a, proto_area_code((ProtoArea)c->area));
    arg_t(&a, proto_scale_code((ProtoScale)c->scale));
    arg_i(&a, c->score);
    arg_i(&a, c->flagged);
    arg_i(&a, c->n);
    return exec_st(in, which, &a, NULL, NULL, which == ST_ROLLUP ? "update roll-up" : "update monthly roll-up", msg);
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
            Args a = {0};
            arg_t(&a, unit);
            arg_i(&a, monthly ? month_of(day) : day);
            arg_t(&a, proto_area_code((ProtoArea)area));
            arg_t(&a, proto_reason_code((ProtoReason)k));
            arg_i(&a, delta);
            TallyErr e = exec_st(in, monthly ? ST_REASON_MONTH : ST_REASON_DAY, &a, NULL, NULL,
                                 "update reasons roll-up", msg);
            if(e)
                return e;
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
        Args d = {0}, m = {0};
        const char *area = proto_area_code((ProtoArea)cells[i].area);
        arg_t(&d, unit);
        arg_i(&d, cells[i].day);
        arg_t(&d, area);
        arg_i(&d, cells[i].hour);
        arg_i(&d, cells[i].n);
        arg_i(&d, cells[i].unsatisfied);
        arg_t(&m, unit);
        arg_i(&m, month_of(cells[i].day));
        arg_t(&m, area);
        arg_i(&m, ((cells[i].day + 3) % 7 + 7) % 7);
        arg_i(&m, cells[i].hour);
        arg_i(&m, cells[i].n);
        arg_i(&m, cells[i].unsatisfied);
        TallyErr e = exec_st(in, ST_HOUR_DAY, &d, NULL, NULL, "update hours roll-up", msg);
        if(!e)
            e = exec_st(in, ST_HOUR_MONTH, &m, NULL, NULL, "update hours roll-up", msg);
        if(e)
            return e;
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
        Args key = {0};
        arg_t(&key, unit);
        arg_i(&key, monthly ? month_of(cell->day) : cell->day);
        arg_t(&key, proto_area_code((ProtoArea)cell->area));
        arg_t(&key, respondent_key(cell->respondent));
        Args up = key;
        for(int k = 0; k < (int)(sizeof v / sizeof v[0]); k++)
            arg_i(&up, v[k]);
        const char *what = "update daily_sat/monthly_sat roll-up";
        TallyErr e = exec_st(in, monthly ? ST_SAT_MONTH : ST_SAT_DAY, &up, NULL, NULL, what, msg);
        if(!e)
            e = exec_st(in, monthly ? ST_SAT_MONTH_EMPTY : ST_SAT_DAY_EMPTY, &key, NULL, NULL, what, msg);
        if(e)
            return e;
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
    Args a = {0};
    arg_t(&a, r->id);
    arg_t(&a, body);
    arg_t(&a, b->batch_id);
    TallyErr e = exec_st(in, ST_UPDATE, &a, NULL, NULL, "update rating", msg);
    if(e)
        return e;
    if(quarantined)
        return TALLY_OK;
    add_sat(sat, n_sat, stored, day, -1);
    add_sat(sat, n_sat, r, day, +1);
    if((r->flags & PROTO_FLAG_RAPID_REPEAT) || stored->reasons == r->reasons)
        return TALLY_OK;
    e = bump_reasons(in, r->unit, day, r->area, stored->reasons, -1, msg);
    return e ? e : bump_reasons(in, r->unit, day, r->area, r->reasons, +1, msg);
}

/* An id already stored: duplicate when byte-equal; the newer copy when it only gains answers and comes from
 * the device that stored it (updated); the older copy of one already updated (duplicate); else conflict. */
static TallyErr compare_item(TallyIngest *in, const ProtoRating *r, const char *body, const ProtoBatch *b,
                             int64_t day, SatCell *sat, size_t *n_sat, ItemOutcome *outcome,
                             char msg[TALLY_MSG_MAX])
{
    Args a = {0};
    arg_t(&a, r->id);
    Row q;
    TallyErr e = exec_st(in, ST_BODY, &a, NULL, &q, "compare rating", msg);
    if(e)
        return e;
    if(!q.found) /* the insert found it there, and ratings are never deleted */
        return tally_set_msg(msg, TALLY_E_DB, "compare rating: rating %s vanished", r->id);
    const char *old = row_text(&q, 0), *device = row_text(&q, 1);
    ProtoRating stored;
    ProtoRevision rev = PROTO_REV_CONFLICT;
    bool quarantined = row_i64(&q, 2) != 0;
    if(old && strcmp(old, body) == 0)
        rev = PROTO_REV_SAME;
    else if(old && device && strcmp(device, b->device_id) == 0 &&
            proto_rating_parse(old, strlen(old), &stored, NULL) == PROTO_OK)
        rev = proto_rating_revision(&stored, r);
    row_done(&q);
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
    /* The unique key decides, never a read before the write: when another writer (another tally-server on
     * PostgreSQL) stores the same id at the same moment, one insert wins and the other waits for it, inserts
     * nothing and compares against what was stored. */
    Args a = {0};
    arg_t(&a, r->id);
    arg_t(&a, b->device_id);
    arg_t(&a, r->unit);
    arg_t(&a, proto_area_code(r->area));
    arg_t(&a, proto_scale_code(r->scale));
    arg_i(&a, r->score);
    arg_i(&a, (r->flags & PROTO_FLAG_RAPID_REPEAT) != 0);
    arg_i(&a, day);
    arg_t(&a, body);
    arg_t(&a, b->batch_id);
    arg_i(&a, now_s);
    arg_i(&a, quarantine);
    int64_t inserted = 0;
    TallyErr e = exec_st(in, ST_INSERT, &a, &inserted, NULL, "store rating", msg);
    if(!e && inserted == 1)
        *outcome = ITEM_ACCEPTED;
    else if(!e)
        e = compare_item(in, r, body, b, day, sat, n_sat, outcome, msg);
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
    TallyErr e = exec0(in, ST_SAVEPOINT, "begin batch", msg);
    if(e) {
        free(cells);
        free(hours);
        free(sat);
        proto_reply_free(reply);
        return e;
    }
    Args da = {0};
    arg_t(&da, b->device_id);
    Row q;
    e = exec_st(in, ST_SINCE, &da, NULL, &q, "read device", msg);
    if(!e && q.found)
        since = row_i64(&q, 0);
    if(!e)
        row_done(&q);
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
        e = bump_rollup(in, ST_ROLLUP, device_unit, cells[i].day, &cells[i], msg);
        if(!e)
            e = bump_rollup(in, ST_MONTHLY, device_unit, month_of(cells[i].day), &cells[i], msg);
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
        Args a = {0};
        arg_t(&a, b->batch_id);
        arg_t(&a, b->device_id);
        arg_i(&a, now_s);
        arg_t(&a, b->sent_at);
        arg_i(&a, skew);
        arg_i(&a, reply->accepted);
        arg_i(&a, reply->duplicate);
        arg_i(&a, (int64_t)reply->n_rejected);
        e = exec_st(in, ST_RECEIPT, &a, NULL, NULL, "record receipt", msg);
    }
    if(!e) {
        Args a = {0};
        arg_t(&a, b->device_id);
        arg_i(&a, now_s);
        arg_i(&a, skew);
        arg_i(&a, inserted);
        arg_i(&a, max_seq);
        arg_i(&a, quarantined);
        e = exec_st(in, ST_DEVICE, &a, NULL, NULL, "update device", msg);
    }
    char ignored[TALLY_MSG_MAX];
    if(e)
        exec0(in, ST_UNDO, "undo batch", ignored);
    TallyErr re = exec0(in, ST_RELEASE, "release batch", e ? ignored : msg);
    if(!e)
        e = re;
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
    e = exec0(in, ST_BEGIN, "begin batches", msg);
    for(size_t i = 0; i < n && !e; i++) {
        items[i].err = ingest_one(in, items[i].batch, items[i].unit, now_s, &items[i].reply, &items[i].quarantined,
                                  items[i].msg);
        /* A batch that failed is undone alone and the others go on, unless SQLite has rolled the whole
         * transaction back itself (it does on SQLITE_NOMEM, SQLITE_FULL, I/O errors): then none is stored, and
         * every batch gets this first cause (503 for out of memory, not a 500 from the COMMIT after it). */
        if(items[i].err && !in_transaction(in))
            e = items[i].err, memcpy(msg, items[i].msg, TALLY_MSG_MAX); /* both TALLY_MSG_MAX, terminated */
    }
    if(!e)
        e = exec0(in, ST_COMMIT, "commit batches", msg);
    if(e) { /* nothing of any batch is stored */
        char ignored[TALLY_MSG_MAX];
        if(in_transaction(in))
            exec0(in, ST_ROLLBACK, "roll back batches", ignored);
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
