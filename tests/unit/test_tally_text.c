/* What the tally server does with text it did not write: the strict query-string parser of GET /api/v1/tally
 * (a 400 naming the parameter), the form decoder under it, the UTF-8 cleaning of every error reply, the
 * escaping of every log line, and the unit CSV parser (NUL bytes and non-UTF-8 names named by line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sync/tally/tally_db.h"
#include "sync/tally/tally_form.h"
#include "sync/tally/tally_query.h"
#include "sync/tally/tally_text.h"

static TallyErr parse(const char *q, TallySpec *s, TallyQueryError *e)
{
    return tally_query_parse(q, strlen(q), s, e);
}

static void expect_refused(const char *q, const char *code, const char *param)
{
    TallySpec s;
    TallyQueryError e;
    if(parse(q, &s, &e) != TALLY_E_INVALID)
        fail_msg("accepted \"%s\"", q);
    if(strcmp(e.code, code) != 0 || strcmp(e.param, param) != 0)
        fail_msg("\"%s\": got %s naming \"%s\", want %s naming \"%s\" (%s)", q, e.code, e.param, code, param, e.msg);
    assert_true(tally_utf8_valid(e.msg, strlen(e.msg)) && e.msg[0]);
}

static void test_a_well_formed_query_fills_the_spec(void **state)
{
    (void)state;
    TallySpec s;
    TallyQueryError e;
    assert_int_equal(parse("from=2026-01-01&to=2026-12-31&unit=000.00.31.H21&area=dat_dai&by=unit,area&min_n=10",
                           &s, &e), TALLY_OK);
    int64_t d;
    assert_true(ptime_parse_date("2026-01-01", &d));
    assert_int_equal(s.from_day, d);
    assert_string_equal(s.unit, "000.00.31.H21");
    assert_int_equal(s.area, AREA_DAT_DAI);
    assert_int_equal(s.n_by, 2);
    assert_int_equal(s.by[0], TALLY_BY_UNIT);
    assert_int_equal(s.by[1], TALLY_BY_AREA);
    assert_int_equal(s.min_n, 10);
    /* Defaults, and escapes that decode to the same text. */
    assert_int_equal(parse("to=2026%2D12%2D31&from=2026-01-01", &s, &e), TALLY_OK);
    assert_int_equal(s.area, -1);
    assert_int_equal(s.n_by, 0);
    assert_int_equal(s.min_n, TALLY_MIN_N_DEFAULT);
    assert_string_equal(s.unit, "");
    assert_int_equal(s.respondent, RESPONDENT_NONE);
    /* Who rated: a filter, and a dimension. */
    assert_int_equal(parse("from=2026-01-01&to=2026-12-31&respondent=doanh_nghiep&by=respondent,group", &s, &e),
                     TALLY_OK);
    assert_int_equal(s.respondent, RESPONDENT_DOANH_NGHIEP);
    assert_int_equal(s.n_by, 2);
    assert_int_equal(s.by[0], TALLY_BY_RESPONDENT);
    assert_int_equal(s.by[1], TALLY_BY_GROUP);
}

static void test_every_loose_query_is_a_400_naming_its_parameter(void **state)
{
    (void)state;
    const char *ok = "from=2026-01-01&to=2026-12-31";
    char q[256];
    expect_refused("to=2026-12-31", "bad_value", "from");
    expect_refused("from=2026-01-01&to=2026-01-31&to=not-a-date", "bad_value", "to");    /* repeated */
    expect_refused("from=2026-01-01&from=2026-01-01&to=2026-01-31", "bad_value", "from"); /* repeated, equal */
    snprintf(q, sizeof q, "%s&by=area,,unit,", ok);
    expect_refused(q, "bad_value", "by");
    snprintf(q, sizeof q, "%s&by=area,", ok);
    expect_refused(q, "bad_value", "by");
    snprintf(q, sizeof q, "%s&by=area,area", ok);
    expect_refused(q, "bad_value", "by");
    snprintf(q, sizeof q, "%s&min_n=+5", ok);
    expect_refused(q, "bad_value", "min_n");
    snprintf(q, sizeof q, "%s&min_n=%%205", ok); /* a space */
    expect_refused(q, "bad_value", "min_n");
    snprintf(q, sizeof q, "%s&min_n=-5", ok);
    expect_refused(q, "bad_value", "min_n");
    snprintf(q, sizeof q, "%s&min_n=0", ok);
    expect_refused(q, "bad_value", "min_n");
    snprintf(q, sizeof q, "%s&unit=", ok); /* empty */
    expect_refused(q, "bad_value", "unit");
    snprintf(q, sizeof q, "%s&&area=y_te", ok); /* empty pair */
    expect_refused(q, "bad_value", "");
    snprintf(q, sizeof q, "%s&area=thue", ok);
    expect_refused(q, "unknown_area", "area");
    snprintf(q, sizeof q, "%s&respondent=ai_do", ok);
    expect_refused(q, "unknown_respondent", "respondent");
    snprintf(q, sizeof q, "%s&respondent=khong_tra_loi", ok); /* by=respondent's key, not a filter */
    expect_refused(q, "unknown_respondent", "respondent");
    snprintf(q, sizeof q, "%s&respondent=", ok);
    expect_refused(q, "bad_value", "respondent");
    snprintf(q, sizeof q, "%s&respondent=nguoi_dan&respondent=nguoi_dan", ok); /* repeated, equal */
    expect_refused(q, "bad_value", "respondent");
    snprintf(q, sizeof q, "%s&by=respondent,respondent", ok);
    expect_refused(q, "bad_value", "by");
    snprintf(q, sizeof q, "%s&limit=5", ok);
    expect_refused(q, "unknown_field", "limit");
    expect_refused("from=2026-01-01%00x&to=2026-12-31", "bad_value", "from"); /* NUL */
    expect_refused("from=2026-01-01&to=2026-12-31&x=%zz", "bad_value", "x");  /* bad escape */
    expect_refused("from=2026-12-31&to=2026-01-01", "bad_value", "from");
    /* A name that is not UTF-8 comes back cleaned, never raw. */
    expect_refused("%FF=1", "bad_value", "\xef\xbf\xbd");
    expect_refused("from=2026-01-01&to=2026-12-31&%E1%BB=1", "bad_value", "\xef\xbf\xbd\xef\xbf\xbd");
    snprintf(q, sizeof q, "%s&t%%C3%%AAn=1", ok); /* "tên": valid UTF-8, unknown */
    expect_refused(q, "unknown_field", "t\xc3\xaan");
}

static void test_form_pairs_decode_strictly(void **state)
{
    (void)state;
    TallyForm f;
    char bad[TALLY_FORM_NAME_SHOWN + 4];
    const char *t = "a=1&b=x+y%21&c&d=";
    assert_int_equal(tally_form_parse(t, strlen(t), &f, bad), TALLY_FORM_OK);
    assert_int_equal(f.n, 4);
    assert_string_equal(tally_form_get(&f, "b"), "x y!");
    assert_string_equal(tally_form_get(&f, "c"), "");
    assert_string_equal(tally_form_get(&f, "d"), "");
    assert_null(tally_form_get(&f, "e"));
    t = "a=1&a=2";
    assert_int_equal(tally_form_parse(t, strlen(t), &f, bad), TALLY_FORM_E_REPEATED);
    assert_string_equal(bad, "a");
    t = "a=%";
    assert_int_equal(tally_form_parse(t, strlen(t), &f, bad), TALLY_FORM_E_SYNTAX);
    char many[TALLY_FORM_MAX * 4 + 8] = "";
    for(int i = 0; i <= TALLY_FORM_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s%c", i ? "&" : "", 'A' + i % 26 + (i / 26) * 0);
    assert_int_not_equal(tally_form_parse(many, strlen(many), &f, bad), TALLY_FORM_OK);
}

static void test_error_text_is_always_valid_utf8(void **state)
{
    (void)state;
    char out[64];
    /* A long unknown key cut inside a multi-byte character, a stray continuation byte, an overlong '/'. */
    static const char cut[] = "kh\xc3\xb4ng-h\xe1\xbb";
    size_t n = tally_utf8_clean(cut, sizeof cut - 1, out, sizeof out);
    assert_true(tally_utf8_valid(out, n));
    assert_string_equal(out, "kh\xc3\xb4ng-h\xef\xbf\xbd\xef\xbf\xbd");
    n = tally_utf8_clean("\x80x\xc0\xaf", 4, out, sizeof out);
    assert_string_equal(out, "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd");
    /* Never cut inside a character when out is small. */
    n = tally_utf8_clean("\xe1\xbb\x87\xe1\xbb\x87", 6, out, 6);
    assert_int_equal(n, 3);
    assert_string_equal(out, "\xe1\xbb\x87");
}

static void test_log_text_cannot_forge_a_line(void **state)
{
    (void)state;
    char out[128];
    static const char forged[] = "/healthz\ntally-server: POST /api/v1/batches 200 device=FORGED \"x\" \\";
    tally_log_escape(forged, sizeof forged - 1, out, sizeof out);
    assert_null(strchr(out, '\n'));
    assert_string_equal(out, "/healthz\\x0atally-server: POST /api/v1/batches 200 device=FORGED \\\"x\\\" \\\\");
    tally_log_escape("\r\x1b[31m\xff", 7, out, sizeof out);
    assert_string_equal(out, "\\x0d\\x1b[31m\\xff");
    char small[8];
    tally_log_escape("abcdefghij", 10, small, sizeof small);
    assert_string_equal(small, "abcd...");
}

typedef struct {
    int n;
    char last[256];
} Units;

static TallyErr count_unit(const char *code, const char *name, const char *parent, void *ud, char msg[TALLY_MSG_MAX])
{
    (void)parent;
    (void)msg;
    Units *u = ud;
    u->n++;
    snprintf(u->last, sizeof u->last, "%s=%s", code, name);
    return TALLY_OK;
}

static void test_unit_csv_names_the_line_of_a_nul_or_a_name_that_is_not_utf8(void **state)
{
    (void)state;
    char msg[TALLY_MSG_MAX];
    Units u = {0};
    static const char good[] = "code,name,parent\nA,T\xe1\xbb\x89nh,\nA.1,\"Qu\xe1\xba\xa7y 1, t\xe1\xba\xa7ng 2\",A\n";
    assert_int_equal(tally_unit_csv_parse(good, sizeof good - 1, "u.csv", count_unit, &u, msg), TALLY_OK);
    assert_int_equal(u.n, 2);
    assert_string_equal(u.last, "A.1=Qu\xe1\xba\xa7y 1, t\xe1\xba\xa7ng 2");
    static const char nul[] = "A,T\xe1\xbb\x89nh,\nA.1,Qu\xe1\xba\xa7y\0 hidden,A\n";
    u.n = 0;
    assert_int_equal(tally_unit_csv_parse(nul, sizeof nul - 1, "u.csv", count_unit, &u, msg), TALLY_E_INVALID);
    assert_non_null(strstr(msg, "u.csv:2:"));
    assert_non_null(strstr(msg, "NUL"));
    assert_int_equal(u.n, 1);
    static const char latin1[] = "A,T\xe1\xbb\x89nh,\nA.1,Ph\xf2ng,A\n";
    u.n = 0;
    assert_int_equal(tally_unit_csv_parse(latin1, sizeof latin1 - 1, "u.csv", count_unit, &u, msg), TALLY_E_INVALID);
    assert_non_null(strstr(msg, "u.csv:2:"));
    assert_non_null(strstr(msg, "UTF-8"));
    /* A NUL after 1 KiB of text still names its line (it used to hide the line's length). */
    char big[1200];
    memset(big, 'x', sizeof big);
    memcpy(big, "A,", 2);
    big[1100] = '\0';
    big[sizeof big - 1] = '\n';
    assert_int_equal(tally_unit_csv_parse(big, sizeof big, "u.csv", count_unit, &u, msg), TALLY_E_INVALID);
    assert_non_null(strstr(msg, "u.csv:1:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_well_formed_query_fills_the_spec),
        cmocka_unit_test(test_every_loose_query_is_a_400_naming_its_parameter),
        cmocka_unit_test(test_form_pairs_decode_strictly),
        cmocka_unit_test(test_error_text_is_always_valid_utf8),
        cmocka_unit_test(test_log_text_cannot_forge_a_line),
        cmocka_unit_test(test_unit_csv_names_the_line_of_a_nul_or_a_name_that_is_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
