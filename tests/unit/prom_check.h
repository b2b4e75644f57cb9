/* prom_check.h — a strict reader of the Prometheus text exposition format 0.0.4, for the tests of
 * GET /metrics: every line is a # HELP, a # TYPE (counter|gauge) declared once and before its samples, or a
 * sample `name{label="value",...} number` with valid names, correctly escaped label values and no label
 * twice; the text ends with a line feed. */
#ifndef TESTS_PROM_CHECK_H
#define TESTS_PROM_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* True when text is valid; otherwise false with the line and reason in why. */
bool prom_valid(const char *text, char *why, size_t why_len);
/* The value of the sample whose name and label set are exactly series (e.g. `a_total{route="x",code="200"}`,
 * labels in the order written); -1 when absent. */
double prom_value(const char *text, const char *series);

#endif
