/* proxy.c — the fault-injecting proxy (see proxy.h). Start reading at serve(): one client connection, one
 * request at a time, one drawn outcome per request. */
#define _GNU_SOURCE /* memmem, accept4 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG (16u << 20)   /* the largest request or reply we buffer */
#define POLL_SLICE_MS 50
#define UPSTREAM_WAIT_MS 30000

struct Proxy {
    ProxyOptions opt;
    int listen_fd;
    atomic_int fault_percent;
    atomic_bool stopping;
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int active;                /* connection threads still running (detached) */
    uint64_t counts[PF_COUNT];
    uint64_t next_conn;
};

typedef struct {
    Proxy *p;
    int fd;
    uint64_t rng;
} Conn;

typedef struct {
    char *d;
    size_t len, cap;
} Buf;

static const char *const NAMES[PF_COUNT] = {
    "clean", "refuse", "reset", "drop_reply", "delay", "http500", "http502", "truncate", "html",
};

const char *proxy_fault_name(ProxyFault f) { return (unsigned)f < PF_COUNT ? NAMES[f] : "?"; }

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Outcome weights: the lost reply (the duplicate case) twice as often as the others. */
static ProxyFault draw(Conn *c)
{
    if(c->p->opt.force != PF_CLEAN)
        return c->p->opt.force;
    uint64_t r = splitmix(&c->rng);
    if((int)(r % 100) >= atomic_load(&c->p->fault_percent))
        return PF_CLEAN;
    static const ProxyFault W[] = {PF_REFUSE, PF_RESET, PF_DROP_REPLY, PF_DROP_REPLY, PF_DELAY,
                                   PF_HTTP500, PF_HTTP502, PF_TRUNCATE, PF_HTML};
    return W[(r / 100) % (sizeof W / sizeof *W)];
}

static void count(Proxy *p, ProxyFault f)
{
    pthread_mutex_lock(&p->mu);
    p->counts[f]++;
    pthread_mutex_unlock(&p->mu);
}

static void close_reset(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static bool send_all(int fd, const char *d, size_t n)
{
    while(n) {
        ssize_t w = send(fd, d, n, MSG_NOSIGNAL);
        if(w < 0 && errno == EINTR)
            continue;
        if(w <= 0)
            return false;
        d += w;
        n -= (size_t)w;
    }
    return true;
}

static void buf_consume(Buf *b, size_t n)
{
    memmove(b->d, b->d + n, b->len - n);
    b->len -= n;
}

/* Where the HTTP message at the start of b ends, or 0 when more bytes are needed. at_eof: the peer closed,
 * so a message without a length ends here. */
static size_t msg_end(const Buf *b, bool at_eof)
{
    char *h = b->len ? memmem(b->d, b->len, "\r\n\r\n", 4) : NULL;
    if(!h)
        return 0;
    size_t hlen = (size_t)(h - b->d) + 4;
    const char *l = b->d;
    while(l < h) {
        const char *eol = memmem(l, (size_t)(h - l) + 2, "\r\n", 2);
        if(!eol)
            break;
        if(strncasecmp(l, "content-length:", 15) == 0) {
            size_t cl = strtoul(l + 15, NULL, 10);
            return b->len >= hlen + cl ? hlen + cl : 0;
        }
        if(strncasecmp(l, "transfer-encoding:", 18) == 0) {
            char *z = memmem(h, b->len - (size_t)(h - b->d), "\r\n0\r\n\r\n", 7);
            return z ? (size_t)(z - b->d) + 7 : 0;
        }
        l = eol + 2;
    }
    /* No length: a request has no body; a reply runs to the end of the connection. */
    if(strncmp(b->d, "HTTP/", 5) != 0)
        return hlen;
    return at_eof ? b->len : 0;
}

/* Reads one whole HTTP message into b. Returns its length, 0 when the peer closed cleanly before a message
 * began, -1 on error, stop or timeout. */
static long read_msg(Proxy *p, int fd, Buf *b, int max_wait_ms)
{
    int waited = 0;
    for(;;) {
        size_t end = msg_end(b, false);
        if(end)
            return (long)end;
        if(atomic_load(&p->stopping))
            return -1;
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, POLL_SLICE_MS);
        if(r < 0 && errno == EINTR)
            continue;
        if(r < 0)
            return -1;
        if(r == 0) {
            waited += POLL_SLICE_MS;
            if(max_wait_ms > 0 && waited >= max_wait_ms)
                return -1;
            continue;
        }
        if(b->cap - b->len < 65536) {
            size_t cap = b->cap ? b->cap * 2 : 131072;
            if(cap > MAX_MSG)
                return -1;
            char *nd = realloc(b->d, cap);
            if(!nd)
                return -1;
            b->d = nd;
            b->cap = cap;
        }
        ssize_t n = recv(fd, b->d + b->len, b->cap - b->len, 0);
        if(n < 0 && errno == EINTR)
            continue;
        if(n < 0)
            return -1;
        if(n == 0) {
            if(b->len == 0)
                return 0;
            end = msg_end(b, true);
            return end ? (long)end : -1;
        }
        b->len += (size_t)n;
    }
}

/* Sends one request to the server on a fresh connection and reads its reply into reply. */
static bool forward(Proxy *p, const char *req, size_t req_len, Buf *reply, size_t *reply_len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if(fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p->opt.upstream_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && send_all(fd, req, req_len);
    if(ok) {
        reply->len = 0;
        long n = read_msg(p, fd, reply, UPSTREAM_WAIT_MS);
        ok = n > 0;
        if(ok)
            *reply_len = (size_t)n;
    }
    close(fd);
    return ok;
}

static void sleep_ms(Proxy *p, int ms)
{
    for(int t = 0; t < ms && !atomic_load(&p->stopping); t += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static bool send_canned(int fd, const char *status, const char *type, const char *body, bool close_after)
{
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
                     type, strlen(body), close_after ? "Connection: close\r\n" : "");
    return send_all(fd, head, (size_t)n) && send_all(fd, body, strlen(body));
}

static const char LOGIN_PAGE[] =
    "<!DOCTYPE html><html><head><title>Wi-Fi</title></head><body><h1>Đăng nhập Wi-Fi</h1>"
    "<form method=\"post\" action=\"/login\"><input name=\"user\"><input type=\"password\" name=\"pass\">"
    "<button>Đăng nhập</button></form></body></html>";

/* Waits until the client sends something: 1 data, 0 it closed, -1 error or stop. */
static int wait_request(Proxy *p, int fd)
{
    while(!atomic_load(&p->stopping)) {
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, POLL_SLICE_MS);
        if(r < 0 && errno != EINTR)
            return -1;
        if(r > 0) {
            char ch;
            ssize_t n = recv(fd, &ch, 1, MSG_PEEK);
            return n > 0 ? 1 : (n == 0 ? 0 : -1);
        }
    }
    return -1;
}

/* One client connection: serves requests until the client leaves, a fault ends it, or the proxy stops. */
static void serve(Conn *c)
{
    Proxy *p = c->p;
    Buf in = {0}, reply = {0};
    for(;;) {
        ProxyFault f = draw(c);
        if(f == PF_REFUSE) {
            /* Refuse the next request, not a client that is merely hanging up. */
            if(in.len == 0 && wait_request(p, c->fd) <= 0)
                break;
            count(p, f);
            close_reset(c->fd);
            c->fd = -1;
            break;
        }
        long n = read_msg(p, c->fd, &in, 0);
        if(n <= 0)
            break;
        count(p, f);
        size_t rl = 0;
        bool keep = false;
        switch(f) {
        case PF_RESET:
            break;
        case PF_HTTP500:
            keep = send_canned(c->fd, "500 Internal Server Error", "application/json", "{\"error\":\"internal\"}",
                               false);
            break;
        case PF_HTML:
            send_canned(c->fd, "200 OK", "text/html; charset=utf-8", LOGIN_PAGE, true);
            shutdown(c->fd, SHUT_WR);
            break;
        default: /* every other outcome forwards the request first */
            if(!forward(p, in.d, (size_t)n, &reply, &rl)) {
                send_canned(c->fd, "502 Bad Gateway", "text/plain", "upstream failed", true);
                break;
            }
            if(f == PF_CLEAN) {
                keep = send_all(c->fd, reply.d, rl) && !memmem(reply.d, rl, "Connection: close", 17);
            } else if(f == PF_DELAY) {
                sleep_ms(p, p->opt.delay_ms);
                send_all(c->fd, reply.d, rl);
            } else if(f == PF_HTTP502) {
                keep = send_canned(c->fd, "502 Bad Gateway", "text/html", "<html><body>502 Bad Gateway</body></html>",
                                   false);
            } else if(f == PF_TRUNCATE) {
                size_t cut = rl > 1 ? 1 + (size_t)(splitmix(&c->rng) % (rl - 1)) : 0;
                send_all(c->fd, reply.d, cut);
                shutdown(c->fd, SHUT_WR);
            }
            break;
        }
        buf_consume(&in, (size_t)n);
        if(!keep) {
            if(f == PF_RESET || f == PF_DROP_REPLY)
                close_reset(c->fd);
            else
                close(c->fd);
            c->fd = -1;
            break;
        }
    }
    if(c->fd >= 0)
        close(c->fd);
    free(in.d);
    free(reply.d);
}

static void *conn_main(void *arg)
{
    Conn *c = arg;
    Proxy *p = c->p;
    serve(c);
    free(c);
    pthread_mutex_lock(&p->mu);
    if(--p->active == 0)
        pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *acceptor_main(void *arg)
{
    Proxy *p = arg;
    while(!atomic_load(&p->stopping)) {
        struct pollfd pf = {p->listen_fd, POLLIN, 0};
        if(poll(&pf, 1, POLL_SLICE_MS) <= 0)
            continue;
        int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if(fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Conn *c = malloc(sizeof *c);
        if(!c) {
            close(fd);
            continue;
        }
        pthread_mutex_lock(&p->mu);
        c->p = p;
        c->fd = fd;
        uint64_t s = p->opt.seed ^ (p->next_conn++ * 0x2545f4914f6cdd1dull);
        c->rng = splitmix(&s);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        bool ok = pthread_create(&t, &at, conn_main, c) == 0;
        pthread_attr_destroy(&at);
        if(ok)
            p->active++;
        pthread_mutex_unlock(&p->mu);
        if(!ok) {
            close(fd);
            free(c);
        }
    }
    return NULL;
}

int proxy_start(const ProxyOptions *opt, Proxy **out, uint16_t *port)
{
    *out = NULL;
    Proxy *p = calloc(1, sizeof *p);
    if(!p)
        return -1;
    p->opt = *opt;
    atomic_init(&p->fault_percent, opt->fault_percent);
    atomic_init(&p->stopping, false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if(p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
       listen(p->listen_fd, 128) != 0 || getsockname(p->listen_fd, (struct sockaddr *)&a, &al) != 0 ||
       pthread_create(&p->acceptor, NULL, acceptor_main, p) != 0) {
        if(p->listen_fd >= 0)
            close(p->listen_fd);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->idle);
        free(p);
        return -1;
    }
    *port = ntohs(a.sin_port);
    *out = p;
    return 0;
}

void proxy_set_fault_percent(Proxy *p, int percent) { atomic_store(&p->fault_percent, percent); }

void proxy_counts(Proxy *p, uint64_t counts[PF_COUNT])
{
    pthread_mutex_lock(&p->mu);
    memcpy(counts, p->counts, sizeof p->counts);
    pthread_mutex_unlock(&p->mu);
}

uint64_t proxy_faults(Proxy *p)
{
    uint64_t c[PF_COUNT], sum = 0;
    proxy_counts(p, c);
    for(int i = PF_CLEAN + 1; i < PF_COUNT; i++)
        sum += c[i];
    return sum;
}

void proxy_stop(Proxy *p)
{
    if(!p)
        return;
    atomic_store(&p->stopping, true);
    pthread_join(p->acceptor, NULL);
    close(p->listen_fd);
    pthread_mutex_lock(&p->mu);
    while(p->active > 0)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->idle);
    free(p);
}
