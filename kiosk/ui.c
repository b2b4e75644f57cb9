/* ui.c — the screen state machine. See ui.h. Start reading at ui_update(). */
#include "kiosk/ui_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/ptime.h"
#include "sync/uuid.h"

static const char *const SCREEN_NAMES[SCREEN_COUNT] = {
    [SCREEN_AREA] = "area", [SCREEN_RATING] = "rating", [SCREEN_SERVICE] = "service", [SCREEN_REASONS] = "reasons",
    [SCREEN_RESPONDENT] = "respondent", [SCREEN_WAIT] = "wait",
    [SCREEN_THANKS] = "thanks", [SCREEN_STORAGE_ERROR] = "storage-error", [SCREEN_PIN] = "pin",
    [SCREEN_SUPERVISOR] = "supervisor",
};

static void changed(Ui *ui) { ui->version++; }

static void note(const Ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const Ui *ui, const char *fmt, ...)
{
    if(ui->sink.log) {
        char line[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        ui->sink.log(ui->sink.user, line);
    }
}

static UiScreen home(const Ui *ui) { return ui->cfg.n_areas == 1 ? SCREEN_RATING : SCREEN_AREA; }

bool ui_citizen_screen(UiScreen s)
{
    switch(s) {
    case SCREEN_AREA:
    case SCREEN_RATING:
    case SCREEN_SERVICE:
    case SCREEN_REASONS:
    case SCREEN_RESPONDENT:
    case SCREEN_WAIT:
    case SCREEN_STORAGE_ERROR: return true;
    default: return false;
    }
}

int ui_next_lang(const Ui *ui)
{
    size_t n = str_packs_count(ui->cfg.packs);
    return n > 1 ? (int)((ui->lang + 1) % n) : -1;
}

/* ---- Spoken prompts ------------------------------------------------------------------------------- */

static void say(const Ui *ui, const StrId *ids, size_t n)
{
    if(ui->cfg.voice && ui->sink.say)
        ui->sink.say(ui->sink.user, ui->lang, ids, n);
}

/* Reads the current screen aloud: its question, then its choices. */
static void read_screen(Ui *ui)
{
    StrId ids[32];
    size_t n = 0;
    int levels = proto_scale_levels(ui->cfg.scale);
    switch(ui->screen) {
    case SCREEN_AREA:
        ids[n++] = STR_AREA_TITLE;
        for(size_t i = 0; i < ui->cfg.n_areas; i++)
            ids[n++] = str_area(ui->cfg.areas[i]);
        break;
    case SCREEN_RATING:
    case SCREEN_SERVICE:
        ids[n++] = ui->screen == SCREEN_RATING ? STR_RATING_TITLE : STR_SERVICE_TITLE;
        if(ui->screen == SCREEN_SERVICE)
            ids[n++] = STR_SERVICE_HINT;
        for(int l = 1; l <= levels; l++)
            ids[n++] = str_level(ui->cfg.scale, l);
        break;
    case SCREEN_REASONS:
        ids[n++] = STR_REASONS_TITLE;
        ids[n++] = STR_REASONS_HINT;
        for(int r = 0; r < REASON_COUNT; r++)
            ids[n++] = str_reason((ProtoReason)r);
        ids[n++] = STR_SEND; /* the way on, which a citizen who cannot read must know of */
        break;
    case SCREEN_RESPONDENT:
        ids[n++] = STR_RESPONDENT_TITLE;
        for(int r = RESPONDENT_NONE + 1; r < RESPONDENT_COUNT; r++)
            ids[n++] = str_respondent((ProtoRespondent)r);
        break;
    case SCREEN_WAIT:
        ids[n++] = STR_WAIT_TITLE;
        for(int w = WAIT_NONE + 1; w < WAIT_COUNT; w++)
            ids[n++] = str_wait((ProtoWait)w);
        break;
    case SCREEN_THANKS:
        ids[n++] = STR_THANKS_TITLE;
        ids[n++] = STR_THANKS_BODY;
        break;
    case SCREEN_STORAGE_ERROR:
        ids[n++] = STR_STORAGE_TITLE;
        ids[n++] = STR_STORAGE_BODY;
        ids[n++] = STR_STORAGE_RETRY;
        break;
    default: break;
    }
    say(ui, ids, n);
}

/* What a target is called, to read it aloud before it is chosen; STR_COUNT when it has no spoken name. */
static StrId target_name(const Ui *ui, const UiTarget *t)
{
    switch(t->kind) {
    case T_AREA: return str_area(ui->cfg.areas[t->index]);
    case T_FACE: return str_level(ui->cfg.scale, t->index);
    case T_REASON: return str_reason((ProtoReason)t->index);
    case T_RESPONDENT: return str_respondent((ProtoRespondent)t->index);
    case T_WAIT: return str_wait((ProtoWait)t->index);
    case T_SEND: return STR_SEND;
    case T_SKIP: return STR_SKIP;
    case T_BACK: return STR_BACK;
    case T_RETRY: return STR_STORAGE_RETRY;
    default: return STR_COUNT;
    }
}

static void go(Ui *ui, UiScreen s, int64_t now)
{
    ui->screen = s;
    ui->screen_since = now;
    ui->last_input = now;
    ui->pressing = false;
    ui->armed = false;
    if(s == SCREEN_AREA || (s == SCREEN_RATING && ui->cfg.n_areas == 1))
        ui->area_index = 0;
    if(s == SCREEN_REASONS)
        ui->reasons = 0;
    if(s == SCREEN_PIN) {
        memset(ui->pin, 0, sizeof ui->pin);
        ui->pin_len = 0;
        ui->pin_msg = PIN_MSG_NONE;
    }
    if(ui->listening) /* each new screen is read as it opens */
        read_screen(ui);
    changed(ui);
}

/* The start screen for the next citizen: their own language choice and listening mode end here. */
static void go_home(Ui *ui, int64_t now)
{
    if(ui->listening)
        say(ui, NULL, 0);
    ui->listening = false;
    ui->lang = ui->cfg.lang;
    go(ui, home(ui), now);
}

Ui *ui_new(const UiConfig *cfg, const UiSink *sink, int w, int h, int64_t now_ms)
{
    if(!cfg || !sink || cfg->n_areas < 1 || cfg->n_areas > AREA_COUNT || proto_scale_levels(cfg->scale) == 0)
        return NULL;
    for(size_t i = 0; i < cfg->n_areas; i++)
        if((unsigned)cfg->areas[i] >= AREA_COUNT)
            return NULL;
    Ui *ui = calloc(1, sizeof *ui);
    if(!ui)
        return NULL;
    ui->cfg = *cfg;
    if(ui->cfg.idle_timeout_s <= 0)
        ui->cfg.idle_timeout_s = UI_DEFAULT_IDLE_S;
    if(ui->cfg.lang >= str_packs_count(ui->cfg.packs))
        ui->cfg.lang = 0;
    ui->sink = *sink;
    ui->cfg.voice = ui->cfg.voice && ui->sink.say; /* no "Nghe" button that cannot speak */
    ui->w = w > 0 ? w : 1;
    ui->h = h > 0 ? h : 1;
    ui->last_now = now_ms;
    go_home(ui, now_ms);
    return ui;
}

void ui_free(Ui *ui) { free(ui); }

/* ---- Misuse ---------------------------------------------------------------------------------------- */

static void remember_rating(Ui *ui, int64_t t)
{
    ui->recent[(ui->recent_head + ui->recent_n) % UI_RATE_LIMIT_PER_MIN] = t;
    if(ui->recent_n < UI_RATE_LIMIT_PER_MIN)
        ui->recent_n++;
    else
        ui->recent_head = (ui->recent_head + 1) % UI_RATE_LIMIT_PER_MIN;
    ui->last_rating_at = t;
}

static bool is_rapid(const Ui *ui, int64_t now)
{
    if(ui->last_rating_at && now - ui->last_rating_at < UI_RAPID_REPEAT_MS)
        return true;
    int in_minute = 0;
    for(int i = 0; i < ui->recent_n; i++)
        if(now - ui->recent[(ui->recent_head + i) % UI_RATE_LIMIT_PER_MIN] < 60000)
            in_minute++;
    return in_minute >= UI_RATE_LIMIT_PER_MIN;
}

void ui_seed_recent(Ui *ui, int64_t last_at_s, int64_t count_last_minute, int64_t now_ms)
{
    if(last_at_s <= 0)
        return;
    int64_t t = last_at_s * 1000;
    if(t > now_ms)
        t = now_ms;
    if(count_last_minute > UI_RATE_LIMIT_PER_MIN)
        count_last_minute = UI_RATE_LIMIT_PER_MIN;
    /* Exact times of older ones are unknown: count them at the newest one's time (the cautious choice). */
    for(int64_t i = 1; i < count_last_minute; i++)
        remember_rating(ui, t);
    remember_rating(ui, t);
}

/* ---- The citizen flow ------------------------------------------------------------------------------ */

/* Whether a later question's screen is shown for the rating in hand (the follow-up reasons depend on the
 * answers so far: not satisfied with the procedure, or with the service). */
static bool asked(const Ui *ui, UiScreen s)
{
    switch(s) {
    case SCREEN_SERVICE: return ui->cfg.ask_service;
    case SCREEN_REASONS: return proto_rating_asks_reasons(&ui->rating);
    case SCREEN_RESPONDENT: return ui->cfg.ask_respondent;
    case SCREEN_WAIT: return ui->cfg.ask_wait;
    default: return false;
    }
}

/* The screen after `after` (RATING or one of the later questions): the next question asked, or THANKS. */
static UiScreen next_question(const Ui *ui, UiScreen after)
{
    static const UiScreen ORDER[] = {SCREEN_SERVICE, SCREEN_REASONS, SCREEN_RESPONDENT, SCREEN_WAIT};
    bool past = after == SCREEN_RATING || after == SCREEN_STORAGE_ERROR;
    for(size_t i = 0; i < sizeof ORDER / sizeof ORDER[0]; i++) {
        if(past && asked(ui, ORDER[i]))
            return ORDER[i];
        past = past || ORDER[i] == after;
    }
    return SCREEN_THANKS;
}

static void try_save(Ui *ui, int64_t now)
{
    /* When questions follow, the store holds the rating from upload until the last one is answered. */
    UiScreen next = next_question(ui, SCREEN_RATING);
    if(ui->sink.add(ui->sink.user, &ui->rating, next != SCREEN_THANKS)) {
        remember_rating(ui, now);
        go(ui, next, now);
        return;
    }
    /* Not saved: say so calmly, keep the rating in hand and retry while the screen shows. */
    if(ui->screen != SCREEN_STORAGE_ERROR)
        go(ui, SCREEN_STORAGE_ERROR, now);
    ui->next_retry = now + UI_STORE_RETRY_MS;
    changed(ui);
}

static void rate(Ui *ui, int score, int64_t now)
{
    ProtoRating *r = &ui->rating;
    uint8_t rnd[10];
    memset(r, 0, sizeof *r);
    ui->sink.random(ui->sink.user, rnd, sizeof rnd);
    uuid_v7_make(r->id, (uint64_t)now, rnd);
    snprintf(r->unit, sizeof r->unit, "%s", ui->cfg.unit);
    r->area = ui->cfg.areas[ui->area_index];
    r->scale = ui->cfg.scale;
    r->score = score;
    r->followup = FOLLOWUP_NONE;
    ptime_format(now / 1000, PTIME_VN_OFFSET_MIN, r->at);
    r->flags = is_rapid(ui, now) ? PROTO_FLAG_RAPID_REPEAT : 0;
    ui->have_rating = true;
    try_save(ui, now);
}

/* The current question's answer (or skip) is in ui->rating: add it to the saved rating, then the next
 * question or thanks. The rating itself is already saved; a lost answer is logged, not shown to the citizen
 * (the next save carries every answer so far again). */
static void answered(Ui *ui, int64_t now)
{
    UiScreen next = next_question(ui, ui->screen);
    if(!ui->sink.answer(ui->sink.user, &ui->rating, next != SCREEN_THANKS))
        note(ui, "could not save the answers to %s", ui->rating.id);
    go(ui, next, now);
}

/* A tap on a one-tap question's choice: the service face, who is rating, how long they waited. */
static bool take_answer(ProtoRating *r, const UiTarget *t)
{
    switch(t->kind) {
    case T_FACE: r->service_score = t->index; return true;
    case T_RESPONDENT: r->respondent = (ProtoRespondent)t->index; return true;
    case T_WAIT: r->wait = (ProtoWait)t->index; return true;
    default: return false;
    }
}

static void finish_reasons(Ui *ui, ProtoFollowup f, int64_t now)
{
    ui->rating.followup = f;
    ui->rating.reasons = f == FOLLOWUP_ANSWERED ? ui->reasons : 0;
    answered(ui, now);
}

/* The citizen left during the later questions: keep what was answered; a follow-up still to come is
 * "timeout" (as it always was for a not-satisfied face); the rest stay unanswered. Back to the start. */
static void walked_away(Ui *ui, int64_t now)
{
    if(ui->rating.followup == FOLLOWUP_NONE && proto_rating_asks_reasons(&ui->rating))
        ui->rating.followup = FOLLOWUP_TIMEOUT;
    ui->rating.reasons = ui->rating.followup == FOLLOWUP_ANSWERED ? ui->rating.reasons : 0;
    if(!ui->sink.answer(ui->sink.user, &ui->rating, false))
        note(ui, "could not save the answers to %s", ui->rating.id);
    go_home(ui, now);
}

/* ---- Supervisor ------------------------------------------------------------------------------------ */

static void refresh_report(Ui *ui, int64_t now)
{
    memset(&ui->report, 0, sizeof ui->report);
    ui->report_ok = ui->sink.day_report(ui->sink.user, ui->sup_day, &ui->report);
    ui->next_refresh = now + UI_SUPERVISOR_REFRESH_MS;
    changed(ui);
}

static void open_supervisor(Ui *ui, int64_t now)
{
    go(ui, SCREEN_SUPERVISOR, now);
    ui->sup_today = ptime_vn_day(now / 1000);
    ui->sup_day = ui->sup_today;
    ui->sync_failed = false;
    refresh_report(ui, now);
}

static void open_pin(Ui *ui, PinPurpose p, int64_t now)
{
    go(ui, SCREEN_PIN, now);
    ui->pin_purpose = p;
}

/* Lock lengths in a row: each one makes guessing slower; a 4-digit PIN then takes years, a 6-digit one
 * centuries, at 5 tries per lock. */
static const int64_t PIN_LOCK_MINUTES[] = {5, 15, 60, 240};

int64_t ui_pin_lock_ms(int n)
{
    int k = sizeof PIN_LOCK_MINUTES / sizeof PIN_LOCK_MINUTES[0];
    if(n < 1)
        n = 1;
    return n <= k ? PIN_LOCK_MINUTES[n - 1] * 60 * 1000 : UI_PIN_LOCK_MAX_MS;
}

static void pin_state_changed(const Ui *ui)
{
    if(ui->sink.pin_state) {
        UiPinState st = {ui->pin_failures, ui->pin_locks, ui->pin_locked_until};
        ui->sink.pin_state(ui->sink.user, &st);
    }
}

static void submit_pin(Ui *ui, int64_t now)
{
    bool ok = ui->sink.verify_pin(ui->sink.user, ui->pin);
    memset(ui->pin, 0, sizeof ui->pin);
    ui->pin_len = 0;
    changed(ui);
    if(!ok) {
        ui->pin_msg = PIN_MSG_WRONG;
        if(++ui->pin_failures >= UI_PIN_TRIES) {
            int64_t len = ui_pin_lock_ms(++ui->pin_locks);
            ui->pin_locked_until = now + len;
            ui->pin_failures = 0;
            note(ui, "supervisor PIN pad locked for %lld minutes after %d wrong PINs in a row (lock %d)",
                 (long long)(len / 60000), UI_PIN_TRIES, ui->pin_locks);
        }
        pin_state_changed(ui);
        return;
    }
    bool had = ui->pin_failures || ui->pin_locks;
    ui->pin_failures = 0;
    ui->pin_locks = 0;
    if(had)
        pin_state_changed(ui);
    if(ui->pin_purpose == PIN_FOR_EXIT)
        ui->quit = true;
    else
        open_supervisor(ui, now);
}

bool ui_pin_locked(const Ui *ui, int64_t now_ms) { return now_ms < ui->pin_locked_until; }

void ui_seed_pin_state(Ui *ui, const UiPinState *st)
{
    ui->pin_locks = st->locks < 0 ? 0 : st->locks > 1000 ? 1000 : st->locks;
    ui->pin_failures = st->failures < 0 ? 0 : st->failures >= UI_PIN_TRIES ? UI_PIN_TRIES - 1 : st->failures;
    /* Never longer than the current lock from now, whatever the file said (a clock set back, a bad value). */
    int64_t until = st->locked_until, cap = ui->last_now + ui_pin_lock_ms(ui->pin_locks);
    if(until > cap)
        until = cap;
    if(until > ui->pin_locked_until)
        ui->pin_locked_until = until;
}

/* ---- Taps ------------------------------------------------------------------------------------------ */

/* Listening mode: the first touch on a target reads its name and asks for a second touch; the second
 * touch on the same target chooses it. True when this touch only read the target. */
static bool first_touch_reads(Ui *ui, const UiTarget *t)
{
    if(!ui->listening || !ui_citizen_screen(ui->screen))
        return false;
    StrId name = target_name(ui, t);
    if(name == STR_COUNT || (ui->armed && ui->armed_t.kind == t->kind && ui->armed_t.index == t->index)) {
        ui->armed = false;
        return false;
    }
    ui->armed = true;
    ui->armed_t = *t;
    StrId ids[2] = {name, STR_LISTEN_AGAIN};
    say(ui, ids, 2);
    changed(ui);
    return true;
}

static void activate(Ui *ui, const UiTarget *t, int64_t now)
{
    if(t->kind == T_LISTEN) { /* read this screen, and every next one, aloud */
        ui->listening = true;
        ui->armed = false;
        read_screen(ui);
        changed(ui);
        return;
    }
    if(t->kind == T_LANG) {
        int next = ui_next_lang(ui);
        if(next >= 0) {
            ui->lang = (size_t)next;
            if(ui->listening)
                read_screen(ui);
            changed(ui);
        }
        return;
    }
    if(first_touch_reads(ui, t))
        return;
    switch(ui->screen) {
    case SCREEN_AREA:
        if(t->kind == T_AREA) {
            ui->area_index = t->index;
            go(ui, SCREEN_RATING, now);
        }
        break;
    case SCREEN_RATING:
        if(t->kind == T_FACE)
            rate(ui, t->index, now);
        else if(t->kind == T_BACK)
            go(ui, SCREEN_AREA, now);
        break;
    case SCREEN_SERVICE:
    case SCREEN_RESPONDENT:
    case SCREEN_WAIT: /* one tap answers (or skips) the question */
        if(t->kind == T_SKIP || take_answer(&ui->rating, t))
            answered(ui, now);
        break;
    case SCREEN_REASONS:
        if(t->kind == T_REASON) {
            ui->reasons ^= 1u << t->index;
            changed(ui);
        } else if(t->kind == T_SEND) {
            finish_reasons(ui, ui->reasons ? FOLLOWUP_ANSWERED : FOLLOWUP_SKIPPED, now);
        } else if(t->kind == T_SKIP) {
            finish_reasons(ui, FOLLOWUP_SKIPPED, now);
        }
        break;
    case SCREEN_THANKS: break; /* taps while thanking are ignored */
    case SCREEN_STORAGE_ERROR:
        if(t->kind == T_RETRY)
            try_save(ui, now);
        break;
    case SCREEN_PIN:
        if(t->kind == T_CANCEL) {
            if(ui->pin_purpose == PIN_FOR_EXIT)
                open_supervisor(ui, now);
            else
                go_home(ui, now);
            break;
        }
        if(ui_pin_locked(ui, now))
            break;
        if(t->kind == T_KEY && ui->pin_len < UI_PIN_MAX) {
            ui->pin[ui->pin_len++] = (char)('0' + t->index);
            ui->pin_msg = PIN_MSG_NONE;
            changed(ui);
        } else if(t->kind == T_KEY_DEL && ui->pin_len > 0) {
            ui->pin[--ui->pin_len] = '\0';
            changed(ui);
        } else if(t->kind == T_KEY_OK && ui->pin_len >= UI_PIN_MIN) {
            submit_pin(ui, now);
        }
        break;
    case SCREEN_SUPERVISOR:
        switch(t->kind) {
        case T_DAY_PREV: /* not before the first day the kiosk still holds */
            if(!ui->report_ok || ui->sup_day > ui->report.history_from) {
                ui->sup_day--;
                refresh_report(ui, now);
            }
            break;
        case T_DAY_NEXT:
            if(ui->sup_day < ui->sup_today) {
                ui->sup_day++;
                refresh_report(ui, now);
            }
            break;
        case T_SYNC:
            ui->sync_failed = !ui->sink.sync_request(ui->sink.user, now / 1000);
            refresh_report(ui, now);
            break;
        case T_CLOSE: go_home(ui, now); break;
        case T_EXIT_APP: open_pin(ui, PIN_FOR_EXIT, now); break;
        default: break;
        }
        break;
    case SCREEN_COUNT: break;
    }
}

static bool hit(const Ui *ui, float x, float y, UiTarget *out)
{
    UiFrame f;
    UiTarget t[UI_MAX_TARGETS];
    size_t n = ui_layout(ui, &f, t);
    for(size_t i = 0; i < n; i++) {
        const UiRect *r = &t[i].r;
        if(x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h) {
            *out = t[i];
            return true;
        }
    }
    return false;
}

static bool same_target(const UiTarget *a, const UiTarget *b) { return a->kind == b->kind && a->index == b->index; }

/* ---- Time ------------------------------------------------------------------------------------------ */

static int64_t idle_ms(const Ui *ui) { return (int64_t)ui->cfg.idle_timeout_s * 1000; }

/* The clock went back by d ms: move every stored time back too, so durations stay what they were. */
static void shift_times(Ui *ui, int64_t d)
{
    int64_t *ts[] = {&ui->last_input, &ui->screen_since, &ui->press_at, &ui->press_last, &ui->next_retry,
                     &ui->pin_locked_until, &ui->next_refresh};
    for(size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        *ts[i] -= d;
    for(int i = 0; i < UI_RATE_LIMIT_PER_MIN; i++)
        ui->recent[i] -= d;
    if(ui->last_rating_at)
        ui->last_rating_at -= d;
}

int64_t ui_next_deadline(const Ui *ui)
{
    int64_t d = INT64_MAX;
#define AT(t) do { if((t) < d) d = (t); } while(0)
    if(ui->pressing && ui->press.kind == T_CORNER && ui->press_inside)
        AT(ui->press_at + UI_CORNER_HOLD_MS);
    if(ui->pressing)
        AT(ui->press_last + UI_TOUCH_LOST_MS);
    switch(ui->screen) {
    case SCREEN_AREA: break;
    case SCREEN_RATING:
        if(home(ui) != SCREEN_RATING)
            AT(ui->last_input + idle_ms(ui));
        break;
    case SCREEN_SERVICE:
    case SCREEN_REASONS:
    case SCREEN_RESPONDENT:
    case SCREEN_WAIT:
    case SCREEN_PIN: AT(ui->last_input + idle_ms(ui)); break;
    case SCREEN_THANKS: AT(ui->screen_since + UI_THANKS_MS); break;
    case SCREEN_STORAGE_ERROR:
        AT(ui->last_input + idle_ms(ui));
        AT(ui->next_retry);
        break;
    case SCREEN_SUPERVISOR:
        AT(ui->last_input + UI_SUPERVISOR_IDLE_MS);
        AT(ui->next_refresh);
        break;
    case SCREEN_COUNT: break;
    }
    if(ui->screen == SCREEN_PIN && ui->pin_locked_until > ui->last_now)
        AT(ui->pin_locked_until);
#undef AT
    return d;
}

static void run_timers(Ui *ui, int64_t now)
{
    if(ui->pressing && ui->press.kind == T_CORNER && ui->press_inside && now >= ui->press_at + UI_CORNER_HOLD_MS) {
        ui->pressing = false;
        open_pin(ui, PIN_FOR_SUPERVISOR, now);
        return;
    }
    if(ui->pressing && now >= ui->press_last + UI_TOUCH_LOST_MS) {
        ui->pressing = false; /* its release never came: let the next touch through */
        changed(ui);
    }
    switch(ui->screen) {
    case SCREEN_RATING:
        if(home(ui) != SCREEN_RATING && now >= ui->last_input + idle_ms(ui))
            go_home(ui, now);
        break;
    case SCREEN_SERVICE:
    case SCREEN_REASONS:
    case SCREEN_RESPONDENT:
    case SCREEN_WAIT:
        if(now >= ui->last_input + idle_ms(ui))
            walked_away(ui, now);
        break;
    case SCREEN_PIN:
        if(now >= ui->last_input + idle_ms(ui))
            go_home(ui, now);
        else if(ui->pin_locked_until && now >= ui->pin_locked_until) {
            ui->pin_locked_until = 0; /* unlocked: redraw the pad */
            ui->pin_msg = PIN_MSG_NONE;
            changed(ui);
        }
        break;
    case SCREEN_THANKS:
        if(now >= ui->screen_since + UI_THANKS_MS)
            go_home(ui, now);
        break;
    case SCREEN_STORAGE_ERROR:
        if(now >= ui->last_input + idle_ms(ui)) {
            /* The citizen has gone; the rating was never acknowledged, so it is dropped. */
            note(ui, "dropping unsaved rating %s: storage kept failing and the citizen has gone", ui->rating.id);
            ui->have_rating = false;
            go_home(ui, now);
        } else if(now >= ui->next_retry) {
            try_save(ui, now);
        }
        break;
    case SCREEN_SUPERVISOR:
        if(now >= ui->last_input + UI_SUPERVISOR_IDLE_MS)
            go_home(ui, now);
        else if(now >= ui->next_refresh)
            refresh_report(ui, now);
        break;
    default: break;
    }
}

/* ---- The one entry point --------------------------------------------------------------------------- */

void ui_update(Ui *ui, const UiEvent *ev, int64_t now)
{
    if(now < ui->last_now)
        shift_times(ui, ui->last_now - now);
    ui->last_now = now;

    switch(ev->type) {
    case UI_EV_TICK: break;
    case UI_EV_RESIZE:
        if(ev->w > 0 && ev->h > 0 && (ev->w != ui->w || ev->h != ui->h)) {
            ui->w = ev->w;
            ui->h = ev->h;
            ui->pressing = false;
            changed(ui);
        }
        break;
    case UI_EV_PRESS: {
        /* ui_input passes no second finger: a press while one is tracked means that one's release was lost. */
        if(ui->pressing) {
            ui->pressing = false;
            changed(ui);
        }
        ui->last_input = now;
        UiTarget t;
        if(ui->screen == SCREEN_THANKS || !hit(ui, ev->x, ev->y, &t))
            break;
        ui->pressing = true;
        ui->press = t;
        ui->press_at = ui->press_last = now;
        ui->press_inside = true;
        changed(ui);
        break;
    }
    case UI_EV_MOVE:
        if(ui->pressing) {
            ui->press_last = now;
            UiTarget t;
            bool inside = hit(ui, ev->x, ev->y, &t) && same_target(&t, &ui->press);
            if(inside != ui->press_inside) {
                ui->press_inside = inside;
                changed(ui);
            }
        }
        break;
    case UI_EV_RELEASE:
        if(ui->pressing) {
            UiTarget t, p = ui->press;
            ui->pressing = false;
            ui->last_input = now;
            changed(ui);
            if(p.kind != T_CORNER && hit(ui, ev->x, ev->y, &t) && same_target(&t, &p))
                activate(ui, &t, now);
        }
        break;
    case UI_EV_CANCEL:
        if(ui->pressing) {
            ui->pressing = false;
            changed(ui);
        }
        break;
    }
    run_timers(ui, now);
}

/* ---- Views ----------------------------------------------------------------------------------------- */

uint64_t ui_version(const Ui *ui) { return ui->version; }
bool ui_quit_requested(const Ui *ui) { return ui->quit; }
UiScreen ui_screen(const Ui *ui) { return ui->screen; }
const char *ui_screen_name(UiScreen s) { return (unsigned)s < SCREEN_COUNT ? SCREEN_NAMES[s] : "?"; }
int ui_width(const Ui *ui) { return ui->w; }
int ui_height(const Ui *ui) { return ui->h; }
ProtoArea ui_area(const Ui *ui) { return ui->cfg.areas[ui->area_index]; }
size_t ui_lang(const Ui *ui) { return ui->lang; }
bool ui_listening(const Ui *ui) { return ui->listening; }
uint32_t ui_reasons(const Ui *ui) { return ui->reasons; }
const ProtoRating *ui_last_rating(const Ui *ui) { return ui->have_rating ? &ui->rating : NULL; }
size_t ui_pin_length(const Ui *ui) { return ui->pin_len; }
int ui_pin_failures(const Ui *ui) { return ui->pin_failures; }
int ui_pin_locks(const Ui *ui) { return ui->pin_locks; }
int64_t ui_supervisor_day(const Ui *ui) { return ui->sup_day; }

size_t ui_targets(const Ui *ui, UiTarget out[UI_MAX_TARGETS])
{
    UiFrame f;
    return ui_layout(ui, &f, out);
}

static const char *const TARGET_NAMES[T_KIND_COUNT] = {
    [T_NONE] = "none", [T_CORNER] = "corner", [T_AREA] = "area", [T_FACE] = "face", [T_BACK] = "back",
    [T_REASON] = "reason", [T_SEND] = "send", [T_SKIP] = "skip", [T_RETRY] = "retry", [T_KEY] = "key",
    [T_KEY_DEL] = "del", [T_KEY_OK] = "ok", [T_CANCEL] = "cancel", [T_DAY_PREV] = "prev", [T_DAY_NEXT] = "next",
    [T_SYNC] = "sync", [T_CLOSE] = "close", [T_EXIT_APP] = "exit", [T_RESPONDENT] = "respondent", [T_WAIT] = "wait",
    [T_LISTEN] = "listen", [T_LANG] = "lang",
};

bool ui_find_target(const Ui *ui, const char *name, UiTarget *out)
{
    char kind[32] = "";
    const char *colon = strchr(name, ':');
    size_t kl = colon ? (size_t)(colon - name) : strlen(name);
    if(kl >= sizeof kind)
        return false;
    memcpy(kind, name, kl);
    const char *arg = colon ? colon + 1 : NULL;
    int k = -1;
    for(int i = 0; i < T_KIND_COUNT; i++)
        if(strcmp(kind, TARGET_NAMES[i]) == 0)
            k = i;
    if(k < 0)
        return false;
    int index = 0;
    if(arg) {
        char *end;
        long v = strtol(arg, &end, 10);
        if(*arg && !*end) {
            index = (int)v;
        } else if(k == T_AREA) {
            int a = proto_area_from_code(arg);
            index = -1;
            for(size_t i = 0; i < ui->cfg.n_areas; i++)
                if((int)ui->cfg.areas[i] == a)
                    index = (int)i;
        } else if(k == T_REASON) {
            index = proto_reason_from_code(arg);
        } else if(k == T_RESPONDENT) {
            index = proto_respondent_from_code(arg);
        } else if(k == T_WAIT) {
            index = proto_wait_from_code(arg);
        } else {
            return false;
        }
    }
    UiTarget t[UI_MAX_TARGETS];
    size_t n = ui_targets(ui, t);
    for(size_t i = 0; i < n; i++)
        if((int)t[i].kind == k && t[i].index == index) {
            *out = t[i];
            return true;
        }
    return false;
}
