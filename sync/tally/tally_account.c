/* tally_account.c — passwords, sessions, lockout and audit in the tally database (see tally_account.h). */
#include "sync/tally/tally_account.h"
#include "sync/tally/tally_pg.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define SID_HASH_LEN 32

TallyLockPolicy tally_lock_policy_default(void)
{
    return (TallyLockPolicy){.name_slow_after = 5, .name_lock_after = 10, .addr_slow_after = 10,
                             .addr_lock_after = 30, .slow_s = 5, .lock_s = 15 * 60, .window_s = 15 * 60};
}

#define ARGS_MAX 6

/* Runs sql (?N parameters, one text for both backends) with parameters given as a format: 't' text, 'i' int64,
 * 'b' a SID_HASH_LEN blob. With rows, a query: rows iterates its result (tally_rows_next; end with rows_done).
 * Without, a statement that returns no rows: *changes (when not NULL) is the rows it wrote. */
static TallyErr run_va(TallyDb *db, const char *what, char msg[TALLY_MSG_MAX], TallyRows *rows, int64_t *changes,
                       const char *sql, const char *fmt, va_list ap)
{
    int n = (int)strlen(fmt);
    if(rows)
        *rows = (TallyRows){NULL, NULL, -1};
    TallyPg *pg = tally_db_pg(db);
    if(!pg) {
        sqlite3_stmt *st;
        if(sqlite3_prepare_v2(tally_db_sqlite(db), sql, -1, &st, NULL))
            return tally_db_fail(db, what, msg);
        for(int i = 0; i < n; i++) {
            if(fmt[i] == 't')
                sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
            else if(fmt[i] == 'i')
                sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
            else
                sqlite3_bind_blob(st, i + 1, va_arg(ap, const unsigned char *), SID_HASH_LEN, SQLITE_TRANSIENT);
        }
        if(rows) {
            rows->st = st; /* finalized by rows_done */
            return TALLY_OK;
        }
        TallyErr e = sqlite3_step(st) == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, what, msg);
        if(!e && changes)
            *changes = sqlite3_changes(tally_db_sqlite(db));
        sqlite3_finalize(st);
        return e;
    }
    char text[ARGS_MAX][2 + 2 * SID_HASH_LEN + 1], pg_sql[512];
    const char *v[ARGS_MAX];
    if(n > ARGS_MAX || !tally_pg_sql(sql, pg_sql, sizeof pg_sql))
        return tally_set_msg(msg, TALLY_E_DB, "%s: statement too long", what);
    for(int i = 0; i < n; i++) {
        if(fmt[i] == 't') {
            v[i] = va_arg(ap, const char *);
        } else if(fmt[i] == 'i') {
            snprintf(text[i], sizeof text[i], "%lld", (long long)va_arg(ap, int64_t));
            v[i] = text[i];
        } else { /* bytea in text form: \x and hex */
            text[i][0] = '\\';
            text[i][1] = 'x';
            sodium_bin2hex(text[i] + 2, sizeof text[i] - 2, va_arg(ap, const unsigned char *), SID_HASH_LEN);
            v[i] = text[i];
        }
    }
    PGresult *res;
    TallyErr e = tally_pg_exec(pg, what, msg, &res, pg_sql, n, v);
    if(e)
        return e;
    if(changes)
        *changes = strtoll(PQcmdTuples(res), NULL, 10);
    if(rows)
        rows->res = res; /* cleared by rows_done */
    else
        PQclear(res);
    return TALLY_OK;
}

/* run_va with the parameters as arguments: run_args(db, what, msg, rows or NULL, changes or NULL, sql, fmt, …). */
static TallyErr run_args(TallyDb *db, const char *what, char msg[TALLY_MSG_MAX], TallyRows *rows, int64_t *changes,
                         const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    TallyErr e = run_va(db, what, msg, rows, changes, sql, fmt, ap);
    va_end(ap);
    return e;
}

static void rows_done(TallyRows *rows)
{
    sqlite3_finalize(rows->st);
    PQclear((PGresult *)rows->res);
    *rows = (TallyRows){NULL, NULL, -1};
}

/* A write transaction: SQLite takes the file's write lock at once; PostgreSQL's row locks decide. */
static TallyErr begin(TallyDb *db, char msg[TALLY_MSG_MAX])
{
    return run_args(db, "begin", msg, NULL, NULL, tally_db_pg(db) ? "BEGIN" : "BEGIN IMMEDIATE", "");
}

static void rollback(TallyDb *db)
{
    if(tally_db_pg(db))
        tally_pg_rollback(tally_db_pg(db));
    else if(!sqlite3_get_autocommit(tally_db_sqlite(db)))
        sqlite3_exec(tally_db_sqlite(db), "ROLLBACK", NULL, NULL, NULL);
}

static void hash_sid(const char *sid, unsigned char out[SID_HASH_LEN])
{
    crypto_generichash(out, SID_HASH_LEN, (const unsigned char *)sid, strlen(sid), NULL, 0);
}

static void random_hex(char out[TALLY_TOKEN_HEX + 1])
{
    unsigned char raw[TALLY_TOKEN_HEX / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, TALLY_TOKEN_HEX + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

/* ---- Passwords -------------------------------------------------------------------------------------- */

static bool password_valid(const char *pw)
{
    size_t n = strlen(pw);
    if(n < TALLY_PASSWORD_MIN || n > TALLY_PASSWORD_MAX)
        return false;
    for(const unsigned char *p = (const unsigned char *)pw; *p; p++)
        if(*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

TallyErr tally_viewer_set_password(TallyDb *db, const char *name, const char *password, char msg[TALLY_MSG_MAX])
{
    if(!password_valid(password))
        return tally_set_msg(msg, TALLY_E_INVALID, "a password must be %d-%d characters without control characters / mật "
                       "khẩu phải dài %d-%d ký tự, không chứa ký tự điều khiển", TALLY_PASSWORD_MIN,
                       TALLY_PASSWORD_MAX, TALLY_PASSWORD_MIN, TALLY_PASSWORD_MAX);
    char hash[crypto_pwhash_STRBYTES];
    if(crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                         crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return tally_set_msg(msg, TALLY_E_NOMEM, "out of memory while hashing the password / hết bộ nhớ khi băm mật khẩu");
    TallyErr e = begin(db, msg);
    int64_t changed = 0;
    if(!e)
        e = run_args(db, "set password", msg, NULL, &changed, "UPDATE viewers SET pw_hash = ?1 WHERE name = ?2", "tt",
                         hash, name);
    if(!e && changed == 0)
        e = tally_set_msg(msg, TALLY_E_NOT_FOUND, "no viewer %.70s / không có người xem %.70s", name, name);
    /* A new password ends every session made with the old one. */
    if(!e)
        e = run_args(db, "end sessions", msg, NULL, NULL, "DELETE FROM sessions WHERE viewer = ?1", "t", name);
    if(!e)
        e = run_args(db, "commit", msg, NULL, NULL, "COMMIT", "");
    if(e)
        rollback(db);
    sodium_memzero(hash, sizeof hash);
    return e;
}

/* A hash to verify against when the name is unknown, so a wrong name costs the same time as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    char pw[TALLY_TOKEN_HEX + 1];
    random_hex(pw);
    if(crypto_pwhash_str(dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                         crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0';
}

/* ---- Lockout ---------------------------------------------------------------------------------------- */

typedef struct {
    int64_t failures, last_at;
} Failures;

static TallyErr failures_get(TallyDb *db, const char *kind, const char *key, const TallyLockPolicy *pol,
                             int64_t now_s, Failures *f, char msg[TALLY_MSG_MAX])
{
    *f = (Failures){0};
    TallyRows r;
    TallyErr e = run_args(db, "read login failures", msg, &r, NULL,
                            "SELECT failures, last_at FROM login_failures WHERE kind = ?1 AND key = ?2", "tt", kind, key);
    if(e)
        return e;
    int rc;
    if(tally_rows_next(&r, &rc)) {
        f->failures = tally_rows_i64(&r, 0);
        f->last_at = tally_rows_i64(&r, 1);
        if(now_s - f->last_at >= pol->window_s) /* forgotten */
            *f = (Failures){0};
        rc = SQLITE_DONE;
    }
    e = rc == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "read login failures", msg);
    rows_done(&r);
    return e;
}

static TallyErr failures_bump(TallyDb *db, const char *kind, const char *key, const TallyLockPolicy *pol,
                              int64_t now_s, char msg[TALLY_MSG_MAX])
{
    return run_args(db, "count login failure", msg, NULL, NULL,
                     "INSERT INTO login_failures AS t(kind, key, failures, last_at) VALUES (?1, ?2, 1, ?3)"
                     " ON CONFLICT(kind, key) DO UPDATE SET"
                     "  failures = CASE WHEN ?3 - t.last_at >= ?4 THEN 1 ELSE t.failures + 1 END, last_at = ?3",
                     "ttii", kind, key, now_s, pol->window_s);
}

/* How long until an attempt is considered, given failures f against slow/lock thresholds; 0 = now. */
static int64_t wait_for(const Failures *f, int slow_after, int lock_after, const TallyLockPolicy *pol, int64_t now_s,
                        bool *locked)
{
    *locked = false;
    if(f->failures >= lock_after && now_s < f->last_at + pol->lock_s) {
        *locked = true;
        return f->last_at + pol->lock_s - now_s;
    }
    if(f->failures >= slow_after && now_s < f->last_at + pol->slow_s)
        return f->last_at + pol->slow_s - now_s;
    return 0;
}

TallyErr tally_login(TallyDb *db, const TallyLockPolicy *pol, const char *name, const char *password,
                     const char *addr, int64_t now_s, TallyLoginResult *out, char msg[TALLY_MSG_MAX])
{
    memset(out, 0, sizeof *out);
    Failures fn, fa;
    TallyErr e = failures_get(db, "name", name, pol, now_s, &fn, msg);
    if(!e)
        e = failures_get(db, "addr", addr, pol, now_s, &fa, msg);
    if(e)
        return e;
    bool lock_n, lock_a;
    int64_t wn = wait_for(&fn, pol->name_slow_after, pol->name_lock_after, pol, now_s, &lock_n);
    int64_t wa = wait_for(&fa, pol->addr_slow_after, pol->addr_lock_after, pol, now_s, &lock_a);
    if(lock_n || lock_a) {
        out->result = TALLY_LOGIN_LOCKED;
        out->wait_s = lock_n && lock_a ? (wn > wa ? wn : wa) : lock_n ? wn : wa;
        return TALLY_OK;
    }
    if(wn || wa) {
        out->result = TALLY_LOGIN_SLOWED;
        out->wait_s = wn > wa ? wn : wa;
        return TALLY_OK;
    }

    char hash[crypto_pwhash_STRBYTES] = "";
    bool usable = false;
    TallyRows r;
    if((e = run_args(db, "look up viewer", msg, &r, NULL, "SELECT coalesce(pw_hash, ''),"
                       " CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END FROM viewers WHERE name = ?1", "t", name)))
        return e;
    int rc;
    if(tally_rows_next(&r, &rc)) {
        snprintf(hash, sizeof hash, "%s", tally_rows_text(&r, 0));
        usable = hash[0] && tally_rows_i64(&r, 1);
        rc = SQLITE_DONE;
    }
    e = rc == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "look up viewer", msg);
    rows_done(&r);
    if(e)
        return e;
    bool ok;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if(usable) {
        ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    } else {
        pthread_once(&dummy_once, make_dummy);
        /* The result is ignored: only the time it takes matters. */
        ok = dummy_hash[0] && crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) == 0 && false;
    }
    sodium_memzero(hash, sizeof hash);
    /* A failure counts from when it is known: on a busy machine the hash alone may take longer than slow_s. */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t done_s = now_s + (int64_t)(t1.tv_sec - t0.tv_sec - (t1.tv_nsec < t0.tv_nsec));

    if(!ok) {
        out->result = TALLY_LOGIN_WRONG;
        now_s = done_s;
        if(!(e = failures_bump(db, "name", name, pol, now_s, msg)) &&
           !(e = failures_bump(db, "addr", addr, pol, now_s, msg)))
            e = tally_audit_add(db, now_s, name, addr, "sign_in_failed", "", msg);
        out->now_slowed = fn.failures + 1 >= pol->name_slow_after || fa.failures + 1 >= pol->addr_slow_after;
        if(!e && (fn.failures + 1 == pol->name_lock_after || fa.failures + 1 == pol->addr_lock_after))
            e = tally_audit_add(db, now_s, name, addr, "locked", fn.failures + 1 == pol->name_lock_after
                                ? "name" : "address", msg);
        return e;
    }
    random_hex(out->sid);
    random_hex(out->csrf);
    unsigned char h[SID_HASH_LEN];
    hash_sid(out->sid, h);
    e = run_args(db, "start session", msg, NULL, NULL,
                  "INSERT INTO sessions(id_hash, viewer, csrf, created_at, last_seen, addr) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                  "bttit", h, name, out->csrf, now_s, addr);
    /* A right password clears the name's count; the address keeps its own (one user cannot clear a NAT's). */
    if(!e)
        e = run_args(db, "clear login failures", msg, NULL, NULL,
                     "DELETE FROM login_failures WHERE kind = 'name' AND key = ?1",
                      "t", name);
    if(!e)
        e = tally_audit_add(db, now_s, name, addr, "sign_in", "", msg);
    if(e) {
        sodium_memzero(out->sid, sizeof out->sid);
        return e;
    }
    out->result = TALLY_LOGIN_OK;
    return TALLY_OK;
}

/* ---- Sessions --------------------------------------------------------------------------------------- */

TallyErr tally_session_get(TallyDb *db, const char *sid, int64_t now_s, TallySession *out, bool *found,
                           char msg[TALLY_MSG_MAX])
{
    memset(out, 0, sizeof *out);
    *found = false;
    if(strlen(sid) != TALLY_TOKEN_HEX)
        return TALLY_OK;
    unsigned char h[SID_HASH_LEN];
    hash_sid(sid, h);
    TallyRows r;
    TallyErr e = run_args(db, "read session", msg, &r, NULL,
                            "SELECT s.viewer, s.csrf, s.created_at, s.last_seen, coalesce(v.unit, ''),"
                            " CASE WHEN v.revoked_at IS NULL THEN 1 ELSE 0 END"
                            " FROM sessions s JOIN viewers v ON v.name = s.viewer WHERE s.id_hash = ?1", "b", h);
    if(e)
        return e;
    int rc;
    bool live = false, exists = tally_rows_next(&r, &rc);
    if(exists) {
        snprintf(out->viewer, sizeof out->viewer, "%s", tally_rows_text(&r, 0));
        snprintf(out->csrf, sizeof out->csrf, "%s", tally_rows_text(&r, 1));
        out->created_at = tally_rows_i64(&r, 2);
        out->last_seen = tally_rows_i64(&r, 3);
        snprintf(out->unit, sizeof out->unit, "%s", tally_rows_text(&r, 4));
        live = tally_rows_i64(&r, 5) && now_s - out->last_seen < TALLY_SESSION_IDLE_S;
        rc = SQLITE_DONE;
    }
    e = rc == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "read session", msg);
    rows_done(&r);
    if(e)
        return e;
    if(!exists)
        return TALLY_OK;
    if(!live) {
        memset(out, 0, sizeof *out);
        return run_args(db, "end session", msg, NULL, NULL, "DELETE FROM sessions WHERE id_hash = ?1", "b", h);
    }
    *found = true;
    if(now_s - out->last_seen >= TALLY_SESSION_TOUCH_S) {
        out->last_seen = now_s;
        return run_args(db, "touch session", msg, NULL, NULL, "UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1",
                        "bi", h,
                         now_s);
    }
    return TALLY_OK;
}

TallyErr tally_session_end(TallyDb *db, const char *sid, char msg[TALLY_MSG_MAX])
{
    unsigned char h[SID_HASH_LEN];
    hash_sid(sid, h);
    return run_args(db, "end session", msg, NULL, NULL, "DELETE FROM sessions WHERE id_hash = ?1", "b", h);
}

/* ---- Audit ------------------------------------------------------------------------------------------ */

TallyErr tally_audit_add(TallyDb *db, int64_t at, const char *viewer, const char *addr, const char *event,
                         const char *detail, char msg[TALLY_MSG_MAX])
{
    return run_args(db, "write audit", msg, NULL, NULL,
                     "INSERT INTO audit(at, viewer, addr, event, detail) VALUES (?1, ?2, ?3, ?4, ?5)", "itttt", at,
                     viewer, addr, event, detail);
}

TallyErr tally_audit_list(TallyDb *db, int64_t from_s, int64_t to_s, bool (*fn)(const TallyAuditLine *l, void *ud),
                          void *ud, char msg[TALLY_MSG_MAX])
{
    TallyRows r;
    TallyErr e = run_args(db, "read audit", msg, &r, NULL,
                            "SELECT id, at, viewer, addr, event, detail FROM audit WHERE at BETWEEN ?1 AND ?2 ORDER BY id",
                            "ii", from_s, to_s);
    if(e)
        return e;
    int rc;
    while(tally_rows_next(&r, &rc)) {
        TallyAuditLine l;
        l.id = tally_rows_i64(&r, 0);
        l.at = tally_rows_i64(&r, 1);
        snprintf(l.viewer, sizeof l.viewer, "%s", tally_rows_text(&r, 2));
        snprintf(l.addr, sizeof l.addr, "%s", tally_rows_text(&r, 3));
        snprintf(l.event, sizeof l.event, "%s", tally_rows_text(&r, 4));
        snprintf(l.detail, sizeof l.detail, "%s", tally_rows_text(&r, 5));
        if(!fn(&l, ud)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    e = rc == SQLITE_DONE ? TALLY_OK : tally_db_fail(db, "read audit", msg);
    rows_done(&r);
    return e;
}
