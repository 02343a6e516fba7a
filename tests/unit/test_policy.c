/* Unit tests of src/policy.c: expiry, cap and renewal by extension. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy.h"

#define DAY	INT64_C(86400)
#define T0	INT64_C(1700000000)

static const struct policy	 def = { DAY, 30 * DAY };

static void
test_initial_expiry_is_idle_lifetime(void **state)
{
	(void)state;
	assert_int_equal(policy_initial_expiry(&def, T0), T0 + DAY);
}

static void
test_initial_expiry_capped_by_max_lifetime(void **state)
{
	const struct policy	 p = { DAY, 3600 };

	(void)state;
	assert_int_equal(policy_initial_expiry(&p, T0), T0 + 3600);
}

static void
test_alive_until_expiry_exclusive(void **state)
{
	(void)state;
	assert_true(policy_alive(&def, T0, T0, T0 + DAY));
	assert_true(policy_alive(&def, T0 + DAY - 1, T0, T0 + DAY));
	assert_false(policy_alive(&def, T0 + DAY, T0, T0 + DAY));
	assert_false(policy_alive(&def, T0 + DAY + 1, T0, T0 + DAY));
}

static void
test_alive_never_past_absolute_cap(void **state)
{
	int64_t	 cap = T0 + 30 * DAY;

	(void)state;
	/* A stored expiry beyond the cap (corrupt or older config). */
	assert_true(policy_alive(&def, cap - 1, T0, cap + DAY));
	assert_false(policy_alive(&def, cap, T0, cap + DAY));
}

static void
test_extend_not_before_half_lifetime(void **state)
{
	int64_t	 exp = T0 + DAY;

	(void)state;
	assert_int_equal(policy_extend(&def, T0, T0, exp), 0);
	assert_int_equal(policy_extend(&def, T0 + DAY / 2 - 1, T0, exp), 0);
	/* Exactly half a lifetime left: still no write. */
	assert_int_equal(policy_extend(&def, T0 + DAY / 2, T0, exp), 0);
	assert_int_equal(policy_extend(&def, T0 + DAY / 2 + 1, T0, exp),
	    T0 + DAY / 2 + 1 + DAY);
}

static void
test_extend_capped_by_created_plus_max(void **state)
{
	int64_t	 cap = T0 + 30 * DAY;
	int64_t	 now = cap - DAY / 4;

	(void)state;
	assert_int_equal(policy_extend(&def, now, T0, now + 60), cap);
	/* Already at the cap: nothing later to write. */
	assert_int_equal(policy_extend(&def, now, T0, cap), 0);
}

static void
test_extend_dead_session_not_revived(void **state)
{
	(void)state;
	assert_int_equal(policy_extend(&def, T0 + DAY, T0, T0 + DAY), 0);
	assert_int_equal(policy_extend(&def, T0 + 2 * DAY, T0, T0 + DAY), 0);
	assert_int_equal(policy_extend(&def, T0 + 30 * DAY, T0,
	    T0 + 31 * DAY), 0);
}

static void
test_extend_odd_lifetime_uses_exact_half(void **state)
{
	const struct policy	 p = { 3, 100 };

	(void)state;
	/* 1 s left of 3 is less than half: extend (integer 3/2 would not). */
	assert_int_equal(policy_extend(&p, T0, T0, T0 + 1), T0 + 3);
	assert_int_equal(policy_extend(&p, T0, T0, T0 + 2), 0);
}

static void
test_extend_saturates_instead_of_overflowing(void **state)
{
	const struct policy	 p = { INT64_MAX, INT64_MAX };

	(void)state;
	assert_int_equal(policy_initial_expiry(&p, T0), INT64_MAX);
	assert_true(policy_alive(&p, T0, T0, INT64_MAX));
	assert_int_equal(policy_extend(&p, INT64_MAX - 1, T0, INT64_MAX), 0);
	assert_int_equal(policy_extend(&def, INT64_MAX - DAY, INT64_MAX - DAY,
	    INT64_MAX - DAY + 1), INT64_MAX);
	assert_false(policy_alive(&def, INT64_MIN, INT64_MIN, INT64_MIN));
}

static void
test_session_in_use_lives_to_cap_with_few_writes(void **state)
{
	int64_t	 now, exp, next, cap = T0 + 30 * DAY;
	int	 writes = 0;

	(void)state;
	exp = policy_initial_expiry(&def, T0);
	/* A request every ten minutes for the whole absolute lifetime. */
	for (now = T0; now < cap; now += 600) {
		assert_true(policy_alive(&def, now, T0, exp));
		if ((next = policy_extend(&def, now, T0, exp)) != 0) {
			assert_true(next > exp);
			assert_true(next <= cap);
			exp = next;
			writes++;
		}
	}
	assert_false(policy_alive(&def, cap, T0, exp));
	/* At most one write per half lifetime. */
	assert_true(writes <= 2 * 30 + 1);
	assert_true(writes >= 30);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_expiry_is_idle_lifetime),
		cmocka_unit_test(test_initial_expiry_capped_by_max_lifetime),
		cmocka_unit_test(test_alive_until_expiry_exclusive),
		cmocka_unit_test(test_alive_never_past_absolute_cap),
		cmocka_unit_test(test_extend_not_before_half_lifetime),
		cmocka_unit_test(test_extend_capped_by_created_plus_max),
		cmocka_unit_test(test_extend_dead_session_not_revived),
		cmocka_unit_test(test_extend_odd_lifetime_uses_exact_half),
		cmocka_unit_test(test_extend_saturates_instead_of_overflowing),
		cmocka_unit_test(test_session_in_use_lives_to_cap_with_few_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
