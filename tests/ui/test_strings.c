/* test_strings.c — the language packs (kiosk/strings.h, assets/lang/<code>/): every shipped pack has every
 * string with the right slots and every voice file its strings name (in its voice/ folder, or made by the
 * build into build/lang/); the check can fail; the built-in Vietnamese is the protocol's vocabulary; a pack
 * added later may be partial and falls back string by string, and its faulty lines are refused and logged;
 * every character of every shipped text is in the kiosk's font; kiosk-voices makes what is missing and
 * leaves recordings alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <SDL2/SDL_ttf.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiosk/strings.h"

#define LANG_DIR TEST_SOURCE_DIR "/assets/lang"
#define VOICE_DIR TEST_BINARY_DIR "/lang"
#define VOICES_BIN TEST_BINARY_DIR "/kiosk/kiosk-voices"

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 44; /* more than a WAV header */
}

/* Every problem of the packs in lang_dir (voice files looked for in <lang_dir>/<code>/voice/, then in
 * <voice_dir>/<code>/voice/), one line each into report; returns how many. */
static int check_packs(const char *lang_dir, const char *voice_dir, char *report, size_t cap)
{
    StrPacks *p = str_packs_load(lang_dir, NULL, NULL);
    assert_non_null(p);
    int bad = 0;
    report[0] = '\0';
#define PROBLEM(...)                                                                                          \
    do {                                                                                                      \
        size_t l_ = strlen(report);                                                                           \
        if(l_ < cap)                                                                                          \
            snprintf(report + l_, cap - l_, __VA_ARGS__);                                                     \
        bad++;                                                                                                \
    } while(0)
    for(size_t l = 0; l < str_packs_count(p); l++) {
        const char *code = str_pack_code(p, l);
        for(int id = 0; id < STR_COUNT; id++) {
            if(!str_has(p, l, (StrId)id)) {
                PROBLEM("%s: no text for %s\n", code, str_key((StrId)id));
                continue;
            }
            size_t from = 99;
            const char *file = str_voice(p, l, (StrId)id, &from);
            if(!str_spoken((StrId)id))
                continue;
            if(!file || from != l) {
                PROBLEM("%s: %s is read aloud but names no voice file (%s.voice)\n", code, str_key((StrId)id),
                        str_key((StrId)id));
                continue;
            }
            char a[1024], b[1024];
            snprintf(a, sizeof a, "%s/%s/voice/%s", lang_dir, code, file);
            snprintf(b, sizeof b, "%s/%s/voice/%s", voice_dir, code, file);
            if(!file_exists(a) && !file_exists(b))
                PROBLEM("%s: voice file %s (for %s) is missing from %s and %s\n", code, file, str_key((StrId)id), a, b);
        }
    }
    str_packs_free(p);
    return bad;
#undef PROBLEM
}

static void test_every_shipped_pack_has_every_string_and_voice_file(void **st)
{
    (void)st;
    char report[8192];
    StrPacks *p = str_packs_load(LANG_DIR, NULL, NULL);
    assert_true(str_packs_count(p) >= 2); /* Vietnamese and the complete English pack */
    assert_int_equal(str_packs_find(p, "vi"), 0);
    assert_true(str_packs_find(p, "en") > 0);
    str_packs_free(p);
    int bad = check_packs(LANG_DIR, VOICE_DIR, report, sizeof report);
    if(bad)
        fail_msg("%d problem(s) in the shipped language packs:\n%s", bad, report);
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

/* The check above must be able to fail: a pack that lost a line, and a voice file that is gone. */
static void test_the_check_fails_on_a_missing_string_or_voice_file(void **st)
{
    (void)st;
    char report[8192], lang[256], voices[256], cmd[1024];
    snprintf(lang, sizeof lang, "/tmp/test_strings_lang_%d", (int)getpid());
    snprintf(voices, sizeof voices, "/tmp/test_strings_voices_%d", (int)getpid());
    copy_tree(LANG_DIR, lang);
    copy_tree(VOICE_DIR, voices);
    assert_int_equal(check_packs(lang, voices, report, sizeof report), 0);
    snprintf(cmd, sizeof cmd, "sed -i '/^wait_title = /d' %s/en/strings.txt && rm %s/vi/voice/send.wav", lang, voices);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(check_packs(lang, voices, report, sizeof report), 2);
    assert_non_null(strstr(report, "en: no text for wait_title"));
    assert_non_null(strstr(report, "vi: voice file send.wav"));
    /* A recording in the pack's own voice/ folder is a voice file too. */
    snprintf(cmd, sizeof cmd, "mkdir -p %s/vi/voice && cp %s/en/voice/send.wav %s/vi/voice/send.wav", lang, VOICE_DIR,
             lang);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(check_packs(lang, voices, report, sizeof report), 1);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", lang, voices);
    assert_int_equal(system(cmd), 0);
}

/* The built-in Vietnamese (compiled from assets/lang/vi/strings.txt) is complete and its names of areas,
 * reasons, levels, respondents and waits are the protocol's, in its order. */
static void test_builtin_vietnamese_is_complete_and_is_the_vocabulary(void **st)
{
    (void)st;
    for(int i = 0; i < STR_COUNT; i++)
        if(!*str((StrId)i))
            fail_msg("built-in Vietnamese has no %s", str_key((StrId)i));
    for(int a = 0; a < AREA_COUNT; a++)
        assert_string_equal(str(str_area((ProtoArea)a)), proto_area_name_vi((ProtoArea)a));
    for(int r = 0; r < REASON_COUNT; r++)
        assert_string_equal(str(str_reason((ProtoReason)r)), proto_reason_name_vi((ProtoReason)r));
    for(int sc = 0; sc < SCALE_COUNT; sc++)
        for(int l = 1; l <= proto_scale_levels((ProtoScale)sc); l++)
            assert_string_equal(str(str_level((ProtoScale)sc, l)), proto_scale_label_vi((ProtoScale)sc, l));
    for(int r = 1; r < RESPONDENT_COUNT; r++)
        assert_string_equal(str(str_respondent((ProtoRespondent)r)), proto_respondent_name_vi((ProtoRespondent)r));
    for(int w = 1; w < WAIT_COUNT; w++)
        assert_string_equal(str(str_wait((ProtoWait)w)), proto_wait_name_vi((ProtoWait)w));
    assert_int_equal(str_level(SCALE_TTHC3, 4), STR_COUNT);
    assert_int_equal(str_respondent(RESPONDENT_NONE), STR_COUNT);
    assert_string_equal(str(STR_SERVICE_TITLE), "Ông/Bà có hài lòng với sự phục vụ của cán bộ, công chức không?");
    assert_string_equal(str(STR_RESPONDENT_TITLE), "Ông/Bà là:");
    assert_string_equal(str(STR_WAIT_TITLE), "Ông/Bà đã chờ bao lâu?");
    assert_string_equal(str(STR_LISTEN), "Nghe");
    /* ... and it is the file: the file's texts are the built-in ones. */
    StrPacks *p = str_packs_load(LANG_DIR, NULL, NULL);
    for(int i = 0; i < STR_COUNT; i++)
        assert_string_equal(str_in(p, 0, (StrId)i), str((StrId)i));
    assert_string_equal(str_pack_meta(p, 0, "lang.espeak"), "vi");
    str_packs_free(p);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char LOG[4096];
static int log_lines;
static void logger(void *user, const char *line)
{
    (void)user;
    size_t l = strlen(LOG);
    snprintf(LOG + l, sizeof LOG - l, "%s\n", line);
    log_lines++;
}

/* A pack added later (say Jrai) with a few texts: those show, everything else falls back to Vietnamese one
 * string at a time; a line it got wrong is refused with a log line naming the file and line. Without a vi
 * folder the built-in Vietnamese is pack 0. */
static void test_a_partial_pack_falls_back_string_by_string(void **st)
{
    (void)st;
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "/tmp/test_strings_partial_%d", (int)getpid());
    snprintf(path, sizeof path, "%s/jra", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/jra/strings.txt", dir);
    write_file(path, "# Jrai, partial\n"
                     "lang.name = Jrai\n"
                     "area_title = Ih ngă bruă hơget?\n"
                     "area_title.voice = area_title.wav\n"
                     "rating_area = {} {}\n"                 /* line 5: two slots, the Vietnamese has one */
                     "no_such_key = x\n"                     /* line 6 */
                     "send.voice = ../../etc/passwd\n"       /* line 7 */
                     "skip = \x01\n"                         /* line 8: a control character */
                     "just words\n"                          /* line 9 */
                     "area_title = again\n");                /* line 10: set twice */
    snprintf(path, sizeof path, "%s/bad code", dir); /* not a pack's name: ignored */
    assert_int_equal(mkdir(path, 0700), 0);
    LOG[0] = '\0';
    log_lines = 0;
    StrPacks *p = str_packs_load(dir, logger, NULL);
    assert_int_equal(str_packs_count(p), 2);
    int j = str_packs_find(p, "jra");
    assert_int_equal(j, 1);
    assert_string_equal(str_in(p, j, STR_AREA_TITLE), "Ih ngă bruă hơget?");
    assert_string_equal(str_in(p, j, STR_LANG_NAME), "Jrai");
    assert_string_equal(str_in(p, j, STR_RATING_TITLE), str(STR_RATING_TITLE)); /* not given */
    assert_string_equal(str_in(p, j, STR_RATING_AREA), "Lĩnh vực: {}");           /* refused: wrong slots */
    assert_string_equal(str_in(p, j, STR_SKIP), "Bỏ qua");                        /* refused: control char */
    assert_true(str_has(p, j, STR_AREA_TITLE));
    assert_false(str_has(p, j, STR_SKIP));
    char out[128];
    assert_string_equal(str_fill_in(p, j, out, sizeof out, STR_RATING_AREA, "Đất đai"), "Lĩnh vực: Đất đai");
    /* Voices: the pack's own where it names one, Vietnamese's otherwise. */
    size_t from = 9;
    assert_string_equal(str_voice(p, j, STR_AREA_TITLE, &from), "area_title.wav");
    assert_int_equal(from, (size_t)j);
    assert_string_equal(str_voice(p, j, STR_SEND, &from), "send.wav");
    assert_int_equal(from, 0);
    assert_null(str_voice(p, j, STR_RATING_AREA, &from));
    assert_int_equal(log_lines, 6);
    assert_non_null(strstr(LOG, "jra/strings.txt:5: rating_area must have 1"));
    assert_non_null(strstr(LOG, "jra/strings.txt:6: unknown key \"no_such_key\""));
    assert_non_null(strstr(LOG, "jra/strings.txt:7: send.voice"));
    assert_non_null(strstr(LOG, "jra/strings.txt:8: skip is empty or not UTF-8 text"));
    assert_non_null(strstr(LOG, "jra/strings.txt:9: not a \"key = text\" line"));
    assert_non_null(strstr(LOG, "jra/strings.txt:10: area_title is set twice"));
    str_packs_free(p);
    /* No folder at all: the built-in Vietnamese alone. */
    p = str_packs_load("/nonexistent/lang", NULL, NULL);
    assert_int_equal(str_packs_count(p), 1);
    assert_string_equal(str_in(p, 0, STR_SEND), "Gửi");
    str_packs_free(p);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Every character of every shipped text is in Noto Sans (a "≤" or a letter of a minority script the font
 * lacks would show as an empty box), and the texts are NFC. */
static void test_every_shipped_character_is_in_the_font(void **st)
{
    (void)st;
    assert_int_equal(TTF_Init(), 0);
    TTF_Font *fonts[2] = {TTF_OpenFont(TEST_SOURCE_DIR "/fonts/NotoSans-Regular.ttf", 20),
                          TTF_OpenFont(TEST_SOURCE_DIR "/fonts/NotoSans-Bold.ttf", 20)};
    assert_non_null(fonts[0]);
    assert_non_null(fonts[1]);
    StrPacks *p = str_packs_load(LANG_DIR, NULL, NULL);
    int checked = 0;
    for(size_t l = 0; l < str_packs_count(p); l++)
        for(int id = 0; id < STR_COUNT; id++) {
            const unsigned char *s = (const unsigned char *)str_in(p, l, (StrId)id);
            while(*s) {
                uint32_t cp = *s;
                int n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 : 4;
                if(n > 1) {
                    cp = *s & (0x7f >> n);
                    for(int k = 1; k < n; k++)
                        cp = cp << 6 | (s[k] & 0x3f);
                }
                if(cp >= 0x300 && cp <= 0x36f)
                    fail_msg("%s %s: combining mark U+%04X (not NFC)", str_pack_code(p, l), str_key((StrId)id), cp);
                for(int b = 0; b < 2; b++)
                    if(!TTF_GlyphIsProvided32(fonts[b], cp))
                        fail_msg("%s %s: U+%04X is not in the font", str_pack_code(p, l), str_key((StrId)id), cp);
                checked++;
                s += n;
            }
        }
    assert_true(checked > 3000);
    str_packs_free(p);
    TTF_CloseFont(fonts[0]);
    TTF_CloseFont(fonts[1]);
    TTF_Quit();
}

/* kiosk-voices makes each voice file a pack names, in the pack's espeak-ng voice, but not one the pack ships
 * as a recording; run again, it makes nothing (the words a file was made from are kept beside it); a changed
 * text is made again. */
static void test_kiosk_voices_makes_what_is_missing_and_keeps_recordings(void **st)
{
    (void)st;
    char dir[256], path[512], cmd[1400], out[300];
    snprintf(dir, sizeof dir, "/tmp/test_strings_voices_%d", (int)getpid());
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(path, sizeof path, "%s/lang/xx/voice", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/vi/voice/send.wav %s/skip.wav", path, VOICE_DIR, path);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/lang/xx/strings.txt", dir);
    write_file(path, "lang.espeak = vi\nsend = Gửi\nsend.voice = gui.wav\nskip = Bỏ qua\nskip.voice = skip.wav\n");
    snprintf(cmd, sizeof cmd, "%s --lang %s/lang --out %s --espeak %s", VOICES_BIN, dir, out, ESPEAK_BIN);
    FILE *pp = popen(cmd, "r");
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, pp));
    assert_int_equal(pclose(pp), 0);
    assert_string_equal(line, "kiosk-voices: 1 made, 0 unchanged, 1 recordings shipped, 0 failed\n");
    snprintf(path, sizeof path, "%s/xx/voice/gui.wav", out);
    assert_true(file_exists(path));
    snprintf(path, sizeof path, "%s/xx/voice/skip.wav", out);
    assert_false(file_exists(path)); /* the recording is used, nothing made */
    pp = popen(cmd, "r");
    assert_non_null(fgets(line, sizeof line, pp));
    assert_int_equal(pclose(pp), 0);
    assert_string_equal(line, "kiosk-voices: 0 made, 1 unchanged, 1 recordings shipped, 0 failed\n");
    snprintf(path, sizeof path, "%s/lang/xx/strings.txt", dir);
    write_file(path, "lang.espeak = vi\nsend = Gửi đi\nsend.voice = gui.wav\nskip = Bỏ qua\nskip.voice = skip.wav\n");
    pp = popen(cmd, "r");
    assert_non_null(fgets(line, sizeof line, pp));
    assert_int_equal(pclose(pp), 0);
    assert_string_equal(line, "kiosk-voices: 1 made, 0 unchanged, 1 recordings shipped, 0 failed\n");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shipped_pack_has_every_string_and_voice_file),
        cmocka_unit_test(test_the_check_fails_on_a_missing_string_or_voice_file),
        cmocka_unit_test(test_builtin_vietnamese_is_complete_and_is_the_vocabulary),
        cmocka_unit_test(test_a_partial_pack_falls_back_string_by_string),
        cmocka_unit_test(test_every_shipped_character_is_in_the_font),
        cmocka_unit_test(test_kiosk_voices_makes_what_is_missing_and_keeps_recordings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
