/* tally_migrate.c — `tally-admin migrate` moves a real SQLite tally into a throwaway PostgreSQL 15 cluster
 * (tests/pg/pg-cluster) and proves it: the tally is made by the real tools (tally-admin, batches posted to a
 * running tally-server), copied, verified, copied again (nothing changes), finished after a simulated
 * interruption, caught when PostgreSQL holds a row the file does not, refused once PostgreSQL took uploads of
 * its own; re-sent batches are duplicates on PostgreSQL and a changed copy is the same conflict as on SQLite.
 * Last, the least-privilege roles of docs/operations.md (packaging/tally/postgresql/: roles.sql, grants.sql): the server's role
 * ingests but cannot drop, truncate, delete or create. Skipped (77) without postgresql-15. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "sync/protocol.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_ingest.h"
#include "sync/uuid.h"
#include "tally_harness.h"

#define CLUSTER TEST_SOURCE_DIR "/tests/pg/pg-cluster"
#define PGBIN "/usr/lib/postgresql/15/bin"
#define PSQL PGBIN "/psql"
#define UNIT_A "000.00.31.H21.Q01"
#define UNIT_B "000.00.31.H21.DEMO"

static TallyServer S;
static char g_pgdir[64], g_uri[512];
static char g_sbdir[64]; /* the standby's cluster, "" until made */
static char *g_batch_a, *g_batch_b; /* the JSON bodies posted to tally-server */
static char g_out[65536];           /* the last command's stdout + stderr */

/* ---- Helpers ------------------------------------------------------------------------------------------ */

/* Runs a shell command, capturing its stdout and stderr into g_out; returns its exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strcat(cmd, " 2>&1");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(g_out, 1, sizeof g_out - 1, p);
    g_out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int migrate(const char *uri, const char *extra)
{
    int rc = run("'%s' migrate --from '%s' --to '%s' %s", TALLY_ADMIN_BIN, S.db, uri, extra);
    printf("---- migrate %s: exit %d\n%s", extra, rc, g_out);
    return rc;
}

/* The cluster's URI for another database and role. */
static void uri_for(char *out, size_t cap, const char *db, const char *user)
{
    snprintf(out, cap, "postgresql:///%s?host=%s&user=%s", db, g_pgdir, user);
}

/* Runs sql as the cluster's superuser on the migrated database; returns the first value of the first row
 * ("" when none) into out. */
static void pg_sql(const char *uri, const char *sql, char *out, size_t cap)
{
    PGconn *c = PQconnectdb(uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    if(s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    if(out)
        snprintf(out, cap, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    PQfinish(c);
}

static long long pg_count(const char *sql)
{
    char v[64];
    pg_sql(g_uri, sql, v, sizeof v);
    return atoll(v);
}

/* The SQLSTATE a statement fails with as role uri ("" when it succeeds). */
static void pg_state(const char *uri, const char *sql, char state[8])
{
    PGconn *c = PQconnectdb(uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, 8, "%s", s ? s : "");
    PQclear(r);
    PQfinish(c);
}

static uint64_t g_ids;

static ProtoRating rating(const char *unit, const char *area, int score, const char *at, bool flagged)
{
    ProtoRating r = {0};
    uint8_t rnd[10] = {0};
    uint64_t k = ++g_ids;
    memcpy(rnd, &k, sizeof k);
    uuid_v7_make(r.id, 1764000000000ull + k, rnd);
    r.seq = (int64_t)k;
    snprintf(r.unit, sizeof r.unit, "%s", unit);
    r.area = (ProtoArea)proto_area_from_code(area);
    r.scale = SCALE_TTHC3;
    r.score = score;
    r.followup = proto_is_satisfied(r.scale, score) ? FOLLOWUP_NONE : FOLLOWUP_SKIPPED;
    snprintf(r.at, sizeof r.at, "%s", at);
    r.flags = flagged ? PROTO_FLAG_RAPID_REPEAT : 0;
    return r;
}

static char *make_batch(const char *device, const char *unit, int n, int first_month)
{
    static const char *const AREAS[] = {"dat_dai", "dau_tu", "y_te", "giao_duc"};
    ProtoRating r[64];
    for(int i = 0; i < n; i++) {
        char at[40];
        snprintf(at, sizeof at, "2026-%02d-%02dT%02d:15:00+07:00", first_month + i % 2, 3 + i % 20, 7 + i % 9);
        r[i] = rating(unit, AREAS[i % 4], 1 + i % 3, at, i == 5);
    }
    char bid[UUID_TEXT_LEN];
    uint8_t rnd[10] = {1};
    uuid_v7_make(bid, 1764100000000ull + ++g_ids, rnd);
    char *s = proto_batch_dump(bid, device, "2026-11-27T10:00:00+07:00", r, (size_t)n);
    assert_non_null(s);
    return s;
}

static void post_ok(const char *token, const char *body, int accepted, int duplicate)
{
    ThResp r = th_http(&S, "POST", "/api/v1/batches", token, "application/json", body, strlen(body), false);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    th_resp_free(&r);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "accepted")), accepted);
    assert_int_equal(json_integer_value(json_object_get(o, "duplicate")), duplicate);
    json_decref(o);
}

/* Ingests a posted body with the C API, as tally-server would; "accepted=… duplicate=… rejected=…". One
 * TallyIngest per connection, as the server keeps (it prepares its statements on the connection). */
static void ingest(TallyIngest *in, const char *body, const char *unit, int64_t now, char *out, size_t cap)
{
    ProtoBatch b;
    ProtoError perr;
    assert_int_equal(proto_batch_parse(body, strlen(body), &b, &perr), PROTO_OK);
    char msg[TALLY_MSG_MAX];
    ProtoReply rep;
    TallyErr e = tally_ingest_batch(in, &b, unit, now, &rep, msg);
    if(e)
        fail_msg("ingest: %s", msg);
    int len = snprintf(out, cap, "accepted=%lld duplicate=%lld rejected=", (long long)rep.accepted,
                       (long long)rep.duplicate);
    for(size_t i = 0; i < rep.n_rejected && (size_t)len < cap; i++)
        len += snprintf(out + len, cap - (size_t)len, "%s:%s,", rep.rejected[i].id, rep.rejected[i].error);
    proto_reply_free(&rep);
    proto_batch_free(&b);
}

/* ---- Fixture: a SQLite tally made with the real tools, and a cluster --------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if(!th_setup_db(&S))
        return -1;
    char tok_a[65], tok_b[65], vtok[65];
    if(!th_device(&S, "kiosk-a", UNIT_A, tok_a) || !th_device(&S, "kiosk-b", UNIT_B, tok_b) ||
       !th_viewer(&S, "so-noi-vu", vtok) ||
       th_admin(&S, NULL, 0, "letterhead", "set", "place", "Gia Lai", (char *)NULL) != 0 ||
       th_admin(&S, NULL, 0, "targets", "set", "tthc", "2025", "91", (char *)NULL) != 0 || !th_start(&S))
        return -1;
    g_batch_a = make_batch("kiosk-a", UNIT_A, 40, 10);
    g_batch_b = make_batch("kiosk-b", UNIT_B, 24, 9);
    post_ok(tok_a, g_batch_a, 40, 0);
    post_ok(tok_b, g_batch_b, 24, 0);
    post_ok(tok_a, g_batch_a, 0, 40); /* a replay: one more receipt */
    if(th_stop(&S) != 0)
        return -1;

    snprintf(g_pgdir, sizeof g_pgdir, "/tmp/pgmgXXXXXX");
    if(!mkdtemp(g_pgdir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s start %s", CLUSTER, g_pgdir);
    FILE *p = popen(cmd, "r");
    if(!p || !fgets(g_uri, sizeof g_uri, p))
        g_uri[0] = '\0';
    int st = p ? pclose(p) : -1;
    g_uri[strcspn(g_uri, "\n")] = '\0';
    if(WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        fprintf(stderr, "tally_migrate: SKIPPING: initdb not installed (scripts/bootstrap installs postgresql-15)\n");
        exit(77);
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && strncmp(g_uri, "postgresql://", 13) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s stop %s", CLUSTER, g_pgdir);
    int rc = system(cmd);
    if(g_sbdir[0]) { /* the standby, stopped (if it runs) and removed like the primary */
        snprintf(cmd, sizeof cmd, "%s stop %s", CLUSTER, g_sbdir);
        rc |= system(cmd);
    }
    free(g_batch_a);
    free(g_batch_b);
    th_cleanup(&S);
    return rc == 0 ? 0 : -1;
}

/* ---- Tests -------------------------------------------------------------------------------------------- */

/* Everything arrives, and the verification prints both sides equal. */
static void test_migrate_copies_and_verifies(void **state)
{
    (void)state;
    assert_int_equal(migrate(g_uri, ""), 0);
    assert_non_null(strstr(g_out, "verified: PostgreSQL holds the same tally"));
    assert_non_null(strstr(g_out, "changed / đã thay đổi"));
    assert_int_equal(pg_count("SELECT count(*) FROM ratings"), 64);
    assert_int_equal(pg_count("SELECT count(*) FROM ratings"), th_scalar(&S, "SELECT count(*) FROM ratings"));
    assert_int_equal(pg_count("SELECT count(*) FROM receipts"), 3);
    assert_int_equal(pg_count("SELECT count(*) FROM units"), th_scalar(&S, "SELECT count(*) FROM units"));
    assert_int_equal(pg_count("SELECT sum(n) FROM monthly_sat"), th_scalar(&S, "SELECT sum(n) FROM monthly_sat"));
    assert_int_equal(pg_count("SELECT pct FROM targets WHERE grp = 'tthc' AND milestone = 2025"), 91);
    /* The canonical bytes and the token hashes are the file's own. */
    assert_int_equal(pg_count("SELECT count(*) FROM ratings WHERE body LIKE '{%'"), 64);
    char pg_hash[80];
    pg_sql(g_uri, "SELECT encode(token_hash, 'hex') FROM devices WHERE id = 'kiosk-a'", pg_hash, sizeof pg_hash);
    assert_int_equal(strlen(pg_hash), 64);
    char q[256];
    snprintf(q, sizeof q, "SELECT count(*) FROM devices WHERE id = 'kiosk-a' AND lower(hex(token_hash)) = '%s'",
             pg_hash);
    assert_int_equal(th_scalar(&S, q), 1);
}

/* A second run over the same file changes nothing and says so. */
static void test_second_run_changes_nothing(void **state)
{
    (void)state;
    assert_int_equal(migrate(g_uri, ""), 0);
    assert_non_null(strstr(g_out, "nothing changed: PostgreSQL already held this tally"));
    assert_non_null(strstr(g_out, "verified"));
}

/* An interrupted run leaves some chunks committed and others not: PostgreSQL missing rows, roll-up cells
 * missing or not yet right, a receipt short. Running again (small chunks) finishes it. */
static void test_interrupted_run_finishes_when_run_again(void **state)
{
    (void)state;
    pg_sql(g_uri, "DELETE FROM ratings WHERE id IN (SELECT id FROM ratings ORDER BY id DESC LIMIT 30)", NULL, 0);
    pg_sql(g_uri, "DELETE FROM monthly_sat WHERE month = (SELECT max(month) FROM monthly_sat)", NULL, 0);
    pg_sql(g_uri, "UPDATE daily SET n = n + 5 WHERE unit = '" UNIT_A "'", NULL, 0);
    pg_sql(g_uri, "DELETE FROM receipts WHERE ctid = (SELECT min(ctid) FROM receipts)", NULL, 0);
    assert_int_equal(pg_count("SELECT count(*) FROM ratings"), 34);
    assert_int_equal(migrate(g_uri, "--chunk-rows 7"), 0);
    assert_non_null(strstr(g_out, "verified"));
    assert_null(strstr(g_out, "nothing changed"));
    assert_int_equal(pg_count("SELECT count(*) FROM ratings"), 64);
    assert_int_equal(pg_count("SELECT count(*) FROM receipts"), 3);
    assert_int_equal(pg_count("SELECT sum(n) FROM daily"), th_scalar(&S, "SELECT sum(n) FROM daily"));
    assert_int_equal(migrate(g_uri, "--chunk-rows 7"), 0);
    assert_non_null(strstr(g_out, "nothing changed"));
}

/* A row PostgreSQL holds and the file does not is reported, and the run exits 1. */
static void test_verification_catches_a_difference(void **state)
{
    (void)state;
    pg_sql(g_uri, "INSERT INTO ratings SELECT 'zz-not-in-the-file', device, unit, area, scale, score, flagged, day,"
                  " body, batch, received_at, quarantine FROM ratings LIMIT 1", NULL, 0);
    assert_int_equal(migrate(g_uri, ""), 1);
    assert_non_null(strstr(g_out, "ratings [zz-not-in-the-file]: only in PostgreSQL"));
    assert_non_null(strstr(g_out, "1 differences"));
    assert_null(strstr(g_out, "verified"));
    pg_sql(g_uri, "DELETE FROM ratings WHERE id = 'zz-not-in-the-file'", NULL, 0);
    assert_int_equal(migrate(g_uri, ""), 0);
}

/* After the switch: the batches kiosks re-send are duplicates on PostgreSQL; migrate then refuses to
 * overwrite what PostgreSQL took; a changed copy of a stored rating is the same conflict on both. */
static void test_ingest_after_migration_behaves_as_on_sqlite(void **state)
{
    (void)state;
    char msg[TALLY_MSG_MAX], pg_rep[4096], sq_rep[4096];
    TallyDb *pg_db, *sq_db;
    TallyIngest *pg, *sq;
    assert_int_equal(tally_db_open(g_uri, &pg_db, msg), TALLY_OK);
    assert_int_equal(tally_ingest_new(pg_db, &pg, msg), TALLY_OK);
    int64_t now = (int64_t)time(NULL) + 100;
    ingest(pg, g_batch_a, UNIT_A, now, pg_rep, sizeof pg_rep);
    assert_string_equal(pg_rep, "accepted=0 duplicate=40 rejected=");
    ingest(pg, g_batch_b, UNIT_B, now, pg_rep, sizeof pg_rep);
    assert_string_equal(pg_rep, "accepted=0 duplicate=24 rejected=");
    assert_int_equal(pg_count("SELECT count(*) FROM ratings"), 64);

    assert_int_equal(migrate(g_uri, ""), 1);
    assert_non_null(strstr(g_out, "PostgreSQL already took batches newer than the file's last"));

    /* The first rating of batch A with another score, in a new batch: on both backends. */
    ProtoBatch b;
    ProtoError perr;
    assert_int_equal(proto_batch_parse(g_batch_a, strlen(g_batch_a), &b, &perr), PROTO_OK);
    b.items[0].rating.score = b.items[0].rating.score == 3 ? 1 : 3;
    b.items[0].rating.followup = proto_is_satisfied(b.items[0].rating.scale, b.items[0].rating.score) ? FOLLOWUP_NONE
                                                                                        : FOLLOWUP_SKIPPED;
    ProtoRating r1 = b.items[0].rating;
    proto_batch_free(&b);
    char *changed = proto_batch_dump("0193a4f2-6c1e-7b3a-9d2e-00000000c0f1", "kiosk-a", "2026-11-28T10:00:00+07:00",
                                     &r1, 1);
    assert_non_null(changed);
    assert_int_equal(tally_db_open(S.db, &sq_db, msg), TALLY_OK);
    assert_int_equal(tally_ingest_new(sq_db, &sq, msg), TALLY_OK);
    ingest(sq, changed, UNIT_A, now + 10, sq_rep, sizeof sq_rep);
    ingest(pg, changed, UNIT_A, now + 10, pg_rep, sizeof pg_rep);
    assert_non_null(strstr(sq_rep, "conflict"));
    assert_string_equal(pg_rep, sq_rep);
    free(changed);
    tally_ingest_free(sq);
    tally_ingest_free(pg);
    tally_db_close(sq_db);
    tally_db_close(pg_db);
}

/* The roles of docs/operations.md, made by its two SQL files: tally-admin, as the owner, makes the schema
 * and migrates into it. */
static void test_roles_owner_inits_and_migrates(void **state)
{
    (void)state;
    pg_sql(g_uri, "CREATE ROLE tally_owner LOGIN", NULL, 0);
    pg_sql(g_uri, "CREATE ROLE tally_server LOGIN", NULL, 0);
    pg_sql(g_uri, "CREATE DATABASE prov OWNER tally_owner ENCODING 'UTF8' TEMPLATE template0", NULL, 0);
    char su[256], owner[256];
    uri_for(su, sizeof su, "prov", "tally");
    uri_for(owner, sizeof owner, "prov", "tally_owner");
    assert_int_equal(run("%s -q -v ON_ERROR_STOP=1 '%s' -f %s/packaging/tally/postgresql/roles.sql", PSQL, su,
                         TEST_SOURCE_DIR), 0);
    /* The URI may carry a password (docs/operations.md): init says which database is ready, never the URI. */
    char cmd[600], said[512] = "";
    snprintf(cmd, sizeof cmd, "'%s' --db '%s&password=s3cret-HaiLong' init 2>&1", TALLY_ADMIN_BIN, owner);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(said, 1, sizeof said - 1, p);
    said[got] = '\0';
    assert_int_equal(pclose(p), 0);
    if(strstr(said, "s3cret") || !strstr(said, "database PostgreSQL is ready"))
        fail_msg("init printed: %s", said);
    assert_int_equal(run("%s -q -v ON_ERROR_STOP=1 '%s' -f %s/packaging/tally/postgresql/grants.sql", PSQL, owner,
                         TEST_SOURCE_DIR), 0);
    /* The file took the conflicting batch above: migrate it whole into the new database, as the owner. */
    assert_int_equal(migrate(owner, ""), 0);
    assert_non_null(strstr(g_out, "verified"));
}

/* A pg_dump restored into a fresh database (as docs/operations.md says) holds the same tally: migrate from
 * the file finds nothing to change there. */
static void test_pg_dump_restore_keeps_the_tally(void **state)
{
    (void)state;
    char su[256], owner[256], dump[400];
    uri_for(su, sizeof su, "prov", "tally");
    uri_for(owner, sizeof owner, "restored", "tally_owner");
    snprintf(dump, sizeof dump, "%s/prov.dump", S.dir);
    assert_int_equal(run("/usr/lib/postgresql/15/bin/pg_dump -Fc -d '%s' -f '%s'", su, dump), 0);
    pg_sql(g_uri, "CREATE DATABASE restored OWNER tally_owner ENCODING 'UTF8' TEMPLATE template0", NULL, 0);
    uri_for(su, sizeof su, "restored", "tally");
    assert_int_equal(run("/usr/lib/postgresql/15/bin/pg_restore --no-owner --role=tally_owner -d '%s' '%s'", su,
                         dump), 0);
    assert_int_equal(migrate(owner, ""), 0);
    assert_non_null(strstr(g_out, "nothing changed"));
    assert_non_null(strstr(g_out, "verified"));
}

/* tally-server's role ingests but cannot drop, truncate, delete, create or change targets. */
static void test_server_role_ingests_but_cannot_drop(void **state)
{
    (void)state;
    char server[256];
    uri_for(server, sizeof server, "prov", "tally_server");
    char msg[TALLY_MSG_MAX], rep[4096], tok[TALLY_TOKEN_HEX + 1];
    TallyDb *db;
    TallyIngest *in;
    assert_int_equal(tally_db_open(server, &db, msg), TALLY_OK);
    assert_int_equal(tally_ingest_new(db, &in, msg), TALLY_OK);
    int64_t now = (int64_t)time(NULL) + 300;
    ingest(in, g_batch_b, UNIT_B, now, rep, sizeof rep);
    assert_string_equal(rep, "accepted=0 duplicate=24 rejected=");
    char *fresh = make_batch("kiosk-b", UNIT_B, 6, 11);
    ingest(in, fresh, UNIT_B, now, rep, sizeof rep);
    assert_string_equal(rep, "accepted=6 duplicate=0 rejected=");
    free(fresh);
    assert_int_equal(tally_db_probe_write(db, now, msg), TALLY_OK);
    /* Enrolment is the administrator's. */
    assert_int_not_equal(tally_device_add(db, "kiosk-x", UNIT_A, 0, tok, msg), TALLY_OK);
    tally_ingest_free(in);
    tally_db_close(db);

    static const char *const DENIED[] = {
        "DROP TABLE ratings", "TRUNCATE ratings", "DELETE FROM ratings", "DELETE FROM receipts",
        "UPDATE ratings SET unit = 'x'", "UPDATE targets SET pct = 1", "UPDATE devices SET token_hash = '\\x00'",
        "CREATE TABLE junk(a int)", "ALTER TABLE ratings ADD COLUMN junk int", "DROP TABLE schema_version",
    };
    for(size_t i = 0; i < sizeof DENIED / sizeof DENIED[0]; i++) {
        char st[8];
        pg_state(server, DENIED[i], st);
        if(strcmp(st, "42501") != 0)
            fail_msg("tally_server: '%s' gave SQLSTATE '%s', not 42501 (insufficient privilege)", DENIED[i], st);
    }
    char st[8];
    pg_state(server, "SELECT count(*) FROM ratings", st);
    assert_string_equal(st, "");
}

/* The streaming standby of docs/operations.md: pg_basebackup -X stream -C -S -R from the primary, started on
 * its own socket; it follows the primary, refuses writes, and takes them once promoted. */
static void test_streaming_standby_follows_and_takes_over(void **state)
{
    (void)state;
    snprintf(g_sbdir, sizeof g_sbdir, "/tmp/pgsbXXXXXX");
    assert_non_null(mkdtemp(g_sbdir));
    const char *as = getuid() == 0 ? "runuser -u tallytest --" : "";
    if(getuid() == 0)
        assert_int_equal(run("chown tallytest: %s && chmod 700 %s", g_sbdir, g_sbdir), 0);
    char primary[256], standby[256];
    uri_for(primary, sizeof primary, "prov", "tally");
    snprintf(standby, sizeof standby, "postgresql:///prov?host=%s&user=tally", g_sbdir);
    /* timeout: a hung copy must fail the test, not outlive it (ctest's kill would skip the teardown). */
    assert_int_equal(run("cd /tmp && timeout 60 %s %s/pg_basebackup -h %s -U tally -D %s/data -X stream -c fast "
                         "-C -S standby1 -R", as, PGBIN, g_pgdir, g_sbdir), 0);
    assert_int_equal(run("cd /tmp && %s %s/pg_ctl -D %s/data -l %s/log -w -t 60 -o \"-c listen_addresses='' "
                         "-c unix_socket_directories='%s'\" start", as, PGBIN, g_sbdir, g_sbdir, g_sbdir), 0);
    char v[64];
    pg_sql(standby, "SELECT pg_is_in_recovery()", v, sizeof v);
    assert_string_equal(v, "t");
    pg_sql(primary, "SELECT state FROM pg_stat_replication WHERE application_name = 'walreceiver'", v, sizeof v);
    assert_string_equal(v, "streaming");
    /* A rating stored on the primary reaches the standby. */
    pg_sql(primary, "INSERT INTO ratings SELECT 'zz-replicated', device, unit, area, scale, score, flagged, day,"
                    " body, batch, received_at, quarantine FROM ratings LIMIT 1", NULL, 0);
    for(int i = 0; i < 100; i++) {
        pg_sql(standby, "SELECT count(*) FROM ratings WHERE id = 'zz-replicated'", v, sizeof v);
        if(strcmp(v, "1") == 0)
            break;
        usleep(50000);
    }
    assert_string_equal(v, "1");
    char st[8];
    pg_state(standby, "INSERT INTO settings VALUES ('standby', 'x')", st);
    assert_string_equal(st, "25006"); /* read-only transaction */
    pg_sql(standby, "SELECT pg_promote()", v, sizeof v);
    assert_string_equal(v, "t");
    pg_state(standby, "INSERT INTO settings VALUES ('standby', 'x')", st);
    assert_string_equal(st, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_copies_and_verifies),
        cmocka_unit_test(test_second_run_changes_nothing),
        cmocka_unit_test(test_interrupted_run_finishes_when_run_again),
        cmocka_unit_test(test_verification_catches_a_difference),
        cmocka_unit_test(test_ingest_after_migration_behaves_as_on_sqlite),
        cmocka_unit_test(test_roles_owner_inits_and_migrates),
        cmocka_unit_test(test_pg_dump_restore_keeps_the_tally),
        cmocka_unit_test(test_server_role_ingests_but_cannot_drop),
        cmocka_unit_test(test_streaming_standby_follows_and_takes_over),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
