/* caps: the driver capability table (caps.h). */
#include "caps.h"

#include <fcntl.h>
#include <stdio.h>

#include "util/fs.h"
#include "vf/vf.h"
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

size_t caps_for_driver(const struct caps *c, const char *driver, const struct caps_entry **ret_first)
{
	size_t i = 0, n = 0;
	while (c && driver && i < c->n && strcmp(c->v[i].driver, driver) != 0)
		i++;
	while (c && driver && i + n < c->n && strcmp(c->v[i + n].driver, driver) == 0)
		n++;
	*ret_first = n ? &c->v[i] : NULL;
	return n;
}

bool caps_setting_is_vf(const char *setting)
{
	for (int f = 0; f < _VF_FIELD_MAX; f++)
		if (vf_field_name((enum vf_field)f) && strcmp(vf_field_name((enum vf_field)f), setting) == 0)
			return true;
	return false;
}

static int annotate_one(const struct caps *c, struct pci_function *d)
{
	const struct caps_entry *e;
	size_t n = caps_for_driver(c, d->driver, &e);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < n; k++) {
			if (pass == 1 && !caps_setting_is_vf(e[k].setting))
				continue; /* the PF's own mtu/up are not its VFs' */
			struct unsupported_setting *v = realloc(d->unsupported, (d->n_unsupported + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			d->unsupported = v;
			v = &v[d->n_unsupported++];
			*v = (struct unsupported_setting){.error = e[k].error};
			snprintf(v->setting, sizeof(v->setting), "%s", e[k].setting);
			snprintf(v->driver, sizeof(v->driver), "%s", e[k].driver);
		}
		if (pass == 1 || !d->pf || !d->pf->driver || (d->driver && strcmp(d->driver, d->pf->driver) == 0))
			break;
		n = caps_for_driver(c, d->pf->driver, &e);
	}
	return 0;
}

int caps_annotate(const struct caps *c, struct pci_tree *t)
{
	for (size_t i = 0; i < t->n_devs; i++) {
		struct pci_function *d = t->devs[i];
		free(d->unsupported);
		d->unsupported = NULL;
		d->n_unsupported = 0;
		int r = annotate_one(c, d);
		if (r < 0)
			return r;
	}
	return 0;
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
