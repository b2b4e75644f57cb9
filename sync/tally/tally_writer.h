/* tally_writer.h — the one thread that writes batches, behind a bounded queue.
 *
 * SQLite lets one connection write at a time. Rather than have the HTTP worker threads wait their turn (at
 * the nightly peak that blocked every worker, and /healthz with them), each parsed batch is handed to this
 * thread while its connection waits suspended. The queue is bounded in batches and in ratings:
 * tally_writer_submit() refuses at once when a job would not fit, and the caller answers 503 with
 * tally_writer_retry_after() seconds. A job whose client has gone (job->gone) is dropped before it touches
 * the database. When there is nothing to write for TALLY_WRITER_PROBE_S seconds, the thread proves the file
 * is still writable with a one-row update; /readyz reads that state (tally_writer_health) and never waits. */
#ifndef SYNC_TALLY_WRITER_H
#define SYNC_TALLY_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/protocol.h"
#include "sync/tally/tally_db.h"

#define TALLY_WRITER_PROBE_S 5       /* an idle writer checks the file is writable this often */
#define TALLY_WRITER_STUCK_S 60      /* a write running longer than this makes /readyz say not ready */
#define TALLY_WRITER_RETRY_MAX_S 60  /* the longest Retry-After it suggests */

typedef struct TallyWriter TallyWriter;
typedef struct TallyWriteJob TallyWriteJob;

struct TallyWriteJob {
    /* in: a batch proto_batch_parse accepted, whose device_id is the token's device; unit is its enrolled
     * unit. The writer frees the batch (proto_batch_free) once written or dropped. */
    ProtoBatch batch;
    char       unit[PROTO_ID_MAX + 1];
    size_t     weight;                     /* ratings it will hold, for the queue's bound (batch.n once prepared) */
    bool     (*gone)(TallyWriteJob *job);  /* may be NULL: true when nobody waits for the answer any more */
    /* May be NULL: run on the writer thread before the job is written (decoding its body into batch), so the
     * HTTP workers never do that work at the peak; false when the job is finished without writing (done is
     * still called, with `skipped` set). */
    bool     (*prepare)(TallyWriteJob *job);
    void     (*done)(TallyWriteJob *job);  /* called on the writer thread with the outcome below */
    void      *ctx;
    /* out */
    bool       dropped;                    /* gone before it was written: nothing stored, no reply */
    bool       skipped;                    /* prepare said no: nothing stored, prepare made the answer */
    TallyErr   err;                        /* TALLY_OK: reply holds the verdicts (free with proto_reply_free) */
    ProtoReply reply;
    char       msg[TALLY_MSG_MAX];
    TallyWriteJob *next;                   /* the queue's */
};

typedef struct {
    size_t  depth, ratings;     /* queued now (not counting the one being written) */
    size_t  reserved;           /* places held for batches still being received */
    size_t  max_depth, max_ratings;
    int64_t written, dropped, refused, failed; /* jobs since start */
    int64_t accepted, duplicate, rejected, quarantined; /* ratings in the written batches, by verdict (quarantined:
                                 * accepted but dated outside what the device's clock allows) */
    double  ms_per_job;         /* moving average of the time one job takes */
    uint64_t busy_waits, busy_wait_us; /* its connection's waits for a locked file (tally_db_busy_stats) */
} TallyWriterStats;

typedef struct {
    bool    writable;           /* the last write (a batch or a probe) succeeded and none is stuck */
    int64_t checked_at;         /* unix time of that last write, 0 = none yet */
    char    msg[TALLY_MSG_MAX]; /* why not, when not writable */
} TallyWriterHealth;

/* Opens its own connection to db_path and starts the thread. max_depth batches and max_ratings ratings may
 * wait at once (0 = the defaults in tally_writer.c). */
TallyErr tally_writer_start(const char *db_path, size_t max_depth, size_t max_ratings, TallyWriter **out,
                            char msg[TALLY_MSG_MAX]);
/* Holds a place in the queue for a batch whose body has not been read yet: false (and the caller answers 503
 * at once, before reading or parsing anything) when the queued and held places already make max_depth. At the
 * peak this keeps the HTTP workers from parsing batches that could not be queued anyway. */
bool     tally_writer_reserve(TallyWriter *w);
void     tally_writer_release(TallyWriter *w);
/* Queues a job, in a place held by tally_writer_reserve() when reserved (the place is used up either way);
 * false when the queue is full (in ratings too) or the writer is stopping: nothing queued, done never called. */
bool     tally_writer_submit(TallyWriter *w, TallyWriteJob *job, bool reserved);
/* Seconds a refused client should wait: the queue's expected drain time, spread at random, 1..60. */
unsigned tally_writer_retry_after(TallyWriter *w);
void     tally_writer_stats(TallyWriter *w, TallyWriterStats *out);
void     tally_writer_health(TallyWriter *w, TallyWriterHealth *out);
/* The thread runs and is not stuck: no write (a batch group or the idle probe) has been running for longer
 * than stuck_s. What the systemd watchdog is fed on. Blocks only as long as the thread holds its lock. */
bool     tally_writer_alive(TallyWriter *w, unsigned stuck_s);
/* Writes every job still queued (each gets its done call), then stops the thread and closes the database;
 * from then on submit refuses, and health and stats still answer until tally_writer_free(). */
/* The last restore's epoch and since (tally_db_restored), read when the writer started; zeros when none. */
void     tally_writer_restored(const TallyWriter *w, int64_t *epoch, int64_t *since);
void     tally_writer_stop(TallyWriter *w);
void     tally_writer_free(TallyWriter *w);

#endif
