/* sync_fault.c — the uploader under network faults, end to end.
 *
 * Kiosk stores → the real kiosk-sync → the fault proxy (tests/fault/proxy.c) → the real tally-server. The
 * proxy meets most requests with a random fault (refused, reset, lost reply, reply held past the timeout,
 * 500/502, truncated reply, captive-portal HTML). kiosk-sync runs again and again, several kiosks at once,
 * until at least MIN_FAULTS faults have hit and at least MIN_BATCHES batches have got through; then a clean
 * run delivers the rest. Afterwards every rating of every store is on the server exactly once: the tally
 * equals an independent count (nothing counted twice), and re-posting every rating comes back all
 * "duplicate" (everything there, with the same content). Every kiosk-sync exit code is checked against the
 * store: 0 exactly when nothing is left pending. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "proxy.h"
#include "sync_harness.h"

#define STORES 16
#define PER_STORE 200           /* 40 batches of 5 per store: far more than the fault phase gets through */
#define BATCH 5
#define MIN_FAULTS 500
#define MIN_BATCHES 300
#define PARALLEL 4              /* kiosk-sync processes at once */
#define FAULT_PERCENT 60
#define TIMEOUT_MS "600"
#define DELAY_MS 900            /* "delay" holds a reply past the client's timeout */
#define MAX_RUNS 6000           /* a bound so a bug cannot loop forever */

static ThKiosk k[STORES];
static char token[STORES][256];
static ProtoRating ratings[STORES][PER_STORE];

static int64_t acked_total(void)
{
    int64_t n = 0;
    for(int i = 0; i < STORES; i++)
        n += th_store_counts(&k[i]).acked;
    return n;
}

static bool fault_phase_done(void *ctx)
{
    Proxy *px = ctx;
    static int64_t last_check_faults = -1;
    uint64_t f = proxy_faults(px);
    if(f < MIN_FAULTS)
        return false;
    if((int64_t)f == last_check_faults)
        return false;
    last_check_faults = (int64_t)f;
    return acked_total() / BATCH >= MIN_BATCHES;
}

static bool never(void *ctx)
{
    (void)ctx;
    return false;
}

static void test_every_rating_arrives_exactly_once_through_faults(void **state)
{
    (void)state;
    char dir[TH_PATH];
    ThServer srv;
    assert_true(th_tmpdir(dir, "sync_fault"));
    assert_true(th_server_init(&srv, dir));
    assert_true(th_server_unit(&srv, "G01.F", "G01"));
    assert_true(th_server_start(&srv));
    const char *port_s = strrchr(srv.url, ':');
    assert_non_null(port_s);

    Proxy *px;
    uint16_t pport;
    ProxyOptions po = {.upstream_port = (uint16_t)atoi(port_s + 1), .seed = 20261127, .fault_percent = FAULT_PERCENT,
                       .delay_ms = DELAY_MS};
    assert_int_equal(proxy_start(&po, &px, &pport), 0);
    char purl[64];
    snprintf(purl, sizeof purl, "http://127.0.0.1:%u", pport);

    ThCount want = {0};
    for(int i = 0; i < STORES; i++) {
        char unit[32], id[32], kdir[TH_PATH];
        snprintf(unit, sizeof unit, "G01.F.Q%d", i);
        snprintf(id, sizeof id, "kiosk-f%02d", i);
        snprintf(kdir, sizeof kdir, "%.200s/%s", dir, id);
        assert_int_equal(mkdir(kdir, 0700), 0);
        assert_true(th_server_unit(&srv, unit, "G01.F"));
        assert_true(th_server_device(&srv, id, unit, token[i], sizeof token[i]));
        ProtoScale scale = i % 2 ? SCALE_LIKERT5 : SCALE_TTHC3;
        assert_true(th_kiosk_make(&k[i], kdir, id, unit, scale, purl, token[i]));
        th_make_ratings(ratings[i], PER_STORE, unit, scale, 500 + (uint64_t)i);
        assert_true(th_store_ratings(&k[i], ratings[i], PER_STORE));
        th_count_add(&want, ratings[i], PER_STORE);
    }

    /* Faulty network. */
    const char *faulty[] = {"--batch-size", "5", "--timeout-ms", TIMEOUT_MS, "--connect-timeout-ms", TIMEOUT_MS,
                            NULL};
    int runs = th_kiosk_rounds(k, STORES, PER_STORE, BATCH, PARALLEL, faulty, fault_phase_done, px, MAX_RUNS);
    assert_true(runs >= 0);
    uint64_t counts[PF_COUNT];
    proxy_counts(px, counts);
    int64_t batches = acked_total() / BATCH;
    fprintf(stderr, "fault phase: %d kiosk-sync runs, %lld batches applied, %llu faults:", runs, (long long)batches,
            (unsigned long long)proxy_faults(px));
    for(int f = 0; f < PF_COUNT; f++)
        fprintf(stderr, " %s=%llu", proxy_fault_name((ProxyFault)f), (unsigned long long)counts[f]);
    fputc('\n', stderr);
    assert_true(proxy_faults(px) >= MIN_FAULTS);
    assert_true(batches >= MIN_BATCHES);
    for(int f = PF_CLEAN + 1; f < PF_COUNT; f++)
        if(counts[f] == 0)
            fail_msg("fault %s never happened", proxy_fault_name((ProxyFault)f));
    assert_true(acked_total() < STORES * PER_STORE); /* the clean run below has work to do */

    /* Clean network: one more round finishes every store. */
    proxy_set_fault_percent(px, 0);
    const char *clean[] = {"--batch-size", "5", NULL};
    assert_true(th_kiosk_rounds(k, STORES, PER_STORE, BATCH, PARALLEL, clean, never, NULL, MAX_RUNS) >= 0);
    for(int i = 0; i < STORES; i++) {
        StoreCounts c = th_store_counts(&k[i]);
        assert_int_equal(c.pending, 0);
        assert_int_equal(c.acked, PER_STORE);
        assert_int_equal(c.rejected, 0);
    }

    /* The lost-reply cases really happened and ended as duplicates: kiosk-sync logs each applied batch's
     * "N accepted, M duplicate". */
    long long dup_total = 0;
    for(int i = 0; i < STORES; i++) {
        FILE *fp = fopen(k[i].log, "r");
        assert_non_null(fp);
        char line[1024];
        while(fgets(line, sizeof line, fp)) {
            const char *p = strstr(line, " accepted, ");
            long long d;
            if(p && sscanf(p, " accepted, %lld duplicate", &d) == 1)
                dup_total += d;
        }
        fclose(fp);
    }
    fprintf(stderr, "ratings the server reported as duplicate (resent after a lost reply): %lld\n", dup_total);
    assert_true(dup_total >= 10 * BATCH); /* at least ten lost replies resolved as duplicates */

    /* Exactly once: nothing double counted, nothing missing, nothing altered. */
    ThCount got;
    assert_true(th_server_tally(&srv, &got));
    assert_true(th_count_equal(&want, &got));
    for(int i = 0; i < STORES; i++) {
        int64_t acc, dup, rej;
        assert_true(th_replay(&srv, k[i].device_id, token[i], ratings[i], PER_STORE, &acc, &dup, &rej));
        assert_int_equal(acc, 0);
        assert_int_equal(dup, PER_STORE);
        assert_int_equal(rej, 0);
    }
    proxy_stop(px);
    th_server_stop(&srv);
    if(!getenv("SYNC_TEST_KEEP")) th_rmtree(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_rating_arrives_exactly_once_through_faults),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
