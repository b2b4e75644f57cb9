/* fuzz_unit_csv — libFuzzer target for the unit-tree CSV import (tally_unit_csv_parse, the parsing half of
 * `tally-admin unit import`).
 *
 * Any text: no crash; every unit handed on has a valid code and parent and a name of 1-200 bytes of UTF-8
 * text without control characters; a refusal names the file and the line. */
#include <stdint.h>
#include <string.h>

#include "sync/tally/tally_db.h"
#include "fuzz_util.h"

static TallyErr check_unit(const char *code, const char *name, const char *parent, void *ud, char msg[TALLY_MSG_MAX])
{
    (void)msg;
    (*(size_t *)ud)++;
    FUZZ_CHECK(proto_code_valid(code));
    FUZZ_CHECK(!parent[0] || (proto_code_valid(parent) && strcmp(parent, code) != 0));
    size_t n = strlen(name);
    FUZZ_CHECK(n >= 1 && n <= TALLY_NAME_MAX && fuzz_utf8_ok((const unsigned char *)name, n));
    for(size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)name[i] >= 0x20 && name[i] != 0x7f);
    return TALLY_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[TALLY_MSG_MAX] = "";
    size_t n = 0;
    TallyErr e = tally_unit_csv_parse((const char *)data, size, "units.csv", check_unit, &n, msg);
    if(e)
        FUZZ_CHECK(e == TALLY_E_INVALID && strncmp(msg, "units.csv:", 10) == 0);
    return 0;
}
