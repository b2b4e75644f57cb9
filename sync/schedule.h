/* schedule.h — when kiosk-sync tries next.
 *
 * Pure arithmetic with an injected clock and injected random numbers, so every rule is testable:
 *   - nightly at the configured local time (Asia/Ho_Chi_Minh) plus a random delay up to jitter_min, so a
 *     province of kiosks does not arrive at the server at once;
 *   - optionally every interval_min as well;
 *   - after a failed attempt, exponential back-off with "equal jitter": 1 min, then 1-2 min, 2-4 min, … up to
 *     30-60 min, and it stays there forever (never gives up);
 *   - a "Đồng bộ ngay" request from the supervisor screen makes a run due at once, whatever the back-off says.
 * The state (next_attempt, failures) is what kiosk-sync persists in the store's sync status, so back-off
 * survives restarts; a next_attempt in the past (the kiosk was off at night) makes a run due at start, and one
 * further ahead than a day plus the jitter (planned while the clock was ahead, then corrected) is planned
 * again, so a wrong clock can never stop the nightly upload. */
#ifndef SYNC_SCHEDULE_H
#define SYNC_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#define SCHED_BACKOFF_MIN_S 60     /* first retry after a failure */
#define SCHED_BACKOFF_MAX_S 3600   /* the back-off never grows past one hour */

typedef struct {
    int schedule_min;   /* nightly time, minutes after local midnight (0..1439) */
    int jitter_min;     /* random extra delay after the nightly time, 0..jitter_min minutes */
    int interval_min;   /* 0 = off; else also run this many minutes after the last attempt */
    int tz_offset_min;  /* local offset from UTC; PTIME_VN_OFFSET_MIN for the kiosks */
} SchedConfig;

typedef struct {
    int64_t next_attempt; /* unix seconds; 0 = not planned yet */
    int32_t failures;     /* consecutive failed attempts */
} SchedState;

/* The first nightly slot strictly after `now`: the next local schedule time plus rnd % (jitter_min*60 + 1)
 * seconds. */
int64_t sched_next_nightly(const SchedConfig *c, int64_t now, uint32_t rnd);

/* The planned next attempt after a successful run at `now`: the next nightly slot, or now + interval_min
 * when that comes first. */
int64_t sched_next_planned(const SchedConfig *c, int64_t now, uint32_t rnd);

/* Back-off delay in seconds after `failures` (>= 1) consecutive failures: with d = min(60 * 2^(failures-1),
 * 3600), a value in [max(d/2, 60), d]. */
int64_t sched_backoff_delay(int32_t failures, uint32_t rnd);

/* How far ahead of now a planned attempt may lie: one day plus the jitter. Nothing this module plans is
 * further; a stored time further ahead came from a clock that was wrong. */
int64_t sched_max_ahead(const SchedConfig *c);

/* Plans again when next_attempt lies more than sched_max_ahead() after now: the back-off's next try when the
 * last run failed, else the next planned slot. True when it changed anything. */
bool sched_clamp(const SchedConfig *c, SchedState *st, int64_t now, uint32_t rnd);

/* Loaded state at start-up: plans the next nightly slot when none is stored (next_attempt == 0). A stored
 * past time is kept (a missed run that is now due); a stored future time is kept unless sched_clamp
 * refuses it. */
void sched_init(const SchedConfig *c, SchedState *st, int64_t now, uint32_t rnd);

/* Records the outcome of a run that ended at `now`: success resets failures and plans the next slot;
 * failure counts it and backs off. */
void sched_after_run(const SchedConfig *c, SchedState *st, int64_t now, bool ok, uint32_t rnd);

/* Records a run that the server turned away with Retry-After (it is busy, nothing is wrong here): the next
 * attempt is delay_s (clamped to 1..SCHED_BACKOFF_MAX_S) after `now`, and the failure count is unchanged,
 * so the back-off does not grow for it. */
void sched_retry_after(SchedState *st, int64_t now, int64_t delay_s);

/* True when a run should start now: the planned time has come, or a "sync now" request is waiting
 * (requested_at != 0). */
bool sched_due(const SchedState *st, int64_t now, int64_t requested_at);

#endif
