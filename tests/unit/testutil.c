/* testutil.c — see testutil.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

bool tu_mkdtemp(char *dir, size_t cap, const char *tag)
{
    int n = snprintf(dir, cap, "/tmp/%s-XXXXXX", tag);
    return n > 0 && (size_t)n < cap && mkdtemp(dir) != NULL;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

void tu_rmtree(const char *dir)
{
    if(dir && dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
