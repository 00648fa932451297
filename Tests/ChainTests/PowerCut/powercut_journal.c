// powercut_journal.c: an LD_PRELOAD shim for the power-cut test (Tests/ChainTests/PowerCutTests.swift).
//
// Loaded into the crash-test child, it journals, in the order they happen, every operation that
// decides what a power cut can leave of the files under one directory (TOTEM_POWERCUT_ROOT):
// writes with their offsets and bytes, truncations, fsync/fdatasync of files and of directories,
// creations, renames, unlinks and mkdirs. Writes to the child's report file
// (TOTEM_POWERCUT_REPORT) are journaled as notes, so the journal also says which promises the
// child had made (votes sent, blocks reported committed) at each instant. The test rebuilds a
// power-cut image from any prefix of the journal (PowerCutImage.swift).
//
// Each intercepted call runs and is journaled under one mutex, so the journal's order is the
// order in which the calls took effect. A shared writable mapping of a file under the root is
// journaled as `mapShared` (writes through it would be invisible here): the test accepts it only
// for LMDB's lock file, which LMDB rebuilds at open and never reads as data.
//
// Record: op u8 | ino u64 | a u64 | path u32 len + bytes | path2 u32 len + bytes
//         | data u64 len + bytes   (little-endian, the machine's order on x86-64 and arm64)
// Paths are relative to the root ("" is the root itself).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
    OP_CREATE = 1, OP_OPEN = 2, OP_WRITE = 3, OP_TRUNCATE = 4, OP_FSYNC = 5, OP_DIRSYNC = 6,
    OP_RENAME = 7, OP_UNLINK = 8, OP_MKDIR = 9, OP_NOTE = 10, OP_MAPSHARED = 11, OP_SYNCALL = 12,
    OP_UNSUPPORTED = 13,
};
/// `a` of a write: the write was durable when it returned (O_DSYNC, O_SYNC, RWF_DSYNC).
#define WRITE_DURABLE 1

#define TRACKED_MAX 4096

static pthread_mutex_t journal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int journal_fd = -1;
static char root[PATH_MAX];
static size_t root_len;
static char report_path[PATH_MAX];
static dev_t report_dev;
static ino_t report_ino;
static int report_known;
static struct { dev_t dev; ino_t ino; } tracked[TRACKED_MAX];
static int tracked_count;

#define REAL(name) \
    static __typeof__(name) *real_##name; \
    if (!real_##name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static void setup(void) {
    const char *r = getenv("TOTEM_POWERCUT_ROOT"), *j = getenv("TOTEM_POWERCUT_JOURNAL");
    const char *p = getenv("TOTEM_POWERCUT_REPORT");
    if (!r || !j || r[0] != '/' || strlen(r) >= PATH_MAX) return;
    strcpy(root, r);
    root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/') root[--root_len] = 0;
    if (p && strlen(p) < PATH_MAX) strcpy(report_path, p);
    int (*real_open)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    journal_fd = real_open(j, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (journal_fd < 0) {
        fprintf(stderr, "powercut_journal: cannot open %s\n", j);
        abort();
    }
}

static int active(void) {
    pthread_once(&setup_once, setup);
    return journal_fd >= 0;
}

static void put(const void *bytes, size_t count) {
    REAL(write);
    const char *b = bytes;
    while (count > 0) {
        ssize_t n = real_write(journal_fd, b, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fprintf(stderr, "powercut_journal: journal write failed\n");
            abort();
        }
        b += n;
        count -= (size_t)n;
    }
}

static void put_path(const char *path) {
    uint32_t len = path ? (uint32_t)strlen(path) : 0;
    put(&len, 4);
    if (len) put(path, len);
}

/// One record; `iov` holds the data (written in pieces, counted as one length).
static void emit(uint8_t op, uint64_t ino, uint64_t a, const char *path, const char *path2,
                 const struct iovec *iov, int iovcnt, uint64_t total) {
    int saved = errno;
    put(&op, 1);
    put(&ino, 8);
    put(&a, 8);
    put_path(path);
    put_path(path2);
    put(&total, 8);
    for (int i = 0; i < iovcnt && total > 0; i++) {
        size_t n = iov[i].iov_len < total ? iov[i].iov_len : (size_t)total;
        put(iov[i].iov_base, n);
        total -= n;
    }
    errno = saved;
}

/// `path` (relative to `dirfd`) relative to the root, into `out`; 0 if it is not under the root.
static int relative(int dirfd, const char *path, char *out) {
    char full[2 * PATH_MAX], clean[2 * PATH_MAX];
    if (!path) return 0;
    if (path[0] == '/') {
        snprintf(full, sizeof full, "%s", path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof base)) return 0;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t n = readlink(link, base, sizeof base - 1);
            if (n < 0) return 0;
            base[n] = 0;
        }
        snprintf(full, sizeof full, "%s/%s", base, path);
    }
    // Collapse "//" and "/./", drop a trailing "/" (no ".." handling: the code under test uses none).
    size_t o = 0;
    for (size_t i = 0; full[i]; i++) {
        if (full[i] == '/' && o > 0 && clean[o - 1] == '/') continue;
        if (full[i] == '.' && o > 0 && clean[o - 1] == '/' && (full[i + 1] == '/' || full[i + 1] == 0)) continue;
        clean[o++] = full[i];
    }
    while (o > 1 && clean[o - 1] == '/') o--;
    clean[o] = 0;
    if (strncmp(clean, root, root_len) != 0) return 0;
    if (clean[root_len] == 0) { out[0] = 0; return 1; }
    if (clean[root_len] != '/') return 0;
    snprintf(out, PATH_MAX, "%s", clean + root_len + 1);
    return 1;
}

static int is_tracked(dev_t dev, ino_t ino) {
    for (int i = 0; i < tracked_count; i++) {
        if (tracked[i].dev == dev && tracked[i].ino == ino) return 1;
    }
    return 0;
}

static void track(dev_t dev, ino_t ino) {
    if (is_tracked(dev, ino)) return;
    if (tracked_count == TRACKED_MAX) {
        fprintf(stderr, "powercut_journal: more than %d files\n", TRACKED_MAX);
        abort();
    }
    tracked[tracked_count].dev = dev;
    tracked[tracked_count].ino = ino;
    tracked_count++;
}

/// The inode of `fd` if it is a journaled regular file.
static int tracked_file(int fd, uint64_t *ino) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !is_tracked(st.st_dev, st.st_ino)) return 0;
    *ino = st.st_ino;
    return 1;
}

static int is_report(int fd) {
    struct stat st;
    return report_known && fstat(fd, &st) == 0 && st.st_dev == report_dev && st.st_ino == report_ino;
}

/// Whether `fd` may need journaling (a regular file): other fds (pipes, sockets) skip the lock.
static int regular(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

// MARK: open

static int after_open(int dirfd, const char *path, int flags, int existed, int fd) {
    char rel[PATH_MAX];
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) return fd;
    if (report_path[0] && strcmp(path, report_path) == 0) {
        report_dev = st.st_dev;
        report_ino = st.st_ino;
        report_known = 1;
    }
    if (!S_ISREG(st.st_mode) || !relative(dirfd, path, rel)) return fd;
    track(st.st_dev, st.st_ino);
    emit(existed ? OP_OPEN : OP_CREATE, st.st_ino, 0, rel, NULL, NULL, 0, 0);
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) emit(OP_TRUNCATE, st.st_ino, 0, NULL, NULL, NULL, 0, 0);
    return fd;
}

static int exists(int dirfd, const char *path) {
    struct stat st;
    return fstatat(dirfd, path, &st, 0) == 0;
}

#define OPEN_BODY(call, dirfd)                                                   \
    mode_t mode = 0;                                                             \
    if (flags & (O_CREAT | __O_TMPFILE)) {                                       \
        va_list ap;                                                              \
        va_start(ap, flags);                                                     \
        mode = va_arg(ap, mode_t);                                               \
        va_end(ap);                                                              \
    }                                                                            \
    if (!active()) return call;                                                  \
    pthread_mutex_lock(&journal_lock);                                           \
    int existed = exists(dirfd, path);                                           \
    int fd = call;                                                               \
    after_open(dirfd, path, flags, existed, fd);                                 \
    pthread_mutex_unlock(&journal_lock);                                         \
    return fd;

int open(const char *path, int flags, ...) {
    REAL(open);
    OPEN_BODY(real_open(path, flags, mode), AT_FDCWD)
}

int open64(const char *path, int flags, ...) {
    REAL(open64);
    OPEN_BODY(real_open64(path, flags, mode), AT_FDCWD)
}

int openat(int dirfd, const char *path, int flags, ...) {
    REAL(openat);
    OPEN_BODY(real_openat(dirfd, path, flags, mode), dirfd)
}

int openat64(int dirfd, const char *path, int flags, ...) {
    REAL(openat64);
    OPEN_BODY(real_openat64(dirfd, path, flags, mode), dirfd)
}

int creat(const char *path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

// MARK: writes

/// Journals a write of `n` bytes at `offset` (-1: at the position before the call).
static void journal_write_at(int fd, const struct iovec *iov, int iovcnt, ssize_t n, int64_t offset, int durable) {
    uint64_t ino;
    if (n <= 0) return;
    if (is_report(fd)) {
        emit(OP_NOTE, 0, 0, NULL, NULL, iov, iovcnt, (uint64_t)n);
        return;
    }
    if (!tracked_file(fd, &ino)) return;
    if (offset < 0) offset = lseek(fd, 0, SEEK_CUR) - n;  // write/writev: the position moved past it
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_DSYNC)) durable = 1;
    // a = offset << 1 | durable.
    emit(OP_WRITE, ino, ((uint64_t)offset << 1) | (durable ? WRITE_DURABLE : 0), NULL, NULL, iov, iovcnt, (uint64_t)n);
}

#define WRITE_BODY(call, iov, iovcnt, offset, durable)                           \
    if (!active() || !regular(fd)) return call;                                  \
    pthread_mutex_lock(&journal_lock);                                           \
    ssize_t n = call;                                                            \
    journal_write_at(fd, iov, iovcnt, n, offset, durable);                       \
    pthread_mutex_unlock(&journal_lock);                                         \
    return n;

ssize_t write(int fd, const void *buf, size_t count) {
    REAL(write);
    struct iovec v = { (void *)buf, count };
    WRITE_BODY(real_write(fd, buf, count), &v, 1, -1, 0)
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    REAL(pwrite);
    struct iovec v = { (void *)buf, count };
    WRITE_BODY(real_pwrite(fd, buf, count, offset), &v, 1, offset, 0)
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset) {
    REAL(pwrite64);
    struct iovec v = { (void *)buf, count };
    WRITE_BODY(real_pwrite64(fd, buf, count, offset), &v, 1, offset, 0)
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
    REAL(writev);
    WRITE_BODY(real_writev(fd, iov, iovcnt), iov, iovcnt, -1, 0)
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
    REAL(pwritev);
    WRITE_BODY(real_pwritev(fd, iov, iovcnt, offset), iov, iovcnt, offset, 0)
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t offset) {
    REAL(pwritev64);
    WRITE_BODY(real_pwritev64(fd, iov, iovcnt, offset), iov, iovcnt, offset, 0)
}

ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags) {
    REAL(pwritev2);
    WRITE_BODY(real_pwritev2(fd, iov, iovcnt, offset, flags), iov, iovcnt, offset,
               (flags & (RWF_DSYNC | RWF_SYNC)) != 0)
}

// MARK: sizes

static int journal_size(int fd, int rc, uint64_t size, int extendOnly) {
    uint64_t ino;
    if (rc != 0 || !tracked_file(fd, &ino)) return rc;
    if (extendOnly) {
        struct stat st;
        if (fstat(fd, &st) != 0) return rc;
        size = (uint64_t)st.st_size;  // the size after the call
    }
    emit(OP_TRUNCATE, ino, size, NULL, NULL, NULL, 0, 0);
    return rc;
}

#define SIZE_BODY(call, size, extendOnly)                                        \
    if (!active()) return call;                                                  \
    pthread_mutex_lock(&journal_lock);                                           \
    int rc = journal_size(fd, call, size, extendOnly);                           \
    pthread_mutex_unlock(&journal_lock);                                         \
    return rc;

int ftruncate(int fd, off_t length) {
    REAL(ftruncate);
    SIZE_BODY(real_ftruncate(fd, length), (uint64_t)length, 0)
}

int ftruncate64(int fd, off64_t length) {
    REAL(ftruncate64);
    SIZE_BODY(real_ftruncate64(fd, length), (uint64_t)length, 0)
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
    REAL(fallocate);
    SIZE_BODY(real_fallocate(fd, mode, offset, len), 0, 1)
}

int fallocate64(int fd, int mode, off64_t offset, off64_t len) {
    REAL(fallocate64);
    SIZE_BODY(real_fallocate64(fd, mode, offset, len), 0, 1)
}

int posix_fallocate(int fd, off_t offset, off_t len) {
    REAL(posix_fallocate);
    if (!active()) return real_posix_fallocate(fd, offset, len);
    pthread_mutex_lock(&journal_lock);
    int rc = real_posix_fallocate(fd, offset, len);  // returns the error, not -1
    journal_size(fd, rc, 0, 1);
    pthread_mutex_unlock(&journal_lock);
    return rc;
}

int truncate(const char *path, off_t length) {
    REAL(truncate);
    char rel[PATH_MAX];
    if (!active()) return real_truncate(path, length);
    pthread_mutex_lock(&journal_lock);
    int rc = real_truncate(path, length);
    struct stat st;
    if (rc == 0 && relative(AT_FDCWD, path, rel) && stat(path, &st) == 0 && is_tracked(st.st_dev, st.st_ino)) {
        emit(OP_TRUNCATE, st.st_ino, (uint64_t)length, NULL, NULL, NULL, 0, 0);
    }
    pthread_mutex_unlock(&journal_lock);
    return rc;
}

// MARK: syncs

static int journal_sync(int fd, int rc) {
    struct stat st;
    char link[64], target[PATH_MAX], rel[PATH_MAX];
    if (rc != 0 || fstat(fd, &st) != 0) return rc;
    if (S_ISREG(st.st_mode) && is_tracked(st.st_dev, st.st_ino)) {
        emit(OP_FSYNC, st.st_ino, 0, NULL, NULL, NULL, 0, 0);
    } else if (S_ISDIR(st.st_mode)) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n < 0) return rc;
        target[n] = 0;
        if (relative(AT_FDCWD, target, rel)) emit(OP_DIRSYNC, 0, 0, rel, NULL, NULL, 0, 0);
    }
    return rc;
}

int fsync(int fd) {
    REAL(fsync);
    if (!active()) return real_fsync(fd);
    pthread_mutex_lock(&journal_lock);
    int rc = journal_sync(fd, real_fsync(fd));
    pthread_mutex_unlock(&journal_lock);
    return rc;
}

int fdatasync(int fd) {
    REAL(fdatasync);
    if (!active()) return real_fdatasync(fd);
    pthread_mutex_lock(&journal_lock);
    int rc = journal_sync(fd, real_fdatasync(fd));
    pthread_mutex_unlock(&journal_lock);
    return rc;
}

void sync(void) {
    REAL(sync);
    if (!active()) { real_sync(); return; }
    pthread_mutex_lock(&journal_lock);
    real_sync();
    emit(OP_SYNCALL, 0, 0, NULL, NULL, NULL, 0, 0);
    pthread_mutex_unlock(&journal_lock);
}

int syncfs(int fd) {
    REAL(syncfs);
    if (!active()) return real_syncfs(fd);
    pthread_mutex_lock(&journal_lock);
    int rc = real_syncfs(fd);
    if (rc == 0) emit(OP_SYNCALL, 0, 0, NULL, NULL, NULL, 0, 0);
    pthread_mutex_unlock(&journal_lock);
    return rc;
}

// sync_file_range is not journaled as a sync: it flushes no disk cache and no metadata, so it
// makes nothing durable; the writes it starts stay "written, not synced" here.

// MARK: mappings

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    REAL(mmap);
    uint64_t ino;
    if (!active() || fd < 0 || !(prot & PROT_WRITE) || !(flags & MAP_SHARED)) {
        return real_mmap(addr, length, prot, flags, fd, offset);
    }
    pthread_mutex_lock(&journal_lock);
    void *p = real_mmap(addr, length, prot, flags, fd, offset);
    if (p != MAP_FAILED && tracked_file(fd, &ino)) emit(OP_MAPSHARED, ino, 0, NULL, NULL, NULL, 0, 0);
    pthread_mutex_unlock(&journal_lock);
    return p;
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off64_t offset) {
    return mmap(addr, length, prot, flags, fd, (off_t)offset);
}

// MARK: names

static int journal_names(uint8_t op, int rc, int dirfd, const char *path, int dirfd2, const char *path2) {
    char rel[PATH_MAX], rel2[PATH_MAX];
    if (rc != 0) return rc;
    int in = relative(dirfd, path, rel);
    int in2 = path2 ? relative(dirfd2, path2, rel2) : 0;
    if (op == OP_RENAME) {
        if (in && in2) emit(OP_RENAME, 0, 0, rel, rel2, NULL, 0, 0);
        else if (in) emit(OP_UNLINK, 0, 0, rel, NULL, NULL, 0, 0);          // moved out of the root
        else if (in2) emit(OP_UNSUPPORTED, 0, 0, rel2, "rename into the root", NULL, 0, 0);
    } else if (in) {
        emit(op, 0, 0, rel, NULL, NULL, 0, 0);
    }
    return rc;
}

#define NAMES_BODY(call, op, dirfd, path, dirfd2, path2)                         \
    if (!active()) return call;                                                  \
    pthread_mutex_lock(&journal_lock);                                           \
    int rc = journal_names(op, call, dirfd, path, dirfd2, path2);                \
    pthread_mutex_unlock(&journal_lock);                                         \
    return rc;

int rename(const char *from, const char *to) {
    REAL(rename);
    NAMES_BODY(real_rename(from, to), OP_RENAME, AT_FDCWD, from, AT_FDCWD, to)
}

int renameat(int fromfd, const char *from, int tofd, const char *to) {
    REAL(renameat);
    NAMES_BODY(real_renameat(fromfd, from, tofd, to), OP_RENAME, fromfd, from, tofd, to)
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags) {
    REAL(renameat2);
    if (active() && flags & RENAME_EXCHANGE) {
        pthread_mutex_lock(&journal_lock);
        emit(OP_UNSUPPORTED, 0, 0, from, "renameat2 RENAME_EXCHANGE", NULL, 0, 0);
        pthread_mutex_unlock(&journal_lock);
    }
    NAMES_BODY(real_renameat2(fromfd, from, tofd, to, flags), OP_RENAME, fromfd, from, tofd, to)
}

int unlink(const char *path) {
    REAL(unlink);
    NAMES_BODY(real_unlink(path), OP_UNLINK, AT_FDCWD, path, AT_FDCWD, NULL)
}

int unlinkat(int dirfd, const char *path, int flags) {
    REAL(unlinkat);
    NAMES_BODY(real_unlinkat(dirfd, path, flags), OP_UNLINK, dirfd, path, AT_FDCWD, NULL)
}

int rmdir(const char *path) {
    REAL(rmdir);
    NAMES_BODY(real_rmdir(path), OP_UNLINK, AT_FDCWD, path, AT_FDCWD, NULL)
}

int mkdir(const char *path, mode_t mode) {
    REAL(mkdir);
    NAMES_BODY(real_mkdir(path, mode), OP_MKDIR, AT_FDCWD, path, AT_FDCWD, NULL)
}

int mkdirat(int dirfd, const char *path, mode_t mode) {
    REAL(mkdirat);
    NAMES_BODY(real_mkdirat(dirfd, path, mode), OP_MKDIR, dirfd, path, AT_FDCWD, NULL)
}
