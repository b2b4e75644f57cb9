/* tally_backup.h — online backup and restore of the tally's SQLite file (tally-admin backup / restore).
 *
 * A backup is taken with SQLite's online backup API in one step, so it is one consistent snapshot of a
 * database that tally-server keeps writing to (WAL: the server is never blocked), never a file copy. The
 * copy is written beside its destination under a temporary name, switched to a self-contained rollback
 * journal file, checked with PRAGMA integrity_check, synced, and only then renamed into place: a backup
 * file that exists is whole and checked. A restore refuses a database that any other connection (a running
 * tally-server, a tally-admin) has open, and is itself one transaction: it lands whole or not at all.
 * This module touches the file only; the tables belong to tally_db, tally_ingest and tally_query. */
#ifndef SYNC_TALLY_BACKUP_H
#define SYNC_TALLY_BACKUP_H

#include <stdint.h>

#include "sync/tally/tally_db.h"

#define TALLY_BACKUP_KEEP_DEFAULT 14 /* nightly backups kept by `backup DIR` when --keep is not given */

typedef struct {
    int64_t bytes;   /* size of the backup file */
    int64_t ratings; /* rating rows in it */
    int     schema;  /* its schema version (PRAGMA user_version) */
} TallyBackupInfo;

/* Backs db_path up into the file dest (replacing it atomically if it exists). db_path must exist and be a
 * tally database; it is not migrated. TALLY_E_BUSY when the snapshot could not be had in 30 s; on any
 * error dest is untouched and no temporary file is left. */
TallyErr tally_backup_to_file(const char *db_path, const char *dest, TallyBackupInfo *info,
                              char msg[TALLY_MSG_MAX]);

/* Backs up into dir as tally-YYYYMMDDTHHMMSSZ.db (UTC), then removes the oldest such files beyond keep
 * (only after the new one is in place). path gets the new file's name. */
TallyErr tally_backup_to_dir(const char *db_path, const char *dir, int keep, char path[TALLY_MSG_MAX],
                             TallyBackupInfo *info, int *removed, char msg[TALLY_MSG_MAX]);

/* Opens path read-only and checks it: PRAGMA integrity_check says ok, and it is a tally database. */
TallyErr tally_backup_verify(const char *path, TallyBackupInfo *info, char msg[TALLY_MSG_MAX]);

/* Replaces db_path's content with the verified backup. TALLY_E_BUSY when another connection has db_path
 * open (stop tally-server first); db_path is then untouched. db_path is created if absent. */
TallyErr tally_restore(const char *backup, const char *db_path, TallyBackupInfo *info, char msg[TALLY_MSG_MAX]);

#endif
