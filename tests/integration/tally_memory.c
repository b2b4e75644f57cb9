/* tally_memory.c — what one device token can make the server hold in memory.
 *
 * 1. 64 connections at once each post a 4 MiB body of {"ratings":[{},{},...]} (a million empty items): every
 *    reply is 413 too_many_ratings, and the server's peak RSS stays under the bound documented in
 *    docs/internals/tally.md (it used to parse each whole: ~394 MB for one, 1.5 GB for 64).
 * 2. Under an address-space cap (RLIMIT_AS set on the running server with prlimit) far below what 16 full
 *    4 MiB batches need at once, every reply is 200 or 503 busy with Retry-After, never a 400 or a 500, and
 *    what was answered 200 is exactly what is stored. (Not under ASan, whose shadow memory needs terabytes of
 *    address space.) */
#define _GNU_SOURCE /* prlimit */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "sync/protocol.h"
#include "sync/uuid.h"
#include "tally_harness.h"

/* docs/internals/tally.md, "Memory": the server's peak RSS while 64 connections each post the 4 MiB
 * [{},{},...] body. Measured about 9.5 MiB (7 MiB idle); the bound leaves room for a busier allocator. */
#define PEAK_RSS_BOUND_MIB 32
#define CONNECTIONS 64

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static TallyServer S;
static char TOKEN[65];
#define DEVICE "t-memory"
#define UNIT "000.00.31.H21.Q03"

static int64_t status_kib(const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)S.pid);
    FILE *f = fopen(path, "r");
    int64_t v = -1;
    size_t n = strlen(field);
    while(f && fgets(line, sizeof line, f))
        if(strncmp(line, field, n) == 0 && line[n] == ':')
            v = atoll(line + n + 1);
    if(f)
        fclose(f);
    return v;
}

typedef struct {
    const char *body;
    size_t      len;
    ThResp      resp;
    char        retry_after[16];
} Post;

static void *post_thread(void *arg)
{
    Post *p = arg;
    p->resp = th_http(&S, "POST", "/api/v1/batches", TOKEN, "application/json", p->body, p->len, false);
    return NULL;
}

static void post_all(Post *p, int n)
{
    pthread_t t[CONNECTIONS];
    for(int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&t[i], NULL, post_thread, &p[i]), 0);
    for(int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static const char *error_of(const ThResp *r, char *buf, size_t len)
{
    json_t *o = json_loads(r->body, 0, NULL);
    snprintf(buf, len, "%s", json_string_value(json_object_get(o, "error")) ? json_string_value(json_object_get(o, "error")) : "?");
    json_decref(o);
    return buf;
}

static void test_a_million_empty_items_costs_no_more_than_their_bytes(void **state)
{
    (void)state;
    size_t cap = PROTO_MAX_BODY;
    char *body = malloc(cap + 1);
    assert_non_null(body);
    size_t n = (size_t)snprintf(body, cap, "{\"schema\":1,\"batch_id\":\"0193a4f2-6c1e-7b3a-9d2e-4f5a6b7c8d9e\","
                                "\"device_id\":\"" DEVICE "\",\"sent_at\":\"2025-04-01T10:00:00+07:00\",\"ratings\":[");
    while(n + 3 + 4 <= cap)
        memcpy(body + n, "{},", 3), n += 3;
    memcpy(body + n, "{}]}", 4), n += 4;
    memset(body + n, ' ', cap - n); /* exactly 4 MiB: the most a body may be */
    body[cap] = '\0';
    int64_t before = th_scalar(&S, "SELECT count(*) FROM ratings");
    int64_t idle = status_kib("VmHWM");

    static Post p[CONNECTIONS];
    for(int i = 0; i < CONNECTIONS; i++)
        p[i] = (Post){body, cap, {0}, ""};
    post_all(p, CONNECTIONS);
    int too_many = 0;
    for(int i = 0; i < CONNECTIONS; i++) {
        char err[64];
        if(p[i].resp.status == 413 && strcmp(error_of(&p[i].resp, err, sizeof err), "too_many_ratings") == 0)
            too_many++;
        else
            fprintf(stderr, "reply %d: %ld %.200s\n", i, p[i].resp.status, p[i].resp.body);
        th_resp_free(&p[i].resp);
    }
    int64_t peak = status_kib("VmHWM");
    fprintf(stderr, "tally-server peak RSS: %lld KiB idle, %lld KiB after %d x 4 MiB [{},...] (bound %d MiB)%s\n",
            (long long)idle, (long long)peak, CONNECTIONS, PEAK_RSS_BOUND_MIB, UNDER_ASAN ? " [ASan: not checked]" : "");
    assert_int_equal(too_many, CONNECTIONS);
    assert_true(peak > 0);
    if(!UNDER_ASAN)
        assert_true(peak < PEAK_RSS_BOUND_MIB * 1024);
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM ratings"), before);
    free(body);
}

/* A valid batch of 5,000 ratings padded with blanks to 4 MiB: the most memory a legitimate request needs. */
static char *full_batch(int k, size_t *len)
{
    ProtoRating *r = calloc(PROTO_MAX_BATCH, sizeof *r);
    for(int i = 0; i < PROTO_MAX_BATCH; i++) {
        uint8_t rnd[10] = {(uint8_t)k, (uint8_t)(k >> 8), 0x77};
        memcpy(rnd + 4, &i, sizeof i);
        uuid_v7_make(r[i].id, 1764000000000ull + (uint64_t)k * 100000 + (uint64_t)i, rnd);
        r[i].seq = i + 1;
        snprintf(r[i].unit, sizeof r[i].unit, UNIT);
        r[i].area = (ProtoArea)(i % AREA_COUNT);
        r[i].scale = SCALE_TTHC3;
        r[i].score = 1 + i % 3;
        r[i].followup = r[i].score == 1 ? FOLLOWUP_ANSWERED : FOLLOWUP_NONE;
        r[i].reasons = r[i].score == 1 ? 0x7f : 0;
        snprintf(r[i].at, sizeof r[i].at, "2025-04-%02dT09:00:00+07:00", 1 + i % 28);
    }
    char bid[UUID_TEXT_LEN];
    uuid_v7_new(bid);
    char *s = proto_batch_dump(bid, DEVICE, "2025-04-30T10:00:00+07:00", r, PROTO_MAX_BATCH);
    free(r);
    size_t n = strlen(s);
    assert_true(n < PROTO_MAX_BODY);
    s = realloc(s, PROTO_MAX_BODY + 1);
    memset(s + n, ' ', PROTO_MAX_BODY - n);
    s[PROTO_MAX_BODY] = '\0';
    *len = PROTO_MAX_BODY;
    return s;
}

static void test_under_a_memory_cap_the_answer_is_503_busy_never_a_wrong_400(void **state)
{
    (void)state;
    if(UNDER_ASAN) {
        fprintf(stderr, "skipped under ASan (RLIMIT_AS cannot hold ASan's shadow memory); runs in the plain build\n");
        return;
    }
    enum { N = 16 };
    static Post p[N];
    static char *bodies[N];
    for(int i = 0; i < N; i++) {
        bodies[i] = full_batch(i, &p[i].len);
        p[i].body = bodies[i];
    }
    /* The cap: what the idle server has mapped now plus 10 MiB: less than two full batches need at once. */
    int64_t vm = status_kib("VmSize");
    assert_true(vm > 0);
    struct rlimit old, rl;
    assert_int_equal(prlimit(S.pid, RLIMIT_AS, NULL, &old), 0);
    rl = (struct rlimit){.rlim_cur = (rlim_t)(vm + 10 * 1024) * 1024, .rlim_max = old.rlim_max}; /* soft: can be lifted */
    assert_int_equal(prlimit(S.pid, RLIMIT_AS, &rl, NULL), 0);
    int64_t before = th_scalar(&S, "SELECT count(*) FROM ratings");
    int ok = 0, busy = 0, other = 0;
    int64_t accepted = 0;
    for(int round = 0; round < 2; round++) {
        post_all(p, N);
        for(int i = 0; i < N; i++) {
            char err[64];
            if(p[i].resp.status == 200) {
                json_t *o = json_loads(p[i].resp.body, 0, NULL);
                accepted += json_integer_value(json_object_get(o, "accepted"));
                json_decref(o);
                ok++;
            } else if(p[i].resp.status == 503 && strcmp(error_of(&p[i].resp, err, sizeof err), "busy") == 0) {
                busy++;
            } else {
                fprintf(stderr, "reply %d: %ld %.300s\n", i, p[i].resp.status, p[i].resp.body);
                other++;
            }
            th_resp_free(&p[i].resp);
        }
    }
    fprintf(stderr, "under RLIMIT_AS = VmSize + 10 MiB: %d x 200, %d x 503 busy, %d other\n", ok, busy, other);
    if(other) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "tail -n 60 %s >&2", S.log);
        (void)!system(cmd);
    }
    assert_int_equal(other, 0);
    assert_true(busy > 0); /* the cap was really reached */
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM ratings"), before + accepted);
    /* Lift the cap: everything refused goes in on the retry. */
    assert_int_equal(prlimit(S.pid, RLIMIT_AS, &old, NULL), 0);
    for(int i = 0; i < N; i++) {
        post_thread(&p[i]);
        if(p[i].resp.status != 200) {
            char cmd[400];
            snprintf(cmd, sizeof cmd, "grep -v ' 200 ' %s | tail -n 20 >&2", S.log);
            (void)!system(cmd);
        }
        assert_int_equal(p[i].resp.status, 200);
        th_resp_free(&p[i].resp);
        free(bodies[i]);
    }
    assert_int_equal(th_scalar(&S, "SELECT count(*) FROM ratings"), before + (int64_t)N * PROTO_MAX_BATCH);
}

static int group_setup(void **state)
{
    (void)state;
    th_http_timeout_s = 300; /* 24 full batches queue behind one writer */
    if(!th_setup_db(&S) || !th_device(&S, DEVICE, UNIT, TOKEN))
        return -1;
    snprintf(S.log, sizeof S.log, "%s/server.log", S.dir);
    if(!th_start(&S))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return th_finish(&S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_million_empty_items_costs_no_more_than_their_bytes),
        cmocka_unit_test(test_under_a_memory_cap_the_answer_is_503_busy_never_a_wrong_400),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
