#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "crypto.h"

#define SCRYPT_MAXMEM	((uint64_t)1 << 31)	/* 2 GiB: refuse beyond */

int
crypto_random(void *buf, size_t len)
{
	if (len > INT32_MAX)
		return -1;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/*
 * The token hash of every check. OpenSSL's own SHA-256 code, called
 * directly: any EVP call (EVP_MD_fetch, EVP_Digest, even the one-shot
 * SHA256()) first initialises the provider machinery (reads openssl.cnf,
 * fills the algorithm name tables), about 2 ms of every plain CGI run,
 * which for a check the host table answers is the only cryptography.
 * The functions are deprecated in OpenSSL 3, not removed; the same code
 * backs the default provider's SHA-256 (known-answer tests in
 * tests/unit/test_crypto.c). HMAC, scrypt and the random bytes stay on
 * EVP.
 */
void
crypto_sha256(const void *p, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	SHA256_CTX	 c;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	if (SHA256_Init(&c) != 1 || SHA256_Update(&c, p, len) != 1 ||
	    SHA256_Final(out, &c) != 1) {
		/* Cannot happen with a working libcrypto; never hash to zeros. */
		OPENSSL_die("SHA-256 unavailable", __FILE__, __LINE__);
	}
#pragma GCC diagnostic pop
	OPENSSL_cleanse(&c, sizeof(c));
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int	 outlen = CRYPTO_SHA256_LEN;

	if (keylen > INT32_MAX)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out,
	    &outlen) == NULL || outlen != CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}

int
crypto_hmac_sha1(const void *key, size_t keylen, const void *msg,
    size_t msglen, unsigned char out[CRYPTO_SHA1_LEN])
{
	unsigned int	 outlen = CRYPTO_SHA1_LEN;

	if (keylen > INT32_MAX)
		return -1;
	if (HMAC(EVP_sha1(), key, (int)keylen, msg, msglen, out,
	    &outlen) == NULL || outlen != CRYPTO_SHA1_LEN)
		return -1;
	return 0;
}

#define SEAL_NONCE_LEN	12
#define SEAL_TAG_LEN	16

/* One AES-256-GCM pass: enc 1 seals, 0 opens (tag checked). */
static int
gcm_run(int enc, const unsigned char key[32], const unsigned char *nonce,
    const void *ad, size_t adlen, const unsigned char *in, size_t len,
    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n, rc = -1;

	if (len > INT32_MAX || adlen > INT32_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce,
	    enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, ad, (int)adlen) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
crypto_seal(const unsigned char key[32], const void *ad, size_t adlen,
    const unsigned char *in, size_t len, unsigned char *out)
{
	if (crypto_random(out, SEAL_NONCE_LEN) == -1)
		return -1;
	return gcm_run(1, key, out, ad, adlen, in, len, out + SEAL_NONCE_LEN,
	    out + SEAL_NONCE_LEN + len);
}

int
crypto_open(const unsigned char key[32], const void *ad, size_t adlen,
    const unsigned char *in, size_t len, unsigned char *out)
{
	unsigned char	 tag[SEAL_TAG_LEN];

	if (len < CRYPTO_SEAL_OVERHEAD)
		return -1;
	len -= CRYPTO_SEAL_OVERHEAD;
	memcpy(tag, in + SEAL_NONCE_LEN + len, SEAL_TAG_LEN);
	if (gcm_run(0, key, in, ad, adlen, in + SEAL_NONCE_LEN, len, out,
	    tag) == -1) {
		OPENSSL_cleanse(out, len);
		return -1;
	}
	return 0;
}

int
crypto_memeq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
crypto_cleanse(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

int
crypto_scrypt(const char *pass, size_t passlen, const unsigned char *salt,
    size_t saltlen, uint64_t n, uint32_t r, uint32_t p, unsigned char *out,
    size_t outlen)
{
	static EVP_KDF	*kdf;
	EVP_KDF_CTX	*ctx;
	OSSL_PARAM	 params[7];
	uint64_t	 maxmem = SCRYPT_MAXMEM;
	int		 rc;

	if (kdf == NULL && (kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL)
		return -1;
	if ((ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		return -1;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(uintptr_t)pass, passlen);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)salt, saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(ctx, out, outlen, params) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(ctx);
	return rc;
}

static const char	b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
crypto_b64url_encode(const unsigned char *in, size_t len, char *out,
    size_t outsz)
{
	size_t		 i, o = 0;
	uint32_t	 v;

	/* Unpadded: 4 characters per 3 bytes, 2 or 3 for a tail, and NUL. */
	if (len > (SIZE_MAX - 3) / 4 || outsz < (len * 4 + 2) / 3 + 1)
		return -1;
	for (i = 0; len - i >= 3; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
	}
	out[o] = '\0';
	return (int)o;
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
crypto_b64url_decode(const char *in, size_t len, unsigned char *out,
    size_t outsz)
{
	size_t		 i, o = 0, need;
	uint32_t	 acc = 0;
	int		 bits = 0, v;

	if (len % 4 == 1 || len > INT32_MAX)
		return -1;
	need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (need > outsz)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64url_value(in[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)		/* stray bits: not the canonical encoding */
		return -1;
	return (int)o;
}

void
crypto_hex(const unsigned char *in, size_t len, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
crypto_unhex(const char *s, size_t slen, unsigned char *out, size_t outlen)
{
	size_t	 i;
	int	 hi, lo;

	if (slen != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
