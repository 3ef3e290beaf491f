#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* As the kernel's own limit on the links one lookup follows. */
#define MAX_LINKS 40

int fs_open_root(const char *root)
{
	if (str_empty(root))
		return -EINVAL;
	if (strlen(root) >= PATH_MAX)
		return -ENAMETOOLONG;
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* --- the walk, where openat2 is missing -------------------------------------- */

struct walk {
	int *fds; /* fds[0..depth]: the folders from the root down; fds[0] is the root's */
	size_t depth, cap;
};

static void walk_done(struct walk *w)
{
	for (size_t i = 1; i <= w->depth; i++)
		close(w->fds[i]);
	free(w->fds);
}

static int walk_push(struct walk *w, int fd)
{
	if (w->depth + 1 == w->cap) {
		size_t cap = w->cap * 2;
		int *fds = realloc(w->fds, cap * sizeof(*fds));
		if (!fds) {
			close(fd);
			return -ENOMEM;
		}
		w->fds = fds;
		w->cap = cap;
	}
	w->fds[++w->depth] = fd;
	return 0;
}

/* Replaces *rest by "target/<what was left after the link>". */
static int splice_link(char **rest, const char *target, const char *after)
{
	char *s;
	if (asprintf(&s, "%s/%s", target, after) < 0)
		return -ENOMEM;
	free(*rest);
	*rest = s;
	return 0;
}

/* The text of the link name in dirfd: 1 when it is one, 0 when it is not a
 * link (or does not exist: the open that follows says which), -errno. */
static int link_text(int dirfd, const char *name, char buf[PATH_MAX])
{
	ssize_t n = readlinkat(dirfd, name, buf, PATH_MAX);
	if (n < 0)
		return errno == EINVAL || errno == ENOENT ? 0 : -errno;
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 1;
}

int fs_open_beneath_walk(int rootfd, const char *path, int flags, mode_t mode)
{
	if (!path)
		return -EINVAL;
	if (path[0] == '/')
		return -EXDEV;
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	struct walk w = {.cap = 8};
	if (!(w.fds = malloc(w.cap * sizeof(*w.fds))))
		return -ENOMEM;
	w.fds[0] = rootfd;
	char *rest = strdup(path);
	char target[PATH_MAX];
	unsigned links = 0;
	int r;
	if (!rest) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		char *comp = rest + strspn(rest, "/");
		size_t len = strcspn(comp, "/");
		char *after = comp + len;
		after += strspn(after, "/");
		bool last = *after == '\0';
		int cur = w.fds[w.depth];
		if (len == 0) {
			/* The path names a folder reached so far (root included). */
			r = openat(cur, ".", flags | O_CLOEXEC, mode);
			r = r < 0 ? -errno : r;
			goto out;
		}
		comp[len] = '\0';
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			if (comp[1] == '.') {
				if (w.depth == 0) {
					r = -EXDEV;
					goto out;
				}
				close(w.fds[w.depth--]);
			}
			if (last) {
				r = openat(w.fds[w.depth], ".", flags | O_CLOEXEC, mode);
				r = r < 0 ? -errno : r;
				goto out;
			}
			memmove(rest, after, strlen(after) + 1);
			continue;
		}
		bool follow = !last || !(flags & O_NOFOLLOW);
		if (follow) {
			r = link_text(cur, comp, target);
			if (r < 0)
				goto out;
			if (r == 1) {
				if (target[0] == '/') {
					r = -EXDEV;
					goto out;
				}
				if (++links > MAX_LINKS) {
					r = -ELOOP;
					goto out;
				}
				if ((r = splice_link(&rest, target, after)) < 0)
					goto out;
				continue;
			}
		}
		if (last) {
			/* O_NOFOLLOW: a link swapped in since the look above fails
			 * here rather than being followed. */
			r = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			r = r < 0 ? -errno : r;
			goto out;
		}
		int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			goto out;
		}
		if ((r = walk_push(&w, fd)) < 0)
			goto out;
		memmove(rest, after, strlen(after) + 1);
	}
out:
	free(rest);
	walk_done(&w);
	return r;
}

int fs_open_beneath(int rootfd, const char *path, int flags, mode_t mode)
{
	if (!path)
		return -EINVAL;
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	const char *p = path[0] ? path : ".";
	for (unsigned tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, rootfd, p, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		/* EAGAIN: a rename raced with the lookup; the kernel asks to retry. */
		if (errno == EAGAIN && tries < 16)
			continue;
		if (errno == ENOSYS)
			return fs_open_beneath_walk(rootfd, path, flags, mode);
		return -errno;
	}
}

/* --- reads and writes beneath a root -------------------------------------------- */

static int open_in_root(const char *root, const char *path, int flags)
{
	_cleanup_close_ int rootfd = fs_open_root(root);
	if (rootfd < 0)
		return rootfd;
	return fs_open_beneath(rootfd, path, flags, 0);
}

int read_text_beneath(const char *root, const char *path, size_t max, char **ret)
{
	_cleanup_close_ int fd = open_in_root(root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	return read_text_fd(fd, max, ret);
}

/* Attribute files holding one number are tiny; 64 bytes is generous. */
#define NUMBER_FILE_MAX 64

int read_u32_beneath(const char *root, const char *path, int base, uint32_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_text_beneath(root, path, NUMBER_FILE_MAX, &s);
	if (r < 0)
		return r;
	return parse_u32(s, base, ret);
}

/* Splits path into its folder (opened beneath root) and last component. */
static int open_parent(const char *root, const char *path, char **ret_name)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	size_t len = strlen(dir);
	while (len > 0 && dir[len - 1] == '/')
		dir[--len] = '\0';
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : dir;
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if (!(*ret_name = strdup(name)))
		return -ENOMEM;
	if (slash)
		*slash = '\0';
	int fd = open_in_root(root, slash ? dir : "", O_PATH | O_DIRECTORY);
	if (fd < 0) {
		free(*ret_name);
		*ret_name = NULL;
	}
	return fd;
}

/* fn(dirfd, name) on the link at path, its folder opened beneath root. */
static int link_beneath(const char *root, const char *path, int (*fn)(int, const char *, char **), char **ret)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dirfd = open_parent(root, path, &name);
	if (dirfd < 0)
		return dirfd;
	return fn(dirfd, name, ret);
}

int read_link_beneath(const char *root, const char *path, char **ret)
{
	return link_beneath(root, path, read_link_at, ret);
}

int read_link_basename_beneath(const char *root, const char *path, char **ret)
{
	return link_beneath(root, path, read_link_basename_at, ret);
}

bool dir_exists_beneath(const char *root, const char *path)
{
	_cleanup_close_ int fd = open_in_root(root, path, O_PATH | O_DIRECTORY);
	return fd >= 0;
}

int write_text_beneath(const char *root, const char *path, const char *value)
{
	/* O_NONBLOCK so that a FIFO planted in a tree cannot hang the open;
	 * cleared again before the write, which the kernel should see plain. */
	_cleanup_close_ int fd = open_in_root(root, path, O_WRONLY | O_TRUNC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

/* --- folders ----------------------------------------------------------------- */

int fs_mkdir_beneath(int rootfd, const char *path, mode_t mode)
{
	if (!path || path[0] == '/')
		return -EXDEV;
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	_cleanup_close_ int cur = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	char *save = NULL;
	for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0)
			return -EXDEV;
		if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST)
			return -errno;
		/* A link where a folder should be is refused, not followed. */
		int fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			struct stat st;
			if ((errno == ELOOP || errno == ENOTDIR) && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				return -EXDEV;
			return -errno;
		}
		close(cur);
		cur = fd;
	}
	return TAKE_FD(cur);
}

/* --- atomic replacement -------------------------------------------------------- */

static bool name_is_component(const char *name)
{
	return !str_empty(name) && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* ".NAME.XXXXXXXX" with random letters; created O_EXCL, so a name someone
 * planted (a link, a file) is never opened, only skipped. */
static int create_temp(int dirfd, const char *name, mode_t mode, char **ret_name)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	for (unsigned tries = 0; tries < 64; tries++) {
		unsigned char rnd[8];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return errno ? -errno : -EIO;
		char suffix[sizeof(rnd) + 1];
		for (size_t i = 0; i < sizeof(rnd); i++)
			suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
		suffix[sizeof(rnd)] = '\0';
		char *tmp;
		if (asprintf(&tmp, ".%s.%s", name, suffix) < 0)
			return -ENOMEM;
		if (strlen(tmp) > NAME_MAX) {
			free(tmp);
			return -ENAMETOOLONG;
		}
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
		if (fd >= 0) {
			*ret_name = tmp;
			return fd;
		}
		int e = errno;
		free(tmp);
		if (e != EEXIST)
			return -e;
	}
	return -EEXIST;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	if (!name_is_component(name))
		return -EINVAL;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = create_temp(dirfd, name, mode, &tmp);
	if (fd < 0)
		return fd;
	int r = write_all(fd, data, len);
	/* The mode asked for, whatever the umask. */
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	/* The rename itself reaches the disk with the folder. */
	if (fsync(dirfd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	if (str_empty(path))
		return -EINVAL;
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : dir;
	if (!name_is_component(name))
		return -EINVAL;
	_cleanup_free_ char *base = strdup(name);
	if (!base)
		return -ENOMEM;
	const char *parent = ".";
	if (slash == dir)
		parent = "/";
	else if (slash) {
		*slash = '\0';
		parent = dir;
		int r = mkdir_p(parent, 0755);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	return write_file_atomic_at(dirfd, base, data, len, mode);
}

const char *fs_strerror(int r)
{
	switch (r < 0 ? -r : r) {
	case EXDEV:
		return "outside the tree (a link or '..' leads out of it)";
	case EBADFD:
		return "not a regular file";
	}
	return strerror(r < 0 ? -r : r);
}

int unix_socket_reclaim(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n + 1);
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return -EADDRINUSE;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
