/* strings.c — the strings table and its language packs. See strings.h; the packs' format is described at
 * the top of assets/lang/vi/strings.txt.
 *
 * The Vietnamese pack is compiled in (strings_vi.c, generated at build time from assets/lang/vi/strings.txt,
 * parsed in place on first use), so str() needs no set-up. Other packs are read from disk once at start-up
 * by str_packs_load() and only read after that. Start reading at parse(). Not for use from two threads at
 * once (the kiosk's UI is one thread). */
#include "kiosk/strings.h"
#include "kiosk/text.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOT "{}"
#define PACK_FILE_MAX (256 * 1024) /* a strings.txt is a few KiB; refuse anything absurd */
#define VOICE_NAME_MAX 64

static const struct {
    const char *key;
    int slots;
    bool spoken;
} IDS[STR_COUNT] = {
#define STR_ROW_(id, key, slots, spoken) [STR_##id] = {key, slots, spoken},
    STR_TABLE(STR_ROW_)
#undef STR_ROW_
};

/* The vocabulary's ids run in sync/protocol.h's order (test_strings checks the texts against it). */
_Static_assert(STR_AREA_KHAC - STR_AREA_DAT_DAI + 1 == AREA_COUNT, "one text per area");
_Static_assert(STR_REASON_KHAC - STR_REASON_CHO_DOI + 1 == REASON_COUNT, "one text per reason");
_Static_assert(STR_RESPONDENT_TO_CHUC - STR_RESPONDENT_NGUOI_DAN + 2 == RESPONDENT_COUNT, "one per respondent");
_Static_assert(STR_WAIT_TREN_30 - STR_WAIT_DUOI_15 + 2 == WAIT_COUNT, "one text per wait");
_Static_assert(STR_LEVEL_LIKERT5_1 - STR_LEVEL_TTHC3_1 == 3 && STR_LEVEL_LIKERT5_5 - STR_LEVEL_LIKERT5_1 == 4,
               "one text per level of each scale");

typedef struct {
    char        code[TEXT_LANG_CODE_MAX];
    const char *text[STR_COUNT];
    const char *voice[STR_COUNT];
    const char *espeak;
    char       *buf; /* owns every text above (NULL for the built-in pack) */
} Pack;

struct StrPacks {
    Pack   p[STR_PACKS_MAX];
    size_t n;
};

typedef void (*LogFn)(void *user, const char *line);

static void say(LogFn log, void *user, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(LogFn log, void *user, const char *fmt, ...)
{
    if(!log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(user, line);
}

/* ---- Parsing one strings.txt ------------------------------------------------------------------------ */

static int count_slots(const char *t)
{
    int n = 0;
    for(const char *p = t; (p = strstr(p, SLOT)); p += sizeof SLOT - 1)
        n++;
    return n;
}

/* A voice file is a plain name in voice/: no folder, no hidden file, a .wav. */
static bool voice_name_ok(const char *v)
{
    size_t n = strlen(v);
    if(n < 5 || n > VOICE_NAME_MAX || v[0] == '.' || strcmp(v + n - 4, ".wav") != 0)
        return false;
    for(size_t i = 0; i < n; i++)
        if(!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') ||
             v[i] == '_' || v[i] == '-' || v[i] == '.'))
            return false;
    return true;
}

static int find_key(const char *key, size_t len)
{
    for(int i = 0; i < STR_COUNT; i++)
        if(strlen(IDS[i].key) == len && memcmp(IDS[i].key, key, len) == 0)
            return i;
    return -1;
}

static char *trim(char *s)
{
    while(*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while(e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Reads buf (NUL-terminated, changed in place: the pack's texts point into it) into pk. where names the
 * file in log lines. A line it cannot use is reported and left out; the rest still counts. */
static void parse(Pack *pk, char *buf, const char *where, LogFn log, void *user)
{
    int ln = 0;
    for(char *line = buf, *next; line; line = next) {
        ln++;
        next = strchr(line, '\n');
        if(next)
            *next++ = '\0';
        char *t = trim(line);
        if(!*t || *t == '#')
            continue;
        char *eq = strchr(t, '=');
        if(!eq) {
            say(log, user, "%s:%d: not a \"key = text\" line; left out", where, ln);
            continue;
        }
        *eq = '\0';
        char *key = trim(t), *val = trim(eq + 1);
        size_t kl = strlen(key);
        if(strcmp(key, "lang.espeak") == 0) {
            pk->espeak = val;
            continue;
        }
        bool voice = kl > 6 && strcmp(key + kl - 6, ".voice") == 0;
        int id = find_key(key, voice ? kl - 6 : kl);
        const char **slot = id < 0 ? NULL : voice ? &pk->voice[id] : &pk->text[id];
        if(id < 0)
            say(log, user, "%s:%d: unknown key \"%.60s\"; left out", where, ln, key);
        else if(*slot)
            say(log, user, "%s:%d: %s is set twice; the first one counts", where, ln, key);
        else if(voice && !voice_name_ok(val))
            say(log, user, "%s:%d: %s: \"%.60s\" is not a file name in voice/ ending in .wav; left out", where, ln,
                key, val);
        else if(!voice && (!*val || !text_utf8_ok(val)))
            say(log, user, "%s:%d: %s is empty or not UTF-8 text; the Vietnamese text is used", where, ln, key);
        else if(!voice && count_slots(val) != IDS[id].slots)
            say(log, user, "%s:%d: %s must have %d \"{}\" slot(s), as the Vietnamese text; it has %d, so the "
                           "Vietnamese text is used", where, ln, key, IDS[id].slots, count_slots(val));
        else
            *slot = val;
    }
}

/* ---- The built-in Vietnamese pack ------------------------------------------------------------------- */

extern char str_vi_builtin[]; /* strings_vi.c: assets/lang/vi/strings.txt, NUL-terminated */

static const Pack *builtin(void)
{
    static Pack vi;
    static bool parsed;
    if(!parsed) {
        parsed = true;
        snprintf(vi.code, sizeof vi.code, "vi");
        parse(&vi, str_vi_builtin, "built-in vi/strings.txt", NULL, NULL); /* checked by test_strings */
    }
    return &vi;
}

const char *str(StrId id)
{
    if((unsigned)id >= STR_COUNT)
        return "";
    const char *t = builtin()->text[id];
    return t ? t : "";
}

const char *str_key(StrId id) { return (unsigned)id < STR_COUNT ? IDS[id].key : NULL; }
int str_slots(StrId id) { return (unsigned)id < STR_COUNT ? IDS[id].slots : 0; }
bool str_spoken(StrId id) { return (unsigned)id < STR_COUNT && IDS[id].spoken; }

StrId str_area(ProtoArea a) { return (unsigned)a < AREA_COUNT ? (StrId)(STR_AREA_DAT_DAI + a) : STR_COUNT; }
StrId str_area_short(ProtoArea a)
{
    return (unsigned)a < AREA_COUNT ? (StrId)(STR_AREA_SHORT_DAT_DAI + a) : STR_COUNT;
}
StrId str_reason(ProtoReason r) { return (unsigned)r < REASON_COUNT ? (StrId)(STR_REASON_CHO_DOI + r) : STR_COUNT; }
StrId str_level(ProtoScale s, int score)
{
    if(!proto_score_valid(s, score))
        return STR_COUNT;
    return (StrId)((s == SCALE_TTHC3 ? STR_LEVEL_TTHC3_1 : STR_LEVEL_LIKERT5_1) + score - 1);
}
StrId str_respondent(ProtoRespondent r)
{
    return r > RESPONDENT_NONE && r < RESPONDENT_COUNT ? (StrId)(STR_RESPONDENT_NGUOI_DAN + r - 1) : STR_COUNT;
}
StrId str_wait(ProtoWait w) { return w > WAIT_NONE && w < WAIT_COUNT ? (StrId)(STR_WAIT_DUOI_15 + w - 1) : STR_COUNT; }

/* ---- Filling a slot --------------------------------------------------------------------------------- */

/* Appends n bytes of src to out (length *len, capacity cap), cutting before a character that does not fit.
 * False once something was cut: nothing may follow a cut. */
static bool append(char *out, size_t cap, size_t *len, const char *src, size_t n)
{
    bool whole = *len + n < cap;
    if(!whole) {
        n = cap - 1 - *len;
        while(n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80) /* src[n] continues a character: drop it whole */
            n--;
    }
    memcpy(out + *len, src, n);
    *len += n;
    out[*len] = '\0';
    return whole;
}

const char *str_fill_text(char *out, size_t cap, const char *t, const char *arg)
{
    if(!cap)
        return out;
    size_t len = 0;
    out[0] = '\0';
    const char *slot = strstr(t, SLOT);
    if(!slot) {
        append(out, cap, &len, t, strlen(t));
        return out;
    }
    const char *rest = slot + sizeof SLOT - 1;
    if(append(out, cap, &len, t, (size_t)(slot - t)) && append(out, cap, &len, arg ? arg : "", arg ? strlen(arg) : 0))
        append(out, cap, &len, rest, strlen(rest));
    return out;
}

const char *str_fill(char *out, size_t cap, StrId id, const char *arg) { return str_fill_text(out, cap, str(id), arg); }

/* ---- Packs on disk ---------------------------------------------------------------------------------- */

/* The whole file, NUL-terminated, or NULL (missing, unreadable, too big). */
static char *read_pack_file(const char *path, LogFn log, void *user)
{
    FILE *f = fopen(path, "rb");
    if(!f)
        return NULL;
    char *buf = malloc(PACK_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, PACK_FILE_MAX + 1, f) : 0;
    bool bad = ferror(f) || n > PACK_FILE_MAX;
    fclose(f);
    if(!buf || bad) {
        say(log, user, "%s: %s; the pack is left out", path, buf ? "unreadable or larger than 256 KiB" : "out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int by_code(const void *a, const void *b) { return strcmp(((const Pack *)a)->code, ((const Pack *)b)->code); }

StrPacks *str_packs_load(const char *dir, void (*log)(void *user, const char *line), void *user)
{
    StrPacks *p = calloc(1, sizeof *p);
    if(!p)
        return NULL;
    snprintf(p->p[0].code, sizeof p->p[0].code, "vi");
    p->n = 1;
    DIR *d = dir ? opendir(dir) : NULL;
    if(dir && !d)
        say(log, user, "cannot read the language packs in %s: only the built-in Vietnamese texts", dir);
    for(struct dirent *e; d && (e = readdir(d));) {
        if(!text_lang_code_ok(e->d_name))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/strings.txt", dir, e->d_name);
        bool vi = strcmp(e->d_name, "vi") == 0;
        if(!vi && p->n == STR_PACKS_MAX) {
            say(log, user, "%s: more than %d language packs; this one is left out", path, STR_PACKS_MAX);
            continue;
        }
        char *buf = read_pack_file(path, log, user);
        if(!buf)
            continue;
        Pack *pk = vi ? &p->p[0] : &p->p[p->n++];
        snprintf(pk->code, sizeof pk->code, "%.15s", e->d_name); /* text_lang_code_ok: at most 15 */
        pk->buf = buf;
        parse(pk, buf, path, log, user);
    }
    if(d)
        closedir(d);
    qsort(p->p + 1, p->n - 1, sizeof p->p[0], by_code);
    return p;
}

void str_packs_free(StrPacks *p)
{
    if(!p)
        return;
    for(size_t i = 0; i < p->n; i++)
        free(p->p[i].buf);
    free(p);
}

size_t str_packs_count(const StrPacks *p) { return p ? p->n : 1; }

int str_packs_find(const StrPacks *p, const char *code)
{
    for(size_t i = 0; code && i < str_packs_count(p); i++)
        if(strcmp(str_pack_code(p, i), code) == 0)
            return (int)i;
    return -1;
}

const char *str_pack_code(const StrPacks *p, size_t lang)
{
    return p && lang < p->n ? p->p[lang].code : "vi";
}

const char *str_in(const StrPacks *p, size_t lang, StrId id)
{
    if((unsigned)id >= STR_COUNT)
        return "";
    if(p && lang < p->n && p->p[lang].text[id])
        return p->p[lang].text[id];
    if(p && p->p[0].text[id]) /* Vietnamese from disk */
        return p->p[0].text[id];
    return str(id);
}

bool str_has(const StrPacks *p, size_t lang, StrId id)
{
    return p && lang < p->n && (unsigned)id < STR_COUNT && p->p[lang].text[id];
}

const char *str_fill_in(const StrPacks *p, size_t lang, char *out, size_t cap, StrId id, const char *arg)
{
    return str_fill_text(out, cap, str_in(p, lang, id), arg);
}

const char *str_voice(const StrPacks *p, size_t lang, StrId id, size_t *pack)
{
    if((unsigned)id >= STR_COUNT)
        return NULL;
    const char *v = NULL;
    size_t from = 0;
    if(p && lang < p->n && p->p[lang].voice[id])
        v = p->p[lang].voice[id], from = lang;
    else if(p && p->p[0].voice[id])
        v = p->p[0].voice[id];
    else
        v = builtin()->voice[id];
    if(pack)
        *pack = from;
    return v;
}

const char *str_pack_meta(const StrPacks *p, size_t lang, const char *key)
{
    if(!key || strcmp(key, "lang.espeak") != 0)
        return NULL;
    if(p && lang < p->n)
        return p->p[lang].espeak;
    return lang == 0 ? builtin()->espeak : NULL;
}
