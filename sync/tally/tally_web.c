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
#include <sodium.h>

#include "sync/tally/tally_export.h"
#include "sync/tally/tally_html.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_render.h"
#include "sync/tally/tally_report.h"

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

typedef void (*Handler)(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who,
                        TallyWebResponse *resp);

typedef struct {
    const char *method;
    const char *path;      /* exact, or a prefix when it ends in '/' */
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

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes + and %XX in place; false on a bad escape or a NUL. */
static bool url_decode(char *s)
{
    char *w = s;
    for(char *p = s; *p; p++) {
        if(*p == '+') {
            *w++ = ' ';
        } else if(*p == '%') {
            int hi = hexval(p[1]), lo = hi >= 0 ? hexval(p[2]) : -1;
            if(hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            *w++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return true;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while(*p) {
        int n = p[0] < 0x80 ? 1 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
              : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
        if(!n)
            return false;
        for(int i = 1; i < n; i++)
            if((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

int tally_web_parse_form(char *body, TallyWebArg *args, int max)
{
    int n = 0;
    char *save = NULL;
    for(char *pair = strtok_r(body, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        if(n == max)
            return -1;
        char *eq = strchr(pair, '=');
        char *value = eq ? eq + 1 : pair + strlen(pair);
        if(eq)
            *eq = '\0';
        if(!url_decode(pair) || !url_decode(value) || !utf8_valid(pair) || !utf8_valid(value))
            return -1;
        args[n].name = pair;
        args[n].value = value;
        n++;
    }
    return n;
}

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

const char *tally_web_arg(const TallyWebArg *args, size_t n, const char *name)
{
    for(size_t i = 0; i < n; i++)
        if(strcmp(args[i].name, name) == 0)
            return args[i].value;
    return NULL;
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

/* Takes the buffer's text as the body; an allocation failure becomes a bare 500. */
static void body_from(TallyWebResponse *r, unsigned status, const char *ctype, TallyBuf *b)
{
    r->body = tally_buf_take(b, &r->len);
    r->status = status;
    r->content_type = ctype;
    if(!r->body) {
        r->body = strdup("out of memory / hết bộ nhớ");
        r->len = r->body ? strlen(r->body) : 0;
        r->status = 500;
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

/* {"error":code,"message":...[,"field":...]} as the rest of the API answers. */
static void json_error(TallyWebResponse *r, unsigned status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void json_error(TallyWebResponse *r, unsigned status, const char *code, const char *field, const char *fmt, ...)
{
    char message[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    if(o) {
        json_object_set_new(o, "error", json_string(code));
        json_object_set_new(o, "message", json_string(message));
        if(field)
            json_object_set_new(o, "field", json_string(field));
    }
    r->body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    r->len = r->body ? strlen(r->body) : 0;
    r->status = r->body ? status : 500;
    r->content_type = CT_JSON;
    header(r, "X-Content-Type-Options", "nosniff");
    header(r, "Cache-Control", "no-store");
    snprintf(r->log, sizeof r->log, "error=%s", code);
}

static void json_body(TallyWebResponse *r, char *body)
{
    if(!body) {
        json_error(r, 500, "internal", NULL, "out of memory / hết bộ nhớ");
        return;
    }
    r->body = body;
    r->len = strlen(body);
    r->status = 200;
    r->content_type = CT_JSON;
    header(r, "X-Content-Type-Options", "nosniff");
    header(r, "Cache-Control", "no-store");
}

void tally_web_response_free(TallyWebResponse *resp)
{
    free(resp->body);
    resp->body = NULL;
}

/* A name safe for a log line: printable ASCII kept, anything else (spaces, quotes, UTF-8) as %XX. */
static void log_safe(char *out, size_t len, const char *s)
{
    size_t o = 0;
    for(const unsigned char *p = (const unsigned char *)s; *p && o + 4 < len; p++) {
        if(*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '%')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, len - o, "%%%02X", *p);
    }
    out[o] = '\0';
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
                if(e == TALLY_E_BUSY)
                    json_error(resp, 503, "busy", NULL, "the database is busy: retry later / máy chủ đang bận, hãy thử lại sau");
                else
                    json_error(resp, 500, "internal", NULL, "internal error / lỗi máy chủ");
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
            error_page(resp, e == TALLY_E_BUSY ? 503 : 500, NULL, TS_ERR_INTERNAL);
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

/* The period asked for: ?period=CODE, or the picker's kind/year/index or from/to; default: this quarter. */
static bool period_from(const TallyWebRequest *req, TallyPeriod *p)
{
    const char *code = tally_web_arg(req->query, req->n_query, "period");
    const char *kind = tally_web_arg(req->query, req->n_query, "kind");
    if(code && !kind)
        return tally_period_parse(code, p);
    if(kind) {
        int k = tally_period_kind_from_code(kind);
        if(k < 0)
            return false;
        if(k == TALLY_PERIOD_CUSTOM) {
            const char *f = tally_web_arg(req->query, req->n_query, "from");
            const char *t = tally_web_arg(req->query, req->n_query, "to");
            int64_t fd, td;
            return f && t && ptime_parse_date(f, &fd) && ptime_parse_date(t, &td) && tally_period_custom(fd, td, p);
        }
        const char *y = tally_web_arg(req->query, req->n_query, "year");
        const char *i = tally_web_arg(req->query, req->n_query, "index");
        char *end;
        long year = y ? strtol(y, &end, 10) : 0;
        if(!y || *end)
            return false;
        long index = 1;
        if(i && *i) {
            index = strtol(i, &end, 10);
            if(*end)
                return false;
        }
        /* A month index past a quarter's or half's range (the picker shares one field) takes the last one. */
        if(k == TALLY_PERIOD_QUARTER && index > 4)
            index = (index - 1) / 3 + 1;
        if(k == TALLY_PERIOD_HALF && index > 2)
            index = (index - 1) / 6 + 1;
        return tally_period_make((TallyPeriodKind)k, (int)year, (int)index, p);
    }
    tally_period_containing(TALLY_PERIOD_QUARTER, ptime_vn_day(req->now_s), p);
    return true;
}

/* Builds the report for a page within the caller's scope; false when an error page was written. */
static bool build(TallyDb *db, const TallyWebRequest *req, const Who *who, const char *unit, unsigned parts,
                  TallyReport **r, TallyWebResponse *resp)
{
    TallyReportSpec spec = {.area = -1, .parts = parts, .now_s = req->now_s};
    if(!period_from(req, &spec.period)) {
        error_page(resp, 400, who, TS_ERR_BAD_PERIOD);
        return false;
    }
    /* The respondent filter: one of the three types, or absent / empty for everyone. */
    const char *respondent = tally_web_arg(req->query, req->n_query, "respondent");
    if(respondent && *respondent && (spec.respondent = proto_respondent_from_code(respondent)) <= 0) {
        error_page(resp, 400, who, TS_ERR_BAD_RESPONDENT);
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
        error_page(resp, 400, who, TS_ERR_BAD_PERIOD);
    else {
        fprintf(stderr, "tally-server: report failed: %s\n", msg);
        error_page(resp, e == TALLY_E_BUSY ? 503 : 500, who, TS_ERR_INTERNAL);
    }
    return false;
}

typedef void (*PageFn)(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r);

static void page(TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp, TallyPage which,
                 const char *unit, unsigned parts, PageFn fn)
{
    TallyReport *r;
    if(!build(db, req, who, unit, parts, &r, resp))
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

static void h_overview(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w;
    page(db, req, who, resp, TALLY_PAGE_OVERVIEW, NULL,
         TALLY_PART_GROUPS | TALLY_PART_TREND | TALLY_PART_UNITS | TALLY_PART_RESPONDENTS,
         tally_html_overview);
    log_viewer(resp, who);
}

static void h_units(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w;
    const char *unit = req->path + strlen("/don-vi");
    if(*unit == '/')
        unit++;
    if(*unit && !proto_code_valid(unit)) {
        error_page(resp, 404, who, TS_ERR_NOT_FOUND);
    } else if(*unit) {
        page(db, req, who, resp, TALLY_PAGE_UNIT, unit,
             TALLY_PART_GROUPS | TALLY_PART_UNITS | TALLY_PART_AREAS | TALLY_PART_REASONS | TALLY_PART_DEVICES |
                 TALLY_PART_HEAT,
             tally_html_unit);
    } else {
        page(db, req, who, resp, TALLY_PAGE_UNITS, NULL, TALLY_PART_UNITS, tally_html_units);
    }
    log_viewer(resp, who);
}

static void h_devices(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w;
    page(db, req, who, resp, TALLY_PAGE_DEVICES, NULL, TALLY_PART_DEVICES, tally_html_devices);
    log_viewer(resp, who);
}

static void h_alerts(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w;
    page(db, req, who, resp, TALLY_PAGE_ALERTS, NULL, TALLY_PART_ALERTS, tally_html_alerts);
    log_viewer(resp, who);
}

static void h_root(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w, (void)db, (void)req, (void)who;
    redirect(resp, "/tong-quan");
}

/* A download of what is on screen (tally_export.h): the report for the page's period and unit as JSON, one
 * CSV view, the XLSX workbook or the PDF to sign — made by the same code as `tally-admin report`, from a model
 * built through build(), so scope, period and unit are checked as for the pages. Audited. */
static void h_export(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w;
    const char *fmt = tally_web_arg(req->query, req->n_query, "format");
    const char *view_code = tally_web_arg(req->query, req->n_query, "view");
    const char *unit = tally_web_arg(req->query, req->n_query, "unit");
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
    if(!build(db, req, who, unit, tally_file_parts((TallyFileFormat)f, view), &r, resp)) {
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
        fprintf(stderr, "tally-server: report file failed: %s\n", msg);
        error_page(resp, e == TALLY_E_BUSY ? 503 : 500, who, TS_ERR_INTERNAL);
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
    resp->status = resp->body ? 200 : 500;
    resp->content_type = ctype;
    header(resp, "X-Content-Type-Options", "nosniff");
    header(resp, "Cache-Control", "max-age=300");
}

static void h_css(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w, (void)db, (void)req, (void)who;
    static_file(resp, "text/css; charset=utf-8", tally_html_css());
}

static void h_js(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
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

static void h_login_form(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
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
    const char *m = tally_web_arg(req->query, req->n_query, "msg");
    int message = !m ? 0 : !strcmp(m, "out") ? TS_LOGIN_SIGNED_OUT : !strcmp(m, "expired") ? TS_LOGIN_EXPIRED : 0;
    login_page(resp, req, 200, NULL, message, 0);
}

/* The request's form body parsed into form (values point into copy); -1 when too large, holding a NUL, or
 * malformed. */
static int read_form(const TallyWebRequest *req, char copy[TALLY_WEB_FORM_MAX + 1], TallyWebArg form[TALLY_WEB_ARGS_MAX])
{
    if(req->body_too_large || req->body_len > TALLY_WEB_FORM_MAX)
        return -1;
    memcpy(copy, req->body ? req->body : "", req->body_len);
    copy[req->body_len] = '\0';
    return strlen(copy) == req->body_len ? tally_web_parse_form(copy, form, TALLY_WEB_ARGS_MAX) : -1;
}

static void h_login(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)who;
    TallyWebArg form[TALLY_WEB_ARGS_MAX];
    char copy[TALLY_WEB_FORM_MAX + 1];
    int n = read_form(req, copy, form);
    if(n < 0) {
        login_page(resp, req, 400, NULL, TS_LOGIN_CSRF, 0);
        return;
    }
    const char *csrf = tally_web_arg(form, (size_t)n, "csrf");
    const char *name = tally_web_arg(form, (size_t)n, "name");
    const char *password = tally_web_arg(form, (size_t)n, "password");
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
        fprintf(stderr, "tally-server: sign-in failed: %s\n", msg);
        error_page(resp, e == TALLY_E_BUSY ? 503 : 500, NULL, TS_ERR_INTERNAL);
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

static void h_logout(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
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

static void h_api_tally(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w;
    static const char *const KNOWN[] = {"from", "to", "unit", "area", "respondent", "by", "min_n", NULL};
    for(size_t i = 0; i < req->n_query; i++) {
        bool known = false;
        for(const char *const *k = KNOWN; *k && !known; k++)
            known = strcmp(*k, req->query[i].name) == 0;
        if(!known) {
            char field[64];
            snprintf(field, sizeof field, "%s", req->query[i].name);
            json_error(resp, 400, "unknown_field", field, "unknown query parameter %s / tham số không hợp lệ", field);
            return;
        }
    }
    TallySpec spec = {.area = -1, .min_n = TALLY_MIN_N_DEFAULT};
    const TallyWebArg *q = req->query;
    size_t nq = req->n_query;
    const char *from = tally_web_arg(q, nq, "from"), *to = tally_web_arg(q, nq, "to");
    const char *unit = tally_web_arg(q, nq, "unit"), *area = tally_web_arg(q, nq, "area");
    const char *by = tally_web_arg(q, nq, "by"), *min_n = tally_web_arg(q, nq, "min_n");
    const char *respondent = tally_web_arg(q, nq, "respondent");
    if(!from || !ptime_parse_date(from, &spec.from_day))
        REFUSE(resp, 400, "bad_value", "from", "from must be a date YYYY-MM-DD / from phải là ngày YYYY-MM-DD");
    if(!to || !ptime_parse_date(to, &spec.to_day))
        REFUSE(resp, 400, "bad_value", "to", "to must be a date YYYY-MM-DD / to phải là ngày YYYY-MM-DD");
    if(spec.from_day > spec.to_day)
        REFUSE(resp, 400, "bad_value", "from", "from is after to / ngày bắt đầu sau ngày kết thúc");
    if(unit && !proto_code_valid(unit))
        REFUSE(resp, 400, "bad_value", "unit", "unit is not a unit code / mã đơn vị không hợp lệ");
    if(area && (spec.area = proto_area_from_code(area)) < 0)
        REFUSE(resp, 400, "unknown_area", "area", "unknown area / lĩnh vực không tồn tại");
    if(respondent && (spec.respondent = proto_respondent_from_code(respondent)) <= 0)
        REFUSE(resp, 400, "unknown_respondent", "respondent",
               "respondent must be nguoi_dan, doanh_nghiep or to_chuc / đối tượng đánh giá không hợp lệ");
    if(by && !tally_parse_by(by, &spec))
        REFUSE(resp, 400, "bad_value", "by",
                          "by must be up to %d of area, unit, day, month, quarter, half, year, group, respondent"
                          " / by không hợp lệ",
                          TALLY_BY_MAX);
    if(min_n) {
        char *end;
        long v = strtol(min_n, &end, 10);
        if(*end || end == min_n || v < 1 || v > 1000000)
            REFUSE(resp, 400, "bad_value", "min_n", "min_n must be a whole number 1-1000000 / min_n không hợp lệ");
        spec.min_n = (int)v;
    }
    /* The scope: no unit means the scope's unit; a unit outside it is refused. */
    char msg[TALLY_MSG_MAX];
    if(unit && who->unit[0]) {
        bool inside = false;
        TallyErr e = tally_unit_in_scope(db, unit, who->unit, &inside, msg);
        if(e == TALLY_E_NOT_FOUND)
            REFUSE(resp, 404, "unknown_unit", "unit", "unit %s does not exist / đơn vị %s không tồn tại",
                              unit, unit);
        if(e)
            REFUSE(resp, e == TALLY_E_BUSY ? 503 : 500, e == TALLY_E_BUSY ? "busy" : "internal", NULL,
                              "server error, retry later / lỗi máy chủ, hãy thử lại sau");
        if(!inside)
            REFUSE(resp, 403, "out_of_scope", "unit",
                              "unit %s is outside this viewer's scope %s / đơn vị %s nằm ngoài phạm vi được xem", unit,
                              who->unit, unit);
    }
    snprintf(spec.unit, sizeof spec.unit, "%s", unit ? unit : who->unit);
    TallyRow *rows;
    size_t n;
    TallyErr e = tally_query_run(db, &spec, &rows, &n, msg);
    if(e == TALLY_E_NOT_FOUND)
        REFUSE(resp, 404, "unknown_unit", "unit", "unit %s does not exist / đơn vị %s không tồn tại",
                          spec.unit, spec.unit);
    if(e) {
        if(e != TALLY_E_BUSY)
            fprintf(stderr, "tally-server: database error: %s\n", msg);
        REFUSE(resp, e == TALLY_E_BUSY ? 503 : 500, e == TALLY_E_BUSY ? "busy" : "internal", NULL,
                          "server error, retry later / lỗi máy chủ, hãy thử lại sau");
    }
    json_body(resp, tally_rows_json(rows, n));
    free(rows);
    char name[96];
    log_safe(name, sizeof name, who->viewer);
    snprintf(resp->log, sizeof resp->log, "viewer=%s rows=%zu", name, n);
}

static void h_api_targets(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, const Who *who, TallyWebResponse *resp)
{
    (void)w, (void)req, (void)who;
    TallyTarget t[GROUP_COUNT];
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_targets_get(db, t, msg);
    if(e)
        REFUSE(resp, e == TALLY_E_BUSY ? 503 : 500, e == TALLY_E_BUSY ? "busy" : "internal", NULL,
                          "server error, retry later / lỗi máy chủ, hãy thử lại sau");
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
    {"GET", "/static/dashboard.css", AUTH_NONE, false, h_css},
    {"GET", "/static/dashboard.js", AUTH_NONE, false, h_js},
    {"GET", "/dang-nhap", AUTH_NONE, false, h_login_form},
    {"POST", "/dang-nhap", AUTH_NONE, false, h_login},     /* checks its own pre-session CSRF token */
    {"POST", "/dang-xuat", AUTH_SESSION, true, h_logout},
    {"GET", "/", AUTH_SESSION, false, h_root},
    {"GET", "/tong-quan", AUTH_SESSION, false, h_overview},
    {"GET", "/don-vi", AUTH_SESSION, false, h_units},
    {"GET", "/don-vi/", AUTH_SESSION, false, h_units},
    {"GET", "/thiet-bi", AUTH_SESSION, false, h_devices},
    {"GET", "/canh-bao", AUTH_SESSION, false, h_alerts},
    {"GET", "/tai-ve", AUTH_SESSION, false, h_export},
    {"GET", "/api/v1/tally", AUTH_TOKEN, false, h_api_tally},
    {"GET", "/api/v1/targets", AUTH_TOKEN, false, h_api_targets},
};
#define N_ROUTES (sizeof ROUTES / sizeof ROUTES[0])

static bool path_matches(const Route *rt, const char *path)
{
    size_t n = strlen(rt->path);
    if(n > 1 && rt->path[n - 1] == '/')
        return strncmp(path, rt->path, n) == 0 && path[n] != '\0';
    return strcmp(path, rt->path) == 0;
}

bool tally_web_serves(const char *path)
{
    for(size_t i = 0; i < N_ROUTES; i++)
        if(path_matches(&ROUTES[i], path))
            return true;
    return false;
}

bool tally_web_takes_body(const char *method, const char *path)
{
    for(size_t i = 0; i < N_ROUTES; i++)
        if(strcmp(ROUTES[i].method, "POST") == 0 && strcmp(method, "POST") == 0 && path_matches(&ROUTES[i], path))
            return true;
    return false;
}

void tally_web_handle(TallyWeb *w, TallyDb *db, const TallyWebRequest *req, TallyWebResponse *resp)
{
    memset(resp, 0, sizeof *resp);
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    const Route *rt = NULL;
    bool path_known = false;
    for(size_t i = 0; i < N_ROUTES && !rt; i++)
        if(path_matches(&ROUTES[i], req->path)) {
            path_known = true;
            if(strcmp(ROUTES[i].method, method) == 0)
                rt = &ROUTES[i];
        }
    bool api = strncmp(req->path, "/api/", 5) == 0;
    if(!rt) {
        if(api)
            json_error(resp, path_known ? 405 : 404, path_known ? "method_not_allowed" : "not_found", NULL,
                       path_known ? "method not allowed here / phương thức không được phép"
                                  : "no such endpoint / không có địa chỉ này");
        else
            error_page(resp, path_known ? 405 : 404, NULL, TS_ERR_NOT_FOUND);
        return;
    }
    if(api && (req->body_len || req->body_too_large)) {
        json_error(resp, 400, "bad_request", NULL, "a GET takes no body / yêu cầu GET không có nội dung");
        return;
    }
    Who who;
    memset(&who, 0, sizeof who);
    if(rt->auth != AUTH_NONE && !identify(db, rt, req, &who, resp))
        return;
    if(rt->csrf) {
        TallyWebArg form[TALLY_WEB_ARGS_MAX];
        char copy[TALLY_WEB_FORM_MAX + 1];
        int n = read_form(req, copy, form);
        if(n < 0 || !csrf_equal(tally_web_arg(form, (size_t)n, "csrf"), who.csrf)) {
            error_page(resp, 403, &who, TS_LOGIN_CSRF);
            snprintf(resp->log, sizeof resp->log, "error=csrf");
            return;
        }
    }
    rt->fn(w, db, req, &who, resp);
}
