/* fuzz_tally_query — libFuzzer target for the query string of GET /api/v1/tally (tally_query_parse, and the
 * form decoder under it) and for the two functions every reply and log line goes through (tally_text.h).
 *
 * Properties: an accepted query gives a spec within its documented ranges, and that spec written back as a
 * query parses to the same spec; a refusal names a parameter and says why in valid UTF-8; the UTF-8 cleaner
 * always writes valid UTF-8 (and copies valid text unchanged); the log escaper writes one line of printable
 * ASCII with no bare quote, which unescapes back to its input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/tally/tally_query.h"
#include "sync/tally/tally_text.h"
#include "fuzz_util.h"

static void check_spec_round_trip(const TallySpec *s)
{
    FUZZ_CHECK(s->from_day >= PTIME_DAY_MIN && s->from_day <= s->to_day && s->to_day <= PTIME_DAY_MAX);
    FUZZ_CHECK(s->area >= -1 && s->area < AREA_COUNT);
    FUZZ_CHECK(s->respondent >= RESPONDENT_NONE && s->respondent < RESPONDENT_COUNT);
    FUZZ_CHECK(s->n_by >= 0 && s->n_by <= TALLY_BY_MAX);
    FUZZ_CHECK(s->min_n >= 1 && s->min_n <= 1000000);
    FUZZ_CHECK(s->unit[0] == '\0' || proto_code_valid(s->unit));
    char q[512], from[PTIME_DATE_LEN], to[PTIME_DATE_LEN];
    ptime_format_date(s->from_day, from);
    ptime_format_date(s->to_day, to);
    int n = snprintf(q, sizeof q, "to=%s&min_n=%d&from=%s", to, s->min_n, from);
    if(s->unit[0])
        n += snprintf(q + n, sizeof q - (size_t)n, "&unit=%s", s->unit);
    if(s->area >= 0)
        n += snprintf(q + n, sizeof q - (size_t)n, "&area=%s", proto_area_code((ProtoArea)s->area));
    if(s->respondent)
        n += snprintf(q + n, sizeof q - (size_t)n, "&respondent=%s",
                      proto_respondent_code((ProtoRespondent)s->respondent));
    for(int i = 0; i < s->n_by; i++) {
        FUZZ_CHECK(tally_by_code(s->by[i]));
        for(int j = 0; j < i; j++)
            FUZZ_CHECK(s->by[i] != s->by[j]);
        n += snprintf(q + n, sizeof q - (size_t)n, "%s%s", i ? "," : "&by=", tally_by_code(s->by[i]));
    }
    TallySpec s2;
    TallyQueryError e;
    FUZZ_CHECK(tally_query_parse(q, (size_t)n, &s2, &e) == TALLY_OK);
    FUZZ_CHECK(s2.from_day == s->from_day && s2.to_day == s->to_day && s2.area == s->area &&
               s2.respondent == s->respondent && s2.min_n == s->min_n && s2.n_by == s->n_by && strcmp(s2.unit, s->unit) == 0 &&
               memcmp(s2.by, s->by, sizeof s->by[0] * (size_t)s->n_by) == 0);
}

static void check_text(const uint8_t *data, size_t size)
{
    char out[300];
    size_t n = tally_utf8_clean((const char *)data, size, out, sizeof out);
    FUZZ_CHECK(n < sizeof out && out[n] == '\0' && fuzz_utf8_ok((const unsigned char *)out, n));
    FUZZ_CHECK(tally_utf8_valid(out, n));
    bool valid = fuzz_utf8_ok(data, size) && !memchr(data, '\0', size);
    FUZZ_CHECK(tally_utf8_valid((const char *)data, size) == valid);
    if(valid && size < sizeof out)
        FUZZ_CHECK(n == size && memcmp(out, data, size) == 0);

    char esc[1024];
    size_t m = tally_log_escape((const char *)data, size, esc, sizeof esc);
    FUZZ_CHECK(m < sizeof esc && esc[m] == '\0');
    /* Unescape and compare with the input (up to a cut). */
    size_t k = 0;
    size_t full = 0;
    for(size_t i = 0; i < size; i++)
        full += data[i] == '"' || data[i] == '\\' ? 2 : data[i] >= 0x20 && data[i] < 0x7f ? 1 : 4;
    bool cut = full + 1 > sizeof esc;
    FUZZ_CHECK(cut ? m >= 3 && strcmp(esc + m - 3, "...") == 0 : m == full);
    for(size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)esc[i];
        FUZZ_CHECK(c >= 0x20 && c < 0x7f && c != '"');
        if(cut && i >= m - 3)
            break;
        if(c == '\\') {
            FUZZ_CHECK(i + 1 < m);
            char t = esc[++i];
            if(t == 'x') {
                FUZZ_CHECK(i + 2 < m);
                unsigned v;
                FUZZ_CHECK(sscanf(esc + i + 1, "%2x", &v) == 1);
                FUZZ_CHECK(k < size && data[k] == v);
                i += 2;
            } else {
                FUZZ_CHECK((t == '"' || t == '\\') && k < size && data[k] == (uint8_t)t);
            }
        } else {
            FUZZ_CHECK(k < size && data[k] == c);
        }
        k++;
    }
    FUZZ_CHECK(cut || k == size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TallySpec spec;
    TallyQueryError err;
    TallyErr e = tally_query_parse((const char *)data, size, &spec, &err);
    if(e == TALLY_OK) {
        check_spec_round_trip(&spec);
    } else {
        FUZZ_CHECK(e == TALLY_E_INVALID);
        FUZZ_CHECK(err.code && (strcmp(err.code, "bad_value") == 0 || strcmp(err.code, "unknown_area") == 0 ||
                                strcmp(err.code, "unknown_field") == 0 ||
                                (strcmp(err.code, "unknown_respondent") == 0 && strcmp(err.param, "respondent") == 0)));
        FUZZ_CHECK(fuzz_is_cstr(err.param, sizeof err.param) && fuzz_is_cstr(err.msg, sizeof err.msg));
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)err.param, strlen(err.param)));
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)err.msg, strlen(err.msg)) && err.msg[0]);
    }
    check_text(data, size);
    return 0;
}
