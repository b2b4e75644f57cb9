/* tally_form.c — strict x-www-form-urlencoded decoding (see tally_form.h). */
#include "sync/tally/tally_form.h"

#include <stdbool.h>
#include <string.h>

#include "sync/tally/tally_text.h"

static int hex(char c)
{
    if(c >= '0' && c <= '9')
        return c - '0';
    if(c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if(c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool tally_form_unescape(const char *src, size_t n, bool plus_is_space, char *dst, size_t *out_len)
{
    size_t o = 0;
    for(size_t i = 0; i < n; i++) {
        char c = src[i];
        if(c == '%') {
            int hi = i + 2 < n ? hex(src[i + 1]) : -1, lo = i + 2 < n ? hex(src[i + 2]) : -1;
            if(hi < 0 || lo < 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if(c == '+' && plus_is_space) {
            c = ' ';
        }
        if(c == '\0')
            return false;
        dst[o++] = c;
    }
    dst[o] = '\0';
    *out_len = o;
    return true;
}

static void shown(const char *name, size_t len, char out[TALLY_FORM_NAME_SHOWN + 4])
{
    tally_utf8_clean(name, len, out, TALLY_FORM_NAME_SHOWN + 4);
}

TallyFormErr tally_form_parse(const char *text, size_t len, TallyForm *form, char bad_name[TALLY_FORM_NAME_SHOWN + 4])
{
    form->n = 0;
    bad_name[0] = '\0';
    if(len > TALLY_FORM_TEXT_MAX)
        return TALLY_FORM_E_TOO_MANY;
    if(len == 0)
        return TALLY_FORM_OK;
    char *w = form->buf;
    for(size_t start = 0; start <= len;) {
        const char *seg = text + start;
        const char *amp = memchr(seg, '&', len - start);
        size_t seg_len = amp ? (size_t)(amp - seg) : len - start;
        const char *eq = memchr(seg, '=', seg_len);
        size_t name_len = eq ? (size_t)(eq - seg) : seg_len;
        if(form->n == TALLY_FORM_MAX)
            return TALLY_FORM_E_TOO_MANY;
        char *name = w;
        size_t dn, dv;
        if(!tally_form_unescape(seg, name_len, true, name, &dn)) {
            /* show the raw name: it could not be decoded */
            shown(seg, name_len, bad_name);
            return TALLY_FORM_E_SYNTAX;
        }
        w += dn + 1;
        char *value = w;
        if(!tally_form_unescape(eq ? eq + 1 : seg + seg_len, eq ? seg_len - name_len - 1 : 0, true, value, &dv)) {
            shown(name, dn, bad_name);
            return TALLY_FORM_E_SYNTAX;
        }
        w += dv + 1;
        if(dn == 0 || !tally_utf8_valid(name, dn) || !tally_utf8_valid(value, dv)) {
            shown(name, dn, bad_name);
            return TALLY_FORM_E_SYNTAX;
        }
        for(size_t i = 0; i < form->n; i++)
            if(strcmp(form->pair[i].name, name) == 0) {
                shown(name, dn, bad_name);
                return TALLY_FORM_E_REPEATED;
            }
        form->pair[form->n++] = (TallyFormPair){name, value};
        if(!amp)
            break;
        start += seg_len + 1;
    }
    return TALLY_FORM_OK;
}

const char *tally_form_get(const TallyForm *form, const char *name)
{
    for(size_t i = 0; i < form->n; i++)
        if(strcmp(form->pair[i].name, name) == 0)
            return form->pair[i].value;
    return NULL;
}
