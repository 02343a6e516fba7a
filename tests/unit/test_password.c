/* Unit tests of src/password.c through password.h, with cheap parameters. */
#include <sys/resource.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "password.h"

static const struct password_params	 small = { 4, 8, 1 };
static const char			 pw[] = "correct horse";

static void
hash_small(const char *p, char *out)
{
	assert_int_equal(password_hash(p, strlen(p), &small, out,
	    PASSWORD_HASH_MAX), 0);
}

static void
test_hash_verify_round_trip(void **state)
{
	char	 h[PASSWORD_HASH_MAX];

	(void)state;
	hash_small(pw, h);
	assert_int_equal(strncmp(h, "$scrypt$ln=4,r=8,p=1$", 21), 0);
	assert_true(strlen(h) < PASSWORD_HASH_MAX);
	assert_int_equal(password_verify(pw, strlen(pw), h), 1);
}

static void
test_wrong_password_refused(void **state)
{
	char	 h[PASSWORD_HASH_MAX];

	(void)state;
	hash_small(pw, h);
	assert_int_equal(password_verify("correct horsf", 13, h), 0);
	assert_int_equal(password_verify("correct hors", 12, h), 0);
	assert_int_equal(password_verify("", 0, h), 0);
	/* Length counts, not the C string: a NUL does not end a password. */
	assert_int_equal(password_verify("correct horse\0x", 15, h), 0);
}

static void
test_salt_differs_between_hashes(void **state)
{
	char	 a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	(void)state;
	hash_small(pw, a);
	hash_small(pw, b);
	assert_string_not_equal(a, b);
	assert_int_equal(password_verify(pw, strlen(pw), b), 1);
}

static void
test_tampered_hash_refused(void **state)
{
	char	 h[PASSWORD_HASH_MAX];
	size_t	 last;

	(void)state;
	hash_small(pw, h);
	last = strlen(h) - 2;
	h[last] = h[last] == 'A' ? 'B' : 'A';
	assert_int_not_equal(password_verify(pw, strlen(pw), h), 1);
}

static void
test_malformed_hashes_rejected(void **state)
{
	static const char *const bad[] = {
		"",
		"$scrypt$",
		"$scrypt$ln=4,r=8,p=1$",
		"$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$",
		"$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=4,r=8$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=0,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=99,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=4,r=0,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=-4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$",
		"$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=4,r=8,p=1$AAAAAAAA+AAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$bcrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$2y$10$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
		"plaintext",
	};
	struct password_params	 pp;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(password_verify(pw, strlen(pw), bad[i]), -1);
		assert_int_equal(password_params_parse(bad[i], &pp), -1);
		assert_int_equal(password_needs_rehash(bad[i], &small), 1);
	}
}

static void
test_well_formed_zero_hash_parses(void **state)
{
	static const char	 h[] = "$scrypt$ln=4,r=8,p=1$"
	    "AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	struct password_params	 pp;

	(void)state;
	/* The control for test_malformed_hashes_rejected: only one change. */
	assert_int_equal(password_params_parse(h, &pp), 0);
	assert_int_equal(password_verify(pw, strlen(pw), h), 0);
}

static void
test_params_parse(void **state)
{
	char			 h[PASSWORD_HASH_MAX];
	struct password_params	 pp = { 0, 0, 0 };
	const struct password_params	 other = { 5, 4, 2 };

	(void)state;
	hash_small(pw, h);
	assert_int_equal(password_params_parse(h, &pp), 0);
	assert_int_equal(pp.log2n, 4);
	assert_int_equal(pp.r, 8);
	assert_int_equal(pp.p, 1);
	assert_int_equal(password_hash(pw, strlen(pw), &other, h, sizeof(h)),
	    0);
	assert_int_equal(password_params_parse(h, &pp), 0);
	assert_int_equal(pp.log2n, 5);
	assert_int_equal(pp.r, 4);
	assert_int_equal(pp.p, 2);
	assert_int_equal(password_verify(pw, strlen(pw), h), 1);
}

static void
test_needs_rehash_when_params_differ(void **state)
{
	char				 h[PASSWORD_HASH_MAX];
	const struct password_params	 more_n = { 5, 8, 1 };
	const struct password_params	 more_r = { 4, 9, 1 };
	const struct password_params	 more_p = { 4, 8, 2 };

	(void)state;
	hash_small(pw, h);
	assert_int_equal(password_needs_rehash(h, &small), 0);
	assert_int_equal(password_needs_rehash(h, &more_n), 1);
	assert_int_equal(password_needs_rehash(h, &more_r), 1);
	assert_int_equal(password_needs_rehash(h, &more_p), 1);
}

static void
test_hash_refuses_bad_input(void **state)
{
	char				 h[PASSWORD_HASH_MAX];
	static char			 big[PASSWORD_MAX + 1];
	const struct password_params	 zero_n = { 0, 8, 1 };
	const struct password_params	 zero_r = { 4, 0, 1 };

	(void)state;
	assert_int_equal(password_hash(pw, strlen(pw), &zero_n, h, sizeof(h)),
	    -1);
	assert_int_equal(password_hash(pw, strlen(pw), &zero_r, h, sizeof(h)),
	    -1);
	/* Too small an output buffer is an error, not a truncated hash. */
	assert_int_equal(password_hash(pw, strlen(pw), &small, h, 40), -1);
	memset(big, 'x', sizeof(big));
	assert_int_equal(password_hash(big, sizeof(big), &small, h,
	    sizeof(h)), -1);
	assert_int_equal(password_hash(big, PASSWORD_MAX, &small, h,
	    sizeof(h)), 0);
	assert_int_equal(password_verify(big, PASSWORD_MAX, h), 1);
	assert_int_equal(password_verify(big, sizeof(big), h), 0);
}

static void
test_dummy_verify_runs(void **state)
{
	(void)state;
	password_dummy_verify(pw, strlen(pw), &small);
	password_dummy_verify("", 0, &small);
}

/*
 * Hashing runs at niceness 10 on a thread of its own (issue 11: a
 * worker's checks come first), every kind of it, and leaves the calling
 * thread's niceness as it was.
 */
static void
test_hashing_runs_niced(void **state)
{
	char	 h[PASSWORD_HASH_MAX];
	int	 before;

	(void)state;
	errno = 0;
	before = getpriority(PRIO_PROCESS, 0);
	assert_int_equal(errno, 0);
	if (before > 10)
		skip();		/* already nicer: cannot go back to 10 */
	hash_small(pw, h);
	assert_int_equal(password_last_nice(), 10);
	assert_int_equal(getpriority(PRIO_PROCESS, 0), before);
	assert_int_equal(password_verify(pw, strlen(pw), h), 1);
	assert_int_equal(password_last_nice(), 10);
	password_dummy_verify(pw, strlen(pw), &small);
	assert_int_equal(password_last_nice(), 10);
	assert_int_equal(getpriority(PRIO_PROCESS, 0), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify_round_trip),
		cmocka_unit_test(test_wrong_password_refused),
		cmocka_unit_test(test_salt_differs_between_hashes),
		cmocka_unit_test(test_tampered_hash_refused),
		cmocka_unit_test(test_malformed_hashes_rejected),
		cmocka_unit_test(test_well_formed_zero_hash_parses),
		cmocka_unit_test(test_params_parse),
		cmocka_unit_test(test_needs_rehash_when_params_differ),
		cmocka_unit_test(test_hash_refuses_bad_input),
		cmocka_unit_test(test_dummy_verify_runs),
		cmocka_unit_test(test_hashing_runs_niced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
