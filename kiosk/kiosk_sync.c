/* kiosk_sync.c — kiosk-sync, the nightly uploader that runs beside the kiosk app on the same device.
 *
 *   kiosk-sync --config kiosk.ini --once     upload everything pending now; exit 0 when nothing is left
 *                                            pending, 1 (with the reason) otherwise, 2 on a start-up error
 *   kiosk-sync --config kiosk.ini --daemon   run the schedule (schedule.h) until SIGTERM/SIGINT
 *
 * Start reading main(). The engine is uploader.c, the timing schedule.c; this file wires them to the config,
 * the store's sync status (what the supervisor screen shows) and the device clock checks. */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kiosk/config.h"
#include "kiosk/store.h"
#include "sync/ptime.h"
#include "sync/schedule.h"
#include "sync/uploader.h"

#define POLL_S 2                 /* how often the daemon looks for a "Đồng bộ ngay" request */
#define CLOCK_SKEW_WARN_S 300    /* device clock this far from the server's Date header is reported */
#define EXIT_PENDING 1
#define EXIT_STARTUP 2

#ifndef BUILD_UNIX_TIME
#define BUILD_UNIX_TIME 0LL
#endif

static volatile sig_atomic_t g_stop;
static int64_t g_clock_offset; /* hidden --clock-offset-s: lets tests play a device with a wrong clock */

static int64_t dev_now(void) { return (int64_t)time(NULL) + g_clock_offset; }
static int64_t dev_clock(void *ctx)
{
    (void)ctx;
    return dev_now();
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void logf_(const char *fmt, ...)
{
    char ts[PTIME_TEXT_MAX];
    ptime_format(dev_now(), PTIME_VN_OFFSET_MIN, ts);
    fprintf(stderr, "%s kiosk-sync: ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void die(const char *fmt, ...)
{
    fputs("kiosk-sync: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_STARTUP);
}

static uint32_t rnd32(void)
{
    uint32_t r;
    if(getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL) * 2654435761u ^ (uint32_t)getpid();
    return r;
}

typedef struct {
    Store *store;
    Uploader *up;
    SchedConfig sched;
    SchedState state;
} Sync;

/* The device clock checks (the ratings upload either way; the server records its own view of the skew). */
static void check_clock(StoreSyncStatus *st, const UploaderResult *res, int64_t now)
{
    /* The skew is the last one measured (a run with nothing to send does not contact the server). */
    if(res->server_date)
        st->clock_skew_s = res->server_date_local - res->server_date;
    st->clock_warning[0] = '\0';
    if(st->clock_skew_s > CLOCK_SKEW_WARN_S || st->clock_skew_s < -CLOCK_SKEW_WARN_S)
        snprintf(st->clock_warning, sizeof st->clock_warning,
                 "device clock is %lld s %s the server's; set the time (đồng hồ thiết bị bị lệch)",
                 (long long)(st->clock_skew_s < 0 ? -st->clock_skew_s : st->clock_skew_s),
                 st->clock_skew_s < 0 ? "behind" : "ahead of");
    if(now < BUILD_UNIX_TIME)
        snprintf(st->clock_warning, sizeof st->clock_warning,
                 "device clock is before this program was built; set the time (đồng hồ thiết bị sai)");
    if(st->clock_warning[0])
        logf_("warning: %s", st->clock_warning);
}

/* One attempt: upload, then record what happened in the store's sync status and the schedule. Returns the
 * number of ratings still pending (or -1 when even that cannot be read) and the reason in msg. */
static int64_t run_once(Sync *sy, UploaderErr *err_out, UploaderResult *res, char *msg, size_t msg_len)
{
    StoreSyncStatus st;
    if(store_sync_status_get(sy->store, &st) != STORE_OK)
        memset(&st, 0, sizeof st);
    st.last_attempt = dev_now();
    UploaderErr e = uploader_run(sy->up, sy->store, dev_clock, NULL, res, msg, msg_len);
    int64_t end = dev_now();
    check_clock(&st, res, end);
    if(e == UPLOADER_OK) {
        st.last_success = end;
        st.last_error[0] = '\0';
    } else {
        snprintf(st.last_error, sizeof st.last_error, "%s", msg);
    }
    sy->state.next_attempt = st.next_attempt;
    sy->state.failures = st.failures;
    sched_after_run(&sy->sched, &sy->state, end, e == UPLOADER_OK, rnd32());
    st.next_attempt = sy->state.next_attempt;
    st.failures = sy->state.failures;
    if(store_sync_status_put(sy->store, &st) != STORE_OK)
        logf_("cannot save sync status: %s", store_errmsg(sy->store));
    StoreCounts c;
    int64_t pending = store_counts(sy->store, &c) == STORE_OK ? c.pending : -1;
    if(e == UPLOADER_OK)
        logf_("%lld batches, %lld ratings sent (%lld accepted, %lld duplicate, %lld rejected); %lld pending",
              (long long)res->batches_ok, (long long)res->sent, (long long)res->accepted,
              (long long)res->duplicate, (long long)res->rejected, (long long)pending);
    else
        logf_("upload failed after %lld batches, %lld ratings sent (%lld accepted, %lld duplicate, %lld rejected): "
              "%s: %s; %lld pending; next try in %lld s",
              (long long)res->batches_ok, (long long)res->sent, (long long)res->accepted, (long long)res->duplicate,
              (long long)res->rejected, uploader_err_name(e), msg, (long long)pending,
              (long long)(st.next_attempt - end));
    *err_out = e;
    return pending;
}

static int do_once(Sync *sy)
{
    char msg[512] = "";
    UploaderErr e;
    UploaderResult res;
    int64_t pending = run_once(sy, &e, &res, msg, sizeof msg);
    /* Ratings held for their follow-up answer are released within a minute: wait for them once, so that
     * "--once" means "everything made so far". */
    if(e == UPLOADER_OK && res.held > 0 && !g_stop) {
        int64_t wait = res.held_until - dev_now() + 1;
        if(wait > 0 && wait <= UPLOADER_HOLD_S * 10) {
            logf_("waiting %lld s for %lld ratings still on their follow-up question", (long long)wait,
                  (long long)res.held);
            sleep((unsigned)wait);
        }
        pending = run_once(sy, &e, &res, msg, sizeof msg);
    }
    if(pending == 0)
        return 0;
    if(e != UPLOADER_OK)
        fprintf(stderr, "kiosk-sync: %lld ratings still pending: %s\n", (long long)pending, msg);
    else if(pending < 0)
        fprintf(stderr, "kiosk-sync: cannot count pending ratings\n");
    else
        fprintf(stderr, "kiosk-sync: %lld ratings still pending (made during the run or awaiting follow-up)\n",
                (long long)pending);
    return EXIT_PENDING;
}

static int do_daemon(Sync *sy)
{
    StoreSyncStatus st;
    if(store_sync_status_get(sy->store, &st) != STORE_OK)
        memset(&st, 0, sizeof st);
    sy->state.next_attempt = st.next_attempt;
    sy->state.failures = st.failures;
    int64_t now = dev_now();
    sched_init(&sy->sched, &sy->state, now, rnd32());
    if(st.next_attempt != sy->state.next_attempt) {
        st.next_attempt = sy->state.next_attempt;
        st.failures = sy->state.failures;
        if(store_sync_status_put(sy->store, &st) != STORE_OK)
            logf_("cannot save sync status: %s", store_errmsg(sy->store));
    }
    char when[PTIME_TEXT_MAX];
    ptime_format(sy->state.next_attempt, PTIME_VN_OFFSET_MIN, when);
    logf_("daemon started; next attempt at %s (%d failures so far)", when, (int)sy->state.failures);
    while(!g_stop) {
        now = dev_now();
        int64_t requested = 0;
        if(store_sync_requested(sy->store, &requested) != STORE_OK)
            requested = 0;
        if(sched_due(&sy->state, now, requested)) {
            if(requested)
                logf_("\"Đồng bộ ngay\" requested from the supervisor screen");
            char msg[512] = "";
            UploaderErr e;
            UploaderResult res;
            run_once(sy, &e, &res, msg, sizeof msg);
            if(requested && store_sync_request_clear(sy->store, requested) != STORE_OK)
                logf_("cannot clear the sync request: %s", store_errmsg(sy->store));
            ptime_format(sy->state.next_attempt, PTIME_VN_OFFSET_MIN, when);
            logf_("next attempt at %s", when);
        }
        for(int i = 0; i < POLL_S * 10 && !g_stop; i++) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    logf_("stopping");
    return 0;
}

static void usage(void)
{
    fputs("usage: kiosk-sync --config kiosk.ini (--once | --daemon)\n"
          "  --once    upload everything pending now; exit 0 when nothing is left pending\n"
          "            (tải lên ngay mọi đánh giá chưa gửi; mã thoát 0 khi không còn gì chờ)\n"
          "  --daemon  upload nightly at [sync] schedule + jitter, every interval_min if set, and at once when\n"
          "            \"Đồng bộ ngay\" is pressed on the supervisor screen; retries with back-off forever\n",
          stderr);
}

static long parse_long(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if(!v || errno || *end || end == v || x < lo || x > hi)
        die("%s needs a number from %ld to %ld", opt, lo, hi);
    return x;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int once = 0, daemon = 0;
    UploaderOptions opt = {0};
    for(int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if(strcmp(a, "--config") == 0 && v) {
            config_path = v;
            i++;
        } else if(strcmp(a, "--once") == 0) {
            once = 1;
        } else if(strcmp(a, "--daemon") == 0) {
            daemon = 1;
        } else if(strcmp(a, "--batch-size") == 0) { /* hidden: tests use small batches */
            opt.batch_size = (size_t)parse_long(a, v, 1, UPLOADER_MAX_BATCH);
            i++;
        } else if(strcmp(a, "--connect-timeout-ms") == 0) {
            opt.connect_timeout_ms = parse_long(a, v, 1, 600000);
            i++;
        } else if(strcmp(a, "--timeout-ms") == 0) {
            opt.total_timeout_ms = parse_long(a, v, 1, 3600000);
            i++;
        } else if(strcmp(a, "--clock-offset-s") == 0) {
            g_clock_offset = parse_long(a, v, -4000000000L, 4000000000L);
            i++;
        } else if(strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        } else {
            usage();
            return EXIT_STARTUP;
        }
    }
    if(!config_path || once + daemon != 1) {
        usage();
        return EXIT_STARTUP;
    }

    KioskConfig cfg;
    char msg[1024];
    if(config_load(config_path, &cfg, msg, sizeof msg) != CONFIG_OK)
        die("%s", msg);
    if(!cfg.sync_url[0])
        die("%s: [sync] url is not set; nothing to upload to / chưa khai báo địa chỉ máy chủ", config_path);
    char token[UPLOADER_TOKEN_MAX + 1];
    if(uploader_read_token(cfg.token_file, token, sizeof token, msg, sizeof msg) != UPLOADER_OK)
        die("%s", msg);
    if(cfg.ca_file[0] && access(cfg.ca_file, R_OK) != 0)
        die("%s: ca_file %s cannot be read (%s) / không đọc được tệp CA", config_path, cfg.ca_file, strerror(errno));
    if(strncmp(cfg.sync_url, "http://", 7) == 0 && !strstr(cfg.sync_url, "://127.") &&
       !strstr(cfg.sync_url, "://localhost") && !strstr(cfg.sync_url, "://[::1]"))
        logf_("warning: %s is plain http; ratings and the token travel unencrypted. Use https.", cfg.sync_url);

    if(curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("libcurl failed to initialise");
    Sync sy = {0};
    if(store_open(cfg.database, &sy.store, msg, sizeof msg) != STORE_OK)
        die("cannot open the store %s: %s", cfg.database, msg);
    opt.url = cfg.sync_url;
    opt.token = token;
    opt.device_id = cfg.device_id;
    opt.ca_file = cfg.ca_file;
    opt.tz_offset_min = PTIME_VN_OFFSET_MIN;
    opt.hold_s = cfg.idle_timeout_s > 0 ? cfg.idle_timeout_s + 30 : 0;
    if(uploader_new(&opt, &sy.up, msg, sizeof msg) != UPLOADER_OK)
        die("%s", msg);
    memset(token, 0, sizeof token);
    sy.sched = (SchedConfig){cfg.schedule_min, cfg.jitter_min, cfg.interval_min, PTIME_VN_OFFSET_MIN};

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = once ? do_once(&sy) : do_daemon(&sy);
    uploader_free(sy.up);
    store_close(sy.store);
    curl_global_cleanup();
    return rc;
}
