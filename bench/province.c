/* province.c — see province.h. */
#include "province.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define DEPARTMENTS 20
#define DISTRICTS 17
#define COMMUNES 8
#define HOURS 10 /* 7:00 .. 16:59 */
#define MAX_COUNTERS 512

typedef struct {
    char code[40];
    int  scale;
    int  areas[2];
    int  pct_ok;   /* this counter's satisfaction, percent */
} Counter;

static TallyErr sql_fail(TallyDb *db, const char *what, char msg[TALLY_MSG_MAX])
{
    return tally_db_fail(db, what, msg);
}

static TallyErr add_unit(TallyDb *db, const char *code, const char *name, const char *parent, size_t *n,
                         char msg[TALLY_MSG_MAX])
{
    (*n)++;
    return tally_unit_add(db, code, name, parent, msg);
}

/* The generated province (see province.h). */
static TallyErr generated(TallyDb *db, Counter *counters, int *n_counters, unsigned *seedp, BenchProvinceInfo *info,
                          char msg[TALLY_MSG_MAX])
{
    unsigned seed = *seedp;
    int nc = 0;
    char code[40], name[TALLY_NAME_MAX + 1], parent[32];
    TallyErr e = add_unit(db, BENCH_PROVINCE_ROOT, "UBND tỉnh Gia Lai", NULL, &info->units, msg);
    for(int d = 1; !e && d <= DEPARTMENTS; d++) {
        snprintf(parent, sizeof parent, "000.00.%02d.H21", d);
        snprintf(name, sizeof name, "Sở số %02d", d);
        if((e = add_unit(db, parent, name, BENCH_PROVINCE_ROOT, &info->units, msg)))
            break;
        snprintf(code, sizeof code, "%s.Q01", parent);
        snprintf(name, sizeof name, "Sở số %02d – Bộ phận Một cửa", d);
        e = add_unit(db, code, name, parent, &info->units, msg);
        Counter *c = &counters[nc++];
        snprintf(c->code, sizeof c->code, "%s", code);
        c->scale = d == 8 || d == 9 ? SCALE_LIKERT5 : SCALE_TTHC3;
        c->areas[0] = d == 8 ? AREA_Y_TE : d == 9 ? AREA_GIAO_DUC : (int)(rand_r(&seed) % AREA_COUNT);
        c->areas[1] = d == 8 ? AREA_Y_TE : d == 9 ? AREA_GIAO_DUC : (int)(rand_r(&seed) % AREA_COUNT);
    }
    for(int k = 1; !e && k <= DISTRICTS; k++) {
        char district[24];
        snprintf(district, sizeof district, "000.00.%02d.H21", 20 + k);
        snprintf(name, sizeof name, "UBND huyện số %02d", k);
        if((e = add_unit(db, district, name, BENCH_PROVINCE_ROOT, &info->units, msg)))
            break;
        for(int m = 0; !e && m <= COMMUNES; m++) {
            /* m == 0: the district's own counter; then each commune and its counter. */
            if(m) {
                snprintf(parent, sizeof parent, "000.%02d.%02d.H21", m, 20 + k);
                snprintf(name, sizeof name, "UBND xã số %02d, huyện %02d", m, k);
                if((e = add_unit(db, parent, name, district, &info->units, msg)))
                    break;
            } else {
                snprintf(parent, sizeof parent, "%s", district);
            }
            snprintf(code, sizeof code, "%s.Q01", parent);
            if(m)
                snprintf(name, sizeof name, "Xã số %02d, huyện %02d – Bộ phận Một cửa", m, k);
            else
                snprintf(name, sizeof name, "Bộ phận Một cửa huyện %02d", k);
            e = add_unit(db, code, name, parent, &info->units, msg);
            Counter *c = &counters[nc++];
            snprintf(c->code, sizeof c->code, "%s", code);
            c->scale = SCALE_TTHC3;
            c->areas[0] = (int)(rand_r(&seed) % AREA_COUNT);
            c->areas[1] = (int)(rand_r(&seed) % AREA_COUNT);
        }
    }
    *n_counters = nc;
    *seedp = seed;
    return e;
}

/* A tree from a CSV file: its leaves are the counters; health and education ones by their code. */
static TallyErr from_csv(TallyDb *db, const char *path, Counter *counters, int *n_counters, unsigned *seedp,
                         BenchProvinceInfo *info, char msg[TALLY_MSG_MAX])
{
    TallyErr e = tally_unit_import_csv(db, path, &info->units, msg);
    if(e)
        return e;
    sqlite3_stmt *st;
    int nc = 0;
    sqlite3_prepare_v2(tally_db_sqlite(db), "SELECT code FROM units WHERE code NOT IN (SELECT parent FROM units"
                       " WHERE parent IS NOT NULL) ORDER BY code", -1, &st, NULL);
    while(sqlite3_step(st) == SQLITE_ROW && nc < MAX_COUNTERS) {
        Counter *c = &counters[nc++];
        snprintf(c->code, sizeof c->code, "%.39s", (const char *)sqlite3_column_text(st, 0));
        bool health = strstr(c->code, ".BV") || strncmp(c->code, "000.00.08.", 10) == 0;
        bool school = strncmp(c->code, "000.00.09.", 10) == 0;
        c->scale = health || school ? SCALE_LIKERT5 : SCALE_TTHC3;
        for(int k = 0; k < 2; k++)
            c->areas[k] = health ? AREA_Y_TE : school ? AREA_GIAO_DUC : (int)(rand_r(seedp) % AREA_COUNT);
    }
    sqlite3_finalize(st);
    *n_counters = nc;
    return TALLY_OK;
}

TallyErr bench_province_seed(TallyDb *db, const BenchProvince *p, BenchProvinceInfo *info, char msg[TALLY_MSG_MAX])
{
    double t0 = bench_now_ms() / 1e3;
    memset(info, 0, sizeof *info);
    unsigned seed = p->seed ? p->seed : 7;
    sqlite3 *s = tally_db_sqlite(db);
    static Counter counters[MAX_COUNTERS];
    int nc = 0;
    TallyErr e = p->units_csv ? from_csv(db, p->units_csv, counters, &nc, &seed, info, msg)
                              : generated(db, counters, &nc, &seed, info, msg);
    if(e)
        return e;
    for(int i = 0; i < nc; i++)
        counters[i].pct_ok = 85 + (int)(rand_r(&seed) % 13);
    info->counters = (size_t)nc;

    /* Count ratings into day-level cells. */
    int64_t day0 = ptime_days_from_civil(p->year, 1, 1), days = ptime_days_from_civil(p->year + 1, 1, 1) - day0;
    size_t n_cells = (size_t)nc * (size_t)days * 2 /* area slot */ * PROTO_MAX_LEVELS * 2 /* flagged */;
    size_t n_hours = (size_t)nc * (size_t)days * 2 /* area slot */ * HOURS;
    size_t n_reasons = (size_t)nc * (size_t)days * 2 * REASON_COUNT;
    uint32_t *cells = calloc(n_cells, sizeof *cells), *hours_n = calloc(n_hours, sizeof *hours_n);
    uint32_t *hours_u = calloc(n_hours, sizeof *hours_u), *reasons = calloc(n_reasons, sizeof *reasons);
    int64_t *per_counter = calloc((size_t)nc, sizeof *per_counter);
    if(!cells || !hours_n || !hours_u || !reasons || !per_counter) {
        free(cells), free(hours_n), free(hours_u), free(reasons), free(per_counter);
        snprintf(msg, TALLY_MSG_MAX, "out of memory");
        return TALLY_E_NOMEM;
    }
    for(long long i = 0; i < p->ratings; i++) {
        int c = (int)(rand_r(&seed) % (unsigned)nc), d = (int)(rand_r(&seed) % (unsigned)days), slot = rand_r(&seed) % 2;
        const Counter *ct = &counters[c];
        int levels = ct->scale == SCALE_LIKERT5 ? 5 : 3;
        bool ok = (int)(rand_r(&seed) % 100) < ct->pct_ok;
        int score = ok ? levels - (int)(rand_r(&seed) % (ct->scale == SCALE_LIKERT5 ? 2 : 2))
                       : 1 + (int)(rand_r(&seed) % (ct->scale == SCALE_LIKERT5 ? 3 : 1));
        int flagged = rand_r(&seed) % 50 == 0, hour = (int)(rand_r(&seed) % HOURS);
        size_t cd = (size_t)c * (size_t)days + (size_t)d;
        cells[((cd * 2 + (size_t)slot) * PROTO_MAX_LEVELS + (size_t)score - 1) * 2 + (size_t)flagged]++;
        per_counter[c]++;
        if(flagged)
            continue;
        hours_n[(cd * 2 + (size_t)slot) * HOURS + (size_t)hour]++;
        hours_u[(cd * 2 + (size_t)slot) * HOURS + (size_t)hour] += !ok;
        if(!ok)
            reasons[(cd * 2 + (size_t)slot) * REASON_COUNT + rand_r(&seed) % REASON_COUNT]++;
    }
    info->ratings = p->ratings;

    /* Write the day-level tables, then derive the monthly ones as migrations 2 and 3 do. */
    sqlite3_exec(s, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *daily = NULL, *hd = NULL, *rd = NULL;
    if(sqlite3_prepare_v2(s, "INSERT INTO daily(unit, day, area, scale, score, flagged, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                          " ON CONFLICT DO UPDATE SET n = n + excluded.n", -1, &daily, NULL) ||
       sqlite3_prepare_v2(s, "INSERT INTO hours_daily(unit, day, area, hour, n, unsatisfied) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                          " ON CONFLICT DO UPDATE SET n = n + excluded.n, unsatisfied = unsatisfied + excluded.unsatisfied", -1,
                          &hd, NULL) ||
       sqlite3_prepare_v2(s, "INSERT INTO reasons_daily(unit, day, area, reason, n) VALUES (?1, ?2, ?3, ?4, ?5)"
                          " ON CONFLICT DO UPDATE SET n = n + excluded.n", -1, &rd, NULL))
        e = sql_fail(db, "prepare seed", msg);
    for(int c = 0; !e && c < nc; c++)
        for(int64_t d = 0; !e && d < days; d++) {
            size_t cd = (size_t)c * (size_t)days + (size_t)d;
            for(int slot = 0; slot < 2 && !e; slot++) {
                const char *area = proto_area_code((ProtoArea)counters[c].areas[slot]);
                for(int sc = 0; sc < PROTO_MAX_LEVELS && !e; sc++)
                    for(int f = 0; f < 2 && !e; f++) {
                        uint32_t n = cells[((cd * 2 + (size_t)slot) * PROTO_MAX_LEVELS + (size_t)sc) * 2 + (size_t)f];
                        if(!n)
                            continue;
                        sqlite3_bind_text(daily, 1, counters[c].code, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(daily, 2, day0 + d);
                        sqlite3_bind_text(daily, 3, area, -1, SQLITE_STATIC);
                        sqlite3_bind_text(daily, 4, proto_scale_code((ProtoScale)counters[c].scale), -1, SQLITE_STATIC);
                        sqlite3_bind_int(daily, 5, sc + 1);
                        sqlite3_bind_int(daily, 6, f);
                        sqlite3_bind_int64(daily, 7, n);
                        if(sqlite3_step(daily) != SQLITE_DONE)
                            e = sql_fail(db, "seed daily", msg);
                        sqlite3_reset(daily);
                        info->daily_rows++;
                    }
                for(int k = 0; k < REASON_COUNT && !e; k++) {
                    uint32_t n = reasons[(cd * 2 + (size_t)slot) * REASON_COUNT + (size_t)k];
                    if(!n)
                        continue;
                    sqlite3_bind_text(rd, 1, counters[c].code, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(rd, 2, day0 + d);
                    sqlite3_bind_text(rd, 3, area, -1, SQLITE_STATIC);
                    sqlite3_bind_text(rd, 4, proto_reason_code((ProtoReason)k), -1, SQLITE_STATIC);
                    sqlite3_bind_int64(rd, 5, n);
                    if(sqlite3_step(rd) != SQLITE_DONE)
                        e = sql_fail(db, "seed reasons", msg);
                    sqlite3_reset(rd);
                }
                for(int h = 0; h < HOURS && !e; h++) {
                    size_t i = (cd * 2 + (size_t)slot) * HOURS + (size_t)h;
                    if(!hours_n[i])
                        continue;
                    sqlite3_bind_text(hd, 1, counters[c].code, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(hd, 2, day0 + d);
                    sqlite3_bind_text(hd, 3, area, -1, SQLITE_STATIC);
                    sqlite3_bind_int(hd, 4, 7 + h);
                    sqlite3_bind_int64(hd, 5, hours_n[i]);
                    sqlite3_bind_int64(hd, 6, hours_u[i]);
                    if(sqlite3_step(hd) != SQLITE_DONE)
                        e = sql_fail(db, "seed hours", msg);
                    sqlite3_reset(hd);
                }
            }
        }
    sqlite3_finalize(daily);
    sqlite3_finalize(hd);
    sqlite3_finalize(rd);
    free(cells), free(hours_n), free(hours_u), free(reasons);
    static const char *const DERIVE =
        "INSERT INTO monthly(unit, month, area, scale, score, flagged, n)"
        "  SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
        "             + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1,"
        "         area, scale, score, flagged, sum(n) FROM daily GROUP BY 1, 2, 3, 4, 5, 6;"
        BENCH_SAT_FROM_SCORES("month", "monthly_sat", "monthly")
        BENCH_SAT_FROM_SCORES("day", "daily_sat", "daily")
        "INSERT INTO reasons_monthly(unit, month, area, reason, n)"
        "  SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
        "             + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, area, reason, sum(n)"
        "  FROM reasons_daily GROUP BY 1, 2, 3, 4;"
        "INSERT INTO hours_monthly(unit, month, area, weekday, hour, n, unsatisfied)"
        "  SELECT unit, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
        "             + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, area, (day + 3) % 7, hour,"
        "         sum(n), sum(unsatisfied) FROM hours_daily GROUP BY 1, 2, 3, 4, 5;";
    if(!e && sqlite3_exec(s, DERIVE, NULL, NULL, NULL) != SQLITE_OK)
        e = sql_fail(db, "derive monthly roll-ups", msg);

    /* Kiosks: enrolled at the start of the year, last seen at its end, every sequence number received. */
    sqlite3_stmt *dev = NULL;
    if(!e && sqlite3_prepare_v2(s, "INSERT INTO devices(id, unit, token_hash, created_at, last_seen, last_skew_s, received,"
                                   " max_seq) VALUES (?1, ?2, randomblob(32), ?3, ?4, ?5, ?6, ?6)", -1, &dev, NULL))
        e = sql_fail(db, "prepare devices", msg);
    int64_t start = ptime_vn_day_start(day0), end = ptime_vn_day_start(day0 + days) - 3 * 3600;
    for(int c = 0; !e && c < nc; c++)
        for(int k = 0; !e && k < p->devices_per_counter; k++) {
            char id[PROTO_ID_MAX + 24];
            snprintf(id, sizeof id, "kiosk-%.40s-%d", counters[c].code, k % 100 + 1);
            sqlite3_bind_text(dev, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(dev, 2, counters[c].code, -1, SQLITE_STATIC);
            sqlite3_bind_int64(dev, 3, start);
            sqlite3_bind_int64(dev, 4, end - (int64_t)(rand_r(&seed) % 86400));
            sqlite3_bind_int64(dev, 5, (int64_t)(rand_r(&seed) % 30) - 15);
            sqlite3_bind_int64(dev, 6, per_counter[c] / p->devices_per_counter);
            if(sqlite3_step(dev) != SQLITE_DONE)
                e = sql_fail(db, "seed devices", msg);
            sqlite3_reset(dev);
            info->devices++;
        }
    sqlite3_finalize(dev);
    free(per_counter);
    if(e) {
        sqlite3_exec(s, "ROLLBACK", NULL, NULL, NULL);
        return e;
    }
    sqlite3_stmt *st;
    if(sqlite3_prepare_v2(s, "SELECT count(*) FROM monthly", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        info->monthly_rows = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if(sqlite3_exec(s, "COMMIT; ANALYZE;", NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(db, "commit seed", msg);
    info->seconds = bench_now_ms() / 1e3 - t0;
    return TALLY_OK;
}
