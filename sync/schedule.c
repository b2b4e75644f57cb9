/* schedule.c — see schedule.h. No clock, no randomness, no I/O here: callers pass them in. */
#include "sync/schedule.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t sched_next_nightly(const SchedConfig *c, int64_t now, uint32_t rnd)
{
    int64_t off = (int64_t)c->tz_offset_min * 60;
    int64_t local = now + off;
    int64_t day = floor_div(local, 86400);
    int64_t jitter_span = c->jitter_min > 0 ? (int64_t)c->jitter_min * 60 + 1 : 1;
    int64_t jitter = (int64_t)(rnd % (uint64_t)jitter_span);
    /* Today's slot if it is still ahead, else tomorrow's. The jitter is drawn once and added to the chosen
     * base time, so the slot is always after `now`. */
    int64_t base = day * 86400 + (int64_t)c->schedule_min * 60 - off;
    if(base + jitter <= now)
        base += 86400;
    return base + jitter;
}

int64_t sched_next_planned(const SchedConfig *c, int64_t now, uint32_t rnd)
{
    int64_t t = sched_next_nightly(c, now, rnd);
    if(c->interval_min > 0) {
        int64_t iv = now + (int64_t)c->interval_min * 60;
        if(iv < t)
            t = iv;
    }
    return t;
}

int64_t sched_backoff_delay(int32_t failures, uint32_t rnd)
{
    int64_t d = SCHED_BACKOFF_MIN_S;
    for(int32_t i = 1; i < failures && d < SCHED_BACKOFF_MAX_S; i++)
        d *= 2;
    if(d > SCHED_BACKOFF_MAX_S)
        d = SCHED_BACKOFF_MAX_S;
    int64_t lo = d / 2 < SCHED_BACKOFF_MIN_S ? SCHED_BACKOFF_MIN_S : d / 2;
    if(lo > d)
        lo = d;
    return lo + (int64_t)(rnd % (uint64_t)(d - lo + 1));
}

int64_t sched_max_ahead(const SchedConfig *c)
{
    return 86400 + (c->jitter_min > 0 ? (int64_t)c->jitter_min * 60 : 0);
}

bool sched_clamp(const SchedConfig *c, SchedState *st, int64_t now, uint32_t rnd)
{
    if(st->next_attempt <= now + sched_max_ahead(c))
        return false;
    st->next_attempt = st->failures > 0 ? now + sched_backoff_delay(st->failures, rnd) : sched_next_planned(c, now, rnd);
    return true;
}

void sched_init(const SchedConfig *c, SchedState *st, int64_t now, uint32_t rnd)
{
    if(st->failures < 0)
        st->failures = 0;
    if(st->next_attempt <= 0)
        st->next_attempt = sched_next_planned(c, now, rnd);
    else
        sched_clamp(c, st, now, rnd);
}

void sched_after_run(const SchedConfig *c, SchedState *st, int64_t now, bool ok, uint32_t rnd)
{
    if(ok) {
        st->failures = 0;
        st->next_attempt = sched_next_planned(c, now, rnd);
    } else {
        if(st->failures < INT32_MAX)
            st->failures++;
        st->next_attempt = now + sched_backoff_delay(st->failures, rnd);
    }
}

bool sched_due(const SchedState *st, int64_t now, int64_t requested_at)
{
    return requested_at != 0 || now >= st->next_attempt;
}

void sched_retry_after(SchedState *st, int64_t now, int64_t delay_s)
{
    if(delay_s < 1)
        delay_s = 1;
    if(delay_s > SCHED_BACKOFF_MAX_S)
        delay_s = SCHED_BACKOFF_MAX_S;
    st->next_attempt = now + delay_s;
}
