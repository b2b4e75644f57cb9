/* tally_conn_limit.c — the server bounds how many connections one address holds open at once (64: one
 * client cannot take every slot; memory is bounded by the body budget, see tally_memory.c). 100 keep-alive
 * connections from one address: the server serves no more than 64 of them at once, and still serves a request
 * once they are gone. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sync_harness.h"

#define OPEN 100
#define MAX_HELD 64 /* the most connections the server holds from one address */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if(fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if(connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_connections_past_the_limit_are_closed(void **state)
{
    (void)state;
    char dir[TH_PATH];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_conn_limit"));
    assert_true(th_server_init(&srv, dir));
    assert_true(th_server_start(&srv));
    const char *colon = strrchr(srv.url, ':');
    assert_non_null(colon);
    int port = atoi(colon + 1);
    assert_true(port > 0);

    /* Each connection asks for /healthz and keeps the connection alive: the server answers those it holds;
     * the rest wait in the listen backlog until a slot frees. */
    static const char GET_KEEP[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    int fd[OPEN];
    bool answered[OPEN] = {0};
    for(int i = 0; i < OPEN; i++) {
        fd[i] = dial(port);
        assert_true(fd[i] >= 0);
        (void)!write(fd[i], GET_KEEP, sizeof GET_KEEP - 1);
    }
    /* Collect answers for 3 s from the first one (far longer than 100 local /healthz replies take when nothing
     * limits them, and well inside the 10 s after which idle held connections are cut and free their slots);
     * the first may take a while on a loaded machine under ASan (up to 30 s). */
    int n_answered = 0, first_round = -1;
    for(int round = 0; round < 300 && (first_round < 0 || round < first_round + 30); round++) {
        struct pollfd p[OPEN];
        for(int i = 0; i < OPEN; i++)
            p[i] = (struct pollfd){.fd = answered[i] ? -1 : fd[i], .events = POLLIN};
        poll(p, OPEN, 100);
        for(int i = 0; i < OPEN; i++)
            if(!answered[i] && (p[i].revents & POLLIN)) {
                char buf[512];
                if(read(fd[i], buf, sizeof buf) > 0) {
                    answered[i] = true;
                    n_answered++;
                    if(first_round < 0)
                        first_round = round;
                }
            }
    }
    for(int i = 0; i < OPEN; i++)
        close(fd[i]);
    assert_true(n_answered > 0);
    assert_true(n_answered <= MAX_HELD);

    /* The server still answers once the crowd is gone. */
    int ok = 0;
    for(int attempt = 0; attempt < 50 && !ok; attempt++) {
        int c = dial(port);
        assert_true(c >= 0);
        static const char GET[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        (void)!write(c, GET, sizeof GET - 1);
        char buf[256] = {0};
        ssize_t n = read(c, buf, sizeof buf - 1);
        close(c);
        ok = n > 0 && strstr(buf, " 200 ") != NULL;
        if(!ok)
            usleep(100 * 1000);
    }
    assert_true(ok);
    th_server_stop(&srv);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_connections_past_the_limit_are_closed)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
