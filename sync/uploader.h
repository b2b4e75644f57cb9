/* uploader.h — the upload engine of kiosk-sync: pending ratings in the store → batches → the tally server.
 *
 * The rule that keeps it honest: a rating leaves "pending" only when a well-formed reply for that very batch
 * (same batch_id, accepted + duplicate + rejected == ratings sent, every rejected id one of ours) accounts
 * for it. Accepted and duplicate ones are marked acknowledged; rejected ones are marked rejected with the
 * server's reason and never retried. Anything else — refused or reset connections, timeouts, 4xx/5xx, an HTML
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

#include "kiosk/store.h"

#define UPLOADER_MAX_BATCH 500                /* ratings per batch, at most */
#define UPLOADER_MAX_REPLY (1u << 20)          /* bytes of reply we read before giving up on it */
#define UPLOADER_TOKEN_MAX 512                 /* bytes of a device token */
#define UPLOADER_CONNECT_TIMEOUT_MS 15000L
#define UPLOADER_TOTAL_TIMEOUT_MS 120000L

typedef enum {
    UPLOADER_OK = 0,
    UPLOADER_E_ARG,      /* bad option (message says which) */
    UPLOADER_E_TOKEN,    /* token file missing, empty, unreadable or readable by group/others */
    UPLOADER_E_STORE,    /* the local store failed; nothing marked for the batch in hand */
    UPLOADER_E_NETWORK,  /* connect/TLS/timeout/reset/truncated transfer; batch left pending */
    UPLOADER_E_HTTP,     /* the server answered a status other than 200; batch left pending */
    UPLOADER_E_REPLY,    /* 200 but not a well-formed reply for this batch; batch left pending */
    UPLOADER_E_NOMEM
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
    long hold_s;               /* follow-up hold (below); 0 = UPLOADER_HOLD_S, < 0 = no hold */
} UploaderOptions;

/* A not-satisfied rating with no follow-up answer yet, made less than hold_s ago, is held back: the kiosk's
 * follow-up screen may still add its reasons, and once a rating is on the server a changed version would be
 * refused as a conflict. Held ratings stay pending and go with the next run. */
#define UPLOADER_HOLD_S 60

/* What one run did. Counts are ratings unless named batches. */
typedef struct {
    int64_t batches_ok;       /* batches whose reply was applied to the store */
    int64_t batches_failed;   /* 0 or 1: a run stops at its first failed batch */
    int64_t sent;             /* ratings in applied batches */
    int64_t accepted, duplicate, rejected;
    long    http_status;      /* of the last request; 0 when none completed */
    int64_t server_date;      /* unix time of the last reply's Date header; 0 when none */
    int64_t server_date_local;/* our clock when that reply arrived */
    int64_t held;             /* pending ratings held back for their follow-up (see hold_s) */
    int64_t held_until;       /* when the first held one is released; 0 when none */
} UploaderResult;

typedef int64_t (*UploaderClock)(void *ctx); /* unix seconds; injected so tests can fix it */

typedef struct Uploader Uploader;
UploaderErr uploader_new(const UploaderOptions *opt, Uploader **out, char *msg, size_t msg_len);
void uploader_free(Uploader *u);

/* Uploads pending ratings oldest first until none are left or a batch fails. `clock` may be NULL (time()).
 * Returns UPLOADER_OK when every batch sent was applied (ratings added meanwhile may still be pending);
 * on error msg says what happened and the failed batch's ratings are still pending. */
UploaderErr uploader_run(Uploader *u, Store *s, UploaderClock clock, void *clock_ctx, UploaderResult *res,
                         char *msg, size_t msg_len);

/* Reads a device token from path: refuses (UPLOADER_E_TOKEN) a file that group or others may read or
 * write, saying to run chmod 600; strips surrounding white space; refuses an empty token or one with
 * control characters inside. */
UploaderErr uploader_read_token(const char *path, char *out, size_t out_len, char *msg, size_t msg_len);

const char *uploader_err_name(UploaderErr e);

#endif
