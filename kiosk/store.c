/* store.c — the kiosk's local rating store on one SQLite file. See store.h and docs/internals/store.md.
 *
 * Start reading at store_open(): open, pragmas, quick_check, migrate, prepare. Every public write runs in one
 * BEGIN IMMEDIATE … COMMIT through tx_begin()/tx_end(); on any failure tx_end() rolls back, so the file is
 * left exactly as it was before the call. All SQL is constant text with bound parameters, prepared once at
 * open (SQLITE_PREPARE_PERSISTENT) and reset after every use. */
#include "kiosk/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define STORE_APP_ID 0x4B534154 /* "KSAT" in the file header: tells our file from any other SQLite file */
#define STORE_MSG_MAX 512

/* ---- Schema ------------------------------------------------------------------------------------------ */

/* Migration i takes user_version i to i + 1. Append new steps; never edit a released one. Each step sets
 * its own user_version so the number always matches the tables, and all steps run in the one transaction
 * opened by migrate(). */
static const char *const MIGRATIONS[] = {
    /* v1: ratings, the seq counter, sync status and the "sync now" request. */
    "CREATE TABLE meta("
    "  key   TEXT PRIMARY KEY NOT NULL,"
    "  value INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO meta(key, value) VALUES('last_seq', 0);"
    "CREATE TABLE rating("
    "  id            TEXT PRIMARY KEY NOT NULL CHECK(length(id) = 36),"
    "  seq           INTEGER NOT NULL UNIQUE CHECK(seq >= 1),"
    "  unit          TEXT NOT NULL,"
    "  area          TEXT NOT NULL,"
    "  scale         TEXT NOT NULL,"
    "  score         INTEGER NOT NULL,"
    "  reasons       INTEGER NOT NULL DEFAULT 0,"
    "  followup      TEXT NOT NULL,"
    "  at            TEXT NOT NULL,"
    "  at_unix       INTEGER NOT NULL,"
    "  vn_day        INTEGER NOT NULL,"
    "  flags         INTEGER NOT NULL DEFAULT 0,"
    "  state         TEXT NOT NULL DEFAULT 'pending' CHECK(state IN ('pending', 'acked', 'rejected')),"
    "  reject_reason TEXT,"
    "  acked_at      INTEGER,"
    "  rejected_at   INTEGER"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX rating_at ON rating(at_unix);"
    "CREATE INDEX rating_pending ON rating(seq) WHERE state = 'pending';"
    "CREATE INDEX rating_acked ON rating(acked_at) WHERE state = 'acked';"
    "CREATE INDEX rating_rejected ON rating(rejected_at) WHERE state = 'rejected';"
    "CREATE TABLE sync_status("
    "  one           INTEGER PRIMARY KEY CHECK(one = 1),"
    "  last_attempt  INTEGER NOT NULL,"
    "  last_success  INTEGER NOT NULL,"
    "  last_error    TEXT NOT NULL,"
    "  next_attempt  INTEGER NOT NULL,"
    "  failures      INTEGER NOT NULL,"
    "  clock_skew_s  INTEGER NOT NULL,"
    "  clock_warning TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE sync_request("
    "  one          INTEGER PRIMARY KEY CHECK(one = 1),"
    "  requested_at INTEGER NOT NULL"
    ") STRICT;"
    "PRAGMA application_id = 1263747412;" /* STORE_APP_ID */
    "PRAGMA user_version = 1;",
    /* v2: what the uploader acknowledges is the content it sent (rev), holds for an open follow-up screen,
     * and pruning by the rating's age. */
    "ALTER TABLE rating ADD COLUMN rev INTEGER NOT NULL DEFAULT 1 CHECK(rev >= 1);"
    "ALTER TABLE rating ADD COLUMN followup_open INTEGER NOT NULL DEFAULT 0 CHECK(followup_open IN (0, 1));"
    "DROP INDEX rating_acked;"
    "CREATE INDEX rating_acked_at ON rating(at_unix) WHERE state = 'acked';"
    "INSERT INTO meta(key, value) VALUES('pruned_before_day', 0);"
    "PRAGMA user_version = 2;",
    /* v3: the answers of the counter's later questions (protocol schema 2), NULL when not asked or not
     * answered: the service face (on the rating's scale), who is rating, how long they waited. */
    "ALTER TABLE rating ADD COLUMN service_score INTEGER CHECK(service_score IS NULL OR service_score >= 1);"
    "ALTER TABLE rating ADD COLUMN respondent TEXT;"
    "ALTER TABLE rating ADD COLUMN wait TEXT;"
    "PRAGMA user_version = 3;",
};
#define STORE_SCHEMA_VERSION ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

#define RATING_COLS "id, seq, unit, area, scale, score, reasons, followup, at, flags, service_score, respondent, wait"
#define RATING_NCOLS 13

#define STORE_PRUNE_CHUNK 500           /* rows deleted per transaction: the kiosk never waits long for the lock */
#define STORE_VACUUM_STEP_PAGES "256"   /* pages handed back per incremental_vacuum transaction (1 MiB) */
#define STORE_VACUUM_STEPS_MAX 100000   /* a bound on that loop */

/* Held for an open follow-up screen: marked open, and made within STORE_HOLD_MAX_S of now: ?1 = now - max,
 * ?3 = now + max (a mark left by an app that stopped, seen after a clock jump, must not hold for ever). */
#define HELD "followup_open = 1 AND at_unix > ?1 AND at_unix < ?3"

enum {
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
    Q_SEQ_NEXT, Q_INSERT, Q_GET, Q_SET_ANSWERS, Q_SET_OPEN, Q_CLOSE_FOLLOWUPS,
    Q_DAY, Q_COUNTS, Q_BACKLOG, Q_PENDING, Q_QUEUE, Q_HELD, Q_ACK, Q_STILL_PENDING, Q_REJECT, Q_REJECTED,
    Q_PRUNE, Q_PRUNED_PUT, Q_HISTORY, Q_RECENT,
    Q_STATUS_GET, Q_STATUS_PUT, Q_REQ_PUT, Q_REQ_GET, Q_REQ_CLEAR,
    Q_EPOCH_GET, Q_EPOCH_PUT, Q_REQUEUE,
    Q_COUNT
};

static const char *const SQL[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SEQ_NEXT] = "UPDATE meta SET value = value + 1 WHERE key = 'last_seq' RETURNING value",
    [Q_INSERT] = "INSERT INTO rating(id, seq, unit, area, scale, score, reasons, followup, at, at_unix, vn_day, flags,"
                 " followup_open, service_score, respondent, wait)"
                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [Q_GET] = "SELECT " RATING_COLS " FROM rating WHERE id = ?1",
    /* New answers are new content (rev + 1); an acknowledged rating goes back to the queue to send them. */
    [Q_SET_ANSWERS] = "UPDATE rating SET followup = ?2, reasons = ?3, service_score = ?4, respondent = ?5, wait = ?6,"
                      " followup_open = ?7, rev = rev + 1,"
                      " state = CASE state WHEN 'acked' THEN 'pending' ELSE state END,"
                      " acked_at = CASE state WHEN 'acked' THEN NULL ELSE acked_at END"
                      " WHERE id = ?1",
    [Q_SET_OPEN] = "UPDATE rating SET followup_open = ?2 WHERE id = ?1",
    [Q_CLOSE_FOLLOWUPS] = "UPDATE rating SET followup_open = 0 WHERE followup_open = 1",
    /* The VN day of at_unix is [day_start, day_start + 86400): a range on the at_unix index. */
    [Q_DAY] = "SELECT area, scale, score, flags != 0, service_score, wait, count(*) FROM rating"
              " WHERE at_unix >= ?1 AND at_unix < ?2 GROUP BY 1, 2, 3, 4, 5, 6",
    /* Each count matches a partial index exactly, so none of them scans the table. */
    [Q_COUNTS] = "SELECT (SELECT count(*) FROM rating WHERE state = 'pending'),"
                 " (SELECT count(*) FROM rating WHERE state = 'acked'),"
                 " (SELECT count(*) FROM rating WHERE state = 'rejected')",
    [Q_BACKLOG] = "SELECT (SELECT count(*) FROM rating WHERE state = 'pending'),"
                  " (SELECT count(*) FROM rating WHERE state = 'rejected')",
    [Q_PENDING] = "SELECT " RATING_COLS " FROM rating WHERE state = 'pending' ORDER BY seq LIMIT ?1",
    [Q_QUEUE] = "SELECT " RATING_COLS ", rev FROM rating WHERE state = 'pending' AND NOT (" HELD ")"
                " ORDER BY seq LIMIT ?2",
    [Q_HELD] = "SELECT count(*) FROM rating WHERE state = 'pending' AND " HELD " AND at_unix < ?2",
    /* Acknowledge only the content that was sent: a rating changed since (rev moved on) stays pending. */
    [Q_ACK] = "UPDATE rating SET state = 'acked', acked_at = ?3 WHERE id = ?1 AND rev = ?2 AND state = 'pending'",
    [Q_STILL_PENDING] = "SELECT count(*) FROM rating WHERE id = ?1 AND state = 'pending'",
    [Q_REJECT] = "UPDATE rating SET state = 'rejected', reject_reason = ?3, rejected_at = ?4"
                 " WHERE id = ?1 AND rev = ?2 AND state = 'pending'",
    [Q_REJECTED] = "SELECT id, reject_reason, seq, at, area, scale, score, rejected_at FROM rating"
                   " WHERE state = 'rejected' ORDER BY rejected_at DESC, seq DESC LIMIT ?1",
    /* One small transaction's worth, oldest first, on the partial index of acknowledged ratings. */
    [Q_PRUNE] = "DELETE FROM rating WHERE id IN (SELECT id FROM rating WHERE state = 'acked' AND at_unix < ?1"
                " ORDER BY at_unix LIMIT ?2)",
    [Q_PRUNED_PUT] = "INSERT INTO meta(key, value) VALUES('pruned_before_day', ?1)"
                     " ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
    [Q_HISTORY] = "SELECT (SELECT value FROM meta WHERE key = 'pruned_before_day'), (SELECT min(at_unix) FROM rating)",
    [Q_RECENT] = "SELECT (SELECT max(at_unix) FROM rating), (SELECT count(*) FROM rating WHERE at_unix >= ?1)",
    [Q_STATUS_GET] = "SELECT last_attempt, last_success, last_error, next_attempt, failures, clock_skew_s,"
                     " clock_warning FROM sync_status WHERE one = 1",
    [Q_STATUS_PUT] = "INSERT OR REPLACE INTO sync_status(one, last_attempt, last_success, last_error, next_attempt,"
                     " failures, clock_skew_s, clock_warning) VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_REQ_PUT] = "INSERT INTO sync_request(one, requested_at) VALUES(1, ?1)"
                  " ON CONFLICT(one) DO UPDATE SET requested_at = max(requested_at, excluded.requested_at)",
    [Q_REQ_GET] = "SELECT requested_at FROM sync_request WHERE one = 1",
    [Q_REQ_CLEAR] = "DELETE FROM sync_request WHERE requested_at <= ?1",
    [Q_EPOCH_GET] = "SELECT value FROM meta WHERE key = 'server_restore_epoch'",
    [Q_EPOCH_PUT] = "INSERT INTO meta(key, value) VALUES('server_restore_epoch', ?1)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    /* The server's clock dates since, ours acked_at: a day's margin covers a wrong kiosk clock, and a rating
     * made since then is sent again whatever its acknowledgement time says. */
    [Q_REQUEUE] = "UPDATE rating SET state = 'pending', acked_at = NULL"
                  " WHERE state = 'acked' AND (acked_at >= ?1 - 86400 OR at_unix >= ?1 - 86400)",
};

struct Store {
    sqlite3      *db;
    sqlite3_stmt *q[Q_COUNT];
    char          msg[STORE_MSG_MAX];
};

/* ---- Errors ------------------------------------------------------------------------------------------ */

static StoreErr setmsg(Store *s, StoreErr e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static StoreErr setmsg(Store *s, StoreErr e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    return e;
}

/* The StoreErr for an SQLite result code; errno (from the VFS) tells a full disk or a read-only file system
 * from other I/O failures when SQLite only says "I/O error" or "cannot open". */
static StoreErr map_rc(int rc, int sys_errno)
{
    switch(rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return STORE_OK;
    case SQLITE_FULL:
        return STORE_FULL;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return STORE_READONLY;
    case SQLITE_CANTOPEN:
        return (sys_errno == EACCES || sys_errno == EPERM || sys_errno == EROFS) ? STORE_READONLY : STORE_IO;
    case SQLITE_IOERR:
        if(sys_errno == ENOSPC || sys_errno == EDQUOT)
            return STORE_FULL;
        if(sys_errno == EROFS || sys_errno == EACCES || sys_errno == EPERM)
            return STORE_READONLY;
        return STORE_IO;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return STORE_CORRUPT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return STORE_BUSY;
    case SQLITE_NOMEM:
        return STORE_NOMEM;
    case SQLITE_CONSTRAINT:
        return STORE_INVALID;
    default:
        return STORE_IO;
    }
}

/* Records a failed SQLite call: maps rc and keeps SQLite's message (read before any rollback replaces it). */
static StoreErr fail_rc(Store *s, int rc, const char *what)
{
    int eno = sqlite3_system_errno(s->db);
    StoreErr e = map_rc(rc, eno);
    if(eno && (rc & 0xff) != SQLITE_CONSTRAINT)
        setmsg(s, e, "%s: %s (sqlite %d, %s)", what, sqlite3_errmsg(s->db), rc, strerror(eno));
    else
        setmsg(s, e, "%s: %s (sqlite %d)", what, sqlite3_errmsg(s->db), rc);
    return e;
}

/* ---- Statements and transactions --------------------------------------------------------------------- */

static sqlite3_stmt *stmt(Store *s, int q)
{
    sqlite3_stmt *st = s->q[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Runs a statement that returns no rows (or whose rows are not needed) and resets it. */
static StoreErr run(Store *s, sqlite3_stmt *st, const char *what)
{
    int rc;
    while((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    StoreErr e = rc == SQLITE_DONE ? STORE_OK : fail_rc(s, rc, what);
    sqlite3_reset(st);
    return e;
}

static StoreErr tx_begin(Store *s)
{
    return run(s, stmt(s, Q_BEGIN), "begin transaction");
}

/* Commits when e is STORE_OK; otherwise (or when the commit fails) rolls back. Returns the final result.
 * After this returns, no transaction is open on s. */
static StoreErr tx_end(Store *s, StoreErr e)
{
    if(!e)
        e = run(s, stmt(s, Q_COMMIT), "commit");
    if(!sqlite3_get_autocommit(s->db)) {
        /* Keep the message of the failure that made us roll back. */
        char keep[STORE_MSG_MAX];
        memcpy(keep, s->msg, sizeof keep);
        run(s, stmt(s, Q_ROLLBACK), "rollback");
        memcpy(s->msg, keep, sizeof keep);
    }
    return e;
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Fills *r from columns RATING_COLS starting at column 0. STORE_CORRUPT when a stored value cannot be a
 * rating (only a foreign writer could have put it there). */
static StoreErr row_rating(Store *s, sqlite3_stmt *st, ProtoRating *r)
{
    const unsigned char *id = sqlite3_column_text(st, 0), *unit = sqlite3_column_text(st, 2),
                        *at = sqlite3_column_text(st, 8);
    int area = proto_area_from_code((const char *)sqlite3_column_text(st, 3));
    int scale = proto_scale_from_code((const char *)sqlite3_column_text(st, 4));
    int fu = proto_followup_from_code((const char *)sqlite3_column_text(st, 7));
    /* The later answers: NULL when not asked or not answered. */
    bool has_resp = sqlite3_column_type(st, 11) != SQLITE_NULL, has_wait = sqlite3_column_type(st, 12) != SQLITE_NULL;
    int resp = has_resp ? proto_respondent_from_code((const char *)sqlite3_column_text(st, 11)) : RESPONDENT_NONE;
    int wait = has_wait ? proto_wait_from_code((const char *)sqlite3_column_text(st, 12)) : WAIT_NONE;
    memset(r, 0, sizeof *r);
    if(!id || !unit || !at || area < 0 || scale < 0 || fu < 0 || resp < 0 || wait < 0 ||
       strlen((const char *)id) >= sizeof r->id ||
       strlen((const char *)unit) >= sizeof r->unit || strlen((const char *)at) >= sizeof r->at)
        return setmsg(s, STORE_CORRUPT, "a stored rating has an impossible value (id %s)",
                      id ? (const char *)id : "?");
    copy_text(r->id, sizeof r->id, id);
    r->seq = sqlite3_column_int64(st, 1);
    copy_text(r->unit, sizeof r->unit, unit);
    r->area = (ProtoArea)area;
    r->scale = (ProtoScale)scale;
    r->score = sqlite3_column_int(st, 5);
    r->reasons = (uint32_t)sqlite3_column_int64(st, 6);
    r->followup = (ProtoFollowup)fu;
    copy_text(r->at, sizeof r->at, at);
    r->flags = (uint32_t)sqlite3_column_int64(st, 9);
    r->service_score = sqlite3_column_int(st, 10); /* NULL reads as 0: not answered */
    r->respondent = (ProtoRespondent)resp;
    r->wait = (ProtoWait)wait;
    return STORE_OK;
}

/* Binds an answer code as text, or NULL when it is not answered. */
static void bind_code(sqlite3_stmt *st, int i, const char *code)
{
    if(code)
        sqlite3_bind_text(st, i, code, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_later_answers(sqlite3_stmt *st, int first, const ProtoRating *r)
{
    if(r->service_score)
        sqlite3_bind_int(st, first, r->service_score);
    else
        sqlite3_bind_null(st, first);
    bind_code(st, first + 1, proto_respondent_code(r->respondent));
    bind_code(st, first + 2, proto_wait_code(r->wait));
}

/* ---- Open and close ---------------------------------------------------------------------------------- */

static StoreErr exec(Store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : fail_rc(s, rc, what);
}

/* Runs a one-row pragma and copies its first column as text. */
static StoreErr pragma_text(Store *s, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if(rc != SQLITE_OK)
        return fail_rc(s, rc, sql);
    rc = sqlite3_step(st);
    if(rc == SQLITE_ROW)
        copy_text(out, cap, sqlite3_column_text(st, 0));
    StoreErr e = rc == SQLITE_ROW ? STORE_OK : fail_rc(s, rc, sql);
    sqlite3_finalize(st);
    return e;
}

static StoreErr pragma_int(Store *s, const char *sql, int64_t *out)
{
    char buf[32];
    StoreErr e = pragma_text(s, sql, buf, sizeof buf);
    if(!e)
        *out = strtoll(buf, NULL, 10);
    return e;
}

/* Brings the schema to STORE_SCHEMA_VERSION inside one IMMEDIATE transaction, so a second process opening
 * the same new file waits and then finds the work done. */
static StoreErr migrate(Store *s)
{
    int64_t version = 0, app_id = 0, objects = 0;
    /* Already current (every open but the first): no need to take the write lock from the other process. */
    StoreErr e = pragma_int(s, "PRAGMA user_version", &version);
    if(!e)
        e = pragma_int(s, "PRAGMA application_id", &app_id);
    if(e || (version == STORE_SCHEMA_VERSION && app_id == STORE_APP_ID))
        return e;
    if((e = exec(s, "BEGIN IMMEDIATE", "begin migration")))
        return e;
    if((e = pragma_int(s, "PRAGMA user_version", &version)) || (e = pragma_int(s, "PRAGMA application_id", &app_id)) ||
       (e = pragma_int(s, "SELECT count(*) FROM sqlite_schema", &objects)))
        goto out;
    if(app_id != 0 && app_id != STORE_APP_ID) {
        e = setmsg(s, STORE_CORRUPT, "not a kiosk store: the file belongs to another application (id %lld)",
                   (long long)app_id);
        goto out;
    }
    if(version == 0 && objects > 0) {
        e = setmsg(s, STORE_CORRUPT, "not a kiosk store: an SQLite file with other tables");
        goto out;
    }
    if(version > STORE_SCHEMA_VERSION) {
        e = setmsg(s, STORE_IO, "store schema version %lld is newer than this program's (%d): upgrade the program",
                   (long long)version, STORE_SCHEMA_VERSION);
        goto out;
    }
    for(int64_t v = version; v < STORE_SCHEMA_VERSION && !e; v++)
        e = exec(s, MIGRATIONS[v], "migrate schema");
out:
    if(!e)
        e = exec(s, "COMMIT", "commit migration");
    if(!sqlite3_get_autocommit(s->db)) {
        char keep[STORE_MSG_MAX];
        memcpy(keep, s->msg, sizeof keep);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        memcpy(s->msg, keep, sizeof keep);
    }
    return e;
}

/* SQLite retries a failed create read-only and reports that second failure (ENOENT); ask the folder. */
static bool folder_writable(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if(!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    return access(dir, W_OK) == 0 || (errno != EROFS && errno != EACCES && errno != EPERM);
}

static StoreErr open_db(Store *s, const char *path)
{
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if(rc != SQLITE_OK) {
        if(!s->db)
            return setmsg(s, STORE_NOMEM, "cannot open %s: out of memory", path);
        StoreErr e = fail_rc(s, rc, "open");
        if(e == STORE_IO && (rc & 0xff) == SQLITE_CANTOPEN && !folder_writable(path))
            e = setmsg(s, STORE_READONLY, "cannot create the file: its folder is read-only (%s)", strerror(errno));
        return e;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* SQLite silently opens a file it may not write read-only; a kiosk that cannot store must say so now. */
    if(sqlite3_db_readonly(s->db, "main") == 1)
        return setmsg(s, STORE_READONLY, "the file or its folder is read-only");
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

    /* A new file gets incremental auto-vacuum, so pruning can hand space back (store_prune); it only takes
     * before the first table and before WAL mode is set. On an older file it changes nothing. */
    StoreErr e = exec(s, "PRAGMA auto_vacuum = INCREMENTAL", "set auto_vacuum");
    if(e)
        return e;
    char mode[16] = "";
    e = pragma_text(s, "PRAGMA journal_mode = WAL", mode, sizeof mode);
    if(e)
        return e;
    if(strcmp(mode, "wal") != 0)
        return setmsg(s, STORE_IO, "cannot switch to WAL journal (got \"%s\")", mode);
    /* FULL: the WAL is synced at every commit, so a rating survives a power cut once store_add returns.
     * journal_size_limit: the WAL shrinks back to 4 MiB after a checkpoint instead of keeping its peak. */
    if((e = exec(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;"
                    "PRAGMA journal_size_limit = 4194304", "set pragmas")))
        return e;

    char check[STORE_MSG_MAX - 64] = "";
    if((e = pragma_text(s, "PRAGMA quick_check", check, sizeof check)))
        return e;
    if(strcmp(check, "ok") != 0)
        return setmsg(s, STORE_CORRUPT, "integrity check failed: %s", check);

    if((e = migrate(s)))
        return e;
    for(int i = 0; i < Q_COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);
        if(rc != SQLITE_OK)
            return fail_rc(s, rc, "prepare statement");
    }
    return STORE_OK;
}

StoreErr store_open(const char *path, Store **out, char *msg, size_t msg_len)
{
    if(out)
        *out = NULL;
    if(!path || !*path || !out) {
        if(msg && msg_len)
            snprintf(msg, msg_len, "store_open: no path given");
        return STORE_INVALID;
    }
    Store *s = calloc(1, sizeof *s);
    if(!s) {
        if(msg && msg_len)
            snprintf(msg, msg_len, "store_open %s: out of memory", path);
        return STORE_NOMEM;
    }
    StoreErr e = open_db(s, path);
    if(e) {
        if(msg && msg_len)
            snprintf(msg, msg_len, "store %s: %s", path, s->msg);
        store_close(s);
        return e;
    }
    if(msg && msg_len)
        msg[0] = '\0';
    *out = s;
    return STORE_OK;
}

void store_close(Store *s)
{
    if(!s)
        return;
    for(int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db); /* all statements are finalized, so this closes (and checkpoints when last) */
    free(s);
}

const char *store_errmsg(const Store *s)
{
    return s ? s->msg : "no store";
}

/* ---- Ratings ----------------------------------------------------------------------------------------- */

static StoreErr add_one(Store *s, const ProtoRating *r, bool followup_open, int64_t *seq_out)
{
    ProtoRating v = *r;
    ProtoError pe;
    char canon[UUID_TEXT_LEN];
    int64_t at_unix, seq = 0;
    int off;

    /* The store assigns seq, so the caller's value does not matter for validation. */
    v.seq = 1;
    if(proto_rating_validate(&v, &pe) != PROTO_OK)
        return setmsg(s, STORE_INVALID, "rating refused, nothing stored: %s (%s)", pe.msg, pe.field);
    uuid_parse(v.id, canon);
    ptime_parse(v.at, &at_unix, &off);

    sqlite3_stmt *st = stmt(s, Q_SEQ_NEXT);
    int rc = sqlite3_step(st);
    if(rc == SQLITE_ROW)
        seq = sqlite3_column_int64(st, 0);
    StoreErr e = rc == SQLITE_ROW ? STORE_OK : fail_rc(s, rc, "next seq");
    if(!e && (rc = sqlite3_step(st)) != SQLITE_DONE)
        e = fail_rc(s, rc, "next seq");
    sqlite3_reset(st);
    if(e)
        return e;
    if(seq < 1)
        return setmsg(s, STORE_CORRUPT, "the seq counter is missing");

    st = stmt(s, Q_INSERT);
    sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_text(st, 3, v.unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, proto_area_code(v.area), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, proto_scale_code(v.scale), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, v.score);
    sqlite3_bind_int64(st, 7, v.reasons);
    sqlite3_bind_text(st, 8, proto_followup_code(v.followup), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, v.at, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, at_unix);
    sqlite3_bind_int64(st, 11, ptime_vn_day(at_unix));
    sqlite3_bind_int64(st, 12, v.flags);
    sqlite3_bind_int(st, 13, followup_open);
    bind_later_answers(st, 14, &v);
    rc = sqlite3_step(st);
    if(rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        e = setmsg(s, STORE_INVALID, "a rating with id %s is already stored; nothing changed", canon);
    else if(rc != SQLITE_DONE)
        e = fail_rc(s, rc, "insert rating");
    sqlite3_reset(st);
    if(!e)
        *seq_out = seq;
    return e;
}

static StoreErr add(Store *s, ProtoRating *r, bool followup_open)
{
    if(!s)
        return STORE_INVALID;
    if(!r)
        return setmsg(s, STORE_INVALID, "store_add: no rating");
    int64_t seq = 0;
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    e = tx_end(s, add_one(s, r, followup_open, &seq));
    if(!e) {
        char canon[UUID_TEXT_LEN];
        uuid_parse(r->id, canon);
        memcpy(r->id, canon, sizeof canon);
        r->seq = seq;
    }
    return e;
}

StoreErr store_add(Store *s, ProtoRating *r) { return add(s, r, false); }
StoreErr store_add_asking(Store *s, ProtoRating *r) { return add(s, r, true); }

StoreErr store_add_many(Store *s, ProtoRating *r, size_t n)
{
    if(!s)
        return STORE_INVALID;
    if(!r && n)
        return setmsg(s, STORE_INVALID, "store_add_many: no ratings");
    int64_t *seq = calloc(n ? n : 1, sizeof *seq);
    if(!seq)
        return setmsg(s, STORE_NOMEM, "store_add_many: out of memory");
    StoreErr e = tx_begin(s);
    if(!e) {
        for(size_t i = 0; i < n && !e; i++)
            if((e = add_one(s, &r[i], false, &seq[i]))) {
                char why[STORE_MSG_MAX];
                memcpy(why, s->msg, sizeof why);
                setmsg(s, e, "rating %zu of %zu: %.*s", i + 1, n, STORE_MSG_MAX - 64, why);
            }
        e = tx_end(s, e);
    }
    if(!e)
        for(size_t i = 0; i < n; i++) {
            char canon[UUID_TEXT_LEN];
            uuid_parse(r[i].id, canon);
            memcpy(r[i].id, canon, sizeof canon);
            r[i].seq = seq[i];
        }
    free(seq);
    return e;
}

/* Canonical (lower-case) form of an id given to a lookup; false when it is no UUID at all. */
static bool canon_id(const char *id, char out[UUID_TEXT_LEN])
{
    return id && uuid_parse(id, out);
}

/* Saves the answers `apply` gives the stored rating `id` (one transaction). New answers are new content (rev
 * + 1; an acknowledged rating is pending again); an answer given once never changes (proto_rating_revision:
 * only a copy that gains answers is newer). A call that adds nothing only sets the hold (more), unless
 * must_gain says an answer must come with it. */
static StoreErr set_answers(Store *s, const char *id, void (*apply)(ProtoRating *r, const void *arg),
                            const void *arg, bool more, bool must_gain)
{
    char canon[UUID_TEXT_LEN];
    if(!canon_id(id, canon))
        return setmsg(s, STORE_INVALID, "save answers: \"%.40s\" is not a UUID", id ? id : "(null)");
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    ProtoRating stored, r;
    sqlite3_stmt *st = stmt(s, Q_GET);
    sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if(rc == SQLITE_ROW)
        e = row_rating(s, st, &stored);
    else if(rc == SQLITE_DONE)
        e = setmsg(s, STORE_NOTFOUND, "no rating with id %s", canon);
    else
        e = fail_rc(s, rc, "read rating");
    sqlite3_reset(st);
    ProtoRevision rev = PROTO_REV_SAME;
    if(!e) {
        r = stored;
        apply(&r, arg);
        rev = proto_rating_revision(&stored, &r);
        ProtoError pe;
        if(rev == PROTO_REV_OLDER || rev == PROTO_REV_CONFLICT || (rev == PROTO_REV_SAME && must_gain))
            e = setmsg(s, STORE_INVALID, "rating %s already has that answer (follow-up %s); an answer is given once",
                       canon, proto_followup_code(stored.followup));
        else if(proto_rating_validate(&r, &pe) != PROTO_OK)
            e = setmsg(s, STORE_INVALID, "answers refused, nothing changed: %s (%s)", pe.msg, pe.field);
    }
    if(!e && rev == PROTO_REV_GAINS) {
        st = stmt(s, Q_SET_ANSWERS);
        sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, proto_followup_code(r.followup), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, r.reasons);
        bind_later_answers(st, 4, &r);
        sqlite3_bind_int(st, 7, more);
        e = run(s, st, "save answers");
    } else if(!e) { /* nothing new: only whether more questions are still on screen */
        st = stmt(s, Q_SET_OPEN);
        sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, more);
        e = run(s, st, "close questions");
    }
    return tx_end(s, e);
}

typedef struct {
    ProtoFollowup f;
    uint32_t reasons;
} Followup;

static void apply_followup(ProtoRating *r, const void *arg)
{
    const Followup *fu = arg;
    r->followup = fu->f;
    r->reasons = fu->reasons;
}

StoreErr store_set_followup(Store *s, const char *id, ProtoFollowup f, uint32_t reasons)
{
    if(!s)
        return STORE_INVALID;
    if(f == FOLLOWUP_NONE)
        return setmsg(s, STORE_INVALID, "set follow-up: \"none\" is no answer");
    Followup fu = {f, reasons};
    return set_answers(s, id, apply_followup, &fu, false, true);
}

static void apply_answers(ProtoRating *r, const void *arg) { proto_rating_copy_answers(r, arg); }

StoreErr store_set_answers(Store *s, const ProtoRating *answered, bool more)
{
    if(!s)
        return STORE_INVALID;
    if(!answered)
        return setmsg(s, STORE_INVALID, "save answers: no rating");
    return set_answers(s, answered->id, apply_answers, answered, more, false);
}

StoreErr store_followups_closed(Store *s)
{
    if(!s)
        return STORE_INVALID;
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    return tx_end(s, run(s, stmt(s, Q_CLOSE_FOLLOWUPS), "close follow-ups"));
}

StoreErr store_day_totals(Store *s, int64_t day, StoreDayTotals *out)
{
    if(!s)
        return STORE_INVALID;
    if(!out)
        return setmsg(s, STORE_INVALID, "store_day_totals: no output");
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = stmt(s, Q_DAY);
    sqlite3_bind_int64(st, 1, ptime_vn_day_start(day));
    sqlite3_bind_int64(st, 2, ptime_vn_day_start(day + 1));
    StoreErr e = STORE_OK;
    int rc = SQLITE_DONE;
    while(!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int a = proto_area_from_code((const char *)sqlite3_column_text(st, 0));
        int sc = proto_scale_from_code((const char *)sqlite3_column_text(st, 1));
        int score = sqlite3_column_int(st, 2);
        int flagged = sqlite3_column_int(st, 3);
        int service = sqlite3_column_int(st, 4); /* NULL: 0 */
        int wait = sqlite3_column_type(st, 5) == SQLITE_NULL ? WAIT_NONE
                                                            : proto_wait_from_code((const char *)sqlite3_column_text(st, 5));
        int64_t c = sqlite3_column_int64(st, 6);
        if(a < 0 || sc < 0 || wait < 0 || !proto_score_valid((ProtoScale)sc, score) ||
           (service && !proto_score_valid((ProtoScale)sc, service))) {
            e = setmsg(s, STORE_CORRUPT, "a stored rating has an impossible area, scale, score or answer");
            break;
        }
        if(flagged) {
            out->flagged[a] += c;
            out->total_flagged += c;
            continue;
        }
        if(service) { /* phuc_vu: the service face, any area */
            out->service_count[sc][service] += c;
            out->service_n += c;
            out->service_satisfied += proto_is_satisfied((ProtoScale)sc, service) ? c : 0;
        }
        if(wait != WAIT_NONE) { /* waited within 30 minutes: of the answered waits */
            out->wait_count[wait] += c;
            out->wait_n += c;
            out->wait_within_30 += proto_wait_within_30((ProtoWait)wait) ? c : 0;
        }
        out->count[a][sc][score] += c;
        out->n[a] += c;
        out->total += c;
        if(proto_is_satisfied((ProtoScale)sc, score)) {
            out->satisfied[a] += c;
            out->total_satisfied += c;
        }
    }
    if(!e && rc != SQLITE_DONE)
        e = fail_rc(s, rc, "day totals");
    sqlite3_reset(st);
    if(e)
        memset(out, 0, sizeof *out);
    return e;
}

StoreErr store_counts(Store *s, StoreCounts *out)
{
    if(!s)
        return STORE_INVALID;
    if(!out)
        return setmsg(s, STORE_INVALID, "store_counts: no output");
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = stmt(s, Q_COUNTS);
    int rc = sqlite3_step(st);
    StoreErr e = STORE_OK;
    if(rc == SQLITE_ROW) {
        out->pending = sqlite3_column_int64(st, 0);
        out->acked = sqlite3_column_int64(st, 1);
        out->rejected = sqlite3_column_int64(st, 2);
    } else {
        e = fail_rc(s, rc, "counts");
    }
    sqlite3_reset(st);
    return e;
}

StoreErr store_backlog(Store *s, int64_t *pending, int64_t *rejected)
{
    if(!s)
        return STORE_INVALID;
    if(!pending || !rejected)
        return setmsg(s, STORE_INVALID, "store_backlog: no output");
    sqlite3_stmt *st = stmt(s, Q_BACKLOG);
    int rc = sqlite3_step(st);
    StoreErr e = rc == SQLITE_ROW ? STORE_OK : fail_rc(s, rc, "backlog");
    *pending = e ? 0 : sqlite3_column_int64(st, 0);
    *rejected = e ? 0 : sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    return e;
}

StoreErr store_pending(Store *s, ProtoRating *out, size_t limit, size_t *n)
{
    if(!s)
        return STORE_INVALID;
    if(!n || (!out && limit))
        return setmsg(s, STORE_INVALID, "store_pending: no output");
    *n = 0;
    if(limit == 0)
        return STORE_OK;
    sqlite3_stmt *st = stmt(s, Q_PENDING);
    sqlite3_bind_int64(st, 1, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    StoreErr e = STORE_OK;
    int rc = SQLITE_DONE;
    size_t got = 0;
    while(!e && got < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if(!(e = row_rating(s, st, &out[got])))
            got++;
    if(!e && got < limit && rc != SQLITE_DONE)
        e = fail_rc(s, rc, "pending ratings");
    sqlite3_reset(st);
    *n = e ? 0 : got;
    return e;
}

/* Binds the held window around now as ?1 and ?3 (see HELD). */
static void bind_hold(sqlite3_stmt *st, int64_t now)
{
    sqlite3_bind_int64(st, 1, now - STORE_HOLD_MAX_S);
    sqlite3_bind_int64(st, 3, now + STORE_HOLD_MAX_S);
}

StoreErr store_queue_next(Store *s, int64_t now, StoreQueued *out, size_t limit, size_t *n)
{
    if(!s)
        return STORE_INVALID;
    if(!n || (!out && limit))
        return setmsg(s, STORE_INVALID, "store_queue_next: no output");
    *n = 0;
    if(limit == 0)
        return STORE_OK;
    sqlite3_stmt *st = stmt(s, Q_QUEUE);
    bind_hold(st, now);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    StoreErr e = STORE_OK;
    int rc = SQLITE_DONE;
    size_t got = 0;
    while(!e && got < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if(!(e = row_rating(s, st, &out[got].r)))
            out[got++].rev = sqlite3_column_int64(st, RATING_NCOLS);
    if(!e && got < limit && rc != SQLITE_DONE)
        e = fail_rc(s, rc, "upload queue");
    sqlite3_reset(st);
    *n = e ? 0 : got;
    return e;
}

StoreErr store_queue_held(Store *s, int64_t now, int64_t made_before, int64_t *held)
{
    if(!s)
        return STORE_INVALID;
    if(!held)
        return setmsg(s, STORE_INVALID, "store_queue_held: no output");
    sqlite3_stmt *st = stmt(s, Q_HELD);
    bind_hold(st, now);
    sqlite3_bind_int64(st, 2, made_before);
    int rc = sqlite3_step(st);
    StoreErr e = rc == SQLITE_ROW ? STORE_OK : fail_rc(s, rc, "held ratings");
    *held = e ? 0 : sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return e;
}

/* After a mark that changed no row: is the rating still pending (its content changed since it was read)? */
static StoreErr still_pending(Store *s, const char *canon, bool *pending)
{
    sqlite3_stmt *st = stmt(s, Q_STILL_PENDING);
    sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    StoreErr e = rc == SQLITE_ROW ? STORE_OK : fail_rc(s, rc, "read rating state");
    *pending = !e && sqlite3_column_int64(st, 0) > 0;
    sqlite3_reset(st);
    return e;
}

StoreErr store_mark_acked(Store *s, const char *const *ids, const int64_t *revs, size_t n, int64_t now,
                          size_t *changed)
{
    size_t moved = 0;
    if(changed)
        *changed = 0;
    if(!s)
        return STORE_INVALID;
    if((!ids || !revs) && n)
        return setmsg(s, STORE_INVALID, "store_mark_acked: no ids");
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    for(size_t i = 0; i < n && !e; i++) {
        char canon[UUID_TEXT_LEN];
        if(!canon_id(ids[i], canon))
            continue; /* not a UUID, so not pending: ignored like any other id that is not pending */
        sqlite3_stmt *st = stmt(s, Q_ACK);
        sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, revs[i]);
        sqlite3_bind_int64(st, 3, now);
        bool pending = false;
        if(!(e = run(s, st, "mark acknowledged")) && sqlite3_changes(s->db) == 0 &&
           !(e = still_pending(s, canon, &pending)) && pending)
            moved++;
    }
    e = tx_end(s, e);
    if(!e && changed)
        *changed = moved;
    return e;
}

StoreErr store_server_restored(Store *s, int64_t epoch, int64_t since, int64_t *requeued)
{
    if(requeued)
        *requeued = 0;
    if(!s || epoch <= 0)
        return s ? setmsg(s, STORE_INVALID, "server restored: epoch must be positive") : STORE_INVALID;
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    sqlite3_stmt *st = stmt(s, Q_EPOCH_GET);
    int rc = sqlite3_step(st);
    int64_t seen = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if(rc != SQLITE_ROW && rc != SQLITE_DONE)
        e = fail_rc(s, rc, "read the server's restore epoch");
    sqlite3_reset(st);
    int64_t n = 0;
    if(!e && seen != epoch) {
        st = stmt(s, Q_REQUEUE);
        sqlite3_bind_int64(st, 1, since);
        if(!(e = run(s, st, "queue again after a server restore")))
            n = sqlite3_changes(s->db);
        if(!e) {
            st = stmt(s, Q_EPOCH_PUT);
            sqlite3_bind_int64(st, 1, epoch);
            e = run(s, st, "remember the server's restore epoch");
        }
    }
    e = tx_end(s, e);
    if(!e && requeued)
        *requeued = n;
    return e;
}

StoreErr store_mark_rejected(Store *s, const char *id, int64_t rev, const char *reason, int64_t now, bool *changed)
{
    char canon[UUID_TEXT_LEN], why[sizeof ((StoreRejected *)0)->reason];
    if(changed)
        *changed = false;
    if(!s)
        return STORE_INVALID;
    if(!canon_id(id, canon))
        return setmsg(s, STORE_INVALID, "mark rejected: \"%.40s\" is not a UUID", id ? id : "(null)");
    if(!reason || !*reason)
        return setmsg(s, STORE_INVALID, "mark rejected: no reason given");
    /* Reasons are the server's snake_case wire codes; keep at most what StoreRejected can hand back,
     * cut at a UTF-8 character boundary. */
    size_t len = strlen(reason);
    if(len >= sizeof why) {
        len = sizeof why - 1;
        while(len > 0 && ((unsigned char)reason[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(why, reason, len);
    why[len] = '\0';

    StoreErr e = tx_begin(s);
    if(e)
        return e;
    sqlite3_stmt *st = stmt(s, Q_REJECT);
    sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rev);
    sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    e = run(s, st, "mark rejected");
    bool pending = false;
    if(!e && sqlite3_changes(s->db) == 0 && !(e = still_pending(s, canon, &pending)) && !pending)
        e = setmsg(s, STORE_NOTFOUND, "no pending rating with id %s", canon);
    e = tx_end(s, e);
    if(!e && changed)
        *changed = pending;
    return e;
}

StoreErr store_rejected(Store *s, StoreRejected *out, size_t limit, size_t *n)
{
    if(!s)
        return STORE_INVALID;
    if(!n || (!out && limit))
        return setmsg(s, STORE_INVALID, "store_rejected: no output");
    *n = 0;
    if(limit == 0)
        return STORE_OK;
    sqlite3_stmt *st = stmt(s, Q_REJECTED);
    sqlite3_bind_int64(st, 1, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int rc = SQLITE_DONE;
    size_t got = 0;
    while(got < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        StoreRejected *o = &out[got++];
        copy_text(o->id, sizeof o->id, sqlite3_column_text(st, 0));
        copy_text(o->reason, sizeof o->reason, sqlite3_column_text(st, 1));
        o->seq = sqlite3_column_int64(st, 2);
        copy_text(o->at, sizeof o->at, sqlite3_column_text(st, 3));
        int area = proto_area_from_code((const char *)sqlite3_column_text(st, 4));
        int scale = proto_scale_from_code((const char *)sqlite3_column_text(st, 5));
        o->area = area < 0 ? AREA_KHAC : (ProtoArea)area;
        o->scale = scale < 0 ? SCALE_TTHC3 : (ProtoScale)scale;
        o->score = sqlite3_column_int(st, 6);
        o->rejected_at = sqlite3_column_int64(st, 7);
    }
    StoreErr e = (got < limit && rc != SQLITE_DONE) ? fail_rc(s, rc, "rejected ratings") : STORE_OK;
    sqlite3_reset(st);
    *n = e ? 0 : got;
    return e;
}

/* One chunk of store_prune: at most STORE_PRUNE_CHUNK rows, with the history mark, in one transaction. */
static StoreErr prune_chunk(Store *s, int64_t before_day, int64_t *gone)
{
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    sqlite3_stmt *st = stmt(s, Q_PRUNE);
    sqlite3_bind_int64(st, 1, ptime_vn_day_start(before_day));
    sqlite3_bind_int64(st, 2, STORE_PRUNE_CHUNK);
    e = run(s, st, "prune");
    *gone = e ? 0 : sqlite3_changes64(s->db);
    if(!e && *gone > 0) {
        st = stmt(s, Q_PRUNED_PUT);
        sqlite3_bind_int64(st, 1, before_day);
        e = run(s, st, "record prune");
    }
    e = tx_end(s, e);
    if(e)
        *gone = 0;
    return e;
}

StoreErr store_prune(Store *s, int keep_days, int64_t now, int64_t *deleted)
{
    if(!s)
        return STORE_INVALID;
    if(deleted)
        *deleted = 0;
    if(keep_days < 0)
        return setmsg(s, STORE_INVALID, "prune: days must be >= 0 (got %d)", keep_days);
    int64_t before_day = ptime_vn_day(now) - keep_days, total = 0, gone;
    StoreErr e;
    do {
        e = prune_chunk(s, before_day, &gone);
        total += gone;
    } while(!e && gone == STORE_PRUNE_CHUNK);
    if(deleted)
        *deleted = total;
    if(e || total == 0)
        return e;
    /* Hand the freed pages back to the file system, a few at a time (each its own short transaction); only
     * files made with auto_vacuum=INCREMENTAL can (older files reuse the pages for new ratings instead). */
    int64_t mode = 0, free_pages = 0;
    if((e = pragma_int(s, "PRAGMA auto_vacuum", &mode)) || mode != 2)
        return e;
    for(int i = 0; i < STORE_VACUUM_STEPS_MAX; i++) {
        if((e = pragma_int(s, "PRAGMA freelist_count", &free_pages)) || free_pages == 0)
            break;
        if((e = exec(s, "PRAGMA incremental_vacuum(" STORE_VACUUM_STEP_PAGES ")", "incremental vacuum")))
            break;
    }
    return e;
}

StoreErr store_history(Store *s, int64_t now, int64_t *first_day, bool *pruned)
{
    if(!s)
        return STORE_INVALID;
    if(!first_day || !pruned)
        return setmsg(s, STORE_INVALID, "store_history: no output");
    sqlite3_stmt *st = stmt(s, Q_HISTORY);
    int rc = sqlite3_step(st);
    StoreErr e = rc == SQLITE_ROW ? STORE_OK : fail_rc(s, rc, "history");
    if(!e) {
        int64_t before = sqlite3_column_int64(st, 0);
        bool any = sqlite3_column_type(st, 1) != SQLITE_NULL;
        *pruned = before > 0;
        *first_day = before > 0 ? before : any ? ptime_vn_day(sqlite3_column_int64(st, 1)) : ptime_vn_day(now);
    }
    sqlite3_reset(st);
    return e;
}

StoreErr store_recent(Store *s, int64_t since, int64_t *last_at, int64_t *count_since)
{
    if(!s)
        return STORE_INVALID;
    sqlite3_stmt *st = stmt(s, Q_RECENT);
    sqlite3_bind_int64(st, 1, since);
    int rc = sqlite3_step(st);
    StoreErr e = STORE_OK;
    if(rc == SQLITE_ROW) {
        if(last_at)
            *last_at = sqlite3_column_int64(st, 0); /* NULL (no ratings) reads as 0 */
        if(count_since)
            *count_since = sqlite3_column_int64(st, 1);
    } else {
        e = fail_rc(s, rc, "recent ratings");
    }
    sqlite3_reset(st);
    return e;
}

/* ---- Sync status and request ------------------------------------------------------------------------- */

StoreErr store_sync_status_get(Store *s, StoreSyncStatus *out)
{
    if(!s)
        return STORE_INVALID;
    if(!out)
        return setmsg(s, STORE_INVALID, "store_sync_status_get: no output");
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = stmt(s, Q_STATUS_GET);
    int rc = sqlite3_step(st);
    StoreErr e = STORE_OK;
    if(rc == SQLITE_ROW) {
        out->last_attempt = sqlite3_column_int64(st, 0);
        out->last_success = sqlite3_column_int64(st, 1);
        copy_text(out->last_error, sizeof out->last_error, sqlite3_column_text(st, 2));
        out->next_attempt = sqlite3_column_int64(st, 3);
        out->failures = sqlite3_column_int(st, 4);
        out->clock_skew_s = sqlite3_column_int64(st, 5);
        copy_text(out->clock_warning, sizeof out->clock_warning, sqlite3_column_text(st, 6));
    } else if(rc != SQLITE_DONE) {
        e = fail_rc(s, rc, "read sync status");
    }
    sqlite3_reset(st);
    return e;
}

StoreErr store_sync_status_put(Store *s, const StoreSyncStatus *in)
{
    if(!s)
        return STORE_INVALID;
    if(!in)
        return setmsg(s, STORE_INVALID, "store_sync_status_put: no status");
    if(strnlen(in->last_error, sizeof in->last_error) == sizeof in->last_error ||
       strnlen(in->clock_warning, sizeof in->clock_warning) == sizeof in->clock_warning)
        return setmsg(s, STORE_INVALID, "sync status: a text field is not NUL-terminated");
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    sqlite3_stmt *st = stmt(s, Q_STATUS_PUT);
    sqlite3_bind_int64(st, 1, in->last_attempt);
    sqlite3_bind_int64(st, 2, in->last_success);
    sqlite3_bind_text(st, 3, in->last_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, in->next_attempt);
    sqlite3_bind_int(st, 5, in->failures);
    sqlite3_bind_int64(st, 6, in->clock_skew_s);
    sqlite3_bind_text(st, 7, in->clock_warning, -1, SQLITE_STATIC);
    return tx_end(s, run(s, st, "write sync status"));
}

StoreErr store_sync_request(Store *s, int64_t now)
{
    if(!s)
        return STORE_INVALID;
    if(now <= 0)
        return setmsg(s, STORE_INVALID, "sync request: time must be > 0");
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    sqlite3_stmt *st = stmt(s, Q_REQ_PUT);
    sqlite3_bind_int64(st, 1, now);
    return tx_end(s, run(s, st, "request sync"));
}

StoreErr store_sync_requested(Store *s, int64_t *requested_at)
{
    if(!s)
        return STORE_INVALID;
    if(!requested_at)
        return setmsg(s, STORE_INVALID, "store_sync_requested: no output");
    *requested_at = 0;
    sqlite3_stmt *st = stmt(s, Q_REQ_GET);
    int rc = sqlite3_step(st);
    StoreErr e = STORE_OK;
    if(rc == SQLITE_ROW)
        *requested_at = sqlite3_column_int64(st, 0);
    else if(rc != SQLITE_DONE)
        e = fail_rc(s, rc, "read sync request");
    sqlite3_reset(st);
    return e;
}

StoreErr store_sync_request_clear(Store *s, int64_t upto)
{
    if(!s)
        return STORE_INVALID;
    StoreErr e = tx_begin(s);
    if(e)
        return e;
    sqlite3_stmt *st = stmt(s, Q_REQ_CLEAR);
    sqlite3_bind_int64(st, 1, upto);
    return tx_end(s, run(s, st, "clear sync request"));
}
