/* sync_harness.h — the real parts the uploader's end-to-end tests arrange: a temp folder, a real
 * tally-server (spawned, on a free loopback port) set up with tally-admin, kiosks (kiosk.ini + token file +
 * store), realistic ratings, the tally read back over the API, and an independent count to compare with.
 * The binaries come from compile definitions set in tests/sync.cmake. Helpers return false / -1 on failure
 * after printing why; tests assert on that. */
#ifndef TESTS_SYNC_HARNESS_H
#define TESTS_SYNC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kiosk/store.h"
#include "sync/protocol.h"

#define TH_PATH 256

/* A temp folder under /tmp; th_rmtree removes it and everything in it. */
bool th_tmpdir(char out[TH_PATH], const char *tag);
void th_rmtree(const char *dir);

/* Runs argv (argv[0] is a path), waits, puts its stdout (trimmed) into out; returns the exit status or -1. */
int th_run(const char *const argv[], char *out, size_t out_len);
/* Starts argv with stdout+stderr appended to log_path (NULL = inherit); returns the pid or -1. */
pid_t th_spawn(const char *const argv[], const char *log_path);
int th_wait(pid_t pid); /* exit status, or 128+signal */
/* True when a line of the file (up to 2 KiB each) contains needle; false too when it cannot be read. */
bool th_file_contains(const char *path, const char *needle);

typedef struct {
    char dir[TH_PATH];
    char db[TH_PATH];
    char log[TH_PATH];
    char url[128];        /* http://127.0.0.1:PORT — the server (https:// when started with TLS) */
    char viewer[256];     /* a viewer token for GET /api/v1/tally */
    char ca_file[TH_PATH + 32]; /* the CA file the harness's own requests trust; empty = curl's default CAs */
    pid_t pid;
} ThServer;

/* tally-admin init + one province unit "G01" + a viewer, in dir. */
bool th_server_init(ThServer *s, const char *dir);
/* The same on another database: a SQLite file or a postgresql:// URI (tally-admin's --db). */
bool th_server_init_db(ThServer *s, const char *dir, const char *db);
bool th_server_unit(ThServer *s, const char *code, const char *parent);
/* Enrols a device in a unit; token gets the printed token. */
bool th_server_device(ThServer *s, const char *device_id, const char *unit, char *token, size_t token_len);
bool th_server_start(ThServer *s);
/* The same with --tls-cert/--tls-key (both NULL = plain http): s->url becomes https://127.0.0.1:PORT. */
bool th_server_start_tls(ThServer *s, const char *cert, const char *key);
/* The same with more tally-server options (NULL-terminated, at most 6), e.g. {"--metrics-allow", "::1", NULL}. */
bool th_server_start_args(ThServer *s, const char *const extra[]);
void th_server_stop(ThServer *s);

typedef struct {
    char dir[TH_PATH];
    char ini[TH_PATH];
    char db[TH_PATH];
    char log[TH_PATH];
    char device_id[PROTO_ID_MAX + 1];
    char unit[PROTO_ID_MAX + 1];
    ProtoScale scale;
} ThKiosk;

/* The usual arrangement: a temp folder dir (named after tag), a started server in it with `unit` under G01
 * and `device` enrolled there (its token in token), and that device's kiosk (tthc3) in dir/kiosk. */
bool th_setup_one_kiosk(const char *tag, const char *unit, const char *device, char dir[TH_PATH], ThServer *srv,
                        ThKiosk *k, char *token, size_t token_len);

/* Writes dir/kiosk.ini (sync url = url + "/api/v1"), a 0600 token file, and creates the store. */
bool th_kiosk_make(ThKiosk *k, const char *dir, const char *device_id, const char *unit, ProtoScale scale,
                   const char *url, const char *token);
/* Runs kiosk-sync --config ini --once [extra...] (NULL-terminated), output appended to k->log. */
int th_kiosk_sync(const ThKiosk *k, const char *const extra[]);
pid_t th_kiosk_sync_spawn(const ThKiosk *k, const char *const extra[]);
void th_kiosk_dump_log(const ThKiosk *k); /* the last lines, for a failing test */
/* Runs kiosk-sync (with extra) over the n kiosks, `parallel` at a time, round robin, until done(ctx) says so,
 * max_runs have started, or every store is empty; the running ones are let finish. Each exit code must agree
 * with its store (0 exactly when nothing is pending; 1 otherwise), and each store must hold per_store ratings,
 * pending + acked, pending a whole number of batches (applied whole or not at all). Returns the number of
 * runs, or -1 after printing why (then it starts no more). At most TH_ROUNDS_MAX kiosks. */
#define TH_ROUNDS_MAX 64
int th_kiosk_rounds(ThKiosk *k, int n, int per_store, int batch, int parallel, const char *const extra[],
                    bool (*done)(void *), void *ctx, int max_runs);

/* n realistic ratings for a kiosk: areas, scores (mostly satisfied), reasons and follow-ups for complaints,
 * a few rapid-repeat flags, times spread over the days before 2026-11-20, deterministic from seed. */
void th_make_ratings(ProtoRating *out, size_t n, const char *unit, ProtoScale scale, uint64_t seed);
/* Adds them to the kiosk's store (assigning seq); false on any refusal. */
bool th_store_ratings(const ThKiosk *k, ProtoRating *r, size_t n);
StoreCounts th_store_counts(const ThKiosk *k);
/* The kiosk's sync status as its store keeps it; false after printing why when the store cannot tell. */
bool th_store_sync_status(const ThKiosk *k, StoreSyncStatus *st);

/* Counts per area, computed straight from ratings by the metric's rules. */
typedef struct {
    int64_t n[AREA_COUNT], satisfied[AREA_COUNT], flagged[AREA_COUNT];
} ThCount;
void th_count_add(ThCount *c, const ProtoRating *r, size_t n);
/* Adds the store's own day totals over the test's date range (the days th_make_ratings spreads over) to c;
 * false after printing why when the store refuses. */
bool th_store_totals(const ThKiosk *k, ThCount *c);
/* The server's tally by area over the test's date range, as the viewer API returns it (over https trusting
 * s->ca_file when that is set). */
bool th_server_tally(const ThServer *s, ThCount *out);
/* Prints both side by side and returns true when they are equal. */
bool th_count_equal(const ThCount *want, const ThCount *got);

/* POSTs body (a batch as JSON text) to /api/v1/batches with a device token: *status gets the HTTP status
 * and, when it is 200, *reply the parsed reply (free with proto_reply_free in any case). False when the
 * request failed or a 200 reply did not parse. */
bool th_post_batch(const ThServer *s, const char *token, const char *body, long *status, ProtoReply *reply);

/* Re-posts every rating straight to the server (fresh batch ids) with a device token and adds up the replies:
 * a full set already on the server with the same content comes back all duplicate. */
bool th_replay(const ThServer *s, const char *device_id, const char *token, const ProtoRating *r, size_t n,
               int64_t *accepted, int64_t *duplicate, int64_t *rejected);

#endif
