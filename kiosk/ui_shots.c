/* ui_shots.c — kiosk-shots: renders every scene (ui_scenes.h) to PNG files with the software renderer.
 *
 *   kiosk-shots --out DIR [--size WxH]...    default sizes: 1280x800 and 1080x1920
 *
 * The README's screenshots (docs/screenshots/) are made by the `screenshots` build target, which runs this. */
#include <SDL2/SDL.h>
#include <SDL2/SDL_image.h>
#include <SDL2/SDL_ttf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiosk/ui_draw.h"
#include "kiosk/ui_scenes.h"

#ifndef KIOSK_FONT_DIR
#define KIOSK_FONT_DIR "fonts"
#endif
#ifndef KIOSK_LANG_DIR
#define KIOSK_LANG_DIR "assets/lang"
#endif

static int shoot(const char *dir, int w, int h, const char *font_dir, const StrPacks *packs)
{
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = surf ? SDL_CreateSoftwareRenderer(surf) : NULL;
    char msg[512];
    UiGfx *g = r ? ui_gfx_new(r, font_dir, msg, sizeof msg) : NULL;
    if(!g) {
        fprintf(stderr, "kiosk-shots: %s\n", r ? msg : SDL_GetError());
        return 1;
    }
    int rc = 0;
    for(size_t i = 0; i < ui_scene_count(); i++) {
        Ui *ui = ui_scene_make(i, w, h, packs);
        if(!ui) {
            rc = 1;
            continue;
        }
        ui_draw(ui, g);
        SDL_RenderPresent(r);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s-%dx%d.png", dir, ui_scene_name(i), w, h);
        if(IMG_SavePNG(surf, path) != 0) {
            fprintf(stderr, "kiosk-shots: %s: %s\n", path, IMG_GetError());
            rc = 1;
        } else {
            printf("%s\n", path);
        }
        ui_free(ui);
    }
    ui_gfx_free(g);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(surf);
    return rc;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *fonts = KIOSK_FONT_DIR, *lang = KIOSK_LANG_DIR;
    int sizes[16][2], ns = 0;
    for(int i = 1; i < argc; i++) {
        if(strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if(strcmp(argv[i], "--fonts") == 0 && i + 1 < argc)
            fonts = argv[++i];
        else if(strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
            lang = argv[++i];
        else if(strcmp(argv[i], "--size") == 0 && i + 1 < argc && ns < 16 &&
                sscanf(argv[++i], "%dx%d", &sizes[ns][0], &sizes[ns][1]) == 2 && sizes[ns][0] > 0 && sizes[ns][1] > 0)
            ns++;
        else {
            fprintf(stderr, "usage: kiosk-shots --out DIR [--fonts DIR] [--lang DIR] [--size WxH]...\n");
            return 2;
        }
    }
    if(!out) {
        fprintf(stderr, "usage: kiosk-shots --out DIR [--fonts DIR] [--lang DIR] [--size WxH]...\n");
        return 2;
    }
    if(ns == 0) {
        sizes[0][0] = 1280, sizes[0][1] = 800;
        sizes[1][0] = 1080, sizes[1][1] = 1920;
        ns = 2;
    }
    if(TTF_Init() != 0) {
        fprintf(stderr, "kiosk-shots: TTF_Init: %s\n", TTF_GetError());
        return 1;
    }
    StrPacks *packs = str_packs_load(lang, NULL, NULL);
    int rc = 0;
    for(int i = 0; i < ns; i++)
        rc |= shoot(out, sizes[i][0], sizes[i][1], fonts, packs);
    str_packs_free(packs);
    TTF_Quit();
    SDL_Quit();
    return rc;
}
