/* tally_db.h — the central tally's database: schema, unit tree, devices, viewers, targets.
 *
 * Two backends behind the same functions (docs/internals/storage.md): a SQLite file (the embedded default), or
 * PostgreSQL 15 when tally_db_open is given a libpq URI ("postgresql://…" or "postgres://…").
 * This module owns the schema (migrations by PRAGMA user_version, each inside one transaction) and every
 * table except the rating rows and their daily roll-up, which tally_ingest writes and tally_query reads.
 * Tokens are 32 random bytes shown once as 64 hex chars; only their BLAKE2b-256 hash is stored, so a copy
 * of the database never lets anyone upload or read. One TallyDb is one connection: use it from one thread
 * at a time (the server keeps one per worker thread). */
#ifndef SYNC_TALLY_DB_H
#define SYNC_TALLY_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "sync/protocol.h"

#define TALLY_MSG_MAX 256
#define TALLY_TOKEN_HEX 64          /* a token as text, without the NUL */
#define TALLY_NAME_MAX 200          /* bytes of a unit or viewer name */
#define TALLY_BUSY_TIMEOUT_MS 30000 /* how long a writer waits for another before giving up */

typedef enum {
    TALLY_OK = 0,
    TALLY_E_DB,        /* SQLite failed (I/O, corrupt, full); msg says which */
    TALLY_E_BUSY,      /* another writer held the file past the busy timeout: nothing written, retry */
    TALLY_E_NOT_FOUND, /* the unit, device or group named does not exist */
    TALLY_E_EXISTS,    /* the unit, device or viewer already exists */
    TALLY_E_INVALID,   /* an argument is malformed (code, name, CSV line, percentage, date) */
    TALLY_E_NOMEM,
    TALLY_E_IO,        /* a file other than the database could not be read */
    TALLY_E_SCOPE,     /* the unit asked for is outside the viewer's scope (HTTP 403 out_of_scope) */
    TALLY_E_COUNT
} TallyErr;

typedef struct TallyDb TallyDb;

const char *tally_err_name(TallyErr e);
/* Opens (creating if absent) and migrates the file; WAL, synchronous=FULL, foreign keys, busy timeout. A
 * libpq URI opens that PostgreSQL database instead (made by its administrator) and creates or migrates the
 * schema in it. On failure *out is NULL and msg says why (never echoing the URI); nothing is left open. */
TallyErr tally_db_open(const char *path, TallyDb **out, char msg[TALLY_MSG_MAX]);
void     tally_db_close(TallyDb *db);
/* The SQLite connection, for the sibling modules' SQLite paths only; NULL on PostgreSQL. */
sqlite3 *tally_db_sqlite(TallyDb *db);
/* Writes a formatted message into msg (when not NULL) and returns e: every tally module's "return error" line. */
TallyErr tally_set_msg(char msg[TALLY_MSG_MAX], TallyErr e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Times this connection found the file locked and waited (up to TALLY_BUSY_TIMEOUT_MS), and the time spent
 * waiting; any thread may read them. NULL gives zeros. */
void     tally_db_busy_stats(TallyDb *db, uint64_t *waits, uint64_t *wait_us);
/* Maps a failed SQLite call to TALLY_E_BUSY or TALLY_E_DB and writes "what: sqlite message" into msg. */
TallyErr tally_db_fail(TallyDb *db, const char *what, char msg[TALLY_MSG_MAX]);
/* One read transaction (a savepoint, so it nests inside a caller's): every statement between begin and end
 * sees the same snapshot of the file, however many batches commit meanwhile, and pays the file-locking cost
 * once, not per statement. A tally or a report that reads several statements must run between these two
 * (tally_query_run, tally_report_build). Not for writes; end it on every path. */
TallyErr tally_db_read_begin(TallyDb *db, char msg[TALLY_MSG_MAX]);
void     tally_db_read_end(TallyDb *db);
/* Before a unit of work (a request, a group of batches): a PostgreSQL connection that broke — the server
 * restarted, a standby took over — is made again here, never in the middle of a transaction.
 * TALLY_E_BUSY while the server cannot be reached (answer 503; nothing was done); on SQLite, always
 * TALLY_OK. A statement on a broken connection fails with TALLY_E_BUSY too. */
TallyErr tally_db_ready(TallyDb *db, char msg[TALLY_MSG_MAX]);
/* Writes the one health row: proves the file still takes a write (for /readyz). */
TallyErr tally_db_probe_write(TallyDb *db, int64_t now, char msg[TALLY_MSG_MAX]);

/* ---- Unit tree (mã định danh điện tử) ------------------------------------------------------------- */

/* Adds a unit, or renames / re-parents an existing one. The parent must exist; a unit may not become its
 * own ancestor. On error nothing changes. */
TallyErr tally_unit_add(TallyDb *db, const char *code, const char *name, const char *parent,
                        char msg[TALLY_MSG_MAX]);
/* Loads "code,name,parent" lines (optional header line, "" parent for a root, names may be "quoted"),
 * in any order, all in one transaction: any bad line or cycle rolls everything back (msg names the line). */
TallyErr tally_unit_import_csv(TallyDb *db, const char *path, size_t *count, char msg[TALLY_MSG_MAX]);

/* One unit line of a CSV file, checked (code and parent well-formed, name UTF-8 text without control
 * characters); returns an error with msg to stop the parse. */
typedef TallyErr (*TallyUnitLineFn)(const char *code, const char *name, const char *parent, void *ud,
                                    char msg[TALLY_MSG_MAX]);
/* The parsing half of tally_unit_import_csv, without a database (the fuzz target calls it alone): text is the
 * whole file; fn gets each unit line in order. The first bad line stops it with msg "NAME:LINE: why": a NUL
 * byte anywhere in the line, a line over 1 KiB, a malformed quoted field, a bad code, a name that is not
 * UTF-8 text. */
TallyErr tally_unit_csv_parse(const char *text, size_t len, const char *name, TallyUnitLineFn fn, void *ud,
                              char msg[TALLY_MSG_MAX]);

/* ---- Devices and viewers ------------------------------------------------------------------------- */

/* A kiosk's ratings are expected from `since` on (unix time): one dated earlier has a wrong clock and is
 * quarantined (docs/protocol.md). Unless given at enrolment, since is TALLY_SINCE_DEFAULT_S before it: a kiosk
 * may have collected for a while before its token was installed. */
#define TALLY_SINCE_DEFAULT_S (366 * 86400)
#define TALLY_SINCE_DEFAULT_SQL "31622400"
/* Enrols a kiosk at a unit and writes its fresh token (64 hex chars + NUL) into token. since: as above, 0 for
 * the default. */
TallyErr tally_device_add(TallyDb *db, const char *id, const char *unit, int64_t since,
                          char token[TALLY_TOKEN_HEX + 1], char msg[TALLY_MSG_MAX]);
/* Revokes a device: its token is refused with 403 from now on; its ratings stay. */
TallyErr tally_device_revoke(TallyDb *db, const char *id, char msg[TALLY_MSG_MAX]);
/* Adds a read-only API user and writes its fresh token. */
TallyErr tally_viewer_add(TallyDb *db, const char *name, char token[TALLY_TOKEN_HEX + 1],
                          char msg[TALLY_MSG_MAX]);
/* The same with a scope: unit NULL or "" sees the whole province, otherwise only that unit's subtree (in the
 * dashboard, its files and GET /api/v1/tally). TALLY_E_NOT_FOUND when the unit does not exist. */
TallyErr tally_viewer_add_scoped(TallyDb *db, const char *name, const char *unit, char token[TALLY_TOKEN_HEX + 1],
                                 char msg[TALLY_MSG_MAX]);

/* One enrolled kiosk as `device list` shows it. Times are Unix seconds; 0 = never / not revoked. */
typedef struct {
    char    id[PROTO_ID_MAX + 1], unit[PROTO_ID_MAX + 1];
    int64_t created_at, revoked_at, last_seen;
    int64_t last_skew_s; /* the device clock minus ours at its last batch; meaningful when last_seen != 0 */
    int64_t received;    /* ratings stored from it (accepted), all time */
    int64_t max_seq;     /* the highest sequence number among them (kiosks number from 1 without holes) */
    int64_t quarantined; /* its ratings kept out of the figures for a wrong clock (docs/protocol.md) */
    int64_t since;       /* ratings dated earlier are quarantined */
} TallyDevice;

/* Calls fn for every device, ordered by id; fn returns false to stop early. */
TallyErr tally_device_list(TallyDb *db, bool (*fn)(const TallyDevice *d, void *ud), void *ud,
                           char msg[TALLY_MSG_MAX]);

typedef enum { TALLY_AUTH_UNKNOWN, TALLY_AUTH_OK, TALLY_AUTH_REVOKED } TallyAuth;

/* Looks a bearer token up. For a device, fills device_id and unit (the enrolled unit). */
/* Revokes a viewer: its token is refused with 403 from now on. */
TallyErr tally_viewer_revoke(TallyDb *db, const char *name, char msg[TALLY_MSG_MAX]);

TallyErr tally_auth_device(TallyDb *db, const char *token, TallyAuth *auth, char device_id[PROTO_ID_MAX + 1],
                           char unit[PROTO_ID_MAX + 1], char msg[TALLY_MSG_MAX]);
TallyErr tally_auth_viewer(TallyDb *db, const char *token, TallyAuth *auth, char msg[TALLY_MSG_MAX]);
/* The same, also giving the viewer's name and scope unit ("" = the whole province). */
TallyErr tally_auth_viewer_scope(TallyDb *db, const char *token, TallyAuth *auth, char name[TALLY_NAME_MAX + 1],
                                 char unit[PROTO_ID_MAX + 1], char msg[TALLY_MSG_MAX]);

/* ---- Units as a list ------------------------------------------------------------------------------- */

typedef struct {
    char code[PROTO_ID_MAX + 1];
    char name[TALLY_NAME_MAX + 1];
    char parent[PROTO_ID_MAX + 1]; /* "" for a root */
} TallyUnit;

/* Whether unit lies in scope's subtree (scope "" = everything). TALLY_E_NOT_FOUND when unit does not exist. */
TallyErr tally_unit_in_scope(TallyDb *db, const char *unit, const char *scope, bool *inside, char msg[TALLY_MSG_MAX]);

/* Every unit, ordered by code; *out is malloc'd (free with free()). */
TallyErr tally_unit_list(TallyDb *db, TallyUnit **out, size_t *n, char msg[TALLY_MSG_MAX]);

/* ---- Targets (metric.md; seeded at creation, editable) ------------------------------------------- */

typedef struct {
    double pct[2]; /* [0] the 2025 milestone, [1] the 2030 milestone, in percent */
} TallyTarget;

TallyErr tally_targets_get(TallyDb *db, TallyTarget out[GROUP_COUNT], char msg[TALLY_MSG_MAX]);
/* milestone is 2025 or 2030, pct in (0, 100]. */
TallyErr tally_target_set(TallyDb *db, ProtoGroup g, int milestone, double pct, char msg[TALLY_MSG_MAX]);

/* ---- Settings (key/value text people change without a rebuild) -------------------------------------- */

#define TALLY_SETTING_MAX 200 /* bytes of a setting's value */

/* The value of a setting, copied into out; *found is false (and out "") when it was never set. */
TallyErr tally_setting_get(TallyDb *db, const char *key, char *out, size_t out_len, bool *found,
                           char msg[TALLY_MSG_MAX]);
/* Sets a setting (value NULL: back to its default, i.e. removed). TALLY_E_INVALID when value is empty, longer
 * than TALLY_SETTING_MAX, not UTF-8 or holds control characters. */
TallyErr tally_setting_set(TallyDb *db, const char *key, const char *value, char msg[TALLY_MSG_MAX]);

/* ---- After a restore ---------------------------------------------------------------------------------- */

/* A restore takes the tally back to a backup, but the kiosks have deleted nothing: ratings acknowledged after
 * the backup was taken are still in their stores, marked uploaded. tally-admin restore calls this on the
 * restored file: it records a fresh random epoch and `since`, the newest received_at the backup holds (0 when
 * it holds no rating), in settings, in one transaction. tally-server then names them in every batch reply
 * (header Tally-Restore: EPOCH SINCE, docs/protocol.md), and a kiosk that has not seen that epoch yet queues
 * again what it was acknowledged from a day before `since` on: the server keeps what it still has as
 * duplicates and takes back what the restore lost. */
#define TALLY_SETTING_RESTORE_EPOCH "restore.epoch"
#define TALLY_SETTING_RESTORE_SINCE "restore.since"
TallyErr tally_db_mark_restored(TallyDb *db, int64_t *epoch, int64_t *since, char msg[TALLY_MSG_MAX]);
/* The epoch and since recorded by the last restore; both 0 when the database was never restored. */
TallyErr tally_db_restored(TallyDb *db, int64_t *epoch, int64_t *since, char msg[TALLY_MSG_MAX]);

#endif
