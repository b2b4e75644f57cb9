/* tally_metrics_http.c — GET /metrics on the real tally-server: the exposition parses as the Prometheus
 * text format, its counters move by exactly what a known upload (and its replay) did, each kiosk's last
 * upload shows as a gauge, each refusal the server's limits make is counted under its cause (deadline, per-address
 * limit, full writer queue, over-long headers, too large a body), and an address outside --metrics-allow gets 403
 * and no figure. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static Resp get_from(const ThServer *s, const char *path, const char *source)
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
    if(source)
        curl_easy_setopt(c, CURLOPT_INTERFACE, source);
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

static Resp get(const ThServer *s, const char *path)
{
    return get_from(s, path, NULL);
}

/* GET /metrics from a loopback address, checked against the grammar. */
static char *scrape_from(const ThServer *s, const char *source)
{
    Resp r = get_from(s, "/metrics", source);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
    char why[256];
    if(!prom_valid(r.body, why, sizeof why))
        fail_msg("/metrics: %s\n%s", why, r.body);
    return r.body;
}

static char *scrape(const ThServer *s)
{
    return scrape_from(s, NULL);
}

static double v(const char *text, const char *series)
{
    double x = prom_value(text, series);
    return x < 0 ? 0 : x; /* a counter never bumped may be absent */
}

/* Polls /metrics (from 127.0.0.9) until series reaches at least want, for up to 10 s: the server has seen what
 * the test just did. A fixed sleep raced the server's accept on a loaded machine. False on time-out. */
static bool wait_for(const ThServer *s, const char *series, double want)
{
    for(int i = 0; i < 500; i++) {
        char *m = scrape_from(s, "127.0.0.9");
        double x = v(m, series);
        free(m);
        if(x >= want)
            return true;
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    return false;
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
    assert_true(prom_value(after, "tally_http_refusals_total{cause=\"db_busy\"}") == 0);
    assert_true(prom_value(after, "tally_ingest_queue_capacity") > 0);
    assert_true(v(after, "tally_ingest_batches_total{result=\"written\"}") -
                v(before, "tally_ingest_batches_total{result=\"written\"}") == 3);
    assert_true(prom_value(after, "tally_db_writable") == 1);

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

/* A TCP connection to the server from a given loopback address (127.0.0.x), or -1. */
static int connect_from(const ThServer *s, const char *source)
{
    const char *port = strrchr(s->url, ':');
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port + 1))};
    struct sockaddr_in from = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    inet_pton(AF_INET, source, &from.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if(fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
       connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        if(fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Sends text and reads until the server closes or 5 s pass; the status code of the answer, 0 for none. */
static int exchange(int fd, const char *text, size_t len)
{
    size_t off = 0;
    while(off < len) {
        ssize_t w = send(fd, text + off, len - off, MSG_NOSIGNAL);
        if(w <= 0)
            break;
        off += (size_t)w;
    }
    char buf[4096];
    size_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while(got < sizeof buf - 1 && poll(&p, 1, 5000) == 1) {
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if(n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if(strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[got] = '\0';
    int code = 0;
    return sscanf(buf, "HTTP/1.1 %d", &code) == 1 ? code : 0;
}

/* True when the connection was closed by the server without a byte (turned away at accept). */
static bool closed_at_once(int fd)
{
    char c;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 5000) == 1 && recv(fd, &c, 1, 0) <= 0;
}

#define REFUSED(cause) "tally_http_refusals_total{cause=\"" cause "\"}"

static void test_metrics_count_each_refusal_under_its_cause(void **state)
{
    (void)state;
    char dir[TH_PATH], token[256], req[1024];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_metrics"));
    assert_true(th_server_init(&srv, dir));
    assert_true(th_server_unit(&srv, "G01.Q1", "G01"));
    assert_true(th_server_device(&srv, "kiosk-r1", "G01.Q1", token, sizeof token));
    const char *args[] = {"--per-ip-limit", "2", "--header-timeout-s", "1", "--queue-max", "1", NULL};
    assert_true(th_server_start_args(&srv, args));
    char *before = scrape_from(&srv, "127.0.0.9");

    /* Per-address limit: two silent connections from 127.0.0.2 are held, a third is turned away at once. The
     * two are then cut off by the header deadline (1 s). */
    int silent[2] = {connect_from(&srv, "127.0.0.2"), connect_from(&srv, "127.0.0.2")};
    assert_true(silent[0] >= 0 && silent[1] >= 0);
    /* both accepted (the scrape's own connection is open while it is answered, as in `before`) */
    assert_true(wait_for(&srv, "tally_http_open_connections", v(before, "tally_http_open_connections") + 2));
    int third = connect_from(&srv, "127.0.0.2");
    assert_true(third >= 0);
    assert_true(closed_at_once(third));
    close(third);
    for(int i = 0; i < 2; i++) {
        assert_true(closed_at_once(silent[i]) || true); /* a 408, then closed */
        close(silent[i]);
    }

    /* Writer queue full (one place): a batch whose headers are in holds it while its body has not come; the
     * next batch is refused 503 at once. */
    int held = connect_from(&srv, "127.0.0.3");
    assert_true(held >= 0);
    int n = snprintf(req, sizeof req, "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n", token);
    assert_true(send(held, req, (size_t)n, MSG_NOSIGNAL) == n);
    assert_true(wait_for(&srv, "tally_ingest_queue_reserved", 1)); /* its place is held */
    int second = connect_from(&srv, "127.0.0.4");
    assert_int_equal(exchange(second, req, (size_t)n), 503);
    close(second);
    close(held);

    /* Too large a body (413) and over-long headers (431, answered before any route). */
    int big = connect_from(&srv, "127.0.0.5");
    n = snprintf(req, sizeof req, "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n", token);
    assert_int_equal(exchange(big, req, (size_t)n), 413);
    close(big);
    static char huge[200000];
    int hl = snprintf(huge, sizeof huge, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(huge + hl, 'a', sizeof huge - (size_t)hl - 8);
    memcpy(huge + sizeof huge - 8, "\r\n\r\n", 5);
    int fat = connect_from(&srv, "127.0.0.6");
    int fat_code = exchange(fat, huge, sizeof huge - 4);
    close(fat);

    nanosleep(&(struct timespec){1500 / 1000, 500 * 1000000L}, NULL); /* let the deadline cut the silent ones */
    char *after = scrape_from(&srv, "127.0.0.9");
    assert_true(v(after, REFUSED("per_address_limit")) - v(before, REFUSED("per_address_limit")) == 1);
    assert_true(v(after, REFUSED("deadline")) - v(before, REFUSED("deadline")) >= 2);
    assert_true(v(after, REFUSED("queue_full")) - v(before, REFUSED("queue_full")) == 1);
    assert_true(v(after, REFUSED("connection_limit")) == 0);
    assert_true(v(after, "tally_http_requests_total{route=\"batches\",code=\"503\"}") == 1);
    assert_true(v(after, "tally_http_requests_total{route=\"batches\",code=\"413\"}") == 1);
    printf("over-long headers answered %d\n", fat_code);
    if(fat_code) {
        char series[128];
        snprintf(series, sizeof series, "tally_http_requests_total{route=\"none\",code=\"%d\"}", fat_code);
        assert_true(v(after, series) == 1);
    }
    assert_true(prom_value(after, "tally_ingest_queue_capacity") == 1);
    assert_true(prom_value(after, "tally_ingest_queue_depth") == 0);
    free(before);
    free(after);
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
        cmocka_unit_test(test_metrics_count_each_refusal_under_its_cause),
        cmocka_unit_test(test_metrics_refuse_an_address_outside_metrics_allow),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
