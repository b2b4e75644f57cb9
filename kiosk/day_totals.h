/* day_totals.h — one Asia/Ho_Chi_Minh day's counts at this kiosk, per area, scale and score.
 *
 * A plain value: the store fills it (store_day_totals), the supervisor screen and kiosk-report show it. It
 * lives here, apart from both, so the UI can show it without knowing the store. Flagged ratings (misuse)
 * are counted only in flagged[], never in n or satisfied (../shared/reference/metric.md). */
#ifndef KIOSK_DAY_TOTALS_H
#define KIOSK_DAY_TOTALS_H

#include <stdint.h>

#include "sync/protocol.h"

typedef struct {
    int64_t count[AREA_COUNT][SCALE_COUNT][PROTO_MAX_LEVELS + 1]; /* [area][scale][score] */
    int64_t n[AREA_COUNT];          /* unflagged ratings per area */
    int64_t satisfied[AREA_COUNT];  /* unflagged satisfied ratings per area */
    int64_t flagged[AREA_COUNT];
    int64_t total, total_satisfied, total_flagged;
} DayTotals;

#endif
