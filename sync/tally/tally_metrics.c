/* tally_metrics.c — counters, the Prometheus text exposition and the address check (see tally_metrics.h).
 * Start reading at tally_metrics_render(): every metric the server exposes is named there. */
#include "sync/tally/tally_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATUS_MIN 100
#define STATUS_MAX 599

static const char *const ROUTE_NAMES[METRIC_ROUTE_COUNT] = {"batches", "tally", "targets", "healthz", "metrics",
                                                             "other"};
static const char *const REFUSAL_NAMES[METRIC_REFUSED_COUNT] = {"db_busy", "no_memory"};

struct TallyMetrics {
    atomic_uint_fast64_t requests[METRIC_ROUTE_COUNT][STATUS_MAX - STATUS_MIN + 1];
    atomic_uint_fast64_t accepted, duplicate, rejected;
    atomic_uint_fast64_t refused[METRIC_REFUSED_COUNT];
    atomic_int_fast64_t  queue;
    atomic_uint_fast64_t busy_waits, busy_wait_us;
    int64_t              started; /* Unix seconds */
};

TallyMetrics *tally_metrics_new(void)
{
    TallyMetrics *m = calloc(1, sizeof *m); /* all-zero is a valid state for these atomics */
    if(m)
        m->started = (int64_t)time(NULL);
    return m;
}

void tally_metrics_free(TallyMetrics *m)
{
    free(m);
}

void tally_metrics_request(TallyMetrics *m, TallyMetricRoute route, unsigned status)
{
    if(m && route < METRIC_ROUTE_COUNT && status >= STATUS_MIN && status <= STATUS_MAX)
        atomic_fetch_add(&m->requests[route][status - STATUS_MIN], 1);
}

void tally_metrics_ratings(TallyMetrics *m, int64_t accepted, int64_t duplicate, int64_t rejected)
{
    if(!m)
        return;
    atomic_fetch_add(&m->accepted, (uint_fast64_t)accepted);
    atomic_fetch_add(&m->duplicate, (uint_fast64_t)duplicate);
    atomic_fetch_add(&m->rejected, (uint_fast64_t)rejected);
}

void tally_metrics_refused(TallyMetrics *m, TallyMetricRefusal why)
{
    if(m && why < METRIC_REFUSED_COUNT)
        atomic_fetch_add(&m->refused[why], 1);
}

void tally_metrics_queue(TallyMetrics *m, int delta)
{
    if(m)
        atomic_fetch_add(&m->queue, delta);
}

int tally_metrics_sqlite_busy(void *ctx, int count)
{
    /* The same schedule as SQLite's own busy timeout: short sleeps first, then 100 ms. */
    static const int DELAY_MS[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
    enum { N_DELAYS = sizeof DELAY_MS / sizeof DELAY_MS[0] };
    int spent = 0;
    for(int i = 0; i < count; i++)
        spent += DELAY_MS[i < N_DELAYS ? i : N_DELAYS - 1];
    if(spent >= TALLY_BUSY_TIMEOUT_MS)
        return 0;
    int ms = DELAY_MS[count < N_DELAYS ? count : N_DELAYS - 1];
    TallyMetrics *m = ctx;
    if(m) {
        if(count == 0)
            atomic_fetch_add(&m->busy_waits, 1);
        atomic_fetch_add(&m->busy_wait_us, (uint_fast64_t)ms * 1000u);
    }
    nanosleep(&(struct timespec){0, (long)ms * 1000000L}, NULL);
    return 1;
}

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

char *tally_metrics_render(const TallyMetrics *mc, const TallyMetricsLive *live)
{
    TallyMetrics *m = (TallyMetrics *)mc; /* atomic_load takes a non-const pointer in C17 */
    Buf b = {0};
    head(&b, "tally_http_requests_total", "counter", "HTTP requests answered, by route and status code.");
    for(int r = 0; r < METRIC_ROUTE_COUNT; r++)
        for(int s = 0; s <= STATUS_MAX - STATUS_MIN; s++) {
            uint_fast64_t n = atomic_load(&m->requests[r][s]);
            if(n)
                put(&b, "tally_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n", ROUTE_NAMES[r], s + STATUS_MIN,
                    (unsigned long long)n);
        }
    head(&b, "tally_ratings_total", "counter", "Ratings in uploaded batches, by verdict.");
    put(&b, "tally_ratings_total{result=\"accepted\"} %llu\n", (unsigned long long)atomic_load(&m->accepted));
    put(&b, "tally_ratings_total{result=\"duplicate\"} %llu\n", (unsigned long long)atomic_load(&m->duplicate));
    put(&b, "tally_ratings_total{result=\"rejected\"} %llu\n", (unsigned long long)atomic_load(&m->rejected));
    head(&b, "tally_ingest_queue_depth", "gauge", "Batches waiting for or holding the database writer.");
    put(&b, "tally_ingest_queue_depth %lld\n", (long long)atomic_load(&m->queue));
    head(&b, "tally_ingest_refusals_total", "counter", "Batches refused with 503 (nothing stored), by reason.");
    for(int i = 0; i < METRIC_REFUSED_COUNT; i++)
        put(&b, "tally_ingest_refusals_total{reason=\"%s\"} %llu\n", REFUSAL_NAMES[i],
            (unsigned long long)atomic_load(&m->refused[i]));
    head(&b, "tally_db_busy_waits_total", "counter", "Times a database statement found the file locked and waited.");
    put(&b, "tally_db_busy_waits_total %llu\n", (unsigned long long)atomic_load(&m->busy_waits));
    head(&b, "tally_db_busy_wait_seconds_total", "counter", "Seconds spent waiting for a locked database file.");
    put(&b, "tally_db_busy_wait_seconds_total %.3f\n", (double)atomic_load(&m->busy_wait_us) / 1e6);
    head(&b, "tally_http_open_connections", "gauge", "Client connections open now.");
    put(&b, "tally_http_open_connections %lld\n", (long long)live->open_connections);
    head(&b, "tally_http_requests_in_flight", "gauge", "Requests begun and not yet answered.");
    put(&b, "tally_http_requests_in_flight %lld\n", (long long)live->in_flight);
    head(&b, "tally_start_time_seconds", "gauge", "When this tally-server started, Unix time.");
    put(&b, "tally_start_time_seconds %lld\n", (long long)m->started);
    head(&b, "tally_device_last_upload_timestamp_seconds", "gauge",
         "When each enrolled kiosk last uploaded a batch, Unix time (kiosks that never did are absent).");
    for(size_t i = 0; i < live->n_devices; i++) {
        const TallyMetricsDevice *d = &live->devices[i];
        if(!d->last_seen)
            continue;
        put(&b, "tally_device_last_upload_timestamp_seconds{device=\"");
        put_label(&b, d->id);
        put(&b, "\",unit=\"");
        put_label(&b, d->unit);
        put(&b, "\"} %lld\n", (long long)d->last_seen);
    }
    if(b.oom) {
        free(b.d);
        return NULL;
    }
    return b.d;
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
