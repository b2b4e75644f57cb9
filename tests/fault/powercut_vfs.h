/* powercut_vfs.h — an SQLite VFS that simulates power cuts (in the spirit of SQLite's own crash-test VFS,
 * src/test6.c), for tests/fault/powercut_store.c.
 *
 * It wraps the "unix" VFS. Every write and truncate goes to an in-memory image of the file (what the page
 * cache holds) and to a list of operations not yet synced; reads come from the image. xSync hands that
 * file's pending operations to the real file, in order: the real file is what the disk holds. At a simulated
 * power cut, each operation never synced is, at random, written whole, left out, or torn (each 512-byte
 * sector of it new, old, or — rarely — garbage). From then on every file operation fails, as if the machine
 * were off: the SQLite call in progress returns an I/O error and nothing more reaches the disk; the caller
 * closes its connections (which release their locks and write nothing) and calls powercut_revive(), which
 * forgets the page cache. Only the written bytes of an operation can change (SQLite's "powersafe overwrite",
 * which the unix VFS reports). Shared memory and locks are the unix VFS's own; with every connection closed,
 * the next opener rebuilds the -shm from the WAL, as after a real cut.
 *
 * Not modelled: directory entries (a new or deleted file is durable at once) and reordering across files
 * beyond what "each operation independently kept or lost" gives. The cut point is an operation count: the
 * N-th write, truncate or sync since powercut_arm() cuts. One process, one thread. */
#ifndef TESTS_FAULT_POWERCUT_VFS_H
#define TESTS_FAULT_POWERCUT_VFS_H

#include <stdbool.h>
#include <stdint.h>

/* Registers the VFS as the default; call once in the process that will be cut (before opening). */
int powercut_register(void);

/* Cuts the power at the `ops`-th write/truncate/sync from now (0: never). keep_percent: the chance that an
 * unsynced operation survives whole; torn_percent: the chance that it is torn instead (sector by sector);
 * the rest is lost. seed drives those choices. */
void powercut_arm(uint64_t ops, int keep_percent, int torn_percent, uint64_t seed);

/* Syncs that do nothing: the disk then only gets what the OS writes back at a normal exit. Plays a store
 * with synchronous=OFF, to prove the checker catches the losses. */
void powercut_ignore_syncs(bool on);

/* A normal end (no power cut): the OS writes every pending operation back. Call before exiting. */
void powercut_flush_all(void);

/* True once the armed cut has happened (until powercut_revive). */
bool powercut_happened(void);

/* After a cut, with every connection closed: the power is back, the page cache is empty. */
void powercut_revive(void);

#endif
