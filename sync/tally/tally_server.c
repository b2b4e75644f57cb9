/* tally-server — the central ingest and tally API (docs/protocol.md).
 *
 *   tally-server --db FILE [--listen ADDR:PORT] [--threads N] [--tls-cert CERT.pem --tls-key KEY.pem]
 *                [--per-ip-limit N] [--connection-limit N] [--metrics-allow ADDR[/PREFIX][,..]] [--login-slow-s N]
 *                [--trusted-proxy ADDR[/PREFIX][,..]]
 *   (for tests and benches: --header-timeout-s N, --queue-max N, --body-budget-mib N, --writer-stuck-s N)
 *
 * Serves the kiosks' uploads, the read API and the dashboard (tally_web.h) on the same port.
 *
 * Prints "tally-server: listening on http://ADDR:PORT" (https:// with --tls-cert/--tls-key) on stdout once it
 * serves (port 0 picks a free port, which tests rely on), logs one line per request on stderr, and stops
 * cleanly on SIGINT or SIGTERM (tally_http_stop: the door closes, requests begun finish within 20 s, queued
 * batches are written, the database is closed; exit 0). A certificate or key that cannot be read or used
 * stops it at start-up with the reason (exit 2).
 *
 * Under systemd (Type=notify) it says READY=1 once it serves and STOPPING=1 when asked to stop; with
 * WatchdogSec= it sends WATCHDOG=1 every third of that period, but only while tally_http_alive(): the writer
 * thread runs and is not stuck, and a worker's database connection can be had and read. A wedged server is
 * so restarted. Without systemd these are no-ops. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "sync/tally/tally_http.h"
#include "sync/tally/tally_metrics.h"
#include "sync/tally/tally_pg.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: tally-server --db FILE [--listen ADDR:PORT] [--threads N] [--tls-cert CERT.pem "
               "--tls-key KEY.pem]\n"
               "  --listen   default %s; IPv6 as [::1]:8080; port 0 picks a free port\n"
               "  --threads  worker threads (default %d)\n"
               "  --login-slow-s  seconds between dashboard sign-in attempts once a name or address is slowed\n"
               "             by wrong passwords (default 5)\n"
               "  --tls-cert PEM certificate (chain, server first) and --tls-key its unencrypted PEM key:\n"
               "             serve HTTPS only. Without them: plain HTTP (loopback, or behind a TLS proxy)\n"
               "  --per-ip-limit N      connections from one address (default 64; 0 = no limit: behind a proxy)\n"
               "  --connection-limit N  connections at once (default 2000)\n"
               "  --metrics-allow L     addresses/ranges that may GET /metrics, comma separated (default %s)\n"
               "  --trusted-proxy L     reverse proxies (nginx) whose X-Forwarded-For names the client for the\n"
               "                        sign-in lockout, audit and log (default none: the header is ignored)\n"
               "Cách dùng: tally-server --db TỆP [--listen ĐỊA_CHỈ:CỔNG] [--tls-cert CHỨNG_CHỈ.pem --tls-key "
               "KHOÁ.pem]\n"
               "  --tls-cert/--tls-key: phục vụ qua HTTPS bằng chứng chỉ và khoá riêng (PEM, khoá không mã hoá)\n",
            TALLY_HTTP_DEFAULT_LISTEN, TALLY_HTTP_THREADS_DEFAULT, TALLY_METRICS_ALLOW_DEFAULT);
}

static void die(const char *fmt, const char *arg) __attribute__((noreturn));
static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "tally-server: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

/* A whole number lo..hi, or exit 2 naming the option. */
static long number(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);
    if(!*v || *end || n < lo || n > hi) {
        fprintf(stderr, "tally-server: %s must be a whole number %ld-%ld / %s phải là số nguyên %ld-%ld (got %s)\n",
                opt, lo, hi, opt, lo, hi, v);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    TallyHttpConfig cfg = {.listen = TALLY_HTTP_DEFAULT_LISTEN};
    for(int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if(strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if(i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if(strcmp(a, "--db") == 0)
            cfg.db_path = argv[++i];
        else if(strcmp(a, "--listen") == 0)
            cfg.listen = argv[++i];
        else if(strcmp(a, "--tls-cert") == 0)
            cfg.tls_cert = argv[++i];
        else if(strcmp(a, "--tls-key") == 0)
            cfg.tls_key = argv[++i];
        else if(strcmp(a, "--login-slow-s") == 0)
            cfg.login_slow_s = (int)number(a, argv[++i], 1, 3600);
        else if(strcmp(a, "--threads") == 0)
            cfg.threads = (unsigned)number(a, argv[++i], 1, 64);
        else if(strcmp(a, "--per-ip-limit") == 0) {
            long n = number(a, argv[++i], 0, 100000);
            cfg.per_ip_limit = n ? (unsigned)n : TALLY_HTTP_NO_LIMIT;
        } else if(strcmp(a, "--connection-limit") == 0)
            cfg.connection_limit = (unsigned)number(a, argv[++i], 1, 1000000);
        else if(strcmp(a, "--header-timeout-s") == 0)
            cfg.header_timeout_s = (unsigned)number(a, argv[++i], 1, 3600);
        else if(strcmp(a, "--queue-max") == 0)
            cfg.queue_max = (size_t)number(a, argv[++i], 1, 100000);
        else if(strcmp(a, "--metrics-allow") == 0)
            cfg.metrics_allow = argv[++i];
        else if(strcmp(a, "--trusted-proxy") == 0)
            cfg.trusted_proxies = argv[++i];
        else if(strcmp(a, "--writer-stuck-s") == 0)
            cfg.writer_stuck_s = (unsigned)number(a, argv[++i], 1, 3600);
        else if(strcmp(a, "--body-budget-mib") == 0)
            cfg.body_budget = (size_t)number(a, argv[++i], 1, 65536) << 20;
        else {
            usage(stderr);
            return 2;
        }
    }
    if(!cfg.db_path) {
        usage(stderr);
        return 2;
    }
    if(!cfg.tls_cert != !cfg.tls_key)
        die("%s", "--tls-cert and --tls-key go together / cần cả --tls-cert và --tls-key");
    /* Block the stop signals in every thread (MHD's workers inherit the mask); main waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    TallyHttp *h;
    char msg[TALLY_MSG_MAX];
    if(tally_http_start(&cfg, &h, msg))
        die("%s", msg);
    /* A libpq URI may carry a password: never print it. */
    printf("tally-server: listening on %s (database %s)\n", tally_http_url(h),
           tally_pg_is_uri(cfg.db_path) ? "PostgreSQL" : cfg.db_path);
    fflush(stdout);
    sd_notifyf(0, "READY=1\nSTATUS=listening on %s", tally_http_url(h));

    uint64_t wd_usec = 0;
    bool watchdog = sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0;
    uint64_t tick_usec = watchdog ? wd_usec / 3 : 0;
    int sig = 0;
    for(;;) {
        if(!watchdog) {
            sigwait(&stop, &sig);
            break;
        }
        struct timespec ts = {(time_t)(tick_usec / 1000000u), (long)(tick_usec % 1000000u) * 1000L};
        sig = sigtimedwait(&stop, NULL, &ts);
        if(sig > 0)
            break;
        /* A connection within one tick: a server that busy still gets two more tries before systemd acts. */
        if(tally_http_alive(h, (unsigned)(tick_usec / 1000u)))
            sd_notify(0, "WATCHDOG=1");
        else
            fprintf(stderr, "tally-server: the writer is stuck or no database connection could be had; watchdog "
                            "not fed / máy chủ bị treo\n");
    }
    sd_notify(0, "STOPPING=1");
    fprintf(stderr, "tally-server: %s received, stopping / đang dừng\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    tally_http_stop(h);
    return 0;
}
