/* tls_e2e.c — the nightly upload over real HTTPS: a self-signed certificate for 127.0.0.1/localhost made with
 * openssl in a temp folder, the real tally-server terminating TLS with it (--tls-cert/--tls-key) on a free
 * loopback port, and the real kiosk-sync --once trusting it through ca_file. Ratings arrive and the tally read
 * back over HTTPS equals the store; without the private CA, with the wrong CA, or over plain http:// to the
 * TLS port, kiosk-sync fails and every rating stays pending. Bad certificate or key files stop the server at
 * start-up with the reason. */
#include <curl/curl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sync_harness.h"

/* Made once for the whole run: the server's certificate (also the kiosks' CA file) and key, and an unrelated
 * pair (a key that does not match, a CA that did not sign the server's certificate). */
static char g_certs[TH_PATH];
static char g_cert[TH_PATH + 32], g_key[TH_PATH + 32], g_other_cert[TH_PATH + 32], g_other_key[TH_PATH + 32];
static char g_enc_key[TH_PATH + 32]; /* the server's key, encrypted with a passphrase */

typedef struct {
    char dir[TH_PATH];
    ThServer srv; /* its url is https://127.0.0.1:PORT; its own requests trust g_cert */
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

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    if(!f || !th_tmpdir(f->dir, "tls_e2e") || !th_server_init(&f->srv, f->dir) ||
       !th_server_unit(&f->srv, "G01.A", "G01") || !th_server_start_tls(&f->srv, g_cert, g_key))
        return -1;
    snprintf(f->srv.ca_file, sizeof f->srv.ca_file, "%s", g_cert);
    f->port = (unsigned)strtoul(strrchr(f->srv.url, ':') + 1, NULL, 10);
    if(f->port == 0)
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

/* The store's sync status; fails the test when the store cannot tell. */
static StoreSyncStatus status_of(const ThKiosk *k)
{
    StoreSyncStatus st;
    assert_true(th_store_sync_status(k, &st));
    return st;
}

/* The tally read back over HTTPS, trusting only the test's certificate, is still empty. */
static void assert_tally_empty(const Fx *f)
{
    ThCount got, zero = {0};
    assert_true(th_server_tally(&f->srv, &got));
    assert_true(th_count_equal(&zero, &got));
}

/* ---- Tests --------------------------------------------------------------------------------------------- */

static void test_upload_over_https_with_the_private_ca_reaches_the_tally(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-tls", f->srv.url, g_cert, tok, sizeof tok);
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
    assert_true(th_store_totals(&k, &from_store));
    assert_true(th_count_equal(&want, &from_store));
    assert_true(th_server_tally(&f->srv, &got));
    assert_true(th_count_equal(&from_store, &got));
    /* The batches really went through the TLS daemon. */
    assert_true(th_file_contains(f->srv.log, "\"POST /api/v1/batches\" 200 batches device=kiosk-tls"));
    free(r);
}

static void test_without_the_private_ca_verification_fails_and_all_stays_pending(void **state)
{
    Fx *f = *state;
    ThKiosk k;
    char tok[256];
    new_kiosk(f, &k, "kiosk-noca", f->srv.url, NULL, tok, sizeof tok); /* system CAs only */
    ProtoRating r[40];
    th_make_ratings(r, 40, "G01.A", SCALE_TTHC3, 12);
    assert_true(th_store_ratings(&k, r, 40));
    assert_int_equal(th_kiosk_sync(&k, NULL), 1);
    assert_int_equal(th_store_counts(&k).pending, 40);
    assert_int_equal(th_store_counts(&k).acked, 0);
    StoreSyncStatus st = status_of(&k);
    assert_non_null(strstr(st.last_error, "certificate"));
    assert_int_equal(st.failures, 1);
    assert_false(th_file_contains(f->srv.log, "device=kiosk-noca"));
    assert_tally_empty(f);

    /* A CA that did not sign the server's certificate is no better. */
    new_kiosk(f, &k, "kiosk-wrongca", f->srv.url, g_other_cert, tok, sizeof tok);
    assert_true(th_store_ratings(&k, r, 40));
    assert_int_equal(th_kiosk_sync(&k, NULL), 1);
    assert_int_equal(th_store_counts(&k).pending, 40);
    assert_non_null(strstr(status_of(&k).last_error, "certificate"));
    assert_tally_empty(f);

    /* The same kiosk with the right CA uploads: verification was the only thing in the way. */
    set_sync(&k, f->srv.url, g_cert, tok);
    if(th_kiosk_sync(&k, NULL) != 0) {
        th_kiosk_dump_log(&k);
        fail_msg("kiosk-sync with the right ca_file did not exit 0");
    }
    assert_int_equal(th_store_counts(&k).pending, 0);
    ThCount want = {0}, got;
    th_count_add(&want, r, 40);
    assert_true(th_server_tally(&f->srv, &got));
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
    assert_false(th_file_contains(f->srv.log, "device=kiosk-plain"));
    assert_tally_empty(f);
    /* The server shrugged it off and still serves HTTPS. */
    set_sync(&k, f->srv.url, g_cert, tok);
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
    bool ok = rc == 2 && !th_file_contains(log, "listening on") && th_file_contains(log, en) &&
              th_file_contains(log, vi);
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
