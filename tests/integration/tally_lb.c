/* tally_lb.c — the kiosk side of tests/lb/three-instances (issue 14): 20 kiosks upload through the fault
 * proxy (tests/fault/proxy.c) to nginx, which balances three tally-server instances on one PostgreSQL
 * database. The script starts the cluster, the instances and nginx, and kills one instance (SIGKILL) and
 * restarts it while this program uploads; it passes the paths of two marker files: LB_UPLOADING (this program
 * creates it when the faulty uploads begin: the script's cue to kill) and LB_RESTARTED (the script creates it
 * once the instance is back). The faulty phase lasts until enough faults and batches have happened and
 * BATCHES_AFTER more batches have been applied after the restart; then a clean run delivers the rest.
 * Afterwards every rating is on the server exactly once: the tally (read through nginx) equals an independent
 * count, and re-posting every rating comes back all "duplicate".
 * Environment: LB_URL (http://127.0.0.1:PORT, nginx), LB_DB (the postgresql:// URI, for tally-admin),
 * LB_DIR (a folder for the kiosks), LB_UPLOADING, LB_RESTARTED. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy.h"
#include "sync_harness.h"

#define KIOSKS 20
#define PER_KIOSK 150      /* 30 batches of 5 per kiosk */
#define BATCH 5
#define PARALLEL 10        /* kiosk-sync processes at once (two cores) */
#define MIN_FAULTS 150
#define MIN_BATCHES 150
#define BATCHES_AFTER 30   /* applied after the killed instance is back */
#define FAULT_PERCENT 50
#define TIMEOUT_MS "1500"
#define DELAY_MS 1800      /* "delay" holds a reply past the client's timeout */
#define MAX_SECONDS 200    /* bounds so a bug cannot loop forever */
#define MAX_RUNS 6000

static ThKiosk k[KIOSKS];
static char token[KIOSKS][256];
static ProtoRating ratings[KIOSKS][PER_KIOSK];
static const char *restarted_mark;
static time_t started;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if(!v || !*v)
        fail_msg("%s is not set (run through tests/lb/three-instances)", name);
    return v;
}

static int64_t acked_total(void)
{
    int64_t n = 0;
    for(int i = 0; i < KIOSKS; i++)
        n += th_store_counts(&k[i]).acked;
    return n;
}

/* The faulty phase ends once enough faults and batches have happened, BATCHES_AFTER of them after the killed
 * instance came back (or at the time bound, which the test then fails). */
static bool faulty_phase_done(void *ctx)
{
    Proxy *px = ctx;
    if(time(NULL) - started > MAX_SECONDS)
        return true;
    static int64_t at_restart = -1;
    int64_t batches = acked_total() / BATCH;
    if(at_restart < 0) {
        if(access(restarted_mark, F_OK) != 0)
            return false;
        at_restart = batches;
        fprintf(stderr, "the killed instance is back: %lld batches applied so far\n", (long long)batches);
    }
    return proxy_faults(px) >= MIN_FAULTS && batches >= MIN_BATCHES && batches - at_restart >= BATCHES_AFTER;
}

static bool never(void *ctx)
{
    (void)ctx;
    return false;
}

static void test_twenty_kiosks_through_nginx_and_faults_while_an_instance_restarts(void **state)
{
    (void)state;
    const char *url = env("LB_URL"), *db = env("LB_DB"), *dir = env("LB_DIR");
    const char *uploading_mark = env("LB_UPLOADING");
    restarted_mark = env("LB_RESTARTED");
    ThServer srv; /* no process of its own: s->url is nginx, s->db the shared database */
    assert_true(th_server_init_db(&srv, dir, db));
    snprintf(srv.url, sizeof srv.url, "%s", url);
    assert_true(th_server_unit(&srv, "G01.L", "G01"));

    Proxy *px;
    uint16_t pport;
    const char *port_s = strrchr(url, ':');
    assert_non_null(port_s);
    ProxyOptions po = {.upstream_port = (uint16_t)atoi(port_s + 1), .seed = 20261129,
                       .fault_percent = FAULT_PERCENT, .delay_ms = DELAY_MS};
    assert_int_equal(proxy_start(&po, &px, &pport), 0);
    char purl[64];
    snprintf(purl, sizeof purl, "http://127.0.0.1:%u", pport);

    ThCount want = {0};
    for(int i = 0; i < KIOSKS; i++) {
        char unit[32], id[32], kdir[TH_PATH];
        snprintf(unit, sizeof unit, "G01.L.Q%d", i);
        snprintf(id, sizeof id, "kiosk-lb%02d", i);
        snprintf(kdir, sizeof kdir, "%.200s/%s", dir, id);
        assert_int_equal(mkdir(kdir, 0700), 0);
        assert_true(th_server_unit(&srv, unit, "G01.L"));
        assert_true(th_server_device(&srv, id, unit, token[i], sizeof token[i]));
        ProtoScale scale = i % 2 ? SCALE_LIKERT5 : SCALE_TTHC3;
        assert_true(th_kiosk_make(&k[i], kdir, id, unit, scale, purl, token[i]));
        th_make_ratings(ratings[i], PER_KIOSK, unit, scale, 900 + (uint64_t)i);
        assert_true(th_store_ratings(&k[i], ratings[i], PER_KIOSK));
        th_count_add(&want, ratings[i], PER_KIOSK);
    }

    FILE *m = fopen(uploading_mark, "w");
    assert_non_null(m);
    fclose(m);
    started = time(NULL);
    const char *faulty[] = {"--batch-size", "5", "--timeout-ms", TIMEOUT_MS, "--connect-timeout-ms", TIMEOUT_MS,
                            NULL};
    assert_true(th_kiosk_rounds(k, KIOSKS, PER_KIOSK, BATCH, PARALLEL, faulty, faulty_phase_done, px, MAX_RUNS) >= 0);
    uint64_t counts[PF_COUNT];
    proxy_counts(px, counts);
    int64_t batches = acked_total() / BATCH;
    fprintf(stderr, "faulty phase: %ld s, %lld batches applied, %llu faults:", (long)(time(NULL) - started),
            (long long)batches, (unsigned long long)proxy_faults(px));
    for(int f = 0; f < PF_COUNT; f++)
        fprintf(stderr, " %s=%llu", proxy_fault_name((ProxyFault)f), (unsigned long long)counts[f]);
    fputc('\n', stderr);
    assert_true(time(NULL) - started <= MAX_SECONDS); /* ended by enough faults and batches, not the bound */
    assert_true(acked_total() < KIOSKS * PER_KIOSK); /* the clean run below has work to do */

    proxy_set_fault_percent(px, 0);
    const char *clean[] = {"--batch-size", "5", NULL};
    assert_true(th_kiosk_rounds(k, KIOSKS, PER_KIOSK, BATCH, PARALLEL, clean, never, NULL, MAX_RUNS) >= 0);
    for(int i = 0; i < KIOSKS; i++) {
        StoreCounts c = th_store_counts(&k[i]);
        assert_int_equal(c.pending, 0);
        assert_int_equal(c.acked, PER_KIOSK);
        assert_int_equal(c.rejected, 0);
    }
    proxy_stop(px);

    /* Exactly once: the tally through nginx equals the independent count; every rating is there unaltered. */
    ThCount got;
    assert_true(th_server_tally(&srv, &got));
    assert_true(th_count_equal(&want, &got));
    int64_t dup_total = 0;
    for(int i = 0; i < KIOSKS; i++) {
        int64_t acc, dup, rej;
        assert_true(th_replay(&srv, k[i].device_id, token[i], ratings[i], PER_KIOSK, &acc, &dup, &rej));
        assert_int_equal(acc, 0);
        assert_int_equal(dup, PER_KIOSK);
        assert_int_equal(rej, 0);
        dup_total += dup;
    }
    fprintf(stderr, "%d ratings from %d kiosks: tally equals the independent count; replayed, all %lld duplicate\n",
            KIOSKS * PER_KIOSK, KIOSKS, (long long)dup_total);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twenty_kiosks_through_nginx_and_faults_while_an_instance_restarts),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
