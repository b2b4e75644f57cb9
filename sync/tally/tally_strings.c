/* tally_strings.c — the central tally's Vietnamese strings table (see tally_strings.h). */
#include "sync/tally/tally_strings.h"

static const char *const TEXT[TS_COUNT] = {
#define TALLY_STR_TEXT(id, text) [id] = text,
    TALLY_STRINGS(TALLY_STR_TEXT)
#undef TALLY_STR_TEXT
};

static const char *const KEYS[TS_COUNT] = {
#define TALLY_STR_KEY(id, text) [id] = #id,
    TALLY_STRINGS(TALLY_STR_KEY)
#undef TALLY_STR_KEY
};

const char *tally_str(TallyStr id)
{
    return (unsigned)id < TS_COUNT ? TEXT[id] : "";
}

const char *tally_str_key(TallyStr id)
{
    return (unsigned)id < TS_COUNT ? KEYS[id] : "";
}
