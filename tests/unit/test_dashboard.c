/* test_dashboard.c — the report model, the HTML escaping, and the web layer's sign-in, sessions, CSRF, lockout
 * and scope, without a socket: a real SQLite tally in a temp folder, ratings stored through tally_ingest, and
 * requests answered by tally_web_handle() with an injected clock.
 *
 * The central promise is checked first: every figure of the report model equals the row tally_query_run()
 * gives for the same slice (which is what GET /api/v1/tally answers). The downloads are the report files
 * (tally_export.h) of exactly what a page shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync/tally/tally_account.h"
#include "sync/tally/tally_export.h"
#include "sync/tally/tally_html.h"
#include "sync/tally/tally_ingest.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_report.h"
#include "sync/tally/tally_form.h"
#include "sync/tally/tally_web.h"
#include "testutil.h"

#define HOSTILE "<script>alert(1)</script> \"Quầy\" & 'Một cửa'"
#define HOSTILE_CODE "000.00.31.H21.XSS"
#define PASSWORD "mat-khau-thu-nghiem"
#define NOW_S 1795000000LL /* 2026-11-18, the injected clock */

static char DIR_[256];
static TallyDb *DB;
static uint64_t ids;

/* ---- Arranging data -------------------------------------------------------------------------------------- */

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* Stores n ratings from device dev at unit over [from, to] (day numbers), with a satisfaction rate. */
static void store_ratings(const char *dev, const char *unit, int64_t from, int64_t to, int n, int rate_pct,
                          ProtoScale scale, const ProtoArea *areas, int n_areas, int64_t *seq)
{
    TallyIngest *in;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_ingest_new(DB, &in, msg), TALLY_OK);
    ProtoBatch b = {.n = (size_t)n};
    b.items = calloc((size_t)n, sizeof *b.items);
    snprintf(b.device_id, sizeof b.device_id, "%s", dev);
    snprintf(b.sent_at, sizeof b.sent_at, "2026-11-18T10:00:00+07:00");
    uint8_t rnd[10] = {0};
    uuid_v7_make(b.batch_id, 1700000000000ull + ++ids, rnd);
    for(int i = 0; i < n; i++) {
        ProtoRating *r = &b.items[i].rating;
        memcpy(rnd, &ids, sizeof ids);
        uuid_v7_make(r->id, 1700000000000ull + ++ids, rnd);
        r->seq = ++*seq;
        snprintf(r->unit, sizeof r->unit, "%s", unit);
        r->area = areas[next_rand() % (uint64_t)n_areas];
        r->scale = scale;
        bool sat = (int)(next_rand() % 100) < rate_pct;
        int levels = proto_scale_levels(scale);
        r->score = sat ? levels : 1;
        r->followup = sat ? FOLLOWUP_NONE : FOLLOWUP_ANSWERED;
        if(!sat)
            r->reasons = 1u << (next_rand() % REASON_COUNT);
        r->flags = next_rand() % 40 == 0 ? PROTO_FLAG_RAPID_REPEAT : 0;
        int64_t day = from + (int64_t)(next_rand() % (uint64_t)(to - from + 1));
        int y, m, d;
        ptime_civil_from_days(day, &y, &m, &d);
        snprintf(r->at, sizeof r->at, "%04d-%02d-%02dT%02d:%02d:00+07:00", y, m, d, 7 + (int)(next_rand() % 10),
                 (int)(next_rand() % 60));
        snprintf(b.items[i].raw_id, sizeof b.items[i].raw_id, "%s", r->id);
    }
    ProtoReply reply;
    assert_int_equal(tally_ingest_batch(in, &b, unit, NOW_S, &reply, msg), TALLY_OK);
    assert_int_equal(reply.accepted, n);
    proto_reply_free(&reply);
    free(b.items);
    tally_ingest_free(in);
}

static int64_t day_of(const char *date)
{
    int64_t d;
    assert_true(ptime_parse_date(date, &d));
    return d;
}

static int setup(void **state)
{
    (void)state;
    char msg[TALLY_MSG_MAX], path[300], tok[TALLY_TOKEN_HEX + 1];
    assert_true(tu_mkdtemp(DIR_, sizeof DIR_, "dashboard-test"));
    snprintf(path, sizeof path, "%s/tally.db", DIR_);
    assert_int_equal(tally_db_open(path, &DB, msg), TALLY_OK);
    size_t n;
    assert_int_equal(tally_unit_import_csv(DB, TEST_SOURCE_DIR "/assets/units-gialai.csv", &n, msg), TALLY_OK);
    assert_int_equal(tally_unit_add(DB, HOSTILE_CODE, HOSTILE, "000.00.31.H21", msg), TALLY_OK);
    static const struct { const char *dev, *unit; int rate; ProtoScale scale; ProtoArea areas[3]; int n_areas; } K[] = {
        {"k-q01", "000.00.31.H21.Q01", 92, SCALE_TTHC3, {AREA_DAT_DAI, AREA_KHAC}, 2},
        {"k-q02", "000.00.31.H21.Q02", 86, SCALE_TTHC3, {AREA_XAY_DUNG, AREA_DAU_TU}, 2},
        {"k-yte", "000.00.08.H21.Q01", 82, SCALE_LIKERT5, {AREA_Y_TE}, 1},
        {"k-gd", "000.00.09.H21.Q01", 91, SCALE_LIKERT5, {AREA_GIAO_DUC}, 1},
        {"k-pleiku", "000.00.21.H21.Q01", 95, SCALE_TTHC3, {AREA_DAT_DAI, AREA_TU_PHAP_HO_TICH, AREA_KHAC}, 3},
        {"k-hoithuong", "000.01.21.H21.Q01", 90, SCALE_TTHC3, {AREA_TU_PHAP_HO_TICH, AREA_LAO_DONG_XA_HOI}, 2},
        {"k-xss", HOSTILE_CODE, 90, SCALE_TTHC3, {AREA_DAT_DAI}, 1},
    };
    for(size_t k = 0; k < sizeof K / sizeof K[0]; k++) {
        assert_int_equal(tally_device_add(DB, K[k].dev, K[k].unit, ptime_vn_day_start(PTIME_DAY_MIN), tok, msg), TALLY_OK);
        int64_t seq = 0;
        /* Two years, with ragged days around month ends. */
        store_ratings(K[k].dev, K[k].unit, day_of("2025-01-01"), day_of("2026-11-17"), 1500, K[k].rate, K[k].scale,
                      K[k].areas, K[k].n_areas, &seq);
    }
    assert_int_equal(tally_viewer_add(DB, "tinh", tok, msg), TALLY_OK);
    assert_int_equal(tally_viewer_set_password(DB, "tinh", PASSWORD, msg), TALLY_OK);
    assert_int_equal(tally_viewer_add_scoped(DB, "pleiku", "000.00.21.H21", tok, msg), TALLY_OK);
    assert_int_equal(tally_viewer_set_password(DB, "pleiku", PASSWORD, msg), TALLY_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tally_db_close(DB);
    tu_rmtree(DIR_);
    return 0;
}

/* ---- Periods -------------------------------------------------------------------------------------------- */

static void expect_period(const char *code, const char *from, const char *to, const char *pfrom, const char *pto)
{
    TallyPeriod p;
    assert_true(tally_period_parse(code, &p));
    assert_int_equal(p.from_day, day_of(from));
    assert_int_equal(p.to_day, day_of(to));
    assert_int_equal(p.prev_from_day, day_of(pfrom));
    assert_int_equal(p.prev_to_day, day_of(pto));
    assert_string_equal(p.code, code);
    TallyPeriod again;
    assert_true(tally_period_parse(p.code, &again));
    assert_int_equal(again.from_day, p.from_day);
}

static void test_periods_and_their_previous_period_of_the_same_length(void **state)
{
    (void)state;
    expect_period("thang:2026-03", "2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28");
    expect_period("thang:2026-01", "2026-01-01", "2026-01-31", "2025-12-01", "2025-12-31");
    expect_period("quy:2026-1", "2026-01-01", "2026-03-31", "2025-10-01", "2025-12-31");
    expect_period("quy:2026-4", "2026-10-01", "2026-12-31", "2026-07-01", "2026-09-30");
    expect_period("6thang:2026-2", "2026-07-01", "2026-12-31", "2026-01-01", "2026-06-30");
    expect_period("9thang:2026", "2026-01-01", "2026-09-30", "2025-01-01", "2025-09-30");
    expect_period("nam:2024", "2024-01-01", "2024-12-31", "2023-01-01", "2023-12-31");
    expect_period("2026-01-15..2026-02-14", "2026-01-15", "2026-02-14", "2025-12-15", "2026-01-14");
    TallyPeriod p;
    static const char *const BAD[] = {"quy:2026-5", "thang:2026-13", "thang:2026-3", "nam:20x6", "6thang:2026-3",
                                      "2026-02-01..2026-01-01", "tuan:2026-1", "nam:2026x", "", "quy:"};
    for(size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        assert_false(tally_period_parse(BAD[i], &p));
    assert_true(tally_period_parse("quy:2026-4", &p));
    assert_string_equal(p.label_vi, "Quý IV năm 2026");
    assert_string_equal(p.prev_label_vi, "Quý III năm 2026");
}

/* ---- The model equals the query --------------------------------------------------------------------------- */

static void expect_figure(const TallyFigure *f, const TallyRow *row)
{
    assert_int_equal(f->n, row->n);
    assert_int_equal(f->satisfied, row->satisfied);
    assert_int_equal(f->flagged, row->flagged);
    assert_int_equal(f->status[0], row->status[0]);
    assert_int_equal(f->status[1], row->status[1]);
    if(row->n)
        assert_true(f->pct == row->pct && f->wilson_low == row->wilson_low && f->wilson_high == row->wilson_high);
}

/* The rows of one query, keyed. */
static TallyRow *query(const char *unit, int64_t from, int64_t to, const char *by, size_t *n)
{
    TallySpec spec = {.from_day = from, .to_day = to, .area = -1, .min_n = TALLY_MIN_N_DEFAULT};
    snprintf(spec.unit, sizeof spec.unit, "%s", unit);
    assert_true(tally_parse_by(by, &spec));
    TallyRow *rows;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_query_run(DB, &spec, &rows, n, msg), TALLY_OK);
    return rows;
}

static const TallyRow *find_row(const TallyRow *rows, size_t n, const char *key)
{
    for(size_t i = 0; i < n; i++)
        if(strcmp(rows[i].key, key) == 0)
            return &rows[i];
    return NULL;
}

static void check_report(const char *period_code, const char *scope)
{
    TallyReportSpec spec = {.area = -1, .now_s = NOW_S};
    assert_true(tally_period_parse(period_code, &spec.period));
    snprintf(spec.scope, sizeof spec.scope, "%s", scope);
    TallyReport *r;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_report_build(DB, &spec, &r, msg), TALLY_OK);
    size_t n;
    /* Groups: period and previous period. */
    for(int prev = 0; prev < 2; prev++) {
        TallyRow *rows = query(scope, prev ? spec.period.prev_from_day : spec.period.from_day,
                               prev ? spec.period.prev_to_day : spec.period.to_day, "group", &n);
        assert_int_equal(n, GROUP_COUNT);
        for(int g = 0; g < GROUP_COUNT; g++)
            expect_figure(prev ? &r->groups[g].prev : &r->groups[g].cur, &rows[g]);
        free(rows);
    }
    /* Trend months. */
    char from[16], to[16], key[64];
    snprintf(from, sizeof from, "%04d-01-01", r->trend_year);
    snprintf(to, sizeof to, "%04d-12-31", r->trend_year);
    TallyRow *rows = query(scope, day_of(from), day_of(to), "month,group", &n);
    for(int g = 0; g < GROUP_COUNT; g++)
        for(int m = 0; m < 12; m++) {
            snprintf(key, sizeof key, "%04d-%02d/%s", r->trend_year, m + 1, proto_group_code((ProtoGroup)g));
            const TallyRow *row = find_row(rows, n, key);
            if(row)
                expect_figure(&r->groups[g].month[m], row);
            else
                assert_int_equal(r->groups[g].month[m].n + r->groups[g].month[m].flagged, 0);
        }
    free(rows);
    /* Every unit of the tree, each group; areas of the whole scope. */
    assert_true(r->n_units > 3);
    for(size_t u = 0; u < r->n_units; u++) {
        rows = query(r->units[u].code, spec.period.from_day, spec.period.to_day, "group", &n);
        for(int g = 0; g < GROUP_COUNT; g++)
            expect_figure(&r->units[u].fig[g], &rows[g]);
        free(rows);
    }
    rows = query(scope, spec.period.from_day, spec.period.to_day, "area", &n);
    for(int a = 0; a < AREA_COUNT; a++) {
        const TallyRow *row = find_row(rows, n, proto_area_code((ProtoArea)a));
        if(row)
            expect_figure(&r->areas[a].fig, row);
        else
            assert_int_equal(r->areas[a].fig.n, 0);
    }
    free(rows);
    tally_report_free(r);
}

static void test_report_figures_equal_the_tally_query(void **state)
{
    (void)state;
    check_report("quy:2026-3", "");
    check_report("nam:2025", "");
    check_report("9thang:2026", "");
    check_report("2025-11-17..2026-02-03", ""); /* ragged ends on both sides, across a year end */
    check_report("thang:2026-02", "000.00.31.H21");
    check_report("6thang:2026-1", "000.00.21.H21");
}

static void test_reasons_heat_ranking_and_devices(void **state)
{
    (void)state;
    TallyReportSpec spec = {.area = -1, .now_s = NOW_S};
    assert_true(tally_period_parse("nam:2026", &spec.period));
    snprintf(spec.unit, sizeof spec.unit, "000.00.31.H21");
    TallyReport *r;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_report_build(DB, &spec, &r, msg), TALLY_OK);
    /* Every not-satisfied, unflagged rating gave exactly one reason in setup(). */
    assert_int_equal(r->reasons_total, r->unsatisfied);
    assert_true(r->unsatisfied > 0);
    for(int k = 1; k < REASON_COUNT; k++)
        assert_true(r->reasons[k - 1].n >= r->reasons[k].n);
    int64_t heat = 0, heat_unsat = 0;
    for(int d = 0; d < 7; d++)
        for(int h = 0; h < 24; h++) {
            heat += r->heat.n[d][h];
            heat_unsat += r->heat.unsatisfied[d][h];
            if(h < 7 || h > 16)
                assert_int_equal(r->heat.n[d][h], 0); /* setup() rates 07:00-16:59 only */
        }
    assert_int_equal(heat, r->total.n);
    assert_int_equal(heat_unsat, r->unsatisfied);
    /* Ranking: counters only, worst (lowest Wilson upper bound against the target) first. */
    assert_true(r->n_ranking > 0);
    for(size_t i = 0; i < r->n_ranking; i++) {
        assert_int_equal(r->units[r->ranking[i].unit].n_children, 0);
        if(i)
            assert_true(r->ranking[i - 1].gap_pts >= r->ranking[i].gap_pts);
    }
    /* Devices of this subtree only, with their counters; crumbs up to the root. */
    assert_int_equal(r->n_devices, 3);
    for(size_t i = 0; i < r->n_devices; i++) {
        assert_int_equal(r->devices[i].received, 1500);
        assert_int_equal(r->devices[i].missing, 0);
        assert_int_equal(r->devices[i].flags & TALLY_DEV_SILENT, 0);
    }
    assert_int_equal(r->n_path, 1);
    assert_string_equal(r->path[0].code, "000.00.00.H21");
    tally_report_free(r);
    /* Ten days later every kiosk is silent, and the alerts say so. */
    spec.now_s = NOW_S + 10 * 86400;
    spec.parts = TALLY_PART_ALERTS;
    assert_int_equal(tally_report_build(DB, &spec, &r, msg), TALLY_OK);
    size_t silent = 0;
    for(size_t i = 0; i < r->n_alerts; i++)
        silent += r->alerts[i].kind == TALLY_ALERT_SILENT;
    assert_int_equal(silent, 3);
    tally_report_free(r);
}

/* The area filter reaches every part the unit page shows: with one area chosen, the heat map holds that area's
 * ratings only, as the figures and the reasons do. */
static void test_the_heat_map_follows_the_area_filter(void **state)
{
    (void)state;
    TallyReportSpec spec = {.area = AREA_XAY_DUNG, .now_s = NOW_S};
    assert_true(tally_period_parse("nam:2026", &spec.period));
    snprintf(spec.unit, sizeof spec.unit, "000.00.31.H21");
    TallyReport *r;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_report_build(DB, &spec, &r, msg), TALLY_OK);
    const TallyFigure *f = &r->areas[AREA_XAY_DUNG].fig;
    assert_true(f->n > 0 && f->n < (int64_t)r->n_devices * 1500);
    assert_int_equal(r->areas[AREA_DAT_DAI].fig.n, 0);
    int64_t heat = 0, heat_unsat = 0;
    for(int d = 0; d < 7; d++)
        for(int h = 0; h < 24; h++)
            heat += r->heat.n[d][h], heat_unsat += r->heat.unsatisfied[d][h];
    assert_int_equal(heat, f->n);
    assert_int_equal(heat_unsat, f->n - f->satisfied);
    assert_int_equal(r->reasons_total, f->n - f->satisfied);
    tally_report_free(r);
}

/* ---- Escaping ------------------------------------------------------------------------------------------- */

static void test_escaping_makes_markup_inert_and_keeps_vietnamese(void **state)
{
    (void)state;
    TallyBuf b = {0};
    tally_html_escape(&b, HOSTILE "\xff\xfe" "x\x01");
    char *s = tally_buf_take(&b, NULL);
    assert_string_equal(s, "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Quầy&quot; &amp; &#39;Một cửa&#39;"
                           "\xEF\xBF\xBD\xEF\xBF\xBDx\xEF\xBF\xBD");
    free(s);
}

/* ---- The web layer ---------------------------------------------------------------------------------------- */

typedef struct {
    TallyWebRequest   req;
    char              query[512], cookie[256], body[512];
    TallyWebResponse  resp;
} Call;

/* The default policy's rules with smaller counts: every wrong password costs an Argon2id verification. */
static TallyLockPolicy policy(void)
{
    TallyLockPolicy p = tally_lock_policy_default();
    p.name_slow_after = 3, p.name_lock_after = 5, p.addr_slow_after = 6, p.addr_lock_after = 8;
    return p;
}

static TallyWeb *web(void)
{
    static TallyWeb *w;
    char msg[TALLY_MSG_MAX];
    if(!w) {
        TallyWebConfig cfg = {.lock = policy()};
        assert_int_equal(tally_web_new(&cfg, &w, msg), TALLY_OK);
    }
    return w;
}

static const char *resp_header(const TallyWebResponse *r, const char *name, int nth)
{
    for(int i = 0; i < r->n_headers; i++)
        if(strcmp(r->headers[i].name, name) == 0 && nth-- == 0)
            return r->headers[i].value;
    return NULL;
}

/* One request: method, path, optional "a=b" query pairs (NULL-terminated), cookie, form body. */
static void call(Call *c, const char *method, const char *path, const char *cookie, const char *body, int64_t now,
                 const char *addr, ...)
{
    memset(c, 0, sizeof *c);
    c->req.method = method;
    c->req.path = path;
    c->req.query = c->query;
    /* The pairs as a browser sends them: name=value joined by '&' (the values here need no escaping). */
    va_list ap;
    va_start(ap, addr);
    size_t n = 0;
    for(const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        n += (size_t)snprintf(c->query + n, sizeof c->query - n, "%s%s=%s", n ? "&" : "", k, v);
        assert_true(n < sizeof c->query);
    }
    va_end(ap);
    if(cookie)
        snprintf(c->cookie, sizeof c->cookie, "%s", cookie), c->req.cookie = c->cookie;
    if(body)
        snprintf(c->body, sizeof c->body, "%s", body), c->req.body = c->body, c->req.body_len = strlen(c->body);
    c->req.client_addr = addr ? addr : "10.0.0.1";
    c->req.now_s = now;
    tally_web_handle(web(), DB, &c->req, &c->resp);
}

/* Signs in through the form as a browser would; returns the "tally_sid=..." cookie (static) or NULL. */
static const char *sign_in(const char *name, const char *password, int64_t now, const char *addr, unsigned *status)
{
    static char sid_cookie[128];
    Call c;
    call(&c, "GET", "/dang-nhap", NULL, NULL, now, addr, NULL);
    assert_int_equal(c.resp.status, 200);
    const char *set = resp_header(&c.resp, "Set-Cookie", 0);
    assert_non_null(set);
    char login_cookie[128], token[TALLY_TOKEN_HEX + 1];
    snprintf(login_cookie, sizeof login_cookie, "%.*s", (int)strcspn(set, ";"), set);
    snprintf(token, sizeof token, "%s", strchr(login_cookie, '=') + 1);
    assert_non_null(strstr(c.resp.body, token)); /* the same token is in the form */
    tally_web_response_free(&c.resp);
    char body[400];
    snprintf(body, sizeof body, "csrf=%s&name=%s&password=%s", token, name, password);
    call(&c, "POST", "/dang-nhap", login_cookie, body, now, addr, NULL);
    *status = c.resp.status;
    const char *s = resp_header(&c.resp, "Set-Cookie", 0);
    const char *out = NULL;
    if(c.resp.status == 303 && s && strncmp(s, TALLY_SESSION_COOKIE "=", strlen(TALLY_SESSION_COOKIE) + 1) == 0) {
        assert_non_null(strstr(s, "HttpOnly"));
        assert_non_null(strstr(s, "SameSite=Strict"));
        assert_null(strstr(s, "Secure")); /* plain HTTP */
        snprintf(sid_cookie, sizeof sid_cookie, "%.*s", (int)strcspn(s, ";"), s);
        out = sid_cookie;
    }
    tally_web_response_free(&c.resp);
    return out;
}

static unsigned get_status(const char *path, const char *cookie, int64_t now)
{
    Call c;
    call(&c, "GET", path, cookie, NULL, now, NULL, NULL);
    unsigned s = c.resp.status;
    tally_web_response_free(&c.resp);
    return s;
}

static void test_pages_need_a_session_and_send_the_security_headers(void **state)
{
    (void)state;
    static const char *const PAGES[] = {"/", "/tong-quan", "/don-vi", "/don-vi/000.00.31.H21", "/thiet-bi", "/canh-bao",
                                        "/tai-ve"};
    for(size_t i = 0; i < sizeof PAGES / sizeof PAGES[0]; i++) {
        Call c;
        call(&c, "GET", PAGES[i], "tally_sid=0000000000000000000000000000000000000000000000000000000000000000", NULL,
             NOW_S, NULL, NULL);
        assert_int_equal(c.resp.status, 303);
        assert_non_null(strstr(resp_header(&c.resp, "Location", 0), "/dang-nhap"));
        tally_web_response_free(&c.resp);
    }
    unsigned st;
    const char *sid = sign_in("tinh", PASSWORD, NOW_S, NULL, &st);
    assert_int_equal(st, 303);
    assert_non_null(sid);
    for(size_t i = 1; i < sizeof PAGES / sizeof PAGES[0]; i++) {
        Call c;
        call(&c, "GET", PAGES[i], sid, NULL, NOW_S, NULL, NULL);
        assert_int_equal(c.resp.status, 200);
        assert_non_null(strstr(resp_header(&c.resp, "Content-Security-Policy", 0), "default-src 'none'"));
        assert_string_equal(resp_header(&c.resp, "X-Content-Type-Options", 0), "nosniff");
        assert_string_equal(resp_header(&c.resp, "Referrer-Policy", 0), "no-referrer");
        assert_string_equal(resp_header(&c.resp, "Cache-Control", 0), "no-store");
        tally_web_response_free(&c.resp);
    }
}

static void test_a_hostile_unit_name_is_shown_only_escaped(void **state)
{
    (void)state;
    unsigned st;
    const char *sid = sign_in("tinh", PASSWORD, NOW_S, NULL, &st);
    static const char *const PAGES[] = {"/tong-quan", "/don-vi", "/don-vi/" HOSTILE_CODE, "/don-vi/000.00.31.H21",
                                        "/thiet-bi", "/canh-bao"};
    for(size_t i = 0; i < sizeof PAGES / sizeof PAGES[0]; i++) {
        Call c;
        call(&c, "GET", PAGES[i], sid, NULL, NOW_S, NULL, "period", "nam:2026", NULL);
        assert_int_equal(c.resp.status, 200);
        assert_null(strstr(c.resp.body, "<script>alert"));
        assert_null(strstr(c.resp.body, "\"Quầy\""));
        if(i >= 1 && i <= 4) /* the pages that list this unit */
            assert_non_null(strstr(c.resp.body, "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Quầy&quot; &amp; "
                                                "&#39;Một cửa&#39;"));
        tally_web_response_free(&c.resp);
    }
}

static void test_a_state_changing_post_needs_the_csrf_token(void **state)
{
    (void)state;
    unsigned st;
    const char *sid = sign_in("tinh", PASSWORD, NOW_S, NULL, &st);
    char cookie[128];
    snprintf(cookie, sizeof cookie, "%s", sid);
    Call c;
    call(&c, "POST", "/dang-xuat", cookie, "", NOW_S, NULL, NULL);
    assert_int_equal(c.resp.status, 403);
    tally_web_response_free(&c.resp);
    call(&c, "POST", "/dang-xuat", cookie, "csrf=0123", NOW_S, NULL, NULL);
    assert_int_equal(c.resp.status, 403);
    tally_web_response_free(&c.resp);
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S), 200); /* still signed in */
    /* The right token: signed out, and the cookie no longer opens anything. */
    TallySession s;
    bool found;
    char msg[TALLY_MSG_MAX], body[128];
    assert_int_equal(tally_session_get(DB, strchr(cookie, '=') + 1, NOW_S, &s, &found, msg), TALLY_OK);
    assert_true(found);
    snprintf(body, sizeof body, "csrf=%s", s.csrf);
    call(&c, "POST", "/dang-xuat", cookie, body, NOW_S, NULL, NULL);
    assert_int_equal(c.resp.status, 303);
    tally_web_response_free(&c.resp);
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S), 303);
    /* The sign-in form itself: without its cookie token, no session is made even with the right password. */
    call(&c, "POST", "/dang-nhap", NULL, "csrf=abc&name=tinh&password=" PASSWORD, NOW_S, NULL, NULL);
    assert_int_equal(c.resp.status, 403);
    assert_null(resp_header(&c.resp, "Location", 0));
    tally_web_response_free(&c.resp);
}

static void test_wrong_passwords_slow_then_lock_per_name_and_per_address(void **state)
{
    (void)state;
    char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1];
    assert_int_equal(tally_viewer_add(DB, "khoa", tok, msg), TALLY_OK);
    assert_int_equal(tally_viewer_set_password(DB, "khoa", PASSWORD, msg), TALLY_OK);
    TallyLockPolicy pol = policy();
    int64_t t = NOW_S + 100000;
    unsigned st;
    for(int i = 0; i < pol.name_slow_after; i++) {
        assert_null(sign_in("khoa", "sai-mat-khau", t, "10.1.1.1", &st));
        assert_int_equal(st, 401);
    }
    /* Slowed: even the right password is not looked at until slow_s has passed. */
    assert_null(sign_in("khoa", PASSWORD, t + 1, "10.1.1.2", &st));
    assert_int_equal(st, 429);
    /* A failure counts from when its hash was checked (real time, added to the injected clock): step past it. */
    const int64_t step = pol.slow_s + 10;
    for(int i = pol.name_slow_after; i < pol.name_lock_after; i++) {
        t += step;
        assert_null(sign_in("khoa", "sai-mat-khau", t, "10.1.1.3", &st));
        assert_int_equal(st, 401);
    }
    /* Locked, from any address, right password or not; the page says so in Vietnamese. */
    Call c;
    call(&c, "GET", "/dang-nhap", NULL, NULL, t + pol.slow_s, "10.1.1.4", NULL);
    tally_web_response_free(&c.resp);
    assert_null(sign_in("khoa", PASSWORD, t + pol.slow_s + 60, "10.1.1.4", &st));
    assert_int_equal(st, 429);
    TallyLoginResult res;
    assert_int_equal(tally_login(DB, &pol, "khoa", PASSWORD, "10.1.1.5", t + pol.lock_s - 1, &res, msg), TALLY_OK);
    assert_int_equal(res.result, TALLY_LOGIN_LOCKED);
    assert_true(res.wait_s >= 1);
    /* Once the lock has run out, the right password works. */
    assert_non_null(sign_in("khoa", PASSWORD, t + pol.lock_s + 30, "10.1.1.6", &st));
    /* Per address: many names from one address lock that address, for any name. */
    int64_t u = t + 10 * pol.lock_s;
    for(int i = 0; i < pol.addr_lock_after; i++) {
        char name[32];
        snprintf(name, sizeof name, "nobody-%d", i);
        assert_int_equal(tally_login(DB, &pol, name, "x", "10.9.9.9", u + i * step, &res, msg), TALLY_OK);
        assert_int_equal(res.result, TALLY_LOGIN_WRONG);
    }
    int64_t after = u + pol.addr_lock_after * step;
    assert_int_equal(tally_login(DB, &pol, "khoa", PASSWORD, "10.9.9.9", after, &res, msg), TALLY_OK);
    assert_int_equal(res.result, TALLY_LOGIN_LOCKED);
    assert_int_equal(tally_login(DB, &pol, "khoa", PASSWORD, "10.9.9.10", after, &res, msg), TALLY_OK);
    assert_int_equal(res.result, TALLY_LOGIN_OK);
}

static void test_sessions_end_when_idle_on_password_change_and_on_revocation(void **state)
{
    (void)state;
    char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1], cookie[128];
    assert_int_equal(tally_viewer_add(DB, "phien", tok, msg), TALLY_OK);
    assert_int_equal(tally_viewer_set_password(DB, "phien", PASSWORD, msg), TALLY_OK);
    unsigned st;
    snprintf(cookie, sizeof cookie, "%s", sign_in("phien", PASSWORD, NOW_S, "10.2.2.2", &st));
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S + TALLY_SESSION_IDLE_S - 10), 200);
    /* Each request moved last_seen: idle counts from the last one. */
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S + 2 * TALLY_SESSION_IDLE_S - 20), 200);
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S + 3 * TALLY_SESSION_IDLE_S), 303);
    /* A new password ends the session made with the old one. */
    snprintf(cookie, sizeof cookie, "%s", sign_in("phien", PASSWORD, NOW_S, "10.2.2.2", &st));
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S), 200);
    assert_int_equal(tally_viewer_set_password(DB, "phien", PASSWORD "-moi", msg), TALLY_OK);
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S), 303);
    /* Revocation too. */
    snprintf(cookie, sizeof cookie, "%s", sign_in("phien", PASSWORD "-moi", NOW_S, "10.2.2.2", &st));
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S), 200);
    assert_int_equal(tally_viewer_revoke(DB, "phien", msg), TALLY_OK);
    assert_int_equal(get_status("/tong-quan", cookie, NOW_S), 303);
    assert_null(sign_in("phien", PASSWORD "-moi", NOW_S, "10.2.2.3", &st));
}

/* ---- Downloads ------------------------------------------------------------------------------------------ */

static int64_t audit_exports(const char *detail)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(tally_db_sqlite(DB), "SELECT count(*) FROM audit WHERE event = 'export'"
                                        " AND detail = ?1", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, detail, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* GET /tai-ve with the page's query; checks the answer is the named file, audited once. */
static void expect_file(const char *cookie, const char *format, const char *view, const char *unit,
                        const char *want_name, const char *want_detail)
{
    int64_t audited = audit_exports(want_detail);
    Call c;
    call(&c, "GET", "/tai-ve", cookie, NULL, NOW_S, NULL, "format", format, "period", "nam:2026", "unit", unit ? unit : "",
         "view", view ? view : "", NULL);
    assert_int_equal(c.resp.status, 200);
    int f = tally_file_format_from_code(format);
    assert_string_equal(c.resp.content_type, tally_file_content_type((TallyFileFormat)f));
    char disp[200];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", want_name);
    assert_string_equal(resp_header(&c.resp, "Content-Disposition", 0), disp);
    assert_string_equal(resp_header(&c.resp, "Cache-Control", 0), "no-store");
    static const char *const MAGIC[TALLY_FILE_COUNT] = {"{\"meta\":", "\xEF\xBB\xBF", "PK\x03\x04", "%PDF-"};
    assert_true(c.resp.len > 100);
    assert_memory_equal(c.resp.body, MAGIC[f], strlen(MAGIC[f]));
    if(f == TALLY_FILE_JSON || f == TALLY_FILE_CSV) { /* byte-equal to what tally-admin report makes */
        TallyReportSpec spec = {.area = -1, .now_s = NOW_S};
        assert_true(tally_period_parse("nam:2026", &spec.period));
        snprintf(spec.unit, sizeof spec.unit, "%s", unit ? unit : "");
        TallyFile file;
        char msg[TALLY_MSG_MAX];
        assert_int_equal(tally_file_make(DB, &spec, (TallyFileFormat)f, view ? tally_view_from_code(view) : -1, &file,
                                         msg),
                         TALLY_OK);
        assert_int_equal(file.len, c.resp.len);
        assert_memory_equal(file.data, c.resp.body, file.len);
        tally_file_free(&file);
    }
    tally_web_response_free(&c.resp);
    assert_int_equal(audit_exports(want_detail), audited + 1);
}

/* Every download link of a page is answered 200 with a file named for the page's period (and unit). */
static int follow_download_links(const char *cookie, const char *path, const char *unit)
{
    Call page;
    call(&page, "GET", path, cookie, NULL, NOW_S, NULL, "period", "nam:2026", NULL);
    assert_int_equal(page.resp.status, 200);
    int n = 0;
    for(const char *p = page.resp.body; (p = strstr(p, "href=\"/tai-ve?")); p++, n++) {
        char q[300], *end;
        p += strlen("href=\"/tai-ve?");
        snprintf(q, sizeof q, "%.*s", (int)strcspn(p, "\""), p);
        /* Unescape &amp;: the query string a browser following the link sends. */
        char raw[300];
        size_t rn = 0;
        for(char *a = strtok_r(q, "&", &end); a; a = strtok_r(NULL, "&", &end))
            rn += (size_t)snprintf(raw + rn, sizeof raw - rn, "%s%s", rn ? "&" : "", strncmp(a, "amp;", 4) ? a : a + 4);
        TallyForm args;
        char bad[TALLY_FORM_NAME_SHOWN + 4];
        assert_int_equal(tally_form_parse(raw, strlen(raw), &args, bad), TALLY_FORM_OK);
        assert_string_equal(tally_form_get(&args, "period"), "nam:2026");
        const char *u = tally_form_get(&args, "unit");
        assert_string_equal(u ? u : "", unit);
        TallyWebRequest req = {.method = "GET", .path = "/tai-ve", .query = raw,
                               .cookie = cookie, .client_addr = "10.0.0.1", .now_s = NOW_S};
        TallyWebResponse resp = {0};
        tally_web_handle(web(), DB, &req, &resp);
        assert_int_equal(resp.status, 200);
        char want[80];
        snprintf(want, sizeof want, "bao-cao-hai-long_%s_nam-2026", unit[0] ? unit : "toan-tinh");
        assert_non_null(strstr(resp_header(&resp, "Content-Disposition", 0), want));
        tally_web_response_free(&resp);
    }
    tally_web_response_free(&page.resp);
    return n;
}

static bool has_link(const char *path, const char *cookie, const char *href)
{
    Call c;
    call(&c, "GET", path, cookie, NULL, NOW_S, NULL, "period", "nam:2026", NULL);
    assert_int_equal(c.resp.status, 200);
    bool found = strstr(c.resp.body, href) != NULL;
    tally_web_response_free(&c.resp);
    return found;
}

static void test_downloads_are_the_report_files_of_what_the_page_shows(void **state)
{
    (void)state;
    unsigned st;
    char cookie[128];
    snprintf(cookie, sizeof cookie, "%s", sign_in("tinh", PASSWORD, NOW_S, NULL, &st));
    expect_file(cookie, "pdf", NULL, NULL, "bao-cao-hai-long_toan-tinh_nam-2026.pdf", "pdf - nam:2026");
    expect_file(cookie, "xlsx", NULL, "000.00.31.H21", "bao-cao-hai-long_000.00.31.H21_nam-2026.xlsx",
                "xlsx 000.00.31.H21 nam:2026");
    expect_file(cookie, "csv", "ly-do", "000.00.31.H21", "bao-cao-hai-long_000.00.31.H21_nam-2026_ly-do.csv",
                "csv:ly-do 000.00.31.H21 nam:2026");
    expect_file(cookie, "json", NULL, NULL, "bao-cao-hai-long_toan-tinh_nam-2026.json", "json - nam:2026");
    /* Unknown format or view, a CSV without its view, a malformed unit: 400, nothing audited. */
    static const char *const BAD[][2] = {{"doc", ""}, {"pdf", "nope"}, {"csv", ""}, {"csv", "xyz"}, {"", ""}};
    for(size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        Call c;
        call(&c, "GET", "/tai-ve", cookie, NULL, NOW_S, NULL, "format", BAD[i][0], "view", BAD[i][1], NULL);
        assert_int_equal(c.resp.status, 400);
        tally_web_response_free(&c.resp);
    }
    assert_int_equal(get_status("/tai-ve", cookie, NOW_S), 200); /* no format: the JSON, as before */
    /* The respondent picker's parameter, read from the one strictly decoded query string: empty is everyone;
     * an unknown type, or the parameter twice, is the 400 page naming it; a download follows it. */
    static const char *const RESP[][4] = {
        {"/tong-quan", "respondent", "", "200"},
        {"/tong-quan", "respondent", "to_chuc", "200"},
        {"/tong-quan", "respondent", "ai_do", "400"},
        {"/tong-quan", "respondent", "khong_tra_loi", "400"},
        {"/tai-ve", "respondent", "ai_do", "400"},
    };
    for(size_t i = 0; i < sizeof RESP / sizeof RESP[0]; i++) {
        Call c;
        call(&c, "GET", RESP[i][0], cookie, NULL, NOW_S, NULL, RESP[i][1], RESP[i][2], NULL);
        if(c.resp.status != (unsigned)atoi(RESP[i][3]))
            fail_msg("%s?%s=%s: %d", RESP[i][0], RESP[i][1], RESP[i][2], c.resp.status);
        if(c.resp.status == 400)
            assert_non_null(strstr(c.resp.body, "<code>respondent</code>"));
        tally_web_response_free(&c.resp);
    }
    {
        Call c;
        call(&c, "GET", "/tong-quan", cookie, NULL, NOW_S, NULL, "respondent", "to_chuc", "respondent", "to_chuc",
             NULL);
        assert_int_equal(c.resp.status, 400);
        assert_non_null(strstr(c.resp.body, "<code>respondent</code>"));
        tally_web_response_free(&c.resp);
    }
    Call c;
    call(&c, "GET", "/tai-ve", cookie, NULL, NOW_S, NULL, "format", "pdf", "unit", "bad code!", NULL);
    assert_int_equal(c.resp.status, 400);
    tally_web_response_free(&c.resp);
    /* The pages offer them: the report files on the overview and unit pages, each table's CSV where it is. */
    assert_true(has_link("/tong-quan", cookie, "href=\"/tai-ve?format=pdf&amp;period=nam:2026\""));
    assert_true(has_link("/tong-quan", cookie, "href=\"/tai-ve?format=xlsx&amp;period=nam:2026\""));
    assert_true(has_link("/tong-quan", cookie, "href=\"/tai-ve?format=csv&amp;view=xep-hang&amp;period=nam:2026\""));
    assert_true(has_link("/don-vi/000.00.31.H21", cookie,
                         "href=\"/tai-ve?format=pdf&amp;period=nam:2026&amp;unit=000.00.31.H21\""));
    assert_true(has_link("/don-vi/000.00.31.H21", cookie,
                         "href=\"/tai-ve?format=csv&amp;view=ly-do&amp;period=nam:2026&amp;unit=000.00.31.H21\""));
    assert_true(has_link("/thiet-bi", cookie, "href=\"/tai-ve?format=csv&amp;view=thiet-bi&amp;period=nam:2026\""));
    assert_false(has_link("/thiet-bi", cookie, "format=pdf"));
    assert_true(has_link("/canh-bao", cookie, "href=\"/tai-ve?format=csv&amp;view=canh-bao&amp;period=nam:2026\""));
    assert_int_equal(follow_download_links(cookie, "/tong-quan", ""), 6); /* + the respondents CSV */
    assert_int_equal(follow_download_links(cookie, "/don-vi", ""), 3);
    assert_int_equal(follow_download_links(cookie, "/don-vi/000.00.31.H21", "000.00.31.H21"), 8); /* + respondents */
    assert_int_equal(follow_download_links(cookie, "/thiet-bi", ""), 1);
    assert_int_equal(follow_download_links(cookie, "/canh-bao", ""), 1);
}

static void test_a_scoped_viewer_sees_only_its_subtree(void **state)
{
    (void)state;
    unsigned st;
    char cookie[128];
    snprintf(cookie, sizeof cookie, "%s", sign_in("pleiku", PASSWORD, NOW_S, "10.3.3.3", &st));
    assert_int_equal(get_status("/don-vi/000.01.21.H21.Q01", cookie, NOW_S), 200);
    assert_int_equal(get_status("/don-vi/000.00.08.H21", cookie, NOW_S), 403);
    assert_int_equal(get_status("/don-vi/000.00.00.H21", cookie, NOW_S), 403);
    Call c;
    /* Downloads in every format: outside the scope 403, inside 200; without a unit, the scope's. */
    static const char *const FORMATS[][2] = {{"json", ""}, {"pdf", ""}, {"xlsx", ""}, {"csv", "don-vi"}};
    for(size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++) {
        call(&c, "GET", "/tai-ve", cookie, NULL, NOW_S, NULL, "format", FORMATS[i][0], "view", FORMATS[i][1], "unit",
             "000.00.31.H21", NULL);
        assert_int_equal(c.resp.status, 403);
        tally_web_response_free(&c.resp);
        call(&c, "GET", "/tai-ve", cookie, NULL, NOW_S, NULL, "format", FORMATS[i][0], "view", FORMATS[i][1], "unit",
             "000.01.21.H21", NULL);
        assert_int_equal(c.resp.status, 200);
        tally_web_response_free(&c.resp);
        call(&c, "GET", "/tai-ve", cookie, NULL, NOW_S, NULL, "format", FORMATS[i][0], "view", FORMATS[i][1], NULL);
        assert_int_equal(c.resp.status, 200);
        assert_non_null(strstr(resp_header(&c.resp, "Content-Disposition", 0), "_000.00.21.H21_"));
        tally_web_response_free(&c.resp);
    }
    /* The overview covers the scope, not the province. */
    call(&c, "GET", "/tong-quan", cookie, NULL, NOW_S, NULL, "period", "nam:2026", NULL);
    assert_int_equal(c.resp.status, 200);
    assert_non_null(strstr(c.resp.body, "UBND thành phố Pleiku"));
    assert_null(strstr(c.resp.body, "000.00.08.H21")); /* Sở Y tế: outside */
    tally_web_response_free(&c.resp);
    /* The API by token: the same rule. */
    char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1];
    assert_int_equal(tally_viewer_add_scoped(DB, "pleiku-api", "000.00.21.H21", tok, msg), TALLY_OK);
    call(&c, "GET", "/api/v1/tally", NULL, NULL, NOW_S, NULL, "from", "2026-01-01", "to", "2026-12-31", "unit",
         "000.00.08.H21", NULL);
    assert_int_equal(c.resp.status, 401); /* no token */
    tally_web_response_free(&c.resp);
    memset(&c, 0, sizeof c);
    TallyWebRequest req = {.method = "GET", .path = "/api/v1/tally",
                           .query = "from=2026-01-01&to=2026-12-31&unit=000.00.08.H21", .bearer = tok,
                           .client_addr = "10.3.3.3", .now_s = NOW_S};
    tally_web_handle(web(), DB, &req, &c.resp);
    assert_int_equal(c.resp.status, 403);
    assert_non_null(strstr(c.resp.body, "\"out_of_scope\""));
    tally_web_response_free(&c.resp);
    req.query = "from=2026-01-01&to=2026-12-31"; /* no unit: the scope's */
    tally_web_handle(web(), DB, &req, &c.resp);
    assert_int_equal(c.resp.status, 200);
    assert_non_null(strstr(c.resp.body, "\"key\":\"000.00.21.H21\""));
    tally_web_response_free(&c.resp);
}

static void test_form_and_cookie_parsers_refuse_malformed_input(void **state)
{
    (void)state;
    /* Forms are decoded by the server's one strict parser (tally_form.h), as query strings are. */
    TallyForm f;
    char bad[TALLY_FORM_NAME_SHOWN + 4];
    const char *ok = "csrf=ab%2Fc&name=Nguy%E1%BB%85n+V%C4%83n&empty=";
    assert_int_equal(tally_form_parse(ok, strlen(ok), &f, bad), TALLY_FORM_OK);
    assert_string_equal(tally_form_get(&f, "csrf"), "ab/c");
    assert_string_equal(tally_form_get(&f, "name"), "Nguyễn Văn");
    assert_string_equal(tally_form_get(&f, "empty"), "");
    assert_int_equal(tally_form_parse("a=%zz", 5, &f, bad), TALLY_FORM_E_SYNTAX);
    assert_int_equal(tally_form_parse("a=%00", 5, &f, bad), TALLY_FORM_E_SYNTAX);
    assert_int_equal(tally_form_parse("a=%ff", 5, &f, bad), TALLY_FORM_E_SYNTAX);
    assert_int_equal(tally_form_parse("a=1&a=2", 7, &f, bad), TALLY_FORM_E_REPEATED);
    char v[16];
    assert_true(tally_web_cookie("x=1; tally_sid=abc; y=2", "tally_sid", v, sizeof v));
    assert_string_equal(v, "abc");
    assert_false(tally_web_cookie("xtally_sid=abc", "tally_sid", v, sizeof v));
    assert_false(tally_web_cookie("tally_sid=0123456789abcdef0123", "tally_sid", v, sizeof v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_periods_and_their_previous_period_of_the_same_length),
        cmocka_unit_test(test_report_figures_equal_the_tally_query),
        cmocka_unit_test(test_reasons_heat_ranking_and_devices),
        cmocka_unit_test(test_the_heat_map_follows_the_area_filter),
        cmocka_unit_test(test_escaping_makes_markup_inert_and_keeps_vietnamese),
        cmocka_unit_test(test_pages_need_a_session_and_send_the_security_headers),
        cmocka_unit_test(test_a_hostile_unit_name_is_shown_only_escaped),
        cmocka_unit_test(test_a_state_changing_post_needs_the_csrf_token),
        cmocka_unit_test(test_wrong_passwords_slow_then_lock_per_name_and_per_address),
        cmocka_unit_test(test_sessions_end_when_idle_on_password_change_and_on_revocation),
        cmocka_unit_test(test_downloads_are_the_report_files_of_what_the_page_shows),
        cmocka_unit_test(test_a_scoped_viewer_sees_only_its_subtree),
        cmocka_unit_test(test_form_and_cookie_parsers_refuse_malformed_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
