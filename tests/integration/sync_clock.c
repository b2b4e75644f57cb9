/* sync_clock.c — kiosks with wrong clocks do not pollute the figures (docs/protocol.md, "Wrong device clocks").
 *
 * Three kiosks upload with the real kiosk-sync: one with a right clock, one whose clock is a year ahead (its
 * ratings and its sent_at a year in the future), one whose clock fell back to 1970 (a lost RTC). Every batch
 * is answered 200 and every rating leaves the kiosks (accepted: the kiosk stops resending it), but only the
 * right clock's ratings are in any tally, from 1970 to 9999; the other two are counted per device as
 * wrong-clock ratings in `tally-admin device list`, with the skew measured; a replay of them is all duplicate
 * and changes nothing. */
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
#include <jansson.h>

#include "sync_harness.h"

#define PER_KIOSK 30
#define YEAR_S (365LL * 86400)

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
    char *buf = ud;
    size_t have = strlen(buf), n = size * nmemb;
    if(have + n < 8192) {
        memcpy(buf + have, data, n);
        buf[have + n] = '\0';
    }
    return n;
}

/* n + flagged over every day a tally can ask for, for one unit. */
static int64_t tally_everything(const ThServer *s, const char *unit)
{
    char url[512], auth[300], out[8192] = "";
    snprintf(url, sizeof url, "%s/api/v1/tally?from=1970-01-01&to=9999-12-31&unit=%s&min_n=1", s->url, unit);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->viewer);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    json_t *o = json_loads(out, 0, NULL);
    json_t *row = json_array_get(json_object_get(o, "rows"), 0);
    assert_non_null(row);
    int64_t total = json_integer_value(json_object_get(row, "n")) + json_integer_value(json_object_get(row, "flagged"));
    json_decref(o);
    return total;
}

static void test_a_year_ahead_and_1970_are_quarantined_not_filed(void **state)
{
    (void)state;
    char dir[TH_PATH];
    ThServer srv;
    assert_true(th_tmpdir(dir, "sync_clock"));
    assert_true(th_server_init(&srv, dir));
    static const struct { const char *id, *unit; int64_t offset; } K[3] = {
        {"kiosk-right", "G01.Q1", 0}, {"kiosk-ahead", "G01.Q2", YEAR_S}, {"kiosk-1970", "G01.Q3", 0}};
    static ThKiosk k[3];
    static char token[3][256];
    static ProtoRating r[3][PER_KIOSK];
    int64_t now = (int64_t)time(NULL);
    for(int i = 0; i < 3; i++) {
        char kdir[TH_PATH];
        snprintf(kdir, sizeof kdir, "%.200s/%s", dir, K[i].id);
        assert_int_equal(mkdir(kdir, 0700), 0);
        assert_true(th_server_unit(&srv, K[i].unit, "G01"));
        assert_true(th_server_device(&srv, K[i].id, K[i].unit, token[i], sizeof token[i]));
        assert_true(th_kiosk_make(&k[i], kdir, K[i].id, K[i].unit, SCALE_TTHC3, "http://127.0.0.1:1", token[i]));
        th_make_ratings(r[i], PER_KIOSK, K[i].unit, SCALE_TTHC3, 900 + (uint64_t)i);
        /* Each kiosk stamps its ratings with its own clock: the last hours before "now" as it sees it. */
        int64_t base = i == 0 ? now : i == 1 ? now + YEAR_S : 86400 * 2;
        for(int j = 0; j < PER_KIOSK; j++)
            ptime_format(base - 3600 + j * 60, PTIME_VN_OFFSET_MIN, r[i][j].at);
        assert_true(th_store_ratings(&k[i], r[i], PER_KIOSK));
    }
    assert_true(th_server_start(&srv));
    for(int i = 0; i < 3; i++) {
        assert_true(th_kiosk_make(&k[i], k[i].dir, k[i].device_id, k[i].unit, k[i].scale, srv.url, token[i]));
        char offset[32];
        snprintf(offset, sizeof offset, "%lld", (long long)(i == 0 ? 0 : i == 1 ? YEAR_S : 86400 * 2 - now));
        const char *extra[] = {"--clock-offset-s", offset, NULL};
        int rc = th_kiosk_sync(&k[i], extra);
        if(rc)
            th_kiosk_dump_log(&k[i]);
        assert_int_equal(rc, 0);
        StoreCounts c = th_store_counts(&k[i]);
        assert_int_equal(c.pending, 0);
        assert_int_equal(c.acked, PER_KIOSK);
        assert_int_equal(c.rejected, 0);
    }
    /* Only the right clock's ratings are in the figures, whatever range is asked. */
    assert_int_equal(tally_everything(&srv, "G01.Q1"), PER_KIOSK);
    assert_int_equal(tally_everything(&srv, "G01.Q2"), 0);
    assert_int_equal(tally_everything(&srv, "G01.Q3"), 0);
    /* ... and counted per device, with the skew measured. */
    char out[4096];
    const char *argv[] = {TALLY_ADMIN_BIN, "--db", srv.db, "device", "list", NULL};
    assert_int_equal(th_run(argv, out, sizeof out), 0);
    fprintf(stderr, "%s\n", out);
    for(int i = 0; i < 3; i++) {
        char *line = strstr(out, K[i].id);
        assert_non_null(line);
        char *eol = strchr(line, '\n');
        if(eol)
            *eol = '\0';
        long long q = atoll(strrchr(line, ' ') + 1);
        assert_int_equal(q, i == 0 ? 0 : PER_KIOSK);
        char *skew = strstr(line, i == 1 ? " +" : " -");
        if(i)
            assert_true(skew && llabs(atoll(skew + 1)) > 3600);
        if(eol)
            *eol = '\n';
    }
    /* Replayed: duplicates, and still in no tally. */
    for(int i = 1; i < 3; i++) {
        int64_t acc, dup, rej;
        assert_true(th_replay(&srv, k[i].device_id, token[i], r[i], PER_KIOSK, &acc, &dup, &rej));
        assert_int_equal(acc, 0);
        assert_int_equal(dup, PER_KIOSK);
        assert_int_equal(rej, 0);
    }
    assert_int_equal(tally_everything(&srv, "G01.Q2"), 0);
    assert_int_equal(tally_everything(&srv, "G01.Q3"), 0);
    th_server_stop(&srv);
    th_rmtree(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_a_year_ahead_and_1970_are_quarantined_not_filed)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
