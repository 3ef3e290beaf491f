/* The relay model: a relay_spec from JSON, and the counters' rates. No
 * DPDK here. */
#include <ctype.h>

#include "relay.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

void relay_spec_done(struct relay_spec *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->vf);
	free(s->socket);
	*s = (struct relay_spec){0};
}

const char *relay_mode_name(enum relay_mode m)
{
	return m == RELAY_MODE_CLIENT ? "client" : "server";
}

char *relay_vf_name(const char *vf)
{
	const char *comma = strchr(vf, ',');
	return strndup(vf, comma ? (size_t)(comma - vf) : strlen(vf));
}

static bool hexes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool relay_vf_is_pci(const char *vf)
{
	/* BB:DD.F with an optional DDDD: in front, then nothing or ",args". */
	size_t n = strcspn(vf, ",");
	if (n == 12 && hexes(vf, 4) && vf[4] == ':')
		vf += 5, n -= 5;
	return n == 7 && hexes(vf, 2) && vf[2] == ':' && hexes(vf + 3, 2) && vf[5] == '.' && vf[6] >= '0' &&
	       vf[6] <= '7';
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > RELAY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* An integer value in [min, max]. */
static int int_in(const json_t *v, json_int_t min, json_int_t max, unsigned *ret)
{
	if (!json_is_integer(v))
		return -EINVAL;
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return -ERANGE;
	*ret = (unsigned)n;
	return 0;
}

#define BAD(key, ...) \
	({ \
		*ret_field = (key); \
		error_set(ret_error, -EINVAL, __VA_ARGS__); \
	})

static int parse_lcores(const json_t *v, struct relay_spec *s, const char **ret_field, char **ret_error)
{
	unsigned id;
	if (json_is_integer(v)) {
		if (int_in(v, 0, RELAY_MAX_LCORE_ID, &id) < 0)
			return BAD("lcores", "lcores: %" JSON_INTEGER_FORMAT " is not an lcore id (0..%u)",
				   json_integer_value(v), RELAY_MAX_LCORE_ID);
		s->lcores[s->n_lcores++] = id;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return BAD("lcores", "lcores: expected an lcore id or a non-empty array of lcore ids");
	if (json_array_size(v) > RELAY_MAX_LCORES)
		return BAD("lcores", "lcores: at most %u lcores per relay, not %zu", RELAY_MAX_LCORES, json_array_size(v));
	size_t i;
	const json_t *e;
	json_array_foreach(v, i, e) {
		if (int_in(e, 0, RELAY_MAX_LCORE_ID, &id) < 0)
			return BAD("lcores", "lcores[%zu]: expected an lcore id (an integer 0..%u)", i, RELAY_MAX_LCORE_ID);
		for (size_t k = 0; k < s->n_lcores; k++)
			if (s->lcores[k] == id)
				return BAD("lcores", "lcores[%zu]: lcore %u is listed twice", i, id);
		s->lcores[s->n_lcores++] = id;
	}
	return 0;
}

static const char *const keys[] = {"name", "vf", "socket", "mode", "queues", "lcores", "mtu"};

int relay_spec_from_json(const json_t *j, const char *default_name, struct relay_spec *ret,
			 const char **ret_field, char **ret_error)
{
	*ret_field = NULL;
	if (!json_is_object(j))
		return error_set(ret_error, -EINVAL, "a relay must be a JSON object");
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)j, key, v) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			known |= strcmp(key, keys[i]) == 0;
		if (!known) {
			*ret_field = NULL;
			return error_set(ret_error, -EINVAL,
					 "%s: unknown key (expected name, vf, socket, mode, queues, lcores, mtu)", QUOTE(key));
		}
	}
	_cleanup_(relay_spec_done) struct relay_spec s = {.mode = RELAY_MODE_SERVER, .queues = 1};

	v = json_object_get(j, "name");
	if (v) {
		if (!json_is_string(v) || !name_valid(json_string_value(v)))
			return BAD("name", "name: expected 1 to %u of A-Z a-z 0-9 _ . -", RELAY_NAME_MAX);
		s.name = strdup(json_string_value(v));
	} else {
		s.name = strdup(default_name ? default_name : "relay0");
	}

	v = json_object_get(j, "vf");
	if (!v)
		return BAD("vf", "vf: missing (a PCI address such as 0000:03:10.0, or a vdev such as "
				 "net_af_packet0,iface=veth0)");
	const char *vf = json_string_value(v);
	if (!vf || !*vf || !printable(vf) || *vf == ',' || strlen(vf) > 1024)
		return BAD("vf", "vf: expected a PCI address or a vdev's devargs (a string)");
	if (!relay_vf_is_pci(vf) && strncmp(vf, "net_", 4) != 0)
		return BAD("vf", "vf: %s is neither a PCI address (0000:03:10.0) nor a vdev (net_...)", QUOTE(vf));
	s.vf = strdup(vf);

	v = json_object_get(j, "socket");
	if (!v)
		return BAD("socket", "socket: missing (the vhost-user socket's path)");
	const char *sock = json_string_value(v);
	if (!sock || sock[0] != '/' || !printable(sock))
		return BAD("socket", "socket: expected an absolute path");
	if (strlen(sock) >= 108)
		return BAD("socket", "socket: %s is longer than 107 bytes (a Unix socket's limit)", QUOTE(sock));
	s.socket = strdup(sock);

	v = json_object_get(j, "mode");
	if (v) {
		const char *m = json_string_value(v);
		if (m && strcmp(m, "server") == 0)
			s.mode = RELAY_MODE_SERVER;
		else if (m && strcmp(m, "client") == 0)
			s.mode = RELAY_MODE_CLIENT;
		else
			return BAD("mode", "mode: expected \"server\" (the relay makes the socket) or \"client\" "
					   "(the VM's QEMU does)");
	}

	v = json_object_get(j, "queues");
	if (v && int_in(v, 1, RELAY_MAX_QUEUES, &s.queues) < 0)
		return BAD("queues", "queues: expected an integer 1..%u", RELAY_MAX_QUEUES);

	v = json_object_get(j, "lcores");
	if (!v)
		return BAD("lcores", "lcores: missing (the lcore ids this relay forwards on, e.g. [1])");
	int r = parse_lcores(v, &s, ret_field, ret_error);
	if (r < 0)
		return r;

	v = json_object_get(j, "mtu");
	if (v && int_in(v, RELAY_MTU_MIN, RELAY_MTU_MAX, &s.mtu) < 0)
		return BAD("mtu", "mtu: expected an integer %u..%u", RELAY_MTU_MIN, RELAY_MTU_MAX);

	if (!s.name || !s.vf || !s.socket)
		return -ENOMEM;
	*ret = s;
	s = (struct relay_spec){0};
	return 0;
}

/* ---- rates ------------------------------------------------------------ */

void relay_rate_sample(struct relay_rate *r, const struct relay_count *c, uint64_t now_ms)
{
	if (r->last_ms && now_ms - r->last_ms < RELAY_RATE_PERIOD_MS)
		return;
	r->prev = r->last;
	r->prev_ms = r->last_ms;
	r->last = *c;
	r->last_ms = now_ms;
}

static double per_s(uint64_t a, uint64_t b, double secs)
{
	return b >= a ? (double)(b - a) / secs : 0.0; /* a counter that went back (a VF re-probed): none */
}

void relay_rate_get(const struct relay_rate *r, double *ret_packets, double *ret_bytes, double *ret_drops)
{
	*ret_packets = *ret_bytes = *ret_drops = 0.0;
	if (!r->prev_ms || r->last_ms <= r->prev_ms)
		return;
	double secs = (double)(r->last_ms - r->prev_ms) / 1000.0;
	*ret_packets = per_s(r->prev.packets, r->last.packets, secs);
	*ret_bytes = per_s(r->prev.bytes, r->last.bytes, secs);
	*ret_drops = per_s(r->prev.drops, r->last.drops, secs);
}

json_t *relay_count_json(const struct relay_count *c, const struct relay_rate *r)
{
	double p, b, d;
	relay_rate_get(r, &p, &b, &d);
	json_t *j = json_object();
	json_object_set_new(j, "packets", json_integer((json_int_t)c->packets));
	json_object_set_new(j, "bytes", json_integer((json_int_t)c->bytes));
	json_object_set_new(j, "drops", json_integer((json_int_t)c->drops));
	json_object_set_new(j, "packets_per_s", json_real(p));
	json_object_set_new(j, "bytes_per_s", json_real(b));
	json_object_set_new(j, "drops_per_s", json_real(d));
	return j;
}
