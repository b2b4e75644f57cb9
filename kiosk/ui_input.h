/* ui_input.h — turns SDL input events into UiEvents, counting each touch once.
 *
 * Touch panels deliver a finger event and, unless disabled, a synthetic mouse event for the same touch
 * (event.button.which == SDL_TOUCH_MOUSEID). Only the finger path is used for touches; a real mouse (which
 * != SDL_TOUCH_MOUSEID) works too, for development. Only the first finger down is followed until it lifts,
 * so a palm or a second finger cannot make a second tap.
 *
 * A lift can be lost (a flaky panel driver, a focus change the window manager never reports). Then the
 * followed finger would block every later touch, so it is let go when the same finger (or button) goes down
 * again, or when another finger goes down UI_TOUCH_LOST_MS after the followed one last moved. Times are the
 * events' own timestamps: no clock is read here. */
#ifndef KIOSK_UI_INPUT_H
#define KIOSK_UI_INPUT_H

#include <SDL2/SDL.h>
#include <stdbool.h>

#include "kiosk/ui.h"

typedef struct {
    bool          finger_down;
    SDL_FingerID  finger;
    SDL_TouchID   touch;
    bool          mouse_down;
    Uint32        last_ms;      /* timestamp of the followed finger's or button's latest event */
} UiInput;

/* Translates e for a drawable of w × h pixels. True with *out filled when e matters to the UI. */
bool ui_input_translate(UiInput *in, const SDL_Event *e, int w, int h, UiEvent *out);

#endif
