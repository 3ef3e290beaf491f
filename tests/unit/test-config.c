/* Unit tests for config/: good documents, a table of bad ones with their
 * exact messages, drop-in merging on a temp dir, and every prefix (plus
 * byte-level mutations) of the example document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include "config/config.h"
#include "util/util.h"
#include "test-helpers.h"

/* The example of docs/config.md. */
static const char example[] =
	"# /etc/sriovd/sriovd.conf\n"
	"version: 1\n"
	"pfs:\n"
	"  - match:\n"
	"      netdev: eth0\n"
	"    numvfs: 4\n"
	"    autoprobe: true\n"
	"    mac: stable\n"
	"    vfs:\n"
	"      - index: 0-1\n"
	"        vlan: 100\n"
	"        qos: 3\n"
	"        proto: 802.1Q\n"
	"        spoofchk: on\n"
	"        trust: off\n"
	"        state: auto\n"
	"        min-rate: 0\n"
	"        max-rate: 1000\n"
	"        query-rss: off\n"
	"        driver: vfio-pci\n"
	"      - index: 2\n"
	"        mac: 02:11:22:33:44:55\n"
	"        spoofchk: false\n"
	"        driver: kernel\n"
	"      - index: all\n"
	"        trust: true\n"
	"  - match:\n"
	"      pci: 01:00.0\n"
	"    numvfs: 2\n"
	"    vfs:\n"
	"      - index: 1\n"
	"        state: disable\n"
	"  - match:\n"
	"      device: 8086:10C9\n"
	"    autoprobe: false\n";

/* The runs of a PF entry, as "0-1 2 3": ranges stay ranges in the model. */
static const char *runs(const struct pf_desired *pf)
{
	static char buf[1024];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < pf->n_vfs && n < sizeof(buf) - 32; i++) {
		const struct vf_desired *v = &pf->vfs[i];
		assert_true(v->index <= v->last);
		assert_int_equal(v->settings.index, v->index);
		if (i)
			assert_true(pf->vfs[i - 1].last < v->index);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, v->index == v->last ? "%s%u" : "%s%u-%u", i ? " " : "",
				      v->index, v->last);
	}
	return buf;
}

static struct config *parse_ok(const char *text)
{
	struct config *c = config_new();
	char *err = NULL;
	assert_non_null(c);
	int r = config_parse_string(c, "t.conf", text, strlen(text), &err);
	if (r != 0)
		fail_msg("rejected (%d): %s\n---\n%s", r, err ? err : "(no message)", text);
	assert_null(err);
	return c;
}

static void test_example(void **state)
{
	(void)state;
	struct config *c = parse_ok(example);
	assert_int_equal(c->n_pfs, 3);
	assert_string_equal(c->files[0], "t.conf");
	assert_null(c->files[1]);

	const struct pf_desired *pf = &c->pfs[0];
	char buf[PF_MATCH_STRLEN];
	pf_desired_match_format(pf, buf);
	assert_string_equal(buf, "netdev eth0");
	assert_int_equal(pf->match, PF_MATCH_NETDEV);
	assert_true(pf->has_numvfs);
	assert_int_equal(pf->numvfs, 4);
	assert_int_equal(pf->numvfs_pos.line, 6);
	assert_int_equal(pf->numvfs_pos.column, 13);
	assert_int_equal(pf->autoprobe, 1);
	assert_true(pf->has_mac_scheme);
	assert_int_equal(pf->mac_scheme, MAC_SCHEME_STABLE);
	assert_int_equal(pf->pos.line, 5);
	assert_int_equal(pf->pos.column, 7);
	assert_string_equal(pf->pos.file, "t.conf");
	assert_string_equal(runs(pf), "0-1 2 3");
	for (uint32_t i = 0; i < 4; i++) {
		const struct vf_desired *v = pf_desired_vf(pf, i);
		assert_non_null(v);
		assert_ptr_equal(v, &pf->vfs[i < 2 ? 0 : i - 1]);
		/* index: all, trust: true comes last and wins */
		assert_true(vf_has(&v->settings, VF_FIELD_TRUST));
		assert_true(v->settings.trust);
		assert_int_equal(v->pos.line, 25);
	}
	assert_null(pf_desired_vf(pf, 4));

	const struct vf_settings *s = &pf_desired_vf(pf, 1)->settings;
	uint32_t all = VF_HAS(_VF_FIELD_MAX) - 1 - VF_HAS(VF_FIELD_STATS) - VF_HAS(VF_FIELD_MAC);
	assert_int_equal(s->has, all);
	assert_int_equal(s->vlan, 100);
	assert_int_equal(s->qos, 3);
	assert_int_equal(s->vlan_proto, VF_ETH_P_8021Q);
	assert_true(s->spoofchk);
	assert_int_equal(s->link_state, VF_LINK_STATE_AUTO);
	assert_int_equal(s->min_tx_rate, 0);
	assert_int_equal(s->max_tx_rate, 1000);
	assert_false(s->query_rss);
	assert_string_equal(pf_desired_vf(pf, 0)->driver, CONFIG_DRIVER_VFIO);
	assert_string_equal(pf_desired_vf(pf, 1)->driver, CONFIG_DRIVER_VFIO);

	s = &pf_desired_vf(pf, 2)->settings;
	assert_int_equal(s->has, VF_HAS(VF_FIELD_MAC) | VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_TRUST));
	char mac[VF_MAC_STRLEN];
	vf_mac_format(s->mac, s->mac_len, mac);
	assert_string_equal(mac, "02:11:22:33:44:55");
	assert_int_equal(pf_desired_vf(pf, 2)->mac_pos.line, 22);
	assert_int_equal(pf_desired_vf(pf, 2)->mac_pos.column, 14);
	assert_false(s->spoofchk); /* YAML false -> off */
	assert_string_equal(pf_desired_vf(pf, 2)->driver, CONFIG_DRIVER_KERNEL);
	assert_int_equal(pf_desired_vf(pf, 3)->settings.has, VF_HAS(VF_FIELD_TRUST));
	assert_null(pf_desired_vf(pf, 3)->driver);

	pf = &c->pfs[1];
	assert_int_equal(pf->match, PF_MATCH_PCI);
	assert_string_equal(pf->pci, "0000:01:00.0"); /* normalized */
	assert_int_equal(pf->numvfs, 2);
	assert_int_equal(pf->autoprobe, -1);
	assert_false(pf->has_mac_scheme);
	assert_int_equal(pf->n_vfs, 1);
	assert_int_equal(pf->vfs[0].index, 1);
	assert_int_equal(pf->vfs[0].settings.link_state, VF_LINK_STATE_DISABLE);
	assert_null(pf_desired_vf(pf, 0));

	pf = &c->pfs[2];
	pf_desired_match_format(pf, buf);
	assert_string_equal(buf, "device 8086:10c9");
	assert_int_equal(pf->vendor, 0x8086);
	assert_int_equal(pf->device, 0x10c9);
	assert_false(pf->has_numvfs);
	assert_int_equal(pf->autoprobe, 0);
	assert_int_equal(pf->n_vfs, 0);
	config_free(c);
}

/* relays: reach the model; the later entry's list wins; the default name. */
static void test_relays(void **state)
{
	(void)state;
	struct config *c = parse_ok("version: 1\npfs:\n  - match: {netdev: eth0}\n    numvfs: 4\n    relays:\n"
				    "      - {vf: 0, socket: /run/a.sock, lcores: [1, 3]}\n"
				    "      - {vf: 3, socket: /run/b.sock, lcores: '2-3', mode: client, queues: 2, mtu: 9000, name: vm2}\n");
	assert_int_equal(c->n_pfs, 1);
	const struct pf_desired *pf = &c->pfs[0];
	assert_int_equal(pf->n_relays, 2);
	assert_int_equal(pf->relays[0].vf, 0);
	assert_string_equal(pf->relays[0].socket, "/run/a.sock");
	assert_int_equal(pf->relays[0].mode, 0);
	assert_int_equal(pf->relays[0].n_lcores, 2);
	assert_int_equal(pf->relays[0].lcores[1], 3);
	assert_int_equal(pf->relays[0].queues, 0);
	assert_null(pf->relays[0].name);
	assert_int_equal(pf->relays[1].vf, 3);
	assert_int_equal(pf->relays[1].mode, 1);
	assert_int_equal(pf->relays[1].queues, 2);
	assert_int_equal(pf->relays[1].mtu, 9000);
	assert_int_equal(pf->relays[1].n_lcores, 2);
	assert_string_equal(pf->relays[1].name, "vm2");
	char name[RELAY_DESIRED_NAME_MAX + 1];
	relay_desired_name(&pf->relays[0], "0000:01:00.0", name);
	assert_string_equal(name, "0000.01.00.0-vf0");
	relay_desired_name(&pf->relays[1], "0000:01:00.0", name);
	assert_string_equal(name, "vm2");

	char *err = NULL;
	const char *more = "version: 1\npfs:\n  - match: {netdev: eth0}\n    relays:\n"
			   "      - {vf: 1, socket: /run/c.sock, lcores: 1}\n";
	assert_int_equal(config_parse_string(c, "more.conf", more, strlen(more), &err), 0);
	assert_int_equal(c->pfs[0].n_relays, 1);
	assert_int_equal(c->pfs[0].relays[0].vf, 1);
	/* A bad file leaves them as they were. */
	const char *bad = "version: 1\npfs:\n  - match: {netdev: eth0}\n    relays:\n"
			  "      - {vf: 9, socket: /run/c.sock, lcores: 1}\n";
	assert_int_equal(config_parse_string(c, "bad.conf", bad, strlen(bad), &err), -EINVAL);
	assert_string_equal(err, "bad.conf:5:14: vf: the relay's VF 9 is beyond numvfs 4");
	free(err);
	assert_int_equal(c->pfs[0].relays[0].vf, 1);
	config_free(c);
}

/* device-specs, aliases, networks and PF labels reach the model; a later
 * file adds to them, and a file with an error leaves them as they were. */
static void test_allocation(void **state)
{
	(void)state;
	struct config *c = parse_ok("version: 1\n"
				    "pfs:\n  - match: {netdev: eth0}\n    labels: [fast, rack1]\n"
				    "device-specs:\n"
				    "  - {devname: eth0, physical_network: physnet1, trusted: 'true'}\n"
				    "  - address: {bus: '0[12]', function: '[0-3]'}\n    vendor_id: '8086'\n"
				    "aliases:\n  - {name: nic, vendor_id: '8086', product_id: 10ca, device_type: type-VF}\n"
				    "  - {name: nic, product_id: '1520', device_type: type-VF}\n"
				    "networks:\n  - {name: red, vlan: 100, labels: [fast]}\n  - {name: blue, pfs: [eth1, '03:00.0']}\n");
	assert_int_equal(c->n_pfs, 1);
	assert_int_equal(strv_length(c->pfs[0].labels), 2);
	assert_string_equal(c->pfs[0].labels[1], "rack1");
	assert_int_equal(c->n_specs, 2);
	assert_string_equal(c->specs[0]->devname, "eth0");
	assert_string_equal(json_string_value(json_object_get(c->specs[0]->tags, "physical_network")), "physnet1");
	assert_true(c->specs[1]->has_address);
	assert_true(c->specs[1]->address.regex);
	assert_int_equal(c->specs[1]->vendor_id, 0x8086);
	assert_int_equal(c->aliases.n, 1);
	assert_int_equal(c->aliases.v[0].n_entries, 2);
	assert_int_equal(c->aliases.v[0].entries[0].product_id, 0x10ca);
	assert_int_equal(c->aliases.v[0].device_type, ALLOC_TYPE_VF);
	assert_int_equal(c->networks.n, 2);
	assert_int_equal(c->networks.v[0].vlan, 100);
	assert_int_equal(c->networks.v[1].vlan, -1);
	assert_string_equal(c->networks.v[1].pfs[1], "0000:03:00.0");

	char *err = NULL;
	const char *more = "version: 1\naliases:\n  - {name: nic, vendor_id: '15b3'}\n";
	assert_int_equal(config_parse_string(c, "u.conf", more, strlen(more), &err), -EINVAL);
	assert_string_equal(err, "u.conf:3:5: aliases: device_type: alias 'nic' is given as any type here and as "
				 "type-VF before; entries of one alias must agree");
	free(err);
	err = NULL;
	assert_int_equal(c->aliases.v[0].n_entries, 2);
	const char *bad = "version: 1\ndevice-specs: [{devname: eth2}]\nnetworks: [{name: red, pfs: [eth0]}]\n";
	assert_int_equal(config_parse_string(c, "v.conf", bad, strlen(bad), &err), -EINVAL);
	assert_string_equal(err, "v.conf:3:12: networks: name: network 'red' is given twice");
	free(err);
	err = NULL;
	assert_int_equal(c->n_specs, 2);
	const char *ok = "version: 1\ndevice-specs: [{devname: eth2}]\naliases: [{name: nic, device_type: type-VF, product_id: '1521'}]\n";
	assert_int_equal(config_parse_string(c, "w.conf", ok, strlen(ok), &err), 0);
	assert_int_equal(c->n_specs, 3);
	assert_int_equal(c->aliases.v[0].n_entries, 3);
	assert_int_equal(c->networks.n, 2);
	config_free(c);
}

static void test_empty(void **state)
{
	(void)state;
	const char *docs[] = {
		"",
		"# nothing yet\n",
		"---\n",
		"~\n",
		"version: 1\n",
		"version: 1\npfs: []\n",
		"version: 1\npfs:\n",
		"version: 1\npfs: [] # trailing comment\n...\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		struct config *c = parse_ok(docs[i]);
		assert_int_equal(c->n_pfs, 0);
		config_free(c);
	}
	config_free(NULL);
}

static void test_ranges(void **state)
{
	(void)state;
	struct config *c = parse_ok("version: 1\n"
				    "pfs:\n"
				    "  - match: {netdev: eth1}\n"
				    "    numvfs: 64\n"
				    "    vfs:\n"
				    "      - {index: 10-19, driver: vfio-pci}\n"
				    "      - {index: 0, mac: 02:00:00:00:00:01}\n"
				    "      - {index: 60-63, vlan: 7}\n"
				    "      - {index: 15-61, trust: on}\n"
				    "      - {index: 63-63, mac: 02:00:00:00:00:02}\n" /* one VF: a MAC is fine */
				    "  - match: {netdev: eth2}\n" /* presence only */
				    "  - match: {netdev: eth3}\n"
				    "    numvfs: 0\n"
				    "    vfs:\n"
				    "      - {index: all, trust: on, mac: 02:00:00:00:00:03}\n" /* covers nothing */
				    "  - match: {netdev: eth4}\n"
				    "    numvfs: 65535\n"
				    "    vfs:\n"
				    "      - {index: all, state: enable}\n"
				    "      - {index: 65534, state: disable}\n");
	assert_int_equal(c->n_pfs, 4);
	const struct pf_desired *pf = &c->pfs[0];
	/* cut where entries begin and end; gaps are filled only inside a range */
	assert_string_equal(runs(pf), "0 10-14 15-19 20-59 60-61 62 63");
	assert_null(pf_desired_vf(pf, 9));
	assert_string_equal(pf_desired_vf(pf, 10)->driver, "vfio-pci");
	assert_int_equal(pf_desired_vf(pf, 10)->settings.has, 0);
	assert_int_equal(pf_desired_vf(pf, 15)->settings.has, VF_HAS(VF_FIELD_TRUST));
	assert_string_equal(pf_desired_vf(pf, 19)->driver, "vfio-pci");
	assert_null(pf_desired_vf(pf, 20)->driver);
	assert_int_equal(pf_desired_vf(pf, 61)->settings.has, VF_HAS(VF_FIELD_TRUST) | VF_HAS(VF_FIELD_VLAN));
	assert_int_equal(pf_desired_vf(pf, 62)->settings.has, VF_HAS(VF_FIELD_VLAN));
	assert_int_equal(pf_desired_vf(pf, 63)->settings.has, VF_HAS(VF_FIELD_VLAN) | VF_HAS(VF_FIELD_MAC));
	assert_int_equal(pf_desired_vf(pf, 0)->settings.mac[5], 1);

	assert_int_equal(c->pfs[1].n_vfs, 0);
	assert_false(c->pfs[1].has_numvfs);
	assert_true(c->pfs[2].has_numvfs);
	assert_int_equal(c->pfs[2].n_vfs, 0);
	pf = &c->pfs[3];
	assert_string_equal(runs(pf), "0-65533 65534"); /* two runs, not 65535 VFs */
	assert_int_equal(pf_desired_vf(pf, 65533)->settings.link_state, VF_LINK_STATE_ENABLE);
	assert_int_equal(pf_desired_vf(pf, 0)->settings.link_state, VF_LINK_STATE_ENABLE);
	assert_int_equal(pf_desired_vf(pf, 65534)->settings.link_state, VF_LINK_STATE_DISABLE);
	config_free(c);
}

static void test_booleans_and_later_wins(void **state)
{
	(void)state;
	struct config *c = parse_ok("version: 1\n"
				    "pfs:\n"
				    "  - match:\n"
				    "      pci: 0000:3b:00.1\n"
				    "    autoprobe: off\n"
				    "    numvfs: \"8\"\n"
				    "    vfs:\n"
				    "      - index: 1\n"
				    "        spoofchk: True\n"
				    "        trust: FALSE\n"
				    "        query-rss: 'on'\n"
				    "        vlan: 10\n"
				    "        qos: 5\n"
				    "        proto: 802.1ad\n"
				    "        max-rate: 500\n"
				    "      - index: 1\n"
				    "        spoofchk: off\n"
				    "        vlan: 20\n" /* replaces VLAN, QoS and protocol */
				    "        min-rate: 100\n"
				    "        driver: iavf\n"
				    "      - index: 1\n"
				    "        driver: kernel\n"
				    "  - match:\n"
				    "      pci: 3b:00.1\n" /* the same PF: merged into the first entry */
				    "    mac: none\n"
				    "    vfs:\n"
				    "      - {index: 0-7, trust: TRUE}\n"
				    "      - {index: 1, trust: on}\n");
	assert_int_equal(c->n_pfs, 1);
	const struct pf_desired *pf = &c->pfs[0];
	assert_int_equal(pf->autoprobe, 0);
	assert_int_equal(pf->numvfs, 8);
	assert_true(pf->has_mac_scheme);
	assert_int_equal(pf->mac_scheme, MAC_SCHEME_NONE);
	assert_int_equal(pf->pos.line, 4);
	config_free(c);
	/* "yes" is not a YAML 1.2 boolean, nor on/off: refused */
	char *err = NULL;
	c = config_new();
	const char *doc = "version: 1\npfs:\n  - match: {netdev: eth0}\n    vfs:\n      - {index: 1, trust: yes}\n";
	assert_int_equal(config_parse_string(c, "t.conf", doc, strlen(doc), &err), -EINVAL);
	assert_string_equal(err, "t.conf:5:27: trust: 'yes' is not on or off");
	free(err);
	config_free(c);

	c = parse_ok("version: 1\n"
		     "pfs:\n"
		     "  - match:\n"
		     "      pci: 0000:3b:00.1\n"
		     "    numvfs: 8\n"
		     "    vfs:\n"
		     "      - index: 1\n"
		     "        spoofchk: True\n"
		     "        trust: FALSE\n"
		     "        query-rss: 'on'\n"
		     "        vlan: 10\n"
		     "        qos: 5\n"
		     "        proto: 802.1ad\n"
		     "        max-rate: 500\n"
		     "      - index: 1\n"
		     "        spoofchk: off\n"
		     "        vlan: 20\n"
		     "        min-rate: 100\n"
		     "        driver: iavf\n"
		     "      - index: 1\n"
		     "        driver: kernel\n");
	pf = &c->pfs[0];
	assert_int_equal(pf->n_vfs, 1);
	const struct vf_desired *vf = pf_desired_vf(pf, 1);
	assert_int_equal(vf->settings.has, VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_TRUST) |
						   VF_HAS(VF_FIELD_QUERY_RSS) | VF_HAS(VF_FIELD_VLAN) |
						   VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE));
	assert_false(vf->settings.spoofchk);
	assert_false(vf->settings.trust);
	assert_true(vf->settings.query_rss);
	assert_int_equal(vf->settings.vlan, 20);
	assert_int_equal(vf->settings.qos, 0);
	assert_int_equal(vf->settings.vlan_proto, VF_ETH_P_8021Q);
	assert_int_equal(vf->settings.min_tx_rate, 100);
	assert_int_equal(vf->settings.max_tx_rate, 500);
	assert_string_equal(vf->driver, "kernel");
	assert_int_equal(vf->pos.line, 20);
	config_free(c);
}

/* One bad document and the exact message, after "t.conf:". */
struct bad_row {
	const char *text, *error;
};

#define PF0 "version: 1\npfs:\n  - match: {netdev: eth0}\n"
#define PF4 PF0 "    numvfs: 4\n    vfs:\n"
/* In PF4 documents, the first VF entry is on line 6 and its keys at column 9. */

static const struct bad_row bad_rows[] = {
	/* syntax */
	{"version: 1\npfs:\n  - match:\n      netdev: eth0\n     numvfs: 4\n",
	 "5:6: syntax error: did not find expected key (while parsing a block mapping at 3:5)"},
	{"version: 1\npfs: [\n", "3:1: syntax error: did not find expected node content (while parsing a flow node at 3:1)"},
	{"version: 1\nversion: \"\\q\"\n",
	 "2:11: syntax error: found unknown escape character (while parsing a quoted scalar at 2:10)"},
	{"version: 1\npfs: *nowhere\n", "2:6: syntax error: found undefined alias"},
	/* limits on the work, not only the bytes */
	{"version: 1\npfs: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	 "2:37: nesting: more than 32 levels of lists and mappings (the limit of a config)"},
	{"version: 1\na: {b: {c: {d: {e: {f: {g: {h: {i: {j: {k: {l: {m: {n: {o: {p: {q: {r: {s: {t: {u: {v: {w: "
	 "{x: {y: {z: {A: {B: {C: {D: {E: {F: {G: 1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}\n",
	 "2:128: nesting: more than 32 levels of lists and mappings (the limit of a config)"},
	{"version: 1\n\xff\n", "2:1: syntax error: invalid leading UTF-8 octet"},
	{"version: 1\n---\nversion: 1\n", "3:1: a second YAML document; a config file holds one"},
	/* shape */
	{"- version: 1\n", "1:1: the file must be a mapping (version: 1, pfs: ...), found a list"},
	{"just words\n", "1:1: the file must be a mapping (version: 1, pfs: ...), found a single value"},
	{"version: 1\npfs: {netdev: eth0}\n", "2:6: pfs: expected a list of PF entries, found a mapping"},
	{"version: 1\npfs:\n  - eth0\n", "3:5: pfs: each entry must be a mapping (match:, numvfs:, vfs:...), found a single value"},
	{PF0 "    vfs: {index: 0}\n", "4:10: vfs: expected a list of VF entries, found a mapping"},
	{PF0 "    vfs:\n      - 0\n", "5:9: vfs: each entry must be a mapping (index: N, ...), found a single value"},
	{PF0 "    numvfs: {count: 4}\n", "4:13: numvfs: expected a single value, found a mapping"},
	{PF0 "    numvfs: [4]\n", "4:13: numvfs: expected a single value, found a list"},
	{PF4 "      - index: 0\n        vlan:\n          id: 5\n", "8:11: vlan: expected a single value, found a mapping"},
	{PF4 "      - index: 0\n        vlan:\n", "7:14: vlan: needs a value"},
	{PF4 "      - index: 0\n        vlan: \"\"\n", "7:15: vlan: needs a value"},
	{"version: 1\n? [a]\n: b\n", "2:3: a key must be a word, found a list"},
	{"version: 1\nversion: 1\n", "2:1: version: given twice (first on line 1)"},
	/* unknown and reserved keys */
	{"version: 1\npfz: []\n", "2:1: pfz: unknown key (expected version, pfs, device-specs, aliases, networks)"},
	{"version: 1\nPfs: []\n", "2:1: Pfs: unknown key (expected version, pfs, device-specs, aliases, networks)"},
	{"version: 1\npfs:\n  - match:\n      name: eth0\n",
	 "4:7: name: unknown key in match (expected netdev, pci, device, altname or path)"},
	{PF0 "    numfvs: 4\n", "4:5: numfvs: unknown key in a PF entry (expected match, numvfs, autoprobe, mac, vfs, labels, mtu, up, relays, timeout)"},
	{PF4 "      - index: 0\n        speed: 10\n",
	 "7:9: speed: unknown key in a VF entry (expected index, mac, vlan, qos, proto, spoofchk, trust, state, "
	 "min-rate, max-rate, query-rss, driver, mtu)"},
	/* allocation: device-specs, aliases, networks (alloc/'s messages, placed) */
	{"version: 1\nnetworks: {}\n", "2:11: networks: expected a list of mappings, found a mapping"},
	{"version: 1\naliases: [x]\n", "2:11: aliases: each entry must be a mapping, found a single value"},
	{"version: 1\ndevice-specs:\n  - address: '*:100:*.*'\n",
	 "3:5: device-specs: address: bus '100' (in '*:100:*.*') is greater than the maximum allowable value (FF)"},
	{"version: 1\ndevice-specs:\n  - {devname: eth0, address: '0000:01:00.0'}\n",
	 "3:5: device-specs: address: cannot be given with devname (one names the device)"},
	{"version: 1\ndevice-specs:\n  - address: {bus: '('}\n",
	 "3:5: device-specs: address: bus: '(' is not a regular expression (Unmatched ( or \\()"},
	{"version: 1\ndevice-specs:\n  - address: '*'\n    address: '*'\n", "4:5: address: given twice"},
	{"version: 1\naliases:\n  - name: a\n    device_type: type-VF\n  - name: a\n    device_type: type-PF\n",
	 "5:5: aliases: device_type: alias 'a' is given as type-PF here and as type-VF before; entries of one alias must agree"},
	{"version: 1\naliases:\n  - name: a\n    numa_policy: strict\n",
	 "3:5: aliases: numa_policy: 'strict' is not required, legacy, preferred or socket"},
	{"version: 1\nnetworks:\n  - name: n\n    vlan: 5000\n    pfs: [eth0]\n",
	 "3:5: networks: vlan: expected a VLAN id 1-4095"},
	{"version: 1\nnetworks:\n  - name: n\n    pfs: [eth0]\n  - name: n\n    labels: [x]\n",
	 "5:5: networks: name: network 'n' is given twice"},
	{PF0 "    labels: [a b]\n", "4:14: labels: 'a b' is not a label (1-64 letters, digits, '-', '_', '.')"},
	{PF0 "    labels: [a, a]\n", "4:17: labels: 'a' is given twice"},
	{PF0 "    labels: a\n", "4:13: labels: expected a list of labels, found a single value"},
	/* relays */
	{PF0 "    relays: 5\n", "4:13: relays: expected a list of relay entries, found a single value"},
	{PF0 "    relays: [x]\n", "4:14: relays: each entry must be a mapping (vf: N, socket: PATH, lcores: [N]...), found a single value"},
	{PF0 "    relays:\n      - {socket: /run/a.sock, lcores: 1}\n", "5:9: vf: missing (every relay entry names its VF by index)"},
	{PF0 "    relays:\n      - {vf: 0, lcores: 1}\n", "5:9: socket: missing (every relay entry needs its vhost-user socket)"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock}\n", "5:9: lcores: missing (every relay entry needs the lcores it forwards on)"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1, bogus: 1}\n",
	 "5:49: bogus: unknown key in a relay entry (expected vf, socket, mode, queues, lcores, mtu, name)"},
	{PF0 "    relays:\n      - {vf: x, socket: /run/a.sock, lcores: 1}\n", "5:14: vf: 'x' is not a number"},
	{PF0 "    relays:\n      - {vf: 65535, socket: /run/a.sock, lcores: 1}\n", "5:14: vf: '65535' is out of range 0-65534"},
	{PF0 "    relays:\n      - {vf: 0, socket: a.sock, lcores: 1}\n", "5:25: socket: 'a.sock' is not an absolute path"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1, mode: both}\n", "5:55: mode: 'both' is not server or client"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1, queues: 0}\n", "5:57: queues: '0' is out of range 1-8"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1, mtu: 9601}\n", "5:54: mtu: '9601' is out of range 68-9600"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: [1, 1]}\n", "5:46: lcores: lcore 1 is given twice"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: []}\n", "5:46: lcores: give at least one lcore id"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: [1-2]}\n", "5:47: lcores: '1-2' is not an lcore id (0-127)"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 200}\n", "5:46: lcores: '200' is not an lcore id (0-127)"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1, name: a/b}\n",
	 "5:55: name: 'a/b' is not a relay name (1-32 of A-Z a-z 0-9 _ . -)"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1}\n      - {vf: 0, socket: /run/b.sock, lcores: 1}\n",
	 "6:9: vf: VF 0 has a relay already (line 5)"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1}\n      - {vf: 1, socket: /run/a.sock, lcores: 1}\n",
	 "6:9: socket: /run/a.sock is the socket of VF 0's relay too"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1, name: x}\n      - {vf: 1, socket: /run/b.sock, lcores: 1, name: x}\n",
	 "6:9: name: x names VF 0's relay too"},
	{PF0 "    numvfs: 2\n    relays:\n      - {vf: 2, socket: /run/a.sock, lcores: 1}\n",
	 "6:14: vf: the relay's VF 2 is beyond numvfs 2"},
	{PF0 "    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1}\n  - match: {netdev: eth1}\n    relays:\n      - {vf: 0, socket: /run/a.sock, lcores: 1}\n",
	 "8:14: socket: /run/a.sock is the socket of another PF's relay too (t.conf:5:14)"},
	/* version */
	{"version: 2\npfs: []\n", "1:10: version: '2' is not supported (only 1)"},
	{"version: 1.0\n", "1:10: version: '1.0' is not supported (only 1)"},
	{"pfs: []\n", "1:1: version: missing (the file must say version: 1)"},
	{"version:\n", "1:9: version: needs a value"},
	/* match */
	{"version: 1\npfs:\n  - match:\n      netdev: eth0\n      pci: 01:00.0\n",
	 "5:7: pci: match takes exactly one of netdev, pci, device, altname, path (netdev is given too)"},
	{"version: 1\npfs:\n  - match: {pci: 01:00.0, netdev: eth0}\n",
	 "3:27: netdev: match takes exactly one of netdev, pci, device, altname, path (pci is given too)"},
	{"version: 1\npfs:\n  - match: {}\n", "3:12: match: needs one of netdev, pci, device, altname, path"},
	{"version: 1\npfs:\n  - match:\n    numvfs: 4\n",
	 "3:5: match: expected a mapping with one of netdev, pci, device, altname, path; found nothing"},
	{"version: 1\npfs:\n  - match: eth0\n",
	 "3:12: match: expected a mapping with one of netdev, pci, device, altname, path; found a single value"},
	{"version: 1\npfs:\n  - numvfs: 4\n", "3:5: match: missing (every PF entry needs one)"},
	{"version: 1\npfs:\n  - match: {netdev: eth0/1}\n", "3:21: netdev: 'eth0/1' is not a network interface name"},
	{"version: 1\npfs:\n  - match: {netdev: abcdefghijklmnop}\n",
	 "3:21: netdev: 'abcdefghijklmnop' is not a network interface name"},
	{"version: 1\npfs:\n  - match: {pci: 01:00}\n",
	 "3:18: pci: '01:00' is not a PCI address (0000:01:00.0 or 01:00.0)"},
	{"version: 1\npfs:\n  - match: {device: 8086}\n", "3:21: device: '8086' is not vendor:device in hex (8086:10c9)"},
	/* altname, path, mtu, up */
	{"version: 1\npfs:\n  - match: {altname: 'a b'}\n",
	 "3:22: altname: 'a b' is not an alternative interface name (1-127 bytes, no '/', ':' or white space)"},
	{"version: 1\npfs:\n  - match: {altname: 'x/y'}\n",
	 "3:22: altname: 'x/y' is not an alternative interface name (1-127 bytes, no '/', ':' or white space)"},
	{"version: 1\npfs:\n  - match: {altname: " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n",
	 "3:22: altname: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' "
	 "is not an alternative interface name (1-127 bytes, no '/', ':' or white space)"},
	{"version: 1\npfs:\n  - match: {path: 0000:01:00.0}\n",
	 "3:19: path: '0000:01:00.0' is not a PCI path (udev's ID_PATH, pci-0000:01:00.0)"},
	{"version: 1\npfs:\n  - match: {path: pci-01:00.0}\n",
	 "3:19: path: 'pci-01:00.0' is not a PCI path (udev's ID_PATH, pci-0000:01:00.0)"},
	{"version: 1\npfs:\n  - match: {path: pci-0000:01:20.0}\n",
	 "3:19: path: 'pci-0000:01:20.0' is not a PCI path (udev's ID_PATH, pci-0000:01:00.0)"},
	{"version: 1\npfs:\n  - match: {netdev: eth0, altname: up0}\n",
	 "3:27: altname: match takes exactly one of netdev, pci, device, altname, path (netdev is given too)"},
	{PF0 "    mtu: 67\n", "4:10: mtu: '67' is out of range 68-65535"},
	{PF0 "    mtu: 65536\n", "4:10: mtu: '65536' is out of range 68-65535"},
	{PF0 "    mtu: 9k\n", "4:10: mtu: '9k' is not a number"},
	{PF0 "    mtu: -1500\n", "4:10: mtu: '-1500' is out of range 68-65535"},
	{PF0 "    mtu:\n", "4:9: mtu: needs a value"},
	{PF0 "    up: yes\n", "4:9: up: 'yes' is not true or false"},
	{PF0 "    up: \"true\"\n", "4:9: up: 'true' is not true or false"},
	{PF0 "    up: [true]\n", "4:9: up: expected a single value, found a list"},
	{PF4 "      - index: 0\n        mtu: 0\n", "7:14: mtu: '0' is out of range 68-65535"},
	{PF4 "      - index: 0\n        mtu: 1e3\n", "7:14: mtu: '1e3' is not a number"},
	{"version: 1\npfs:\n  - match: {device: 8086:10c9a}\n",
	 "3:21: device: '8086:10c9a' is not vendor:device in hex (8086:10c9)"},
	/* PF settings */
	{PF0 "    numvfs: -1\n", "4:13: numvfs: '-1' is out of range 0-65535"},
	{PF0 "    numvfs: 70000\n", "4:13: numvfs: '70000' is out of range 0-65535"},
	{PF0 "    numvfs: four\n", "4:13: numvfs: 'four' is not a number"},
	{PF0 "    numvfs: 0x10\n", "4:13: numvfs: '0x10' is not a number"},
	{PF0 "    autoprobe: maybe\n", "4:16: autoprobe: 'maybe' is not true or false"},
	{PF0 "    mac: random\n", "4:10: mac: 'random' is not stable or none (a VF's own MAC goes in its vfs entry)"},
	/* VF settings, checked by vf_settings_parse() */
	{PF4 "      - index: 0\n        vlan: 5000\n", "7:15: vlan: '5000' is out of range 0-4094"},
	{PF4 "      - index: 0\n        vlan: 5\n        qos: 8\n", "8:14: qos: '8' is out of range 0-7"},
	{PF4 "      - index: 0\n        qos: 3\n",
	 "7:9: qos: needs vlan in the same VF entry (the kernel sets VLAN, QoS and protocol together)"},
	{PF4 "      - index: 0\n        proto: 802.1ad\n",
	 "7:9: proto: needs vlan in the same VF entry (the kernel sets VLAN, QoS and protocol together)"},
	{PF4 "      - index: 0\n        mac: 02:11:22:33:44\n",
	 "7:14: mac: '02:11:22:33:44' is not a MAC address (aa:bb:cc:dd:ee:ff)"},
	{PF4 "      - index: 0\n        mac: 01:00:5e:00:00:01\n",
	 "7:14: mac: '01:00:5e:00:00:01' is a multicast address; a VF needs a unicast MAC"},
	{PF4 "      - index: 0\n        spoofchk: maybe\n", "7:19: spoofchk: 'maybe' is not on or off"},
	{PF4 "      - index: 0\n        spoofchk: \"true\"\n", "7:19: spoofchk: 'true' is not on or off"},
	{PF4 "      - index: 0\n        state: true\n", "7:16: state: 'true' is not auto, enable or disable"},
	{PF4 "      - index: 0\n        max-rate: 10\n        min-rate: 20\n", "8:9: min-rate 20 is above max-rate 10"},
	{PF4 "      - index: 0\n        driver: vfio pci\n",
	 "7:17: driver: 'vfio pci' is not a driver name (vfio-pci, kernel, or a driver such as iavf)"},
	{PF4 "      - index: 0\n        vlan: 1\n        vlan: 2\n", "8:9: vlan: given twice (first on line 7)"},
	/* index */
	{PF4 "      - vlan: 5\n", "6:9: index: missing in a VF entry (a number, a range A-B or all)"},
	{PF4 "      - index: 0-1\n        mac: 02:11:22:33:44:55\n",
	 "7:9: mac: index '0-1' covers 2 VFs, and two VFs cannot share a MAC: give each VF its own entry"},
	{PF4 "      - index: all\n        mac: 02:11:22:33:44:55\n",
	 "7:9: mac: index 'all' covers 4 VFs, and two VFs cannot share a MAC: give each VF its own entry"},
	{PF4 "      - index: 2-5\n", "6:16: index: range 2-5 is beyond numvfs 4 (VFs are 0-3)"},
	{PF4 "      - index: 4\n", "6:16: index: 4 is beyond numvfs 4 (VFs are 0-3)"},
	{PF0 "    numvfs: 0\n    vfs:\n      - index: 0\n", "6:16: index: 0 is beyond numvfs 0 (no VFs)"},
	{PF0 "    vfs:\n      - index: all\n",
	 "5:16: index: 'all' needs numvfs in this PF entry (or an earlier one with the same match)"},
	{PF0 "    vfs:\n      - index: 0-3\n",
	 "5:16: index: range '0-3' needs numvfs in this PF entry (or an earlier one with the same match)"},
	{PF4 "      - index: 3-1\n", "6:16: index: '3-1' is a reversed range (write 1-3)"},
	{PF4 "      - index: first\n", "6:16: index: 'first' is not a VF number, a range A-B or all"},
	{PF4 "      - index: 1-\n", "6:16: index: '1-' is not a VF number, a range A-B or all"},
	{PF4 "      - index: -1\n", "6:16: index: '-1' is not a VF number, a range A-B or all"},
	{PF4 "      - index: 1.5\n", "6:16: index: '1.5' is not a VF number, a range A-B or all"},
	{PF4 "      - index: [0, 1]\n", "6:16: index: expected a single value, found a list"},
	{PF0 "    vfs:\n      - index: 65535\n", "5:16: index: '65535' is out of range 0-65534"},
	{PF0 "    vfs:\n      - index: 99999999999999999999\n",
	 "5:16: index: '99999999999999999999' is out of range 0-65534"},
	/* rules on the merged result */
	{PF4 "      - {index: 0, mac: 02:00:00:00:00:01}\n      - {index: 3, mac: 02:00:00:00:00:01}\n",
	 "7:25: mac: 02:00:00:00:00:01 of VF 3 is also given to VF 0 (t.conf:6:25); two VFs cannot share a MAC"},
	{PF4 "      - {index: 0, max-rate: 100}\n      - {index: 0-3, min-rate: 200}\n",
	 "7:17: index: VF 0, merged with earlier entries: min-rate 200 is above max-rate 100"},
	{PF0 "    vfs:\n      - {index: 7, trust: on}\n  - match: {netdev: eth0}\n    numvfs: 4\n",
	 "7:13: numvfs: 4 leaves out VF 7, configured at t.conf:5:17"},
	{PF4 "      - {index: 3, trust: on}\n  - match: {netdev: eth0}\n    numvfs: 2\n    vfs:\n"
	     "      - {index: all, trust: off}\n",
	 "8:13: numvfs: 2 leaves out VF 3, configured at t.conf:6:17"},
	{"version: 1\npfs:\n  - match: {netdev: \"a\\0b\"}\n", "3:21: netdev: contains a NUL character"},
	/* timeout: whole seconds, 1-3600 */
	{PF0 "    timeout: 0\n", "4:14: timeout: '0' is out of range 1-3600"},
	{PF0 "    timeout: 3601\n", "4:14: timeout: '3601' is out of range 1-3600"},
	{PF0 "    timeout: -5\n", "4:14: timeout: '-5' is out of range 1-3600"},
	{PF0 "    timeout: 2.5\n", "4:14: timeout: '2.5' is not a number"},
	{PF0 "    timeout: 60s\n", "4:14: timeout: '60s' is not a number"},
	{PF0 "    timeout: [60]\n", "4:14: timeout: expected a single value, found a list"},
};

/* mtu: and up: on a PF entry, mtu: on VF entries; altname and path matches. */
static void test_links(void **state)
{
	(void)state;
	struct config *c = parse_ok("version: 1\n"
				    "pfs:\n"
				    "  - match: {altname: uplink-left.0}\n"
				    "    mtu: 9000\n"
				    "    up: true\n"
				    "    numvfs: 4\n"
				    "    vfs:\n"
				    "      - {index: all, mtu: 1500}\n"
				    "      - {index: 2, mtu: 9000, vlan: 5}\n"
				    "  - match: {path: pci-0000:3b:00.1}\n"
				    "    up: False\n"
				    "  - match: {altname: uplink-left.0}\n" /* merged: the later wins */
				    "    mtu: 68\n"
				    "  - match: {pci: 3b:00.1}\n"); /* not the same match as the path */
	assert_int_equal(c->n_pfs, 3);
	const struct pf_desired *a = &c->pfs[0], *p = &c->pfs[1];
	assert_int_equal(a->match, PF_MATCH_ALTNAME);
	assert_string_equal(a->netdev, "uplink-left.0");
	assert_int_equal(a->mtu, 68);
	assert_int_equal(a->mtu_pos.line, 13);
	assert_int_equal(a->up, 1);
	assert_int_equal(a->up_pos.line, 5);
	assert_int_equal(a->n_vfs, 3); /* 0-1, 2, 3 */
	assert_int_equal(pf_desired_vf(a, 0)->mtu, 1500);
	assert_int_equal(pf_desired_vf(a, 2)->mtu, 9000);
	assert_int_equal(pf_desired_vf(a, 2)->mtu_pos.line, 9);
	assert_true(vf_has(&pf_desired_vf(a, 2)->settings, VF_FIELD_VLAN));
	assert_int_equal(pf_desired_vf(a, 3)->mtu, 1500);
	assert_int_equal(p->match, PF_MATCH_PATH);
	assert_string_equal(p->pci, "0000:3b:00.1");
	assert_int_equal(p->up, 0);
	assert_int_equal(p->mtu, 0);
	assert_int_equal(c->pfs[2].up, -1);
	char buf[PF_MATCH_STRLEN];
	pf_desired_match_format(a, buf);
	assert_string_equal(buf, "altname uplink-left.0");
	pf_desired_match_format(p, buf);
	assert_string_equal(buf, "path pci-0000:3b:00.1");
	config_free(c);

	/* timeout: per PF; a later entry with the same match wins */
	c = parse_ok(PF0 "    timeout: 120\n"
		     "  - match: {netdev: eth1}\n"
		     "  - match: {netdev: eth0}\n"
		     "    timeout: 3600\n");
	assert_int_equal(c->n_pfs, 2);
	assert_int_equal(c->pfs[0].timeout_s, 3600);
	assert_int_equal(c->pfs[1].timeout_s, 0);
	config_free(c);
}

static void test_bad(void **state)
{
	(void)state;
	size_t failed = 0;
	for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		const struct bad_row *b = &bad_rows[i];
		struct config *c = config_new();
		char *err = NULL;
		int r = config_parse_string(c, "t.conf", b->text, strlen(b->text), &err);
		char want[512];
		snprintf(want, sizeof(want), "t.conf:%s", b->error);
		if (r != -EINVAL || !err || strcmp(err, want) != 0) {
			print_error("row %zu: got %d '%s'\nwant '%s'\n---\n%s\n", i, r, err ? err : "(null)", want,
				    b->text);
			failed++;
		}
		/* nothing half-loaded */
		assert_int_equal(c->n_pfs, 0);
		assert_null(c->files);
		free(err);
		config_free(c);
	}
	assert_int_equal(failed, 0);
}

/* A failing document leaves an existing config exactly as it was. */
static void test_unchanged_on_error(void **state)
{
	(void)state;
	struct config *c = parse_ok(example);
	const char *doc = "version: 1\npfs:\n  - match: {netdev: eth0}\n    numvfs: 8\n"
			  "  - match: {netdev: new0}\n    vfs:\n      - {index: 0, vlan: 5000}\n";
	char *err = NULL;
	assert_int_equal(config_parse_string(c, "b.conf", doc, strlen(doc), &err), -EINVAL);
	assert_string_equal(err, "b.conf:7:26: vlan: '5000' is out of range 0-4094");
	free(err);
	assert_int_equal(c->n_pfs, 3);
	assert_int_equal(c->pfs[0].numvfs, 4);
	assert_null(c->files[1]);
	config_free(c);
}

/* ---- files and drop-ins ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char *p = path_join(dir, name);
	FILE *f = fopen(p, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = path_join(dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rmtree(p);
		else
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

struct fixture {
	char root[256], main[300], dropins[300];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/sriovd-config-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->main, sizeof(f->main), "%s/sriovd.conf", f->root);
	snprintf(f->dropins, sizeof(f->dropins), "%s/sriovd.conf.d", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rmtree(f->root);
	free(f);
	return 0;
}

static void test_load_dropins(void **state)
{
	struct fixture *f = *state;
	write_file(f->root, "sriovd.conf", example);
	assert_int_equal(mkdir(f->dropins, 0755), 0);
	/* read in name order: 10-a before 20-b, whatever readdir says */
	write_file(f->dropins, "20-b.conf",
		   "version: 1\n"
		   "pfs:\n"
		   "  - match: {netdev: eth0}\n"
		   "    numvfs: 8\n"
		   "    vfs:\n"
		   "      - {index: 1, vlan: 300}\n"
		   "      - {index: 7, driver: kernel}\n");
	write_file(f->dropins, "10-a.conf",
		   "version: 1\n"
		   "pfs:\n"
		   "  - match: {netdev: eth0}\n"
		   "    numvfs: 6\n"
		   "    autoprobe: false\n"
		   "    vfs:\n"
		   "      - {index: 1, vlan: 200, qos: 1, max-rate: 2000}\n"
		   "      - {index: 5, spoofchk: off}\n"
		   "  - match: {netdev: eth9}\n");
	write_file(f->dropins, "30-empty.conf", "# placeholder\n");
	write_file(f->dropins, "notes.txt", "not: [yaml\n");
	write_file(f->dropins, ".hidden.conf", "not: [yaml\n");
	char sub[400];
	snprintf(sub, sizeof(sub), "%s/dir.conf", f->dropins);
	assert_int_equal(mkdir(sub, 0755), 0);

	struct config *c = NULL;
	char *err = NULL;
	int r = config_load(f->main, f->dropins, &c, &err);
	if (r < 0)
		fail_msg("load: %s", err);
	assert_null(err);
	assert_int_equal(strv_length(c->files), 4);
	assert_string_equal(c->files[0], f->main);
	assert_non_null(strstr(c->files[1], "/10-a.conf"));
	assert_non_null(strstr(c->files[2], "/20-b.conf"));
	assert_non_null(strstr(c->files[3], "/30-empty.conf"));

	assert_int_equal(c->n_pfs, 4); /* eth0, pci, device, eth9 */
	const struct pf_desired *pf = &c->pfs[0];
	assert_int_equal(pf->numvfs, 8);                     /* 20-b */
	assert_ptr_equal(pf->numvfs_pos.file, c->files[2]);
	assert_int_equal(pf->autoprobe, 0);                  /* 10-a */
	assert_int_equal(pf->mac_scheme, MAC_SCHEME_STABLE); /* main */
	assert_ptr_equal(pf->pos.file, c->files[0]);
	assert_string_equal(runs(pf), "0 1 2 3 5 7");
	const struct vf_desired *vf = pf_desired_vf(pf, 1);
	assert_int_equal(vf->settings.vlan, 300); /* 20-b's VLAN replaces 10-a's VLAN and QoS */
	assert_int_equal(vf->settings.qos, 0);
	assert_false(vf_has(&vf->settings, VF_FIELD_QOS));
	assert_int_equal(vf->settings.max_tx_rate, 2000); /* 10-a */
	assert_true(vf->settings.trust);                   /* main */
	assert_string_equal(vf->driver, "vfio-pci");       /* main */
	assert_ptr_equal(vf->pos.file, c->files[2]);
	assert_false(pf_desired_vf(pf, 5)->settings.spoofchk);
	assert_string_equal(pf_desired_vf(pf, 7)->driver, "kernel");
	assert_null(pf_desired_vf(pf, 6));
	assert_string_equal(c->pfs[3].netdev, "eth9");
	config_free(c);

	/* no drop-in folder at all is fine; NULL means none */
	assert_int_equal(config_load(f->main, "/nonexistent/sriovd.conf.d", &c, &err), 0);
	assert_int_equal(strv_length(c->files), 1);
	config_free(c);
	assert_int_equal(config_load(f->main, NULL, &c, &err), 0);
	assert_int_equal(c->pfs[0].numvfs, 4);
	config_free(c);

	/* one bad drop-in fails the whole load */
	write_file(f->dropins, "25-bad.conf",
		   "version: 1\n"
		   "pfs:\n"
		   "  - match: {netdev: eth0}\n"
		   "    vfs:\n"
		   "      - {index: 9, trust: on}\n");
	c = NULL;
	assert_int_equal(config_load(f->main, f->dropins, &c, &err), -EINVAL);
	assert_null(c);
	char want[1024];
	snprintf(want, sizeof(want), "%s/25-bad.conf:5:17: index: 9 is beyond numvfs 8 (VFs are 0-7)", f->dropins);
	assert_string_equal(err, want);
	free(err);

	/* a drop-in that lowers numvfs below a configured VF */
	write_file(f->dropins, "25-bad.conf", "version: 1\npfs:\n  - match: {netdev: eth0}\n    numvfs: 2\n");
	assert_int_equal(config_load(f->main, f->dropins, &c, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s/25-bad.conf:4:13: numvfs: 2 leaves out VF 7, configured at %s/20-b.conf:7:17",
		 f->dropins, f->dropins);
	assert_string_equal(err, want);
	free(err);

	/* a syntax error in a drop-in */
	write_file(f->dropins, "25-bad.conf", "version: 1\npfs: [\n");
	assert_int_equal(config_load(f->main, f->dropins, &c, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s/25-bad.conf:3:1: syntax error:", f->dropins);
	assert_non_null(strstr(err, want));
	free(err);
	char *bad = path_join(f->dropins, "25-bad.conf");
	unlink(bad);
	free(bad);

	/* a missing main file */
	char missing[400];
	snprintf(missing, sizeof(missing), "%s/nope.conf", f->root);
	assert_int_equal(config_load(missing, f->dropins, &c, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", missing);
	assert_string_equal(err, want);
	free(err);

	/* the main file is a directory */
	assert_int_equal(config_load(f->dropins, NULL, &c, &err), -EISDIR);
	free(err);
	/* the drop-in "folder" is a file */
	assert_int_equal(config_load(f->main, f->main, &c, &err), -ENOTDIR);
	free(err);
}

/* ---- robustness ---- */

static void assert_sane(const char *text, size_t len)
{
	struct config *c = config_new();
	char *err = NULL;
	int r = config_parse_string(c, "f.conf", text, len, &err);
	if (r == 0) {
		assert_null(err);
	} else {
		assert_int_equal(r, -EINVAL);
		unsigned line, column;
		int n = 0;
		if (!err || sscanf(err, "f.conf:%u:%u: %n", &line, &column, &n) != 2 || n == 0 || line == 0 ||
		    column == 0)
			fail_msg("bad message '%s' for\n---\n%.*s", err ? err : "(null)", (int)len, text);
		/* Every entry point leaves the config untouched on failure. */
		assert_int_equal(c->n_pfs, 0);
	}
	free(err);
	config_free(c);
}

/* The one rule of plan, apply, status and sriovd: FILE, then FILE.d or --config-dir. */
static void test_file_rule(void **state)
{
	struct fixture *f = *state;
	char *dir = NULL;
	assert_int_equal(config_dropin_dir(NULL, NULL, &dir), 0);
	assert_string_equal(dir, CONFIG_DEFAULT_DROPIN_DIR);
	free(dir);
	assert_int_equal(config_dropin_dir("/srv/x.yaml", NULL, &dir), 0);
	assert_string_equal(dir, "/srv/x.yaml.d");
	free(dir);
	assert_int_equal(config_dropin_dir("/srv/x.yaml", "/other", &dir), 0);
	assert_string_equal(dir, "/other");
	free(dir);
	assert_int_equal(config_dropin_dir("/srv/x.yaml", "", &dir), 0);
	assert_null(dir);

	write_file(f->root, "sriovd.conf", "version: 1\npfs:\n  - match: {netdev: eth0}\n    numvfs: 2\n");
	assert_int_equal(mkdir(f->dropins, 0755), 0);
	write_file(f->dropins, "10-a.conf", "version: 1\npfs:\n  - match: {netdev: eth0}\n    numvfs: 3\n");
	char other[400];
	snprintf(other, sizeof(other), "%s/other", f->root);
	assert_int_equal(mkdir(other, 0755), 0);
	write_file(other, "10-b.conf", "version: 1\npfs:\n  - match: {netdev: eth0}\n    numvfs: 5\n");

	struct config *c = NULL;
	char *err = NULL;
	assert_int_equal(config_load_rule(f->main, NULL, &c, &err), 0);
	assert_int_equal(c->pfs[0].numvfs, 3); /* FILE.d next to FILE */
	assert_string_equal(c->dropin_dir, f->dropins);
	assert_int_equal(strv_length(c->files), 2);
	config_free(c);
	assert_int_equal(config_load_rule(f->main, other, &c, &err), 0);
	assert_int_equal(c->pfs[0].numvfs, 5);
	assert_string_equal(c->dropin_dir, other);
	config_free(c);
	assert_int_equal(config_load_rule(f->main, "", &c, &err), 0);
	assert_int_equal(c->pfs[0].numvfs, 2);
	assert_null(c->dropin_dir);
	assert_int_equal(strv_length(c->files), 1);
	config_free(c);

	char want_big[600];
	/* exactly the files a daemon reported, nothing else */
	char b[512];
	snprintf(b, sizeof(b), "%s/10-b.conf", other);
	char *files[] = {f->main, b, NULL};
	assert_int_equal(config_load_files(files, other, &c, &err), 0);
	assert_int_equal(c->pfs[0].numvfs, 5);
	assert_int_equal(strv_length(c->files), 2);
	config_free(c);
	/* all files together are bounded in size, not only each */
	size_t big = (9u << 20);
	_cleanup_free_ char *text = malloc(big + 1);
	assert_non_null(text);
	memset(text, '#', big);
	memcpy(text, "version: 1\n", 11);
	text[big] = '\0';
	write_file(other, "big1.conf", text);
	write_file(other, "big2.conf", text);
	char big2[512];
	snprintf(big2, sizeof(big2), "%s/big2.conf", other);
	assert_int_equal(config_load_rule(f->main, other, &c, &err), -EFBIG);
	snprintf(want_big, sizeof(want_big), "%s: with the files before it, larger than 16 MiB (the limit of a config)", big2);
	assert_string_equal(err, want_big);
	free(err);
	unlink(big2);
	assert_int_equal(config_load_rule(f->main, other, &c, &err), 0);
	config_free(c);

	char *none[] = {NULL};
	assert_int_equal(config_load_files(none, NULL, &c, &err), -EINVAL);
	assert_string_equal(err, "no config file given");
	free(err);
	snprintf(b, sizeof(b), "%s/gone.conf", other);
	assert_int_equal(config_load_files(files, other, &c, &err), -ENOENT);
	char want[600];
	snprintf(want, sizeof(want), "%s: No such file or directory", b);
	assert_string_equal(err, want);
	free(err);
}

/* A document of n aliases of one anchor. */
static char *aliases_doc(size_t n)
{
	size_t cap = 64 + n * 4;
	char *d = malloc(cap);
	assert_non_null(d);
	size_t len = (size_t)snprintf(d, cap, "version: 1\nx: &a 1\ny: [");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(d + len, cap - len, i ? ",*a" : "*a");
	snprintf(d + len, cap - len, "]\n");
	return d;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The adversarial files of tests/fixtures/config: each refused (or loaded
 * as ranges) with the message naming the limit. CPU time is printed, for the
 * record, never asserted. */
static void test_limits(void **state)
{
	(void)state;
	const char *dir = getenv("CONFIG_FIXTURES");
	assert_non_null(dir);
	static const struct {
		const char *file, *error;
	} rows[] = {
		{"anchors.conf", "2:4085: alias *p: more than 1000 aliases in one file (the limit of a config)"},
		{"laughs.conf", "7:10: size: more than 200000 values, lists and mappings, aliases expanded (the limit "
				"of a config, all its files together)"},
		{"nested.conf", "2:37: nesting: more than 32 levels of lists and mappings (the limit of a config)"},
		{"reverse.conf", "2832:17: index: the VF entries take more than 4000000 updates of VF ranges to merge "
				 "(the limit of a config); write fewer entries, or ranges in index order"},
		{"numvfs.conf", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char path[1024], want[1200];
		snprintf(path, sizeof(path), "%s/%s", dir, rows[i].file);
		struct config *c = NULL;
		char *err = NULL;
		double t0 = cpu_s();
		int r = config_load(path, NULL, &c, &err);
		double took = cpu_s() - t0;
		print_message("%s: %s in %.3f s of CPU\n", rows[i].file, r == 0 ? "loaded" : "refused", took);
		if (!rows[i].error) {
			if (r != 0)
				fail_msg("%s: %s", rows[i].file, err);
			/* 200 entries of 65535 VFs each: one range each, not 13 million VFs */
			assert_int_equal(c->n_pfs, 200);
			for (size_t p = 0; p < c->n_pfs; p++)
				assert_string_equal(runs(&c->pfs[p]), "0-65534");
			config_free(c);
			continue;
		}
		snprintf(want, sizeof(want), "%s:%s", path, rows[i].error);
		assert_int_equal(r, -EINVAL);
		assert_string_equal(err, want);
		assert_null(c);
		free(err);
	}

	/* exactly at the alias limit is fine, one more is not */
	_cleanup_free_ char *ok = aliases_doc(CONFIG_MAX_ALIASES), *bad = aliases_doc(CONFIG_MAX_ALIASES + 1);
	struct config *c = config_new();
	char *err = NULL;
	assert_int_equal(config_parse_string(c, "t.conf", ok, strlen(ok), &err), -EINVAL);
	assert_string_equal(err, "t.conf:2:1: x: unknown key (expected version, pfs, device-specs, aliases, networks)");
	free(err);
	assert_int_equal(config_parse_string(c, "t.conf", bad, strlen(bad), &err), -EINVAL);
	assert_string_equal(err, "t.conf:3:3005: alias *a: more than 1000 aliases in one file (the limit of a config)");
	free(err);
	config_free(c);

	/* the node limit counts every file of the config together: 40000
	 * entries of 3 nodes each are fine once, not twice */
	size_t n = 40000, cap = 96 + n * 12;
	_cleanup_free_ char *many = malloc(cap);
	assert_non_null(many);
	size_t len = (size_t)snprintf(many, cap, "version: 1\npfs:\n- match: {netdev: eth0}\n  vfs: [");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(many + len, cap - len, i ? ",{index: 0}" : "{index: 0}");
	snprintf(many + len, cap - len, "]\n");
	c = config_new();
	assert_int_equal(config_parse_string(c, "a.conf", many, strlen(many), &err), 0);
	assert_int_equal(config_parse_string(c, "b.conf", many, strlen(many), &err), -EINVAL);
	assert_string_equal(err, "b.conf:4:293255: size: more than 200000 values, lists and mappings, aliases expanded "
				 "(the limit of a config, all its files together)");
	free(err);
	assert_int_equal(strv_length(c->files), 1);
	config_free(c);

	/* each file works on a copy of the config so far, and copying is work too */
	n = 50000;
	cap = 96 + n * 16;
	char *grown = realloc(many, cap);
	assert_non_null(grown);
	many = grown;
	len = (size_t)snprintf(many, cap, "version: 1\npfs:\n- match: {netdev: eth0}\n  vfs: [");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(many + len, cap - len, i ? ",{index: %zu}" : "{index: %zu}", i);
	snprintf(many + len, cap - len, "]\n");
	c = config_new();
	assert_int_equal(config_parse_string(c, "a.conf", many, strlen(many), &err), 0);
	int r = 0;
	size_t files = 1;
	while (r == 0 && files < 200) {
		r = config_parse_string(c, "e.conf", "version: 1\n", 11, &err);
		files++;
	}
	assert_int_equal(r, -EINVAL);
	assert_int_equal(files, 79);
	assert_string_equal(err, "e.conf: the files before it take more than 4000000 updates of VF ranges to merge (the "
				 "limit of a config)");
	free(err);
	config_free(c);

	/* distinct PF entries are bounded too */
	cap = 64 + (CONFIG_MAX_PFS + 1) * 32;
	_cleanup_free_ char *pfs = malloc(cap);
	assert_non_null(pfs);
	len = (size_t)snprintf(pfs, cap, "version: 1\npfs:\n");
	for (size_t i = 0; i <= CONFIG_MAX_PFS; i++)
		len += (size_t)snprintf(pfs + len, cap - len, "- match: {netdev: e%zu}\n", i);
	c = config_new();
	assert_int_equal(config_parse_string(c, "p.conf", pfs, strlen(pfs), &err), -EINVAL);
	assert_string_equal(err, "p.conf:1027:3: match: more than 1024 PF entries with different matches (the limit "
				 "of a config)");
	free(err);
	config_free(c);
}

static void test_prefixes(void **state)
{
	(void)state;
	size_t len = strlen(example);
	for (size_t i = 0; i <= len; i++) {
		/* not NUL-terminated at i: libyaml must respect the length */
		char *copy = malloc(i ? i : 1);
		memcpy(copy, example, i);
		assert_sane(copy, i);
		free(copy);
	}
}

static void test_mutations(void **state)
{
	(void)state;
	static const char alphabet[] = " \n\t:-[]{},#&*!|>'\"%@`?0123456789abcxyz\\\xff\xc3";
	size_t len = strlen(example);
	char *buf = malloc(len);
	uint32_t seed = 12345;
	for (int round = 0; round < 4000; round++) {
		memcpy(buf, example, len);
		int flips = 1 + round % 4;
		for (int k = 0; k < flips; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			buf[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		assert_sane(buf, len);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_allocation),
		cmocka_unit_test(test_relays),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_booleans_and_later_wins),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_unchanged_on_error),
		cmocka_unit_test_setup_teardown(test_load_dropins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_rule, setup, teardown),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
