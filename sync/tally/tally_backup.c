/* tally_backup.c — online backup and restore (see tally_backup.h). Start reading at tally_backup_to_file(). */
#include "sync/tally/tally_backup.h"
#include "sync/tally/tally_pg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define SNAPSHOT_WAIT_MS 30000 /* how long a backup retries a source that is momentarily locked */
#define RETRY_MS 50
#define NAME_PREFIX "tally-"
#define NAME_STAMP "YYYYMMDDTHHMMSSZ"
#define NAME_SUFFIX ".db"
#define KEEP_MAX 10000


static TallyErr sql_fail(sqlite3 *db, const char *what, const char *path, char msg[TALLY_MSG_MAX])
{
    int code = sqlite3_extended_errcode(db) & 0xff;
    TallyErr e = code == SQLITE_BUSY || code == SQLITE_LOCKED ? TALLY_E_BUSY : code == SQLITE_NOMEM ? TALLY_E_NOMEM
                                                                                                       : TALLY_E_DB;
    return tally_set_msg(msg, e, "%s %.120s: %s", what, path, sqlite3_errmsg(db));
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

/* The one text value of a one-row statement (a PRAGMA), into out; false when it gave none. */
static bool one_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st;
    bool ok = false;
    if(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, len, "%s", t ? (const char *)t : "");
        ok = true;
    }
    sqlite3_finalize(st);
    return ok;
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* integrity_check, schema version and rating count of an open database; TALLY_E_INVALID when it is not a
 * sound tally database. */
static TallyErr check_db(sqlite3 *db, const char *path, TallyBackupInfo *info, char msg[TALLY_MSG_MAX])
{
    char res[TALLY_MSG_MAX];
    if(!one_text(db, "PRAGMA integrity_check", res, sizeof res))
        return sql_fail(db, "integrity_check", path, msg);
    if(strcmp(res, "ok") != 0)
        return tally_set_msg(msg, TALLY_E_INVALID, "%.120s fails integrity_check: %.100s / tệp hỏng", path, res);
    int64_t version = one_int(db, "PRAGMA user_version");
    if(version < 1 || one_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'ratings'") != 1)
        return tally_set_msg(msg, TALLY_E_INVALID, "%.120s is not a tally database / không phải cơ sở dữ liệu tổng hợp", path);
    info->schema = (int)version;
    info->ratings = one_int(db, "SELECT count(*) FROM ratings");
    if(info->ratings < 0)
        return sql_fail(db, "count ratings in", path, msg);
    return TALLY_OK;
}

/* Copies every page of src into dst in one step (one read transaction: a consistent snapshot), retrying
 * while the source is momentarily locked. */
static TallyErr copy_db(sqlite3 *dst, sqlite3 *src, const char *src_path, char msg[TALLY_MSG_MAX])
{
    for(int waited = 0;; waited += RETRY_MS) {
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
        if(!b)
            return sql_fail(dst, "backup of", src_path, msg);
        int rc = sqlite3_backup_step(b, -1);
        sqlite3_backup_finish(b);
        if(rc == SQLITE_DONE)
            return TALLY_OK;
        if((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= SNAPSHOT_WAIT_MS)
            return tally_set_msg(msg, rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? TALLY_E_BUSY : TALLY_E_DB,
                        "backup of %.120s: %s", src_path, sqlite3_errstr(rc));
        sleep_ms(RETRY_MS);
    }
}

static void fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if(fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void dir_of(const char *path, char out[TALLY_MSG_MAX])
{
    const char *slash = strrchr(path, '/');
    if(!slash)
        snprintf(out, TALLY_MSG_MAX, ".");
    else if(slash == path)
        snprintf(out, TALLY_MSG_MAX, "/");
    else
        snprintf(out, TALLY_MSG_MAX, "%.*s", (int)(slash - path), path);
}

static void remove_db_files(const char *path)
{
    static const char *const SUFFIX[] = {"", "-journal", "-wal", "-shm"};
    char p[TALLY_MSG_MAX + 16];
    for(size_t i = 0; i < sizeof SUFFIX / sizeof *SUFFIX; i++) {
        snprintf(p, sizeof p, "%s%s", path, SUFFIX[i]);
        unlink(p);
    }
}

TallyErr tally_backup_to_file(const char *db_path, const char *dest, TallyBackupInfo *info, char msg[TALLY_MSG_MAX])
{
    if(tally_pg_is_uri(db_path))
        return tally_set_msg(msg, TALLY_E_INVALID, "a PostgreSQL database is backed up with its own tools (pg_dump, "
                             "pg_basebackup), not tally-admin backup / dùng pg_dump cho PostgreSQL");
    memset(info, 0, sizeof *info);
    if(access(db_path, F_OK) != 0)
        return tally_set_msg(msg, TALLY_E_IO, "%.120s: %s / không có cơ sở dữ liệu", db_path, strerror(errno));
    char tmp[TALLY_MSG_MAX];
    if(snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dest, (long)getpid()) >= (int)sizeof tmp)
        return tally_set_msg(msg, TALLY_E_INVALID, "backup path too long / đường dẫn quá dài");
    remove_db_files(tmp);
    sqlite3 *src = NULL, *dst = NULL;
    TallyErr e = TALLY_OK;
    /* Read-write without CREATE: a wrong path is an error, not a new empty file; and no migration. */
    if(sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        e = sql_fail(src, "open", db_path, msg);
    else
        sqlite3_busy_timeout(src, TALLY_BUSY_TIMEOUT_MS);
    if(!e && one_int(src, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'ratings'") != 1)
        e = tally_set_msg(msg, TALLY_E_INVALID, "%.120s is not a tally database / không phải cơ sở dữ liệu tổng hợp", db_path);
    if(!e && sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        e = sql_fail(dst, "create", tmp, msg);
    if(!e)
        e = copy_db(dst, src, db_path, msg);
    sqlite3_close(src);
    /* The snapshot carries the live file's WAL mode: make the copy one self-contained file. */
    char mode[32] = "";
    if(!e && (!one_text(dst, "PRAGMA journal_mode=DELETE", mode, sizeof mode) || strcmp(mode, "delete") != 0))
        e = sql_fail(dst, "journal_mode of", tmp, msg);
    if(!e)
        e = check_db(dst, tmp, info, msg);
    if(sqlite3_close(dst) != SQLITE_OK && !e)
        e = tally_set_msg(msg, TALLY_E_DB, "closing %.120s failed", tmp);
    if(!e) {
        fsync_path(tmp, O_RDONLY);
        if(rename(tmp, dest) != 0)
            e = tally_set_msg(msg, TALLY_E_IO, "rename to %.120s: %s", dest, strerror(errno));
    }
    if(e) {
        remove_db_files(tmp);
        return e;
    }
    char dir[TALLY_MSG_MAX];
    dir_of(dest, dir);
    fsync_path(dir, O_RDONLY | O_DIRECTORY);
    struct stat sb;
    info->bytes = stat(dest, &sb) == 0 ? (int64_t)sb.st_size : 0;
    return TALLY_OK;
}

/* tally-YYYYMMDDTHHMMSSZ.db, exactly. */
static bool is_backup_name(const char *name)
{
    size_t pl = strlen(NAME_PREFIX), sl = strlen(NAME_STAMP), xl = strlen(NAME_SUFFIX);
    if(strlen(name) != pl + sl + xl || strncmp(name, NAME_PREFIX, pl) != 0 || strcmp(name + pl + sl, NAME_SUFFIX) != 0)
        return false;
    for(size_t i = 0; i < sl; i++) {
        char c = name[pl + i], want = NAME_STAMP[i];
        if(want == 'T' || want == 'Z' ? c != want : (c < '0' || c > '9'))
            return false;
    }
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes the oldest backups in dir beyond keep (names sort by time). */
static TallyErr prune(const char *dir, int keep, int *removed, char msg[TALLY_MSG_MAX])
{
    *removed = 0;
    DIR *d = opendir(dir);
    if(!d)
        return tally_set_msg(msg, TALLY_E_IO, "%.120s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    TallyErr e = TALLY_OK;
    for(struct dirent *de; !e && (de = readdir(d));) {
        if(!is_backup_name(de->d_name))
            continue;
        if(n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *names);
            if(!nn) {
                e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if(!(names[n] = strdup(de->d_name)))
            e = tally_set_msg(msg, TALLY_E_NOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    if(!e && n > (size_t)keep) {
        qsort(names, n, sizeof *names, cmp_names);
        for(size_t i = 0; i < n - (size_t)keep; i++) {
            char p[TALLY_MSG_MAX * 2];
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            if(unlink(p) == 0)
                (*removed)++;
            else if(!e)
                e = tally_set_msg(msg, TALLY_E_IO, "cannot remove old backup %.120s: %s", p, strerror(errno));
        }
    }
    for(size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return e;
}

TallyErr tally_backup_to_dir(const char *db_path, const char *dir, int keep, char path[TALLY_MSG_MAX],
                             TallyBackupInfo *info, int *removed, char msg[TALLY_MSG_MAX])
{
    if(tally_pg_is_uri(db_path))
        return tally_set_msg(msg, TALLY_E_INVALID, "a PostgreSQL database is backed up with its own tools (pg_dump, "
                             "pg_basebackup), not tally-admin backup / dùng pg_dump cho PostgreSQL");
    *removed = 0;
    memset(info, 0, sizeof *info);
    if(keep < 1 || keep > KEEP_MAX)
        return tally_set_msg(msg, TALLY_E_INVALID, "--keep must be 1-%d / --keep không hợp lệ", KEEP_MAX);
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    if(snprintf(path, TALLY_MSG_MAX, "%s/" NAME_PREFIX "%s" NAME_SUFFIX, dir, stamp) >= TALLY_MSG_MAX)
        return tally_set_msg(msg, TALLY_E_INVALID, "backup folder path too long / đường dẫn quá dài");
    if(access(path, F_OK) == 0)
        return tally_set_msg(msg, TALLY_E_EXISTS, "%.120s already exists: one backup per second / đã có bản sao này", path);
    TallyErr e = tally_backup_to_file(db_path, path, info, msg);
    return e ? e : prune(dir, keep, removed, msg);
}

TallyErr tally_backup_verify(const char *path, TallyBackupInfo *info, char msg[TALLY_MSG_MAX])
{
    memset(info, 0, sizeof *info);
    if(access(path, R_OK) != 0)
        return tally_set_msg(msg, TALLY_E_IO, "%.120s: %s", path, strerror(errno));
    sqlite3 *db = NULL;
    TallyErr e = TALLY_OK;
    if(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        e = sql_fail(db, "open", path, msg);
    if(!e)
        e = check_db(db, path, info, msg);
    sqlite3_close(db);
    struct stat sb;
    if(!e)
        info->bytes = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    return e;
}

TallyErr tally_restore(const char *backup, const char *db_path, TallyBackupInfo *info, char msg[TALLY_MSG_MAX])
{
    if(tally_pg_is_uri(db_path))
        return tally_set_msg(msg, TALLY_E_INVALID, "a PostgreSQL database is backed up with its own tools (pg_dump, "
                             "pg_basebackup), not tally-admin backup / dùng pg_dump cho PostgreSQL");
    TallyErr e = tally_backup_verify(backup, info, msg);
    if(e)
        return e;
    sqlite3 *dst = NULL, *src = NULL;
    if(sqlite3_open_v2(db_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        e = sql_fail(dst, "open", db_path, msg);
        sqlite3_close(dst);
        return e;
    }
    /* Leaving WAL mode needs every other connection closed (an idle tally-server holds its connections
     * open), so it is the in-use test; the exclusive lock then keeps a server starting now out until the
     * restore is done, and the rollback journal makes the copy all-or-nothing. */
    char mode[32] = "";
    sqlite3_busy_timeout(dst, 0);
    bool mine = one_text(dst, "PRAGMA journal_mode=DELETE", mode, sizeof mode) && strcmp(mode, "delete") == 0 &&
                sqlite3_exec(dst, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT", NULL, NULL, NULL) ==
                    SQLITE_OK;
    if(!mine)
        e = tally_set_msg(msg, TALLY_E_BUSY, "%.120s is in use (stop tally-server first) / cơ sở dữ liệu đang được dùng, hãy "
                 "dừng tally-server trước", db_path);
    if(!e && sqlite3_open_v2(backup, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        e = sql_fail(src, "open", backup, msg);
    if(!e)
        e = copy_db(dst, src, backup, msg);
    sqlite3_close(src);
    TallyBackupInfo now;
    if(!e)
        e = check_db(dst, db_path, &now, msg);
    if(!e && now.ratings != info->ratings)
        e = tally_set_msg(msg, TALLY_E_DB, "%.120s holds %lld ratings after the restore, the backup %lld", db_path,
                 (long long)now.ratings, (long long)info->ratings);
    if(sqlite3_close(dst) != SQLITE_OK && !e)
        e = tally_set_msg(msg, TALLY_E_DB, "closing %.120s failed", db_path);
    return e;
}
