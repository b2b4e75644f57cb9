/* kiosk_sync.c — kiosk-sync, the nightly uploader that runs beside the kiosk app on the same device.
 *
 *   kiosk-sync --config kiosk.ini --once     upload everything pending now; exit 0 when nothing is left
 *                                            pending, 1 (with the reason) otherwise, 2 on a start-up error
 *   kiosk-sync --config kiosk.ini --daemon   run the schedule (schedule.h) until SIGTERM/SIGINT
 *
 * Start reading main(). The engine is sync/uploader.c, the timing sync/schedule.c, and sync_agent.c runs them
 * on the store (the status the supervisor screen shows, the clock checks, retention, --once and the daemon);
 * this file reads the config and the token and gives the agent the real clock, sleep and signals. */
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
#include "kiosk/sync_agent.h"
#include "sync/ptime.h"
#include "sync/uploader.h"

#define EXIT_STARTUP 2

#ifndef BUILD_UNIX_TIME
#define BUILD_UNIX_TIME 0LL
#endif

static volatile sig_atomic_t g_stop;
static int64_t g_clock_offset; /* hidden --clock-offset-s: lets tests play a device with a wrong clock */

static int64_t dev_now(void) { return (int64_t)time(NULL) + g_clock_offset; }

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
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

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
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

/* ---- The injected environment: the real clock, sleep and signals ----------------------------------------- */

static int64_t env_now(void *ctx)
{
    (void)ctx;
    return dev_now();
}

static void env_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    /* In short steps, so SIGTERM stops the daemon (or a --once waiting for a follow-up) promptly. */
    for(int64_t slept = 0; slept < ms && !g_stop; slept += 100) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static bool env_stopping(void *ctx)
{
    (void)ctx;
    return g_stop != 0;
}

static uint32_t env_random(void *ctx)
{
    (void)ctx;
    return rnd32();
}

static void env_log(void *ctx, const char *line)
{
    (void)ctx;
    logf_("%s", line);
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
    SyncAgentConfig ac = {
        .sched = {cfg.schedule_min, cfg.jitter_min, cfg.interval_min, PTIME_VN_OFFSET_MIN},
        .keep_days = cfg.keep_days,
        .build_time = BUILD_UNIX_TIME,
        .env = {.now = env_now, .sleep_ms = env_sleep, .stopping = env_stopping, .random = env_random,
                .log = env_log},
    };
    if(store_open(cfg.database, &ac.store, msg, sizeof msg) != STORE_OK)
        die("cannot open the store %s: %s", cfg.database, msg);
    opt.url = cfg.sync_url;
    opt.token = token;
    opt.device_id = cfg.device_id;
    opt.ca_file = cfg.ca_file;
    opt.tz_offset_min = PTIME_VN_OFFSET_MIN;
    if(uploader_new(&opt, &ac.up, msg, sizeof msg) != UPLOADER_OK)
        die("%s", msg);
    memset(token, 0, sizeof token);
    SyncAgent *agent = sync_agent_new(&ac);
    if(!agent)
        die("out of memory");

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = once ? sync_agent_once(agent) : sync_agent_daemon(agent);
    sync_agent_free(agent);
    uploader_free(ac.up);
    store_close(ac.store);
    curl_global_cleanup();
    return rc;
}
