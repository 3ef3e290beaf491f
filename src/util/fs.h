/* fs: the file-system helpers that keep every access inside the tree it
 * is meant for.
 *
 * Owns: opening a path beneath a root directory so that no symlink and no
 * ".." can take it out of that root (openat2 with RESOLVE_BENEATH, and a
 * component-by-component O_NOFOLLOW walk where the kernel has no openat2);
 * the reads and writes of attribute files beneath a root (sysfs writes and
 * the reads they depend on); creating folders beneath a root; and the one
 * way any file of ours is replaced atomically (status file, bind records).
 *
 * Everything returns 0 (or an fd) or a negative errno and never prints.
 * Errors of note:
 *   -EXDEV   the path, through a symlink or "..", leads out of the root
 *   -ELOOP   too many symlinks, or a /proc-style magic link
 *   -EBADFD  the file is not a regular file (a FIFO, a device, a folder)
 *   -ENAMETOOLONG  a path or link text that does not fit
 * fs_strerror() words them for a message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Opens root itself (O_PATH|O_DIRECTORY): the anchor for the _beneath
 * calls. A root longer than PATH_MAX is -ENAMETOOLONG. */
int fs_open_root(const char *root);

/* Opens path (relative; "" is the root itself) beneath the directory
 * rootfd with flags/mode as openat(2) takes them (O_CLOEXEC is added).
 * Symlinks are followed as long as they stay beneath the root, as sysfs'
 * relative links do (bus/pci/devices/X -> ../../../devices/...); an
 * absolute link, a link or ".." that climbs above the root, and magic links
 * are refused. Returns the fd or -errno. */
int fs_open_beneath(int rootfd, const char *path, int flags, mode_t mode);
/* The fallback alone (what fs_open_beneath does when openat2 answers
 * ENOSYS), for tests: every component opened O_PATH|O_NOFOLLOW, links
 * resolved by hand. */
int fs_open_beneath_walk(int rootfd, const char *path, int flags, mode_t mode);

/* Attribute files beneath the root folder root (a path): a bounded read of a
 * regular file (at most max bytes, trailing whitespace stripped; -EFBIG
 * beyond), opened O_NONBLOCK so that a FIFO can never block. */
int read_text_beneath(const char *root, const char *path, size_t max, char **ret);
int read_u32_beneath(const char *root, const char *path, int base, uint32_t *ret);
/* The text of the symlink at path (its folder resolved beneath root), and
 * its last component alone. */
int read_link_beneath(const char *root, const char *path, char **ret);
int read_link_basename_beneath(const char *root, const char *path, char **ret);
/* Whether path exists beneath root and is a folder. */
bool dir_exists_beneath(const char *root, const char *path);

/* Writes a short value to the attribute file at path beneath root with a
 * single write(), so the kernel's answer (EBUSY, ERANGE, ...) comes back as
 * the return value. Only a regular file takes it (sysfs attributes are);
 * O_TRUNC, as a shell's `echo v > attr` has: sysfs ignores it, and a copy of
 * a tree in plain files then holds just the value. */
int write_text_beneath(const char *root, const char *path, const char *value);

/* mkdir -p of path beneath rootfd, refusing symlinks on the way (each
 * component must be a real folder). Returns an O_RDONLY|O_DIRECTORY fd of
 * the last folder, or -errno. */
int fs_mkdir_beneath(int rootfd, const char *path, mode_t mode);
/* mkdir -p of a path that is the administrator's (following links, as
 * their own folders may have): mkdir_p() in util.h. */

/* Replaces the file name (one path component) in the folder dirfd with
 * data: a fresh temporary file beside it (O_CREAT|O_EXCL|O_NOFOLLOW, a
 * random name, so nothing planted there is followed), written, fchmod to
 * mode, fsync'd, renamed over name, and the folder fsync'd. A reader sees
 * the old file or the new one, never half of one. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* Same for a path; creates the missing parent folders. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* strerror() with words for the errors above that say what happened:
 * "outside the tree (a link or '..' leads out of it)", "not a regular file". */
const char *fs_strerror(int r);

/* Before binding a Unix stream socket at path: 0 when nothing is there or
 * only a socket file that nobody answers on any more (a dead server's: it
 * is removed); -EADDRINUSE when a process serves it; -EEXIST when path is
 * something else than a socket; -ENAMETOOLONG past sun_path. */
int unix_socket_reclaim(const char *path);
