/* The command line's side of lifecycle/'s waits: --timeout SECS, and the
 * progress line that numvfs and apply show on a terminal while a count
 * change takes more than a second ("eth0: 37/64 VFs, 21 bound, 12 s",
 * rewritten in place on stderr; never in JSON mode, never when stderr is
 * not a terminal). */
#include <ctype.h>
#include <unistd.h>

#include "cli.h"
#include "util/input.h"
#include "util/util.h"

#define PROGRESS_AFTER_NS 1000000000ULL

int cli_parse_seconds_ms(const char *s, unsigned max_s, unsigned *ret)
{
	unsigned long ms = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		ms = ms * 10 + (unsigned long)(*p - '0');
		if (ms > max_s)
			return -ERANGE;
	}
	ms *= 1000;
	if (*p == '.') {
		p++;
		unsigned long scale = 100;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			ms += (unsigned long)(*p - '0') * scale;
	}
	if (*p != '\0')
		return -EINVAL;
	if (ms > max_s * 1000UL)
		return -ERANGE;
	*ret = (unsigned)ms;
	return 0;
}

static void progress_cb(void *userdata, const struct lifecycle_progress_pf *pfs, size_t n, uint64_t elapsed_ns)
{
	struct cli_progress *p = userdata;
	if (elapsed_ns < PROGRESS_AFTER_NS)
		return;
	char line[sizeof(p->last)];
	lifecycle_progress_line(line, sizeof(line), pfs, n, elapsed_ns);
	if (p->shown && strcmp(line, p->last) == 0)
		return;
	snprintf(p->last, sizeof(p->last), "%s", line);
	/* Back to the start of the line, erase it, write the new one. */
	fputs("\r\033[K", stderr);
	text_fputs(line, stderr);
	fflush(stderr);
	p->shown = true;
}

void cli_progress_attach(const struct cli *cli, struct lifecycle_env *env, struct cli_progress *p)
{
	*p = (struct cli_progress){0};
	if (cli->json || !isatty(STDERR_FILENO))
		return;
	env->progress = progress_cb;
	env->progress_data = p;
}

void cli_progress_end(struct cli_progress *p)
{
	if (!p->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->shown = false;
}
