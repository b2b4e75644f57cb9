/* sync_agent.c — kiosk-sync's runs on the device (see sync_agent.h). Start reading at sync_agent_run(): the
 * upload through the store queue (first section), the status the supervisor screen reads, the retention
 * prune; then --once and the daemon loop. */
#include "kiosk/sync_agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/ptime.h"

/* ---- The store as the uploader's queue ---------------------------------------------------------------- */

typedef struct {
    UploaderQueue q;
    Store *store;
    StoreQueued buf[UPLOADER_MAX_BATCH];
    const char *ids[UPLOADER_MAX_BATCH];
    int64_t revs[UPLOADER_MAX_BATCH];
} StoreQueue;

static bool q_fail(Store *s, char *msg, size_t msg_len)
{
    snprintf(msg, msg_len, "%s", store_errmsg(s));
    return false;
}

static bool q_next(void *ctx, int64_t now, UploaderItem *out, size_t limit, size_t *n, char *msg, size_t msg_len)
{
    StoreQueue *sq = ctx;
    if(limit > UPLOADER_MAX_BATCH)
        limit = UPLOADER_MAX_BATCH;
    if(store_queue_next(sq->store, now, sq->buf, limit, n) != STORE_OK)
        return q_fail(sq->store, msg, msg_len);
    for(size_t i = 0; i < *n; i++)
        out[i] = (UploaderItem){.rating = sq->buf[i].r, .version = sq->buf[i].rev};
    return true;
}

static bool q_acked(void *ctx, const UploaderItem *items, size_t n, int64_t now, size_t *changed, char *msg,
                    size_t msg_len)
{
    StoreQueue *sq = ctx;
    if(n > UPLOADER_MAX_BATCH)
        n = UPLOADER_MAX_BATCH;
    for(size_t i = 0; i < n; i++) {
        sq->ids[i] = items[i].rating.id;
        sq->revs[i] = items[i].version;
    }
    return store_mark_acked(sq->store, sq->ids, sq->revs, n, now, changed) == STORE_OK ||
           q_fail(sq->store, msg, msg_len);
}

static bool q_rejected(void *ctx, const UploaderItem *item, const char *reason, int64_t now, bool *changed,
                       char *msg, size_t msg_len)
{
    StoreQueue *sq = ctx;
    StoreErr e = store_mark_rejected(sq->store, item->rating.id, item->version, reason, now, changed);
    return e == STORE_OK || e == STORE_NOTFOUND || q_fail(sq->store, msg, msg_len);
}

static bool q_held(void *ctx, int64_t now, int64_t *n, char *msg, size_t msg_len)
{
    StoreQueue *sq = ctx;
    return store_queue_held(sq->store, now, INT64_MAX, n) == STORE_OK || q_fail(sq->store, msg, msg_len);
}

static bool q_restored(void *ctx, int64_t epoch, int64_t since, int64_t *n, char *msg, size_t msg_len)
{
    StoreQueue *sq = ctx;
    return store_server_restored(sq->store, epoch, since, n) == STORE_OK || q_fail(sq->store, msg, msg_len);
}

UploaderQueue *sync_queue_new(Store *s)
{
    StoreQueue *sq = calloc(1, sizeof *sq);
    if(!sq)
        return NULL;
    sq->store = s;
    sq->q = (UploaderQueue){.ctx = sq, .next = q_next, .acked = q_acked, .rejected = q_rejected, .held = q_held,
                           .restored = q_restored};
    return &sq->q;
}

void sync_queue_free(UploaderQueue *q)
{
    free(q ? q->ctx : NULL);
}

/* ---- Runs --------------------------------------------------------------------------------------------- */

struct SyncAgent {
    SyncAgentConfig cfg;
    UploaderQueue *queue;
    SchedState state;
};

static void say(const SyncAgent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const SyncAgent *a, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if(a->cfg.env.log)
        a->cfg.env.log(a->cfg.env.ctx, line);
}

static int64_t now_of(const SyncAgent *a) { return a->cfg.env.now(a->cfg.env.ctx); }
static int64_t uploader_clock(void *ctx) { return now_of(ctx); }
static bool stopping(const SyncAgent *a) { return a->cfg.env.stopping && a->cfg.env.stopping(a->cfg.env.ctx); }

SyncAgent *sync_agent_new(const SyncAgentConfig *cfg)
{
    SyncAgent *a = calloc(1, sizeof *a);
    if(!a)
        return NULL;
    a->cfg = *cfg;
    if(!(a->queue = sync_queue_new(cfg->store))) {
        free(a);
        return NULL;
    }
    return a;
}

void sync_agent_free(SyncAgent *a)
{
    if(!a)
        return;
    sync_queue_free(a->queue);
    free(a);
}

/* The device clock checks (the ratings upload either way; the server records its own view of the skew). */
static void check_clock(const SyncAgent *a, StoreSyncStatus *st, const UploaderResult *res, int64_t now)
{
    /* The skew is the last one measured (a run with nothing to send does not contact the server). */
    if(res->server_date)
        st->clock_skew_s = res->server_date_local - res->server_date;
    st->clock_warning[0] = '\0';
    if(st->clock_skew_s > SYNC_CLOCK_SKEW_WARN_S || st->clock_skew_s < -SYNC_CLOCK_SKEW_WARN_S)
        snprintf(st->clock_warning, sizeof st->clock_warning,
                 "device clock is %lld s %s the server's; set the time (đồng hồ thiết bị bị lệch)",
                 (long long)(st->clock_skew_s < 0 ? -st->clock_skew_s : st->clock_skew_s),
                 st->clock_skew_s < 0 ? "behind" : "ahead of");
    if(now < a->cfg.build_time)
        snprintf(st->clock_warning, sizeof st->clock_warning,
                 "device clock is before this program was built; set the time (đồng hồ thiết bị sai)");
    if(st->clock_warning[0])
        say(a, "warning: %s", st->clock_warning);
}

/* Retention after a successful run: acknowledged ratings older than keep_days go, in small transactions. */
static void prune(const SyncAgent *a, int64_t now)
{
    if(a->cfg.keep_days <= 0)
        return;
    int64_t gone = 0;
    if(store_prune(a->cfg.store, a->cfg.keep_days, now, &gone) != STORE_OK)
        say(a, "cannot prune old ratings: %s", store_errmsg(a->cfg.store));
    else if(gone > 0)
        say(a, "pruned %lld acknowledged ratings older than %d days", (long long)gone, a->cfg.keep_days);
}

int64_t sync_agent_run(SyncAgent *a, UploaderErr *err_out, UploaderResult *res, char *msg, size_t msg_len)
{
    Store *s = a->cfg.store;
    StoreSyncStatus st;
    if(store_sync_status_get(s, &st) != STORE_OK)
        memset(&st, 0, sizeof st);
    st.last_attempt = now_of(a);
    UploaderErr e = uploader_run(a->cfg.up, a->queue, uploader_clock, a, res, msg, msg_len);
    int64_t end = now_of(a);
    check_clock(a, &st, res, end);
    if(e == UPLOADER_OK) {
        st.last_success = end;
        st.last_error[0] = '\0';
    } else if(e != UPLOADER_E_RETRY_AFTER) { /* a busy server is not an error of this kiosk */
        snprintf(st.last_error, sizeof st.last_error, "%s", msg);
    }
    a->state.next_attempt = st.next_attempt;
    a->state.failures = st.failures;
    if(e == UPLOADER_E_RETRY_AFTER) /* come back when the server said, without growing the back-off */
        sched_retry_after(&a->state, end, res->retry_after_s);
    else
        sched_after_run(&a->cfg.sched, &a->state, end, e == UPLOADER_OK, a->cfg.env.random(a->cfg.env.ctx));
    st.next_attempt = a->state.next_attempt;
    st.failures = a->state.failures;
    if(store_sync_status_put(s, &st) != STORE_OK)
        say(a, "cannot save sync status: %s", store_errmsg(s));
    if(e == UPLOADER_OK)
        prune(a, end);
    int64_t pending = -1, rejected;
    if(store_backlog(s, &pending, &rejected) != STORE_OK)
        pending = -1;
    if(res->resent_after_restore) /* docs/operations.md, Backups and restore */
        say(a, "the server was restored from a backup: %lld ratings it may lack are queued again / máy chủ đã khôi "
               "phục từ bản sao lưu: gửi lại %lld đánh giá", (long long)res->resent_after_restore,
            (long long)res->resent_after_restore);
    if(e == UPLOADER_E_RETRY_AFTER)
        say(a, "%lld batches, %lld ratings sent (%lld accepted, %lld duplicate, %lld rejected); the server is busy "
               "and asked to come back in %lld s / máy chủ bận; %lld pending",
            (long long)res->batches_ok, (long long)res->sent, (long long)res->accepted, (long long)res->duplicate,
            (long long)res->rejected, (long long)res->retry_after_s, (long long)pending);
    else if(e == UPLOADER_OK)
        say(a, "%lld batches, %lld ratings sent (%lld accepted, %lld duplicate, %lld rejected, %lld changed while "
               "sent and queued again); %lld pending, %lld held for questions still on screen",
            (long long)res->batches_ok, (long long)res->sent, (long long)res->accepted, (long long)res->duplicate,
            (long long)res->rejected, (long long)res->changed, (long long)pending, (long long)res->held);
    else
        say(a, "upload failed after %lld batches, %lld ratings sent (%lld accepted, %lld duplicate, %lld rejected): "
               "%s: %s; %lld pending; next try in %lld s",
            (long long)res->batches_ok, (long long)res->sent, (long long)res->accepted, (long long)res->duplicate,
            (long long)res->rejected, uploader_err_name(e), msg, (long long)pending,
            (long long)(st.next_attempt - end));
    *err_out = e;
    return pending;
}

/* Waits while ratings made before `started` are held for an open follow-up screen. True when none is held
 * any more; false when stopped or the store cannot tell. */
static bool wait_for_followups(SyncAgent *a, int64_t started)
{
    int64_t held = 0;
    bool said = false;
    for(;;) {
        if(store_queue_held(a->cfg.store, now_of(a), started, &held) != STORE_OK) {
            say(a, "cannot count held ratings: %s", store_errmsg(a->cfg.store));
            return false;
        }
        if(held == 0)
            return true;
        if(stopping(a))
            return false;
        if(!said)
            say(a, "waiting for %lld ratings whose later questions are still open on the kiosk screen",
                (long long)held);
        said = true;
        a->cfg.env.sleep_ms(a->cfg.env.ctx, SYNC_POLL_MS);
    }
}

int sync_agent_once(SyncAgent *a)
{
    char msg[512] = "";
    UploaderErr e;
    UploaderResult res;
    int64_t started = now_of(a) + 1; /* ratings made up to now, this second included */
    int64_t pending, waited = 0;
    bool followups_waited = false;
    for(;;) {
        pending = sync_agent_run(a, &e, &res, msg, sizeof msg);
        if(stopping(a))
            break;
        /* The server is busy and said when to come back: wait that long and go on, within SYNC_ONCE_RETRY_MAX_S. */
        if(e == UPLOADER_E_RETRY_AFTER) {
            if(waited + res.retry_after_s > SYNC_ONCE_RETRY_MAX_S) {
                snprintf(msg, sizeof msg, "the server is still busy after %lld s of waiting as it asked (--once waits "
                         "at most %d s; the daemon keeps trying) / máy chủ vẫn bận", (long long)waited,
                         SYNC_ONCE_RETRY_MAX_S);
                break;
            }
            a->cfg.env.sleep_ms(a->cfg.env.ctx, res.retry_after_s * 1000);
            waited += res.retry_after_s;
            continue;
        }
        /* "--once" means everything made so far: wait for the follow-ups still on screen, then send them. */
        if(e == UPLOADER_OK && res.held > 0 && !followups_waited) {
            followups_waited = true;
            if(wait_for_followups(a, started))
                continue;
        }
        break;
    }
    if(pending == 0)
        return 0;
    if(e != UPLOADER_OK)
        say(a, "%lld ratings still pending: %s", (long long)pending, msg);
    else if(pending < 0)
        say(a, "cannot count pending ratings");
    else
        say(a, "%lld ratings still pending (made during the run or awaiting follow-up)", (long long)pending);
    return 1;
}

int sync_agent_daemon(SyncAgent *a)
{
    Store *s = a->cfg.store;
    StoreSyncStatus st;
    if(store_sync_status_get(s, &st) != STORE_OK)
        memset(&st, 0, sizeof st);
    a->state.next_attempt = st.next_attempt;
    a->state.failures = st.failures;
    int64_t now = now_of(a);
    sched_init(&a->cfg.sched, &a->state, now, a->cfg.env.random(a->cfg.env.ctx));
    char when[PTIME_TEXT_MAX];
    ptime_format(a->state.next_attempt, PTIME_VN_OFFSET_MIN, when);
    say(a, "daemon started; next attempt at %s (%d failures so far)", when, (int)a->state.failures);
    bool first = true;
    while(!stopping(a)) {
        now = now_of(a);
        /* The clock may be corrected while we run: a slot planned too far ahead is planned again. */
        bool replanned = sched_clamp(&a->cfg.sched, &a->state, now, a->cfg.env.random(a->cfg.env.ctx));
        if(replanned || (first && st.next_attempt != a->state.next_attempt)) {
            if(store_sync_status_get(s, &st) != STORE_OK)
                memset(&st, 0, sizeof st);
            st.next_attempt = a->state.next_attempt;
            st.failures = a->state.failures;
            if(store_sync_status_put(s, &st) != STORE_OK)
                say(a, "cannot save sync status: %s", store_errmsg(s));
            if(replanned) {
                ptime_format(a->state.next_attempt, PTIME_VN_OFFSET_MIN, when);
                say(a, "the next attempt was planned too far ahead (clock corrected?); now at %s", when);
            }
        }
        first = false;
        int64_t requested = 0;
        if(store_sync_requested(s, &requested) != STORE_OK)
            requested = 0;
        if(sched_due(&a->state, now, requested)) {
            if(requested)
                say(a, "\"Đồng bộ ngay\" requested from the supervisor screen");
            char msg[512] = "";
            UploaderErr e;
            UploaderResult res;
            sync_agent_run(a, &e, &res, msg, sizeof msg);
            if(requested && store_sync_request_clear(s, requested) != STORE_OK)
                say(a, "cannot clear the sync request: %s", store_errmsg(s));
            ptime_format(a->state.next_attempt, PTIME_VN_OFFSET_MIN, when);
            say(a, "next attempt at %s", when);
        }
        a->cfg.env.sleep_ms(a->cfg.env.ctx, SYNC_POLL_MS);
    }
    say(a, "stopping");
    return 0;
}
