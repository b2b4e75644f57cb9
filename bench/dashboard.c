/* bench/dashboard — server time of the dashboard's pages over a province-sized year, beside the equivalent
 * GET /api/v1/tally JSON call in the same run.
 *
 *   dashboard [--ratings N] [--runs R]      (defaults 5,000,000 / 100)
 *
 * Arrange: a tally database with a generated province (1 root, 24 departments, 17 districts of 8 communes:
 * 330+ units, 500+ kiosks), N ratings over 2025 written straight into every roll-up as ingest leaves them
 * (daily, monthly, monthly_sat, reasons, hours; seeding through HTTP would take long and measure ingest, which
 * bench/ingest does), device counters, a viewer with a password and a session. Figures: median and p99 of
 * tally_web_handle() — everything the server does for a request after the socket: session lookup, scope,
 * report model, HTML — for the overview (a quarter and a year), the unit tree and a district's unit page;
 * each beside the GET /api/v1/tally calls that fetch the same figures as JSON, through the same handler with
 * a bearer token (timed together per run). Target: each page <= 50 ms p99 and <= 2x its JSON calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench/bench_util.h"
#include "sync/protocol.h"
#include "sync/tally/tally_account.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_web.h"

#define DAYS 365
#define N_DEPTS 24
#define N_DISTRICTS 17
#define N_COMMUNES 8

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "dashboard bench: %s: %s\n", what, msg);
    exit(1);
}

typedef struct {
    char code[PROTO_ID_MAX + 1];
    int  scale, areas[3];
    int  kiosks;
} Counter;

static void exec(sqlite3 *s, const char *sql)
{
    char *err = NULL;
    if(sqlite3_exec(s, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err ? err : "?");
}

static void add_unit(TallyDb *db, const char *code, const char *name, const char *parent)
{
    char msg[TALLY_MSG_MAX];
    if(tally_unit_add(db, code, name, parent, msg))
        die(code, msg);
}

typedef struct {
    const char *label;
    double      med, p99;
} Figure;

/* One request of a measured set. */
typedef struct {
    const char  *path;
    TallyWebArg *q;
    size_t       nq;
} Req;

/* Runs a set of requests R times through the handler (the session cookie for pages, the token for the API);
 * each run's time is the set's total. Returns median and p99 in ms. */
static Figure measure(TallyWeb *w, TallyDb *db, const char *label, const Req *reqs, int n_reqs, const char *cookie,
                      const char *token, int runs)
{
    double *t = malloc((size_t)runs * sizeof *t);
    size_t bytes = 0;
    for(int i = 0; i < runs; i++) {
        t[i] = 0;
        bytes = 0;
        for(int k = 0; k < n_reqs; k++) {
            TallyWebRequest req = {.method = "GET", .path = reqs[k].path, .query = reqs[k].q, .n_query = reqs[k].nq,
                                   .cookie = cookie, .bearer = token, .client_addr = "127.0.0.1",
                                   .now_s = (int64_t)time(NULL)};
            TallyWebResponse resp;
            double t0 = bench_now_ms();
            tally_web_handle(w, db, &req, &resp);
            t[i] += bench_now_ms() - t0;
            if(resp.status != 200)
                die(label, resp.body ? resp.body : "no body");
            bytes += resp.len;
            tally_web_response_free(&resp);
        }
    }
    qsort(t, (size_t)runs, sizeof *t, bench_cmp_double);
    Figure f = {label, t[runs / 2], t[(int)((runs - 1) * 0.99)]};
    printf("  %-52s median %7.2f ms   p99 %7.2f ms   (%d request%s, %zu bytes)\n", label, f.med, f.p99, n_reqs,
           n_reqs > 1 ? "s" : "", bytes);
    free(t);
    return f;
}

int main(int argc, char **argv)
{
    long long n = 5000000;
    int runs = 100;
    for(int i = 1; i + 1 < argc; i += 2) {
        if(strcmp(argv[i], "--ratings") == 0)
            n = atoll(argv[i + 1]);
        else if(strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
    }
    if(n < 1 || runs < 2) {
        fprintf(stderr, "usage: dashboard [--ratings N] [--runs R]\n");
        return 2;
    }
    char dir[] = "/tmp/bench-dashboard-XXXXXX";
    if(!mkdtemp(dir))
        die("mkdtemp", "failed");
    char path[256], msg[TALLY_MSG_MAX], code[64], name[160], parent[24], tok[TALLY_TOKEN_HEX + 1];
    snprintf(path, sizeof path, "%s/tally.db", dir);
    TallyDb *db;
    if(tally_db_open(path, &db, msg))
        die(path, msg);
    sqlite3 *s = tally_db_sqlite(db);

    /* The province: departments with one or two counters, districts with their own counter and communes. */
    double t_seed = bench_now_ms();
    exec(s, "PRAGMA synchronous=OFF"); /* seeding only: nothing here must survive a power cut */
    add_unit(db, "P", "UBND tỉnh (bench)", NULL);
    Counter *counters = calloc(1000, sizeof *counters);
    int n_counters = 0, n_units = 1;
    unsigned seed = 11;
    for(int d = 0; d < N_DEPTS; d++) {
        snprintf(code, sizeof code, "P.S%02d", d);
        snprintf(name, sizeof name, "Sở số %d", d + 1);
        add_unit(db, code, name, "P"), n_units++;
        for(int q = 0; q < 1 + d % 2; q++) {
            Counter *c = &counters[n_counters++];
            snprintf(c->code, sizeof c->code, "P.S%02d.Q%d", d, q + 1);
            snprintf(name, sizeof name, "Sở số %d – Quầy %d", d + 1, q + 1);
            add_unit(db, c->code, name, code), n_units++;
            bool health = d == 5, school = d == 6;
            c->scale = health || school ? SCALE_LIKERT5 : SCALE_TTHC3;
            for(int k = 0; k < 3; k++)
                c->areas[k] = health ? AREA_Y_TE : school ? AREA_GIAO_DUC : rand_r(&seed) % AREA_COUNT;
            c->kiosks = 3;
        }
    }
    for(int d = 0; d < N_DISTRICTS; d++) {
        snprintf(parent, sizeof parent, "P.H%02d", d);
        snprintf(name, sizeof name, "UBND huyện số %d", d + 1);
        add_unit(db, parent, name, "P"), n_units++;
        for(int x = -1; x < N_COMMUNES; x++) {
            char commune[32];
            if(x >= 0) {
                snprintf(commune, sizeof commune, "%s.X%02d", parent, x);
                snprintf(name, sizeof name, "UBND xã số %d huyện %d", x + 1, d + 1);
                add_unit(db, commune, name, parent), n_units++;
            } else {
                snprintf(commune, sizeof commune, "%s", parent);
            }
            Counter *c = &counters[n_counters++];
            snprintf(c->code, sizeof c->code, "%s.Q1", commune);
            snprintf(name, sizeof name, "Bộ phận Một cửa %s", commune);
            add_unit(db, c->code, name, commune), n_units++;
            c->scale = SCALE_TTHC3;
            for(int k = 0; k < 3; k++)
                c->areas[k] = rand_r(&seed) % AREA_COUNT;
            c->kiosks = x < 0 ? 4 : 2 + (x % 2 == 0);
        }
    }
    /* Kiosks with their counters (received = max_seq: no gaps, except one in fifty). */
    exec(s, "BEGIN");
    sqlite3_stmt *st;
    int n_devices = 0;
    sqlite3_prepare_v2(s, "INSERT INTO devices(id, unit, token_hash, created_at, last_seen, last_skew_s, received, "
                          "max_seq) VALUES (?1, ?2, randomblob(32), 0, ?3, 0, ?4, ?4 + ?5)", -1, &st, NULL);
    for(int c = 0; c < n_counters; c++)
        for(int k = 0; k < counters[c].kiosks; k++) {
            snprintf(code, sizeof code, "kiosk-%d-%d", c, k);
            sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, counters[c].code, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (int64_t)time(NULL) - (n_devices % 97 == 0 ? 5 * 86400 : 3600));
            sqlite3_bind_int64(st, 4, n / 500);
            sqlite3_bind_int64(st, 5, n_devices % 50 == 0 ? 3 : 0);
            if(sqlite3_step(st) != SQLITE_DONE)
                die("device", sqlite3_errmsg(s));
            sqlite3_reset(st);
            n_devices++;
        }
    sqlite3_finalize(st);
    fprintf(stderr, "dashboard bench: %d units, %d counters, %d kiosks; seeding %lld ratings over 2025...\n", n_units,
            n_counters, n_devices, n);

    /* Ratings into cells: counter x day x area x score x flagged, and hours and reasons beside them. */
    size_t n_cells = (size_t)n_counters * DAYS * AREA_COUNT * PROTO_MAX_LEVELS * 2;
    uint32_t *cells = calloc(n_cells, sizeof *cells);
    uint32_t *hours = calloc((size_t)n_counters * DAYS * 24 * 2, sizeof *hours);
    uint32_t *reasons = calloc((size_t)n_counters * DAYS * AREA_COUNT * REASON_COUNT, sizeof *reasons);
    if(!cells || !hours || !reasons)
        die("memory", "out of memory");
    int64_t day0 = ptime_days_from_civil(2025, 1, 1);
    for(long long i = 0; i < n; i++) {
        int c = rand_r(&seed) % n_counters, d = rand_r(&seed) % DAYS, a = counters[c].areas[rand_r(&seed) % 3];
        int levels = counters[c].scale == SCALE_LIKERT5 ? 5 : 3;
        int score = rand_r(&seed) % 8 ? levels - rand_r(&seed) % 2 : 1 + rand_r(&seed) % levels;
        int flagged = rand_r(&seed) % 60 == 0, hour = 7 + rand_r(&seed) % 10;
        cells[((((size_t)c * DAYS + (size_t)d) * AREA_COUNT + (size_t)a) * PROTO_MAX_LEVELS + (size_t)score - 1) * 2 +
              (size_t)flagged]++;
        if(!flagged) {
            bool unsat = !proto_is_satisfied((ProtoScale)counters[c].scale, score);
            hours[(((size_t)c * DAYS + (size_t)d) * 24 + (size_t)hour) * 2]++;
            hours[(((size_t)c * DAYS + (size_t)d) * 24 + (size_t)hour) * 2 + 1] += unsat;
            if(unsat && rand_r(&seed) % 10 < 7)
                reasons[(((size_t)c * DAYS + (size_t)d) * AREA_COUNT + (size_t)a) * REASON_COUNT +
                        (size_t)(rand_r(&seed) % REASON_COUNT)]++;
        }
    }
    sqlite3_stmt *daily, *rd;
    sqlite3_prepare_v2(s, "INSERT INTO daily(unit, day, area, scale, score, flagged, n) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                       -1, &daily, NULL);
    sqlite3_prepare_v2(s, "INSERT INTO reasons_daily(unit, day, area, reason, n) VALUES (?1,?2,?3,?4,?5)", -1, &rd,
                       NULL);
    sqlite3_prepare_v2(s, "INSERT INTO hours_daily(unit, day, hour, n, unsatisfied) VALUES (?1,?2,?3,?4,?5)", -1, &st,
                       NULL);
    for(int c = 0; c < n_counters; c++)
        for(int d = 0; d < DAYS; d++) {
            for(int a = 0; a < AREA_COUNT; a++) {
                for(int sc = 1; sc <= PROTO_MAX_LEVELS; sc++)
                    for(int f = 0; f < 2; f++) {
                        uint32_t v = cells[((((size_t)c * DAYS + (size_t)d) * AREA_COUNT + (size_t)a) * PROTO_MAX_LEVELS +
                                            (size_t)sc - 1) * 2 + (size_t)f];
                        if(!v)
                            continue;
                        sqlite3_bind_text(daily, 1, counters[c].code, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(daily, 2, day0 + d);
                        sqlite3_bind_text(daily, 3, proto_area_code((ProtoArea)a), -1, SQLITE_STATIC);
                        sqlite3_bind_text(daily, 4, proto_scale_code((ProtoScale)counters[c].scale), -1, SQLITE_STATIC);
                        sqlite3_bind_int(daily, 5, sc);
                        sqlite3_bind_int(daily, 6, f);
                        sqlite3_bind_int64(daily, 7, v);
                        if(sqlite3_step(daily) != SQLITE_DONE)
                            die("daily", sqlite3_errmsg(s));
                        sqlite3_reset(daily);
                    }
                for(int k = 0; k < REASON_COUNT; k++) {
                    uint32_t v = reasons[(((size_t)c * DAYS + (size_t)d) * AREA_COUNT + (size_t)a) * REASON_COUNT +
                                         (size_t)k];
                    if(!v)
                        continue;
                    sqlite3_bind_text(rd, 1, counters[c].code, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(rd, 2, day0 + d);
                    sqlite3_bind_text(rd, 3, proto_area_code((ProtoArea)a), -1, SQLITE_STATIC);
                    sqlite3_bind_text(rd, 4, proto_reason_code((ProtoReason)k), -1, SQLITE_STATIC);
                    sqlite3_bind_int64(rd, 5, v);
                    if(sqlite3_step(rd) != SQLITE_DONE)
                        die("reasons", sqlite3_errmsg(s));
                    sqlite3_reset(rd);
                }
            }
            for(int h = 0; h < 24; h++) {
                uint32_t *v = &hours[(((size_t)c * DAYS + (size_t)d) * 24 + (size_t)h) * 2];
                if(!v[0])
                    continue;
                sqlite3_bind_text(st, 1, counters[c].code, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, day0 + d);
                sqlite3_bind_int(st, 3, h);
                sqlite3_bind_int64(st, 4, v[0]);
                sqlite3_bind_int64(st, 5, v[1]);
                if(sqlite3_step(st) != SQLITE_DONE)
                    die("hours", sqlite3_errmsg(s));
                sqlite3_reset(st);
            }
        }
    sqlite3_finalize(daily);
    sqlite3_finalize(rd);
    sqlite3_finalize(st);
    free(cells), free(hours), free(reasons);
    /* The monthly roll-ups from the daily ones, with the same SQL as migrations 2 and 3. */
    exec(s, "INSERT INTO monthly SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
            " + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, area, scale, score, flagged, sum(n)"
            " FROM daily GROUP BY 1, 2, 3, 4, 5, 6");
    exec(s, "INSERT INTO monthly_sat SELECT unit, month, area, sum(CASE WHEN flagged = 0 THEN n ELSE 0 END),"
            " sum(CASE WHEN flagged = 0 AND score >= (CASE scale WHEN 'likert5' THEN 4 ELSE 2 END) THEN n ELSE 0 END),"
            " sum(CASE WHEN flagged = 1 THEN n ELSE 0 END) FROM monthly GROUP BY 1, 2, 3");
    exec(s, "INSERT INTO reasons_monthly SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
            " + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, area, reason, sum(n)"
            " FROM reasons_daily GROUP BY 1, 2, 3, 4");
    exec(s, "INSERT INTO hours_monthly SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
            " + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, (day + 3) % 7, hour, sum(n),"
            " sum(unsatisfied) FROM hours_daily GROUP BY 1, 2, 3, 4");
    exec(s, "COMMIT");
    exec(s, "ANALYZE");
    fprintf(stderr, "dashboard bench: seeded in %.1f s\n", (bench_now_ms() - t_seed) / 1000);

    /* A province viewer: a session for the pages, a token for the API. */
    if(tally_viewer_add(db, "bench", tok, msg) || tally_viewer_set_password(db, "bench", "bench-password-1", msg))
        die("viewer", msg);
    TallyLockPolicy pol = tally_lock_policy_default();
    TallyLoginResult lr;
    if(tally_login(db, &pol, "bench", "bench-password-1", "127.0.0.1", (int64_t)time(NULL), &lr, msg) ||
       lr.result != TALLY_LOGIN_OK)
        die("login", msg);
    char cookie[128];
    snprintf(cookie, sizeof cookie, "tally_sid=%s", lr.sid);
    TallyWeb *w;
    TallyWebConfig cfg = tally_web_config_default();
    if(tally_web_new(&cfg, &w, msg))
        die("web", msg);

    printf("bench/dashboard: %d units, %d kiosks, %lld ratings in 2025; %d runs each; server time per request\n",
           n_units, n_devices, n, runs);
    /* Each page beside the API calls that fetch the same figures: the overview's cards (period and previous
     * period by group) and trend (the year by month and group); the tree's figures (by unit and group, the
     * nearest one call gets: direct children); a unit page's cards, sub-units and areas. */
    TallyWebArg quarter[] = {{"period", "quy:2025-4"}}, year[] = {{"period", "nam:2025"}};
    TallyWebArg q_cur[] = {{"from", "2025-10-01"}, {"to", "2025-12-31"}, {"by", "group"}};
    TallyWebArg q_prev[] = {{"from", "2025-07-01"}, {"to", "2025-09-30"}, {"by", "group"}};
    TallyWebArg y_cur[] = {{"from", "2025-01-01"}, {"to", "2025-12-31"}, {"by", "group"}};
    TallyWebArg y_prev[] = {{"from", "2024-01-01"}, {"to", "2024-12-31"}, {"by", "group"}};
    TallyWebArg trend[] = {{"from", "2025-01-01"}, {"to", "2025-12-31"}, {"by", "month,group"}};
    TallyWebArg tree[] = {{"from", "2025-10-01"}, {"to", "2025-12-31"}, {"by", "unit,group"}};
    TallyWebArg u_grp[] = {{"from", "2025-10-01"}, {"to", "2025-12-31"}, {"unit", "P.H03"}, {"by", "group"}};
    TallyWebArg u_sub[] = {{"from", "2025-10-01"}, {"to", "2025-12-31"}, {"unit", "P.H03"}, {"by", "unit,group"}};
    TallyWebArg u_area[] = {{"from", "2025-10-01"}, {"to", "2025-12-31"}, {"unit", "P.H03"}, {"by", "area"}};
    const Req p_q[] = {{"/tong-quan", quarter, 1}}, p_y[] = {{"/tong-quan", year, 1}},
              p_t[] = {{"/don-vi", quarter, 1}}, p_u[] = {{"/don-vi/P.H03", quarter, 1}};
    const Req a_q[] = {{"/api/v1/tally", q_cur, 3}, {"/api/v1/tally", q_prev, 3}, {"/api/v1/tally", trend, 3}};
    const Req a_y[] = {{"/api/v1/tally", y_cur, 3}, {"/api/v1/tally", y_prev, 3}, {"/api/v1/tally", trend, 3}};
    const Req a_t[] = {{"/api/v1/tally", tree, 3}};
    const Req a_u[] = {{"/api/v1/tally", u_grp, 4}, {"/api/v1/tally", u_sub, 4}, {"/api/v1/tally", u_area, 4}};
    struct {
        Figure page, api;
    } rows[4];
    rows[0].page = measure(w, db, "overview, quarter (/tong-quan)", p_q, 1, cookie, NULL, runs);
    rows[0].api = measure(w, db, "  vs API: group x2 periods + month,group", a_q, 3, NULL, tok, runs);
    rows[1].page = measure(w, db, "overview, year (/tong-quan)", p_y, 1, cookie, NULL, runs);
    rows[1].api = measure(w, db, "  vs API: group x2 periods + month,group", a_y, 3, NULL, tok, runs);
    rows[2].page = measure(w, db, "unit tree, quarter (/don-vi)", p_t, 1, cookie, NULL, runs);
    rows[2].api = measure(w, db, "  vs API: unit,group", a_t, 1, NULL, tok, runs);
    rows[3].page = measure(w, db, "district unit page, quarter (/don-vi/P.H03)", p_u, 1, cookie, NULL, runs);
    rows[3].api = measure(w, db, "  vs API: unit=P.H03 group + unit,group + area", a_u, 3, NULL, tok, runs);
    bool ok = true;
    printf("summary (target: page p99 <= 50 ms and <= 2x its JSON call):\n");
    for(int i = 0; i < 4; i++) {
        double ratio = rows[i].page.p99 / rows[i].api.p99;
        bool met = rows[i].page.p99 <= 50 && ratio <= 2;
        ok &= met;
        printf("  %-36s p99 %6.2f ms  JSON p99 %6.2f ms  ratio %4.2f  %s\n", rows[i].page.label, rows[i].page.p99,
               rows[i].api.p99, ratio, met ? "met" : "NOT MET");
    }
    tally_web_free(w);
    tally_db_close(db);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if(system(cmd) != 0)
        fprintf(stderr, "dashboard bench: could not remove %s\n", dir);
    return ok ? 0 : 1;
}
