/* ui_draw.h — paints the current screen of a Ui onto an SDL_Renderer.
 *
 * ui_draw() only reads the Ui; it never changes it. A UiGfx holds what drawing needs that outlives a frame:
 * the fonts (Noto Sans, loaded once from memory at every size in use) and a cache of rendered text
 * textures, so an unchanged label is not re-rasterised every frame. One UiGfx belongs to one renderer. */
#ifndef KIOSK_UI_DRAW_H
#define KIOSK_UI_DRAW_H

#include <SDL2/SDL.h>
#include <stddef.h>

#include "kiosk/ui.h"

typedef struct UiGfx UiGfx;

/* Loads NotoSans-Regular.ttf and NotoSans-Bold.ttf from font_dir. NULL with msg filled on failure.
 * Calls TTF_Init() if needed. */
UiGfx *ui_gfx_new(SDL_Renderer *r, const char *font_dir, char *msg, size_t msg_len);
void   ui_gfx_free(UiGfx *g);

/* Clears and draws the whole screen (does not present). */
void ui_draw(const Ui *ui, UiGfx *g);

/* How many texts were drawn taller than their box since g was made (each spills over what is beside it:
 * fit() stops shrinking at its least size), and the first one's text (*first; "" when none). For tests. */
size_t ui_gfx_overflows(const UiGfx *g, const char **first);

/* The colours of the theme, exposed for the contrast test. */
typedef struct { SDL_Color fg, bg; const char *what; } UiColorPair;
size_t ui_theme_text_pairs(const UiColorPair **pairs);

#endif
