/* config.c — loads kiosk.ini with inih. See config.h; every key is documented in assets/kiosk.example.ini.
 *
 * inih calls handle() once per "key = value". Debian's inih does not pass line numbers to the handler, so
 * we feed it through read_line(), which counts lines (and checks section headers and line lengths, which
 * inih would otherwise pass over silently). The first error wins and names its line and key. */
#include "kiosk/config.h"
#include "kiosk/text.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#define CONFIG_IDLE_MIN_S 5
#define CONFIG_IDLE_MAX_S 3600
#define CONFIG_JITTER_MAX_MIN 720    /* half a day */
#define CONFIG_INTERVAL_MAX_MIN 1440 /* a day */
#define CONFIG_KEEP_DAYS_MIN 30      /* the supervisor's month at least */
#define CONFIG_KEEP_DAYS_MAX 3650
#define CONFIG_FILE_MAX (1 << 20)     /* a kiosk.ini is a few hundred bytes */

typedef enum {
    K_DEVICE_ID, K_UNIT_CODE, K_UNIT_NAME, K_AREAS, K_SCALE, K_DATABASE, K_IDLE_TIMEOUT, K_PIN_HASH, K_KEEP_DAYS,
    K_ASK_SERVICE, K_ASK_RESPONDENT, K_ASK_WAIT, K_VOICE, K_LANGUAGE,
    K_URL, K_TOKEN_FILE, K_CA_FILE, K_SCHEDULE, K_JITTER, K_INTERVAL,
    K_COUNT
} Key;

static const struct {
    const char *section, *name;
} KEYS[K_COUNT] = {
    [K_DEVICE_ID] = {"kiosk", "device_id"},   [K_UNIT_CODE] = {"kiosk", "unit_code"},
    [K_UNIT_NAME] = {"kiosk", "unit_name"},   [K_AREAS] = {"kiosk", "areas"},
    [K_SCALE] = {"kiosk", "scale"},           [K_DATABASE] = {"kiosk", "database"},
    [K_IDLE_TIMEOUT] = {"kiosk", "idle_timeout_s"}, [K_PIN_HASH] = {"kiosk", "supervisor_pin_hash"},
    [K_KEEP_DAYS] = {"kiosk", "keep_days"},
    [K_ASK_SERVICE] = {"kiosk", "ask_service"}, [K_ASK_RESPONDENT] = {"kiosk", "ask_respondent"},
    [K_ASK_WAIT] = {"kiosk", "ask_wait"},     [K_VOICE] = {"kiosk", "voice"},
    [K_LANGUAGE] = {"kiosk", "language"},
    [K_URL] = {"sync", "url"},                [K_TOKEN_FILE] = {"sync", "token_file"},
    [K_CA_FILE] = {"sync", "ca_file"},        [K_SCHEDULE] = {"sync", "schedule"},
    [K_JITTER] = {"sync", "jitter_min"},      [K_INTERVAL] = {"sync", "interval_min"},
};

typedef struct {
    const char  *text;                 /* the whole file */
    size_t       len, pos;
    KioskConfig *cfg;
    char         dir[CONFIG_PATH_MAX]; /* absolute folder of the config file */
    int          line;                 /* the line inih is handling now */
    int          seen[K_COUNT];        /* line each key was set on, 0 = not yet */
    ConfigErr    err;
    int          err_line;
    char         msg[512];
} Parser;

static int fail(Parser *p, ConfigErr e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(Parser *p, ConfigErr e, const char *fmt, ...)
{
    if(p->err)
        return 0; /* keep the first error */
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->err = e;
    p->err_line = p->line;
    snprintf(p->msg, sizeof p->msg, "line %d: %s", p->line, what);
    return 0;
}

/* ---- Values ------------------------------------------------------------------------------------------ */

static bool parse_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    if(!*v || isspace((unsigned char)*v))
        return false;
    errno = 0;
    long x = strtol(v, &end, 10);
    if(errno || *end || x < lo || x > hi)
        return false;
    *out = (int)x;
    return true;
}

/* yes / no (also true / false, on / off, 1 / 0), any case. */
static bool parse_bool(const char *v, bool *out)
{
    static const char *const YES[] = {"yes", "true", "on", "1"}, *const NO[] = {"no", "false", "off", "0"};
    for(size_t i = 0; i < 4; i++) {
        if(strcasecmp(v, YES[i]) == 0)
            return *out = true, true;
        if(strcasecmp(v, NO[i]) == 0)
            return *out = false, true;
    }
    return false;
}

/* An absolute path: as given when it starts with '/', else relative to the config file's folder. */
static int set_path(Parser *p, const char *key, const char *v, char out[CONFIG_PATH_MAX], bool required)
{
    if(!*v) {
        if(required)
            return fail(p, CONFIG_BAD_VALUE, "%s is empty", key);
        out[0] = '\0';
        return 1;
    }
    int n = v[0] == '/' ? snprintf(out, CONFIG_PATH_MAX, "%s", v) : snprintf(out, CONFIG_PATH_MAX, "%s/%s", p->dir, v);
    if(n < 0 || n >= CONFIG_PATH_MAX)
        return fail(p, CONFIG_BAD_VALUE, "%s: path longer than %d bytes", key, CONFIG_PATH_MAX - 1);
    return 1;
}

static int set_areas(Parser *p, const char *v)
{
    KioskConfig *c = p->cfg;
    char buf[512];
    if(snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf)
        return fail(p, CONFIG_BAD_VALUE, "areas: list too long");
    c->n_areas = 0;
    char *item = buf;
    /* strtok would merge ",," into one separator; an empty item is a typo worth reporting. */
    for(char *end;; item = end + 1) {
        end = strchr(item, ',');
        if(end)
            *end = '\0';
        while(isspace((unsigned char)*item))
            item++;
        for(char *t = item + strlen(item); t > item && isspace((unsigned char)t[-1]);)
            *--t = '\0';
        if(!*item)
            return fail(p, CONFIG_BAD_VALUE, "areas: empty item in \"%s\" (use a comma list of area codes)", v);
        int a = proto_area_from_code(item);
        if(a < 0)
            return fail(p, CONFIG_BAD_VALUE,
                        "areas: unknown area code \"%.40s\" (known: dat_dai, xay_dung, dau_tu, y_te, giao_duc, "
                        "tu_phap_ho_tich, lao_dong_xa_hoi, khac)",
                        item);
        for(size_t i = 0; i < c->n_areas; i++)
            if(c->areas[i] == (ProtoArea)a)
                return fail(p, CONFIG_BAD_VALUE, "areas: \"%s\" is listed twice", item);
        c->areas[c->n_areas++] = (ProtoArea)a;
        if(!end)
            break;
    }
    return 1;
}

static int set_value(Parser *p, Key k, const char *v)
{
    KioskConfig *c = p->cfg;
    const char *key = KEYS[k].name;
    int n, hh, mm;
    switch(k) {
    case K_DEVICE_ID:
    case K_UNIT_CODE:
        if(!proto_code_valid(v))
            return fail(p, CONFIG_BAD_VALUE, "%s \"%.70s\" must be 1-%d characters of A-Z a-z 0-9 . _ -", key, v,
                        PROTO_ID_MAX);
        snprintf(k == K_DEVICE_ID ? c->device_id : c->unit_code, PROTO_ID_MAX + 1, "%s", v);
        return 1;
    case K_UNIT_NAME:
        if(strlen(v) >= sizeof c->unit_name || !text_utf8_ok(v))
            return fail(p, CONFIG_BAD_VALUE, "unit_name must be UTF-8 text of at most %zu bytes",
                        sizeof c->unit_name - 1);
        snprintf(c->unit_name, sizeof c->unit_name, "%s", v);
        return 1;
    case K_AREAS:
        return set_areas(p, v);
    case K_SCALE:
        if((n = proto_scale_from_code(v)) < 0)
            return fail(p, CONFIG_BAD_VALUE, "scale \"%.40s\" is not tthc3 or likert5", v);
        c->scale = (ProtoScale)n;
        return 1;
    case K_DATABASE:
        return set_path(p, key, v, c->database, true);
    case K_IDLE_TIMEOUT:
        if(!parse_int(v, CONFIG_IDLE_MIN_S, CONFIG_IDLE_MAX_S, &c->idle_timeout_s))
            return fail(p, CONFIG_BAD_VALUE, "idle_timeout_s \"%.40s\" must be a whole number of seconds, %d-%d", v,
                        CONFIG_IDLE_MIN_S, CONFIG_IDLE_MAX_S);
        return 1;
    case K_PIN_HASH:
        /* libsodium crypto_pwhash_str output, e.g. "$argon2id$v=19$m=65536,t=2,p=1$…$…". */
        if(*v && (strncmp(v, "$argon2", 7) != 0 || strlen(v) >= sizeof c->supervisor_pin_hash))
            return fail(p, CONFIG_BAD_VALUE,
                        "supervisor_pin_hash must be empty or an argon2 hash (\"$argon2id$...\"): make one "
                        "with kiosk --hash-pin");
        snprintf(c->supervisor_pin_hash, sizeof c->supervisor_pin_hash, "%s", v);
        return 1;
    case K_KEEP_DAYS:
        if(!parse_int(v, CONFIG_KEEP_DAYS_MIN, CONFIG_KEEP_DAYS_MAX, &c->keep_days))
            return fail(p, CONFIG_BAD_VALUE, "keep_days \"%.40s\" must be a whole number of days, %d-%d", v,
                        CONFIG_KEEP_DAYS_MIN, CONFIG_KEEP_DAYS_MAX);
        return 1;
    case K_ASK_SERVICE:
    case K_ASK_RESPONDENT:
    case K_ASK_WAIT:
    case K_VOICE: {
        bool *b = k == K_ASK_SERVICE ? &c->ask_service : k == K_ASK_RESPONDENT ? &c->ask_respondent
                  : k == K_ASK_WAIT ? &c->ask_wait : &c->voice;
        if(!parse_bool(v, b))
            return fail(p, CONFIG_BAD_VALUE, "%s \"%.40s\" must be yes or no", key, v);
        return 1;
    }
    case K_LANGUAGE:
        if(!text_lang_code_ok(v))
            return fail(p, CONFIG_BAD_VALUE,
                        "language \"%.40s\" must be a language pack's code, the name of its folder under "
                        "assets/lang/ (e.g. vi, en)", v);
        snprintf(c->language, sizeof c->language, "%s", v);
        return 1;
    case K_URL: {
        size_t len = strlen(v), scheme = strncmp(v, "https://", 8) == 0 ? 8 : strncmp(v, "http://", 7) == 0 ? 7 : 0;
        if(len == 0) {
            c->sync_url[0] = '\0';
            return 1;
        }
        if(!scheme)
            return fail(p, CONFIG_BAD_VALUE, "url \"%.80s\" must start with https:// (or http:// on a test network)",
                        v);
        if(!v[scheme] || v[scheme] == '/')
            return fail(p, CONFIG_BAD_VALUE, "url \"%.80s\" has no host", v);
        if(len >= sizeof c->sync_url || strpbrk(v, " \t\"<>\\^`{|}"))
            return fail(p, CONFIG_BAD_VALUE, "url is too long or has characters a URL cannot have");
        /* A base URL: "…/api/v1/" and "…/api/v1" are the same base. */
        while(len > scheme && v[len - 1] == '/')
            len--;
        snprintf(c->sync_url, sizeof c->sync_url, "%.*s", (int)len, v);
        return 1;
    }
    case K_TOKEN_FILE:
        return set_path(p, key, v, c->token_file, false);
    case K_CA_FILE:
        return set_path(p, key, v, c->ca_file, false);
    case K_SCHEDULE:
        if(strlen(v) != 5 || !isdigit((unsigned char)v[0]) || !isdigit((unsigned char)v[1]) || v[2] != ':' ||
           !isdigit((unsigned char)v[3]) || !isdigit((unsigned char)v[4]) ||
           (hh = (v[0] - '0') * 10 + (v[1] - '0')) > 23 || (mm = (v[3] - '0') * 10 + (v[4] - '0')) > 59)
            return fail(p, CONFIG_BAD_VALUE, "schedule \"%.40s\" must be a local time HH:MM, 00:00-23:59", v);
        c->schedule_min = hh * 60 + mm;
        return 1;
    case K_JITTER:
        if(!parse_int(v, 0, CONFIG_JITTER_MAX_MIN, &c->jitter_min))
            return fail(p, CONFIG_BAD_VALUE, "jitter_min \"%.40s\" must be a whole number of minutes, 0-%d", v,
                        CONFIG_JITTER_MAX_MIN);
        return 1;
    case K_INTERVAL:
        if(!parse_int(v, 0, CONFIG_INTERVAL_MAX_MIN, &c->interval_min))
            return fail(p, CONFIG_BAD_VALUE, "interval_min \"%.40s\" must be a whole number of minutes, 0 (off)-%d",
                        v, CONFIG_INTERVAL_MAX_MIN);
        return 1;
    case K_COUNT:
        break;
    }
    return 0;
}

/* ---- inih plumbing ----------------------------------------------------------------------------------- */

static int handle(void *user, const char *section, const char *name, const char *value)
{
    Parser *p = user;
    if(p->err)
        return 1; /* already failed; inih keeps reading, we ignore the rest */
    if(strcmp(section, "kiosk") != 0 && strcmp(section, "sync") != 0) {
        if(!*section)
            return fail(p, CONFIG_UNKNOWN_KEY, "key \"%.60s\" is outside any section ([kiosk] or [sync])", name);
        return fail(p, CONFIG_UNKNOWN_KEY, "unknown section [%.60s] (known: [kiosk], [sync])", section);
    }
    for(int k = 0; k < K_COUNT; k++) {
        if(strcmp(section, KEYS[k].section) != 0 || strcmp(name, KEYS[k].name) != 0)
            continue;
        if(p->seen[k])
            return fail(p, CONFIG_SYNTAX, "%s is set twice (first on line %d)", name, p->seen[k]);
        p->seen[k] = p->line;
        return set_value(p, (Key)k, value);
    }
    return fail(p, CONFIG_UNKNOWN_KEY, "unknown key \"%.60s\" in [%s]", name, section);
}

/* fgets for inih over the file's text: counts lines, refuses lines inih would cut in two and lines holding a
 * NUL byte (C strings would silently end there), and checks section names. */
static char *read_line(char *str, int num, void *stream)
{
    Parser *p = stream;
    if(p->pos >= p->len)
        return NULL;
    p->line++;
    const char *start = p->text + p->pos, *nl = memchr(start, '\n', p->len - p->pos);
    size_t line_len = nl ? (size_t)(nl - start) + 1 : p->len - p->pos;
    p->pos += line_len;
    if(memchr(start, '\0', line_len)) {
        fail(p, CONFIG_SYNTAX, "a NUL byte in the line (the file is binary or damaged)");
        str[0] = '\0';
        return str;
    }
    if(line_len > (size_t)num - 1) {
        fail(p, CONFIG_SYNTAX, "line longer than %d characters", num - 3);
        str[0] = '\0';
        return str;
    }
    memcpy(str, start, line_len);
    str[line_len] = '\0';
    /* Drop the BOM and the indentation: inih would take an indented line for the continuation of the
     * previous value, and an indented key is surely meant as a key. */
    const char *t = str;
    if(p->line == 1 && strncmp(t, "\xef\xbb\xbf", 3) == 0)
        t += 3;
    while(*t == ' ' || *t == '\t')
        t++;
    memmove(str, t, strlen(t) + 1);
    t = str;
    if(*t == '[') {
        const char *end = strchr(t, ']');
        if(end && !((end - t - 1 == 5 && strncmp(t + 1, "kiosk", 5) == 0) ||
                    (end - t - 1 == 4 && strncmp(t + 1, "sync", 4) == 0)))
            fail(p, CONFIG_UNKNOWN_KEY, "unknown section %.*s (known: [kiosk], [sync])", (int)(end - t + 1 > 60 ? 60 : end - t + 1), t);
    }
    return str;
}

static void defaults(KioskConfig *c)
{
    memset(c, 0, sizeof *c);
    c->scale = SCALE_TTHC3;
    c->idle_timeout_s = 20;
    c->keep_days = CONFIG_KEEP_DAYS_DEFAULT;
    snprintf(c->language, sizeof c->language, "vi");
    c->schedule_min = 2 * 60;
    c->jitter_min = 60;
    c->interval_min = 0;
}

/* The body of config_load and config_parse: p->text/len and p->dir are set; name prefixes messages. */
static ConfigErr parse(Parser *p, const char *name, KioskConfig *out, char *msg, size_t msg_len)
{
    defaults(out);
    p->cfg = out;
    int rc = ini_parse_stream(read_line, p, handle, p);
    ConfigErr e = p->err;
    if(rc > 0 && (!e || rc < p->err_line)) {
        snprintf(msg, msg_len, "%s: line %d: not a \"key = value\" line or a [section]", name, rc);
        e = CONFIG_SYNTAX;
    } else if(rc < 0) {
        snprintf(msg, msg_len, "%s: cannot parse (inih error %d)", name, rc);
        e = CONFIG_IO;
    } else if(e) {
        snprintf(msg, msg_len, "%s: %s", name, p->msg);
    } else {
        static const Key required[] = {K_DEVICE_ID, K_UNIT_CODE, K_AREAS, K_DATABASE};
        for(size_t i = 0; i < sizeof required / sizeof required[0]; i++)
            if(!p->seen[required[i]]) {
                snprintf(msg, msg_len, "%s: %s is missing in [%s]", name, KEYS[required[i]].name,
                         KEYS[required[i]].section);
                e = CONFIG_MISSING;
                break;
            }
    }
    if(e)
        defaults(out);
    return e;
}

ConfigErr config_parse(const char *text, size_t len, const char *dir, KioskConfig *out, char *msg, size_t msg_len)
{
    char scratch[8];
    if(!msg || !msg_len)
        msg = scratch, msg_len = sizeof scratch;
    msg[0] = '\0';
    Parser *p = calloc(1, sizeof *p);
    if(!p) {
        snprintf(msg, msg_len, "config: out of memory");
        return CONFIG_IO;
    }
    p->text = text;
    p->len = len;
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    ConfigErr e = parse(p, "config", out, msg, msg_len);
    free(p);
    return e;
}

ConfigErr config_load(const char *path, KioskConfig *out, char *msg, size_t msg_len)
{
    char scratch[8];
    if(!msg || !msg_len)
        msg = scratch, msg_len = sizeof scratch;
    msg[0] = '\0';
    if(!out || !path || !*path) {
        snprintf(msg, msg_len, "config_load: no path");
        return CONFIG_IO;
    }
    Parser *p = calloc(1, sizeof *p);
    char *text = malloc(CONFIG_FILE_MAX + 1);
    if(!p || !text) {
        free(p);
        free(text);
        snprintf(msg, msg_len, "%s: out of memory", path);
        return CONFIG_IO;
    }
    defaults(out);

    /* The folder that relative paths are resolved against, made absolute. */
    char folder[CONFIG_PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(folder, sizeof folder, "%.*s", slash ? (int)(slash == path ? 1 : slash - path) : 1, slash ? path : ".");
    ConfigErr e = CONFIG_OK;
    FILE *f = NULL;
    if(!realpath(folder, p->dir)) {
        snprintf(msg, msg_len, "%s: cannot resolve its folder: %s", path, strerror(errno));
        e = CONFIG_IO;
    } else if(!(f = fopen(path, "r"))) {
        snprintf(msg, msg_len, "%s: cannot read: %s", path, strerror(errno));
        e = CONFIG_IO;
    } else {
        size_t n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
        if(ferror(f)) {
            snprintf(msg, msg_len, "%s: read error", path);
            e = CONFIG_IO;
        } else if(n > CONFIG_FILE_MAX) {
            snprintf(msg, msg_len, "%s: larger than %d bytes; not a kiosk.ini", path, CONFIG_FILE_MAX);
            e = CONFIG_SYNTAX;
        } else {
            p->text = text;
            p->len = n;
            e = parse(p, path, out, msg, msg_len);
        }
        fclose(f);
    }
    free(text);
    free(p);
    return e;
}
