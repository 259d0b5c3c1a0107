/* SPDX-License-Identifier: MIT */
/* fault_vfs.c - the failing VFS (see fault_vfs.h). */
#include "support/fault_vfs.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct fault_file {
    sqlite3_file base;  /* must be first: SQLite sees this */
    sqlite3_file *real; /* the wrapped file, allocated right after this struct */
    int wal;
} fault_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault;
static int failing;
static unsigned refused;

static int f_close(sqlite3_file *f)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods ? ff->real->pMethods->xClose(ff->real) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xRead(ff->real, buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    fault_file *ff = (fault_file *)f;
    if (ff->wal && failing) {
        refused++;
        return SQLITE_FULL;
    }
    return ff->real->pMethods->xWrite(ff->real, buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xTruncate(ff->real, size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xSync(ff->real, flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xFileSize(ff->real, size);
}

static int f_lock(sqlite3_file *f, int l)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xLock(ff->real, l);
}

static int f_unlock(sqlite3_file *f, int l)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xUnlock(ff->real, l);
}

static int f_check(sqlite3_file *f, int *out)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xCheckReservedLock(ff->real, out);
}

static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xFileControl(ff->real, op, arg);
}

static int f_sector(sqlite3_file *f)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xSectorSize(ff->real);
}

static int f_devchar(sqlite3_file *f)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xDeviceCharacteristics(ff->real);
}

static int f_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xShmMap(ff->real, pg, sz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xShmLock(ff->real, offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    fault_file *ff = (fault_file *)f;
    ff->real->pMethods->xShmBarrier(ff->real);
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    fault_file *ff = (fault_file *)f;
    return ff->real->pMethods->xShmUnmap(ff->real, del);
}

static const sqlite3_io_methods methods = {
    .iVersion = 2,
    .xClose = f_close,
    .xRead = f_read,
    .xWrite = f_write,
    .xTruncate = f_truncate,
    .xSync = f_sync,
    .xFileSize = f_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_check,
    .xFileControl = f_fcntl,
    .xSectorSize = f_sector,
    .xDeviceCharacteristics = f_devchar,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    fault_file *ff = (fault_file *)file;
    (void)vfs;
    ff->real = (sqlite3_file *)(ff + 1);
    ff->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
    file->pMethods = rc == SQLITE_OK ? &methods : NULL;
    return rc;
}

static int f_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return real_vfs->xDelete(real_vfs, name, sync);
}

static int f_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int f_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int f_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int f_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return real_vfs->xSleep(real_vfs, us);
}

static int f_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int f_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static int f_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

void fault_vfs_install(void)
{
    if (real_vfs != NULL)
        return;
    real_vfs = sqlite3_vfs_find(NULL);
    fault.iVersion = 2;
    fault.szOsFile = (int)sizeof(fault_file) + real_vfs->szOsFile;
    fault.mxPathname = real_vfs->mxPathname;
    fault.zName = "rtk-fault";
    fault.xOpen = f_open;
    fault.xDelete = f_delete;
    fault.xAccess = f_access;
    fault.xFullPathname = f_fullpath;
    fault.xDlOpen = NULL;
    fault.xRandomness = f_random;
    fault.xSleep = f_sleep;
    fault.xCurrentTime = f_time;
    fault.xGetLastError = f_error;
    fault.xCurrentTimeInt64 = f_time64;
    sqlite3_vfs_register(&fault, 1);
}

void fault_vfs_fail_wal(int on)
{
    failing = on;
}

unsigned fault_vfs_refused(void)
{
    return refused;
}
