/* sync_e2e.c — from the store to the tally with the real programs: ratings go into kiosk stores through the
 * store API, the real kiosk-sync uploads them to a real tally-server on a loopback port, and the tally the
 * server answers equals both the stores' own day totals and an independent count. Also: the start-up
 * refusals, a refused token, device clock warnings, and "Đồng bộ ngay" waking the daemon. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sync_harness.h"

typedef struct {
    char dir[TH_PATH];
    ThServer srv;
} Fx;

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    if(!f || !th_tmpdir(f->dir, "sync_e2e") || !th_server_init(&f->srv, f->dir) ||
       !th_server_unit(&f->srv, "G01.A", "G01") || !th_server_unit(&f->srv, "G01.B", "G01") ||
       !th_server_start(&f->srv))
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

static void new_kiosk(Fx *f, ThKiosk *k, const char *id, const char *unit, ProtoScale scale, char *token,
                      size_t token_len)
{
    char dir[TH_PATH + 32];
    snprintf(dir, sizeof dir, "%s/%s", f->dir, id);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_true(th_server_device(&f->srv, id, unit, token, token_len));
    assert_true(th_kiosk_make(k, dir, id, unit, scale, f->srv.url, token));
}

/* The store's sync status; fails the test when the store cannot tell. */
static StoreSyncStatus status_of(const ThKiosk *k)
{
    StoreSyncStatus st;
    assert_true(th_store_sync_status(k, &st));
    return st;
}

static void test_ratings_in_two_stores_reach_the_tally_exactly(void **state)
{
    Fx *f = *state;
    ThKiosk a, b;
    char ta[256], tb[256];
    new_kiosk(f, &a, "kiosk-a", "G01.A", SCALE_TTHC3, ta, sizeof ta);
    new_kiosk(f, &b, "kiosk-b", "G01.B", SCALE_LIKERT5, tb, sizeof tb);
    enum { NA = 1234, NB = 777 };
    ProtoRating *ra = calloc(NA, sizeof *ra), *rb = calloc(NB, sizeof *rb);
    th_make_ratings(ra, NA, "G01.A", SCALE_TTHC3, 1);
    th_make_ratings(rb, NB, "G01.B", SCALE_LIKERT5, 2);
    assert_true(th_store_ratings(&a, ra, NA));
    assert_true(th_store_ratings(&b, rb, NB));

    if(th_kiosk_sync(&a, NULL) != 0 || th_kiosk_sync(&b, NULL) != 0) {
        th_kiosk_dump_log(&a);
        th_kiosk_dump_log(&b);
        fail_msg("kiosk-sync --once did not exit 0");
    }
    StoreCounts ca = th_store_counts(&a), cb = th_store_counts(&b);
    assert_int_equal(ca.pending, 0);
    assert_int_equal(ca.acked, NA);
    assert_int_equal(cb.pending, 0);
    assert_int_equal(cb.acked, NB);

    ThCount want = {0}, from_stores = {0}, got;
    th_count_add(&want, ra, NA);
    th_count_add(&want, rb, NB);
    assert_true(th_store_totals(&a, &from_stores));
    assert_true(th_store_totals(&b, &from_stores));
    assert_true(th_count_equal(&want, &from_stores));
    assert_true(th_server_tally(&f->srv, &got));
    assert_true(th_count_equal(&from_stores, &got));

    /* The status the supervisor screen shows. */
    StoreSyncStatus st = status_of(&a);
    assert_true(st.last_attempt > 0);
    assert_true(st.last_success >= st.last_attempt);
    assert_string_equal(st.last_error, "");
    assert_int_equal(st.failures, 0);
    assert_true(st.next_attempt > st.last_success);

    /* Nothing left: a second run sends nothing and changes nothing. */
    assert_int_equal(th_kiosk_sync(&a, NULL), 0);
    assert_true(th_server_tally(&f->srv, &got));
    assert_true(th_count_equal(&want, &got));

    /* Every rating is on the server with exactly this content: a full replay is all duplicates. */
    int64_t acc, dup, rej;
    assert_true(th_replay(&f->srv, "kiosk-a", ta, ra, NA, &acc, &dup, &rej));
    assert_int_equal(acc, 0);
    assert_int_equal(dup, NA);
    assert_int_equal(rej, 0);
    free(ra);
    free(rb);
}

/* tally-admin restore takes the tally back to a backup; the kiosks still hold, marked uploaded, what came
 * after it. The next upload's reply names the restore (Tally-Restore), and the kiosk sends those again: the
 * tally ends whole, each rating once, and a later run sends nothing more. */
static void test_ratings_lost_to_a_restore_are_sent_again(void **state)
{
    Fx *f = *state;
    ThKiosk a;
    char ta[256];
    new_kiosk(f, &a, "kiosk-r", "G01.A", SCALE_TTHC3, ta, sizeof ta);
    enum { N1 = 300, N2 = 200, N3 = 5 };
    ProtoRating *r = calloc(N1 + N2 + N3, sizeof *r);
    th_make_ratings(r, N1 + N2 + N3, "G01.A", SCALE_TTHC3, 7);
    assert_true(th_store_ratings(&a, r, N1));
    assert_int_equal(th_kiosk_sync(&a, NULL), 0);
    char backup[TH_PATH + 32], out[1024];
    snprintf(backup, sizeof backup, "%s/before.db", f->dir);
    const char *bk[] = {TALLY_ADMIN_BIN, "--db", f->srv.db, "backup", backup, NULL};
    assert_int_equal(th_run(bk, out, sizeof out), 0);
    assert_true(th_store_ratings(&a, r + N1, N2));
    assert_int_equal(th_kiosk_sync(&a, NULL), 0);
    assert_int_equal(th_store_counts(&a).acked, N1 + N2);

    th_server_stop(&f->srv);
    const char *rs[] = {TALLY_ADMIN_BIN, "--db", f->srv.db, "restore", backup, NULL};
    assert_int_equal(th_run(rs, out, sizeof out), 0);
    assert_non_null(strstr(out, "kiosks will send again"));
    assert_true(th_server_start(&f->srv));
    assert_true(th_kiosk_make(&a, a.dir, a.device_id, a.unit, SCALE_TTHC3, f->srv.url, ta)); /* its new port */
    ThCount want = {0}, got;
    th_count_add(&want, r, N1);
    assert_true(th_server_tally(&f->srv, &got));
    assert_true(th_count_equal(&want, &got)); /* the restore lost the second upload */

    /* One new rating makes the kiosk upload; the reply names the restore. */
    assert_true(th_store_ratings(&a, r + N1 + N2, N3));
    if(th_kiosk_sync(&a, NULL) != 0) {
        th_kiosk_dump_log(&a);
        fail_msg("kiosk-sync --once did not exit 0 after the restore");
    }
    assert_true(th_file_contains(a.log, "the server was restored from a backup"));
    assert_int_equal(th_store_counts(&a).pending, 0);
    th_count_add(&want, r + N1, N2 + N3);
    assert_true(th_server_tally(&f->srv, &got));
    assert_true(th_count_equal(&want, &got));
    int64_t acc, dup, rej;
    assert_true(th_replay(&f->srv, "kiosk-r", ta, r, N1 + N2 + N3, &acc, &dup, &rej));
    assert_int_equal(acc + rej, 0);
    assert_int_equal(dup, N1 + N2 + N3);

    /* The kiosk has seen this restore: nothing is queued again by the next replies. */
    ProtoRating more[1];
    th_make_ratings(more, 1, "G01.A", SCALE_TTHC3, 99);
    assert_true(th_store_ratings(&a, more, 1));
    assert_int_equal(th_kiosk_sync(&a, NULL), 0);
    assert_int_equal(th_store_counts(&a).pending, 0);
    assert_int_equal(th_store_counts(&a).acked, N1 + N2 + N3 + 1);
    assert_true(th_file_contains(a.log, "1 batches, 1 ratings sent (1 accepted, 0 duplicate"));
    free(r);
}

static void test_token_file_others_can_read_is_refused_at_start(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256], path[TH_PATH + 32];
    new_kiosk(f, &k, "kiosk-perm", "G01.A", SCALE_TTHC3, tok, sizeof tok);
    ProtoRating r[5];
    th_make_ratings(r, 5, "G01.A", SCALE_TTHC3, 3);
    assert_true(th_store_ratings(&k, r, 5));
    snprintf(path, sizeof path, "%s/device.token", k.dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(th_kiosk_sync(&k, NULL), 2);
    assert_true(th_file_contains(k.log, "chmod 600"));
    assert_int_equal(th_store_counts(&k).pending, 5);
    ThCount got, zero = {0};
    assert_true(th_server_tally(&f->srv, &got));
    assert_true(th_count_equal(&zero, &got));
    /* Fixed as the message says, it uploads. */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(th_kiosk_sync(&k, NULL), 0);
    assert_int_equal(th_store_counts(&k).pending, 0);
}

static void test_refused_token_leaves_ratings_pending_and_records_why(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-tok", "G01.A", SCALE_TTHC3, tok, sizeof tok);
    /* Re-make the kiosk with a token the server never issued. */
    assert_true(th_kiosk_make(&k, k.dir, "kiosk-tok", "G01.A", SCALE_TTHC3, f->srv.url, "not-a-real-token"));
    ProtoRating r[40];
    th_make_ratings(r, 40, "G01.A", SCALE_TTHC3, 4);
    assert_true(th_store_ratings(&k, r, 40));
    assert_int_equal(th_kiosk_sync(&k, NULL), 1);
    assert_int_equal(th_store_counts(&k).pending, 40);
    StoreSyncStatus st = status_of(&k);
    assert_non_null(strstr(st.last_error, "401"));
    assert_int_equal(st.failures, 1);
    assert_true(st.next_attempt >= st.last_attempt + 60);
    assert_int_equal(st.last_success, 0);
    /* The failure count carries over to the next run (back-off across restarts). */
    assert_int_equal(th_kiosk_sync(&k, NULL), 1);
    assert_int_equal(status_of(&k).failures, 2);
}

static void test_wrong_device_clock_is_reported_and_ratings_still_upload(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-clock", "G01.A", SCALE_TTHC3, tok, sizeof tok);
    ProtoRating r[15];
    th_make_ratings(r, 15, "G01.A", SCALE_TTHC3, 5);
    assert_true(th_store_ratings(&k, r, 5));
    /* Two hours fast. */
    const char *fast[] = {"--clock-offset-s", "7200", NULL};
    assert_int_equal(th_kiosk_sync(&k, fast), 0);
    StoreSyncStatus st = status_of(&k);
    assert_true(st.clock_skew_s > 7000 && st.clock_skew_s < 7400);
    assert_non_null(strstr(st.clock_warning, "ahead"));
    assert_true(th_file_contains(k.log, "ahead"));
    /* Years slow: before this program was built. */
    assert_true(th_store_ratings(&k, r + 5, 5));
    const char *slow[] = {"--clock-offset-s", "-300000000", NULL};
    assert_int_equal(th_kiosk_sync(&k, slow), 0);
    st = status_of(&k);
    assert_non_null(strstr(st.clock_warning, "before this program was built"));
    assert_int_equal(th_store_counts(&k).acked, 10);
    /* A good clock clears the warning at the next contact with the server. */
    assert_true(th_store_ratings(&k, r + 10, 5));
    assert_int_equal(th_kiosk_sync(&k, NULL), 0);
    assert_string_equal(status_of(&k).clock_warning, "");
    assert_true(status_of(&k).clock_skew_s < 60 && status_of(&k).clock_skew_s > -60);
    assert_int_equal(th_store_counts(&k).acked, 15);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_sync_now_request_wakes_the_daemon(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-daemon", "G01.A", SCALE_TTHC3, tok, sizeof tok);
    ProtoRating r[30];
    th_make_ratings(r, 30, "G01.A", SCALE_TTHC3, 6);
    assert_true(th_store_ratings(&k, r, 30));
    /* Back-off far in the future, as after many failures: only the request can start a run. */
    Store *s;
    char msg[256];
    assert_int_equal(store_open(k.db, &s, msg, sizeof msg), STORE_OK);
    StoreSyncStatus st;
    assert_int_equal(store_sync_status_get(s, &st), STORE_OK);
    st.next_attempt = (int64_t)time(NULL) + 3000;
    st.failures = 9;
    assert_int_equal(store_sync_status_put(s, &st), STORE_OK);

    const char *argv[] = {KIOSK_SYNC_BIN, "--config", k.ini, "--daemon", NULL};
    pid_t pid = th_spawn(argv, k.log);
    assert_true(pid > 0);
    sleep_ms(2500);
    /* The daemon respects the back-off. */
    StoreCounts c;
    assert_int_equal(store_counts(s, &c), STORE_OK);
    assert_int_equal(c.pending, 30);

    assert_int_equal(store_sync_request(s, (int64_t)time(NULL)), STORE_OK);
    for(int i = 0; i < 300; i++) { /* up to 30 s: a bound, not a timing assertion */
        assert_int_equal(store_counts(s, &c), STORE_OK);
        int64_t req = 1;
        assert_int_equal(store_sync_requested(s, &req), STORE_OK);
        if(c.pending == 0 && req == 0)
            break;
        sleep_ms(100);
    }
    assert_int_equal(c.pending, 0);
    int64_t req = 1;
    assert_int_equal(store_sync_requested(s, &req), STORE_OK);
    assert_int_equal(req, 0);
    assert_int_equal(store_sync_status_get(s, &st), STORE_OK);
    assert_int_equal(st.failures, 0);
    store_close(s);
    kill(pid, SIGTERM);
    int rc = th_wait(pid);
    if(rc != 0)
        th_kiosk_dump_log(&k);
    assert_int_equal(rc, 0);
}

static void append_line(const char *path, const char *line)
{
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs(line, fp);
    fclose(fp);
}

static void test_startup_errors_exit_2_with_the_reason(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-start", "G01.A", SCALE_TTHC3, tok, sizeof tok);
    ProtoRating r[3];
    th_make_ratings(r, 3, "G01.A", SCALE_TTHC3, 8);
    assert_true(th_store_ratings(&k, r, 3));
    /* No mode, or both modes. */
    const char *none[] = {KIOSK_SYNC_BIN, "--config", k.ini, NULL};
    assert_int_equal(th_wait(th_spawn(none, k.log)), 2);
    const char *both[] = {KIOSK_SYNC_BIN, "--config", k.ini, "--once", "--daemon", NULL};
    assert_int_equal(th_wait(th_spawn(both, k.log)), 2);
    /* A CA file that is not there. */
    append_line(k.ini, "ca_file = /nonexistent/ca.pem\n");
    assert_int_equal(th_kiosk_sync(&k, NULL), 2);
    assert_true(th_file_contains(k.log, "ca_file"));
    /* A typo in the config names its line. */
    assert_true(th_kiosk_make(&k, k.dir, "kiosk-start", "G01.A", SCALE_TTHC3, f->srv.url, tok));
    append_line(k.ini, "shedule = 03:00\n");
    assert_int_equal(th_kiosk_sync(&k, NULL), 2);
    assert_true(th_file_contains(k.log, "shedule"));
    /* Nothing was sent in any of these. */
    assert_int_equal(th_store_counts(&k).pending, 3);
    assert_true(th_kiosk_make(&k, k.dir, "kiosk-start", "G01.A", SCALE_TTHC3, f->srv.url, tok));
    assert_int_equal(th_kiosk_sync(&k, NULL), 0);
    assert_int_equal(th_store_counts(&k).pending, 0);
}

static void test_daemon_runs_a_missed_nightly_slot_at_start(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-missed", "G01.B", SCALE_TTHC3, tok, sizeof tok);
    ProtoRating r[12];
    th_make_ratings(r, 12, "G01.B", SCALE_TTHC3, 7);
    assert_true(th_store_ratings(&k, r, 12));
    /* Tonight's slot passed while the kiosk was switched off. */
    Store *s;
    char msg[256];
    assert_int_equal(store_open(k.db, &s, msg, sizeof msg), STORE_OK);
    StoreSyncStatus st;
    assert_int_equal(store_sync_status_get(s, &st), STORE_OK);
    st.next_attempt = (int64_t)time(NULL) - 5 * 3600;
    assert_int_equal(store_sync_status_put(s, &st), STORE_OK);
    const char *argv[] = {KIOSK_SYNC_BIN, "--config", k.ini, "--daemon", NULL};
    pid_t pid = th_spawn(argv, k.log);
    assert_true(pid > 0);
    StoreCounts c = {0};
    for(int i = 0; i < 300; i++) { /* up to 30 s: a bound, not a timing assertion */
        assert_int_equal(store_counts(s, &c), STORE_OK);
        if(c.pending == 0)
            break;
        sleep_ms(100);
    }
    assert_int_equal(c.pending, 0);
    assert_int_equal(c.acked, 12);
    /* The next slot is planned ahead: tomorrow night's, within the jitter window. */
    for(int i = 0; i < 100; i++) {
        assert_int_equal(store_sync_status_get(s, &st), STORE_OK);
        if(st.last_success)
            break;
        sleep_ms(100);
    }
    assert_true(st.last_success > 0);
    assert_true(st.next_attempt > st.last_success);
    assert_true(st.next_attempt <= st.last_success + 86400 + 3600);
    store_close(s);
    kill(pid, SIGTERM);
    assert_int_equal(th_wait(pid), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ratings_in_two_stores_reach_the_tally_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ratings_lost_to_a_restore_are_sent_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_others_can_read_is_refused_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_token_leaves_ratings_pending_and_records_why, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_device_clock_is_reported_and_ratings_still_upload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sync_now_request_wakes_the_daemon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daemon_runs_a_missed_nightly_slot_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_startup_errors_exit_2_with_the_reason, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
