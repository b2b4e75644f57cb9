/* tally_metrics.h — GET /metrics: the tally server's counters in the Prometheus text format, and who may
 * read them (--metrics-allow).
 *
 * Nothing is counted here: tally_http and tally_writer count (TallyHttpStats, one place), and this module
 * renders a snapshot of those counters together with what only the database knows at scrape time (each
 * device's last upload and quarantined ratings). Label values are escaped as the format says, so no device
 * id can break a line. The address check is made by the transport (TALLY_ROUTE_MONITOR in tally_route.h)
 * before the handler runs: any other address gets 403. */
#ifndef SYNC_TALLY_METRICS_H
#define SYNC_TALLY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sync/tally/tally_db.h"
#include "sync/tally/tally_http.h"
#include "sync/tally/tally_route.h"

#define TALLY_METRICS_ALLOW_DEFAULT "127.0.0.0/8,::1"
#define TALLY_METRICS_ALLOW_MAX 32 /* entries in --metrics-allow */
#define TALLY_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* What the database says about one kiosk at scrape time. */
typedef struct {
    char    id[PROTO_ID_MAX + 1], unit[PROTO_ID_MAX + 1];
    int64_t last_seen;   /* Unix seconds; 0 = never uploaded (then no sample) */
    int64_t quarantined; /* its ratings kept out of the figures for a wrong clock (0: no sample) */
} TallyMetricsDevice;

/* The whole exposition, malloc'd and NUL-terminated; NULL when out of memory. */
char *tally_metrics_render(const TallyHttpStats *st, const TallyMetricsDevice *devices, size_t n_devices);

/* The route: GET /metrics (auth TALLY_ROUTE_MONITOR). */
const TallyRoute *tally_metrics_routes(size_t *n);

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
