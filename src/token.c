/* Bearer tokens: random bytes out as base64url, in as their SHA-256. */
#include "crypto.h"
#include "token.h"

int
token_new(size_t rawlen, char *text, size_t textsz,
    unsigned char hash[CRYPTO_SHA256_LEN])
{
	unsigned char	 raw[TOKEN_RAW_MAX];
	int		 rc = -1;

	if (rawlen == 0 || rawlen > sizeof(raw) ||
	    textsz <= TOKEN_TEXT_LEN(rawlen))
		goto out;
	if (crypto_random(raw, rawlen) == -1 ||
	    crypto_b64url_encode(raw, rawlen, text, textsz) !=
	    (int)TOKEN_TEXT_LEN(rawlen))
		goto out;
	crypto_sha256(raw, rawlen, hash);
	rc = 0;
out:
	crypto_cleanse(raw, sizeof(raw));
	if (rc == -1) {
		crypto_cleanse(text, textsz);
		crypto_cleanse(hash, CRYPTO_SHA256_LEN);
	}
	return rc;
}

int
token_hash(const char *text, size_t len, size_t rawlen,
    unsigned char hash[CRYPTO_SHA256_LEN])
{
	unsigned char	 raw[TOKEN_RAW_MAX];
	int		 rc = -1;

	if (rawlen == 0 || rawlen > sizeof(raw) ||
	    len != TOKEN_TEXT_LEN(rawlen) ||
	    crypto_b64url_decode(text, len, raw, sizeof(raw)) != (int)rawlen)
		goto out;
	crypto_sha256(raw, rawlen, hash);
	rc = 0;
out:
	crypto_cleanse(raw, sizeof(raw));
	return rc;
}
