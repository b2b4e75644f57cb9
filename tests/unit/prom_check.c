/* prom_check.c — see prom_check.h. */
#include "prom_check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPES 64

static bool name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' || (!first && isdigit((unsigned char)c));
}

/* Length of a metric (colons allowed) or label name at p; 0 when there is none. */
static size_t name_len(const char *p, bool metric)
{
    size_t n = 0;
    while(p[n] && name_char(p[n], n == 0) && (metric || p[n] != ':'))
        n++;
    return n;
}

static bool number(const char *p, const char *end)
{
    if(p == end)
        return false;
    char buf[64];
    size_t n = (size_t)(end - p);
    if(n >= sizeof buf)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if(!strcmp(buf, "+Inf") || !strcmp(buf, "-Inf") || !strcmp(buf, "NaN"))
        return true;
    char *e;
    strtod(buf, &e);
    return *e == '\0';
}

#define WHY(...) (snprintf(why, why_len, __VA_ARGS__), false)

bool prom_valid(const char *text, char *why, size_t why_len)
{
    char types[MAX_TYPES][128];
    size_t n_types = 0;
    int ln = 0;
    size_t tl = strlen(text);
    if(tl == 0 || text[tl - 1] != '\n')
        return WHY("the text does not end with a line feed");
    for(const char *line = text; *line; ) {
        const char *eol = strchr(line, '\n');
        ln++;
        if(eol == line)
            return WHY("line %d is empty", ln);
        if(!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
            const char *p = line + 7;
            size_t n = name_len(p, true);
            if(!n || p[n] != ' ')
                return WHY("line %d: bad metric name in a comment", ln);
            if(line[2] == 'T') {
                const char *t = p + n + 1;
                size_t tlen = (size_t)(eol - t);
                if(!((tlen == 7 && !strncmp(t, "counter", 7)) || (tlen == 5 && !strncmp(t, "gauge", 5))))
                    return WHY("line %d: type is not counter or gauge", ln);
                for(size_t i = 0; i < n_types; i++)
                    if(strlen(types[i]) == n && !strncmp(types[i], p, n))
                        return WHY("line %d: TYPE declared twice", ln);
                if(n_types == MAX_TYPES || n >= sizeof types[0])
                    return WHY("line %d: too many types", ln);
                memcpy(types[n_types], p, n);
                types[n_types++][n] = '\0';
            }
        } else if(line[0] == '#') {
            return WHY("line %d: a comment that is neither HELP nor TYPE", ln);
        } else {
            const char *p = line;
            size_t n = name_len(p, true);
            if(!n)
                return WHY("line %d: bad metric name", ln);
            bool typed = false;
            for(size_t i = 0; i < n_types; i++)
                typed |= strlen(types[i]) == n && !strncmp(types[i], p, n);
            if(!typed)
                return WHY("line %d: a sample before its TYPE", ln);
            p += n;
            if(*p == '{') {
                char seen[16][64];
                size_t n_seen = 0;
                p++;
                while(*p != '}') {
                    size_t l = name_len(p, false);
                    if(!l || l >= sizeof seen[0] || p[l] != '=' || p[l + 1] != '"')
                        return WHY("line %d: bad label", ln);
                    for(size_t i = 0; i < n_seen; i++)
                        if(strlen(seen[i]) == l && !strncmp(seen[i], p, l))
                            return WHY("line %d: label given twice", ln);
                    if(n_seen == 16)
                        return WHY("line %d: too many labels", ln);
                    memcpy(seen[n_seen], p, l);
                    seen[n_seen++][l] = '\0';
                    p += l + 2;
                    while(*p != '"') {
                        if(p >= eol)
                            return WHY("line %d: unterminated label value", ln);
                        if(*p == '\\') {
                            if(p[1] != '\\' && p[1] != '"' && p[1] != 'n')
                                return WHY("line %d: bad escape in a label value", ln);
                            p++;
                        }
                        p++;
                    }
                    p++;
                    if(*p == ',')
                        p++;
                    else if(*p != '}')
                        return WHY("line %d: expected , or } after a label", ln);
                }
                p++;
            }
            if(*p != ' ')
                return WHY("line %d: expected a space before the value", ln);
            p++;
            const char *v_end = memchr(p, ' ', (size_t)(eol - p));
            if(!number(p, v_end ? v_end : eol))
                return WHY("line %d: the value is not a number", ln);
            if(v_end && !number(v_end + 1, eol)) /* an optional timestamp */
                return WHY("line %d: bad timestamp", ln);
        }
        line = eol + 1;
    }
    return true;
}

double prom_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for(const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if(!strncmp(line, series, n) && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    return -1;
}
