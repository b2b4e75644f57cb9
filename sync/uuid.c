/* uuid.c — UUID v7 generation and validation. See uuid.h. */
#include "sync/uuid.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char HEX[] = "0123456789abcdef";

static void format(char out[UUID_TEXT_LEN], const uint8_t b[16])
{
    int o = 0;
    for(int i = 0; i < 16; i++) {
        if(i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = HEX[b[i] >> 4];
        out[o++] = HEX[b[i] & 15];
    }
    out[o] = '\0';
}

void uuid_v7_make(char out[UUID_TEXT_LEN], uint64_t unix_ms, const uint8_t rand10[10])
{
    uint8_t b[16];
    for(int i = 0; i < 6; i++)
        b[i] = (uint8_t)(unix_ms >> (8 * (5 - i)));
    memcpy(b + 6, rand10, 10);
    b[6] = (uint8_t)(0x70 | (b[6] & 0x0f)); /* version 7 */
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f)); /* RFC 9562 variant 10xx */
    format(out, b);
}

bool uuid_v7_new(char out[UUID_TEXT_LEN])
{
    struct timespec ts;
    uint8_t r[10];
    out[0] = '\0';
    if(getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return false;
    clock_gettime(CLOCK_REALTIME, &ts);
    uuid_v7_make(out, (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u, r);
    return true;
}

static int hexval(char c)
{
    if(c >= '0' && c <= '9')
        return c - '0';
    if(c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if(c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool uuid_parse(const char *text, char canon[UUID_TEXT_LEN])
{
    char tmp[UUID_TEXT_LEN];
    bool all0 = true, allf = true;
    if(!text)
        return false;
    for(int i = 0; i < 36; i++) {
        char c = text[i];
        if(i == 8 || i == 13 || i == 18 || i == 23) {
            if(c != '-')
                return false;
            tmp[i] = '-';
            continue;
        }
        int v = hexval(c);
        if(v < 0)
            return false;
        all0 &= v == 0;
        allf &= v == 15;
        tmp[i] = HEX[v];
    }
    if(text[36] != '\0' || all0 || allf)
        return false;
    tmp[36] = '\0';
    if(canon)
        memcpy(canon, tmp, UUID_TEXT_LEN);
    return true;
}

int uuid_version(const char *text)
{
    return hexval(text[14]);
}
