/* tally_load.c — the nightly peak, bounded and on loopback: 3,300 devices post one batch of 100 ratings each
 * over 1,000 connections at once (tests/integration/loadgen.c), while 8 real kiosk-sync processes upload too.
 *
 * Nothing is lost or counted twice (the database holds exactly every rating once, and the replies add up to
 * that); every refusal is a 503 with Retry-After (no other error, no dropped connection); /healthz, asked every
 * 100 ms throughout, always answers within 1 s; every kiosk-sync finishes with exit 0, having waited out the
 * Retry-After it was given. The figures (p50/p99, peak RSS, throughput) are bench/load's, not this test's. */
#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "loadgen.h"
#include "sync_harness.h"

#define DEVICES 3300
#define PER_BATCH 100
#define CONNECTIONS 1000
#define COUNTERS 40
#define KIOSKS 8
#define PER_KIOSK 300

static ThKiosk k[KIOSKS];
static pid_t pid[KIOSKS];

/* The kiosks start at the first 503 of the flood, when the writer's queue is full, and post small batches
 * (thirty round trips each), so they meet the full queue. */
static void start_kiosks(void *ctx)
{
    (void)ctx;
    const char *extra[] = {"--batch-size", "10", NULL};
    for(int i = 0; i < KIOSKS; i++)
        pid[i] = th_kiosk_sync_spawn(&k[i], extra);
}

static void test_the_nightly_peak_loses_nothing_and_health_answers(void **state)
{
    (void)state;
    lg_raise_nofile();
    char dir[TH_PATH];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_load"));
    assert_true(th_server_init(&srv, dir));
    static char tokens[DEVICES][65];
    static LgJob jobs[DEVICES];
    assert_true(lg_make_province(srv.db, COUNTERS, DEVICES, PER_BATCH, tokens, jobs));
    /* And 8 real kiosks. */
    static char ktoken[KIOSKS][256];
    static ProtoRating kr[KIOSKS][PER_KIOSK];
    ThCount want = {0};
    for(int i = 0; i < KIOSKS; i++) {
        char id[32], unit[32], kdir[TH_PATH];
        snprintf(id, sizeof id, "kiosk-%d", i);
        snprintf(unit, sizeof unit, "G01.Q%02d", i);
        snprintf(kdir, sizeof kdir, "%.200s/%s", dir, id);
        assert_int_equal(mkdir(kdir, 0700), 0);
        assert_true(th_server_device(&srv, id, unit, ktoken[i], sizeof ktoken[i]));
        assert_true(th_kiosk_make(&k[i], kdir, id, unit, SCALE_TTHC3, "http://127.0.0.1:1", ktoken[i]));
        th_make_ratings(kr[i], PER_KIOSK, unit, SCALE_TTHC3, 90 + (uint64_t)i);
        assert_true(th_store_ratings(&k[i], kr[i], PER_KIOSK));
        th_count_add(&want, kr[i], PER_KIOSK);
    }
    assert_true(th_server_start(&srv));
    for(int i = 0; i < KIOSKS; i++)
        assert_true(th_kiosk_make(&k[i], k[i].dir, k[i].device_id, k[i].unit, k[i].scale, srv.url, ktoken[i]));

    LgRun run = {.port = atoi(strrchr(srv.url, ':') + 1), .connections = CONNECTIONS, .per_address = 10,
                 .jobs = jobs, .n_jobs = DEVICES, .give_up_s = 240};
    run.on_first_busy = start_kiosks;
    assert_true(lg_run(&run));
    int kiosk_failed = 0, kiosk_waited = 0;
    for(int i = 0; i < KIOSKS; i++) {
        assert_true(pid[i] > 0);
        int rc = th_wait(pid[i]);
        if(rc) {
            th_kiosk_dump_log(&k[i]);
            kiosk_failed++;
        }
        kiosk_waited += th_file_contains(k[i].log, "asked to come back");
    }
    fprintf(stderr, "load: %zu/%d batches in %.1f s; replies 2xx %lld, 4xx %lld, 5xx %lld (503: %lld, without "
                    "Retry-After %lld); connection errors %lld; /healthz %lld checks, slowest %.0f ms, %lld failed; "
                    "%d of %d kiosk-sync waited out a Retry-After\n",
            run.done, DEVICES, run.elapsed_s, (long long)run.status[2], (long long)run.status[4],
            (long long)run.status[5], (long long)run.by_code[503], (long long)run.busy_without_retry_after,
            (long long)run.conn_errors, (long long)run.health_checks, run.health_max_ms,
            (long long)run.health_failures, kiosk_waited, KIOSKS);
    assert_int_equal(run.done, DEVICES);                    /* every batch answered 200 in the end */
    assert_int_equal(run.accepted, (int64_t)DEVICES * PER_BATCH);
    assert_int_equal(run.duplicate, 0);
    assert_int_equal(run.rejected, 0);
    assert_int_equal(run.status[4] + run.status[5], run.by_code[503]); /* every refusal a 503 ... */
    assert_int_equal(run.busy_without_retry_after, 0);     /* ... with Retry-After */
    assert_int_equal(run.conn_errors, 0);
    assert_true(run.health_checks > 10);
    assert_int_equal(run.health_failures, 0);
    assert_true(run.health_max_ms < 1000);
    assert_int_equal(kiosk_failed, 0);
    assert_true(kiosk_waited >= 1); /* the kiosks met the full queue too, and finished by waiting as asked */
    /* Exactly once: the file holds every rating of the load and of the kiosks, no more. */
    sqlite3 *rdb;
    assert_int_equal(sqlite3_open_v2(srv.db, &rdb, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(rdb, "SELECT count(*), count(DISTINCT id) FROM ratings", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), (int64_t)DEVICES * PER_BATCH + KIOSKS * PER_KIOSK);
    assert_int_equal(sqlite3_column_int64(st, 1), (int64_t)DEVICES * PER_BATCH + KIOSKS * PER_KIOSK);
    sqlite3_finalize(st);
    sqlite3_close(rdb);
    for(int i = 0; i < KIOSKS; i++) {
        StoreCounts c = th_store_counts(&k[i]);
        assert_int_equal(c.pending, 0);
        assert_int_equal(c.acked, PER_KIOSK);
    }
    lg_free_jobs(jobs, DEVICES);
    free(run.latency_ms);
    th_server_stop(&srv);
    th_rmtree(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_the_nightly_peak_loses_nothing_and_health_answers)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
