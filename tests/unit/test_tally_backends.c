/* test_tally_backends.c — the tally database's public functions give the same answers on SQLite and on
 * PostgreSQL 15 (issue 14; docs/internals/storage.md). Every test runs one body against each backend: a fresh
 * SQLite file, and a fresh schema in a throwaway cluster that tests/pg/pg-cluster starts for this binary (and
 * stops at the end). Without postgresql-15 installed the PostgreSQL half is skipped with a message saying so;
 * any other failure to start the cluster fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "sync/tally/tally_db.h"
#include "sync/tally/tally_ingest.h"
#include "sync/tally/tally_account.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_render.h"
#include "sync/tally/tally_report.h"
#include "tests/unit/testutil.h"

#define CLUSTER TEST_SOURCE_DIR "/tests/pg/pg-cluster"

typedef enum { BK_SQLITE, BK_PG, BK_COUNT } Backend;
static const char *const BK_NAME[BK_COUNT] = {"sqlite", "postgresql"};

static char g_tmp[256];      /* SQLite files */
static char g_pgdir[64];     /* the cluster */
static char g_uri[512];      /* "" when PostgreSQL is skipped */
static int  g_file_seq;

/* ---- Fixture: one fresh database per backend --------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if(!tu_mkdtemp(g_tmp, sizeof g_tmp, "tally-backends"))
        return -1;
    snprintf(g_pgdir, sizeof g_pgdir, "/tmp/pgtbXXXXXX");
    if(!mkdtemp(g_pgdir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s start %s", CLUSTER, g_pgdir);
    FILE *p = popen(cmd, "r");
    if(!p)
        return -1;
    if(!fgets(g_uri, sizeof g_uri, p))
        g_uri[0] = '\0';
    int st = pclose(p);
    g_uri[strcspn(g_uri, "\n")] = '\0';
    if(WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        fprintf(stderr, "test_tally_backends: SKIPPING PostgreSQL: initdb not installed (scripts/bootstrap installs "
                        "postgresql-15); only SQLite is tested\n");
        g_uri[0] = '\0';
        return 0;
    }
    if(!WIFEXITED(st) || WEXITSTATUS(st) != 0 || strncmp(g_uri, "postgresql://", 13) != 0) {
        fprintf(stderr, "test_tally_backends: tests/pg/pg-cluster start failed (status %d)\n", st);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s stop %s", CLUSTER, g_pgdir);
    int rc = system(cmd);
    tu_rmtree(g_tmp);
    return rc == 0 ? 0 : -1;
}

/* Runs sql on the cluster outside the code under test (resetting the schema, poking the version). */
static void pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(g_uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "SET client_min_messages = warning")); /* not the DROP's "drop cascades to …" notices */
    PGresult *r = PQexec(c, sql);
    if(PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* The database name for a fresh one: a new file, or the cluster's database with an empty schema. */
static bool fresh(Backend b, char *where, size_t cap)
{
    if(b == BK_PG) {
        if(!g_uri[0])
            return false;
        pg_admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        snprintf(where, cap, "%s", g_uri);
    } else {
        snprintf(where, cap, "%s/t%d.db", g_tmp, ++g_file_seq);
    }
    return true;
}

static TallyDb *open_fresh(Backend b)
{
    char where[600], msg[TALLY_MSG_MAX] = "";
    if(!fresh(b, where, sizeof where))
        return NULL;
    TallyDb *db = NULL;
    TallyErr e = tally_db_open(where, &db, msg);
    if(e)
        fail_msg("%s: open: %s", BK_NAME[b], msg);
    return db;
}

#define EACH_BACKEND(b, db)                                                                                  \
    for(Backend b = BK_SQLITE; b < BK_COUNT; b++)                                                            \
        for(TallyDb *db = open_fresh(b); db; tally_db_close(db), db = NULL)

/* ---- Open and migrations ----------------------------------------------------------------------------- */

static void test_open_migrates_and_seeds_targets(void **state)
{
    (void)state;
    for(Backend b = BK_SQLITE; b < BK_COUNT; b++) {
        char where[600], msg[TALLY_MSG_MAX];
        if(!fresh(b, where, sizeof where))
            continue;
        TallyDb *db;
        assert_int_equal(tally_db_open(where, &db, msg), TALLY_OK);
        TallyTarget t[GROUP_COUNT];
        assert_int_equal(tally_targets_get(db, t, msg), TALLY_OK);
        for(int g = 0; g < GROUP_COUNT; g++) {
            assert_true(t[g].pct[0] == proto_group_default_target((ProtoGroup)g, 2025));
            assert_true(t[g].pct[1] == proto_group_default_target((ProtoGroup)g, 2030));
        }
        tally_db_close(db);
        /* Opening again migrates nothing and keeps what is there. */
        assert_int_equal(tally_db_open(where, &db, msg), TALLY_OK);
        assert_int_equal(tally_unit_add(db, "P", "Tỉnh Gia Lai", NULL, msg), TALLY_OK);
        tally_db_close(db);
        assert_int_equal(tally_db_open(where, &db, msg), TALLY_OK);
        assert_int_equal(tally_unit_add(db, "P", "Tỉnh Gia Lai", NULL, msg), TALLY_OK);
        TallyUnit *u;
        size_t n;
        assert_int_equal(tally_unit_list(db, &u, &n, msg), TALLY_OK);
        assert_int_equal(n, 1);
        free(u);
        tally_db_close(db);
        /* A database from a newer program is refused, not touched. */
        if(b == BK_PG) {
            pg_admin("UPDATE schema_version SET version = 99");
        } else {
            sqlite3 *s;
            assert_int_equal(sqlite3_open(where, &s), SQLITE_OK);
            assert_int_equal(sqlite3_exec(s, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
            sqlite3_close(s);
        }
        db = (TallyDb *)1;
        assert_int_equal(tally_db_open(where, &db, msg), TALLY_E_DB);
        assert_null(db);
        assert_non_null(strstr(msg, "schema version 99 is unknown"));
    }
}

/* Several server processes starting on one new PostgreSQL database migrate it once between them. */
static void test_pg_concurrent_open_migrates_once(void **state)
{
    (void)state;
    char where[600];
    if(!fresh(BK_PG, where, sizeof where))
        skip();
    enum { N = 4 };
    pid_t pid[N];
    for(int i = 0; i < N; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if(pid[i] == 0) {
            char msg[TALLY_MSG_MAX];
            TallyDb *db;
            TallyErr e = tally_db_open(where, &db, msg);
            if(e)
                fprintf(stderr, "child %d: %s\n", i, msg);
            tally_db_close(db);
            _exit(e ? 1 : 0);
        }
    }
    for(int i = 0; i < N; i++) {
        int st;
        assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    PGconn *c = PQconnectdb(g_uri);
    PGresult *r = PQexec(c, "SELECT version FROM schema_version");
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), "2");
    PQclear(r);
    r = PQexec(c, "SELECT count(*) FROM targets");
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), GROUP_COUNT * 2);
    PQclear(r);
    PQfinish(c);
}

/* ---- Units ------------------------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Every unit as "code|name|parent;" in code order: what is compared between backends. */
static void units_text(TallyDb *db, char *out, size_t cap)
{
    char msg[TALLY_MSG_MAX];
    TallyUnit *u;
    size_t n;
    assert_int_equal(tally_unit_list(db, &u, &n, msg), TALLY_OK);
    out[0] = '\0';
    for(size_t i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s|%s|%s;", u[i].code, u[i].name, u[i].parent);
    }
    free(u);
}

static void test_units(void **state)
{
    (void)state;
    char seen[BK_COUNT][4096] = {{0}};
    char csv[300], bad[300];
    snprintf(csv, sizeof csv, "%s/units.csv", g_tmp);
    snprintf(bad, sizeof bad, "%s/bad.csv", g_tmp);
    /* A child before its parent, a quoted name with a comma, a header. */
    write_file(csv, "code,name,parent\n"
                    "X.1,\"Xã Ia Kha, huyện Ia Grai\",H\n"
                    "H,Huyện Ia Grai,P\n"
                    "S,Sở Tài nguyên và Môi trường,P\n");
    write_file(bad, "Z1,Một,P\nZ2,Hai,NOPE\n");
    EACH_BACKEND(b, db) {
        char msg[TALLY_MSG_MAX];
        size_t n = 99;
        assert_int_equal(tally_unit_add(db, "P", "Tỉnh Gia Lai", "", msg), TALLY_OK);
        assert_int_equal(tally_unit_import_csv(db, csv, &n, msg), TALLY_OK);
        assert_int_equal(n, 3);
        /* An unknown parent in a file rolls the whole file back. */
        assert_int_equal(tally_unit_import_csv(db, bad, &n, msg), TALLY_E_INVALID);
        assert_int_equal(n, 0);
        assert_non_null(strstr(msg, "unit Z2 has unknown parent NOPE"));
        /* A unit under its own descendant is refused and nothing changes. */
        assert_int_equal(tally_unit_add(db, "H", "Huyện Ia Grai", "X.1", msg), TALLY_E_INVALID);
        assert_non_null(strstr(msg, "own ancestor"));
        assert_int_equal(tally_unit_add(db, "Q", "Quầy", "NOPE", msg), TALLY_E_NOT_FOUND);
        assert_int_equal(tally_unit_add(db, "bad code!", "Quầy", "P", msg), TALLY_E_INVALID);
        /* Rename and re-parent. */
        assert_int_equal(tally_unit_add(db, "S", "Sở Nông nghiệp và Môi trường", "H", msg), TALLY_OK);
        bool in;
        assert_int_equal(tally_unit_in_scope(db, "X.1", "P", &in, msg), TALLY_OK);
        assert_true(in);
        assert_int_equal(tally_unit_in_scope(db, "X.1", "H", &in, msg), TALLY_OK);
        assert_true(in);
        assert_int_equal(tally_unit_in_scope(db, "H", "X.1", &in, msg), TALLY_OK);
        assert_false(in);
        assert_int_equal(tally_unit_in_scope(db, "S", "", &in, msg), TALLY_OK);
        assert_true(in);
        assert_int_equal(tally_unit_in_scope(db, "NOPE", "P", &in, msg), TALLY_E_NOT_FOUND);
        units_text(db, seen[b], sizeof seen[b]);
        assert_string_equal(seen[b], "H|Huyện Ia Grai|P;P|Tỉnh Gia Lai|;S|Sở Nông nghiệp và Môi trường|H;"
                                     "X.1|Xã Ia Kha, huyện Ia Grai|H;");
    }
    if(g_uri[0])
        assert_string_equal(seen[BK_SQLITE], seen[BK_PG]);
}

/* ---- Devices and viewers ----------------------------------------------------------------------------- */

typedef struct {
    char text[2048];
} DevList;

static bool dev_line(const TallyDevice *d, void *ud)
{
    DevList *l = ud;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof l->text - len, "%s@%s revoked=%d since_default=%d recv=%lld;", d->id, d->unit,
             d->revoked_at != 0, d->since == d->created_at - TALLY_SINCE_DEFAULT_S, (long long)d->received);
    return true;
}

static void test_devices_and_viewers(void **state)
{
    (void)state;
    char seen[BK_COUNT][2048] = {{0}};
    EACH_BACKEND(b, db) {
        char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1], tok2[TALLY_TOKEN_HEX + 1], vtok[TALLY_TOKEN_HEX + 1];
        char id[PROTO_ID_MAX + 1], unit[PROTO_ID_MAX + 1], name[TALLY_NAME_MAX + 1];
        TallyAuth a;
        assert_int_equal(tally_unit_add(db, "P", "Tỉnh", NULL, msg), TALLY_OK);
        assert_int_equal(tally_unit_add(db, "H", "Huyện", "P", msg), TALLY_OK);
        assert_int_equal(tally_device_add(db, "k1", "H", 0, tok, msg), TALLY_OK);
        assert_int_equal(strlen(tok), TALLY_TOKEN_HEX);
        assert_int_equal(tally_device_add(db, "k2", "P", 1700000000, tok2, msg), TALLY_OK);
        assert_string_not_equal(tok, tok2);
        assert_int_equal(tally_device_add(db, "k1", "P", 0, tok2, msg), TALLY_E_EXISTS);
        assert_string_equal(tok2, "");
        assert_non_null(strstr(msg, "already enrolled"));
        assert_int_equal(tally_device_add(db, "k3", "NOPE", 0, tok2, msg), TALLY_E_NOT_FOUND);
        assert_int_equal(tally_auth_device(db, tok, &a, id, unit, msg), TALLY_OK);
        assert_int_equal(a, TALLY_AUTH_OK);
        assert_string_equal(id, "k1");
        assert_string_equal(unit, "H");
        assert_int_equal(tally_auth_device(db, "0123", &a, id, unit, msg), TALLY_OK);
        assert_int_equal(a, TALLY_AUTH_UNKNOWN);
        assert_int_equal(tally_device_revoke(db, "k1", msg), TALLY_OK);
        assert_int_equal(tally_device_revoke(db, "k1", msg), TALLY_OK); /* again: keeps the first time */
        assert_int_equal(tally_device_revoke(db, "k9", msg), TALLY_E_NOT_FOUND);
        assert_int_equal(tally_auth_device(db, tok, &a, id, unit, msg), TALLY_OK);
        assert_int_equal(a, TALLY_AUTH_REVOKED);
        DevList l = {""};
        assert_int_equal(tally_device_list(db, dev_line, &l, msg), TALLY_OK);
        assert_string_equal(l.text, "k1@H revoked=1 since_default=1 recv=0;k2@P revoked=0 since_default=0 recv=0;");
        snprintf(seen[b], sizeof seen[b], "%s", l.text);

        /* A scoped viewer with a long Vietnamese name (longer than PROTO_ID_MAX bytes): given back whole. */
        const char *long_name = "Chủ tịch Ủy ban nhân dân huyện Ia Grai, tỉnh Gia Lai (người xem báo cáo)";
        assert_int_equal(tally_viewer_add_scoped(db, long_name, "H", vtok, msg), TALLY_OK);
        assert_int_equal(tally_viewer_add_scoped(db, long_name, "", tok2, msg), TALLY_E_EXISTS);
        assert_int_equal(tally_viewer_add_scoped(db, "v2", "NOPE", tok2, msg), TALLY_E_NOT_FOUND);
        assert_int_equal(tally_auth_viewer_scope(db, vtok, &a, name, unit, msg), TALLY_OK);
        assert_int_equal(a, TALLY_AUTH_OK);
        assert_string_equal(name, long_name);
        assert_string_equal(unit, "H");
        assert_int_equal(tally_viewer_add(db, "province", tok2, msg), TALLY_OK);
        assert_int_equal(tally_auth_viewer_scope(db, tok2, &a, name, unit, msg), TALLY_OK);
        assert_string_equal(unit, "");
        assert_int_equal(tally_auth_viewer(db, tok, &a, msg), TALLY_OK); /* a device's token is no viewer's */
        assert_int_equal(a, TALLY_AUTH_UNKNOWN);
        assert_int_equal(tally_viewer_revoke(db, long_name, msg), TALLY_OK);
        assert_int_equal(tally_viewer_revoke(db, "nobody", msg), TALLY_E_NOT_FOUND);
        assert_int_equal(tally_auth_viewer(db, vtok, &a, msg), TALLY_OK);
        assert_int_equal(a, TALLY_AUTH_REVOKED);
    }
    if(g_uri[0])
        assert_string_equal(seen[BK_SQLITE], seen[BK_PG]);
}

/* ---- Targets and settings ---------------------------------------------------------------------------- */

static void test_targets_and_settings(void **state)
{
    (void)state;
    EACH_BACKEND(b, db) {
        char msg[TALLY_MSG_MAX], val[TALLY_SETTING_MAX + 1];
        TallyTarget t[GROUP_COUNT];
        assert_int_equal(tally_target_set(db, (ProtoGroup)0, 2025, 91.25, msg), TALLY_OK);
        assert_int_equal(tally_target_set(db, (ProtoGroup)0, 2030, 0.1, msg), TALLY_OK);
        assert_int_equal(tally_target_set(db, (ProtoGroup)0, 2026, 90, msg), TALLY_E_INVALID);
        assert_int_equal(tally_target_set(db, (ProtoGroup)0, 2025, 100.5, msg), TALLY_E_INVALID);
        assert_int_equal(tally_targets_get(db, t, msg), TALLY_OK);
        assert_true(t[0].pct[0] == 91.25);
        assert_true(t[0].pct[1] == 0.1); /* exact: not rounded on the way through text */
        assert_true(t[1].pct[0] == proto_group_default_target((ProtoGroup)1, 2025));

        bool found = true;
        assert_int_equal(tally_setting_get(db, "report.signer", val, sizeof val, &found, msg), TALLY_OK);
        assert_false(found);
        assert_string_equal(val, "");
        assert_int_equal(tally_setting_set(db, "report.signer", "Nguyễn Văn A", msg), TALLY_OK);
        assert_int_equal(tally_setting_set(db, "report.signer", "Trần Thị Bích", msg), TALLY_OK);
        assert_int_equal(tally_setting_set(db, "report.place", "bad\x01", msg), TALLY_E_INVALID);
        assert_int_equal(tally_setting_get(db, "report.signer", val, sizeof val, &found, msg), TALLY_OK);
        assert_true(found);
        assert_string_equal(val, "Trần Thị Bích");
        assert_int_equal(tally_setting_set(db, "report.signer", NULL, msg), TALLY_OK);
        assert_int_equal(tally_setting_get(db, "report.signer", val, sizeof val, &found, msg), TALLY_OK);
        assert_false(found);
        assert_int_equal(tally_db_probe_write(db, 1700000000, msg), TALLY_OK);
        assert_int_equal(tally_db_read_begin(db, msg), TALLY_OK);
        assert_int_equal(tally_db_read_begin(db, msg), TALLY_OK); /* nests */
        assert_int_equal(tally_targets_get(db, t, msg), TALLY_OK);
        tally_db_read_end(db);
        tally_db_read_end(db);
    }
}

/* ---- Accounts: passwords, sign-in, lockout, sessions, audit -------------------------------------------- */

typedef struct {
    char text[2048];
} AuditText;

static bool audit_line(const TallyAuditLine *l, void *ud)
{
    AuditText *t = ud;
    size_t len = strlen(t->text);
    /* Not the time: a failure is dated when its hash is done, a second or more later on a loaded machine. */
    snprintf(t->text + len, sizeof t->text - len, "%s %s %s %s;", l->viewer, l->addr, l->event, l->detail);
    return true;
}

/* Sessions live in the database (any tally-server instance serves any signed-in viewer): the same sign-in
 * rules and the same audit trail on both backends. */
static void test_accounts(void **state)
{
    (void)state;
    char seen[BK_COUNT][2048] = {{0}};
    EACH_BACKEND(b, db) {
        char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1];
        TallyLockPolicy pol = tally_lock_policy_default();
        pol.name_slow_after = 2;
        pol.name_lock_after = 3;
        const int64_t t0 = 1795400000;
        TallyLoginResult r;
        TallySession ses;
        bool found;
        assert_int_equal(tally_unit_add(db, "P", "Tỉnh", NULL, msg), TALLY_OK);
        assert_int_equal(tally_viewer_add_scoped(db, "Trưởng phòng", "P", tok, msg), TALLY_OK);
        assert_int_equal(tally_viewer_set_password(db, "nobody", "mật khẩu đủ dài 123", msg), TALLY_E_NOT_FOUND);
        assert_int_equal(tally_viewer_set_password(db, "Trưởng phòng", "mật khẩu đủ dài 123", msg), TALLY_OK);
        /* Right password: a session, found by its id, with the viewer's scope. */
        assert_int_equal(tally_login(db, &pol, "Trưởng phòng", "mật khẩu đủ dài 123", "10.0.0.1", t0, &r, msg),
                         TALLY_OK);
        assert_int_equal(r.result, TALLY_LOGIN_OK);
        assert_int_equal(tally_session_get(db, r.sid, t0 + 60, &ses, &found, msg), TALLY_OK);
        assert_true(found);
        assert_string_equal(ses.viewer, "Trưởng phòng");
        assert_string_equal(ses.unit, "P");
        assert_string_equal(ses.csrf, r.csrf);
        char sid[TALLY_TOKEN_HEX + 1];
        memcpy(sid, r.sid, sizeof sid);
        /* Wrong passwords: counted, then slowed, then locked (not even checked). */
        assert_int_equal(tally_login(db, &pol, "Trưởng phòng", "sai mật khẩu rồi", "10.0.0.2", t0 + 100, &r, msg),
                         TALLY_OK);
        assert_int_equal(r.result, TALLY_LOGIN_WRONG);
        assert_int_equal(tally_login(db, &pol, "Trưởng phòng", "sai mật khẩu rồi", "10.0.0.2", t0 + 200, &r, msg),
                         TALLY_OK);
        assert_int_equal(r.result, TALLY_LOGIN_WRONG);
        assert_true(r.now_slowed);
        assert_int_equal(tally_login(db, &pol, "Trưởng phòng", "mật khẩu đủ dài 123", "10.0.0.2", t0 + 201, &r, msg),
                         TALLY_OK);
        assert_int_equal(r.result, TALLY_LOGIN_SLOWED);
        assert_int_equal(tally_login(db, &pol, "Trưởng phòng", "sai mật khẩu rồi", "10.0.0.2", t0 + 300, &r, msg),
                         TALLY_OK);
        assert_int_equal(tally_login(db, &pol, "Trưởng phòng", "mật khẩu đủ dài 123", "10.0.0.2", t0 + 301, &r, msg),
                         TALLY_OK);
        assert_int_equal(r.result, TALLY_LOGIN_LOCKED);
        /* Sign-out ends that session only; revoking the viewer ends the rest. */
        assert_int_equal(tally_session_end(db, sid, msg), TALLY_OK);
        assert_int_equal(tally_session_get(db, sid, t0 + 400, &ses, &found, msg), TALLY_OK);
        assert_false(found);
        assert_int_equal(tally_login(db, &pol, "Trưởng phòng", "mật khẩu đủ dài 123", "10.0.0.3", t0 + 99999, &r,
                                     msg), TALLY_OK);
        assert_int_equal(r.result, TALLY_LOGIN_OK);
        assert_int_equal(tally_viewer_revoke(db, "Trưởng phòng", msg), TALLY_OK);
        assert_int_equal(tally_session_get(db, r.sid, t0 + 99999, &ses, &found, msg), TALLY_OK);
        assert_false(found);
        assert_int_equal(tally_audit_add(db, t0 + 5, "Trưởng phòng", "10.0.0.1", "export", "xlsx", msg), TALLY_OK);
        AuditText at = {""};
        assert_int_equal(tally_audit_list(db, t0, t0 + 9999, audit_line, &at, msg), TALLY_OK);
        snprintf(seen[b], sizeof seen[b], "%s", at.text);
        assert_non_null(strstr(at.text, "sign_in_failed"));
        assert_non_null(strstr(at.text, "locked name"));
    }
    if(g_uri[0])
        assert_string_equal(seen[BK_SQLITE], seen[BK_PG]);
}

/* ---- Ingest ------------------------------------------------------------------------------------------ */

#define UNIT "G01.C01"
#define NOW_S 1795400000 /* 2026-11-23T09:13:20+07:00 */

static void seed_ingest(TallyDb *db)
{
    char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1];
    assert_int_equal(tally_unit_add(db, "G01", "Tỉnh", NULL, msg), TALLY_OK);
    assert_int_equal(tally_unit_add(db, UNIT, "Xã", "G01", msg), TALLY_OK);
    int64_t since = ptime_vn_day_start(PTIME_DAY_MIN);
    assert_int_equal(tally_device_add(db, "kiosk-a", UNIT, since, tok, msg), TALLY_OK);
    assert_int_equal(tally_device_add(db, "kiosk-b", UNIT, since, tok, msg), TALLY_OK);
}

static ProtoRating rating(int k, ProtoArea area, int score)
{
    ProtoRating r = {.seq = k, .unit = UNIT, .area = area, .scale = SCALE_TTHC3, .score = score,
                     .followup = FOLLOWUP_NONE};
    snprintf(r.id, sizeof r.id, "0193a4f0-1b2c-7d3e-8f40-%012d", k);
    snprintf(r.at, sizeof r.at, "2026-11-%02dT%02d:15:02+07:00", 20 + k % 3, 7 + k % 9);
    return r;
}

/* Ingests items as one batch from device; writes "accepted=… duplicate=… rejected=id:code,…" into out. */
static TallyErr post(TallyIngest *in, const char *device, int batch_no, const ProtoBatchItem *items, size_t n,
                     char *out, size_t cap)
{
    ProtoBatch b = {.n = n, .items = (ProtoBatchItem *)items};
    snprintf(b.batch_id, sizeof b.batch_id, "0193a4f2-6c1e-7b3a-9d2e-%012d", batch_no);
    snprintf(b.device_id, sizeof b.device_id, "%s", device);
    snprintf(b.sent_at, sizeof b.sent_at, "2026-11-22T21:33:25+07:00");
    ProtoReply rep;
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_ingest_batch(in, &b, UNIT, NOW_S, &rep, msg);
    if(e) {
        snprintf(out, cap, "error %s: %s", tally_err_name(e), msg);
        return e;
    }
    int len = snprintf(out, cap, "accepted=%lld duplicate=%lld rejected=", (long long)rep.accepted,
                       (long long)rep.duplicate);
    for(size_t i = 0; i < rep.n_rejected && len > 0 && (size_t)len < cap; i++)
        len += snprintf(out + len, cap - (size_t)len, "%s:%s,", rep.rejected[i].id, rep.rejected[i].error);
    proto_reply_free(&rep);
    return TALLY_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every row of sql as "v1|v2|…", sorted, one per line: the same text from either backend. */
static void dump(TallyDb *db, Backend b, const char *sql, char *out, size_t cap)
{
    char *lines[4096];
    size_t n = 0;
    if(b == BK_PG) {
        PGconn *c = PQconnectdb(g_uri);
        PGresult *r = PQexec(c, sql);
        if(PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        for(int i = 0; i < PQntuples(r) && n < 4096; i++) {
            char line[4096] = "";
            for(int j = 0; j < PQnfields(r); j++) {
                size_t len = strlen(line);
                snprintf(line + len, sizeof line - len, "%s%s", j ? "|" : "",
                         PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j));
            }
            lines[n++] = strdup(line);
        }
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3_stmt *st;
        if(sqlite3_prepare_v2(tally_db_sqlite(db), sql, -1, &st, NULL))
            fail_msg("%s: %s", sql, sqlite3_errmsg(tally_db_sqlite(db)));
        while(sqlite3_step(st) == SQLITE_ROW && n < 4096) {
            char line[4096] = "";
            for(int j = 0; j < sqlite3_column_count(st); j++) {
                size_t len = strlen(line);
                const char *v = (const char *)sqlite3_column_text(st, j);
                snprintf(line + len, sizeof line - len, "%s%s", j ? "|" : "", v ? v : "NULL");
            }
            lines[n++] = strdup(line);
        }
        sqlite3_finalize(st);
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    out[0] = '\0';
    for(size_t i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s\n", lines[i]);
        free(lines[i]);
    }
}

/* What ingest writes, as text: ratings, every roll-up, the devices' counters, the receipts' counts. */
static const char *const STORED[] = {
    "SELECT id, device, unit, area, scale, score, flagged, day, body, batch, received_at, quarantine FROM ratings",
    "SELECT * FROM daily", "SELECT * FROM monthly", "SELECT * FROM daily_sat", "SELECT * FROM monthly_sat",
    "SELECT * FROM reasons_daily", "SELECT * FROM reasons_monthly", "SELECT * FROM hours_daily",
    "SELECT * FROM hours_monthly",
    "SELECT id, last_seen, last_skew_s, received, max_seq, quarantined FROM devices",
    "SELECT batch_id, device, received_at, sent_at, skew_s, accepted, duplicate, rejected FROM receipts",
};
#define N_STORED (sizeof STORED / sizeof STORED[0])

/* The same batches on both backends: the same verdicts, rows and roll-ups (tally_ingest.h's rules). */
static void test_ingest_same_verdicts_and_rollups(void **state)
{
    (void)state;
    static char replies[BK_COUNT][4096], stored[BK_COUNT][N_STORED][16384];
    EACH_BACKEND(b, db) {
        char msg[TALLY_MSG_MAX], out[1024];
        seed_ingest(db);
        TallyIngest *in;
        assert_int_equal(tally_ingest_new(db, &in, msg), TALLY_OK);
        ProtoBatchItem it[10];
        memset(it, 0, sizeof it);
        it[0].rating = rating(1, AREA_DAT_DAI, 3);
        it[1].rating = rating(2, AREA_DAT_DAI, 1); /* not satisfied, its follow-up (reasons) to come */
        it[2].rating = rating(3, AREA_Y_TE, 2);
        it[2].rating.flags = PROTO_FLAG_RAPID_REPEAT;
        it[3].rating = rating(4, AREA_GIAO_DUC, 3);
        it[3].rating.respondent = RESPONDENT_DOANH_NGHIEP;
        it[3].rating.service_score = 2;
        it[3].rating.wait = WAIT_15_30;
        it[4].rating = rating(5, AREA_XAY_DUNG, 3);
        snprintf(it[4].rating.at, sizeof it[4].rating.at, "2027-01-01T08:00:00+07:00"); /* after receipt */
        it[5].rating = rating(6, AREA_DAT_DAI, 3);
        snprintf(it[5].rating.unit, sizeof it[5].rating.unit, "G01"); /* not the device's unit */
        it[6].error.code = PROTO_E_TYPE; /* the codec refused it */
        snprintf(it[6].raw_id, sizeof it[6].raw_id, "0193a4f0-1b2c-7d3e-8f40-000000000007");
        for(int i = 0; i < 6; i++)
            memcpy(it[i].raw_id, it[i].rating.id, sizeof it[i].raw_id);
        size_t len = 0;
        assert_int_equal(post(in, "kiosk-a", 1, it, 7, out, sizeof out), TALLY_OK);
        len += (size_t)snprintf(replies[b] + len, sizeof replies[b] - len, "%s\n", out);
        assert_non_null(strstr(out, "accepted=5 duplicate=0"));

        /* Again: the same rejects, every accepted item a duplicate. */
        assert_int_equal(post(in, "kiosk-a", 2, it, 7, out, sizeof out), TALLY_OK);
        len += (size_t)snprintf(replies[b] + len, sizeof replies[b] - len, "%s\n", out);
        assert_non_null(strstr(out, "accepted=0 duplicate=5"));

        /* Rating 2 gains its follow-up and a service answer (accepted, counted once); rating 1 comes back with
         * another score (conflict); rating 3 from the other device with the same bytes (duplicate). */
        ProtoBatchItem up[2];
        memset(up, 0, sizeof up);
        up[0].rating = it[1].rating;
        up[0].rating.followup = FOLLOWUP_ANSWERED;
        up[0].rating.reasons = 1u << REASON_CHO_DOI | 1u << REASON_THU_TUC;
        up[0].rating.respondent = RESPONDENT_NGUOI_DAN;
        up[1].rating = it[0].rating;
        up[1].rating.score = 1;
        for(int i = 0; i < 2; i++)
            memcpy(up[i].raw_id, up[i].rating.id, sizeof up[i].raw_id);
        assert_int_equal(post(in, "kiosk-a", 3, up, 2, out, sizeof out), TALLY_OK);
        len += (size_t)snprintf(replies[b] + len, sizeof replies[b] - len, "%s\n", out);
        if(!strstr(out, "accepted=1 duplicate=0 rejected=0193a4f0-1b2c-7d3e-8f40-000000000001:conflict,"))
            fail_msg("%s: %s", BK_NAME[b], out);
        assert_int_equal(post(in, "kiosk-a", 4, up, 1, out, sizeof out), TALLY_OK); /* the newer copy again */
        assert_non_null(strstr(out, "accepted=0 duplicate=1"));
        assert_int_equal(post(in, "kiosk-a", 5, &it[1], 1, out, sizeof out), TALLY_OK); /* the older copy */
        assert_non_null(strstr(out, "accepted=0 duplicate=1"));
        /* One batch naming a new id twice, the second copy gaining answers (accepted, then updated), and
         * another new id twice, byte-equal (accepted, then duplicate): the verdicts of one item at a time,
         * though PostgreSQL inserts the batch in one statement. */
        ProtoBatchItem tw[4];
        memset(tw, 0, sizeof tw);
        tw[0].rating = rating(8, AREA_Y_TE, 1);
        tw[1].rating = tw[0].rating;
        tw[1].rating.followup = FOLLOWUP_ANSWERED;
        tw[1].rating.reasons = 1u << REASON_THAI_DO;
        tw[2].rating = rating(9, AREA_DAT_DAI, 3);
        tw[3].rating = tw[2].rating;
        for(int i = 0; i < 4; i++)
            memcpy(tw[i].raw_id, tw[i].rating.id, sizeof tw[i].raw_id);
        assert_int_equal(post(in, "kiosk-a", 6, tw, 4, out, sizeof out), TALLY_OK);
        len += (size_t)snprintf(replies[b] + len, sizeof replies[b] - len, "%s\n", out);
        if(strcmp(out, "accepted=3 duplicate=1 rejected=") != 0)
            fail_msg("%s: %s", BK_NAME[b], out);
        tally_ingest_free(in);
        /* After a restore: the newest receipt the database holds, and a fresh epoch (tally_db.h). */
        int64_t epoch, since, epoch2, since2;
        assert_int_equal(tally_db_restored(db, &epoch, &since, msg), TALLY_OK);
        assert_true(epoch == 0 && since == 0);
        assert_int_equal(tally_db_mark_restored(db, &epoch, &since, msg), TALLY_OK);
        assert_true(epoch > 0);
        assert_int_equal(since, NOW_S);
        assert_int_equal(tally_db_restored(db, &epoch2, &since2, msg), TALLY_OK);
        assert_true(epoch2 == epoch && since2 == since);
        assert_int_equal(tally_setting_set(db, TALLY_SETTING_RESTORE_EPOCH, NULL, msg), TALLY_OK);
        assert_int_equal(tally_setting_set(db, TALLY_SETTING_RESTORE_SINCE, NULL, msg), TALLY_OK);
        for(size_t q = 0; q < N_STORED; q++)
            dump(db, b, STORED[q], stored[b][q], sizeof stored[b][q]);
    }
    assert_non_null(strstr(stored[BK_SQLITE][0], "|1\n")); /* rating 5 quarantined */
    assert_non_null(strstr(replies[BK_SQLITE], ":unit_mismatch,"));
    assert_non_null(strstr(replies[BK_SQLITE], "0193a4f0-1b2c-7d3e-8f40-000000000007:wrong_type,"));
    if(!g_uri[0])
        return;
    assert_string_equal(replies[BK_SQLITE], replies[BK_PG]);
    for(size_t q = 0; q < N_STORED; q++) {
        if(strcmp(stored[BK_SQLITE][q], stored[BK_PG][q]) != 0)
            fail_msg("%s differs:\nsqlite:\n%s\npostgresql:\n%s", STORED[q], stored[BK_SQLITE][q], stored[BK_PG][q]);
    }
}

/* ---- Tallies ----------------------------------------------------------------------------------------- */

/* Three months of ratings at two counters, with every answer varied, through ingest. */
static void seed_tally(TallyDb *db)
{
    char msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1], out[512];
    seed_ingest(db);
    assert_int_equal(tally_unit_add(db, "G01.C02", "Phường", "G01", msg), TALLY_OK);
    assert_int_equal(tally_device_add(db, "kiosk-c", "G01.C02", ptime_vn_day_start(PTIME_DAY_MIN), tok, msg),
                     TALLY_OK);
    TallyIngest *in;
    assert_int_equal(tally_ingest_new(db, &in, msg), TALLY_OK);
    enum { N = 600, PER = 50 };
    ProtoBatchItem *it = calloc(PER, sizeof *it);
    assert_non_null(it);
    for(int k = 0; k < N / PER; k++) {
        bool c2 = k % 2;
        for(int i = 0; i < PER; i++) {
            int id = k * PER + i;
            ProtoRating r = rating(id + 1, (ProtoArea)(id * 7 % AREA_COUNT), 1 + id * 5 % 3);
            snprintf(r.unit, sizeof r.unit, "%s", c2 ? "G01.C02" : UNIT);
            r.seq = k / 2 * PER + i + 1;
            /* 1 Sep .. 29 Nov 2026, every hour of the working day */
            int day = id * 13 % 90, month = day < 30 ? 9 : day < 61 ? 10 : 11;
            int dom = day < 30 ? day + 1 : day < 61 ? day - 29 : day - 60;
            snprintf(r.at, sizeof r.at, "2026-%02d-%02dT%02d:%02d:00+07:00", month, dom, 7 + id % 10, id % 60);
            if(r.score == 1 && id % 2) {
                r.followup = FOLLOWUP_ANSWERED;
                r.reasons = 1u << (id % REASON_COUNT) | 1u << ((id / 3) % REASON_COUNT);
            }
            r.respondent = (ProtoRespondent)(id % RESPONDENT_COUNT);
            r.service_score = id % 4 ? 1 + id % 3 : 0;
            r.wait = (ProtoWait)(id % WAIT_COUNT);
            r.flags = id % 17 == 0 ? PROTO_FLAG_RAPID_REPEAT : 0;
            it[i].rating = r;
            memcpy(it[i].raw_id, r.id, sizeof it[i].raw_id);
        }
        ProtoBatch b = {.n = PER, .items = it};
        snprintf(b.batch_id, sizeof b.batch_id, "0193a4f2-6c1e-7b3a-9d2e-%012d", 100 + k);
        snprintf(b.device_id, sizeof b.device_id, "%s", c2 ? "kiosk-c" : "kiosk-a");
        snprintf(b.sent_at, sizeof b.sent_at, "2026-11-30T21:00:00+07:00");
        ProtoReply rep;
        assert_int_equal(tally_ingest_batch(in, &b, c2 ? "G01.C02" : UNIT, NOW_S + 8 * 86400, &rep, msg), TALLY_OK);
        snprintf(out, sizeof out, "%lld %lld %zu", (long long)rep.accepted, (long long)rep.duplicate, rep.n_rejected);
        assert_string_equal(out, "50 0 0");
        proto_reply_free(&rep);
    }
    free(it);
    tally_ingest_free(in);
}

static const char *const TALLY_QUERIES[] = {
    "from=2026-09-01&to=2026-11-30",
    "from=2026-09-01&to=2026-11-30&by=area",
    "from=2026-09-01&to=2026-11-30&by=unit",
    "from=2026-09-01&to=2026-11-30&by=day",
    "from=2026-09-10&to=2026-11-20&by=month",
    "from=2026-09-01&to=2026-11-30&by=quarter",
    "from=2026-01-01&to=2026-12-31&by=half",
    "from=2026-01-01&to=2026-12-31&by=year",
    "from=2026-09-01&to=2026-11-30&by=group&min_n=5",
    "from=2026-09-01&to=2026-11-30&by=respondent",
    "from=2026-09-01&to=2026-11-30&by=unit,area",
    "from=2026-09-15&to=2026-11-15&by=month,group&min_n=1",
    "from=2026-09-01&to=2026-11-30&by=area,respondent&unit=G01.C02",
    "from=2026-10-01&to=2026-10-31&by=unit&area=dat_dai",
    "from=2026-09-01&to=2026-11-30&by=area&respondent=doanh_nghiep",
};
#define N_TALLY_QUERIES (sizeof TALLY_QUERIES / sizeof TALLY_QUERIES[0])

/* Every field of every row, as text. */
static void tally_text(TallyDb *db, const char *query, char *out, size_t cap)
{
    TallySpec spec;
    TallyQueryError qe;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_query_parse(query, strlen(query), &spec, &qe), TALLY_OK);
    TallyRow *rows;
    size_t n;
    if(tally_query_run(db, &spec, &rows, &n, msg))
        fail_msg("%s: %s", query, msg);
    size_t len = 0;
    out[0] = '\0';
    for(size_t i = 0; i < n && len < cap; i++) {
        const TallyRow *r = &rows[i];
        len += (size_t)snprintf(out + len, cap - len,
                                "%s n=%lld sat=%lld flag=%lld pct=%.9g [%.9g,%.9g] g=%d t=%g/%g s=%d/%d wait=%lld/%lld\n",
                                r->key, (long long)r->n, (long long)r->satisfied, (long long)r->flagged, r->pct,
                                r->wilson_low, r->wilson_high, r->group, r->target[0], r->target[1], r->status[0],
                                r->status[1], (long long)r->wait.n, (long long)r->wait.within);
    }
    free(rows);
}

/* tally_query_run for every dimension the API offers, and the report model's roll-up readers: the same answers
 * from both backends over the same ingested ratings. */
static void test_tally_same_answers(void **state)
{
    (void)state;
    static char got[BK_COUNT][N_TALLY_QUERIES][32768];
    static TallyCounts counts[BK_COUNT][2 * 2 * AREA_COUNT], by_resp[BK_COUNT][RESPONDENT_COUNT * AREA_COUNT];
    static int64_t reasons[BK_COUNT][REASON_COUNT], heat_n[BK_COUNT][7][24], heat_u[BK_COUNT][7][24];
    static int64_t heat_an[BK_COUNT][7][24], heat_au[BK_COUNT][7][24]; /* one area (the hours roll-ups' area) */
    static char *report[BK_COUNT];
    EACH_BACKEND(b, db) {
        char msg[TALLY_MSG_MAX];
        seed_tally(db);
        for(size_t q = 0; q < N_TALLY_QUERIES; q++)
            tally_text(db, TALLY_QUERIES[q], got[b][q], sizeof got[b][q]);
        const char *const units[] = {UNIT, "G01.C02"};
        int64_t d0 = ptime_days_from_civil(2026, 9, 10), d1 = ptime_days_from_civil(2026, 10, 31),
                d2 = ptime_days_from_civil(2026, 11, 30);
        TallyDayRange seg[2] = {{d0, d1}, {d1 + 1, d2}};
        assert_int_equal(tally_query_counts(db, units, 2, seg, 2, RESPONDENT_NONE, counts[b], msg), TALLY_OK);
        assert_int_equal(tally_query_counts_by_respondent(db, units, 2, d0, d2, by_resp[b], msg), TALLY_OK);
        assert_int_equal(tally_query_reasons(db, units, 2, d0, d2, -1, reasons[b], msg), TALLY_OK);
        assert_int_equal(tally_query_heat(db, units, 2, d0, d2, -1, heat_n[b], heat_u[b], msg), TALLY_OK);
        assert_int_equal(tally_query_heat(db, units, 2, d0, d2, AREA_DAT_DAI, heat_an[b], heat_au[b], msg), TALLY_OK);
        /* The whole report model (every part), as its JSON renderer writes it. */
        TallyReportSpec rs = {.area = -1, .now_s = NOW_S + 8 * 86400};
        assert_true(tally_period_custom(d0, d2, &rs.period));
        TallyReport *rep;
        if(tally_report_build(db, &rs, &rep, msg))
            fail_msg("%s: report: %s", BK_NAME[b], msg);
        report[b] = tally_report_json(rep);
        assert_non_null(report[b]);
        tally_report_free(rep);
    }
    /* The seed reached the tallies at all: 600 ratings, 36 of them flagged. */
    assert_non_null(strstr(got[BK_SQLITE][0], "all n=564 "));
    assert_non_null(strstr(got[BK_SQLITE][0], " flag=36 "));
    assert_true(reasons[BK_SQLITE][REASON_CHO_DOI] > 0);
    /* The area's heat map holds some of the ratings but not all. */
    int64_t all = 0, one = 0;
    for(int wd = 0; wd < 7; wd++)
        for(int h = 0; h < 24; h++)
            all += heat_n[BK_SQLITE][wd][h], one += heat_an[BK_SQLITE][wd][h];
    assert_true(one > 0 && one < all);
    if(!g_uri[0]) {
        free(report[BK_SQLITE]);
        return;
    }
    if(strcmp(report[BK_SQLITE], report[BK_PG]) != 0)
        fail_msg("report model differs:\nsqlite:\n%s\npostgresql:\n%s", report[BK_SQLITE], report[BK_PG]);
    assert_non_null(strstr(report[BK_PG], "G01.C02"));
    free(report[BK_SQLITE]);
    free(report[BK_PG]);
    for(size_t q = 0; q < N_TALLY_QUERIES; q++)
        if(strcmp(got[BK_SQLITE][q], got[BK_PG][q]) != 0)
            fail_msg("%s differs:\nsqlite:\n%s\npostgresql:\n%s", TALLY_QUERIES[q], got[BK_SQLITE][q], got[BK_PG][q]);
    assert_memory_equal(counts[BK_SQLITE], counts[BK_PG], sizeof counts[0]);
    assert_memory_equal(by_resp[BK_SQLITE], by_resp[BK_PG], sizeof by_resp[0]);
    assert_memory_equal(reasons[BK_SQLITE], reasons[BK_PG], sizeof reasons[0]);
    assert_memory_equal(heat_n[BK_SQLITE], heat_n[BK_PG], sizeof heat_n[0]);
    assert_memory_equal(heat_u[BK_SQLITE], heat_u[BK_PG], sizeof heat_u[0]);
    assert_memory_equal(heat_an[BK_SQLITE], heat_an[BK_PG], sizeof heat_an[0]);
    assert_memory_equal(heat_au[BK_SQLITE], heat_au[BK_PG], sizeof heat_au[0]);
}

/* PostgreSQL migration 2 (tally_db.c's 7): the hours roll-ups, rebuilt from the ratings with their area, equal
 * what ingest kept per area. The database is taken back to version 1 (hours without the area, emptied) and
 * opened again. */
static void test_pg_hours_area_migration_rebuilds_what_ingest_kept(void **state)
{
    (void)state;
    static char before[2][65536], after[2][65536];
    static const char *const HOURS[2] = {"SELECT * FROM hours_daily", "SELECT * FROM hours_monthly"};
    char where[600], msg[TALLY_MSG_MAX];
    if(!fresh(BK_PG, where, sizeof where))
        skip();
    TallyDb *db;
    assert_int_equal(tally_db_open(where, &db, msg), TALLY_OK);
    seed_tally(db);
    for(int t = 0; t < 2; t++)
        dump(db, BK_PG, HOURS[t], before[t], sizeof before[t]);
    tally_db_close(db);
    assert_non_null(strstr(before[0], "|dat_dai|"));
    PGconn *c = PQconnectdb(g_uri);
    PGresult *r = PQexec(c, "UPDATE schema_version SET version = 1; DROP TABLE hours_daily; DROP TABLE hours_monthly;"
                            "CREATE TABLE hours_daily(unit text NOT NULL, day bigint NOT NULL, hour integer NOT NULL,"
                            " n bigint NOT NULL, unsatisfied bigint NOT NULL, PRIMARY KEY (unit, day, hour));"
                            "CREATE TABLE hours_monthly(unit text NOT NULL, month bigint NOT NULL,"
                            " weekday integer NOT NULL, hour integer NOT NULL, n bigint NOT NULL,"
                            " unsatisfied bigint NOT NULL, PRIMARY KEY (unit, month, weekday, hour))");
    if(PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("back to version 1: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    assert_int_equal(tally_db_open(where, &db, msg), TALLY_OK);
    for(int t = 0; t < 2; t++) {
        dump(db, BK_PG, HOURS[t], after[t], sizeof after[t]);
        if(strcmp(before[t], after[t]) != 0)
            fail_msg("%s after migration 2:\n%s\ningest kept:\n%s", HOURS[t], after[t], before[t]);
    }
    tally_db_close(db);
}

/* Two processes (two tally-servers on one PostgreSQL) post the same 10,000 rating ids at the same moment, in
 * batches of 100, one from the first id up and one from the last down, so they meet with both transactions
 * open on the same ids. The unique key decides: each id is stored once, and the accepted counts of the two
 * processes' replies add up to 10,000. A batch the database aborts (deadlock: TALLY_E_BUSY, nothing stored)
 * is posted again, as a kiosk does after a 503. */
#define RACE_IDS 10000
#define RACE_BATCH 100

static void race_child(int fd_go, int fd_out, bool down)
{
    char msg[TALLY_MSG_MAX];
    TallyDb *db;
    TallyIngest *in;
    if(tally_db_open(g_uri, &db, msg) || tally_ingest_new(db, &in, msg)) {
        fprintf(stderr, "race child: %s\n", msg);
        _exit(1);
    }
    ProtoBatchItem *it = calloc(RACE_BATCH, sizeof *it);
    char go;
    if(!it || read(fd_go, &go, 1) != 1)
        _exit(1);
    int64_t totals[3] = {0, 0, 0}; /* accepted, duplicate, retries */
    for(int k = 0; k < RACE_IDS / RACE_BATCH; k++) {
        int first = down ? RACE_IDS - (k + 1) * RACE_BATCH : k * RACE_BATCH;
        for(int i = 0; i < RACE_BATCH; i++) {
            int id = down ? first + RACE_BATCH - 1 - i : first + i;
            it[i].rating = rating(id + 1, (ProtoArea)(id % AREA_COUNT), 1 + id % 3);
            memcpy(it[i].raw_id, it[i].rating.id, sizeof it[i].raw_id);
        }
        ProtoBatch b = {.n = RACE_BATCH, .items = it};
        snprintf(b.batch_id, sizeof b.batch_id, "0193a4f2-6c1e-7b3a-9d2e-%06d%06d", down, k);
        snprintf(b.device_id, sizeof b.device_id, "kiosk-a");
        snprintf(b.sent_at, sizeof b.sent_at, "2026-11-23T09:13:20+07:00");
        for(;;) {
            ProtoReply rep;
            TallyErr e = tally_ingest_batch(in, &b, UNIT, NOW_S, &rep, msg);
            if(e == TALLY_E_BUSY) {
                totals[2]++;
                continue;
            }
            if(e || rep.n_rejected) {
                fprintf(stderr, "race child: %s (%zu rejected)\n", e ? msg : "", e ? 0 : rep.n_rejected);
                _exit(1);
            }
            totals[0] += rep.accepted;
            totals[1] += rep.duplicate;
            proto_reply_free(&rep);
            break;
        }
    }
    tally_ingest_free(in);
    tally_db_close(db);
    free(it);
    _exit(write(fd_out, totals, sizeof totals) == (ssize_t)sizeof totals ? 0 : 1);
}

static void test_pg_two_processes_same_ids(void **state)
{
    (void)state;
    TallyDb *db = open_fresh(BK_PG);
    if(!db)
        skip();
    seed_ingest(db);
    int go[2], out[2][2];
    assert_int_equal(pipe(go), 0);
    pid_t pid[2];
    for(int c = 0; c < 2; c++) {
        assert_int_equal(pipe(out[c]), 0);
        pid[c] = fork();
        assert_true(pid[c] >= 0);
        if(pid[c] == 0) {
            close(go[1]);
            race_child(go[0], out[c][1], c == 1);
        }
        close(out[c][1]);
    }
    close(go[0]);
    assert_int_equal(write(go[1], "GG", 2), 2); /* both connected and prepared: go */
    close(go[1]);
    int64_t t[2][3];
    for(int c = 0; c < 2; c++) {
        int st;
        assert_int_equal(read(out[c][0], t[c], sizeof t[c]), (ssize_t)sizeof t[c]);
        close(out[c][0]);
        assert_int_equal(waitpid(pid[c], &st, 0), pid[c]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    fprintf(stderr, "race: process 1 accepted %lld duplicate %lld retried %lld; process 2 accepted %lld duplicate "
                    "%lld retried %lld\n", (long long)t[0][0], (long long)t[0][1], (long long)t[0][2],
            (long long)t[1][0], (long long)t[1][1], (long long)t[1][2]);
    assert_int_equal(t[0][0] + t[1][0], RACE_IDS);
    assert_int_equal(t[0][1] + t[1][1], RACE_IDS);
    char text[256];
    dump(db, BK_PG, "SELECT count(*), count(DISTINCT id) FROM ratings", text, sizeof text);
    assert_string_equal(text, "10000|10000\n");
    dump(db, BK_PG, "SELECT sum(n) FROM daily", text, sizeof text);
    assert_string_equal(text, "10000\n");
    dump(db, BK_PG, "SELECT sum(n) FROM monthly", text, sizeof text);
    assert_string_equal(text, "10000\n");
    dump(db, BK_PG, "SELECT received, max_seq FROM devices WHERE id = 'kiosk-a'", text, sizeof text);
    assert_string_equal(text, "10000|10000\n");
    tally_db_close(db);
}

/* Runs sql on an open admin connection (one that outlives the test's ALLOW_CONNECTIONS false). */
static void admin_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if(PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* A connection lost under the server (PostgreSQL restarted, a standby promoted, the backend killed) is made
 * again by tally_db_ready before the next unit of work, with the ingest statements prepared again; while
 * PostgreSQL cannot be reached every call answers TALLY_E_BUSY (503, retry), never TALLY_E_DB (500). */
static void test_pg_reconnects_after_a_lost_connection(void **state)
{
    (void)state;
    TallyDb *db = open_fresh(BK_PG);
    if(!db)
        skip();
    seed_ingest(db);
    char msg[TALLY_MSG_MAX], out[512];
    TallyIngest *in;
    assert_int_equal(tally_ingest_new(db, &in, msg), TALLY_OK);
    ProtoBatchItem it[3];
    memset(it, 0, sizeof it);
    for(int i = 0; i < 3; i++) {
        it[i].rating = rating(40 + i, AREA_DAT_DAI, 3);
        memcpy(it[i].raw_id, it[i].rating.id, sizeof it[i].raw_id);
    }
    assert_int_equal(post(in, "kiosk-a", 40, &it[0], 1, out, sizeof out), TALLY_OK);
    assert_int_equal(tally_db_ready(db, msg), TALLY_OK);

    char admin_uri[sizeof g_uri + 8]; /* the cluster's other database: one cannot lock out one's own */
    const char *q = strchr(g_uri, '?');
    assert_non_null(q);
    snprintf(admin_uri, sizeof admin_uri, "postgresql:///postgres%s", q);
    PGconn *admin = PQconnectdb(admin_uri);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    admin_exec(admin, "ALTER DATABASE tally WITH ALLOW_CONNECTIONS false");
    admin_exec(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE datname = 'tally' AND pid <> pg_backend_pid()");
    TallyUnit *units = NULL;
    size_t n = 0;
    assert_int_equal(tally_unit_list(db, &units, &n, msg), TALLY_E_BUSY); /* the lost connection */
    assert_int_equal(tally_db_ready(db, msg), TALLY_E_BUSY);              /* and none to be had */
    assert_non_null(strstr(msg, "PostgreSQL cannot be reached"));
    assert_int_equal(post(in, "kiosk-a", 41, &it[1], 1, out, sizeof out), TALLY_E_BUSY);
    assert_int_equal(tally_unit_list(db, &units, &n, msg), TALLY_E_BUSY);

    admin_exec(admin, "ALTER DATABASE tally WITH ALLOW_CONNECTIONS true");
    PQfinish(admin);
    assert_int_equal(tally_db_ready(db, msg), TALLY_OK);
    if(post(in, "kiosk-a", 42, &it[1], 2, out, sizeof out) != TALLY_OK)
        fail_msg("after reconnecting: %s", out);
    assert_string_equal(out, "accepted=2 duplicate=0 rejected=");
    assert_int_equal(tally_unit_list(db, &units, &n, msg), TALLY_OK);
    assert_int_equal(n, 2);
    free(units);
    char text[64];
    dump(db, BK_PG, "SELECT count(*) FROM ratings", text, sizeof text);
    assert_string_equal(text, "3\n");
    tally_ingest_free(in);
    tally_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_migrates_and_seeds_targets),
        cmocka_unit_test(test_pg_concurrent_open_migrates_once),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_devices_and_viewers),
        cmocka_unit_test(test_targets_and_settings),
        cmocka_unit_test(test_accounts),
        cmocka_unit_test(test_ingest_same_verdicts_and_rollups),
        cmocka_unit_test(test_tally_same_answers),
        cmocka_unit_test(test_pg_hours_area_migration_rebuilds_what_ingest_kept),
        cmocka_unit_test(test_pg_two_processes_same_ids),
        cmocka_unit_test(test_pg_reconnects_after_a_lost_connection),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
