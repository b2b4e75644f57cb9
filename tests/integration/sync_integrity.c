/* sync_integrity.c — every answer a citizen gave reaches the tally, end to end, with the real tally-server.
 *
 * - The follow-up race: the uploader reads a rating, the citizen's answer is saved, then the server's reply
 *   for the unanswered copy comes back. The answer still reaches the server (in process, the real engine and
 *   store, a queue that saves the answer right after the read).
 * - The same with the real kiosk-sync killed (SIGKILL) after the save and before the reply: the server has
 *   stored the unanswered copy, the next run sends the answered one, and the server takes it.
 * - kiosk-sync's runs with an injected clock (kiosk/sync_agent.h), no sleeping: --once waits for a follow-up
 *   screen however long it stays open; a successful run prunes what keep_days no longer keeps; the daemon
 *   plans again a slot that a wrong clock put a year ahead. */
#include <curl/curl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "kiosk/sync_agent.h"
#include "proxy.h"
#include "sync_harness.h"

#define DEVICE "kiosk-int"
#define UNIT "G01.I"
#define N_RATINGS 40

typedef struct {
    char dir[TH_PATH];
    ThServer srv;
    ThKiosk k;
    char token[256];
    ProtoRating r[N_RATINGS];
    size_t late;    /* index of the not-satisfied rating whose answer comes late */
    Store *store;   /* the test's own handle on the kiosk's store (the UI's, so to speak) */
} Fx;

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    if(!f || !th_setup_one_kiosk("sync_integrity", UNIT, DEVICE, f->dir, &f->srv, &f->k, f->token, sizeof f->token))
        return -1;
    /* Realistic ratings; the first not-satisfied one had not been answered when it was stored. */
    th_make_ratings(f->r, N_RATINGS, UNIT, SCALE_TTHC3, 11);
    f->late = N_RATINGS;
    for(size_t i = 0; i < N_RATINGS && f->late == N_RATINGS; i++)
        if(!proto_is_satisfied(f->r[i].scale, f->r[i].score))
            f->late = i;
    if(f->late == N_RATINGS)
        return -1;
    f->r[f->late].followup = FOLLOWUP_NONE;
    f->r[f->late].reasons = 0;
    char msg[256];
    if(!th_store_ratings(&f->k, f->r, N_RATINGS) || store_open(f->k.db, &f->store, msg, sizeof msg) != STORE_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fx *f = *state;
    store_close(f->store);
    th_server_stop(&f->srv);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* The citizen's late answer, as the UI saves it; r[late] becomes what the server must end up holding. */
static void answer_late(Fx *f)
{
    ProtoRating *r = &f->r[f->late];
    assert_int_equal(store_set_followup(f->store, r->id, FOLLOWUP_ANSWERED, 1u << REASON_CHO_DOI), STORE_OK);
    r->followup = FOLLOWUP_ANSWERED;
    r->reasons = 1u << REASON_CHO_DOI;
}

/* The server holds every rating exactly as the kiosk has it now (answers included) and counts each once. */
static void assert_server_has_the_kiosk_ratings(Fx *f)
{
    int64_t acc, dup, rej;
    assert_true(th_replay(&f->srv, DEVICE, f->token, f->r, N_RATINGS, &acc, &dup, &rej));
    assert_int_equal(acc, 0);
    assert_int_equal(dup, N_RATINGS);
    assert_int_equal(rej, 0);
    ThCount want = {0}, got;
    th_count_add(&want, f->r, N_RATINGS);
    assert_true(th_server_tally(&f->srv, &got));
    assert_true(th_count_equal(&want, &got));
    StoreCounts c;
    assert_int_equal(store_counts(f->store, &c), STORE_OK);
    assert_int_equal(c.pending, 0);
    assert_int_equal(c.acked, N_RATINGS);
}

static Uploader *new_uploader(Fx *f, const char *base)
{
    char url[160], msg[256];
    snprintf(url, sizeof url, "%s/api/v1", base);
    UploaderOptions o = {.url = url, .token = f->token, .device_id = DEVICE, .tz_offset_min = PTIME_VN_OFFSET_MIN};
    Uploader *u = NULL;
    assert_int_equal(uploader_new(&o, &u, msg, sizeof msg), UPLOADER_OK);
    return u;
}

/* ---- The race, in process ----------------------------------------------------------------------------- */

typedef struct {
    UploaderQueue inner;
    Fx *f;
    bool answered;
} RacingQueue;

static bool race_next(void *ctx, int64_t now, UploaderItem *out, size_t limit, size_t *n, char *msg, size_t len)
{
    RacingQueue *q = ctx;
    bool ok = q->inner.next(q->inner.ctx, now, out, limit, n, msg, len);
    if(ok && *n && !q->answered) { /* read → answer saved → (then the reply comes) */
        answer_late(q->f);
        q->answered = true;
    }
    return ok;
}
static bool race_acked(void *ctx, const UploaderItem *it, size_t n, int64_t now, size_t *ch, char *msg, size_t len)
{
    RacingQueue *q = ctx;
    return q->inner.acked(q->inner.ctx, it, n, now, ch, msg, len);
}
static bool race_rejected(void *ctx, const UploaderItem *it, const char *why, int64_t now, bool *ch, char *msg,
                          size_t len)
{
    RacingQueue *q = ctx;
    return q->inner.rejected(q->inner.ctx, it, why, now, ch, msg, len);
}

static void test_followup_saved_between_read_and_reply_reaches_the_server(void **state)
{
    Fx *f = *state;
    Uploader *u = new_uploader(f, f->srv.url);
    UploaderQueue *sq = sync_queue_new(f->store);
    RacingQueue rq = {.inner = *sq, .f = f};
    UploaderQueue q = {.ctx = &rq, .next = race_next, .acked = race_acked, .rejected = race_rejected};
    UploaderResult res;
    char msg[512];
    assert_int_equal(uploader_run(u, &q, NULL, NULL, &res, msg, sizeof msg), UPLOADER_OK);
    assert_true(rq.answered);
    /* The reply acknowledged the unanswered copy; the rating changed meanwhile, so it went again. */
    assert_int_equal(res.changed, 1);
    assert_int_equal(res.sent, N_RATINGS + 1);
    assert_int_equal(res.accepted, N_RATINGS + 1); /* the answered copy replaced the stored one */
    assert_server_has_the_kiosk_ratings(f);
    sync_queue_free(sq);
    uploader_free(u);
}

/* ---- The race with kiosk-sync killed before the reply --------------------------------------------------- */

static int64_t server_has(const Fx *f, const char *id)
{
    sqlite3 *db;
    int64_t n = -1;
    if(sqlite3_open_v2(f->srv.db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        sqlite3_stmt *st;
        if(sqlite3_prepare_v2(db, "SELECT count(*) FROM ratings WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            if(sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    return n;
}

static void test_kiosk_sync_killed_after_the_save_and_before_the_reply_loses_no_answer(void **state)
{
    Fx *f = *state;
    /* kiosk-sync → a proxy that forwards every batch and holds the server's reply (a slow network). */
    int port = atoi(strrchr(f->srv.url, ':') + 1);
    ProxyOptions po = {.upstream_port = (uint16_t)port, .seed = 1, .fault_percent = 100, .delay_ms = 600000,
                       .force = PF_DELAY};
    Proxy *px;
    uint16_t pport;
    assert_int_equal(proxy_start(&po, &px, &pport), 0);
    char purl[64];
    snprintf(purl, sizeof purl, "http://127.0.0.1:%u", pport);
    assert_true(th_kiosk_make(&f->k, f->k.dir, DEVICE, UNIT, SCALE_TTHC3, purl, f->token));

    pid_t pid = th_kiosk_sync_spawn(&f->k, NULL);
    assert_true(pid > 0);
    /* Wait until the server has stored the batch (the unanswered copy); kiosk-sync waits for the reply. */
    int64_t has = 0;
    for(int i = 0; i < 600 && has != 1; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        has = server_has(f, f->r[f->late].id);
    }
    assert_int_equal(has, 1);
    answer_late(f);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(th_wait(pid), 128 + SIGKILL);
    proxy_stop(px);
    StoreCounts c;
    assert_int_equal(store_counts(f->store, &c), STORE_OK);
    assert_int_equal(c.pending, N_RATINGS); /* nothing was marked */

    /* The next run, straight to the server: the answered copy is taken, the others are duplicates. */
    assert_true(th_kiosk_make(&f->k, f->k.dir, DEVICE, UNIT, SCALE_TTHC3, f->srv.url, f->token));
    if(th_kiosk_sync(&f->k, NULL) != 0) {
        th_kiosk_dump_log(&f->k);
        fail_msg("kiosk-sync --once did not exit 0");
    }
    assert_true(th_file_contains(f->k.log, "(1 accepted, 39 duplicate"));
    assert_server_has_the_kiosk_ratings(f);
}

/* ---- What the server refused ------------------------------------------------------------------------- */

static void test_ratings_the_server_refused_are_listed_with_the_reason(void **state)
{
    Fx *f = *state;
    answer_late(f);
    /* A rating stamped with another counter's unit (the kiosk was moved): the server refuses it. */
    ProtoRating moved = f->r[2];
    uuid_v7_new(moved.id);
    snprintf(moved.unit, sizeof moved.unit, "G01.ELSEWHERE");
    assert_int_equal(store_add(f->store, &moved), STORE_OK);
    assert_int_equal(th_kiosk_sync(&f->k, NULL), 0);
    StoreCounts c;
    assert_int_equal(store_counts(f->store, &c), STORE_OK);
    assert_int_equal(c.rejected, 1);
    char out[4096], want[256];
    const char *csv[] = {KIOSK_REPORT_BIN, "--config", f->k.ini, "--rejected", "--format", "csv", NULL};
    assert_int_equal(th_run(csv, out, sizeof out), 0);
    snprintf(want, sizeof want, "id,seq,at,area,scale,score,reason,rejected_at\n%s,%lld,%s,%s,tthc3,%d,unit_mismatch,",
             moved.id, (long long)moved.seq, moved.at, proto_area_code(moved.area), moved.score);
    if(strncmp(out, want, strlen(want)) != 0)
        fail_msg("kiosk-report --rejected printed:\n%s\nwanted it to start:\n%s", out, want);
    assert_null(strchr(out + strlen(want), '\n')); /* one rating, one line */
    const char *table[] = {KIOSK_REPORT_BIN, "--config", f->k.ini, "--rejected", NULL};
    assert_int_equal(th_run(table, out, sizeof out), 0);
    assert_non_null(strstr(out, "Bị máy chủ từ chối (không gửi lại): 1"));
    assert_non_null(strstr(out, moved.id));
    /* A day report and --rejected together make no sense: refused with the usage. */
    const char *bad[] = {KIOSK_REPORT_BIN, "--config", f->k.ini, "--rejected", "--date", "2026-11-20", NULL};
    assert_int_equal(th_run(bad, out, sizeof out), 2);
}

/* ---- kiosk-sync's runs with an injected clock ----------------------------------------------------------- */

typedef struct {
    int64_t now;
    int64_t slept_ms;
    int sleeps, stop_after; /* stopping() once sleeps >= stop_after (0: never) */
    int64_t answer_at;      /* the late answer is saved when the clock reaches this (0: never) */
    Fx *f;
    char log[16384];
} Env;

static int64_t env_now(void *ctx) { return ((Env *)ctx)->now; }
static void env_sleep(void *ctx, int64_t ms)
{
    Env *e = ctx;
    e->now += ms / 1000;
    e->slept_ms += ms;
    e->sleeps++;
    if(e->answer_at && e->now >= e->answer_at) {
        answer_late(e->f);
        e->answer_at = 0;
    }
}
static bool env_stopping(void *ctx)
{
    Env *e = ctx;
    return e->stop_after && e->sleeps >= e->stop_after;
}
static uint32_t env_random(void *ctx)
{
    (void)ctx;
    return 0;
}
static void env_log(void *ctx, const char *line)
{
    Env *e = ctx;
    size_t l = strlen(e->log);
    snprintf(e->log + l, sizeof e->log - l, "%s\n", line);
}

static SyncAgent *new_agent(Fx *f, Env *env, Uploader *u, int keep_days)
{
    SyncAgentConfig c = {.store = f->store, .up = u, .keep_days = keep_days,
                         .sched = {.schedule_min = 120, .jitter_min = 60, .tz_offset_min = PTIME_VN_OFFSET_MIN},
                         .env = {.ctx = env, .now = env_now, .sleep_ms = env_sleep, .stopping = env_stopping,
                                 .random = env_random, .log = env_log}};
    SyncAgent *a = sync_agent_new(&c);
    assert_non_null(a);
    return a;
}

/* Another not-satisfied rating, made at `t` with its follow-up screen open since; r[late] becomes it. */
static void make_late_asking(Fx *f, int64_t t)
{
    ProtoRating *r = &f->r[f->late];
    uint8_t rnd[10] = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4};
    ProtoRating fresh = *r;
    fresh.followup = FOLLOWUP_NONE;
    fresh.reasons = 0;
    uuid_v7_make(fresh.id, (uint64_t)t * 1000u, rnd);
    ptime_format(t, PTIME_VN_OFFSET_MIN, fresh.at);
    assert_int_equal(store_add_asking(f->store, &fresh), STORE_OK);
    *r = fresh;
}

static void test_once_waits_for_a_followup_screen_open_for_an_hour(void **state)
{
    Fx *f = *state;
    Env env = {.now = 1795000000, .f = f};
    /* The late rating of the set was answered long ago; this one is on screen now, and the citizen taps a
     * reason every minute for an hour (the idle timer restarts each time), then presses "Gửi". */
    answer_late(f);
    make_late_asking(f, env.now - 5);
    env.answer_at = env.now + 3630;
    Uploader *u = new_uploader(f, f->srv.url);
    SyncAgent *a = new_agent(f, &env, u, 0);
    assert_int_equal(sync_agent_once(a), 0);
    assert_true(env.slept_ms >= 3630 * 1000); /* it waited the whole hour, on the fake clock */
    assert_non_null(strstr(env.log, "waiting for 1 ratings whose later questions are still open"));
    /* The held rating went once, complete: the server has its answer. */
    int64_t acc, dup, rej;
    assert_true(th_replay(&f->srv, DEVICE, f->token, &f->r[f->late], 1, &acc, &dup, &rej));
    assert_int_equal(dup, 1);
    StoreCounts c;
    assert_int_equal(store_counts(f->store, &c), STORE_OK);
    assert_int_equal(c.pending, 0);
    sync_agent_free(a);
    uploader_free(u);
}

static void test_once_does_not_wait_for_ratings_made_after_it_started(void **state)
{
    Fx *f = *state;
    Env env = {.now = 1795000000, .f = f};
    answer_late(f);
    make_late_asking(f, env.now + 5); /* tapped while the run was going */
    Uploader *u = new_uploader(f, f->srv.url);
    SyncAgent *a = new_agent(f, &env, u, 0);
    assert_int_equal(sync_agent_once(a), 1); /* one left pending, said so */
    assert_int_equal(env.slept_ms, 0);
    assert_non_null(strstr(env.log, "1 ratings still pending"));
    sync_agent_free(a);
    uploader_free(u);
}

static void test_a_successful_run_prunes_what_keep_days_no_longer_keeps(void **state)
{
    Fx *f = *state;
    answer_late(f);
    /* th_make_ratings' ratings end on 2026-11-20; a year and a half later, keep_days = 400 keeps none. */
    Env env = {.now = 1795000000 + 540 * 86400LL, .f = f};
    Uploader *u = new_uploader(f, f->srv.url);
    SyncAgent *a = new_agent(f, &env, u, 400);
    assert_int_equal(sync_agent_once(a), 0);
    StoreCounts c;
    assert_int_equal(store_counts(f->store, &c), STORE_OK);
    assert_int_equal(c.acked + c.pending + c.rejected, 0);
    assert_non_null(strstr(env.log, "pruned 40 acknowledged ratings older than 400 days"));
    int64_t first;
    bool pruned;
    assert_int_equal(store_history(f->store, env.now, &first, &pruned), STORE_OK);
    assert_true(pruned);
    assert_int_equal(first, ptime_vn_day(env.now) - 400);
    /* A failed run prunes nothing: the server is gone, the new rating stays, and so does the old limit. */
    th_server_stop(&f->srv);
    ProtoRating r = f->r[1];
    uuid_v7_new(r.id);
    assert_int_equal(store_add(f->store, &r), STORE_OK);
    assert_int_equal(sync_agent_once(a), 1);
    assert_int_equal(store_counts(f->store, &c), STORE_OK);
    assert_int_equal(c.pending, 1);
    sync_agent_free(a);
    uploader_free(u);
}

static void test_daemon_plans_again_a_slot_a_wrong_clock_put_a_year_ahead(void **state)
{
    Fx *f = *state;
    answer_late(f);
    /* 10:00 in Vietnam; the stored next attempt is next year's (the clock was a year ahead, then fixed). */
    int64_t now = ptime_vn_day_start(ptime_days_from_civil(2026, 11, 27)) + 10 * 3600;
    StoreSyncStatus st = {.next_attempt = now + 365 * 86400LL};
    assert_int_equal(store_sync_status_put(f->store, &st), STORE_OK);
    /* The daemon runs for a simulated day: 2 s per loop. */
    Env env = {.now = now, .f = f, .stop_after = 86400 / 2};
    Uploader *u = new_uploader(f, f->srv.url);
    SyncAgent *a = new_agent(f, &env, u, 0);
    assert_int_equal(sync_agent_daemon(a), 0);
    assert_int_equal(store_sync_status_get(f->store, &st), STORE_OK);
    /* Tonight's 02:00 slot ran (jitter 0 from the fake random), and uploaded everything. */
    int64_t slot = ptime_vn_day_start(ptime_days_from_civil(2026, 11, 28)) + 2 * 3600;
    assert_true(st.last_success >= slot && st.last_success < slot + 10);
    assert_true(st.next_attempt > st.last_success && st.next_attempt <= st.last_success + 86400 + 3600);
    StoreCounts c;
    assert_int_equal(store_counts(f->store, &c), STORE_OK);
    assert_int_equal(c.pending, 0);
    sync_agent_free(a);
    uploader_free(u);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_followup_saved_between_read_and_reply_reaches_the_server, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kiosk_sync_killed_after_the_save_and_before_the_reply_loses_no_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ratings_the_server_refused_are_listed_with_the_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_once_waits_for_a_followup_screen_open_for_an_hour, setup, teardown),
        cmocka_unit_test_setup_teardown(test_once_does_not_wait_for_ratings_made_after_it_started, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_successful_run_prunes_what_keep_days_no_longer_keeps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_daemon_plans_again_a_slot_a_wrong_clock_put_a_year_ahead, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
