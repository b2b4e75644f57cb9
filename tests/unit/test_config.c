/* kiosk.ini: every key lands in its field, defaults fill the rest, relative paths are resolved against the
 * config file's folder, and every typo or bad value is an error that names its line and key. */
#define _GNU_SOURCE
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kiosk/config.h"
#include "testutil.h"

typedef struct {
    char dir[256];
    char path[320];
    char msg[512];
} Fixture;

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof *f);
    if(!f || !tu_mkdtemp(f->dir, sizeof f->dir, "test_config")) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/kiosk.ini", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static ConfigErr load(Fixture *f, const char *text, KioskConfig *c)
{
    write_file(f->path, text);
    f->msg[0] = '\0';
    return config_load(f->path, c, f->msg, sizeof f->msg);
}

#define MINIMAL "[kiosk]\ndevice_id = kiosk-01\nunit_code = 000.00.31.H21\nareas = dat_dai\ndatabase = kiosk.db\n"

static void test_every_key_is_parsed(void **state)
{
    Fixture *f = *state;
    KioskConfig c;
    const char *text =
        "\xef\xbb\xbf; a kiosk at the one-stop counter\n"
        "[kiosk]\n"
        "device_id = kiosk-gl-01\n"
        "unit_code = 000.00.31.H21\n"
        "unit_name = Bộ phận Một cửa UBND phường Pleiku\n"
        "areas = tu_phap_ho_tich, dat_dai ,xay_dung,y_te\n"
        "scale = likert5\n"
        "database = /var/lib/kiosk/kiosk.db\n"
        "idle_timeout_s = 45  ; seconds\n"
        "keep_days = 730\n"
        "ask_service = yes\n"
        "ask_respondent = Yes\n"
        "ask_wait = true\n"
        "voice = on\n"
        "language = en\n"
        "supervisor_pin_hash = $argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$aGFzaA\n"
        "\n"
        "# sync with Sở Nội vụ\n"
        "[sync]\n"
        "url = https://tally.gialai.gov.vn/api/v1/\n"
        "token_file = /etc/kiosk/token\n"
        "ca_file = /etc/kiosk/ca.pem\n"
        "schedule = 21:35\n"
        "jitter_min = 15\n"
        "interval_min = 30\n";
    assert_int_equal(load(f, text, &c), CONFIG_OK);
    assert_string_equal(f->msg, "");
    assert_string_equal(c.device_id, "kiosk-gl-01");
    assert_string_equal(c.unit_code, "000.00.31.H21");
    assert_string_equal(c.unit_name, "Bộ phận Một cửa UBND phường Pleiku");
    assert_int_equal(c.n_areas, 4);
    assert_int_equal(c.areas[0], AREA_TU_PHAP_HO_TICH);
    assert_int_equal(c.areas[1], AREA_DAT_DAI);
    assert_int_equal(c.areas[2], AREA_XAY_DUNG);
    assert_int_equal(c.areas[3], AREA_Y_TE);
    assert_int_equal(c.scale, SCALE_LIKERT5);
    assert_string_equal(c.database, "/var/lib/kiosk/kiosk.db");
    assert_int_equal(c.idle_timeout_s, 45);
    assert_int_equal(c.keep_days, 730);
    assert_true(c.ask_service && c.ask_respondent && c.ask_wait && c.voice);
    assert_string_equal(c.language, "en");
    assert_string_equal(c.supervisor_pin_hash, "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$aGFzaA");
    assert_string_equal(c.sync_url, "https://tally.gialai.gov.vn/api/v1");
    assert_string_equal(c.token_file, "/etc/kiosk/token");
    assert_string_equal(c.ca_file, "/etc/kiosk/ca.pem");
    assert_int_equal(c.schedule_min, 21 * 60 + 35);
    assert_int_equal(c.jitter_min, 15);
    assert_int_equal(c.interval_min, 30);
}

static void test_defaults_fill_what_is_not_set(void **state)
{
    Fixture *f = *state;
    KioskConfig c;
    memset(&c, 0x5a, sizeof c);
    assert_int_equal(load(f, MINIMAL, &c), CONFIG_OK);
    assert_int_equal(c.scale, SCALE_TTHC3);
    assert_int_equal(c.idle_timeout_s, 20);
    assert_int_equal(c.keep_days, 400);
    assert_false(c.ask_service || c.ask_respondent || c.ask_wait || c.voice); /* the flow as before */
    assert_string_equal(c.language, "vi");
    assert_int_equal(c.schedule_min, 120);
    assert_int_equal(c.jitter_min, 60);
    assert_int_equal(c.interval_min, 0);
    assert_string_equal(c.unit_name, "");
    assert_string_equal(c.supervisor_pin_hash, "");
    assert_string_equal(c.sync_url, "");
    assert_string_equal(c.token_file, "");
    assert_string_equal(c.ca_file, "");
}

static void test_relative_paths_resolve_against_the_config_folder(void **state)
{
    Fixture *f = *state;
    KioskConfig c;
    char sub[300], ini[400], want[PATH_MAX + 64];
    snprintf(sub, sizeof sub, "%s/etc", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(ini, sizeof ini, "%s/kiosk.ini", sub);
    write_file(ini, "[kiosk]\ndevice_id = k1\nunit_code = u1\nareas = khac\ndatabase = ../data/kiosk.db\n"
                    "[sync]\ntoken_file = token\nca_file = certs/ca.pem\n");
    /* Loaded by a relative path from another working folder: the result is still absolute. */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    ConfigErr e = config_load("etc/kiosk.ini", &c, f->msg, sizeof f->msg);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(e, CONFIG_OK);

    char real[PATH_MAX];
    assert_non_null(realpath(sub, real));
    snprintf(want, sizeof want, "%s/../data/kiosk.db", real);
    assert_string_equal(c.database, want);
    snprintf(want, sizeof want, "%s/token", real);
    assert_string_equal(c.token_file, want);
    snprintf(want, sizeof want, "%s/certs/ca.pem", real);
    assert_string_equal(c.ca_file, want);
    assert_true(c.database[0] == '/');
}

/* Each bad file must fail with `err` and a message that names `line` and contains `needle`. */
static void expect_error(Fixture *f, const char *text, ConfigErr err, int line, const char *needle)
{
    KioskConfig c;
    ConfigErr e = load(f, text, &c);
    if(e != err)
        fail_msg("expected error %d, got %d (%s) for:\n%s", err, e, f->msg, text);
    if(line > 0) {
        char want[32];
        snprintf(want, sizeof want, "line %d:", line);
        if(!strstr(f->msg, want))
            fail_msg("message \"%s\" does not name %s", f->msg, want);
    }
    if(!strstr(f->msg, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", f->msg, needle);
    /* A failed load leaves nothing half-set. */
    assert_string_equal(c.device_id, "");
    assert_int_equal(c.n_areas, 0);
}

static void test_unknown_keys_and_sections_name_their_line(void **state)
{
    Fixture *f = *state;
    expect_error(f, MINIMAL "idle_timeout = 30\n", CONFIG_UNKNOWN_KEY, 6, "idle_timeout");
    expect_error(f, MINIMAL "[sync]\nurl = https://a/b\nshedule = 02:00\n", CONFIG_UNKNOWN_KEY, 8, "shedule");
    KioskConfig c;
    assert_int_equal(load(f, MINIMAL "[kiosk]\nscale = likert5\n", &c), CONFIG_OK); /* a repeated header is fine */
    assert_int_equal(c.scale, SCALE_LIKERT5);
    /* An indented key is a key, not the continuation of the value above it. */
    assert_int_equal(load(f, "[kiosk]\n  device_id = k\n\tunit_code = u\n  areas = y_te\ndatabase = d.db\n", &c), CONFIG_OK);
    assert_string_equal(c.unit_code, "u");
    assert_int_equal(c.n_areas, 1);
    assert_int_equal(c.areas[0], AREA_Y_TE);
    expect_error(f, MINIMAL "[display]\n", CONFIG_UNKNOWN_KEY, 6, "[display]");
    expect_error(f, MINIMAL "[display]\nwidth = 800\n", CONFIG_UNKNOWN_KEY, 6, "display");
    expect_error(f, "device_id = k1\n" MINIMAL, CONFIG_UNKNOWN_KEY, 1, "device_id");
    expect_error(f, MINIMAL "[kiosk]\nurl = https://a/b\n", CONFIG_UNKNOWN_KEY, 7, "url");
}

static void test_bad_values_name_their_line_and_key(void **state)
{
    Fixture *f = *state;
    static const struct {
        const char *line, *needle;
    } cases[] = {
        {"scale = tthc5", "scale"},
        {"scale =", "scale"},
        {"areas = dat_dai, dat_dia", "dat_dia"},
        {"areas = dat_dai, y_te, dat_dai", "listed twice"},
        {"areas = dat_dai,,y_te", "empty item"},
        {"areas =", "areas"},
        {"idle_timeout_s = -5", "idle_timeout_s"},
        {"idle_timeout_s = 20s", "idle_timeout_s"},
        {"idle_timeout_s = 99999999999999999999", "idle_timeout_s"},
        {"keep_days = 29", "keep_days"},
        {"keep_days = 3651", "keep_days"},
        {"ask_service = maybe", "ask_service"},
        {"ask_respondent =", "ask_respondent"},
        {"ask_wait = 2", "ask_wait"},
        {"voice = có", "voice"},
        {"language = ../en", "language"},
        {"language = EN", "language"},
        {"language = v", "language"},
        {"device_id = kiosk 01", "device_id"},
        {"unit_code = ", "unit_code"},
        {"supervisor_pin_hash = 1234", "supervisor_pin_hash"},
        {"database =", "database"},
        {"[sync]\nschedule = 25:00", "schedule"},
        {"[sync]\nschedule = 7:30", "schedule"},
        {"[sync]\nschedule = 02:60", "schedule"},
        {"[sync]\njitter_min = -1", "jitter_min"},
        {"[sync]\ninterval_min = often", "interval_min"},
        {"[sync]\nurl = ftp://tally/api", "url"},
        {"[sync]\nurl = https://", "url"},
        {"[sync]\nurl = https:///api", "no host"},
    };
    for(size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "[kiosk]\ndevice_id = k\nunit_code = u\ndatabase = d.db\n%s\n%s\n",
                 strncmp(cases[i].line, "areas", 5) ? "areas = khac" : "", cases[i].line);
        /* The bad key is on line 6, or 7 after a [sync] header. */
        int line = strchr(cases[i].line, '\n') ? 7 : 6;
        if(strncmp(cases[i].line, "device_id", 9) == 0 || strncmp(cases[i].line, "unit_code", 9) == 0 ||
           strncmp(cases[i].line, "database", 8) == 0) {
            /* Set twice would be the error; put it alone instead. */
            snprintf(text, sizeof text, "[kiosk]\nareas = khac\n%s\n", cases[i].line);
            line = 3;
        }
        expect_error(f, text, CONFIG_BAD_VALUE, line, cases[i].needle);
    }
}

static void test_missing_required_keys_are_named(void **state)
{
    Fixture *f = *state;
    expect_error(f, "[kiosk]\nunit_code = u\nareas = khac\ndatabase = d.db\n", CONFIG_MISSING, 0, "device_id");
    expect_error(f, "[kiosk]\ndevice_id = k\nunit_code = u\ndatabase = d.db\n", CONFIG_MISSING, 0, "areas");
    expect_error(f, "[kiosk]\ndevice_id = k\nunit_code = u\nareas = khac\n", CONFIG_MISSING, 0, "database");
    expect_error(f, "", CONFIG_MISSING, 0, "device_id");
}

static void test_syntax_errors_name_their_line(void **state)
{
    Fixture *f = *state;
    expect_error(f, MINIMAL "idle_timeout_s 30\n", CONFIG_SYNTAX, 6, "key = value");
    expect_error(f, "[kiosk\n" MINIMAL, CONFIG_SYNTAX, 1, "line 1");
    expect_error(f, MINIMAL "device_id = again\n", CONFIG_SYNTAX, 6, "set twice (first on line 2)");
    char text[1024];
    char longv[400];
    memset(longv, 'a', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    snprintf(text, sizeof text, MINIMAL "unit_name = %s\nscale = likert5\n", longv);
    expect_error(f, text, CONFIG_SYNTAX, 6, "longer than");
}

/* A NUL byte would end the C string early: "device_id = kiosk-01<NUL>x" would silently become kiosk-01, and a
 * NUL before the newline of an over-long line would hide its length. Both name their line instead. */
static void test_a_nul_byte_is_refused_naming_its_line(void **state)
{
    Fixture *f = *state;
    static const char text[] = "[kiosk]\ndevice_id = kiosk-01\0x\nunit_code = 000.00.31.H21\nareas = dat_dai\n"
                               "database = kiosk.db\n";
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, sizeof text - 1, fp), sizeof text - 1);
    assert_int_equal(fclose(fp), 0);
    KioskConfig c;
    assert_int_equal(config_load(f->path, &c, f->msg, sizeof f->msg), CONFIG_SYNTAX);
    assert_non_null(strstr(f->msg, "line 2:"));
    assert_non_null(strstr(f->msg, "NUL"));
    assert_string_equal(c.device_id, "");
    /* The same text from memory. */
    assert_int_equal(config_parse(text, sizeof text - 1, f->dir, &c, f->msg, sizeof f->msg), CONFIG_SYNTAX);
    assert_non_null(strstr(f->msg, "line 2:"));
    /* And a clean copy of it loads. */
    assert_int_equal(config_parse(MINIMAL, strlen(MINIMAL), f->dir, &c, f->msg, sizeof f->msg), CONFIG_OK);
    assert_string_equal(c.device_id, "kiosk-01");
}

static void test_unreadable_file_is_an_io_error(void **state)
{
    Fixture *f = *state;
    KioskConfig c;
    char path[400];
    snprintf(path, sizeof path, "%s/absent.ini", f->dir);
    assert_int_equal(config_load(path, &c, f->msg, sizeof f->msg), CONFIG_IO);
    assert_non_null(strstr(f->msg, "absent.ini"));
}

static void test_the_shipped_example_is_valid(void **state)
{
    Fixture *f = *state;
    KioskConfig c;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/assets/kiosk.example.ini", TEST_SOURCE_DIR);
    ConfigErr e = config_load(path, &c, f->msg, sizeof f->msg);
    if(e)
        fail_msg("%s", f->msg);
    assert_true(c.n_areas >= 1);
    assert_true(c.database[0] == '/');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_key_is_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_fill_what_is_not_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths_resolve_against_the_config_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys_and_sections_name_their_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values_name_their_line_and_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_required_keys_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors_name_their_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_nul_byte_is_refused_naming_its_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file_is_an_io_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_shipped_example_is_valid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
