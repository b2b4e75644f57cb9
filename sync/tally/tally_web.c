/* tally_web.c — routes, identity, scope and CSRF for the dashboard and the read API (see tally_web.h).
 * Start reading at tally_web_handle(): route lookup, then identify() — the one place that turns a session
 * cookie or a bearer token into a viewer and a scope — then the CSRF check, then the route's handler. */
#include "sync/tally/tally_web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <pthread.h>
#include <time.h>
#include <sodium.h>

#include "sync/tally/tally_export.h"
#include "sync/tally/tally_form.h"
#include "sync/tally/tally_html.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_render.h"
#include "sync/tally/tally_report.h"
#include "sync/tally/tally_route.h"
#include "sync/tally/tally_text.h"

#define CSP "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; " \
            "frame-ancestors 'none'; base-uri 'none'"
#define CT_HTML "text/html; charset=utf-8"
#define CT_JSON "application/json; charset=utf-8"

struct TallyWeb {
    TallyWebConfig cfg;
};

/* Who is asking, decided once in identify(); handlers get it read-only and cannot widen the scope. */
typedef struct {
    char viewer[TALLY_NAME_MAX + 1];
    char unit[PROTO_ID_MAX + 1];        /* the scope: "" = the whole province */
    char csrf[TALLY_TOKEN_HEX + 1];     /* the session's, "" for token callers */
    char sid[TALLY_TOKEN_HEX + 1];      /* the session id from the cookie ("" for token callers) */
} Who;

typedef enum { AUTH_NONE, AUTH_SESSION, AUTH_TOKEN } Auth;

/* args: the query string's parameters, decoded strictly (tally_form.h) before any handler runs. */
typedef void (*Handler)(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                        TallyWebResponse *resp);

typedef struct {
    const char *method;
    const char *path;      /* exact, or a prefix when it ends in '/' */
    const char *name;      /* for the log line and the server's counters */
    Auth        auth;
    bool        csrf;      /* a state-changing form: the session's CSRF token must come with it */
    Handler     fn;
} Route;

TallyWebConfig tally_web_config_default(void)
{
    return (TallyWebConfig){.lock = tally_lock_policy_default()};
}

TallyErr tally_web_new(const TallyWebConfig *cfg, TallyWeb **out, char msg[TALLY_MSG_MAX])
{
    *out = calloc(1, sizeof **out);
    if(!*out) {
        snprintf(msg, TALLY_MSG_MAX, "out of memory");
        return TALLY_E_NOMEM;
    }
    (*out)->cfg = cfg ? *cfg : tally_web_config_default();
    return TALLY_OK;
}

void tally_web_free(TallyWeb *w)
{
    free(w);
}

/* ---- Request parts ------------------------------------------------------------------------------------- */

bool tally_web_cookie(const char *header, const char *name, char *out, size_t out_len)
{
    if(!header)
        return false;
    size_t nl = strlen(name);
    for(const char *p = header; *p;) {
        while(*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if(len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            if(vl >= out_len)
                return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}

/* ---- Responses ----------------------------------------------------------------------------------------- */

static void header(TallyWebResponse *r, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void header(TallyWebResponse *r, const char *name, const char *fmt, ...)
{
    if(r->n_headers == TALLY_WEB_HEADERS_MAX)
        return;
    TallyWebHeader *h = &r->headers[r->n_headers++];
    snprintf(h->name, sizeof h->name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->value, sizeof h->value, fmt, ap);
    va_end(ap);
}

static void security_headers(TallyWebResponse *r)
{
    header(r, "Content-Security-Policy", "%s", CSP);
    header(r, "X-Content-Type-Options", "nosniff");
    header(r, "Referrer-Policy", "no-referrer");
    header(r, "X-Frame-Options", "DENY");
    header(r, "Cache-Control", "no-store");
}

/* Takes the buffer's text as the body; an allocation failure becomes a bare 503 (busy: retry). */
static void body_from(TallyWebResponse *r, unsigned status, const char *ctype, TallyBuf *b)
{
    r->body = tally_buf_take(b, &r->len);
    r->status = status;
    r->content_type = ctype;
    if(!r->body) {
        r->body = strdup("out of memory / hết bộ nhớ");
        r->len = r->body ? strlen(r->body) : 0;
        r->status = 503;
        r->content_type = "text/plain; charset=utf-8";
    }
}

static void redirect(TallyWebResponse *r, const char *location)
{
    TallyBuf b = {0};
    security_headers(r);
    header(r, "Location", "%s", location);
    body_from(r, 303, "text/plain; charset=utf-8", &b);
}

static void error_page(TallyWebResponse *r, unsigned status, const Who *who, TallyStr message)
{
    TallyBuf b = {0};
    TallyHtmlCtx c = {.page = TALLY_PAGE_OTHER, .viewer = who && who->viewer[0] ? who->viewer : NULL,
                      .csrf = who ? who->csrf : "", .path = "/"};
    tally_html_error(&b, &c, message);
    security_headers(r);
    body_from(r, status, CT_HTML, &b);
}

/* A JSON error as the rest of the API answers, built by the server's one builder (tally_json_error). */
static void json_error(TallyWebResponse *r, unsigned status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void json_error(TallyWebResponse *r, unsigned status, const char *code, const char *field, const char *fmt, ...)
{
    char message[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    free(r->body);
    r->body = tally_json_error(code, field, 0, 0, message);
    r->len = r->body ? strlen(r->body) : 0;
    r->status = r->body ? status : 503; /* out of memory: busy, retry (Retry-After added by tally_web_handle) */
    r->content_type = CT_JSON;
    header(r, "X-Content-Type-Options", "nosniff");
    header(r, "Cache-Control", "no-store");
    snprintf(r->log, sizeof r->log, "error=%s", code);
}

static void json_body(TallyWebResponse *r, char *body)
{
    if(!body) {
        json_error(r, 503, "busy", NULL, "out of memory: retry later / hết bộ nhớ, hãy thử lại sau");
        return;
    }
    r->body = body;
    r->len = strlen(body);
    r->status = 200;
    r->content_type = CT_JSON;
    header(r, "X-Content-Type-Options", "nosniff");
    header(r, "Cache-Control", "no-store");
}

/* A database failure: busy (or out of memory) is 503, retried after Retry-After; anything else 500, logged. */
static bool db_busy(TallyErr e, const char *msg)
{
    if(e == TALLY_E_BUSY || e == TALLY_E_NOMEM)
        return true;
    fprintf(stderr, "tally-server: database error: %s\n", msg);
    return false;
}

static void db_error_page(TallyWebResponse *resp, const Who *who, TallyErr e, const char *msg)
{
    error_page(resp, db_busy(e, msg) ? 503 : 500, who, TS_ERR_INTERNAL);
}

static void db_error_json(TallyWebResponse *resp, TallyErr e, const char *msg)
{
    if(db_busy(e, msg))
        json_error(resp, 503, "busy", NULL, "the database is busy: retry later / máy chủ đang bận, hãy thử lại sau");
    else
        json_error(resp, 500, "internal", NULL, "server error, retry later / lỗi máy chủ, hãy thử lại sau");
}

void tally_web_response_free(TallyWebResponse *resp)
{
    free(resp->body);
    resp->body = NULL;
}

/* A name for the log line, quoted and escaped by the server's one log escaper (tally_text.h). */
static void log_safe(char *out, size_t len, const char *s)
{
    size_t n = tally_log_escape(s, strlen(s), out + 1, len - 2);
    out[0] = '"';
    out[n + 1] = '"';
    out[n + 2] = '\0';
}

/* ---- Identity: the one place ---------------------------------------------------------------------------- */

/* Who the request is from, for routes that need someone. False when a refusal was written into resp. */
static bool identify(TallyDb *db, const Route *rt, const TallyWebRequest *req, Who *who, TallyWebResponse *resp)
{
    memset(who, 0, sizeof *who);
    char msg[TALLY_MSG_MAX];
    if(rt->auth == AUTH_TOKEN) {
        TallyAuth auth = TALLY_AUTH_UNKNOWN;
        if(req->bearer) {
            TallyErr e = tally_auth_viewer_scope(db, req->bearer, &auth, who->viewer, who->unit, msg);
            if(e) {
                db_error_json(resp, e, msg);
                return false;
            }
        }
        if(auth == TALLY_AUTH_REVOKED) {
            json_error(resp, 403, "revoked", NULL, "this viewer token has been revoked / mã xem đã bị thu hồi");
            return false;
        }
        if(auth != TALLY_AUTH_OK) {
            json_error(resp, 401, "unauthorized", NULL,
                       "missing or unknown viewer token / thiếu hoặc sai mã xác thực người xem");
            return false;
        }
        return true;
    }
    /* Sessions: the cookie names one; the database says whether it is still alive and whose it is. */
    bool had_cookie = tally_web_cookie(req->cookie, TALLY_SESSION_COOKIE, who->sid, sizeof who->sid);
    TallySession s;
    bool found = false;
    if(had_cookie) {
        TallyErr e = tally_session_get(db, who->sid, req->now_s, &s, &found, msg);
        if(e) {
            db_error_page(resp, NULL, e, msg);
            return false;
        }
    }
    if(!found) {
        memset(who, 0, sizeof *who);
        if(strcmp(req->method, "POST") == 0) {
            error_page(resp, 403, NULL, TS_LOGIN_EXPIRED);
        } else {
            redirect(resp, had_cookie ? "/dang-nhap?msg=expired" : "/dang-nhap");
            if(had_cookie) /* forget the dead cookie */
                header(resp, "Set-Cookie", "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", TALLY_SESSION_COOKIE,
                       req->tls ? "; Secure" : "");
        }
        return false;
    }
    snprintf(who->viewer, sizeof who->viewer, "%s", s.viewer);
    snprintf(who->unit, sizeof who->unit, "%s", s.unit);
    snprintf(who->csrf, sizeof who->csrf, "%s", s.csrf);
    return true;
}

/* Constant-time comparison of a submitted CSRF token with the expected one. */
static bool csrf_equal(const char *got, const char *want)
{
    return got && want[0] && strlen(got) == strlen(want) && sodium_memcmp(got, want, strlen(want)) == 0;
}

/* ---- Pages --------------------------------------------------------------------------------------------- */

/* A page's parameter that is malformed: a 400 page naming it (pages) or a JSON 400 (the API). */
static void bad_param(TallyWebResponse *resp, const TallyWebRequest *req, const Who *who, const char *name)
{
    if(strncmp(req->path, "/api/", 5) == 0) {
        json_error(resp, 400, "bad_value", name, "parameter \"%s\" is malformed / tham số %s không hợp lệ", name, name);
        return;
    }
    TallyBuf b = {0};
    TallyHtmlCtx c = {.page = TALLY_PAGE_OTHER, .viewer = who && who->viewer[0] ? who->viewer : NULL,
                      .csrf = who ? who->csrf : "", .path = "/"};
    tally_html_bad_param(&b, &c, name);
    security_headers(resp);
    body_from(resp, 400, CT_HTML, &b);
    char quoted[96];
    log_safe(quoted, sizeof quoted, name);
    snprintf(resp->log, sizeof resp->log, "error=bad_value param=%s", quoted);
}

/* A whole number written with 1-4 digits only (no sign, no space: as tally_query_parse's numbers). */
static bool small_number(const char *v, long *out)
{
    size_t n = strlen(v);
    if(n == 0 || n > 4 || strspn(v, "0123456789") != n)
        return false;
    *out = strtol(v, NULL, 10);
    return true;
}

/* The period asked for: ?period=CODE, or the picker's kind/year/index or from/to; default: this quarter. False
 * with *bad naming the parameter that is malformed (or "period" when the parts make no period). */
static bool period_from(const TallyForm *args, int64_t now_s, TallyPeriod *p, const char **bad)
{
    const char *code = tally_form_get(args, "period");
    const char *kind = tally_form_get(args, "kind");
    *bad = "period";
    if(code && !kind)
        return tally_period_parse(code, p);
    if(kind) {
        int k = tally_period_kind_from_code(kind);
        if(k < 0)
            return *bad = "kind", false;
        if(k == TALLY_PERIOD_CUSTOM) {
            const char *f = tally_form_get(args, "from");
            const char *t = tally_form_get(args, "to");
            int64_t fd, td;
            if(!f || !ptime_parse_date(f, &fd))
                return *bad = "from", false;
            if(!t || !ptime_parse_date(t, &td))
                return *bad = "to", false;
            return tally_period_custom(fd, td, p);
        }
        const char *y = tally_form_get(args, "year");
        const char *i = tally_form_get(args, "index");
        long year, index = 1;
        if(!y || !small_number(y, &year))
            return *bad = "year", false;
        if(i && *i && !small_number(i, &index))
            return *bad = "index", false;
        /* A month index past a quarter's or half's range (the picker shares one field) takes the last one. */
        if(k == TALLY_PERIOD_QUARTER && index > 4)
            index = (index - 1) / 3 + 1;
        if(k == TALLY_PERIOD_HALF && index > 2)
            index = (index - 1) / 6 + 1;
        return tally_period_make((TallyPeriodKind)k, (int)year, (int)index, p);
    }
    tally_period_containing(TALLY_PERIOD_QUARTER, ptime_vn_day(now_s), p);
    return true;
}

/* Builds the report for a page within the caller's scope; false when an error page was written. */
static bool build(TallyDb *db, const TallyWebRequest *req, const TallyForm *args, const Who *who, const char *unit,
                  unsigned parts, TallyReport **r, TallyWebResponse *resp)
{
    TallyReportSpec spec = {.area = -1, .parts = parts, .now_s = req->now_s};
    const char *bad;
    if(!period_from(args, req->now_s, &spec.period, &bad)) {
        bad_param(resp, req, who, bad);
        return false;
    }
    /* The respondent filter: one of the three types, or absent / empty (the picker's "everyone") for all. */
    const char *respondent = tally_form_get(args, "respondent");
    if(respondent && *respondent && (spec.respondent = proto_respondent_from_code(respondent)) <= 0) {
        bad_param(resp, req, who, "respondent");
        return false;
    }
    /* The area filter likewise: one area's ratings in every figure, reason and the heat map; absent or empty: all. */
    const char *area = tally_form_get(args, "area");
    if(area && *area && (spec.area = proto_area_from_code(area)) < 0) {
        bad_param(resp, req, who, "area");
        return false;
    }
    snprintf(spec.scope, sizeof spec.scope, "%s", who->unit);
    snprintf(spec.unit, sizeof spec.unit, "%s", unit ? unit : "");
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_report_build(db, &spec, r, msg);
    if(!e)
        return true;
    if(e == TALLY_E_SCOPE)
        error_page(resp, 403, who, TS_ERR_SCOPE), snprintf(resp->log, sizeof resp->log, "error=out_of_scope");
    else if(e == TALLY_E_NOT_FOUND)
        error_page(resp, 404, who, TS_ERR_NOT_FOUND);
    else if(e == TALLY_E_INVALID)
        bad_param(resp, req, who, "period");
    else
        db_error_page(resp, who, e, msg);
    return false;
}

typedef void (*PageFn)(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r);

static void page(TallyDb *db, const TallyWebRequest *req, const TallyForm *args, const Who *who,
                 TallyWebResponse *resp, TallyPage which, const char *unit, unsigned parts, PageFn fn)
{
    TallyReport *r;
    if(!build(db, req, args, who, unit, parts, &r, resp))
        return;
    TallyBuf b = {0};
    TallyHtmlCtx c = {.page = which, .viewer = who->viewer, .csrf = who->csrf, .path = req->path};
    fn(&b, &c, r);
    tally_report_free(r);
    security_headers(resp);
    body_from(resp, 200, CT_HTML, &b);
}

static void log_viewer(TallyWebResponse *resp, const Who *who)
{
    if(resp->log[0])
        return;
    char name[96];
    log_safe(name, sizeof name, who->viewer);
    snprintf(resp->log, sizeof resp->log, "viewer=%s", name);
}

static void h_overview(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)w;
    page(db, req, args, who, resp, TALLY_PAGE_OVERVIEW, NULL,
         TALLY_PART_GROUPS | TALLY_PART_TREND | TALLY_PART_UNITS | TALLY_PART_RESPONDENTS,
         tally_html_overview);
    log_viewer(resp, who);
}

static void h_units(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)w;
    const char *unit = req->path + strlen("/don-vi");
    if(*unit == '/')
        unit++;
    if(*unit && !proto_code_valid(unit)) {
        error_page(resp, 404, who, TS_ERR_NOT_FOUND);
    } else if(*unit) {
        page(db, req, args, who, resp, TALLY_PAGE_UNIT, unit,
             TALLY_PART_GROUPS | TALLY_PART_UNITS | TALLY_PART_AREAS | TALLY_PART_REASONS | TALLY_PART_DEVICES |
                 TALLY_PART_HEAT | TALLY_PART_RESPONDENTS,
             tally_html_unit);
    } else {
        page(db, req, args, who, resp, TALLY_PAGE_UNITS, NULL, TALLY_PART_UNITS, tally_html_units);
    }
    log_viewer(resp, who);
}

static void h_devices(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)w;
    page(db, req, args, who, resp, TALLY_PAGE_DEVICES, NULL, TALLY_PART_DEVICES, tally_html_devices);
    log_viewer(resp, who);
}

static void h_alerts(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)w;
    page(db, req, args, who, resp, TALLY_PAGE_ALERTS, NULL, TALLY_PART_ALERTS, tally_html_alerts);
    log_viewer(resp, who);
}

static void h_root(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)args;
    (void)w, (void)db, (void)req, (void)who;
    redirect(resp, "/tong-quan");
}

/* A download of what is on screen (tally_export.h): the report for the page's period and unit as JSON, one
 * CSV view, the XLSX workbook or the PDF to sign — made by the same code as `tally-admin report`, from a model
 * built through build(), so scope, period and unit are checked as for the pages. Audited. */
static void h_export(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)w;
    const char *fmt = tally_form_get(args, "format");
    const char *view_code = tally_form_get(args, "view");
    const char *unit = tally_form_get(args, "unit");
    int f = tally_file_format_from_code(fmt ? fmt : "json");
    int view = view_code && *view_code ? tally_view_from_code(view_code) : -1;
    if(f < 0 || (view_code && *view_code && view < 0) || (f == TALLY_FILE_CSV && view < 0) ||
       (unit && *unit && !proto_code_valid(unit))) {
        error_page(resp, 400, who, TS_ERR_BAD_DOWNLOAD);
        snprintf(resp->log, sizeof resp->log, "error=bad_download");
        log_viewer(resp, who);
        return;
    }
    TallyReport *r;
    if(!build(db, req, args, who, unit, tally_file_parts((TallyFileFormat)f, view), &r, resp)) {
        log_viewer(resp, who);
        return;
    }
    char detail[200], msg[TALLY_MSG_MAX];
    snprintf(detail, sizeof detail, "%s%s%s %s %s", tally_file_format_code((TallyFileFormat)f), view >= 0 ? ":" : "",
             view >= 0 ? tally_view_code((TallyView)view) : "", r->unit_code[0] ? r->unit_code : "-", r->period.code);
    TallyLetterhead lh;
    TallyFile file;
    TallyErr e = tally_letterhead_load(db, &lh, msg);
    if(!e)
        e = tally_file_render(r, &lh, (TallyFileFormat)f, view, &file, msg);
    tally_report_free(r);
    if(e) {
        db_error_page(resp, who, e, msg);
        log_viewer(resp, who);
        return;
    }
    if(tally_audit_add(db, req->now_s, who->viewer, req->client_addr, "export", detail, msg))
        fprintf(stderr, "tally-server: audit failed: %s\n", msg);
    resp->body = file.data;
    resp->len = file.len;
    resp->status = 200;
    resp->content_type = file.content_type;
    security_headers(resp);
    /* The name is ASCII [A-Za-z0-9._-] by construction (tally_file_name): safe inside the quotes as is. */
    header(resp, "Content-Disposition", "attachment; filename=\"%s\"", file.name);
    char name[96];
    log_safe(name, sizeof name, who->viewer);
    snprintf(resp->log, sizeof resp->log, "viewer=%.56s file=%.90s", name, file.name);
}

static void static_file(TallyWebResponse *resp, const char *ctype, const char *text)
{
    resp->body = strdup(text);
    resp->len = resp->body ? strlen(resp->body) : 0;
    resp->status = resp->body ? 200 : 503;
    resp->content_type = ctype;
    header(resp, "X-Content-Type-Options", "nosniff");
    header(resp, "Cache-Control", "max-age=300");
}

static void h_css(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)args;
    (void)w, (void)db, (void)req, (void)who;
    static_file(resp, "text/css; charset=utf-8", tally_html_css());
}

static void h_js(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)args;
    (void)w, (void)db, (void)req, (void)who;
    static_file(resp, "text/javascript; charset=utf-8", tally_html_js());
}

/* ---- Sign-in and sign-out ------------------------------------------------------------------------------ */

static void login_page(TallyWebResponse *resp, const TallyWebRequest *req, unsigned status, const char *name,
                       int message, long wait)
{
    /* The sign-in form carries a fresh token that must come back in a SameSite=Strict cookie too. */
    unsigned char raw[32];
    char csrf[TALLY_TOKEN_HEX + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(csrf, sizeof csrf, raw, sizeof raw);
    TallyBuf b = {0};
    tally_html_login(&b, csrf, name, message, wait);
    security_headers(resp);
    header(resp, "Set-Cookie", "%s=%s; Path=/dang-nhap; HttpOnly; SameSite=Strict%s", TALLY_LOGIN_CSRF_COOKIE, csrf,
           req->tls ? "; Secure" : "");
    body_from(resp, status, CT_HTML, &b);
}

static void h_login_form(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)w, (void)who;
    /* Already signed in: straight to the overview. */
    char sid[TALLY_TOKEN_HEX + 1], msg[TALLY_MSG_MAX];
    TallySession s;
    bool found = false;
    if(tally_web_cookie(req->cookie, TALLY_SESSION_COOKIE, sid, sizeof sid) &&
       tally_session_get(db, sid, req->now_s, &s, &found, msg) == TALLY_OK && found) {
        redirect(resp, "/tong-quan");
        return;
    }
    const char *m = tally_form_get(args, "msg");
    int message = !m ? 0 : !strcmp(m, "out") ? TS_LOGIN_SIGNED_OUT : !strcmp(m, "expired") ? TS_LOGIN_EXPIRED : 0;
    login_page(resp, req, 200, NULL, message, 0);
}

/* The request's form body (the transport has held it to TALLY_WEB_FORM_MAX within its body budget), decoded
 * strictly like a query string (tally_form.h); false when malformed. */
static bool read_form(const TallyWebRequest *req, TallyForm *form)
{
    char bad[TALLY_FORM_NAME_SHOWN + 4];
    return req->body_len <= TALLY_WEB_FORM_MAX &&
           tally_form_parse(req->body ? req->body : "", req->body_len, form, bad) == TALLY_FORM_OK;
}

static void h_login(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)who, (void)args;
    TallyForm form;
    if(!read_form(req, &form)) {
        login_page(resp, req, 400, NULL, TS_LOGIN_CSRF, 0);
        snprintf(resp->log, sizeof resp->log, "error=bad_form");
        return;
    }
    const char *csrf = tally_form_get(&form, "csrf");
    const char *name = tally_form_get(&form, "name");
    const char *password = tally_form_get(&form, "password");
    char want[TALLY_TOKEN_HEX + 1] = "";
    if(!tally_web_cookie(req->cookie, TALLY_LOGIN_CSRF_COOKIE, want, sizeof want) || !csrf_equal(csrf, want)) {
        login_page(resp, req, 403, name, TS_LOGIN_CSRF, 0);
        snprintf(resp->log, sizeof resp->log, "error=csrf");
        return;
    }
    if(!name || !password || !*name || strlen(name) > TALLY_NAME_MAX || strlen(password) > TALLY_PASSWORD_MAX) {
        login_page(resp, req, 401, name, TS_LOGIN_WRONG, 0);
        return;
    }
    TallyLoginResult res;
    char msg[TALLY_MSG_MAX], safe[96];
    TallyErr e = tally_login(db, &w->cfg.lock, name, password, req->client_addr, req->now_s, &res, msg);
    log_safe(safe, sizeof safe, name);
    if(e) {
        db_error_page(resp, NULL, e, msg);
        return;
    }
    switch(res.result) {
    case TALLY_LOGIN_OK:
        redirect(resp, "/tong-quan");
        header(resp, "Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Strict%s", TALLY_SESSION_COOKIE, res.sid,
               req->tls ? "; Secure" : "");
        header(resp, "Set-Cookie", "%s=; Path=/dang-nhap; Max-Age=0; HttpOnly; SameSite=Strict%s",
               TALLY_LOGIN_CSRF_COOKIE, req->tls ? "; Secure" : "");
        sodium_memzero(res.sid, sizeof res.sid);
        snprintf(resp->log, sizeof resp->log, "sign_in=%s", safe);
        return;
    case TALLY_LOGIN_WRONG:
        login_page(resp, req, 401, name, res.now_slowed ? TS_LOGIN_SLOWED : TS_LOGIN_WRONG, 0);
        snprintf(resp->log, sizeof resp->log, "sign_in_failed=%s", safe);
        return;
    case TALLY_LOGIN_SLOWED:
    case TALLY_LOGIN_LOCKED:
        login_page(resp, req, 429, name, res.result == TALLY_LOGIN_LOCKED ? TS_LOGIN_LOCKED : TS_LOGIN_WAIT,
                   (long)res.wait_s);
        header(resp, "Retry-After", "%lld", (long long)res.wait_s);
        snprintf(resp->log, sizeof resp->log, "sign_in_%s=%s", res.result == TALLY_LOGIN_LOCKED ? "locked" : "slowed",
                 safe);
        return;
    }
}

static void h_logout(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)args;
    (void)w;
    char msg[TALLY_MSG_MAX];
    if(tally_session_end(db, who->sid, msg) || tally_audit_add(db, req->now_s, who->viewer, req->client_addr,
                                                               "sign_out", "", msg))
        fprintf(stderr, "tally-server: sign-out: %s\n", msg);
    redirect(resp, "/dang-nhap?msg=out");
    header(resp, "Set-Cookie", "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", TALLY_SESSION_COOKIE,
           req->tls ? "; Secure" : "");
    log_viewer(resp, who);
}

/* ---- The read API -------------------------------------------------------------------------------------- */

#define REFUSE(...)              \
    do {                         \
        json_error(__VA_ARGS__); \
        return;                  \
    } while(0)

static void h_api_tally(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                        TallyWebResponse *resp)
{
    (void)w, (void)args;
    /* The query string strictly, by the same parser the fuzzer drives (tally_query.h). */
    const char *q = req->query ? req->query : "";
    TallySpec spec;
    TallyQueryError qe;
    TallyErr e = tally_query_parse(q, strlen(q), &spec, &qe);
    if(e == TALLY_E_NOMEM)
        REFUSE(resp, 503, "busy", NULL, "out of memory: retry later / hết bộ nhớ, hãy thử lại sau");
    if(e)
        REFUSE(resp, 400, qe.code, qe.param, "%s", qe.msg);
    /* The scope: no unit means the scope's unit; a unit outside it is refused. */
    char msg[TALLY_MSG_MAX];
    if(spec.unit[0] && who->unit[0]) {
        bool inside = false;
        e = tally_unit_in_scope(db, spec.unit, who->unit, &inside, msg);
        if(e == TALLY_E_NOT_FOUND)
            REFUSE(resp, 404, "unknown_unit", "unit", "unit %s does not exist / đơn vị %s không tồn tại", spec.unit,
                   spec.unit);
        if(e) {
            db_error_json(resp, e, msg);
            return;
        }
        if(!inside)
            REFUSE(resp, 403, "out_of_scope", "unit",
                   "unit %s is outside this viewer's scope %s / đơn vị %s nằm ngoài phạm vi được xem", spec.unit,
                   who->unit, spec.unit);
    }
    if(!spec.unit[0])
        snprintf(spec.unit, sizeof spec.unit, "%s", who->unit);
    TallyRow *rows;
    size_t n;
    e = tally_query_run(db, &spec, &rows, &n, msg);
    if(e == TALLY_E_NOT_FOUND)
        REFUSE(resp, 404, "unknown_unit", "unit", "unit %s does not exist / đơn vị %s không tồn tại", spec.unit,
               spec.unit);
    if(e) {
        db_error_json(resp, e, msg);
        return;
    }
    json_body(resp, tally_rows_json(rows, n));
    free(rows);
    char name[96];
    log_safe(name, sizeof name, who->viewer);
    snprintf(resp->log, sizeof resp->log, "viewer=%s rows=%zu", name, n);
}

static void h_api_targets(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, const TallyForm *args,
                       TallyWebResponse *resp)
{
    (void)args;
    (void)w, (void)req, (void)who;
    TallyTarget t[GROUP_COUNT];
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_targets_get(db, t, msg);
    if(e) {
        db_error_json(resp, e, msg);
        return;
    }
    json_t *root = json_object(), *arr = json_array();
    char *body = NULL;
    bool ok = root && arr && !json_object_set(root, "targets", arr);
    for(int g = 0; ok && g < GROUP_COUNT; g++) {
        json_t *o = json_object();
        ok = o && !json_array_append_new(arr, o) &&
             !json_object_set_new(o, "group", json_string(proto_group_code((ProtoGroup)g))) &&
             !json_object_set_new(o, "name_vi", json_string(proto_group_name_vi((ProtoGroup)g))) &&
             !json_object_set_new(o, "target_2025", t[g].pct[0] >= 0 ? json_real(t[g].pct[0]) : json_null()) &&
             !json_object_set_new(o, "target_2030", t[g].pct[1] >= 0 ? json_real(t[g].pct[1]) : json_null());
    }
    if(ok)
        body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(arr);
    json_decref(root);
    json_body(resp, body);
}

/* ---- Routing ------------------------------------------------------------------------------------------- */

static const Route ROUTES[] = {
    {"GET", "/static/dashboard.css", "css", AUTH_NONE, false, h_css},
    {"GET", "/static/dashboard.js", "js", AUTH_NONE, false, h_js},
    {"GET", "/dang-nhap", "sign_in_page", AUTH_NONE, false, h_login_form},
    {"POST", "/dang-nhap", "sign_in", AUTH_NONE, false, h_login},     /* checks its own pre-session CSRF token */
    {"POST", "/dang-xuat", "sign_out", AUTH_SESSION, true, h_logout},
    {"GET", "/", "root", AUTH_SESSION, false, h_root},
    {"GET", "/tong-quan", "overview", AUTH_SESSION, false, h_overview},
    {"GET", "/don-vi", "units", AUTH_SESSION, false, h_units},
    {"GET", "/don-vi/", "unit", AUTH_SESSION, false, h_units},
    {"GET", "/thiet-bi", "devices", AUTH_SESSION, false, h_devices},
    {"GET", "/canh-bao", "alerts", AUTH_SESSION, false, h_alerts},
    {"GET", "/tai-ve", "download", AUTH_SESSION, false, h_export},
    {"GET", "/api/v1/tally", "tally", AUTH_TOKEN, false, h_api_tally},
    {"GET", "/api/v1/targets", "targets", AUTH_TOKEN, false, h_api_targets},
};
#define N_ROUTES (sizeof ROUTES / sizeof ROUTES[0])

static bool path_matches(const Route *rt, const char *path)
{
    size_t n = strlen(rt->path);
    if(n > 1 && rt->path[n - 1] == '/')
        return strncmp(path, rt->path, n) == 0 && path[n] != '\0';
    return strcmp(path, rt->path) == 0;
}

/* A request no route takes. A browser path gets the dashboard's own page in Vietnamese, with its link back to
 * the overview (never the path it asked for): 404, or 405 + Allow for a page asked with another method, under
 * the signed-in header when the cookie names a live session (db NULL: not looked up). False, leaving the
 * caller's JSON error, for the read API (/api/...) and for a wrong method on a path that is not a page here
 * (the kiosks' upload endpoint, the health checks, /metrics). */
static bool not_routed(TallyDb *db, const TallyWebRequest *req, unsigned status, const char *allow,
                       TallyWebResponse *resp)
{
    if(strncmp(req->path, "/api/", 5) == 0)
        return false;
    bool ours = false;
    for(size_t i = 0; i < N_ROUTES && !ours; i++)
        ours = path_matches(&ROUTES[i], req->path);
    if(status == 405 && !ours)
        return false;
    Who who;
    memset(&who, 0, sizeof who);
    TallySession s;
    bool found = false;
    char msg[TALLY_MSG_MAX];
    if(db && tally_web_cookie(req->cookie, TALLY_SESSION_COOKIE, who.sid, sizeof who.sid) &&
       tally_session_get(db, who.sid, req->now_s, &s, &found, msg) == TALLY_OK && found) {
        snprintf(who.viewer, sizeof who.viewer, "%s", s.viewer);
        snprintf(who.csrf, sizeof who.csrf, "%s", s.csrf);
    } else {
        memset(&who, 0, sizeof who); /* no session, or none to be had now: the page without the viewer */
    }
    memset(resp, 0, sizeof *resp);
    error_page(resp, status, &who, status == 405 ? TS_ERR_METHOD : TS_ERR_NOT_FOUND);
    if(status == 405)
        header(resp, "Allow", "%s", allow);
    snprintf(resp->log, sizeof resp->log, "error=%s", status == 405 ? "method_not_allowed" : "not_found");
    return true;
}

static void web_handle(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, TallyWebResponse *resp)
{
    memset(resp, 0, sizeof *resp);
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    const Route *rt = NULL;
    char allow[32] = "";
    for(size_t i = 0; i < N_ROUTES && !rt; i++)
        if(path_matches(&ROUTES[i], req->path)) {
            if(!strstr(allow, ROUTES[i].method))
                snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", allow[0] ? ", " : "",
                         ROUTES[i].method);
            if(strcmp(ROUTES[i].method, method) == 0)
                rt = &ROUTES[i];
        }
    bool api = strncmp(req->path, "/api/", 5) == 0;
    if(!rt) { /* the transport routes by the same table and offers its misses to tally_web_unrouted() */
        unsigned status = allow[0] ? 405 : 404;
        if(!not_routed(db, req, status, allow, resp)) {
            json_error(resp, status, allow[0] ? "method_not_allowed" : "not_found", NULL,
                       allow[0] ? "method not allowed here / phương thức không được phép"
                                : "no such endpoint / không có địa chỉ này");
            if(allow[0])
                header(resp, "Allow", "%s", allow);
        }
        return;
    }
    if(api && req->body_len) {
        json_error(resp, 400, "bad_request", NULL, "a GET takes no body / yêu cầu GET không có nội dung");
        return;
    }
    Who who;
    memset(&who, 0, sizeof who);
    if(rt->auth != AUTH_NONE && !identify(db, rt, req, &who, resp))
        return;
    if(rt->csrf) {
        TallyForm form;
        if(!read_form(req, &form) || !csrf_equal(tally_form_get(&form, "csrf"), who.csrf)) {
            error_page(resp, 403, &who, TS_LOGIN_CSRF);
            snprintf(resp->log, sizeof resp->log, "error=csrf");
            return;
        }
    }
    /* The query string, strictly (a bad escape, a NUL, text that is not UTF-8, an empty or repeated name):
     * 400 naming the parameter, for pages and API alike. The read API parses its own with tally_query_parse. */
    TallyForm args;
    char bad[TALLY_FORM_NAME_SHOWN + 4];
    const char *q = req->query ? req->query : "";
    if(rt->fn != h_api_tally && tally_form_parse(q, strlen(q), &args, bad) != TALLY_FORM_OK) {
        bad_param(resp, req, &who, bad[0] ? bad : "?");
        return;
    }
    if(rt->fn == h_api_tally)
        memset(&args, 0, sizeof args);
    rt->fn(w, db, req, &who, &args, resp);
}

void tally_web_handle(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, TallyWebResponse *resp)
{
    web_handle(w, db, req, resp);
    /* Busy (the database, or memory): the client retries after a moment rather than giving up. */
    if(resp->status == 503) {
        bool has = false;
        for(int i = 0; i < resp->n_headers; i++)
            has |= strcmp(resp->headers[i].name, "Retry-After") == 0;
        if(!has)
            header(resp, "Retry-After", "%d", TALLY_WEB_RETRY_AFTER_S);
    }
}

/* ---- On the server's transport (tally_route.h) -------------------------------------------------------- */

/* Every dashboard and read-API route runs through here on the transport, after its framing, deadlines,
 * per-address limit and body budget: the request becomes a TallyWebRequest, the answer a reply, and the
 * response's note goes on the request's one log line. */
static TallyWebRequest web_request(TallyReq *rq)
{
    size_t len;
    const char *body = tally_req_body(rq, &len);
    TallyWebRequest req = {
        .method = tally_req_method(rq), .path = tally_req_path(rq), .query = tally_req_query(rq),
        .cookie = tally_req_header(rq, "Cookie"), .bearer = NULL,
        .content_type = tally_req_header(rq, "Content-Type"), .body = len ? body : NULL, .body_len = len,
        .client_addr = tally_req_client(rq), .tls = tally_req_tls(rq), .now_s = (int64_t)time(NULL),
    };
    const char *auth = tally_req_header(rq, "Authorization");
    if(auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        auth += 7;
        while(*auth == ' ')
            auth++;
        req.bearer = *auth ? auth : NULL;
    }
    return req;
}

static void reply(TallyReq *rq, TallyWebResponse *resp)
{
    for(int i = 0; i < resp->n_headers; i++)
        tally_reply_header(rq, resp->headers[i].name, resp->headers[i].value);
    if(resp->log[0])
        tally_reply_log(rq, "%s", resp->log);
    tally_reply(rq, resp->status, resp->content_type, resp->body, resp->len); /* takes the body */
    resp->body = NULL;
}

static void route_handle(TallyReq *rq)
{
    TallyWebRequest req = web_request(rq);
    TallyWebResponse resp;
    tally_web_handle(tally_req_web(rq), tally_req_db(rq), &req, &resp);
    reply(rq, &resp);
}

bool tally_web_unrouted(TallyReq *rq, unsigned status, const char *allow)
{
    TallyWebRequest req = web_request(rq);
    /* A database connection only for a cookie that may name a session (a worker's is taken on first use). */
    char sid[TALLY_TOKEN_HEX + 1];
    TallyDb *db = tally_web_cookie(req.cookie, TALLY_SESSION_COOKIE, sid, sizeof sid) ? tally_req_db(rq) : NULL;
    TallyWebResponse resp;
    memset(&resp, 0, sizeof resp);
    if(!not_routed(db, &req, status, allow, &resp))
        return false;
    reply(rq, &resp);
    return true;
}

static TallyRoute TRANSPORT_ROUTES[N_ROUTES];
static pthread_once_t transport_once = PTHREAD_ONCE_INIT;

/* The transport's table, made once from ROUTES: forms (POST) take an urlencoded body of at most
 * TALLY_WEB_FORM_MAX bytes; everything else no body. Identity is checked here, not by the transport. */
static void transport_init(void)
{
    for(size_t i = 0; i < N_ROUTES; i++) {
        bool post = strcmp(ROUTES[i].method, "POST") == 0;
        TRANSPORT_ROUTES[i] = (TallyRoute){
            .method = ROUTES[i].method, .path = ROUTES[i].path, .name = ROUTES[i].name, .auth = TALLY_ROUTE_OPEN,
            .content_type = post ? "application/x-www-form-urlencoded" : NULL,
            .body_max = post ? TALLY_WEB_FORM_MAX : 0, .handle = route_handle,
        };
    }
}

const TallyRoute *tally_web_routes(size_t *n)
{
    pthread_once(&transport_once, transport_init);
    *n = N_ROUTES;
    return TRANSPORT_ROUTES;
}
