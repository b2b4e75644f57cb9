/* tally_export.h — report files: the JSON, CSV, XLSX and PDF of one TallyReport, with their names.
 *
 * `tally-admin report` and the dashboard's download links both come here, so a file made on the command line
 * and one downloaded from a page are made by the same code from the same model. The renderers behind it
 * (tally_render_json.c, tally_render_csv.c, tally_render_xlsx.c, tally_render_pdf.c) only format: every figure
 * in every file is a field of the TallyReport (tally_report.h), and none of them runs SQL.
 *
 * The rule that keeps it safe: text from the data (unit names above all) is only ever text. XLSX cells holding
 * it are strings, never formulas; a CSV cell a spreadsheet would run (leading = + - @ tab or CR) is prefixed
 * with an apostrophe; the PDF lays it out as plain text (no markup); JSON escapes it; bytes that are not UTF-8
 * become U+FFFD in every format.
 *
 * Memory is bounded by the model, not the database: the model is aggregated (units x groups, never ratings),
 * the XLSX is written in libxlsxwriter's constant-memory mode (row by row through a temp file), the PDF page
 * by page. */
#ifndef SYNC_TALLY_EXPORT_H
#define SYNC_TALLY_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "sync/tally/tally_db.h"
#include "sync/tally/tally_render.h"
#include "sync/tally/tally_report.h"

#define TALLY_FILE_NAME_MAX 160 /* bytes of a file name, NUL included */
#define TALLY_LETTERHEAD_MAX (TALLY_SETTING_MAX + 1)

typedef enum { TALLY_FILE_JSON, TALLY_FILE_CSV, TALLY_FILE_XLSX, TALLY_FILE_PDF, TALLY_FILE_COUNT } TallyFileFormat;

/* The views of a report: one table each — one CSV file each, one XLSX sheet each (after the cover). */
typedef enum {
    TALLY_VIEW_GROUPS,   /* target groups: figure, both milestones' verdicts, change from the previous period */
    TALLY_VIEW_UNITS,    /* the unit tree, pre-order, each unit's figure per group */
    TALLY_VIEW_RANKING,  /* counters furthest below target (tally_report.h: Wilson upper bound, ascending) */
    TALLY_VIEW_AREAS,    /* procedure areas */
    TALLY_VIEW_TREND,    /* each group's figure per month of the trend year, up to the period's last month */
    TALLY_VIEW_REASONS,  /* reasons for dissatisfaction, most frequent first */
    TALLY_VIEW_DEVICES,  /* kiosks with last upload, counts, gaps, clock skew */
    TALLY_VIEW_ALERTS,   /* units below target or falling, silent kiosks, sequence gaps */
    TALLY_VIEW_RESPONDENTS, /* each respondent type (and "not answered"): its figure per group, all areas, wait */
    TALLY_VIEW_COUNT
} TallyView;

/* The issuing body and signature block of the PDF (Nghị định 30/2020/NĐ-CP), also named on the XLSX cover.
 * Defaults come from tally_strings.h; `tally-admin letterhead set KEY VALUE` overrides them per database. */
typedef struct {
    char issuer_parent[TALLY_LETTERHEAD_MAX]; /* issuer_parent: "UBND TỈNH GIA LAI" (the body above the issuer) */
    char issuer[TALLY_LETTERHEAD_MAX];        /* issuer: "SỞ NỘI VỤ" */
    char place[TALLY_LETTERHEAD_MAX];         /* place: "Gia Lai" ("Gia Lai, ngày 05 tháng 01 năm 2027") */
    char symbol[TALLY_LETTERHEAD_MAX];        /* symbol: "BC-SNV" ("Số:      /BC-SNV", the number left blank) */
    char signer_title[TALLY_LETTERHEAD_MAX];  /* signer_title: "GIÁM ĐỐC" */
    char signer_name[TALLY_LETTERHEAD_MAX];   /* signer_name: "" (the signature block is left empty to sign) */
    char recipients[TALLY_LETTERHEAD_MAX];    /* recipients: "UBND tỉnh (để báo cáo); Lưu: VT" (';' separates) */
} TallyLetterhead;

/* One rendered file. */
typedef struct {
    char       *data;                      /* malloc'd bytes (free with tally_file_free) */
    size_t      len;
    const char *content_type;              /* static, e.g. "application/pdf" */
    char        name[TALLY_FILE_NAME_MAX]; /* ASCII [A-Za-z0-9._-] only: safe in Content-Disposition as is */
} TallyFile;

const char *tally_file_format_code(TallyFileFormat f); /* "json", "csv", "xlsx", "pdf" */
int         tally_file_format_from_code(const char *code); /* -1 when unknown */
const char *tally_file_content_type(TallyFileFormat f);
const char *tally_view_code(TallyView v);              /* "nhom-chi-tieu", "don-vi", ... (file names, --view) */
int         tally_view_from_code(const char *code);    /* -1 when unknown; English names are accepted too */
const char *tally_view_title(TallyView v);             /* "Nhóm chỉ tiêu", ... (sheet names, CSV titles, links) */
/* The TALLY_PART_* a report must be built with for this file (view -1: every view). */
unsigned    tally_file_parts(TallyFileFormat f, int view);

/* Letterhead: the defaults, and the defaults overridden by the database's settings. */
void        tally_letterhead_default(TallyLetterhead *lh);
TallyErr    tally_letterhead_load(TallyDb *db, TallyLetterhead *lh, char msg[TALLY_MSG_MAX]);
/* key: one of the names in the struct's comments; value NULL: back to the default. TALLY_E_NOT_FOUND: no such key. */
TallyErr    tally_letterhead_set(TallyDb *db, const char *key, const char *value, char msg[TALLY_MSG_MAX]);
/* The keys, NULL-terminated, in the struct's order; tally_letterhead_field() gives a field by key (NULL if none). */
extern const char *const TALLY_LETTERHEAD_KEYS[];
const char *tally_letterhead_field(const TallyLetterhead *lh, const char *key);

/* "bao-cao-hai-long_<unit code | toan-tinh>_<period>[_<area>][_<view>].<ext>", e.g.
 * "bao-cao-hai-long_000.00.31.H21_quy-2026-4.pdf", "bao-cao-hai-long_toan-tinh_nam-2026_don-vi.csv". CSV
 * needs a view; JSON/XLSX/PDF ignore it (they hold every view). */
void        tally_file_name(const TallyReport *r, TallyFileFormat f, int view, char out[TALLY_FILE_NAME_MAX]);

/* Renders r into memory. CSV needs a view (one file per view); the other formats hold the whole report.
 * TALLY_E_INVALID: CSV without a view, or a report built without the parts the file needs; TALLY_E_IO: the PDF
 * font or a temp file could not be had (msg says which); TALLY_E_NOMEM. On error *out is empty. */
TallyErr    tally_file_render(const TallyReport *r, const TallyLetterhead *lh, TallyFileFormat f, int view,
                              TallyFile *out, char msg[TALLY_MSG_MAX]);
/* The same written to path ("-" = standard output), replaced atomically (a temp file renamed over it). */
TallyErr    tally_file_write(const TallyReport *r, const TallyLetterhead *lh, TallyFileFormat f, int view,
                             const char *path, char msg[TALLY_MSG_MAX]);
void        tally_file_free(TallyFile *f);

/* For the dashboard's download routes: builds the report for spec (with the parts this file needs; the
 * caller's spec.parts is ignored), loads the letterhead, renders. Errors as tally_report_build (NOT_FOUND,
 * SCOPE, INVALID) and tally_file_render. */
TallyErr    tally_file_make(TallyDb *db, const TallyReportSpec *spec, TallyFileFormat f, int view, TallyFile *out,
                            char msg[TALLY_MSG_MAX]);

/* ---- Shared by the renderers (and any page that wants the files' number style) --------------------------- */

/* Vietnamese number style, as the PDF prints: "1.234.567", "92,74" (decimals digits after a comma). */
void tally_fmt_int_vi(int64_t v, char *out, size_t len);
void tally_fmt_dec_vi(double v, int decimals, char *out, size_t len);
/* A respondent type's Vietnamese name, "Không trả lời" for RESPONDENT_NONE (a row of the respondents view). */
const char *tally_respondent_vi(int respondent);
/* What a report's respondent filter says: the type's name, or "Tất cả đối tượng". */
const char *tally_respondent_filter_vi(const TallyReport *r);
/* What a report's filters keep, in words: "lĩnh vực Đất đai, đối tượng Người dân", or "" when it counts
 * every area and every respondent. The page header and the PDF's opening say it; the XLSX cover lists both. */
void tally_filters_vi(const TallyReport *r, char *out, size_t len);
/* The verdict's Vietnamese label: "Đạt", "Không đạt", "Chưa đủ mẫu"; "" for none. */
const char *tally_status_vi(TallyStatus s);

/* ---- The renderers (called through tally_file_render) ------------------------------------------------------ */

/* (The JSON file is tally_report_json() of tally_render.h: the one JSON of the model, also the dashboard's.) */
/* One view as CSV: UTF-8 with a BOM, CRLF lines, a header row of Vietnamese column names. */
void     tally_render_csv(const TallyReport *r, TallyView v, TallyBuf *out);
/* One view as an aligned text table for a terminal (tally-admin report --format table). */
void     tally_render_table(const TallyReport *r, TallyView v, TallyBuf *out);
/* The workbook, written to path. */
TallyErr tally_render_xlsx(const TallyReport *r, const TallyLetterhead *lh, const char *path, char msg[TALLY_MSG_MAX]);
/* The A4 document, appended to out. */
TallyErr tally_render_pdf(const TallyReport *r, const TallyLetterhead *lh, TallyBuf *out, char msg[TALLY_MSG_MAX]);

#endif
