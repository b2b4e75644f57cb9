/* ui_input.c — SDL events to UiEvents. See ui_input.h for the one-touch-one-tap rule. */
#include "kiosk/ui_input.h"

/* Has the followed press been silent so long, at event time t, that its release must have been lost? */
static bool stale(const UiInput *in, Uint32 t)
{
    return (Uint32)(t - in->last_ms) >= UI_TOUCH_LOST_MS;
}

bool ui_input_translate(UiInput *in, const SDL_Event *e, int w, int h, UiEvent *out)
{
    *out = (UiEvent){0};
    switch(e->type) {
    case SDL_FINGERDOWN: {
        if(e->tfinger.touchId == SDL_MOUSE_TOUCHID) /* a mouse pretending to be a finger: the mouse path has it */
            return false;
        bool same = in->finger_down && e->tfinger.fingerId == in->finger && e->tfinger.touchId == in->touch;
        /* A second finger (or a finger while the mouse is down) is ignored, unless the one followed has lost
         * its release: the same finger cannot go down twice, and no touch stays still that long. */
        if((in->finger_down || in->mouse_down) && !same && !stale(in, e->tfinger.timestamp))
            return false;
        in->finger_down = true;
        in->mouse_down = false;
        in->finger = e->tfinger.fingerId;
        in->touch = e->tfinger.touchId;
        in->last_ms = e->tfinger.timestamp;
        *out = (UiEvent){UI_EV_PRESS, e->tfinger.x * (float)w, e->tfinger.y * (float)h, 0, 0};
        return true;
    }
    case SDL_FINGERMOTION:
    case SDL_FINGERUP:
        if(!in->finger_down || e->tfinger.fingerId != in->finger || e->tfinger.touchId != in->touch)
            return false;
        in->last_ms = e->tfinger.timestamp;
        if(e->type == SDL_FINGERUP)
            in->finger_down = false;
        *out = (UiEvent){e->type == SDL_FINGERUP ? UI_EV_RELEASE : UI_EV_MOVE, e->tfinger.x * (float)w,
                         e->tfinger.y * (float)h, 0, 0};
        return true;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        if(e->button.which == SDL_TOUCH_MOUSEID || e->button.button != SDL_BUTTON_LEFT)
            return false; /* the synthetic twin of a finger event, or not the main button */
        if(e->type == SDL_MOUSEBUTTONDOWN) {
            /* The button going down again means its release was lost; a finger held is followed unless stale. */
            if(in->finger_down && !stale(in, e->button.timestamp))
                return false;
            in->finger_down = false;
            in->mouse_down = true;
        } else {
            if(!in->mouse_down)
                return false;
            in->mouse_down = false;
        }
        in->last_ms = e->button.timestamp;
        *out = (UiEvent){e->type == SDL_MOUSEBUTTONDOWN ? UI_EV_PRESS : UI_EV_RELEASE, (float)e->button.x,
                         (float)e->button.y, 0, 0};
        return true;
    case SDL_MOUSEMOTION:
        if(e->motion.which == SDL_TOUCH_MOUSEID || !in->mouse_down)
            return false;
        in->last_ms = e->motion.timestamp;
        *out = (UiEvent){UI_EV_MOVE, (float)e->motion.x, (float)e->motion.y, 0, 0};
        return true;
    case SDL_WINDOWEVENT:
        if(e->window.event == SDL_WINDOWEVENT_FOCUS_LOST) {
            bool was = in->finger_down || in->mouse_down;
            in->finger_down = in->mouse_down = false;
            if(was) {
                out->type = UI_EV_CANCEL;
                return true;
            }
        }
        return false;
    default: return false;
    }
}
