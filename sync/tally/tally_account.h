/* tally_account.h — people who sign in to the dashboard: passwords, sessions, wrong-password lockout, audit.
 *
 * Everything is in the tally database (not in a process), so several tally-server processes on one database
 * share sessions, lockouts and the audit trail. Passwords are stored only as Argon2id hashes
 * (libsodium crypto_pwhash_str); session ids are 32 random bytes shown once to the browser as 64 hex chars and
 * kept only as their BLAKE2b hash; each session carries its own random CSRF token. A session ends on sign-out,
 * after TALLY_SESSION_IDLE_S without a request, when its viewer is revoked, and when its viewer's password
 * changes. Nothing here writes a password, a session id or a token to a log. */
#ifndef SYNC_TALLY_ACCOUNT_H
#define SYNC_TALLY_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "sync/tally/tally_db.h"

#define TALLY_SESSION_IDLE_S (8 * 3600)   /* a session unused this long has ended */
#define TALLY_SESSION_TOUCH_S 60          /* last_seen is written at most this often per session */
#define TALLY_PASSWORD_MIN 10             /* characters (bytes) of a new password */
#define TALLY_PASSWORD_MAX 256
#define TALLY_ADDR_MAX 64                 /* a client address as text */

/* Wrong-password policy, per sign-in name and per client address (an office behind one NAT address shares
 * the larger address budget). Failures older than window_s are forgotten. From slow_after failures on, the next
 * attempt is not even checked before slow_s seconds have passed since the last failure; from lock_after on,
 * every attempt (even the right password) is refused until lock_s after the last failure. */
typedef struct {
    int     name_slow_after, name_lock_after;
    int     addr_slow_after, addr_lock_after;
    int64_t slow_s, lock_s, window_s;
} TallyLockPolicy;

/* 5 / 10 per name, 10 / 30 per address; 5 s apart once slowed; locked 15 minutes; window 15 minutes. */
TallyLockPolicy tally_lock_policy_default(void);

/* ---- Passwords -------------------------------------------------------------------------------------- */

/* Sets (or replaces) a viewer's password: Argon2id hash stored, every session of that viewer ended, all in one
 * transaction. TALLY_E_INVALID: shorter than TALLY_PASSWORD_MIN, longer than TALLY_PASSWORD_MAX, or with a
 * control character; TALLY_E_NOT_FOUND: no such viewer. */
TallyErr tally_viewer_set_password(TallyDb *db, const char *name, const char *password, char msg[TALLY_MSG_MAX]);

typedef enum {
    TALLY_LOGIN_OK,
    TALLY_LOGIN_WRONG,    /* unknown name, no password set, revoked, or wrong password: one answer for all */
    TALLY_LOGIN_SLOWED,   /* too soon after recent failures: not checked; retry after `wait_s` */
    TALLY_LOGIN_LOCKED,   /* locked: not checked; `wait_s` until it opens */
} TallyLogin;

typedef struct {
    TallyLogin result;
    int64_t    wait_s;                   /* SLOWED / LOCKED: seconds until the next attempt is considered */
    bool       now_slowed;               /* WRONG: this failure crossed into the slowed or locked range */
    char       sid[TALLY_TOKEN_HEX + 1]; /* OK: the new session id (give it to the browser, then forget it) */
    char       csrf[TALLY_TOKEN_HEX + 1];
} TallyLoginResult;

/* One sign-in attempt from client address addr at now_s: lockout check, Argon2id verification, failure
 * counting, a new session on success, and an audit line for success and failure. */
TallyErr tally_login(TallyDb *db, const TallyLockPolicy *pol, const char *name, const char *password,
                     const char *addr, int64_t now_s, TallyLoginResult *out, char msg[TALLY_MSG_MAX]);

/* ---- Sessions --------------------------------------------------------------------------------------- */

typedef struct {
    char    viewer[TALLY_NAME_MAX + 1];
    char    unit[PROTO_ID_MAX + 1];      /* the viewer's scope, "" = the whole province */
    char    csrf[TALLY_TOKEN_HEX + 1];
    int64_t created_at, last_seen;
} TallySession;

/* Looks a session id up at now_s. *found is false when unknown, idle past TALLY_SESSION_IDLE_S (then deleted),
 * or its viewer is revoked. A found session's last_seen is moved to now (at most every TALLY_SESSION_TOUCH_S). */
TallyErr tally_session_get(TallyDb *db, const char *sid, int64_t now_s, TallySession *out, bool *found,
                           char msg[TALLY_MSG_MAX]);
/* Ends one session (sign-out). Unknown ids are not an error. */
TallyErr tally_session_end(TallyDb *db, const char *sid, char msg[TALLY_MSG_MAX]);

/* ---- Audit ------------------------------------------------------------------------------------------ */

/* Appends one line: event is a short code ("sign_in", "sign_in_failed", "sign_out", "export", "password_set",
 * "locked"), detail free text (never a secret). */
TallyErr tally_audit_add(TallyDb *db, int64_t at, const char *viewer, const char *addr, const char *event,
                         const char *detail, char msg[TALLY_MSG_MAX]);

typedef struct {
    int64_t id, at;
    char    viewer[TALLY_NAME_MAX + 1];
    char    addr[TALLY_ADDR_MAX];
    char    event[32];
    char    detail[256];
} TallyAuditLine;

/* Calls fn for every line with at in [from_s, to_s], oldest first; fn returns false to stop. */
TallyErr tally_audit_list(TallyDb *db, int64_t from_s, int64_t to_s, bool (*fn)(const TallyAuditLine *l, void *ud),
                          void *ud, char msg[TALLY_MSG_MAX]);

#endif
