/* tally_text.c — UTF-8 cleaning and log escaping (see tally_text.h). */
#include "sync/tally/tally_text.h"

#include <string.h>

#include <jansson.h>

/* Length of the well-formed UTF-8 sequence at s (at most n bytes available), or 0 when there is none. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    unsigned cp;
    if(c < 0x80)
        return 1;
    if(c >= 0xc2 && c <= 0xdf)
        k = 1, cp = c & 0x1f;
    else if(c >= 0xe0 && c <= 0xef)
        k = 2, cp = c & 0x0f;
    else if(c >= 0xf0 && c <= 0xf4)
        k = 3, cp = c & 0x07;
    else
        return 0;
    if(k >= n)
        return 0;
    for(size_t i = 1; i <= k; i++) {
        if((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k + 1;
}

size_t tally_utf8_clean(const char *in, size_t len, char *out, size_t cap)
{
    static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    if(!cap)
        return 0;
    for(size_t i = 0; i < len;) {
        size_t k = s[i] ? seq_len(s + i, len - i) : 0;
        const char *src = k ? in + i : REPLACEMENT;
        size_t n = k ? k : 3;
        if(o + n + 1 > cap)
            break;
        memcpy(out + o, src, n);
        o += n;
        i += k ? k : 1;
    }
    out[o] = '\0';
    return o;
}

bool tally_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for(size_t i = 0; i < len;) {
        size_t k = p[i] ? seq_len(p + i, len - i) : 0;
        if(!k)
            return false;
        i += k;
    }
    return true;
}

/* How many bytes byte c takes once escaped. */
static size_t escaped_len(unsigned char c)
{
    return c == '"' || c == '\\' ? 2 : c >= 0x20 && c < 0x7f ? 1 : 4;
}

size_t tally_log_escape(const char *in, size_t len, char *out, size_t cap)
{
    static const char HEX[] = "0123456789abcdef";
    size_t o = 0, full = 0;
    if(cap < 5) {
        if(cap)
            out[0] = '\0';
        return 0;
    }
    for(size_t i = 0; i < len && full < cap; i++)
        full += escaped_len((unsigned char)in[i]);
    size_t room = full < cap ? cap - 1 : cap - 4; /* when cut, keep 3 bytes for "..." */
    for(size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        size_t n = escaped_len(c);
        if(o + n > room) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if(n == 1) {
            out[o] = (char)c;
        } else if(n == 2) {
            out[o] = '\\', out[o + 1] = (char)c;
        } else {
            out[o] = '\\', out[o + 1] = 'x', out[o + 2] = HEX[c >> 4], out[o + 3] = HEX[c & 15];
        }
        o += n;
    }
    out[o] = '\0';
    return o;
}

/* Valid UTF-8 whatever the text holds (request bytes, a key cut short, jansson's excerpt of bad JSON). */
static json_t *clean_string(const char *s)
{
    char buf[1024];
    size_t n = tally_utf8_clean(s, strlen(s), buf, sizeof buf);
    return json_stringn(buf, n);
}

char *tally_json_error(const char *code, const char *field, int line, int column, const char *message)
{
    json_t *o = json_object();
    char *body = NULL;
    if(o && !json_object_set_new(o, "error", json_string(code)) &&
       !json_object_set_new(o, "message", clean_string(message)) &&
       (!field || !json_object_set_new(o, "field", clean_string(field))) &&
       (line <= 0 || (!json_object_set_new(o, "line", json_integer(line)) &&
                      !json_object_set_new(o, "column", json_integer(column)))))
        body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return body;
}
