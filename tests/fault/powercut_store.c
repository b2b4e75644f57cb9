/* powercut_store.c — the store's durability under power cuts, not just killed processes.
 *
 * A workload runs the kiosk's store through the power-cut VFS (powercut_vfs.h): it adds ratings (some with
 * their follow-up screen open), saves follow-up answers, plays the server acknowledging or rejecting what
 * the upload queue hands out (sometimes with an answer saved between the read and the mark, the follow-up
 * race), prunes, and releases holds. The model records each thing that *returned OK* (and each verdict the
 * "server" gave, before the store is told). At a random write, truncate or sync the power goes: what was
 * never synced is kept, lost or torn, every later I/O fails, the workload's store is closed (it can write
 * nothing more) and the page cache is forgotten. Then the file is opened as a fresh process would, through
 * the plain unix VFS, and checked:
 *   - PRAGMA integrity_check is ok (and the next workload's store_open succeeds);
 *   - every rating whose store_add returned OK is there (unless the server had acknowledged it and a prune
 *     that was started may have removed it);
 *   - every follow-up whose save returned OK is there;
 *   - nothing is acknowledged (or rejected) that the server did not acknowledge (reject) in that very
 *     content version, with that very content.
 * KIOSK_POWERCUT_CUTS cuts (default 2000, 500 in the sanitizer build; scripts/powercut runs 50,000), in epochs
 * of a fresh file. All in
 * one process (no fork per cut: the unix VFS's shared memory is rebuilt once every connection has closed,
 * as after a real cut), so thousands of cuts take seconds. The seed is
 * printed: repeat a run with KIOSK_POWERCUT_SEED=<n>. A second test proves the checker catches losses: with
 * syncs that do nothing (a store at synchronous=OFF), cuts must lose acknowledged-as-durable ratings. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "kiosk/store.h"
#include "powercut_vfs.h"

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_CUTS 500      /* the ASan+UBSan pass checks memory on the same paths, 5x slower per cut */
#else
#define DEFAULT_CUTS 2000     /* the normal pass of scripts/test: the durability proof */
#endif
#define EPOCH_CYCLES 200      /* a fresh file after this many workloads: keeps the checks fast */
#define OPS_PER_CHILD 12      /* store calls of one workload if the power holds */
#define MAX_CUT_OP 130        /* the cut lands at a write/truncate/sync drawn from 1..this (a workload makes ~125) */
#define KEEP_DAYS 30
#define MAX_ROWS 4096         /* ratings per epoch, at most (EPOCH_CYCLES * OPS_PER_CHILD) */
#define MAX_VERDICTS 8        /* distinct server verdicts on one rating (2 versions x 2 kinds happen) */

/* ---- The model and the checks ------------------------------------------------------------------------ */

/* One fact the model learns from the workload. */
typedef struct {
    char    kind;             /* 'A' added, 'F' follow-up saved, 'S' server acknowledged, 'J' server rejected,
                                 'P' prune started (rev = its limit day) */
    char    id[UUID_TEXT_LEN];
    int64_t rev;
    int32_t followup;
    uint32_t reasons;
    int64_t at;
} Rec;

typedef struct {
    int64_t  rev;                      /* this content version, with: */
    int32_t  followup;
    uint32_t reasons;
    char     kind;                     /* 'S' acknowledged or 'J' rejected */
    char     pad[7];                   /* so memcmp compares only set bytes */
} Verdict;

typedef struct {
    char    id[UUID_TEXT_LEN];
    int64_t at;
    bool    added;                     /* store_add returned OK */
    bool    answered;                  /* store_set_followup returned OK with: */
    int32_t followup;
    uint32_t reasons;
    Verdict v[MAX_VERDICTS];           /* what the server said, in order */
    int     n_v;
} Known;

typedef struct {
    Known   k[MAX_ROWS];
    int     n;
    int     slot[2 * MAX_ROWS];        /* open addressing: index + 1, 0 = empty */
    int64_t prune_limit;               /* the highest limit day of any prune started */
    int     violations;
    char    first[2048];               /* the first few, for the failure message */
} Model;

static unsigned hash_id(const char *id)
{
    unsigned h = 2166136261u;
    for(; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

static Known *known(Model *m, const char *id, bool create)
{
    unsigned h = hash_id(id) % (2 * MAX_ROWS);
    for(;; h = (h + 1) % (2 * MAX_ROWS)) {
        int s = m->slot[h];
        if(!s)
            break;
        if(strcmp(m->k[s - 1].id, id) == 0)
            return &m->k[s - 1];
    }
    if(!create)
        return NULL;
    assert_true(m->n < MAX_ROWS);
    Known *k = &m->k[m->n];
    memset(k, 0, sizeof *k);
    memcpy(k->id, id, UUID_TEXT_LEN);
    m->slot[h] = ++m->n;
    return k;
}

static void violation(Model *m, int cycle, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void violation(Model *m, int cycle, const char *fmt, ...)
{
    if(m->violations++ < 6) {
        size_t l = strlen(m->first);
        l += (size_t)snprintf(m->first + l, sizeof m->first - l, "  cycle %d: ", cycle);
        va_list ap;
        va_start(ap, fmt);
        if(l < sizeof m->first)
            l += (size_t)vsnprintf(m->first + l, sizeof m->first - l, fmt, ap);
        va_end(ap);
        if(l < sizeof m->first - 1)
            strcat(m->first, "\n");
    }
}

static void learn(Model *m, const Rec *r)
{
    if(r->kind == 'P') {
        if(r->rev > m->prune_limit)
            m->prune_limit = r->rev;
        return;
    }
    Known *k = known(m, r->id, true);
    switch(r->kind) {
    case 'A':
        k->added = true;
        k->at = r->at;
        break;
    case 'F':
        k->answered = true;
        k->followup = r->followup;
        k->reasons = r->reasons;
        break;
    default: { /* 'S', 'J': each distinct verdict once (a rating is served again when a cut lost its mark) */
        Verdict v = {.rev = r->rev, .followup = r->followup, .reasons = r->reasons, .kind = r->kind};
        for(int i = 0; i < k->n_v; i++)
            if(memcmp(&k->v[i], &v, sizeof v) == 0)
                return;
        if(k->n_v == MAX_VERDICTS)
            fail_msg("rating %s got more than %d distinct verdicts", k->id, MAX_VERDICTS);
        k->v[k->n_v++] = v;
        break;
    }
    }
}

/* Did the server give this verdict on this content version, and was that the content now stored? */
static bool verdict(const Known *k, char kind, int64_t rev, int32_t followup, uint32_t reasons)
{
    for(int i = 0; k && i < k->n_v; i++)
        if(k->v[i].kind == kind && k->v[i].rev == rev && k->v[i].followup == followup && k->v[i].reasons == reasons)
            return true;
    return false;
}

static bool server_acked_any(const Known *k)
{
    for(int i = 0; i < k->n_v; i++)
        if(k->v[i].kind == 'S')
            return true;
    return false;
}

/* The file as a fresh process finds it after the cut: plain SQLite through the unix VFS. The connection
 * does not checkpoint on close, so the WAL grows across workloads and cuts land in checkpoints too. */
static void check(Model *m, const char *path, int cycle)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, "unix"), SQLITE_OK);
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
    const char *ok = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0)
                                                                         : sqlite3_errmsg(db);
    bool intact = ok && strcmp(ok, "ok") == 0;
    if(!intact)
        violation(m, cycle, "integrity_check: %s", ok ? ok : "?");
    sqlite3_finalize(st);
    if(!intact) {
        sqlite3_close(db);
        return;
    }
    static bool present[MAX_ROWS];
    memset(present, 0, sizeof present);
    int64_t last_seq = 0, max_seq = 0;
    if(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'last_seq'", -1, &st, NULL) == SQLITE_OK &&
       sqlite3_step(st) == SQLITE_ROW)
        last_seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    rc = sqlite3_prepare_v2(db, "SELECT id, state, rev, followup, reasons, seq FROM rating", -1, &st, NULL);
    while(rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0), *state = (const char *)sqlite3_column_text(st, 1);
        int64_t rev = sqlite3_column_int64(st, 2), seq = sqlite3_column_int64(st, 5);
        int32_t fu = proto_followup_from_code((const char *)sqlite3_column_text(st, 3));
        uint32_t reasons = (uint32_t)sqlite3_column_int64(st, 4);
        Known *k = known(m, id, false);
        if(k)
            present[k - m->k] = true;
        if(seq > max_seq)
            max_seq = seq;
        if(strcmp(state, "acked") == 0 && !verdict(k, 'S', rev, fu, reasons))
            violation(m, cycle, "rating %s is acknowledged at version %lld (follow-up %d) but the server never "
                      "acknowledged that", id, (long long)rev, fu);
        if(strcmp(state, "rejected") == 0 && !verdict(k, 'J', rev, fu, reasons))
            violation(m, cycle, "rating %s is rejected at version %lld but the server never rejected that", id,
                      (long long)rev);
        if(k && k->answered && (fu != k->followup || reasons != k->reasons))
            violation(m, cycle, "rating %s lost its saved follow-up (%d/%u stored, %d/%u saved)", id, fu, reasons,
                      k->followup, k->reasons);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if(max_seq > last_seq)
        violation(m, cycle, "seq %lld was used but last_seq is %lld", (long long)max_seq, (long long)last_seq);
    for(int i = 0; i < m->n; i++) {
        const Known *k = &m->k[i];
        bool may_be_pruned = server_acked_any(k) && ptime_vn_day(k->at) < m->prune_limit;
        if(k->added && !present[i] && !may_be_pruned)
            violation(m, cycle, "rating %s was added (store_add returned OK) and is gone", k->id);
    }
}

/* ---- The workload ------------------------------------------------------------------------------------ */

typedef enum { RUN_CLEAN, RUN_CUT, RUN_FAILED } RunEnd;

typedef struct {
    Model *m;
    uint64_t rng;
    int64_t now;              /* the simulated clock: 3 hours per store call, so prunes have work */
    Store *s;
} Work;

static uint64_t next_rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* What returned OK, or what the server said, goes into the model. */
static void tell(Work *w, char kind, const char *id, int64_t rev, int32_t fu, uint32_t reasons, int64_t at)
{
    Rec r = {.kind = kind, .rev = rev, .followup = fu, .reasons = reasons, .at = at};
    if(id)
        memcpy(r.id, id, UUID_TEXT_LEN);
    learn(w->m, &r);
}

static bool add(Work *w)
{
    ProtoRating r = {0};
    uint8_t rnd[10];
    uint64_t a = next_rnd(&w->rng), b = next_rnd(&w->rng);
    memcpy(rnd, &a, 8);
    memcpy(rnd + 8, &b, 2);
    uuid_v7_make(r.id, (uint64_t)w->now * 1000u, rnd);
    snprintf(r.unit, sizeof r.unit, "000.00.31.H21");
    r.area = (ProtoArea)(a % AREA_COUNT);
    r.scale = SCALE_TTHC3;
    r.score = 1 + (int)(b % 3);
    r.followup = FOLLOWUP_NONE;
    ptime_format(w->now, PTIME_VN_OFFSET_MIN, r.at);
    bool asking = r.score == 1 && (a >> 40) % 2;
    if((asking ? store_add_asking(w->s, &r) : store_add(w->s, &r)) != STORE_OK)
        return false;
    tell(w, 'A', r.id, 1, FOLLOWUP_NONE, 0, w->now);
    return true;
}

/* Answers the follow-up of one pending, not-satisfied, unanswered rating (from `from`, or the store). */
static bool answer(Work *w, const ProtoRating *from, size_t n)
{
    ProtoRating pend[64];
    if(!from) {
        if(store_pending(w->s, pend, 64, &n) != STORE_OK)
            return false;
        from = pend;
    }
    size_t start = n ? (size_t)(next_rnd(&w->rng) % n) : 0;
    for(size_t k = 0; k < n; k++) {
        const ProtoRating *r = &from[(start + k) % n];
        if(r->followup != FOLLOWUP_NONE || proto_is_satisfied(r->scale, r->score))
            continue;
        uint64_t x = next_rnd(&w->rng);
        ProtoFollowup f = (ProtoFollowup)(FOLLOWUP_ANSWERED + x % 3);
        uint32_t reasons = f == FOLLOWUP_ANSWERED ? (uint32_t)(1 + (x >> 8) % ((1u << REASON_COUNT) - 1)) : 0;
        if(store_set_followup(w->s, r->id, f, reasons) != STORE_OK)
            return false;
        tell(w, 'F', r->id, 0, (int32_t)f, reasons, 0);
        return true;
    }
    return true;
}

/* The server's verdicts on what the queue hands out; the model hears them before the store does. */
static bool serve(Work *w)
{
    static StoreQueued q[25];
    const char *ids[25];
    int64_t revs[25];
    size_t n = 0, k = 0;
    if(store_queue_next(w->s, w->now, q, 1 + next_rnd(&w->rng) % 25, &n) != STORE_OK)
        return false;
    bool rejected[25] = {false};
    for(size_t i = 0; i < n; i++) {
        rejected[i] = next_rnd(&w->rng) % 10 == 0;
        tell(w, rejected[i] ? 'J' : 'S', q[i].r.id, q[i].rev, (int32_t)q[i].r.followup, q[i].r.reasons, 0);
        if(!rejected[i]) {
            ids[k] = q[i].r.id;
            revs[k++] = q[i].rev;
        }
    }
    if(n && next_rnd(&w->rng) % 3 == 0) { /* the follow-up race: an answer lands while the batch is out */
        ProtoRating read[25];
        for(size_t i = 0; i < n; i++)
            read[i] = q[i].r;
        if(!answer(w, read, n))
            return false;
    }
    if(store_mark_acked(w->s, ids, revs, k, w->now, NULL) != STORE_OK)
        return false;
    for(size_t i = 0; i < n; i++)
        if(rejected[i] && store_mark_rejected(w->s, q[i].r.id, q[i].rev, "conflict", w->now, NULL) != STORE_OK)
            return false;
    return true;
}

static bool one_call(Work *w)
{
    int what = (int)(next_rnd(&w->rng) % 100);
    if(what < 50)
        return add(w);
    if(what < 65)
        return answer(w, NULL, 0);
    if(what < 92)
        return serve(w);
    if(what < 97) {
        tell(w, 'P', NULL, ptime_vn_day(w->now) - KEEP_DAYS, 0, 0, 0);
        return store_prune(w->s, KEEP_DAYS, w->now, NULL) == STORE_OK;
    }
    return store_followups_closed(w->s) == STORE_OK;
}

/* One "process life" of the kiosk: open, OPS_PER_CHILD store calls, close — unless the power goes first. */
static RunEnd workload(Model *m, const char *path, uint64_t seed, int64_t now, uint64_t cut_at, int keep,
                       int torn, char *why, size_t why_len)
{
    Work w = {.m = m, .rng = seed, .now = now};
    powercut_arm(cut_at, keep, torn, seed ^ 0x5bd1e995u);
    RunEnd end = RUN_CLEAN;
    if(store_open(path, &w.s, why, why_len) != STORE_OK)
        end = powercut_happened() ? RUN_CUT : RUN_FAILED;
    for(int op = 0; op < OPS_PER_CHILD && end == RUN_CLEAN; op++) {
        w.now += 3 * 3600;
        if(!one_call(&w)) {
            end = powercut_happened() ? RUN_CUT : RUN_FAILED;
            if(end == RUN_FAILED)
                snprintf(why, why_len, "%s", store_errmsg(w.s));
        }
    }
    store_close(w.s); /* after a cut it can write nothing; without one it may checkpoint, and be cut there */
    if(end == RUN_CLEAN && powercut_happened())
        end = RUN_CUT;
    if(end == RUN_CLEAN)
        powercut_flush_all(); /* no cut after all: the OS writes everything back */
    powercut_revive();        /* the page cache is gone (after a cut) or on disk (after the flush) */
    return end;
}

static void remove_store(const char *path)
{
    char p[512];
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    for(size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
}

typedef struct {
    int cuts, cycles, clean_ends, rows;
} Tally;

/* Runs workloads until `want_cuts` of them were cut; returns what the checks found. */
static Tally run(Model *m, const char *path, int want_cuts, uint64_t seed, bool nosync)
{
    Tally t = {0};
    powercut_ignore_syncs(nosync);
    uint64_t x = seed;
    int64_t now = 1795000000;
    remove_store(path);
    memset(m, 0, sizeof *m);
    bool fresh = false;
    while(t.cuts < want_cuts && t.cycles < want_cuts * 3) {
        if((t.cycles % EPOCH_CYCLES == 0 && t.cycles) || fresh) {
            fresh = false;
            t.rows += m->n;
            remove_store(path);
            int v = m->violations;
            char first[sizeof m->first];
            memcpy(first, m->first, sizeof first);
            memset(m, 0, sizeof *m);
            m->violations = v;
            memcpy(m->first, first, sizeof first);
        }
        uint64_t cseed = next_rnd(&x), cut_at = 1 + next_rnd(&x) % MAX_CUT_OP;
        /* How the page cache meets the cut: all lost, all kept, or a mix with torn writes. */
        static const int KEEP[][2] = {{0, 0}, {100, 0}, {50, 30}, {20, 60}, {34, 33}};
        const int *kt = KEEP[next_rnd(&x) % (sizeof KEEP / sizeof *KEEP)];
        char why[600] = "";
        RunEnd end = workload(m, path, cseed, now, cut_at, kt[0], kt[1], why, sizeof why);
        now += (OPS_PER_CHILD + 1) * 3 * 3600;
        if(end == RUN_FAILED) {
            /* After an earlier cut the store refused to open, or a call failed without a cut. */
            violation(m, t.cycles++, "the store failed after a cut: %.300s", why);
            fresh = true;
            continue;
        }
        t.cuts += end == RUN_CUT;
        t.clean_ends += end == RUN_CLEAN;
        check(m, path, t.cycles);
        t.cycles++;
    }
    t.rows += m->n;
    powercut_ignore_syncs(false);
    return t;
}

static uint64_t seed_of(void)
{
    const char *env = getenv("KIOSK_POWERCUT_SEED");
    return env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

static void test_every_durable_rating_survives_thousands_of_power_cuts(void **state)
{
    (void)state;
    char dir[] = "/tmp/powercut-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/kiosk.db", dir);
    const char *env = getenv("KIOSK_POWERCUT_CUTS");
    int cuts = env ? atoi(env) : DEFAULT_CUTS;
    if(cuts < 1)
        cuts = DEFAULT_CUTS;
    uint64_t seed = seed_of();
    static Model m;
    Tally t = run(&m, path, cuts, seed, false);
    print_message("powercut: %d cuts in %d runs (%d ended without a cut), %d ratings tracked, %d violations; "
                  "seed %llu (repeat with KIOSK_POWERCUT_SEED=%llu)\n",
                  t.cuts, t.cycles, t.clean_ends, t.rows, m.violations, (unsigned long long)seed,
                  (unsigned long long)seed);
    if(m.violations)
        fail_msg("%d violations, the first:\n%s", m.violations, m.first);
    assert_true(t.cuts >= cuts);
    remove_store(path);
    rmdir(dir);
}

/* The checker has teeth: a store whose syncs reach nothing (synchronous=OFF, as far as the disk knows)
 * must lose ratings that store_add reported durable. */
static void test_the_check_catches_a_store_that_does_not_sync(void **state)
{
    (void)state;
    char dir[] = "/tmp/powercut-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/kiosk.db", dir);
    static Model m;
    Tally t = run(&m, path, 100, seed_of(), true);
    print_message("powercut without syncs: %d cuts, %d violations found, e.g.:\n%s", t.cuts, m.violations, m.first);
    assert_true(m.violations > 0);
    remove_store(path);
    rmdir(dir);
}

int main(void)
{
    if(powercut_register() != SQLITE_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_durable_rating_survives_thousands_of_power_cuts),
        cmocka_unit_test(test_the_check_catches_a_store_that_does_not_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
