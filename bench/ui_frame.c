/* ui_frame.c — how long the kiosk takes to draw each screen, and to start.
 *
 * 1. Every screen (kiosk/ui_scenes.h) drawn at 1920×1080 with SDL's software renderer into a surface, FRAMES
 *    times after a warm-up (text textures cached, as on every redraw of a running kiosk): median and p99 per
 *    frame, beside a baseline that only clears and presents the same surface, in the same run. "first" is
 *    one draw with a fresh UiGfx (empty font and text caches): what the first showing of a screen costs.
 * 2. The real `kiosk` binary under SDL_VIDEODRIVER=dummy at 1920×1080: time to its first
 *    presented frame as the app logs it (counted from main()), exec to exit, and the
 *    process's peak RSS (wait4). Median of STARTS runs. */
#include <SDL2/SDL.h>
#include <SDL2/SDL_ttf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kiosk/ui_draw.h"
#include "kiosk/ui_scenes.h"

#define W 1920
#define H 1080
#define FRAMES 60
#define WARMUP 3
#define STARTS 5

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct { double median, p99; } Stat;

static Stat stat_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    int i99 = (int)(0.99 * (n - 1) + 0.5);
    return (Stat){v[n / 2], v[i99]};
}

static void frames(void)
{
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = surf ? SDL_CreateSoftwareRenderer(surf) : NULL;
    char msg[512];
    UiGfx *g = r ? ui_gfx_new(r, BENCH_SOURCE_DIR "/fonts", msg, sizeof msg) : NULL;
    if(!g) {
        fprintf(stderr, "ui_frame: %s\n", r ? msg : SDL_GetError());
        exit(1);
    }
    double t[FRAMES];
    for(int i = 0; i < FRAMES; i++) {
        double t0 = now_ms();
        SDL_SetRenderDrawColor(r, 0xF4, 0xF1, 0xEA, 255);
        SDL_RenderClear(r);
        SDL_RenderPresent(r);
        t[i] = now_ms() - t0;
    }
    Stat base = stat_of(t, FRAMES);
    printf("ui_frame: %d×%d, software renderer, %d frames per screen after %d warm-up frames\n", W, H, FRAMES, WARMUP);
    printf("%-22s %10s %10s %14s %10s\n", "screen", "median ms", "p99 ms", "× baseline", "first ms");
    printf("%-22s %10.3f %10.3f %14s %10s\n", "baseline clear+present", base.median, base.p99, "1.0", "-");
    StrPacks *packs = str_packs_load(BENCH_SOURCE_DIR "/assets/lang", NULL, NULL);
    for(size_t s = 0; s < ui_scene_count(); s++) {
        Ui *ui = ui_scene_make(s, W, H, packs);
        if(!ui)
            exit(1);
        /* First showing, with fresh caches. */
        UiGfx *fresh = ui_gfx_new(r, BENCH_SOURCE_DIR "/fonts", msg, sizeof msg);
        double t0 = now_ms();
        ui_draw(ui, fresh);
        SDL_RenderPresent(r);
        double first = now_ms() - t0;
        ui_gfx_free(fresh);
        for(int i = 0; i < WARMUP; i++) {
            ui_draw(ui, g);
            SDL_RenderPresent(r);
        }
        for(int i = 0; i < FRAMES; i++) {
            t0 = now_ms();
            ui_draw(ui, g);
            SDL_RenderPresent(r);
            t[i] = now_ms() - t0;
        }
        Stat st = stat_of(t, FRAMES);
        printf("%-22s %10.3f %10.3f %14.1f %10.1f\n", ui_scene_name(s), st.median, st.p99,
               base.median > 0 ? st.median / base.median : 0.0, first);
        ui_free(ui);
    }
    str_packs_free(packs);
    ui_gfx_free(g);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(surf);
}

/* Runs the kiosk once; fills first-frame ms (from exec), wall ms to exit and peak RSS in KiB. */
static int start_once(const char *dir, double *first, double *wall, long *rss_kib)
{
    char cfg[512], script[512], logp[512];
    snprintf(cfg, sizeof cfg, "%s/kiosk.ini", dir);
    snprintf(script, sizeof script, "%s/script.txt", dir);
    snprintf(logp, sizeof logp, "%s/log.txt", dir);
    double t0 = now_ms();
    pid_t pid = fork();
    if(pid < 0)
        return -1;
    if(pid == 0) {
        FILE *lf = freopen(logp, "w", stderr);
        (void)lf;
        setenv("SDL_VIDEODRIVER", "dummy", 1);
        execl(BENCH_BINARY_DIR "/kiosk/kiosk", "kiosk", "--config", cfg, "--windowed", "--size", "1920x1080",
              "--script", script, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if(wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    *wall = now_ms() - t0;
    *rss_kib = ru.ru_maxrss;
    /* "first frame after N ms" counts from main(); exec and loading come before it. */
    FILE *f = fopen(logp, "r");
    char line[512];
    double in_main = -1;
    while(f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "first frame after ");
        if(p)
            in_main = atof(p + strlen("first frame after "));
    }
    if(f)
        fclose(f);
    if(in_main < 0)
        return -1;
    *first = in_main;
    return 0;
}

static void cold_start(void)
{
    char dir[] = "/tmp/ui-frame-bench-XXXXXX";
    if(!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/kiosk.ini", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[kiosk]\ndevice_id = bench-01\nunit_code = bench\ndatabase = k.db\n"
               "areas = dat_dai, xay_dung, dau_tu, y_te, giao_duc, tu_phap_ho_tich, lao_dong_xa_hoi, khac\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/script.txt", dir);
    f = fopen(path, "w");
    fprintf(f, "quit\n");
    fclose(f);
    double first[STARTS], wall[STARTS];
    long rss = 0;
    int ok = 0;
    for(int i = 0; i < STARTS; i++) {
        long r;
        if(start_once(dir, &first[ok], &wall[ok], &r) == 0) {
            ok++;
            if(r > rss)
                rss = r;
        }
    }
    const char *names[] = {"kiosk.ini", "script.txt", "log.txt", "k.db", "k.db-wal", "k.db-shm"};
    for(size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    if(ok == 0) {
        fprintf(stderr, "ui_frame: the kiosk binary did not start (built? %s/kiosk/kiosk)\n", BENCH_BINARY_DIR);
        exit(1);
    }
    Stat fs = stat_of(first, ok), ws = stat_of(wall, ok);
    printf("kiosk cold start (dummy video, 1920×1080, %d runs): first frame %.1f ms after main() (median); "
           "exec to exit %.1f ms (median, includes a 300 ms script settle delay)\n",
           ok, fs.median, ws.median);
    printf("kiosk peak RSS: %.1f MiB\n", (double)rss / 1024.0);
}

int main(void)
{
    if(TTF_Init() != 0) {
        fprintf(stderr, "ui_frame: TTF_Init: %s\n", TTF_GetError());
        return 1;
    }
    frames();
    TTF_Quit();
    SDL_Quit();
    cold_start();
    return 0;
}
