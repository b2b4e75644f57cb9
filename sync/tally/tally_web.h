/* tally_web.h — everything a person or a reader sees over HTTP except uploads: the dashboard pages, their
 * static files, the report downloads, sign-in/out, and the read API (GET /api/v1/tally, /api/v1/targets).
 *
 * Transport-independent: its routes run on the server's one transport (tally_web_routes(), tally_route.h: the
 * same framing, deadlines, per-address limit, body budget and escaped log line as the kiosks' uploads), which
 * hands each request over as a TallyWebRequest and sends the TallyWebResponse back; nothing here knows
 * libmicrohttpd, so it is tested without a socket. Forms are read from bodies the transport held within its
 * budget; query strings and forms are decoded strictly by tally_form.h. A busy database is 503 + Retry-After.
 *
 * The rule that keeps it honest: ONE place (tally_web_handle) decides who is asking — a session cookie for
 * pages and downloads, a bearer token for the API — and the scope unit that person may see, checks the CSRF
 * token of every state-changing form, and only then calls a route's handler with that scope. Handlers receive
 * the scope read-only and pass it to the report model, which refuses any unit outside it (TALLY_E_SCOPE ->
 * 403 out_of_scope). Every value placed in HTML goes through tally_html_escape(). */
#ifndef SYNC_TALLY_WEB_H
#define SYNC_TALLY_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/tally/tally_account.h"
#include "sync/tally/tally_db.h"

#define TALLY_WEB_HEADERS_MAX 12
#define TALLY_WEB_HEADER_VALUE_MAX 400
#define TALLY_WEB_FORM_MAX 4096   /* bytes of a form body the web layer accepts (sign-in, sign-out) */
#define TALLY_WEB_RETRY_AFTER_S 2 /* a 503 (the database busy) asks to come back after this */
#define TALLY_SESSION_COOKIE "tally_sid"
#define TALLY_LOGIN_CSRF_COOKIE "tally_login_csrf"

typedef struct {
    const char        *method;       /* "GET", "HEAD", "POST", ... */
    const char        *path;         /* without the query string, %-decoded */
    const char        *query;        /* the query string as sent, without '?' (NULL or "" for none); decoded
                                      * strictly here (tally_form.h): a malformed one is a 400 naming it */
    const char        *cookie;       /* the raw Cookie header, or NULL */
    const char        *bearer;       /* the token of "Authorization: Bearer", or NULL */
    const char        *content_type; /* of the body, or NULL */
    const char        *body;         /* the raw body (forms), or NULL */
    size_t             body_len;
    const char        *client_addr;  /* "127.0.0.1", "::1" */
    bool               tls;          /* the request came over HTTPS (cookies get Secure) */
    int64_t            now_s;        /* the clock (Unix seconds) */
} TallyWebRequest;

typedef struct {
    char name[40];
    char value[TALLY_WEB_HEADER_VALUE_MAX];
} TallyWebHeader;

typedef struct {
    unsigned       status;
    const char    *content_type;   /* static string */
    char          *body;           /* malloc'd; free with tally_web_response_free */
    size_t         len;
    TallyWebHeader headers[TALLY_WEB_HEADERS_MAX];
    int            n_headers;
    char           log[160];       /* a short, secret-free note for the request's log line ("viewer=x rows=3") */
} TallyWebResponse;

typedef struct TallyWeb TallyWeb;

typedef struct {
    TallyLockPolicy lock;          /* wrong-password policy */
} TallyWebConfig;

TallyWebConfig tally_web_config_default(void);
TallyErr       tally_web_new(const TallyWebConfig *cfg, TallyWeb **out, char msg[TALLY_MSG_MAX]);
void           tally_web_free(TallyWeb *w);

/* Answers one request; db is the calling thread's own connection. Always fills resp (an error page or JSON
 * error on failure). */
void tally_web_handle(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, TallyWebResponse *resp);
void tally_web_response_free(TallyWebResponse *resp);

/* ---- Parts exposed for the HTTP layer and tests --------------------------------------------------------- */

/* The value of a cookie in a Cookie header, copied into out; false when absent or too long. */
bool        tally_web_cookie(const char *header, const char *name, char *out, size_t out_len);

#endif
