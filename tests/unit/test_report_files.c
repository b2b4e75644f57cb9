/* test_report_files.c — the report-file renderers' own rules, on a report model made by hand: CSV injection
 * neutralised for every dangerous first character (tab and CR included, which a unit name cannot carry),
 * bytes that are not UTF-8 replaced in every format, Vietnamese number style, file names. The figures
 * themselves are checked against the API by tests/integration/tally_files.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync/tally/tally_export.h"
#include "sync/tally/tally_text.h"

static const char *const NAMES[] = {
    "=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3 Quầy", "@SUM(A1)", "\tQuầy tab", "\rQuầy CR",
    "Quầy \"một\" cửa, Ia Sao", "bad \xC3\x28 utf8 \xFF end", "Xã Ia Sao – Bộ phận Một cửa",
};
enum { N_NAMES = sizeof NAMES / sizeof NAMES[0] };

/* A report of one root and one child per name, with a figure or two. */
static TallyReport *make_report(void)
{
    TallyReport *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_true(tally_period_make(TALLY_PERIOD_QUARTER, 2026, 4, &r->period));
    r->area = -1;
    r->min_n = 30;
    r->generated_at = 1796000000;
    r->parts = TALLY_PART_ALL;
    r->trend_year = 2026;
    snprintf(r->scope_name, sizeof r->scope_name, "Toàn tỉnh");
    snprintf(r->unit_name, sizeof r->unit_name, "Toàn tỉnh");
    r->n_units = 1 + N_NAMES;
    r->units = calloc(r->n_units, sizeof *r->units);
    assert_non_null(r->units);
    snprintf(r->units[0].code, sizeof r->units[0].code, "000.00.00.H21");
    snprintf(r->units[0].name, sizeof r->units[0].name, "UBND tỉnh Gia Lai");
    r->units[0].parent = -1;
    r->units[0].n_children = N_NAMES;
    for(int i = 0; i < N_NAMES; i++) {
        TallyReportUnit *u = &r->units[1 + i];
        snprintf(u->code, sizeof u->code, "000.00.00.H21.X%02d", i);
        snprintf(u->name, sizeof u->name, "%s", NAMES[i]);
        u->parent = 0;
        u->depth = 1;
        u->fig[0] = (TallyFigure){.n = 40, .satisfied = 37, .pct = 92.5, .wilson_low = 80.1, .wilson_high = 97.4,
                                  .status = {TALLY_STATUS_DAT, TALLY_STATUS_KHONG_DAT}};
    }
    for(int g = 0; g < GROUP_COUNT; g++) {
        r->groups[g].group = g;
        r->groups[g].target[0] = 90, r->groups[g].target[1] = 95;
        r->groups[g].cur.status[0] = r->groups[g].cur.status[1] = TALLY_STATUS_CHUA_DU_MAU;
    }
    for(int a = 0; a < AREA_COUNT; a++)
        r->areas[a].area = a, r->areas[a].group = proto_area_group((ProtoArea)a);
    for(int k = 0; k < REASON_COUNT; k++)
        r->reasons[k].reason = k;
    return r;
}

static void free_report(TallyReport *r)
{
    free(r->units);
    free(r);
}

static void test_csv_neutralises_every_formula_start_and_keeps_the_text(void **state)
{
    (void)state;
    TallyReport *r = make_report();
    TallyFile f;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_file_render(r, NULL, TALLY_FILE_CSV, TALLY_VIEW_UNITS, &f, msg), TALLY_OK);
    static const char head[] = "\xEF\xBB\xBF\"Mã định danh\",\"Tên đơn vị\",";
    assert_memory_equal(f.data, head, sizeof head - 1);
    assert_non_null(strstr(f.data, "\r\n"));
    assert_non_null(strstr(f.data, ",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","));
    assert_non_null(strstr(f.data, ",\"'+1+2\","));
    assert_non_null(strstr(f.data, ",\"'-2+3 Quầy\","));
    assert_non_null(strstr(f.data, ",\"'@SUM(A1)\","));
    assert_non_null(strstr(f.data, ",\"'\tQuầy tab\","));
    assert_non_null(strstr(f.data, ",\"'\rQuầy CR\","));
    assert_non_null(strstr(f.data, ",\"Quầy \"\"một\"\" cửa, Ia Sao\","));
    assert_non_null(strstr(f.data, ",\"Xã Ia Sao – Bộ phận Một cửa\","));
    /* Not UTF-8: each bad byte becomes U+FFFD, the rest is kept. */
    assert_non_null(strstr(f.data, ",\"bad \xEF\xBF\xBD( utf8 \xEF\xBF\xBD end\","));
    /* No cell starts bare with a formula character: only our numbers are bare. */
    for(const char *p = f.data; (p = strchr(p, ',')); p++)
        assert_true(!strchr("=+@\t\r", p[1]) || p[1] == '\0');
    /* Figures: a percentage with two decimals and a point, the count bare. */
    assert_non_null(strstr(f.data, ",92.50,40,\"Đạt\",\"Không đạt\","));
    assert_string_equal(f.content_type, "text/csv; charset=utf-8");
    assert_string_equal(f.name, "bao-cao-hai-long_toan-tinh_quy-2026-4_don-vi.csv");
    tally_file_free(&f);
    free_report(r);
}

static void test_every_format_renders_names_that_are_not_utf8(void **state)
{
    (void)state;
    TallyReport *r = make_report();
    char msg[TALLY_MSG_MAX];
    for(int fmt = 0; fmt < TALLY_FILE_COUNT; fmt++) {
        TallyFile f;
        TallyErr e = tally_file_render(r, NULL, (TallyFileFormat)fmt, fmt == TALLY_FILE_CSV ? TALLY_VIEW_RANKING : -1,
                                       &f, msg);
        if(e)
            fail_msg("%s: %s", tally_file_format_code((TallyFileFormat)fmt), msg);
        assert_true(f.len > 0);
        if(fmt == TALLY_FILE_JSON)
            assert_non_null(strstr(f.data, "bad \xEF\xBF\xBD( utf8"));
        if(fmt == TALLY_FILE_XLSX)
            assert_memory_equal(f.data, "PK", 2);
        if(fmt == TALLY_FILE_PDF)
            assert_memory_equal(f.data, "%PDF-", 5);
        tally_file_free(&f);
    }
    /* A CSV is one view; a report built without a file's parts is refused. */
    TallyFile f;
    assert_int_equal(tally_file_render(r, NULL, TALLY_FILE_CSV, -1, &f, msg), TALLY_E_INVALID);
    r->parts = TALLY_PART_GROUPS;
    assert_int_equal(tally_file_render(r, NULL, TALLY_FILE_XLSX, -1, &f, msg), TALLY_E_INVALID);
    assert_null(f.data);
    free_report(r);
}

static void test_vietnamese_number_style(void **state)
{
    (void)state;
    char b[32];
    tally_fmt_int_vi(5000000, b, sizeof b);
    assert_string_equal(b, "5.000.000");
    tally_fmt_int_vi(999, b, sizeof b);
    assert_string_equal(b, "999");
    tally_fmt_int_vi(-1240, b, sizeof b);
    assert_string_equal(b, "-1.240");
    tally_fmt_dec_vi(92.745, 2, b, sizeof b);
    assert_string_equal(b, "92,75");
    tally_fmt_dec_vi(3.125, 2, b, sizeof b); /* half away from zero, as the API rounds */
    assert_string_equal(b, "3,13");
    tally_fmt_dec_vi(1234.5, 1, b, sizeof b);
    assert_string_equal(b, "1.234,5");
    tally_fmt_dec_vi(-0.001, 2, b, sizeof b);
    assert_string_equal(b, "0,00");
    tally_fmt_dec_vi(-0.06, 2, b, sizeof b);
    assert_string_equal(b, "-0,06");
}

static void test_utf8_clean_never_splits_a_character(void **state)
{
    (void)state;
    char out[6];
    tally_utf8_clean("Quầy", strlen("Quầy"), out, sizeof out); /* "Qu" + 3-byte "ầ" = 5 bytes + NUL fit; "y" not */
    assert_string_equal(out, "Quầ");
    char small[5];
    tally_utf8_clean("Quầy", strlen("Quầy"), small, sizeof small);
    assert_string_equal(small, "Qu");
    char big[64];
    const char *bad = "\xE0\x80\xAF overlong \xED\xA0\x80 surrogate";
    tally_utf8_clean(bad, strlen(bad), big, sizeof big);
    assert_null(strchr(big, '\xE0'));
    assert_null(strstr(big, "\xED\xA0\x80"));
}

static void test_file_names_say_unit_period_area_and_view(void **state)
{
    (void)state;
    TallyReport *r = make_report();
    char name[TALLY_FILE_NAME_MAX];
    snprintf(r->unit_code, sizeof r->unit_code, "000.00.31.H21");
    tally_file_name(r, TALLY_FILE_PDF, TALLY_VIEW_UNITS, name);
    assert_string_equal(name, "bao-cao-hai-long_000.00.31.H21_quy-2026-4.pdf");
    assert_true(tally_period_parse("2026-01-05..2026-02-10", &r->period));
    r->area = AREA_DAT_DAI;
    tally_file_name(r, TALLY_FILE_CSV, TALLY_VIEW_ALERTS, name);
    assert_string_equal(name, "bao-cao-hai-long_000.00.31.H21_2026-01-05_2026-02-10_dat_dai_canh-bao.csv");
    assert_int_equal(tally_view_from_code("don-vi"), TALLY_VIEW_UNITS);
    assert_int_equal(tally_view_from_code("units"), TALLY_VIEW_UNITS);
    assert_int_equal(tally_view_from_code("x"), -1);
    free_report(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_neutralises_every_formula_start_and_keeps_the_text),
        cmocka_unit_test(test_every_format_renders_names_that_are_not_utf8),
        cmocka_unit_test(test_vietnamese_number_style),
        cmocka_unit_test(test_utf8_clean_never_splits_a_character),
        cmocka_unit_test(test_file_names_say_unit_period_area_and_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
