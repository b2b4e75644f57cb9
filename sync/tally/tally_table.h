/* tally_table.h — the views of a report as tables of typed cells (internal to the file renderers).
 *
 * A view's columns and rows are decided here once; the CSV, terminal-table and XLSX renderers only turn typed
 * cells into their format (a CSV number, an XLSX percent cell, ...). So a column cannot say one thing in the
 * CSV and another in the workbook, and no renderer repeats the walk over the model. Cells point into the
 * report or into static strings; a row is produced on demand, so nothing is held beyond one row. */
#ifndef SYNC_TALLY_TABLE_H
#define SYNC_TALLY_TABLE_H

#include "sync/tally/tally_export.h"

#define TALLY_TABLE_COLS_MAX 40
#define TALLY_TABLE_HEAD_MAX 160

typedef enum {
    TC_TEXT,     /* text from the model or the strings table */
    TC_CODE,     /* an identifier (unit, device, group code) */
    TC_NAME,     /* a unit name, indented by `depth` where the format can */
    TC_INT,      /* a count */
    TC_PCT,      /* a percentage, 0..100 (the model's unit); empty when the figure has n == 0 */
    TC_PTS,      /* a difference in percentage points */
    TC_NUM1,     /* a number shown with one decimal (days) */
    TC_DATE,     /* a local day number (ptime) */
    TC_DATETIME, /* Unix seconds, shown in Asia/Ho_Chi_Minh */
    TC_STATUS    /* a milestone verdict */
} TallyCellType;

typedef struct {
    TallyCellType type;
    bool          empty;   /* no value: a pct of n == 0, a date that never happened */
    const char   *text;    /* TC_TEXT, TC_CODE, TC_NAME; TC_STATUS: its label */
    int           depth;   /* TC_NAME */
    int64_t       i;       /* TC_INT, TC_DATE, TC_DATETIME */
    double        d;       /* TC_PCT, TC_PTS, TC_NUM1 */
    TallyStatus   status;  /* TC_STATUS */
} TallyCell;

typedef struct {
    char          head[TALLY_TABLE_HEAD_MAX]; /* the full header: "Dịch vụ y tế công – Tỷ lệ hài lòng (%)" */
    const char   *band;    /* a header spanning several columns (the group's name) or NULL */
    const char   *sub;     /* the column's own header under the band, or head when there is no band */
    TallyCellType type;
    int           width;   /* characters, a hint for the XLSX column width */
    bool          brief;   /* shown in the terminal table */
} TallyColumn;

/* A row's cells, and room for the text some cells compose (a device's state). */
typedef struct {
    TallyCell cell[TALLY_TABLE_COLS_MAX];
    char      scratch[512];
} TallyTableRow;

/* Fills cols (at most TALLY_TABLE_COLS_MAX) and returns how many. */
int         tally_table_columns(const TallyReport *r, TallyView v, TallyColumn *cols);
size_t      tally_table_rows(const TallyReport *r, TallyView v);
/* Fills row->cell[0 .. columns-1] for row i (< tally_table_rows). */
void        tally_table_row(const TallyReport *r, TallyView v, size_t i, TallyTableRow *row);
/* The last month (1-12) of the trend year that the report covers: the period's last month. */
int         tally_table_trend_months(const TallyReport *r);

#endif
