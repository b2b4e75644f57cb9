/* test_ui_e2e.c — the real `kiosk` binary under SDL_VIDEODRIVER=dummy, driven by --script (injected SDL
 * finger events with their synthetic mouse twins, and real mouse clicks), then the ratings checked in the
 * SQLite store through store.h, and the same day read back with the real `kiosk-report`.
 * A database that cannot be opened shows the storage error, and the retry saves once storage is back.
 * Also: `kiosk --hash-pin` prints a config line whose hash verifies, and refuses a non-numeric PIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kiosk/store.h"
#include "sync/ptime.h"

#define KIOSK_BIN TEST_BINARY_DIR "/kiosk/kiosk"
#define REPORT_BIN TEST_BINARY_DIR "/kiosk/kiosk-report"
#define RUN_LIMIT_S 90

static char dir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs argv with a time limit, with stderr (its log) into log_path (NULL: inherited) and SDL_AUDIODRIVER=audio;
 * returns the exit status (or -1 when killed). */
static int run_logged(char *const argv[], const char *log_path, const char *audio)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if(pid == 0) {
        if(log_path && !freopen(log_path, "w", stderr))
            _exit(126);
        setenv("SDL_VIDEODRIVER", "dummy", 1);
        setenv("SDL_AUDIODRIVER", audio, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    for(int i = 0; i < RUN_LIMIT_S * 10; i++) {
        if(waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("%s did not finish within %d s", argv[0], RUN_LIMIT_S);
    return -1;
}

static int run(char *const argv[]) { return run_logged(argv, NULL, "dummy"); }

static bool log_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    bool found = false;
    while(f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if(f)
        fclose(f);
    return found;
}

static const ProtoRating *find_area(const ProtoRating *r, size_t n, ProtoArea a)
{
    for(size_t i = 0; i < n; i++)
        if(r[i].area == a)
            return &r[i];
    return NULL;
}

static void test_touches_reach_the_store(void **st)
{
    (void)st;
    /* A fast Argon2 hash for the test (the real one from --hash-pin is slower on purpose). */
    char hash[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(hash, "2468", 4, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[kiosk]\ndevice_id = e2e-01\nunit_code = 000.00.31.H21\nunit_name = Một cửa thử\n"
             "areas = dat_dai, xay_dung, y_te\nscale = tthc3\ndatabase = k.db\nidle_timeout_s = 5\n"
             "supervisor_pin_hash = %s\n",
             hash);
    write_file("kiosk.ini", ini);
    write_file("script.txt",
               "expect area\n"
               "tap area:xay_dung\n"      /* touch panel: finger + synthetic mouse twin */
               "expect rating\n"
               "tap face:1\n"
               "expect reasons\n"
               "tap reason:cho_doi\n"
               "click reason:thai_do\n"   /* a real mouse */
               "tap send\n"
               "expect thanks\n"
               "wait 4800\n"
               "expect area\n"
               "click area:dat_dai\n"
               "tap face:3\n"             /* ~5.5 s after the first rating (< 8 s): rapid repeat */
               "expect thanks\n"
               "wait 9000\n"
               "tap area:y_te\n"
               "tap face:1\n"             /* >8 s after the previous one: not flagged */
               "expect reasons\n"
               "wait 6500\n"              /* walk away: idle timeout (5 s) */
               "expect area\n"
               "press corner\n"
               "wait 3600\n"
               "release corner\n"
               "expect pin\n"
               "tap key:2\ntap key:4\ntap key:6\ntap key:8\ntap ok\n"
               "wait 500\n"
               "expect supervisor\n"
               "tap sync\n"
               "tap exit\n"
               "expect pin\n"
               "tap key:2\ntap key:4\ntap key:6\ntap key:8\ntap ok\n" /* the app exits by itself */
               "wait 3000\n"
               "expect never-reached\n");
    char cfg[512], script[512];
    snprintf(cfg, sizeof cfg, "%s/kiosk.ini", dir);
    snprintf(script, sizeof script, "%s/script.txt", dir);
    int64_t before = (int64_t)time(NULL);
    char *argv[] = {KIOSK_BIN, "--config", cfg, "--windowed", "--size", "800x480", "--script", script, NULL};
    assert_int_equal(run(argv), 0); /* 0: quit through "Thoát ứng dụng", every expect held */
    int64_t after = (int64_t)time(NULL);

    char db[512], msg[256];
    snprintf(db, sizeof db, "%s/k.db", dir);
    Store *s;
    assert_int_equal(store_open(db, &s, msg, sizeof msg), STORE_OK);
    ProtoRating r[8];
    size_t n = 0;
    assert_int_equal(store_pending(s, r, 8, &n), STORE_OK);
    assert_int_equal(n, 3); /* one rating per face tap: the mouse twins added nothing */

    const ProtoRating *a = find_area(r, n, AREA_XAY_DUNG), *b = find_area(r, n, AREA_DAT_DAI),
                      *c = find_area(r, n, AREA_Y_TE);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(a->score, 1);
    assert_int_equal(a->followup, FOLLOWUP_ANSWERED);
    assert_int_equal(a->reasons, (1u << REASON_CHO_DOI) | (1u << REASON_THAI_DO));
    assert_int_equal(a->flags, 0);
    assert_string_equal(a->unit, "000.00.31.H21");
    assert_int_equal(b->score, 3);
    assert_int_equal(b->flags, PROTO_FLAG_RAPID_REPEAT);
    assert_int_equal(b->followup, FOLLOWUP_NONE);
    assert_int_equal(c->score, 1);
    assert_int_equal(c->flags, 0);
    assert_int_equal(c->followup, FOLLOWUP_TIMEOUT);
    assert_int_equal(c->reasons, 0);
    int64_t at;
    int off;
    assert_true(ptime_parse(a->at, &at, &off));
    assert_int_equal(off, PTIME_VN_OFFSET_MIN);
    assert_true(at >= before && at <= after);
    assert_true(a->seq < b->seq && b->seq < c->seq);

    int64_t req = 0;
    assert_int_equal(store_sync_requested(s, &req), STORE_OK);
    assert_true(req >= before && req <= after); /* "Đồng bộ ngay" was recorded */

    StoreDayTotals t;
    int64_t day = ptime_vn_day(at);
    assert_int_equal(store_day_totals(s, day, &t), STORE_OK);
    store_close(s);
    assert_int_equal(t.n[AREA_XAY_DUNG], 1);
    assert_int_equal(t.n[AREA_DAT_DAI], 0); /* flagged: left out of n */
    assert_int_equal(t.flagged[AREA_DAT_DAI], 1);

    /* kiosk-report reads the same day back. */
    char date[PTIME_DATE_LEN], cmd[1024], out[4096] = "";
    ptime_format_date(day, date);
    snprintf(cmd, sizeof cmd, "%s --config %s --date %s --format csv", REPORT_BIN, cfg, date);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);
    char want[128];
    snprintf(want, sizeof want, "%s,000.00.31.H21,xay_dung,Xây dựng,tthc3,1,0,0,1,0,0.0,0\n", date);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "%s,000.00.31.H21,dat_dai,Đất đai,tthc3,0,0,0,0,0,,1\n", date);
    assert_non_null(strstr(out, want));
}

/* The real app saves a not-satisfied rating held from upload while its reasons screen is open: quit with the
 * screen open, the rating stays held; the next start of the app (no screen can be open then) releases it. */
static void test_followup_screen_holds_the_rating_until_it_closes(void **st)
{
    (void)st;
    write_file("hold.ini", "[kiosk]\ndevice_id = e2e-04\nunit_code = u4\nareas = dat_dai\ndatabase = hold.db\n"
                           "idle_timeout_s = 60\n");
    write_file("hold.txt", "expect rating\ntap face:1\nexpect reasons\nquit\n");
    char cfg[512], script[512], db[512], msg[256];
    snprintf(cfg, sizeof cfg, "%s/hold.ini", dir);
    snprintf(script, sizeof script, "%s/hold.txt", dir);
    snprintf(db, sizeof db, "%s/hold.db", dir);
    char *argv[] = {KIOSK_BIN, "--config", cfg, "--windowed", "--size", "800x480", "--script", script, NULL};
    assert_int_equal(run(argv), 0);
    Store *s;
    int64_t held = -1;
    assert_int_equal(store_open(db, &s, msg, sizeof msg), STORE_OK);
    assert_int_equal(store_queue_held(s, (int64_t)time(NULL), INT64_MAX, &held), STORE_OK);
    assert_int_equal(held, 1);
    StoreQueued q[2];
    size_t n = 9;
    assert_int_equal(store_queue_next(s, (int64_t)time(NULL), q, 2, &n), STORE_OK);
    assert_int_equal(n, 0); /* the uploader would not take it */
    store_close(s);

    write_file("hold.txt", "expect rating\nquit\n");
    assert_int_equal(run(argv), 0);
    assert_int_equal(store_open(db, &s, msg, sizeof msg), STORE_OK);
    assert_int_equal(store_queue_held(s, (int64_t)time(NULL), INT64_MAX, &held), STORE_OK);
    assert_int_equal(held, 0);
    assert_int_equal(store_queue_next(s, (int64_t)time(NULL), q, 2, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(q[0].r.followup, FOLLOWUP_NONE); /* goes as it is; an answer can no longer come */
    store_close(s);
}

/* Storage that cannot be opened (the database path is a folder): the tap shows the calm error, not thanks;
 * when storage is back (the folder removed), the automatic retry saves that same rating and thanks. */
static void test_storage_failure_is_not_thanked_and_recovers(void **st)
{
    (void)st;
    char db[512], cfg[512], script[512], logp[512];
    snprintf(db, sizeof db, "%s/broken.db", dir);
    assert_int_equal(mkdir(db, 0700), 0);
    write_file("broken.ini", "[kiosk]\ndevice_id = e2e-03\nunit_code = u3\nareas = dat_dai, khac\ndatabase = broken.db\n");
    write_file("broken.txt", "tap area:dat_dai\n"
                             "tap face:3\n"
                             "expect storage-error\n"
                             "wait 7000\n" /* the app retries every 5 s */
                             "expect thanks\n"
                             "quit\n");
    snprintf(cfg, sizeof cfg, "%s/broken.ini", dir);
    snprintf(script, sizeof script, "%s/broken.txt", dir);
    snprintf(logp, sizeof logp, "%s/broken.log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if(pid == 0) {
        if(!freopen(logp, "w", stderr))
            _exit(126);
        setenv("SDL_VIDEODRIVER", "dummy", 1);
        execl(KIOSK_BIN, KIOSK_BIN, "--config", cfg, "--windowed", "--size", "800x480", "--script", script,
              (char *)NULL);
        _exit(127);
    }
    /* Wait until the app has failed to save the tapped rating (its second "cannot open" line: the first is
     * at start-up), then give it its storage back. */
    bool fixed = false;
    for(int i = 0; i < 300 && !fixed; i++) {
        usleep(50000);
        FILE *f = fopen(logp, "r");
        char line[512];
        int fails = 0;
        while(f && fgets(line, sizeof line, f))
            fails += strstr(line, "cannot open the store") != NULL;
        if(f)
            fclose(f);
        if(fails >= 2) {
            assert_int_equal(rmdir(db), 0);
            fixed = true;
        }
    }
    assert_true(fixed);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0); /* storage-error shown, then thanks: every expect held */

    Store *s;
    char msg[256];
    assert_int_equal(store_open(db, &s, msg, sizeof msg), STORE_OK);
    ProtoRating r[4];
    size_t n = 0;
    assert_int_equal(store_pending(s, r, 4, &n), STORE_OK);
    store_close(s);
    assert_int_equal(n, 1); /* saved once, by the retry */
    assert_int_equal(r[0].area, AREA_DAT_DAI);
    assert_int_equal(r[0].score, 3);
}

/* Five wrong PINs lock the pad; the lock is kept beside the database and still holds after a restart. */
static void test_pin_lock_survives_a_restart(void **st)
{
    (void)st;
    char hash[crypto_pwhash_STRBYTES], ini[1024], cfg[512], script[512], lockp[512];
    assert_int_equal(crypto_pwhash_str(hash, "2468", 4, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
    snprintf(ini, sizeof ini,
             "[kiosk]\ndevice_id = e2e-04\nunit_code = u4\nareas = dat_dai, khac\ndatabase = lock.db\n"
             "supervisor_pin_hash = %s\n", hash);
    write_file("lock.ini", ini);
    char wrong[1024] = "press corner\nwait 3600\nrelease corner\nexpect pin\n";
    for(int i = 0; i < 5; i++)
        strcat(wrong, "tap key:1\ntap key:3\ntap key:5\ntap key:7\ntap ok\n");
    strcat(wrong, "quit\n");
    write_file("lock.txt", wrong);
    snprintf(cfg, sizeof cfg, "%s/lock.ini", dir);
    snprintf(script, sizeof script, "%s/lock.txt", dir);
    snprintf(lockp, sizeof lockp, "%s/lock.db.pinlock", dir);
    int64_t before = (int64_t)time(NULL);
    char *argv[] = {KIOSK_BIN, "--config", cfg, "--windowed", "--size", "800x480", "--script", script, NULL};
    assert_int_equal(run(argv), 0);
    FILE *f = fopen(lockp, "r");
    assert_non_null(f);
    long long until = 0;
    assert_int_equal(fscanf(f, "%lld", &until), 1);
    fclose(f);
    assert_true(until / 1000 >= before + 290 && until / 1000 <= (int64_t)time(NULL) + 300);

    /* Restarted: the right PIN is refused while the lock lasts (the pad stays, no supervisor screen). */
    write_file("lock.txt", "press corner\nwait 3600\nrelease corner\nexpect pin\n"
                           "tap key:2\ntap key:4\ntap key:6\ntap key:8\ntap ok\nwait 300\nexpect pin\nquit\n");
    assert_int_equal(run(argv), 0);
}

/* voice = yes: "Nghe" reads the start screen through SDL audio (the dummy driver here), a first touch reads a
 * tile and a second chooses it, each file from the Vietnamese pack's voice folder; without a sound device the
 * kiosk says so in its log, shows no "Nghe" button and works as before. */
static void test_voice_reads_aloud_and_a_kiosk_without_sound_runs_silently(void **st)
{
    (void)st;
    write_file("voice.ini", "[kiosk]\ndevice_id = e2e-05\nunit_code = u5\nareas = dat_dai, khac\ndatabase = voice.db\n"
                            "voice = yes\nask_wait = yes\n");
    write_file("voice.txt", "expect area\n"
                            "tap listen\n"
                            "tap area:dat_dai\n"
                            "expect area\n"
                            "tap area:dat_dai\n"
                            "expect rating\n"
                            "tap face:3\n"
                            "tap face:3\n"
                            "expect wait\n"
                            "quit\n");
    char cfg[512], script[512], logp[512];
    snprintf(cfg, sizeof cfg, "%s/voice.ini", dir);
    snprintf(script, sizeof script, "%s/voice.txt", dir);
    snprintf(logp, sizeof logp, "%s/voice.log", dir);
    char *argv[] = {KIOSK_BIN, "--config", cfg, "--windowed", "--size", "800x480", "--script", script, NULL};
    assert_int_equal(run_logged(argv, logp, "dummy"), 0);
    assert_true(log_has(logp, "spoken prompts on (audio driver dummy)"));
    assert_true(log_has(logp, "saying vi/area_title.wav vi/area_dat_dai.wav vi/area_khac.wav"));
    assert_true(log_has(logp, "saying vi/area_dat_dai.wav vi/listen_again.wav"));
    assert_true(log_has(logp, "saying vi/rating_title.wav vi/khong_hai_long.wav vi/hai_long.wav vi/rat_hai_long.wav"));
    assert_true(log_has(logp, "saying vi/wait_title.wav vi/wait_duoi_15.wav vi/wait_15_30.wav vi/wait_tren_30.wav"));
    assert_false(log_has(logp, "cannot play")); /* every file was there and played */
    /* No sound device: said in the log, no "Nghe" button (the script cannot find it), the flow as before. */
    assert_int_equal(run_logged(argv, logp, "no-such-audio-driver"), 3);
    assert_true(log_has(logp, "voice = yes, but no sound"));
    assert_true(log_has(logp, "running silently, without the Nghe button"));
    assert_true(log_has(logp, "no target 'listen' on the area screen"));
    write_file("voice.txt", "tap area:dat_dai\ntap face:3\nexpect wait\ntap wait:duoi_15\nexpect thanks\nquit\n");
    assert_int_equal(run_logged(argv, logp, "no-such-audio-driver"), 0);
}

static void test_failed_expect_fails_the_run(void **st)
{
    (void)st;
    /* The hook must be able to fail: expecting the wrong screen exits 3, and nothing is stored. */
    write_file("bad.ini", "[kiosk]\ndevice_id = e2e-02\nunit_code = u2\nareas = dat_dai, khac\ndatabase = bad.db\n");
    write_file("bad.txt", "expect rating\n");
    char cfg[512], script[512];
    snprintf(cfg, sizeof cfg, "%s/bad.ini", dir);
    snprintf(script, sizeof script, "%s/bad.txt", dir);
    char *argv[] = {KIOSK_BIN, "--config", cfg, "--windowed", "--size", "1080x1920", "--script", script, NULL};
    assert_int_equal(run(argv), 3);
    write_file("bad.txt", "tap face:9\n");
    assert_int_equal(run(argv), 3);
}

static void test_hash_pin_prints_a_config_line_that_verifies(void **st)
{
    (void)st;
    char cmd[512], out[512] = "";
    snprintf(cmd, sizeof cmd, "printf '13579\\n' | %s --hash-pin", KIOSK_BIN);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);
    const char *prefix = "supervisor_pin_hash = ";
    assert_memory_equal(out, prefix, strlen(prefix));
    char *h = out + strlen(prefix);
    h[strcspn(h, "\n")] = '\0';
    assert_int_equal(crypto_pwhash_str_verify(h, "13579", 5), 0);
    assert_int_not_equal(crypto_pwhash_str_verify(h, "13578", 5), 0);

    snprintf(cmd, sizeof cmd, "printf '12ab\\n' | %s --hash-pin 2>/dev/null", KIOSK_BIN);
    p = popen(cmd, "r");
    got = fread(out, 1, sizeof out - 1, p);
    int rc = pclose(p);
    assert_int_equal(got, 0);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
}

static int setup(void **st)
{
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/kiosk-ui-e2e-XXXXXX");
    return (mkdtemp(dir) && sodium_init() >= 0) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    const char *files[] = {"kiosk.ini", "script.txt", "k.db", "k.db-wal", "k.db-shm", "bad.ini", "bad.txt",
                           "bad.db", "bad.db-wal", "bad.db-shm", "broken.ini", "broken.txt", "broken.log",
                           "broken.db", "broken.db-wal", "broken.db-shm", "lock.ini", "lock.txt", "lock.db",
                           "lock.db-wal", "lock.db-shm", "lock.db.pinlock", "hold.ini", "hold.txt", "hold.db",
                           "hold.db-wal", "hold.db-shm", "voice.ini", "voice.txt", "voice.log", "voice.db",
                           "voice.db-wal", "voice.db-shm"};
    for(size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

/* An optional argument selects tests by name pattern (ctest runs the slow ones as separate entries). */
int main(int argc, char **argv)
{
    if(argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_touches_reach_the_store),
        cmocka_unit_test(test_followup_screen_holds_the_rating_until_it_closes),
        cmocka_unit_test(test_storage_failure_is_not_thanked_and_recovers),
        cmocka_unit_test(test_pin_lock_survives_a_restart),
        cmocka_unit_test(test_voice_reads_aloud_and_a_kiosk_without_sound_runs_silently),
        cmocka_unit_test(test_failed_expect_fails_the_run),
        cmocka_unit_test(test_hash_pin_prints_a_config_line_that_verifies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
