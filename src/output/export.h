/* export: the documents that hand a function to its consumer, and the
 * VFIO pre-flight report.
 *
 * Owns: `sriovctl export`'s renderers (libvirt <interface type='hostdev'>,
 * libvirt <hostdev>, QEMU's -device vfio-pci arguments, Xen's pci = [...],
 * and the JSON an orchestrator publishes) from one input struct, each value
 * escaped for its format; the input of a function of the tree and of a
 * claim's devices (what `sriovctl export` and GET /v1/claims/{id}/export
 * both call); and the JSON of a pre-flight (vfio/). Nothing here reads
 * sysfs, netlink or the ledger: the caller loads the tree and the claim. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ledger/ledger.h"
#include "sysfs/sysfs.h"
#include "vfio/vfio.h"

/* {"ok", "address", "iommu_group", ..., "steps": [{"step", "ok", "duration_ns", "errno", "error"}],
 * "error"}: error is the pre-flight's sentence (NULL when it passed). */
json_t *json_vfio_preflight(const struct vfio_preflight_result *res, int r, const char *error);
/* One line per step attempted, "  ok     STEP   0.012 ms  detail" (the
 * failed one with the kernel's strerror), then "pre-flight passed ..." when
 * it did; a failure's sentence is left to the caller's error line. */
void text_print_vfio_preflight(FILE *f, const struct vfio_preflight_result *res, int r, const char *error);

/* --- sriovctl export ------------------------------------------------------ */

enum export_format {
	EXPORT_LIBVIRT,         /* "libvirt": <interface type='hostdev' managed='no'> */
	EXPORT_LIBVIRT_HOSTDEV, /* "libvirt-hostdev": <hostdev mode='subsystem' type='pci' managed='no'> */
	EXPORT_QEMU,            /* "qemu": -device vfio-pci,host=...,id=... */
	EXPORT_XEN,             /* "xen": pci = [ '...' ] */
	EXPORT_JSON,            /* "json": the document an orchestrator publishes */
	EXPORT_FORMAT_MAX,
};
/* The names above, matched exactly; -EINVAL for anything else. */
int export_format_from_string(const char *s, enum export_format *ret);
const char *export_format_to_string(enum export_format f);
#define EXPORT_FORMATS "libvirt, libvirt-hostdev, qemu, xen, json"

/* What is handed off. Unknown values: NULL strings, -1 numbers, has_mac and
 * vlan_known false. */
struct export_input {
	char addr[16];              /* the function, "dddd:bb:ss.f" (required) */
	const char *pf_addr;        /* its PF when it is a VF */
	int32_t vf_index;           /* N of PF#N; -1 when not a VF */
	uint16_t vendor_id, device_id;
	bool ids_valid;
	bool is_nic;                /* PCI class 0x02: a network function */
	uint32_t class_code;        /* 0xCCSSPP, for the refusal */
	bool class_valid;
	const char *driver;         /* bound now; NULL when unbound */
	int32_t iommu_group;
	const char *vfio_device;    /* "/dev/vfio/11" when on vfio-pci */
	bool has_mac;               /* a MAC is set (all zeros counts as none) */
	uint8_t mac[6];
	bool vlan_known;            /* the VLAN could be read (0: untagged) */
	uint16_t vlan;
	/* From the ledger when the hand-off is a claim's; NULL otherwise. */
	const char *consumer;
	int64_t claim_id;           /* 0: none */
};

/* Writes the n functions of in (a claim may hold several; n >= 1) as fmt to
 * f: one <interface> or <hostdev> element, or one -device line, per function;
 * one Xen pci = [...] list; one JSON document. A format that does not suit
 * a function (libvirt's <interface> for one that is not a NIC VF) is
 * -EINVAL with *ret_error saying which format does, before anything is
 * written; a failing stream -EIO. Every value is escaped for its format. */
int export_render(FILE *f, enum export_format fmt, const struct export_input *in, size_t n, char **ret_error);
/* The json format's document: schema_version, the first function's keys,
 * the claim's consumer and id, and "devices" with every function's keys. */
json_t *json_export(const struct export_input *in, size_t n);
/* s with & < > ' " replaced by entities, for an XML attribute value (a fresh
 * string, NULL on ENOMEM). */
char *export_xml_attr(const char *s);
/* The QEMU/XML id of the function: "sriov-" and the address with every
 * character that is not a letter or a digit turned into '-'. buf holds 32. */
const char *export_device_id(const struct export_input *in, char buf[32]);

/* The input of function d as the tree shows it (MAC and VLAN from its
 * netlink view, when loaded); strings point into d and vfio_buf. */
void export_input_of(const struct pci_function *d, struct export_input *in, char vfio_buf[64]);

/* The inputs of a claim's devices: in[i]'s strings point into the tree,
 * the claim and vfio[i]. */
struct export_set {
	struct export_input *in;
	char (*vfio)[64];
	size_t n;
};
void export_set_done(struct export_set *s); /* accepts a zeroed one */
/* The devices of claim c (from the ledger) found in t, each with the MAC
 * and VLAN the claim gave it (not netlink's now), its consumer and id.
 * -EINVAL when the claim is not active or holds no device, -ENODEV when a
 * device is not on the host any more, each with the sentence in *ret_error. */
int export_claim_inputs(const struct pci_tree *t, const struct ledger_claim *c, struct export_set *ret,
			char **ret_error);
