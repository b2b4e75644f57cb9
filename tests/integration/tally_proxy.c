/* tally_proxy.c — tally-server behind a reverse proxy (nginx in front of several instances, or the packaged
 * loopback default): with --trusted-proxy the dashboard's sign-in lockout, the audit trail and the log see the
 * client named last in X-Forwarded-For, so one client's wrong passwords slow that client and not everyone
 * behind the proxy; without it (or from an address not trusted) the header is ignored and cannot be forged.
 * The requests come from 127.0.0.1 and carry the header themselves, as nginx would add it. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sync_harness.h"

#define CSRF "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SLOW_AFTER 10 /* tally_lock_policy_default(): an address is slowed after 10 failures */

/* The first column of the first row of sql, read-only from the server's file; -1 on error. */
static long long scalar(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    long long v = -1;
    if(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
       sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if(sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

static size_t sink(char *p, size_t sz, size_t nm, void *ctx)
{
    (void)p, (void)ctx;
    return sz * nm;
}

/* POSTs a wrong sign-in for name, forwarded for xff (NULL: no header); the status. */
static long wrong_sign_in(const ThServer *s, const char *name, const char *xff)
{
    char url[256], body[256], hx[128];
    snprintf(url, sizeof url, "%s/dang-nhap", s->url);
    snprintf(body, sizeof body, "csrf=%s&name=%s&password=sai-mat-khau-roi", CSRF, name);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Cookie: tally_login_csrf=" CSRF);
    if(xff) {
        snprintf(hx, sizeof hx, "X-Forwarded-For: %s", xff);
        h = curl_slist_append(h, hx);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    long status = 0;
    if(curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static ThServer g_srv; /* the test's server: the teardown stops it and removes its folder, also after a failure */

static int stop_server(void **state)
{
    (void)state;
    th_server_stop(&g_srv);
    if(g_srv.dir[0])
        th_rmtree(g_srv.dir);
    memset(&g_srv, 0, sizeof g_srv);
    return 0;
}

/* Runs SLOW_AFTER wrong sign-ins forwarded for 10.9.9.1 (each a different name: only the address adds up),
 * then one forwarded for 10.9.9.1 and one for 10.9.9.2; their statuses into *a and *b. */
static void run(const char *const args[], long *a, long *b, ThServer *srv)
{
    char dir[TH_PATH];
    assert_true(th_tmpdir(dir, "proxy"));
    assert_true(th_server_init(srv, dir));
    assert_true(th_server_start_args(srv, args));
    for(int i = 0; i < SLOW_AFTER; i++) {
        char name[32];
        snprintf(name, sizeof name, "khach-%d", i);
        /* A client's own header first, then what the proxy appended: only the last entry counts. */
        assert_int_equal(wrong_sign_in(srv, name, "203.0.113.7, 10.9.9.1"), 401);
    }
    *a = wrong_sign_in(srv, "khach-a", "10.9.9.1");
    *b = wrong_sign_in(srv, "khach-b", "10.9.9.2");
}

static void test_trusted_proxy_slows_only_the_client_it_names(void **state)
{
    (void)state;
    ThServer *srv = &g_srv;
    const char *const args[] = {"--trusted-proxy", "127.0.0.1,::1", NULL};
    long a, b;
    run(args, &a, &b, srv);
    assert_int_equal(a, 429); /* 10.9.9.1 is slowed */
    assert_int_equal(b, 401); /* 10.9.9.2 only got its password wrong */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit WHERE addr = '10.9.9.1' AND event = 'sign_in_failed'");
    assert_int_equal(scalar(srv->db, sql), SLOW_AFTER);
    assert_true(th_file_contains(srv->log, "tally-server: 10.9.9.2 \"POST /dang-nhap\""));
}

static void test_without_trust_the_header_is_ignored(void **state)
{
    (void)state;
    ThServer *srv = &g_srv;
    const char *const args[] = {NULL};
    long a, b;
    run(args, &a, &b, srv);
    assert_int_equal(a, 429);
    assert_int_equal(b, 429); /* everyone comes from 127.0.0.1: a forged header moves nothing */
    assert_int_equal(scalar(srv->db, "SELECT count(*) FROM audit WHERE addr LIKE '10.9.9.%'"), 0);
}

/* Only a proxy's address is trusted: a direct client naming someone else in the header is itself. */
static void test_header_from_an_untrusted_address_is_ignored(void **state)
{
    (void)state;
    ThServer *srv = &g_srv;
    const char *const args[] = {"--trusted-proxy", "192.0.2.10", NULL};
    long a, b;
    run(args, &a, &b, srv);
    assert_int_equal(b, 429);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_trusted_proxy_slows_only_the_client_it_names, stop_server),
        cmocka_unit_test_teardown(test_without_trust_the_header_is_ignored, stop_server),
        cmocka_unit_test_teardown(test_header_from_an_untrusted_address_is_ignored, stop_server),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
