/* bench/upload — how long a kiosk takes to upload a backlog, against the server's own ingest time.
 *
 *   upload [--ratings N]      (default 30,000: about a month of a busy counter that could not upload)
 *
 * Figure: wall time of the real `kiosk-sync --once` (process start, store reads, batch encoding, the POSTs
 * over loopback with keep-alive, marking every rating acknowledged in the store) uploading N pending ratings
 * from a kiosk store to a real tally-server with a fresh database.
 * Baseline, same run: the same ratings in the same batches of 500, encoded before the clock starts, POSTed
 * on one keep-alive connection to a second real tally-server with a fresh database — the server's bare
 * ingest time for those batches. Ratio = kiosk-sync / bare ingest: what the uploader adds on top. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sync/protocol.h"
#include "sync/uuid.h"
#include "sync_harness.h"

#define UNIT "G01.B"
#define BATCH 500

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "upload: %s\n", what);
    exit(1);
}

static size_t sink(char *p, size_t sz, size_t nm, void *ctx)
{
    (void)p;
    (void)ctx;
    return sz * nm;
}

/* A fresh tally database with one unit and device, served on a free port. */
static void server(ThServer *s, const char *root, const char *name, char *token, size_t token_len)
{
    char dir[TH_PATH];
    snprintf(dir, sizeof dir, "%.200s/%s", root, name);
    if(mkdir(dir, 0700) != 0 || !th_server_init(s, dir) || !th_server_unit(s, UNIT, "G01") ||
       !th_server_device(s, "kiosk-bench", UNIT, token, token_len) || !th_server_start(s))
        die("cannot set up a tally-server");
}

int main(int argc, char **argv)
{
    size_t n = 30000;
    for(int i = 1; i < argc; i++) {
        if(strcmp(argv[i], "--ratings") == 0 && i + 1 < argc)
            n = (size_t)strtoul(argv[++i], NULL, 10);
        else
            die("usage: upload [--ratings N]");
    }
    if(n == 0)
        die("--ratings must be at least 1");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char root[TH_PATH];
    if(!th_tmpdir(root, "bench_upload"))
        die("no temp folder");

    /* The backlog: n pending ratings in a kiosk store. */
    ProtoRating *r = calloc(n, sizeof *r);
    if(!r)
        die("out of memory");
    th_make_ratings(r, n, UNIT, SCALE_TTHC3, 42);
    char kdir[TH_PATH];
    snprintf(kdir, sizeof kdir, "%.200s/kiosk", root);
    ThKiosk k;
    ThServer bare, up;
    char tok_bare[256], tok_up[256];
    if(mkdir(kdir, 0700) != 0)
        die("mkdir");
    server(&bare, root, "bare", tok_bare, sizeof tok_bare);
    server(&up, root, "up", tok_up, sizeof tok_up);
    if(!th_kiosk_make(&k, kdir, "kiosk-bench", UNIT, SCALE_TTHC3, up.url, tok_up))
        die("cannot make the kiosk");
    Store *st;
    char msg[256];
    if(store_open(k.db, &st, msg, sizeof msg) != STORE_OK)
        die(msg);
    for(size_t off = 0; off < n; off += 1000)
        if(store_add_many(st, r + off, n - off < 1000 ? n - off : 1000) != STORE_OK)
            die(store_errmsg(st));
    store_close(st);

    /* Baseline: the same batches (seq order, 500 each), encoded up front, posted back to back. */
    size_t nb = (n + BATCH - 1) / BATCH;
    char **bodies = calloc(nb, sizeof *bodies);
    for(size_t b = 0; b < nb; b++) {
        char id[UUID_TEXT_LEN], sent[PTIME_TEXT_MAX];
        uuid_v7_new(id);
        ptime_format((int64_t)time(NULL), PTIME_VN_OFFSET_MIN, sent);
        size_t m = n - b * BATCH < BATCH ? n - b * BATCH : BATCH;
        bodies[b] = proto_batch_dump(id, "kiosk-bench", sent, r + b * BATCH, m);
        if(!bodies[b])
            die("encode");
    }
    CURL *c = curl_easy_init();
    char url[256], auth[320];
    snprintf(url, sizeof url, "%s/api/v1/batches", bare.url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok_bare);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    double t0 = now_s();
    for(size_t b = 0; b < nb; b++) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, bodies[b]);
        long status = 0;
        if(curl_easy_perform(c) != CURLE_OK || (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), status != 200))
            die("bare ingest: a batch failed");
    }
    double bare_s = now_s() - t0;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);

    /* The figure: kiosk-sync uploading the backlog. */
    t0 = now_s();
    int rc = th_kiosk_sync(&k, NULL);
    double up_s = now_s() - t0;
    StoreCounts cnt = th_store_counts(&k);
    if(rc != 0 || cnt.pending != 0 || cnt.acked != (int64_t)n) {
        th_kiosk_dump_log(&k);
        die("kiosk-sync did not upload everything");
    }
    ThCount want = {0}, got_up, got_bare;
    th_count_add(&want, r, n);
    if(!th_server_tally(&up, &got_up) || !th_count_equal(&want, &got_up) || !th_server_tally(&bare, &got_bare) ||
       !th_count_equal(&want, &got_bare))
        die("a tally does not match the ratings sent");

    printf("upload: %zu pending ratings in %zu batches of %d over loopback, fresh tally databases\n", n, nb, BATCH);
    printf("  kiosk-sync --once (store -> server -> store acks): %8.1f ms  %9.0f ratings/s\n", up_s * 1e3,
           (double)n / up_s);
    printf("  baseline: bare ingest of the same batches:         %8.1f ms  %9.0f ratings/s\n", bare_s * 1e3,
           (double)n / bare_s);
    printf("  ratio kiosk-sync / bare ingest: %.2f\n", up_s / bare_s);

    for(size_t b = 0; b < nb; b++)
        free(bodies[b]);
    free(bodies);
    free(r);
    th_server_stop(&bare);
    th_server_stop(&up);
    th_rmtree(root);
    curl_global_cleanup();
    return 0;
}
