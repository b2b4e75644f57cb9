/* tally_render_csv.c — one view of a report as CSV, or as a text table for a terminal (see tally_export.h).
 *
 * CSV: RFC 4180 with a UTF-8 byte-order mark (so Excel reads the Vietnamese as UTF-8), CRLF line ends, comma
 * separators, numbers with a decimal point as in the API (percentages with two decimals, rounded the same
 * way), dates as YYYY-MM-DD and times as YYYY-MM-DD HH:MM (Asia/Ho_Chi_Minh). Every text cell is quoted; one
 * that a spreadsheet would run as a formula (it starts with = + - @ tab or CR) gets a leading apostrophe, the
 * OWASP remedy for CSV injection. Numbers are ours, never text from the data, so they are written bare. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/tally/tally_table.h"
#include "sync/tally/tally_text.h"

#define TABLE_NAME_MAX 48 /* characters of a name in the terminal table before it is cut with "…" */

static void csv_text(TallyBuf *b, const char *s)
{
    char clean[4 * TALLY_NAME_MAX + 8];
    tally_utf8_clean(s, strlen(s), clean, sizeof clean);
    tally_buf_put(b, "\"", 1);
    if(clean[0] && strchr("=+-@\t\r", clean[0]))
        tally_buf_put(b, "'", 1);
    for(const char *p = clean; *p; p++) {
        if(*p == '"')
            tally_buf_put(b, "\"", 1); /* "" inside a quoted field */
        tally_buf_put(b, p, 1);
    }
    tally_buf_put(b, "\"", 1);
}

static void local_time(int64_t unix_s, char out[32])
{
    char t[PTIME_TEXT_MAX];
    ptime_format(unix_s, PTIME_VN_OFFSET_MIN, t); /* 2026-11-22T08:15:02+07:00 */
    snprintf(out, 32, "%.10s %.5s", t, t + 11);
}

/* A cell as plain text (CSV numbers: decimal point; the table: Vietnamese style). */
static void cell_text(const TallyCell *c, bool vi, char *out, size_t len)
{
    out[0] = '\0';
    if(c->empty)
        return;
    switch(c->type) {
    case TC_INT:
        if(vi)
            tally_fmt_int_vi(c->i, out, len);
        else
            snprintf(out, len, "%lld", (long long)c->i);
        break;
    case TC_PCT:
    case TC_PTS:
    case TC_NUM1: {
        int dec = c->type == TC_NUM1 ? 1 : 2;
        if(vi) {
            tally_fmt_dec_vi(c->d, dec, out, len);
        } else {
            double scale = dec == 1 ? 10 : 100, v = round(c->d * scale) / scale;
            snprintf(out, len, "%.*f", dec, v == 0 ? 0.0 : v); /* never "-0.00" */
        }
        if(vi && c->type == TC_PTS && c->d > 0) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "+%s", out);
            snprintf(out, len, "%s", tmp);
        }
        break;
    }
    case TC_DATE: ptime_format_date(c->i, out); break;
    case TC_DATETIME: {
        char t[32];
        local_time(c->i, t);
        snprintf(out, len, "%s", t);
        break;
    }
    default: snprintf(out, len, "%s", c->text ? c->text : ""); break;
    }
}

void tally_render_csv(const TallyReport *r, TallyView v, TallyBuf *out)
{
    TallyColumn cols[TALLY_TABLE_COLS_MAX];
    int nc = tally_table_columns(r, v, cols);
    tally_buf_put(out, "\xEF\xBB\xBF", 3);
    for(int k = 0; k < nc; k++) {
        if(k)
            tally_buf_put(out, ",", 1);
        csv_text(out, cols[k].head);
    }
    tally_buf_put(out, "\r\n", 2);
    size_t n = tally_table_rows(r, v);
    TallyTableRow row;
    for(size_t i = 0; i < n; i++) {
        tally_table_row(r, v, i, &row);
        for(int k = 0; k < nc; k++) {
            const TallyCell *c = &row.cell[k];
            if(k)
                tally_buf_put(out, ",", 1);
            if(c->type == TC_TEXT || c->type == TC_CODE || c->type == TC_NAME || c->type == TC_STATUS) {
                csv_text(out, c->empty ? "" : c->text);
            } else {
                char t[64];
                cell_text(c, false, t, sizeof t);
                tally_buf_puts(out, t);
            }
        }
        tally_buf_put(out, "\r\n", 2);
    }
}

/* ---- Terminal table ----------------------------------------------------------------------------------- */

static int width(const char *s)
{
    int w = 0;
    for(; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* Copies at most `chars` characters of s, ending with "…" when cut. */
static void cut(const char *s, int chars, char *out, size_t len)
{
    size_t n = 0;
    int w = 0;
    for(const char *p = s; *p && n + 4 < len; p++) {
        if(((unsigned char)*p & 0xC0) != 0x80 && ++w > chars - (width(s) > chars)) {
            memcpy(out + n, "…", 3), n += 3;
            break;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

/* The text of a table cell: names indented two spaces per level and cut, numbers in Vietnamese style. */
static void table_cell(const TallyCell *c, char *out, size_t len)
{
    if(c->type == TC_NAME && !c->empty) {
        char clean[4 * TALLY_NAME_MAX + 8], shown[4 * TABLE_NAME_MAX + 8];
        int indent = c->depth > 8 ? 16 : 2 * c->depth;
        tally_utf8_clean(c->text, strlen(c->text), clean, sizeof clean);
        cut(clean, TABLE_NAME_MAX - indent, shown, sizeof shown);
        memset(out, ' ', (size_t)indent);
        snprintf(out + indent, len - (size_t)indent, "%s", shown);
    } else if((c->type == TC_TEXT || c->type == TC_CODE) && !c->empty) {
        char clean[4 * TALLY_NAME_MAX + 8];
        tally_utf8_clean(c->text, strlen(c->text), clean, sizeof clean);
        cut(clean, TABLE_NAME_MAX, out, len);
    } else {
        cell_text(c, true, out, len);
        if(!out[0])
            snprintf(out, len, "-");
    }
}

void tally_render_table(const TallyReport *r, TallyView v, TallyBuf *out)
{
    TallyColumn cols[TALLY_TABLE_COLS_MAX];
    int all = tally_table_columns(r, v, cols), pick[TALLY_TABLE_COLS_MAX], nc = 0;
    for(int k = 0; k < all; k++)
        if(cols[k].brief)
            pick[nc++] = k;
    size_t n = tally_table_rows(r, v);
    enum { CELL = 4 * TABLE_NAME_MAX + 40 }; /* a cut name, its indent, or a number */
    char(*text)[TALLY_TABLE_COLS_MAX][CELL] = calloc(n + 1, sizeof *text);
    if(!text) {
        out->oom = true;
        return;
    }
    int w[TALLY_TABLE_COLS_MAX] = {0};
    for(int j = 0; j < nc; j++) {
        snprintf(text[0][j], CELL, "%s", cols[pick[j]].head);
        w[j] = width(text[0][j]);
    }
    TallyTableRow row;
    for(size_t i = 0; i < n; i++) {
        tally_table_row(r, v, i, &row);
        for(int j = 0; j < nc; j++) {
            table_cell(&row.cell[pick[j]], text[i + 1][j], CELL);
            if(width(text[i + 1][j]) > w[j])
                w[j] = width(text[i + 1][j]);
        }
    }
    tally_buf_printf(out, "%s — %s — %s\n", tally_view_title(v), r->period.label_vi, r->unit_name);
    for(size_t i = 0; i <= n; i++) {
        for(int j = 0; j < nc; j++) {
            TallyCellType t = cols[pick[j]].type;
            bool right = i > 0 && t != TC_TEXT && t != TC_CODE && t != TC_NAME && t != TC_STATUS;
            int pad = w[j] - width(text[i][j]);
            if(right)
                tally_buf_printf(out, "%*s", pad, "");
            tally_buf_puts(out, text[i][j]);
            if(j + 1 < nc)
                tally_buf_printf(out, "%*s", right ? 2 : pad + 2, "");
        }
        tally_buf_put(out, "\n", 1);
    }
    if(!n)
        tally_buf_printf(out, "(%s)\n", tally_str(TS_STATUS_NO_DATA));
    free(text);
}
