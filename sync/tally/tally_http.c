/* tally_http.c — request routing, limits, auth and replies (see tally_http.h).
 * Start reading at handle(): MHD calls it once when the headers are in, once per piece of body, and once
 * when the body is complete. */
#include "sync/tally/tally_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>

#include "sync/protocol.h"
#include "sync/tally/tally_ingest.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_render.h"
#include "sync/tally/tally_web.h"

#define MAX_BODY PROTO_MAX_BODY          /* bytes of one batch body */
#define DISCARD_LIMIT (4 * MAX_BODY)     /* past this much of an over-long body without a length, hang up */
#define CONNECTION_TIMEOUT_S 60          /* an idle or stalled connection is closed */
/* Each connection may buffer a whole batch body (MAX_BODY): 64 of them bound that to 256 MiB. 64 is still
 * three times the 20 kiosks of sync_multi; a kiosk turned away retries with back-off. */
#define CONNECTION_LIMIT 64
#define PEM_MAX (1 << 20)                /* a certificate chain or key file larger than this is not one */
/* TLS 1.2 and 1.3 only; the kiosks' libcurl speaks both. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

typedef struct {
    TallyDb     *db;
    TallyIngest *ingest;
    bool         busy;
} Slot;

struct TallyHttp {
    struct MHD_Daemon *mhd;
    Slot              *slots;
    unsigned           n_slots;
    pthread_mutex_t    mu;       /* guards slots[].busy */
    pthread_cond_t     freed;
    pthread_mutex_t    write_mu; /* one batch written at a time */
    TallyWeb          *web;      /* the dashboard and the read API */
    char              *tls_cert; /* PEM text, kept for the daemon's life */
    char              *tls_key;
    char               url[80];
};

typedef enum { ROUTE_BATCHES, ROUTE_HEALTH, ROUTE_WEB } Route;

/* Per-request state, from the first call of handle() to completed(). */
typedef struct {
    Route   route;
    char   *body;
    size_t  len, cap;
    size_t  discarded;                   /* bytes thrown away past MAX_BODY */
    char    device[PROTO_ID_MAX + 1];    /* the token's device */
    char    unit[PROTO_ID_MAX + 1];      /* its enrolled unit */
    struct timespec start;
} Req;

/* ---- Connections ------------------------------------------------------------------------------------ */

static Slot *slot_take(TallyHttp *h)
{
    pthread_mutex_lock(&h->mu);
    for(;;) {
        for(unsigned i = 0; i < h->n_slots; i++)
            if(!h->slots[i].busy) {
                h->slots[i].busy = true;
                pthread_mutex_unlock(&h->mu);
                return &h->slots[i];
            }
        pthread_cond_wait(&h->freed, &h->mu);
    }
}

static void slot_give(TallyHttp *h, Slot *s)
{
    pthread_mutex_lock(&h->mu);
    s->busy = false;
    pthread_cond_signal(&h->freed);
    pthread_mutex_unlock(&h->mu);
}

/* ---- Replies ---------------------------------------------------------------------------------------- */

static double elapsed_ms(const Req *r)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - r->start.tv_sec) * 1e3 + (double)(now.tv_nsec - r->start.tv_nsec) / 1e6;
}

/* Queues a JSON reply (takes ownership of body) and logs the request's one line. */
static enum MHD_Result reply(struct MHD_Connection *c, const char *method, const char *url, Req *r,
                             unsigned status, char *body, const char *detail)
{
    if(!body)
        body = strdup("{\"error\":\"out_of_memory\",\"message\":\"out of memory / hết bộ nhớ\"}"), status = 500;
    if(!body)
        return MHD_NO;
    size_t len = strlen(body);
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if(!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    fprintf(stderr, "tally-server: %s %s %u device=%s %s %.1fms\n", method, url, status,
            r && r->device[0] ? r->device : "-", detail ? detail : "", r ? elapsed_ms(r) : 0.0);
    return ret;
}

/* {"error":code,"message":"English / Vietnamese"} with optional field and position. */
static enum MHD_Result reply_error(struct MHD_Connection *c, const char *method, const char *url, Req *r,
                                   unsigned status, const char *code, const char *field, int line, int column,
                                   const char *fmt, ...) __attribute__((format(printf, 10, 11)));
static enum MHD_Result reply_error(struct MHD_Connection *c, const char *method, const char *url, Req *r,
                                   unsigned status, const char *code, const char *field, int line, int column,
                                   const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    char *body = NULL;
    if(o && !json_object_set_new(o, "error", json_string(code)) &&
       !json_object_set_new(o, "message", json_string(message)) &&
       (!field || !json_object_set_new(o, "field", json_string(field))) &&
       (line <= 0 || (!json_object_set_new(o, "line", json_integer(line)) &&
                      !json_object_set_new(o, "column", json_integer(column)))))
        body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    char detail[64];
    snprintf(detail, sizeof detail, "error=%s", code);
    return reply(c, method, url, r, status, body, detail);
}

#define ERR(status, code, ...) reply_error(c, method, url, r, status, code, NULL, 0, 0, __VA_ARGS__)

static enum MHD_Result reply_tally_err(struct MHD_Connection *c, const char *method, const char *url, Req *r,
                                       TallyErr e, const char *msg)
{
    if(e == TALLY_E_BUSY)
        return ERR(MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                   "the database is busy, nothing was stored: retry later / máy chủ đang bận, chưa lưu gì, hãy thử lại sau");
    fprintf(stderr, "tally-server: database error: %s\n", msg);
    return ERR(MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
               "internal error, nothing was stored / lỗi máy chủ, chưa lưu gì");
}

/* ---- Request parts ---------------------------------------------------------------------------------- */

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

static bool is_json(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    static const char JSON[] = "application/json";
    if(!v || strncasecmp(v, JSON, sizeof JSON - 1) != 0)
        return false;
    char next = v[sizeof JSON - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* ---- POST /api/v1/batches --------------------------------------------------------------------------- */

/* Everything decidable from the headers; returns true when a refusal was queued. */
static bool batch_precheck(TallyHttp *h, struct MHD_Connection *c, const char *method, const char *url, Req *r,
                           enum MHD_Result *ret)
{
    const char *token = bearer(c);
    if(!token) {
        *ret = ERR(MHD_HTTP_UNAUTHORIZED, "unauthorized",
                   "missing Authorization: Bearer token / thiếu mã xác thực của thiết bị");
        return true;
    }
    TallyAuth auth;
    char msg[TALLY_MSG_MAX];
    Slot *s = slot_take(h);
    TallyErr e = tally_auth_device(s->db, token, &auth, r->device, r->unit, msg);
    slot_give(h, s);
    if(e) {
        *ret = reply_tally_err(c, method, url, r, e, msg);
        return true;
    }
    if(auth == TALLY_AUTH_UNKNOWN) {
        *ret = ERR(MHD_HTTP_UNAUTHORIZED, "unauthorized", "unknown device token / mã xác thực thiết bị không đúng");
        return true;
    }
    if(auth == TALLY_AUTH_REVOKED) {
        *ret = ERR(MHD_HTTP_FORBIDDEN, "revoked",
                   "device %s has been revoked / thiết bị %s đã bị thu hồi quyền gửi", r->device, r->device);
        return true;
    }
    if(!is_json(c)) {
        *ret = ERR(MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                   "Content-Type must be application/json / nội dung phải là application/json");
        return true;
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if(cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if(*end || end == cl || n > MAX_BODY) {
            *ret = ERR(MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                       "a batch body may be at most %u bytes / mỗi lô tối đa %u byte", MAX_BODY, MAX_BODY);
            return true;
        }
    }
    return false;
}

static enum MHD_Result batch_finish(TallyHttp *h, struct MHD_Connection *c, const char *method, const char *url,
                                    Req *r)
{
    if(r->discarded)
        return ERR(MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                   "a batch body may be at most %u bytes / mỗi lô tối đa %u byte", MAX_BODY, MAX_BODY);
    ProtoBatch b;
    ProtoError pe;
    ProtoErr pr = proto_batch_parse(r->body ? r->body : "", r->len, &b, &pe);
    if(pr == PROTO_E_TOO_MANY) {
        proto_batch_free(&b);
        return ERR(MHD_HTTP_CONTENT_TOO_LARGE, "too_many_ratings",
                   "a batch may hold at most %d ratings / mỗi lô tối đa %d đánh giá", PROTO_MAX_BATCH,
                   PROTO_MAX_BATCH);
    }
    if(pr == PROTO_E_NOMEM) {
        proto_batch_free(&b);
        return ERR(MHD_HTTP_SERVICE_UNAVAILABLE, "busy", "out of memory, nothing was stored / hết bộ nhớ, chưa lưu gì");
    }
    if(pr) {
        proto_batch_free(&b);
        return reply_error(c, method, url, r, MHD_HTTP_BAD_REQUEST, proto_err_code(pr), pe.field[0] ? pe.field : NULL,
                           pr == PROTO_E_SYNTAX ? pe.line : 0, pe.column,
                           "%s / lô dữ liệu không hợp lệ, chưa lưu gì", pe.msg);
    }
    if(strcmp(b.device_id, r->device) != 0) {
        proto_batch_free(&b);
        return ERR(MHD_HTTP_FORBIDDEN, "device_mismatch",
                   "device_id is not the device this token belongs to / device_id không khớp với mã xác thực");
    }
    ProtoReply rep;
    char msg[TALLY_MSG_MAX];
    Slot *s = slot_take(h);
    pthread_mutex_lock(&h->write_mu);
    TallyErr e = tally_ingest_batch(s->ingest, &b, r->unit, (int64_t)time(NULL), &rep, msg);
    pthread_mutex_unlock(&h->write_mu);
    slot_give(h, s);
    size_t n_items = b.n;
    proto_batch_free(&b);
    if(e)
        return reply_tally_err(c, method, url, r, e, msg);
    char detail[128];
    snprintf(detail, sizeof detail, "batch=%s items=%zu accepted=%lld duplicate=%lld rejected=%zu", rep.batch_id,
             n_items, (long long)rep.accepted, (long long)rep.duplicate, rep.n_rejected);
    char *body = proto_reply_dump(&rep);
    proto_reply_free(&rep);
    return reply(c, method, url, r, MHD_HTTP_OK, body, detail);
}

/* ---- Everything else: the dashboard and the read API (tally_web.c) ----------------------------------- */

typedef struct {
    TallyWebArg args[TALLY_WEB_ARGS_MAX];
    size_t      n;
    bool        overflow;
} QueryArgs;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    QueryArgs *q = cls;
    if(q->n == TALLY_WEB_ARGS_MAX) {
        q->overflow = true;
        return MHD_NO;
    }
    q->args[q->n++] = (TallyWebArg){key, value ? value : ""};
    return MHD_YES;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t len)
{
    snprintf(out, len, "?");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if(!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if(sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
    else if(sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
}

static enum MHD_Result web_finish(TallyHttp *h, struct MHD_Connection *c, const char *method, const char *url, Req *r)
{
    QueryArgs q = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
    if(q.overflow)
        return ERR(MHD_HTTP_BAD_REQUEST, "bad_request", "too many query parameters / quá nhiều tham số");
    char addr[INET6_ADDRSTRLEN];
    client_addr(c, addr, sizeof addr);
    TallyWebRequest req = {
        .method = method, .path = url, .query = q.args, .n_query = q.n,
        .cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE),
        .bearer = bearer(c),
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .body = r->body, .body_len = r->len, .body_too_large = r->discarded > 0,
        .client_addr = addr, .tls = h->tls_cert != NULL, .now_s = (int64_t)time(NULL),
    };
    TallyWebResponse resp;
    Slot *s = slot_take(h);
    tally_web_handle(h->web, s->db, &req, &resp);
    slot_give(h, s);
    struct MHD_Response *mr = MHD_create_response_from_buffer_with_free_callback(resp.len, resp.body, free);
    if(!mr) {
        tally_web_response_free(&resp);
        return MHD_NO;
    }
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
    for(int i = 0; i < resp.n_headers; i++)
        MHD_add_response_header(mr, resp.headers[i].name, resp.headers[i].value);
    enum MHD_Result ret = MHD_queue_response(c, resp.status, mr);
    MHD_destroy_response(mr);
    fprintf(stderr, "tally-server: %s %s %u %s %.1fms\n", method, url, resp.status, resp.log, elapsed_ms(r));
    return ret;
}

/* ---- The access handler ----------------------------------------------------------------------------- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                             const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    (void)version;
    TallyHttp *h = cls;
    Req *r = *req_cls;
    if(!r) { /* headers are in: decide everything that does not need the body */
        if(!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        *req_cls = r;
        bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0, post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
        if(strcmp(url, "/api/v1/batches") == 0)
            r->route = ROUTE_BATCHES;
        else if(strcmp(url, "/healthz") == 0)
            r->route = ROUTE_HEALTH;
        else if(tally_web_serves(url) || strncmp(url, "/api/", 5) != 0)
            r->route = ROUTE_WEB; /* the web module answers its own 404 / 405 pages */
        else
            return ERR(MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint / không có địa chỉ này");
        if(r->route != ROUTE_WEB && (r->route == ROUTE_BATCHES ? !post : !get))
            return ERR(MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                       "method not allowed here / phương thức không được phép");
        if(r->route == ROUTE_BATCHES) {
            enum MHD_Result ret;
            if(batch_precheck(h, c, method, url, r, &ret))
                return ret;
        }
        return MHD_YES;
    }
    if(*upload_data_size) { /* a piece of body */
        size_t cap = r->route == ROUTE_BATCHES ? MAX_BODY
                   : r->route == ROUTE_WEB && tally_web_takes_body(method, url) ? TALLY_WEB_FORM_MAX : 0;
        if(r->discarded || r->len + *upload_data_size > cap) {
            /* Past the cap: stop buffering; the 413 goes out when the client stops sending. */
            r->discarded += *upload_data_size;
            *upload_data_size = 0;
            return r->discarded > DISCARD_LIMIT ? MHD_NO : MHD_YES;
        }
        if(r->len + *upload_data_size + 1 > r->cap) {
            size_t ncap = r->cap ? r->cap : 64 * 1024;
            while(ncap < r->len + *upload_data_size + 1)
                ncap *= 2;
            if(ncap > MAX_BODY + 1)
                ncap = MAX_BODY + 1;
            char *nb = realloc(r->body, ncap);
            if(!nb)
                return MHD_NO;
            r->body = nb;
            r->cap = ncap;
        }
        memcpy(r->body + r->len, upload_data, *upload_data_size);
        r->len += *upload_data_size;
        r->body[r->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* The request is complete. */
    switch(r->route) {
    case ROUTE_BATCHES: return batch_finish(h, c, method, url, r);
    case ROUTE_HEALTH: return reply(c, method, url, r, MHD_HTTP_OK, strdup("{\"status\":\"ok\"}"), NULL);
    case ROUTE_WEB: return web_finish(h, c, method, url, r);
    }
    return MHD_NO;
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    Req *r = *req_cls;
    if(r) {
        free(r->body);
        free(r);
        *req_cls = NULL;
    }
}

/* ---- Start and stop --------------------------------------------------------------------------------- */

/* libmicrohttpd's own messages (TLS handshakes that fail, sockets) on stderr as one prefixed line each. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while(n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    fprintf(stderr, "tally-server: libmicrohttpd: %s\n", line);
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

static void free_slots(TallyHttp *h)
{
    for(unsigned i = 0; i < h->n_slots; i++) {
        tally_ingest_free(h->slots[i].ingest);
        tally_db_close(h->slots[i].db);
    }
    free(h->slots);
    h->slots = NULL;
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
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->freed, NULL);
    pthread_mutex_init(&h->write_mu, NULL);
    e = tls_load(cfg, h, msg);
    if(!e) {
        TallyWebConfig wc = tally_web_config_default();
        if(cfg->login_slow_s > 0)
            wc.lock.slow_s = cfg->login_slow_s;
        e = tally_web_new(&wc, &h->web, msg);
    }
    /* One connection per worker thread (the first one migrates the file). */
    for(unsigned i = 0; i < threads && !e; i++) {
        h->n_slots = i + 1;
        e = tally_db_open(cfg->db_path, &h->slots[i].db, msg);
        if(!e)
            e = tally_ingest_new(h->slots[i].db, &h->slots[i].ingest, msg);
    }
    if(!e) {
        unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
        if(ss.ss_family == AF_INET6)
            flags |= MHD_USE_IPv6;
        /* The TLS options go in as an array; plain HTTP passes just its terminator. The PEM buffers stay
         * allocated until tally_http_stop(). */
        struct MHD_OptionItem tls[] = {
            {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
            {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
            {MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES},
            {MHD_OPTION_END, 0, NULL},
        };
        if(h->tls_cert)
            flags |= MHD_USE_TLS;
        h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                  MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT, MHD_OPTION_ARRAY,
                                  h->tls_cert ? tls : &tls[3], MHD_OPTION_END);
        if(!h->mhd) {
            snprintf(msg, TALLY_MSG_MAX, "cannot listen on %s (in use, or not an address of this machine) / không "
                     "mở được cổng", cfg->listen ? cfg->listen : TALLY_HTTP_DEFAULT_LISTEN);
            e = TALLY_E_IO;
        }
    }
    if(e) {
        free_slots(h);
        free_pem(h);
        tally_web_free(h->web);
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->freed);
        pthread_mutex_destroy(&h->write_mu);
        free(h);
        return e;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    char host[INET6_ADDRSTRLEN] = "?";
    const char *scheme = h->tls_cert ? "https" : "http";
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

void tally_http_stop(TallyHttp *h)
{
    if(!h)
        return;
    MHD_stop_daemon(h->mhd);
    free_slots(h);
    free_pem(h);
    tally_web_free(h->web);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->freed);
    pthread_mutex_destroy(&h->write_mu);
    free(h);
}
