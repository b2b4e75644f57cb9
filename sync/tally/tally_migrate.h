/* tally_migrate.h — `tally-admin migrate --from FILE.db --to postgresql://…`: moves a province's SQLite tally
 * into PostgreSQL (issue 14; docs/operations.md "PostgreSQL").
 *
 * Every table is copied row for row — rating ids and their canonical bodies, token hashes (so enrolled kiosks
 * and viewers keep their tokens), roll-ups, receipts, sessions and the audit trail — in chunks, one
 * PostgreSQL transaction each, as upserts in which the SQLite file wins. So a run that is interrupted is
 * finished by running it again, and a second run over an unchanged file changes nothing and says so. Then
 * both databases are read side by side, ordered by key, and compared row by row, and the roll-ups by unit ×
 * month × area are summed and printed: any difference exits 1 naming what differs. */
#ifndef SYNC_TALLY_MIGRATE_H
#define SYNC_TALLY_MIGRATE_H

/* argv holds the words after `migrate`: --from FILE.db --to URI [--chunk-rows N]. Returns the exit status:
 * 0 copied and verified, 1 refused or a difference found (stderr says what), 2 usage. */
int admin_migrate(int argc, char **argv);

#endif
