/* store_insert — latency of one durable rating insert through store_add(), beside a bare sqlite3 INSERT of
 * the same row into a table of the same columns with the same pragmas (WAL, synchronous=FULL), measured in
 * the same run on the same disk. The ratio is what the store's guarantees cost on top of SQLite: the
 * validation, the seq counter in the same transaction, the extra indexes (pending, time) and the explicit
 * BEGIN IMMEDIATE / COMMIT.
 *
 *   store_insert [--n N]     N inserts each (default 5000); other arguments are ignored
 *
 * The two runs alternate in blocks of BENCH_BLOCK so disk and cache drift hits both alike. The files live
 * under the build folder (a real disk, as on a kiosk; tmpfs would hide the fsync). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench/bench_util.h"
#include "kiosk/store.h"

#define BENCH_DEFAULT_N 5000
#define BENCH_BLOCK 250

static double pct_us(int64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "store_insert: %s: %s\n", what, detail);
    exit(1);
}

static ProtoRating make(size_t i)
{
    ProtoRating r;
    uint8_t rnd[10];
    memset(&r, 0, sizeof r);
    for(int b = 0; b < 10; b++)
        rnd[b] = (uint8_t)((i * 2654435761u) >> (b % 4 * 8));
    uuid_v7_make(r.id, 1795000000000ull + i, rnd);
    snprintf(r.unit, sizeof r.unit, "000.00.31.H21");
    r.area = (ProtoArea)(i % AREA_COUNT);
    r.scale = SCALE_TTHC3;
    r.score = 1 + (int)(i % 3);
    r.followup = r.score == 1 ? FOLLOWUP_ANSWERED : FOLLOWUP_NONE;
    r.reasons = r.score == 1 ? 1u << REASON_CHO_DOI : 0;
    ptime_format(1795000000 + (int64_t)i, PTIME_VN_OFFSET_MIN, r.at);
    return r;
}

int main(int argc, char **argv)
{
    size_t n = BENCH_DEFAULT_N;
    for(int i = 1; i + 1 < argc; i++)
        if(!strcmp(argv[i], "--n"))
            n = (size_t)strtoul(argv[++i], NULL, 10);
    if(n < 100)
        n = 100;

    char dir[512];
    snprintf(dir, sizeof dir, "%s/bench-store-XXXXXX", BENCH_BINARY_DIR);
    if(!mkdtemp(dir))
        die("mkdtemp", dir);
    char store_path[600], bare_path[600];
    snprintf(store_path, sizeof store_path, "%s/store.db", dir);
    snprintf(bare_path, sizeof bare_path, "%s/bare.db", dir);

    Store *s = NULL;
    char msg[512];
    if(store_open(store_path, &s, msg, sizeof msg))
        die("store_open", msg);

    sqlite3 *db;
    sqlite3_stmt *ins;
    if(sqlite3_open(bare_path, &db) != SQLITE_OK ||
       sqlite3_exec(db,
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                    "CREATE TABLE rating(id TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL, unit TEXT NOT NULL,"
                    " area TEXT NOT NULL, scale TEXT NOT NULL, score INTEGER NOT NULL, reasons INTEGER NOT NULL,"
                    " followup TEXT NOT NULL, at TEXT NOT NULL, at_unix INTEGER NOT NULL, vn_day INTEGER NOT NULL,"
                    " flags INTEGER NOT NULL) STRICT",
                    NULL, NULL, NULL) != SQLITE_OK ||
       sqlite3_prepare_v2(db,
                          "INSERT INTO rating(id, seq, unit, area, scale, score, reasons, followup, at, at_unix,"
                          " vn_day, flags) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                          -1, &ins, NULL) != SQLITE_OK)
        die("bare sqlite3", sqlite3_errmsg(db));

    int64_t *t_store = calloc(n, sizeof *t_store), *t_bare = calloc(n, sizeof *t_bare);
    if(!t_store || !t_bare)
        die("calloc", "out of memory");

    for(size_t done = 0; done < n; done += BENCH_BLOCK) {
        size_t end = done + BENCH_BLOCK < n ? done + BENCH_BLOCK : n;
        for(size_t i = done; i < end; i++) {
            ProtoRating r = make(i);
            int64_t t0 = bench_now_ns();
            if(store_add(s, &r) != STORE_OK)
                die("store_add", store_errmsg(s));
            t_store[i] = bench_now_ns() - t0;
        }
        for(size_t i = done; i < end; i++) {
            ProtoRating r = make(i);
            int64_t at_unix;
            int off;
            int64_t t0 = bench_now_ns();
            ptime_parse(r.at, &at_unix, &off);
            sqlite3_bind_text(ins, 1, r.id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, (int64_t)i + 1);
            sqlite3_bind_text(ins, 3, r.unit, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, proto_area_code(r.area), -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, proto_scale_code(r.scale), -1, SQLITE_STATIC);
            sqlite3_bind_int(ins, 6, r.score);
            sqlite3_bind_int64(ins, 7, r.reasons);
            sqlite3_bind_text(ins, 8, proto_followup_code(r.followup), -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 9, r.at, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 10, at_unix);
            sqlite3_bind_int64(ins, 11, ptime_vn_day(at_unix));
            sqlite3_bind_int64(ins, 12, r.flags);
            if(sqlite3_step(ins) != SQLITE_DONE)
                die("bare insert", sqlite3_errmsg(db));
            sqlite3_reset(ins);
            t_bare[i] = bench_now_ns() - t0;
        }
    }

    qsort(t_store, n, sizeof *t_store, bench_cmp_i64);
    qsort(t_bare, n, sizeof *t_bare, bench_cmp_i64);
    double sp50 = pct_us(t_store, n, 0.50), sp99 = pct_us(t_store, n, 0.99);
    double bp50 = pct_us(t_bare, n, 0.50), bp99 = pct_us(t_bare, n, 0.99);
    printf("durable rating insert, %zu each, WAL + synchronous=FULL, files in %s\n", n, dir);
    printf("  store_add            p50 %9.1f us   p99 %9.1f us\n", sp50, sp99);
    printf("  bare sqlite3 INSERT  p50 %9.1f us   p99 %9.1f us\n", bp50, bp99);
    printf("  ratio store/bare     p50 %9.2fx     p99 %9.2fx\n", sp50 / bp50, sp99 / bp99);

    free(t_store);
    free(t_bare);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    store_close(s);
    bench_remove_db(store_path);
    bench_remove_db(bare_path);
    rmdir(dir);
    return 0;
}
