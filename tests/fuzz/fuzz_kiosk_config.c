/* fuzz_kiosk_config — libFuzzer target for kiosk.ini (config_parse, the text half of config_load).
 *
 * Any text: no crash, and either a refusal with a message, or a config that keeps every documented rule
 * (codes valid, at least one area and none twice, a known scale, absolute paths, ranges, UTF-8 unit name). */
#include <stdint.h>
#include <string.h>

#include "kiosk/config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    KioskConfig c;
    char msg[512];
    ConfigErr e = config_parse((const char *)data, size, "/kiosk", &c, msg, sizeof msg);
    FUZZ_CHECK(fuzz_is_cstr(msg, sizeof msg));
    if(e != CONFIG_OK) {
        FUZZ_CHECK(msg[0] && c.device_id[0] == '\0' && c.n_areas == 0);
        return 0;
    }
    FUZZ_CHECK(proto_code_valid(c.device_id) && proto_code_valid(c.unit_code));
    FUZZ_CHECK(c.n_areas >= 1 && c.n_areas <= AREA_COUNT);
    for(size_t i = 0; i < c.n_areas; i++) {
        FUZZ_CHECK(proto_area_code(c.areas[i]));
        for(size_t j = 0; j < i; j++)
            FUZZ_CHECK(c.areas[i] != c.areas[j]);
    }
    FUZZ_CHECK(proto_scale_code(c.scale));
    FUZZ_CHECK(c.database[0] == '/' && (!c.token_file[0] || c.token_file[0] == '/'));
    FUZZ_CHECK(c.idle_timeout_s >= 5 && c.idle_timeout_s <= 3600);
    FUZZ_CHECK(c.schedule_min >= 0 && c.schedule_min < 1440 && c.jitter_min >= 0 && c.interval_min >= 0);
    FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)c.unit_name, strlen(c.unit_name)));
    FUZZ_CHECK(!c.sync_url[0] || strncmp(c.sync_url, "http", 4) == 0);
    return 0;
}
