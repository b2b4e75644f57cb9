/* ui.h — the kiosk's screens as a state machine with an injected clock.
 *
 * ui_update(ui, event, now_ms) is the only thing that changes the state: it takes one input event (or a
 * TICK) and the current time, decides, and calls the storage "sink" it was given. It never draws and never
 * reads a clock. ui_draw() (ui_draw.h) only reads the state. So the whole flow is testable without a
 * display or a database: tests feed events and times and use a fake sink.
 *
 * Flow: AREA → RATING → the later questions → THANKS → AREA. A rating is saved at the face tap, before
 * anything says thank you; a failed save shows STORAGE_ERROR instead and is retried. The later questions
 * come in this order, each when it is asked: SERVICE (the service face, when configured), REASONS (when not
 * satisfied with the procedure or the service), RESPONDENT and WAIT (when configured); each answer is added
 * to the saved rating as its screen closes. With none configured the flow is AREA → RATING → (REASONS) →
 * THANKS. A "Nghe" button (when voice is on) reads a screen aloud and turns on listening mode, where a first
 * touch reads a target and a second chooses it. A 3-second press in the top-left corner opens PIN →
 * SUPERVISOR. Start reading at ui_update() in ui.c.
 *
 * The UI owns the types it exchanges with its sink (UiDayReport, UiPinState) and knows no storage: the app
 * fills them from the store (kiosk/app.c); the day's counts are a plain value type (kiosk/day_totals.h). */
#ifndef KIOSK_UI_H
#define KIOSK_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiosk/day_totals.h"
#include "kiosk/strings.h"
#include "sync/protocol.h"

/* Timings and limits (milliseconds unless named otherwise). */
#define UI_THANKS_MS          4000    /* thank-you screen, then back to the start */
#define UI_DEFAULT_IDLE_S     20
#define UI_RAPID_REPEAT_MS    8000    /* a rating this soon after the previous one is flagged */
#define UI_RATE_LIMIT_PER_MIN 4       /* more than this many ratings in 60 s: the rest are flagged */
#define UI_CORNER_HOLD_MS     3000    /* press in the supervisor corner this long to open the PIN pad */
#define UI_PIN_MIN            4
#define UI_PIN_MAX            8       /* 6 digits recommended: 4 only slow a guesser down, 6 stop one */
#define UI_PIN_TRIES          5       /* wrong PINs in a row before the pad locks */
#define UI_PIN_LOCK_MS        (5 * 60 * 1000)        /* the first lock; each next one longer (ui_pin_lock_ms) */
#define UI_PIN_LOCK_MAX_MS    (24 * 3600 * 1000LL)   /* the longest: a day */
#define UI_TOUCH_LOST_MS      10000   /* a press with no move or release this long: its release was lost */
#define UI_SUPERVISOR_IDLE_MS (2 * 60 * 1000) /* a forgotten supervisor screen closes itself */
#define UI_SUPERVISOR_REFRESH_MS 5000 /* re-read totals and sync status while it is open */
#define UI_STORE_RETRY_MS     5000    /* retry a failed save this often while the error shows */

typedef enum {
    SCREEN_AREA,          /* Chọn lĩnh vực (skipped when one area is configured) */
    SCREEN_RATING,        /* Đánh giá: one face per level */
    SCREEN_SERVICE,       /* the service face, on the same scale (ask_service) */
    SCREEN_REASONS,       /* Lý do: after a not-satisfied procedure or service face */
    SCREEN_RESPONDENT,    /* Người dân · Doanh nghiệp · Tổ chức (ask_respondent) */
    SCREEN_WAIT,          /* Dưới 15 phút · 15–30 phút · Trên 30 phút (ask_wait) */
    SCREEN_THANKS,        /* Cảm ơn */
    SCREEN_STORAGE_ERROR, /* the save failed: ask the citizen to tell staff; nothing shown as accepted */
    SCREEN_PIN,           /* supervisor PIN pad */
    SCREEN_SUPERVISOR,    /* day totals and sync status */
    SCREEN_COUNT
} UiScreen;

typedef enum {
    UI_EV_TICK,    /* nothing happened but time passed */
    UI_EV_PRESS,   /* a finger (or the mouse button) went down at x, y (pixels) */
    UI_EV_MOVE,    /* the pressed finger moved */
    UI_EV_RELEASE, /* it went up */
    UI_EV_CANCEL,  /* the press was lost (window lost focus) */
    UI_EV_RESIZE   /* the drawable is now w × h pixels */
} UiEventType;

typedef struct {
    UiEventType type;
    float x, y;
    int w, h;
} UiEvent;

/* One day's totals as the supervisor screen shows them (a plain value the store also fills: day_totals.h). */
typedef DayTotals UiDayTotals;

/* What the UI shows on the supervisor screen for one day. */
typedef struct {
    UiDayTotals totals;
    int64_t pending;           /* ratings not uploaded yet */
    int64_t rejected;          /* ratings the server refused (never retried) */
    int64_t last_success;      /* unix s of the last successful upload; 0 = never */
    char    last_error[256];   /* the uploader's last error; "" = none */
    bool    clock_warning;     /* the uploader found the device clock wrong */
    int64_t sync_requested_at; /* unix s; 0 = no request outstanding */
    int64_t history_from;      /* the first day (ptime VN day) the kiosk still holds: ‹ stops there */
    bool    history_pruned;    /* days before history_from were deleted after upload (retention) */
} UiDayReport;

/* The PIN pad's memory, which the app keeps on disk so a restart neither forgets wrong tries nor reopens a
 * locked pad early. */
typedef struct {
    int     failures;     /* wrong PINs in a row since the last lock or right PIN */
    int     locks;        /* locks since the last right PIN; the next lasts ui_pin_lock_ms(locks + 1) */
    int64_t locked_until; /* unix ms; 0 = not locked */
} UiPinState;

/* How long the n-th lock in a row lasts (n >= 1): 5 min, 15 min, 1 h, 4 h, then a day each time. */
int64_t ui_pin_lock_ms(int n);

/* Everything the UI needs from the outside world. The real app wires these to kstore and libsodium
 * (kiosk/app.c); tests use fakes. Calls are made from ui_update() only. The storage calls return true on
 * success. */
typedef struct {
    void *user;
    /* Saves a new rating made at the tap; true means durable. Fills r->seq. asking: later questions are on
     * screen from now on (the uploader holds the rating until an answer call says more = false). */
    bool (*add)(void *user, ProtoRating *r, bool asking);
    /* Adds the answers given after the tap that r carries (the service face, the follow-up, respondent,
     * wait) to the saved rating r->id, as a question's screen closes. more: another question follows. */
    bool (*answer)(void *user, const ProtoRating *r, bool more);
    bool (*day_report)(void *user, int64_t day, UiDayReport *out);
    bool (*sync_request)(void *user, int64_t now_s);
    /* True when pin matches the configured supervisor PIN hash. May block (Argon2) — called once per submit. */
    bool (*verify_pin)(void *user, const char *pin);
    /* n random bytes (for rating ids). */
    void (*random)(void *user, uint8_t *buf, size_t n);
    /* Optional (may be NULL): the PIN pad's state changed (a wrong PIN, a lock, a right PIN). */
    void (*pin_state)(void *user, const UiPinState *st);
    /* Optional (may be NULL): a line for the operator's log, in English. */
    void (*log)(void *user, const char *line);
    /* Optional (may be NULL): reads these texts aloud, in this order, in language pack lang, instead of
     * whatever was being read (n == 0: stop reading). */
    void (*say)(void *user, size_t lang, const StrId *ids, size_t n);
} UiSink;

typedef struct {
    ProtoArea  areas[AREA_COUNT];
    size_t     n_areas;         /* >= 1 */
    ProtoScale scale;
    char       unit[PROTO_ID_MAX + 1];
    char       unit_name[256];
    int        idle_timeout_s;  /* <= 0: UI_DEFAULT_IDLE_S */
    bool       supervisor_enabled; /* false when no PIN hash is configured: the corner does nothing */
    bool       ask_service, ask_respondent, ask_wait; /* the later questions (kiosk.ini) */
    bool       voice;           /* the "Nghe" button (only when a sound device is open and sink.say is set) */
    const StrPacks *packs;      /* the installed language packs; NULL: Vietnamese only */
    size_t     lang;            /* the pack each citizen starts in */
} UiConfig;

typedef struct Ui Ui;

/* A new UI on its start screen, w × h pixels, at time now_ms (unix milliseconds, from the caller's clock).
 * NULL when out of memory or the config is unusable (no areas, bad scale). */
Ui  *ui_new(const UiConfig *cfg, const UiSink *sink, int w, int h, int64_t now_ms);
void ui_free(Ui *ui);

/* Tells the UI about ratings made before it started (from store_recent), so a restart does not reset the
 * misuse counters: last_at_s is the newest rating's time, count the ratings in the last minute. */
void ui_seed_recent(Ui *ui, int64_t last_at_s, int64_t count_last_minute, int64_t now_ms);

/* Restores the PIN pad's state saved before a restart (see UiSink.pin_state). A lock is never restored longer
 * than its own duration from now (a clock set back, a damaged file). */
void ui_seed_pin_state(Ui *ui, const UiPinState *st);

/* Feeds one event at time now_ms. Time may go backwards (the clock was corrected): timers then shift with
 * it instead of firing early or stalling. */
void ui_update(Ui *ui, const UiEvent *ev, int64_t now_ms);

/* The earliest time at which a TICK would change something; INT64_MAX when nothing is pending. */
int64_t ui_next_deadline(const Ui *ui);

/* Changes whenever anything visible changed: redraw when it differs from the last drawn value. */
uint64_t ui_version(const Ui *ui);

/* True once the supervisor confirmed "Thoát ứng dụng" with the PIN. */
bool ui_quit_requested(const Ui *ui);

/* Read-only views for tests, the script runner and logs. */
UiScreen    ui_screen(const Ui *ui);
const char *ui_screen_name(UiScreen s); /* "area", "rating", ... (file names of golden images) */
int         ui_width(const Ui *ui);
int         ui_height(const Ui *ui);
ProtoArea   ui_area(const Ui *ui);            /* the area being rated */
uint32_t    ui_reasons(const Ui *ui);         /* reasons toggled on the REASONS screen */
const ProtoRating *ui_last_rating(const Ui *ui); /* the rating most recently tapped (saved or held) */
size_t      ui_lang(const Ui *ui);            /* the language pack shown */
bool        ui_listening(const Ui *ui);       /* listening mode: a first touch reads, a second chooses */
size_t      ui_pin_length(const Ui *ui);
int         ui_pin_failures(const Ui *ui);
int         ui_pin_locks(const Ui *ui);
bool        ui_pin_locked(const Ui *ui, int64_t now_ms);
int64_t     ui_supervisor_day(const Ui *ui);

/* ---- Touch targets (shared by hit-testing in ui_update and by ui_draw) ---------------------------- */

typedef enum {
    T_NONE, T_CORNER, T_AREA, T_FACE, T_BACK, T_REASON, T_SEND, T_SKIP, T_RETRY,
    T_KEY, T_KEY_DEL, T_KEY_OK, T_CANCEL, T_DAY_PREV, T_DAY_NEXT, T_SYNC, T_CLOSE, T_EXIT_APP,
    T_RESPONDENT, T_WAIT, T_LISTEN, T_LANG,
    T_KIND_COUNT
} UiTargetKind;

typedef struct { float x, y, w, h; } UiRect;

typedef struct {
    UiTargetKind kind;
    int          index; /* T_AREA: position in cfg areas; T_FACE: score; T_REASON: ProtoReason; T_KEY: digit;
                         * T_RESPONDENT: ProtoRespondent; T_WAIT: ProtoWait */
    UiRect       r;
} UiTarget;

#define UI_MAX_TARGETS 32

/* The touch targets of the current screen, in drawing order; returns how many. */
size_t ui_targets(const Ui *ui, UiTarget out[UI_MAX_TARGETS]);
/* Parses "face:2", "area:dat_dai", "reason:cho_doi", "respondent:nguoi_dan", "wait:15_30", "key:7", "send",
 * "listen", "lang", "corner", ... and finds that target on the current screen. False when it is not there
 * (used by the --script test runner). */
bool ui_find_target(const Ui *ui, const char *name, UiTarget *out);

#endif
