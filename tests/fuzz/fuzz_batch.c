/* fuzz_batch — libFuzzer target for the batch decoder (proto_batch_parse) and the streaming scanner that
 * sizes a body before it is decoded (proto_batch_scan).
 *
 * Scanner: fed in two pieces split anywhere, it counts exactly the items of the top-level "ratings" array
 * whenever jansson reads the body as an object with such an array, and it never refuses a body the decoder
 * would take with every item valid.
 * Properties checked on every input the decoder accepts:
 *  - every item it marks valid passes proto_rating_validate, and its allocation-free canonical text equals
 *    proto_rating_dump() byte for byte (the server's duplicate test relies on it);
 *  - round trip: the valid items re-encoded (canonical batch) decode again to the same items, and encoding
 *    those gives the very same bytes (decode -> canonical -> decode is byte-stable). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sync/protocol.h"
#include "fuzz_util.h"

/* The valid items of b, re-encoded as a batch with b's envelope. */
static char *canonical(const ProtoBatch *b, size_t *n_valid)
{
    ProtoRating *v = malloc((b->n ? b->n : 1) * sizeof *v);
    FUZZ_CHECK(v);
    size_t n = 0;
    for(size_t i = 0; i < b->n; i++) {
        const ProtoBatchItem *it = &b->items[i];
        if(it->error.code != PROTO_OK) {
            FUZZ_CHECK(it->error.code < PROTO_E_COUNT);
            FUZZ_CHECK(fuzz_is_cstr(it->error.field, sizeof it->error.field));
            FUZZ_CHECK(fuzz_is_cstr(it->error.msg, sizeof it->error.msg));
            continue;
        }
        ProtoError e;
        FUZZ_CHECK(proto_rating_validate(&it->rating, &e) == PROTO_OK);
        char text[PROTO_RATING_TEXT_MAX];
        size_t len = proto_rating_canonical(&it->rating, text, sizeof text);
        FUZZ_CHECK(len < sizeof text);
        char *dump = proto_rating_dump(&it->rating);
        FUZZ_CHECK(dump && strcmp(dump, text) == 0);
        free(dump);
        FUZZ_CHECK(strcmp(it->raw_id, it->rating.id) == 0);
        v[n++] = it->rating;
    }
    char *out = proto_batch_dump(b->batch_id, b->device_id, b->sent_at, v, n);
    FUZZ_CHECK(out);
    free(v);
    *n_valid = n;
    return out;
}

static void check_scan(const uint8_t *data, size_t size)
{
    ProtoBatchScan sc;
    proto_batch_scan_init(&sc);
    size_t cut = size ? data[0] % (size + 1) : 0;
    ProtoErr r = proto_batch_scan(&sc, (const char *)data, cut);
    if(r == PROTO_OK)
        r = proto_batch_scan(&sc, (const char *)data + cut, size - cut);
    FUZZ_CHECK(r == PROTO_OK || r == PROTO_E_TOO_MANY || r == PROTO_E_TOO_LARGE);
    json_error_t je;
    json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    json_t *arr = json_object_get(o, "ratings");
    if(json_is_array(arr)) {
        /* Any top-level key with an escape may have been counted as "ratings" too: only plain keys compare. */
        bool plain = !memchr(data, '\\', size);
        if(plain && r == PROTO_OK)
            FUZZ_CHECK(sc.ratings == json_array_size(arr));
        if(plain && json_array_size(arr) > PROTO_MAX_BATCH)
            FUZZ_CHECK(r != PROTO_OK);
        if(r == PROTO_E_TOO_MANY)
            FUZZ_CHECK(json_array_size(arr) > PROTO_MAX_BATCH || !plain);
    }
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_scan(data, size);
    ProtoBatch b;
    ProtoError e;
    ProtoErr r = proto_batch_parse((const char *)data, size, &b, &e);
    FUZZ_CHECK(r < PROTO_E_COUNT);
    FUZZ_CHECK(fuzz_is_cstr(e.field, sizeof e.field) && fuzz_is_cstr(e.msg, sizeof e.msg));
    if(r != PROTO_OK) {
        FUZZ_CHECK(b.n == 0 && b.items == NULL);
        proto_batch_free(&b);
        return 0;
    }
    FUZZ_CHECK(b.n <= PROTO_MAX_BATCH);
    size_t n1, n2;
    char *c1 = canonical(&b, &n1);
    ProtoBatch b2;
    FUZZ_CHECK(proto_batch_parse(c1, strlen(c1), &b2, &e) == PROTO_OK);
    FUZZ_CHECK(b2.n == n1);
    FUZZ_CHECK(strcmp(b2.batch_id, b.batch_id) == 0 && strcmp(b2.device_id, b.device_id) == 0 &&
               strcmp(b2.sent_at, b.sent_at) == 0);
    char *c2 = canonical(&b2, &n2);
    FUZZ_CHECK(n2 == n1);
    FUZZ_CHECK(strcmp(c1, c2) == 0);
    free(c1);
    free(c2);
    proto_batch_free(&b);
    proto_batch_free(&b2);
    return 0;
}
