/* bench/report — time and peak memory of the report files for a province-sized database.
 *
 *   report [--ratings N] [--runs R] [--db FILE] [--units CSV] [--files DIR]
 *          (defaults 5,000,000 / 5; --db keeps and reuses a seeded file; --units seeds that tree instead of the
 *          generated province, e.g. assets/units-gialai.csv; --files keeps the files made, for docs/reports)
 *
 * Arrange: bench/province.h's province (347 units, 173 counters, 519 kiosks) with N ratings over 2025 in the
 * roll-ups. Figure: for the quarterly (quy:2025-4) and the yearly (nam:2025) report of the whole province, the
 * XLSX and the PDF exactly as `tally-admin report` makes them — build the model, render, write the file — each
 * in a fresh process so that its peak resident memory (getrusage of the child) is that file's alone. Baseline
 * in the same run: the JSON of the same model. Target (issue 10): every file <= 1 s and <= 64 MiB peak. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "province.h"
#include "sync/tally/tally_export.h"

#define TARGET_MS 1000.0
#define TARGET_MIB 64.0

/* This process's peak resident memory in KiB (VmHWM: the high-water mark of this address space since exec —
 * unlike getrusage's ru_maxrss, which carries over the forked parent's pages across execve). */
static long peak_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while(f && fgets(line, sizeof line, f))
        if(sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if(f)
        fclose(f);
    return kib;
}

/* The child: one file, timed; prints "build_ms render_ms bytes units peak_kib" on stdout. */
static int one(const char *db_path, const char *period, const char *format, const char *out)
{
    char msg[TALLY_MSG_MAX];
    double t0 = bench_now_ms();
    TallyDb *db;
    TallyReportSpec spec = {.area = -1, .now_s = (int64_t)time(NULL)};
    int f = tally_file_format_from_code(format);
    TallyLetterhead lh;
    TallyReport *r;
    if(f < 0 || !tally_period_parse(period, &spec.period) || tally_db_open(db_path, &db, msg) ||
       tally_letterhead_load(db, &lh, msg)) {
        fprintf(stderr, "report bench: %s\n", msg);
        return 1;
    }
    spec.parts = tally_file_parts((TallyFileFormat)f, -1);
    if(tally_report_build(db, &spec, &r, msg)) {
        fprintf(stderr, "report bench: %s\n", msg);
        return 1;
    }
    double t1 = bench_now_ms();
    if(tally_file_write(r, &lh, (TallyFileFormat)f, -1, out, msg)) {
        fprintf(stderr, "report bench: %s\n", msg);
        return 1;
    }
    double t2 = bench_now_ms();
    struct stat st;
    stat(out, &st);
    size_t units = r->n_units;
    tally_report_free(r);
    tally_db_close(db);
    printf("%.3f %.3f %lld %zu %ld\n", t1 - t0, t2 - t1, (long long)st.st_size, units, peak_kib());
    return 0;
}

typedef struct {
    double total_ms, build_ms, render_ms, rss_mib;
    long long bytes;
    size_t units;
} Run;

static bool run_child(const char *self, const char *db, const char *period, const char *format, const char *out, Run *r)
{
    int fd[2];
    if(pipe(fd))
        return false;
    pid_t pid = fork();
    if(pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execl(self, self, "--one", db, period, format, out, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[256] = {0};
    ssize_t k = read(fd[0], buf, sizeof buf - 1);
    close(fd[0]);
    int status;
    long kib;
    if(waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) || k <= 0)
        return false;
    if(sscanf(buf, "%lf %lf %lld %zu %ld", &r->build_ms, &r->render_ms, &r->bytes, &r->units, &kib) != 5 || kib < 0)
        return false;
    r->total_ms = r->build_ms + r->render_ms;
    r->rss_mib = (double)kib / 1024.0;
    return true;
}

int main(int argc, char **argv)
{
    if(argc == 6 && strcmp(argv[1], "--one") == 0)
        return one(argv[2], argv[3], argv[4], argv[5]);
    long long n = 5000000;
    int runs = 5;
    const char *keep = NULL, *units = NULL, *files = NULL;
    for(int i = 1; i + 1 < argc; i += 2) {
        if(strcmp(argv[i], "--ratings") == 0)
            n = atoll(argv[i + 1]);
        else if(strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if(strcmp(argv[i], "--db") == 0)
            keep = argv[i + 1];
        else if(strcmp(argv[i], "--units") == 0)
            units = argv[i + 1];
        else if(strcmp(argv[i], "--files") == 0)
            files = argv[i + 1];
    }
    if(n < 1 || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: report [--ratings N] [--runs R] [--db FILE]\n");
        return 2;
    }
    if(files)
        mkdir(files, 0755);
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if(sl <= 0)
        return 1;
    self[sl] = '\0';
    char dir[] = "/tmp/bench-report-XXXXXX", path[512], msg[TALLY_MSG_MAX];
    if(!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s", keep ? keep : "");
    if(!keep)
        snprintf(path, sizeof path, "%s/tally.db", dir);
    bool seeded = keep && access(keep, F_OK) == 0;
    TallyDb *db;
    if(tally_db_open(path, &db, msg)) {
        fprintf(stderr, "report bench: %s\n", msg);
        return 1;
    }
    if(!seeded) {
        fprintf(stderr, "report bench: seeding %lld ratings over a province...\n", n);
        BenchProvince p = {.units_csv = units, .year = 2025, .ratings = n, .devices_per_counter = 3, .seed = 11};
        BenchProvinceInfo info;
        if(bench_province_seed(db, &p, &info, msg)) {
            fprintf(stderr, "report bench: seed: %s\n", msg);
            return 1;
        }
        fprintf(stderr, "report bench: seeded in %.1f s: %zu units, %zu counters, %zu kiosks, %zu daily and %zu "
                        "monthly roll-up rows\n", info.seconds, info.units, info.counters, info.devices,
                info.daily_rows, info.monthly_rows);
    }
    tally_db_close(db);

    static const char *const PERIODS[] = {"quy:2025-4", "nam:2025"};
    static const char *const FORMATS[] = {"json", "xlsx", "pdf"};
    int status = 0;
    printf("bench report: the whole province (%s), %lld ratings in 2025; each file made in a fresh process "
           "(open the database, build the model, render, write), %d runs: median time, largest peak RSS (VmHWM)\n",
           units ? units : "347 units", n, runs);
    printf("  %-11s %-5s %9s %9s %9s %9s %10s %10s %s\n", "period", "file", "total ms", "build ms", "render ms",
           "peak MiB", "bytes", "vs JSON", "target");
    for(size_t pi = 0; pi < 2; pi++) {
        double json_ms = 0;
        for(size_t fi = 0; fi < 3; fi++) {
            double *tot = calloc((size_t)runs, sizeof *tot), *bld = calloc((size_t)runs, sizeof *bld),
                   *rnd = calloc((size_t)runs, sizeof *rnd), rss = 0;
            Run r = {0};
            char out[600];
            if(files)
                snprintf(out, sizeof out, "%s/bao-cao-hai-long_toan-tinh_%s.%s", files, PERIODS[pi], FORMATS[fi]);
            else
                snprintf(out, sizeof out, "%s/out.%s", dir, FORMATS[fi]);
            for(char *c = strrchr(out, '/'); c && *c; c++)
                if(*c == ':')
                    *c = '-';
            for(int k = 0; k < runs; k++) {
                if(!run_child(self, path, PERIODS[pi], FORMATS[fi], out, &r)) {
                    fprintf(stderr, "report bench: %s %s failed\n", PERIODS[pi], FORMATS[fi]);
                    return 1;
                }
                tot[k] = r.total_ms, bld[k] = r.build_ms, rnd[k] = r.render_ms;
                rss = fmax(rss, r.rss_mib);
            }
            qsort(tot, (size_t)runs, sizeof *tot, bench_cmp_double);
            qsort(bld, (size_t)runs, sizeof *bld, bench_cmp_double);
            qsort(rnd, (size_t)runs, sizeof *rnd, bench_cmp_double);
            double med = tot[runs / 2];
            if(fi == 0)
                json_ms = med;
            bool ok = med <= TARGET_MS && rss <= TARGET_MIB;
            if(fi > 0 && !ok)
                status = 1;
            printf("  %-11s %-5s %9.1f %9.1f %9.1f %9.1f %10lld %9.2fx %s\n", PERIODS[pi], FORMATS[fi], med,
                   bld[runs / 2], rnd[runs / 2], rss, r.bytes, med / json_ms,
                   fi == 0 ? "(baseline)" : ok ? "ok (<= 1 s, <= 64 MiB)" : "MISSED");
            if(!files)
                unlink(out);
            free(tot), free(bld), free(rnd);
        }
    }
    if(!keep) {
        bench_remove_db(path);
    }
    rmdir(dir);
    return status;
}
