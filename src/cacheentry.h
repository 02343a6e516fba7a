/*
 * The cached form of a session, as stored in memcached: one line of
 * tab-separated fields, the token hash first. Values read back from
 * memcached are untrusted: the decoder checks every field and that the
 * entry belongs to the hash it was looked up under. Pure; fuzzed.
 */
#ifndef AUTHGW_CACHEENTRY_H
#define AUTHGW_CACHEENTRY_H

#include <stddef.h>

#include "crypto.h"
#include "store.h"

#define CACHEENTRY_MAX	1024	/* bytes of an encoded entry */

struct buf;

/* Encode se into out (reset first). Returns 0 or -1. */
int	cacheentry_encode(const struct session *se, struct buf *out);

/*
 * Decode (p, len) into se. Returns 0 only for a well-formed entry whose
 * token hash equals hash; -1 otherwise (se is then unspecified).
 */
int	cacheentry_decode(const char *p, size_t len,
	    const unsigned char hash[CRYPTO_SHA256_LEN], struct session *se);

#endif
