/* sync_agent.h — kiosk-sync's work on the device: the kiosk's store as the upload engine's queue, one run
 * with the sync status the supervisor screen reads and the pruning after it, "--once", and the daemon's
 * schedule.
 *
 * It ties kiosk/ (store, config) to sync/ (uploader, schedule), which never include kiosk/. Time, sleeping,
 * randomness and the stop signal are injected (SyncEnv), so every timing rule is tested with a fake clock
 * and no sleeping. kiosk/kiosk_sync.c is the program around it. */
#ifndef KIOSK_SYNC_AGENT_H
#define KIOSK_SYNC_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "kiosk/store.h"
#include "sync/schedule.h"
#include "sync/uploader.h"

#define SYNC_POLL_MS 2000          /* how often the daemon looks for "Đồng bộ ngay"; --once for held ratings */
#define SYNC_CLOCK_SKEW_WARN_S 300 /* device clock this far from the server's Date header is reported */
#define SYNC_ONCE_RETRY_MAX_S 900  /* --once waits out a busy server's Retry-After for at most this long in all */

/* The store as the uploader's queue: pending ratings not held for an open follow-up screen, marked with the
 * content version they were read at (store.h). NULL when out of memory. */
UploaderQueue *sync_queue_new(Store *s);
void           sync_queue_free(UploaderQueue *q);

typedef struct {
    void *ctx;
    int64_t (*now)(void *ctx);                 /* the device clock, unix seconds */
    void (*sleep_ms)(void *ctx, int64_t ms);   /* may return early (a signal) */
    bool (*stopping)(void *ctx);               /* SIGTERM or SIGINT arrived: finish up */
    uint32_t (*random)(void *ctx);             /* for the schedule's jitter */
    void (*log)(void *ctx, const char *line);  /* one line for the operator, in English */
} SyncEnv;

typedef struct {
    Store      *store;
    Uploader   *up;
    SchedConfig sched;
    int         keep_days;  /* acknowledged ratings older than this are pruned after a successful run */
    int64_t     build_time; /* unix s: a device clock earlier than this is wrong */
    SyncEnv     env;
} SyncAgentConfig;

typedef struct SyncAgent SyncAgent;

/* NULL when out of memory. The agent uses the store and uploader it is given; it does not free them. */
SyncAgent *sync_agent_new(const SyncAgentConfig *cfg);
void       sync_agent_free(SyncAgent *a);

/* One attempt: upload, record what happened in the store's sync status and the schedule, then (after a
 * success) prune. Returns the number of ratings still pending, or -1 when even that cannot be read; *err and
 * msg say how the upload went. */
int64_t sync_agent_run(SyncAgent *a, UploaderErr *err, UploaderResult *res, char *msg, size_t msg_len);

/* --once: a run; then, while ratings made before it are held because their follow-up screen is still open,
 * waits for the screen to close (however long the citizen takes) and runs again; when the server answers
 * busy with Retry-After, waits that long and runs again (SYNC_ONCE_RETRY_MAX_S of waiting at most, then gives
 * up saying so). Returns the exit code: 0 when nothing is left pending, 1 otherwise (the reason logged). */
int sync_agent_once(SyncAgent *a);

/* --daemon: runs when the schedule says so or a "Đồng bộ ngay" request is waiting, until env.stopping. */
int sync_agent_daemon(SyncAgent *a);

#endif
