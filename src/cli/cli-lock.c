/* The host lock for the commands that change the host (see lock/). */
#include "cli.h"
#include "lock/lock.h"
#include "util/input.h"
#include "util/fs.h"
#include "util/util.h"

#define LOCK_TIMEOUT_MAX_S 86400

static void say_waiting(void *data, const char *path, pid_t holder)
{
	const char *verb = data;
	if (holder > 0)
		text_printf(stderr, "sriovctl: %s: waiting for pid %d, which holds %s\n", verb, (int)holder, path);
	else
		text_printf(stderr, "sriovctl: %s: waiting for the host lock %s\n", verb, path);
}

int cli_host_lock(struct cli *cli, const char *verb)
{
	if (cli->host_lock_fd >= 0)
		return EXIT_OK;
	struct lock_opts o = {.timeout_ms = LOCK_WAIT_DEFAULT_MS, .waiting = say_waiting, .waiting_data = (void *)verb};
	const char *t = getenv("SRIOV_LOCK_TIMEOUT");
	if (!str_empty(t)) {
		uint32_t s;
		if (parse_u32(t, 10, &s) < 0 || s > LOCK_TIMEOUT_MAX_S)
			return cli_usage_error("%s: SRIOV_LOCK_TIMEOUT: '%s' is not a number of seconds (0-%d)", verb, t,
					       LOCK_TIMEOUT_MAX_S);
		o.timeout_ms = s * 1000;
	}
	struct lifecycle_env env;
	cli_lifecycle_env(cli, &env, NULL);
	_cleanup_free_ char *error = NULL;
	_cleanup_free_ char *dir = NULL;
	int r = lifecycle_state_dir_make(&env, &dir);
	if (r < 0) {
		_cleanup_free_ char *want = lifecycle_state_dir(&env);
		return cli_error("%s: cannot create the state folder %s: %s", verb, want ? want : "", fs_strerror(r));
	}
	r = lock_take(dir, LOCK_HOST_NAME, &o, &cli->host_lock_fd, NULL, &error);
	if (r < 0)
		return cli_error("%s: %s", verb, error ? error : strerror(-r));
	return EXIT_OK;
}
