/* The shared vocabulary and its strict JSON codec: every code round-trips, every class of bad input is
 * refused with the error and field it deserves, and batches/replies decode as the server and uploader
 * expect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sync/protocol.h"

static ProtoRating sample(void)
{
    ProtoRating r = {
        .id = "0190163d-8e40-7abc-8def-0123456789ab", .seq = 7, .unit = "000.00.31.H21",
        .area = AREA_DAT_DAI, .scale = SCALE_TTHC3, .score = 1,
        .reasons = (1u << REASON_CHO_DOI) | (1u << REASON_TRE_HEN), .followup = FOLLOWUP_ANSWERED,
        .at = "2026-11-22T08:15:02+07:00", .flags = PROTO_FLAG_RAPID_REPEAT,
    };
    return r;
}

static void assert_same_rating(const ProtoRating *a, const ProtoRating *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->seq, b->seq);
    assert_string_equal(a->unit, b->unit);
    assert_int_equal(a->area, b->area);
    assert_int_equal(a->scale, b->scale);
    assert_int_equal(a->score, b->score);
    assert_int_equal(a->reasons, b->reasons);
    assert_int_equal(a->followup, b->followup);
    assert_string_equal(a->at, b->at);
    assert_int_equal(a->flags, b->flags);
}

static void test_every_code_round_trips(void **state)
{
    (void)state;
    static const char *areas[] = {"dat_dai", "xay_dung", "dau_tu", "y_te", "giao_duc",
                                  "tu_phap_ho_tich", "lao_dong_xa_hoi", "khac"};
    static const char *reasons[] = {"cho_doi", "thai_do", "thu_tuc", "di_lai", "tre_hen", "co_so_vat_chat", "khac"};
    assert_int_equal(AREA_COUNT, 8);
    assert_int_equal(REASON_COUNT, 7);
    for(int a = 0; a < AREA_COUNT; a++) {
        assert_string_equal(proto_area_code(a), areas[a]);
        assert_int_equal(proto_area_from_code(areas[a]), a);
        assert_non_null(proto_area_name_vi(a));
        /* and through JSON */
        ProtoRating r = sample(), back;
        r.area = (ProtoArea)a;
        char *s = proto_rating_dump(&r);
        assert_non_null(s);
        assert_int_equal(proto_rating_parse(s, strlen(s), &back, NULL), PROTO_OK);
        assert_int_equal(back.area, a);
        free(s);
    }
    for(int i = 0; i < REASON_COUNT; i++) {
        assert_string_equal(proto_reason_code(i), reasons[i]);
        assert_int_equal(proto_reason_from_code(reasons[i]), i);
        ProtoRating r = sample(), back;
        r.reasons = 1u << i;
        char *s = proto_rating_dump(&r);
        assert_int_equal(proto_rating_parse(s, strlen(s), &back, NULL), PROTO_OK);
        assert_int_equal(back.reasons, 1u << i);
        free(s);
    }
    for(int sc = 0; sc < SCALE_COUNT; sc++) {
        assert_int_equal(proto_scale_from_code(proto_scale_code(sc)), sc);
        for(int score = 1; score <= proto_scale_levels(sc); score++) {
            ProtoRating r = sample(), back;
            r.scale = (ProtoScale)sc;
            r.score = score;
            if(proto_is_satisfied(r.scale, score)) {
                r.reasons = 0;
                r.followup = FOLLOWUP_NONE;
            }
            char *s = proto_rating_dump(&r);
            assert_int_equal(proto_rating_parse(s, strlen(s), &back, NULL), PROTO_OK);
            assert_same_rating(&r, &back);
            free(s);
        }
    }
    for(int f = 0; f < FOLLOWUP_COUNT; f++)
        assert_int_equal(proto_followup_from_code(proto_followup_code(f)), f);
    for(int g = 0; g < GROUP_COUNT; g++)
        assert_int_equal(proto_group_from_code(proto_group_code(g)), g);
    assert_int_equal(proto_area_from_code("Dat_Dai"), -1);
    assert_int_equal(proto_area_from_code(NULL), -1);
    assert_int_equal(proto_flag_from_code("rapid_repeat"), PROTO_FLAG_RAPID_REPEAT);
    assert_int_equal(proto_flag_from_code("rapid"), 0);
}

static void test_vietnamese_names_are_exact(void **state)
{
    (void)state;
    /* NFC bytes: "Đất đai" has precomposed ấ (U+1EA5). */
    assert_string_equal(proto_area_name_vi(AREA_DAT_DAI), "\xC4\x90\xE1\xBA\xA5t \xC4\x91" "ai");
    assert_string_equal(proto_area_name_vi(AREA_LAO_DONG_XA_HOI), "Lao động – Thương binh và Xã hội");
    assert_string_equal(proto_reason_name_vi(REASON_THU_TUC), "Thủ tục, hồ sơ phức tạp");
    assert_string_equal(proto_scale_label_vi(SCALE_LIKERT5, 3), "Bình thường");
    assert_null(proto_scale_label_vi(SCALE_TTHC3, 4));
}

static void test_satisfied_rule_follows_metric(void **state)
{
    (void)state;
    assert_false(proto_is_satisfied(SCALE_TTHC3, 1));
    assert_true(proto_is_satisfied(SCALE_TTHC3, 2));
    assert_true(proto_is_satisfied(SCALE_TTHC3, 3));
    assert_false(proto_is_satisfied(SCALE_TTHC3, 4));
    assert_false(proto_is_satisfied(SCALE_LIKERT5, 3));
    assert_true(proto_is_satisfied(SCALE_LIKERT5, 4));
    assert_true(proto_is_satisfied(SCALE_LIKERT5, 5));
    assert_false(proto_is_satisfied(SCALE_LIKERT5, 0));
}

static void test_groups_and_targets_follow_metric(void **state)
{
    (void)state;
    assert_int_equal(proto_area_group(AREA_DAT_DAI), GROUP_DAT_DAI_XAY_DUNG_DAU_TU);
    assert_int_equal(proto_area_group(AREA_DAU_TU), GROUP_DAT_DAI_XAY_DUNG_DAU_TU);
    assert_int_equal(proto_area_group(AREA_Y_TE), GROUP_Y_TE);
    assert_int_equal(proto_area_group(AREA_GIAO_DUC), GROUP_GIAO_DUC);
    assert_int_equal(proto_area_group(AREA_TU_PHAP_HO_TICH), GROUP_TTHC);
    assert_true(proto_area_in_group(AREA_XAY_DUNG, GROUP_TTHC));
    assert_false(proto_area_in_group(AREA_Y_TE, GROUP_TTHC));
    assert_false(proto_area_in_group(AREA_GIAO_DUC, GROUP_TTHC));
    assert_false(proto_area_in_group(AREA_KHAC, GROUP_DAT_DAI_XAY_DUNG_DAU_TU));
    assert_int_equal(proto_group_default_target(GROUP_TTHC, 2025), 90);
    assert_int_equal(proto_group_default_target(GROUP_TTHC, 2030), 95);
    assert_int_equal(proto_group_default_target(GROUP_DAT_DAI_XAY_DUNG_DAU_TU, 2025), 85);
    assert_int_equal(proto_group_default_target(GROUP_DAT_DAI_XAY_DUNG_DAU_TU, 2030), 90);
    assert_int_equal(proto_group_default_target(GROUP_Y_TE, 2030), 90);
    assert_int_equal(proto_group_default_target(GROUP_GIAO_DUC, 2025), 85);
    assert_int_equal(proto_group_default_target(GROUP_GIAO_DUC, 2027), -1);
    /* phuc_vu: the service of state agencies, 90 / 95, counted from service_score, never by area. */
    assert_string_equal(proto_group_code(GROUP_PHUC_VU), "phuc_vu");
    assert_int_equal(proto_group_from_code("phuc_vu"), GROUP_PHUC_VU);
    assert_int_equal(proto_group_default_target(GROUP_PHUC_VU, 2025), 90);
    assert_int_equal(proto_group_default_target(GROUP_PHUC_VU, 2030), 95);
    for(int a = 0; a < AREA_COUNT; a++) {
        assert_false(proto_area_in_group((ProtoArea)a, GROUP_PHUC_VU));
        assert_int_not_equal(proto_area_group((ProtoArea)a), GROUP_PHUC_VU);
    }
}

static void test_equal_ratings_encode_to_equal_bytes(void **state)
{
    (void)state;
    ProtoRating r = sample(), back;
    char *a = proto_rating_dump(&r);
    assert_string_equal(a, "{\"id\":\"0190163d-8e40-7abc-8def-0123456789ab\",\"seq\":7,\"unit\":\"000.00.31.H21\","
                           "\"area\":\"dat_dai\",\"scale\":\"tthc3\",\"score\":1,\"reasons\":[\"cho_doi\",\"tre_hen\"],"
                           "\"followup\":\"answered\",\"at\":\"2026-11-22T08:15:02+07:00\",\"flags\":[\"rapid_repeat\"]}");
    /* Keys in another order and reasons in another order decode to the same rating and re-encode equal. */
    const char *shuffled = "{\"flags\":[\"rapid_repeat\"],\"at\":\"2026-11-22T08:15:02+07:00\",\"reasons\":[\"tre_hen\","
                           "\"cho_doi\"],\"followup\":\"answered\",\"score\":1,\"scale\":\"tthc3\",\"area\":\"dat_dai\","
                           "\"unit\":\"000.00.31.H21\",\"seq\":7,\"id\":\"0190163D-8E40-7ABC-8DEF-0123456789AB\"}";
    assert_int_equal(proto_rating_parse(shuffled, strlen(shuffled), &back, NULL), PROTO_OK);
    char *b = proto_rating_dump(&back);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* Replaces the first occurrence of `from` in the sample's JSON with `to` and parses it. */
static ProtoErr parse_edited(const char *from, const char *to, ProtoError *err)
{
    ProtoRating r = sample(), out;
    char *s = proto_rating_dump(&r), buf[1024];
    char *p = strstr(s, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    free(s);
    memset(err, 0, sizeof *err);
    return proto_rating_parse(buf, strlen(buf), &out, err);
}

static void test_each_class_of_bad_rating_names_its_field(void **state)
{
    (void)state;
    static const struct { const char *from, *to; ProtoErr code; const char *field; } cases[] = {
        {"\"seq\":7", "\"seq\":7,\"seq\":8", PROTO_E_SYNTAX, ""},             /* duplicate key */
        {"\"seq\":7", "\"seq\":7,\"extra\":1", PROTO_E_UNKNOWN_FIELD, "extra"},
        {"\"seq\":7,", "", PROTO_E_MISSING, "seq"},
        {"\"seq\":7", "\"seq\":\"7\"", PROTO_E_TYPE, "seq"},
        {"\"seq\":7", "\"seq\":7.0", PROTO_E_TYPE, "seq"},
        {"\"seq\":7", "\"seq\":0", PROTO_E_VALUE, "seq"},
        {"\"score\":1", "\"score\":true", PROTO_E_TYPE, "score"},
        {"\"score\":1", "\"score\":4", PROTO_E_SCORE, "score"},                /* tthc3 has 3 levels */
        {"\"score\":1", "\"score\":0", PROTO_E_SCORE, "score"},
        {"\"area\":\"dat_dai\"", "\"area\":\"dat dai\"", PROTO_E_AREA, "area"},
        {"\"area\":\"dat_dai\"", "\"area\":null", PROTO_E_TYPE, "area"},
        {"\"scale\":\"tthc3\"", "\"scale\":\"tthc5\"", PROTO_E_SCALE, "scale"},
        {"\"id\":\"0190163d", "\"id\":\"0190163x", PROTO_E_UUID, "id"},
        {"\"at\":\"2026-11-22T08:15:02+07:00\"", "\"at\":\"2026-11-22 08:15\"", PROTO_E_TIME, "at"},
        {"\"at\":\"2026-11-22T08:15:02+07:00\"", "\"at\":\"2026-11-22T08:15:02\"", PROTO_E_TIME, "at"},
        {"\"cho_doi\"", "\"slow\"", PROTO_E_REASON, "reasons"},
        {"\"cho_doi\"", "\"tre_hen\"", PROTO_E_REASON, "reasons"},           /* listed twice */
        {"\"reasons\":[", "\"reasons\":[1,", PROTO_E_TYPE, "reasons"},
        {"\"answered\"", "\"maybe\"", PROTO_E_FOLLOWUP, "followup"},
        {"\"answered\"", "\"skipped\"", PROTO_E_REASON, "reasons"},          /* reasons need answered */
        {"\"rapid_repeat\"", "\"spam\"", PROTO_E_FLAG, "flags"},
        {"\"unit\":\"000.00.31.H21\"", "\"unit\":\"a b\"", PROTO_E_VALUE, "unit"},
        {"\"unit\":\"000.00.31.H21\"", "\"unit\":\"\"", PROTO_E_VALUE, "unit"},
        {"\"flags\":[\"rapid_repeat\"]}", "\"flags\":[\"rapid_repeat\"]", PROTO_E_SYNTAX, ""}, /* truncated */
    };
    for(size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ProtoError err;
        ProtoErr e = parse_edited(cases[i].from, cases[i].to, &err);
        if(e != cases[i].code || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu (%s -> %s): got %s field '%s' (%s), want %s field '%s'", i, cases[i].from,
                     cases[i].to, proto_err_code(e), err.field, err.msg, proto_err_code(cases[i].code),
                     cases[i].field);
        assert_int_equal(err.code, e);
        assert_true(strlen(err.msg) > 0);
    }
    /* A satisfied rating cannot carry a follow-up. */
    ProtoError err;
    const char *sat = "{\"id\":\"0190163d-8e40-7abc-8def-0123456789ab\",\"seq\":1,\"unit\":\"u\",\"area\":\"khac\","
                      "\"scale\":\"tthc3\",\"score\":3,\"reasons\":[],\"followup\":\"skipped\","
                      "\"at\":\"2026-11-22T08:15:02+07:00\",\"flags\":[]}";
    ProtoRating out;
    assert_int_equal(proto_rating_parse(sat, strlen(sat), &out, &err), PROTO_E_FOLLOWUP);
    assert_string_equal(err.field, "followup");
    /* Not JSON at all: the position is reported. */
    assert_int_equal(proto_rating_parse("<html>", 6, &out, &err), PROTO_E_SYNTAX);
    assert_int_equal(err.line, 1);
    assert_int_equal(proto_rating_parse("[]", 2, &out, &err), PROTO_E_TYPE);
}

static char *batch_text(size_t n, const char *mutate_item, size_t which)
{
    ProtoRating *rs = calloc(n ? n : 1, sizeof *rs);
    for(size_t i = 0; i < n; i++) {
        rs[i] = sample();
        rs[i].seq = (int64_t)i + 1;
        char tail[32];
        snprintf(tail, sizeof tail, "%012zx", (i + 1) & 0xffffffffffffu);
        memcpy(rs[i].id + 24, tail, 12);
    }
    char *s = proto_batch_dump("0190163d-8e40-7000-8000-000000000001", "kiosk-01", "2026-11-23T02:10:00+07:00",
                               rs, n);
    free(rs);
    if(mutate_item) { /* replace "score":1 of item `which` with mutate_item */
        char *p = s;
        for(size_t i = 0; i <= which; i++)
            p = strstr(p + 1, "\"score\":1");
        char *out = malloc(strlen(s) + strlen(mutate_item) + 1);
        sprintf(out, "%.*s%s%s", (int)(p - s), s, mutate_item, p + strlen("\"score\":1"));
        free(s);
        s = out;
    }
    return s;
}

static void test_batch_round_trips_and_isolates_bad_items(void **state)
{
    (void)state;
    ProtoBatch b;
    ProtoError err;
    char *s = batch_text(3, "\"score\":9", 1);
    assert_int_equal(proto_batch_parse(s, strlen(s), &b, &err), PROTO_OK);
    assert_int_equal(b.n, 3);
    assert_string_equal(b.device_id, "kiosk-01");
    assert_string_equal(b.batch_id, "0190163d-8e40-7000-8000-000000000001");
    assert_int_equal(b.items[0].error.code, PROTO_OK);
    assert_int_equal(b.items[1].error.code, PROTO_E_SCORE);
    assert_string_equal(b.items[1].error.field, "ratings[1].score");
    assert_string_equal(b.items[1].raw_id, "0190163d-8e40-7abc-8def-000000000002");
    assert_int_equal(b.items[2].error.code, PROTO_OK);
    assert_int_equal(b.items[2].rating.seq, 3);
    proto_batch_free(&b);
    free(s);
}

static void test_batch_envelope_errors_fail_whole_batch(void **state)
{
    (void)state;
    static const struct { const char *text; ProtoErr code; const char *field; } cases[] = {
        {"", PROTO_E_SYNTAX, ""},
        {"{\"schema\":1,\"schema\":1}", PROTO_E_SYNTAX, ""},
        {"[]", PROTO_E_TYPE, ""},
        {"{\"schema\":3,\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"device_id\":\"k\","
         "\"sent_at\":\"2026-11-23T02:10:00+07:00\",\"ratings\":[]}", PROTO_E_VALUE, "schema"},
        {"{\"schema\":0,\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"device_id\":\"k\","
         "\"sent_at\":\"2026-11-23T02:10:00+07:00\",\"ratings\":[]}", PROTO_E_VALUE, "schema"},
        {"{\"schema\":1,\"batch_id\":\"nope\",\"device_id\":\"k\",\"sent_at\":\"2026-11-23T02:10:00+07:00\","
         "\"ratings\":[]}", PROTO_E_UUID, "batch_id"},
        {"{\"schema\":1,\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"device_id\":\"k k\","
         "\"sent_at\":\"2026-11-23T02:10:00+07:00\",\"ratings\":[]}", PROTO_E_VALUE, "device_id"},
        {"{\"schema\":1,\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"device_id\":\"k\","
         "\"sent_at\":\"yesterday\",\"ratings\":[]}", PROTO_E_TIME, "sent_at"},
        {"{\"schema\":1,\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"device_id\":\"k\","
         "\"sent_at\":\"2026-11-23T02:10:00+07:00\",\"ratings\":{}}", PROTO_E_TYPE, "ratings"},
        {"{\"schema\":1,\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"device_id\":\"k\","
         "\"sent_at\":\"2026-11-23T02:10:00+07:00\",\"ratings\":[1]}", PROTO_E_TYPE, "ratings[0]."},
        {"{\"schema\":1,\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"device_id\":\"k\","
         "\"sent_at\":\"2026-11-23T02:10:00+07:00\"}", PROTO_E_MISSING, "ratings"},
        {"{\"schema\":1,\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"device_id\":\"k\","
         "\"sent_at\":\"2026-11-23T02:10:00+07:00\",\"ratings\":[],\"x\":0}", PROTO_E_UNKNOWN_FIELD, "x"},
    };
    for(size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ProtoBatch b;
        ProtoError err;
        ProtoErr e = proto_batch_parse(cases[i].text, strlen(cases[i].text), &b, &err);
        if(e != cases[i].code || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: got %s '%s' (%s)", i, proto_err_code(e), err.field, err.msg);
        assert_null(b.items);
        assert_int_equal(b.n, 0);
    }
}

static void test_batch_over_the_limit_is_refused(void **state)
{
    (void)state;
    char *s = batch_text(PROTO_MAX_BATCH + 1, NULL, 0);
    ProtoBatch b;
    ProtoError err;
    assert_int_equal(proto_batch_parse(s, strlen(s), &b, &err), PROTO_E_TOO_MANY);
    assert_string_equal(err.field, "ratings");
    free(s);
    s = batch_text(PROTO_MAX_BATCH, NULL, 0);
    assert_int_equal(proto_batch_parse(s, strlen(s), &b, &err), PROTO_OK);
    assert_int_equal(b.n, PROTO_MAX_BATCH);
    proto_batch_free(&b);
    free(s);
}

/* Feeds text to a scanner in pieces of `piece` bytes; returns the first error (or PROTO_OK). */
static ProtoErr scan_all(const char *text, size_t len, size_t piece, ProtoBatchScan *sc)
{
    proto_batch_scan_init(sc);
    for(size_t off = 0; off < len; off += piece) {
        ProtoErr e = proto_batch_scan(sc, text + off, len - off < piece ? len - off : piece);
        if(e)
            return e;
    }
    return PROTO_OK;
}

static void test_the_scanner_sizes_a_batch_before_it_is_decoded(void **state)
{
    (void)state;
    ProtoBatchScan sc;
    /* A full batch at the limit passes and is counted exactly, whatever the pieces it arrives in. */
    char *s = batch_text(PROTO_MAX_BATCH, NULL, 0);
    for(size_t piece = 1; piece <= 65536; piece *= 16) {
        assert_int_equal(scan_all(s, strlen(s), piece, &sc), PROTO_OK);
        assert_int_equal(sc.ratings, PROTO_MAX_BATCH);
    }
    free(s);
    s = batch_text(PROTO_MAX_BATCH + 1, NULL, 0);
    assert_int_equal(scan_all(s, strlen(s), 4096, &sc), PROTO_E_TOO_MANY);
    free(s);
    /* 4 MiB of [{},{},...]: refused at item 5,001, after about 15 KB of the body. */
    size_t cap = PROTO_MAX_BODY, n = 0;
    char *big = malloc(cap + 1);
    assert_non_null(big);
    n += (size_t)sprintf(big, "{\"schema\":1,\"ratings\":[");
    while(n + 4 < cap)
        n += (size_t)sprintf(big + n, "{},");
    big[n - 1] = ']';
    big[n++] = '}';
    size_t fed = 0;
    proto_batch_scan_init(&sc);
    ProtoErr e = PROTO_OK;
    for(; fed < n && !e; fed += 1024)
        e = proto_batch_scan(&sc, big + fed, n - fed < 1024 ? n - fed : 1024);
    assert_int_equal(e, PROTO_E_TOO_MANY);
    assert_true(fed < 16 * 1024);
    /* Values hidden in one item's array are bounded too; strings and nested keys do not confuse the count. */
    n = (size_t)sprintf(big, "{\"ratings\":[{\"reasons\":[");
    while(n + 8 < cap)
        n += (size_t)sprintf(big + n, "0,");
    n += (size_t)sprintf(big + n - 1, "]}]}") - 1;
    assert_int_equal(scan_all(big, n, 65536, &sc), PROTO_E_TOO_LARGE);
    const char *tricky = "{\"x\":{\"ratings\":[1,2]},\"ratings\":[\"a,b\",{\"ratings\":[1,2,3]},[],\"]\"],"
                         "\"ratingsX\":[1],\"rating\":[1]}";
    assert_int_equal(scan_all(tricky, strlen(tricky), 3, &sc), PROTO_OK);
    assert_int_equal(sc.ratings, 4);
    free(big);
}

static void test_reply_round_trips_and_html_is_refused(void **state)
{
    (void)state;
    ProtoReject rej[2] = {{"0190163d-8e40-7abc-8def-000000000002", "conflict"}, {"", "bad_uuid"}};
    ProtoReply r = {.batch_id = "0190163d-8e40-7000-8000-000000000001", .accepted = 5, .duplicate = 2,
                    .n_rejected = 2, .rejected = rej}, back;
    ProtoError err;
    char *s = proto_reply_dump(&r);
    assert_string_equal(s, "{\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"accepted\":5,\"duplicate\":2,"
                           "\"rejected\":[{\"id\":\"0190163d-8e40-7abc-8def-000000000002\",\"error\":\"conflict\"},"
                           "{\"id\":null,\"error\":\"bad_uuid\"}]}");
    assert_int_equal(proto_reply_parse(s, strlen(s), &back, &err), PROTO_OK);
    assert_int_equal(back.accepted, 5);
    assert_int_equal(back.duplicate, 2);
    assert_int_equal(back.n_rejected, 2);
    assert_string_equal(back.rejected[0].error, "conflict");
    assert_string_equal(back.rejected[1].id, "");
    proto_reply_free(&back);
    free(s);
    const char *html = "<html><body>Đăng nhập Wi-Fi</body></html>";
    assert_int_equal(proto_reply_parse(html, strlen(html), &back, &err), PROTO_E_SYNTAX);
    assert_null(back.rejected);
    const char *truncated = "{\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"accepted\":5,\"dup";
    assert_int_equal(proto_reply_parse(truncated, strlen(truncated), &back, &err), PROTO_E_SYNTAX);
    const char *neg = "{\"batch_id\":\"0190163d-8e40-7000-8000-000000000001\",\"accepted\":-1,\"duplicate\":0,"
                      "\"rejected\":[]}";
    assert_int_equal(proto_reply_parse(neg, strlen(neg), &back, &err), PROTO_E_VALUE);
    assert_string_equal(err.field, "accepted");
}

static void test_validate_catches_hand_made_records(void **state)
{
    (void)state;
    ProtoRating r = sample();
    ProtoError err;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_OK);
    r.score = 5;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_E_SCORE);
    r = sample();
    r.area = AREA_COUNT;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_E_AREA);
    r = sample();
    r.reasons = 1u << REASON_COUNT;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_E_REASON);
    r = sample();
    r.flags = 0x2;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_E_FLAG);
    assert_string_equal(err.field, "flags");
}

static void test_codes_are_checked(void **state)
{
    (void)state;
    char long_code[PROTO_ID_MAX + 2];
    memset(long_code, 'a', sizeof long_code - 1);
    long_code[PROTO_ID_MAX + 1] = '\0';
    assert_false(proto_code_valid(long_code));
    long_code[PROTO_ID_MAX] = '\0';
    assert_true(proto_code_valid(long_code));
    assert_true(proto_code_valid("000.00.31.H21-demo_1"));
    assert_false(proto_code_valid(""));
    assert_false(proto_code_valid("a/b"));
    assert_false(proto_code_valid("Đắk"));
}

/* The allocation-free encoder the server stores and compares must give exactly the bytes of the jansson
 * encoder: one differing byte would turn harmless retries into conflicts. */
static void test_canonical_text_equals_proto_rating_dump(void **state)
{
    (void)state;
    static const char *const ATS[] = {"2026-11-22T08:15:02+07:00", "2026-11-22T01:15:02Z", "2026-11-22t08:15:02.5z",
                                      "2026-01-01T00:00:00.123456-05:30", "1999-12-31T23:59:59+14:00"};
    static const char *const UNITS[] = {"000.00.31.H21.DEMO", "a", "A-b_c.9",
                                        "0123456789012345678901234567890123456789012345678901234567890123"};
    unsigned seed = 99;
    int checked = 0;
    for(int i = 0; i < 20000; i++) {
        ProtoRating r = {0};
        uint8_t rnd[10];
        for(int k = 0; k < 10; k++)
            rnd[k] = (uint8_t)rand_r(&seed);
        uuid_v7_make(r.id, 1700000000000ull + (uint64_t)rand_r(&seed), rnd);
        r.seq = i % 7 == 0 ? INT64_MAX - i : 1 + rand_r(&seed);
        snprintf(r.unit, sizeof r.unit, "%s", UNITS[rand_r(&seed) % 4]);
        r.area = (ProtoArea)(rand_r(&seed) % AREA_COUNT);
        r.scale = (ProtoScale)(rand_r(&seed) % SCALE_COUNT);
        r.score = 1 + rand_r(&seed) % proto_scale_levels(r.scale);
        if(!proto_is_satisfied(r.scale, r.score)) {
            r.followup = (ProtoFollowup)(1 + rand_r(&seed) % 3);
            if(r.followup == FOLLOWUP_ANSWERED)
                r.reasons = (uint32_t)rand_r(&seed) & ((1u << REASON_COUNT) - 1);
        }
        snprintf(r.at, sizeof r.at, "%s", ATS[rand_r(&seed) % 5]);
        r.flags = rand_r(&seed) % 3 == 0 ? PROTO_FLAG_RAPID_REPEAT : 0;
        /* Schema-2 answers, each present about half the time. */
        if(rand_r(&seed) % 2)
            r.service_score = 1 + rand_r(&seed) % proto_scale_levels(r.scale);
        r.respondent = (ProtoRespondent)(rand_r(&seed) % RESPONDENT_COUNT);
        r.wait = (ProtoWait)(rand_r(&seed) % WAIT_COUNT);
        if(proto_rating_asks_reasons(&r) && r.followup == FOLLOWUP_NONE && rand_r(&seed) % 2)
            r.followup = FOLLOWUP_SKIPPED;
        ProtoError e;
        if(proto_rating_validate(&r, &e) != PROTO_OK)
            continue;
        char *want = proto_rating_dump(&r);
        char got[PROTO_RATING_TEXT_MAX];
        size_t n = proto_rating_canonical(&r, got, sizeof got);
        assert_non_null(want);
        assert_int_equal(n, strlen(want));
        assert_string_equal(got, want);
        free(want);
        checked++;
    }
    assert_true(checked > 15000);
}

static void test_canonical_text_reports_truncation(void **state)
{
    (void)state;
    ProtoRating r = {0};
    uint8_t rnd[10] = {1};
    uuid_v7_make(r.id, 1700000000000ull, rnd);
    r.seq = 1;
    snprintf(r.unit, sizeof r.unit, "U");
    r.score = 3;
    snprintf(r.at, sizeof r.at, "2026-11-22T08:15:02+07:00");
    char small[20];
    size_t need = proto_rating_canonical(&r, small, sizeof small);
    assert_true(need >= sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1); /* truncated, still terminated */
}

/* A rating may gain its answers after the tap once; nothing else of it may ever change. */
static void test_a_rating_may_gain_its_followup_once_and_nothing_else(void **state)
{
    (void)state;
    ProtoRating tap = sample(); /* as stored at the tap: no follow-up yet */
    tap.followup = FOLLOWUP_NONE;
    tap.reasons = 0;
    ProtoRating answered = sample(), skipped = tap, timeout = tap;
    skipped.followup = FOLLOWUP_SKIPPED;
    timeout.followup = FOLLOWUP_TIMEOUT;

    assert_int_equal(proto_rating_revision(&tap, &tap), PROTO_REV_SAME);
    assert_int_equal(proto_rating_revision(&answered, &answered), PROTO_REV_SAME);
    /* Unanswered -> answered, skipped or timed out: the newer copy. */
    assert_int_equal(proto_rating_revision(&tap, &answered), PROTO_REV_GAINS);
    assert_int_equal(proto_rating_revision(&tap, &skipped), PROTO_REV_GAINS);
    assert_int_equal(proto_rating_revision(&tap, &timeout), PROTO_REV_GAINS);
    /* The tap-time copy arriving after the answered one: older, not a conflict. */
    assert_int_equal(proto_rating_revision(&answered, &tap), PROTO_REV_OLDER);
    /* An answer, once given, never changes. */
    assert_int_equal(proto_rating_revision(&skipped, &answered), PROTO_REV_CONFLICT);
    assert_int_equal(proto_rating_revision(&answered, &timeout), PROTO_REV_CONFLICT);
    ProtoRating other_reasons = answered;
    other_reasons.reasons = 1u << REASON_THAI_DO;
    assert_int_equal(proto_rating_revision(&answered, &other_reasons), PROTO_REV_CONFLICT);

    /* Every other field is fixed at the tap, whether or not the follow-up comes with the change. */
    for(int field = 0; field < 7; field++) {
        ProtoRating c = answered;
        switch(field) {
        case 0: c.score = 2; break;
        case 1: c.area = AREA_XAY_DUNG; break;
        case 2: snprintf(c.unit, sizeof c.unit, "000.00.31.H22"); break;
        case 3: snprintf(c.at, sizeof c.at, "2026-11-22T08:15:03+07:00"); break;
        case 4: c.seq = 8; break;
        case 5: c.flags = 0; break;
        case 6: c.scale = SCALE_LIKERT5; break;
        }
        if(proto_rating_revision(&tap, &c) != PROTO_REV_CONFLICT)
            fail_msg("field %d changed with the follow-up and was not a conflict", field);
        ProtoRating d = tap;
        d.score = c.score, d.area = c.area, d.seq = c.seq, d.flags = c.flags, d.scale = c.scale;
        memcpy(d.unit, c.unit, sizeof d.unit);
        memcpy(d.at, c.at, sizeof d.at);
        if(proto_rating_revision(&tap, &d) != PROTO_REV_CONFLICT)
            fail_msg("field %d changed alone and was not a conflict", field);
    }
}

/* ---- Schema 2: the answers after the procedure face ------------------------------------------------ */

static ProtoRating sample2(void)
{
    ProtoRating r = sample();
    r.score = 3;              /* satisfied with the procedure ... */
    r.service_score = 1;      /* ... not with the service: the reasons were asked */
    r.respondent = RESPONDENT_DOANH_NGHIEP;
    r.wait = WAIT_15_30;
    return r;
}

/* The streaming size check takes schema 2 as it comes: a batch at the limit whose ratings carry every reason,
 * the rapid-repeat flag and all three later answers (the most structure a valid rating has) passes the scanner
 * in any pieces and decodes whole. */
static void test_a_full_schema2_batch_passes_the_scanner(void **state)
{
    (void)state;
    ProtoRating *rs = calloc(PROTO_MAX_BATCH, sizeof *rs);
    assert_non_null(rs);
    for(size_t i = 0; i < PROTO_MAX_BATCH; i++) {
        rs[i] = sample2();
        rs[i].reasons = (1u << REASON_COUNT) - 1;
        rs[i].seq = (int64_t)i + 1;
        char tail[16];
        snprintf(tail, sizeof tail, "%012zx", i + 1);
        memcpy(rs[i].id + 24, tail, 12);
    }
    char *s = proto_batch_dump("0190163d-8e40-7000-8000-000000000001", "kiosk-01", "2026-11-23T02:10:00+07:00",
                               rs, PROTO_MAX_BATCH);
    free(rs);
    assert_non_null(strstr(s, "\"schema\":2"));
    ProtoBatchScan sc;
    for(size_t piece = 7; piece <= 65536; piece *= 32) {
        assert_int_equal(scan_all(s, strlen(s), piece, &sc), PROTO_OK);
        assert_int_equal(sc.ratings, PROTO_MAX_BATCH);
    }
    ProtoBatch b;
    ProtoError err;
    assert_int_equal(proto_batch_parse(s, strlen(s), &b, &err), PROTO_OK);
    assert_int_equal(b.n, PROTO_MAX_BATCH);
    for(size_t i = 0; i < b.n; i++)
        assert_int_equal(b.items[i].error.code, PROTO_OK);
    assert_int_equal(b.items[PROTO_MAX_BATCH - 1].rating.wait, WAIT_15_30);
    proto_batch_free(&b);
    free(s);
}

static void test_schema2_answers_round_trip_and_old_bytes_stay(void **state)
{
    (void)state;
    static const char *const RESP[] = {NULL, "nguoi_dan", "doanh_nghiep", "to_chuc"};
    static const char *const WAIT[] = {NULL, "duoi_15", "15_30", "tren_30"};
    for(int i = 1; i < RESPONDENT_COUNT; i++) {
        assert_string_equal(proto_respondent_code((ProtoRespondent)i), RESP[i]);
        assert_int_equal(proto_respondent_from_code(RESP[i]), i);
    }
    for(int i = 1; i < WAIT_COUNT; i++) {
        assert_string_equal(proto_wait_code((ProtoWait)i), WAIT[i]);
        assert_int_equal(proto_wait_from_code(WAIT[i]), i);
    }
    assert_null(proto_respondent_code(RESPONDENT_NONE));
    assert_int_equal(proto_respondent_from_code("none"), -1);
    assert_int_equal(proto_wait_from_code(NULL), -1);
    assert_string_equal(proto_respondent_name_vi(RESPONDENT_TO_CHUC), "Tổ chức");
    assert_string_equal(proto_wait_name_vi(WAIT_15_30), "15–30 phút");
    assert_true(proto_wait_within_30(WAIT_DUOI_15) && proto_wait_within_30(WAIT_15_30));
    assert_false(proto_wait_within_30(WAIT_TREN_30) || proto_wait_within_30(WAIT_NONE));

    ProtoRating r = sample2(), back;
    char *s = proto_rating_dump(&r);
    assert_string_equal(s, "{\"id\":\"0190163d-8e40-7abc-8def-0123456789ab\",\"seq\":7,\"unit\":\"000.00.31.H21\","
                           "\"area\":\"dat_dai\",\"scale\":\"tthc3\",\"score\":3,\"reasons\":[\"cho_doi\",\"tre_hen\"],"
                           "\"followup\":\"answered\",\"at\":\"2026-11-22T08:15:02+07:00\",\"flags\":[\"rapid_repeat\"],"
                           "\"service_score\":1,\"respondent\":\"doanh_nghiep\",\"wait\":\"15_30\"}");
    assert_int_equal(proto_rating_parse(s, strlen(s), &back, NULL), PROTO_OK);
    assert_int_equal(back.service_score, 1);
    assert_int_equal(back.respondent, RESPONDENT_DOANH_NGHIEP);
    assert_int_equal(back.wait, WAIT_15_30);
    free(s);
    /* null is the same as absent, and a rating without answers has exactly its schema-1 bytes. */
    const char *nulls = "{\"id\":\"0190163d-8e40-7abc-8def-0123456789ab\",\"seq\":7,\"unit\":\"000.00.31.H21\","
                        "\"area\":\"dat_dai\",\"scale\":\"tthc3\",\"score\":1,\"reasons\":[\"cho_doi\",\"tre_hen\"],"
                        "\"followup\":\"answered\",\"at\":\"2026-11-22T08:15:02+07:00\",\"flags\":[\"rapid_repeat\"],"
                        "\"service_score\":null,\"respondent\":null,\"wait\":null}";
    assert_int_equal(proto_rating_parse(nulls, strlen(nulls), &back, NULL), PROTO_OK);
    assert_false(proto_rating_needs_schema2(&back));
    r = sample();
    char *old = proto_rating_dump(&r), *again = proto_rating_dump(&back);
    assert_string_equal(old, again);
    assert_null(strstr(old, "service_score"));
    free(old);
    free(again);
}

static void test_schema2_answers_are_checked(void **state)
{
    (void)state;
    static const struct { const char *to; ProtoErr code; const char *field; } cases[] = {
        {"\"service_score\":4", PROTO_E_SCORE, "service_score"},      /* tthc3 has 3 levels */
        {"\"service_score\":0", PROTO_E_SCORE, "service_score"},
        {"\"service_score\":\"1\"", PROTO_E_TYPE, "service_score"},
        {"\"respondent\":\"cong_dan\"", PROTO_E_RESPONDENT, "respondent"},
        {"\"respondent\":1", PROTO_E_TYPE, "respondent"},
        {"\"wait\":\"45\"", PROTO_E_WAIT, "wait"},
        {"\"wait\":[]", PROTO_E_TYPE, "wait"},
        {"\"wait\":\"15_30\",\"wait\":\"15_30\"", PROTO_E_SYNTAX, ""},
    };
    for(size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ProtoRating r = sample(), out;
        char *s = proto_rating_dump(&r), buf[1024];
        s[strlen(s) - 1] = '\0'; /* drop the closing brace */
        snprintf(buf, sizeof buf, "%s,%s}", s, cases[i].to);
        free(s);
        ProtoError err = {0};
        ProtoErr e = proto_rating_parse(buf, strlen(buf), &out, &err);
        if(e != cases[i].code || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu (%s): got %s '%s' (%s)", i, cases[i].to, proto_err_code(e), err.field, err.msg);
    }
    /* Reasons follow a not-satisfied procedure or service answer, and nothing else. */
    ProtoRating r = sample2();
    ProtoError err;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_OK);
    r.service_score = 2;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_E_FOLLOWUP);
    r.service_score = 0;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_E_FOLLOWUP);
    r = sample2();
    r.respondent = RESPONDENT_COUNT;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_E_RESPONDENT);
    r = sample2();
    r.wait = (ProtoWait)-1;
    assert_int_equal(proto_rating_validate(&r, &err), PROTO_E_WAIT);
}

/* A schema-1 batch cannot carry the answers (an unknown field of that item only); schema 2 can. The kiosk
 * writes schema 1 until one of its ratings needs 2, so an old server keeps taking what it can read. */
static void test_batches_of_both_schemas(void **state)
{
    (void)state;
    ProtoRating r[2] = {sample(), sample2()};
    r[1].id[35] = 'c';
    r[1].seq = 8;
    char *one = proto_batch_dump("0190163d-8e40-7000-8000-000000000001", "k", "2026-11-23T02:10:00+07:00", r, 1);
    char *two = proto_batch_dump("0190163d-8e40-7000-8000-000000000002", "k", "2026-11-23T02:10:00+07:00", r, 2);
    assert_non_null(strstr(one, "\"schema\":1,"));
    assert_non_null(strstr(two, "\"schema\":2,"));
    ProtoBatch b;
    ProtoError err;
    assert_int_equal(proto_batch_parse(two, strlen(two), &b, &err), PROTO_OK);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.items[0].error.code, PROTO_OK);
    assert_int_equal(b.items[1].error.code, PROTO_OK);
    assert_int_equal(b.items[1].rating.service_score, 1);
    assert_int_equal(b.items[1].rating.wait, WAIT_15_30);
    proto_batch_free(&b);
    /* The same ratings labelled schema 1: the first is fine, the second's answers are unknown there. */
    char *p = strstr(two, "\"schema\":2");
    p[9] = '1';
    assert_int_equal(proto_batch_parse(two, strlen(two), &b, &err), PROTO_OK);
    assert_int_equal(b.items[0].error.code, PROTO_OK);
    assert_int_equal(b.items[1].error.code, PROTO_E_UNKNOWN_FIELD);
    assert_string_equal(b.items[1].error.field, "ratings[1].service_score");
    assert_string_equal(b.items[1].raw_id, r[1].id);
    proto_batch_free(&b);
    free(one);
    free(two);
}

/* Each later answer (service face, reasons, respondent, wait) may be gained once, in any combination; none
 * may change once given. */
static void test_each_later_answer_may_be_gained_once(void **state)
{
    (void)state;
    ProtoRating full = sample2(), tap = full;
    tap.service_score = 0;
    tap.respondent = RESPONDENT_NONE;
    tap.wait = WAIT_NONE;
    tap.followup = FOLLOWUP_NONE;
    tap.reasons = 0;
    /* One answer at a time, as the kiosk saves them: each step is the newer copy of the one before. */
    ProtoRating steps[5] = {tap, tap, tap, tap, full};
    steps[1].service_score = 1;
    steps[2] = steps[1];
    steps[2].followup = full.followup;
    steps[2].reasons = full.reasons;
    steps[3] = steps[2];
    steps[3].respondent = full.respondent;
    for(int i = 0; i < 5; i++)
        for(int j = 0; j < 5; j++) {
            ProtoRevision want = i == j ? PROTO_REV_SAME : j > i ? PROTO_REV_GAINS : PROTO_REV_OLDER;
            if(proto_rating_revision(&steps[i], &steps[j]) != want)
                fail_msg("step %d -> %d: got %d, want %d", i, j, proto_rating_revision(&steps[i], &steps[j]), want);
        }
    /* Changing any answer once given is a conflict, alone or with a gain elsewhere. */
    ProtoRating c = full;
    c.service_score = 2;
    c.followup = FOLLOWUP_NONE, c.reasons = 0; /* (2 is satisfied: no reasons) */
    assert_int_equal(proto_rating_revision(&steps[1], &c), PROTO_REV_CONFLICT);
    c = full;
    c.respondent = RESPONDENT_TO_CHUC;
    assert_int_equal(proto_rating_revision(&full, &c), PROTO_REV_CONFLICT);
    assert_int_equal(proto_rating_revision(&steps[3], &c), PROTO_REV_CONFLICT);
    c = full;
    c.wait = WAIT_TREN_30;
    assert_int_equal(proto_rating_revision(&full, &c), PROTO_REV_CONFLICT);
    /* Gaining one answer while lacking another the stored copy has: conflict. */
    c = steps[1];
    c.wait = WAIT_DUOI_15;
    assert_int_equal(proto_rating_revision(&steps[3], &c), PROTO_REV_CONFLICT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_round_trips),
        cmocka_unit_test(test_vietnamese_names_are_exact),
        cmocka_unit_test(test_satisfied_rule_follows_metric),
        cmocka_unit_test(test_groups_and_targets_follow_metric),
        cmocka_unit_test(test_equal_ratings_encode_to_equal_bytes),
        cmocka_unit_test(test_each_class_of_bad_rating_names_its_field),
        cmocka_unit_test(test_batch_round_trips_and_isolates_bad_items),
        cmocka_unit_test(test_batch_envelope_errors_fail_whole_batch),
        cmocka_unit_test(test_batch_over_the_limit_is_refused),
        cmocka_unit_test(test_the_scanner_sizes_a_batch_before_it_is_decoded),
        cmocka_unit_test(test_reply_round_trips_and_html_is_refused),
        cmocka_unit_test(test_validate_catches_hand_made_records),
        cmocka_unit_test(test_codes_are_checked),
        cmocka_unit_test(test_canonical_text_equals_proto_rating_dump),
        cmocka_unit_test(test_canonical_text_reports_truncation),
        cmocka_unit_test(test_a_rating_may_gain_its_followup_once_and_nothing_else),
        cmocka_unit_test(test_schema2_answers_round_trip_and_old_bytes_stay),
        cmocka_unit_test(test_a_full_schema2_batch_passes_the_scanner),
        cmocka_unit_test(test_schema2_answers_are_checked),
        cmocka_unit_test(test_batches_of_both_schemas),
        cmocka_unit_test(test_each_later_answer_may_be_gained_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
