/* Unit tests of src/cacheentry.c: the memcached entry format, for sessions
 * ("s5") and API tokens ("t5"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cacheentry.h"
#include "util.h"

#define VU	1700003600	/* an entry's valid_until */

static const unsigned char key[CACHEENTRY_KEY_LEN] = "0123456789abcdef0123456789abcde";

static void
sample(struct session *se)
{
	memset(se, 0, sizeof(*se));
	memset(se->token_hash, 0xab, sizeof(se->token_hash));
	se->id = 42;
	memcpy(se->public_id, "AAAAAAAAAAAAAAAAAAAAAA", 23);
	se->created = 1700000000;
	se->expires = 1700086400;
	se->last_seen = 1700000100;
	se->user.id = 7;
	memcpy(se->user.role, "admin", 6);
	se->user.verified = 1;
	memcpy(se->user.email, "a@example.com", 14);
}

static void
test_round_trip(void **state)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	sample(&se);
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
	    key, &back, &gen, &vu), 0);
	assert_int_equal(vu, VU);
	assert_int_equal(back.id, 42);
	assert_int_equal(back.expires, 1700086400);
	assert_int_equal(back.user.id, 7);
	assert_string_equal(back.user.email, "a@example.com");
	assert_string_equal(back.user.role, "admin");
	assert_string_equal(back.public_id, "AAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(back.user.verified, 1);
	assert_int_equal(gen, 5);
	buf_free(&b);
}

static void
test_entry_under_another_hash_is_refused(void **state)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 };
	unsigned char	 other[CRYPTO_SHA256_LEN];

	(void)state;
	sample(&se);
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	memcpy(other, se.token_hash, sizeof(other));
	other[31] ^= 1;
	assert_int_equal(cacheentry_decode(b.data, b.len, other, key, &back, &gen, &vu), -1);
	buf_free(&b);
}

/*
 * Replace one field of an encoded sample, decode, expect rc. Any change
 * breaks the tag, so every altered entry is refused: the tag is checked
 * before the fields (the field checks themselves are exercised by the
 * fuzzer, which tags what it writes).
 */
static void
expect_with(const char *from, const char *to, int rc)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 }, m = { NULL, 0, 0 };
	char		*at;

	sample(&se);
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	at = strstr(b.data, from);
	assert_non_null(at);
	assert_int_equal(buf_append(&m, b.data, (size_t)(at - b.data)), 0);
	assert_int_equal(buf_puts(&m, to), 0);
	assert_int_equal(buf_puts(&m, at + strlen(from)), 0);
	assert_int_equal(cacheentry_decode(m.data, m.len, se.token_hash, key, &back, &gen, &vu),
	    rc);
	buf_free(&b);
	buf_free(&m);
}

static void
test_malformed_fields_are_refused(void **state)
{
	(void)state;
	expect_with("s5\t", "s4\t", -1);		/* an older version */
	/* another generation */
	expect_with("\t5\t1700003600\t", "\t6\t1700003600\t", -1);
	expect_with("\tadmin\t", "\troot\t", -1);	/* unknown role */
	expect_with("\tadmin\t", "\t\t", -1);		/* empty role */
	expect_with("\t42\t", "\t-1\t", -1);		/* bad id */
	expect_with("\t42\t", "\t4x2\t", -1);
	expect_with("\t1\t0\t", "\t2\t0\t", -1);	/* verified not 0/1 */
	expect_with("a@example.com", "a@exa\x01mple.com", -1);
	expect_with("a@example.com", "a@example.com\textra", -1);
	expect_with("\t1700086400\t", "\t1600000000\t", -1); /* before created */
	expect_with("\tadmin\t", "\tuser\t", -1);	/* a role raise or drop */
	expect_with("\t1\t0\t0\ta@", "\t1\t0\t2\ta@", -1); /* mfa not 0/1 */
	expect_with("\t5\t1700003600\t", "\t5\t-1\t", -1); /* bad end */
	expect_with("\t5\t1700003600\t", "\t5\t1700003601\t", -1);
	expect_with("\t1\t0\t0\ta@", "\t1\t0\t1\ta@", -1); /* mfa forged */
	expect_with("s5\t", "s5\t", 0);		/* control: unchanged */
}

/* A value written by someone without the key, however well-formed. */
static void
test_forged_without_the_key_is_refused(void **state)
{
	struct session		 se, back;
	uint64_t		 gen;
	int64_t		 vu;
	struct buf		 b = { NULL, 0, 0 };
	static const unsigned char other[CACHEENTRY_KEY_LEN] = "another key";

	(void)state;
	sample(&se);
	assert_int_equal(cacheentry_encode(&se, 5, VU, other, &b), 0);
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash, key,
	    &back, &gen, &vu), -1);
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash, other,
	    &back, &gen, &vu), 0);
	buf_free(&b);
}

static void
test_truncations_are_refused(void **state)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 };
	size_t		 n;

	(void)state;
	sample(&se);
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	for (n = 0; n < b.len - strlen("a@example.com"); n++)
		assert_int_equal(cacheentry_decode(b.data, n, se.token_hash,
		    key, &back, &gen, &vu), -1);
	assert_int_equal(cacheentry_decode(NULL, 0, se.token_hash, key, &back, &gen, &vu), -1);
	buf_free(&b);
}

/* An API token in a session's shape (store.h): is_token, no expiry. */
static void
sample_token(struct session *se)
{
	sample(se);
	se->is_token = 1;
	memset(se->token_hash, 0xcd, sizeof(se->token_hash));
	memcpy(se->public_id, "42", 3);
	se->expires = STORE_NEVER;
	se->last_seen = 0;
	memcpy(se->user.role, "user", 5);
}

static void
test_token_round_trip(void **state)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	sample_token(&se);
	assert_int_equal(cacheentry_encode(&se, 9, VU, key, &b), 0);
	assert_memory_equal(b.data, "t5\t", 3);
	memset(&back, 0x55, sizeof(back));
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
	    key, &back, &gen, &vu), 0);
	assert_int_equal(back.is_token, 1);
	assert_int_equal(back.id, 42);
	assert_string_equal(back.public_id, "42");
	assert_int_equal(back.expires, STORE_NEVER);
	assert_int_equal(back.last_seen, 0);
	assert_int_equal(back.created, 1700000000);
	assert_int_equal(back.user.id, 7);
	assert_string_equal(back.user.role, "user");
	assert_string_equal(back.user.email, "a@example.com");
	assert_memory_equal(back.token_hash, se.token_hash,
	    sizeof(se.token_hash));
	assert_int_equal(gen, 9);
	/* With an expiry too. */
	se.expires = 1700000100;
	assert_int_equal(cacheentry_encode(&se, 9, VU, key, &b), 0);
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
	    key, &back, &gen, &vu), 0);
	assert_int_equal(back.is_token, 1);
	assert_int_equal(back.expires, 1700000100);
	buf_free(&b);
}

/* The second factor (SPEC 9) survives the cache; a token never has it. */
static void
test_mfa_round_trip(void **state)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	sample(&se);
	se.mfa = 1;
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
	    key, &back, &gen, &vu), 0);
	assert_int_equal(back.mfa, 1);
	se.mfa = 0;
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
	    key, &back, &gen, &vu), 0);
	assert_int_equal(back.mfa, 0);
	sample_token(&se);
	se.mfa = 1;
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
	    key, &back, &gen, &vu), 0);
	assert_int_equal(back.mfa, 0);
	buf_free(&b);
}

static void
test_session_entry_says_it_is_no_token(void **state)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	sample(&se);
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	assert_memory_equal(b.data, "s5\t", 3);
	memset(&back, 0x55, sizeof(back));
	assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
	    key, &back, &gen, &vu), 0);
	assert_int_equal(back.is_token, 0);
	buf_free(&b);
}

/*
 * The kind is inside the tag: an entry of one kind rewritten as the other
 * (by someone who can write to memcached, without the key) is refused.
 */
static void
test_kind_cannot_be_switched(void **state)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 };
	const char	*kinds[] = { "s5", "t5" };
	int		 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		if (i == 0)
			sample(&se);
		else
			sample_token(&se);
		assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
		assert_memory_equal(b.data, kinds[i], 2);
		memcpy(b.data, kinds[1 - i], 2);
		assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
		    key, &back, &gen, &vu), -1);
		/* Nor any other version. */
		memcpy(b.data, "u3", 2);
		assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
		    key, &back, &gen, &vu), -1);
		/* Control: the bytes as written decode. */
		memcpy(b.data, kinds[i], 2);
		assert_int_equal(cacheentry_decode(b.data, b.len, se.token_hash,
		    key, &back, &gen, &vu), 0);
		assert_int_equal(back.is_token, i);
	}
	buf_free(&b);
}

/* A token entry under another hash (a session's, say): refused. */
static void
test_token_entry_under_another_hash_is_refused(void **state)
{
	struct session	 se, back;
	uint64_t	 gen;
	int64_t		 vu;
	struct buf	 b = { NULL, 0, 0 };
	unsigned char	 other[CRYPTO_SHA256_LEN];

	(void)state;
	sample_token(&se);
	assert_int_equal(cacheentry_encode(&se, 5, VU, key, &b), 0);
	memset(other, 0xab, sizeof(other));	/* sample()'s session hash */
	assert_int_equal(cacheentry_decode(b.data, b.len, other, key, &back,
	    &gen, &vu), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_mfa_round_trip),
		cmocka_unit_test(test_entry_under_another_hash_is_refused),
		cmocka_unit_test(test_malformed_fields_are_refused),
		cmocka_unit_test(test_truncations_are_refused),
		cmocka_unit_test(test_forged_without_the_key_is_refused),
		cmocka_unit_test(test_token_round_trip),
		cmocka_unit_test(test_session_entry_says_it_is_no_token),
		cmocka_unit_test(test_kind_cannot_be_switched),
		cmocka_unit_test(test_token_entry_under_another_hash_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
