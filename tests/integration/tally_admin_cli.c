/* tally_admin_cli.c — the real tally-admin binary: unit tree, enrolment, targets and reports.
 * Every refusal must leave the database as it was; reports must say what the API says. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sync/protocol.h"
#include "sync/uuid.h"
#include "tally_harness.h"

/* The schema version tally-admin init leaves (tally_db.c MIGRATIONS). Migration 4 (settings) comes after 3: a file rewound to 2 or 1 has neither. */
#define V4_UNDO "DROP TABLE settings; "
/* Everything migration 5 adds (wrong-clock quarantine, the writer's health row). */
#define V5_UNDO                                                                                                    \
    "DROP TABLE health; ALTER TABLE ratings DROP COLUMN quarantine; ALTER TABLE devices DROP COLUMN quarantined; " \
    "ALTER TABLE devices DROP COLUMN since; "
/* Migration 7 undone: the hours roll-ups in migration 3's shape, without the area (empty: 7 refills them). */
#define V7_UNDO                                                                                                    \
    "DROP TABLE hours_daily; DROP TABLE hours_monthly; CREATE TABLE hours_daily(unit TEXT NOT NULL, day INTEGER "  \
    "NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, unsatisfied INTEGER NOT NULL, PRIMARY KEY (unit, day, "   \
    "hour)) STRICT, WITHOUT ROWID; CREATE TABLE hours_monthly(unit TEXT NOT NULL, month INTEGER NOT NULL, weekday " \
    "INTEGER NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, unsatisfied INTEGER NOT NULL, PRIMARY KEY (unit, " \
    "month, weekday, hour)) STRICT, WITHOUT ROWID; "
/* Migration 6 undone (after 7): no daily_sat, and monthly_sat in migration 3's shape (empty: 6 rebuilds it). */
#define V6_UNDO                                                                                                    \
    V7_UNDO "DROP TABLE daily_sat; DROP TABLE monthly_sat; CREATE TABLE monthly_sat(unit TEXT NOT NULL, month INTEGER NOT " \
    "NULL, area TEXT NOT NULL, n INTEGER NOT NULL, satisfied INTEGER NOT NULL, flagged INTEGER NOT NULL, "          \
    "PRIMARY KEY (unit, month, area)) STRICT, WITHOUT ROWID; "
#define SCHEMA_VERSION 7

static TallyServer S;

static int setup(void **state)
{
    (void)state;
    return th_setup_db(&S) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    th_cleanup(&S);
    return 0;
}

static void write_file(const char *name, const char *text, char path[400])
{
    snprintf(path, 400, "%s/%s", S.dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int64_t n_units(void)
{
    return th_scalar(&S, "SELECT count(*) FROM units");
}

static void test_init_is_idempotent_and_seeds_the_targets(void **state)
{
    (void)state;
    assert_int_equal(th_admin(&S, NULL, 0, "init", (char *)NULL), 0);
    assert_int_equal(th_admin(&S, NULL, 0, "init", (char *)NULL), 0);
    assert_int_equal(th_scalar(&S, "PRAGMA user_version"), SCHEMA_VERSION);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM targets"), 2 * GROUP_COUNT);
    assert_int_equal(th_scalar(&S, "SELECT pct FROM targets WHERE grp = 'phuc_vu' AND milestone = 2030"), 95);
    assert_int_equal(th_scalar(&S, "SELECT pct FROM targets WHERE grp = 'tthc' AND milestone = 2030"), 95);
    assert_int_equal(th_scalar(&S, "SELECT pct FROM targets WHERE grp = 'y_te' AND milestone = 2025"), 85);
    char out[2048];
    assert_int_equal(th_admin(&S, out, sizeof out, "targets", "list", (char *)NULL), 0);
    assert_non_null(strstr(out, "dat_dai_xay_dung_dau_tu"));
    assert_int_equal(n_units(), 90); /* the sample tree */
    /* Any other command on a missing file refuses and creates nothing. */
    TallyServer other = S;
    snprintf(other.db, sizeof other.db, "%s/typo.db", S.dir);
    assert_int_equal(th_admin(&other, NULL, 0, "targets", "list", (char *)NULL), 1);
    assert_int_equal(access(other.db, F_OK), -1);
}

static void test_unit_tree_refuses_unknown_parents_and_cycles(void **state)
{
    (void)state;
    int64_t before = n_units();
    assert_int_equal(th_admin(&S, NULL, 0, "unit", "add", "X.1", "Xã thử", "--parent", "NO.SUCH", (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "unit", "add", "bad code!", "Xã thử", (char *)NULL), 1);
    assert_int_equal(n_units(), before);
    assert_int_equal(th_admin(&S, NULL, 0, "unit", "add", "X.A", "Xã A", "--parent", "000.00.00.H21", (char *)NULL), 0);
    assert_int_equal(th_admin(&S, NULL, 0, "unit", "add", "X.B", "Xã B", "--parent", "X.A", (char *)NULL), 0);
    /* A under its own child: refused, and A keeps its parent. */
    assert_int_equal(th_admin(&S, NULL, 0, "unit", "add", "X.A", "Xã A", "--parent", "X.B", (char *)NULL), 1);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM units WHERE code = 'X.A' AND parent = '000.00.00.H21'"), 1);
    assert_int_equal(n_units(), before + 2);
}

static void test_unit_import_is_all_or_nothing(void **state)
{
    (void)state;
    char path[400];
    int64_t before = n_units();
    /* Children before parents, a quoted name with a comma: fine. */
    write_file("ok.csv",
               "code,name,parent\n"
               "Y.2.Q01,\"Quầy 01, tầng 1\",Y.2\n"
               "Y.2,UBND xã Ia Mơ,Y.1\n"
               "Y.1,UBND huyện thử,000.00.00.H21\n",
               path);
    assert_int_equal(th_admin(&S, NULL, 0, "unit", "import", path, (char *)NULL), 0);
    assert_int_equal(n_units(), before + 3);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM units WHERE name = 'Quầy 01, tầng 1'"), 1);
    /* A bad line anywhere, an unknown parent or a cycle: nothing from that file is kept. */
    const char *bad[] = {
        "Z.1,Một,000.00.00.H21\nZ 2,Hai,Z.1\n",
        "Z.1,Một,000.00.00.H21\nZ.2,Hai,Z.9\n",
        "Z.1,Một,Z.2\nZ.2,Hai,Z.1\n",
        "Z.1,\"unterminated,000.00.00.H21\n",
        "Z.1,,000.00.00.H21\n",
    };
    for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file("bad.csv", bad[i], path);
        assert_int_equal(th_admin(&S, NULL, 0, "unit", "import", path, (char *)NULL), 1);
        assert_int_equal(n_units(), before + 3);
    }
    assert_int_equal(th_admin(&S, NULL, 0, "unit", "import", "/no/such/file.csv", (char *)NULL), 1);
    /* A NUL byte (it used to cut the name short, or hide a line's length) and a name that is not UTF-8. */
    static const char nul[] = "Z.1,M\xe1\xbb\x99t\0 v\xe1\xbb\x9bi r\xc3\xa1" "c,000.00.00.H21\n";
    static const char latin1[] = "Z.1,Ph\xf2ng m\xe9t,000.00.00.H21\n";
    const struct { const char *text; size_t len; } binary[] = {{nul, sizeof nul - 1}, {latin1, sizeof latin1 - 1}};
    for(size_t i = 0; i < sizeof binary / sizeof binary[0]; i++) {
        snprintf(path, sizeof path, "%s/binary.csv", S.dir);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(binary[i].text, 1, binary[i].len, f), binary[i].len);
        fclose(f);
        assert_int_equal(th_admin(&S, NULL, 0, "unit", "import", path, (char *)NULL), 1);
        assert_int_equal(n_units(), before + 3);
    }
}

static void test_device_tokens_are_shown_once_and_stored_only_as_hashes(void **state)
{
    (void)state;
    char tok[65];
    assert_true(th_device(&S, "cli-dev-1", "000.00.31.H21.DEMO", tok));
    for(int i = 0; i < 64; i++)
        assert_non_null(strchr("0123456789abcdef", tok[i]));
    /* The token text is nowhere in the database file. */
    FILE *f = fopen(S.db, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_null(memmem(buf, n, tok, 64));
    char again[65];
    assert_false(th_device(&S, "cli-dev-1", "000.00.31.H21.DEMO", again)); /* already enrolled */
    assert_false(th_device(&S, "cli-dev-2", "NO.SUCH.UNIT", again));
    assert_false(th_device(&S, "bad id!", "000.00.31.H21.DEMO", again));
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM devices"), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "device", "revoke", "cli-dev-9", (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "device", "revoke", "cli-dev-1", (char *)NULL), 0);
    assert_int_equal(th_scalar(&S, "SELECT revoked_at IS NOT NULL FROM devices WHERE id = 'cli-dev-1'"), 1);
}

static void test_targets_set_checks_its_arguments(void **state)
{
    (void)state;
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "y_te", "2030", "92.5", (char *)NULL), 0);
    assert_true(th_scalar(&S, "SELECT pct * 10 FROM targets WHERE grp = 'y_te' AND milestone = 2030") == 925);
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "hai_quan", "2030", "90", (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "y_te", "2027", "90", (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "y_te", "2025", "0", (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "y_te", "2025", "101", (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "y_te", "2025", "abc", (char *)NULL), 1);
    assert_int_equal(th_scalar(&S, "SELECT pct FROM targets WHERE grp = 'y_te' AND milestone = 2025"), 85);
    assert_int_equal(th_admin(&S, NULL, 0, "targets", "set", "y_te", "2030", "90", (char *)NULL), 0);
}

static void test_report_says_what_the_api_says(void **state)
{
    (void)state;
    char tok[65], viewer[65];
    const char *unit = "000.01.21.H21.Q01";
    assert_true(th_device(&S, "cli-rep", unit, tok));
    assert_true(th_viewer(&S, "cli-viewer", viewer));
    assert_true(th_start(&S));
    ProtoRating r[40];
    for(int i = 0; i < 40; i++) {
        memset(&r[i], 0, sizeof r[i]);
        uint8_t rnd[10] = {(uint8_t)i, 9, 9};
        uuid_v7_make(r[i].id, 1764000000000ull + (uint64_t)i, rnd);
        r[i].seq = i + 1 + (i >= 20); /* seq 21 never arrives: a gap of one */
        snprintf(r[i].unit, sizeof r[i].unit, "%s", unit);
        r[i].area = i % 2 ? AREA_DAT_DAI : AREA_Y_TE;
        r[i].scale = SCALE_TTHC3;
        r[i].score = i % 5 ? 3 : 1;
        r[i].followup = r[i].score == 1 ? (i % 10 ? FOLLOWUP_SKIPPED : FOLLOWUP_ANSWERED) : FOLLOWUP_NONE;
        if(r[i].followup == FOLLOWUP_ANSWERED)
            r[i].reasons = 1u << REASON_CHO_DOI | 1u << REASON_THU_TUC;
        snprintf(r[i].at, sizeof r[i].at, "2026-04-%02dT09:00:00+07:00", 1 + i % 28);
    }
    char *body = proto_batch_dump("0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d9e", "cli-rep", "2026-04-30T21:00:00+07:00", r, 40);
    ThResp resp = th_http(&S, "POST", "/api/v1/batches", tok, "application/json", body, strlen(body), false);
    assert_int_equal(resp.status, 200);
    th_resp_free(&resp);
    free(body);
    resp = th_http(&S, "GET", "/api/v1/tally?from=2026-01-01&to=2026-12-31&unit=000.00.21.H21&by=area,quarter",
                   viewer, NULL, NULL, 0, false);
    assert_int_equal(resp.status, 200);
    static char out[65536];
    assert_int_equal(th_admin(&S, out, sizeof out, "report", "--from", "2026-01-01", "--to", "2026-12-31", "--unit",
                              "000.00.21.H21", "--by", "area,quarter", "--format", "json", (char *)NULL),
                     0);
    assert_string_equal(out, resp.body); /* one query function, two doors */
    th_resp_free(&resp);
    assert_int_equal(th_admin(&S, out, sizeof out, "report", "--from", "2026-01-01", "--to", "2026-12-31", "--by",
                              "area", "--format", "csv", (char *)NULL),
                     0);
    assert_non_null(strstr(out, "key,n,satisfied,pct,wilson_low,wilson_high,flagged,group,"));
    assert_non_null(strstr(out, "\ndat_dai,20,16,80.00,"));
    assert_non_null(strstr(out, "\ny_te,20,16,80.00,"));
    assert_non_null(strstr(out, ",dat_dai_xay_dung_dau_tu,85.00,chua_du_mau,90.00,chua_du_mau"));
    assert_int_equal(th_admin(&S, out, sizeof out, "report", "--from", "2026-01-01", "--to", "2026-12-31", "--min-n",
                              "20", "--by", "area", (char *)NULL),
                     0);
    assert_non_null(strstr(out, "Không đạt / not met"));
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--from", "2026-13-01", "--to", "2026-12-31", (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--from", "2026-01-01", "--to", "2026-12-31", "--unit", "NO.SUCH",
                              (char *)NULL),
                     1);
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "xml",
                              (char *)NULL),
                     1);
    /* device list: the kiosk that uploaded shows its last upload and its clock against ours (it sent
     * 2026-04-30T21:00:00+07:00, long before now: a large negative skew); the revoked one shows revoked. */
    assert_int_equal(th_admin(&S, out, sizeof out, "device", "list", (char *)NULL), 0);
    char *line = strstr(out, "\ncli-rep ");
    assert_non_null(line);
    assert_non_null(strstr(line, "active"));
    char *skew = strstr(line, " -");
    assert_non_null(skew);
    assert_true(atoll(skew + 1) < -3600);
    line = strstr(out, "\ncli-dev-1 ");
    assert_non_null(line);
    assert_true(strncmp(strstr(line, "revoked"), "revoked", 7) == 0);
    assert_int_equal(th_admin(&S, NULL, 0, "frobnicate", (char *)NULL), 2);
    assert_int_equal(th_stop(&S), 0);
}

/* Everything migrations 3 to 6 add, dropped again: a version-2 file as it was before the dashboard. */
#define V3_UNDO                                                                                                    \
    V6_UNDO "DROP TABLE monthly_sat; DROP TABLE reasons_daily; DROP TABLE reasons_monthly; DROP TABLE hours_daily; "      \
    "DROP TABLE hours_monthly; DROP TABLE sessions; DROP TABLE login_failures; DROP TABLE audit; "                \
    "ALTER TABLE devices DROP COLUMN received; ALTER TABLE devices DROP COLUMN max_seq; "                          \
    "ALTER TABLE viewers DROP COLUMN unit; ALTER TABLE viewers DROP COLUMN pw_hash; " V4_UNDO V5_UNDO

/* One table's rows as text, in key order, for comparing a roll-up before and after a migration rebuilt it. */
static char *dump_table(const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(S.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    while(sqlite3_step(st) == SQLITE_ROW) {
        for(int c = 0; c < sqlite3_column_count(st); c++) {
            const char *v = (const char *)sqlite3_column_text(st, c);
            size_t need = strlen(v ? v : "") + 2;
            if(len + need + 1 > cap)
                out = realloc(out, cap *= 2);
            len += (size_t)snprintf(out + len, cap - len, "%s%c", v ? v : "", c + 1 < sqlite3_column_count(st) ? ',' : '\n');
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/* A device's first rating (seq 1) at counter 000.01.21.H21.Q01, at the tap; `salt` makes its id. */
static ProtoRating counter_rating(ProtoArea area, int score, const char *at, uint8_t salt)
{
    ProtoRating r = {.seq = 1, .area = area, .scale = SCALE_TTHC3, .score = score, .followup = FOLLOWUP_NONE};
    uint8_t rnd[10] = {salt, salt, salt};
    uuid_v7_make(r.id, 1764000000000ull + salt * 100000ull, rnd);
    snprintf(r.unit, sizeof r.unit, "000.01.21.H21.Q01");
    snprintf(r.at, sizeof r.at, "%s", at);
    return r;
}

/* Posts one rating as kiosk `device` and expects the reply's counts. */
static void post_one(const char *device, const char *tok, const ProtoRating *r, int accepted, int duplicate)
{
    char *body = proto_batch_dump("0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8e00", device, "2026-04-30T21:00:00+07:00", r, 1);
    ThResp resp = th_http(&S, "POST", "/api/v1/batches", tok, "application/json", body, strlen(body), false);
    assert_int_equal(resp.status, 200);
    json_t *j = json_loads(resp.body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "accepted")), accepted);
    assert_int_equal(json_integer_value(json_object_get(j, "duplicate")), duplicate);
    json_decref(j);
    th_resp_free(&resp);
    free(body);
}

/* The dashboard's roll-ups and device counters, kept at ingest, equal what migrations 3 and 6 compute from the
 * stored rating rows: drop them, migrate again, compare. One rating was stored at the tap and then gained its
 * follow-up answers, its service face, who rated and how long they waited (an updated body): the rebuild reads
 * the newest body, as ingest moved its reasons and its daily_sat / monthly_sat cell. */
static void test_migration_3_rebuilds_the_dashboard_rollups_as_ingest_keeps_them(void **state)
{
    (void)state;
    char tok[65];
    assert_true(th_device(&S, "cli-upd", "000.01.21.H21.Q01", tok));
    assert_true(th_start(&S));
    ProtoRating tap = counter_rating(AREA_XAY_DUNG, 1, "2026-04-15T10:30:00+07:00", 7);
    ProtoRating answered = tap;
    answered.followup = FOLLOWUP_ANSWERED;
    answered.reasons = 1u << REASON_THAI_DO;
    answered.service_score = 1;
    answered.respondent = RESPONDENT_DOANH_NGHIEP;
    answered.wait = WAIT_TREN_30;
    post_one("cli-upd", tok, &tap, 1, 0);
    post_one("cli-upd", tok, &answered, 1, 0);
    post_one("cli-upd", tok, &tap, 0, 1);
    assert_int_equal(th_stop(&S), 0);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM reasons_daily WHERE unit = '000.01.21.H21.Q01'"
                                   " AND area = 'xay_dung' AND reason = 'thai_do' AND n = 1"), 1);
    assert_int_equal(th_scalar(&S, "SELECT received * 10 + max_seq FROM devices WHERE id = 'cli-upd'"), 11);
    /* Moved, not added: one cell, in the doanh_nghiep row, with the service face and the wait. */
    assert_int_equal(th_scalar(&S, "SELECT sum(n + flagged) FROM daily_sat WHERE unit = '000.01.21.H21.Q01'"),
                     th_scalar(&S, "SELECT count(*) FROM ratings WHERE unit = '000.01.21.H21.Q01'"));
    assert_int_equal(th_scalar(&S, "SELECT n * 1000 + svc_n * 100 + wait_n * 10 + wait_within FROM daily_sat"
                                   " WHERE unit = '000.01.21.H21.Q01' AND respondent = 'doanh_nghiep'"), 1110);
    static const char *const TABLES[] = {
        "SELECT * FROM monthly_sat ORDER BY 1, 2, 3, 4", "SELECT * FROM daily_sat ORDER BY 1, 2, 3, 4",
        "SELECT * FROM reasons_daily ORDER BY 1, 2, 3, 4",
        "SELECT * FROM reasons_monthly ORDER BY 1, 2, 3, 4", "SELECT * FROM hours_daily ORDER BY 1, 2, 3, 4",
        "SELECT * FROM hours_monthly ORDER BY 1, 2, 3, 4, 5", "SELECT id, received, max_seq FROM devices ORDER BY id"};
    enum { N = sizeof TABLES / sizeof TABLES[0] };
    char *before[N];
    assert_true(th_scalar(&S, "SELECT count(*) FROM ratings") >= 40);
    assert_true(th_scalar(&S, "SELECT count(*) FROM reasons_daily") > 0);
    assert_true(th_scalar(&S, "SELECT count(*) FROM hours_daily") > 0);
    assert_int_equal(th_scalar(&S, "SELECT max_seq - received FROM devices WHERE id = 'cli-rep'"), 1);
    for(int i = 0; i < N; i++)
        before[i] = dump_table(TABLES[i]);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(S.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, V3_UNDO "PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(th_admin(&S, NULL, 0, "init", (char *)NULL), 0);
    assert_int_equal(th_scalar(&S, "PRAGMA user_version"), SCHEMA_VERSION);
    for(int i = 0; i < N; i++) {
        char *after = dump_table(TABLES[i]);
        assert_string_equal(after, before[i]);
        free(after);
        free(before[i]);
    }
}

/* A version-1 file (daily roll-up only) gains the monthly roll-up, filled from the daily one, on open. */
static void test_migration_fills_the_monthly_rollup_from_the_daily_one(void **state)
{
    (void)state;
    static char before[65536], after[65536];
    assert_true(th_scalar(&S, "SELECT sum(n) FROM daily") >= 40); /* the ratings of the report test */
    assert_int_equal(th_admin(&S, before, sizeof before, "report", "--from", "2026-01-01", "--to", "2026-12-31",
                              "--by", "area,quarter", "--format", "json", (char *)NULL),
                     0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(S.db, &db), SQLITE_OK);
    /* Back to version 1: without what migrations 2 (monthly), 3 (dashboard), 4 (settings), 5 (quarantine,
     * health) and 6 (daily_sat) add. */
    assert_int_equal(sqlite3_exec(db, "DROP TABLE monthly; " V3_UNDO "PRAGMA user_version = 1;", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(th_scalar(&S, "PRAGMA user_version"), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "init", (char *)NULL), 0);
    assert_int_equal(th_scalar(&S, "PRAGMA user_version"), SCHEMA_VERSION);
    assert_int_equal(th_scalar(&S, "SELECT sum(n) FROM monthly"), th_scalar(&S, "SELECT sum(n) FROM daily"));
    assert_int_equal(th_admin(&S, after, sizeof after, "report", "--from", "2026-01-01", "--to", "2026-12-31",
                              "--by", "area,quarter", "--format", "json", (char *)NULL),
                     0);
    assert_string_equal(after, before);
    assert_non_null(strstr(after, "\"n\":20"));
}

/* Migration 6 rebuilds daily_sat and monthly_sat from the stored rows as ingest keeps them, and leaves out a
 * quarantined rating (a kiosk clock four years ahead) that gained its service face, respondent and wait later:
 * it is in no tally, before the rebuild or after. */
static void test_migration_6_rebuilds_the_counts_without_quarantined_ratings(void **state)
{
    (void)state;
    char tok[65];
    assert_true(th_device(&S, "cli-q", "000.01.21.H21.Q01", tok));
    assert_true(th_start(&S));
    ProtoRating tap = counter_rating(AREA_DAT_DAI, 3, "2030-04-15T10:30:00+07:00", 9);
    ProtoRating answered = tap;
    answered.service_score = 3;
    answered.respondent = RESPONDENT_TO_CHUC;
    answered.wait = WAIT_DUOI_15;
    post_one("cli-q", tok, &tap, 1, 0);
    post_one("cli-q", tok, &answered, 1, 0);
    assert_int_equal(th_stop(&S), 0);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM ratings WHERE device = 'cli-q' AND quarantine = 1"), 1);
    /* Migration 7 too: the hours roll-ups refilled per area, without the quarantined rating, as ingest keeps them. */
    static const char *const TABLES[] = {"SELECT * FROM monthly_sat ORDER BY 1, 2, 3, 4",
                                         "SELECT * FROM daily_sat ORDER BY 1, 2, 3, 4",
                                         "SELECT * FROM hours_daily ORDER BY 1, 2, 3, 4",
                                         "SELECT * FROM hours_monthly ORDER BY 1, 2, 3, 4, 5"};
    enum { N = sizeof TABLES / sizeof TABLES[0] };
    char *before[N];
    for(int i = 0; i < N; i++)
        before[i] = dump_table(TABLES[i]);
    assert_true(th_scalar(&S, "SELECT count(*) FROM hours_daily") > 0);
    assert_true(th_scalar(&S, "SELECT count(*) FROM daily_sat") > 0);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM daily_sat WHERE respondent = 'to_chuc'"), 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(S.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, V6_UNDO "PRAGMA user_version = 5;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(th_admin(&S, NULL, 0, "init", (char *)NULL), 0);
    assert_int_equal(th_scalar(&S, "PRAGMA user_version"), SCHEMA_VERSION);
    for(int i = 0; i < N; i++) {
        char *after = dump_table(TABLES[i]);
        assert_string_equal(after, before[i]);
        free(after);
        free(before[i]);
    }
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM monthly_sat WHERE respondent = 'to_chuc'"), 0);
}

static void test_server_listens_on_ipv6(void **state)
{
    (void)state;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool v6 = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if(fd >= 0)
        close(fd);
    if(!v6)
        skip(); /* no IPv6 loopback on this machine */
    snprintf(S.listen, sizeof S.listen, "[::1]:0");
    assert_true(th_start(&S));
    assert_non_null(strstr(S.url, "http://[::1]:"));
    ThResp r = th_http(&S, "GET", "/healthz", NULL, NULL, NULL, 0, false);
    assert_int_equal(r.status, 200);
    th_resp_free(&r);
    assert_int_equal(th_stop(&S), 0);
    S.listen[0] = '\0';
}

static int run_server(const char *a1, const char *a2, const char *a3, const char *a4)
{
    pid_t pid = fork();
    if(pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        execl(TALLY_SERVER_BIN, TALLY_SERVER_BIN, a1, a2, a3, a4, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_server_refuses_bad_arguments_at_start(void **state)
{
    (void)state;
    assert_int_equal(run_server("--listen", "127.0.0.1:0", NULL, NULL), 2);          /* no --db */
    assert_int_equal(run_server("--db", S.db, "--listen", "127.0.0.1"), 2);          /* no port */
    assert_int_equal(run_server("--db", S.db, "--listen", "127.0.0.1:99999"), 2);    /* no such port */
    assert_int_equal(run_server("--db", S.db, "--listen", "[::1:8080"), 2);
    assert_int_equal(run_server("--db", "/no/such/dir/tally.db", "--listen", "127.0.0.1:0"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_idempotent_and_seeds_the_targets),
        cmocka_unit_test(test_unit_tree_refuses_unknown_parents_and_cycles),
        cmocka_unit_test(test_unit_import_is_all_or_nothing),
        cmocka_unit_test(test_device_tokens_are_shown_once_and_stored_only_as_hashes),
        cmocka_unit_test(test_targets_set_checks_its_arguments),
        cmocka_unit_test(test_report_says_what_the_api_says),
        cmocka_unit_test(test_migration_3_rebuilds_the_dashboard_rollups_as_ingest_keeps_them),
        cmocka_unit_test(test_migration_fills_the_monthly_rollup_from_the_daily_one),
        cmocka_unit_test(test_migration_6_rebuilds_the_counts_without_quarantined_ratings),
        cmocka_unit_test(test_server_listens_on_ipv6),
        cmocka_unit_test(test_server_refuses_bad_arguments_at_start),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
