/* Unit tests of src/totp.c: RFC 4226 and RFC 6238 vectors, base32 (RFC
 * 4648 vectors), the shapes of typed codes, recovery codes, and the
 * pending-login token (round trip, tampering, another key, expiry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "totp.h"

static const unsigned char	rfc_key[] = "12345678901234567890";

/* RFC 4226 appendix D: HOTP-SHA1, 6 digits, counters 0 to 9. */
static void
test_rfc4226_vectors(void **state)
{
	static const uint32_t	want[] = { 755224, 287082, 359152, 969429,
	    338314, 254676, 287922, 162583, 399871, 520489 };
	uint32_t		v;
	uint64_t		c;

	(void)state;
	for (c = 0; c < 10; c++) {
		assert_int_equal(totp_hotp(rfc_key, 20, c, 6, &v), 0);
		assert_int_equal(v, want[c]);
	}
	assert_int_equal(totp_hotp(rfc_key, 20, 0, 5, &v), -1);
	assert_int_equal(totp_hotp(rfc_key, 20, 0, 9, &v), -1);
}

/* RFC 6238 appendix B, the SHA-1 rows (8 digits). */
static void
test_rfc6238_vectors(void **state)
{
	static const struct { int64_t t; uint32_t code; } rows[] = {
		{ 59, 94287082 }, { 1111111109, 7081804 },
		{ 1111111111, 14050471 }, { 1234567890, 89005924 },
		{ 2000000000, 69279037 }, { 20000000000LL, 65353130 },
	};
	uint32_t	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(totp_hotp(rfc_key, 20,
		    (uint64_t)totp_step(rows[i].t), 8, &v), 0);
		assert_int_equal(v, rows[i].code);
	}
}

/* The 6-digit code of key at time t, as text. */
static void
code_at(int64_t t, char out[7])
{
	uint32_t	 v;

	assert_int_equal(totp_hotp(rfc_key, 20, (uint64_t)totp_step(t), 6,
	    &v), 0);
	(void)snprintf(out, 7, "%06u", (unsigned)v);
}

static void
test_match_window_and_replay(void **state)
{
	int64_t	 now = 1111111111, step = totp_step(now);
	char	 c[7];

	(void)state;
	code_at(now, c);
	assert_int_equal(totp_match(rfc_key, 20, c, now, -1), step);
	/* One step of skew either way, not two. */
	code_at(now - 30, c);
	assert_int_equal(totp_match(rfc_key, 20, c, now, -1), step - 1);
	code_at(now + 30, c);
	assert_int_equal(totp_match(rfc_key, 20, c, now, -1), step + 1);
	code_at(now - 60, c);
	assert_int_equal(totp_match(rfc_key, 20, c, now, -1), -1);
	code_at(now + 60, c);
	assert_int_equal(totp_match(rfc_key, 20, c, now, -1), -1);
	/* A step at or before the last accepted one is a replay. */
	code_at(now, c);
	assert_int_equal(totp_match(rfc_key, 20, c, now, step), -1);
	assert_int_equal(totp_match(rfc_key, 20, c, now, step - 1), step);
	code_at(now - 30, c);
	assert_int_equal(totp_match(rfc_key, 20, c, now, step - 1), -1);
	/* Wrong length. */
	assert_int_equal(totp_match(rfc_key, 20, "12345", now, -1), -1);
	assert_int_equal(totp_match(rfc_key, 20, "1234567", now, -1), -1);
}

static void
test_base32_rfc4648(void **state)
{
	static const char *const	in[] = { "", "f", "fo", "foo", "foob",
	    "fooba", "foobar" };
	static const char *const	out[] = { "", "MY", "MZXQ", "MZXW6",
	    "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI" };
	char				 b[33];
	size_t				 i;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_int_equal(totp_base32_encode((const unsigned char *)in[i],
		    strlen(in[i]), b, sizeof(b)), (int)strlen(out[i]));
		assert_string_equal(b, out[i]);
	}
	/* 20 bytes: 32 characters, no padding. */
	assert_int_equal(totp_base32_encode(rfc_key, 20, b, 33), 32);
	assert_string_equal(b, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_int_equal(totp_base32_encode(rfc_key, 20, b, 32), -1);
}

static void
test_code_kinds(void **state)
{
	char	 n[TOTP_RECOVERY_CHARS + 1];

	(void)state;
	assert_int_equal(totp_code_kind("123456", 6, n, sizeof(n)),
	    TOTP_CODE_OTP);
	assert_string_equal(n, "123456");
	assert_int_equal(totp_code_kind("123 456", 7, n, sizeof(n)),
	    TOTP_CODE_OTP);
	assert_string_equal(n, "123456");
	assert_int_equal(totp_code_kind("12345", 5, n, sizeof(n)),
	    TOTP_CODE_BAD);
	assert_int_equal(totp_code_kind("1234567", 7, n, sizeof(n)),
	    TOTP_CODE_BAD);
	assert_int_equal(totp_code_kind("12a456", 6, n, sizeof(n)),
	    TOTP_CODE_BAD);
	assert_int_equal(totp_code_kind("12345\x00", 6, n, sizeof(n)),
	    TOTP_CODE_BAD);
	assert_int_equal(totp_code_kind("", 0, n, sizeof(n)), TOTP_CODE_BAD);
	assert_int_equal(totp_code_kind("abcd-efgh-ijkl-mnop", 19, n,
	    sizeof(n)), TOTP_CODE_RECOVERY);
	assert_string_equal(n, "ABCDEFGHIJKLMNOP");
	/* 0, 1, 8, 9 are not base32. */
	assert_int_equal(totp_code_kind("ABCD-EFGH-IJKL-MNO1", 19, n,
	    sizeof(n)), TOTP_CODE_BAD);
	assert_int_equal(totp_code_kind("ABCD-EFGH-IJKL-MNOPQ", 20, n,
	    sizeof(n)), TOTP_CODE_BAD);
	assert_int_equal(totp_code_kind("ABCD-EFGH-IJKL-MNO", 18, n,
	    sizeof(n)), TOTP_CODE_BAD);
	assert_int_equal(totp_code_kind("1234567890123456", 16, n,
	    sizeof(n)), TOTP_CODE_BAD);
}

static void
test_recovery_codes(void **state)
{
	char	 t[TOTP_RECOVERY_TEXT_LEN + 1], n[TOTP_RECOVERY_CHARS + 1];
	char	 back[TOTP_RECOVERY_CHARS + 1], t2[TOTP_RECOVERY_TEXT_LEN + 1];

	(void)state;
	assert_int_equal(totp_recovery_new(t, n), 0);
	assert_int_equal(strlen(t), TOTP_RECOVERY_TEXT_LEN);
	assert_int_equal(t[4], '-');
	assert_int_equal(t[9], '-');
	assert_int_equal(t[14], '-');
	assert_int_equal(totp_code_kind(t, strlen(t), back, sizeof(back)),
	    TOTP_CODE_RECOVERY);
	assert_string_equal(back, n);
	assert_int_equal(totp_recovery_new(t2, n), 0);
	assert_string_not_equal(t, t2);
}

static const unsigned char	key[TOTP_KEY_LEN] = { 1, 2, 3 };

static void
sample(struct totp_pending *p)
{
	memset(p, 0, sizeof(*p));
	p->user_id = 7;
	p->gen = 3;
	p->factor = INT64_MAX - 5;
	p->issued = 1700000000;
	memset(p->nonce, 0x5a, sizeof(p->nonce));
	memcpy(p->email, "a@example.com", 14);
}

static void
test_pending_round_trip(void **state)
{
	struct totp_pending	 p, back;
	char			 t[TOTP_PENDING_TEXT_MAX];
	int			 n;

	(void)state;
	sample(&p);
	n = totp_pending_encode(&p, key, t, sizeof(t));
	assert_true(n > 0);
	assert_int_equal(totp_pending_decode(t, (size_t)n, key, 1700000100,
	    300, &back), TOTP_PENDING_OK);
	assert_int_equal(back.user_id, 7);
	assert_int_equal(back.gen, 3);
	assert_int_equal(back.factor, INT64_MAX - 5);
	assert_int_equal(back.issued, 1700000000);
	assert_memory_equal(back.nonce, p.nonce, sizeof(p.nonce));
	assert_string_equal(back.email, "a@example.com");
	/* The longest address fits the text bound. */
	memset(p.email, 'a', TOTP_EMAIL_MAX);
	p.email[TOTP_EMAIL_MAX] = '\0';
	n = totp_pending_encode(&p, key, t, sizeof(t));
	assert_true(n > 0 && n < TOTP_PENDING_TEXT_MAX);
	assert_int_equal(totp_pending_decode(t, (size_t)n, key, 1700000100,
	    300, &back), TOTP_PENDING_OK);
	assert_string_equal(back.email, p.email);
}

static void
test_pending_expiry(void **state)
{
	struct totp_pending	 p, back;
	char			 t[TOTP_PENDING_TEXT_MAX];
	int			 n;

	(void)state;
	sample(&p);
	n = totp_pending_encode(&p, key, t, sizeof(t));
	assert_int_equal(totp_pending_decode(t, (size_t)n, key, 1700000299,
	    300, &back), TOTP_PENDING_OK);
	assert_int_equal(totp_pending_decode(t, (size_t)n, key, 1700000300,
	    300, &back), TOTP_PENDING_EXPIRED);
	assert_int_equal(totp_pending_decode(t, (size_t)n, key, 1700000002,
	    2, &back), TOTP_PENDING_EXPIRED);
	/* A negative issue time (found by fuzz_pending: overflowed). */
	p.issued = -5;
	n = totp_pending_encode(&p, key, t, sizeof(t));
	assert_int_equal(totp_pending_decode(t, (size_t)n, key, 1700000000,
	    300, &back), TOTP_PENDING_BAD);
	sample(&p);
	n = totp_pending_encode(&p, key, t, sizeof(t));
	/* Issued in the future: not ours. */
	assert_int_equal(totp_pending_decode(t, (size_t)n, key, 1699999990,
	    300, &back), TOTP_PENDING_BAD);
}

static void
test_pending_tampered(void **state)
{
	struct totp_pending	 p, back;
	char			 t[TOTP_PENDING_TEXT_MAX], m[TOTP_PENDING_TEXT_MAX];
	unsigned char		 other[TOTP_KEY_LEN] = { 1, 2, 4 };
	int			 n, i;

	(void)state;
	sample(&p);
	n = totp_pending_encode(&p, key, t, sizeof(t));
	/* Every character changed, one at a time. */
	for (i = 0; i < n; i++) {
		memcpy(m, t, (size_t)n + 1);
		m[i] = m[i] == 'A' ? 'B' : 'A';
		assert_int_equal(totp_pending_decode(m, (size_t)n, key,
		    1700000100, 300, &back), TOTP_PENDING_BAD);
	}
	assert_int_equal(totp_pending_decode(t, (size_t)n - 1, key,
	    1700000100, 300, &back), TOTP_PENDING_BAD);
	assert_int_equal(totp_pending_decode(t, (size_t)n, other,
	    1700000100, 300, &back), TOTP_PENDING_BAD);
	assert_int_equal(totp_pending_decode("", 0, key, 1700000100, 300,
	    &back), TOTP_PENDING_BAD);
	assert_int_equal(totp_pending_decode("AAAA", 4, key, 1700000100, 300,
	    &back), TOTP_PENDING_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4226_vectors),
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_match_window_and_replay),
		cmocka_unit_test(test_base32_rfc4648),
		cmocka_unit_test(test_code_kinds),
		cmocka_unit_test(test_recovery_codes),
		cmocka_unit_test(test_pending_round_trip),
		cmocka_unit_test(test_pending_expiry),
		cmocka_unit_test(test_pending_tampered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
