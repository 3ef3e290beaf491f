/* Unit tests for daemon/heal: per-PF retry state and the drift detector,
 * with the time given by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "daemon/heal.h"

#define ETH0 "0000:01:00.0"
#define ETH1 "0000:02:00.0"

static void test_refused_pf_backs_off_alone(void **state)
{
	(void)state;
	struct heal h = {0};
	uint64_t t = 1000000;
	struct heal_pf *e1 = heal_pf(&h, ETH1);
	assert_non_null(e1);
	assert_true(heal_pf_due(e1, t));
	assert_int_equal(heal_pf_failed(e1, "numvfs 2: VF 0000:02:10.0 is bound to vfio-pci", true, t), 1000);
	struct heal_pf *e0 = heal_pf(&h, ETH0);
	e1 = heal_pf_find(&h, ETH1); /* heal_pf may have moved the table */
	/* eth1 waits; eth0 is healed at once. */
	assert_false(heal_pf_due(e1, t + 999));
	assert_true(heal_pf_due(e1, t + 1000));
	assert_true(heal_pf_due(e0, t));
	assert_true(heal_pf_due(heal_pf_find(&h, "0000:03:00.0"), t)); /* unknown: due */
	assert_int_equal(heal_next_retry(&h), t + 1000);
	assert_string_equal(e1->error, "numvfs 2: VF 0000:02:10.0 is bound to vfio-pci");
	assert_true(e1->refused);
	assert_null(e0->error);
	/* Each failure doubles the delay, up to the maximum. */
	unsigned want[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		t += 100000;
		assert_int_equal(heal_pf_failed(e1, "still", true, t), want[i]);
		assert_int_equal(e1->retry_at_ms, t + want[i]);
	}
	assert_int_equal(e1->since_ms, 1000000); /* stuck since the first failure */
	assert_string_equal(e1->error, "still");
	/* Healed: no longer stuck, the next failure starts over. */
	heal_pf_ok(e1);
	assert_null(e1->error);
	assert_false(e1->refused);
	assert_int_equal(heal_next_retry(&h), 0);
	assert_true(heal_pf_due(e1, t));
	assert_int_equal(heal_pf_failed(e1, "again", false, t), 1000);
	assert_false(e1->refused);
	heal_done(&h);
}

static void test_next_retry_is_earliest(void **state)
{
	(void)state;
	struct heal h = {0};
	heal_pf_failed(heal_pf(&h, ETH1), "x", false, 5000);
	struct heal_pf *e0 = heal_pf(&h, ETH0);
	heal_pf_failed(e0, "y", false, 100);
	heal_pf_failed(e0, "y", false, 200); /* 2 s: retry at 2200 */
	assert_int_equal(heal_next_retry(&h), 2200);
	assert_int_equal(h.n_pfs, 2);
	heal_done(&h);
}

/* Six `ip link set eth0 vf N ...` edits of different VFs, 4.5 s apart. */
static void test_edits_of_different_vfs_never_fire(void **state)
{
	(void)state;
	struct heal h = {0};
	uint64_t t = 50000;
	for (int32_t vf = 0; vf < 6; vf++, t += 4500)
		assert_int_equal(heal_note_repair(&h, ETH0, vf, "mac", t), 1);
	/* Different fields of one VF, and the same field on other PFs, too. */
	const char *fields[] = {"vlan", "qos", "spoofchk", "trust", "max-rate"};
	for (size_t i = 0; i < 5; i++, t += 1000)
		assert_int_equal(heal_note_repair(&h, ETH0, 0, fields[i], t), 1);
	for (int i = 0; i < 4; i++, t += 1000)
		assert_int_equal(heal_note_repair(&h, ETH1, 0, "mac", t), (unsigned)i + 1);
	assert_int_equal(heal_note_repair(&h, ETH0, -1, "numvfs", t), 1);
	heal_done(&h);
}

static void test_repeated_repairs_of_one_field_fire(void **state)
{
	(void)state;
	struct heal h = {0};
	uint64_t t = 0;
	/* The documented rule: 5 repairs of one field within 60 s. */
	for (unsigned i = 1; i <= 5; i++, t += 400) {
		assert_int_equal(heal_note_repair(&h, ETH0, 3, "mac", t), i);
		/* Other work in between does not count toward it. */
		heal_note_repair(&h, ETH0, (int32_t)i + 3, "mac", t);
	}
	assert_true(heal_note_repair(&h, ETH0, 3, "mac", t) >= HEAL_FLAP_REPAIRS);
	assert_int_equal(HEAL_FLAP_REPAIRS, 5);
	/* It stays at the threshold while the reverting goes on. */
	assert_int_equal(heal_note_repair(&h, ETH0, 3, "mac", t), 5);
	heal_done(&h);
}

static void test_repairs_leave_the_window(void **state)
{
	(void)state;
	struct heal h = {0};
	/* Five repairs of one field, but spread over more than the window. */
	uint64_t step = 60000 / 4 + 1;
	unsigned want[] = {1, 2, 3, 4, 4, 4};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(heal_note_repair(&h, ETH0, 1, "vlan", 10 + i * step), want[i]);
	/* Long quiet: forgotten, entries dropped. */
	assert_int_equal(heal_note_repair(&h, ETH1, 0, "mac", 10 + 6 * step + 60000), 1);
	assert_int_equal(h.n_repairs, 1);
	heal_done(&h);
}

static void test_forget_repairs(void **state)
{
	(void)state;
	struct heal h = {0};
	for (int i = 0; i < 3; i++) {
		heal_note_repair(&h, ETH0, 0, "mac", (uint64_t)i);
		heal_note_repair(&h, ETH1, 0, "mac", (uint64_t)i);
	}
	heal_forget_repairs(&h, ETH0);
	assert_int_equal(heal_note_repair(&h, ETH0, 0, "mac", 10), 1);
	assert_int_equal(heal_note_repair(&h, ETH1, 0, "mac", 10), 4);
	heal_forget_repairs(&h, NULL);
	assert_int_equal(h.n_repairs, 0);
	heal_done(&h);
}

/* Something reverts VF 2's MAC: backed off, doubling at each repair, kept
 * so while in sync between reverts, released when the reverting stops. */
static void test_flapping_pf_slows_down_until_it_stops(void **state)
{
	(void)state;
	struct heal h = {0};
	uint64_t t = 1000;
	for (int i = 0; i < 5; i++, t += 300)
		heal_note_repair(&h, ETH0, 2, "mac", t);
	struct heal_pf *p = heal_pf(&h, ETH0);
	assert_false(heal_flap_over(&h, ETH0, t));
	assert_true(heal_flap_over(&h, ETH1, t));
	assert_int_equal(heal_pf_flapping(p, "something reverts mac of eth0 VF 2", t), 1000);
	assert_true(p->flapping);
	assert_false(heal_pf_due(p, t + 999));
	/* In sync at the retry time: quiet, no timer, due for the next drift. */
	heal_pf_quiet(p);
	assert_true(heal_pf_due(p, t + 1000));
	assert_int_equal(heal_next_retry(&h), 0);
	assert_true(p->flapping);
	assert_string_equal(p->error, "something reverts mac of eth0 VF 2");
	/* Reverted again: the next back-off is longer. */
	t += 1500;
	heal_note_repair(&h, ETH0, 2, "mac", t);
	assert_int_equal(heal_pf_flapping(p, "again", t), 2000);
	assert_int_equal(heal_next_retry(&h), t + 2000);
	/* A refusal is not a flap. */
	assert_int_equal(heal_pf_failed(p, "refused", true, t), 4000);
	assert_false(p->flapping);
	/* The reverting stopped: over once the fifth newest repair (at 1300)
	 * has left the 60 s window. */
	assert_int_equal(t, 4000);
	assert_false(heal_flap_over(&h, ETH0, 61299));
	assert_true(heal_flap_over(&h, ETH0, 61300));
	heal_pf_ok(p);
	assert_false(p->flapping);
	assert_null(p->error);
	heal_done(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_pf_backs_off_alone),
		cmocka_unit_test(test_next_retry_is_earliest),
		cmocka_unit_test(test_edits_of_different_vfs_never_fire),
		cmocka_unit_test(test_repeated_repairs_of_one_field_fire),
		cmocka_unit_test(test_repairs_leave_the_window),
		cmocka_unit_test(test_forget_repairs),
		cmocka_unit_test(test_flapping_pf_slows_down_until_it_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
