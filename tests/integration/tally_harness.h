/* tally_harness.h — real binaries for the tally integration tests.
 *
 * Runs tally-admin, starts tally-server on a free loopback port (port 0; the URL is read from the line it
 * prints), speaks HTTP to it with libcurl or a raw socket, and reads its SQLite file read-only. The database
 * is a SQLite file, or (th_setup_pg) a throwaway PostgreSQL 15 cluster. Paths of the binaries come from the
 * build (TALLY_SERVER_BIN, TALLY_ADMIN_BIN). */
#ifndef TESTS_TALLY_HARNESS_H
#define TESTS_TALLY_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    char  dir[256];   /* the mkdtemp folder holding the database (the files only, with PostgreSQL) */
    char  db[300];    /* the SQLite file, or the cluster's postgresql:// URI */
    char  pgdir[64];  /* the cluster's folder (tests/pg/pg-cluster), "" on SQLite */
    char  url[128];   /* "http://127.0.0.1:PORT" */
    char  listen[64]; /* --listen for th_start; "" = 127.0.0.1:0 */
    const char *args[8]; /* more tally-server arguments for th_start, NULL-terminated */
    char  log[300];   /* where th_start sends the server's stderr; "" = inherited */
    pid_t pid;
} TallyServer;

/* Makes a temp dir, runs `tally-admin init` and imports assets/units-gialai.csv. */
bool th_setup_db(TallyServer *s);
/* th_setup_db on a throwaway PostgreSQL 15 cluster (tests/pg/pg-cluster start; s->db is its URI) instead of
 * a SQLite file. 1 when ready, 77 when postgresql-15 is not installed (the caller skips), 0 on any other
 * failure. Until th_cleanup stops it, SIGTERM, SIGINT and SIGHUP stop the server and the cluster, then exit. */
int th_setup_pg(TallyServer *s);
/* Starts the server on 127.0.0.1:0 and waits for its "listening on" line. */
bool th_start(TallyServer *s);
/* SIGTERM, waits; returns the exit status (0 when it stopped cleanly), -1 when it had to be killed. */
int  th_stop(TallyServer *s);
/* Stops the server and the cluster (if any), removes the temp dir. */
void th_cleanup(TallyServer *s);
/* A test group's teardown: stops the server (it must exit 0 on SIGTERM) and removes the temp dir; 0 or -1. */
int  th_finish(TallyServer *s);

/* Runs tally-admin --db s->db with the NULL-terminated args; returns its exit status and, when out is not
 * NULL, its stdout (first out_len-1 bytes, trailing newline removed). */
int th_admin(const TallyServer *s, char *out, size_t out_len, ...);
/* `device add ID --unit UNIT` / `viewer add NAME`: the printed token, or false. */
bool th_device(const TallyServer *s, const char *id, const char *unit, char token[65]);
bool th_viewer(const TallyServer *s, const char *name, char token[65]);

typedef struct {
    long   status;       /* HTTP status, 0 when no reply */
    char  *body;         /* malloc'd, NUL-terminated */
    size_t len;
} ThResp;

/* How long th_http waits for a whole request and reply (default 30 s). */
extern long th_http_timeout_s;

/* One request. token/content_type may be NULL (header left out). chunked sends the body without a length. */
ThResp th_http(const TallyServer *s, const char *method, const char *path, const char *token,
               const char *content_type, const char *body, size_t len, bool chunked);
void   th_resp_free(ThResp *r);

/* Writes raw bytes on a fresh TCP connection and reads until the server closes or timeout_ms passes.
 * Returns the bytes read (malloc'd, NUL-terminated; "" when none). close_early: shut down after writing. */
char *th_raw(const TallyServer *s, const char *bytes, size_t len, int timeout_ms);

/* The first column of the first row of a fixed query, on a read-only connection; -1 on error. */
int64_t th_scalar(const TallyServer *s, const char *sql);

#endif
