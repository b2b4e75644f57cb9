/* bench/tally — how long a year-long tally by unit × area takes over ten million ratings.
 *
 *   tally [--ratings N] [--raw M] [--runs R]      (defaults 10,000,000 / 200,000 / 30)
 *
 * Arrange: a tally database with the sample Gia Lai unit tree (assets/units-gialai.csv); N realistic ratings
 * over 2025 spread across every counter, written straight into the daily and monthly roll-ups as ingest would
 * leave it (seeding through HTTP would take an hour and measure ingest, which bench/ingest does); the first
 * M of them also as raw rating rows. Figure: median and p99 latency of tally_query_run for
 * from=2025-01-01 to=2025-12-31 unit=<province> by=unit,area — what GET /api/v1/tally does after auth.
 * Baselines in the same run: the same tally computed by SQL straight from the M raw rows (scaled to N), and
 * a trivial tally (one counter, one day) for the fixed cost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench/bench_util.h"
#include "sync/protocol.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_query.h"

#define PROVINCE "000.00.00.H21"
#define DAYS 365
#define MAX_COUNTERS 128

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "tally bench: %s: %s\n", what, msg);
    exit(1);
}

typedef struct {
    char code[PROTO_ID_MAX + 1];
    int  scale;     /* ProtoScale */
    int  areas[3];  /* the areas this counter serves */
} Counter;

int main(int argc, char **argv)
{
    long long n = 10000000, n_raw = 200000;
    int runs = 30;
    for(int i = 1; i + 1 < argc; i += 2) {
        if(strcmp(argv[i], "--ratings") == 0)
            n = atoll(argv[i + 1]);
        else if(strcmp(argv[i], "--raw") == 0)
            n_raw = atoll(argv[i + 1]);
        else if(strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
    }
    if(n < 1 || n_raw < 1 || runs < 1) {
        fprintf(stderr, "usage: tally [--ratings N] [--raw M] [--runs R]\n");
        return 2;
    }
    if(n_raw > n)
        n_raw = n;
    char dir[] = "/tmp/bench-tally-XXXXXX";
    if(!mkdtemp(dir))
        die("mkdtemp", "failed");
    char path[256], msg[TALLY_MSG_MAX];
    snprintf(path, sizeof path, "%s/tally.db", dir);
    TallyDb *db;
    size_t n_units;
    if(tally_db_open(path, &db, msg) ||
       tally_unit_import_csv(db, BENCH_SOURCE_DIR "/assets/units-gialai.csv", &n_units, msg))
        die(path, msg);
    sqlite3 *s = tally_db_sqlite(db);

    /* The counters: the leaves of the tree. */
    Counter counters[MAX_COUNTERS];
    int n_counters = 0;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s, "SELECT code FROM units WHERE code NOT IN (SELECT parent FROM units WHERE parent IS NOT NULL)"
                          " ORDER BY code", -1, &st, NULL);
    unsigned seed = 7;
    while(sqlite3_step(st) == SQLITE_ROW && n_counters < MAX_COUNTERS) {
        Counter *c = &counters[n_counters++];
        snprintf(c->code, sizeof c->code, "%s", (const char *)sqlite3_column_text(st, 0));
        bool health = strstr(c->code, ".BV") != NULL || strncmp(c->code, "000.00.08.", 10) == 0;
        bool school = strncmp(c->code, "000.00.09.", 10) == 0;
        c->scale = health || school ? SCALE_LIKERT5 : SCALE_TTHC3;
        for(int k = 0; k < 3; k++)
            c->areas[k] = health ? AREA_Y_TE : school ? AREA_GIAO_DUC : rand_r(&seed) % AREA_COUNT;
    }
    sqlite3_finalize(st);

    /* Generate N ratings into roll-up cells (and the first n_raw as raw rows). */
    fprintf(stderr, "tally bench: seeding %lld ratings over %d counters of %zu units (%lld raw rows)...\n", n,
            n_counters, n_units, n_raw);
    double t_seed = bench_now_ms();
    size_t n_cells = (size_t)n_counters * DAYS * AREA_COUNT * PROTO_MAX_LEVELS * 2;
    uint32_t *cells = calloc(n_cells, sizeof *cells);
    int64_t day0 = ptime_days_from_civil(2025, 1, 1);
    sqlite3_exec(s, "BEGIN", NULL, NULL, NULL);
    sqlite3_prepare_v2(s, "INSERT INTO ratings(id, device, unit, area, scale, score, flagged, day, body, batch,"
                          " received_at) VALUES (?1, 'bench', ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'seed', 0)", -1, &st, NULL);
    for(long long i = 0; i < n; i++) {
        int c = rand_r(&seed) % n_counters, d = rand_r(&seed) % DAYS, a = counters[c].areas[rand_r(&seed) % 3];
        int levels = counters[c].scale == SCALE_LIKERT5 ? 5 : 3;
        int score = rand_r(&seed) % 6 ? levels - rand_r(&seed) % 2 : 1 + rand_r(&seed) % levels;
        int flagged = rand_r(&seed) % 50 == 0;
        cells[((((size_t)c * DAYS + (size_t)d) * AREA_COUNT + (size_t)a) * PROTO_MAX_LEVELS + (size_t)score - 1) * 2 +
              (size_t)flagged]++;
        if(i < n_raw) {
            ProtoRating r = {0};
            uint8_t rnd[10];
            for(int k = 0; k < 10; k++)
                rnd[k] = (uint8_t)rand_r(&seed);
            int64_t t = ptime_vn_day_start(day0 + d) + 7 * 3600 + rand_r(&seed) % (10 * 3600);
            uuid_v7_make(r.id, (uint64_t)t * 1000, rnd);
            r.seq = i + 1;
            snprintf(r.unit, sizeof r.unit, "%s", counters[c].code);
            r.area = (ProtoArea)a;
            r.scale = (ProtoScale)counters[c].scale;
            r.score = score;
            r.followup = proto_is_satisfied(r.scale, score) ? FOLLOWUP_NONE : FOLLOWUP_SKIPPED;
            ptime_format(t, PTIME_VN_OFFSET_MIN, r.at);
            r.flags = flagged ? PROTO_FLAG_RAPID_REPEAT : 0;
            char *body = proto_rating_dump(&r);
            sqlite3_bind_text(st, 1, r.id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, r.unit, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, proto_area_code(r.area), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, proto_scale_code(r.scale), -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 5, score);
            sqlite3_bind_int(st, 6, flagged);
            sqlite3_bind_int64(st, 7, day0 + d);
            sqlite3_bind_text(st, 8, body, -1, SQLITE_STATIC);
            if(sqlite3_step(st) != SQLITE_DONE)
                die("seed raw", sqlite3_errmsg(s));
            sqlite3_reset(st);
            free(body);
        }
    }
    sqlite3_finalize(st);
    sqlite3_prepare_v2(s, "INSERT INTO daily(unit, day, area, scale, score, flagged, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       -1, &st, NULL);
    size_t rollup_rows = 0;
    long long total = 0;
    for(size_t k = 0; k < n_cells; k++) {
        if(!cells[k])
            continue;
        size_t x = k;
        int flagged = (int)(x % 2);
        x /= 2;
        int score = (int)(x % PROTO_MAX_LEVELS) + 1;
        x /= PROTO_MAX_LEVELS;
        int a = (int)(x % AREA_COUNT);
        x /= AREA_COUNT;
        int d = (int)(x % DAYS);
        int c = (int)(x / DAYS);
        sqlite3_bind_text(st, 1, counters[c].code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, day0 + d);
        sqlite3_bind_text(st, 3, proto_area_code((ProtoArea)a), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, proto_scale_code((ProtoScale)counters[c].scale), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, score);
        sqlite3_bind_int(st, 6, flagged);
        sqlite3_bind_int64(st, 7, cells[k]);
        if(sqlite3_step(st) != SQLITE_DONE)
            die("seed roll-up", sqlite3_errmsg(s));
        sqlite3_reset(st);
        rollup_rows++;
        total += cells[k];
    }
    sqlite3_finalize(st);
    /* The monthly roll-up, as ingest keeps it: the same cells summed per month. */
    sqlite3_prepare_v2(s, "INSERT INTO monthly(unit, month, area, scale, score, flagged, n)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                          " ON CONFLICT(unit, month, area, scale, score, flagged) DO UPDATE SET n = n + excluded.n",
                       -1, &st, NULL);
    size_t monthly_rows = 0;
    for(int c = 0; c < n_counters; c++)
        for(int m = 0; m < 12; m++) {
            int64_t lo = ptime_days_from_civil(2025, m + 1, 1) - day0;
            int64_t hi = (m == 11 ? DAYS : ptime_days_from_civil(2025, m + 2, 1) - day0);
            for(int a = 0; a < AREA_COUNT; a++)
                for(int sc = 0; sc < PROTO_MAX_LEVELS; sc++)
                    for(int f = 0; f < 2; f++) {
                        int64_t sum = 0;
                        for(int64_t d = lo; d < hi; d++)
                            sum += cells[((((size_t)c * DAYS + (size_t)d) * AREA_COUNT + (size_t)a) * PROTO_MAX_LEVELS +
                                          (size_t)sc) * 2 + (size_t)f];
                        if(!sum)
                            continue;
                        sqlite3_bind_text(st, 1, counters[c].code, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(st, 2, 2025 * 12 + m);
                        sqlite3_bind_text(st, 3, proto_area_code((ProtoArea)a), -1, SQLITE_STATIC);
                        sqlite3_bind_text(st, 4, proto_scale_code((ProtoScale)counters[c].scale), -1, SQLITE_STATIC);
                        sqlite3_bind_int(st, 5, sc + 1);
                        sqlite3_bind_int(st, 6, f);
                        sqlite3_bind_int64(st, 7, sum);
                        if(sqlite3_step(st) != SQLITE_DONE)
                            die("seed monthly", sqlite3_errmsg(s));
                        sqlite3_reset(st);
                        monthly_rows++;
                    }
        }
    sqlite3_finalize(st);
    /* The counts roll-ups the tally reads, as ingest keeps them beside these. */
    if(sqlite3_exec(s, BENCH_SAT_FROM_SCORES("day", "daily_sat", "daily")
                       BENCH_SAT_FROM_SCORES("month", "monthly_sat", "monthly"), NULL, NULL, NULL) != SQLITE_OK)
        die("seed counts roll-ups", sqlite3_errmsg(s));
    sqlite3_exec(s, "COMMIT; ANALYZE;", NULL, NULL, NULL);
    free(cells);
    fprintf(stderr, "tally bench: seeded in %.1f s: %zu daily and %zu monthly roll-up rows holding %lld ratings\n",
            (bench_now_ms() - t_seed) / 1e3, rollup_rows, monthly_rows, total);

    /* The figure: a year by unit × area for the whole province. */
    TallySpec spec = {.from_day = day0, .to_day = day0 + DAYS - 1, .area = -1, .min_n = TALLY_MIN_N_DEFAULT,
                      .by = {TALLY_BY_UNIT, TALLY_BY_AREA}, .n_by = 2};
    snprintf(spec.unit, sizeof spec.unit, "%s", PROVINCE);
    double *lat = malloc((size_t)runs * sizeof *lat);
    size_t n_rows = 0;
    long long counted = 0;
    for(int r = 0; r < runs; r++) {
        TallyRow *rows;
        double t0 = bench_now_ms();
        if(tally_query_run(db, &spec, &rows, &n_rows, msg))
            die("tally", msg);
        lat[r] = bench_now_ms() - t0;
        counted = 0;
        for(size_t k = 0; k < n_rows; k++)
            counted += rows[k].n + rows[k].flagged;
        free(rows);
    }
    qsort(lat, (size_t)runs, sizeof *lat, bench_cmp_double);
    double median = lat[runs / 2], p99 = lat[(int)((runs - 1) * 0.99)];

    /* The same tally over a ragged range (15 Jan - 20 Dec): whole months from the monthly roll-up, the ends
     * from the daily one. */
    TallySpec ragged = spec;
    ragged.from_day = day0 + 14;
    ragged.to_day = day0 + DAYS - 12;
    double *gl = malloc((size_t)runs * sizeof *gl);
    for(int r = 0; r < runs; r++) {
        TallyRow *rows;
        size_t k;
        double t0 = bench_now_ms();
        if(tally_query_run(db, &ragged, &rows, &k, msg))
            die("tally", msg);
        gl[r] = bench_now_ms() - t0;
        free(rows);
    }
    qsort(gl, (size_t)runs, sizeof *gl, bench_cmp_double);

    /* Baseline 1: a trivial tally (one counter, one day): the fixed cost of a query. */
    TallySpec tiny = {.from_day = day0 + 100, .to_day = day0 + 100, .area = -1, .min_n = TALLY_MIN_N_DEFAULT};
    snprintf(tiny.unit, sizeof tiny.unit, "%s", counters[0].code);
    double *tl = malloc((size_t)runs * sizeof *tl);
    for(int r = 0; r < runs; r++) {
        TallyRow *rows;
        size_t k;
        double t0 = bench_now_ms();
        if(tally_query_run(db, &tiny, &rows, &k, msg))
            die("tally", msg);
        tl[r] = bench_now_ms() - t0;
        free(rows);
    }
    qsort(tl, (size_t)runs, sizeof *tl, bench_cmp_double);

    /* Baseline 2: the same year-by-unit×area straight from the raw rows (the first M ratings), in SQL. */
    const char *raw_sql =
        "WITH RECURSIVE sub(code, top) AS ("
        "  SELECT code, code FROM units WHERE parent = ?1"
        "  UNION ALL SELECT u.code, s.top FROM units u JOIN sub s ON u.parent = s.code)"
        "SELECT s.top, r.area, sum(r.flagged = 0),"
        "  sum(r.flagged = 0 AND ((r.scale = 'tthc3' AND r.score >= 2) OR (r.scale = 'likert5' AND r.score >= 4))),"
        "  sum(r.flagged)"
        " FROM ratings r JOIN sub s ON s.code = r.unit WHERE r.day BETWEEN ?2 AND ?3 GROUP BY 1, 2";
    int raw_runs = runs < 5 ? runs : 5;
    double *rl = malloc((size_t)raw_runs * sizeof *rl);
    long long raw_counted = 0;
    sqlite3_prepare_v2(s, raw_sql, -1, &st, NULL);
    for(int r = 0; r < raw_runs; r++) {
        sqlite3_bind_text(st, 1, PROVINCE, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, spec.from_day);
        sqlite3_bind_int64(st, 3, spec.to_day);
        double t0 = bench_now_ms();
        raw_counted = 0;
        while(sqlite3_step(st) == SQLITE_ROW)
            raw_counted += sqlite3_column_int64(st, 2) + sqlite3_column_int64(st, 4);
        rl[r] = bench_now_ms() - t0;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    qsort(rl, (size_t)raw_runs, sizeof *rl, bench_cmp_double);
    double raw_med = rl[raw_runs / 2], raw_scaled = raw_med * (double)n / (double)n_raw;

    printf("bench tally: year 2025 by unit x area under %s, %lld ratings (%zu daily, %zu monthly roll-up rows), "
           "%zu result rows\n", PROVINCE, total, rollup_rows, monthly_rows, n_rows);
    printf("  tally from the roll-up           : median %8.2f ms, p99 %8.2f ms (%d runs; counted %lld ratings)\n",
           median, p99, runs, counted);
    printf("  same, 2025-01-15..2025-12-20     : median %8.2f ms, p99 %8.2f ms (ragged ends read from the daily roll-up)\n",
           gl[runs / 2], gl[(int)((runs - 1) * 0.99)]);
    printf("  baseline: trivial tally          : median %8.3f ms (one counter, one day)\n", tl[runs / 2]);
    printf("  baseline: SQL over %lld raw rows : median %8.2f ms (%d runs; counted %lld) -> %.0f ms scaled to %lld\n",
           n_raw, raw_med, raw_runs, raw_counted, raw_scaled, n);
    printf("  ratio raw-rows (scaled) / roll-up: %.1fx\n", raw_scaled / median);

    free(lat);
    free(tl);
    free(gl);
    free(rl);
    tally_db_close(db);
    bench_remove_db(path);
    rmdir(dir);
    return counted == total ? 0 : 1;
}
