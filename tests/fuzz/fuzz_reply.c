/* fuzz_reply — libFuzzer target for the reply decoder kiosk-sync trusts (proto_reply_parse).
 *
 * On an accepted reply: counts within 0..PROTO_MAX_BATCH, every rejected id a canonical UUID or "", every
 * error code a non-empty string; and decode -> encode -> decode -> encode is byte-stable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/protocol.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ProtoReply r;
    ProtoError e;
    ProtoErr rc = proto_reply_parse((const char *)data, size, &r, &e);
    FUZZ_CHECK(rc < PROTO_E_COUNT);
    FUZZ_CHECK(fuzz_is_cstr(e.field, sizeof e.field) && fuzz_is_cstr(e.msg, sizeof e.msg));
    if(rc != PROTO_OK) {
        FUZZ_CHECK(r.n_rejected == 0 && r.rejected == NULL);
        return 0;
    }
    FUZZ_CHECK(r.accepted >= 0 && r.accepted <= PROTO_MAX_BATCH);
    FUZZ_CHECK(r.duplicate >= 0 && r.duplicate <= PROTO_MAX_BATCH);
    FUZZ_CHECK(r.n_rejected <= PROTO_MAX_BATCH);
    FUZZ_CHECK(uuid_parse(r.batch_id, NULL));
    for(size_t i = 0; i < r.n_rejected; i++) {
        char canon[UUID_TEXT_LEN];
        FUZZ_CHECK(r.rejected[i].id[0] == '\0' ||
                   (uuid_parse(r.rejected[i].id, canon) && strcmp(canon, r.rejected[i].id) == 0));
        FUZZ_CHECK(r.rejected[i].error[0] && fuzz_is_cstr(r.rejected[i].error, sizeof r.rejected[i].error));
    }
    char *d1 = proto_reply_dump(&r);
    FUZZ_CHECK(d1);
    ProtoReply r2;
    FUZZ_CHECK(proto_reply_parse(d1, strlen(d1), &r2, &e) == PROTO_OK);
    char *d2 = proto_reply_dump(&r2);
    FUZZ_CHECK(d2 && strcmp(d1, d2) == 0);
    free(d1);
    free(d2);
    proto_reply_free(&r);
    proto_reply_free(&r2);
    return 0;
}
