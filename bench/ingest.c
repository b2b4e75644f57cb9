/* bench/ingest — how fast the tally takes ratings in, on SQLite and on PostgreSQL side by side, each against
 * its database's own speed on the same rows.
 *
 *   ingest [--ratings N] [--batch B] [--clients C] [--instances K] [--pg-clients P] [--sqlite-only]
 *          (defaults 1,000,000 / 500 / 2 / 4 / 2 per instance)
 *
 * Figure: ratings per second POSTed to real tally servers (the tally_http module, in this process, on
 * loopback ports) in batches of B by concurrent keep-alive clients, each a different kiosk; every rating is
 * parsed, authenticated, checked for duplicates and rolled up, one transaction per batch.
 *  - SQLite: one server on a file (synchronous=FULL), C clients. Baseline, same run: the same rows inserted
 *    straight into an SQLite table of the same shape with the same pragmas, one transaction per B rows (and,
 *    for scale, all in one transaction).
 *  - PostgreSQL: K servers on one database of a throwaway cluster (tests/pg/pg-cluster with
 *    PG_CLUSTER_DURABLE=1: fsync, synchronous_commit and full_page_writes on; printed as the server reports
 *    them), P clients spread over them round-robin, the same batches. Baseline, same run: the same rows into a
 *    table of the same shape, one multi-row prepared INSERT and one commit per B rows, over one connection and
 *    over K connections at once.
 * Each side checks what it stored: the ratings counted and the daily roll-up summed must both be N.
 * Ratio = server / baseline. The cluster is stopped at exit, also when the run fails; without PostgreSQL
 * installed (or with --sqlite-only) SQLite is measured alone, saying so. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "bench/bench_pg.h"
#include "bench/bench_util.h"
#include "sync/protocol.h"
#include "sync/tally/tally_db.h"
#include "sync/tally/tally_http.h"

#define PARENT "000.00.31.H21"
#define RETRIES_MAX 50 /* 503s one batch may get before it counts as failed */

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
    char   unit[PROTO_ID_MAX + 1]; /* the counter this kiosk is enrolled at */
    char **bodies;
    size_t n_bodies;
    long   failures, busy;         /* batches not stored; 503 answers (each retried, as a kiosk does) */
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
        for(int tries = 0;; tries++) {
            long status = 0;
            curl_off_t wait_s = 0;
            if(curl_easy_perform(h) == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            if(status == 200)
                break;
            if(status != 503 || tries == RETRIES_MAX) {
                c->failures++;
                break;
            }
            /* Busy (the queue is full, or PostgreSQL aborted the transaction: nothing stored): send it again
             * after the Retry-After the server asked for, as kiosk-sync does. */
            c->busy++;
            curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &wait_s);
            usleep((useconds_t)(wait_s > 0 && wait_s < 10 ? wait_s : 1) * 1000000u);
        }
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

/* Encodes the batches for `clients` kiosks named prefix-0.. (batch b goes to client b % clients; its ratings
 * take that kiosk's unit). */
static void encode(Client *cl, int clients, const char *prefix, ProtoRating *r, size_t n, size_t per_batch)
{
    size_t n_batches = (n + per_batch - 1) / per_batch;
    for(int c = 0; c < clients; c++) {
        cl[c].bodies = calloc(n_batches, sizeof(char *));
        cl[c].n_bodies = 0;
        cl[c].failures = cl[c].busy = 0;
    }
    for(size_t b = 0; b < n_batches; b++) {
        Client *c = &cl[b % (size_t)clients];
        char bid[UUID_TEXT_LEN], device[32];
        uuid_v7_new(bid);
        snprintf(device, sizeof device, "%s-%d", prefix, (int)(b % (size_t)clients));
        size_t k = b * per_batch + per_batch > n ? n - b * per_batch : per_batch;
        for(size_t i = 0; i < k; i++)
            snprintf(r[b * per_batch + i].unit, sizeof r->unit, "%s", c->unit);
        c->bodies[c->n_bodies++] = proto_batch_dump(bid, device, "2025-12-31T22:00:00+07:00", r + b * per_batch, k);
    }
}

static void clients_free(Client *cl, int clients)
{
    for(int c = 0; c < clients; c++) {
        for(size_t b = 0; b < cl[c].n_bodies; b++)
            free(cl[c].bodies[b]);
        free(cl[c].bodies);
    }
    free(cl);
}

/* One device per client, in a database given by path or URI, each at its own counter under PARENT (as kiosks
 * are: a counter's roll-up cells are its own), or all at one counter with one_unit; tokens into cl. */
static void enrol(const char *db_path, Client *cl, int clients, const char *prefix, bool one_unit)
{
    TallyDb *db;
    char msg[TALLY_MSG_MAX];
    if(tally_db_open(db_path, &db, msg) || tally_unit_add(db, PARENT, "Bench", NULL, msg))
        die("tally database", msg);
    for(int c = 0; c < clients; c++) {
        char id[32], name[32];
        snprintf(id, sizeof id, "%s-%d", prefix, c);
        snprintf(cl[c].unit, sizeof cl[c].unit, PARENT ".Q%02d", one_unit ? 1 : c + 1);
        snprintf(name, sizeof name, "Quầy %02d", one_unit ? 1 : c + 1);
        if((!one_unit || c == 0) && tally_unit_add(db, cl[c].unit, name, PARENT, msg))
            die("unit", msg);
        if(tally_device_add(db, id, cl[c].unit, ptime_vn_day_start(PTIME_DAY_MIN), cl[c].token, msg))
            die("device", msg);
    }
    tally_db_close(db);
}

/* Starts `instances` servers on db_path, runs every client against server c % instances, stops them. Returns
 * the seconds from the first request to the last answer; batches not stored go into *failures, 503 answers
 * (retried) into *busy. */
static double post_all(const char *db_path, int instances, Client *cl, int clients, long *failures, long *busy)
{
    TallyHttp **h = calloc((size_t)instances, sizeof *h);
    char msg[TALLY_MSG_MAX];
    for(int i = 0; i < instances; i++) {
        TallyHttpConfig cfg = {.db_path = db_path, .listen = "127.0.0.1:0"};
        if(tally_http_start(&cfg, &h[i], msg))
            die("server", msg);
    }
    /* The server's one line per request would swamp the terminal (and cost write() time): mute it. */
    fflush(stderr);
    int saved_err = dup(STDERR_FILENO), null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, STDERR_FILENO);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    double t0 = now_s();
    for(int c = 0; c < clients; c++) {
        snprintf(cl[c].url, sizeof cl[c].url, "%s/api/v1/batches", tally_http_url(h[c % instances]));
        pthread_create(&th[c], NULL, client_run, &cl[c]);
    }
    *failures = *busy = 0;
    for(int c = 0; c < clients; c++) {
        pthread_join(th[c], NULL);
        *failures += cl[c].failures;
        *busy += cl[c].busy;
    }
    double dt = now_s() - t0;
    for(int i = 0; i < instances; i++)
        tally_http_stop(h[i]);
    dup2(saved_err, STDERR_FILENO);
    close(saved_err);
    close(null_fd);
    free(th);
    free(h);
    return dt;
}

/* ---- PostgreSQL baseline: the same rows through a bare multi-row prepared INSERT ------------------------ */

typedef struct {
    const char        *uri;
    const ProtoRating *r;
    char *const       *body;
    size_t             n, per_txn;
    int                me, of; /* this connection takes batches me, me + of, ... */
} PgBase;

static PGresult *pg_ok(PGconn *c, PGresult *res, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    if(st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        die(what, PQerrorMessage(c));
    return res;
}

static void *pg_base_run(void *arg)
{
    PgBase *b = arg;
    PGconn *c = PQconnectdb(b->uri);
    if(PQstatus(c) != CONNECTION_OK)
        die("baseline connect", PQerrorMessage(c));
    size_t cols = 8, prepared[2] = {0, 0};
    char (*text)[24] = malloc(b->per_txn * 2 * sizeof *text);
    const char **p = malloc(b->per_txn * cols * sizeof *p);
    for(size_t first = (size_t)b->me * b->per_txn; first < b->n; first += (size_t)b->of * b->per_txn) {
        size_t k = first + b->per_txn > b->n ? b->n - first : b->per_txn;
        char name[32];
        snprintf(name, sizeof name, "ins_%zu", k);
        if(prepared[0] != k && prepared[1] != k) {
            /* INSERT … VALUES ($1..$8), ($9..$16), … : one statement per transaction. */
            size_t cap = 128 + k * 128, len = 0;
            char *sql = malloc(cap);
            len += (size_t)snprintf(sql, cap, "INSERT INTO base_ratings VALUES ");
            for(size_t i = 0; i < k; i++)
                len += (size_t)snprintf(sql + len, cap - len,
                                        "%s($%zu, 'bench', $%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu, 'b', 0)",
                                        i ? ", " : "", i * cols + 1, i * cols + 2, i * cols + 3, i * cols + 4,
                                        i * cols + 5, i * cols + 6, i * cols + 7, i * cols + 8);
            PQclear(pg_ok(c, PQprepare(c, name, sql, 0, NULL), "baseline prepare"));
            free(sql);
            prepared[prepared[0] ? 1 : 0] = k;
        }
        for(size_t i = 0; i < k; i++) {
            const ProtoRating *r = &b->r[first + i];
            int64_t t;
            int off;
            ptime_parse(r->at, &t, &off);
            snprintf(text[2 * i], sizeof text[0], "%d", r->score);
            snprintf(text[2 * i + 1], sizeof text[0], "%lld", (long long)ptime_vn_day(t));
            const char **q = p + i * cols;
            q[0] = r->id;
            q[1] = r->unit;
            q[2] = proto_area_code(r->area);
            q[3] = proto_scale_code(r->scale);
            q[4] = text[2 * i];
            q[5] = r->flags ? "1" : "0";
            q[6] = text[2 * i + 1];
            q[7] = b->body[first + i];
        }
        PQclear(pg_ok(c, PQexec(c, "BEGIN"), "baseline begin"));
        PQclear(pg_ok(c, PQexecPrepared(c, name, (int)(k * cols), p, NULL, NULL, 0), "baseline insert"));
        PQclear(pg_ok(c, PQexec(c, "COMMIT"), "baseline commit"));
    }
    free(text);
    free(p);
    PQfinish(c);
    return NULL;
}

/* The rows into a fresh table shaped like PostgreSQL's ratings, per_txn per transaction, over conns
 * connections at once. Returns the seconds. */
static double pg_baseline(const char *uri, const ProtoRating *r, char *const *body, size_t n, size_t per_txn,
                          int conns)
{
    PGconn *c = PQconnectdb(uri);
    if(PQstatus(c) != CONNECTION_OK)
        die("baseline connect", PQerrorMessage(c));
    PQclear(pg_ok(c, PQexec(c, "CREATE TABLE base_ratings(id text PRIMARY KEY,"
                               " device text NOT NULL, unit text NOT NULL, area text NOT NULL, scale text NOT NULL,"
                               " score integer NOT NULL, flagged integer NOT NULL, day bigint NOT NULL,"
                               " body text NOT NULL, batch text NOT NULL, received_at bigint NOT NULL,"
                               " quarantine integer NOT NULL DEFAULT 0)"),
                  "baseline table"));
    PgBase *b = calloc((size_t)conns, sizeof *b);
    pthread_t *th = calloc((size_t)conns, sizeof *th);
    double t0 = now_s();
    for(int i = 0; i < conns; i++) {
        b[i] = (PgBase){uri, r, body, n, per_txn, i, conns};
        pthread_create(&th[i], NULL, pg_base_run, &b[i]);
    }
    for(int i = 0; i < conns; i++)
        pthread_join(th[i], NULL);
    double dt = now_s() - t0;
    PGresult *res = pg_ok(c, PQexec(c, "SELECT count(*) FROM base_ratings"), "baseline count");
    if(strtoull(PQgetvalue(res, 0, 0), NULL, 10) != n)
        die("baseline", "the table does not hold every row");
    PQclear(res);
    PQclear(pg_ok(c, PQexec(c, "DROP TABLE base_ratings"), "baseline drop"));
    PQfinish(c);
    free(b);
    free(th);
    return dt;
}

static void counts(PGconn *c, long long *stored, long long *rolled)
{
    PGresult *res = pg_ok(
        c, PQexec(c, "SELECT (SELECT count(*) FROM ratings), (SELECT coalesce(sum(n), 0) FROM daily)"), "count");
    *stored = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    *rolled = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
}

int main(int argc, char **argv)
{
    size_t n = 1000000, per_batch = 500;
    int clients = 2, instances = 4, pg_clients = 0;
    bool skip_pg = false, one_unit = false;
    for(int i = 1; i < argc; i++) {
        if(strcmp(argv[i], "--sqlite-only") == 0)
            skip_pg = true;
        else if(strcmp(argv[i], "--one-unit") == 0)
            one_unit = true;
        else if(i + 1 == argc)
            break; /* a last word without a value: another bench's, ignored */
        else if(strcmp(argv[i], "--ratings") == 0)
            n = strtoul(argv[++i], NULL, 10);
        else if(strcmp(argv[i], "--batch") == 0)
            per_batch = strtoul(argv[++i], NULL, 10);
        else if(strcmp(argv[i], "--clients") == 0)
            clients = atoi(argv[++i]);
        else if(strcmp(argv[i], "--instances") == 0)
            instances = atoi(argv[++i]);
        else if(strcmp(argv[i], "--pg-clients") == 0)
            pg_clients = atoi(argv[++i]);
        else
            i++; /* another bench's option: scripts/bench passes the same arguments to every bench */
    }
    if(!pg_clients)
        pg_clients = 2 * instances;
    if(n == 0 || per_batch == 0 || per_batch > PROTO_MAX_BATCH || clients < 1 || clients > 64 ||
       instances < 1 || instances > 16 || pg_clients < 1 || pg_clients > 64) {
        fprintf(stderr, "usage: ingest [--ratings N] [--batch 1-%d] [--clients 1-64] [--instances 1-16]"
                        " [--pg-clients 1-64] [--one-unit] [--sqlite-only]\n", PROTO_MAX_BATCH);
        return 2;
    }
    char dir[] = "/tmp/bench-ingest-XXXXXX";
    if(!mkdtemp(dir))
        die("mkdtemp", "failed");
    char path[256], base1[256], base2[256];
    snprintf(path, sizeof path, "%s/tally.db", dir);
    snprintf(base1, sizeof base1, "%s/baseline-batched.db", dir);
    snprintf(base2, sizeof base2, "%s/baseline-one-txn.db", dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    fprintf(stderr, "ingest: encoding %zu ratings in batches of %zu...\n", n, per_batch);
    ProtoRating *r = malloc(n * sizeof *r);
    unsigned seed = 42;
    for(size_t i = 0; i < n; i++)
        make_rating(&r[i], i, &seed);
    size_t n_batches = (n + per_batch - 1) / per_batch;

    /* SQLite. Arrange: the tally file with one unit and one device per client; all bodies encoded up front. */
    Client *cl = calloc((size_t)clients, sizeof *cl);
    enrol(path, cl, clients, "bench", one_unit);
    encode(cl, clients, "bench", r, n, per_batch);
    long failures = 0, busy = 0;
    double server_s = post_all(path, 1, cl, clients, &failures, &busy);
    clients_free(cl, clients);

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

    double base_batched = baseline(base1, r, n, per_batch);
    double base_one = baseline(base2, r, n, n);

    /* PostgreSQL: K servers on one database, the same ratings in the same batches from more kiosks. */
    char uri[256], settings[256] = "";
    int pg_rc = skip_pg ? 77 : bench_pg_start(uri, sizeof uri);
    if(pg_rc == 1)
        die("PostgreSQL", "tests/pg/pg-cluster could not start a cluster (its log is above)");
    bool pg = pg_rc == 0;
    double pg_s = 0, pg_base1 = 0, pg_basek = 0;
    long pg_failures = 0, pg_busy = 0;
    long long pg_stored = -1, pg_rolled = -1;
    if(pg) {
        bench_pg_settings(uri, settings, sizeof settings);
        fprintf(stderr, "ingest: PostgreSQL (%s), %d instances, %d clients...\n", settings, instances, pg_clients);
        Client *pc = calloc((size_t)pg_clients, sizeof *pc);
        enrol(uri, pc, pg_clients, "pg", one_unit);
        encode(pc, pg_clients, "pg", r, n, per_batch);
        pg_s = post_all(uri, instances, pc, pg_clients, &pg_failures, &pg_busy);
        clients_free(pc, pg_clients);
        PGconn *c = PQconnectdb(uri);
        if(PQstatus(c) != CONNECTION_OK)
            die("PostgreSQL", PQerrorMessage(c));
        counts(c, &pg_stored, &pg_rolled);
        PQfinish(c);
        char **body = malloc(n * sizeof *body);
        for(size_t i = 0; i < n; i++)
            body[i] = proto_rating_dump(&r[i]);
        pg_base1 = pg_baseline(uri, r, body, n, per_batch, 1);
        pg_basek = pg_baseline(uri, r, body, n, per_batch, instances);
        for(size_t i = 0; i < n; i++)
            free(body[i]);
        free(body);
        bench_pg_stop();
    }

    double rate = (double)n / server_s, rate_b = (double)n / base_batched, rate_1 = (double)n / base_one;
    printf("bench ingest: %zu ratings, batches of %zu (%zu batches), over loopback; each kiosk %s\n", n, per_batch,
           n_batches, one_unit ? "at the same counter (--one-unit)" : "at its own counter");
    printf("  SQLite (file, WAL, synchronous=FULL), 1 instance, %d clients\n", clients);
    printf("    tally server POST /api/v1/batches : %10.0f ratings/s  (%.2f s, %ld busy retried, %ld failed;"
           " stored %lld, roll-up %lld)\n", rate, server_s, busy, failures, stored, rolled);
    printf("    baseline SQLite insert, %4zu/txn  : %10.0f ratings/s  (%.2f s, same rows, table and pragmas)\n",
           per_batch, rate_b, base_batched);
    printf("    baseline SQLite insert, one txn   : %10.0f ratings/s  (%.2f s)\n", rate_1, base_one);
    printf("    ratio server / baseline (%zu/txn)  : %.2f\n", per_batch, rate / rate_b);
    if(pg) {
        double prate = (double)n / pg_s, prate_1 = (double)n / pg_base1, prate_k = (double)n / pg_basek;
        printf("  PostgreSQL 15 (Unix socket; %s), %d instances, %d clients\n", settings, instances, pg_clients);
        printf("    tally servers POST /api/v1/batches: %10.0f ratings/s  (%.2f s, %ld busy retried, %ld failed; stored"
               " %lld, roll-up %lld)\n", prate, pg_s, pg_busy, pg_failures, pg_stored, pg_rolled);
        printf("    baseline INSERT %4zu/txn, 1 conn  : %10.0f ratings/s  (%.2f s, multi-row prepared, same rows)\n",
               per_batch, prate_1, pg_base1);
        printf("    baseline INSERT %4zu/txn, %d conns : %10.0f ratings/s  (%.2f s)\n", per_batch, instances, prate_k,
               pg_basek);
        printf("    ratio servers / baseline (%d conns): %.2f\n", instances, prate / prate_k);
        printf("  ratio PostgreSQL (%d instances) / SQLite (1): %.2f\n", instances, prate / rate);
    } else {
        printf("  PostgreSQL: %s\n", skip_pg ? "skipped (--sqlite-only)"
                                             : "skipped: PostgreSQL 15 is not installed (scripts/bootstrap)");
    }

    free(r);
    const char *files[] = {path, base1, base2};
    for(int f = 0; f < 3; f++)
        bench_remove_db(files[f]);
    rmdir(dir);
    curl_global_cleanup();
    bool ok = !failures && stored == (long long)n && rolled == (long long)n;
    if(pg)
        ok = ok && !pg_failures && pg_stored == (long long)n && pg_rolled == (long long)n;
    return ok ? 0 : 1;
}
