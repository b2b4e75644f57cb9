/* protocol.h — the vocabulary both ends speak, and its strict JSON codec.
 *
 * Procedure areas, rating scales, the "satisfied" rule, follow-up reasons, target groups, the rating record
 * and the upload batch and its reply. The codes here are the wire contract (docs/protocol.md) and the
 * definitions follow ../shared/reference/metric.md; change them there first.
 *
 * Decoding is strict: duplicate keys, unknown keys, wrong types, unknown codes, a score outside its scale,
 * a malformed UUID or time each give a ProtoError naming the field. Decoders never allocate on failure
 * paths that the caller must free, except proto_batch_parse, whose result is freed by proto_batch_free
 * whatever it returned. Encoders return malloc'd compact JSON (free with free()) or NULL when out of memory. */
#ifndef SYNC_PROTOCOL_H
#define SYNC_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/ptime.h"
#include "sync/uuid.h"

/* Batch schemas: 1 is the first release's rating; 2 adds the optional answers service_score, respondent and
 * wait. The server reads both; a kiosk sends 1 while none of a batch's ratings carries a schema-2 answer. */
#define PROTO_SCHEMA_MIN 1
#define PROTO_SCHEMA 2
#define PROTO_ID_MAX 64          /* device_id and unit code: 1-64 chars of [A-Za-z0-9._-] */
#define PROTO_MAX_BATCH 5000     /* ratings in one batch the server accepts */
#define PROTO_MAX_BODY (4u << 20) /* bytes in one batch body the server accepts */

/* ---- Vocabulary ------------------------------------------------------------------------------------- */

typedef enum {
    AREA_DAT_DAI, AREA_XAY_DUNG, AREA_DAU_TU, AREA_Y_TE, AREA_GIAO_DUC,
    AREA_TU_PHAP_HO_TICH, AREA_LAO_DONG_XA_HOI, AREA_KHAC,
    AREA_COUNT
} ProtoArea;

typedef enum { SCALE_TTHC3, SCALE_LIKERT5, SCALE_COUNT } ProtoScale;
#define PROTO_MAX_LEVELS 5

typedef enum {
    REASON_CHO_DOI, REASON_THAI_DO, REASON_THU_TUC, REASON_DI_LAI, REASON_TRE_HEN,
    REASON_CO_SO_VAT_CHAT, REASON_KHAC,
    REASON_COUNT
} ProtoReason;

typedef enum { FOLLOWUP_NONE, FOLLOWUP_ANSWERED, FOLLOWUP_SKIPPED, FOLLOWUP_TIMEOUT, FOLLOWUP_COUNT } ProtoFollowup;

/* Who is rating (metric.md "Respondent type"); NONE: not asked or not answered (null on the wire). */
typedef enum {
    RESPONDENT_NONE, RESPONDENT_NGUOI_DAN, RESPONDENT_DOANH_NGHIEP, RESPONDENT_TO_CHUC,
    RESPONDENT_COUNT
} ProtoRespondent;

/* How long they waited (metric.md "Chờ không quá 30 phút"); NONE: not asked or not answered (null). */
typedef enum { WAIT_NONE, WAIT_DUOI_15, WAIT_15_30, WAIT_TREN_30, WAIT_COUNT } ProtoWait;

/* Rating flags (bit set). A flagged rating is kept and uploaded but left out of n and pct. */
#define PROTO_FLAG_RAPID_REPEAT 0x1u
#define PROTO_FLAGS_KNOWN       0x1u

/* Target groups (metric.md). tthc covers every area except y_te and giao_duc; dat_dai, xay_dung and dau_tu
 * are also one combined group with its own lower floor. The first GROUP_AREA_COUNT groups count the
 * procedure rating (score) by area; phuc_vu counts the separate service rating (service_score) of any area
 * and is never merged into tthc. */
typedef enum {
    GROUP_TTHC, GROUP_DAT_DAI_XAY_DUNG_DAU_TU, GROUP_Y_TE, GROUP_GIAO_DUC,
    GROUP_PHUC_VU,
    GROUP_COUNT
} ProtoGroup;
#define GROUP_AREA_COUNT GROUP_PHUC_VU

/* Codes (wire, config) and Vietnamese names (NFC). Code lookups return -1 when unknown. */
const char *proto_area_code(ProtoArea a);
const char *proto_area_name_vi(ProtoArea a);
int         proto_area_from_code(const char *code);

const char *proto_scale_code(ProtoScale s);
int         proto_scale_from_code(const char *code);
int         proto_scale_levels(ProtoScale s);                   /* 3 or 5 */
const char *proto_scale_label_vi(ProtoScale s, int score);      /* NULL when score is out of range */
bool        proto_score_valid(ProtoScale s, int score);
bool        proto_is_satisfied(ProtoScale s, int score);       /* tthc3: >= 2, likert5: >= 4 */

const char *proto_reason_code(ProtoReason r);
const char *proto_reason_name_vi(ProtoReason r);
int         proto_reason_from_code(const char *code);

const char *proto_followup_code(ProtoFollowup f);
int         proto_followup_from_code(const char *code);

/* Respondent and wait codes ("nguoi_dan", "duoi_15", ...); NONE has no code (NULL), and from_code of an
 * unknown code is -1. Names are Vietnamese (NFC). */
const char *proto_respondent_code(ProtoRespondent r);
const char *proto_respondent_name_vi(ProtoRespondent r);
int         proto_respondent_from_code(const char *code);
const char *proto_wait_code(ProtoWait w);
const char *proto_wait_name_vi(ProtoWait w);
int         proto_wait_from_code(const char *code);
bool        proto_wait_within_30(ProtoWait w);                  /* duoi_15 or 15_30 */

const char *proto_flag_code(uint32_t single_flag);              /* "rapid_repeat"; NULL if unknown */
uint32_t    proto_flag_from_code(const char *code);             /* 0 when unknown */

const char *proto_group_code(ProtoGroup g);
const char *proto_group_name_vi(ProtoGroup g);
int         proto_group_from_code(const char *code);
ProtoGroup  proto_area_group(ProtoArea a);                      /* the most specific group of an area */
bool        proto_area_in_group(ProtoArea a, ProtoGroup g);     /* false for phuc_vu: it is not by area */
/* The seeded floors in percent (metric.md): milestone is 2025 or 2030; -1 for anything else. The central
 * tally keeps its own editable copy; the kiosk draws these lines. */
int         proto_group_default_target(ProtoGroup g, int milestone);

/* ---- Records ---------------------------------------------------------------------------------------- */

typedef struct {
    char          id[UUID_TEXT_LEN];        /* UUID, lower case; v7 when made by a kiosk */
    int64_t       seq;                      /* per-device counter, >= 1, survives restarts */
    char          unit[PROTO_ID_MAX + 1];   /* unit code (mã định danh) of the counter */
    ProtoArea     area;
    ProtoScale    scale;
    int           score;                    /* 1..levels(scale), higher is better */
    uint32_t      reasons;                  /* bit (1u << ProtoReason) per reason chosen */
    ProtoFollowup followup;
    char          at[PTIME_TEXT_MAX];       /* RFC 3339 local time with offset, as made at the tap */
    uint32_t      flags;                    /* PROTO_FLAG_* */
    /* Schema 2, each optional (0 = not asked or not answered, absent on the wire): */
    int             service_score;          /* the service question, on the rating's scale */
    ProtoRespondent respondent;
    ProtoWait       wait;
} ProtoRating;

/* True when the rating carries anything schema 1 cannot say. */
bool proto_rating_needs_schema2(const ProtoRating *r);
/* The follow-up reasons are asked when the citizen is not satisfied with the procedure or, when answered,
 * with the service; the validator allows a follow-up answer only then. */
bool proto_rating_asks_reasons(const ProtoRating *r);

typedef enum {
    PROTO_OK = 0,
    PROTO_E_SYNTAX,        /* "bad_json": not JSON, or a duplicate key */
    PROTO_E_MISSING,       /* "missing_field" */
    PROTO_E_TYPE,          /* "wrong_type" */
    PROTO_E_UNKNOWN_FIELD, /* "unknown_field" */
    PROTO_E_UUID,          /* "bad_uuid" */
    PROTO_E_TIME,          /* "bad_time" */
    PROTO_E_AREA,          /* "unknown_area" */
    PROTO_E_SCALE,         /* "unknown_scale" */
    PROTO_E_SCORE,         /* "score_out_of_range" */
    PROTO_E_REASON,        /* "unknown_reason" (or listed twice) */
    PROTO_E_FOLLOWUP,      /* "bad_followup" */
    PROTO_E_FLAG,          /* "unknown_flag" */
    PROTO_E_VALUE,         /* "bad_value": a field of the right type with an impossible value */
    PROTO_E_RESPONDENT,    /* "unknown_respondent" */
    PROTO_E_WAIT,          /* "unknown_wait" */
    PROTO_E_TOO_MANY,      /* "too_many_ratings" */
    PROTO_E_NOMEM,         /* "out_of_memory" (the server answers 503 busy: retry later) */
    PROTO_E_TOO_LARGE,     /* "too_large": more JSON than any batch of PROTO_MAX_BATCH ratings needs */
    PROTO_E_COUNT
} ProtoErr;

typedef struct {
    ProtoErr code;
    char     field[64];   /* JSON path of the offending field, e.g. "ratings[3].score"; "" for syntax */
    char     msg[200];    /* English, for logs and 400 bodies */
    int      line, column; /* for PROTO_E_SYNTAX */
} ProtoError;

const char *proto_err_code(ProtoErr e); /* the stable snake_case wire code above */

/* Checks a decoded or hand-made rating against every rule the decoder applies. */
ProtoErr proto_rating_validate(const ProtoRating *r, ProtoError *err);

/* One rating <-> JSON text. Keys are emitted in a fixed order, reasons in code order: equal ratings encode
 * to equal bytes (the server relies on this to tell a duplicate from a conflict). The schema-2 answers
 * follow "flags" when they are set and are left out when not, so a rating without them has exactly the
 * bytes of schema 1. proto_rating_parse reads both. */
char    *proto_rating_dump(const ProtoRating *r);
/* The same bytes as proto_rating_dump() for a rating that passes proto_rating_validate() (its strings then
 * need no JSON escaping), written into buf without allocating, as snprintf does: returns the length needed
 * (>= cap means truncated). The hot path of ingest; tests hold the two encoders byte-equal. */
#define PROTO_RATING_TEXT_MAX 1024
size_t   proto_rating_canonical(const ProtoRating *r, char *buf, size_t cap);
ProtoErr proto_rating_parse(const char *text, size_t len, ProtoRating *out, ProtoError *err);

/* Answers saved after the tap. A kiosk stores a rating at the tap, then saves the answers to the questions
 * that follow it (the service face, the follow-up reasons, who is rating, how long they waited) into the same
 * rating: each such answer starts unanswered and may be answered once. Everything else (id, seq, unit, area,
 * scale, score, at, flags) never changes. So a copy of a rating the server already holds relates to the
 * stored one in one of four ways: */
typedef enum {
    PROTO_REV_SAME,     /* byte-equal canonical text */
    PROTO_REV_GAINS,    /* equal but for answers the stored copy has unanswered and this one has answered */
    PROTO_REV_OLDER,    /* equal but for answers the stored copy has and this one leaves unanswered */
    PROTO_REV_CONFLICT  /* anything else: another score, area, unit, time, seq or flags; an answer changed */
} ProtoRevision;
/* How `incoming` relates to `stored` (same id), by the rule above (docs/protocol.md). */
ProtoRevision proto_rating_revision(const ProtoRating *stored, const ProtoRating *incoming);
/* Copies every answer given after the tap from src into dst (the kiosk's store saves them this way). */
void proto_rating_copy_answers(ProtoRating *dst, const ProtoRating *src);

/* An upload batch. Envelope problems fail the whole parse; a problem inside one rating object only marks
 * that item (items[i].error.code != PROTO_OK) so the server can reject it alone. An item that is not a
 * JSON object is an envelope problem. */
typedef struct {
    ProtoRating rating;
    ProtoError  error;
    char        raw_id[UUID_TEXT_LEN]; /* the item's "id" when it was a valid UUID, else "" */
} ProtoBatchItem;

typedef struct {
    char            batch_id[UUID_TEXT_LEN];
    char            device_id[PROTO_ID_MAX + 1];
    char            sent_at[PTIME_TEXT_MAX];
    size_t          n;
    ProtoBatchItem *items;
} ProtoBatch;

/* Reads schema 1 and 2: in a schema-1 batch a schema-2 answer is an unknown field of that item. */
ProtoErr proto_batch_parse(const char *text, size_t len, ProtoBatch *out, ProtoError *err);

/* Sizes a batch body while it streams in, before any of it is decoded, so that an over-long batch is refused
 * for the cost of reading it rather than of materialising it (a 4 MiB "[{},{},...]" would otherwise become a
 * million JSON objects). It counts the items of the top-level "ratings" array (a top-level key written with
 * escapes counts as "ratings" too) and bounds every structural character outside strings ('{' '[' ':' ','),
 * which bounds the values the decoder could build: a batch of PROTO_MAX_BATCH full ratings needs about 30
 * per rating. It does not validate: the decoder does that afterwards. */
#define PROTO_MAX_JSON_TOKENS ((size_t)PROTO_MAX_BATCH * 48 + 64)
typedef struct {
    size_t  ratings, tokens;
    int     depth;              /* nesting outside strings */
    bool    in_string, escape;
    bool    string_is_key;      /* the string being read is a key of the top-level object */
    bool    key_may_be_ratings; /* ... and so far it reads "ratings" (or holds an escape) */
    uint8_t key_len;
    bool    last_key_ratings;   /* the last top-level key was (or may have been) "ratings" */
    bool    expect_key;         /* at depth 1: the next string is a key */
    bool    in_ratings;         /* inside the ratings array (depth 2) */
    bool    expect_item;        /* at depth 2 in it: the next value starts an item */
} ProtoBatchScan;

void     proto_batch_scan_init(ProtoBatchScan *s);
/* Feeds the next bytes. PROTO_OK while within bounds; PROTO_E_TOO_MANY once the ratings array holds more than
 * PROTO_MAX_BATCH items; PROTO_E_TOO_LARGE once there are more than PROTO_MAX_JSON_TOKENS structural
 * characters. Once it has returned an error, stop feeding it. */
ProtoErr proto_batch_scan(ProtoBatchScan *s, const char *data, size_t len);
void     proto_batch_free(ProtoBatch *b);
/* Schema 2 when some rating needs it (proto_rating_needs_schema2), else 1, so a kiosk that asks none of the
 * later questions still speaks to a server that reads only schema 1. */
char    *proto_batch_dump(const char *batch_id, const char *device_id, const char *sent_at,
                          const ProtoRating *ratings, size_t n);

/* A header of the batch reply after the tally was restored from a backup: "EPOCH SINCE" (two decimal
 * integers, EPOCH > 0 new at each restore, SINCE the newest receipt time the backup holds, unix seconds). A
 * kiosk that has not seen EPOCH yet sends again what it was acknowledged from a day before SINCE on. A header
 * rather than a reply field: kiosks that predate it read replies strictly and ignore headers. */
#define PROTO_RESTORE_HEADER "Tally-Restore"

/* The server's reply to a batch. */
typedef struct {
    char id[UUID_TEXT_LEN]; /* "" when the item had no valid id (encoded as null) */
    char error[32];         /* a wire code: proto_err_code() or "conflict" */
} ProtoReject;

typedef struct {
    char         batch_id[UUID_TEXT_LEN];
    int64_t      accepted, duplicate;
    size_t       n_rejected;
    ProtoReject *rejected;
} ProtoReply;

char    *proto_reply_dump(const ProtoReply *r);
ProtoErr proto_reply_parse(const char *text, size_t len, ProtoReply *out, ProtoError *err);
void     proto_reply_free(ProtoReply *r);

/* True when an id or unit/device code is 1..PROTO_ID_MAX chars of [A-Za-z0-9._-]. */
bool proto_code_valid(const char *s);

#endif
