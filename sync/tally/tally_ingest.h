/* tally_ingest.h — stores one upload batch, all of it in one transaction, with its daily roll-up.
 *
 * Per item: a new id is stored and counted in the roll-up (accepted); an id already stored with byte-equal
 * canonical content is a duplicate (nothing changes, so retries are harmless); a copy from the same device
 * that only gains answers given after the tap (proto_rating_revision: the follow-up, the service face,
 * respondent or wait unanswered before, answered now) replaces the stored content and is counted as accepted,
 * without counting the rating again (its reasons and its daily_sat / monthly_sat cell move from the old
 * answers to the new); the older copy of a rating so updated is a duplicate; the same id with any other
 * content is rejected "conflict"; an item the codec refused, or whose unit is not the device's enrolled unit
 * ("unit_mismatch"), is rejected with its reason while the good items are stored. A rating dated after the
 * batch arrived, or before its device's `since`, is accepted but quarantined (below): in no roll-up, and its
 * later answers move nothing. The same batch sent again therefore gets the same rejects and counts every
 * earlier-accepted item as duplicate. On any error the transaction is rolled back: nothing of the batch is
 * stored. */
#ifndef SYNC_TALLY_INGEST_H
#define SYNC_TALLY_INGEST_H

#include <stdint.h>

#include "sync/protocol.h"
#include "sync/tally/tally_db.h"


/* Wrong device clocks (docs/protocol.md): a rating dated more than TALLY_CLOCK_AHEAD_S after the server
 * received its batch, or before its device's `since` (tally_db.h), is stored and answered as accepted, but
 * quarantined: not in the roll-ups, so in no tally; counted per device (devices.quarantined). */
#define TALLY_CLOCK_AHEAD_S 600
typedef enum { TALLY_QUARANTINE_AFTER_RECEIPT = 1, TALLY_QUARANTINE_BEFORE_SINCE = 2 } TallyQuarantine;

typedef struct TallyIngest TallyIngest;

TallyErr tally_ingest_new(TallyDb *db, TallyIngest **out, char msg[TALLY_MSG_MAX]);
void     tally_ingest_free(TallyIngest *in);

/* b was parsed by proto_batch_parse and its device_id already checked against the token's device;
 * device_unit is the device's enrolled unit; now_s is the server clock (for received_at and clock skew).
 * Fills reply (free with proto_reply_free) on TALLY_OK; on error reply is empty and nothing is stored. */
TallyErr tally_ingest_batch(TallyIngest *in, const ProtoBatch *b, const char *device_unit, int64_t now_s,
                            ProtoReply *reply, char msg[TALLY_MSG_MAX]);

/* Several batches in one transaction, so one commit (and one fsync) serves them all at the peak. Each batch is
 * in a savepoint of its own: a batch that fails is undone alone and gets its error; when the transaction as a
 * whole fails (begin, commit, or SQLite rolling it back itself), every batch gets that error and nothing of
 * any is stored. */
typedef struct {
    const ProtoBatch *batch;             /* in, as for tally_ingest_batch */
    const char       *unit;
    ProtoReply        reply;             /* out when err == TALLY_OK */
    int64_t           quarantined;       /* out: of reply.accepted, how many were quarantined (wrong clock) */
    TallyErr          err;
    char              msg[TALLY_MSG_MAX];
} TallyIngestItem;
TallyErr tally_ingest_group(TallyIngest *in, TallyIngestItem *items, size_t n, int64_t now_s, char msg[TALLY_MSG_MAX]);

#endif
