/* ui_layout.c — where things are on each screen, in fractions of the screen.
 *
 * One function computes both the drawn regions and the touch targets, so what a finger hits is exactly
 * what is drawn. Sizes derive from the short side S: faces and tiles are never smaller than S/6, buttons
 * are S/6 tall, margins S×0.035. Landscape and portrait differ only in how grids are arranged. */
#include "kiosk/ui_internal.h"

#include <math.h>

static UiRect rect(float x, float y, float w, float h) { return (UiRect){x, y, w, h}; }

static size_t add(UiTarget t[UI_MAX_TARGETS], size_t n, UiTargetKind k, int index, UiRect r)
{
    if(n < UI_MAX_TARGETS)
        t[n++] = (UiTarget){k, index, r};
    return n;
}

/* Lays out `count` cells in a cols × rows grid inside area, row by row. */
static size_t grid(UiTarget t[UI_MAX_TARGETS], size_t n, UiTargetKind k, const int *index, int count, int cols,
                   UiRect area, float gap)
{
    int rows = (count + cols - 1) / cols;
    float cw = (area.w - gap * (float)(cols - 1)) / (float)cols;
    float ch = (area.h - gap * (float)(rows - 1)) / (float)rows;
    for(int i = 0; i < count; i++) {
        int r = i / cols, c = i % cols;
        int in_row = r == rows - 1 ? count - r * cols : cols;
        /* Centre a short last row. */
        float x0 = area.x + (area.w - (cw * (float)in_row + gap * (float)(in_row - 1))) / 2.0f;
        n = add(t, n, k, index[i], rect(x0 + (float)c * (cw + gap), area.y + (float)r * (ch + gap), cw, ch));
    }
    return n;
}

/* Big tiles for a one-tap question (respondent, wait): one row in landscape, stacked rows in portrait, with
 * "Bỏ qua" below on the left, where the reasons screen has it. */
static size_t choice_screen(UiFrame *f, UiTarget t[UI_MAX_TARGETS], size_t n, UiTargetKind k, int first, int count,
                            float W, float H, float S, float m, float top, float gap, float bh, bool land)
{
    f->title = rect(m + S * 0.1f, top, W - 2 * m - S * 0.2f, roundf(H * (land ? 0.2f : 0.12f)));
    float y = f->title.y + f->title.h + gap;
    UiRect area = rect(m, y, W - 2 * m, H - m - bh - gap - y);
    int idx[8];
    for(int i = 0; i < count; i++)
        idx[i] = first + i;
    n = grid(t, n, k, idx, count, land ? count : 1, area, gap);
    return add(t, n, T_SKIP, 0, rect(m, H - m - bh, roundf(W * (land ? 0.3f : 0.44f)), bh));
}

static bool header_listen(const Ui *ui) { return ui->cfg.voice && ui_citizen_screen(ui->screen); }
static bool header_lang(const Ui *ui)
{
    return ui_next_lang(ui) >= 0 && ui->screen == (ui->cfg.n_areas == 1 ? SCREEN_RATING : SCREEN_AREA);
}

/* The "Nghe" and language buttons at the top right of citizen screens. In landscape the title and subtitle
 * give way beside them; in portrait, where the width is short, they get a row of their own above the title. */
static size_t header_buttons(const Ui *ui, UiFrame *f, UiTarget t[UI_MAX_TARGETS], size_t n, float W, float S,
                             float m, float gap, float bh)
{
    bool listen = header_listen(ui), lang = header_lang(ui);
    float x = W - m;
    if(listen) {
        float w = roundf(bh * 1.7f);
        n = add(t, n, T_LISTEN, 0, rect(x - w, m, w, bh));
        x -= w + gap;
    }
    if(lang) {
        float w = roundf(bh * (ui_landscape(ui) ? 2.1f : 1.9f));
        n = add(t, n, T_LANG, 0, rect(x - w, m, w, bh));
        x -= w + gap;
    }
    if((listen || lang) && ui_landscape(ui)) {
        UiRect *r[] = {&f->title, &f->subtitle};
        for(int i = 0; i < 2; i++)
            if(r[i]->w > 0 && r[i]->y < m + bh && r[i]->x + r[i]->w > x)
                r[i]->w = x - r[i]->x;
    }
    (void)S;
    return n;
}

size_t ui_layout(const Ui *ui, UiFrame *f, UiTarget t[UI_MAX_TARGETS])
{
    const float W = (float)ui->w, H = (float)ui->h, S = ui_short_side(ui);
    const float m = roundf(S * 0.035f), gap = roundf(S * 0.03f), bh = roundf(S / 6.0f);
    const bool land = ui_landscape(ui);
    /* Where a screen's own content starts: below the header buttons' row in portrait. */
    const float top = !land && (header_listen(ui) || header_lang(ui)) ? m + bh + gap : m;
    size_t n = 0;
    *f = (UiFrame){0};

    /* The supervisor corner: top-left, invisible, clear of every button. */
    bool corner = ui->cfg.supervisor_enabled &&
                  (ui->screen == SCREEN_AREA || ui->screen == SCREEN_RATING || ui->screen == SCREEN_STORAGE_ERROR);
    if(corner)
        n = add(t, n, T_CORNER, 0, rect(0, 0, roundf(S * 0.14f), roundf(S * 0.14f)));

    switch(ui->screen) {
    case SCREEN_AREA: {
        f->title = rect(m + S * 0.1f, top, W - 2 * m - S * 0.2f, roundf(H * (land ? 0.18f : 0.12f)));
        float y = f->title.y + f->title.h + gap;
        UiRect area = rect(m, y, W - 2 * m, H - y - m);
        int count = (int)ui->cfg.n_areas, idx[AREA_COUNT];
        for(int i = 0; i < count; i++)
            idx[i] = i;
        int cols = land ? (count <= 4 ? count : (count + 1) / 2) : (count <= 3 ? 1 : 2);
        n = grid(t, n, T_AREA, idx, count, cols, area, gap);
        break;
    }
    case SCREEN_RATING:
    case SCREEN_SERVICE: {
        f->title = rect(m + S * 0.1f, top, W - 2 * m - S * 0.2f, roundf(H * (land ? 0.17f : 0.1f)));
        f->subtitle = rect(m, f->title.y + f->title.h, W - 2 * m, roundf(H * (land ? 0.07f : 0.04f)));
        float y = f->subtitle.y + f->subtitle.h + gap;
        /* Below the faces: "Quay lại" on the procedure face (several areas), "Bỏ qua" on the service face. */
        bool back = ui->screen == SCREEN_RATING && ui->cfg.n_areas > 1, skip = ui->screen == SCREEN_SERVICE;
        float bottom = H - m - (back || skip ? bh + gap : 0);
        UiRect area = rect(m, y, W - 2 * m, bottom - y);
        int levels = proto_scale_levels(ui->cfg.scale), idx[PROTO_MAX_LEVELS];
        /* Best on the left (landscape) or on top (portrait)?  Worst first reads like the printed forms
         * citizens know (Không hài lòng → Rất hài lòng), and left-to-right matches the label order. */
        for(int i = 0; i < levels; i++)
            idx[i] = i + 1;
        n = grid(t, n, T_FACE, idx, levels, land ? levels : 1, area, gap);
        if(back)
            n = add(t, n, T_BACK, 0, rect(m, H - m - bh, roundf(W * (land ? 0.28f : 0.45f)), bh));
        if(skip)
            n = add(t, n, T_SKIP, 0, rect(m, H - m - bh, roundf(W * (land ? 0.3f : 0.44f)), bh));
        break;
    }
    case SCREEN_RESPONDENT:
        n = choice_screen(f, t, n, T_RESPONDENT, RESPONDENT_NONE + 1, RESPONDENT_COUNT - 1, W, H, S, m, top, gap, bh,
                          land);
        break;
    case SCREEN_WAIT:
        n = choice_screen(f, t, n, T_WAIT, WAIT_NONE + 1, WAIT_COUNT - 1, W, H, S, m, top, gap, bh, land);
        break;
    case SCREEN_REASONS: {
        f->title = rect(m + S * 0.1f, top, W - 2 * m - S * 0.2f, roundf(H * (land ? 0.12f : 0.08f)));
        f->subtitle = rect(m, f->title.y + f->title.h, W - 2 * m, roundf(H * (land ? 0.06f : 0.035f)));
        float y = f->subtitle.y + f->subtitle.h + gap;
        UiRect area = rect(m, y, W - 2 * m, H - m - bh - gap - y);
        int idx[REASON_COUNT];
        for(int i = 0; i < REASON_COUNT; i++)
            idx[i] = i;
        n = grid(t, n, T_REASON, idx, REASON_COUNT, land ? 4 : 2, area, gap);
        float bw = roundf(W * (land ? 0.3f : 0.44f));
        n = add(t, n, T_SKIP, 0, rect(m, H - m - bh, bw, bh));
        n = add(t, n, T_SEND, 0, rect(W - m - bw, H - m - bh, bw, bh));
        break;
    }
    case SCREEN_THANKS:
        f->icon = rect(W / 2 - S * 0.2f, H * (land ? 0.12f : 0.22f), S * 0.4f, S * 0.4f);
        f->title = rect(m, f->icon.y + f->icon.h + gap, W - 2 * m, roundf(H * (land ? 0.16f : 0.15f)));
        f->body = rect(m, f->title.y + f->title.h, W - 2 * m, roundf(H * (land ? 0.12f : 0.1f)));
        break;
    case SCREEN_STORAGE_ERROR:
        f->icon = rect(W / 2 - S * 0.12f, top + S * 0.06f, S * 0.24f, S * 0.24f);
        f->title = rect(m, f->icon.y + f->icon.h + gap, W - 2 * m, roundf(H * (land ? 0.12f : 0.11f)));
        f->body = rect(m + W * 0.05f, f->title.y + f->title.h, W - 2 * m - W * 0.1f,
                       H - m - bh - gap - (f->title.y + f->title.h));
        n = add(t, n, T_RETRY, 0, rect(W / 2 - W * (land ? 0.15f : 0.22f), H - m - bh, W * (land ? 0.3f : 0.44f), bh));
        break;
    case SCREEN_PIN: {
        UiRect info, pad;
        if(land) {
            info = rect(m, m, W * 0.42f, H - 2 * m);
            pad = rect(W * 0.48f, m, W * 0.52f - m, H - 2 * m);
        } else {
            info = rect(m, m, W - 2 * m, H * 0.34f);
            pad = rect(m, H * 0.36f, W - 2 * m, H * 0.64f - m);
        }
        f->title = rect(info.x, info.y, info.w, info.h * 0.3f);
        f->dots = rect(info.x, info.y + info.h * 0.32f, info.w, info.h * 0.16f);
        f->message = rect(info.x, info.y + info.h * 0.5f, info.w, info.h * 0.22f);
        f->keypad = pad;
        static const int keys[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, -1, 0, -2};
        float kw = (pad.w - 2 * gap) / 3, kh = (pad.h - 3 * gap) / 4;
        for(int i = 0; i < 12; i++) {
            UiRect r = rect(pad.x + (float)(i % 3) * (kw + gap), pad.y + (float)(i / 3) * (kh + gap), kw, kh);
            n = add(t, n, keys[i] == -1 ? T_KEY_DEL : keys[i] == -2 ? T_KEY_OK : T_KEY, keys[i] < 0 ? 0 : keys[i], r);
        }
        float cw = land ? info.w * 0.6f : W * 0.44f;
        n = add(t, n, T_CANCEL, 0,
                land ? rect(info.x, H - m - bh, cw, bh) : rect(W / 2 - cw / 2, info.y + info.h - bh, cw, bh));
        break;
    }
    case SCREEN_SUPERVISOR: {
        float hb = roundf(S * 0.13f);
        n = add(t, n, T_DAY_PREV, 0, rect(m, m, hb * 1.3f, hb));
        n = add(t, n, T_DAY_NEXT, 0, rect(W - m - hb * 1.3f, m, hb * 1.3f, hb));
        f->title = rect(m + hb * 1.3f + gap, m, W - 2 * m - 2 * (hb * 1.3f + gap), hb);
        float fy = H - m - hb;
        float bw = (W - 2 * m - 2 * gap) / 3;
        n = add(t, n, T_SYNC, 0, rect(m, fy, bw, hb));
        n = add(t, n, T_CLOSE, 0, rect(m + bw + gap, fy, bw, hb));
        n = add(t, n, T_EXIT_APP, 0, rect(m + 2 * (bw + gap), fy, bw, hb));
        float sh = roundf(H * (land ? 0.17f : 0.1f));
        f->status = rect(m, fy - gap / 2 - sh, W - 2 * m, sh);
        float top = m + hb + gap / 2, bottom = f->status.y - gap / 2;
        if(land) {
            f->table = rect(m, top, (W - 2 * m) * 0.56f, bottom - top);
            f->chart = rect(m + (W - 2 * m) * 0.56f + gap, top, (W - 2 * m) * 0.44f - gap, bottom - top);
        } else {
            f->table = rect(m, top, W - 2 * m, (bottom - top) * 0.5f);
            f->chart = rect(m, top + (bottom - top) * 0.5f + gap, W - 2 * m, (bottom - top) * 0.5f - gap);
        }
        break;
    }
    case SCREEN_COUNT: break;
    }
    return header_buttons(ui, f, t, n, W, S, m, gap, bh);
}
