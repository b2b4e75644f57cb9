/* tally_files.c — the report files (XLSX, PDF, CSV, JSON) say what GET /api/v1/tally says, and unit names
 * come out literally and inert.
 *
 * Arrange with real parts: a tally database with the sample Gia Lai tree plus hostile unit names, kiosks
 * enrolled by the real tally-admin, ratings over 2026 uploaded to the real tally-server on loopback. Act: make
 * every file twice — with `tally-admin report` and with tally_file_make() (what the dashboard's download
 * routes call). Assert: tests/integration/check_report_files.py opens them with independent readers
 * (/usr/bin/python3 with python3-openpyxl, pdftotext from poppler-utils, Python's csv and json) and compares
 * every figure with the API for the same filters.
 *
 * `tally_files --pg` (ctest tally_files_pg) does all of it with the tally in a throwaway PostgreSQL 15
 * cluster (tests/pg/pg-cluster) instead of a SQLite file: server, tally-admin and tally_file_make() on the
 * URI. Exit 77 (skip) when postgresql-15 is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sync/protocol.h"
#include "sync/tally/tally_export.h"
#include "tally_harness.h"

#define PY "/usr/bin/python3"
#define CHECKER TEST_SOURCE_DIR "/tests/integration/check_report_files.py"
#define SCRIPT_UNIT "000.00.31.H21.X01"
#define FORMULA_UNIT "000.00.31.H21.X02"
static const char *const HOSTILE_SCRIPT = "<script>alert(1)</script> \"Quầy\" & 'Một cửa'";
static const char *const HOSTILE_FORMULA = "=HYPERLINK(\"http://x\",\"y\")";

static TallyServer S;
static char viewer[65];
static bool on_pg; /* --pg */

/* One kiosk's year: `per_month` ratings in each month up to `months`, `pct_ok` of them satisfied. */
typedef struct {
    const char *device, *unit;
    ProtoArea   area;
    ProtoScale  scale;
    int         per_month, months, pct_ok;
} Kiosk;

static const Kiosk KIOSKS[] = {
    {"k-q01", "000.00.31.H21.Q01", AREA_DAT_DAI, SCALE_TTHC3, 40, 11, 96},     /* meets both milestones */
    {"k-q02", "000.00.31.H21.Q02", AREA_XAY_DUNG, SCALE_TTHC3, 36, 11, 80},    /* below 85 */
    {"k-bv01", "000.00.08.H21.BV01", AREA_Y_TE, SCALE_LIKERT5, 30, 11, 88},    /* likert5, between */
    {"k-gd", "000.00.09.H21.Q01", AREA_GIAO_DUC, SCALE_LIKERT5, 3, 11, 100},   /* too few: Chưa đủ mẫu */
    {"k-x01", SCRIPT_UNIT, AREA_TU_PHAP_HO_TICH, SCALE_TTHC3, 12, 11, 75},     /* the hostile names */
    {"k-x02", FORMULA_UNIT, AREA_KHAC, SCALE_TTHC3, 12, 11, 92},
    {"k-iasao", "000.01.23.H21.Q01", AREA_LAO_DONG_XA_HOI, SCALE_TTHC3, 20, 11, 90},
};

static void upload(const Kiosk *k, int index)
{
    char token[65];
    assert_true(th_device(&S, k->device, k->unit, token));
    size_t n = (size_t)(k->per_month * k->months);
    ProtoRating *r = calloc(n, sizeof *r);
    assert_non_null(r);
    int levels = k->scale == SCALE_LIKERT5 ? 5 : 3, good = k->scale == SCALE_LIKERT5 ? 4 : 2;
    for(size_t i = 0; i < n; i++) {
        int month = 1 + (int)(i / (size_t)k->per_month), j = (int)(i % (size_t)k->per_month);
        uint8_t rnd[10] = {(uint8_t)index, (uint8_t)i, (uint8_t)(i >> 8), 7};
        uuid_v7_make(r[i].id, 1767225600000ull + (uint64_t)index * 100000 + i, rnd);
        r[i].seq = (int64_t)i + 1;
        snprintf(r[i].unit, sizeof r[i].unit, "%s", k->unit);
        r[i].area = k->area;
        r[i].scale = k->scale;
        bool ok = j * 100 < k->pct_ok * k->per_month;
        r[i].score = ok ? (j % 2 ? levels : good) : 1;
        r[i].reasons = ok ? 0 : (1u << (j % REASON_COUNT)) | (j % 3 ? 0 : 1u << REASON_CHO_DOI);
        r[i].followup = ok ? FOLLOWUP_NONE : FOLLOWUP_ANSWERED;
        r[i].flags = i % 97 == 5 ? PROTO_FLAG_RAPID_REPEAT : 0;
        /* The later questions on some ratings: phuc_vu, the respondents view and the wait indicator have data. */
        r[i].service_score = i % 4 ? (j % 3 ? levels : 1) : 0;
        r[i].respondent = (ProtoRespondent)(i % 5 % RESPONDENT_COUNT);
        r[i].wait = (ProtoWait)(i % 4);
        snprintf(r[i].at, sizeof r[i].at, "2026-%02d-%02dT%02d:15:00+07:00", month, 1 + j % 28, 7 + j % 10);
    }
    char batch[UUID_TEXT_LEN];
    uint8_t rnd[10] = {(uint8_t)index, 1, 2, 3};
    uuid_v7_make(batch, 1790000000000ull + (uint64_t)index, rnd);
    char *body = proto_batch_dump(batch, k->device, "2026-11-30T21:00:00+07:00", r, n);
    ThResp resp = th_http(&S, "POST", "/api/v1/batches", token, "application/json", body, strlen(body), false);
    assert_int_equal(resp.status, 200);
    th_resp_free(&resp);
    free(body);
    free(r);
}

static int setup(void **state)
{
    (void)state;
    if(on_pg) {
        int rc = th_setup_pg(&S);
        if(rc == 77) {
            fprintf(stderr, "tally_files: SKIPPING: initdb not installed (scripts/bootstrap installs postgresql-15)\n");
            th_cleanup(&S);
            exit(77);
        }
        if(rc != 1)
            return -1;
    } else if(!th_setup_db(&S)) {
        return -1;
    }
    if(th_admin(&S, NULL, 0, "unit", "add", SCRIPT_UNIT, HOSTILE_SCRIPT, "--parent", "000.00.31.H21", (char *)NULL) ||
       th_admin(&S, NULL, 0, "unit", "add", FORMULA_UNIT, HOSTILE_FORMULA, "--parent", "000.00.31.H21", (char *)NULL) ||
       !th_viewer(&S, "files-viewer", viewer) || !th_start(&S))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_stop(&S);
    if(getenv("TALLY_FILES_KEEP")) { /* to look at the files: TALLY_FILES_KEEP=1 ctest -R tally_files -V */
        fprintf(stderr, "tally_files: files kept in %s\n", S.dir);
        S.dir[0] = '\0'; /* th_cleanup still stops a cluster */
    }
    th_cleanup(&S);
    return 0;
}

/* Runs the checker on one set of files; its output goes to the test log. */
static int check(const char *from, const char *to, const char *unit, const char *dir, const char *tag)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s %s --url %s --token %s --from %s --to %s --unit '%s' --dir %s --tag %s --hostile-script \"$H1\" "
             "--hostile-formula \"$H2\"",
             PY, CHECKER, S.url, viewer, from, to, unit, dir, tag);
    setenv("H1", HOSTILE_SCRIPT, 1);
    setenv("H2", HOSTILE_FORMULA, 1);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* tally-admin report for every format into dir/<tag>/. */
static void files_by_cli(const char *period, const char *unit, const char *dir)
{
    char out[8192];
    mkdir(dir, 0755);
    const char *u[2] = {"--unit", unit};
    for(int f = 0; f < TALLY_FILE_COUNT; f++) {
        const char *fmt = tally_file_format_code((TallyFileFormat)f);
        char path[600];
        snprintf(path, sizeof path, "%s/report.%s", dir, fmt);
        int rc = f == TALLY_FILE_CSV
                   ? th_admin(&S, out, sizeof out, "report", "--period", period, "--format", fmt, "--out", dir,
                              unit[0] ? u[0] : NULL, u[1], (char *)NULL)
                   : th_admin(&S, out, sizeof out, "report", "--period", period, "--format", fmt, "--out", path,
                              unit[0] ? u[0] : NULL, u[1], (char *)NULL);
        assert_int_equal(rc, 0);
        if(f == TALLY_FILE_CSV) {
            /* One file per view, named after the unit and the period. */
            assert_non_null(strstr(out, unit[0] ? unit : "toan-tinh"));
            assert_non_null(strstr(out, "_don-vi.csv"));
        }
    }
}

/* tally_file_make() — the dashboard's entry point — for every format into dir/. */
static void files_by_library(const char *period, const char *unit, const char *dir)
{
    mkdir(dir, 0755);
    TallyDb *db;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_db_open(S.db, &db, msg), TALLY_OK);
    TallyReportSpec spec = {.area = -1, .now_s = (int64_t)time(NULL)};
    assert_true(tally_period_parse(period, &spec.period));
    snprintf(spec.unit, sizeof spec.unit, "%s", unit);
    for(int f = 0; f < TALLY_FILE_COUNT; f++) {
        int views = f == TALLY_FILE_CSV ? TALLY_VIEW_COUNT : 1;
        for(int v = 0; v < views; v++) {
            TallyFile file;
            TallyErr e = tally_file_make(db, &spec, (TallyFileFormat)f, f == TALLY_FILE_CSV ? v : -1, &file, msg);
            if(e)
                fail_msg("tally_file_make %s: %s", tally_file_format_code((TallyFileFormat)f), msg);
            assert_string_equal(file.content_type, tally_file_content_type((TallyFileFormat)f));
            /* The name says the unit and the period, and is safe in a Content-Disposition header. */
            assert_non_null(strstr(file.name, unit[0] ? unit : "toan-tinh"));
            assert_true(strspn(file.name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                        strlen(file.name));
            char path[1024];
            if(f == TALLY_FILE_CSV)
                snprintf(path, sizeof path, "%s/%s", dir, file.name);
            else
                snprintf(path, sizeof path, "%s/report.%s", dir, tally_file_format_code((TallyFileFormat)f));
            FILE *fp = fopen(path, "wb");
            assert_non_null(fp);
            assert_int_equal(fwrite(file.data, 1, file.len, fp), file.len);
            fclose(fp);
            tally_file_free(&file);
        }
    }
    /* A CSV needs a view; a unit outside the tree is refused, nothing made. */
    TallyFile file;
    assert_int_equal(tally_file_make(db, &spec, TALLY_FILE_CSV, -1, &file, msg), TALLY_E_INVALID);
    assert_null(file.data);
    TallyReportSpec bad = spec;
    snprintf(bad.unit, sizeof bad.unit, "NO.SUCH.UNIT");
    assert_int_equal(tally_file_make(db, &bad, TALLY_FILE_PDF, -1, &file, msg), TALLY_E_NOT_FOUND);
    TallyReportSpec scoped = spec;
    snprintf(scoped.scope, sizeof scoped.scope, "000.00.08.H21");
    snprintf(scoped.unit, sizeof scoped.unit, "000.00.31.H21");
    assert_int_equal(tally_file_make(db, &scoped, TALLY_FILE_XLSX, -1, &file, msg), TALLY_E_SCOPE);
    assert_null(file.data);
    tally_db_close(db);
}

static void test_report_files_say_what_the_api_says(void **state)
{
    (void)state;
    for(size_t i = 0; i < sizeof KIOSKS / sizeof KIOSKS[0]; i++)
        upload(&KIOSKS[i], (int)i);
    struct {
        const char *period, *from, *to, *unit, *tag;
    } cases[] = {
        {"quy:2026-4", "2026-10-01", "2026-12-31", "", "province-q4"},
        {"nam:2026", "2026-01-01", "2026-12-31", "000.00.31.H21", "centre-year"},
    };
    for(size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/%s-cli", S.dir, cases[c].tag);
        files_by_cli(cases[c].period, cases[c].unit, dir);
        assert_int_equal(check(cases[c].from, cases[c].to, cases[c].unit, dir, cases[c].period), 0);
        snprintf(dir, sizeof dir, "%s/%s-lib", S.dir, cases[c].tag);
        files_by_library(cases[c].period, cases[c].unit, dir);
        assert_int_equal(check(cases[c].from, cases[c].to, cases[c].unit, dir, cases[c].period), 0);
    }
}

/* The command line refuses what it cannot do, and makes no file. */
static void test_report_command_refusals(void **state)
{
    (void)state;
    char out[4096], path[600];
    snprintf(path, sizeof path, "%s/never.pdf", S.dir);
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--period", "quy:2026-5", "--format", "pdf", "--out", path,
                              (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--period", "nam:2026", "--format", "docx", "--out", path,
                              (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--period", "nam:2026", "--unit", "NO.SUCH", "--format", "pdf",
                              "--out", path, (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--period", "nam:2026", "--format", "pdf", "--view", "don-vi",
                              "--out", path, (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--period", "nam:2026", "--from", "2026-01-01", "--format", "pdf",
                              "--out", path, (char *)NULL), 1);
    assert_int_equal(access(path, F_OK), -1);
    /* Dates that are exactly a quarter get the quarter's name; the table output is the model's. */
    assert_int_equal(th_admin(&S, out, sizeof out, "report", "--from", "2026-10-01", "--to", "2026-12-31",
                              (char *)NULL), 0);
    assert_non_null(strstr(out, "Quý IV năm 2026"));
    assert_non_null(strstr(out, "Giải quyết thủ tục hành chính"));
    /* The letterhead: set, shown, used, reset; an unknown key is refused. */
    assert_int_equal(th_admin(&S, NULL, 0, "letterhead", "set", "issuer", "UBND XÃ IA SAO", (char *)NULL), 0);
    assert_int_equal(th_admin(&S, out, sizeof out, "letterhead", "show", (char *)NULL), 0);
    assert_non_null(strstr(out, "UBND XÃ IA SAO"));
    assert_int_equal(th_admin(&S, NULL, 0, "letterhead", "set", "colour", "red", (char *)NULL), 1);
    assert_int_equal(th_admin(&S, NULL, 0, "letterhead", "set", "place", "", (char *)NULL), 1);
    snprintf(path, sizeof path, "%s/lh.pdf", S.dir);
    assert_int_equal(th_admin(&S, NULL, 0, "report", "--period", "nam:2026", "--format", "pdf", "--out", path,
                              (char *)NULL), 0);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "pdftotext %s - | grep -q 'UBND XÃ IA SAO'", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(th_admin(&S, NULL, 0, "letterhead", "reset", "issuer", (char *)NULL), 0);
    assert_int_equal(th_admin(&S, out, sizeof out, "letterhead", (char *)NULL), 0);
    assert_non_null(strstr(out, "SỞ NỘI VỤ"));
}

int main(int argc, char **argv)
{
    if(argc > 2 || (argc == 2 && strcmp(argv[1], "--pg") != 0)) {
        fprintf(stderr, "usage: %s [--pg]\n", argv[0]);
        return 2;
    }
    on_pg = argc == 2;
    fprintf(stderr, "tally_files: the tally on %s\n", on_pg ? "PostgreSQL" : "SQLite");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_files_say_what_the_api_says),
        cmocka_unit_test(test_report_command_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
