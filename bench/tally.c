/* bench/tally — how long a year-long tally by unit × area takes over ten million ratings, on SQLite and on
 * PostgreSQL side by side.
 *
 *   tally [--ratings N] [--raw M] [--runs R] [--sqlite-only]      (defaults 10,000,000 / 200,000 / 30)
 *
 * Arrange: a tally database with the sample Gia Lai unit tree (assets/units-gialai.csv); N realistic ratings
 * over 2025 spread across every counter, written straight into the daily and monthly roll-ups as ingest would
 * leave it (seeding through HTTP would take an hour and measure ingest, which bench/ingest does); the first
 * M of them also as raw rating rows. Figure: median and p99 latency of tally_query_run for
 * from=2025-01-01 to=2025-12-31 unit=<province> by=unit,area — what GET /api/v1/tally does after auth.
 * Baselines in the same run: the same tally computed by SQL straight from the M raw rows (scaled to N), and
 * a trivial tally (one counter, one day) for the fixed cost.
 * PostgreSQL: a throwaway cluster (tests/pg/pg-cluster with PG_CLUSTER_DURABLE=1: fsync, synchronous_commit
 * and full_page_writes on; the settings are printed) gets the same unit tree and, by COPY, the same roll-up
 * rows; the same three tallies are timed there, the answers checked equal to SQLite's row for row, and the
 * ratio PostgreSQL / SQLite printed. The cluster is stopped at exit, also when the run fails. Without
 * PostgreSQL installed (or with --sqlite-only) the SQLite figures are printed alone, saying so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "bench/bench_pg.h"
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

/* Median and p99 of one tally's latency, ms. */
typedef struct {
    double median, p99;
    int    runs;
} Lat;

/* What one backend measured: the year, the ragged range, the trivial tally, and the year's rows. */
typedef struct {
    Lat       year, ragged, tiny;
    TallyRow *rows;
    size_t    n_rows;
    long long counted;
} Figures;

static Lat time_tally(TallyDb *db, const TallySpec *spec, int runs, TallyRow **keep, size_t *n_keep)
{
    double *lat = malloc((size_t)runs * sizeof *lat);
    char msg[TALLY_MSG_MAX];
    for(int r = 0; r < runs; r++) {
        TallyRow *rows;
        size_t n;
        double t0 = bench_now_ms();
        if(tally_query_run(db, spec, &rows, &n, msg))
            die("tally", msg);
        lat[r] = bench_now_ms() - t0;
        if(keep && r == runs - 1) {
            *keep = rows;
            *n_keep = n;
        } else {
            free(rows);
        }
    }
    qsort(lat, (size_t)runs, sizeof *lat, bench_cmp_double);
    Lat l = {lat[runs / 2], lat[(int)((runs - 1) * 0.99)], runs};
    free(lat);
    return l;
}

/* The figures: a year by unit × area for the whole province; the same over a ragged range (15 Jan - 20 Dec:
 * whole months from the monthly roll-up, the ends from the daily one); a trivial tally (one counter, one day)
 * for the fixed cost of a query. */
static void measure(TallyDb *db, const TallySpec *spec, const char *counter, int runs, Figures *f)
{
    f->year = time_tally(db, spec, runs, &f->rows, &f->n_rows);
    f->counted = 0;
    for(size_t k = 0; k < f->n_rows; k++)
        f->counted += f->rows[k].n + f->rows[k].flagged;
    TallySpec ragged = *spec;
    ragged.from_day = spec->from_day + 14;
    ragged.to_day = spec->to_day - 11;
    f->ragged = time_tally(db, &ragged, runs, NULL, NULL);
    TallySpec tiny = {.from_day = spec->from_day + 100, .to_day = spec->from_day + 100, .area = -1,
                      .min_n = TALLY_MIN_N_DEFAULT};
    snprintf(tiny.unit, sizeof tiny.unit, "%s", counter);
    f->tiny = time_tally(db, &tiny, runs, NULL, NULL);
}

static void print_line(const char *what, const Lat *sq, const Lat *pg, const char *pg_note)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "median %8.3f ms, p99 %8.3f ms", sq->median, sq->p99);
    if(pg)
        snprintf(b, sizeof b, "median %8.3f ms, p99 %8.3f ms", pg->median, pg->p99);
    printf("  %-33s: %-36s | %s\n", what, a, pg ? b : pg_note);
}

/* Copies one table from the SQLite file into PostgreSQL by COPY (text format; the values are integers and
 * codes, escaped anyway). */
static void copy_table(sqlite3 *s, PGconn *c, const char *table, const char *cols)
{
    char sql[512];
    snprintf(sql, sizeof sql, "COPY %s(%s) FROM STDIN", table, cols);
    PGresult *r = PQexec(c, sql);
    if(PQresultStatus(r) != PGRES_COPY_IN)
        die(sql, PQerrorMessage(c));
    PQclear(r);
    snprintf(sql, sizeof sql, "SELECT %s FROM %s", cols, table);
    sqlite3_stmt *st;
    if(sqlite3_prepare_v2(s, sql, -1, &st, NULL))
        die(sql, sqlite3_errmsg(s));
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1024);
    int nc = sqlite3_column_count(st);
    while(sqlite3_step(st) == SQLITE_ROW) {
        for(int i = 0; i < nc; i++) {
            if(i)
                buf[len++] = '\t';
            const unsigned char *v = sqlite3_column_text(st, i);
            for(; v && *v && len < cap + 1000; v++) {
                if(*v == '\\' || *v == '\t' || *v == '\n' || *v == '\r')
                    buf[len++] = '\\';
                buf[len++] = *v == '\t' ? 't' : *v == '\n' ? 'n' : *v == '\r' ? 'r' : (char)*v;
            }
        }
        buf[len++] = '\n';
        if(len >= cap) {
            if(PQputCopyData(c, buf, (int)len) != 1)
                die("COPY", PQerrorMessage(c));
            len = 0;
        }
    }
    sqlite3_finalize(st);
    if((len && PQputCopyData(c, buf, (int)len) != 1) || PQputCopyEnd(c, NULL) != 1)
        die("COPY", PQerrorMessage(c));
    free(buf);
    r = PQgetResult(c);
    if(PQresultStatus(r) != PGRES_COMMAND_OK)
        die(table, PQerrorMessage(c));
    PQclear(r);
    while((r = PQgetResult(c)))
        PQclear(r);
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
    bool skip_pg = false;
    for(int i = 1; i < argc; i++) {
        if(strcmp(argv[i], "--sqlite-only") == 0)
            skip_pg = true;
        else if(i + 1 == argc)
            break; /* a last word without a value: another bench's, ignored */
        else if(strcmp(argv[i], "--ratings") == 0)
            n = atoll(argv[++i]);
        else if(strcmp(argv[i], "--raw") == 0)
            n_raw = atoll(argv[++i]);
        else if(strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[++i]);
        else
            i++; /* another bench's option: scripts/bench passes the same arguments to every bench */
    }
    if(n < 1 || n_raw < 1 || runs < 1) {
        fprintf(stderr, "usage: tally [--ratings N] [--raw M] [--runs R] [--sqlite-only]\n");
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

    /* The figures on SQLite. */
    TallySpec spec = {.from_day = day0, .to_day = day0 + DAYS - 1, .area = -1, .min_n = TALLY_MIN_N_DEFAULT,
                      .by = {TALLY_BY_UNIT, TALLY_BY_AREA}, .n_by = 2};
    snprintf(spec.unit, sizeof spec.unit, "%s", PROVINCE);
    Figures sq = {0}, pg = {0};
    measure(db, &spec, counters[0].code, runs, &sq);
    long long counted = sq.counted;
    size_t n_rows = sq.n_rows;

    /* The same figures on PostgreSQL, over the same roll-up cells. */
    char uri[256], settings[256] = "", pg_note[128] = "";
    int pg_rc = skip_pg ? 77 : bench_pg_start(uri, sizeof uri);
    bool pg_ok = pg_rc == 0;
    if(pg_rc == 1)
        die("PostgreSQL", "tests/pg/pg-cluster could not start a cluster (its log is above)");
    if(pg_ok) {
        bench_pg_settings(uri, settings, sizeof settings);
        fprintf(stderr, "tally bench: copying the roll-ups into PostgreSQL (%s)...\n", settings);
        double t_copy = bench_now_ms();
        TallyDb *pdb;
        if(tally_db_open(uri, &pdb, msg) ||
           tally_unit_import_csv(pdb, BENCH_SOURCE_DIR "/assets/units-gialai.csv", &n_units, msg))
            die("PostgreSQL", msg);
        PGconn *c = PQconnectdb(uri);
        if(PQstatus(c) != CONNECTION_OK)
            die("PostgreSQL", PQerrorMessage(c));
        static const char *const COPIED[][2] = {
            {"daily", "unit, day, area, scale, score, flagged, n"},
            {"monthly", "unit, month, area, scale, score, flagged, n"},
            {"daily_sat", "unit, day, area, respondent, n, satisfied, flagged, svc_n, svc_satisfied, svc_flagged,"
                          " wait_n, wait_within, svc_wait_n, svc_wait_within"},
            {"monthly_sat", "unit, month, area, respondent, n, satisfied, flagged, svc_n, svc_satisfied,"
                            " svc_flagged, wait_n, wait_within, svc_wait_n, svc_wait_within"},
        };
        for(size_t t = 0; t < sizeof COPIED / sizeof COPIED[0]; t++)
            copy_table(s, c, COPIED[t][0], COPIED[t][1]);
        PGresult *r = PQexec(c, "ANALYZE");
        if(PQresultStatus(r) != PGRES_COMMAND_OK)
            die("ANALYZE", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        fprintf(stderr, "tally bench: copied in %.1f s\n", (bench_now_ms() - t_copy) / 1e3);
        measure(pdb, &spec, counters[0].code, runs, &pg);
        tally_db_close(pdb);
        bench_pg_stop();
        /* Both backends must give the same answer, row for row, or the comparison means nothing. */
        bool same = pg.n_rows == sq.n_rows;
        for(size_t k = 0; same && k < sq.n_rows; k++)
            same = strcmp(pg.rows[k].key, sq.rows[k].key) == 0 && pg.rows[k].n == sq.rows[k].n &&
                   pg.rows[k].satisfied == sq.rows[k].satisfied && pg.rows[k].flagged == sq.rows[k].flagged;
        if(!same)
            die("PostgreSQL", "its tally differs from SQLite's over the same roll-up cells");
    } else {
        snprintf(pg_note, sizeof pg_note, "%s",
                 skip_pg ? "skipped (--sqlite-only)" : "skipped: PostgreSQL 15 is not installed (scripts/bootstrap)");
    }

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
    printf("  %-33s: %-36s | %s\n", "backend", "SQLite (file, WAL, synchronous=FULL)",
           pg_ok ? "PostgreSQL 15 (Unix socket)" : "PostgreSQL");
    if(pg_ok)
        printf("  %-33s: %-36s | %s\n", "", "", settings);
    print_line("tally from the roll-up", &sq.year, pg_ok ? &pg.year : NULL, pg_note);
    print_line("same, 2025-01-15..2025-12-20", &sq.ragged, pg_ok ? &pg.ragged : NULL, pg_note);
    print_line("baseline: trivial tally", &sq.tiny, pg_ok ? &pg.tiny : NULL, pg_note);
    if(pg_ok)
        printf("  ratio PostgreSQL / SQLite        : year %.1fx, ragged %.1fx, trivial %.1fx (same %zu rows, "
               "%lld ratings counted on both)\n", pg.year.median / sq.year.median,
               pg.ragged.median / sq.ragged.median, pg.tiny.median / sq.tiny.median, n_rows, counted);
    printf("  baseline: SQL over %lld raw rows : median %8.2f ms (SQLite, %d runs; counted %lld) -> %.0f ms scaled "
           "to %lld\n", n_raw, raw_med, raw_runs, raw_counted, raw_scaled, n);
    printf("  ratio raw-rows (scaled) / roll-up: %.1fx (SQLite)\n", raw_scaled / sq.year.median);

    free(sq.rows);
    free(pg.rows);
    free(rl);
    tally_db_close(db);
    bench_remove_db(path);
    rmdir(dir);
    return counted == total ? 0 : 1;
}
