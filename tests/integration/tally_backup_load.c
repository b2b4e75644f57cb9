/* tally_backup_load.c — `tally-admin backup` while 20 kiosks upload, then `tally-admin restore`.
 *
 * Every backup must pass integrity_check and be one consistent moment of the live database: for each kiosk
 * the first c of its ratings (kiosks upload oldest first, in order) and nothing else, with c between what
 * the live database held of that kiosk just before the backup began and just after it ended (so at least
 * what the kiosk had been acknowledged before it began), and roll-ups that add up to the rating rows. Restored, a backup serves exactly the tally of what it
 * held; the backup taken after the uploads serves the tally of everything the kiosks were acknowledged. A
 * restore over the database of a running server is refused and changes nothing. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sync_harness.h"

#define KIOSKS 20
#define PER_KIOSK 800
#define BATCH "16" /* fifty batches per kiosk: a thousand small transactions for the backups to cut through */
#define BACKUPS 5
#define TOTAL (KIOSKS * PER_KIOSK)

static ThKiosk k[KIOSKS];
static char token[KIOSKS][256];
static ProtoRating r[KIOSKS][PER_KIOSK];

/* A read-only look at a database file. */
static sqlite3 *open_ro(const char *path)
{
    sqlite3 *db = NULL;
    if(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "open %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

static int64_t ratings_in_file(const char *path)
{
    sqlite3 *db = open_ro(path);
    int64_t n = db ? scalar(db, "SELECT count(*) FROM ratings") : -1;
    sqlite3_close(db);
    return n;
}

/* Each kiosk's store, kept open beside its kiosk-sync so that a look at it costs next to nothing (the
 * backups must all fall inside the upload). */
static Store *store[KIOSKS];

/* How many ratings each kiosk's store says the server acknowledged. */
static void acked_now(int64_t out[KIOSKS])
{
    for(int i = 0; i < KIOSKS; i++) {
        StoreCounts c;
        assert_int_equal(store_counts(store[i], &c), STORE_OK);
        out[i] = c.acked;
    }
}

/* How many ratings of each kiosk a database holds. */
static void held_by(sqlite3 *db, int64_t out[KIOSKS])
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM ratings WHERE device = ?1", -1, &st, NULL), SQLITE_OK);
    for(int i = 0; i < KIOSKS; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, k[i].device_id, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        out[i] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
}

typedef struct {
    int64_t acked[KIOSKS];       /* acknowledged to the kiosks before the backup began */
    int64_t live_before[KIOSKS]; /* in the live database just before it began */
    int64_t live_after[KIOSKS];  /* and just after it ended */
} Moment;

/* Checks one backup file; fills held[i] with kiosk i's ratings in it. */
static void check_backup(const char *path, const Moment *m, int64_t held[KIOSKS])
{
    sqlite3 *db = open_ro(path);
    assert_non_null(db);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    /* The roll-ups were written in the same transactions as the rows: a torn snapshot would not add up. */
    int64_t rows = scalar(db, "SELECT count(*) FROM ratings");
    assert_int_equal(scalar(db, "SELECT coalesce(sum(n), 0) FROM daily"), rows);
    assert_int_equal(scalar(db, "SELECT coalesce(sum(n), 0) FROM monthly"), rows);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), max(id) FROM ratings WHERE device = ?1", -1, &st, NULL),
                     SQLITE_OK);
    int64_t sum = 0;
    for(int i = 0; i < KIOSKS; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, k[i].device_id, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t c = sqlite3_column_int64(st, 0);
        /* Ids are time-ordered and the ratings were made in time order: c rows whose largest id is the c-th
         * rating's are exactly the first c ratings. */
        if(c > 0)
            assert_string_equal((const char *)sqlite3_column_text(st, 1), r[i][c - 1].id);
        if(c < m->acked[i] || c < m->live_before[i] || c > m->live_after[i])
            fprintf(stderr, "%s: kiosk %d holds %lld; acknowledged %lld, live %lld before and %lld after\n", path,
                    i, (long long)c, (long long)m->acked[i], (long long)m->live_before[i],
                    (long long)m->live_after[i]);
        assert_true(c >= m->acked[i] && c >= m->live_before[i] && c <= m->live_after[i]);
        held[i] = c;
        sum += c;
    }
    sqlite3_finalize(st);
    assert_int_equal(sum, rows);
    sqlite3_close(db);
}

/* The tally a server started on db_path serves, against the count of what it should hold. */
static void check_restored_tally(const ThServer *proto, const char *db_path, const int64_t held[KIOSKS])
{
    ThServer s = *proto;
    snprintf(s.db, sizeof s.db, "%s", db_path);
    s.pid = -1;
    assert_true(th_server_start(&s));
    ThCount want = {0}, got;
    for(int i = 0; i < KIOSKS; i++)
        th_count_add(&want, r[i], (size_t)held[i]);
    bool ok = th_server_tally(&s, &got);
    th_server_stop(&s);
    assert_true(ok);
    assert_true(th_count_equal(&want, &got));
}

static int admin(const ThServer *s, char *out, size_t len, const char *a1, const char *a2)
{
    const char *argv[] = {TALLY_ADMIN_BIN, "--db", s->db, a1, a2, NULL};
    int rc = th_run(argv, out, len);
    if(rc != 0)
        fprintf(stderr, "tally-admin %s %s: exit %d: %s\n", a1, a2, rc, out);
    return rc;
}

static void test_backups_under_upload_load_are_consistent_and_restore_to_the_acknowledged_tally(void **state)
{
    (void)state;
    char dir[TH_PATH];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_backup_load"));
    assert_true(th_server_init(&srv, dir));
    for(int i = 0; i < KIOSKS; i++) {
        char unit[32], id[32], kdir[TH_PATH];
        snprintf(unit, sizeof unit, "G01.Q%02d", i);
        snprintf(id, sizeof id, "kiosk-%02d", i);
        snprintf(kdir, sizeof kdir, "%.200s/%s", dir, id);
        assert_int_equal(mkdir(kdir, 0700), 0);
        assert_true(th_server_unit(&srv, unit, "G01"));
        assert_true(th_server_device(&srv, id, unit, token[i], sizeof token[i]));
        ProtoScale scale = i % 3 == 0 ? SCALE_LIKERT5 : SCALE_TTHC3;
        assert_true(th_kiosk_make(&k[i], kdir, id, unit, scale, "http://127.0.0.1:1", token[i]));
        th_make_ratings(r[i], PER_KIOSK, unit, scale, 700 + (uint64_t)i);
        assert_true(th_store_ratings(&k[i], r[i], PER_KIOSK));
    }
    assert_true(th_server_start(&srv));
    for(int i = 0; i < KIOSKS; i++)
        assert_true(th_kiosk_make(&k[i], k[i].dir, k[i].device_id, k[i].unit, k[i].scale, srv.url, token[i]));

    char smsg[256];
    for(int i = 0; i < KIOSKS; i++)
        assert_int_equal(store_open(k[i].db, &store[i], smsg, sizeof smsg), STORE_OK);
    const char *extra[] = {"--batch-size", BATCH, NULL};
    pid_t pid[KIOSKS];
    for(int i = 0; i < KIOSKS; i++)
        assert_true((pid[i] = th_kiosk_sync_spawn(&k[i], extra)) > 0);

    /* Five backups in the first half of the upload, one after another: each starts once the server holds
     * another twelfth of it (a backup round takes a fraction of a second, the upload several seconds). */
    static Moment m[BACKUPS];
    char path[BACKUPS][TH_PATH + 32], out[1024];
    sqlite3 *live = open_ro(srv.db);
    assert_non_null(live);
    for(int b = 0; b < BACKUPS; b++) {
        int64_t goal = (int64_t)TOTAL * (b + 1) / 12;
        for(int waited = 0; scalar(live, "SELECT count(*) FROM ratings") < goal && waited < 120000; waited += 20)
            nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
        snprintf(path[b], sizeof path[b], "%s/backup-%d.db", dir, b);
        acked_now(m[b].acked);
        held_by(live, m[b].live_before);
        assert_int_equal(admin(&srv, out, sizeof out, "backup", path[b]), 0);
        held_by(live, m[b].live_after);
    }
    sqlite3_close(live);
    int failed = 0;
    for(int i = 0; i < KIOSKS; i++)
        if(th_wait(pid[i]) != 0) {
            th_kiosk_dump_log(&k[i]);
            failed++;
        }
    assert_int_equal(failed, 0);

    int64_t held[BACKUPS][KIOSKS], prev[KIOSKS] = {0};
    int mid_load = 0;
    for(int b = 0; b < BACKUPS; b++) {
        check_backup(path[b], &m[b], held[b]);
        int64_t sum = 0;
        for(int i = 0; i < KIOSKS; i++) {
            assert_true(held[b][i] >= prev[i]); /* later backups never hold less */
            prev[i] = held[b][i];
            sum += held[b][i];
        }
        printf("backup %d: %lld of %d ratings\n", b, (long long)sum, TOTAL);
        mid_load += sum > 0 && sum < TOTAL;
    }
    /* The load really was going on: a backup takes well under a second and the upload several. */
    assert_true(mid_load >= BACKUPS - 1);

    /* After the uploads: one more backup, and a restore over the live database is refused, changing nothing. */
    char final[TH_PATH + 32];
    snprintf(final, sizeof final, "%s/backup-final.db", dir);
    assert_int_equal(admin(&srv, out, sizeof out, "backup", final), 0);
    const char *restore_live[] = {TALLY_ADMIN_BIN, "--db", srv.db, "restore", path[0], NULL};
    assert_int_equal(th_run(restore_live, out, sizeof out), 1);
    assert_int_equal(ratings_in_file(srv.db), TOTAL);
    th_server_stop(&srv);

    /* The server's own file, restored from the final backup: every rating a kiosk was acknowledged. */
    int64_t acked[KIOSKS];
    acked_now(acked);
    for(int i = 0; i < KIOSKS; i++) {
        assert_int_equal(acked[i], PER_KIOSK);
        store_close(store[i]);
    }
    const char *restore[] = {TALLY_ADMIN_BIN, "--db", srv.db, "restore", final, NULL};
    assert_int_equal(th_run(restore, out, sizeof out), 0);
    check_restored_tally(&srv, srv.db, acked);
    /* A backup from the middle of the load, restored into a fresh file: exactly what it held. */
    char fresh[TH_PATH + 32];
    snprintf(fresh, sizeof fresh, "%s/restored-mid.db", dir);
    const char *restore_mid[] = {TALLY_ADMIN_BIN, "--db", fresh, "restore", path[BACKUPS / 2], NULL};
    assert_int_equal(th_run(restore_mid, out, sizeof out), 0);
    check_restored_tally(&srv, fresh, held[BACKUPS / 2]);
    th_rmtree(dir);
}

static bool touch(const char *dir, const char *name)
{
    char p[TH_PATH + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    return f && fclose(f) == 0;
}

static bool exists(const char *dir, const char *name)
{
    char p[TH_PATH + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void test_backup_into_a_folder_keeps_the_newest_n_and_nothing_else_is_touched(void **state)
{
    (void)state;
    char dir[TH_PATH], bdir[TH_PATH + 16], out[1024];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_backup_keep"));
    assert_true(th_server_init(&srv, dir));
    snprintf(bdir, sizeof bdir, "%s/backups", dir);
    assert_int_equal(mkdir(bdir, 0700), 0);
    /* Three older backups, and files that only look like one. */
    assert_true(touch(bdir, "tally-20200101T000000Z.db") && touch(bdir, "tally-20200102T000000Z.db") &&
                touch(bdir, "tally-20200103T000000Z.db") && touch(bdir, "tally-2020.db") &&
                touch(bdir, "pre-upgrade-from-0.1.0.db") && touch(bdir, "notes.txt"));
    const char *argv[] = {TALLY_ADMIN_BIN, "--db", srv.db, "backup", bdir, "--keep", "2", NULL};
    assert_int_equal(th_run(argv, out, sizeof out), 0);
    assert_non_null(strstr(out, "removed 2 older backup(s)"));
    assert_false(exists(bdir, "tally-20200101T000000Z.db"));
    assert_false(exists(bdir, "tally-20200102T000000Z.db"));
    assert_true(exists(bdir, "tally-20200103T000000Z.db"));
    assert_true(exists(bdir, "tally-2020.db") && exists(bdir, "pre-upgrade-from-0.1.0.db") && exists(bdir, "notes.txt"));
    const char *name = strstr(out, bdir); /* "backup DIR/tally-…Z.db: 0 ratings, …" */
    assert_non_null(name);
    char made[TH_PATH + 64];
    snprintf(made, sizeof made, "%.*s", (int)strcspn(name, ":"), name);
    assert_int_equal(ratings_in_file(made), 0); /* a real, readable tally database */
    /* --keep only with a folder; a database that does not exist is not backed up (nor created). */
    char file[TH_PATH + 32];
    snprintf(file, sizeof file, "%s/one.db", dir);
    const char *keep_file[] = {TALLY_ADMIN_BIN, "--db", srv.db, "backup", file, "--keep", "2", NULL};
    assert_int_equal(th_run(keep_file, out, sizeof out), 1);
    char missing[TH_PATH + 32];
    snprintf(missing, sizeof missing, "%s/missing.db", dir);
    const char *no_db[] = {TALLY_ADMIN_BIN, "--db", missing, "backup", file, NULL};
    assert_int_equal(th_run(no_db, out, sizeof out), 1);
    assert_false(exists(dir, "missing.db"));
    assert_false(exists(dir, "one.db"));
    th_rmtree(dir);
}

static void test_restore_refuses_a_damaged_or_foreign_file_and_changes_nothing(void **state)
{
    (void)state;
    char dir[TH_PATH], out[1024], bad[TH_PATH + 32], foreign[TH_PATH + 32], token[256];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_restore_bad"));
    assert_true(th_server_init(&srv, dir));
    assert_true(th_server_device(&srv, "kiosk-x", "G01", token, sizeof token));
    snprintf(bad, sizeof bad, "%s/garbage.db", dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    for(int i = 0; i < 4096; i++)
        fputc("SQLite format 3"[i % 15] ^ (i > 100 ? 0x5a : 0), f);
    fclose(f);
    snprintf(foreign, sizeof foreign, "%s/other.db", dir);
    sqlite3 *o;
    assert_int_equal(sqlite3_open(foreign, &o), SQLITE_OK);
    assert_int_equal(sqlite3_exec(o, "CREATE TABLE t(x); PRAGMA user_version = 3;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(o);
    const char *from_bad[] = {TALLY_ADMIN_BIN, "--db", srv.db, "restore", bad, NULL};
    const char *from_foreign[] = {TALLY_ADMIN_BIN, "--db", srv.db, "restore", foreign, NULL};
    assert_int_equal(th_run(from_bad, out, sizeof out), 1);
    assert_int_equal(th_run(from_foreign, out, sizeof out), 1);
    /* The database is as it was: the device enrolled above still lists. */
    const char *list[] = {TALLY_ADMIN_BIN, "--db", srv.db, "device", "list", NULL};
    assert_int_equal(th_run(list, out, sizeof out), 0);
    assert_non_null(strstr(out, "kiosk-x"));
    th_rmtree(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backups_under_upload_load_are_consistent_and_restore_to_the_acknowledged_tally),
        cmocka_unit_test(test_backup_into_a_folder_keeps_the_newest_n_and_nothing_else_is_touched),
        cmocka_unit_test(test_restore_refuses_a_damaged_or_foreign_file_and_changes_nothing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
