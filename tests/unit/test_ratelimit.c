/* Unit tests of src/ratelimit.c: client address keys and Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

static void
expect_key(const char *addr, int prefix, const char *want)
{
	char	 out[RATELIMIT_KEY_MAX];

	assert_int_equal(ratelimit_addr_key(addr, prefix, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_ipv4_counted_per_address(void **state)
{
	(void)state;
	expect_key("192.0.2.7", 64, "192.0.2.7");
	expect_key("", 64, "");
}

static void
test_ipv6_masked_to_prefix(void **state)
{
	(void)state;
	expect_key("2001:db8:1:2:aa:bb:cc:dd", 64, "2001:db8:1:2::/64");
	expect_key("2001:DB8:1:2::1", 64, "2001:db8:1:2::/64");
	expect_key("2001:db8:1:2::1", 48, "2001:db8:1::/48");
	expect_key("2001:db8:1:2::1", 56, "2001:db8:1::/56");
	expect_key("2001:db8:1:2ff::1", 60, "2001:db8:1:2f0::/60");
	expect_key("2001:db8::1", 128, "2001:db8::1/128");
}

/*
 * Behind a dual-stack front end every IPv4 client arrives as ::ffff:a.b.c.d;
 * masked to /64 they would all share "::/64" (issue 10, item 4).
 */
static void
test_ipv4_mapped_counts_as_ipv4(void **state)
{
	char	 a[RATELIMIT_KEY_MAX], b[RATELIMIT_KEY_MAX];

	(void)state;
	expect_key("::ffff:192.0.2.1", 64, "192.0.2.1");
	expect_key("::FFFF:192.0.2.1", 128, "192.0.2.1");
	expect_key("::ffff:c000:201", 0, "192.0.2.1");
	assert_int_equal(ratelimit_addr_key("::ffff:10.0.0.1", 64, a,
	    sizeof(a)), 0);
	assert_int_equal(ratelimit_addr_key("10.0.0.1", 64, b, sizeof(b)), 0);
	assert_string_equal(a, b);
	assert_int_equal(ratelimit_addr_key("::ffff:10.0.0.2", 64, b,
	    sizeof(b)), 0);
	assert_string_not_equal(a, b);
	/* Only ::ffff:0:0/96 is folded: these stay IPv6, per prefix. */
	expect_key("::10.0.0.1", 64, "::/64");
	expect_key("64:ff9b::10.0.0.1", 64, "64:ff9b::/64");
	expect_key("::ffff:0:10.0.0.1", 64, "::/64");
}

static void
test_two_addresses_of_one_64_share_a_key(void **state)
{
	char	 a[RATELIMIT_KEY_MAX], b[RATELIMIT_KEY_MAX];

	(void)state;
	assert_int_equal(ratelimit_addr_key("2001:db8::1", 64, a, sizeof(a)), 0);
	assert_int_equal(ratelimit_addr_key("2001:db8::ffff:1", 64, b,
	    sizeof(b)), 0);
	assert_string_equal(a, b);
	assert_int_equal(ratelimit_addr_key("2001:db8:0:1::1", 64, b,
	    sizeof(b)), 0);
	assert_string_not_equal(a, b);
}

/* REMOTE_ADDR is the web server's word: whatever it is, a bounded key. */
static void
test_garbage_addresses_give_bounded_keys(void **state)
{
	char	 in[300], out[RATELIMIT_KEY_MAX];

	(void)state;
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(ratelimit_addr_key(in, 64, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), RATELIMIT_KEY_MAX - 1);
	expect_key("::not-an-address", 64, "::not-an-address");
	expect_key("2001:db8::1%eth0", 64, "2001:db8::1%eth0");
	expect_key("unix:", 64, "unix:");
	expect_key("::ffff:10.0.0.256", 64, "::ffff:10.0.0.256");
	expect_key("::ffff:10.0.0.1%eth0", 64, "::ffff:10.0.0.1%eth0");
}

static void
test_small_buffer_fails(void **state)
{
	char	 out[8];

	(void)state;
	assert_int_equal(ratelimit_addr_key("2001:db8::1", 64, out,
	    sizeof(out)), -1);
	assert_int_equal(ratelimit_addr_key("::ffff:192.0.2.1", 64, out,
	    sizeof(out)), -1);
}

static void
test_retry_after_is_when_the_oldest_leaves(void **state)
{
	(void)state;
	assert_int_equal(ratelimit_retry_after(1000, 900, 1000), 900);
	assert_int_equal(ratelimit_retry_after(1000, 900, 1899), 1);
	assert_int_equal(ratelimit_retry_after(1000, 900, 1900), 1);
	assert_int_equal(ratelimit_retry_after(1000, 900, 5000), 1);
	assert_int_equal(ratelimit_retry_after(1000, 4, 1001), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_counted_per_address),
		cmocka_unit_test(test_ipv6_masked_to_prefix),
		cmocka_unit_test(test_two_addresses_of_one_64_share_a_key),
		cmocka_unit_test(test_ipv4_mapped_counts_as_ipv4),
		cmocka_unit_test(test_small_buffer_fails),
		cmocka_unit_test(test_garbage_addresses_give_bounded_keys),
		cmocka_unit_test(test_retry_after_is_when_the_oldest_leaves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
