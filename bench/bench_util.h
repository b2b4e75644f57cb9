/* bench_util.h — what every figure needs: one monotonic clock (nanoseconds, or milliseconds as a double),
 * comparators for sorting timings (median, p99), and removing a scratch database. Header-only so each bench
 * stays one program. Shared by every bench/ program (the store's, the tally's, the dashboard's, the report's). */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inline int64_t bench_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline double bench_now_ms(void)
{
    return (double)bench_now_ns() / 1e6;
}

/* For qsort of double timings (ms) and of int64_t ones (ns). */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Removes a SQLite database file and its WAL and shared-memory files. */
static inline void bench_remove_db(const char *path)
{
    char p[4200];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* The counts roll-ups every figure reads (daily_sat, monthly_sat: migration 6), derived from the score roll-ups
 * a bench seeded directly (daily, monthly); its ratings answer none of the later questions. */
#define BENCH_SAT_FROM_SCORES(period, table, src)                                                                \
    "INSERT INTO " table "(unit, " period ", area, n, satisfied, flagged)"                                         \
    "  SELECT unit, " period ", area, sum(CASE WHEN flagged = 0 THEN n ELSE 0 END),"                                \
    "         sum(CASE WHEN flagged = 0 AND score >= (CASE scale WHEN 'likert5' THEN 4 ELSE 2 END) THEN n ELSE 0 END),"\
    "         sum(CASE WHEN flagged = 1 THEN n ELSE 0 END) FROM " src " GROUP BY 1, 2, 3;"

#endif
