/* tally_render_xlsx.c — the workbook of a report (see tally_export.h), with libxlsxwriter.
 *
 * A cover sheet (title, period, scope, generation time, data last received, the notes), then one sheet per
 * view of tally_table.h. Numbers are numbers (counts "#,##0", percentages "0.00%" holding the fraction, changes
 * in points "+0.00"), dates are date cells shown dd/mm/yyyy, every text from the data is written with
 * worksheet_write_string (a string cell: a unit named "=HYPERLINK(...)" stays that text, never a formula).
 * Sheets print on A4 with their header rows repeated and the columns fitted to the page width; conditional
 * formats colour "Không đạt" red and "Chưa đủ mẫu" amber wherever a verdict stands.
 *
 * constant_memory mode: libxlsxwriter flushes each row to a temp file as soon as the next row starts, so rows
 * are written strictly in order (the two header rows never use a vertical merge, which would write the lower
 * row before the upper row is done). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

#include "sync/tally/tally_table.h"
#include "sync/tally/tally_text.h"

#define SHEET_TITLE_ROW 0
#define SHEET_NOTE_ROW 1
#define SHEET_HEAD_ROW 3
#define INDENT_MAX 8          /* deeper units are indented as much as this level */
#define NAME_WIDTH_MAX 60.0   /* characters */
#define PAPER_A4 9

typedef struct {
    lxw_workbook *wb;
    lxw_format   *title, *subtitle, *note, *label, *head, *band, *text, *code, *status, *integer, *pct, *pts,
                 *num1, *date, *datetime, *cover_value, *cover_pct, *cover_int, *cover_dt, *bad, *few, *good;
    lxw_format   *name[INDENT_MAX + 1];
} Xlsx;

static lxw_format *fmt(Xlsx *x, bool border)
{
    lxw_format *f = workbook_add_format(x->wb);
    format_set_font_name(f, "Times New Roman");
    format_set_font_size(f, 12);
    format_set_align(f, LXW_ALIGN_VERTICAL_CENTER);
    if(border)
        format_set_border(f, LXW_BORDER_THIN);
    return f;
}

static void formats(Xlsx *x)
{
    x->title = fmt(x, false);
    format_set_bold(x->title);
    format_set_font_size(x->title, 14);
    x->subtitle = fmt(x, false);
    format_set_bold(x->subtitle);
    x->note = fmt(x, false);
    format_set_italic(x->note);
    format_set_font_size(x->note, 11);
    x->label = fmt(x, true);
    format_set_bold(x->label);
    format_set_text_wrap(x->label);
    format_set_align(x->label, LXW_ALIGN_LEFT);
    x->head = fmt(x, true);
    format_set_bold(x->head);
    format_set_text_wrap(x->head);
    format_set_align(x->head, LXW_ALIGN_CENTER);
    format_set_bg_color(x->head, 0xD9E2F3);
    x->band = fmt(x, true);
    format_set_bold(x->band);
    format_set_text_wrap(x->band);
    format_set_align(x->band, LXW_ALIGN_CENTER);
    format_set_bg_color(x->band, 0xB4C6E7);
    x->text = fmt(x, true);
    format_set_text_wrap(x->text);
    x->code = fmt(x, true);
    x->status = fmt(x, true);
    format_set_align(x->status, LXW_ALIGN_CENTER);
    x->integer = fmt(x, true);
    format_set_num_format(x->integer, "#,##0");
    x->pct = fmt(x, true);
    format_set_num_format(x->pct, "0.00%");
    x->pts = fmt(x, true);
    format_set_num_format(x->pts, "+0.00;-0.00;0.00");
    x->num1 = fmt(x, true);
    format_set_num_format(x->num1, "0.0");
    x->date = fmt(x, true);
    format_set_num_format(x->date, "dd/mm/yyyy");
    format_set_align(x->date, LXW_ALIGN_LEFT);
    x->datetime = fmt(x, true);
    format_set_num_format(x->datetime, "dd/mm/yyyy hh:mm");
    format_set_align(x->datetime, LXW_ALIGN_LEFT);
    x->cover_value = fmt(x, true);
    format_set_text_wrap(x->cover_value);
    x->cover_pct = fmt(x, true);
    format_set_num_format(x->cover_pct, "0.00%");
    format_set_align(x->cover_pct, LXW_ALIGN_LEFT);
    x->cover_int = fmt(x, true);
    format_set_num_format(x->cover_int, "#,##0");
    format_set_align(x->cover_int, LXW_ALIGN_LEFT);
    x->cover_dt = fmt(x, true);
    format_set_num_format(x->cover_dt, "dd/mm/yyyy hh:mm");
    format_set_align(x->cover_dt, LXW_ALIGN_LEFT);
    for(int k = 0; k <= INDENT_MAX; k++) {
        x->name[k] = fmt(x, true);
        format_set_indent(x->name[k], (uint8_t)k);
        format_set_text_wrap(x->name[k]);
        if(k == 0)
            format_set_bold(x->name[k]);
    }
    /* Conditional formats (fill and font only: Excel ignores the rest in a conditional format). */
    x->bad = workbook_add_format(x->wb);
    format_set_bg_color(x->bad, 0xFFC7CE);
    format_set_font_color(x->bad, 0x9C0006);
    x->few = workbook_add_format(x->wb);
    format_set_bg_color(x->few, 0xFFEB9C);
    format_set_font_color(x->few, 0x9C5700);
    x->good = workbook_add_format(x->wb);
    format_set_bg_color(x->good, 0xC6EFCE);
    format_set_font_color(x->good, 0x006100);
}

/* A local (Asia/Ho_Chi_Minh) time as a spreadsheet date-time. */
static lxw_datetime local_dt(int64_t unix_s)
{
    int64_t day = ptime_vn_day(unix_s), secs = unix_s - ptime_vn_day_start(day);
    lxw_datetime dt = {0};
    ptime_civil_from_days(day, &dt.year, &dt.month, &dt.day);
    dt.hour = (int)(secs / 3600);
    dt.min = (int)(secs / 60 % 60);
    dt.sec = (double)(secs % 60);
    return dt;
}

static lxw_datetime day_dt(int64_t day)
{
    lxw_datetime dt = {0};
    ptime_civil_from_days(day, &dt.year, &dt.month, &dt.day);
    return dt;
}

/* Text from the data or the strings table: always a string cell, always valid UTF-8. */
static void put_text(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *s, lxw_format *f)
{
    char clean[4 * TALLY_NAME_MAX + 8];
    s = s ? s : "";
    tally_utf8_clean(s, strlen(s), clean, sizeof clean);
    if(clean[0])
        worksheet_write_string(ws, row, col, clean, f);
    else
        worksheet_write_blank(ws, row, col, f);
}

static void put_cell(Xlsx *x, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const TallyCell *c)
{
    lxw_format *f = x->text;
    switch(c->type) {
    case TC_TEXT: f = x->text; break;
    case TC_CODE: f = x->code; break;
    case TC_NAME: f = x->name[c->depth > INDENT_MAX ? INDENT_MAX : c->depth < 0 ? 0 : c->depth]; break;
    case TC_STATUS: f = x->status; break;
    case TC_INT: f = x->integer; break;
    case TC_PCT: f = x->pct; break;
    case TC_PTS: f = x->pts; break;
    case TC_NUM1: f = x->num1; break;
    case TC_DATE: f = x->date; break;
    case TC_DATETIME: f = x->datetime; break;
    }
    if(c->empty) {
        worksheet_write_blank(ws, row, col, f);
        return;
    }
    switch(c->type) {
    case TC_INT: worksheet_write_number(ws, row, col, (double)c->i, f); break;
    case TC_PCT: worksheet_write_number(ws, row, col, c->d / 100.0, f); break;
    case TC_PTS:
    case TC_NUM1: worksheet_write_number(ws, row, col, c->d, f); break;
    case TC_DATE: {
        lxw_datetime dt = day_dt(c->i);
        worksheet_write_datetime(ws, row, col, &dt, f);
        break;
    }
    case TC_DATETIME: {
        lxw_datetime dt = local_dt(c->i);
        worksheet_write_datetime(ws, row, col, &dt, f);
        break;
    }
    default: put_text(ws, row, col, c->text, f); break;
    }
}

/* Display width of UTF-8 text in characters. */
static int chars(const char *s)
{
    int w = 0;
    for(; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void page_setup(lxw_worksheet *ws, bool landscape)
{
    worksheet_set_paper(ws, PAPER_A4);
    if(landscape)
        worksheet_set_landscape(ws);
    worksheet_set_margins(ws, 0.5, 0.4, 0.6, 0.6);
    worksheet_fit_to_pages(ws, 1, 0);
    worksheet_set_footer(ws, "&CTrang &P / &N");
}

static void colour_verdicts(Xlsx *x, lxw_worksheet *ws, lxw_row_t first, lxw_row_t last, lxw_col_t col)
{
    static char bad[] = "\"Không đạt\"", few[] = "\"Chưa đủ mẫu\"", good[] = "\"Đạt\"";
    lxw_conditional_format cf = {.type = LXW_CONDITIONAL_TYPE_CELL, .criteria = LXW_CONDITIONAL_CRITERIA_EQUAL_TO};
    cf.value_string = bad, cf.format = x->bad;
    worksheet_conditional_format_range(ws, first, col, last, col, &cf);
    cf.value_string = few, cf.format = x->few;
    worksheet_conditional_format_range(ws, first, col, last, col, &cf);
    cf.value_string = good, cf.format = x->good;
    worksheet_conditional_format_range(ws, first, col, last, col, &cf);
}

/* The sheet's note under its title (row SHEET_NOTE_ROW). */
static void view_note(const TallyReport *r, TallyView v, char *out, size_t len)
{
    out[0] = '\0';
    switch(v) {
    case TALLY_VIEW_UNITS: snprintf(out, len, "%s", tally_str(TS_DOC_UNITS_SHEET_NOTE)); break;
    case TALLY_VIEW_RANKING: snprintf(out, len, "%s", tally_str(TS_OV_RANK_METHOD)); break;
    case TALLY_VIEW_REASONS: snprintf(out, len, tally_str(TS_UNIT_REASONS_NOTE), (long long)r->unsatisfied); break;
    case TALLY_VIEW_TREND: snprintf(out, len, tally_str(TS_OV_TREND), r->trend_year); break;
    case TALLY_VIEW_DEVICES: snprintf(out, len, "%s", tally_str(TS_DEV_HINT)); break;
    case TALLY_VIEW_ALERTS: snprintf(out, len, "%s", tally_str(TS_AL_HINT)); break;
    case TALLY_VIEW_GROUPS:
    case TALLY_VIEW_AREAS: snprintf(out, len, "%s", tally_str(TS_FIG_WAIT_NOTE)); break;
    case TALLY_VIEW_RESPONDENTS: snprintf(out, len, "%s", tally_str(TS_FIG_RESPONDENT_NOTE)); break;
    default: snprintf(out, len, "%s", tally_str(TS_NOTE_INDICATIVE)); break;
    }
}

static void view_sheet(Xlsx *x, const TallyReport *r, TallyView v)
{
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, tally_view_title(v));
    TallyColumn cols[TALLY_TABLE_COLS_MAX];
    int nc = tally_table_columns(r, v, cols);
    size_t n = tally_table_rows(r, v);
    bool bands = false;
    for(int k = 0; k < nc; k++)
        bands |= cols[k].band != NULL;
    lxw_row_t head_last = SHEET_HEAD_ROW + (bands ? 1 : 0), first = head_last + 1;

    /* Column widths: the hint, or the longest name for name columns. */
    double name_w = 0;
    for(int k = 0; k < nc; k++)
        if(cols[k].type == TC_NAME || (cols[k].type == TC_TEXT && cols[k].width >= 40)) {
            TallyTableRow row;
            for(size_t i = 0; i < n; i++) {
                tally_table_row(r, v, i, &row);
                double w = chars(row.cell[k].text ? row.cell[k].text : "") + 2.0 * row.cell[k].depth + 2;
                if(w > name_w)
                    name_w = w;
            }
        }
    for(int k = 0; k < nc; k++) {
        double w = cols[k].width;
        if((cols[k].type == TC_NAME || (cols[k].type == TC_TEXT && cols[k].width >= 40)) && name_w > 0)
            w = name_w < 20 ? 20 : name_w > NAME_WIDTH_MAX ? NAME_WIDTH_MAX : name_w;
        worksheet_set_column(ws, (lxw_col_t)k, (lxw_col_t)k, w, NULL);
    }

    char title[4 * TALLY_NAME_MAX + 200], note[600];
    snprintf(title, sizeof title, "%s — %s — %s", tally_view_title(v), r->period.label_vi, r->unit_name);
    put_text(ws, SHEET_TITLE_ROW, 0, title, x->title);
    view_note(r, v, note, sizeof note);
    put_text(ws, SHEET_NOTE_ROW, 0, note, x->note);

    /* Header: bands merged across their columns on the first row, column names on the last. */
    if(bands) {
        for(int k = 0; k < nc;) {
            int e = k;
            while(cols[k].band && e + 1 < nc && cols[e + 1].band && strcmp(cols[e + 1].band, cols[k].band) == 0)
                e++;
            if(!cols[k].band)
                worksheet_write_blank(ws, SHEET_HEAD_ROW, (lxw_col_t)k, x->head);
            else if(e > k)
                worksheet_merge_range(ws, SHEET_HEAD_ROW, (lxw_col_t)k, SHEET_HEAD_ROW, (lxw_col_t)e, cols[k].band,
                                      x->band);
            else
                put_text(ws, SHEET_HEAD_ROW, (lxw_col_t)k, cols[k].band, x->band);
            k = e + 1;
        }
    }
    for(int k = 0; k < nc; k++)
        put_text(ws, head_last, (lxw_col_t)k, cols[k].band ? cols[k].sub : cols[k].head, x->head);
    worksheet_set_row(ws, head_last, 48, NULL);

    TallyTableRow row;
    for(size_t i = 0; i < n; i++) {
        tally_table_row(r, v, i, &row);
        for(int k = 0; k < nc; k++)
            put_cell(x, ws, first + (lxw_row_t)i, (lxw_col_t)k, &row.cell[k]);
    }
    if(n) {
        lxw_row_t last = first + (lxw_row_t)n - 1;
        for(int k = 0; k < nc; k++)
            if(cols[k].type == TC_STATUS)
                colour_verdicts(x, ws, first, last, (lxw_col_t)k);
        worksheet_autofilter(ws, head_last, 0, last, (lxw_col_t)(nc - 1));
    }
    worksheet_repeat_rows(ws, SHEET_HEAD_ROW, head_last);
    worksheet_freeze_panes(ws, first, v == TALLY_VIEW_UNITS ? 2 : 1);
    page_setup(ws, nc > 6);
}

static void cover_row(Xlsx *x, lxw_worksheet *ws, lxw_row_t row, TallyStr label, const char *value)
{
    put_text(ws, row, 0, tally_str(label), x->label);
    put_text(ws, row, 1, value, x->cover_value);
}

static void cover_sheet(Xlsx *x, const TallyReport *r, const TallyLetterhead *lh)
{
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, tally_str(TS_SHEET_COVER));
    worksheet_set_column(ws, 0, 0, 34, NULL);
    worksheet_set_column(ws, 1, 1, 96, NULL);
    char buf[4 * TALLY_NAME_MAX + 400];
    put_text(ws, 0, 0, lh->issuer_parent, x->subtitle);
    put_text(ws, 1, 0, lh->issuer, x->subtitle);
    put_text(ws, 3, 0, tally_str(TS_DOC_KIND), x->title);
    snprintf(buf, sizeof buf, "%s — %s", tally_str(TS_DOC_TITLE), r->period.label_vi);
    put_text(ws, 4, 0, buf, x->title);
    lxw_row_t row = 6;
    cover_row(x, ws, row++, TS_META_PERIOD, r->period.label_vi);
    put_text(ws, row, 0, tally_str(TS_COVER_FROM), x->label);
    lxw_datetime dt = day_dt(r->period.from_day);
    worksheet_write_datetime(ws, row++, 1, &dt, x->date);
    put_text(ws, row, 0, tally_str(TS_COVER_TO), x->label);
    dt = day_dt(r->period.to_day);
    worksheet_write_datetime(ws, row++, 1, &dt, x->date);
    cover_row(x, ws, row++, TS_META_SCOPE, r->scope_name);
    if(r->unit_code[0])
        snprintf(buf, sizeof buf, "%s (%s)", r->unit_name, r->unit_code);
    else
        snprintf(buf, sizeof buf, "%s", r->unit_name);
    cover_row(x, ws, row++, TS_COVER_UNIT, buf);
    cover_row(x, ws, row++, TS_COVER_AREA,
              r->area >= 0 ? proto_area_name_vi((ProtoArea)r->area) : tally_str(TS_COVER_ALL_AREAS));
    cover_row(x, ws, row++, TS_COVER_RESPONDENT, tally_respondent_filter_vi(r));
    snprintf(buf, sizeof buf, "%s — %s", lh->issuer_parent, lh->issuer);
    cover_row(x, ws, row++, TS_COVER_ISSUER, buf);
    put_text(ws, row, 0, tally_str(TS_META_GENERATED), x->label);
    dt = local_dt(r->generated_at);
    worksheet_write_datetime(ws, row++, 1, &dt, x->cover_dt);
    put_text(ws, row, 0, tally_str(TS_META_LAST_DATA), x->label);
    if(r->data_last_received) {
        dt = local_dt(r->data_last_received);
        worksheet_write_datetime(ws, row++, 1, &dt, x->cover_dt);
    } else {
        put_text(ws, row++, 1, tally_str(TS_META_NO_DATA), x->cover_value);
    }
    put_text(ws, row, 0, tally_str(TS_FIG_N), x->label);
    worksheet_write_number(ws, row++, 1, (double)r->total.n, x->cover_int);
    put_text(ws, row, 0, tally_str(TS_FIG_PCT), x->label);
    if(r->total.n)
        worksheet_write_number(ws, row++, 1, r->total.pct / 100.0, x->cover_pct);
    else
        put_text(ws, row++, 1, tally_str(TS_STATUS_NO_DATA), x->cover_value);
    put_text(ws, row, 0, tally_str(TS_FIG_FLAGGED), x->label);
    worksheet_write_number(ws, row++, 1, (double)r->total.flagged, x->cover_int);
    put_text(ws, row, 0, tally_str(TS_FIG_WAIT), x->label);
    if(r->total.wait.n)
        worksheet_write_number(ws, row++, 1, r->total.wait.pct / 100.0, x->cover_pct);
    else
        put_text(ws, row++, 1, tally_str(TS_STATUS_NO_DATA), x->cover_value);
    put_text(ws, row, 0, tally_str(TS_FIG_WAIT_N), x->label);
    worksheet_write_number(ws, row++, 1, (double)r->total.wait.n, x->cover_int);
    put_text(ws, row, 0, tally_str(TS_COVER_MIN_N), x->label);
    worksheet_write_number(ws, row++, 1, r->min_n, x->cover_int);
    row++;
    put_text(ws, row++, 0, tally_str(TS_COVER_NOTES), x->subtitle);
    const char *notes[8];
    char min_n[400];
    snprintf(min_n, sizeof min_n, tally_str(TS_DOC_METHOD_MIN_N), r->min_n);
    int nn = 0;
    notes[nn++] = tally_str(r->note_key);
    notes[nn++] = tally_str(r->note_supplementary_key);
    notes[nn++] = tally_str(TS_DOC_METHOD_SCALE);
    notes[nn++] = tally_str(TS_DOC_METHOD_PCT);
    notes[nn++] = tally_str(TS_DOC_METHOD_MISUSE);
    notes[nn++] = min_n;
    notes[nn++] = tally_str(TS_DOC_METHOD_TARGETS);
    notes[nn++] = tally_str(TS_COVER_SHEETS);
    for(int k = 0; k < nn; k++) {
        snprintf(buf, sizeof buf, "%d", k + 1);
        put_text(ws, row, 0, buf, x->label);
        put_text(ws, row, 1, notes[k], x->cover_value);
        worksheet_set_row(ws, row++, chars(notes[k]) > 110 ? 32 : 16, NULL);
    }
    page_setup(ws, false);
    worksheet_fit_to_pages(ws, 1, 1);
}

TallyErr tally_render_xlsx(const TallyReport *r, const TallyLetterhead *lh, const char *path, char msg[TALLY_MSG_MAX])
{
    const char *tmp = getenv("TMPDIR");
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = (char *)(tmp && *tmp ? tmp : NULL)};
    Xlsx x = {.wb = workbook_new_opt(path, &opt)};
    if(!x.wb) {
        snprintf(msg, TALLY_MSG_MAX, "cannot create %s / không tạo được tệp", path);
        return TALLY_E_IO;
    }
    formats(&x);
    char title[4 * TALLY_NAME_MAX + 200], subject[TALLY_PERIOD_LABEL_MAX + 8];
    char unit[4 * TALLY_NAME_MAX + 8];
    tally_utf8_clean(r->unit_name, strlen(r->unit_name), unit, sizeof unit);
    snprintf(title, sizeof title, "%s — %s — %s", tally_str(TS_DOC_TITLE), r->period.label_vi, unit);
    snprintf(subject, sizeof subject, "%s", r->period.code);
    lxw_doc_properties props = {.title = title, .subject = subject, .author = (char *)lh->issuer,
                                .company = (char *)lh->issuer_parent};
    workbook_set_properties(x.wb, &props);
    cover_sheet(&x, r, lh);
    for(int v = 0; v < TALLY_VIEW_COUNT; v++)
        view_sheet(&x, r, (TallyView)v);
    lxw_error err = workbook_close(x.wb);
    if(err) {
        snprintf(msg, TALLY_MSG_MAX, "cannot write %s: %s / không ghi được tệp", path, lxw_strerror(err));
        return err == LXW_ERROR_MEMORY_MALLOC_FAILED ? TALLY_E_NOMEM : TALLY_E_IO;
    }
    return TALLY_OK;
}
