/* strings.h — every sentence the kiosk shows to a person, in one table (Vietnamese, UTF-8 NFC).
 *
 * Logic and drawing code refer to text only by StrId; no user-visible literal lives anywhere else. Names of
 * areas, reasons and scale levels are the shared vocabulary and come from sync/protocol.h. Citizens are
 * addressed with the polite "Ông/Bà". No entry is ever a printf format: a text with a value in it has one
 * "{}" slot, filled by str_fill() (the comment says what goes there), so a table entry can never be read
 * as a conversion, and -Wformat=2 checks every format the kiosk does pass to printf. */
#ifndef KIOSK_STRINGS_H
#define KIOSK_STRINGS_H

#include <stddef.h>

typedef enum {
    STR_AREA_TITLE,
    STR_RATING_TITLE,
    STR_RATING_AREA,        /* {}: the chosen area's name */
    STR_BACK,
    STR_REASONS_TITLE,
    STR_REASONS_HINT,
    STR_SEND,
    STR_SKIP,
    STR_THANKS_TITLE,
    STR_THANKS_BODY,
    STR_STORAGE_TITLE,
    STR_STORAGE_BODY,
    STR_STORAGE_RETRY,
    STR_PIN_TITLE,
    STR_PIN_TITLE_EXIT,
    STR_PIN_WRONG,          /* {}: tries left */
    STR_PIN_LOCKED,         /* {}: how long, as STR_MINUTES or STR_HOURS */
    STR_MINUTES,            /* {}: a number of minutes */
    STR_HOURS,              /* {}: a number of hours */
    STR_CANCEL,
    STR_OK,
    STR_DELETE,
    STR_SUP_TITLE,          /* {}: date dd/mm/yyyy */
    STR_SUP_TODAY,
    STR_SUP_COL_AREA,
    STR_SUP_COL_N,
    STR_SUP_COL_PCT,
    STR_SUP_COL_FLAGGED,
    STR_SUP_TOTAL,
    STR_SUP_CHART_TITLE,
    STR_SUP_TARGET_2025,    /* legend */
    STR_SUP_TARGET_2030,
    STR_SUP_PENDING,        /* {}: ratings not yet uploaded */
    STR_SUP_FLAGGED,        /* {}: flagged ratings that day */
    STR_SUP_REJECTED,       /* {}: ratings the server refused (never retried) */
    STR_SUP_HISTORY,        /* {}: date dd/mm/yyyy of the first day the kiosk holds */
    STR_SUP_HISTORY_PRUNED, /* {}: the same, when older days were deleted after upload (keep_days) */
    STR_SUP_LAST_OK,        /* {}: time of the last successful upload */
    STR_SUP_NEVER,
    STR_SUP_LAST_ERROR,     /* {}: the uploader's last error */
    STR_SUP_NO_ERROR,
    STR_SUP_SYNC_WAITING,   /* {}: time the request was made */
    STR_SUP_SYNC_FAILED,
    STR_SUP_CLOCK_WARNING,
    STR_SUP_READ_FAILED,
    STR_SUP_NO_DATA,
    STR_SUP_SYNC_NOW,
    STR_SUP_CLOSE,
    STR_SUP_EXIT_APP,
    STR_COUNT
} StrId;

/* The text for id; never NULL (an unknown id gives ""). */
const char *str(StrId id);
/* How many "{}" slots id's text has (0 or 1; tests hold the table to its comments). */
int str_slots(StrId id);
/* id's text with its slot replaced by arg, written into out (cap bytes, cut at a character boundary when it
 * does not fit); returns out. A text without a slot is copied as it is. */
const char *str_fill(char *out, size_t cap, StrId id, const char *arg);

#endif
