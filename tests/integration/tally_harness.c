/* tally_harness.c — see tally_harness.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tally_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#define MAX_ARGS 16

static int run_capture(char *const argv[], char *out, size_t out_len)
{
    int fd[2];
    if(pipe(fd))
        return -1;
    pid_t pid = fork();
    if(pid < 0)
        return -1;
    if(pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    char buf[4096];
    ssize_t k;
    while((k = read(fd[0], buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR))
        for(ssize_t i = 0; i < k; i++)
            if(out && n + 1 < out_len)
                out[n++] = buf[i];
    close(fd[0]);
    if(out && out_len) {
        out[n] = '\0';
        while(n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
            out[--n] = '\0';
    }
    int st;
    while(waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int th_admin(const TallyServer *s, char *out, size_t out_len, ...)
{
    char *argv[MAX_ARGS + 4] = {TALLY_ADMIN_BIN, "--db", (char *)s->db};
    int n = 3;
    va_list ap;
    va_start(ap, out_len);
    for(char *a; n < MAX_ARGS + 3 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run_capture(argv, out, out_len);
}

static bool token_of(int rc, const char *out, char token[65])
{
    if(rc != 0 || strlen(out) != 64)
        return false;
    memcpy(token, out, 65);
    return true;
}

bool th_device(const TallyServer *s, const char *id, const char *unit, char token[65])
{
    char out[256];
    /* Test ratings carry fixed dates from 2025 on: enrolled as collecting since then, they stay filed. */
    int rc = th_admin(s, out, sizeof out, "device", "add", id, "--unit", unit, "--since", "2024-01-01", (char *)NULL);
    return token_of(rc, out, token);
}

bool th_viewer(const TallyServer *s, const char *name, char token[65])
{
    char out[256];
    int rc = th_admin(s, out, sizeof out, "viewer", "add", name, (char *)NULL);
    return token_of(rc, out, token);
}

static bool make_dir(TallyServer *s)
{
    memset(s, 0, sizeof *s);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(s->dir, sizeof s->dir, "/tmp/tally-test-XXXXXX");
    return mkdtemp(s->dir) != NULL;
}

static bool init_db(const TallyServer *s)
{
    if(th_admin(s, NULL, 0, "init", (char *)NULL) != 0)
        return false;
    return th_admin(s, NULL, 0, "unit", "import", TEST_SOURCE_DIR "/assets/units-gialai.csv", (char *)NULL) == 0;
}

bool th_setup_db(TallyServer *s)
{
    if(!make_dir(s))
        return false;
    snprintf(s->db, sizeof s->db, "%s/tally.db", s->dir);
    return init_db(s);
}

#define PG_CLUSTER TEST_SOURCE_DIR "/tests/pg/pg-cluster"

/* Runs argv and waits, by fork + execv + waitpid only: also called from the signal handler. */
static void spawn_wait(char *const argv[])
{
    pid_t pid = fork();
    if(pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while(pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

static void pg_stop(const char *dir)
{
    char *argv[] = {PG_CLUSTER, "stop", (char *)dir, NULL};
    spawn_wait(argv);
}

static TallyServer *volatile g_pg_owner; /* whose cluster a signal stops */

static void on_signal(int sig)
{
    TallyServer *s = g_pg_owner;
    if(s) {
        if(s->pid > 0)
            kill(s->pid, SIGKILL);
        pg_stop(s->pgdir);
        if(s->dir[0]) {
            char *argv[] = {"/bin/rm", "-rf", "--", s->dir, NULL};
            spawn_wait(argv);
        }
    }
    static const char msg[] = "tally_harness: killed by a signal; tally-server and the PostgreSQL cluster stopped\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(128 + sig);
}

int th_setup_pg(TallyServer *s)
{
    if(!make_dir(s))
        return 0;
    snprintf(s->pgdir, sizeof s->pgdir, "/tmp/pgthXXXXXX"); /* short: the socket lives inside */
    if(!mkdtemp(s->pgdir)) {
        s->pgdir[0] = '\0';
        return 0;
    }
    g_pg_owner = s;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    char *argv[] = {PG_CLUSTER, "start", s->pgdir, NULL};
    int rc = run_capture(argv, s->db, sizeof s->db);
    if(rc == 77) {
        s->db[0] = '\0';
        return 77;
    }
    if(rc != 0 || strncmp(s->db, "postgresql://", 13) != 0) {
        fprintf(stderr, "tally_harness: tests/pg/pg-cluster start failed (status %d)\n", rc);
        return 0;
    }
    return init_db(s) ? 1 : 0;
}

bool th_start(TallyServer *s)
{
    int fd[2];
    if(pipe(fd))
        return false;
    pid_t pid = fork();
    if(pid < 0)
        return false;
    if(pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        if(s->log[0]) {
            int lf = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if(lf >= 0)
                dup2(lf, STDERR_FILENO);
        }
        char *argv[24] = {TALLY_SERVER_BIN, "--db", s->db, "--listen", s->listen[0] ? s->listen : "127.0.0.1:0"};
        int n = 5;
        for(int i = 0; i < 8 && s->args[i]; i++)
            argv[n++] = (char *)s->args[i];
        argv[n] = NULL;
        execv(TALLY_SERVER_BIN, argv);
        _exit(127);
    }
    close(fd[1]);
    s->pid = pid;
    /* Read the first line: "tally-server: listening on http://127.0.0.1:PORT (database ...)". */
    char line[512];
    size_t n = 0;
    struct pollfd p = {.fd = fd[0], .events = POLLIN};
    while(n + 1 < sizeof line && poll(&p, 1, 20000) > 0) {
        ssize_t k = read(fd[0], line + n, 1);
        if(k <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(fd[0]);
    const char *u = strstr(line, "http://");
    if(!u)
        return false;
    size_t len = strcspn(u, " ");
    if(len >= sizeof s->url)
        return false;
    memcpy(s->url, u, len);
    s->url[len] = '\0';
    return true;
}

int th_stop(TallyServer *s)
{
    if(s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    for(int i = 0; i < 200; i++) { /* up to 10 s */
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if(r == s->pid) {
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void th_cleanup(TallyServer *s)
{
    if(s->pid > 0)
        th_stop(s);
    if(s->pgdir[0]) {
        pg_stop(s->pgdir); /* a signal meanwhile stops it too: stop is idempotent */
        g_pg_owner = NULL;
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        s->pgdir[0] = '\0';
    }
    if(s->dir[0])
        nftw(s->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int th_finish(TallyServer *s)
{
    int rc = th_stop(s);
    th_cleanup(s);
    if(rc != 0)
        fprintf(stderr, "tally-server did not stop cleanly on SIGTERM (status %d)\n", rc);
    return rc == 0 ? 0 : -1;
}

/* ---- HTTP --------------------------------------------------------------------------------------------- */

typedef struct {
    const char *data;
    size_t      len, off;
} Src;

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
    Src *s = ud;
    size_t n = size * nmemb;
    if(n > s->len - s->off)
        n = s->len - s->off;
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    return n;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    ThResp *r = ud;
    size_t n = size * nmemb;
    char *nb = realloc(r->body, r->len + n + 1);
    if(!nb)
        return 0;
    memcpy(nb + r->len, ptr, n);
    r->body = nb;
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

long th_http_timeout_s = 30;

ThResp th_http(const TallyServer *s, const char *method, const char *path, const char *token,
               const char *content_type, const char *body, size_t len, bool chunked)
{
    ThResp r = {0};
    CURL *c = curl_easy_init();
    if(!c)
        return r;
    char url[1024], auth[128], ct[128];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    struct curl_slist *h = NULL;
    if(token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if(content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        h = curl_slist_append(h, ct);
    } else {
        h = curl_slist_append(h, "Content-Type:"); /* no header at all */
    }
    h = curl_slist_append(h, "Expect:");
    Src src = {body, len, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, th_http_timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if(strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
        if(chunked)
            h = curl_slist_append(h, "Transfer-Encoding: chunked");
        else
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    } else if(strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    if(curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if(!r.body)
        r.body = calloc(1, 1);
    return r;
}

void th_resp_free(ThResp *r)
{
    free(r->body);
    r->body = NULL;
}

char *th_raw(const TallyServer *s, const char *bytes, size_t len, int timeout_ms)
{
    char *out = calloc(1, 1);
    size_t n = 0;
    int port = atoi(strrchr(s->url, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if(fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if(fd >= 0)
            close(fd);
        return out;
    }
    size_t off = 0;
    while(off < len) {
        ssize_t k = send(fd, bytes + off, len - off, MSG_NOSIGNAL);
        if(k <= 0)
            break;
        off += (size_t)k;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char buf[4096];
    while(poll(&p, 1, timeout_ms) > 0) {
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if(k <= 0)
            break;
        char *no = realloc(out, n + (size_t)k + 1);
        if(!no)
            break;
        out = no;
        memcpy(out + n, buf, (size_t)k);
        n += (size_t)k;
        out[n] = '\0';
    }
    close(fd);
    return out;
}

int64_t th_scalar(const TallyServer *s, const char *sql)
{
    sqlite3 *db;
    int64_t n = -1;
    if(sqlite3_open_v2(s->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 10000);
        sqlite3_stmt *st;
        if(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}
