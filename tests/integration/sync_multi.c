/* sync_multi.c — many kiosks at once: 20 stores, each with its own device and token, run kiosk-sync at the
 * same moment against one tally-server. Every one must finish with everything accepted (a busy database
 * on the server must queue, not refuse), and the tally must equal an independent count of every rating. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "sync_harness.h"

#define KIOSKS 20
#define PER_KIOSK 400
#define BATCH "40" /* small batches: ten per kiosk, so the uploads really interleave */

static void test_twenty_kiosks_upload_at_once_and_nothing_is_lost(void **state)
{
    (void)state;
    char dir[TH_PATH];
    ThServer srv;
    assert_true(th_tmpdir(dir, "sync_multi"));
    assert_true(th_server_init(&srv, dir));
    /* Four districts, five counters each. */
    for(int d = 0; d < 4; d++) {
        char code[32];
        snprintf(code, sizeof code, "G01.D%d", d);
        assert_true(th_server_unit(&srv, code, "G01"));
    }
    static ThKiosk k[KIOSKS];
    static char token[KIOSKS][256];
    static ProtoRating r[KIOSKS][PER_KIOSK];
    ThCount want = {0};
    for(int i = 0; i < KIOSKS; i++) {
        char unit[32], parent[32], id[32], kdir[TH_PATH];
        snprintf(parent, sizeof parent, "G01.D%d", i % 4);
        snprintf(unit, sizeof unit, "G01.D%d.Q%d", i % 4, i);
        snprintf(id, sizeof id, "kiosk-%02d", i);
        snprintf(kdir, sizeof kdir, "%.200s/%s", dir, id);
        assert_int_equal(mkdir(kdir, 0700), 0);
        assert_true(th_server_unit(&srv, unit, parent));
        assert_true(th_server_device(&srv, id, unit, token[i], sizeof token[i]));
        ProtoScale scale = i % 3 == 0 ? SCALE_LIKERT5 : SCALE_TTHC3;
        assert_true(th_kiosk_make(&k[i], kdir, id, unit, scale, "http://127.0.0.1:1", token[i]));
        th_make_ratings(r[i], PER_KIOSK, unit, scale, 100 + (uint64_t)i);
        assert_true(th_store_ratings(&k[i], r[i], PER_KIOSK));
        th_count_add(&want, r[i], PER_KIOSK);
    }
    assert_true(th_server_start(&srv));
    for(int i = 0; i < KIOSKS; i++) /* now that the port is known */
        assert_true(th_kiosk_make(&k[i], k[i].dir, k[i].device_id, k[i].unit, k[i].scale, srv.url, token[i]));

    const char *extra[] = {"--batch-size", BATCH, NULL};
    pid_t pid[KIOSKS];
    for(int i = 0; i < KIOSKS; i++) {
        pid[i] = th_kiosk_sync_spawn(&k[i], extra);
        assert_true(pid[i] > 0);
    }
    int failed = 0;
    for(int i = 0; i < KIOSKS; i++) {
        int rc = th_wait(pid[i]);
        if(rc != 0) {
            fprintf(stderr, "kiosk-%02d: kiosk-sync exit %d\n", i, rc);
            th_kiosk_dump_log(&k[i]);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
    for(int i = 0; i < KIOSKS; i++) {
        StoreCounts c = th_store_counts(&k[i]);
        assert_int_equal(c.pending, 0);
        assert_int_equal(c.acked, PER_KIOSK);
        assert_int_equal(c.rejected, 0);
    }
    ThCount got;
    assert_true(th_server_tally(&srv, &got));
    assert_true(th_count_equal(&want, &got));
    /* And each kiosk's ratings are there with exactly their content. */
    for(int i = 0; i < KIOSKS; i++) {
        int64_t acc, dup, rej;
        assert_true(th_replay(&srv, k[i].device_id, token[i], r[i], PER_KIOSK, &acc, &dup, &rej));
        assert_int_equal(acc, 0);
        assert_int_equal(dup, PER_KIOSK);
        assert_int_equal(rej, 0);
    }
    th_server_stop(&srv);
    th_rmtree(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twenty_kiosks_upload_at_once_and_nothing_is_lost),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
