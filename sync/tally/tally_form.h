/* tally_form.h — application/x-www-form-urlencoded text (a URL's query string, or a form's body) into
 * name/value pairs, strictly.
 *
 * '&' separates pairs, '=' a name from its value, "+" is a space, %HH a byte. Refused, naming the pair:
 * a bad escape, a NUL byte (%00), text that is not UTF-8 once decoded, an empty name or an empty pair
 * ("a=1&&b=2"), a name given twice (which of two values was meant is a guess, and a proxy may guess
 * otherwise), more than TALLY_FORM_MAX pairs. What the names and values mean is the caller's business. */
#ifndef SYNC_TALLY_FORM_H
#define SYNC_TALLY_FORM_H

#include <stdbool.h>
#include <stddef.h>

#define TALLY_FORM_MAX 32          /* pairs in one query string or form */
#define TALLY_FORM_TEXT_MAX 8192   /* bytes of encoded text */
#define TALLY_FORM_NAME_SHOWN 64   /* bytes of a name quoted back in an error */

typedef enum {
    TALLY_FORM_OK = 0,
    TALLY_FORM_E_SYNTAX,   /* bad escape, NUL, not UTF-8, empty name or pair */
    TALLY_FORM_E_REPEATED, /* a name given twice */
    TALLY_FORM_E_TOO_MANY, /* more than TALLY_FORM_MAX pairs, or longer than TALLY_FORM_TEXT_MAX */
} TallyFormErr;

typedef struct {
    const char *name, *value; /* decoded, NUL-terminated; value is "" for "name" and "name=" */
} TallyFormPair;

typedef struct {
    char          buf[TALLY_FORM_TEXT_MAX + 2 * TALLY_FORM_MAX + 1]; /* decoded names and values, each + NUL */
    TallyFormPair pair[TALLY_FORM_MAX];
    size_t        n;
} TallyForm;

/* Decodes text[0..len). On error, bad_name gets the offending pair's name (decoded, made valid UTF-8,
 * shortened to TALLY_FORM_NAME_SHOWN bytes; "" for an empty one). */
TallyFormErr tally_form_parse(const char *text, size_t len, TallyForm *form,
                              char bad_name[TALLY_FORM_NAME_SHOWN + 4]);

/* %HH-decodes src[0..n) into dst (room for n + 1 bytes, NUL-terminated), '+' as a space when plus_is_space (a
 * query or form; not a path); false on a bad escape or a NUL byte. */
bool tally_form_unescape(const char *src, size_t n, bool plus_is_space, char *dst, size_t *out_len);

/* The value of a name, or NULL when absent. */
const char *tally_form_get(const TallyForm *form, const char *name);

#endif
