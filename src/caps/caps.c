/* caps: the driver capability table (caps.h). */
#include "caps.h"

#include <fcntl.h>
#include <stdio.h>

#include "util/fs.h"
#include "util/util.h"

void caps_done(struct caps *c)
{
	if (!c)
		return;
	free(c->v);
	*c = (struct caps){0};
}

static bool setting_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CAPS_SETTING_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '-'))
			return false;
	return true;
}

static int cmp_entry(const char *driver, const char *setting, const struct caps_entry *e)
{
	int c = strcmp(driver, e->driver);
	return c ? c : strcmp(setting, e->setting);
}

const struct caps_entry *caps_find(const struct caps *c, const char *driver, const char *setting)
{
	for (size_t i = 0; c && driver && setting && i < c->n; i++)
		if (cmp_entry(driver, setting, &c->v[i]) == 0)
			return &c->v[i];
	return NULL;
}

int caps_add(struct caps *c, const char *driver, const char *setting, int error)
{
	if (!driver_name_valid(driver) || !setting_valid(setting) || error >= 0 || !strerrorname_np(-error))
		return -EINVAL;
	size_t at = 0;
	while (at < c->n && cmp_entry(driver, setting, &c->v[at]) > 0)
		at++;
	if (at < c->n && cmp_entry(driver, setting, &c->v[at]) == 0)
		return 0;
	if (c->n >= CAPS_MAX_ENTRIES)
		return -ENOSPC;
	struct caps_entry *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memmove(v + at + 1, v + at, (c->n - at) * sizeof(*v));
	v[at] = (struct caps_entry){.error = error};
	snprintf(v[at].driver, sizeof(v[at].driver), "%s", driver);
	snprintf(v[at].setting, sizeof(v[at].setting), "%s", setting);
	c->v = v;
	c->n++;
	return 1;
}

/* -EOPNOTSUPP from "EOPNOTSUPP" (the names the file holds). */
static int errno_from_name(const char *name)
{
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);
		if (n && strcmp(n, name) == 0)
			return -e;
	}
	return 0;
}

int caps_parse(const char *text, struct caps *ret, unsigned *ret_line)
{
	struct caps c = {0};
	unsigned line = 0;
	int r = 0;
	for (const char *p = text; *p && r >= 0;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		line++;
		char buf[160], driver[DRIVER_NAME_MAX + 2], setting[CAPS_SETTING_MAX + 2], err[32], extra[2];
		if (len >= sizeof(buf)) {
			r = -EBADMSG;
			break;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		p += len + (nl ? 1 : 0);
		if (buf[0] == '#' || buf[0] == '\0')
			continue;
		int e;
		if (sscanf(buf, "%64s %16s %31s %1s", driver, setting, err, extra) != 3 || !(e = errno_from_name(err)) ||
		    (r = caps_add(&c, driver, setting, e)) <= 0)
			r = r == -ENOMEM ? r : -EBADMSG;
	}
	if (r < 0) {
		caps_done(&c);
		if (ret_line)
			*ret_line = line;
		return r;
	}
	*ret = c;
	return 0;
}

int caps_format(const struct caps *c, char **ret)
{
	_cleanup_free_ char *s = strdup("# sriovd driver capability table: DRIVER SETTING ERROR, each the kernel's\n"
					"# first answer to that driver for that setting; delete a line to try again\n");
	for (size_t i = 0; s && i < c->n; i++) {
		char *n = NULL;
		const char *e = strerrorname_np(-c->v[i].error);
		if (asprintf(&n, "%s%s %s %s\n", s, c->v[i].driver, c->v[i].setting, e ? e : "EOPNOTSUPP") < 0)
			return -ENOMEM;
		free(s);
		s = n;
	}
	if (!s)
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

int caps_path(const struct lifecycle_env *env, char **ret)
{
	_cleanup_free_ char *dir = lifecycle_state_dir(env);
	char *p = dir ? path_join(dir, CAPS_FILE) : NULL;
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

static int load_at(int dirfd, struct caps *ret)
{
	_cleanup_close_ int fd = openat(dirfd, CAPS_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? (*ret = (struct caps){0}, 0) : errno == ELOOP ? -EBADMSG : -errno;
	_cleanup_free_ char *text = NULL;
	int r = read_text_fd(fd, CAPS_MAX_BYTES, &text);
	if (r == -EFBIG || r == -EBADFD)
		return -EBADMSG;
	if (r < 0)
		return r;
	return caps_parse(text, ret, NULL);
}

int caps_load(const struct lifecycle_env *env, struct caps *ret)
{
	_cleanup_close_ int dirfd = lifecycle_state_dir_open(env, false);
	if (dirfd == -ENOENT) {
		*ret = (struct caps){0};
		return 0;
	}
	if (dirfd < 0)
		return dirfd;
	return load_at(dirfd, ret);
}

int caps_learn(const struct lifecycle_env *env, const char *driver, const char *setting, int error)
{
	if (error != -EOPNOTSUPP)
		return 0;
	_cleanup_close_ int dirfd = lifecycle_state_dir_open(env, true);
	if (dirfd < 0)
		return dirfd;
	struct caps c = {0};
	int r = load_at(dirfd, &c);
	if (r == -EBADMSG)
		c = (struct caps){0}; /* not a table: replaced by one */
	else if (r < 0)
		return r;
	r = caps_add(&c, driver, setting, error);
	_cleanup_free_ char *text = NULL;
	if (r == 1 && (r = caps_format(&c, &text)) == 0)
		r = (r = write_file_atomic_at(dirfd, CAPS_FILE, text, strlen(text), 0644)) < 0 ? r : 1;
	caps_done(&c);
	return r;
}
