/* tally-admin — manages the central tally database: schema, unit tree, kiosks, viewers, targets, reports.
 *
 *   tally-admin --db FILE init
 *   tally-admin --db FILE unit add CODE NAME [--parent CODE]
 *   tally-admin --db FILE unit import FILE.csv               (lines: code,name,parent)
 *   tally-admin --db FILE device add ID --unit CODE [--since YYYY-MM-DD]   (prints the device token, once)
 *   tally-admin --db FILE device revoke ID
 *   tally-admin --db FILE device list                        (last upload and clock skew per kiosk)
 *   tally-admin --db FILE viewer add NAME [--unit CODE]      (prints the read token, once; --unit: scope)
 *   tally-admin --db FILE viewer password NAME               (new dashboard password from stdin, no echo)
 *   tally-admin --db FILE viewer revoke NAME
 *   tally-admin --db FILE audit [--from D --to D]            (sign-ins, sign-outs, exports)
 *   tally-admin --db FILE alerts [--from D --to D] [--unit CODE] [--json]   (exit 1 when there is any alert)
 *   tally-admin --db FILE report (--period CODE | --from D --to D) [--unit CODE] [--area CODE] [--min-n N]
 *                                [--format table|csv|json|xlsx|pdf] [--view VIEW] [--out FILE|DIR|-]
 *   tally-admin --db FILE report --from D --to D --by DIM[,DIM..] [...] [--format table|csv|json]
 *   tally-admin --db FILE letterhead [show | set KEY VALUE | reset KEY]
 *   tally-admin --db FILE targets list
 *   tally-admin --db FILE targets set GROUP 2025|2030 PCT
 *   tally-admin --db FILE backup FILE.db | DIR [--keep N]    (online backup, checked; DIR keeps the last N)
 *   tally-admin --db FILE restore FILE.db                    (refused while the database is in use)
 *   tally-admin migrate --from FILE.db --to postgresql://…   (SQLite into PostgreSQL, verified; re-runnable)
 *
 * Exit status: 0 done, 1 refused (bad argument, unknown unit, …: stderr says why; for alerts: there are
 * alerts), 2 usage. Safe to run
 * while tally-server is serving the same file (SQLite WAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "sync/tally/tally_account.h"
#include "sync/tally/tally_admin.h"
#include "sync/tally/tally_pg.h"
#include "sync/tally/tally_report.h"

#include <sys/stat.h>

#include "sync/tally/tally_backup.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_migrate.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_render.h"

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
          "  tally-admin --db FILE viewer add NAME [--unit CODE]  (prints the token once / in mã một lần;\n"
          "                        --unit: sees only that unit's subtree / chỉ xem đơn vị đó và cấp dưới)\n"
          "  tally-admin --db FILE viewer password NAME        (reads the new password from stdin / đọc mật khẩu)\n"
          "  tally-admin --db FILE viewer revoke NAME\n"
          "  tally-admin --db FILE audit [--from YYYY-MM-DD --to YYYY-MM-DD]\n"
          "  tally-admin --db FILE alerts [--from YYYY-MM-DD --to YYYY-MM-DD] [--unit CODE] [--json]\n"
          "                        (default: the last 30 days against the 30 before; exit 1 when any alert)\n"
          "  tally-admin --db FILE report (--period quy:2026-4|nam:2026|6thang:2026-1|9thang:2026|thang:2026-11\n"
          "                        | --from YYYY-MM-DD --to YYYY-MM-DD) [--unit CODE] [--area CODE] [--min-n N]\n"
          "                        [--format table|csv|json|xlsx|pdf] [--view VIEW] [--out FILE|DIR|-]\n"
          "      views / bảng: nhom-chi-tieu don-vi xep-hang linh-vuc theo-thang ly-do thiet-bi canh-bao\n"
          "  tally-admin --db FILE report --from YYYY-MM-DD --to YYYY-MM-DD --by area|unit|day|month|quarter|half|\n"
          "                        year|group[,..] [--unit CODE] [--area CODE] [--min-n N] [--format table|csv|json]\n"
          "                        (the rows of GET /api/v1/tally / các dòng như API)\n"
          "  tally-admin --db FILE letterhead [show | set KEY VALUE | reset KEY]   (the PDF's issuing body, place,\n"
          "                        symbol, signer; keys: issuer_parent issuer place symbol signer_title signer_name\n"
          "                        recipients)\n"
          "  tally-admin --db FILE targets list\n"
          "  tally-admin --db FILE targets set GROUP 2025|2030 PCT\n"
          "  tally-admin --db FILE backup FILE.db | DIR [--keep N]  (online, checked; DIR: keeps the last N, default 14\n"
          "                        / sao lưu trực tuyến; thư mục: giữ N bản mới nhất)\n"
          "  tally-admin --db FILE restore FILE.db   (stop tally-server first / dừng tally-server trước)\n"
          "  tally-admin migrate --from FILE.db --to postgresql://…  (copies the SQLite tally into PostgreSQL and\n"
          "                        verifies it; safe to run again / chuyển sang PostgreSQL, đối chiếu; chạy lại được)\n",
          f);
}

static int refuse(TallyErr e, const char *msg)
{
    fprintf(stderr, "tally-admin: %s (%s)\n", msg, tally_err_name(e));
    return 1;
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

/* Reads one line from stdin without echo when it is a terminal; strips the newline. */
static bool read_secret(const char *prompt, char *out, size_t len)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if(tty) {
        fputs(prompt, stderr);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(out, (int)len, stdin) != NULL;
    if(tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if(!ok)
        return false;
    size_t n = strlen(out);
    if(n && out[n - 1] != '\n' && !feof(stdin)) /* longer than the buffer */
        return false;
    while(n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return true;
}

static int viewer_password(TallyDb *db, const char *name)
{
    char pw[TALLY_PASSWORD_MAX + 2], again[TALLY_PASSWORD_MAX + 2], msg[TALLY_MSG_MAX];
    if(!read_secret("New password / Mật khẩu mới: ", pw, sizeof pw)) {
        sodium_memzero(pw, sizeof pw);
        return refuse(TALLY_E_INVALID, "no password on standard input (or too long) / không đọc được mật khẩu");
    }
    if(isatty(STDIN_FILENO)) {
        bool same = read_secret("Again / Nhập lại: ", again, sizeof again) && strcmp(pw, again) == 0;
        sodium_memzero(again, sizeof again);
        if(!same) {
            sodium_memzero(pw, sizeof pw);
            return refuse(TALLY_E_INVALID, "the two passwords differ / hai lần nhập không khớp");
        }
    }
    TallyErr e = tally_viewer_set_password(db, name, pw, msg);
    sodium_memzero(pw, sizeof pw);
    if(e)
        return refuse(e, msg);
    tally_audit_add(db, (int64_t)time(NULL), name, "tally-admin", "password_set", "", msg);
    printf("password of %s set; their open sessions have ended / đã đặt mật khẩu, các phiên cũ đã kết thúc\n", name);
    return 0;
}

static bool print_audit(const TallyAuditLine *l, void *ud)
{
    (void)ud;
    char at[PTIME_TEXT_MAX];
    ptime_format(l->at, PTIME_VN_OFFSET_MIN, at);
    printf("%-25s %-16s %-24s %-16s %s\n", at, l->event, l->viewer, l->addr, l->detail);
    return true;
}

/* --from/--to pairs shared by audit and alerts; false on a malformed date. */
static bool date_args(int argc, char **argv, int64_t *from, int64_t *to, const char **unit, bool *json, bool *bad)
{
    for(int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if(json && strcmp(a, "--json") == 0) {
            *json = true;
            continue;
        }
        if(i + 1 >= argc)
            return *bad = true, false;
        const char *v = argv[++i];
        if(strcmp(a, "--from") == 0 && ptime_parse_date(v, from))
            continue;
        if(strcmp(a, "--to") == 0 && ptime_parse_date(v, to))
            continue;
        if(unit && strcmp(a, "--unit") == 0 && proto_code_valid(v)) {
            *unit = v;
            continue;
        }
        *bad = strcmp(a, "--from") && strcmp(a, "--to") && strcmp(a, "--unit");
        return false;
    }
    return true;
}

static int audit(TallyDb *db, int argc, char **argv)
{
    int64_t from = 0, to = 0;
    bool bad = false;
    if(!date_args(argc, argv, &from, &to, NULL, NULL, &bad)) {
        if(bad)
            return 2;
        return refuse(TALLY_E_INVALID, "--from and --to must be dates YYYY-MM-DD / --from và --to phải là ngày");
    }
    int64_t from_s = from ? ptime_vn_day_start(from) : 0, to_s = to ? ptime_vn_day_start(to + 1) - 1 : INT64_MAX;
    char msg[TALLY_MSG_MAX];
    printf("%-25s %-16s %-24s %-16s %s\n", "at (+07:00)", "event", "viewer", "address", "detail");
    TallyErr e = tally_audit_list(db, from_s, to_s, print_audit, NULL, msg);
    return e ? refuse(e, msg) : 0;
}

static int alerts(TallyDb *db, int argc, char **argv)
{
    int64_t today = ptime_vn_day((int64_t)time(NULL)), from = today - 29, to = today;
    const char *unit = NULL;
    bool json = false, bad = false;
    if(!date_args(argc, argv, &from, &to, &unit, &json, &bad)) {
        if(bad)
            return 2;
        return refuse(TALLY_E_INVALID, "--from/--to must be dates YYYY-MM-DD, --unit a unit code / ngày hoặc mã "
                                       "đơn vị không hợp lệ");
    }
    TallyReportSpec spec = {.area = -1, .parts = TALLY_PART_ALERTS, .now_s = (int64_t)time(NULL)};
    if(!tally_period_custom(from, to, &spec.period))
        return refuse(TALLY_E_INVALID, "--from must not be after --to (at most 3 years) / khoảng ngày không hợp lệ");
    if(unit)
        snprintf(spec.unit, sizeof spec.unit, "%s", unit);
    TallyReport *r;
    char msg[TALLY_MSG_MAX];
    TallyErr e = tally_report_build(db, &spec, &r, msg);
    if(e)
        return refuse(e, msg);
    if(json) {
        char *s = tally_alerts_json(r);
        if(!s) {
            tally_report_free(r);
            return refuse(TALLY_E_NOMEM, "out of memory");
        }
        puts(s);
        free(s);
    } else {
        printf("Alerts %s (compared with %s) / Cảnh báo: %zu\n", r->period.label_vi, r->period.prev_label_vi,
               r->n_alerts);
        for(size_t i = 0; i < r->n_alerts; i++) {
            const TallyReportAlert *a = &r->alerts[i];
            printf("%-13s %-24s %-24s %-24s %8.2f %8.2f  %s\n", tally_alert_code(a->kind), r->units[a->unit].code,
                   a->group >= 0 ? proto_group_code((ProtoGroup)a->group) : "-",
                   a->device >= 0 ? r->devices[a->device].id : "-", a->value, a->threshold, r->units[a->unit].name);
        }
    }
    int rc = r->n_alerts ? 1 : 0;
    tally_report_free(r);
    return rc;
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
        /* Migrates the restored file and tells the kiosks, through the next replies, to send again what the
         * backup does not hold (tally_db_mark_restored). */
        TallyDb *t = NULL;
        int64_t epoch, since;
        if((e = tally_db_open(db, &t, msg)) || (e = tally_db_mark_restored(t, &epoch, &since, msg))) {
            tally_db_close(t);
            return refuse(e, msg);
        }
        tally_db_close(t);
        printf("kiosks will send again what they were acknowledged from %lld on (epoch %lld) / các kiosk sẽ gửi "
               "lại các đánh giá được xác nhận từ thời điểm đó\n", (long long)since, (long long)epoch);
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
    if(argc >= 2 && strcmp(argv[1], "migrate") == 0)
        return admin_migrate(argc - 2, argv + 2);
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
    /* Only init creates a database: a mistyped --db elsewhere must not leave an empty file behind. (A PostgreSQL
     * database is made by its administrator; opening it makes or migrates the schema.) */
    if(strcmp(cmd, "init") != 0 && !tally_pg_is_uri(path) && access(path, F_OK) != 0) {
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
        /* Not a URI: it may carry a password. */
        printf("database %s is ready / cơ sở dữ liệu đã sẵn sàng\n", tally_pg_is_uri(path) ? "PostgreSQL" : path);
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
    } else if(strcmp(cmd, "viewer") == 0 && (ac == 3 || (ac == 5 && strcmp(av[3], "--unit") == 0)) &&
              strcmp(av[1], "add") == 0) {
        e = tally_viewer_add_scoped(db, av[2], ac == 5 ? av[4] : NULL, token, msg);
        rc = e ? refuse(e, msg) : (printf("%s\n", token), 0);
        if(!e)
            fprintf(stderr, "tally-admin: viewer %s added; the token above is shown only once / mã trên chỉ hiển thị "
                            "một lần\n", av[2]);
    } else if(strcmp(cmd, "viewer") == 0 && ac == 3 && strcmp(av[1], "password") == 0) {
        rc = viewer_password(db, av[2]);
    } else if(strcmp(cmd, "audit") == 0) {
        rc = audit(db, ac - 1, av + 1);
    } else if(strcmp(cmd, "alerts") == 0) {
        rc = alerts(db, ac - 1, av + 1);
    } else if(strcmp(cmd, "viewer") == 0 && ac == 3 && strcmp(av[1], "revoke") == 0) {
        e = tally_viewer_revoke(db, av[2], msg);
        rc = e ? refuse(e, msg) : (printf("viewer %s revoked / đã thu hồi quyền xem\n", av[2]), 0);
    } else if(strcmp(cmd, "report") == 0) {
        rc = admin_report(db, ac - 1, av + 1);
    } else if(strcmp(cmd, "letterhead") == 0) {
        rc = admin_letterhead(db, ac - 1, av + 1);
    } else if(strcmp(cmd, "targets") == 0 && ac >= 2) {
        rc = targets(db, ac - 1, av + 1);
    }
    if(rc == 2)
        usage(stderr);
    tally_db_close(db);
    return rc;
}
