/* test_uploader.c — the upload engine (sync/uploader.h) against a scripted HTTP server (libmicrohttpd on a
 * random loopback port) and a real store file as its queue (kiosk/sync_agent.h): what gets marked uploaded,
 * rejected, or left pending for every kind of reply; batching, order, keep-alive, the token rules, the
 * follow-up hold, a follow-up saved while its batch is in flight, and TLS. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <curl/curl.h>
#include <ftw.h>
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kiosk/store.h"
#include "kiosk/sync_agent.h"
#include "sync/protocol.h"
#include "sync/ptime.h"
#include "sync/uploader.h"

/* ---- The scripted server ------------------------------------------------------------------------------ */

typedef enum {
    MODE_ACCEPT,        /* accepted = n */
    MODE_REJECT_SOME,   /* every 4th item rejected as "conflict", the rest duplicate */
    MODE_WRONG_BATCH,   /* a well-formed reply for another batch id */
    MODE_BAD_COUNTS,    /* accepted = n - 1 */
    MODE_FOREIGN_REJECT,/* counts add up, but the rejected id is not in the batch */
    MODE_HTML,          /* 200 text/html: a captive portal */
    MODE_500,
    MODE_401,
    MODE_503_RETRY,     /* 503 busy with Retry-After: 7 */
    MODE_503_RETRY_DATE,/* 503 busy with Retry-After as an HTTP-date 90 s after its Date */
    MODE_503_BARE,      /* 503 without Retry-After */
    MODE_TRUNCATED_JSON,/* 200 with half a reply */
    MODE_SLOW,          /* accepts, but answers after the client's timeout */
} Mode;

#define MAX_SEEN 64

typedef struct {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t mu;
    Mode mode;
    int requests;
    int connections;
    int answered;                    /* items received with followup "answered" */
    size_t batch_n[MAX_SEEN];        /* ratings per batch received */
    int64_t batch_first_seq[MAX_SEEN];
    char auth[600];
    char device_id[PROTO_ID_MAX + 1];
    const char *date_header;         /* NULL = MHD's own */
} Server;

typedef struct {
    char *d;
    size_t len;
} Body;

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode t)
{
    (void)c;
    (void)socket_context;
    Server *s = cls;
    if(t == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&s->mu);
        s->connections++;
        pthread_mutex_unlock(&s->mu);
    }
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    Body *b = *req_cls;
    if(b) {
        free(b->d);
        free(b);
    }
    *req_cls = NULL;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type, const char *text,
                               const char *date)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    if(date)
        MHD_add_response_header(r, "Date", date);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
    (void)url;
    (void)method;
    (void)version;
    Server *s = cls;
    Body *b = *req_cls;
    if(!b) {
        *req_cls = calloc(1, sizeof(Body));
        return *req_cls ? MHD_YES : MHD_NO;
    }
    if(*upload_size) {
        char *nd = realloc(b->d, b->len + *upload_size + 1);
        if(!nd)
            return MHD_NO;
        b->d = nd;
        memcpy(b->d + b->len, upload, *upload_size);
        b->len += *upload_size;
        b->d[b->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    ProtoBatch batch;
    ProtoError err;
    if(proto_batch_parse(b->d ? b->d : "", b->len, &batch, &err) != PROTO_OK) {
        proto_batch_free(&batch);
        return respond(c, 400, "application/json", "{\"error\":\"bad batch\"}", NULL);
    }
    pthread_mutex_lock(&s->mu);
    Mode mode = s->mode;
    if(s->requests < MAX_SEEN) {
        s->batch_n[s->requests] = batch.n;
        s->batch_first_seq[s->requests] = batch.n ? batch.items[0].rating.seq : 0;
    }
    s->requests++;
    for(size_t i = 0; i < batch.n; i++)
        s->answered += batch.items[i].rating.followup == FOLLOWUP_ANSWERED;
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(s->auth, sizeof s->auth, "%s", a ? a : "");
    snprintf(s->device_id, sizeof s->device_id, "%s", batch.device_id);
    const char *date = s->date_header;
    pthread_mutex_unlock(&s->mu);

    ProtoReply rep = {0};
    ProtoReject *rej = calloc(batch.n + 1, sizeof *rej);
    if(!rej) {
        proto_batch_free(&batch);
        return MHD_NO;
    }
    snprintf(rep.batch_id, sizeof rep.batch_id, "%s", batch.batch_id);
    rep.accepted = (int64_t)batch.n;
    rep.rejected = rej;
    enum MHD_Result ret;
    char *json = NULL;
    switch(mode) {
    case MODE_REJECT_SOME:
        rep.accepted = 0;
        for(size_t i = 0; i < batch.n; i++) {
            if(i % 4 == 3) {
                snprintf(rej[rep.n_rejected].id, sizeof rej[0].id, "%s", batch.items[i].rating.id);
                snprintf(rej[rep.n_rejected].error, sizeof rej[0].error, "conflict");
                rep.n_rejected++;
            } else {
                rep.duplicate++;
            }
        }
        break;
    case MODE_WRONG_BATCH:
        snprintf(rep.batch_id, sizeof rep.batch_id, "0190a0b0-0000-7000-8000-000000000001");
        break;
    case MODE_BAD_COUNTS:
        rep.accepted = (int64_t)batch.n - 1;
        break;
    case MODE_FOREIGN_REJECT:
        rep.accepted = (int64_t)batch.n - 1;
        snprintf(rej[0].id, sizeof rej[0].id, "0190a0b0-0000-7000-8000-0000000000ff");
        snprintf(rej[0].error, sizeof rej[0].error, "conflict");
        rep.n_rejected = 1;
        break;
    case MODE_SLOW:
        usleep(1500 * 1000);
        break;
    default:
        break;
    }
    if(mode == MODE_HTML) {
        ret = respond(c, 200, "text/html", "<html><body><form action=/login>Đăng nhập</form></body></html>", date);
    } else if(mode == MODE_500) {
        ret = respond(c, 500, "application/json", "{\"error\":\"internal\"}", date);
    } else if(mode == MODE_503_RETRY || mode == MODE_503_RETRY_DATE || mode == MODE_503_BARE) {
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen("{\"error\":\"busy\"}"),
                                                                 (void *)"{\"error\":\"busy\"}", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "application/json");
        if(mode == MODE_503_RETRY)
            MHD_add_response_header(r, "Retry-After", "7");
        if(mode == MODE_503_RETRY_DATE) {
            MHD_add_response_header(r, "Date", "Sun, 22 Nov 2026 01:00:00 GMT");
            MHD_add_response_header(r, "Retry-After", "Sun, 22 Nov 2026 01:01:30 GMT");
        }
        ret = MHD_queue_response(c, 503, r);
        MHD_destroy_response(r);
    } else if(mode == MODE_401) {
        ret = respond(c, 401, "application/json", "{\"error\":\"unknown token\"}", date);
    } else {
        json = proto_reply_dump(&rep);
        if(mode == MODE_TRUNCATED_JSON)
            json[strlen(json) / 2] = '\0';
        ret = respond(c, 200, "application/json", json, date);
    }
    free(json);
    free(rej);
    proto_batch_free(&batch);
    return ret;
}

static void server_start(Server *s, const char *tls_key, const char *tls_cert)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if(tls_key)
        flags |= MHD_USE_TLS;
    if(tls_key)
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                                MHD_OPTION_NOTIFY_CONNECTION, on_conn, s, MHD_OPTION_HTTPS_MEM_KEY, tls_key,
                                MHD_OPTION_HTTPS_MEM_CERT, tls_cert, MHD_OPTION_END);
    else
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                                MHD_OPTION_NOTIFY_CONNECTION, on_conn, s, MHD_OPTION_END);
    assert_non_null(s->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    s->port = info->port;
    assert_true(s->port > 0);
}

static void server_stop(Server *s)
{
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
}

/* ---- Fixture: a temp folder with a store ---------------------------------------------------------------- */

typedef struct {
    char dir[64];
    char db[128];
    Store *store;
    UploaderQueue *q;
    Server srv;
    Uploader *up;
    char url[64];
} Fx;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_uploader.XXXXXX");
    if(!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/kiosk.db", f->dir);
    char msg[256];
    if(store_open(f->db, &f->store, msg, sizeof msg) != STORE_OK || !(f->q = sync_queue_new(f->store)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fx *f = *state;
    uploader_free(f->up);
    if(f->srv.d)
        server_stop(&f->srv);
    sync_queue_free(f->q);
    store_close(f->store);
    nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* n ratings made days ago (so no follow-up hold applies), scores cycling through the tthc3 scale. */
static void add_ratings(Fx *f, int n, int64_t t0)
{
    for(int i = 0; i < n; i++) {
        ProtoRating r = {0};
        uint8_t rnd[10] = {(uint8_t)i, (uint8_t)(i >> 8), 7, 7, 7, 7, 7, 7, 7, 7};
        uuid_v7_make(r.id, (uint64_t)(t0 + i) * 1000u, rnd);
        snprintf(r.unit, sizeof r.unit, "G01.CT1");
        r.area = (ProtoArea)(i % AREA_COUNT);
        r.scale = SCALE_TTHC3;
        r.score = 1 + i % 3;
        r.followup = r.score == 1 ? FOLLOWUP_ANSWERED : FOLLOWUP_NONE;
        r.reasons = r.score == 1 ? 1u << REASON_CHO_DOI : 0;
        ptime_format(t0 + i, PTIME_VN_OFFSET_MIN, r.at);
        assert_int_equal(store_add(f->store, &r), STORE_OK);
    }
}

static const int64_t T0 = 1795000000; /* 2026-11-18 */

static Uploader *make_uploader(Fx *f, const char *scheme, const char *ca, size_t batch, long timeout_ms,
                               char *msg, size_t msg_len, UploaderErr *err)
{
    snprintf(f->url, sizeof f->url, "%s://127.0.0.1:%u/api/v1/", scheme, f->srv.port);
    UploaderOptions o = {.url = f->url, .token = "tok-123", .device_id = "kiosk-7", .ca_file = ca,
                         .batch_size = batch, .total_timeout_ms = timeout_ms, .connect_timeout_ms = 2000,
                         .tz_offset_min = PTIME_VN_OFFSET_MIN};
    Uploader *u = NULL;
    *err = uploader_new(&o, &u, msg, msg_len);
    return u;
}

static void start(Fx *f, Mode mode, size_t batch)
{
    server_start(&f->srv, NULL, NULL);
    f->srv.mode = mode;
    char msg[256];
    UploaderErr e;
    /* Generous for a loaded machine; the slow server (1.5 s) outlasts the short one. */
    f->up = make_uploader(f, "http", NULL, batch, mode == MODE_SLOW ? 500 : 10000, msg, sizeof msg, &e);
    assert_int_equal(e, UPLOADER_OK);
}

static StoreCounts counts(Fx *f)
{
    StoreCounts c;
    assert_int_equal(store_counts(f->store, &c), STORE_OK);
    return c;
}

static int64_t fixed_clock(void *ctx) { return *(int64_t *)ctx; }

/* ---- Tests -------------------------------------------------------------------------------------------- */

static void test_accepted_batches_are_marked_uploaded_in_order_over_one_connection(void **state)
{
    Fx *f = *state;
    add_ratings(f, 1203, T0);
    start(f, MODE_ACCEPT, 0);
    UploaderResult res;
    char msg[256];
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_OK);
    StoreCounts c = counts(f);
    assert_int_equal(c.pending, 0);
    assert_int_equal(c.acked, 1203);
    assert_int_equal(res.accepted, 1203);
    assert_int_equal(res.batches_ok, 3);
    /* At most 500 per batch, oldest (lowest seq) first. */
    assert_int_equal(f->srv.requests, 3);
    assert_int_equal(f->srv.batch_n[0], 500);
    assert_int_equal(f->srv.batch_n[1], 500);
    assert_int_equal(f->srv.batch_n[2], 203);
    assert_int_equal(f->srv.batch_first_seq[0], 1);
    assert_int_equal(f->srv.batch_first_seq[1], 501);
    assert_int_equal(f->srv.batch_first_seq[2], 1001);
    /* Keep-alive: the three batches went over one connection. */
    assert_int_equal(f->srv.connections, 1);
    assert_string_equal(f->srv.auth, "Bearer tok-123");
    assert_string_equal(f->srv.device_id, "kiosk-7");
    /* A second run has nothing to send. */
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(f->srv.requests, 3);
    assert_int_equal(res.sent, 0);
}

static void test_rejected_items_are_marked_with_the_server_reason(void **state)
{
    Fx *f = *state;
    add_ratings(f, 20, T0);
    start(f, MODE_REJECT_SOME, 0);
    UploaderResult res;
    char msg[256];
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_OK);
    StoreCounts c = counts(f);
    assert_int_equal(c.pending, 0);
    assert_int_equal(c.rejected, 5);
    assert_int_equal(c.acked, 15);
    assert_int_equal(res.duplicate, 15);
    assert_int_equal(res.rejected, 5);
    StoreRejected rj[10];
    size_t n = 0;
    assert_int_equal(store_rejected(f->store, rj, 10, &n), STORE_OK);
    assert_int_equal(n, 5);
    for(size_t i = 0; i < n; i++)
        assert_string_equal(rj[i].reason, "conflict");
}

/* Every reply that does not account for the batch leaves every rating pending. */
static void expect_all_pending(Fx *f, Mode mode, UploaderErr want, const char *msg_part)
{
    add_ratings(f, 30, T0);
    start(f, mode, 10);
    UploaderResult res;
    char msg[512];
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), want);
    StoreCounts c = counts(f);
    assert_int_equal(c.pending, 30);
    assert_int_equal(c.acked, 0);
    assert_int_equal(c.rejected, 0);
    assert_int_equal(res.batches_ok, 0);
    assert_int_equal(res.batches_failed, 1);
    /* The run stops at the first failed batch. */
    assert_int_equal(f->srv.requests, 1);
    if(msg_part && !strstr(msg, msg_part))
        fail_msg("message '%s' does not mention '%s'", msg, msg_part);
}

static void test_reply_for_another_batch_leaves_pending(void **state)
{
    expect_all_pending(*state, MODE_WRONG_BATCH, UPLOADER_E_REPLY, "not");
}

static void test_counts_that_do_not_add_up_leave_pending(void **state)
{
    expect_all_pending(*state, MODE_BAD_COUNTS, UPLOADER_E_REPLY, "add up");
}

static void test_reject_of_an_id_not_sent_leaves_pending(void **state)
{
    expect_all_pending(*state, MODE_FOREIGN_REJECT, UPLOADER_E_REPLY, "not in this batch");
}

static void test_captive_portal_html_leaves_pending(void **state)
{
    expect_all_pending(*state, MODE_HTML, UPLOADER_E_REPLY, "HTML");
}

static void test_server_error_leaves_pending(void **state)
{
    expect_all_pending(*state, MODE_500, UPLOADER_E_HTTP, "500");
}

/* A busy server that says when to come back: nothing marked, the wait reported, not counted as a failure of
 * this kiosk (kiosk/sync_agent.c schedules it instead of backing off). Without Retry-After it is a plain 5xx. */
static void test_busy_server_with_retry_after_leaves_pending_and_says_when(void **state)
{
    Fx *f = *state;
    expect_all_pending(f, MODE_503_RETRY, UPLOADER_E_RETRY_AFTER, "7 s");
    UploaderResult res;
    char msg[256];
    f->srv.mode = MODE_503_RETRY;
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_E_RETRY_AFTER);
    assert_int_equal(res.retry_after_s, 7);
    assert_int_equal(res.http_status, 503);
    f->srv.mode = MODE_503_RETRY_DATE;
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_E_RETRY_AFTER);
    assert_int_equal(res.retry_after_s, 90);
    f->srv.mode = MODE_503_BARE;
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_E_HTTP);
    assert_int_equal(res.retry_after_s, 0);
    assert_int_equal(counts(f).pending, 30);
    /* And once the server has room, everything goes. */
    f->srv.mode = MODE_ACCEPT;
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(counts(f).acked, 30);
}

static void test_unknown_token_leaves_pending_and_says_so(void **state)
{
    expect_all_pending(*state, MODE_401, UPLOADER_E_HTTP, "token");
}

static void test_truncated_reply_leaves_pending(void **state)
{
    expect_all_pending(*state, MODE_TRUNCATED_JSON, UPLOADER_E_REPLY, "malformed");
}

static void test_timeout_leaves_pending(void **state)
{
    expect_all_pending(*state, MODE_SLOW, UPLOADER_E_NETWORK, "network");
}

static void test_refused_connection_leaves_pending(void **state)
{
    Fx *f = *state;
    add_ratings(f, 5, T0);
    /* A port with nobody listening: start a server to learn a free port, then stop it. */
    server_start(&f->srv, NULL, NULL);
    server_stop(&f->srv);
    f->srv.d = NULL;
    char msg[256];
    UploaderErr e;
    f->up = make_uploader(f, "http", NULL, 0, 800, msg, sizeof msg, &e);
    assert_int_equal(e, UPLOADER_OK);
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, NULL, msg, sizeof msg), UPLOADER_E_NETWORK);
    assert_int_equal(counts(f).pending, 5);
}

static void test_recovers_after_a_failed_batch(void **state)
{
    Fx *f = *state;
    add_ratings(f, 25, T0);
    start(f, MODE_500, 10);
    char msg[256];
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, NULL, msg, sizeof msg), UPLOADER_E_HTTP);
    assert_int_equal(counts(f).pending, 25);
    f->srv.mode = MODE_ACCEPT;
    UploaderResult res;
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(counts(f).pending, 0);
    assert_int_equal(counts(f).acked, 25);
    assert_int_equal(res.batches_ok, 3);
}

static void test_server_date_header_is_reported(void **state)
{
    Fx *f = *state;
    add_ratings(f, 3, T0);
    start(f, MODE_ACCEPT, 0);
    f->srv.date_header = "Sun, 22 Nov 2026 01:00:00 GMT";
    UploaderResult res;
    char msg[256];
    int64_t now = 1795000000;
    assert_int_equal(uploader_run(f->up, f->q, fixed_clock, &now, &res, msg, sizeof msg), UPLOADER_OK);
    int64_t want;
    int off;
    assert_true(ptime_parse("2026-11-22T01:00:00Z", &want, &off));
    assert_int_equal(res.server_date, want);
    assert_int_equal(res.server_date_local, now);
}

/* A not-satisfied rating made `ago` seconds before now, its follow-up screen open (store_add_asking). */
static ProtoRating add_asking(Fx *f, int64_t now, int64_t ago, uint8_t tag)
{
    ProtoRating r = {0};
    uint8_t rnd[10] = {tag, tag, tag, tag, tag, tag, tag, tag, tag, tag};
    uuid_v7_make(r.id, (uint64_t)(now - ago) * 1000u, rnd);
    snprintf(r.unit, sizeof r.unit, "G01.CT1");
    r.area = AREA_DAT_DAI;
    r.scale = SCALE_TTHC3;
    r.score = 1;
    r.followup = FOLLOWUP_NONE;
    ptime_format(now - ago, PTIME_VN_OFFSET_MIN, r.at);
    assert_int_equal(store_add_asking(f->store, &r), STORE_OK);
    return r;
}

static void test_rating_is_held_while_its_followup_screen_is_open_however_long(void **state)
{
    Fx *f = *state;
    int64_t now = T0 + 86400;
    add_ratings(f, 4, T0); /* no screen open for these */
    ProtoRating r = add_asking(f, now, 10, 9);
    start(f, MODE_ACCEPT, 0);
    UploaderResult res;
    char msg[256];
    assert_int_equal(uploader_run(f->up, f->q, fixed_clock, &now, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(counts(f).acked, 4);
    assert_int_equal(counts(f).pending, 1);
    assert_int_equal(res.held, 1);
    /* A slow citizen: every tap restarts the screen's idle timer. No fixed time releases it. */
    now += 3630;
    assert_int_equal(uploader_run(f->up, f->q, fixed_clock, &now, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(counts(f).pending, 1);
    assert_int_equal(f->srv.requests, 1);
    /* The screen closes with the answer: it goes at once, complete. */
    assert_int_equal(store_set_followup(f->store, r.id, FOLLOWUP_ANSWERED, 1u << REASON_THU_TUC), STORE_OK);
    assert_int_equal(uploader_run(f->up, f->q, fixed_clock, &now, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(counts(f).pending, 0);
    assert_int_equal(counts(f).acked, 5);
    assert_int_equal(res.held, 0);
    assert_int_equal(f->srv.answered, 3); /* two of add_ratings' complaints came answered, then this one */
}

/* An app that stopped with the screen open cannot hold a rating for ever: its restart closes every screen,
 * and a mark more than STORE_HOLD_MAX_S from now (never restarted, or a clock jump) is ignored. */
static void test_hold_ends_at_app_restart_and_never_outlasts_a_day(void **state)
{
    Fx *f = *state;
    int64_t now = T0;
    add_asking(f, now, 5, 1);
    add_asking(f, now, STORE_HOLD_MAX_S + 1, 2);
    add_asking(f, now, -(STORE_HOLD_MAX_S + 1), 3); /* stamped by a clock a day ahead */
    start(f, MODE_ACCEPT, 0);
    UploaderResult res;
    char msg[256];
    assert_int_equal(uploader_run(f->up, f->q, fixed_clock, &now, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(counts(f).acked, 2);
    assert_int_equal(res.held, 1);
    assert_int_equal(store_followups_closed(f->store), STORE_OK);
    assert_int_equal(uploader_run(f->up, f->q, fixed_clock, &now, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(counts(f).acked, 3);
    assert_int_equal(res.held, 0);
    assert_int_equal(f->srv.answered, 0);
}

/* The race: the uploader reads a rating, the citizen's answer is saved, then the reply comes. The reply
 * acknowledges what was sent, not the answer; so the rating stays queued and goes again with its answer. */
typedef struct {
    UploaderQueue inner;
    Store *store;
    const char *answer_id; /* saved once, right after the first read */
} RacingQueue;

static bool racing_next(void *ctx, int64_t now, UploaderItem *out, size_t limit, size_t *n, char *msg,
                        size_t msg_len)
{
    RacingQueue *rq = ctx;
    if(!rq->inner.next(rq->inner.ctx, now, out, limit, n, msg, msg_len))
        return false;
    if(rq->answer_id) {
        assert_int_equal(store_set_followup(rq->store, rq->answer_id, FOLLOWUP_ANSWERED, 1u << REASON_CHO_DOI),
                         STORE_OK);
        rq->answer_id = NULL;
    }
    return true;
}

static bool racing_acked(void *ctx, const UploaderItem *items, size_t n, int64_t now, size_t *changed, char *msg,
                         size_t msg_len)
{
    RacingQueue *rq = ctx;
    return rq->inner.acked(rq->inner.ctx, items, n, now, changed, msg, msg_len);
}

static bool racing_rejected(void *ctx, const UploaderItem *item, const char *reason, int64_t now, bool *changed,
                            char *msg, size_t msg_len)
{
    RacingQueue *rq = ctx;
    return rq->inner.rejected(rq->inner.ctx, item, reason, now, changed, msg, msg_len);
}

static void test_followup_saved_while_its_batch_is_in_flight_is_sent_again(void **state)
{
    Fx *f = *state;
    int64_t now = T0 + 86400;
    add_ratings(f, 3, T0);
    ProtoRating r = {0};
    uint8_t rnd[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    uuid_v7_make(r.id, (uint64_t)(now - 100) * 1000u, rnd);
    snprintf(r.unit, sizeof r.unit, "G01.CT1");
    r.area = AREA_Y_TE;
    r.scale = SCALE_TTHC3;
    r.score = 1;
    ptime_format(now - 100, PTIME_VN_OFFSET_MIN, r.at);
    assert_int_equal(store_add(f->store, &r), STORE_OK); /* not held: e.g. its hold had ended */
    start(f, MODE_ACCEPT, 0);
    RacingQueue rq = {.inner = *f->q, .store = f->store, .answer_id = r.id};
    UploaderQueue q = {.ctx = &rq, .next = racing_next, .acked = racing_acked, .rejected = racing_rejected};
    UploaderResult res;
    char msg[256];
    assert_int_equal(uploader_run(f->up, &q, fixed_clock, &now, &res, msg, sizeof msg), UPLOADER_OK);
    assert_int_equal(res.changed, 1);
    /* The first batch carried it unanswered; the second its answer. Nothing is left behind. */
    assert_int_equal(f->srv.requests, 2);
    assert_int_equal(f->srv.batch_n[1], 1);
    assert_int_equal(f->srv.answered, 2); /* add_ratings' one complaint, then this rating's answer */
    assert_int_equal(counts(f).pending, 0);
    assert_int_equal(counts(f).acked, 4);
}

/* ---- Token file -------------------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_token_readable_by_others_is_refused_with_the_fix(void **state)
{
    Fx *f = *state;
    char path[160], tok[UPLOADER_TOKEN_MAX + 1], msg[512];
    snprintf(path, sizeof path, "%s/token", f->dir);
    write_file(path, "secret-token\n", 0644);
    strcpy(tok, "unchanged");
    assert_int_equal(uploader_read_token(path, tok, sizeof tok, msg, sizeof msg), UPLOADER_E_TOKEN);
    assert_non_null(strstr(msg, "chmod 600"));
    assert_string_equal(tok, "");
    write_file(path, "secret-token\n", 0640);
    assert_int_equal(uploader_read_token(path, tok, sizeof tok, msg, sizeof msg), UPLOADER_E_TOKEN);
    write_file(path, "  secret-token\n", 0600);
    assert_int_equal(uploader_read_token(path, tok, sizeof tok, msg, sizeof msg), UPLOADER_OK);
    assert_string_equal(tok, "secret-token");
}

static void test_empty_missing_or_two_word_token_is_refused(void **state)
{
    Fx *f = *state;
    char path[160], tok[UPLOADER_TOKEN_MAX + 1], msg[512];
    snprintf(path, sizeof path, "%s/token", f->dir);
    assert_int_equal(uploader_read_token(path, tok, sizeof tok, msg, sizeof msg), UPLOADER_E_TOKEN);
    write_file(path, " \n", 0600);
    assert_int_equal(uploader_read_token(path, tok, sizeof tok, msg, sizeof msg), UPLOADER_E_TOKEN);
    write_file(path, "abc def\n", 0600);
    assert_int_equal(uploader_read_token(path, tok, sizeof tok, msg, sizeof msg), UPLOADER_E_TOKEN);
    write_file(path, "abc\r\nX-Injected: 1\n", 0600);
    assert_int_equal(uploader_read_token(path, tok, sizeof tok, msg, sizeof msg), UPLOADER_E_TOKEN);
}

static void test_bad_options_are_refused(void **state)
{
    (void)state;
    Uploader *u = (Uploader *)1;
    char msg[256];
    UploaderOptions o = {.url = "ftp://x/api/v1", .token = "t", .device_id = "k"};
    assert_int_equal(uploader_new(&o, &u, msg, sizeof msg), UPLOADER_E_ARG);
    assert_null(u);
    o.url = "https://x/api/v1";
    o.batch_size = 501;
    assert_int_equal(uploader_new(&o, &u, msg, sizeof msg), UPLOADER_E_ARG);
    o.batch_size = 0;
    o.device_id = "bad id";
    assert_int_equal(uploader_new(&o, &u, msg, sizeof msg), UPLOADER_E_ARG);
    o.device_id = "k";
    o.token = "";
    assert_int_equal(uploader_new(&o, &u, msg, sizeof msg), UPLOADER_E_TOKEN);
}

/* ---- TLS: verification is on; a CA file makes a private CA work ------------------------------------------ */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if(!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if(d && fread(d, 1, (size_t)n, fp) != (size_t)n) {
        free(d);
        d = NULL;
    }
    if(d)
        d[n] = '\0';
    fclose(fp);
    return d;
}

/* A self-signed certificate for the given subjectAltName; false when openssl is missing. */
static bool make_cert(const char *dir, const char *name, const char *san)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=test "
             "-addext subjectAltName=%s -keyout %s/%s.key -out %s/%s.crt >/dev/null 2>&1",
             san, dir, name, dir, name);
    return system(cmd) == 0;
}

static void tls_case(Fx *f, const char *name, const char *san, bool give_ca, UploaderErr want)
{
    if(!MHD_is_feature_supported(MHD_FEATURE_TLS))
        skip();
    if(!make_cert(f->dir, name, san))
        skip();
    char kp[200], cp[200];
    snprintf(kp, sizeof kp, "%s/%s.key", f->dir, name);
    snprintf(cp, sizeof cp, "%s/%s.crt", f->dir, name);
    char *key = slurp(kp), *crt = slurp(cp);
    assert_non_null(key);
    assert_non_null(crt);
    add_ratings(f, 7, T0);
    server_start(&f->srv, key, crt);
    f->srv.mode = MODE_ACCEPT;
    char msg[512];
    UploaderErr e;
    f->up = make_uploader(f, "https", give_ca ? cp : NULL, 0, 5000, msg, sizeof msg, &e);
    assert_int_equal(e, UPLOADER_OK);
    assert_int_equal(uploader_run(f->up, f->q, NULL, NULL, NULL, msg, sizeof msg), want);
    assert_int_equal(counts(f).pending, want == UPLOADER_OK ? 0 : 7);
    assert_int_equal(f->srv.requests, want == UPLOADER_OK ? 1 : 0);
    free(key);
    free(crt);
}

static void test_https_with_the_ca_file_uploads(void **state)
{
    tls_case(*state, "good", "IP:127.0.0.1,DNS:localhost", true, UPLOADER_OK);
}

static void test_https_with_an_unknown_ca_is_refused(void **state)
{
    tls_case(*state, "unknown", "IP:127.0.0.1,DNS:localhost", false, UPLOADER_E_NETWORK);
}

static void test_https_with_a_certificate_for_another_host_is_refused(void **state)
{
    tls_case(*state, "otherhost", "DNS:tally.example.org", true, UPLOADER_E_NETWORK);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accepted_batches_are_marked_uploaded_in_order_over_one_connection,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_items_are_marked_with_the_server_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_for_another_batch_leaves_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_that_do_not_add_up_leave_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_of_an_id_not_sent_leaves_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_captive_portal_html_leaves_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_error_leaves_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_server_with_retry_after_leaves_pending_and_says_when, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_token_leaves_pending_and_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_reply_leaves_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_leaves_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_connection_leaves_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovers_after_a_failed_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_date_header_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rating_is_held_while_its_followup_screen_is_open_however_long, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hold_ends_at_app_restart_and_never_outlasts_a_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_followup_saved_while_its_batch_is_in_flight_is_sent_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_readable_by_others_is_refused_with_the_fix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_missing_or_two_word_token_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_with_the_ca_file_uploads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_with_an_unknown_ca_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_with_a_certificate_for_another_host_is_refused, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
