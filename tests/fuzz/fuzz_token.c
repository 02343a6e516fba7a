/*
 * libFuzzer harness for the token decoders: token_hash (session cookies,
 * verification and reset links) and crypto_b64url_decode beneath it (also
 * the CSRF nonce cookie).
 *
 * Input: a byte for the raw length asked for (0..TOKEN_RAW_MAX + 3, the
 * bounds too), a byte for the decode buffer's size, then the text.
 *
 * This is the pattern for every decoder of a credential (later: the
 * Authorization header, pending logins): an independent reference written
 * here from the format's definition decides what must be accepted; what is
 * accepted must round-trip through the encoder byte for byte (one text per
 * value, so no second spelling of a token); output buffers are exactly
 * their size on the heap, so ASan sees one byte too many.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "token.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
ref_value(unsigned char c)
{
	static const char	 alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char		*p;

	if (c == '\0' || (p = strchr(alpha, c)) == NULL)
		return -1;
	return (int)(p - alpha);
}

/*
 * RFC 4648 section 5 without padding, canonical (the unused low bits of
 * the last character zero): the decoded length, or -1. raw has room for
 * len bytes.
 */
static long
ref_decode(const unsigned char *t, size_t len, unsigned char *raw)
{
	size_t		 i, o = 0;
	unsigned long	 acc = 0;
	int		 bits = 0, v;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = ref_value(t[i])) < 0)
			return -1;
		acc = acc << 6 | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	return acc == 0 ? (long)o : -1;
}

static void
check_token_hash(const char *t, size_t len, size_t rawlen,
    const unsigned char *raw, long rlen)
{
	unsigned char	 h[CRYPTO_SHA256_LEN], want[CRYPTO_SHA256_LEN];
	char		 text[CRYPTO_B64_LEN(TOKEN_RAW_MAX)];
	int		 ok, rc;

	ok = rawlen >= 1 && rawlen <= TOKEN_RAW_MAX && rlen >= 0 &&
	    (size_t)rlen == rawlen;
	rc = token_hash(t, len, rawlen, h);
	if (rc != (ok ? 0 : -1))
		abort();
	if (!ok)
		return;
	crypto_sha256(raw, rawlen, want);
	if (memcmp(h, want, sizeof(h)) != 0 ||
	    len != TOKEN_TEXT_LEN(rawlen))
		abort();
	if (crypto_b64url_encode(raw, rawlen, text, sizeof(text)) !=
	    (int)len || memcmp(text, t, len) != 0)
		abort();
}

static void
check_decode(const char *t, size_t len, size_t outsz,
    const unsigned char *raw, long rlen)
{
	unsigned char	*out;
	int		 rc;

	if ((out = malloc(outsz ? outsz : 1)) == NULL)
		abort();
	rc = crypto_b64url_decode(t, len, out, outsz);
	if (rlen >= 0 && (size_t)rlen <= outsz) {
		if (rc != rlen || memcmp(out, raw, (size_t)rlen) != 0)
			abort();
	} else if (rc != -1)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	*raw;
	const char	*t = (const char *)data + 2;
	size_t		 len, rawlen;
	long		 rlen;

	if (size < 2)
		return 0;
	rawlen = data[0] % (TOKEN_RAW_MAX + 4);
	len = size - 2;
	if ((raw = malloc(len ? len : 1)) == NULL)
		abort();
	rlen = ref_decode(data + 2, len, raw);
	check_token_hash(t, len, rawlen, raw, rlen);
	check_decode(t, len, data[1], raw, rlen);
	check_decode(t, len, len, raw, rlen);
	free(raw);
	return 0;
}
