#include <string.h>

#include "crypto.h"
#include "totp.h"

/* 2: the factor's instance after the issue time (review 16); a token of
 * version 1 (five minutes' life) is refused like a malformed one. */
#define PENDING_VERSION		2
#define PENDING_FIXED		(1 + 4 * 8 + TOTP_NONCE_LEN + 1)
#define PENDING_NONCE_AT	33
#define PENDING_RAW_MAX		(PENDING_FIXED + TOTP_EMAIL_MAX + \
				    CRYPTO_SHA256_LEN)

static const char	b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int
totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
    int digits, uint32_t *value)
{
	static const uint32_t	 mod[] = { 1000000, 10000000, 100000000 };
	unsigned char		 msg[8], mac[CRYPTO_SHA1_LEN];
	uint32_t		 bin;
	int			 i, off;

	if (digits < 6 || digits > 8)
		return -1;
	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	if (crypto_hmac_sha1(key, keylen, msg, sizeof(msg), mac) == -1)
		return -1;
	off = mac[CRYPTO_SHA1_LEN - 1] & 0x0f;
	bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
	    (uint32_t)mac[off + 2] << 8 | (uint32_t)mac[off + 3];
	crypto_cleanse(mac, sizeof(mac));
	*value = bin % mod[digits - 6];
	return 0;
}

int64_t
totp_step(int64_t now)
{
	return now < 0 ? 0 : now / TOTP_PERIOD;
}

int64_t
totp_match(const unsigned char *key, size_t keylen, const char *code,
    int64_t now, int64_t after)
{
	int64_t		 t = totp_step(now), step, found = -1;
	uint32_t	 v;
	char		 want[TOTP_DIGITS + 1];
	int		 i;

	if (strlen(code) != TOTP_DIGITS)
		return -1;
	/* Every candidate costs the same, found or not. */
	for (step = t - TOTP_SKEW; step <= t + TOTP_SKEW; step++) {
		if (step < 0 || totp_hotp(key, keylen, (uint64_t)step,
		    TOTP_DIGITS, &v) == -1)
			continue;
		for (i = TOTP_DIGITS - 1; i >= 0; i--) {
			want[i] = (char)('0' + v % 10);
			v /= 10;
		}
		if (crypto_memeq(want, code, TOTP_DIGITS) && step > after &&
		    found == -1)
			found = step;
	}
	crypto_cleanse(want, sizeof(want));
	return found;
}

int
totp_base32_encode(const unsigned char *in, size_t len, char *out,
    size_t outsz)
{
	size_t		 i, o = 0;
	uint32_t	 buf = 0;
	int		 bits = 0;

	if (len > (SIZE_MAX - 9) / 8 || outsz < (len + 4) / 5 * 8 + 1)
		return -1;
	for (i = 0; i < len; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(buf << (5 - bits)) & 31];
	out[o] = '\0';
	return (int)o;
}

enum totp_code_kind
totp_code_kind(const char *p, size_t len, char *norm, size_t normsz)
{
	size_t	 i, n = 0, digits = 0;
	char	 c;

	if (len > TOTP_CODE_MAX || normsz <= TOTP_RECOVERY_CHARS)
		return TOTP_CODE_BAD;
	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ||
		    n == TOTP_RECOVERY_CHARS)
			return TOTP_CODE_BAD;
		if (c >= '0' && c <= '9')
			digits++;
		norm[n++] = c;
	}
	norm[n] = '\0';
	if (n == TOTP_DIGITS && digits == n)
		return TOTP_CODE_OTP;
	if (n != TOTP_RECOVERY_CHARS)
		return TOTP_CODE_BAD;
	for (i = 0; i < n; i++)
		if (memchr(b32, norm[i], sizeof(b32) - 1) == NULL)
			return TOTP_CODE_BAD;
	return TOTP_CODE_RECOVERY;
}

int
totp_recovery_new(char text[TOTP_RECOVERY_TEXT_LEN + 1],
    char norm[TOTP_RECOVERY_CHARS + 1])
{
	unsigned char	 raw[TOTP_RECOVERY_RAW];
	size_t		 i, o = 0;

	if (crypto_random(raw, sizeof(raw)) == -1 ||
	    totp_base32_encode(raw, sizeof(raw), norm,
	    TOTP_RECOVERY_CHARS + 1) != TOTP_RECOVERY_CHARS) {
		crypto_cleanse(raw, sizeof(raw));
		return -1;
	}
	crypto_cleanse(raw, sizeof(raw));
	for (i = 0; i < TOTP_RECOVERY_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			text[o++] = '-';
		text[o++] = norm[i];
	}
	text[o] = '\0';
	return 0;
}

static void
put64(unsigned char *p, int64_t v)
{
	uint64_t	 u = (uint64_t)v;
	int		 i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
}

static int64_t
get64(const unsigned char *p)
{
	uint64_t	 u = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (int64_t)u;
}

int
totp_pending_encode(const struct totp_pending *p,
    const unsigned char key[TOTP_KEY_LEN], char *out, size_t outsz)
{
	unsigned char	 raw[PENDING_RAW_MAX];
	size_t		 elen = strlen(p->email), n;
	int		 rc;

	if (elen == 0 || elen > TOTP_EMAIL_MAX)
		return -1;
	raw[0] = PENDING_VERSION;
	put64(raw + 1, p->user_id);
	put64(raw + 9, p->gen);
	put64(raw + 17, p->issued);
	put64(raw + 25, p->factor);
	memcpy(raw + PENDING_NONCE_AT, p->nonce, TOTP_NONCE_LEN);
	raw[PENDING_NONCE_AT + TOTP_NONCE_LEN] = (unsigned char)elen;
	memcpy(raw + PENDING_FIXED, p->email, elen);
	n = PENDING_FIXED + elen;
	if (crypto_hmac_sha256(key, TOTP_KEY_LEN, raw, n, raw + n) == -1)
		return -1;
	rc = crypto_b64url_encode(raw, n + CRYPTO_SHA256_LEN, out, outsz);
	crypto_cleanse(raw, sizeof(raw));
	return rc;
}

enum totp_pending_rc
totp_pending_decode(const char *p, size_t len,
    const unsigned char key[TOTP_KEY_LEN], int64_t now, int64_t ttl,
    struct totp_pending *out)
{
	unsigned char	 raw[PENDING_RAW_MAX], mac[CRYPTO_SHA256_LEN];
	size_t		 i;
	int		 n;

	if (len >= TOTP_PENDING_TEXT_MAX ||
	    (n = crypto_b64url_decode(p, len, raw, sizeof(raw))) == -1 ||
	    (size_t)n < PENDING_FIXED + 1 + CRYPTO_SHA256_LEN)
		return TOTP_PENDING_BAD;
	n -= CRYPTO_SHA256_LEN;
	/* The tag first: nothing unauthenticated is read further. */
	if (crypto_hmac_sha256(key, TOTP_KEY_LEN, raw, (size_t)n, mac) == -1 ||
	    !crypto_memeq(mac, raw + n, sizeof(mac)))
		return TOTP_PENDING_BAD;
	if (raw[0] != PENDING_VERSION ||
	    raw[PENDING_NONCE_AT + TOTP_NONCE_LEN] !=
	    (size_t)n - PENDING_FIXED)
		return TOTP_PENDING_BAD;
	memset(out, 0, sizeof(*out));
	out->user_id = get64(raw + 1);
	out->gen = get64(raw + 9);
	out->issued = get64(raw + 17);
	out->factor = get64(raw + 25);
	memcpy(out->nonce, raw + PENDING_NONCE_AT, TOTP_NONCE_LEN);
	for (i = PENDING_FIXED; i < (size_t)n; i++)
		if (raw[i] <= 0x20 || raw[i] == 0x7f)
			return TOTP_PENDING_BAD;
	memcpy(out->email, raw + PENDING_FIXED, (size_t)n - PENDING_FIXED);
	/* Only authgw tags tokens, but the arithmetic below must hold for
	 * any value (found by fuzz_pending: a negative issue time). */
	if (out->user_id <= 0 || out->issued < 0 || out->issued > now + 1)
		return TOTP_PENDING_BAD;
	if (now - out->issued >= ttl)
		return TOTP_PENDING_EXPIRED;
	return TOTP_PENDING_OK;
}
