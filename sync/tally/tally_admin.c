/* tally-admin — manages the central tally database: schema, unit tree, kiosks, viewers, targets, reports.
 *
 *   tally-admin --db FILE init
 *   tally-admin --db FILE unit add CODE NAME [--parent CODE]
 *   tally-admin --db FILE unit import FILE.csv               (lines: code,name,parent)
 *   tally-admin --db FILE device add ID --unit CODE [--since YYYY-MM-DD]   (prints the device token, once)
 *   tally-admin --db FILE device revoke ID
 *   tally-admin --db FILE device list                        (last upload and clock skew per kiosk)
 *   tally-admin --db FILE viewer add NAME                    (prints the read token, once)
 *   tally-admin --db FILE viewer revoke NAME
 *   tally-admin --db FILE report --from D --to D [--unit CODE] [--area CODE] [--by DIM[,DIM..]]
 *                                [--min-n N] [--format table|csv|json]
 *   tally-admin --db FILE targets list
 *   tally-admin --db FILE targets set GROUP 2025|2030 PCT
 *   tally-admin --db FILE backup FILE.db | DIR [--keep N]    (online backup, checked; DIR keeps the last N)
 *   tally-admin --db FILE restore FILE.db                    (refused while the database is in use)
 *
 * Exit status: 0 done, 1 refused (bad argument, unknown unit, …: stderr says why), 2 usage. Safe to run
 * while tally-server is serving the same file (SQLite WAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "sync/tally/tally_backup.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_query.h"

static void usage(FILE *f)
{
    fputs("usage / cách dùng:\n"
          "  tally-admin --db FILE init\n"
          "  tally-admin --db FILE unit add CODE NAME [--parent CODE]\n"
          "  tally-admin --db FILE unit import FILE.csv        (code,name,parent)\n"
          "  tally-admin --db FILE device add ID --unit CODE [--since YYYY-MM-DD]\n"
          "                        (prints the token once / in mã một lần; ratings dated before --since, by\n"
          "                        default a year before today, count as a wrong clock / giờ thiết bị sai)\n"
          "  tally-admin --db FILE device revoke ID\n"
          "  tally-admin --db FILE device list                 (last upload, clock skew / lần gửi cuối, lệch giờ)\n"
          "  tally-admin --db FILE viewer add NAME             (prints the token once / in mã một lần)\n"
          "  tally-admin --db FILE viewer revoke NAME\n"
          "  tally-admin --db FILE report --from YYYY-MM-DD --to YYYY-MM-DD [--unit CODE] [--area CODE]\n"
          "                        [--by area|unit|day|month|quarter|half|year|group[,..]] [--min-n N]\n"
          "                        [--format table|csv|json]\n"
          "  tally-admin --db FILE targets list\n"
          "  tally-admin --db FILE targets set GROUP 2025|2030 PCT\n"
          "  tally-admin --db FILE backup FILE.db | DIR [--keep N]  (online, checked; DIR: keeps the last N, default 14\n"
          "                        / sao lưu trực tuyến; thư mục: giữ N bản mới nhất)\n"
          "  tally-admin --db FILE restore FILE.db   (stop tally-server first / dừng tally-server trước)\n",
          f);
}

static int refuse(TallyErr e, const char *msg)
{
    fprintf(stderr, "tally-admin: %s (%s)\n", msg, tally_err_name(e));
    return 1;
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

static int report(TallyDb *db, int argc, char **argv)
{
    TallySpec spec = {.area = -1, .min_n = TALLY_MIN_N_DEFAULT};
    const char *from = NULL, *to = NULL, *format = "table";
    for(int i = 0; i < argc; i++) {
        if(i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *a = argv[i], *v = argv[++i];
        if(strcmp(a, "--from") == 0)
            from = v;
        else if(strcmp(a, "--to") == 0)
            to = v;
        else if(strcmp(a, "--unit") == 0)
            snprintf(spec.unit, sizeof spec.unit, "%s", v);
        else if(strcmp(a, "--area") == 0) {
            if((spec.area = proto_area_from_code(v)) < 0)
                return refuse(TALLY_E_INVALID, "unknown area / lĩnh vực không tồn tại");
        } else if(strcmp(a, "--by") == 0) {
            if(!tally_parse_by(v, &spec))
                return refuse(TALLY_E_INVALID, "--by takes up to 3 of area,unit,day,month,quarter,half,year,group / "
                                               "--by không hợp lệ");
        } else if(strcmp(a, "--min-n") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if(*end || n < 1 || n > 1000000)
                return refuse(TALLY_E_INVALID, "--min-n must be 1-1000000 / --min-n không hợp lệ");
            spec.min_n = (int)n;
        } else if(strcmp(a, "--format") == 0)
            format = v;
        else {
            usage(stderr);
            return 2;
        }
    }
    if(!from || !to || !ptime_parse_date(from, &spec.from_day) || !ptime_parse_date(to, &spec.to_day))
        return refuse(TALLY_E_INVALID, "--from and --to must be dates YYYY-MM-DD / --from và --to phải là ngày");
    if(strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))
        return refuse(TALLY_E_INVALID, "--format must be table, csv or json / --format không hợp lệ");
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
                                       "group", "target_2025", "status_2025", "target_2030", "status_2030"};
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

static bool print_device(const TallyDevice *d, void *ud)
{
    (void)ud;
    char seen[PTIME_TEXT_MAX] = "never / chưa gửi", skew[32] = "-";
    if(d->last_seen) {
        ptime_format(d->last_seen, PTIME_VN_OFFSET_MIN, seen);
        snprintf(skew, sizeof skew, "%+llds", (long long)d->last_skew_s);
    }
    printf("%-24s %-24s %-8s %-25s %-10s %lld\n", d->id, d->unit, d->revoked_at ? "revoked" : "active", seen, skew,
           (long long)d->quarantined);
    return true;
}

static int targets(TallyDb *db, int argc, char **argv)
{
    char msg[TALLY_MSG_MAX];
    if(argc == 1 && strcmp(argv[0], "list") == 0) {
        TallyTarget t[GROUP_COUNT];
        TallyErr e = tally_targets_get(db, t, msg);
        if(e)
            return refuse(e, msg);
        printf("%-26s %8s %8s  %s\n", "group", "2025", "2030", "nhóm");
        for(int g = 0; g < GROUP_COUNT; g++)
            printf("%-26s %8.2f %8.2f  %s\n", proto_group_code((ProtoGroup)g), t[g].pct[0], t[g].pct[1],
                   proto_group_name_vi((ProtoGroup)g));
        return 0;
    }
    if(argc == 4 && strcmp(argv[0], "set") == 0) {
        int g = proto_group_from_code(argv[1]);
        char *end1, *end2;
        long m = strtol(argv[2], &end1, 10);
        double pct = strtod(argv[3], &end2);
        if(g < 0)
            return refuse(TALLY_E_NOT_FOUND, "unknown group: tthc, dat_dai_xay_dung_dau_tu, y_te, giao_duc / nhóm "
                                             "không tồn tại");
        if(*end1 || *end2 || end2 == argv[3])
            return refuse(TALLY_E_INVALID, "usage: targets set GROUP 2025|2030 PCT / sai cú pháp");
        TallyErr e = tally_target_set(db, (ProtoGroup)g, (int)m, pct, msg);
        if(e)
            return refuse(e, msg);
        printf("target %s %ld = %.2f%%\n", argv[1], m, pct);
        return 0;
    }
    usage(stderr);
    return 2;
}

static void print_backup(const char *what, const char *path, const TallyBackupInfo *info)
{
    printf("%s %s: %lld ratings, %lld bytes, schema %d, integrity_check ok / %s: %lld đánh giá\n", what, path,
           (long long)info->ratings, (long long)info->bytes, info->schema, what, (long long)info->ratings);
}

/* backup and restore work on the file itself: they run before (and instead of) tally_db_open, which would
 * migrate the source and, for restore, hold the very connection that makes the database "in use". */
static int backup_restore(const char *db, const char *cmd, int argc, char **argv)
{
    TallyBackupInfo info;
    char msg[TALLY_MSG_MAX];
    TallyErr e;
    if(strcmp(cmd, "restore") == 0) {
        if(argc != 1)
            return usage(stderr), 2;
        if((e = tally_restore(argv[0], db, &info, msg)))
            return refuse(e, msg);
        print_backup("restored from", argv[0], &info);
        return 0;
    }
    int keep = -1;
    if(argc == 3 && strcmp(argv[1], "--keep") == 0) {
        char *end;
        long n = strtol(argv[2], &end, 10);
        if(*end || end == argv[2] || n < 1 || n > 10000)
            return refuse(TALLY_E_INVALID, "--keep must be 1-10000 / --keep không hợp lệ");
        keep = (int)n;
    } else if(argc != 1)
        return usage(stderr), 2;
    struct stat sb;
    if(stat(argv[0], &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char path[TALLY_MSG_MAX];
        int removed;
        if((e = tally_backup_to_dir(db, argv[0], keep > 0 ? keep : TALLY_BACKUP_KEEP_DEFAULT, path, &info,
                                    &removed, msg)))
            return refuse(e, msg);
        print_backup("backup", path, &info);
        if(removed)
            printf("removed %d older backup(s) / đã xoá %d bản sao cũ\n", removed, removed);
        return 0;
    }
    if(keep > 0)
        return refuse(TALLY_E_INVALID, "--keep goes with a folder, not a file / --keep chỉ dùng với thư mục");
    if((e = tally_backup_to_file(db, argv[0], &info, msg)))
        return refuse(e, msg);
    print_backup("backup", argv[0], &info);
    return 0;
}

int main(int argc, char **argv)
{
    if(argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if(argc < 4 || strcmp(argv[1], "--db") != 0) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[2];
    char **av = argv + 3;
    int ac = argc - 3;
    const char *cmd = av[0];
    if(strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0)
        return backup_restore(path, cmd, ac - 1, av + 1);
    TallyDb *db;
    char msg[TALLY_MSG_MAX];
    /* Only init creates a database: a mistyped --db elsewhere must not leave an empty file behind. */
    if(strcmp(cmd, "init") != 0 && access(path, F_OK) != 0) {
        fprintf(stderr, "tally-admin: %s does not exist; create it with: tally-admin --db %s init / chưa có cơ sở "
                        "dữ liệu, hãy chạy init trước\n", path, path);
        return 1;
    }
    TallyErr e = tally_db_open(path, &db, msg);
    if(e)
        return refuse(e, msg);
    int rc = 2;
    char token[TALLY_TOKEN_HEX + 1];
    if(strcmp(cmd, "init") == 0 && ac == 1) {
        printf("database %s is ready / cơ sở dữ liệu đã sẵn sàng\n", path);
        rc = 0;
    } else if(strcmp(cmd, "unit") == 0 && ac >= 3 && strcmp(av[1], "add") == 0) {
        const char *parent = NULL;
        if(ac == 6 && strcmp(av[4], "--parent") == 0)
            parent = av[5];
        if(ac == 4 || (ac == 6 && parent)) {
            e = tally_unit_add(db, av[2], av[3], parent, msg);
            rc = e ? refuse(e, msg) : (printf("unit %s saved / đã lưu đơn vị\n", av[2]), 0);
        }
    } else if(strcmp(cmd, "unit") == 0 && ac == 3 && strcmp(av[1], "import") == 0) {
        size_t n;
        e = tally_unit_import_csv(db, av[2], &n, msg);
        rc = e ? refuse(e, msg) : (printf("%zu units imported / đã nhập %zu đơn vị\n", n, n), 0);
    } else if(strcmp(cmd, "device") == 0 && (ac == 5 || (ac == 7 && strcmp(av[5], "--since") == 0)) &&
              strcmp(av[1], "add") == 0 && strcmp(av[3], "--unit") == 0) {
        int64_t since_day = 0;
        if(ac == 7 && !ptime_parse_date(av[6], &since_day)) {
            tally_db_close(db);
            return refuse(TALLY_E_INVALID, "--since must be a date YYYY-MM-DD / --since phải là ngày YYYY-MM-DD");
        }
        e = tally_device_add(db, av[2], av[4], ac == 7 ? ptime_vn_day_start(since_day) : 0, token, msg);
        rc = e ? refuse(e, msg) : (printf("%s\n", token), 0);
        if(!e)
            fprintf(stderr, "tally-admin: device %s enrolled at %s; the token above is shown only once / mã trên "
                            "chỉ hiển thị một lần\n", av[2], av[4]);
    } else if(strcmp(cmd, "device") == 0 && ac == 3 && strcmp(av[1], "revoke") == 0) {
        e = tally_device_revoke(db, av[2], msg);
        rc = e ? refuse(e, msg) : (printf("device %s revoked / đã thu hồi thiết bị\n", av[2]), 0);
    } else if(strcmp(cmd, "device") == 0 && ac == 2 && strcmp(av[1], "list") == 0) {
        printf("%-24s %-24s %-8s %-25s %-10s %s\n", "device", "unit", "status", "last upload (+07:00)", "clock skew",
               "wrong-clock ratings (giờ sai)");
        e = tally_device_list(db, print_device, NULL, msg);
        rc = e ? refuse(e, msg) : 0;
    } else if(strcmp(cmd, "viewer") == 0 && ac == 3 && strcmp(av[1], "add") == 0) {
        e = tally_viewer_add(db, av[2], token, msg);
        rc = e ? refuse(e, msg) : (printf("%s\n", token), 0);
        if(!e)
            fprintf(stderr, "tally-admin: viewer %s added; the token above is shown only once / mã trên chỉ hiển thị "
                            "một lần\n", av[2]);
    } else if(strcmp(cmd, "viewer") == 0 && ac == 3 && strcmp(av[1], "revoke") == 0) {
        e = tally_viewer_revoke(db, av[2], msg);
        rc = e ? refuse(e, msg) : (printf("viewer %s revoked / đã thu hồi quyền xem\n", av[2]), 0);
    } else if(strcmp(cmd, "report") == 0) {
        rc = report(db, ac - 1, av + 1);
    } else if(strcmp(cmd, "targets") == 0 && ac >= 2) {
        rc = targets(db, ac - 1, av + 1);
    }
    if(rc == 2)
        usage(stderr);
    tally_db_close(db);
    return rc;
}
