/* text.h — checks on text that people and files give the kiosk (kiosk.ini, language packs), in one place so
 * the config and the strings tables agree on what is acceptable. */
#ifndef KIOSK_TEXT_H
#define KIOSK_TEXT_H

#include <stdbool.h>

#define TEXT_LANG_CODE_MAX 16 /* a language pack's code, with its NUL */

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) without control
 * characters: text that is shown on the screen. */
bool text_utf8_ok(const char *s);
/* A language pack's code, which is also its folder's name: a lower-case letter, then 1 to 14 of [a-z0-9-]
 * ("vi", "en", "jra"); never a path. */
bool text_lang_code_ok(const char *s);

#endif
