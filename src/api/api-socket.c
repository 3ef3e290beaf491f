/* The default path of the API socket (api-socket.h). */
#include "api-socket.h"

#include "util/util.h"

int api_socket_default(const char *sysfs_root, char **ret)
{
	_cleanup_free_ char *base = NULL;
	int r = lifecycle_state_base(sysfs_root, &base);
	if (r < 0)
		return r;
	char *path = path_join(base, API_SOCKET_NAME);
	if (!path)
		return -ENOMEM;
	*ret = path;
	return 0;
}
