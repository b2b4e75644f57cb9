/* voices.c — kiosk-voices: makes the language packs' voice files with espeak-ng, at build time.
 *
 *   kiosk-voices --lang DIR --out DIR [--espeak PATH]
 *
 * For every pack DIR/<code>/strings.txt and every "key.voice = file.wav" it names, the file is made from the
 * pack's text for that key with its lang.espeak voice (`espeak-ng -v vi -w out.wav "…"`) into
 * OUT/<code>/voice/file.wav — unless DIR/<code>/voice/file.wav exists: a recording shipped with the pack,
 * which the kiosk plays instead. A file is made again only when its text or voice changed (the words it was
 * made from are kept beside it as file.wav.txt), so a build that changes nothing runs no espeak-ng. A pack
 * without lang.espeak gets nothing made (its missing recordings are named on stderr). Exit 1 when espeak-ng
 * failed for some file (each on stderr), else 0. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kiosk/strings.h"

extern char **environ;

static void log_line(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "kiosk-voices: %s\n", line);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static bool mkdirs(const char *path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for(char *s = p + 1; *s; s++)
        if(*s == '/') {
            *s = '\0';
            if(mkdir(p, 0755) != 0 && errno != EEXIST)
                return false;
            *s = '/';
        }
    return mkdir(p, 0755) == 0 || errno == EEXIST;
}

/* The words a file was made from ("voice\ntext\n"), or "" when unknown. */
static void read_sidecar(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if(!f)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

static bool speak_to(const char *espeak, const char *voice, const char *text, const char *out)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    char *argv[] = {(char *)espeak, "-v", (char *)voice, "-b", "1", "-w", tmp, (char *)text, NULL};
    pid_t pid;
    int status = 0;
    if(posix_spawn(&pid, espeak, NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "kiosk-voices: cannot run %s: %s\n", espeak, strerror(errno));
        return false;
    }
    if(waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !exists(tmp)) {
        fprintf(stderr, "kiosk-voices: %s -v %s failed for \"%s\"\n", espeak, voice, text);
        remove(tmp);
        return false;
    }
    return rename(tmp, out) == 0;
}

int main(int argc, char **argv)
{
    const char *lang = NULL, *out = NULL, *espeak = "/usr/bin/espeak-ng";
    for(int i = 1; i + 1 < argc; i += 2) {
        if(strcmp(argv[i], "--lang") == 0)
            lang = argv[i + 1];
        else if(strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else if(strcmp(argv[i], "--espeak") == 0)
            espeak = argv[i + 1];
    }
    if(!lang || !out || argc % 2 == 0) {
        fprintf(stderr, "usage: kiosk-voices --lang DIR --out DIR [--espeak PATH]\n");
        return 2;
    }
    StrPacks *p = str_packs_load(lang, log_line, NULL);
    if(!p)
        return 1;
    int made = 0, kept = 0, recorded = 0, failed = 0;
    for(size_t l = 0; l < str_packs_count(p); l++) {
        const char *code = str_pack_code(p, l), *voice = str_pack_meta(p, l, "lang.espeak");
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s/voice", out, code);
        for(int id = 0; id < STR_COUNT; id++) {
            size_t from = 0;
            const char *file = str_voice(p, l, (StrId)id, &from);
            if(!file || from != l || !str_has(p, l, (StrId)id))
                continue; /* not this pack's own text and voice (the built-in Vietnamese is not a folder here) */
            char rec[4200], dst[4200], side[4300], want[2048], have[2048];
            snprintf(rec, sizeof rec, "%s/%s/voice/%s", lang, code, file);
            if(exists(rec)) {
                recorded++;
                continue;
            }
            if(!voice) { /* the kiosk reads this text with the Vietnamese file instead */
                fprintf(stderr, "kiosk-voices: %s/%s/strings.txt names %s but no lang.espeak voice to make it with; "
                                "put a recording in %s/%s/voice/\n", lang, code, file, lang, code);
                continue;
            }
            snprintf(dst, sizeof dst, "%s/%s", dir, file);
            snprintf(side, sizeof side, "%s.txt", dst);
            snprintf(want, sizeof want, "%s\n%s\n", voice, str_in(p, l, (StrId)id));
            read_sidecar(side, have, sizeof have);
            if(exists(dst) && strcmp(have, want) == 0) {
                kept++;
                continue;
            }
            FILE *f = NULL;
            if(!mkdirs(dir) || !speak_to(espeak, voice, str_in(p, l, (StrId)id), dst) || !(f = fopen(side, "w")) ||
               fputs(want, f) < 0) {
                fprintf(stderr, "kiosk-voices: could not make %s\n", dst);
                failed++;
            } else {
                made++;
            }
            if(f)
                fclose(f);
        }
    }
    printf("kiosk-voices: %d made, %d unchanged, %d recordings shipped, %d failed\n", made, kept, recorded, failed);
    str_packs_free(p);
    return failed ? 1 : 0;
}
