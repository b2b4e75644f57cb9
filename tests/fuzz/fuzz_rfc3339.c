/* fuzz_rfc3339 — libFuzzer target for RFC 3339 times and dates (ptime_parse, ptime_parse_date).
 *
 * A reference parser written here, with its own day arithmetic (years and months counted one by one, no
 * era formula), must agree with ptime on every input: accepted or refused alike, the same instant, offset and
 * Asia/Ho_Chi_Minh day; and what ptime_format writes parses back to the same instant. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/ptime.h"
#include "fuzz_util.h"

static bool num(const char *s, int n, int *out)
{
    int v = 0;
    for(int i = 0; i < n; i++) {
        if(s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + s[i] - '0';
    }
    *out = v;
    return true;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int mdays(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days from 1970-01-01, counted year by year and month by month. */
static int64_t ref_days(int y, int m, int d)
{
    int64_t n = 0;
    for(int yy = 1970; yy < y; yy++)
        n += leap(yy) ? 366 : 365;
    for(int mm = 1; mm < m; mm++)
        n += mdays(y, mm);
    return n + d - 1;
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static bool ref_date(const char *s, int *y, int *m, int *d)
{
    return num(s, 4, y) && s[4] == '-' && num(s + 5, 2, m) && s[7] == '-' && num(s + 8, 2, d) && *y >= 1970 &&
           *m >= 1 && *m <= 12 && *d >= 1 && *d <= mdays(*y, *m);
}

static bool ref_parse(const char *s, int64_t *t, int *off, int64_t *vn_day)
{
    size_t n = strlen(s);
    int y, mo, d, h, mi, se;
    if(n < 20 || n >= PTIME_TEXT_MAX || !ref_date(s, &y, &mo, &d))
        return false;
    if(!(s[10] == 'T' || s[10] == 't') || !num(s + 11, 2, &h) || s[13] != ':' || !num(s + 14, 2, &mi) ||
       s[16] != ':' || !num(s + 17, 2, &se) || h > 23 || mi > 59 || se > 59)
        return false;
    size_t i = 19;
    if(s[i] == '.') {
        size_t j = ++i;
        while(s[i] >= '0' && s[i] <= '9')
            i++;
        if(i == j)
            return false;
    }
    int o;
    if((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        o = 0;
    } else if((s[i] == '+' || s[i] == '-') && i + 6 == n && s[i + 3] == ':') {
        int oh, om;
        if(!num(s + i + 1, 2, &oh) || !num(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        o = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    } else {
        return false;
    }
    int64_t unix_s = ref_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - (int64_t)o * 60;
    int64_t day = floor_div(unix_s + 7 * 3600, 86400);
    /* Vietnam days 1970-01-01 .. 9999-12-31 only. */
    if(day < 0 || day > ref_days(9999, 12, 31))
        return false;
    *t = unix_s;
    *off = o;
    *vn_day = day;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if(size > 64)
        return 0;
    char *s = fuzz_cstr(data, size);
    int64_t t = 7, rt, rday;
    int off = 7, roff;
    bool ok = ptime_parse(s, &t, &off), ref = ref_parse(s, &rt, &roff, &rday);
    FUZZ_CHECK(ok == ref);
    if(ok) {
        FUZZ_CHECK(t == rt && off == roff && ptime_vn_day(t) == rday);
        char buf[PTIME_TEXT_MAX];
        ptime_format(t, off, buf);
        int64_t t2;
        int off2;
        FUZZ_CHECK(ptime_parse(buf, &t2, &off2) && t2 == t && off2 == off);
        char date[PTIME_DATE_LEN];
        ptime_format_date(ptime_vn_day(t), date);
        int64_t back;
        FUZZ_CHECK(ptime_parse_date(date, &back) && back == rday);
    } else {
        FUZZ_CHECK(t == 7 && off == 7); /* untouched on refusal */
    }
    /* Dates alone. */
    int64_t day = -1;
    int y, m, d;
    bool dok = ptime_parse_date(s, &day), dref = strlen(s) == 10 && ref_date(s, &y, &m, &d) && y <= 9999;
    FUZZ_CHECK(dok == dref);
    if(dok)
        FUZZ_CHECK(day == ref_days(y, m, d));
    free(s);
    return 0;
}
