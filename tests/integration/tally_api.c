/* tally_api.c — the real tally-server on a random loopback port, driven over HTTP.
 *
 * One server for the whole group (started in setup from the real binary, stopped with SIGTERM in teardown,
 * which must exit 0). Tests use their own units and dates so they do not disturb each other; the tally
 * check at the end recomputes every tally from the raw rating rows with code of its own (day arithmetic,
 * satisfied rule, subtree walk over the CSV) and compares with the API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>

#include "sync/protocol.h"
#include "sync/uuid.h"
#include "tally_harness.h"

static TallyServer S;
static char VIEWER[65];

/* ---- Making ratings and batches ------------------------------------------------------------------------ */

static uint64_t id_counter;

static void new_id(char out[UUID_TEXT_LEN])
{
    uint8_t rnd[10] = {0};
    uint64_t c = ++id_counter;
    memcpy(rnd, &c, sizeof c);
    uuid_v7_make(out, 1764000000000ull + c, rnd);
}

static ProtoRating rating(const char *unit, const char *area, const char *scale, int score, const char *at,
                          bool flagged)
{
    ProtoRating r = {0};
    new_id(r.id);
    r.seq = (int64_t)id_counter;
    snprintf(r.unit, sizeof r.unit, "%s", unit);
    r.area = (ProtoArea)proto_area_from_code(area);
    r.scale = (ProtoScale)proto_scale_from_code(scale);
    r.score = score;
    r.followup = proto_is_satisfied(r.scale, score) ? FOLLOWUP_NONE : FOLLOWUP_SKIPPED;
    snprintf(r.at, sizeof r.at, "%.39s", at); /* PTIME_TEXT_MAX - 1 */
    r.flags = flagged ? PROTO_FLAG_RAPID_REPEAT : 0;
    return r;
}

static char *batch(const char *device, const ProtoRating *r, size_t n)
{
    char bid[UUID_TEXT_LEN];
    new_id(bid);
    char *s = proto_batch_dump(bid, device, "2026-11-27T10:00:00+07:00", r, n);
    assert_non_null(s);
    return s;
}

static ThResp post(const char *token, const char *body)
{
    return th_http(&S, "POST", "/api/v1/batches", token, "application/json", body, strlen(body), false);
}

/* POSTs and checks the 200 reply's counts; returns the parsed reply (json_decref it). */
static json_t *post_ok(const char *token, const char *body, json_int_t accepted, json_int_t duplicate,
                       size_t rejected)
{
    ThResp r = post(token, body);
    if(r.status != 200)
        fprintf(stderr, "reply %ld: %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    th_resp_free(&r);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "accepted")), accepted);
    assert_int_equal(json_integer_value(json_object_get(o, "duplicate")), duplicate);
    assert_int_equal(json_array_size(json_object_get(o, "rejected")), rejected);
    return o;
}

static json_t *tally(const char *query)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/tally?%s", query);
    ThResp r = th_http(&S, "GET", path, VIEWER, NULL, NULL, 0, false);
    if(r.status != 200)
        fprintf(stderr, "GET %s -> %ld %s\n", path, r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    th_resp_free(&r);
    assert_non_null(o);
    return o;
}

static json_t *row_of(json_t *reply, const char *key)
{
    json_t *rows = json_object_get(reply, "rows"), *row;
    size_t i;
    json_array_foreach(rows, i, row) if(strcmp(json_string_value(json_object_get(row, "key")), key) == 0) return row;
    return NULL;
}

static json_int_t ival(json_t *row, const char *k)
{
    json_t *v = json_object_get(row, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *sval(json_t *row, const char *k)
{
    json_t *v = json_object_get(row, k);
    return json_is_string(v) ? json_string_value(v) : "(null)";
}

static int64_t n_ratings(void)
{
    return th_scalar(&S, "SELECT count(*) FROM ratings");
}

static int64_t n_receipts(void)
{
    return th_scalar(&S, "SELECT count(*) FROM receipts");
}

/* ---- Fixture --------------------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if(!th_setup_db(&S) || !th_viewer(&S, "test-viewer", VIEWER) || !th_start(&S)) {
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

/* ---- Ingest -------------------------------------------------------------------------------------------- */

static void test_new_ratings_are_accepted_and_a_replayed_batch_counts_as_duplicates(void **state)
{
    (void)state;
    char tok[65];
    assert_true(th_device(&S, "t-replay", "000.00.31.H21.Q01", tok));
    ProtoRating r[20];
    for(int i = 0; i < 20; i++)
        r[i] = rating("000.00.31.H21.Q01", i % 2 ? "dat_dai" : "dau_tu", "tthc3", 1 + i % 3,
                      "2025-02-03T09:00:00+07:00", false);
    char *body = batch("t-replay", r, 20);
    int64_t before = n_ratings();
    json_decref(post_ok(tok, body, 20, 0, 0));
    assert_int_equal(n_ratings(), before + 20);
    json_t *t1 = tally("from=2025-02-03&to=2025-02-03&unit=000.00.31.H21.Q01");
    json_int_t n1 = ival(row_of(t1, "000.00.31.H21.Q01"), "n");
    assert_int_equal(n1, 20);
    /* The same bytes again, twice: every item is a duplicate, the tally does not move. */
    json_decref(post_ok(tok, body, 0, 20, 0));
    json_decref(post_ok(tok, body, 0, 20, 0));
    assert_int_equal(n_ratings(), before + 20);
    json_t *t2 = tally("from=2025-02-03&to=2025-02-03&unit=000.00.31.H21.Q01");
    assert_int_equal(ival(row_of(t2, "000.00.31.H21.Q01"), "n"), 20);
    /* Each POST is a receipt with the device's clock against the server's. */
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM receipts WHERE device = 't-replay'"), 3);
    assert_true(th_scalar(&S, "SELECT last_skew_s IS NOT NULL FROM devices WHERE id = 't-replay'") == 1);
    json_decref(t1);
    json_decref(t2);
    free(body);
}

static void test_same_id_with_other_content_is_a_conflict_and_keeps_the_original(void **state)
{
    (void)state;
    char tok[65];
    assert_true(th_device(&S, "t-conflict", "000.00.31.H21.Q02", tok));
    ProtoRating r[2] = {rating("000.00.31.H21.Q02", "xay_dung", "tthc3", 3, "2025-02-04T09:00:00+07:00", false),
                        rating("000.00.31.H21.Q02", "xay_dung", "tthc3", 2, "2025-02-04T09:01:00+07:00", false)};
    char *body = batch("t-conflict", r, 2);
    json_decref(post_ok(tok, body, 2, 0, 0));
    free(body);
    ProtoRating changed = r[0];
    changed.score = 1;
    changed.followup = FOLLOWUP_TIMEOUT;
    ProtoRating again[2] = {changed, r[1]};
    body = batch("t-conflict", again, 2);
    json_t *o = post_ok(tok, body, 0, 1, 1);
    json_t *rej = json_array_get(json_object_get(o, "rejected"), 0);
    assert_string_equal(sval(rej, "id"), r[0].id);
    assert_string_equal(sval(rej, "error"), "conflict");
    json_decref(o);
    free(body);
    json_t *t = tally("from=2025-02-04&to=2025-02-04&unit=000.00.31.H21.Q02");
    json_t *row = row_of(t, "000.00.31.H21.Q02");
    assert_int_equal(ival(row, "n"), 2);
    assert_int_equal(ival(row, "satisfied"), 2); /* the stored score 3 stays, not the conflicting 1 */
    json_decref(t);
}

static void test_bad_items_are_rejected_alone_and_the_good_ones_stored(void **state)
{
    (void)state;
    char tok[65];
    const char *unit = "000.00.31.H21.Q03";
    assert_true(th_device(&S, "t-items", unit, tok));
    ProtoRating good[3];
    for(int i = 0; i < 3; i++)
        good[i] = rating(unit, "dau_tu", "tthc3", 3, "2025-02-05T09:00:00+07:00", false);
    ProtoRating other = rating("000.00.31.H21.Q04", "dau_tu", "tthc3", 3, "2025-02-05T09:00:00+07:00", false);
    ProtoRating bad[5];
    for(int i = 0; i < 5; i++)
        bad[i] = rating(unit, "dau_tu", "tthc3", 3, "2025-02-05T09:00:00+07:00", false);
    ProtoRating all[9] = {good[0], bad[0], bad[1], good[1], bad[2], bad[3], bad[4], other, good[2]};
    char *text = batch("t-items", all, 9);
    json_t *b = json_loads(text, 0, NULL);
    free(text);
    json_t *items = json_object_get(b, "ratings");
    json_object_set_new(json_array_get(items, 1), "area", json_string("hai_quan"));       /* unknown area */
    json_object_set_new(json_array_get(items, 2), "score", json_integer(4));              /* out of tthc3 */
    json_object_set_new(json_array_get(items, 4), "at", json_string("2025-02-30T09:00:00+07:00")); /* no such day */
    json_object_set_new(json_array_get(items, 5), "id", json_string("not-a-uuid"));
    json_object_del(json_array_get(items, 6), "seq");
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    int64_t before = n_ratings();
    json_t *o = post_ok(tok, body, 3, 0, 6);
    const char *want[][2] = {{bad[0].id, "unknown_area"}, {bad[1].id, "score_out_of_range"},
                             {bad[2].id, "bad_time"},     {"(null)", "bad_uuid"},
                             {bad[4].id, "missing_field"}, {other.id, "unit_mismatch"}};
    json_t *rej = json_object_get(o, "rejected");
    for(size_t i = 0; i < 6; i++) {
        assert_string_equal(sval(json_array_get(rej, i), "id"), want[i][0]);
        assert_string_equal(sval(json_array_get(rej, i), "error"), want[i][1]);
    }
    json_decref(o);
    assert_int_equal(n_ratings(), before + 3);
    /* Replayed: the same rejects, the good ones now duplicates. */
    json_decref(post_ok(tok, body, 0, 3, 6));
    assert_int_equal(n_ratings(), before + 3);
    free(body);
}

/* ---- Refusals: every status code, nothing stored ------------------------------------------------------- */

static void expect_refusal(ThResp r, long status, const char *code, int64_t ratings, int64_t receipts)
{
    if(r.status != status)
        fprintf(stderr, "expected %ld %s, got %ld %s\n", status, code, r.status, r.body);
    assert_int_equal(r.status, status);
    json_t *o = json_loads(r.body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(sval(o, "error"), code);
    assert_non_null(strstr(sval(o, "message"), " / ")); /* English / Vietnamese */
    json_decref(o);
    th_resp_free(&r);
    assert_int_equal(n_ratings(), ratings);
    assert_int_equal(n_receipts(), receipts);
}

static void test_every_refusal_has_its_status_and_stores_nothing(void **state)
{
    (void)state;
    char tok[65], tok2[65];
    const char *unit = "000.00.02.H21.Q01";
    assert_true(th_device(&S, "t-refuse", unit, tok));
    assert_true(th_device(&S, "t-refuse-2", "000.00.05.H21.Q01", tok2));
    ProtoRating r = rating(unit, "khac", "tthc3", 3, "2025-02-06T09:00:00+07:00", false);
    char *good = batch("t-refuse", &r, 1);
    int64_t nr = n_ratings(), nb = n_receipts();

    /* 400: not JSON (with a position), an envelope field missing, an item that is not an object. */
    const char *broken = "{\"schema\":1,\"batch_id\":";
    ThResp x = post(tok, broken);
    assert_int_equal(x.status, 400);
    json_t *o = json_loads(x.body, 0, NULL);
    assert_true(json_integer_value(json_object_get(o, "line")) >= 1);
    json_decref(o);
    expect_refusal(x, 400, "bad_json", nr, nb);
    json_t *b = json_loads(good, 0, NULL);
    json_object_del(b, "batch_id");
    char *nobid = json_dumps(b, JSON_COMPACT);
    x = post(tok, nobid);
    o = json_loads(x.body, 0, NULL);
    assert_string_equal(sval(o, "field"), "batch_id");
    json_decref(o);
    expect_refusal(x, 400, "missing_field", nr, nb);
    json_array_append_new(json_object_get(b, "ratings"), json_integer(7));
    json_object_set_new(b, "batch_id", json_string("0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d9e"));
    char *notobj = json_dumps(b, JSON_COMPACT);
    expect_refusal(post(tok, notobj), 400, "wrong_type", nr, nb);
    json_decref(b);

    /* 401: no token, an unknown token. */
    expect_refusal(th_http(&S, "POST", "/api/v1/batches", NULL, "application/json", good, strlen(good), false), 401,
                   "unauthorized", nr, nb);
    expect_refusal(post("0000000000000000000000000000000000000000000000000000000000000000", good), 401,
                   "unauthorized", nr, nb);
    /* 403: another device's token for this device_id. */
    expect_refusal(post(tok2, good), 403, "device_mismatch", nr, nb);
    /* 415: not JSON, or no Content-Type at all. */
    expect_refusal(th_http(&S, "POST", "/api/v1/batches", tok, "text/plain", good, strlen(good), false), 415,
                   "unsupported_media_type", nr, nb);
    expect_refusal(th_http(&S, "POST", "/api/v1/batches", tok, NULL, good, strlen(good), false), 415,
                   "unsupported_media_type", nr, nb);
    /* 411: a body without a length (chunked), even a good one: refused before any of it is read. */
    expect_refusal(th_http(&S, "POST", "/api/v1/batches", tok, "application/json", good, strlen(good), true), 411,
                   "length_required", nr, nb);
    /* (A Content-Length over 4 MiB is refused from the headers alone: see the next test, which can observe
     * that over a raw socket; a client still sending its body when the server hangs up may see a reset.) */
    /* 413: more than 5,000 ratings. */
    ProtoRating *many = malloc((PROTO_MAX_BATCH + 1) * sizeof *many);
    for(int i = 0; i <= PROTO_MAX_BATCH; i++)
        many[i] = rating(unit, "khac", "tthc3", 3, "2025-02-06T09:00:00+07:00", false);
    char *toomany = batch("t-refuse", many, PROTO_MAX_BATCH + 1);
    assert_true(strlen(toomany) < PROTO_MAX_BODY);
    expect_refusal(post(tok, toomany), 413, "too_many_ratings", nr, nb);
    free(toomany);
    free(many);
    /* 404 / 405. */
    expect_refusal(th_http(&S, "GET", "/api/v1/batches", tok, NULL, NULL, 0, false), 405, "method_not_allowed", nr,
                   nb);
    expect_refusal(th_http(&S, "POST", "/api/v2/batches", tok, "application/json", good, strlen(good), false), 404,
                   "not_found", nr, nb);

    /* And the same good batch is then accepted. */
    json_decref(post_ok(tok, good, 1, 0, 0));
    assert_int_equal(n_ratings(), nr + 1);
    free(good);
    free(nobid);
    free(notobj);
}

static void test_a_length_over_the_cap_is_refused_before_the_body_is_sent(void **state)
{
    (void)state;
    char tok[65];
    assert_true(th_device(&S, "t-cap", "000.00.06.H21.Q01", tok));
    int64_t nr = n_ratings();
    /* Announce 100 MB and send none of it: a server that buffered first would wait for the body; ours must
     * answer 413 from the headers alone (the read gives up after 10 s). */
    char req[512];
    snprintf(req, sizeof req,
             "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{",
             tok);
    char *resp = th_raw(&S, req, strlen(req), 10000);
    assert_true(strncmp(resp, "HTTP/1.1 413", 12) == 0);
    assert_non_null(strstr(resp, "too_large"));
    free(resp);
    assert_int_equal(n_ratings(), nr);
}

static void test_a_revoked_device_is_refused(void **state)
{
    (void)state;
    char tok[65];
    const char *unit = "000.00.07.H21.Q01";
    assert_true(th_device(&S, "t-revoked", unit, tok));
    ProtoRating r = rating(unit, "dau_tu", "tthc3", 3, "2025-02-07T09:00:00+07:00", false);
    char *body = batch("t-revoked", &r, 1);
    json_decref(post_ok(tok, body, 1, 0, 0));
    free(body);
    assert_int_equal(th_admin(&S, NULL, 0, "device", "revoke", "t-revoked", (char *)NULL), 0);
    r = rating(unit, "dau_tu", "tthc3", 3, "2025-02-07T09:05:00+07:00", false);
    body = batch("t-revoked", &r, 1);
    expect_refusal(post(tok, body), 403, "revoked", n_ratings(), n_receipts());
    free(body);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM ratings WHERE device = 't-revoked'"), 1);
}

/* ---- Tallies ------------------------------------------------------------------------------------------- */

/* n ratings at unit/area on day, the first `sat` satisfied (tthc3), `flagged` more flagged unsatisfied. */
static void post_slice(const char *device, const char *unit, const char *area, const char *at, int n, int sat,
                       int flagged)
{
    char tok[65];
    assert_true(th_device(&S, device, unit, tok));
    ProtoRating *r = calloc((size_t)(n + flagged), sizeof *r);
    for(int i = 0; i < n + flagged; i++)
        r[i] = rating(unit, area, "tthc3", i < sat ? 2 + i % 2 : 1, at, i >= n);
    char *body = batch(device, r, (size_t)(n + flagged));
    json_decref(post_ok(tok, body, n + flagged, 0, 0));
    free(body);
    free(r);
}

static void expect_status(const char *query, const char *key, json_int_t n, json_int_t sat, const char *group,
                          const char *s2025, const char *s2030)
{
    json_t *t = tally(query);
    json_t *row = row_of(t, key);
    assert_non_null(row);
    assert_int_equal(ival(row, "n"), n);
    assert_int_equal(ival(row, "satisfied"), sat);
    assert_string_equal(sval(row, "group"), group);
    assert_string_equal(sval(row, "status_2025"), s2025);
    assert_string_equal(sval(row, "status_2030"), s2030);
    json_decref(t);
}

static void test_both_milestones_are_judged_from_counts(void **state)
{
    (void)state;
    /* tthc (90 / 95): exactly 90 of 100 meets 2025 and misses 2030; 89 of 100 misses both. */
    post_slice("t-m1", "000.01.24.H21.Q01", "khac", "2025-05-05T10:00:00+07:00", 100, 90, 0);
    expect_status("from=2025-05-01&to=2025-05-31&unit=000.01.24.H21.Q01", "000.01.24.H21.Q01", 100, 90, "tthc", "dat",
                  "khong_dat");
    post_slice("t-m2", "000.01.25.H21.Q01", "tu_phap_ho_tich", "2025-05-05T10:00:00+07:00", 100, 89, 0);
    expect_status("from=2025-05-01&to=2025-05-31&unit=000.01.25.H21.Q01", "000.01.25.H21.Q01", 100, 89, "tthc",
                  "khong_dat", "khong_dat");
    /* y_te (85 / 90): 86 of 100 meets 2025 only; giao_duc 96 of 100 meets both. */
    post_slice("t-m3", "000.01.26.H21.Q01", "y_te", "2025-05-05T10:00:00+07:00", 100, 86, 0);
    expect_status("from=2025-05-01&to=2025-05-31&unit=000.01.26.H21.Q01", "000.01.26.H21.Q01", 100, 86, "y_te", "dat",
                  "khong_dat");
    post_slice("t-m4", "000.01.27.H21.Q01", "giao_duc", "2025-05-05T10:00:00+07:00", 100, 96, 0);
    expect_status("from=2025-05-01&to=2025-05-31&unit=000.01.27.H21.Q01&by=area", "giao_duc", 100, 96, "giao_duc",
                  "dat", "dat");
    /* The target table is data: raising tthc 2025 to 91 turns the 90-of-100 slice into khong_dat. */
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "tthc", "2025", "91", (char *)NULL), 0);
    expect_status("from=2025-05-01&to=2025-05-31&unit=000.01.24.H21.Q01", "000.01.24.H21.Q01", 100, 90, "tthc",
                  "khong_dat", "khong_dat");
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "tthc", "2025", "90", (char *)NULL), 0);
    assert_int_not_equal(th_admin(&S, NULL, 0, "targets", "set", "tthc", "2024", "90", (char *)NULL), 0);
    expect_status("from=2025-05-01&to=2025-05-31&unit=000.01.24.H21.Q01", "000.01.24.H21.Q01", 100, 90, "tthc", "dat",
                  "khong_dat");
}

static void test_too_few_ratings_are_chua_du_mau(void **state)
{
    (void)state;
    post_slice("t-few", "000.01.30.H21.Q01", "khac", "2025-06-06T10:00:00+07:00", 29, 29, 0);
    expect_status("from=2025-06-01&to=2025-06-30&unit=000.01.30.H21.Q01", "000.01.30.H21.Q01", 29, 29, "tthc",
                  "chua_du_mau", "chua_du_mau");
    expect_status("from=2025-06-01&to=2025-06-30&unit=000.01.30.H21.Q01&min_n=29", "000.01.30.H21.Q01", 29, 29,
                  "tthc", "dat", "dat");
}

static void test_flagged_ratings_are_left_out_of_n_and_counted_apart(void **state)
{
    (void)state;
    /* 30 satisfied plus 10 flagged unsatisfied: n 30, 100%, met — the flagged ones do not drag it down. */
    post_slice("t-flag", "000.01.32.H21.Q01", "khac", "2025-07-07T10:00:00+07:00", 30, 30, 10);
    json_t *t = tally("from=2025-07-01&to=2025-07-31&unit=000.01.32.H21.Q01");
    json_t *row = row_of(t, "000.01.32.H21.Q01");
    assert_int_equal(ival(row, "n"), 30);
    assert_int_equal(ival(row, "flagged"), 10);
    assert_true(json_real_value(json_object_get(row, "pct")) == 100.0);
    assert_string_equal(sval(row, "status_2030"), "dat");
    json_decref(t);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM ratings WHERE device = 't-flag' AND flagged = 1"), 10);
}

static void test_the_day_turns_at_17_00_utc(void **state)
{
    (void)state;
    const char *unit = "000.01.33.H21.Q01";
    char tok[65];
    assert_true(th_device(&S, "t-day", unit, tok));
    const char *ats[] = {"2025-03-10T16:59:59Z",      /* 23:59:59 in Gia Lai: the 10th */
                         "2025-03-10T23:59:59+07:00", /* the 10th */
                         "2025-03-10T10:00:00-05:00", /* 15:00 UTC, 22:00 in Gia Lai: the 10th */
                         "2025-03-10T17:00:00Z",      /* 00:00 on the 11th */
                         "2025-03-11T00:00:00+07:00"}; /* the 11th */
    ProtoRating r[5];
    for(int i = 0; i < 5; i++)
        r[i] = rating(unit, "khac", "tthc3", 3, ats[i], false);
    char *body = batch("t-day", r, 5);
    json_decref(post_ok(tok, body, 5, 0, 0));
    free(body);
    json_t *t = tally("from=2025-03-09&to=2025-03-12&unit=000.01.33.H21.Q01&by=day");
    assert_int_equal(json_array_size(json_object_get(t, "rows")), 2);
    assert_int_equal(ival(row_of(t, "2025-03-10"), "n"), 3);
    assert_int_equal(ival(row_of(t, "2025-03-11"), "n"), 2);
    json_decref(t);
}

static void test_a_unit_counts_its_whole_subtree(void **state)
{
    (void)state;
    /* A counter of xã Ia Sao (under thị xã Ayun Pa) counts for Ayun Pa and the province, not for An Khê. */
    post_slice("t-sub", "000.01.23.H21.Q01", "tu_phap_ho_tich", "2025-08-08T10:00:00+07:00", 12, 10, 0);
    json_t *t = tally("from=2025-08-08&to=2025-08-08&unit=000.00.23.H21&by=unit");
    assert_int_equal(ival(row_of(t, "000.01.23.H21"), "n"), 12);
    assert_int_equal(ival(row_of(t, "000.01.23.H21"), "satisfied"), 10);
    assert_non_null(row_of(t, "000.02.23.H21")); /* every direct child has a row, even with no ratings */
    assert_int_equal(ival(row_of(t, "000.02.23.H21"), "n"), 0);
    assert_null(row_of(t, "000.01.23.H21.Q01")); /* grandchildren roll into their child's row */
    json_decref(t);
    t = tally("from=2025-08-08&to=2025-08-08&unit=000.00.00.H21&by=unit");
    assert_int_equal(ival(row_of(t, "000.00.23.H21"), "n"), 12);
    assert_int_equal(ival(row_of(t, "000.00.22.H21"), "n"), 0);
    json_decref(t);
    t = tally("from=2025-08-08&to=2025-08-08");
    assert_int_equal(ival(row_of(t, "all"), "n"), 12);
    json_decref(t);
}

static void test_tally_needs_a_viewer_token_and_a_well_formed_query(void **state)
{
    (void)state;
    char dev[65];
    assert_true(th_device(&S, "t-notviewer", "000.00.08.H21.Q01", dev));
    ThResp r = th_http(&S, "GET", "/api/v1/tally?from=2025-01-01&to=2025-12-31", dev, NULL, NULL, 0, false);
    assert_int_equal(r.status, 401);
    th_resp_free(&r);
    r = th_http(&S, "GET", "/api/v1/tally?from=2025-01-01&to=2025-12-31", NULL, NULL, NULL, 0, false);
    assert_int_equal(r.status, 401);
    th_resp_free(&r);
    const struct { const char *q; long status; const char *field; } bad[] = {
        {"from=2025-02-30&to=2025-12-31", 400, "from"},  {"from=2025-01-01", 400, "to"},
        {"from=2025-12-01&to=2025-01-31", 400, "from"},  {"from=2025-01-01&to=2025-12-31&by=week", 400, "by"},
        {"from=2025-01-01&to=2025-12-31&area=x", 400, "area"}, {"from=2025-01-01&to=2025-12-31&min_n=0", 400, "min_n"},
        {"from=2025-01-01&to=2025-12-31&colour=red", 400, "colour"},
        {"from=2025-01-01&to=2025-12-31&unit=999.99.99.H99", 404, "unit"},
    };
    for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "/api/v1/tally?%s", bad[i].q);
        r = th_http(&S, "GET", path, VIEWER, NULL, NULL, 0, false);
        assert_int_equal(r.status, bad[i].status);
        json_t *o = json_loads(r.body, 0, NULL);
        assert_string_equal(sval(o, "field"), bad[i].field);
        json_decref(o);
        th_resp_free(&r);
    }
    /* A revoked viewer token: 403, while the others keep working. */
    char v2[65];
    assert_true(th_viewer(&S, "t-viewer-2", v2));
    r = th_http(&S, "GET", "/api/v1/tally?from=2025-01-01&to=2025-12-31", v2, NULL, NULL, 0, false);
    assert_int_equal(r.status, 200);
    th_resp_free(&r);
    assert_int_equal(th_admin(&S, NULL, 0, "viewer", "revoke", "t-viewer-2", (char *)NULL), 0);
    assert_int_equal(th_admin(&S, NULL, 0, "viewer", "revoke", "t-viewer-9", (char *)NULL), 1);
    r = th_http(&S, "GET", "/api/v1/tally?from=2025-01-01&to=2025-12-31", v2, NULL, NULL, 0, false);
    assert_int_equal(r.status, 403);
    th_resp_free(&r);
    r = th_http(&S, "GET", "/api/v1/targets", VIEWER, NULL, NULL, 0, false);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    json_t *first = json_array_get(json_object_get(o, "targets"), 0);
    assert_string_equal(sval(first, "group"), "tthc");
    assert_true(json_real_value(json_object_get(first, "target_2030")) == 95.0);
    json_decref(o);
    th_resp_free(&r);
}

/* ---- The server survives abuse ------------------------------------------------------------------------- */

static void test_a_burst_of_malformed_requests_leaves_the_server_serving(void **state)
{
    (void)state;
    char tok[65];
    const char *unit = "000.00.10.H21.Q01";
    assert_true(th_device(&S, "t-burst", unit, tok));
    int64_t nr = n_ratings();
    char longhdr[12000];
    memset(longhdr, 'a', sizeof longhdr);
    memcpy(longhdr, "GET /healthz HTTP/1.1\r\nX-Long: ", 31);
    memcpy(longhdr + sizeof longhdr - 4, "\r\n\r\n", 4);
    char partial[512];
    snprintf(partial, sizeof partial,
             "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: 500\r\n\r\n{\"schema\":1,",
             tok);
    char chunkbad[512];
    snprintf(chunkbad, sizeof chunkbad,
             "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n",
             tok);
    const struct { const char *b; size_t n; } raw[] = {
        {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11}, /* a TLS hello on the plain port */
        {"GARBAGE\r\n\r\n", 11},
        {"POST /api/v1/batches HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 55},
        {"POST /api/v1/batches HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 53},
        {"GET /healthz HTTP/9.9\r\n\r\n", 25},
        {"\r\n\r\n\r\n", 6},
        {longhdr, sizeof longhdr},
        {partial, strlen(partial)},
        {chunkbad, strlen(chunkbad)},
    };
    /* Requests the server must wait on (half a body, half a header) are abandoned after 10 ms. */
    for(int round = 0; round < 30; round++)
        for(size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
            free(th_raw(&S, raw[i].b, raw[i].n, 10));
    char *answer = th_raw(&S, raw[2].b, raw[2].n, 2000); /* a length that is not a number */
    assert_true(strncmp(answer, "HTTP/1.1 400", 12) == 0); /* nonsense gets a 400, not silence or a crash */
    free(answer);
    static const char *const bodies[] = {"", "null", "[]", "{}", "{\"schema\":1}", "{\"schema\":\"1\"}",
                                         "\xff\xfe{", "{\"a\":1,\"a\":2}", "{\"schema\":1,\"ratings\":[[[[[[[[[]]]]]]]]]}"};
    for(int round = 0; round < 10; round++)
        for(size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
            ThResp r = post(tok, bodies[i]);
            assert_int_equal(r.status, 400);
            th_resp_free(&r);
        }
    assert_int_equal(n_ratings(), nr);
    ThResp h = th_http(&S, "GET", "/healthz", NULL, NULL, NULL, 0, false);
    assert_int_equal(h.status, 200);
    th_resp_free(&h);
    ProtoRating r = rating(unit, "tu_phap_ho_tich", "tthc3", 2, "2025-09-09T10:00:00+07:00", false);
    char *body = batch("t-burst", &r, 1);
    json_decref(post_ok(tok, body, 1, 0, 0));
    free(body);
}

/* Twenty kiosks upload at once, several batches each: every rating is stored exactly once. */
typedef struct {
    char token[65], device[32], unit[32];
    int  ok;
} Uploader;

static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;

static void *upload_thread(void *arg)
{
    Uploader *u = arg;
    for(int b = 0; b < 4; b++) {
        ProtoRating r[250];
        pthread_mutex_lock(&id_mu); /* rating() draws ids from one shared counter */
        for(int i = 0; i < 250; i++) {
            char at[40];
            snprintf(at, sizeof at, "2025-10-%02dT%02d:%02d:00+07:00", 1 + b, 7 + i % 10, i % 60);
            r[i] = rating(u->unit, "dat_dai", "tthc3", 1 + i % 3, at, false);
        }
        pthread_mutex_unlock(&id_mu);
        char bid[UUID_TEXT_LEN];
        uuid_v7_new(bid);
        char *body = proto_batch_dump(bid, u->device, "2025-10-05T21:00:00+07:00", r, 250);
        ThResp resp = post(u->token, body);
        free(body);
        json_t *o = resp.status == 200 ? json_loads(resp.body, 0, NULL) : NULL;
        if(o && json_integer_value(json_object_get(o, "accepted")) == 250)
            u->ok++;
        json_decref(o);
        th_resp_free(&resp);
    }
    return NULL;
}

static void test_kiosks_uploading_at_once_lose_nothing(void **state)
{
    (void)state;
    enum { K = 20 };
    Uploader u[K];
    pthread_t th[K];
    const char *units[K] = {"000.01.34.H21.Q01", "000.01.35.H21.Q01", "000.01.36.H21.Q01", "000.01.37.H21.Q01",
                            "000.01.38.H21.Q01", "000.02.21.H21.Q01", "000.03.21.H21.Q01", "000.05.21.H21.Q01",
                            "000.01.22.H21.Q01", "000.02.23.H21.Q01", "000.03.23.H21.Q01", "000.00.21.H21.Q01",
                            "000.00.22.H21.Q01", "000.00.23.H21.Q01", "000.00.11.H21.Q01", "000.01.24.H21.Q01",
                            "000.01.25.H21.Q01", "000.01.26.H21.Q01", "000.01.27.H21.Q01", "000.01.28.H21.Q01"};
    int64_t nr = n_ratings();
    for(int i = 0; i < K; i++) {
        memset(&u[i], 0, sizeof u[i]);
        snprintf(u[i].device, sizeof u[i].device, "t-par-%d", i);
        snprintf(u[i].unit, sizeof u[i].unit, "%s", units[i]);
        assert_true(th_device(&S, u[i].device, u[i].unit, u[i].token));
    }
    for(int i = 0; i < K; i++)
        pthread_create(&th[i], NULL, upload_thread, &u[i]);
    for(int i = 0; i < K; i++)
        pthread_join(th[i], NULL);
    for(int i = 0; i < K; i++)
        assert_int_equal(u[i].ok, 4);
    assert_int_equal(n_ratings(), nr + K * 4 * 250);
}

/* ---- Tallies against an independent computation over the raw rows ---------------------------------------- */

#define MAX_UNITS 256

typedef struct {
    char code[PROTO_ID_MAX + 1], parent[PROTO_ID_MAX + 1];
} CsvUnit;

static CsvUnit units[MAX_UNITS];
static int n_units;

static void load_csv(void)
{
    FILE *f = fopen(TEST_SOURCE_DIR "/assets/units-gialai.csv", "r");
    assert_non_null(f);
    char line[512];
    n_units = 0;
    while(fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if(strncmp(line, "code,", 5) == 0 || !line[0])
            continue;
        char *c1 = strchr(line, ','), *c2 = strrchr(line, ',');
        assert_non_null(c1);
        *c1 = '\0';
        snprintf(units[n_units].code, sizeof units[n_units].code, "%.64s", line);
        snprintf(units[n_units].parent, sizeof units[n_units].parent, "%.64s", c2 + 1);
        n_units++;
    }
    fclose(f);
}

static const char *parent_of(const char *code)
{
    for(int i = 0; i < n_units; i++)
        if(strcmp(units[i].code, code) == 0)
            return units[i].parent;
    return NULL;
}

/* The unit whose row `code` counts in when asking by=unit under `top` ("" = roots); NULL when outside. */
static const char *row_unit(const char *code, const char *top)
{
    const char *cur = code, *below = NULL;
    for(int depth = 0; cur && *cur && depth < 32; depth++) {
        if(*top && strcmp(cur, top) == 0)
            return below ? below : cur;
        const char *p = parent_of(cur);
        if(!*top && p && !*p)
            return cur;
        below = cur;
        cur = p;
    }
    return NULL;
}

/* Own civil-day arithmetic (not ptime's). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The UTC instant of an RFC 3339 time as the test writes them. */
static int64_t unix_time(const char *at)
{
    int Y, M, D, hh, mm, ss, oh = 0, om = 0;
    char sign = 'Z';
    assert_true(sscanf(at, "%d-%d-%dT%d:%d:%d", &Y, &M, &D, &hh, &mm, &ss) == 6);
    const char *tz = at + 19;
    if(*tz != 'Z')
        assert_true(sscanf(tz, "%c%d:%d", &sign, &oh, &om) == 3);
    int64_t off = (sign == '-' ? -1 : sign == '+' ? 1 : 0) * (oh * 3600 + om * 60);
    return days_from_civil(Y, M, D) * 86400 + hh * 3600 + mm * 60 + ss - off;
}

/* The Gia Lai date (y, m, d) of an RFC 3339 time as the test writes them. */
static void local_date(const char *at, int *y, int *m, int *d)
{
    int Y = atoi(at);
    int64_t local = unix_time(at) + 7 * 3600;
    int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    /* back to a date: walk from the year guess */
    int yy = Y + 1;
    while(days_from_civil(yy, 1, 1) > day)
        yy--;
    int mo = 12;
    while(days_from_civil(yy, mo, 1) > day)
        mo--;
    *y = yy;
    *m = mo;
    *d = (int)(day - days_from_civil(yy, mo, 1)) + 1;
}

typedef struct {
    char unit[PROTO_ID_MAX + 1], area[32], scale[16], at[48];
    int  score, flagged;
} Raw;

typedef struct {
    char    key[200];
    int64_t n, sat, flagged;
} Expect;

static Raw *raws;
static size_t n_raws;

static void load_raw_rows(void)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(S.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT unit, area, scale, score, flagged, json_extract(body, '$.at'),"
                                        " received_at FROM ratings",
                                        -1, &st, NULL),
                     SQLITE_OK);
    free(raws);
    raws = NULL;
    n_raws = 0;
    size_t cap = 0;
    while(sqlite3_step(st) == SQLITE_ROW) {
        if(n_raws == cap) {
            cap = cap ? cap * 2 : 4096;
            raws = realloc(raws, cap * sizeof *raws);
        }
        /* A rating dated more than 10 minutes after its batch arrived is in no tally (a wrong clock; the data
         * spreads over this whole year, so some of it may lie ahead of today). */
        if(unix_time((const char *)sqlite3_column_text(st, 5)) > sqlite3_column_int64(st, 6) + 600)
            continue;
        Raw *r = &raws[n_raws++];
        snprintf(r->unit, sizeof r->unit, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(r->area, sizeof r->area, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(r->scale, sizeof r->scale, "%s", (const char *)sqlite3_column_text(st, 2));
        r->score = sqlite3_column_int(st, 3);
        r->flagged = sqlite3_column_int(st, 4);
        snprintf(r->at, sizeof r->at, "%s", (const char *)sqlite3_column_text(st, 5));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static bool area_in_group(const char *area, const char *group)
{
    if(strcmp(group, "tthc") == 0)
        return strcmp(area, "y_te") != 0 && strcmp(area, "giao_duc") != 0;
    if(strcmp(group, "dat_dai_xay_dung_dau_tu") == 0)
        return !strcmp(area, "dat_dai") || !strcmp(area, "xay_dung") || !strcmp(area, "dau_tu");
    return strcmp(area, group) == 0;
}

/* Recomputes a tally from the raw rows and compares every row with the API's. */
static void check_tally(const char *from, const char *to, const char *unit, const char *area, const char *by)
{
    static const char *const GROUPS[] = {"tthc", "dat_dai_xay_dung_dau_tu", "y_te", "giao_duc"};
    int fy, fm, fd, ty, tm, td;
    assert_true(sscanf(from, "%d-%d-%d", &fy, &fm, &fd) == 3 && sscanf(to, "%d-%d-%d", &ty, &tm, &td) == 3);
    int64_t f = days_from_civil(fy, fm, fd), t = days_from_civil(ty, tm, td);
    Expect *ex = calloc(20000, sizeof *ex);
    size_t n_ex = 0;
    char dims[64] = "";
    snprintf(dims, sizeof dims, "%s", by ? by : "");
    for(size_t i = 0; i < n_raws; i++) {
        const Raw *r = &raws[i];
        int y, m, d;
        local_date(r->at, &y, &m, &d);
        int64_t day = days_from_civil(y, m, d);
        if(day < f || day > t || (area && strcmp(area, r->area) != 0))
            continue;
        const char *ru = row_unit(r->unit, unit ? unit : "");
        if(!ru)
            continue;
        bool sat = strcmp(r->scale, "tthc3") == 0 ? r->score >= 2 : r->score >= 4;
        /* The keys this rating counts in: one per group when by has group, else one. */
        for(int g = 0; g < 4; g++) {
            char key[200] = "";
            bool has_group = false, skip = false;
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%s", dims);
            char *save;
            for(char *dim = strtok_r(tmp, ",", &save); dim; dim = strtok_r(NULL, ",", &save)) {
                char part[80];
                if(!strcmp(dim, "area")) snprintf(part, sizeof part, "%s", r->area);
                else if(!strcmp(dim, "unit")) snprintf(part, sizeof part, "%s", ru);
                else if(!strcmp(dim, "day")) snprintf(part, sizeof part, "%04d-%02d-%02d", y, m, d);
                else if(!strcmp(dim, "month")) snprintf(part, sizeof part, "%04d-%02d", y, m);
                else if(!strcmp(dim, "quarter")) snprintf(part, sizeof part, "%04d-Q%d", y, (m - 1) / 3 + 1);
                else if(!strcmp(dim, "half")) snprintf(part, sizeof part, "%04d-H%d", y, (m - 1) / 6 + 1);
                else if(!strcmp(dim, "year")) snprintf(part, sizeof part, "%04d", y);
                else {
                    has_group = true;
                    skip |= !area_in_group(r->area, GROUPS[g]);
                    snprintf(part, sizeof part, "%s", GROUPS[g]);
                }
                size_t len = strlen(key);
                snprintf(key + len, sizeof key - len, "%s%s", len ? "/" : "", part);
            }
            if(!by)
                snprintf(key, sizeof key, "%s", unit ? unit : "all");
            if(!skip) {
                size_t j = 0;
                while(j < n_ex && strcmp(ex[j].key, key) != 0)
                    j++;
                if(j == n_ex) {
                    assert_true(n_ex < 20000);
                    snprintf(ex[n_ex++].key, sizeof ex[0].key, "%s", key);
                }
                if(r->flagged)
                    ex[j].flagged++;
                else {
                    ex[j].n++;
                    ex[j].sat += sat;
                }
            }
            if(!has_group)
                break;
        }
    }
    char q[400];
    int len = snprintf(q, sizeof q, "from=%s&to=%s", from, to);
    if(unit)
        len += snprintf(q + len, sizeof q - (size_t)len, "&unit=%s", unit);
    if(area)
        len += snprintf(q + len, sizeof q - (size_t)len, "&area=%s", area);
    if(by)
        snprintf(q + len, sizeof q - (size_t)len, "&by=%s", by);
    json_t *reply = tally(q);
    json_t *rows = json_object_get(reply, "rows"), *row;
    size_t i, with_data = 0;
    json_array_foreach(rows, i, row) {
        json_int_t n = ival(row, "n"), fl = ival(row, "flagged");
        if(n + fl == 0)
            continue;
        with_data++;
        const char *key = sval(row, "key");
        size_t j = 0;
        while(j < n_ex && strcmp(ex[j].key, key) != 0)
            j++;
        if(j == n_ex)
            fprintf(stderr, "%s: unexpected row %s\n", q, key);
        assert_true(j < n_ex);
        if(ex[j].n != n || ex[j].sat != ival(row, "satisfied") || ex[j].flagged != fl)
            fprintf(stderr, "%s: row %s: api n=%lld sat=%lld fl=%lld, raw n=%lld sat=%lld fl=%lld\n", q, key,
                    (long long)n, (long long)ival(row, "satisfied"), (long long)fl, (long long)ex[j].n,
                    (long long)ex[j].sat, (long long)ex[j].flagged);
        assert_int_equal(n, ex[j].n);
        assert_int_equal(ival(row, "satisfied"), ex[j].sat);
        assert_int_equal(fl, ex[j].flagged);
        if(n) {
            double pct = json_real_value(json_object_get(row, "pct"));
            double want = 100.0 * (double)ex[j].sat / (double)n;
            assert_true(pct > want - 0.006 && pct < want + 0.006);
            double lo = json_real_value(json_object_get(row, "wilson_low"));
            double hi = json_real_value(json_object_get(row, "wilson_high"));
            assert_true(lo <= pct + 0.006 && hi >= pct - 0.006 && lo >= 0 && hi <= 100);
        }
    }
    size_t expected_with_data = 0;
    for(size_t j = 0; j < n_ex; j++)
        expected_with_data += ex[j].n + ex[j].flagged > 0;
    assert_int_equal(with_data, expected_with_data);
    json_decref(reply);
    free(ex);
}

static void test_tallies_match_an_independent_count_of_the_raw_rows(void **state)
{
    (void)state;
    /* A year of mixed traffic at six counters across the tree, both scales, some flagged, times written
     * with +07:00, Z and -05:00 offsets, uploaded in batches of up to 500. */
    struct { const char *device, *unit, *scale, *areas[3]; } kiosks[] = {
        {"t-mix-1", "000.00.31.H21.DEMO", "tthc3", {"dat_dai", "xay_dung", "dau_tu"}},
        {"t-mix-2", "000.01.21.H21.Q01", "tthc3", {"tu_phap_ho_tich", "lao_dong_xa_hoi", "khac"}},
        {"t-mix-3", "000.04.21.H21.Q01", "tthc3", {"dat_dai", "tu_phap_ho_tich", "khac"}},
        {"t-mix-4", "000.01.23.H21.Q01", "tthc3", {"dat_dai", "lao_dong_xa_hoi", "y_te"}},
        {"t-mix-5", "000.00.08.H21.BV01", "likert5", {"y_te", "y_te", "y_te"}},
        {"t-mix-6", "000.00.09.H21.Q01", "likert5", {"giao_duc", "giao_duc", "khac"}},
    };
    srand48(20261127);
    for(size_t k = 0; k < sizeof kiosks / sizeof kiosks[0]; k++) {
        char tok[65];
        assert_true(th_device(&S, kiosks[k].device, kiosks[k].unit, tok));
        int total = 600 + (int)(lrand48() % 400);
        ProtoRating *r = calloc((size_t)total, sizeof *r);
        bool likert = strcmp(kiosks[k].scale, "likert5") == 0;
        for(int i = 0; i < total; i++) {
            int doy = (int)(lrand48() % 365), hh = (int)(lrand48() % 24), mm = (int)(lrand48() % 60);
            int y, m, d;
            char at[48];
            int64_t day = days_from_civil(2026, 1, 1) + doy;
            y = 2026;
            m = 12;
            while(days_from_civil(y, m, 1) > day)
                m--;
            d = (int)(day - days_from_civil(y, m, 1)) + 1;
            int kind = (int)(lrand48() % 10);
            if(kind < 7)
                snprintf(at, sizeof at, "%04d-%02d-%02dT%02d:%02d:07+07:00", y, m, d, hh, mm);
            else if(kind < 9)
                snprintf(at, sizeof at, "%04d-%02d-%02dT%02d:%02d:07Z", y, m, d, hh, mm);
            else
                snprintf(at, sizeof at, "%04d-%02d-%02dT%02d:%02d:07-05:00", y, m, d, hh, mm);
            int score = 1 + (int)(lrand48() % (likert ? 5 : 3));
            if(lrand48() % 4) /* mostly satisfied, as at real counters */
                score = likert ? 4 + (int)(lrand48() % 2) : 2 + (int)(lrand48() % 2);
            r[i] = rating(kiosks[k].unit, kiosks[k].areas[lrand48() % 3], kiosks[k].scale, score, at,
                          lrand48() % 25 == 0);
        }
        for(int off = 0; off < total; off += 500) {
            int n = total - off < 500 ? total - off : 500;
            char *body = batch(kiosks[k].device, r + off, (size_t)n);
            json_decref(post_ok(tok, body, n, 0, 0));
            free(body);
        }
        free(r);
    }
    load_csv();
    load_raw_rows();
    assert_true(n_raws > 3600);
    check_tally("2026-01-01", "2026-12-31", NULL, NULL, NULL);
    check_tally("2025-01-01", "2026-12-31", NULL, NULL, "year");
    check_tally("2026-01-01", "2026-12-31", NULL, NULL, "area");
    check_tally("2026-01-01", "2026-12-31", NULL, NULL, "group");
    check_tally("2026-01-01", "2026-12-31", NULL, NULL, "month");
    check_tally("2026-01-01", "2026-12-31", NULL, NULL, "quarter");
    check_tally("2026-01-01", "2026-12-31", NULL, NULL, "half");
    check_tally("2026-01-01", "2026-12-31", "000.00.00.H21", NULL, "unit");
    check_tally("2026-01-01", "2026-12-31", "000.00.00.H21", NULL, "unit,area");
    check_tally("2026-01-01", "2026-12-31", "000.00.21.H21", NULL, "unit,area");
    check_tally("2026-01-01", "2026-12-31", "000.00.23.H21", "dat_dai", "unit");
    check_tally("2026-03-15", "2026-08-20", "000.00.21.H21", NULL, "day");
    /* Ragged ends (monthly roll-up for whole months, daily for the rest) and ranges inside one month. */
    check_tally("2026-03-15", "2026-08-20", NULL, NULL, "unit,area");
    check_tally("2026-01-31", "2026-03-01", NULL, NULL, "area,month");
    check_tally("2026-02-01", "2026-02-28", NULL, NULL, "group");
    check_tally("2026-02-10", "2026-02-20", NULL, NULL, "area");
    check_tally("2026-04-30", "2026-05-01", NULL, NULL, NULL);
    check_tally("2026-12-01", "2026-12-31", "000.00.00.H21", NULL, "unit");
    check_tally("2026-01-01", "2026-12-31", "000.00.31.H21", NULL, "group,quarter");
    check_tally("2025-01-01", "2025-12-31", NULL, NULL, "unit,month"); /* the other tests' data */
    free(raws);
    raws = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_ratings_are_accepted_and_a_replayed_batch_counts_as_duplicates),
        cmocka_unit_test(test_same_id_with_other_content_is_a_conflict_and_keeps_the_original),
        cmocka_unit_test(test_bad_items_are_rejected_alone_and_the_good_ones_stored),
        cmocka_unit_test(test_every_refusal_has_its_status_and_stores_nothing),
        cmocka_unit_test(test_a_length_over_the_cap_is_refused_before_the_body_is_sent),
        cmocka_unit_test(test_a_revoked_device_is_refused),
        cmocka_unit_test(test_both_milestones_are_judged_from_counts),
        cmocka_unit_test(test_too_few_ratings_are_chua_du_mau),
        cmocka_unit_test(test_flagged_ratings_are_left_out_of_n_and_counted_apart),
        cmocka_unit_test(test_the_day_turns_at_17_00_utc),
        cmocka_unit_test(test_a_unit_counts_its_whole_subtree),
        cmocka_unit_test(test_tally_needs_a_viewer_token_and_a_well_formed_query),
        cmocka_unit_test(test_a_burst_of_malformed_requests_leaves_the_server_serving),
        cmocka_unit_test(test_kiosks_uploading_at_once_lose_nothing),
        cmocka_unit_test(test_tallies_match_an_independent_count_of_the_raw_rows),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
