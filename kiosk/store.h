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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiosk/day_totals.h"
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
/* The same for a rating whose later questions are on screen from now on: the upload queue holds it back
 * (store_queue_next) until the last answer is saved (store_set_followup, or store_set_answers with more =
 * false) or store_followups_closed says no screen is open any more, so it normally goes to the server once,
 * complete. */
StoreErr store_add_asking(Store *s, ProtoRating *r);
/* Adds n ratings in one transaction (kiosk-sim, imports): all are stored, or none is (the message names the
 * first one refused). Assigns each r[i].seq in order. */
StoreErr store_add_many(Store *s, ProtoRating *r, size_t n);

/* Records the follow-up answer (not FOLLOWUP_NONE) of a stored rating and ends its hold. An answer is given
 * once: STORE_INVALID when the rating already has one; STORE_NOTFOUND when there is no such rating. The
 * answer is new content (its version goes up), so a rating the server had already acknowledged is pending
 * again and goes once more: the server accepts a follow-up added once (docs/protocol.md). */
StoreErr store_set_followup(Store *s, const char *id, ProtoFollowup f, uint32_t reasons);
/* Saves the answers given after the tap that `answered` carries (the follow-up reasons, the service face,
 * who is rating, how long they waited: proto_rating_copy_answers) into the stored rating with its id; the
 * fields fixed at the tap are taken from the store. Each answer is given once: STORE_INVALID when one would
 * change or go missing (nothing written). New answers are new content (version up; an acknowledged rating is
 * pending again). more: questions are still on screen, so the hold stays; false ends it (a call adding no
 * answer then only ends the hold). STORE_NOTFOUND when there is no such rating. */
StoreErr store_set_answers(Store *s, const ProtoRating *answered, bool more);
/* No follow-up screen is open (the kiosk app has just started): ends every hold. */
StoreErr store_followups_closed(Store *s);

/* Totals for one Asia/Ho_Chi_Minh day (ptime day number). Flagged ratings are counted only in flagged[]. */
typedef DayTotals StoreDayTotals;
StoreErr store_day_totals(Store *s, int64_t day, StoreDayTotals *out);

/* Upload bookkeeping. */
typedef struct {
    int64_t pending, acked, rejected;
} StoreCounts;
StoreErr store_counts(Store *s, StoreCounts *out);
/* What has not reached the tally: pending and rejected ratings. Cheap whatever the retention (it does not
 * count the acknowledged ratings, which store_counts must walk): the supervisor screen reads it every 5 s. */
StoreErr store_backlog(Store *s, int64_t *pending, int64_t *rejected);

/* Up to `limit` pending ratings (held ones too), oldest (lowest seq) first, into out[]; *n gets how many. */
StoreErr store_pending(Store *s, ProtoRating *out, size_t limit, size_t *n);

/* The upload queue. Every rating carries a content version (rev) that goes up whenever what would be sent
 * changes (a follow-up answer). The uploader reads ratings with their rev and marks them with the rev it
 * sent: a mark applies only while the content is still that version, so an answer saved while a batch was
 * in flight is never marked as acknowledged; it stays pending and is sent again. */
typedef struct {
    ProtoRating r;
    int64_t     rev;
} StoreQueued;

/* A rating added with store_add_asking is held while its follow-up is open, but never for longer than this
 * around now (an app that stopped with the screen open and has not started since, a clock that jumped). */
#define STORE_HOLD_MAX_S 86400

/* Up to `limit` ratings ready to upload at time now, oldest first: pending and not held. */
StoreErr store_queue_next(Store *s, int64_t now, StoreQueued *out, size_t limit, size_t *n);
/* How many pending ratings made before `made_before` (unix s; INT64_MAX for all) are held at `now` for an
 * open follow-up screen. */
StoreErr store_queue_held(Store *s, int64_t now, int64_t made_before, int64_t *held);
/* Marks ids[i] acknowledged by the server (at unix time now) if its content is still version revs[i]. Ids
 * not pending are ignored; *changed (may be NULL) gets how many stayed pending because their content changed
 * since they were read. One transaction. */
StoreErr store_mark_acked(Store *s, const char *const *ids, const int64_t *revs, size_t n, int64_t now,
                          size_t *changed);
/* Marks one rating rejected by the server with its reason code, if its content is still version rev; else it
 * stays pending and *changed (may be NULL) is set. STORE_NOTFOUND when no such rating is pending. */
StoreErr store_mark_rejected(Store *s, const char *id, int64_t rev, const char *reason, int64_t now,
                             bool *changed);
/* The tally server was restored from a backup (sync/uploader.h, PROTO_RESTORE_HEADER): unless this store
 * already saw epoch, queues again every acknowledged rating acknowledged or made from a day before since
 * (server time, unix s) on, and remembers epoch. *requeued (may be NULL) gets how many. One transaction. */
StoreErr store_server_restored(Store *s, int64_t epoch, int64_t since, int64_t *requeued);
/* Rejected ratings, newest first (kiosk-report --rejected). */
typedef struct {
    char       id[UUID_TEXT_LEN];
    char       reason[32];      /* the server's code: conflict, unit_mismatch, … */
    int64_t    seq;
    char       at[PTIME_TEXT_MAX];
    ProtoArea  area;
    ProtoScale scale;
    int        score;
    int64_t    rejected_at;     /* unix s */
} StoreRejected;
StoreErr store_rejected(Store *s, StoreRejected *out, size_t limit, size_t *n);

/* Retention: deletes acknowledged ratings made more than keep_days whole days (Asia/Ho_Chi_Minh) before
 * today, in transactions of a few hundred rows so the kiosk never waits long, then hands the freed space back
 * to the file system where the file allows it. Pending and rejected ratings are never deleted; the seq
 * counter keeps counting. *deleted (may be NULL) gets how many went. */
StoreErr store_prune(Store *s, int keep_days, int64_t now, int64_t *deleted);
/* How far back the store's day totals go: *first_day is the first VN day held in full (the prune limit when
 * anything was pruned, *pruned then true; else the first rating's day, or today when there is none). */
StoreErr store_history(Store *s, int64_t now, int64_t *first_day, bool *pruned);

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
