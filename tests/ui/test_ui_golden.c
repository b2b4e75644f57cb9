/* test_ui_golden.c — every screen (kiosk/ui_scenes.h) rendered with SDL's software renderer at 800×480
 * and 1920×1080 and compared with the reference PNGs in tests/ui/golden/ (named scene-WxH.png).
 *
 * A pixel differs when any channel is off by more than PIXEL_TOLERANCE; a screen fails when more than
 * MAX_DIFF_FRACTION of its pixels differ (room for FreeType/SDL rounding, not for a moved label). A failing
 * screen writes scene-WxH.actual.png beside the reference. References are rewritten only when
 * KIOSK_UPDATE_GOLDEN=1 (scripts/test --update-golden); review them before committing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <SDL2/SDL.h>
#include <SDL2/SDL_image.h>
#include <SDL2/SDL_ttf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiosk/ui_draw.h"
#include "kiosk/ui_scenes.h"

#define PIXEL_TOLERANCE 40
#define MAX_DIFF_FRACTION 0.002

static bool updating(void)
{
    const char *v = getenv("KIOSK_UPDATE_GOLDEN");
    return v && strcmp(v, "1") == 0;
}

static SDL_Surface *render(size_t scene, int w, int h)
{
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    assert_non_null(surf);
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(surf);
    assert_non_null(r);
    char msg[512];
    UiGfx *g = ui_gfx_new(r, TEST_SOURCE_DIR "/fonts", msg, sizeof msg);
    if(!g)
        fail_msg("%s", msg);
    StrPacks *packs = str_packs_load(TEST_SOURCE_DIR "/assets/lang", NULL, NULL);
    Ui *ui = ui_scene_make(scene, w, h, packs);
    assert_non_null(ui);
    ui_draw(ui, g);
    SDL_RenderPresent(r);
    /* No text may spill out of its box onto its neighbours (two area names once wrapped over each other's rows
     * on the 800×480 supervisor screen). */
    const char *first = NULL;
    size_t spills = ui_gfx_overflows(g, &first);
    if(spills)
        fail_msg("%s at %dx%d: %zu text(s) taller than their box, first \"%s\"", ui_scene_name(scene), w, h, spills,
                 first);
    ui_free(ui);
    str_packs_free(packs);
    ui_gfx_free(g);
    SDL_DestroyRenderer(r);
    return surf;
}

/* Fraction of pixels of a and b that differ beyond the tolerance; 1.0 when the sizes differ. */
static double diff_fraction(SDL_Surface *a, SDL_Surface *b)
{
    if(a->w != b->w || a->h != b->h)
        return 1.0;
    SDL_Surface *ca = SDL_ConvertSurfaceFormat(a, SDL_PIXELFORMAT_ARGB8888, 0);
    SDL_Surface *cb = SDL_ConvertSurfaceFormat(b, SDL_PIXELFORMAT_ARGB8888, 0);
    assert_non_null(ca);
    assert_non_null(cb);
    long bad = 0;
    for(int y = 0; y < ca->h; y++) {
        const uint32_t *pa = (const uint32_t *)((const uint8_t *)ca->pixels + (size_t)y * (size_t)ca->pitch);
        const uint32_t *pb = (const uint32_t *)((const uint8_t *)cb->pixels + (size_t)y * (size_t)cb->pitch);
        for(int x = 0; x < ca->w; x++) {
            for(int sh = 0; sh < 24; sh += 8) {
                int d = (int)((pa[x] >> sh) & 0xFF) - (int)((pb[x] >> sh) & 0xFF);
                if(d > PIXEL_TOLERANCE || d < -PIXEL_TOLERANCE) {
                    bad++;
                    break;
                }
            }
        }
    }
    double f = (double)bad / ((double)ca->w * (double)ca->h);
    SDL_FreeSurface(ca);
    SDL_FreeSurface(cb);
    return f;
}

static void golden_at(int w, int h)
{
    int failures = 0;
    for(size_t i = 0; i < ui_scene_count(); i++) {
        char ref[1024], actual[1024];
        snprintf(ref, sizeof ref, "%s/tests/ui/golden/%s-%dx%d.png", TEST_SOURCE_DIR, ui_scene_name(i), w, h);
        snprintf(actual, sizeof actual, "%s/tests/ui/golden/%s-%dx%d.actual.png", TEST_SOURCE_DIR, ui_scene_name(i),
                 w, h);
        SDL_Surface *got = render(i, w, h);
        if(updating()) {
            assert_int_equal(IMG_SavePNG(got, ref), 0);
            printf("updated %s\n", ref);
            SDL_FreeSurface(got);
            continue;
        }
        SDL_Surface *want = IMG_Load(ref);
        double f = want ? diff_fraction(got, want) : 1.0;
        if(!want)
            printf("FAIL %s: no reference (%s); run scripts/test --update-golden\n", ref, IMG_GetError());
        if(f > MAX_DIFF_FRACTION) {
            failures++;
            IMG_SavePNG(got, actual);
            printf("FAIL %s-%dx%d: %.3f%% of pixels differ (limit %.3f%%); wrote %s\n", ui_scene_name(i), w, h,
                   f * 100, MAX_DIFF_FRACTION * 100, actual);
        } else {
            remove(actual);
        }
        if(want)
            SDL_FreeSurface(want);
        SDL_FreeSurface(got);
    }
    assert_int_equal(failures, 0);
}

static void test_every_screen_matches_at_800x480(void **st)
{
    (void)st;
    golden_at(800, 480);
}

static void test_every_screen_matches_at_1920x1080(void **st)
{
    (void)st;
    golden_at(1920, 1080);
}

/* The comparison must be able to fail: two different screens, or one screen with a changed state, differ
 * by far more than the tolerance. */
static void test_comparison_tells_screens_apart(void **st)
{
    (void)st;
    size_t pin = SIZE_MAX, pin_wrong = SIZE_MAX, area = SIZE_MAX;
    for(size_t i = 0; i < ui_scene_count(); i++) {
        if(strcmp(ui_scene_name(i), "pin") == 0) pin = i;
        if(strcmp(ui_scene_name(i), "pin-wrong") == 0) pin_wrong = i;
        if(strcmp(ui_scene_name(i), "area") == 0) area = i;
    }
    assert_true(pin != SIZE_MAX && pin_wrong != SIZE_MAX && area != SIZE_MAX);
    SDL_Surface *a = render(pin, 800, 480), *b = render(pin_wrong, 800, 480), *c = render(area, 800, 480);
    SDL_Surface *a2 = render(pin, 800, 480);
    assert_true(diff_fraction(a, b) > MAX_DIFF_FRACTION); /* two dots and a message line */
    assert_true(diff_fraction(a, c) > MAX_DIFF_FRACTION);
    assert_true(diff_fraction(a, a2) == 0.0);             /* and rendering is deterministic */
    SDL_FreeSurface(a);
    SDL_FreeSurface(a2);
    SDL_FreeSurface(b);
    SDL_FreeSurface(c);
}

static int setup(void **st)
{
    (void)st;
    return TTF_Init();
}

static int teardown(void **st)
{
    (void)st;
    TTF_Quit();
    SDL_Quit();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_screen_matches_at_800x480),
        cmocka_unit_test(test_every_screen_matches_at_1920x1080),
        cmocka_unit_test(test_comparison_tells_screens_apart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
