/* A tally reads one snapshot of the file, however many batches commit while it runs.
 *
 * A writer thread stores batches of exactly two ratings: one on a day inside a whole month of the asked range
 * (read from the monthly roll-up) and one on a day of its ragged end (read from the daily roll-up). Every
 * consistent tally therefore has an even n. Meanwhile the test runs the tally over and over on its own
 * connection: without one read transaction around the tally's statements, a batch committed between the
 * monthly read and the daily read shows up as an odd n.
 *
 * The report model reads more statements still (targets, the unit tree, monthly_sat and daily counts, the
 * devices): one read transaction per report, so its period total is even and equals the kiosk's received
 * count read by another statement. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sync/tally/tally_db.h"
#include "sync/tally/tally_ingest.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_report.h"
#include "testutil.h"

#define BATCHES 1500

static char path[400];
static atomic_bool done;

static void *writer(void *arg)
{
    (void)arg;
    TallyDb *db;
    TallyIngest *in;
    char msg[TALLY_MSG_MAX];
    if(tally_db_open(path, &db, msg) || tally_ingest_new(db, &in, msg)) {
        fprintf(stderr, "writer: %s\n", msg);
        atomic_store(&done, true);
        return NULL;
    }
    for(int i = 0; i < BATCHES; i++) {
        ProtoBatch b = {.n = 2};
        ProtoBatchItem items[2];
        memset(items, 0, sizeof items);
        b.items = items;
        snprintf(b.device_id, sizeof b.device_id, "snap-1");
        snprintf(b.sent_at, sizeof b.sent_at, "2025-04-20T10:00:00+07:00");
        uint8_t rnd[10] = {1, 2, 3};
        uuid_v7_make(b.batch_id, 1800000000000ull + (uint64_t)i, rnd);
        for(int k = 0; k < 2; k++) {
            ProtoRating *r = &items[k].rating;
            rnd[5] = (uint8_t)k;
            uuid_v7_make(r->id, 1700000000000ull + (uint64_t)i * 2 + (uint64_t)k, rnd);
            memcpy(items[k].raw_id, r->id, sizeof items[k].raw_id);
            r->seq = i * 2 + k + 1;
            snprintf(r->unit, sizeof r->unit, "P.Q1");
            r->area = AREA_DAT_DAI;
            r->scale = SCALE_TTHC3;
            r->score = 3;
            /* March: a whole month of the range below; 15 April: its ragged end. */
            snprintf(r->at, sizeof r->at, k ? "2025-04-15T09:00:00+07:00" : "2025-03-10T09:00:00+07:00");
        }
        ProtoReply rep;
        if(tally_ingest_batch(in, &b, "P.Q1", 1745118000, &rep, msg)) {
            fprintf(stderr, "writer: %s\n", msg);
            break;
        }
        proto_reply_free(&rep);
    }
    tally_ingest_free(in);
    tally_db_close(db);
    atomic_store(&done, true);
    return NULL;
}

static void test_a_tally_never_sees_half_a_batch(void **state)
{
    (void)state;
    char dir[256];
    assert_true(tu_mkdtemp(dir, sizeof dir, "test_tally_snapshot"));
    snprintf(path, sizeof path, "%s/tally.db", dir);
    TallyDb *db;
    char msg[TALLY_MSG_MAX], token[TALLY_TOKEN_HEX + 1];
    assert_int_equal(tally_db_open(path, &db, msg), TALLY_OK);
    assert_int_equal(tally_unit_add(db, "P", "Tỉnh", NULL, msg), TALLY_OK);
    assert_int_equal(tally_unit_add(db, "P.Q1", "Quầy 1", "P", msg), TALLY_OK);
    assert_int_equal(tally_device_add(db, "snap-1", "P.Q1", ptime_vn_day_start(PTIME_DAY_MIN), token, msg), TALLY_OK);

    TallySpec spec = {.area = -1, .min_n = 1};
    snprintf(spec.unit, sizeof spec.unit, "P");
    assert_true(ptime_parse_date("2025-03-01", &spec.from_day));
    assert_true(ptime_parse_date("2025-04-20", &spec.to_day));
    pthread_t t;
    atomic_store(&done, false);
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    long tallies = 0, odd = 0;
    int64_t last = 0;
    while(!atomic_load(&done)) {
        TallyRow *rows;
        size_t n;
        assert_int_equal(tally_query_run(db, &spec, &rows, &n, msg), TALLY_OK);
        assert_int_equal(n, 1);
        if(rows[0].n % 2)
            odd++;
        assert_true(rows[0].n >= last); /* and never goes back */
        last = rows[0].n;
        free(rows);
        tallies++;
    }
    pthread_join(t, NULL);
    TallyRow *rows;
    size_t n;
    assert_int_equal(tally_query_run(db, &spec, &rows, &n, msg), TALLY_OK);
    fprintf(stderr, "%ld tallies during %d commits, %ld saw half a batch; final n = %lld\n", tallies, BATCHES, odd,
            (long long)rows[0].n);
    assert_int_equal(rows[0].n, 2 * BATCHES);
    free(rows);
    assert_int_equal(odd, 0);
    assert_true(tallies > 100);
    tally_db_close(db);
    tu_rmtree(dir);
}

/* The same writer; the report model built over and over: its parts agree with each other. */
static void test_a_report_never_sees_half_a_batch(void **state)
{
    (void)state;
    char dir[256];
    assert_true(tu_mkdtemp(dir, sizeof dir, "test_report_snapshot"));
    snprintf(path, sizeof path, "%s/tally.db", dir);
    TallyDb *db;
    char msg[TALLY_MSG_MAX], token[TALLY_TOKEN_HEX + 1];
    assert_int_equal(tally_db_open(path, &db, msg), TALLY_OK);
    assert_int_equal(tally_unit_add(db, "P", "Tỉnh", NULL, msg), TALLY_OK);
    assert_int_equal(tally_unit_add(db, "P.Q1", "Quầy 1", "P", msg), TALLY_OK);
    assert_int_equal(tally_device_add(db, "snap-1", "P.Q1", ptime_vn_day_start(PTIME_DAY_MIN), token, msg), TALLY_OK);
    TallyReportSpec spec = {.area = -1, .parts = TALLY_PART_GROUPS | TALLY_PART_DEVICES, .now_s = 1745118000};
    int64_t from, to;
    assert_true(ptime_parse_date("2025-03-01", &from) && ptime_parse_date("2025-04-20", &to));
    assert_true(tally_period_custom(from, to, &spec.period));
    snprintf(spec.unit, sizeof spec.unit, "P");
    pthread_t t;
    atomic_store(&done, false);
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    long reports = 0, torn = 0;
    while(!atomic_load(&done)) {
        TallyReport *r;
        assert_int_equal(tally_report_build(db, &spec, &r, msg), TALLY_OK);
        assert_int_equal(r->n_devices, 1);
        if(r->total.n % 2 || r->total.n != r->devices[0].received)
            torn++;
        tally_report_free(r);
        reports++;
    }
    pthread_join(t, NULL);
    fprintf(stderr, "%ld reports during %d commits, %ld saw parts of different moments\n", reports, BATCHES, torn);
    assert_int_equal(torn, 0);
    assert_true(reports > 20);
    tally_db_close(db);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_a_tally_never_sees_half_a_batch),
                                       cmocka_unit_test(test_a_report_never_sees_half_a_batch)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
