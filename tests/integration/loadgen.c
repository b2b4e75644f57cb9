/* loadgen.c — see loadgen.h. Start reading at lg_run(): a loop over epoll events and one timer wheel of
 * "retry at" times, each connection a small state machine (connect, send, read the reply, next). */
#define _GNU_SOURCE
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sync/protocol.h"
#include "sync/tally/tally_db.h"
#include "sync_harness.h"

typedef enum { C_WAIT, C_CONNECTING, C_SENDING, C_READING } CState;

typedef struct {
    int    fd;
    CState st;
    int    addr;        /* index of its source address */
    long   job;         /* the job in hand, -1 none */
    char  *req;         /* request text being sent */
    size_t req_len, sent;
    char  *in;          /* reply bytes */
    size_t in_len, in_cap;
    double wake;        /* C_WAIT: when to (re)connect */
} Conn;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void lg_raise_nofile(void)
{
    struct rlimit rl;
    if(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void source_address(int i, struct sockaddr_in *a)
{
    *a = (struct sockaddr_in){.sin_family = AF_INET};
    a->sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | ((unsigned)(i / 200) << 8) | (unsigned)(i % 200 + 1));
}

/* ---- /healthz, asked every 100 ms from 127.0.0.200 --------------------------------------------------- */

typedef struct {
    int           port;
    volatile bool stop;
    double        max_ms;
    int64_t       checks, failures;
} Health;

static void *health(void *arg)
{
    Health *h = arg;
    while(!h->stop) {
        double t0 = now_s();
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
        inet_pton(AF_INET, "127.0.0.200", &src.sin_addr);
        inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
        char buf[512];
        bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&src, sizeof src) == 0 &&
                  connect(fd, (struct sockaddr *)&dst, sizeof dst) == 0;
        static const char GET[] = "GET /healthz HTTP/1.1\r\nHost: tally\r\nConnection: close\r\n\r\n";
        ok = ok && send(fd, GET, sizeof GET - 1, MSG_NOSIGNAL) == (ssize_t)sizeof GET - 1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t k = ok && poll(&p, 1, 5000) > 0 ? recv(fd, buf, sizeof buf - 1, 0) : -1;
        ok = k > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
        if(fd >= 0)
            close(fd);
        double ms = (now_s() - t0) * 1e3;
        h->checks++;
        if(!ok)
            h->failures++;
        if(ms > h->max_ms)
            h->max_ms = ms;
        usleep(100 * 1000);
    }
    return NULL;
}

/* ---- The connections ---------------------------------------------------------------------------------- */

typedef struct {
    LgRun *run;
    int    ep;
    long   next_job;   /* the next job never started */
    long  *retry;      /* jobs waiting to be sent again (a stack) */
    size_t n_retry;
    double *first;     /* per job: when it was first sent */
} Ctx;

static long take_job(Ctx *x)
{
    if(x->n_retry)
        return x->retry[--x->n_retry];
    if((size_t)x->next_job < x->run->n_jobs)
        return x->next_job++;
    return -1;
}

static void conn_close(Ctx *x, Conn *c)
{
    if(c->fd >= 0) {
        epoll_ctl(x->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    free(c->req);
    c->req = NULL;
    c->in_len = 0;
}

/* Gives a job back (for a retry after `after` seconds) and puts the connection to sleep that long. */
static void give_back(Ctx *x, Conn *c, double after)
{
    if(c->job >= 0)
        x->retry[x->n_retry++] = c->job;
    c->job = -1;
    conn_close(x, c);
    c->st = C_WAIT;
    c->wake = now_s() + after;
}

static bool conn_open(Ctx *x, Conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in src, dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)x->run->port)};
    source_address(c->addr, &src);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if(c->fd < 0 || bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0 ||
       (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
        conn_close(x, c);
        return false;
    }
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
    epoll_ctl(x->ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->st = C_CONNECTING;
    return true;
}

static void start_request(Ctx *x, Conn *c)
{
    const LgJob *j = &x->run->jobs[c->job];
    char head[512];
    int n = snprintf(head, sizeof head, "POST /api/v1/batches HTTP/1.1\r\nHost: tally\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", j->token, j->len);
    c->req = malloc((size_t)n + j->len);
    memcpy(c->req, head, (size_t)n);
    memcpy(c->req + n, j->body, j->len);
    c->req_len = (size_t)n + j->len;
    c->sent = 0;
    c->in_len = 0;
    if(x->first[c->job] == 0)
        x->first[c->job] = now_s();
    c->st = C_SENDING;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
    epoll_ctl(x->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A whole reply is in: returns its length, or 0 when more is needed. */
static size_t reply_complete(const Conn *c)
{
    const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if(!end)
        return 0;
    size_t head = (size_t)(end - c->in) + 4;
    const char *cl = strcasestr(c->in, "\r\nContent-Length:");
    size_t body = cl && cl < end ? (size_t)strtoull(cl + 17, NULL, 10) : 0;
    return c->in_len >= head + body ? head + body : 0;
}

static void on_reply(Ctx *x, Conn *c)
{
    LgRun *run = x->run;
    int status = 0;
    sscanf(c->in, "HTTP/1.1 %d", &status);
    run->status[status >= 100 && status < 600 ? status / 100 : 0]++;
    if(status > 0 && status < 600)
        run->by_code[status]++;
    const char *body = strstr(c->in, "\r\n\r\n") + 4;
    bool closing = strcasestr(c->in, "\r\nConnection: close") != NULL;
    if(status == 200) {
        json_error_t je;
        json_t *o = json_loadb(body, c->in_len - (size_t)(body - c->in), 0, &je);
        if(!o)
            fprintf(stderr, "loadgen: a 200 that is not JSON (%s): %.200s\n", je.text, body);
        run->accepted += json_integer_value(json_object_get(o, "accepted"));
        run->duplicate += json_integer_value(json_object_get(o, "duplicate"));
        run->rejected += (int64_t)json_array_size(json_object_get(o, "rejected"));
        json_decref(o);
        run->latency_ms[c->job] = (now_s() - x->first[c->job]) * 1e3;
        run->done++;
        c->job = take_job(x);
        free(c->req);
        c->req = NULL;
        if(c->job < 0) {
            conn_close(x, c);
            c->st = C_WAIT;
            c->wake = now_s() + 0.05; /* batches may still come back for a retry */
        } else if(closing) {
            conn_close(x, c);
            c->st = C_WAIT;
            c->wake = 0;
        } else {
            start_request(x, c);
        }
        return;
    }
    /* Anything else: send the same batch again later; a 503 says when. */
    double after = 1;
    if(status == 503 && run->on_first_busy) {
        run->on_first_busy(run->ctx);
        run->on_first_busy = NULL;
    }
    const char *ra = strcasestr(c->in, "\r\nRetry-After:");
    if(status == 503 && ra)
        after = atof(ra + 14);
    else if(status == 503)
        run->busy_without_retry_after++;
    give_back(x, c, after);
}

bool lg_run(LgRun *run)
{
    /* The clients stand for a province of other machines: on this one they yield to the server. */
    (void)!setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);
    Ctx x = {.run = run};
    x.ep = epoll_create1(0);
    Conn *conns = calloc((size_t)run->connections, sizeof *conns);
    x.retry = calloc(run->n_jobs + 1, sizeof *x.retry);
    x.first = calloc(run->n_jobs + 1, sizeof *x.first);
    run->latency_ms = calloc(run->n_jobs + 1, sizeof *run->latency_ms);
    if(x.ep < 0 || !conns || !x.retry || !x.first || !run->latency_ms)
        return false;
    int per = run->per_address > 0 ? run->per_address : 10;
    for(int i = 0; i < run->connections; i++)
        conns[i] = (Conn){.fd = -1, .st = C_WAIT, .addr = i / per, .job = -1, .wake = 0};
    Health h = {.port = run->port};
    pthread_t ht;
    pthread_create(&ht, NULL, health, &h);
    double t0 = now_s();
    struct epoll_event ev[256];
    while(run->done < run->n_jobs && now_s() - t0 < run->give_up_s) {
        double now = now_s();
        for(int i = 0; i < run->connections; i++) {
            Conn *c = &conns[i];
            if(c->st != C_WAIT || c->wake > now)
                continue;
            if(c->job < 0 && (c->job = take_job(&x)) < 0) {
                c->wake = now + 0.05; /* nothing to send now: jobs may come back for a retry */
                continue;
            }
            if(!conn_open(&x, c)) {
                run->conn_errors++;
                give_back(&x, c, 1);
            }
        }
        int n = epoll_wait(x.ep, ev, 256, 20);
        for(int i = 0; i < n; i++) {
            Conn *c = ev[i].data.ptr;
            if(c->fd < 0)
                continue;
            if(c->st == C_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if(err) {
                    run->conn_errors++;
                    give_back(&x, c, 1);
                    continue;
                }
                start_request(&x, c);
            }
            if(c->st == C_SENDING && (ev[i].events & EPOLLOUT)) {
                ssize_t k = send(c->fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);
                if(k > 0)
                    c->sent += (size_t)k;
                if(c->sent == c->req_len) {
                    c->st = C_READING;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(x.ep, EPOLL_CTL_MOD, c->fd, &e);
                }
            }
            if((c->st == C_READING || c->st == C_SENDING) && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                if(c->in_cap - c->in_len < 65536) {
                    c->in_cap = c->in_cap ? c->in_cap * 2 : 131072;
                    c->in = realloc(c->in, c->in_cap);
                }
                ssize_t k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
                if(k <= 0 && !(k < 0 && errno == EAGAIN)) {
                    run->conn_errors++; /* closed or reset before a whole reply */
                    give_back(&x, c, 1);
                    continue;
                }
                if(k > 0) {
                    c->in_len += (size_t)k;
                    c->in[c->in_len] = '\0';
                }
                if(reply_complete(c))
                    on_reply(&x, c);
            }
        }
    }
    run->elapsed_s = now_s() - t0;
    h.stop = true;
    pthread_join(ht, NULL);
    run->health_max_ms = h.max_ms;
    run->health_checks = h.checks;
    run->health_failures = h.failures;
    for(int i = 0; i < run->connections; i++) {
        conn_close(&x, &conns[i]);
        free(conns[i].in);
    }
    free(conns);
    free(x.retry);
    free(x.first);
    close(x.ep);
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double lg_percentile(const LgRun *run, double p)
{
    size_t n = 0;
    double *v = malloc((run->n_jobs + 1) * sizeof *v);
    for(size_t i = 0; i < run->n_jobs; i++)
        if(run->latency_ms[i] > 0)
            v[n++] = run->latency_ms[i];
    double r = 0;
    if(n) {
        qsort(v, n, sizeof *v, cmp_double);
        size_t k = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
        r = v[k < n ? k : n - 1];
    }
    free(v);
    return r;
}

bool lg_make_province(const char *db_path, int counters, int devices, int per_batch, char (*tokens)[65], LgJob *jobs)
{
    TallyDb *db;
    char msg[TALLY_MSG_MAX];
    int64_t since;
    ptime_parse_date("2024-01-01", &since);
    if(tally_db_open(db_path, &db, msg) != TALLY_OK) {
        fprintf(stderr, "loadgen: %s\n", msg);
        return false;
    }
    bool ok = true;
    for(int u = 0; u < counters && ok; u++) {
        char unit[32];
        snprintf(unit, sizeof unit, "G01.Q%02d", u);
        ok = tally_unit_add(db, unit, "Quầy", "G01", msg) == TALLY_OK;
    }
    ok = ok && sqlite3_exec(tally_db_sqlite(db), "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    for(int i = 0; i < devices && ok; i++) {
        char id[32], unit[32];
        snprintf(id, sizeof id, "load-%04d", i);
        snprintf(unit, sizeof unit, "G01.Q%02d", i % counters);
        ok = tally_device_add(db, id, unit, ptime_vn_day_start(since), tokens[i], msg) == TALLY_OK;
    }
    ok = ok && sqlite3_exec(tally_db_sqlite(db), "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if(!ok)
        fprintf(stderr, "loadgen: cannot enrol the devices: %s\n", msg);
    tally_db_close(db);
    ProtoRating *r = calloc((size_t)per_batch, sizeof *r);
    for(int i = 0; i < devices && ok; i++) {
        char id[32], unit[32], bid[UUID_TEXT_LEN];
        snprintf(id, sizeof id, "load-%04d", i);
        snprintf(unit, sizeof unit, "G01.Q%02d", i % counters);
        th_make_ratings(r, (size_t)per_batch, unit, SCALE_TTHC3, 5000 + (uint64_t)i);
        for(int j = 0; j < per_batch; j++)
            r[j].seq = j + 1; /* as the kiosk's store numbers them */
        uuid_v7_new(bid);
        jobs[i].token = tokens[i];
        jobs[i].body = proto_batch_dump(bid, id, "2026-11-20T02:00:00+07:00", r, (size_t)per_batch);
        jobs[i].len = jobs[i].body ? strlen(jobs[i].body) : 0;
        ok = jobs[i].body != NULL;
    }
    free(r);
    return ok;
}

void lg_free_jobs(LgJob *jobs, int n)
{
    for(int i = 0; i < n; i++)
        free(jobs[i].body);
}
