/* sync_harness.c — see sync_harness.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "sync_harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sync/ptime.h"
#include "sync/uuid.h"

extern char **environ;

#define FROM_DAY "2026-10-01"
#define TO_DAY "2026-12-31"
#define RATINGS_END 1795651200 /* 2026-11-20T00:00:00Z: every test rating is made before this */

/* ---- Processes and files ------------------------------------------------------------------------------- */

bool th_tmpdir(char out[TH_PATH], const char *tag)
{
    snprintf(out, TH_PATH, "/tmp/%s.XXXXXX", tag);
    if(!mkdtemp(out)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return false;
    }
    return true;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void th_rmtree(const char *dir)
{
    if(dir && dir[0])
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static pid_t spawn_fds(const char *const argv[], int out_fd, int err_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if(out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    if(err_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if(rc != 0) {
        fprintf(stderr, "cannot start %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    return pid;
}

int th_wait(pid_t pid)
{
    int st;
    while(waitpid(pid, &st, 0) < 0)
        if(errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int th_run(const char *const argv[], char *out, size_t out_len)
{
    int p[2];
    if(pipe(p) != 0)
        return -1;
    pid_t pid = spawn_fds(argv, p[1], -1);
    close(p[1]);
    if(pid < 0) {
        close(p[0]);
        return -1;
    }
    size_t n = 0;
    char sink[512];
    for(;;) {
        char *dst = out && n + 1 < out_len ? out + n : sink;
        size_t room = out && n + 1 < out_len ? out_len - 1 - n : sizeof sink;
        ssize_t r = read(p[0], dst, room);
        if(r < 0 && errno == EINTR)
            continue;
        if(r <= 0)
            break;
        if(dst != sink)
            n += (size_t)r;
    }
    close(p[0]);
    if(out && out_len) {
        out[n] = '\0';
        while(n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
            out[--n] = '\0';
    }
    return th_wait(pid);
}

pid_t th_spawn(const char *const argv[], const char *log_path)
{
    int fd = -1;
    if(log_path) {
        fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if(fd < 0)
            return -1;
    }
    pid_t pid = spawn_fds(argv, fd, fd);
    if(fd >= 0)
        close(fd);
    return pid;
}

bool th_file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "r");
    if(!fp)
        return false;
    char line[2048];
    bool found = false;
    while(!found && fgets(line, sizeof line, fp))
        found = strstr(line, needle) != NULL;
    fclose(fp);
    return found;
}

static bool write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if(fd < 0)
        return false;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    ok = close(fd) == 0 && ok;
    return ok && chmod(path, mode) == 0;
}

/* ---- The tally server ---------------------------------------------------------------------------------- */

/* tally-admin --db s->db with up to 8 arguments, NULL-terminated. */
static int admin(ThServer *s, char *out, size_t out_len, ...)
{
    const char *argv[12] = {TALLY_ADMIN_BIN, "--db", s->db};
    va_list ap;
    va_start(ap, out_len);
    for(int i = 3; i < 11 && (argv[i] = va_arg(ap, const char *)); i++)
        ;
    va_end(ap);
    argv[11] = NULL;
    return th_run(argv, out, out_len);
}

bool th_server_init(ThServer *s, const char *dir)
{
    char db[TH_PATH];
    snprintf(db, sizeof db, "%.240s/tally.db", dir);
    return th_server_init_db(s, dir, db);
}

bool th_server_init_db(ThServer *s, const char *dir, const char *db)
{
    memset(s, 0, sizeof *s);
    s->pid = -1;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->db, sizeof s->db, "%s", db);
    snprintf(s->log, sizeof s->log, "%s/tally-server.log", dir);
    char out[512];
    if(admin(s, out, sizeof out, "init", NULL) != 0) {
        fprintf(stderr, "tally-admin init failed: %s\n", out);
        return false;
    }
    if(!th_server_unit(s, "G01", NULL))
        return false;
    if(admin(s, s->viewer, sizeof s->viewer, "viewer", "add", "test-viewer", NULL) != 0 ||
       !s->viewer[0]) {
        fprintf(stderr, "tally-admin viewer add failed\n");
        return false;
    }
    return true;
}

bool th_server_unit(ThServer *s, const char *code, const char *parent)
{
    char out[512];
    int rc = parent ? admin(s, out, sizeof out, "unit", "add", code, code, "--parent", parent, NULL)
                    : admin(s, out, sizeof out, "unit", "add", code, code, NULL);
    if(rc != 0)
        fprintf(stderr, "tally-admin unit add %s failed: %s\n", code, out);
    return rc == 0;
}

bool th_server_device(ThServer *s, const char *device_id, const char *unit, char *token, size_t token_len)
{
    /* th_make_ratings dates ratings before 2026-11-20: enrolled as collecting since 2024, they stay filed. */
    int rc = admin(s, token, token_len, "device", "add", device_id, "--unit", unit, "--since", "2024-01-01", NULL);
    if(rc != 0 || !token[0] || strchr(token, '\n')) {
        fprintf(stderr, "tally-admin device add %s failed (%d): %s\n", device_id, rc, token);
        return false;
    }
    return true;
}

bool th_server_start(ThServer *s)
{
    return th_server_start_tls(s, NULL, NULL);
}

static bool server_start(ThServer *s, const char *cert, const char *key, const char *const extra[])
{
    int p[2];
    if(pipe(p) != 0)
        return false;
    int err = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const char *argv[16] = {TALLY_SERVER_BIN, "--db", s->db, "--listen", "127.0.0.1:0"};
    size_t argc = 5;
    if(cert || key) {
        argv[argc++] = "--tls-cert";
        argv[argc++] = cert;
        argv[argc++] = "--tls-key";
        argv[argc++] = key;
    }
    for(size_t i = 0; extra && extra[i] && argc + 1 < sizeof argv / sizeof *argv; i++)
        argv[argc++] = extra[i];
    s->pid = spawn_fds(argv, p[1], err);
    close(p[1]);
    if(err >= 0)
        close(err);
    if(s->pid < 0) {
        close(p[0]);
        return false;
    }
    /* "tally-server: listening on http://127.0.0.1:PORT (database …)", https:// with TLS */
    char line[512];
    size_t n = 0;
    while(n + 1 < sizeof line) {
        ssize_t r = read(p[0], line + n, 1);
        if(r < 0 && errno == EINTR)
            continue;
        if(r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(p[0]);
    const char *u = strstr(line, cert || key ? "https://" : "http://");
    if(!u) {
        fprintf(stderr, "tally-server did not start: '%s'\n", line);
        th_server_stop(s);
        return false;
    }
    size_t ul = strcspn(u, " \n");
    snprintf(s->url, sizeof s->url, "%.*s", (int)ul, u);
    return true;
}

bool th_server_start_tls(ThServer *s, const char *cert, const char *key)
{
    return server_start(s, cert, key, NULL);
}

bool th_server_start_args(ThServer *s, const char *const extra[])
{
    return server_start(s, NULL, NULL, extra);
}

void th_server_stop(ThServer *s)
{
    if(s->pid > 0) {
        kill(s->pid, SIGTERM);
        th_wait(s->pid);
        s->pid = -1;
    }
}

/* ---- Kiosks -------------------------------------------------------------------------------------------- */

/* Opens the kiosk's store; false after printing why. */
static bool open_kiosk_store(const ThKiosk *k, Store **st)
{
    char msg[256];
    if(store_open(k->db, st, msg, sizeof msg) != STORE_OK) {
        fprintf(stderr, "store_open %s: %s\n", k->db, msg);
        return false;
    }
    return true;
}

bool th_kiosk_make(ThKiosk *k, const char *dir, const char *device_id, const char *unit, ProtoScale scale,
                   const char *url, const char *token)
{
    /* The arguments may point into *k itself (re-making a kiosk): copy them before clearing it. */
    char d[TH_PATH - 32], dev[PROTO_ID_MAX + 1], un[PROTO_ID_MAX + 1];
    snprintf(d, sizeof d, "%s", dir);
    snprintf(dev, sizeof dev, "%s", device_id);
    snprintf(un, sizeof un, "%s", unit);
    if(!d[0])
        return false;
    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "%s", d);
    snprintf(k->device_id, sizeof k->device_id, "%s", dev);
    snprintf(k->unit, sizeof k->unit, "%s", un);
    k->scale = scale;
    snprintf(k->ini, sizeof k->ini, "%s/kiosk.ini", d);
    snprintf(k->db, sizeof k->db, "%s/kiosk.db", d);
    snprintf(k->log, sizeof k->log, "%s/kiosk-sync.log", d);
    char path[TH_PATH + 16], ini[2048], tok[600];
    snprintf(path, sizeof path, "%s/device.token", d);
    snprintf(tok, sizeof tok, "%s\n", token);
    if(!write_file(path, tok, 0600))
        return false;
    snprintf(ini, sizeof ini,
             "[kiosk]\n"
             "device_id = %s\n"
             "unit_code = %s\n"
             "unit_name = Quầy thử nghiệm\n"
             "areas = dat_dai,xay_dung,dau_tu,y_te,giao_duc,tu_phap_ho_tich,lao_dong_xa_hoi,khac\n"
             "scale = %s\n"
             "database = kiosk.db\n"
             "\n[sync]\n"
             "url = %s/api/v1\n"
             "token_file = device.token\n",
             dev, un, proto_scale_code(scale), url);
    if(!write_file(k->ini, ini, 0644))
        return false;
    Store *st;
    if(!open_kiosk_store(k, &st))
        return false;
    store_close(st);
    return true;
}

bool th_setup_one_kiosk(const char *tag, const char *unit, const char *device, char dir[TH_PATH], ThServer *srv,
                        ThKiosk *k, char *token, size_t token_len)
{
    char kdir[TH_PATH + 16];
    if(!th_tmpdir(dir, tag) || !th_server_init(srv, dir) || !th_server_unit(srv, unit, "G01") ||
       !th_server_start(srv) || !th_server_device(srv, device, unit, token, token_len))
        return false;
    snprintf(kdir, sizeof kdir, "%s/kiosk", dir);
    return mkdir(kdir, 0700) == 0 && th_kiosk_make(k, kdir, device, unit, SCALE_TTHC3, srv->url, token);
}

static pid_t sync_spawn(const ThKiosk *k, const char *const extra[])
{
    const char *argv[24] = {KIOSK_SYNC_BIN, "--config", k->ini, "--once"};
    size_t n = 4;
    for(size_t i = 0; extra && extra[i] && n + 1 < sizeof argv / sizeof *argv; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return th_spawn(argv, k->log);
}

pid_t th_kiosk_sync_spawn(const ThKiosk *k, const char *const extra[]) { return sync_spawn(k, extra); }

int th_kiosk_sync(const ThKiosk *k, const char *const extra[])
{
    pid_t pid = sync_spawn(k, extra);
    return pid < 0 ? -1 : th_wait(pid);
}

void th_kiosk_dump_log(const ThKiosk *k)
{
    char cmd[TH_PATH + 32];
    snprintf(cmd, sizeof cmd, "tail -n 15 %s >&2", k->log);
    if(system(cmd) != 0)
        fprintf(stderr, "(no log)\n");
}

int th_kiosk_rounds(ThKiosk *k, int n, int per_store, int batch, int parallel, const char *const extra[],
                    bool (*done)(void *), void *ctx, int max_runs)
{
    pid_t running[TH_ROUNDS_MAX] = {0};
    bool drained[TH_ROUNDS_MAX] = {false};
    int runs = 0, active = 0, next = 0, bad = 0;
    bool stop = n > TH_ROUNDS_MAX; /* once done (or something went wrong), start no more; let the running end */
    for(;;) {
        stop = stop || bad || done(ctx) || runs >= max_runs;
        bool all_drained = true;
        for(int i = 0; i < n; i++)
            all_drained = all_drained && drained[i];
        for(int tries = 0; !stop && active < parallel && tries < n; tries++, next = (next + 1) % n) {
            if(running[next] || drained[next])
                continue;
            running[next] = th_kiosk_sync_spawn(&k[next], extra);
            if(running[next] <= 0) {
                running[next] = 0;
                bad = 1;
                break;
            }
            active++;
            runs++;
        }
        if(active == 0 && (stop || all_drained))
            break;
        int st;
        pid_t pid = wait(&st);
        if(pid <= 0) {
            perror("wait");
            return -1;
        }
        int i = 0;
        while(i < n && running[i] != pid)
            i++;
        if(i == n)
            continue; /* not one of ours */
        running[i] = 0;
        active--;
        int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        StoreCounts c = th_store_counts(&k[i]);
        if(!(rc == 0 || rc == 1) || (rc == 0) != (c.pending == 0) || c.pending + c.acked != per_store ||
           c.pending % batch != 0) {
            th_kiosk_dump_log(&k[i]);
            fprintf(stderr, "%s: kiosk-sync exit %d with %lld pending, %lld acked of %d (batches of %d)\n",
                    k[i].device_id, rc, (long long)c.pending, (long long)c.acked, per_store, batch);
            bad = 1;
        }
        drained[i] = c.pending == 0;
    }
    return bad || n > TH_ROUNDS_MAX ? -1 : runs;
}

/* ---- Ratings ------------------------------------------------------------------------------------------ */

static uint64_t next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void th_make_ratings(ProtoRating *out, size_t n, const char *unit, ProtoScale scale, uint64_t seed)
{
    uint64_t x = seed;
    int levels = proto_scale_levels(scale);
    /* Spread over the 40 days before RATINGS_END, in time order (as a kiosk makes them). */
    int64_t t = RATINGS_END - 40 * 86400;
    int64_t step = (int64_t)(40 * 86400 / (n ? n : 1));
    for(size_t i = 0; i < n; i++) {
        ProtoRating *r = &out[i];
        memset(r, 0, sizeof *r);
        t += 1 + (int64_t)(next(&x) % (uint64_t)(step > 1 ? step : 1));
        if(t >= RATINGS_END)
            t = RATINGS_END - 1;
        uint8_t rnd[10];
        uint64_t a = next(&x), b = next(&x);
        memcpy(rnd, &a, 8);
        memcpy(rnd + 8, &b, 2);
        uuid_v7_make(r->id, (uint64_t)t * 1000u + (uint64_t)(a % 1000), rnd);
        snprintf(r->unit, sizeof r->unit, "%s", unit);
        r->area = (ProtoArea)(next(&x) % AREA_COUNT);
        r->scale = scale;
        /* Mostly satisfied, as at a real counter. */
        uint64_t roll = next(&x) % 100;
        r->score = roll < 70 ? levels : roll < 88 ? levels - 1 : 1 + (int)(next(&x) % (uint64_t)(levels - 1));
        if(!proto_is_satisfied(scale, r->score)) {
            uint64_t f = next(&x) % 3;
            r->followup = f == 0 ? FOLLOWUP_ANSWERED : f == 1 ? FOLLOWUP_SKIPPED : FOLLOWUP_TIMEOUT;
            if(r->followup == FOLLOWUP_ANSWERED)
                r->reasons = (uint32_t)(1 + next(&x) % ((1u << REASON_COUNT) - 1));
        }
        r->flags = next(&x) % 40 == 0 ? PROTO_FLAG_RAPID_REPEAT : 0;
        ptime_format(t, PTIME_VN_OFFSET_MIN, r->at);
    }
}

bool th_store_ratings(const ThKiosk *k, ProtoRating *r, size_t n)
{
    Store *st;
    if(!open_kiosk_store(k, &st))
        return false;
    /* A few through store_add, as the UI does; the rest in all-or-nothing chunks (fast test set-up). */
    bool ok = true;
    size_t i = 0;
    for(; i < n && i < 3 && ok; i++)
        if(store_add(st, &r[i]) != STORE_OK) {
            fprintf(stderr, "store_add: %s\n", store_errmsg(st));
            ok = false;
        }
    for(; i < n && ok; i += 500)
        if(store_add_many(st, r + i, n - i < 500 ? n - i : 500) != STORE_OK) {
            fprintf(stderr, "store_add_many: %s\n", store_errmsg(st));
            ok = false;
        }
    store_close(st);
    return ok;
}

StoreCounts th_store_counts(const ThKiosk *k)
{
    StoreCounts c = {-1, -1, -1};
    Store *st;
    char msg[256];
    if(store_open(k->db, &st, msg, sizeof msg) != STORE_OK)
        return c;
    if(store_counts(st, &c) != STORE_OK)
        c = (StoreCounts){-1, -1, -1};
    store_close(st);
    return c;
}

bool th_store_sync_status(const ThKiosk *k, StoreSyncStatus *st)
{
    Store *s;
    if(!open_kiosk_store(k, &s))
        return false;
    bool ok = store_sync_status_get(s, st) == STORE_OK;
    if(!ok)
        fprintf(stderr, "store_sync_status_get %s failed\n", k->db);
    store_close(s);
    return ok;
}

bool th_store_totals(const ThKiosk *k, ThCount *c)
{
    Store *s;
    if(!open_kiosk_store(k, &s))
        return false;
    int64_t from, to;
    bool ok = ptime_parse_date(FROM_DAY, &from) && ptime_parse_date(TO_DAY, &to);
    for(int64_t d = from; ok && d <= to; d++) {
        StoreDayTotals t;
        ok = store_day_totals(s, d, &t) == STORE_OK;
        if(!ok) {
            fprintf(stderr, "store_day_totals %s day %lld failed\n", k->db, (long long)d);
            break;
        }
        for(int a = 0; a < AREA_COUNT; a++) {
            c->n[a] += t.n[a];
            c->satisfied[a] += t.satisfied[a];
            c->flagged[a] += t.flagged[a];
        }
    }
    store_close(s);
    return ok;
}

void th_count_add(ThCount *c, const ProtoRating *r, size_t n)
{
    for(size_t i = 0; i < n; i++) {
        if(r[i].flags & PROTO_FLAG_RAPID_REPEAT) {
            c->flagged[r[i].area]++;
            continue;
        }
        c->n[r[i].area]++;
        if(proto_is_satisfied(r[i].scale, r[i].score))
            c->satisfied[r[i].area]++;
    }
}

bool th_count_equal(const ThCount *want, const ThCount *got)
{
    bool eq = true;
    for(int a = 0; a < AREA_COUNT; a++) {
        bool same = want->n[a] == got->n[a] && want->satisfied[a] == got->satisfied[a] &&
                    want->flagged[a] == got->flagged[a];
        if(!same) {
            fprintf(stderr, "%-16s want n=%lld sat=%lld flagged=%lld  got n=%lld sat=%lld flagged=%lld\n",
                    proto_area_code((ProtoArea)a), (long long)want->n[a], (long long)want->satisfied[a],
                    (long long)want->flagged[a], (long long)got->n[a], (long long)got->satisfied[a],
                    (long long)got->flagged[a]);
            eq = false;
        }
    }
    return eq;
}

/* ---- HTTP straight to the server ------------------------------------------------------------------------- */

typedef struct {
    char *d;
    size_t len;
} Mem;

static size_t on_data(char *p, size_t sz, size_t nm, void *ctx)
{
    Mem *m = ctx;
    size_t n = sz * nm;
    char *d = realloc(m->d, m->len + n + 1);
    if(!d)
        return 0;
    memcpy(d + m->len, p, n);
    m->d = d;
    m->len += n;
    m->d[m->len] = '\0';
    return n;
}

/* One request (over https trusting ca_file when that is not empty); *status and body (malloc'd,
 * NUL-terminated) on success. */
static bool http(CURL *c, const char *url, const char *ca_file, const char *token, const char *post, long *status,
                 Mem *body)
{
    char auth[700];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    body->d = NULL;
    body->len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if(ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if(post) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if(rc != CURLE_OK) {
        fprintf(stderr, "%s: %s\n", url, curl_easy_strerror(rc));
        free(body->d);
        body->d = NULL;
        return false;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return true;
}

bool th_server_tally(const ThServer *s, ThCount *out)
{
    memset(out, 0, sizeof *out);
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/tally?from=" FROM_DAY "&to=" TO_DAY "&by=area", s->url);
    CURL *c = curl_easy_init();
    long status = 0;
    Mem body;
    bool ok = c && http(c, url, s->ca_file, s->viewer, NULL, &status, &body);
    if(c)
        curl_easy_cleanup(c);
    if(!ok)
        return false;
    json_error_t je;
    json_t *root = status == 200 ? json_loads(body.d, 0, &je) : NULL;
    json_t *rows = json_object_get(root, "rows");
    if(!json_is_array(rows)) {
        fprintf(stderr, "tally: HTTP %ld: %s\n", status, body.d ? body.d : "");
        json_decref(root);
        free(body.d);
        return false;
    }
    size_t i;
    json_t *row;
    ok = true;
    json_array_foreach(rows, i, row) {
        int a = proto_area_from_code(json_string_value(json_object_get(row, "key")));
        if(a < 0) {
            fprintf(stderr, "tally: unexpected row key in %s\n", body.d);
            ok = false;
            break;
        }
        out->n[a] = json_integer_value(json_object_get(row, "n"));
        out->satisfied[a] = json_integer_value(json_object_get(row, "satisfied"));
        out->flagged[a] = json_integer_value(json_object_get(row, "flagged"));
    }
    json_decref(root);
    free(body.d);
    return ok;
}

bool th_post_batch(const ThServer *s, const char *token, const char *body, long *status, ProtoReply *reply)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/batches", s->url);
    memset(reply, 0, sizeof *reply);
    *status = 0;
    CURL *c = curl_easy_init();
    Mem got;
    bool ok = c && http(c, url, s->ca_file, token, body, status, &got);
    if(c)
        curl_easy_cleanup(c);
    if(!ok)
        return false;
    ProtoError err;
    if(*status == 200 && proto_reply_parse(got.d, got.len, reply, &err) != PROTO_OK) {
        fprintf(stderr, "post batch: HTTP 200 with a reply that does not parse: %s\n", got.d ? got.d : "");
        ok = false;
    } else if(*status != 200) {
        fprintf(stderr, "post batch: HTTP %ld: %s\n", *status, got.d ? got.d : "");
    }
    free(got.d);
    return ok;
}

bool th_replay(const ThServer *s, const char *device_id, const char *token, const ProtoRating *r, size_t n,
               int64_t *accepted, int64_t *duplicate, int64_t *rejected)
{
    *accepted = *duplicate = *rejected = 0;
    bool ok = true;
    for(size_t off = 0; off < n && ok; off += 500) {
        size_t m = n - off < 500 ? n - off : 500;
        char batch_id[UUID_TEXT_LEN], sent_at[PTIME_TEXT_MAX];
        ok = uuid_v7_new(batch_id);
        ptime_format((int64_t)time(NULL), PTIME_VN_OFFSET_MIN, sent_at);
        char *body = ok ? proto_batch_dump(batch_id, device_id, sent_at, r + off, m) : NULL;
        long status = 0;
        ProtoReply rep;
        ok = body && th_post_batch(s, token, body, &status, &rep) && status == 200 &&
             strcmp(rep.batch_id, batch_id) == 0;
        free(body);
        if(ok) {
            *accepted += rep.accepted;
            *duplicate += rep.duplicate;
            *rejected += (int64_t)rep.n_rejected;
        }
        proto_reply_free(&rep);
    }
    return ok;
}
