/* ptime.c — RFC 3339 parsing/formatting and Asia/Ho_Chi_Minh days. See ptime.h. */
#include "sync/ptime.h"

#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar. */
int64_t ptime_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ptime_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if(m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* Reads exactly n decimal digits. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for(int i = 0; i < n; i++) {
        if(s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_date_part(const char *s, int *y, int *m, int *d)
{
    if(!digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, m) || s[7] != '-' || !digits(s + 8, 2, d))
        return false;
    return *y >= 1970 && *y <= 9999 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= days_in_month(*y, *m);
}

bool ptime_parse(const char *s, int64_t *unix_s, int *offset_min)
{
    int y, mo, d, h, mi, se;
    if(!s || strlen(s) >= PTIME_TEXT_MAX || !parse_date_part(s, &y, &mo, &d))
        return false;
    if((s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
       s[16] != ':' || !digits(s + 17, 2, &se))
        return false;
    if(h > 23 || mi > 59 || se > 59)
        return false;
    const char *p = s + 19;
    if(*p == '.') {
        p++;
        if(*p < '0' || *p > '9')
            return false;
        while(*p >= '0' && *p <= '9')
            p++;
    }
    int off;
    if((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        off = 0;
    }
    else if((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if(!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    }
    else {
        return false;
    }
    int64_t t = ptime_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - (int64_t)off * 60;
    int64_t day = ptime_vn_day(t);
    if(day < PTIME_DAY_MIN || day > PTIME_DAY_MAX) /* a day no tally can ask for */
        return false;
    *unix_s = t;
    *offset_min = off;
    return true;
}

void ptime_format(int64_t unix_s, int offset_min, char out[PTIME_TEXT_MAX])
{
    int64_t local = unix_s + (int64_t)offset_min * 60;
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sec = local - day * 86400;
    int y, m, d;
    ptime_civil_from_days(day, &y, &m, &d);
    int a = offset_min < 0 ? -offset_min : offset_min;
    snprintf(out, PTIME_TEXT_MAX, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m, d, (int)(sec / 3600),
             (int)(sec % 3600 / 60), (int)(sec % 60), offset_min < 0 ? '-' : '+', a / 60, a % 60);
}

int64_t ptime_vn_day(int64_t unix_s)
{
    int64_t local = unix_s + PTIME_VN_OFFSET_MIN * 60;
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

int64_t ptime_vn_day_start(int64_t day)
{
    return day * 86400 - PTIME_VN_OFFSET_MIN * 60;
}

bool ptime_parse_date(const char *s, int64_t *day)
{
    int y, m, d;
    if(!s || strlen(s) != 10 || !parse_date_part(s, &y, &m, &d))
        return false;
    *day = ptime_days_from_civil(y, m, d);
    return true;
}

void ptime_format_date(int64_t day, char out[PTIME_DATE_LEN])
{
    int y, m, d;
    ptime_civil_from_days(day, &y, &m, &d);
    snprintf(out, PTIME_DATE_LEN, "%04d-%02d-%02d", y, m, d);
}
