/* uuid.h — rating and batch identifiers.
 *
 * New ids are UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids made later
 * sort later and the central index grows at its right edge. Any valid UUID (any version) is accepted on
 * input; ids are kept in canonical lower-case 8-4-4-4-12 form. */
#ifndef SYNC_UUID_H
#define SYNC_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UUID_TEXT_LEN 37 /* 36 chars + NUL */

/* A fresh v7 id from the real-time clock and the OS random source. Returns false only when the OS has
 * no randomness to give (out is then an empty string). */
bool uuid_v7_new(char out[UUID_TEXT_LEN]);

/* Deterministic v7 id from a time and 10 random bytes (for tests and kiosk-sim with a seed). */
void uuid_v7_make(char out[UUID_TEXT_LEN], uint64_t unix_ms, const uint8_t rand10[10]);

/* True when `text` is exactly 36 chars of 8-4-4-4-12 hex digits (either case), any version, and not the nil
 * or max UUID (never a real id). On success writes the lower-case form into canon (may be NULL). */
bool uuid_parse(const char *text, char canon[UUID_TEXT_LEN]);

/* The version nibble of a valid UUID text (7 for ours). */
int uuid_version(const char *text);

#endif
