/* store.h — the kiosk's local rating store (one SQLite file on the device).
 *
 * Every rating the citizen was thanked for is on disk when store_add() returns STORE_OK: WAL with
 * synchronous=FULL, one transaction per rating. The UI process and kiosk-sync each open their own Store on
 * the same file; SQLite's locking and a busy timeout make that safe. Only this module touches the file's
 * tables; everything else goes through these functions.
 *
 * Errors: every function returns a StoreErr; the message of the last failure is in store_errmsg(). A failed
 * call leaves the file as it was before the call (each write is one transaction, rolled back on error). */
#ifndef KIOSK_STORE_H
#define KIOSK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sync/protocol.h"

typedef struct Store Store;

typedef enum {
    STORE_OK = 0,
    STORE_NOTFOUND,  /* no rating with that id */
    STORE_INVALID,   /* the rating or an argument breaks a rule (message says which); nothing written */
    STORE_FULL,      /* disk full; nothing written */
    STORE_READONLY,  /* file or folder not writable; nothing written */
    STORE_CORRUPT,   /* the file is not a store or fails its integrity check */
    STORE_BUSY,      /* another process held the lock past the busy timeout; nothing written */
    STORE_IO,        /* any other I/O or SQLite failure */
    STORE_NOMEM
} StoreErr;

#define STORE_BUSY_TIMEOUT_MS 5000

/* Opens (creating if absent) the store at path, runs quick_check, and migrates the schema to the current
 * version inside one transaction. On failure *out is NULL and msg says why (in English, for logs). */
StoreErr store_open(const char *path, Store **out, char *msg, size_t msg_len);
void     store_close(Store *s);
const char *store_errmsg(const Store *s);

/* Adds a rating made at the tap. Assigns r->seq (the next per-device number; stored in the same
 * transaction). The rating must pass proto_rating_validate(). Durable on STORE_OK. A rating whose id is
 * already stored gives STORE_INVALID and changes nothing. */
StoreErr store_add(Store *s, ProtoRating *r);
/* Adds n ratings in one transaction (kiosk-sim, imports): all are stored, or none is (the message names the
 * first one refused). Assigns each r[i].seq in order. */
StoreErr store_add_many(Store *s, ProtoRating *r, size_t n);

/* Records the follow-up answer of a stored rating. Only a rating still pending upload can change;
 * STORE_NOTFOUND when there is no such pending rating. */
StoreErr store_set_followup(Store *s, const char *id, ProtoFollowup f, uint32_t reasons);

/* Totals for one Asia/Ho_Chi_Minh day (ptime day number). Flagged ratings are counted only in flagged[]. */
typedef struct {
    int64_t count[AREA_COUNT][SCALE_COUNT][PROTO_MAX_LEVELS + 1]; /* [area][scale][score] */
    int64_t n[AREA_COUNT];          /* unflagged ratings per area */
    int64_t satisfied[AREA_COUNT];  /* unflagged satisfied ratings per area */
    int64_t flagged[AREA_COUNT];
    int64_t total, total_satisfied, total_flagged;
} StoreDayTotals;
StoreErr store_day_totals(Store *s, int64_t day, StoreDayTotals *out);

/* Upload bookkeeping. */
typedef struct {
    int64_t pending, acked, rejected;
} StoreCounts;
StoreErr store_counts(Store *s, StoreCounts *out);

/* Up to `limit` pending ratings, oldest (lowest seq) first, into out[]; *n gets how many. */
StoreErr store_pending(Store *s, ProtoRating *out, size_t limit, size_t *n);
/* Marks these ids acknowledged by the server (at unix time now). Ids not pending are ignored. One txn. */
StoreErr store_mark_acked(Store *s, const char *const *ids, size_t n, int64_t now);
/* Marks one id rejected by the server, with its reason code; it is no longer pending. */
StoreErr store_mark_rejected(Store *s, const char *id, const char *reason, int64_t now);
/* Rejected ratings, newest first, for the supervisor screen: ids and reasons. */
typedef struct {
    char id[UUID_TEXT_LEN];
    char reason[32];
} StoreRejected;
StoreErr store_rejected(Store *s, StoreRejected *out, size_t limit, size_t *n);
/* Deletes acknowledged ratings acknowledged more than `days` days before now. Never deletes pending ones. */
StoreErr store_prune(Store *s, int days, int64_t now, int64_t *deleted);

/* The most recent rating's unix time and how many ratings were made since `since` (for misuse checks
 * after a restart); 0 / 0 when there are none. */
StoreErr store_recent(Store *s, int64_t since, int64_t *last_at, int64_t *count_since);

/* Sync status: written by kiosk-sync, read by the supervisor screen. Times are unix seconds, 0 = never. */
typedef struct {
    int64_t last_attempt;
    int64_t last_success;
    char    last_error[256];     /* "" when the last attempt succeeded */
    int64_t next_attempt;        /* back-off: no automatic attempt before this */
    int32_t failures;            /* consecutive failed attempts */
    int64_t clock_skew_s;        /* device clock minus server Date header, last seen */
    char    clock_warning[160];  /* "" when the clock looks sane */
} StoreSyncStatus;
StoreErr store_sync_status_get(Store *s, StoreSyncStatus *out);
StoreErr store_sync_status_put(Store *s, const StoreSyncStatus *st);

/* "Đồng bộ ngay": the UI records a request; kiosk-sync sees it and clears it when it has run. */
StoreErr store_sync_request(Store *s, int64_t now);
StoreErr store_sync_requested(Store *s, int64_t *requested_at); /* 0 when none */
StoreErr store_sync_request_clear(Store *s, int64_t upto);      /* clears requests made at or before upto */

#endif
