/* tally_render_pdf.c — the A4 report an official signs (see tally_export.h), with cairo + pango.
 *
 * Layout after Nghị định 30/2020/NĐ-CP, Phụ lục I: margins 20 mm top and bottom, 30 mm left, 15 mm right; the
 * issuing body top left (its parent in capitals, the issuer in bold capitals with a short rule under it, then
 * "Số: /symbol" with the number left blank for the văn thư); the national motto top right (bold capitals, the
 * motto under it with a rule as long as the motto); "Place, ngày dd tháng mm năm yyyy" in italics (days below
 * 10 and months 1 and 2 with a leading zero); the title "BÁO CÁO" and its summary in bold, centred, with a short
 * rule; body text 13 pt, justified, first line indented 1 cm; page numbers centred in the top margin from page
 * 2 on; the signature block (title, room for the digital signature, name) on the right and "Nơi nhận" on the
 * left. The unit appendix follows on landscape pages.
 *
 * Font: Liberation Serif 2.x (Debian fonts-liberation2; metric-compatible with Times New Roman, every
 * Vietnamese letter; the 1.x files of fonts-liberation lack many), loaded from its files into a private
 * fontconfig set — never whatever the machine would substitute — checked for every Vietnamese letter, kept
 * per thread, and embedded by cairo as a subset. Text from the data goes in with pango_layout_set_text (never markup), so a
 * unit name is laid out as the characters it is. Start reading at tally_render_pdf(). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <pango/pangofc-fontmap.h>

#include "sync/tally/tally_table.h"
#include "sync/tally/tally_text.h"

#ifndef TALLY_PDF_FONT_DIR
#define TALLY_PDF_FONT_DIR "/usr/share/fonts/truetype/liberation2"
#endif
#define FONT_FAMILY "Liberation Serif"

#define MM (72.0 / 25.4)
#define A4_W (210 * MM)
#define A4_H (297 * MM)
#define MARGIN_TOP (20 * MM)
#define MARGIN_BOTTOM (20 * MM)
#define MARGIN_LEFT (30 * MM)
#define MARGIN_RIGHT (15 * MM)
#define INDENT (10 * MM)     /* first line of a paragraph */
#define BODY_PT 13.0
#define TABLE_PT 11.5
#define SMALL_PT 10.5
#define RANK_ROWS_MAX 15     /* ranking lines in the body; the XLSX has them all */
#define CELL_PAD 3.0
#define SIGNATURE_ROOM 72.0  /* empty space under the signer's title for the digital signature */
#define SIGNATURE_H (SIGNATURE_ROOM + 56)
#define TEXT_MAX (4 * TALLY_NAME_MAX + 600)

enum { F_REG, F_BOLD, F_ITALIC, F_BOLD_ITALIC };

static const char *const FONT_FILES[] = {"LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf",
                                         "LiberationSerif-Italic.ttf", "LiberationSerif-BoldItalic.ttf"};

typedef struct {
    cairo_surface_t *surface;
    cairo_t         *cr;
    PangoContext    *pc;
    double           w, h;   /* the page */
    double           x0, x1; /* left and right text edges */
    double           y;      /* where the next block goes */
    int              page;
    bool             landscape;
    TallyBuf        *out;
} Pdf;

/* ---- Fonts ---------------------------------------------------------------------------------------------- */

/* Every letter Vietnamese writes, precomposed (NFC): the vowels with each tone, đ, and their capitals. */
static bool covers_vietnamese(FcCharSet *cs)
{
    static const char *const LETTERS =
        "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
        "AÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬEÈÉẺẼẸÊỀẾỂỄỆIÌÍỈĨỊOÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢUÙÚỦŨỤƯỪỨỬỮỰYỲÝỶỸỴĐ–—“”≥×·";
    for(const unsigned char *p = (const unsigned char *)LETTERS; *p;) {
        FcChar32 c;
        int k = FcUtf8ToUcs4(p, &c, 8);
        if(k <= 0 || !FcCharSetHasChar(cs, c))
            return false;
        p += k;
    }
    return true;
}

/* A font map holding only the four Liberation Serif files: made once per thread and kept (fontconfig and
 * cairo keep the fonts' patterns for as long as the process lives, so a map per render would leak ~11 KB each
 * time, and loading the fonts is most of a render's cost). Pango objects are not shared between threads: each
 * server worker gets its own map. */
static _Thread_local PangoFontMap *thread_font_map;

static TallyErr load_fonts(Pdf *p, char msg[TALLY_MSG_MAX])
{
    if(!thread_font_map) {
        const char *dir = getenv("TALLY_PDF_FONT_DIR");
        if(!dir || !*dir)
            dir = TALLY_PDF_FONT_DIR;
        FcConfig *cfg = FcConfigCreate();
        if(!cfg)
            return snprintf(msg, TALLY_MSG_MAX, "out of memory"), TALLY_E_NOMEM;
        for(size_t i = 0; i < sizeof FONT_FILES / sizeof FONT_FILES[0]; i++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, FONT_FILES[i]);
            if(access(path, R_OK) || !FcConfigAppFontAddFile(cfg, (const FcChar8 *)path)) {
                FcConfigDestroy(cfg);
                snprintf(msg, TALLY_MSG_MAX, "font %.120s is missing: install Debian fonts-liberation2 (or set "
                         "TALLY_PDF_FONT_DIR) / thiếu phông chữ Liberation Serif", path);
                return TALLY_E_IO;
            }
        }
        FcFontSet *set = FcConfigGetFonts(cfg, FcSetApplication);
        for(int i = 0; set && i < set->nfont; i++) {
            FcCharSet *cs = NULL;
            if(FcPatternGetCharSet(set->fonts[i], FC_CHARSET, 0, &cs) != FcResultMatch || !covers_vietnamese(cs)) {
                FcConfigDestroy(cfg);
                snprintf(msg, TALLY_MSG_MAX, "the Liberation Serif in %.100s lacks Vietnamese letters (version 1.x?): "
                         "install fonts-liberation2 / phông chữ thiếu chữ tiếng Việt", dir);
                return TALLY_E_IO;
            }
        }
        PangoFontMap *fm = pango_cairo_font_map_new_for_font_type(CAIRO_FONT_TYPE_FT);
        if(!fm) {
            FcConfigDestroy(cfg);
            return snprintf(msg, TALLY_MSG_MAX, "cannot start pango"), TALLY_E_IO;
        }
        pango_fc_font_map_set_config(PANGO_FC_FONT_MAP(fm), cfg); /* takes its own reference */
        FcConfigDestroy(cfg);
        thread_font_map = fm;
    }
    p->pc = pango_font_map_create_context(thread_font_map);
    pango_cairo_context_set_resolution(p->pc, 72); /* sizes are points; the surface's unit is the point */
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF); /* exact advances, as printed */
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(p->pc, fo);
    cairo_font_options_destroy(fo);
    return TALLY_OK;
}

/* ---- Text ----------------------------------------------------------------------------------------------- */

static PangoLayout *layout(Pdf *p, const char *text, int font, double pt, double width, PangoAlignment align)
{
    char clean[TEXT_MAX];
    PangoLayout *l = pango_layout_new(p->pc);
    PangoFontDescription *fd = pango_font_description_new();
    pango_font_description_set_family(fd, FONT_FAMILY);
    pango_font_description_set_weight(fd, font == F_BOLD || font == F_BOLD_ITALIC ? PANGO_WEIGHT_BOLD
                                                                                 : PANGO_WEIGHT_NORMAL);
    pango_font_description_set_style(fd, font == F_ITALIC || font == F_BOLD_ITALIC ? PANGO_STYLE_ITALIC
                                                                                   : PANGO_STYLE_NORMAL);
    pango_font_description_set_size(fd, (gint)(pt * PANGO_SCALE));
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    if(width > 0) {
        pango_layout_set_width(l, (int)(width * PANGO_SCALE));
        pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    }
    pango_layout_set_alignment(l, align);
    tally_utf8_clean(text, strlen(text), clean, sizeof clean);
    pango_layout_set_text(l, clean, -1);
    return l;
}

static double height_of(PangoLayout *l)
{
    int w, h;
    pango_layout_get_size(l, &w, &h);
    return (double)h / PANGO_SCALE;
}

/* The ink-free width of a single line of text (for rules as long as a line). */
static double text_width(Pdf *p, const char *text, int font, double pt)
{
    PangoLayout *l = layout(p, text, font, pt, -1, PANGO_ALIGN_LEFT);
    PangoRectangle logical;
    pango_layout_get_extents(l, NULL, &logical);
    g_object_unref(l);
    return (double)logical.width / PANGO_SCALE;
}

static void draw(Pdf *p, PangoLayout *l, double x, double y)
{
    cairo_move_to(p->cr, x, y);
    pango_cairo_show_layout(p->cr, l);
}

static void rule(Pdf *p, double x0, double x1, double y, double lw)
{
    cairo_set_line_width(p->cr, lw);
    cairo_move_to(p->cr, x0, y);
    cairo_line_to(p->cr, x1, y);
    cairo_stroke(p->cr);
}

/* ---- Pages ---------------------------------------------------------------------------------------------- */

static double bottom(const Pdf *p)
{
    return p->h - MARGIN_BOTTOM;
}

/* Starts the next page (portrait or landscape); its number goes centred in the top margin. */
static void new_page(Pdf *p, bool landscape)
{
    cairo_show_page(p->cr);
    if(landscape != p->landscape) {
        p->landscape = landscape;
        p->w = landscape ? A4_H : A4_W;
        p->h = landscape ? A4_W : A4_H;
        cairo_pdf_surface_set_size(p->surface, p->w, p->h);
    }
    p->x0 = MARGIN_LEFT;
    p->x1 = p->w - MARGIN_RIGHT;
    p->page++;
    char num[16];
    snprintf(num, sizeof num, "%d", p->page);
    PangoLayout *l = layout(p, num, F_REG, BODY_PT, p->x1 - p->x0, PANGO_ALIGN_CENTER);
    draw(p, l, p->x0, 10 * MM);
    g_object_unref(l);
    p->y = MARGIN_TOP;
}

/* Room for h more points, or a new page of the same orientation. */
static void need(Pdf *p, double h)
{
    if(p->y + h > bottom(p))
        new_page(p, p->landscape);
}

/* A paragraph across the text width. */
static void para(Pdf *p, const char *text, int font, double pt, PangoAlignment align, bool indent, double after)
{
    PangoLayout *l = layout(p, text, font, pt, p->x1 - p->x0, align);
    if(align == PANGO_ALIGN_LEFT)
        pango_layout_set_justify(l, true);
    if(indent)
        pango_layout_set_indent(l, (int)(INDENT * PANGO_SCALE));
    double h = height_of(l);
    if(p->y + h > bottom(p)) {
        /* A paragraph taller than what is left starts on the next page (ours are short). */
        new_page(p, p->landscape);
    }
    draw(p, l, p->x0, p->y);
    p->y += h + after;
    g_object_unref(l);
}

/* The height para() would take. */
static double para_height(Pdf *p, const char *text, int font, double pt, bool indent)
{
    PangoLayout *l = layout(p, text, font, pt, p->x1 - p->x0, PANGO_ALIGN_LEFT);
    if(indent)
        pango_layout_set_indent(l, (int)(INDENT * PANGO_SCALE));
    double h = height_of(l);
    g_object_unref(l);
    return h;
}

static void heading(Pdf *p, const char *text)
{
    need(p, 60); /* never strand a heading at the foot of a page */
    p->y += 4;
    PangoLayout *l = layout(p, text, F_BOLD, BODY_PT, p->x1 - p->x0 - INDENT, PANGO_ALIGN_LEFT);
    draw(p, l, p->x0 + INDENT, p->y);
    p->y += height_of(l) + 4;
    g_object_unref(l);
}

/* ---- Tables --------------------------------------------------------------------------------------------- */

typedef struct {
    double         w;      /* points */
    PangoAlignment align;
} PdfCol;

typedef struct {
    const char *text;      /* may hold "\n" */
    int         font;
    double      fill[3];   /* background; fill[0] < 0: none */
    double      indent;    /* points from the cell's left edge (a unit's level in the tree) */
} PdfCell;

static PdfCell cell(const char *text, int font)
{
    return (PdfCell){.text = text, .font = font, .fill = {-1, 0, 0}};
}

static void fill_none(PdfCell *c, int n)
{
    for(int i = 0; i < n; i++)
        c[i].fill[0] = -1;
}

/* One table row at p->y: every cell wrapped in its column; the row as tall as its tallest cell. Returns the
 * height it took, or 0 without drawing when it would not fit above the bottom margin. */
static double table_row(Pdf *p, const PdfCol *cols, int nc, const PdfCell *cells, double pt, bool head)
{
    PangoLayout *l[16];
    double h = 0;
    for(int k = 0; k < nc && k < 16; k++) {
        double indent = head ? 0 : cells[k].indent;
        l[k] = layout(p, cells[k].text ? cells[k].text : "", head ? F_BOLD : cells[k].font, pt,
                      cols[k].w - 2 * CELL_PAD - indent, head ? PANGO_ALIGN_CENTER : cols[k].align);
        double ch = height_of(l[k]);
        if(ch > h)
            h = ch;
    }
    h += 2 * CELL_PAD;
    bool fits = p->y + h <= bottom(p);
    double x = p->x0;
    for(int k = 0; k < nc && k < 16; k++) {
        if(fits) {
            const double *f = head ? (const double[]){0.88, 0.88, 0.88} : cells[k].fill;
            if(f[0] >= 0) {
                cairo_set_source_rgb(p->cr, f[0], f[1], f[2]);
                cairo_rectangle(p->cr, x, p->y, cols[k].w, h);
                cairo_fill(p->cr);
                cairo_set_source_rgb(p->cr, 0, 0, 0);
            }
            cairo_set_line_width(p->cr, 0.5);
            cairo_rectangle(p->cr, x, p->y, cols[k].w, h);
            cairo_stroke(p->cr);
            /* Top-aligned: a row's first lines share one baseline (and pdftotext keeps them on one line). */
            draw(p, l[k], x + CELL_PAD + (head ? 0 : cells[k].indent), p->y + CELL_PAD);
        }
        x += cols[k].w;
        g_object_unref(l[k]);
    }
    if(!fits)
        return 0;
    p->y += h;
    return h;
}

/* Draws a row, first starting a new page (and repeating the header) when it does not fit. */
static void table_body_row(Pdf *p, const PdfCol *cols, int nc, const PdfCell *head, const PdfCell *cells,
                           double pt)
{
    if(table_row(p, cols, nc, cells, pt, false) > 0)
        return;
    new_page(p, p->landscape);
    table_row(p, cols, nc, head, pt, true);
    table_row(p, cols, nc, cells, pt, false);
}

static void verdict_fill(TallyStatus s, double fill[3])
{
    fill[0] = -1;
    if(s == TALLY_STATUS_KHONG_DAT)
        fill[0] = 1, fill[1] = 0.84, fill[2] = 0.84;
    else if(s == TALLY_STATUS_CHUA_DU_MAU)
        fill[0] = 1, fill[1] = 0.94, fill[2] = 0.78;
}

static void pct_vi(double v, char *out, size_t len)
{
    char d[24];
    tally_fmt_dec_vi(v, 2, d, sizeof d);
    snprintf(out, len, "%s%%", d);
}

static void pts_vi(double v, char *out, size_t len)
{
    char d[24];
    tally_fmt_dec_vi(v, 2, d, sizeof d);
    snprintf(out, len, "%s%s", v > 0 && strcmp(d, "0,00") ? "+" : "", d);
}

/* ---- The header block (NĐ 30/2020) ------------------------------------------------------------------------ */

static void letterhead(Pdf *p, const TallyReport *r, const TallyLetterhead *lh)
{
    double left_w = 68 * MM, right_x = p->x0 + left_w, right_w = p->x1 - right_x, y = p->y;
    char buf[TEXT_MAX];

    /* Left: the issuing body. */
    PangoLayout *l = layout(p, lh->issuer_parent, F_REG, 12, left_w, PANGO_ALIGN_CENTER);
    draw(p, l, p->x0, y);
    double ly = y + height_of(l);
    g_object_unref(l);
    l = layout(p, lh->issuer, F_BOLD, 12, left_w, PANGO_ALIGN_CENTER);
    draw(p, l, p->x0, ly);
    ly += height_of(l) + 1.5;
    g_object_unref(l);
    double rw = fmin(text_width(p, lh->issuer, F_BOLD, 12), left_w) * 0.5;
    rule(p, p->x0 + (left_w - rw) / 2, p->x0 + (left_w + rw) / 2, ly, 0.6);
    ly += 8;
    snprintf(buf, sizeof buf, tally_str(TS_DOC_NUMBER), lh->symbol);
    l = layout(p, buf, F_REG, BODY_PT, left_w, PANGO_ALIGN_CENTER);
    draw(p, l, p->x0, ly);
    ly += height_of(l);
    g_object_unref(l);

    /* Right: the national motto, and the place and date under it. */
    l = layout(p, tally_str(TS_DOC_NATION), F_BOLD, 12, right_w, PANGO_ALIGN_CENTER);
    draw(p, l, right_x, y);
    double ry = y + height_of(l);
    g_object_unref(l);
    l = layout(p, tally_str(TS_DOC_MOTTO), F_BOLD, BODY_PT, right_w, PANGO_ALIGN_CENTER);
    draw(p, l, right_x, ry);
    ry += height_of(l) + 1.5;
    g_object_unref(l);
    double mw = text_width(p, tally_str(TS_DOC_MOTTO), F_BOLD, BODY_PT);
    rule(p, right_x + (right_w - mw) / 2, right_x + (right_w + mw) / 2, ry, 0.6);
    ry += 8;
    int yy, mm, dd;
    ptime_civil_from_days(ptime_vn_day(r->generated_at), &yy, &mm, &dd);
    char day[8], month[8];
    snprintf(day, sizeof day, "%02d", dd);
    snprintf(month, sizeof month, mm < 3 ? "%02d" : "%d", mm); /* NĐ 30: "tháng 01", "tháng 02", "tháng 3" */
    snprintf(buf, sizeof buf, tally_str(TS_DOC_DATE), lh->place, day, month, yy);
    l = layout(p, buf, F_ITALIC, BODY_PT, right_w, PANGO_ALIGN_CENTER);
    draw(p, l, right_x, ry);
    ry += height_of(l);
    g_object_unref(l);
    p->y = fmax(ly, ry) + 18;

    /* Title: the kind, the summary with the period, a short rule. */
    para(p, tally_str(TS_DOC_KIND), F_BOLD, 14, PANGO_ALIGN_CENTER, false, 0);
    char period[TALLY_PERIOD_LABEL_MAX + 64];
    if(r->period.kind == TALLY_PERIOD_CUSTOM) {
        char a[PTIME_DATE_LEN], b[PTIME_DATE_LEN], fa[16], fb[16];
        ptime_format_date(r->period.from_day, a);
        ptime_format_date(r->period.to_day, b);
        snprintf(fa, sizeof fa, "%.2s/%.2s/%.4s", a + 8, a + 5, a);
        snprintf(fb, sizeof fb, "%.2s/%.2s/%.4s", b + 8, b + 5, b);
        snprintf(period, sizeof period, tally_str(TS_DOC_PERIOD_CUSTOM), fa, fb);
    } else {
        /* "năm 2026", "tháng 11 năm 2026", "6 tháng đầu năm 2026", "Quý IV năm 2026" (quý keeps its capital). */
        snprintf(period, sizeof period, "%s", r->period.label_vi);
        if(r->period.kind == TALLY_PERIOD_MONTH || r->period.kind == TALLY_PERIOD_YEAR)
            period[0] = (char)(period[0] - 'A' + 'a');
    }
    snprintf(buf, sizeof buf, tally_str(TS_DOC_TITLE_PDF), period);
    PangoLayout *t = layout(p, buf, F_BOLD, 14, (p->x1 - p->x0) * 0.86, PANGO_ALIGN_CENTER);
    draw(p, t, p->x0 + (p->x1 - p->x0) * 0.07, p->y);
    p->y += height_of(t) + 3;
    g_object_unref(t);
    double tw = (p->x1 - p->x0) * 0.3;
    rule(p, (p->x0 + p->x1 - tw) / 2, (p->x0 + p->x1 + tw) / 2, p->y, 0.6);
    p->y += 14;
}

/* ---- Sections ------------------------------------------------------------------------------------------- */

static void intro(Pdf *p, const TallyReport *r)
{
    char n[32], sat[32], pct[32], flagged[32], area[208] = "", buf[TEXT_MAX], scope[TEXT_MAX];
    tally_fmt_int_vi(r->total.n, n, sizeof n);
    tally_fmt_int_vi(r->total.satisfied, sat, sizeof sat);
    tally_fmt_int_vi(r->total.flagged, flagged, sizeof flagged);
    if(r->total.n)
        pct_vi(r->total.pct, pct, sizeof pct);
    else
        snprintf(pct, sizeof pct, "%s", tally_str(TS_DOC_CHANGE_NONE));
    char filters[200];
    tally_filters_vi(r, filters, sizeof filters);
    if(filters[0])
        snprintf(area, sizeof area, ", %s", filters);
    if(r->unit_code[0])
        snprintf(scope, sizeof scope, "%s (%s)", r->unit_name, r->unit_code);
    else
        snprintf(scope, sizeof scope, "%s", r->unit_name);
    snprintf(buf, sizeof buf, tally_str(TS_DOC_INTRO), r->period.label_vi, scope, area, n, sat, pct, flagged);
    para(p, buf, F_REG, BODY_PT, PANGO_ALIGN_LEFT, true, 6);
}

static void groups_table(Pdf *p, const TallyReport *r)
{
    heading(p, tally_str(TS_DOC_S_GROUPS));
    double tw = p->x1 - p->x0;
    const PdfCol cols[] = {{tw - 50 - 88 - 2 * 60 - 62, PANGO_ALIGN_LEFT}, {50, PANGO_ALIGN_RIGHT},
                           {88, PANGO_ALIGN_CENTER}, {60, PANGO_ALIGN_CENTER},
                           {60, PANGO_ALIGN_CENTER}, {62, PANGO_ALIGN_CENTER}};
    enum { NC = sizeof cols / sizeof cols[0] };
    char h3[120], h4[120];
    snprintf(h3, sizeof h3, "%s\n(%s)", tally_str(TS_FIG_PCT), tally_str(TS_FIG_INTERVAL));
    snprintf(h4, sizeof h4, "%s (%s)", tally_str(TS_FIG_CHANGE), tally_str(TS_FIG_POINTS));
    PdfCell head[NC] = {cell(tally_str(TS_OV_GROUP), 0), cell(tally_str(TS_FIG_N), 0), cell(h3, 0),
                        cell(tally_str(TS_COL_VERDICT_2025), 0), cell(tally_str(TS_COL_VERDICT_2030), 0), cell(h4, 0)};
    need(p, 80);
    table_row(p, cols, NC, head, TABLE_PT, true);
    for(int g = 0; g < GROUP_COUNT; g++) {
        const TallyReportGroup *rg = &r->groups[g];
        char n[32], pct[128], v[2][96], change[64], a[32], b[32];
        tally_fmt_int_vi(rg->cur.n, n, sizeof n);
        if(rg->cur.n) {
            pct_vi(rg->cur.pct, a, sizeof a);
            char lo[32], hi[32];
            tally_fmt_dec_vi(rg->cur.wilson_low, 2, lo, sizeof lo);
            tally_fmt_dec_vi(rg->cur.wilson_high, 2, hi, sizeof hi);
            snprintf(pct, sizeof pct, "%s\n(%s – %s)", a, lo, hi);
        } else {
            snprintf(pct, sizeof pct, "%s", tally_str(TS_DOC_CHANGE_NONE));
        }
        for(int m = 0; m < 2; m++) {
            char t[32];
            tally_fmt_dec_vi(rg->target[m], rg->target[m] == floor(rg->target[m]) ? 0 : 2, t, sizeof t);
            snprintf(b, sizeof b, tally_str(TS_DOC_TARGET_SHORT), t);
            const char *s = rg->cur.n ? tally_status_vi(rg->cur.status[m]) : tally_str(TS_STATUS_NO_DATA);
            snprintf(v[m], sizeof v[m], "%s\n%s", b, rg->target[m] >= 0 ? s : "");
        }
        if(rg->has_change)
            pts_vi(rg->change_pts, change, sizeof change);
        else
            snprintf(change, sizeof change, "%s", tally_str(TS_DOC_CHANGE_NONE));
        PdfCell row[NC] = {cell(proto_group_name_vi((ProtoGroup)g), F_REG), cell(n, F_REG), cell(pct, F_REG),
                           cell(v[0], F_BOLD), cell(v[1], F_BOLD), cell(change, F_REG)};
        verdict_fill(rg->cur.status[0], row[3].fill);
        verdict_fill(rg->cur.status[1], row[4].fill);
        table_body_row(p, cols, NC, head, row, TABLE_PT);
    }
    char note[TEXT_MAX];
    snprintf(note, sizeof note, "%s: %s.", tally_str(TS_META_PREV), r->period.prev_label_vi);
    p->y += 3;
    para(p, note, F_ITALIC, SMALL_PT, PANGO_ALIGN_LEFT, false, 6);
}

/* A figure's pct (or "–") and its n, for the respondents table. */
static void fig_short(const TallyFigure *f, char *out, size_t len)
{
    char pct[32], n[32];
    tally_fmt_int_vi(f->n, n, sizeof n);
    if(f->n)
        pct_vi(f->pct, pct, sizeof pct);
    snprintf(out, len, "%s\nn = %s", f->n ? pct : "–", n);
}

static void wait_short(const TallyWait *w, char *out, size_t len)
{
    char pct[32], n[32], lo[32], hi[32];
    tally_fmt_int_vi(w->n, n, sizeof n);
    if(!w->n) {
        snprintf(out, len, "–");
        return;
    }
    pct_vi(w->pct, pct, sizeof pct);
    tally_fmt_dec_vi(w->wilson_low, 1, lo, sizeof lo);
    tally_fmt_dec_vi(w->wilson_high, 1, hi, sizeof hi);
    snprintf(out, len, "%s\n(%s – %s)\nn = %s", pct, lo, hi, n);
}

/* Part of section I: each group's figure per respondent type and the whole period's, with the wait
 * indicator (model: respondents[], groups[].cur, total). */
static void respondents_table(Pdf *p, const TallyReport *r)
{
    if(!(r->parts & TALLY_PART_RESPONDENTS))
        return;
    double tw = p->x1 - p->x0;
    enum { NC = 2 + GROUP_COUNT + 1 };
    PdfCol cols[NC];
    cols[0] = (PdfCol){tw - GROUP_COUNT * 54 - 46 - 76, PANGO_ALIGN_LEFT};
    for(int g = 0; g < GROUP_COUNT; g++)
        cols[1 + g] = (PdfCol){54, PANGO_ALIGN_CENTER};
    cols[1 + GROUP_COUNT] = (PdfCol){46, PANGO_ALIGN_RIGHT};
    cols[2 + GROUP_COUNT] = (PdfCol){76, PANGO_ALIGN_CENTER};
    PdfCell head[NC];
    head[0] = cell(tally_str(TS_FIG_RESPONDENT), 0);
    for(int g = 0; g < GROUP_COUNT; g++)
        head[1 + g] = cell(proto_group_name_vi((ProtoGroup)g), 0);
    head[1 + GROUP_COUNT] = cell(tally_str(TS_FIG_N), 0);
    head[2 + GROUP_COUNT] = cell(tally_str(TS_FIG_WAIT), 0);
    p->y += 4;
    need(p, 120);
    para(p, tally_str(TS_OV_RESPONDENTS), F_BOLD, BODY_PT, PANGO_ALIGN_LEFT, false, 3);
    table_row(p, cols, NC, head, TABLE_PT, true);
    for(int i = 0; i <= RESPONDENT_COUNT; i++) {
        /* The respondent types, then every one of them together (the period's figures). */
        bool total = i == RESPONDENT_COUNT;
        const TallyFigure *all = total ? &r->total : &r->respondents[i].all;
        char text[GROUP_COUNT][96], n[32], wait[160];
        PdfCell row[NC];
        row[0] = cell(total ? tally_str(TS_FIG_ALL_RESPONDENTS) : tally_respondent_vi(r->respondents[i].respondent),
                      total ? F_BOLD : F_REG);
        for(int g = 0; g < GROUP_COUNT; g++) {
            const TallyFigure *f = total ? &r->groups[g].cur : &r->respondents[i].fig[g];
            fig_short(f, text[g], sizeof text[g]);
            row[1 + g] = cell(text[g], F_REG);
            verdict_fill(f->status[0], row[1 + g].fill);
        }
        tally_fmt_int_vi(all->n, n, sizeof n);
        row[1 + GROUP_COUNT] = cell(n, F_REG);
        wait_short(&all->wait, wait, sizeof wait);
        row[2 + GROUP_COUNT] = cell(wait, F_REG);
        table_body_row(p, cols, NC, head, row, TABLE_PT);
    }
    p->y += 3;
    para(p, tally_str(TS_FIG_WAIT_NOTE), F_ITALIC, SMALL_PT, PANGO_ALIGN_LEFT, false, 6);
}

static void ranking_table(Pdf *p, const TallyReport *r)
{
    heading(p, tally_str(TS_DOC_S_RANK));
    if(!r->n_ranking) {
        para(p, tally_str(TS_DOC_RANK_NONE), F_REG, BODY_PT, PANGO_ALIGN_LEFT, true, 6);
        return;
    }
    double tw = p->x1 - p->x0;
    const PdfCol cols[] = {{36, PANGO_ALIGN_CENTER}, {tw - 36 - 94 - 50 - 52 - 52 - 62, PANGO_ALIGN_LEFT},
                           {94, PANGO_ALIGN_LEFT},  {50, PANGO_ALIGN_RIGHT},
                           {52, PANGO_ALIGN_RIGHT},  {52, PANGO_ALIGN_RIGHT},
                           {62, PANGO_ALIGN_RIGHT}};
    enum { NC = sizeof cols / sizeof cols[0] };
    char gap_head[120];
    snprintf(gap_head, sizeof gap_head, "%s", tally_str(TS_COL_GAP_PTS));
    PdfCell head[NC] = {cell(tally_str(TS_COL_RANK), 0), cell(tally_str(TS_UNIT_NAME), 0),
                        cell(tally_str(TS_OV_GROUP), 0), cell(tally_str(TS_FIG_N), 0),
                        cell(tally_str(TS_FIG_PCT), 0),  cell(tally_str(TS_OV_RANK_UPPER), 0), cell(gap_head, 0)};
    need(p, 80);
    table_row(p, cols, NC, head, TABLE_PT, true);
    size_t shown = r->n_ranking < RANK_ROWS_MAX ? r->n_ranking : RANK_ROWS_MAX;
    for(size_t i = 0; i < shown; i++) {
        const TallyRankItem *k = &r->ranking[i];
        const TallyReportUnit *u = &r->units[k->unit];
        const TallyFigure *f = &u->fig[k->group];
        char no[16], name[TEXT_MAX], n[32], pct[32], hi[32], gap[64];
        snprintf(no, sizeof no, "%zu", i + 1);
        snprintf(name, sizeof name, "%s\n%s", u->name, u->code);
        tally_fmt_int_vi(f->n, n, sizeof n);
        pct_vi(f->pct, pct, sizeof pct);
        pct_vi(k->score, hi, sizeof hi);
        pts_vi(-k->gap_pts, gap, sizeof gap);
        PdfCell row[NC] = {cell(no, F_REG), cell(name, F_REG), cell(proto_group_name_vi((ProtoGroup)k->group), F_REG),
                           cell(n, F_REG),  cell(pct, F_REG),  cell(hi, F_REG), cell(gap, F_REG)};
        verdict_fill(f->status[0], row[4].fill);
        table_body_row(p, cols, NC, head, row, TABLE_PT);
    }
    p->y += 3;
    char note[TEXT_MAX];
    snprintf(note, sizeof note, "%s", tally_str(TS_OV_RANK_METHOD));
    if(r->n_ranking > shown) {
        char a[32], b[32], more[600];
        tally_fmt_int_vi((int64_t)shown, a, sizeof a);
        tally_fmt_int_vi((int64_t)r->n_ranking, b, sizeof b);
        snprintf(more, sizeof more, tally_str(TS_DOC_RANK_MORE), a, b);
        snprintf(note + strlen(note), sizeof note - strlen(note), " %s", more);
    }
    para(p, note, F_ITALIC, SMALL_PT, PANGO_ALIGN_LEFT, false, 6);
}

/* One group's months against its two target lines, in the box x, y, w, h. */
static void trend_chart(Pdf *p, const TallyReport *r, int g, int months, double x, double y, double w, double h)
{
    const TallyReportGroup *rg = &r->groups[g];
    PangoLayout *t = layout(p, proto_group_name_vi((ProtoGroup)g), F_BOLD, SMALL_PT, w, PANGO_ALIGN_CENTER);
    draw(p, t, x, y);
    double top = y + height_of(t) + 4;
    g_object_unref(t);
    double ax = x + 30, aw = w - 30 - 26, ah = h - (top - y) - 16, ay = top;
    /* The y axis: from a round 10 below everything shown up to 100. */
    double lo = fmin(rg->target[0], rg->target[1]);
    bool any = false;
    for(int m = 0; m < months; m++)
        if(rg->month[m].n > 0) {
            lo = fmin(lo, rg->month[m].pct);
            any = true;
        }
    lo = fmax(0, floor((lo - 2) / 10) * 10);
    double hi = 100, span = hi - lo;
#define YV(v) (ay + ah - ((v) - lo) / span * ah)
#define XM(m) (ax + ((m) + 0.5) * aw / 12)
    cairo_set_line_width(p->cr, 0.4);
    for(double v = lo; v <= hi + 0.01; v += span > 40 ? 20 : 10) {
        cairo_set_source_rgb(p->cr, 0.82, 0.82, 0.82);
        cairo_move_to(p->cr, ax, YV(v));
        cairo_line_to(p->cr, ax + aw, YV(v));
        cairo_stroke(p->cr);
        cairo_set_source_rgb(p->cr, 0, 0, 0);
        char lab[16];
        snprintf(lab, sizeof lab, "%.0f%%", v);
        PangoLayout *l = layout(p, lab, F_REG, 8.5, 27, PANGO_ALIGN_RIGHT);
        draw(p, l, x, YV(v) - height_of(l) / 2);
        g_object_unref(l);
    }
    cairo_set_line_width(p->cr, 0.6);
    cairo_rectangle(p->cr, ax, ay, aw, ah);
    cairo_stroke(p->cr);
    for(int m = 0; m < 12; m++) {
        char lab[8];
        snprintf(lab, sizeof lab, "%d", m + 1);
        PangoLayout *l = layout(p, lab, F_REG, 8, aw / 12 + 4, PANGO_ALIGN_CENTER);
        draw(p, l, XM(m) - aw / 24 - 2, ay + ah + 2);
        g_object_unref(l);
    }
    /* Target lines: 2025 dark, 2030 light; their value at the right end. */
    for(int k = 0; k < 2; k++) {
        if(rg->target[k] < lo)
            continue;
        double shade = k == 0 ? 0.55 : 0.25, dash[] = {4, 2.5};
        cairo_set_source_rgb(p->cr, 0.75 - shade * 0.5, 0.1, 0.1 + (k ? 0.4 : 0));
        cairo_set_dash(p->cr, dash, 2, 0);
        cairo_set_line_width(p->cr, k == 0 ? 1.1 : 0.8);
        cairo_move_to(p->cr, ax, YV(rg->target[k]));
        cairo_line_to(p->cr, ax + aw, YV(rg->target[k]));
        cairo_stroke(p->cr);
        cairo_set_dash(p->cr, NULL, 0, 0);
        char lab[24], d[16];
        tally_fmt_dec_vi(rg->target[k], rg->target[k] == floor(rg->target[k]) ? 0 : 1, d, sizeof d);
        snprintf(lab, sizeof lab, "%s%%", d);
        PangoLayout *l = layout(p, lab, k == 0 ? F_BOLD : F_REG, 8, -1, PANGO_ALIGN_LEFT);
        draw(p, l, ax + aw + 2, YV(rg->target[k]) - height_of(l) / 2);
        g_object_unref(l);
        cairo_set_source_rgb(p->cr, 0, 0, 0);
    }
    if(!any) {
        PangoLayout *l = layout(p, tally_str(TS_DOC_TREND_EMPTY), F_ITALIC, 9, aw, PANGO_ALIGN_CENTER);
        draw(p, l, ax, ay + ah / 2 - height_of(l) / 2);
        g_object_unref(l);
        return;
    }
    /* The series: a line through consecutive months with ratings; hollow points below min_n. */
    cairo_set_source_rgb(p->cr, 0.05, 0.25, 0.55);
    cairo_set_line_width(p->cr, 1.6);
    bool pen = false;
    for(int m = 0; m < months; m++) {
        if(!rg->month[m].n) {
            pen = false;
            continue;
        }
        if(pen)
            cairo_line_to(p->cr, XM(m), YV(rg->month[m].pct));
        else
            cairo_move_to(p->cr, XM(m), YV(rg->month[m].pct));
        pen = true;
    }
    cairo_stroke(p->cr);
    for(int m = 0; m < months; m++) {
        if(!rg->month[m].n)
            continue;
        cairo_arc(p->cr, XM(m), YV(rg->month[m].pct), 2.4, 0, 2 * M_PI);
        if(rg->month[m].n >= r->min_n) {
            cairo_fill(p->cr);
        } else {
            cairo_set_source_rgb(p->cr, 1, 1, 1);
            cairo_fill_preserve(p->cr);
            cairo_set_source_rgb(p->cr, 0.05, 0.25, 0.55);
            cairo_set_line_width(p->cr, 1);
            cairo_stroke(p->cr);
        }
    }
    cairo_set_source_rgb(p->cr, 0, 0, 0);
#undef YV
#undef XM
}

static void trend(Pdf *p, const TallyReport *r)
{
    char h[120];
    snprintf(h, sizeof h, tally_str(TS_DOC_S_TREND), r->trend_year);
    heading(p, h);
    int months = tally_table_trend_months(r);
    double tw = p->x1 - p->x0, cw = (tw - 14) / 2, ch = 150;
    for(int g = 0; g < GROUP_COUNT; g += 2) {
        need(p, ch + 6);
        for(int k = 0; k < 2 && g + k < GROUP_COUNT; k++)
            trend_chart(p, r, g + k, months, p->x0 + k * (cw + 14), p->y, cw, ch);
        p->y += ch + 8;
    }
    char note[400];
    snprintf(note, sizeof note, tally_str(TS_DOC_TREND_NOTE), r->min_n);
    para(p, note, F_ITALIC, SMALL_PT, PANGO_ALIGN_LEFT, false, 6);
}

static void reasons(Pdf *p, const TallyReport *r)
{
    double tw = p->x1 - p->x0, lw = 170, bx = p->x0 + lw + 6, bw = tw - lw - 6 - 50, row_h = 17;
    need(p, 70 + REASON_COUNT * row_h); /* the heading stays with its chart */
    heading(p, tally_str(TS_DOC_S_REASONS));
    int64_t max = 1;
    for(int k = 0; k < REASON_COUNT; k++)
        if(r->reasons[k].n > max)
            max = r->reasons[k].n;
    need(p, REASON_COUNT * row_h + 30);
    for(int k = 0; k < REASON_COUNT; k++) {
        const TallyReportReason *rr = &r->reasons[k];
        PangoLayout *l = layout(p, proto_reason_name_vi((ProtoReason)rr->reason), F_REG, TABLE_PT, lw, PANGO_ALIGN_RIGHT);
        draw(p, l, p->x0, p->y + (row_h - height_of(l)) / 2);
        g_object_unref(l);
        double w = bw * (double)rr->n / (double)max;
        cairo_set_source_rgb(p->cr, 0.05, 0.25, 0.55);
        cairo_rectangle(p->cr, bx, p->y + 3, w, row_h - 6);
        cairo_fill(p->cr);
        cairo_set_source_rgb(p->cr, 0, 0, 0);
        char n[32];
        tally_fmt_int_vi(rr->n, n, sizeof n);
        l = layout(p, n, F_REG, TABLE_PT, -1, PANGO_ALIGN_LEFT);
        draw(p, l, bx + w + 4, p->y + (row_h - height_of(l)) / 2);
        g_object_unref(l);
        p->y += row_h;
    }
    cairo_set_line_width(p->cr, 0.6);
    cairo_move_to(p->cr, bx, p->y - REASON_COUNT * row_h);
    cairo_line_to(p->cr, bx, p->y);
    cairo_stroke(p->cr);
    p->y += 4;
    char note[400];
    char un[32];
    tally_fmt_int_vi(r->unsatisfied, un, sizeof un);
    snprintf(note, sizeof note, tally_str(TS_DOC_REASONS_NOTE), un);
    para(p, note, F_ITALIC, SMALL_PT, PANGO_ALIGN_LEFT, false, 6);
}

static void method(Pdf *p, const TallyReport *r)
{
    heading(p, tally_str(TS_DOC_S_METHOD));
    char min_n[600], gen[200], last[64], at[64];
    snprintf(min_n, sizeof min_n, tally_str(TS_DOC_METHOD_MIN_N), r->min_n);
    const char *items[] = {tally_str(TS_DOC_METHOD_SCALE), tally_str(TS_DOC_METHOD_PCT), tally_str(TS_DOC_METHOD_MISUSE),
                           min_n, tally_str(TS_DOC_METHOD_TARGETS), tally_str(r->note_key),
                           tally_str(r->note_supplementary_key)};
    char t[PTIME_TEXT_MAX];
    ptime_format(r->generated_at, PTIME_VN_OFFSET_MIN, t);
    snprintf(at, sizeof at, "%.2s/%.2s/%.4s %.5s", t + 8, t + 5, t, t + 11);
    if(r->data_last_received) {
        ptime_format(r->data_last_received, PTIME_VN_OFFSET_MIN, t);
        snprintf(last, sizeof last, "%.2s/%.2s/%.4s %.5s", t + 8, t + 5, t, t + 11);
    } else {
        snprintf(last, sizeof last, "%s", tally_str(TS_META_NO_DATA));
    }
    snprintf(gen, sizeof gen, tally_str(TS_DOC_GENERATED), at, last);
    /* The signature never stands alone on a page: the last two notes and the generation line go with it. */
    size_t n = sizeof items / sizeof items[0];
    char b[sizeof items / sizeof items[0]][TEXT_MAX];
    double tail = para_height(p, gen, F_ITALIC, SMALL_PT, false) + 10 + SIGNATURE_H;
    for(size_t i = 0; i < n; i++) {
        snprintf(b[i], sizeof b[i], "%zu. %s", i + 1, items[i]);
        if(i + 2 >= n)
            tail += para_height(p, b[i], F_REG, 12, true) + 2;
    }
    for(size_t i = 0; i < n; i++) {
        if(i + 2 == n)
            need(p, tail);
        para(p, b[i], F_REG, 12, PANGO_ALIGN_LEFT, true, 2);
    }
    p->y += 2;
    para(p, gen, F_ITALIC, SMALL_PT, PANGO_ALIGN_LEFT, false, 8);
}

/* "Nơi nhận" on the left, the signer on the right, with room for the digital signature. */
static void signature(Pdf *p, const TallyLetterhead *lh)
{
    double left_w = 68 * MM, right_x = p->x0 + left_w, right_w = p->x1 - right_x;
    need(p, SIGNATURE_H);
    p->y += 6;
    double y = p->y;
    PangoLayout *l = layout(p, tally_str(TS_DOC_RECIPIENTS_HEAD), F_BOLD_ITALIC, 12, left_w, PANGO_ALIGN_LEFT);
    draw(p, l, p->x0, y);
    double ly = y + height_of(l);
    g_object_unref(l);
    /* Recipients: "a; b" -> "- a;" / "- b." */
    char list[TALLY_LETTERHEAD_MAX];
    snprintf(list, sizeof list, "%s", lh->recipients);
    for(char *save = NULL, *it = strtok_r(list, ";", &save); it; it = strtok_r(NULL, ";", &save)) {
        while(*it == ' ')
            it++;
        if(!*it)
            continue;
        char line[TALLY_LETTERHEAD_MAX + 8];
        bool last = !save || !*save || strspn(save, " ;") == strlen(save);
        snprintf(line, sizeof line, "- %s%s", it, last ? "." : ";");
        l = layout(p, line, F_REG, 11, left_w, PANGO_ALIGN_LEFT);
        draw(p, l, p->x0, ly);
        ly += height_of(l);
        g_object_unref(l);
    }
    l = layout(p, lh->signer_title, F_BOLD, BODY_PT, right_w, PANGO_ALIGN_CENTER);
    draw(p, l, right_x, y);
    double ry = y + height_of(l) + SIGNATURE_ROOM; /* the signature (ký số) goes here */
    g_object_unref(l);
    if(lh->signer_name[0]) {
        l = layout(p, lh->signer_name, F_BOLD, BODY_PT, right_w, PANGO_ALIGN_CENTER);
        draw(p, l, right_x, ry);
        ry += height_of(l);
        g_object_unref(l);
    }
    p->y = fmax(ly, ry) + 6;
}

/* The appendix: every unit of the tree with its figure per group, on landscape pages. */
static void appendix(Pdf *p, const TallyReport *r)
{
    new_page(p, true);
    para(p, tally_str(TS_DOC_S_UNITS), F_BOLD, BODY_PT, PANGO_ALIGN_CENTER, false, 2);
    char sub[TEXT_MAX];
    snprintf(sub, sizeof sub, "%s — %s", r->period.label_vi, r->unit_name);
    para(p, sub, F_ITALIC, 12, PANGO_ALIGN_CENTER, false, 4);
    para(p, tally_str(TS_DOC_UNITS_NOTE), F_ITALIC, SMALL_PT, PANGO_ALIGN_LEFT, false, 6);
    double tw = p->x1 - p->x0, gw = 78, aw = 58, cw = 106; /* five groups: room for the name */
    PdfCol cols[3 + GROUP_COUNT];
    int nc = 0;
    cols[nc++] = (PdfCol){cw, PANGO_ALIGN_LEFT};
    cols[nc++] = (PdfCol){tw - cw - GROUP_COUNT * gw - aw, PANGO_ALIGN_LEFT};
    for(int g = 0; g < GROUP_COUNT; g++)
        cols[nc++] = (PdfCol){gw, PANGO_ALIGN_CENTER};
    cols[nc++] = (PdfCol){aw, PANGO_ALIGN_CENTER};
    PdfCell head[3 + GROUP_COUNT];
    fill_none(head, nc);
    head[0].text = tally_str(TS_UNIT_CODE);
    head[1].text = tally_str(TS_UNIT_NAME);
    for(int g = 0; g < GROUP_COUNT; g++)
        head[2 + g].text = proto_group_name_vi((ProtoGroup)g);
    head[2 + GROUP_COUNT].text = tally_str(TS_FIG_TOTAL);
    table_row(p, cols, nc, head, SMALL_PT, true);
    char text[GROUP_COUNT + 1][160];
    for(size_t i = 0; i < r->n_units; i++) {
        const TallyReportUnit *u = &r->units[i];
        PdfCell row[3 + GROUP_COUNT];
        memset(row, 0, sizeof row);
        fill_none(row, nc);
        row[0] = cell(u->code, F_REG);
        row[1] = cell(u->name, u->depth == 0 ? F_BOLD : F_REG);
        row[1].indent = 9.0 * (u->depth > 6 ? 6 : u->depth);
        for(int g = 0; g <= GROUP_COUNT; g++) {
            const TallyFigure *f = g < GROUP_COUNT ? &u->fig[g] : &u->all;
            char n[32], pct[32], nline[64];
            tally_fmt_int_vi(f->n, n, sizeof n);
            snprintf(nline, sizeof nline, tally_str(TS_DOC_N_SHORT), n);
            if(!f->n) {
                snprintf(text[g], sizeof text[g], "%s", tally_str(TS_DOC_CHANGE_NONE));
            } else if(g == GROUP_COUNT) {
                pct_vi(f->pct, pct, sizeof pct);
                snprintf(text[g], sizeof text[g], "%s\n%s", pct, nline);
            } else {
                static const TallyStr SHORT[] = {[TALLY_STATUS_NONE] = TS_DOC_CHANGE_NONE,
                                                 [TALLY_STATUS_DAT] = TS_DOC_VERDICT_SHORT_DAT,
                                                 [TALLY_STATUS_KHONG_DAT] = TS_DOC_VERDICT_SHORT_KHONG_DAT,
                                                 [TALLY_STATUS_CHUA_DU_MAU] = TS_DOC_VERDICT_SHORT_CHUA_DU_MAU};
                pct_vi(f->pct, pct, sizeof pct);
                snprintf(text[g], sizeof text[g], "%s  %s/%s\n%s", pct, tally_str(SHORT[f->status[0]]),
                         tally_str(SHORT[f->status[1]]), nline);
                verdict_fill(f->status[0], row[2 + g].fill);
            }
            row[2 + g].text = text[g];
            row[2 + g].font = F_REG;
        }
        table_body_row(p, cols, nc, head, row, SMALL_PT);
    }
}

/* ---- Entry --------------------------------------------------------------------------------------------- */

static cairo_status_t write_out(void *closure, const unsigned char *data, unsigned int len)
{
    TallyBuf *b = closure;
    tally_buf_put(b, (const char *)data, len);
    return b->oom ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

TallyErr tally_render_pdf(const TallyReport *r, const TallyLetterhead *lh, TallyBuf *out, char msg[TALLY_MSG_MAX])
{
    Pdf p = {.w = A4_W, .h = A4_H, .x0 = MARGIN_LEFT, .x1 = A4_W - MARGIN_RIGHT, .y = MARGIN_TOP, .page = 1,
             .out = out};
    TallyErr e = load_fonts(&p, msg);
    if(e)
        return e;
    p.surface = cairo_pdf_surface_create_for_stream(write_out, out, A4_W, A4_H);
    p.cr = cairo_create(p.surface);
    char title[TEXT_MAX], unit[4 * TALLY_NAME_MAX + 8];
    tally_utf8_clean(r->unit_name, strlen(r->unit_name), unit, sizeof unit);
    snprintf(title, sizeof title, "%s %s — %s", tally_str(TS_DOC_TITLE), r->period.label_vi, unit);
    cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_AUTHOR, lh->issuer);
    cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_CREATOR, tally_str(TS_PRODUCT));
    cairo_set_source_rgb(p.cr, 0, 0, 0);

    letterhead(&p, r, lh);
    intro(&p, r);
    groups_table(&p, r);
    respondents_table(&p, r);
    ranking_table(&p, r);
    trend(&p, r);
    reasons(&p, r);
    method(&p, r);
    signature(&p, lh);
    if(r->n_units)
        appendix(&p, r);

    cairo_destroy(p.cr);
    cairo_surface_finish(p.surface);
    cairo_status_t st = cairo_surface_status(p.surface);
    cairo_surface_destroy(p.surface);
    g_object_unref(p.pc);
    if(st != CAIRO_STATUS_SUCCESS || out->oom) {
        snprintf(msg, TALLY_MSG_MAX, "cannot make the PDF: %s", out->oom ? "out of memory" : cairo_status_to_string(st));
        return out->oom || st == CAIRO_STATUS_NO_MEMORY ? TALLY_E_NOMEM : TALLY_E_IO;
    }
    return TALLY_OK;
}
