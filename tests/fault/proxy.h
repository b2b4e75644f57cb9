/* proxy.h — a fault-injecting HTTP/1.1 TCP proxy for tests (127.0.0.1 only).
 *
 * Sits between kiosk-sync and tally-server. For every request it reads from a client connection it draws,
 * from a seeded generator, either a clean forward or one fault:
 *   refuse      close the connection with a TCP reset before reading the request
 *   reset       read the request, then reset without forwarding it
 *   drop_reply  forward the request (the server stores the batch), then reset instead of replying — the
 *               classic "did it arrive?" case that must end as duplicates, never double counts
 *   delay       forward, then hold the reply past the client's timeout before sending it
 *   http500     answer 500 without forwarding
 *   http502     forward, then answer 502 instead of the server's reply
 *   truncate    forward, then send only part of the reply and close
 *   html        answer 200 with an HTML login page (a captive portal) without forwarding
 * Clean exchanges keep the client connection open (keep-alive) and the next request draws again. Each
 * request is forwarded on its own upstream connection. Threads: one acceptor, one per client connection. */
#ifndef TESTS_FAULT_PROXY_H
#define TESTS_FAULT_PROXY_H

#include <stdint.h>

typedef enum {
    PF_CLEAN, PF_REFUSE, PF_RESET, PF_DROP_REPLY, PF_DELAY, PF_HTTP500, PF_HTTP502, PF_TRUNCATE, PF_HTML,
    PF_COUNT
} ProxyFault;

typedef struct {
    uint16_t upstream_port; /* the real server on 127.0.0.1 */
    uint64_t seed;
    int fault_percent;      /* 0..100: chance that a request meets a fault */
    int delay_ms;           /* how long "delay" holds a reply; set above the client's timeout */
    ProxyFault force;       /* not PF_CLEAN: every request meets this outcome, whatever fault_percent says */
} ProxyOptions;

typedef struct Proxy Proxy;

/* Listens on 127.0.0.1 at a free port (*port). Returns 0 or -1 (errno set). */
int  proxy_start(const ProxyOptions *opt, Proxy **out, uint16_t *port);
void proxy_set_fault_percent(Proxy *p, int percent);
/* Requests seen per outcome so far (counts[PF_CLEAN] = clean forwards). */
void proxy_counts(Proxy *p, uint64_t counts[PF_COUNT]);
uint64_t proxy_faults(Proxy *p); /* sum of every outcome but PF_CLEAN */
const char *proxy_fault_name(ProxyFault f);
/* Stops accepting, ends every connection, joins every thread. */
void proxy_stop(Proxy *p);

#endif
