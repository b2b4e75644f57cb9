/* test_ui_logic.c — the screen state machine (kiosk/ui.h) with an injected clock and a fake sink: every
 * transition, idle reset, the follow-up timeout and hold, misuse flagging, storage errors and recovery, the
 * supervisor corner, its history limit, PIN lockout escalating and surviving restarts, one tap per touch on
 * both input paths and lost releases, target sizes at every supported resolution, the strings table (NFC,
 * template slots) and text contrast. No display, no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kiosk/strings.h"
#include "kiosk/ui.h"
#include "kiosk/ui_draw.h"
#include "kiosk/ui_input.h"
#include "sync/ptime.h"

/* ---- Fake sink -------------------------------------------------------------------------------------- */

#define MAX_SAVED 64
typedef struct {
    ProtoRating saved[MAX_SAVED];
    bool        asking[MAX_SAVED];
    int         n_saved, add_calls;
    bool        add_fails;
    struct { char id[UUID_TEXT_LEN]; ProtoFollowup f; uint32_t reasons; } fu[MAX_SAVED];
    int         n_fu;
    ProtoRating answers[MAX_SAVED]; /* every answer call: the rating with its answers so far */
    bool        more[MAX_SAVED];    /* ... and whether another question followed */
    StrId       said[64];           /* the last say() call */
    size_t      n_said, say_calls;
    size_t      said_lang;
    int64_t     report_days[64];
    int         n_reports;
    bool        report_fails;
    int64_t     history_from;     /* what the fake store says; 0 = far back */
    int64_t     sync_requests[8];
    int         n_sync;
    int         verify_calls;
    const char *good_pin;         /* NULL = "2468" */
    uint8_t     rnd;
} Fake;

static bool f_add(void *u, ProtoRating *r, bool asking)
{
    Fake *f = u;
    f->add_calls++;
    if(f->add_fails)
        return false;
    r->seq = f->n_saved + 1;
    f->asking[f->n_saved] = asking;
    f->saved[f->n_saved++] = *r;
    return true;
}
static bool f_answer(void *u, const ProtoRating *r, bool more)
{
    Fake *f = u;
    snprintf(f->fu[f->n_fu].id, UUID_TEXT_LEN, "%s", r->id);
    f->fu[f->n_fu].f = r->followup;
    f->fu[f->n_fu].reasons = r->reasons;
    f->answers[f->n_fu] = *r;
    f->more[f->n_fu] = more;
    f->n_fu++;
    return true;
}
static void f_say(void *u, size_t lang, const StrId *ids, size_t n)
{
    Fake *f = u;
    f->say_calls++;
    f->said_lang = lang;
    f->n_said = n < 64 ? n : 64;
    for(size_t i = 0; i < f->n_said; i++)
        f->said[i] = ids[i];
}
static bool f_report(void *u, int64_t day, UiDayReport *out)
{
    Fake *f = u;
    f->report_days[f->n_reports++ % 64] = day;
    memset(out, 0, sizeof *out);
    out->totals.n[AREA_DAT_DAI] = 3;
    out->history_from = f->history_from;
    return !f->report_fails;
}
static bool f_sync(void *u, int64_t now_s)
{
    Fake *f = u;
    f->sync_requests[f->n_sync++ % 8] = now_s;
    return true;
}
static bool f_verify(void *u, const char *pin)
{
    Fake *f = u;
    f->verify_calls++;
    return strcmp(pin, f->good_pin ? f->good_pin : "2468") == 0;
}
static void f_random(void *u, uint8_t *buf, size_t n)
{
    Fake *f = u;
    for(size_t i = 0; i < n; i++)
        buf[i] = f->rnd++;
}

static Fake F;
static const UiSink SINK = {.user = &F, .add = f_add, .answer = f_answer, .day_report = f_report,
                            .sync_request = f_sync, .verify_pin = f_verify, .random = f_random,
                            .say = f_say}; /* no log */

/* 2026-11-27 09:30 +07:00 */
#define T0 1795746600000LL

typedef struct {
    Ui     *ui;
    int64_t now;
} Rig;

/* The later questions and spoken prompts a rig is configured with. */
#define ASK_SERVICE 1u
#define ASK_RESPONDENT 2u
#define ASK_WAIT 4u
#define ASK_ALL 7u
typedef struct {
    unsigned asks;
    bool voice;
    const StrPacks *packs;
} Opts;

static int taps; /* tap() counts every tap a citizen makes */

static Rig rig_with(size_t n_areas, ProtoScale scale, int w, int h, Opts o)
{
    memset(&F, 0, sizeof F);
    taps = 0;
    UiConfig cfg = {.areas = {AREA_DAT_DAI, AREA_XAY_DUNG, AREA_Y_TE, AREA_KHAC}, .n_areas = n_areas,
                    .scale = scale, .unit = "000.00.31.H21", .idle_timeout_s = 20, .supervisor_enabled = true,
                    .ask_service = o.asks & ASK_SERVICE, .ask_respondent = o.asks & ASK_RESPONDENT,
                    .ask_wait = o.asks & ASK_WAIT, .voice = o.voice, .packs = o.packs};
    Rig r = {ui_new(&cfg, &SINK, w, h, T0), T0};
    assert_non_null(r.ui);
    return r;
}

static Rig rig(size_t n_areas, ProtoScale scale, int w, int h) { return rig_with(n_areas, scale, w, h, (Opts){0}); }

static void at(Rig *r, int64_t t)
{
    r->now = t;
    UiEvent e = {UI_EV_TICK, 0, 0, 0, 0};
    ui_update(r->ui, &e, t);
}
static void later(Rig *r, int64_t ms) { at(r, r->now + ms); }

static void ev(Rig *r, UiEventType type, float x, float y)
{
    UiEvent e = {type, x, y, 0, 0};
    ui_update(r->ui, &e, r->now);
}

/* Taps the named target: press, 80 ms, release at its centre; then 1 s passes. */
static void tap(Rig *r, const char *name)
{
    UiTarget t;
    if(!ui_find_target(r->ui, name, &t))
        fail_msg("no target %s on screen %s", name, ui_screen_name(ui_screen(r->ui)));
    ev(r, UI_EV_PRESS, t.r.x + t.r.w / 2, t.r.y + t.r.h / 2);
    r->now += 80;
    ev(r, UI_EV_RELEASE, t.r.x + t.r.w / 2, t.r.y + t.r.h / 2);
    later(r, 1000);
    taps++;
}

static void hold_corner(Rig *r, int64_t ms)
{
    UiTarget t;
    assert_true(ui_find_target(r->ui, "corner", &t));
    ev(r, UI_EV_PRESS, t.r.x + 5, t.r.y + 5);
    later(r, ms);
    ev(r, UI_EV_RELEASE, t.r.x + 5, t.r.y + 5);
}

static void pin(Rig *r, const char *digits)
{
    for(const char *p = digits; *p; p++) {
        char name[8];
        snprintf(name, sizeof name, "key:%c", *p);
        tap(r, name);
    }
    tap(r, "ok");
}

#define SCREEN(r, s) assert_string_equal(ui_screen_name(ui_screen((r).ui)), ui_screen_name(s))

/* ---- The citizen flow ------------------------------------------------------------------------------ */

static void test_satisfied_rating_is_saved_before_thanks(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    SCREEN(r, SCREEN_AREA);
    tap(&r, "area:xay_dung");
    SCREEN(r, SCREEN_RATING);
    assert_int_equal(ui_area(r.ui), AREA_XAY_DUNG);
    assert_int_equal(F.n_saved, 0);
    tap(&r, "face:3");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(F.n_saved, 1);
    const ProtoRating *s = &F.saved[0];
    assert_int_equal(s->area, AREA_XAY_DUNG);
    assert_int_equal(s->scale, SCALE_TTHC3);
    assert_int_equal(s->score, 3);
    assert_int_equal(s->flags, 0);
    assert_int_equal(s->followup, FOLLOWUP_NONE);
    assert_string_equal(s->unit, "000.00.31.H21");
    assert_int_equal(uuid_version(s->id), 7);
    /* The tap was at T0 + 1080 + 80 ms: 09:30:01 local. */
    assert_string_equal(s->at, "2026-11-27T09:30:01+07:00");
    ProtoError err;
    assert_int_equal(proto_rating_validate(s, &err), PROTO_OK);
    assert_int_equal(F.n_fu, 0);
    assert_false(F.asking[0]); /* no follow-up to wait for */
    ui_free(r.ui);
}

static void test_thanks_ignores_taps_and_returns_home(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    tap(&r, "area:dat_dai");
    tap(&r, "face:2");
    SCREEN(r, SCREEN_THANKS);
    /* Hammering the screen where the faces were does nothing. */
    for(int i = 0; i < 5; i++) {
        ev(&r, UI_EV_PRESS, 400, 300);
        ev(&r, UI_EV_RELEASE, 400, 300);
        r.now += 100;
    }
    assert_int_equal(F.add_calls, 1);
    SCREEN(r, SCREEN_THANKS);
    int64_t deadline = ui_next_deadline(r.ui);
    assert_true(deadline <= r.now + UI_THANKS_MS);
    at(&r, deadline - 1);
    SCREEN(r, SCREEN_THANKS);
    at(&r, deadline);
    SCREEN(r, SCREEN_AREA);
    ui_free(r.ui);
}

static void test_unsatisfied_asks_reasons_and_saves_answer(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 1920, 1080);
    tap(&r, "area:y_te");
    tap(&r, "face:1");
    SCREEN(r, SCREEN_REASONS);
    assert_int_equal(F.n_saved, 1); /* saved at the tap, before any follow-up */
    assert_true(F.asking[0]);       /* ... and held from upload while its follow-up screen is open */
    tap(&r, "reason:cho_doi");
    tap(&r, "reason:thai_do");
    tap(&r, "reason:tre_hen");
    tap(&r, "reason:thai_do"); /* toggled off again */
    assert_int_equal(ui_reasons(r.ui), (1u << REASON_CHO_DOI) | (1u << REASON_TRE_HEN));
    tap(&r, "send");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(F.n_fu, 1);
    assert_string_equal(F.fu[0].id, F.saved[0].id);
    assert_int_equal(F.fu[0].f, FOLLOWUP_ANSWERED);
    assert_int_equal(F.fu[0].reasons, (1u << REASON_CHO_DOI) | (1u << REASON_TRE_HEN));
    ui_free(r.ui);
}

static void test_send_without_reasons_and_skip_are_skipped(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_LIKERT5, 800, 480);
    tap(&r, "area:dat_dai");
    tap(&r, "face:3"); /* likert5: 3 is not satisfied */
    SCREEN(r, SCREEN_REASONS);
    tap(&r, "send");
    later(&r, UI_THANKS_MS);
    tap(&r, "area:dat_dai");
    later(&r, UI_RAPID_REPEAT_MS);
    tap(&r, "face:2");
    tap(&r, "reason:khac");
    tap(&r, "skip");
    assert_int_equal(F.n_fu, 2);
    assert_int_equal(F.fu[0].f, FOLLOWUP_SKIPPED);
    assert_int_equal(F.fu[1].f, FOLLOWUP_SKIPPED);
    assert_int_equal(F.fu[1].reasons, 0); /* a toggled reason is not kept when skipping */
    ui_free(r.ui);
}

static void test_walking_away_from_reasons_records_timeout(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    tap(&r, "area:dat_dai");
    tap(&r, "face:1");
    tap(&r, "reason:di_lai");
    SCREEN(r, SCREEN_REASONS);
    later(&r, 18999); /* the last touch was 1 s ago (tap() waits 1 s after releasing) */
    SCREEN(r, SCREEN_REASONS);
    assert_int_equal(F.n_fu, 0);
    later(&r, 1);
    SCREEN(r, SCREEN_AREA);
    assert_int_equal(F.n_fu, 1);
    assert_int_equal(F.fu[0].f, FOLLOWUP_TIMEOUT);
    assert_int_equal(F.fu[0].reasons, 0);
    ui_free(r.ui);
}

static void test_idle_rating_screen_returns_to_areas(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    tap(&r, "area:dat_dai");
    SCREEN(r, SCREEN_RATING);
    assert_int_equal(ui_next_deadline(r.ui), r.now - 1000 + 20000);
    later(&r, 18999);
    SCREEN(r, SCREEN_RATING);
    later(&r, 1);
    SCREEN(r, SCREEN_AREA);
    assert_int_equal(F.add_calls, 0);
    /* The home screen has no timer at all: an idle kiosk sleeps. */
    assert_int_equal(ui_next_deadline(r.ui), INT64_MAX);
    ui_free(r.ui);
}

static void test_back_returns_to_areas(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 1080, 1920);
    tap(&r, "area:y_te");
    tap(&r, "back");
    SCREEN(r, SCREEN_AREA);
    assert_int_equal(F.add_calls, 0);
    ui_free(r.ui);
}

static void test_single_area_starts_at_rating(void **st)
{
    (void)st;
    Rig r = rig(1, SCALE_TTHC3, 800, 480);
    SCREEN(r, SCREEN_RATING);
    UiTarget t;
    assert_false(ui_find_target(r.ui, "back", &t));
    tap(&r, "face:2");
    assert_int_equal(F.saved[0].area, AREA_DAT_DAI);
    later(&r, UI_THANKS_MS);
    SCREEN(r, SCREEN_RATING);
    assert_int_equal(ui_next_deadline(r.ui), INT64_MAX);
    ui_free(r.ui);
}

static void test_press_then_slide_off_does_not_tap(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    tap(&r, "area:dat_dai");
    UiTarget a, b;
    assert_true(ui_find_target(r.ui, "face:1", &a));
    assert_true(ui_find_target(r.ui, "face:3", &b));
    ev(&r, UI_EV_PRESS, a.r.x + 10, a.r.y + 10);
    ev(&r, UI_EV_MOVE, b.r.x + 10, b.r.y + 10);
    ev(&r, UI_EV_RELEASE, b.r.x + 10, b.r.y + 10);
    SCREEN(r, SCREEN_RATING);
    assert_int_equal(F.add_calls, 0);
    ui_free(r.ui);
}

/* ---- Misuse ---------------------------------------------------------------------------------------- */

static void rate_once(Rig *r, int score)
{
    tap(r, "area:dat_dai");
    tap(r, score == 1 ? "face:1" : score == 2 ? "face:2" : "face:3");
    if(ui_screen(r->ui) == SCREEN_REASONS)
        tap(r, "skip");
}

static void test_rapid_repeat_is_flagged(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    rate_once(&r, 3);
    /* Thanks (4 s) then straight back: 1.08 s + 4 s + 1.08 s < 8 s after the first. */
    later(&r, UI_THANKS_MS);
    rate_once(&r, 3);
    assert_int_equal(F.n_saved, 2);
    assert_int_equal(F.saved[0].flags, 0);
    assert_int_equal(F.saved[1].flags, PROTO_FLAG_RAPID_REPEAT);
    assert_true(F.saved[1].flags & PROTO_FLAGS_KNOWN);
    /* A calm gap later, a rating is not flagged. */
    later(&r, UI_THANKS_MS + UI_RAPID_REPEAT_MS);
    rate_once(&r, 2);
    assert_int_equal(F.saved[2].flags, 0);
    ui_free(r.ui);
}

static void test_per_minute_limit_flags_the_excess(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    /* One rating every 9.08 s: never "rapid", but the 5th within a minute is over the limit. */
    for(int i = 0; i < UI_RATE_LIMIT_PER_MIN + 1; i++) {
        rate_once(&r, 3);
        later(&r, 9000 - 1080 - 1080);
    }
    assert_int_equal(F.n_saved, UI_RATE_LIMIT_PER_MIN + 1);
    for(int i = 0; i < UI_RATE_LIMIT_PER_MIN; i++)
        assert_int_equal(F.saved[i].flags, 0);
    assert_int_equal(F.saved[UI_RATE_LIMIT_PER_MIN].flags, PROTO_FLAG_RAPID_REPEAT);
    ui_free(r.ui);
}

static void test_restart_keeps_misuse_memory(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    ui_seed_recent(r.ui, T0 / 1000 - 2, 1, r.now); /* a rating 2 s before the restart */
    rate_once(&r, 3);
    assert_int_equal(F.saved[0].flags, PROTO_FLAG_RAPID_REPEAT);
    ui_free(r.ui);
}

/* ---- Storage errors -------------------------------------------------------------------------------- */

static void test_storage_error_is_not_thanked_and_recovers(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    F.add_fails = true;
    tap(&r, "area:dat_dai");
    tap(&r, "face:3");
    SCREEN(r, SCREEN_STORAGE_ERROR);
    assert_int_equal(F.n_saved, 0);
    char id[UUID_TEXT_LEN];
    snprintf(id, sizeof id, "%s", ui_last_rating(r.ui)->id);
    /* Automatic retries while the notice shows; still failing. */
    int calls = F.add_calls;
    at(&r, ui_next_deadline(r.ui));
    assert_int_equal(F.add_calls, calls + 1);
    SCREEN(r, SCREEN_STORAGE_ERROR);
    /* Storage is back: the next retry saves the same rating (same id) and only then thanks. */
    F.add_fails = false;
    at(&r, ui_next_deadline(r.ui));
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(F.n_saved, 1);
    assert_string_equal(F.saved[0].id, id);
    ui_free(r.ui);
}

static void test_storage_error_retry_button_and_drop_after_idle(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    F.add_fails = true;
    tap(&r, "area:dat_dai");
    tap(&r, "face:1");
    SCREEN(r, SCREEN_STORAGE_ERROR);
    int calls = F.add_calls;
    tap(&r, "retry");
    assert_int_equal(F.add_calls, calls + 1);
    SCREEN(r, SCREEN_STORAGE_ERROR);
    /* Nobody there: after the idle time the unsaved rating is dropped and the start screen returns. */
    later(&r, 20000);
    SCREEN(r, SCREEN_AREA);
    assert_int_equal(F.n_saved, 0);
    /* Storage is back: the next citizen's tap is saved normally. */
    F.add_fails = false;
    later(&r, 10000);
    rate_once(&r, 1);
    assert_int_equal(F.n_saved, 1);
    SCREEN(r, SCREEN_THANKS);
    ui_free(r.ui);
}

/* ---- Supervisor ------------------------------------------------------------------------------------ */

static void test_short_corner_press_does_nothing(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    hold_corner(&r, UI_CORNER_HOLD_MS - 1);
    SCREEN(r, SCREEN_AREA);
    /* Sliding out of the corner cancels a long press too. */
    UiTarget t;
    assert_true(ui_find_target(r.ui, "corner", &t));
    ev(&r, UI_EV_PRESS, 2, 2);
    ev(&r, UI_EV_MOVE, 400, 300);
    later(&r, UI_CORNER_HOLD_MS + 10);
    SCREEN(r, SCREEN_AREA);
    ui_free(r.ui);
}

static void test_corner_hold_and_pin_open_supervisor(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    UiTarget t;
    assert_true(ui_find_target(r.ui, "corner", &t));
    ev(&r, UI_EV_PRESS, 3, 3);
    assert_int_equal(ui_next_deadline(r.ui), r.now + UI_CORNER_HOLD_MS);
    later(&r, UI_CORNER_HOLD_MS);
    SCREEN(r, SCREEN_PIN); /* opens while still held */
    ev(&r, UI_EV_RELEASE, 3, 3);
    tap(&r, "key:2");
    tap(&r, "key:4");
    assert_int_equal(ui_pin_length(r.ui), 2);
    tap(&r, "ok"); /* too short: not even checked */
    assert_int_equal(F.verify_calls, 0);
    tap(&r, "del");
    assert_int_equal(ui_pin_length(r.ui), 1);
    tap(&r, "key:4");
    tap(&r, "key:6");
    tap(&r, "key:8");
    tap(&r, "ok");
    assert_int_equal(F.verify_calls, 1);
    SCREEN(r, SCREEN_SUPERVISOR);
    assert_int_equal(ui_pin_length(r.ui), 0);
    int64_t today = ptime_vn_day(T0 / 1000);
    assert_int_equal(ui_supervisor_day(r.ui), today);
    assert_int_equal(F.report_days[F.n_reports - 1], today);
    ui_free(r.ui);
}

static void test_five_wrong_pins_lock_for_five_minutes(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 1920, 1080);
    hold_corner(&r, UI_CORNER_HOLD_MS);
    for(int i = 0; i < UI_PIN_TRIES - 1; i++) {
        pin(&r, "1111");
        assert_int_equal(ui_pin_failures(r.ui), i + 1);
        assert_false(ui_pin_locked(r.ui, r.now));
    }
    pin(&r, "1111");
    assert_true(ui_pin_locked(r.ui, r.now));
    int calls = F.verify_calls;
    /* Locked: even the right PIN is not checked. */
    pin(&r, "2468");
    assert_int_equal(F.verify_calls, calls);
    assert_int_equal(ui_pin_length(r.ui), 0);
    SCREEN(r, SCREEN_PIN);
    /* The pad went back to the start screen meanwhile; the lock holds across reopening. */
    later(&r, 20000);
    SCREEN(r, SCREEN_AREA);
    later(&r, UI_PIN_LOCK_MS - 40000);
    hold_corner(&r, UI_CORNER_HOLD_MS);
    assert_true(ui_pin_locked(r.ui, r.now));
    pin(&r, "2468");
    assert_int_equal(F.verify_calls, calls);
    later(&r, 15000);
    assert_false(ui_pin_locked(r.ui, r.now));
    pin(&r, "2468");
    SCREEN(r, SCREEN_SUPERVISOR);
    ui_free(r.ui);
}

static UiPinState saved_pin;
static int pin_saves;
static void f_pin_state(void *u, const UiPinState *st)
{
    (void)u;
    saved_pin = *st;
    pin_saves++;
}

static void test_pin_state_survives_a_restart(void **st)
{
    (void)st;
    memset(&F, 0, sizeof F);
    UiSink sink = SINK;
    sink.pin_state = f_pin_state;
    UiConfig cfg = {.areas = {AREA_DAT_DAI, AREA_XAY_DUNG}, .n_areas = 2, .scale = SCALE_TTHC3, .unit = "u1",
                    .supervisor_enabled = true};
    Rig r = {ui_new(&cfg, &sink, 800, 480, T0), T0};
    memset(&saved_pin, 0, sizeof saved_pin);
    hold_corner(&r, UI_CORNER_HOLD_MS);
    for(int i = 0; i < UI_PIN_TRIES; i++)
        pin(&r, "0000");
    assert_true(ui_pin_locked(r.ui, r.now));
    /* Handed to the app to keep: locked until, the first lock. */
    assert_true(saved_pin.locked_until > r.now && saved_pin.locked_until <= r.now + UI_PIN_LOCK_MS);
    assert_int_equal(saved_pin.locks, 1);
    assert_int_equal(saved_pin.failures, 0);
    ui_free(r.ui);

    /* The app restarts a minute later and restores it: the right PIN is still not even checked. */
    Rig r2 = {ui_new(&cfg, &sink, 800, 480, r.now + 60000), r.now + 60000};
    UiPinState kept = saved_pin;
    ui_seed_pin_state(r2.ui, &kept);
    hold_corner(&r2, UI_CORNER_HOLD_MS);
    int calls = F.verify_calls;
    pin(&r2, "2468");
    assert_int_equal(F.verify_calls, calls);
    SCREEN(r2, SCREEN_PIN);
    /* Unlocked: wrong tries before a restart still count; the lock after them is the second (15 min). */
    at(&r2, kept.locked_until); /* (the idle pad has gone back to the start screen meanwhile) */
    SCREEN(r2, SCREEN_AREA);
    hold_corner(&r2, UI_CORNER_HOLD_MS);
    for(int i = 0; i < UI_PIN_TRIES - 2; i++)
        pin(&r2, "1357");
    assert_int_equal(saved_pin.failures, UI_PIN_TRIES - 2);
    ui_free(r2.ui);
    Rig r3 = {ui_new(&cfg, &sink, 800, 480, r2.now + 1000), r2.now + 1000};
    kept = saved_pin;
    ui_seed_pin_state(r3.ui, &kept);
    assert_int_equal(ui_pin_failures(r3.ui), UI_PIN_TRIES - 2);
    hold_corner(&r3, UI_CORNER_HOLD_MS);
    pin(&r3, "1357");
    pin(&r3, "1357");
    assert_true(ui_pin_locked(r3.ui, r3.now));
    assert_int_equal(ui_pin_locks(r3.ui), 2);
    assert_true(saved_pin.locked_until > r3.now + 14 * 60000 && saved_pin.locked_until <= r3.now + 15 * 60000);
    ui_free(r3.ui);

    /* A lock from a file far in the future (bad clock, bad file) is capped at its own length. */
    Rig r4 = {ui_new(&cfg, &sink, 800, 480, T0), T0};
    ui_seed_pin_state(r4.ui, &(UiPinState){.locks = 1, .locked_until = T0 + 365LL * 86400 * 1000});
    assert_true(ui_pin_locked(r4.ui, T0 + UI_PIN_LOCK_MS - 1));
    assert_false(ui_pin_locked(r4.ui, T0 + UI_PIN_LOCK_MS));
    ui_free(r4.ui);
}

/* Guessing gets slower and slower: 5 min, 15 min, 1 h, 4 h, then a day per 5 wrong PINs, until the right
 * PIN is entered, which starts again from 5 min. */
static void test_pin_locks_grow_to_a_day_and_the_right_pin_resets_them(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    static const int64_t want_min[] = {5, 15, 60, 240, 1440, 1440, 1440};
    for(size_t k = 0; k < sizeof want_min / sizeof want_min[0]; k++) {
        hold_corner(&r, UI_CORNER_HOLD_MS);
        int64_t t0 = 0;
        for(int i = 0; i < UI_PIN_TRIES; i++) {
            t0 = r.now;
            pin(&r, "9999");
        }
        /* The lock began at the fifth wrong "OK" (4 taps + OK of the last pin() began at t0). */
        int64_t began = t0 + 4 * 1080 + 80;
        assert_int_equal(ui_pin_locks(r.ui), (int)k + 1);
        assert_true(ui_pin_locked(r.ui, began + want_min[k] * 60000 - 1));
        assert_false(ui_pin_locked(r.ui, began + want_min[k] * 60000));
        at(&r, began + want_min[k] * 60000);
    }
    /* The supervisor comes with the right PIN: back to a 5-minute first lock. */
    F.good_pin = "246813"; /* six digits */
    hold_corner(&r, UI_CORNER_HOLD_MS);
    pin(&r, "246813");
    SCREEN(r, SCREEN_SUPERVISOR);
    assert_int_equal(ui_pin_locks(r.ui), 0);
    tap(&r, "close");
    hold_corner(&r, UI_CORNER_HOLD_MS);
    for(int i = 0; i < UI_PIN_TRIES; i++)
        pin(&r, "2468");
    assert_true(ui_pin_locked(r.ui, r.now + UI_PIN_LOCK_MS - 2000));
    assert_false(ui_pin_locked(r.ui, r.now + UI_PIN_LOCK_MS));
    ui_free(r.ui);
}

static void test_supervisor_steps_days_syncs_and_closes(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    hold_corner(&r, UI_CORNER_HOLD_MS);
    pin(&r, "2468");
    int64_t today = ptime_vn_day(T0 / 1000);
    tap(&r, "next"); /* no future days */
    assert_int_equal(ui_supervisor_day(r.ui), today);
    tap(&r, "prev");
    tap(&r, "prev");
    assert_int_equal(ui_supervisor_day(r.ui), today - 2);
    assert_int_equal(F.report_days[(F.n_reports - 1) % 64], today - 2);
    tap(&r, "next");
    assert_int_equal(ui_supervisor_day(r.ui), today - 1);
    tap(&r, "sync");
    assert_int_equal(F.n_sync, 1);
    assert_int_equal(F.sync_requests[0], (r.now - 1000) / 1000);
    /* It refreshes while open (to show when the uploader has run). */
    int reports = F.n_reports;
    later(&r, UI_SUPERVISOR_REFRESH_MS);
    assert_true(F.n_reports > reports);
    tap(&r, "close");
    SCREEN(r, SCREEN_AREA);
    assert_false(ui_quit_requested(r.ui));
    ui_free(r.ui);
}

/* After retention pruned the oldest days, ‹ stops at the first day the kiosk still holds (the screen also
 * says which day that is). */
static void test_supervisor_does_not_step_before_the_kept_history(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    int64_t today = ptime_vn_day(T0 / 1000);
    F.history_from = today - 2;
    hold_corner(&r, UI_CORNER_HOLD_MS);
    pin(&r, "2468");
    for(int i = 0; i < 5; i++)
        tap(&r, "prev");
    assert_int_equal(ui_supervisor_day(r.ui), today - 2);
    tap(&r, "next");
    assert_int_equal(ui_supervisor_day(r.ui), today - 1);
    ui_free(r.ui);
}

static void test_forgotten_supervisor_screen_closes(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    hold_corner(&r, UI_CORNER_HOLD_MS);
    pin(&r, "2468");
    SCREEN(r, SCREEN_SUPERVISOR);
    for(int64_t t = 0; t < UI_SUPERVISOR_IDLE_MS - 2000; t += 1000)
        later(&r, 1000);
    SCREEN(r, SCREEN_SUPERVISOR);
    later(&r, 2000);
    SCREEN(r, SCREEN_AREA);
    ui_free(r.ui);
}

static void test_exit_app_needs_the_pin_again(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    hold_corner(&r, UI_CORNER_HOLD_MS);
    pin(&r, "2468");
    tap(&r, "exit");
    SCREEN(r, SCREEN_PIN);
    tap(&r, "cancel");
    SCREEN(r, SCREEN_SUPERVISOR);
    assert_false(ui_quit_requested(r.ui));
    tap(&r, "exit");
    pin(&r, "1357");
    assert_false(ui_quit_requested(r.ui));
    pin(&r, "2468");
    assert_true(ui_quit_requested(r.ui));
    ui_free(r.ui);
}

static void test_supervisor_disabled_without_pin_hash(void **st)
{
    (void)st;
    memset(&F, 0, sizeof F);
    UiConfig cfg = {.areas = {AREA_DAT_DAI, AREA_XAY_DUNG}, .n_areas = 2, .scale = SCALE_TTHC3, .unit = "u1",
                    .supervisor_enabled = false};
    Ui *ui = ui_new(&cfg, &SINK, 800, 480, T0);
    UiTarget t;
    assert_false(ui_find_target(ui, "corner", &t));
    UiEvent e = {UI_EV_PRESS, 2, 2, 0, 0};
    ui_update(ui, &e, T0);
    e.type = UI_EV_TICK;
    ui_update(ui, &e, T0 + 10000);
    assert_int_equal(ui_screen(ui), SCREEN_AREA);
    ui_free(ui);
}

/* ---- Time ------------------------------------------------------------------------------------------ */

static void test_clock_going_back_keeps_timers(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    tap(&r, "area:dat_dai");
    /* NTP pulls the clock back an hour: the idle reset still comes 20 s after the tap, not an hour later. */
    at(&r, r.now - 3600 * 1000);
    later(&r, 18000);
    SCREEN(r, SCREEN_RATING);
    later(&r, 1100);
    SCREEN(r, SCREEN_AREA);
    ui_free(r.ui);
}

/* ---- Input: one touch, one tap --------------------------------------------------------------------- */

static int feed(Rig *r, UiInput *in, SDL_Event *e)
{
    UiEvent out;
    if(!ui_input_translate(in, e, ui_width(r->ui), ui_height(r->ui), &out))
        return 0;
    ui_update(r->ui, &out, r->now);
    return 1;
}

static void touch(Rig *r, UiInput *in, const char *name, bool with_twins)
{
    UiTarget t;
    assert_true(ui_find_target(r->ui, name, &t));
    float x = t.r.x + t.r.w / 2, y = t.r.y + t.r.h / 2;
    SDL_Event e;
    memset(&e, 0, sizeof e);
    int delivered = 0;
    e.type = SDL_FINGERDOWN;
    e.tfinger.touchId = 7, e.tfinger.fingerId = 1;
    e.tfinger.x = x / (float)ui_width(r->ui), e.tfinger.y = y / (float)ui_height(r->ui);
    delivered += feed(r, in, &e);
    if(with_twins) {
        SDL_Event m = {0};
        m.type = SDL_MOUSEBUTTONDOWN;
        m.button.which = SDL_TOUCH_MOUSEID, m.button.button = SDL_BUTTON_LEFT, m.button.x = (int)x, m.button.y = (int)y;
        delivered += feed(r, in, &m);
        /* A second finger landing meanwhile (a palm) is ignored too. */
        SDL_Event f2 = e;
        f2.tfinger.fingerId = 2;
        delivered += feed(r, in, &f2);
        f2.type = SDL_FINGERUP;
        delivered += feed(r, in, &f2);
    }
    r->now += 80;
    e.type = SDL_FINGERUP;
    delivered += feed(r, in, &e);
    if(with_twins) {
        SDL_Event m = {0};
        m.type = SDL_MOUSEBUTTONUP;
        m.button.which = SDL_TOUCH_MOUSEID, m.button.button = SDL_BUTTON_LEFT, m.button.x = (int)x, m.button.y = (int)y;
        delivered += feed(r, in, &m);
    }
    assert_int_equal(delivered, 2); /* exactly one press and one release reached the UI */
    later(r, 1000);
}

static void click(Rig *r, UiInput *in, const char *name)
{
    UiTarget t;
    assert_true(ui_find_target(r->ui, name, &t));
    SDL_Event m = {0};
    m.type = SDL_MOUSEBUTTONDOWN;
    m.button.which = 0, m.button.button = SDL_BUTTON_LEFT;
    m.button.x = (int)(t.r.x + t.r.w / 2), m.button.y = (int)(t.r.y + t.r.h / 2);
    assert_int_equal(feed(r, in, &m), 1);
    m.type = SDL_MOUSEBUTTONUP;
    r->now += 80;
    assert_int_equal(feed(r, in, &m), 1);
    later(r, 1000);
}

static void test_touch_and_its_mouse_twin_count_once(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 1280, 800);
    UiInput in = {0};
    touch(&r, &in, "area:dat_dai", true);
    SCREEN(r, SCREEN_RATING);
    touch(&r, &in, "face:1", true);
    assert_int_equal(F.add_calls, 1);
    SCREEN(r, SCREEN_REASONS);
    touch(&r, &in, "reason:cho_doi", true);
    assert_int_equal(ui_reasons(r.ui), 1u << REASON_CHO_DOI); /* toggled once, not on and off again */
    touch(&r, &in, "send", false);
    assert_int_equal(F.n_fu, 1);
    ui_free(r.ui);
}

static void test_real_mouse_works_too(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 1280, 800);
    UiInput in = {0};
    click(&r, &in, "area:xay_dung");
    click(&r, &in, "face:2");
    assert_int_equal(F.n_saved, 1);
    assert_int_equal(F.saved[0].area, AREA_XAY_DUNG);
    /* A finger SDL made up from the mouse (SDL_HINT_MOUSE_TOUCH_EVENTS) is not a second tap. */
    SDL_Event f = {0};
    f.type = SDL_FINGERDOWN;
    f.tfinger.touchId = SDL_MOUSE_TOUCHID;
    assert_int_equal(feed(&r, &in, &f), 0);
    /* Right button is not a tap. */
    SDL_Event m = {0};
    m.type = SDL_MOUSEBUTTONDOWN;
    m.button.button = SDL_BUTTON_RIGHT;
    assert_int_equal(feed(&r, &in, &m), 0);
    ui_free(r.ui);
}

/* A finger's release was lost (a flaky panel driver). The next touch must still work, at once, both in the
 * input translation and in the screens. */
static SDL_Event finger(Uint32 type, SDL_FingerID id, Uint32 at_ms, const Rig *r, const UiTarget *t)
{
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.tfinger.timestamp = at_ms;
    e.tfinger.touchId = 7, e.tfinger.fingerId = id;
    e.tfinger.x = (t->r.x + t->r.w / 2) / (float)ui_width(r->ui);
    e.tfinger.y = (t->r.y + t->r.h / 2) / (float)ui_height(r->ui);
    return e;
}

static void test_a_lost_finger_up_does_not_block_the_next_touch(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 1280, 800);
    UiInput in = {0};
    UiTarget area, other;
    assert_true(ui_find_target(r.ui, "area:dat_dai", &area));
    assert_true(ui_find_target(r.ui, "area:y_te", &other));
    SDL_Event e = finger(SDL_FINGERDOWN, 1, 1000, &r, &area);
    assert_int_equal(feed(&r, &in, &e), 1);
    /* Its FINGERUP never comes. A palm (another finger) soon after is still ignored... */
    e = finger(SDL_FINGERDOWN, 2, 3000, &r, &other);
    assert_int_equal(feed(&r, &in, &e), 0);
    /* ...but the same finger going down again means its release was lost: that touch counts. */
    e = finger(SDL_FINGERDOWN, 1, 4000, &r, &other);
    assert_int_equal(feed(&r, &in, &e), 1);
    e = finger(SDL_FINGERUP, 1, 4080, &r, &other);
    assert_int_equal(feed(&r, &in, &e), 1);
    SCREEN(r, SCREEN_RATING);
    assert_int_equal(ui_area(r.ui), AREA_Y_TE);

    /* Lost again; this time another finger comes, long after the followed one last moved. */
    UiTarget face;
    assert_true(ui_find_target(r.ui, "face:3", &face));
    UiTarget back;
    assert_true(ui_find_target(r.ui, "back", &back));
    e = finger(SDL_FINGERDOWN, 3, 5000, &r, &back);
    assert_int_equal(feed(&r, &in, &e), 1);
    e = finger(SDL_FINGERDOWN, 4, 5000 + UI_TOUCH_LOST_MS, &r, &face);
    assert_int_equal(feed(&r, &in, &e), 1);
    e = finger(SDL_FINGERUP, 4, 5080 + UI_TOUCH_LOST_MS, &r, &face);
    assert_int_equal(feed(&r, &in, &e), 1);
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(F.n_saved, 1);
    ui_free(r.ui);
}

static void test_a_press_whose_release_never_comes_is_let_go(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    UiTarget t;
    assert_true(ui_find_target(r.ui, "area:y_te", &t));
    ev(&r, UI_EV_PRESS, t.r.x + 5, t.r.y + 5);
    assert_int_equal(ui_next_deadline(r.ui), r.now + UI_TOUCH_LOST_MS);
    later(&r, UI_TOUCH_LOST_MS - 1);
    uint64_t v = ui_version(r.ui);
    later(&r, 1);
    assert_true(ui_version(r.ui) != v); /* redrawn unpressed */
    assert_int_equal(ui_next_deadline(r.ui), INT64_MAX); /* the start screen waits for nobody */
    /* The late release of that press does nothing; a new tap works. */
    ev(&r, UI_EV_RELEASE, t.r.x + 5, t.r.y + 5);
    SCREEN(r, SCREEN_AREA);
    tap(&r, "area:dat_dai");
    SCREEN(r, SCREEN_RATING);
    /* A press arriving while one is still tracked replaces it (ui_input lets one through only when the
     * tracked one's release was lost). */
    UiTarget a, b;
    assert_true(ui_find_target(r.ui, "back", &a));
    assert_true(ui_find_target(r.ui, "face:2", &b));
    ev(&r, UI_EV_PRESS, a.r.x + 5, a.r.y + 5);
    ev(&r, UI_EV_PRESS, b.r.x + 5, b.r.y + 5);
    ev(&r, UI_EV_RELEASE, b.r.x + 5, b.r.y + 5);
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(F.saved[0].score, 2);
    ui_free(r.ui);
}

/* ---- The later questions ---------------------------------------------------------------------------- */

/* With all three questions on, a satisfied citizen is done in 5 taps: area, face, service face, who, wait.
 * The rating is saved (and held) at the face; each answer is added as its screen closes. */
static void test_all_questions_satisfied_citizen_done_in_five_taps(void **st)
{
    (void)st;
    Rig r = rig_with(3, SCALE_TTHC3, 800, 480, (Opts){ASK_ALL, false, NULL});
    tap(&r, "area:dat_dai");
    tap(&r, "face:3");
    SCREEN(r, SCREEN_SERVICE);
    assert_int_equal(F.n_saved, 1);
    assert_true(F.asking[0]); /* held from upload while the questions are on screen */
    assert_int_equal(F.saved[0].service_score, 0);
    tap(&r, "face:2");
    SCREEN(r, SCREEN_RESPONDENT); /* satisfied with both: no reasons */
    tap(&r, "respondent:doanh_nghiep");
    SCREEN(r, SCREEN_WAIT);
    tap(&r, "wait:15_30");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(taps, 5);
    assert_int_equal(F.n_saved, 1);
    assert_int_equal(F.n_fu, 3);
    assert_true(F.more[0] && F.more[1] && !F.more[2]); /* the last answer ends the hold */
    const ProtoRating *a = &F.answers[2];
    assert_string_equal(a->id, F.saved[0].id);
    assert_int_equal(a->score, 3);
    assert_int_equal(a->service_score, 2);
    assert_int_equal(a->respondent, RESPONDENT_DOANH_NGHIEP);
    assert_int_equal(a->wait, WAIT_15_30);
    assert_int_equal(a->followup, FOLLOWUP_NONE);
    assert_int_equal(F.answers[0].service_score, 2); /* each call carries every answer so far */
    assert_int_equal(F.answers[0].respondent, RESPONDENT_NONE);
    ProtoError e;
    assert_int_equal(proto_rating_validate(a, &e), PROTO_OK);
    ui_free(r.ui);
}

/* ... and a dissatisfied one who gives one reason in 7: area, face, service face, reason, Gửi, who, wait. */
static void test_all_questions_dissatisfied_citizen_with_one_reason_done_in_seven_taps(void **st)
{
    (void)st;
    Rig r = rig_with(3, SCALE_TTHC3, 1920, 1080, (Opts){ASK_ALL, false, NULL});
    tap(&r, "area:y_te");
    tap(&r, "face:1");
    tap(&r, "face:1");
    SCREEN(r, SCREEN_REASONS);
    tap(&r, "reason:cho_doi");
    tap(&r, "send");
    SCREEN(r, SCREEN_RESPONDENT);
    tap(&r, "respondent:nguoi_dan");
    tap(&r, "wait:tren_30");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(taps, 7);
    assert_int_equal(F.n_fu, 4);
    const ProtoRating *a = &F.answers[3];
    assert_int_equal(a->service_score, 1);
    assert_int_equal(a->followup, FOLLOWUP_ANSWERED);
    assert_int_equal(a->reasons, 1u << REASON_CHO_DOI);
    assert_int_equal(a->respondent, RESPONDENT_NGUOI_DAN);
    assert_int_equal(a->wait, WAIT_TREN_30);
    assert_false(F.more[3]);
    ui_free(r.ui);
}

/* With every question off the flow is as it always was: 2 taps satisfied, 4 with one reason, no answer
 * call for a satisfied rating and no hold. */
static void test_with_every_question_off_the_flow_is_as_before(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    tap(&r, "area:dat_dai");
    tap(&r, "face:2");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(taps, 2);
    assert_false(F.asking[0]);
    assert_int_equal(F.n_fu, 0);
    later(&r, UI_THANKS_MS + UI_RAPID_REPEAT_MS);
    taps = 0;
    tap(&r, "area:dat_dai");
    tap(&r, "face:1");
    tap(&r, "reason:thu_tuc");
    tap(&r, "send");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(taps, 4);
    assert_true(F.asking[1]);
    assert_int_equal(F.n_fu, 1);
    assert_false(F.more[0]);
    assert_false(proto_rating_needs_schema2(&F.answers[0]));
    /* No new screen, no "Nghe" button, nothing read. */
    UiTarget t;
    assert_false(ui_find_target(r.ui, "listen", &t));
    assert_int_equal(F.say_calls, 0);
    ui_free(r.ui);
}

/* Satisfied with the procedure but not with the service: the reasons come too. */
static void test_a_not_satisfied_service_face_asks_the_reasons(void **st)
{
    (void)st;
    Rig r = rig_with(3, SCALE_LIKERT5, 800, 480, (Opts){ASK_SERVICE, false, NULL});
    tap(&r, "area:dat_dai");
    tap(&r, "face:5");
    SCREEN(r, SCREEN_SERVICE);
    assert_true(F.asking[0]);
    tap(&r, "face:3"); /* likert5: 3 is not satisfied */
    SCREEN(r, SCREEN_REASONS);
    assert_true(F.more[0]);
    tap(&r, "skip");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(F.answers[1].followup, FOLLOWUP_SKIPPED);
    assert_int_equal(F.answers[1].service_score, 3);
    assert_false(F.more[1]);
    ui_free(r.ui);
}

/* "Bỏ qua" on each new screen leaves that answer empty and goes on; the last call ends the hold. */
static void test_each_later_question_can_be_skipped(void **st)
{
    (void)st;
    Rig r = rig_with(3, SCALE_TTHC3, 1080, 1920, (Opts){ASK_ALL, false, NULL});
    tap(&r, "area:dat_dai");
    tap(&r, "face:1");
    tap(&r, "skip");
    SCREEN(r, SCREEN_REASONS); /* the procedure was not satisfying: reasons still asked */
    tap(&r, "skip");
    tap(&r, "skip");
    SCREEN(r, SCREEN_WAIT);
    tap(&r, "skip");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(F.n_fu, 4);
    const ProtoRating *a = &F.answers[3];
    assert_int_equal(a->service_score, 0);
    assert_int_equal(a->followup, FOLLOWUP_SKIPPED);
    assert_int_equal(a->respondent, RESPONDENT_NONE);
    assert_int_equal(a->wait, WAIT_NONE);
    assert_true(F.more[0] && F.more[1] && F.more[2] && !F.more[3]);
    ui_free(r.ui);
}

/* Walking away from any of the new screens: after idle_timeout_s (counted from the last touch) the answers
 * given are kept, a follow-up still to come is "timeout" when the reasons would be asked, the hold ends, and
 * the start screen returns. */
static void test_walking_away_from_each_new_screen(void **st)
{
    (void)st;
    static const struct {
        const char *taps[6];
        UiScreen at;
        int service;
        ProtoFollowup followup;
        ProtoRespondent who;
    } CASES[] = {
        {{"area:dat_dai", "face:1", NULL}, SCREEN_SERVICE, 0, FOLLOWUP_TIMEOUT, RESPONDENT_NONE},
        {{"area:dat_dai", "face:3", NULL}, SCREEN_SERVICE, 0, FOLLOWUP_NONE, RESPONDENT_NONE},
        {{"area:dat_dai", "face:3", "face:1", NULL}, SCREEN_REASONS, 1, FOLLOWUP_TIMEOUT, RESPONDENT_NONE},
        {{"area:dat_dai", "face:3", "face:3", NULL}, SCREEN_RESPONDENT, 3, FOLLOWUP_NONE, RESPONDENT_NONE},
        {{"area:dat_dai", "face:1", "face:1", "skip", "respondent:to_chuc", NULL}, SCREEN_WAIT, 1, FOLLOWUP_SKIPPED,
         RESPONDENT_TO_CHUC},
    };
    for(size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        Rig r = rig_with(3, SCALE_TTHC3, 800, 480, (Opts){ASK_ALL, false, NULL});
        for(int k = 0; CASES[c].taps[k]; k++)
            tap(&r, CASES[c].taps[k]);
        SCREEN(r, CASES[c].at);
        int before = F.n_fu;
        assert_int_equal(ui_next_deadline(r.ui), r.now - 1000 + 20000);
        later(&r, 18999);
        SCREEN(r, CASES[c].at);
        assert_int_equal(F.n_fu, before);
        later(&r, 1);
        SCREEN(r, SCREEN_AREA);
        assert_int_equal(F.n_fu, before + 1);
        const ProtoRating *a = &F.answers[F.n_fu - 1];
        assert_false(F.more[F.n_fu - 1]);
        if(a->service_score != CASES[c].service || a->followup != CASES[c].followup || a->respondent != CASES[c].who)
            fail_msg("case %zu: service %d follow-up %d respondent %d", c, a->service_score, a->followup,
                     a->respondent);
        assert_int_equal(a->wait, WAIT_NONE);
        ProtoError e;
        assert_int_equal(proto_rating_validate(a, &e), PROTO_OK);
        ui_free(r.ui);
    }
}

/* A save that failed and succeeded on retry goes on to the questions, and holds the rating while they show. */
static void test_storage_retry_goes_on_to_the_questions(void **st)
{
    (void)st;
    Rig r = rig_with(3, SCALE_TTHC3, 800, 480, (Opts){ASK_RESPONDENT, false, NULL});
    F.add_fails = true;
    tap(&r, "area:dat_dai");
    tap(&r, "face:2");
    SCREEN(r, SCREEN_STORAGE_ERROR);
    F.add_fails = false;
    tap(&r, "retry");
    SCREEN(r, SCREEN_RESPONDENT);
    assert_true(F.asking[0]);
    tap(&r, "respondent:to_chuc");
    SCREEN(r, SCREEN_THANKS);
    assert_int_equal(F.answers[0].respondent, RESPONDENT_TO_CHUC);
    ui_free(r.ui);
}

/* ---- Spoken prompts and languages ------------------------------------------------------------------ */

static bool said(const StrId *want, size_t n)
{
    if(F.n_said != n)
        return false;
    for(size_t i = 0; i < n; i++)
        if(F.said[i] != want[i])
            return false;
    return true;
}

/* "Nghe" reads the screen (question, then choices) and turns listening on: a first touch reads a tile and asks
 * for a second; the second touch on the same tile chooses it; a touch elsewhere reads that one instead. Every
 * next screen is read as it opens, until the citizen is done. Taps without "Nghe" are as before. */
static void test_listening_mode_reads_first_and_chooses_on_the_second_touch(void **st)
{
    (void)st;
    Rig r = rig_with(3, SCALE_TTHC3, 800, 480, (Opts){ASK_SERVICE, true, NULL});
    assert_false(ui_listening(r.ui));
    tap(&r, "listen");
    assert_true(ui_listening(r.ui));
    const StrId area[] = {STR_AREA_TITLE, STR_AREA_DAT_DAI, STR_AREA_XAY_DUNG, STR_AREA_Y_TE};
    assert_true(said(area, 4));
    tap(&r, "area:y_te");
    SCREEN(r, SCREEN_AREA); /* only read */
    const StrId ask[] = {STR_AREA_Y_TE, STR_LISTEN_AGAIN};
    assert_true(said(ask, 2));
    tap(&r, "area:y_te");
    SCREEN(r, SCREEN_RATING); /* chosen, and the new screen is read */
    const StrId rating[] = {STR_RATING_TITLE, STR_LEVEL_TTHC3_1, STR_LEVEL_TTHC3_2, STR_LEVEL_TTHC3_3};
    assert_true(said(rating, 4));
    tap(&r, "face:3");
    tap(&r, "face:1"); /* another face: that one is read instead */
    const StrId one[] = {STR_LEVEL_TTHC3_1, STR_LISTEN_AGAIN};
    assert_true(said(one, 2));
    assert_int_equal(F.n_saved, 0);
    tap(&r, "face:1");
    assert_int_equal(F.n_saved, 1);
    assert_int_equal(F.saved[0].score, 1);
    SCREEN(r, SCREEN_SERVICE);
    const StrId service[] = {STR_SERVICE_TITLE, STR_SERVICE_HINT, STR_LEVEL_TTHC3_1, STR_LEVEL_TTHC3_2,
                             STR_LEVEL_TTHC3_3};
    assert_true(said(service, 5));
    tap(&r, "skip");
    tap(&r, "skip");
    SCREEN(r, SCREEN_REASONS);
    const StrId reasons_head[] = {STR_REASONS_TITLE, STR_REASONS_HINT, STR_REASON_CHO_DOI};
    assert_true(F.n_said == 2 + REASON_COUNT + 1 && memcmp(F.said, reasons_head, sizeof reasons_head) == 0 &&
                F.said[F.n_said - 1] == STR_SEND);
    tap(&r, "reason:khac");
    tap(&r, "reason:khac");
    assert_int_equal(ui_reasons(r.ui), 1u << REASON_KHAC);
    tap(&r, "send");
    tap(&r, "send");
    SCREEN(r, SCREEN_THANKS);
    const StrId thanks[] = {STR_THANKS_TITLE, STR_THANKS_BODY};
    assert_true(said(thanks, 2));
    assert_int_equal(F.answers[F.n_fu - 1].reasons, 1u << REASON_KHAC);
    /* The next citizen starts without listening mode, and the reading stops. */
    later(&r, UI_THANKS_MS);
    SCREEN(r, SCREEN_AREA);
    assert_false(ui_listening(r.ui));
    assert_int_equal(F.n_said, 0);
    size_t calls = F.say_calls;
    tap(&r, "area:dat_dai");
    SCREEN(r, SCREEN_RATING);
    assert_int_equal(F.say_calls, calls);
    ui_free(r.ui);
}

/* The "Nghe" button is on every citizen screen when voice is on, and only then; without a way to speak
 * (no sound device: no say in the sink) there is none. */
static void test_listen_button_is_on_every_citizen_screen(void **st)
{
    (void)st;
    Rig r = rig_with(3, SCALE_TTHC3, 800, 480, (Opts){ASK_ALL, true, NULL});
    UiTarget t;
    const char *path[] = {"area:dat_dai", "face:1", "face:1", "send", "respondent:nguoi_dan", "wait:duoi_15", NULL};
    for(int k = 0; path[k]; k++) {
        if(!ui_find_target(r.ui, "listen", &t))
            fail_msg("no Nghe button on %s", ui_screen_name(ui_screen(r.ui)));
        tap(&r, path[k]);
    }
    SCREEN(r, SCREEN_THANKS);
    ui_free(r.ui);
    UiSink mute = SINK;
    mute.say = NULL;
    UiConfig cfg = {.areas = {AREA_DAT_DAI}, .n_areas = 1, .scale = SCALE_TTHC3, .unit = "u", .voice = true};
    Ui *ui = ui_new(&cfg, &mute, 800, 480, T0);
    assert_false(ui_find_target(ui, "listen", &t));
    ui_free(ui);
}

/* With more than one pack installed a language button on the start screen switches to the next pack; the
 * next citizen starts in the configured language again. With one pack there is no button. */
static void test_language_button_switches_for_one_citizen(void **st)
{
    (void)st;
    StrPacks *packs = str_packs_load(TEST_SOURCE_DIR "/assets/lang", NULL, NULL);
    assert_non_null(packs);
    int en = str_packs_find(packs, "en");
    assert_true(en > 0);
    Rig r = rig_with(3, SCALE_TTHC3, 800, 480, (Opts){0, true, packs});
    assert_int_equal(ui_lang(r.ui), 0);
    tap(&r, "listen");
    tap(&r, "lang");
    assert_int_equal(ui_lang(r.ui), (size_t)en);
    assert_int_equal(F.said_lang, (size_t)en); /* read again, in English */
    assert_int_equal(F.said[0], STR_AREA_TITLE);
    tap(&r, "area:dat_dai");
    tap(&r, "area:dat_dai");
    UiTarget t;
    assert_false(ui_find_target(r.ui, "lang", &t)); /* only on the start screen */
    assert_int_equal(ui_lang(r.ui), (size_t)en);
    tap(&r, "face:3");
    tap(&r, "face:3");
    later(&r, UI_THANKS_MS);
    SCREEN(r, SCREEN_AREA);
    assert_int_equal(ui_lang(r.ui), 0);
    ui_free(r.ui);
    str_packs_free(packs);
    r = rig(3, SCALE_TTHC3, 800, 480);
    assert_false(ui_find_target(r.ui, "lang", &t));
    ui_free(r.ui);
}

/* ---- Layout at every supported size ---------------------------------------------------------------- */

static const int SIZES[][2] = {{800, 480}, {1024, 600}, {1280, 800}, {1920, 1080}, {1080, 1920}};

static void check_targets(const Ui *ui)
{
    UiTarget t[UI_MAX_TARGETS];
    size_t n = ui_targets(ui, t);
    float W = (float)ui_width(ui), H = (float)ui_height(ui), S = W < H ? W : H;
    assert_true(n > 0);
    for(size_t i = 0; i < n; i++) {
        const UiRect *a = &t[i].r;
        assert_true(a->x >= 0 && a->y >= 0 && a->x + a->w <= W + 0.5f && a->y + a->h <= H + 0.5f);
        if(t[i].kind != T_CORNER && t[i].kind != T_DAY_PREV && t[i].kind != T_DAY_NEXT && t[i].kind != T_SYNC &&
           t[i].kind != T_CLOSE && t[i].kind != T_EXIT_APP) {
            /* Faces, tiles, keys and citizen buttons: at least ~1/6 of the short side both ways. */
            if(fminf(a->w, a->h) < S / 6.0f - 1.0f)
                fail_msg("%s: target %d/%d is %.0fx%.0f at %dx%d", ui_screen_name(ui_screen(ui)), t[i].kind, t[i].index,
                         a->w, a->h, (int)W, (int)H);
        } else if(t[i].kind != T_CORNER) {
            assert_true(fminf(a->w, a->h) >= S * 0.12f); /* supervisor buttons: smaller but still easy */
        }
        for(size_t j = i + 1; j < n; j++) { /* no two targets overlap */
            const UiRect *b = &t[j].r;
            bool apart = a->x + a->w <= b->x || b->x + b->w <= a->x || a->y + a->h <= b->y || b->y + b->h <= a->y;
            if(!apart)
                fail_msg("%s at %dx%d: targets %d and %d overlap", ui_screen_name(ui_screen(ui)), (int)W, (int)H,
                         t[i].kind, t[j].kind);
        }
    }
}

static void test_targets_are_big_and_apart_at_every_size(void **st)
{
    (void)st;
    for(size_t s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
        for(int scale = 0; scale < SCALE_COUNT; scale++) {
            Rig r = rig(4, (ProtoScale)scale, SIZES[s][0], SIZES[s][1]);
            check_targets(r.ui);              /* area */
            tap(&r, "area:dat_dai");
            check_targets(r.ui);              /* rating */
            tap(&r, "face:1");
            check_targets(r.ui);              /* reasons */
            tap(&r, "skip");
            later(&r, UI_THANKS_MS);
            F.add_fails = true;
            tap(&r, "area:dat_dai");
            tap(&r, "face:2");
            check_targets(r.ui);              /* storage error */
            later(&r, 20000);
            hold_corner(&r, UI_CORNER_HOLD_MS);
            check_targets(r.ui);              /* pin */
            pin(&r, "2468");
            check_targets(r.ui);              /* supervisor */
            ui_free(r.ui);
        }
    }
}

static void test_new_screens_targets_are_big_and_apart_at_every_size(void **st)
{
    (void)st;
    StrPacks *packs = str_packs_load(TEST_SOURCE_DIR "/assets/lang", NULL, NULL);
    for(size_t s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
        for(int scale = 0; scale < SCALE_COUNT; scale++) {
            for(size_t areas = 1; areas <= 4; areas += 3) {
                Rig r = rig_with(areas, (ProtoScale)scale, SIZES[s][0], SIZES[s][1], (Opts){ASK_ALL, true, packs});
                check_targets(r.ui); /* area (or rating), with the Nghe and language buttons */
                if(areas > 1)
                    tap(&r, "area:dat_dai");
                check_targets(r.ui);
                tap(&r, "face:1");
                check_targets(r.ui); /* service */
                tap(&r, "face:1");
                check_targets(r.ui); /* reasons */
                tap(&r, "skip");
                check_targets(r.ui); /* respondent */
                tap(&r, "skip");
                check_targets(r.ui); /* wait */
                ui_free(r.ui);
            }
        }
    }
    str_packs_free(packs);
}

static void test_resize_moves_targets(void **st)
{
    (void)st;
    Rig r = rig(3, SCALE_TTHC3, 800, 480);
    UiTarget before, after;
    assert_true(ui_find_target(r.ui, "area:y_te", &before));
    uint64_t v = ui_version(r.ui);
    UiEvent e = {UI_EV_RESIZE, 0, 0, 1080, 1920};
    ui_update(r.ui, &e, r.now);
    assert_true(ui_version(r.ui) != v);
    assert_true(ui_find_target(r.ui, "area:y_te", &after));
    assert_true(after.r.y > before.r.y + 400); /* stacked in portrait */
    ui_free(r.ui);
}

/* ---- Text -------------------------------------------------------------------------------------------- */

/* Decodes one UTF-8 sequence; returns its length, 0 when malformed. */
static int utf8(const unsigned char *s, uint32_t *cp)
{
    if(s[0] < 0x80) { *cp = s[0]; return 1; }
    int n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if(!n)
        return 0;
    uint32_t c = s[0] & (0x7F >> n);
    for(int i = 1; i < n; i++) {
        if((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    *cp = c;
    return n;
}

static void check_nfc(const char *s, const char *what)
{
    for(const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp = 0;
        int n = utf8(p, &cp);
        if(!n)
            fail_msg("%s: invalid UTF-8", what);
        /* Combining diacritics (U+0300-U+036F) only appear in decomposed (NFD) Vietnamese. */
        if(cp >= 0x300 && cp <= 0x36F)
            fail_msg("%s: combining mark U+%04X (not NFC): \"%s\"", what, cp, s);
        p += n;
    }
}

static void test_every_string_is_nfc_and_present(void **st)
{
    (void)st;
    for(int i = 0; i < STR_COUNT; i++) {
        char what[32];
        snprintf(what, sizeof what, "string %d", i);
        assert_true(strlen(str((StrId)i)) > 0);
        check_nfc(str((StrId)i), what);
    }
    for(int a = 0; a < AREA_COUNT; a++)
        check_nfc(proto_area_name_vi((ProtoArea)a), "area name");
    for(int r = 0; r < REASON_COUNT; r++)
        check_nfc(proto_reason_name_vi((ProtoReason)r), "reason name");
    /* Polite address in every question to the citizen. */
    assert_non_null(strstr(str(STR_AREA_TITLE), "Ông/Bà"));
    assert_non_null(strstr(str(STR_RATING_TITLE), "Ông/Bà"));
    assert_non_null(strstr(str(STR_THANKS_TITLE), "Ông/Bà"));
    assert_string_equal(str(STR_COUNT), "");
}

/* No table entry is a printf format: texts with a value have exactly the slots strings.h says, and
 * str_fill puts the value there without interpreting anything, cutting whole characters when short. */
/* No table entry is a printf format: texts with a value have exactly the slots strings.h declares, and
 * str_fill puts the value there without interpreting anything, cutting whole characters when short. */
static void test_string_templates_have_their_slots_and_fill_safely(void **st)
{
    (void)st;
    int with_slot = 0;
    for(int i = 0; i < STR_COUNT; i++) {
        int n = 0;
        for(const char *p = str((StrId)i); (p = strstr(p, "{}")); p += 2)
            n++;
        if(n != str_slots((StrId)i))
            fail_msg("string %s has %d slots, strings.h says %d", str_key((StrId)i), n, str_slots((StrId)i));
        with_slot += n;
        /* No conversion is left over from printf days (a "%" alone is text, as in "(không tính %)"). */
        for(const char *p = str((StrId)i); (p = strchr(p, '%')); p++)
            if(p[1] && strchr("sdiluxcfg%*.-0123456789", p[1]))
                fail_msg("string %d looks like a printf format: %s", i, str((StrId)i));
    }
    assert_int_equal(with_slot, 15);
    char out[64];
    assert_string_equal(str_fill(out, sizeof out, STR_SUP_PENDING, "%s%n%s"), "Chưa tải lên: %s%n%s");
    assert_string_equal(str_fill(out, sizeof out, STR_SUP_FLAGGED, "3"), "Nghi lạm dụng (không tính %): 3");
    assert_string_equal(str_fill(out, sizeof out, STR_SUP_NO_ERROR, "ignored"), str(STR_SUP_NO_ERROR));
    /* Cut short, the text keeps whole characters only ("ĩ" is two bytes). */
    char tiny[8];
    str_fill(tiny, sizeof tiny, STR_RATING_AREA, "Đất đai"); /* "Lĩnh v" is 7 bytes: L ĩ(2) n h space v */
    assert_string_equal(tiny, "Lĩnh v");
    str_fill(tiny, 4, STR_RATING_AREA, "x"); /* "Lĩ" is 3 bytes: fits exactly */
    assert_string_equal(tiny, "Lĩ");
    str_fill(tiny, 3, STR_RATING_AREA, "x"); /* 2 bytes room: ĩ does not fit whole, so it is left out */
    assert_string_equal(tiny, "L");
}

static double lin(uint8_t c)
{
    double v = c / 255.0;
    return v <= 0.03928 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}
static double lum(SDL_Color c) { return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b); }

static void test_text_contrast_is_at_least_4_5(void **st)
{
    (void)st;
    const UiColorPair *p;
    size_t n = ui_theme_text_pairs(&p);
    assert_true(n >= 8);
    for(size_t i = 0; i < n; i++) {
        double a = lum(p[i].fg), b = lum(p[i].bg);
        double ratio = (fmax(a, b) + 0.05) / (fmin(a, b) + 0.05);
        if(ratio < 4.5)
            fail_msg("%s: contrast %.2f < 4.5", p[i].what, ratio);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_satisfied_rating_is_saved_before_thanks),
        cmocka_unit_test(test_thanks_ignores_taps_and_returns_home),
        cmocka_unit_test(test_unsatisfied_asks_reasons_and_saves_answer),
        cmocka_unit_test(test_send_without_reasons_and_skip_are_skipped),
        cmocka_unit_test(test_walking_away_from_reasons_records_timeout),
        cmocka_unit_test(test_idle_rating_screen_returns_to_areas),
        cmocka_unit_test(test_back_returns_to_areas),
        cmocka_unit_test(test_single_area_starts_at_rating),
        cmocka_unit_test(test_press_then_slide_off_does_not_tap),
        cmocka_unit_test(test_rapid_repeat_is_flagged),
        cmocka_unit_test(test_per_minute_limit_flags_the_excess),
        cmocka_unit_test(test_restart_keeps_misuse_memory),
        cmocka_unit_test(test_storage_error_is_not_thanked_and_recovers),
        cmocka_unit_test(test_storage_error_retry_button_and_drop_after_idle),
        cmocka_unit_test(test_short_corner_press_does_nothing),
        cmocka_unit_test(test_corner_hold_and_pin_open_supervisor),
        cmocka_unit_test(test_five_wrong_pins_lock_for_five_minutes),
        cmocka_unit_test(test_pin_state_survives_a_restart),
        cmocka_unit_test(test_pin_locks_grow_to_a_day_and_the_right_pin_resets_them),
        cmocka_unit_test(test_supervisor_steps_days_syncs_and_closes),
        cmocka_unit_test(test_supervisor_does_not_step_before_the_kept_history),
        cmocka_unit_test(test_forgotten_supervisor_screen_closes),
        cmocka_unit_test(test_exit_app_needs_the_pin_again),
        cmocka_unit_test(test_supervisor_disabled_without_pin_hash),
        cmocka_unit_test(test_clock_going_back_keeps_timers),
        cmocka_unit_test(test_touch_and_its_mouse_twin_count_once),
        cmocka_unit_test(test_real_mouse_works_too),
        cmocka_unit_test(test_a_lost_finger_up_does_not_block_the_next_touch),
        cmocka_unit_test(test_a_press_whose_release_never_comes_is_let_go),
        cmocka_unit_test(test_targets_are_big_and_apart_at_every_size),
        cmocka_unit_test(test_new_screens_targets_are_big_and_apart_at_every_size),
        cmocka_unit_test(test_all_questions_satisfied_citizen_done_in_five_taps),
        cmocka_unit_test(test_all_questions_dissatisfied_citizen_with_one_reason_done_in_seven_taps),
        cmocka_unit_test(test_with_every_question_off_the_flow_is_as_before),
        cmocka_unit_test(test_a_not_satisfied_service_face_asks_the_reasons),
        cmocka_unit_test(test_each_later_question_can_be_skipped),
        cmocka_unit_test(test_walking_away_from_each_new_screen),
        cmocka_unit_test(test_storage_retry_goes_on_to_the_questions),
        cmocka_unit_test(test_listening_mode_reads_first_and_chooses_on_the_second_touch),
        cmocka_unit_test(test_listen_button_is_on_every_citizen_screen),
        cmocka_unit_test(test_language_button_switches_for_one_citizen),
        cmocka_unit_test(test_resize_moves_targets),
        cmocka_unit_test(test_every_string_is_nfc_and_present),
        cmocka_unit_test(test_string_templates_have_their_slots_and_fill_safely),
        cmocka_unit_test(test_text_contrast_is_at_least_4_5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
