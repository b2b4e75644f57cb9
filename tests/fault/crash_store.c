/* Crash test for the store's durability rule: a rating is on disk once store_add() returns STORE_OK.
 *
 * A child process adds ratings in a loop (every third one not satisfied, then answered with a follow-up)
 * and writes each id to a pipe only after store_add() returned OK. The parent kills it with SIGKILL at a
 * random moment, CRASH_KILLS times, and after every kill checks with plain SQLite that the file passes
 * PRAGMA integrity_check, that every reported id is stored, and that seq has no gap or repeat. The seed is
 * printed so a failing run can be repeated: CRASH_SEED=<n>. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
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

#include "kiosk/store.h"

#define CRASH_KILLS 60
#define CRASH_MAX_DELAY_US 10000
#define RECORD UUID_TEXT_LEN /* one id + NUL per pipe write: below PIPE_BUF, so never torn */

static const char READY[RECORD] = "ready";

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while(n) {
        ssize_t w = write(fd, p, n);
        if(w < 0 && errno == EINTR)
            continue;
        if(w <= 0)
            _exit(4);
        p += w;
        n -= (size_t)w;
    }
}

/* The child: adds until killed. Never returns. */
static void child(const char *path, int fd, unsigned seed)
{
    Store *s = NULL;
    char msg[512];
    if(store_open(path, &s, msg, sizeof msg) != STORE_OK) {
        fprintf(stderr, "child: %s\n", msg);
        _exit(2);
    }
    write_all(fd, READY, RECORD);
    for(unsigned i = 0;; i++) {
        ProtoRating r;
        memset(&r, 0, sizeof r);
        if(!uuid_v7_new(r.id))
            _exit(5);
        snprintf(r.unit, sizeof r.unit, "000.00.31.H21");
        r.area = (ProtoArea)((seed + i) % AREA_COUNT);
        r.scale = SCALE_TTHC3;
        r.score = i % 3 == 0 ? 1 : 3;
        r.followup = FOLLOWUP_NONE;
        ptime_format(time(NULL), PTIME_VN_OFFSET_MIN, r.at);
        if(store_add(s, &r) != STORE_OK) {
            fprintf(stderr, "child: store_add: %s\n", store_errmsg(s));
            _exit(3);
        }
        write_all(fd, r.id, RECORD);
        if(r.score == 1 && store_set_followup(s, r.id, FOLLOWUP_ANSWERED, 1u << REASON_CHO_DOI) != STORE_OK) {
            fprintf(stderr, "child: store_set_followup: %s\n", store_errmsg(s));
            _exit(3);
        }
    }
}

static void read_record(int fd, char rec[RECORD], bool *eof)
{
    size_t got = 0;
    *eof = false;
    while(got < RECORD) {
        ssize_t n = read(fd, rec + got, RECORD - got);
        if(n < 0 && errno == EINTR)
            continue;
        if(n <= 0) {
            /* A record is written whole or not at all, so EOF can only fall between records. */
            assert_int_equal(got, 0);
            *eof = true;
            return;
        }
        got += (size_t)n;
    }
    assert_int_equal(rec[RECORD - 1], '\0');
}

static int64_t query_int(sqlite3 *db, const char *sql, const char *bind)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if(bind)
        sqlite3_bind_text(st, 1, bind, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_every_committed_rating_survives_sigkill(void **state)
{
    (void)state;
    char dir[] = "/tmp/crash_store-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/kiosk.db", dir);

    const char *env = getenv("CRASH_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    print_message("crash_store: seed %u (repeat with CRASH_SEED=%u)\n", seed, seed);
    srand(seed);

    size_t n_ids = 0, cap = 1024;
    char (*ids)[RECORD] = malloc(cap * RECORD);
    assert_non_null(ids);
    int kills_mid_loop = 0;

    for(int k = 0; k < CRASH_KILLS; k++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if(pid == 0) {
            close(p[0]);
            child(path, p[1], seed + (unsigned)k);
        }
        close(p[1]);

        char rec[RECORD];
        bool eof;
        read_record(p[0], rec, &eof);
        assert_false(eof); /* the child opened the store */
        assert_string_equal(rec, READY);
        usleep((useconds_t)(rand() % CRASH_MAX_DELAY_US));
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if(!WIFSIGNALED(status))
            fail_msg("kill %d: the child stopped by itself (exit %d) before it was killed", k,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        assert_int_equal(WTERMSIG(status), SIGKILL);

        size_t before = n_ids;
        for(;;) {
            read_record(p[0], rec, &eof);
            if(eof)
                break;
            if(n_ids == cap)
                assert_non_null(ids = realloc(ids, (cap *= 2) * RECORD));
            memcpy(ids[n_ids++], rec, RECORD);
        }
        close(p[0]);
        kills_mid_loop += n_ids > before;

        /* An outside observer: plain SQLite, which also recovers the WAL the child left behind. */
        sqlite3 *db;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        for(size_t i = 0; i < n_ids; i++)
            if(query_int(db, "SELECT count(*) FROM rating WHERE id = ?1", ids[i]) != 1)
                fail_msg("kill %d: rating %s was reported committed but is not stored", k, ids[i]);
        int64_t rows = query_int(db, "SELECT count(*) FROM rating", NULL);
        assert_true(rows >= (int64_t)n_ids);
        assert_int_equal(query_int(db, "SELECT count(DISTINCT seq) FROM rating", NULL), rows);
        assert_int_equal(query_int(db, "SELECT coalesce(max(seq), 0) FROM rating", NULL), rows);
        assert_int_equal(query_int(db, "SELECT value FROM meta WHERE key = 'last_seq'", NULL), rows);
        sqlite3_close(db);
    }
    print_message("crash_store: %d kills, %zu ratings reported committed, %d kills after at least one add\n",
                  CRASH_KILLS, n_ids, kills_mid_loop);
    assert_true(n_ids > 0); /* the kills did land while ratings were being written */

    /* And the store itself opens and counts them all. */
    Store *s = NULL;
    char msg[512];
    assert_int_equal(store_open(path, &s, msg, sizeof msg), STORE_OK);
    StoreCounts c;
    assert_int_equal(store_counts(s, &c), STORE_OK);
    assert_true(c.pending >= (int64_t)n_ids);
    store_close(s);

    free(ids);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_committed_rating_survives_sigkill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
