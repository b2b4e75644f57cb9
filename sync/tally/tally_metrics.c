/* tally_metrics.c — GET /metrics: the Prometheus text exposition and the address check (see tally_metrics.h).
 * Start reading at tally_metrics_render(): every metric the server exposes is named there. */
#include "sync/tally/tally_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Rendering ----------------------------------------------------------------------------------------- */

typedef struct {
    char  *d;
    size_t len, cap;
    bool   oom;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Buf *b, const char *fmt, ...)
{
    if(b->oom)
        return;
    for(;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->d ? b->d + b->len : NULL, b->d ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if(n < 0) {
            b->oom = true;
            return;
        }
        if(b->d && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while(cap <= b->len + (size_t)n)
            cap *= 2;
        char *d = realloc(b->d, cap);
        if(!d) {
            b->oom = true;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
}

/* A label value as the text format wants it: backslash, double quote and line feed escaped. */
static void put_label(Buf *b, const char *v)
{
    for(; *v; v++) {
        if(*v == '\\')
            put(b, "\\\\");
        else if(*v == '"')
            put(b, "\\\"");
        else if(*v == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *v);
    }
}

static void head(Buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(Buf *b, const char *name, const char *type, const char *help, double v)
{
    head(b, name, type, help);
    put(b, "%s %.15g\n", name, v);
}

char *tally_metrics_render(const TallyHttpStats *st, const TallyMetricsDevice *devices, size_t n_devices)
{
    Buf b = {0};
    const TallyWriterStats *w = &st->writer;
    head(&b, "tally_http_requests_total", "counter",
         "HTTP requests by route and status code (route \"none\": no such endpoint; code \"none\": ended without "
         "an answer).");
    for(size_t r = 0; r <= st->n_routes && r <= TALLY_HTTP_ROUTES_MAX; r++)
        for(int i = 0; i < TALLY_HTTP_CODES_MAX && st->requests[r][i].n; i++) {
            put(&b, "tally_http_requests_total{route=\"");
            put_label(&b, r < st->n_routes && st->route_name[r] ? st->route_name[r] : "none");
            if(st->requests[r][i].code)
                put(&b, "\",code=\"%u\"} %llu\n", st->requests[r][i].code, (unsigned long long)st->requests[r][i].n);
            else
                put(&b, "\",code=\"none\"} %llu\n", (unsigned long long)st->requests[r][i].n);
        }
    head(&b, "tally_http_refusals_total", "counter",
         "Connections or requests turned away by the server's limits, by cause (nothing stored).");
    put(&b, "tally_http_refusals_total{cause=\"deadline\"} %llu\n", (unsigned long long)st->cut_off);
    put(&b, "tally_http_refusals_total{cause=\"per_address_limit\"} %llu\n", (unsigned long long)st->refused_per_address);
    put(&b, "tally_http_refusals_total{cause=\"connection_limit\"} %llu\n", (unsigned long long)st->refused_connections);
    put(&b, "tally_http_refusals_total{cause=\"queue_full\"} %lld\n", (long long)w->refused);
    put(&b, "tally_http_refusals_total{cause=\"body_memory\"} %llu\n", (unsigned long long)st->refused_body_memory);
    put(&b, "tally_http_refusals_total{cause=\"db_busy\"} %llu\n", (unsigned long long)st->refused_db_busy);
    one(&b, "tally_http_open_connections", "gauge", "Client connections open now.", (double)st->connections);
    one(&b, "tally_http_requests_in_flight", "gauge", "Requests begun and not yet ended.", (double)st->in_flight);
    one(&b, "tally_http_body_bytes", "gauge", "Request body bytes buffered now.", (double)st->body_bytes);
    one(&b, "tally_http_body_budget_bytes", "gauge", "Request body bytes that may be buffered at once.",
        (double)st->body_budget);

    head(&b, "tally_ratings_total", "counter", "Ratings in the batches written, by verdict.");
    put(&b, "tally_ratings_total{result=\"accepted\"} %lld\n", (long long)w->accepted);
    put(&b, "tally_ratings_total{result=\"duplicate\"} %lld\n", (long long)w->duplicate);
    put(&b, "tally_ratings_total{result=\"rejected\"} %lld\n", (long long)w->rejected);
    one(&b, "tally_ratings_quarantined_total", "counter",
        "Accepted ratings kept out of the figures because the device's clock put them outside what it allows.",
        (double)w->quarantined);
    head(&b, "tally_ingest_batches_total", "counter",
         "Batches that reached the writer, by outcome (dropped: the client had gone; nothing stored).");
    put(&b, "tally_ingest_batches_total{result=\"written\"} %lld\n", (long long)w->written);
    put(&b, "tally_ingest_batches_total{result=\"dropped\"} %lld\n", (long long)w->dropped);
    put(&b, "tally_ingest_batches_total{result=\"failed\"} %lld\n", (long long)w->failed);
    one(&b, "tally_ingest_queue_depth", "gauge", "Batches waiting for the writer now.", (double)w->depth);
    one(&b, "tally_ingest_queue_capacity", "gauge", "Batches that may wait for the writer (more: 503 Retry-After).",
        (double)w->max_depth);
    one(&b, "tally_ingest_queue_reserved", "gauge", "Places in the queue held for batches still arriving.",
        (double)w->reserved);
    one(&b, "tally_ingest_queue_ratings", "gauge", "Ratings waiting for the writer now.", (double)w->ratings);
    one(&b, "tally_ingest_queue_ratings_capacity", "gauge", "Ratings that may wait for the writer.",
        (double)w->max_ratings);
    one(&b, "tally_ingest_batch_seconds", "gauge", "Moving average of the time the writer takes per batch.",
        w->ms_per_job / 1e3);
    one(&b, "tally_db_writable", "gauge", "1 when the writer's last write succeeded and none is stuck (/readyz).",
        st->health.writable ? 1 : 0);
    one(&b, "tally_db_busy_waits_total", "counter", "Times a database statement found the file locked and waited.",
        (double)st->busy_waits);
    one(&b, "tally_db_busy_wait_seconds_total", "counter", "Seconds spent waiting for a locked database file.",
        (double)st->busy_wait_us / 1e6);
    one(&b, "tally_start_time_seconds", "gauge", "When this tally-server started, Unix time.", (double)st->started);
    head(&b, "tally_device_last_upload_timestamp_seconds", "gauge",
         "When each enrolled kiosk last uploaded a batch, Unix time (kiosks that never did are absent).");
    for(size_t i = 0; i < n_devices; i++) {
        const TallyMetricsDevice *d = &devices[i];
        if(!d->last_seen)
            continue;
        put(&b, "tally_device_last_upload_timestamp_seconds{device=\"");
        put_label(&b, d->id);
        put(&b, "\",unit=\"");
        put_label(&b, d->unit);
        put(&b, "\"} %lld\n", (long long)d->last_seen);
    }
    head(&b, "tally_device_quarantined_ratings", "gauge",
         "Each kiosk's ratings kept out of the figures for a wrong clock (kiosks with none are absent).");
    for(size_t i = 0; i < n_devices; i++) {
        const TallyMetricsDevice *d = &devices[i];
        if(!d->quarantined)
            continue;
        put(&b, "tally_device_quarantined_ratings{device=\"");
        put_label(&b, d->id);
        put(&b, "\",unit=\"");
        put_label(&b, d->unit);
        put(&b, "\"} %lld\n", (long long)d->quarantined);
    }
    if(b.oom) {
        free(b.d);
        return NULL;
    }
    return b.d;
}

/* ---- GET /metrics ----------------------------------------------------------------------------------- */

typedef struct {
    TallyMetricsDevice *d;
    size_t              n, cap;
    bool                oom;
} DeviceList;

static bool collect_device(const TallyDevice *d, void *ud)
{
    DeviceList *l = ud;
    if(!d->last_seen && !d->quarantined)
        return true;
    if(l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        TallyMetricsDevice *nd = realloc(l->d, cap * sizeof *nd);
        if(!nd)
            return !(l->oom = true);
        l->d = nd;
        l->cap = cap;
    }
    TallyMetricsDevice *m = &l->d[l->n++];
    snprintf(m->id, sizeof m->id, "%s", d->id);
    snprintf(m->unit, sizeof m->unit, "%s", d->unit);
    m->last_seen = d->last_seen;
    m->quarantined = d->quarantined;
    return true;
}

static void metrics_handle(TallyReq *rq)
{
    DeviceList l = {0};
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_device_list(tally_req_db(rq), collect_device, &l, msg);
    if(e || l.oom) {
        free(l.d);
        return tally_reply_db_error(rq, e ? e : TALLY_E_NOMEM, e ? msg : "out of memory");
    }
    TallyHttpStats *st = malloc(sizeof *st); /* ~13 KiB: not on a worker's stack */
    char *body = NULL;
    if(st) {
        tally_req_server_stats(rq, st);
        body = tally_metrics_render(st, l.d, l.n);
    }
    free(st);
    free(l.d);
    tally_reply(rq, 200, TALLY_METRICS_CONTENT_TYPE, body, body ? strlen(body) : 0);
}

static const TallyRoute ROUTES[] = {
    {"GET", "/metrics", "metrics", TALLY_ROUTE_MONITOR, NULL, 0, false, NULL, metrics_handle},
};

const TallyRoute *tally_metrics_routes(size_t *n)
{
    *n = sizeof ROUTES / sizeof ROUTES[0];
    return ROUTES;
}

/* ---- --metrics-allow ----------------------------------------------------------------------------------- */

TallyErr tally_metrics_allow_parse(const char *spec, TallyMetricsAllow *out, char msg[TALLY_MSG_MAX])
{
    memset(out, 0, sizeof *out);
    const char *p = spec;
    do {
        size_t len = strcspn(p, ",");
        char item[64];
        if(len == 0 || len >= sizeof item)
            goto bad;
        memcpy(item, p, len);
        item[len] = '\0';
        if(out->n == TALLY_METRICS_ALLOW_MAX) {
            snprintf(msg, TALLY_MSG_MAX, "--metrics-allow: at most %d entries / tối đa %d mục",
                     TALLY_METRICS_ALLOW_MAX, TALLY_METRICS_ALLOW_MAX);
            return TALLY_E_INVALID;
        }
        char *slash = strchr(item, '/');
        if(slash)
            *slash = '\0';
        int fam = strchr(item, ':') ? AF_INET6 : AF_INET;
        unsigned max = fam == AF_INET ? 32 : 128, prefix = max;
        if(inet_pton(fam, item, out->net[out->n].addr) != 1)
            goto bad_item;
        if(slash) {
            char *end;
            long v = strtol(slash + 1, &end, 10);
            if(*end || end == slash + 1 || v < 0 || v > (long)max)
                goto bad_item;
            prefix = (unsigned)v;
        }
        out->net[out->n].family = fam;
        out->net[out->n].prefix = prefix;
        out->n++;
        p += len;
        continue;
    bad_item:
        if(slash)
            *slash = '/';
        snprintf(msg, TALLY_MSG_MAX, "--metrics-allow: %s is not an address or ADDR/PREFIX range / địa chỉ không "
                 "hợp lệ", item);
        return TALLY_E_INVALID;
    } while(*p++ == ',');
    return TALLY_OK;
bad:
    snprintf(msg, TALLY_MSG_MAX, "--metrics-allow: expected ADDR[/PREFIX] separated by commas / danh sách địa chỉ "
             "không hợp lệ");
    return TALLY_E_INVALID;
}

static bool prefix_match(const unsigned char *a, const unsigned char *net, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if(memcmp(a, net, full) != 0)
        return false;
    if(!rest)
        return true;
    unsigned char mask = (unsigned char)(0xFFu << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

bool tally_metrics_allowed(const TallyMetricsAllow *al, const struct sockaddr *sa)
{
    if(!sa)
        return false;
    unsigned char addr[16];
    int fam = sa->sa_family;
    if(fam == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if(fam == AF_INET6) {
        const unsigned char *a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const unsigned char MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if(memcmp(a6, MAPPED, 12) == 0) {
            fam = AF_INET;
            memcpy(addr, a6 + 12, 4);
        } else {
            memcpy(addr, a6, 16);
        }
    } else {
        return false;
    }
    for(size_t i = 0; i < al->n; i++)
        if(al->net[i].family == fam && prefix_match(addr, al->net[i].addr, al->net[i].prefix))
            return true;
    return false;
}
