/* ui_internal.h — the Ui state, shared by the state machine (ui.c), layout (ui_layout.c) and drawing
 * (ui_draw.c). Nothing outside kiosk/ui*.c includes this; everything else uses ui.h. */
#ifndef KIOSK_UI_INTERNAL_H
#define KIOSK_UI_INTERNAL_H

#include "kiosk/ui.h"

typedef enum { PIN_FOR_SUPERVISOR, PIN_FOR_EXIT } PinPurpose;
typedef enum { PIN_MSG_NONE, PIN_MSG_WRONG } PinMsg;

struct Ui {
    UiConfig cfg;
    UiSink   sink;
    int      w, h;
    UiScreen screen;
    uint64_t version;
    int64_t  last_now;      /* the latest now_ms seen (to notice the clock going backwards) */
    int64_t  last_input;    /* last press: idle timers count from here */
    int64_t  screen_since;  /* when the current screen was entered */

    /* The one press being tracked (first finger wins). */
    bool     pressing;
    UiTarget press;
    int64_t  press_at;
    int64_t  press_last;    /* the press's latest event (down or move): a lost release is noticed from here */
    bool     press_inside;  /* still over the target it started on */

    /* The citizen flow. */
    int         area_index;
    ProtoRating rating;       /* the rating most recently tapped, with the answers given since */
    bool        have_rating;
    uint32_t    reasons;
    int64_t     next_retry;   /* STORAGE_ERROR: next automatic save attempt */
    size_t      lang;         /* the language pack shown (back to cfg.lang for each citizen) */
    bool        listening;    /* listening mode, until the citizen is done */
    bool        armed;        /* listening: this target was read; a second touch chooses it */
    UiTarget    armed_t;

    /* Misuse: times of the latest saved ratings (ring), newest at recent[(recent_head + n - 1) % N]. */
    int64_t recent[UI_RATE_LIMIT_PER_MIN];
    int     recent_n, recent_head;
    int64_t last_rating_at;   /* 0 = none yet */

    /* PIN pad. */
    char       pin[UI_PIN_MAX + 1];
    size_t     pin_len;
    int        pin_failures;
    int        pin_locks;
    int64_t    pin_locked_until;
    PinPurpose pin_purpose;
    PinMsg     pin_msg;

    /* Supervisor screen. */
    int64_t     sup_day, sup_today;
    UiDayReport report;
    bool        report_ok;
    bool        sync_failed;
    int64_t     next_refresh;

    bool quit;
};

/* True on the screens a citizen uses (they carry the "Nghe" button when voice is on). */
bool ui_citizen_screen(UiScreen s);
/* The pack the language button switches to (the next installed one), or -1 when there is only one. */
int ui_next_lang(const Ui *ui);
/* The text of id in the language shown. */
static inline const char *ui_str(const Ui *ui, StrId id) { return str_in(ui->cfg.packs, ui->lang, id); }

/* Regions of the current screen that are drawn but not touched. Unused ones are zero. */
typedef struct {
    UiRect title, subtitle, body, icon, message, dots, keypad, table, chart, status;
} UiFrame;

/* Computes the frame and touch targets of the current screen. */
size_t ui_layout(const Ui *ui, UiFrame *f, UiTarget t[UI_MAX_TARGETS]);

static inline float ui_short_side(const Ui *ui) { return (float)(ui->w < ui->h ? ui->w : ui->h); }
static inline bool ui_landscape(const Ui *ui) { return ui->w >= ui->h; }

#endif
