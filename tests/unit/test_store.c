/* The local rating store: what is added is counted on the right day, flows pending → acked/rejected, survives
 * re-open with its seq counter, and every refusal (bad rating, duplicate, read-only, full disk, corrupt file)
 * comes back as its own error with nothing written. Real SQLite files in a fresh temp dir; the read-only
 * and disk-full cases mount a tiny tmpfs in a private mount namespace (skipped where mounting is refused). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "kiosk/store.h"
#include "testutil.h"

typedef struct {
    char dir[256];
    char path[320];
    bool mounted;
} Fixture;

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof *f);
    if(!f || !tu_mkdtemp(f->dir, sizeof f->dir, "test_store")) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/kiosk.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    if(f->mounted)
        umount2(f->dir, MNT_DETACH);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* A valid rating: number i decides the id; the caller sets what the test is about. */
static ProtoRating rating(int i, ProtoArea area, ProtoScale scale, int score, const char *at)
{
    ProtoRating r;
    uint8_t rnd[10] = {0};
    memset(&r, 0, sizeof r);
    rnd[8] = (uint8_t)(i >> 8);
    rnd[9] = (uint8_t)i;
    uuid_v7_make(r.id, 1795000000000ull + (uint64_t)i, rnd);
    snprintf(r.unit, sizeof r.unit, "000.00.31.H21");
    r.area = area;
    r.scale = scale;
    r.score = score;
    r.followup = FOLLOWUP_NONE;
    snprintf(r.at, sizeof r.at, "%s", at);
    return r;
}

static Store *open_ok(const char *path)
{
    Store *s = NULL;
    char msg[512];
    StoreErr e = store_open(path, &s, msg, sizeof msg);
    if(e)
        fail_msg("store_open(%s) = %d: %s", path, e, msg);
    return s;
}

static StoreCounts counts(Store *s)
{
    StoreCounts c;
    assert_int_equal(store_counts(s, &c), STORE_OK);
    return c;
}

/* Runs a one-value query on the file with plain SQLite, as an outside observer. */
static void raw_text(const char *path, const char *sql, char *out, size_t cap)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, cap, "%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    char buf[64];
    raw_text(path, sql, buf, sizeof buf);
    return strtoll(buf, NULL, 10);
}

/* Acknowledges n ids as read at content version 1 (no follow-up saved since they were added). */
static StoreErr ack_v1(Store *s, const char *const *ids, size_t n, int64_t now)
{
    int64_t revs[16];
    assert_true(n <= 16);
    for(size_t i = 0; i < n; i++)
        revs[i] = 1;
    return store_mark_acked(s, ids, revs, n, now, NULL);
}

/* ---- Totals and follow-ups --------------------------------------------------------------------------- */

static void test_added_ratings_are_counted_on_their_vietnam_day(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating rs[] = {
        rating(1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00"),
        rating(2, AREA_DAT_DAI, SCALE_TTHC3, 2, "2026-11-23T09:00:00+07:00"),
        rating(3, AREA_DAT_DAI, SCALE_TTHC3, 1, "2026-11-23T10:00:00+07:00"),
        rating(4, AREA_Y_TE, SCALE_LIKERT5, 4, "2026-11-23T00:30:00+07:00"),
        rating(5, AREA_Y_TE, SCALE_LIKERT5, 3, "2026-11-22T17:00:00Z"),      /* 00:00 on the 23rd in VN */
        rating(6, AREA_Y_TE, SCALE_LIKERT5, 5, "2026-11-22T23:59:59+07:00"), /* the 22nd */
        rating(7, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T17:00:00Z"),     /* 00:00 on the 24th in VN */
        rating(8, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T10:00:05+07:00"),
        rating(9, AREA_XAY_DUNG, SCALE_TTHC3, 2, "2026-11-23T03:00:00Z"),
    };
    rs[7].flags = PROTO_FLAG_RAPID_REPEAT;
    for(size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
        assert_int_equal(store_add(s, &rs[i]), STORE_OK);
        assert_int_equal(rs[i].seq, (int64_t)i + 1);
    }

    StoreDayTotals t;
    assert_int_equal(store_day_totals(s, ptime_days_from_civil(2026, 11, 23), &t), STORE_OK);
    assert_int_equal(t.count[AREA_DAT_DAI][SCALE_TTHC3][3], 1);
    assert_int_equal(t.count[AREA_DAT_DAI][SCALE_TTHC3][2], 1);
    assert_int_equal(t.count[AREA_DAT_DAI][SCALE_TTHC3][1], 1);
    assert_int_equal(t.n[AREA_DAT_DAI], 3);
    assert_int_equal(t.satisfied[AREA_DAT_DAI], 2);
    assert_int_equal(t.flagged[AREA_DAT_DAI], 1);
    assert_int_equal(t.count[AREA_Y_TE][SCALE_LIKERT5][4], 1);
    assert_int_equal(t.count[AREA_Y_TE][SCALE_LIKERT5][3], 1);
    assert_int_equal(t.count[AREA_Y_TE][SCALE_LIKERT5][5], 0);
    assert_int_equal(t.n[AREA_Y_TE], 2);
    assert_int_equal(t.satisfied[AREA_Y_TE], 1);
    assert_int_equal(t.n[AREA_XAY_DUNG], 1);
    assert_int_equal(t.satisfied[AREA_XAY_DUNG], 1);
    assert_int_equal(t.n[AREA_GIAO_DUC], 0);
    assert_int_equal(t.total, 6);
    assert_int_equal(t.total_satisfied, 4);
    assert_int_equal(t.total_flagged, 1);

    assert_int_equal(store_day_totals(s, ptime_days_from_civil(2026, 11, 22), &t), STORE_OK);
    assert_int_equal(t.total, 1);
    assert_int_equal(t.count[AREA_Y_TE][SCALE_LIKERT5][5], 1);
    assert_int_equal(store_day_totals(s, ptime_days_from_civil(2026, 11, 24), &t), STORE_OK);
    assert_int_equal(t.total, 1);
    assert_int_equal(t.n[AREA_DAT_DAI], 1);
    assert_int_equal(store_day_totals(s, ptime_days_from_civil(2026, 11, 25), &t), STORE_OK);
    assert_int_equal(t.total + t.total_flagged, 0);
    store_close(s);
}

static void test_followup_is_recorded_once_on_a_not_satisfied_rating(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating bad = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 1, "2026-11-23T08:00:00+07:00");
    ProtoRating good = rating(2, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:01:00+07:00");
    assert_int_equal(store_add(s, &bad), STORE_OK);
    assert_int_equal(store_add(s, &good), STORE_OK);

    uint32_t why = (1u << REASON_CHO_DOI) | (1u << REASON_THU_TUC);
    assert_int_equal(store_set_followup(s, bad.id, FOLLOWUP_ANSWERED, why), STORE_OK);
    /* A satisfied rating gets no follow-up; reasons need "answered"; unknown ids are not found. */
    assert_int_equal(store_set_followup(s, good.id, FOLLOWUP_ANSWERED, why), STORE_INVALID);
    assert_int_equal(store_set_followup(s, bad.id, FOLLOWUP_SKIPPED, why), STORE_INVALID);
    assert_int_equal(store_set_followup(s, bad.id, FOLLOWUP_ANSWERED, 1u << 20), STORE_INVALID);
    assert_int_equal(store_set_followup(s, "0190163d-8e40-7abc-8def-0123456789ab", FOLLOWUP_SKIPPED, 0),
                     STORE_NOTFOUND);
    assert_int_equal(store_set_followup(s, "not-a-uuid", FOLLOWUP_SKIPPED, 0), STORE_INVALID);
    assert_true(strlen(store_errmsg(s)) > 0);

    ProtoRating out[4];
    size_t n;
    assert_int_equal(store_pending(s, out, 4, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].id, bad.id);
    assert_int_equal(out[0].followup, FOLLOWUP_ANSWERED);
    assert_int_equal(out[0].reasons, why);
    assert_int_equal(out[1].followup, FOLLOWUP_NONE);
    assert_int_equal(out[1].reasons, 0);

    /* An answer is given once, acknowledged or not; "none" is no answer. */
    assert_int_equal(store_set_followup(s, bad.id, FOLLOWUP_TIMEOUT, 0), STORE_INVALID);
    const char *ids[] = {bad.id};
    assert_int_equal(store_mark_acked(s, ids, (int64_t[]){2}, 1, 1795000000, NULL), STORE_OK);
    assert_int_equal(counts(s).acked, 1);
    assert_int_equal(store_set_followup(s, bad.id, FOLLOWUP_TIMEOUT, 0), STORE_INVALID);
    ProtoRating late = rating(3, AREA_DAT_DAI, SCALE_TTHC3, 1, "2026-11-23T08:02:00+07:00");
    assert_int_equal(store_add(s, &late), STORE_OK);
    assert_int_equal(store_set_followup(s, late.id, FOLLOWUP_NONE, 0), STORE_INVALID);
    store_close(s);
}

/* The answer of a rating the server already holds without it is not lost: the rating is queued again, as
 * new content, and the server accepts a follow-up added once (docs/protocol.md). */
static void test_followup_of_an_acknowledged_rating_queues_it_again(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating r = rating(1, AREA_Y_TE, SCALE_LIKERT5, 2, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add(s, &r), STORE_OK);
    StoreQueued q[2];
    size_t n;
    assert_int_equal(store_queue_next(s, 1795000000, q, 2, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(q[0].rev, 1);
    const char *ids[] = {r.id};
    assert_int_equal(store_mark_acked(s, ids, &q[0].rev, 1, 1795000000, NULL), STORE_OK);
    assert_int_equal(counts(s).pending, 0);

    assert_int_equal(store_set_followup(s, r.id, FOLLOWUP_SKIPPED, 0), STORE_OK);
    StoreCounts c = counts(s);
    assert_int_equal(c.pending, 1);
    assert_int_equal(c.acked, 0);
    assert_int_equal(store_queue_next(s, 1795000000, q, 2, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(q[0].rev, 2);
    assert_int_equal(q[0].r.followup, FOLLOWUP_SKIPPED);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM rating WHERE acked_at IS NULL"), 1);
    store_close(s);
}

/* The uploader acknowledges the content it sent: a mark for an older version leaves the rating pending,
 * whether it was to be acknowledged or rejected. */
static void test_marks_apply_only_to_the_content_version_that_was_sent(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating a = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 1, "2026-11-23T08:00:00+07:00");
    ProtoRating b = rating(2, AREA_DAT_DAI, SCALE_TTHC3, 1, "2026-11-23T08:00:09+07:00");
    ProtoRating c = rating(3, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:19+07:00");
    assert_int_equal(store_add(s, &a), STORE_OK);
    assert_int_equal(store_add(s, &b), STORE_OK);
    assert_int_equal(store_add(s, &c), STORE_OK);
    StoreQueued q[3];
    size_t n;
    assert_int_equal(store_queue_next(s, 1795000000, q, 3, &n), STORE_OK);
    assert_int_equal(n, 3);
    /* Both answers are saved while the batch is in flight. */
    assert_int_equal(store_set_followup(s, a.id, FOLLOWUP_ANSWERED, 1u << REASON_THAI_DO), STORE_OK);
    assert_int_equal(store_set_followup(s, b.id, FOLLOWUP_TIMEOUT, 0), STORE_OK);
    const char *ids[] = {a.id, c.id};
    int64_t revs[] = {q[0].rev, q[2].rev};
    size_t changed = 99;
    assert_int_equal(store_mark_acked(s, ids, revs, 2, 1795000000, &changed), STORE_OK);
    assert_int_equal(changed, 1);
    bool ch = false;
    assert_int_equal(store_mark_rejected(s, b.id, q[1].rev, "conflict", 1795000000, &ch), STORE_OK);
    assert_true(ch);
    StoreCounts k = counts(s);
    assert_int_equal(k.acked, 1);
    assert_int_equal(k.rejected, 0);
    assert_int_equal(k.pending, 2);
    /* Read again, they carry their answers and the new version, and those marks apply. */
    assert_int_equal(store_queue_next(s, 1795000000, q, 3, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(q[0].r.id, a.id);
    assert_int_equal(q[0].r.followup, FOLLOWUP_ANSWERED);
    assert_int_equal(q[0].rev, 2);
    const char *again[] = {a.id, b.id};
    int64_t now_revs[] = {q[0].rev, q[1].rev};
    assert_int_equal(store_mark_acked(s, again, now_revs, 2, 1795000100, &changed), STORE_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(counts(s).acked, 3);
    store_close(s);
}

/* A rating added while its follow-up screen opens is held from the upload queue until the answer is saved
 * or the app says no screen is open; store_pending (for inspection) still lists it. */
static void test_rating_asking_its_followup_is_held_from_the_queue(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    int64_t now = 1795000000;
    char at[PTIME_TEXT_MAX];
    ptime_format(now - 30, PTIME_VN_OFFSET_MIN, at);
    ProtoRating held = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 1, at), other = rating(2, AREA_KHAC, SCALE_TTHC3, 3, at);
    assert_int_equal(store_add_asking(s, &held), STORE_OK);
    assert_int_equal(store_add(s, &other), STORE_OK);
    StoreQueued q[2];
    size_t n;
    int64_t h = -1;
    assert_int_equal(store_queue_next(s, now, q, 2, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(q[0].r.id, other.id);
    assert_int_equal(store_queue_held(s, now, INT64_MAX, &h), STORE_OK);
    assert_int_equal(h, 1);
    assert_int_equal(store_queue_held(s, now, now - 30, &h), STORE_OK); /* made before: none */
    assert_int_equal(h, 0);
    ProtoRating all[2];
    assert_int_equal(store_pending(s, all, 2, &n), STORE_OK);
    assert_int_equal(n, 2);
    /* Past STORE_HOLD_MAX_S it is released, whatever the mark says. */
    assert_int_equal(store_queue_next(s, now + STORE_HOLD_MAX_S, q, 2, &n), STORE_OK);
    assert_int_equal(n, 2);
    /* The answer ends the hold. */
    assert_int_equal(store_set_followup(s, held.id, FOLLOWUP_SKIPPED, 0), STORE_OK);
    assert_int_equal(store_queue_next(s, now, q, 2, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(q[0].r.followup, FOLLOWUP_SKIPPED);
    /* So does the app's start: no screen can be open then. */
    ProtoRating again = rating(3, AREA_DAT_DAI, SCALE_TTHC3, 1, at);
    assert_int_equal(store_add_asking(s, &again), STORE_OK);
    assert_int_equal(store_queue_held(s, now, INT64_MAX, &h), STORE_OK);
    assert_int_equal(h, 1);
    assert_int_equal(store_followups_closed(s), STORE_OK);
    assert_int_equal(store_queue_held(s, now, INT64_MAX, &h), STORE_OK);
    assert_int_equal(h, 0);
    store_close(s);
}

/* The counter's later questions: each answer is saved as its screen closes, the rating stays held while
 * more questions are on screen, each answer is given once, and the queue hands out the complete rating. */
static void test_later_answers_are_saved_one_by_one_and_held_until_the_last(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    int64_t now = 1795000000, h = -1;
    char at[PTIME_TEXT_MAX];
    ptime_format(now - 30, PTIME_VN_OFFSET_MIN, at);
    ProtoRating r = rating(1, AREA_XAY_DUNG, SCALE_TTHC3, 3, at); /* satisfied with the procedure */
    assert_int_equal(store_add_asking(s, &r), STORE_OK);
    StoreQueued q[2];
    size_t n;
    /* The service face: not satisfied, so the reasons come next; still on screen. */
    ProtoRating a = r;
    a.service_score = 1;
    assert_int_equal(store_set_answers(s, &a, true), STORE_OK);
    a.followup = FOLLOWUP_ANSWERED;
    a.reasons = 1u << REASON_THAI_DO;
    assert_int_equal(store_set_answers(s, &a, true), STORE_OK);
    a.respondent = RESPONDENT_DOANH_NGHIEP;
    assert_int_equal(store_set_answers(s, &a, true), STORE_OK);
    assert_int_equal(store_queue_held(s, now, INT64_MAX, &h), STORE_OK);
    assert_int_equal(h, 1);
    assert_int_equal(store_queue_next(s, now, q, 2, &n), STORE_OK);
    assert_int_equal(n, 0);
    /* An answer once given never changes: refused, nothing written, still held. */
    ProtoRating changed = a;
    changed.respondent = RESPONDENT_TO_CHUC;
    assert_int_equal(store_set_answers(s, &changed, false), STORE_INVALID);
    changed = a;
    changed.service_score = 0; /* lacking one the store has */
    assert_int_equal(store_set_answers(s, &changed, false), STORE_INVALID);
    ProtoRating bad = a; /* an answer the protocol refuses */
    bad.wait = (ProtoWait)9;
    assert_int_equal(store_set_answers(s, &bad, false), STORE_INVALID);
    assert_int_equal(store_queue_held(s, now, INT64_MAX, &h), STORE_OK);
    assert_int_equal(h, 1);
    /* The last one ends the hold; the fields fixed at the tap come from the store, whatever the copy says. */
    a.wait = WAIT_TREN_30;
    a.score = 1;
    a.seq = 99;
    assert_int_equal(store_set_answers(s, &a, false), STORE_OK);
    assert_int_equal(store_queue_next(s, now, q, 2, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(q[0].rev, 5); /* 1 at the tap, one per answer */
    assert_int_equal(q[0].r.score, 3);
    assert_int_equal(q[0].r.seq, r.seq);
    assert_int_equal(q[0].r.service_score, 1);
    assert_int_equal(q[0].r.followup, FOLLOWUP_ANSWERED);
    assert_int_equal(q[0].r.reasons, 1u << REASON_THAI_DO);
    assert_int_equal(q[0].r.respondent, RESPONDENT_DOANH_NGHIEP);
    assert_int_equal(q[0].r.wait, WAIT_TREN_30);
    /* Skipped questions save nothing new: the last call only ends the hold, the version stays. */
    ProtoRating b = rating(2, AREA_KHAC, SCALE_TTHC3, 2, at);
    assert_int_equal(store_add_asking(s, &b), STORE_OK);
    assert_int_equal(store_set_answers(s, &b, false), STORE_OK);
    assert_int_equal(store_queue_next(s, now, q, 2, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(q[1].rev, 1);
    assert_false(proto_rating_needs_schema2(&q[1].r));
    /* An acknowledged rating that gains a late answer goes back to the queue. */
    const char *ids[] = {q[1].r.id};
    int64_t revs[] = {1};
    assert_int_equal(store_mark_acked(s, ids, revs, 1, now, NULL), STORE_OK);
    b.wait = WAIT_DUOI_15;
    assert_int_equal(store_set_answers(s, &b, false), STORE_OK);
    assert_int_equal(counts(s).pending, 2);
    ProtoRating none = rating(3, AREA_KHAC, SCALE_TTHC3, 2, at);
    assert_int_equal(store_set_answers(s, &none, false), STORE_NOTFOUND);
    store_close(s);
}

/* The supervisor's day: the service face (phuc_vu) and "waited within 30 minutes" of unflagged ratings that
 * answered them, any area. */
static void test_day_totals_count_service_and_wait_answers(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    static const struct { int score, service; ProtoWait wait; bool flagged; } R[] = {
        {3, 3, WAIT_DUOI_15, false}, {2, 1, WAIT_15_30, false}, {1, 2, WAIT_TREN_30, false},
        {3, 0, WAIT_NONE, false},    {3, 3, WAIT_DUOI_15, true}, {2, 2, WAIT_NONE, false},
    };
    for(size_t i = 0; i < sizeof R / sizeof R[0]; i++) {
        ProtoRating r = rating((int)i + 1, i % 2 ? AREA_Y_TE : AREA_DAT_DAI, SCALE_TTHC3, R[i].score,
                               "2026-11-23T09:00:00+07:00");
        r.service_score = R[i].service;
        r.wait = R[i].wait;
        r.flags = R[i].flagged ? PROTO_FLAG_RAPID_REPEAT : 0;
        assert_int_equal(store_add(s, &r), STORE_OK);
    }
    StoreDayTotals t;
    assert_int_equal(store_day_totals(s, ptime_days_from_civil(2026, 11, 23), &t), STORE_OK);
    assert_int_equal(t.total, 5);
    assert_int_equal(t.service_n, 4);          /* not the unanswered one, not the flagged one */
    assert_int_equal(t.service_satisfied, 3);  /* 3, 2, 2 */
    assert_int_equal(t.service_count[SCALE_TTHC3][1], 1);
    assert_int_equal(t.service_count[SCALE_TTHC3][2], 2);
    assert_int_equal(t.wait_n, 3);
    assert_int_equal(t.wait_within_30, 2);
    assert_int_equal(t.wait_count[WAIT_TREN_30], 1);
    store_close(s);
}

/* ---- Upload bookkeeping ------------------------------------------------------------------------------ */

static void test_pending_oldest_first_then_acked_are_no_longer_pending(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating r[5];
    for(int i = 0; i < 5; i++) {
        char at[PTIME_TEXT_MAX];
        snprintf(at, sizeof at, "2026-11-23T08:0%d:00+07:00", i);
        r[i] = rating(10 + i, AREA_DAU_TU, SCALE_LIKERT5, 1 + i, at);
        assert_int_equal(store_add(s, &r[i]), STORE_OK);
    }
    StoreCounts c = counts(s);
    assert_int_equal(c.pending, 5);
    assert_int_equal(c.acked, 0);

    ProtoRating out[5];
    size_t n = 99;
    assert_int_equal(store_pending(s, out, 3, &n), STORE_OK);
    assert_int_equal(n, 3);
    for(int i = 0; i < 3; i++) {
        assert_string_equal(out[i].id, r[i].id);
        assert_int_equal(out[i].seq, i + 1);
        assert_int_equal(out[i].score, 1 + i);
        assert_string_equal(out[i].at, r[i].at);
        assert_string_equal(out[i].unit, "000.00.31.H21");
        assert_int_equal(out[i].area, AREA_DAU_TU);
        assert_int_equal(out[i].scale, SCALE_LIKERT5);
    }

    const char *ids[] = {r[0].id, r[1].id, "0190163d-8e40-7abc-8def-0123456789ab", "junk"};
    assert_int_equal(ack_v1(s, ids, 4, 1795000000), STORE_OK);
    c = counts(s);
    assert_int_equal(c.pending, 3);
    assert_int_equal(c.acked, 2);
    assert_int_equal(store_pending(s, out, 5, &n), STORE_OK);
    assert_int_equal(n, 3);
    assert_string_equal(out[0].id, r[2].id);
    assert_string_equal(out[2].id, r[4].id);
    /* Acking again changes nothing. */
    assert_int_equal(ack_v1(s, ids, 2, 1795000999), STORE_OK);
    assert_int_equal(counts(s).acked, 2);
    assert_int_equal(raw_int(f->path, "SELECT max(acked_at) FROM rating"), 1795000000);
    store_close(s);
}

static void test_rejected_rating_keeps_its_reason_and_leaves_pending(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating a = rating(1, AREA_KHAC, SCALE_TTHC3, 2, "2026-11-23T08:00:00+07:00");
    ProtoRating b = rating(2, AREA_KHAC, SCALE_TTHC3, 2, "2026-11-23T08:00:01+07:00");
    ProtoRating c = rating(3, AREA_KHAC, SCALE_TTHC3, 2, "2026-11-23T08:00:02+07:00");
    assert_int_equal(store_add(s, &a), STORE_OK);
    assert_int_equal(store_add(s, &b), STORE_OK);
    assert_int_equal(store_add(s, &c), STORE_OK);
    assert_int_equal(store_mark_rejected(s, a.id, 1, "conflict", 1795000000, NULL), STORE_OK);
    assert_int_equal(store_mark_rejected(s, c.id, 1, "score_out_of_range", 1795000100, NULL), STORE_OK);
    assert_int_equal(store_mark_rejected(s, c.id, 1, "conflict", 1795000200, NULL), STORE_NOTFOUND);
    assert_int_equal(store_mark_rejected(s, b.id, 1, "", 1795000200, NULL), STORE_INVALID);

    StoreCounts n = counts(s);
    assert_int_equal(n.pending, 1);
    assert_int_equal(n.rejected, 2);
    int64_t pending = -1, rejected = -1;
    assert_int_equal(store_backlog(s, &pending, &rejected), STORE_OK);
    assert_int_equal(pending, 1);
    assert_int_equal(rejected, 2);
    StoreRejected rej[4];
    size_t k;
    assert_int_equal(store_rejected(s, rej, 4, &k), STORE_OK);
    assert_int_equal(k, 2);
    assert_string_equal(rej[0].id, c.id); /* newest first */
    assert_string_equal(rej[0].reason, "score_out_of_range");
    assert_int_equal(rej[0].seq, 3);
    assert_string_equal(rej[0].at, "2026-11-23T08:00:02+07:00");
    assert_int_equal(rej[0].area, AREA_KHAC);
    assert_int_equal(rej[0].scale, SCALE_TTHC3);
    assert_int_equal(rej[0].score, 2);
    assert_int_equal(rej[0].rejected_at, 1795000100);
    assert_string_equal(rej[1].id, a.id);
    assert_string_equal(rej[1].reason, "conflict");
    ProtoRating out[3];
    assert_int_equal(store_pending(s, out, 3, &k), STORE_OK);
    assert_int_equal(k, 1);
    assert_string_equal(out[0].id, b.id);
    store_close(s);
}

/* The server was restored from a backup holding what it received up to `since`: what was acknowledged from a
 * day before that on is queued again, once per restore; older acknowledged, pending and rejected ones stay. */
static void test_a_server_restore_queues_again_what_it_may_lack_once(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating a = rating(1, AREA_KHAC, SCALE_TTHC3, 3, "2026-11-01T08:00:00+07:00");
    ProtoRating b = rating(2, AREA_KHAC, SCALE_TTHC3, 3, "2026-11-20T08:00:00+07:00");
    ProtoRating c = rating(3, AREA_KHAC, SCALE_TTHC3, 3, "2026-11-22T08:00:00+07:00");
    ProtoRating d = rating(4, AREA_KHAC, SCALE_TTHC3, 2, "2026-11-22T08:00:01+07:00");
    for(ProtoRating *r = &a; r; r = r == &a ? &b : r == &b ? &c : r == &c ? &d : NULL)
        assert_int_equal(store_add(s, r), STORE_OK);
    const int64_t nov2 = 1793577600, since = 1794268800 /* 2026-11-10 */, nov21 = 1795219200;
    assert_int_equal(ack_v1(s, (const char *[]){a.id}, 1, nov2), STORE_OK);
    assert_int_equal(ack_v1(s, (const char *[]){b.id}, 1, nov21), STORE_OK);
    assert_int_equal(store_mark_rejected(s, d.id, 1, "conflict", nov21, NULL), STORE_OK);

    int64_t n = -1;
    assert_int_equal(store_server_restored(s, 77, since, &n), STORE_OK);
    assert_int_equal(n, 1); /* b only */
    StoreCounts k = counts(s);
    assert_int_equal(k.pending, 2);
    assert_int_equal(k.acked, 1);
    assert_int_equal(k.rejected, 1);
    ProtoRating out[4];
    size_t m;
    assert_int_equal(store_pending(s, out, 4, &m), STORE_OK);
    assert_int_equal(m, 2);
    assert_string_equal(out[0].id, b.id);
    assert_string_equal(out[1].id, c.id);

    /* Sent again and acknowledged: the same restore named by every later reply changes nothing. */
    assert_int_equal(ack_v1(s, (const char *[]){b.id, c.id}, 2, nov21 + 60), STORE_OK);
    assert_int_equal(store_server_restored(s, 77, since, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(counts(s).pending, 0);
    store_close(s);
    /* Across a restart too; a later restore (another epoch) counts again. */
    s = open_ok(f->path);
    assert_int_equal(store_server_restored(s, 77, since, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_server_restored(s, 78, since, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(store_server_restored(s, 0, since, &n), STORE_INVALID);
    store_close(s);
}

/* Acknowledges everything queued at `now`, as the uploader would after a clean run. */
static void ack_queue(Store *s, int64_t now)
{
    static StoreQueued q[500];
    const char *ids[500];
    int64_t revs[500];
    size_t n;
    do {
        assert_int_equal(store_queue_next(s, now, q, 500, &n), STORE_OK);
        for(size_t i = 0; i < n; i++) {
            ids[i] = q[i].r.id;
            revs[i] = q[i].rev;
        }
        assert_int_equal(store_mark_acked(s, ids, revs, n, now, NULL), STORE_OK);
    } while(n > 0);
}

static void test_prune_deletes_only_old_acknowledged_ratings(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    int64_t today = ptime_days_from_civil(2026, 11, 23), now = ptime_vn_day_start(today) + 12 * 3600;
    int64_t first = 0;
    bool pruned = true;
    assert_int_equal(store_history(s, now, &first, &pruned), STORE_OK);
    assert_int_equal(first, today); /* nothing stored yet */
    assert_false(pruned);

    /* 1,200 ratings from September (more than two prune transactions' worth), one on the last day kept. */
    enum { OLD = 1200 };
    static ProtoRating old[OLD];
    for(int i = 0; i < OLD; i++) {
        char at[PTIME_TEXT_MAX];
        ptime_format(ptime_vn_day_start(ptime_days_from_civil(2026, 9, 1)) + 8 * 3600 + i * 300,
                     PTIME_VN_OFFSET_MIN, at);
        old[i] = rating(i, AREA_DAT_DAI, SCALE_TTHC3, 1 + i % 3, at);
        old[i].followup = old[i].score == 1 ? FOLLOWUP_SKIPPED : FOLLOWUP_NONE;
    }
    assert_int_equal(store_add_many(s, old, OLD), STORE_OK);
    ProtoRating edge = rating(5000, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-10-24T00:00:00+07:00"); /* today - 30 */
    ProtoRating recent = rating(5001, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-20T08:00:00+07:00");
    assert_int_equal(store_add(s, &edge), STORE_OK);
    assert_int_equal(store_add(s, &recent), STORE_OK);
    ack_queue(s, now);
    /* Never pruned, however old: one pending, one rejected. */
    ProtoRating pending = rating(5002, AREA_KHAC, SCALE_TTHC3, 3, "2025-01-05T08:00:00+07:00");
    ProtoRating refused = rating(5003, AREA_KHAC, SCALE_TTHC3, 3, "2025-01-05T09:00:00+07:00");
    assert_int_equal(store_add(s, &pending), STORE_OK);
    assert_int_equal(store_add(s, &refused), STORE_OK);
    assert_int_equal(store_mark_rejected(s, refused.id, 1, "unit_mismatch", now, NULL), STORE_OK);
    assert_int_equal(store_history(s, now, &first, &pruned), STORE_OK);
    assert_int_equal(first, ptime_days_from_civil(2025, 1, 5));
    assert_false(pruned);
    store_close(s);
    int64_t pages_before = raw_int(f->path, "PRAGMA page_count");

    s = open_ok(f->path);
    int64_t deleted = -1;
    assert_int_equal(store_prune(s, -1, now, &deleted), STORE_INVALID);
    assert_int_equal(store_prune(s, 30, now, &deleted), STORE_OK);
    assert_int_equal(deleted, OLD);
    StoreCounts c = counts(s);
    assert_int_equal(c.acked, 2);
    assert_int_equal(c.pending, 1);
    assert_int_equal(c.rejected, 1);
    StoreDayTotals t;
    assert_int_equal(store_day_totals(s, ptime_days_from_civil(2026, 10, 24), &t), STORE_OK);
    assert_int_equal(t.total, 1);
    /* The supervisor's history now starts at the prune limit. */
    assert_int_equal(store_history(s, now, &first, &pruned), STORE_OK);
    assert_int_equal(first, today - 30);
    assert_true(pruned);
    /* Again: nothing more to do, and the limit never moves back. */
    assert_int_equal(store_prune(s, 30, now, &deleted), STORE_OK);
    assert_int_equal(deleted, 0);
    assert_int_equal(store_prune(s, 400, now, &deleted), STORE_OK);
    assert_int_equal(store_history(s, now, &first, &pruned), STORE_OK);
    assert_int_equal(first, today - 30);
    /* seq never repeats, though the rows that used them are gone. */
    ProtoRating more = rating(6000, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T09:00:00+07:00");
    assert_int_equal(store_add(s, &more), STORE_OK);
    assert_int_equal(more.seq, OLD + 5);
    store_close(s);
    /* The freed pages went back to the file system (a new store is made with incremental auto-vacuum). */
    assert_int_equal(raw_int(f->path, "PRAGMA auto_vacuum"), 2);
    assert_int_equal(raw_int(f->path, "PRAGMA freelist_count"), 0);
    int64_t pages_after = raw_int(f->path, "PRAGMA page_count");
    print_message("prune: %lld pages before, %lld after\n", (long long)pages_before, (long long)pages_after);
    assert_true(pages_after * 3 < pages_before);
}

/* ---- Schema, re-open, refusals ----------------------------------------------------------------------- */

static void test_new_file_is_migrated_and_seq_continues_after_reopen(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    StoreCounts c = counts(s);
    assert_int_equal(c.pending + c.acked + c.rejected, 0);
    ProtoRating a = rating(1, AREA_GIAO_DUC, SCALE_LIKERT5, 5, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add(s, &a), STORE_OK);
    assert_int_equal(a.seq, 1);
    store_close(s);

    char mode[16];
    raw_text(f->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 3);

    s = open_ok(f->path);
    ProtoRating b = rating(2, AREA_GIAO_DUC, SCALE_LIKERT5, 4, "2026-11-23T08:00:01+07:00");
    assert_int_equal(store_add(s, &b), STORE_OK);
    assert_int_equal(b.seq, 2);
    assert_int_equal(counts(s).pending, 2);
    store_close(s);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 3);

    /* An empty (zero-byte) file is a new store too. */
    char empty[400];
    snprintf(empty, sizeof empty, "%s/empty.db", f->dir);
    int fd = open(empty, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    close(fd);
    s = open_ok(empty);
    assert_int_equal(counts(s).pending, 0);
    store_close(s);
    assert_int_equal(raw_int(empty, "PRAGMA user_version"), 3);
}

/* Copies tests/data/store-v<version>.sqlite (written by that release) to the fixture's path and opens it:
 * it is migrated to the current schema. */
static Store *open_old_release(Fixture *f, int version)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp %s/tests/data/store-v%d.sqlite %s", TEST_SOURCE_DIR, version, f->path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), version);
    Store *s = open_ok(f->path);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 3);
    return s;
}

/* A file written by the first released store (schema v1: tests/data/store-v1.sqlite, 60 ratings from
 * kiosk-sim, 30 acknowledged, 2 rejected, a sync status) opens, migrates, and carries on. */
static void test_a_version_1_file_is_migrated_and_keeps_everything(void **state)
{
    Fixture *f = *state;
    Store *s = open_old_release(f, 1);
    StoreCounts c = counts(s);
    assert_int_equal(c.acked, 30);
    assert_int_equal(c.pending, 28);
    assert_int_equal(c.rejected, 2);
    StoreSyncStatus st;
    assert_int_equal(store_sync_status_get(s, &st), STORE_OK);
    assert_int_equal(st.last_success, 1795000100);
    /* Every old rating is content version 1 and held by nothing: the queue hands out all 28, oldest first. */
    static StoreQueued q[40];
    size_t n;
    assert_int_equal(store_queue_next(s, 1795000000, q, 40, &n), STORE_OK);
    assert_int_equal(n, 28);
    assert_int_equal(q[0].r.seq, 33);
    for(size_t i = 0; i < n; i++)
        assert_int_equal(q[i].rev, 1);
    StoreRejected rej[4];
    assert_int_equal(store_rejected(s, rej, 4, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rej[0].reason, "unit_mismatch");
    int64_t first;
    bool pruned;
    assert_int_equal(store_history(s, 1795000000, &first, &pruned), STORE_OK);
    assert_int_equal(first, ptime_days_from_civil(2026, 11, 16));
    assert_false(pruned);
    ProtoRating r = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-19T08:00:00+07:00");
    assert_int_equal(store_add(s, &r), STORE_OK);
    assert_int_equal(r.seq, 61);
    /* Pruning works on the old file too (it cannot shrink it: it was made without auto-vacuum). */
    int64_t gone = 0;
    assert_int_equal(store_prune(s, 30, 1795000000 + 60 * 86400, &gone), STORE_OK);
    assert_int_equal(gone, 30);
    store_close(s);
    assert_int_equal(raw_int(f->path, "PRAGMA auto_vacuum"), 0);
}

/* A file written by the second release (schema v2: tests/data/store-v2.sqlite, 40 ratings from kiosk-sim,
 * 20 acknowledged, 1 rejected, one rating held for its open reasons screen, one answered after the tap,
 * written through that release's store.h) opens at v3 and carries on: every old rating has no later answers,
 * versions and holds are kept, and the later questions' answers can be saved on the old ratings. */
static void test_a_version_2_file_is_migrated_and_keeps_everything(void **state)
{
    Fixture *f = *state;
    Store *s = open_old_release(f, 2);
    StoreCounts c = counts(s);
    assert_int_equal(c.acked, 20);
    assert_int_equal(c.pending, 21);
    assert_int_equal(c.rejected, 1);
    int64_t now = 1795000000, held = 0;
    assert_int_equal(store_queue_held(s, now, INT64_MAX, &held), STORE_OK);
    assert_int_equal(held, 1);
    static StoreQueued q[40];
    size_t n;
    assert_int_equal(store_queue_next(s, now, q, 40, &n), STORE_OK);
    assert_int_equal(n, 20);
    const StoreQueued *answered = &q[n - 1];
    assert_string_equal(answered->r.id, "0194aaaa-0000-7000-8000-000000000002");
    assert_int_equal(answered->rev, 2);
    assert_int_equal(answered->r.reasons, 1u << REASON_THAI_DO);
    for(size_t i = 0; i < n; i++) {
        assert_false(proto_rating_needs_schema2(&q[i].r));
        ProtoError pe;
        assert_int_equal(proto_rating_validate(&q[i].r, &pe), PROTO_OK);
    }
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM rating WHERE service_score IS NOT NULL"
                                      " OR respondent IS NOT NULL OR wait IS NOT NULL"), 0);
    /* The held one gets its later answers and is released. */
    ProtoRating r = {.id = "0194aaaa-0000-7000-8000-000000000001", .followup = FOLLOWUP_SKIPPED,
                     .respondent = RESPONDENT_NGUOI_DAN, .wait = WAIT_DUOI_15};
    assert_int_equal(store_set_answers(s, &r, false), STORE_OK);
    assert_int_equal(store_queue_next(s, now, q, 40, &n), STORE_OK);
    assert_int_equal(n, 21);
    assert_string_equal(q[n - 2].r.id, r.id); /* by seq: it was made just before the answered one */
    assert_int_equal(q[n - 2].r.followup, FOLLOWUP_SKIPPED);
    assert_int_equal(q[n - 2].r.respondent, RESPONDENT_NGUOI_DAN);
    assert_int_equal(q[n - 2].r.wait, WAIT_DUOI_15);
    assert_int_equal(q[n - 2].rev, 2);
    store_close(s);
}

static void test_newer_schema_is_refused(void **state)
{
    Fixture *f = *state;
    store_close(open_ok(f->path));
    raw_exec(f->path, "PRAGMA user_version = 99");
    Store *s = NULL;
    char msg[512];
    assert_int_equal(store_open(f->path, &s, msg, sizeof msg), STORE_IO);
    assert_null(s);
    assert_non_null(strstr(msg, "newer"));
}

static void test_duplicate_id_is_refused_and_nothing_changes(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating a = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add(s, &a), STORE_OK);
    ProtoRating again = rating(1, AREA_Y_TE, SCALE_TTHC3, 1, "2026-11-23T09:00:00+07:00");
    /* Upper case is the same id. */
    for(char *p = again.id; *p; p++)
        if(*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    again.seq = 0;
    assert_int_equal(store_add(s, &again), STORE_INVALID);
    assert_int_equal(again.seq, 0);
    assert_non_null(strstr(store_errmsg(s), "already stored"));
    assert_int_equal(counts(s).pending, 1);
    StoreDayTotals t;
    assert_int_equal(store_day_totals(s, ptime_days_from_civil(2026, 11, 23), &t), STORE_OK);
    assert_int_equal(t.total, 1);
    assert_int_equal(t.n[AREA_Y_TE], 0);
    /* The refused add did not use up a seq. */
    ProtoRating b = rating(2, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add(s, &b), STORE_OK);
    assert_int_equal(b.seq, 2);
    store_close(s);
}

static void test_invalid_rating_is_refused_and_nothing_is_stored(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating ok = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    ProtoRating bad[8];
    for(int i = 0; i < 8; i++)
        bad[i] = ok;
    bad[0].score = 4;                                 /* outside tthc3 */
    bad[1].area = AREA_COUNT;                         /* unknown area */
    snprintf(bad[2].id, sizeof bad[2].id, "0190163d-8e40-7abc-8def-0123456789"); /* short */
    snprintf(bad[3].at, sizeof bad[3].at, "2026-11-23 08:00:00");               /* no offset */
    bad[4].unit[0] = '\0';
    bad[5].flags = 0x80;
    bad[6].followup = FOLLOWUP_ANSWERED;              /* satisfied ratings have no follow-up */
    bad[7].scale = SCALE_LIKERT5, bad[7].score = 0;
    for(int i = 0; i < 8; i++) {
        assert_int_equal(store_add(s, &bad[i]), STORE_INVALID);
        assert_true(strlen(store_errmsg(s)) > 0);
    }
    assert_int_equal(store_add(s, NULL), STORE_INVALID);
    StoreCounts c = counts(s);
    assert_int_equal(c.pending + c.acked + c.rejected, 0);
    assert_int_equal(raw_int(f->path, "SELECT value FROM meta WHERE key = 'last_seq'"), 0);

    /* All or nothing for a batch: one bad rating keeps the good ones out too. */
    ProtoRating batch[3] = {ok, rating(2, AREA_DAT_DAI, SCALE_TTHC3, 1, "2026-11-23T08:00:00+07:00"), bad[0]};
    assert_int_equal(store_add_many(s, batch, 3), STORE_INVALID);
    assert_non_null(strstr(store_errmsg(s), "rating 3 of 3"));
    assert_int_equal(counts(s).pending, 0);
    assert_int_equal(store_add_many(s, batch, 2), STORE_OK);
    assert_int_equal(batch[0].seq, 1);
    assert_int_equal(batch[1].seq, 2);
    assert_int_equal(counts(s).pending, 2);
    store_close(s);
}

static void test_garbage_file_is_corrupt(void **state)
{
    Fixture *f = *state;
    int fd = open(f->path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    unsigned char junk[8192];
    for(size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    Store *s = (Store *)1;
    char msg[512] = "";
    assert_int_equal(store_open(f->path, &s, msg, sizeof msg), STORE_CORRUPT);
    assert_null(s);
    assert_true(strlen(msg) > 0);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_size, (off_t)sizeof junk); /* left as it was */
}

static void test_foreign_sqlite_file_is_not_a_store(void **state)
{
    Fixture *f = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    Store *s = NULL;
    char msg[512];
    assert_int_equal(store_open(f->path, &s, msg, sizeof msg), STORE_CORRUPT);
    assert_non_null(strstr(msg, "not a kiosk store"));
}

static void test_damaged_page_fails_the_open_check(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    ProtoRating r[300];
    for(int i = 0; i < 300; i++)
        r[i] = rating(i, AREA_DAT_DAI, SCALE_TTHC3, 1 + i % 3, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add_many(s, r, 300), STORE_OK);
    store_close(s); /* the last close checkpoints the WAL into the main file */

    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_true(sb.st_size >= 8 * 4096);
    int fd = open(f->path, O_WRONLY);
    assert_true(fd >= 0);
    unsigned char junk[4096];
    memset(junk, 0xA5, sizeof junk);
    assert_int_equal(pwrite(fd, junk, sizeof junk, sb.st_size - 2 * 4096), (ssize_t)sizeof junk);
    close(fd);

    char msg[512];
    assert_int_equal(store_open(f->path, &s, msg, sizeof msg), STORE_CORRUPT);
    assert_null(s);
}

/* ---- Two handles on one file ------------------------------------------------------------------------- */

static void test_two_handles_interleave_writes(void **state)
{
    Fixture *f = *state;
    Store *ui = open_ok(f->path), *sync = open_ok(f->path);
    char ids[20][UUID_TEXT_LEN];
    for(int i = 0; i < 20; i++) {
        ProtoRating r = rating(i, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
        assert_int_equal(store_add(i % 2 ? sync : ui, &r), STORE_OK);
        assert_int_equal(r.seq, i + 1);
        memcpy(ids[i], r.id, UUID_TEXT_LEN);
        if(i % 5 == 4) { /* the uploader acknowledges what it read while the UI keeps adding */
            ProtoRating p[3];
            size_t n;
            assert_int_equal(store_pending(sync, p, 3, &n), STORE_OK);
            assert_int_equal(n, 3);
            const char *ack[3] = {p[0].id, p[1].id, p[2].id};
            assert_int_equal(ack_v1(sync, ack, 3, 1795000000), STORE_OK);
        }
    }
    StoreCounts a = counts(ui), b = counts(sync);
    assert_int_equal(a.acked, 12);
    assert_int_equal(a.pending, 8);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(store_sync_request(ui, 1795000500), STORE_OK);
    int64_t req = 0;
    assert_int_equal(store_sync_requested(sync, &req), STORE_OK);
    assert_int_equal(req, 1795000500);
    store_close(ui);
    store_close(sync);
}

static void *release_lock(void *arg)
{
    sqlite3 *db = arg;
    usleep(300 * 1000);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

static void test_add_waits_for_another_writer_instead_of_failing(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_lock, other), 0);
    ProtoRating r = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add(s, &r), STORE_OK);
    pthread_join(t, NULL);
    sqlite3_close(other);
    assert_int_equal(counts(s).pending, 1);
    store_close(s);
}

static void test_writer_holding_the_lock_past_the_timeout_gives_busy(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ProtoRating r = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add(s, &r), STORE_BUSY); /* after STORE_BUSY_TIMEOUT_MS */
    assert_true(strlen(store_errmsg(s)) > 0);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(counts(s).pending, 0);
    assert_int_equal(store_add(s, &r), STORE_OK);
    assert_int_equal(r.seq, 1);
    store_close(s);
}

static void test_two_processes_add_concurrently_without_losing_or_repeating(void **state)
{
    Fixture *f = *state;
    store_close(open_ok(f->path));
    enum { PER_CHILD = 60 };
    pid_t kids[2];
    for(int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if(kids[k] == 0) {
            Store *s = NULL;
            char msg[256];
            if(store_open(f->path, &s, msg, sizeof msg))
                _exit(2);
            for(int i = 0; i < PER_CHILD; i++) {
                ProtoRating r = rating(1000 * (k + 1) + i, AREA_DAT_DAI, SCALE_TTHC3, 2, "2026-11-23T08:00:00+07:00");
                if(store_add(s, &r))
                    _exit(3);
            }
            store_close(s);
            _exit(0);
        }
    }
    for(int k = 0; k < 2; k++) {
        int st;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM rating"), 2 * PER_CHILD);
    assert_int_equal(raw_int(f->path, "SELECT count(DISTINCT seq) FROM rating"), 2 * PER_CHILD);
    assert_int_equal(raw_int(f->path, "SELECT max(seq) FROM rating"), 2 * PER_CHILD);
}

/* ---- Status, request, recent ------------------------------------------------------------------------- */

static void test_sync_status_and_request_round_trip(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    StoreSyncStatus st;
    assert_int_equal(store_sync_status_get(s, &st), STORE_OK);
    assert_int_equal(st.last_attempt, 0);
    assert_string_equal(st.last_error, "");
    StoreSyncStatus put = {.last_attempt = 100, .last_success = 90, .next_attempt = 160, .failures = 3,
                           .clock_skew_s = -42};
    snprintf(put.last_error, sizeof put.last_error, "không kết nối được máy chủ");
    snprintf(put.clock_warning, sizeof put.clock_warning, "clock ahead");
    assert_int_equal(store_sync_status_put(s, &put), STORE_OK);
    store_close(s);
    s = open_ok(f->path);
    assert_int_equal(store_sync_status_get(s, &st), STORE_OK);
    assert_int_equal(st.last_attempt, 100);
    assert_int_equal(st.last_success, 90);
    assert_int_equal(st.next_attempt, 160);
    assert_int_equal(st.failures, 3);
    assert_int_equal(st.clock_skew_s, -42);
    assert_string_equal(st.last_error, "không kết nối được máy chủ");
    assert_string_equal(st.clock_warning, "clock ahead");

    int64_t at = -1;
    assert_int_equal(store_sync_requested(s, &at), STORE_OK);
    assert_int_equal(at, 0);
    assert_int_equal(store_sync_request(s, 500), STORE_OK);
    assert_int_equal(store_sync_request(s, 400), STORE_OK); /* an older clock never moves it back */
    assert_int_equal(store_sync_requested(s, &at), STORE_OK);
    assert_int_equal(at, 500);
    assert_int_equal(store_sync_request_clear(s, 499), STORE_OK); /* a request made after the run stays */
    assert_int_equal(store_sync_requested(s, &at), STORE_OK);
    assert_int_equal(at, 500);
    assert_int_equal(store_sync_request_clear(s, 500), STORE_OK);
    assert_int_equal(store_sync_requested(s, &at), STORE_OK);
    assert_int_equal(at, 0);
    store_close(s);
}

static void test_recent_reports_last_time_and_count_since(void **state)
{
    Fixture *f = *state;
    Store *s = open_ok(f->path);
    int64_t last = -1, count = -1;
    assert_int_equal(store_recent(s, 0, &last, &count), STORE_OK);
    assert_int_equal(last, 0);
    assert_int_equal(count, 0);
    ProtoRating a = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    ProtoRating b = rating(2, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:10+07:00");
    assert_int_equal(store_add(s, &a), STORE_OK);
    assert_int_equal(store_add(s, &b), STORE_OK);
    int64_t t_b;
    int off;
    assert_true(ptime_parse(b.at, &t_b, &off));
    assert_int_equal(store_recent(s, t_b - 5, &last, &count), STORE_OK);
    assert_int_equal(last, t_b);
    assert_int_equal(count, 1);
    store_close(s);
}

/* ---- Read-only and full file systems (a private tmpfs) ----------------------------------------------- */

/* Mounts a tmpfs of `size` on f->dir in a private mount namespace (so nothing leaks if the test dies).
 * Returns false when this machine does not let us mount. */
static bool mount_tmpfs(Fixture *f, const char *size)
{
    static bool unshared;
    if(!unshared) {
        if(unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            return false;
        unshared = true;
    }
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s,mode=0700", size);
    if(mount("tmpfs", f->dir, "tmpfs", 0, opts) != 0)
        return false;
    f->mounted = true;
    return true;
}

static void test_read_only_file_system_gives_readonly(void **state)
{
    Fixture *f = *state;
    if(!mount_tmpfs(f, "1m")) {
        print_message("mount not permitted here (%s): skipped\n", strerror(errno));
        skip();
    }
    Store *s = open_ok(f->path);
    ProtoRating a = rating(1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add(s, &a), STORE_OK);
    store_close(s);
    assert_int_equal(mount("tmpfs", f->dir, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL), 0);

    char msg[512];
    s = (Store *)1;
    assert_int_equal(store_open(f->path, &s, msg, sizeof msg), STORE_READONLY);
    assert_null(s);
    assert_non_null(strstr(msg, "read-only"));
    char other[400];
    snprintf(other, sizeof other, "%s/new.db", f->dir);
    assert_int_equal(store_open(other, &s, msg, sizeof msg), STORE_READONLY);
    assert_int_equal(access(other, F_OK), -1);

    /* Writable again: the rating is still there. */
    assert_int_equal(mount("tmpfs", f->dir, "tmpfs", MS_REMOUNT, "size=1m"), 0);
    s = open_ok(f->path);
    assert_int_equal(counts(s).pending, 1);
    store_close(s);
}

static void test_disk_full_gives_full_and_keeps_every_committed_rating(void **state)
{
    Fixture *f = *state;
    if(!mount_tmpfs(f, "256k")) {
        print_message("mount not permitted here (%s): skipped\n", strerror(errno));
        skip();
    }
    Store *s = open_ok(f->path);
    enum { MAX = 2000 };
    static char ok_ids[MAX][UUID_TEXT_LEN];
    int ok = 0;
    StoreErr e = STORE_OK;
    for(int i = 0; i < MAX; i++) {
        ProtoRating r = rating(i, (ProtoArea)(i % AREA_COUNT), SCALE_TTHC3, 1 + i % 3, "2026-11-23T08:00:00+07:00");
        if((e = store_add(s, &r)))
            break;
        memcpy(ok_ids[ok++], r.id, UUID_TEXT_LEN);
    }
    assert_int_equal(e, STORE_FULL);
    assert_true(ok > 0);
    assert_true(strlen(store_errmsg(s)) > 0);
    /* Still full: refused again, cleanly. */
    ProtoRating more = rating(MAX + 1, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    e = store_add(s, &more);
    assert_true(e == STORE_FULL || e == STORE_OK);
    if(e == STORE_OK)
        memcpy(ok_ids[ok++], more.id, UUID_TEXT_LEN);
    store_close(s);

    /* Room again: every rating that returned OK is there, nothing else, and the file is sound. */
    assert_int_equal(mount("tmpfs", f->dir, "tmpfs", MS_REMOUNT, "size=4m"), 0);
    char check[64];
    raw_text(f->path, "PRAGMA integrity_check", check, sizeof check);
    assert_string_equal(check, "ok");
    s = open_ok(f->path);
    assert_int_equal(counts(s).pending, ok);
    ProtoRating *all = calloc((size_t)ok + 1, sizeof *all);
    size_t n;
    assert_int_equal(store_pending(s, all, (size_t)ok + 1, &n), STORE_OK);
    assert_int_equal(n, (size_t)ok);
    for(int i = 0; i < ok; i++) {
        assert_string_equal(all[i].id, ok_ids[i]);
        assert_int_equal(all[i].seq, i + 1);
    }
    free(all);
    ProtoRating after = rating(MAX + 2, AREA_DAT_DAI, SCALE_TTHC3, 3, "2026-11-23T08:00:00+07:00");
    assert_int_equal(store_add(s, &after), STORE_OK);
    assert_int_equal(after.seq, ok + 1);
    store_close(s);
}

/* ---- kiosk-sim writes through this API ----------------------------------------------------------------- */

static int run_sim(const char *ini, const char *seed)
{
    pid_t pid = fork();
    if(pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if(null >= 0)
            dup2(null, STDOUT_FILENO);
        execl(KIOSK_SIM_BIN, "kiosk-sim", "--config", ini, "--count", "400", "--days", "10", "--seed", seed,
              "--now", "1795000000", (char *)NULL);
        _exit(127);
    }
    int st;
    if(pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static void test_kiosk_sim_writes_realistic_reproducible_ratings(void **state)
{
    Fixture *f = *state;
    char ini[400], ini2[400], db2[400];
    snprintf(ini, sizeof ini, "%s/kiosk.ini", f->dir);
    snprintf(ini2, sizeof ini2, "%s/again.ini", f->dir);
    snprintf(db2, sizeof db2, "%s/again.db", f->dir);
    FILE *fp = fopen(ini, "w");
    assert_non_null(fp);
    fprintf(fp, "[kiosk]\ndevice_id = sim-01\nunit_code = 000.00.31.H21\nareas = dat_dai, y_te, khac\n"
                "scale = likert5\ndatabase = kiosk.db\n");
    fclose(fp);
    assert_non_null(fp = fopen(ini2, "w"));
    fprintf(fp, "[kiosk]\ndevice_id = sim-01\nunit_code = 000.00.31.H21\nareas = dat_dai, y_te, khac\n"
                "scale = likert5\ndatabase = again.db\n");
    fclose(fp);
    assert_int_equal(run_sim(ini, "7"), 0);
    assert_int_equal(run_sim(ini2, "7"), 0);

    Store *s = open_ok(f->path), *s2 = open_ok(db2);
    static ProtoRating r[401], r2[401];
    size_t n, n2;
    assert_int_equal(store_pending(s, r, 401, &n), STORE_OK);
    assert_int_equal(store_pending(s2, r2, 401, &n2), STORE_OK);
    assert_int_equal(n, 400);
    assert_int_equal(n2, 400);
    int satisfied = 0, counted = 0, flagged = 0, followups = 0;
    int64_t prev = 0;
    for(size_t i = 0; i < n; i++) {
        ProtoError pe;
        assert_int_equal(proto_rating_validate(&r[i], &pe), PROTO_OK);
        assert_string_equal(r[i].id, r2[i].id); /* same seed, same ratings */
        assert_int_equal(r[i].score, r2[i].score);
        assert_int_equal(uuid_version(r[i].id), 7);
        assert_int_equal(r[i].seq, (int64_t)i + 1);
        assert_string_equal(r[i].unit, "000.00.31.H21");
        assert_int_equal(r[i].scale, SCALE_LIKERT5);
        assert_true(r[i].area == AREA_DAT_DAI || r[i].area == AREA_Y_TE || r[i].area == AREA_KHAC);
        int64_t t;
        int off;
        assert_true(ptime_parse(r[i].at, &t, &off));
        assert_int_equal(off, PTIME_VN_OFFSET_MIN);
        assert_true(t >= prev); /* seq follows time */
        assert_true(t <= 1795000000 && t > 1795000000 - 10 * 86400);
        prev = t;
        int64_t local = (t + 7 * 3600) % 86400, day = ptime_vn_day(t);
        int weekday = (int)((day + 4) % 7);
        assert_true(weekday >= 1 && weekday <= 5);
        assert_true(local >= 7 * 3600 + 30 * 60 && local < 17 * 3600 + 10); /* a repeat may spill seconds */
        if(r[i].flags) {
            flagged++;
            continue;
        }
        counted++;
        satisfied += proto_is_satisfied(r[i].scale, r[i].score);
        followups += r[i].followup != FOLLOWUP_NONE;
    }
    assert_true(flagged >= 1 && flagged <= 20);
    assert_true(satisfied * 100 >= counted * 78 && satisfied * 100 <= counted * 97);
    assert_true(followups >= 1);
    store_close(s);
    store_close(s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_added_ratings_are_counted_on_their_vietnam_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_followup_is_recorded_once_on_a_not_satisfied_rating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_followup_of_an_acknowledged_rating_queues_it_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marks_apply_only_to_the_content_version_that_was_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rating_asking_its_followup_is_held_from_the_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_later_answers_are_saved_one_by_one_and_held_until_the_last, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_day_totals_count_service_and_wait_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_oldest_first_then_acked_are_no_longer_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_rating_keeps_its_reason_and_leaves_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_server_restore_queues_again_what_it_may_lack_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_deletes_only_old_acknowledged_ratings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_file_is_migrated_and_seq_continues_after_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_version_1_file_is_migrated_and_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_version_2_file_is_migrated_and_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_id_is_refused_and_nothing_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_rating_is_refused_and_nothing_is_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file_is_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_sqlite_file_is_not_a_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_page_fails_the_open_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles_interleave_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_waits_for_another_writer_instead_of_failing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_holding_the_lock_past_the_timeout_gives_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_add_concurrently_without_losing_or_repeating, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sync_status_and_request_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_reports_last_time_and_count_since, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_file_system_gives_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_gives_full_and_keeps_every_committed_rating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kiosk_sim_writes_realistic_reproducible_ratings, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
