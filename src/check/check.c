#include "check.h"

#include "caps/caps.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include "util/util.h"

/* The command line can be long (initrd args, many options). */
#define CMDLINE_MAX 8192
/* /dev/kmsg is character device 1:11 (drivers/char/mem.c). */
#define KMSG_MAJOR 1
#define KMSG_MINOR 11

const char *check_status_to_string(enum check_status s)
{
	static const char *const names[_CHECK_STATUS_MAX] = {"ok", "warn", "fail"};
	return (unsigned)s < _CHECK_STATUS_MAX ? names[s] : NULL;
}

struct ctx {
	const struct check_env *env;
	const struct pci_tree *t;
	struct check_report *rep;
	int error;
	/* What the kernel log said about interrupt remapping (its last line
	 * on the subject), gathered while the log is scanned. */
	char *intremap_line;
	bool intremap_enabled;
};

static char *vformat(const char *fmt, va_list ap)
{
	char *s;
	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

/* Adds a finding with its summary; set_evidence() and set_fix() complete it.
 * Allocation failures are remembered in c->error and reported once. */
static struct check_finding *finding(struct ctx *c, const char *check, const char *subject,
				     enum check_status status, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static struct check_finding *finding(struct ctx *c, const char *check, const char *subject,
				     enum check_status status, const char *fmt, ...)
{
	struct check_report *r = c->rep;
	struct check_finding *f = realloc(r->findings, (r->n + 1) * sizeof(*f));
	if (!f) {
		c->error = -ENOMEM;
		return NULL;
	}
	r->findings = f;
	f = &r->findings[r->n++];
	*f = (struct check_finding){.check = check, .status = status};
	va_list ap;
	va_start(ap, fmt);
	f->summary = vformat(fmt, ap);
	va_end(ap);
	f->subject = subject ? strdup(subject) : NULL;
	if (!f->summary || (subject && !f->subject))
		c->error = -ENOMEM;
	return f;
}

/* Fills one text field of a finding (evidence or fix). */
static void set_text(struct ctx *c, struct check_finding *f, char **field, const char *fmt, va_list ap)
{
	if (!f)
		return;
	free(*field);
	*field = vformat(fmt, ap);
	if (!*field)
		c->error = -ENOMEM;
}

static void set_evidence(struct ctx *c, struct check_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_evidence(struct ctx *c, struct check_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_text(c, f, f ? &f->evidence : NULL, fmt, ap);
	va_end(ap);
}

static void set_fix(struct ctx *c, struct check_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_fix(struct ctx *c, struct check_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_text(c, f, f ? &f->fix : NULL, fmt, ap);
	va_end(ap);
}

/* --- host facts ---------------------------------------------------------- */

enum boot_loader_kind {
	BOOT_UNKNOWN,
	BOOT_UPDATE_GRUB,     /* Debian, Ubuntu: /etc/default/grub + update-grub */
	BOOT_GRUB_MKCONFIG,   /* other GRUB hosts: /etc/default/grub + grub(2)-mkconfig -o CFG */
	BOOT_GRUBBY,          /* Fedora, RHEL: grubby edits every entry */
	BOOT_KERNEL_INSTALL,  /* systemd-boot: /etc/kernel/cmdline + kernel-install */
};

struct boot_loader {
	enum boot_loader_kind kind;
	const char *root;     /* NULL: not known (a tree from another host) */
	char cfg[32];         /* BOOT_GRUB_MKCONFIG: /boot/grub/grub.cfg or /boot/grub2/grub.cfg */
	char tool[32];        /* grub-mkconfig or grub2-mkconfig */
	bool kernel_cmdline;  /* BOOT_KERNEL_INSTALL: /etc/kernel/cmdline exists */
	char *image;          /* BOOT_KERNEL_INSTALL: the running kernel's image */
	char *release;
	char evidence[512];   /* the files that decided it */
};

struct host_facts {
	char *cmdline;         /* NULL when unreadable */
	bool amd;              /* AMD-Vi platform (IVRS table, or an AMD CPU without DMAR) */
	bool param_iommu_on;   /* intel_iommu=on / amd_iommu=on (or =force...) */
	bool param_iommu_off;  /* intel_iommu=off, amd_iommu=off, iommu=off */
	bool param_pt;         /* iommu=pt */
	bool param_intremap_off; /* intremap=off, nointremap */
	bool param_unsafe;     /* vfio_iommu_type1.allow_unsafe_interrupts=1 */
	int unsafe_now;        /* that module parameter as sysfs shows it: 1, 0, -1 unknown */
	int remapped_irqs;     /* /proc/interrupts lines on remapping (IR-) or ITS chips; -1 unreadable */
	size_t n_groups;
	char iommu_units[256]; /* class/iommu entries: dmar0, ivhd0 ... */
	bool acpi_dmar, acpi_ivrs;
	struct boot_loader boot;
};

/* True when one whitespace-separated word of the command line is exactly
 * param ("iommu=pt" must not match "amd_iommu=pt"). */
static bool cmdline_has(const char *cmdline, const char *param)
{
	size_t len = strlen(param);
	for (const char *p = cmdline; p && (p = strstr(p, param)); p += len) {
		bool start = p == cmdline || isspace((unsigned char)p[-1]);
		bool end = p[len] == '\0' || isspace((unsigned char)p[len]);
		if (start && end)
			return true;
	}
	return false;
}

/* Value of "key=" on the command line, as a copy up to the next space. */
static bool cmdline_value_starts(const char *cmdline, const char *key, const char *prefix)
{
	size_t klen = strlen(key);
	for (const char *p = cmdline; p && (p = strstr(p, key)); p += klen) {
		if (p != cmdline && !isspace((unsigned char)p[-1]))
			continue;
		const char *v = p + klen;
		/* The kernel takes comma-separated options here (intel_iommu=on,sm_on). */
		for (;;) {
			if (strncmp(v, prefix, strlen(prefix)) == 0)
				return true;
			const char *comma = strpbrk(v, ", \t\n");
			if (!comma || *comma != ',')
				break;
			v = comma + 1;
		}
	}
	return false;
}

static size_t count_dir_entries(const char *dir, char *names, size_t names_len)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0, used = 0;
	struct dirent *de;
	if (names && names_len)
		names[0] = '\0';
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (names && used < names_len) {
			int w = snprintf(names + used, names_len - used, "%s%s", n ? " " : "", de->d_name);
			if (w > 0)
				used += (size_t)w;
		}
		n++;
	}
	closedir(d);
	return n;
}

static bool path_exists(const char *root, const char *rel)
{
	_cleanup_free_ char *p = path_join(root, rel);
	return p && access(p, F_OK) == 0;
}

/* A big host lists an interrupt per queue per CPU; the answer is in the
 * first lines anyway. */
#define INTERRUPTS_MAX_LINES 65536

/* Counts the lines of /proc/interrupts whose interrupt chip remaps: Intel
 * and AMD IOMMUs name theirs "IR-IO-APIC", "IR-PCI-MSI"..., an ARM GIC ITS
 * (which isolates MSIs the same way for VFIO) "ITS-MSI"/"ITS-pMSI". */
static void read_remapped_irqs(const char *proc, struct host_facts *h)
{
	h->remapped_irqs = -1;
	_cleanup_free_ char *path = path_join(proc, "interrupts");
	_cleanup_fclose_ FILE *f = path ? fopen(path, "re") : NULL;
	if (!f)
		return;
	/* A line holds a counter per CPU before the chip's name: as long as
	 * the host has CPUs, which getline() allows for. */
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int n = 0;
	for (size_t lines = 0; lines < INTERRUPTS_MAX_LINES && getline(&line, &cap, f) > 0; lines++)
		if (strstr(line, " IR-") || strstr(line, " ITS-"))
			n++;
	h->remapped_irqs = n;
}

/* The first of names (relative to root) that exists, or NULL. */
static const char *first_existing(const char *root, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (path_exists(root, names[i]))
			return names[i];
	return NULL;
}

/* A program in one of the usual system folders under root: its path, or NULL. */
static const char *find_program(const char *root, const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = {"usr/sbin", "sbin", "usr/bin", "bin"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int n = snprintf(buf, len, "%s/%s", dirs[i], name);
		if (n > 0 && (size_t)n < len && path_exists(root, buf))
			return buf;
	}
	return NULL;
}

/* Adds ROOT/rel to the evidence ("/rel" for the root /). */
static void boot_note(struct boot_loader *b, const char *rel)
{
	size_t used = strlen(b->evidence);
	bool slash = strcmp(b->root, "/") == 0;
	snprintf(b->evidence + used, sizeof(b->evidence) - used, "%s%s/%s", used ? ", " : "", slash ? "" : b->root,
		 rel);
}

/* Which boot loader holds the kernel command line, from its files under
 * root: grubby where it exists (it edits GRUB's and the BLS entries alike),
 * else GRUB when grub.cfg exists (update-grub where Debian installed it,
 * grub-mkconfig otherwise), else systemd-boot (kernel-install with
 * /etc/kernel/cmdline, or BLS entries), else a GRUB defaults file alone. */
static void detect_boot_loader(const struct check_env *env, struct boot_loader *b)
{
	static const char *const grub_cfgs[] = {"boot/grub/grub.cfg", "boot/grub2/grub.cfg"};
	static const char *const bls_dirs[] = {"boot/loader/entries", "boot/efi/loader/entries",
					       "efi/loader/entries"};
	const char *root = env->boot_root ? env->boot_root : "/";
	*b = (struct boot_loader){.kind = BOOT_UNKNOWN};
	if (str_empty(root))
		return;
	b->root = root;
	char grubby[64], update_grub[64], mkconfig[64];
	const char *cfg = first_existing(root, grub_cfgs, ARRAY_SIZE(grub_cfgs));
	const char *bls = first_existing(root, bls_dirs, ARRAY_SIZE(bls_dirs));
	bool defaults = path_exists(root, "etc/default/grub");
	b->kernel_cmdline = path_exists(root, "etc/kernel/cmdline");
	const char *p_grubby = find_program(root, "grubby", grubby, sizeof(grubby));
	const char *p_update = find_program(root, "update-grub", update_grub, sizeof(update_grub));
	const char *p_mkconfig = find_program(root, "grub-mkconfig", mkconfig, sizeof(mkconfig));
	if (!p_mkconfig)
		p_mkconfig = find_program(root, "grub2-mkconfig", mkconfig, sizeof(mkconfig));

	if (p_grubby && (cfg || bls)) {
		b->kind = BOOT_GRUBBY;
		boot_note(b, p_grubby);
		boot_note(b, cfg ? cfg : bls);
	} else if (cfg || (defaults && !b->kernel_cmdline && !bls && (p_update || p_mkconfig))) {
		if (cfg)
			boot_note(b, cfg);
		if (defaults)
			boot_note(b, "etc/default/grub");
		if (p_update) {
			b->kind = BOOT_UPDATE_GRUB;
			boot_note(b, p_update);
		} else {
			b->kind = BOOT_GRUB_MKCONFIG;
			snprintf(b->tool, sizeof(b->tool), "%s", p_mkconfig ? strrchr(p_mkconfig, '/') + 1
									  : "grub-mkconfig");
			snprintf(b->cfg, sizeof(b->cfg), "/%s", cfg ? cfg : grub_cfgs[0]);
			if (p_mkconfig)
				boot_note(b, p_mkconfig);
		}
	} else if (b->kernel_cmdline || bls) {
		b->kind = BOOT_KERNEL_INSTALL;
		if (b->kernel_cmdline)
			boot_note(b, "etc/kernel/cmdline");
		if (bls)
			boot_note(b, bls);
		struct utsname u;
		const char *release = env->kernel_release;
		if (!release && uname(&u) == 0)
			release = u.release;
		b->release = strdup(release ? release : "$(uname -r)");
		if (!b->release)
			return;
		/* Fedora keeps the image beside the modules; Debian in /boot. */
		_cleanup_free_ char *rel = NULL;
		if (asprintf(&rel, "lib/modules/%s/vmlinuz", b->release) < 0)
			return;
		if (path_exists(root, rel) && asprintf(&b->image, "/%s", rel) < 0)
			b->image = NULL;
		else if (!b->image && asprintf(&b->image, "/boot/vmlinuz-%s", b->release) < 0)
			b->image = NULL;
	}
}

static void boot_loader_done(struct boot_loader *b)
{
	free(b->image);
	free(b->release);
}

static const char *boot_loader_name(const struct boot_loader *b)
{
	switch (b->kind) {
	case BOOT_UPDATE_GRUB:
	case BOOT_GRUB_MKCONFIG:
		return "GRUB";
	case BOOT_GRUBBY:
		return "GRUB/BLS with grubby";
	case BOOT_KERNEL_INSTALL:
		return "systemd-boot (kernel-install)";
	case BOOT_UNKNOWN:
		break;
	}
	return "not found";
}

static void read_facts(struct ctx *c, struct host_facts *h)
{
	const char *proc = c->env->proc_root ? c->env->proc_root : "/proc";
	_cleanup_free_ char *cmdline_path = path_join(proc, "cmdline");
	if (cmdline_path)
		(void)read_text_file(cmdline_path, CMDLINE_MAX, &h->cmdline);
	if (h->cmdline) {
		h->param_iommu_on = cmdline_value_starts(h->cmdline, "intel_iommu=", "on") ||
				    cmdline_value_starts(h->cmdline, "amd_iommu=", "on") ||
				    cmdline_value_starts(h->cmdline, "amd_iommu=", "force");
		h->param_iommu_off = cmdline_value_starts(h->cmdline, "intel_iommu=", "off") ||
				     cmdline_value_starts(h->cmdline, "amd_iommu=", "off") ||
				     cmdline_has(h->cmdline, "iommu=off");
		h->param_pt = cmdline_has(h->cmdline, "iommu=pt");
		h->param_intremap_off = cmdline_value_starts(h->cmdline, "intremap=", "off") ||
					cmdline_has(h->cmdline, "nointremap");
		h->param_unsafe = cmdline_has(h->cmdline, "vfio_iommu_type1.allow_unsafe_interrupts=1") ||
				  cmdline_has(h->cmdline, "vfio_iommu_type1.allow_unsafe_interrupts=Y") ||
				  cmdline_has(h->cmdline, "vfio_iommu_type1.allow_unsafe_interrupts=y");
	}
	read_remapped_irqs(proc, h);
	h->unsafe_now = -1;
	_cleanup_free_ char *unsafe_path =
		path_join(c->t->root, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts");
	_cleanup_free_ char *unsafe = NULL;
	if (unsafe_path && read_text_file(unsafe_path, 16, &unsafe) == 0)
		h->unsafe_now = strcmp(unsafe, "Y") == 0 || strcmp(unsafe, "1") == 0 ? 1 : 0;
	detect_boot_loader(c->env, &h->boot);

	_cleanup_free_ char *cpuinfo_path = path_join(proc, "cpuinfo");
	_cleanup_fclose_ FILE *f = cpuinfo_path ? fopen(cpuinfo_path, "re") : NULL;
	char line[256];
	bool cpu_amd = false;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "vendor_id", 9) == 0) {
			cpu_amd = strstr(line, "AuthenticAMD") || strstr(line, "HygonGenuine");
			break;
		}

	_cleanup_free_ char *groups = path_join(c->t->root, "kernel/iommu_groups");
	_cleanup_free_ char *units = path_join(c->t->root, "class/iommu");
	if (groups)
		h->n_groups = count_dir_entries(groups, NULL, 0);
	if (units)
		count_dir_entries(units, h->iommu_units, sizeof(h->iommu_units));
	h->acpi_dmar = path_exists(c->t->root, "firmware/acpi/tables/DMAR");
	h->acpi_ivrs = path_exists(c->t->root, "firmware/acpi/tables/IVRS");
	/* The firmware's table names the IOMMU the platform really has (a VM
	 * may show an AMD CPU with an Intel IOMMU); the CPU vendor is the guess
	 * when firmware lists none. */
	h->amd = h->acpi_ivrs || (!h->acpi_dmar && cpu_amd);
}

/* --- the kernel command line ------------------------------------------- */

#define CMDLINE_WORDS_MAX 256

/* What the kernel command line must gain and lose, worked out once from
 * every rule's needs, and why. */
struct cmdline_change {
	char add[CMDLINE_WORDS_MAX];
	char remove[CMDLINE_WORDS_MAX];
	char why[512];
	enum check_status status;
};

static void words_append(char *buf, size_t len, const char *sep, const char *word)
{
	size_t used = strlen(buf);
	snprintf(buf + used, len - used, "%s%s", used ? sep : "", word);
}

/* Appends to list every word of the command line that starts with key and
 * whose value (one of its comma-separated options) starts with value
 * ("intel_iommu=off", "intel_iommu=sm_on,off"); value NULL: the word is
 * exactly key. */
static void words_matching(const char *cmdline, const char *key, const char *value, char *list, size_t len)
{
	for (const char *p = cmdline; *p;) {
		p += strspn(p, " \t\n");
		size_t n = strcspn(p, " \t\n");
		if (n == 0)
			break;
		char word[128];
		if (n < sizeof(word)) {
			snprintf(word, sizeof(word), "%.*s", (int)n, p);
			bool match = value ? cmdline_value_starts(word, key, value) : strcmp(word, key) == 0;
			if (match)
				words_append(list, len, " ", word);
		}
		p += n;
	}
}

static void change_reason(struct cmdline_change *chg, enum check_status status, const char *why)
{
	words_append(chg->why, sizeof(chg->why), "; ", why);
	if (status > chg->status)
		chg->status = status;
}

static void cmdline_change_make(const struct host_facts *h, struct cmdline_change *chg)
{
	*chg = (struct cmdline_change){.status = CHECK_OK};
	if (!h->cmdline)
		return;
	bool want_intel_on = false;
	if (h->param_iommu_off) {
		words_matching(h->cmdline, "intel_iommu=", "off", chg->remove, sizeof(chg->remove));
		words_matching(h->cmdline, "amd_iommu=", "off", chg->remove, sizeof(chg->remove));
		words_matching(h->cmdline, "iommu=off", NULL, chg->remove, sizeof(chg->remove));
		change_reason(chg, CHECK_FAIL, "the kernel command line turns the IOMMU off");
		/* Intel's IOMMU driver is off unless asked for; AMD-Vi is on
		 * whenever the firmware enables it ("amd_iommu=on" is no option). */
		want_intel_on = !h->amd;
	} else if (!h->amd && !h->param_iommu_on && h->n_groups == 0) {
		change_reason(chg, CHECK_FAIL, "the kernel command line does not enable the IOMMU");
		want_intel_on = true;
	}
	if (want_intel_on)
		words_append(chg->add, sizeof(chg->add), " ", "intel_iommu=on");
	if (!h->param_pt) {
		words_append(chg->add, sizeof(chg->add), " ", "iommu=pt");
		if (chg->status == CHECK_OK)
			change_reason(chg, CHECK_WARN, "iommu=pt is not set: host devices pay for DMA translation");
	}
	if (h->param_intremap_off) {
		words_matching(h->cmdline, "intremap=", "off", chg->remove, sizeof(chg->remove));
		words_matching(h->cmdline, "nointremap", NULL, chg->remove, sizeof(chg->remove));
		change_reason(chg, CHECK_FAIL, "the kernel command line turns interrupt remapping off, and VFIO "
					       "refuses devices without it");
	}
}

/* "add A B; remove C" */
static void change_words(const struct cmdline_change *chg, char *buf, size_t len)
{
	buf[0] = '\0';
	if (chg->add[0])
		snprintf(buf, len, "add %s", chg->add);
	if (chg->remove[0]) {
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%sremove %s", used ? "; " : "", chg->remove);
	}
}

/* The one step that makes the change, for the boot loader the host uses. */
static void set_cmdline_fix(struct ctx *c, struct check_finding *f, const struct boot_loader *b,
			    const struct cmdline_change *chg)
{
	char words[2 * CMDLINE_WORDS_MAX + 16];
	change_words(chg, words, sizeof(words));
	switch (b->kind) {
	case BOOT_UPDATE_GRUB:
		set_fix(c, f, "edit GRUB_CMDLINE_LINUX in /etc/default/grub (%s), run update-grub, reboot", words);
		return;
	case BOOT_GRUB_MKCONFIG:
		set_fix(c, f, "edit GRUB_CMDLINE_LINUX in /etc/default/grub (%s), run %s -o %s, reboot", words, b->tool,
			b->cfg);
		return;
	case BOOT_GRUBBY: {
		char args[CMDLINE_WORDS_MAX + 16] = "", remove[CMDLINE_WORDS_MAX + 24] = "";
		if (chg->add[0])
			snprintf(args, sizeof(args), " --args=\"%s\"", chg->add);
		if (chg->remove[0])
			snprintf(remove, sizeof(remove), " --remove-args=\"%s\"", chg->remove);
		set_fix(c, f, "run grubby --update-kernel=ALL%s%s, reboot", args, remove);
		return;
	}
	case BOOT_KERNEL_INSTALL:
		if (b->kernel_cmdline)
			set_fix(c, f, "edit /etc/kernel/cmdline (%s), run kernel-install add %s %s, reboot", words,
				b->release ? b->release : "", b->image ? b->image : "");
		else
			set_fix(c, f, "write the current command line (/proc/cmdline without BOOT_IMAGE= and initrd=) "
				      "to /etc/kernel/cmdline (%s), run kernel-install add %s %s, reboot",
				words, b->release ? b->release : "", b->image ? b->image : "");
		return;
	case BOOT_UNKNOWN:
		break;
	}
	if (b->root)
		set_fix(c, f, "change the kernel command line in the boot loader's configuration (%s), reboot (no "
			      "GRUB, grubby or systemd-boot files found under %s)", words, b->root);
	else
		set_fix(c, f, "change the kernel command line in that host's boot loader configuration (%s), reboot",
			words);
}

/* Other findings whose fix is the command-line change point to it. */
#define SEE_CMDLINE "change the kernel command line: see the cmdline finding"

/* --- rules --------------------------------------------------------------- */

static void rule_iommu(struct ctx *c, const struct host_facts *h)
{
	const char *vendor = h->amd ? "AMD-Vi" : "Intel VT-d";
	if (h->n_groups > 0) {
		struct check_finding *f = finding(c, "iommu", NULL, CHECK_OK, "IOMMU is active (%zu groups)",
						  h->n_groups);
		set_evidence(c, f, "%s/kernel/iommu_groups has %zu entries; iommu units: %s", c->t->root,
			     h->n_groups, h->iommu_units[0] ? h->iommu_units : "none listed");
		return;
	}
	struct check_finding *f = finding(c, "iommu", NULL, CHECK_FAIL,
					  "IOMMU is not active: no IOMMU groups, VFs cannot be passed to VMs");
	set_evidence(c, f, "%s/kernel/iommu_groups is empty; iommu units: %s; ACPI %s table: %s; command line: %s",
		     c->t->root, h->iommu_units[0] ? h->iommu_units : "none",
		     h->amd ? "IVRS" : "DMAR", (h->amd ? h->acpi_ivrs : h->acpi_dmar) ? "present" : "absent",
		     h->cmdline ? h->cmdline : "(unreadable)");
	if (h->param_iommu_off || (!h->amd && !h->param_iommu_on))
		set_fix(c, f, SEE_CMDLINE);
	else if (h->amd)
		set_fix(c, f, "enable the IOMMU (AMD-Vi, \"IOMMU\" or \"SVM\") in the BIOS/UEFI setup");
	else
		set_fix(c, f, "the kernel was asked for the IOMMU but firmware offers none: enable %s "
			      "(\"VT-d\"/\"IOMMU\") in the BIOS/UEFI setup", vendor);
}

static void rule_cmdline(struct ctx *c, const struct host_facts *h)
{
	if (!h->cmdline) {
		struct check_finding *f = finding(c, "cmdline", NULL, CHECK_WARN, "kernel command line unreadable");
		set_evidence(c, f, "cannot read %s/cmdline", c->env->proc_root ? c->env->proc_root : "/proc");
		return;
	}
	struct cmdline_change chg;
	cmdline_change_make(h, &chg);
	if (chg.status == CHECK_OK) {
		struct check_finding *f = finding(c, "cmdline", NULL, CHECK_OK,
						  "kernel command line enables the IOMMU in passthrough mode");
		set_evidence(c, f, "%s", h->cmdline);
		return;
	}
	struct check_finding *f = finding(c, "cmdline", NULL, chg.status, "%s", chg.why);
	set_evidence(c, f, "%s; boot loader: %s%s%s%s", h->cmdline, boot_loader_name(&h->boot),
		     h->boot.evidence[0] ? " (" : "", h->boot.evidence, h->boot.evidence[0] ? ")" : "");
	set_cmdline_fix(c, f, &h->boot, &chg);
}

static void rule_pfs(struct ctx *c)
{
	size_t n_pfs = 0;
	for (size_t i = 0; i < c->t->n_devs; i++) {
		const struct pci_function *pf = c->t->devs[i];
		if (!pf->is_pf)
			continue;
		n_pfs++;
		struct check_finding *f;
		if (!pf->sriov.valid) {
			f = finding(c, "sriov", pf->addr, CHECK_FAIL, "SR-IOV attributes unreadable");
			set_evidence(c, f, "sriov_totalvfs or sriov_numvfs under %s/bus/pci/devices/%s could not be read",
				     c->t->root, pf->addr);
		} else if (pf->sriov.totalvfs == 0) {
			f = finding(c, "sriov", pf->addr, CHECK_FAIL, "SR-IOV capable but 0 VFs offered");
			set_evidence(c, f, "sriov_totalvfs = 0");
			set_fix(c, f, "enable SR-IOV for this device in the BIOS/UEFI setup or the NIC firmware");
		} else if (!pf->driver) {
			f = finding(c, "sriov", pf->addr, CHECK_FAIL, "no driver bound: VFs cannot be created");
			set_evidence(c, f, "sriov_totalvfs = %u; no driver link", pf->sriov.totalvfs);
			set_fix(c, f, "load the PF's driver (modprobe) or bind it: sriovctl bind %s kernel", pf->addr);
		} else {
			f = finding(c, "sriov", pf->addr, CHECK_OK, "SR-IOV ready: %u of %u VFs enabled, driver %s",
				    pf->sriov.numvfs, pf->sriov.totalvfs, pf->driver);
			set_evidence(c, f, "sriov_totalvfs = %u, sriov_numvfs = %u, driver %s", pf->sriov.totalvfs,
				     pf->sriov.numvfs, pf->driver);
		}
	}
	if (n_pfs == 0) {
		struct check_finding *f = finding(c, "sriov", NULL, CHECK_WARN, "no SR-IOV capable device found");
		set_evidence(c, f, "no device under %s/bus/pci/devices has sriov_totalvfs", c->t->root);
		set_fix(c, f, "enable SR-IOV in the BIOS/UEFI setup and load the NIC's driver");
	}
}

/* A VF can go to its own VM only when its IOMMU group holds nothing else. */
static void rule_isolation(struct ctx *c, const struct host_facts *h)
{
	if (h->n_groups == 0)
		return;
	for (size_t i = 0; i < c->t->n_devs; i++) {
		const struct pci_function *pf = c->t->devs[i];
		if (!pf->is_pf)
			continue;
		struct check_finding *f;
		if (pf->n_vfs == 0) {
			/* Without VFs, the PF's own group predicts theirs: if the PF
			 * shares with devices that are not its own functions, the
			 * path above it lacks ACS and the VFs will join that group. */
			size_t foreign = 0;
			for (size_t k = 0; k < pf->n_group_peers; k++)
				if (strncmp(pf->group_peers[k]->addr, pf->addr, 10) != 0)
					foreign++;
			if (pf->iommu_group < 0) {
				f = finding(c, "isolation", pf->addr, CHECK_WARN, "PF is in no IOMMU group");
				set_evidence(c, f, "no iommu_group link");
			} else if (foreign) {
				f = finding(c, "isolation", pf->addr, CHECK_WARN,
					    "PF shares IOMMU group %d with %zu other devices: its VFs will too",
					    pf->iommu_group, foreign);
				set_evidence(c, f, "iommu group %d has %zu members", pf->iommu_group,
					     pf->n_group_peers);
				set_fix(c, f, "move the card to a slot whose root port supports ACS, or enable ACS in the BIOS");
			} else {
				f = finding(c, "isolation", pf->addr, CHECK_OK,
					    "PF has its own IOMMU group %d (no VFs enabled to check)", pf->iommu_group);
				set_evidence(c, f, "iommu group %d: %zu member(s)", pf->iommu_group, pf->n_group_peers);
			}
			continue;
		}
		size_t shared = 0, ungrouped = 0;
		const struct pci_function *example = NULL;
		for (size_t k = 0; k < pf->n_vfs; k++) {
			const struct pci_function *vf = pf->vfs[k];
			if (vf->iommu_group < 0)
				ungrouped++;
			else if (vf->n_group_peers > 1) {
				shared++;
				if (!example)
					example = vf;
			}
		}
		if (shared || ungrouped) {
			f = finding(c, "isolation", pf->addr, CHECK_FAIL,
				    "%zu of %zu VFs share an IOMMU group%s: they cannot go to different VMs", shared,
				    pf->n_vfs, ungrouped ? " or have none" : "");
			if (example)
				set_evidence(c, f, "VF %u (%s) is in group %d with %zu members", example->vf_index,
					     example->addr, example->iommu_group, example->n_group_peers);
			else
				set_evidence(c, f, "%zu VFs have no iommu_group link", ungrouped);
			set_fix(c, f, "move the card to a slot whose root port supports ACS, or enable ACS in the "
				      "BIOS (pcie_acs_override= breaks isolation and is not a fix)");
		} else {
			f = finding(c, "isolation", pf->addr, CHECK_OK, "each of the %zu VFs has an IOMMU group of its own",
				    pf->n_vfs);
			set_evidence(c, f, "VF groups %d..%d", pf->vfs[0]->iommu_group,
				     pf->vfs[pf->n_vfs - 1]->iommu_group);
		}
	}
}

/* Kernel log lines that mean firmware did not leave room for VFs. */
static const struct {
	const char *needle;
	const char *needle2; /* also required on the same line, or NULL */
	const char *summary;
	const char *fix;
} kmsg_rules[] = {
	{"not enough MMIO resources for SR-IOV", NULL, "firmware left no MMIO space for VF BARs",
	 "enable SR-IOV and \"Above 4G decoding\" in the BIOS/UEFI setup, or boot with pci=realloc"},
	{"bus number out of range", "SR-IOV", "firmware left no bus numbers for VFs",
	 "boot with pci=assign-busses, or enable SR-IOV in the BIOS/UEFI setup so it reserves bus numbers"},
	{"SR-IOV: -12", NULL, "enabling SR-IOV failed with ENOMEM (-12)",
	 "enable SR-IOV in the BIOS/UEFI setup, or boot with pci=realloc"},
	{"sriov: -12", NULL, "enabling SR-IOV failed with ENOMEM (-12)",
	 "enable SR-IOV in the BIOS/UEFI setup, or boot with pci=realloc"},
};

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* /dev/kmsg gives "prio,seq,usec,flags;text"; a saved dmesg gives plain
 * lines. Returns the text part. */
static const char *kmsg_text(const char *line)
{
	const char *semi = strchr(line, ';');
	if (!semi)
		return line;
	for (const char *p = line; p < semi; p++)
		if (!isdigit((unsigned char)*p) && *p != ',' && *p != '-' && *p != '+' && *p != 'c')
			return line;
	return semi + 1;
}

/* Keeps what the kernel said about interrupt remapping: Intel's
 * "DMAR-IR: Enabled IRQ remapping in x2apic mode", AMD's "AMD-Vi: Interrupt
 * remapping enabled", or a line that says why not. */
static void note_intremap(struct ctx *c, const char *text)
{
	if (!contains_nocase(text, "IRQ remapping") && !contains_nocase(text, "interrupt remapping"))
		return;
	bool enabled = contains_nocase(text, "Enabled IRQ remapping") ||
		       contains_nocase(text, "Interrupt remapping enabled");
	/* The line that enabled it is the evidence; later ones do not undo it. */
	if (c->intremap_enabled && !enabled)
		return;
	char *copy = strdup(text);
	if (!copy) {
		c->error = -ENOMEM;
		return;
	}
	free(c->intremap_line);
	c->intremap_line = copy;
	c->intremap_enabled = enabled;
}

static void scan_kmsg_line(struct ctx *c, const char *line, size_t *hits)
{
	const char *text = kmsg_text(line);
	note_intremap(c, text);
	for (size_t i = 0; i < ARRAY_SIZE(kmsg_rules); i++) {
		if (!contains_nocase(text, kmsg_rules[i].needle) ||
		    (kmsg_rules[i].needle2 && !contains_nocase(text, kmsg_rules[i].needle2)))
			continue;
		/* The line usually starts with "igb 0000:01:00.0: ", naming the PF. */
		char subject[PCI_ADDR_STRLEN] = "";
		char word[64];
		for (const char *p = text; *p;) {
			size_t len = strcspn(p, " \t");
			if (len > 1 && len < sizeof(word)) {
				snprintf(word, sizeof(word), "%.*s", (int)(p[len - 1] == ':' ? len - 1 : len), p);
				struct pci_addr a;
				if (pci_addr_parse(word, &a) == 0) {
					pci_addr_format(&a, subject);
					break;
				}
			}
			p += len;
			p += strspn(p, " \t");
		}
		struct check_finding *f = finding(c, "kernel-log", subject[0] ? subject : NULL, CHECK_FAIL, "%s",
						  kmsg_rules[i].summary);
		set_evidence(c, f, "kernel log: %s", text);
		set_fix(c, f, "%s", kmsg_rules[i].fix);
		(*hits)++;
		return;
	}
}

int check_kmsg_open(const char *path, bool *ret_is_kmsg, char **ret_error)
{
	/* O_NONBLOCK: /dev/kmsg blocks at the end of the buffer otherwise, and
	 * a FIFO would block the open itself. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_set(ret_error, -errno, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return error_set(ret_error, -errno, "%s: %s", path, strerror(errno));
	bool kmsg = S_ISCHR(st.st_mode) && major(st.st_rdev) == KMSG_MAJOR && minor(st.st_rdev) == KMSG_MINOR;
	if (!S_ISREG(st.st_mode) && !kmsg)
		return error_set(ret_error, S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD,
				 "%s is %s, not a kernel log: give a saved dmesg (a regular file) or /dev/kmsg", path,
				 S_ISDIR(st.st_mode)   ? "a folder"
				 : S_ISFIFO(st.st_mode) ? "a FIFO"
				 : S_ISCHR(st.st_mode)  ? "a character device other than /dev/kmsg"
				 : S_ISBLK(st.st_mode)  ? "a block device"
							: "not a regular file");
	/* A saved log is read to its end, which the bound below still caps. */
	if (!kmsg) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	*ret_is_kmsg = kmsg;
	return TAKE_FD(fd);
}

static void rule_kernel_log(struct ctx *c)
{
	const char *path = c->env->kmsg_path ? c->env->kmsg_path : "/dev/kmsg";
	_cleanup_free_ char *error = NULL;
	bool is_kmsg;
	_cleanup_close_ int fd = check_kmsg_open(path, &is_kmsg, &error);
	if (fd < 0) {
		struct check_finding *f = finding(c, "kernel-log", NULL, CHECK_WARN,
						  "kernel log unreadable: firmware errors cannot be checked");
		set_evidence(c, f, "%s", error ? error : strerror(-fd));
		if (fd == -EACCES || fd == -EPERM)
			set_fix(c, f, "run as root (or set kernel.dmesg_restrict=0)");
		else
			set_fix(c, f, "give --kmsg a saved dmesg (a regular file) or /dev/kmsg");
		return;
	}
	size_t max_bytes = c->env->kmsg_max_bytes ? c->env->kmsg_max_bytes : CHECK_KMSG_MAX_BYTES;
	/* One read of /dev/kmsg returns one record; a regular file returns many
	 * lines at once. Both are split on newlines; a record's continuation
	 * lines (" SUBSYSTEM=pci") are harmless. */
	char buf[8192 + 1];
	size_t have = 0, lines = 0, hits = 0, total = 0;
	bool cut = false, failed = false;
	int read_errno = 0;
	for (;;) {
		if (total >= max_bytes) {
			cut = true;
			break;
		}
		size_t room = sizeof(buf) - 1 - have;
		if (room > max_bytes - total)
			room = max_bytes - total;
		ssize_t n = read(fd, buf + have, room);
		if (n < 0) {
			if (errno == EINTR || (is_kmsg && errno == EPIPE)) /* EPIPE: record overwritten, go on */
				continue;
			if (!(is_kmsg && errno == EAGAIN)) { /* EAGAIN: end of the ring buffer */
				failed = true;
				read_errno = errno;
			}
			n = 0;
		}
		total += (size_t)n;
		if (n == 0 && have == 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			scan_kmsg_line(c, start, &hits);
			lines++;
			start = nl + 1;
		}
		size_t rest = have - (size_t)(start - buf);
		if (n == 0 || rest == sizeof(buf) - 1 || total >= max_bytes) {
			/* last line without newline, or overlong */
			buf[have] = '\0';
			if (rest) {
				scan_kmsg_line(c, start, &hits);
				lines++;
			}
			rest = 0;
			if (n == 0)
				break;
		}
		memmove(buf, start, rest);
		have = rest;
	}
	if (failed) {
		struct check_finding *f = finding(c, "kernel-log", NULL, CHECK_WARN,
						  "kernel log unreadable: firmware errors cannot be checked");
		set_evidence(c, f, "read %s after %zu lines: %s", path, lines, strerror(read_errno));
		return;
	}
	if (cut) {
		struct check_finding *f = finding(c, "kernel-log", NULL, CHECK_WARN,
						  "kernel log longer than %zu bytes: only its start was checked", max_bytes);
		set_evidence(c, f, "%zu lines of %s read", lines, path);
		set_fix(c, f, "give --kmsg the part of the log since the last boot");
		return;
	}
	if (hits == 0) {
		struct check_finding *f = finding(c, "kernel-log", NULL, CHECK_OK,
						  "no SR-IOV firmware errors in the kernel log");
		set_evidence(c, f, "%zu lines of %s read", lines, path);
	}
}

/* Without interrupt remapping VFIO cannot keep a device's MSIs to its VM,
 * and vfio_iommu_type1 refuses to attach the group ("No interrupt remapping
 * support") unless allow_unsafe_interrupts is set. */
static void rule_intremap(struct ctx *c, const struct host_facts *h)
{
	bool on = h->remapped_irqs > 0 || c->intremap_enabled;
	bool unsafe = h->unsafe_now == 1 || h->param_unsafe;
	char irqs[96];
	if (h->remapped_irqs < 0)
		snprintf(irqs, sizeof(irqs), "unreadable");
	else
		snprintf(irqs, sizeof(irqs), "%d interrupts on remapping (IR-/ITS-) chips", h->remapped_irqs);
	char unsafe_text[128];
	snprintf(unsafe_text, sizeof(unsafe_text), "vfio_iommu_type1.allow_unsafe_interrupts: %s%s",
		 h->unsafe_now == 1 ? "Y" : h->unsafe_now == 0 ? "N" : "module not loaded",
		 h->param_unsafe ? ", =1 on the kernel command line" : "");
	const char *proc = c->env->proc_root ? c->env->proc_root : "/proc";
	struct check_finding *f;
	if (on) {
		f = finding(c, "intremap", NULL, CHECK_OK,
			    "interrupt remapping is enabled: a VF's interrupts stay with the VM that has it");
	} else if (h->remapped_irqs < 0 && !c->intremap_line) {
		f = finding(c, "intremap", NULL, CHECK_WARN, "cannot tell whether interrupt remapping is enabled");
	} else if (unsafe) {
		f = finding(c, "intremap", NULL, CHECK_WARN,
			    "interrupt remapping is off; VFIO takes devices only because allow_unsafe_interrupts "
			    "is set");
		set_fix(c, f, "%s, then drop allow_unsafe_interrupts: with it a device in a VM can write any MSI, so "
			      "a guest can inject interrupts into the host and other VMs (acceptable only with "
			      "guests you trust)",
			h->param_intremap_off ? SEE_CMDLINE
					      : "enable interrupt remapping in the BIOS/UEFI setup (part of VT-d/AMD-Vi, "
						"with x2APIC)");
	} else if (h->n_groups == 0) {
		f = finding(c, "intremap", NULL, CHECK_WARN,
			    "interrupt remapping is off, as the IOMMU is: VFIO needs both");
		set_fix(c, f, "%s", h->param_intremap_off ? SEE_CMDLINE
							  : "turn the IOMMU on (see the iommu finding); interrupt "
							    "remapping comes with it where the firmware supports it");
	} else {
		f = finding(c, "intremap", NULL, CHECK_FAIL,
			    "interrupt remapping is off: VFIO refuses to give devices to VMs");
		if (h->param_intremap_off)
			set_fix(c, f, SEE_CMDLINE);
		else
			set_fix(c, f, "enable interrupt remapping in the BIOS/UEFI setup (part of VT-d/AMD-Vi, with "
				      "x2APIC) and see the kernel log for DMAR-IR or AMD-Vi errors; "
				      "vfio_iommu_type1.allow_unsafe_interrupts=1 makes VFIO take devices anyway, but a "
				      "device in a VM can then write any MSI and so inject interrupts into the host and "
				      "other VMs: a last resort, only for guests you trust");
	}
	set_evidence(c, f, "kernel log: %s; %s/interrupts: %s; %s", c->intremap_line ? c->intremap_line : "nothing on it",
		     proc, irqs, unsafe_text);
}

/* Module names use '_' where driver and file names may use '-'
 * (vfio_pci registers the driver vfio-pci from vfio-pci.ko). */
static bool module_name_eq(const char *a, size_t alen, const char *b)
{
	if (alen != strlen(b))
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
		if (x != y)
			return false;
	}
	return true;
}

static bool module_known(const char *modules_dir, const char *module)
{
	const char *lists[] = {"modules.dep", "modules.builtin"};
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		_cleanup_free_ char *p = path_join(modules_dir, lists[i]);
		_cleanup_fclose_ FILE *f = p ? fopen(p, "re") : NULL;
		char line[1024];
		while (f && fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');
			if (colon)
				*colon = '\0';
			line[strcspn(line, "\n")] = '\0';
			const char *base = strrchr(line, '/');
			base = base ? base + 1 : line;
			const char *ko = strstr(base, ".ko");
			if (ko && module_name_eq(base, (size_t)(ko - base), module))
				return true;
		}
	}
	return false;
}

static void rule_vfio(struct ctx *c)
{
	struct check_finding *f;
	/* The module is vfio_pci, the PCI driver it registers (the name bind,
	 * driver_override and the config's `driver:` take) is vfio-pci. */
	bool module = path_exists(c->t->root, "module/vfio_pci");
	if (path_exists(c->t->root, "bus/pci/drivers/vfio-pci")) {
		f = finding(c, "vfio", NULL, CHECK_OK, "the vfio-pci driver is loaded");
		set_evidence(c, f, "%s/bus/pci/drivers/vfio-pci exists%s", c->t->root,
			     module ? " (from the module vfio_pci)" : "");
		return;
	}
	_cleanup_free_ char *dflt = NULL;
	const char *dir = c->env->modules_dir;
	if (!dir) {
		struct utsname u;
		if (uname(&u) == 0 && asprintf(&dflt, "/lib/modules/%s", u.release) > 0)
			dir = dflt;
	}
	if (!str_empty(dir) && module_known(dir, "vfio_pci")) {
		f = finding(c, "vfio", NULL, CHECK_OK,
			    "the vfio-pci driver is available (module vfio_pci, loaded on first bind)");
		set_evidence(c, f, "vfio_pci listed in %s/modules.dep", dir);
		return;
	}
	f = finding(c, "vfio", NULL, CHECK_WARN, "vfio-pci is not available: VFs cannot be passed to VMs");
	set_evidence(c, f, "no %s/bus/pci/drivers/vfio-pci%s%s", c->t->root, str_empty(dir) ? "" : "; not in ",
		     str_empty(dir) ? "" : dir);
	set_fix(c, f, "modprobe vfio-pci, or install a kernel built with CONFIG_VFIO_PCI");
}

static void rule_hugepages(struct ctx *c)
{
	_cleanup_free_ char *dir = path_join(c->t->root, "kernel/mm/hugepages");
	DIR *d = dir ? opendir(dir) : NULL;
	unsigned long total_kb = 0;
	char sizes[256] = "";
	size_t used = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		unsigned long kb;
		if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		_cleanup_free_ char *rel = NULL;
		uint32_t n = 0;
		if (asprintf(&rel, "%s/%s/nr_hugepages", dir, de->d_name) < 0)
			continue;
		if (read_u32_at(AT_FDCWD, rel, 10, &n) < 0)
			continue;
		total_kb += kb * n;
		int w = snprintf(sizes + used, sizeof(sizes) - used, "%s%s: %u", used ? ", " : "", de->d_name, n);
		if (w > 0 && (size_t)w < sizeof(sizes) - used)
			used += (size_t)w;
	}
	if (d)
		closedir(d);
	struct check_finding *f;
	if (total_kb > 0) {
		f = finding(c, "hugepages", NULL, CHECK_OK, "%lu MiB of hugepages reserved", total_kb / 1024);
		set_evidence(c, f, "%s", sizes);
		return;
	}
	f = finding(c, "hugepages", NULL, CHECK_WARN,
		    "no hugepages reserved (needed by DPDK and by VMs backed by hugepages)");
	set_evidence(c, f, "%s", used ? sizes : "no hugepage sizes listed");
	set_fix(c, f, "reserve them: echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages, "
		      "or boot with default_hugepagesz=1G hugepagesz=1G hugepages=N");
}

/* The settings a device's driver cannot do, as the kernel said (caps/):
 * one finding per device whose driver the table names (the VF settings a
 * PF driver lacks are on the PF, not on each of its VFs). */
static void rule_capabilities(struct ctx *c)
{
	for (size_t i = 0; c->env->caps && i < c->t->n_devs; i++) {
		const struct pci_function *d = c->t->devs[i];
		const struct caps_entry *e;
		size_t n = caps_for_driver(c->env->caps, d->driver, &e);
		if (!n)
			continue;
		char list[1024] = "", evidence[2048] = "";
		size_t ll = 0, el = 0;
		for (size_t k = 0; k < n; k++) {
			const char *name = strerrorname_np(-e[k].error);
			if (ll < sizeof(list))
				ll += (size_t)snprintf(list + ll, sizeof(list) - ll, "%s%s", ll ? ", " : "", e[k].setting);
			if (el < sizeof(evidence))
				el += (size_t)snprintf(evidence + el, sizeof(evidence) - el, "%s%s %s %s", el ? "; " : "",
						       e[k].driver, e[k].setting, name ? name : "?");
		}
		struct check_finding *f = finding(c, "capabilities", d->addr, CHECK_WARN,
						  "%s (driver %s) cannot: %s (the kernel answered EOPNOTSUPP)",
						  d->netdevs ? d->netdevs[0] : d->addr, d->driver, list);
		set_evidence(c, f, "%s: %s", c->env->caps_path ? c->env->caps_path : "capability table", evidence);
		set_fix(c, f, "leave %s out of the config for this device (plan warns; the driver refuses it again); after a "
			      "driver update delete its lines from the table to try again", list);
	}
}

int check_run(const struct check_env *env, const struct pci_tree *t, struct check_report *ret)
{
	struct check_report rep = {0};
	struct ctx c = {.env = env, .t = t, .rep = &rep};
	struct host_facts h = {0};

	read_facts(&c, &h);
	rule_iommu(&c, &h);
	rule_cmdline(&c, &h);
	rule_pfs(&c);
	rule_isolation(&c, &h);
	rule_kernel_log(&c);
	rule_intremap(&c, &h);
	rule_vfio(&c);
	rule_hugepages(&c);
	rule_capabilities(&c);
	free(h.cmdline);
	free(c.intremap_line);
	boot_loader_done(&h.boot);
	if (c.error < 0) {
		check_report_done(&rep);
		return c.error;
	}
	*ret = rep;
	return 0;
}

void check_report_done(struct check_report *r)
{
	for (size_t i = 0; r && i < r->n; i++) {
		free(r->findings[i].subject);
		free(r->findings[i].summary);
		free(r->findings[i].evidence);
		free(r->findings[i].fix);
	}
	if (r) {
		free(r->findings);
		*r = (struct check_report){0};
	}
}

enum check_status check_report_worst(const struct check_report *r)
{
	enum check_status worst = CHECK_OK;
	for (size_t i = 0; i < r->n; i++)
		if (r->findings[i].status > worst)
			worst = r->findings[i].status;
	return worst;
}
