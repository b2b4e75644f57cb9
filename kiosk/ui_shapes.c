/* ui_shapes.c — anti-aliased triangles for faces, icons and tiles. See ui_shapes.h.
 *
 * Each shape is built as a triangle list in a reusable buffer and sent with one SDL_RenderGeometry call.
 * Smooth edges come from a one-pixel "fringe": a band of triangles from full colour to alpha 0. */
#include "kiosk/ui_shapes.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define PI_F 3.14159265f

/* One vertex list and two triangle lists: opaque interiors, drawn without blending (the software
 * renderer fills those straight into the target), and the alpha fringes, drawn blended. */
typedef struct {
    int *idx;
    int  n, cap;
} Idx;

typedef struct {
    SDL_Vertex *v;
    int         nv, vcap;
    Idx         solid, blend;
    SDL_FRect  *rects;       /* scanline spans of a convex interior (one colour per shape) */
    int         nr, rcap;
    SDL_Color   rect_color;
} Geo;

static Geo G;

static int vert(float x, float y, SDL_Color c)
{
    if(G.nv == G.vcap) {
        int cap = G.vcap ? G.vcap * 2 : 1024;
        SDL_Vertex *v = realloc(G.v, (size_t)cap * sizeof *v);
        if(!v)
            return -1;
        G.v = v;
        G.vcap = cap;
    }
    G.v[G.nv] = (SDL_Vertex){{x, y}, c, {0, 0}};
    return G.nv++;
}

static void tri_in(Idx *l, int a, int b, int c)
{
    if(a < 0 || b < 0 || c < 0)
        return;
    if(l->n + 3 > l->cap) {
        int cap = l->cap ? l->cap * 2 : 3072;
        int *i = realloc(l->idx, (size_t)cap * sizeof *i);
        if(!i)
            return;
        l->idx = i;
        l->cap = cap;
    }
    l->idx[l->n++] = a;
    l->idx[l->n++] = b;
    l->idx[l->n++] = c;
}

/* A triangle goes to the opaque list when all three corners are opaque. */
static void tri(int a, int b, int c)
{
    if(a < 0 || b < 0 || c < 0)
        return;
    bool opaque = G.v[a].color.a == 255 && G.v[b].color.a == 255 && G.v[c].color.a == 255;
    tri_in(opaque ? &G.solid : &G.blend, a, b, c);
}

static void quad(int a, int b, int c, int d) /* a-b on one edge, d-c on the other */
{
    tri(a, b, c);
    tri(a, c, d);
}

static void span(float x0, float x1, float y, SDL_Color c)
{
    if(G.nr == G.rcap) {
        int cap = G.rcap ? G.rcap * 2 : 1024;
        SDL_FRect *n = realloc(G.rects, (size_t)cap * sizeof *n);
        if(!n)
            return;
        G.rects = n;
        G.rcap = cap;
    }
    G.rects[G.nr++] = (SDL_FRect){x0, y, x1 - x0, 1};
    G.rect_color = c;
}

static void flush(SDL_Renderer *r)
{
    if(G.nr > 0) { /* big interiors as spans: the software renderer fills rectangles fastest */
        SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
        SDL_SetRenderDrawColor(r, G.rect_color.r, G.rect_color.g, G.rect_color.b, 255);
        SDL_RenderFillRectsF(r, G.rects, G.nr);
        G.nr = 0;
    }
    if(G.solid.n > 0) {
        SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
        SDL_RenderGeometry(r, NULL, G.v, G.nv, G.solid.idx, G.solid.n);
    }
    if(G.blend.n > 0) {
        SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND);
        SDL_RenderGeometry(r, NULL, G.v, G.nv, G.blend.idx, G.blend.n);
    }
    G.nv = G.solid.n = G.blend.n = 0;
}

static SDL_Color clear_of(SDL_Color c) { return (SDL_Color){c.r, c.g, c.b, 0}; }

static int segments(float rad, float span)
{
    int n = (int)(rad * span * 0.3f);
    return n < 8 ? 8 : n > 512 ? 512 : n;
}

/* A band along a polyline of n points with unit normals: from offset lo to hi (pixels along the normal),
 * with fringes outside both edges. */
static void band(const SDL_FPoint *p, const SDL_FPoint *nrm, int n, float lo, float hi, bool closed, SDL_Color c)
{
    SDL_Color z = clear_of(c);
    /* The core overlaps the fringes a little: the software rasteriser leaves pixels whose centres fall exactly
     * on a shared edge uncovered, and an overlap closes those seams. */
    float offs[4] = {lo - 0.5f, lo + 0.25f, hi - 0.25f, hi + 0.5f};
    if(hi - lo < 1.0f) { /* hairline: fade around the centre */
        float mid = (lo + hi) / 2;
        offs[1] = offs[2] = mid;
    }
    int base = G.nv;
    for(int i = 0; i < n; i++)
        for(int k = 0; k < 4; k++)
            vert(p[i].x + nrm[i].x * offs[k], p[i].y + nrm[i].y * offs[k], (k == 0 || k == 3) ? z : c);
    int segs = closed ? n : n - 1;
    for(int i = 0; i < segs; i++) {
        int a = base + i * 4, b = base + ((i + 1) % n) * 4;
        for(int k = 0; k < 3; k++)
            quad(a + k, b + k, b + k + 1, a + k + 1);
    }
}

/* Fills a convex polygon (points with outward unit normals): the interior as one span per pixel row (a
 * triangle fan would cost the software renderer each triangle's whole bounding box), then a one-pixel
 * fringe fading out across the edge. */
static void convex(const SDL_FPoint *p, const SDL_FPoint *nrm, int n, SDL_Color c)
{
    if(c.a != 255) { /* translucent: a blended fan (not used by the theme, kept correct) */
        float cx = 0, cy = 0;
        for(int i = 0; i < n; i++) {
            cx += p[i].x;
            cy += p[i].y;
        }
        int centre = vert(cx / (float)n, cy / (float)n, c), base = G.nv;
        for(int i = 0; i < n; i++)
            vert(p[i].x, p[i].y, c);
        for(int i = 0; i < n; i++)
            tri(centre, base + i, base + (i + 1) % n);
        return;
    }
    float miny = 1e30f, maxy = -1e30f;
    for(int i = 0; i < n; i++) {
        miny = fminf(miny, p[i].y);
        maxy = fmaxf(maxy, p[i].y);
    }
    for(float y = floorf(miny); y <= maxy; y += 1.0f) {
        float yc = y + 0.5f, x0 = 1e30f, x1 = -1e30f;
        for(int i = 0; i < n; i++) {
            const SDL_FPoint *a = &p[i], *b = &p[(i + 1) % n];
            if((a->y <= yc && b->y > yc) || (b->y <= yc && a->y > yc)) {
                float x = a->x + (yc - a->y) * (b->x - a->x) / (b->y - a->y);
                x0 = fminf(x0, x);
                x1 = fmaxf(x1, x);
            }
        }
        if(x1 > x0)
            span(SDL_roundf(x0), SDL_roundf(x1), y, c);
    }
    /* The fringe: from full colour half a pixel inside the edge to nothing half a pixel outside. */
    int base = G.nv;
    for(int i = 0; i < n; i++) {
        vert(p[i].x - nrm[i].x * 0.5f, p[i].y - nrm[i].y * 0.5f, c);
        vert(p[i].x + nrm[i].x * 0.5f, p[i].y + nrm[i].y * 0.5f, clear_of(c));
    }
    for(int i = 0; i < n; i++) {
        int a = base + i * 2, b = base + ((i + 1) % n) * 2;
        quad(a, b, b + 1, a + 1);
    }
}

#define MAXP 2048
static SDL_FPoint P[MAXP], N[MAXP];

void shape_circle(SDL_Renderer *r, float cx, float cy, float rad, SDL_Color c)
{
    int n = segments(rad, 2 * PI_F);
    for(int i = 0; i < n; i++) {
        float a = 2 * PI_F * (float)i / (float)n;
        N[i] = (SDL_FPoint){cosf(a), sinf(a)};
        P[i] = (SDL_FPoint){cx + N[i].x * rad, cy + N[i].y * rad};
    }
    convex(P, N, n, c);
    flush(r);
}

void shape_ring(SDL_Renderer *r, float cx, float cy, float rad, float thick, SDL_Color c, SDL_Color inside)
{
    /* Two discs (fast spans, smooth edges) rather than a band of slivers. */
    shape_circle(r, cx, cy, rad, c);
    shape_circle(r, cx, cy, rad - thick, inside);
}

void shape_arc(SDL_Renderer *r, float cx, float cy, float rad, float a0, float a1, float thick, SDL_Color c)
{
    int n = segments(rad, fabsf(a1 - a0)) + 1;
    for(int i = 0; i < n; i++) {
        float a = a0 + (a1 - a0) * (float)i / (float)(n - 1);
        N[i] = (SDL_FPoint){cosf(a), sinf(a)};
        P[i] = (SDL_FPoint){cx + N[i].x * rad, cy + N[i].y * rad};
    }
    band(P, N, n, -thick / 2, thick / 2, false, c);
    flush(r);
    /* Round caps. */
    shape_circle(r, P[0].x, P[0].y, thick / 2, c);
    shape_circle(r, P[n - 1].x, P[n - 1].y, thick / 2, c);
}

void shape_line(SDL_Renderer *r, float x0, float y0, float x1, float y1, float thick, SDL_Color c)
{
    float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
    if(len < 0.01f)
        return;
    SDL_FPoint nrm = {-dy / len, dx / len};
    P[0] = (SDL_FPoint){x0, y0};
    P[1] = (SDL_FPoint){x1, y1};
    N[0] = N[1] = nrm;
    band(P, N, 2, -thick / 2, thick / 2, false, c);
    flush(r);
    shape_circle(r, x0, y0, thick / 2, c);
    shape_circle(r, x1, y1, thick / 2, c);
}

/* Perimeter of a rounded box, inset by `inset`, clockwise, with outward normals. Long straight sides are
 * cut into short pieces: the software renderer fills long sliver triangles with gaps. */
static int rrect_path(SDL_FRect b, float radius, float inset)
{
    if(radius < 1)
        radius = 1;
    float rad = radius - inset;
    if(rad < 0)
        rad = 0;
    float x0 = b.x + radius, x1 = b.x + b.w - radius, y0 = b.y + radius, y1 = b.y + b.h - radius;
    const float cxs[4] = {x1, x0, x0, x1}, cys[4] = {y1, y1, y0, y0};
    int per = segments(radius, PI_F / 2) / 2, n = 0;
    for(int q = 0; q < 4; q++) {
        for(int i = 0; i <= per && n < MAXP; i++) {
            float a = PI_F / 2 * (float)q + PI_F / 2 * (float)i / (float)per;
            N[n] = (SDL_FPoint){cosf(a), sinf(a)};
            P[n] = (SDL_FPoint){cxs[q] + N[n].x * rad, cys[q] + N[n].y * rad};
            n++;
        }
        /* The straight side to the next corner. */
        int nq = (q + 1) % 4;
        float a = PI_F / 2 * (float)(q + 1);
        SDL_FPoint nrm = {cosf(a), sinf(a)};
        SDL_FPoint from = P[n - 1], to = {cxs[nq] + nrm.x * rad, cys[nq] + nrm.y * rad};
        float len = fabsf(to.x - from.x) + fabsf(to.y - from.y);
        int pieces = (int)(len / 24.0f);
        for(int k = 1; k < pieces && n < MAXP; k++) {
            float f = (float)k / (float)pieces;
            N[n] = nrm;
            P[n] = (SDL_FPoint){from.x + (to.x - from.x) * f, from.y + (to.y - from.y) * f};
            n++;
        }
    }
    return n;
}

void shape_rrect(SDL_Renderer *r, SDL_FRect box, float radius, SDL_Color c)
{
    float maxr = (box.w < box.h ? box.w : box.h) / 2;
    if(radius > maxr)
        radius = maxr;
    int n = rrect_path(box, radius, 0);
    convex(P, N, n, c);
    flush(r);
}

void shape_rrect_bordered(SDL_Renderer *r, SDL_FRect box, float radius, float thick, SDL_Color border, SDL_Color fill)
{
    shape_rrect(r, box, radius, border);
    SDL_FRect in = {box.x + thick, box.y + thick, box.w - 2 * thick, box.h - 2 * thick};
    if(in.w > 1 && in.h > 1)
        shape_rrect(r, in, radius > thick ? radius - thick : 1, fill);
}

void shape_poly(SDL_Renderer *r, const SDL_FPoint *p, int n, SDL_Color c)
{
    if(n < 3 || n > MAXP)
        return;
    /* Orientation decides which side is outside. */
    float area = 0;
    for(int i = 0; i < n; i++) {
        const SDL_FPoint *a = &p[i], *b = &p[(i + 1) % n];
        area += a->x * b->y - b->x * a->y;
    }
    float s = area > 0 ? 1.0f : -1.0f;
    for(int i = 0; i < n; i++) {
        const SDL_FPoint *a = &p[(i + n - 1) % n], *b = &p[i], *c2 = &p[(i + 1) % n];
        float e1x = b->x - a->x, e1y = b->y - a->y, e2x = c2->x - b->x, e2y = c2->y - b->y;
        float l1 = sqrtf(e1x * e1x + e1y * e1y), l2 = sqrtf(e2x * e2x + e2y * e2y);
        if(l1 < 1e-6f) l1 = 1;
        if(l2 < 1e-6f) l2 = 1;
        /* Outward normal of each edge (y down, clockwise on screen when area > 0). */
        float n1x = s * e1y / l1, n1y = -s * e1x / l1, n2x = s * e2y / l2, n2y = -s * e2x / l2;
        float nx = n1x + n2x, ny = n1y + n2y, ln = sqrtf(nx * nx + ny * ny);
        N[i] = ln > 1e-6f ? (SDL_FPoint){nx / ln, ny / ln} : (SDL_FPoint){n1x, n1y};
        P[i] = *b;
    }
    SDL_FPoint pts[MAXP];
    SDL_memcpy(pts, P, sizeof(SDL_FPoint) * (size_t)n);
    convex(pts, N, n, c);
    flush(r);
}

/* ---- Faces ----------------------------------------------------------------------------------------- */

typedef struct { int valence; SDL_Color fill; } FaceStyle;

static FaceStyle face_style(ProtoScale s, int score)
{
    static const SDL_Color RED = {0xE5, 0x48, 0x3F, 255}, ORANGE = {0xF2, 0x8C, 0x28, 255},
                           AMBER = {0xF6, 0xC8, 0x2E, 255}, LIGHT_GREEN = {0x8B, 0xC3, 0x4A, 255},
                           GREEN = {0x3D, 0xA3, 0x5D, 255};
    if(s == SCALE_TTHC3) {
        static const FaceStyle T[4] = {{0, {0}}, {-1, RED}, {1, LIGHT_GREEN}, {2, GREEN}};
        if(score >= 1 && score <= 3)
            return T[score];
    } else {
        static const FaceStyle L[6] = {{0, {0}}, {-2, RED}, {-1, ORANGE}, {0, AMBER}, {1, LIGHT_GREEN}, {2, GREEN}};
        if(score >= 1 && score <= 5)
            return L[score];
    }
    return (FaceStyle){0, {200, 200, 200, 255}};
}

SDL_Color shape_face_color(ProtoScale s, int score) { return face_style(s, score).fill; }

void shape_face(SDL_Renderer *r, ProtoScale s, int score, float cx, float cy, float d)
{
    static const SDL_Color INK = {0x1F, 0x23, 0x28, 255};
    FaceStyle st = face_style(s, score);
    float R = d / 2;
    float t = R * 0.09f; /* stroke */
    shape_ring(r, cx, cy, R, t * 0.7f, INK, st.fill);
    float ex = R * 0.34f, ey = cy - R * 0.22f, er = R * 0.1f;
    shape_circle(r, cx - ex, ey, er, INK);
    shape_circle(r, cx + ex, ey, er, INK);
    switch(st.valence) {
    case 2: { /* open laughing mouth: a filled half disc */
        float mr = R * 0.48f, my = cy + R * 0.08f;
        int n = 40;
        SDL_FPoint p[41];
        for(int i = 0; i <= n; i++) {
            float a = PI_F * (float)i / (float)n;
            p[i] = (SDL_FPoint){cx + cosf(a) * mr, my + sinf(a) * mr};
        }
        shape_poly(r, p, n + 1, INK);
        break;
    }
    case 1: shape_arc(r, cx, cy - R * 0.02f, R * 0.5f, PI_F * 0.2f, PI_F * 0.8f, t, INK); break;
    case 0: shape_line(r, cx - R * 0.36f, cy + R * 0.4f, cx + R * 0.36f, cy + R * 0.4f, t, INK); break;
    case -1: shape_arc(r, cx, cy + R * 0.85f, R * 0.5f, PI_F * 1.22f, PI_F * 1.78f, t, INK); break;
    default: /* -2: deep frown and worried brows */
        shape_arc(r, cx, cy + R * 0.78f, R * 0.48f, PI_F * 1.12f, PI_F * 1.88f, t, INK);
        shape_line(r, cx - ex - er * 1.6f, ey - R * 0.26f, cx - ex + er * 1.4f, ey - R * 0.36f, t * 0.8f, INK);
        shape_line(r, cx + ex + er * 1.6f, ey - R * 0.26f, cx + ex - er * 1.4f, ey - R * 0.36f, t * 0.8f, INK);
        break;
    }
}

/* ---- Area icons (drawn in a unit square, scaled to the box) ---------------------------------------- */

typedef struct { float x, y, s; } Box;
static float X(Box b, float u) { return b.x + u * b.s; }
static float Y(Box b, float v) { return b.y + v * b.s; }

static void rect_u(SDL_Renderer *r, Box b, float u, float v, float w, float h, float rad, SDL_Color c)
{
    shape_rrect(r, (SDL_FRect){X(b, u), Y(b, v), w * b.s, h * b.s}, rad * b.s, c);
}

static void poly_u(SDL_Renderer *r, Box b, const float *uv, int n, SDL_Color c)
{
    SDL_FPoint p[16];
    for(int i = 0; i < n && i < 16; i++)
        p[i] = (SDL_FPoint){X(b, uv[2 * i]), Y(b, uv[2 * i + 1])};
    shape_poly(r, p, n, c);
}

void shape_area_icon(SDL_Renderer *r, ProtoArea a, SDL_FRect box)
{
    float s = box.w < box.h ? box.w : box.h;
    Box b = {box.x + (box.w - s) / 2, box.y + (box.h - s) / 2, s};
    const SDL_Color WHITE = {255, 255, 255, 255}, INK = {0x1F, 0x23, 0x28, 255};
    static const SDL_Color BG[AREA_COUNT] = {
        [AREA_DAT_DAI] = {0x2E, 0x7D, 0x32, 255},       [AREA_XAY_DUNG] = {0xE0, 0x6C, 0x00, 255},
        [AREA_DAU_TU] = {0x1A, 0x5F, 0xB4, 255},        [AREA_Y_TE] = {0xC6, 0x28, 0x28, 255},
        [AREA_GIAO_DUC] = {0x6A, 0x3D, 0x9A, 255},      [AREA_TU_PHAP_HO_TICH] = {0x00, 0x79, 0x6B, 255},
        [AREA_LAO_DONG_XA_HOI] = {0x8D, 0x5A, 0x2B, 255}, [AREA_KHAC] = {0x54, 0x5B, 0x64, 255},
    };
    SDL_Color bg = (unsigned)a < AREA_COUNT ? BG[a] : BG[AREA_KHAC];
    shape_circle(r, X(b, 0.5f), Y(b, 0.5f), s / 2, bg);
    switch(a) {
    case AREA_DAT_DAI: { /* a land parcel with a boundary marker */
        const float field[] = {0.16f, 0.74f, 0.3f, 0.54f, 0.84f, 0.54f, 0.7f, 0.74f};
        poly_u(r, b, field, 4, WHITE);
        rect_u(r, b, 0.47f, 0.2f, 0.06f, 0.42f, 0.02f, WHITE);
        const float flag[] = {0.53f, 0.2f, 0.74f, 0.28f, 0.53f, 0.36f};
        poly_u(r, b, flag, 3, WHITE);
        shape_circle(r, X(b, 0.5f), Y(b, 0.63f), s * 0.04f, bg);
        break;
    }
    case AREA_XAY_DUNG: { /* a house */
        const float roof[] = {0.5f, 0.2f, 0.82f, 0.48f, 0.18f, 0.48f};
        poly_u(r, b, roof, 3, WHITE);
        rect_u(r, b, 0.27f, 0.46f, 0.46f, 0.32f, 0.0f, WHITE);
        rect_u(r, b, 0.44f, 0.58f, 0.12f, 0.2f, 0.0f, bg);
        break;
    }
    case AREA_DAU_TU: /* rising bars and an arrow */
        rect_u(r, b, 0.24f, 0.56f, 0.12f, 0.2f, 0.02f, WHITE);
        rect_u(r, b, 0.44f, 0.44f, 0.12f, 0.32f, 0.02f, WHITE);
        rect_u(r, b, 0.64f, 0.32f, 0.12f, 0.44f, 0.02f, WHITE);
        shape_line(r, X(b, 0.22f), Y(b, 0.44f), X(b, 0.62f), Y(b, 0.2f), s * 0.045f, WHITE);
        {
            const float head[] = {0.7f, 0.15f, 0.64f, 0.3f, 0.55f, 0.18f};
            poly_u(r, b, head, 3, WHITE);
        }
        break;
    case AREA_Y_TE: /* a cross */
        rect_u(r, b, 0.39f, 0.2f, 0.22f, 0.6f, 0.04f, WHITE);
        rect_u(r, b, 0.2f, 0.39f, 0.6f, 0.22f, 0.04f, WHITE);
        break;
    case AREA_GIAO_DUC: { /* an open book */
        const float left[] = {0.18f, 0.3f, 0.48f, 0.36f, 0.48f, 0.76f, 0.18f, 0.7f};
        const float right[] = {0.52f, 0.36f, 0.82f, 0.3f, 0.82f, 0.7f, 0.52f, 0.76f};
        poly_u(r, b, left, 4, WHITE);
        poly_u(r, b, right, 4, WHITE);
        break;
    }
    case AREA_TU_PHAP_HO_TICH: /* a certificate with a seal */
        rect_u(r, b, 0.26f, 0.18f, 0.48f, 0.62f, 0.04f, WHITE);
        for(int i = 0; i < 3; i++)
            rect_u(r, b, 0.34f, 0.28f + 0.1f * (float)i, 0.32f, 0.04f, 0.0f, bg);
        shape_circle(r, X(b, 0.6f), Y(b, 0.66f), s * 0.08f, (SDL_Color){0xD3, 0x2F, 0x2F, 255});
        break;
    case AREA_LAO_DONG_XA_HOI: /* two people */
        shape_circle(r, X(b, 0.37f), Y(b, 0.33f), s * 0.09f, WHITE);
        shape_circle(r, X(b, 0.63f), Y(b, 0.33f), s * 0.09f, WHITE);
        rect_u(r, b, 0.22f, 0.46f, 0.3f, 0.32f, 0.12f, WHITE);
        rect_u(r, b, 0.48f, 0.46f, 0.3f, 0.32f, 0.12f, WHITE);
        shape_line(r, X(b, 0.5f), Y(b, 0.47f), X(b, 0.5f), Y(b, 0.78f), s * 0.02f, bg);
        break;
    default: /* khác: three dots */
        for(int i = 0; i < 3; i++)
            shape_circle(r, X(b, 0.3f + 0.2f * (float)i), Y(b, 0.5f), s * 0.07f, WHITE);
        break;
    }
    (void)INK;
}

/* ---- The later questions' icons ------------------------------------------------------------------- */

/* A person's bust in colour c: head and rounded shoulders, centred on u with scale k (unit square). */
static void person(SDL_Renderer *r, Box b, float u, float v, float k, SDL_Color c)
{
    shape_circle(r, X(b, u), Y(b, v - 0.16f * k), b.s * 0.12f * k, c);
    rect_u(r, b, u - 0.21f * k, v + 0.02f * k, 0.42f * k, 0.3f * k, 0.14f * k, c);
}

void shape_respondent_icon(SDL_Renderer *r, ProtoRespondent who, SDL_FRect box)
{
    float s = box.w < box.h ? box.w : box.h;
    Box b = {box.x + (box.w - s) / 2, box.y + (box.h - s) / 2, s};
    const SDL_Color WHITE = {255, 255, 255, 255};
    static const SDL_Color BG[RESPONDENT_COUNT] = {
        [RESPONDENT_NONE] = {0x54, 0x5B, 0x64, 255},        [RESPONDENT_NGUOI_DAN] = {0x1A, 0x5F, 0xB4, 255},
        [RESPONDENT_DOANH_NGHIEP] = {0xB4, 0x5A, 0x00, 255}, [RESPONDENT_TO_CHUC] = {0x6A, 0x3D, 0x9A, 255},
    };
    SDL_Color bg = (unsigned)who < RESPONDENT_COUNT ? BG[who] : BG[0];
    shape_circle(r, X(b, 0.5f), Y(b, 0.5f), s / 2, bg);
    switch(who) {
    case RESPONDENT_NGUOI_DAN: /* one person */
        person(r, b, 0.5f, 0.5f, 1.15f, WHITE);
        break;
    case RESPONDENT_DOANH_NGHIEP: /* a briefcase */
        rect_u(r, b, 0.37f, 0.24f, 0.26f, 0.14f, 0.04f, WHITE);
        rect_u(r, b, 0.42f, 0.29f, 0.16f, 0.09f, 0.02f, bg);
        rect_u(r, b, 0.2f, 0.36f, 0.6f, 0.4f, 0.06f, WHITE);
        rect_u(r, b, 0.2f, 0.52f, 0.6f, 0.035f, 0.0f, bg);
        rect_u(r, b, 0.45f, 0.48f, 0.1f, 0.11f, 0.02f, WHITE);
        break;
    case RESPONDENT_TO_CHUC: /* a group: two behind, one in front, set off by an outline of the disc's colour */
        person(r, b, 0.29f, 0.46f, 0.74f, WHITE);
        person(r, b, 0.71f, 0.46f, 0.74f, WHITE);
        shape_circle(r, X(b, 0.5f), Y(b, 0.55f - 0.16f * 0.95f), b.s * 0.12f * 0.95f + b.s * 0.035f, bg);
        rect_u(r, b, 0.5f - 0.21f * 0.95f - 0.035f, 0.55f + 0.02f * 0.95f - 0.035f, 0.42f * 0.95f + 0.07f,
               0.3f * 0.95f + 0.07f, 0.14f * 0.95f + 0.035f, bg);
        person(r, b, 0.5f, 0.55f, 0.95f, WHITE);
        break;
    default: break;
    }
}

SDL_Color shape_wait_color(ProtoWait w)
{
    static const SDL_Color C[WAIT_COUNT] = {
        [WAIT_NONE] = {0x54, 0x5B, 0x64, 255}, [WAIT_DUOI_15] = {0x2E, 0x7D, 0x32, 255},
        [WAIT_15_30] = {0xB0, 0x60, 0x00, 255}, [WAIT_TREN_30] = {0xA3, 0x1F, 0x1F, 255},
    };
    return (unsigned)w < WAIT_COUNT ? C[w] : C[0];
}

/* A filled sector of the circle (cx, cy, rad) from angle a0 to a1 (at most half a turn: convex). */
static void sector(SDL_Renderer *r, float cx, float cy, float rad, float a0, float a1, SDL_Color c)
{
    SDL_FPoint p[42];
    int n = 40;
    p[0] = (SDL_FPoint){cx, cy};
    for(int i = 0; i <= n; i++) {
        float a = a0 + (a1 - a0) * (float)i / (float)n;
        p[i + 1] = (SDL_FPoint){cx + cosf(a) * rad, cy + sinf(a) * rad};
    }
    shape_poly(r, p, n + 2, c);
}

void shape_wait_icon(SDL_Renderer *r, ProtoWait w, SDL_FRect box)
{
    float s = box.w < box.h ? box.w : box.h;
    Box b = {box.x + (box.w - s) / 2, box.y + (box.h - s) / 2, s};
    const SDL_Color WHITE = {255, 255, 255, 255};
    SDL_Color bg = shape_wait_color(w);
    float cx = X(b, 0.5f), cy = Y(b, 0.5f), R = s * 0.36f;
    shape_circle(r, cx, cy, s / 2, bg);
    shape_circle(r, cx, cy, R, WHITE);
    /* The time gone, from twelve o'clock clockwise: a quarter, a half, most of the hour. */
    float turn = w == WAIT_DUOI_15 ? 0.25f : w == WAIT_15_30 ? 0.5f : 0.85f, top = -PI_F / 2, inner = R * 0.86f;
    float end = top + 2 * PI_F * turn;
    sector(r, cx, cy, inner, top, fminf(end, top + PI_F), bg);
    if(end > top + PI_F)
        sector(r, cx, cy, inner, top + PI_F, end, bg);
    /* Hour marks and the hand at the end of the time gone. */
    for(int i = 0; i < 12; i += 3) {
        float a = 2 * PI_F * (float)i / 12;
        shape_circle(r, cx + sinf(a) * R * 0.93f, cy - cosf(a) * R * 0.93f, s * 0.018f, bg);
    }
    shape_line(r, cx, cy, cx + cosf(end) * inner, cy + sinf(end) * inner, s * 0.035f, WHITE);
    shape_circle(r, cx, cy, s * 0.04f, WHITE);
}

void shape_speaker(SDL_Renderer *r, SDL_FRect box, SDL_Color c)
{
    float s = box.w < box.h ? box.w : box.h;
    Box b = {box.x + (box.w - s) / 2, box.y + (box.h - s) / 2, s};
    rect_u(r, b, 0.1f, 0.37f, 0.18f, 0.26f, 0.02f, c);
    const float cone[] = {0.26f, 0.37f, 0.5f, 0.16f, 0.5f, 0.84f, 0.26f, 0.63f};
    poly_u(r, b, cone, 4, c);
    /* Two waves. */
    shape_arc(r, X(b, 0.52f), Y(b, 0.5f), s * 0.18f, -PI_F * 0.28f, PI_F * 0.28f, s * 0.06f, c);
    shape_arc(r, X(b, 0.52f), Y(b, 0.5f), s * 0.33f, -PI_F * 0.3f, PI_F * 0.3f, s * 0.06f, c);
}

void shape_globe(SDL_Renderer *r, SDL_FRect box, SDL_Color c, SDL_Color bg)
{
    float s = box.w < box.h ? box.w : box.h;
    Box b = {box.x + (box.w - s) / 2, box.y + (box.h - s) / 2, s};
    float cx = X(b, 0.5f), cy = Y(b, 0.5f), R = s * 0.42f, t = s * 0.055f;
    shape_ring(r, cx, cy, R, t, c, bg);
    shape_line(r, cx - R, cy, cx + R, cy, t, c);
    shape_line(r, cx, cy - R, cx, cy + R, t, c);
    /* The meridians: arcs of a wider circle on each side. */
    float off = R * 0.9f, rr = sqrtf(off * off + R * R), a = atan2f(R, off);
    shape_arc(r, cx + off, cy, rr, PI_F - a, PI_F + a, t, c);
    shape_arc(r, cx - off, cy, rr, -a, a, t, c);
}

void shape_check(SDL_Renderer *r, SDL_FRect box, SDL_Color c, float thick)
{
    float s = box.w < box.h ? box.w : box.h;
    Box b = {box.x + (box.w - s) / 2, box.y + (box.h - s) / 2, s};
    shape_line(r, X(b, 0.2f), Y(b, 0.52f), X(b, 0.42f), Y(b, 0.74f), thick, c);
    shape_line(r, X(b, 0.42f), Y(b, 0.74f), X(b, 0.8f), Y(b, 0.28f), thick, c);
}

void shape_info(SDL_Renderer *r, SDL_FRect box, SDL_Color bg, SDL_Color fg)
{
    float s = box.w < box.h ? box.w : box.h;
    Box b = {box.x + (box.w - s) / 2, box.y + (box.h - s) / 2, s};
    shape_circle(r, X(b, 0.5f), Y(b, 0.5f), s / 2, bg);
    shape_circle(r, X(b, 0.5f), Y(b, 0.28f), s * 0.07f, fg);
    rect_u(r, b, 0.44f, 0.42f, 0.12f, 0.36f, 0.03f, fg);
}
