/* SPDX-License-Identifier: MIT */
/* fault_vfs.h - an SQLite VFS for tests that fails writes on demand, as a full disk would.
 *
 * It wraps the default VFS and becomes the default itself, so a store opened afterwards uses
 * it. While failing is on, every write to a WAL file returns SQLITE_FULL: a transaction's
 * COMMIT (which is when WAL mode writes the pages) fails and SQLite rolls it back, exactly as
 * on a disk that filled up. The store's own code is untouched by it. */
#ifndef FAULT_VFS_H
#define FAULT_VFS_H

/* Registers the VFS as the default (once per process). */
void fault_vfs_install(void);

/* 1: writes to WAL files fail from now on; 0: they succeed again. */
void fault_vfs_fail_wal(int on);

/* WAL writes refused since the install. */
unsigned fault_vfs_refused(void);

#endif
