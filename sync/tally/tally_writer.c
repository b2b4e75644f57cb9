/* tally_writer.c — the writer thread and its bounded queue (see tally_writer.h). Start reading at run(). */
#include "sync/tally/tally_writer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "sync/tally/tally_ingest.h"

/* At most 256 batches or 50,000 ratings wait (parsed, about 500 bytes a rating: 25 MB at most); at the
 * writer's pace that is a second or two of work, and a kiosk refused meanwhile comes back after Retry-After. */
#define DEFAULT_MAX_DEPTH 256
#define DEFAULT_MAX_RATINGS 50000
/* Batches written in one transaction when several wait: one commit and one fsync serve them all. */
#define GROUP_MAX 32
#define WRITER_NICE 5 /* the writer thread's niceness above the workers' */

struct TallyWriter {
    pthread_t         thread;
    pthread_mutex_t   mu;
    pthread_cond_t    wake;
    TallyWriteJob    *head, *tail;
    TallyWriterStats  st;
    TallyWriterHealth health;
    bool              stopping;
    bool              running;        /* the thread is in run() */
    double            refused_recent; /* refusals, decaying with a 2 s time constant: clients due back soon */
    double            refused_at;     /* when refused_recent was last brought up to date */
    struct timespec   busy_since;  /* when the job being written began; tv_sec 0 when idle */
    TallyDb          *db;
    TallyIngest      *ingest;
    int64_t           restore_epoch, restore_since; /* read at start: a restore needs the server stopped */
};

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void set_health(TallyWriter *w, bool ok, const char *msg)
{
    w->health.writable = ok;
    w->health.checked_at = (int64_t)time(NULL);
    snprintf(w->health.msg, sizeof w->health.msg, "%s", ok ? "" : msg);
}

/* Writes the jobs taken from the queue as one group (the lock released): the jobs whose client has gone are
 * dropped first. */
static void write_group(TallyWriter *w, TallyWriteJob **jobs, size_t n)
{
    TallyIngestItem items[GROUP_MAX];
    TallyWriteJob *live[GROUP_MAX];
    size_t m = 0;
    for(size_t i = 0; i < n; i++) {
        TallyWriteJob *job = jobs[i];
        job->dropped = job->gone && job->gone(job);
        job->err = TALLY_OK;
        job->skipped = !job->dropped && job->prepare && !job->prepare(job);
        if(!job->dropped && !job->skipped) {
            items[m] = (TallyIngestItem){.batch = &job->batch, .unit = job->unit};
            live[m++] = job;
        }
    }
    if(!m)
        return;
    char msg[TALLY_MSG_MAX];
    tally_db_ready(w->db, msg); /* if PostgreSQL is not back yet, the group fails with TALLY_E_BUSY: 503 */
    tally_ingest_group(w->ingest, items, m, (int64_t)time(NULL), msg);
    int64_t acc = 0, dup = 0, rej = 0, quar = 0;
    for(size_t i = 0; i < m; i++) {
        live[i]->err = items[i].err;
        live[i]->reply = items[i].reply;
        if(!items[i].err) {
            acc += items[i].reply.accepted;
            dup += items[i].reply.duplicate;
            rej += (int64_t)items[i].reply.n_rejected;
            quar += items[i].quarantined;
        }
        snprintf(live[i]->msg, sizeof live[i]->msg, "%s", items[i].msg);
    }
    pthread_mutex_lock(&w->mu);
    w->st.accepted += acc;
    w->st.duplicate += dup;
    w->st.rejected += rej;
    w->st.quarantined += quar;
    pthread_mutex_unlock(&w->mu);
}

static void *run(void *arg)
{
    TallyWriter *w = arg;
    /* Writing is the heaviest work and nobody waits on it but its own clients: on a busy machine the HTTP
     * workers (which answer /healthz, /readyz and refusals at once) go first. Linux takes a nice value per
     * thread; failing to lower it changes nothing else. */
    (void)!setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE);
    pthread_mutex_lock(&w->mu);
    for(;;) {
        while(!w->head && !w->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += TALLY_WRITER_PROBE_S;
            if(pthread_cond_timedwait(&w->wake, &w->mu, &until) == ETIMEDOUT && !w->head && !w->stopping) {
                /* Idle: prove the file still takes a write (disk full, read-only remount, deleted file). */
                clock_gettime(CLOCK_MONOTONIC, &w->busy_since);
                pthread_mutex_unlock(&w->mu);
                char msg[TALLY_MSG_MAX];
                TallyErr e = tally_db_probe_write(w->db, (int64_t)time(NULL), msg);
                pthread_mutex_lock(&w->mu);
                w->busy_since.tv_sec = 0;
                set_health(w, e == TALLY_OK, msg);
            }
        }
        if(!w->head)
            break; /* stopping, and the queue is empty */
        TallyWriteJob *jobs[GROUP_MAX];
        size_t n = 0;
        while(w->head && n < GROUP_MAX) {
            TallyWriteJob *job = w->head;
            w->head = job->next;
            w->st.depth--;
            w->st.ratings -= job->weight;
            jobs[n++] = job;
        }
        if(!w->head)
            w->tail = NULL;
        clock_gettime(CLOCK_MONOTONIC, &w->busy_since);
        pthread_mutex_unlock(&w->mu);

        double t0 = mono_s();
        write_group(w, jobs, n);
        double ms = (mono_s() - t0) * 1e3;

        pthread_mutex_lock(&w->mu);
        w->busy_since.tv_sec = 0;
        /* The cost per job, for Retry-After: what a group took, shared by the jobs it wrote. */
        w->st.ms_per_job = w->st.ms_per_job ? 0.9 * w->st.ms_per_job + 0.1 * ms / (double)n : ms / (double)n;
        for(size_t i = 0; i < n; i++) {
            TallyWriteJob *job = jobs[i];
            if(job->dropped) {
                w->st.dropped++;
            } else if(job->skipped) {
                continue;
            } else if(job->err) {
                w->st.failed++;
                if(job->err != TALLY_E_BUSY) /* busy: another process holds the lock; the file is fine */
                    set_health(w, false, job->msg);
            } else {
                w->st.written++;
                set_health(w, true, NULL);
            }
        }
        pthread_mutex_unlock(&w->mu);
        for(size_t i = 0; i < n; i++) {
            proto_batch_free(&jobs[i]->batch);
            jobs[i]->done(jobs[i]); /* may free the job: not touched after this */
        }
        pthread_mutex_lock(&w->mu);
    }
    w->running = false;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

TallyErr tally_writer_start(const char *db_path, size_t max_depth, size_t max_ratings, TallyWriter **out,
                            char msg[TALLY_MSG_MAX])
{
    *out = NULL;
    TallyWriter *w = calloc(1, sizeof *w);
    if(!w) {
        snprintf(msg, TALLY_MSG_MAX, "out of memory");
        return TALLY_E_NOMEM;
    }
    w->st.max_depth = max_depth ? max_depth : DEFAULT_MAX_DEPTH;
    w->st.max_ratings = max_ratings ? max_ratings : DEFAULT_MAX_RATINGS;
    if(w->st.max_ratings < PROTO_MAX_BATCH) /* a full batch must always fit in an empty queue */
        w->st.max_ratings = PROTO_MAX_BATCH;
    TallyErr e = tally_db_open(db_path, &w->db, msg);
    if(!e)
        e = tally_ingest_new(w->db, &w->ingest, msg);
    if(!e)
        e = tally_db_probe_write(w->db, (int64_t)time(NULL), msg);
    if(!e)
        e = tally_db_restored(w->db, &w->restore_epoch, &w->restore_since, msg);
    if(e) {
        tally_ingest_free(w->ingest);
        tally_db_close(w->db);
        free(w);
        return e;
    }
    set_health(w, true, NULL);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    w->running = true;
    if(pthread_create(&w->thread, NULL, run, w) != 0) {
        snprintf(msg, TALLY_MSG_MAX, "cannot start the writer thread");
        tally_ingest_free(w->ingest);
        tally_db_close(w->db);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->wake);
        free(w);
        return TALLY_E_NOMEM;
    }
    *out = w;
    return TALLY_OK;
}

static bool full_locked(const TallyWriter *w, size_t n, size_t held)
{
    return w->stopping || w->st.depth + w->st.reserved - held + 1 > w->st.max_depth ||
           (w->st.depth > 0 && w->st.ratings + n > w->st.max_ratings);
}

bool tally_writer_reserve(TallyWriter *w)
{
    pthread_mutex_lock(&w->mu);
    bool ok = !full_locked(w, 0, 0);
    if(ok)
        w->st.reserved++;
    else
        w->st.refused++;
    pthread_mutex_unlock(&w->mu);
    return ok;
}

void tally_writer_release(TallyWriter *w)
{
    pthread_mutex_lock(&w->mu);
    if(w->st.reserved)
        w->st.reserved--;
    pthread_mutex_unlock(&w->mu);
}

bool tally_writer_submit(TallyWriter *w, TallyWriteJob *job, bool reserved)
{
    pthread_mutex_lock(&w->mu);
    if(!job->prepare)
        job->weight = job->batch.n;
    bool ok = !full_locked(w, job->weight, reserved && w->st.reserved ? 1 : 0);
    if(reserved && w->st.reserved)
        w->st.reserved--;
    if(ok) {
        job->next = NULL;
        job->dropped = false;
        job->err = TALLY_OK;
        if(w->tail)
            w->tail->next = job;
        else
            w->head = job;
        w->tail = job;
        w->st.depth++;
        w->st.ratings += job->weight;
        pthread_cond_signal(&w->wake);
    } else {
        w->st.refused++;
    }
    pthread_mutex_unlock(&w->mu);
    return ok;
}

/* Counts a client turned away (w->mu held): the decayed count estimates how many will come back. */
static void note_refusal(TallyWriter *w)
{
    double now = mono_s();
    w->refused_recent = w->refused_recent * exp(-(now - w->refused_at) / 2.0) + 1;
    w->refused_at = now;
}

unsigned tally_writer_retry_after(TallyWriter *w)
{
    /* The queue drains in depth x the time a batch takes; the clients already turned away will be back first,
     * so they count too: a refused client is sent past them rather than into the same crowd. */
    pthread_mutex_lock(&w->mu);
    note_refusal(w);
    double drain_s = ((double)w->st.depth + w->refused_recent) * (w->st.ms_per_job > 0 ? w->st.ms_per_job : 20.0) /
                     1000.0;
    pthread_mutex_unlock(&w->mu);
    unsigned base = drain_s < 1 ? 1 : drain_s > TALLY_WRITER_RETRY_MAX_S / 2 ? TALLY_WRITER_RETRY_MAX_S / 2
                                                                             : (unsigned)(drain_s + 0.999);
    /* Spread the refused over [base, 2 base], so they do not all come back in the same second. */
    uint32_t r = 0;
    if(getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL);
    return base + r % (base + 1);
}

void tally_writer_stats(TallyWriter *w, TallyWriterStats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    tally_db_busy_stats(w->db, &out->busy_waits, &out->busy_wait_us);
    pthread_mutex_unlock(&w->mu);
}

bool tally_writer_alive(TallyWriter *w, unsigned stuck_s)
{
    pthread_mutex_lock(&w->mu);
    bool alive = w->running && !w->stopping;
    if(alive && w->busy_since.tv_sec) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        alive = now.tv_sec - w->busy_since.tv_sec <= (time_t)stuck_s;
    }
    pthread_mutex_unlock(&w->mu);
    return alive;
}

void tally_writer_health(TallyWriter *w, TallyWriterHealth *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->health;
    if(w->busy_since.tv_sec) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if(now.tv_sec - w->busy_since.tv_sec > TALLY_WRITER_STUCK_S) {
            out->writable = false;
            snprintf(out->msg, sizeof out->msg, "a write has been waiting for more than %d s (database locked?)",
                     TALLY_WRITER_STUCK_S);
        }
    }
    pthread_mutex_unlock(&w->mu);
}

void tally_writer_stop(TallyWriter *w)
{
    if(!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->mu); /* stats read w->db */
    TallyDb *db = w->db;
    TallyIngest *in = w->ingest;
    w->ingest = NULL;
    w->db = NULL;
    set_health(w, false, "the server is stopping");
    pthread_mutex_unlock(&w->mu);
    tally_ingest_free(in);
    tally_db_close(db);
}

void tally_writer_free(TallyWriter *w)
{
    if(!w)
        return;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    free(w);
}

void tally_writer_restored(const TallyWriter *w, int64_t *epoch, int64_t *since)
{
    *epoch = w->restore_epoch;
    *since = w->restore_since;
}
