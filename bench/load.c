/* bench/load — the nightly peak: what the tally server does with a province uploading at once.
 *
 *   load [--devices N] [--connections N] [--per-batch N]   (default 3,300 x 100 ratings over 1,000)
 *
 * Figure: N devices post one batch each over C connections at once to a real tally-server on loopback
 * (tests/integration/loadgen.c: keep-alive, Retry-After honoured, 10 connections per source address):
 * wall time and throughput until every batch is answered 200, p50/p99 of each batch's time from first send
 * to its 200 (waits after a 503 included), how many 503s, the slowest /healthz answer, and the server's peak
 * RSS.
 * Baseline, same run: the same batches written one by one by tally_ingest_batch in this process into a
 * fresh database of the same devices (no HTTP, no parsing, no contention). Ratio = loaded throughput /
 * bare ingest throughput. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "loadgen.h"
#include "sync/protocol.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_ingest.h"
#include "sync_harness.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "load: %s\n", what);
    exit(1);
}

static long peak_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while(f && fgets(line, sizeof line, f))
        if(strncmp(line, "VmHWM:", 6) == 0)
            v = atol(line + 6);
    if(f)
        fclose(f);
    return v;
}

/* The bare ingest of the same batches: parsed before the clock starts, written one by one. */
static double baseline(const char *root, int counters, int devices, int per_batch)
{
    char dir[TH_PATH];
    ThServer s;
    snprintf(dir, sizeof dir, "%.200s/baseline", root);
    if(mkdir(dir, 0700) != 0 || !th_server_init(&s, dir))
        die("cannot make the baseline database");
    char (*tokens)[65] = calloc((size_t)devices, sizeof *tokens);
    LgJob *jobs = calloc((size_t)devices, sizeof *jobs);
    ProtoBatch *b = calloc((size_t)devices, sizeof *b);
    if(!tokens || !jobs || !b || !lg_make_province(s.db, counters, devices, per_batch, tokens, jobs))
        die("cannot make the baseline province");
    for(int i = 0; i < devices; i++) {
        ProtoError e;
        if(proto_batch_parse(jobs[i].body, jobs[i].len, &b[i], &e) != PROTO_OK)
            die("a batch does not parse");
    }
    TallyDb *db;
    TallyIngest *in;
    char msg[TALLY_MSG_MAX];
    if(tally_db_open(s.db, &db, msg) || tally_ingest_new(db, &in, msg))
        die(msg);
    double t0 = now_s();
    for(int i = 0; i < devices; i++) {
        char unit[32];
        snprintf(unit, sizeof unit, "G01.Q%02d", i % counters);
        ProtoReply rep;
        if(tally_ingest_batch(in, &b[i], unit, (int64_t)time(NULL), &rep, msg))
            die(msg);
        proto_reply_free(&rep);
    }
    double took = now_s() - t0;
    tally_ingest_free(in);
    tally_db_close(db);
    for(int i = 0; i < devices; i++)
        proto_batch_free(&b[i]);
    lg_free_jobs(jobs, devices);
    free(b);
    free(jobs);
    free(tokens);
    return (double)devices * per_batch / took;
}

int main(int argc, char **argv)
{
    int devices = 3300, connections = 1000, per_batch = 100, counters = 40;
    for(int i = 1; i + 1 < argc; i += 2) {
        if(strcmp(argv[i], "--devices") == 0)
            devices = atoi(argv[i + 1]);
        else if(strcmp(argv[i], "--connections") == 0)
            connections = atoi(argv[i + 1]);
        else if(strcmp(argv[i], "--per-batch") == 0)
            per_batch = atoi(argv[i + 1]);
        else
            die("usage: load [--devices N] [--connections N] [--per-batch N]");
    }
    if(devices < 1 || connections < 1 || per_batch < 1 || per_batch > PROTO_MAX_BATCH)
        die("bad arguments");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lg_raise_nofile();
    char root[TH_PATH];
    if(!th_tmpdir(root, "bench_load"))
        die("no temp folder");
    double base = baseline(root, counters, devices, per_batch);

    char dir[TH_PATH];
    snprintf(dir, sizeof dir, "%.200s/load", root);
    ThServer s;
    char (*tokens)[65] = calloc((size_t)devices, sizeof *tokens);
    LgJob *jobs = calloc((size_t)devices, sizeof *jobs);
    if(mkdir(dir, 0700) != 0 || !th_server_init(&s, dir) || !tokens || !jobs ||
       !lg_make_province(s.db, counters, devices, per_batch, tokens, jobs) || !th_server_start(&s))
        die("cannot set up the tally-server");
    LgRun run = {.port = atoi(strrchr(s.url, ':') + 1), .connections = connections, .per_address = 10,
                 .jobs = jobs, .n_jobs = (size_t)devices, .give_up_s = 600};
    if(!lg_run(&run))
        die("the load did not start");
    long rss = peak_rss_kib(s.pid);
    th_server_stop(&s);
    double tput = (double)run.accepted / run.elapsed_s;
    printf("load: %d devices x %d ratings over %d connections: %zu batches answered 200 in %.1f s\n", devices,
           per_batch, connections, run.done, run.elapsed_s);
    printf("  batch time (first send to 200, waits included): p50 %.0f ms, p99 %.0f ms\n", lg_percentile(&run, 50),
           lg_percentile(&run, 99));
    printf("  503 busy (with Retry-After): %lld; other errors: %lld; connection errors: %lld\n",
           (long long)run.by_code[503], (long long)(run.status[4] + run.status[5] - run.by_code[503]),
           (long long)run.conn_errors);
    printf("  /healthz: %lld checks, slowest %.0f ms; server peak RSS %.1f MiB\n", (long long)run.health_checks,
           run.health_max_ms, (double)rss / 1024);
    printf("  throughput %.0f ratings/s; baseline (bare tally_ingest_batch, same batches) %.0f ratings/s; "
           "ratio %.2f\n", tput, base, tput / base);
    lg_free_jobs(jobs, devices);
    free(jobs);
    free(tokens);
    free(run.latency_ms);
    th_rmtree(root);
    curl_global_cleanup();
    return run.done == (size_t)devices ? 0 : 1;
}
