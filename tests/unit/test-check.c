/* Unit tests for check/: each rule on fake sysfs, procfs and kernel logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "check/check.h"
#include "fakesysfs.h"
#include "util/util.h"
#include "test-helpers.h"

struct fixture {
	char dir[256];
	char sys[300], proc[300], kmsg[300], modules[300];
};

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/sriovd-check-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
	snprintf(f->kmsg, sizeof(f->kmsg), "%s/kmsg", f->dir);
	snprintf(f->modules, sizeof(f->modules), "%s/modules", f->dir);
	mkdir(f->proc, 0755);
	mkdir(f->modules, 0755);
	char p[400];
	snprintf(p, sizeof(p), "%s/cmdline", f->proc);
	write_file(p, "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on iommu=pt quiet\n");
	snprintf(p, sizeof(p), "%s/cpuinfo", f->proc);
	write_file(p, "processor\t: 0\nvendor_id\t: GenuineIntel\n");
	/* /dev/kmsg record format: prio,seq,usec,flags;text */
	write_file(f->kmsg, "6,1,0,-;Linux version 6.1.0\n6,2,10,-;igb 0000:01:00.0: Intel(R) Gigabit Ethernet\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fakesysfs_rmtree(f->dir);
	free(f);
	return 0;
}

static void set_cmdline(struct fixture *f, const char *cmdline)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/cmdline", f->proc);
	write_file(p, cmdline);
}

struct run {
	struct check_report rep;
	struct pci_tree *t;
};

static void run_checks(struct fixture *f, struct run *run)
{
	assert_int_equal(pci_tree_scan(f->sys, &run->t), 0);
	struct check_env env = {.proc_root = f->proc, .kmsg_path = f->kmsg, .modules_dir = f->modules};
	assert_int_equal(check_run(&env, run->t, &run->rep), 0);
}

static void run_done(struct run *run)
{
	check_report_done(&run->rep);
	pci_tree_free(run->t);
}

static const struct check_finding *find(const struct run *run, const char *check, const char *subject)
{
	for (size_t i = 0; i < run->rep.n; i++) {
		const struct check_finding *c = &run->rep.findings[i];
		if (strcmp(c->check, check) == 0 && streq_ptr(c->subject, subject))
			return c;
	}
	fail_msg("no finding %s/%s", check, subject ? subject : "host");
	return NULL;
}

static void assert_contains(const char *s, const char *needle)
{
	if (!s || !strstr(s, needle))
		fail_msg("'%s' lacks '%s'", s ? s : "(null)", needle);
}

/* A healthy testbed: IOMMU on, vfio-pci loaded, hugepages reserved. */
static void make_ready_host(struct fixture *f)
{
	assert_int_equal(fakesysfs_build_testbed(f->sys, true), 0);
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	assert_int_equal(fakesysfs_set_hugepages(f->sys, 2048, 512, 512), 0);
}

static void test_ready(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	struct run run;
	run_checks(f, &run);
	for (size_t i = 0; i < run.rep.n; i++)
		if (run.rep.findings[i].status != CHECK_OK)
			fail_msg("not ok: %s %s", run.rep.findings[i].check, run.rep.findings[i].summary);
	assert_int_equal(check_report_worst(&run.rep), CHECK_OK);
	assert_contains(find(&run, "iommu", NULL)->summary, "active");
	assert_contains(find(&run, "sriov", "0000:01:00.0")->summary, "3 of 7 VFs");
	assert_contains(find(&run, "sriov", "0000:00:03.0")->summary, "0 of 4 VFs");
	assert_contains(find(&run, "isolation", "0000:01:00.0")->summary, "each of the 3 VFs");
	assert_contains(find(&run, "kernel-log", NULL)->evidence, "2 lines");
	assert_contains(find(&run, "hugepages", NULL)->summary, "1024 MiB");
	run_done(&run);
}

static void test_iommu_off(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, false), 0);
	set_cmdline(f, "root=/dev/sda1 quiet\n");
	struct run run;
	run_checks(f, &run);
	assert_int_equal(check_report_worst(&run.rep), CHECK_FAIL);
	const struct check_finding *c = find(&run, "iommu", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->fix, "intel_iommu=on iommu=pt");
	c = find(&run, "cmdline", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->evidence, "root=/dev/sda1 quiet");
	assert_contains(c->fix, "intel_iommu=on iommu=pt");
	run_done(&run);
}

static void test_iommu_asked_but_no_firmware(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, false), 0);
	struct run run;
	run_checks(f, &run); /* cmdline has intel_iommu=on */
	const struct check_finding *c = find(&run, "iommu", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->fix, "BIOS");
	run_done(&run);
}

static void test_amd_and_off(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, false), 0);
	char p[400];
	snprintf(p, sizeof(p), "%s/cpuinfo", f->proc);
	write_file(p, "vendor_id\t: AuthenticAMD\n");
	set_cmdline(f, "root=/dev/sda1 amd_iommu=off\n");
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "cmdline", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->summary, "turns the IOMMU off");
	assert_contains(c->fix, "add iommu=pt");
	assert_null(strstr(c->fix, "amd_iommu=on")); /* not a kernel option */
	run_done(&run);

	/* AMD CPU, no IOMMU asked for: AMD-Vi is on by default, so the fix is
	 * the firmware setting, not a command-line switch */
	set_cmdline(f, "root=/dev/sda1\n");
	run_checks(f, &run);
	c = find(&run, "iommu", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->fix, "AMD-Vi");
	assert_contains(c->fix, "BIOS");
	run_done(&run);

	/* An AMD CPU with Intel's IOMMU tables (a VM): the firmware wins */
	assert_int_equal(fakesysfs_write(f->sys, "firmware/acpi/tables/DMAR", "x"), 0);
	run_checks(f, &run);
	assert_contains(find(&run, "iommu", NULL)->evidence, "ACPI DMAR table: present");
	assert_contains(find(&run, "cmdline", NULL)->fix, "intel_iommu=on iommu=pt");
	run_done(&run);
}

static void test_no_passthrough_mode(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	/* "amd_iommu=pt" must not count as iommu=pt */
	set_cmdline(f, "intel_iommu=on amd_iommu=pt\n");
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "cmdline", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	assert_contains(c->fix, "iommu=pt");
	assert_int_equal(check_report_worst(&run.rep), CHECK_WARN);
	run_done(&run);
}

static void kmsg_case(struct fixture *f, const char *line, const char *subject, const char *fix)
{
	write_file(f->kmsg, line);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "kernel-log", subject);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->fix, fix);
	assert_contains(c->evidence, "kernel log:");
	run_done(&run);
	fakesysfs_rmtree(f->sys);
	make_ready_host(f);
}

static void test_kernel_log(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	kmsg_case(f, "3,100,5,-;igb 0000:01:00.0: not enough MMIO resources for SR-IOV\n", "0000:01:00.0",
		  "pci=realloc");
	kmsg_case(f, "pci 0000:02:00.0: SR-IOV: bus number out of range\n", "0000:02:00.0", "pci=assign-busses");
	kmsg_case(f, "6,1,0,-;boot\n3,7,9,-;ixgbe 0000:03:00.1: Failed to enable PCI sriov: -12", "0000:03:00.1",
		  "BIOS");
	/* unreadable log: a warning that says why, not a failure */
	snprintf(f->kmsg, sizeof(f->kmsg), "%s/no-such-log", f->dir);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "kernel-log", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	assert_contains(c->evidence, "No such file");
	run_done(&run);
}

static void test_shared_group(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_grid_ex(f->sys, 1, 2, FAKESYSFS_SHARED_GROUPS), 0);
	char pf[16];
	assert_int_equal(fakesysfs_grid_pf_address(0, 2, pf, sizeof(pf)), 0);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "isolation", pf);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->summary, "2 of 2 VFs share an IOMMU group");
	assert_contains(c->fix, "ACS");
	run_done(&run);
}

static void test_pf_unbound_and_vfio_module(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, true), 0);
	assert_int_equal(fakesysfs_unbind(f->sys, "0000:00:03.0"), 0);
	char p[400];
	snprintf(p, sizeof(p), "%s/modules.dep", f->modules);
	write_file(p, "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n");
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "sriov", "0000:00:03.0");
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->summary, "no driver bound");
	c = find(&run, "vfio", NULL);
	assert_int_equal(c->status, CHECK_OK);
	assert_contains(c->summary, "module");
	c = find(&run, "hugepages", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	run_done(&run);

	unlink(p);
	run_checks(f, &run);
	c = find(&run, "vfio", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	assert_contains(c->fix, "vfio-pci");
	run_done(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommu_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommu_asked_but_no_firmware, setup, teardown),
		cmocka_unit_test_setup_teardown(test_amd_and_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_passthrough_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pf_unbound_and_vfio_module, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
