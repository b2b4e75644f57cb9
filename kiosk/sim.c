/* kiosk-sim — writes realistic ratings into a kiosk's store through the store API, for demos, load tests
 * and benchmarks.
 *
 *   kiosk-sim --config kiosk.ini --count N [--days D] [--seed S] [--now UNIX_SECONDS]
 *
 * Ratings fall in opening hours (07:30-17:00 Asia/Ho_Chi_Minh, Monday to Friday, fewer over lunch) over
 * the last D days up to now, in the areas the config lists (weighted like a district one-stop counter:
 * land and civil status busiest), mostly satisfied (each area draws its own rate between 85% and 93%).
 * Not-satisfied ratings get a follow-up: answered with one or two reasons, skipped, or timed out. About
 * 1.5% are rapid repeats (a second tap seconds after the first) and carry the rapid_repeat flag. When the
 * config asks the later questions (ask_service, ask_respondent, ask_wait), ratings answer them too: the
 * service face mostly like the procedure face, mostly người dân, mostly under 15 minutes, a few skipped.
 * With --seed (and --now) the output is the same on every run, ids included. Start reading at main(). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "kiosk/config.h"
#include "kiosk/store.h"

#define SIM_MAX_COUNT 10000000
#define SIM_MAX_DAYS 3650
#define SIM_CHUNK 500          /* ratings per store transaction */
#define SIM_OPEN_S (7 * 3600 + 30 * 60)
#define SIM_CLOSE_S (17 * 3600)
#define SIM_LUNCH_FROM_S (11 * 3600 + 30 * 60)
#define SIM_LUNCH_TO_S (13 * 3600 + 30 * 60)
#define SIM_RAPID_PER_MILLE 15

/* Relative visits per area at a district-level counter (land and civil status dominate). */
static const int AREA_WEIGHT[AREA_COUNT] = {
    [AREA_DAT_DAI] = 30, [AREA_XAY_DUNG] = 10, [AREA_DAU_TU] = 5, [AREA_Y_TE] = 8, [AREA_GIAO_DUC] = 6,
    [AREA_TU_PHAP_HO_TICH] = 22, [AREA_LAO_DONG_XA_HOI] = 12, [AREA_KHAC] = 7,
};
/* How often each reason is picked by a citizen who was not satisfied. */
static const int REASON_WEIGHT[REASON_COUNT] = {
    [REASON_CHO_DOI] = 30, [REASON_THAI_DO] = 8, [REASON_THU_TUC] = 25, [REASON_DI_LAI] = 15,
    [REASON_TRE_HEN] = 12, [REASON_CO_SO_VAT_CHAT] = 6, [REASON_KHAC] = 4,
};

/* Start-up and write failures: English then Vietnamese, the same detail after each. */
static void die(const char *en, const char *vi, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
static void die(const char *en, const char *vi, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char detail[1200];
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    fprintf(stderr, "kiosk-sim: error: %s%s%s\nkiosk-sim: lỗi: %s%s%s\n", en, *detail ? ": " : "", detail, vi,
            *detail ? ": " : "", detail);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: kiosk-sim --config kiosk.ini --count N [--days D] [--seed S] [--now UNIX_SECONDS]\n"
                    "cách dùng: kiosk-sim --config kiosk.ini --count N [--days D] [--seed S] [--now GIÂY_UNIX]\n"
                    "  N ratings (1-%d) over the last D days (1-%d, default 7) up to now, written to the store\n"
                    "  named by the config's database key.\n",
            SIM_MAX_COUNT, SIM_MAX_DAYS);
    exit(2);
}

/* ---- A small seeded generator (splitmix64): the same seed gives the same ratings ---------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n) /* uniform in [0, n) */
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    while((x = rng_next()) >= limit)
        ;
    return x % n;
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static int pick(const int *weight, const int *allowed, int n)
{
    int total = 0;
    for(int i = 0; i < n; i++)
        total += allowed[i] ? weight[i] : 0;
    int x = (int)rng_below((uint64_t)total);
    for(int i = 0; i < n; i++) {
        if(!allowed[i])
            continue;
        if(x < weight[i])
            return i;
        x -= weight[i];
    }
    return n - 1;
}

/* ---- Times ------------------------------------------------------------------------------------------- */

typedef struct {
    int64_t start, end; /* unix seconds of one day's opening hours, cut at now */
} Window;

/* A random instant in the opening hours of the windows, with the lunch hours thinned out. */
static int64_t random_open_instant(const Window *w, int64_t open_total)
{
    for(;;) {
        int64_t x = (int64_t)rng_below((uint64_t)open_total);
        size_t i = 0;
        while(x >= w[i].end - w[i].start)
            x -= w[i].end - w[i].start, i++;
        int64_t t = w[i].start + x;
        int64_t local = (t + PTIME_VN_OFFSET_MIN * 60) % 86400;
        if(local >= SIM_LUNCH_FROM_S && local < SIM_LUNCH_TO_S && rng_below(100) < 70)
            continue;
        return t;
    }
}

typedef struct {
    int64_t  ms;
    bool     rapid;
} Tap;

static int by_time(const void *a, const void *b)
{
    const Tap *x = a, *y = b;
    return (x->ms > y->ms) - (x->ms < y->ms);
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if(errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A face on the scale: satisfied or not, then which level. */
static int sim_face(ProtoScale scale, bool happy)
{
    if(scale == SCALE_TTHC3)
        return happy ? (rng_below(100) < 40 ? 3 : 2) : 1;
    return happy ? (rng_below(100) < 45 ? 5 : 4) : (int)(1 + rng_below(100) / 34);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int64_t count = -1, days = 7, now = (int64_t)time(NULL), seed = 0;
    bool seeded = false;
    for(int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if(!strcmp(a, "--help") || !strcmp(a, "-h"))
            usage();
        if(!v)
            usage();
        i++;
        if(!strcmp(a, "--config"))
            config_path = v;
        else if(!strcmp(a, "--count")) {
            if(!parse_i64(v, 1, SIM_MAX_COUNT, &count))
                die("--count must be a whole number 1-10000000", "--count phải là số nguyên 1-10000000", "%s", v);
        } else if(!strcmp(a, "--days")) {
            if(!parse_i64(v, 1, SIM_MAX_DAYS, &days))
                die("--days must be a whole number 1-3650", "--days phải là số nguyên 1-3650", "%s", v);
        } else if(!strcmp(a, "--seed")) {
            if(!parse_i64(v, 0, INT64_MAX, &seed))
                die("--seed must be a whole number >= 0", "--seed phải là số nguyên >= 0", "%s", v);
            seeded = true;
        } else if(!strcmp(a, "--now")) {
            if(!parse_i64(v, 86400, 253402300799, &now))
                die("--now must be unix seconds", "--now phải là số giây Unix", "%s", v);
        } else {
            usage();
        }
    }
    if(!config_path || count < 1)
        usage();

    KioskConfig cfg;
    char msg[1024];
    if(config_load(config_path, &cfg, msg, sizeof msg) != CONFIG_OK)
        die("cannot load the config", "không đọc được tệp cấu hình", "%s", msg);

    if(!seeded && getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = (int64_t)now ^ (int64_t)clock();
    rng_state = (uint64_t)seed;

    /* Opening hours of each weekday in the last `days` days, the last one cut at now. */
    int64_t today = ptime_vn_day(now), open_total = 0;
    Window *win = calloc((size_t)days, sizeof *win);
    size_t n_win = 0;
    if(!win)
        die("out of memory", "hết bộ nhớ", "%s", "");
    for(int64_t d = today - days + 1; d <= today; d++) {
        int weekday = (int)((d % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
        if(weekday == 0 || weekday == 6)
            continue;
        int64_t start = ptime_vn_day_start(d) + SIM_OPEN_S, end = ptime_vn_day_start(d) + SIM_CLOSE_S;
        if(end > now)
            end = now;
        if(end > start) {
            win[n_win++] = (Window){start, end};
            open_total += end - start;
        }
    }
    if(!open_total)
        die("no weekday opening hours (07:30-17:00) in the chosen days; use a larger --days",
            "không có giờ làm việc (07:30-17:00, thứ Hai-thứ Sáu) trong khoảng ngày đã chọn; hãy tăng --days", "%s",
            "");

    int allowed_area[AREA_COUNT] = {0}, all_reasons[REASON_COUNT];
    double sat_rate[AREA_COUNT];
    for(size_t i = 0; i < cfg.n_areas; i++)
        allowed_area[cfg.areas[i]] = 1;
    for(int r = 0; r < REASON_COUNT; r++)
        all_reasons[r] = 1;
    for(int a = 0; a < AREA_COUNT; a++)
        sat_rate[a] = 0.85 + 0.08 * rng_unit();

    Tap *taps = calloc((size_t)count, sizeof *taps);
    ProtoRating *batch = calloc(SIM_CHUNK, sizeof *batch);
    if(!taps || !batch)
        die("out of memory", "hết bộ nhớ", "%s", "");
    for(int64_t i = 0; i < count; i++) {
        taps[i].ms = random_open_instant(win, open_total) * 1000 + (int64_t)rng_below(1000);
        /* A rapid repeat: the next citizen... is the same finger, a few seconds later. */
        if(i > 0 && rng_below(1000) < SIM_RAPID_PER_MILLE) {
            taps[i].ms = taps[i - 1].ms + 2000 + (int64_t)rng_below(4000);
            taps[i].rapid = true;
        }
    }
    /* Sort, keeping each repeat right after its first tap (repeats are placed by time too). */
    qsort(taps, (size_t)count, sizeof *taps, by_time);
    for(int64_t i = count - 1; i >= 0 && taps[i].ms > now * 1000 + 999; i--)
        taps[i].ms = now * 1000; /* a repeat just before now must not land in the future */

    Store *store = NULL;
    if(store_open(cfg.database, &store, msg, sizeof msg) != STORE_OK)
        die("cannot open the store", "không mở được kho dữ liệu", "%s", msg);

    int64_t n[AREA_COUNT] = {0}, sat[AREA_COUNT] = {0}, flagged[AREA_COUNT] = {0}, first_seq = 0, last_seq = 0;
    int64_t followups[FOLLOWUP_COUNT] = {0}, service_n = 0, service_sat = 0, wait_n = 0, wait_in = 0;
    ProtoRating prev = {0};
    for(int64_t done = 0; done < count;) {
        size_t k = 0;
        for(; k < SIM_CHUNK && done + (int64_t)k < count; k++) {
            const Tap *t = &taps[done + (int64_t)k];
            ProtoRating *r = &batch[k];
            uint8_t rnd[10];
            for(int b = 0; b < 10; b++)
                rnd[b] = (uint8_t)rng_next();
            memset(r, 0, sizeof *r);
            uuid_v7_make(r->id, (uint64_t)t->ms, rnd);
            snprintf(r->unit, sizeof r->unit, "%s", cfg.unit_code);
            ptime_format(t->ms / 1000, PTIME_VN_OFFSET_MIN, r->at);
            r->scale = cfg.scale;
            r->followup = FOLLOWUP_NONE;
            if(t->rapid && prev.id[0]) {
                /* Same area and answer as the tap before; the follow-up is not asked twice. */
                r->area = prev.area;
                r->score = prev.score;
                r->followup = prev.followup == FOLLOWUP_NONE ? FOLLOWUP_NONE : FOLLOWUP_SKIPPED;
                r->flags = PROTO_FLAG_RAPID_REPEAT;
            } else {
                r->area = (ProtoArea)pick(AREA_WEIGHT, allowed_area, AREA_COUNT);
                bool happy = rng_unit() < sat_rate[r->area];
                r->score = sim_face(r->scale, happy);
                /* The later questions draw only when asked, so a config without them gives the same ratings. */
                if(cfg.ask_service && rng_below(100) < 96)
                    r->service_score = sim_face(r->scale, rng_unit() < (happy ? 0.96 : 0.55));
                if(proto_rating_asks_reasons(r)) {
                    uint64_t x = rng_below(100);
                    r->followup = x < 60 ? FOLLOWUP_ANSWERED : x < 85 ? FOLLOWUP_SKIPPED : FOLLOWUP_TIMEOUT;
                    if(r->followup == FOLLOWUP_ANSWERED) {
                        r->reasons = 1u << pick(REASON_WEIGHT, all_reasons, REASON_COUNT);
                        if(rng_below(100) < 30)
                            r->reasons |= 1u << pick(REASON_WEIGHT, all_reasons, REASON_COUNT);
                    }
                }
                if(cfg.ask_respondent) {
                    uint64_t x = rng_below(100);
                    r->respondent = x < 80 ? RESPONDENT_NGUOI_DAN : x < 92 ? RESPONDENT_DOANH_NGHIEP
                                    : x < 97 ? RESPONDENT_TO_CHUC : RESPONDENT_NONE;
                }
                if(cfg.ask_wait) {
                    uint64_t x = rng_below(100);
                    r->wait = x < (happy ? 72u : 40u) ? WAIT_DUOI_15 : x < (happy ? 92u : 75u) ? WAIT_15_30
                              : x < 97 ? WAIT_TREN_30 : WAIT_NONE;
                }
            }
            if(t->rapid && prev.id[0]) { /* the same citizen's answers */
                r->service_score = prev.service_score;
                r->respondent = prev.respondent;
                r->wait = prev.wait;
            }
            prev = *r;
        }
        if(store_add_many(store, batch, k) != STORE_OK) {
            snprintf(msg, sizeof msg, "%s (%" PRId64 " of %" PRId64 " written before this)", store_errmsg(store), done,
                     count);
            store_close(store);
            die("cannot write ratings", "không ghi được lượt đánh giá", "%s", msg);
        }
        for(size_t i = 0; i < k; i++) {
            const ProtoRating *r = &batch[i];
            if(!first_seq)
                first_seq = r->seq;
            last_seq = r->seq;
            followups[r->followup]++;
            if(r->flags) {
                flagged[r->area]++;
                continue;
            }
            n[r->area]++;
            sat[r->area] += proto_is_satisfied(r->scale, r->score);
            service_n += r->service_score != 0;
            service_sat += r->service_score && proto_is_satisfied(r->scale, r->service_score);
            wait_n += r->wait != WAIT_NONE;
            wait_in += proto_wait_within_30(r->wait);
        }
        done += (int64_t)k;
    }
    store_close(store);

    char from[PTIME_TEXT_MAX], to[PTIME_TEXT_MAX];
    ptime_format(taps[0].ms / 1000, PTIME_VN_OFFSET_MIN, from);
    ptime_format(taps[count - 1].ms / 1000, PTIME_VN_OFFSET_MIN, to);
    printf("kiosk-sim: wrote %" PRId64 " ratings (seq %" PRId64 "-%" PRId64 ") to %s\n"
           "kiosk-sim: đã ghi %" PRId64 " lượt đánh giá vào %s\n"
           "  from / từ %s  to / đến %s, scale / thang đo %s, seed %" PRId64 "\n"
           "  %-16s %7s %7s %7s %8s\n",
           count, first_seq, last_seq, cfg.database, count, cfg.database, from, to, proto_scale_code(cfg.scale), seed,
           "area / lĩnh vực", "n", "hài lòng", "%", "flagged");
    int64_t tn = 0, ts = 0, tf = 0;
    for(size_t i = 0; i < cfg.n_areas; i++) {
        ProtoArea a = cfg.areas[i];
        printf("  %-16s %7" PRId64 " %7" PRId64 " %7.1f %8" PRId64 "\n", proto_area_code(a), n[a], sat[a],
               n[a] ? 100.0 * (double)sat[a] / (double)n[a] : 0.0, flagged[a]);
        tn += n[a], ts += sat[a], tf += flagged[a];
    }
    printf("  %-16s %7" PRId64 " %7" PRId64 " %7.1f %8" PRId64 "\n", "total / tổng", tn, ts,
           tn ? 100.0 * (double)ts / (double)tn : 0.0, tf);
    printf("  follow-up / hỏi thêm: answered %" PRId64 ", skipped %" PRId64 ", timeout %" PRId64 "\n",
           followups[FOLLOWUP_ANSWERED], followups[FOLLOWUP_SKIPPED], followups[FOLLOWUP_TIMEOUT]);
    if(cfg.ask_service)
        printf("  service / phục vụ: %" PRId64 " answered, %" PRId64 " satisfied\n", service_n, service_sat);
    if(cfg.ask_wait)
        printf("  wait / chờ: %" PRId64 " answered, %" PRId64 " within 30 minutes\n", wait_n, wait_in);
    free(taps);
    free(batch);
    free(win);
    return 0;
}
