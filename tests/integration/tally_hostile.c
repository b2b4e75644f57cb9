/* tally_hostile.c — the real tally-server against requests an attacker (or a broken proxy) would send.
 *
 * Each request gets its exact answer, a JSON body in valid UTF-8, and nothing stored: log forging, NUL bytes
 * in the target, two Content-Lengths, Content-Length with chunked, unknown transfer codings, bodies without a
 * length, slow and silent clients (cut off with 408), and a generated set of inputs whose error text would
 * hold invalid UTF-8 (keys cut inside a character, bad escapes, query names). Then back-pressure: with the
 * writer held up by another process's lock, a full queue answers 503 with Retry-After at once while /healthz
 * and /readyz still answer; a batch whose client has gone is not stored; /readyz says when the file stops
 * taking writes. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sync/protocol.h"
#include "sync/uuid.h"
#include "tally_harness.h"

static TallyServer S;
static char VIEWER[65], TOKEN[65];
#define UNIT "000.00.31.H21.Q01"
#define DEVICE "t-hostile"

static int64_t n_ratings(void)
{
    return th_scalar(&S, "SELECT count(*) FROM ratings");
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A batch of n fresh ratings from DEVICE (ids differ on every call). */
static char *batch(size_t n)
{
    static uint64_t counter;
    ProtoRating *r = calloc(n ? n : 1, sizeof *r);
    for(size_t i = 0; i < n; i++) {
        uint8_t rnd[10] = {0};
        uint64_t c = ++counter;
        memcpy(rnd, &c, sizeof c);
        rnd[9] = 0x5a;
        uuid_v7_make(r[i].id, 1764000000000ull + c, rnd);
        r[i].seq = (int64_t)c;
        snprintf(r[i].unit, sizeof r[i].unit, "%s", UNIT);
        r[i].area = AREA_DAT_DAI;
        r[i].scale = SCALE_TTHC3;
        r[i].score = 3;
        snprintf(r[i].at, sizeof r[i].at, "2025-04-01T09:00:00+07:00");
    }
    char bid[UUID_TEXT_LEN];
    uuid_v7_new(bid);
    char *s = proto_batch_dump(bid, DEVICE, "2025-04-01T10:00:00+07:00", r, n);
    free(r);
    assert_non_null(s);
    return s;
}

/* Well-formed UTF-8, checked here independently of the server's own cleaner. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    for(size_t i = 0; i < n;) {
        unsigned c = s[i], k = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
                                     : c >= 0xf0 && c <= 0xf4 ? 3 : 9;
        if(k == 9 || i + k >= n + (k == 0))
            return false;
        for(unsigned j = 1; j <= k; j++)
            if((s[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

/* The status of a raw HTTP reply, and its body parsed as JSON (which must be valid UTF-8 with an "error"). */
static int parse_reply(const char *resp, json_t **body)
{
    int status = 0;
    if(sscanf(resp, "HTTP/1.1 %d", &status) != 1)
        return 0;
    const char *b = strstr(resp, "\r\n\r\n");
    *body = b ? json_loads(b + 4, 0, NULL) : NULL;
    if(b)
        assert_true(utf8_ok((const unsigned char *)b + 4, strlen(b + 4)));
    assert_non_null(strcasestr(resp, "\r\nContent-Type: application/json"));
    return status;
}

/* Sends raw bytes; the answer must be `status` with error `code`; nothing may have been stored. */
static void expect_raw(const char *req, size_t len, int status, const char *code)
{
    int64_t before = n_ratings();
    char *resp = th_raw(&S, req, len, 10000);
    json_t *body = NULL;
    int got = parse_reply(resp, &body);
    if(got != status)
        fail_msg("expected %d %s, got: %.300s", status, code, resp);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "error")), code);
    assert_non_null(strstr(json_string_value(json_object_get(body, "message")), " / "));
    json_decref(body);
    free(resp);
    assert_int_equal(n_ratings(), before);
}

static void expect_raw_s(const char *req, int status, const char *code)
{
    expect_raw(req, strlen(req), status, code);
}

/* ---- Framing -------------------------------------------------------------------------------------------- */

static void test_a_forged_log_line_stays_one_escaped_line(void **state)
{
    (void)state;
    /* %0A stays the three characters it was sent as; raw control bytes and quotes are escaped. (Under /api/:
     * the JSON error; a page path gets the dashboard's HTML page, and the same log line.) */
    expect_raw_s("GET /api/healthz%0Atally-server:%20POST%20/api/v1/batches%20200%20device=FORGED HTTP/1.1\r\nHost: x\r\n"
                 "Connection: close\r\n\r\n", 404, "not_found");
    expect_raw_s("GET /api/x\x1b[2J\"\x7f\xff/zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, "not_found");
    FILE *f = fopen(S.log, "r");
    assert_non_null(f);
    char line[4096];
    int forged = 0, ours = 0, escaped = 0;
    while(fgets(line, sizeof line, f)) {
        if(strncmp(line, "tally-server: POST", 18) == 0 || strstr(line, "\x1b"))
            forged++;
        if(strstr(line, "\"GET /api/healthz%0Atally-server:%20POST%20/api/v1/batches%20200%20device=FORGED\" 404"))
            ours++;
        if(strstr(line, "\"GET /api/x\\x1b[2J\\\"\\x7f\\xff/zz\" 404"))
            escaped++;
    }
    fclose(f);
    assert_int_equal(forged, 0);
    assert_int_equal(ours, 1);
    assert_int_equal(escaped, 1);
}

static void test_a_nul_in_the_target_is_a_400(void **state)
{
    (void)state;
    expect_raw_s("GET /healthz%00/../x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400, "bad_request");
    char req[1024];
    char *body = batch(1);
    snprintf(req, sizeof req, "POST /api/v1/batches%%00x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", TOKEN, strlen(body), body);
    expect_raw_s(req, 400, "bad_request");
    /* In the query too. */
    snprintf(req, sizeof req, "GET /api/v1/tally?from=2025-01-01%%00&to=2025-12-31 HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", VIEWER);
    expect_raw_s(req, 400, "bad_request");
    free(body);
}

/* Every way of saying where a body ends that two parsers could read differently is refused with its status. */
static void test_conflicting_framing_gets_its_exact_answer(void **state)
{
    (void)state;
    char *body = batch(1);
    char req[2048];
    const char *head = "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    snprintf(req, sizeof req, "%sAuthorization: Bearer %s\r\nContent-Length: %zu\r\nContent-Length: %zu\r\n\r\n%s",
             head, TOKEN, strlen(body), strlen(body) + 1, body);
    expect_raw_s(req, 400, "bad_request"); /* two different lengths */
    snprintf(req, sizeof req, "%sAuthorization: Bearer %s\r\nContent-Length: %zu\r\nContent-Length: %zu\r\n\r\n%s",
             head, TOKEN, strlen(body), strlen(body), body);
    expect_raw_s(req, 400, "bad_request"); /* the same length twice */
    snprintf(req, sizeof req, "%sAuthorization: Bearer %s\r\nContent-Length: %zu\r\nTransfer-Encoding: chunked\r\n\r\n"
             "%zx\r\n%s\r\n0\r\n\r\n", head, TOKEN, strlen(body), strlen(body), body);
    expect_raw_s(req, 400, "bad_request"); /* Content-Length with chunked */
    snprintf(req, sizeof req, "%sAuthorization: Bearer %s\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", head,
             TOKEN);
    expect_raw_s(req, 501, "not_implemented"); /* an unknown coding */
    snprintf(req, sizeof req, "%sAuthorization: Bearer %s\r\nTransfer-Encoding: gzip\r\n\r\nxxxx", head, TOKEN);
    expect_raw_s(req, 501, "not_implemented");
    snprintf(req, sizeof req, "%sAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
             "chunked\r\n\r\n0\r\n\r\n", head, TOKEN);
    expect_raw_s(req, 501, "not_implemented"); /* two codings headers */
    snprintf(req, sizeof req, "%sAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
             head, TOKEN, strlen(body), body);
    expect_raw_s(req, 411, "length_required"); /* chunked alone: no length */
    /* A GET with a body, and a target too long. */
    snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    expect_raw_s(req, 400, "bad_request");
    size_t n = 5000;
    char *lng = malloc(n + 100);
    int k = snprintf(lng, n + 100, "GET /healthz?");
    memset(lng + k, 'a', n);
    snprintf(lng + k + n, 100, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect_raw_s(lng, 414, "uri_too_long");
    free(lng);
    /* ~450 query parameters (libmicrohttpd alone answered nothing): a 400 naming the problem. */
    char q[2048];
    k = snprintf(q, sizeof q, "GET /api/v1/tally?");
    for(int i = 0; i < 450; i++)
        k += snprintf(q + k, sizeof q - (size_t)k, "%sa", i ? "&" : "");
    snprintf(q + k, sizeof q - (size_t)k, " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
             VIEWER);
    expect_raw_s(q, 400, "bad_value");
    free(body);
    /* The server still serves, and the batch itself is fine. */
    body = batch(2);
    ThResp r = th_http(&S, "POST", "/api/v1/batches", TOKEN, "application/json", body, strlen(body), false);
    assert_int_equal(r.status, 200);
    th_resp_free(&r);
    free(body);
}

/* ---- Error text is valid UTF-8 whatever the input -------------------------------------------------------- */

static void expect_utf8_4xx(ThResp r, const char *what)
{
    if(r.status < 400 || r.status > 499)
        fail_msg("%s: status %ld, body %.200s", what, r.status, r.body);
    assert_true(utf8_ok((const unsigned char *)r.body, r.len));
    json_t *o = json_loads(r.body, 0, NULL);
    if(!o || !json_is_string(json_object_get(o, "error")))
        fail_msg("%s: not a JSON error: %.200s", what, r.body);
    json_decref(o);
    th_resp_free(&r);
}

static void test_error_replies_are_valid_utf8_json_for_any_input(void **state)
{
    (void)state;
    int64_t before = n_ratings();
    int sent = 0;
    /* Unknown top-level keys cut inside a multi-byte character at every position (the field is 64 bytes, the
     * message quotes 40), keys holding invalid bytes, bad escapes, lone surrogates: as JSONTestSuite does. */
    static const char *const tails[] = {"\xe1\xbb\x87\xe1\xbb\x87\xe1\xbb\x87", "\xf0\x9f\x8c\x80\xf0\x9f\x8c\x80",
                                        "\xc3\xa2\xc3\xa2\xc3\xa2"};
    for(int len = 25; len <= 70; len++)
        for(size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
            char body[256];
            snprintf(body, sizeof body, "{\"schema\":1,\"%.*s%s\":1}", len,
                     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", tails[t]);
            expect_utf8_4xx(th_http(&S, "POST", "/api/v1/batches", TOKEN, "application/json", body, strlen(body), false),
                            body);
            sent++;
        }
    static const char *const bodies[] = {
        "[\"\\\xf0\x9f\x8c\x80\"]",                               /* n_string_escaped_emoji */
        "{\"\xff\xfe\":1}",                                        /* a key that is not UTF-8 */
        "{\"schema\":1,\"device_id\":\"\xc3\"}",                   /* a cut character in a value */
        "{\"schema\":1,\"batch_id\":\"\\ud800\"}",                 /* a lone surrogate */
        "{\"schema\":1,\"\\u00e9\\ud83c\\udf00\xed\xa0\x80\":1}", /* an encoded surrogate */
        "{\"sch\xe1\xbb",                                          /* cut mid-character and mid-document */
        "\xef\xbb\xbf{}",                                          /* a BOM */
    };
    for(size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        expect_utf8_4xx(th_http(&S, "POST", "/api/v1/batches", TOKEN, "application/json", bodies[i],
                                strlen(bodies[i]), false), bodies[i]);
        sent++;
    }
    /* Query names and values that are not UTF-8 once decoded, or cut. */
    static const char *const queries[] = {"%FF=1", "%E1%BB=1", "from=2025-01-01&to=2025-01-02&%C0%AF=1",
                                          "from=%FF&to=2025-01-02", "from=2025-01-01&to=2025-01-02&t%C3%AAn%E1=1",
                                          "%F0%9F%8C=1&%F0%9F%8C=2"};
    for(size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "/api/v1/tally?%s", queries[i]);
        expect_utf8_4xx(th_http(&S, "GET", path, VIEWER, NULL, NULL, 0, false), path);
        sent++;
    }
    assert_true(sent > 140);
    assert_int_equal(n_ratings(), before);
}

/* ---- Slow and silent clients ----------------------------------------------------------------------------- */

static int dial(void)
{
    int port = atoi(strrchr(S.url, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends text one byte every 200 ms until the server answers or closes; returns what it answered and when. */
static char *dribble(int fd, const char *text, double *after)
{
    double t0 = now_s();
    static char got[1024];
    size_t n = 0;
    got[0] = '\0';
    for(size_t i = 0;; i++) {
        if(text[i % strlen(text)] && send(fd, text + i % strlen(text), 1, MSG_NOSIGNAL) != 1)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if(poll(&p, 1, 200) > 0) {
            ssize_t k = recv(fd, got + n, sizeof got - 1 - n, 0);
            if(k <= 0)
                break;
            n += (size_t)k;
            got[n] = '\0';
            /* read the rest of a reply that came in pieces */
            while(poll(&p, 1, 300) > 0 && (k = recv(fd, got + n, sizeof got - 1 - n, 0)) > 0)
                got[n += (size_t)k] = '\0';
            break;
        }
        if(now_s() - t0 > 30)
            break;
    }
    *after = now_s() - t0;
    close(fd);
    return got;
}

/* The server under test runs with --header-timeout-s 2: slow headers and slow bodies are cut off with 408,
 * silent connections too; a client that was served and went quiet is closed without one. */
static void test_slow_clients_are_cut_off_with_408(void **state)
{
    (void)state;
    double after;
    /* Headers at 5 bytes a second: the request line arrives, the headers never finish. */
    char *got = dribble(dial(), "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &after);
    assert_true(strncmp(got, "HTTP/1.1 408", 12) == 0);
    assert_non_null(strstr(got, "\"error\":\"timeout\""));
    assert_true(after >= 1.5 && after < 6);
    /* Nothing at all. */
    int fd = dial();
    char buf[512] = "";
    struct pollfd p = {.fd = fd, .events = POLLIN};
    double t0 = now_s();
    assert_true(poll(&p, 1, 8000) > 0);
    ssize_t k = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(k > 0 && strncmp(buf, "HTTP/1.1 408", 12) == 0);
    assert_true(now_s() - t0 >= 1.5 && now_s() - t0 < 6);
    close(fd);
    /* A body at 5 bytes a second: the headers were quick, the body is not (deadline 3 x 2 s + length/16 KiB/s). */
    char head[512];
    snprintf(head, sizeof head, "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n", TOKEN);
    fd = dial();
    assert_int_equal(send(fd, head, strlen(head), 0), (ssize_t)strlen(head));
    got = dribble(fd, "{\"schema\":1}                    ", &after);
    assert_true(strncmp(got, "HTTP/1.1 408", 12) == 0);
    assert_true(after >= 5 && after < 10);
    /* A client that was answered and then stays quiet: closed, without a 408 it might take for its next
     * request's answer. */
    fd = dial();
    static const char GET[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(send(fd, GET, sizeof GET - 1, 0), (ssize_t)sizeof GET - 1);
    assert_true(poll(&p, 1, 5000) > 0);
    p.fd = fd;
    k = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(k > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0);
    t0 = now_s();
    assert_true(poll(&p, 1, 8000) > 0);
    k = recv(fd, buf, sizeof buf - 1, 0);
    assert_int_equal(k, 0); /* closed, nothing written */
    assert_true(now_s() - t0 >= 1.5 && now_s() - t0 < 6);
    close(fd);
}

/* ---- Back-pressure ----------------------------------------------------------------------------------------- */

typedef struct {
    char  *body;
    ThResp resp;
} Post;

static void *post_thread(void *arg)
{
    Post *p = arg;
    p->resp = th_http(&S, "POST", "/api/v1/batches", TOKEN, "application/json", p->body, strlen(p->body), false);
    return NULL;
}

/* Holds the database's write lock from this process, as tally-admin or a backup might. */
static sqlite3 *lock_db(void)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(S.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_db(sqlite3 *db)
{
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int64_t queued(void)
{
    ThResp r = th_http(&S, "GET", "/readyz", NULL, NULL, NULL, 0, false);
    json_t *o = json_loads(r.body, 0, NULL);
    int64_t q = json_integer_value(json_object_get(o, "queue"));
    json_decref(o);
    th_resp_free(&r);
    return q;
}

/* The server under test runs with --queue-max 1. Batch A is being written (stuck on the lock), B waits in the
 * queue, C is refused at once with 503 busy + Retry-After; /healthz and /readyz answer meanwhile. Once the lock
 * goes, A and B are stored and answered 200. */
static void test_a_full_queue_answers_503_at_once_and_health_still_answers(void **state)
{
    (void)state;
    int64_t before = n_ratings();
    sqlite3 *lock = lock_db();
    Post a = {batch(3), {0}}, b = {batch(4), {0}};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, post_thread, &a);
    for(int i = 0; i < 100 && th_scalar(&S, "SELECT 1") < 0; i++)
        usleep(10000);
    usleep(300 * 1000); /* A reaches the writer and waits for the lock */
    pthread_create(&tb, NULL, post_thread, &b);
    for(int i = 0; i < 200 && queued() < 1; i++)
        usleep(20 * 1000);
    assert_int_equal(queued(), 1);

    char *c = batch(5);
    double t0 = now_s();
    char req[8192];
    snprintf(req, sizeof req, "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", TOKEN, strlen(c), c);
    char *resp = th_raw(&S, req, strlen(req), 10000);
    assert_true(now_s() - t0 < 2); /* at once, not after the lock */
    json_t *o = NULL;
    assert_int_equal(parse_reply(resp, &o), 503);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "busy");
    json_decref(o);
    const char *ra = strcasestr(resp, "\r\nRetry-After: ");
    assert_non_null(ra);
    int secs = atoi(ra + 15);
    assert_true(secs >= 1 && secs <= 60);
    free(resp);
    free(c);

    t0 = now_s();
    ThResp h = th_http(&S, "GET", "/healthz", NULL, NULL, NULL, 0, false);
    assert_int_equal(h.status, 200);
    th_resp_free(&h);
    h = th_http(&S, "GET", "/readyz", NULL, NULL, NULL, 0, false);
    assert_int_equal(h.status, 200); /* a lock held by another process is not a broken file */
    th_resp_free(&h);
    assert_true(now_s() - t0 < 1);

    unlock_db(lock);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.resp.status, 200);
    assert_int_equal(b.resp.status, 200);
    th_resp_free(&a.resp);
    th_resp_free(&b.resp);
    free(a.body);
    free(b.body);
    assert_int_equal(n_ratings(), before + 7);
}

/* B's client hangs up while B waits in the queue: B is dropped, not written. */
static void test_a_batch_whose_client_has_gone_is_not_stored(void **state)
{
    (void)state;
    int64_t before = n_ratings();
    sqlite3 *lock = lock_db();
    Post a = {batch(3), {0}};
    pthread_t ta;
    pthread_create(&ta, NULL, post_thread, &a);
    usleep(300 * 1000);
    char *b = batch(6);
    char req[8192];
    snprintf(req, sizeof req, "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", TOKEN, strlen(b), b);
    int fd = dial();
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    for(int i = 0; i < 200 && queued() < 1; i++)
        usleep(20 * 1000);
    assert_int_equal(queued(), 1);
    close(fd); /* gone */
    unlock_db(lock);
    pthread_join(ta, NULL);
    assert_int_equal(a.resp.status, 200);
    th_resp_free(&a.resp);
    free(a.body);
    free(b);
    for(int i = 0; i < 100 && queued() > 0; i++)
        usleep(20 * 1000);
    usleep(200 * 1000);
    assert_int_equal(n_ratings(), before + 3);
    assert_true(th_scalar(&S, "SELECT count(*) FROM receipts") >= 1);
}

/* /readyz turns 503 (with Retry-After) when the file stops taking writes, while /healthz still says ok. */
static void test_readyz_says_when_the_database_cannot_be_written(void **state)
{
    (void)state;
    ThResp r = th_http(&S, "GET", "/readyz", NULL, NULL, NULL, 0, false);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"ready\""));
    th_resp_free(&r);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(S.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE health", NULL, NULL, NULL), SQLITE_OK); /* the probe's row */
    sqlite3_close(db);
    long status = 0;
    for(int i = 0; i < 100 && status != 503; i++) { /* the idle writer probes every 5 s */
        usleep(100 * 1000);
        r = th_http(&S, "GET", "/readyz", NULL, NULL, NULL, 0, false);
        status = r.status;
        if(status == 503) {
            json_t *o = json_loads(r.body, 0, NULL);
            assert_string_equal(json_string_value(json_object_get(o, "status")), "not_ready");
            assert_true(strlen(json_string_value(json_object_get(o, "reason"))) > 0);
            json_decref(o);
        }
        th_resp_free(&r);
    }
    assert_int_equal(status, 503);
    r = th_http(&S, "GET", "/healthz", NULL, NULL, NULL, 0, false);
    assert_int_equal(r.status, 200);
    th_resp_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    if(!th_setup_db(&S) || !th_viewer(&S, "hostile-viewer", VIEWER) || !th_device(&S, DEVICE, UNIT, TOKEN))
        return -1;
    snprintf(S.log, sizeof S.log, "%s/server.log", S.dir);
    S.args[0] = "--header-timeout-s";
    S.args[1] = "2";
    S.args[2] = "--queue-max";
    S.args[3] = "1";
    if(!th_start(&S)) {
        fprintf(stderr, "could not start tally-server\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return th_finish(&S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_forged_log_line_stays_one_escaped_line),
        cmocka_unit_test(test_a_nul_in_the_target_is_a_400),
        cmocka_unit_test(test_conflicting_framing_gets_its_exact_answer),
        cmocka_unit_test(test_error_replies_are_valid_utf8_json_for_any_input),
        cmocka_unit_test(test_slow_clients_are_cut_off_with_408),
        cmocka_unit_test(test_a_full_queue_answers_503_at_once_and_health_still_answers),
        cmocka_unit_test(test_a_batch_whose_client_has_gone_is_not_stored),
        cmocka_unit_test(test_readyz_says_when_the_database_cannot_be_written),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
