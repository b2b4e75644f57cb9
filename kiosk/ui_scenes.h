/* ui_scenes.h — every screen in a known state with made-up data, for golden-image tests, README
 * screenshots (kiosk-shots) and bench/ui_frame. Each scene is reached by feeding taps through ui_update(),
 * like a citizen would, with a fake sink and a fixed clock (27/11/2026 09:30 in Gia Lai). */
#ifndef KIOSK_UI_SCENES_H
#define KIOSK_UI_SCENES_H

#include <stddef.h>
#include <stdint.h>

#include "kiosk/ui.h"

#define UI_SCENE_NOW_MS 1795746600000LL /* 2026-11-27T09:30:00+07:00 */

size_t      ui_scene_count(void);
const char *ui_scene_name(size_t i); /* e.g. "rating-tthc3" */
/* A Ui showing scene i at w × h; NULL when out of memory or when the taps did not lead there (a bug). The
 * scenes of other languages and of the language button use packs (the shipped assets/lang); the others show
 * the built-in Vietnamese whatever packs is, so they look as before. */
Ui *ui_scene_make(size_t i, int w, int h, const StrPacks *packs);

#endif
