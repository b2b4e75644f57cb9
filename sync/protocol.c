/* protocol.c — vocabulary tables and the strict JSON codec. See protocol.h; the wire format is documented
 * in docs/protocol.md. Start reading at decode_rating(). */
#include "sync/protocol.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Vocabulary tables (codes are the contract; names are NFC Vietnamese) --------------------------- */

static const struct { const char *code, *name; } AREAS[AREA_COUNT] = {
    [AREA_DAT_DAI] = {"dat_dai", "Đất đai"},
    [AREA_XAY_DUNG] = {"xay_dung", "Xây dựng"},
    [AREA_DAU_TU] = {"dau_tu", "Đầu tư"},
    [AREA_Y_TE] = {"y_te", "Y tế"},
    [AREA_GIAO_DUC] = {"giao_duc", "Giáo dục"},
    [AREA_TU_PHAP_HO_TICH] = {"tu_phap_ho_tich", "Tư pháp – Hộ tịch"},
    [AREA_LAO_DONG_XA_HOI] = {"lao_dong_xa_hoi", "Lao động – Thương binh và Xã hội"},
    [AREA_KHAC] = {"khac", "Khác"},
};

static const char *const SCALE_CODES[SCALE_COUNT] = {[SCALE_TTHC3] = "tthc3", [SCALE_LIKERT5] = "likert5"};
static const int SCALE_LEVELS[SCALE_COUNT] = {[SCALE_TTHC3] = 3, [SCALE_LIKERT5] = 5};
static const int SCALE_SATISFIED_FROM[SCALE_COUNT] = {[SCALE_TTHC3] = 2, [SCALE_LIKERT5] = 4};
static const char *const SCALE_LABELS[SCALE_COUNT][PROTO_MAX_LEVELS + 1] = {
    [SCALE_TTHC3] = {NULL, "Không hài lòng", "Hài lòng", "Rất hài lòng"},
    [SCALE_LIKERT5] = {NULL, "Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"},
};

static const struct { const char *code, *name; } REASONS[REASON_COUNT] = {
    [REASON_CHO_DOI] = {"cho_doi", "Thời gian chờ đợi lâu"},
    [REASON_THAI_DO] = {"thai_do", "Thái độ của cán bộ"},
    [REASON_THU_TUC] = {"thu_tuc", "Thủ tục, hồ sơ phức tạp"},
    [REASON_DI_LAI] = {"di_lai", "Phải đi lại nhiều lần"},
    [REASON_TRE_HEN] = {"tre_hen", "Trả kết quả trễ hẹn"},
    [REASON_CO_SO_VAT_CHAT] = {"co_so_vat_chat", "Cơ sở vật chất"},
    [REASON_KHAC] = {"khac", "Lý do khác"},
};

static const char *const FOLLOWUPS[FOLLOWUP_COUNT] = {
    [FOLLOWUP_NONE] = "none", [FOLLOWUP_ANSWERED] = "answered",
    [FOLLOWUP_SKIPPED] = "skipped", [FOLLOWUP_TIMEOUT] = "timeout",
};

static const struct { const char *code, *name; } RESPONDENTS[RESPONDENT_COUNT] = {
    [RESPONDENT_NONE] = {NULL, NULL},
    [RESPONDENT_NGUOI_DAN] = {"nguoi_dan", "Người dân"},
    [RESPONDENT_DOANH_NGHIEP] = {"doanh_nghiep", "Doanh nghiệp"},
    [RESPONDENT_TO_CHUC] = {"to_chuc", "Tổ chức"},
};

static const struct { const char *code, *name; } WAITS[WAIT_COUNT] = {
    [WAIT_NONE] = {NULL, NULL},
    [WAIT_DUOI_15] = {"duoi_15", "Dưới 15 phút"},
    [WAIT_15_30] = {"15_30", "15–30 phút"},
    [WAIT_TREN_30] = {"tren_30", "Trên 30 phút"},
};

static const struct { const char *code, *name; int t2025, t2030; } GROUPS[GROUP_COUNT] = {
    [GROUP_TTHC] = {"tthc", "Giải quyết thủ tục hành chính", 90, 95},
    [GROUP_DAT_DAI_XAY_DUNG_DAU_TU] = {"dat_dai_xay_dung_dau_tu", "Đất đai, xây dựng, đầu tư", 85, 90},
    [GROUP_Y_TE] = {"y_te", "Dịch vụ y tế công", 85, 90},
    [GROUP_GIAO_DUC] = {"giao_duc", "Dịch vụ giáo dục công", 85, 90},
    [GROUP_PHUC_VU] = {"phuc_vu", "Sự phục vụ của cơ quan hành chính nhà nước", 90, 95},
};

static const char *const ERR_CODES[PROTO_E_COUNT] = {
    [PROTO_OK] = "ok", [PROTO_E_SYNTAX] = "bad_json", [PROTO_E_MISSING] = "missing_field",
    [PROTO_E_TYPE] = "wrong_type", [PROTO_E_UNKNOWN_FIELD] = "unknown_field", [PROTO_E_UUID] = "bad_uuid",
    [PROTO_E_TIME] = "bad_time", [PROTO_E_AREA] = "unknown_area", [PROTO_E_SCALE] = "unknown_scale",
    [PROTO_E_SCORE] = "score_out_of_range", [PROTO_E_REASON] = "unknown_reason",
    [PROTO_E_FOLLOWUP] = "bad_followup", [PROTO_E_FLAG] = "unknown_flag", [PROTO_E_VALUE] = "bad_value",
    [PROTO_E_RESPONDENT] = "unknown_respondent", [PROTO_E_WAIT] = "unknown_wait",
    [PROTO_E_TOO_MANY] = "too_many_ratings", [PROTO_E_NOMEM] = "out_of_memory", [PROTO_E_TOO_LARGE] = "too_large",
};

#define IN_RANGE(v, n) ((unsigned)(v) < (unsigned)(n))

const char *proto_area_code(ProtoArea a) { return IN_RANGE(a, AREA_COUNT) ? AREAS[a].code : NULL; }
const char *proto_area_name_vi(ProtoArea a) { return IN_RANGE(a, AREA_COUNT) ? AREAS[a].name : NULL; }
const char *proto_scale_code(ProtoScale s) { return IN_RANGE(s, SCALE_COUNT) ? SCALE_CODES[s] : NULL; }
int proto_scale_levels(ProtoScale s) { return IN_RANGE(s, SCALE_COUNT) ? SCALE_LEVELS[s] : 0; }
const char *proto_reason_code(ProtoReason r) { return IN_RANGE(r, REASON_COUNT) ? REASONS[r].code : NULL; }
const char *proto_reason_name_vi(ProtoReason r) { return IN_RANGE(r, REASON_COUNT) ? REASONS[r].name : NULL; }
const char *proto_followup_code(ProtoFollowup f) { return IN_RANGE(f, FOLLOWUP_COUNT) ? FOLLOWUPS[f] : NULL; }
const char *proto_group_code(ProtoGroup g) { return IN_RANGE(g, GROUP_COUNT) ? GROUPS[g].code : NULL; }
const char *proto_group_name_vi(ProtoGroup g) { return IN_RANGE(g, GROUP_COUNT) ? GROUPS[g].name : NULL; }
const char *proto_err_code(ProtoErr e) { return IN_RANGE(e, PROTO_E_COUNT) ? ERR_CODES[e] : "unknown_error"; }
const char *proto_respondent_code(ProtoRespondent r) { return IN_RANGE(r, RESPONDENT_COUNT) ? RESPONDENTS[r].code : NULL; }
const char *proto_respondent_name_vi(ProtoRespondent r)
{
    return IN_RANGE(r, RESPONDENT_COUNT) ? RESPONDENTS[r].name : NULL;
}
const char *proto_wait_code(ProtoWait w) { return IN_RANGE(w, WAIT_COUNT) ? WAITS[w].code : NULL; }
const char *proto_wait_name_vi(ProtoWait w) { return IN_RANGE(w, WAIT_COUNT) ? WAITS[w].name : NULL; }
bool proto_wait_within_30(ProtoWait w) { return w == WAIT_DUOI_15 || w == WAIT_15_30; }

#define FIND(table, count, field, code)                                                                  \
    do {                                                                                                 \
        if(code)                                                                                         \
            for(int i_ = 0; i_ < (count); i_++)                                                          \
                if(strcmp((table)[i_] field, (code)) == 0)                                               \
                    return i_;                                                                           \
        return -1;                                                                                       \
    } while(0)

int proto_area_from_code(const char *code) { FIND(AREAS, AREA_COUNT, .code, code); }
int proto_scale_from_code(const char *code) { FIND(SCALE_CODES, SCALE_COUNT, , code); }
int proto_reason_from_code(const char *code) { FIND(REASONS, REASON_COUNT, .code, code); }
int proto_followup_from_code(const char *code) { FIND(FOLLOWUPS, FOLLOWUP_COUNT, , code); }
int proto_group_from_code(const char *code) { FIND(GROUPS, GROUP_COUNT, .code, code); }

/* NONE has no code: skip it (strcmp would meet its NULL). */
#define FIND_FROM_1(table, count, code)                                                                    \
    do {                                                                                                 \
        if(code)                                                                                         \
            for(int i_ = 1; i_ < (count); i_++)                                                          \
                if(strcmp((table)[i_].code, (code)) == 0)                                                \
                    return i_;                                                                           \
        return -1;                                                                                       \
    } while(0)

int proto_respondent_from_code(const char *code) { FIND_FROM_1(RESPONDENTS, RESPONDENT_COUNT, code); }
int proto_wait_from_code(const char *code) { FIND_FROM_1(WAITS, WAIT_COUNT, code); }

bool proto_score_valid(ProtoScale s, int score)
{
    return IN_RANGE(s, SCALE_COUNT) && score >= 1 && score <= SCALE_LEVELS[s];
}

const char *proto_scale_label_vi(ProtoScale s, int score)
{
    return proto_score_valid(s, score) ? SCALE_LABELS[s][score] : NULL;
}

bool proto_is_satisfied(ProtoScale s, int score)
{
    return proto_score_valid(s, score) && score >= SCALE_SATISFIED_FROM[s];
}

const char *proto_flag_code(uint32_t f) { return f == PROTO_FLAG_RAPID_REPEAT ? "rapid_repeat" : NULL; }
uint32_t proto_flag_from_code(const char *code)
{
    return code && strcmp(code, "rapid_repeat") == 0 ? PROTO_FLAG_RAPID_REPEAT : 0;
}

ProtoGroup proto_area_group(ProtoArea a)
{
    switch(a) {
    case AREA_DAT_DAI:
    case AREA_XAY_DUNG:
    case AREA_DAU_TU: return GROUP_DAT_DAI_XAY_DUNG_DAU_TU;
    case AREA_Y_TE: return GROUP_Y_TE;
    case AREA_GIAO_DUC: return GROUP_GIAO_DUC;
    default: return GROUP_TTHC;
    }
}

bool proto_area_in_group(ProtoArea a, ProtoGroup g)
{
    if(!IN_RANGE(a, AREA_COUNT) || !IN_RANGE(g, GROUP_AREA_COUNT))
        return false;
    if(g == GROUP_TTHC) /* every administrative-procedure area: all but public health and education */
        return a != AREA_Y_TE && a != AREA_GIAO_DUC;
    return proto_area_group(a) == g;
}

int proto_group_default_target(ProtoGroup g, int milestone)
{
    if(!IN_RANGE(g, GROUP_COUNT))
        return -1;
    return milestone == 2025 ? GROUPS[g].t2025 : milestone == 2030 ? GROUPS[g].t2030 : -1;
}

bool proto_code_valid(const char *s)
{
    size_t n = 0;
    if(!s)
        return false;
    for(; s[n]; n++) {
        char c = s[n];
        if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
             c == '_' || c == '-'))
            return false;
        if(n >= PROTO_ID_MAX)
            return false;
    }
    return n > 0;
}

/* ---- Errors ----------------------------------------------------------------------------------------- */

static ProtoErr fail(ProtoError *err, ProtoErr code, const char *prefix, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Records the error (field path = prefix + field) and returns its code. */
static ProtoErr fail(ProtoError *err, ProtoErr code, const char *prefix, const char *field, const char *fmt, ...)
{
    if(err) {
        va_list ap;
        err->code = code;
        snprintf(err->field, sizeof err->field, "%s%s", prefix ? prefix : "", field ? field : "");
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->line = err->column = 0;
    }
    return code;
}

static void clear(ProtoError *err)
{
    if(err)
        memset(err, 0, sizeof *err);
}

/* jansson reports a failed allocation as a parse error, and not always as json_error_out_of_memory (its lexer
 * says "invalid token", or gives no position): every allocation it makes goes through watched_malloc, which
 * notes a failure for the thread, so that running out of memory is the server's trouble (503), never the
 * client's (400). */
static _Thread_local bool alloc_failed;

static void *watched_malloc(size_t n)
{
    void *p = malloc(n);
    if(!p)
        alloc_failed = true;
    return p;
}

static void watch_allocations(void)
{
    json_set_alloc_funcs(watched_malloc, free);
}

/* json_loadb with the watch on: alloc_failed then tells whether an allocation failed meanwhile. */
static json_t *load_json(const char *text, size_t len, json_error_t *je)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, watch_allocations);
    alloc_failed = false;
    return json_loadb(text, len, JSON_REJECT_DUPLICATES, je);
}

static ProtoErr syntax(ProtoError *err, const json_error_t *je)
{
    if(alloc_failed || json_error_code(je) == json_error_out_of_memory)
        return fail(err, PROTO_E_NOMEM, "", "", "out of memory while decoding");
    fail(err, PROTO_E_SYNTAX, "", "", "invalid JSON at line %d column %d: %s", je->line, je->column, je->text);
    if(err) {
        err->line = je->line;
        err->column = je->column;
    }
    return PROTO_E_SYNTAX;
}

/* ---- Rating ----------------------------------------------------------------------------------------- */

bool proto_rating_needs_schema2(const ProtoRating *r)
{
    return r->service_score != 0 || r->respondent != RESPONDENT_NONE || r->wait != WAIT_NONE;
}

bool proto_rating_asks_reasons(const ProtoRating *r)
{
    return !proto_is_satisfied(r->scale, r->score) ||
           (r->service_score != 0 && !proto_is_satisfied(r->scale, r->service_score));
}

ProtoErr proto_rating_validate(const ProtoRating *r, ProtoError *err)
{
    int64_t t;
    int off;
    clear(err);
    if(!uuid_parse(r->id, NULL))
        return fail(err, PROTO_E_UUID, "", "id", "id is not a valid UUID");
    if(r->seq < 1)
        return fail(err, PROTO_E_VALUE, "", "seq", "seq must be >= 1");
    if(!proto_code_valid(r->unit))
        return fail(err, PROTO_E_VALUE, "", "unit", "unit must be 1-%d chars of [A-Za-z0-9._-]", PROTO_ID_MAX);
    if(!IN_RANGE(r->area, AREA_COUNT))
        return fail(err, PROTO_E_AREA, "", "area", "unknown area");
    if(!IN_RANGE(r->scale, SCALE_COUNT))
        return fail(err, PROTO_E_SCALE, "", "scale", "unknown scale");
    if(!proto_score_valid(r->scale, r->score))
        return fail(err, PROTO_E_SCORE, "", "score", "score %d is outside 1..%d for scale %s", r->score,
                    SCALE_LEVELS[r->scale], SCALE_CODES[r->scale]);
    if(r->reasons & ~((1u << REASON_COUNT) - 1))
        return fail(err, PROTO_E_REASON, "", "reasons", "unknown reason bit");
    if(!IN_RANGE(r->followup, FOLLOWUP_COUNT))
        return fail(err, PROTO_E_FOLLOWUP, "", "followup", "unknown followup");
    if(r->service_score != 0 && !proto_score_valid(r->scale, r->service_score))
        return fail(err, PROTO_E_SCORE, "", "service_score", "service_score %d is outside 1..%d for scale %s",
                    r->service_score, SCALE_LEVELS[r->scale], SCALE_CODES[r->scale]);
    if(!IN_RANGE(r->respondent, RESPONDENT_COUNT))
        return fail(err, PROTO_E_RESPONDENT, "", "respondent", "unknown respondent");
    if(!IN_RANGE(r->wait, WAIT_COUNT))
        return fail(err, PROTO_E_WAIT, "", "wait", "unknown wait");
    if(r->followup != FOLLOWUP_NONE && !proto_rating_asks_reasons(r))
        return fail(err, PROTO_E_FOLLOWUP, "", "followup",
                    "a rating satisfied with the procedure and the service has no follow-up question");
    if(r->reasons && r->followup != FOLLOWUP_ANSWERED)
        return fail(err, PROTO_E_REASON, "", "reasons", "reasons are only given with followup \"answered\"");
    if(!ptime_parse(r->at, &t, &off))
        return fail(err, PROTO_E_TIME, "", "at", "at is not an RFC 3339 date-time with offset");
    if(r->flags & ~PROTO_FLAGS_KNOWN)
        return fail(err, PROTO_E_FLAG, "", "flags", "unknown flag bit");
    return PROTO_OK;
}

static json_t *rating_to_json(const ProtoRating *r)
{
    json_t *o = json_object(), *reasons = json_array(), *flags = json_array();
    if(!o || !reasons || !flags)
        goto oom;
    for(int i = 0; i < REASON_COUNT; i++)
        if(r->reasons & (1u << i))
            if(json_array_append_new(reasons, json_string(REASONS[i].code)))
                goto oom;
    for(uint32_t f = 1; f && f <= PROTO_FLAGS_KNOWN; f <<= 1)
        if((r->flags & f) && json_array_append_new(flags, json_string(proto_flag_code(f))))
            goto oom;
    /* Fixed key order: equal ratings encode to equal bytes. */
    if(json_object_set_new(o, "id", json_string(r->id)) ||
       json_object_set_new(o, "seq", json_integer(r->seq)) ||
       json_object_set_new(o, "unit", json_string(r->unit)) ||
       json_object_set_new(o, "area", json_string(proto_area_code(r->area))) ||
       json_object_set_new(o, "scale", json_string(proto_scale_code(r->scale))) ||
       json_object_set_new(o, "score", json_integer(r->score)) ||
       json_object_set_new(o, "reasons", reasons) ||
       json_object_set_new(o, "followup", json_string(proto_followup_code(r->followup))) ||
       json_object_set_new(o, "at", json_string(r->at)) ||
       json_object_set_new(o, "flags", flags) ||
       (r->service_score && json_object_set_new(o, "service_score", json_integer(r->service_score))) ||
       (r->respondent && json_object_set_new(o, "respondent", json_string(proto_respondent_code(r->respondent)))) ||
       (r->wait && json_object_set_new(o, "wait", json_string(proto_wait_code(r->wait))))) {
        json_decref(o);
        return NULL;
    }
    return o;
oom:
    json_decref(o);
    json_decref(reasons);
    json_decref(flags);
    return NULL;
}

char *proto_rating_dump(const ProtoRating *r)
{
    json_t *o = rating_to_json(r);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

size_t proto_rating_canonical(const ProtoRating *r, char *buf, size_t cap)
{
    size_t n = 0;
#define PUT(...)                                                                                             \
    do {                                                                                                     \
        int k_ = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__);                                      \
        n += k_ > 0 ? (size_t)k_ : 0;                                                                        \
    } while(0)
    PUT("{\"id\":\"%s\",\"seq\":%lld,\"unit\":\"%s\",\"area\":\"%s\",\"scale\":\"%s\",\"score\":%d,\"reasons\":[",
        r->id, (long long)r->seq, r->unit, proto_area_code(r->area), proto_scale_code(r->scale), r->score);
    const char *sep = "";
    for(int i = 0; i < REASON_COUNT; i++)
        if(r->reasons & (1u << i)) {
            PUT("%s\"%s\"", sep, REASONS[i].code);
            sep = ",";
        }
    PUT("],\"followup\":\"%s\",\"at\":\"%s\",\"flags\":[", proto_followup_code(r->followup), r->at);
    sep = "";
    for(uint32_t f = 1; f && f <= PROTO_FLAGS_KNOWN; f <<= 1)
        if(r->flags & f) {
            PUT("%s\"%s\"", sep, proto_flag_code(f));
            sep = ",";
        }
    PUT("]");
    if(r->service_score)
        PUT(",\"service_score\":%d", r->service_score);
    if(r->respondent)
        PUT(",\"respondent\":\"%s\"", proto_respondent_code(r->respondent));
    if(r->wait)
        PUT(",\"wait\":\"%s\"", proto_wait_code(r->wait));
    PUT("}");
#undef PUT
    return n;
}

/* Copies a required string member; wrong type or absent is an error naming the field. */
static ProtoErr get_string(json_t *o, const char *key, const char *prefix, const char **out, ProtoError *err)
{
    json_t *v = json_object_get(o, key);
    if(!v)
        return fail(err, PROTO_E_MISSING, prefix, key, "%s%s is missing", prefix, key);
    if(!json_is_string(v))
        return fail(err, PROTO_E_TYPE, prefix, key, "%s%s must be a string", prefix, key);
    *out = json_string_value(v);
    return PROTO_OK;
}

static ProtoErr get_int(json_t *o, const char *key, const char *prefix, json_int_t *out, ProtoError *err)
{
    json_t *v = json_object_get(o, key);
    if(!v)
        return fail(err, PROTO_E_MISSING, prefix, key, "%s%s is missing", prefix, key);
    if(!json_is_integer(v))
        return fail(err, PROTO_E_TYPE, prefix, key, "%s%s must be an integer", prefix, key);
    *out = json_integer_value(v);
    return PROTO_OK;
}

static ProtoErr only_known_keys(json_t *o, const char *const *keys, const char *prefix, ProtoError *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        bool known = false;
        for(const char *const *p = keys; *p && !known; p++)
            known = strcmp(*p, k) == 0;
        if(!known)
            return fail(err, PROTO_E_UNKNOWN_FIELD, prefix, k, "unknown field %s%.40s", prefix, k);
    }
    return PROTO_OK;
}

/* Loads text that must be one JSON object with only the given keys. On error *out is NULL. */
static ProtoErr load_object(const char *text, size_t len, const char *what, const char *const *keys, json_t **out,
                            ProtoError *err)
{
    json_error_t je;
    ProtoErr e;
    *out = NULL;
    json_t *o = load_json(text, len, &je);
    if(!o)
        return syntax(err, &je);
    if(!json_is_object(o))
        e = fail(err, PROTO_E_TYPE, "", "", "the %s must be a JSON object", what);
    else if(!(e = only_known_keys(o, keys, "", err)))
        *out = o;
    if(e)
        json_decref(o);
    return e;
}

/* A required member holding a UUID, copied in canonical form. */
static ProtoErr get_uuid(json_t *o, const char *key, const char *prefix, char out[UUID_TEXT_LEN], ProtoError *err)
{
    const char *s = NULL;
    ProtoErr e = get_string(o, key, prefix, &s, err);
    if(!e && !uuid_parse(s, out))
        e = fail(err, PROTO_E_UUID, prefix, key, "%s%s is not a valid UUID", prefix, key);
    return e;
}

/* A required member holding an array. */
static ProtoErr get_array(json_t *o, const char *key, json_t **out, ProtoError *err)
{
    *out = json_object_get(o, key);
    if(!*out)
        return fail(err, PROTO_E_MISSING, "", key, "%s is missing", key);
    if(!json_is_array(*out))
        return fail(err, PROTO_E_TYPE, "", key, "%s must be an array", key);
    return PROTO_OK;
}

/* A required count 0..PROTO_MAX_BATCH. */
static ProtoErr get_count(json_t *o, const char *key, int64_t *out, ProtoError *err)
{
    json_int_t n = 0;
    ProtoErr e = get_int(o, key, "", &n, err);
    if(!e && (n < 0 || n > PROTO_MAX_BATCH))
        e = fail(err, PROTO_E_VALUE, "", key, "%s is out of range", key);
    if(!e)
        *out = n;
    return e;
}

/* An optional schema-2 code member: absent or null is 0 (unanswered), else one of the codes from_code knows. */
static ProtoErr get_optional_code(json_t *o, const char *key, const char *prefix, int (*from_code)(const char *),
                                  ProtoErr unknown, int *out, ProtoError *err)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if(!v || json_is_null(v))
        return PROTO_OK;
    if(!json_is_string(v))
        return fail(err, PROTO_E_TYPE, prefix, key, "%s%s must be a string or null", prefix, key);
    if((*out = from_code(json_string_value(v))) < 0)
        return fail(err, unknown, prefix, key, "%s%s \"%.40s\" is not a known code", prefix, key,
                    json_string_value(v));
    return PROTO_OK;
}

/* The schema-2 answers: each optional, null or absent when not given. */
static ProtoErr decode_answers(json_t *o, const char *prefix, ProtoRating *r, ProtoError *err)
{
    json_t *v = json_object_get(o, "service_score");
    if(v && !json_is_null(v)) {
        if(!json_is_integer(v))
            return fail(err, PROTO_E_TYPE, prefix, "service_score", "%sservice_score must be an integer or null",
                        prefix);
        json_int_t n = json_integer_value(v);
        if(n < 1 || n > SCALE_LEVELS[r->scale])
            return fail(err, PROTO_E_SCORE, prefix, "service_score",
                        "%sservice_score %lld is outside 1..%d for scale %s", prefix, (long long)n,
                        SCALE_LEVELS[r->scale], SCALE_CODES[r->scale]);
        r->service_score = (int)n;
    }
    int code = 0;
    ProtoErr e = get_optional_code(o, "respondent", prefix, proto_respondent_from_code, PROTO_E_RESPONDENT, &code, err);
    if(e)
        return e;
    r->respondent = (ProtoRespondent)code;
    if((e = get_optional_code(o, "wait", prefix, proto_wait_from_code, PROTO_E_WAIT, &code, err)))
        return e;
    r->wait = (ProtoWait)code;
    return PROTO_OK;
}

/* Decodes one rating object of the given schema. prefix ("" or "ratings[3].") makes field paths precise. */
static ProtoErr decode_rating(json_t *o, int schema, const char *prefix, ProtoRating *r, ProtoError *err)
{
    static const char *const KEYS[] = {"id", "seq", "unit", "area", "scale", "score", "reasons", "followup",
                                       "at", "flags", "service_score", "respondent", "wait", NULL};
    static const char *const KEYS_1[] = {"id", "seq", "unit", "area", "scale", "score",
                                         "reasons", "followup", "at", "flags", NULL};
    const char *s = NULL;
    json_int_t n = 0;
    ProtoErr e;
    int code;

    memset(r, 0, sizeof *r);
    if(!json_is_object(o))
        return fail(err, PROTO_E_TYPE, prefix, "", "%s must be a JSON object", *prefix ? prefix : "rating");
    if((e = only_known_keys(o, schema >= 2 ? KEYS : KEYS_1, prefix, err)))
        return e;

    if((e = get_uuid(o, "id", prefix, r->id, err)))
        return e;

    if((e = get_int(o, "seq", prefix, &n, err)))
        return e;
    if(n < 1)
        return fail(err, PROTO_E_VALUE, prefix, "seq", "%sseq must be >= 1", prefix);
    r->seq = n;

    if((e = get_string(o, "unit", prefix, &s, err)))
        return e;
    if(!proto_code_valid(s))
        return fail(err, PROTO_E_VALUE, prefix, "unit", "%sunit must be 1-%d chars of [A-Za-z0-9._-]", prefix,
                    PROTO_ID_MAX);
    strcpy(r->unit, s);

    if((e = get_string(o, "area", prefix, &s, err)))
        return e;
    if((code = proto_area_from_code(s)) < 0)
        return fail(err, PROTO_E_AREA, prefix, "area", "%sarea \"%.40s\" is not a known area", prefix, s);
    r->area = (ProtoArea)code;

    if((e = get_string(o, "scale", prefix, &s, err)))
        return e;
    if((code = proto_scale_from_code(s)) < 0)
        return fail(err, PROTO_E_SCALE, prefix, "scale", "%sscale \"%.40s\" is not tthc3 or likert5", prefix, s);
    r->scale = (ProtoScale)code;

    if((e = get_int(o, "score", prefix, &n, err)))
        return e;
    if(n < 1 || n > SCALE_LEVELS[r->scale])
        return fail(err, PROTO_E_SCORE, prefix, "score", "%sscore %lld is outside 1..%d for scale %s", prefix,
                    (long long)n, SCALE_LEVELS[r->scale], SCALE_CODES[r->scale]);
    r->score = (int)n;

    json_t *arr = json_object_get(o, "reasons");
    if(!arr)
        return fail(err, PROTO_E_MISSING, prefix, "reasons", "%sreasons is missing", prefix);
    if(!json_is_array(arr))
        return fail(err, PROTO_E_TYPE, prefix, "reasons", "%sreasons must be an array", prefix);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if(!json_is_string(v))
            return fail(err, PROTO_E_TYPE, prefix, "reasons", "%sreasons[%zu] must be a string", prefix, i);
        if((code = proto_reason_from_code(json_string_value(v))) < 0)
            return fail(err, PROTO_E_REASON, prefix, "reasons", "%sreasons[%zu] \"%.40s\" is not a known reason",
                        prefix, i, json_string_value(v));
        if(r->reasons & (1u << code))
            return fail(err, PROTO_E_REASON, prefix, "reasons", "%sreasons[%zu] is listed twice", prefix, i);
        r->reasons |= 1u << code;
    }

    if((e = get_string(o, "followup", prefix, &s, err)))
        return e;
    if((code = proto_followup_from_code(s)) < 0)
        return fail(err, PROTO_E_FOLLOWUP, prefix, "followup",
                    "%sfollowup \"%.40s\" is not none, answered, skipped or timeout", prefix, s);
    r->followup = (ProtoFollowup)code;

    if((e = get_string(o, "at", prefix, &s, err)))
        return e;
    int64_t t;
    int off;
    if(strlen(s) >= sizeof r->at || !ptime_parse(s, &t, &off))
        return fail(err, PROTO_E_TIME, prefix, "at", "%sat \"%.40s\" is not an RFC 3339 date-time with offset",
                    prefix, s);
    strcpy(r->at, s);

    arr = json_object_get(o, "flags");
    if(!arr)
        return fail(err, PROTO_E_MISSING, prefix, "flags", "%sflags is missing", prefix);
    if(!json_is_array(arr))
        return fail(err, PROTO_E_TYPE, prefix, "flags", "%sflags must be an array", prefix);
    json_array_foreach(arr, i, v) {
        uint32_t f;
        if(!json_is_string(v))
            return fail(err, PROTO_E_TYPE, prefix, "flags", "%sflags[%zu] must be a string", prefix, i);
        if(!(f = proto_flag_from_code(json_string_value(v))))
            return fail(err, PROTO_E_FLAG, prefix, "flags", "%sflags[%zu] \"%.40s\" is not a known flag", prefix,
                        i, json_string_value(v));
        r->flags |= f;
    }
    if(schema >= 2 && (e = decode_answers(o, prefix, r, err)))
        return e;

    /* Cross-field rules last, so the field errors above are the precise ones. */
    ProtoError tmp;
    if((e = proto_rating_validate(r, &tmp)))
        return fail(err, e, prefix, tmp.field, "%s%s", prefix, tmp.msg);
    clear(err);
    return PROTO_OK;
}

ProtoErr proto_rating_parse(const char *text, size_t len, ProtoRating *out, ProtoError *err)
{
    json_error_t je;
    json_t *o = load_json(text, len, &je);
    if(!o)
        return syntax(err, &je);
    ProtoErr e = decode_rating(o, PROTO_SCHEMA, "", out, err);
    json_decref(o);
    return e;
}

/* ---- Batch ------------------------------------------------------------------------------------------ */

void proto_batch_free(ProtoBatch *b)
{
    if(b) {
        free(b->items);
        b->items = NULL;
        b->n = 0;
    }
}

ProtoErr proto_batch_parse(const char *text, size_t len, ProtoBatch *b, ProtoError *err)
{
    static const char *const KEYS[] = {"schema", "batch_id", "device_id", "sent_at", "ratings", NULL};
    const char *s = NULL;
    json_int_t n = 0;
    json_t *o, *arr;
    ProtoErr e;
    int64_t t;
    int off;

    memset(b, 0, sizeof *b);
    clear(err);
    if((e = load_object(text, len, "batch", KEYS, &o, err)))
        return e;
    if((e = get_int(o, "schema", "", &n, err)))
        goto out;
    if(n < PROTO_SCHEMA_MIN || n > PROTO_SCHEMA) {
        e = fail(err, PROTO_E_VALUE, "", "schema", "schema %lld is not supported (this server reads %d to %d)",
                 (long long)n, PROTO_SCHEMA_MIN, PROTO_SCHEMA);
        goto out;
    }
    int schema = (int)n;
    if((e = get_uuid(o, "batch_id", "", b->batch_id, err)))
        goto out;
    if((e = get_string(o, "device_id", "", &s, err)))
        goto out;
    if(!proto_code_valid(s)) {
        e = fail(err, PROTO_E_VALUE, "", "device_id", "device_id must be 1-%d chars of [A-Za-z0-9._-]",
                 PROTO_ID_MAX);
        goto out;
    }
    strcpy(b->device_id, s);
    if((e = get_string(o, "sent_at", "", &s, err)))
        goto out;
    if(strlen(s) >= sizeof b->sent_at || !ptime_parse(s, &t, &off)) {
        e = fail(err, PROTO_E_TIME, "", "sent_at", "sent_at is not an RFC 3339 date-time with offset");
        goto out;
    }
    strcpy(b->sent_at, s);
    if((e = get_array(o, "ratings", &arr, err)))
        goto out;
    size_t count = json_array_size(arr);
    if(count > PROTO_MAX_BATCH) {
        e = fail(err, PROTO_E_TOO_MANY, "", "ratings", "%zu ratings is more than the %d a batch may hold", count,
                 PROTO_MAX_BATCH);
        goto out;
    }
    if(count && !(b->items = calloc(count, sizeof *b->items))) {
        e = fail(err, PROTO_E_NOMEM, "", "", "out of memory");
        goto out;
    }
    b->n = count;
    for(size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(arr, i);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "ratings[%zu].", i);
        if(!json_is_object(item)) {
            e = fail(err, PROTO_E_TYPE, prefix, "", "ratings[%zu] must be a JSON object", i);
            goto out;
        }
        json_t *id = json_object_get(item, "id");
        if(json_is_string(id))
            uuid_parse(json_string_value(id), b->items[i].raw_id) || (b->items[i].raw_id[0] = '\0');
        decode_rating(item, schema, prefix, &b->items[i].rating, &b->items[i].error);
    }
    e = PROTO_OK;
out:
    json_decref(o);
    if(e)
        proto_batch_free(b);
    return e;
}

void proto_batch_scan_init(ProtoBatchScan *s)
{
    memset(s, 0, sizeof *s);
}

ProtoErr proto_batch_scan(ProtoBatchScan *s, const char *data, size_t len)
{
    static const char KEY[] = "ratings";
    for(size_t i = 0; i < len; i++) {
        char c = data[i];
        if(s->in_string) {
            if(s->escape) {
                s->escape = false;
            } else if(c == '\\') {
                s->escape = true;
                s->key_may_be_ratings &= s->string_is_key; /* an escaped key might spell "ratings" */
                s->key_len = 8; /* no longer compared letter by letter */
            } else if(c == '"') {
                s->in_string = false;
                if(s->string_is_key)
                    s->last_key_ratings = s->key_may_be_ratings && (s->key_len == 7 || s->key_len == 8);
            } else if(s->string_is_key && s->key_len < 7) {
                s->key_may_be_ratings &= c == KEY[s->key_len];
                s->key_len++;
            } else if(s->string_is_key && s->key_len == 7) {
                s->key_may_be_ratings = false; /* longer than "ratings" */
            }
            continue;
        }
        if(c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if(s->in_ratings && s->depth == 2 && s->expect_item && c != ']' && c != ',') {
            if(++s->ratings > PROTO_MAX_BATCH)
                return PROTO_E_TOO_MANY;
            s->expect_item = false;
        }
        switch(c) {
        case '{':
        case '[':
            if(s->depth == 1 && c == '[' && s->last_key_ratings && !s->expect_key) {
                s->in_ratings = true;
                s->expect_item = true;
            }
            s->depth++;
            s->expect_key = s->depth == 1 && c == '{';
            s->tokens++;
            break;
        case '}':
        case ']':
            if(s->depth == 2 && s->in_ratings)
                s->in_ratings = false;
            if(s->depth > 0)
                s->depth--;
            break;
        case ',':
            s->tokens++;
            if(s->depth == 1)
                s->expect_key = true;
            if(s->depth == 2 && s->in_ratings)
                s->expect_item = true;
            break;
        case ':':
            s->tokens++;
            if(s->depth == 1)
                s->expect_key = false;
            break;
        case '"':
            s->in_string = true;
            s->string_is_key = s->depth == 1 && s->expect_key;
            s->key_may_be_ratings = true;
            s->key_len = 0;
            break;
        default:
            break;
        }
        if(s->tokens > PROTO_MAX_JSON_TOKENS)
            return PROTO_E_TOO_LARGE;
    }
    return PROTO_OK;
}

char *proto_batch_dump(const char *batch_id, const char *device_id, const char *sent_at, const ProtoRating *r,
                       size_t n)
{
    json_t *o = json_object(), *arr = json_array();
    char *s = NULL;
    int schema = PROTO_SCHEMA_MIN;
    if(!o || !arr)
        goto out;
    for(size_t i = 0; i < n; i++) {
        if(json_array_append_new(arr, rating_to_json(&r[i])))
            goto out;
        if(proto_rating_needs_schema2(&r[i]))
            schema = 2;
    }
    if(json_object_set_new(o, "schema", json_integer(schema)) ||
       json_object_set_new(o, "batch_id", json_string(batch_id)) ||
       json_object_set_new(o, "device_id", json_string(device_id)) ||
       json_object_set_new(o, "sent_at", json_string(sent_at)))
        goto out;
    if(json_object_set(o, "ratings", arr))
        goto out;
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    json_decref(arr);
    json_decref(o);
    return s;
}

/* ---- Reply ------------------------------------------------------------------------------------------ */

char *proto_reply_dump(const ProtoReply *r)
{
    json_t *o = json_object(), *arr = json_array();
    char *s = NULL;
    if(!o || !arr)
        goto out;
    for(size_t i = 0; i < r->n_rejected; i++) {
        json_t *it = json_object();
        if(!it || json_array_append_new(arr, it) ||
           json_object_set_new(it, "id", r->rejected[i].id[0] ? json_string(r->rejected[i].id) : json_null()) ||
           json_object_set_new(it, "error", json_string(r->rejected[i].error)))
            goto out;
    }
    if(json_object_set_new(o, "batch_id", json_string(r->batch_id)) ||
       json_object_set_new(o, "accepted", json_integer(r->accepted)) ||
       json_object_set_new(o, "duplicate", json_integer(r->duplicate)) || json_object_set(o, "rejected", arr))
        goto out;
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    json_decref(arr);
    json_decref(o);
    return s;
}

void proto_reply_free(ProtoReply *r)
{
    if(r) {
        free(r->rejected);
        r->rejected = NULL;
        r->n_rejected = 0;
    }
}

ProtoErr proto_reply_parse(const char *text, size_t len, ProtoReply *r, ProtoError *err)
{
    static const char *const KEYS[] = {"batch_id", "accepted", "duplicate", "rejected", NULL};
    static const char *const ITEM_KEYS[] = {"id", "error", NULL};
    const char *s = NULL;
    json_t *o, *arr;
    ProtoErr e;

    memset(r, 0, sizeof *r);
    clear(err);
    if((e = load_object(text, len, "reply", KEYS, &o, err)))
        return e;
    if((e = get_uuid(o, "batch_id", "", r->batch_id, err)) || (e = get_count(o, "accepted", &r->accepted, err)) ||
       (e = get_count(o, "duplicate", &r->duplicate, err)) || (e = get_array(o, "rejected", &arr, err)))
        goto out;
    if(json_array_size(arr) > PROTO_MAX_BATCH) {
        e = fail(err, PROTO_E_TYPE, "", "rejected", "rejected must be an array of at most %d", PROTO_MAX_BATCH);
        goto out;
    }
    size_t count = json_array_size(arr);
    if(count && !(r->rejected = calloc(count, sizeof *r->rejected))) {
        e = fail(err, PROTO_E_NOMEM, "", "", "out of memory");
        goto out;
    }
    r->n_rejected = count;
    for(size_t i = 0; i < count; i++) {
        json_t *it = json_array_get(arr, i), *id;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "rejected[%zu].", i);
        if(!json_is_object(it)) {
            e = fail(err, PROTO_E_TYPE, prefix, "", "rejected[%zu] must be an object", i);
            goto out;
        }
        if((e = only_known_keys(it, ITEM_KEYS, prefix, err)))
            goto out;
        id = json_object_get(it, "id");
        if(!id) {
            e = fail(err, PROTO_E_MISSING, prefix, "id", "rejected[%zu].id is missing", i);
            goto out;
        }
        if(!json_is_null(id) && !(json_is_string(id) && uuid_parse(json_string_value(id), r->rejected[i].id))) {
            e = fail(err, PROTO_E_UUID, prefix, "id", "rejected[%zu].id is not a UUID or null", i);
            goto out;
        }
        if((e = get_string(it, "error", prefix, &s, err)))
            goto out;
        if(!*s || strlen(s) >= sizeof r->rejected[i].error) {
            e = fail(err, PROTO_E_VALUE, prefix, "error", "rejected[%zu].error is empty or too long", i);
            goto out;
        }
        strcpy(r->rejected[i].error, s);
    }
    e = PROTO_OK;
out:
    json_decref(o);
    if(e)
        proto_reply_free(r);
    return e;
}

/* ---- Answers after the tap ------------------------------------------------------------------------- */

/* The answers a rating may gain after the tap, each with its "unanswered" test, equality, reset and copy. A
 * new question saved after the tap adds one row here, and the server's update rule and the kiosk's store
 * follow. */
typedef struct {
    bool (*unanswered)(const ProtoRating *r);
    bool (*same)(const ProtoRating *a, const ProtoRating *b);
    void (*clear)(ProtoRating *r);
    void (*copy)(ProtoRating *dst, const ProtoRating *src);
} Answer;

static bool followup_unanswered(const ProtoRating *r) { return r->followup == FOLLOWUP_NONE && !r->reasons; }
static bool followup_same(const ProtoRating *a, const ProtoRating *b)
{
    return a->followup == b->followup && a->reasons == b->reasons;
}
static void followup_clear(ProtoRating *r)
{
    r->followup = FOLLOWUP_NONE;
    r->reasons = 0;
}
static void followup_copy(ProtoRating *d, const ProtoRating *s)
{
    d->followup = s->followup;
    d->reasons = s->reasons;
}

static bool service_unanswered(const ProtoRating *r) { return r->service_score == 0; }
static bool service_same(const ProtoRating *a, const ProtoRating *b) { return a->service_score == b->service_score; }
static void service_clear(ProtoRating *r) { r->service_score = 0; }
static void service_copy(ProtoRating *d, const ProtoRating *s) { d->service_score = s->service_score; }
static bool respondent_unanswered(const ProtoRating *r) { return r->respondent == RESPONDENT_NONE; }
static bool respondent_same(const ProtoRating *a, const ProtoRating *b) { return a->respondent == b->respondent; }
static void respondent_clear(ProtoRating *r) { r->respondent = RESPONDENT_NONE; }
static void respondent_copy(ProtoRating *d, const ProtoRating *s) { d->respondent = s->respondent; }
static bool wait_unanswered(const ProtoRating *r) { return r->wait == WAIT_NONE; }
static bool wait_same(const ProtoRating *a, const ProtoRating *b) { return a->wait == b->wait; }
static void wait_clear(ProtoRating *r) { r->wait = WAIT_NONE; }
static void wait_copy(ProtoRating *d, const ProtoRating *s) { d->wait = s->wait; }

static const Answer ANSWERS[] = {
    {followup_unanswered, followup_same, followup_clear, followup_copy},
    {service_unanswered, service_same, service_clear, service_copy},
    {respondent_unanswered, respondent_same, respondent_clear, respondent_copy},
    {wait_unanswered, wait_same, wait_clear, wait_copy},
};
#define N_ANSWERS (sizeof ANSWERS / sizeof ANSWERS[0])

void proto_rating_copy_answers(ProtoRating *dst, const ProtoRating *src)
{
    for(size_t i = 0; i < N_ANSWERS; i++)
        ANSWERS[i].copy(dst, src);
}

static bool same_text(const ProtoRating *a, const ProtoRating *b)
{
    char ta[PROTO_RATING_TEXT_MAX], tb[PROTO_RATING_TEXT_MAX];
    size_t na = proto_rating_canonical(a, ta, sizeof ta), nb = proto_rating_canonical(b, tb, sizeof tb);
    return na < sizeof ta && nb < sizeof tb && na == nb && memcmp(ta, tb, na) == 0;
}

ProtoRevision proto_rating_revision(const ProtoRating *stored, const ProtoRating *incoming)
{
    if(same_text(stored, incoming))
        return PROTO_REV_SAME;
    /* Everything but the answers must be byte-equal. */
    ProtoRating a = *stored, b = *incoming;
    for(size_t i = 0; i < N_ANSWERS; i++) {
        ANSWERS[i].clear(&a);
        ANSWERS[i].clear(&b);
    }
    if(!same_text(&a, &b))
        return PROTO_REV_CONFLICT;
    bool gains = false, older = false;
    for(size_t i = 0; i < N_ANSWERS; i++) {
        const Answer *q = &ANSWERS[i];
        if(q->same(stored, incoming))
            continue;
        if(q->unanswered(stored) && !q->unanswered(incoming))
            gains = true;
        else if(!q->unanswered(stored) && q->unanswered(incoming))
            older = true;
        else
            return PROTO_REV_CONFLICT; /* an answer given twice, differently */
    }
    if(gains == older) /* both: two copies that each lack something; neither: cannot differ (defensive) */
        return PROTO_REV_CONFLICT;
    return gains ? PROTO_REV_GAINS : PROTO_REV_OLDER;
}
