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
    ST_HOUR_DAY, ST_HOUR_MONTH, ST_RECEIPT, ST_DEVICE, ST_SINCE, ST_INSERT_MANY, ST_COUNT
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
    /* ST_INSERT for many items in one statement (store_items): the per-item columns as arrays, the batch's
     * as single values; RETURNING says which ids were new. */
    [ST_INSERT_MANY] = "INSERT INTO ratings(id, device, unit, area, scale, score, flagged, day, body, batch,"
                       " received_at, quarantine)"
                       " SELECT r.id, ?2, ?3, r.area, r.scale, r.score, r.flagged, r.day, r.body, ?4, ?5,"
                       " r.quarantine FROM unnest(?1::text[], ?6::text[], ?7::text[], ?8::bigint[], ?9::bigint[],"
                       " ?10::bigint[], ?11::text[], ?12::bigint[])"
                       " AS r(id, area, scale, score, flagged, day, body, quarantine)"
                       " ON CONFLICT(id) DO NOTHING RETURNING id",
};

/* One addition to one roll-up row: raw while a batch runs, then sorted and merged (merge_bumps). The key is
 * the table's, in column order: unit, period (a day number, or year * 12 + month - 1), then up to four small
 * codes as enum values or numbers (see write_bump); v holds what is added, in the table's column order. */
typedef struct {
    const char *unit;  /* the device's unit: the TallyIngestItem's, alive until the group ends */
    int table;         /* the statement that writes it: ST_ROLLUP … ST_HOUR_MONTH */
    int64_t period;
    int key[4];
    int64_t v[10];
} Bump;

/* A list of them (the batch's, or the group's). */
typedef struct {
    Bump *b;
    size_t n, cap;
} Bumps;

/* Growing text: a PostgreSQL array literal being written. */
typedef struct {
    char *p;
    size_t n, cap;
    bool oom;
} Text;

/* PostgreSQL: a statement sent in pipeline mode whose result is not read yet. */
typedef struct {
    int64_t    *changes; /* where its row count goes, or NULL */
    PGresult  **res;     /* where its result goes (the caller clears it), or NULL */
    const char *what;
} Pending;

/* Statements sent before their results are read. The server answers each with ~21 bytes, which its socket
 * buffer holds for this many while libpq, blocking, is still writing (a full buffer both ways would hang). */
#define PIPELINE_MAX 1000

#define ARGS_MAX 14 /* parameters of one statement at most */

struct TallyIngest {
    TallyDb *db;
    TallyPg *pg;                /* NULL on SQLite */
    sqlite3_stmt *st[ST_COUNT]; /* SQLite */
    bool pg_prepared[ST_COUNT]; /* PostgreSQL: prepared on this connection as "tally_ingest_<i>" */
    bool pg_prepared_many[ST_COUNT]; /* PostgreSQL: statement i over arrays (write_bumps_many) prepared */
    unsigned pg_generation;     /* the connection's (tally_pg_generation) when they were prepared */
    Pending pending[PIPELINE_MAX];
    size_t n_pending;
    Bumps batch, group; /* roll-up additions of the batch being read, and of the group's batches so far */
    Text arr[ARGS_MAX]; /* PostgreSQL: array parameters being filled (send_inserts, write_bumps_many) */
    size_t n_arr;       /* items in them */
};

/* A statement's parameters, typed as SQLite binds them (PostgreSQL gets them as text). */
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

static TallyErr flush_st(TallyIngest *in, char msg[TALLY_MSG_MAX]);

/* PostgreSQL: prepares text (SQLite's ?N form) under name on this connection (outside pipeline mode). */
static TallyErr prepare_as(TallyIngest *in, const char *name, const char *text, const char *what,
                           char msg[TALLY_MSG_MAX])
{
    char sql[2048];
    if(!tally_pg_sql(text, sql, sizeof sql))
        return tally_set_msg(msg, TALLY_E_DB, "%s: statement too long", what);
    PGresult *p = PQprepare(tally_pg_conn(in->pg), name, sql, 0, NULL);
    const char *state = p ? PQresultErrorField(p, PG_DIAG_SQLSTATE) : NULL;
    /* 42P05: another TallyIngest on this connection prepared the same text under the same name. */
    TallyErr e = !p || (PQresultStatus(p) != PGRES_COMMAND_OK && !(state && strcmp(state, "42P05") == 0))
                     ? tally_pg_fail(in->pg, p, what, msg)
                     : TALLY_OK;
    PQclear(p);
    return e;
}

/* PostgreSQL: prepares statement i on this connection the first time it is used (outside pipeline mode). */
static TallyErr pg_prepare(TallyIngest *in, int i, const char *what, char msg[TALLY_MSG_MAX])
{
    if(in->pg_prepared[i])
        return TALLY_OK;
    TallyErr e = flush_st(in, msg);
    if(e)
        return e;
    char name[32];
    snprintf(name, sizeof name, "tally_ingest_%d", i);
    if((e = prepare_as(in, name, PG_SQL[i] ? PG_SQL[i] : SQL[i], what, msg)))
        return e;
    in->pg_prepared[i] = true;
    return TALLY_OK;
}

/* PostgreSQL: a's values as text (num holds the integers' digits). */
static void pg_values(const Args *a, char num[ARGS_MAX][24], const char *v[ARGS_MAX])
{
    for(int k = 0; a && k < a->n; k++) {
        if(a->type[k] == 't') {
            v[k] = a->t[k];
        } else {
            snprintf(num[k], sizeof num[k], "%lld", (long long)a->i[k]);
            v[k] = num[k];
        }
    }
}

/* Runs statement i with a's parameters. On success *changes (when not NULL) is the rows it wrote and, for a
 * query (row not NULL), row holds its first row (row_done it); on failure msg says what failed. On
 * PostgreSQL, statements queued by queue_st are read back first. */
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
    TallyErr e = flush_st(in, msg);
    if(e)
        return e;
    PGconn *c = tally_pg_conn(in->pg);
    if(!a || a->n == 0) { /* BEGIN, SAVEPOINT, ROLLBACK TO …: simple queries (allowed in a failed transaction) */
        PGresult *r = PQexec(c, PG_SQL[i] ? PG_SQL[i] : SQL[i]);
        e = r && PQresultStatus(r) == PGRES_COMMAND_OK ? TALLY_OK : tally_pg_fail(in->pg, r, what, msg);
        PQclear(r);
        return e;
    }
    if((e = pg_prepare(in, i, what, msg)))
        return e;
    char name[32], num[ARGS_MAX][24];
    const char *v[ARGS_MAX];
    snprintf(name, sizeof name, "tally_ingest_%d", i);
    pg_values(a, num, v);
    PGresult *r = PQexecPrepared(c, name, a->n, v, NULL, NULL, 0);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if(s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        e = tally_pg_fail(in->pg, r, what, msg);
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

/* Statement i, whose row count (when changes is not NULL) and result (res, PostgreSQL only) are needed only
 * after the next flush_st. SQLite runs it at once. PostgreSQL sends it in pipeline mode and reads its result at the next
 * flush_st (or exec_st), so a batch costs a few round trips instead of one per rating and roll-up cell; the
 * statements still run one after the other, in the order sent, in the open transaction. After the first
 * that fails the server skips the rest: flush_st returns that first error. */
static TallyErr send_st(TallyIngest *in, int i, const Args *a, int64_t *changes, PGresult **res, const char *what,
                        char msg[TALLY_MSG_MAX])
{
    if(!in->pg)
        return exec_st(in, i, a, changes, NULL, what, msg);
    TallyErr e = pg_prepare(in, i, what, msg);
    if(e)
        return e;
    PGconn *c = tally_pg_conn(in->pg);
    if(PQpipelineStatus(c) == PQ_PIPELINE_OFF && !PQenterPipelineMode(c))
        return tally_pg_fail(in->pg, NULL, what, msg);
    char name[32], num[ARGS_MAX][24];
    const char *v[ARGS_MAX];
    snprintf(name, sizeof name, "tally_ingest_%d", i);
    pg_values(a, num, v);
    if(!PQsendQueryPrepared(c, name, a->n, v, NULL, NULL, 0)) { /* libpq copied the values, or failed */
        e = tally_pg_fail(in->pg, NULL, what, msg);
        char ignored[TALLY_MSG_MAX];
        flush_st(in, ignored);
        return e;
    }
    in->pending[in->n_pending++] = (Pending){.changes = changes, .res = res, .what = what};
    return in->n_pending == PIPELINE_MAX ? flush_st(in, msg) : TALLY_OK;
}

static TallyErr queue_st(TallyIngest *in, int i, const Args *a, int64_t *changes, const char *what,
                         char msg[TALLY_MSG_MAX])
{
    return send_st(in, i, a, changes, NULL, what, msg);
}

/* PostgreSQL: reads back every statement queue_st sent and leaves pipeline mode; the first failure is
 * returned (the server skipped the statements after it). Nothing to do on SQLite. */
static TallyErr flush_st(TallyIngest *in, char msg[TALLY_MSG_MAX])
{
    if(!in->pg)
        return TALLY_OK;
    PGconn *c = tally_pg_conn(in->pg);
    if(PQpipelineStatus(c) == PQ_PIPELINE_OFF)
        return TALLY_OK;
    TallyErr e = PQpipelineSync(c) ? TALLY_OK : tally_pg_fail(in->pg, NULL, "send statements", msg);
    bool lost = e != TALLY_OK;
    for(size_t k = 0; k < in->n_pending && !lost; k++) {
        PGresult *r = PQgetResult(c);
        if(!r) { /* the connection broke */
            e = e ? e : tally_pg_fail(in->pg, NULL, in->pending[k].what, msg);
            lost = true;
            break;
        }
        ExecStatusType s = PQresultStatus(r);
        if(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
            if(in->pending[k].changes)
                *in->pending[k].changes = strtoll(PQcmdTuples(r), NULL, 10);
            if(in->pending[k].res) {
                *in->pending[k].res = r;
                r = NULL;
            }
        } else if(!e) { /* PGRES_PIPELINE_ABORTED for those after the first failure */
            e = tally_pg_fail(in->pg, r, in->pending[k].what, msg);
        }
        PQclear(r);
        PQclear(PQgetResult(c)); /* the NULL that ends this statement's results */
    }
    for(PGresult *r; !lost && (r = PQgetResult(c));) { /* up to and including the sync point */
        bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if(sync)
            break;
    }
    in->n_pending = 0;
    if(!PQexitPipelineMode(c) && !e)
        e = tally_pg_fail(in->pg, NULL, "leave pipeline mode", msg);
    return e;
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

static bool bumps_grow(Bumps *l, size_t more)
{
    if(l->n + more <= l->cap)
        return true;
    size_t cap = l->cap ? l->cap : 256;
    while(cap < l->n + more)
        cap *= 2;
    Bump *b = realloc(l->b, cap * sizeof *b);
    if(!b)
        return false;
    l->b = b;
    l->cap = cap;
    return true;
}

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
    in->pg_generation = in->pg ? tally_pg_generation(in->pg) : 0;
    for(int i = 0; i < ST_COUNT && !in->pg; i++) /* PostgreSQL prepares each on first use */
        if(SQL[i] && sqlite3_prepare_v3(tally_db_sqlite(db), SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &in->st[i], NULL)) {
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
    free(in->batch.b);
    free(in->group.b);
    for(int k = 0; k < ARGS_MAX; k++)
        free(in->arr[k].p);
    free(in);
}

static void add_reject(ProtoReply *reply, const char *id, const char *code)
{
    ProtoReject *r = &reply->rejected[reply->n_rejected++];
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->error, sizeof r->error, "%s", code);
}

static int64_t month_of(int64_t day)
{
    int y, m, d;
    ptime_civil_from_days(day, &y, &m, &d);
    return (int64_t)y * 12 + m - 1;
}

/* Appends one addition to the batch's list (room was made by bumps_grow). */
static Bump *bump(TallyIngest *in, const char *unit, int table, int64_t period)
{
    Bump *b = &in->batch.b[in->batch.n++];
    *b = (Bump){.unit = unit, .table = table, .period = period};
    return b;
}

/* Additions per rating at most: daily, monthly, daily_sat, monthly_sat, the two hours tables, and the two
 * reasons tables per reason; twice for a rating that gains answers (its old copy's taken away). */
#define BUMPS_PER_RATING (2 * (6 + 2 * REASON_COUNT))

/* A rating's counts into daily_sat and monthly_sat, added (sign +1) or taken away (-1). */
static void bump_sat(TallyIngest *in, const char *unit, const ProtoRating *r, int64_t day, int sign)
{
    TallyCounts c = {0};
    tally_counts_rating(r, sign, &c);
    const int64_t v[10] = {c.n, c.satisfied, c.flagged, c.svc_n, c.svc_satisfied, c.svc_flagged, c.wait_n,
                           c.wait_within, c.svc_wait_n, c.svc_wait_within};
    for(int monthly = 0; monthly < 2; monthly++) {
        Bump *b = bump(in, unit, monthly ? ST_SAT_MONTH : ST_SAT_DAY, monthly ? month_of(day) : day);
        b->key[0] = r->area;
        b->key[1] = r->respondent;
        memcpy(b->v, v, sizeof v);
    }
}

/* delta for every reason in the mask, daily and monthly (misuse-flagged ratings are never counted). */
static void bump_reasons(TallyIngest *in, const char *unit, int64_t day, int area, uint32_t reasons, int delta)
{
    for(int k = 0; k < REASON_COUNT; k++)
        for(int monthly = 0; monthly < 2 && (reasons & (1u << k)); monthly++) {
            Bump *b = bump(in, unit, monthly ? ST_REASON_MONTH : ST_REASON_DAY, monthly ? month_of(day) : day);
            b->key[0] = area;
            b->key[1] = k;
            b->v[0] = delta;
        }
}

/* A newly accepted rating filed on day, at second t, into every roll-up. */
static void bump_rating(TallyIngest *in, const char *unit, const ProtoRating *r, int64_t day, int64_t t)
{
    bool flagged = (r->flags & PROTO_FLAG_RAPID_REPEAT) != 0;
    for(int monthly = 0; monthly < 2; monthly++) {
        Bump *b = bump(in, unit, monthly ? ST_MONTHLY : ST_ROLLUP, monthly ? month_of(day) : day);
        b->key[0] = r->area;
        b->key[1] = r->scale;
        b->key[2] = r->score;
        b->key[3] = flagged;
        b->v[0] = 1;
    }
    bump_sat(in, unit, r, day, +1);
    if(flagged)
        return;
    int hour = (int)(((t + PTIME_VN_OFFSET_MIN * 60) % 86400 + 86400) % 86400 / 3600);
    bool unsat = !proto_is_satisfied(r->scale, r->score);
    Bump *d = bump(in, unit, ST_HOUR_DAY, day);
    d->key[0] = r->area;
    d->key[1] = hour;
    d->v[0] = 1;
    d->v[1] = unsat;
    Bump *m = bump(in, unit, ST_HOUR_MONTH, month_of(day));
    m->key[0] = r->area;
    m->key[1] = (int)(((day + 3) % 7 + 7) % 7); /* weekday 0 = Monday: day 0 was a Thursday */
    m->key[2] = hour;
    m->v[0] = 1;
    m->v[1] = unsat;
    bump_reasons(in, unit, day, r->area, r->reasons, +1);
}

static int bump_cmp(const void *pa, const void *pb)
{
    const Bump *a = pa, *b = pb;
    if(a->table != b->table)
        return a->table < b->table ? -1 : 1;
    int c = strcmp(a->unit, b->unit);
    if(c)
        return c;
    if(a->period != b->period)
        return a->period < b->period ? -1 : 1;
    for(int k = 0; k < 4; k++)
        if(a->key[k] != b->key[k])
            return a->key[k] < b->key[k] ? -1 : 1;
    return 0;
}

/* Sorts l by key and adds up the additions to one row; those that add nothing go. */
static void merge_bumps(Bumps *l)
{
    if(l->n == 0)
        return;
    qsort(l->b, l->n, sizeof *l->b, bump_cmp);
    size_t out = 0;
    for(size_t i = 0; i < l->n; i++) {
        if(out > 0 && bump_cmp(&l->b[out - 1], &l->b[i]) == 0) {
            for(int k = 0; k < 10; k++)
                l->b[out - 1].v[k] += l->b[i].v[k];
        } else {
            l->b[out++] = l->b[i];
        }
    }
    size_t kept = 0;
    for(size_t i = 0; i < out; i++) {
        bool any = false;
        for(int k = 0; k < 10; k++)
            any |= l->b[i].v[k] != 0;
        if(any)
            l->b[kept++] = l->b[i];
    }
    l->n = kept;
}

static const char *respondent_key(int respondent)
{
    const char *code = proto_respondent_code((ProtoRespondent)respondent);
    return code ? code : ""; /* not answered */
}

/* The upsert's parameters of one merged addition, in its table's column order, and for daily_sat /
 * monthly_sat the key alone (for the delete of a cell a moved rating left empty; else key->n is 0). Returns
 * what it updates, for messages; up->n is 0 for a table that has none. */
static const char *bump_args(const Bump *b, Args *up, Args *key)
{
    Args a = {0};
    *key = (Args){0};
    arg_t(&a, b->unit);
    arg_i(&a, b->period);
    arg_t(&a, proto_area_code((ProtoArea)b->key[0]));
    const char *what = "update roll-up";
    switch(b->table) {
    case ST_ROLLUP:
    case ST_MONTHLY:
        arg_t(&a, proto_scale_code((ProtoScale)b->key[1]));
        arg_i(&a, b->key[2]);
        arg_i(&a, b->key[3]);
        arg_i(&a, b->v[0]);
        break;
    case ST_SAT_DAY:
    case ST_SAT_MONTH:
        arg_t(&a, respondent_key(b->key[1]));
        *key = a;
        for(int k = 0; k < 10; k++)
            arg_i(&a, b->v[k]);
        what = "update daily_sat/monthly_sat roll-up";
        break;
    case ST_REASON_DAY:
    case ST_REASON_MONTH:
        arg_t(&a, proto_reason_code((ProtoReason)b->key[1]));
        arg_i(&a, b->v[0]);
        what = "update reasons roll-up";
        break;
    case ST_HOUR_DAY:
    case ST_HOUR_MONTH:
        for(int k = 1; k < (b->table == ST_HOUR_DAY ? 2 : 3); k++)
            arg_i(&a, b->key[k]);
        arg_i(&a, b->v[0]);
        arg_i(&a, b->v[1]);
        what = "update hours roll-up";
        break;
    default:
        a.n = 0;
    }
    *up = a;
    return what;
}

/* The statement that deletes the emptied cells of daily_sat / monthly_sat. */
static int empty_st(int table)
{
    return table == ST_SAT_DAY ? ST_SAT_DAY_EMPTY : ST_SAT_MONTH_EMPTY;
}

/* Sends one merged addition as its table's upsert (and, for daily_sat / monthly_sat, the delete of a cell a
 * moved rating left empty). */
static TallyErr write_bump(TallyIngest *in, const Bump *b, char msg[TALLY_MSG_MAX])
{
    Args up, key;
    const char *what = bump_args(b, &up, &key);
    if(up.n == 0)
        return tally_set_msg(msg, TALLY_E_DB, "roll-up: unknown table %d", b->table);
    TallyErr e = queue_st(in, b->table, &up, NULL, what, msg);
    return e || key.n == 0 ? e : queue_st(in, empty_st(b->table), &key, NULL, what, msg);
}

static void text_put(Text *t, const char *v, size_t n);
static void arr_text(Text *t, const char *v);
static void arr_int(Text *t, int64_t v);

/* PostgreSQL: statement i's text over arrays. An upsert's "VALUES (?1, …, ?n)" becomes "SELECT * FROM
 * unnest(?1::text[], ?2::bigint[], …)" (types from the parameters of one row); the delete of emptied cells
 * joins its key columns to the arrays. The rows go in array order, so locks are taken in the sorted order. */
static bool many_sql(int i, const Args *row, char *out, size_t cap)
{
    if(i == ST_SAT_DAY_EMPTY || i == ST_SAT_MONTH_EMPTY) {
        const char *t = i == ST_SAT_DAY_EMPTY ? "daily_sat" : "monthly_sat";
        const char *p = i == ST_SAT_DAY_EMPTY ? "day" : "month";
        return (size_t)snprintf(out, cap, "DELETE FROM %s d USING unnest(?1::text[], ?2::bigint[], ?3::text[],"
                                " ?4::text[]) AS k(unit, %s, area, respondent) WHERE d.unit = k.unit AND d.%s = k.%s"
                                " AND d.area = k.area AND d.respondent = k.respondent AND d.n = 0 AND d.flagged = 0",
                                t, p, p, p) < cap;
    }
    const char *sql = SQL[i], *v = strstr(sql, " VALUES ("), *end = v ? strchr(v, ')') : NULL;
    if(!end)
        return false;
    size_t n = (size_t)(v - sql);
    int len = snprintf(out, cap, "%.*s SELECT * FROM unnest(", (int)n, sql);
    for(int k = 0; k < row->n && len > 0 && (size_t)len < cap; k++)
        len += snprintf(out + len, cap - (size_t)len, "%s?%d::%s[]", k ? ", " : "", k + 1,
                        row->type[k] == 't' ? "text" : "bigint");
    if(len > 0 && (size_t)len < cap)
        len += snprintf(out + len, cap - (size_t)len, ")%s", end + 1);
    return len > 0 && (size_t)len < cap;
}

/* PostgreSQL: sends statement i over arrays (vals: the array literals; row: one row's parameters, for the
 * types), prepared as "tally_ingest_many_<i>" on first use. */
static TallyErr send_many(TallyIngest *in, int i, const Args *row, const Args *vals, const char *what,
                          char msg[TALLY_MSG_MAX])
{
    char name[40];
    snprintf(name, sizeof name, "tally_ingest_many_%d", i);
    TallyErr e;
    if(!in->pg_prepared_many[i]) {
        if((e = flush_st(in, msg)))
            return e;
        char text[2048];
        if(!many_sql(i, row, text, sizeof text))
            return tally_set_msg(msg, TALLY_E_DB, "%s: statement too long", what);
        if((e = prepare_as(in, name, text, what, msg)))
            return e;
        in->pg_prepared_many[i] = true;
    }
    PGconn *c = tally_pg_conn(in->pg);
    if(PQpipelineStatus(c) == PQ_PIPELINE_OFF && !PQenterPipelineMode(c))
        return tally_pg_fail(in->pg, NULL, what, msg);
    if(!PQsendQueryPrepared(c, name, vals->n, vals->t, NULL, NULL, 0)) {
        e = tally_pg_fail(in->pg, NULL, what, msg);
        char ignored[TALLY_MSG_MAX];
        flush_st(in, ignored);
        return e;
    }
    in->pending[in->n_pending++] = (Pending){.what = what};
    return in->n_pending == PIPELINE_MAX ? flush_st(in, msg) : TALLY_OK;
}

/* Rows per statement over arrays: bounds one statement's text. */
#define MANY_CHUNK 1000

/* PostgreSQL: the merged additions b[0..n) of one table, sorted, as one upsert over arrays per MANY_CHUNK
 * (and one delete of the cells left empty): the same rows in the same order as write_bump would send one by
 * one, in two statements. */
static TallyErr write_bumps_many(TallyIngest *in, const Bump *b, size_t n, char msg[TALLY_MSG_MAX])
{
    TallyErr e = TALLY_OK;
    for(size_t from = 0; from < n && !e; from += MANY_CHUNK) {
        size_t to = from + MANY_CHUNK < n ? from + MANY_CHUNK : n;
        Args up, key;
        const char *what = bump_args(&b[from], &up, &key);
        if(up.n == 0)
            return tally_set_msg(msg, TALLY_E_DB, "roll-up: unknown table %d", b[from].table);
        for(size_t i = from; i < to; i++) {
            Args u, kk;
            bump_args(&b[i], &u, &kk);
            for(int k = 0; k < u.n; k++) {
                if(u.type[k] == 't')
                    arr_text(&in->arr[k], u.t[k]);
                else
                    arr_int(&in->arr[k], u.i[k]);
            }
        }
        Args vals = {0};
        for(int k = 0; k < up.n; k++) {
            text_put(&in->arr[k], "}", 1);
            if(in->arr[k].oom)
                return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
            arg_t(&vals, in->arr[k].p);
        }
        e = send_many(in, b[from].table, &up, &vals, what, msg);
        if(!e && key.n) {
            vals.n = key.n; /* the key's arrays are the upsert's first */
            e = send_many(in, empty_st(b[from].table), &key, &vals, what, msg);
        }
        e = e ? e : flush_st(in, msg); /* libpq has copied the arrays: empty them for what comes next */
        for(int k = 0; k < up.n; k++)
            in->arr[k].n = 0, in->arr[k].oom = false;
    }
    return e;
}

/* Writes the group's roll-up additions so far, merged and in one order — table, then key — whichever batch
 * they came from. Every writer takes the roll-up rows' locks in that order, so writers on several
 * tally-server processes (PostgreSQL) may wait for one another but never deadlock over the roll-ups. */
static TallyErr write_group_bumps(TallyIngest *in, char msg[TALLY_MSG_MAX])
{
    merge_bumps(&in->group);
    TallyErr e = TALLY_OK;
    for(size_t i = 0, j; i < in->group.n && !e; i = j) {
        for(j = i; j < in->group.n && in->group.b[j].table == in->group.b[i].table;)
            j++;
        if(in->pg) /* a statement per table: PostgreSQL pays per statement, SQLite hardly */
            e = write_bumps_many(in, &in->group.b[i], j - i, msg);
        for(size_t k = i; k < j && !e && !in->pg; k++)
            e = write_bump(in, &in->group.b[k], msg);
    }
    in->group.n = 0;
    return e ? e : flush_st(in, msg);
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
                            const ProtoBatch *b, const char *unit, int64_t day, bool quarantined,
                            char msg[TALLY_MSG_MAX])
{
    Args a = {0};
    arg_t(&a, r->id);
    arg_t(&a, body);
    arg_t(&a, b->batch_id);
    TallyErr e = queue_st(in, ST_UPDATE, &a, NULL, "update rating", msg);
    if(e)
        return e;
    if(quarantined)
        return TALLY_OK;
    bump_sat(in, unit, stored, day, -1);
    bump_sat(in, unit, r, day, +1);
    if((r->flags & PROTO_FLAG_RAPID_REPEAT) || stored->reasons == r->reasons)
        return TALLY_OK;
    bump_reasons(in, unit, day, r->area, stored->reasons, -1);
    bump_reasons(in, unit, day, r->area, r->reasons, +1);
    return TALLY_OK;
}

/* An id already stored: duplicate when byte-equal; the newer copy when it only gains answers and comes from
 * the device that stored it (updated); the older copy of one already updated (duplicate); else conflict. */
static TallyErr compare_item(TallyIngest *in, const ProtoRating *r, const char *body, const ProtoBatch *b,
                             const char *unit, int64_t day, ItemOutcome *outcome, char msg[TALLY_MSG_MAX])
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
    case PROTO_REV_GAINS: *outcome = ITEM_UPDATED; return update_item(in, &stored, r, body, b, unit, day, quarantined, msg);
    case PROTO_REV_CONFLICT: break;
    }
    *outcome = ITEM_CONFLICT;
    return TALLY_OK;
}

/* Sends one valid item's insert (quarantine: 0 filed, else the TallyQuarantine reason); *inserted is 1 once
 * flush_st has read it back when the row is new, 0 when the id was stored (then compare_item says more). */
static TallyErr store_item(TallyIngest *in, const ProtoRating *r, const ProtoBatch *b, int64_t day, int64_t now_s,
                           int quarantine, int64_t *inserted, char msg[TALLY_MSG_MAX])
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
    return queue_st(in, ST_INSERT, &a, inserted, "store rating", msg);
}


/* An item of a batch between the two passes of ingest_one. */
typedef struct {
    const char *reject;  /* the error code it is rejected with before storing, or NULL */
    int64_t day, t;
    int quarantine;
    int64_t inserted;    /* store_item's answer */
} ItemState;

static void text_put(Text *t, const char *v, size_t n)
{
    if(t->oom)
        return;
    if(t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while(cap < t->n + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if(!p) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, v, n);
    t->n += n;
    t->p[t->n] = '\0';
}

/* One element of an array literal: text quoted, with " and \ escaped (PostgreSQL's array input rules). */
static void arr_text(Text *t, const char *v)
{
    text_put(t, t->n ? ",\"" : "{\"", 2);
    for(const char *run = v;; v++) {
        if(*v == '"' || *v == '\\' || *v == '\0') {
            text_put(t, run, (size_t)(v - run));
            if(!*v)
                break;
            text_put(t, "\\", 1);
            run = v;
        }
    }
    text_put(t, "\"", 1);
}

static void arr_int(Text *t, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%s%lld", t->n ? "," : "{", (long long)v);
    text_put(t, num, (size_t)n);
}

/* Items per ST_INSERT_MANY statement (a batch may hold PROTO_MAX_BATCH): bounds one statement's text. */
#define INSERT_CHUNK 1000

/* PostgreSQL: sends the items gathered in in->arr as one ST_INSERT_MANY; its result goes to *res. */
static TallyErr send_inserts(TallyIngest *in, const ProtoBatch *b, int64_t now_s, PGresult **res,
                             char msg[TALLY_MSG_MAX])
{
    Args a = {0};
    for(int k = 0; k < 8; k++) {
        text_put(&in->arr[k], "}", 1);
        if(in->arr[k].oom)
            return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    }
    arg_t(&a, in->arr[0].p);
    arg_t(&a, b->device_id);
    arg_t(&a, b->items[0].rating.unit); /* checked equal to the device's for every item sent */
    arg_t(&a, b->batch_id);
    arg_i(&a, now_s);
    for(int k = 1; k < 8; k++)
        arg_t(&a, in->arr[k].p);
    TallyErr e = send_st(in, ST_INSERT_MANY, &a, NULL, res, "store ratings", msg);
    for(int k = 0; k < 8; k++)
        in->arr[k].n = 0, in->arr[k].oom = false;
    in->n_arr = 0;
    return e;
}

/* PostgreSQL: adds one valid item to in->arr (ST_INSERT_MANY's order: id, area, scale, score, flagged, day,
 * body, quarantine). */
static TallyErr gather_insert(TallyIngest *in, const ProtoRating *r, const ItemState *s, char msg[TALLY_MSG_MAX])
{
    char body[PROTO_RATING_TEXT_MAX];
    if(proto_rating_canonical(r, body, sizeof body) >= sizeof body) {
        snprintf(msg, TALLY_MSG_MAX, "rating %s does not encode in %d bytes", r->id, PROTO_RATING_TEXT_MAX);
        return TALLY_E_INVALID;
    }
    arr_text(&in->arr[0], r->id);
    arr_text(&in->arr[1], proto_area_code(r->area));
    arr_text(&in->arr[2], proto_scale_code(r->scale));
    arr_int(&in->arr[3], r->score);
    arr_int(&in->arr[4], (r->flags & PROTO_FLAG_RAPID_REPEAT) != 0);
    arr_int(&in->arr[5], s->day);
    arr_text(&in->arr[6], body);
    arr_int(&in->arr[7], s->quarantine);
    in->n_arr++;
    return TALLY_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* PostgreSQL: marks inserted the items whose id ST_INSERT_MANY returned — for an id given twice, the first
 * (the statement inserts its rows in array order; the second met the first's row and did nothing). */
static TallyErr claim_inserted(const ProtoBatch *b, ItemState *items, PGresult *const *res, size_t n_res,
                               char msg[TALLY_MSG_MAX])
{
    size_t n = 0;
    for(size_t k = 0; k < n_res; k++)
        n += res[k] ? (size_t)PQntuples(res[k]) : 0;
    if(n == 0)
        return TALLY_OK;
    const char **ids = malloc(n * sizeof *ids);
    bool *taken = calloc(n, sizeof *taken);
    if(!ids || !taken) {
        free(ids);
        free(taken);
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    }
    n = 0;
    for(size_t k = 0; k < n_res; k++)
        for(int row = 0; res[k] && row < PQntuples(res[k]); row++)
            ids[n++] = PQgetvalue(res[k], row, 0);
    qsort(ids, n, sizeof *ids, str_cmp);
    for(size_t i = 0; i < b->n; i++) {
        if(items[i].reject)
            continue;
        const char *id = b->items[i].rating.id;
        const char **hit = bsearch(&id, ids, n, sizeof *ids, str_cmp);
        if(hit && !taken[hit - ids]) {
            taken[hit - ids] = true;
            items[i].inserted = 1;
        }
    }
    free(ids);
    free(taken);
    return TALLY_OK;
}

/* One batch inside the open transaction, in a savepoint of its own: on error only this batch is undone.
 * Two passes: the first checks every item and sends the inserts of the valid ones; the second, in item
 * order, reads what each insert did and compares the ids already stored (compare_item). On PostgreSQL each
 * pass is one pipeline (queue_st), so a batch costs a handful of round trips whatever its size; the verdicts
 * are those of inserting and comparing one item at a time, because an insert of an id already stored
 * changes nothing and the comparisons still run in item order. The roll-up additions are kept, merged, in
 * the group's list once the batch is through (write_group_bumps writes them before the commit). */
static TallyErr ingest_one(TallyIngest *in, const ProtoBatch *b, const char *device_unit, int64_t now_s,
                           ProtoReply *reply, int64_t *quarantined_out, char msg[TALLY_MSG_MAX])
{
    *quarantined_out = 0;
    memset(reply, 0, sizeof *reply);
    snprintf(reply->batch_id, sizeof reply->batch_id, "%s", b->batch_id);
    ItemState *items = NULL;
    in->batch.n = 0;
    if(b->n) {
        reply->rejected = calloc(b->n, sizeof *reply->rejected);
        items = calloc(b->n, sizeof *items);
        if(!reply->rejected || !items) {
            free(items);
            proto_reply_free(reply);
            snprintf(msg, TALLY_MSG_MAX, "out of memory");
            return TALLY_E_NOMEM;
        }
    }
    /* inserted: new rows, quarantined or not (an updated rating is accepted but not new) */
    int64_t max_seq = 0, inserted = 0, quarantined = 0, since = INT64_MIN;
    PGresult *res[PROTO_MAX_BATCH / INSERT_CHUNK + 1] = {0}; /* PostgreSQL: ST_INSERT_MANY's answers */
    size_t n_res = 0;
    TallyErr e = exec0(in, ST_SAVEPOINT, "begin batch", msg);
    bool begun = !e;
    Args da = {0};
    arg_t(&da, b->device_id);
    Row q;
    if(!e)
        e = exec_st(in, ST_SINCE, &da, NULL, &q, "read device", msg);
    if(!e && q.found)
        since = row_i64(&q, 0);
    if(!e)
        row_done(&q);

    /* Pass 1: check each item, send the valid ones' inserts. */
    for(size_t i = 0; i < b->n && !e; i++) {
        const ProtoBatchItem *it = &b->items[i];
        const ProtoRating *r = &it->rating;
        ItemState *s = &items[i];
        if(it->error.code != PROTO_OK) {
            s->reject = proto_err_code(it->error.code);
            continue;
        }
        if(strcmp(r->unit, device_unit) != 0) {
            s->reject = "unit_mismatch";
            continue;
        }
        int off;
        if(!ptime_parse(r->at, &s->t, &off)) { /* the codec checked it; keep the store safe regardless */
            s->reject = proto_err_code(PROTO_E_TIME);
            continue;
        }
        s->day = ptime_vn_day(s->t);
        /* A wrong device clock: stored, so the kiosk stops resending it, but filed on no day. */
        s->quarantine = s->t > now_s + TALLY_CLOCK_AHEAD_S ? TALLY_QUARANTINE_AFTER_RECEIPT
                      : s->t < since                       ? TALLY_QUARANTINE_BEFORE_SINCE
                                                           : 0;
        if(!in->pg) {
            e = store_item(in, r, b, s->day, now_s, s->quarantine, &s->inserted, msg);
        } else if(!(e = gather_insert(in, r, s, msg)) && in->n_arr == INSERT_CHUNK) {
            e = send_inserts(in, b, now_s, &res[n_res], msg);
            n_res++;
        }
    }
    if(!e && in->n_arr) {
        e = send_inserts(in, b, now_s, &res[n_res], msg);
        n_res++;
    }
    if(!e)
        e = flush_st(in, msg);
    if(!e && in->pg)
        e = claim_inserted(b, items, res, n_res, msg);
    for(size_t k = 0; k < n_res; k++)
        PQclear(res[k]);
    for(int k = 0; k < 8; k++)
        in->arr[k].n = 0, in->arr[k].oom = false;
    in->n_arr = 0;

    /* Pass 2: in item order, what became of each. */
    for(size_t i = 0; i < b->n && !e; i++) {
        const ProtoBatchItem *it = &b->items[i];
        const ProtoRating *r = &it->rating;
        const ItemState *s = &items[i];
        if(s->reject) {
            add_reject(reply, it->error.code != PROTO_OK ? it->raw_id : r->id, s->reject);
            continue;
        }
        /* Room for this rating's additions: the list grows with what is used, not a batch's worst case. */
        if(!bumps_grow(&in->batch, BUMPS_PER_RATING)) {
            e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
            break;
        }
        ItemOutcome outcome = ITEM_ACCEPTED;
        if(s->inserted != 1) {
            char body[PROTO_RATING_TEXT_MAX]; /* encoded as store_item did */
            proto_rating_canonical(r, body, sizeof body);
            if((e = compare_item(in, r, body, b, device_unit, s->day, &outcome, msg)))
                break;
        }
        if(outcome == ITEM_ACCEPTED) {
            reply->accepted++;
            inserted++; /* received and max_seq count a quarantined rating too: it arrived, it is no gap */
            if(r->seq > max_seq)
                max_seq = r->seq;
            if(s->quarantine)
                quarantined++; /* in no roll-up: neither the tally's nor the dashboard's */
            else
                bump_rating(in, device_unit, r, s->day, s->t);
        } else if(outcome == ITEM_UPDATED) {
            reply->accepted++; /* the newer content is now stored; it was counted once, when first accepted */
        } else if(outcome == ITEM_DUPLICATE) {
            reply->duplicate++;
        } else {
            add_reject(reply, r->id, "conflict");
        }
    }
    free(items);

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
        e = queue_st(in, ST_RECEIPT, &a, NULL, "record receipt", msg);
    }
    if(!e) {
        Args a = {0};
        arg_t(&a, b->device_id);
        arg_i(&a, now_s);
        arg_i(&a, skew);
        arg_i(&a, inserted);
        arg_i(&a, max_seq);
        arg_i(&a, quarantined);
        e = queue_st(in, ST_DEVICE, &a, NULL, "update device", msg);
    }
    if(!e)
        e = flush_st(in, msg);
    /* The batch's additions join the group's (merged first: a batch's ratings share few rows). */
    merge_bumps(&in->batch);
    size_t kept = in->group.n;
    if(!e && !bumps_grow(&in->group, in->batch.n))
        e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    char ignored[TALLY_MSG_MAX];
    if(e) {
        flush_st(in, ignored); /* a failure while sending leaves results to read */
        if(begun)
            exec0(in, ST_UNDO, "undo batch", ignored);
    }
    TallyErr re = begun ? exec0(in, ST_RELEASE, "release batch", e ? ignored : msg) : TALLY_OK;
    if(!e)
        e = re;
    if(e) {
        in->group.n = kept;
        proto_reply_free(reply);
        reply->accepted = reply->duplicate = 0;
    } else {
        if(in->batch.n) /* else group.b may still be NULL (nothing grown): no memcpy to it */
            memcpy(in->group.b + in->group.n, in->batch.b, in->batch.n * sizeof *in->batch.b);
        in->group.n += in->batch.n;
        *quarantined_out = quarantined;
    }
    in->batch.n = 0;
    return e;
}

/* The group's additions are written before the commit; past this many they are written sooner (after the
 * batch that passes it), so an odd group — thousands of days in every batch — does not hold them all. */
#define GROUP_BUMPS_MAX 65536

TallyErr tally_ingest_group(TallyIngest *in, TallyIngestItem *items, size_t n, int64_t now_s, char msg[TALLY_MSG_MAX])
{
    for(size_t i = 0; i < n; i++) {
        memset(&items[i].reply, 0, sizeof items[i].reply);
        items[i].err = TALLY_OK;
        items[i].quarantined = 0;
        items[i].msg[0] = '\0';
    }
    in->group.n = 0;
    for(int k = 0; k < ARGS_MAX; k++) /* whatever a failure left in them */
        in->arr[k].n = 0, in->arr[k].oom = false;
    in->n_arr = 0;
    if(in->pg && tally_pg_generation(in->pg) != in->pg_generation) { /* made again: nothing is prepared */
        memset(in->pg_prepared, 0, sizeof in->pg_prepared);
        memset(in->pg_prepared_many, 0, sizeof in->pg_prepared_many);
        in->pg_generation = tally_pg_generation(in->pg);
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
        if(!e && in->group.n > GROUP_BUMPS_MAX)
            e = write_group_bumps(in, msg);
    }
    if(!e)
        e = write_group_bumps(in, msg);
    if(!e)
        e = exec0(in, ST_COMMIT, "commit batches", msg);
    if(e) { /* nothing of any batch is stored */
        char ignored[TALLY_MSG_MAX];
        flush_st(in, ignored);
        in->group.n = 0;
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
