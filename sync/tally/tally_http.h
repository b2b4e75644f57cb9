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
 *   GET  /metrics          client address in metrics_allow (else 403): the counters below, Prometheus text
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
#include "sync/tally/tally_writer.h"

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
    const char *metrics_allow;    /* who may GET /metrics: "ADDR[/PREFIX][,..]"; NULL = loopback (tally_metrics.h) */
    unsigned    writer_stuck_s;   /* tally_http_alive(): a write running longer is stuck; 0 = TALLY_WRITER_STUCK_S */
    /* Reverse proxies (nginx) whose X-Forwarded-For is believed: "ADDR[/PREFIX][,..]"; NULL = none. A request
     * from one of them is the client's named last in that header (what the proxy saw) for sign-in lockout,
     * the audit trail and the log; from any other address the header is ignored, so it cannot be forged. */
    const char *trusted_proxies;
} TallyHttpConfig;

/* Opens the database (migrating it), loads the TLS certificate and key if given, binds and starts serving.
 * A malformed metrics_allow gives TALLY_E_INVALID naming the entry. A certificate or key file that cannot be read gives TALLY_E_IO; one that is not PEM, a key that does not
 * match the certificate, or only one of the two gives TALLY_E_INVALID; msg names the file. On failure
 * nothing is left running. */
TallyErr tally_http_start(const TallyHttpConfig *cfg, TallyHttp **out, char msg[TALLY_MSG_MAX]);
/* The bound address as a base URL, e.g. "http://127.0.0.1:41234", "https://[::1]:8443" with TLS. */
const char *tally_http_url(const TallyHttp *h);
/* True while the server can still store: the writer thread runs and no write of it has been running longer
 * than writer_stuck_s, and a worker's database connection could be had within timeout_ms and read. What
 * tally-server feeds the systemd watchdog on. */
bool tally_http_alive(TallyHttp *h, unsigned timeout_ms);
/* The graceful stop (SIGTERM): no new connections (the listening socket is closed at once); requests
 * already begun may finish within TALLY_HTTP_STOP_GRACE_S all together (their replies carry Connection:
 * close; a batch that arrives meanwhile is still queued, written and answered); then the writer writes
 * every batch still queued (each one fully received; at most queue_max, seconds of work) and everything
 * closes. A body still incomplete when the grace runs out is not stored, and was never acknowledged. */
#define TALLY_HTTP_STOP_GRACE_S 20
void tally_http_stop(TallyHttp *h);

/* What the server has done since it started, counted in one place (for logs, tests and GET /metrics). */
#define TALLY_HTTP_CODES_MAX 24 /* distinct status codes counted per route (the server answers ~18) */
typedef struct {
    /* [route, or n_routes for a request that matched none][in order of first use]; code 0 = the request ended
     * without an answer (the client went away, or the server stopped) */
    struct {
        unsigned code;
        uint64_t n;
    } requests[TALLY_HTTP_ROUTES_MAX + 1][TALLY_HTTP_CODES_MAX];
    const char *route_name[TALLY_HTTP_ROUTES_MAX];
    size_t      n_routes;
    /* refusals, by cause (a batch refused because the writer's queue was full: writer.refused) */
    uint64_t    cut_off;             /* connections cut off by a deadline (408 where HTTP allows) */
    uint64_t    refused_per_address; /* connections turned away at accept: their address held per_ip_limit */
    uint64_t    refused_connections; /* ... the server held connection_limit */
    uint64_t    refused_body_memory; /* 503: the bodies' memory budget was spent */
    uint64_t    refused_db_busy;     /* 503: the database was locked past its timeout, or out of memory */
    size_t      connections;         /* open now */
    size_t      in_flight;           /* requests begun and not ended */
    size_t      body_bytes, body_budget; /* request body bytes buffered now, and the budget */
    uint64_t    busy_waits, busy_wait_us; /* every connection's waits for a locked file (tally_db_busy_stats) */
    TallyWriterStats  writer;        /* the queue, batches written / dropped (client gone) / refused, ratings */
    TallyWriterHealth health;
    int64_t     started;             /* unix time */
} TallyHttpStats;
void tally_http_stats(TallyHttp *h, TallyHttpStats *out);

#endif
