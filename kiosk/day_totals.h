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
    /* The later questions' answers of unflagged ratings, any area (a rating without the answer is not in n):
     * the service face (group phuc_vu) and "waited within 30 minutes" (duoi_15 + 15_30 of the answered). */
    int64_t service_count[SCALE_COUNT][PROTO_MAX_LEVELS + 1];
    int64_t service_n, service_satisfied;
    int64_t wait_count[WAIT_COUNT];
    int64_t wait_n, wait_within_30;
} DayTotals;

#endif
