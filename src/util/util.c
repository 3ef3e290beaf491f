#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

int read_text_fd(int fd, size_t max, char **ret)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* A FIFO or a device would block or never end: attribute files, procfs
	 * files and records are all regular files. */
	if (!S_ISREG(st.st_mode))
		return -EBADFD;

	_cleanup_free_ char *buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;

	size_t len = 0;
	for (;;) {
		if (len == max + 1)
			return -EFBIG;
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		return -EFBIG;
	if (memchr(buf, '\0', len))
		return -EBADMSG; /* attribute files are text: a NUL means garbage */
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

int read_text_at(int dirfd, const char *relpath, size_t max, char **ret)
{
	/* Attribute files are never links; O_NONBLOCK: a FIFO does not block
	 * the open (and is then refused). */
	_cleanup_close_ int fd =
		openat(dirfd, relpath, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return read_text_fd(fd, max, ret);
}

int read_text_file(const char *path, size_t max, char **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	return read_text_fd(fd, max, ret);
}

/* One number and whitespace around it, nothing else: strtoll, or with
 * ret_u strtoull. A '-' is refused where unsigned_only (strtoull accepts
 * "-1" and wraps). */
static int parse_number(const char *s, int base, bool unsigned_only, long long *ret_s, unsigned long long *ret_u)
{
	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return -EINVAL;
	if (unsigned_only && *s == '-')
		return -ERANGE;
	char *end;
	errno = 0;
	long long v = 0;
	unsigned long long u = 0;
	if (ret_u)
		u = strtoull(s, &end, base);
	else
		v = strtoll(s, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (ret_u)
		*ret_u = u;
	else
		*ret_s = v;
	return 0;
}

static int parse_ll(const char *s, int base, long long min, long long max, long long *ret)
{
	long long v;
	int r = parse_number(s, base, min >= 0, &v, NULL);
	if (r < 0)
		return r;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

uint64_t mono_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mono_now_ns_hook(void *unused)
{
	(void)unused;
	return mono_now_ns();
}

uint64_t mono_now_ms(void)
{
	return mono_now_ns() / 1000000u;
}

int parse_u32(const char *s, int base, uint32_t *ret)
{
	long long v;
	int r = parse_ll(s, base, 0, UINT32_MAX, &v);
	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

int parse_i32(const char *s, int base, int32_t *ret)
{
	long long v;
	int r = parse_ll(s, base, INT32_MIN, INT32_MAX, &v);
	if (r < 0)
		return r;
	*ret = (int32_t)v;
	return 0;
}

int parse_u64(const char *s, int base, uint64_t *ret)
{
	unsigned long long v;
	int r = parse_number(s, base, true, NULL, &v);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

/* Attribute files holding one number are tiny; 64 bytes is generous. */
#define NUMBER_FILE_MAX 64

int read_u32_at(int dirfd, const char *relpath, int base, uint32_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_text_at(dirfd, relpath, NUMBER_FILE_MAX, &s);
	if (r < 0)
		return r;
	return parse_u32(s, base, ret);
}

int read_i32_at(int dirfd, const char *relpath, int base, int32_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_text_at(dirfd, relpath, NUMBER_FILE_MAX, &s);
	if (r < 0)
		return r;
	return parse_i32(s, base, ret);
}

int read_u64_at(int dirfd, const char *relpath, int base, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_text_at(dirfd, relpath, NUMBER_FILE_MAX, &s);
	if (r < 0)
		return r;
	return parse_u64(s, base, ret);
}

int read_link_at(int dirfd, const char *relpath, char **ret)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dirfd, relpath, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(buf))
		return -ENAMETOOLONG; /* cut: never act on part of a link */
	buf[n] = '\0';
	char *s = strdup(buf);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int read_link_basename_at(int dirfd, const char *relpath, char **ret)
{
	_cleanup_free_ char *target = NULL;
	int r = read_link_at(dirfd, relpath, &target);
	if (r < 0)
		return r;
	size_t len = strlen(target);
	while (len > 1 && target[len - 1] == '/')
		target[--len] = '\0';
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	char *s = strdup(base);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

char *path_join(const char *a, const char *b)
{
	char *s;
	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

int error_set(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(*ret_error);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return r;
}

bool str_empty(const char *s)
{
	return !s || *s == '\0';
}

bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int ptr_array_push(struct ptr_array *a, void *item)
{
	if (a->len == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		void **items = realloc(a->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		a->items = items;
		a->cap = cap;
	}
	a->items[a->len++] = item;
	return 0;
}

void ptr_array_free(struct ptr_array *a, void (*free_item)(void *))
{
	if (!a)
		return;
	if (free_item)
		for (size_t i = 0; i < a->len; i++)
			free_item(a->items[i]);
	free(a->items);
	*a = (struct ptr_array){0};
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int strv_push(char ***v, char *s)
{
	size_t n = strv_length(*v);
	char **nv = realloc(*v, (n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

int strv_pushf(char ***v, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return strv_push(v, s);
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **v)
{
	if (strv_length(v) > 1)
		qsort(v, strv_length(v), sizeof(*v), cmp_str);
}

int mkdir_p(const char *path, mode_t mode)
{
	if (str_empty(path))
		return -EINVAL;
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG; /* never a cut path */
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

char *strv_join(char *const *v, const char *sep)
{
	size_t len = 1;
	for (size_t i = 0; v && v[i]; i++)
		len += strlen(v[i]) + strlen(sep);
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			strcat(s, sep);
		strcat(s, v[i]);
	}
	return s;
}
