/* loadgen.h — a province's nightly peak on loopback, for tests/integration/tally_load.c and bench/load.c.
 *
 * One thread drives many keep-alive HTTP/1.1 connections (epoll, non-blocking) posting batches to a real
 * tally-server. Each connection binds its own loopback source address (127.1.x.y, a few connections per
 * address, as kiosks behind different routers) so the server's per-address limit sees what it would see in
 * the field. A 503 is honoured as a kiosk does: the connection closes, waits Retry-After seconds and sends
 * the same batch again; a 200 moves on to the next batch. Every reply is counted by status, and a second
 * thread asks /healthz every 100 ms from its own address and keeps the slowest answer. */
#ifndef TESTS_LOADGEN_H
#define TESTS_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *token; /* the device's token */
    char       *body;  /* the batch (malloc'd by the caller) */
    size_t      len;
} LgJob;

typedef struct {
    /* in */
    int         port;
    int         connections;   /* at once */
    int         per_address;   /* connections per source address */
    LgJob      *jobs;
    size_t      n_jobs;
    double      give_up_s;     /* stop after this long, whatever is left */
    void      (*on_first_busy)(void *ctx); /* optional: called once, at the first 503 */
    void       *ctx;
    /* out */
    int64_t     status[6];     /* replies by status / 100 */
    int64_t     by_code[600];  /* replies by status */
    int64_t     busy_without_retry_after;
    int64_t     conn_errors;   /* connects refused, resets, closes without a reply */
    int64_t     accepted, duplicate, rejected; /* summed from the 200 replies */
    size_t      done;          /* jobs answered 200 */
    double     *latency_ms;    /* per job: first send to its 200 (n_jobs entries; done of them meaningful) */
    double      elapsed_s;
    double      health_max_ms; /* slowest /healthz answer seen during the run */
    int64_t     health_checks, health_failures;
} LgRun;

/* The province for a run, straight into the tally database at db_path before the server starts (3,300
 * tally-admin runs would take minutes): `counters` units G01.Q00.. under G01, `devices` devices load-0000..
 * spread over them (enrolled collecting since 2024), and for each one batch of per_batch realistic ratings
 * (th_make_ratings) as jobs[i] with its token (tokens: devices x 65 bytes). False after printing why. */
bool lg_make_province(const char *db_path, int counters, int devices, int per_batch, char (*tokens)[65], LgJob *jobs);
void lg_free_jobs(LgJob *jobs, int n);

/* Runs every job to its 200 (or until give_up_s). False when the run could not start. */
bool lg_run(LgRun *run);
/* The p-th percentile (0..100) of the done jobs' latencies. */
double lg_percentile(const LgRun *run, double p);
/* Raises this process's descriptor limit to its hard limit. */
void lg_raise_nofile(void);

#endif
