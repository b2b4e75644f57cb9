/* tally_http.c — the transport under every route: framing, limits, deadlines, auth, replies, the log
 * (see tally_http.h for the promises, tally_route.h for what a handler sees).
 *
 * Start reading at handle(): libmicrohttpd calls it once when a request's headers are in, once per piece
 * of body, and once when the body is complete (and once more after a deferred request is resumed). Around
 * it: uri_seen() starts each request and keeps its raw target; conn_event() keeps a registry of open
 * connections that the reaper thread uses to cut off clients that are too slow; completed() writes the
 * request's one log line. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "sync/tally/tally_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>

#include "sync/protocol.h"
#include "sync/tally/tally_form.h"
#include "sync/tally/tally_metrics.h"
#include "sync/tally/tally_route.h"
#include "sync/tally/tally_text.h"
#include "sync/tally/tally_web.h"
#include "sync/tally/tally_writer.h"

#define TARGET_MAX 4096               /* bytes of a request target (path and query) */
#define PATH_MAX_ 256                 /* bytes of a decoded path: every route is far shorter */
#define HEADER_TIMEOUT_S 10           /* a request line and headers must arrive within this */
#define BODY_GRACE 2                  /* plus twice that for any body (20 s by default) ... */
#define BODY_MIN_RATE (16 * 1024)     /* ... plus its length at 16 KiB/s (128 kbit/s): 4 MiB in ~4.5 min */
#define IDLE_TIMEOUT_S 60             /* libmicrohttpd's own idle timeout: a reply nobody reads */
#define CONNECTION_LIMIT 2000         /* connections held at once (each costs a 32 KiB pool, not a body) */
#define PER_IP_LIMIT 64               /* connections from one address */
#define BODY_BUDGET (128u << 20)      /* bytes of request bodies buffered at once, all connections together */
#define REAPER_TICK_MS 200
#define MAX_ROUTES 32
#define PEM_MAX (1 << 20)             /* a certificate chain or key file larger than this is not one */
/* TLS 1.2 and 1.3 only; the kiosks' libcurl speaks both. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* The route tables served: the kiosks' API, the dashboard with the read API (tally_web.c), GET /metrics. */
static const TallyRoute *(*const ROUTE_TABLES[])(size_t *n) = {tally_api_routes, tally_web_routes,
                                                                tally_metrics_routes};
/* Offered every request no route takes before the JSON 404/405 below (a browser path: the dashboard's page). */
static bool (*const UNROUTED)(TallyReq *rq, unsigned status, const char *allow) = tally_web_unrouted;

typedef struct {
    TallyDb *db;
    bool     busy;
} Slot;

/* An open connection, from libmicrohttpd's STARTED to its CLOSED notification (the socket is closed only
 * after CLOSED, and the entry leaves the registry under reg_mu there, so the reaper never touches a reused
 * descriptor). */
typedef enum { CONN_IDLE, CONN_HEADERS, CONN_BODY, CONN_WAIT, CONN_REPLY, CONN_CUT } ConnState;
typedef struct Conn {
    struct Conn     *prev, *next;
    int              fd;
    char             client[INET6_ADDRSTRLEN];
    ConnState        state;
    double           since;     /* when the state began (IDLE: the connection's start or its last reply) */
    double           deadline;  /* HEADERS/BODY: when the request must be complete */
    bool             served;    /* a request was answered on it: an idle keep-alive, not a silent client */
    struct TallyReq *req;
} Conn;

enum { BAD_NONE, BAD_NUL, BAD_ESCAPE, BAD_LONG };

struct TallyReq {
    TallyHttp        *h;
    struct MHD_Connection *c;
    Conn             *conn;
    const TallyRoute *route;
    int               route_index;     /* into the counters; -1 none */
    char             *target;          /* raw, as sent (path and query), for routing and the log */
    char              path[PATH_MAX_];
    const char       *query;
    char              method[16];
    int               bad;             /* what uri_seen() found wrong with the target */
    bool              started;         /* handle() has seen the headers */
    char             *body;
    size_t            len, cap;
    bool              body_cut, over_budget;
    void             *scratch;
    Slot             *slot;
    char              device[PROTO_ID_MAX + 1], unit[PROTO_ID_MAX + 1];
    char              client[INET6_ADDRSTRLEN]; /* the client (client_of): a trusted proxy's X-Forwarded-For */
    /* the answer */
    struct MHD_Response *resp;
    unsigned          status;
    bool              deferred, resumed, queued;
    bool              holds_place;     /* a place in the writer's queue is held for it (queued routes) */
    char              detail[160];
    struct { char *name, *value; } extra[8];
    int               n_extra;
    unsigned          cut_status;      /* set by the reaper when it cut the connection off */
    double            start;
};

struct TallyHttp {
    struct MHD_Daemon *mhd;
    TallyWriter       *writer;
    TallyWeb          *web;      /* the dashboard's state (sign-in policy) */
    Slot              *slots;
    unsigned           n_slots;
    pthread_mutex_t    slot_mu;
    const TallyRoute  *routes[MAX_ROUTES];
    size_t             n_routes;
    /* limits */
    double             header_timeout;
    size_t             body_budget;
    atomic_size_t      body_bytes;
    bool               tls;
    char              *tls_cert, *tls_key; /* PEM text, kept for the daemon's life */
    /* the connection registry and the reaper */
    pthread_mutex_t    reg_mu;
    Conn              *conns;
    pthread_t          reaper;
    pthread_cond_t     reaper_wake;
    bool               stopping;       /* the reaper's cue to end */
    size_t             n_conns;        /* in the registry */
    unsigned           connection_limit, n_threads;
    atomic_bool        closing;        /* tally_http_stop() began: no new batches, replies close the connection */
    atomic_size_t      in_flight;      /* requests begun and not ended */
    TallyMetricsAllow  metrics_allow;  /* who may GET /metrics */
    TallyMetricsAllow  proxies;        /* whose X-Forwarded-For is believed (none when n == 0) */
    unsigned           writer_stuck_s;
    int64_t            started;
    /* counters (tally_http_stats) */
    pthread_mutex_t    stats_mu;
    TallyHttpStats     stats;
    char               url[80];
};

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- Worker connections to the database ----------------------------------------------------------------- */

/* One per worker thread: a worker handles one request at a time, so taking one never waits long. The
 * watchdog's check waits at most until `until` (monotonic seconds; 0 = no limit) and may get NULL. */
static Slot *slot_wait(TallyHttp *h, double until)
{
    for(;;) {
        pthread_mutex_lock(&h->slot_mu);
        for(unsigned i = 0; i < h->n_slots; i++)
            if(!h->slots[i].busy) {
                h->slots[i].busy = true;
                pthread_mutex_unlock(&h->slot_mu);
                return &h->slots[i];
            }
        pthread_mutex_unlock(&h->slot_mu);
        if(until > 0 && mono() > until)
            return NULL;
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static Slot *slot_take(TallyHttp *h)
{
    return slot_wait(h, 0);
}

static void slot_give(TallyHttp *h, Slot *s)
{
    pthread_mutex_lock(&h->slot_mu);
    s->busy = false;
    pthread_mutex_unlock(&h->slot_mu);
}

/* ---- Replies ------------------------------------------------------------------------------------------ */

static const char OOM_BODY[] = "{\"error\":\"busy\",\"message\":\"out of memory, nothing was stored: retry later / "
                               "hết bộ nhớ, chưa lưu gì, hãy thử lại sau\"}";

static void set_response(TallyReq *rq, unsigned status, struct MHD_Response *resp)
{
    if(rq->resp) /* a second answer is a bug in a handler: keep the first */
        MHD_destroy_response(resp);
    else
        rq->resp = resp, rq->status = status;
}

/* The one answer that needs no allocation of ours, for when memory ran out. */
static void reply_oom(TallyReq *rq)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof OOM_BODY - 1, (void *)OOM_BODY, MHD_RESPMEM_PERSISTENT);
    if(!resp)
        return;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
    set_response(rq, 503, resp);
}

void tally_reply(TallyReq *rq, unsigned status, const char *content_type, char *body, size_t len)
{
    if(!body)
        return reply_oom(rq);
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if(!resp) {
        free(body);
        return reply_oom(rq);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for(int i = 0; i < rq->n_extra; i++)
        MHD_add_response_header(resp, rq->extra[i].name, rq->extra[i].value);
    set_response(rq, status, resp);
}

void tally_reply_json(TallyReq *rq, unsigned status, char *body)
{
    tally_reply(rq, status, "application/json; charset=utf-8", body, body ? strlen(body) : 0);
}

void tally_reply_header(TallyReq *rq, const char *name, const char *value)
{
    if(rq->n_extra == (int)(sizeof rq->extra / sizeof rq->extra[0]))
        return;
    char *n = strdup(name), *v = strdup(value);
    if(!n || !v) {
        free(n);
        free(v);
        return;
    }
    rq->extra[rq->n_extra].name = n;
    rq->extra[rq->n_extra++].value = v;
}

void tally_reply_log(TallyReq *rq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rq->detail, sizeof rq->detail, fmt, ap);
    va_end(ap);
}

void tally_reply_error(TallyReq *rq, unsigned status, const char *code, const char *field, int line, int column,
                       const char *fmt, ...)
{
    char message[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    char *body = tally_json_error(code, field, line, column, message);
    if(!rq->detail[0])
        snprintf(rq->detail, sizeof rq->detail, "error=%s", code);
    tally_reply_json(rq, status, body);
}

void tally_reply_busy(TallyReq *rq, unsigned retry_after_s, const char *message)
{
    char ra[16];
    snprintf(ra, sizeof ra, "%u", retry_after_s ? retry_after_s : tally_writer_retry_after(rq->h->writer));
    tally_reply_header(rq, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    tally_reply_error(rq, 503, "busy", NULL, 0, 0, "%s", message);
}

void tally_reply_db_error(TallyReq *rq, TallyErr e, const char *msg)
{
    if(e == TALLY_E_BUSY || e == TALLY_E_NOMEM) {
        pthread_mutex_lock(&rq->h->stats_mu);
        rq->h->stats.refused_db_busy++;
        pthread_mutex_unlock(&rq->h->stats_mu);
        tally_reply_log(rq, "%s: %.120s", tally_err_name(e), msg);
        return tally_reply_busy(rq, 0, "the database is busy, nothing was stored: retry later / máy chủ đang bận, "
                                       "chưa lưu gì, hãy thử lại sau");
    }
    fprintf(stderr, "tally-server: database error: %s\n", msg);
    tally_reply_error(rq, 500, "internal", NULL, 0, 0, "internal error, nothing was stored / lỗi máy chủ, chưa lưu gì");
}

/* ---- The request, for handlers ------------------------------------------------------------------------ */

const char *tally_req_method(const TallyReq *rq) { return rq->method; }
const char *tally_req_path(const TallyReq *rq) { return rq->path; }
const char *tally_req_query(const TallyReq *rq) { return rq->query; }
bool tally_req_body_cut(const TallyReq *rq) { return rq->body_cut; }
const char *tally_req_client(const TallyReq *rq) { return rq->client[0] ? rq->client : rq->conn ? rq->conn->client : "?"; }

/* The client's address once the headers are in: the connection's, unless it comes from a trusted proxy that
 * names one in X-Forwarded-For — then the last entry (the address the proxy itself saw; entries before it
 * came from the client and may be anything), if it is a valid address. */
static void client_of(TallyHttp *h, TallyReq *rq)
{
    rq->client[0] = '\0';
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(rq->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if(h->proxies.n == 0 || !ci || !tally_metrics_allowed(&h->proxies, ci->client_addr))
        return;
    const char *xff = MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND, "X-Forwarded-For");
    if(!xff)
        return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    last += strspn(last, " \t");
    char addr[INET6_ADDRSTRLEN];
    size_t n = strcspn(last, " \t");
    unsigned char bin[16];
    if(n == 0 || n >= sizeof addr)
        return;
    memcpy(addr, last, n);
    addr[n] = '\0';
    if(inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1)
        memcpy(rq->client, addr, n + 1); /* checked: safe to log as is */
}
const char *tally_req_device(const TallyReq *rq) { return rq->device; }
const char *tally_req_unit(const TallyReq *rq) { return rq->unit; }
TallyWriter *tally_req_writer(TallyReq *rq) { return rq->h->writer; }
TallyWeb *tally_req_web(TallyReq *rq) { return rq->h->web; }
bool tally_req_tls(const TallyReq *rq) { return rq->h->tls; }
void tally_req_server_stats(TallyReq *rq, TallyHttpStats *out) { tally_http_stats(rq->h, out); }

bool tally_req_submit(TallyReq *rq, TallyWriteJob *job)
{
    bool held = rq->holds_place;
    rq->holds_place = false;
    return tally_writer_submit(rq->h->writer, job, held);
}

const char *tally_req_header(const TallyReq *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND, name);
}

const char *tally_req_body(const TallyReq *rq, size_t *len)
{
    *len = rq->len;
    return rq->body ? rq->body : "";
}

void *tally_req_scratch(TallyReq *rq, size_t size)
{
    if(!rq->scratch)
        rq->scratch = calloc(1, size);
    return rq->scratch;
}

TallyDb *tally_req_db(TallyReq *rq)
{
    if(!rq->slot) {
        rq->slot = slot_take(rq->h);
        /* A PostgreSQL connection lost since the last request is made again; if it cannot be, the request's
         * first statement fails with TALLY_E_BUSY and it is answered 503 with Retry-After. */
        char msg[TALLY_MSG_MAX];
        tally_db_ready(rq->slot->db, msg);
    }
    return rq->slot->db;
}

bool tally_req_gone(TallyReq *rq)
{
    if(!rq->conn || rq->conn->fd < 0)
        return false;
    struct pollfd p = {.fd = rq->conn->fd, .events = POLLIN | POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

void tally_req_defer(TallyReq *rq)
{
    rq->deferred = true;
    pthread_mutex_lock(&rq->h->reg_mu);
    if(rq->conn)
        rq->conn->state = CONN_WAIT;
    pthread_mutex_unlock(&rq->h->reg_mu);
    MHD_suspend_connection(rq->c);
}

void tally_req_resume(TallyReq *rq)
{
    MHD_resume_connection(rq->c);
}

/* ---- Counters ----------------------------------------------------------------------------------------- */

static void count(TallyHttp *h, const TallyReq *rq, unsigned status)
{
    pthread_mutex_lock(&h->stats_mu);
    int r = rq && rq->route_index >= 0 ? rq->route_index : (int)h->n_routes;
    for(int i = 0; i < TALLY_HTTP_CODES_MAX; i++) /* the codes of a route in order of first use */
        if(h->stats.requests[r][i].code == status || !h->stats.requests[r][i].n || i == TALLY_HTTP_CODES_MAX - 1) {
            h->stats.requests[r][i].code = status;
            h->stats.requests[r][i].n++;
            break;
        }
    if(status == 408)
        h->stats.cut_off++;
    pthread_mutex_unlock(&h->stats_mu);
}

void tally_http_stats(TallyHttp *h, TallyHttpStats *out)
{
    pthread_mutex_lock(&h->stats_mu);
    *out = h->stats;
    pthread_mutex_unlock(&h->stats_mu);
    out->n_routes = h->n_routes;
    for(size_t i = 0; i < h->n_routes && i < TALLY_HTTP_ROUTES_MAX; i++)
        out->route_name[i] = h->routes[i]->name;
    pthread_mutex_lock(&h->reg_mu);
    out->connections = h->n_conns;
    pthread_mutex_unlock(&h->reg_mu);
    out->in_flight = atomic_load(&h->in_flight);
    out->body_bytes = atomic_load(&h->body_bytes);
    out->body_budget = h->body_budget;
    tally_writer_stats(h->writer, &out->writer);
    tally_writer_health(h->writer, &out->health);
    out->busy_waits = out->writer.busy_waits;
    out->busy_wait_us = out->writer.busy_wait_us;
    for(unsigned i = 0; i < h->n_slots; i++) { /* the counters are atomics: no need to take the slot */
        uint64_t n, us;
        tally_db_busy_stats(h->slots[i].db, &n, &us);
        out->busy_waits += n;
        out->busy_wait_us += us;
    }
    out->started = h->started;
}

/* ---- The log ------------------------------------------------------------------------------------------ */

/* One line per request: who, "METHOD TARGET" escaped as received, the status, what happened, how long. */
static void log_request(const TallyReq *rq, unsigned status)
{
    char method[64], target[600], st[16] = "-";
    tally_log_escape(rq->method, strlen(rq->method), method, sizeof method);
    const char *t = rq->target ? rq->target : "";
    tally_log_escape(t, strlen(t), target, sizeof target);
    if(status)
        snprintf(st, sizeof st, "%u", status);
    fprintf(stderr, "tally-server: %s \"%s %s\" %s %s device=%s %s%s%.1fms\n", tally_req_client(rq),
            method, target, st, rq->route ? rq->route->name : "-", rq->device[0] ? rq->device : "-", rq->detail,
            rq->detail[0] ? " " : "", (mono() - rq->start) * 1e3);
}

/* ---- Request framing ---------------------------------------------------------------------------------- */

/* The %-decoded path of a raw target; false on a bad escape, a NUL, or a path no route could have. */
static bool decode_path(const char *target, char out[PATH_MAX_])
{
    size_t n = strcspn(target, "?"), len;
    return n < PATH_MAX_ && tally_form_unescape(target, n, false, out, &len);
}

/* libmicrohttpd calls this when a request line is in, before it parses the query: the request starts here.
 * It keeps the raw target (routing and the log use it; the query is parsed strictly by tally_form), and
 * cuts the query off libmicrohttpd's own copy, whose parser would spend a pool entry per parameter and
 * close the connection without an answer past ~450 of them. */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    TallyHttp *h = cls;
    TallyReq *rq = calloc(1, sizeof *rq);
    if(!rq)
        return NULL;
    rq->h = h;
    rq->c = c;
    rq->start = mono();
    rq->route_index = -1;
    atomic_fetch_add(&h->in_flight, 1);
    size_t n = strlen(uri);
    rq->target = strndup(uri, n > TARGET_MAX ? TARGET_MAX : n);
    if(n > TARGET_MAX)
        rq->bad = BAD_LONG;
    else if(strstr(uri, "%00"))
        rq->bad = BAD_NUL;
    char *q = strchr(uri, '?');
    if(q && q[1])
        q[1] = '\0'; /* in libmicrohttpd's read buffer (0.9.75 parses args after this callback): see above */
    if(rq->target) {
        char *tq = strchr(rq->target, '?');
        rq->query = tq ? tq + 1 : "";
        if(!rq->bad && !decode_path(rq->target, rq->path))
            rq->bad = BAD_ESCAPE;
    } else {
        rq->query = "";
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    Conn *conn = ci ? ci->socket_context : NULL;
    pthread_mutex_lock(&h->reg_mu);
    if(conn) {
        conn->state = CONN_HEADERS;
        conn->since = rq->start;
        conn->deadline = rq->start + h->header_timeout;
        conn->req = rq;
    }
    rq->conn = conn;
    pthread_mutex_unlock(&h->reg_mu);
    return rq;
}

typedef struct {
    int         n_cl, n_te;
    const char *te;
} Framing;

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    Framing *f = cls;
    if(strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->n_cl++;
    else if(strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        f->n_te++, f->te = value;
    return MHD_YES;
}

/* The token from "Authorization: Bearer <token>", or NULL. */
static const char *bearer(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if(!v || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    v += 7;
    while(*v == ' ')
        v++;
    return *v ? v : NULL;
}

static bool media_type_is(const char *v, const char *want)
{
    size_t n = strlen(want);
    if(!v || strncasecmp(v, want, n) != 0)
        return false;
    return v[n] == '\0' || v[n] == ';' || v[n] == ' ';
}

/* A route's path is exact, or a prefix when it ends in '/' (not "/" itself) and something follows it. */
static bool route_matches(const TallyRoute *rt, const char *path)
{
    size_t n = strlen(rt->path);
    if(n > 1 && rt->path[n - 1] == '/')
        return strncmp(path, rt->path, n) == 0 && path[n] != '\0';
    return strcmp(path, rt->path) == 0;
}

/* Everything decided from the headers. Returns false when a refusal has been set. */
static bool precheck(TallyHttp *h, TallyReq *rq, unsigned long long *length)
{
    if(rq->bad == BAD_LONG) {
        tally_reply_error(rq, 414, "uri_too_long", NULL, 0, 0, "the request target is longer than %d bytes / địa chỉ "
                          "yêu cầu quá dài", TARGET_MAX);
        return false;
    }
    if(rq->bad) {
        tally_reply_error(rq, 400, "bad_request", NULL, 0, 0, rq->bad == BAD_NUL
                          ? "a NUL byte (%%00) in the request target / địa chỉ yêu cầu chứa byte NUL"
                          : "a malformed %%-escape in the path / địa chỉ yêu cầu không hợp lệ");
        return false;
    }
    Framing f = {0};
    MHD_get_connection_values(rq->c, MHD_HEADER_KIND, framing_header, &f);
    if(f.n_te) {
        /* Only a body with a length is taken: whoever reads Content-Length and whoever reads
         * Transfer-Encoding then agree on where this request ends (no smuggling behind a proxy). */
        if(f.n_te > 1 || strcasecmp(f.te, "chunked") != 0)
            tally_reply_error(rq, 501, "not_implemented", NULL, 0, 0, "transfer coding not supported (only a body with "
                              "Content-Length) / không hỗ trợ kiểu mã hoá truyền tải này");
        else if(f.n_cl)
            tally_reply_error(rq, 400, "bad_request", NULL, 0, 0, "Content-Length together with Transfer-Encoding / "
                              "không được dùng cùng lúc Content-Length và Transfer-Encoding");
        else
            tally_reply_error(rq, 411, "length_required", NULL, 0, 0, "a body needs a Content-Length (chunked bodies "
                              "are not taken) / cần có Content-Length");
        return false;
    }
    if(f.n_cl > 1) {
        tally_reply_error(rq, 400, "bad_request", NULL, 0, 0, "more than one Content-Length / có nhiều hơn một "
                          "Content-Length");
        return false;
    }
    const char *cl = MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    *length = cl ? strtoull(cl, NULL, 10) : 0; /* libmicrohttpd has refused any that is not all digits */

    const TallyRoute *route = NULL;
    char allow[64] = "";
    /* HEAD is answered as GET without the body (libmicrohttpd leaves it out). */
    const char *method = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
    for(size_t i = 0; i < h->n_routes; i++)
        if(route_matches(h->routes[i], rq->path)) {
            if(!strstr(allow, h->routes[i]->method))
                snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", allow[0] ? ", " : "",
                         h->routes[i]->method);
            if(!route && strcmp(h->routes[i]->method, method) == 0)
                route = h->routes[i], rq->route_index = (int)i;
        }
    if(!route && UNROUTED(rq, allow[0] ? 405 : 404, allow))
        return false;
    if(!allow[0]) {
        tally_reply_error(rq, 404, "not_found", NULL, 0, 0, "no such endpoint / không có địa chỉ này");
        return false;
    }
    if(!route) {
        tally_reply_header(rq, "Allow", allow);
        tally_reply_error(rq, 405, "method_not_allowed", NULL, 0, 0, "method not allowed here / phương thức không được "
                          "phép");
        return false;
    }
    rq->route = route;
    if(!route->content_type && *length) {
        tally_reply_error(rq, 400, "bad_request", NULL, 0, 0, "this request takes no body / yêu cầu này không có nội "
                          "dung");
        return false;
    }
    if(route->auth == TALLY_ROUTE_MONITOR) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(rq->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if(!ci || !tally_metrics_allowed(&h->metrics_allow, ci->client_addr)) {
            tally_reply_error(rq, 403, "forbidden", NULL, 0, 0, "metrics are not served to this address "
                              "(--metrics-allow) / địa chỉ này không được xem số liệu giám sát");
            return false;
        }
    } else if(route->auth != TALLY_ROUTE_OPEN) {
        const char *token = bearer(rq->c);
        TallyAuth auth = TALLY_AUTH_UNKNOWN;
        char msg[TALLY_MSG_MAX];
        TallyErr e = TALLY_OK;
        if(token) {
            TallyDb *db = tally_req_db(rq);
            e = tally_auth_device(db, token, &auth, rq->device, rq->unit, msg);
        }
        if(e) {
            tally_reply_db_error(rq, e, msg);
            return false;
        }
        if(auth == TALLY_AUTH_REVOKED) {
            tally_reply_error(rq, 403, "revoked", NULL, 0, 0, "device %s has been revoked / thiết bị %s đã bị thu hồi "
                              "quyền gửi", rq->device, rq->device);
            return false;
        }
        if(auth != TALLY_AUTH_OK) {
            rq->device[0] = '\0';
            tally_reply_error(rq, 401, "unauthorized", NULL, 0, 0, !token ? "missing Authorization: Bearer token / "
                              "thiếu mã xác thực" : "unknown device token / mã xác thực thiết bị không đúng");
            return false;
        }
    }
    if(route->content_type && !media_type_is(tally_req_header(rq, MHD_HTTP_HEADER_CONTENT_TYPE), route->content_type)) {
        tally_reply_error(rq, 415, "unsupported_media_type", NULL, 0, 0, "Content-Type must be %s / nội dung phải là "
                          "%s", route->content_type, route->content_type);
        return false;
    }
    if(*length > route->body_max) {
        tally_reply_error(rq, 413, "too_large", NULL, 0, 0, "a body may be at most %zu bytes / nội dung tối đa %zu byte",
                          route->body_max, route->body_max);
        return false;
    }
    if(route->queued && (atomic_load(&h->closing) || !(rq->holds_place = tally_writer_reserve(h->writer)))) {
        tally_reply_busy(rq, 0, "the server is busy, nothing was stored: retry after the time in Retry-After / máy "
                                "chủ đang bận, chưa lưu gì, hãy thử lại sau");
        return false;
    }
    return true;
}

/* Grows the body buffer to hold `more` bytes, within the server-wide budget. */
static bool body_reserve(TallyHttp *h, TallyReq *rq, size_t more, size_t length)
{
    size_t need = rq->len + more + 1;
    if(need <= rq->cap)
        return true;
    size_t ncap = rq->cap ? rq->cap * 2 : 64 * 1024;
    while(ncap < need)
        ncap *= 2;
    if(ncap > length + 1)
        ncap = length + 1 > need ? length + 1 : need;
    size_t grow = ncap - rq->cap, cur = atomic_load(&h->body_bytes);
    do {
        if(cur + grow > h->body_budget)
            return false;
    } while(!atomic_compare_exchange_weak(&h->body_bytes, &cur, cur + grow));
    char *nb = realloc(rq->body, ncap);
    if(!nb) {
        atomic_fetch_sub(&h->body_bytes, grow);
        return false;
    }
    rq->body = nb;
    rq->cap = ncap;
    return true;
}

static void set_state(TallyHttp *h, TallyReq *rq, ConnState st)
{
    pthread_mutex_lock(&h->reg_mu);
    if(rq->conn && rq->conn->state != CONN_CUT)
        rq->conn->state = st;
    pthread_mutex_unlock(&h->reg_mu);
}

/* Queues the answer the request holds (or a last-resort one). */
static enum MHD_Result queue(TallyHttp *h, TallyReq *rq)
{
    if(!rq->resp)
        tally_reply_error(rq, 500, "internal", NULL, 0, 0, "no answer was made / máy chủ không trả lời được");
    if(!rq->resp)
        reply_oom(rq);
    if(!rq->resp)
        return MHD_NO;
    set_state(h, rq, CONN_REPLY);
    if(atomic_load(&h->closing)) /* stopping: no further request on this connection */
        MHD_add_response_header(rq->resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(rq->c, rq->status, rq->resp);
    MHD_destroy_response(rq->resp);
    rq->resp = NULL;
    rq->queued = true;
    return ret;
}

/* ---- The access handler --------------------------------------------------------------------------------- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                             const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    (void)url;
    (void)version;
    TallyHttp *h = cls;
    TallyReq *rq = *req_cls;
    if(!rq) { /* uri_seen() ran out of memory: answer without it */
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(sizeof OOM_BODY - 1, (void *)OOM_BODY, MHD_RESPMEM_PERSISTENT);
        if(!resp)
            return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
        enum MHD_Result ret = MHD_queue_response(c, 503, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if(!rq->started) { /* the headers are in */
        rq->started = true;
        snprintf(rq->method, sizeof rq->method, "%s", method);
        client_of(h, rq);
        unsigned long long length = 0;
        bool ok = precheck(h, rq, &length);
        if(rq->slot) {
            slot_give(h, rq->slot);
            rq->slot = NULL;
        }
        if(!ok)
            return queue(h, rq);
        pthread_mutex_lock(&h->reg_mu);
        if(rq->conn && rq->conn->state != CONN_CUT) {
            rq->conn->state = CONN_BODY;
            rq->conn->deadline = rq->start + h->header_timeout * (1 + BODY_GRACE) + (double)length / BODY_MIN_RATE;
        }
        pthread_mutex_unlock(&h->reg_mu);
        return MHD_YES;
    }
    if(*upload_data_size) { /* a piece of body (never more than its Content-Length, checked above) */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if(rq->body_cut || rq->over_budget)
            return MHD_YES; /* read and dropped */
        if(rq->route->body && !rq->route->body(rq, upload_data, n)) {
            rq->body_cut = true;
            return MHD_YES;
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if(!body_reserve(h, rq, n, cl ? (size_t)strtoull(cl, NULL, 10) : rq->len + n)) {
            rq->over_budget = true;
            return MHD_YES;
        }
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        rq->body[rq->len] = '\0';
        return MHD_YES;
    }
    if(rq->deferred) /* resumed: the answer was made on another thread */
        return queue(h, rq);
    if(rq->over_budget) {
        pthread_mutex_lock(&h->stats_mu);
        h->stats.refused_body_memory++;
        pthread_mutex_unlock(&h->stats_mu);
        tally_reply_busy(rq, 0, "the server is short of memory for request bodies, nothing was stored: retry later / "
                                "máy chủ đang thiếu bộ nhớ, chưa lưu gì, hãy thử lại sau");
        return queue(h, rq);
    }
    rq->route->handle(rq);
    if(rq->slot) {
        slot_give(h, rq->slot);
        rq->slot = NULL;
    }
    if(rq->deferred)
        return MHD_YES; /* suspended; queued when resumed */
    return queue(h, rq);
}

static void free_req(TallyHttp *h, TallyReq *rq)
{
    atomic_fetch_sub(&h->in_flight, 1);
    if(rq->holds_place) /* refused, cut off or gone before its batch was queued */
        tally_writer_release(h->writer);
    if(rq->cap)
        atomic_fetch_sub(&h->body_bytes, rq->cap);
    if(rq->resp)
        MHD_destroy_response(rq->resp);
    for(int i = 0; i < rq->n_extra; i++) {
        free(rq->extra[i].name);
        free(rq->extra[i].value);
    }
    free(rq->body);
    free(rq->scratch);
    free(rq->target);
    free(rq);
}

/* The request is over (answered, or its connection failed): its one log line, then it is freed. */
static void completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    TallyHttp *h = cls;
    TallyReq *rq = *req_cls;
    if(!rq)
        return;
    *req_cls = NULL;
    unsigned status = rq->queued ? rq->status : 0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    if(!status && ci && ci->http_status) /* libmicrohttpd answered it itself (a malformed header) */
        status = ci->http_status;
    pthread_mutex_lock(&h->reg_mu);
    if(rq->cut_status)
        status = rq->cut_status;
    Conn *conn = rq->conn;
    if(conn && conn->req == rq) {
        conn->req = NULL;
        conn->served = true;
        conn->since = mono();
        if(conn->state != CONN_CUT)
            conn->state = CONN_IDLE;
    }
    pthread_mutex_unlock(&h->reg_mu);
    if(toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !rq->detail[0])
        snprintf(rq->detail, sizeof rq->detail, "%s",
                 rq->cut_status ? "cut off: too slow" : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timed out"
                 : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "server stopping" : "connection closed early");
    log_request(rq, status);
    count(h, rq, status);
    free_req(h, rq);
}

/* ---- Connections and the reaper ------------------------------------------------------------------------- */

static void conn_event(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
    TallyHttp *h = cls;
    if(code == MHD_CONNECTION_NOTIFY_STARTED) {
        Conn *conn = calloc(1, sizeof *conn);
        if(!conn)
            return; /* unwatched: libmicrohttpd's own idle timeout still applies */
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        conn->fd = fd ? fd->connect_fd : -1;
        snprintf(conn->client, sizeof conn->client, "?");
        if(ad && ad->client_addr) {
            const struct sockaddr *sa = ad->client_addr;
            if(sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, conn->client, sizeof conn->client);
            else if(sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, conn->client, sizeof conn->client);
        }
        conn->since = mono();
        pthread_mutex_lock(&h->reg_mu);
        conn->next = h->conns;
        if(h->conns)
            h->conns->prev = conn;
        h->conns = conn;
        h->n_conns++;
        pthread_mutex_unlock(&h->reg_mu);
        *socket_context = conn;
    } else if(code == MHD_CONNECTION_NOTIFY_CLOSED) {
        Conn *conn = *socket_context;
        if(!conn)
            return;
        pthread_mutex_lock(&h->reg_mu);
        if(conn->prev)
            conn->prev->next = conn->next;
        else
            h->conns = conn->next;
        if(conn->next)
            conn->next->prev = conn->prev;
        if(conn->req)
            conn->req->conn = NULL;
        h->n_conns--;
        pthread_mutex_unlock(&h->reg_mu);
        free(conn);
        *socket_context = NULL;
    }
}

/* Cuts one connection off (reg_mu held): a 408 where plain HTTP still allows one (nothing of a reply sent
 * yet; not under TLS, whose stream this thread cannot write), then both directions shut, which makes
 * libmicrohttpd close it and end its request. */
static void cut(TallyHttp *h, Conn *conn, const char *why)
{
    char json[256], msg[400];
    int n = snprintf(json, sizeof json, "{\"error\":\"timeout\",\"message\":\"%s / yêu cầu không đến kịp thời hạn\"}",
                     why);
    int m = snprintf(msg, sizeof msg, "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s", n, json);
    if(!h->tls && conn->fd >= 0 && m > 0 && (size_t)m < sizeof msg)
        (void)!send(conn->fd, msg, (size_t)m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if(conn->fd >= 0)
        shutdown(conn->fd, SHUT_RDWR);
    if(conn->req)
        conn->req->cut_status = 408;
    conn->state = CONN_CUT;
}

static void *reaper(void *arg)
{
    TallyHttp *h = arg;
    pthread_mutex_lock(&h->reg_mu);
    while(!h->stopping) {
        double now = mono();
        for(Conn *c = h->conns; c; c = c->next) {
            if(c->state == CONN_IDLE && now - c->since > h->header_timeout) {
                if(c->served) { /* an idle keep-alive: just closed, as HTTP allows */
                    if(c->fd >= 0)
                        shutdown(c->fd, SHUT_RDWR);
                    c->state = CONN_CUT;
                } else {
                    cut(h, c, "no complete request line in time");
                    fprintf(stderr, "tally-server: %s - 408 cut off: no request line within %.0f s\n", c->client,
                            h->header_timeout);
                    pthread_mutex_lock(&h->stats_mu);
                    h->stats.cut_off++;
                    pthread_mutex_unlock(&h->stats_mu);
                }
            } else if((c->state == CONN_HEADERS || c->state == CONN_BODY) && now > c->deadline) {
                cut(h, c, c->state == CONN_HEADERS ? "headers not complete in time" : "request not complete in time");
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += REAPER_TICK_MS * 1000000L;
        if(until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&h->reaper_wake, &h->reg_mu, &until);
    }
    pthread_mutex_unlock(&h->reg_mu);
    return NULL;
}

/* ---- Start and stop ------------------------------------------------------------------------------------- */

/* libmicrohttpd's own messages (TLS handshakes that fail, sockets) on stderr as one prefixed line each. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    TallyHttp *h = cls;
    char line[512], esc[600];
    vsnprintf(line, sizeof line, fmt, ap);
    /* libmicrohttpd turns a connection away at accept with this one message for both of its limits, and
     * tells nothing else: the cause is told apart by how many connections are open at that moment. */
    if(strncmp(line, "Server reached connection limit", 31) == 0) {
        pthread_mutex_lock(&h->reg_mu);
        bool full = h->n_conns + h->n_threads >= h->connection_limit;
        pthread_mutex_unlock(&h->reg_mu);
        pthread_mutex_lock(&h->stats_mu);
        if(full)
            h->stats.refused_connections++;
        else
            h->stats.refused_per_address++;
        pthread_mutex_unlock(&h->stats_mu);
    }
    size_t n = strlen(line);
    while(n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    tally_log_escape(line, n, esc, sizeof esc); /* it may quote request bytes */
    fprintf(stderr, "tally-server: libmicrohttpd: %s\n", esc);
}

/* Reads a PEM file whole into a NUL-terminated string. */
static TallyErr read_pem(const char *opt, const char *path, char **out, char msg[TALLY_MSG_MAX])
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if(!fp) {
        snprintf(msg, TALLY_MSG_MAX, "%s %.100s: %s / không đọc được tệp", opt, path, strerror(errno));
        return TALLY_E_IO;
    }
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, fp) : 0;
    bool err = ferror(fp);
    fclose(fp);
    if(!buf) {
        snprintf(msg, TALLY_MSG_MAX, "out of memory / hết bộ nhớ");
        return TALLY_E_NOMEM;
    }
    if(err) {
        free(buf);
        snprintf(msg, TALLY_MSG_MAX, "%s %.100s: read error / lỗi khi đọc tệp", opt, path);
        return TALLY_E_IO;
    }
    buf[n <= PEM_MAX ? n : PEM_MAX] = '\0';
    if(n == 0 || n > PEM_MAX || !strstr(buf, "-----BEGIN ")) {
        free(buf);
        snprintf(msg, TALLY_MSG_MAX, "%s %.100s: not a PEM file / không phải tệp PEM", opt, path);
        return TALLY_E_INVALID;
    }
    char *fit = realloc(buf, n + 1); /* kept for the daemon's life: no need to hold a whole MiB */
    *out = fit ? fit : buf;
    return TALLY_OK;
}

/* The key's text is wiped before its memory goes back. */
static void free_pem(TallyHttp *h)
{
    if(h->tls_key)
        explicit_bzero(h->tls_key, strlen(h->tls_key));
    free(h->tls_key);
    free(h->tls_cert);
    h->tls_key = h->tls_cert = NULL;
}

/* Loads the pair the way libmicrohttpd will, so a bad file is named now rather than as "cannot listen". */
static TallyErr tls_load(const TallyHttpConfig *cfg, TallyHttp *h, char msg[TALLY_MSG_MAX])
{
    if(!cfg->tls_cert != !cfg->tls_key) {
        snprintf(msg, TALLY_MSG_MAX, "--tls-cert and --tls-key go together / cần cả --tls-cert và --tls-key");
        return TALLY_E_INVALID;
    }
    if(!cfg->tls_cert)
        return TALLY_OK;
    if(MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(msg, TALLY_MSG_MAX, "this libmicrohttpd has no TLS support / libmicrohttpd không hỗ trợ TLS");
        return TALLY_E_INVALID;
    }
    TallyErr e = read_pem("--tls-cert", cfg->tls_cert, &h->tls_cert, msg);
    if(!e)
        e = read_pem("--tls-key", cfg->tls_key, &h->tls_key, msg);
    if(e)
        return e;
    if(!strstr(h->tls_cert, "-----BEGIN CERTIFICATE-----")) {
        snprintf(msg, TALLY_MSG_MAX, "--tls-cert %.100s: no certificate in it / tệp không chứa chứng chỉ",
                 cfg->tls_cert);
        return TALLY_E_INVALID;
    }
    if(strstr(h->tls_key, "ENCRYPTED")) {
        snprintf(msg, TALLY_MSG_MAX, "--tls-key %.100s: the key is encrypted; give an unencrypted key / khoá đang "
                 "được mã hoá, cần khoá không mã hoá", cfg->tls_key);
        return TALLY_E_INVALID;
    }
    gnutls_certificate_credentials_t cred;
    if(gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS) {
        snprintf(msg, TALLY_MSG_MAX, "out of memory / hết bộ nhớ");
        return TALLY_E_NOMEM;
    }
    gnutls_datum_t c = {(unsigned char *)h->tls_cert, (unsigned)strlen(h->tls_cert)};
    gnutls_datum_t k = {(unsigned char *)h->tls_key, (unsigned)strlen(h->tls_key)};
    int rc = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(cred);
    if(rc < 0) {
        snprintf(msg, TALLY_MSG_MAX, "--tls-cert/--tls-key: %s / chứng chỉ hoặc khoá không hợp lệ hay không khớp "
                 "nhau", gnutls_strerror(rc));
        return TALLY_E_INVALID;
    }
    h->tls = true;
    return TALLY_OK;
}

static TallyErr parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, char msg[TALLY_MSG_MAX])
{
    char host[128];
    const char *port;
    if(listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if(!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            goto bad;
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if(!colon || (size_t)(colon - listen) >= sizeof host || strchr(listen, ':') != colon)
            goto bad;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if(!*port || *end || p < 0 || p > 65535)
        goto bad;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    if(getaddrinfo(host, port, &hints, &res) != 0 || !res)
        goto bad;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return TALLY_OK;
bad:
    snprintf(msg, TALLY_MSG_MAX, "--listen %s: expected ADDR:PORT or [IPV6]:PORT / địa chỉ lắng nghe không hợp lệ",
             listen);
    return TALLY_E_INVALID;
}

/* As many connections as asked, within what the descriptor limit allows (raising the soft limit to the hard
 * one first): each connection is a descriptor, and the database, logs and listener need a few more. */
static unsigned fit_connection_limit(unsigned want)
{
    struct rlimit rl;
    if(getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if(rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t room = rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 1;
    if(rl.rlim_cur != RLIM_INFINITY && want > room) {
        fprintf(stderr, "tally-server: only %llu descriptors allowed: holding at most %llu connections\n",
                (unsigned long long)rl.rlim_cur, (unsigned long long)room);
        return (unsigned)room;
    }
    return want;
}

static void free_server(TallyHttp *h)
{
    for(unsigned i = 0; i < h->n_slots; i++)
        tally_db_close(h->slots[i].db);
    free(h->slots);
    free_pem(h);
    tally_web_free(h->web);
    pthread_mutex_destroy(&h->slot_mu);
    pthread_mutex_destroy(&h->reg_mu);
    pthread_mutex_destroy(&h->stats_mu);
    pthread_cond_destroy(&h->reaper_wake);
    free(h);
}

TallyErr tally_http_start(const TallyHttpConfig *cfg, TallyHttp **out, char msg[TALLY_MSG_MAX])
{
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen;
    TallyErr e = parse_listen(cfg->listen ? cfg->listen : TALLY_HTTP_DEFAULT_LISTEN, &ss, &sslen, msg);
    if(e)
        return e;
    TallyHttp *h = calloc(1, sizeof *h);
    unsigned threads = cfg->threads ? cfg->threads : TALLY_HTTP_THREADS_DEFAULT;
    if(!h || !(h->slots = calloc(threads, sizeof *h->slots))) {
        free(h);
        snprintf(msg, TALLY_MSG_MAX, "out of memory");
        return TALLY_E_NOMEM;
    }
    pthread_mutex_init(&h->slot_mu, NULL);
    pthread_mutex_init(&h->reg_mu, NULL);
    pthread_mutex_init(&h->stats_mu, NULL);
    pthread_cond_init(&h->reaper_wake, NULL);
    h->header_timeout = cfg->header_timeout_s ? cfg->header_timeout_s : HEADER_TIMEOUT_S;
    h->writer_stuck_s = cfg->writer_stuck_s ? cfg->writer_stuck_s : TALLY_WRITER_STUCK_S;
    h->n_threads = threads;
    h->started = (int64_t)time(NULL);
    atomic_init(&h->closing, false);
    atomic_init(&h->in_flight, 0);
    h->body_budget = cfg->body_budget ? cfg->body_budget : BODY_BUDGET;
    atomic_init(&h->body_bytes, 0);
    for(size_t t = 0; t < sizeof ROUTE_TABLES / sizeof ROUTE_TABLES[0]; t++) {
        size_t n;
        const TallyRoute *table = ROUTE_TABLES[t](&n);
        for(size_t i = 0; i < n && h->n_routes < MAX_ROUTES && h->n_routes < TALLY_HTTP_ROUTES_MAX; i++)
            h->routes[h->n_routes++] = &table[i];
    }
    e = tally_metrics_allow_parse(cfg->metrics_allow ? cfg->metrics_allow : TALLY_METRICS_ALLOW_DEFAULT,
                                  &h->metrics_allow, msg);
    if(!e && cfg->trusted_proxies)
        e = tally_metrics_allow_parse(cfg->trusted_proxies, &h->proxies, msg);
    if(!e)
        e = tls_load(cfg, h, msg);
    if(!e) {
        TallyWebConfig wc = tally_web_config_default();
        if(cfg->login_slow_s > 0)
            wc.lock.slow_s = cfg->login_slow_s;
        e = tally_web_new(&wc, &h->web, msg);
    }
    /* One connection per worker thread (the first one migrates the file), and the writer's own. */
    for(unsigned i = 0; i < threads && !e; i++) {
        h->n_slots = i + 1;
        e = tally_db_open(cfg->db_path, &h->slots[i].db, msg);
    }
    if(!e)
        e = tally_writer_start(cfg->db_path, cfg->queue_max, 0, &h->writer, msg);
    if(e) {
        free_server(h);
        return e;
    }
    /* ITC: tally_http_stop() quiesces the daemon (closes the door) before it stops it. */
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC;
    if(ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The TLS options go in as an array; plain HTTP passes just its terminator. The PEM buffers stay allocated
     * until tally_http_stop(). */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    if(h->tls)
        flags |= MHD_USE_TLS;
    unsigned limit = fit_connection_limit(cfg->connection_limit ? cfg->connection_limit : CONNECTION_LIMIT);
    h->connection_limit = limit;
    unsigned per_ip = cfg->per_ip_limit == TALLY_HTTP_NO_LIMIT ? 0 : cfg->per_ip_limit ? cfg->per_ip_limit : PER_IP_LIMIT;
    h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
                              MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_NOTIFY_CONNECTION, conn_event, h,
                              MHD_OPTION_URI_LOG_CALLBACK, uri_seen, h,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
                              MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                              MHD_OPTION_ARRAY, h->tls ? tls : &tls[3], MHD_OPTION_END);
    if(!h->mhd) {
        snprintf(msg, TALLY_MSG_MAX, "cannot listen on %s (in use, or not an address of this machine) / không mở được "
                 "cổng", cfg->listen ? cfg->listen : TALLY_HTTP_DEFAULT_LISTEN);
        tally_writer_stop(h->writer);
        tally_writer_free(h->writer);
        free_server(h);
        return TALLY_E_IO;
    }
    if(pthread_create(&h->reaper, NULL, reaper, h) != 0) {
        snprintf(msg, TALLY_MSG_MAX, "cannot start the reaper thread");
        MHD_stop_daemon(h->mhd);
        tally_writer_stop(h->writer);
        tally_writer_free(h->writer);
        free_server(h);
        return TALLY_E_NOMEM;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    char host[INET6_ADDRSTRLEN] = "?";
    const char *scheme = h->tls ? "https" : "http";
    if(ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
        snprintf(h->url, sizeof h->url, "%s://[%s]:%u", scheme, host, port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
        snprintf(h->url, sizeof h->url, "%s://%s:%u", scheme, host, port);
    }
    *out = h;
    return TALLY_OK;
}

const char *tally_http_url(const TallyHttp *h)
{
    return h->url;
}

bool tally_http_alive(TallyHttp *h, unsigned timeout_ms)
{
    if(!tally_writer_alive(h->writer, h->writer_stuck_s))
        return false;
    Slot *s = slot_wait(h, mono() + timeout_ms / 1e3);
    if(!s)
        return false;
    TallyTarget t[GROUP_COUNT];
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_targets_get(s->db, t, msg);
    slot_give(h, s);
    return e == TALLY_OK;
}

/* True while a request is under way on some connection (reg_mu held): begun, or waiting for the writer, or
 * its answer not yet sent. Idle keep-alive connections do not count. */
static bool requests_under_way(TallyHttp *h)
{
    for(Conn *c = h->conns; c; c = c->next)
        if(c->req && c->state != CONN_CUT)
            return true;
    return false;
}

void tally_http_stop(TallyHttp *h)
{
    if(!h)
        return;
    double until = mono() + TALLY_HTTP_STOP_GRACE_S;
    /* 1. Close the door: no new connections; no new batches on the open ones (503); replies close them. */
    atomic_store(&h->closing, true);
    MHD_socket lfd = MHD_quiesce_daemon(h->mhd);
    if(lfd != MHD_INVALID_SOCKET)
        close(lfd);
    /* 2. Requests already begun finish, within the grace: a body still arriving is read, its batch queued,
     * written and answered; the deadlines (reaper) and the writer keep running meanwhile. */
    for(;;) {
        pthread_mutex_lock(&h->reg_mu);
        bool busy = requests_under_way(h);
        pthread_mutex_unlock(&h->reg_mu);
        if(!busy || mono() > until)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&h->reg_mu);
    h->stopping = true;
    pthread_cond_signal(&h->reaper_wake);
    pthread_mutex_unlock(&h->reg_mu);
    pthread_join(h->reaper, NULL);
    /* 3. The writer writes what is still queued (each batch complete; done resumes its connection). */
    tally_writer_stop(h->writer);
    /* 4. A moment for the answers just resumed to go out. */
    for(int i = 0; i < 40; i++) {
        pthread_mutex_lock(&h->reg_mu);
        bool waiting = false;
        for(Conn *c = h->conns; c && !waiting; c = c->next)
            waiting = c->state == CONN_WAIT || (c->state == CONN_REPLY && c->req);
        pthread_mutex_unlock(&h->reg_mu);
        if(!waiting)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(h->mhd);
    tally_writer_free(h->writer);
    free_server(h);
}
