/* Unit tests of src/crypto.c through crypto.h: encodings, digests, compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"

static void
check_encode(const char *in, size_t len, const char *want)
{
	char	 out[CRYPTO_B64_LEN(64)];

	assert_int_equal(crypto_b64url_encode((const unsigned char *)in, len,
	    out, sizeof(out)), (int)strlen(want));
	assert_string_equal(out, want);
}

static void
test_b64url_known_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10, without padding. */
	check_encode("", 0, "");
	check_encode("f", 1, "Zg");
	check_encode("fo", 2, "Zm8");
	check_encode("foo", 3, "Zm9v");
	check_encode("foob", 4, "Zm9vYg");
	check_encode("fooba", 5, "Zm9vYmE");
	check_encode("foobar", 6, "Zm9vYmFy");
	/* The url alphabet: 62 is '-', 63 is '_'. */
	check_encode("\xfb\xff", 2, "-_8");
	check_encode("\xff\xff\xff", 3, "____");
}

static void
test_b64url_round_trip_every_length(void **state)
{
	unsigned char	 in[64], back[64];
	char		 enc[CRYPTO_B64_LEN(64)];
	size_t		 len, i;
	int		 n;

	(void)state;
	for (len = 0; len <= sizeof(in); len++) {
		for (i = 0; i < len; i++)
			in[i] = (unsigned char)(i * 37 + len);
		n = crypto_b64url_encode(in, len, enc, sizeof(enc));
		assert_true(n >= 0);
		assert_int_equal((size_t)n, (len * 4 + 2) / 3);
		assert_int_equal(strlen(enc), (size_t)n);
		assert_int_equal(crypto_b64url_decode(enc, (size_t)n, back,
		    sizeof(back)), (int)len);
		assert_memory_equal(in, back, len);
	}
}

static void
test_b64url_encode_small_buffer_refused(void **state)
{
	char	 out[4];

	(void)state;
	/* "foo" needs 4 characters and the terminator. */
	assert_int_equal(crypto_b64url_encode((const unsigned char *)"foo", 3,
	    out, sizeof(out)), -1);
}

static int
dec(const char *s)
{
	unsigned char	 out[64];

	return crypto_b64url_decode(s, strlen(s), out, sizeof(out));
}

static void
test_b64url_strict_decode_rejections(void **state)
{
	/* "Zh", "Zm9" and "Zm-" end with non-zero padding bits. */
	static const char *const bad[] = {
		"Zg==", "Zg=", "Z", "Zm9vY", "Zm9v+", "Zm/v", "Zm9 ", " Zm9",
		"Zm9v\n", "Zh", "Zm9", "Zm8=", "Zm-", "____A", "Zm.v",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dec(bad[i]), -1);
	assert_int_equal(dec("Zm8"), 2);
	assert_int_equal(dec(""), 0);
}

static void
test_b64url_decode_small_buffer_refused(void **state)
{
	unsigned char	 out[2];

	(void)state;
	assert_int_equal(crypto_b64url_decode("Zm9v", 4, out, sizeof(out)), -1);
	assert_int_equal(crypto_b64url_decode("Zm8", 3, out, sizeof(out)), 2);
}

static void
test_b64url_decode_not_read_past_length(void **state)
{
	unsigned char	 out[8];

	(void)state;
	assert_int_equal(crypto_b64url_decode("Zm9v!!!!", 4, out, sizeof(out)),
	    3);
	assert_memory_equal(out, "foo", 3);
}

static void
check_sha256(const char *in, size_t len, const char *want)
{
	unsigned char	 d[CRYPTO_SHA256_LEN];
	char		 hex[2 * CRYPTO_SHA256_LEN + 1];

	crypto_sha256(in, len, d);
	crypto_hex(d, sizeof(d), hex);
	assert_string_equal(hex, want);
}

static void
test_sha256_known_vectors(void **state)
{
	(void)state;
	/* FIPS 180-2 examples. */
	check_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	check_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	check_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_hmac_sha256_rfc4231_case2(void **state)
{
	static const char	 msg[] = "what do ya want for nothing?";
	unsigned char		 d[CRYPTO_SHA256_LEN];
	char			 hex[2 * CRYPTO_SHA256_LEN + 1];

	(void)state;
	assert_int_equal(crypto_hmac_sha256("Jefe", 4, msg, strlen(msg), d), 0);
	crypto_hex(d, sizeof(d), hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}

static void
test_memeq(void **state)
{
	(void)state;
	assert_int_equal(crypto_memeq("abcd", "abcd", 4), 1);
	assert_int_equal(crypto_memeq("abcd", "abce", 4), 0);
	assert_int_equal(crypto_memeq("xbcd", "abcd", 4), 0);
	assert_int_equal(crypto_memeq("abcd", "abce", 3), 1);
	assert_int_equal(crypto_memeq("a\0c", "a\0d", 3), 0);
}

static void
test_random_fills_and_differs(void **state)
{
	unsigned char	 a[32], b[32], zero[32];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(crypto_random(a, sizeof(a)), 0);
	assert_int_equal(crypto_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
}

static void
test_cleanse_zeroes(void **state)
{
	unsigned char	 s[16], zero[16];

	(void)state;
	memset(s, 0xaa, sizeof(s));
	memset(zero, 0, sizeof(zero));
	crypto_cleanse(s, sizeof(s));
	assert_memory_equal(s, zero, sizeof(s));
}

static void
test_scrypt_rfc7914_vector(void **state)
{
	unsigned char	 out[64];
	char		 hex[129];

	(void)state;
	/* RFC 7914 section 12, second vector. */
	assert_int_equal(crypto_scrypt("password", 8,
	    (const unsigned char *)"NaCl", 4, 1024, 8, 16, out, sizeof(out)), 0);
	crypto_hex(out, sizeof(out), hex);
	assert_string_equal(hex,
	    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
	    "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

static void
test_scrypt_bad_parameters_fail(void **state)
{
	unsigned char	 out[32];

	(void)state;
	/* N must be a power of two greater than 1. */
	assert_int_equal(crypto_scrypt("pw", 2, (const unsigned char *)"salt",
	    4, 1000, 8, 1, out, sizeof(out)), -1);
	assert_int_equal(crypto_scrypt("pw", 2, (const unsigned char *)"salt",
	    4, 1, 8, 1, out, sizeof(out)), -1);
}

/* Hex back to bytes: exactly the length asked, lower-case digits only. */
static void
test_unhex(void **state)
{
	unsigned char	 b[3];

	(void)state;
	assert_int_equal(crypto_unhex("00a1ff", 6, b, 3), 0);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[1], 0xa1);
	assert_int_equal(b[2], 0xff);
	assert_int_equal(crypto_unhex("00a1f", 5, b, 3), -1);
	assert_int_equal(crypto_unhex("00a1ff00", 8, b, 3), -1);
	assert_int_equal(crypto_unhex("00A1FF", 6, b, 3), -1);
	assert_int_equal(crypto_unhex("00a1g0", 6, b, 3), -1);
	assert_int_equal(crypto_unhex(" 0a1ff", 6, b, 3), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_known_vectors),
		cmocka_unit_test(test_b64url_round_trip_every_length),
		cmocka_unit_test(test_b64url_encode_small_buffer_refused),
		cmocka_unit_test(test_b64url_strict_decode_rejections),
		cmocka_unit_test(test_b64url_decode_small_buffer_refused),
		cmocka_unit_test(test_b64url_decode_not_read_past_length),
		cmocka_unit_test(test_sha256_known_vectors),
		cmocka_unit_test(test_hmac_sha256_rfc4231_case2),
		cmocka_unit_test(test_memeq),
		cmocka_unit_test(test_random_fills_and_differs),
		cmocka_unit_test(test_cleanse_zeroes),
		cmocka_unit_test(test_scrypt_rfc7914_vector),
		cmocka_unit_test(test_scrypt_bad_parameters_fail),
		cmocka_unit_test(test_unhex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
