/* tally_metrics_http.c — GET /metrics on the real tally-server: the exposition parses as the Prometheus
 * text format, its counters move by exactly what a known upload (and its replay) did, each kiosk's last
 * upload shows as a gauge, and an address outside --metrics-allow gets 403 and no figure. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "prom_check.h"
#include "sync_harness.h"

#define N 120

typedef struct {
    long  status;
    char  type[128];
    char *body;
    size_t len;
} Resp;

static size_t on_body(char *p, size_t sz, size_t nm, void *ctx)
{
    Resp *r = ctx;
    size_t n = sz * nm;
    char *d = realloc(r->body, r->len + n + 1);
    if(!d)
        return 0;
    memcpy(d + r->len, p, n);
    r->body = d;
    r->len += n;
    d[r->len] = '\0';
    return n;
}

static Resp get(const ThServer *s, const char *path)
{
    Resp r = {0};
    char url[256];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r.type, sizeof r.type, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    if(!r.body)
        r.body = calloc(1, 1);
    return r;
}

/* GET /metrics, checked against the grammar. */
static char *scrape(const ThServer *s)
{
    Resp r = get(s, "/metrics");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
    char why[256];
    if(!prom_valid(r.body, why, sizeof why))
        fail_msg("/metrics: %s\n%s", why, r.body);
    return r.body;
}

static double v(const char *text, const char *series)
{
    double x = prom_value(text, series);
    return x < 0 ? 0 : x; /* a counter never bumped may be absent */
}

#define BATCHES_200 "tally_http_requests_total{route=\"batches\",code=\"200\"}"
#define ACCEPTED "tally_ratings_total{result=\"accepted\"}"
#define DUPLICATE "tally_ratings_total{result=\"duplicate\"}"
#define REJECTED "tally_ratings_total{result=\"rejected\"}"

static void test_metrics_parse_and_move_with_a_known_upload(void **state)
{
    (void)state;
    char dir[TH_PATH], token[256], kdir[TH_PATH + 16];
    ThServer srv;
    ThKiosk k;
    assert_true(th_tmpdir(dir, "tally_metrics"));
    assert_true(th_server_init(&srv, dir));
    assert_true(th_server_unit(&srv, "G01.Q1", "G01"));
    assert_true(th_server_device(&srv, "kiosk-m1", "G01.Q1", token, sizeof token));
    assert_true(th_server_start(&srv));
    snprintf(kdir, sizeof kdir, "%s/k", dir);
    assert_int_equal(mkdir(kdir, 0700), 0);
    assert_true(th_kiosk_make(&k, kdir, "kiosk-m1", "G01.Q1", SCALE_TTHC3, srv.url, token));
    static ProtoRating r[N];
    th_make_ratings(r, N, "G01.Q1", SCALE_TTHC3, 9);
    assert_true(th_store_ratings(&k, r, N));

    char *before = scrape(&srv);
    assert_true(prom_value(before, "tally_device_last_upload_timestamp_seconds{device=\"kiosk-m1\",unit=\"G01.Q1\"}") ==
                -1); /* enrolled, never uploaded */
    int64_t t0 = (int64_t)time(NULL);
    const char *extra[] = {"--batch-size", "50", NULL}; /* three batches: 50 + 50 + 20 */
    if(th_kiosk_sync(&k, extra) != 0) {
        th_kiosk_dump_log(&k);
        fail();
    }
    int64_t t1 = (int64_t)time(NULL);
    char *after = scrape(&srv);
    assert_true(v(after, ACCEPTED) - v(before, ACCEPTED) == N);
    assert_true(v(after, DUPLICATE) - v(before, DUPLICATE) == 0);
    assert_true(v(after, REJECTED) - v(before, REJECTED) == 0);
    assert_true(v(after, BATCHES_200) - v(before, BATCHES_200) == 3);
    assert_true(v(after, "tally_http_requests_total{route=\"metrics\",code=\"200\"}") ==
                v(before, "tally_http_requests_total{route=\"metrics\",code=\"200\"}") + 1);
    double seen = prom_value(after, "tally_device_last_upload_timestamp_seconds{device=\"kiosk-m1\",unit=\"G01.Q1\"}");
    assert_true(seen >= (double)t0 && seen <= (double)t1);
    assert_true(prom_value(after, "tally_ingest_queue_depth") == 0);
    assert_true(prom_value(after, "tally_http_requests_in_flight") == 1); /* this scrape */
    assert_true(prom_value(after, "tally_http_open_connections") >= 1);
    assert_true(prom_value(after, "tally_ingest_refusals_total{reason=\"db_busy\"}") == 0);

    /* The same ratings again: all duplicates, and a 401 is counted under its own code. */
    int64_t acc, dup, rej;
    assert_true(th_replay(&srv, "kiosk-m1", token, r, N, &acc, &dup, &rej));
    assert_int_equal(dup, N);
    Resp unauth = get(&srv, "/api/v1/tally?from=2026-01-01&to=2026-01-02");
    assert_int_equal(unauth.status, 401);
    free(unauth.body);
    char *replayed = scrape(&srv);
    assert_true(v(replayed, DUPLICATE) - v(after, DUPLICATE) == N);
    assert_true(v(replayed, ACCEPTED) == v(after, ACCEPTED));
    assert_true(v(replayed, "tally_http_requests_total{route=\"tally\",code=\"401\"}") ==
                v(after, "tally_http_requests_total{route=\"tally\",code=\"401\"}") + 1);
    free(before);
    free(after);
    free(replayed);
    th_server_stop(&srv);
    th_rmtree(dir);
}

static void test_metrics_refuse_an_address_outside_metrics_allow(void **state)
{
    (void)state;
    char dir[TH_PATH];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_metrics"));
    assert_true(th_server_init(&srv, dir));
    const char *allow[] = {"--metrics-allow", "10.9.8.0/24,2001:db8::/32", NULL}; /* not loopback */
    assert_true(th_server_start_args(&srv, allow));
    Resp r = get(&srv, "/metrics");
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "\"error\":\"forbidden\""));
    assert_null(strstr(r.body, "tally_"));
    free(r.body);
    Resp h = get(&srv, "/healthz"); /* only /metrics is restricted */
    assert_int_equal(h.status, 200);
    free(h.body);
    th_server_stop(&srv);

    /* A malformed list stops the server at start, naming the entry. */
    const char *bad[] = {"--metrics-allow", "10.9.8.0/24,tally.local", NULL};
    assert_false(th_server_start_args(&srv, bad));
    assert_true(th_file_contains(srv.log, "tally.local"));
    th_rmtree(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_parse_and_move_with_a_known_upload),
        cmocka_unit_test(test_metrics_refuse_an_address_outside_metrics_allow),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
