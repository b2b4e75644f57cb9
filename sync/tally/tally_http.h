/* tally_http.h — the tally's HTTP API on libmicrohttpd (docs/protocol.md is the contract).
 *
 *   POST /api/v1/batches   device token   one upload batch -> {"batch_id","accepted","duplicate","rejected"}
 *   GET  /healthz          no token
 *   everything else        tally_web.h: the dashboard pages, sign-in/out, downloads, GET /api/v1/tally and
 *                          /api/v1/targets (viewer token, limited to the viewer's scope)
 *
 * Everything a request can be refused for that does not need its body (method, path, token, Content-Type,
 * Content-Length) is refused before a byte of the body is read; a body without a length stops being
 * buffered at PROTO_MAX_BODY. A refused request stores nothing. Each worker thread borrows its own SQLite
 * connection; batches are written one at a time (one writer per file is all SQLite allows anyway), so
 * many kiosks uploading at once queue instead of failing. One line per request goes to stderr.
 *
 * TLS: with tls_cert and tls_key set, the daemon speaks HTTPS only (GnuTLS inside libmicrohttpd, TLS 1.2 and
 * 1.3); a plain-HTTP request to that port gets its connection closed. Without them it speaks plain HTTP, for
 * loopback, tests, or behind a TLS-terminating reverse proxy. */
#ifndef SYNC_TALLY_HTTP_H
#define SYNC_TALLY_HTTP_H

#include "sync/tally/tally_db.h"

#define TALLY_HTTP_THREADS_DEFAULT 4
#define TALLY_HTTP_DEFAULT_LISTEN "127.0.0.1:8080"

typedef struct TallyHttp TallyHttp;

typedef struct {
    const char *db_path;
    const char *listen;   /* "ADDR:PORT" or "[V6ADDR]:PORT"; port 0 picks a free one */
    unsigned    threads;  /* 0 = TALLY_HTTP_THREADS_DEFAULT */
    const char *tls_cert; /* PEM certificate chain file (server first), or NULL for plain HTTP */
    const char *tls_key;  /* its unencrypted PEM private key file; both set or both NULL */
    int         login_slow_s; /* seconds between sign-in attempts once slowed; 0 = the default (5) */
} TallyHttpConfig;

/* Opens the database (migrating it), loads the TLS certificate and key if given, binds and starts serving.
 * A certificate or key file that cannot be read gives TALLY_E_IO; one that is not PEM, a key that does not
 * match the certificate, or only one of the two gives TALLY_E_INVALID; msg names the file. On failure
 * nothing is left running. */
TallyErr tally_http_start(const TallyHttpConfig *cfg, TallyHttp **out, char msg[TALLY_MSG_MAX]);
/* The bound address as a base URL, e.g. "http://127.0.0.1:41234", "https://[::1]:8443" with TLS. */
const char *tally_http_url(const TallyHttp *h);
/* Stops accepting, finishes the requests in flight, closes the database. */
void tally_http_stop(TallyHttp *h);

#endif
