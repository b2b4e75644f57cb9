/* config.h — kiosk.ini, the one file an operator edits on a kiosk.
 *
 * Parsed with inih. Unknown sections or keys and bad values are errors naming the line, so a typo never
 * silently falls back to a default. Relative `database` and `token_file` paths are resolved against the
 * folder of the config file. assets/kiosk.example.ini documents every key. */
#ifndef KIOSK_CONFIG_H
#define KIOSK_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "kiosk/text.h"
#include "sync/protocol.h"

#define CONFIG_PATH_MAX 4096
#define CONFIG_KEEP_DAYS_DEFAULT 400 /* the supervisor's year and a margin */

typedef struct {
    /* [kiosk] */
    char       device_id[PROTO_ID_MAX + 1];
    char       unit_code[PROTO_ID_MAX + 1];
    char       unit_name[256];
    ProtoArea  areas[AREA_COUNT];          /* in the order listed; shown in this order */
    size_t     n_areas;
    ProtoScale scale;                      /* default tthc3 */
    char       database[CONFIG_PATH_MAX];  /* absolute after loading */
    int        idle_timeout_s;             /* default 20 */
    char       supervisor_pin_hash[256];   /* libsodium crypto_pwhash_str; "" = supervisor screen disabled */
    int        keep_days;                  /* acknowledged ratings older than this are pruned; default 400 */
    /* The questions after the procedure face, each off by default (the flow is then as before): */
    bool       ask_service;                /* the service face (group phuc_vu) */
    bool       ask_respondent;             /* Người dân · Doanh nghiệp · Tổ chức */
    bool       ask_wait;                   /* Dưới 15 phút · 15–30 phút · Trên 30 phút */
    bool       voice;                      /* the "Nghe" button and spoken prompts; default off */
    char       language[TEXT_LANG_CODE_MAX]; /* a language pack's code; default "vi" */
    /* [sync] */
    char       sync_url[1024];             /* base, e.g. https://host/api/v1; "" = no sync */
    char       token_file[CONFIG_PATH_MAX];/* absolute after loading; "" when not set */
    char       ca_file[CONFIG_PATH_MAX];   /* "" = system CAs */
    int        schedule_min;               /* minutes after local midnight; default 02:00 = 120 */
    int        jitter_min;                 /* default 60 */
    int        interval_min;               /* 0 = off (default) */
} KioskConfig;

typedef enum {
    CONFIG_OK = 0,
    CONFIG_IO,          /* cannot read the file */
    CONFIG_SYNTAX,      /* inih could not parse a line */
    CONFIG_UNKNOWN_KEY, /* unknown section or key */
    CONFIG_BAD_VALUE,   /* a value out of range or malformed */
    CONFIG_MISSING      /* a required key is absent (device_id, unit_code, database, areas) */
} ConfigErr;

/* Loads path into *out (defaults first, then the file). msg names the line and key on error, in English.
 * A line holding a NUL byte is a CONFIG_SYNTAX error naming it (C strings would silently end there). */
ConfigErr config_load(const char *path, KioskConfig *out, char *msg, size_t msg_len);
/* The same from text already in memory (tests and the fuzz target); relative paths resolve against dir. */
ConfigErr config_parse(const char *text, size_t len, const char *dir, KioskConfig *out, char *msg, size_t msg_len);

#endif
