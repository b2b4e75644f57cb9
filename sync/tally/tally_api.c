/* tally_api.c — the kiosks' upload and the health checks (docs/protocol.md, docs/openapi.yaml). The HTTP
 * layer (tally_http.c) has already checked framing, route, token, Content-Type and length when these run.
 * The read API (GET /api/v1/tally, /api/v1/targets) is tally_web.c's: viewers and their scope are checked
 * there, in one place with the dashboard's sessions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sync/protocol.h"
#include "sync/tally/tally_route.h"
#include "sync/tally/tally_writer.h"

/* ---- POST /api/v1/batches ------------------------------------------------------------------------------ */

typedef struct {
    ProtoBatchScan scan;
    ProtoErr       verdict; /* the scanner's, once it stopped the buffering */
} BatchState;

static bool batch_body(TallyReq *rq, const char *data, size_t len)
{
    BatchState *st = tally_req_scratch(rq, sizeof *st);
    if(!st)
        return false;
    st->verdict = proto_batch_scan(&st->scan, data, len);
    return st->verdict == PROTO_OK;
}

static void too_many(TallyReq *rq)
{
    tally_reply_error(rq, 413, "too_many_ratings", "ratings", 0, 0,
                      "a batch may hold at most %d ratings / mỗi lô tối đa %d đánh giá", PROTO_MAX_BATCH,
                      PROTO_MAX_BATCH);
}

static bool job_gone(TallyWriteJob *job)
{
    return tally_req_gone(job->ctx);
}

/* On the writer thread, before writing: decodes the body, which the HTTP workers never do (at the peak they
 * must stay free to answer). False, with the refusal made, when the batch is not one to write. */
static bool batch_prepare(TallyWriteJob *job)
{
    TallyReq *rq = job->ctx;
    size_t len;
    const char *body = tally_req_body(rq, &len);
    ProtoError pe;
    ProtoErr pr = proto_batch_parse(body, len, &job->batch, &pe);
    if(pr) {
        proto_batch_free(&job->batch);
        if(pr == PROTO_E_TOO_MANY)
            too_many(rq);
        else if(pr == PROTO_E_NOMEM)
            tally_reply_busy(rq, 0, "out of memory, nothing was stored / hết bộ nhớ, chưa lưu gì");
        else
            tally_reply_error(rq, 400, proto_err_code(pr), pe.field[0] ? pe.field : NULL,
                              pr == PROTO_E_SYNTAX ? pe.line : 0, pe.column, "%s / lô dữ liệu không hợp lệ, chưa lưu gì",
                              pe.msg);
        return false;
    }
    if(strcmp(job->batch.device_id, tally_req_device(rq)) != 0) {
        proto_batch_free(&job->batch);
        tally_reply_error(rq, 403, "device_mismatch", NULL, 0, 0,
                          "device_id is not the device this token belongs to / device_id không khớp với mã xác thực");
        return false;
    }
    return true;
}

/* On the writer thread: the verdicts are in (or the job was dropped or refused); answer and wake the
 * connection. */
static void job_done(TallyWriteJob *job)
{
    TallyReq *rq = job->ctx;
    if(job->skipped) {
        /* batch_prepare made the answer */
    } else if(job->dropped) {
        tally_reply_log(rq, "dropped: the client had gone");
        tally_reply_busy(rq, 0, "not processed: the client had gone / máy khách đã ngắt kết nối");
    } else if(job->err) {
        tally_reply_db_error(rq, job->err, job->msg);
    } else {
        tally_reply_log(rq, "batch=%s items=%zu accepted=%lld duplicate=%lld rejected=%zu", job->reply.batch_id,
                        (size_t)(job->reply.accepted + job->reply.duplicate) + job->reply.n_rejected,
                        (long long)job->reply.accepted, (long long)job->reply.duplicate, job->reply.n_rejected);
        int64_t epoch, since;
        tally_writer_restored(tally_req_writer(rq), &epoch, &since);
        if(epoch) { /* after a restore: what the kiosks must send again (tally_db_mark_restored) */
            char v[48];
            snprintf(v, sizeof v, "%lld %lld", (long long)epoch, (long long)since);
            tally_reply_header(rq, PROTO_RESTORE_HEADER, v);
        }
        tally_reply_json(rq, 200, proto_reply_dump(&job->reply));
        proto_reply_free(&job->reply);
    }
    free(job);
    tally_req_resume(rq);
}

static void batch_handle(TallyReq *rq)
{
    BatchState *st = tally_req_scratch(rq, sizeof *st);
    if(!st)
        return tally_reply_busy(rq, 0, "out of memory, nothing was stored / hết bộ nhớ, chưa lưu gì");
    if(tally_req_body_cut(rq)) {
        if(st->verdict == PROTO_E_TOO_MANY)
            return too_many(rq);
        return tally_reply_error(rq, 413, "too_large", "ratings", 0, 0,
                                 "the batch holds more JSON values than %d ratings need / lô dữ liệu quá lớn",
                                 PROTO_MAX_BATCH);
    }
    TallyWriteJob *job = calloc(1, sizeof *job);
    if(!job)
        return tally_reply_busy(rq, 0, "out of memory, nothing was stored / hết bộ nhớ, chưa lưu gì");
    snprintf(job->unit, sizeof job->unit, "%s", tally_req_unit(rq));
    job->weight = st->scan.ratings; /* counted as the body came in: decoded later, on the writer thread */
    job->gone = job_gone;
    job->prepare = batch_prepare;
    job->done = job_done;
    job->ctx = rq;
    /* Defer first: the writer may answer before this function returns. */
    tally_req_defer(rq);
    if(!tally_req_submit(rq, job)) {
        free(job);
        tally_reply_busy(rq, 0, "the server is busy, nothing was stored: retry after the time in Retry-After / "
                                "máy chủ đang bận, chưa lưu gì, hãy thử lại sau");
        tally_req_resume(rq);
    }
}

/* ---- GET /healthz and /readyz ------------------------------------------------------------------------- */

/* Serving at all: answered by a worker without touching the database, so it answers at the peak too. */
static void healthz_handle(TallyReq *rq)
{
    tally_reply_json(rq, 200, strdup("{\"status\":\"ok\"}"));
}

/* Serving and able to store: the writer's last write (a batch, or its probe when idle) succeeded and none is
 * stuck. Read from the writer's state: it never waits behind the batches being written. */
static void readyz_handle(TallyReq *rq)
{
    TallyWriterHealth hl;
    TallyWriterStats st;
    tally_writer_health(tally_req_writer(rq), &hl);
    tally_writer_stats(tally_req_writer(rq), &st);
    char when[PTIME_TEXT_MAX] = "";
    if(hl.checked_at)
        ptime_format(hl.checked_at, PTIME_VN_OFFSET_MIN, when);
    json_t *o = json_object();
    if(o && !json_object_set_new(o, "status", json_string(hl.writable ? "ready" : "not_ready")) &&
       !json_object_set_new(o, "checked_at", hl.checked_at ? json_string(when) : json_null()) &&
       !json_object_set_new(o, "queue", json_integer((json_int_t)st.depth)) &&
       (hl.writable || !json_object_set_new(o, "reason", json_string(hl.msg)))) {
        char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if(!hl.writable) {
            tally_reply_header(rq, "Retry-After", "5");
            tally_reply_log(rq, "not ready: %.100s", hl.msg);
        }
        return tally_reply_json(rq, hl.writable ? 200 : 503, body);
    }
    json_decref(o);
    tally_reply_busy(rq, 0, "out of memory / hết bộ nhớ");
}

static const TallyRoute ROUTES[] = {
    {"POST", "/api/v1/batches", "batches", TALLY_ROUTE_DEVICE, "application/json", PROTO_MAX_BODY, true, batch_body,
     batch_handle},
    {"GET", "/healthz", "healthz", TALLY_ROUTE_OPEN, NULL, 0, false, NULL, healthz_handle},
    {"GET", "/readyz", "readyz", TALLY_ROUTE_OPEN, NULL, 0, false, NULL, readyz_handle},
};

const TallyRoute *tally_api_routes(size_t *n)
{
    *n = sizeof ROUTES / sizeof ROUTES[0];
    return ROUTES;
}
