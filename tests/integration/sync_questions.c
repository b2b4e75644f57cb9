/* sync_questions.c — the counter's later questions end to end, with the real programs.
 *
 * - The real `kiosk` (SDL_VIDEODRIVER=dummy, injected touches through --script) with the service face,
 *   respondent and wait questions on: a dissatisfied citizen goes face → service face → reasons → respondent
 *   → wait in 7 taps, a satisfied one in 5; a real `kiosk-sync --once` is started while the first citizen is
 *   still answering; everything arrives at the real tally-server with every answer, once, and the kiosk's
 *   store has it acknowledged.
 * - A schema-1 batch and a schema-2 batch to the same server are both accepted; replaying either is all
 *   duplicates; a rating first sent as schema 1 then gains its answers in a schema-2 copy. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sync_harness.h"

#define DEVICE "kiosk-q1"
#define UNIT "G01.Q"

typedef struct {
    char dir[TH_PATH];
    ThServer srv;
    ThKiosk k;
    char token[256];
} Fx;

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    if(!f || !th_setup_one_kiosk("sync_questions", UNIT, DEVICE, f->dir, &f->srv, &f->k, f->token, sizeof f->token))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fx *f = *state;
    th_server_stop(&f->srv);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

static void append(const char *path, const char *text)
{
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* The ratings the tally stores, decoded from their canonical bodies, oldest (by seq) first. */
static size_t server_ratings(const Fx *f, ProtoRating *out, size_t cap)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(f->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM ratings ORDER BY json_extract(body, '$.seq')", -1, &st,
                                        NULL),
                     SQLITE_OK);
    size_t n = 0;
    while(n < cap && sqlite3_step(st) == SQLITE_ROW) {
        const char *body = (const char *)sqlite3_column_text(st, 0);
        ProtoError err;
        if(proto_rating_parse(body, strlen(body), &out[n], &err) != PROTO_OK)
            fail_msg("stored body does not parse: %s (%s)", body, err.msg);
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Waits (up to limit_ms) until a line of path contains needle. */
static bool wait_for_line(const char *path, const char *needle, int limit_ms)
{
    for(int t = 0; t < limit_ms; t += 50) {
        if(th_file_contains(path, needle))
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static void test_every_answer_reaches_the_server_through_a_sync_run_in_the_middle(void **state)
{
    Fx *f = *state;
    append(f->k.ini, "[kiosk]\nask_service = yes\nask_respondent = yes\nask_wait = yes\nidle_timeout_s = 60\n");
    char script[TH_PATH + 16], log[TH_PATH + 16];
    snprintf(script, sizeof script, "%s/script.txt", f->k.dir);
    snprintf(log, sizeof log, "%s/kiosk.log", f->k.dir);
    /* 7 taps for a dissatisfied citizen who gives one reason, then (after a pause) 5 for a satisfied one. */
    append(script, "expect area\n"
                   "tap area:dat_dai\n"
                   "tap face:1\n"
                   "expect service\n"
                   "tap face:1\n"
                   "expect reasons\n"
                   "wait 2500\n" /* kiosk-sync starts here, while this citizen is still answering */
                   "tap reason:thai_do\n"
                   "tap send\n"
                   "expect respondent\n"
                   "tap respondent:to_chuc\n"
                   "expect wait\n"
                   "tap wait:tren_30\n"
                   "expect thanks\n"
                   "wait 12000\n"
                   "expect area\n"
                   "tap area:xay_dung\n"
                   "tap face:3\n"
                   "tap face:2\n"
                   "tap respondent:nguoi_dan\n"
                   "tap wait:duoi_15\n"
                   "expect thanks\n"
                   "quit\n");
    const char *argv[] = {KIOSK_BIN, "--config", f->k.ini, "--windowed", "--size", "800x480", "--script", script, NULL};
    pid_t kiosk = th_spawn(argv, log);
    assert_true(kiosk > 0);
    /* The service face is saved (more questions to come): start the upload now. */
    assert_true(wait_for_line(log, "service 1, follow-up none, respondent -, wait - (more to come)", 30000));
    pid_t sync = th_kiosk_sync_spawn(&f->k, NULL);
    assert_true(sync > 0);
    bool answered_before = th_file_contains(log, "wait tren_30");
    int sync_rc = th_wait(sync), kiosk_rc = th_wait(kiosk);
    if(kiosk_rc != 0 || sync_rc != 0) {
        char cmd[TH_PATH + 64];
        snprintf(cmd, sizeof cmd, "tail -n 40 %s >&2", log);
        if(system(cmd) != 0)
            fprintf(stderr, "(no kiosk log)\n");
        th_kiosk_dump_log(&f->k);
    }
    assert_int_equal(kiosk_rc, 0); /* every expect held: the taps above are all it took */
    assert_int_equal(sync_rc, 0);  /* everything made before it started reached the server */
    assert_false(answered_before);
    assert_true(th_file_contains(f->k.log, "whose later questions are still open on the kiosk screen"));

    /* The first citizen's rating went once, complete; the second goes with the next run. */
    ProtoRating r[4];
    assert_int_equal(server_ratings(f, r, 4), 1);
    assert_int_equal(th_kiosk_sync(&f->k, NULL), 0);
    assert_int_equal(server_ratings(f, r, 4), 2);
    assert_int_equal(r[0].area, AREA_DAT_DAI);
    assert_int_equal(r[0].score, 1);
    assert_int_equal(r[0].service_score, 1);
    assert_int_equal(r[0].followup, FOLLOWUP_ANSWERED);
    assert_int_equal(r[0].reasons, 1u << REASON_THAI_DO);
    assert_int_equal(r[0].respondent, RESPONDENT_TO_CHUC);
    assert_int_equal(r[0].wait, WAIT_TREN_30);
    assert_int_equal(r[1].area, AREA_XAY_DUNG);
    assert_int_equal(r[1].score, 3);
    assert_int_equal(r[1].service_score, 2);
    assert_int_equal(r[1].followup, FOLLOWUP_NONE);
    assert_int_equal(r[1].respondent, RESPONDENT_NGUOI_DAN);
    assert_int_equal(r[1].wait, WAIT_DUOI_15);
    assert_int_equal(r[1].flags, 0); /* 12 s after the first: no rapid repeat */
    StoreCounts c = th_store_counts(&f->k);
    assert_int_equal(c.pending, 0);
    assert_int_equal(c.acked, 2);
    /* The tally counted each once (the procedure faces), though the first came while it was being answered. */
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(f->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT sum(n) FROM daily", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Two batches of the same device, as an old kiosk (schema 1) and an upgraded one (schema 2) send them. */
#define BATCH(schema, batch, ratings)                                                                          \
    "{\"schema\":" #schema ",\"batch_id\":\"" batch "\",\"device_id\":\"" DEVICE "\","                          \
    "\"sent_at\":\"2026-11-23T02:10:00+07:00\",\"ratings\":[" ratings "]}"
#define R1 "{\"id\":\"0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e01\",\"seq\":1,\"unit\":\"" UNIT "\",\"area\":\"dat_dai\"," \
           "\"scale\":\"tthc3\",\"score\":3,\"reasons\":[],\"followup\":\"none\",\"at\":\"2026-11-22T08:15:02+07:00\"," \
           "\"flags\":[]}"
#define R2 "{\"id\":\"0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e02\",\"seq\":2,\"unit\":\"" UNIT "\",\"area\":\"y_te\","    \
           "\"scale\":\"tthc3\",\"score\":1,\"reasons\":[\"cho_doi\"],\"followup\":\"answered\","                 \
           "\"at\":\"2026-11-22T08:17:40+07:00\",\"flags\":[]}"
#define R3 "{\"id\":\"0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e03\",\"seq\":3,\"unit\":\"" UNIT "\",\"area\":\"xay_dung\"," \
           "\"scale\":\"tthc3\",\"score\":2,\"reasons\":[\"thai_do\"],\"followup\":\"answered\","                 \
           "\"at\":\"2026-11-22T09:01:00+07:00\",\"flags\":[],\"service_score\":1,\"respondent\":\"doanh_nghiep\","  \
           "\"wait\":\"15_30\"}"
#define R4 "{\"id\":\"0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e04\",\"seq\":4,\"unit\":\"" UNIT "\",\"area\":\"khac\","    \
           "\"scale\":\"tthc3\",\"score\":3,\"reasons\":[],\"followup\":\"none\",\"at\":\"2026-11-22T09:05:00+07:00\"," \
           "\"flags\":[],\"service_score\":null,\"respondent\":\"nguoi_dan\",\"wait\":null}"
/* R1 again, from the kiosk after its upgrade: it gained answers given after the tap. */
#define R1_ANSWERED                                                                                            \
    "{\"id\":\"0193a4f0-1b2c-7d3e-8f40-5a6b7c8d9e01\",\"seq\":1,\"unit\":\"" UNIT "\",\"area\":\"dat_dai\","    \
    "\"scale\":\"tthc3\",\"score\":3,\"reasons\":[],\"followup\":\"none\",\"at\":\"2026-11-22T08:15:02+07:00\","     \
    "\"flags\":[],\"respondent\":\"to_chuc\",\"wait\":\"duoi_15\"}"

static void post(Fx *f, const char *body, int64_t accepted, int64_t duplicate, size_t rejected)
{
    long status = 0;
    ProtoReply rep;
    assert_true(th_post_batch(&f->srv, f->token, body, &status, &rep));
    assert_int_equal(status, 200);
    if(rep.accepted != accepted || rep.duplicate != duplicate || rep.n_rejected != rejected)
        fail_msg("accepted %lld duplicate %lld rejected %zu (want %lld %lld %zu)%s%s", (long long)rep.accepted,
                 (long long)rep.duplicate, rep.n_rejected, (long long)accepted, (long long)duplicate, rejected,
                 rep.n_rejected ? ": " : "", rep.n_rejected ? rep.rejected[0].error : "");
    proto_reply_free(&rep);
}

static void test_schema_1_and_schema_2_batches_to_the_same_server(void **state)
{
    Fx *f = *state;
    const char *one = BATCH(1, "0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d01", R1 "," R2);
    const char *two = BATCH(2, "0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d02", R3 "," R4);
    post(f, one, 2, 0, 0);
    post(f, two, 2, 0, 0);
    /* Replaying either: all duplicates, nothing changes. */
    post(f, one, 0, 2, 0);
    post(f, two, 0, 2, 0);
    ProtoRating r[8];
    assert_int_equal(server_ratings(f, r, 8), 4);
    assert_int_equal(r[0].service_score, 0);
    assert_int_equal(r[2].service_score, 1);
    assert_int_equal(r[2].respondent, RESPONDENT_DOANH_NGHIEP);
    assert_int_equal(r[2].wait, WAIT_15_30);
    assert_int_equal(r[3].respondent, RESPONDENT_NGUOI_DAN);
    assert_int_equal(r[3].wait, WAIT_NONE);
    /* A schema-1 batch cannot carry the answers: that item alone is refused; the rest is stored. */
    long status = 0;
    ProtoReply rep;
    assert_true(th_post_batch(&f->srv, f->token, BATCH(1, "0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d03", R1 "," R3), &status,
                              &rep));
    assert_int_equal(status, 200);
    assert_int_equal(rep.duplicate, 1);
    assert_int_equal(rep.n_rejected, 1);
    assert_string_equal(rep.rejected[0].error, "unknown_field");
    proto_reply_free(&rep);
    /* A rating first sent by an old kiosk gains its answers in a schema-2 copy once; that copy replayed, and
     * the old one, are duplicates. */
    const char *gain = BATCH(2, "0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d04", R1_ANSWERED);
    post(f, gain, 1, 0, 0);
    post(f, gain, 0, 1, 0);
    post(f, one, 0, 2, 0);
    assert_int_equal(server_ratings(f, r, 8), 4);
    assert_int_equal(r[0].respondent, RESPONDENT_TO_CHUC);
    /* An unknown schema is refused whole, with the reason. */
    assert_true(th_post_batch(&f->srv, f->token, BATCH(3, "0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d05", R4), &status, &rep));
    assert_int_equal(status, 400);
    proto_reply_free(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_answer_reaches_the_server_through_a_sync_run_in_the_middle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_schema_1_and_schema_2_batches_to_the_same_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
