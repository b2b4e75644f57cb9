/* tally_html.h — the dashboard's HTML renderer: pages from a TallyReport, with inline SVG charts.
 *
 * A renderer like the others (tally_render.h): it formats the model and computes nothing. Every value from
 * the model or the request goes through tally_html_escape() — one routine for text and attributes alike — and
 * every Vietnamese text comes from tally_strings.h. Pages work without JavaScript (the small script only sorts
 * and folds the unit table), load nothing from elsewhere, and print on A4. */
#ifndef SYNC_TALLY_HTML_H
#define SYNC_TALLY_HTML_H

#include "sync/tally/tally_render.h"
#include "sync/tally/tally_report.h"

typedef enum { TALLY_PAGE_OVERVIEW, TALLY_PAGE_UNITS, TALLY_PAGE_UNIT, TALLY_PAGE_DEVICES, TALLY_PAGE_ALERTS,
               TALLY_PAGE_OTHER } TallyPage;

typedef struct {
    TallyPage   page;
    const char *viewer;  /* the signed-in name */
    const char *csrf;    /* the session's CSRF token, for the sign-out form */
    const char *path;    /* the page's path, for the period picker's form action */
} TallyHtmlCtx;

/* The one escaping routine: & < > " ' become entities; bytes that are not valid UTF-8 become U+FFFD. */
void tally_html_escape(TallyBuf *b, const char *s);

void tally_html_overview(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r);
void tally_html_units(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r);
void tally_html_unit(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r);
void tally_html_devices(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r);
void tally_html_alerts(TallyBuf *b, const TallyHtmlCtx *c, const TallyReport *r);
/* The sign-in page: csrf is the login form's token; name refills the field; message is 0 or a TS_LOGIN_* key
 * (TS_LOGIN_LOCKED / TS_LOGIN_SLOWED take the wait in minutes / seconds). */
void tally_html_login(TallyBuf *b, const char *csrf, const char *name, int message, long wait);
/* An error page (signed in when c->viewer is set). */
void tally_html_error(TallyBuf *b, const TallyHtmlCtx *c, TallyStr message);
/* The 400 page for a malformed parameter of the address, naming it (escaped like every value). */
void tally_html_bad_param(TallyBuf *b, const TallyHtmlCtx *c, const char *param);

/* The static files: /static/dashboard.css and /static/dashboard.js. */
const char *tally_html_css(void);
const char *tally_html_js(void);

#endif
