/* export: the documents that hand a function to its consumer, and the
 * VFIO pre-flight report.
 *
 * Owns: `sriovctl export`'s renderers (libvirt <interface type='hostdev'>,
 * libvirt <hostdev>, QEMU's -device vfio-pci arguments, Xen's pci = [...],
 * and the JSON an orchestrator publishes) from one input struct, each value
 * escaped for its format; and the JSON of a pre-flight (vfio/). Nothing here
 * reads sysfs or netlink: the caller fills the input. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vfio/vfio.h"

/* {"ok", "address", "iommu_group", ..., "steps": [{"step", "ok", "duration_ns", "errno", "error"}],
 * "error"}: error is the pre-flight's sentence (NULL when it passed). */
json_t *json_vfio_preflight(const struct vfio_preflight_result *res, int r, const char *error);
/* One line per step attempted, "  ok     STEP   0.012 ms  detail" (the
 * failed one with the kernel's strerror), then "pre-flight passed ..." when
 * it did; a failure's sentence is left to the caller's error line. */
void text_print_vfio_preflight(FILE *f, const struct vfio_preflight_result *res, int r, const char *error);
