/* bench/ingest — how fast the tally takes ratings in, against SQLite's own speed on the same rows.
 *
 *   ingest [--ratings N] [--batch B] [--clients C]      (defaults 1,000,000 / 500 / 2)
 *
 * Figure: ratings per second POSTed to a real tally-server (the tally_http module, in this process, on a
 * loopback port) in batches of B by C concurrent keep-alive clients, each a different kiosk; every rating is
 * parsed, authenticated, checked for duplicates and rolled up, one transaction per batch, synchronous=FULL.
 * Baseline, same run: the same rows inserted straight into an SQLite table of the same shape with the same
 * pragmas, one transaction per B rows (and, for scale, all in one transaction). Ratio = server / baseline. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "sync/protocol.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_http.h"

#define UNIT "000.00.31.H21.Q01"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "ingest: %s: %s\n", what, msg);
    exit(1);
}

typedef struct {
    char   url[160], token[TALLY_TOKEN_HEX + 1];
    char **bodies;
    size_t n_bodies;
    long   failures;
} Client;

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static void *client_run(void *arg)
{
    Client *c = arg;
    CURL *h = curl_easy_init();
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
    struct curl_slist *hdr = curl_slist_append(NULL, auth);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    for(size_t i = 0; i < c->n_bodies; i++) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->bodies[i]);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(c->bodies[i]));
        long status = 0;
        if(curl_easy_perform(h) != CURLE_OK || (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status), status != 200))
            c->failures++;
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return NULL;
}

/* A realistic rating: mostly satisfied, spread over 2025, a few flagged. */
static void make_rating(ProtoRating *r, uint64_t i, unsigned *seed)
{
    memset(r, 0, sizeof *r);
    uint8_t rnd[10];
    for(int k = 0; k < 10; k++)
        rnd[k] = (uint8_t)rand_r(seed);
    int64_t t = 1735664400 + (int64_t)(i * 31); /* from 2025-01-01 00:00 +07:00, one every 31 s */
    uuid_v7_make(r->id, (uint64_t)t * 1000 + i % 1000, rnd);
    r->seq = (int64_t)i + 1;
    snprintf(r->unit, sizeof r->unit, "%s", UNIT);
    r->area = (ProtoArea)(rand_r(seed) % AREA_COUNT);
    r->scale = SCALE_TTHC3;
    r->score = rand_r(seed) % 5 ? 2 + rand_r(seed) % 2 : 1;
    r->followup = r->score == 1 ? FOLLOWUP_SKIPPED : FOLLOWUP_NONE;
    ptime_format(t, PTIME_VN_OFFSET_MIN, r->at);
    r->flags = rand_r(seed) % 50 == 0 ? PROTO_FLAG_RAPID_REPEAT : 0;
}

/* The baseline: the same rows, same table shape and pragmas, straight through one prepared INSERT. */
static double baseline(const char *path, const ProtoRating *r, size_t n, size_t per_txn)
{
    sqlite3 *db;
    if(sqlite3_open(path, &db))
        die(path, sqlite3_errmsg(db));
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;"
                 "CREATE TABLE ratings(id TEXT PRIMARY KEY, device TEXT NOT NULL, unit TEXT NOT NULL,"
                 " area TEXT NOT NULL, scale TEXT NOT NULL, score INTEGER NOT NULL, flagged INTEGER NOT NULL,"
                 " day INTEGER NOT NULL, body TEXT NOT NULL, batch TEXT NOT NULL, received_at INTEGER NOT NULL)"
                 " STRICT, WITHOUT ROWID;",
                 NULL, NULL, NULL);
    /* Encode the bodies first: the baseline measures SQLite alone. */
    char **body = malloc(n * sizeof *body);
    for(size_t i = 0; i < n; i++)
        body[i] = proto_rating_dump(&r[i]);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO ratings VALUES (?1, 'bench', ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'b', 0)", -1, &st,
                       NULL);
    double t0 = now_s();
    for(size_t i = 0; i < n; i++) {
        if(i % per_txn == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        int64_t t;
        int off;
        ptime_parse(r[i].at, &t, &off);
        sqlite3_bind_text(st, 1, r[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r[i].unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, proto_area_code(r[i].area), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, proto_scale_code(r[i].scale), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, r[i].score);
        sqlite3_bind_int(st, 6, r[i].flags != 0);
        sqlite3_bind_int64(st, 7, ptime_vn_day(t));
        sqlite3_bind_text(st, 8, body[i], -1, SQLITE_STATIC);
        if(sqlite3_step(st) != SQLITE_DONE)
            die("baseline insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
        if(i % per_txn == per_txn - 1 || i + 1 == n)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double dt = now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    for(size_t i = 0; i < n; i++)
        free(body[i]);
    free(body);
    return dt;
}

int main(int argc, char **argv)
{
    size_t n = 1000000, per_batch = 500;
    int clients = 2;
    for(int i = 1; i + 1 < argc; i += 2) {
        if(strcmp(argv[i], "--ratings") == 0)
            n = strtoul(argv[i + 1], NULL, 10);
        else if(strcmp(argv[i], "--batch") == 0)
            per_batch = strtoul(argv[i + 1], NULL, 10);
        else if(strcmp(argv[i], "--clients") == 0)
            clients = atoi(argv[i + 1]);
    }
    if(n == 0 || per_batch == 0 || per_batch > PROTO_MAX_BATCH || clients < 1 || clients > 64) {
        fprintf(stderr, "usage: ingest [--ratings N] [--batch 1-%d] [--clients 1-64]\n", PROTO_MAX_BATCH);
        return 2;
    }
    char dir[] = "/tmp/bench-ingest-XXXXXX";
    if(!mkdtemp(dir))
        die("mkdtemp", "failed");
    char path[256], base1[256], base2[256];
    snprintf(path, sizeof path, "%s/tally.db", dir);
    snprintf(base1, sizeof base1, "%s/baseline-batched.db", dir);
    snprintf(base2, sizeof base2, "%s/baseline-one-txn.db", dir);

    /* Arrange: the tally file with one unit and one device per client; all bodies encoded up front. */
    TallyDb *db;
    char msg[TALLY_MSG_MAX];
    if(tally_db_open(path, &db, msg) || tally_unit_add(db, UNIT, "Quầy 01", NULL, msg))
        die(path, msg);
    Client *cl = calloc((size_t)clients, sizeof *cl);
    for(int c = 0; c < clients; c++) {
        char id[32];
        snprintf(id, sizeof id, "bench-%d", c);
        if(tally_device_add(db, id, UNIT, ptime_vn_day_start(PTIME_DAY_MIN), cl[c].token, msg))
            die("device", msg);
    }
    tally_db_close(db);

    fprintf(stderr, "ingest: encoding %zu ratings in batches of %zu...\n", n, per_batch);
    ProtoRating *r = malloc(n * sizeof *r);
    unsigned seed = 42;
    for(size_t i = 0; i < n; i++)
        make_rating(&r[i], i, &seed);
    size_t n_batches = (n + per_batch - 1) / per_batch;
    for(int c = 0; c < clients; c++)
        cl[c].bodies = calloc(n_batches, sizeof(char *));
    for(size_t b = 0; b < n_batches; b++) {
        Client *c = &cl[b % (size_t)clients];
        char bid[UUID_TEXT_LEN], device[32];
        uuid_v7_new(bid);
        snprintf(device, sizeof device, "bench-%d", (int)(b % (size_t)clients));
        size_t k = b * per_batch + per_batch > n ? n - b * per_batch : per_batch;
        c->bodies[c->n_bodies++] = proto_batch_dump(bid, device, "2025-12-31T22:00:00+07:00", r + b * per_batch, k);
    }

    /* Act 1: through the server. */
    TallyHttp *h;
    TallyHttpConfig cfg = {.db_path = path, .listen = "127.0.0.1:0"};
    if(tally_http_start(&cfg, &h, msg))
        die("server", msg);
    /* The server's one line per request would swamp the terminal (and cost write() time): mute it. */
    fflush(stderr);
    int saved_err = dup(STDERR_FILENO), null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, STDERR_FILENO);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    double t0 = now_s();
    for(int c = 0; c < clients; c++) {
        snprintf(cl[c].url, sizeof cl[c].url, "%s/api/v1/batches", tally_http_url(h));
        pthread_create(&th[c], NULL, client_run, &cl[c]);
    }
    long failures = 0;
    for(int c = 0; c < clients; c++) {
        pthread_join(th[c], NULL);
        failures += cl[c].failures;
    }
    double server_s = now_s() - t0;
    tally_http_stop(h);
    dup2(saved_err, STDERR_FILENO);
    close(saved_err);
    close(null_fd);

    sqlite3 *check;
    sqlite3_stmt *st;
    long long stored = -1, rolled = -1;
    sqlite3_open(path, &check);
    if(sqlite3_prepare_v2(check, "SELECT (SELECT count(*) FROM ratings), (SELECT sum(n) FROM daily)", -1, &st,
                          NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        stored = sqlite3_column_int64(st, 0);
        rolled = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(check);

    /* Act 2: the baselines. */
    double base_batched = baseline(base1, r, n, per_batch);
    double base_one = baseline(base2, r, n, n);

    double rate = (double)n / server_s, rate_b = (double)n / base_batched, rate_1 = (double)n / base_one;
    printf("bench ingest: %zu ratings, batches of %zu, %d clients over loopback\n", n, per_batch, clients);
    printf("  tally-server POST /api/v1/batches : %10.0f ratings/s  (%.2f s, %zu batches, %ld failed; stored %lld,"
           " roll-up %lld)\n", rate, server_s, n_batches, failures, stored, rolled);
    printf("  baseline SQLite insert, %4zu/txn  : %10.0f ratings/s  (%.2f s, same rows, table and pragmas)\n",
           per_batch, rate_b, base_batched);
    printf("  baseline SQLite insert, one txn   : %10.0f ratings/s  (%.2f s)\n", rate_1, base_one);
    printf("  ratio server / baseline (%zu/txn)  : %.2f\n", per_batch, rate / rate_b);

    for(int c = 0; c < clients; c++) {
        for(size_t b = 0; b < cl[c].n_bodies; b++)
            free(cl[c].bodies[b]);
        free(cl[c].bodies);
    }
    free(cl);
    free(th);
    free(r);
    unlink(path);
    char p2[300];
    const char *files[] = {path, base1, base2};
    for(int f = 0; f < 3; f++) {
        unlink(files[f]);
        snprintf(p2, sizeof p2, "%s-wal", files[f]);
        unlink(p2);
        snprintf(p2, sizeof p2, "%s-shm", files[f]);
        unlink(p2);
    }
    rmdir(dir);
    curl_global_cleanup();
    return failures || stored != (long long)n ? 1 : 0;
}
