/* tally_pg.c — the PostgreSQL backend: connection, schema and migrations, unit tree, devices, viewers,
 * targets and settings (see tally_pg.h; docs/internals/storage.md). Start reading at MIGRATIONS. */
#include "sync/tally/tally_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define TREE_DEPTH_MAX "64" /* as tally_db.c: a longer parent chain is a cycle */
#define MIGRATE_LOCK "7461636b" /* pg_advisory_xact_lock key: one migrator at a time per database */

struct TallyPg {
    PGconn  *c;
    int      read_depth; /* tally_pg_read_begin nesting */
    bool     read_own;   /* the outermost read_begin opened the transaction (the caller had none open) */
    unsigned generation; /* times tally_pg_ready made the connection again */
    bool     setup_done; /* session_setup ran on this connection */
};

/* Each entry moves the schema from version i to i+1, in one transaction with the schema_version bump. The
 * first is the SQLite schema as its six migrations left it (tally_db.c), in PostgreSQL's types: INTEGER
 * becomes BIGINT (SQLite's integers are 64-bit), BLOB bytea, REAL double precision. Append new entries only. */
static const char *const MIGRATIONS[] = {
    /* 1: everything tally_db.c's migrations 1-6 make. units.parent is checked at commit when a transaction
     * asks (SET CONSTRAINTS … DEFERRED: a CSV may list a child before its parent). */
    "CREATE TABLE units("
    "  code   text PRIMARY KEY,"
    "  name   text NOT NULL,"
    "  parent text CONSTRAINT units_parent_fk REFERENCES units(code) DEFERRABLE INITIALLY IMMEDIATE);"
    "CREATE INDEX units_parent ON units(parent);"
    "CREATE TABLE devices("
    "  id          text PRIMARY KEY,"
    "  unit        text NOT NULL REFERENCES units(code),"
    "  token_hash  bytea NOT NULL UNIQUE,"
    "  created_at  bigint NOT NULL,"
    "  revoked_at  bigint,"
    "  last_seen   bigint,"
    "  last_skew_s bigint,"
    "  received    bigint NOT NULL DEFAULT 0,"
    "  max_seq     bigint NOT NULL DEFAULT 0,"
    "  quarantined bigint NOT NULL DEFAULT 0,"
    "  since       bigint);"
    "CREATE TABLE viewers("
    "  name       text PRIMARY KEY,"
    "  token_hash bytea NOT NULL UNIQUE,"
    "  created_at bigint NOT NULL,"
    "  revoked_at bigint,"
    "  unit       text REFERENCES units(code),"
    "  pw_hash    text);"
    "CREATE TABLE targets("
    "  grp       text NOT NULL,"
    "  milestone integer NOT NULL CHECK (milestone IN (2025, 2030)),"
    "  pct       double precision NOT NULL CHECK (pct > 0 AND pct <= 100),"
    "  PRIMARY KEY (grp, milestone));"
    /* The rating id is the one unique key that decides accepted / duplicate / conflict under concurrent
     * ingest (docs/internals/storage.md): not partitioned, so PostgreSQL enforces it across every row. */
    "CREATE TABLE ratings("
    "  id          text PRIMARY KEY,"
    "  device      text NOT NULL,"
    "  unit        text NOT NULL,"
    "  area        text NOT NULL,"
    "  scale       text NOT NULL,"
    "  score       integer NOT NULL,"
    "  flagged     integer NOT NULL,"
    "  day         bigint NOT NULL,"
    "  body        text NOT NULL,"
    "  batch       text NOT NULL,"
    "  received_at bigint NOT NULL,"
    "  quarantine  integer NOT NULL DEFAULT 0);"
    "CREATE TABLE daily("
    "  unit text NOT NULL, day bigint NOT NULL, area text NOT NULL, scale text NOT NULL, score integer NOT NULL,"
    "  flagged integer NOT NULL, n bigint NOT NULL,"
    "  PRIMARY KEY (unit, day, area, scale, score, flagged));"
    "CREATE TABLE monthly("
    "  unit text NOT NULL, month bigint NOT NULL, area text NOT NULL, scale text NOT NULL, score integer NOT NULL,"
    "  flagged integer NOT NULL, n bigint NOT NULL,"
    "  PRIMARY KEY (unit, month, area, scale, score, flagged));"
    "CREATE TABLE receipts("
    "  batch_id text NOT NULL, device text NOT NULL, received_at bigint NOT NULL, sent_at text NOT NULL,"
    "  skew_s bigint NOT NULL, accepted bigint NOT NULL, duplicate bigint NOT NULL, rejected bigint NOT NULL);"
    "CREATE INDEX receipts_device ON receipts(device, received_at);"
    "CREATE TABLE daily_sat("
    "  unit text NOT NULL, day bigint NOT NULL, area text NOT NULL, respondent text NOT NULL DEFAULT '',"
    "  n bigint NOT NULL DEFAULT 0, satisfied bigint NOT NULL DEFAULT 0, flagged bigint NOT NULL DEFAULT 0,"
    "  svc_n bigint NOT NULL DEFAULT 0, svc_satisfied bigint NOT NULL DEFAULT 0,"
    "  svc_flagged bigint NOT NULL DEFAULT 0, wait_n bigint NOT NULL DEFAULT 0,"
    "  wait_within bigint NOT NULL DEFAULT 0, svc_wait_n bigint NOT NULL DEFAULT 0,"
    "  svc_wait_within bigint NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (unit, day, area, respondent));"
    "CREATE TABLE monthly_sat("
    "  unit text NOT NULL, month bigint NOT NULL, area text NOT NULL, respondent text NOT NULL DEFAULT '',"
    "  n bigint NOT NULL DEFAULT 0, satisfied bigint NOT NULL DEFAULT 0, flagged bigint NOT NULL DEFAULT 0,"
    "  svc_n bigint NOT NULL DEFAULT 0, svc_satisfied bigint NOT NULL DEFAULT 0,"
    "  svc_flagged bigint NOT NULL DEFAULT 0, wait_n bigint NOT NULL DEFAULT 0,"
    "  wait_within bigint NOT NULL DEFAULT 0, svc_wait_n bigint NOT NULL DEFAULT 0,"
    "  svc_wait_within bigint NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (unit, month, area, respondent));"
    "CREATE TABLE reasons_daily("
    "  unit text NOT NULL, day bigint NOT NULL, area text NOT NULL, reason text NOT NULL, n bigint NOT NULL,"
    "  PRIMARY KEY (unit, day, area, reason));"
    "CREATE TABLE reasons_monthly("
    "  unit text NOT NULL, month bigint NOT NULL, area text NOT NULL, reason text NOT NULL, n bigint NOT NULL,"
    "  PRIMARY KEY (unit, month, area, reason));"
    "CREATE TABLE hours_daily("
    "  unit text NOT NULL, day bigint NOT NULL, hour integer NOT NULL, n bigint NOT NULL,"
    "  unsatisfied bigint NOT NULL,"
    "  PRIMARY KEY (unit, day, hour));"
    "CREATE TABLE hours_monthly("
    "  unit text NOT NULL, month bigint NOT NULL, weekday integer NOT NULL, hour integer NOT NULL,"
    "  n bigint NOT NULL, unsatisfied bigint NOT NULL,"
    "  PRIMARY KEY (unit, month, weekday, hour));"
    /* Sessions live in the database so that any tally-server instance can serve any signed-in viewer. */
    "CREATE TABLE sessions("
    "  id_hash bytea PRIMARY KEY, viewer text NOT NULL REFERENCES viewers(name), csrf text NOT NULL,"
    "  created_at bigint NOT NULL, last_seen bigint NOT NULL, addr text NOT NULL);"
    "CREATE INDEX sessions_viewer ON sessions(viewer);"
    "CREATE TABLE login_failures("
    "  kind text NOT NULL CHECK (kind IN ('name', 'addr')), key text NOT NULL, failures bigint NOT NULL,"
    "  last_at bigint NOT NULL,"
    "  PRIMARY KEY (kind, key));"
    "CREATE TABLE audit("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at bigint NOT NULL, viewer text NOT NULL,"
    "  addr text NOT NULL, event text NOT NULL, detail text NOT NULL);"
    "CREATE TABLE settings(key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE health(id integer PRIMARY KEY CHECK (id = 1), probed_at bigint NOT NULL);",
    /* 2: tally_db.c's migration 7 — the hours roll-ups gain the area, so the heat map follows an area filter;
     * refilled from the ratings (misuse and quarantined ones left out). The hour is the rating's local hour
     * (UTC+7) and the weekday 0 = Monday (day 0 was a Thursday), as ingest computes them. */
    "DROP TABLE hours_daily;"
    "DROP TABLE hours_monthly;"
    "CREATE TABLE hours_daily("
    "  unit text NOT NULL, day bigint NOT NULL, area text NOT NULL, hour integer NOT NULL, n bigint NOT NULL,"
    "  unsatisfied bigint NOT NULL,"
    "  PRIMARY KEY (unit, day, area, hour));"
    "CREATE TABLE hours_monthly("
    "  unit text NOT NULL, month bigint NOT NULL, area text NOT NULL, weekday integer NOT NULL,"
    "  hour integer NOT NULL, n bigint NOT NULL, unsatisfied bigint NOT NULL,"
    "  PRIMARY KEY (unit, month, area, weekday, hour));"
    "INSERT INTO hours_daily(unit, day, area, hour, n, unsatisfied)"
    "  SELECT unit, day, area,"
    "         extract(hour FROM ((body::jsonb->>'at')::timestamptz AT TIME ZONE 'UTC') + interval '7 hours')::integer,"
    "         count(*), count(*) FILTER (WHERE score < (CASE scale WHEN 'likert5' THEN 4 ELSE 2 END))"
    "  FROM ratings WHERE flagged = 0 AND quarantine = 0 GROUP BY 1, 2, 3, 4;"
    "INSERT INTO hours_monthly(unit, month, area, weekday, hour, n, unsatisfied)"
    "  SELECT unit, (extract(year FROM to_timestamp(day * 86400) AT TIME ZONE 'UTC') * 12"
    "                + extract(month FROM to_timestamp(day * 86400) AT TIME ZONE 'UTC') - 1)::bigint,"
    "         area, (((day + 3) % 7 + 7) % 7)::integer, hour, sum(n), sum(unsatisfied)"
    "  FROM hours_daily GROUP BY 1, 2, 3, 4, 5;",
};
#define N_MIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

bool tally_pg_is_uri(const char *path)
{
    return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

PGconn *tally_pg_conn(TallyPg *pg)
{
    return pg->c;
}

/* The server's message without its trailing newline. */
static const char *pg_message(TallyPg *pg, const PGresult *res, char *buf, size_t len)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(buf, len, "%s", m ? m : PQerrorMessage(pg->c));
    size_t n = strlen(buf);
    while(n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return buf;
}

TallyErr tally_pg_fail(TallyPg *pg, const PGresult *res, const char *what, char msg[TALLY_MSG_MAX])
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    TallyErr e = TALLY_E_DB;
    if(state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
        e = TALLY_E_BUSY; /* serialization failure, deadlock, lock_timeout: nothing written, retry */
    else if(PQstatus(pg->c) != CONNECTION_OK || (state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0)))
        e = TALLY_E_BUSY; /* the connection is lost (admin shutdown, server gone): tally_pg_ready makes it again */
    else if(state && strcmp(state, "53200") == 0)
        e = TALLY_E_NOMEM;
    else if(state && strcmp(state, "23505") == 0)
        e = TALLY_E_EXISTS;
    char buf[TALLY_MSG_MAX];
    return tally_set_msg(msg, e, "%s: %s", what, pg_message(pg, res, buf, sizeof buf));
}

TallyErr tally_pg_exec(TallyPg *pg, const char *what, char msg[TALLY_MSG_MAX], PGresult **res, const char *sql,
                       int n, const char *const *params)
{
    if(res)
        *res = NULL;
    PGresult *r = PQexecParams(pg->c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if(s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        /* No result: the connection is lost (tally_pg_fail says so), else libpq ran out of memory. */
        TallyErr e = r || PQstatus(pg->c) != CONNECTION_OK
                         ? tally_pg_fail(pg, r, what, msg)
                         : tally_set_msg(msg, TALLY_E_NOMEM, "%s: out of memory", what);
        PQclear(r);
        return e;
    }
    if(res)
        *res = r;
    else
        PQclear(r);
    return TALLY_OK;
}

/* A statement without parameters or rows (BEGIN, COMMIT, a migration's DDL: several statements in one). */
static TallyErr run(TallyPg *pg, const char *what, const char *sql, char msg[TALLY_MSG_MAX])
{
    PGresult *r = PQexec(pg->c, sql);
    TallyErr e = r && PQresultStatus(r) == PGRES_COMMAND_OK ? TALLY_OK : tally_pg_fail(pg, r, what, msg);
    PQclear(r);
    return e;
}

bool tally_pg_sql(const char *sqlite_sql, char *out, size_t cap)
{
    size_t k = 0;
    for(const char *p = sqlite_sql; *p; p++) {
        if(k + 1 >= cap)
            return false;
        out[k++] = *p == '?' ? '$' : *p;
    }
    out[k] = '\0';
    return true;
}

const char *tally_rows_text(const TallyRows *r, int col)
{
    if(r->st)
        return (const char *)sqlite3_column_text(r->st, col);
    return PQgetisnull(r->res, r->i, col) ? NULL : PQgetvalue(r->res, r->i, col);
}

int64_t tally_rows_i64(const TallyRows *r, int col)
{
    if(r->st)
        return sqlite3_column_int64(r->st, col);
    const char *v = tally_rows_text(r, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

bool tally_rows_next(TallyRows *r, int *rc)
{
    if(r->st)
        return (*rc = sqlite3_step(r->st)) == SQLITE_ROW;
    *rc = SQLITE_DONE;
    return ++r->i < PQntuples(r->res);
}

void tally_pg_rollback(TallyPg *pg)
{
    if(PQtransactionStatus(pg->c) != PQTRANS_IDLE)
        PQclear(PQexec(pg->c, "ROLLBACK"));
}

/* Commits, or rolls back when e is an error; returns the first error. */
static TallyErr finish(TallyPg *pg, TallyErr e, char msg[TALLY_MSG_MAX])
{
    if(!e)
        e = run(pg, "commit", "COMMIT", msg);
    if(e)
        tally_pg_rollback(pg);
    return e;
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* A hash as a bytea literal in text form: \x followed by hex. */
static void bytea_hex(const unsigned char hash[TALLY_PG_HASH_LEN], char out[2 + 2 * TALLY_PG_HASH_LEN + 1])
{
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, 2 * TALLY_PG_HASH_LEN + 1, hash, TALLY_PG_HASH_LEN);
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation … already exists, skipping" and the like: not for the server's log */
}

static TallyErr seed_targets(TallyPg *pg, char msg[TALLY_MSG_MAX])
{
    for(int g = 0; g < GROUP_COUNT; g++)
        for(int m = 2025; m <= 2030; m += 5) {
            char ms[8], pct[32];
            snprintf(ms, sizeof ms, "%d", m);
            snprintf(pct, sizeof pct, "%d", proto_group_default_target((ProtoGroup)g, m));
            const char *p[] = {proto_group_code((ProtoGroup)g), ms, pct};
            TallyErr e = tally_pg_exec(pg, "seed targets", msg, NULL,
                                       "INSERT INTO targets(grp, milestone, pct) VALUES ($1, $2, $3)"
                                       " ON CONFLICT DO NOTHING", 3, p);
            if(e)
                return e;
        }
    return TALLY_OK;
}

/* Whether the schema is already current, read without DDL or writes: then tally-server's role, which has no
 * CREATE on the schema and no INSERT on schema_version or targets (least privilege, docs/operations.md), opens
 * the database; only the administrator's role ever creates or migrates it. */
static TallyErr schema_current(TallyPg *pg, bool *current, char msg[TALLY_MSG_MAX])
{
    *current = false;
    PGresult *r = NULL;
    TallyErr e = tally_pg_exec(pg, "read schema version", msg, &r,
                               "SELECT to_regclass('schema_version') IS NOT NULL", 0, NULL);
    bool exists = !e && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    r = NULL;
    if(exists && !(e = tally_pg_exec(pg, "read schema version", msg, &r, "SELECT version FROM schema_version", 0,
                                     NULL)))
        *current = PQntuples(r) == 1 && col_i64(r, 0, 0) == N_MIGRATIONS;
    PQclear(r);
    return e;
}

/* One migration per transaction, each under the advisory lock so that processes starting together take turns
 * and the second finds the work done. Returns with *done true when the schema is current. */
static TallyErr migrate_step(TallyPg *pg, bool *done, char msg[TALLY_MSG_MAX])
{
    *done = false;
    TallyErr e = schema_current(pg, done, msg);
    if(e || *done)
        return e;
    e = run(pg, "begin migration", "BEGIN", msg);
    if(!e)
        e = tally_pg_exec(pg, "lock migration", msg, NULL, "SELECT pg_advisory_xact_lock(x'" MIGRATE_LOCK "'::bigint)",
                          0, NULL);
    if(!e)
        e = run(pg, "migrate", "CREATE TABLE IF NOT EXISTS schema_version("
                               "  one boolean PRIMARY KEY DEFAULT true CHECK (one), version integer NOT NULL);"
                               "INSERT INTO schema_version(version) VALUES (0) ON CONFLICT DO NOTHING", msg);
    PGresult *r = NULL;
    if(!e)
        e = tally_pg_exec(pg, "read schema version", msg, &r, "SELECT version FROM schema_version", 0, NULL);
    int version = e ? -1 : (int)col_i64(r, 0, 0);
    PQclear(r);
    if(!e && (version < 0 || version > N_MIGRATIONS))
        e = tally_set_msg(msg, TALLY_E_DB, "schema version %d is unknown to this program (newest %d)", version,
                          N_MIGRATIONS);
    if(!e && version < N_MIGRATIONS) {
        e = run(pg, "migrate", MIGRATIONS[version], msg);
        if(!e)
            e = run(pg, "migrate", "UPDATE schema_version SET version = version + 1", msg);
        version++;
    }
    *done = !e && version == N_MIGRATIONS;
    if(*done)
        e = seed_targets(pg, msg);
    return finish(pg, e, msg);
}

/* The session settings every connection needs (tally_pg_open, and again after a reset). */
static TallyErr session_setup(TallyPg *pg, char msg[TALLY_MSG_MAX])
{
    PQsetNoticeProcessor(pg->c, quiet_notice, NULL);
    TallyErr e = PQsetClientEncoding(pg->c, "UTF8") == 0
                     ? TALLY_OK
                     : tally_set_msg(msg, TALLY_E_DB, "PostgreSQL: cannot use UTF8 client encoding");
    /* A writer waits for another's row locks as long as SQLite's busy timeout, then gets TALLY_E_BUSY. */
    if(!e)
        e = run(pg, "set lock_timeout", "SET lock_timeout = '30s'", msg);
    pg->setup_done = !e;
    return e;
}

TallyErr tally_pg_ready(TallyPg *pg, char msg[TALLY_MSG_MAX])
{
    if(PQstatus(pg->c) == CONNECTION_OK && pg->setup_done)
        return TALLY_OK;
    if(PQstatus(pg->c) != CONNECTION_OK) {
        PQreset(pg->c);
        pg->read_depth = 0;
        pg->setup_done = false;
        if(PQstatus(pg->c) != CONNECTION_OK) {
            char buf[TALLY_MSG_MAX];
            return tally_set_msg(msg, TALLY_E_BUSY, "PostgreSQL cannot be reached (%s); retry later / chưa kết "
                                 "nối được PostgreSQL, hãy thử lại sau", pg_message(pg, NULL, buf, sizeof buf));
        }
        pg->generation++;
    }
    return session_setup(pg, msg);
}

TallyErr tally_pg_open(const char *uri, TallyPg **out, char msg[TALLY_MSG_MAX])
{
    *out = NULL;
    TallyPg *pg = calloc(1, sizeof *pg);
    if(!pg)
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    pg->c = PQconnectdb(uri);
    TallyErr e = TALLY_OK;
    if(!pg->c) {
        e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    } else if(PQstatus(pg->c) != CONNECTION_OK) {
        char buf[TALLY_MSG_MAX];
        e = tally_set_msg(msg, TALLY_E_DB, "PostgreSQL: %s", pg_message(pg, NULL, buf, sizeof buf));
    } else {
        e = session_setup(pg, msg);
        for(bool done = false; !e && !done;)
            e = migrate_step(pg, &done, msg);
    }
    if(e) {
        tally_pg_close(pg);
        return e;
    }
    *out = pg;
    return TALLY_OK;
}

unsigned tally_pg_generation(TallyPg *pg)
{
    return pg->generation;
}

void tally_pg_close(TallyPg *pg)
{
    if(pg) {
        PQfinish(pg->c);
        free(pg);
    }
}

TallyErr tally_pg_probe_write(TallyPg *pg, int64_t now, char msg[TALLY_MSG_MAX])
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)now);
    const char *p[] = {t};
    return tally_pg_exec(pg, "probe write", msg, NULL, "INSERT INTO health(id, probed_at) VALUES (1, $1)"
                         " ON CONFLICT(id) DO UPDATE SET probed_at = excluded.probed_at", 1, p);
}

/* One snapshot for every statement until the matching end, as SQLite's read savepoint gives; inside a
 * caller's transaction it reads in that one. */
TallyErr tally_pg_read_begin(TallyPg *pg, char msg[TALLY_MSG_MAX])
{
    if(pg->read_depth == 0) {
        pg->read_own = PQtransactionStatus(pg->c) == PQTRANS_IDLE;
        if(pg->read_own) {
            TallyErr e = run(pg, "begin read", "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", msg);
            if(e)
                return e;
        }
    }
    pg->read_depth++;
    return TALLY_OK;
}

void tally_pg_read_end(TallyPg *pg)
{
    if(pg->read_depth > 0 && --pg->read_depth == 0 && pg->read_own)
        PQclear(PQexec(pg->c, "COMMIT"));
}

/* ---- Unit tree -------------------------------------------------------------------------------------- */

TallyErr tally_pg_unit_exists(TallyPg *pg, const char *code, char msg[TALLY_MSG_MAX])
{
    PGresult *r;
    const char *p[] = {code};
    TallyErr e = tally_pg_exec(pg, "look up unit", msg, &r, "SELECT 1 FROM units WHERE code = $1", 1, p);
    if(e)
        return e;
    bool found = PQntuples(r) > 0;
    PQclear(r);
    return found ? TALLY_OK
                 : tally_set_msg(msg, TALLY_E_NOT_FOUND, "unit %s does not exist / đơn vị %s không tồn tại", code, code);
}

/* Tree edits take turns (SHARE ROW EXCLUSIVE conflicts with itself, not with readers): two concurrent
 * re-parentings could each pass the cycle check alone and make a cycle together. */
static TallyErr begin_tree_edit(TallyPg *pg, char msg[TALLY_MSG_MAX])
{
    TallyErr e = run(pg, "begin", "BEGIN", msg);
    if(!e)
        e = run(pg, "lock units", "LOCK TABLE units IN SHARE ROW EXCLUSIVE MODE", msg);
    return e;
}

static TallyErr check_no_cycles(TallyPg *pg, char msg[TALLY_MSG_MAX])
{
    PGresult *r;
    TallyErr e = tally_pg_exec(pg, "check unit tree", msg, &r,
                               "WITH RECURSIVE up(code, anc, depth) AS ("
                               "  SELECT code, parent, 1 FROM units WHERE parent IS NOT NULL"
                               "  UNION ALL SELECT up.code, u.parent, up.depth + 1 FROM up"
                               "  JOIN units u ON u.code = up.anc"
                               "  WHERE u.parent IS NOT NULL AND up.depth < " TREE_DEPTH_MAX ")"
                               "SELECT code FROM up WHERE anc = code OR depth >= " TREE_DEPTH_MAX " LIMIT 1",
                               0, NULL);
    if(e)
        return e;
    if(PQntuples(r) > 0)
        e = tally_set_msg(msg, TALLY_E_INVALID, "unit %s would be its own ancestor / đơn vị %s tạo thành vòng lặp",
                          PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 0));
    PQclear(r);
    return e;
}

static TallyErr put_unit(TallyPg *pg, const char *code, const char *name, const char *parent,
                         char msg[TALLY_MSG_MAX])
{
    const char *p[] = {code, name, parent && *parent ? parent : NULL};
    return tally_pg_exec(pg, "add unit", msg, NULL,
                         "INSERT INTO units(code, name, parent) VALUES ($1, $2, $3)"
                         " ON CONFLICT(code) DO UPDATE SET name = excluded.name, parent = excluded.parent", 3, p);
}

TallyErr tally_pg_unit_add(TallyPg *pg, const char *code, const char *name, const char *parent,
                           char msg[TALLY_MSG_MAX])
{
    TallyErr e = begin_tree_edit(pg, msg);
    if(!e && parent && *parent)
        e = tally_pg_unit_exists(pg, parent, msg);
    if(!e)
        e = put_unit(pg, code, name, parent, msg);
    if(!e)
        e = check_no_cycles(pg, msg);
    return finish(pg, e, msg);
}

typedef struct {
    TallyPg *pg;
    size_t   n;
} Import;

static TallyErr import_line(const char *code, const char *name, const char *parent, void *ud, char msg[TALLY_MSG_MAX])
{
    Import *im = ud;
    TallyErr e = put_unit(im->pg, code, name, parent, msg);
    im->n += !e;
    return e;
}

TallyErr tally_pg_unit_import(TallyPg *pg, const char *text, size_t len, const char *path, size_t *count,
                              char msg[TALLY_MSG_MAX])
{
    *count = 0;
    Import im = {pg, 0};
    TallyErr e = begin_tree_edit(pg, msg);
    /* Parents may come after their children: the foreign key is checked at COMMIT; the query below names the
     * first orphan first, as the SQLite import does. */
    if(!e)
        e = run(pg, "defer parent check", "SET CONSTRAINTS units_parent_fk DEFERRED", msg);
    if(!e)
        e = tally_unit_csv_parse(text, len, path, import_line, &im, msg);
    PGresult *r;
    if(!e && !(e = tally_pg_exec(pg, "check parents", msg, &r,
                                 "SELECT c.code, c.parent FROM units c LEFT JOIN units p ON p.code = c.parent"
                                 " WHERE c.parent IS NOT NULL AND p.code IS NULL LIMIT 1", 0, NULL))) {
        if(PQntuples(r) > 0)
            e = tally_set_msg(msg, TALLY_E_INVALID, "%s: unit %s has unknown parent %s / đơn vị cha không tồn tại",
                              path, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
        PQclear(r);
    }
    if(!e)
        e = check_no_cycles(pg, msg);
    e = finish(pg, e, msg);
    if(!e)
        *count = im.n;
    return e;
}

TallyErr tally_pg_unit_in_scope(TallyPg *pg, const char *unit, const char *scope, bool *inside,
                                char msg[TALLY_MSG_MAX])
{
    PGresult *r;
    const char *p[] = {unit, scope};
    TallyErr e = tally_pg_exec(pg, "check scope", msg, &r,
                               "WITH RECURSIVE up(code, depth) AS (SELECT $1::text, 0"
                               "  UNION ALL SELECT u.parent, up.depth + 1 FROM up JOIN units u ON u.code = up.code"
                               "  WHERE u.parent IS NOT NULL AND up.depth < " TREE_DEPTH_MAX ")"
                               "SELECT 1 FROM up WHERE code = $2 LIMIT 1", 2, p);
    if(e)
        return e;
    *inside = PQntuples(r) > 0;
    PQclear(r);
    return TALLY_OK;
}

TallyErr tally_pg_unit_list(TallyPg *pg, TallyUnit **out, size_t *n, char msg[TALLY_MSG_MAX])
{
    PGresult *r;
    TallyErr e = tally_pg_exec(pg, "read units", msg, &r,
                               "SELECT code, name, coalesce(parent, '') FROM units ORDER BY code COLLATE \"C\"", 0,
                               NULL);
    if(e)
        return e;
    size_t rows = (size_t)PQntuples(r);
    TallyUnit *u = rows ? malloc(rows * sizeof *u) : NULL;
    if(rows && !u) {
        PQclear(r);
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    }
    for(size_t i = 0; i < rows; i++) {
        snprintf(u[i].code, sizeof u[i].code, "%s", PQgetvalue(r, (int)i, 0));
        snprintf(u[i].name, sizeof u[i].name, "%s", PQgetvalue(r, (int)i, 1));
        snprintf(u[i].parent, sizeof u[i].parent, "%s", PQgetvalue(r, (int)i, 2));
    }
    PQclear(r);
    *out = u;
    *n = rows;
    return TALLY_OK;
}

/* ---- Devices and viewers ---------------------------------------------------------------------------- */

/* An INSERT … ON CONFLICT DO NOTHING that inserted nothing: the key (or, never in practice, the token's
 * hash) is taken. */
static TallyErr insert_row(TallyPg *pg, const char *what, const char *sql, int n, const char *const *p,
                           char msg[TALLY_MSG_MAX])
{
    PGresult *r;
    TallyErr e = tally_pg_exec(pg, what, msg, &r, sql, n, p);
    if(e)
        return e;
    bool inserted = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return inserted ? TALLY_OK : TALLY_E_EXISTS;
}

TallyErr tally_pg_device_insert(TallyPg *pg, const char *id, const char *unit, int64_t since,
                                const unsigned char hash[TALLY_PG_HASH_LEN], int64_t now, char msg[TALLY_MSG_MAX])
{
    char h[2 + 2 * TALLY_PG_HASH_LEN + 1], s[24], t[24];
    bytea_hex(hash, h);
    snprintf(s, sizeof s, "%lld", (long long)since);
    snprintf(t, sizeof t, "%lld", (long long)now);
    const char *p[] = {id, unit, since ? s : NULL, h, t};
    return insert_row(pg, "add device", "INSERT INTO devices(id, unit, since, token_hash, created_at)"
                      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", 5, p, msg);
}

TallyErr tally_pg_viewer_insert(TallyPg *pg, const char *name, const char *unit,
                                const unsigned char hash[TALLY_PG_HASH_LEN], int64_t now, char msg[TALLY_MSG_MAX])
{
    char h[2 + 2 * TALLY_PG_HASH_LEN + 1], t[24];
    bytea_hex(hash, h);
    snprintf(t, sizeof t, "%lld", (long long)now);
    const char *p[] = {name, unit && *unit ? unit : NULL, h, t};
    return insert_row(pg, "add viewer", "INSERT INTO viewers(name, unit, token_hash, created_at)"
                      " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, p, msg);
}

TallyErr tally_pg_revoke(TallyPg *pg, bool viewer, const char *key, int64_t now, char msg[TALLY_MSG_MAX])
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)now);
    const char *p[] = {key, t};
    TallyErr e = run(pg, "begin", "BEGIN", msg);
    PGresult *r = NULL;
    if(!e)
        e = tally_pg_exec(pg, viewer ? "revoke viewer" : "revoke device", msg, &r,
                          viewer ? "UPDATE viewers SET revoked_at = coalesce(revoked_at, $2::bigint) WHERE name = $1"
                                 : "UPDATE devices SET revoked_at = coalesce(revoked_at, $2::bigint) WHERE id = $1",
                          2, p);
    if(!e && strcmp(PQcmdTuples(r), "0") == 0)
        e = TALLY_E_NOT_FOUND;
    PQclear(r);
    /* Revocation ends every dashboard session of the viewer at once, in the same transaction. */
    if(!e && viewer)
        e = tally_pg_exec(pg, "end sessions", msg, NULL, "DELETE FROM sessions WHERE viewer = $1", 1, p);
    return finish(pg, e, msg);
}

TallyErr tally_pg_device_list(TallyPg *pg, bool (*fn)(const TallyDevice *d, void *ud), void *ud,
                              char msg[TALLY_MSG_MAX])
{
    PGresult *r;
    TallyErr e = tally_pg_exec(pg, "list devices", msg, &r,
                               "SELECT id, unit, created_at, coalesce(revoked_at, 0), coalesce(last_seen, 0),"
                               " coalesce(last_skew_s, 0), received, max_seq, quarantined,"
                               " coalesce(since, created_at - " TALLY_SINCE_DEFAULT_SQL ")"
                               " FROM devices ORDER BY id COLLATE \"C\"", 0, NULL);
    if(e)
        return e;
    for(int i = 0; i < PQntuples(r); i++) {
        TallyDevice d;
        snprintf(d.id, sizeof d.id, "%s", PQgetvalue(r, i, 0));
        snprintf(d.unit, sizeof d.unit, "%s", PQgetvalue(r, i, 1));
        d.created_at = col_i64(r, i, 2);
        d.revoked_at = col_i64(r, i, 3);
        d.last_seen = col_i64(r, i, 4);
        d.last_skew_s = col_i64(r, i, 5);
        d.received = col_i64(r, i, 6);
        d.max_seq = col_i64(r, i, 7);
        d.quarantined = col_i64(r, i, 8);
        d.since = col_i64(r, i, 9);
        if(!fn(&d, ud))
            break;
    }
    PQclear(r);
    return TALLY_OK;
}

TallyErr tally_pg_auth(TallyPg *pg, bool viewer, const unsigned char hash[TALLY_PG_HASH_LEN], TallyAuth *auth,
                       char *col1, size_t col1_len, char *col2, size_t col2_len, char msg[TALLY_MSG_MAX])
{
    *auth = TALLY_AUTH_UNKNOWN;
    char h[2 + 2 * TALLY_PG_HASH_LEN + 1];
    bytea_hex(hash, h);
    const char *p[] = {h};
    PGresult *r;
    TallyErr e = tally_pg_exec(pg, "authenticate", msg, &r,
                               viewer ? "SELECT revoked_at IS NOT NULL, name, coalesce(unit, '') FROM viewers"
                                        " WHERE token_hash = $1"
                                      : "SELECT revoked_at IS NOT NULL, id, unit FROM devices WHERE token_hash = $1",
                               1, p);
    if(e)
        return e;
    if(PQntuples(r) > 0) {
        if(col1)
            snprintf(col1, col1_len, "%s", PQgetvalue(r, 0, 1));
        if(col2)
            snprintf(col2, col2_len, "%s", PQgetvalue(r, 0, 2));
        *auth = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? TALLY_AUTH_REVOKED : TALLY_AUTH_OK;
    }
    PQclear(r);
    return TALLY_OK;
}

/* ---- Targets and settings ----------------------------------------------------------------------------- */

TallyErr tally_pg_targets_get(TallyPg *pg, TallyTarget out[GROUP_COUNT], char msg[TALLY_MSG_MAX])
{
    PGresult *r;
    TallyErr e = tally_pg_exec(pg, "read targets", msg, &r, "SELECT grp, milestone, pct FROM targets", 0, NULL);
    if(e)
        return e;
    for(int i = 0; i < PQntuples(r); i++) {
        int g = proto_group_from_code(PQgetvalue(r, i, 0));
        int m = (int)col_i64(r, i, 1);
        if(g >= 0 && (m == 2025 || m == 2030))
            out[g].pct[m == 2030] = strtod(PQgetvalue(r, i, 2), NULL); /* float8 text is exact (PG 12+) */
    }
    PQclear(r);
    return TALLY_OK;
}

TallyErr tally_pg_target_set(TallyPg *pg, ProtoGroup g, int milestone, double pct, char msg[TALLY_MSG_MAX])
{
    char ms[8], ps[32];
    snprintf(ms, sizeof ms, "%d", milestone);
    snprintf(ps, sizeof ps, "%.17g", pct);
    const char *p[] = {proto_group_code(g), ms, ps};
    return tally_pg_exec(pg, "set target", msg, NULL, "INSERT INTO targets(grp, milestone, pct) VALUES ($1, $2, $3)"
                         " ON CONFLICT(grp, milestone) DO UPDATE SET pct = excluded.pct", 3, p);
}

TallyErr tally_pg_setting_get(TallyPg *pg, const char *key, char *out, size_t out_len, bool *found,
                              char msg[TALLY_MSG_MAX])
{
    PGresult *r;
    const char *p[] = {key};
    TallyErr e = tally_pg_exec(pg, "read setting", msg, &r, "SELECT value FROM settings WHERE key = $1", 1, p);
    if(e)
        return e;
    if(PQntuples(r) > 0) {
        *found = true;
        snprintf(out, out_len, "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return TALLY_OK;
}

TallyErr tally_pg_setting_set(TallyPg *pg, const char *key, const char *value, char msg[TALLY_MSG_MAX])
{
    const char *p[] = {key, value};
    return tally_pg_exec(pg, "write setting", msg, NULL,
                         value ? "INSERT INTO settings(key, value) VALUES ($1, $2)"
                                 " ON CONFLICT(key) DO UPDATE SET value = excluded.value"
                               : "DELETE FROM settings WHERE key = $1",
                         value ? 2 : 1, p);
}

TallyErr tally_pg_mark_restored(TallyPg *pg, int64_t epoch, int64_t *since, char msg[TALLY_MSG_MAX])
{
    *since = 0;
    TallyErr e = run(pg, "begin", "BEGIN", msg);
    PGresult *r = NULL;
    if(!e)
        e = tally_pg_exec(pg, "read the newest rating", msg, &r, "SELECT coalesce(max(received_at), 0) FROM ratings",
                          0, NULL);
    if(!e)
        *since = col_i64(r, 0, 0);
    PQclear(r);
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)epoch);
    if(!e)
        e = tally_pg_setting_set(pg, TALLY_SETTING_RESTORE_EPOCH, v, msg);
    snprintf(v, sizeof v, "%lld", (long long)*since);
    if(!e)
        e = tally_pg_setting_set(pg, TALLY_SETTING_RESTORE_SINCE, v, msg);
    return finish(pg, e, msg);
}
