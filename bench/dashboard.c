/* bench/dashboard — server time of the dashboard's pages over a province-sized year, beside the equivalent
 * GET /api/v1/tally JSON call in the same run.
 *
 *   dashboard [--ratings N] [--runs R]      (defaults 5,000,000 / 100)
 *
 * Arrange: bench/province.h's province (347 units, 173 counters, 519 kiosks) with N ratings over 2025 written
 * straight into every roll-up as ingest leaves them (seeding through HTTP would take long and measure ingest,
 * which bench/ingest does), a viewer with a password and a session. Figures: median and p99 of
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
#include "bench/province.h"
#include "sync/protocol.h"
#include "sync/tally/tally_account.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_web.h"

#define DISTRICT "000.00.24.H21" /* a district of bench/province: its own counter and 8 communes */

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "dashboard bench: %s: %s\n", what, msg);
    exit(1);
}

typedef struct {
    const char *label;
    double      med, p99;
} Figure;

/* One request of a measured set. */
typedef struct {
    const char *path;
    const char *query; /* as sent */
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
            TallyWebRequest req = {.method = "GET", .path = reqs[k].path, .query = reqs[k].query,
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
    char path[256], msg[TALLY_MSG_MAX], tok[TALLY_TOKEN_HEX + 1];
    snprintf(path, sizeof path, "%s/tally.db", dir);
    TallyDb *db;
    if(tally_db_open(path, &db, msg))
        die(path, msg);

    /* The province, seeded straight into the roll-ups (bench/province.h, shared with bench/report). */
    fprintf(stderr, "dashboard bench: seeding %lld ratings over a province in 2025...\n", n);
    BenchProvince prov = {.year = 2025, .ratings = n, .devices_per_counter = 3, .seed = 11};
    BenchProvinceInfo info;
    if(bench_province_seed(db, &prov, &info, msg))
        die("seed", msg);
    int n_units = (int)info.units, n_devices = (int)info.devices;
    fprintf(stderr, "dashboard bench: %d units, %zu counters, %d kiosks, seeded in %.1f s\n", n_units, info.counters,
            n_devices, info.seconds);

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
     * period by group) and trend (the year by month and group); the tree's figures (by unit and group, level by
     * level, as an API client builds the same table); a unit page's cards, sub-units and areas. */
    const char *quarter = "period=quy:2025-4", *year = "period=nam:2025";
    const char *q_cur = "from=2025-10-01&to=2025-12-31&by=group", *q_prev = "from=2025-07-01&to=2025-09-30&by=group";
    const char *y_cur = "from=2025-01-01&to=2025-12-31&by=group", *y_prev = "from=2024-01-01&to=2024-12-31&by=group";
    const char *trend = "from=2025-01-01&to=2025-12-31&by=month,group";
    const char *tree = "from=2025-10-01&to=2025-12-31&by=unit,group";
    const char *u_grp = "from=2025-10-01&to=2025-12-31&unit=" DISTRICT "&by=group";
    const char *u_sub = "from=2025-10-01&to=2025-12-31&unit=" DISTRICT "&by=unit,group";
    const char *u_area = "from=2025-10-01&to=2025-12-31&unit=" DISTRICT "&by=area";
    const Req p_q[] = {{"/tong-quan", quarter}}, p_y[] = {{"/tong-quan", year}}, p_t[] = {{"/don-vi", quarter}},
              p_u[] = {{"/don-vi/" DISTRICT, quarter}};
    const Req a_q[] = {{"/api/v1/tally", q_cur}, {"/api/v1/tally", q_prev}, {"/api/v1/tally", trend}};
    const Req a_y[] = {{"/api/v1/tally", y_cur}, {"/api/v1/tally", y_prev}, {"/api/v1/tally", trend}};
    /* The tree page shows every unit's figures; the API gives one level per call (a unit's direct children), so
     * its equivalent is one by=unit,group call for the province and one for every unit that has children. */
    Req a_t[400];
    char a_t_q[400][128];
    int n_t = 0;
    a_t[n_t++] = (Req){"/api/v1/tally", tree};
    sqlite3_stmt *st;
    if(sqlite3_prepare_v2(tally_db_sqlite(db), "SELECT DISTINCT parent FROM units WHERE parent IS NOT NULL ORDER BY 1",
                          -1, &st, NULL) != SQLITE_OK)
        die("units", sqlite3_errmsg(tally_db_sqlite(db)));
    while(sqlite3_step(st) == SQLITE_ROW && n_t < 400) {
        snprintf(a_t_q[n_t], sizeof a_t_q[n_t], "from=2025-10-01&to=2025-12-31&unit=%s&by=unit,group",
                 (const char *)sqlite3_column_text(st, 0));
        a_t[n_t] = (Req){"/api/v1/tally", a_t_q[n_t]};
        n_t++;
    }
    sqlite3_finalize(st);
    const Req a_u[] = {{"/api/v1/tally", u_grp}, {"/api/v1/tally", u_sub}, {"/api/v1/tally", u_area}};
    struct {
        Figure page, api;
    } rows[4];
    rows[0].page = measure(w, db, "overview, quarter (/tong-quan)", p_q, 1, cookie, NULL, runs);
    rows[0].api = measure(w, db, "  vs API: group x2 periods + month,group", a_q, 3, NULL, tok, runs);
    rows[1].page = measure(w, db, "overview, year (/tong-quan)", p_y, 1, cookie, NULL, runs);
    rows[1].api = measure(w, db, "  vs API: group x2 periods + month,group", a_y, 3, NULL, tok, runs);
    rows[2].page = measure(w, db, "unit tree, quarter (/don-vi)", p_t, 1, cookie, NULL, runs);
    rows[2].api = measure(w, db, "  vs API: unit,group per unit with children", a_t, n_t, NULL, tok, runs);
    rows[3].page = measure(w, db, "district unit page, quarter (/don-vi/" DISTRICT ")", p_u, 1, cookie, NULL, runs);
    rows[3].api = measure(w, db, "  vs API: unit=" DISTRICT " group + unit,group + area", a_u, 3, NULL, tok, runs);
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
