/* bench_pg.h — a throwaway PostgreSQL 15 cluster for the benches that measure both tally backends side by side
 * (bench/tally, bench/ingest). Header-only, like bench_util.h.
 *
 * bench_pg_start() runs tests/pg/pg-cluster with PG_CLUSTER_DURABLE=1, so the cluster keeps PostgreSQL's own
 * durability (fsync, synchronous_commit, full_page_writes on): a figure from a server that would lose
 * acknowledged batches in a power cut is not one to plan with. The cluster is stopped and its directory removed
 * at exit (exit() from any die(), or SIGINT/SIGTERM/SIGHUP), so a failed run leaves no server behind.
 * bench_pg_settings() says which settings the server really ran with, for the figure's caption. */
#ifndef BENCH_PG_H
#define BENCH_PG_H

#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#define BENCH_PG_CLUSTER BENCH_SOURCE_DIR "/tests/pg/pg-cluster"

static char bench_pg_dir[64];

static void bench_pg_stop(void)
{
    if(!bench_pg_dir[0])
        return;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "'%s' stop '%s' >/dev/null 2>&1", BENCH_PG_CLUSTER, bench_pg_dir);
    if(system(cmd) != 0)
        fprintf(stderr, "bench: could not stop the PostgreSQL cluster in %s\n", bench_pg_dir);
    bench_pg_dir[0] = '\0';
}

static void bench_pg_on_signal(int sig)
{
    bench_pg_stop();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Starts the cluster and writes its libpq URI into uri. Returns 0, 77 when PostgreSQL is not installed (the
 * caller measures SQLite alone and says so), or 1 on any other failure (pg-cluster's log is on stderr). */
static int bench_pg_start(char *uri, size_t uri_len)
{
    snprintf(bench_pg_dir, sizeof bench_pg_dir, "/tmp/pgbXXXXXX");
    if(!mkdtemp(bench_pg_dir)) {
        bench_pg_dir[0] = '\0';
        return 1;
    }
    atexit(bench_pg_stop);
    signal(SIGINT, bench_pg_on_signal);
    signal(SIGTERM, bench_pg_on_signal);
    signal(SIGHUP, bench_pg_on_signal);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "PG_CLUSTER_DURABLE=1 '%s' start '%s'", BENCH_PG_CLUSTER, bench_pg_dir);
    FILE *p = popen(cmd, "r");
    uri[0] = '\0';
    if(p) {
        if(!fgets(uri, (int)uri_len, p))
            uri[0] = '\0';
        uri[strcspn(uri, "\n")] = '\0';
    }
    int st = p ? pclose(p) : -1;
    if(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        bench_pg_dir[0] = '\0';
        return 77;
    }
    if(st != 0 || strncmp(uri, "postgresql://", 13) != 0) {
        bench_pg_stop();
        return 1;
    }
    return 0;
}

/* "fsync=on synchronous_commit=on full_page_writes=on shared_buffers=128MB" as the server reports them. */
static void bench_pg_settings(const char *uri, char *out, size_t len)
{
    static const char *const NAMES[] = {"fsync", "synchronous_commit", "full_page_writes", "shared_buffers",
                                        "wal_buffers"};
    size_t used = 0;
    out[0] = '\0';
    PGconn *c = PQconnectdb(uri);
    for(size_t i = 0; i < sizeof NAMES / sizeof NAMES[0] && PQstatus(c) == CONNECTION_OK; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SHOW %s", NAMES[i]);
        PGresult *r = PQexec(c, sql);
        if(PQresultStatus(r) == PGRES_TUPLES_OK && used < len)
            used += (size_t)snprintf(out + used, len - used, "%s%s=%s", i ? " " : "", NAMES[i], PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
}

#endif
