/* uploader.h — the upload engine of kiosk-sync: a queue of ratings → batches → the tally server.
 *
 * The queue is injected (UploaderQueue), as the kiosk UI takes its storage sink: the kiosk wires its store
 * (kiosk/sync_agent.h), so nothing in sync/ knows the kiosk. The rule that keeps it honest: a rating leaves
 * the queue only when a well-formed reply for that very batch (same batch_id, accepted + duplicate +
 * rejected == ratings sent, every rejected id one of ours) accounts for it, and only as the content that was
 * sent: the queue applies a verdict only while the rating is still the version it handed out, so an answer
 * saved while the batch was in flight is sent again, never lost. Accepted and duplicate ones are marked
 * acknowledged; rejected ones are marked rejected with the server's reason and never retried. Anything else — refused or reset connections, timeouts, 4xx/5xx, an HTML
 * page from a captive portal, a truncated or malformed reply, a reply for another batch — leaves every
 * rating of that batch pending and ends the run with an error; the schedule decides when to try again.
 * Because the server counts a re-sent id with identical content as a duplicate, a lost reply costs a resend,
 * never a double count.
 *
 * One Uploader keeps one libcurl easy handle, so the batches of a run (and of later runs) reuse the
 * connection (HTTP keep-alive). TLS peer and host verification are always on; ca_file adds a CA bundle.
 * Not thread-safe: one Uploader per thread. Call curl_global_init() once before the first uploader_new(). */
#ifndef SYNC_UPLOADER_H
#define SYNC_UPLOADER_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "sync/protocol.h"

#define UPLOADER_MAX_BATCH 500                /* ratings per batch, at most */
#define UPLOADER_MAX_REPLY (1u << 20)          /* bytes of reply we read before giving up on it */
#define UPLOADER_TOKEN_MAX 512                 /* bytes of a device token */
#define UPLOADER_CONNECT_TIMEOUT_MS 15000L
#define UPLOADER_TOTAL_TIMEOUT_MS 120000L

typedef enum {
    UPLOADER_OK = 0,
    UPLOADER_E_ARG,      /* bad option (message says which) */
    UPLOADER_E_TOKEN,    /* token file missing, empty, unreadable or readable by group/others */
    UPLOADER_E_STORE,    /* the queue (the kiosk's store) failed; the batch in hand may be partly marked */
    UPLOADER_E_NETWORK,  /* connect/TLS/timeout/reset/truncated transfer; batch left pending */
    UPLOADER_E_HTTP,     /* the server answered a status other than 200; batch left pending */
    UPLOADER_E_REPLY,    /* 200 but not a well-formed reply for this batch; batch left pending */
    UPLOADER_E_NOMEM,
    UPLOADER_E_RETRY_AFTER /* 503/429 with Retry-After: the server is busy and said when to come back
                            * (UploaderResult.retry_after_s); batch left pending. Not a fault of this kiosk. */
} UploaderErr;

typedef struct {
    const char *url;           /* base, e.g. https://host/api/v1; "/batches" is appended */
    const char *token;         /* device token (without "Bearer ") */
    const char *device_id;
    const char *ca_file;       /* NULL or "" = system CAs */
    long connect_timeout_ms;   /* 0 = UPLOADER_CONNECT_TIMEOUT_MS */
    long total_timeout_ms;     /* per request; 0 = UPLOADER_TOTAL_TIMEOUT_MS */
    size_t batch_size;         /* 1..UPLOADER_MAX_BATCH; 0 = UPLOADER_MAX_BATCH */
    int tz_offset_min;         /* offset written in sent_at; kiosks use PTIME_VN_OFFSET_MIN */
} UploaderOptions;

/* One rating as the queue handed it out, with the queue's content version of it. */
typedef struct {
    ProtoRating rating;
    int64_t     version;
} UploaderItem;

/* Where ratings come from and where the server's verdicts go. Each function returns true, or false with a
 * message (the run then ends with UPLOADER_E_STORE). */
typedef struct {
    void *ctx;
    /* Up to `limit` ratings ready to send at `now`, oldest first. Ratings whose answers may still change
     * (a follow-up screen open on the kiosk) are held back by the queue and not handed out. */
    bool (*next)(void *ctx, int64_t now, UploaderItem *out, size_t limit, size_t *n, char *msg, size_t msg_len);
    /* The server holds these (accepted or duplicate): mark each acknowledged if it is still that version;
     * *changed gets how many stayed queued because they changed meanwhile. One atomic step. */
    bool (*acked)(void *ctx, const UploaderItem *items, size_t n, int64_t now, size_t *changed, char *msg,
                  size_t msg_len);
    /* The server refused this one for `reason`: mark it rejected if it is still that version, else set
     * *changed. A rating no longer queued is not an error. */
    bool (*rejected)(void *ctx, const UploaderItem *item, const char *reason, int64_t now, bool *changed,
                     char *msg, size_t msg_len);
    /* How many ratings are held back at `now`; may be NULL (none ever are). */
    bool (*held)(void *ctx, int64_t now, int64_t *n, char *msg, size_t msg_len);
    /* The server was restored from a backup (PROTO_RESTORE_HEADER on a reply): unless epoch is the one it
     * already saw, queue again every acknowledged rating the backup may lack (acknowledged or made from a
     * day before since on; the server answers duplicate for those it still has) and remember epoch; *n gets
     * how many. Called after each applied batch whose reply carries the header. May be NULL. */
    bool (*restored)(void *ctx, int64_t epoch, int64_t since, int64_t *n, char *msg, size_t msg_len);
} UploaderQueue;

/* What one run did. Counts are ratings unless named batches. */
typedef struct {
    int64_t batches_ok;       /* batches whose reply was applied to the store */
    int64_t batches_failed;   /* 0 or 1: a run stops at its first failed batch */
    int64_t sent;             /* ratings in applied batches */
    int64_t accepted, duplicate, rejected;
    long    http_status;      /* of the last request; 0 when none completed */
    int64_t server_date;      /* unix time of the last reply's Date header; 0 when none */
    int64_t server_date_local;/* our clock when that reply arrived */
    int64_t changed;          /* acknowledged or rejected as sent, but changed meanwhile: queued again */
    int64_t held;             /* ratings the queue held back at the end of the run (follow-up still open) */
    int64_t retry_after_s;    /* UPLOADER_E_RETRY_AFTER: seconds the server asked us to wait (1..3600) */
    int64_t resent_after_restore; /* acknowledged ratings queued again because the server was restored */
} UploaderResult;

#define UPLOADER_RETRY_AFTER_MAX_S 3600 /* a longer Retry-After is taken as an hour */

typedef int64_t (*UploaderClock)(void *ctx); /* unix seconds; injected so tests can fix it */

typedef struct Uploader Uploader;
UploaderErr uploader_new(const UploaderOptions *opt, Uploader **out, char *msg, size_t msg_len);
void uploader_free(Uploader *u);

/* Uploads the queue's ratings oldest first until it hands out no more or a batch fails. `clock` may be NULL
 * (time()). Returns UPLOADER_OK when every batch sent was applied (ratings added or held meanwhile may still
 * be queued); on error msg says what happened and the failed batch's ratings are still queued. */
UploaderErr uploader_run(Uploader *u, const UploaderQueue *q, UploaderClock clock, void *clock_ctx,
                         UploaderResult *res, char *msg, size_t msg_len);

/* Reads a device token from path: refuses (UPLOADER_E_TOKEN) a file that group or others may read or
 * write, saying to run chmod 600; strips surrounding white space; refuses an empty token or one with
 * control characters inside. */
UploaderErr uploader_read_token(const char *path, char *out, size_t out_len, char *msg, size_t msg_len);

const char *uploader_err_name(UploaderErr e);

#endif
