/* strings.h — every sentence the kiosk shows or says to a person, by StrId, in language packs.
 *
 * A pack is a folder assets/lang/<code>/ holding strings.txt (one "key = text" per line, plus "key.voice =
 * file.wav" naming the recording read aloud for that text) and voice/. Vietnamese (vi) is the reference
 * and the default: its strings.txt is built into the program, so a kiosk always has every text, and a pack
 * added later (Jrai, Bahnar, ...) may be partial — each missing or refused text falls back to Vietnamese,
 * string by string. Logic and drawing code refer to text only by StrId; no user-visible literal lives
 * anywhere else. Citizens are addressed with the polite "Ông/Bà".
 *
 * No text is ever a printf format: a text with a value has "{}" slots, filled by str_fill_in(); the table
 * below declares how many each id has, a pack's text with another number of slots is refused (logged, the
 * Vietnamese one is used), and -Wformat=2 checks every format the kiosk does pass to printf. */
#ifndef KIOSK_STRINGS_H
#define KIOSK_STRINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "sync/protocol.h"

/* X(ID, "key", slots, spoken): spoken texts are read aloud in listening mode, so every complete pack names a
 * voice file for each. Areas, reasons, levels, respondents and waits follow sync/protocol.h's order. */
#define STR_TABLE(X)                                                                                            \
    X(LANG_NAME, "lang.name", 0, 0)                 /* the pack's own name, on the language button */          \
    X(AREA_TITLE, "area_title", 0, 1)                                                                          \
    X(RATING_TITLE, "rating_title", 0, 1)                                                                      \
    X(RATING_AREA, "rating_area", 1, 0)             /* {}: the chosen area's name */                           \
    X(BACK, "back", 0, 1)                                                                                      \
    X(SERVICE_TITLE, "service_title", 0, 1)                                                                    \
    X(SERVICE_HINT, "service_hint", 0, 1)                                                                      \
    X(REASONS_TITLE, "reasons_title", 0, 1)                                                                    \
    X(REASONS_HINT, "reasons_hint", 0, 1)                                                                      \
    X(SEND, "send", 0, 1)                                                                                      \
    X(SKIP, "skip", 0, 1)                                                                                      \
    X(RESPONDENT_TITLE, "respondent_title", 0, 1)                                                              \
    X(WAIT_TITLE, "wait_title", 0, 1)                                                                          \
    X(THANKS_TITLE, "thanks_title", 0, 1)                                                                      \
    X(THANKS_BODY, "thanks_body", 0, 1)                                                                        \
    X(STORAGE_TITLE, "storage_title", 0, 1)                                                                    \
    X(STORAGE_BODY, "storage_body", 0, 1)                                                                      \
    X(STORAGE_RETRY, "storage_retry", 0, 1)                                                                    \
    X(LISTEN, "listen", 0, 0)                       /* the "Nghe" button */                                    \
    X(LISTEN_AGAIN, "listen_again", 0, 1)           /* said after a tile's name in listening mode */           \
    X(AREA_DAT_DAI, "area.dat_dai", 0, 1)                                                                      \
    X(AREA_XAY_DUNG, "area.xay_dung", 0, 1)                                                                    \
    X(AREA_DAU_TU, "area.dau_tu", 0, 1)                                                                        \
    X(AREA_Y_TE, "area.y_te", 0, 1)                                                                            \
    X(AREA_GIAO_DUC, "area.giao_duc", 0, 1)                                                                    \
    X(AREA_TU_PHAP_HO_TICH, "area.tu_phap_ho_tich", 0, 1)                                                      \
    X(AREA_LAO_DONG_XA_HOI, "area.lao_dong_xa_hoi", 0, 1)                                                      \
    X(AREA_KHAC, "area.khac", 0, 1)                                                                            \
    X(REASON_CHO_DOI, "reason.cho_doi", 0, 1)                                                                  \
    X(REASON_THAI_DO, "reason.thai_do", 0, 1)                                                                  \
    X(REASON_THU_TUC, "reason.thu_tuc", 0, 1)                                                                  \
    X(REASON_DI_LAI, "reason.di_lai", 0, 1)                                                                    \
    X(REASON_TRE_HEN, "reason.tre_hen", 0, 1)                                                                  \
    X(REASON_CO_SO_VAT_CHAT, "reason.co_so_vat_chat", 0, 1)                                                    \
    X(REASON_KHAC, "reason.khac", 0, 1)                                                                        \
    X(LEVEL_TTHC3_1, "level.tthc3.1", 0, 1)                                                                    \
    X(LEVEL_TTHC3_2, "level.tthc3.2", 0, 1)                                                                    \
    X(LEVEL_TTHC3_3, "level.tthc3.3", 0, 1)                                                                    \
    X(LEVEL_LIKERT5_1, "level.likert5.1", 0, 1)                                                                \
    X(LEVEL_LIKERT5_2, "level.likert5.2", 0, 1)                                                                \
    X(LEVEL_LIKERT5_3, "level.likert5.3", 0, 1)                                                                \
    X(LEVEL_LIKERT5_4, "level.likert5.4", 0, 1)                                                                \
    X(LEVEL_LIKERT5_5, "level.likert5.5", 0, 1)                                                                \
    X(RESPONDENT_NGUOI_DAN, "respondent.nguoi_dan", 0, 1)                                                      \
    X(RESPONDENT_DOANH_NGHIEP, "respondent.doanh_nghiep", 0, 1)                                                \
    X(RESPONDENT_TO_CHUC, "respondent.to_chuc", 0, 1)                                                          \
    X(WAIT_DUOI_15, "wait.duoi_15", 0, 1)                                                                      \
    X(WAIT_15_30, "wait.15_30", 0, 1)                                                                          \
    X(WAIT_TREN_30, "wait.tren_30", 0, 1)                                                                      \
    X(PIN_TITLE, "pin_title", 0, 0)                                                                            \
    X(PIN_TITLE_EXIT, "pin_title_exit", 0, 0)                                                                  \
    X(PIN_WRONG, "pin_wrong", 1, 0)                 /* {}: tries left */                                       \
    X(PIN_LOCKED, "pin_locked", 1, 0)               /* {}: how long, as MINUTES or HOURS */                    \
    X(MINUTES, "minutes", 1, 0)                     /* {}: a number of minutes */                              \
    X(HOURS, "hours", 1, 0)                         /* {}: a number of hours */                                \
    X(CANCEL, "cancel", 0, 0)                                                                                  \
    X(OK, "ok", 0, 0)                                                                                          \
    X(DELETE, "delete", 0, 0)                                                                                  \
    X(SUP_TITLE, "sup_title", 1, 0)                 /* {}: date dd/mm/yyyy */                                  \
    X(SUP_TODAY, "sup_today", 0, 0)                                                                            \
    X(SUP_COL_AREA, "sup_col_area", 0, 0)                                                                      \
    X(SUP_COL_N, "sup_col_n", 0, 0)                                                                            \
    X(SUP_COL_PCT, "sup_col_pct", 0, 0)                                                                        \
    X(SUP_COL_FLAGGED, "sup_col_flagged", 0, 0)                                                                \
    X(SUP_TOTAL, "sup_total", 0, 0)                                                                            \
    X(SUP_SERVICE, "sup_service", 0, 0)             /* the service face's row and bar (group phuc_vu) */       \
    X(SUP_WAIT, "sup_wait", 0, 0)                   /* the bar of "waited within 30 minutes" */                \
    X(SUP_WAIT_LINE, "sup_wait_line", 1, 0)         /* {}: that share with its n, e.g. "87,5% (35/40)" */      \
    X(SUP_WAIT_SHORT, "sup_wait_short", 0, 0)       /* the same bar's label where the full one does not fit */ \
    X(AREA_SHORT_DAT_DAI, "area_short.dat_dai", 0, 0) /* an area's name in a cramped supervisor row */        \
    X(AREA_SHORT_XAY_DUNG, "area_short.xay_dung", 0, 0)                                                        \
    X(AREA_SHORT_DAU_TU, "area_short.dau_tu", 0, 0)                                                            \
    X(AREA_SHORT_Y_TE, "area_short.y_te", 0, 0)                                                                \
    X(AREA_SHORT_GIAO_DUC, "area_short.giao_duc", 0, 0)                                                        \
    X(AREA_SHORT_TU_PHAP_HO_TICH, "area_short.tu_phap_ho_tich", 0, 0)                                          \
    X(AREA_SHORT_LAO_DONG_XA_HOI, "area_short.lao_dong_xa_hoi", 0, 0)                                          \
    X(AREA_SHORT_KHAC, "area_short.khac", 0, 0)                                                                \
    X(SUP_CHART_TITLE, "sup_chart_title", 0, 0)                                                                \
    X(SUP_TARGET_2025, "sup_target_2025", 0, 0)     /* legend */                                               \
    X(SUP_TARGET_2030, "sup_target_2030", 0, 0)                                                                \
    X(SUP_PENDING, "sup_pending", 1, 0)             /* {}: ratings not yet uploaded */                         \
    X(SUP_FLAGGED, "sup_flagged", 1, 0)             /* {}: flagged ratings that day */                         \
    X(SUP_REJECTED, "sup_rejected", 1, 0)           /* {}: ratings the server refused (never retried) */       \
    X(SUP_HISTORY, "sup_history", 1, 0)             /* {}: date dd/mm/yyyy of the first day the kiosk holds */ \
    X(SUP_HISTORY_PRUNED, "sup_history_pruned", 1, 0) /* {}: the same, when older days were deleted */         \
    X(SUP_LAST_OK, "sup_last_ok", 1, 0)             /* {}: time of the last successful upload */               \
    X(SUP_NEVER, "sup_never", 0, 0)                                                                            \
    X(SUP_LAST_ERROR, "sup_last_error", 1, 0)       /* {}: the uploader's last error */                        \
    X(SUP_NO_ERROR, "sup_no_error", 0, 0)                                                                      \
    X(SUP_SYNC_WAITING, "sup_sync_waiting", 1, 0)   /* {}: time the request was made */                        \
    X(SUP_SYNC_FAILED, "sup_sync_failed", 0, 0)                                                                \
    X(SUP_CLOCK_WARNING, "sup_clock_warning", 0, 0)                                                            \
    X(SUP_READ_FAILED, "sup_read_failed", 0, 0)                                                                \
    X(SUP_NO_DATA, "sup_no_data", 0, 0)                                                                        \
    X(SUP_SYNC_NOW, "sup_sync_now", 0, 0)                                                                      \
    X(SUP_CLOSE, "sup_close", 0, 0)                                                                            \
    X(SUP_EXIT_APP, "sup_exit_app", 0, 0)

typedef enum {
#define STR_ENUM_(id, key, slots, spoken) STR_##id,
    STR_TABLE(STR_ENUM_)
#undef STR_ENUM_
    STR_COUNT
} StrId;

/* The built-in Vietnamese text for id; never NULL (an unknown id gives ""). */
const char *str(StrId id);
const char *str_key(StrId id);  /* "area_title"; NULL for an unknown id */
int         str_slots(StrId id); /* the "{}" slots id's text must have (the table above) */
bool        str_spoken(StrId id);
/* The ids of the shared vocabulary (sync/protocol.h), in its order. */
StrId str_area(ProtoArea a);
/* Its short form, for a supervisor row too narrow for the full name (its own line in the packs). */
StrId str_area_short(ProtoArea a);
StrId str_reason(ProtoReason r);
StrId str_level(ProtoScale s, int score);   /* STR_COUNT when the score is not on the scale */
StrId str_respondent(ProtoRespondent r);    /* STR_COUNT for RESPONDENT_NONE */
StrId str_wait(ProtoWait w);                /* STR_COUNT for WAIT_NONE */

/* Writes template t with its "{}" slot replaced by arg into out (cap bytes, cut at a character boundary
 * when it does not fit); returns out. A text without a slot is copied as it is. */
const char *str_fill_text(char *out, size_t cap, const char *t, const char *arg);
/* The same with the built-in Vietnamese text of id. */
const char *str_fill(char *out, size_t cap, StrId id, const char *arg);

/* ---- Language packs --------------------------------------------------------------------------------- */

typedef struct StrPacks StrPacks;

#define STR_PACKS_MAX 8

/* Loads every <dir>/<code>/strings.txt (code: a lower-case letter, then [a-z0-9-]). Vietnamese is always
 * there first (built in; a vi/strings.txt in dir overrides it text by text), the others follow by code.
 * Lines it cannot use — an unknown key, a text with the wrong number of slots, bad UTF-8, a voice file name
 * with a path in it — are left out and reported through log (one English line each), so a faulty pack
 * still shows, in Vietnamese, whatever it got wrong. dir NULL: Vietnamese only. NULL when out of memory. */
StrPacks *str_packs_load(const char *dir, void (*log)(void *user, const char *line), void *user);
void      str_packs_free(StrPacks *p);
size_t    str_packs_count(const StrPacks *p);            /* >= 1; 1 for NULL */
int       str_packs_find(const StrPacks *p, const char *code); /* index, or -1 */
const char *str_pack_code(const StrPacks *p, size_t lang);      /* "vi", "en", ... */
/* The text of id in pack lang, or Vietnamese when that pack lacks it; p NULL means Vietnamese. */
const char *str_in(const StrPacks *p, size_t lang, StrId id);
/* True when pack lang has its own text for id (tests: is a shipped pack complete?). */
bool        str_has(const StrPacks *p, size_t lang, StrId id);
const char *str_fill_in(const StrPacks *p, size_t lang, char *out, size_t cap, StrId id, const char *arg);
/* The voice file (a bare file name in <code>/voice/) read aloud for id in pack lang: that pack's when it
 * names one, else the Vietnamese pack's; *pack (may be NULL) gets the index of the pack it belongs to. NULL
 * when neither names one. */
const char *str_voice(const StrPacks *p, size_t lang, StrId id, size_t *pack);
/* Pack meta data from strings.txt that is not shown: "lang.espeak" (the espeak-ng voice that makes the voice
 * files at build time). NULL when absent. */
const char *str_pack_meta(const StrPacks *p, size_t lang, const char *key);

#endif
