/* tally_db.c — schema, migrations, unit tree, devices, viewers and targets (see tally_db.h).
 * Start reading at MIGRATIONS: the whole schema is there, one entry per user_version. */
#include "sync/tally/tally_db.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sync/tally/tally_pg.h"
#include "sync/tally/tally_text.h"

#define HASH_LEN 32            /* BLAKE2b-256 of the token text */
#define CSV_LINE_MAX 1024
#define CSV_FILE_MAX (16 << 20) /* far more than a province's units */
#define TREE_DEPTH_MAX 64      /* deeper than any real unit tree: a longer parent chain is a cycle */

/* One backend per connection (docs/internals/storage.md): a SQLite file (db) or a PostgreSQL database (pg).
 * Each public function checks its arguments here, then runs the SQLite statements below or calls tally_pg_*. */
struct TallyDb {
    sqlite3             *db;
    TallyPg             *pg;
    atomic_uint_fast64_t busy_waits, busy_wait_us; /* read from other threads (GET /metrics) */
};

/* SQLite's own busy-timeout schedule (short sleeps first, then 100 ms, giving up after
 * TALLY_BUSY_TIMEOUT_MS), with the waits counted for /metrics. */
static int busy_wait(void *ctx, int count)
{
    static const int DELAY_MS[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
    enum { N_DELAYS = sizeof DELAY_MS / sizeof DELAY_MS[0] };
    int spent = 0;
    for(int i = 0; i < count && spent < TALLY_BUSY_TIMEOUT_MS; i++)
        spent += DELAY_MS[i < N_DELAYS ? i : N_DELAYS - 1];
    if(spent >= TALLY_BUSY_TIMEOUT_MS)
        return 0;
    int ms = DELAY_MS[count < N_DELAYS ? count : N_DELAYS - 1];
    TallyDb *db = ctx;
    if(count == 0)
        atomic_fetch_add(&db->busy_waits, 1);
    atomic_fetch_add(&db->busy_wait_us, (uint_fast64_t)ms * 1000u);
    nanosleep(&(struct timespec){0, (long)ms * 1000000L}, NULL);
    return 1;
}

void tally_db_busy_stats(TallyDb *db, uint64_t *waits, uint64_t *wait_us)
{
    *waits = db ? atomic_load(&db->busy_waits) : 0;
    *wait_us = db ? atomic_load(&db->busy_wait_us) : 0;
}
/* daily_sat and monthly_sat (migration 6): the respondent key column and the counts, after unit, day|month, area. */
#define SAT_COUNT_COLUMNS \
    "  respondent      TEXT NOT NULL DEFAULT ''," \
    "  n               INTEGER NOT NULL DEFAULT 0," \
    "  satisfied       INTEGER NOT NULL DEFAULT 0," \
    "  flagged         INTEGER NOT NULL DEFAULT 0," \
    "  svc_n           INTEGER NOT NULL DEFAULT 0," \
    "  svc_satisfied   INTEGER NOT NULL DEFAULT 0," \
    "  svc_flagged     INTEGER NOT NULL DEFAULT 0," \
    "  wait_n          INTEGER NOT NULL DEFAULT 0," \
    "  wait_within     INTEGER NOT NULL DEFAULT 0," \
    "  svc_wait_n      INTEGER NOT NULL DEFAULT 0," \
    "  svc_wait_within INTEGER NOT NULL DEFAULT 0,"

/* Each entry moves the schema from version i to i+1, in one transaction with the user_version bump. */
static const char *const MIGRATIONS[] = {
    /* 1: the whole first schema. */
    "CREATE TABLE units("
    "  code   TEXT PRIMARY KEY,"
    "  name   TEXT NOT NULL,"
    "  parent TEXT REFERENCES units(code)"
    ") STRICT;"
    "CREATE INDEX units_parent ON units(parent);"
    "CREATE TABLE devices("
    "  id          TEXT PRIMARY KEY,"
    "  unit        TEXT NOT NULL REFERENCES units(code),"
    "  token_hash  BLOB NOT NULL UNIQUE,"
    "  created_at  INTEGER NOT NULL,"
    "  revoked_at  INTEGER,"
    "  last_seen   INTEGER,"
    "  last_skew_s INTEGER"
    ") STRICT;"
    "CREATE TABLE viewers("
    "  name       TEXT PRIMARY KEY,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ") STRICT;"
    "CREATE TABLE targets("
    "  grp       TEXT NOT NULL,"
    "  milestone INTEGER NOT NULL CHECK (milestone IN (2025, 2030)),"
    "  pct       REAL NOT NULL CHECK (pct > 0 AND pct <= 100),"
    "  PRIMARY KEY (grp, milestone)"
    ") STRICT;"
    /* One row per rating ever accepted. body is the canonical proto_rating_dump() text: a re-sent id is a
     * duplicate when its body is byte-equal, a conflict otherwise. day is the Asia/Ho_Chi_Minh day number. */
    "CREATE TABLE ratings("
    "  id          TEXT PRIMARY KEY,"
    "  device      TEXT NOT NULL,"
    "  unit        TEXT NOT NULL,"
    "  area        TEXT NOT NULL,"
    "  scale       TEXT NOT NULL,"
    "  score       INTEGER NOT NULL,"
    "  flagged     INTEGER NOT NULL,"
    "  day         INTEGER NOT NULL,"
    "  body        TEXT NOT NULL,"
    "  batch       TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    /* The daily roll-up, kept in the ingest transaction; tallies read only this. */
    "CREATE TABLE daily("
    "  unit    TEXT NOT NULL,"
    "  day     INTEGER NOT NULL,"
    "  area    TEXT NOT NULL,"
    "  scale   TEXT NOT NULL,"
    "  score   INTEGER NOT NULL,"
    "  flagged INTEGER NOT NULL,"
    "  n       INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, day, area, scale, score, flagged)"
    ") STRICT, WITHOUT ROWID;"
    /* Every batch received (replays too): counts and the device clock against ours. */
    "CREATE TABLE receipts("
    "  batch_id    TEXT NOT NULL,"
    "  device      TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  sent_at     TEXT NOT NULL,"
    "  skew_s      INTEGER NOT NULL,"
    "  accepted    INTEGER NOT NULL,"
    "  duplicate   INTEGER NOT NULL,"
    "  rejected    INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX receipts_device ON receipts(device, received_at);",
    /* 2: a monthly roll-up beside the daily one, so a year costs 12 cells per unit x area x score, not 365.
     * Months are numbered year * 12 + month - 1; day numbers are local days, so 'unixepoch' of day * 86400
     * is the local date. */
    "CREATE TABLE monthly("
    "  unit    TEXT NOT NULL,"
    "  month   INTEGER NOT NULL,"
    "  area    TEXT NOT NULL,"
    "  scale   TEXT NOT NULL,"
    "  score   INTEGER NOT NULL,"
    "  flagged INTEGER NOT NULL,"
    "  n       INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, month, area, scale, score, flagged)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO monthly(unit, month, area, scale, score, flagged, n)"
    "  SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
    "             + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1,"
    "         area, scale, score, flagged, sum(n)"
    "  FROM daily GROUP BY 1, 2, 3, 4, 5, 6;",
    /* 3: what the dashboard needs (issue 9), each kept in the ingest transaction and filled here from the rows
     * already stored, so no page ever scans ratings:
     *  - monthly_sat: n / satisfied / flagged per unit x month x area (the report model's one read for a
     *    period, its previous period and the year's trend; equal to summing `monthly` with the scale rule);
     *  - reasons_daily / reasons_monthly: reasons given, per unit x day|month x area (misuse left out);
     *  - hours_daily / hours_monthly: ratings and not-satisfied ones per local hour (and weekday, 0 = Monday);
     *  - devices.received / max_seq: ratings stored and the highest sequence number, for gaps;
     *  - viewers: a scope unit and an Argon2id password hash; sessions, login failures and the audit trail
     *    live here too, so several server processes on one database share them. */
    "CREATE TABLE monthly_sat("
    "  unit      TEXT NOT NULL,"
    "  month     INTEGER NOT NULL,"
    "  area      TEXT NOT NULL,"
    "  n         INTEGER NOT NULL,"
    "  satisfied INTEGER NOT NULL,"
    "  flagged   INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, month, area)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO monthly_sat(unit, month, area, n, satisfied, flagged)"
    "  SELECT unit, month, area, sum(CASE WHEN flagged = 0 THEN n ELSE 0 END),"
    "         sum(CASE WHEN flagged = 0 AND score >= (CASE scale WHEN 'likert5' THEN 4 ELSE 2 END) THEN n ELSE 0 END),"
    "         sum(CASE WHEN flagged = 1 THEN n ELSE 0 END)"
    "  FROM monthly GROUP BY 1, 2, 3;"
    "CREATE TABLE reasons_daily("
    "  unit   TEXT NOT NULL,"
    "  day    INTEGER NOT NULL,"
    "  area   TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  n      INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, day, area, reason)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE reasons_monthly("
    "  unit   TEXT NOT NULL,"
    "  month  INTEGER NOT NULL,"
    "  area   TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  n      INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, month, area, reason)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO reasons_daily(unit, day, area, reason, n)"
    "  SELECT r.unit, r.day, r.area, j.value, count(*) FROM ratings r, json_each(r.body, '$.reasons') j"
    "  WHERE r.flagged = 0 GROUP BY 1, 2, 3, 4;"
    "INSERT INTO reasons_monthly(unit, month, area, reason, n)"
    "  SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
    "             + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, area, reason, sum(n)"
    "  FROM reasons_daily GROUP BY 1, 2, 3, 4;"
    "CREATE TABLE hours_daily("
    "  unit        TEXT NOT NULL,"
    "  day         INTEGER NOT NULL,"
    "  hour        INTEGER NOT NULL,"
    "  n           INTEGER NOT NULL,"
    "  unsatisfied INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, day, hour)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE hours_monthly("
    "  unit        TEXT NOT NULL,"
    "  month       INTEGER NOT NULL,"
    "  weekday     INTEGER NOT NULL,"
    "  hour        INTEGER NOT NULL,"
    "  n           INTEGER NOT NULL,"
    "  unsatisfied INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, month, weekday, hour)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO hours_daily(unit, day, hour, n, unsatisfied)"
    "  SELECT unit, day, CAST(strftime('%H', json_extract(body, '$.at'), '+7 hours') AS INTEGER), count(*),"
    "         sum(score < (CASE scale WHEN 'likert5' THEN 4 ELSE 2 END))"
    "  FROM ratings WHERE flagged = 0 GROUP BY 1, 2, 3;"
    "INSERT INTO hours_monthly(unit, month, weekday, hour, n, unsatisfied)"
    "  SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
    "             + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, (day + 3) % 7, hour,"
    "         sum(n), sum(unsatisfied)"
    "  FROM hours_daily GROUP BY 1, 2, 3, 4;"
    "ALTER TABLE devices ADD COLUMN received INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE devices ADD COLUMN max_seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE devices SET received = s.c, max_seq = s.m"
    "  FROM (SELECT device, count(*) AS c, max(json_extract(body, '$.seq')) AS m FROM ratings GROUP BY device) s"
    "  WHERE s.device = devices.id;"
    "ALTER TABLE viewers ADD COLUMN unit TEXT REFERENCES units(code);"
    "ALTER TABLE viewers ADD COLUMN pw_hash TEXT;"
    /* Only the BLAKE2b hash of a session id is kept: a copy of the database signs no one in. */
    "CREATE TABLE sessions("
    "  id_hash    BLOB PRIMARY KEY,"
    "  viewer     TEXT NOT NULL REFERENCES viewers(name),"
    "  csrf       TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seen  INTEGER NOT NULL,"
    "  addr       TEXT NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX sessions_viewer ON sessions(viewer);"
    /* Wrong passwords per sign-in name ('name') and per client address ('addr'). */
    "CREATE TABLE login_failures("
    "  kind     TEXT NOT NULL CHECK (kind IN ('name', 'addr')),"
    "  key      TEXT NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  last_at  INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, key)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE audit("
    "  id     INTEGER PRIMARY KEY,"
    "  at     INTEGER NOT NULL,"
    "  viewer TEXT NOT NULL,"
    "  addr   TEXT NOT NULL,"
    "  event  TEXT NOT NULL,"
    "  detail TEXT NOT NULL"
    ") STRICT;",
    /* 4: settings that people change without a rebuild, read by every report file and page (issue 10: the
     * letterhead of the PDF report — issuing body, place, document symbol, signer). Key/value text. */
    "CREATE TABLE settings("
    "  key   TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") STRICT;",
    /* 5: wrong device clocks and the writer's health probe. A rating dated after its batch arrived, or long
     * before its device was enrolled, is kept (so the kiosk stops resending it) but quarantined: not in the
     * roll-ups; quarantine says why (1 = after receipt, 2 = before enrolment), devices.quarantined counts them.
     * devices.since is the earliest time its ratings may carry (`device add --since`).
     * health holds the one row the idle writer updates to prove the file still takes writes (/readyz). */
    "ALTER TABLE ratings ADD COLUMN quarantine INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE devices ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE devices ADD COLUMN since INTEGER;" /* NULL: a year before created_at (tally_db.h) */
    "CREATE TABLE health("
    "  id        INTEGER PRIMARY KEY CHECK (id = 1),"
    "  probed_at INTEGER NOT NULL"
    ") STRICT;",
    /* 6: the later questions (issue 13): every figure now reads counts per unit x day|month x area x
     * respondent ('' = not answered), with the service rating (phuc_vu) and the wait answers beside the
     * procedure rating's, as tally_counts_rating() defines them. daily_sat is new (the API and the report's
     * ragged days read it instead of summing `daily` by score); monthly_sat gains the same columns. Both are
     * rebuilt from the stored bodies, which hold each rating's newest answers; ingest keeps them, and moves a
     * rating's cell when a newer copy gains answers. `daily` and `monthly` (by score) stay as they are.
     * Quarantined ratings (migration 5) are in no tally, so in neither table. */
    "DROP TABLE monthly_sat;"
    "CREATE TABLE daily_sat("
    "  unit            TEXT NOT NULL,"
    "  day             INTEGER NOT NULL,"
    "  area            TEXT NOT NULL,"
    SAT_COUNT_COLUMNS
    "  PRIMARY KEY (unit, day, area, respondent)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE monthly_sat("
    "  unit            TEXT NOT NULL,"
    "  month           INTEGER NOT NULL,"
    "  area            TEXT NOT NULL,"
    SAT_COUNT_COLUMNS
    "  PRIMARY KEY (unit, month, area, respondent)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO daily_sat(unit, day, area, respondent, n, satisfied, flagged, svc_n, svc_satisfied, svc_flagged,"
    "                      wait_n, wait_within, svc_wait_n, svc_wait_within)"
    "  SELECT unit, day, area, resp, sum(flagged = 0), sum(flagged = 0 AND score >= sat), sum(flagged),"
    "         sum(flagged = 0 AND svc > 0), sum(flagged = 0 AND svc >= sat), sum(flagged AND svc > 0),"
    "         sum(flagged = 0 AND wait <> ''), sum(flagged = 0 AND wait IN ('duoi_15', '15_30')),"
    "         sum(flagged = 0 AND svc > 0 AND wait <> ''),"
    "         sum(flagged = 0 AND svc > 0 AND wait IN ('duoi_15', '15_30'))"
    "  FROM (SELECT unit, day, area, score, flagged, CASE scale WHEN 'likert5' THEN 4 ELSE 2 END AS sat,"
    "               coalesce(json_extract(body, '$.respondent'), '') AS resp,"
    "               coalesce(json_extract(body, '$.service_score'), 0) AS svc,"
    "               coalesce(json_extract(body, '$.wait'), '') AS wait FROM ratings"
    "        WHERE quarantine = 0)"
    "  GROUP BY 1, 2, 3, 4;"
    "INSERT INTO monthly_sat(unit, month, area, respondent, n, satisfied, flagged, svc_n, svc_satisfied,"
    "                        svc_flagged, wait_n, wait_within, svc_wait_n, svc_wait_within)"
    "  SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
    "             + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, area, respondent,"
    "         sum(n), sum(satisfied), sum(flagged), sum(svc_n), sum(svc_satisfied), sum(svc_flagged),"
    "         sum(wait_n), sum(wait_within), sum(svc_wait_n), sum(svc_wait_within)"
    "  FROM daily_sat GROUP BY 1, 2, 3, 4;",
    /* 7: the hours roll-ups gain the area, so the heat map follows an area filter as the figures and the reasons
     * do; refilled from the ratings as migration 3 filled them (misuse and quarantined ratings left out). */
    "DROP TABLE hours_daily;"
    "DROP TABLE hours_monthly;"
    "CREATE TABLE hours_daily("
    "  unit        TEXT NOT NULL,"
    "  day         INTEGER NOT NULL,"
    "  area        TEXT NOT NULL,"
    "  hour        INTEGER NOT NULL,"
    "  n           INTEGER NOT NULL,"
    "  unsatisfied INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, day, area, hour)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE hours_monthly("
    "  unit        TEXT NOT NULL,"
    "  month       INTEGER NOT NULL,"
    "  area        TEXT NOT NULL,"
    "  weekday     INTEGER NOT NULL,"
    "  hour        INTEGER NOT NULL,"
    "  n           INTEGER NOT NULL,"
    "  unsatisfied INTEGER NOT NULL,"
    "  PRIMARY KEY (unit, month, area, weekday, hour)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO hours_daily(unit, day, area, hour, n, unsatisfied)"
    "  SELECT unit, day, area, CAST(strftime('%H', json_extract(body, '$.at'), '+7 hours') AS INTEGER), count(*),"
    "         sum(score < (CASE scale WHEN 'likert5' THEN 4 ELSE 2 END))"
    "  FROM ratings WHERE flagged = 0 AND quarantine = 0 GROUP BY 1, 2, 3, 4;"
    "INSERT INTO hours_monthly(unit, month, area, weekday, hour, n, unsatisfied)"
    "  SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
    "             + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, area, (day + 3) % 7, hour,"
    "         sum(n), sum(unsatisfied)"
    "  FROM hours_daily GROUP BY 1, 2, 3, 4, 5;",
};
#define N_MIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

static const char *const ERR_NAMES[TALLY_E_COUNT] = {
    [TALLY_OK] = "ok", [TALLY_E_DB] = "database", [TALLY_E_BUSY] = "busy", [TALLY_E_NOT_FOUND] = "not_found",
    [TALLY_E_EXISTS] = "exists", [TALLY_E_INVALID] = "invalid", [TALLY_E_NOMEM] = "out_of_memory",
    [TALLY_E_IO] = "io", [TALLY_E_SCOPE] = "out_of_scope",
};

const char *tally_err_name(TallyErr e)
{
    return (unsigned)e < TALLY_E_COUNT ? ERR_NAMES[e] : "unknown";
}

TallyErr tally_set_msg(char msg[TALLY_MSG_MAX], TallyErr e, const char *fmt, ...)
{
    if(msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, TALLY_MSG_MAX, fmt, ap);
        va_end(ap);
    }
    return e;
}

sqlite3 *tally_db_sqlite(TallyDb *db)
{
    return db->db;
}

TallyPg *tally_db_pg(TallyDb *db)
{
    return db->pg;
}

TallyErr tally_db_fail(TallyDb *db, const char *what, char msg[TALLY_MSG_MAX])
{
    if(db->pg)
        return tally_pg_fail(db->pg, NULL, what, msg);
    int code = sqlite3_extended_errcode(db->db) & 0xff;
    TallyErr e = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? TALLY_E_BUSY
               : code == SQLITE_NOMEM                          ? TALLY_E_NOMEM
                                                               : TALLY_E_DB;
    return tally_set_msg(msg, e, "%s: %s", what, sqlite3_errmsg(db->db));
}

/* One-shot statement helpers. Prepared statements only: values always go through bind. */
static int prep(TallyDb *db, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v2(db->db, sql, -1, st, NULL);
}

static bool exec_simple(TallyDb *db, const char *sql)
{
    return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

static void rollback(TallyDb *db)
{
    if(!sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

static TallyErr seed_targets(TallyDb *db, char msg[TALLY_MSG_MAX])
{
    sqlite3_stmt *st;
    if(prep(db, "INSERT OR IGNORE INTO targets(grp, milestone, pct) VALUES (?1, ?2, ?3)", &st))
        return tally_db_fail(db, "seed targets", msg);
    for(int g = 0; g < GROUP_COUNT; g++)
        for(int m = 2025; m <= 2030; m += 5) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, proto_group_code((ProtoGroup)g), -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, m);
            sqlite3_bind_double(st, 3, proto_group_default_target((ProtoGroup)g, m));
            if(sqlite3_step(st) != SQLITE_DONE) {
                TallyErr e = tally_db_fail(db, "seed targets", msg);
                sqlite3_finalize(st);
                return e;
            }
        }
    sqlite3_finalize(st);
    return TALLY_OK;
}

static TallyErr migrate(TallyDb *db, char msg[TALLY_MSG_MAX])
{
    /* IMMEDIATE: two processes opening a fresh file at once must not both migrate. */
    if(!exec_simple(db, "BEGIN IMMEDIATE"))
        return tally_db_fail(db, "begin migration", msg);
    sqlite3_stmt *st;
    int version = -1;
    if(prep(db, "PRAGMA user_version", &st) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if(version < 0 || version > N_MIGRATIONS) {
        rollback(db);
        return tally_set_msg(msg, TALLY_E_DB, "schema version %d is unknown to this program (newest %d)", version,
                       N_MIGRATIONS);
    }
    TallyErr e = TALLY_OK;
    for(int v = version; v < N_MIGRATIONS; v++) {
        char pragma[64];
        if(!exec_simple(db, MIGRATIONS[v])) {
            e = tally_db_fail(db, "migrate", msg);
            break;
        }
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1); /* a constant, not data */
        if(!exec_simple(db, pragma)) {
            e = tally_db_fail(db, "migrate", msg);
            break;
        }
    }
    if(!e)
        e = seed_targets(db, msg);
    if(!e && !exec_simple(db, "COMMIT"))
        e = tally_db_fail(db, "commit migration", msg);
    if(e)
        rollback(db);
    return e;
}

TallyErr tally_db_open(const char *path, TallyDb **out, char msg[TALLY_MSG_MAX])
{
    *out = NULL;
    if(sodium_init() < 0)
        return tally_set_msg(msg, TALLY_E_DB, "libsodium could not initialise");
    TallyDb *db = calloc(1, sizeof *db);
    if(!db)
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    if(tally_pg_is_uri(path)) {
        TallyErr e = tally_pg_open(path, &db->pg, msg);
        if(e) {
            free(db);
            return e;
        }
        *out = db;
        return TALLY_OK;
    }
    if(sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) {
        TallyErr e = tally_set_msg(msg, TALLY_E_DB, "%s: %s", path, db->db ? sqlite3_errmsg(db->db) : "out of memory");
        sqlite3_close(db->db);
        free(db);
        return e;
    }
    sqlite3_busy_handler(db->db, busy_wait, db);
    sqlite3_extended_result_codes(db->db, 1);
    TallyErr e = TALLY_OK;
    sqlite3_stmt *st = NULL;
    /* journal_mode returns a row; check it really is WAL (a read-only or odd filesystem may refuse). */
    if(prep(db, "PRAGMA journal_mode=WAL", &st) || sqlite3_step(st) != SQLITE_ROW) {
        e = tally_db_fail(db, path, msg);
    } else if(strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
        e = tally_set_msg(msg, TALLY_E_DB, "%s: cannot switch to WAL journal mode", path);
    }
    sqlite3_finalize(st);
    /* FULL: a batch acknowledged to a kiosk survives a power cut here, because the kiosk may prune it. */
    if(!e && !exec_simple(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536"))
        e = tally_db_fail(db, path, msg);
    if(!e)
        e = migrate(db, msg);
    if(e) {
        sqlite3_close(db->db);
        free(db);
        return e;
    }
    *out = db;
    return TALLY_OK;
}

void tally_db_close(TallyDb *db)
{
    if(db) {
        sqlite3_close(db->db);
        tally_pg_close(db->pg);
        free(db);
    }
}

/* ---- Unit tree -------------------------------------------------------------------------------------- */

static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if(n == 0 || n > TALLY_NAME_MAX)
        return false;
    for(const unsigned char *p = (const unsigned char *)s; *p; p++)
        if(*p < 0x20 || *p == 0x7f)
            return false;
    return tally_utf8_valid(s, n); /* shown on pages and in reports as text */
}

/* TALLY_OK when code exists, TALLY_E_NOT_FOUND when not. */
static TallyErr unit_exists(TallyDb *db, const char *code, char msg[TALLY_MSG_MAX])
{
    if(db->pg)
        return tally_pg_unit_exists(db->pg, code, msg);
    sqlite3_stmt *st;
    if(prep(db, "SELECT 1 FROM units WHERE code = ?1", &st))
        return tally_db_fail(db, "look up unit", msg);
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if(rc == SQLITE_ROW)
        return TALLY_OK;
    if(rc == SQLITE_DONE)
        return tally_set_msg(msg, TALLY_E_NOT_FOUND, "unit %s does not exist / đơn vị %s không tồn tại", code, code);
    return tally_db_fail(db, "look up unit", msg);
}

/* Walks every unit's parent chain: a chain longer than TREE_DEPTH_MAX means a cycle. */
static TallyErr check_no_cycles(TallyDb *db, char msg[TALLY_MSG_MAX])
{
    sqlite3_stmt *st;
    /* The recursive walk stops at TREE_DEPTH_MAX, so a cycle ends the query too. */
    if(prep(db,
            "WITH RECURSIVE up(code, anc, depth) AS ("
            "  SELECT code, parent, 1 FROM units WHERE parent IS NOT NULL"
            "  UNION ALL SELECT up.code, u.parent, up.depth + 1 FROM up JOIN units u ON u.code = up.anc"
            "  WHERE u.parent IS NOT NULL AND up.depth < ?1)"
            "SELECT code FROM up WHERE anc = code OR depth >= ?1 LIMIT 1",
            &st))
        return tally_db_fail(db, "check unit tree", msg);
    sqlite3_bind_int(st, 1, TREE_DEPTH_MAX);
    int rc = sqlite3_step(st);
    TallyErr e = TALLY_OK;
    if(rc == SQLITE_ROW)
        e = tally_set_msg(msg, TALLY_E_INVALID, "unit %s would be its own ancestor / đơn vị %s tạo thành vòng lặp",
                    sqlite3_column_text(st, 0), sqlite3_column_text(st, 0));
    else if(rc != SQLITE_DONE)
        e = tally_db_fail(db, "check unit tree", msg);
    sqlite3_finalize(st);
    return e;
}

/* Upsert without checks; the caller is inside a transaction. */
static TallyErr put_unit(TallyDb *db, const char *code, const char *name, const char *parent,
                         char msg[TALLY_MSG_MAX])
{
    sqlite3_stmt *st;
    if(prep(db,
            "INSERT INTO units(code, name, parent) VALUES (?1, ?2, ?3)"
            " ON CONFLICT(code) DO UPDATE SET name = excluded.name, parent = excluded.parent",
            &st))
        return tally_db_fail(db, "add unit", msg);
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if(parent && *parent)
        sqlite3_bind_text(st, 3, parent, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    TallyErr e = sqlite3_step(st) == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "add unit", msg);
    sqlite3_finalize(st);
    return e;
}

static TallyErr check_unit_args(const char *code, const char *name, const char *parent, char msg[TALLY_MSG_MAX])
{
    if(!proto_code_valid(code))
        return tally_set_msg(msg, TALLY_E_INVALID, "unit code \"%.70s\" must be 1-%d chars of [A-Za-z0-9._-] / mã đơn vị "
                       "không hợp lệ", code, PROTO_ID_MAX);
    if(!name_valid(name))
        return tally_set_msg(msg, TALLY_E_INVALID, "unit name must be 1-%d bytes of UTF-8 text without control characters / "
                       "tên đơn vị phải là văn bản UTF-8", TALLY_NAME_MAX);
    if(parent && *parent && !proto_code_valid(parent))
        return tally_set_msg(msg, TALLY_E_INVALID, "parent code \"%.70s\" is malformed / mã đơn vị cha không hợp lệ",
                       parent);
    if(parent && strcmp(parent, code) == 0)
        return tally_set_msg(msg, TALLY_E_INVALID, "a unit cannot be its own parent / đơn vị không thể là cha của chính nó");
    return TALLY_OK;
}

TallyErr tally_unit_add(TallyDb *db, const char *code, const char *name, const char *parent,
                        char msg[TALLY_MSG_MAX])
{
    TallyErr e = check_unit_args(code, name, parent, msg);
    if(e)
        return e;
    if(db->pg)
        return tally_pg_unit_add(db->pg, code, name, parent, msg);
    if(!exec_simple(db, "BEGIN IMMEDIATE"))
        return tally_db_fail(db, "begin", msg);
    if(parent && *parent)
        e = unit_exists(db, parent, msg);
    if(!e)
        e = put_unit(db, code, name, parent, msg);
    if(!e)
        e = check_no_cycles(db, msg);
    if(!e && !exec_simple(db, "COMMIT"))
        e = tally_db_fail(db, "commit", msg);
    if(e)
        rollback(db);
    return e;
}

/* Splits one CSV line into up to 3 fields in place; "quoted" fields may hold commas and "" quotes.
 * Returns the number of fields, or -1 when malformed. */
static int csv_split(char *line, char *fields[3])
{
    int n = 0;
    char *p = line;
    for(;;) {
        if(n == 3)
            return -1;
        char *w = p;
        fields[n++] = p;
        if(*p == '"') {
            p++;
            for(;;) {
                if(*p == '\0')
                    return -1;
                if(*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if(*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            if(*p != ',' && *p != '\0')
                return -1;
        } else {
            while(*p && *p != ',') {
                if(*p == '"')
                    return -1;
                *w++ = *p++;
            }
        }
        char sep = *p;
        *w = '\0';
        if(sep == '\0')
            return n;
        p++;
    }
}

static void trim_eol(char *s)
{
    size_t n = strlen(s);
    while(n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

TallyErr tally_unit_csv_parse(const char *text, size_t len, const char *name, TallyUnitLineFn fn, void *ud,
                              char msg[TALLY_MSG_MAX])
{
    char line[CSV_LINE_MAX];
    size_t pos = 0;
    for(int lineno = 1; pos < len; lineno++) {
        const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) + 1 : len - pos;
        pos += n;
        if(memchr(start, '\0', n))
            return tally_set_msg(msg, TALLY_E_INVALID, "%s:%d: a NUL byte in the line (binary or damaged file) / dòng chứa "
                           "byte NUL", name, lineno);
        if(n >= sizeof line)
            return tally_set_msg(msg, TALLY_E_INVALID, "%s:%d: line too long / dòng quá dài", name, lineno);
        memcpy(line, start, n);
        line[n] = '\0';
        trim_eol(line);
        if(lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0) /* a spreadsheet's UTF-8 BOM */
            memmove(line, line + 3, strlen(line + 3) + 1);
        if(line[0] == '\0' || line[0] == '#')
            continue;
        if(lineno == 1 && strcmp(line, "code,name,parent") == 0)
            continue;
        char *fld[3];
        int nf = csv_split(line, fld);
        if(nf < 2)
            return tally_set_msg(msg, TALLY_E_INVALID, "%s:%d: expected code,name,parent / cần 3 cột code,name,parent",
                           name, lineno);
        const char *parent = nf == 3 ? fld[2] : "";
        char sub[TALLY_MSG_MAX];
        TallyErr e = check_unit_args(fld[0], fld[1], parent, sub);
        if(!e)
            e = fn(fld[0], fld[1], parent, ud, sub);
        if(e)
            return tally_set_msg(msg, e, "%s:%d: %s", name, lineno, sub);
    }
    return TALLY_OK;
}

typedef struct {
    TallyDb *db;
    size_t   n;
} Import;

static TallyErr import_line(const char *code, const char *name, const char *parent, void *ud, char msg[TALLY_MSG_MAX])
{
    Import *im = ud;
    TallyErr e = put_unit(im->db, code, name, parent, msg);
    im->n += !e;
    return e;
}

TallyErr tally_unit_import_csv(TallyDb *db, const char *path, size_t *count, char msg[TALLY_MSG_MAX])
{
    *count = 0;
    FILE *f = fopen(path, "rb");
    if(!f)
        return tally_set_msg(msg, TALLY_E_IO, "%s: %s", path, strerror(errno));
    char *text = malloc(CSV_FILE_MAX + 1);
    size_t len = text ? fread(text, 1, CSV_FILE_MAX + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if(!text)
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
    if(err || len > CSV_FILE_MAX) {
        free(text);
        return tally_set_msg(msg, err ? TALLY_E_IO : TALLY_E_INVALID, "%s: %s", path,
                       err ? "read error" : "larger than 16 MiB; not a unit list / tệp quá lớn");
    }
    if(db->pg) {
        TallyErr e = tally_pg_unit_import(db->pg, text, len, path, count, msg);
        free(text);
        return e;
    }
    if(!exec_simple(db, "BEGIN IMMEDIATE")) {
        free(text);
        return tally_db_fail(db, "begin", msg);
    }
    /* Parents may come after their children: no FK check until COMMIT, then check every parent exists. */
    exec_simple(db, "PRAGMA defer_foreign_keys = ON");
    Import im = {db, 0};
    TallyErr e = tally_unit_csv_parse(text, len, path, import_line, &im, msg);
    free(text);
    if(!e) {
        sqlite3_stmt *st;
        if(prep(db, "SELECT c.code, c.parent FROM units c LEFT JOIN units p ON p.code = c.parent"
                    " WHERE c.parent IS NOT NULL AND p.code IS NULL LIMIT 1", &st))
            e = tally_db_fail(db, "check parents", msg);
        else {
            if(sqlite3_step(st) == SQLITE_ROW)
                e = tally_set_msg(msg, TALLY_E_INVALID, "%s: unit %s has unknown parent %s / đơn vị cha không tồn tại", path,
                            sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
            sqlite3_finalize(st);
        }
    }
    if(!e)
        e = check_no_cycles(db, msg);
    if(!e && !exec_simple(db, "COMMIT"))
        e = tally_db_fail(db, "commit", msg);
    if(e)
        rollback(db);
    else
        *count = im.n;
    return e;
}

/* ---- Tokens, devices, viewers ----------------------------------------------------------------------- */

static void new_token(char token[TALLY_TOKEN_HEX + 1])
{
    unsigned char raw[TALLY_TOKEN_HEX / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, TALLY_TOKEN_HEX + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

static void hash_token(const char *token, unsigned char out[HASH_LEN])
{
    crypto_generichash(out, HASH_LEN, (const unsigned char *)token, strlen(token), NULL, 0);
}

/* The PostgreSQL half of issue_token: the same keys as its SQLite statement takes. */
typedef TallyErr (*PgEnrol)(TallyPg *pg, const char *const keys[], int nkeys, const unsigned char hash[HASH_LEN],
                            int64_t now, char msg[TALLY_MSG_MAX]);

static TallyErr pg_enrol_device(TallyPg *pg, const char *const keys[], int nkeys, const unsigned char hash[HASH_LEN],
                                int64_t now, char msg[TALLY_MSG_MAX])
{
    (void)nkeys; /* id, unit, since as text ("" = default) */
    return tally_pg_device_insert(pg, keys[0], keys[1], *keys[2] ? strtoll(keys[2], NULL, 10) : 0, hash, now, msg);
}

static TallyErr pg_enrol_viewer(TallyPg *pg, const char *const keys[], int nkeys, const unsigned char hash[HASH_LEN],
                                int64_t now, char msg[TALLY_MSG_MAX])
{
    return tally_pg_viewer_insert(pg, keys[0], nkeys > 1 ? keys[1] : NULL, hash, now, msg); /* name [, unit] */
}

/* Inserts one enrolment row carrying a freshly issued token: sql takes the row's text keys as ?1..?nkeys, then
 * the token's hash and the creation time (on PostgreSQL, pg_enrol takes the same). On success the token is
 * copied out. A uniqueness clash returns TALLY_E_EXISTS with msg left for the caller to word. The plain token
 * is wiped from the stack either way. */
static TallyErr issue_token(TallyDb *db, const char *sql, PgEnrol pg_enrol, const char *const keys[], int nkeys,
                            const char *what, char token[TALLY_TOKEN_HEX + 1], char msg[TALLY_MSG_MAX])
{
    char tok[TALLY_TOKEN_HEX + 1];
    unsigned char h[HASH_LEN];
    new_token(tok);
    hash_token(tok, h);
    if(db->pg) {
        TallyErr e = pg_enrol(db->pg, keys, nkeys, h, (int64_t)time(NULL), msg);
        if(!e)
            memcpy(token, tok, sizeof tok);
        sodium_memzero(tok, sizeof tok);
        return e;
    }
    sqlite3_stmt *st;
    if(prep(db, sql, &st)) {
        sodium_memzero(tok, sizeof tok);
        return tally_db_fail(db, what, msg);
    }
    for(int i = 0; i < nkeys; i++)
        sqlite3_bind_text(st, i + 1, keys[i], -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, nkeys + 1, h, HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, nkeys + 2, (sqlite3_int64)time(NULL));
    TallyErr e;
    if(sqlite3_step(st) == SQLITE_DONE) {
        memcpy(token, tok, sizeof tok);
        e = TALLY_OK;
    } else if((sqlite3_extended_errcode(db->db) & 0xff) == SQLITE_CONSTRAINT) {
        e = TALLY_E_EXISTS;
    } else {
        e = tally_db_fail(db, what, msg);
    }
    sqlite3_finalize(st);
    sodium_memzero(tok, sizeof tok);
    return e;
}

/* Marks one enrolment row revoked (a viewer's or a device's), keeping the first revocation time: sql takes the
 * key as ?1 and now as ?2. No row with that key returns TALLY_E_NOT_FOUND with msg left for the caller to word. */
static TallyErr revoke_row(TallyDb *db, bool viewer, const char *sql, const char *key, const char *what,
                           char msg[TALLY_MSG_MAX])
{
    if(db->pg) /* a viewer's sessions end there in the same transaction */
        return tally_pg_revoke(db->pg, viewer, key, (int64_t)time(NULL), msg);
    sqlite3_stmt *st;
    if(prep(db, sql, &st))
        return tally_db_fail(db, what, msg);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    TallyErr e = TALLY_OK;
    if(sqlite3_step(st) != SQLITE_DONE)
        e = tally_db_fail(db, what, msg);
    else if(sqlite3_changes(db->db) == 0)
        e = TALLY_E_NOT_FOUND;
    sqlite3_finalize(st);
    return e;
}

TallyErr tally_device_add(TallyDb *db, const char *id, const char *unit, int64_t since,
                          char token[TALLY_TOKEN_HEX + 1], char msg[TALLY_MSG_MAX])
{
    token[0] = '\0';
    if(!proto_code_valid(id))
        return tally_set_msg(msg, TALLY_E_INVALID, "device id must be 1-%d chars of [A-Za-z0-9._-] / mã thiết bị không "
                       "hợp lệ", PROTO_ID_MAX);
    if(!proto_code_valid(unit))
        return tally_set_msg(msg, TALLY_E_INVALID, "unit code is malformed / mã đơn vị không hợp lệ");
    TallyErr e = unit_exists(db, unit, msg);
    if(e)
        return e;
    char since_text[24] = "";
    if(since)
        snprintf(since_text, sizeof since_text, "%lld", (long long)since);
    /* since goes in as text and is cast back: the row helper binds text keys only. */
    const char *const keys[] = {id, unit, since_text};
    e = issue_token(db, "INSERT INTO devices(id, unit, since, token_hash, created_at)"
                        " VALUES (?1, ?2, CAST(nullif(?3, '') AS INTEGER), ?4, ?5)", pg_enrol_device, keys, 3,
                    "add device", token, msg);
    if(e == TALLY_E_EXISTS)
        return tally_set_msg(msg, e, "device %s is already enrolled; enrol the replacement under a new id / "
                       "thiết bị %s đã được đăng ký", id, id);
    return e;
}

TallyErr tally_device_revoke(TallyDb *db, const char *id, char msg[TALLY_MSG_MAX])
{
    TallyErr e = revoke_row(db, false, "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1", id,
                            "revoke device", msg);
    if(e == TALLY_E_NOT_FOUND)
        return tally_set_msg(msg, e, "no device %.70s / không có thiết bị %.70s", id, id);
    return e;
}

TallyErr tally_device_list(TallyDb *db, bool (*fn)(const TallyDevice *d, void *ud), void *ud,
                           char msg[TALLY_MSG_MAX])
{
    if(db->pg)
        return tally_pg_device_list(db->pg, fn, ud, msg);
    sqlite3_stmt *st;
    if(prep(db, "SELECT id, unit, created_at, coalesce(revoked_at, 0), coalesce(last_seen, 0),"
                " coalesce(last_skew_s, 0), received, max_seq, quarantined,"
                " coalesce(since, created_at - " TALLY_SINCE_DEFAULT_SQL ") FROM devices ORDER BY id", &st))
        return tally_db_fail(db, "list devices", msg);
    int rc;
    while((rc = sqlite3_step(st)) == SQLITE_ROW) {
        TallyDevice d;
        snprintf(d.id, sizeof d.id, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(d.unit, sizeof d.unit, "%s", (const char *)sqlite3_column_text(st, 1));
        d.created_at = sqlite3_column_int64(st, 2);
        d.revoked_at = sqlite3_column_int64(st, 3);
        d.last_seen = sqlite3_column_int64(st, 4);
        d.last_skew_s = sqlite3_column_int64(st, 5);
        d.received = sqlite3_column_int64(st, 6);
        d.max_seq = sqlite3_column_int64(st, 7);
        d.quarantined = sqlite3_column_int64(st, 8);
        d.since = sqlite3_column_int64(st, 9);
        if(!fn(&d, ud)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    TallyErr e = rc == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "list devices", msg);
    sqlite3_finalize(st);
    return e;
}

TallyErr tally_viewer_add(TallyDb *db, const char *name, char token[TALLY_TOKEN_HEX + 1], char msg[TALLY_MSG_MAX])
{
    return tally_viewer_add_scoped(db, name, NULL, token, msg);
}

TallyErr tally_viewer_add_scoped(TallyDb *db, const char *name, const char *unit, char token[TALLY_TOKEN_HEX + 1],
                                 char msg[TALLY_MSG_MAX])
{
    token[0] = '\0';
    if(!name_valid(name))
        return tally_set_msg(msg, TALLY_E_INVALID, "viewer name must be 1-%d bytes of UTF-8 text without control "
                       "characters / tên không hợp lệ", TALLY_NAME_MAX);
    TallyErr e;
    if(unit && *unit) {
        if(!proto_code_valid(unit))
            return tally_set_msg(msg, TALLY_E_INVALID, "unit code is malformed / mã đơn vị không hợp lệ");
        if((e = unit_exists(db, unit, msg)))
            return e;
        const char *const keys[] = {name, unit};
        e = issue_token(db, "INSERT INTO viewers(name, unit, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                        pg_enrol_viewer, keys, 2, "add viewer", token, msg);
    } else {
        const char *const keys[] = {name};
        e = issue_token(db, "INSERT INTO viewers(name, token_hash, created_at) VALUES (?1, ?2, ?3)",
                        pg_enrol_viewer, keys, 1, "add viewer", token, msg);
    }
    if(e == TALLY_E_EXISTS)
        return tally_set_msg(msg, e, "viewer %.70s already exists / người xem đã tồn tại", name);
    return e;
}

TallyErr tally_viewer_revoke(TallyDb *db, const char *name, char msg[TALLY_MSG_MAX])
{
    TallyErr e = revoke_row(db, true, "UPDATE viewers SET revoked_at = coalesce(revoked_at, ?2) WHERE name = ?1", name,
                            "revoke viewer", msg);
    if(e == TALLY_E_NOT_FOUND)
        return tally_set_msg(msg, e, "no viewer %.70s / không có người xem %.70s", name, name);
    /* Revocation ends every dashboard session of the viewer at once. */
    sqlite3_stmt *st;
    if(db->pg)
        return e;
    if(!e && prep(db, "DELETE FROM sessions WHERE viewer = ?1", &st) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if(sqlite3_step(st) != SQLITE_DONE)
            e = tally_db_fail(db, "end sessions", msg);
        sqlite3_finalize(st);
    } else if(!e) {
        e = tally_db_fail(db, "end sessions", msg);
    }
    return e;
}

/* Looks a token up: sql takes the token's hash as ?1 and selects "revoked_at IS NOT NULL" first, then the text
 * columns copied into col1 / col2 (PROTO_ID_MAX + 1 bytes each) where those are not NULL; viewer says which
 * table sql reads (PostgreSQL runs its own statement). A token of the wrong
 * length or matching no row is TALLY_AUTH_UNKNOWN; only a database failure is an error. */
static TallyErr auth_token(TallyDb *db, bool viewer, const char *sql, const char *token, TallyAuth *auth,
                           char *col1, char *col2, char msg[TALLY_MSG_MAX])
{
    *auth = TALLY_AUTH_UNKNOWN;
    if(strlen(token) != TALLY_TOKEN_HEX)
        return TALLY_OK;
    unsigned char h[HASH_LEN];
    hash_token(token, h);
    if(db->pg)
        return tally_pg_auth(db->pg, viewer, h, auth, col1, PROTO_ID_MAX + 1, col2,
                             PROTO_ID_MAX + 1, msg);
    sqlite3_stmt *st;
    if(prep(db, sql, &st))
        return tally_db_fail(db, "authenticate", msg);
    sqlite3_bind_blob(st, 1, h, HASH_LEN, SQLITE_STATIC);
    TallyErr e = TALLY_OK;
    int rc = sqlite3_step(st);
    if(rc == SQLITE_ROW) {
        if(col1)
            snprintf(col1, PROTO_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 1));
        if(col2)
            snprintf(col2, PROTO_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 2));
        *auth = sqlite3_column_int(st, 0) ? TALLY_AUTH_REVOKED : TALLY_AUTH_OK;
    } else if(rc != SQLITE_DONE) {
        e = tally_db_fail(db, "authenticate", msg);
    }
    sqlite3_finalize(st);
    return e;
}

TallyErr tally_auth_device(TallyDb *db, const char *token, TallyAuth *auth, char device_id[PROTO_ID_MAX + 1],
                           char unit[PROTO_ID_MAX + 1], char msg[TALLY_MSG_MAX])
{
    device_id[0] = unit[0] = '\0';
    return auth_token(db, false, "SELECT revoked_at IS NOT NULL, id, unit FROM devices WHERE token_hash = ?1", token, auth,
                      device_id, unit, msg);
}

TallyErr tally_auth_viewer(TallyDb *db, const char *token, TallyAuth *auth, char msg[TALLY_MSG_MAX])
{
    return auth_token(db, true, "SELECT revoked_at IS NOT NULL FROM viewers WHERE token_hash = ?1", token, auth, NULL,
                      NULL, msg);
}

TallyErr tally_auth_viewer_scope(TallyDb *db, const char *token, TallyAuth *auth, char name[TALLY_NAME_MAX + 1],
                                 char unit[PROTO_ID_MAX + 1], char msg[TALLY_MSG_MAX])
{
    char short_name[PROTO_ID_MAX + 1];
    name[0] = unit[0] = '\0';
    /* auth_token copies at most PROTO_ID_MAX bytes per column: the name is read again in full below. */
    TallyErr e = auth_token(db, true, "SELECT revoked_at IS NOT NULL, name, coalesce(unit, '') FROM viewers"
                                " WHERE token_hash = ?1", token, auth, short_name, unit, msg);
    if(e || *auth == TALLY_AUTH_UNKNOWN)
        return e;
    unsigned char h[HASH_LEN];
    hash_token(token, h);
    if(db->pg)
        return tally_pg_auth(db->pg, true, h, auth, name, TALLY_NAME_MAX + 1, unit, PROTO_ID_MAX + 1, msg);
    sqlite3_stmt *st;
    if(prep(db, "SELECT name FROM viewers WHERE token_hash = ?1", &st))
        return tally_db_fail(db, "authenticate", msg);
    sqlite3_bind_blob(st, 1, h, HASH_LEN, SQLITE_STATIC);
    if(sqlite3_step(st) == SQLITE_ROW)
        snprintf(name, TALLY_NAME_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return TALLY_OK;
}

TallyErr tally_unit_in_scope(TallyDb *db, const char *unit, const char *scope, bool *inside, char msg[TALLY_MSG_MAX])
{
    *inside = false;
    TallyErr e = unit_exists(db, unit, msg);
    if(e)
        return e;
    if(!scope || !*scope) {
        *inside = true;
        return TALLY_OK;
    }
    if(db->pg)
        return tally_pg_unit_in_scope(db->pg, unit, scope, inside, msg);
    sqlite3_stmt *st;
    /* Walk up from the unit (depth-capped like every tree walk here) looking for the scope. */
    if(prep(db,
            "WITH RECURSIVE up(code, depth) AS (SELECT ?1, 0"
            "  UNION ALL SELECT u.parent, up.depth + 1 FROM up JOIN units u ON u.code = up.code"
            "  WHERE u.parent IS NOT NULL AND up.depth < ?3)"
            "SELECT 1 FROM up WHERE code = ?2 LIMIT 1",
            &st))
        return tally_db_fail(db, "check scope", msg);
    sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, TREE_DEPTH_MAX);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if(rc != SQLITE_ROW && rc != SQLITE_DONE)
        return tally_db_fail(db, "check scope", msg);
    *inside = rc == SQLITE_ROW;
    return TALLY_OK;
}

TallyErr tally_unit_list(TallyDb *db, TallyUnit **out, size_t *n, char msg[TALLY_MSG_MAX])
{
    *out = NULL;
    *n = 0;
    if(db->pg)
        return tally_pg_unit_list(db->pg, out, n, msg);
    sqlite3_stmt *st;
    if(prep(db, "SELECT code, name, coalesce(parent, '') FROM units ORDER BY code", &st))
        return tally_db_fail(db, "read units", msg);
    size_t cap = 0;
    TallyUnit *u = NULL;
    TallyErr e = TALLY_OK;
    int rc;
    while((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if(*n == cap) {
            cap = cap ? cap * 2 : 256;
            TallyUnit *nu = realloc(u, cap * sizeof *nu);
            if(!nu) {
                e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
                break;
            }
            u = nu;
        }
        snprintf(u[*n].code, sizeof u[*n].code, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(u[*n].name, sizeof u[*n].name, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(u[*n].parent, sizeof u[*n].parent, "%s", (const char *)sqlite3_column_text(st, 2));
        (*n)++;
    }
    if(!e && rc != SQLITE_DONE)
        e = tally_db_fail(db, "read units", msg);
    sqlite3_finalize(st);
    if(e) {
        free(u);
        *n = 0;
        return e;
    }
    *out = u;
    return TALLY_OK;
}

TallyErr tally_db_ready(TallyDb *db, char msg[TALLY_MSG_MAX])
{
    return db->pg ? tally_pg_ready(db->pg, msg) : TALLY_OK;
}

TallyErr tally_db_probe_write(TallyDb *db, int64_t now, char msg[TALLY_MSG_MAX])
{
    if(db->pg)
        return tally_pg_probe_write(db->pg, now, msg);
    sqlite3_stmt *st;
    if(prep(db, "INSERT INTO health(id, probed_at) VALUES (1, ?1)"
                " ON CONFLICT(id) DO UPDATE SET probed_at = excluded.probed_at", &st))
        return tally_db_fail(db, "probe write", msg);
    sqlite3_bind_int64(st, 1, now);
    TallyErr e = sqlite3_step(st) == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "probe write", msg);
    sqlite3_finalize(st);
    return e;
}

TallyErr tally_db_read_begin(TallyDb *db, char msg[TALLY_MSG_MAX])
{
    if(db->pg)
        return tally_pg_read_begin(db->pg, msg);
    return exec_simple(db, "SAVEPOINT tally_read") ? TALLY_OK : tally_db_fail(db, "begin read", msg);
}

void tally_db_read_end(TallyDb *db)
{
    if(db->pg) {
        tally_pg_read_end(db->pg);
        return;
    }
    exec_simple(db, "RELEASE tally_read");
}

/* ---- Targets ---------------------------------------------------------------------------------------- */

TallyErr tally_targets_get(TallyDb *db, TallyTarget out[GROUP_COUNT], char msg[TALLY_MSG_MAX])
{
    for(int g = 0; g < GROUP_COUNT; g++)
        out[g].pct[0] = out[g].pct[1] = -1;
    if(db->pg)
        return tally_pg_targets_get(db->pg, out, msg);
    sqlite3_stmt *st;
    if(prep(db, "SELECT grp, milestone, pct FROM targets", &st))
        return tally_db_fail(db, "read targets", msg);
    int rc;
    while((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int g = proto_group_from_code((const char *)sqlite3_column_text(st, 0));
        int m = sqlite3_column_int(st, 1);
        if(g >= 0 && (m == 2025 || m == 2030))
            out[g].pct[m == 2030] = sqlite3_column_double(st, 2);
    }
    TallyErr e = rc == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "read targets", msg);
    sqlite3_finalize(st);
    return e;
}

TallyErr tally_target_set(TallyDb *db, ProtoGroup g, int milestone, double pct, char msg[TALLY_MSG_MAX])
{
    if((unsigned)g >= GROUP_COUNT)
        return tally_set_msg(msg, TALLY_E_NOT_FOUND, "unknown target group / nhóm chỉ tiêu không tồn tại");
    if(milestone != 2025 && milestone != 2030)
        return tally_set_msg(msg, TALLY_E_INVALID, "milestone must be 2025 or 2030 / mốc phải là 2025 hoặc 2030");
    if(!(pct > 0 && pct <= 100))
        return tally_set_msg(msg, TALLY_E_INVALID, "target must be a percentage in (0, 100] / chỉ tiêu phải trong "
                       "khoảng (0, 100]");
    if(db->pg)
        return tally_pg_target_set(db->pg, g, milestone, pct, msg);
    sqlite3_stmt *st;
    if(prep(db, "INSERT INTO targets(grp, milestone, pct) VALUES (?1, ?2, ?3)"
                " ON CONFLICT(grp, milestone) DO UPDATE SET pct = excluded.pct", &st))
        return tally_db_fail(db, "set target", msg);
    sqlite3_bind_text(st, 1, proto_group_code(g), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, milestone);
    sqlite3_bind_double(st, 3, pct);
    TallyErr e = sqlite3_step(st) == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "set target", msg);
    sqlite3_finalize(st);
    return e;
}

/* ---- Settings ----------------------------------------------------------------------------------------- */

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
static bool utf8_valid(const char *s)
{
    for(const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned c = *p, len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if(!len)
            return false;
        uint32_t cp = len == 1 ? c : c & (0x7Fu >> len);
        for(unsigned i = 1; i < len; i++) {
            if((p[i] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3Fu);
        }
        if((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
           (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += len;
    }
    return true;
}

TallyErr tally_setting_get(TallyDb *db, const char *key, char *out, size_t out_len, bool *found,
                           char msg[TALLY_MSG_MAX])
{
    *found = false;
    if(out_len)
        out[0] = '\0';
    if(db->pg)
        return tally_pg_setting_get(db->pg, key, out, out_len, found, msg);
    sqlite3_stmt *st;
    if(prep(db, "SELECT value FROM settings WHERE key = ?1", &st))
        return tally_db_fail(db, "read setting", msg);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if(rc == SQLITE_ROW) {
        *found = true;
        snprintf(out, out_len, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    TallyErr e = rc == SQLITE_ROW || rc == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "read setting", msg);
    sqlite3_finalize(st);
    return e;
}

TallyErr tally_setting_set(TallyDb *db, const char *key, const char *value, char msg[TALLY_MSG_MAX])
{
    sqlite3_stmt *st;
    if(value && (strlen(value) > TALLY_SETTING_MAX || !name_valid(value) || !utf8_valid(value)))
        return tally_set_msg(msg, TALLY_E_INVALID, "a setting is 1-%d bytes of UTF-8 text without control characters / "
                       "giá trị cài đặt không hợp lệ", TALLY_SETTING_MAX);
    if(db->pg)
        return tally_pg_setting_set(db->pg, key, value, msg);
    if(prep(db, value ? "INSERT INTO settings(key, value) VALUES (?1, ?2)"
                        " ON CONFLICT(key) DO UPDATE SET value = excluded.value"
                      : "DELETE FROM settings WHERE key = ?1", &st))
        return tally_db_fail(db, "write setting", msg);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if(value)
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    TallyErr e = sqlite3_step(st) == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "write setting", msg);
    sqlite3_finalize(st);
    return e;
}

TallyErr tally_db_mark_restored(TallyDb *db, int64_t *epoch, int64_t *since, char msg[TALLY_MSG_MAX])
{
    uint64_t r;
    randombytes_buf(&r, sizeof r);
    *epoch = (int64_t)(r >> 1) | 1; /* positive and never 0 (0 = "never restored") */
    *since = 0;
    if(db->pg)
        return tally_pg_mark_restored(db->pg, *epoch, since, msg);
    sqlite3_stmt *st;
    if(sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return tally_db_fail(db, "begin", msg);
    TallyErr e = TALLY_OK;
    if(prep(db, "SELECT coalesce(max(received_at), 0) FROM ratings", &st))
        e = tally_db_fail(db, "read the newest rating", msg);
    else {
        if(sqlite3_step(st) == SQLITE_ROW)
            *since = sqlite3_column_int64(st, 0);
        else
            e = tally_db_fail(db, "read the newest rating", msg);
        sqlite3_finalize(st);
    }
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)*epoch);
    if(!e)
        e = tally_setting_set(db, TALLY_SETTING_RESTORE_EPOCH, v, msg);
    snprintf(v, sizeof v, "%lld", (long long)*since);
    if(!e)
        e = tally_setting_set(db, TALLY_SETTING_RESTORE_SINCE, v, msg);
    if(!e && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        e = tally_db_fail(db, "commit", msg);
    if(e)
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

TallyErr tally_db_restored(TallyDb *db, int64_t *epoch, int64_t *since, char msg[TALLY_MSG_MAX])
{
    char v[TALLY_SETTING_MAX + 1];
    bool found;
    *epoch = *since = 0;
    TallyErr e = tally_setting_get(db, TALLY_SETTING_RESTORE_EPOCH, v, sizeof v, &found, msg);
    if(e || !found)
        return e;
    int64_t ep = strtoll(v, NULL, 10);
    if((e = tally_setting_get(db, TALLY_SETTING_RESTORE_SINCE, v, sizeof v, &found, msg)))
        return e;
    if(ep > 0) {
        *epoch = ep;
        *since = found ? strtoll(v, NULL, 10) : 0;
    }
    return TALLY_OK;
}
