/* test_ingest_followup.c — the tally's rule for a rating that gains its follow-up after it was stored
 * (docs/protocol.md, "Answers after the tap"), on a real tally database in a temp folder through
 * tally_ingest_batch: the newer copy replaces the stored one and is accepted without counting the rating
 * twice; the older copy is then a duplicate; any change of score, area, unit, time, seq or flags, a changed
 * answer, or a copy from another device stays a conflict that keeps the stored content; the reasons the
 * dashboard and the report files show follow the newest copy and count each rating once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "sync/protocol.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_export.h"
#include "sync/tally/tally_ingest.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_report.h"
#include "testutil.h"

#define UNIT "G01.C01"
#define DEVICE "kiosk-f1"

typedef struct {
    char dir[128], path[192];
    TallyDb *db;
    TallyIngest *in;
    int batches;
} Fx;

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1];
    if(!f || !tu_mkdtemp(f->dir, sizeof f->dir, "ingest_followup"))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/tally.db", f->dir);
    if(tally_db_open(f->path, &f->db, msg) || tally_unit_add(f->db, "G01", "Tỉnh", NULL, msg) ||
       tally_unit_add(f->db, UNIT, "Xã", "G01", msg) || tally_device_add(f->db, DEVICE, UNIT, ptime_vn_day_start(PTIME_DAY_MIN), tok, msg) ||
       tally_device_add(f->db, "kiosk-f2", UNIT, ptime_vn_day_start(PTIME_DAY_MIN), tok, msg) || tally_ingest_new(f->db, &f->in, msg)) {
        fprintf(stderr, "setup: %s\n", msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fx *f = *state;
    tally_ingest_free(f->in);
    tally_db_close(f->db);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* A not-satisfied rating as the kiosk stores it at the tap: follow-up not answered yet. */
static ProtoRating at_tap(void)
{
    ProtoRating r = {.id = "0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e0f", .seq = 41, .unit = UNIT, .area = AREA_DAT_DAI,
                     .scale = SCALE_TTHC3, .score = 1, .followup = FOLLOWUP_NONE,
                     .at = "2026-11-22T08:15:02+07:00"};
    return r;
}

/* Posts one rating from `device`; returns what the reply said about it: 'a'ccepted, 'd'uplicate or the
 * reject code. */
static const char *post(Fx *f, const char *device, const ProtoRating *r)
{
    static char verdict[32];
    ProtoBatch b = {.n = 1};
    ProtoBatchItem it = {.rating = *r};
    snprintf(it.raw_id, sizeof it.raw_id, "%s", r->id);
    b.items = &it;
    snprintf(b.batch_id, sizeof b.batch_id, "0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d%02x", ++f->batches);
    snprintf(b.device_id, sizeof b.device_id, "%s", device);
    snprintf(b.sent_at, sizeof b.sent_at, "2026-11-22T21:30:05+07:00");
    ProtoReply rep;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_ingest_batch(f->in, &b, UNIT, 1795400000, &rep, msg), TALLY_OK);
    assert_int_equal(rep.accepted + rep.duplicate + (int64_t)rep.n_rejected, 1);
    snprintf(verdict, sizeof verdict, "%s", rep.accepted ? "accepted" : rep.duplicate ? "duplicate"
                                                                                       : rep.rejected[0].error);
    proto_reply_free(&rep);
    return verdict;
}

static int64_t scalar(Fx *f, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(tally_db_sqlite(f->db), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The stored content equals r's canonical text. */
static void assert_stored(Fx *f, const ProtoRating *r)
{
    char want[PROTO_RATING_TEXT_MAX];
    proto_rating_canonical(r, want, sizeof want);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(tally_db_sqlite(f->db), "SELECT body FROM ratings WHERE id = ?1", -1, &st,
                                        NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
    sqlite3_finalize(st);
}

/* Counted once, in both roll-ups, under its tap-time key. */
static void assert_counted_once(Fx *f)
{
    assert_int_equal(scalar(f, "SELECT count(*) FROM ratings"), 1);
    assert_int_equal(scalar(f, "SELECT sum(n) FROM daily"), 1);
    assert_int_equal(scalar(f, "SELECT sum(n) FROM monthly"), 1);
    assert_int_equal(scalar(f, "SELECT n FROM daily WHERE area = 'dat_dai' AND score = 1"), 1);
}

static void test_followup_sent_after_the_rating_replaces_it_and_counts_once(void **state)
{
    Fx *f = *state;
    ProtoRating tap = at_tap(), answered = tap;
    answered.followup = FOLLOWUP_ANSWERED;
    answered.reasons = (1u << REASON_CHO_DOI) | (1u << REASON_THU_TUC);
    assert_string_equal(post(f, DEVICE, &tap), "accepted");
    assert_string_equal(post(f, DEVICE, &answered), "accepted");
    assert_stored(f, &answered);
    assert_counted_once(f);
    /* Replays: the newer copy is a duplicate, and so is the tap-time copy arriving late. */
    assert_string_equal(post(f, DEVICE, &answered), "duplicate");
    assert_string_equal(post(f, DEVICE, &tap), "duplicate");
    assert_stored(f, &answered);
    assert_counted_once(f);
}

static void test_an_answer_once_given_never_changes(void **state)
{
    Fx *f = *state;
    ProtoRating tap = at_tap(), skipped = tap, answered = tap;
    skipped.followup = FOLLOWUP_SKIPPED;
    answered.followup = FOLLOWUP_ANSWERED;
    answered.reasons = 1u << REASON_THAI_DO;
    assert_string_equal(post(f, DEVICE, &tap), "accepted");
    assert_string_equal(post(f, DEVICE, &skipped), "accepted");
    assert_string_equal(post(f, DEVICE, &answered), "conflict");
    assert_stored(f, &skipped);
    assert_counted_once(f);
}

static void test_score_area_time_seq_and_flags_never_change_with_the_followup(void **state)
{
    Fx *f = *state;
    ProtoRating tap = at_tap();
    assert_string_equal(post(f, DEVICE, &tap), "accepted");
    for(int field = 0; field < 5; field++) {
        ProtoRating c = tap;
        c.followup = FOLLOWUP_ANSWERED;
        c.reasons = 1u << REASON_CHO_DOI;
        switch(field) {
        case 0: c.score = 3; c.followup = FOLLOWUP_SKIPPED; c.reasons = 0; break;
        case 1: c.area = AREA_XAY_DUNG; break;
        case 2: snprintf(c.at, sizeof c.at, "2026-11-23T08:15:02+07:00"); break;
        case 3: c.seq = 42; break;
        case 4: c.flags = PROTO_FLAG_RAPID_REPEAT; break;
        }
        if(strcmp(post(f, DEVICE, &c), "conflict") != 0)
            fail_msg("field %d: changed with the follow-up but not refused as a conflict", field);
    }
    assert_stored(f, &tap);
    assert_counted_once(f);
}

static void test_only_the_device_that_stored_a_rating_adds_its_followup(void **state)
{
    Fx *f = *state;
    ProtoRating tap = at_tap(), answered = tap;
    answered.followup = FOLLOWUP_TIMEOUT;
    assert_string_equal(post(f, DEVICE, &tap), "accepted");
    assert_string_equal(post(f, "kiosk-f2", &answered), "conflict");
    assert_stored(f, &tap);
    assert_string_equal(post(f, DEVICE, &answered), "accepted");
    assert_stored(f, &answered);
    assert_counted_once(f);
}

/* The answers of the counter's later questions (service face, who is rating, how long they waited) join the
 * same rule: saved one by one on the kiosk, each copy that gains one is the newer one; each is given once. */
static void test_service_respondent_and_wait_are_gained_once_each(void **state)
{
    Fx *f = *state;
    ProtoRating tap = at_tap();
    tap.score = 3; /* satisfied with the procedure: no reasons unless the service face says otherwise */
    ProtoRating service = tap, reasons, who, wait;
    service.service_score = 1;
    reasons = service;
    reasons.followup = FOLLOWUP_ANSWERED;
    reasons.reasons = 1u << REASON_THAI_DO;
    who = reasons;
    who.respondent = RESPONDENT_NGUOI_DAN;
    wait = who;
    wait.wait = WAIT_TREN_30;
    assert_string_equal(post(f, DEVICE, &tap), "accepted");
    assert_string_equal(post(f, DEVICE, &service), "accepted");
    assert_string_equal(post(f, DEVICE, &who), "accepted"); /* two answers at once: fine */
    assert_stored(f, &who);
    assert_string_equal(post(f, DEVICE, &reasons), "duplicate"); /* an older copy arriving late */
    assert_string_equal(post(f, DEVICE, &wait), "accepted");
    assert_stored(f, &wait);
    /* Once given, none changes. */
    ProtoRating c = wait;
    c.respondent = RESPONDENT_TO_CHUC;
    assert_string_equal(post(f, DEVICE, &c), "conflict");
    c = wait;
    c.wait = WAIT_DUOI_15;
    assert_string_equal(post(f, DEVICE, &c), "conflict");
    c = wait;
    c.service_score = 2;
    c.followup = FOLLOWUP_NONE;
    c.reasons = 0;
    assert_string_equal(post(f, DEVICE, &c), "conflict");
    assert_stored(f, &wait);
    assert_string_equal(post(f, DEVICE, &wait), "duplicate");
    assert_string_equal(post(f, DEVICE, &tap), "duplicate");
    assert_int_equal(scalar(f, "SELECT count(*) FROM ratings"), 1);
    assert_int_equal(scalar(f, "SELECT sum(n) FROM daily"), 1);
    assert_int_equal(scalar(f, "SELECT n FROM daily WHERE area = 'dat_dai' AND score = 3"), 1);
}

/* The month's report for the unit as the dashboard and the report files get it: its reasons, how many ratings
 * gave them, and what the device says it received; and the ly-do CSV file's row for each reason. */
typedef struct {
    int64_t cho_doi, thu_tuc, total, unsatisfied, received;
    char csv[2048];
} Reasons;

static Reasons report_reasons(Fx *f)
{
    Reasons out = {0};
    TallyReportSpec spec = {.area = -1, .parts = TALLY_PART_GROUPS | TALLY_PART_REASONS | TALLY_PART_DEVICES,
                            .now_s = 1795400000};
    assert_true(tally_period_parse("thang:2026-11", &spec.period));
    snprintf(spec.unit, sizeof spec.unit, "%s", UNIT);
    TallyReport *r;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_report_build(f->db, &spec, &r, msg), TALLY_OK);
    for(int i = 0; i < REASON_COUNT; i++) {
        if(r->reasons[i].reason == REASON_CHO_DOI)
            out.cho_doi = r->reasons[i].n;
        if(r->reasons[i].reason == REASON_THU_TUC)
            out.thu_tuc = r->reasons[i].n;
    }
    out.total = r->reasons_total;
    out.unsatisfied = r->unsatisfied;
    for(size_t i = 0; i < r->n_devices; i++)
        if(strcmp(r->devices[i].id, DEVICE) == 0)
            out.received = r->devices[i].received;
    tally_report_free(r);
    TallyFile file;
    assert_int_equal(tally_file_make(f->db, &spec, TALLY_FILE_CSV, TALLY_VIEW_REASONS, &file, msg), TALLY_OK);
    assert_true(file.len < sizeof out.csv);
    memcpy(out.csv, file.data, file.len);
    tally_file_free(&file);
    return out;
}

static void expect_reasons(Fx *f, int64_t cho_doi, int64_t thu_tuc, int64_t unsatisfied)
{
    Reasons r = report_reasons(f);
    assert_int_equal(r.cho_doi, cho_doi);
    assert_int_equal(r.thu_tuc, thu_tuc);
    assert_int_equal(r.total, cho_doi + thu_tuc);
    assert_int_equal(r.unsatisfied, unsatisfied);
    assert_int_equal(r.received, 2); /* two ratings stored, however many copies of them came */
    char row[64];
    snprintf(row, sizeof row, ",\"cho_doi\",%lld\r\n", (long long)cho_doi);
    if(!strstr(r.csv, row))
        fail_msg("the ly-do CSV lacks \"%s\":\n%s", row, r.csv);
    /* The roll-up holds exactly those counts, daily and monthly (no cell left at 0 or below). */
    assert_int_equal(scalar(f, "SELECT coalesce(sum(n), 0) FROM reasons_daily"), cho_doi + thu_tuc);
    assert_int_equal(scalar(f, "SELECT coalesce(sum(n), 0) FROM reasons_monthly"), cho_doi + thu_tuc);
    assert_int_equal(scalar(f, "SELECT count(*) FROM reasons_daily WHERE n <= 0"), 0);
}

/* Uploaded at the tap, then with its answers: the reasons chart and every report file count the answer once;
 * replays of either copy change nothing. A misuse-flagged rating that gains reasons is never counted. */
static void test_reasons_follow_the_followup_into_the_report_once(void **state)
{
    Fx *f = *state;
    ProtoRating tap = at_tap(), answered = tap, misuse = tap, misuse_answered;
    answered.followup = FOLLOWUP_ANSWERED;
    answered.reasons = (1u << REASON_CHO_DOI) | (1u << REASON_THU_TUC);
    snprintf(misuse.id, sizeof misuse.id, "0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e10");
    misuse.seq = 42;
    misuse.flags = PROTO_FLAG_RAPID_REPEAT;
    misuse_answered = misuse;
    misuse_answered.followup = FOLLOWUP_ANSWERED;
    misuse_answered.reasons = 1u << REASON_CHO_DOI;
    assert_string_equal(post(f, DEVICE, &tap), "accepted");
    assert_string_equal(post(f, DEVICE, &misuse), "accepted");
    expect_reasons(f, 0, 0, 1);
    assert_string_equal(post(f, DEVICE, &answered), "accepted");
    assert_string_equal(post(f, DEVICE, &misuse_answered), "accepted");
    expect_reasons(f, 1, 1, 1);
    for(int replay = 0; replay < 2; replay++) {
        assert_string_equal(post(f, DEVICE, &answered), "duplicate");
        assert_string_equal(post(f, DEVICE, &tap), "duplicate");
        assert_string_equal(post(f, DEVICE, &misuse_answered), "duplicate");
        assert_string_equal(post(f, DEVICE, &misuse), "duplicate");
        expect_reasons(f, 1, 1, 1);
    }
}

/* ---- The later questions in every figure: phuc_vu, who rated, the 30-minute wait ------------------------- */

/* A rating of the seeded set below: its own id and seq, at the tap of 22/11/2026 in đất đai. */
static ProtoRating rated(int k, int score)
{
    ProtoRating r = at_tap();
    snprintf(r.id, sizeof r.id, "0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e%02x", 0x20 + k);
    r.seq = 100 + k;
    r.score = score;
    return r;
}

/* The unit's month as the API gives it (tally_query_run) for one slice. */
static TallyRow api_row(Fx *f, const char *by, int respondent, const char *key)
{
    TallySpec spec = {.area = -1, .respondent = respondent, .min_n = 1};
    assert_true(ptime_parse_date("2026-11-01", &spec.from_day));
    assert_true(ptime_parse_date("2026-11-30", &spec.to_day));
    snprintf(spec.unit, sizeof spec.unit, "%s", UNIT);
    if(by)
        assert_true(tally_parse_by(by, &spec));
    TallyRow *rows, out = {.n = -1};
    size_t n;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_query_run(f->db, &spec, &rows, &n, msg), TALLY_OK);
    for(size_t i = 0; i < n; i++)
        if(!key || strcmp(rows[i].key, key) == 0)
            out = rows[i];
    free(rows);
    if(out.n < 0)
        fail_msg("no API row %s", key ? key : "(whole slice)");
    return out;
}

static TallyReport *month_report(Fx *f, int respondent)
{
    TallyReportSpec spec = {.area = -1, .respondent = respondent, .min_n = 1, .now_s = 1795400000};
    assert_true(tally_period_parse("thang:2026-11", &spec.period));
    snprintf(spec.unit, sizeof spec.unit, "%s", UNIT);
    TallyReport *r;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_report_build(f->db, &spec, &r, msg), TALLY_OK);
    return r;
}

static void expect_fig(const TallyFigure *g, int64_t n, int64_t satisfied, int64_t flagged, int64_t wait_n,
                       int64_t within)
{
    assert_int_equal(g->n, n);
    assert_int_equal(g->satisfied, satisfied);
    assert_int_equal(g->flagged, flagged);
    assert_int_equal(g->wait.n, wait_n);
    assert_int_equal(g->wait.within, within);
}

/* The seeded set (đất đai, one month, one unit), every answer that came after the tap counted once:
 *   A  score 3, at the tap; then service 1, nguoi_dan, duoi_15 in one later copy
 *   B  score 2, service 3, doanh_nghiep, tren_30, all in its first copy
 *   C  score 1, no later answer (followup skipped)
 *   D  score 3, service 3, nguoi_dan, duoi_15 but flagged as misuse: in no n and no wait share
 *   E  score 3 at the tap; then service 2; then nguoi_dan and 15_30 (three copies, older ones replayed late)
 * tthc: n 4, satisfied 3 (A B E), flagged 1; phuc_vu: n 3 (A B E), satisfied 2 (B E), flagged 1 (D);
 * waits answered 3 (A B E), within 30 minutes 2 (A E) = 66.67%, Wilson 95% 20.77-93.85. */
static void test_later_answers_count_once_in_phuc_vu_respondent_and_wait(void **state)
{
    Fx *f = *state;
    ProtoRating a = rated(1, 3), a2, b = rated(2, 2), c = rated(3, 1), d = rated(4, 3), e = rated(5, 3), e2, e3;
    a2 = a, a2.service_score = 1, a2.respondent = RESPONDENT_NGUOI_DAN, a2.wait = WAIT_DUOI_15;
    b.service_score = 3, b.respondent = RESPONDENT_DOANH_NGHIEP, b.wait = WAIT_TREN_30;
    c.followup = FOLLOWUP_SKIPPED;
    d.flags = PROTO_FLAG_RAPID_REPEAT, d.service_score = 3, d.respondent = RESPONDENT_NGUOI_DAN, d.wait = WAIT_DUOI_15;
    e2 = e, e2.service_score = 2;
    e3 = e2, e3.respondent = RESPONDENT_NGUOI_DAN, e3.wait = WAIT_15_30;
    const ProtoRating *first[] = {&a, &b, &c, &d, &e};
    for(size_t i = 0; i < 5; i++)
        assert_string_equal(post(f, DEVICE, first[i]), "accepted");
    /* Before any later answer: no phuc_vu, no waits, everyone unanswered. */
    TallyReport *r = month_report(f, RESPONDENT_NONE);
    expect_fig(&r->groups[GROUP_TTHC].cur, 4, 3, 1, 1, 0);
    expect_fig(&r->groups[GROUP_PHUC_VU].cur, 1, 1, 1, 1, 0);
    tally_report_free(r);
    assert_string_equal(post(f, DEVICE, &a2), "accepted");
    assert_string_equal(post(f, DEVICE, &e2), "accepted");
    assert_string_equal(post(f, DEVICE, &e3), "accepted");
    for(int replay = 0; replay < 2; replay++) { /* older copies late, newer ones again: nothing moves */
        assert_string_equal(post(f, DEVICE, &e2), "duplicate");
        assert_string_equal(post(f, DEVICE, &e), "duplicate");
        assert_string_equal(post(f, DEVICE, &a), "duplicate");
        assert_string_equal(post(f, DEVICE, &a2), "duplicate");
        assert_string_equal(post(f, DEVICE, &e3), "duplicate");
        assert_string_equal(post(f, DEVICE, &b), "duplicate");

        r = month_report(f, RESPONDENT_NONE);
        expect_fig(&r->groups[GROUP_TTHC].cur, 4, 3, 1, 3, 2);
        expect_fig(&r->groups[GROUP_DAT_DAI_XAY_DUNG_DAU_TU].cur, 4, 3, 1, 3, 2);
        expect_fig(&r->groups[GROUP_PHUC_VU].cur, 3, 2, 1, 3, 2);
        expect_fig(&r->groups[GROUP_Y_TE].cur, 0, 0, 0, 0, 0);
        expect_fig(&r->total, 4, 3, 1, 3, 2);
        expect_fig(&r->units[0].fig[GROUP_PHUC_VU], 3, 2, 1, 3, 2);
        expect_fig(&r->areas[AREA_DAT_DAI].fig, 4, 3, 1, 3, 2);
        assert_float_equal(r->total.wait.pct, 200.0 / 3, 1e-9);
        assert_float_equal(r->total.wait.wilson_low, 20.77, 0.005);
        assert_float_equal(r->total.wait.wilson_high, 93.85, 0.005);
        assert_int_equal(r->groups[GROUP_PHUC_VU].cur.status[0], TALLY_STATUS_KHONG_DAT); /* 66.67% < 90% */
        /* Who rated: D (flagged) is nguoi_dan's misuse; C has no answer. */
        expect_fig(&r->respondents[RESPONDENT_NGUOI_DAN].fig[GROUP_TTHC], 2, 2, 1, 2, 2);
        expect_fig(&r->respondents[RESPONDENT_NGUOI_DAN].fig[GROUP_PHUC_VU], 2, 1, 1, 2, 2);
        expect_fig(&r->respondents[RESPONDENT_DOANH_NGHIEP].all, 1, 1, 0, 1, 0);
        expect_fig(&r->respondents[RESPONDENT_NONE].all, 1, 0, 0, 0, 0);
        expect_fig(&r->respondents[RESPONDENT_TO_CHUC].all, 0, 0, 0, 0, 0);
        tally_report_free(r);

        /* The API's rows are the same figures. */
        TallyRow row = api_row(f, "group", RESPONDENT_NONE, "phuc_vu");
        assert_int_equal(row.n * 100 + row.satisfied * 10 + row.flagged, 321);
        assert_int_equal(row.wait.n * 10 + row.wait.within, 32);
        assert_float_equal(row.wait.wilson_low, 20.77, 0.005);
        row = api_row(f, "group", RESPONDENT_NONE, "tthc");
        assert_int_equal(row.n * 100 + row.satisfied * 10 + row.flagged, 431);
        row = api_row(f, "respondent", RESPONDENT_NONE, "nguoi_dan");
        assert_int_equal(row.n * 100 + row.satisfied * 10 + row.flagged, 221);
        assert_int_equal(row.wait.n * 10 + row.wait.within, 22);
        row = api_row(f, "respondent", RESPONDENT_NONE, TALLY_RESPONDENT_NONE_CODE);
        assert_int_equal(row.n * 100 + row.satisfied * 10 + row.wait.n, 100);
        row = api_row(f, "respondent,group", RESPONDENT_NONE, "doanh_nghiep/phuc_vu");
        assert_int_equal(row.n * 100 + row.satisfied * 10 + row.wait.within, 110);
    }
    /* Filtered to người dân: A and E (D flagged). */
    r = month_report(f, RESPONDENT_NGUOI_DAN);
    expect_fig(&r->groups[GROUP_TTHC].cur, 2, 2, 1, 2, 2);
    expect_fig(&r->groups[GROUP_PHUC_VU].cur, 2, 1, 1, 2, 2);
    expect_fig(&r->respondents[RESPONDENT_DOANH_NGHIEP].all, 0, 0, 0, 0, 0);
    tally_report_free(r);
    TallyRow row = api_row(f, NULL, RESPONDENT_NGUOI_DAN, NULL);
    assert_int_equal(row.n * 100 + row.satisfied * 10 + row.flagged, 221);
    assert_float_equal(row.wait.pct, 100, 1e-9);
    /* The roll-ups hold one cell per rating's newest answers and none left empty. */
    assert_int_equal(scalar(f, "SELECT sum(n) FROM daily_sat"), 4);
    assert_int_equal(scalar(f, "SELECT sum(svc_n) FROM monthly_sat"), 3);
    assert_int_equal(scalar(f, "SELECT count(*) FROM daily_sat WHERE n = 0 AND flagged = 0"), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM monthly_sat WHERE n = 0 AND flagged = 0"), 0);
}

/* Ratings from a wrong device clock (a year ahead of the batch's arrival; 1970, years before the device's
 * `since`) are stored but quarantined: in no roll-up, so in no tally, report, file or alert. Their follow-up
 * answers arriving later must not move reasons into the dashboard's roll-up either, nor their service face,
 * respondent and wait into daily_sat / monthly_sat (update_item on a quarantined row), so phuc_vu,
 * by=respondent and the wait indicator stay empty too. They still count as received: they arrived, there is
 * no gap. */
static void test_a_quarantined_rating_and_its_followup_stay_out_of_every_rollup(void **state)
{
    Fx *f = *state;
    char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1];
    /* kiosk-f3 is expected from 2026-01-01 on: anything dated earlier is a wrong clock. */
    int64_t since_day;
    assert_true(ptime_parse_date("2026-01-01", &since_day));
    assert_int_equal(tally_device_add(f->db, "kiosk-f3", UNIT, ptime_vn_day_start(since_day), tok, msg), TALLY_OK);
    struct {
        const char *device, *at, *id, *month;
    } wrong[] = {
        {DEVICE, "2027-11-22T08:15:02+07:00", "0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e21", "thang:2027-11"},
        {"kiosk-f3", "1970-01-02T08:15:02+07:00", "0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e22", NULL}, /* no period */
    };
    for(size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
        ProtoRating tap = at_tap(), answered;
        snprintf(tap.id, sizeof tap.id, "%s", wrong[k].id);
        snprintf(tap.at, sizeof tap.at, "%s", wrong[k].at);
        tap.seq = 1; /* each kiosk's first: no gap */
        answered = tap;
        answered.followup = FOLLOWUP_ANSWERED;
        answered.reasons = (1u << REASON_CHO_DOI) | (1u << REASON_THU_TUC);
        ProtoRating later = answered; /* then the counter's later questions, in a copy of their own */
        later.service_score = 1, later.respondent = RESPONDENT_NGUOI_DAN, later.wait = WAIT_DUOI_15;
        assert_string_equal(post(f, wrong[k].device, &tap), "accepted");
        assert_string_equal(post(f, wrong[k].device, &answered), "accepted"); /* the answers, stored */
        assert_stored(f, &answered);
        assert_string_equal(post(f, wrong[k].device, &later), "accepted");
        assert_stored(f, &later);
        assert_string_equal(post(f, wrong[k].device, &answered), "duplicate");
        assert_string_equal(post(f, wrong[k].device, &later), "duplicate");
    }
    assert_int_equal(scalar(f, "SELECT count(*) FROM ratings WHERE quarantine <> 0"), 2);
    assert_int_equal(scalar(f, "SELECT sum(quarantined) FROM devices"), 2);
    /* No roll-up holds any of them: the tally's, nor the dashboard's. */
    const char *const empty[] = {"daily", "monthly", "daily_sat", "monthly_sat", "reasons_daily",
                                 "reasons_monthly", "hours_daily", "hours_monthly"};
    for(size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", empty[i]);
        if(scalar(f, sql) != 0)
            fail_msg("%s holds a quarantined rating", empty[i]);
    }
    /* The API's tally over every day from 1970 on: nothing. */
    TallySpec ts = {.area = -1, .min_n = 1};
    assert_true(ptime_parse_date("1970-01-01", &ts.from_day) && ptime_parse_date("2027-12-31", &ts.to_day));
    TallyRow *rows;
    size_t n_rows;
    for(int by = 0; by < 3; by++) { /* the whole slice; by=respondent (and its own filter); phuc_vu's group */
        ts.n_by = 0;
        ts.respondent = by == 1 ? RESPONDENT_NGUOI_DAN : RESPONDENT_NONE;
        if(by)
            assert_true(tally_parse_by(by == 1 ? "respondent" : "group", &ts));
        assert_int_equal(tally_query_run(f->db, &ts, &rows, &n_rows, msg), TALLY_OK);
        for(size_t i = 0; i < n_rows; i++)
            if(rows[i].n || rows[i].flagged || rows[i].wait.n || rows[i].wait.within)
                fail_msg("by %d: row %s counts a quarantined rating (n %lld, wait %lld)", by, rows[i].key,
                         (long long)rows[i].n, (long long)rows[i].wait.n);
        free(rows);
    }
    /* The report model for the month a year ahead: nothing counted, no reason, no alert of a low figure. */
    for(size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
        if(!wrong[k].month)
            continue;
        TallyReportSpec spec = {.area = -1, .parts = TALLY_PART_ALL, .now_s = 1795400000};
        assert_true(tally_period_parse(wrong[k].month, &spec.period));
        snprintf(spec.unit, sizeof spec.unit, "%s", UNIT);
        TallyReport *r;
        assert_int_equal(tally_report_build(f->db, &spec, &r, msg), TALLY_OK);
        assert_int_equal(r->reasons_total, 0);
        assert_int_equal(r->unsatisfied, 0);
        assert_int_equal(r->n_alerts, 0);
        expect_fig(&r->groups[GROUP_PHUC_VU].cur, 0, 0, 0, 0, 0);
        expect_fig(&r->total, 0, 0, 0, 0, 0);
        expect_fig(&r->respondents[RESPONDENT_NGUOI_DAN].all, 0, 0, 0, 0, 0);
        for(size_t i = 0; i < r->n_devices; i++)
            if(strcmp(r->devices[i].id, wrong[k].device) == 0)
                assert_int_equal(r->devices[i].received, 1); /* arrived: counted as received, not as a gap */
        tally_report_free(r);
        TallyFile file;
        assert_int_equal(tally_file_make(f->db, &spec, TALLY_FILE_CSV, TALLY_VIEW_REASONS, &file, msg), TALLY_OK);
        char csv[2048];
        assert_true(file.len < sizeof csv);
        memcpy(csv, file.data, file.len);
        csv[file.len] = '\0';
        tally_file_free(&file);
        if(strstr(csv, ",\"cho_doi\",1"))
            fail_msg("the ly-do CSV of %s counts a quarantined rating's reason:\n%s", wrong[k].month, csv);
    }
}

int main(void)
{
    if(sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_followup_sent_after_the_rating_replaces_it_and_counts_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_answer_once_given_never_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_score_area_time_seq_and_flags_never_change_with_the_followup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_only_the_device_that_stored_a_rating_adds_its_followup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_service_respondent_and_wait_are_gained_once_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reasons_follow_the_followup_into_the_report_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_later_answers_count_once_in_phuc_vu_respondent_and_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_quarantined_rating_and_its_followup_stay_out_of_every_rollup, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
