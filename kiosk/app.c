/* app.c — the `kiosk` program: the full-screen touch app at the counter. Start reading at main().
 *
 *   kiosk --config kiosk.ini [--windowed] [--size WxH] [--fonts DIR] [--lang DIR] [--voices DIR] [--script FILE]
 *   kiosk --hash-pin        reads a PIN on stdin, prints the `supervisor_pin_hash = ...` config line
 *
 * This file is the glue: it reads the config, opens the store, loads the language packs, opens the sound
 * device for spoken prompts, wires the UI's sink to kstore, libsodium and the voice player, and runs an
 * event-driven loop that sleeps in SDL_WaitEventTimeout until the next input or the UI's next
 * timer (idle reset, thank-you return), so an idle kiosk uses no CPU. The screens live in ui.c.
 *
 * --script FILE is the end-to-end test hook (tests/ui/test_ui_e2e.c): it reads lines such as
 * `tap face:1`, `click send`, `press corner`, `release corner`, `wait 500`, `expect thanks`, `quit`, and
 * injects real SDL events (SDL_PushEvent) at the centre of the named target, so they take the same path as a
 * finger: SDL queue → ui_input → ui_update. `tap` sends a finger event *and* its synthetic mouse twin, as a
 * real touch panel does; `click` sends a real mouse click. A failed `expect` exits with status 3. */
#include <SDL2/SDL.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiosk/config.h"
#include "kiosk/store.h"
#include "kiosk/strings.h"
#include "kiosk/ui.h"
#include "kiosk/ui_draw.h"
#include "kiosk/ui_input.h"
#include "kiosk/voice.h"

#ifndef KIOSK_FONT_DIR
#define KIOSK_FONT_DIR "/usr/share/kiosk/fonts"
#endif
/* Language packs (assets/lang/<code>/strings.txt and voice/), and where the build put the voice files it
 * made with espeak-ng (a pack's own voice/ folder wins: recordings replace them without a rebuild). */
#ifndef KIOSK_LANG_DIR
#define KIOSK_LANG_DIR "/usr/share/kiosk/lang"
#endif
#ifndef KIOSK_VOICE_DIR
#define KIOSK_VOICE_DIR KIOSK_LANG_DIR
#endif

#define SCRIPT_MAX_STEPS 512
#define SCRIPT_STEP_GAP_MS 60 /* between injected steps, so each is handled before the next */
#define WAIT_CAP_MS 10000     /* wake at least this often (a cheap TICK; nothing is drawn unless it changed) */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kiosk: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void logmsg(const char *fmt, ...)
{
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s kiosk: ", ts);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- --hash-pin ------------------------------------------------------------------------------------ */

static int hash_pin(void)
{
    char pin[64];
    if(!fgets(pin, sizeof pin, stdin)) {
        fprintf(stderr, "kiosk --hash-pin: no PIN on stdin / không đọc được mã PIN\n");
        return 2;
    }
    pin[strcspn(pin, "\r\n")] = '\0';
    size_t n = strlen(pin);
    bool digits = n >= UI_PIN_MIN && n <= UI_PIN_MAX;
    for(size_t i = 0; i < n; i++)
        digits = digits && pin[i] >= '0' && pin[i] <= '9';
    if(!digits) {
        fprintf(stderr, "kiosk --hash-pin: the PIN must be %d-%d digits / mã PIN phải gồm %d-%d chữ số\n", UI_PIN_MIN,
                UI_PIN_MAX, UI_PIN_MIN, UI_PIN_MAX);
        sodium_memzero(pin, sizeof pin);
        return 2;
    }
    char out[crypto_pwhash_STRBYTES];
    int rc = crypto_pwhash_str(out, pin, n, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(pin, sizeof pin);
    if(rc != 0) {
        fprintf(stderr, "kiosk --hash-pin: out of memory while hashing\n");
        return 1;
    }
    printf("supervisor_pin_hash = %s\n", out);
    if(n < 6) /* the pad's growing locks slow a guesser to years for 4 digits, centuries for 6 */
        fprintf(stderr, "kiosk --hash-pin: a PIN of 6 digits or more is recommended / nên dùng mã PIN từ 6 chữ số\n");
    return 0;
}

/* ---- The sink: the UI's storage and PIN calls, wired to kstore and libsodium ----------------------- */

typedef struct {
    const KioskConfig *cfg;
    Store *store; /* NULL while the file cannot be opened; every call tries again */
    const StrPacks *packs;
    const char *lang_dir, *voice_dir;
    Voice *voice; /* NULL: no sound device (or voice = no) */
} App;

static Store *app_store(App *a)
{
    if(!a->store) {
        char msg[512];
        if(store_open(a->cfg->database, &a->store, msg, sizeof msg) != STORE_OK) {
            logmsg("cannot open the store %s: %s", a->cfg->database, msg);
            a->store = NULL;
        } else {
            logmsg("store %s open", a->cfg->database);
        }
    }
    return a->store;
}

/* After a failure that may mean the handle itself is bad, drop it; the next call reopens. */
static StoreErr checked(App *a, StoreErr e, const char *what)
{
    if(e != STORE_OK) {
        logmsg("%s failed (%d): %s", what, (int)e, a->store ? store_errmsg(a->store) : "store not open");
        if(e == STORE_CORRUPT || e == STORE_IO) {
            store_close(a->store);
            a->store = NULL;
        }
    }
    return e;
}

static bool sink_add(void *u, ProtoRating *r, bool asking)
{
    App *a = u;
    Store *s = app_store(a);
    if(!s)
        return false;
    StoreErr e = checked(a, asking ? store_add_asking(s, r) : store_add(s, r), "saving a rating");
    if(e == STORE_OK)
        logmsg("rating %s seq %lld area %s score %d%s", r->id, (long long)r->seq, proto_area_code(r->area), r->score,
               r->flags & PROTO_FLAG_RAPID_REPEAT ? " rapid_repeat" : "");
    return e == STORE_OK;
}

static bool sink_answer(void *u, const ProtoRating *r, bool more)
{
    App *a = u;
    Store *s = app_store(a);
    StoreErr e = s ? checked(a, store_set_answers(s, r, more), "saving answers") : STORE_IO;
    if(e == STORE_OK)
        logmsg("answers %s: service %d, follow-up %s, respondent %s, wait %s%s", r->id, r->service_score,
               proto_followup_code(r->followup), r->respondent ? proto_respondent_code(r->respondent) : "-",
               r->wait ? proto_wait_code(r->wait) : "-", more ? " (more to come)" : "");
    return e == STORE_OK;
}

static bool file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if(f)
        fclose(f);
    return f != NULL;
}

/* Where the voice file of id in pack lang is: the pack's voice/ folder (a recording), else the files the
 * build made. False when neither has it. */
static bool voice_path(const App *a, size_t lang, StrId id, char *out, size_t cap, char *name, size_t name_cap)
{
    size_t pack = 0;
    const char *file = str_voice(a->packs, lang, id, &pack), *code = str_pack_code(a->packs, pack);
    name[0] = '\0';
    if(!file)
        return false;
    snprintf(name, name_cap, "%s/%s", code, file);
    snprintf(out, cap, "%s/%s/voice/%s", a->lang_dir, code, file);
    if(file_exists(out))
        return true;
    snprintf(out, cap, "%s/%s/voice/%s", a->voice_dir, code, file);
    return file_exists(out);
}

/* Reads texts aloud, each with its pack's voice file, or the Vietnamese one when that pack has none (as its
 * texts fall back); a text without any is left out and logged. */
static void sink_say(void *u, size_t lang, const StrId *ids, size_t n)
{
    App *a = u;
    static char paths[32][4200];
    const char *list[32] = {NULL};
    char said[512] = "", name[128];
    size_t k = 0;
    for(size_t i = 0; i < n && k < 32; i++) {
        if(!voice_path(a, lang, ids[i], paths[k], sizeof paths[k], name, sizeof name) &&
           (lang == 0 || !voice_path(a, 0, ids[i], paths[k], sizeof paths[k], name, sizeof name))) {
            logmsg("no voice file for \"%s\" (%s)", str_key(ids[i]), name);
            continue;
        }
        list[k] = paths[k];
        size_t l = strlen(said);
        snprintf(said + l, sizeof said - l, "%s%s", k ? " " : "", name);
        k++;
    }
    char msg[1024];
    voice_play(a->voice, list, k, msg, sizeof msg);
    if(n)
        logmsg("saying %s", said);
    if(msg[0])
        logmsg("%s", msg);
}

static bool sink_report(void *u, int64_t day, UiDayReport *out)
{
    App *a = u;
    Store *s = app_store(a);
    if(!s)
        return false;
    StoreSyncStatus st;
    StoreErr e = store_day_totals(s, day, &out->totals);
    if(!e)
        e = store_backlog(s, &out->pending, &out->rejected);
    if(!e)
        e = store_sync_status_get(s, &st);
    if(!e)
        e = store_sync_requested(s, &out->sync_requested_at);
    if(!e)
        e = store_history(s, (int64_t)time(NULL), &out->history_from, &out->history_pruned);
    if(checked(a, e, "reading the day report") != STORE_OK)
        return false;
    out->last_success = st.last_success;
    snprintf(out->last_error, sizeof out->last_error, "%s", st.last_error);
    out->clock_warning = st.clock_warning[0] != '\0';
    return true;
}

static bool sink_sync_request(void *u, int64_t now_s)
{
    App *a = u;
    Store *s = app_store(a);
    StoreErr e = s ? checked(a, store_sync_request(s, now_s), "recording a sync request") : STORE_IO;
    if(!e)
        logmsg("supervisor asked for a sync now");
    return e == STORE_OK;
}

static bool sink_verify_pin(void *u, const char *pin)
{
    App *a = u;
    bool ok = a->cfg->supervisor_pin_hash[0] &&
              crypto_pwhash_str_verify(a->cfg->supervisor_pin_hash, pin, strlen(pin)) == 0;
    logmsg("supervisor PIN %s", ok ? "accepted" : "refused");
    return ok;
}

/* The PIN pad's state survives a restart in a small file beside the database ("<database>.pinlock": the
 * lock's end in unix ms, the locks in a row, the wrong PINs since; an older file holds only the first). */
static void pinlock_path(const App *a, char *out, size_t len) { snprintf(out, len, "%s.pinlock", a->cfg->database); }

static void sink_pin_state(void *u, const UiPinState *st)
{
    char path[CONFIG_PATH_MAX + 16], tmp[CONFIG_PATH_MAX + 32];
    pinlock_path(u, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    bool ok = f && fprintf(f, "%lld %d %d\n", (long long)st->locked_until, st->locks, st->failures) > 0;
    if(f)
        ok = fclose(f) == 0 && ok;
    if(!ok || rename(tmp, path) != 0) {
        logmsg("cannot save the PIN pad's state to %s: %s", path, strerror(errno));
        remove(tmp);
    }
}

static UiPinState load_pin_state(const App *a)
{
    char path[CONFIG_PATH_MAX + 16];
    pinlock_path(a, path, sizeof path);
    UiPinState st = {0};
    FILE *f = fopen(path, "r");
    long long until = 0;
    if(f) {
        if(fscanf(f, "%lld %d %d", &until, &st.locks, &st.failures) < 1)
            until = 0;
        fclose(f);
    }
    st.locked_until = until;
    return st;
}

static void sink_log(void *u, const char *line)
{
    (void)u;
    logmsg("%s", line);
}

static void sink_random(void *u, uint8_t *buf, size_t n)
{
    (void)u;
    randombytes_buf(buf, n);
}

/* ---- --script: injected input for the end-to-end test --------------------------------------------- */

typedef enum { S_TAP, S_CLICK, S_PRESS, S_RELEASE, S_WAIT, S_EXPECT, S_QUIT } StepKind;
typedef struct {
    StepKind kind;
    char     arg[64];
    int      ms;
    int      line;
} Step;

typedef struct {
    Step    steps[SCRIPT_MAX_STEPS];
    int     n, next;
    int64_t at; /* monotonic ms when the next step runs */
    UiTarget held;
    bool    failed;
} Script;

static void load_script(const char *path, Script *sc)
{
    FILE *f = fopen(path, "r");
    if(!f)
        die("cannot read the script %s: %s", path, strerror(errno));
    char line[256];
    int ln = 0;
    while(fgets(line, sizeof line, f)) {
        ln++;
        line[strcspn(line, "\r\n#")] = '\0';
        char cmd[32] = "", arg[64] = "";
        if(sscanf(line, "%31s %63s", cmd, arg) < 1)
            continue;
        if(sc->n == SCRIPT_MAX_STEPS)
            die("%s:%d: too many steps", path, ln);
        Step *s = &sc->steps[sc->n++];
        *s = (Step){.line = ln};
        snprintf(s->arg, sizeof s->arg, "%s", arg);
        if(strcmp(cmd, "tap") == 0) s->kind = S_TAP;
        else if(strcmp(cmd, "click") == 0) s->kind = S_CLICK;
        else if(strcmp(cmd, "press") == 0) s->kind = S_PRESS;
        else if(strcmp(cmd, "release") == 0) s->kind = S_RELEASE;
        else if(strcmp(cmd, "wait") == 0) { s->kind = S_WAIT; s->ms = atoi(arg); }
        else if(strcmp(cmd, "expect") == 0) s->kind = S_EXPECT;
        else if(strcmp(cmd, "quit") == 0) s->kind = S_QUIT;
        else die("%s:%d: unknown script command '%s'", path, ln, cmd);
    }
    fclose(f);
}

static void push_finger(Uint32 type, float x, float y, int w, int h)
{
    SDL_Event e = {0};
    e.type = type;
    e.tfinger.touchId = 1;
    e.tfinger.fingerId = 1;
    e.tfinger.x = x / (float)w;
    e.tfinger.y = y / (float)h;
    e.tfinger.pressure = 1;
    SDL_PushEvent(&e);
}

static void push_mouse(Uint32 type, Uint32 which, float x, float y)
{
    SDL_Event e = {0};
    e.type = type;
    e.button.which = which;
    e.button.button = SDL_BUTTON_LEFT;
    e.button.state = type == SDL_MOUSEBUTTONDOWN ? SDL_PRESSED : SDL_RELEASED;
    e.button.clicks = 1;
    e.button.x = (int)x;
    e.button.y = (int)y;
    SDL_PushEvent(&e);
}

/* Runs the steps that are due; returns false when the script asks to quit. */
static bool script_run(Script *sc, const Ui *ui, int64_t mono)
{
    while(sc->next < sc->n && mono >= sc->at) {
        Step *s = &sc->steps[sc->next++];
        int w = ui_width(ui), h = ui_height(ui);
        UiTarget t = {0};
        sc->at = mono + SCRIPT_STEP_GAP_MS;
        switch(s->kind) {
        case S_TAP:
        case S_CLICK:
        case S_PRESS:
            if(!ui_find_target(ui, s->arg, &t)) {
                logmsg("script line %d: no target '%s' on the %s screen", s->line, s->arg, ui_screen_name(ui_screen(ui)));
                sc->failed = true;
                return false;
            }
            break;
        default: break;
        }
        float cx = t.r.x + t.r.w / 2, cy = t.r.y + t.r.h / 2;
        switch(s->kind) {
        case S_TAP: /* a touch panel: finger events plus SDL's synthetic mouse twins */
            push_finger(SDL_FINGERDOWN, cx, cy, w, h);
            push_mouse(SDL_MOUSEBUTTONDOWN, SDL_TOUCH_MOUSEID, cx, cy);
            push_finger(SDL_FINGERUP, cx, cy, w, h);
            push_mouse(SDL_MOUSEBUTTONUP, SDL_TOUCH_MOUSEID, cx, cy);
            return true; /* let the loop handle them before the next step */
        case S_CLICK:
            push_mouse(SDL_MOUSEBUTTONDOWN, 0, cx, cy);
            push_mouse(SDL_MOUSEBUTTONUP, 0, cx, cy);
            return true;
        case S_PRESS:
            sc->held = t;
            push_finger(SDL_FINGERDOWN, cx, cy, w, h);
            return true;
        case S_RELEASE:
            push_finger(SDL_FINGERUP, sc->held.r.x + sc->held.r.w / 2, sc->held.r.y + sc->held.r.h / 2, w, h);
            return true;
        case S_WAIT: sc->at = mono + s->ms; break;
        case S_EXPECT:
            if(strcmp(s->arg, ui_screen_name(ui_screen(ui))) != 0) {
                logmsg("script line %d: expected the %s screen, showing %s", s->line, s->arg,
                       ui_screen_name(ui_screen(ui)));
                sc->failed = true;
                return false;
            }
            break;
        case S_QUIT: return false;
        }
    }
    return true;
}

/* ---- main ------------------------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: kiosk --config kiosk.ini [--windowed] [--size WxH] [--fonts DIR] [--lang DIR] "
                    "[--voices DIR] [--script FILE]\n"
                    "       kiosk --hash-pin   (reads the PIN on stdin / đọc mã PIN từ đầu vào chuẩn)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int64_t started = mono_ms();
    const char *config_path = NULL, *fonts = getenv("KIOSK_FONTS"), *script_path = NULL;
    const char *lang_dir = getenv("KIOSK_LANG"), *voice_dir = getenv("KIOSK_VOICES");
    bool windowed = false;
    int win_w = 1280, win_h = 800;
    if(!fonts)
        fonts = KIOSK_FONT_DIR;
    if(!lang_dir)
        lang_dir = KIOSK_LANG_DIR;
    if(!voice_dir)
        voice_dir = KIOSK_VOICE_DIR;
    for(int i = 1; i < argc; i++) {
        if(strcmp(argv[i], "--hash-pin") == 0) {
            if(sodium_init() < 0)
                die("libsodium failed to initialise");
            return hash_pin();
        } else if(strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if(strcmp(argv[i], "--windowed") == 0) {
            windowed = true;
        } else if(strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            if(sscanf(argv[++i], "%dx%d", &win_w, &win_h) != 2 || win_w < 200 || win_h < 200 || win_w > 16384 ||
               win_h > 16384)
                die("--size wants WxH, e.g. 1024x600");
        } else if(strcmp(argv[i], "--fonts") == 0 && i + 1 < argc) {
            fonts = argv[++i];
        } else if(strcmp(argv[i], "--lang") == 0 && i + 1 < argc) {
            lang_dir = argv[++i];
        } else if(strcmp(argv[i], "--voices") == 0 && i + 1 < argc) {
            voice_dir = argv[++i];
        } else if(strcmp(argv[i], "--script") == 0 && i + 1 < argc) {
            script_path = argv[++i];
        } else {
            usage();
        }
    }
    if(!config_path)
        usage();

    KioskConfig cfg;
    char msg[1024];
    if(config_load(config_path, &cfg, msg, sizeof msg) != CONFIG_OK)
        die("%s", msg);
    if(sodium_init() < 0)
        die("libsodium failed to initialise");

    App app = {.cfg = &cfg, .lang_dir = lang_dir, .voice_dir = voice_dir};
    app_store(&app); /* open now if we can; if not, the UI still starts and every save retries */
    StrPacks *packs = str_packs_load(lang_dir, sink_log, NULL);
    if(!packs)
        die("out of memory loading the language packs");
    app.packs = packs;
    int lang = str_packs_find(packs, cfg.language);
    if(lang < 0)
        die("language \"%s\" (kiosk.ini) is not installed: no %s/%s/strings.txt (set --lang DIR to the folder of the "
            "language packs)", cfg.language, lang_dir, cfg.language);

    static Script script;
    if(script_path)
        load_script(script_path, &script);

    SDL_SetHint(SDL_HINT_VIDEO_MINIMIZE_ON_FOCUS_LOSS, "0");
    SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "0");
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "1");
    SDL_SetHint(SDL_HINT_MOUSE_TOUCH_EVENTS, "0"); /* a mouse stays a mouse; touches come as fingers */
    if(SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0)
        die("SDL_Init: %s (no display? set SDL_VIDEODRIVER=kmsdrm on a console, or run under X)", SDL_GetError());
    Uint32 flags = SDL_WINDOW_SHOWN;
    if(!windowed) {
        /* The desktop's own mode: no mode switch. Fills the screen under a desktop, on a bare X server with
         * no window manager (the window is created at the display's origin and size), and on KMSDRM. */
        SDL_DisplayMode dm;
        if(SDL_GetDesktopDisplayMode(0, &dm) == 0) {
            win_w = dm.w;
            win_h = dm.h;
        }
        flags |= SDL_WINDOW_FULLSCREEN_DESKTOP | SDL_WINDOW_BORDERLESS;
    }
    SDL_Window *win = SDL_CreateWindow("Đánh giá mức độ hài lòng", windowed ? (int)SDL_WINDOWPOS_CENTERED : 0,
                                       windowed ? (int)SDL_WINDOWPOS_CENTERED : 0, win_w, win_h, flags);
    if(!win)
        die("SDL_CreateWindow: %s", SDL_GetError());
    SDL_Renderer *ren = SDL_CreateRenderer(win, -1, SDL_RENDERER_ACCELERATED);
    if(!ren)
        ren = SDL_CreateRenderer(win, -1, SDL_RENDERER_SOFTWARE);
    if(!ren)
        die("SDL_CreateRenderer: %s", SDL_GetError());
    if(!windowed)
        SDL_ShowCursor(SDL_DISABLE);
    SDL_DisableScreenSaver();
    UiGfx *gfx = ui_gfx_new(ren, fonts, msg, sizeof msg);
    if(!gfx)
        die("%s", msg);

    int w = win_w, h = win_h;
    SDL_GetRendererOutputSize(ren, &w, &h);
    if(cfg.voice) { /* spoken prompts need a sound device; without one the kiosk runs silently */
        app.voice = voice_open(msg, sizeof msg);
        if(app.voice)
            logmsg("spoken prompts on (audio driver %s)", voice_driver(app.voice));
        else
            logmsg("voice = yes, but %s: running silently, without the Nghe button", msg);
    }
    UiConfig ucfg = {.n_areas = cfg.n_areas, .scale = cfg.scale, .idle_timeout_s = cfg.idle_timeout_s,
                     .supervisor_enabled = cfg.supervisor_pin_hash[0] != '\0', .ask_service = cfg.ask_service,
                     .ask_respondent = cfg.ask_respondent, .ask_wait = cfg.ask_wait, .voice = app.voice != NULL,
                     .packs = packs, .lang = (size_t)lang};
    memcpy(ucfg.areas, cfg.areas, sizeof cfg.areas);
    snprintf(ucfg.unit, sizeof ucfg.unit, "%s", cfg.unit_code);
    snprintf(ucfg.unit_name, sizeof ucfg.unit_name, "%s", cfg.unit_name);
    UiSink sink = {.user = &app, .add = sink_add, .answer = sink_answer, .day_report = sink_report,
                   .sync_request = sink_sync_request, .verify_pin = sink_verify_pin, .random = sink_random,
                   .pin_state = sink_pin_state, .log = sink_log, .say = sink_say};
    int64_t now = wall_ms();
    Ui *ui = ui_new(&ucfg, &sink, w, h, now);
    if(!ui)
        die("cannot start the screens (out of memory?)");
    if(app.store) { /* keep the misuse counters across a restart */
        int64_t last = 0, count = 0;
        if(store_recent(app.store, now / 1000 - 60, &last, &count) == STORE_OK)
            ui_seed_recent(ui, last, count, now);
        /* No follow-up screen is open now: ratings the last run left held may go (with what was answered). */
        if(store_followups_closed(app.store) != STORE_OK)
            logmsg("cannot release held follow-ups: %s", store_errmsg(app.store));
    }
    UiPinState pin = load_pin_state(&app);
    ui_seed_pin_state(ui, &pin);
    logmsg("started %dx%d%s, %zu areas, scale %s, supervisor %s", w, h, windowed ? " windowed" : " full screen",
           cfg.n_areas, proto_scale_code(cfg.scale), ucfg.supervisor_enabled ? "on" : "off (no PIN hash)");
    logmsg("questions after the face: service %s, respondent %s, wait %s; language %s of %zu installed",
           cfg.ask_service ? "on" : "off", cfg.ask_respondent ? "on" : "off", cfg.ask_wait ? "on" : "off",
           cfg.language, str_packs_count(packs));

    UiInput input = {0};
    uint64_t drawn = ~(uint64_t)0;
    bool first = true, running = true, expose = true;
    script.at = mono_ms() + 300; /* let the window settle before injecting */
    while(running && !ui_quit_requested(ui)) {
        if(expose || ui_version(ui) != drawn) {
            drawn = ui_version(ui);
            expose = false;
            ui_draw(ui, gfx);
            SDL_RenderPresent(ren);
            if(first) {
                first = false;
                logmsg("first frame after %lld ms", (long long)(mono_ms() - started));
            }
        }
        now = wall_ms();
        int64_t deadline = ui_next_deadline(ui), timeout = WAIT_CAP_MS;
        if(deadline != INT64_MAX && deadline - now < timeout)
            timeout = deadline - now;
        if(script_path && script.at - mono_ms() < timeout)
            timeout = script.at - mono_ms();
        if(timeout < 0)
            timeout = 0;
        SDL_Event e;
        if(SDL_WaitEventTimeout(&e, (int)timeout)) {
            do {
                UiEvent ev;
                if(e.type == SDL_QUIT) {
                    running = false;
                } else if(e.type == SDL_WINDOWEVENT && (e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED ||
                                                        e.window.event == SDL_WINDOWEVENT_EXPOSED)) {
                    SDL_GetRendererOutputSize(ren, &w, &h);
                    UiEvent rs = {UI_EV_RESIZE, 0, 0, w, h};
                    ui_update(ui, &rs, wall_ms());
                    expose = true;
                } else if(e.type == SDL_RENDER_TARGETS_RESET || e.type == SDL_RENDER_DEVICE_RESET) {
                    expose = true;
                }
                if(ui_input_translate(&input, &e, ui_width(ui), ui_height(ui), &ev))
                    ui_update(ui, &ev, wall_ms());
            } while(SDL_PollEvent(&e));
        }
        UiEvent tick = {UI_EV_TICK, 0, 0, 0, 0};
        ui_update(ui, &tick, wall_ms());
        if(script_path && !script_run(&script, ui, mono_ms()))
            running = false;
    }
    if(ui_quit_requested(ui))
        logmsg("exit requested by the supervisor");
    ui_free(ui);
    voice_close(app.voice);
    str_packs_free(packs);
    ui_gfx_free(gfx);
    SDL_DestroyRenderer(ren);
    SDL_DestroyWindow(win);
    SDL_Quit();
    store_close(app.store);
    return script.failed ? 3 : 0;
}
