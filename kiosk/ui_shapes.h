/* ui_shapes.h — anti-aliased vector shapes on an SDL_Renderer (faces, icons, rounded tiles).
 *
 * Everything is triangles through SDL_RenderGeometry, with a one-pixel fringe whose alpha fades to zero, so
 * edges are smooth on every renderer including the software one, at any size. No bitmaps to ship. */
#ifndef KIOSK_UI_SHAPES_H
#define KIOSK_UI_SHAPES_H

#include <SDL2/SDL.h>

#include "sync/protocol.h"

void shape_circle(SDL_Renderer *r, float cx, float cy, float rad, SDL_Color c);
/* A ring of colour c, outer radius rad, filled with `inside`. */
void shape_ring(SDL_Renderer *r, float cx, float cy, float rad, float thick, SDL_Color c, SDL_Color inside);
/* Arc of the circle (cx, cy, rad) from angle a0 to a1 (radians, y down: π/2 is straight down). */
void shape_arc(SDL_Renderer *r, float cx, float cy, float rad, float a0, float a1, float thick, SDL_Color c);
void shape_line(SDL_Renderer *r, float x0, float y0, float x1, float y1, float thick, SDL_Color c);
void shape_rrect(SDL_Renderer *r, SDL_FRect box, float radius, SDL_Color c);
/* A rounded box filled with `fill` and a border of the given thickness inside its edge. */
void shape_rrect_bordered(SDL_Renderer *r, SDL_FRect box, float radius, float thick, SDL_Color border, SDL_Color fill);
/* Convex polygon, points in order. */
void shape_poly(SDL_Renderer *r, const SDL_FPoint *p, int n, SDL_Color c);

/* A face for a score on a scale, fitted in a square of side d centred on (cx, cy): its shape (frown,
 * straight, smile, open smile) and colour both say the level. */
void shape_face(SDL_Renderer *r, ProtoScale s, int score, float cx, float cy, float d);
SDL_Color shape_face_color(ProtoScale s, int score);

/* The icon of a procedure area in a square box. */
void shape_area_icon(SDL_Renderer *r, ProtoArea a, SDL_FRect box);

/* The icons of the later questions, each on a disc of its own colour: who is rating (one person, a
 * briefcase, a group) and how long they waited (a clock with a quarter, a half, most of its face gone). */
void shape_respondent_icon(SDL_Renderer *r, ProtoRespondent who, SDL_FRect box);
void shape_wait_icon(SDL_Renderer *r, ProtoWait w, SDL_FRect box);
SDL_Color shape_wait_color(ProtoWait w);
/* A loudspeaker with sound waves (the "Nghe" button) and a globe (the language button), in colour c. */
void shape_speaker(SDL_Renderer *r, SDL_FRect box, SDL_Color c);
void shape_globe(SDL_Renderer *r, SDL_FRect box, SDL_Color c, SDL_Color bg);

/* A check mark (thanks, selected reasons) and an "i" sign (calm notices) in a square box. */
void shape_check(SDL_Renderer *r, SDL_FRect box, SDL_Color c, float thick);
void shape_info(SDL_Renderer *r, SDL_FRect box, SDL_Color bg, SDL_Color fg);

#endif
