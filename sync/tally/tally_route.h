/* tally_route.h — what a request handler of tally-server sees; tally_http.c does everything else.
 *
 * The HTTP layer treats every request the same way before a handler runs: strict framing (a NUL byte in the
 * request target, two Content-Length headers, Content-Length with Transfer-Encoding, an unknown transfer
 * coding or a body without a length are refused with 400/411/501), the route (404, 405), the caller's token
 * when the route asks for one (401/403), the Content-Type (415), the length against the route's cap (413),
 * back-pressure for queued routes (503 with Retry-After), deadlines for slow clients (408), a memory budget
 * for bodies (503), and one escaped log line per request. A handler then gets the complete request and
 * answers with one tally_reply_*() call, or defers the answer to another thread (tally_req_defer, then
 * tally_req_resume from that thread). Any text an error reply quotes is made valid UTF-8 here.
 *
 * Routes come in tables (tally_api_routes() for the kiosks' API, tally_web_routes() for the dashboard and the
 * read API, tally_metrics_routes() for GET /metrics); tally_http.c lists the tables, and the one handler it
 * offers unrouted requests to (tally_web_unrouted(): people mistyping a page address get a page, not JSON). */
#ifndef SYNC_TALLY_ROUTE_H
#define SYNC_TALLY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "sync/tally/tally_db.h"
#include "sync/tally/tally_http.h"
#include "sync/tally/tally_writer.h"

typedef struct TallyReq TallyReq;

typedef enum {
    TALLY_ROUTE_OPEN,   /* anyone, or someone the handler identifies (tally_web.c: sessions and viewer tokens,
                         * with their scope, checked in that one place) */
    TALLY_ROUTE_DEVICE, /* Authorization: Bearer <device token>: 401 unknown, 403 revoked */
    TALLY_ROUTE_MONITOR, /* no token; only client addresses in --metrics-allow: 403 otherwise */
} TallyRouteAuth;

typedef struct {
    const char    *method;       /* "GET" (HEAD is answered as GET) or "POST" */
    const char    *path;         /* the exact path, after %-decoding; ending in '/' (not "/" itself): a prefix
                                  * that something must follow ("/don-vi/" serves "/don-vi/CODE") */
    const char    *name;         /* short name for the log and counters: "batches", "tally", ... */
    TallyRouteAuth auth;
    const char    *content_type; /* the media type a body must have (a ";charset" may follow); NULL: no body */
    size_t         body_max;     /* bytes the body may have (Content-Length required for any body) */
    bool           queued;       /* hands its work to the writer: a place in its queue is held from the headers
                                  * on (503 at once when there is none), used by tally_req_submit() */
    /* Optional: sees each piece of the body before it is buffered; false stops the buffering (the rest is
     * read and dropped, and tally_req_body_cut() tells handle()). */
    bool         (*body)(TallyReq *rq, const char *data, size_t len);
    void         (*handle)(TallyReq *rq); /* the complete request: reply, or defer */
} TallyRoute;

/* The kiosks' API and the health checks (tally_api.c). */
const TallyRoute *tally_api_routes(size_t *n);
/* The dashboard's pages, sign-in/out, downloads, static files and the read API (tally_web.c). */
const TallyRoute *tally_web_routes(size_t *n);
/* A request that no route of any table takes (status 404), or whose path is routed only for other methods
 * (405; allow lists them), is offered here before the transport answers with its JSON error: true when it
 * answered — a browser path gets the dashboard's HTML error page (tally_web.c) — false to leave the JSON error
 * (the read API under /api/, the kiosks' endpoints). Called after the framing checks, before any body. */
bool tally_web_unrouted(TallyReq *rq, unsigned status, const char *allow);

/* ---- The request -------------------------------------------------------------------------------------- */
const char *tally_req_method(const TallyReq *rq);
const char *tally_req_path(const TallyReq *rq);                       /* decoded */
const char *tally_req_query(const TallyReq *rq);                      /* raw as sent, without '?'; "" if none */
const char *tally_req_header(const TallyReq *rq, const char *name);   /* NULL when absent */
const char *tally_req_body(const TallyReq *rq, size_t *len);          /* NUL-terminated; "" when none */
bool        tally_req_body_cut(const TallyReq *rq);                   /* the route's body hook stopped it */
const char *tally_req_client(const TallyReq *rq);                     /* the client's address, as text */
const char *tally_req_device(const TallyReq *rq);                     /* TALLY_ROUTE_DEVICE: the token's device */
const char *tally_req_unit(const TallyReq *rq);                       /* ... and the unit it is enrolled at */
/* Zeroed memory of `size` bytes that lives as long as the request (the same block on every call). */
void       *tally_req_scratch(TallyReq *rq, size_t size);
/* This worker thread's database connection, for the duration of handle() (never from another thread). */
TallyDb    *tally_req_db(TallyReq *rq);
TallyWriter *tally_req_writer(TallyReq *rq);
/* The dashboard's state, made by the server at start (tally_web.h). */
struct TallyWeb *tally_req_web(TallyReq *rq);
/* True when the request came over HTTPS (cookies get Secure). */
bool        tally_req_tls(const TallyReq *rq);
/* The server's counters now (tally_http_stats), for GET /metrics. */
void        tally_req_server_stats(TallyReq *rq, TallyHttpStats *out);
/* A queued route's job into the writer's queue, in the place held for this request since its headers;
 * false when it no longer fits (then answer 503). A place not used is given back when the request ends. */
bool        tally_req_submit(TallyReq *rq, TallyWriteJob *job);
/* True when the client has closed its end: nobody waits for the answer any more. */
bool        tally_req_gone(TallyReq *rq);

/* ---- The answer (exactly one per request) -------------------------------------------------------------- */
/* Any content type; takes body (malloc'd; NULL = out of memory, answered 503 busy). */
void tally_reply(TallyReq *rq, unsigned status, const char *content_type, char *body, size_t len);
/* application/json; charset=utf-8; takes body (malloc'd, NUL-terminated; NULL = out of memory). */
void tally_reply_json(TallyReq *rq, unsigned status, char *body);
/* {"error":code,"message":"English / Vietnamese"[,"field":...][,"line":..,"column":..]}; field and message
 * are made valid UTF-8 whatever they hold. line <= 0 leaves the position out. */
void tally_reply_error(TallyReq *rq, unsigned status, const char *code, const char *field, int line, int column,
                       const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* 503 {"error":"busy",...} with Retry-After: retry_after_s (0 = the writer's estimate). */
void tally_reply_busy(TallyReq *rq, unsigned retry_after_s, const char *message);
/* A database failure: TALLY_E_BUSY / TALLY_E_NOMEM answer 503 busy, anything else 500 internal (logged). */
void tally_reply_db_error(TallyReq *rq, TallyErr e, const char *msg);
/* An extra response header (Set-Cookie, Content-Security-Policy, ...), before the reply; copied. */
void tally_reply_header(TallyReq *rq, const char *name, const char *value);
/* What the log line says about this request besides its status (copied; at most ~150 bytes). */
void tally_reply_log(TallyReq *rq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* In handle(): the answer will be given from another thread; the connection waits suspended and the
 * deadlines stop. That thread replies with tally_reply_*() and then calls tally_req_resume(). */
void tally_req_defer(TallyReq *rq);
void tally_req_resume(TallyReq *rq);

#endif
