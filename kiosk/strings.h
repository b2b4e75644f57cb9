/* strings.h — every sentence the kiosk shows to a person, in one table (Vietnamese, UTF-8 NFC).
 *
 * Logic and drawing code refer to text only by StrId; no user-visible literal lives anywhere else. Names of
 * areas, reasons and scale levels are the shared vocabulary and come from sync/protocol.h. Citizens are
 * addressed with the polite "Ông/Bà". Strings with a printf conversion say so in their comment. */
#ifndef KIOSK_STRINGS_H
#define KIOSK_STRINGS_H

typedef enum {
    STR_AREA_TITLE,
    STR_RATING_TITLE,
    STR_RATING_AREA,        /* %s: the chosen area's name */
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
    STR_PIN_WRONG,          /* %d: tries left */
    STR_PIN_LOCKED,         /* %d: minutes left */
    STR_CANCEL,
    STR_OK,
    STR_DELETE,
    STR_SUP_TITLE,          /* %s: date dd/mm/yyyy */
    STR_SUP_TODAY,
    STR_SUP_COL_AREA,
    STR_SUP_COL_N,
    STR_SUP_COL_PCT,
    STR_SUP_COL_FLAGGED,
    STR_SUP_TOTAL,
    STR_SUP_CHART_TITLE,
    STR_SUP_TARGET_2025,    /* legend */
    STR_SUP_TARGET_2030,
    STR_SUP_PENDING,        /* %lld: ratings not yet uploaded */
    STR_SUP_FLAGGED,        /* %lld: flagged ratings that day */
    STR_SUP_REJECTED,       /* %lld: ratings the server refused (never retried) */
    STR_SUP_LAST_OK,        /* %s: time of the last successful upload */
    STR_SUP_NEVER,
    STR_SUP_LAST_ERROR,     /* %s: the uploader's last error */
    STR_SUP_NO_ERROR,
    STR_SUP_SYNC_WAITING,   /* %s: time the request was made */
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

#endif
