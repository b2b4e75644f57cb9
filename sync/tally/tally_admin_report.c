/* tally_admin_report.c — `tally-admin report` and `tally-admin letterhead` (see tally_admin.h).
 *
 * Without --by, `report` builds the report model for a period and a unit (tally_report.h) and writes it in the
 * format asked through tally_export.h — the same code the dashboard's downloads use. With --by it prints the
 * rows of GET /api/v1/tally for any dimensions, as it always has. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync/tally/tally_admin.h"
#include "sync/tally/tally_export.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_render.h"

static int refuse(TallyErr e, const char *msg)
{
    fprintf(stderr, "tally-admin: %s (%s)\n", msg, tally_err_name(e));
    return 1;
}

static void usage_report(void)
{
    fputs("usage / cách dùng: tally-admin --db FILE report (--period CODE | --from YYYY-MM-DD --to YYYY-MM-DD)\n"
          "         [--unit CODE] [--area CODE] [--respondent nguoi_dan|doanh_nghiep|to_chuc] [--min-n N]\n"
          "         [--format table|csv|json|xlsx|pdf] [--view VIEW] [--out FILE|DIR|-]\n"
          "   or:   tally-admin --db FILE report --from D --to D --by DIM[,DIM..] [--unit CODE] [--area CODE]\n"
          "         [--respondent CODE] [--min-n N] [--format table|csv|json]\n"
          "  periods / kỳ: thang:2026-11 quy:2026-4 6thang:2026-1 9thang:2026 nam:2026 2026-01-05..2026-02-10\n"
          "  views / bảng: nhom-chi-tieu don-vi xep-hang linh-vuc theo-thang ly-do thiet-bi canh-bao doi-tuong\n",
          stderr);
}

/* Display width of UTF-8 text (code points; Vietnamese NFC is one column each). */
static int width(const char *s)
{
    int w = 0;
    for(; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void cell(const char *s, int w, bool right)
{
    int pad = w - width(s);
    if(right)
        printf("%*s%s  ", pad > 0 ? pad : 0, "", s);
    else
        printf("%s%*s  ", s, pad > 0 ? pad : 0, "");
}

static void fmt_pct(char *out, size_t len, double v, bool has)
{
    if(has)
        snprintf(out, len, "%.2f", v);
    else
        snprintf(out, len, "-");
}

/* The rows of GET /api/v1/tally for spec, as before the report model: one query function, two doors. */
static int report_rows(TallyDb *db, TallySpec spec, const char *from, const char *to, const char *format)
{
    if(strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))
        return refuse(TALLY_E_INVALID, "--by gives rows: --format must be table, csv or json / --format không hợp lệ");
    TallyRow *rows;
    size_t n;
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_query_run(db, &spec, &rows, &n, msg);
    if(e)
        return refuse(e, msg);
    if(strcmp(format, "json") == 0) {
        char *s = tally_rows_json(rows, n);
        free(rows);
        if(!s)
            return refuse(TALLY_E_NOMEM, "out of memory");
        puts(s);
        free(s);
        return 0;
    }
    bool csv = strcmp(format, "csv") == 0;
    static const char *const HEAD[] = {"key", "n", "satisfied", "pct", "wilson_low", "wilson_high", "flagged",
                                       "group", "target_2025", "status_2025", "target_2030", "status_2030",
                                       "wait_n", "wait_within_30", "wait_pct", "wait_wilson_low", "wait_wilson_high"};
    enum { NCOL = sizeof HEAD / sizeof HEAD[0] };
    char (*text)[NCOL][TALLY_KEY_MAX] = calloc(n + 1, sizeof *text);
    if(!text) {
        free(rows);
        return refuse(TALLY_E_NOMEM, "out of memory");
    }
    for(int c = 0; c < NCOL; c++)
        snprintf(text[0][c], TALLY_KEY_MAX, "%s", HEAD[c]);
    for(size_t i = 0; i < n; i++) {
        const TallyRow *r = &rows[i];
        char(*t)[TALLY_KEY_MAX] = text[i + 1];
        bool has = r->n > 0, g = r->group >= 0;
        snprintf(t[0], TALLY_KEY_MAX, "%s", r->key);
        snprintf(t[1], TALLY_KEY_MAX, "%lld", (long long)r->n);
        snprintf(t[2], TALLY_KEY_MAX, "%lld", (long long)r->satisfied);
        fmt_pct(t[3], TALLY_KEY_MAX, r->pct, has);
        fmt_pct(t[4], TALLY_KEY_MAX, r->wilson_low, has);
        fmt_pct(t[5], TALLY_KEY_MAX, r->wilson_high, has);
        snprintf(t[6], TALLY_KEY_MAX, "%lld", (long long)r->flagged);
        snprintf(t[7], TALLY_KEY_MAX, "%s", g ? proto_group_code((ProtoGroup)r->group) : "-");
        for(int m = 0; m < 2; m++) {
            fmt_pct(t[8 + 2 * m], TALLY_KEY_MAX, r->target[m], g && r->target[m] >= 0);
            const char *s = csv ? tally_status_code(r->status[m]) : tally_status_label(r->status[m]);
            snprintf(t[9 + 2 * m], TALLY_KEY_MAX, "%s", s ? s : (csv ? "" : "-"));
        }
        snprintf(t[12], TALLY_KEY_MAX, "%lld", (long long)r->wait.n);
        snprintf(t[13], TALLY_KEY_MAX, "%lld", (long long)r->wait.within);
        fmt_pct(t[14], TALLY_KEY_MAX, r->wait.pct, r->wait.n > 0);
        fmt_pct(t[15], TALLY_KEY_MAX, r->wait.wilson_low, r->wait.n > 0);
        fmt_pct(t[16], TALLY_KEY_MAX, r->wait.wilson_high, r->wait.n > 0);
    }
    if(csv) {
        for(size_t i = 0; i <= n; i++)
            for(int c = 0; c < NCOL; c++)
                printf("%s%s", text[i][c], c + 1 < NCOL ? "," : "\n");
    } else {
        int w[NCOL] = {0};
        for(size_t i = 0; i <= n; i++)
            for(int c = 0; c < NCOL; c++)
                if(width(text[i][c]) > w[c])
                    w[c] = width(text[i][c]);
        printf("Satisfaction %s..%s%s%s, min_n %d / Mức độ hài lòng (Đạt = đạt chỉ tiêu; Chưa đủ mẫu = n < min_n)\n",
               from, to, spec.unit[0] ? ", unit " : "", spec.unit, spec.min_n);
        for(size_t i = 0; i <= n; i++) {
            for(int c = 0; c + 1 < NCOL; c++)
                cell(text[i][c], w[c], c >= 1 && c <= 6);
            printf("%s\n", text[i][NCOL - 1]);
        }
    }
    free(text);
    free(rows);
    return 0;
}


/* Custom dates that are exactly a month, quarter, half, nine months or year get that period (and its label). */
static void normalise_period(TallyPeriod *p)
{
    static const TallyPeriodKind KINDS[] = {TALLY_PERIOD_YEAR, TALLY_PERIOD_9MONTH, TALLY_PERIOD_HALF,
                                            TALLY_PERIOD_QUARTER, TALLY_PERIOD_MONTH};
    for(size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++) {
        TallyPeriod q;
        tally_period_containing(KINDS[i], p->to_day, &q);
        if(q.from_day == p->from_day && q.to_day == p->to_day) {
            *p = q;
            return;
        }
    }
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The table output: what the report is, then one view. */
static int print_table(const TallyReport *r, int view)
{
    char gen[PTIME_TEXT_MAX], last[PTIME_TEXT_MAX] = "", n[32], pct[32] = "-";
    ptime_format(r->generated_at, PTIME_VN_OFFSET_MIN, gen);
    if(r->data_last_received)
        ptime_format(r->data_last_received, PTIME_VN_OFFSET_MIN, last);
    tally_fmt_int_vi(r->total.n, n, sizeof n);
    if(r->total.n)
        tally_fmt_dec_vi(r->total.pct, 2, pct, sizeof pct);
    printf("%s — %s\n%s: %s%s%s%s\n%s: %s · %s: %s\n%s: %s · %s: %s%%\n%s\n\n", tally_str(TS_DOC_TITLE),
           r->period.label_vi, tally_str(TS_META_SCOPE), r->unit_name, r->unit_code[0] ? " (" : "", r->unit_code,
           r->unit_code[0] ? ")" : "", tally_str(TS_META_GENERATED), gen, tally_str(TS_META_LAST_DATA),
           last[0] ? last : tally_str(TS_META_NO_DATA), tally_str(TS_FIG_N), n, tally_str(TS_FIG_PCT), pct,
           tally_str(r->note_key));
    TallyBuf b = {0};
    tally_render_table(r, view < 0 ? TALLY_VIEW_GROUPS : (TallyView)view, &b);
    size_t len;
    char *s = tally_buf_take(&b, &len);
    if(!s)
        return refuse(TALLY_E_NOMEM, "out of memory");
    fwrite(s, 1, len, stdout);
    free(s);
    return 0;
}

int admin_report(TallyDb *db, int argc, char **argv)
{
    TallySpec rows = {.area = -1, .min_n = TALLY_MIN_N_DEFAULT};
    const char *from = NULL, *to = NULL, *period = NULL, *format = "table", *view_code = NULL, *out = NULL;
    bool by = false;
    for(int i = 0; i < argc; i++) {
        if(i + 1 >= argc) {
            usage_report();
            return 2;
        }
        const char *a = argv[i], *v = argv[++i];
        if(strcmp(a, "--from") == 0)
            from = v;
        else if(strcmp(a, "--to") == 0)
            to = v;
        else if(strcmp(a, "--period") == 0)
            period = v;
        else if(strcmp(a, "--unit") == 0) {
            if(strlen(v) > PROTO_ID_MAX)
                return refuse(TALLY_E_NOT_FOUND, "unknown unit / đơn vị không tồn tại");
            snprintf(rows.unit, sizeof rows.unit, "%s", v);
        } else if(strcmp(a, "--area") == 0) {
            if((rows.area = proto_area_from_code(v)) < 0)
                return refuse(TALLY_E_INVALID, "unknown area / lĩnh vực không tồn tại");
        } else if(strcmp(a, "--respondent") == 0) {
            if((rows.respondent = proto_respondent_from_code(v)) <= 0)
                return refuse(TALLY_E_INVALID, "--respondent must be nguoi_dan, doanh_nghiep or to_chuc / "
                                               "đối tượng đánh giá không hợp lệ");
        } else if(strcmp(a, "--by") == 0) {
            by = true;
            if(!tally_parse_by(v, &rows))
                return refuse(TALLY_E_INVALID, "--by takes up to 3 of area,unit,day,month,quarter,half,year,group,respondent / "
                                               "--by không hợp lệ");
        } else if(strcmp(a, "--min-n") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if(*end || n < 1 || n > 1000000)
                return refuse(TALLY_E_INVALID, "--min-n must be 1-1000000 / --min-n không hợp lệ");
            rows.min_n = (int)n;
        } else if(strcmp(a, "--format") == 0)
            format = v;
        else if(strcmp(a, "--view") == 0)
            view_code = v;
        else if(strcmp(a, "--out") == 0)
            out = v;
        else {
            usage_report();
            return 2;
        }
    }

    /* The period: --period, or --from/--to. */
    TallyPeriod p;
    if(period && (from || to))
        return refuse(TALLY_E_INVALID, "give --period or --from/--to, not both / chỉ dùng một cách chọn kỳ");
    if(period) {
        if(by)
            return refuse(TALLY_E_INVALID, "--by takes --from/--to / --by cần --from và --to");
        if(!tally_period_parse(period, &p))
            return refuse(TALLY_E_INVALID, "--period must be thang:YYYY-MM, quy:YYYY-Q, 6thang:YYYY-H, 9thang:YYYY, "
                                           "nam:YYYY or YYYY-MM-DD..YYYY-MM-DD / kỳ báo cáo không hợp lệ");
    } else {
        if(!from || !to || !ptime_parse_date(from, &rows.from_day) || !ptime_parse_date(to, &rows.to_day))
            return refuse(TALLY_E_INVALID, "--from and --to must be dates YYYY-MM-DD (or give --period) / --from và "
                                           "--to phải là ngày");
        if(by)
            return report_rows(db, rows, from, to, format);
        if(!tally_period_custom(rows.from_day, rows.to_day, &p))
            return refuse(TALLY_E_INVALID, "--from must not be after --to, and a report covers at most 3 years / kỳ "
                                           "báo cáo không hợp lệ");
        normalise_period(&p);
    }

    bool table = strcmp(format, "table") == 0;
    int f = table ? -1 : tally_file_format_from_code(format);
    if(!table && f < 0)
        return refuse(TALLY_E_INVALID, "--format must be table, csv, json, xlsx or pdf / --format không hợp lệ");
    int view = -1;
    if(view_code && (view = tally_view_from_code(view_code)) < 0)
        return refuse(TALLY_E_INVALID, "--view must be nhom-chi-tieu, don-vi, xep-hang, linh-vuc, theo-thang, ly-do, "
                                       "thiet-bi, canh-bao or doi-tuong / --view không hợp lệ");
    if(view >= 0 && (f == TALLY_FILE_JSON || f == TALLY_FILE_XLSX || f == TALLY_FILE_PDF))
        return refuse(TALLY_E_INVALID, "--view is for csv and table; json, xlsx and pdf hold every view / --view chỉ "
                                       "dùng với csv và table");

    TallyReportSpec spec = {.period = p, .area = rows.area, .respondent = rows.respondent, .min_n = rows.min_n,
                            .now_s = (int64_t)time(NULL)};
    snprintf(spec.unit, sizeof spec.unit, "%s", rows.unit);
    spec.parts = table ? TALLY_PART_ALL : tally_file_parts((TallyFileFormat)f, view);
    TallyLetterhead lh;
    TallyReport *r;
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_letterhead_load(db, &lh, msg);
    if(!e)
        e = tally_report_build(db, &spec, &r, msg);
    if(e)
        return refuse(e, msg);
    int rc = 0;
    if(table) {
        rc = print_table(r, view);
    } else if(f == TALLY_FILE_CSV && view < 0) {
        /* Every view, one file each, into a folder. */
        const char *dir = out ? out : ".";
        if(!is_dir(dir)) {
            tally_report_free(r);
            return refuse(TALLY_E_INVALID, "csv without --view writes one file per view: --out must be a folder / "
                                           "--out phải là thư mục");
        }
        for(int v = 0; v < TALLY_VIEW_COUNT && !rc; v++) {
            char name[TALLY_FILE_NAME_MAX], path[4096 + TALLY_FILE_NAME_MAX];
            tally_file_name(r, TALLY_FILE_CSV, v, name);
            snprintf(path, sizeof path, "%s/%s", dir, name);
            if((e = tally_file_write(r, &lh, TALLY_FILE_CSV, v, path, msg)))
                rc = refuse(e, msg);
            else
                printf("%s\n", path);
        }
    } else {
        /* One file: --out, "-" for standard output, or its own name in the current folder (json: stdout). */
        char name[TALLY_FILE_NAME_MAX];
        tally_file_name(r, (TallyFileFormat)f, view, name);
        const char *path = out ? out : (f == TALLY_FILE_JSON || f == TALLY_FILE_CSV) ? "-" : name;
        char joined[4096 + TALLY_FILE_NAME_MAX];
        if(strcmp(path, "-") && is_dir(path)) {
            snprintf(joined, sizeof joined, "%s/%s", path, name);
            path = joined;
        }
        if((e = tally_file_write(r, &lh, (TallyFileFormat)f, view, path, msg)))
            rc = refuse(e, msg);
        else if(strcmp(path, "-"))
            printf("%s\n", path);
    }
    tally_report_free(r);
    return rc;
}

int admin_letterhead(TallyDb *db, int argc, char **argv)
{
    char msg[TALLY_MSG_MAX];
    TallyErr e;
    if(argc == 0 || (argc == 1 && strcmp(argv[0], "show") == 0)) {
        TallyLetterhead lh, def;
        if((e = tally_letterhead_load(db, &lh, msg)))
            return refuse(e, msg);
        tally_letterhead_default(&def);
        for(int i = 0; TALLY_LETTERHEAD_KEYS[i]; i++) {
            const char *k = TALLY_LETTERHEAD_KEYS[i], *v = tally_letterhead_field(&lh, k);
            bool is_default = strcmp(v, tally_letterhead_field(&def, k)) == 0;
            printf("%-13s %s%s\n", k, v, is_default ? "  (default / mặc định)" : "");
        }
        return 0;
    }
    if(argc == 3 && strcmp(argv[0], "set") == 0) {
        if((e = tally_letterhead_set(db, argv[1], argv[2], msg)))
            return refuse(e, msg);
        printf("letterhead %s saved / đã lưu\n", argv[1]);
        return 0;
    }
    if(argc == 2 && strcmp(argv[0], "reset") == 0) {
        if((e = tally_letterhead_set(db, argv[1], NULL, msg)))
            return refuse(e, msg);
        printf("letterhead %s back to its default / đã về mặc định\n", argv[1]);
        return 0;
    }
    return 2;
}
