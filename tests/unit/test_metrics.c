/* test_metrics.c — the tally server's metrics module on its own: a counter snapshot as the exposition shows it,
 * the exposition's grammar (even with hostile label values), and the --metrics-allow address check. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom_check.h"
#include "sync/tally/tally_metrics.h"

static char *render(const TallyHttpStats *st, const TallyMetricsDevice *d, size_t n)
{
    char *text = tally_metrics_render(st, d, n);
    assert_non_null(text);
    char why[256];
    if(!prom_valid(text, why, sizeof why))
        fail_msg("%s\n%s", why, text);
    return text;
}

/* A snapshot as tally_http_stats() fills it: two routes, some answers and refusals, a busy writer. */
static void sample(TallyHttpStats *st)
{
    memset(st, 0, sizeof *st);
    st->n_routes = 2;
    st->route_name[0] = "batches";
    st->route_name[1] = "metrics";
    st->requests[0][0].code = 200, st->requests[0][0].n = 3;
    st->requests[0][1].code = 503, st->requests[0][1].n = 4;
    st->requests[0][2].code = 0, st->requests[0][2].n = 1; /* ended without an answer */
    st->requests[1][0].code = 403, st->requests[1][0].n = 1;
    st->requests[2][0].code = 404, st->requests[2][0].n = 2; /* no route */
    st->requests[2][1].code = 431, st->requests[2][1].n = 5;
    st->cut_off = 6;
    st->refused_per_address = 7;
    st->refused_connections = 8;
    st->refused_body_memory = 9;
    st->refused_db_busy = 10;
    st->connections = 3;
    st->in_flight = 1;
    st->writer.refused = 11;
    st->writer.depth = 12;
    st->writer.max_depth = 256;
    st->writer.written = 13, st->writer.dropped = 2, st->writer.failed = 1;
    st->writer.accepted = 12, st->writer.duplicate = 2, st->writer.rejected = 1, st->writer.quarantined = 4;
    st->health.writable = true;
    st->busy_waits = 5, st->busy_wait_us = 1500000;
}

static void test_counters_show_what_was_counted(void **state)
{
    (void)state;
    TallyHttpStats *st = calloc(1, sizeof *st);
    assert_non_null(st);
    char *t = render(st, NULL, 0); /* all zero: still a valid exposition */
    assert_true(prom_value(t, "tally_ratings_total{result=\"accepted\"}") == 0);
    assert_true(prom_value(t, "tally_http_requests_total{route=\"batches\",code=\"200\"}") == -1); /* none yet */
    free(t);

    sample(st);
    TallyMetricsDevice d[] = {{"kiosk-01", "G01.Q1", 1795651200, 0}, {"kiosk-02", "G01.Q2", 0, 0},
                              {"kiosk-03", "G01.Q3", 1795651300, 7}};
    t = render(st, d, 3);
    assert_true(prom_value(t, "tally_http_requests_total{route=\"batches\",code=\"200\"}") == 3);
    assert_true(prom_value(t, "tally_http_requests_total{route=\"batches\",code=\"503\"}") == 4);
    assert_true(prom_value(t, "tally_http_requests_total{route=\"batches\",code=\"none\"}") == 1);
    assert_true(prom_value(t, "tally_http_requests_total{route=\"none\",code=\"404\"}") == 2);
    assert_true(prom_value(t, "tally_http_requests_total{route=\"none\",code=\"431\"}") == 5);
    assert_true(prom_value(t, "tally_http_requests_total{route=\"metrics\",code=\"403\"}") == 1);
    assert_true(prom_value(t, "tally_http_refusals_total{cause=\"deadline\"}") == 6);
    assert_true(prom_value(t, "tally_http_refusals_total{cause=\"per_address_limit\"}") == 7);
    assert_true(prom_value(t, "tally_http_refusals_total{cause=\"connection_limit\"}") == 8);
    assert_true(prom_value(t, "tally_http_refusals_total{cause=\"body_memory\"}") == 9);
    assert_true(prom_value(t, "tally_http_refusals_total{cause=\"db_busy\"}") == 10);
    assert_true(prom_value(t, "tally_http_refusals_total{cause=\"queue_full\"}") == 11);
    assert_true(prom_value(t, "tally_ingest_queue_depth") == 12);
    assert_true(prom_value(t, "tally_ingest_queue_capacity") == 256);
    assert_true(prom_value(t, "tally_ingest_batches_total{result=\"written\"}") == 13);
    assert_true(prom_value(t, "tally_ingest_batches_total{result=\"dropped\"}") == 2);
    assert_true(prom_value(t, "tally_ratings_total{result=\"accepted\"}") == 12);
    assert_true(prom_value(t, "tally_ratings_total{result=\"duplicate\"}") == 2);
    assert_true(prom_value(t, "tally_ratings_total{result=\"rejected\"}") == 1);
    assert_true(prom_value(t, "tally_ratings_quarantined_total") == 4);
    assert_true(prom_value(t, "tally_db_writable") == 1);
    assert_true(prom_value(t, "tally_db_busy_waits_total") == 5);
    assert_true(prom_value(t, "tally_db_busy_wait_seconds_total") == 1.5);
    assert_true(prom_value(t, "tally_http_open_connections") == 3);
    assert_true(prom_value(t, "tally_http_requests_in_flight") == 1);
    assert_true(prom_value(t, "tally_device_last_upload_timestamp_seconds{device=\"kiosk-01\",unit=\"G01.Q1\"}") ==
                1795651200);
    assert_true(prom_value(t, "tally_device_quarantined_ratings{device=\"kiosk-03\",unit=\"G01.Q3\"}") == 7);
    assert_true(prom_value(t, "tally_device_quarantined_ratings{device=\"kiosk-01\",unit=\"G01.Q1\"}") == -1);
    assert_null(strstr(t, "kiosk-02")); /* never uploaded, nothing quarantined: no sample */
    free(t);
    free(st);
}

static void test_label_values_are_escaped_so_no_line_can_be_forged(void **state)
{
    (void)state;
    TallyHttpStats *st = calloc(1, sizeof *st);
    assert_non_null(st);
    TallyMetricsDevice d[] = {{"a\"b\\c\nfake_metric 1", "u", 5, 0}};
    char *t = render(st, d, 1); /* render() fails the test unless the grammar holds */
    assert_non_null(strstr(t, "device=\"a\\\"b\\\\c\\nfake_metric 1\""));
    assert_true(prom_value(t, "fake_metric") == -1);
    free(t);
    free(st);
}

static void test_the_grammar_check_itself_refuses_bad_expositions(void **state)
{
    (void)state;
    char why[256];
    assert_true(prom_valid("# HELP a x\n# TYPE a counter\na{b=\"c\"} 1\n", why, sizeof why));
    assert_false(prom_valid("a 1\n", why, sizeof why));                                       /* no TYPE */
    assert_false(prom_valid("# TYPE a counter\na{b=\"c\"} x\n", why, sizeof why));            /* value */
    assert_false(prom_valid("# TYPE a counter\na{b=\"c\nd\"} 1\n", why, sizeof why));         /* raw LF */
    assert_false(prom_valid("# TYPE a counter\na{b=\"c\",b=\"d\"} 1\n", why, sizeof why));    /* label twice */
    assert_false(prom_valid("# TYPE a counter\n# TYPE a gauge\n", why, sizeof why));         /* TYPE twice */
    assert_false(prom_valid("# TYPE a counter\na 1", why, sizeof why));                      /* no final LF */
}

static struct sockaddr_storage g_ss; /* one address at a time */

static const struct sockaddr *v4(const char *a)
{
    memset(&g_ss, 0, sizeof g_ss);
    struct sockaddr_in *s = (struct sockaddr_in *)&g_ss;
    s->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
    return (const struct sockaddr *)&g_ss;
}

static const struct sockaddr *v6(const char *a)
{
    memset(&g_ss, 0, sizeof g_ss);
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&g_ss;
    s->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
    return (const struct sockaddr *)&g_ss;
}

#define ALLOWED(al, sa) tally_metrics_allowed(al, sa)

static void test_metrics_allow_matches_addresses_and_ranges(void **state)
{
    (void)state;
    TallyMetricsAllow al;
    char msg[TALLY_MSG_MAX];
    assert_int_equal(tally_metrics_allow_parse(TALLY_METRICS_ALLOW_DEFAULT, &al, msg), TALLY_OK);
    assert_true(ALLOWED(&al, v4("127.0.0.1")));
    assert_true(ALLOWED(&al, v4("127.3.4.5")));
    assert_true(ALLOWED(&al, v6("::1")));
    assert_true(ALLOWED(&al, v6("::ffff:127.0.0.1"))); /* IPv4 on a dual-stack socket */
    assert_false(ALLOWED(&al, v4("10.0.0.1")));
    assert_false(ALLOWED(&al, v6("::2")));
    assert_false(ALLOWED(&al, v6("::ffff:10.0.0.1")));

    assert_int_equal(tally_metrics_allow_parse("10.20.0.0/22,2001:db8::/32,192.0.2.7", &al, msg), TALLY_OK);
    assert_true(ALLOWED(&al, v4("10.20.3.255")));
    assert_false(ALLOWED(&al, v4("10.20.4.0")));
    assert_true(ALLOWED(&al, v6("2001:db8:ffff::1")));
    assert_false(ALLOWED(&al, v6("2001:db9::1")));
    assert_true(ALLOWED(&al, v4("192.0.2.7")));
    assert_false(ALLOWED(&al, v4("192.0.2.8")));
    assert_false(ALLOWED(&al, v4("127.0.0.1"))); /* loopback only when listed */
    assert_false(tally_metrics_allowed(&al, NULL));

    assert_int_equal(tally_metrics_allow_parse("0.0.0.0/0", &al, msg), TALLY_OK);
    assert_true(ALLOWED(&al, v4("203.0.113.9")));
    assert_false(ALLOWED(&al, v6("2001:db8::1"))); /* an IPv4 range says nothing of IPv6 */
}

static void test_metrics_allow_refuses_bad_lists_naming_the_entry(void **state)
{
    (void)state;
    TallyMetricsAllow al;
    char msg[TALLY_MSG_MAX];
    static const char *const BAD[] = {"", ",", "10.0.0.1,", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0/8",
                                      "localhost", "10.0.0.0/-1", "10.0.0.0/8x"};
    for(size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        msg[0] = '\0';
        assert_int_equal(tally_metrics_allow_parse(BAD[i], &al, msg), TALLY_E_INVALID);
        assert_non_null(strstr(msg, "--metrics-allow"));
    }
    assert_int_equal(tally_metrics_allow_parse("localhost", &al, msg), TALLY_E_INVALID);
    assert_non_null(strstr(msg, "localhost"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_show_what_was_counted),
        cmocka_unit_test(test_label_values_are_escaped_so_no_line_can_be_forged),
        cmocka_unit_test(test_the_grammar_check_itself_refuses_bad_expositions),
        cmocka_unit_test(test_metrics_allow_matches_addresses_and_ranges),
        cmocka_unit_test(test_metrics_allow_refuses_bad_lists_naming_the_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
