/* testutil.h — the temp-folder helpers the unit tests share (tests/unit/testutil.c). */
#ifndef TESTS_UNIT_TESTUTIL_H
#define TESTS_UNIT_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Makes a fresh folder /tmp/TAG-XXXXXX and puts its path in dir (cap bytes); false when that fails. */
bool tu_mkdtemp(char *dir, size_t cap, const char *tag);
/* Removes dir and everything below it, without following links. */
void tu_rmtree(const char *dir);

#endif
