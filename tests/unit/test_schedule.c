/* test_schedule.c — the uploader's timing rules (sync/schedule.h), with a fixed clock and fixed "random"
 * numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sync/ptime.h"
#include "sync/schedule.h"

/* Unix time of a local (UTC+07:00) wall-clock time. */
static int64_t vn(int y, int mo, int d, int h, int mi)
{
    return ptime_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 - PTIME_VN_OFFSET_MIN * 60;
}

static const SchedConfig NIGHTLY_0200 = {.schedule_min = 120, .jitter_min = 0, .interval_min = 0,
                                         .tz_offset_min = PTIME_VN_OFFSET_MIN};

static void test_nightly_slot_is_next_local_0200_after_a_morning(void **state)
{
    (void)state;
    assert_int_equal(sched_next_nightly(&NIGHTLY_0200, vn(2026, 11, 27, 10, 0), 12345), vn(2026, 11, 28, 2, 0));
}

static void test_nightly_slot_is_today_before_0200(void **state)
{
    (void)state;
    assert_int_equal(sched_next_nightly(&NIGHTLY_0200, vn(2026, 11, 27, 1, 59), 0), vn(2026, 11, 27, 2, 0));
}

static void test_nightly_slot_is_strictly_after_now(void **state)
{
    (void)state;
    assert_int_equal(sched_next_nightly(&NIGHTLY_0200, vn(2026, 11, 27, 2, 0), 0), vn(2026, 11, 28, 2, 0));
}

static void test_nightly_slot_uses_vietnam_day_not_utc_day(void **state)
{
    (void)state;
    /* 23:30 local on the 27th is 16:30 UTC the same day; 01:00 local on the 28th is 18:00 UTC on the 27th. */
    SchedConfig c = NIGHTLY_0200;
    assert_int_equal(sched_next_nightly(&c, vn(2026, 11, 27, 23, 30), 0), vn(2026, 11, 28, 2, 0));
    assert_int_equal(sched_next_nightly(&c, vn(2026, 11, 28, 1, 0), 0), vn(2026, 11, 28, 2, 0));
    c.schedule_min = 23 * 60 + 45;
    assert_int_equal(sched_next_nightly(&c, vn(2026, 11, 27, 23, 30), 0), vn(2026, 11, 27, 23, 45));
}

static void test_jitter_spreads_kiosks_within_the_window(void **state)
{
    (void)state;
    SchedConfig c = NIGHTLY_0200;
    c.jitter_min = 60;
    int64_t base = vn(2026, 11, 28, 2, 0);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    uint32_t x = 2463534242u;
    for(int i = 0; i < 2000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        int64_t t = sched_next_nightly(&c, vn(2026, 11, 27, 12, 0), x);
        assert_true(t >= base);
        assert_true(t <= base + 3600);
        if(t < lo)
            lo = t;
        if(t > hi)
            hi = t;
    }
    /* 2000 kiosks do not all arrive in the same few minutes. */
    assert_true(lo < base + 300);
    assert_true(hi > base + 3300);
    assert_int_equal(sched_next_nightly(&c, vn(2026, 11, 27, 12, 0), 3600), base + 3600);
    assert_int_equal(sched_next_nightly(&c, vn(2026, 11, 27, 12, 0), 3601), base);
}

static void test_jittered_slot_tonight_is_kept_when_still_ahead(void **state)
{
    (void)state;
    SchedConfig c = NIGHTLY_0200;
    c.jitter_min = 60;
    /* 02:10 local, tonight's jittered slot at 02:30 is still ahead. */
    assert_int_equal(sched_next_nightly(&c, vn(2026, 11, 27, 2, 10), 1800), vn(2026, 11, 27, 2, 30));
    /* 02:40: tonight's 02:30 has passed, so tomorrow at 02:30. */
    assert_int_equal(sched_next_nightly(&c, vn(2026, 11, 27, 2, 40), 1800), vn(2026, 11, 28, 2, 30));
}

static void test_interval_comes_first_when_shorter(void **state)
{
    (void)state;
    SchedConfig c = NIGHTLY_0200;
    c.interval_min = 30;
    int64_t now = vn(2026, 11, 27, 10, 0);
    assert_int_equal(sched_next_planned(&c, now, 0), now + 1800);
    /* At 01:50 the nightly slot (02:00) is nearer than 30 minutes. */
    now = vn(2026, 11, 27, 1, 50);
    assert_int_equal(sched_next_planned(&c, now, 0), vn(2026, 11, 27, 2, 0));
    c.interval_min = 0;
    now = vn(2026, 11, 27, 10, 0);
    assert_int_equal(sched_next_planned(&c, now, 0), vn(2026, 11, 28, 2, 0));
}

static void test_backoff_doubles_from_one_minute_with_jitter(void **state)
{
    (void)state;
    assert_int_equal(sched_backoff_delay(1, 0), 60);
    assert_int_equal(sched_backoff_delay(1, 999), 60);
    assert_int_equal(sched_backoff_delay(2, 0), 60);
    assert_int_equal(sched_backoff_delay(2, 60), 120);
    assert_int_equal(sched_backoff_delay(3, 0), 120);
    assert_int_equal(sched_backoff_delay(3, 120), 240);
    assert_int_equal(sched_backoff_delay(4, 0), 240);
    assert_int_equal(sched_backoff_delay(4, 240), 480);
    for(int32_t f = 1; f < 40; f++)
        for(uint32_t r = 0; r < 5000; r += 7) {
            int64_t d = sched_backoff_delay(f, r);
            assert_true(d >= SCHED_BACKOFF_MIN_S);
            assert_true(d <= SCHED_BACKOFF_MAX_S);
        }
}

static void test_backoff_is_capped_at_one_hour_forever(void **state)
{
    (void)state;
    int32_t fs[] = {7, 8, 30, 1000, INT32_MAX};
    for(size_t i = 0; i < sizeof fs / sizeof *fs; i++) {
        assert_int_equal(sched_backoff_delay(fs[i], 0), 1800);
        assert_int_equal(sched_backoff_delay(fs[i], 1800), 3600);
        assert_int_equal(sched_backoff_delay(fs[i], 1801), 1800);
    }
}

static void test_failures_back_off_and_success_resets(void **state)
{
    (void)state;
    SchedState st = {0};
    int64_t now = vn(2026, 11, 27, 2, 5);
    sched_init(&NIGHTLY_0200, &st, now, 0);
    assert_int_equal(st.next_attempt, vn(2026, 11, 28, 2, 0));
    assert_int_equal(st.failures, 0);

    sched_after_run(&NIGHTLY_0200, &st, now, false, 0);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.next_attempt, now + 60);
    assert_false(sched_due(&st, now + 59, 0));
    assert_true(sched_due(&st, now + 60, 0));

    now += 60;
    sched_after_run(&NIGHTLY_0200, &st, now, false, 60);
    assert_int_equal(st.failures, 2);
    assert_int_equal(st.next_attempt, now + 120);

    now += 120;
    sched_after_run(&NIGHTLY_0200, &st, now, true, 0);
    assert_int_equal(st.failures, 0);
    assert_int_equal(st.next_attempt, vn(2026, 11, 28, 2, 0));
}

/* A busy server's Retry-After plans the next try exactly then, and does not grow the back-off. */
static void test_retry_after_is_honoured_without_counting_a_failure(void **state)
{
    (void)state;
    SchedState st = {0};
    int64_t now = vn(2026, 11, 27, 2, 5);
    sched_init(&NIGHTLY_0200, &st, now, 0);
    sched_after_run(&NIGHTLY_0200, &st, now, false, 0); /* one real failure */
    assert_int_equal(st.failures, 1);
    sched_retry_after(&st, now, 17);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.next_attempt, now + 17);
    assert_false(sched_due(&st, now + 16, 0));
    assert_true(sched_due(&st, now + 17, 0));
    sched_retry_after(&st, now, 0);
    assert_int_equal(st.next_attempt, now + 1);
    sched_retry_after(&st, now, 86400);
    assert_int_equal(st.next_attempt, now + SCHED_BACKOFF_MAX_S);
}

static void test_backoff_survives_a_restart(void **state)
{
    (void)state;
    /* What the store held when the daemon stopped: 5 failures, next try in the future. */
    int64_t now = vn(2026, 11, 27, 3, 0);
    SchedState st = {.next_attempt = now + 700, .failures = 5};
    sched_init(&NIGHTLY_0200, &st, now, 0);
    assert_int_equal(st.failures, 5);
    assert_int_equal(st.next_attempt, now + 700);
    assert_false(sched_due(&st, now, 0));
    sched_after_run(&NIGHTLY_0200, &st, now + 700, false, 0);
    assert_int_equal(st.failures, 6);
    assert_int_equal(st.next_attempt, now + 700 + 960); /* d = 1920, lower half bound */
}

static void test_missed_slot_is_due_at_start(void **state)
{
    (void)state;
    /* The kiosk was switched off at 02:00; it starts at 07:30 and the stored slot is in the past. */
    SchedState st = {.next_attempt = vn(2026, 11, 27, 2, 17), .failures = 0};
    int64_t now = vn(2026, 11, 27, 7, 30);
    sched_init(&NIGHTLY_0200, &st, now, 0);
    assert_int_equal(st.next_attempt, vn(2026, 11, 27, 2, 17));
    assert_true(sched_due(&st, now, 0));
}

static void test_sync_now_request_overrides_backoff(void **state)
{
    (void)state;
    int64_t now = vn(2026, 11, 27, 9, 0);
    SchedState st = {.next_attempt = now + 3000, .failures = 9};
    assert_false(sched_due(&st, now, 0));
    assert_true(sched_due(&st, now, now - 1));
}

/* The clock was a year ahead when the slot was planned, then corrected: the stored slot would stop every
 * nightly upload until next year. At start-up and whenever the daemon looks, it is planned again. */
static void test_a_slot_planned_by_a_clock_that_was_ahead_is_planned_again(void **state)
{
    (void)state;
    SchedConfig c = NIGHTLY_0200;
    c.jitter_min = 60;
    int64_t now = vn(2026, 11, 27, 10, 0);
    SchedState st = {.next_attempt = vn(2027, 11, 28, 2, 30), .failures = 0};
    sched_init(&c, &st, now, 600);
    assert_int_equal(st.next_attempt, vn(2026, 11, 28, 2, 10)); /* tonight's slot with this jitter */
    /* The same seen by the running daemon. */
    st.next_attempt = vn(2027, 11, 28, 2, 30);
    assert_true(sched_clamp(&c, &st, now, 600));
    assert_int_equal(st.next_attempt, vn(2026, 11, 28, 2, 10));
    /* During back-off, the next try of the back-off. */
    st = (SchedState){.next_attempt = vn(2030, 1, 1, 0, 0), .failures = 3};
    assert_true(sched_clamp(&c, &st, now, 0));
    assert_int_equal(st.next_attempt, now + 120);
    assert_int_equal(st.failures, 3);
}

/* Nothing the schedule plans itself is ever moved: every nightly slot (whatever the jitter drawn and the
 * time of day), interval and back-off is within the bound. */
static void test_what_the_schedule_plans_is_never_clamped(void **state)
{
    (void)state;
    SchedConfig c = NIGHTLY_0200;
    c.jitter_min = 720;
    c.interval_min = 90;
    int64_t day = vn(2026, 11, 27, 0, 0);
    for(int64_t t = 0; t < 86400; t += 599)
        for(uint32_t rnd = 0; rnd < 43201; rnd += 997) {
            SchedState st = {.next_attempt = sched_next_planned(&c, day + t, rnd), .failures = 0};
            assert_false(sched_clamp(&c, &st, day + t, 0));
            c.interval_min = 0;
            st.next_attempt = sched_next_nightly(&c, day + t, rnd);
            assert_false(sched_clamp(&c, &st, day + t, 0));
            c.interval_min = 90;
        }
    for(int32_t f = 1; f < 40; f++) {
        SchedState st = {.next_attempt = day + sched_backoff_delay(f, 0xffffffffu), .failures = f};
        assert_false(sched_clamp(&c, &st, day, 0));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nightly_slot_is_next_local_0200_after_a_morning),
        cmocka_unit_test(test_nightly_slot_is_today_before_0200),
        cmocka_unit_test(test_nightly_slot_is_strictly_after_now),
        cmocka_unit_test(test_nightly_slot_uses_vietnam_day_not_utc_day),
        cmocka_unit_test(test_jitter_spreads_kiosks_within_the_window),
        cmocka_unit_test(test_jittered_slot_tonight_is_kept_when_still_ahead),
        cmocka_unit_test(test_interval_comes_first_when_shorter),
        cmocka_unit_test(test_backoff_doubles_from_one_minute_with_jitter),
        cmocka_unit_test(test_backoff_is_capped_at_one_hour_forever),
        cmocka_unit_test(test_failures_back_off_and_success_resets),
        cmocka_unit_test(test_retry_after_is_honoured_without_counting_a_failure),
        cmocka_unit_test(test_backoff_survives_a_restart),
        cmocka_unit_test(test_missed_slot_is_due_at_start),
        cmocka_unit_test(test_sync_now_request_overrides_backoff),
        cmocka_unit_test(test_a_slot_planned_by_a_clock_that_was_ahead_is_planned_again),
        cmocka_unit_test(test_what_the_schedule_plans_is_never_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
