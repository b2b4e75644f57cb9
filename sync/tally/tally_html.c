/* tally_html.c — dashboard pages from the report model (see tally_html.h).
 *
 * Layout of every signed-in page: page_open() (header, tabs, the meta strip every page must state, the period
 * picker), the page's own sections, page_close() (the indicative-figures notes). Charts are inline SVG built
 * from model fields. Formatting follows Vietnamese usage: 1.240 for thousands, 92,7 for decimals, dd/mm/yyyy. */
#include "sync/tally/tally_html.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sync/tally/tally_export.h"

#define E(b, s) tally_html_escape(b, s)
#define P(b, s) tally_buf_puts(b, s)
#define F(b, ...) tally_buf_printf(b, __VA_ARGS__)
#define T(id) tally_str(id)
#define RANK_SHOWN 10

/* ---- Escaping and numbers ------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static int utf8_len(const unsigned char *p)
{
    if(p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : 0;
    if(!n)
        return 0;
    for(int i = 1; i < n; i++)
        if((p[i] & 0xC0) != 0x80)
            return 0;
    if(n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
        return 0; /* overlong, or a UTF-16 surrogate */
    if(n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
        return 0;
    return n;
}

void tally_html_escape(TallyBuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    const unsigned char *run = p;
    while(*p) {
        const char *rep = NULL;
        int n = 1;
        switch(*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if(*p < 0x20 && *p != '\n' && *p != '\t')
                rep = "\xEF\xBF\xBD";
            else if(*p >= 0x80 && !(n = utf8_len(p)))
                rep = "\xEF\xBF\xBD", n = 1;
            break;
        }
        if(rep) {
            tally_buf_put(b, (const char *)run, (size_t)(p - run));
            tally_buf_puts(b, rep);
            p += n;
            run = p;
        } else {
            p += n;
        }
    }
    tally_buf_put(b, (const char *)run, (size_t)(p - run));
}

/* 1234567 -> "1.234.567" */
static const char *fmt_int(char out[32], int64_t v)
{
    char raw[24];
    snprintf(raw, sizeof raw, "%lld", (long long)(v < 0 ? -v : v));
    size_t len = strlen(raw), o = 0;
    if(v < 0)
        out[o++] = '-';
    for(size_t i = 0; i < len; i++) {
        out[o++] = raw[i];
        if((len - i - 1) % 3 == 0 && i + 1 < len)
            out[o++] = '.';
    }
    out[o] = '\0';
    return out;
}

/* 92.7449 -> "92,7" (decimals 1) */
static const char *fmt_dec(char out[32], double v, int decimals)
{
    snprintf(out, 32, "%.*f", decimals, v);
    char *dot = strchr(out, '.');
    if(dot)
        *dot = ',';
    return out;
}

/* A target such as 90.0 -> "90", 92.5 -> "92,5". */
static const char *fmt_target(char out[32], double v)
{
    return fmt_dec(out, v, fabs(v - round(v)) < 1e-9 ? 0 : 1);
}

/* Unix seconds -> "dd/mm/yyyy HH:MM" in Asia/Ho_Chi_Minh. */
static const char *fmt_time(char out[32], int64_t t)
{
    if(!t) {
        snprintf(out, 32, "%s", T(TS_NEVER));
        return out;
    }
    int64_t local = t + PTIME_VN_OFFSET_MIN * 60;
    int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int64_t sec = local - day * 86400;
    int y, m, d;
    ptime_civil_from_days(day, &y, &m, &d);
    snprintf(out, 32, "%02d/%02d/%04d %02d:%02d", d, m, y, (int)(sec / 3600), (int)(sec % 3600 / 60));
    return out;
}

static const char *status_class(TallyStatus s, int64_t n)
{
    if(n == 0)
        return "none";
    switch(s) {
    case TALLY_STATUS_DAT: return "ok";
    case TALLY_STATUS_KHONG_DAT: return "bad";
    case TALLY_STATUS_CHUA_DU_MAU: return "few";
    default: return "plain";
    }
}

/* A verdict badge: colour and words (and a sign for those who cannot tell the colours apart). */
static void badge(TallyBuf *b, const TallyFigure *f, int milestone)
{
    const char *cls = status_class(f->status[milestone], f->n);
    TallyStr text = f->n == 0                                       ? TS_STATUS_NO_DATA
                  : f->status[milestone] == TALLY_STATUS_CHUA_DU_MAU ? TS_STATUS_CHUA_DU_MAU
                  : f->status[milestone] == TALLY_STATUS_DAT ? (milestone ? TS_STATUS_DAT_2030 : TS_STATUS_DAT_2025)
                                                             : (milestone ? TS_STATUS_KHONG_DAT_2030
                                                                          : TS_STATUS_KHONG_DAT_2025);
    const char *sign = !strcmp(cls, "ok") ? "✓ " : !strcmp(cls, "bad") ? "✗ " : "";
    F(b, "<span class=\"badge %s\">%s", cls, sign);
    E(b, T(text));
    P(b, "</span>");
}

/* Decimals to show pct with: one, or more while rounding would show a target reached that the verdict (from
 * counts) says is not (89.97 must not read "90,0%" beside "Chưa đạt"). */
static int pct_decimals(const TallyFigure *f, const double target[2])
{
    int dec = 1;
    for(int m = 0; m < 2; m++)
        while(dec < 4 && f->status[m] == TALLY_STATUS_KHONG_DAT && target[m] > 0 &&
              round(f->pct * pow(10, dec)) / pow(10, dec) >= target[m])
            dec++;
    return dec;
}

/* "92,7%" or "—"; target: the group's (2025, 2030), or NULL. */
static void pct_text(TallyBuf *b, const TallyFigure *f, const double *target)
{
    char x[32];
    static const double NONE[2] = {-1, -1};
    if(f->n)
        F(b, "%s%%", fmt_dec(x, f->pct, pct_decimals(f, target ? target : NONE)));
    else
        P(b, "—");
}

/* A table cell with a figure, coloured by its 2025 status, sortable by pct. */
static void fig_cell(TallyBuf *b, const TallyFigure *f, int milestone, const double *target)
{
    char x[32];
    F(b, "<td class=\"fig %s\" data-v=\"%.4f\" data-n=\"%lld\" data-satisfied=\"%lld\">",
      status_class(f->status[milestone], f->n), f->n ? f->pct : -1.0, (long long)f->n, (long long)f->satisfied);
    pct_text(b, f, target);
    if(f->n) {
        const char *word = f->status[milestone] == TALLY_STATUS_DAT         ? T(TS_STATUS_DAT)
                         : f->status[milestone] == TALLY_STATUS_KHONG_DAT   ? T(TS_STATUS_KHONG_DAT)
                         : f->status[milestone] == TALLY_STATUS_CHUA_DU_MAU ? T(TS_STATUS_CHUA_DU_MAU)
                                                                            : "";
        F(b, "<small>n = %s", fmt_int(x, f->n));
        if(*word) {
            P(b, " · ");
            E(b, word);
        }
        P(b, "</small>");
    }
    P(b, "</td>");
}

/* The wait indicator in a table: share within 30 minutes, n and interval; "–" without answers. */
static void wait_cell(TallyBuf *b, const TallyWait *w)
{
    char x[32], y[32];
    F(b, "<td class=\"num wait\" data-v=\"%.4f\" data-wait-n=\"%lld\" data-wait-within=\"%lld\">",
      w->n ? w->pct : -1.0, (long long)w->n, (long long)w->within);
    if(!w->n) {
        P(b, "–</td>");
        return;
    }
    F(b, "%s%%<small>n = %s · ", fmt_dec(x, w->pct, 1), fmt_int(y, w->n));
    F(b, "%s – %s%%</small></td>", fmt_dec(x, w->wilson_low, 1), fmt_dec(y, w->wilson_high, 1));
}

/* ---- Page frame ---------------------------------------------------------------------------------------- */

/* The respondent and area filters carried by every link of a filtered page. */
static void filter_args(TallyBuf *b, const TallyReport *r)
{
    if(r->respondent) {
        P(b, "&amp;respondent=");
        E(b, proto_respondent_code((ProtoRespondent)r->respondent));
    }
    if(r->area >= 0) {
        P(b, "&amp;area=");
        E(b, proto_area_code((ProtoArea)r->area));
    }
}

static void url_period(TallyBuf *b, const char *path, const char *code, const TallyReport *r)
{
    E(b, path);
    if(code) {
        P(b, "/");
        E(b, code);
    }
    P(b, "?period=");
    E(b, r->period.code);
    filter_args(b, r);
}

static void head(TallyBuf *b, const char *title)
{
    P(b, "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"referrer\" content=\"no-referrer\"><title>");
    E(b, title);
    P(b, " — ");
    E(b, T(TS_PRODUCT));
    P(b, "</title><link rel=\"stylesheet\" href=\"/static/dashboard.css\">"
         "<script src=\"/static/dashboard.js\" defer></script></head>\n");
}

static void brand(TallyBuf *b)
{
    P(b, "<div class=\"brand\"><div class=\"emblem\" aria-hidden=\"true\">★</div><div><div class=\"issuer\">");
    E(b, T(TS_ISSUER));
    P(b, "</div><div class=\"product\">");
    E(b, T(TS_PRODUCT));
    P(b, "</div></div></div>");
}

static void period_picker(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r)
{
    static const TallyStr KIND_TEXT[TALLY_PERIOD_COUNT] = {TS_PERIOD_MONTH, TS_PERIOD_QUARTER, TS_PERIOD_HALF,
                                                           TS_PERIOD_9MONTH, TS_PERIOD_YEAR, TS_PERIOD_CUSTOM};
    const TallyPeriod *p = &r->period;
    P(b, "<form class=\"picker\" method=\"get\" action=\"");
    E(b, c->path);
    P(b, "\"><label>");
    E(b, T(TS_PICK_KIND));
    P(b, " <select name=\"kind\">");
    for(int k = 0; k < TALLY_PERIOD_COUNT; k++) {
        F(b, "<option value=\"%s\"%s>", tally_period_kind_code((TallyPeriodKind)k), (int)p->kind == k ? " selected" : "");
        E(b, T(KIND_TEXT[k]));
        P(b, "</option>");
    }
    P(b, "</select></label><label>");
    E(b, T(TS_PICK_YEAR));
    F(b, " <input name=\"year\" type=\"number\" min=\"2000\" max=\"2199\" value=\"%d\"></label><label>", p->year);
    E(b, T(TS_PICK_INDEX));
    P(b, " <select name=\"index\">");
    for(int i = 1; i <= 12; i++)
        F(b, "<option value=\"%d\"%s>%d</option>", i, p->index == i ? " selected" : "", i);
    P(b, "</select></label><span class=\"or\">");
    E(b, T(TS_PICK_OR));
    char from[PTIME_DATE_LEN], to[PTIME_DATE_LEN];
    ptime_format_date(p->from_day, from);
    ptime_format_date(p->to_day, to);
    P(b, "</span><label>");
    E(b, T(TS_PERIOD_FROM));
    F(b, " <input name=\"from\" type=\"date\" value=\"%s\"></label><label>", from);
    E(b, T(TS_PERIOD_TO));
    F(b, " <input name=\"to\" type=\"date\" value=\"%s\"></label><label>", to);
    E(b, T(TS_FIG_RESPONDENT));
    P(b, " <select name=\"respondent\"><option value=\"\">");
    E(b, T(TS_FIG_ALL_RESPONDENTS));
    P(b, "</option>");
    for(int k = RESPONDENT_NONE + 1; k < RESPONDENT_COUNT; k++) {
        P(b, "<option value=\"");
        E(b, proto_respondent_code((ProtoRespondent)k));
        P(b, r->respondent == k ? "\" selected>" : "\">");
        E(b, proto_respondent_name_vi((ProtoRespondent)k));
        P(b, "</option>");
    }
    P(b, "</select></label><label>");
    E(b, T(TS_UNIT_AREA));
    P(b, " <select name=\"area\"><option value=\"\">");
    E(b, T(TS_FIG_ALL_AREAS));
    P(b, "</option>");
    for(int a = 0; a < AREA_COUNT; a++) {
        P(b, "<option value=\"");
        E(b, proto_area_code((ProtoArea)a));
        P(b, r->area == a ? "\" selected>" : "\">");
        E(b, proto_area_name_vi((ProtoArea)a));
        P(b, "</option>");
    }
    P(b, "</select></label><button type=\"submit\">");
    E(b, T(TS_PERIOD_SHOW));
    P(b, "</button></form>\n");
}

static void page_open(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r, const char *title)
{
    static const struct { TallyPage page; const char *path; TallyStr text; } TABS[] = {
        {TALLY_PAGE_OVERVIEW, "/tong-quan", TS_NAV_OVERVIEW}, {TALLY_PAGE_UNITS, "/don-vi", TS_NAV_UNITS},
        {TALLY_PAGE_DEVICES, "/thiet-bi", TS_NAV_DEVICES}, {TALLY_PAGE_ALERTS, "/canh-bao", TS_NAV_ALERTS}};
    head(b, title);
    P(b, "<body><header class=\"top\">");
    brand(b);
    if(c->viewer) {
        P(b, "<div class=\"who\"><span>");
        E(b, T(TS_SIGNED_IN_AS));
        P(b, ": <b>");
        E(b, c->viewer);
        P(b, "</b></span><form method=\"post\" action=\"/dang-xuat\"><input type=\"hidden\" name=\"csrf\" value=\"");
        E(b, c->csrf);
        P(b, "\"><button type=\"submit\" class=\"link\">");
        E(b, T(TS_SIGN_OUT));
        P(b, "</button></form></div>");
    }
    P(b, "</header>\n<nav class=\"tabs\">");
    for(size_t i = 0; i < sizeof TABS / sizeof TABS[0]; i++) {
        bool on = TABS[i].page == c->page || (c->page == TALLY_PAGE_UNIT && TABS[i].page == TALLY_PAGE_UNITS);
        P(b, "<a href=\"");
        if(r)
            url_period(b, TABS[i].path, NULL, r);
        else
            E(b, TABS[i].path);
        F(b, "\"%s>", on ? " class=\"on\" aria-current=\"page\"" : "");
        E(b, T(TABS[i].text));
        P(b, "</a>");
    }
    P(b, "</nav>\n<main>");
    if(!r)
        return;
    char x[32];
    P(b, "<section class=\"meta\"><div><span>");
    E(b, T(TS_META_PERIOD));
    P(b, "</span><b id=\"meta-period\">");
    E(b, r->period.label_vi);
    P(b, "</b></div><div><span>");
    E(b, T(TS_META_SCOPE));
    P(b, "</span><b id=\"meta-scope\">");
    E(b, r->unit_name);
    if(r->unit_code[0]) {
        P(b, " <small>(");
        E(b, r->unit_code);
        P(b, ")</small>");
    }
    char filters[200];
    tally_filters_vi(r, filters, sizeof filters);
    if(filters[0]) { /* a filtered page says so beside its scope, not only in the picker */
        P(b, "</b></div><div><span>");
        E(b, T(TS_META_FILTER));
        P(b, "</span><b id=\"meta-filter\">");
        E(b, filters);
    }
    P(b, "</b></div><div><span>");
    E(b, T(TS_META_LAST_DATA));
    P(b, "</span><b id=\"meta-last\">");
    E(b, r->data_last_received ? fmt_time(x, r->data_last_received) : T(TS_META_NO_DATA));
    P(b, "</b></div><div><span>");
    E(b, T(TS_META_GENERATED));
    P(b, "</span><b>");
    E(b, fmt_time(x, r->generated_at));
    P(b, "</b></div></section>\n");
    period_picker(b, c, r);
    P(b, "<h1>");
    E(b, title);
    P(b, "</h1>\n");
}

static void page_close(TallyBuf *b, const TallyReport *r)
{
    P(b, "<footer class=\"notes\">");
    if(r) {
        P(b, "<p>");
        E(b, T(r->note_key));
        P(b, "</p><p>");
        E(b, T(r->note_supplementary_key));
        P(b, "</p>");
    }
    P(b, "</footer></main></body></html>\n");
}

/* ---- Downloads ----------------------------------------------------------------------------------------- */

/* A link to a report file (tally_export.h, served by /tai-ve) of exactly what the page shows: its period and
 * its unit ("" = the viewer's scope). Codes are URL-safe as they are (tally_period_parse, proto_code_valid). */
static void file_link(TallyBuf *b, const TallyReport *r, TallyFileFormat f, int view, const char *text)
{
    P(b, "<a class=\"dl\" id=\"dl-");
    E(b, tally_file_format_code(f));
    if(view >= 0) {
        P(b, "-");
        E(b, tally_view_code((TallyView)view));
    }
    P(b, "\" href=\"/tai-ve?format=");
    E(b, tally_file_format_code(f));
    if(view >= 0) {
        P(b, "&amp;view=");
        E(b, tally_view_code((TallyView)view));
    }
    P(b, "&amp;period=");
    E(b, r->period.code);
    filter_args(b, r);
    if(r->unit_code[0]) {
        P(b, "&amp;unit=");
        E(b, r->unit_code);
    }
    P(b, "\" download>");
    E(b, text);
    P(b, "</a>");
}

/* The files of what this page shows: the PDF to sign and the workbook where the page is about a unit or the
 * whole scope, and a CSV of each table the page shows. Not printed. */
static void downloads(TallyBuf *b, const TallyReport *r, bool report_files, const TallyView *views, size_t n_views)
{
    P(b, "<nav class=\"downloads\" id=\"downloads\" aria-label=\"");
    E(b, T(TS_DL_TITLE));
    P(b, "\"><span class=\"dl-title\">⬇ ");
    E(b, T(TS_DL_TITLE));
    P(b, "</span>");
    if(report_files) {
        file_link(b, r, TALLY_FILE_PDF, -1, T(TS_DL_PDF));
        file_link(b, r, TALLY_FILE_XLSX, -1, T(TS_DL_XLSX));
    }
    if(n_views) {
        P(b, "<span class=\"dl-csv\">");
        E(b, T(TS_DL_CSV));
        P(b, "</span>");
        for(size_t i = 0; i < n_views; i++)
            file_link(b, r, TALLY_FILE_CSV, views[i], tally_view_title(views[i]));
    }
    P(b, "</nav>\n");
}

/* ---- Cards and charts ---------------------------------------------------------------------------------- */

static void group_cards(TallyBuf *b, const TallyReport *r)
{
    char x[32], y[32];
    P(b, "<section class=\"cards\">");
    for(int g = 0; g < GROUP_COUNT; g++) {
        const TallyReportGroup *rg = &r->groups[g];
        const TallyFigure *f = &rg->cur;
        F(b, "<article class=\"card %s\" data-group=\"%s\" data-n=\"%lld\" data-satisfied=\"%lld\" data-flagged=\"%lld\""
             " data-wait-n=\"%lld\" data-wait-within=\"%lld\">",
          status_class(f->status[0], f->n), proto_group_code((ProtoGroup)g), (long long)f->n,
          (long long)f->satisfied, (long long)f->flagged, (long long)f->wait.n, (long long)f->wait.within);
        P(b, "<h2>");
        E(b, proto_group_name_vi((ProtoGroup)g));
        P(b, "</h2><div class=\"big\">");
        pct_text(b, f, rg->target);
        P(b, "</div><div class=\"badges\">");
        badge(b, f, 0);
        badge(b, f, 1);
        P(b, "</div><dl><dt>");
        E(b, T(TS_FIG_N));
        F(b, "</dt><dd>%s</dd>", fmt_int(x, f->n));
        if(f->n) {
            P(b, "<dt>");
            E(b, T(TS_FIG_INTERVAL));
            F(b, "</dt><dd>%s – %s%%</dd>", fmt_dec(x, f->wilson_low, 1), fmt_dec(y, f->wilson_high, 1));
        }
        P(b, "<dt>");
        E(b, T(TS_FIG_FLAGGED));
        F(b, "</dt><dd>%s</dd><dt>", fmt_int(x, f->flagged));
        E(b, T(TS_FIG_WAIT));
        if(f->wait.n)
            F(b, "</dt><dd class=\"wait\">%s%% (n = %s)</dd>", fmt_dec(x, f->wait.pct, 1), fmt_int(y, f->wait.n));
        else
            P(b, "</dt><dd class=\"wait\">–</dd>");
        P(b, "</dl><p class=\"targets\">");
        char line[160];
        snprintf(line, sizeof line, T(TS_TARGETS_LINE), fmt_target(x, rg->target[0]), fmt_target(y, rg->target[1]));
        E(b, line);
        P(b, "</p><p class=\"change\">");
        if(rg->has_change) {
            double d = rg->change_pts;
            char text[200];
            fmt_dec(x, fabs(d), 1);
            if(fabs(d) < 0.05)
                snprintf(text, sizeof text, T(TS_CHANGE_SAME), r->period.prev_label_vi);
            else
                snprintf(text, sizeof text, T(d > 0 ? TS_CHANGE_UP : TS_CHANGE_DOWN), x, r->period.prev_label_vi);
            F(b, "<span class=\"%s\">%s ", d > 0.05 ? "up" : d < -0.05 ? "down" : "same",
              d > 0.05 ? "▲" : d < -0.05 ? "▼" : "●");
            E(b, text);
            P(b, "</span>");
        } else {
            E(b, T(TS_FIG_CHANGE));
            P(b, ": ");
            E(b, T(TS_FIG_NO_CHANGE));
        }
        P(b, "</p></article>");
    }
    P(b, "</section>\n");
}

/* One column head per target group (attrs: extra attributes of each th, from code). */
static void group_heads(TallyBuf *b, const char *attrs)
{
    for(int g = 0; g < GROUP_COUNT; g++) {
        P(b, "<th class=\"num\"");
        P(b, attrs);
        P(b, ">");
        E(b, proto_group_name_vi((ProtoGroup)g));
        P(b, "</th>");
    }
}

/* Every target group's figure per respondent type, with every area's and its wait indicator; the whole
 * slice's wait first. The rows are the model's respondents[] (the page's respondent filter already applied). */
static void respondents_section(TallyBuf *b, const TallyReport *r)
{
    char x[32], y[32];
    P(b, "<section id=\"respondents\"><h2>");
    E(b, T(TS_OV_RESPONDENTS));
    P(b, "</h2><p class=\"hint\" id=\"wait-total\">");
    E(b, T(TS_FIG_WAIT));
    P(b, " (");
    E(b, T(TS_FIG_TOTAL));
    if(r->total.wait.n)
        F(b, "): <b>%s%%</b>, n = %s.", fmt_dec(x, r->total.wait.pct, 1), fmt_int(y, r->total.wait.n));
    else
        P(b, "): –.");
    P(b, " ");
    E(b, T(TS_FIG_WAIT_NOTE));
    P(b, "</p><p class=\"hint\">");
    E(b, T(TS_FIG_RESPONDENT_NOTE));
    P(b, "</p><div class=\"scroll\"><table class=\"data\" id=\"respondent-table\"><thead><tr><th>");
    E(b, T(TS_FIG_RESPONDENT));
    P(b, "</th>");
    group_heads(b, "");
    P(b, "<th class=\"num\">");
    E(b, T(TS_FIG_N));
    P(b, "</th><th class=\"num\">");
    E(b, T(TS_FIG_WAIT));
    P(b, "</th></tr></thead><tbody>");
    for(int p = 0; p < RESPONDENT_COUNT; p++) {
        const TallyReportRespondent *rr = &r->respondents[p];
        const char *code = proto_respondent_code((ProtoRespondent)rr->respondent);
        F(b, "<tr data-respondent=\"%s\"><td>", code ? code : TALLY_RESPONDENT_NONE_CODE);
        E(b, tally_respondent_vi(rr->respondent));
        P(b, "</td>");
        for(int g = 0; g < GROUP_COUNT; g++)
            fig_cell(b, &rr->fig[g], 0, r->groups[g].target);
        F(b, "<td class=\"num\" data-v=\"%lld\">%s</td>", (long long)rr->all.n, fmt_int(x, rr->all.n));
        wait_cell(b, &rr->all.wait);
        P(b, "</tr>");
    }
    P(b, "</tbody></table></div></section>\n");
}

/* One group's monthly line against its two target lines. */
static void trend_chart(TallyBuf *b, const TallyReport *r, int g)
{
    const TallyReportGroup *rg = &r->groups[g];
    const double W = 340, H = 190, L = 34, R = 10, TOP = 12, BOT = 26;
    double lo = rg->target[0] - 15;
    for(int m = 0; m < 12; m++)
        if(rg->month[m].n && rg->month[m].pct - 5 < lo)
            lo = rg->month[m].pct - 5;
    lo = floor(lo / 10) * 10;
    if(lo < 0)
        lo = 0;
    if(lo > 80)
        lo = 80;
#define XM(m) (L + ((double)(m) + 0.5) * (W - L - R) / 12.0)
#define YV(v) (TOP + (100.0 - (v)) * (H - TOP - BOT) / (100.0 - lo))
    char x[32], y[32];
    P(b, "<figure class=\"trend\"><figcaption>");
    E(b, proto_group_name_vi((ProtoGroup)g));
    F(b, "</figcaption><svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W, H);
    E(b, proto_group_name_vi((ProtoGroup)g));
    P(b, "\">");
    for(double v = lo; v <= 100.001; v += 10)
        F(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
             "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">%.0f</text>",
          L, W - R, YV(v), YV(v), L - 4, YV(v) + 4, v);
    for(int m = 0; m < 12; m++) {
        char lab[16];
        snprintf(lab, sizeof lab, T(TS_MONTH_SHORT), m + 1);
        F(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" text-anchor=\"middle\">%s</text>", XM(m), H - 8, lab);
    }
    for(int k = 0; k < 2; k++)
        if(rg->target[k] > lo)
            F(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"target t%d\"/>"
                 "<text x=\"%.1f\" y=\"%.1f\" class=\"tl t%d\" text-anchor=\"end\">%s %s%%</text>",
              L, W - R, YV(rg->target[k]), YV(rg->target[k]), k, W - R - 2, YV(rg->target[k]) - 3, k,
              k ? "2030" : "2025", fmt_target(x, rg->target[k]));
    P(b, "<polyline class=\"line\" points=\"");
    for(int m = 0; m < 12; m++)
        if(rg->month[m].n)
            F(b, "%.1f,%.1f ", XM(m), YV(rg->month[m].pct));
    P(b, "\"/>");
    for(int m = 0; m < 12; m++) {
        const TallyFigure *f = &rg->month[m];
        if(!f->n)
            continue;
        bool few = f->n < r->min_n;
        F(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" class=\"%s\"><title>", XM(m), YV(f->pct), few ? "few" : "dot");
        char t[160];
        snprintf(t, sizeof t, T(few ? TS_TREND_FEW : TS_TREND_DOT), m + 1, fmt_dec(x, f->pct, 1), fmt_int(y, f->n));
        E(b, t);
        P(b, "</title></circle>");
    }
#undef XM
#undef YV
    P(b, "</svg></figure>");
}

static void trend_section(TallyBuf *b, const TallyReport *r)
{
    char title[120], note[240];
    snprintf(title, sizeof title, T(TS_OV_TREND), r->trend_year);
    snprintf(note, sizeof note, T(TS_OV_TREND_NOTE), r->min_n);
    P(b, "<section class=\"trends\"><h2>");
    E(b, title);
    P(b, "</h2><div class=\"trend-grid\">");
    for(int g = 0; g < GROUP_COUNT; g++)
        trend_chart(b, r, g);
    P(b, "</div><p class=\"hint\">");
    E(b, note);
    P(b, "</p></section>\n");
}

static void unit_link(TallyBuf *b, const TallyReport *r, const char *code, const char *name)
{
    P(b, "<a href=\"");
    url_period(b, "/don-vi", code, r);
    P(b, "\">");
    E(b, name);
    P(b, "</a>");
}

static void ranking(TallyBuf *b, const TallyReport *r)
{
    char x[32], y[32];
    P(b, "<section class=\"ranking\"><h2>");
    E(b, T(TS_OV_RANK));
    P(b, "</h2><p class=\"hint\" id=\"rank-method\">");
    E(b, T(TS_OV_RANK_METHOD));
    P(b, "</p>");
    if(!r->n_ranking) {
        P(b, "<p>");
        E(b, T(TS_OV_RANK_EMPTY));
        P(b, "</p></section>");
        return;
    }
    P(b, "<div class=\"scroll\"><table class=\"data\"><thead><tr><th>#</th><th>");
    E(b, T(TS_UNIT_NAME));
    P(b, "</th><th>");
    E(b, T(TS_OV_GROUP));
    P(b, "</th><th class=\"num\">");
    E(b, T(TS_FIG_PCT));
    P(b, "</th><th class=\"num\">");
    E(b, T(TS_FIG_INTERVAL));
    P(b, "</th><th class=\"num\">");
    E(b, T(TS_OV_RANK_UPPER));
    P(b, "</th><th>");
    E(b, T(TS_FIG_TARGET_2025));
    P(b, "</th></tr></thead><tbody>");
    for(size_t i = 0; i < r->n_ranking && i < RANK_SHOWN; i++) {
        const TallyRankItem *it = &r->ranking[i];
        const TallyReportUnit *u = &r->units[it->unit];
        const TallyFigure *f = &u->fig[it->group];
        F(b, "<tr data-code=\"");
        E(b, u->code);
        F(b, "\" data-group=\"%s\"><td>%zu</td><td>", proto_group_code((ProtoGroup)it->group), i + 1);
        unit_link(b, r, u->code, u->name);
        if(u->parent >= 0) {
            P(b, "<small>");
            E(b, r->units[u->parent].name);
            P(b, "</small>");
        }
        P(b, "</td><td>");
        E(b, proto_group_name_vi((ProtoGroup)it->group));
        P(b, "</td>");
        fig_cell(b, f, 0, r->groups[it->group].target);
        F(b, "<td class=\"num\">%s – %s%%</td><td class=\"num\">%s%%</td><td>", fmt_dec(x, f->wilson_low, 1),
          fmt_dec(y, f->wilson_high, 1), fmt_dec(x, it->score, 1));
        badge(b, f, 0);
        P(b, "</td></tr>");
    }
    P(b, "</tbody></table></div></section>\n");
}

/* ---- Pages --------------------------------------------------------------------------------------------- */

void tally_html_overview(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r)
{
    char title[TALLY_NAME_MAX + 80];
    snprintf(title, sizeof title, "%s — %s", T(TS_OV_TITLE), r->unit_name);
    page_open(b, c, r, title);
    static const TallyView SHOWN[] = {TALLY_VIEW_GROUPS, TALLY_VIEW_TREND, TALLY_VIEW_RANKING,
                                      TALLY_VIEW_RESPONDENTS};
    downloads(b, r, true, SHOWN, sizeof SHOWN / sizeof SHOWN[0]);
    group_cards(b, r);
    respondents_section(b, r);
    trend_section(b, r);
    ranking(b, r);
    page_close(b, r);
}

/* The unit tree (or, on a unit page, the unit's direct children) as a table with one column per group. */
static void unit_table(TallyBuf *b, const TallyReport *r, bool children_only)
{
    char x[32];
    P(b, "<div class=\"scroll\"><table class=\"data tree\" id=\"unit-table\"><thead><tr><th data-sort=\"text\">");
    E(b, T(TS_UNIT_NAME));
    P(b, "</th>");
    group_heads(b, " data-sort=\"num\"");
    P(b, "<th class=\"num\" data-sort=\"num\">");
    E(b, T(TS_FIG_N));
    P(b, "</th><th class=\"num\" data-sort=\"num\">");
    E(b, T(TS_FIG_FLAGGED));
    P(b, "</th><th class=\"num\" data-sort=\"num\">");
    E(b, T(TS_FIG_WAIT));
    P(b, "</th></tr></thead><tbody>");
    for(size_t i = 0; i < r->n_units; i++) {
        const TallyReportUnit *u = &r->units[i];
        if(children_only && u->depth != 1)
            continue;
        F(b, "<tr data-depth=\"%d\" data-kids=\"%d\" data-code=\"", children_only ? 0 : u->depth,
          children_only ? 0 : u->n_children);
        E(b, u->code);
        P(b, "\" data-parent=\"");
        E(b, u->parent >= 0 ? r->units[u->parent].code : "");
        F(b, "\"><td class=\"name d%d\" data-v=\"", children_only ? 0 : (u->depth > 8 ? 8 : u->depth));
        E(b, u->name);
        P(b, "\">");
        unit_link(b, r, u->code, u->name);
        P(b, "<small>");
        E(b, u->code);
        P(b, "</small></td>");
        for(int g = 0; g < GROUP_COUNT; g++)
            fig_cell(b, &u->fig[g], 0, r->groups[g].target);
        F(b, "<td class=\"num\" data-v=\"%lld\">%s</td>", (long long)u->all.n, fmt_int(x, u->all.n));
        F(b, "<td class=\"num\" data-v=\"%lld\">%s</td>", (long long)u->all.flagged, fmt_int(x, u->all.flagged));
        wait_cell(b, &u->all.wait);
        P(b, "</tr>");
    }
    P(b, "</tbody></table></div>");
}

void tally_html_units(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r)
{
    page_open(b, c, r, T(TS_UNITS_TITLE));
    static const TallyView SHOWN[] = {TALLY_VIEW_UNITS};
    downloads(b, r, true, SHOWN, 1);
    P(b, "<p class=\"hint\">");
    E(b, T(TS_UNITS_HINT));
    P(b, " <button type=\"button\" class=\"js-only link\" id=\"tree-reset\">");
    E(b, T(TS_SORT_TREE));
    P(b, "</button></p>");
    unit_table(b, r, false);
    page_close(b, r);
}

static const TallyStr WEEKDAYS[7] = {TS_WEEKDAY_MON, TS_WEEKDAY_TUE, TS_WEEKDAY_WED, TS_WEEKDAY_THU,
                                     TS_WEEKDAY_FRI, TS_WEEKDAY_SAT, TS_WEEKDAY_SUN};

/* Hour x weekday grid; unsat chooses the dissatisfaction map (red) over the ratings map (blue). */
static void heat_map(TallyBuf *b, const TallyReport *r, bool unsat)
{
    const TallyReportHeat *h = &r->heat;
    int h_lo = 7, h_hi = 17;
    for(int d = 0; d < 7; d++)
        for(int k = 0; k < 24; k++)
            if(h->n[d][k]) {
                h_lo = k < h_lo ? k : h_lo;
                h_hi = k > h_hi ? k : h_hi;
            }
    int64_t max = 0;
    for(int d = 0; d < 7; d++)
        for(int k = 0; k < 24; k++) {
            int64_t v = unsat ? h->unsatisfied[d][k] : h->n[d][k];
            max = v > max ? v : max;
        }
    const double CW = 34, CH = 24, L = 34, TOP = 18;
    int cols = h_hi - h_lo + 1;
    char x[32], y[32];
    P(b, "<figure class=\"heat\"><figcaption>");
    E(b, T(unsat ? TS_UNIT_HEAT_UNSAT : TS_UNIT_HEAT));
    F(b, "</figcaption><svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", L + cols * CW + 4, TOP + 7 * CH + 4);
    E(b, T(unsat ? TS_UNIT_HEAT_UNSAT : TS_UNIT_HEAT));
    P(b, "\">");
    for(int k = h_lo; k <= h_hi; k++)
        F(b, "<text x=\"%.1f\" y=\"12\" class=\"ax\" text-anchor=\"middle\">%dh</text>", L + (k - h_lo + 0.5) * CW, k);
    for(int d = 0; d < 7; d++) {
        F(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">", L - 4, TOP + d * CH + CH * 0.65);
        E(b, T(WEEKDAYS[d]));
        P(b, "</text>");
        for(int k = h_lo; k <= h_hi; k++) {
            int64_t v = unsat ? h->unsatisfied[d][k] : h->n[d][k];
            double a = max ? 0.08 + 0.92 * (double)v / (double)max : 0;
            F(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"%s\" fill-opacity=\"%.2f\" "
                 "data-v=\"%lld\"><title>",
              L + (k - h_lo) * CW + 1, TOP + d * CH + 1, CW - 2, CH - 2, unsat ? "hu" : "hn", v ? a : 0.04, (long long)v);
            char t[200];
            snprintf(t, sizeof t, T(TS_HEAT_CELL), T(WEEKDAYS[d]), k, fmt_int(x, h->n[d][k]),
                     fmt_int(y, h->unsatisfied[d][k]));
            E(b, t);
            P(b, "</title></rect>");
            if(v)
                F(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"hv%s\" text-anchor=\"middle\">%s</text>",
                  L + (k - h_lo + 0.5) * CW, TOP + d * CH + CH * 0.68, a > 0.55 ? " inv" : "", fmt_int(x, v));
        }
    }
    P(b, "</svg></figure>");
}

static void reasons_chart(TallyBuf *b, const TallyReport *r)
{
    char x[32], note[200];
    P(b, "<section class=\"reasons\"><h2>");
    E(b, T(TS_UNIT_REASONS));
    P(b, "</h2>");
    snprintf(note, sizeof note, T(TS_UNIT_REASONS_NOTE), (long long)r->unsatisfied);
    P(b, "<p class=\"hint\">");
    E(b, note);
    P(b, "</p>");
    if(!r->reasons_total) {
        P(b, "<p>");
        E(b, T(TS_UNIT_NO_REASONS));
        P(b, "</p></section>");
        return;
    }
    int64_t max = r->reasons[0].n;
    const double W = 560, ROW = 30, LABEL = 190;
    int rows = 0;
    for(int k = 0; k < REASON_COUNT; k++)
        rows += r->reasons[k].n > 0;
    F(b, "<svg class=\"bars\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W, rows * ROW + 4);
    E(b, T(TS_UNIT_REASONS));
    P(b, "\">");
    int row = 0;
    for(int k = 0; k < REASON_COUNT; k++) {
        const TallyReportReason *rr = &r->reasons[k];
        if(!rr->n)
            continue;
        double w = (W - LABEL - 70) * (double)rr->n / (double)max;
        F(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"bl\" text-anchor=\"end\" data-reason=\"%s\">", LABEL - 8,
          row * ROW + ROW * 0.62, proto_reason_code((ProtoReason)rr->reason));
        E(b, proto_reason_name_vi((ProtoReason)rr->reason));
        F(b, "</text><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"bar\"/>", LABEL, row * ROW + 5,
          w < 1 ? 1 : w, ROW - 10);
        F(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"bv\">%s</text>", LABEL + w + 6, row * ROW + ROW * 0.62,
          fmt_int(x, rr->n));
        row++;
    }
    P(b, "</svg></section>\n");
}

static void areas_table(TallyBuf *b, const TallyReport *r)
{
    char x[32];
    P(b, "<section><h2>");
    E(b, T(TS_UNIT_AREAS));
    P(b, "</h2><div class=\"scroll\"><table class=\"data\" id=\"area-table\"><thead><tr><th>");
    E(b, T(TS_UNIT_AREA));
    P(b, "</th><th class=\"num\">");
    E(b, T(TS_FIG_PCT));
    P(b, "</th><th>");
    E(b, T(TS_OV_GROUP));
    P(b, "</th><th>");
    E(b, T(TS_FIG_TARGET_2025));
    P(b, "</th><th>");
    E(b, T(TS_FIG_TARGET_2030));
    P(b, "</th><th class=\"num\">");
    E(b, T(TS_FIG_FLAGGED));
    P(b, "</th><th class=\"num\">");
    E(b, T(TS_FIG_WAIT));
    P(b, "</th></tr></thead><tbody>");
    for(int a = 0; a < AREA_COUNT; a++) {
        const TallyReportArea *ra = &r->areas[a];
        if(!ra->fig.n && !ra->fig.flagged)
            continue;
        F(b, "<tr data-area=\"%s\"><td>", proto_area_code((ProtoArea)a));
        E(b, proto_area_name_vi((ProtoArea)a));
        P(b, "</td>");
        fig_cell(b, &ra->fig, 0, r->groups[ra->group].target);
        P(b, "<td>");
        E(b, proto_group_name_vi((ProtoGroup)ra->group));
        P(b, "</td><td>");
        badge(b, &ra->fig, 0);
        P(b, "</td><td>");
        badge(b, &ra->fig, 1);
        F(b, "</td><td class=\"num\">%s</td>", fmt_int(x, ra->fig.flagged));
        wait_cell(b, &ra->fig.wait);
        P(b, "</tr>");
    }
    P(b, "</tbody></table></div></section>\n");
}

/* A device's state in words (colour alone never carries it). */
static void device_state(TallyBuf *b, const TallyReportDevice *d)
{
    if(d->flags & TALLY_DEV_REVOKED) {
        E(b, T(TS_DEV_REVOKED));
        return;
    }
    bool any = false;
    static const struct { unsigned flag; TallyStr text; } STATES[] = {
        {TALLY_DEV_NEVER, TS_DEV_NEVER}, {TALLY_DEV_SILENT, TS_DEV_SILENT}, {TALLY_DEV_SKEW, TS_DEV_SKEWED},
        {TALLY_DEV_GAP, TS_DEV_GAP}, {TALLY_DEV_QUARANTINE, TS_DEV_QUARANTINE}};
    for(size_t i = 0; i < sizeof STATES / sizeof STATES[0]; i++)
        if(d->flags & STATES[i].flag) {
            P(b, any ? "; " : "⚠ ");
            E(b, T(STATES[i].text));
            any = true;
        }
    if(!any)
        E(b, T(TS_DEV_OK));
}

static void devices_table(TallyBuf *b, const TallyReport *r)
{
    char x[32];
    if(!r->n_devices) {
        P(b, "<p>");
        E(b, T(TS_DEV_NONE));
        P(b, "</p>");
        return;
    }
    P(b, "<div class=\"scroll\"><table class=\"data\" id=\"device-table\"><thead><tr><th data-sort=\"text\">");
    static const TallyStr HEADS[] = {TS_DEV_ID, TS_DEV_UNIT, TS_DEV_LAST, TS_DEV_RECEIVED, TS_DEV_SKEW, TS_DEV_MISSING,
                                     TS_DEV_QUARANTINED, TS_DEV_STATE};
    for(size_t i = 0; i < sizeof HEADS / sizeof HEADS[0]; i++) {
        if(i)
            F(b, "<th%s data-sort=\"%s\">", i >= 3 && i <= 6 ? " class=\"num\"" : "", i >= 3 && i <= 6 ? "num" : "text");
        E(b, T(HEADS[i]));
        P(b, "</th>");
    }
    P(b, "</tr></thead><tbody>");
    for(size_t i = 0; i < r->n_devices; i++) {
        const TallyReportDevice *d = &r->devices[i];
        const TallyReportUnit *u = &r->units[d->unit];
        bool warn = !(d->flags & TALLY_DEV_REVOKED) &&
                    (d->flags & (TALLY_DEV_SILENT | TALLY_DEV_SKEW | TALLY_DEV_GAP | TALLY_DEV_QUARANTINE));
        F(b, "<tr class=\"%s\" data-device=\"", warn ? "warn" : d->flags & TALLY_DEV_REVOKED ? "muted" : "");
        E(b, d->id);
        F(b, "\" data-flags=\"%u\"><td data-v=\"", d->flags);
        E(b, d->id);
        P(b, "\"><b>");
        E(b, d->id);
        P(b, "</b></td><td data-v=\"");
        E(b, u->name);
        P(b, "\">");
        unit_link(b, r, u->code, u->name);
        F(b, "</td><td data-v=\"%lld\" class=\"%s\">", (long long)d->last_seen, d->flags & TALLY_DEV_SILENT ? "hl" : "");
        E(b, fmt_time(x, d->last_seen));
        F(b, "</td><td class=\"num\" data-v=\"%lld\">%s</td>", (long long)d->received, fmt_int(x, d->received));
        char skew[64] = "—";
        if(d->last_seen) {
            char sec[32];
            fmt_int(sec, d->last_skew_s);
            snprintf(skew, sizeof skew, T(TS_SECONDS), sec);
        }
        F(b, "<td class=\"num %s\" data-v=\"%lld\">", d->flags & TALLY_DEV_SKEW ? "hl" : "",
          (long long)(d->last_skew_s < 0 ? -d->last_skew_s : d->last_skew_s));
        E(b, skew);
        F(b, "</td><td class=\"num %s\" data-v=\"%lld\">%s</td>", d->missing ? "hl" : "", (long long)d->missing,
          fmt_int(x, d->missing));
        F(b, "<td class=\"num quarantined %s\" data-v=\"%lld\">%s</td><td>", d->quarantined ? "hl" : "",
          (long long)d->quarantined, fmt_int(x, d->quarantined));
        device_state(b, d);
        P(b, "</td></tr>");
    }
    P(b, "</tbody></table></div>");
}

void tally_html_unit(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r)
{
    char title[TALLY_NAME_MAX + 8];
    snprintf(title, sizeof title, "%s", r->unit_name);
    page_open(b, c, r, title);
    P(b, "<nav class=\"crumbs\" aria-label=\"");
    E(b, T(TS_UNIT_UP));
    P(b, "\">");
    for(size_t i = 0; i < r->n_path; i++) {
        unit_link(b, r, r->path[i].code, r->path[i].name);
        P(b, " › ");
    }
    P(b, "<span>");
    E(b, r->unit_name);
    P(b, "</span>");
    if(r->n_path) {
        P(b, " <a class=\"up\" href=\"");
        url_period(b, "/don-vi", r->path[r->n_path - 1].code, r);
        P(b, "\">↑ ");
        E(b, T(TS_UNIT_UP));
        P(b, "</a>");
    }
    P(b, "</nav><p class=\"code\">");
    E(b, T(TS_UNIT_CODE));
    P(b, ": <b>");
    E(b, r->unit_code);
    P(b, "</b></p>");
    static const TallyView SHOWN[] = {TALLY_VIEW_GROUPS, TALLY_VIEW_RESPONDENTS, TALLY_VIEW_UNITS, TALLY_VIEW_AREAS,
                                      TALLY_VIEW_REASONS, TALLY_VIEW_DEVICES};
    downloads(b, r, true, SHOWN, sizeof SHOWN / sizeof SHOWN[0]);
    group_cards(b, r);
    respondents_section(b, r);
    P(b, "<section><h2>");
    E(b, T(TS_UNIT_SUBUNITS));
    P(b, "</h2>");
    if(r->n_units > 1)
        unit_table(b, r, true);
    else {
        P(b, "<p>");
        E(b, T(TS_UNIT_NONE));
        P(b, "</p>");
    }
    P(b, "</section>\n");
    areas_table(b, r);
    P(b, "<section class=\"heats\"><div class=\"heat-grid\">");
    heat_map(b, r, false);
    heat_map(b, r, true);
    P(b, "</div></section>\n");
    reasons_chart(b, r);
    P(b, "<section><h2>");
    E(b, T(TS_UNIT_DEVICES));
    P(b, "</h2>");
    devices_table(b, r);
    P(b, "</section>\n");
    page_close(b, r);
}

void tally_html_devices(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r)
{
    page_open(b, c, r, T(TS_DEV_TITLE));
    static const TallyView SHOWN[] = {TALLY_VIEW_DEVICES};
    downloads(b, r, false, SHOWN, 1);
    P(b, "<p class=\"hint\">");
    E(b, T(TS_DEV_HINT));
    P(b, "</p>");
    bool quarantine = false;
    for(size_t i = 0; i < r->n_devices; i++)
        quarantine |= r->devices[i].quarantined > 0;
    if(quarantine) { /* what the count means and what to do, only where there is one to read */
        P(b, "<p class=\"hint\" id=\"quarantine-note\">⚠ ");
        E(b, T(TS_DEV_QUARANTINE_NOTE));
        P(b, "</p>");
    }
    devices_table(b, r);
    page_close(b, r);
}

void tally_html_alerts(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r)
{
    char x[32], y[32], z[32], w[32], text[400];
    page_open(b, c, r, T(TS_AL_TITLE));
    static const TallyView SHOWN[] = {TALLY_VIEW_ALERTS};
    downloads(b, r, false, SHOWN, 1);
    P(b, "<p class=\"hint\">");
    E(b, T(TS_AL_HINT));
    P(b, "</p>");
    if(!r->n_alerts) {
        P(b, "<p class=\"allclear\" id=\"no-alerts\">✓ ");
        E(b, T(TS_AL_NONE));
        P(b, "</p>");
        page_close(b, r);
        return;
    }
    snprintf(text, sizeof text, T(TS_AL_COUNT), r->n_alerts);
    P(b, "<p class=\"count\" id=\"alert-count\">");
    E(b, text);
    P(b, "</p><div class=\"scroll\"><table class=\"data\" id=\"alert-table\"><thead><tr><th>");
    E(b, T(TS_AL_KIND));
    P(b, "</th><th>");
    E(b, T(TS_AL_SUBJECT));
    P(b, "</th><th>");
    E(b, T(TS_AL_DETAIL));
    P(b, "</th></tr></thead><tbody>");
    static const TallyStr KIND_TEXT[TALLY_ALERT_COUNT] = {TS_AL_BELOW, TS_AL_DROP, TS_AL_SILENT, TS_AL_GAP};
    for(size_t i = 0; i < r->n_alerts; i++) {
        const TallyReportAlert *a = &r->alerts[i];
        const TallyReportUnit *u = &r->units[a->unit];
        F(b, "<tr class=\"al-%s\" data-kind=\"%s\"><td><span class=\"badge %s\">⚠ ", tally_alert_code(a->kind),
          tally_alert_code(a->kind), a->kind <= TALLY_ALERT_DROP ? "bad" : "warn");
        E(b, T(KIND_TEXT[a->kind]));
        P(b, "</span></td><td>");
        unit_link(b, r, u->code, u->name);
        P(b, "</td><td>");
        if(a->kind == TALLY_ALERT_BELOW_TARGET) {
            snprintf(text, sizeof text, T(TS_AL_D_BELOW), fmt_dec(x, a->value, 1), fmt_target(y, a->threshold),
                     proto_group_name_vi((ProtoGroup)a->group), fmt_int(z, u->fig[a->group].n));
        } else if(a->kind == TALLY_ALERT_DROP) {
            snprintf(text, sizeof text, T(TS_AL_D_DROP), fmt_dec(x, -a->value, 1), fmt_dec(y, u->prev[a->group].pct, 1),
                     fmt_dec(z, u->fig[a->group].pct, 1), proto_group_name_vi((ProtoGroup)a->group));
        } else if(a->kind == TALLY_ALERT_SILENT) {
            const TallyReportDevice *d = &r->devices[a->device];
            snprintf(text, sizeof text, T(TS_AL_D_SILENT), d->id, fmt_dec(x, a->value, 1), fmt_time(y, d->last_seen));
        } else {
            const TallyReportDevice *d = &r->devices[a->device];
            snprintf(text, sizeof text, T(TS_AL_D_GAP), d->id, fmt_int(x, d->missing), fmt_int(y, d->max_seq),
                     fmt_int(w, d->received));
        }
        E(b, text);
        P(b, "</td></tr>");
    }
    P(b, "</tbody></table></div>");
    page_close(b, r);
}

void tally_html_login(TallyBuf *b, const char *csrf, const char *name, int message, long wait)
{
    head(b, T(TS_LOGIN_TITLE));
    P(b, "<body class=\"login\"><main class=\"login-box\">");
    brand(b);
    P(b, "<h1>");
    E(b, T(TS_LOGIN_TITLE));
    P(b, "</h1>");
    if(message) {
        char text[300];
        bool bad = message != TS_LOGIN_SIGNED_OUT;
        if(message == TS_LOGIN_LOCKED)
            snprintf(text, sizeof text, T(TS_LOGIN_LOCKED), (int)((wait + 59) / 60));
        else if(message == TS_LOGIN_WAIT)
            snprintf(text, sizeof text, T(TS_LOGIN_WAIT), wait);
        else
            snprintf(text, sizeof text, "%s", T((TallyStr)message));
        F(b, "<p class=\"msg %s\" role=\"alert\" id=\"login-msg\">", bad ? "bad" : "ok");
        E(b, text);
        P(b, "</p>");
    }
    P(b, "<form method=\"post\" action=\"/dang-nhap\"><input type=\"hidden\" name=\"csrf\" value=\"");
    E(b, csrf);
    P(b, "\"><label>");
    E(b, T(TS_LOGIN_NAME));
    P(b, "<input name=\"name\" autocomplete=\"username\" required autofocus value=\"");
    E(b, name ? name : "");
    P(b, "\"></label><label>");
    E(b, T(TS_LOGIN_PASSWORD));
    P(b, "<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>"
         "<button type=\"submit\">");
    E(b, T(TS_LOGIN_SUBMIT));
    P(b, "</button></form><p class=\"hint\">");
    E(b, T(TS_LOGIN_HINT));
    P(b, "</p></main></body></html>\n");
}

void tally_html_error(TallyBuf *b, const TallyHtmlCtx *c, TallyStr message)
{
    page_open(b, c, NULL, T(message));
    P(b, "<h1>");
    E(b, T(message));
    P(b, "</h1><p><a href=\"/tong-quan\">");
    E(b, T(TS_ERR_BACK));
    P(b, "</a></p>");
    page_close(b, NULL);
}

void tally_html_bad_param(TallyBuf *b, const TallyHtmlCtx *c, const char *param)
{
    page_open(b, c, NULL, T(TS_ERR_BAD_PARAM));
    P(b, "<h1>");
    E(b, T(TS_ERR_BAD_PARAM));
    P(b, " <code>");
    E(b, param);
    P(b, "</code></h1><p><a href=\"/tong-quan\">");
    E(b, T(TS_ERR_BACK));
    P(b, "</a></p>");
    page_close(b, NULL);
}

/* ---- Static files -------------------------------------------------------------------------------------- */

static const char CSS[] =
    ":root{--ink:#1b2430;--muted:#5b6472;--line:#d9dee5;--bg:#f4f6f9;--navy:#12355b;--red:#a61b1b;"
    "--ok:#17693a;--ok-bg:#e3f4e8;--bad:#b3261e;--bad-bg:#fde8e6;--few:#5f6673;--few-bg:#eceef1;--warn:#8a5a00;"
    "--warn-bg:#fff3d6}\n"
    "*{box-sizing:border-box}html{font-size:16px}body{margin:0;font-family:'Noto Sans','Segoe UI',Roboto,Arial,"
    "sans-serif;color:var(--ink);background:var(--bg);line-height:1.45}\n"
    "a{color:#0b4f9c}a:hover{text-decoration:underline}\n"
    ".top{display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap;"
    "background:var(--navy);color:#fff;padding:.7rem 1.25rem;border-bottom:4px solid var(--red)}\n"
    ".brand{display:flex;align-items:center;gap:.75rem}.emblem{width:2.4rem;height:2.4rem;border-radius:50%;"
    "background:var(--red);color:#ffd84d;display:flex;align-items:center;justify-content:center;font-size:1.4rem;"
    "flex:none}\n"
    ".issuer{font-size:.8rem;letter-spacing:.04em;text-transform:uppercase;opacity:.85}"
    ".product{font-weight:700;font-size:1.1rem}\n"
    ".who{display:flex;align-items:center;gap:.75rem;font-size:.9rem}.who form{margin:0}\n"
    "button.link{background:none;border:1px solid rgba(255,255,255,.6);color:inherit;border-radius:4px;"
    "padding:.25rem .6rem;font:inherit;cursor:pointer}\n"
    ".tabs{display:flex;gap:.25rem;background:#fff;border-bottom:1px solid var(--line);padding:0 1rem;"
    "overflow-x:auto}\n"
    ".tabs a{padding:.75rem 1rem;color:var(--ink);text-decoration:none;font-weight:600;border-bottom:3px solid "
    "transparent;white-space:nowrap}.tabs a.on{border-color:var(--navy);color:var(--navy)}\n"
    "main{max-width:1200px;margin:0 auto;padding:1rem 1.25rem 2rem}\n"
    "h1{font-size:1.45rem;margin:.75rem 0}h2{font-size:1.1rem;margin:1.5rem 0 .6rem}\n"
    ".meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:.5rem;background:#fff;"
    "border:1px solid var(--line);border-left:4px solid var(--navy);padding:.6rem .9rem;border-radius:6px}\n"
    ".meta span{display:block;font-size:.75rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}\n"
    ".picker{display:flex;flex-wrap:wrap;align-items:flex-end;gap:.5rem .9rem;margin:.75rem 0;font-size:.85rem;"
    "color:var(--muted)}\n"
    ".picker label{display:flex;flex-direction:column;gap:.15rem}.picker select,.picker input{font:inherit;"
    "color:var(--ink);padding:.3rem .4rem;border:1px solid var(--line);border-radius:4px;background:#fff}\n"
    ".picker input[type=number]{width:6em}.picker .or{align-self:center}\n"
    ".picker button,.login button[type=submit]{background:var(--navy);color:#fff;border:0;border-radius:4px;"
    "padding:.45rem 1.1rem;font:inherit;font-weight:600;cursor:pointer}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:.9rem}\n"
    ".card{background:#fff;border:1px solid var(--line);border-top:6px solid var(--few);border-radius:8px;"
    "padding:.9rem 1rem}\n"
    ".card.ok{border-top-color:var(--ok)}.card.bad{border-top-color:var(--bad)}.card.none{border-top-color:"
    "var(--line)}\n"
    ".card h2{margin:0 0 .35rem;font-size:1rem}.big{font-size:2.6rem;font-weight:800;line-height:1.1}\n"
    ".card.ok .big{color:var(--ok)}.card.bad .big{color:var(--bad)}\n"
    ".badges{display:flex;flex-wrap:wrap;gap:.35rem;margin:.5rem 0}\n"
    ".badge{display:inline-block;font-size:.8rem;font-weight:700;padding:.15rem .55rem;border-radius:999px;"
    "border:1px solid;white-space:nowrap}\n"
    ".badge.ok{color:var(--ok);background:var(--ok-bg)}.badge.bad{color:var(--bad);background:var(--bad-bg)}"
    ".badge.few,.badge.none,.badge.plain{color:var(--few);background:var(--few-bg)}"
    ".badge.warn{color:var(--warn);background:var(--warn-bg)}\n"
    ".card dl{display:grid;grid-template-columns:auto auto;gap:.1rem .75rem;margin:.4rem 0;font-size:.85rem}"
    ".card dt{color:var(--muted)}.card dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}\n"
    ".targets,.change{font-size:.85rem;margin:.25rem 0;color:var(--muted)}.change .up{color:var(--ok);"
    "font-weight:600}.change .down{color:var(--bad);font-weight:600}\n"
    ".trend-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:.9rem}\n"
    "figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:.6rem}"
    "figcaption{font-weight:700;font-size:.9rem;margin-bottom:.3rem}svg{width:100%;height:auto;display:block}\n"
    "svg .grid{stroke:#e6e9ee}svg .ax{font-size:10px;fill:#5b6472}svg .target{stroke-dasharray:5 4;stroke-width:1.5}"
    "svg .target.t0{stroke:#c77700}svg .target.t1{stroke:#12355b}svg .tl{font-size:9.5px;font-weight:700}"
    "svg .tl.t0{fill:#c77700}svg .tl.t1{fill:#12355b}\n"
    "svg .line{fill:none;stroke:#0b4f9c;stroke-width:2.2}svg .dot{fill:#0b4f9c}svg .few{fill:#fff;stroke:#0b4f9c;"
    "stroke-width:1.8}\n"
    "svg .hn{fill:#0b4f9c}svg .hu{fill:#b3261e}svg .hv{font-size:9.5px;fill:#1b2430}svg .hv.inv{fill:#fff}"
    "svg.bars{max-width:760px}svg .bar{fill:#b3261e}svg .bl{font-size:13px;fill:#1b2430}svg .bv{font-size:12px;font-weight:700;"
    "fill:#1b2430}\n"
    ".heat-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:.9rem}\n"
    ".scroll{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:8px}\n"
    "table.data{border-collapse:collapse;width:100%;font-size:.88rem}table.data th{background:#eef1f5;"
    "text-align:left;padding:.5rem .6rem;border-bottom:2px solid var(--line);vertical-align:bottom;"
    "font-size:.82rem}\n"
    "table.tree td.name{min-width:15rem}td.fig{min-width:6.2rem}\n"
    "table.data td{padding:.45rem .6rem;border-bottom:1px solid #edf0f3;vertical-align:top}"
    "table.data tr:last-child td{border-bottom:0}\n"
    "th[data-sort]{cursor:pointer}th[data-sort]:after{content:' ⇅';color:#9aa3ae;font-size:.8em}"
    ".num,td.fig{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td small{display:block;color:var(--muted);font-size:.75rem;font-weight:400}\n"
    "td.fig{font-weight:700}td.fig.ok{color:var(--ok);background:var(--ok-bg)}td.fig.bad{color:var(--bad);"
    "background:var(--bad-bg)}td.fig.few{color:var(--few)}td.fig.none{color:#9aa3ae;font-weight:400}\n"
    "td.name.d1{padding-left:1.6rem}td.name.d2{padding-left:2.8rem}td.name.d3{padding-left:4rem}"
    "td.name.d4,td.name.d5,td.name.d6,td.name.d7,td.name.d8{padding-left:5.2rem}\n"
    "table.flat td.name{padding-left:.6rem}tr.folded{display:none}\n"
    "button.fold{border:0;background:none;cursor:pointer;font-size:.85rem;width:1.4rem;color:var(--navy)}\n"
    "tr.warn td{background:var(--warn-bg)}tr.warn td.hl{color:var(--bad);font-weight:700}tr.muted td{"
    "color:#9aa3ae}\n"
    ".hint{color:var(--muted);font-size:.85rem}.crumbs{font-size:.9rem;margin:.5rem 0}.crumbs .up{margin-left:1rem}"
    ".code{color:var(--muted);margin:.2rem 0 .8rem}\n"
    ".allclear{background:var(--ok-bg);color:var(--ok);font-weight:700;padding:.8rem 1rem;border-radius:8px}"
    ".count{font-weight:700}\n"
    ".downloads{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem .5rem;margin:.2rem 0 1rem;"
    "font-size:.85rem}.dl-title{font-weight:700;color:var(--navy);margin-right:.25rem}.dl-csv{color:var(--muted);"
    "margin-left:.5rem}\n"
    "a.dl{display:inline-block;border:1px solid var(--navy);color:var(--navy);background:#fff;border-radius:4px;"
    "padding:.25rem .65rem;text-decoration:none;font-weight:600;white-space:nowrap}a.dl:hover{background:#e8eef6}"
    "a.dl[id^=dl-csv]{border-color:var(--line);font-weight:400}\n"
    ".notes{margin-top:2rem;padding-top:.75rem;border-top:1px solid var(--line);color:var(--muted);"
    "font-size:.82rem}\n"
    ".js-only{display:none}.has-js .js-only{display:inline-block}.hint button.link{border-color:var(--line);"
    "color:var(--navy)}\n"
    "body.login{display:flex;min-height:100vh;align-items:center;justify-content:center;background:var(--navy)}\n"
    ".login-box{background:#fff;max-width:420px;width:92%;padding:1.5rem 1.75rem;border-radius:10px;"
    "border-top:6px solid var(--red);margin:auto}\n"
    ".login-box .brand{color:var(--ink)}.login-box .issuer{color:var(--muted)}.login-box form{display:flex;"
    "flex-direction:column;gap:.9rem}\n"
    ".login-box label{display:flex;flex-direction:column;gap:.25rem;font-weight:600}.login-box input{font:inherit;"
    "padding:.55rem .6rem;border:1px solid #b7bfca;border-radius:5px}\n"
    ".login-box button[type=submit]{padding:.65rem;font-size:1.05rem}.msg{padding:.6rem .8rem;border-radius:6px;"
    "font-weight:600}.msg.bad{background:var(--bad-bg);color:var(--bad)}.msg.ok{background:var(--ok-bg);"
    "color:var(--ok)}\n"
    "@media (max-width:640px){main{padding:.75rem}.top{padding:.6rem .8rem}.product{font-size:.95rem}"
    ".big{font-size:2.2rem}h1{font-size:1.2rem}.picker{font-size:.8rem}.tabs a{padding:.6rem .7rem}}\n"
    "@media print{@page{size:A4;margin:14mm 12mm}body{background:#fff;font-size:11pt}.tabs,.picker,.downloads,.who form,"
    ".js-only,button.fold{display:none!important}.top{background:#fff;color:#000;border-bottom:2px solid #000;"
    "padding:0 0 .4rem}.emblem{border:1px solid #000}main{max-width:none;padding:0}.card,figure,tr{"
    "break-inside:avoid}h1,h2{break-after:avoid}.scroll{overflow:visible;border:0}"
    "th[data-sort]:after{content:none}tr.folded{display:table-row}a{color:#000;text-decoration:none}"
    ".cards{grid-template-columns:repeat(2,1fr)}.trend-grid{grid-template-columns:repeat(2,1fr)}}\n";

static const char JS[] =
    "/* Sorting and folding for the dashboard tables; every page works without it. */\n"
    "(function(){\n"
    "document.documentElement.classList.add('has-js');document.body&&document.body.classList.add('has-js');\n"
    "function val(td){var v=td.getAttribute('data-v');return v===null?td.textContent:v;}\n"
    "function sortable(table){var ths=table.querySelectorAll('th[data-sort]');var body=table.tBodies[0];\n"
    " var orig=Array.prototype.slice.call(body.rows);\n"
    " ths.forEach(function(th){th.addEventListener('click',function(){\n"
    "  var idx=Array.prototype.indexOf.call(th.parentNode.children,th);var num=th.getAttribute('data-sort')==='num';\n"
    "  var dir=th.getAttribute('data-dir')==='asc'?'desc':'asc';ths.forEach(function(t){t.removeAttribute('data-dir');});\n"
    "  th.setAttribute('data-dir',dir);var rows=orig.slice();\n"
    "  rows.sort(function(a,b){var x=val(a.cells[idx]),y=val(b.cells[idx]);\n"
    "   var c=num?(parseFloat(x)-parseFloat(y)):x.localeCompare(y,'vi');return dir==='asc'?c:-c;});\n"
    "  table.classList.add('flat');rows.forEach(function(r){r.classList.remove('folded');body.appendChild(r);});});});\n"
    " var reset=document.getElementById('tree-reset');\n"
    " if(reset&&table.id==='unit-table')reset.addEventListener('click',function(){table.classList.remove('flat');\n"
    "  ths.forEach(function(t){t.removeAttribute('data-dir');});orig.forEach(function(r){body.appendChild(r);});});}\n"
    "function foldable(table){var rows=Array.prototype.slice.call(table.tBodies[0].rows);\n"
    " rows.forEach(function(r,i){if(r.getAttribute('data-kids')==='0'||table.classList.contains('flat'))return;\n"
    "  var depth=+r.getAttribute('data-depth');var b=document.createElement('button');b.type='button';b.className='fold';\n"
    "  b.textContent='\\u25BE';b.setAttribute('aria-expanded','true');r.cells[0].insertBefore(b,r.cells[0].firstChild);\n"
    "  b.addEventListener('click',function(){var open=b.getAttribute('aria-expanded')==='true';\n"
    "   b.setAttribute('aria-expanded',open?'false':'true');b.textContent=open?'\\u25B8':'\\u25BE';\n"
    "   for(var j=i+1;j<rows.length&&+rows[j].getAttribute('data-depth')>depth;j++){\n"
    "    if(open)rows[j].classList.add('folded');else rows[j].classList.remove('folded');\n"
    "    var bb=rows[j].querySelector('button.fold');if(bb){bb.setAttribute('aria-expanded','true');bb.textContent='\\u25BE';}}});});}\n"
    "document.addEventListener('DOMContentLoaded',function(){\n"
    " document.querySelectorAll('table.data').forEach(function(t){sortable(t);if(t.id==='unit-table')foldable(t);});});\n"
    "})();\n";

const char *tally_html_css(void)
{
    return CSS;
}

const char *tally_html_js(void)
{
    return JS;
}
