/* powercut_vfs.c — the power-cut VFS (see powercut_vfs.h). Start reading at pc_open(): a file of a durable
 * kind (main database, WAL, rollback journal) gets an Image — its content as the page cache holds it, plus
 * the operations not yet synced — shared by every handle on that path and kept after close (the page cache
 * outlives the handle). Everything else passes straight to the unix VFS. */
#include "powercut_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR 512
#define GARBAGE_PERCENT 3 /* of a torn operation's sectors: neither old nor new */

typedef struct Op {
    int64_t off, len;   /* a write of len bytes at off; len < 0: a truncate to off */
    uint8_t *data;
    struct Op *next;
} Op;

typedef struct Image {
    char *path;
    uint8_t *data;      /* what a read sees */
    int64_t size, cap;
    Op *head, *tail;    /* not yet synced, oldest first */
    struct Image *next;
} Image;

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* the unix VFS's file */
    Image *img;         /* NULL: passed through (temporary files) */
} PcFile;

static sqlite3_vfs *g_unix, g_vfs;
static Image *g_images;
static uint64_t g_ops, g_cut_at, g_rng;
static int g_keep, g_torn;
static bool g_nosync, g_dead;

static uint64_t rnd(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- Images ------------------------------------------------------------------------------------------- */

static Image *find(const char *path)
{
    for(Image *i = g_images; i; i = i->next)
        if(strcmp(i->path, path) == 0)
            return i;
    return NULL;
}

/* Room for size bytes. Bytes past img->size are never read, so nothing is zeroed here (zeroing megabytes
 * of WAL per process was most of this test's time): a file that grows zero-fills the gap (grow()). */
static bool reserve(Image *img, int64_t size)
{
    if(size <= img->cap)
        return true;
    int64_t cap = size + size / 4 + 65536;
    uint8_t *d = realloc(img->data, (size_t)cap);
    if(!d)
        return false;
    img->data = d;
    img->cap = cap;
    return true;
}

/* The file is now `size` bytes long; bytes it gains read as zero until written. */
static void grow(Image *img, int64_t size)
{
    if(size > img->size)
        memset(img->data + img->size, 0, (size_t)(size - img->size));
    img->size = size;
}

static bool push(Image *img, int64_t off, int64_t len, const void *data)
{
    Op *op = calloc(1, sizeof *op);
    if(!op || (len > 0 && !(op->data = malloc((size_t)len)))) {
        free(op);
        return false;
    }
    op->off = off;
    op->len = len;
    if(len > 0)
        memcpy(op->data, data, (size_t)len);
    if(img->tail)
        img->tail->next = op;
    else
        img->head = op;
    img->tail = op;
    return true;
}

static void drop_ops(Image *img)
{
    for(Op *op = img->head, *next; op; op = next) {
        next = op->next;
        free(op->data);
        free(op);
    }
    img->head = img->tail = NULL;
}

static bool write_all(int fd, const uint8_t *d, size_t n, off_t off)
{
    while(n) {
        ssize_t w = pwrite(fd, d, n, off);
        if(w <= 0)
            return false;
        d += w;
        n -= (size_t)w;
        off += w;
    }
    return true;
}

/* The disk gets img's pending operations: all of them whole (a sync, or the OS writing back), or — at a
 * power cut — each whole, torn or lost. */
static bool land(Image *img, bool cut)
{
    int fd = open(img->path, O_WRONLY);
    if(fd < 0)
        return false;
    bool ok = true;
    for(Op *op = img->head; op && ok; op = op->next) {
        int fate = 0; /* at a cut: < keep whole, < keep + torn torn, else lost */
        if(cut && (fate = (int)(rnd() % 100)) >= g_keep + g_torn)
            continue;
        if(op->len < 0) {
            ok = ftruncate(fd, op->off) == 0;
            continue;
        }
        if(!cut || fate < g_keep) {
            ok = write_all(fd, op->data, (size_t)op->len, op->off);
            continue;
        }
        for(int64_t s = 0; s < op->len && ok; s += SECTOR) {
            int64_t n = op->len - s < SECTOR ? op->len - s : SECTOR;
            int what = (int)(rnd() % 100);
            if(what < (100 - GARBAGE_PERCENT) / 2) {
                ok = write_all(fd, op->data + s, (size_t)n, op->off + s);
            } else if(what >= 100 - GARBAGE_PERCENT) {
                uint8_t junk[SECTOR];
                for(int64_t k = 0; k < n; k++)
                    junk[k] = (uint8_t)rnd();
                ok = write_all(fd, junk, (size_t)n, op->off + s);
            }
        }
    }
    close(fd);
    drop_ops(img);
    return ok;
}

/* The power goes: the disk keeps what it keeps, and every later operation fails. */
static int cut(void)
{
    for(Image *i = g_images; i; i = i->next)
        land(i, true);
    g_dead = true;
    return SQLITE_IOERR;
}

/* Counts one write, truncate or sync; true when the power goes now. */
static bool tick(void)
{
    return g_cut_at && ++g_ops == g_cut_at;
}

static void free_image(Image *img)
{
    drop_ops(img);
    free(img->path);
    free(img->data);
    free(img);
}

/* ---- The file methods --------------------------------------------------------------------------------- */

#define REAL(f) (((PcFile *)(f))->real)
#define IMG(f) (((PcFile *)(f))->img)

static int pc_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    sqlite3_free(REAL(f));
    return rc; /* the image stays: unsynced data outlives the handle */
}

static int pc_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    Image *img = IMG(f);
    if(g_dead)
        return SQLITE_IOERR_READ;
    if(!img)
        return REAL(f)->pMethods->xRead(REAL(f), buf, amt, off);
    int64_t have = img->size - off;
    if(have >= amt) {
        memcpy(buf, img->data + off, (size_t)amt);
        return SQLITE_OK;
    }
    if(have > 0)
        memcpy(buf, img->data + off, (size_t)have);
    else
        have = 0;
    memset((uint8_t *)buf + have, 0, (size_t)(amt - have));
    return SQLITE_IOERR_SHORT_READ;
}

static int pc_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    Image *img = IMG(f);
    if(g_dead)
        return SQLITE_IOERR_WRITE;
    if(!img)
        return REAL(f)->pMethods->xWrite(REAL(f), buf, amt, off);
    if(!reserve(img, off + amt) || !push(img, off, amt, buf))
        return SQLITE_IOERR_NOMEM;
    if(off > img->size)
        grow(img, off);
    memcpy(img->data + off, buf, (size_t)amt);
    if(off + amt > img->size)
        img->size = off + amt;
    return tick() ? cut() : SQLITE_OK; /* cut mid-write: this one is as unsynced as the rest */
}

static int pc_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    Image *img = IMG(f);
    if(g_dead)
        return SQLITE_IOERR_TRUNCATE;
    if(!img)
        return REAL(f)->pMethods->xTruncate(REAL(f), size);
    if(!reserve(img, size) || !push(img, size, -1, NULL))
        return SQLITE_IOERR_NOMEM;
    if(size > img->size)
        grow(img, size);
    else
        img->size = size;
    return tick() ? cut() : SQLITE_OK;
}

static int pc_sync(sqlite3_file *f, int flags)
{
    Image *img = IMG(f);
    if(g_dead)
        return SQLITE_IOERR_FSYNC;
    if(!img)
        return REAL(f)->pMethods->xSync(REAL(f), flags);
    if(tick())
        return cut(); /* before the sync completed */
    if(g_nosync)
        return SQLITE_OK;
    /* What matters is what reaches the real file; the machine is not really losing power, so no fsync. */
    return land(img, false) ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

static int pc_size(sqlite3_file *f, sqlite3_int64 *size)
{
    if(g_dead)
        return SQLITE_IOERR_FSTAT;
    if(!IMG(f))
        return REAL(f)->pMethods->xFileSize(REAL(f), size);
    *size = IMG(f)->size;
    return SQLITE_OK;
}

/* Once dead, only what gives things back (unlock, unmap, close) still works. */
static int pc_lock(sqlite3_file *f, int l) { return g_dead ? SQLITE_IOERR_LOCK : REAL(f)->pMethods->xLock(REAL(f), l); }
static int pc_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int pc_reserved(sqlite3_file *f, int *out)
{
    return g_dead ? SQLITE_IOERR_CHECKRESERVEDLOCK : REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int pc_control(sqlite3_file *f, int op, void *arg)
{
    /* Size hints would grow the real file behind the image's back. */
    if(IMG(f) && (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE))
        return SQLITE_NOTFOUND;
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int pc_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int pc_device(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int pc_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p)
{
    return g_dead ? SQLITE_IOERR_SHMMAP : REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, p);
}
static int pc_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    if(g_dead && (flags & SQLITE_SHM_LOCK))
        return SQLITE_IOERR_SHMLOCK;
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void pc_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int pc_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }

static const sqlite3_io_methods METHODS = {
    2, pc_close, pc_read, pc_write, pc_truncate, pc_sync, pc_size, pc_lock, pc_unlock, pc_reserved,
    pc_control, pc_sector, pc_device, pc_shm_map, pc_shm_lock, pc_shm_barrier, pc_shm_unmap, NULL, NULL,
};

/* ---- The VFS methods ---------------------------------------------------------------------------------- */

static Image *image_for(const char *path, sqlite3_file *real)
{
    Image *img = find(path);
    if(img)
        return img;
    sqlite3_int64 size = 0;
    if(real->pMethods->xFileSize(real, &size) != SQLITE_OK || !(img = calloc(1, sizeof *img)))
        return NULL;
    img->path = strdup(path);
    if(!img->path || !reserve(img, size) ||
       (size > 0 && real->pMethods->xRead(real, img->data, (int)size, 0) != SQLITE_OK)) {
        free(img->path);
        free(img->data);
        free(img);
        return NULL;
    }
    img->size = size;
    img->next = g_images;
    g_images = img;
    return img;
}

static int pc_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    PcFile *pf = (PcFile *)f;
    memset(pf, 0, sizeof *pf);
    if(g_dead)
        return SQLITE_CANTOPEN;
    pf->real = sqlite3_malloc(g_unix->szOsFile);
    if(!pf->real)
        return SQLITE_NOMEM;
    memset(pf->real, 0, (size_t)g_unix->szOsFile);
    int rc = g_unix->xOpen(g_unix, name, pf->real, flags, out_flags);
    if(rc != SQLITE_OK) {
        sqlite3_free(pf->real);
        pf->real = NULL;
        return rc;
    }
    bool durable = name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL));
    if(durable && !(pf->img = image_for(name, pf->real))) {
        pf->real->pMethods->xClose(pf->real);
        sqlite3_free(pf->real);
        pf->real = NULL;
        return SQLITE_IOERR_NOMEM;
    }
    f->pMethods = &METHODS;
    return SQLITE_OK;
}

static int pc_delete(sqlite3_vfs *vfs, const char *path, int sync_dir)
{
    (void)vfs;
    if(g_dead)
        return SQLITE_IOERR_DELETE;
    Image **p = &g_images;
    while(*p && strcmp((*p)->path, path) != 0)
        p = &(*p)->next;
    if(*p) {
        Image *gone = *p;
        *p = gone->next;
        free_image(gone);
    }
    return g_unix->xDelete(g_unix, path, sync_dir);
}

static int pc_access(sqlite3_vfs *v, const char *p, int flags, int *out)
{
    (void)v;
    return g_unix->xAccess(g_unix, p, flags, out);
}
static int pc_fullpath(sqlite3_vfs *v, const char *p, int n, char *out)
{
    (void)v;
    return g_unix->xFullPathname(g_unix, p, n, out);
}
static int pc_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return g_unix->xRandomness(g_unix, n, out);
}
static int pc_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return g_unix->xSleep(g_unix, us);
}
static int pc_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return g_unix->xCurrentTime(g_unix, out);
}
static int pc_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return g_unix->xGetLastError(g_unix, n, out);
}
static int pc_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return g_unix->xCurrentTimeInt64(g_unix, out);
}

int powercut_register(void)
{
    if(!(g_unix = sqlite3_vfs_find("unix")))
        return SQLITE_ERROR;
    g_vfs = (sqlite3_vfs){
        .iVersion = 2, .szOsFile = (int)sizeof(PcFile), .mxPathname = g_unix->mxPathname, .zName = "powercut",
        .xOpen = pc_open, .xDelete = pc_delete, .xAccess = pc_access, .xFullPathname = pc_fullpath,
        .xRandomness = pc_random, .xSleep = pc_sleep, .xCurrentTime = pc_time, .xGetLastError = pc_error,
        .xCurrentTimeInt64 = pc_time64,
    };
    return sqlite3_vfs_register(&g_vfs, 1);
}

void powercut_arm(uint64_t ops, int keep_percent, int torn_percent, uint64_t seed)
{
    g_dead = false;
    g_ops = 0;
    g_cut_at = ops;
    g_keep = keep_percent;
    g_torn = torn_percent;
    g_rng = seed;
}

void powercut_ignore_syncs(bool on) { g_nosync = on; }

void powercut_flush_all(void)
{
    for(Image *i = g_images; i; i = i->next)
        land(i, false);
}

bool powercut_happened(void) { return g_dead; }

void powercut_revive(void)
{
    for(Image *i = g_images, *next; i; i = next) {
        next = i->next;
        free_image(i);
    }
    g_images = NULL;
    g_dead = false;
    g_cut_at = 0;
}
