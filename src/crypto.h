/* The only module that includes OpenSSL: randomness, digests, encodings,
 * constant-time comparison, scrypt, HMAC. */
#ifndef AUTHGW_CRYPTO_H
#define AUTHGW_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN	32

/* Fill buf with len bytes of the CSPRNG. Returns 0 or -1. */
int	crypto_random(void *buf, size_t len);

void	crypto_sha256(const void *p, size_t len,
	    unsigned char out[CRYPTO_SHA256_LEN]);

/* HMAC-SHA256. Returns 0 or -1. */
int	crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
	    size_t msglen, unsigned char out[CRYPTO_SHA256_LEN]);

/* HMAC-SHA1 (RFC 6238's TOTP, nothing else). Returns 0 or -1. */
#define CRYPTO_SHA1_LEN	20
int	crypto_hmac_sha1(const void *key, size_t keylen, const void *msg,
	    size_t msglen, unsigned char out[CRYPTO_SHA1_LEN]);

/*
 * AES-256-GCM with a random 12-byte nonce: seal len bytes of in under key
 * and the associated data (ad, adlen) into out, which gets nonce, cipher
 * text and 16-byte tag (len + CRYPTO_SEAL_OVERHEAD bytes). Open reverses
 * it: out gets len - CRYPTO_SEAL_OVERHEAD bytes, only when the tag holds.
 * Both return 0 or -1.
 */
#define CRYPTO_SEAL_OVERHEAD	(12 + 16)
int	crypto_seal(const unsigned char key[32], const void *ad, size_t adlen,
	    const unsigned char *in, size_t len, unsigned char *out);
int	crypto_open(const unsigned char key[32], const void *ad, size_t adlen,
	    const unsigned char *in, size_t len, unsigned char *out);

/* Constant-time equality of two buffers of the same length: 1 equal, 0 not. */
int	crypto_memeq(const void *a, const void *b, size_t len);

/* Zero a secret so the compiler cannot drop it. */
void	crypto_cleanse(void *p, size_t len);

/*
 * scrypt (RFC 7914) through EVP_KDF. Returns 0 or -1 (bad parameters,
 * not enough memory).
 */
int	crypto_scrypt(const char *pass, size_t passlen, const unsigned char *salt,
	    size_t saltlen, uint64_t n, uint32_t r, uint32_t p,
	    unsigned char *out, size_t outlen);

/*
 * base64url without padding. Encode: out needs ceil(4*len/3)+1 bytes
 * (CRYPTO_B64_LEN is a safe upper bound);
 * returns the length written (terminated) or -1 if outsz is too small.
 * Decode: strict (only the url alphabet, no padding, no stray bits);
 * returns the decoded length or -1.
 */
#define CRYPTO_B64_LEN(n)	((((n) + 2) / 3) * 4 + 1)
int	crypto_b64url_encode(const unsigned char *in, size_t len, char *out,
	    size_t outsz);
int	crypto_b64url_decode(const char *in, size_t len, unsigned char *out,
	    size_t outsz);

/* Lower-case hex of (in, len) into out (2*len+1). */
void	crypto_hex(const unsigned char *in, size_t len, char *out);
/* The bytes of exactly 2*outlen lower-case hex digits (s, slen) into
 * out: 0, or -1 (anything else: another length, another character). */
int	crypto_unhex(const char *s, size_t slen, unsigned char *out,
	    size_t outlen);

#endif
