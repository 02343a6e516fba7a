/*
 * The cached form of a session, as stored in memcached: one line of
 * tab-separated fields, the token hash first, then an HMAC-SHA256 tag over
 * the rest with a key derived from the database's secret. Values read back
 * from memcached are untrusted (another application may write there): the
 * decoder checks the tag first, then every field, and that the entry
 * belongs to the hash it was looked up under. The entry carries the
 * invalidation generation its session was loaded under (shmcache.h), inside
 * the tag: an entry replayed after an invalidation carries an old one and
 * is refused by the caller. Pure; fuzzed.
 */
#ifndef AUTHGW_CACHEENTRY_H
#define AUTHGW_CACHEENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "store.h"

#define CACHEENTRY_MAX	1024	/* bytes of an encoded entry */
#define CACHEENTRY_KEY_LEN	32	/* the HMAC key */

struct buf;

/*
 * Encode and tag se with gen and valid_until (the end of the entry's
 * life, unix time, that a reader enforces whatever memcached's time to
 * live says) into out (reset first). Returns 0 or -1.
 */
int	cacheentry_encode(const struct session *se, uint64_t gen,
	    int64_t valid_until, const unsigned char key[CACHEENTRY_KEY_LEN],
	    struct buf *out);

/*
 * Decode (p, len) into se, *gen and *valid_until. Returns 0 only for a well-formed entry
 * with a valid tag under key whose token hash equals hash; -1 otherwise
 * (se and *gen are then unspecified).
 */
int	cacheentry_decode(const char *p, size_t len,
	    const unsigned char hash[CRYPTO_SHA256_LEN],
	    const unsigned char key[CACHEENTRY_KEY_LEN], struct session *se,
	    uint64_t *gen, int64_t *valid_until);

#endif
