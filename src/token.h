/*
 * Bearer tokens of every kind (session cookies, verification links): random
 * bytes from the CSPRNG, handed out once as base64url text, and known to
 * the store only by the SHA-256 of the raw bytes. Each kind names its own
 * length (SESSION_TOKEN_LEN, VERIFY_TOKEN_LEN).
 */
#ifndef AUTHGW_TOKEN_H
#define AUTHGW_TOKEN_H

#include <stddef.h>

#include "crypto.h"

#define TOKEN_RAW_MAX		64
/* Characters of the base64url text (no padding) of n raw bytes. */
#define TOKEN_TEXT_LEN(n)	(((n) * 4 + 2) / 3)

/*
 * A new token of rawlen (1..TOKEN_RAW_MAX) random bytes: its text into
 * text (textsz > TOKEN_TEXT_LEN(rawlen)) and the SHA-256 of the raw bytes
 * into hash. Returns 0, or -1 with text and hash cleansed.
 */
int	token_new(size_t rawlen, char *text, size_t textsz,
	    unsigned char hash[CRYPTO_SHA256_LEN]);

/*
 * The hash of a token given as text (untrusted bytes, len of them).
 * Returns 0, or -1 when it is not the text of exactly rawlen bytes.
 */
int	token_hash(const char *text, size_t len, size_t rawlen,
	    unsigned char hash[CRYPTO_SHA256_LEN]);

#endif
