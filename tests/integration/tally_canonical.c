/* tally_canonical.c — the ingest's allocation-free canonical encoder must give exactly the bytes of
 * proto_rating_dump() for every valid rating: stored bodies are compared byte-for-byte to tell a harmless
 * retry (duplicate) from a conflict, so one differing byte would turn retries into conflicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync/protocol.h"
#include "sync/tally/tally_ingest.h"

static void test_canonical_text_equals_proto_rating_dump(void **state)
{
    (void)state;
    static const char *const ATS[] = {"2026-11-22T08:15:02+07:00", "2026-11-22T01:15:02Z", "2026-11-22t08:15:02.5z",
                                      "2026-01-01T00:00:00.123456-05:30", "1999-12-31T23:59:59+14:00"};
    static const char *const UNITS[] = {"000.00.31.H21.DEMO", "a", "A-b_c.9",
                                        "0123456789012345678901234567890123456789012345678901234567890123"};
    unsigned seed = 99;
    int checked = 0;
    for(int i = 0; i < 20000; i++) {
        ProtoRating r = {0};
        uint8_t rnd[10];
        for(int k = 0; k < 10; k++)
            rnd[k] = (uint8_t)rand_r(&seed);
        uuid_v7_make(r.id, 1700000000000ull + (uint64_t)rand_r(&seed), rnd);
        r.seq = i % 7 == 0 ? INT64_MAX - i : 1 + rand_r(&seed);
        snprintf(r.unit, sizeof r.unit, "%s", UNITS[rand_r(&seed) % 4]);
        r.area = (ProtoArea)(rand_r(&seed) % AREA_COUNT);
        r.scale = (ProtoScale)(rand_r(&seed) % SCALE_COUNT);
        r.score = 1 + rand_r(&seed) % proto_scale_levels(r.scale);
        if(!proto_is_satisfied(r.scale, r.score)) {
            r.followup = (ProtoFollowup)(1 + rand_r(&seed) % 3);
            if(r.followup == FOLLOWUP_ANSWERED)
                r.reasons = (uint32_t)rand_r(&seed) & ((1u << REASON_COUNT) - 1);
        }
        snprintf(r.at, sizeof r.at, "%s", ATS[rand_r(&seed) % 5]);
        r.flags = rand_r(&seed) % 3 == 0 ? PROTO_FLAG_RAPID_REPEAT : 0;
        ProtoError e;
        if(proto_rating_validate(&r, &e) != PROTO_OK)
            continue;
        char *want = proto_rating_dump(&r);
        char got[TALLY_CANONICAL_MAX];
        size_t n = tally_ingest_canonical(&r, got, sizeof got);
        assert_non_null(want);
        assert_int_equal(n, strlen(want));
        assert_string_equal(got, want);
        free(want);
        checked++;
    }
    assert_true(checked > 15000);
}

static void test_canonical_text_reports_truncation(void **state)
{
    (void)state;
    ProtoRating r = {0};
    uint8_t rnd[10] = {1};
    uuid_v7_make(r.id, 1700000000000ull, rnd);
    r.seq = 1;
    snprintf(r.unit, sizeof r.unit, "U");
    r.score = 3;
    snprintf(r.at, sizeof r.at, "2026-11-22T08:15:02+07:00");
    char small[20];
    size_t need = tally_ingest_canonical(&r, small, sizeof small);
    assert_true(need >= sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1); /* truncated, still terminated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_text_equals_proto_rating_dump),
        cmocka_unit_test(test_canonical_text_reports_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
