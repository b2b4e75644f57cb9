/* ui_draw.c — one draw function per screen, all reading the Ui and the shared layout (ui_layout.c).
 *
 * Text is fitted to its box: wrapped at spaces and shrunk step by step until it fits, so long Vietnamese
 * names ("Lao động – Thương binh và Xã hội") stay whole at 800×480 and in portrait. Start at ui_draw(). */
#include "kiosk/ui_draw.h"

#include <SDL2/SDL_ttf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiosk/strings.h"
#include "kiosk/ui_internal.h"
#include "kiosk/ui_shapes.h"
#include "sync/ptime.h"

/* ---- Theme (contrast of every text pair ≥ 4.5:1; checked by tests/ui/test_ui_logic.c) -------------- */

static const SDL_Color BG = {0xF4, 0xF1, 0xEA, 255};
static const SDL_Color INK = {0x1F, 0x23, 0x28, 255};
static const SDL_Color MUTED = {0x4A, 0x50, 0x58, 255};
static const SDL_Color CARD = {0xFF, 0xFF, 0xFF, 255};
static const SDL_Color CARD_PRESSED = {0xD6, 0xE4, 0xF2, 255};
static const SDL_Color LINE = {0x8A, 0x90, 0x98, 255};
static const SDL_Color PRIMARY = {0x0B, 0x4F, 0x8A, 255};
static const SDL_Color PRIMARY_PRESSED = {0x07, 0x35, 0x5E, 255};
static const SDL_Color ON_PRIMARY = {0xFF, 0xFF, 0xFF, 255};
static const SDL_Color DISABLED_BG = {0xE2, 0xE0, 0xDA, 255};
static const SDL_Color DISABLED_FG = {0x5A, 0x60, 0x68, 255};
static const SDL_Color GOOD = {0x2E, 0x7D, 0x32, 255};
static const SDL_Color WARN_BAR = {0xC2, 0x6A, 0x00, 255};
static const SDL_Color ALERT = {0xA3, 0x1F, 0x1F, 255};
static const SDL_Color INFO = {0x1A, 0x5F, 0xB4, 255};
static const SDL_Color T2025 = {0x1A, 0x5F, 0xB4, 255};
static const SDL_Color T2030 = {0x6A, 0x1B, 0x9A, 255};
static const SDL_Color LISTEN_ON = {0x1B, 0x6B, 0x2A, 255};         /* "Nghe" while listening */
static const SDL_Color LISTEN_ON_PRESSED = {0x12, 0x4A, 0x1D, 255};

static const UiColorPair TEXT_PAIRS[] = {
    {INK, BG, "text on background"},          {MUTED, BG, "secondary text on background"},
    {INK, CARD, "text on tiles"},             {INK, CARD_PRESSED, "text on a pressed tile"},
    {ON_PRIMARY, PRIMARY, "primary buttons"}, {ON_PRIMARY, PRIMARY_PRESSED, "pressed primary buttons"},
    {DISABLED_FG, DISABLED_BG, "locked keypad"}, {ALERT, BG, "PIN error"}, {MUTED, CARD, "table cells"},
    {T2025, CARD, "2025 legend"},             {T2030, CARD, "2030 legend"}, {INFO, BG, "notices"},
    {ON_PRIMARY, LISTEN_ON, "the Nghe button while listening"},
    {ON_PRIMARY, LISTEN_ON_PRESSED, "the Nghe button pressed while listening"},
};

size_t ui_theme_text_pairs(const UiColorPair **pairs)
{
    *pairs = TEXT_PAIRS;
    return sizeof TEXT_PAIRS / sizeof TEXT_PAIRS[0];
}

/* ---- Fonts and the text cache ---------------------------------------------------------------------- */

#define FONT_MAX_PX 240
#define FONT_MIN_PX 10
#define TEXT_CACHE 256
#define MAX_LINES 8

typedef struct {
    uint64_t     key;
    SDL_Texture *tex;
    int          w, h;
    uint64_t     used;
} TextEntry;

typedef enum { AL_LEFT, AL_CENTER, AL_RIGHT } Align;

typedef struct {
    char text[MAX_LINES][256];
    int  n, px, line_h, widest;
} Lines;

#define FIT_CACHE 256 /* laid-out texts (direct-mapped by hash) */
typedef struct {
    uint64_t key;
    bool     valid;
    Lines    lines;
} FitEntry;

struct UiGfx {
    SDL_Renderer *r;
    void         *font_data[2];
    size_t        font_len[2];
    TTF_Font     *fonts[2][FONT_MAX_PX + 1];
    TextEntry     cache[TEXT_CACHE];
    FitEntry      fits[FIT_CACHE];
    uint64_t      tick;
    size_t        overflows;         /* texts drawn taller than their box (ui_gfx_overflows) */
    char          first_overflow[96];
};

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if(!f)
        return NULL;
    void *buf = NULL;
    if(fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if(n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL) {
            if(fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                *len = (size_t)n;
            }
        }
    }
    fclose(f);
    return buf;
}

UiGfx *ui_gfx_new(SDL_Renderer *r, const char *font_dir, char *msg, size_t msg_len)
{
    if(!TTF_WasInit() && TTF_Init() != 0) {
        snprintf(msg, msg_len, "TTF_Init: %s", TTF_GetError());
        return NULL;
    }
    UiGfx *g = calloc(1, sizeof *g);
    if(!g) {
        snprintf(msg, msg_len, "out of memory");
        return NULL;
    }
    g->r = r;
    static const char *const FILES[2] = {"NotoSans-Regular.ttf", "NotoSans-Bold.ttf"};
    for(int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", font_dir, FILES[i]);
        g->font_data[i] = slurp(path, &g->font_len[i]);
        if(!g->font_data[i]) {
            snprintf(msg, msg_len, "cannot read the font %s (set --fonts DIR to the folder holding Noto Sans)", path);
            ui_gfx_free(g);
            return NULL;
        }
    }
    return g;
}

size_t ui_gfx_overflows(const UiGfx *g, const char **first)
{
    if(first)
        *first = g->first_overflow;
    return g->overflows;
}

void ui_gfx_free(UiGfx *g)
{
    if(!g)
        return;
    for(int b = 0; b < 2; b++) {
        for(int i = 0; i <= FONT_MAX_PX; i++)
            if(g->fonts[b][i])
                TTF_CloseFont(g->fonts[b][i]);
        free(g->font_data[b]);
    }
    for(int i = 0; i < TEXT_CACHE; i++)
        if(g->cache[i].tex)
            SDL_DestroyTexture(g->cache[i].tex);
    free(g);
}

static TTF_Font *font(UiGfx *g, int px, bool bold)
{
    px = px < FONT_MIN_PX ? FONT_MIN_PX : px > FONT_MAX_PX ? FONT_MAX_PX : px;
    TTF_Font **slot = &g->fonts[bold][px];
    if(!*slot) {
        SDL_RWops *rw = SDL_RWFromConstMem(g->font_data[bold], (int)g->font_len[bold]);
        *slot = rw ? TTF_OpenFontRW(rw, 1, px) : NULL;
    }
    return *slot;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for(size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* A texture of one line of text, from the cache when possible. */
static TextEntry *line_tex(UiGfx *g, const char *s, int px, bool bold, SDL_Color c)
{
    uint64_t key = fnv(s, strlen(s), 14695981039346656037ull);
    uint32_t meta[3] = {(uint32_t)px, bold, (uint32_t)c.r << 24 | (uint32_t)c.g << 16 | (uint32_t)c.b << 8 | c.a};
    key = fnv(meta, sizeof meta, key);
    TextEntry *victim = NULL; /* an empty slot, else the least recently used */
    g->tick++;
    for(int i = 0; i < TEXT_CACHE; i++) {
        TextEntry *e = &g->cache[i];
        if(e->tex && e->key == key) {
            e->used = g->tick;
            return e;
        }
        if(!victim || (victim->tex && (!e->tex || e->used < victim->used)))
            victim = e;
    }
    TTF_Font *f = font(g, px, bold);
    if(!f || !*s)
        return NULL;
    SDL_Surface *surf = TTF_RenderUTF8_Blended(f, s, c);
    if(!surf)
        return NULL;
    SDL_Texture *tex = SDL_CreateTextureFromSurface(g->r, surf);
    if(tex) {
        if(victim->tex)
            SDL_DestroyTexture(victim->tex);
        *victim = (TextEntry){key, tex, surf->w, surf->h, g->tick};
    }
    SDL_FreeSurface(surf);
    return tex ? victim : NULL;
}


static int width_of(TTF_Font *f, const char *s)
{
    int w = 0, h = 0;
    TTF_SizeUTF8(f, s, &w, &h);
    return w;
}

/* Greedy word wrap of s at px into at most MAX_LINES lines of width ≤ maxw. False when it does not fit. */
static bool wrap(UiGfx *g, const char *s, int px, bool bold, float maxw, Lines *out)
{
    TTF_Font *f = font(g, px, bold);
    if(!f)
        return false;
    out->n = 0;
    out->px = px;
    out->line_h = TTF_FontLineSkip(f);
    out->widest = 0;
    char cur[sizeof out->text[0]] = "";
    const char *p = s;
    while(*p) {
        while(*p == ' ')
            p++;
        if(!*p)
            break;
        const char *e = p;
        while(*e && *e != ' ')
            e++;
        /* Keep a spaced dash ("Tư pháp – Hộ tịch") at the end of its line, never at the start of the next. */
        if(e[0] == ' ' && strncmp(e + 1, "–", 3) == 0 && (e[4] == ' ' || e[4] == '\0'))
            e += 4;
        char trial[sizeof out->text[0]];
        int n = snprintf(trial, sizeof trial, "%s%s%.*s", cur, *cur ? " " : "", (int)(e - p), p);
        if(n >= (int)sizeof trial)
            return false;
        int w = width_of(f, trial);
        if(w <= maxw || !*cur) {
            if(w > maxw) /* one word wider than the box */
                return false;
            memcpy(cur, trial, (size_t)n + 1);
        } else {
            if(out->n == MAX_LINES)
                return false;
            int cw = width_of(f, cur);
            if(cw > out->widest)
                out->widest = cw;
            memcpy(out->text[out->n++], cur, strlen(cur) + 1);
            snprintf(cur, sizeof cur, "%.*s", (int)(e - p), p);
            if(width_of(f, cur) > maxw)
                return false;
        }
        p = e;
    }
    if(*cur) {
        if(out->n == MAX_LINES)
            return false;
        int cw = width_of(f, cur);
        if(cw > out->widest)
            out->widest = cw;
        memcpy(out->text[out->n++], cur, strlen(cur) + 1);
    }
    return true;
}

/* Finds the largest size ≤ max_px at which s fits box (wrapped at spaces), then evens out the lines, so a
 * title breaks into two similar halves rather than a long line and a lonely word. */
static void fit(UiGfx *g, const char *s, float boxw, float boxh, float max_px, bool bold, Lines *L)
{
    int px = (int)max_px;
    if(px > FONT_MAX_PX)
        px = FONT_MAX_PX;
    bool ok = false;
    for(;;) {
        ok = wrap(g, s, px, bold, boxw, L);
        if(ok && (float)(L->n * L->line_h) <= boxh)
            break;
        if(px <= FONT_MIN_PX)
            break;
        px = px * 92 / 100;
        if(px < FONT_MIN_PX)
            px = FONT_MIN_PX;
    }
    if(!ok) {
        L->n = 0;
        return;
    }
    if(L->n > 2) {
        /* Two lines at a slightly smaller size read better than three ("Thái độ của / cán bộ"). */
        Lines F;
        for(int p2 = px * 92 / 100; p2 >= px * 80 / 100 && p2 >= FONT_MIN_PX; p2 = p2 * 92 / 100)
            if(wrap(g, s, p2, bold, boxw, &F) && F.n < L->n && (float)(F.n * F.line_h) <= boxh) {
                *L = F;
                px = p2;
                break;
            }
    }
    if(L->n > 1) {
        int n = L->n;
        float lo = boxw / (float)n * 0.9f, hi = boxw;
        Lines T;
        for(int i = 0; i < 8; i++) {
            float mid = (lo + hi) / 2;
            if(wrap(g, s, px, bold, mid, &T) && T.n <= n)
                hi = mid;
            else
                lo = mid;
        }
        wrap(g, s, px, bold, hi, L);
    }
}

static const Lines *fit_cached(UiGfx *g, const char *s, UiRect box, float max_px, bool bold)
{
    uint64_t key = fnv(s, strlen(s), 14695981039346656037ull);
    int meta[4] = {(int)box.w, (int)box.h, (int)max_px, bold};
    key = fnv(meta, sizeof meta, key);
    FitEntry *slot = &g->fits[key % FIT_CACHE];
    if(!slot->valid || slot->key != key) {
        fit(g, s, box.w, box.h, max_px, bold, &slot->lines);
        slot->key = key;
        slot->valid = true;
    }
    return &slot->lines;
}

/* Draws s inside box, as large as possible up to max_px, wrapped; centred vertically. */
static void text(UiGfx *g, UiRect box, const char *s, float max_px, bool bold, SDL_Color c, Align al)
{
    const Lines *L = fit_cached(g, s, box, max_px, bold);
    float total = (float)(L->n * L->line_h);
    float y = box.y + (box.h - total) / 2;
    if(total > box.h + 1 || (L->n == 0 && *s)) { /* spills onto its neighbours, or too long even at the least size */
        if(!g->overflows++)
            snprintf(g->first_overflow, sizeof g->first_overflow, "%s", s);
    }
    for(int i = 0; i < L->n; i++) {
        TextEntry *e = line_tex(g, L->text[i], L->px, bold, c);
        if(e) {
            float x = al == AL_LEFT ? box.x : al == AL_RIGHT ? box.x + box.w - (float)e->w
                                                             : box.x + (box.w - (float)e->w) / 2;
            SDL_FRect dst = {SDL_roundf(x), SDL_roundf(y + (float)i * (float)L->line_h), (float)e->w, (float)e->h};
            SDL_RenderCopyF(g->r, e->tex, NULL, &dst);
        }
    }
}

/* ---- Building blocks ------------------------------------------------------------------------------- */

/* id's text in the language shown, with its slot filled by arg. */
static const char *tr_fill(const Ui *ui, char *out, size_t cap, StrId id, const char *arg)
{
    return str_fill_in(ui->cfg.packs, ui->lang, out, cap, id, arg);
}

static SDL_FRect fr(UiRect r) { return (SDL_FRect){r.x, r.y, r.w, r.h}; }
static UiRect inset(UiRect r, float d) { return (UiRect){r.x + d, r.y + d, r.w - 2 * d, r.h - 2 * d}; }

static void fill(SDL_Renderer *r, UiRect box, SDL_Color c)
{
    SDL_SetRenderDrawBlendMode(r, c.a == 255 ? SDL_BLENDMODE_NONE : SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(r, c.r, c.g, c.b, c.a);
    SDL_FRect f = fr(box);
    SDL_RenderFillRectF(r, &f);
}

static bool pressed(const Ui *ui, const UiTarget *t)
{
    return ui->pressing && ui->press_inside && ui->press.kind == t->kind && ui->press.index == t->index;
}

static const UiTarget *find(const UiTarget *t, size_t n, UiTargetKind k, int index)
{
    for(size_t i = 0; i < n; i++)
        if(t[i].kind == k && t[i].index == index)
            return &t[i];
    return NULL;
}

/* Listening mode: this target was read aloud and waits for its second touch. */
static bool armed(const Ui *ui, const UiTarget *t)
{
    return ui->armed && ui->armed_t.kind == t->kind && ui->armed_t.index == t->index;
}

/* A tile: white card with a border; the border and background say pressed. A tile read aloud in listening
 * mode (waiting for its second touch) gets a thick blue border, so "chosen next" never rests on sound alone. */
static void card(const Ui *ui, UiGfx *g, const UiTarget *t, SDL_Color border)
{
    float S = ui_short_side(ui), rad = S * 0.025f, bw = S * 0.006f + 1;
    bool a = armed(ui, t);
    shape_rrect_bordered(g->r, fr(t->r), rad, a ? bw * 3 : bw, a ? PRIMARY : border,
                         pressed(ui, t) || a ? CARD_PRESSED : CARD);
    if(a) { /* a loudspeaker badge: this is what is being read */
        float d = S * 0.075f;
        shape_circle(g->r, t->r.x + t->r.w - d * 0.75f, t->r.y + d * 0.75f, d / 2, PRIMARY);
        shape_speaker(g->r, (SDL_FRect){t->r.x + t->r.w - d * 1.08f, t->r.y + d * 0.42f, d * 0.66f, d * 0.66f},
                      ON_PRIMARY);
    }
}

typedef enum { BTN_PRIMARY, BTN_SECONDARY } BtnStyle;

static void button(const Ui *ui, UiGfx *g, const UiTarget *t, const char *label, BtnStyle st, bool enabled)
{
    if(!t)
        return;
    float S = ui_short_side(ui);
    bool p = pressed(ui, t) || armed(ui, t);
    SDL_Color bg = !enabled ? DISABLED_BG : st == BTN_PRIMARY ? (p ? PRIMARY_PRESSED : PRIMARY) : (p ? CARD_PRESSED : CARD);
    SDL_Color fg = !enabled ? DISABLED_FG : st == BTN_PRIMARY ? ON_PRIMARY : INK;
    if(st == BTN_SECONDARY || !enabled)
        shape_rrect_bordered(g->r, fr(t->r), S * 0.025f, (S * 0.005f + 1) * (armed(ui, t) ? 3 : 1),
                             enabled ? PRIMARY : LINE, bg);
    else
        shape_rrect(g->r, fr(t->r), S * 0.025f, bg);
    text(g, inset(t->r, S * 0.02f), label, t->r.h * 0.42f, true, fg, AL_CENTER);
}

static void title(const Ui *ui, UiGfx *g, UiRect r, const char *s)
{
    text(g, r, s, ui_short_side(ui) * 0.075f, true, INK, AL_CENTER);
}

/* ---- Screens --------------------------------------------------------------------------------------- */

typedef enum { ICON_AREA, ICON_RESPONDENT, ICON_WAIT } IconKind;

static void icon(UiGfx *g, IconKind k, int which, SDL_FRect box)
{
    switch(k) {
    case ICON_AREA: shape_area_icon(g->r, (ProtoArea)which, box); break;
    case ICON_RESPONDENT: shape_respondent_icon(g->r, (ProtoRespondent)which, box); break;
    case ICON_WAIT: shape_wait_icon(g->r, (ProtoWait)which, box); break;
    }
}

/* Where a big tile's icon and words go: the icon above the words, or beside them in a wide tile (portrait). */
static void tile_boxes(const Ui *ui, UiRect r, SDL_FRect *icon_box, UiRect *words, bool *beside)
{
    float pad = ui_short_side(ui) * 0.02f;
    *beside = r.w > r.h * 1.9f;
    if(*beside) {
        float is = r.h - 2 * pad;
        *icon_box = (SDL_FRect){r.x + pad * 2, r.y + pad, is, is};
        *words = (UiRect){r.x + pad * 4 + is, r.y + pad, r.w - is - pad * 6, r.h - 2 * pad};
    } else { /* the pair centred in the tile */
        float is = SDL_min(r.h * 0.5f, r.w * 0.62f);
        float lh = SDL_min(r.h - is - pad * 3.5f, ui_short_side(ui) * 0.17f);
        float y0 = r.y + (r.h - is - pad - lh) / 2;
        *icon_box = (SDL_FRect){r.x + (r.w - is) / 2, y0, is, is};
        *words = (UiRect){r.x + pad, y0 + is + pad, r.w - 2 * pad, lh};
    }
}

/* A big tile with an icon and its words, at most px_beside / px_below pixels. */
static void icon_tile(const Ui *ui, UiGfx *g, const UiTarget *t, IconKind k, int which, const char *label,
                      float px_beside, float px_below, SDL_Color border)
{
    SDL_FRect ib;
    UiRect words;
    bool beside;
    tile_boxes(ui, t->r, &ib, &words, &beside);
    card(ui, g, t, border);
    icon(g, k, which, ib);
    text(g, words, label, beside ? px_beside : px_below, true, INK, beside ? AL_LEFT : AL_CENTER);
}

static void draw_area(const Ui *ui, UiGfx *g, const UiFrame *f, const UiTarget *t, size_t n)
{
    title(ui, g, f->title, ui_str(ui, STR_AREA_TITLE));
    float S = ui_short_side(ui);
    for(size_t i = 0; i < n; i++)
        if(t[i].kind == T_AREA) {
            ProtoArea a = ui->cfg.areas[t[i].index];
            icon_tile(ui, g, &t[i], ICON_AREA, (int)a, ui_str(ui, str_area(a)), S * 0.06f, S * 0.065f, LINE);
        }
}

/* Người dân · Doanh nghiệp · Tổ chức, or the three waits: one tap each, "Bỏ qua" to skip. */
static void draw_choice(const Ui *ui, UiGfx *g, const UiFrame *f, const UiTarget *t, size_t n)
{
    bool who = ui->screen == SCREEN_RESPONDENT;
    float S = ui_short_side(ui), px = S * 0.08f;
    title(ui, g, f->title, ui_str(ui, who ? STR_RESPONDENT_TITLE : STR_WAIT_TITLE));
    /* One text size for all three (the largest every label fits at), as on the rating screen. */
    for(int pass = 0; pass < 2; pass++)
        for(size_t i = 0; i < n; i++) {
            if(t[i].kind != T_RESPONDENT && t[i].kind != T_WAIT)
                continue;
            const char *label = who ? ui_str(ui, str_respondent((ProtoRespondent)t[i].index))
                                    : ui_str(ui, str_wait((ProtoWait)t[i].index));
            if(pass == 0) {
                SDL_FRect ib;
                UiRect words;
                bool beside;
                tile_boxes(ui, t[i].r, &ib, &words, &beside);
                px = SDL_min(px, (float)fit_cached(g, label, words, S * 0.08f, true)->px);
            } else if(who) {
                icon_tile(ui, g, &t[i], ICON_RESPONDENT, t[i].index, label, px, px, LINE);
            } else { /* the border in the clock's colour too: colour and words */
                icon_tile(ui, g, &t[i], ICON_WAIT, t[i].index, label, px, px, shape_wait_color((ProtoWait)t[i].index));
            }
        }
    button(ui, g, find(t, n, T_SKIP, 0), ui_str(ui, STR_SKIP), BTN_SECONDARY, true);
}

static void draw_rating(const Ui *ui, UiGfx *g, const UiFrame *f, const UiTarget *t, size_t n)
{
    float S = ui_short_side(ui);
    bool service = ui->screen == SCREEN_SERVICE;
    title(ui, g, f->title, ui_str(ui, service ? STR_SERVICE_TITLE : STR_RATING_TITLE));
    char sub[320];
    if(service)
        snprintf(sub, sizeof sub, "%s", ui_str(ui, STR_SERVICE_HINT));
    else
        tr_fill(ui, sub, sizeof sub, STR_RATING_AREA, ui_str(ui, str_area(ui->cfg.areas[ui->area_index])));
    text(g, f->subtitle, sub, S * 0.05f, false, MUTED, AL_CENTER);
    /* All labels at one size (the largest every label fits at), so no level looks more important. */
    float label_px = S * 0.075f;
    for(int pass = 0; pass < 2; pass++) {
    for(size_t i = 0; i < n; i++) {
        if(t[i].kind != T_FACE)
            continue;
        int score = t[i].index;
        UiRect r = t[i].r;
        SDL_Color col = shape_face_color(ui->cfg.scale, score);
        if(pass == 1)
            card(ui, g, &t[i], col);
        const char *label = ui_str(ui, str_level(ui->cfg.scale, score));
        float pad = S * 0.025f;
        if(r.w > r.h * 1.6f) { /* portrait rows: face left, label right */
            float d = r.h - 2 * pad;
            if(pass == 1)
                shape_face(g->r, ui->cfg.scale, score, r.x + pad * 2 + d / 2, r.y + r.h / 2, d);
            UiRect tr = {r.x + pad * 4 + d, r.y + pad, r.w - d - pad * 6, r.h - 2 * pad};
            if(pass == 0)
                label_px = SDL_min(label_px, (float)fit_cached(g, label, tr, S * 0.075f, true)->px);
            else
                text(g, tr, label, label_px, true, INK, AL_LEFT);
        } else {
            float lh = r.h * 0.3f;
            float d = r.h - lh - 3 * pad;
            if(d > r.w - 2 * pad)
                d = r.w - 2 * pad;
            float fy = r.y + pad + (r.h - lh - 2 * pad - d) / 2;
            if(pass == 1)
                shape_face(g->r, ui->cfg.scale, score, r.x + r.w / 2, fy + d / 2, d);
            UiRect tr = {r.x + pad, r.y + r.h - lh - pad, r.w - 2 * pad, lh};
            if(pass == 0)
                label_px = SDL_min(label_px, (float)fit_cached(g, label, tr, S * 0.065f, true)->px);
            else
                text(g, tr, label, label_px, true, INK, AL_CENTER);
        }
    }
    }
    button(ui, g, find(t, n, T_BACK, 0), ui_str(ui, STR_BACK), BTN_SECONDARY, true);
    button(ui, g, find(t, n, T_SKIP, 0), ui_str(ui, STR_SKIP), BTN_SECONDARY, true);
}

static void draw_reasons(const Ui *ui, UiGfx *g, const UiFrame *f, const UiTarget *t, size_t n)
{
    float S = ui_short_side(ui);
    title(ui, g, f->title, ui_str(ui, STR_REASONS_TITLE));
    text(g, f->subtitle, ui_str(ui, STR_REASONS_HINT), S * 0.05f, false, MUTED, AL_CENTER);
    /* One text size for every reason (the largest all fit at), as on the rating screen. */
    float label_px = S * 0.052f;
    for(int pass = 0; pass < 2; pass++) {
        for(size_t i = 0; i < n; i++) {
            if(t[i].kind != T_REASON)
                continue;
            bool on = ui->reasons & (1u << t[i].index);
            UiRect r = t[i].r;
            bool p = pressed(ui, &t[i]) || armed(ui, &t[i]);
            float rad = S * 0.025f, bs = S * 0.06f, pad = S * 0.018f;
            if(bs > r.h * 0.5f)
                bs = r.h * 0.5f;
            UiRect tr = {r.x + pad * 1.8f + bs, r.y + pad * 0.5f, r.w - bs - pad * 2.6f, r.h - pad};
            const char *label = ui_str(ui, str_reason((ProtoReason)t[i].index));
            if(pass == 0) {
                label_px = SDL_min(label_px, (float)fit_cached(g, label, tr, S * 0.052f, true)->px);
                continue;
            }
            shape_rrect_bordered(g->r, fr(r), rad, (S * 0.006f + 1) * (armed(ui, &t[i]) ? 3 : 1),
                                 on || armed(ui, &t[i]) ? PRIMARY : LINE,
                                 on ? (p ? PRIMARY_PRESSED : PRIMARY) : (p ? CARD_PRESSED : CARD));
            /* A check box: empty or ticked, so "chosen" never rests on colour alone. */
            SDL_FRect box = {r.x + pad, r.y + (r.h - bs) / 2, bs, bs};
            shape_rrect_bordered(g->r, box, bs * 0.15f, bs * 0.1f, on ? CARD : INK, CARD);
            if(on)
                shape_check(g->r, box, PRIMARY, bs * 0.16f);
            text(g, tr, label, label_px, true, on ? ON_PRIMARY : INK, AL_LEFT);
        }
    }
    button(ui, g, find(t, n, T_SKIP, 0), ui_str(ui, STR_SKIP), BTN_SECONDARY, true);
    button(ui, g, find(t, n, T_SEND, 0), ui_str(ui, STR_SEND), BTN_PRIMARY, true);
}

static void draw_thanks(const Ui *ui, UiGfx *g, const UiFrame *f)
{
    float S = ui_short_side(ui);
    SDL_FRect ic = fr(f->icon);
    shape_circle(g->r, ic.x + ic.w / 2, ic.y + ic.h / 2, ic.w / 2, GOOD);
    shape_check(g->r, (SDL_FRect){ic.x + ic.w * 0.2f, ic.y + ic.h * 0.2f, ic.w * 0.6f, ic.h * 0.6f}, CARD,
                ic.w * 0.08f);
    text(g, f->title, ui_str(ui, STR_THANKS_TITLE), S * 0.09f, true, INK, AL_CENTER);
    text(g, f->body, ui_str(ui, STR_THANKS_BODY), S * 0.05f, false, MUTED, AL_CENTER);
}

static void draw_storage_error(const Ui *ui, UiGfx *g, const UiFrame *f, const UiTarget *t, size_t n)
{
    float S = ui_short_side(ui);
    shape_info(g->r, fr(f->icon), INFO, CARD);
    text(g, f->title, ui_str(ui, STR_STORAGE_TITLE), S * 0.07f, true, INK, AL_CENTER);
    text(g, f->body, ui_str(ui, STR_STORAGE_BODY), S * 0.055f, false, INK, AL_CENTER);
    button(ui, g, find(t, n, T_RETRY, 0), ui_str(ui, STR_STORAGE_RETRY), BTN_PRIMARY, true);
}

static void draw_pin(const Ui *ui, UiGfx *g, const UiFrame *f, const UiTarget *t, size_t n)
{
    float S = ui_short_side(ui);
    bool locked = ui_pin_locked(ui, ui->last_now);
    title(ui, g, f->title, str(ui->pin_purpose == PIN_FOR_EXIT ? STR_PIN_TITLE_EXIT : STR_PIN_TITLE));
    /* Dots: one per digit typed, hollow slots up to the shortest PIN. */
    size_t slots = ui->pin_len > UI_PIN_MIN ? ui->pin_len : UI_PIN_MIN;
    float dr = f->dots.h * 0.22f, step = dr * 3.2f;
    float x0 = f->dots.x + f->dots.w / 2 - step * (float)(slots - 1) / 2, cy = f->dots.y + f->dots.h / 2;
    for(size_t i = 0; i < slots; i++) {
        if(i < ui->pin_len)
            shape_circle(g->r, x0 + step * (float)i, cy, dr, INK);
        else
            shape_ring(g->r, x0 + step * (float)i, cy, dr, dr * 0.24f, LINE, BG);
    }
    char msg[256] = "", num[24], span[64];
    if(locked) {
        /* Minutes up to an hour and a half, then whole hours (rounded up): "sau 5 phút", "sau 24 giờ". */
        int64_t min = (ui->pin_locked_until - ui->last_now + 59999) / 60000;
        snprintf(num, sizeof num, "%lld", (long long)(min <= 90 ? min : (min + 59) / 60));
        tr_fill(ui, span, sizeof span, min <= 90 ? STR_MINUTES : STR_HOURS, num);
        tr_fill(ui, msg, sizeof msg, STR_PIN_LOCKED, span);
    } else if(ui->pin_msg == PIN_MSG_WRONG) {
        snprintf(num, sizeof num, "%d", UI_PIN_TRIES - ui->pin_failures);
        tr_fill(ui, msg, sizeof msg, STR_PIN_WRONG, num);
    }
    if(*msg)
        text(g, f->message, msg, S * 0.05f, true, ALERT, AL_CENTER);
    for(size_t i = 0; i < n; i++) {
        char label[8];
        switch(t[i].kind) {
        case T_KEY:
            snprintf(label, sizeof label, "%d", t[i].index);
            button(ui, g, &t[i], label, BTN_SECONDARY, !locked);
            break;
        case T_KEY_DEL: button(ui, g, &t[i], ui_str(ui, STR_DELETE), BTN_SECONDARY, !locked && ui->pin_len > 0); break;
        case T_KEY_OK: button(ui, g, &t[i], ui_str(ui, STR_OK), BTN_PRIMARY, !locked && ui->pin_len >= UI_PIN_MIN); break;
        case T_CANCEL: button(ui, g, &t[i], ui_str(ui, STR_CANCEL), BTN_SECONDARY, true); break;
        default: break;
        }
    }
}

static void format_date(int64_t day, char out[16])
{
    int y, m, d;
    ptime_civil_from_days(day, &y, &m, &d);
    snprintf(out, 16, "%02d/%02d/%04d", d, m, y);
}

static void format_vn_time(int64_t unix_s, char out[40])
{
    int64_t local = unix_s + PTIME_VN_OFFSET_MIN * 60;
    int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int64_t sec = local - day * 86400;
    char date[16];
    format_date(day, date);
    snprintf(out, 40, "%02d:%02d %s", (int)(sec / 3600), (int)(sec / 60 % 60), date);
}

/* The areas shown on the supervisor screen: the configured ones, then any other with ratings that day. */
static int report_areas(const Ui *ui, ProtoArea out[AREA_COUNT])
{
    int n = 0;
    bool seen[AREA_COUNT] = {0};
    for(size_t i = 0; i < ui->cfg.n_areas; i++) {
        out[n++] = ui->cfg.areas[i];
        seen[ui->cfg.areas[i]] = true;
    }
    for(int a = 0; a < AREA_COUNT; a++)
        if(!seen[a] && ui->report_ok && (ui->report.totals.n[a] > 0 || ui->report.totals.flagged[a] > 0))
            out[n++] = (ProtoArea)a;
    return n;
}

static void pct_text(int64_t sat, int64_t n, char out[16])
{
    if(n <= 0)
        snprintf(out, 16, "—");
    else
        snprintf(out, 16, "%.1f%%", 100.0 * (double)sat / (double)n);
}

/* The service face's figure (group phuc_vu) and the wait indicator show when the kiosk asks them or the day
 * has answers (asked before the configuration changed). */
static bool show_service(const Ui *ui) { return ui->cfg.ask_service || (ui->report_ok && ui->report.totals.service_n); }
static bool show_wait(const Ui *ui) { return ui->cfg.ask_wait || (ui->report_ok && ui->report.totals.wait_n); }

/* A row label: the full text when it fits the row's box (wrapped, at a readable size), else its short form
 * (at 800×480 "Lao động – Thương binh và Xã hội" took two lines over its neighbours' rows). */
static const char *row_label(const Ui *ui, UiGfx *g, StrId full, StrId brief, UiRect box, float max_px, bool bold)
{
    const char *s = ui_str(ui, full);
    const Lines *L = fit_cached(g, s, box, max_px, bold);
    return L->n > 0 && (float)(L->n * L->line_h) <= box.h ? s : ui_str(ui, brief);
}

static void draw_table(const Ui *ui, UiGfx *g, UiRect box)
{
    const UiDayTotals *T = &ui->report.totals;
    ProtoArea areas[AREA_COUNT];
    int na = report_areas(ui, areas);
    int levels = proto_scale_levels(ui->cfg.scale);
    bool svc = show_service(ui);
    float S = ui_short_side(ui);
    shape_rrect(g->r, fr(box), S * 0.02f, CARD);
    box = inset(box, S * 0.015f);
    /* Rows: a taller header (its labels may take two lines), one per area, the total, the service face. */
    float rh = box.h / ((float)na + (svc ? 3.6f : 2.6f));
    if(rh > S * 0.085f)
        rh = S * 0.085f;
    float hh = rh * 1.6f;
    /* Columns: name, one narrow column per level, then n, % and flagged, which need more room. */
    float name_w = box.w * 0.3f, unit = (box.w - name_w) / ((float)levels + 1.0f + 1.7f + 1.6f);
    float col_x[PROTO_MAX_LEVELS + 4], col_w[PROTO_MAX_LEVELS + 4];
    float x = box.x + name_w;
    for(int c = 0; c < levels + 3; c++) {
        col_w[c] = unit * (c < levels ? 1.0f : c == levels ? 1.0f : c == levels + 1 ? 1.7f : 1.6f);
        col_x[c] = x;
        x += col_w[c];
    }
    float px = rh * 0.58f;
    /* Header: the faces of the scale, then n, %, flagged. */
    float y = box.y;
    text(g, (UiRect){box.x, y, name_w, hh}, ui_str(ui, STR_SUP_COL_AREA), px, true, INK, AL_LEFT);
    for(int l = 1; l <= levels; l++)
        shape_face(g->r, ui->cfg.scale, l, col_x[l - 1] + col_w[l - 1] / 2, y + hh / 2, rh * 0.85f);
    const StrId heads[3] = {STR_SUP_COL_N, STR_SUP_COL_PCT, STR_SUP_COL_FLAGGED};
    for(int k = 0; k < 3; k++)
        text(g, (UiRect){col_x[levels + k], y, col_w[levels + k] - 4, hh}, ui_str(ui, heads[k]), px * 0.85f, true, INK,
             AL_RIGHT);
    y += hh;
    fill(g->r, (UiRect){box.x, y - 1, box.w, 2}, LINE);
    int64_t lvl_total[PROTO_MAX_LEVELS + 1] = {0};
    for(int i = 0; i <= na + svc; i++) {
        bool total = i == na, service = i == na + 1, strong = total || service;
        char cell[32];
        UiRect cellbox = {box.x, y, name_w - 6, rh};
        const char *name = service ? ui_str(ui, STR_SUP_SERVICE) : total ? ui_str(ui, STR_SUP_TOTAL)
                                   : row_label(ui, g, str_area(areas[i]), str_area_short(areas[i]), cellbox, px, strong);
        text(g, cellbox, name, px, strong, INK, AL_LEFT);
        for(int l = 1; l <= levels; l++) {
            int64_t v = service ? T->service_count[ui->cfg.scale][l]
                        : total ? lvl_total[l] : T->count[areas[i]][ui->cfg.scale][l];
            if(!strong)
                lvl_total[l] += v;
            snprintf(cell, sizeof cell, "%lld", (long long)v);
            text(g, (UiRect){col_x[l - 1], y, col_w[l - 1], rh}, cell, px, strong, INK, AL_CENTER);
        }
        int64_t nn = service ? T->service_n : total ? T->total : T->n[areas[i]];
        int64_t sat = service ? T->service_satisfied : total ? T->total_satisfied : T->satisfied[areas[i]];
        int64_t fl = total ? T->total_flagged : service ? 0 : T->flagged[areas[i]];
        snprintf(cell, sizeof cell, "%lld", (long long)nn);
        text(g, (UiRect){col_x[levels], y, col_w[levels] - 4, rh}, cell, px, strong, INK, AL_RIGHT);
        pct_text(sat, nn, cell);
        text(g, (UiRect){col_x[levels + 1], y, col_w[levels + 1] - 4, rh}, cell, px, true, INK, AL_RIGHT);
        /* The service face has no flagged count of its own: its ratings are flagged in their area rows. */
        snprintf(cell, sizeof cell, service ? "—" : "%lld", (long long)fl);
        text(g, (UiRect){col_x[levels + 2], y, col_w[levels + 2] - 4, rh}, cell, px, total, fl ? ALERT : MUTED,
             AL_RIGHT);
        if(i == na - 1 || (svc && i == na))
            fill(g->r, (UiRect){box.x, y + rh - 1, box.w, 2}, LINE);
        y += rh;
    }
}

static void draw_chart(const Ui *ui, UiGfx *g, UiRect box)
{
    const UiDayTotals *T = &ui->report.totals;
    ProtoArea areas[AREA_COUNT];
    int na = report_areas(ui, areas);
    float S = ui_short_side(ui);
    shape_rrect(g->r, fr(box), S * 0.02f, CARD);
    box = inset(box, S * 0.015f);
    float head = box.h * 0.12f;
    if(head > S * 0.07f)
        head = S * 0.07f;
    text(g, (UiRect){box.x, box.y, box.w, head}, ui_str(ui, STR_SUP_CHART_TITLE), head * 0.62f, true, INK, AL_LEFT);
    /* Legend. */
    float ly = box.y + head, lh = head * 0.8f, half = box.w / 2;
    shape_line(g->r, box.x + 4, ly + lh / 2, box.x + lh, ly + lh / 2, 3, T2025);
    text(g, (UiRect){box.x + lh * 1.3f, ly, half - lh * 1.5f, lh}, ui_str(ui, STR_SUP_TARGET_2025), lh * 0.62f, false, T2025,
         AL_LEFT);
    shape_line(g->r, box.x + half, ly + lh / 2, box.x + half + lh, ly + lh / 2, 3, T2030);
    text(g, (UiRect){box.x + half + lh * 1.3f, ly, half - lh * 1.5f, lh}, ui_str(ui, STR_SUP_TARGET_2030), lh * 0.62f, false,
         T2030, AL_LEFT);
    /* One bar per area, then the service face (against phuc_vu's targets) and the share that waited at most
     * 30 minutes (a rule, no milestone: no target lines). */
    bool svc = show_service(ui), wait = show_wait(ui);
    int nb = na + svc + wait;
    float top = ly + lh + S * 0.01f, rh = (box.y + box.h - top) / (float)(nb > 0 ? nb : 1);
    if(T->total == 0 && T->total_flagged == 0) {
        text(g, (UiRect){box.x, top, box.w, box.y + box.h - top}, ui_str(ui, STR_SUP_NO_DATA), S * 0.045f, false, MUTED,
             AL_CENTER);
        return;
    }
    if(rh > S * 0.09f)
        rh = S * 0.09f;
    float label_w = box.w * 0.3f, tx = box.x + label_w + 6, tw = box.w - label_w - 6 - box.w * 0.16f;
    for(int i = 0; i < nb; i++) {
        bool service = i == na && svc, waited = i >= na && !service;
        float y = top + rh * (float)i;
        UiRect lbox = {box.x, y, label_w, rh};
        const char *label = service  ? ui_str(ui, STR_SUP_SERVICE)
                            : waited ? row_label(ui, g, STR_SUP_WAIT, STR_SUP_WAIT_SHORT, lbox, rh * 0.5f, true)
                                     : row_label(ui, g, str_area(areas[i]), str_area_short(areas[i]), lbox, rh * 0.5f,
                                                 false);
        int64_t sat = service ? T->service_satisfied : waited ? T->wait_within_30 : T->satisfied[areas[i]];
        int64_t n = service ? T->service_n : waited ? T->wait_n : T->n[areas[i]];
        ProtoGroup grp = service ? GROUP_PHUC_VU : waited ? GROUP_COUNT : proto_area_group(areas[i]);
        if(i == na)
            fill(g->r, (UiRect){box.x, y, box.w, 1}, LINE);
        text(g, lbox, label, rh * 0.5f, service || waited, INK, AL_LEFT);
        float bh = rh * 0.56f, by = y + (rh - bh) / 2;
        fill(g->r, (UiRect){tx, by, tw, bh}, DISABLED_BG);
        int t25 = proto_group_default_target(grp, 2025), t30 = proto_group_default_target(grp, 2030);
        char cell[16];
        if(n > 0) {
            double pct = 100.0 * (double)sat / (double)n;
            fill(g->r, (UiRect){tx, by, (float)(tw * pct / 100.0), bh}, waited ? INFO : pct >= t25 ? GOOD : WARN_BAR);
        }
        pct_text(sat, n, cell);
        text(g, (UiRect){tx + tw + 4, y, box.x + box.w - tx - tw - 4, rh}, cell, rh * 0.5f, true, INK, AL_RIGHT);
        if(t25 > 0)
            fill(g->r, (UiRect){tx + tw * (float)t25 / 100 - 1.5f, y + rh * 0.08f, 3, rh * 0.84f}, T2025);
        if(t30 > 0)
            fill(g->r, (UiRect){tx + tw * (float)t30 / 100 - 1.5f, y + rh * 0.08f, 3, rh * 0.84f}, T2030);
    }
}

/* Appends "   ·   " and id's text with its slot filled by arg to a status line (left out whole when it does
 * not fit). The item's own spaces become no-break spaces, so a narrow (portrait) screen wraps the line
 * between items, never inside one. */
static void status_part(const Ui *ui, char *line, size_t cap, StrId id, const char *arg)
{
    static const char SEP[] = "\xc2\xa0· ", NBSP[] = "\xc2\xa0"; /* "·" stays with the item before it */
    char item[256];
    tr_fill(ui, item, sizeof item, id, arg);
    size_t l = strlen(line), need = strlen(item);
    for(const char *p = item; *p; p++)
        need += *p == ' ';
    if(l)
        need += sizeof SEP - 1;
    if(l + need >= cap)
        return;
    if(l) {
        memcpy(line + l, SEP, sizeof SEP - 1);
        l += sizeof SEP - 1;
    }
    for(const char *p = item; *p; p++) {
        if(*p == ' ') {
            memcpy(line + l, NBSP, 2);
            l += 2;
        } else {
            line[l++] = *p;
        }
    }
    line[l] = '\0';
}

static void draw_supervisor(const Ui *ui, UiGfx *g, const UiFrame *f, const UiTarget *t, size_t n)
{
    float S = ui_short_side(ui);
    char date[16], head[128];
    format_date(ui->sup_day, date);
    tr_fill(ui, head, sizeof head, STR_SUP_TITLE, date);
    if(ui->sup_day == ui->sup_today) {
        size_t l = strlen(head);
        snprintf(head + l, sizeof head - l, " %s", ui_str(ui, STR_SUP_TODAY));
    }
    const UiDayReport *R = &ui->report;
    text(g, f->title, head, S * 0.06f, true, INK, AL_CENTER);
    button(ui, g, find(t, n, T_DAY_PREV, 0), "‹", BTN_SECONDARY, !ui->report_ok || ui->sup_day > R->history_from);
    button(ui, g, find(t, n, T_DAY_NEXT, 0), "›", BTN_SECONDARY, ui->sup_day < ui->sup_today);
    if(!ui->report_ok) {
        text(g, f->table, ui_str(ui, STR_SUP_READ_FAILED), S * 0.05f, true, ALERT, AL_CENTER);
    } else {
        draw_table(ui, g, f->table);
        draw_chart(ui, g, f->chart);
    }
    /* Status: three lines. */
    char line[4][400] = {""}, num[24], when[40];
    snprintf(num, sizeof num, "%lld", (long long)R->pending);
    status_part(ui, line[0], sizeof line[0], STR_SUP_PENDING, num);
    snprintf(num, sizeof num, "%lld", (long long)R->totals.total_flagged);
    status_part(ui, line[0], sizeof line[0], STR_SUP_FLAGGED, num);
    if(R->rejected) { /* refused by the server and never retried: staff should know they exist */
        snprintf(num, sizeof num, "%lld", (long long)R->rejected);
        status_part(ui, line[0], sizeof line[0], STR_SUP_REJECTED, num);
    }
    if(ui->report_ok && show_wait(ui)) { /* the 30-minute rule, with its n */
        char share[64], pct[16];
        pct_text(R->totals.wait_within_30, R->totals.wait_n, pct);
        snprintf(share, sizeof share, "%s (%lld/%lld)", pct, (long long)R->totals.wait_within_30,
                 (long long)R->totals.wait_n);
        status_part(ui, line[0], sizeof line[0], STR_SUP_WAIT_LINE, share);
    }
    if(ui->report_ok) { /* how far back ‹ goes */
        format_date(R->history_from, date);
        status_part(ui, line[0], sizeof line[0], R->history_pruned ? STR_SUP_HISTORY_PRUNED : STR_SUP_HISTORY, date);
    }
    if(ui->sync_failed) {
        tr_fill(ui, line[1], sizeof line[1], STR_SUP_SYNC_FAILED, NULL);
    } else if(R->sync_requested_at) {
        format_vn_time(R->sync_requested_at, when);
        tr_fill(ui, line[1], sizeof line[1], STR_SUP_SYNC_WAITING, when);
    } else if(R->last_success) {
        format_vn_time(R->last_success, when);
        tr_fill(ui, line[1], sizeof line[1], STR_SUP_LAST_OK, when);
    } else {
        tr_fill(ui, line[1], sizeof line[1], STR_SUP_LAST_OK, ui_str(ui, STR_SUP_NEVER));
    }
    if(R->last_error[0])
        tr_fill(ui, line[2], sizeof line[2], STR_SUP_LAST_ERROR, R->last_error);
    else
        tr_fill(ui, line[2], sizeof line[2], STR_SUP_NO_ERROR, NULL);
    /* A fourth line when the uploader saw the clock is off: ratings would carry wrong dates. */
    int nl = 3;
    if(R->clock_warning)
        tr_fill(ui, line[nl++], sizeof line[3], STR_SUP_CLOCK_WARNING, NULL);
    float lh = f->status.h / (float)nl;
    for(int i = 0; i < nl; i++) {
        bool alert = (i == 2 && R->last_error[0]) || i == 3;
        text(g, (UiRect){f->status.x, f->status.y + lh * (float)i, f->status.w, lh}, line[i],
             f->status.h / 3 * 0.62f, i == 1 || i == 3, alert ? ALERT : INK, AL_LEFT);
    }
    button(ui, g, find(t, n, T_SYNC, 0), ui_str(ui, STR_SUP_SYNC_NOW), BTN_PRIMARY, true);
    button(ui, g, find(t, n, T_CLOSE, 0), ui_str(ui, STR_SUP_CLOSE), BTN_SECONDARY, true);
    button(ui, g, find(t, n, T_EXIT_APP, 0), ui_str(ui, STR_SUP_EXIT_APP), BTN_SECONDARY, true);
}

/* The "Nghe" button (loudspeaker and word; green while listening) and the language button (globe and the
 * next language's own name), at the top right of citizen screens. */
static void draw_header_buttons(const Ui *ui, UiGfx *g, const UiTarget *t, size_t n)
{
    float S = ui_short_side(ui);
    const UiTarget *b = find(t, n, T_LISTEN, 0);
    if(b) {
        bool p = pressed(ui, b);
        SDL_Color bg = ui->listening ? (p ? LISTEN_ON_PRESSED : LISTEN_ON) : (p ? PRIMARY_PRESSED : PRIMARY);
        shape_rrect(g->r, fr(b->r), S * 0.025f, bg);
        float is = b->r.h * 0.5f, pad = b->r.h * 0.14f;
        shape_speaker(g->r, (SDL_FRect){b->r.x + pad, b->r.y + (b->r.h - is) / 2, is, is}, ON_PRIMARY);
        text(g, (UiRect){b->r.x + pad * 1.5f + is, b->r.y, b->r.w - is - pad * 2.5f, b->r.h}, ui_str(ui, STR_LISTEN),
             b->r.h * 0.4f, true, ON_PRIMARY, AL_CENTER);
    }
    b = find(t, n, T_LANG, 0);
    int next = ui_next_lang(ui);
    if(b && next >= 0) {
        bool p = pressed(ui, b);
        shape_rrect_bordered(g->r, fr(b->r), S * 0.025f, S * 0.005f + 1, PRIMARY, p ? CARD_PRESSED : CARD);
        float is = b->r.h * 0.46f, pad = b->r.h * 0.14f;
        shape_globe(g->r, (SDL_FRect){b->r.x + pad, b->r.y + (b->r.h - is) / 2, is, is}, PRIMARY, p ? CARD_PRESSED : CARD);
        text(g, (UiRect){b->r.x + pad * 1.5f + is, b->r.y, b->r.w - is - pad * 2.5f, b->r.h},
             str_in(ui->cfg.packs, (size_t)next, STR_LANG_NAME), b->r.h * 0.3f, true, INK, AL_CENTER);
    }
}

void ui_draw(const Ui *ui, UiGfx *g)
{
    UiFrame f;
    UiTarget t[UI_MAX_TARGETS];
    size_t n = ui_layout(ui, &f, t);
    SDL_SetRenderDrawColor(g->r, BG.r, BG.g, BG.b, 255);
    SDL_RenderClear(g->r);
    switch(ui->screen) {
    case SCREEN_AREA: draw_area(ui, g, &f, t, n); break;
    case SCREEN_RATING:
    case SCREEN_SERVICE: draw_rating(ui, g, &f, t, n); break;
    case SCREEN_REASONS: draw_reasons(ui, g, &f, t, n); break;
    case SCREEN_RESPONDENT:
    case SCREEN_WAIT: draw_choice(ui, g, &f, t, n); break;
    case SCREEN_THANKS: draw_thanks(ui, g, &f); break;
    case SCREEN_STORAGE_ERROR: draw_storage_error(ui, g, &f, t, n); break;
    case SCREEN_PIN: draw_pin(ui, g, &f, t, n); break;
    case SCREEN_SUPERVISOR: draw_supervisor(ui, g, &f, t, n); break;
    case SCREEN_COUNT: break;
    }
    draw_header_buttons(ui, g, t, n);
}
