/* mpirun's private temporary directory: $TMPDIR/tide-mpirun.XXXXXX.
 *
 * The PMIx server puts its rendezvous socket and files here.  We remove the
 * tree when the job ends, also when mpirun is stopped by SIGINT, SIGTERM or
 * SIGHUP (loop.c turns those into an orderly end).  Against SIGKILL we
 * cannot do anything at that moment, so every directory carries a file
 * "lock" that its mpirun holds flock()ed for its whole life: the next
 * mpirun that starts, finding a directory whose lock it can take, knows the
 * owner is dead (whatever its pid or pid namespace) and removes it. */
#include "config.h"
#include "mpirun/mpirun.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMPDIR_PREFIX "tide-mpirun."
/* A directory without a lock file this old is debris of a crashed start. */
#define TMPDIR_UNLOCKED_STALE_S 60

static int tmpdir_lock_fd = -1;

static const char *tmpdir_base(void)
{
    const char *b = getenv("TMPDIR");
    return (b != NULL && b[0] == '/') ? b : "/tmp";
}

/* Take the lock under a private name, then rename it into place, so that
 * nobody can ever see an unlocked "lock" of a living mpirun. */
static int tmpdir_lock(const char *dir)
{
    char tmp[4200], final[4200];
    snprintf(tmp, sizeof(tmp), "%s/.lock-init", dir);
    snprintf(final, sizeof(final), "%s/lock", dir);
    int fd = open(tmp, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 || rename(tmp, final) < 0) {
        int err = errno;
        tide_error("cannot lock %s: %s", dir, strerror(err));
        if (fd >= 0)
            close(fd);
        return -err;
    }
    tmpdir_lock_fd = fd;
    return 0;
}

int tide_mpirun_tmpdir_create(char *path, size_t len)
{
    int n = snprintf(path, len, "%s/" TMPDIR_PREFIX "XXXXXX", tmpdir_base());
    if (n < 0 || (size_t)n >= len || strlen(path) > 100) {
        /* the PMIx socket path must fit in sun_path (108 bytes) */
        tide_error("temporary directory name too long under %s; set TMPDIR to a short path",
                   tmpdir_base());
        return -ENAMETOOLONG;
    }
    if (mkdtemp(path) == NULL) {
        int err = errno;
        tide_error("cannot create a temporary directory under %s: %s", tmpdir_base(),
                   strerror(err));
        return -err;
    }
    int ret = tmpdir_lock(path);
    if (ret < 0)
        tide_mpirun_tmpdir_remove(path);
    return ret;
}

static int tmpdir_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    if (remove(p) < 0 && errno != ENOENT)
        tide_warn("cannot remove %s: %s", p, strerror(errno));
    return 0;
}

void tide_mpirun_tmpdir_remove(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return;
    nftw(path, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (tmpdir_lock_fd >= 0) {
        close(tmpdir_lock_fd);
        tmpdir_lock_fd = -1;
    }
}

/* 1 when dir (one of ours, by name) belongs to a dead mpirun. */
static int tmpdir_is_stale(int dfd, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid())
        return 0;
    char lock[512];
    snprintf(lock, sizeof(lock), "%s/lock", name);
    int fd = openat(dfd, lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT && time(NULL) - st.st_mtime > TMPDIR_UNLOCKED_STALE_S;
    int stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return stale;
}

void tide_mpirun_tmpdir_clean_stale(void)
{
    const char *base = tmpdir_base();
    DIR *d = opendir(base);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, TMPDIR_PREFIX, strlen(TMPDIR_PREFIX)) != 0)
            continue;
        if (!tmpdir_is_stale(dirfd(d), e->d_name))
            continue;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
        tide_info("removing %s, left behind by an mpirun that died", path);
        nftw(path, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    closedir(d);
}
