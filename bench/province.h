/* province.h — a province-sized tally database for benches, seeded straight into the roll-ups.
 *
 * The unit tree has the shape of Gia Lai's: the province, 20 departments with a one-stop counter each, and 17
 * districts each with its own counter and 8 communes with a counter each (347 units, 173 counters). Every
 * counter has `devices_per_counter` kiosks. `ratings` ratings over one year are drawn at random (satisfaction
 * around 85-97% per counter, 2% flagged as misuse, reasons on the unsatisfied ones, office hours) and written
 * as ingest would have left them: daily, monthly and monthly_sat roll-ups, reasons and hours per day and
 * month, the devices' received/max_seq/last_seen. Seeding through HTTP would take an hour and measure ingest,
 * which bench/ingest does. Shared by the benches that need a whole province (bench/dashboard, bench/report). */
#ifndef BENCH_PROVINCE_H
#define BENCH_PROVINCE_H

#include <stddef.h>
#include <stdint.h>

#include "sync/tally/tally_db.h"

#define BENCH_PROVINCE_ROOT "000.00.00.H21"

typedef struct {
    const char *units_csv;         /* NULL: the generated province; else this tree ("code,name,parent"), whose
                                    * leaves are the counters (e.g. assets/units-gialai.csv for sample files) */
    int       year;                /* the year the ratings fall in */
    long long ratings;             /* total over the year */
    int       devices_per_counter;
    unsigned  seed;
} BenchProvince;

typedef struct {
    size_t    units, counters, devices;
    size_t    daily_rows, monthly_rows;
    long long ratings;             /* as seeded (equals the request) */
    double    seconds;
} BenchProvinceInfo;

/* Seeds an empty, migrated database. Returns TALLY_OK or the failing module's error (msg says which). */
TallyErr bench_province_seed(TallyDb *db, const BenchProvince *p, BenchProvinceInfo *info, char msg[TALLY_MSG_MAX]);

#endif
