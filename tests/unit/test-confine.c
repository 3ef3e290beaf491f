/* Unit tests for the confinement of every write and record to its tree
 * (util/fs.h and the I/O of lifecycle/ and daemon/status): trap trees built
 * with fakesysfs plant links that lead out of the tree to a canary folder,
 * each write path runs through its public function with the default writer
 * (no hook), and the canary must be exactly as it was (content, mtime, no
 * new entries) while the operation reports an error naming the file. Also:
 * the state-folder rule, long roots, the atomic write, FIFOs and other
 * non-regular files, and the kernel-log source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "check/check.h"
#include "daemon/status.h"
#include "fakesysfs.h"
#include "inventory/inventory.h"
#include "lifecycle/lifecycle.h"
#include "util/fs.h"
#include "util/util.h"
#include "test-helpers.h"

#define IGB_PF "0000:01:00.0"
#define IGB_VF0 "0000:01:10.0"
#define CANARY_TEXT "canary\n"
#define CANARY_MTIME 1000000000

struct fixture {
	char *dir, *sys, *canary, *victim;
	struct lifecycle_env env;
};

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void old_mtime(const char *path)
{
	struct timespec ts[2] = {{.tv_sec = CANARY_MTIME}, {.tv_sec = CANARY_MTIME}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* The canary folder: victim (a file), sub/ with a file, all with an old
 * mtime; anything written, created or removed there shows. */
static void canary_make(struct fixture *f)
{
	assert_int_equal(mkdir(f->canary, 0755), 0);
	put_file(f->victim, CANARY_TEXT);
	_cleanup_free_ char *sub = fmt("%s/sub", f->canary);
	_cleanup_free_ char *subfile = fmt("%s/sub/file", f->canary);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_file(subfile, CANARY_TEXT);
	old_mtime(subfile);
	old_mtime(sub);
	old_mtime(f->victim);
	old_mtime(f->canary);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void assert_untouched_file(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mtim.tv_sec, CANARY_MTIME);
	_cleanup_free_ char *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	char buf[64] = "";
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	assert_string_equal(buf, CANARY_TEXT);
}

static void canary_assert_untouched(const struct fixture *f)
{
	_cleanup_free_ char *sub = fmt("%s/sub", f->canary);
	_cleanup_free_ char *subfile = fmt("%s/sub/file", f->canary);
	assert_untouched_file(f->victim);
	assert_untouched_file(subfile);
	assert_int_equal(count_entries(f->canary), 2);
	assert_int_equal(count_entries(sub), 1);
	struct stat st;
	assert_int_equal(stat(f->canary, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, CANARY_MTIME);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, CANARY_MTIME);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->dir = fmt("%s/sriovd-confine-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->dir))
		return -1;
	f->sys = fmt("%s/sys", f->dir);
	f->canary = fmt("%s/canary", f->dir);
	f->victim = fmt("%s/canary/victim", f->dir);
	if (fakesysfs_build_testbed(f->sys, true) < 0 || fakesysfs_add_driver(f->sys, "vfio-pci") < 0)
		return -1;
	canary_make(f);
	/* No hook: the real writer, as sriovctl on a --sysfs-root tree. State
	 * in the tree's own folder (state_dir NULL). */
	f->env = (struct lifecycle_env){.sysfs_root = f->sys, .settle_ms = 1};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fakesysfs_rmtree(f->dir);
	free(f->dir);
	free(f->sys);
	free(f->canary);
	free(f->victim);
	free(f);
	return 0;
}

static struct pci_tree *scan(const struct fixture *f)
{
	struct pci_tree *t = NULL;
	assert_int_equal(pci_tree_scan(f->sys, &t), 0);
	return t;
}

static struct pci_function *find(const struct pci_tree *t, const char *spec)
{
	struct pci_function *d = NULL;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(inventory_resolve(t, spec, &d, &error), 0);
	return d;
}

/* Replaces the tree's file rel by a link to target. */
static void plant(const struct fixture *f, const char *rel, const char *target)
{
	assert_int_equal(fakesysfs_symlink(f->sys, rel, target), 0);
}

/* A relative link text from the folder of rel (beneath the tree) that
 * climbs out of the tree to the canary's victim. */
static char *climbing_link(const char *rel)
{
	char *s = strdup("..");
	for (const char *p = rel; (p = strchr(p, '/')); p++) {
		char *t = fmt("%s/..", s);
		free(s);
		s = t;
	}
	char *t = fmt("%s/canary/victim", s);
	free(s);
	return t;
}

static void assert_error_names(const char *error, const char *file)
{
	assert_non_null(error);
	if (!strstr(error, file))
		fail_msg("error '%s' does not name %s", error, file);
}

/* --- fs_open_beneath, with openat2 and with the walk ----------------------------- */

typedef int (*open_fn)(int, const char *, int, mode_t);

static void beneath_one(open_fn fn, int rootfd, const char *path, int flags, int expect)
{
	int fd = fn(rootfd, path, flags, 0);
	if (expect == 0) {
		if (fd < 0)
			fail_msg("%s: %s", path, strerror(-fd));
		close(fd);
	} else {
		if (fd >= 0)
			close(fd);
		if (fd != expect)
			fail_msg("%s: got %d (%s), want %d", path, fd, fd < 0 ? strerror(-fd) : "an fd", expect);
	}
}

static void beneath_rows(open_fn fn, struct fixture *f)
{
	_cleanup_free_ char *abs_victim = strdup(f->victim);
	plant(f, "trap/abs", abs_victim);
	plant(f, "trap/climb", "../../canary/victim");
	plant(f, "trap/dir", "../../canary");
	plant(f, "trap/inside", "../bus/pci/devices/" IGB_PF "/vendor");
	plant(f, "trap/loop", "loop");
	plant(f, "trap/proc", "/proc/self/fd/0");
	plant(f, "trap/chain", "inside");
	_cleanup_close_ int rootfd = fs_open_root(f->sys);
	assert_true(rootfd >= 0);
	static const struct {
		const char *path;
		int flags, expect;
	} rows[] = {
		{"bus/pci/devices/" IGB_PF "/vendor", O_RDONLY, 0},
		{"", O_RDONLY | O_DIRECTORY, 0},
		{".", O_RDONLY | O_DIRECTORY, 0},
		{"bus/pci/../pci/devices", O_RDONLY | O_DIRECTORY, 0},
		/* sysfs' own relative links, staying inside */
		{"bus/pci/devices/" IGB_PF "/driver/bind", O_RDONLY, 0},
		{"bus/pci/devices/" IGB_VF0 "/physfn/vendor", O_RDONLY, 0},
		{"class/net/eth0/device/vendor", O_RDONLY, 0},
		{"trap/inside", O_RDONLY, 0},
		{"trap/chain", O_RDONLY, 0},
		/* out of the tree */
		{"trap/abs", O_RDONLY, -EXDEV},
		{"trap/climb", O_RDONLY, -EXDEV},
		{"trap/climb", O_WRONLY, -EXDEV},
		{"trap/dir/victim", O_WRONLY, -EXDEV},
		{"trap/dir/sub/file", O_RDONLY, -EXDEV},
		{"trap/proc", O_RDONLY, -EXDEV},
		{"..", O_RDONLY | O_DIRECTORY, -EXDEV},
		{"../canary/victim", O_RDONLY, -EXDEV},
		{"bus/../../canary/victim", O_RDONLY, -EXDEV},
		{"/etc/passwd", O_RDONLY, -EXDEV},
		{"trap/loop", O_RDONLY, -ELOOP},
		{"trap/inside", O_RDONLY | O_NOFOLLOW, -ELOOP},
		{"no/such/file", O_RDONLY, -ENOENT},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		beneath_one(fn, rootfd, rows[i].path, rows[i].flags, rows[i].expect);
	canary_assert_untouched(f);
}

static void test_open_beneath_openat2(void **state)
{
	beneath_rows(fs_open_beneath, *state);
}

static void test_open_beneath_walk(void **state)
{
	beneath_rows(fs_open_beneath_walk, *state);
}

/* The real /sys is full of relative links (bus/pci/devices/X ->
 * ../../../devices/pci0000:00/..., driver -> ../../../bus/pci/drivers/D):
 * both ways must reach every device's files through them. */
static void test_open_beneath_real_sys(void **state)
{
	(void)state;
	DIR *d = opendir("/sys/bus/pci/devices");
	if (!d)
		skip();
	_cleanup_close_ int rootfd = fs_open_root("/sys");
	assert_true(rootfd >= 0);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *vendor = fmt("bus/pci/devices/%s/vendor", de->d_name);
		_cleanup_free_ char *drv = fmt("bus/pci/devices/%s/driver/unbind", de->d_name);
		_cleanup_free_ char *drvpath = fmt("/sys/%s", drv);
		beneath_one(fs_open_beneath, rootfd, vendor, O_RDONLY, 0);
		beneath_one(fs_open_beneath_walk, rootfd, vendor, O_RDONLY, 0);
		if (access(drvpath, F_OK) == 0) {
			beneath_one(fs_open_beneath, rootfd, drv, O_PATH, 0);
			beneath_one(fs_open_beneath_walk, rootfd, drv, O_PATH, 0);
		}
		n++;
	}
	closedir(d);
	if (n == 0)
		skip();
}

/* --- every sysfs write, trapped -------------------------------------------------------- */

static void test_numvfs_trap(void **state)
{
	struct fixture *f = *state;
	const char *rel = "bus/pci/devices/" IGB_PF "/sriov_numvfs";
	for (int variant = 0; variant < 2; variant++) {
		_cleanup_free_ char *link = variant ? climbing_link(rel) : strdup(f->victim);
		plant(f, rel, link);
		struct pci_tree *t = scan(f);
		struct numvfs_request req = {.count = 0, .force = true};
		struct numvfs_result res;
		_cleanup_free_ char *error = NULL;
		int r = lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error);
		assert_int_equal(r, -EXDEV);
		assert_error_names(error, "sriov_numvfs");
		assert_false(res.changed);
		numvfs_result_done(&res);
		pci_tree_free(t);
		canary_assert_untouched(f);
	}
}

static void test_autoprobe_trap(void **state)
{
	struct fixture *f = *state;
	const char *rel = "bus/pci/devices/" IGB_PF "/sriov_drivers_autoprobe";
	plant(f, rel, f->victim);
	struct pci_tree *t = scan(f);
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_autoprobe(&f->env, IGB_PF, false, &error), -EXDEV);
	assert_error_names(error, "sriov_drivers_autoprobe");
	canary_assert_untouched(f);

	/* numvfs --no-autoprobe from 0 on the nvme PF: autoprobe goes first. */
	const char *nrel = "bus/pci/devices/0000:00:03.0/sriov_drivers_autoprobe";
	_cleanup_free_ char *climb = climbing_link(nrel);
	plant(f, nrel, climb);
	struct numvfs_request req = {.count = 2, .no_autoprobe = true};
	struct numvfs_result res;
	free(error);
	error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "0000:00:03.0"), &req, &res, &error), -EXDEV);
	assert_error_names(error, "sriov_drivers_autoprobe");
	assert_false(res.changed);
	numvfs_result_done(&res);
	pci_tree_free(t);
	canary_assert_untouched(f);
}

static int bind_vf0(struct fixture *f, const char *driver, char **error)
{
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = driver, .force = true, .vfio_wait_ms = 1};
	struct bind_result res;
	int r = lifecycle_bind(&f->env, find(t, IGB_VF0), &req, &res, error);
	bind_result_done(&res);
	pci_tree_free(t);
	return r;
}

static void test_driver_override_trap(void **state)
{
	struct fixture *f = *state;
	const char *rel = "bus/pci/devices/" IGB_VF0 "/driver_override";
	plant(f, rel, f->victim);
	_cleanup_free_ char *error = NULL;
	assert_int_equal(bind_vf0(f, "vfio-pci", &error), -EXDEV);
	assert_error_names(error, "driver_override");
	canary_assert_untouched(f);
}

static void test_unbind_trap(void **state)
{
	struct fixture *f = *state;
	const char *rel = "bus/pci/drivers/igbvf/unbind";
	_cleanup_free_ char *climb = climbing_link(rel);
	plant(f, rel, climb);
	_cleanup_free_ char *error = NULL;
	assert_int_equal(bind_vf0(f, "vfio-pci", &error), -EXDEV);
	assert_error_names(error, "drivers/igbvf/unbind");
	canary_assert_untouched(f);
}

static void test_drivers_probe_trap(void **state)
{
	struct fixture *f = *state;
	plant(f, "bus/pci/drivers_probe", f->victim);
	_cleanup_free_ char *error = NULL;
	/* A plain tree has no kernel to move the driver link: the bind fails,
	 * and says what drivers_probe answered. */
	assert_int_equal(bind_vf0(f, "vfio-pci", &error), -EIO);
	assert_error_names(error, "drivers_probe said: outside the tree");
	canary_assert_untouched(f);
}

/* A device folder that is itself a link out of the tree. */
static void test_device_folder_is_a_link_out(void **state)
{
	struct fixture *f = *state;
	/* The VF's real folder moves to the canary; the tree keeps a link. */
	_cleanup_free_ char *from = fmt("%s/bus/pci/devices/" IGB_VF0, f->sys);
	_cleanup_free_ char *to = fmt("%s/sub/vf", f->canary);
	_cleanup_free_ char *sub = fmt("%s/sub", f->canary);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(symlink(to, from), 0);
	_cleanup_free_ char *cmd = fmt("find '%s' -exec touch -h -d @%d {} +", to, CANARY_MTIME);
	assert_int_equal(system(cmd), 0);
	old_mtime(sub);
	_cleanup_free_ char *override = fmt("%s/driver_override", to);
	struct stat before;
	assert_int_equal(stat(override, &before), 0);

	_cleanup_free_ char *error = NULL;
	int r = bind_vf0(f, "vfio-pci", &error);
	assert_int_equal(r, -EXDEV);
	assert_error_names(error, IGB_VF0 "): cannot read its driver link: outside the tree");
	struct stat after;
	assert_int_equal(stat(override, &after), 0);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(count_entries(sub), 2); /* file, vf: nothing new */

	/* The same for a PF folder and its count. */
	_cleanup_free_ char *pfrom = fmt("%s/bus/pci/devices/0000:00:03.0", f->sys);
	_cleanup_free_ char *pto = fmt("%s/sub/pf", f->canary);
	assert_int_equal(rename(pfrom, pto), 0);
	_cleanup_free_ char *climb = climbing_link("bus/pci/devices/0000:00:03.0");
	_cleanup_free_ char *plink = fmt("%s/sub/pf", climb);
	char *cut = strstr(plink, "/canary/victim");
	memmove(cut + 7, cut + 14, strlen(cut + 14) + 1); /* ../../../canary/sub/pf */
	assert_int_equal(symlink(plink, pfrom), 0);
	_cleanup_free_ char *numvfs = fmt("%s/sriov_numvfs", pto);
	old_mtime(numvfs);
	struct pci_tree *t = scan(f);
	struct pci_function *pf = find(t, "0000:00:03.0");
	struct numvfs_request req = {.count = 2};
	struct numvfs_result res;
	free(error);
	error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, pf, &req, &res, &error), -EXDEV);
	assert_error_names(error, "0000:00:03.0/sriov_totalvfs: cannot read: outside the tree");
	numvfs_result_done(&res);
	pci_tree_free(t);
	assert_int_equal(stat(numvfs, &after), 0);
	assert_int_equal(after.st_mtim.tv_sec, CANARY_MTIME);
	assert_untouched_file(f->victim);
}

/* --- the state folder ----------------------------------------------------------------- */

static void test_state_base_rule(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *live = NULL, *live2 = NULL, *tree = NULL;
	assert_int_equal(lifecycle_state_base(NULL, &live), 0);
	assert_string_equal(live, "/run/sriovd");
	if (access("/sys", F_OK) == 0) {
		assert_int_equal(lifecycle_state_base("/sys/", &live2), 0);
		assert_string_equal(live2, "/run/sriovd");
	}
	assert_int_equal(lifecycle_state_base(f->sys, &tree), 0);
	_cleanup_free_ char *want = fmt("%s/.sriovd", f->sys);
	assert_string_equal(tree, want);
}

/* A bind on a tree keeps its record in the tree, not the host's /run. */
static void test_record_in_tree_state(void **state)
{
	struct fixture *f = *state;
	struct bind_record rec = {.driver = "igbvf", .vendor_id = 0x8086, .device_id = 0x10ca};
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF0, &rec), 0);
	_cleanup_free_ char *path = fmt("%s/.sriovd/bind/" IGB_VF0, f->sys);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	struct bind_record back;
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &back), 0);
	assert_string_equal(back.driver, "igbvf");
	_cleanup_free_ char *sdir = lifecycle_state_dir(&f->env), *made = NULL;
	_cleanup_free_ char *want = fmt("%s/.sriovd/bind", f->sys);
	assert_string_equal(sdir, want);
	assert_int_equal(lifecycle_state_dir_make(&f->env, &made), 0);
	assert_string_equal(made, want);
	assert_int_equal(lifecycle_record_forget(&f->env, IGB_VF0), 0);
	assert_int_equal(stat(path, &st), -1);
	/* Forgetting in a tree without a state folder creates nothing. */
	_cleanup_free_ char *dir = fmt("%s/.sriovd", f->sys);
	fakesysfs_rmtree(dir);
	assert_int_equal(lifecycle_record_forget(&f->env, IGB_VF0), 0);
	assert_int_equal(stat(dir, &st), -1);
}

static void test_state_folder_traps(void **state)
{
	struct fixture *f = *state;
	/* The tree's state folder is a link out of it. */
	plant(f, ".sriovd", f->canary);
	struct bind_record rec = {.driver = "igbvf", .vendor_id = 0x8086, .device_id = 0x10ca};
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF0, &rec), -EXDEV);
	assert_int_equal(lifecycle_record_forget(&f->env, IGB_VF0), -EXDEV);
	_cleanup_free_ char *error = NULL;
	assert_int_equal(bind_vf0(f, "vfio-pci", &error), -EXDEV);
	assert_error_names(error, ".sriovd/bind");
	/* The lock files' folder is the same one, made the same way. */
	_cleanup_free_ char *dir = NULL;
	assert_int_equal(lifecycle_state_dir_make(&f->env, &dir), -EXDEV);
	canary_assert_untouched(f);

	/* Its bind/ folder is. */
	assert_int_equal(fakesysfs_remove(f->sys, ".sriovd"), 0);
	plant(f, ".sriovd/bind", "../../canary/sub");
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF0, &rec), -EXDEV);
	/* A record named like sub's file is never removed through the link. */
	assert_int_equal(lifecycle_record_forget(&f->env, "0000:00:00.0"), -EXDEV);
	canary_assert_untouched(f);

	/* A record that is a link: never read through, replaced not followed. */
	assert_int_equal(fakesysfs_remove(f->sys, ".sriovd"), 0);
	plant(f, ".sriovd/bind/" IGB_VF0, f->victim);
	struct bind_record back;
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &back), -EBADMSG);
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF0, &rec), 0);
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &back), 0);
	canary_assert_untouched(f);
	assert_int_equal(lifecycle_record_forget(&f->env, IGB_VF0), 0);
	canary_assert_untouched(f);
}

/* --- long roots ---------------------------------------------------------------------- */

static void test_long_root(void **state)
{
	struct fixture *f = *state;
	/* A 463-character root, as the report that wrote ".../sriov_drivers_auto". */
	_cleanup_free_ char *root = strdup(f->dir);
	while (strlen(root) < 463 - 41) {
		char *s = fmt("%s/%s", root, "dddddddddddddddddddddddddddddddddddddddd");
		free(root);
		root = s;
	}
	char *s = fmt("%s/%.*s", root, (int)(462 - strlen(root)), "ssssssssssssssssssssssssssssssssssssssssss");
	free(root);
	root = s;
	assert_int_equal(strlen(root), 463);
	assert_int_equal(fakesysfs_build_testbed(root, true), 0);
	struct lifecycle_env env = {.sysfs_root = root};
	struct pci_tree *t = NULL;
	assert_int_equal(pci_tree_scan(root, &t), 0);
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_autoprobe(&env, IGB_PF, false, &error), 0);
	pci_tree_free(t);
	_cleanup_free_ char *dev = fmt("%s/bus/pci/devices/" IGB_PF, root);
	_cleanup_free_ char *value = NULL;
	assert_int_equal(read_text_beneath(root, "bus/pci/devices/" IGB_PF "/sriov_drivers_autoprobe", 16, &value), 0);
	assert_string_equal(value, "0");
	_cleanup_free_ char *cut = fmt("%s/sriov_drivers_auto", dev);
	assert_int_equal(access(cut, F_OK), -1);

	/* A root that cannot fit in a path is an error, never cut. */
	char huge[PATH_MAX + 64];
	memset(huge, 'x', sizeof(huge) - 1);
	huge[0] = '/';
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(fs_open_root(huge), -ENAMETOOLONG);
	struct lifecycle_env henv = {.sysfs_root = huge};
	free(error);
	error = NULL;
	assert_int_equal(lifecycle_set_autoprobe(&henv, IGB_PF, true, &error), -ENAMETOOLONG);
	assert_error_names(error, "sriov_drivers_autoprobe: write 1: File name too long");
	assert_int_equal(write_file_atomic(huge, "x", 1, 0644), -ENAMETOOLONG);
	assert_int_equal(mkdir_p(huge, 0755), -ENAMETOOLONG);
}

/* The longest link text the kernel stores is read whole (a longer one
 * would be -ENAMETOOLONG, never cut). */
static void test_read_link_never_cut(void **state)
{
	struct fixture *f = *state;
	char target[PATH_MAX];
	memset(target, 'a', sizeof(target) - 1);
	target[sizeof(target) - 1] = '\0';
	_cleanup_free_ char *link = fmt("%s/longlink", f->dir);
	assert_int_equal(symlink(target, link), 0);
	_cleanup_free_ char *s = NULL;
	assert_int_equal(read_link_at(AT_FDCWD, link, &s), 0);
	assert_int_equal(strlen(s), PATH_MAX - 1);
}

/* --- the atomic write ------------------------------------------------------------------------ */

static void test_atomic_write(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = fmt("%s/state", f->dir);
	_cleanup_free_ char *path = fmt("%s/state/status.json", f->dir);
	_cleanup_free_ char *tmp = fmt("%s/state/status.json.tmp", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	/* The old fixed temporary name, planted as a link to the canary. */
	assert_int_equal(symlink(f->victim, tmp), 0);
	assert_int_equal(write_file_atomic(path, "{}\n", 3, 0640), 0);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_text_file(path, 64, &text), 0);
	assert_string_equal(text, "{}");
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_entries(dir), 2); /* the file and the planted link, no leftover */
	canary_assert_untouched(f);

	/* The target itself a link: replaced, not written through. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(f->victim, path), 0);
	assert_int_equal(write_file_atomic(path, "new\n", 4, 0644), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	canary_assert_untouched(f);

	/* Parents are created; a name that is not one component is refused. */
	_cleanup_free_ char *deep = fmt("%s/a/b/c/file", f->dir);
	assert_int_equal(write_file_atomic(deep, "x", 1, 0644), 0);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(write_file_atomic_at(dfd, "../x", "x", 1, 0644), -EINVAL);
	assert_int_equal(write_file_atomic_at(dfd, "..", "x", 1, 0644), -EINVAL);
	assert_int_equal(write_file_atomic_at(dfd, "", "x", 1, 0644), -EINVAL);
}

/* The daemon's status file goes through the same helper. */
static void test_status_file_planted_link(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = fmt("%s/run/status.json", f->dir);
	_cleanup_free_ char *tmp = fmt("%s/run/status.json.tmp", f->dir);
	_cleanup_free_ char *run = fmt("%s/run", f->dir);
	assert_int_equal(mkdir(run, 0755), 0);
	assert_int_equal(symlink(f->victim, tmp), 0);
	struct daemon_status s;
	status_init(&s, "/etc/sriovd/sriovd.conf");
	assert_int_equal(status_write(&s, path), 0);
	status_done(&s);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_text_file(path, 4096, &text), 0);
	assert_non_null(strstr(text, "\"config\": \"/etc/sriovd/sriovd.conf\""));
	canary_assert_untouched(f);
}

/* --- FIFOs and other files that are not files --------------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("blocked on a FIFO");
}

static void test_fifo_never_blocks(void **state)
{
	struct fixture *f = *state;
	signal(SIGALRM, on_alarm);
	alarm(10);
	_cleanup_free_ char *fifo = fmt("%s/bus/pci/devices/" IGB_PF "/sriov_numvfs", f->sys);
	_cleanup_free_ char *cls = fmt("%s/bus/pci/devices/0000:00:02.0/class", f->sys);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(unlink(cls), 0);
	assert_int_equal(mkfifo(cls, 0644), 0);

	_cleanup_free_ char *s = NULL;
	assert_int_equal(read_text_file(fifo, 64, &s), -EBADFD);
	assert_int_equal(read_text_beneath(f->sys, "bus/pci/devices/" IGB_PF "/sriov_numvfs", 64, &s), -EBADFD);
	_cleanup_free_ char *devdir = fmt("%s/bus/pci/devices/" IGB_PF, f->sys);
	_cleanup_close_ int dfd = open(devdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(read_text_at(dfd, "sriov_numvfs", 64, &s), -EBADFD);
	assert_int_equal(read_text_at(dfd, "net", 64, &s), -EBADFD); /* a folder */
	/* No reader: the open fails at once instead of waiting for one. */
	assert_int_equal(write_text_beneath(f->sys, "bus/pci/devices/" IGB_PF "/sriov_numvfs", "0"), -ENXIO);

	/* The scan finishes, with a warning naming the file. */
	struct pci_tree *t = scan(f);
	bool warned = false;
	for (size_t i = 0; t->warnings && t->warnings[i]; i++)
		if (strstr(t->warnings[i], IGB_PF ": sriov_numvfs unreadable: not a regular file"))
			warned = true;
	assert_true(warned);
	pci_tree_free(t);
	alarm(0);
}

/* --- the kernel log source ------------------------------------------------------------------------------ */

static void kmsg_refused(const char *path, int expect, const char *what)
{
	_cleanup_free_ char *error = NULL;
	bool is_kmsg;
	int fd = check_kmsg_open(path, &is_kmsg, &error);
	if (fd >= 0)
		close(fd);
	assert_int_equal(fd, expect);
	assert_error_names(error, what);
	assert_error_names(error, path);
}

static void test_kmsg_source(void **state)
{
	struct fixture *f = *state;
	signal(SIGALRM, on_alarm);
	alarm(10);
	_cleanup_free_ char *fifo = fmt("%s/kmsg-fifo", f->dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	kmsg_refused(f->dir, -EISDIR, "is a folder, not a kernel log");
	kmsg_refused(fifo, -EBADFD, "is a FIFO, not a kernel log");
	if (access("/dev/zero", R_OK) == 0)
		kmsg_refused("/dev/zero", -EBADFD, "is a character device other than /dev/kmsg");
	kmsg_refused("/nonexistent/kmsg", -ENOENT, "No such file");

	_cleanup_free_ char *saved = fmt("%s/dmesg", f->dir);
	put_file(saved, "[    0.000000] Linux version 6.1.0\n");
	_cleanup_free_ char *error = NULL;
	bool is_kmsg = true;
	int fd = check_kmsg_open(saved, &is_kmsg, &error);
	assert_true(fd >= 0);
	assert_false(is_kmsg);
	close(fd);
	fd = check_kmsg_open("/dev/kmsg", &is_kmsg, &error);
	if (fd >= 0) {
		assert_true(is_kmsg);
		close(fd);
	}
	alarm(0);
}

/* Reading a log is bounded: a long one is cut with a warning. */
static void test_kmsg_bounded(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *saved = fmt("%s/dmesg", f->dir);
	FILE *out = fopen(saved, "we");
	assert_non_null(out);
	for (int i = 0; i < 1000; i++)
		fprintf(out, "[    %d.000000] igb 0000:01:00.0: a line of the log\n", i);
	fclose(out);
	struct pci_tree *t = scan(f);
	struct check_env env = {.kmsg_path = saved, .modules_dir = "", .kmsg_max_bytes = 4096};
	struct check_report rep;
	assert_int_equal(check_run(&env, t, &rep), 0);
	bool cut = false;
	for (size_t i = 0; i < rep.n; i++)
		if (strcmp(rep.findings[i].check, "kernel-log") == 0) {
			assert_int_equal(rep.findings[i].status, CHECK_WARN);
			assert_string_equal(rep.findings[i].summary,
					    "kernel log longer than 4096 bytes: only its start was checked");
			cut = true;
		}
	assert_true(cut);
	check_report_done(&rep);

	env.kmsg_max_bytes = 0; /* the default bound reads it all */
	assert_int_equal(check_run(&env, t, &rep), 0);
	for (size_t i = 0; i < rep.n; i++)
		if (strcmp(rep.findings[i].check, "kernel-log") == 0) {
			assert_int_equal(rep.findings[i].status, CHECK_OK);
			assert_non_null(strstr(rep.findings[i].evidence, "1000 lines of"));
		}
	check_report_done(&rep);
	pci_tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_beneath_openat2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_beneath_walk, setup, teardown),
		cmocka_unit_test(test_open_beneath_real_sys),
		cmocka_unit_test_setup_teardown(test_numvfs_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autoprobe_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_override_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbind_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drivers_probe_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_folder_is_a_link_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_base_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_in_tree_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_folder_traps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_link_never_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_file_planted_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_never_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kmsg_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kmsg_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
