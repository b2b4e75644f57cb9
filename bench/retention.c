/* retention — what keep_days buys: a busy counter's store after five years (~100,000 ratings a year, all
 * uploaded and acknowledged), before and after the prune kiosk-sync runs after a successful upload
 * (keep_days = 400), measured in the same run on the same disk:
 *   - opening the store (store_open: its quick_check reads the whole file),
 *   - the supervisor screen's query (what the app reads every 5 s while it is open: today's totals, the
 *     upload counts, the sync status and request, how far back history goes), median of many,
 *   - the file's size, and the prune itself (500-row transactions, then pages handed back).
 * The "before" figures are the baseline; the ratio is after / before.
 *
 *   retention [--years Y] [--per-year N]     default 5 and 100000; other arguments are ignored
 *
 * The file lives under the build folder (a real disk, as on a kiosk). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kiosk/config.h"
#include "bench/bench_util.h"
#include "kiosk/store.h"

#define OPEN_RUNS 7
#define QUERY_RUNS 200
#define CHUNK 5000

static double median_ms(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_i64);
    return (double)v[n / 2] / 1e6;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "retention: %s: %s\n", what, detail);
    exit(1);
}

static uint64_t rng(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The file and its WAL, in bytes. */
static int64_t file_bytes(const char *path)
{
    int64_t total = 0;
    const char *sfx[] = {"", "-wal"};
    for(int i = 0; i < 2; i++) {
        char p[600];
        struct stat st;
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        if(stat(p, &st) == 0)
            total += st.st_size;
    }
    return total;
}

/* Ratings of `years` busy years ending today, working days 07:30-17:00, oldest first, all acknowledged. */
static int64_t fill(const char *path, int years, int per_year, int64_t today)
{
    Store *s;
    char msg[512];
    if(store_open(path, &s, msg, sizeof msg) != STORE_OK)
        die("open", msg);
    ProtoRating *r = calloc(CHUNK, sizeof *r);
    if(!r)
        die("fill", "out of memory");
    uint64_t x = 42;
    int64_t first_day = today - (int64_t)years * 365, made = 0;
    int per_day = per_year / 250; /* ~250 working days a year */
    size_t n = 0;
    for(int64_t d = first_day; d <= today; d++) {
        int dow = (int)(((d % 7) + 7 + 3) % 7); /* 0 = Monday (1970-01-01 was a Thursday) */
        if(dow >= 5)
            continue;
        for(int k = 0; k < per_day; k++) {
            ProtoRating *q = &r[n++];
            memset(q, 0, sizeof *q);
            uint64_t a = rng(&x), b = rng(&x);
            int64_t t = ptime_vn_day_start(d) + 7 * 3600 + 1800 + (int64_t)(a % (9 * 3600 + 1800));
            uint8_t rnd[10];
            memcpy(rnd, &b, 8);
            memcpy(rnd + 8, &a, 2);
            uuid_v7_make(q->id, (uint64_t)t * 1000u + (uint64_t)k, rnd);
            snprintf(q->unit, sizeof q->unit, "000.00.31.H21");
            q->area = (ProtoArea)(a % AREA_COUNT);
            q->scale = SCALE_TTHC3;
            q->score = b % 10 == 0 ? 1 : b % 10 < 4 ? 2 : 3;
            q->followup = q->score == 1 ? FOLLOWUP_SKIPPED : FOLLOWUP_NONE;
            ptime_format(t, PTIME_VN_OFFSET_MIN, q->at);
            if(n == CHUNK) {
                if(store_add_many(s, r, n) != STORE_OK)
                    die("add", store_errmsg(s));
                made += (int64_t)n;
                n = 0;
            }
        }
    }
    if(n && store_add_many(s, r, n) != STORE_OK)
        die("add", store_errmsg(s));
    made += (int64_t)n;
    free(r);
    /* All uploaded: acknowledged the way kiosk-sync does, batch by batch. */
    static StoreQueued q[500];
    const char *ids[500];
    int64_t revs[500];
    size_t got;
    int64_t now = ptime_vn_day_start(today) + 12 * 3600;
    do {
        if(store_queue_next(s, now, q, 500, &got) != STORE_OK)
            die("queue", store_errmsg(s));
        for(size_t i = 0; i < got; i++) {
            ids[i] = q[i].r.id;
            revs[i] = q[i].rev;
        }
        if(got && store_mark_acked(s, ids, revs, got, now, NULL) != STORE_OK)
            die("ack", store_errmsg(s));
    } while(got);
    store_close(s);
    return made;
}

typedef struct {
    double open_ms, query_ms, old_day_ms, counts_ms;
    int64_t bytes, acked;
} Figures;

/* What the supervisor screen reads for one day (kiosk/app.c sink_report). */
static void supervisor_query(Store *s, int64_t day, int64_t now)
{
    StoreDayTotals t;
    StoreSyncStatus st;
    int64_t pending, rejected, req, first;
    bool pruned;
    if(store_day_totals(s, day, &t) || store_backlog(s, &pending, &rejected) || store_sync_status_get(s, &st) ||
       store_sync_requested(s, &req) || store_history(s, now, &first, &pruned))
        die("supervisor query", store_errmsg(s));
}

static Figures measure(const char *path, int64_t today)
{
    Figures f = {0};
    int64_t t[QUERY_RUNS];
    char msg[512];
    Store *s = NULL;
    for(int i = 0; i < OPEN_RUNS; i++) {
        int64_t t0 = bench_now_ns();
        if(store_open(path, &s, msg, sizeof msg) != STORE_OK)
            die("open", msg);
        t[i] = bench_now_ns() - t0;
        store_close(s);
    }
    f.open_ms = median_ms(t, OPEN_RUNS);
    if(store_open(path, &s, msg, sizeof msg) != STORE_OK)
        die("open", msg);
    int64_t now = ptime_vn_day_start(today) + 12 * 3600;
    for(int i = 0; i < QUERY_RUNS; i++) {
        int64_t t0 = bench_now_ns();
        supervisor_query(s, today, now);
        t[i] = bench_now_ns() - t0;
    }
    f.query_ms = median_ms(t, QUERY_RUNS);
    for(int i = 0; i < QUERY_RUNS; i++) { /* a day 300 days back: still kept after the prune */
        int64_t t0 = bench_now_ns();
        supervisor_query(s, today - 300, now);
        t[i] = bench_now_ns() - t0;
    }
    f.old_day_ms = median_ms(t, QUERY_RUNS);
    StoreCounts c;
    for(int i = 0; i < OPEN_RUNS; i++) { /* every rating by state: kiosk-sync's log, tests; walks the acked */
        int64_t t0 = bench_now_ns();
        if(store_counts(s, &c) != STORE_OK)
            die("counts", store_errmsg(s));
        t[i] = bench_now_ns() - t0;
    }
    f.counts_ms = median_ms(t, OPEN_RUNS);
    f.acked = c.acked;
    store_close(s); /* the last close checkpoints: the size is the file's own */
    f.bytes = file_bytes(path);
    return f;
}

int main(int argc, char **argv)
{
    int years = 5, per_year = 100000;
    for(int i = 1; i + 1 < argc; i++) {
        if(strcmp(argv[i], "--years") == 0)
            years = atoi(argv[++i]);
        else if(strcmp(argv[i], "--per-year") == 0)
            per_year = atoi(argv[++i]);
    }
    if(years < 2 || per_year < 1000)
        die("arguments", "--years >= 2, --per-year >= 1000");
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/bench/retention-XXXXXX", BENCH_BINARY_DIR);
    if(!mkdtemp(dir))
        die("mkdtemp", dir);
    snprintf(path, sizeof path, "%s/kiosk.db", dir);
    int64_t today = ptime_vn_day((int64_t)time(NULL));

    int64_t t0 = bench_now_ns();
    int64_t made = fill(path, years, per_year, today);
    double fill_s = (double)(bench_now_ns() - t0) / 1e9;
    Figures before = measure(path, today);

    Store *s;
    char msg[512];
    if(store_open(path, &s, msg, sizeof msg) != STORE_OK)
        die("open", msg);
    int64_t gone = 0;
    t0 = bench_now_ns();
    if(store_prune(s, CONFIG_KEEP_DAYS_DEFAULT, ptime_vn_day_start(today) + 12 * 3600, &gone) != STORE_OK)
        die("prune", store_errmsg(s));
    double prune_s = (double)(bench_now_ns() - t0) / 1e9;
    store_close(s);
    Figures after = measure(path, today);

    printf("a busy counter's store: %lld ratings over %d years (%d a year), all acknowledged; built in %.1f s\n",
           (long long)made, years, per_year, fill_s);
    printf("prune to keep_days = %d: %lld ratings deleted in %.2f s (500-row transactions, then space handed back)\n",
           CONFIG_KEEP_DAYS_DEFAULT, (long long)gone, prune_s);
    printf("                                  before (baseline)        after    after/before\n");
    printf("  ratings kept                     %12lld %12lld        %6.3f\n", (long long)before.acked,
           (long long)after.acked, (double)after.acked / (double)before.acked);
    printf("  file size                        %9.1f MiB %9.1f MiB        %6.3f\n", before.bytes / 1048576.0,
           after.bytes / 1048576.0, (double)after.bytes / (double)before.bytes);
    printf("  store_open (quick_check), median %9.1f ms  %9.1f ms        %6.3f\n", before.open_ms, after.open_ms,
           after.open_ms / before.open_ms);
    printf("  supervisor query today, median   %9.3f ms  %9.3f ms        %6.3f\n", before.query_ms, after.query_ms,
           after.query_ms / before.query_ms);
    printf("  supervisor query 300 days back   %9.3f ms  %9.3f ms        %6.3f\n", before.old_day_ms,
           after.old_day_ms, after.old_day_ms / before.old_day_ms);
    printf("  store_counts (all states)        %9.1f ms  %9.1f ms        %6.3f\n", before.counts_ms,
           after.counts_ms, after.counts_ms / before.counts_ms);

    const char *sfx[] = {"", "-wal", "-shm"};
    for(int i = 0; i < 3; i++) {
        char p[640];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}
