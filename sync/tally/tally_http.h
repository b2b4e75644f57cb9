/* tally_http.h — the tally's HTTP server on libmicrohttpd (docs/protocol.md and docs/openapi.yaml are the
 * contract; docs/internals/tally.md explains the limits).
 *
 *   POST /api/v1/batches   device token   one upload batch -> {"batch_id","accepted","duplicate","rejected"}
 *   GET  /api/v1/tally     viewer token   ?from=D&to=D[&unit=CODE][&area=CODE][&by=..][&min_n=N] -> {"rows":[..]}
 *                                         (limited to the viewer's scope)
 *   GET  /api/v1/targets   viewer token   the target table
 *   GET  /healthz          no token       serving
 *   GET  /readyz           no token       serving and the database takes writes
 *   the dashboard          session cookie pages, sign-in/out, static files, report downloads (tally_web.h)
 *
 * Availability under hostile and heavy traffic: a request's line and headers must arrive within
 * header_timeout_s and its body at a minimum rate, or the connection is cut off (408 where plain HTTP still
 * allows it); connections are limited in all and per address; request bodies share a memory budget; batches
 * wait for the one writer in a bounded queue and are refused with 503 + Retry-After at once when it is full,
 * so /healthz and /readyz (which never touch that queue) are answered at the peak too. Everything a request
 * can be refused for that does not need its body is refused before a byte of the body is read; a refused
 * request stores nothing. One escaped line per request goes to stderr.
 *
 * TLS: with tls_cert and tls_key set, the daemon speaks HTTPS only (GnuTLS inside libmicrohttpd, TLS 1.2 and
 * 1.3); a plain-HTTP request to that port gets its connection closed. Without them it speaks plain HTTP, for
 * loopback, tests, or behind a TLS-terminating reverse proxy (then set per_ip_limit to TALLY_HTTP_NO_LIMIT:
 * every connection comes from the proxy's address). */
#ifndef SYNC_TALLY_HTTP_H
#define SYNC_TALLY_HTTP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/tally/tally_db.h"

#define TALLY_HTTP_THREADS_DEFAULT 4
#define TALLY_HTTP_DEFAULT_LISTEN "127.0.0.1:8080"
#define TALLY_HTTP_NO_LIMIT UINT_MAX
#define TALLY_HTTP_ROUTES_MAX 32

typedef struct TallyHttp TallyHttp;

typedef struct {
    const char *db_path;
    const char *listen;           /* "ADDR:PORT" or "[V6ADDR]:PORT"; port 0 picks a free one */
    unsigned    threads;          /* 0 = TALLY_HTTP_THREADS_DEFAULT */
    const char *tls_cert;         /* PEM certificate chain file (server first), or NULL for plain HTTP */
    const char *tls_key;          /* its unencrypted PEM private key file; both set or both NULL */
    unsigned    header_timeout_s; /* request line + headers must arrive within this; 0 = 10 s */
    unsigned    connection_limit; /* connections held at once; 0 = 2000 (fewer if descriptors are short) */
    unsigned    per_ip_limit;     /* connections from one address; 0 = 64; TALLY_HTTP_NO_LIMIT = none */
    size_t      queue_max;        /* batches waiting for the writer; 0 = 256 (and at most 50,000 ratings) */
    size_t      body_budget;      /* bytes of request bodies buffered at once; 0 = 128 MiB */
    int         login_slow_s;     /* seconds between sign-in attempts once slowed; 0 = the default (5) */
} TallyHttpConfig;

/* Opens the database (migrating it), loads the TLS certificate and key if given, binds and starts serving.
 * A certificate or key file that cannot be read gives TALLY_E_IO; one that is not PEM, a key that does not
 * match the certificate, or only one of the two gives TALLY_E_INVALID; msg names the file. On failure
 * nothing is left running. */
TallyErr tally_http_start(const TallyHttpConfig *cfg, TallyHttp **out, char msg[TALLY_MSG_MAX]);
/* The bound address as a base URL, e.g. "http://127.0.0.1:41234", "https://[::1]:8443" with TLS. */
const char *tally_http_url(const TallyHttp *h);
/* Stops accepting, writes and answers the batches already queued, closes the database. */
void tally_http_stop(TallyHttp *h);

/* What the server has done since it started, counted in one place (for logs, tests and metrics). */
typedef struct {
    uint64_t    requests[TALLY_HTTP_ROUTES_MAX + 1][6]; /* [route, or n_routes for none][status / 100; 0 = no status] */
    const char *route_name[TALLY_HTTP_ROUTES_MAX];
    size_t      n_routes;
    uint64_t    cut_off;          /* connections cut off for slowness (408) */
    size_t      connections;      /* open now */
    size_t      queue_depth;      /* batches waiting for the writer now */
    int64_t     queue_refused;    /* batches refused because the queue was full */
    int64_t     batches_written, batches_dropped;
    size_t      body_bytes;       /* request body bytes buffered now */
} TallyHttpStats;
void tally_http_stats(TallyHttp *h, TallyHttpStats *out);

#endif
