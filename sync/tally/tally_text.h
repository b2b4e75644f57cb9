/* tally_text.h — text that leaves the server: made valid UTF-8 for JSON replies, escaped for the log.
 *
 * Anything taken from a request (a parameter name, a JSON key, jansson's excerpt of a syntax error) may hold
 * bytes that are not UTF-8, or be cut inside a character. jansson refuses to build a string from such text,
 * so every error reply passes its text through tally_utf8_clean() first; every log line passes request data
 * through tally_log_escape(), so no request can write a line break or a forged field into the log. Both
 * are pure and never allocate. */
#ifndef SYNC_TALLY_TEXT_H
#define SYNC_TALLY_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Copies in[0..len) into out (cap >= 4) as valid UTF-8: each byte that does not start a well-formed
 * sequence (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF) becomes U+FFFD, and when out is
 * too small the copy ends on a character boundary. Returns the bytes written, without the NUL. */
size_t tally_utf8_clean(const char *in, size_t len, char *out, size_t cap);

/* True when s[0..len) is well-formed UTF-8 with no NUL. */
bool tally_utf8_valid(const char *s, size_t len);

/* Copies in[0..len) into out (cap >= 5) with every byte outside printable ASCII, and '"' and '\\', written
 * as \xHH, \" or \\, so that the text can stand inside "..." on one log line. Cut with "..." when out is
 * too small. Returns the bytes written, without the NUL. */
size_t tally_log_escape(const char *in, size_t len, char *out, size_t cap);

/* The one JSON error body of the server, for the transport's replies (tally_reply_error) and the dashboard's
 * API answers (tally_web.c) alike: {"error":code,"message":message[,"field":field][,"line":..,"column":..]},
 * message and field made valid UTF-8 whatever they hold; line <= 0 leaves the position out. Returns a
 * malloc'd NUL-terminated text, or NULL when out of memory. */
char *tally_json_error(const char *code, const char *field, int line, int column, const char *message);

#endif
