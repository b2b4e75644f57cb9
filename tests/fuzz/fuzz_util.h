/* fuzz_util.h — what the libFuzzer targets share: a property check that aborts (libFuzzer then keeps the input
 * as a crash), and small helpers. */
#ifndef TESTS_FUZZ_UTIL_H
#define TESTS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                                     \
    do {                                                                                                     \
        if(!(cond)) {                                                                                        \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);                      \
            abort();                                                                                         \
        }                                                                                                    \
    } while(0)

/* A NUL-terminated string within cap bytes. */
static inline bool fuzz_is_cstr(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF), written independently of
 * the code under test. */
static inline bool fuzz_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while(i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if(c < 0x80) {
            i++;
            continue;
        } else if(c >= 0xc2 && c <= 0xdf) {
            k = 1, cp = c & 0x1f;
        } else if(c >= 0xe0 && c <= 0xef) {
            k = 2, cp = c & 0x0f;
        } else if(c >= 0xf0 && c <= 0xf4) {
            k = 3, cp = c & 0x07;
        } else {
            return false;
        }
        for(size_t j = 1; j <= k; j++) {
            if(i + j >= n || (s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* A NUL-terminated copy of the input (libFuzzer's data is not terminated). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_CHECK(s);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
