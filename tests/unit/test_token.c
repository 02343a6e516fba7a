/* Unit tests of src/token.c: bearer tokens out as text, in as hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "token.h"

static void
test_text_length(void **state)
{
	(void)state;
	assert_int_equal(TOKEN_TEXT_LEN(32), 43);
	assert_int_equal(TOKEN_TEXT_LEN(16), 22);
	assert_int_equal(TOKEN_TEXT_LEN(1), 2);
	assert_int_equal(TOKEN_TEXT_LEN(3), 4);
}

static void
test_new_then_hash_round_trip(void **state)
{
	char		 text[TOKEN_TEXT_LEN(32) + 1];
	unsigned char	 h1[CRYPTO_SHA256_LEN], h2[CRYPTO_SHA256_LEN];

	(void)state;
	assert_int_equal(token_new(32, text, sizeof(text), h1), 0);
	assert_int_equal(strlen(text), 43);
	assert_int_equal(token_hash(text, strlen(text), 32, h2), 0);
	assert_memory_equal(h1, h2, sizeof(h1));
}

static void
test_new_tokens_differ(void **state)
{
	char		 a[TOKEN_TEXT_LEN(32) + 1], b[TOKEN_TEXT_LEN(32) + 1];
	unsigned char	 ha[CRYPTO_SHA256_LEN], hb[CRYPTO_SHA256_LEN];

	(void)state;
	assert_int_equal(token_new(32, a, sizeof(a), ha), 0);
	assert_int_equal(token_new(32, b, sizeof(b), hb), 0);
	assert_string_not_equal(a, b);
	assert_memory_not_equal(ha, hb, sizeof(ha));
}

static void
test_hash_is_sha256_of_raw_bytes(void **state)
{
	unsigned char	 raw[32], want[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN];
	char		 text[CRYPTO_B64_LEN(32)];

	(void)state;
	memset(raw, 0xa5, sizeof(raw));
	assert_int_equal(crypto_b64url_encode(raw, sizeof(raw), text,
	    sizeof(text)), 43);
	crypto_sha256(raw, sizeof(raw), want);
	assert_int_equal(token_hash(text, 43, 32, got), 0);
	assert_memory_equal(want, got, sizeof(want));
}

static void
test_hash_refuses_malformed(void **state)
{
	char		 text[TOKEN_TEXT_LEN(32) + 1], bad[64];
	unsigned char	 h[CRYPTO_SHA256_LEN];

	(void)state;
	assert_int_equal(token_new(32, text, sizeof(text), h), 0);
	/* Another length of the same kind, or of another kind. */
	assert_int_equal(token_hash(text, 42, 32, h), -1);
	assert_int_equal(token_hash(text, 43, 16, h), -1);
	memcpy(bad, text, 43);
	bad[43] = 'A';
	assert_int_equal(token_hash(bad, 44, 32, h), -1);
	/* Outside the url alphabet, padding, a NUL inside. */
	memcpy(bad, text, 43);
	bad[10] = '+';
	assert_int_equal(token_hash(bad, 43, 32, h), -1);
	bad[10] = '=';
	assert_int_equal(token_hash(bad, 43, 32, h), -1);
	bad[10] = '\0';
	assert_int_equal(token_hash(bad, 43, 32, h), -1);
	assert_int_equal(token_hash("", 0, 32, h), -1);
}

static void
test_bounds(void **state)
{
	char		 text[TOKEN_TEXT_LEN(TOKEN_RAW_MAX) + 1];
	unsigned char	 h[CRYPTO_SHA256_LEN];

	(void)state;
	assert_int_equal(token_new(0, text, sizeof(text), h), -1);
	assert_int_equal(token_new(TOKEN_RAW_MAX + 1, text, sizeof(text), h),
	    -1);
	/* No room for the terminator. */
	assert_int_equal(token_new(32, text, TOKEN_TEXT_LEN(32), h), -1);
	assert_int_equal(token_new(TOKEN_RAW_MAX, text, sizeof(text), h), 0);
	assert_int_equal(token_hash(text, strlen(text), TOKEN_RAW_MAX, h), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_length),
		cmocka_unit_test(test_new_then_hash_round_trip),
		cmocka_unit_test(test_new_tokens_differ),
		cmocka_unit_test(test_hash_is_sha256_of_raw_bytes),
		cmocka_unit_test(test_hash_refuses_malformed),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
