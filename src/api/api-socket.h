/* api-socket: where sriovd's service API listens, for the server and its
 * clients alike (part of api/, but without libmicrohttpd: sriovctl and
 * client/ link it from the core library).
 *
 * Owns: the socket's name and the one rule for its default path: the
 * state location of the sysfs root (lifecycle_state_base()), i.e.
 * /run/sriovd/api.sock for the live /sys and ROOT/.sriovd/api.sock for any
 * other sysfs root. */
#pragma once

#include "lifecycle/lifecycle.h"

#define API_SOCKET_NAME "api.sock"
#define API_DEFAULT_SOCKET LIFECYCLE_STATE_BASE "/" API_SOCKET_NAME /* for the live /sys */

/* The default socket of the sriovd managing sysfs_root (NULL: /sys);
 * *ret is a fresh string. 0 or -ENOMEM. */
int api_socket_default(const char *sysfs_root, char **ret);
