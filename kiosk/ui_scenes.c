/* ui_scenes.c — known states of every screen. See ui_scenes.h. */
#include "kiosk/ui_scenes.h"

#include <stdio.h>
#include <string.h>

#include "sync/ptime.h"

/* ---- A fake sink with fixed data ------------------------------------------------------------------- */

static bool fail_adds, report_trouble, report_questions;

static bool fake_add(void *u, ProtoRating *r, bool asking)
{
    (void)u, (void)asking;
    r->seq = 1;
    return !fail_adds;
}
static bool fake_answer(void *u, const ProtoRating *r, bool more)
{
    (void)u, (void)r, (void)more;
    return true;
}
static void fake_say(void *u, size_t lang, const StrId *ids, size_t n)
{
    (void)u, (void)lang, (void)ids, (void)n;
}
static bool fake_report(void *u, int64_t day, UiDayReport *out)
{
    (void)u, (void)day;
    memset(out, 0, sizeof *out);
    UiDayTotals *t = &out->totals;
    /* A plausible morning at a commune one-stop counter. */
    static const struct { ProtoArea a; int64_t s1, s2, s3, flagged; } ROWS[] = {
        {AREA_DAT_DAI, 3, 21, 9, 2}, {AREA_XAY_DUNG, 1, 8, 6, 0}, {AREA_DAU_TU, 0, 2, 3, 0},
        {AREA_Y_TE, 2, 5, 4, 0}, {AREA_GIAO_DUC, 0, 4, 5, 0}, {AREA_TU_PHAP_HO_TICH, 1, 30, 17, 1},
        {AREA_LAO_DONG_XA_HOI, 2, 7, 3, 0}, {AREA_KHAC, 0, 3, 1, 0},
    };
    for(size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        ProtoArea a = ROWS[i].a;
        t->count[a][SCALE_TTHC3][1] = ROWS[i].s1;
        t->count[a][SCALE_TTHC3][2] = ROWS[i].s2;
        t->count[a][SCALE_TTHC3][3] = ROWS[i].s3;
        t->n[a] = ROWS[i].s1 + ROWS[i].s2 + ROWS[i].s3;
        t->satisfied[a] = ROWS[i].s2 + ROWS[i].s3;
        t->flagged[a] = ROWS[i].flagged;
        t->total += t->n[a];
        t->total_satisfied += t->satisfied[a];
        t->total_flagged += t->flagged[a];
    }
    if(report_questions) { /* the service face and the wait asked all morning */
        static const int64_t SERVICE[4] = {0, 4, 61, 52};
        for(int l = 1; l <= 3; l++) {
            t->service_count[SCALE_TTHC3][l] = SERVICE[l];
            t->service_n += SERVICE[l];
            t->service_satisfied += l >= 2 ? SERVICE[l] : 0;
        }
        t->wait_count[WAIT_DUOI_15] = 71;
        t->wait_count[WAIT_15_30] = 29;
        t->wait_count[WAIT_TREN_30] = 9;
        t->wait_n = 109;
        t->wait_within_30 = 100;
    }
    out->pending = 41;
    out->last_success = UI_SCENE_NOW_MS / 1000 - 7 * 3600 - 1800; /* 02:00 this morning */
    /* Pruned to keep_days = 400 of a kiosk in service for longer. */
    out->history_from = ptime_vn_day(UI_SCENE_NOW_MS / 1000) - 400;
    out->history_pruned = true;
    if(report_trouble) { /* the uploader is failing, the clock is off, and a sync was asked for */
        snprintf(out->last_error, sizeof out->last_error,
                 "connect to tally.gialai.gov.vn:443 failed: timed out (kết nối máy chủ thất bại)");
        out->clock_warning = true;
        out->sync_requested_at = UI_SCENE_NOW_MS / 1000 - 120;
        out->rejected = 2;
        out->history_from = ptime_vn_day(UI_SCENE_NOW_MS / 1000) - 38; /* a kiosk in service since October */
        out->history_pruned = false;
    }
    return true;
}
static bool fake_sync_request(void *u, int64_t now_s)
{
    (void)u, (void)now_s;
    return true;
}
static bool fake_verify(void *u, const char *pin)
{
    (void)u;
    return strcmp(pin, "2468") == 0;
}
static void fake_random(void *u, uint8_t *buf, size_t n)
{
    (void)u;
    for(size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
}

static const UiSink SINK = {.add = fake_add, .answer = fake_answer, .day_report = fake_report,
                            .sync_request = fake_sync_request, .verify_pin = fake_verify, .random = fake_random,
                            .say = fake_say};

/* ---- Scenes ---------------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    ProtoScale  scale;
    bool        fail_add;
    bool        trouble; /* the supervisor report carries an upload error, a clock warning, a sync request */
    const char *taps[32]; /* target names, tapped in order; NULL ends */
    const char *hold;     /* a target held past UI_CORNER_HOLD_MS before the taps */
    unsigned    asks;     /* ASK_* below: the later questions configured */
    bool        voice;    /* the "Nghe" button */
    int         lang;     /* -1: built-in Vietnamese only; else the installed packs, starting in this one */
} Scene;

#define ASK_SERVICE 1u
#define ASK_RESPONDENT 2u
#define ASK_WAIT 4u
#define ASK_ALL (ASK_SERVICE | ASK_RESPONDENT | ASK_WAIT)

/* One wrong PIN attempt. */
#define W4 "key:1", "key:1", "key:1", "key:1", "ok"

#define PIN_OK "key:2", "key:4", "key:6", "key:8", "ok"

static const Scene SCENES[] = {
    {"area", SCALE_TTHC3, false, false, {NULL}, NULL, 0, false, -1},
    {"rating-tthc3", SCALE_TTHC3, false, false, {"area:dat_dai", NULL}, NULL, 0, false, -1},
    {"rating-likert5", SCALE_LIKERT5, false, false, {"area:y_te", NULL}, NULL, 0, false, -1},
    {"reasons", SCALE_TTHC3, false, false, {"area:xay_dung", "face:1", "reason:cho_doi", "reason:di_lai", NULL}, NULL,
     0, false, -1},
    {"thanks", SCALE_TTHC3, false, false, {"area:dat_dai", "face:3", NULL}, NULL, 0, false, -1},
    {"storage-error", SCALE_TTHC3, true, false, {"area:dat_dai", "face:2", NULL}, NULL, 0, false, -1},
    {"pin", SCALE_TTHC3, false, false, {"key:2", "key:4", NULL}, "corner", 0, false, -1},
    {"pin-wrong", SCALE_TTHC3, false, false, {"key:1", "key:1", "key:1", "key:1", "ok", NULL}, "corner", 0, false, -1},
    {"pin-locked", SCALE_TTHC3, false, false, {W4, W4, W4, W4, W4, NULL}, "corner", 0, false, -1},
    {"supervisor", SCALE_TTHC3, false, false, {PIN_OK, NULL}, "corner", 0, false, -1},
    {"supervisor-trouble", SCALE_TTHC3, false, true, {PIN_OK, NULL}, "corner", 0, false, -1},
    /* The later questions (ask_service, ask_respondent, ask_wait), spoken prompts and language packs. */
    {"service", SCALE_TTHC3, false, false, {"area:dat_dai", "face:3", NULL}, NULL, ASK_ALL, true, -1},
    {"service-likert5", SCALE_LIKERT5, false, false, {"area:y_te", "face:4", NULL}, NULL, ASK_ALL, true, -1},
    {"reasons-after-service", SCALE_TTHC3, false, false, {"area:dat_dai", "face:3", "face:1", "reason:thai_do", NULL},
     NULL, ASK_ALL, true, -1},
    {"respondent", SCALE_TTHC3, false, false, {"area:dat_dai", "face:3", "face:3", NULL}, NULL, ASK_ALL, true, -1},
    {"wait", SCALE_TTHC3, false, false, {"area:dat_dai", "face:3", "face:3", "respondent:nguoi_dan", NULL}, NULL,
     ASK_ALL, true, -1},
    {"listening", SCALE_TTHC3, false, false, {"area:dat_dai", "face:3", "listen", "face:2", NULL}, NULL, ASK_ALL, true,
     -1},
    {"area-languages", SCALE_TTHC3, false, false, {NULL}, NULL, ASK_ALL, true, 0},
    {"service-en", SCALE_TTHC3, false, false, {"lang", "area:dat_dai", "face:3", NULL}, NULL, ASK_ALL, true, 0},
    {"wait-en", SCALE_TTHC3, false, false, {"lang", "area:dat_dai", "face:3", "face:3", "respondent:to_chuc", NULL}, NULL,
     ASK_ALL, true, 0},
    {"supervisor-questions", SCALE_TTHC3, false, false, {PIN_OK, NULL}, "corner", ASK_SERVICE | ASK_WAIT, false, -1},
};
#define N_SCENES (sizeof SCENES / sizeof SCENES[0])

size_t ui_scene_count(void) { return N_SCENES; }
const char *ui_scene_name(size_t i) { return i < N_SCENES ? SCENES[i].name : NULL; }

#define TAP_MS 1000 /* one tap every second */

static bool tap(Ui *ui, const char *name, int64_t *now)
{
    UiTarget t;
    if(!ui_find_target(ui, name, &t))
        return false;
    UiEvent e = {UI_EV_PRESS, t.r.x + t.r.w / 2, t.r.y + t.r.h / 2, 0, 0};
    ui_update(ui, &e, *now);
    *now += 100;
    e.type = UI_EV_RELEASE;
    ui_update(ui, &e, *now);
    *now += TAP_MS - 100;
    return true;
}

Ui *ui_scene_make(size_t i, int w, int h, const StrPacks *packs)
{
    if(i >= N_SCENES)
        return NULL;
    const Scene *sc = &SCENES[i];
    UiConfig cfg = {
        .areas = {AREA_DAT_DAI, AREA_XAY_DUNG, AREA_DAU_TU, AREA_Y_TE, AREA_GIAO_DUC, AREA_TU_PHAP_HO_TICH,
                  AREA_LAO_DONG_XA_HOI, AREA_KHAC},
        .n_areas = AREA_COUNT,
        .scale = sc->scale,
        .unit = "000.00.00.H23",
        .unit_name = "UBND xã Ia Grai",
        .idle_timeout_s = 20,
        .supervisor_enabled = true,
        .ask_service = sc->asks & ASK_SERVICE,
        .ask_respondent = sc->asks & ASK_RESPONDENT,
        .ask_wait = sc->asks & ASK_WAIT,
        .voice = sc->voice,
        .packs = sc->lang >= 0 ? packs : NULL,
        .lang = sc->lang >= 0 ? (size_t)sc->lang : 0,
    };
    fail_adds = sc->fail_add;
    report_trouble = sc->trouble;
    report_questions = sc->asks != 0;
    /* Start early enough that the scene's last tap lands at UI_SCENE_NOW_MS, the time the screens show. */
    int taps = 0;
    while(sc->taps[taps])
        taps++;
    int64_t now = UI_SCENE_NOW_MS - (sc->hold ? UI_CORNER_HOLD_MS : 0) - (int64_t)taps * TAP_MS;
    Ui *ui = ui_new(&cfg, &SINK, w, h, now);
    if(!ui)
        return NULL;
    bool ok = true;
    if(sc->hold) {
        UiTarget t;
        ok = ui_find_target(ui, sc->hold, &t);
        if(ok) {
            UiEvent e = {UI_EV_PRESS, t.r.x + t.r.w / 2, t.r.y + t.r.h / 2, 0, 0};
            ui_update(ui, &e, now);
            now += UI_CORNER_HOLD_MS;
            e.type = UI_EV_TICK;
            ui_update(ui, &e, now);
            e.type = UI_EV_RELEASE;
            ui_update(ui, &e, now);
        }
    }
    for(int k = 0; ok && sc->taps[k]; k++)
        ok = tap(ui, sc->taps[k], &now);
    if(!ok) {
        fprintf(stderr, "ui_scene_make: scene %s: a tap found no target\n", sc->name);
        ui_free(ui);
        return NULL;
    }
    return ui;
}
