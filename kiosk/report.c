/* report.c — kiosk-report: one day's totals from the kiosk's own store, as the supervisor screen shows them,
 * or the ratings the central tally refused.
 *
 *   kiosk-report [--config /etc/kiosk/kiosk.ini] [--date YYYY-MM-DD] [--format table|csv]
 *   kiosk-report [--config /etc/kiosk/kiosk.ini] --rejected [--format table|csv]
 *
 * The day is an Asia/Ho_Chi_Minh day (default: today there). n and the satisfied percentage leave out
 * ratings flagged as misuse, which are counted in their own column (../shared/reference/metric.md). The
 * level columns are those of the configured scale. --rejected lists every rating the server refused (never
 * retried, never pruned), newest first, with the server's reason, so staff can see what did not count and
 * why. It never creates a store (a missing file is an error).
 * It only reads ratings; opening an older file migrates its schema, as every store client does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kiosk/config.h"
#include "kiosk/store.h"
#include "sync/ptime.h"

#define DEFAULT_CONFIG "/etc/kiosk/kiosk.ini"

static void usage(void)
{
    fprintf(stderr, "usage: kiosk-report [--config FILE] [--date YYYY-MM-DD] [--format table|csv]\n"
                    "       (báo cáo kết quả đánh giá trong ngày của máy này)\n"
                    "       kiosk-report [--config FILE] --rejected [--format table|csv]\n"
                    "       (các đánh giá máy chủ từ chối, kèm lý do)\n");
    exit(2);
}

/* Display columns of s: one per code point (NFC Vietnamese has no combining marks). */
static int columns(const char *s)
{
    int n = 0;
    for(const unsigned char *p = (const unsigned char *)s; *p; p++)
        if((*p & 0xC0) != 0x80)
            n++;
    return n;
}

static void pad(const char *s, int cols)
{
    fputs(s, stdout);
    for(int n = columns(s); n < cols; n++)
        putchar(' ');
}

static void rpad(const char *s, int cols)
{
    for(int n = columns(s); n < cols; n++)
        putchar(' ');
    fputs(s, stdout);
}

static void csv_field(const char *s)
{
    if(!strpbrk(s, ",\"\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for(; *s; s++) {
        if(*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* --rejected: every rating the server refused, newest first. */
static int list_rejected(Store *s, bool csv)
{
    int64_t pending, rejected;
    if(store_backlog(s, &pending, &rejected) != STORE_OK) {
        fprintf(stderr, "kiosk-report: %s\n", store_errmsg(s));
        return 1;
    }
    size_t n = 0, cap = rejected > 0 ? (size_t)rejected : 1;
    StoreRejected *r = calloc(cap, sizeof *r);
    if(!r || store_rejected(s, r, cap, &n) != STORE_OK) {
        fprintf(stderr, "kiosk-report: %s\n", r ? store_errmsg(s) : "out of memory");
        free(r);
        return 1;
    }
    if(csv)
        printf("id,seq,at,area,scale,score,reason,rejected_at\n");
    else if(n == 0)
        printf("No rejected ratings / Không có đánh giá nào bị máy chủ từ chối\n");
    else {
        printf("Rejected by the central tally (never retried) / Bị máy chủ từ chối (không gửi lại): %zu\n\n"
               "%-36s %8s  %-25s  %-16s %5s  ", n, "id", "seq", "at", "area", "score");
        pad("reason / lý do", 21);
        printf("rejected at / lúc\n");
    }
    for(size_t i = 0; i < n; i++) {
        char when[PTIME_TEXT_MAX];
        ptime_format(r[i].rejected_at, PTIME_VN_OFFSET_MIN, when);
        if(csv) {
            printf("%s,%lld,%s,%s,%s,%d,", r[i].id, (long long)r[i].seq, r[i].at, proto_area_code(r[i].area),
                   proto_scale_code(r[i].scale), r[i].score);
            csv_field(r[i].reason);
            printf(",%s\n", when);
        } else {
            printf("%-36s %8lld  %-25s  %-16s %5d  %-20s %s\n", r[i].id, (long long)r[i].seq, r[i].at,
                   proto_area_code(r[i].area), r[i].score, r[i].reason, when);
        }
    }
    free(r);
    return 0;
}

static void pct(int64_t sat, int64_t n, char out[16])
{
    if(n > 0)
        snprintf(out, 16, "%.1f", 100.0 * (double)sat / (double)n);
    else
        snprintf(out, 16, "-");
}

int main(int argc, char **argv)
{
    const char *config_path = DEFAULT_CONFIG, *date = NULL, *format = "table";
    bool rejected = false;
    for(int i = 1; i < argc; i++) {
        if(strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if(strcmp(argv[i], "--rejected") == 0)
            rejected = true;
        else if(strcmp(argv[i], "--date") == 0 && i + 1 < argc)
            date = argv[++i];
        else if(strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else
            usage();
    }
    bool csv = strcmp(format, "csv") == 0;
    if((!csv && strcmp(format, "table") != 0) || (rejected && date))
        usage();
    int64_t day;
    if(date) {
        if(!ptime_parse_date(date, &day)) {
            fprintf(stderr, "kiosk-report: --date wants a real date YYYY-MM-DD / ngày không hợp lệ: %s\n", date);
            return 2;
        }
    } else {
        day = ptime_vn_day((int64_t)time(NULL));
    }
    char day_text[PTIME_DATE_LEN];
    ptime_format_date(day, day_text);

    KioskConfig cfg;
    char msg[1024];
    if(config_load(config_path, &cfg, msg, sizeof msg) != CONFIG_OK) {
        fprintf(stderr, "kiosk-report: %s\n", msg);
        return 1;
    }
    struct stat sb;
    if(stat(cfg.database, &sb) != 0) {
        fprintf(stderr, "kiosk-report: no store at %s / không có cơ sở dữ liệu\n", cfg.database);
        return 1;
    }
    Store *s;
    if(store_open(cfg.database, &s, msg, sizeof msg) != STORE_OK) {
        fprintf(stderr, "kiosk-report: %s\n", msg);
        return 1;
    }
    if(rejected) {
        int rc = list_rejected(s, csv);
        store_close(s);
        return rc;
    }
    StoreDayTotals t;
    StoreErr e = store_day_totals(s, day, &t);
    if(e) {
        fprintf(stderr, "kiosk-report: %s\n", store_errmsg(s));
        store_close(s);
        return 1;
    }
    store_close(s);

    /* Configured areas first, then any other area that has ratings that day. */
    ProtoArea areas[AREA_COUNT];
    int na = 0;
    bool seen[AREA_COUNT] = {0};
    for(size_t i = 0; i < cfg.n_areas; i++) {
        areas[na++] = cfg.areas[i];
        seen[cfg.areas[i]] = true;
    }
    for(int a = 0; a < AREA_COUNT; a++)
        if(!seen[a] && (t.n[a] || t.flagged[a]))
            areas[na++] = (ProtoArea)a;
    ProtoScale sc = cfg.scale;
    int levels = proto_scale_levels(sc);
    int64_t other_scale = 0;
    for(int a = 0; a < AREA_COUNT; a++)
        for(int k = 0; k < SCALE_COUNT; k++)
            for(int l = 1; k != (int)sc && l <= PROTO_MAX_LEVELS; l++)
                other_scale += t.count[a][k][l];

    char p[16];
    if(csv) {
        printf("date,unit,area,area_name,scale");
        for(int l = 1; l <= levels; l++)
            printf(",level_%d", l);
        printf(",n,satisfied,pct_satisfied,flagged\n");
        for(int i = 0; i < na; i++) {
            ProtoArea a = areas[i];
            printf("%s,", day_text);
            csv_field(cfg.unit_code);
            printf(",%s,", proto_area_code(a));
            csv_field(proto_area_name_vi(a));
            printf(",%s", proto_scale_code(sc));
            for(int l = 1; l <= levels; l++)
                printf(",%lld", (long long)t.count[a][sc][l]);
            pct(t.satisfied[a], t.n[a], p);
            if(t.n[a] == 0)
                p[0] = '\0'; /* CSV: empty, not "-", when there is nothing to divide */
            printf(",%lld,%lld,%s,%lld\n", (long long)t.n[a], (long long)t.satisfied[a], p, (long long)t.flagged[a]);
        }
        return 0;
    }

    printf("Satisfaction ratings / Kết quả đánh giá: %s — %s %s\n", day_text, cfg.unit_code, cfg.unit_name);
    printf("Scale / Thang đo: %s (", proto_scale_code(sc));
    for(int l = 1; l <= levels; l++)
        printf("%s%d = %s", l > 1 ? ", " : "", l, proto_scale_label_vi(sc, l));
    printf(")\n\n");
    pad("Area / Lĩnh vực", 34);
    for(int l = 1; l <= levels; l++)
        printf("%7d", l);
    printf("%8s %10s %7s %8s\n", "n", "satisfied", "%", "flagged");
    printf("%*s", 34 + 7 * levels, "");
    rpad("tổng", 8);
    rpad("hài lòng", 11);
    rpad("lạm dụng", 17);
    putchar('\n');
    int64_t lvl[PROTO_MAX_LEVELS + 1] = {0};
    for(int i = 0; i <= na; i++) {
        bool total = i == na;
        ProtoArea a = total ? AREA_KHAC : areas[i];
        pad(total ? "Total / Tổng" : proto_area_name_vi(a), 34);
        for(int l = 1; l <= levels; l++) {
            int64_t v = total ? lvl[l] : t.count[a][sc][l];
            if(!total)
                lvl[l] += v;
            printf("%7lld", (long long)v);
        }
        int64_t n = total ? t.total : t.n[a], sat = total ? t.total_satisfied : t.satisfied[a];
        int64_t fl = total ? t.total_flagged : t.flagged[a];
        pct(sat, n, p);
        printf("%8lld %10lld %7s %8lld\n", (long long)n, (long long)sat, p, (long long)fl);
    }
    if(other_scale)
        printf("\nnote / lưu ý: %lld ratings on another scale are in n but not in the level columns\n",
               (long long)other_scale);
    return 0;
}
