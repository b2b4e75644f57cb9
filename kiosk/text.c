/* text.c — see text.h. */
#include "kiosk/text.h"

#include <stdint.h>
#include <string.h>

bool text_utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while(*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if(n < 0 || (n == 1 && *p < 0xc2) || (n == 0 && (*p < 0x20 || *p == 0x7f)))
            return false;
        uint32_t cp = n == 0 ? *p : (uint32_t)(*p & (0x3f >> n));
        for(int i = 1; i <= n; i++) {
            if((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

bool text_lang_code_ok(const char *s)
{
    size_t n = strlen(s);
    if(n < 2 || n >= TEXT_LANG_CODE_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for(size_t i = 0; i < n; i++)
        if(!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}
