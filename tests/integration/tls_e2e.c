/* tls_e2e.c — the nightly upload over real HTTPS: a self-signed certificate for 127.0.0.1/localhost made with
 * openssl in a temp folder, the real tally-server terminating TLS with it (--tls-cert/--tls-key) on a free
 * loopback port, and the real kiosk-sync --once trusting it through ca_file. Ratings arrive and the tally read
 * back over HTTPS equals the store; without the private CA, with the wrong CA, or over plain http:// to the
 * TLS port, kiosk-sync fails and every rating stays pending. Bad certificate or key files stop the server at
 * start-up with the reason. */
#include <curl/curl.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "sync/ptime.h"
#include "sync_harness.h"

/* Made once for the whole run: the server's certificate (also the kiosks' CA file) and key, and an unrelated
 * pair (a key that does not match, a CA that did not sign the server's certificate). */
static char g_certs[TH_PATH];
static char g_cert[TH_PATH + 32], g_key[TH_PATH + 32], g_other_cert[TH_PATH + 32], g_other_key[TH_PATH + 32];
static char g_enc_key[TH_PATH + 32]; /* the server's key, encrypted with a passphrase */

typedef struct {
    char dir[TH_PATH];
    ThServer srv;
    char https[128]; /* https://127.0.0.1:PORT */
    unsigned port;
} Fx;

static bool make_cert(const char *cert, const char *key, const char *subj, const char *san)
{
    const char *argv[] = {OPENSSL_BIN, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-addext",
                          san, "-days", "2", "-keyout", key, "-out", cert, NULL};
    char log[TH_PATH + 32];
    snprintf(log, sizeof log, "%s/openssl.log", g_certs);
    pid_t pid = th_spawn(argv, log);
    if(pid < 0 || th_wait(pid) != 0) {
        fprintf(stderr, "openssl req failed (see %s)\n", log);
        return false;
    }
    return true;
}

static int group_setup(void **state)
{
    (void)state;
    if(!th_tmpdir(g_certs, "tls_e2e_certs"))
        return -1;
    snprintf(g_cert, sizeof g_cert, "%s/server.pem", g_certs);
    snprintf(g_key, sizeof g_key, "%s/server.key", g_certs);
    snprintf(g_other_cert, sizeof g_other_cert, "%s/other.pem", g_certs);
    snprintf(g_other_key, sizeof g_other_key, "%s/other.key", g_certs);
    if(!make_cert(g_cert, g_key, "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost") ||
       !make_cert(g_other_cert, g_other_key, "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost"))
        return -1;
    snprintf(g_enc_key, sizeof g_enc_key, "%s/encrypted.key", g_certs);
    const char *enc[] = {OPENSSL_BIN, "pkey", "-in", g_key, "-aes256", "-passout", "pass:secret", "-out", g_enc_key,
                         NULL};
    if(th_run(enc, NULL, 0) != 0) {
        fprintf(stderr, "openssl pkey failed\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    th_rmtree(g_certs);
    return 0;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "r");
    if(!fp)
        return false;
    char line[2048];
    bool found = false;
    while(!found && fgets(line, sizeof line, fp))
        found = strstr(line, needle) != NULL;
    fclose(fp);
    return found;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts tally-server with TLS; its stdout and stderr go to s->log, where the "listening on" line is read. */
static bool tls_server_start(Fx *f)
{
    ThServer *s = &f->srv;
    const char *argv[] = {TALLY_SERVER_BIN, "--db", s->db, "--listen", "127.0.0.1:0", "--tls-cert", g_cert,
                          "--tls-key", g_key, NULL};
    s->pid = th_spawn(argv, s->log);
    if(s->pid < 0)
        return false;
    for(int i = 0; i < 600; i++) { /* up to 60 s (ASan start-up): a bound, not a timing assertion */
        FILE *fp = fopen(s->log, "r");
        char line[512];
        while(fp && fgets(line, sizeof line, fp)) {
            const char *u = strstr(line, "listening on https://127.0.0.1:");
            if(u) {
                fclose(fp);
                u += strlen("listening on ");
                snprintf(f->https, sizeof f->https, "%.*s", (int)strcspn(u, " \n"), u);
                snprintf(s->url, sizeof s->url, "%s", f->https);
                f->port = (unsigned)strtoul(strrchr(f->https, ':') + 1, NULL, 10);
                return f->port > 0;
            }
        }
        if(fp)
            fclose(fp);
        int st;
        if(waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = -1;
            fprintf(stderr, "tally-server exited at start-up; log %s\n", s->log);
            return false;
        }
        sleep_ms(100);
    }
    fprintf(stderr, "tally-server did not say it was listening\n");
    return false;
}

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    if(!f || !th_tmpdir(f->dir, "tls_e2e") || !th_server_init(&f->srv, f->dir) ||
       !th_server_unit(&f->srv, "G01.A", "G01") || !tls_server_start(f))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fx *f = *state;
    th_server_stop(&f->srv);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* Rewrites the kiosk's config (its store stays): [sync] url = base + "/api/v1", ca_file when one is given. */
static void set_sync(ThKiosk *k, const char *base, const char *ca_file, const char *token)
{
    assert_true(th_kiosk_make(k, k->dir, k->device_id, k->unit, k->scale, base, token));
    if(ca_file) {
        FILE *fp = fopen(k->ini, "a"); /* the ini ends in its [sync] section */
        assert_non_null(fp);
        fprintf(fp, "ca_file = %s\n", ca_file);
        fclose(fp);
    }
}

/* A kiosk enrolled at G01.A, with an empty store, configured as set_sync() does. */
static void new_kiosk(Fx *f, ThKiosk *k, const char *id, const char *base, const char *ca_file, char *token,
                      size_t token_len)
{
    char dir[TH_PATH + 32];
    snprintf(dir, sizeof dir, "%s/%s", f->dir, id);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_true(th_server_device(&f->srv, id, "G01.A", token, token_len));
    assert_true(th_kiosk_make(k, dir, id, "G01.A", SCALE_TTHC3, base, token));
    set_sync(k, base, ca_file, token);
}

/* ---- The tally read back over HTTPS, trusting only the test's certificate ----------------------------- */

typedef struct {
    char *d;
    size_t len;
} Mem;

static size_t on_data(char *p, size_t sz, size_t nm, void *ctx)
{
    Mem *m = ctx;
    size_t n = sz * nm;
    char *d = realloc(m->d, m->len + n + 1);
    if(!d)
        return 0;
    memcpy(d + m->len, p, n);
    m->d = d;
    m->len += n;
    m->d[m->len] = '\0';
    return n;
}

static bool https_tally(const Fx *f, ThCount *out)
{
    memset(out, 0, sizeof *out);
    char url[256], auth[400];
    snprintf(url, sizeof url, "%s/api/v1/tally?from=2026-10-01&to=2026-12-31&by=area", f->https);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", f->srv.viewer);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    Mem body = {0};
    long status = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if(c && h) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_CAINFO, g_cert);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    if(c)
        curl_easy_cleanup(c);
    if(rc != CURLE_OK) {
        fprintf(stderr, "GET %s: %s\n", url, curl_easy_strerror(rc));
        free(body.d);
        return false;
    }
    json_error_t je;
    json_t *root = status == 200 && body.d ? json_loads(body.d, 0, &je) : NULL;
    json_t *rows = json_object_get(root, "rows");
    bool ok = json_is_array(rows);
    if(!ok)
        fprintf(stderr, "tally: HTTP %ld: %s\n", status, body.d ? body.d : "");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        int a = proto_area_from_code(json_string_value(json_object_get(row, "key")));
        if(a < 0) {
            fprintf(stderr, "tally: unexpected row in %s\n", body.d);
            ok = false;
            break;
        }
        out->n[a] = json_integer_value(json_object_get(row, "n"));
        out->satisfied[a] = json_integer_value(json_object_get(row, "satisfied"));
        out->flagged[a] = json_integer_value(json_object_get(row, "flagged"));
    }
    json_decref(root);
    free(body.d);
    return ok;
}

/* The store's own view: its day totals over every day the ratings span. */
static void store_totals(const ThKiosk *k, ThCount *c)
{
    Store *s;
    char msg[256];
    assert_int_equal(store_open(k->db, &s, msg, sizeof msg), STORE_OK);
    int64_t from, to;
    assert_true(ptime_parse_date("2026-10-01", &from));
    assert_true(ptime_parse_date("2026-12-31", &to));
    for(int64_t d = from; d <= to; d++) {
        StoreDayTotals t;
        assert_int_equal(store_day_totals(s, d, &t), STORE_OK);
        for(int a = 0; a < AREA_COUNT; a++) {
            c->n[a] += t.n[a];
            c->satisfied[a] += t.satisfied[a];
            c->flagged[a] += t.flagged[a];
        }
    }
    store_close(s);
}

static StoreSyncStatus status_of(const ThKiosk *k)
{
    Store *s;
    char msg[256];
    StoreSyncStatus st;
    assert_int_equal(store_open(k->db, &s, msg, sizeof msg), STORE_OK);
    assert_int_equal(store_sync_status_get(s, &st), STORE_OK);
    store_close(s);
    return st;
}

static void assert_tally_empty(const Fx *f)
{
    ThCount got, zero = {0};
    assert_true(https_tally(f, &got));
    assert_true(th_count_equal(&zero, &got));
}

/* ---- Tests --------------------------------------------------------------------------------------------- */

static void test_upload_over_https_with_the_private_ca_reaches_the_tally(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-tls", f->https, g_cert, tok, sizeof tok);
    enum { N = 777 }; /* two batches over one kept-alive TLS connection */
    ProtoRating *r = calloc(N, sizeof *r);
    assert_non_null(r);
    th_make_ratings(r, N, "G01.A", SCALE_TTHC3, 11);
    assert_true(th_store_ratings(&k, r, N));
    if(th_kiosk_sync(&k, NULL) != 0) {
        th_kiosk_dump_log(&k);
        fail_msg("kiosk-sync --once over https did not exit 0");
    }
    StoreCounts c = th_store_counts(&k);
    assert_int_equal(c.pending, 0);
    assert_int_equal(c.acked, N);
    assert_string_equal(status_of(&k).last_error, "");

    ThCount want = {0}, from_store = {0}, got;
    th_count_add(&want, r, N);
    store_totals(&k, &from_store);
    assert_true(th_count_equal(&want, &from_store));
    assert_true(https_tally(f, &got));
    assert_true(th_count_equal(&from_store, &got));
    /* The batches really went through the TLS daemon. */
    assert_true(file_contains(f->srv.log, "POST /api/v1/batches 200 device=kiosk-tls"));
    free(r);
}

static void test_without_the_private_ca_verification_fails_and_all_stays_pending(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-noca", f->https, NULL, tok, sizeof tok); /* system CAs only */
    ProtoRating r[40];
    th_make_ratings(r, 40, "G01.A", SCALE_TTHC3, 12);
    assert_true(th_store_ratings(&k, r, 40));
    assert_int_equal(th_kiosk_sync(&k, NULL), 1);
    assert_int_equal(th_store_counts(&k).pending, 40);
    assert_int_equal(th_store_counts(&k).acked, 0);
    StoreSyncStatus st = status_of(&k);
    assert_non_null(strstr(st.last_error, "certificate"));
    assert_int_equal(st.failures, 1);
    assert_false(file_contains(f->srv.log, "device=kiosk-noca"));
    assert_tally_empty(f);

    /* A CA that did not sign the server's certificate is no better. */
    new_kiosk(f, &k, "kiosk-wrongca", f->https, g_other_cert, tok, sizeof tok);
    assert_true(th_store_ratings(&k, r, 40));
    assert_int_equal(th_kiosk_sync(&k, NULL), 1);
    assert_int_equal(th_store_counts(&k).pending, 40);
    assert_non_null(strstr(status_of(&k).last_error, "certificate"));
    assert_tally_empty(f);

    /* The same kiosk with the right CA uploads: verification was the only thing in the way. */
    set_sync(&k, f->https, g_cert, tok);
    if(th_kiosk_sync(&k, NULL) != 0) {
        th_kiosk_dump_log(&k);
        fail_msg("kiosk-sync with the right ca_file did not exit 0");
    }
    assert_int_equal(th_store_counts(&k).pending, 0);
    ThCount want = {0}, got;
    th_count_add(&want, r, 40);
    assert_true(https_tally(f, &got));
    assert_true(th_count_equal(&want, &got));
}

static void test_plain_http_to_the_tls_port_fails_and_all_stays_pending(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256], http[128];
    snprintf(http, sizeof http, "http://127.0.0.1:%u", f->port);
    new_kiosk(f, &k, "kiosk-plain", http, g_cert, tok, sizeof tok);
    ProtoRating r[25];
    th_make_ratings(r, 25, "G01.A", SCALE_TTHC3, 13);
    assert_true(th_store_ratings(&k, r, 25));
    assert_int_equal(th_kiosk_sync(&k, NULL), 1);
    assert_int_equal(th_store_counts(&k).pending, 25);
    assert_int_equal(th_store_counts(&k).acked, 0);
    assert_true(status_of(&k).last_error[0] != '\0');
    assert_false(file_contains(f->srv.log, "device=kiosk-plain"));
    assert_tally_empty(f);
    /* The server shrugged it off and still serves HTTPS. */
    set_sync(&k, f->https, g_cert, tok);
    assert_int_equal(th_kiosk_sync(&k, NULL), 0);
    assert_int_equal(th_store_counts(&k).pending, 0);
}

/* Runs tally-server with extra arguments that must stop it at start-up; true when it exited 2 without
 * listening and its output has both needles (the English and the Vietnamese part of the reason). */
static bool refused_at_start(const Fx *f, const char *const extra[], const char *en, const char *vi)
{
    char log[TH_PATH + 32];
    static int n;
    snprintf(log, sizeof log, "%s/refused-%d.log", f->dir, ++n);
    const char *argv[16] = {TALLY_SERVER_BIN, "--db", f->srv.db, "--listen", "127.0.0.1:0"};
    size_t i = 5;
    for(; extra[i - 5]; i++)
        argv[i] = extra[i - 5];
    argv[i] = NULL;
    pid_t pid = th_spawn(argv, log);
    if(pid < 0)
        return false;
    int rc = th_wait(pid);
    bool ok = rc == 2 && !file_contains(log, "listening on") && file_contains(log, en) && file_contains(log, vi);
    if(!ok) {
        fprintf(stderr, "expected exit 2 with '%s' and '%s'; got %d:\n", en, vi, rc);
        char cmd[TH_PATH + 64];
        snprintf(cmd, sizeof cmd, "cat %s >&2", log);
        if(system(cmd) != 0)
            fprintf(stderr, "(no output)\n");
    }
    return ok;
}

static void test_bad_certificate_or_key_stops_the_server_with_the_reason(void **state)
{
    Fx *f = *state;
    char missing[TH_PATH + 32], garbage[TH_PATH + 32];
    snprintf(missing, sizeof missing, "%s/nonexistent.pem", f->dir);
    snprintf(garbage, sizeof garbage, "%s/garbage.pem", f->dir);
    FILE *fp = fopen(garbage, "w");
    assert_non_null(fp);
    fputs("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", fp);
    fclose(fp);

    const char *only_cert[] = {"--tls-cert", g_cert, NULL};
    assert_true(refused_at_start(f, only_cert, "--tls-cert and --tls-key go together", "cần cả"));
    const char *only_key[] = {"--tls-key", g_key, NULL};
    assert_true(refused_at_start(f, only_key, "--tls-cert and --tls-key go together", "cần cả"));
    const char *no_file[] = {"--tls-cert", missing, "--tls-key", g_key, NULL};
    assert_true(refused_at_start(f, no_file, "nonexistent.pem: No such file", "không đọc được tệp"));
    const char *no_key_file[] = {"--tls-cert", g_cert, "--tls-key", missing, NULL};
    assert_true(refused_at_start(f, no_key_file, "--tls-key", "không đọc được tệp"));
    const char *not_pem[] = {"--tls-cert", f->srv.db, "--tls-key", g_key, NULL};
    assert_true(refused_at_start(f, not_pem, "not a PEM file", "không phải tệp PEM"));
    const char *key_as_cert[] = {"--tls-cert", g_key, "--tls-key", g_cert, NULL};
    assert_true(refused_at_start(f, key_as_cert, "no certificate in it", "không chứa chứng chỉ"));
    const char *mismatch[] = {"--tls-cert", g_cert, "--tls-key", g_other_key, NULL};
    assert_true(refused_at_start(f, mismatch, "do not match", "không khớp"));
    const char *encrypted[] = {"--tls-cert", g_cert, "--tls-key", g_enc_key, NULL};
    assert_true(refused_at_start(f, encrypted, "the key is encrypted", "khoá đang được mã hoá"));
    const char *corrupt[] = {"--tls-cert", garbage, "--tls-key", g_key, NULL};
    assert_true(refused_at_start(f, corrupt, "--tls-cert/--tls-key", "không hợp lệ"));

    /* The running server with the good pair was never disturbed. */
    assert_tally_empty(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upload_over_https_with_the_private_ca_reaches_the_tally, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_without_the_private_ca_verification_fails_and_all_stays_pending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plain_http_to_the_tls_port_fails_and_all_stays_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_certificate_or_key_stops_the_server_with_the_reason, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
