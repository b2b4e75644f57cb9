/* tally_service.c — tally-server as systemd runs it (Type=notify, WatchdogSec=, SIGTERM to stop; the watchdog
 * fed only while the writer thread is not stuck).
 *
 * The test plays systemd's side of the notify protocol: a datagram socket named by NOTIFY_SOCKET, with
 * WATCHDOG_USEC set. The server must say READY=1 only once it answers, feed the watchdog, say STOPPING=1 on
 * SIGTERM, and on that SIGTERM close its door to new connections while a batch already begun still
 * arrives, is stored and is answered. */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sync/ptime.h"
#include "sync/uuid.h"
#include "sync_harness.h"

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

/* The next notify datagram within timeout_ms into buf ("" on timeout). */
static void next_note(int fd, char *buf, size_t len, int timeout_ms)
{
    buf[0] = '\0';
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if(poll(&p, 1, timeout_ms) == 1) {
        ssize_t n = recv(fd, buf, len - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
    }
}

static int notify_socket(const char *dir, char path[TH_PATH + 16])
{
    snprintf(path, TH_PATH + 16, "%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Starts the server as systemd would with WatchdogSec=600ms (a ping every 200 ms); the notify socket. */
static int start_notified(ThServer *srv, const char *dir, char sock[TH_PATH + 16], const char *const extra[])
{
    int fd = notify_socket(dir, sock);
    setenv("NOTIFY_SOCKET", sock, 1);
    setenv("WATCHDOG_USEC", "600000", 1);
    bool started = th_server_start_args(srv, extra);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    assert_true(started);
    return fd;
}

static void test_server_says_ready_feeds_the_watchdog_and_says_stopping(void **state)
{
    (void)state;
    char dir[TH_PATH], sock[TH_PATH + 16], note[512];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_service"));
    assert_true(th_server_init(&srv, dir));
    int fd = start_notified(&srv, dir, sock, NULL);

    next_note(fd, note, sizeof note, 5000);
    assert_non_null(strstr(note, "READY=1"));
    char status[200];
    snprintf(status, sizeof status, "STATUS=listening on %s", srv.url);
    assert_non_null(strstr(note, status));
    ThCount c;
    assert_true(th_server_tally(&srv, &c)); /* ready means it answers */

    int pings = 0;
    for(int i = 0; i < 10; i++) {
        next_note(fd, note, sizeof note, 1000);
        pings += strcmp(note, "WATCHDOG=1") == 0;
    }
    printf("%d watchdog pings in 10 notes\n", pings);
    assert_int_equal(pings, 10);

    kill(srv.pid, SIGTERM);
    next_note(fd, note, sizeof note, 5000);
    while(strcmp(note, "WATCHDOG=1") == 0) /* one may have been on its way */
        next_note(fd, note, sizeof note, 5000);
    assert_string_equal(note, "STOPPING=1");
    assert_int_equal(th_wait(srv.pid), 0);
    srv.pid = -1;
    close(fd);
    th_rmtree(dir);
}

/* The watchdog is fed on the writer: while another process holds the database's write lock, the writer's
 * idle probe waits for it; once that write has run longer than --writer-stuck-s, WATCHDOG=1 stops (systemd
 * would restart the server), and it comes back when the lock goes. Reads still work meanwhile (WAL), so a
 * watchdog fed on reads alone would go on. */
static void test_watchdog_is_not_fed_while_the_writer_is_stuck(void **state)
{
    (void)state;
    char dir[TH_PATH], sock[TH_PATH + 16], note[512];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_service"));
    assert_true(th_server_init(&srv, dir));
    const char *args[] = {"--writer-stuck-s", "1", NULL};
    int fd = start_notified(&srv, dir, sock, args);
    next_note(fd, note, sizeof note, 5000);
    assert_non_null(strstr(note, "READY=1"));
    next_note(fd, note, sizeof note, 1000);
    assert_string_equal(note, "WATCHDOG=1");

    sqlite3 *db;
    assert_int_equal(sqlite3_open(srv.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    /* The idle probe comes within 5 s and then waits; after 1 s of that the pings stop. */
    bool stopped = false;
    for(int i = 0; i < 60 && !stopped; i++) {
        next_note(fd, note, sizeof note, 1500);
        stopped = note[0] == '\0';
    }
    assert_true(stopped);
    next_note(fd, note, sizeof note, 1000);
    assert_string_equal(note, ""); /* still none */
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    next_note(fd, note, sizeof note, 3000);
    assert_string_equal(note, "WATCHDOG=1"); /* the probe went through: fed again */

    kill(srv.pid, SIGTERM);
    assert_int_equal(th_wait(srv.pid), 0);
    srv.pid = -1;
    close(fd);
    th_rmtree(dir);
}

static int connect_to(const char *url)
{
    const char *port = strrchr(url, ':');
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port + 1))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while(n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if(w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

#define N 50

static void test_sigterm_lets_a_batch_in_flight_finish_and_turns_new_connections_away(void **state)
{
    (void)state;
    char dir[TH_PATH], token[256];
    ThServer srv;
    assert_true(th_tmpdir(dir, "tally_service"));
    assert_true(th_server_init(&srv, dir));
    assert_true(th_server_unit(&srv, "G01.Q1", "G01"));
    assert_true(th_server_device(&srv, "kiosk-1", "G01.Q1", token, sizeof token));
    assert_true(th_server_start(&srv));

    static ProtoRating r[N];
    th_make_ratings(r, N, "G01.Q1", SCALE_TTHC3, 42);
    for(int i = 0; i < N; i++)
        r[i].seq = i + 1; /* as the kiosk's store numbers them */
    char batch_id[UUID_TEXT_LEN], sent_at[PTIME_TEXT_MAX];
    assert_true(uuid_v7_new(batch_id));
    ptime_format((int64_t)time(NULL), PTIME_VN_OFFSET_MIN, sent_at);
    char *body = proto_batch_dump(batch_id, "kiosk-1", sent_at, r, N);
    assert_non_null(body);
    size_t len = strlen(body);
    char head[1024];
    snprintf(head, sizeof head,
             "POST /api/v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", token, len);

    /* Headers and half the body, then the stop signal, then the rest. */
    int fd = connect_to(srv.url);
    assert_true(fd >= 0);
    assert_true(send_all(fd, head, strlen(head)));
    assert_true(send_all(fd, body, len / 2));
    sleep_ms(300);
    kill(srv.pid, SIGTERM);
    sleep_ms(300);
    int late = connect_to(srv.url);
    if(late >= 0)
        close(late);
    assert_true(late < 0); /* the door is closed */
    assert_true(send_all(fd, body + len / 2, len - len / 2));
    free(body);

    char reply[8192];
    size_t got = 0;
    for(;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if(poll(&p, 1, 10000) != 1)
            break;
        ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
        if(n <= 0)
            break;
        got += (size_t)n;
    }
    reply[got] = '\0';
    close(fd);
    printf("%s\n", reply);
    assert_non_null(strstr(reply, "HTTP/1.1 200"));
    assert_non_null(strcasestr(reply, "Connection: close"));
    assert_non_null(strstr(reply, "\"accepted\":50"));
    assert_int_equal(th_wait(srv.pid), 0);
    srv.pid = -1;

    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM ratings", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), N);
    sqlite3_finalize(st);
    sqlite3_close(db);
    th_rmtree(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_says_ready_feeds_the_watchdog_and_says_stopping),
        cmocka_unit_test(test_sigterm_lets_a_batch_in_flight_finish_and_turns_new_connections_away),
        cmocka_unit_test(test_watchdog_is_not_fed_while_the_writer_is_stuck),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
