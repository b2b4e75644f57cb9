/* tally_export.c — report files: formats, views, names, the letterhead, and the one entry point that renders
 * a report into a buffer or a file (see tally_export.h). Start reading at tally_file_render(). */
#include "sync/tally/tally_export.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_PREFIX "bao-cao-hai-long"

static const char *const FORMAT_CODES[TALLY_FILE_COUNT] = {"json", "csv", "xlsx", "pdf"};
static const char *const CONTENT_TYPES[TALLY_FILE_COUNT] = {
    "application/json; charset=utf-8", "text/csv; charset=utf-8",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/pdf"};
/* ASCII slugs of the Vietnamese view names (they end up in file names), and English aliases for --view. */
static const char *const VIEW_CODES[TALLY_VIEW_COUNT] = {"nhom-chi-tieu", "don-vi", "xep-hang", "linh-vuc",
                                                         "theo-thang", "ly-do", "thiet-bi", "canh-bao",
                                                         "doi-tuong"};
static const char *const VIEW_ALIASES[TALLY_VIEW_COUNT] = {"groups", "units", "ranking", "areas",
                                                           "trend", "reasons", "devices", "alerts",
                                                           "respondents"};
static const TallyStr VIEW_TITLES[TALLY_VIEW_COUNT] = {
    [TALLY_VIEW_GROUPS] = TS_SHEET_GROUPS,   [TALLY_VIEW_UNITS] = TS_SHEET_UNITS,
    [TALLY_VIEW_RANKING] = TS_SHEET_RANKING, [TALLY_VIEW_AREAS] = TS_SHEET_AREAS,
    [TALLY_VIEW_TREND] = TS_SHEET_TREND,     [TALLY_VIEW_REASONS] = TS_SHEET_REASONS,
    [TALLY_VIEW_DEVICES] = TS_SHEET_DEVICES, [TALLY_VIEW_ALERTS] = TS_SHEET_ALERTS,
    [TALLY_VIEW_RESPONDENTS] = TS_SHEET_RESPONDENTS,
};
static const unsigned VIEW_PARTS[TALLY_VIEW_COUNT] = {
    TALLY_PART_GROUPS, TALLY_PART_UNITS, TALLY_PART_UNITS,   TALLY_PART_AREAS,
    TALLY_PART_TREND,  TALLY_PART_REASONS, TALLY_PART_DEVICES, TALLY_PART_ALERTS, TALLY_PART_RESPONDENTS};

static TallyErr fail(char msg[TALLY_MSG_MAX], TallyErr e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static TallyErr fail(char msg[TALLY_MSG_MAX], TallyErr e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, TALLY_MSG_MAX, fmt, ap);
    va_end(ap);
    return e;
}

const char *tally_file_format_code(TallyFileFormat f)
{
    return (unsigned)f < TALLY_FILE_COUNT ? FORMAT_CODES[f] : "";
}

int tally_file_format_from_code(const char *code)
{
    for(int i = 0; i < TALLY_FILE_COUNT; i++)
        if(strcmp(code, FORMAT_CODES[i]) == 0)
            return i;
    return -1;
}

const char *tally_file_content_type(TallyFileFormat f)
{
    return (unsigned)f < TALLY_FILE_COUNT ? CONTENT_TYPES[f] : "application/octet-stream";
}

const char *tally_view_code(TallyView v)
{
    return (unsigned)v < TALLY_VIEW_COUNT ? VIEW_CODES[v] : "";
}

const char *tally_view_title(TallyView v)
{
    return (unsigned)v < TALLY_VIEW_COUNT ? tally_str(VIEW_TITLES[v]) : "";
}

int tally_view_from_code(const char *code)
{
    for(int i = 0; i < TALLY_VIEW_COUNT; i++)
        if(strcmp(code, VIEW_CODES[i]) == 0 || strcmp(code, VIEW_ALIASES[i]) == 0)
            return i;
    return -1;
}

unsigned tally_file_parts(TallyFileFormat f, int view)
{
    if(f == TALLY_FILE_JSON)
        return TALLY_PART_ALL;
    if(f == TALLY_FILE_PDF)
        return TALLY_PART_GROUPS | TALLY_PART_TREND | TALLY_PART_UNITS | TALLY_PART_REASONS | TALLY_PART_RESPONDENTS;
    if(view >= 0 && view < TALLY_VIEW_COUNT)
        return VIEW_PARTS[view];
    unsigned p = 0;
    for(int v = 0; v < TALLY_VIEW_COUNT; v++)
        p |= VIEW_PARTS[v];
    return p;
}

/* ---- Letterhead ----------------------------------------------------------------------------------------- */

const char *const TALLY_LETTERHEAD_KEYS[] = {"issuer_parent", "issuer", "place", "symbol", "signer_title",
                                             "signer_name", "recipients", NULL};
static const size_t LH_OFFSETS[] = {
    offsetof(TallyLetterhead, issuer_parent), offsetof(TallyLetterhead, issuer),
    offsetof(TallyLetterhead, place),         offsetof(TallyLetterhead, symbol),
    offsetof(TallyLetterhead, signer_title),  offsetof(TallyLetterhead, signer_name),
    offsetof(TallyLetterhead, recipients)};

static int lh_index(const char *key)
{
    for(int i = 0; TALLY_LETTERHEAD_KEYS[i]; i++)
        if(strcmp(key, TALLY_LETTERHEAD_KEYS[i]) == 0)
            return i;
    return -1;
}

const char *tally_letterhead_field(const TallyLetterhead *lh, const char *key)
{
    int i = lh_index(key);
    return i < 0 ? NULL : (const char *)lh + LH_OFFSETS[i];
}

void tally_letterhead_default(TallyLetterhead *lh)
{
    memset(lh, 0, sizeof *lh);
    snprintf(lh->issuer_parent, sizeof lh->issuer_parent, "%s", tally_str(TS_DOC_ISSUER_PARENT));
    snprintf(lh->issuer, sizeof lh->issuer, "%s", tally_str(TS_DOC_ISSUER));
    snprintf(lh->place, sizeof lh->place, "%s", tally_str(TS_DOC_PLACE));
    snprintf(lh->symbol, sizeof lh->symbol, "%s", tally_str(TS_DOC_SYMBOL));
    snprintf(lh->signer_title, sizeof lh->signer_title, "%s", tally_str(TS_DOC_SIGNER_TITLE));
    snprintf(lh->recipients, sizeof lh->recipients, "%s", tally_str(TS_DOC_RECIPIENTS));
}

/* Settings are stored under "letterhead.<key>". */
static void setting_key(const char *key, char out[64])
{
    snprintf(out, 64, "letterhead.%s", key);
}

TallyErr tally_letterhead_load(TallyDb *db, TallyLetterhead *lh, char msg[TALLY_MSG_MAX])
{
    tally_letterhead_default(lh);
    for(int i = 0; TALLY_LETTERHEAD_KEYS[i]; i++) {
        char key[64], value[TALLY_LETTERHEAD_MAX];
        bool found;
        setting_key(TALLY_LETTERHEAD_KEYS[i], key);
        TallyErr e = tally_setting_get(db, key, value, sizeof value, &found, msg);
        if(e)
            return e;
        if(found)
            snprintf((char *)lh + LH_OFFSETS[i], TALLY_LETTERHEAD_MAX, "%s", value);
    }
    return TALLY_OK;
}

TallyErr tally_letterhead_set(TallyDb *db, const char *key, const char *value, char msg[TALLY_MSG_MAX])
{
    if(lh_index(key) < 0)
        return fail(msg, TALLY_E_NOT_FOUND, "unknown letterhead field %s (issuer_parent, issuer, place, symbol, "
                    "signer_title, signer_name, recipients) / trường không tồn tại", key);
    char k[64];
    setting_key(key, k);
    return tally_setting_set(db, k, value, msg);
}

/* ---- Names ---------------------------------------------------------------------------------------------- */

/* Appends s to out keeping only [A-Za-z0-9._-] (':' becomes '-', the ".." of custom dates '_'). */
static void slug(char *out, size_t len, const char *s)
{
    size_t n = strlen(out);
    for(; *s && n + 1 < len; s++) {
        char c = *s;
        if(c == '.' && s[1] == '.') {
            c = '_';
            s++;
        } else if(c == ':') {
            c = '-';
        } else if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-')) {
            c = '-';
        }
        out[n++] = c;
    }
    out[n] = '\0';
}

void tally_file_name(const TallyReport *r, TallyFileFormat f, int view, char out[TALLY_FILE_NAME_MAX])
{
    snprintf(out, TALLY_FILE_NAME_MAX, "%s_", FILE_PREFIX);
    slug(out, TALLY_FILE_NAME_MAX, r->unit_code[0] ? r->unit_code : "toan-tinh");
    slug(out, TALLY_FILE_NAME_MAX, "_");
    slug(out, TALLY_FILE_NAME_MAX, r->period.code);
    if(r->area >= 0) {
        slug(out, TALLY_FILE_NAME_MAX, "_");
        slug(out, TALLY_FILE_NAME_MAX, proto_area_code((ProtoArea)r->area));
    }
    if(r->respondent) {
        slug(out, TALLY_FILE_NAME_MAX, "_");
        slug(out, TALLY_FILE_NAME_MAX, proto_respondent_code((ProtoRespondent)r->respondent));
    }
    if(f == TALLY_FILE_CSV && view >= 0 && view < TALLY_VIEW_COUNT) {
        slug(out, TALLY_FILE_NAME_MAX, "_");
        slug(out, TALLY_FILE_NAME_MAX, VIEW_CODES[view]);
    }
    slug(out, TALLY_FILE_NAME_MAX, ".");
    slug(out, TALLY_FILE_NAME_MAX, tally_file_format_code(f));
}

/* ---- Number style and text hygiene ---------------------------------------------------------------------- */

void tally_fmt_int_vi(int64_t v, char *out, size_t len)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t nd = strlen(digits), n = 0;
    if(v < 0 && n + 1 < len)
        out[n++] = '-';
    for(size_t i = 0; i < nd && n + 2 < len; i++) {
        if(i && (nd - i) % 3 == 0)
            out[n++] = '.';
        out[n++] = digits[i];
    }
    out[n] = '\0';
}

void tally_fmt_dec_vi(double v, int decimals, char *out, size_t len)
{
    /* Round half away from zero at `decimals`, as the API's JSON does for two. */
    double scale = pow(10, decimals), r = round(fabs(v) * scale);
    int64_t whole = (int64_t)(r / scale), frac = (int64_t)(r - (double)whole * scale);
    char w[32];
    tally_fmt_int_vi(whole, w, sizeof w);
    if(decimals > 0)
        snprintf(out, len, "%s%s,%0*lld", v < 0 && r > 0 ? "-" : "", w, decimals, (long long)frac);
    else
        snprintf(out, len, "%s%s", v < 0 && r > 0 ? "-" : "", w);
}

const char *tally_respondent_vi(int respondent)
{
    const char *name = respondent ? proto_respondent_name_vi((ProtoRespondent)respondent) : NULL;
    return name ? name : tally_str(TS_FIG_RESPONDENT_NONE);
}

const char *tally_respondent_filter_vi(const TallyReport *r)
{
    return r->respondent ? tally_respondent_vi(r->respondent) : tally_str(TS_FIG_ALL_RESPONDENTS);
}

void tally_filters_vi(const TallyReport *r, char *out, size_t len)
{
    char area[160] = "", resp[160] = "";
    if(r->area >= 0)
        snprintf(area, sizeof area, tally_str(TS_FILTER_AREA), proto_area_name_vi((ProtoArea)r->area));
    if(r->respondent)
        snprintf(resp, sizeof resp, tally_str(TS_FILTER_RESPONDENT), tally_respondent_vi(r->respondent));
    snprintf(out, len, "%s%s%s", area, area[0] && resp[0] ? ", " : "", resp);
}

const char *tally_status_vi(TallyStatus s)
{
    switch(s) {
    case TALLY_STATUS_DAT: return tally_str(TS_STATUS_DAT);
    case TALLY_STATUS_KHONG_DAT: return tally_str(TS_STATUS_KHONG_DAT);
    case TALLY_STATUS_CHUA_DU_MAU: return tally_str(TS_STATUS_CHUA_DU_MAU);
    default: return "";
    }
}

/* ---- Rendering ------------------------------------------------------------------------------------------ */

void tally_file_free(TallyFile *f)
{
    free(f->data);
    memset(f, 0, sizeof *f);
}

static TallyErr check(const TallyReport *r, TallyFileFormat f, int view, char msg[TALLY_MSG_MAX])
{
    if((unsigned)f >= TALLY_FILE_COUNT)
        return fail(msg, TALLY_E_INVALID, "unknown file format / định dạng tệp không hợp lệ");
    if(f == TALLY_FILE_CSV && (view < 0 || view >= TALLY_VIEW_COUNT))
        return fail(msg, TALLY_E_INVALID, "a CSV file holds one view: name it / tệp CSV cần chọn một bảng");
    unsigned need = tally_file_parts(f, view) & ~(unsigned)TALLY_PART_HEAT;
    if((r->parts & need) != need)
        return fail(msg, TALLY_E_INVALID, "the report was built without the parts this file shows / báo cáo thiếu "
                    "phần cần cho tệp này");
    return TALLY_OK;
}

/* A fresh temp file name in $TMPDIR (or /tmp), created empty; false when none can be made. */
static bool temp_path(char *out, size_t len, const char *dir_of)
{
    if(dir_of) {
        const char *slash = strrchr(dir_of, '/');
        if(slash)
            snprintf(out, len, "%.*s/.tally-XXXXXX", (int)(slash - dir_of), dir_of);
        else
            snprintf(out, len, ".tally-XXXXXX");
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(out, len, "%s/tally-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    }
    int fd = mkstemp(out);
    if(fd < 0)
        return false;
    close(fd);
    return true;
}

static TallyErr read_whole(const char *path, TallyFile *out, char msg[TALLY_MSG_MAX])
{
    FILE *fp = fopen(path, "rb");
    if(!fp)
        return fail(msg, TALLY_E_IO, "cannot read %s: %s", path, strerror(errno));
    TallyBuf b = {0};
    char chunk[65536];
    size_t k;
    while((k = fread(chunk, 1, sizeof chunk, fp)) > 0)
        tally_buf_put(&b, chunk, k);
    bool err = ferror(fp);
    fclose(fp);
    if(err) {
        tally_buf_free(&b);
        return fail(msg, TALLY_E_IO, "cannot read %s", path);
    }
    if(!(out->data = tally_buf_take(&b, &out->len)))
        return fail(msg, TALLY_E_NOMEM, "out of memory");
    return TALLY_OK;
}

TallyErr tally_file_render(const TallyReport *r, const TallyLetterhead *lh, TallyFileFormat f, int view,
                           TallyFile *out, char msg[TALLY_MSG_MAX])
{
    memset(out, 0, sizeof *out);
    TallyErr e = check(r, f, view, msg);
    if(e)
        return e;
    TallyLetterhead def;
    if(!lh) {
        tally_letterhead_default(&def);
        lh = &def;
    }
    TallyBuf b = {0};
    switch(f) {
    case TALLY_FILE_JSON:
        if(!(out->data = tally_report_json(r)))
            return fail(msg, TALLY_E_NOMEM, "out of memory");
        out->len = strlen(out->data);
        break;
    case TALLY_FILE_CSV:
        tally_render_csv(r, (TallyView)view, &b);
        if(!(out->data = tally_buf_take(&b, &out->len)))
            return fail(msg, TALLY_E_NOMEM, "out of memory");
        break;
    case TALLY_FILE_XLSX: {
        /* libxlsxwriter writes files only: a temp file, read back and removed. */
        char path[512];
        if(!temp_path(path, sizeof path, NULL))
            return fail(msg, TALLY_E_IO, "cannot create a temp file: %s", strerror(errno));
        e = tally_render_xlsx(r, lh, path, msg);
        if(!e)
            e = read_whole(path, out, msg);
        unlink(path);
        if(e)
            return e;
        break;
    }
    case TALLY_FILE_PDF:
        if((e = tally_render_pdf(r, lh, &b, msg))) {
            tally_buf_free(&b);
            return e;
        }
        if(!(out->data = tally_buf_take(&b, &out->len)))
            return fail(msg, TALLY_E_NOMEM, "out of memory");
        break;
    default: break;
    }
    out->content_type = tally_file_content_type(f);
    tally_file_name(r, f, view, out->name);
    return TALLY_OK;
}

static TallyErr write_all(int fd, const char *data, size_t len, const char *path, char msg[TALLY_MSG_MAX])
{
    while(len) {
        ssize_t k = write(fd, data, len);
        if(k < 0 && errno == EINTR)
            continue;
        if(k <= 0)
            return fail(msg, TALLY_E_IO, "cannot write %s: %s", path, strerror(errno));
        data += k;
        len -= (size_t)k;
    }
    return TALLY_OK;
}

TallyErr tally_file_write(const TallyReport *r, const TallyLetterhead *lh, TallyFileFormat f, int view,
                          const char *path, char msg[TALLY_MSG_MAX])
{
    TallyErr e = check(r, f, view, msg);
    if(e)
        return e;
    bool to_stdout = strcmp(path, "-") == 0;
    char tmp[4096 + 32];
    if(strlen(path) > 4096)
        return fail(msg, TALLY_E_INVALID, "path too long");
    if(!to_stdout && !temp_path(tmp, sizeof tmp, path))
        return fail(msg, TALLY_E_IO, "cannot create a file beside %s: %s", path, strerror(errno));
    if(f == TALLY_FILE_XLSX && !to_stdout) {
        /* Straight to the file: no copy of the workbook in memory. */
        TallyLetterhead def;
        if(!lh) {
            tally_letterhead_default(&def);
            lh = &def;
        }
        e = tally_render_xlsx(r, lh, tmp, msg);
    } else {
        TallyFile file;
        if((e = tally_file_render(r, lh, f, view, &file, msg))) {
            if(!to_stdout)
                unlink(tmp);
            return e;
        }
        if(to_stdout) {
            e = write_all(STDOUT_FILENO, file.data, file.len, "standard output", msg);
            tally_file_free(&file);
            return e;
        }
        int fd = open(tmp, O_WRONLY | O_TRUNC);
        e = fd < 0 ? fail(msg, TALLY_E_IO, "cannot write %s: %s", tmp, strerror(errno))
                   : write_all(fd, file.data, file.len, path, msg);
        if(fd >= 0 && (fsync(fd) || close(fd)) && !e)
            e = fail(msg, TALLY_E_IO, "cannot write %s: %s", path, strerror(errno));
        tally_file_free(&file);
    }
    if(!e) {
        chmod(tmp, 0644);
        if(rename(tmp, path))
            e = fail(msg, TALLY_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    if(e)
        unlink(tmp);
    return e;
}

TallyErr tally_file_make(TallyDb *db, const TallyReportSpec *spec, TallyFileFormat f, int view, TallyFile *out,
                         char msg[TALLY_MSG_MAX])
{
    memset(out, 0, sizeof *out);
    if((unsigned)f >= TALLY_FILE_COUNT || (f == TALLY_FILE_CSV && (view < 0 || view >= TALLY_VIEW_COUNT)))
        return check(&(TallyReport){0}, f, view, msg);
    TallyLetterhead lh;
    TallyErr e = tally_letterhead_load(db, &lh, msg);
    if(e)
        return e;
    TallyReportSpec s = *spec;
    s.parts = tally_file_parts(f, view);
    TallyReport *r;
    if((e = tally_report_build(db, &s, &r, msg)))
        return e;
    e = tally_file_render(r, &lh, f, view, out, msg);
    tally_report_free(r);
    return e;
}
