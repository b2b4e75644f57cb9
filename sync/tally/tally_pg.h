/* tally_pg.h — the PostgreSQL backend of the tally database (internal to sync/tally; docs/internals/storage.md).
 *
 * tally_db_open() picks it for a libpq URI ("postgresql://…" or "postgres://…"); every public function of
 * tally_db.h checks its arguments once, then calls the SQLite code or the tally_pg_* function below, so the
 * rules (what a valid code is, how a token is made and hashed, what message an error carries) live in one
 * place and only the SQL differs. tally_ingest.c and tally_query.c keep one logic for both and run their
 * statements through tally_pg_exec / tally_pg_sql here. One TallyPg is one PGconn: one thread at a time, like
 * a TallyDb.
 * Statements take their values as parameters ($1…), never spliced into the SQL. */
#ifndef SYNC_TALLY_PG_H
#define SYNC_TALLY_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "sync/tally/tally_db.h"

#define TALLY_PG_HASH_LEN 32 /* a token's BLAKE2b-256, as tally_db.c makes it */

typedef struct TallyPg TallyPg;

/* Whether path names a PostgreSQL database (a libpq URI) rather than a SQLite file. */
bool     tally_pg_is_uri(const char *path);
/* The backend of db, or NULL when db is a SQLite file. */
TallyPg *tally_db_pg(TallyDb *db);
/* Connects, migrates (schema_version; each migration one transaction under an advisory lock, so several
 * processes starting at once migrate once) and seeds the targets. The URI is never echoed into msg: it may
 * hold a password. */
TallyErr tally_pg_open(const char *uri, TallyPg **out, char msg[TALLY_MSG_MAX]);
void     tally_pg_close(TallyPg *pg);
PGconn  *tally_pg_conn(TallyPg *pg);
/* tally_db_ready's work: a broken connection is reset (PQreset) and its session settings made again. */
TallyErr tally_pg_ready(TallyPg *pg, char msg[TALLY_MSG_MAX]);
/* How many times the connection was made again: what was prepared on it before is gone when this moves. */
unsigned tally_pg_generation(TallyPg *pg);

/* Runs one statement with text parameters (NULL = SQL NULL) and checks its status: PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK. On success *res (when res is not NULL) is the result to PQclear; on failure the error is
 * mapped (tally_pg_fail) and nothing is left to clear. */
TallyErr tally_pg_exec(TallyPg *pg, const char *what, char msg[TALLY_MSG_MAX], PGresult **res, const char *sql,
                       int n, const char *const *params);
/* Maps a failed result (or NULL: the connection) to TALLY_E_BUSY (serialization failure, deadlock, lock not
 * available, the connection lost), TALLY_E_NOMEM, TALLY_E_EXISTS (unique violation) or TALLY_E_DB, with "what: server message". */
TallyErr tally_pg_fail(TallyPg *pg, const PGresult *res, const char *what, char msg[TALLY_MSG_MAX]);
/* SQLite's text of a statement as PostgreSQL's: each ?N parameter becomes $N (so one SQL text serves both
 * where the dialects agree; the statements passed hold no '?' otherwise). False when out is too small. */
bool     tally_pg_sql(const char *sqlite_sql, char *out, size_t cap);
/* Ends the open transaction, if any, with ROLLBACK. */
void     tally_pg_rollback(TallyPg *pg);

/* One row of a result on either backend, for the modules that keep one logic for both (tally_query.c,
 * tally_account.c): a SQLite statement (stepped by tally_rows_next), or row i of a libpq result (i starts at
 * -1). Text is valid until the next step or PQclear; NULL for SQL NULL. */
typedef struct {
    sqlite3_stmt   *st;
    const PGresult *res;
    int             i;
} TallyRows;
const char *tally_rows_text(const TallyRows *r, int col);
int64_t     tally_rows_i64(const TallyRows *r, int col);
/* Moves to the next row: false at the end, or on a SQLite error (then *rc is not SQLITE_DONE). */
bool        tally_rows_next(TallyRows *r, int *rc);

TallyErr tally_pg_probe_write(TallyPg *pg, int64_t now, char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_read_begin(TallyPg *pg, char msg[TALLY_MSG_MAX]);
void     tally_pg_read_end(TallyPg *pg);

/* The unit tree; arguments are already checked by tally_db.c. */
TallyErr tally_pg_unit_exists(TallyPg *pg, const char *code, char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_unit_add(TallyPg *pg, const char *code, const char *name, const char *parent,
                           char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_unit_import(TallyPg *pg, const char *text, size_t len, const char *path, size_t *count,
                              char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_unit_in_scope(TallyPg *pg, const char *unit, const char *scope, bool *inside,
                                char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_unit_list(TallyPg *pg, TallyUnit **out, size_t *n, char msg[TALLY_MSG_MAX]);

/* Enrolment rows carrying a fresh token's hash: TALLY_E_EXISTS (msg left to the caller) when the key is taken.
 * since 0 = the default (NULL); unit NULL = a province-wide viewer. */
TallyErr tally_pg_device_insert(TallyPg *pg, const char *id, const char *unit, int64_t since,
                                const unsigned char hash[TALLY_PG_HASH_LEN], int64_t now, char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_viewer_insert(TallyPg *pg, const char *name, const char *unit,
                                const unsigned char hash[TALLY_PG_HASH_LEN], int64_t now, char msg[TALLY_MSG_MAX]);
/* Revokes (keeping the first time); a viewer's sessions end in the same transaction. TALLY_E_NOT_FOUND with
 * msg left to the caller when there is no such row. */
TallyErr tally_pg_revoke(TallyPg *pg, bool viewer, const char *key, int64_t now, char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_device_list(TallyPg *pg, bool (*fn)(const TallyDevice *d, void *ud), void *ud,
                              char msg[TALLY_MSG_MAX]);
/* Looks a token's hash up: a device gives id and unit, a viewer name and scope unit ("" = province). */
TallyErr tally_pg_auth(TallyPg *pg, bool viewer, const unsigned char hash[TALLY_PG_HASH_LEN], TallyAuth *auth,
                       char *col1, size_t col1_len, char *col2, size_t col2_len, char msg[TALLY_MSG_MAX]);

TallyErr tally_pg_targets_get(TallyPg *pg, TallyTarget out[GROUP_COUNT], char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_target_set(TallyPg *pg, ProtoGroup g, int milestone, double pct, char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_setting_get(TallyPg *pg, const char *key, char *out, size_t out_len, bool *found,
                              char msg[TALLY_MSG_MAX]);
TallyErr tally_pg_setting_set(TallyPg *pg, const char *key, const char *value, char msg[TALLY_MSG_MAX]);
/* tally_db_mark_restored's work: since = the newest received_at of any rating (0 for none), and the epoch and
 * since written to settings, in one transaction. */
TallyErr tally_pg_mark_restored(TallyPg *pg, int64_t epoch, int64_t *since, char msg[TALLY_MSG_MAX]);

#endif
