/* Times and days: RFC 3339 parsing, the Asia/Ho_Chi_Minh day, UUID v7 layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sync/ptime.h"
#include "sync/uuid.h"

static void test_rfc3339_with_offset_gives_utc_instant(void **state)
{
    (void)state;
    int64_t t;
    int off;
    assert_true(ptime_parse("2026-11-22T08:15:02+07:00", &t, &off));
    assert_int_equal(off, 420);
    assert_int_equal(t, 1795310102); /* 2026-11-22T01:15:02Z */
    assert_true(ptime_parse("2026-11-22T01:15:02Z", &t, &off));
    assert_int_equal(t, 1795310102);
    assert_int_equal(off, 0);
    assert_true(ptime_parse("2026-11-21T20:15:02.250-05:00", &t, &off));
    assert_int_equal(t, 1795310102);
    assert_int_equal(off, -300);
}

static void test_malformed_times_are_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", "2026-11-22", "2026-11-22T08:15:02", "2026-11-22 08:15:02+07:00", "2026-02-29T08:00:00+07:00",
        "2026-13-01T08:00:00+07:00", "2026-11-22T24:00:00+07:00", "2026-11-22T08:60:00+07:00",
        "2026-11-22T08:15:60+07:00", "2026-11-22T08:15:02+0700", "2026-11-22T08:15:02+07:00x",
        "1969-12-31T23:59:59Z", "2026-11-22T08:15:02.+07:00", "２026-11-22T08:15:02+07:00", "2026-1-22T08:15:02Z",
    };
    for(size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t t = 42;
        int off = 42;
        if(ptime_parse(bad[i], &t, &off))
            fail_msg("accepted bad time \"%s\"", bad[i]);
        assert_int_equal(t, 42);
    }
    int64_t t;
    int off;
    assert_true(ptime_parse("2028-02-29T00:00:00+07:00", &t, &off)); /* leap day exists */
}

static void test_times_whose_vietnam_day_is_outside_the_calendar_are_refused(void **state)
{
    (void)state;
    int64_t t = 42;
    int off = 42;
    /* 10000-01-02 and 1969-12-31 in Asia/Ho_Chi_Minh: no tally could ever ask for them. */
    assert_false(ptime_parse("9999-12-31T23:59:59-23:59", &t, &off));
    assert_false(ptime_parse("9999-12-31T17:00:00Z", &t, &off));
    assert_false(ptime_parse("1970-01-01T00:00:00+07:01", &t, &off));
    assert_false(ptime_parse("1970-01-01T00:59:59+08:00", &t, &off));
    assert_int_equal(t, 42);
    /* The first and last Vietnam days themselves are fine. */
    assert_true(ptime_parse("1970-01-01T00:00:00+07:00", &t, &off));
    assert_int_equal(ptime_vn_day(t), PTIME_DAY_MIN);
    assert_true(ptime_parse("9999-12-31T16:59:59Z", &t, &off));
    assert_int_equal(ptime_vn_day(t), PTIME_DAY_MAX);
    char date[PTIME_DATE_LEN];
    ptime_format_date(PTIME_DAY_MAX, date);
    assert_string_equal(date, "9999-12-31");
}

static void test_format_round_trips(void **state)
{
    (void)state;
    char buf[PTIME_TEXT_MAX];
    int64_t t;
    int off;
    ptime_format(1795310102, 420, buf);
    assert_string_equal(buf, "2026-11-22T08:15:02+07:00");
    ptime_format(1795310102, -330, buf);
    assert_true(ptime_parse(buf, &t, &off));
    assert_int_equal(t, 1795310102);
    assert_int_equal(off, -330);
}

static void test_vn_day_turns_at_17_utc(void **state)
{
    (void)state;
    int64_t t, d1, d2;
    int off;
    char date[PTIME_DATE_LEN];
    assert_true(ptime_parse("2026-11-22T16:59:59Z", &t, &off));
    d1 = ptime_vn_day(t);
    ptime_format_date(d1, date);
    assert_string_equal(date, "2026-11-22");
    d2 = ptime_vn_day(t + 1); /* 17:00 UTC = midnight in Gia Lai */
    ptime_format_date(d2, date);
    assert_string_equal(date, "2026-11-23");
    assert_int_equal(ptime_vn_day_start(d2), t + 1);
    int64_t day;
    assert_true(ptime_parse_date("2026-11-23", &day));
    assert_int_equal(day, d2);
    assert_false(ptime_parse_date("2026-11-31", &day));
    assert_false(ptime_parse_date("2026-11-3", &day));
}

static void test_civil_days_agree_over_centuries(void **state)
{
    (void)state;
    for(int64_t d = -1000; d < 200000; d += 37) {
        int y, m, dd;
        ptime_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(ptime_days_from_civil(y, m, dd), d);
    }
}

static void test_uuid_v7_layout_and_order(void **state)
{
    (void)state;
    uint8_t r[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    char a[UUID_TEXT_LEN], b[UUID_TEXT_LEN], c[UUID_TEXT_LEN];
    uuid_v7_make(a, 0x0190163d8e40ull, r);
    assert_string_equal(a, "0190163d-8e40-7fff-bfff-ffffffffffff");
    assert_int_equal(uuid_version(a), 7);
    memset(r, 0, sizeof r);
    uuid_v7_make(b, 0x0190163d8e41ull, r);
    assert_true(strcmp(a, b) < 0); /* a later millisecond sorts later whatever the random bits */
    assert_true(uuid_v7_new(c));
    assert_true(uuid_parse(c, NULL));
    assert_int_equal(uuid_version(c), 7);
    assert_true(strcmp(b, c) < 0);
}

static void test_uuid_parse_accepts_any_version_and_canonicalises(void **state)
{
    (void)state;
    char out[UUID_TEXT_LEN];
    assert_true(uuid_parse("F47AC10B-58CC-4372-A567-0E02B2C3D479", out)); /* v4, upper case */
    assert_string_equal(out, "f47ac10b-58cc-4372-a567-0e02b2c3d479");
    assert_false(uuid_parse("f47ac10b58cc4372a5670e02b2c3d479", out));
    assert_false(uuid_parse("f47ac10b-58cc-4372-a567-0e02b2c3d47", out));
    assert_false(uuid_parse("f47ac10b-58cc-4372-a567-0e02b2c3d4790", out));
    assert_false(uuid_parse("g47ac10b-58cc-4372-a567-0e02b2c3d479", out));
    assert_false(uuid_parse("00000000-0000-0000-0000-000000000000", out));
    assert_false(uuid_parse("ffffffff-ffff-ffff-ffff-ffffffffffff", out));
    assert_false(uuid_parse("", out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_with_offset_gives_utc_instant),
        cmocka_unit_test(test_malformed_times_are_refused),
        cmocka_unit_test(test_times_whose_vietnam_day_is_outside_the_calendar_are_refused),
        cmocka_unit_test(test_format_round_trips),
        cmocka_unit_test(test_vn_day_turns_at_17_utc),
        cmocka_unit_test(test_civil_days_agree_over_centuries),
        cmocka_unit_test(test_uuid_v7_layout_and_order),
        cmocka_unit_test(test_uuid_parse_accepts_any_version_and_canonicalises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
