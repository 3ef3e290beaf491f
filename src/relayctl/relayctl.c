/* The relay requests and the rules of their fields (relayctl.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "relayctl.h"
#include "sysfs/sysfs.h"
#include "util/input.h"
#include "util/util.h"

json_t *relayctl_body(const struct relayctl_spec *s)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int r = 0;
	if (s->name)
		r |= json_object_set_new(o, "name", json_string(s->name));
	if (s->vf)
		r |= json_object_set_new(o, "vf", json_string(s->vf));
	if (s->socket)
		r |= json_object_set_new(o, "socket", json_string(s->socket));
	if (s->mode)
		r |= json_object_set_new(o, "mode", json_string(s->mode));
	if (s->queues)
		r |= json_object_set_new(o, "queues", json_integer(s->queues));
	if (s->n_lcores) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < s->n_lcores; i++)
			r |= json_array_append_new(a, json_integer(s->lcores[i]));
		r |= json_object_set_new(o, "lcores", a);
	}
	if (s->mtu)
		r |= json_object_set_new(o, "mtu", json_integer(s->mtu));
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *relayctl_path(const char *name, const char *suffix)
{
	/* Names are [A-Za-z0-9_.-] once checked; anything else is encoded so
	 * that an unchecked one cannot reach another route. */
	size_t n = strlen(name);
	char *enc = malloc(3 * n + 1), *p = enc;
	if (!enc)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			*p++ = (char)c;
		else
			p += sprintf(p, "%%%02X", c);
	}
	*p = 0;
	char *out;
	int r = suffix ? asprintf(&out, "/v1/relays/%s/%s", enc, suffix) : asprintf(&out, "/v1/relays/%s", enc);
	free(enc);
	return r < 0 ? NULL : out;
}

int relayctl_mode(const char *s)
{
	if (s && strcmp(s, "server") == 0)
		return 0;
	if (s && strcmp(s, "client") == 0)
		return 1;
	return -EINVAL;
}

int relayctl_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > RELAYCTL_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return -EINVAL;
	}
	return 0;
}

static int bounded(const char *s, uint32_t lo, uint32_t hi, const char *what, uint32_t *ret, char **ret_error)
{
	uint32_t v;
	if (str_empty(s) || !isdigit((unsigned char)s[0]) || parse_u32(s, 10, &v) < 0 || v < lo || v > hi)
		return error_set(ret_error, -EINVAL, "'%s' is not %s (%u-%u)", QUOTE(s), what, lo, hi);
	*ret = v;
	return 0;
}

int relayctl_queues(const char *s, uint32_t *ret, char **ret_error)
{
	return bounded(s, 1, RELAYCTL_MAX_QUEUES, "a number of queue pairs", ret, ret_error);
}

int relayctl_mtu(const char *s, uint32_t *ret, char **ret_error)
{
	return bounded(s, RELAYCTL_MTU_MIN, RELAYCTL_MTU_MAX, "an MTU", ret, ret_error);
}

static int lcore_push(uint32_t v, uint32_t out[RELAYCTL_MAX_LCORES], size_t *n, char **ret_error)
{
	for (size_t i = 0; i < *n; i++)
		if (out[i] == v)
			return error_set(ret_error, -EINVAL, "lcore %u is given twice", v);
	if (*n >= RELAYCTL_MAX_LCORES)
		return error_set(ret_error, -EINVAL, "at most %u lcores", RELAYCTL_MAX_LCORES);
	out[(*n)++] = v;
	return 0;
}

int relayctl_lcores(const char *s, uint32_t ret[RELAYCTL_MAX_LCORES], size_t *ret_n, char **ret_error)
{
	uint32_t out[RELAYCTL_MAX_LCORES];
	size_t n = 0;
	if (str_empty(s))
		return error_set(ret_error, -EINVAL, "give lcore ids: N[,N...] or N-M");
	_cleanup_free_ char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint32_t a, b;
		_cleanup_free_ char *err = NULL;
		if (dash)
			*dash = 0;
		if (bounded(tok, 0, RELAYCTL_MAX_LCORE_ID, "an lcore id", &a, &err) < 0 ||
		    (dash && bounded(dash + 1, 0, RELAYCTL_MAX_LCORE_ID, "an lcore id", &b, &err) < 0))
			return error_set(ret_error, -EINVAL, "%s", err);
		if (!dash)
			b = a;
		if (b < a)
			return error_set(ret_error, -EINVAL, "'%s-%s' is a range that goes down", tok, dash + 1);
		for (uint32_t v = a; v <= b; v++) {
			int r = lcore_push(v, out, &n, ret_error);
			if (r < 0)
				return r;
		}
	}
	if (n == 0 || s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,"))
		return error_set(ret_error, -EINVAL, "'%s' is not N[,N...] or N-M", QUOTE(s));
	memcpy(ret, out, n * sizeof(*out));
	*ret_n = n;
	return 0;
}

int relayctl_socket_path_ok(const char *s, char **ret_error)
{
	if (str_empty(s) || s[0] != '/')
		return error_set(ret_error, -EINVAL, "'%s' is not an absolute path", QUOTE(s));
	if (strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return error_set(ret_error, -ENAMETOOLONG, "'%s' is longer than a Unix socket path may be (%zu)",
				 QUOTE(s), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return 0;
}

bool relayctl_vf_passes(const char *s)
{
	struct pci_addr a;
	if (!s)
		return false;
	return strncmp(s, "net_", 4) == 0 || pci_addr_parse(s, &a) == 0;
}
