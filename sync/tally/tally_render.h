/* tally_render.h — renderers: they format a model (TallyRow list, TallyReport), never compute a figure or
 * run SQL. One file per format: tally_render_json.c (API rows, report JSON), tally_html.c (dashboard pages);
 * the report files add tally_render_csv.c, tally_render_xlsx.c, tally_render_pdf.c beside them.
 *
 * TallyBuf is the growable byte buffer renderers write text into; a failed allocation sets `oom` and later
 * writes are dropped, so a renderer checks once at the end. */
#ifndef SYNC_TALLY_RENDER_H
#define SYNC_TALLY_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "sync/tally/tally_query.h"
#include "sync/tally/tally_report.h"

typedef struct {
    char  *data; /* NUL-terminated when len > 0 */
    size_t len, cap;
    bool   oom;
} TallyBuf;

void  tally_buf_put(TallyBuf *b, const char *s, size_t n);
void  tally_buf_puts(TallyBuf *b, const char *s);
void  tally_buf_printf(TallyBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the text over (malloc'd, NUL-terminated; NULL after an allocation failure) and empties b. */
char *tally_buf_take(TallyBuf *b, size_t *len);
void  tally_buf_free(TallyBuf *b);

/* {"rows":[...]} of GET /api/v1/tally, as docs/protocol.md; malloc'd, NULL when out of memory. */
char *tally_rows_json(const TallyRow *rows, size_t n_rows);

/* The whole report model as one JSON object (meta, groups, units, ranking, areas, reasons, devices, alerts,
 * heat): every field of TallyReport, named as in tally_report.h; malloc'd, NULL when out of memory. */
char *tally_report_json(const TallyReport *r);
/* Only the period and the alerts ({"period":..,"from":..,"to":..,"alerts":[..]}), for tally-admin alerts --json. */
char *tally_alerts_json(const TallyReport *r);

#endif
