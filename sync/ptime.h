/* ptime.h — wire times and reporting days.
 *
 * A rating's time travels as RFC 3339 local time with its offset ("2026-11-22T08:15:02+07:00").
 * The day a rating counts for is its day in Asia/Ho_Chi_Minh (UTC+07:00, no daylight saving),
 * whatever offset it was written with (docs/protocol.md, ../shared/reference/metric.md).
 * Pure functions: no clock is read here, nothing is allocated. */
#ifndef SYNC_PTIME_H
#define SYNC_PTIME_H

#include <stdbool.h>
#include <stdint.h>

#define PTIME_VN_OFFSET_MIN (7 * 60) /* Asia/Ho_Chi_Minh */
#define PTIME_TEXT_MAX 40            /* longest accepted RFC 3339 text + NUL */
#define PTIME_DATE_LEN 11            /* "YYYY-MM-DD" + NUL */

/* The reporting days a time may fall on: 1970-01-01 .. 9999-12-31 in Asia/Ho_Chi_Minh (day numbers). */
#define PTIME_DAY_MIN 0
#define PTIME_DAY_MAX 2932896

/* Parses RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM). 'T' may be 't'; seconds 0-59 (no
 * leap seconds); the date must exist; years 1970-9999, and the instant's Asia/Ho_Chi_Minh day must be within
 * PTIME_DAY_MIN..PTIME_DAY_MAX too (9999-12-31T23:59:59-23:59 is 10000-01-02 in Vietnam: refused). On success
 * fills *unix_s (UTC seconds; the fraction is dropped) and *offset_min (0 for Z); returns false and leaves
 * both untouched otherwise. */
bool ptime_parse(const char *text, int64_t *unix_s, int *offset_min);

/* Writes "YYYY-MM-DDTHH:MM:SS+HH:MM" (always a numeric offset) into out[PTIME_TEXT_MAX]. */
void ptime_format(int64_t unix_s, int offset_min, char out[PTIME_TEXT_MAX]);

/* Days since 1970-01-01 of the civil date y-m-d (proleptic Gregorian), and back. */
int64_t ptime_days_from_civil(int y, int m, int d);
void ptime_civil_from_days(int64_t days, int *y, int *m, int *d);

/* The Asia/Ho_Chi_Minh day number (days since 1970-01-01 local) of an instant. */
int64_t ptime_vn_day(int64_t unix_s);

/* Parses "YYYY-MM-DD" (a real date) into a day number; false when malformed. */
bool ptime_parse_date(const char *text, int64_t *day);
/* Writes "YYYY-MM-DD" for a day number into out[PTIME_DATE_LEN]. */
void ptime_format_date(int64_t day, char out[PTIME_DATE_LEN]);

/* UTC instant at which local (VN) day `day` starts: day * 86400 - 7 h. */
int64_t ptime_vn_day_start(int64_t day);

#endif
