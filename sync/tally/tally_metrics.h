/* tally_metrics.h — the tally server's counters, their Prometheus text exposition (GET /metrics), and who
 * may read them (--metrics-allow).
 *
 * The HTTP layer bumps the counters (lock-free atomics, any thread); tally_metrics_render() writes them in
 * the Prometheus text format 0.0.4 together with the values only known at scrape time (open connections,
 * each device's last upload), which the caller passes in. Label values are escaped as the format says, so
 * no device id can break a line. The address check happens before anything is rendered. */
#ifndef SYNC_TALLY_METRICS_H
#define SYNC_TALLY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sync/tally/tally_db.h"

#define TALLY_METRICS_ALLOW_DEFAULT "127.0.0.0/8,::1"
#define TALLY_METRICS_ALLOW_MAX 32 /* entries in --metrics-allow */

typedef enum {
    METRIC_ROUTE_BATCHES,
    METRIC_ROUTE_TALLY,
    METRIC_ROUTE_TARGETS,
    METRIC_ROUTE_HEALTH,
    METRIC_ROUTE_METRICS,
    METRIC_ROUTE_OTHER, /* no such endpoint */
    METRIC_ROUTE_COUNT
} TallyMetricRoute;

typedef enum {
    METRIC_REFUSED_DB_BUSY,   /* the database stayed locked past the busy timeout: 503 */
    METRIC_REFUSED_NO_MEMORY, /* 503 */
    METRIC_REFUSED_COUNT
} TallyMetricRefusal;

typedef struct TallyMetrics TallyMetrics;

TallyMetrics *tally_metrics_new(void); /* NULL when out of memory */
void          tally_metrics_free(TallyMetrics *m);

void tally_metrics_request(TallyMetrics *m, TallyMetricRoute route, unsigned status);
void tally_metrics_ratings(TallyMetrics *m, int64_t accepted, int64_t duplicate, int64_t rejected);
void tally_metrics_refused(TallyMetrics *m, TallyMetricRefusal why);
/* A batch starts / stops waiting for or holding the one writer: the ingest queue's depth. */
void tally_metrics_queue(TallyMetrics *m, int delta);

/* An sqlite3_busy_handler that counts and times the waits, and gives up after TALLY_BUSY_TIMEOUT_MS like
 * sqlite3_busy_timeout() would. Install with sqlite3_busy_handler(db, tally_metrics_sqlite_busy, m). */
int tally_metrics_sqlite_busy(void *m, int count);

/* What only the caller knows at scrape time. */
typedef struct {
    char    id[PROTO_ID_MAX + 1], unit[PROTO_ID_MAX + 1];
    int64_t last_seen; /* Unix seconds; 0 = never uploaded (then no sample) */
} TallyMetricsDevice;

typedef struct {
    int64_t                   open_connections;
    int64_t                   in_flight; /* requests begun and not completed */
    const TallyMetricsDevice *devices;
    size_t                    n_devices;
} TallyMetricsLive;

/* The whole exposition, malloc'd and NUL-terminated; NULL when out of memory. */
char *tally_metrics_render(const TallyMetrics *m, const TallyMetricsLive *live);

/* ---- --metrics-allow ------------------------------------------------------------------------------------ */

typedef struct {
    struct {
        int           family; /* AF_INET or AF_INET6 */
        unsigned char addr[16];
        unsigned      prefix;
    } net[TALLY_METRICS_ALLOW_MAX];
    size_t n;
} TallyMetricsAllow;

/* "ADDR[/PREFIX][,ADDR[/PREFIX]...]" (IPv4 or IPv6; no prefix = that one address). TALLY_E_INVALID naming
 * the bad entry. */
TallyErr tally_metrics_allow_parse(const char *spec, TallyMetricsAllow *out, char msg[TALLY_MSG_MAX]);
/* True when the address is in one of the ranges (an IPv4-mapped IPv6 address counts as its IPv4 one). */
bool tally_metrics_allowed(const TallyMetricsAllow *a, const struct sockaddr *sa);

#endif
