/* tally_admin.h — the subcommands of tally-admin that live outside tally_admin.c (argument parsing and
 * printing only; the work is done by the library modules). Each returns the exit status: 0 done, 1 refused
 * (stderr says why), 2 usage. */
#ifndef SYNC_TALLY_ADMIN_H
#define SYNC_TALLY_ADMIN_H

#include "sync/tally/tally_db.h"

/* `report ...`: the report model as a table, CSV, JSON, XLSX or PDF; with --by, the rows of GET /api/v1/tally. */
int admin_report(TallyDb *db, int argc, char **argv);
/* `letterhead [show | set KEY VALUE | reset KEY]`: the PDF's issuing body, place, symbol and signer. */
int admin_letterhead(TallyDb *db, int argc, char **argv);

#endif
